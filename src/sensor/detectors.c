/* The registration table of detectors (Suricata's detect-* idea): one record per alert type
 * with its EVE category, default MLPS clause, severity and a description. Adding a detector is
 * one detect_*.c file plus one line here. */
#include <string.h>

#include "sensor/sensor_internal.h"

static const dbg_sensor_detector_info detectors[] = {
    {"port_scan", "Attempted Information Leak", "8.2.3.2a", DBG_SEV_MEDIUM,
     "one source probing many ports of one host (window threshold and TRW)"},
    {"host_sweep", "Attempted Information Leak", "8.2.3.2a", DBG_SEV_MEDIUM,
     "one source probing many hosts on one port (window threshold and TRW)"},
    {"syn_flood", "Denial of Service", "8.2.3.2a", DBG_SEV_HIGH,
     "TCP SYN rate per target or source above flood.syn_packets per window"},
    {"udp_flood", "Denial of Service", "8.2.3.2a", DBG_SEV_HIGH,
     "UDP rate per target or source above flood.udp_packets per window"},
    {"icmp_flood", "Denial of Service", "8.2.3.2a", DBG_SEV_HIGH,
     "ICMP request rate per target or source above flood.icmp_packets per window"},
    {"tcp_flood", "Denial of Service", "8.2.3.2a", DBG_SEV_HIGH,
     "rate per target or source, above flood.tcp_packets per window, of TCP segments without "
     "SYN (ACK, RST, FIN, SYN-ACK) outside any connection: seen opened, or heard from both "
     "sides"},
    {"arp_spoof", "Spoofing: ARP", "8.2.3.2b", DBG_SEV_HIGH,
     "ARP (or IPv6 neighbour discovery, protocol ndp) claiming an address the inventory or "
     "recent bindings give another MAC, an unsolicited ARP reply, or an ND link-layer address "
     "that is not the sender's"},
    {"ip_spoof", "Spoofing: IP", "8.2.3.2b", DBG_SEV_HIGH,
     "a VM sending from an IP address not assigned to its port"},
    {"mac_spoof", "Spoofing: MAC", "8.2.3.2b", DBG_SEV_HIGH,
     "a frame with a MAC address not assigned to the port or address"},
    {"rogue_dhcp", "Rogue DHCP Server", "8.2.3.2b", DBG_SEV_HIGH,
     "DHCP offers, DHCPv6 advertise/reply or IPv6 router advertisements from a sender that is "
     "not the platform's"},
    {"brute_force", "Attempted Login Brute Force", "8.2.3.2a", DBG_SEV_HIGH,
     "many completed handshakes from one source to one login or database service"},
    {"cross_tenant", "Isolation Failure", "8.2.4.3a", DBG_SEV_HIGH,
     "traffic between VMs of tenants the inventory isolates"},
    {"vm_to_host", "Abnormal VM-Host Traffic", "8.2.3.2c", DBG_SEV_HIGH,
     "a tenant VM reaching the hypervisor's management services"},
    {"volume_anomaly", "Abnormal Traffic Volume", "8.2.3.2c", DBG_SEV_MEDIUM,
     "a VM's traffic far above its own EWMA baseline"},
    {"worm_spread", "Lateral Movement", "8.2.3.2c", DBG_SEV_HIGH,
     "a host that received a connection on port P fanning out to many hosts on port P"},
};

const dbg_sensor_detector_info *dbg_sensor_detectors(size_t *n)
{
    *n = sizeof(detectors) / sizeof(detectors[0]);
    return detectors;
}

const dbg_sensor_detector_info *dbg_sensor_detector(const char *name)
{
    for (size_t i = 0; i < sizeof(detectors) / sizeof(detectors[0]); i++)
        if (strcmp(detectors[i].name, name) == 0)
            return &detectors[i];
    return NULL;
}
