#!/bin/bash
# A network-namespace test bed for the sensor, made and removed by this test (root only):
#   switch namespace  : bridges brA (tenant A) and brB (tenant B); the sensor captures here
#   host namespace    : the "hypervisor": 10.10.1.1 on brA, 10.10.2.1 on brB, routes between
#                       them, management ports 22/16509, the platform's dnsmasq (DHCP)
#   VMs (namespaces)  : va1 (attacker) va2 va3 va4 on brA (tenant-a), vb1 on brB (tenant-b)
# Each attack is generated for real (nmap, hping3, arping, a second dnsmasq, failed SSH logins
# against sshd, cross-tenant and VM-to-host connections, a worm-like fan-out, MAC change, an
# iperf3 burst after a learned baseline) while `dengbao sensor -i brA -i brB` runs live with an
# inventory snapshot written here; every expected alert is asserted. Then benign traffic (ping,
# an HTTP download, iperf3 inside a tenant, a normal DHCP exchange) under the shipped thresholds
# must raise zero alerts. All addresses live inside the namespaces; everything created is
# deleted on exit. SENSOR_SAVE_CASES=1 also refreshes tests/cases/sensor/bed_*.pcap.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip_all "needs root for network namespaces"
ip netns list >/dev/null 2>&1 || skip_all "no ip netns support"
ensure_pkgs nmap:nmap hping3:hping3 arping:arping dnsmasq:dnsmasq iperf3:iperf3 tcpdump:tcpdump \
    sshd:openssh-server busybox:busybox curl:curl jq:jq ping:iputils-ping
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

P="dsn$$"
SW="$P-sw"
HOST="$P-host"
VMS="va1 va2 va3 va4 vb1"
PIDS=""
CREATED_RUN_SSHD=0
CASES="$DBG_SRCDIR/tests/cases/sensor"

cleanup() {
    local pid ns
    for pid in $PIDS; do kill "$pid" 2>/dev/null; done
    sleep 0.3
    for pid in $PIDS; do kill -9 "$pid" 2>/dev/null; done
    for ns in $VMS; do ip netns del "$P-$ns" 2>/dev/null; done
    ip netns del "$HOST" 2>/dev/null
    ip netns del "$SW" 2>/dev/null
    [ "$CREATED_RUN_SSHD" = 1 ] && rmdir /run/sshd 2>/dev/null
    stop_started_daemons
    [ -n "${DBG_KEEP_TMP:-}" ] || rm -rf "$TMP"
}
trap cleanup EXIT

in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
vm() { local n=$1; shift; ip netns exec "$P-$n" "$@"; }
# Background commands are started directly (not through a function, which would fork a
# subshell): `ip netns exec` execs, so $! is the command's own PID, the one we kill.
bgns() { local ns=$1; shift; ip netns exec "$ns" "$@" >/dev/null 2>&1 & PIDS="$PIDS $!"; LAST=$!; }

# ---- build the bed ----
ip netns add "$SW" || skip_all "cannot create a network namespace"
ip netns add "$HOST"
in_ns "$SW" ip link set lo up
in_ns "$HOST" ip link set lo up
for br in brA brB; do
    in_ns "$SW" ip link add "$br" type bridge
    in_ns "$SW" ip link set "$br" type bridge stp_state 0 forward_delay 0
    in_ns "$SW" ip link set "$br" up
done
# host legs
in_ns "$SW" ip link add hA type veth peer name ethA netns "$HOST"
in_ns "$SW" ip link add hB type veth peer name ethB netns "$HOST"
in_ns "$SW" ip link set hA master brA up
in_ns "$SW" ip link set hB master brB up
in_ns "$HOST" ip link set ethA address 52:54:00:fe:00:01 up
in_ns "$HOST" ip link set ethB address 52:54:00:fe:00:02 up
in_ns "$HOST" ip addr add 10.10.1.1/24 dev ethA
in_ns "$HOST" ip addr add 10.10.2.1/24 dev ethB
in_ns "$HOST" sysctl -qw net.ipv4.ip_forward=1

declare -A MAC IPS BR
MAC[va1]=52:54:00:0a:00:11; IPS[va1]=10.10.1.11; BR[va1]=brA
MAC[va2]=52:54:00:0a:00:12; IPS[va2]=10.10.1.12; BR[va2]=brA
MAC[va3]=52:54:00:0a:00:13; IPS[va3]=10.10.1.13; BR[va3]=brA
MAC[va4]=52:54:00:0a:00:14; IPS[va4]=10.10.1.14; BR[va4]=brA
MAC[vb1]=52:54:00:0b:00:11; IPS[vb1]=10.10.2.11; BR[vb1]=brB
EXTRA_VA3=""
for i in $(seq 21 50); do EXTRA_VA3="$EXTRA_VA3 10.10.1.$i"; done
i=0
for n in $VMS; do
    i=$((i + 1))
    ip netns add "$P-$n"
    vm "$n" ip link set lo up
    in_ns "$SW" ip link add "tap$i" type veth peer name eth0 netns "$P-$n"
    in_ns "$SW" ip link set "tap$i" master "${BR[$n]}" up
    vm "$n" ip link set eth0 address "${MAC[$n]}" up
    vm "$n" ip addr add "${IPS[$n]}/24" dev eth0
    gw=10.10.1.1; [ "${BR[$n]}" = brB ] && gw=10.10.2.1
    vm "$n" ip route add default via "$gw"
done
for a in $EXTRA_VA3; do vm va3 ip addr add "$a/24" dev eth0; done

# the inventory snapshot (platform.h's JSON, schema_version 1)
json_ips() { local out="" a; for a in "$@"; do out="$out${out:+,}\"$a\""; done; printf '[%s]' "$out"; }
dom() { # name tenant bridge tap ips...
    local name=$1 tenant=$2 br=$3 tap=$4; shift 4
    printf '{"name":"%s","uuid":"00000000-0000-4000-8000-0000000000%s","state":"running","tenant_id":"%s","ifaces":[{"mac":"%s","type":"bridge","source":"%s","target_dev":"%s","ips":%s,"vlan":-1}]}' \
        "$name" "${MAC[$name]: -2}" "$tenant" "${MAC[$name]}" "$br" "$tap" "$(json_ips "$@")"
}
INV="$TMP/inventory.json"
cat >"$INV" <<EOF
{"schema_version": 1,
 "uri": "test:///netns-bed", "hostname": "bed-host",
 "domains": [
  $(dom va1 tenant-a brA tap1 10.10.1.11),
  $(dom va2 tenant-a brA tap2 10.10.1.12),
  $(dom va3 tenant-a brA tap3 10.10.1.13 $EXTRA_VA3),
  $(dom va4 tenant-a brA tap4 10.10.1.14),
  $(dom vb1 tenant-b brB tap5 10.10.2.11)
 ],
 "networks": [], "pools": [], "volumes": [], "nwfilters": [], "bindings": [], "host_files": [],
 "controls": [],
 "host_addresses": ["10.10.1.1", "10.10.2.1"],
 "mgmt_ports": [22, 16509, 16514]}
EOF
jq -e . "$INV" >/dev/null || { fail "inventory JSON is valid"; finish; exit 1; }

# Test-bed thresholds: the shipped ones, with flood rates low enough that the floods fit in a
# small committed capture and a 1-second volume bin so a baseline is learned in seconds.
RULES="$TMP/bed.rules.yaml"
cat >"$RULES" <<'EOF'
# thresholds of the namespace test bed (tests/integration/test_sensor_netns.sh)
flood:
  window_s: 1
  syn_packets: 200
  udp_packets: 400
  icmp_packets: 200
volume:
  bin_s: 1
  warmup_bins: 6
  min_bytes: 2000000
EOF

# services
SERVE_PY='import socket,sys,threading
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)
s.bind(("0.0.0.0",int(sys.argv[1]))); s.listen(64)
while True:
    c,_=s.accept(); c.close()'
bgns "$P-va2" "$PY" -c "$SERVE_PY" 4444
bgns "$P-va3" "$PY" -c "$SERVE_PY" 4444
bgns "$HOST" "$PY" -c "$SERVE_PY" 16509
bgns "$HOST" iperf3 -s -B 10.10.2.1
# the platform's own DHCP server on tenant A's network (authorized: a host address)
bgns "$HOST" dnsmasq --no-daemon --no-ping --conf-file=/dev/null --user=root --port=0 --interface=ethA \
    --bind-interfaces --dhcp-range=10.10.1.100,10.10.1.150,2m --dhcp-leasefile="$TMP/host.leases" \
    --pid-file="$TMP/host-dnsmasq.pid"
# sshd on va2 (failed logins)
if [ ! -d /run/sshd ]; then mkdir -p /run/sshd && CREATED_RUN_SSHD=1; fi
ssh-keygen -q -t ed25519 -N '' -f "$TMP/hostkey"
cat >"$TMP/sshd_config" <<EOF
Port 22
ListenAddress 10.10.1.12
HostKey $TMP/hostkey
PidFile $TMP/sshd.pid
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
MaxStartups 100
EOF
bgns "$P-va2" /usr/sbin/sshd -D -e -f "$TMP/sshd_config"
sleep 1

start_sensor() { # name rules -> sets SENSOR_PID, waits until capturing
    local name=$1 rules=$2
    mkdir -p "$TMP/status-$name"
    ip netns exec "$SW" "$DBG_BIN" sensor -i brA -i brB --inventory "$INV" --rules "$rules" \
        --eve "$TMP/$name.eve" --status-dir "$TMP/status-$name" >"$TMP/$name.out" 2>"$TMP/$name.err" &
    SENSOR_PID=$!
    PIDS="$PIDS $SENSOR_PID"
    local k
    for k in $(seq 1 50); do
        [ -f "$TMP/status-$name/sensor.json" ] && break
        kill -0 "$SENSOR_PID" 2>/dev/null || break
        sleep 0.1
    done
    sleep 0.3
}
stop_sensor() {
    kill -USR1 "$SENSOR_PID" 2>/dev/null; sleep 0.3
    kill -TERM "$SENSOR_PID" 2>/dev/null
    wait "$SENSOR_PID"
    SENSOR_RC=$?
}

# ---- attack phase ----
start_sensor attacks "$RULES"
expect_match "live sensor writes its status file" '"name":"sensor"' "$(cat "$TMP/status-attacks/sensor.json" 2>/dev/null)"
bgns "$SW" tcpdump -i brA -s 600 -U -w "$TMP/bed_attacks.pcap"
TCPDUMP_PID=$LAST
sleep 1
# volume: vb1 learns a quiet baseline (pings) for ~8 s, in the background of everything else
bgns "$P-vb1" ping -q -i 0.2 -c 40 10.10.2.1
VB1_PING=$LAST

# scans (tenant A's va1)
vm va1 nmap -sS -Pn -n -T4 -p 1-100 10.10.1.12 >/dev/null 2>&1
vm va1 nmap -sS -Pn -n -T4 -p 445 10.10.1.21-50 >/dev/null 2>&1
# ARP-only sweep (va3): a ping scan of addresses on its own segment that nobody holds never
# gets past ARP, so only the ARP requests can show it
vm va3 nmap -sn -n 10.10.1.60-89 >/dev/null 2>&1
# floods at va3 (bounded counts)
vm va1 hping3 -q -S -p 80 -c 500 -i u200 10.10.1.13 >/dev/null 2>&1
vm va1 hping3 -q --udp -p 9 -c 1000 -i u200 10.10.1.13 >/dev/null 2>&1
vm va1 hping3 -q --icmp -c 500 -i u200 10.10.1.13 >/dev/null 2>&1
# spoofing
vm va1 arping -q -U -S 10.10.1.12 -i eth0 -c 2 10.10.1.12 >/dev/null 2>&1
vm va1 hping3 -q -S -a 10.10.1.99 -p 8080 -c 3 -i u10000 10.10.1.13 >/dev/null 2>&1
# rogue DHCP on va4, asked by a client on va2 (both servers answer; only va4 is rogue)
bgns "$P-va4" dnsmasq --no-daemon --no-ping --conf-file=/dev/null --user=root --port=0 --interface=eth0 \
    --bind-interfaces --dhcp-range=10.10.1.200,10.10.1.210,2m --dhcp-leasefile="$TMP/rogue.leases" \
    --pid-file="$TMP/rogue.pid"
ROGUE=$LAST
sleep 0.5
vm va2 busybox udhcpc -i eth0 -n -q -f -t 4 -T 2 -s /bin/true >/dev/null 2>&1
kill "$ROGUE" 2>/dev/null
# brute force: failed SSH logins va1 -> va2
for k in $(seq 1 24); do
    vm va1 ssh -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
        -o ConnectTimeout=3 -o LogLevel=QUIET "nobody@10.10.1.12" true >/dev/null 2>&1
done
# cross-tenant (isolation failure) and VM -> host management port
vm va1 ping -q -c 2 -i 0.2 10.10.2.11 >/dev/null 2>&1
vm va1 bash -c 'exec 3<>/dev/tcp/10.10.1.1/16509' 2>/dev/null
# worm: va1 -> va2:4444, then va2 -> six hosts on 4444
vm va1 "$PY" -c 'import socket; socket.create_connection(("10.10.1.12",4444),3).close()'
vm va2 "$PY" -c '
import socket
for i in range(21, 27):
    socket.create_connection(("10.10.1.%d" % i, 4444), 3).close()'
# MAC spoofing: va4 takes a MAC the inventory does not give it
vm va4 ip link set eth0 address 02:00:00:00:00:44
vm va4 ping -q -c 2 -i 0.2 10.10.1.12 >/dev/null 2>&1
# volume anomaly: after vb1's baseline, an iperf3 burst to the host
wait "$VB1_PING" 2>/dev/null
vm vb1 iperf3 -c 10.10.2.1 -t 3 >/dev/null 2>&1
vm vb1 ping -q -c 2 -i 0.5 10.10.2.1 >/dev/null 2>&1
sleep 6   # let unanswered first contacts time out (TRW)
kill -TERM "$TCPDUMP_PID" 2>/dev/null; wait "$TCPDUMP_PID" 2>/dev/null
stop_sensor
expect_eq "attack run: exit 1 (alerts raised)" 1 "$SENSOR_RC"
EVE="$TMP/attacks.eve"
echo "attack-phase alerts:"
jq -c '[.alert.signature, .src_ip, .ether.src_mac, .dest_ip, .dest_port, .dengbao.src.vm, .dengbao.dest.vm]' "$EVE" 2>/dev/null
has() { # name jq-filter
    local n
    n=$(jq -c "select($2)" "$EVE" 2>/dev/null | wc -l)
    if [ "$n" -ge 1 ]; then pass "$1"; else fail "$1" "no alert matching $2"; fi
}
has "port_scan va1 -> va2" '.alert.signature=="port_scan" and .src_ip=="10.10.1.11" and .dest_ip=="10.10.1.12" and .dengbao.src.vm=="va1" and .dengbao.src.tenant=="tenant-a" and .dengbao.clause=="8.2.3.2a"'
has "host_sweep by va1 on 445" '.alert.signature=="host_sweep" and .src_ip=="10.10.1.11" and .dest_port==445'
has "host_sweep by ARP from va3" '.alert.signature=="host_sweep" and .src_ip=="10.10.1.13" and .dengbao.src.vm=="va3" and .dengbao.src.tenant=="tenant-a" and .dengbao.clause=="8.2.3.2a" and .scan.method=="arp"'
has "syn_flood va1 -> va3" '.alert.signature=="syn_flood" and .dest_ip=="10.10.1.13" and .dengbao.dest.vm=="va3"'
has "udp_flood va1 -> va3" '.alert.signature=="udp_flood" and .dest_ip=="10.10.1.13"'
has "icmp_flood va1 -> va3" '.alert.signature=="icmp_flood" and .dest_ip=="10.10.1.13"'
has "arp_spoof: va1 claims va2's address" '.alert.signature=="arp_spoof" and .ether.src_mac=="52:54:00:0a:00:11" and .dest_ip=="10.10.1.12" and .dengbao.src.vm=="va1"'
has "ip_spoof: va1 sends as 10.10.1.99" '.alert.signature=="ip_spoof" and .src_ip=="10.10.1.99" and .dengbao.src.vm=="va1"'
has "rogue_dhcp from va4" '.alert.signature=="rogue_dhcp" and .src_ip=="10.10.1.14" and .dengbao.src.vm=="va4"'
has "brute_force va1 -> va2:22" '.alert.signature=="brute_force" and .src_ip=="10.10.1.11" and .dest_ip=="10.10.1.12" and .dest_port==22'
has "cross_tenant va1 -> vb1 (8.2.4.3a)" '.alert.signature=="cross_tenant" and .dengbao.src.tenant=="tenant-a" and .dengbao.dest.tenant=="tenant-b" and .dengbao.clause=="8.2.4.3a"'
has "vm_to_host va1 -> 10.10.1.1:16509 (8.2.3.2c)" '.alert.signature=="vm_to_host" and .dest_ip=="10.10.1.1" and .dest_port==16509 and .dengbao.clause=="8.2.3.2c"'
has "worm_spread from va2 with chain va1 -> va2" '.alert.signature=="worm_spread" and .src_ip=="10.10.1.12" and (.worm.chain | index("10.10.1.11") != null)'
has "mac_spoof: va4's address from a foreign MAC" '.alert.signature=="mac_spoof" and .src_ip=="10.10.1.14" and .ether.src_mac=="02:00:00:00:00:44"'
has "volume_anomaly of vb1" '.alert.signature=="volume_anomaly" and .src_ip=="10.10.2.11" and .dengbao.src.vm=="vb1"'
expect_eq "no ip_spoof for addresses the inventory assigns (va3's 31)" 0 "$(jq -c 'select(.alert.signature=="ip_spoof" and .src_ip!="10.10.1.99")' "$EVE" | wc -l)"
expect_eq "the platform's own DHCP server is not rogue" 0 "$(jq -c 'select(.alert.signature=="rogue_dhcp" and .src_ip=="10.10.1.1")' "$EVE" | wc -l)"
expect_match "stats at exit (drops counted)" "sensor stats: packets=[1-9][0-9]* .*drops=[0-9]+" "$(cat "$TMP/attacks.err")"
expect_eq "stats on SIGUSR1 and at exit" 2 "$(grep -c 'sensor stats:' "$TMP/attacks.err")"
expect_match "status file says stopped" '"running":false' "$(cat "$TMP/status-attacks/sensor.json")"

# the same traffic read back from tenant A's bridge capture gives the same tenant-A alerts
if [ -s "$TMP/bed_attacks.pcap" ]; then
    "$DBG_BIN" sensor -r "$TMP/bed_attacks.pcap" --inventory "$INV" --rules "$RULES" --eve "$TMP/replay.eve" 2>/dev/null
    live=$(jq -r 'select(.dengbao.src.tenant=="tenant-a" or .dengbao.dest.tenant=="tenant-a") | .alert.signature' "$EVE" | grep -v volume_anomaly | sort -u | tr '\n' ' ')
    replay=$(jq -r 'select(.dengbao.src.tenant=="tenant-a" or .dengbao.dest.tenant=="tenant-a") | .alert.signature' "$TMP/replay.eve" | grep -v volume_anomaly | sort -u | tr '\n' ' ')
    expect_eq "offline replay of brA finds the live tenant-A alert types" "$live" "$replay"
    if [ "${SENSOR_SAVE_CASES:-0}" = 1 ]; then
        mkdir -p "$CASES"
        cp "$TMP/bed_attacks.pcap" "$CASES/bed_attacks.pcap"
        cp "$INV" "$CASES/bed_attacks.inventory.json"
        cp "$RULES" "$CASES/bed_attacks.rules.yaml"
    fi
fi

# ---- benign phase: shipped thresholds, zero alerts ----
vm va4 ip link set eth0 address "${MAC[va4]}"
head -c 3000000 /dev/urandom >"$TMP/www.bin"
bgns "$P-va2" "$PY" -m http.server --bind 10.10.1.12 --directory "$TMP" 8000
bgns "$P-va3" iperf3 -s -B 10.10.1.13
sleep 1
start_sensor benign "$DBG_SRCDIR/data/rules/sensor.yaml"
bgns "$SW" tcpdump -i brA -s 600 -U -w "$TMP/bed_benign.pcap" 'not (tcp port 5201)'
TCPDUMP_PID=$LAST
sleep 1
vm va1 ping -q -c 5 -i 0.2 10.10.1.12 >/dev/null 2>&1
vm vb1 ping -q -c 3 -i 0.2 10.10.2.1 >/dev/null 2>&1
vm va1 curl -s -o "$TMP/dl.bin" http://10.10.1.12:8000/www.bin
expect_eq "benign: HTTP download completed" "$(wc -c <"$TMP/www.bin")" "$(wc -c <"$TMP/dl.bin" 2>/dev/null || echo 0)"
vm va1 iperf3 -c 10.10.1.13 -t 3 >/dev/null 2>&1
expect_eq "benign: iperf3 ran" 0 $?
vm va2 busybox udhcpc -i eth0 -n -q -f -t 4 -T 2 -s /bin/true >/dev/null 2>&1
expect_match "benign: DHCP lease from the platform's server" "${MAC[va2]}" "$(cat "$TMP/host.leases" 2>/dev/null)"
vm va2 ping -q -c 3 -i 0.3 10.10.1.13 >/dev/null 2>&1
sleep 6
kill -TERM "$TCPDUMP_PID" 2>/dev/null; wait "$TCPDUMP_PID" 2>/dev/null
stop_sensor
expect_eq "benign run: exit 0" 0 "$SENSOR_RC"
expect_eq "benign traffic: zero alerts" "" "$(jq -c '[.alert.signature, .src_ip, .dest_ip, .dengbao.evidence]' "$TMP/benign.eve" 2>/dev/null)"
expect_match "benign run saw the traffic" "packets=[0-9]{4,}" "$(cat "$TMP/benign.err")"
if [ "${SENSOR_SAVE_CASES:-0}" = 1 ] && [ -s "$TMP/bed_benign.pcap" ]; then
    cp "$TMP/bed_benign.pcap" "$CASES/bed_benign.pcap"
    cp "$INV" "$CASES/bed_benign.inventory.json"
fi
finish
