/* Volume anomaly: a VM's (attributed by the inventory) bytes sent per bin
 * (volume.bin_s) against its own baseline, an exponentially weighted mean and variance
 * (volume.alpha). After volume.warmup_bins bins, a bin above mean + k * stddev and above
 * volume.min_bytes is an anomaly. Quiet bins between packets count as zero. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>

#include "sensor/sensor_internal.h"

static void ewma_update(dbg_sensor *s, sn_host *h, double x)
{
    if (h->vol_bins == 0) {
        h->vol_mean = x;
        h->vol_var = 0;
    } else {
        double a = s->r.volume_alpha, d = x - h->vol_mean;
        h->vol_mean += a * d;
        h->vol_var = (1 - a) * (h->vol_var + a * d * d);
    }
    h->vol_bins++;
}

void sn_detect_volume(dbg_sensor *s, const sn_pkt *p, sn_host *h)
{
    int64_t bin = sn_secs(s->r.volume_bin_s);
    if (!h->vol_bin_start)
        h->vol_bin_start = s->now;
    if (s->now - h->vol_bin_start >= bin) {
        double x = (double)h->vol_bin_bytes;
        double sd = sqrt(h->vol_var);
        double limit = h->vol_mean + s->r.volume_k * sd;
        if (h->vol_bins >= s->r.volume_warmup_bins && x > limit &&
            h->vol_bin_bytes >= s->r.volume_min_bytes) {
            char ip[46];
            sn_ip_format(&h->k.ip, ip, sizeof(ip));
            snprintf(s->evidence, sizeof(s->evidence),
                     "%s sent %" PRIu64 " bytes in %gs; baseline mean %.0f stddev %.0f over %u "
                     "bins (limit mean + %g sd = %.0f)",
                     ip, h->vol_bin_bytes, s->r.volume_bin_s, h->vol_mean, sd, h->vol_bins,
                     s->r.volume_k, limit);
            snprintf(s->extra, sizeof(s->extra),
                     "{\"volume\":{\"bin_bytes\":%" PRIu64 ",\"baseline_mean\":%.0f,"
                     "\"baseline_stddev\":%.0f}}",
                     h->vol_bin_bytes, h->vol_mean, sd);
            sn_raise(s, "volume_anomaly", "8.2.3.2c", h->k.vlan, &h->k.ip, NULL, NULL, NULL, -1,
                     0, h->vol_bin_start, h->vol_bin_start + bin, h->vol_bin_pkts,
                     h->vol_bin_bytes);
            /* the anomalous bin is not learned as normal at full weight */
            x = limit;
        }
        ewma_update(s, h, x);
        int64_t gap = (s->now - h->vol_bin_start) / bin; /* >= 1 */
        for (int64_t i = 1; i < gap && i < 64; i++)
            ewma_update(s, h, 0);
        h->vol_bin_start += gap * bin;
        h->vol_bin_bytes = h->vol_bin_pkts = 0;
    }
    h->vol_bin_bytes += p->wirelen;
    h->vol_bin_pkts++;
}
