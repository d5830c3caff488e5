#!/bin/bash
# `dengbao serve` under load: events/s stored with 1, 4 and 16 agents posting batches at once, and
# the latency of event listings (GET /api/v1/events?limit=100&tenant=..) asked meanwhile at a fixed
# rate (SERVE_BENCH_QPS, 10 a second; 0 measures ingest alone). On
# SQLite and on a private PostgreSQL cluster started here (initdb, Unix socket only, stopped at
# the end). Clients speak plain HTTP over serve's Unix socket, so the figures are the server and
# its store, not TLS handshakes. Each run starts on an empty store.
#   SERVE_BENCH_SECONDS (8), SERVE_BENCH_BATCH (100 lines per POST), SERVE_BENCH_AGENTS ("1 4 16")
set -u
cd "$(dirname "$0")/.." || exit 1
: "${DBG_BIN:=build/dengbao}" "${DBG_SRCDIR:=$(pwd)}"
export DBG_BIN DBG_SRCDIR
. tests/integration/lib.sh
ensure_pkgs python3:python3
SECS=${SERVE_BENCH_SECONDS:-8}
BATCH=${SERVE_BENCH_BATCH:-100}
AGENTS=${SERVE_BENCH_AGENTS:-1 4 16}
QPS=${SERVE_BENCH_QPS:-10}
SERVER=""
PGDIR=""
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
    [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
    [ -n "$PGDIR" ] && as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -m fast stop >/dev/null 2>&1
    rm -rf "$TMP"
}
trap cleanup EXIT
chmod 755 "$TMP"

run() { # LABEL STORE_URL AGENTS
    local sock="$TMP/serve.sock"
    rm -f "$sock"
    "$DBG_BIN" serve --socket "$sock" --store "$2" 2>"$TMP/serve.log" &
    SERVER=$!
    for _ in $(seq 1 100); do [ -S "$sock" ] && break; sleep 0.1; done
    [ -S "$sock" ] || { cat "$TMP/serve.log"; echo "serve did not start"; exit 1; }
    printf '%-10s ' "$1"
    python3 bench/serve_load.py "$sock" "$3" "$SECS" "$BATCH" "$QPS"
    kill "$SERVER"; wait "$SERVER" 2>/dev/null; SERVER=""
}

echo "serve ingest: $SECS s per run, $BATCH events per POST, $(nproc) CPUs, $("$DBG_BIN" --version 2>/dev/null | head -1)"
for a in $AGENTS; do
    rm -f "$TMP/store.db"*
    run sqlite "sqlite:$TMP/store.db" "$a"
done

PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [ ! -x "$PGBIN/initdb" ]; then echo "no initdb: PostgreSQL part skipped"; exit 0; fi
PGDIR="$TMP/pg"; mkdir -p "$PGDIR"
[ "$(id -u)" = 0 ] && chown postgres "$PGDIR"
as_pg "$PGBIN/initdb" -D "$PGDIR/data" -A trust -U postgres >/dev/null || exit 1
PGPORT=$((20000 + RANDOM % 20000))
as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/log" -w \
    -o "-c listen_addresses='' -c unix_socket_directories=$PGDIR -p $PGPORT" start >/dev/null || exit 1
n=0
for a in $AGENTS; do
    n=$((n + 1))
    as_pg "$PGBIN/createdb" -h "$PGDIR" -p "$PGPORT" -U postgres "bench$n" || exit 1
    run postgresql "postgresql:///bench$n?host=$PGDIR&port=$PGPORT&user=postgres" "$a"
done
