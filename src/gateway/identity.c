/* Caller identities: a Unix peer (SO_PEERCRED uid -> user name) or a TLS client certificate
 * subject (CN, O). The actor string is what audit records name. */
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "dengbao/gateway.h"

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

void dbg_gw_identity_tls(dbg_gw_identity *id, const char *cn, const char *org, const char *peer)
{
    memset(id, 0, sizeof(*id));
    id->kind = DBG_GW_ID_TLS;
    id->uid = (uid_t)-1;
    snprintf(id->cn, sizeof(id->cn), "%s", cn ? cn : "");
    snprintf(id->org, sizeof(id->org), "%s", org ? org : "");
    snprintf(id->actor, sizeof(id->actor), "CN=%s,O=%s", id->cn, id->org);
    snprintf(id->source, sizeof(id->source), "tls:%s", peer ? peer : "?");
}
