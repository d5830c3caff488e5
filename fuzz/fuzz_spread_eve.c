/* libFuzzer target: a sensor EVE file (`--sensor-eve`) into contacts, through a memfd so the
 * loader reads it as it reads a file, then spread correlation against three fixed infections.
 * A readable file is never an error, and its skipped lines are counted within it, the first
 * named by a line number and why; every contact has both addresses, a signature and a count;
 * no address or VM name is made up (each is in the input, unless the input has JSON escapes);
 * an incident or suspect only ever links an infected source to the destination of a contact it
 * names, and an incident's families are carried by both ends. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dengbao/malware.h"
#include "dengbao/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *fam_a[] = {"Mirai", "Gafgyt"}, *fam_b[] = {"Mirai"}, *fam_c[] = {"Emotet"};
static const dbg_infection infections[] = {
    {.vm = "vm-a", .ip = "10.0.0.1", .image = "a.raw", .families = fam_a, .n_families = 2},
    {.vm = "vm-b", .ip = "10.0.0.2", .image = "b.raw", .families = fam_b, .n_families = 1},
    {.vm = NULL, .ip = "10.0.0.3", .image = "c.raw", .families = fam_c, .n_families = 1},
};
#define N_INF (sizeof(infections) / sizeof(infections[0]))

static int is_endpoint(const dbg_infection *x, const char *ip, const char *vm)
{
    return (ip && strcmp(x->ip, ip) == 0) || (x->vm && vm && strcmp(x->vm, vm) == 0);
}

static int carries(const dbg_infection *x, const char *family)
{
    for (size_t k = 0; k < x->n_families; k++)
        if (strcmp(x->families[k], family) == 0)
            return 1;
    return 0;
}

static void check_seen(const uint8_t *data, size_t size, const char *s)
{
    if (s && !memchr(data, '\\', size) && !memmem(data, size, s, strlen(s)))
        abort();
}

static void check_contacts(const uint8_t *data, size_t size, const dbg_contact *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!c[i].src_ip || !c[i].dst_ip || !c[i].signature || c[i].count == 0)
            abort();
        check_seen(data, size, c[i].src_ip);
        check_seen(data, size, c[i].dst_ip);
        check_seen(data, size, c[i].src_vm);
        check_seen(data, size, c[i].dst_vm);
        if (strcmp(c[i].signature, "flow") != 0)
            check_seen(data, size, c[i].signature);
    }
}

static void check_links(const size_t *idx, size_t n_idx, const dbg_contact *c, size_t n,
                        size_t from)
{
    if (n_idx == 0)
        abort();
    for (size_t k = 0; k < n_idx; k++)
        if (idx[k] >= n || !is_endpoint(&infections[from], c[idx[k]].src_ip, c[idx[k]].src_vm))
            abort();
}

static void check_spread(const dbg_contact *c, size_t n)
{
    dbg_spread_result res;
    if (dbg_spread_correlate(infections, N_INF, c, n, &res) < 0)
        return; /* out of memory */
    for (size_t i = 0; i < res.n_incidents; i++) {
        const dbg_spread_incident *inc = &res.incidents[i];
        if (inc->from >= N_INF || inc->to >= N_INF || inc->from == inc->to || !inc->n_families)
            abort();
        check_links(inc->contacts, inc->n_contacts, c, n, inc->from);
        for (size_t k = 0; k < inc->n_contacts; k++) {
            const dbg_contact *ct = &c[inc->contacts[k]];
            if (!is_endpoint(&infections[inc->to], ct->dst_ip, ct->dst_vm))
                abort();
        }
        for (size_t k = 0; k < inc->n_families; k++)
            if (!carries(&infections[inc->from], inc->families[k]) ||
                !carries(&infections[inc->to], inc->families[k]))
                abort();
    }
    for (size_t i = 0; i < res.n_suspects; i++) {
        const dbg_spread_suspect *s = &res.suspects[i];
        if (s->from >= N_INF)
            abort();
        check_links(s->contacts, s->n_contacts, c, n, s->from);
        for (size_t k = 0; k < s->n_contacts; k++)
            for (size_t b = 0; b < N_INF; b++) /* an infected destination is no mere suspect */
                if (b != s->from &&
                    is_endpoint(&infections[b], c[s->contacts[k]].dst_ip, c[s->contacts[k]].dst_vm))
                    abort();
    }
    dbg_spread_result_free(&res);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("fuzz-eve", MFD_CLOEXEC);
    if (fd < 0)
        return 0;
    for (size_t off = 0; off < size;) {
        ssize_t w = write(fd, data + off, size - off);
        if (w <= 0) {
            close(fd);
            return 0;
        }
        off += (size_t)w;
    }
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    dbg_contact *c = NULL;
    size_t n = 0;
    dbg_eve_skipped sk;
    if (dbg_contacts_load_eve(path, &c, &n, &sk) < 0)
        abort(); /* a readable file: only running out of memory may fail it */
    size_t lines = 0;
    for (size_t i = 0; i < size; i++)
        lines += data[i] == '\n';
    /* a skipped line is one of the file's, the first named with why */
    if (sk.lines > lines + 1 || (sk.lines == 0) != (sk.first_line == 0) ||
        sk.first_line > lines + 1 || (sk.lines && !sk.first_why[0]))
        abort();
    check_contacts(data, size, c, n);
    check_spread(c, n);
    dbg_contacts_free(c, n);
    close(fd);
    return 0;
}
