#!/bin/bash
# The CLI contract shared by every command: --help exits 0 and prints a usage line; unknown
# commands and options exit 2 (DESIGN.md exit codes).
set -u
. "$(dirname "$0")/lib.sh"

for cmd in grade catalog collect assess report audit vm agent sensor image volume alert store serve; do
    out=$("$DBG_BIN" "$cmd" --help 2>&1); rc=$?
    expect_eq "$cmd --help exit" 0 "$rc"
    expect_match "$cmd --help usage" "Usage: dengbao $cmd" "$out"
done
"$DBG_BIN" --help >/dev/null; expect_eq "top --help" 0 $?
"$DBG_BIN" >/dev/null 2>&1; expect_eq "no command" 2 $?
"$DBG_BIN" no-such-command >/dev/null 2>&1; expect_eq "unknown command" 2 $?
out=$("$DBG_BIN" --version); expect_match "version" "^dengbao [0-9]" "$out"
finish
