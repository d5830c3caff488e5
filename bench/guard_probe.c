/* An independent libvirt event subscriber for bench/guard-latency.sh: prints, for every reboot
 * event of domains whose name starts with argv[2], the wall-clock time it was received (us).
 * The guard's alert timestamp minus this is the event -> alert latency. */
#include <libvirt/libvirt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static volatile sig_atomic_t stop;
static const char *prefix;

static void on_term(int s)
{
    (void)s;
    stop = 1;
}

static void on_reboot(virConnectPtr c, virDomainPtr d, void *opaque)
{
    (void)c;
    (void)opaque;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (strncmp(virDomainGetName(d), prefix, strlen(prefix)) == 0) {
        printf("%lld\n", (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
        fflush(stdout);
    }
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: guard_probe URI NAME_PREFIX\n");
        return 2;
    }
    prefix = argv[2];
    signal(SIGTERM, on_term);
    signal(SIGINT, on_term);
    virEventRegisterDefaultImpl();
    virConnectPtr c = virConnectOpen(argv[1]);
    if (!c)
        return 1;
    virConnectDomainEventRegisterAny(c, NULL, VIR_DOMAIN_EVENT_ID_REBOOT,
                                     VIR_DOMAIN_EVENT_CALLBACK(on_reboot), NULL, NULL);
    fprintf(stderr, "probe ready\n");
    while (!stop)
        virEventRunDefaultImpl();
    virConnectClose(c);
    return 0;
}
