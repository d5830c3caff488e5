#!/bin/bash
# Agent -> central over HTTPS (TLS 1.3, client certificates made here by openssl), serve on
# loopback with a SQLite store, 2 figures:
#  1. dbg_forwarder (what `dengbao agent --central` runs) sending an EVE file of FWD_BENCH_ALERTS
#     alerts (100000) from offset 0 until serve has accepted all of it (bench/forward_bench.c);
#  2. small POSTs (FWD_BENCH_BATCH lines, 100), FWD_BENCH_SECONDS (5) each way: a new TLS
#     connection per request (Connection: close) against one kept-alive connection
#     (bench/serve_tls_posts.py), then the same with GET /healthz (no store work: TLS and HTTP
#     alone); and TLS handshakes/s (openssl s_time -new, /healthz).
# Each run starts on an empty store.
set -u
cd "$(dirname "$0")/.." || exit 1
: "${DBG_BIN:=build/dengbao}" "${DBG_SRCDIR:=$(pwd)}"
export DBG_BIN DBG_SRCDIR
. tests/integration/lib.sh
ensure_pkgs python3:python3 openssl:openssl
N=${FWD_BENCH_ALERTS:-100000}
BATCH=${FWD_BENCH_BATCH:-100}
SECS=${FWD_BENCH_SECONDS:-5}
SERVER=""
cleanup() {
    [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT
[ -f build/libdengbao.a ] || ninja -C build >/dev/null || exit 1
# shellcheck disable=SC2046
cc -O2 -std=c11 -D_GNU_SOURCE -Iinclude -Isrc -o "$TMP/forward_bench" bench/forward_bench.c \
    build/libdengbao.a \
    $(pkg-config --cflags --libs jansson openssl sqlite3 libvirt libxml-2.0 yaml-0.1 libpcap zlib libzstd) \
    $(pkg-config --libs yara libpq 2>/dev/null) -lpthread -lm || exit 1

(cd "$TMP" && mk() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key"; } &&
    mk ca && openssl req -x509 -new -key ca.key -out ca.pem -days 2 -subj /CN=ca &&
    printf 'subjectAltName=IP:127.0.0.1\n' >srv.ext &&
    for c in server:/CN=central agent:/CN=hv-01/O=provider; do
        n=${c%%:*}; mk "$n" && openssl req -new -key "$n.key" -out "$n.csr" -subj "${c#*:}" &&
            openssl x509 -req -in "$n.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -out "$n.pem" \
                -days 2 -extfile srv.ext || exit 1
    done) >/dev/null 2>&1 || { echo "openssl could not make the certificates"; exit 1; }
python3 - "$N" >"$TMP/eve.json" <<'PY'
import sys
for i in range(int(sys.argv[1])):
    print('{"timestamp":"2026-01-01T00:00:%02d.%06d+00:00","event_type":"alert","src_ip":"10.0.%d.%d",'
          '"dest_ip":"10.1.0.5","proto":"TCP","alert":{"signature":"port_scan","severity":2},'
          '"dengbao":{"clause":"8.2.3.2a","src":{"tenant":"tenant-%d"}},"seq":%d}'
          % (i // 1000000 % 60, i % 1000000, i // 250 % 250, i % 250, i % 4, i))
PY

start_serve() {
    rm -f "$TMP"/store.db*
    "$DBG_BIN" serve --listen 127.0.0.1:0 --tls-cert "$TMP/server.pem" --tls-key "$TMP/server.key" \
        --tls-ca "$TMP/ca.pem" --store "sqlite:$TMP/store.db" 2>"$TMP/serve.log" &
    SERVER=$!
    PORT=""
    for _ in $(seq 1 100); do
        PORT=$(sed -n 's/.*https port \([0-9][0-9]*\) .*/\1/p' "$TMP/serve.log" | head -1)
        [ -n "$PORT" ] && break
        sleep 0.1
    done
    [ -n "$PORT" ] || { cat "$TMP/serve.log"; echo "serve did not start"; exit 1; }
}
stop_serve() { kill "$SERVER"; wait "$SERVER" 2>/dev/null; SERVER=""; }
conns() { grep -c ' POST /api/v1/events ' "$TMP/serve.log"; }

echo "forward over TLS: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), $("$DBG_BIN" --version 2>/dev/null | head -1)"
start_serve
printf 'forwarder  %d alerts (%s MB): ' "$N" "$(($(stat -c %s "$TMP/eve.json") / 1000000))"
"$TMP/forward_bench" "https://127.0.0.1:$PORT" "$TMP/agent.pem" "$TMP/agent.key" "$TMP/ca.pem" "$TMP/eve.json"
stop_serve
for b in "$BATCH" 0; do
    for mode in close keep; do
        start_serve
        printf 'posts      '
        python3 bench/serve_tls_posts.py 127.0.0.1 "$PORT" "$TMP/agent.pem" "$TMP/agent.key" \
            "$TMP/ca.pem" "$mode" "$SECS" "$b"
        stop_serve
    done
done
start_serve
printf 'handshakes '
openssl s_time -connect "127.0.0.1:$PORT" -cert "$TMP/agent.pem" -key "$TMP/agent.key" \
    -CAfile "$TMP/ca.pem" -new -time "$SECS" -www /healthz 2>&1 |
    awk '/connections in [0-9]+ real seconds/ { printf "%d full handshakes + GET /healthz in %d s: %.0f/s\n", $1, $4, $1 / $4; exit }'
stop_serve
