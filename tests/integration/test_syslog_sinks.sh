#!/bin/bash
# --syslog on the commands that raise alerts: every alert the sensor (or an image scan) writes
# to EVE also reaches a syslog receiver as one RFC 5424 message with the same type, over a Unix
# datagram socket and over UDP on loopback; a receiver that is not there fails the run (exit 3)
# without losing the EVE lines; a transport we do not speak is a usage error. The SD-ID is
# dengbao@32473 (IANA's documentation number) unless the target gives the operator's own
# enterprise number (",pen=N"); a number that is none is a usage error naming it.
set -u
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || skip_all "needs python3"
CASES="$DBG_SRCDIR/tests/cases/sensor"
RECV="$DBG_SRCDIR/tests/integration/syslog_recv.py"

# An RFC 5424 message as dengbao sends it: PRI (facility 4) VERSION TIMESTAMP HOSTNAME APP-NAME
# PROCID MSGID [SD-ID params] MSG
RFC5424='^<3[2-9]>1 [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+(Z|[+-][0-9]{2}:[0-9]{2}) [!-~]+ dengbao [0-9]+ [!-~]+ \[dengbao@32473 type="[a-z_]+" '

python3 "$RECV" "unix:$TMP/log.sock" "$TMP/unix.log" & recv=$!
for _ in $(seq 50); do [ -S "$TMP/log.sock" ] && break; sleep 0.1; done
"$DBG_BIN" sensor -r "$CASES/bed_attacks.pcap" --inventory "$CASES/bed_attacks.inventory.json" \
    --rules "$CASES/bed_attacks.rules.yaml" --eve "$TMP/eve.json" --syslog "unix:$TMP/log.sock" \
    2>"$TMP/err"
expect_eq "sensor with --syslog: alerts raised (exit 1)" 1 $?
wait "$recv"
n_eve=$(grep -c '"event_type":"alert"' "$TMP/eve.json")
expect_match "the capture raises alerts" '^[1-9][0-9]*$' "$n_eve"
expect_eq "one syslog message per EVE alert" "$n_eve" "$(wc -l < "$TMP/unix.log")"
expect_eq "every message is RFC 5424 with dengbao's structured data" 0 \
    "$(grep -Evc "$RFC5424" "$TMP/unix.log")"
expect_eq "the same alert types, in the same order" \
    "$(jq -r .alert.signature "$TMP/eve.json" | tr '\n' ' ')" \
    "$(sed -E 's/.*\[dengbao@32473 type="([a-z_]+)".*/\1/' "$TMP/unix.log" | tr '\n' ' ')"
first_ip=$(jq -r 'select(.src_ip != null) | .src_ip' "$TMP/eve.json" | head -1)
expect_match "source address in the structured data" "src_ip=\"$first_ip\"" "$(cat "$TMP/unix.log")"

# UDP on loopback, from an image scan that finds the EICAR test string
EICAR='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'
head -c 1048576 /dev/zero > "$TMP/disk.raw"
printf '%s' "$EICAR" | dd of="$TMP/disk.raw" bs=1 seek=4096 conv=notrunc status=none
python3 "$RECV" "udp:$TMP/port" "$TMP/udp.log" & recv=$!
for _ in $(seq 50); do [ -s "$TMP/port" ] && break; sleep 0.1; done
"$DBG_BIN" image scan "$TMP/disk.raw" --image-format raw --no-progress \
    --syslog "udp:127.0.0.1:$(cat "$TMP/port"),pen=54321.7" >"$TMP/scan.out" 2>"$TMP/err"
expect_eq "image scan with --syslog only: found (exit 1)" 1 $?
wait "$recv"
expect_eq "one message over UDP" 1 "$(wc -l < "$TMP/udp.log")"
expect_match "RFC 5424, malware alert, SD-ID with the enterprise number given" \
    "${RFC5424/dengbao@32473/dengbao@54321\\.7}" "$(cat "$TMP/udp.log")"
expect_match "naming the rule's finding" "EICAR" "$(cat "$TMP/udp.log")"

# nobody listening on the socket: the EVE lines are all written, the run says what failed
rm -f "$TMP/eve2.json"
"$DBG_BIN" sensor -r "$CASES/bed_attacks.pcap" --inventory "$CASES/bed_attacks.inventory.json" \
    --rules "$CASES/bed_attacks.rules.yaml" --eve "$TMP/eve2.json" \
    --syslog "unix:$TMP/nobody.sock" 2>"$TMP/err"
expect_eq "syslog receiver absent: runtime error" 3 $?
expect_match "names the target" "syslog unix:$TMP/nobody.sock: cannot send alert" "$(cat "$TMP/err")"
expect_eq "no alert lost from EVE" "$n_eve" "$(grep -c '"event_type":"alert"' "$TMP/eve2.json")"
"$DBG_BIN" sensor -r "$CASES/bed_attacks.pcap" --eve "$TMP/eve3.json" \
    --syslog tcp:127.0.0.1:514 2>"$TMP/err"
expect_eq "a transport that is not spoken: usage error" 2 $?
expect_match "says what is accepted" "use unix:PATH or udp:HOST:PORT" "$(cat "$TMP/err")"
"$DBG_BIN" sensor -r "$CASES/bed_attacks.pcap" --eve "$TMP/eve4.json" \
    --syslog "unix:$TMP/log.sock,pen=32473x" 2>"$TMP/err"
expect_eq "an enterprise number that is none: usage error" 2 $?
expect_match "naming it" "pen '32473x' is not an IANA Private Enterprise Number" "$(cat "$TMP/err")"
"$DBG_BIN" agent --help | grep -q -- "--syslog TARGET"
expect_eq "agent offers --syslog" 0 $?
finish
