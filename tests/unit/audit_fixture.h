/* cmocka fixture shared by the audit log's unit tests: a scratch directory with a log path in it
 * and a fresh Ed25519 key pair. */
#ifndef DBG_TEST_AUDIT_FIXTURE_H
#define DBG_TEST_AUDIT_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>

#include "dengbao/audit.h"

typedef struct {
    char dir[64];
    char log[96];
    char key[96];
    char pub[96];
} env;

static int setup(void **state)
{
    env *e = calloc(1, sizeof(*e));
    snprintf(e->dir, sizeof(e->dir), "/tmp/dbg-audit-unit-XXXXXX");
    assert_non_null(mkdtemp(e->dir));
    snprintf(e->log, sizeof(e->log), "%s/log", e->dir);
    char prefix[80];
    snprintf(prefix, sizeof(prefix), "%s/k", e->dir);
    assert_int_equal(dbg_audit_keygen(prefix), 0);
    snprintf(e->key, sizeof(e->key), "%s.key", prefix);
    snprintf(e->pub, sizeof(e->pub), "%s.pub", prefix);
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    env *e = *state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", e->dir);
    assert_int_equal(system(cmd), 0);
    free(e);
    return 0;
}

#endif
