#!/bin/bash
# The dashboard (`GET /`) and event listings of `dengbao serve` on a large store: DASH_BENCH_EVENTS
# (1000000) events over 20 tenants (bench/dash_gen.py: one big tenant, many small ones, 15% flows)
# in SQLite and in a private PostgreSQL cluster started here (initdb, Unix socket only, stopped at
# the end), filled with `dengbao store ingest`. Each request over serve's Unix socket as the
# provider (root) and as tenant-00 (the big one) and tenant-07 (a small one: nobody, mapped by a
# policy), the best of DASH_BENCH_RUNS (3) curl times.
#   DASH_BENCH_BASE=OLD_BINARY: the stores are filled by OLD_BINARY (its schema), each request is
#   timed with it and then with DBG_BIN on the same data (which upgrades the store when it opens
#   it), and the answers are compared byte for byte (Date headers aside: only bodies are kept).
#   DASH_BENCH_DIR=DIR keeps the stores there and reuses them on the next run.
set -u
cd "$(dirname "$0")/.." || exit 1
: "${DBG_BIN:=build/dengbao}" "${DBG_SRCDIR:=$(pwd)}"
export DBG_BIN DBG_SRCDIR
. tests/integration/lib.sh
ensure_pkgs python3:python3 curl:curl
N=${DASH_BENCH_EVENTS:-1000000}
RUNS=${DASH_BENCH_RUNS:-3}
BASE=${DASH_BENCH_BASE:-}
DIR=${DASH_BENCH_DIR:-$TMP/stores}
mkdir -p "$DIR"
chmod 755 "$TMP" "$DIR"
SERVER=""
PGDIR="$DIR/pg"
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
    [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
    [ -d "$PGDIR/data" ] && as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -m fast stop >/dev/null 2>&1
    rm -rf "$TMP"
}
trap cleanup EXIT
FILL=${BASE:-$DBG_BIN}
cat > "$TMP/policy.yaml" <<'P'
version: 1
identities:
  - unix: nobody
    role: tenant-user
    tenant: tenant-07
  - unix: daemon
    role: tenant-user
    tenant: tenant-00
roles:
  tenant-user: {operations: [list], tenants: own}
P

if [ ! -s "$DIR/eve.json" ]; then
    python3 bench/dash_gen.py "$N" 20 > "$DIR/eve.json" || exit 1
fi
echo "serve dashboard: $(wc -l < "$DIR/eve.json") EVE lines, $(nproc) CPUs, filled by $FILL"

REQS="provider:/ provider:/api/v1/events provider:/api/v1/events?tenant=tenant-00
provider:/api/v1/events?tenant=tenant-07 provider:/api/v1/events?kind=alert&type=rare_sig
provider:/api/v1/events?after=500000&limit=1000 daemon:/ daemon:/api/v1/events
nobody:/ nobody:/api/v1/events"

measure() { # LABEL BIN STORE_URL OUTDIR
    local sock="$TMP/serve.sock" out="$4"
    mkdir -p "$out"
    chmod 777 "$out" # the tenants' curl runs as nobody and daemon
    rm -f "$sock"
    local t0=$(date +%s.%N)
    "$2" serve --socket "$sock" --store "$3" --policy "$TMP/policy.yaml" 2>"$TMP/serve.log" &
    SERVER=$!
    for _ in $(seq 1 6000); do [ -S "$sock" ] && break; sleep 0.1; done
    [ -S "$sock" ] || { cat "$TMP/serve.log"; echo "serve did not start"; exit 1; }
    chmod 777 "$sock"
    printf '%-22s start %.1fs\n' "$1" "$(echo "$(date +%s.%N) - $t0" | bc)"
    local i=0
    for r in $REQS; do
        i=$((i + 1))
        local who=${r%%:*} path=${r#*:} best=""
        for _ in $(seq 1 "$RUNS"); do
            local cmd=(curl -sS --unix-socket "$sock" -o "$out/$i" -w '%{time_total} %{http_code}' "http://local$path")
            [ "$who" = provider ] || cmd=(runuser -u "$who" -- "${cmd[@]}")
            local t
            t=$("${cmd[@]}")
            [ "${t#* }" = 200 ] || { echo "  $who $path: HTTP ${t#* }"; head -c 300 "$out/$i"; echo; }
            t=${t% *}
            if [ -z "$best" ] || [ "$(echo "$t < $best" | bc)" = 1 ]; then best=$t; fi
        done
        printf '  %-8s %-48s %8.3f s %9d bytes\n' "$who" "$path" "$best" "$(stat -c %s "$out/$i")"
    done
    kill "$SERVER"; wait "$SERVER" 2>/dev/null; SERVER=""
}

compare() { # NAME
    if diff -rq "$TMP/$1-base" "$TMP/$1-new" >/dev/null; then
        echo "  answers identical (base and new, $1)"
    else
        echo "  ANSWERS DIFFER ($1):"; diff -rq "$TMP/$1-base" "$TMP/$1-new"; DIFFER=1
    fi
}
DIFFER=0

run_store() { # NAME URL
    if [ -n "$BASE" ]; then
        measure "$1 (base)" "$BASE" "$2" "$TMP/$1-base"
        measure "$1 (new)" "$DBG_BIN" "$2" "$TMP/$1-new"
        compare "$1"
    else
        measure "$1" "$DBG_BIN" "$2" "$TMP/$1-new"
    fi
}

if [ ! -e "$DIR/store.db" ]; then
    /usr/bin/time -f "sqlite ingest %e s" "$FILL" store ingest --db "sqlite:$DIR/store.db" --host hv-01 "$DIR/eve.json" | tail -1
fi
run_store sqlite "sqlite:$DIR/store.db"

PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [ ! -x "$PGBIN/initdb" ]; then echo "no initdb: PostgreSQL part skipped"; exit "$DIFFER"; fi
mkdir -p "$PGDIR"
[ "$(id -u)" = 0 ] && chown postgres "$PGDIR"
fresh=0
if [ ! -d "$PGDIR/data" ]; then
    as_pg "$PGBIN/initdb" -D "$PGDIR/data" -A trust -U postgres >/dev/null || exit 1
    fresh=1
fi
PGPORT=$((20000 + RANDOM % 20000))
as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/log" -w \
    -o "-c listen_addresses='' -c unix_socket_directories=$PGDIR -p $PGPORT" start >/dev/null || exit 1
PGURL="postgresql:///bench?host=$PGDIR&port=$PGPORT&user=postgres"
if [ "$fresh" = 1 ]; then
    as_pg "$PGBIN/createdb" -h "$PGDIR" -p "$PGPORT" -U postgres bench || exit 1
    /usr/bin/time -f "postgresql ingest %e s" "$FILL" store ingest --db "$PGURL" --host hv-01 "$DIR/eve.json" | tail -1
    # what autovacuum does soon after a bulk load anyway; without it the first reads pay for it
    as_pg "$PGBIN/psql" -q -h "$PGDIR" -p "$PGPORT" -U postgres -d bench -c 'VACUUM ANALYZE events'
fi
run_store postgresql "$PGURL"
exit "$DIFFER"
