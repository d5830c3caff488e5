/* Giving up root before parsing untrusted input (the sensor decodes tenants' packets): switch
 * to an unprivileged user, keep at most CAP_NET_RAW (a lost capture interface is reopened by
 * the same process), and make sure root cannot be taken back. */
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "dengbao/util.h"

/* capset applies to the calling thread only, and setresuid to the others only through the C
 * library's broadcast: a thread started earlier could keep what this one gave up. */
static long thread_count(void)
{
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return -1;
    long n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static int set_caps(uint32_t keep)
{
    struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct d[2];
    memset(d, 0, sizeof(d));
    d[0].effective = d[0].permitted = keep;
    return (int)syscall(SYS_capset, &h, d);
}

int dbg_drop_privileges(const char *user, int keep_net_raw)
{
    struct passwd pw, *found = NULL;
    char buf[4096];
    int e = getpwnam_r(user, &pw, buf, sizeof(buf), &found);
    if (e || !found) {
        dbg_err_set(DBG_ERR_USAGE, "--user %s: %s", user, e ? strerror(e) : "no such user");
        return -1;
    }
    if (pw.pw_uid == 0) {
        dbg_err_set(DBG_ERR_USAGE, "--user %s: that is root; name an unprivileged user", user);
        return -1;
    }
    if (geteuid() != 0) {
        if (geteuid() == pw.pw_uid && getuid() == pw.pw_uid)
            return 0; /* started as that user: nothing to give up */
        dbg_err_set(DBG_ERR_USAGE, "--user %s: switching to it needs root (running as uid %u)",
                    user, (unsigned)geteuid());
        return -1;
    }
    long threads = thread_count();
    if (threads != 1) {
        dbg_err_set(DBG_ERR_INTERNAL,
                    "--user %s: %ld threads running when dropping root "
                    "(must be one)",
                    user, threads);
        return -1;
    }
    /* The kernel clears the parent-death signal when the credentials change: a supervised
     * process (the agent's sensor) would outlive an agent killed outright. Set again after. */
    int death_sig = 0;
    pid_t parent = getppid();
    if (prctl(PR_GET_PDEATHSIG, &death_sig, 0, 0, 0) != 0)
        death_sig = 0;
    const char *step = NULL;
    if (initgroups(pw.pw_name, pw.pw_gid) != 0)
        step = "set its groups";
    else if (keep_net_raw && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0)
        step = "keep capabilities across the switch";
    else if (setresgid(pw.pw_gid, pw.pw_gid, pw.pw_gid) != 0)
        step = "switch group";
    else if (setresuid(pw.pw_uid, pw.pw_uid, pw.pw_uid) != 0)
        step = "switch user";
    else if (set_caps(keep_net_raw ? 1u << CAP_NET_RAW : 0) != 0)
        step = "set capabilities";
    else if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        step = "lock the change";
    else if (death_sig && prctl(PR_SET_PDEATHSIG, death_sig, 0, 0, 0) != 0)
        step = "keep its parent-death signal";
    if (!step && death_sig && getppid() != parent)
        raise(death_sig); /* the parent ended while the signal was cleared */
    if (step) {
        dbg_err_errno(DBG_ERR_IO, "--user %s: cannot %s", user, step);
        return -1;
    }
    /* as OpenSSH's permanently_set_uid: prove it cannot be undone */
    if (setuid(0) == 0 || seteuid(0) == 0 || setgid(0) == 0) {
        dbg_err_set(DBG_ERR_INTERNAL, "--user %s: root could be taken back after dropping it",
                    user);
        return -1;
    }
    return 0;
}
