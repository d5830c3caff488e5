#!/bin/bash
# dengbao-serve.service's CapabilityBoundingSet is enough: serve run as root under exactly that
# set (setpriv, as systemd sets it) listens on a port below 1024 with TLS, reads its root-owned
# 0600 keys, writes its SQLite store and exports from a root-owned 0700 audit log; without
# CAP_NET_BIND_SERVICE the low port is refused.
set -u
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip_all "needs root (capability sets)"
ensure_pkgs setpriv:util-linux openssl:openssl curl:curl jq:jq
cd "$TMP" || exit 1

UNIT=$DBG_SRCDIR/contrib/systemd/dengbao-serve.service.in
CAPS=$(sed -n 's/^CapabilityBoundingSet=//p' "$UNIT")
expect_match "serve's unit sets a capability bounding set" '^CAP_[A-Z_]+( CAP_[A-Z_]+)*$' "$CAPS"
bset() {  # setpriv's spelling, leaving $1 out
    local c out="-all"
    for c in $CAPS; do
        [ "$c" = "${1:-}" ] || out="$out,+$(printf '%s' "${c#CAP_}" | tr 'A-Z' 'a-z')"
    done
    printf '%s' "$out"
}

mk_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
mk_ca() { mk_key "$1.key"; openssl req -x509 -new -key "$1.key" -out "$1.pem" -days 2 -subj "/CN=$2" 2>/dev/null; }
mk_cert() { # NAME SUBJECT CA EXTFILE
    mk_key "$1.key"
    openssl req -new -key "$1.key" -out "$1.csr" -subj "$2" 2>/dev/null
    openssl x509 -req -in "$1.csr" -CA "$3.pem" -CAkey "$3.key" -CAcreateserial -out "$1.pem" \
        -days 2 -extfile "$4" 2>/dev/null
}
mk_ca ca "dengbao test CA"
printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > server.ext
printf 'extendedKeyUsage=clientAuth\n' > client.ext
mk_cert server "/CN=dengbao-central" ca server.ext
mk_cert prov "/CN=admin/O=provider" ca client.ext
[ -s server.pem ] && [ -s prov.pem ] || skip_all "openssl could not make the test certificates"
chmod 600 ./*.key

# a root-owned 0700 audit log with one record, as the agent leaves it
"$DBG_BIN" audit keygen --out "$TMP/k" >/dev/null
mkdir -m 700 audit
"$DBG_BIN" audit append --log audit --key k.key --actor root --role provider-admin \
    --tenant tenant-a --action vm.start --target-type vm --target-name va1 --outcome success \
    --checkpoint-every 1 >/dev/null
expect_eq "an audit log made" 0 $?

# a free port below 1024
PORT=""
for p in $(seq $((900 + $$ % 90)) 1000); do
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { PORT=$p; break; }
done
[ -n "$PORT" ] || skip_all "no free port below 1024"

serve() {  # SETPRIV-SET LOG
    setpriv --bounding-set "$1" "$DBG_BIN" serve --listen "127.0.0.1:$PORT" \
        --tls-cert server.pem --tls-key server.key --tls-ca ca.pem \
        --store "sqlite:$TMP/central.db" --log "$TMP/audit" --status-dir "$TMP/status" 2>"$2" &
    SERVER=$!
}
trap 'kill "${SERVER:-}" 2>/dev/null; rm -rf "$TMP"' EXIT

serve "$(bset)" full.log
wait_for "running" 10 full.log
expect_match "under the unit's set serve listens on port $PORT" "running" "$(cat full.log)"
code=$(curl -sS --cacert ca.pem --cert prov.pem --key prov.key -o pub.txt -w '%{http_code}' \
    "https://127.0.0.1:$PORT/api/v1/audit/pubkey")
expect_eq "over TLS with its root-owned 0600 key; the audit log's key served" 200 "$code"
code=$(curl -sS --cacert ca.pem --cert prov.pem --key prov.key -o export.json -w '%{http_code}' \
    "https://127.0.0.1:$PORT/api/v1/audit/export?tenant=tenant-a")
expect_eq "the root-owned 0700 audit log exported" "200 1" "$code $(jq .count export.json 2>/dev/null)"
code=$(curl -sS --cacert ca.pem --cert prov.pem --key prov.key -o /dev/null -w '%{http_code}' \
    "https://127.0.0.1:$PORT/api/v1/events")
expect_eq "the SQLite store read" 200 "$code"
kill -TERM "$SERVER"
wait "$SERVER"
expect_eq "stops with exit 0" 0 $?

for cap in $CAPS; do
    serve "$(bset "$cap")" w.log
    wait "$SERVER"
    expect_eq "without $cap: serve does not start (exit 3)" 3 $?
    expect_match "without $cap: saying why" "127.0.0.1:$PORT.*(Permission denied|not permitted)" \
        "$(cat w.log)"
done
finish
