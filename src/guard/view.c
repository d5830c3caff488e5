/* The guard's durable view of the domains (uuid, name, tenant, state, persistence) and the
 * diff between that view and what libvirt reports now: what reconciliation must explain after
 * the agent was down or disconnected, since libvirt does not replay missed events. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dengbao/guard.h"
#include "dengbao/util.h"

void dbg_guard_view_clear(dbg_guard_view *v)
{
    free(v->vms);
    memset(v, 0, sizeof(*v));
}

dbg_guard_vm *dbg_guard_view_find(dbg_guard_view *v, const char *uuid)
{
    for (size_t i = 0; i < v->n; i++)
        if (strcmp(v->vms[i].uuid, uuid) == 0)
            return &v->vms[i];
    return NULL;
}

int dbg_guard_view_put(dbg_guard_view *v, const dbg_guard_vm *vm)
{
    dbg_guard_vm *e = dbg_guard_view_find(v, vm->uuid);
    if (e) {
        *e = *vm;
        return 0;
    }
    if (dbg_grow_array((void **)&v->vms, &v->cap, v->n + 1, sizeof(*v->vms), 32) < 0)
        return -1;
    v->vms[v->n++] = *vm;
    return 0;
}

void dbg_guard_view_remove(dbg_guard_view *v, const char *uuid)
{
    dbg_guard_vm *e = dbg_guard_view_find(v, uuid);
    if (e) {
        *e = v->vms[v->n - 1];
        v->n--;
    }
}

static const char *state_str(dbg_vm_state s)
{
    return s == DBG_VM_RUNNING ? "running" : s == DBG_VM_PAUSED ? "paused" : "off";
}

int dbg_guard_view_save(const dbg_guard_view *v, const char *path)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < v->n; i++) {
        const dbg_guard_vm *m = &v->vms[i];
        json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s,s:b}", "uuid", m->uuid, "name",
                                             m->name, "tenant", m->tenant, "state",
                                             state_str(m->state), "persistent", m->persistent));
    }
    char when[40];
    dbg_time_rfc3339(dbg_now_us(), when, sizeof(when));
    json_t *root = json_pack("{s:i,s:s,s:o}", "version", 1, "saved", when, "domains", arr);
    char *s = root ? json_dumps(root, JSON_INDENT(1)) : NULL;
    json_decref(root);
    if (!s) {
        dbg_err_set(DBG_ERR_NOMEM, "serializing the guard view");
        return -1;
    }
    int r = dbg_write_file_atomic(path, s, strlen(s));
    free(s);
    return r;
}

int dbg_guard_view_load(dbg_guard_view *v, const char *path)
{
    memset(v, 0, sizeof(*v));
    DBG_AUTOFREE char *text = NULL;
    size_t len = 0;
    if (access(path, F_OK) != 0 && errno == ENOENT)
        return 0;
    if (dbg_read_file(path, 64 << 20, &text, &len) != 0)
        return -1;
    json_error_t je;
    json_t *root = json_loadb(text, len, 0, &je);
    json_t *arr = root ? json_object_get(root, "domains") : NULL;
    if (!root || !json_is_array(arr) || json_integer_value(json_object_get(root, "version")) != 1) {
        dbg_err_set(DBG_ERR_PARSE, "%s: not a guard state file (version 1 with domains)%s%s",
                    path, root ? "" : ": ", root ? "" : je.text);
        json_decref(root);
        return -1;
    }
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e) {
        dbg_guard_vm m;
        memset(&m, 0, sizeof(m));
        const char *uuid = json_string_value(json_object_get(e, "uuid"));
        const char *name = json_string_value(json_object_get(e, "name"));
        const char *tenant = json_string_value(json_object_get(e, "tenant"));
        const char *st = json_string_value(json_object_get(e, "state"));
        if (!uuid || strlen(uuid) != 36 || !name || !st) {
            dbg_err_set(DBG_ERR_PARSE, "%s: domain %zu lacks uuid, name or state", path, i);
            json_decref(root);
            dbg_guard_view_clear(v);
            return -1;
        }
        snprintf(m.uuid, sizeof(m.uuid), "%s", uuid);
        snprintf(m.name, sizeof(m.name), "%s", name);
        snprintf(m.tenant, sizeof(m.tenant), "%s", tenant ? tenant : "");
        m.state = strcmp(st, "running") == 0 ? DBG_VM_RUNNING
                  : strcmp(st, "paused") == 0 ? DBG_VM_PAUSED
                                              : DBG_VM_OFF;
        m.persistent = json_is_true(json_object_get(e, "persistent"));
        m.paused = m.state == DBG_VM_PAUSED; /* by whom is not known after a restart */
        if (dbg_guard_view_put(v, &m) != 0) {
            json_decref(root);
            dbg_guard_view_clear(v);
            return -1;
        }
    }
    json_decref(root);
    return 1;
}

static int add_change(dbg_guard_change **out, size_t *n, dbg_guard_kind k, const dbg_guard_vm *vm,
                      int64_t now_us, const char *what)
{
    dbg_guard_change *nc = dbg_reallocarray(*out, *n + 1, sizeof(**out));
    if (!nc)
        return -1;
    *out = nc;
    dbg_guard_change *c = &nc[(*n)++];
    memset(c, 0, sizeof(*c));
    c->kind = k;
    c->vm = *vm;
    c->time_us = now_us;
    c->from_reconcile = 1;
    snprintf(c->event, sizeof(c->event), "reconcile: %s", what);
    return 0;
}

int dbg_guard_view_diff(const dbg_guard_view *old_view, const dbg_guard_view *now_view,
                        int64_t now_us, dbg_guard_change **out, size_t *n_out)
{
    dbg_guard_view *ov = (dbg_guard_view *)old_view, *nv = (dbg_guard_view *)now_view;
    for (size_t i = 0; i < nv->n; i++) {
        const dbg_guard_vm *m = &nv->vms[i];
        const dbg_guard_vm *was = dbg_guard_view_find(ov, m->uuid);
        if (!was) {
            if (add_change(out, n_out, DBG_GEV_CREATE, m, now_us, "new domain") != 0)
                return -1;
            /* A domain that appeared and runs was also started behind the gateway's back. */
            if (m->state == DBG_VM_RUNNING &&
                add_change(out, n_out, DBG_GEV_START, m, now_us, "new domain running") != 0)
                return -1;
        } else if (m->state == DBG_VM_RUNNING && was->state != DBG_VM_RUNNING) {
            char what[64];
            snprintf(what, sizeof(what), "%s -> running", state_str(was->state));
            if (add_change(out, n_out, was->state == DBG_VM_PAUSED ? DBG_GEV_RESUME : DBG_GEV_START,
                           m, now_us, what) != 0)
                return -1;
            /* the resume ends the pause the view had, whoever made it */
            (*out)[*n_out - 1].vm.paused = was->state == DBG_VM_PAUSED;
            (*out)[*n_out - 1].vm.paused_by = was->paused_by;
        }
    }
    for (size_t i = 0; i < ov->n; i++) {
        const dbg_guard_vm *m = &ov->vms[i];
        /* A transient domain vanishes when it stops: that is a destroy, not an undefine. */
        if (!dbg_guard_view_find(nv, m->uuid) &&
            add_change(out, n_out, m->persistent ? DBG_GEV_DELETE : DBG_GEV_DESTROY, m, now_us,
                       "domain gone") != 0)
            return -1;
    }
    return 0;
}
