/* Who is calling `dengbao serve` and what they may see. One PKI serves the gateway and the
 * server: with --policy, the gateway's policy file maps a certificate subject (CN, O) or a Unix
 * user to a role and tenant exactly as the gateway does; without it, the subject's O decides
 * (O=provider -> provider, any other O -> that tenant), which is the naming the gateway's example
 * policy uses. Over the Unix socket only root and the server's own uid are the provider. */
#include <stdio.h>
#include <string.h>

#include "server/server_int.h"

static void from_role(srv_identity *id, const char *role, const char *tenant)
{
    snprintf(id->role, sizeof(id->role), "%s", role);
    int tenant_role = (!strcmp(role, "tenant-admin") || !strcmp(role, "tenant-user") ||
                       !strcmp(role, "tenant")) &&
                      tenant && tenant[0];
    if (!strcmp(role, "provider-admin") || !strcmp(role, "provider-operator") ||
        !strcmp(role, "provider")) {
        id->view = SRV_VIEW_PROVIDER;
        id->may_post = 1;
    } else if (!strcmp(role, "auditor")) {
        id->view = SRV_VIEW_PROVIDER; /* reads everything, submits nothing */
    } else if (tenant_role && strlen(tenant) >= sizeof(id->tenant)) {
        /* a cut id could be another tenant's whole one */
        snprintf(id->why, sizeof(id->why), "the tenant id is longer than %zu bytes",
                 sizeof(id->tenant) - 1);
    } else if (tenant_role) {
        id->view = SRV_VIEW_TENANT;
        snprintf(id->tenant, sizeof(id->tenant), "%s", tenant);
    } else {
        snprintf(id->why, sizeof(id->why), "role '%s' has no view on this server", role);
    }
}

void srv_identity_tls(const dbg_server *s, const char *cn, const char *org, int cut,
                      srv_identity *id)
{
    memset(id, 0, sizeof(*id));
    dbg_gw_identity gid; /* the actor string as the gateway writes it (DN-escaped) */
    dbg_gw_identity_tls(&gid, cn, org, "");
    gid.cut = cut;
    snprintf(id->actor, sizeof(id->actor), "%s", gid.actor);
    snprintf(id->host, sizeof(id->host), "%s", cn);
    if (s->policy && cut) {
        /* the policy matches whole names: a CN of 43 characters cut to 42 was the identity
         * whose CN is those 42, another tenant's admin */
        snprintf(id->why, sizeof(id->why),
                 "the certificate's CN or O is longer than %zu bytes, so it is not matched "
                 "against the policy's identities under a cut name",
                 sizeof(gid.cn) - 1);
        return;
    }
    if (s->policy) {
        char role[32], tenant[64];
        if (dbg_gw_policy_identify(s->policy, &gid, role, tenant) == 0)
            from_role(id, role, tenant);
        else
            snprintf(id->why, sizeof(id->why), "the subject is not in the policy's identities");
        return;
    }
    if (!strcmp(org, SRV_PROVIDER_ORG))
        from_role(id, "provider", NULL);
    else if (org[0])
        from_role(id, "tenant", org);
    else
        snprintf(id->why, sizeof(id->why),
                 "the certificate has no O (O=provider or O=<tenant id> is needed)");
}

void srv_identity_unix(const dbg_server *s, uid_t uid, srv_identity *id)
{
    memset(id, 0, sizeof(*id));
    dbg_gw_identity gid;
    dbg_gw_identity_unix(&gid, uid, 0);
    snprintf(id->actor, sizeof(id->actor), "%s", gid.actor);
    snprintf(id->host, sizeof(id->host), "unix:%s", gid.user[0] ? gid.user : "?");
    if (uid == 0 || uid == s->own_uid) {
        from_role(id, "provider", NULL);
        return;
    }
    char role[32], tenant[64];
    if (s->policy && dbg_gw_policy_identify(s->policy, &gid, role, tenant) == 0) {
        /* The provider view over the socket is for root and the server's own account only. */
        /* The policy does give this user a role: say which and why it does not count here
         * ("only root and uid 0 have the provider view" read as if the policy said nothing,
         * and named root twice when serve runs as root), and what to use instead. */
        if (strncmp(role, "tenant-", 7) == 0)
            from_role(id, role, tenant);
        else if (s->own_uid == 0)
            snprintf(id->why, sizeof(id->why),
                     "the policy's role %s is not given over the Unix socket, where only root "
                     "has the provider view; use a TLS client certificate", role);
        else
            snprintf(id->why, sizeof(id->why),
                     "the policy's role %s is not given over the Unix socket, where only root "
                     "and the server's uid %u have the provider view; use a TLS client "
                     "certificate", role, (unsigned)s->own_uid);
        return;
    }
    snprintf(id->why, sizeof(id->why),
             "uid %u is neither root, the server's uid %u, nor a tenant "
             "user in --policy",
             (unsigned)uid, (unsigned)s->own_uid);
}
