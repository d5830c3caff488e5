/* libpcap through util/lazy_lib.h: loaded when the sensor opens a capture. */
#ifndef DBG_SENSOR_PCAP_LAZY_H
#define DBG_SENSOR_PCAP_LAZY_H

#include <pcap/pcap.h>

#include "util/lazy_lib.h"

#ifndef DBG_LINKED_LIBS /* sanitizer builds link the library (meson.build) */
#define pcap_activate (*DBG_LAZY(DBG_LAZY_PCAP, pcap_activate))
#define pcap_close (*DBG_LAZY(DBG_LAZY_PCAP, pcap_close))
#define pcap_create (*DBG_LAZY(DBG_LAZY_PCAP, pcap_create))
#define pcap_datalink (*DBG_LAZY(DBG_LAZY_PCAP, pcap_datalink))
#define pcap_datalink_val_to_name (*DBG_LAZY(DBG_LAZY_PCAP, pcap_datalink_val_to_name))
#define pcap_dispatch (*DBG_LAZY(DBG_LAZY_PCAP, pcap_dispatch))
#define pcap_get_selectable_fd (*DBG_LAZY(DBG_LAZY_PCAP, pcap_get_selectable_fd))
#define pcap_geterr (*DBG_LAZY(DBG_LAZY_PCAP, pcap_geterr))
#define pcap_fopen_offline_with_tstamp_precision                                                   \
    (*DBG_LAZY(DBG_LAZY_PCAP, pcap_fopen_offline_with_tstamp_precision))
#define pcap_open_offline_with_tstamp_precision                                                    \
    (*DBG_LAZY(DBG_LAZY_PCAP, pcap_open_offline_with_tstamp_precision))
#define pcap_set_buffer_size (*DBG_LAZY(DBG_LAZY_PCAP, pcap_set_buffer_size))
#define pcap_set_promisc (*DBG_LAZY(DBG_LAZY_PCAP, pcap_set_promisc))
#define pcap_set_snaplen (*DBG_LAZY(DBG_LAZY_PCAP, pcap_set_snaplen))
#define pcap_set_timeout (*DBG_LAZY(DBG_LAZY_PCAP, pcap_set_timeout))
#define pcap_setnonblock (*DBG_LAZY(DBG_LAZY_PCAP, pcap_setnonblock))
#define pcap_stats (*DBG_LAZY(DBG_LAZY_PCAP, pcap_stats))
#endif

#endif
