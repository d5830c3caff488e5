#!/bin/bash
# cppcheck over all of src/ must stay clean (STYLE.md).
set -u
. "$(dirname "$0")/lib.sh"
ensure_pkgs cppcheck:cppcheck
out=$(cppcheck --quiet --error-exitcode=1 --enable=warning,portability --inline-suppr --std=c11 \
    -D_GNU_SOURCE -I"$DBG_SRCDIR/include" -I"$DBG_SRCDIR/src" -I"$DBG_BUILDDIR" "$DBG_SRCDIR/src" 2>&1)
rc=$?
expect_eq "cppcheck clean" 0 "$rc"
[ "$rc" = 0 ] || printf '%s\n' "$out" | head -40
finish
