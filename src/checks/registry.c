/* The one registration table of checks (Suricata's detect table idea): id, layer, titles,
 * the level-3 clauses served, function. Adding a check = one function + one line here +
 * its id in the catalog item's `checks:` list. */
#include <string.h>

#include "checks/check_fns.h"
#include "dengbao/util.h"

static const dbg_check checks[] = {
    /* 安全通信网络 */
    {"net.platform_level", "network", "云平台等级不低于所承载业务系统等级",
     "platform level >= hosted systems' level", "8.2.2.1a", dbg_chk_platform_level},
    {"net.tenant_isolation", "network", "不同租户虚拟网络之间隔离",
     "tenant virtual networks isolated from each other", "8.2.2.1b", dbg_chk_tenant_isolation},
    {"net.security_mechanisms", "network", "可向租户提供边界防护与入侵防范机制",
     "boundary protection and intrusion detection offered to tenants", "8.2.2.1c",
     dbg_chk_security_mechanisms},
    /* 安全区域边界 */
    {"bnd.vnet_boundary_acl", "boundary", "虚拟化网络边界部署访问控制",
     "access control at virtual network boundaries", "8.2.3.1a", dbg_chk_vnet_boundary_acl},
    {"ctl.sensor", "boundary", "网络入侵检测与异常流量告警 (dengbao sensor)",
     "network intrusion and anomalous traffic detection (dengbao sensor)",
     "8.2.3.2a 8.2.3.2b 8.2.3.2c 8.2.3.2d 8.2.4.3a", dbg_chk_ctl_sensor},
    {"ctl.gateway_audit", "boundary", "远程管理特权命令经审计 (dengbao gateway + 审计日志)",
     "privileged remote commands audited (dengbao gateway + audit log)", "8.2.3.3a",
     dbg_chk_ctl_gateway_audit},
    {"bnd.libvirt_audit", "boundary", "libvirt 审计虚拟机操作 (audit_level + auditd)",
     "libvirt audits VM operations (audit_level + auditd)", "8.2.3.3a", dbg_chk_libvirt_audit},
    {"ctl.audit_log", "boundary", "租户可审计云服务商的操作 (防篡改审计日志)",
     "tenants can audit provider operations (tamper-evident audit log)", "8.2.3.3b",
     dbg_chk_ctl_audit_log},
    /* 安全计算环境 */
    {"cmp.remote_tls", "compute", "libvirt 远程管理仅经 TLS 并校验客户端证书",
     "libvirt remote management only over TLS with client certificates", "8.2.4.1 8.1.4.1c",
     dbg_chk_remote_tls},
    {"cmp.console_exposure", "compute", "虚拟机控制台 (VNC/SPICE) 不以明文暴露",
     "VM consoles (VNC/SPICE) not exposed in clear", "8.1.4.1c", dbg_chk_console_exposure},
    {"cmp.nwfilter_antispoof", "compute", "租户虚拟机网卡绑定防 MAC/IP/ARP 欺骗过滤器",
     "tenant VM interfaces bound to a MAC/IP/ARP anti-spoofing nwfilter", "8.2.4.2b 8.2.2.1b",
     dbg_chk_nwfilter_antispoof},
    {"cmp.filter_follows_vm", "compute", "访问控制策略写在虚拟机定义中随迁移",
     "access policy is part of the VM definition and migrates with it", "8.2.4.2a",
     dbg_chk_filter_follows_vm},
    {"ctl.guard", "compute", "检测非授权新建或重新启用虚拟机 (dengbao guard)",
     "unauthorized VM creation/restart detected (dengbao guard)", "8.2.4.3b", dbg_chk_ctl_guard},
    {"ctl.malware", "compute", "检测恶意代码感染及在虚拟机间蔓延",
     "malware infection and spread between VMs detected", "8.2.4.3c", dbg_chk_ctl_malware},
    /* 镜像和快照保护 */
    {"ctl.image_seals", "image", "镜像和快照完整性校验 (dengbao image seals)",
     "image and snapshot integrity verification (dengbao image seals)", "8.2.4.4b",
     dbg_chk_ctl_image_seals},
    {"img.sensitive_encrypted", "image", "含敏感数据的虚拟机磁盘加密",
     "disks of VMs holding sensitive data encrypted", "8.2.4.4c", dbg_chk_sensitive_encrypted},
    /* 数据 */
    {"data.migration_tls", "data", "虚拟机迁移经 TLS (完整性与保密性)",
     "VM migration over TLS (integrity and confidentiality)", "8.2.4.5c", dbg_chk_migration_tls},
    {"data.replicas", "data", "租户数据存在多个副本", "tenant data kept in more than one replica",
     "8.2.4.6c", dbg_chk_replicas},
    {"data.residual_wipe", "data", "存储回收时完全清除 (无残留卷)",
     "storage wiped when released (no leftover volumes)", "8.2.4.7a", dbg_chk_residual_wipe},
    /* 集中管控 */
    {"mgmt.traffic_separation", "mgmt", "管理流量与租户业务流量分离",
     "management traffic separated from tenant traffic", "8.2.5.1b", dbg_chk_traffic_separation},
    {"ctl.centralized_audit", "mgmt", "集中审计 (dengbao centralized audit)",
     "centralized audit (dengbao centralized audit)", "8.2.5.1c", dbg_chk_ctl_centralized_audit},
    {"mgmt.central_monitor", "mgmt", "虚拟网络与虚拟机运行状况集中监测",
     "central monitoring of virtual networks and VMs", "8.2.5.1d", dbg_chk_central_monitor},
    /* 宿主机 安全通用要求 */
    {"host.password_policy", "host", "口令复杂度与定期更换", "password complexity and rotation",
     "8.1.4.1a", dbg_chk_password_policy},
    {"host.login_lockout", "host", "登录失败锁定", "lockout after failed logins", "8.1.4.1b",
     dbg_chk_login_lockout},
    {"host.idle_timeout", "host", "登录连接超时自动退出", "idle sessions logged out", "8.1.4.1b",
     dbg_chk_idle_timeout},
    {"host.root_login", "host", "禁止 root 远程登录", "no remote root login", "8.1.4.2b",
     dbg_chk_root_login},
    {"host.auditd_running", "host", "审计服务 auditd 运行", "auditd running", "8.1.4.3a 8.1.4.3d",
     dbg_chk_auditd_running},
    {"host.audit_rules", "host", "审计规则覆盖账户与虚拟化配置",
     "audit rules cover accounts and virtualization config", "8.1.4.3a 8.1.4.3b",
     dbg_chk_audit_rules},
    {"host.audit_retention", "host", "审计日志留存不少于 180 天",
     "audit logs kept at least 180 days", "8.1.4.3c 8.1.5.4d", dbg_chk_audit_retention},
    {"host.time_sync", "host", "时间同步 (审计记录时间准确)",
     "time synchronised (accurate audit timestamps)", "8.1.4.3b", dbg_chk_time_sync},
};

size_t dbg_check_count(void)
{
    return sizeof(checks) / sizeof(checks[0]);
}

const dbg_check *dbg_check_at(size_t i)
{
    return i < dbg_check_count() ? &checks[i] : NULL;
}

const dbg_check *dbg_check_find(const char *id)
{
    for (size_t i = 0; i < dbg_check_count(); i++)
        if (dbg_streq(checks[i].id, id))
            return &checks[i];
    return NULL;
}

int dbg_check_exists(const char *check_id, void *opaque)
{
    (void)opaque;
    return dbg_check_find(check_id) != NULL;
}

dbg_check_result dbg_check_run(const dbg_check *c, const dbg_snapshot *s, const dbg_check_params *p,
                               dbg_evidence_list *ev)
{
    dbg_check_result r = c->fn(s, p, ev);
    if (ev->failed) {
        dbg_evidence_list_free(ev);
        dbg_evidence_add(ev, 0, "dengbao", c->id, "out of memory while recording evidence",
                         "evidence recorded");
        return DBG_CHECK_ERROR;
    }
    return r;
}

static const char *const result_names[] = {"pass", "fail", "partial", "not-applicable", "error"};

const char *dbg_check_result_name(dbg_check_result r)
{
    return (unsigned)r < 5 ? result_names[r] : "error";
}

int dbg_check_result_parse(const char *name, dbg_check_result *out)
{
    for (int i = 0; i < 5; i++)
        if (dbg_streq(name, result_names[i])) {
            *out = (dbg_check_result)i;
            return 0;
        }
    return -1;
}
