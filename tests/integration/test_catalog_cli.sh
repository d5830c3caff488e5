#!/bin/bash
# `dengbao catalog`: list filters and counts, show as JSON with the contract keys, --catalog with
# a file or directory, malformed catalogs reported as file:line:column, exit codes 0/2/3.
set -u
. "$(dirname "$0")/lib.sh"
B=$DBG_BIN
CASES=$DBG_SRCDIR/tests/cases/catalog

out=$("$B" catalog --help); rc=$?
expect_eq "help exit" 0 "$rc"
expect_match "help usage" "Usage: dengbao catalog" "$out"

count() { "$B" catalog list --format json "$@" | jq -r .count; }
expect_eq "L3 cloud count" 46 "$(count --level 3 --extension cloud)"
expect_eq "L4 cloud count" 49 "$(count --level 4 --extension cloud)"
expect_eq "L2 cloud count" 28 "$(count --level 2 --extension cloud)"
expect_eq "L1 cloud count" 12 "$(count --level 1 --extension cloud)"
expect_eq "L3 general count" 74 "$(count --level 3 --extension general)"
expect_eq "L3 general 安全计算环境" 34 "$(count --level 3 --extension general --layer 安全计算环境)"
expect_eq "L3 general boundary alias" 20 "$(count --level 3 --extension general --layer boundary)"
expect_eq "L3 general 安全管理中心" 12 "$(count --level 3 --extension general --layer center)"
expect_eq "text list lines = json count" 46 "$("$B" catalog list --level 3 --extension cloud | grep -c '^L3-')"
expect_eq "json items = count" 46 "$("$B" catalog list --level 3 --extension cloud --format json | jq '.items | length')"

json=$("$B" catalog show 8.2.4.3b --level 3 --format json); rc=$?
expect_eq "show exit" 0 "$rc"
for k in id clause level layer control_point text objects responsibility checks; do
    expect_eq "show has key $k" true "$(printf '%s' "$json" | jq "has(\"$k\")")"
done
expect_eq "show id" "L3-cloud-8.2.4.3b" "$(printf '%s' "$json" | jq -r .id)"
expect_eq "show level" 3 "$(printf '%s' "$json" | jq -r .level)"
expect_eq "show layer" "安全计算环境" "$(printf '%s' "$json" | jq -r .layer)"
expect_eq "show iaas" provider "$(printf '%s' "$json" | jq -r .responsibility.iaas)"
expect_eq "show checks is a list" array "$(printf '%s' "$json" | jq -r '.checks | type')"
# 8.2.1.1 (infrastructure in China) is manual: no check can prove it, only an attestation.
expect_eq "manual item has no checks" 0 "$("$DBG_BIN" catalog show 8.2.1.1 --level 3 --format json | jq '.checks | length')"
expect_eq "show L4 sibling" "L4-cloud-9.2.4.3b" "$("$B" catalog show 8.2.4.3b --level 4 --format json | jq -r .id)"
expect_eq "show by id" "8.2.2.1a" "$("$B" catalog show L3-cloud-8.2.2.1a --format json | jq -r .clause)"
out=$("$B" catalog show 8.2.4.5c --level 2); rc=$?
expect_eq "show text exit" 0 "$rc"
expect_match "show L2 wording" "应确保虚拟机迁移过程中重要数据的完整性" "$out"
expect_match "show L2 unverified" "verified: +no" "$out"

# Chinese documents write the letter in full-width parentheses (and space with U+3000); ids in
# any case. These named no item (exit 2) before.
for spelled in "8.2.4.3（b）" "8.2.4.3 b）" "8.2.4.3　b" "l3-cloud-8.2.4.3b" "L3-CLOUD-8.2.4.3B"; do
    expect_eq "show '$spelled'" "L3-cloud-8.2.4.3b" "$("$B" catalog show "$spelled" --format json | jq -r .id)"
done
expect_eq "show '9.2.4.3（b）' at level 3" "L3-cloud-8.2.4.3b" \
    "$("$B" catalog show "9.2.4.3（b）" --level 3 --format json | jq -r .id)"
# An empty list says why (it printed nothing, exit 0, as if level 4 had no general requirement).
err=$("$B" catalog list --level 4 --extension general 2>&1 >"$TMP/empty.txt"); rc=$?
expect_eq "empty list exits 0" 0 "$rc"
expect_eq "empty list prints no item" "" "$(cat "$TMP/empty.txt")"
expect_match "empty list names where such items are" "no item matches; the catalog has such items at level\(s\) 3 only, not at level 4" "$err"
err=$("$B" catalog list --level 2 --extension general --format json 2>&1 >"$TMP/empty.json")
expect_eq "empty JSON list: count 0" 0 "$(jq .count "$TMP/empty.json")"
expect_match "empty JSON list: said on stderr" "at level\(s\) 3 only, not at level 2" "$err"
expect_match "no match at any level" "no item matches these filters" "$("$B" catalog list --layer policy 2>&1)"
expect_eq "a non-empty list says nothing on stderr" "" "$("$B" catalog list --level 3 2>&1 >/dev/null)"
# A control point names no single item: the error lists its items instead of a bare "no item".
err=$("$B" catalog show 8.2.4.3 2>&1); rc=$?
expect_eq "control point -> 2" 2 "$rc"
expect_match "control point: its items listed" "no item '8.2.4.3' in the catalog; control point 8.2.4.3 has 8.2.4.3a, 8.2.4.3b, 8.2.4.3c$" "$(echo "$err" | head -1)"
expect_match "control point at a level" "control point 9.2.4.4 has 9.2.4.4a, 9.2.4.4b, 9.2.4.4c" \
    "$("$B" catalog show 9.2.4.4 --level 4 2>&1)"
expect_match "no such item: nothing more" "no item '8.2.4.1x' in the catalog$" "$("$B" catalog show 8.2.4.1x 2>&1 | head -1)"
"$B" catalog show 8.2.4.3b --level 2 >/dev/null 2>&1; expect_eq "not at level 2 -> 2" 2 $?
"$B" catalog show 1.2.3.4 >/dev/null 2>&1; expect_eq "unknown item -> 2" 2 $?
"$B" catalog list --level 7 >/dev/null 2>&1; expect_eq "--level 7 -> 2" 2 $?
"$B" catalog list --extension mobile >/dev/null 2>&1; expect_eq "bad extension -> 2" 2 $?
"$B" catalog list --layer 火星 >/dev/null 2>&1; expect_eq "bad layer -> 2" 2 $?
"$B" catalog list --format xml >/dev/null 2>&1; expect_eq "bad format -> 2" 2 $?
"$B" catalog frobnicate >/dev/null 2>&1; expect_eq "bad subcommand -> 2" 2 $?
"$B" catalog >/dev/null 2>&1; expect_eq "no subcommand -> 2" 2 $?

# --catalog: a copy of the shipped directory, a single file with its own weights, broken files.
cp -r "$DBG_SRCDIR/data/catalog" "$TMP/cat"
expect_eq "--catalog dir" 46 "$(count --catalog "$TMP/cat" --level 3 --extension cloud)"
cat > "$TMP/one.yaml" <<'YAML'
extension: cloud
requirements:
  - levels: {3: 8.2.1.1}
    layer: 安全物理环境
    control_point: 基础设施位置
    text: 测试条目
    weight: 0.7
YAML
expect_eq "--catalog file" "测试条目" "$("$B" catalog show 8.2.1.1 --catalog "$TMP/one.yaml" --format json | jq -r .text)"
out=$("$B" catalog list --catalog "$CASES/level7.yaml" 2>&1); rc=$?
expect_eq "level7 exit" 3 "$rc"
expect_match "level7 message" "level7.yaml:5:26: level 7 is not 1..4" "$out"
out=$("$B" catalog validate --catalog "$CASES/duplicate_id.yaml" 2>&1); rc=$?
expect_eq "duplicate exit" 3 "$rc"
expect_match "duplicate message" "duplicate_id.yaml:10:5: duplicate id 'L3-cloud-8.2.1.1'" "$out"
out=$("$B" catalog list --catalog "$CASES/bad_yaml.yaml" 2>&1); rc=$?
expect_eq "bad yaml exit" 3 "$rc"
expect_match "bad yaml message" "bad_yaml.yaml:6:2: YAML syntax error" "$out"
out=$("$B" catalog list --catalog "$CASES/unknown_key.yaml" 2>&1)
expect_match "unknown key message" "unknown_key.yaml:8:5: unknown key 'txet'" "$out"
"$B" catalog list --catalog "$TMP/nope" >/dev/null 2>&1; expect_eq "missing catalog -> 3" 3 $?
# A check id dengbao does not have: assess refuses such a catalog, so validate must not call
# it sound ("0 errors, 0 warnings", exit 0 before) nor list or show from it.
sed 's/weight: 0.7/weight: 0.7\n    checks: [ctl.no_such_check]/' "$TMP/one.yaml" >"$TMP/unknown_check.yaml"
for sub in validate list "show 8.2.1.1"; do
    # shellcheck disable=SC2086
    out=$("$B" catalog $sub --catalog "$TMP/unknown_check.yaml" 2>&1); rc=$?
    expect_eq "catalog $sub with an unregistered check -> 3" 3 "$rc"
    expect_match "catalog $sub names the check and where" \
        "unknown_check.yaml:3:5: L3-cloud-8.2.1.1: check 'ctl.no_such_check' is not registered" "$out"
done
# A catalog without items is refused like a directory without *.yaml (an empty or comment-only
# file validated as "0 items, 0 errors" and exited 0).
mkdir "$TMP/emptydir"
out=$("$B" catalog validate --catalog "$TMP/emptydir" 2>&1); rc=$?
expect_eq "validate empty dir -> 3" 3 "$rc"
expect_match "empty dir message" "no \*.yaml catalog files" "$out"
: >"$TMP/empty.yaml"
printf '# only a comment\n' >"$TMP/comment.yaml"
for f in empty comment; do
    out=$("$B" catalog validate --catalog "$TMP/$f.yaml" 2>&1); rc=$?
    expect_eq "validate $f file -> 3" 3 "$rc"
    expect_match "validate $f file says no items" "$f.yaml: no requirement items" "$out"
done
cp "$DBG_SRCDIR/data/catalog/scoring.yaml" "$TMP/emptydir/"
out=$("$B" catalog validate --catalog "$TMP/emptydir" 2>&1); rc=$?
expect_eq "validate dir of scoring only -> 3" 3 "$rc"
expect_match "scoring-only dir says no items" "no requirement items" "$out"
# A broken file dropped into a catalog directory breaks the load, naming that file.
cp "$CASES/level7.yaml" "$TMP/cat/zz.yaml"
out=$("$B" catalog list --catalog "$TMP/cat" 2>&1); rc=$?
expect_eq "dir with broken file -> 3" 3 "$rc"
expect_match "dir names file" "zz.yaml:5:26" "$out"

out=$("$B" catalog validate); rc=$?
expect_eq "validate shipped" 0 "$rc"
expect_match "validate 0 errors" "0 errors, 0 warnings" "$out"
expect_eq "show has remediation_en" "Run virsh vol-wipe" \
    "$("$B" catalog show 8.2.4.7a --level 3 --format json | jq -r .remediation_en | cut -c1-18)"
# A catalog written before remediation_en still validates (exit 0): the missing English is a
# warning per requirement at its line, not an error (assess and report load it too).
cat >"$TMP/noen.yaml" <<'YAML'
schema: 1
extension: cloud
requirements:
  - levels: {3: 8.2.1.1, 4: 9.2.1.1}
    layer: 安全物理环境
    control_point: 基础设施位置
    text: 应保证云计算基础设施位于中国境内。
    remediation: 机房置于境内。
YAML
out=$("$B" catalog validate --catalog "$TMP/noen.yaml" 2>&1); rc=$?
expect_eq "validate without remediation_en -> 0" 0 "$rc"
expect_match "validate warns at the requirement" \
    "noen.yaml:4:5: warning: cloud-8.2.1.1: remediation has no English text .remediation_en absent, or the same text as remediation.; --lang en reports show the Chinese one" "$out"
expect_match "validate counts one warning per requirement" "2 items, 0 errors, 1 warnings" "$out"
# remediation_en that is the Chinese again (an alias of it, or a copy) is no translation: the
# same warning, and show gives no remediation_en (English reports mark the Chinese)
cat >"$TMP/aliasen.yaml" <<'YAML'
schema: 1
extension: cloud
requirements:
  - levels: {3: 8.2.1.1, 4: 9.2.1.1}
    layer: 安全物理环境
    control_point: 基础设施位置
    text: 应保证云计算基础设施位于中国境内。
    remediation: &rem 机房置于境内。
    remediation_en: *rem
YAML
out=$("$B" catalog validate --catalog "$TMP/aliasen.yaml" 2>&1); rc=$?
expect_eq "validate with remediation_en aliasing the Chinese -> 0" 0 "$rc"
expect_match "... warns as for none" "aliasen.yaml:4:5: warning: cloud-8.2.1.1: remediation has no English text" "$out"
expect_eq "... and carries no remediation_en" "null" \
    "$("$B" catalog show 8.2.1.1 --level 3 --format json --catalog "$TMP/aliasen.yaml" | jq -r .remediation_en)"
# an option the subcommand does not take is a usage error naming it, not taken and ignored
# (validate --format json printed text; show --layer filtered nothing)
for args in "validate --format json" "validate --level 3" "show 8.2.4.3b --layer compute" \
            "show 8.2.4.3b --extension general"; do
    # shellcheck disable=SC2086
    out=$("$B" catalog $args 2>&1); rc=$?
    expect_eq "catalog $args: usage error" 2 "$rc"
    expect_match "catalog $args: names the option" "does not take --" "$out"
done
"$B" catalog show 8.2.4.3b --level 3 --format json --catalog "$DBG_SRCDIR/data/catalog" >/dev/null
expect_eq "show takes --level --format --catalog" 0 $?

# [高风险] forces 差 when open; the list says once when the flags follow an unverified list
# (high_risk_basis), as the shipped files' do; it printed [高风险] with no word of that.
out=$("$B" catalog list --level 3)
expect_eq "list: one note on unverified high-risk flags" 1 "$(printf '%s\n' "$out" | grep -c '^注: \[高风险\] 依据未经核实的高风险清单: ')"
expect_match "list note: the cloud list's source" "的云计算高风险清单（T/ISEAA 001-2020 未获得）" "$out"
expect_match "list note: the general list's source" "的通用高风险示例（T/ISEAA 001-2020 未获得）" "$out"
expect_eq "list JSON: each high-risk item's basis unverified" 0 \
    "$("$B" catalog list --level 3 --format json | jq '[.items[] | select(.high_risk and .high_risk_basis.verified)] | length')"
expect_eq "list JSON: every item carries high_risk_basis" 0 \
    "$("$B" catalog list --format json | jq '[.items[] | select(.high_risk_basis | type != "object")] | length')"
expect_match "show: the basis" "high risk basis: unverified \(参考资料" "$("$B" catalog show 8.2.1.1 --level 3)"
# items listed none of which is high-risk: no note
expect_eq "list without high-risk items: no note" 0 \
    "$("$B" catalog list --level 3 --layer 安全物理环境 --extension general | grep -c '^注:')"
hr_cat() { # $1: the high_risk_basis line (or nothing)
    printf 'schema: 1\nextension: cloud\n%brequirements:\n  - levels: {3: 8.2.1.1}\n    layer: 安全物理环境\n    control_point: 基础设施位置\n    text: t\n    high_risk: true\n' "$1"
}
hr_cat 'high_risk_basis: {verified: true, source: "T/ISEAA 001-2020 表 1"}\n' > "$TMP/hr-verified.yaml"
out=$("$B" catalog list --catalog "$TMP/hr-verified.yaml"); rc=$?
expect_eq "verified basis: list exit 0" 0 $rc
expect_match "verified basis: the item is still marked" "\[高风险\]" "$out"
expect_eq "verified basis: no note" 0 "$(printf '%s\n' "$out" | grep -c '注:')"
expect_eq "verified basis: JSON says verified" true \
    "$("$B" catalog list --catalog "$TMP/hr-verified.yaml" --format json | jq '.items[0].high_risk_basis.verified')"
hr_cat '' > "$TMP/hr-none.yaml"
expect_match "no basis stated: unverified, and said" "注: \[高风险\] 依据未经核实的高风险清单: 目录文件未说明其依据" \
    "$("$B" catalog list --catalog "$TMP/hr-none.yaml")"
hr_cat 'high_risk_basis: {verified: yes please, source: x}\n' > "$TMP/hr-bad.yaml"
out=$("$B" catalog validate --catalog "$TMP/hr-bad.yaml" 2>&1); rc=$?
expect_eq "malformed high_risk_basis: validate exit 3" 3 $rc
expect_match "malformed high_risk_basis: file:line:col" "hr-bad.yaml:3:29: verified must be true or false" "$out"
finish
