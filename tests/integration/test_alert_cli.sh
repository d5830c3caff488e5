#!/bin/bash
# `dengbao alert`: one alert to an EVE file, parsed back with jq; usage errors exit 2.
set -u
. "$(dirname "$0")/lib.sh"

"$DBG_BIN" alert --type unauthorized_vm_start --clause 8.2.4.3b --severity 1 --src-vm web-1 \
    --tenant tenant-a --evidence "no authorization found" --eve "$TMP/eve.json"
expect_eq "alert exit" 0 $?
expect_eq "signature" unauthorized_vm_start "$(jq -r .alert.signature "$TMP/eve.json")"
expect_eq "severity" 1 "$(jq -r .alert.severity "$TMP/eve.json")"
expect_eq "tenant" tenant-a "$(jq -r .dengbao.src.tenant "$TMP/eve.json")"
# A tenant one byte too long for its field, in three-byte characters: cut between characters,
# not dropped from the record.
long_tenant="a$(printf '租%.0s' $(seq 21))"
"$DBG_BIN" alert --type x --src-ip 10.0.0.1 --tenant "$long_tenant" --src-vm web01 \
    --eve "$TMP/long.json"
expect_eq "long tenant alert exit" 0 $?
expect_eq "long tenant cut between characters" "${long_tenant%租}" \
    "$(jq -r .dengbao.src.tenant "$TMP/long.json")"
# A type longer than its field (47 bytes), in three-byte characters: cut between them (it
# ended in U+FFFD, the broken half of the 16th character)
long_type="$(printf '扫%.0s' $(seq 20))"
"$DBG_BIN" alert --type "$long_type" --eve "$TMP/long_type.json"
expect_eq "long type alert exit" 0 $?
expect_eq "long type cut between characters" "$(printf '扫%.0s' $(seq 15))" \
    "$(jq -r .alert.signature "$TMP/long_type.json")"
"$DBG_BIN" alert --clause x >/dev/null 2>&1; expect_eq "missing --type" 2 $?
"$DBG_BIN" alert --type x --severity 9 >/dev/null 2>&1; expect_eq "bad severity" 2 $?
# an address field a SIEM keys on holds an address, or nothing
"$DBG_BIN" alert --type x --src-ip notanip --eve "$TMP/badip.json" 2>"$TMP/err"
expect_eq "--src-ip that is no address: usage error" 2 $?
expect_match "naming the option and value" "--src-ip: 'notanip'" "$(cat "$TMP/err")"
expect_eq "and nothing written" "" "$(cat "$TMP/badip.json" 2>/dev/null)"
"$DBG_BIN" alert --type x --dest-ip 10.0.0.300 >/dev/null 2>&1; expect_eq "bad --dest-ip" 2 $?
out=$("$DBG_BIN" alert --type x --syslog tcp:127.0.0.1:514 2>&1); rc=$?
expect_eq "unsupported syslog transport: usage error" 2 $rc
expect_match "says what is accepted, and where help is" "use unix:PATH or udp:HOST:PORT.*Try 'dengbao alert --help'" "$(echo $out)"
"$DBG_BIN" alert --type x --src-ip fd00::5 --dest-ip 10.0.0.3 --eve "$TMP/v6.json"
expect_eq "IPv6 and IPv4 addresses accepted" "fd00::5 10.0.0.3" \
    "$(jq -r '"\(.src_ip) \(.dest_ip)"' "$TMP/v6.json")"
"$DBG_BIN" alert --type x --eve /nonexistent/dir/eve.json 2>"$TMP/err"; expect_eq "unwritable eve" 3 $?
expect_match "error names the file" "/nonexistent/dir/eve.json" "$(cat "$TMP/err")"
# Past the file size limit (ulimit -f 2: 2048 bytes in bash) a write fails with EFBIG: an error
# naming the file, the cut line taken back, the file still all whole lines. SIGXFSZ used to kill
# the process (exit 153).
head -c 1900 /dev/zero | tr '\0' x > "$TMP/full.json"; echo >> "$TMP/full.json"
(ulimit -f 2; "$DBG_BIN" alert --type x --evidence "$(printf 'e%.0s' $(seq 100))" \
    --eve "$TMP/full.json" 2>"$TMP/err")
expect_eq "alert past the size limit exits 3, not killed by SIGXFSZ" 3 $?
expect_match "and says so, naming the file" "full.json: cannot write alert" "$(cat "$TMP/err")"
expect_eq "no cut line left behind" 1901 "$(stat -c %s "$TMP/full.json")"
"$DBG_BIN" alert --type x >/dev/full 2>"$TMP/err"
expect_eq "EVE to a full stdout: runtime error" 3 $?
expect_match "naming stdout (it said 'stream')" "^dengbao alert: stdout: cannot write alert" \
    "$(cat "$TMP/err")"
finish
