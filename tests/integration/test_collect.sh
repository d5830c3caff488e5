#!/bin/bash
# `dengbao collect` against the demo cloud (libvirt test driver, in-process) and the demo
# sysroot: usage errors, unreachable URI, content of the snapshot, byte-identical reruns.
. "$(dirname "$0")/lib.sh"
ensure_pkgs jq:jq

CLOUD="test://$DBG_SRCDIR/data/demo/cloud.xml"
ROOT="$DBG_SRCDIR/data/demo/host-root"

out=$("$DBG_BIN" collect --help); rc=$?
expect_eq "help exits 0" 0 "$rc"
expect_match "help has usage" "Usage: dengbao collect" "$out"

err=$("$DBG_BIN" collect -o "$TMP/x.json" 2>&1); rc=$?
expect_eq "missing -c is a usage error" 2 "$rc"
expect_match "missing -c says so" "-c URI is required" "$err"

# An empty -o was found only when writing: after collecting, exit 3 with "cannot rename to".
err=$(cd "$TMP" && "$DBG_BIN" collect -c "$CLOUD" -o "" 2>&1); rc=$?
expect_eq "empty -o is a usage error" 2 "$rc"
expect_match "empty -o says so" "-o needs a file name" "$err"
expect_eq "empty -o leaves no temporary file" "" "$(cd "$TMP" && ls -A | grep '^\.tmp' || true)"

# -o naming a directory or a file in a missing one: the error names FILE first (it named only
# a temporary FILE.tmp.N, and a directory only at the rename).
err=$("$DBG_BIN" collect -c "$CLOUD" -o "$TMP" 2>&1); rc=$?
expect_eq "-o a directory exits 3" 3 "$rc"
expect_match "-o a directory says so" "collect: $TMP: cannot write: is a directory" "$err"
err=$("$DBG_BIN" collect -c "$CLOUD" -o "$TMP/missing/x.json" 2>&1); rc=$?
expect_eq "-o in a missing directory exits 3" 3 "$rc"
expect_match "-o in a missing directory names FILE" "collect: $TMP/missing/x.json: cannot write: cannot create its temporary file" "$err"

# A mistyped --controls-dir was read as "no status files": every control not deployed, its
# items 不符合, exit 0 without a word. Now a usage error, for collect and assess alike.
err=$("$DBG_BIN" collect -c "$CLOUD" --controls-dir "$TMP/no-such-status" -o "$TMP/x.json" 2>&1); rc=$?
expect_eq "missing --controls-dir is a usage error" 2 "$rc"
expect_match "missing --controls-dir named" "collect: --controls-dir '$TMP/no-such-status' is not a directory" "$err"
[ -e "$TMP/x.json" ] && fail "no snapshot written for a missing --controls-dir" || pass "no snapshot written for a missing --controls-dir"
err=$("$DBG_BIN" assess -c "$CLOUD" --controls-dir "$TMP/no-such-status" 2>&1); rc=$?
expect_eq "assess: missing --controls-dir is a usage error" 2 "$rc"
expect_match "assess: missing --controls-dir named" "assess: --controls-dir '$TMP/no-such-status' is not a directory" "$err"

err=$("$DBG_BIN" collect -c "$CLOUD" --host-root "$TMP/nope" -o "$TMP/x.json" 2>&1); rc=$?
expect_eq "bad host root is a usage error" 2 "$rc"

err=$("$DBG_BIN" collect -c "test:///nonexistent/cloud.xml" -o "$TMP/x.json" 2>&1); rc=$?
expect_eq "unreachable URI exits 3" 3 "$rc"
expect_match "unreachable URI named" "cannot connect to libvirt at 'test:///nonexistent/cloud.xml'" "$err"
[ -e "$TMP/x.json" ] && fail "no snapshot written on error" || pass "no snapshot written on error"

# A node file cut short: libvirt names file:line, then libxml2's context, which it has not
# here; the message ended in the lines "(null)" and "^". A mismatched tag keeps its context.
printf '<node>\n<network><name>n</name>\n' >"$TMP/short.xml"
for cmd in collect assess; do
    err=$("$DBG_BIN" $cmd -c "test://$TMP/short.xml" -o "$TMP/x.json" 2>&1); rc=$?
    expect_eq "$cmd: node file cut short exits 3" 3 "$rc"
    expect_match "$cmd: node file cut short names file and line" "test://$TMP/short.xml': $TMP/short.xml:3: Premature end of data" "$err"
    expect_nomatch "$cmd: no empty libxml2 context" '\(null\)|^\^$' "$err"
    expect_eq "$cmd: node file cut short is one line" 1 "$(printf '%s\n' "$err" | wc -l)"
done
printf '<node>\n<domain type="test"><name>x</name></domaine>\n</node>\n' >"$TMP/mismatch.xml"
err=$("$DBG_BIN" collect -c "test://$TMP/mismatch.xml" -o "$TMP/x.json" 2>&1)
expect_match "mismatched tag keeps libxml2's context line" '^<domain type="test"><name>x</name></domaine>$' "$err"

err=$("$DBG_BIN" collect -c "qemu+tcp://127.0.0.1:1/system" -o "$TMP/x.json" 2>&1); rc=$?
expect_eq "refused remote URI exits 3" 3 "$rc"
expect_match "refused remote URI named" "qemu\+tcp://127.0.0.1:1/system" "$err"

export SOURCE_DATE_EPOCH=1795564800
"$DBG_BIN" collect -c "$CLOUD" --host-root "$ROOT" -o "$TMP/a.json"; rc=$?
expect_eq "collect demo exits 0" 0 "$rc"
"$DBG_BIN" collect -c "$CLOUD" --host-root "$ROOT" -o - > "$TMP/b.json"
if cmp -s "$TMP/a.json" "$TMP/b.json"; then pass "two collections are byte-identical"
else fail "two collections differ" "$(diff "$TMP/a.json" "$TMP/b.json" | head -5)"; fi

# -o is written through a temporary file beside it, renamed over FILE. That name was fixed
# (FILE.tmp.PID) and opened with O_TRUNC, so a symbolic link planted there by anyone who can
# write to FILE's directory made collect (as root) overwrite the link's target and then rename
# the link over FILE. `exec` keeps the shell's pid, so the planted name is the one it used.
echo "precious" > "$TMP/victim"
OUT="$TMP/planted.json" VICTIM="$TMP/victim" CLOUD="$CLOUD" ROOT="$ROOT" bash -c \
    'ln -s "$VICTIM" "$OUT.tmp.$$"; exec "$DBG_BIN" collect -c "$CLOUD" --host-root "$ROOT" -o "$OUT"'
rc=$?
expect_eq "collect beside a planted link exits 0" 0 "$rc"
expect_eq "the planted link's target is untouched" "precious" "$(cat "$TMP/victim")"
[ -f "$TMP/planted.json" ] && [ ! -L "$TMP/planted.json" ] && cmp -s "$TMP/a.json" "$TMP/planted.json" \
    && pass "-o FILE is a regular file holding the snapshot" \
    || fail "-o FILE is not the snapshot" "$(ls -l "$TMP/planted.json")"

# Writing over an existing snapshot keeps its mode (and, as root, its owner): a file the user
# had made 0600 came back 0644 (the new temporary file's mode), readable by every local user.
echo old > "$TMP/kept.json"; chmod 600 "$TMP/kept.json"
[ "$(id -u)" = 0 ] && chown 65534 "$TMP/kept.json"
"$DBG_BIN" collect -c "$CLOUD" --host-root "$ROOT" -o "$TMP/kept.json"
expect_eq "-o over a 0600 file: still 0600" 600 "$(stat -c %a "$TMP/kept.json")"
[ "$(id -u)" = 0 ] && expect_eq "-o over another user's file (as root): owner kept" 65534 "$(stat -c %u "$TMP/kept.json")"
cmp -s "$TMP/a.json" "$TMP/kept.json" && pass "-o over a 0600 file: the snapshot written" \
    || fail "-o over a 0600 file: the snapshot written"

# Golden snapshot of the demo (machine-specific fields removed); checks and the assess golden
# depend on it, so a change in what is collected shows here first.
# DBG_TEST_REGENERATE=1 rewrites it.
GOLD="$DBG_SRCDIR/tests/cases/platform/demo-snapshot.golden.json"
jq 'del(.uri, .hostname, .host_root, .libvirt_version)' "$TMP/a.json" > "$TMP/a.norm.json"
[ -n "${DBG_TEST_REGENERATE:-}" ] && cp "$TMP/a.norm.json" "$GOLD"
if diff -u "$GOLD" "$TMP/a.norm.json" > "$TMP/gold.diff"; then pass "demo snapshot matches golden"
else fail "demo snapshot differs from golden" "$(head -30 "$TMP/gold.diff")"; fi

j() { jq -r "$1" "$TMP/a.json"; }
expect_eq "schema version" 1 "$(j .schema_version)"
expect_eq "collection time from SOURCE_DATE_EPOCH" 1795564800000000 "$(j .collected_us)"
expect_eq "7 domains" 7 "$(j '.domains | length')"
expect_eq "tenant-a VMs" "a-db-01 a-web-01 a-web-02" "$(j '[.domains[] | select(.tenant_id == "tenant-a") | .name] | join(" ")')"
expect_eq "tenant-b name" "政务办公" "$(j '.domains[] | select(.name == "b-oa-01") | .tenant_name')"
expect_eq "management VM" "mgmt-console" "$(j '[.domains[] | select(.role == "management") | .name] | join(" ")')"
expect_eq "nwfilter unsupported recorded" "false|not supported by this driver" "$(j '"\(.nwfilter_supported)|\(.nwfilter_note)"')"
expect_eq "shared L2 segment holds both tenants" "tenant-a tenant-b" \
  "$(j '[.domains[] | select(any(.ifaces[]; .source == "shared-dmz")) | .tenant_id] | unique | join(" ")')"
expect_eq "interfaces without filterref" 2 "$(j '[.domains[].ifaces[] | select(.filterref == null)] | length')"
expect_eq "open VNC" "b-portal-01" "$(j '[.domains[] | select(any(.graphics[]; .listen == "0.0.0.0" and .has_password == false)) | .name] | join(" ")')"
expect_eq "leftover volume" "old-b-crm-01.qcow2" "$(j '[.volumes[] | select(.in_use == false) | .name] | join(" ")')"
expect_eq "encrypted volumes" 2 "$(j '[.volumes[] | select(.encrypted)] | length')"
expect_eq "listen_tcp from host root, with line" "1@12" \
  "$(j '.host_files[] | select(.path == "/etc/libvirt/libvirtd.conf") | .settings[] | select(.key == "listen_tcp") | "\(.value)@\(.line)"')"
expect_eq "faillock.conf absent" false "$(j '.host_files[] | select(.path == "/etc/security/faillock.conf") | .present')"
expect_eq "controls not deployed" "0" "$(j '[.controls[] | select(.deployed)] | length')"

# Read-only (virsh -r): libvirt refuses VIR_DOMAIN_XML_SECURE and leaves every passwd out. The
# refusal is recorded, and b-oa-01's SPICE console (TLS, a password libvirt hid, on 10.10.0.2)
# is not checked rather than "exposed"; b-portal-01 (no TLS) still fails.
err=$("$DBG_BIN" collect --read-only -c "$CLOUD" --host-root "$ROOT" -o "$TMP/ro.json" 2>&1); rc=$?
expect_eq "read-only collect exits 0" 0 "$rc"
expect_match "read-only: unknown console passwords warned, once" \
  "^dengbao collect: warning: the console passwords of 7 domain\(s\) \(a-db-01, \.\.\.\): read without VIR_DOMAIN_XML_SECURE \(operation forbidden: virDomainGetXMLDesc with secure flag\)" "$err"
expect_nomatch "read and write: no such warning" "console passwords" \
  "$("$DBG_BIN" collect -c "$CLOUD" --host-root "$ROOT" -o "$TMP/rw.json" 2>&1)"
expect_eq "secure XML refusal recorded for every domain" 7 \
  "$(jq '[.domains[] | select(.secure_xml_error | test("secure flag"))] | length' "$TMP/ro.json")"
"$DBG_BIN" assess --snapshot "$TMP/ro.json" --level 3 --hosts-level 3 --format json \
  -o "$TMP/ro-assess.json" >/dev/null
ro_ev() { jq -r --arg d "$1" '.items[].evidence[] | select(.source == "libvirt virDomainGetXMLDesc(\($d))" and (.key | startswith("<graphics"))) | .observed' "$TMP/ro-assess.json" | sort -u; }
expect_match "hidden password is not known" "TLS yes, password not known \(XML read without VIR_DOMAIN_XML_SECURE" "$(ro_ev b-oa-01)"
expect_match "console without TLS still exposed" "TLS no, password no" "$(ro_ev b-portal-01)"
expect_eq "console check still fails on b-portal-01" fail \
  "$(jq -r '[.items[].checks[] | select(.id == "cmp.console_exposure") | .result] | unique | join(" ")' "$TMP/ro-assess.json")"

# A FIFO where a host file should be (a copy taken with its /run, a hostile copy) was opened
# for reading and waited on for ever: collect never returned. Now it is "not a regular file",
# recorded and warned like an unreadable file; the copy's other files are still read.
FR="$TMP/fifo-root"
cp -r "$ROOT" "$FR"
rm -f "$FR/etc/ssh/sshd_config" "$FR/etc/login.defs"
mkfifo "$FR/etc/ssh/sshd_config"
mkdir -p "$FR/run/dengbao/status" && mkfifo "$FR/run/dengbao/status/guard.json"
ln -s /etc/ssh/sshd_config "$FR/etc/login.defs"
err=$(timeout 60 "$DBG_BIN" collect -c "$CLOUD" --host-root "$FR" -o "$TMP/fifo.json" 2>&1); rc=$?
expect_eq "FIFOs in the host root: collect returns, exit 0" 0 "$rc"
expect_match "FIFO sshd_config warned" "warning: /etc/ssh/sshd_config: cannot be read \(not a regular file \(a FIFO\)\)" "$err"
expect_eq "FIFO reached through a link recorded" "cannot be read (not a regular file (a FIFO))" \
    "$(jq -r '.host_files[] | select(.path == "/etc/login.defs") | .error' "$TMP/fifo.json")"
expect_eq "FIFO status file: control unknown" true "$(jq '.controls[] | select(.name == "guard") | .unknown' "$TMP/fifo.json")"
expect_eq "the other files still read" "1" \
    "$(jq -r '.host_files[] | select(.path == "/etc/libvirt/libvirtd.conf") | .settings[] | select(.key == "listen_tcp") | .value' "$TMP/fifo.json")"

# A healthy control's status file under the host root is picked up (pids are not checked for
# a copied sysroot).
mkdir -p "$TMP/root/run/dengbao/status"
cp -r "$ROOT/etc" "$TMP/root/"
now=$(date -u +%Y-%m-%dT%H:%M:%S.000000Z)
printf '{"name":"guard","pid":1,"updated":"%s","ok":true,"detail":"ok"}\n' "$now" > "$TMP/root/run/dengbao/status/guard.json"
unset SOURCE_DATE_EPOCH
"$DBG_BIN" collect -c "$CLOUD" --host-root "$TMP/root" -o "$TMP/c.json"
expect_eq "guard deployed and healthy" "true true" "$(jq -r '.controls[] | select(.name == "guard") | "\(.deployed) \(.healthy)"' "$TMP/c.json")"

# A collector without the rights to read some host files (Debian keeps /etc/audit 0750 and a
# hardened sshd_config 0600): the snapshot records why, collect warns, and the checks that
# need those files say 未检查 (error) instead of judging an empty file by its defaults.
NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups"
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null && $NOBODY "$DBG_BIN" --help >/dev/null 2>&1; then
    RO=$(mktemp -d /tmp/dbg-ro-XXXXXX); chmod 755 "$RO"
    cp -r "$ROOT/etc" "$RO/"; cp "$DBG_SRCDIR/data/demo/cloud.xml" "$RO/"
    mkdir -p "$RO/run/dengbao/status"
    printf '{"name":"guard","pid":1,"updated":"%s","ok":true,"detail":"ok"}\n' \
        "$(date -u +%Y-%m-%dT%H:%M:%S.000000Z)" > "$RO/run/dengbao/status/guard.json"
    chmod 600 "$RO/etc/ssh/sshd_config"; chmod 700 "$RO/etc/audit" "$RO/run/dengbao/status"
    chmod 777 "$RO"
    err=$($NOBODY "$DBG_BIN" collect -c "test://$RO/cloud.xml" --host-root "$RO" -o "$RO/s.json" 2>&1)
    rc=$?
    expect_eq "unprivileged collect exits 0" 0 "$rc"
    expect_match "unreadable sshd_config warned" "warning: /etc/ssh/sshd_config: cannot be read \(cannot open: Permission denied\)" "$err"
    expect_match "unreachable auditd.conf warned" "warning: /etc/audit/auditd.conf: cannot stat: Permission denied" "$err"
    expect_match "unsearchable status directory warned" "warning: control guard: /run/dengbao/status/guard.json: cannot be looked for \(Permission denied\)" "$err"
    expect_match "unlistable rules.d warned" "warning: /etc/audit/rules.d/\*.rules: the directory cannot be listed \(Permission denied\)" "$err"
    "$DBG_BIN" assess --snapshot "$RO/s.json" --level 3 --format json -o "$RO/a.json" >/dev/null 2>&1
    for c in host.root_login host.idle_timeout host.audit_retention ctl.guard; do
        expect_eq "$c not checked when its file is unreadable" error \
            "$(jq -r --arg c "$c" '[.. | objects | select(.id? == $c and .layer?)][0].result' "$RO/a.json")"
    done
    "$DBG_BIN" collect -c "test://$RO/cloud.xml" --host-root "$RO" -o "$RO/r.json" 2>/dev/null
    "$DBG_BIN" assess --snapshot "$RO/r.json" --level 3 --format json -o "$RO/b.json" >/dev/null 2>&1
    expect_eq "the same files read by root: root_login judged" partial \
        "$(jq -r '[.. | objects | select(.id? == "host.root_login" and .layer?)][0].result' "$RO/b.json")"
    expect_eq "the same files read by root: the guard judged" pass \
        "$(jq -r '[.. | objects | select(.id? == "ctl.guard" and .layer?)][0].result' "$RO/b.json")"
    rm -rf "$RO"
else
    pass "unprivileged collect skipped: needs root, setpriv and a binary user nobody can run"
fi

# Under systemd socket activation libvirtd.conf's listen_tcp is ignored; what listens is seen in
# the live host's socket table. A network namespace made here stands for the host: a listener
# on libvirt's plain-TCP port 16509 inside it (no traffic is sent) fails cmp.remote_tls.
NS=dbg-ltn-$$
if [ "$(id -u)" = 0 ] && command -v ip >/dev/null && ip netns add "$NS" 2>/dev/null; then
    ip -n "$NS" link set lo up
    remote_tls_evidence() {
        ip netns exec "$NS" "$DBG_BIN" collect -c "$CLOUD" -o "$TMP/ns.json" 2>/dev/null
        "$DBG_BIN" assess --snapshot "$TMP/ns.json" --level 3 --format json -o "$TMP/ns-a.json" \
            >/dev/null 2>&1
        jq -r '[.. | objects | select(.check? == "cmp.remote_tls")] | unique | .[] |
               "\(.source) \(.observed)"' "$TMP/ns-a.json"
        jq -r '[.. | objects | select(.id? == "cmp.remote_tls" and .layer?)][0].result' "$TMP/ns-a.json"
    }
    out=$(remote_tls_evidence)
    expect_nomatch "no listener in the namespace: none reported" "listening on a network address" "$out"
    ip netns exec "$NS" python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET6)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("::", 16509)); s.listen(1)
print("ready", flush=True); time.sleep(120)' > "$TMP/ltn.out" &
    lpid=$!
    for _ in $(seq 50); do grep -q ready "$TMP/ltn.out" && break; sleep 0.1; done
    out=$(remote_tls_evidence)
    kill "$lpid" 2>/dev/null; wait "$lpid" 2>/dev/null
    expect_match "a listener on 16509 is reported from /proc/net/tcp6" \
        "/proc/net/tcp6:[0-9]+ \[::\]:16509: libvirt's tcp port is listening on a network address now" "$out"
    expect_eq "a plain-TCP listener fails cmp.remote_tls" fail "$(printf '%s\n' "$out" | tail -1)"
    ip netns del "$NS"
else
    pass "socket table test skipped: needs root and network namespaces"
fi

err=$("$DBG_BIN" collect -c "$CLOUD" -o "$TMP/no/such/dir/x.json" 2>&1); rc=$?
expect_eq "unwritable output exits 3" 3 "$rc"
expect_match "unwritable output named" "$TMP/no/such/dir" "$err"
finish
