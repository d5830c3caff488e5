#!/bin/bash
# The remote gateway: TLS 1.3 with client certificates only (8.2.4.1 mutual authentication).
# A test CA, server and client certificates are made here with openssl. A client without a
# certificate, with one from another CA, with an expired one, or speaking TLS 1.2 is refused,
# and every refusal is in the audit log; a good certificate maps its subject to a role.
set -u
. "$(dirname "$0")/lib.sh"
ensure_pkgs openssl:openssl jq:jq

cd "$TMP" || exit 1
mk_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
mk_ca() { mk_key "$1.key"; openssl req -x509 -new -key "$1.key" -out "$1.pem" -days 2 -subj "/CN=$2" 2>/dev/null; }
# mk_cert NAME SUBJECT CA [EXTFILE]
mk_cert() {
    mk_key "$1.key"
    openssl req -new -utf8 -key "$1.key" -out "$1.csr" -subj "$2" 2>/dev/null
    openssl x509 -req -in "$1.csr" -CA "$3.pem" -CAkey "$3.key" -CAcreateserial -out "$1.pem" \
        -days 2 ${4:+-extfile "$4"} 2>/dev/null
}
mk_ca ca "dengbao test CA"
mk_ca otherca "some other CA"
printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > server.ext
printf 'extendedKeyUsage=clientAuth\n' > client.ext
mk_cert server "/CN=dengbao-agent" ca server.ext
mk_cert ops1 "/CN=ops1/O=provider" ca client.ext
mk_cert stranger "/CN=stranger/O=nowhere" ca client.ext
mk_cert rogue "/CN=ops1/O=provider" otherca client.ext
# The kept subject names are 127 bytes: a CN of 43 x 租 (129 bytes) was cut to 42 and matched
# the identity whose CN is those 42 (another holder's role)
cn42=$(printf '租%.0s' $(seq 42))
mk_cert long "/CN=${cn42}租/O=nowhere" ca client.ext
# whole names, not in the policy, whose actor string (249 bytes) the denial quoted cut at byte
# 200, inside a character: the answer was no UTF-8 and came back as "out of memory"
mk_cert wide "/CN=$(printf '租%.0s' $(seq 41))/O=$(printf '租%.0s' $(seq 40))" ca client.ext
# An expired client certificate from the right CA: `openssl ca` takes explicit dates.
mkdir -p caDB && : > caDB/index.txt && echo 1000 > caDB/serial
cat > ca.cnf <<C
[ca]
default_ca = d
[d]
database = $TMP/caDB/index.txt
new_certs_dir = $TMP/caDB
serial = $TMP/caDB/serial
default_md = sha256
policy = p
[p]
commonName = supplied
organizationName = optional
C
mk_key expired.key
openssl req -new -key expired.key -out expired.csr -subj "/CN=ops1/O=provider" 2>/dev/null
openssl ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key -in expired.csr -out expired.pem \
    -startdate 20200101000000Z -enddate 20200102000000Z -notext >/dev/null 2>&1
[ -s expired.pem ] || skip_all "openssl could not make an expired certificate"
expect_match "expired cert is expired" "notAfter=Jan  2 00:00:00 2020" "$(openssl x509 -in expired.pem -noout -enddate)"

"$DBG_BIN" audit keygen --out "$TMP/k" >/dev/null || skip_all "audit keygen failed"
cat > policy.yaml <<'P'
version: 1
identities:
  - cn: ops1
    o: provider
    role: provider-operator
roles:
  provider-operator: {operations: [list, start, reboot], tenants: any}
P
sed -i "/^roles:/i\\  - cn: $cn42\\n    role: provider-operator" policy.yaml

PORT=""
for _ in 1 2 3 4 5; do
    p=$((20000 + RANDOM % 20000))
    rm -f agent.log
    "$DBG_BIN" agent -c test:///default --audit-log "$TMP/audit" --key "$TMP/k.key" \
        --policy policy.yaml --eve "$TMP/eve.json" --socket "$TMP/gw.sock" --state-dir "$TMP/st" \
        --status-dir "$TMP/status" --listen "127.0.0.1:$p" --tls-cert server.pem \
        --tls-key server.key --tls-ca ca.pem 2>agent.log &
    AGENT=$!
    for _ in $(seq 1 100); do grep -q "running" agent.log 2>/dev/null && break; kill -0 $AGENT 2>/dev/null || break; sleep 0.1; done
    if grep -q running agent.log; then PORT=$p; break; fi
    wait $AGENT 2>/dev/null
done
[ -n "$PORT" ] || { cat agent.log; skip_all "agent did not start with TLS"; }
EP="127.0.0.1:$PORT"

out=$("$DBG_BIN" vm --connect "$EP" --cert ops1.pem --key ops1.key --ca ca.pem list 2>&1)
expect_eq "good client certificate: list works" 0 $?
expect_match "list output" "NAME +UUID" "$out"
out=$("$DBG_BIN" vm --connect "$EP" --cert stranger.pem --key stranger.key --ca ca.pem list 2>&1)
expect_eq "valid cert, subject not in policy: denied" 1 $?
expect_match "denied by identity rule" "identity:unknown" "$out"
out=$("$DBG_BIN" vm --connect "$EP" --cert long.pem --key long.key --ca ca.pem list 2>&1)
expect_eq "a CN longer than the 127 bytes kept matches no identity under its cut name: denied" 1 $?
expect_match "... denied by identity rule" "identity:unknown" "$out"
out=$("$DBG_BIN" vm --connect "$EP" --cert wide.pem --key wide.key --ca ca.pem list 2>&1)
expect_eq "a long subject of Chinese characters not in the policy: denied (not an error)" 1 $?
expect_match "... saying it is not in the policy's identities" "is not in the policy's identities" "$out"
out=$("$DBG_BIN" vm --connect "$EP" --cert rogue.pem --key rogue.key --ca ca.pem list 2>&1)
expect_eq "certificate from another CA refused" 3 $?
out=$("$DBG_BIN" vm --connect "$EP" --cert expired.pem --key expired.key --ca ca.pem list 2>&1)
expect_eq "expired certificate refused" 3 $?
"$DBG_BIN" vm --connect "$EP" --ca ca.pem list >/dev/null 2>&1
expect_eq "client without certificate options: usage error" 2 $?
out=$(echo '{"v":1,"op":"list"}' | timeout 10 openssl s_client -connect "$EP" -tls1_3 -CAfile ca.pem -quiet 2>&1)
expect_nomatch "no client certificate: no answer" '"status"' "$out"
out=$(echo '{"v":1,"op":"list"}' | timeout 10 openssl s_client -connect "$EP" -tls1_2 -cert ops1.pem -key ops1.key -CAfile ca.pem -quiet 2>&1)
expect_nomatch "TLS 1.2 refused: no answer" '"status"' "$out"
out=$("$DBG_BIN" vm --connect "$EP" --cert ops1.pem --key ops1.key --ca otherca.pem list 2>&1)
expect_eq "client refuses a server its CA did not sign" 3 $?
out=$("$DBG_BIN" vm --connect "$EP" --cert ops1.pem --key ops1.key --ca ca.pem list 2>&1)
expect_eq "agent still serves after refusals" 0 $?

kill -TERM "$AGENT"; wait "$AGENT"
expect_eq "agent stops cleanly" 0 $?

all=$("$DBG_BIN" audit query --log "$TMP/audit" --format json)
sel() { echo "$all" | jq -r "[.[]? // .records[]? | select($1)]"; }
refused=$(sel '.action=="gateway.connect" and .outcome=="denied"')
# four refused clients, plus the client that hung up on a server its CA did not sign
expect_eq "five refused connections audited" 5 "$(echo "$refused" | jq length)"
reasons=$(echo "$refused" | jq -r '.[].details | if type=="string" then fromjson else . end | .reason')
expect_match "refusal: other CA" "unable to get local issuer certificate|unknown ca" "$reasons"
expect_match "refusal: expired" "certificate has expired" "$reasons"
expect_match "refusal: no certificate" "peer did not return a certificate|certificate required" "$reasons"
expect_match "refusal: TLS 1.2" "unsupported protocol|version" "$reasons"
expect_match "refusal source is the TCP peer" "tls:127.0.0.1:" "$(echo "$refused" | jq -r '.[0].source')"
expect_eq "certificate subject is the actor" "CN=ops1,O=provider" \
    "$(sel '.action=="vm.list.intent" and .outcome=="allowed"' | jq -r '.[0].actor')"
expect_eq "unknown subject's attempt audited" 1 \
    "$(sel '.actor=="CN=stranger,O=nowhere" and .outcome=="denied"' | jq length)"
expect_match "the cut name's denial says why" "longer than the 127 bytes kept, so it is not matched" \
    "$(sel '(.actor | startswith("CN=租")) and .outcome=="denied"' | jq -c '.[0].details')"
finish
