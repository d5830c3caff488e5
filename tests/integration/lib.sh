# Shared helpers for tests/integration/*.sh: assertions that count, and a summary at the end.
# Exit 77 means "skipped" to meson.
: "${DBG_BIN:?DBG_BIN must point at the dengbao binary}"
: "${DBG_SRCDIR:?DBG_SRCDIR must point at the source tree}"
T_PASS=0
T_FAIL=0
TMP=$(mktemp -d /tmp/dbg-it-XXXXXX)
trap 'rm -rf "$TMP"' EXIT

pass() { T_PASS=$((T_PASS + 1)); echo "ok - $1"; }
fail() { T_FAIL=$((T_FAIL + 1)); echo "FAIL - $1${2:+: $2}"; }
expect_eq() { if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "expected '$2', got '$3'"; fi; }
expect_match() { if printf '%s' "$3" | grep -Eq -- "$2"; then pass "$1"; else fail "$1" "'$2' not in: $(printf '%s' "$3" | head -c 600)"; fi; }
expect_nomatch() { if printf '%s' "$3" | grep -Eq -- "$2"; then fail "$1" "'$2' unexpectedly in output"; else pass "$1"; fi; }
skip_all() { echo "SKIP: $1"; exit 77; }
finish() { echo "$T_PASS passed, $T_FAIL failed"; [ "$T_FAIL" -eq 0 ]; }
