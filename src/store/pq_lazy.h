/* libpq through util/lazy_lib.h: loaded when a PostgreSQL store is opened. */
#ifndef DBG_STORE_PQ_LAZY_H
#define DBG_STORE_PQ_LAZY_H

#include <libpq-fe.h>

#include "util/lazy_lib.h"

#ifndef DBG_LINKED_LIBS /* sanitizer builds link the library (meson.build) */
#define PQclear (*DBG_LAZY(DBG_LAZY_PQ, PQclear))
#define PQcmdStatus (*DBG_LAZY(DBG_LAZY_PQ, PQcmdStatus))
#define PQconnectdb (*DBG_LAZY(DBG_LAZY_PQ, PQconnectdb))
#define PQdb (*DBG_LAZY(DBG_LAZY_PQ, PQdb))
#define PQerrorMessage (*DBG_LAZY(DBG_LAZY_PQ, PQerrorMessage))
#define PQexec (*DBG_LAZY(DBG_LAZY_PQ, PQexec))
#define PQexecParams (*DBG_LAZY(DBG_LAZY_PQ, PQexecParams))
#define PQfinish (*DBG_LAZY(DBG_LAZY_PQ, PQfinish))
#define PQgetResult (*DBG_LAZY(DBG_LAZY_PQ, PQgetResult))
#define PQgetvalue (*DBG_LAZY(DBG_LAZY_PQ, PQgetvalue))
#define PQntuples (*DBG_LAZY(DBG_LAZY_PQ, PQntuples))
#define PQreset (*DBG_LAZY(DBG_LAZY_PQ, PQreset))
#define PQresultErrorMessage (*DBG_LAZY(DBG_LAZY_PQ, PQresultErrorMessage))
#define PQresultStatus (*DBG_LAZY(DBG_LAZY_PQ, PQresultStatus))
#define PQsendQueryParams (*DBG_LAZY(DBG_LAZY_PQ, PQsendQueryParams))
#define PQsetSingleRowMode (*DBG_LAZY(DBG_LAZY_PQ, PQsetSingleRowMode))
#define PQstatus (*DBG_LAZY(DBG_LAZY_PQ, PQstatus))
#define PQtransactionStatus (*DBG_LAZY(DBG_LAZY_PQ, PQtransactionStatus))
#endif

#endif
