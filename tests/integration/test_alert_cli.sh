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
"$DBG_BIN" alert --clause x >/dev/null 2>&1; expect_eq "missing --type" 2 $?
"$DBG_BIN" alert --type x --severity 9 >/dev/null 2>&1; expect_eq "bad severity" 2 $?
"$DBG_BIN" alert --type x --eve /nonexistent/dir/eve.json 2>"$TMP/err"; expect_eq "unwritable eve" 3 $?
expect_match "error names the file" "/nonexistent/dir/eve.json" "$(cat "$TMP/err")"
finish
