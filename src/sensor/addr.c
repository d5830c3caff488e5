/* Address helpers: IPv4/IPv6 text <-> the 16-byte form the tables key on, MAC text. */
#include <arpa/inet.h>
#include <stdio.h>

#include "sensor/sensor_internal.h"

int sn_ip_parse(const char *text, sn_ip *out)
{
    uint8_t v4[4];
    if (inet_pton(AF_INET, text, v4) == 1) {
        sn_ip_from_v4(out, v4);
        return 0;
    }
    if (inet_pton(AF_INET6, text, out->b) == 1)
        return 0;
    return -1;
}

void sn_ip_format(const sn_ip *ip, char *buf, size_t size)
{
    if (sn_ip_is_v4(ip)) {
        if (!inet_ntop(AF_INET, ip->b + 12, buf, (socklen_t)size))
            buf[0] = '\0';
    } else if (!inet_ntop(AF_INET6, ip->b, buf, (socklen_t)size)) {
        buf[0] = '\0';
    }
}



int sn_mac_parse(const char *text, uint8_t mac[6])
{
    unsigned v[6];
    char tail;
    if (sscanf(text, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
               &tail) != 6)
        return -1;
    for (int i = 0; i < 6; i++)
        mac[i] = (uint8_t)v[i];
    return 0;
}

void sn_mac_format(const uint8_t *mac, char *buf, size_t size)
{
    if (!mac) {
        if (size)
            buf[0] = '\0';
        return;
    }
    snprintf(buf, size, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
             mac[5]);
}
