#!/bin/bash
# `dengbao grade`: levels from both matrices, Chinese words, JSON contract, duties with sources,
# --hosts-level warning, unknown words -> exit 2 with the accepted words.
set -u
. "$(dirname "$0")/lib.sh"
B=$DBG_BIN

out=$("$B" grade --help); rc=$?
expect_eq "help exit" 0 "$rc"
expect_match "help usage" "Usage: dengbao grade" "$out"
expect_match "help gives --hosts-level's range" "--hosts-level N .*\(1\.\.5\)" "$out"

g() { "$B" grade --format json "$@"; }
j=$(g --business-object citizen --business-degree especially-serious --service-object citizen --service-degree general)
expect_eq "2020 citizen+especially-serious" 2 "$(printf '%s' "$j" | jq .business_level)"
expect_eq "2020 level" 2 "$(printf '%s' "$j" | jq .level)"
expect_eq "2020 service level" 1 "$(printf '%s' "$j" | jq .service_level)"
expect_eq "default matrix named" gb22240-2020 "$(printf '%s' "$j" | jq -r .matrix)"
expect_eq "duties is array" array "$(printf '%s' "$j" | jq -r '.duties | type')"
expect_eq "every duty has a source" 0 "$(printf '%s' "$j" | jq '[.duties[] | select((.source // "") == "")] | length')"
j=$(g --matrix draft-2018 --business-object citizen --business-degree especially-serious --service-object citizen --service-degree general)
expect_eq "draft citizen+especially-serious" 3 "$(printf '%s' "$j" | jq .level)"
expect_eq "draft matrix named" draft-2018 "$(printf '%s' "$j" | jq -r .matrix)"

# Chinese words; level = the higher dimension.
j=$(g --business-object 社会秩序 --business-degree 严重损害 --service-object 国家安全 --service-degree 特别严重损害)
expect_eq "zh business" 3 "$(printf '%s' "$j" | jq .business_level)"
expect_eq "zh service" 5 "$(printf '%s' "$j" | jq .service_level)"
expect_eq "zh level" 5 "$(printf '%s' "$j" | jq .level)"
# level 5 is assessed against its special needs: no 75-point score rule, the special assessment
expect_eq "L5: no pass score" 0 "$(printf '%s' "$j" | jq '[.duties[] | select(.id == "pass-score")] | length')"
expect_match "L5: special assessment" "特殊安全需求" "$(printf '%s' "$j" | jq -r '.duties[].text' | tr '\n' ' ')"
j=$(g --business-object 公民 --business-degree 一般损害 --service-object 法人 --service-degree 一般损害)
expect_eq "level 1" 1 "$(printf '%s' "$j" | jq .level)"
expect_eq "level 1: no filing" 0 "$(printf '%s' "$j" | jq '[.duties[] | select(.id == "filing")] | length')"
# Level 1 files nothing and has no review: its re-grading duty told it to "重新履行评审、核准和备案手续"
# beside "定级后不要求到公安机关备案". It does so only when the new level is 2 or above.
expect_eq "level 1: re-grading listed" 1 "$(printf '%s' "$j" | jq '[.duties[] | select(.id == "regrade-on-change")] | length')"
expect_eq "level 1: no duty redoes a filing it never made" 0 "$(printf '%s' "$j" | jq '[.duties[] | select(.text | contains("重新履行"))] | length')"
expect_match "level 1: filing once re-graded to 2+" "第二级以上.*备案" "$(printf '%s' "$j" | jq -r '.duties[] | select(.id == "regrade-on-change") | .text')"
j2=$(g --business-object citizen --business-degree serious --service-object citizen --service-degree general)
expect_match "level 2: re-grading redoes review and filing" "重新履行评审、核准和备案" "$(printf '%s' "$j2" | jq -r '.duties[] | select(.id == "regrade-on-change") | .text')"

# Words as the sources write them: the deck's table row "公民、法人和其他组织的合法利益", and
# GB/T 22240-2020's "严重危害" / "特别严重危害" for society and the nation; each was exit 2.
j=$(g --business-object 公民、法人和其他组织的合法利益 --business-degree 严重损害 --service-object 社会秩序、公共利益 --service-degree 严重危害)
expect_eq "deck's 合法利益 -> citizen" citizen "$(printf '%s' "$j" | jq -r .business.object)"
expect_eq "严重危害 -> serious" 3 "$(printf '%s' "$j" | jq .service_level)"
j=$(g --business-object 合法利益 --business-degree 一般损害 --service-object 国家安全 --service-degree 特别严重危害)
expect_eq "特别严重危害 -> especially-serious" 5 "$(printf '%s' "$j" | jq .level)"
# Duties per level with their sources.
j=$(g --business-object society --business-degree serious --service-object citizen --service-degree general)
expect_eq "L3" 3 "$(printf '%s' "$j" | jq .level)"
ids=$(printf '%s' "$j" | jq -r '.duties[].id' | tr '\n' ' ')
for d in expert-review filing assessment-yearly pass-score log-retention; do
    expect_match "L3 duty $d" "$d" "$ids"
done
expect_match "43号文 source" "43号" "$(printf '%s' "$j" | jq -r '.duties[] | select(.id == "assessment-yearly") | .source')"
expect_match "CSL art 21 source" "网络安全法》第二十一条" "$(printf '%s' "$j" | jq -r '.duties[] | select(.id == "log-retention") | .source')"
expect_match "75 point rule" "75" "$(printf '%s' "$j" | jq -r '.duties[] | select(.id == "pass-score") | .text')"
# The report filed with a level-3+ system is 43号文 第十六条(五); 第十五条 is the 30-day filing. The
# duty, marked verified, cited 第十五条.
j3=$(g --business-object society --business-degree serious --service-object citizen --service-degree general)
expect_match "filing-with-report cites 第十六条" "第十六条" "$(printf '%s' "$j3" | jq -r '.duties[] | select(.id == "filing-with-report") | .source')"
expect_match "filing cites 第十五条" "第十五条" "$(printf '%s' "$j3" | jq -r '.duties[] | select(.id == "filing") | .source')"
j=$(g --business-object society --business-degree especially-serious --service-object citizen --service-degree general)
expect_match "L4 half-yearly" "assessment-half-yearly" "$(printf '%s' "$j" | jq -r '.duties[].id' | tr '\n' ' ')"

# The regime names (监督保护 / 强制保护 / 专控保护) come from 43号文 第七条, unconfirmed; they rode in
# the verified 第十四条 duties, so the output marked them verified. Every level 3..5: the duty
# that names the regime is unverified, and the verified frequency duty does not name it.
for spec in "society serious 3 监督保护" "society especially-serious 4 强制保护" "nation especially-serious 5 专控保护"; do
    set -- $spec
    j=$(g --business-object "$1" --business-degree "$2" --service-object citizen --service-degree general)
    expect_eq "L$3 $4 stated" 1 "$(printf '%s' "$j" | jq --arg r "$4" '[.duties[] | select(.text | contains($r))] | length')"
    expect_eq "L$3 $4 marked unverified" false \
        "$(printf '%s' "$j" | jq --arg r "$4" '[.duties[] | select(.text | contains($r)) | .verified] | any')"
    expect_eq "L$3 verified duties cite what they state" 0 \
        "$(printf '%s' "$j" | jq '[.duties[] | select(.verified and (.text | test("监督保护|强制保护|专控保护")))] | length')"
done

# Text output names the matrix too.
out=$("$B" grade --business-object citizen --business-degree serious --service-object citizen --service-degree serious --matrix draft-2018)
expect_match "text names matrix" "matrix draft-2018" "$out"
expect_match "text level" "level: +2" "$out"

# --hosts-level: warn (exit 1) when the platform is below what it hosts.
"$B" grade --business-object society --business-degree serious --service-object society --service-degree serious --hosts-level 3 >/dev/null 2>&1
expect_eq "hosts-level equal -> 0" 0 $?
err=$("$B" grade --format json --business-object society --business-degree serious --service-object society --service-degree serious --hosts-level 4 2>&1 >"$TMP/out.json"); rc=$?
expect_eq "hosts-level above -> 1" 1 "$rc"
expect_match "hosts warning on stderr" "below the level-4 systems" "$err"
expect_eq "hosts warning in json" 1 "$(jq '.warnings | length' "$TMP/out.json")"
# The text report kept on file (stdout) said level 3 and its duties, and not that the platform
# hosts level-4 systems (8.2.2.1 a, a high-risk item): the warning went to stderr only.
"$B" grade --business-object society --business-degree serious --service-object society --service-degree serious --hosts-level 4 >"$TMP/out.txt" 2>/dev/null; rc=$?
expect_eq "hosts-level above, text -> 1" 1 "$rc"
expect_match "hosts warning in the text report" "below the level-4 systems it hosts" "$(cat "$TMP/out.txt")"

# Usage errors.
err=$("$B" grade --business-object alien --business-degree general --service-object citizen --service-degree general 2>&1); rc=$?
expect_eq "unknown object -> 2" 2 "$rc"
expect_match "lists accepted objects" "citizen.*society.*nation" "$err"
expect_match "lists Chinese words" "国家安全" "$err"
err=$("$B" grade --business-object citizen --business-degree catastrophic --service-object citizen --service-degree general 2>&1); rc=$?
expect_eq "unknown degree -> 2" 2 "$rc"
expect_match "lists accepted degrees" "general.*serious.*especially-serious" "$err"
"$B" grade --business-object citizen --business-degree general --service-object citizen --service-degree general --matrix 1994 >/dev/null 2>&1
expect_eq "unknown matrix -> 2" 2 $?
# A grading input given twice was overridden by the last: society then citizen graded citizen
# (level 1) with exit 0. Now exit 2 naming both; the same word twice is harmless.
err=$("$B" grade --business-object society --business-degree serious --service-object citizen --service-degree general --business-object citizen 2>&1); rc=$?
expect_eq "object given twice -> 2" 2 "$rc"
expect_match "object given twice: names both" "--business-object given twice \('society', then 'citizen'\)" "$err"
err=$("$B" grade --business-object society --business-degree serious --service-object citizen --service-degree general --service-degree especially-serious 2>&1); rc=$?
expect_eq "degree given twice -> 2" 2 "$rc"
expect_match "degree given twice: names it" "--service-degree given twice" "$err"
"$B" grade --business-object society --business-degree serious --service-object citizen --service-degree general --hosts-level 3 --hosts-level 2 >/dev/null 2>&1
expect_eq "hosts-level given twice -> 2" 2 $?
j=$(g --business-object society --business-degree serious --service-object citizen --service-degree general --business-object society)
expect_eq "the same word twice: graded" 3 "$(printf '%s' "$j" | jq .level)"
"$B" grade --business-object citizen >/dev/null 2>&1; expect_eq "missing options -> 2" 2 $?
"$B" grade --hosts-level 9 >/dev/null 2>&1; expect_eq "bad hosts-level -> 2" 2 $?
"$B" grade --bogus >/dev/null 2>&1; expect_eq "unknown option -> 2" 2 $?
"$B" grade --tables "$TMP/none.yaml" --business-object citizen --business-degree general --service-object citizen --service-degree general >/dev/null 2>&1
expect_eq "missing tables -> 3" 3 $?
printf 'objects: {a: {label: A}}\ndegrees: {x: {label: X}}\nmatrices: {m: {table: {a: {x: 9}}}}\n' > "$TMP/bad.yaml"
err=$("$B" grade --tables "$TMP/bad.yaml" --business-object a --business-degree x --service-object a --service-degree x 2>&1); rc=$?
expect_eq "bad tables -> 3" 3 "$rc"
expect_match "bad tables position" "bad.yaml:3:31: a level must be an integer 1..5" "$err"
# a byte that is not UTF-8 was put at 1:1 wherever it was (libyaml gives only its offset)
printf 'schema: 1\nobjects: {a: {label: "caf\xc3\x28"}}\n' > "$TMP/latin.yaml"
err=$("$B" grade --tables "$TMP/latin.yaml" --business-object a --business-degree x --service-object a --service-degree x 2>&1); rc=$?
expect_eq "tables not UTF-8 -> 3" 3 "$rc"
expect_match "tables not UTF-8: the byte's line and column" "latin.yaml:2:26: YAML syntax error: invalid trailing UTF-8 octet" "$err"
# every duty of the level is listed, however many a tables file has (64 were kept before)
{ sed '/^duties:/,$d' "$DBG_SRCDIR/data/grade/grade.yaml"
  echo 'duties:'
  for i in $(seq 1 70); do
      printf '  - id: d%s\n    levels: [3]\n    text: duty %s\n    source: s\n    verified: false\n' "$i" "$i"
  done; } > "$TMP/many.yaml"
out=$("$B" grade --tables "$TMP/many.yaml" --business-object society --business-degree serious --service-object citizen --service-degree general --format json); rc=$?
expect_eq "70 duties at level 3: exit 0" 0 "$rc"
expect_eq "70 duties at level 3: all listed" 70 "$(echo "$out" | jq '.duties | length')"
finish
