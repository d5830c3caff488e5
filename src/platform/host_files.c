/* Host configuration facts: the files an MLPS assessor reads on a hypervisor (libvirtd.conf,
 * qemu.conf, sshd_config, login.defs, PAM, pwquality, faillock, auditd and its pid file,
 * chrony/ntp, the shell start-up files for TMOUT, the TLS certificates' presence), each parsed
 * into key/value settings with file and line, read under a host root so a copied /etc is
 * assessed the same way as the live one. */
#include <errno.h>
#include <arpa/inet.h>
#include <glob.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "dengbao/util.h"
#include "platform/platform_internal.h"

/* Config files are small; a multi-megabyte one is not a config file. */
#define HOST_FILE_MAX ((size_t)1 << 20)
/* Nesting of sshd Include (as sshd itself limits it), chrony include / confdir and ntpd
 * includefile. */
#define INCLUDE_DEPTH 16
/* Files chrony.conf's include / confdir / sourcedir or ntp.conf's includefile may bring in, in
 * all. */
#define INCLUDED_MAX 256

typedef struct {
    const char *path;
    dbg_conf_syntax syntax;
    const char *process; /* pid files: the daemon's comm, checked on the live host */
} known_file;

/* Always listed, present or not: absence is evidence (e.g. no faillock.conf). */
static const known_file known_files[] = {
    {"/etc/libvirt/libvirtd.conf", DBG_CONF_LIBVIRT, NULL},
    {"/etc/libvirt/qemu.conf", DBG_CONF_LIBVIRT, NULL},
    /* the modular daemons' own files: virtqemud runs the QEMU driver (audit_level), virtproxyd
     * the remote listeners; which daemon runs decides which file is in effect */
    {"/etc/libvirt/virtqemud.conf", DBG_CONF_LIBVIRT, NULL},
    {"/etc/libvirt/virtproxyd.conf", DBG_CONF_LIBVIRT, NULL},
    {"/run/libvirtd.pid", DBG_CONF_PIDFILE, "libvirtd"},
    {"/run/virtqemud.pid", DBG_CONF_PIDFILE, "virtqemud"},
    {"/run/virtproxyd.pid", DBG_CONF_PIDFILE, "virtproxyd"},
    {"/etc/systemd/system/sockets.target.wants/libvirtd.socket", DBG_CONF_LINK, NULL},
    {"/etc/systemd/system/sockets.target.wants/virtqemud.socket", DBG_CONF_LINK, NULL},
    {"/etc/systemd/system/sockets.target.wants/virtproxyd.socket", DBG_CONF_LINK, NULL},
    {"/etc/pki/CA/cacert.pem", DBG_CONF_NONE, NULL},
    {"/etc/pki/libvirt/servercert.pem", DBG_CONF_NONE, NULL},
    {"/etc/pki/libvirt/private/serverkey.pem", DBG_CONF_NONE, NULL},
    {"/etc/pki/libvirt-vnc/server-cert.pem", DBG_CONF_NONE, NULL},
    {"/etc/pki/qemu/server-cert.pem", DBG_CONF_NONE, NULL},
    {"/etc/ssh/sshd_config", DBG_CONF_SSHD, NULL},
    {"/etc/login.defs", DBG_CONF_KV_SPACE, NULL},
    {"/etc/security/pwquality.conf", DBG_CONF_KV_EQ_HASH, NULL},
    {"/etc/security/faillock.conf", DBG_CONF_KV_EQ_HASH, NULL},
    {"/etc/pam.d/common-auth", DBG_CONF_PAM, NULL},
    {"/etc/pam.d/common-account", DBG_CONF_PAM, NULL},
    {"/etc/pam.d/common-password", DBG_CONF_PAM, NULL},
    {"/etc/pam.d/system-auth", DBG_CONF_PAM, NULL},
    {"/etc/pam.d/password-auth", DBG_CONF_PAM, NULL},
    {"/etc/pam.d/sshd", DBG_CONF_PAM, NULL},
    {"/etc/pam.d/login", DBG_CONF_PAM, NULL},
    {"/etc/pam.d/su", DBG_CONF_PAM, NULL},
    {"/etc/audit/auditd.conf", DBG_CONF_KV_EQ, NULL},
    {"/etc/audit/audit.rules", DBG_CONF_AUDIT_RULES, NULL},
    {"/etc/chrony/chrony.conf", DBG_CONF_CHRONY, NULL},
    {"/etc/chrony.conf", DBG_CONF_CHRONY, NULL},
    {"/etc/ntp.conf", DBG_CONF_NTP, NULL},
    {"/etc/ntpsec/ntp.conf", DBG_CONF_NTP, NULL},
    /* Debian's ntpd wrapper starts ntpd on this copy instead, with the DHCP servers, when the
     * DHCP client has written one newer than the file in /etc (live host only) */
    {"/run/ntpsec/ntp.conf.dhcp", DBG_CONF_NTP, NULL},
    {"/run/ntp.conf.dhcp", DBG_CONF_NTP, NULL},
    {"/var/lib/ntp/ntp.conf.dhcp", DBG_CONF_NTP, NULL}, /* the ntp package before Debian 10 */
    {"/etc/systemd/timesyncd.conf", DBG_CONF_KV_EQ, NULL},
    /* Shell start-up files, for TMOUT; key = value reads "readonly TMOUT=900" as well. */
    {"/etc/profile", DBG_CONF_SHELL, NULL},
    {"/etc/bash.bashrc", DBG_CONF_SHELL, NULL},
    {"/run/auditd.pid", DBG_CONF_PIDFILE, "auditd"},
    {"/var/run/auditd.pid", DBG_CONF_PIDFILE, "auditd"},
    /* libvirt's TCP/TLS listeners under systemd socket activation (the default on Debian 12),
     * where libvirtd.conf's listen_tcp / listen_tls are ignored: enabled = the link exists. */
    {"/etc/systemd/system/sockets.target.wants/libvirtd-tcp.socket", DBG_CONF_LINK, NULL},
    {"/etc/systemd/system/sockets.target.wants/libvirtd-tls.socket", DBG_CONF_LINK, NULL},
    {"/etc/systemd/system/sockets.target.wants/virtproxyd-tcp.socket", DBG_CONF_LINK, NULL},
    {"/etc/systemd/system/sockets.target.wants/virtproxyd-tls.socket", DBG_CONF_LINK, NULL},
    /* systemd-timesyncd enabled (it then syncs even without NTP=, from built-in servers) */
    {"/etc/systemd/system/sysinit.target.wants/systemd-timesyncd.service", DBG_CONF_LINK, NULL},
    /* What listens now, whatever configured it (live host only). */
    {"/proc/net/tcp", DBG_CONF_PROC_TCP, NULL},
    {"/proc/net/tcp6", DBG_CONF_PROC_TCP, NULL},
};

/* ------------------------------------------------------------ settings */

typedef struct {
    dbg_host_file *f;
    const char *file; /* file recorded in each setting (an sshd Include may differ) */
    int failed;
    size_t included; /* files chrony's or ntpd's directives made us read */
    /* sshd: a "Match all" was seen; the settings recorded before it, from index sshd_all_from
     * on, are the global lines the Match blocks override */
    int sshd_match_all;
    size_t sshd_all_from;
} sink;

static void add_setting(sink *k, int line, const char *key, size_t klen, const char *value,
                        size_t vlen)
{
    dbg_setting *a = dbg_reallocarray(k->f->settings, k->f->n_settings + 1, sizeof(*a));
    if (!a) {
        k->failed = 1;
        return;
    }
    k->f->settings = a;
    dbg_setting *st = &a[k->f->n_settings];
    memset(st, 0, sizeof(*st));
    st->file = dbg_strdup(k->file);
    st->line = line;
    st->key = dbg_utf8_sanitize(key, klen);
    st->value = dbg_utf8_sanitize(value, vlen);
    k->f->n_settings++;
    if (!st->file || !st->key || !st->value)
        k->failed = 1;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

/* Trim [*b, *e) of surrounding white space. */
static void trim(const char **b, const char **e)
{
    while (*b < *e && is_space(**b))
        (*b)++;
    while (*e > *b && is_space((*e)[-1]))
        (*e)--;
}

/* Iterates lines: sets [b, e) to the next line, returns 0 at the end. */
typedef struct {
    const char *p;
    int lineno;
} line_iter;

static int next_line(line_iter *it, const char **b, const char **e)
{
    if (!*it->p)
        return 0;
    *b = it->p;
    const char *nl = strchr(it->p, '\n');
    *e = nl ? nl : it->p + strlen(it->p);
    it->p = nl ? nl + 1 : *e;
    it->lineno++;
    return 1;
}

/* Whether f records key (any case) from index from on */
static int setting_seen(const dbg_host_file *f, const char *key, size_t klen, size_t from)
{
    for (size_t i = from; i < f->n_settings; i++)
        if (strlen(f->settings[i].key) == klen && !strncasecmp(f->settings[i].key, key, klen))
            return 1;
    return 0;
}

/* Whether key is not to be recorded: libvirt's virConfGetValue takes the first entry whose
 * name equals the key, case and all. Every name libvirt's daemons read is lower case, so a key
 * with a capital is no setting of theirs (dbg_host_file_get ignores case, and would have taken
 * `LISTEN_TCP = 0` below `listen_tcp = 1` for the one in effect); the keys recorded are then
 * all lower case, and setting_seen's comparison without case is libvirt's with it. */
static int libvirt_key_seen(const dbg_host_file *f, const char *key, size_t klen)
{
    for (size_t i = 0; i < klen; i++)
        if (key[i] >= 'A' && key[i] <= 'Z')
            return 1;
    return setting_seen(f, key, klen, 0);
}

/* libvirt's config syntax: key = value; value is a number, a "string" or a [list] that may span
 * lines; # starts a comment outside strings. Strings are recorded unquoted, lists as written
 * with white space collapsed. A key given twice is recorded once, as libvirt reads it: the first
 * value is the one in effect (a `listen_tcp = 0` appended below `listen_tcp = 1` changes
 * nothing), so a lookup, which returns the last recorded, yields the effective one. A key with
 * a capital letter is not recorded (libvirt_key_seen). */
static void parse_libvirt(sink *k, const char *text)
{
    line_iter it = {text, 0};
    const char *b, *e;
    while (next_line(&it, &b, &e)) {
        trim(&b, &e);
        if (b == e || *b == '#')
            continue;
        const char *eq = memchr(b, '=', (size_t)(e - b));
        if (!eq)
            continue;
        const char *kb = b, *ke = eq;
        trim(&kb, &ke);
        const char *vb = eq + 1, *ve = e;
        trim(&vb, &ve);
        int line = it.lineno;
        int seen = libvirt_key_seen(k->f, kb, (size_t)(ke - kb));
        if (vb < ve && *vb == '"') {
            const char *q = memchr(vb + 1, '"', (size_t)(ve - vb - 1));
            if (!seen)
                add_setting(k, line, kb, (size_t)(ke - kb), vb + 1,
                            q ? (size_t)(q - vb - 1) : (size_t)(ve - vb - 1));
        } else if (vb < ve && *vb == '[') {
            dbg_buf list;
            dbg_buf_init(&list, HOST_FILE_MAX);
            const char *lb = vb, *le = ve;
            for (;;) {
                int closed = 0, in_str = 0;
                const char *p;
                for (p = lb; p < le; p++) {
                    if (*p == '"')
                        in_str = !in_str;
                    else if (!in_str && *p == '#')
                        break;
                    else if (!in_str && *p == ']') {
                        closed = 1;
                        p++;
                        break;
                    }
                }
                const char *pe = p;
                trim(&lb, &pe);
                if (pe > lb && ((list.len && dbg_buf_adds(&list, " ") < 0) ||
                                dbg_buf_add(&list, lb, (size_t)(pe - lb)) < 0))
                    k->failed = 1;
                if (closed || !next_line(&it, &lb, &le))
                    break;
            }
            if (!seen)
                add_setting(k, line, kb, (size_t)(ke - kb), list.data ? list.data : "", list.len);
            dbg_buf_free(&list);
        } else {
            const char *hash = memchr(vb, '#', (size_t)(ve - vb));
            if (hash) {
                ve = hash;
                trim(&vb, &ve);
            }
            if (!seen)
                add_setting(k, line, kb, (size_t)(ke - kb), vb, (size_t)(ve - vb));
        }
    }
}

/* Where a line of words ends: sshd (OpenSSH 8.7 on) and the shell split a line into words,
 * and a '#' that begins a word outside quotes begins a comment, so "PermitRootLogin yes #
 * until Friday" is yes and "TMOUT=0 # off" sets 0; kept in the value, the comment made it no
 * value they know (yes read as partial, TMOUT as not set). A '#' inside a word ("yes#x") is
 * part of it, as they read it. */
static const char *word_comment_end(const char *vb, const char *e)
{
    char quote = 0;
    for (const char *p = vb; p < e; p++) {
        if (*p == '\\' && p + 1 < e) {
            p++;
        } else if (quote) {
            quote = *p == quote ? 0 : quote;
        } else if (*p == '"' || *p == '\'') {
            quote = *p;
        } else if (*p == '#' && (p == vb || is_space(p[-1]))) {
            e = p;
            break;
        }
    }
    while (e > vb && is_space(e[-1]))
        e--;
    return e;
}

/* Where a '#' after the start of a key = value line begins a comment. */
typedef enum {
    HASH_IN_VALUE, /* nowhere: auditd.conf, systemd's files keep it in the value */
    HASH_ANYWHERE, /* at any '#': libpwquality, pam_faillock ("deny = 10 # was 3" is 10; kept
                    * whole it was no number, read as the default 3) */
    HASH_AT_WORD,  /* at a '#' beginning a word: the shell's start-up files */
} hash_comments;

/* key = value (or a bare flag word); [section] lines are skipped; # and ; start comments. */
static void parse_kv_eq(sink *k, const char *text, hash_comments hash)
{
    line_iter it = {text, 0};
    const char *b, *e;
    while (next_line(&it, &b, &e)) {
        const char *h = hash == HASH_ANYWHERE ? memchr(b, '#', (size_t)(e - b)) : NULL;
        if (h)
            e = h;
        else if (hash == HASH_AT_WORD)
            e = word_comment_end(b, e);
        trim(&b, &e);
        if (b == e || *b == '#' || *b == ';' || *b == '[')
            continue;
        const char *eq = memchr(b, '=', (size_t)(e - b));
        const char *kb = b, *ke = eq ? eq : e, *vb = eq ? eq + 1 : e, *ve = e;
        trim(&kb, &ke);
        trim(&vb, &ve);
        add_setting(k, it.lineno, kb, (size_t)(ke - kb), vb, (size_t)(ve - vb));
    }
}

/* Splits "KEY rest" at the first white space (or '=' for sshd). */
static void split_word(const char *b, const char *e, int allow_eq, const char **ke, const char **vb)
{
    const char *p = b;
    while (p < e && !is_space(*p) && !(allow_eq && *p == '='))
        p++;
    *ke = p;
    while (p < e && (is_space(*p) || (allow_eq && *p == '=')))
        p++;
    *vb = p;
}

/* The next "KEY value" line (blank lines and lines starting with # ! ; % skipped): the key is
 * [*b, *ke), the value [*vb, *e). 0 at the end. */
static int next_kv_space(line_iter *it, const char **b, const char **ke, const char **vb,
                         const char **e)
{
    while (next_line(it, b, e)) {
        trim(b, e);
        if (*b == *e || **b == '#' || **b == '!' || **b == ';' || **b == '%')
            continue;
        split_word(*b, *e, 0, ke, vb);
        return 1;
    }
    return 0;
}

static void parse_kv_space(sink *k, const char *text, int pam)
{
    line_iter it = {text, 0};
    const char *b, *ke, *vb, *e;
    while (next_kv_space(&it, &b, &ke, &vb, &e)) {
        if (!pam) {
            add_setting(k, it.lineno, b, (size_t)(ke - b), vb, (size_t)(e - vb));
            continue;
        }
        /* PAM: "type control module args" (control may be [a=b ...]); key = module path's
         * basename so a check asks for "pam_faillock.so"; value = the whole rule. */
        /* Linux-PAM ends a rule at any '#' (pam.conf(5)): "pam_unix.so # TODO pam_faillock.so
         * deny=3" loads no faillock, and was read as a lockout with deny = 3. */
        const char *hash = memchr(b, '#', (size_t)(e - b));
        if (hash) {
            e = hash;
            while (e > b && is_space(e[-1]))
                e--;
            if (ke > e)
                ke = e;
            if (vb > e)
                vb = e;
        }
        if (*b == '@') {
            add_setting(k, it.lineno, b, (size_t)(ke - b), vb, (size_t)(e - vb));
            continue;
        }
        const char *p = vb;
        if (p < e && *p == '-')
            p++;
        if (p < e && *p == '[') {
            const char *close = memchr(p, ']', (size_t)(e - p));
            p = close ? close + 1 : e;
        } else {
            while (p < e && !is_space(*p))
                p++;
        }
        while (p < e && is_space(*p))
            p++;
        const char *mb = p;
        while (p < e && !is_space(*p))
            p++;
        const char *me = p;
        const char *slash = mb;
        for (const char *q = mb; q < me; q++)
            if (*q == '/')
                slash = q + 1;
        if (me > slash)
            add_setting(k, it.lineno, slash, (size_t)(me - slash), b, (size_t)(e - b));
    }
}

static void parse_audit_rules(sink *k, const char *text)
{
    line_iter it = {text, 0};
    const char *b, *e;
    while (next_line(&it, &b, &e)) {
        trim(&b, &e);
        if (b == e || *b == '#')
            continue;
        const char *ke, *vb;
        split_word(b, e, 0, &ke, &vb);
        add_setting(k, it.lineno, b, (size_t)(ke - b), vb, (size_t)(e - vb));
    }
}

/* /proc/net/tcp{,6}: "sl local_address rem_address st ...", addresses as the kernel's 32-bit
 * words in hex (host byte order), the port in hex; state 0A = LISTEN. */
static void parse_proc_tcp(sink *k, const char *text)
{
    line_iter it = {text, 0};
    const char *b, *e;
    while (next_line(&it, &b, &e)) {
        char line[256], local[64], st[8];
        snprintf(line, sizeof(line), "%.*s", (int)(e - b), b); /* sscanf must stop at the end */
        if (sscanf(line, "%*s %63s %*s %7s", local, st) != 2 || strcmp(st, "0A"))
            continue;
        char *colon = strchr(local, ':');
        size_t hex = colon ? (size_t)(colon - local) : 0;
        unsigned port;
        if ((hex != 8 && hex != 32) || sscanf(colon + 1, "%4x", &port) != 1)
            continue;
        unsigned char addr[16];
        int ok = 1;
        for (size_t w = 0; w < hex / 8 && ok; w++) {
            char word[9];
            memcpy(word, local + w * 8, 8);
            word[8] = '\0';
            char *end;
            uint32_t v = (uint32_t)strtoul(word, &end, 16);
            ok = *end == '\0';
            memcpy(addr + w * 4, &v, 4);
        }
        char shown[INET6_ADDRSTRLEN + 16], a[INET6_ADDRSTRLEN];
        if (!ok || !inet_ntop(hex == 8 ? AF_INET : AF_INET6, addr, a, sizeof(a)))
            continue;
        int n = snprintf(shown, sizeof(shown), hex == 8 ? "%s:%u" : "[%s]:%u", a, port);
        add_setting(k, it.lineno, "listen", 6, shown, (size_t)n);
    }
}

static void parse_pidfile(sink *k, const char *text)
{
    line_iter it = {text, 0};
    const char *b, *e;
    if (next_line(&it, &b, &e)) {
        trim(&b, &e);
        add_setting(k, it.lineno, "pid", 3, b, (size_t)(e - b));
    }
}

int dbg_platform_note_process(dbg_host_file *f, const char *proc_dir, const char *comm)
{
    const dbg_setting *ps = dbg_host_file_get(f, "pid");
    long pid = 0;
    DBG_AUTOFREE char *state = NULL;
    if (!ps || dbg_parse_long(ps->value, 1, 4194304, &pid) < 0) {
        dbg_err_clear();
        state = dbg_strdup("not running (the pid file holds no pid)");
    } else {
        DBG_AUTOFREE char *cpath = dbg_asprintf("%s/%ld/comm", proc_dir, pid);
        DBG_AUTOFREE char *seen = NULL;
        size_t n = 0;
        if (!cpath)
            return -1;
        if (dbg_read_file(cpath, 256, &seen, &n) == 0) {
            while (n > 0 && (seen[n - 1] == '\n' || seen[n - 1] == ' '))
                seen[--n] = '\0';
            /* A stale pid file's pid may since belong to another program. */
            state = !strcmp(seen, comm)
                        ? dbg_asprintf("running (%s is %s)", cpath, comm)
                        : dbg_asprintf("not running (%s is '%s', not %s)", cpath, seen, comm);
        } else {
            dbg_err_clear();
            int alive = kill((pid_t)pid, 0) == 0 || errno == EPERM;
            state = alive ? dbg_asprintf("running (pid %ld alive; %s not readable)", pid, cpath)
                          : dbg_asprintf("not running (no process %ld)", pid);
        }
    }
    if (!state)
        return -1;
    sink k = {f, f->path ? f->path : "", 0, 0, 0, 0};
    add_setting(&k, 0, "process", 7, state, strlen(state));
    return k.failed ? -1 : 0;
}

/* ------------------------------------------------------------ sshd_config */


static void parse_sshd(sink *k, const char *host_root, const char *text, int depth, char *match,
                       size_t match_size);

/* Why the last read of full failed ("cannot open: Permission denied"): the error names the
 * full path, and the snapshot records paths without the host root. */
static char *read_error(const char *full)
{
    const char *m = dbg_err_msg();
    size_t n = strlen(full);
    if (m && !strncmp(m, full, n) && m[n] == ':' && m[n + 1] == ' ')
        m += n + 2;
    return dbg_asprintf("cannot be read (%s)", m && *m ? m : "unknown error");
}

/* glob's error callback: a directory that exists but cannot be read stops the glob (and its
 * errno is kept for the message); one that does not exist is only an empty match. */
static _Thread_local int glob_errno;
static int glob_failed(const char *path, int err)
{
    (void)path;
    if (err == ENOENT || err == ENOTDIR)
        return 0;
    glob_errno = err;
    return 1;
}

/* How much of host_root goes before a host path: none for the live host ("/" or no root). */
static size_t root_len(const char *host_root)
{
    return host_root && strcmp(host_root, "/") != 0 ? strlen(host_root) : 0;
}

/* path (without the host root) as a path on this machine in *out: under a copied root with its
 * links resolved inside it (dbg_path_in_root; follow_last 0 keeps a final link for lstat), so
 * an absolute link in the copy never reads this machine's file. 0, or -1 with errno (ENOMEM:
 * out of memory; ELOOP, ENAMETOOLONG: the path cannot be resolved, as it could not on the host). */
static int under_root(const char *host_root, const char *path, int follow_last, char **out)
{
    if (root_len(host_root))
        return dbg_path_in_root(host_root, path, follow_last, out);
    if (!(*out = dbg_strdup(path))) {
        errno = ENOMEM;
        return -1;
    }
    return 0;
}

/* Why a path that under_root could not resolve was not read (errno from under_root); NULL with
 * k->failed set when that is being out of memory. */
static char *unresolved(sink *k, const char *what)
{
    if (errno == ENOMEM) {
        k->failed = 1;
        return NULL;
    }
    return dbg_asprintf("%s (%s)", what, strerror(errno));
}

/* An included file that could not be read leaves the effective configuration unknown (sshd
 * takes the first value of a keyword, and Debian includes sshd_config.d/ first; chrony may have
 * its only server there): the file records why, once, and its settings are kept for the
 * evidence. directive names the include ("Include", "confdir"). */
static void include_failed(sink *k, const char *directive, const char *path, char *why)
{
    if (!why) {
        k->failed = 1;
        return;
    }
    if (!k->f->error)
        k->f->error = dbg_asprintf("%s %s %s", directive, path, why);
    free(why);
    if (!k->f->error)
        k->failed = 1;
}

/* The paths (without the host root) that pattern (a path without the host root), a directive's
 * glob, names under the host root, in glob order: 1 with *paths and *n (to free), else 0, after
 * recording on k a pattern whose directory cannot be listed or resolved. The directory before the
 * first wildcard is resolved inside the root (under_root). */
static int include_glob(sink *k, const char *host_root, const char *directive, const char *pattern,
                        char ***paths, size_t *n)
{
    *paths = NULL;
    *n = 0;
    DBG_AUTOFREE char *abs = pattern[0] == '/' ? dbg_strdup(pattern) : dbg_asprintf("/%s", pattern);
    if (!abs) {
        k->failed = 1;
        return 0;
    }
    pattern = abs;
    size_t wild = strcspn(pattern, "*?[");
    const char *slash = pattern;
    for (const char *q = pattern; q < pattern + wild && *q; q++)
        if (*q == '/')
            slash = q;
    DBG_AUTOFREE char *dir = dbg_strndup(pattern, (size_t)(slash - pattern));
    DBG_AUTOFREE char *full_dir = NULL;
    if (!dir) {
        k->failed = 1;
        return 0;
    }
    if (root_len(host_root) && under_root(host_root, *dir ? dir : "/", 1, &full_dir) < 0) {
        include_failed(k, directive, pattern, unresolved(k, "cannot be resolved"));
        return 0;
    }
    const char *base = full_dir ? full_dir : dir; /* the live host: the pattern as it is */
    size_t skip = strlen(base);
    DBG_AUTOFREE char *full = dbg_asprintf("%s%s", base, slash);
    if (!full) {
        k->failed = 1;
        return 0;
    }
    glob_t g;
    glob_errno = 0;
    int gr = glob(full, 0, glob_failed, &g);
    if (gr == GLOB_ABORTED)
        include_failed(k, directive, pattern,
                       dbg_asprintf("cannot be listed (%s)", strerror(glob_errno)));
    if (gr != 0) {
        if (gr != GLOB_NOMATCH)
            globfree(&g);
        return 0;
    }
    char **a = dbg_calloc(g.gl_pathc ? g.gl_pathc : 1, sizeof(*a));
    for (size_t i = 0; a && i < g.gl_pathc; i++)
        if (!strncmp(g.gl_pathv[i], full, skip) &&
            !(a[(*n)++] = dbg_asprintf("%s%s", dir, g.gl_pathv[i] + skip)))
            k->failed = 1;
    globfree(&g);
    if (!a)
        k->failed = 1;
    *paths = a;
    return a != NULL;
}

static void free_paths(char **paths, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
}

/* Reads path (without the host root) into *text: 0, or -1 after recording on k why it was not
 * read, under directive. */
static int read_included(sink *k, const char *host_root, const char *directive, const char *path,
                         char **text)
{
    DBG_AUTOFREE char *full = NULL;
    if (under_root(host_root, path, 1, &full) < 0) {
        include_failed(k, directive, path, unresolved(k, "cannot be read"));
        return -1;
    }
    if (dbg_read_regular_file(full, HOST_FILE_MAX, text, NULL) < 0) {
        include_failed(k, directive, path, read_error(full));
        dbg_err_clear();
        return -1;
    }
    return 0;
}

static void sshd_include(sink *k, const char *host_root, const char *pattern, int depth,
                         char *match, size_t match_size)
{
    /* Relative Include paths are relative to /etc/ssh (sshd_config(5)). */
    DBG_AUTOFREE char *abs =
        pattern[0] == '/' ? dbg_strdup(pattern) : dbg_asprintf("/etc/ssh/%s", pattern);
    char **paths;
    size_t n;
    if (!abs) {
        k->failed = 1;
        return;
    }
    if (!include_glob(k, host_root, "Include", abs, &paths, &n))
        return;
    for (size_t i = 0; i < n; i++) {
        DBG_AUTOFREE char *inc = NULL;
        if (read_included(k, host_root, "Include", paths[i], &inc) < 0)
            continue;
        const char *saved = k->file;
        k->file = paths[i];
        parse_sshd(k, host_root, inc, depth + 1, match, match_size);
        k->file = saved;
    }
    free_paths(paths, n);
}

/* sshd uses the first value of a keyword; later ones are recorded nowhere, so a lookup (which
 * returns the last recorded) yields the effective one. Settings inside "Match X" blocks are
 * recorded with the key "Match X/Keyword" as they only apply conditionally. */
static void parse_sshd(sink *k, const char *host_root, const char *text, int depth, char *match,
                       size_t match_size)
{
    if (depth > INCLUDE_DEPTH)
        return;
    line_iter it = {text, 0};
    const char *b, *e;
    while (next_line(&it, &b, &e)) {
        trim(&b, &e);
        if (b == e || *b == '#')
            continue;
        const char *ke, *vb;
        split_word(b, e, 1, &ke, &vb);
        e = word_comment_end(vb, e);
        size_t klen = (size_t)(ke - b);
        if (klen == 5 && !strncasecmp(b, "Match", 5)) {
            size_t vlen = (size_t)(e - vb);
            if (vlen == 3 && !strncasecmp(vb, "all", 3)) {
                match[0] = '\0';
                if (!k->sshd_match_all) {
                    k->sshd_match_all = 1;
                    k->sshd_all_from = k->f->n_settings;
                }
            } else
                snprintf(match, match_size, "Match %.*s/", (int)vlen, vb);
            continue;
        }
        if (klen == 7 && !strncasecmp(b, "Include", 7)) {
            char *pat = dbg_strndup(vb, (size_t)(e - vb));
            if (!pat) {
                k->failed = 1;
                continue;
            }
            char *save = NULL;
            for (char *w = strtok_r(pat, " \t", &save); w; w = strtok_r(NULL, " \t", &save))
                sshd_include(k, host_root, w, depth, match, match_size);
            free(pat);
            continue;
        }
        DBG_AUTOFREE char *key = dbg_asprintf("%s%.*s", match, (int)klen, b);
        if (!key) {
            k->failed = 1;
            continue;
        }
        /* Lines after "Match all" form a block every connection matches: sshd applies the
         * blocks over the global lines, the first value among the blocks winning. Recorded
         * after the global one, the block's value is the one a lookup returns. */
        size_t from = !match[0] && k->sshd_match_all ? k->sshd_all_from : 0;
        if (setting_seen(k->f, key, strlen(key), from))
            continue;
        add_setting(k, it.lineno, key, strlen(key), vb, (size_t)(e - vb));
    }
}

/* ------------------------------------------------------------ chrony */

static int list_dropins(const char *host_root, const char *const *dirs, size_t n_dirs,
                        const char *suffix, char ***out, size_t *n_out, int *errs);

static void parse_chrony(sink *k, const char *host_root, const char *text, int depth, int follow);

typedef void (*include_parser)(sink *k, const char *host_root, const char *text, int depth,
                               int follow);

/* Reads one included file (path without the host root) into k with parse, its settings recorded
 * with their own file; follow = 0 for a file that may not include others (chrony's sourcedir
 * files hold only sources). */
static void include_read(sink *k, const char *host_root, const char *directive, const char *path,
                         int depth, include_parser parse, int follow)
{
    DBG_AUTOFREE char *text = NULL;
    /* a directory that includes itself would be read again at every level */
    if (++k->included > INCLUDED_MAX) {
        include_failed(k, directive, path,
                       dbg_asprintf("not read (more than %d included files)", INCLUDED_MAX));
        return;
    }
    if (read_included(k, host_root, directive, path, &text) < 0)
        return;
    const char *saved = k->file;
    k->file = path;
    parse(k, host_root, text, depth + 1, follow);
    k->file = saved;
}

/* The files named *suffix in dirs (directory order as list_dropins), each read with parse where
 * the directive stands; a directory that cannot be listed is recorded on k. At most 10 dirs. */
static void include_dirs(sink *k, const char *host_root, const char *directive,
                         const char *const *dirs, size_t n_dirs, const char *suffix, int depth,
                         include_parser parse, int follow)
{
    char **paths = NULL;
    size_t n = 0;
    int errs[10];
    if (n_dirs > sizeof(errs) / sizeof(errs[0]) ||
        list_dropins(host_root, dirs, n_dirs, suffix, &paths, &n, errs) < 0) {
        k->failed = 1;
        return;
    }
    for (size_t d = 0; d < n_dirs; d++)
        if (errs[d])
            include_failed(k, directive, dirs[d],
                           dbg_asprintf("cannot be listed (%s)", strerror(errs[d])));
    for (size_t i = 0; i < n; i++) {
        include_read(k, host_root, directive, paths[i], depth, parse, follow);
        free(paths[i]);
    }
    free(paths);
}

/* chronyd's directives that read other files: include PATTERN (glob order), confdir DIR...
 * (their *.conf as configuration) and sourcedir DIR... (their *.sources, server / pool / peer
 * lines; chronyd loads them after the configuration, but every source counts wherever it is
 * read), the directories' files by name with a name taken from the first directory only. */
static void chrony_include(sink *k, const char *host_root, const char *directive, const char *args,
                           int depth)
{
    if (!strcasecmp(directive, "include")) {
        char **paths;
        size_t n;
        if (!include_glob(k, host_root, directive, args, &paths, &n))
            return;
        for (size_t i = 0; i < n; i++)
            include_read(k, host_root, directive, paths[i], depth, parse_chrony, 1);
        free_paths(paths, n);
        return;
    }
    int sources = !strcasecmp(directive, "sourcedir");
    DBG_AUTOFREE char *words = dbg_strdup(args);
    const char *dirs[10]; /* chronyd's MAX_CONF_DIRS */
    size_t n_dirs = 0;
    char *save = NULL;
    if (!words) {
        k->failed = 1;
        return;
    }
    for (char *w = strtok_r(words, " \t", &save); w && n_dirs < 10;
         w = strtok_r(NULL, " \t", &save))
        dirs[n_dirs++] = w;
    include_dirs(k, host_root, directive, dirs, n_dirs, sources ? ".sources" : ".conf", depth,
                 parse_chrony, !sources);
}

/* KEY value lines (! ; # % start comments); with follow, the files that include, confdir and
 * sourcedir name are read where the directive stands, as chronyd reads them. */
static void parse_chrony(sink *k, const char *host_root, const char *text, int depth, int follow)
{
    if (depth > INCLUDE_DEPTH)
        return;
    line_iter it = {text, 0};
    const char *b, *ke, *vb, *e;
    while (next_kv_space(&it, &b, &ke, &vb, &e)) {
        add_setting(k, it.lineno, b, (size_t)(ke - b), vb, (size_t)(e - vb));
        size_t klen = (size_t)(ke - b);
        if (!follow || vb == e ||
            !((klen == 7 && (!strncasecmp(b, "confdir", 7) || !strncasecmp(b, "include", 7))) ||
              (klen == 9 && !strncasecmp(b, "sourcedir", 9))))
            continue;
        char directive[10];
        snprintf(directive, sizeof(directive), "%.*s", (int)klen, b);
        DBG_AUTOFREE char *args = dbg_strndup(vb, (size_t)(e - vb));
        if (!args) {
            k->failed = 1;
            continue;
        }
        chrony_include(k, host_root, directive, args, depth);
    }
}

/* ------------------------------------------------------------ ntpd */

static void parse_ntp(sink *k, const char *host_root, const char *text, int depth, int follow);

/* ntp.conf's "includefile PATH" (ntpd, NTPsec): a file, or with NTPsec a directory whose *.conf
 * files are read by name, spliced in where the directive stands. A relative path is taken from
 * the including file's directory (NTPsec resolves it against the configuration's directory, the
 * same place for the files dengbao reads). A path that does not exist is skipped, as ntpd skips
 * it; one that cannot be looked at leaves the configuration unknown. */
static void ntp_include(sink *k, const char *host_root, const char *arg, size_t len, int depth)
{
    if (len >= 2 && arg[0] == '"' && arg[len - 1] == '"') {
        arg++;
        len -= 2;
    }
    const char *slash = strrchr(k->file, '/');
    DBG_AUTOFREE char *path =
        len && *arg != '/' && slash
            ? dbg_asprintf("%.*s/%.*s", (int)(slash - k->file), k->file, (int)len, arg)
            : dbg_strndup(arg, len);
    DBG_AUTOFREE char *full = NULL;
    if (!path) {
        k->failed = 1;
        return;
    }
    if (under_root(host_root, path, 1, &full) < 0) {
        include_failed(k, "includefile", path, unresolved(k, "cannot be looked at"));
        return;
    }
    struct stat st;
    if (stat(full, &st) < 0) {
        if (errno != ENOENT && errno != ENOTDIR)
            include_failed(k, "includefile", path,
                           dbg_asprintf("cannot be looked at (%s)", strerror(errno)));
        return;
    }
    if (!S_ISDIR(st.st_mode)) {
        include_read(k, host_root, "includefile", path, depth, parse_ntp, 1);
        return;
    }
    const char *dirs[1] = {path};
    include_dirs(k, host_root, "includefile", dirs, 1, ".conf", depth, parse_ntp, 1);
}

/* KEY value lines (# starts a comment); includefile is followed where it stands. */
static void parse_ntp(sink *k, const char *host_root, const char *text, int depth, int follow)
{
    (void)follow;
    if (depth > INCLUDE_DEPTH)
        return;
    line_iter it = {text, 0};
    const char *b, *ke, *vb, *e;
    while (next_kv_space(&it, &b, &ke, &vb, &e)) {
        /* ntpd ends a line's words at #: "server a # note" names server a */
        const char *hash = memchr(vb, '#', (size_t)(e - vb));
        if (hash) {
            e = hash;
            trim(&vb, &e);
        }
        add_setting(k, it.lineno, b, (size_t)(ke - b), vb, (size_t)(e - vb));
        if ((size_t)(ke - b) == 11 && !strncmp(b, "includefile", 11) && vb < e)
            ntp_include(k, host_root, vb, (size_t)(e - vb), depth);
    }
}

/* ------------------------------------------------------------ files */

int dbg_platform_parse_host_file(const char *host_root, const char *path, const char *text,
                                 dbg_conf_syntax syntax, dbg_host_file *out)
{
    out->present = 1;
    sink k = {out, path, 0, 0, 0, 0};
    char match[256] = "";
    switch (syntax) {
    case DBG_CONF_NONE:
        break;
    case DBG_CONF_LIBVIRT:
        parse_libvirt(&k, text);
        break;
    case DBG_CONF_KV_EQ:
        parse_kv_eq(&k, text, HASH_IN_VALUE);
        break;
    case DBG_CONF_KV_EQ_HASH:
        parse_kv_eq(&k, text, HASH_ANYWHERE);
        break;
    case DBG_CONF_SHELL:
        parse_kv_eq(&k, text, HASH_AT_WORD);
        break;
    case DBG_CONF_KV_SPACE:
        parse_kv_space(&k, text, 0);
        break;
    case DBG_CONF_CHRONY:
        parse_chrony(&k, host_root, text, 0, 1);
        break;
    case DBG_CONF_NTP:
        parse_ntp(&k, host_root, text, 0, 1);
        break;
    case DBG_CONF_PAM:
        parse_kv_space(&k, text, 1);
        break;
    case DBG_CONF_AUDIT_RULES:
        parse_audit_rules(&k, text);
        break;
    case DBG_CONF_SSHD:
        parse_sshd(&k, host_root, text, 0, match, sizeof(match));
        break;
    case DBG_CONF_PIDFILE:
        parse_pidfile(&k, text);
        break;
    case DBG_CONF_PROC_TCP:
        parse_proc_tcp(&k, text);
        break;
    case DBG_CONF_LINK:
        break;
    case DBG_CONF_SYSTEMD_UNIT:
        /* systemd loads neither an empty unit file nor /dev/null: the unit is masked */
        if (!*text) {
            const char *why = "an empty file or a link to /dev/null";
            add_setting(&k, 0, "masked", 6, why, strlen(why));
        }
        parse_kv_eq(&k, text, HASH_IN_VALUE);
        break;
    }
    if (k.failed) {
        dbg_err_set(DBG_ERR_NOMEM, "%s: out of memory while parsing", path);
        return -1;
    }
    return 0;
}

static dbg_host_file *new_host_file(dbg_snapshot *s, const char *path)
{
    dbg_host_file *a = dbg_reallocarray(s->host_files, s->n_host_files + 1, sizeof(*a));
    if (!a)
        return NULL;
    s->host_files = a;
    dbg_host_file *f = &a[s->n_host_files++];
    memset(f, 0, sizeof(*f));
    f->path = dbg_strdup(path);
    return f->path ? f : NULL;
}

static int collect_one(const char *host_root, const char *path, dbg_conf_syntax syntax,
                       dbg_snapshot *s)
{
    dbg_host_file *f = new_host_file(s, path);
    if (!f)
        return -1;
    DBG_AUTOFREE char *full = NULL;
    if (under_root(host_root, path, syntax != DBG_CONF_LINK, &full) < 0) {
        if (errno == ENOMEM)
            return -1;
        f->error = dbg_asprintf("cannot stat: %s", strerror(errno));
        return f->error ? 0 : -1;
    }
    struct stat st;
    if ((syntax == DBG_CONF_LINK ? lstat(full, &st) : stat(full, &st)) < 0) {
        if (errno != ENOENT && errno != ENOTDIR) {
            f->error = dbg_asprintf("cannot stat: %s", strerror(errno));
            return f->error ? 0 : -1;
        }
        return 0; /* absent */
    }
    if (syntax == DBG_CONF_NONE || syntax == DBG_CONF_LINK) {
        f->present = 1;
        return 0;
    }
    DBG_AUTOFREE char *text = NULL;
    size_t len = 0;
    /* a busy host's socket table is larger than any configuration file */
    size_t max = syntax == DBG_CONF_PROC_TCP ? 64 * HOST_FILE_MAX : HOST_FILE_MAX;
    if (dbg_read_regular_file(full, max, &text, &len) < 0) {
        f->present = 1;
        f->error = dbg_err_code() == DBG_ERR_LIMIT
                       ? dbg_asprintf("larger than %zu MiB, not read", max >> 20)
                       : read_error(full);
        dbg_err_clear();
        return f->error ? 0 : -1;
    }
    if (strlen(text) != len) {
        f->present = 1;
        f->error = dbg_strdup("contains NUL bytes, not a text file");
        return f->error ? 0 : -1;
    }
    return dbg_platform_parse_host_file(host_root, path, text, syntax, f);
}

static int cmp_basename(const void *a, const void *b)
{
    return strcmp(strrchr(*(char *const *)a, '/') + 1, strrchr(*(char *const *)b, '/') + 1);
}

/* The files named *suffix in dirs (highest priority first) as systemd reads drop-in directories
 * and chronyd its confdir / sourcedir: sorted by file name whatever the directory, a name found
 * in several directories read from the first only. Paths are without the host root; errs[i] gets
 * the errno of a directory that exists but cannot be listed, else 0. */
static int list_dropins(const char *host_root, const char *const *dirs, size_t n_dirs,
                        const char *suffix, char ***out, size_t *n_out, int *errs)
{
    size_t n = 0;
    char **paths = NULL;
    int r = -1;
    for (size_t d = 0; d < n_dirs; d++) {
        DBG_AUTOFREE char *dir = NULL;
        if (under_root(host_root, dirs[d], 1, &dir) < 0) {
            if (errno == ENOMEM)
                goto out;
            errs[d] = errno; /* a link loop: the host could not list it either */
            continue;
        }
        DBG_AUTOFREE char *pattern = dbg_asprintf("%s/*%s", dir, suffix);
        if (!pattern)
            goto out;
        glob_t g;
        glob_errno = 0;
        int gr = glob(pattern, 0, glob_failed, &g);
        errs[d] = gr == GLOB_ABORTED ? (glob_errno ? glob_errno : EIO) : 0;
        if (gr != 0) {
            if (gr != GLOB_NOMATCH)
                globfree(&g);
            continue;
        }
        for (size_t i = 0; i < g.gl_pathc; i++) {
            /* named by the host's directory: the file is resolved again when read */
            DBG_AUTOFREE char *path =
                dbg_asprintf("%s/%s", dirs[d], strrchr(g.gl_pathv[i], '/') + 1);
            if (!path) {
                globfree(&g);
                goto out;
            }
            int masked = 0; /* by the same name in a directory of higher priority */
            for (size_t k = 0; k < n && !masked; k++)
                masked = !cmp_basename(&paths[k], &path);
            char **a = masked ? paths : dbg_reallocarray(paths, n + 1, sizeof(*a));
            if (a)
                paths = a;
            if (!a || (!masked && !(paths[n++] = dbg_strdup(path)))) {
                globfree(&g);
                goto out;
            }
        }
        globfree(&g);
    }
    if (n > 1)
        qsort(paths, n, sizeof(*paths), cmp_basename);
    *out = paths;
    *n_out = n;
    paths = NULL;
    n = 0;
    r = 0;
out:
    for (size_t k = 0; k < n; k++)
        free(paths[k]);
    free(paths);
    return r;
}

/* Every file listed by list_dropins, in that order; a directory that cannot be listed hides its
 * files and is recorded under its glob pattern with the error, after the files (any of its names
 * may be read last), so checks that look there know what they could not see. */
static int collect_dropins(const char *host_root, const char *const *dirs, size_t n_dirs,
                           const char *suffix, dbg_conf_syntax syntax, dbg_snapshot *s)
{
    char **paths = NULL;
    size_t n = 0;
    int errs[8];
    if (n_dirs > sizeof(errs) / sizeof(errs[0]) ||
        list_dropins(host_root, dirs, n_dirs, suffix, &paths, &n, errs) < 0)
        return -1;
    int r = 0;
    for (size_t i = 0; i < n; i++) {
        if (r == 0)
            r = collect_one(host_root, paths[i], syntax, s);
        free(paths[i]);
    }
    free(paths);
    for (size_t d = 0; d < n_dirs && r == 0; d++) {
        if (!errs[d])
            continue;
        DBG_AUTOFREE char *pattern = dbg_asprintf("%s/*%s", dirs[d], suffix);
        dbg_host_file *f = pattern ? new_host_file(s, pattern) : NULL;
        if (!f ||
            !(f->error = dbg_asprintf("the directory cannot be listed (%s)", strerror(errs[d]))))
            r = -1;
    }
    return r;
}

/* Every file named *suffix in dir, sorted by name. */
static int collect_dir(const char *host_root, const char *dir, const char *suffix,
                       dbg_conf_syntax syntax, dbg_snapshot *s)
{
    return collect_dropins(host_root, &dir, 1, suffix, syntax, s);
}

/* systemd-timesyncd's drop-in directories, highest priority first (systemd's CONF_PATHS; /lib
 * for split-/usr builds such as Debian 12's systemd 252: on a merged /usr it is /usr/lib, whose
 * names are already taken). /run is read too: a runtime drop-in applies until reboot. */
static const char *const timesyncd_dropin_dirs[] = {
    "/etc/systemd/timesyncd.conf.d",           "/run/systemd/timesyncd.conf.d",
    "/usr/local/lib/systemd/timesyncd.conf.d", "/usr/lib/systemd/timesyncd.conf.d",
    "/lib/systemd/timesyncd.conf.d",
};

/* pam_faillock's conf=FILE replaces /etc/security/faillock.conf for that rule: each such file
 * named in the collected PAM files is collected too (absolute paths without "..": a PAM file
 * under a copied root must not make the collector read outside it). */
static int collect_faillock_confs(const char *host_root, dbg_snapshot *s)
{
    size_t n = s->n_host_files;
    for (size_t i = 0; i < n; i++) {
        if (strncmp(s->host_files[i].path, "/etc/pam.d/", 11))
            continue;
        for (size_t j = 0; j < s->host_files[i].n_settings; j++) {
            const dbg_setting *st = &s->host_files[i].settings[j];
            const char *c = st->value && strstr(st->key, "pam_faillock.so")
                                ? strstr(st->value, "conf=")
                                : NULL;
            if (!c || (c != st->value && c[-1] != ' ' && c[-1] != '\t'))
                continue;
            char path[256];
            size_t k = 0;
            for (c += 5; *c && *c != ' ' && *c != '\t' && k + 1 < sizeof(path); c++)
                path[k++] = *c;
            path[k] = '\0';
            if (path[0] != '/' || strstr(path, "/..") || dbg_snapshot_host_file(s, path))
                continue;
            if (collect_one(host_root, path, DBG_CONF_KV_EQ_HASH, s) < 0) /* may move host_files */
                return -1;
        }
    }
    return 0;
}

/* Like collect_one, but a file that is not there is not recorded. */
static int collect_if_there(const char *host_root, const char *path, dbg_conf_syntax syntax,
                            dbg_snapshot *s)
{
    if (collect_one(host_root, path, syntax, s) < 0)
        return -1;
    dbg_host_file *f = &s->host_files[s->n_host_files - 1];
    if (!f->present && !f->error) {
        dbg_platform_host_file_clear(f);
        s->n_host_files--;
    }
    return 0;
}

/* The socket units whose /etc/systemd/system/sockets.target.wants link known_files lists: the
 * same link in systemd's other unit directories (systemctl enable --runtime writes to /run, a
 * package or preset to /usr/lib), the unit file of each (a mask, ListenStream=) and the unit's
 * drop-ins. Only what is there is recorded: most hosts have few of them. */
static int collect_socket_units(const char *host_root, dbg_snapshot *s)
{
    static const char wants[] = "/etc/systemd/system/sockets.target.wants/";
    for (size_t i = 0; i < sizeof(known_files) / sizeof(known_files[0]); i++) {
        if (strncmp(known_files[i].path, wants, sizeof(wants) - 1))
            continue;
        const char *unit = known_files[i].path + sizeof(wants) - 1;
        char *dropin_dirs[DBG_PLATFORM_N_UNIT_DIRS] = {0};
        int r = 0;
        for (size_t d = 0; d < DBG_PLATFORM_N_UNIT_DIRS && r == 0; d++) {
            const char *dir = dbg_platform_unit_dirs[d];
            DBG_AUTOFREE char *link = dbg_asprintf("%s/sockets.target.wants/%s", dir, unit);
            DBG_AUTOFREE char *file = dbg_asprintf("%s/%s", dir, unit);
            dropin_dirs[d] = dbg_asprintf("%s/%s.d", dir, unit);
            if (!link || !file || !dropin_dirs[d] ||
                (d > 0 && collect_if_there(host_root, link, DBG_CONF_LINK, s) < 0) ||
                collect_if_there(host_root, file, DBG_CONF_SYSTEMD_UNIT, s) < 0)
                r = -1;
        }
        /* the drop-ins' ListenStream= move or add the unit's sockets */
        if (r == 0)
            r = collect_dropins(host_root, (const char *const *)dropin_dirs,
                                DBG_PLATFORM_N_UNIT_DIRS, ".conf", DBG_CONF_KV_EQ, s);
        for (size_t d = 0; d < DBG_PLATFORM_N_UNIT_DIRS; d++)
            free(dropin_dirs[d]);
        if (r < 0)
            return -1;
    }
    return 0;
}

/* The directories whose files are collected as a family (collect_dir, collect_dropins), by the
 * pattern a directory that cannot be listed is recorded under. */
static const char *const family_patterns[] = {
    "/etc/audit/rules.d/*.rules",
    "/etc/profile.d/*.sh",
    "/etc/security/pwquality.conf.d/*.conf",
    "/etc/systemd/timesyncd.conf.d/*.conf",
    "/run/systemd/timesyncd.conf.d/*.conf",
    "/usr/local/lib/systemd/timesyncd.conf.d/*.conf",
    "/usr/lib/systemd/timesyncd.conf.d/*.conf",
    "/lib/systemd/timesyncd.conf.d/*.conf",
    "/run/systemd/netif/links/*",
};

int dbg_platform_host_files_not_read(dbg_snapshot *s, const char *why)
{
    for (size_t i = 0; i < sizeof(known_files) / sizeof(known_files[0]); i++) {
        if (known_files[i].syntax == DBG_CONF_PROC_TCP)
            continue; /* another host's sockets are not in any file */
        dbg_host_file *f = new_host_file(s, known_files[i].path);
        if (!f || !(f->error = dbg_strdup(why)))
            return -1;
    }
    for (size_t i = 0; i < sizeof(family_patterns) / sizeof(family_patterns[0]); i++) {
        dbg_host_file *f = new_host_file(s, family_patterns[i]);
        if (!f || !(f->error = dbg_strdup(why)))
            return -1;
    }
    return 0;
}

int dbg_platform_collect_host_files(const char *host_root, dbg_snapshot *s)
{
    int live = !host_root || !strcmp(host_root, "/");
    for (size_t i = 0; i < sizeof(known_files) / sizeof(known_files[0]); i++) {
        const known_file *kf = &known_files[i];
        if (kf->syntax == DBG_CONF_PROC_TCP && !live)
            continue; /* a copied root's /proc is not that host's sockets: not listed */
        if (collect_one(host_root, kf->path, kf->syntax, s) < 0)
            return -1;
        /* A process can only be looked up on this host: under a copied root the pid file
         * says nothing about whether the daemon runs, and no "process" is recorded. */
        dbg_host_file *f = &s->host_files[s->n_host_files - 1];
        if (kf->process && live && f->present && !f->error &&
            dbg_platform_note_process(f, "/proc", kf->process) < 0)
            return -1;
    }
    /* auditd's rules.d: every *.rules, in the order augenrules merges them (sorted); the
     * shell's profile.d: every *.sh, as /etc/profile sources them; libpwquality's drop-ins,
     * which it reads sorted and before pwquality.conf (the main file has the last word). */
    if (collect_dir(host_root, "/etc/audit/rules.d", ".rules", DBG_CONF_AUDIT_RULES, s) < 0 ||
        collect_dir(host_root, "/etc/profile.d", ".sh", DBG_CONF_SHELL, s) < 0 ||
        collect_dir(host_root, "/etc/security/pwquality.conf.d", ".conf", DBG_CONF_KV_EQ_HASH,
                    s) < 0)
        return -1;
    /* timesyncd reads timesyncd.conf, then every drop-in by name: the last assignment wins */
    if (collect_dropins(host_root, timesyncd_dropin_dirs,
                        sizeof(timesyncd_dropin_dirs) / sizeof(timesyncd_dropin_dirs[0]), ".conf",
                        DBG_CONF_KV_EQ, s) < 0 ||
        collect_socket_units(host_root, s) < 0)
        return -1;
    /* systemd-networkd's per-link state (NTP= the servers from the link's .network file and
     * its DHCP lease), which systemd-timesyncd uses before its own NTP= */
    if (collect_dir(host_root, "/run/systemd/netif/links", "", DBG_CONF_KV_EQ, s) < 0)
        return -1;
    return collect_faillock_confs(host_root, s);
}
