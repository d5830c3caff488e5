#!/bin/bash
# Installing: `meson install --destdir` stages the binary, its data ($datadir/dengbao) and the
# systemd units; the staged binary, run from elsewhere without DENGBAO_DATADIR, reads the staged
# data (never the source tree's), grades and lists the catalog; the units pass
# `systemd-analyze verify` when it is there. The build tree's binary keeps the source data.
set -u
. "$(dirname "$0")/lib.sh"
: "${DBG_BUILDDIR:?}" "${DBG_INSTALL_BINDIR:?}" "${DBG_INSTALL_DATADIR:?}" "${DBG_UNITDIR:?}"
command -v meson >/dev/null || skip_all "meson not in PATH"
ensure_pkgs jq:jq
unset DENGBAO_DATADIR

# The build tree's binary: the source tree's data, as before (tests, make demo).
out=$("$DBG_BIN" --version); rc=$?
expect_eq "build tree --version exit" 0 "$rc"
expect_match "build tree reads the source data" "^data directory: $DBG_SRCDIR/data \(the source tree" "$(printf '%s' "$out" | sed -n 2p)"

root=$TMP/root
out=$(meson install -C "$DBG_BUILDDIR" --no-rebuild --destdir "$root" 2>&1); rc=$?
expect_eq "meson install --destdir exit" 0 "$rc"
[ "$rc" = 0 ] || { echo "$out"; finish; exit; }
bin=$root$DBG_INSTALL_BINDIR/dengbao
data=$root$DBG_INSTALL_DATADIR
expect_eq "binary installed" yes "$([ -x "$bin" ] && echo yes)"
for f in catalog/cloud.yaml catalog/general-l3.yaml catalog/scoring.yaml grade/grade.yaml \
         assess/scoring.yaml rules/sensor.yaml rules/yara/eicar.yar policy/example.yaml; do
    expect_eq "data installed: $f" yes "$([ -f "$data/$f" ] && echo yes)"
done
expect_eq "demo fixtures not installed" no "$([ -e "$data/demo" ] && echo yes || echo no)"

# From another directory, no DENGBAO_DATADIR: the staged data, found beside the staged binary.
mkdir -p "$TMP/elsewhere" && cd "$TMP/elsewhere" || exit 1
out=$("$bin" --version); rc=$?
expect_eq "installed --version exit" 0 "$rc"
expect_eq "installed binary names its data" "data directory: $data (installed: staged or copied with the binary under the same root)" "$(printf '%s' "$out" | sed -n 2p)"
out=$("$bin" catalog list --level 3 --extension cloud); rc=$?
expect_eq "installed catalog list exit" 0 "$rc"
expect_eq "installed catalog: the 46 L3 cloud items" 46 "$(printf '%s\n' "$out" | grep -c '^L3-cloud-')"
out=$("$bin" grade --business-object society --business-degree serious --service-object citizen \
      --service-degree serious --format json); rc=$?
expect_eq "installed grade exit" 0 "$rc"
expect_eq "installed grade level" 3 "$(printf '%s' "$out" | jq .level)"
out=$(DENGBAO_DATADIR=$DBG_SRCDIR/data "$bin" --version | sed -n 2p)
expect_eq "DENGBAO_DATADIR still overrides" "data directory: $DBG_SRCDIR/data (\$DENGBAO_DATADIR)" "$out"

# Its data gone, it fails naming where it looked, and does not fall back to the source tree.
mv "$data" "$TMP/data-hidden"
out=$("$bin" catalog list --level 3 2>&1); rc=$?
expect_eq "no data: exit 3" 3 "$rc"
expect_match "no data: names the staged place" "looked in $data \(beside the binary\)" "$out"
expect_match "no data: names the configured place" "and $DBG_INSTALL_DATADIR \(installed\)" "$out"
expect_nomatch "no data: not the source tree" "$DBG_SRCDIR" "$out"
out=$("$bin" grade --business-object society --business-degree serious --service-object citizen \
      --service-degree serious 2>&1); rc=$?
expect_eq "no data: grade exit 3" 3 "$rc"
expect_match "no data: --version says none" "^data directory: none \(no dengbao data directory: looked in" "$("$bin" --version | sed -n 2p)"
mv "$TMP/data-hidden" "$data"

# The units: ExecStart the installed binary, usage errors (exit 2) not restarted.
units=$root$DBG_UNITDIR
for u in dengbao-agent dengbao-serve; do
    f=$units/$u.service
    expect_eq "$u.service installed" yes "$([ -f "$f" ] && echo yes)"
    expect_match "$u: ExecStart" "^ExecStart=$DBG_INSTALL_BINDIR/dengbao ${u#dengbao-} " "$(cat "$f" 2>/dev/null)"
    expect_match "$u: EnvironmentFile" "^EnvironmentFile=/etc/default/$u$" "$(cat "$f" 2>/dev/null)"
    expect_match "$u: no restart on usage errors" "^RestartPreventExitStatus=2$" "$(cat "$f" 2>/dev/null)"
    expect_eq "$u: EnvironmentFile example" yes \
        "$([ -f "$root${DBG_INSTALL_DATADIR%/dengbao}/doc/dengbao/systemd/$u.default" ] && echo yes)"
done
expect_match "agent after libvirtd" "^After=.*libvirtd\.service" "$(cat "$units/dengbao-agent.service")"
expect_match "serve after postgresql" "^After=.*postgresql\.service" "$(cat "$units/dengbao-serve.service")"
if command -v systemd-analyze >/dev/null; then
    # verify checks that ExecStart's binary exists: copies naming the staged one
    mkdir -p "$TMP/units"
    for u in dengbao-agent dengbao-serve; do
        sed "s|^ExecStart=$DBG_INSTALL_BINDIR/dengbao|ExecStart=$bin|" "$units/$u.service" >"$TMP/units/$u.service"
    done
    out=$(systemd-analyze verify --man=no "$TMP/units/dengbao-agent.service" "$TMP/units/dengbao-serve.service" 2>&1); rc=$?
    expect_eq "systemd-analyze verify exit" 0 "$rc"
    expect_eq "systemd-analyze verify says nothing" "" "$out"
else
    # Not installed for this: the systemd package is a whole init system (users, tmpfiles) to
    # lint two files on a machine that does not boot with it.
    echo "skip: systemd-analyze not installed; the units are not verified by systemd"
fi
finish
