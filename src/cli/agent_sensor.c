/* The agent's network sensor runs in a child process of its own. Its decoders read what tenants
 * send; in the agent's own process a decoder bug would reach the audit log's signing key, the
 * gateway's socket and libvirt as root. So it is forked before any of those is opened (and
 * before any thread starts: privilege dropping needs one thread), and with --sensor-user it
 * then gives up root as `dengbao sensor --user` does. The status directory stays the agent's
 * (a directory the sensor's user could write would let it forge the gateway's and guard's
 * evidence): the child hands each status to the agent through a pipe, one JSON line each, and
 * the agent writes sensor.json. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/agent_sensor.h"
#include "dengbao/platform.h"
#include "dengbao/util.h"

struct agent_sensor {
    pid_t pid;
    int fd;                           /* read end of the status pipe, -1 once it ended */
    dbg_sensor_status_reader *reader; /* cuts what the pipe holds into status lines */
    int exited, status;
    unsigned statuses; /* lines read that were statuses: the first says it captures */
    char step[256];    /* the start-up step it said it began last ("" none), printable */
};

typedef struct {
    agent_sensor *s;
    const char *status_dir; /* NULL: statuses dropped */
} status_sink;

/* ---- the child ---- */
static volatile int child_stop;
static volatile int child_stats;

static void child_on_signal(int sig)
{
    if (sig == SIGUSR1)
        child_stats = 1; /* stats to stderr, as `dengbao sensor` does */
    else
        child_stop = 1;
}

/* One status as one line; the agent reads the pipe at least once a second, so a blocking write
 * waits at most that long. */
static int child_status_out(void *ctx, int ok, const char *detail, struct json_t *extra)
{
    int fd = *(int *)ctx;
    size_t n = 0;
    char *line = dbg_sensor_status_format(ok, detail, extra, &n);
    if (!line)
        return -1;
    int r = dbg_write_all(fd, line, n, "the status pipe to the agent") == 0 ? 0 : -1;
    free(line);
    return r;
}

/* Each start-up step, before the first status: a line the agent keeps for its timeout's
 * message. A failed write is left to the status that follows to report. */
static void child_progress(void *ctx, const char *step)
{
    int fd = *(int *)ctx;
    size_t n = 0;
    char *line = dbg_sensor_step_format(step, &n);
    if (!line || dbg_write_all(fd, line, n, "the status pipe to the agent") != 0)
        dbg_err_clear();
    free(line);
}

static void child_main(dbg_sensor_run_opts o, int fd)
{
    /* the agent gone (killed outright) must not leave a sensor running without its supervisor */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = child_on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL); /* its default would end the sensor, and with it the agent */
    signal(SIGHUP, SIG_IGN);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    if (getppid() == 1) /* the agent ended before PDEATHSIG was set */
        _exit(DBG_EXIT_RUNTIME);
    o.stop = (volatile int *)&child_stop;
    o.dump_stats = (volatile int *)&child_stats;
    o.status_out = child_status_out;
    o.progress = child_progress;
    o.status_ctx = &fd;
    long r = dbg_sensor_run(&o);
    if (r < 0)
        fprintf(stderr, "dengbao agent: sensor: %s\n", dbg_err_msg());
    close(fd);
    _exit(r < 0 ? DBG_EXIT_RUNTIME : DBG_EXIT_OK);
}

/* ---- the agent's side ---- */
agent_sensor *agent_sensor_start(const dbg_sensor_run_opts *o)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) {
        dbg_err_errno(DBG_ERR_IO, "cannot make the sensor's status pipe");
        return NULL;
    }
    agent_sensor *s = calloc(1, sizeof(*s));
    if (!s || !(s->reader = dbg_sensor_status_reader_new())) {
        close(p[0]);
        close(p[1]);
        free(s);
        dbg_err_set(DBG_ERR_NOMEM, "no memory for the sensor");
        return NULL;
    }
    fflush(NULL); /* nothing buffered is written twice */
    pid_t pid = fork();
    if (pid < 0) {
        dbg_err_errno(DBG_ERR_IO, "cannot start the sensor process");
        close(p[0]);
        close(p[1]);
        dbg_sensor_status_reader_free(s->reader);
        free(s);
        return NULL;
    }
    if (pid == 0) {
        close(p[0]);
        child_main(*o, p[1]);
    }
    close(p[1]);
    s->pid = pid;
    s->fd = p[0];
    if (fcntl(p[0], F_SETFL, O_NONBLOCK) != 0) {
        dbg_err_errno(DBG_ERR_IO, "sensor status pipe");
        agent_sensor_stop(s, NULL);
        return NULL;
    }
    return s;
}

/* One line from the sensor: a status to write (status_dir NULL: dropped), or one to skip. */
static void on_status(void *ud, const dbg_sensor_status *st, const char *error)
{
    status_sink *sink = ud;
    const char *status_dir = sink->status_dir;
    if (st && st->step) {
        /* untrusted text the agent may print: escaped, cut to the buffer */
        int failed = 0;
        char *shown = dbg_text_visible(st->step, &failed);
        dbg_utf8_copy(sink->s->step, sizeof(sink->s->step), shown ? shown : st->step);
        dbg_utf8_trim_partial(sink->s->step);
        free(shown);
        return;
    }
    if (st)
        sink->s->statuses++;
    if (!st) {
        dbg_warn("agent: the sensor sent a status that is not one (%s); sensor.json not updated",
                 error);
    } else if (status_dir && dbg_status_write(status_dir, "sensor", st->ok, st->detail,
                                              json_incref(st->extra)) != 0) {
        dbg_warn("agent: cannot write status %s/sensor.json: %s", status_dir, dbg_err_msg());
    }
}

/* Reads what the pipe holds; every whole line is a status to write. 1 once the pipe ended. */
static int drain(agent_sensor *s, const char *status_dir)
{
    status_sink sink = {s, status_dir};
    char chunk[16384];
    while (s->fd >= 0) {
        ssize_t n = read(s->fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return 0;
        if (n <= 0) {
            close(s->fd);
            s->fd = -1;
            dbg_sensor_status_reader_end(s->reader, on_status, &sink);
            break;
        }
        dbg_sensor_status_reader_feed(s->reader, chunk, (size_t)n, on_status, &sink);
    }
    return 1;
}

static void reap(agent_sensor *s, int block)
{
    if (s->exited)
        return;
    int st;
    pid_t r;
    do
        r = waitpid(s->pid, &st, block ? 0 : WNOHANG);
    while (r < 0 && errno == EINTR);
    if (r == s->pid) {
        s->exited = 1;
        s->status = st;
    }
}

static void set_ended_error(const agent_sensor *s)
{
    if (WIFEXITED(s->status))
        dbg_err_set(DBG_ERR_IO, "sensor stopped: its process (pid %d) exited with status %d",
                    (int)s->pid, WEXITSTATUS(s->status));
    else
        dbg_err_set(DBG_ERR_IO, "sensor stopped: its process (pid %d) was killed by signal %d "
                    "(%s)", (int)s->pid, WTERMSIG(s->status), strsignal(WTERMSIG(s->status)));
}

int agent_sensor_poll(agent_sensor *s, const char *status_dir)
{
    drain(s, status_dir);
    reap(s, 0);
    if (!s->exited)
        return 0;
    drain(s, status_dir); /* its last words */
    set_ended_error(s);
    return -1;
}

int agent_sensor_wait_ready(agent_sensor *s, const char *status_dir, const sigset_t *stop,
                            int timeout_s)
{
    /* its first status is written once every interface that can be opened is (none: it
     * exits), the inventory is loaded and root is given up; a failure ends the process */
    int64_t give_up = dbg_monotonic_us() + (int64_t)timeout_s * 1000000;
    while (!s->statuses) {
        if (agent_sensor_poll(s, status_dir) != 0)
            return -1;
        if (s->statuses)
            break;
        if (dbg_monotonic_us() >= give_up) {
            /* SIGKILL, not SIGTERM: one stuck in a libvirt call never looks at its stop flag,
             * and one that never reported has written no status and seen no packet to lose */
            kill(s->pid, SIGKILL);
            return 2;
        }
        struct timespec ts = {0, 50 * 1000 * 1000};
        int sig = sigtimedwait(stop, NULL, &ts);
        if (sig == SIGTERM || sig == SIGINT)
            return 1;
    }
    return 0;
}

pid_t agent_sensor_pid(const agent_sensor *s)
{
    return s->pid;
}

const char *agent_sensor_step(const agent_sensor *s)
{
    return s->step;
}

int agent_sensor_stop(agent_sensor *s, const char *status_dir)
{
    if (!s)
        return 0;
    if (!s->exited && kill(s->pid, SIGTERM) != 0 && errno == EPERM) {
        /* it gave up root and the agent lacks CAP_KILL (a unit's bounding set): waiting would
         * hang. Nor does its parent-death signal reach it: the kernel sends that with the
         * exiting agent's permissions. Under systemd the unit's stop ends it. */
        dbg_err_set(DBG_ERR_IO, "cannot signal the sensor (pid %d), which runs as another user: "
                    "the agent needs CAP_KILL; the sensor is left running", (int)s->pid);
        if (s->fd >= 0)
            close(s->fd);
        dbg_sensor_status_reader_free(s->reader);
        free(s);
        return -1;
    }
    /* until the child closes the pipe (its final status, running: false, comes last); its
     * capture loop looks at the stop flag every 200 ms, so one that has not ended in 10 s hangs */
    int64_t give_up = dbg_monotonic_us() + 10 * 1000000LL;
    while (s->fd >= 0) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        if (!drain(s, status_dir))
            nanosleep(&ts, NULL);
        if (give_up && dbg_monotonic_us() > give_up) {
            dbg_warn("agent: the sensor (pid %d) did not stop in 10 s: killed", (int)s->pid);
            kill(s->pid, SIGKILL);
            give_up = 0;
        }
    }
    reap(s, 1);
    int failed = !WIFEXITED(s->status) || WEXITSTATUS(s->status) != 0;
    if (failed)
        set_ended_error(s);
    dbg_sensor_status_reader_free(s->reader);
    free(s);
    return failed ? -1 : 0;
}
