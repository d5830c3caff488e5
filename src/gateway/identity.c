/* Caller identities: a Unix peer (SO_PEERCRED uid -> user name) or a TLS client certificate
 * subject (CN, O). The actor string is what audit records name. */
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "dengbao/gateway.h"
#include "dengbao/util.h"

void dbg_gw_identity_unix(dbg_gw_identity *id, uid_t uid, pid_t pid)
{
    memset(id, 0, sizeof(*id));
    id->kind = DBG_GW_ID_UNIX;
    id->uid = uid;
    struct passwd pw, *res = NULL;
    char buf[4096];
    if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res && res->pw_name &&
        strlen(res->pw_name) < sizeof(id->user))
        snprintf(id->user, sizeof(id->user), "%s", res->pw_name);
    snprintf(id->actor, sizeof(id->actor), "uid:%u(%s)", (unsigned)uid,
             id->user[0] ? id->user : "?");
    snprintf(id->source, sizeof(id->source), "unix:uid=%u,pid=%ld", (unsigned)uid, (long)pid);
}

/* An attribute value as RFC 4514 writes it in a DN: a CN holding ",O=provider" must not read
 * as a second O in the actor string audit records and logs carry. */
static void dn_value(char *out, size_t size, const char *v)
{
    size_t o = 0;
    for (size_t i = 0; v[i] && o + 3 < size; i++) {
        char c = v[i];
        int special = strchr(",+\"\\<>;=", c) != NULL || (i == 0 && (c == '#' || c == ' ')) ||
                      (c == ' ' && !v[i + 1]);
        if (special)
            out[o++] = '\\';
        out[o++] = c;
    }
    out[o] = '\0';
}

void dbg_gw_identity_tls(dbg_gw_identity *id, const char *cn, const char *org, const char *peer)
{
    memset(id, 0, sizeof(*id));
    id->kind = DBG_GW_ID_TLS;
    id->uid = (uid_t)-1;
    snprintf(id->cn, sizeof(id->cn), "%s", cn ? cn : "");
    snprintf(id->org, sizeof(id->org), "%s", org ? org : "");
    char ecn[2 * sizeof(id->cn)], eorg[2 * sizeof(id->org)];
    dn_value(ecn, sizeof(ecn), id->cn);
    dn_value(eorg, sizeof(eorg), id->org);
    char whole[sizeof(ecn) + sizeof(eorg) + 8];
    snprintf(whole, sizeof(whole), "CN=%s,O=%s", ecn, eorg);
    dbg_utf8_copy(id->actor, sizeof(id->actor), whole); /* a long one cut between characters */
    snprintf(id->source, sizeof(id->source), "tls:%s", peer ? peer : "?");
}
