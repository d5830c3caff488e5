#!/bin/bash
# `dengbao agent` on libvirt's test driver (in-process, so the agent's own gateway and guard
# share it) driven by `dengbao vm` from other processes and other Unix users: policy decisions,
# the approval ticket flow, intent/outcome audit records, malformed and oversized requests on
# the raw socket, and a clean stop on SIGTERM. (The out-of-band actor on the test driver has
# to live in the same process: tests/unit/test_guard.c.)
set -u
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip_all "needs root to run clients as other users (setpriv)"
ensure_pkgs setpriv:util-linux jq:jq python3:python3

chmod 755 "$TMP"
cd "$TMP" || exit 1
"$DBG_BIN" audit keygen --out "$TMP/k" >/dev/null || skip_all "audit keygen failed"
cat > policy.yaml <<'P'
version: 1
identities:
  - unix: root
    role: provider-admin
  - unix: nobody
    role: tenant-admin
    tenant: tenant-a
  - unix: daemon
    role: tenant-user
    tenant: tenant-a
roles:
  provider-admin: {operations: all, tenants: any}
  tenant-admin: {operations: [list, create, start, shutdown, reboot, destroy, delete, approve], tenants: own}
  tenant-user: {operations: [list, start, reboot], tenants: own}
approvals:
  - id: provider-acts-on-tenant-vm
    roles: [provider-admin]
    operations: [delete, destroy, reboot]
    target: tenant-vm
    approver: tenant-admin
P
cat > vm.xml <<'X'
<domain type='test'>
  <name>td-a1</name>
  <memory>65536</memory>
  <metadata><dengbao:tenant xmlns:dengbao="https://dengbao.dev/xmlns/1" id="tenant-a"/></metadata>
  <os><type>hvm</type></os>
</domain>
X
chmod 644 vm.xml

# Usage errors first. -c is optional (qemu:///system): the usage line showed it as required.
out=$("$DBG_BIN" agent --help)
expect_match "agent usage shows -c as optional" '^Usage: dengbao agent \[-c URI\] --audit-log DIR' "$out"
expect_match "... and its default" '-c, --connect URI   libvirt URI \(default qemu:///system\)' "$out"
"$DBG_BIN" agent -c test:///default >/dev/null 2>&1
expect_eq "agent without required options" 2 $?
"$DBG_BIN" agent -c test:///default --audit-log a --key k --policy p --eve e --socket s \
    --listen 127.0.0.1:1 >/dev/null 2>&1
expect_eq "agent --listen without TLS files" 2 $?
"$DBG_BIN" vm --socket x.sock frobnicate vm1 >/dev/null 2>&1
expect_eq "vm unknown operation" 2 $?
"$DBG_BIN" vm --socket x.sock start >/dev/null 2>&1
expect_eq "vm start without a VM" 2 $?
out=$("$DBG_BIN" vm --socket "$TMP/none.sock" list 2>&1); rc=$?
expect_eq "vm without agent exit" 3 "$rc"
expect_match "vm without agent message" "cannot reach the gateway" "$out"
# A libvirt URI that cannot be opened: dengbao's one line with libvirt's reason, and nothing
# printed by libvirt or libxml2 itself (libxml2's "I/O warning : failed to load external entity
# "/missing.xml"" came first).
out=$("$DBG_BIN" agent -c test:///missing.xml --audit-log "$TMP/bad-uri-audit" --key "$TMP/k.key" \
    --policy policy.yaml --eve "$TMP/bad-uri.eve" --socket "$TMP/bad-uri.sock" 2>&1 </dev/null); rc=$?
expect_eq "agent -c test:///missing.xml: exit 3" 3 "$rc"
expect_match "... dengbao's message with libvirt's reason" \
    "^dengbao agent: guard: cannot connect to test:///missing.xml: .*failed to parse xml document '/missing.xml'" "$out"
expect_eq "... every line is dengbao's" 0 "$(printf '%s\n' "$out" | grep -Evc '^([0-9TZ:.-]+ )?dengbao ')"
expect_nomatch "... no libxml2 line" "I/O warning|external entity" "$out"
expect_nomatch "... no libvirt line" "^libvirt:" "$out"
printf 'version: 1\nroles:\n  god: {}\n' > bad.yaml
out=$("$DBG_BIN" agent -c test:///default --audit-log audit --key k.key --policy bad.yaml \
    --eve eve.json --socket gw.sock --state-dir st --status-dir status 2>&1); rc=$?
expect_eq "agent with a bad policy exit" 3 "$rc"
expect_match "bad policy names file and line" "bad.yaml:3:3: unknown role 'god'" "$out"
: > empty.yaml # an empty policy file was reported at "empty.yaml:0:0"
out=$("$DBG_BIN" agent -c test:///default --audit-log audit --key k.key --policy empty.yaml \
    --eve eve.json --socket gw.sock --state-dir st --status-dir status 2>&1); rc=$?
expect_eq "agent with an empty policy exit" 3 "$rc"
expect_match "empty policy at line 1 column 1" "empty.yaml:1:1: the policy is empty" "$out"
# a filter whose VM glob has an unbalanced bracket was accepted and never matched as meant
printf 'version: 1\nfilters:\n  - id: f\n    vms: ["web-*", "db["]\n    action: reject\n' > glob.yaml
# (timeout: an agent that accepts the policy runs until stopped)
out=$(timeout 10 "$DBG_BIN" agent -c test:///default --audit-log audit --key k.key \
    --policy glob.yaml --eve eve.json --socket gw.sock --state-dir st --status-dir status 2>&1)
rc=$?
expect_eq "agent with an unbalanced glob exit" 3 "$rc"
expect_match "unbalanced glob refused at its line" \
    "glob.yaml:4:20: VM name glob 'db\\[' has a '\\[' with no closing" "$out"
# a migration destination that is not scheme://host/path (here a local socket) stops the agent
# at its line: the list is what keeps the root agent from connecting wherever a caller says
printf 'version: 1\nmigration:\n  destinations:\n    - qemu+tls://h2/system\n    - "qemu+unix:///system?socket=/tmp/s"\n' > mig.yaml
out=$(timeout 10 "$DBG_BIN" agent -c test:///default --audit-log audit --key k.key \
    --policy mig.yaml --eve eve.json --socket gw.sock --state-dir st --status-dir status 2>&1)
rc=$?
expect_eq "agent with a bad migration destination exit" 3 "$rc"
expect_match "bad migration destination refused at its line" \
    "mig.yaml:5:7: migration.destinations entry 'qemu\\+unix:///system\\?socket=/tmp/s' names no host" "$out"

DENGBAO_LOG=info "$DBG_BIN" agent -c test:///default --audit-log "$TMP/audit" --key "$TMP/k.key" \
    --policy policy.yaml --eve "$TMP/eve.json" --socket "$TMP/gw.sock" --state-dir "$TMP/st" \
    --status-dir "$TMP/status" 2>agent.log &
AGENT=$!
for _ in $(seq 1 100); do [ -S gw.sock ] && break; sleep 0.1; done
[ -S gw.sock ] || { cat agent.log; fail "agent socket"; finish; exit 1; }
for _ in $(seq 1 50); do [ -s status/audit_log.json ] && break; sleep 0.1; done
expect_eq "audit_log status healthy while the agent runs" true "$(jq .ok status/audit_log.json 2>&1)"
VM() { "$DBG_BIN" vm --socket "$TMP/gw.sock" "$@"; }
AS() {
    local u g
    u=$(id -u "$1") g=$(id -g "$1"); shift
    setpriv --reuid="$u" --regid="$g" --clear-groups "$DBG_BIN" vm --socket "$TMP/gw.sock" "$@"
}

out=$(AS nobody create vm.xml); expect_eq "tenant-admin create" 0 $?
expect_match "create done" "create td-a1: done" "$out"
# A create naming an existing VM is a refusal (exit 1, as a denial), not an error (3). The
# tenant naming the provider's VM "test" is not told its uuid (nor that it is the provider's);
# the provider, who may see it, is.
sed 's/td-a1/test/' vm.xml > taken.xml; chmod 644 taken.xml
out=$(AS nobody create taken.xml 2>&1); rc=$?
expect_eq "tenant create naming the provider's VM exit" 1 "$rc"
expect_match "tenant told the name is taken" "refused: the name or uuid in the XML is already taken" "$out"
expect_nomatch "tenant not told the provider VM's uuid" "[0-9a-f]{8}-[0-9a-f]{4}-" "$out"
out=$(VM create taken.xml 2>&1); rc=$?
expect_eq "provider create naming its VM exit" 1 "$rc"
expect_match "provider told which VM" "a VM named 'test' \(uuid [0-9a-f-]{36}\) already exists" "$out"
# A create taking another VM's disk is a refusal too (exit 1; it was "error", exit 3, as for a
# libvirt failure). The tenant is not told whose disk it is (the provider's td-p1 here).
sed -e 's/td-a1/td-p1/' -e '/<metadata>/d' \
    -e "s|</os>|</os><devices><disk type='file' device='disk'><source file='/var/lib/dbg-td/p1.img'/><target dev='vda'/></disk></devices>|" \
    vm.xml > p1.xml
sed -e 's/td-p1/td-a9/' -e "s|<memory>|<metadata><dengbao:tenant xmlns:dengbao='https://dengbao.dev/xmlns/1' id='tenant-a'/></metadata><memory>|" \
    p1.xml > claim.xml; chmod 644 p1.xml claim.xml
out=$(VM create p1.xml); expect_eq "provider creates td-p1 with a disk" 0 $?
out=$(AS nobody create claim.xml 2>&1); rc=$?
expect_eq "tenant create taking the provider VM's disk exit" 1 "$rc"
expect_match "tenant told the disk is a VM's it may not see" \
    "refused: disk vda \(/var/lib/dbg-td/p1.img\) is a disk of a VM you may not see" "$out"
expect_nomatch "tenant not told whose disk" "td-p1" "$out"
out=$(VM create claim.xml 2>&1); rc=$?
expect_eq "provider create taking its VM's disk exit" 1 "$rc"
expect_match "provider told whose disk" "refused: disk vda .* is a disk of VM 'td-p1'" "$out"
out=$(VM --format json create claim.xml); rc=$?
expect_eq "the same in JSON exits 1" 1 "$rc"
expect_eq "the JSON status" refused "$(echo "$out" | jq -r .status)"
out=$(VM delete td-p1); expect_eq "provider deletes td-p1" 0 $?
out=$(AS daemon start td-a1); expect_eq "tenant-user start own VM" 0 $?
out=$(AS daemon --format json delete td-a1); rc=$?
expect_eq "tenant-user delete denied exit" 1 "$rc"
expect_eq "tenant-user delete denied rule" "role:tenant-user:operations" "$(echo "$out" | jq -r .rule)"
out=$(AS daemon list); expect_match "tenant-user sees own VM" "td-a1 +[0-9a-f-]{36} running +tenant-a" "$out"
expect_nomatch "tenant-user does not see provider VM" "^test " "$out"
# Nor does a tenant hear of it otherwise: an operation on a VM the caller may not see (the
# provider's "test") is answered as on no VM at all, same message and exit code (it was
# "denied: role tenant-admin of tenant tenant-a may not act on a provider VM", exit 1, where a
# missing VM gives exit 3), also for an operation the role lacks (the tenant-user's delete).
# An identity not in the policy is told so about either.
for pair in nobody:start nobody:delete daemon:delete bin:start; do
    who=${pair%%:*} op=${pair#*:}
    hid=$(AS "$who" "$op" test 2>&1); rh=$?
    none=$(AS "$who" "$op" td-none 2>&1); rn=$?
    expect_eq "$who $op of a VM it may not see exits as for no VM" "$rn" "$rh"
    expect_eq "$who $op of a VM it may not see is answered as no VM" "${none//td-none/test}" "$hid"
    [ "$who" = bin ] || expect_eq "$who $op: no VM is exit 3" 3 "$rh"
done
expect_match "the answer" "error: no VM named 'test'" "$(AS nobody start test 2>&1)"
out=$(AS bin list 2>&1); rc=$?
expect_eq "unknown user denied" 1 "$rc"
expect_match "unknown user rule" "identity:unknown" "$out"

# The provider rebooting a tenant VM waits for the tenant admin's approval.
json=$(VM --format json reboot td-a1); rc=$?
expect_eq "provider reboot pending exit" 1 "$rc"
expect_eq "provider reboot pending" "pending" "$(echo "$json" | jq -r .status)"
ticket=$(echo "$json" | jq -r .ticket)
out=$(AS daemon approve "$ticket" 2>&1); expect_eq "tenant-user cannot approve" 1 $?
out=$(VM approve "$ticket" 2>&1); expect_eq "requester cannot approve own ticket" 1 $?
out=$(AS nobody approve "$ticket"); expect_eq "tenant admin approves" 0 $?
expect_match "approved reboot ran" "reboot td-a1: done" "$out"
out=$(AS nobody approve "$ticket" 2>&1); expect_eq "ticket single use" 1 $?
expect_match "ticket single use message" "already approved" "$out"

# This policy lists no migration destinations: every migrate is refused before libvirt is
# called (exit 1, as a denial; it used to reach libvirt, which the root agent would have let
# connect to any URI), the answer says how to allow one, and the agent said so at start.
out=$(VM migrate td-a1 qemu+ssh://elsewhere/system 2>&1); rc=$?
expect_eq "migrate without a destination list exit" 1 "$rc"
expect_match "migrate refusal names the URI and the setting" \
    "migration to 'qemu\\+ssh://elsewhere/system' refused: the policy lists no migration.destinations" "$out"
expect_match "migrate refusal says how to allow one" "add its exact URI under 'migration: destinations:'" "$out"
json=$(VM --format json migrate td-a1 qemu+ssh://elsewhere/system); rc=$?
expect_eq "migrate refusal in JSON exits 1" 1 "$rc"
expect_eq "migrate refusal JSON status" refused "$(echo "$json" | jq -r .status)"
expect_eq "migrate refusal JSON rule" migration:destinations "$(echo "$json" | jq -r .rule)"
expect_match "agent warned at start that migrations will be refused" \
    "role provider-admin may migrate, but 'migration: destinations:' lists none" "$(cat agent.log)"

# Malformed, oversized and unknown requests on the raw socket: clear errors, agent lives on.
answers=$(python3 - "$TMP/gw.sock" <<'PY'
import socket, sys
def ask(payload):
    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(payload)
    data = b""
    while not data.endswith(b"\n"):
        chunk = s.recv(65536)
        if not chunk: break
        data += chunk
    s.close(); return data.decode(errors="replace").strip()
print(ask(b'{"v":1,"op":"list"\n'))
print(ask(b'{"v":1,"op":"format-disk","vm":"td-a1"}\n'))
print(ask(b'{"v":1,"op":"start","vm":"td-a1","sudo":true}\n'))
print(ask(b'{"v":1,"op":"start","vm":"' + b'x' * 300 + b'"}\n'))
print(ask(b'\xff\xfe garbage\n'))
print(ask(b'{"v":1,"op":"list","vm":"' + b'y' * 70000 + b'"}\n'))
PY
)
expect_match "malformed JSON refused" "bad request: request: malformed JSON" "$(sed -n 1p <<<"$answers")"
expect_match "unknown operation refused" "unknown operation 'format-disk'" "$(sed -n 2p <<<"$answers")"
expect_match "unknown field refused" "unknown field 'sudo'" "$(sed -n 3p <<<"$answers")"
expect_match "oversized field refused" "'vm' is 300 bytes, limit 128" "$(sed -n 4p <<<"$answers")"
expect_match "binary garbage refused" "malformed JSON" "$(sed -n 5p <<<"$answers")"
expect_match "oversized line refused" "limit 65536" "$(sed -n 6p <<<"$answers")"
out=$(VM list); expect_eq "agent alive after bad input" 0 $?

out=$(AS nobody delete td-a1); expect_eq "tenant admin deletes" 0 $?
sleep 0.5
kill -TERM "$AGENT"
for _ in $(seq 1 50); do kill -0 "$AGENT" 2>/dev/null || break; sleep 0.1; done
wait "$AGENT"; rc=$?
expect_eq "agent stops cleanly on SIGTERM" 0 "$rc"
expect_nomatch "socket removed" "." "$(ls gw.sock 2>/dev/null)"
expect_eq "gateway status written" "gateway" "$(jq -r .name status/gateway.json)"
expect_eq "guard status written" "guard" "$(jq -r .name status/guard.json)"
expect_eq "status says stopped" "stopped" "$(jq -r .state status/guard.json)"
# The agent owns the audit log: without audit_log.json an assessment of a platform running the
# agent reports ctl.audit_log and ctl.gateway_audit (8.2.3.3a/b) as not deployed.
expect_eq "audit_log status written" "audit_log" "$(jq -r .name status/audit_log.json 2>&1)"
expect_eq "audit_log status says stopped" "stopped" "$(jq -r .state status/audit_log.json 2>&1)"
expect_eq "audit_log status names the log" "$TMP/audit" "$(jq -r .dir status/audit_log.json 2>&1)"
expect_eq "audit_log status counts the records" \
    "$("$DBG_BIN" audit verify --log "$TMP/audit" --format json | jq .records)" \
    "$(jq .size status/audit_log.json 2>&1)"

# The audit trail: intent before outcome for every operation, denied and invalid ones too.
q() { "$DBG_BIN" audit query --log "$TMP/audit" --format json "$@"; }
all=$(q)
n_of() { echo "$all" | jq -r "[.[]? // .records[]? | select($1)] | length"; }
expect_eq "create intent+outcome" 4 "$(n_of '(.action|startswith("vm.create.")) and .outcome!="invalid"')"
expect_eq "refused creates audited under the VM they named" 2 \
    "$(n_of '.action=="vm.create.intent" and .outcome=="invalid" and .target.name=="test"')"
expect_eq "creates refused for a disk audited under its VM and tenant" 3 \
    "$(n_of '.action=="vm.create.intent" and .outcome=="invalid" and .target.name=="td-p1" and .tenant==""')"
expect_eq "denied deletes audited (2 of a VM the callers may not see)" 3 \
    "$(n_of '.action=="vm.delete.intent" and .outcome=="denied"')"
expect_eq "attempts on a VM the callers may not see audited under it" 5 \
    "$(n_of '(.action|endswith(".intent")) and .outcome=="denied" and .target.name=="test"')"
expect_eq "pending reboot audited" 1 "$(n_of '.action=="vm.reboot.intent" and .outcome=="pending"')"
expect_eq "approval audited" 1 "$(n_of '.action=="vm.approve" and .outcome=="approved"')"
expect_eq "refused approvals audited" 3 "$(n_of '.action=="vm.approve" and .outcome=="denied"')"
expect_eq "approved reboot ran as requester" "uid:0(root)" \
    "$(echo "$all" | jq -r '[.[]? // .records[]? | select(.action=="vm.reboot.outcome")][0].actor')"
expect_eq "refused migrations audited under the VM and its tenant" 2 \
    "$(n_of '.action=="vm.migrate.intent" and .outcome=="refused" and .target.name=="td-a1" and .tenant=="tenant-a"')"
expect_eq "no migration reached libvirt" 0 "$(n_of '.action=="vm.migrate.outcome"')"
expect_eq "bad requests audited" 6 "$(n_of '.action=="vm.request" and .outcome=="invalid"')"
expect_eq "delete outcome success (td-p1, td-a1)" 2 "$(n_of '.action=="vm.delete.outcome" and .outcome=="success"')"
"$DBG_BIN" audit verify --log "$TMP/audit" --pubkey "$TMP/k.pub" >/dev/null
expect_eq "audit log verifies" 0 $?
# Everything went through the gateway: the guard raised nothing.
expect_eq "no guard alerts" 0 "$(grep -c '"event_type"' eve.json 2>/dev/null || true)"
finish
