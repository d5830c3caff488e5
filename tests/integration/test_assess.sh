#!/bin/bash
# `dengbao assess` and `dengbao report` end to end on the demo cloud (libvirt test driver +
# demo host sysroot + demo attestations): golden verdicts for every item, JSON Schema
# validation, collect + assess --snapshot byte-identical to a live run, every format, the
# baseline diff, waivers, the exit-code bar, and bad input (exit 3) / bad usage (exit 2).
# DBG_TEST_REGENERATE=1 rewrites tests/cases/assess/demo-golden.json.
. "$(dirname "$0")/lib.sh"
ensure_pkgs jsonschema:python3-jsonschema
cd "$DBG_SRCDIR" || exit 1
export SOURCE_DATE_EPOCH=1795564800 NO_COLOR=1
URI="test:///$DBG_SRCDIR/data/demo/cloud.xml"
GOLDEN=tests/cases/assess/demo-golden.json
SCHEMA=docs/schema/assess-report.schema.json
demo() { "$DBG_BIN" assess -c "$URI" --host-root data/demo/host-root --level 3 --hosts-level 3 \
    --attest data/demo/attest.yaml "$@"; }
# The golden file must not depend on where the tree is checked out.
normalise() { sed "s#$DBG_SRCDIR#@SRCDIR@#g" "$1"; }
validate() { python3 - "$SCHEMA" "$1" <<'PY'
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft7Validator.check_schema(schema)
jsonschema.validate(json.load(open(sys.argv[2])), schema)
print("valid")
PY
}

# --- live run: golden verdicts, schema ---
demo --format json -o "$TMP/live.json" >"$TMP/summary.txt"
expect_eq "live demo run exits 1 (findings)" 1 $?
expect_match "summary printed when the report goes to a file" "综合得分: [0-9]+\.[0-9]{2}" "$(cat "$TMP/summary.txt")"
expect_eq "result validates against the JSON Schema" valid "$(validate "$TMP/live.json" 2>&1 | tail -1)"
normalise "$TMP/live.json" >"$TMP/live.norm.json"
if [ "${DBG_TEST_REGENERATE:-0}" = 1 ]; then
    cp "$TMP/live.norm.json" "$GOLDEN"
    echo "regenerated $GOLDEN"
fi
if cmp -s "$GOLDEN" "$TMP/live.norm.json"; then pass "demo result equals the golden file"
else fail "demo result equals the golden file" "$(diff "$GOLDEN" "$TMP/live.norm.json" | head -20)"; fi
verdict() { jq -r --arg c "$1" '.items[] | select(.clause == $c) | .verdict' "$TMP/live.json"; }
# The deliberate gaps of the demo cloud, each found by looking at the data.
expect_eq "two tenants on one L2 segment: 8.2.2.1b 不符合" 不符合 "$(verdict 8.2.2.1b)"
expect_match "isolation evidence names the shared network" "shared-dmz" \
    "$(jq -r '.items[] | select(.clause == "8.2.2.1b") | .evidence[].source' "$TMP/live.json")"
expect_eq "libvirtd listen_tcp: 8.2.4.1 不符合" 不符合 "$(verdict 8.2.4.1)"
expect_eq "leftover volume: 8.2.4.7a 不符合" 不符合 "$(verdict 8.2.4.7a)"
expect_eq "unencrypted sensitive VM: 8.2.4.4c 不符合" 不符合 "$(verdict 8.2.4.4c)"
expect_eq "no guard deployed: 8.2.4.3b 不符合" 不符合 "$(verdict 8.2.4.3b)"
expect_eq "management network separated: 8.2.5.1b 符合" 符合 "$(verdict 8.2.5.1b)"
expect_eq "no auditd pid file in the sysroot: auditd not running, 8.1.4.3a 不符合" 不符合 "$(verdict 8.1.4.3a)"
expect_eq "auditd not running: 8.1.4.3d 不符合" 不符合 "$(verdict 8.1.4.3d)"
expect_eq "shell start-up files collected: no TMOUT is a finding, not an error" fail \
    "$(jq -r '.items[] | select(.clause == "8.1.4.1b") | .checks[] | select(.id == "host.idle_timeout") | .result' "$TMP/live.json")"
expect_eq "attested manual item: 8.2.1.1 符合" 符合 "$(verdict 8.2.1.1)"
# --controls-dir: the evidence cites the status file that was judged, not the default path
mkdir -p "$TMP/ctl"
printf '{"name":"sensor","updated":"%s","pid":1,"ok":true,"detail":"capturing br0"}\n' \
    "$(date -u -d "@$SOURCE_DATE_EPOCH" +%FT%TZ)" >"$TMP/ctl/sensor.json"
demo --controls-dir "$TMP/ctl" --format json -o "$TMP/ctl.json" >/dev/null
expect_match "control evidence cites the status file read" "^$TMP/ctl/sensor.json\$" \
    "$(jq -r '[.items[].evidence[] | select(.source | endswith("/sensor.json")) | .source] | unique[]' "$TMP/ctl.json")"
expect_eq "and not the default path" "" \
    "$(jq -r '.items[].evidence[] | select(.source | startswith("/run/dengbao/status/")) | .source' "$TMP/ctl.json" | sort -u)"
expect_eq "unattested manual item stays 未检查" 未检查 "$(verdict 8.1.4.4e)"
expect_eq "no item is 符合 without evidence" 0 \
    "$(jq '[.items[] | select(.verdict == "符合" and ([.evidence[] | select(.ok)] | length) == 0)] | length' "$TMP/live.json")"
expect_eq "every gap has remediation" 0 \
    "$(jq '[.gaps[].items[] | select(.remediation == "")] | length' "$TMP/live.json")"
expect_eq "open high-risk items force 差" 差 "$(jq -r .score.conclusion "$TMP/live.json")"
expect_match "the model used is stated" "dengbao-mlps2-deduction" "$(jq -r .score.model.name "$TMP/live.json")"

# --- offline: collect, then assess the snapshot: byte-identical ---
"$DBG_BIN" collect -c "$URI" --host-root data/demo/host-root -o "$TMP/snap.json"
expect_eq "collect exits 0" 0 $?
"$DBG_BIN" assess --snapshot "$TMP/snap.json" --level 3 --hosts-level 3 --attest data/demo/attest.yaml \
    --format json -o "$TMP/offline.json" >/dev/null
expect_eq "offline assess exits 1" 1 $?
if cmp -s "$TMP/live.json" "$TMP/offline.json"; then pass "assess --snapshot is byte-identical to the live run"
else fail "assess --snapshot is byte-identical to the live run" "$(diff "$TMP/live.json" "$TMP/offline.json" | head)"; fi

# --- VMs without tenant metadata (a plain libvirt host): not checked, never 不适用 or a pass ---
offline_item() { "$DBG_BIN" assess --snapshot "$1" --level 3 --hosts-level 3 --format json -o "$TMP/o.json" \
    >/dev/null; jq -r --arg c "$2" '.items[] | select(.clause == $c) | .verdict' "$TMP/o.json"; }
jq '.domains |= map(del(.tenant_id, .tenant_name, .tenant_source))' "$TMP/snap.json" >"$TMP/notenant.json"
for c in 8.2.2.1b 8.2.3.1a 8.2.4.2a 8.2.4.2b; do
    expect_eq "no VM names a tenant: $c 未检查" 未检查 "$(offline_item "$TMP/notenant.json" $c)"
done
expect_match "the evidence names the unlabelled VMs" "name no tenant .*: .*b-portal-01" \
    "$(jq -r '.items[] | select(.clause == "8.2.2.1b") | .evidence[] | select(.ok == false) | .observed' "$TMP/o.json")"
jq '.domains |= map(if .name == "b-portal-01" then del(.tenant_id, .tenant_name, .tenant_source) else . end)' \
    "$TMP/snap.json" >"$TMP/onelabel.json"
offline_item "$TMP/onelabel.json" 8.2.2.1b >/dev/null
expect_eq "an unlabelled VM on tenant-a's shared-dmz: isolation not checked" error \
    "$(jq -r '.items[] | select(.clause == "8.2.2.1b") | .checks[] | select(.id == "net.tenant_isolation") | .result' "$TMP/o.json")"
jq '.domains |= map(if .name == "b-portal-01" then del(.tenant_id, .tenant_name, .tenant_source)
    | .ifaces[0].source = "mgmt-net" else . end)' "$TMP/snap.json" >"$TMP/onmgmt.json"
expect_eq "an unlabelled VM on the management network: 8.2.5.1b 未检查" 未检查 \
    "$(offline_item "$TMP/onmgmt.json" 8.2.5.1b)"
expect_match "the evidence names it" "on management network mgmt-net name no tenant .*: b-portal-01" \
    "$(jq -r '.items[] | select(.clause == "8.2.5.1b") | .evidence[] | select(.ok == false) | .observed' "$TMP/o.json")"
jq '.domains |= map(if .name == "b-portal-01" then .ifaces[0].source = "mgmt-net" else . end)' \
    "$TMP/snap.json" >"$TMP/tenantmgmt.json"
expect_eq "a tenant VM on the management network: 8.2.5.1b 不符合" 不符合 \
    "$(offline_item "$TMP/tenantmgmt.json" 8.2.5.1b)"
jq '.domains |= map(if .tenant_id then del(.tenant_id) else . end)' "$TMP/snap.json" >"$TMP/nameonly.json"
expect_eq "tenants named without an id are still tenants: 8.2.2.1b 不符合" 不符合 \
    "$(offline_item "$TMP/nameonly.json" 8.2.2.1b)"
# A VM naming its tenant by name only, on a network whose owner is given by id: the two are
# compared only where some VM or network gives that name with an id.
isolation() { offline_item "$1" 8.2.2.1b >/dev/null
    jq -r '.items[] | select(.clause == "8.2.2.1b") | .checks[] | select(.id == "net.tenant_isolation") | .result' "$TMP/o.json"; }
jq '.domains |= map(if .name == "a-web-01" then del(.tenant_id) else . end
    | if .name == "b-portal-01" then .ifaces[0].source = "tenant-b-office" else . end)' \
    "$TMP/snap.json" >"$TMP/tied.json"
expect_eq "a tenant named by name only, its name tied to the owner's id elsewhere: isolated" pass \
    "$(isolation "$TMP/tied.json")"
jq '(.domains, .networks) |= map(del(.tenant_name))
    | .domains |= map(if .name == "a-web-01" then del(.tenant_id) | .tenant_name = "华东电商" else . end)' \
    "$TMP/tied.json" >"$TMP/untied.json"
expect_eq "a name nothing ties to the owner's id: isolation not checked" error "$(isolation "$TMP/untied.json")"
expect_match "the evidence names the pair" \
    "whether tenants id tenant-a \\(VM a-web-02\\) and name 华东电商 \\(VM a-web-01\\) are one tenant cannot" \
    "$(jq -r '.items[] | select(.clause == "8.2.2.1b") | .evidence[] | select(.ok == false) | .observed' "$TMP/o.json")"

# --- text longer than any fixed buffer: cut nowhere inside a character, never dropped ---
{ printf 'attestations:\n  - item: L3-cloud-8.2.1.1\n    verdict: 符合\n    attested_by: a'
  for _ in $(seq 340); do printf '陈'; done
  printf '\n    date: 2026-11-20\n    document: 机房租赁合同\n'; } >"$TMP/long-attest.yaml"
"$DBG_BIN" assess --snapshot "$TMP/snap.json" --level 3 --hosts-level 3 --attest "$TMP/long-attest.yaml" \
    --format json -o "$TMP/long.json" >/dev/null
expect_match "a long attester keeps the item's reason" "陈 on 2026-11-20" \
    "$(jq -r '.items[] | select(.clause == "8.2.1.1") | .reason' "$TMP/long.json")"
"$DBG_BIN" report "$TMP/long.json" --format text >/dev/null
expect_eq "dengbao report reads that result back" 0 $?
long=$(printf '门户%.0s' $(seq 50))-b-portal-01
jq --arg n "$long" '.domains |= map(if .name == "b-portal-01" then .name = $n else . end)' "$TMP/snap.json" \
    >"$TMP/longname.json"
"$DBG_BIN" assess --snapshot "$TMP/longname.json" --level 3 --hosts-level 3 --format json -o "$TMP/o.json" >/dev/null
expect_match "a long VM name keeps its failing console evidence" "false libvirt virDomainGetXMLDesc\(门户门户" \
    "$(jq -r '.items[] | select(.clause == "8.1.4.1c") | .evidence[] | "\(.ok) \(.source)"' "$TMP/o.json")"

# --- formats ---
demo --format html -o "$TMP/r.html" >/dev/null
expect_match "html: Chinese, self-contained, with an SVG chart" "lang=\"zh-CN\".*" "$(head -c 200 "$TMP/r.html")"
expect_eq "html: inline SVG present" 1 "$(grep -c '<svg' "$TMP/r.html")"
expect_eq "html: nothing loaded from elsewhere" 0 "$(grep -Ec '<(link|script|img)[ >]' "$TMP/r.html")"
expect_eq "html: parses" ok "$(python3 -c '
import sys, html.parser
class P(html.parser.HTMLParser):
    def __init__(s): super().__init__(); s.stack=[]
    def handle_starttag(s,t,a):
        if t not in ("meta","br","rect","input"): s.stack.append(t)
    def handle_endtag(s,t):
        if t in ("rect",): return
        assert s.stack and s.stack[-1]==t, (t, s.stack[-3:]); s.stack.pop()
p=P(); p.feed(open(sys.argv[1]).read()); assert not p.stack, p.stack; print("ok")' "$TMP/r.html" 2>&1 | tail -1)"
"$DBG_BIN" report "$TMP/live.json" --format html -o "$TMP/re.html"
expect_eq "report re-renders the saved JSON to the same HTML" "$(md5sum <"$TMP/r.html")" "$(md5sum <"$TMP/re.html")"
en=$("$DBG_BIN" report "$TMP/live.json" --format html --lang en)
expect_match "html --lang en" "Gap summary.*|lang=\"en\"" "$en"
demo --format junit -o "$TMP/j.xml" >/dev/null
expect_eq "junit: one testcase per item" "$(jq '.items | length' "$TMP/live.json")" \
    "$(python3 -c 'import sys,xml.etree.ElementTree as E; print(len(E.parse(sys.argv[1]).getroot().findall(".//testcase")))' "$TMP/j.xml")"
expect_eq "junit: failures = 不符合 + 部分符合" \
    "$(jq '[.items[] | select(.verdict == "不符合" or .verdict == "部分符合")] | length' "$TMP/live.json")" \
    "$(python3 -c 'import sys,xml.etree.ElementTree as E; print(E.parse(sys.argv[1]).getroot().get("failures"))' "$TMP/j.xml")"
# CI shows a failure's text: each failure ends with the item's remediation, in the report's
# language (English where the catalog has it); skipped items carry none.
junit_fix() { python3 - "$1" "$2" <<'PY'
import sys, xml.etree.ElementTree as E
root, label = E.parse(sys.argv[1]).getroot(), sys.argv[2] + ": "
wrong = 0
for case in root.iter("testcase"):
    for tag in ("failure", "skipped"):
        el = case.find(tag)
        if el is None:
            continue
        lines = (el.text or "").rstrip("\n").split("\n")
        wrong += (tag == "failure") != lines[-1].startswith(label)
print(wrong)
PY
}
expect_eq "junit: every failure ends with its remediation, no skipped item has one" 0 \
    "$(junit_fix "$TMP/j.xml" 整改建议)"
"$DBG_BIN" report "$TMP/live.json" --format junit --lang en -o "$TMP/j-en.xml"
expect_eq "junit --lang en: the same in English" 0 "$(junit_fix "$TMP/j-en.xml" Remediation)"
fix_en=$(jq -r '[.items[] | select(.verdict == "不符合" and .remediation_en)][0].remediation_en' "$TMP/live.json")
expect_eq "junit --lang en: the catalog's English remediation" True \
    "$(python3 -c 'import sys,xml.etree.ElementTree as E; print(any(f.text.endswith("\nRemediation: " + sys.argv[2] + "\n") for f in E.parse(sys.argv[1]).getroot().iter("failure")))' "$TMP/j-en.xml" "$fix_en")"
# Each piece of evidence is one line of a JUnit failure. A VM named with a newline (libvirt
# allows it) started a line of its own there, reading as an item found 符合; the text report
# shows it as \n, and so does JUnit now.
sed 's#<name>b-portal-01</name>#<name>web\&\#10;8.2.4.3b 符合 forged</name>#' \
    data/demo/cloud.xml >"$TMP/nl-cloud.xml"
"$DBG_BIN" assess -c "test:///$TMP/nl-cloud.xml" --host-root data/demo/host-root --format json \
    -o "$TMP/nl.json" >/dev/null
expect_eq "a VM named with a newline is collected" true \
    "$(jq '[.items[].evidence[] | select(.source | contains("web\n8.2.4.3b"))] | length > 0' "$TMP/nl.json")"
"$DBG_BIN" report "$TMP/nl.json" --format junit -o "$TMP/nl.xml"
expect_eq "junit: no evidence line starts with the name's second line" 0 \
    "$(grep -c '^8.2.4.3b 符合 forged' "$TMP/nl.xml")"
expect_match "junit: the newline shown as \\n" 'DomainGetXMLDesc\(web\\n8\.2\.4\.3b 符合 forged\)' "$(cat "$TMP/nl.xml")"
expect_match "text: the newline shown as \\n" 'DomainGetXMLDesc\(web\\n8\.2\.4\.3b 符合 forged\)' \
    "$("$DBG_BIN" report "$TMP/nl.json")"
text=$("$DBG_BIN" report "$TMP/live.json")
expect_match "text report lists the gaps by layer" "差距汇总" "$text"
# Whose duty each gap is (the IaaS split the deck draws): 8.2.4.6a (the customer keeps its own
# backup) and 8.2.6.1 (the customer chooses its provider) read as the provider's gaps, with a
# remediation the provider cannot carry out, when the gap summary did not say whose they are.
expect_eq "gaps carry the item's responsibility" "tenant shared provider" \
    "$(jq -r '[.gaps[].items[] | select(.clause == "8.2.4.6a" or .clause == "8.2.3.3a" or .clause == "8.2.2.1b")] | sort_by(.clause) | reverse | map(.responsibility) | join(" ")' "$TMP/live.json")"
expect_eq "every gap's responsibility is its item's" 0 \
    "$(jq '([.items[] | {key: .id, value: .responsibility}] | from_entries) as $r | [.gaps[].items[] | select(.responsibility != $r[.id])] | length' "$TMP/live.json")"
expect_match "text gap summary: the customer's duty says so" "8\.2\.4\.6a 数据备份恢复 [^ ]+  风险: .  责任方: 云服务客户" "$text"
expect_match "text gap summary: a shared duty says so" "8\.2\.3\.3a 安全审计 [^ ]+  风险: .  责任方: 云服务商与云服务客户" "$text"
expect_match "text gap summary (en): owner" "8\.2\.4\.6a .*Owner: cloud customer" "$("$DBG_BIN" report "$TMP/live.json" --lang en)"
expect_match "html gap summary: an owner column" "<th>责任方</th>.*<td>云服务客户</td></tr>" \
    "$("$DBG_BIN" report "$TMP/live.json" --format html | tr -d '\n')"
# a value no assess writes is not shown raw
jq '(.gaps[0].items[0].responsibility) = "<b>x</b>"' "$TMP/live.json" >"$TMP/resp.json"
expect_nomatch "an unknown responsibility is not shown" "<b>x</b>|责任方: <" \
    "$("$DBG_BIN" report "$TMP/resp.json"; "$DBG_BIN" report "$TMP/resp.json" --format html)"
expect_nomatch "no colour when not a terminal" $'\033\\[' "$text"

# --- baseline: an older result where the guard and isolation were fine ---
jq '(.items[] | select(.clause == "8.2.4.3b" or .clause == "8.2.2.1b") | .verdict) = "符合"
    | (.items[] | select(.clause == "8.2.4.5c") | .verdict) = "不符合"' "$TMP/live.json" >"$TMP/old.json"
demo --baseline "$TMP/old.json" --format json -o "$TMP/b.json" >/dev/null
expect_eq "baseline: regressions listed" "8.2.2.1b 8.2.4.3b" \
    "$(jq -r '[.baseline.regressions[].clause] | sort | join(" ")' "$TMP/b.json")"
expect_eq "baseline: improvements listed" "8.2.4.5c" "$(jq -r '[.baseline.improvements[].clause] | join(" ")' "$TMP/b.json")"
expect_eq "baseline result validates" valid "$(validate "$TMP/b.json" 2>&1 | tail -1)"
btext=$("$DBG_BIN" report "$TMP/b.json")
expect_match "text shows regressions before improvements" "退步: 2.*改进: 1" "$(echo "$btext" | tr '\n' ' ')"

# --- waivers: one valid, one expired (judged at the collection time 2026-11-25) ---
cat >"$TMP/waivers.yaml" <<'W'
waivers:
  - item: L3-cloud-8.2.4.3b
    justification: dengbao guard rollout scheduled (change CHG-2026-118)
    owner: platform-security
    expiry: 2027-03-31
  - check: ctl.sensor
    justification: old exception
    owner: noc
    expiry: 2026-10-31
W
demo --waivers "$TMP/waivers.yaml" --format json -o "$TMP/w.json" >/dev/null
expect_eq "waived item keeps its verdict" 不符合 "$(jq -r '.items[] | select(.clause == "8.2.4.3b") | .verdict' "$TMP/w.json")"
expect_eq "waiver recorded on the item" platform-security "$(jq -r '.items[] | select(.clause == "8.2.4.3b") | .waiver.owner' "$TMP/w.json")"
expect_eq "expired waiver listed, not applied" ctl.sensor "$(jq -r '.waivers.expired[0].check' "$TMP/w.json")"
expect_eq "score after waivers is higher" true "$(jq '.score.value_after_waivers > .score.value' "$TMP/w.json")"
expect_eq "score before waivers unchanged" "$(jq .score.value "$TMP/live.json")" "$(jq .score.value "$TMP/w.json")"
# the waivers listed as applied (the text and HTML reports show who waived what) are the items'
jq '.waivers.applied[0].owner = "someone else"' "$TMP/w.json" >"$TMP/w-forged.json"
out=$("$DBG_BIN" report "$TMP/w-forged.json" 2>&1); rc=$?
expect_eq "applied waiver edited: exit 3" 3 $rc
expect_match "applied waiver edited: names it" 'w-forged.json: \$\.waivers\.applied\[0\]: not the waiver of \$\.items\[' "$out"
out=$("$DBG_BIN" report "$TMP/w.json" 2>&1); rc=$?
expect_eq "waived result renders: exit 0" 0 $rc
expect_match "text report lists the applied waiver" '豁免: .* \(platform-security, ' "$out"

# --- exit 0 when the bar is met: a one-item catalog the demo host satisfies ---
cat >"$TMP/catalog.yaml" <<'C'
schema: 1
extension: general
requirements:
  - levels: {3: 8.1.4.3b}
    layer: 安全计算环境
    control_point: 安全审计
    text: 审计记录应包括事件的日期和时间。
    objects: [宿主机]
    weight: 1
    checks: [host.time_sync]
    remediation: chrony
C
"$DBG_BIN" assess -c "$URI" --host-root data/demo/host-root --catalog "$TMP/catalog.yaml" --format json >"$TMP/one.json"
expect_eq "exit 0 when the conclusion meets the bar" 0 $?
expect_eq "one item, 符合, score 100" "符合 100" "$(jq -r '"\(.items[0].verdict) \(.score.value)"' "$TMP/one.json")"
# the result names that catalog (absolute), and report holds its items against it
expect_eq "--catalog: the result names it" "{\"shipped\":false,\"path\":\"$(realpath "$TMP/catalog.yaml")\"}" \
    "$(jq -c .catalog "$TMP/one.json")"
(cd / && "$DBG_BIN" report "$TMP/one.json" >/dev/null)
expect_eq "--catalog: report checks the items against it (from another directory)" 0 $?
sed -i 's/weight: 1$/weight: 2/' "$TMP/catalog.yaml"
out=$("$DBG_BIN" report "$TMP/one.json" 2>&1); rc=$?
expect_eq "--catalog: the item's weight no longer the catalog's: exit 3" 3 $rc
expect_match "--catalog: names the item and both weights" \
    "one.json: \\\$\\.items\\[0\\]\\.weight: 1 saved for item 'L3-general-8.1.4.3b', but the catalog \\($(realpath "$TMP/catalog.yaml")\\) gives it 2" "$out"

# --- bad input: exit 3 with a message naming what and where ---
# a catalog without the level asked for (the one-item catalog above is level 3's, or an empty
# file) was 'the catalog has no items at level 2', naming no file
out=$("$DBG_BIN" assess --snapshot "$TMP/snap.json" --catalog "$TMP/catalog.yaml" --level 2 2>&1); rc=$?
expect_eq "catalog without the level: exit 3" 3 $rc
expect_match "catalog without the level: names it" "catalog.yaml: the catalog has no items at level 2 \\(1 at others\\)" "$out"
echo '{"schema_version": 1, "domains": [' >"$TMP/bad-snap.json"
out=$("$DBG_BIN" assess --snapshot "$TMP/bad-snap.json" 2>&1); rc=$?
expect_eq "malformed snapshot: exit 3" 3 $rc
expect_match "malformed snapshot: names the file" "bad-snap.json" "$out"
printf 'attestations:\n  - item: L3-cloud-8.2.1.1\n    verdict: 符合\n' >"$TMP/bad-attest.yaml"
out=$(demo --attest "$TMP/bad-attest.yaml" 2>&1); rc=$?
expect_eq "malformed attestation: exit 3" 3 $rc
expect_match "malformed attestation: file and line" "bad-attest.yaml:2: 'attested_by' is missing from the entry at this line" "$out"
# 不适用 takes an item out of the score: an attestation of it needs its reason (note), named at
# the verdict's line and column; with it, the summary lists the high-risk item taken out.
sed '7s/verdict: 符合/verdict: 不适用/' data/demo/attest.yaml >"$TMP/na-attest.yaml"
out=$(demo --attest "$TMP/na-attest.yaml" 2>&1); rc=$?
expect_eq "不适用 without a reason: exit 3" 3 $rc
expect_match "不适用 without a reason: the verdict's place" "na-attest.yaml:7:14: verdict 不适用 needs a 'note'" "$out"
sed '10a\    note: 平台不自建机房' "$TMP/na-attest.yaml" >"$TMP/na-note-attest.yaml"
out=$(demo --attest "$TMP/na-note-attest.yaml" 2>&1); rc=$?
expect_eq "不适用 with a reason: findings, exit 1" 1 $rc
expect_match "the summary counts the high-risk items not applicable" "^不适用的高风险项 \(不计分\): 1$" "$out"
expect_match "the summary names it, who and why" \
    "^  8.2.1.1 基础设施位置: 人工确认 陈静 \(演示云 安全负责人\) 2026-11-20 — 平台不自建机房$" "$out"
# the item named twice (id, then the clause as the standard prints it): which verdict stood
# depended on the order of the file, and the second was reported 'checked automatically'
{ sed -n '1,20p' data/demo/attest.yaml
  printf '  - item: 8.2.2.1 d)\n    verdict: 不符合\n    attested_by: b\n    date: 2026-11-21\n'
  printf '    document: d\n'; } >"$TMP/twice-attest.yaml"
out=$(demo --attest "$TMP/twice-attest.yaml" 2>&1); rc=$?
expect_eq "one item attested under two names: exit 3" 3 $rc
expect_match "one item attested under two names: both lines" \
    "twice-attest.yaml:21:11: item 8.2.2.1 d\) is already attested at line 16 \(as L3-cloud-8.2.2.1d\)" "$out"
printf 'attestations:\n  - item: 8.2.1.1\n    verdict: 符合\n    attested_by: a\n    date: 2026-11-20\n    document: d\n    notes: typo\n' >"$TMP/typo-attest.yaml"
out=$(demo --attest "$TMP/typo-attest.yaml" 2>&1); rc=$?
expect_eq "attestation with an unknown key: exit 3" 3 $rc
expect_match "attestation with an unknown key: file, the key's line and column" "typo-attest.yaml:7:5: unknown key 'notes'" "$out"
# warnings about an entry read but matching nothing to do name its item/check value's line and
# column, as load errors do (they named the entry's line)
printf 'attestations:\n  - item: 8.2.2.1a\n    verdict: 符合\n    attested_by: a\n    date: 2026-11-20\n    document: d\n' >"$TMP/decided-attest.yaml"
printf 'waivers:\n  - item: 8.2.4.3x\n    justification: j\n    owner: o\n    expiry: 2027-01-01\n' >"$TMP/nothing-waivers.yaml"
demo --attest "$TMP/decided-attest.yaml" --waivers "$TMP/nothing-waivers.yaml" --format json -o "$TMP/warn.json" >/dev/null
expect_match "attestation of an item its checks decided: the item value's place" \
    "^$TMP/decided-attest.yaml:2:11: attestation for 8.2.2.1a ignored: its checks decided it \(符合\)" \
    "$(jq -r '.warnings[]' "$TMP/warn.json")"
expect_match "waiver for no item: the item value's place" \
    "^$TMP/nothing-waivers.yaml:2:11: waiver for item 8.2.4.3x covers nothing: no such item at this level$" \
    "$(jq -r '.warnings[]' "$TMP/warn.json")"
# --- an attestation is evidence of this assessment: older than the level's assessment period
# at the collection (2026-11-25, SOURCE_DATE_EPOCH) it is an earlier one's and not applied ---
expect_eq "the demo's attestations are all within the period" 0 \
    "$(jq '[.warnings[] | select(test("refused"))] | length' "$TMP/live.json")"
att() { printf '  - item: %s\n    verdict: 符合\n    attested_by: 审计员\n    date: %s\n    document: d\n' "$1" "$2"; }
{ echo 'attestations:'
  att 6.2.1.1 1899-01-01   # line 2: level 1 has no period
  att 7.2.1.1 2025-01-01   # line 7: 692 days, inside level 2's 731
  att 8.2.1.1 2025-10-01   # line 12 (date 15:11): 420 days, beyond level 3's year (366)
  att 8.2.7.1 2025-12-01   # line 17 (date 20:11): 358 days, inside it
  att 9.2.1.1 2026-05-01   # line 22 (date 25:11): 207 days, beyond level 4's half year (184)
} >"$TMP/attest-age.yaml"
aged() { "$DBG_BIN" assess --snapshot "$TMP/snap.json" --attest "$TMP/attest-age.yaml" --format json "$@"; }
item_verdict() { jq -r --arg c "$2" '.items[] | select(.clause == $c) | .verdict' "$1"; }
aged --level 1 -o "$TMP/age1.json" >/dev/null
expect_eq "level 1: no period, an 1899 attestation applies" 符合 "$(item_verdict "$TMP/age1.json" 6.2.1.1)"
aged --level 2 -o "$TMP/age2.json" >/dev/null
expect_eq "level 2: 692 days old applies (731)" 符合 "$(item_verdict "$TMP/age2.json" 7.2.1.1)"
aged --level 3 -o "$TMP/age3.json" >/dev/null
expect_eq "level 3: 420 days old is not applied" 未检查 "$(item_verdict "$TMP/age3.json" 8.2.1.1)"
expect_eq "level 3: the stale attestation is not recorded" null \
    "$(jq -c '.items[] | select(.clause == "8.2.1.1") | .attestation' "$TMP/age3.json")"
expect_eq "level 3: the reason says why" \
    "manual item: the attestation at $TMP/attest-age.yaml:15:11 is dated 2025-10-01, more than 366 days before the collection, and was refused" \
    "$(jq -r '.items[] | select(.clause == "8.2.1.1") | .reason' "$TMP/age3.json")"
stale_warning="$TMP/attest-age.yaml:15:11: attestation for 8.2.1.1 refused: dated 2025-10-01, more than 366 days before the snapshot was collected (2026-11-25T00:00:00.000000Z), the limit of level 3's assessment period (data/grade/grade.yaml); it is evidence of an earlier assessment, not of this one, so it is not applied"
expect_eq "level 3: a warning names file, the date's line:column, date and limit" 1 \
    "$(jq --arg w "$stale_warning" '[.warnings[] | select(. == $w)] | length' "$TMP/age3.json")"
expect_eq "level 3: 358 days old applies" 符合 "$(item_verdict "$TMP/age3.json" 8.2.7.1)"
expect_match "level 3: the text report shows the warning" "提示: .*attest-age.yaml:15:11: attestation for 8.2.1.1 refused: dated 2025-10-01, more than 366 days" \
    "$("$DBG_BIN" report "$TMP/age3.json")"
"$DBG_BIN" report "$TMP/age3.json" --format html -o "$TMP/age3.html" >/dev/null
expect_match "level 3: the HTML report shows the warning" "attest-age.yaml:15:11: attestation for 8.2.1.1 refused: dated 2025-10-01, more than 366 days" \
    "$(cat "$TMP/age3.html")"
aged --level 3 --attest-max-age 500 -o "$TMP/age3-500.json" >/dev/null
expect_eq "--attest-max-age 500 raises the limit: 420 days old applies" 符合 "$(item_verdict "$TMP/age3-500.json" 8.2.1.1)"
expect_eq "--attest-max-age 500: nothing refused" 0 "$(jq '[.warnings[] | select(test("refused"))] | length' "$TMP/age3-500.json")"
aged --level 3 --attest-max-age 300 -o "$TMP/age3-300.json" >/dev/null
expect_eq "--attest-max-age 300 lowers the limit: 358 days old is not applied" 未检查 "$(item_verdict "$TMP/age3-300.json" 8.2.7.1)"
expect_eq "--attest-max-age 300: the warning names the option" 1 \
    "$(jq '[.warnings[] | select(test("attest-age.yaml:20:11: attestation for 8.2.7.1 refused: dated 2025-12-01, more than 300 days before .*, the limit of --attest-max-age 300;"))] | length' "$TMP/age3-300.json")"
aged --level 4 -o "$TMP/age4.json" >/dev/null
expect_eq "level 4: 207 days old is not applied (184)" 未检查 "$(item_verdict "$TMP/age4.json" 9.2.1.1)"
expect_eq "level 4: the warning names level 4's period" 1 \
    "$(jq '[.warnings[] | select(test("attest-age.yaml:25:11: attestation for 9.2.1.1 refused: dated 2026-05-01, more than 184 days .* level 4.s assessment period"))] | length' "$TMP/age4.json")"
aged --level 4 --attest-max-age 366 -o "$TMP/age4-366.json" >/dev/null
expect_eq "level 4 --attest-max-age 366: 207 days old applies" 符合 "$(item_verdict "$TMP/age4-366.json" 9.2.1.1)"
for v in 0 -1 abc 12x 36501 ''; do
    out=$("$DBG_BIN" assess --snapshot "$TMP/snap.json" --attest "$TMP/attest-age.yaml" --attest-max-age "$v" 2>&1); rc=$?
    expect_eq "--attest-max-age '$v': exit 2" 2 $rc
    expect_match "--attest-max-age '$v': names the option" "--attest-max-age must be a number of days" "$out"
done
expect_match "assess --help documents --attest-max-age" "--attest-max-age DAYS" "$("$DBG_BIN" assess --help)"

# Exit 0 needs no high-risk item left 未检查 either (the help said only "no open high-risk
# item"): a catalog of two manual items, a heavy one attested 符合 and a light high-risk one
# not attested, scores 99.01 with no open high-risk item and still exits 1.
cat >"$TMP/hr-cat.yaml" <<'YAML'
extension: cloud
requirements:
  - levels: {3: 8.2.1.1}
    layer: 安全物理环境
    control_point: 基础设施位置
    text: a
    weight: 10
  - levels: {3: 8.2.7.1}
    layer: 安全运维管理
    control_point: 云计算环境管理
    text: b
    weight: 0.1
    high_risk: true
YAML
printf 'attestations:\n  - item: 8.2.1.1\n    verdict: 符合\n    attested_by: a\n    date: 2026-01-01\n    document: d\n' >"$TMP/hr-attest.yaml"
"$DBG_BIN" assess --snapshot "$TMP/snap.json" --catalog "$TMP/hr-cat.yaml" --attest "$TMP/hr-attest.yaml" \
    --attest-max-age 36500 --format json -o "$TMP/hr.json" >/dev/null; rc=$?
expect_eq "unchecked high-risk item: score >= 75, none open" "99.01 0 1" \
    "$(jq -r '.score | "\(.value_after_waivers) \(.open_high_risk_after_waivers) \(.unchecked_high_risk_after_waivers)"' "$TMP/hr.json")"
expect_eq "unchecked high-risk item: exit 1" 1 "$rc"
expect_match "assess --help: exit 0 needs no high-risk item left 未检查" \
    "no open\s+high-risk item, nor one left 未检查" "$("$DBG_BIN" assess --help | tr '\n' ' ')"

printf 'waivers:\n  - item: X\n    justification: j\n    owner: o\n    expiry: soon\n' >"$TMP/bad-waivers.yaml"
out=$(demo --waivers "$TMP/bad-waivers.yaml" 2>&1); rc=$?
expect_eq "malformed waivers: exit 3" 3 $rc
expect_match "malformed waivers: file, the field's line and column" "bad-waivers.yaml:5:13: expiry 'soon'" "$out"
jq '.gaps[0].items[0].risk = "x\"><script>alert(1)</script>"' "$TMP/live.json" >"$TMP/evil.json"
out=$("$DBG_BIN" report "$TMP/evil.json" --format html -o "$TMP/evil.html" 2>&1); rc=$?
expect_eq "result file with a crafted gap risk: exit 3" 3 $rc
expect_match "crafted gap risk: names the path" 'evil.json: \$.gaps\[0\].items\[0\].risk' "$out"
expect_eq "crafted gap risk: no live script written" 0 "$(cat "$TMP/evil.html" 2>/dev/null | grep -c '<script>')"
# A result whose summary contradicts its own items (damaged, or edited by hand) is refused with
# the JSON path, instead of rendering "符合 100, 测评结论 优" over a list of 不符合 items.
damaged() { # jq-filter path-regex label
    jq "$1" "$TMP/live.json" >"$TMP/damaged.json"
    out=$("$DBG_BIN" report "$TMP/damaged.json" 2>&1); rc=$?
    expect_eq "$3: exit 3" 3 $rc
    expect_match "$3: names the path" "damaged.json: $2" "$out"
}
# A score key of the wrong type or missing is named with its own path and type (a string
# score.value said "$.score: missing value, value_after_waivers, model or counts").
damaged '.score.value = "80"' '\$\.score\.value: a string, should be a number' "score.value a string"
damaged 'del(.score.value_after_waivers)' '\$\.score\.value_after_waivers: missing \(should be a number\)' \
    "score.value_after_waivers missing"
damaged '.score.counts = []' '\$\.score\.counts: an array, should be an object' "score.counts an array"
damaged '.score = 80' '\$\.score: a number, should be an object' "score a number"
damaged '.score.counts["符合"] += 100' '\$\.score\.counts\.符合: [0-9]+, but \$\.items has [0-9]+ 符合' \
    "counts edited"
damaged '.score.conclusion = "优"' 'the saved score does not follow from .*\$\.score\.conclusion: .优. saved, .差. recomputed' \
    "conclusion edited"
damaged '.score.meets_bar = true' 'the saved score does not follow from .*\$\.score\.meets_bar: true saved, false recomputed' \
    "meets_bar edited"
# The score values are recomputed from the items with the model assess uses, not taken from
# the file: an edited open high-risk count or score value (which left the conclusion, the bar
# and the counts consistent) rendered with exit 0 before. Each field is named with its saved
# and recomputed value.
ohr=$(jq '.score.open_high_risk' "$TMP/live.json")
damaged '.score.open_high_risk = 0 | .score.value += 5' \
    "the saved score does not follow from .*\\\$\\.score\\.value: [0-9.]+ saved, [0-9.]+ recomputed; \\\$\\.score\\.open_high_risk: 0 saved, $ohr recomputed" \
    "open_high_risk and score value edited"
damaged '.score.open_high_risk_after_waivers += 1' \
    'the saved score does not follow from .*\$\.score\.open_high_risk_after_waivers: [0-9]+ saved, [0-9]+ recomputed' \
    "open_high_risk_after_waivers edited"
damaged '.score.value_after_waivers = 100' \
    'the saved score does not follow from .*\$\.score\.value_after_waivers: 100 saved, [0-9.]+ recomputed' "score after waivers edited"
damaged '.score.unchecked_high_risk += 2' 'the saved score does not follow from .*\$\.score\.unchecked_high_risk: [0-9]+ saved' \
    "unchecked_high_risk edited"
damaged '.score.basic_compliance = (.score.basic_compliance | not)' \
    'the saved score does not follow from .*\$\.score\.basic_compliance: (true|false) saved, (true|false) recomputed' \
    "basic_compliance edited"
damaged '(.items[] | select(.high_risk and .verdict == "不符合") | .high_risk) |= false' \
    "the saved score does not follow from .*\\\$\\.score\\.open_high_risk: $ohr saved, 0 recomputed" "items' high_risk edited"
# The gap summary shows each open item once, as its item is: a gap given twice in place of
# another kept the count and hid a 不符合 item; a gap's risk, waived flag or clause edited read
# 风险: 低 / 已豁免 for an item the score counts open. Both rendered with exit 0 before.
damaged '.gaps[0].items[1] = .gaps[0].items[0]' \
    "\\\$\\.gaps\\[0\\]\\.items\\[1\\]: a second gap for item '$(jq -r '.gaps[0].items[0].id' "$TMP/live.json")'" \
    "a gap given twice in place of another"
damaged '(.gaps[].items[] | select(.risk == "高") | .risk) |= "低"' \
    '\$\.gaps\[[0-9]+\]\.items\[[0-9]+\]\.risk: 低 saved, 高 recomputed from item' "gap risk edited"
damaged '.gaps[0].items[0].waived = true' \
    "\\\$\\.gaps\\[0\\]\\.items\\[0\\]\\.waived: true, but item '.*' in \\\$\\.items has no waiver" \
    "gap marked waived"
damaged '.gaps[0].items[0].clause = "9.9.9"' \
    "\\\$\\.gaps\\[0\\]\\.items\\[0\\]\\.clause: '9.9.9', but item" "gap clause edited"
damaged '(.gaps[].items[] | select(.evidence | length > 0) | .evidence[0].observed) |= "running"' \
    '\$\.gaps\[[0-9]+\]\.items\[[0-9]+\]\.evidence\[0\]: not evidence\[[0-9]+\] of item' \
    "gap evidence edited"
# What the score needs of an item must be there; the model's deductions are not saved in a
# result, so the model the file names (and its thresholds) must be the one assess uses.
damaged 'del(.items[0].weight)' '\$\.items\[0\]\.weight: missing or not a positive number' \
    "item weight removed"
damaged '.score.model.name = "other-model"' \
    "\\\$\\.score\\.model\\.name: 'other-model', but this dengbao scores with '$(jq -r .score.model.name "$TMP/live.json")': a result does not save the deductions" \
    "another scoring model"
damaged '.score.model.conclusions["优"] = 10 | .score.conclusion = "优"' \
    '\$\.score\.model\.conclusions\.优: 10, but the model .* it names has 90' \
    "conclusion threshold edited"
damaged '.score.bar.min_score = 0' '\$\.score\.bar\.min_score: 0, but the model' \
    "bar edited"
# Every report says the model is unverified, and shows its note: neither may be edited away.
damaged '.score.model.unverified = false' '\$\.score\.model\.unverified: false, but the model' \
    "model marked verified"
damaged '.score.model.note = "verified against the official template"' \
    '\$\.score\.model\.note differs from the note of the model' "model note edited"
# A bad value in the scoring model is named by its line and column, as in the attestation files.
mkdir -p "$TMP/baddata" && cp -r data/. "$TMP/baddata/"
sed -i 's/^  不符合: "1"$/  不符合: x/' "$TMP/baddata/assess/scoring.yaml"
bad_line=$(grep -n '^  不符合: x$' "$TMP/baddata/assess/scoring.yaml" | cut -d: -f1)
out=$(DENGBAO_DATADIR="$TMP/baddata" demo --format json -o "$TMP/badmodel.json" 2>&1); rc=$?
expect_eq "scoring model with a bad deduction: exit 3" 3 $rc
expect_match "... named by the value's line and column" \
    "baddata/assess/scoring.yaml:$bad_line:8: '不符合' is 'x', not a decimal number 0\.\.1000" "$out"
# A key the model does not have is refused at the key, with the keys allowed there: a typo of
# an optional key (default_weight) kept its default without a word and changed the score.
cp data/assess/scoring.yaml "$TMP/baddata/assess/scoring.yaml"
sed -i 's/^default_weight:/default_wieght:/' "$TMP/baddata/assess/scoring.yaml"
bad_line=$(grep -n '^default_wieght:' "$TMP/baddata/assess/scoring.yaml" | cut -d: -f1)
out=$(DENGBAO_DATADIR="$TMP/baddata" demo --format json -o "$TMP/badmodel.json" 2>&1); rc=$?
expect_eq "scoring model with an unknown key: exit 3" 3 $rc
expect_match "... named by the key's line and column, with the keys allowed" \
    "baddata/assess/scoring.yaml:$bad_line:1: unknown key 'default_wieght' in the scoring model \(allowed: model, formula, unverified, note, deduction, default_weight, basic_compliance, conclusions, high_risk_forces_poor, bar\)" "$out"
# Each item's weight and high_risk come from the catalog the result names ($.catalog): an item
# and the summary that follows from it edited together rendered with exit 0 (the items were
# taken as saved). Now held against that catalog, naming the item and both values.
expect_eq "the result names its catalog" '{"shipped":true}' "$(jq -c .catalog "$TMP/live.json")"
hr_id=$(jq -r '[.items[] | select(.high_risk and .verdict == "不符合")][0].id' "$TMP/live.json")
damaged '(.items[] | select(.high_risk and .verdict == "不符合") | .high_risk) |= false | .score.open_high_risk = 0 | .score.open_high_risk_after_waivers = 0 | .score.unverified_high_risk = .score.unchecked_high_risk | .score.unverified_high_risk_after_waivers = .score.unchecked_high_risk_after_waivers' \
    "\\\$\\.items\\[[0-9]+\\]\\.high_risk: false saved for item '$hr_id', but the catalog \\(shipped\\) has true" \
    "items' high_risk and the summary edited together"
damaged '.items[].weight *= 2' \
    "\\\$\\.items\\[0\\]\\.weight: [0-9.]+ saved for item '$(jq -r '.items[0].id' "$TMP/live.json")', but the catalog \\(shipped\\) gives it" \
    "every item's weight doubled (the same score)"
# an item counted twice in place of another with the same verdict, weight and flag (the
# counts and the score stay the same)
dup=$(jq -c '[.items | to_entries[] | select(.value.verdict == "未检查" and (.value.high_risk | not))] | group_by(.value.weight) | map(select(length > 1))[0] | [.[0].key, .[1].key]' "$TMP/live.json")
damaged "($dup) as [\$a, \$b] | .items[\$a].id as \$aid | .items[\$b].id as \$bid | .items[\$b] = .items[\$a] | (.gaps[].items[] | select(.id == \$bid) | .id) = \$aid" \
    "\\\$\\.items\\[[0-9]+\\]: item '.*' is also \\\$\\.items\\[[0-9]+\\]" "an item counted twice"
damaged '.catalog = {"shipped": false, "path": "/no/such/catalog"}' \
    '\$\.catalog: the catalog the result was assessed with cannot be read \(/no/such/catalog' \
    "the catalog named cannot be read"
"$DBG_BIN" report "$GOLDEN" >/dev/null
expect_eq "the golden result renders (its score follows from its items)" 0 $?
damaged '(.gaps[0].items[0].verdict) = "部分符合"' \
    '\$\.gaps\[0\]\.items\[0\]\.verdict: 部分符合, but item .* in \$\.items is' "gap verdict edited"
damaged '.gaps[0].items = .gaps[0].items[1:]' '\$\.gaps: [0-9]+ item\(s\), but \$\.items has' \
    "gap removed"
damaged '(.items[] | select(.verdict == "不符合") | .verdict) |= "符合"' '\$\.score\.counts\.' \
    "verdicts edited"
# The high-risk flags that force 差 follow a list nobody verified (the catalog's
# high_risk_basis): every report said the model was unverified, and nothing of the flags.
expect_eq "unverified high-risk: the open and unchecked ones counted" \
    "$(jq '.score.open_high_risk + .score.unchecked_high_risk' "$TMP/live.json")" \
    "$(jq '.score.unverified_high_risk' "$TMP/live.json")"
expect_eq "each high-risk item carries its basis, no other item does" \
    "$(jq '[.items[] | select(.high_risk)] | length' "$TMP/live.json") 0" \
    "$(jq '"\([.items[] | select(.high_risk_basis.verified == false)] | length) \([.items[] | select((.high_risk | not) and has("high_risk_basis"))] | length)"' -r "$TMP/live.json")"
out=$("$DBG_BIN" report "$TMP/live.json")
nhr=$(jq '.score.unverified_high_risk' "$TMP/live.json")
expect_match "text: said beside the high-risk counts" \
    "未检查高风险项: [0-9]+ \(豁免后: [0-9]+\)
  \(其中 $nhr 项的高风险判定依据未经核实的高风险清单: 参考资料（mlps2-reference.md）的云计算高风险清单（T/ISEAA 001-2020 未获得）; 参考资料（mlps2-reference.md）的通用高风险示例（T/ISEAA 001-2020 未获得）\)" "$out"
# the demo's score alone (below the model's 中) gives 差: the conclusion does not rest on the
# flags and is not marked
expect_match "text: the conclusion the score alone gives is not marked" "测评结论: 差   基本符合" "$out"
# with 中 at 20 the score alone would give 中: the 差 rests on the unverified flags, said there
cp -r data "$TMP/lowfair"
sed -i 's/^  中: "70"$/  中: "20"/' "$TMP/lowfair/assess/scoring.yaml"
DENGBAO_DATADIR="$TMP/lowfair" demo --format json -o "$TMP/lowfair.json" >/dev/null 2>&1
expect_eq "... (a model with 中 at 20 scores the demo above it)" "20 true" \
    "$(jq -r '"\(.score.model.conclusions["中"]) \(.score.value >= 20)"' "$TMP/lowfair.json")"
out=$(DENGBAO_DATADIR="$TMP/lowfair" "$DBG_BIN" report "$TMP/lowfair.json")
expect_match "text: and at the conclusion" "测评结论: 差 \(高风险判定依据未经核实\)" "$out"
expect_match "text: and at the conclusion after waivers" "测评结论 差 \(高风险判定依据未经核实\)" "$out"
out=$(DENGBAO_DATADIR="$TMP/lowfair" "$DBG_BIN" report "$TMP/lowfair.json" --lang en)
expect_match "text en: and at the conclusion" "Conclusion: poor \(high-risk flags not verified\)" "$out"
out=$(DENGBAO_DATADIR="$TMP/lowfair" "$DBG_BIN" report "$TMP/lowfair.json" --format html)
expect_match "html: at the conclusion" "测评结论: 差 \(高风险判定依据未经核实\)</div>" "$out"
out=$("$DBG_BIN" report "$TMP/live.json" --lang en)
expect_match "text en: said beside the counts" \
    "\($nhr of them flagged high-risk by a high-risk list not verified: the reference's cloud high-risk list \(mlps2-reference.md; T/ISEAA 001-2020 not available\); the reference's general" "$out"
out=$("$DBG_BIN" report "$TMP/live.json" --format html)
expect_match "html: beside the counts" "<tr><th>高风险判定依据</th><td>其中 $nhr 项的高风险判定依据未经核实的高风险清单: " "$out"
expect_match "html en: beside the counts" "<tr><th>High-risk basis</th><td>$nhr of them flagged" \
    "$("$DBG_BIN" report "$TMP/live.json" --format html --lang en)"
# a catalog whose flags are verified: same score and verdicts, nothing extra said
mkdir -p "$TMP/hrcat" && cp data/catalog/*.yaml "$TMP/hrcat/"
sed -i 's/^  verified: false$/  verified: true/' "$TMP/hrcat/cloud.yaml" "$TMP/hrcat/general-l3.yaml"
demo --catalog "$TMP/hrcat" --format json -o "$TMP/hrv.json" >"$TMP/hrv.txt"
expect_eq "verified flags: the same score and counts" \
    "$(jq -c '.score | [.value, .conclusion, .open_high_risk, .unchecked_high_risk]' "$TMP/live.json") 0" \
    "$(jq -c '.score | [.value, .conclusion, .open_high_risk, .unchecked_high_risk]' "$TMP/hrv.json") $(jq '.score.unverified_high_risk' "$TMP/hrv.json")"
out=$("$DBG_BIN" report "$TMP/hrv.json"; "$DBG_BIN" report "$TMP/hrv.json" --lang en; "$DBG_BIN" report "$TMP/hrv.json" --format html)
expect_eq "verified flags: no report says unverified flags" 0 \
    "$(printf '%s\n' "$out" | grep -c '高风险判定依据\|not verified:\|flags not verified\|High-risk basis')"
expect_match "verified flags: the conclusion plain" "测评结论: 差   " "$out"
# an edit that marks the flags verified (with the counts that follow) is refused: the
# catalog the result names holds them unverified
damaged '(.items[] | .high_risk_basis | select(.) | .verified) |= true | .score.unverified_high_risk = 0 | .score.unverified_high_risk_after_waivers = 0' \
    "\\\$\\.items\\[[0-9]+\\]\\.high_risk_basis\\.verified: item '[^']+' differs from the catalog \\(shipped\\), whose high-risk basis is unverified" \
    "high-risk basis marked verified"
damaged 'del(.items[].high_risk_basis) | .score.unverified_high_risk = 0 | .score.unverified_high_risk_after_waivers = 0' \
    "\\\$\\.items\\[[0-9]+\\]\\.high_risk_basis: missing for high-risk item '[^']+', whose catalog \\(shipped\\) flag is unverified" \
    "high-risk basis dropped, counts kept"
damaged '.score.unverified_high_risk = 0' \
    "the saved score does not follow from .*\\\$\\.score\\.unverified_high_risk: 0 saved, $nhr recomputed" \
    "unverified_high_risk edited"
damaged '(.items[] | .high_risk_basis | select(.) | .verified) |= "no"' \
    '\$\.items\[[0-9]+\]\.high_risk_basis: its verified is missing or not true/false' "high-risk basis verified not a boolean"
# a result older than the basis (no basis, no count) still renders, as before
jq 'del(.items[].high_risk_basis) | del(.score.unverified_high_risk) | del(.score.unverified_high_risk_after_waivers)' \
    "$TMP/live.json" >"$TMP/old-hr.json"
out=$("$DBG_BIN" report "$TMP/old-hr.json"); rc=$?
expect_eq "a result older than the basis renders" 0 $rc
expect_eq "... without the basis line" 0 "$(printf '%s\n' "$out" | grep -c '高风险判定依据')"

# The summary check matches gaps to items by id in linear time: 40000 items and gaps (a crafted
# file) render in seconds; a lookup per gap took minutes.
python3 - "$TMP/live.json" "$TMP/many.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
n = 40000
item, gap = d["items"][0], d["gaps"][0]["items"][0]
d["items"] = [dict(item, id="X-%d" % i, verdict="不符合") for i in range(n)]
d["gaps"] = [{"layer": "安全物理环境", "layer_en": "x",
              "items": [dict(gap, id="X-%d" % i, verdict="不符合") for i in range(n)]}]
d["score"]["counts"] = {"符合": 0, "部分符合": 0, "不符合": n, "不适用": 0, "未检查": 0}
for i in d["items"]:
    i.update(weight=1.0, high_risk=False, waiver=None)
    i.pop("high_risk_basis", None)
d["score"].update(value=0.0, value_after_waivers=0.0, conclusion="差", conclusion_after_waivers="差",
                  basic_compliance=False, meets_bar=False, open_high_risk=0,
                  open_high_risk_after_waivers=0, unchecked_high_risk=0,
                  unchecked_high_risk_after_waivers=0, unverified_high_risk=0,
                  unverified_high_risk_after_waivers=0, waived_items=0)
json.dump(d, open(sys.argv[2], "w"), ensure_ascii=False)
PY
out=$(timeout 20 "$DBG_BIN" report "$TMP/many.json" --format json 2>&1 >/dev/null); rc=$?
expect_eq "40000 items and gaps: summary checked within 20 s, then refused (not the catalog's)" 3 $rc
expect_match "40000 items: the first item the catalog lacks is named" \
    "many.json: \\\$\\.items\\[0\\]: item 'X-0' is not in the catalog \\(shipped\\) at level 3" "$out"
# the same at the catalog's own limit (20000 items), with a catalog that holds them: the
# summary and the catalog checks are both linear, and the file renders
python3 - "$TMP/many.json" "$TMP/many-cat.yaml" <<'PY'
import json, string, sys
d = json.load(open(sys.argv[1]))
n = 20000
clauses = ["8.1.%d.%d%s" % (i // 2600 + 1, (i // 26) % 100 + 1, string.ascii_lowercase[i % 26])
           for i in range(n)]
with open(sys.argv[2], "w") as f:
    f.write("schema: 1\nextension: general\nrequirements:\n")
    for c in clauses:
        f.write("  - levels: {3: %s}\n    layer: 安全物理环境\n    control_point: x\n    text: t\n"
                "    objects: [o]\n    weight: 1\n    checks: []\n    remediation: r\n" % c)
d["items"] = [dict(i, id="L3-general-" + c) for i, c in zip(d["items"], clauses)]
# each gap shows its item (clause, control point, reason, remediation, responsibility, the
# evidence not met; risk 中 for an ordinary 不符合), as assess writes it and report holds it to
d["gaps"][0]["items"] = [dict(g, id=i["id"], risk="中", waived=False,
                              evidence=[e for e in i["evidence"] if not e.get("ok")],
                              **{k: i[k] for k in ("clause", "control_point", "reason",
                                                   "remediation", "remediation_en",
                                                   "responsibility") if k in i})
                         for g, i in zip(d["gaps"][0]["items"], d["items"])]
d["score"]["counts"]["不符合"] = n
d["catalog"] = {"shipped": False, "path": sys.argv[2]}
json.dump(d, open(sys.argv[1], "w"), ensure_ascii=False)
PY
timeout 20 "$DBG_BIN" report "$TMP/many.json" --format json >/dev/null; rc=$?
expect_eq "20000 items and gaps of a 20000-item catalog: checked and rendered within 20 s" 0 $rc
rm -f "$TMP/many.json" "$TMP/many-cat.yaml"
out=$("$DBG_BIN" assess -c "test:///$TMP/no-such-cloud.xml" 2>&1); rc=$?
expect_eq "unreachable URI: exit 3" 3 $rc
expect_match "unreachable URI: says which" "no-such-cloud.xml" "$out"
echo '{"schema_version": 1}' >"$TMP/bad-base.json"
out=$(demo --baseline "$TMP/bad-base.json" 2>&1); rc=$?
expect_eq "invalid baseline: exit 3" 3 $rc
expect_match "invalid baseline: names the JSON path" 'bad-base.json: \$\.platform' "$out"
"$DBG_BIN" collect -c "$URI" --host-root data/demo/host-root -o "$TMP/snap-for-report.json"
out=$("$DBG_BIN" report "$TMP/snap-for-report.json" 2>&1); rc=$?
expect_eq "report of a snapshot: exit 3" 3 $rc
expect_match "report of a snapshot: says what it is and what to run" \
    "snap-for-report.json: \\$: a platform snapshot \\(dengbao collect\\), not an assessment result: assess it with 'dengbao assess --snapshot FILE'" "$out"
out=$("$DBG_BIN" assess --snapshot "$TMP/live.json" 2>&1); rc=$?
expect_eq "assess --snapshot of a result: exit 3" 3 $rc
expect_match "assess --snapshot of a result: says what it is and what to run" \
    "live.json: \\$: an assessment result \\(dengbao assess\\), not a platform snapshot: render it with 'dengbao report FILE'" "$out"
out=$("$DBG_BIN" report "$TMP/bad-snap.json" 2>&1); rc=$?
expect_eq "report of a non-result: exit 3" 3 $rc

# An attestation naming its item as a Chinese document does ("8.2.2.1（d）") or by an id in
# another case applies; before, it was ignored with a warning and the item stayed 未检查.
sed -e 's/item: L3-cloud-8.2.2.1d/item: 8.2.2.1（d）/' -e 's/item: L3-cloud-8.2.1.1/item: l3-cloud-8.2.1.1/' \
    data/demo/attest.yaml >"$TMP/attest-cjk.yaml"
"$DBG_BIN" assess -c "$URI" --host-root data/demo/host-root --attest "$TMP/attest-cjk.yaml" \
    --format json -o "$TMP/cjk.json" >/dev/null
expect_eq "attestation for 8.2.2.1（d） applied" "$(jq -r '.items[] | select(.clause == "8.2.2.1d") | .verdict' "$TMP/live.json")" \
    "$(jq -r '.items[] | select(.clause == "8.2.2.1d") | .verdict' "$TMP/cjk.json")"
expect_eq "attestation for l3-cloud-8.2.1.1 applied" "$(jq -r '.items[] | select(.clause == "8.2.1.1") | .verdict' "$TMP/live.json")" \
    "$(jq -r '.items[] | select(.clause == "8.2.1.1") | .verdict' "$TMP/cjk.json")"
expect_eq "no attestation ignored" 0 "$(jq '[.warnings[] | select(test("ignored"))] | length' "$TMP/cjk.json")"

# The shipped catalog has the 安全通用要求 at level 3 only. At levels 1, 2 and 4 the score covers
# the cloud extension alone, which the result (and so every report) now says; level 3 does not.
for l in 1 2 4; do
    "$DBG_BIN" assess -c "$URI" --host-root data/demo/host-root --level $l --format json \
        -o "$TMP/scope$l.json" >/dev/null
    expect_eq "level $l: scope stated" 1 \
        "$(jq '[.warnings[] | select(test("^level '$l': the catalog has no 安全通用要求 \\(general requirements\\) items at this level; only the 云计算安全扩展要求"))] | length' "$TMP/scope$l.json")"
done
expect_match "level 4: the text report says it" "提示: level 4: the catalog has no 安全通用要求" \
    "$("$DBG_BIN" report "$TMP/scope4.json")"
expect_eq "level 3: no scope warning" 0 "$(jq '[.warnings[] | select(test("the catalog has no"))] | length' "$TMP/live.json")"

# --- usage: exit 2 ---
"$DBG_BIN" assess --level 3 >/dev/null 2>&1; expect_eq "no -c/--snapshot: exit 2" 2 $?
"$DBG_BIN" assess -c "$URI" --snapshot x >/dev/null 2>&1; expect_eq "both -c and --snapshot: exit 2" 2 $?
"$DBG_BIN" assess -c "$URI" --level 7 >/dev/null 2>&1; expect_eq "--level 7: exit 2" 2 $?
"$DBG_BIN" assess -c "$URI" --level 5 >/dev/null 2>&1; expect_eq "--level 5: exit 2" 2 $?
"$DBG_BIN" assess -c "$URI" --hosts-level 6 >/dev/null 2>&1; expect_eq "--hosts-level 6: exit 2" 2 $?
# A hosted system graded 5 (dengbao grade gives it) is above any platform assessed here: it
# must be stated and fail 8.2.2.1a, not be refused so that the assessor enters 4 and passes.
"$DBG_BIN" assess --snapshot "$TMP/snap.json" --level 4 --hosts-level 5 --format json \
    -o "$TMP/hosts5.json" >/dev/null 2>&1
expect_eq "--hosts-level 5: findings (exit 1)" 1 $?
expect_eq "--hosts-level 5: 9.2.2.1a 不符合, level 4 vs 5" "不符合 platform level 4, hosted systems up to level 5" \
    "$(jq -r '.items[] | select(.clause == "9.2.2.1a") | "\(.verdict) \(.evidence[0].observed)"' "$TMP/hosts5.json")"
expect_eq "--hosts-level 5: recorded" 5 "$(jq .hosts_level "$TMP/hosts5.json")"
expect_match "--hosts-level 5: the result is valid against the schema" valid "$(validate "$TMP/hosts5.json" 2>&1)"
"$DBG_BIN" assess -c "$URI" --format pdf >/dev/null 2>&1; expect_eq "--format pdf: exit 2" 2 $?
"$DBG_BIN" assess -c "$URI" --lang fr >/dev/null 2>&1; expect_eq "--lang fr: exit 2" 2 $?
"$DBG_BIN" assess -c "$URI" -o "" >/dev/null 2>&1; expect_eq "assess -o '': exit 2" 2 $?
out=$("$DBG_BIN" report "$TMP/live.json" -o "" 2>&1); rc=$?
expect_eq "report -o '': exit 2" 2 $rc
expect_match "report -o '': says so" "report: -o needs a file name" "$out"
expect_match "assess --help" "Usage: dengbao assess" "$("$DBG_BIN" assess --help)"
expect_match "report --help" "Usage: dengbao report" "$("$DBG_BIN" report --help)"

# --- --as-of: an assessment dated before its collection (reproducing an earlier one) ---
# Collected 2027-12-23T12:00Z, more than a year after the demo's attestations (2026-11-17..22):
# at the collection they are an earlier assessment's and refused; as of 2026-11-25 (the day the
# golden file was collected) they stand, and the verdicts are the golden file's.
later() { SOURCE_DATE_EPOCH=1829563200 demo "$@"; }
later --format json -o "$TMP/late.json" >/dev/null
expect_eq "a year after: all 24 demo attestations refused as stale" 24 \
    "$(jq '[.warnings[] | select(test("refused: dated 2026-11-[0-9]+, more than 366 days before the snapshot was collected"))] | length' "$TMP/late.json")"
expect_eq "... 8.2.1.1 is 未检查" 未检查 "$(item_verdict "$TMP/late.json" 8.2.1.1)"
expect_eq "... and the score falls" true "$(jq '.score.value < 22.73' "$TMP/late.json")"
expect_eq "... no as_of without --as-of" null "$(jq .as_of "$TMP/late.json")"
later --as-of 2026-11-25 --format json -o "$TMP/asof.json" >"$TMP/asof.txt"
expect_eq "--as-of 2026-11-25: exit 1 (findings)" 1 $?
expect_eq "--as-of: the result validates against the JSON Schema" valid "$(validate "$TMP/asof.json" 2>&1 | tail -1)"
expect_eq "--as-of: the result says so" 2026-11-25T00:00:00.000000Z "$(jq -r .as_of "$TMP/asof.json")"
expect_eq "--as-of: the platform keeps its collection time" 2027-12-23T12:00:00.000000Z \
    "$(jq -r .platform.collected "$TMP/asof.json")"
expect_match "--as-of: a warning says what was judged when" \
    "^assessed as of 2026-11-25T00:00:00.000000Z \(--as-of\): attestation dates and waiver expiry .*\(2027-12-23T12:00:00.000000Z\)" \
    "$(jq -r '.warnings[0]' "$TMP/asof.json")"
expect_match "--as-of: the summary shows it" "测评基准时间 \(--as-of\): 2026-11-25T00:00:00.000000Z" "$(cat "$TMP/asof.txt")"
expect_match "--as-of: the golden score (24.22 with --hosts-level 3), 6 open and 2 unchecked high-risk items" \
    "综合得分: 24.22 .*未整改高风险项: 6 .*未检查高风险项: 2 " "$(tr '\n' ' ' <"$TMP/asof.txt")"
jq --arg c "$(jq -r .platform.collected "$TMP/live.json")" \
    'del(.as_of) | .warnings |= .[1:] | .platform.collected = $c' "$TMP/asof.json" | normalise /dev/stdin \
    >"$TMP/asof.norm.json"
if diff <(jq -S . "$GOLDEN") <(jq -S . "$TMP/asof.norm.json") >"$TMP/asof.diff"; then
    pass "--as-of: a year later, the verdicts and score are the golden file's"
else fail "--as-of: a year later, the verdicts and score are the golden file's" "$(head -20 "$TMP/asof.diff")"; fi
"$DBG_BIN" report "$TMP/asof.json" --lang en >"$TMP/asof-en.txt"
expect_match "report of an --as-of result shows it" "Assessed as of \(--as-of\): 2026-11-25" "$(cat "$TMP/asof-en.txt")"
later --as-of 2026-11-25 --format html -o "$TMP/asof.html" >/dev/null
expect_match "--as-of: the HTML report shows it" "测评基准时间 \(--as-of\).*2026-11-25T00:00:00" "$(cat "$TMP/asof.html")"
# an attestation signed after the assessment date did not exist then: refused
later --as-of 2026-11-20 --format json -o "$TMP/asof20.json" >/dev/null
expect_eq "--as-of 2026-11-20: the 8 attestations of 11-21 and 11-22 are refused as after it" 8 \
    "$(jq '[.warnings[] | select(test("refused: dated 2026-11-2[12], after the assessment date \\(--as-of\\)"))] | length' "$TMP/asof20.json")"
expect_eq "... 8.2.4.6a (2026-11-22) is 未检查" 未检查 "$(item_verdict "$TMP/asof20.json" 8.2.4.6a)"
expect_match "... and its reason says why, at the date's line:column" "attest.yaml:55:11 is dated 2026-11-22, after the assessment date, and was refused" \
    "$(jq -r '.items[] | select(.clause == "8.2.4.6a") | .reason' "$TMP/asof20.json")"
expect_eq "... 8.2.1.1 (2026-11-20) stands" 符合 "$(item_verdict "$TMP/asof20.json" 8.2.1.1)"
# waivers expire at the assessment date: the one that ran out on 2026-10-31 applies as of 10-01
later --as-of 2026-10-01 --waivers "$TMP/waivers.yaml" --format json -o "$TMP/asofw.json" >/dev/null
expect_eq "--as-of 2026-10-01: no waiver has expired" 0 "$(jq '.waivers.expired | length' "$TMP/asofw.json")"
expect_eq "... and every demo attestation is after it" 24 \
    "$(jq '[.warnings[] | select(test("after the assessment date"))] | length' "$TMP/asofw.json")"
# the snapshot keeps its collection time: as of a day after it is refused (exit 2)
out=$("$DBG_BIN" assess --snapshot "$TMP/snap.json" --as-of 2026-11-26 2>&1); rc=$?
expect_eq "--as-of after the snapshot's collection: exit 2" 2 $rc
expect_match "... says so" "--as-of 2026-11-26T00:00:00.000000Z is after the collection \(2026-11-25T00:00:00.000000Z\)" "$out"
# a date names a day: collected at 04:00 on 2026-11-25 in Beijing (20:00 UTC the day before),
# --as-of 2026-11-25 is the collection's own date, not after it; 11-26 had begun nowhere then,
# and a time is a time
jq '.collected_us = 1795550400000000' "$TMP/snap.json" >"$TMP/snap-cst.json"
"$DBG_BIN" assess --snapshot "$TMP/snap-cst.json" --attest data/demo/attest.yaml --hosts-level 3 \
    --as-of 2026-11-25 --format json -o "$TMP/snap-cst-asof.json" >/dev/null
expect_eq "--as-of the date of a collection at 04:00 in UTC+8 (20:00 UTC the day before): exit 1" 1 $?
expect_eq "... assessed as of that date" 2026-11-25T00:00:00.000000Z "$(jq -r .as_of "$TMP/snap-cst-asof.json")"
out=$("$DBG_BIN" assess --snapshot "$TMP/snap-cst.json" --as-of 2026-11-26 2>&1); rc=$?
expect_eq "... --as-of the next date: exit 2" 2 $rc
expect_match "... says so" "--as-of 2026-11-26T00:00:00.000000Z is after the collection \(2026-11-24T20:00:00.000000Z\)" "$out"
out=$("$DBG_BIN" assess --snapshot "$TMP/snap-cst.json" --as-of 2026-11-25T00:00:00Z 2>&1); rc=$?
expect_eq "... --as-of 2026-11-25T00:00:00Z, a time after it: exit 2" 2 $rc
"$DBG_BIN" assess --snapshot "$TMP/snap.json" --attest data/demo/attest.yaml --hosts-level 3 \
    --as-of 2026-11-25 --format json -o "$TMP/snap-asof.json" >/dev/null
expect_eq "--as-of the collection itself: the snapshot's verdicts unchanged" \
    "$(jq -c '[.items[].verdict]' "$TMP/live.json")" "$(jq -c '[.items[].verdict]' "$TMP/snap-asof.json")"
for bad in 2026-13-01 2026-11-25T25:00:00Z yesterday ""; do
    out=$(demo --as-of "$bad" 2>&1); rc=$?
    expect_eq "--as-of '$bad': exit 2" 2 $rc
    expect_match "... says what it takes" "--as-of must be a date YYYY-MM-DD or an RFC 3339 time" "$out"
done
# a time without a zone was taken as UTC: 03:00 typed in Beijing dated the assessment at 11:00
# there. Refused, saying to add Z or +08:00; Z and +08:00 name the instant they say.
out=$("$DBG_BIN" assess --snapshot "$TMP/snap-cst.json" --as-of 2026-11-25T03:00:00 2>&1); rc=$?
expect_eq "--as-of a time without a zone: exit 2" 2 $rc
expect_match "... saying to add Z or +08:00" "--as-of must be a date YYYY-MM-DD or an RFC 3339 time after 1970: '2026-11-25T03:00:00' has no UTC offset: add Z for UTC or \+08:00 for Beijing time" "$out"
for t in 2026-11-24T19:00:00Z 2026-11-25T03:00:00+08:00; do
    "$DBG_BIN" assess --snapshot "$TMP/snap-cst.json" --attest data/demo/attest.yaml --hosts-level 3 \
        --as-of "$t" --format json -o "$TMP/snap-cst-tz.json" >/dev/null
    expect_eq "--as-of $t: exit 1 (findings)" 1 $?
    expect_eq "... assessed as of 19:00 UTC" 2026-11-24T19:00:00.000000Z "$(jq -r .as_of "$TMP/snap-cst-tz.json")"
done
out=$(demo --as-of 2999-01-01 2>&1); rc=$?
expect_eq "--as-of in the future: exit 2" 2 $rc
expect_match "... says so" "--as-of 2999-01-01 is in the future" "$out"

# --- make demo's script ---
out=$(DBG_DEMO_OUT="$TMP/report.html" scripts/demo "$DBG_BIN" 2>&1); rc=$?
expect_eq "scripts/demo exits 0 despite findings" 0 $rc
expect_match "scripts/demo prints the summary and the report path" "综合得分.*report.html" "$(echo "$out" | tr '\n' ' ')"
expect_match "scripts/demo wrote the HTML report" "<svg" "$(cat "$TMP/report.html")"
# The demo is assessed as of 2026-11-25, so its numbers stay those of the golden file whenever
# it runs: here collected (SOURCE_DATE_EPOCH) more than a year after its attestations.
out=$(SOURCE_DATE_EPOCH=1829563200 DBG_DEMO_OUT="$TMP/report-late.html" scripts/demo "$DBG_BIN" 2>&1)
expect_match "scripts/demo a year later: 22.73 差, 6 open and 3 unchecked high-risk items" \
    "综合得分: 22.73 +测评结论: 差 .*未整改高风险项: 6 .*未检查高风险项: 3 " "$(echo "$out" | tr '\n' ' ')"
expect_match "... and says it is assessed as of 2026-11-25" "测评基准时间 \(--as-of\): 2026-11-25" "$out"
finish
