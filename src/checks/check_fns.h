/* Prototypes of every check function, one block per layer file; registry.c puts them in
 * the registration table. Not part of the public API. */
#ifndef DENGBAO_CHECK_FNS_H
#define DENGBAO_CHECK_FNS_H

#include "dengbao/checks.h"

#define DBG_CHECK_FN(name)                                                                         \
    dbg_check_result name(const dbg_snapshot *s, const dbg_check_params *p, dbg_evidence_list *ev)

/* network.c: 安全通信网络 (8.2.2) */
DBG_CHECK_FN(dbg_chk_platform_level);
DBG_CHECK_FN(dbg_chk_tenant_isolation);
DBG_CHECK_FN(dbg_chk_security_mechanisms);
/* boundary.c: 安全区域边界 (8.2.3) */
DBG_CHECK_FN(dbg_chk_vnet_boundary_acl);
DBG_CHECK_FN(dbg_chk_ctl_sensor);
DBG_CHECK_FN(dbg_chk_ctl_gateway_audit);
DBG_CHECK_FN(dbg_chk_libvirt_audit);
DBG_CHECK_FN(dbg_chk_ctl_audit_log);
/* compute.c: 安全计算环境 (8.2.4.1-8.2.4.3) */
DBG_CHECK_FN(dbg_chk_remote_tls);
DBG_CHECK_FN(dbg_chk_console_exposure);
DBG_CHECK_FN(dbg_chk_nwfilter_antispoof);
DBG_CHECK_FN(dbg_chk_filter_follows_vm);
DBG_CHECK_FN(dbg_chk_ctl_guard);
DBG_CHECK_FN(dbg_chk_ctl_malware);
/* image.c: 镜像和快照保护 (8.2.4.4) */
DBG_CHECK_FN(dbg_chk_ctl_image_seals);
DBG_CHECK_FN(dbg_chk_sensitive_encrypted);
/* data.c: 数据完整性和保密性, 备份恢复, 剩余信息保护 (8.2.4.5-8.2.4.7) */
DBG_CHECK_FN(dbg_chk_migration_tls);
DBG_CHECK_FN(dbg_chk_replicas);
DBG_CHECK_FN(dbg_chk_residual_wipe);
/* mgmt.c: 集中管控 (8.2.5) */
DBG_CHECK_FN(dbg_chk_traffic_separation);
DBG_CHECK_FN(dbg_chk_ctl_centralized_audit);
DBG_CHECK_FN(dbg_chk_central_monitor);
/* host.c: 安全通用要求 of the hypervisor hosts (8.1.4, 8.1.5.4) */
DBG_CHECK_FN(dbg_chk_password_policy);
DBG_CHECK_FN(dbg_chk_login_lockout);
DBG_CHECK_FN(dbg_chk_idle_timeout);
DBG_CHECK_FN(dbg_chk_root_login);
DBG_CHECK_FN(dbg_chk_auditd_running);
DBG_CHECK_FN(dbg_chk_audit_rules);
DBG_CHECK_FN(dbg_chk_audit_retention);
DBG_CHECK_FN(dbg_chk_time_sync);

#endif
