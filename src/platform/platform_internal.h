/* Internal interfaces between the collector's parts (libvirt XML parsers, host-file parsers,
 * control status readers). Not part of the public API; unit tests include it directly. */
#ifndef DBG_PLATFORM_INTERNAL_H
#define DBG_PLATFORM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "dengbao/platform.h"


/* ---- libvirt XML -> structs (platform/libvirt_xml.c). `what` names the object in errors.
 * On failure the partly filled struct must still be freed by the caller. ---- */
int dbg_platform_parse_domain_xml(const char *xml, size_t len, dbg_domain *out);
int dbg_platform_parse_network_xml(const char *xml, size_t len, dbg_network *out);
int dbg_platform_parse_pool_xml(const char *xml, size_t len, dbg_pool *out);
int dbg_platform_parse_volume_xml(const char *xml, size_t len, const char *pool, dbg_volume *out);
int dbg_platform_parse_nwfilter_xml(const char *xml, size_t len, dbg_nwfilter *out);
int dbg_platform_parse_binding_xml(const char *xml, size_t len, dbg_nwfilter_binding *out);

/* Member cleanup for one struct (the snapshot's field tables). */
void dbg_platform_domain_clear(dbg_domain *d);
void dbg_platform_network_clear(dbg_network *n);
void dbg_platform_pool_clear(dbg_pool *p);
void dbg_platform_volume_clear(dbg_volume *v);
void dbg_platform_nwfilter_clear(dbg_nwfilter *f);
void dbg_platform_binding_clear(dbg_nwfilter_binding *b);
void dbg_platform_host_file_clear(dbg_host_file *f);
void dbg_platform_control_clear(dbg_control *c);
void dbg_platform_snapshot_clear(dbg_snapshot *s); /* members only */

/* ---- host configuration files (platform/host_files.c) ---- */
typedef enum {
    DBG_CONF_NONE,        /* existence only (certificates, keys: never read) */
    DBG_CONF_LIBVIRT,     /* libvirtd.conf / qemu.conf: key = value, "strings", [lists], # */
    DBG_CONF_KV_EQ,       /* key = value, bare flags (auditd, ini) */
    DBG_CONF_KV_EQ_HASH,  /* the same, a '#' anywhere ending the line (pwquality, faillock) */
    DBG_CONF_SHELL,       /* shell start-up files as key = value, a '#' beginning a word ending
                           * the line */
    DBG_CONF_KV_SPACE,    /* KEY value (login.defs) */
    DBG_CONF_CHRONY,      /* chrony.conf: KEY value, following confdir / sourcedir / include */
    DBG_CONF_NTP,         /* ntp.conf (ntpd, NTPsec): KEY value, following includefile */
    DBG_CONF_SSHD,        /* sshd_config: first value wins, Include, Match blocks */
    DBG_CONF_PAM,         /* type control module args: key = module, value = whole rule */
    DBG_CONF_AUDIT_RULES, /* -w/-a/-e ...: key = option, value = the rest */
    DBG_CONF_PIDFILE,     /* a daemon's pid file: key "pid" = its first line */
    DBG_CONF_LINK,        /* existence of the entry itself (lstat): an enabled systemd unit is a
                           * symlink whose absolute target exists only on the host itself */
    DBG_CONF_PROC_TCP,    /* /proc/net/tcp, tcp6: key "listen" = "addr:port" per listening
                           * socket (live host only) */
    DBG_CONF_SYSTEMD_UNIT, /* a systemd unit file: Key=Value as DBG_CONF_KV_EQ; an empty one (or
                            * a link to /dev/null) is masked: the setting "masked" on line 0 */
} dbg_conf_syntax;

/* systemd's system unit directories that hold administrator, runtime and vendor units, highest
 * priority first: a unit file is taken from the first that has it, a wants link in any of
 * them enables the unit (platform/snapshot.c). */
#define DBG_PLATFORM_N_UNIT_DIRS 5
extern const char *const dbg_platform_unit_dirs[DBG_PLATFORM_N_UNIT_DIRS];

/* Parses text as the file `path` (recorded without host root) into out (present = 1).
 * host_root is used to expand sshd Include globs; may be NULL. */
int dbg_platform_parse_host_file(const char *host_root, const char *path, const char *text,
                                 dbg_conf_syntax syntax, dbg_host_file *out);
/* Whether the process a parsed pid file names is comm (e.g. "auditd"), looked up in
 * <proc_dir>/<pid>/comm, else by kill(pid, 0): adds the setting "process" = "running (...)"
 * or "not running (...)". Only meaningful for the host this runs on. 0, or -1 out of memory. */
int dbg_platform_note_process(dbg_host_file *f, const char *proc_dir, const char *comm);
/* Reads every host file dengbao knows about under host_root, appending to s->host_files. */
int dbg_platform_collect_host_files(const char *host_root, dbg_snapshot *s);
/* Lists every host file (and directory of files) dengbao would read as not read, with why as
 * the error: the host is another one than this (a remote libvirt URI), so every check resting
 * on its configuration says 未检查 instead of judging this machine's files. */
int dbg_platform_host_files_not_read(dbg_snapshot *s, const char *why);
/* 1 when a libvirt URI names a host other than this one (its name, without brackets, goes to
 * host), 0 for a local URI (no host, localhost, 127.0.0.1, ::1). */
int dbg_platform_uri_host(const char *uri, char *host, size_t size);

/* ---- dengbao's own controls (platform/controls.c) ---- */
/* Every control with an unknown status (why as its detail): its status files are on another
 * host. */
int dbg_platform_controls_not_read(dbg_snapshot *s, const char *why);
/* Reads <status_dir>/<name>.json for every known control; paths are recorded under
 * display_dir (the status dir without the host root; NULL = status_dir); check_pids: the
 * host is this one, so a status file's pid must be alive. */
int dbg_platform_collect_controls(const char *status_dir, const char *display_dir, int check_pids,
                                  int64_t now_us, dbg_snapshot *s);
/* Judges one control from its status file's text (file: the path shown in the detail): sets
 * c->healthy and c->detail (the verdict's reason); -1 only when out of memory. */
int dbg_platform_judge_control(dbg_control *c, const char *file, const char *text, size_t len,
                               int check_pids, int64_t now_us);


#endif
