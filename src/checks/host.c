/* Host checks: the level-3 general requirements (安全通用要求 8.1.4, 8.1.5.4) on the
 * hypervisor host, read from its configuration files as collected under --host-root:
 * password policy, login lockout, idle timeout, remote root login, auditd and its rules and
 * retention, time synchronisation. Thresholds are common assessor practice (see
 * docs/internals/assess.md), not numbers from the standard. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "checks/check_fns.h"
#include "checks/check_util.h"
#include "dengbao/util.h"

static const char *const pam_files[] = {
    "/etc/pam.d/common-auth", "/etc/pam.d/common-password",
    "/etc/pam.d/system-auth", "/etc/pam.d/password-auth",
    "/etc/pam.d/sshd",        "/etc/pam.d/login",
};

/* Each of the files that could not be read gets an evidence line; returns how many. A check
 * whose verdict would rest on what such a file says (or on its silence) is 未检查 instead. */
static size_t unreadable_of(const dbg_snapshot *s, const char *const *paths, size_t n,
                            const char *key, dbg_evidence_list *ev)
{
    size_t bad = 0;
    for (size_t i = 0; i < n; i++)
        bad += (size_t)dbg_chk_unreadable(dbg_snapshot_host_file(s, paths[i]), paths[i], key, ev);
    return bad;
}

/* The same for every host file whose path matches (a family: start-up files, rules files). */
static size_t unreadable_matching(const dbg_snapshot *s, int (*match)(const char *path),
                                  const char *key, dbg_evidence_list *ev)
{
    size_t bad = 0;
    for (size_t i = 0; i < s->n_host_files; i++)
        if (match(s->host_files[i].path))
            bad += (size_t)dbg_chk_unreadable(&s->host_files[i], s->host_files[i].path, key, ev);
    return bad;
}

#define N_PAM_FILES (sizeof(pam_files) / sizeof(pam_files[0]))

/* The whole line of a setting ("key value"), however the collector split it. */
static void setting_line(const dbg_setting *st, char *buf, size_t size)
{
    snprintf(buf, size, "%s%s%s", st->key ? st->key : "", st->key && st->value ? " " : "",
             st->value ? st->value : "");
}

/* First PAM line that loads one of the modules; line text in buf, location in where. */
static const dbg_setting *pam_find(const dbg_snapshot *s, const char *const *modules, size_t nmod,
                                   char *buf, size_t size, char *where, size_t wsize)
{
    for (size_t i = 0; i < sizeof(pam_files) / sizeof(pam_files[0]); i++) {
        const dbg_host_file *f = dbg_snapshot_host_file(s, pam_files[i]);
        if (!f || !f->present)
            continue;
        for (size_t j = 0; j < f->n_settings; j++) {
            setting_line(&f->settings[j], buf, size);
            if (buf[0] == '#')
                continue;
            for (size_t m = 0; m < nmod; m++)
                if (strstr(buf, modules[m])) {
                    dbg_chk_where(f, &f->settings[j], pam_files[i], where, wsize);
                    return &f->settings[j];
                }
        }
    }
    return NULL;
}

/* "name=VALUE" in a PAM argument list into buf; buf, or NULL when absent or empty. */
static const char *pam_arg_str(const char *line, const char *name, char *buf, size_t size)
{
    size_t n = strlen(name);
    for (const char *p = line; (p = strstr(p, name)) != NULL; p += n) {
        if ((p == line || p[-1] == ' ' || p[-1] == '\t') && p[n] == '=') {
            size_t k = 0;
            for (const char *v = p + n + 1; *v && *v != ' ' && *v != '\t' && k + 1 < size; v++)
                buf[k++] = *v;
            buf[k] = '\0';
            return k ? buf : NULL;
        }
    }
    return NULL;
}

/* "name=N" in a PAM argument list; 0 when found. */
static int pam_arg(const char *line, const char *name, long *out)
{
    char num[32];
    if (!pam_arg_str(line, name, num, sizeof(num)))
        return -1;
    return dbg_parse_long(num, -1000000, 1000000000, out);
}

/* A pwquality option as libpwquality sets it: the *.conf of pwquality.conf.d in name order, then
 * pwquality.conf, the last assignment winning. 0 when set to a number (where gets its place). */
static int pwquality_get(const dbg_snapshot *s, const char *key, long *out, char *where,
                         size_t size, int *unsure)
{
    const char *pq = "/etc/security/pwquality.conf";
    int u;
    const dbg_setting *q = dbg_chk_dropin_get(s, pq, 1, key, &u);
    *unsure |= u;
    if (!q || dbg_chk_long(q, out))
        return -1;
    if (where)
        dbg_chk_where(NULL, q, pq, where, size);
    return 0;
}

dbg_check_result dbg_chk_password_policy(const dbg_snapshot *s, const dbg_check_params *p,
                                         dbg_evidence_list *ev)
{
    (void)p;
    char where[512], line[1024], pwhere[512];
    int ok_age = 0, ok_len = 0, ok_class = 0;
    /* Rotation: PASS_MAX_DAYS in login.defs (shadow's default 99999 = never). */
    const char *ld = "/etc/login.defs";
    const dbg_host_file *defs = dbg_snapshot_host_file(s, ld);
    const dbg_setting *st = dbg_host_file_get(defs, "PASS_MAX_DAYS");
    long max_days = 99999, min_len = 0;
    dbg_chk_where(defs, st, ld, where, sizeof(where));
    int unread = st && dbg_chk_long(st, &max_days);
    if (unread)
        max_days = 99999;
    ok_age = max_days > 0 && max_days <= 90;
    /* shadow takes a value it cannot read as a number (a comment after it, "90 # policy") as
     * unset; the evidence says so, or the line's 90 would be shown beside 99999 unexplained */
    if (unread)
        dbg_evidence_addf(ev, 0, where, "PASS_MAX_DAYS", "1..90 days",
                          "99999 ('%.80s' is not a number; shadow's tools take it as "
                          "not set, so passwords never expire)",
                          st->value ? st->value : "");
    else
        dbg_evidence_addf(ev, ok_age, where, "PASS_MAX_DAYS", "1..90 days", "%ld%s", max_days,
                          st ? "" : " (not set: passwords never expire)");
    /* Length and classes: pam_pwquality / pam_cracklib options, pwquality.conf, PASS_MIN_LEN. */
    static const char *const mods[] = {"pam_pwquality.so", "pam_cracklib.so"};
    const dbg_setting *pam = pam_find(s, mods, 2, line, sizeof(line), pwhere, sizeof(pwhere));
    const char *pq = "/etc/security/pwquality.conf";
    long minlen = -1, minclass = -1, credits = 0;
    int pq_unsure = 0;
    char lenwhere[512] = "", classwhere[512] = "";
    if (pam) {
        dbg_evidence_add(ev, 1, pwhere, "password quality module", line,
                         "pam_pwquality or pam_cracklib");
        /* each option the module's arguments leave unset comes from the configuration */
        if (pam_arg(line, "minlen", &minlen) == 0)
            snprintf(lenwhere, sizeof(lenwhere), "%s", pwhere);
        else
            pwquality_get(s, "minlen", &minlen, lenwhere, sizeof(lenwhere), &pq_unsure);
        if (pam_arg(line, "minclass", &minclass) == 0)
            snprintf(classwhere, sizeof(classwhere), "%s", pwhere);
        else
            pwquality_get(s, "minclass", &minclass, classwhere, sizeof(classwhere), &pq_unsure);
        static const char *const cr[] = {"dcredit", "ucredit", "lcredit", "ocredit"};
        int cr_unsure = 0;
        for (size_t i = 0; i < 4; i++) {
            long c;
            if (pam_arg(line, cr[i], &c) == 0 ||
                pwquality_get(s, cr[i], &c, NULL, 0, &cr_unsure) == 0)
                credits += c < 0;
        }
        if (minclass < 3)
            pq_unsure |= cr_unsure; /* the credits matter only without minclass */
    } else {
        dbg_evidence_add(ev, 0, "/etc/pam.d/common-password", "password quality module",
                         "neither pam_pwquality nor pam_cracklib is used",
                         "pam_pwquality or pam_cracklib");
    }
    const dbg_setting *ml = dbg_host_file_get(defs, "PASS_MIN_LEN");
    if (ml && !dbg_chk_long(ml, &min_len) && min_len > minlen) {
        minlen = min_len;
        dbg_chk_where(defs, ml, ld, lenwhere, sizeof(lenwhere));
    }
    ok_len = minlen >= 8;
    dbg_evidence_addf(ev, ok_len, *lenwhere ? lenwhere : pq, "minimum password length", ">= 8",
                      "%s%ld", minlen < 0 ? "not set " : "", minlen < 0 ? 0 : minlen);
    ok_class = pam && (minclass >= 3 || credits >= 3);
    dbg_evidence_addf(ev, ok_class, *classwhere ? classwhere : pq, "character classes required",
                      ">= 3 (minclass or negative dcredit/ucredit/lcredit/ocredit)",
                      "minclass %ld, %ld required class credits%s", minclass < 0 ? 0 : minclass,
                      credits, pam ? "" : " (no quality module: not enforced)");
    int n = ok_age + ok_len + ok_class;
    /* a failure may rest on what an unreadable file says; a pass on a pwquality value may too,
     * when a file libpwquality reads after it could not be read */
    if ((n < 3 || pq_unsure) &&
        unreadable_of(s, pam_files, N_PAM_FILES, "password quality module", ev) +
                unreadable_of(s, &ld, 1, "password policy", ev) +
                dbg_chk_dropin_unreadable(s, pq, "password policy", ev) >
            0)
        return DBG_CHECK_ERROR;
    return n == 3 ? DBG_CHECK_PASS : n ? DBG_CHECK_PARTIAL : DBG_CHECK_FAIL;
}

dbg_check_result dbg_chk_login_lockout(const dbg_snapshot *s, const dbg_check_params *p,
                                       dbg_evidence_list *ev)
{
    (void)p;
    char line[1024], where[512];
    static const char *const mods[] = {"pam_faillock.so", "pam_tally2.so"};
    const char *expected = "pam_faillock/pam_tally2 with deny = 1..5";
    const dbg_setting *pam = pam_find(s, mods, 2, line, sizeof(line), where, sizeof(where));
    if (!pam) {
        dbg_evidence_add(ev, 0, "/etc/pam.d/common-auth", "login failure handling",
                         "neither pam_faillock nor pam_tally2 is used", expected);
        return unreadable_of(s, pam_files, N_PAM_FILES, "login failure handling", ev)
                   ? DBG_CHECK_ERROR
                   : DBG_CHECK_FAIL;
    }
    long deny = -1;
    /* conf=FILE on the rule replaces faillock.conf (the collector reads it too) */
    char conf_arg[256];
    const char *conf = pam_arg_str(line, "conf", conf_arg, sizeof(conf_arg))
                           ? conf_arg
                           : "/etc/security/faillock.conf";
    const dbg_host_file *fc = dbg_snapshot_host_file(s, conf);
    if (!fc && conf == conf_arg) {
        dbg_evidence_addf(ev, 0, conf, "deny", expected, "%s: conf=%s was not collected", line,
                          conf);
        return DBG_CHECK_ERROR;
    }
    const dbg_setting *st = NULL;
    if (pam_arg(line, "deny", &deny) != 0) {
        /* deny comes from faillock.conf, else the module's default: unknown if unreadable */
        if (dbg_chk_unreadable(fc, conf, "deny", ev))
            return DBG_CHECK_ERROR;
        st = dbg_host_file_get(fc, "deny");
        if (st && dbg_chk_long(st, &deny) == 0)
            dbg_chk_where(fc, st, conf, where, sizeof(where));
        else if (strstr(line, "pam_faillock.so"))
            deny = 3; /* pam_faillock's built-in default */
    }
    int ok = deny >= 1 && deny <= 5;
    dbg_evidence_addf(ev, ok, where, "deny", expected, "%s: deny = %ld%s", line, deny,
                      deny < 0 ? " (no limit)" : "");
    long unlock = -1;
    if (pam_arg(line, "unlock_time", &unlock) != 0) {
        const dbg_setting *u = dbg_host_file_get(fc, "unlock_time");
        if (!u || dbg_chk_long(u, &unlock))
            unlock = -1;
    }
    if (unlock >= 0)
        dbg_evidence_addf(ev, 1, where, "unlock_time", "locked for a while (e.g. 1800 s)", "%ld s",
                          unlock);
    return ok ? DBG_CHECK_PASS : DBG_CHECK_FAIL;
}

/* The shell start-up files that may set TMOUT. */
static int tmout_source(const char *path)
{
    return path && (!strcmp(path, "/etc/profile") || !strcmp(path, "/etc/bash.bashrc") ||
                    !strncmp(path, "/etc/profile.d/", 15));
}

/* The value a shell assignment gives: its first word, unquoted ("900; readonly TMOUT" and
 * "'900' && export TMOUT" give 900; an empty one, TMOUT=, turns the timeout off: 0). Returns -1
 * for a value that is not a number (a variable, a command). */
static int shell_assigned_long(const dbg_setting *st, long *out)
{
    const char *v = st->value ? st->value : "";
    while (*v == ' ' || *v == '\t')
        v++;
    char word[64];
    size_t n;
    if (*v == '\'' || *v == '"') {
        const char *q = strchr(v + 1, *v);
        if (!q)
            return -1;
        n = (size_t)(q - v - 1);
        v++;
    } else {
        n = strcspn(v, " \t;&|");
    }
    if (n >= sizeof(word))
        return -1;
    memcpy(word, v, n);
    word[n] = '\0';
    if (!n) {
        *out = 0;
        return 0;
    }
    return dbg_parse_long(word, -1000000000L, 1000000000L, out);
}

/* TMOUT from the shell start-up files ("TMOUT=900", "readonly TMOUT=900", "export TMOUT=900").
 * *collected tells whether the snapshot holds any of those files (present or not). */
static const dbg_setting *find_tmout(const dbg_snapshot *s, long *val, char *where, size_t size,
                                     int *collected)
{
    const dbg_setting *found = NULL;
    *collected = 0;
    for (size_t i = 0; i < s->n_host_files; i++) {
        const dbg_host_file *f = &s->host_files[i];
        if (!tmout_source(f->path))
            continue;
        *collected = 1;
        if (!f->present)
            continue;
        for (size_t j = 0; j < f->n_settings; j++) {
            const dbg_setting *st = &f->settings[j];
            const char *k = st->key ? st->key : "";
            if (!strncmp(k, "readonly ", 9))
                k += 9;
            if (!strncmp(k, "export ", 7))
                k += 7;
            if (strcmp(k, "TMOUT"))
                continue;
            long v;
            if (shell_assigned_long(st, &v) == 0) {
                found = st;
                *val = v;
                dbg_chk_where(f, st, f->path, where, size);
            }
        }
    }
    return found;
}

/* The next setting at or after *i that a "Match COND" block of sshd_config gives keyword (the
 * collector records it as "Match COND/Keyword"); *cond_len gets the length of "Match COND/".
 * sshd applies a matching block's values over the global ones, so each is what the
 * connections it matches get, whatever the global line says. */
static const dbg_setting *sshd_match_next(const dbg_host_file *f, const char *keyword, size_t *i,
                                          size_t *cond_len)
{
    for (; f && *i < f->n_settings; (*i)++) {
        const dbg_setting *st = &f->settings[*i];
        if (!st->key || strncasecmp(st->key, "Match ", 6))
            continue;
        const char *slash = strrchr(st->key, '/');
        if (slash && !strcasecmp(slash + 1, keyword)) {
            *cond_len = (size_t)(slash + 1 - st->key);
            (*i)++;
            return st;
        }
    }
    return NULL;
}

/* ClientAliveInterval x ClientAliveCountMax within 1800 s; a value missing or not a number
 * counts as its default (0: off, 3). */
static int client_alive_ok(const dbg_setting *ci, const dbg_setting *cc, long *interval,
                           long *count)
{
    *interval = 0;
    *count = 3;
    if (ci && dbg_chk_long(ci, interval))
        *interval = 0;
    if (cc && dbg_chk_long(cc, count))
        *count = 3;
    return *interval > 0 && *count > 0 && *interval * *count <= 1800;
}

/* Each Match block of sshd_config that sets ClientAliveInterval or ClientAliveCountMax gets an
 * evidence line with the pair its connections get (the block's value, else the global one);
 * returns whether all are within the limit. */
static int client_alive_matches_ok(const dbg_host_file *f, const dbg_setting *ci,
                                   const dbg_setting *cc, dbg_evidence_list *ev)
{
    static const char *const keys[] = {"ClientAliveInterval", "ClientAliveCountMax"};
    int all_ok = 1;
    for (size_t k = 0; k < 2; k++) {
        size_t i = 0, cond_len;
        const dbg_setting *m;
        while ((m = sshd_match_next(f, keys[k], &i, &cond_len))) {
            char sibling[512], where[512], key[600];
            snprintf(sibling, sizeof(sibling), "%.*s%s", (int)cond_len, m->key, keys[!k]);
            const dbg_setting *other = dbg_host_file_get(f, sibling);
            /* a block setting both is reported once, at its ClientAliveInterval */
            if (k == 1 && other)
                continue;
            const dbg_setting *mi = k == 0 ? m : other ? other : ci;
            const dbg_setting *mc = k == 1 ? m : other ? other : cc;
            long interval, count;
            int ok = client_alive_ok(mi, mc, &interval, &count);
            all_ok &= ok;
            dbg_chk_where(f, m, "/etc/ssh/sshd_config", where, sizeof(where));
            snprintf(key, sizeof(key), "ClientAliveInterval x ClientAliveCountMax (%.*s)",
                     (int)cond_len - 1, m->key);
            dbg_evidence_addf(ev, ok, where, key, "> 0 and <= 1800 s", "%ld s x %ld", interval,
                              count);
        }
    }
    return all_ok;
}

dbg_check_result dbg_chk_idle_timeout(const dbg_snapshot *s, const dbg_check_params *p,
                                      dbg_evidence_list *ev)
{
    (void)p;
    char where[512];
    long tmout = 0;
    int collected;
    const dbg_setting *t = find_tmout(s, &tmout, where, sizeof(where), &collected);
    int ok_shell = t && tmout > 0 && tmout <= 1800;
    if (t)
        dbg_evidence_addf(ev, ok_shell, where, "TMOUT", "1..1800 s", "%ld s", tmout);
    else
        dbg_evidence_add(ev, 0, "/etc/profile", "TMOUT",
                         collected ? "not set (idle shells never end)"
                                   : "not collected (shell start-up files not in the snapshot)",
                         "1..1800 s");
    const char *sp = "/etc/ssh/sshd_config";
    const dbg_host_file *sf = dbg_snapshot_host_file(s, sp);
    const dbg_setting *ci = dbg_host_file_get(sf, "ClientAliveInterval");
    const dbg_setting *cc = dbg_host_file_get(sf, "ClientAliveCountMax");
    long interval, count;
    int ok_ssh = client_alive_ok(ci, cc, &interval, &count);
    dbg_chk_where(sf, ci, sp, where, sizeof(where));
    dbg_evidence_addf(ev, ok_ssh, where, "ClientAliveInterval x ClientAliveCountMax",
                      "> 0 and <= 1800 s", "%ld s x %ld", interval, count);
    ok_ssh &= client_alive_matches_ok(sf, ci, cc, ev);
    if (ok_shell)
        return DBG_CHECK_PASS;
    /* Without TMOUT the verdict is partial or failed; a start-up file or sshd_config that could
     * not be read may hold what would decide it. */
    if (dbg_chk_unreadable(sf, sp, "ClientAliveInterval", ev) +
        unreadable_matching(s, tmout_source, "TMOUT", ev))
        return DBG_CHECK_ERROR;
    if (ok_ssh)
        return DBG_CHECK_PARTIAL;
    return collected ? DBG_CHECK_FAIL : DBG_CHECK_ERROR;
}

static dbg_check_result root_login_result(const char *v)
{
    if (!strcasecmp(v, "no"))
        return DBG_CHECK_PASS;
    if (!strcasecmp(v, "yes"))
        return DBG_CHECK_FAIL;
    return DBG_CHECK_PARTIAL; /* prohibit-password, forced-commands-only: root by key */
}

dbg_check_result dbg_chk_root_login(const dbg_snapshot *s, const dbg_check_params *p,
                                    dbg_evidence_list *ev)
{
    (void)p;
    const char *sp = "/etc/ssh/sshd_config";
    const dbg_host_file *sf = dbg_snapshot_host_file(s, sp);
    char where[512], val[64];
    if (dbg_chk_unreadable(sf, sp, "PermitRootLogin", ev))
        return DBG_CHECK_ERROR;
    if (!sf || !sf->present) {
        dbg_chk_where(sf, NULL, sp, where, sizeof(where));
        dbg_evidence_add(ev, 1, where, "PermitRootLogin", "no SSH server configured", "no");
        return DBG_CHECK_NA;
    }
    const dbg_setting *st = dbg_host_file_get(sf, "PermitRootLogin");
    dbg_chk_where(sf, st, sp, where, sizeof(where));
    const char *v = st ? dbg_chk_value(st, val, sizeof(val)) : "prohibit-password";
    dbg_check_result r = root_login_result(v);
    dbg_evidence_addf(ev, r == DBG_CHECK_PASS, where, "PermitRootLogin",
                      "no (administrators log in as themselves)", "%s%s", v,
                      st ? "" : " (default)");
    /* The logins a Match block lets in count as much as the global line's. */
    size_t i = 0, cond_len;
    const dbg_setting *m;
    while ((m = sshd_match_next(sf, "PermitRootLogin", &i, &cond_len))) {
        char key[600];
        const char *mv = dbg_chk_value(m, val, sizeof(val));
        dbg_check_result mr = root_login_result(mv ? mv : "");
        dbg_chk_where(sf, m, sp, where, sizeof(where));
        snprintf(key, sizeof(key), "PermitRootLogin (%.*s)", (int)cond_len - 1, m->key);
        dbg_evidence_addf(ev, mr == DBG_CHECK_PASS, where, key,
                          "no (administrators log in as themselves)", "%s", mv ? mv : "");
        if (mr == DBG_CHECK_FAIL || (mr == DBG_CHECK_PARTIAL && r == DBG_CHECK_PASS))
            r = mr;
    }
    return r;
}

dbg_check_result dbg_chk_auditd_running(const dbg_snapshot *s, const dbg_check_params *p,
                                        dbg_evidence_list *ev)
{
    (void)p;
    char where[256];
    int st = dbg_chk_auditd_state(s, where, sizeof(where));
    if (st < 0) {
        dbg_evidence_add(ev, 0, where, "auditd", "cannot be confirmed", "auditd running");
        return DBG_CHECK_ERROR;
    }
    dbg_evidence_add(ev, st, where, "auditd", st ? "running" : "not running", "auditd running");
    const char *cp = "/etc/audit/auditd.conf";
    const dbg_host_file *cf = dbg_snapshot_host_file(s, cp);
    char cw[512];
    dbg_chk_where(cf, NULL, cp, cw, sizeof(cw));
    int conf = cf && cf->present;
    if (st && !conf && dbg_chk_unreadable(cf, cp, "auditd configuration", ev))
        return DBG_CHECK_ERROR; /* present or not is unknown */
    dbg_evidence_add(ev, conf, conf ? cp : cw, "auditd configuration", conf ? "present" : "absent",
                     "present");
    return st && conf ? DBG_CHECK_PASS : DBG_CHECK_FAIL;
}

static int is_rules_file(const char *path)
{
    size_t n = path ? strlen(path) : 0;
    return n &&
           (!strcmp(path, "/etc/audit/audit.rules") || (!strncmp(path, "/etc/audit/rules.d/", 19) &&
                                                        n > 6 && !strcmp(path + n - 6, ".rules")));
}

/* Whether an -a/-A rule line names action never ("-a never,exit ...", "-a task,never"), and
 * *task whether its list is task. auditctl takes the action and list in either order. */
static int never_rule(const char *line, int *task)
{
    const char *p = line + 2;
    while (*p == ' ' || *p == '\t')
        p++;
    size_t n = strcspn(p, " \t");
    int never = 0;
    *task = 0;
    while (n > 0) {
        size_t w = strcspn(p, ",");
        if (w > n)
            w = n;
        never |= w == 5 && !strncasecmp(p, "never", 5);
        *task |= w == 4 && !strncasecmp(p, "task", 4);
        p += w;
        n -= w;
        if (n > 0 && *p == ',') {
            p++;
            n--;
        }
    }
    return never;
}

dbg_check_result dbg_chk_audit_rules(const dbg_snapshot *s, const dbg_check_params *p,
                                     dbg_evidence_list *ev)
{
    (void)p;
    size_t rules = 0, files = 0;
    int accounts = 0, virt = 0;
    char line[1024], acc_where[512] = "", virt_where[512] = "";
    /* what turns every rule off: the last "-e" (0 disables auditing), "-a task,never" */
    char off[1200] = "", off_where[512] = "", task_off[1200] = "", task_where[512] = "";
    int enabled = 1;
    for (size_t i = 0; i < s->n_host_files; i++) {
        const dbg_host_file *f = &s->host_files[i];
        if (!is_rules_file(f->path) || !f->present || f->error)
            continue;
        files++;
        for (size_t j = 0; j < f->n_settings; j++) {
            setting_line(&f->settings[j], line, sizeof(line));
            if (!strncmp(line, "-e", 2) && (line[2] == ' ' || line[2] == '\t')) {
                long e;
                enabled = dbg_chk_long(&f->settings[j], &e) != 0 || e != 0;
                if (!enabled) {
                    snprintf(off, sizeof(off), "%.1000s: auditing disabled", line);
                    dbg_chk_where(f, &f->settings[j], f->path, off_where, sizeof(off_where));
                }
                continue;
            }
            if (strncmp(line, "-w", 2) && strncmp(line, "-a", 2))
                continue; /* -D, -b, -f are control lines, not rules */
            int task = 0;
            if (!strncmp(line, "-a", 2) && never_rule(line, &task)) {
                /* suppresses records: audits nothing; on the task list, nothing at all */
                if (task && !*task_off) {
                    snprintf(task_off, sizeof(task_off),
                             "%.1000s: no task gets an audit context, so no syscall rule or "
                             "watch reports",
                             line);
                    dbg_chk_where(f, &f->settings[j], f->path, task_where, sizeof(task_where));
                }
                continue;
            }
            rules++;
            if (!accounts && (strstr(line, "/etc/passwd") || strstr(line, "/etc/shadow"))) {
                accounts = 1;
                dbg_chk_where(f, &f->settings[j], f->path, acc_where, sizeof(acc_where));
            }
            if (!virt && (strstr(line, "/etc/libvirt") || strstr(line, "/var/lib/libvirt") ||
                          strstr(line, "virsh") || strstr(line, "qemu"))) {
                virt = 1;
                dbg_chk_where(f, &f->settings[j], f->path, virt_where, sizeof(virt_where));
            }
        }
    }
    dbg_evidence_addf(ev, rules > 0, "/etc/audit/rules.d/*.rules", "audit rules", ">= 1 rule",
                      "%zu rule(s) in %zu file(s)", rules, files);
    dbg_evidence_add(ev, accounts, *acc_where ? acc_where : "/etc/audit/rules.d/*.rules",
                     "account changes audited",
                     accounts ? "watched" : "no rule on /etc/passwd or /etc/shadow",
                     "-w /etc/passwd / -w /etc/shadow");
    dbg_evidence_add(ev, virt, *virt_where ? virt_where : "/etc/audit/rules.d/*.rules",
                     "virtualization config audited", virt ? "watched" : "no rule on /etc/libvirt",
                     "-w /etc/libvirt");
    /* Rules in files are only loaded by a running auditd: with auditd known to be stopped,
     * nothing is audited whatever the files say. */
    char pidwhere[512];
    int running = dbg_chk_auditd_state(s, pidwhere, sizeof(pidwhere));
    if (running == 0)
        dbg_evidence_add(ev, 0, pidwhere, "rules in effect",
                         "no: auditd is not running, so no rule is loaded", "auditd running");
    if (running == 0)
        return DBG_CHECK_FAIL;
    if (!enabled || *task_off) {
        dbg_evidence_add(ev, 0, enabled ? task_where : off_where, "rules in effect",
                         enabled ? task_off : off, "auditing enabled (-e 1 or 2)");
        return DBG_CHECK_FAIL;
    }
    /* the rules not found may be in the files that could not be read */
    if (!(accounts && virt) && unreadable_matching(s, is_rules_file, "audit rules", ev))
        return DBG_CHECK_ERROR;
    if (!rules)
        return DBG_CHECK_FAIL;
    return accounts && virt ? DBG_CHECK_PASS : DBG_CHECK_PARTIAL;
}

dbg_check_result dbg_chk_audit_retention(const dbg_snapshot *s, const dbg_check_params *p,
                                         dbg_evidence_list *ev)
{
    (void)p;
    const char *cp = "/etc/audit/auditd.conf";
    const dbg_host_file *cf = dbg_snapshot_host_file(s, cp);
    char where[512], action[64] = "";
    const char *expected =
        "logs kept >= 180 days (max_log_file_action = keep_logs, or rotation proven long enough)";
    if (dbg_chk_unreadable(cf, cp, "max_log_file_action", ev))
        return DBG_CHECK_ERROR;
    if (!cf || !cf->present) {
        dbg_chk_where(cf, NULL, cp, where, sizeof(where));
        dbg_evidence_add(ev, 0, where, "max_log_file_action", "no auditd configuration", expected);
        return DBG_CHECK_FAIL;
    }
    const dbg_setting *st = dbg_host_file_get(cf, "max_log_file_action");
    dbg_chk_where(cf, st, cp, where, sizeof(where));
    const char *a = st ? dbg_chk_value(st, action, sizeof(action)) : "ROTATE";
    if (!strcasecmp(a, "keep_logs") || !strcasecmp(a, "ignore") || !strcasecmp(a, "syslog")) {
        dbg_evidence_addf(ev, 1, where, "max_log_file_action", expected,
                          "%s: auditd never deletes old logs", a);
        return DBG_CHECK_PASS;
    }
    if (!strcasecmp(a, "rotate")) {
        const dbg_setting *nl = dbg_host_file_get(cf, "num_logs");
        const dbg_setting *mx = dbg_host_file_get(cf, "max_log_file");
        long logs = 5, mb = 8;
        if (nl && dbg_chk_long(nl, &logs))
            logs = 5;
        if (mx && dbg_chk_long(mx, &mb))
            mb = 8;
        dbg_evidence_addf(ev, 0, where, "max_log_file_action", expected,
                          "%s%s: only %ld file(s) x %ld MB kept, the oldest deleted by size; "
                          "180 days not shown",
                          a, st ? "" : " (default)", logs, mb);
        return DBG_CHECK_PARTIAL;
    }
    dbg_evidence_addf(ev, 0, where, "max_log_file_action", expected,
                      "%s: auditing stops or the host halts when the log is full", a);
    return DBG_CHECK_FAIL;
}

/* systemd-networkd's per-link state files (collected under /run/systemd/netif/links). */
static int is_networkd_link(const char *path)
{
    return path && !strncmp(path, "/run/systemd/netif/links/", 25);
}

/* A link whose networkd state names NTP servers: evidence and 1. */
static int timesyncd_link_servers(const dbg_snapshot *s, const char *expected,
                                  dbg_evidence_list *ev)
{
    for (size_t i = 0; i < s->n_host_files; i++) {
        const dbg_host_file *f = &s->host_files[i];
        const dbg_setting *st = is_networkd_link(f->path) ? dbg_host_file_get(f, "NTP") : NULL;
        char val[256], where[512];
        if (!st || !dbg_chk_value(st, val, sizeof(val)) || !*val)
            continue;
        dbg_chk_where(f, st, f->path, where, sizeof(where));
        dbg_evidence_addf(ev, 1, where, "time source", expected,
                          "%s (systemd-networkd's servers for this link, used by the enabled "
                          "systemd-timesyncd)",
                          val);
        return 1;
    }
    return 0;
}

/* Whether an NTP server names this host: a loopback address (ntpd's LOCAL clock driver is
 * 127.127.1.0) is its own clock, not a time source. */
static int ntp_loopback(const char *h, size_t n)
{
    return (n >= 9 && !strncasecmp(h, "localhost", 9)) || (n >= 4 && !strncmp(h, "127.", 4)) ||
           (n == 3 && !strncmp(h, "::1", 3)) || (n == 15 && !strncmp(h, "0:0:0:0:0:0:0:1", 15));
}

/* Whether a server setting names a source other than this host: the line's first word (chrony,
 * ntpd: "HOST options"), or any word of timesyncd's NTP= list. */
static int ntp_names_source(const char *val, int list)
{
    for (const char *p = val; *p;) {
        p += strspn(p, " \t");
        size_t n = strcspn(p, " \t");
        if (n && !ntp_loopback(p, n))
            return 1;
        if (!list)
            return 0;
        p += n;
    }
    return 0;
}

dbg_check_result dbg_chk_time_sync(const dbg_snapshot *s, const dbg_check_params *p,
                                   dbg_evidence_list *ev)
{
    (void)p;
    static const struct {
        const char *path;
        const char *keys[2];
        int dropins; /* read with the files of its .d directories */
    } sources[] = {
        {"/etc/chrony/chrony.conf", {"server", "pool"}, 0},
        {"/etc/chrony.conf", {"server", "pool"}, 0},
        {"/etc/systemd/timesyncd.conf", {"NTP", "FallbackNTP"}, 1},
        {"/etc/ntpsec/ntp.conf", {"server", "pool"}, 0},
        {"/etc/ntp.conf", {"server", "pool"}, 0},
        /* what Debian's ntpd wrapper starts ntpd with when DHCP gave servers */
        {"/run/ntpsec/ntp.conf.dhcp", {"server", "pool"}, 0},
        {"/run/ntp.conf.dhcp", {"server", "pool"}, 0},
        {"/var/lib/ntp/ntp.conf.dhcp", {"server", "pool"}, 0},
    };
    const char *expected = "an NTP time source configured (chrony, systemd-timesyncd or ntpd)";
    size_t n_sources = sizeof(sources) / sizeof(sources[0]);
    int own_clock = 0;
    for (size_t i = 0; i < n_sources; i++) {
        const dbg_host_file *f = dbg_snapshot_host_file(s, sources[i].path);
        for (size_t k = 0; k < 2; k++) {
            /* timesyncd's NTP= adds to the list and an empty one empties it, in the drop-ins
             * too: the last assignment read says whether a server is left (not when a file read
             * after it could not be read: u); chrony and ntpd use every server line */
            int u = 0;
            const dbg_setting *only =
                sources[i].dropins
                    ? dbg_chk_dropin_get(s, sources[i].path, 0, sources[i].keys[k], &u)
                    : NULL;
            size_t n = sources[i].dropins ? (only != NULL) : f ? f->n_settings : 0;
            for (size_t j = 0; j < n && !u; j++) {
                const dbg_setting *st = only ? only : &f->settings[j];
                char val[256], where[512];
                if (!only && (!st->key || strcasecmp(st->key, sources[i].keys[k])))
                    continue;
                if (!dbg_chk_value(st, val, sizeof(val)) || !*val)
                    continue;
                dbg_chk_where(f, st, sources[i].path, where, sizeof(where));
                if (!ntp_names_source(val, sources[i].dropins)) {
                    if (own_clock++ < DBG_CHK_MAX_LISTED)
                        dbg_evidence_addf(ev, 0, where, sources[i].keys[k], expected,
                                          "%s: this host's own clock (a loopback address), not "
                                          "a time source",
                                          val);
                    continue;
                }
                dbg_evidence_addf(ev, 1, where, sources[i].keys[k], expected, "%s", val);
                return DBG_CHECK_PASS;
            }
        }
    }
    size_t unread = 0;
    for (size_t i = 0; i < n_sources; i++)
        unread += sources[i].dropins
                      ? dbg_chk_dropin_unreadable(s, sources[i].path, "time source", ev)
                      : (size_t)dbg_chk_unreadable(dbg_snapshot_host_file(s, sources[i].path),
                                                   sources[i].path, "time source", ev);
    if (unread)
        return DBG_CHECK_ERROR;
    /* systemd-timesyncd enabled without NTP= still synchronises, from its built-in FallbackNTP
     * (on Debian the public debian pool): a source, but none the operator chose, and one a
     * cloud's management network may not reach. */
    const char *ts = "/etc/systemd/system/sysinit.target.wants/systemd-timesyncd.service";
    const dbg_host_file *tsu = dbg_snapshot_host_file(s, ts);
    if (tsu && tsu->present) {
        /* it takes a link's servers from systemd-networkd first (the link's .network file or
         * its DHCP lease) */
        if (timesyncd_link_servers(s, expected, ev))
            return DBG_CHECK_PASS;
        if (unreadable_matching(s, is_networkd_link, "time source", ev))
            return DBG_CHECK_ERROR;
        dbg_evidence_add(ev, 0, ts, "time source",
                         "systemd-timesyncd enabled without NTP=: only its built-in fallback "
                         "servers (a public pool), none chosen for this platform",
                         expected);
        return DBG_CHECK_PARTIAL;
    }
    dbg_evidence_add(ev, 0, "/etc/chrony/chrony.conf, /etc/systemd/timesyncd.conf, /etc/ntp.conf",
                     "time source", "none configured", expected);
    return DBG_CHECK_FAIL;
}
