#!/bin/bash
# cppcheck over all of src/ must stay clean (STYLE.md).
set -u
. "$(dirname "$0")/lib.sh"
ensure_pkgs cppcheck:cppcheck
out=$("$DBG_SRCDIR/scripts/cppcheck" "$DBG_BUILDDIR" 2>&1)
rc=$?
expect_eq "cppcheck clean" 0 "$rc"
[ "$rc" = 0 ] || printf '%s\n' "$out" | head -40
finish
