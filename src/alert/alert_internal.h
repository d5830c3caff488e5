/* Internals shared by the alert sinks and the alerter. */
#ifndef DENGBAO_ALERT_INTERNAL_H
#define DENGBAO_ALERT_INTERNAL_H

#include "dengbao/alert.h"

typedef enum { DBG_SINK_EVE, DBG_SINK_SYSLOG, DBG_SINK_TEXT } dbg_sink_kind;

int dbg_alert_sink_write(dbg_alert_sink *s, const dbg_alert *a);
void dbg_alert_sink_free(dbg_alert_sink *s);

#endif
