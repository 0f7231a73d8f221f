/*
 * tlb_stream_gen: run the flusher on simulated CPUs with a random workload
 * and write the event stream to a file (abi/tlb_event.h stream format), for the
 * validator's benchmark, the tlbcheck tool and bug hunting.
 *
 *   tlb_stream_gen --cpus N --ops N --seed S -o FILE
 *                  [--spaces N] [--global-pct P] [--async-unmap-pct P]
 *                  [--huge-pct P] [--nested-pct P] [--faults MASK]
 *
 * --nested-pct: in that % of a CPU's spins another CPU runs an operation
 * meanwhile (default 30). Defaults: --spaces 3 --global-pct 2 --huge-pct 3.
 *
 * --faults plants bugs (enum tlb_fault bits of tlb/flusher.h) so the stream
 * contains violations. Prints one JSON line with what it did.
 * Exit status: 0 written, 1 the run failed, 2 bad arguments.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "workload.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: tlb_stream_gen --cpus N --ops N --seed S -o FILE\n"
                 "                      [--spaces N] [--global-pct P] [--async-unmap-pct P] [--huge-pct P]\n"
                 "                      [--nested-pct P] [--faults MASK]\n");
}

/* Parse an unsigned number in [lo, hi]; false with a message otherwise. */
static bool parse_u64(const char *opt, const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = s ? strtoull(s, &end, 0) : 0;
    if (!s || errno || end == s || *end || s[0] == '-' || v < lo || v > hi) {
        fprintf(stderr, "tlb_stream_gen: %s needs a number in [%llu, %llu], got '%s'\n", opt,
                (unsigned long long)lo, (unsigned long long)hi, s ? s : "(nothing)");
        return false;
    }
    *out = v;
    return true;
}

struct args {
    uint64_t cpus, ops, seed, spaces, global_pct, async_pct, huge_pct, nested_pct, faults;
    const char *out;
    bool have_cpus, have_ops, have_seed;
};

static bool parse_args(int argc, char **argv, struct args *a)
{
    *a = (struct args){.spaces = 3, .global_pct = 2, .huge_pct = 3, .nested_pct = 30};
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool ok;
        if (!strcmp(o, "--cpus"))
            ok = a->have_cpus = parse_u64(o, v, 1, TLB_MAX_CPUS, &a->cpus);
        else if (!strcmp(o, "--ops"))
            ok = a->have_ops = parse_u64(o, v, 0, UINT64_C(1) << 32, &a->ops);
        else if (!strcmp(o, "--seed"))
            ok = a->have_seed = parse_u64(o, v, 0, UINT64_MAX, &a->seed);
        else if (!strcmp(o, "--spaces"))
            ok = parse_u64(o, v, 1, SIM_MAX_SPACES, &a->spaces);
        else if (!strcmp(o, "--global-pct"))
            ok = parse_u64(o, v, 0, 100, &a->global_pct);
        else if (!strcmp(o, "--async-unmap-pct"))
            ok = parse_u64(o, v, 0, 100, &a->async_pct);
        else if (!strcmp(o, "--huge-pct"))
            ok = parse_u64(o, v, 0, 100, &a->huge_pct);
        else if (!strcmp(o, "--nested-pct"))
            ok = parse_u64(o, v, 0, 100, &a->nested_pct);
        else if (!strcmp(o, "--faults"))
            ok = parse_u64(o, v, 0, TLB_FAULT_ALL, &a->faults);
        else if (!strcmp(o, "-o") && v)
            ok = (a->out = v) != NULL;
        else if (!strcmp(o, "-h") || !strcmp(o, "--help")) {
            usage(stdout);
            exit(0);
        } else {
            fprintf(stderr, "tlb_stream_gen: unknown or incomplete option '%s'\n", o);
            return false;
        }
        if (!ok)
            return false;
        i++;
    }
    if (!a->have_cpus || !a->have_ops || !a->have_seed || !a->out) {
        fprintf(stderr, "tlb_stream_gen: --cpus, --ops, --seed and -o are required\n");
        return false;
    }
    return true;
}

int main(int argc, char **argv)
{
    struct args a;
    if (!parse_args(argc, argv, &a)) {
        usage(stderr);
        return 2;
    }
    static struct sim s;
    if (!sim_init(&s, (unsigned)a.cpus, (unsigned)a.spaces, 16384, a.seed))
        return 1;
    tlb_domain_set_faults(s.dom, (uint32_t)a.faults);
    struct workload_opts o = workload_default_opts(a.ops);
    o.global_pct = (unsigned)a.global_pct;
    o.async_unmap_pct = (unsigned)a.async_pct;
    o.huge_pct = (unsigned)a.huge_pct;
    o.nested_pct = (unsigned)a.nested_pct;
    struct workload_stats st;
    bool ok = workload_run(&s, &o, &st);
    ok = sim_shutdown(&s) && ok;
    ok = ok && sim_write_stream(&s, a.out);
    uint64_t ipis = 0;
    for (unsigned c = 0; c < s.nr_cpus; c++)
        ipis += s.cpu[c].ipis;
    if (ok)
        printf("{\"cpus\":%llu,\"ops\":%llu,\"seed\":%llu,\"faults\":%llu,\"events\":%zu,\"maps\":%llu,"
               "\"huge_maps\":%llu,\"replaced\":%llu,\"unmaps\":%llu,\"protects\":%llu,\"activations\":%llu,"
               "\"nested_ops\":%llu,\"ipis_sent\":%llu,\"ipis_taken_by_scheduler\":%llu,\"nomem\":%llu,\"file\":\"%s\"}\n",
               (unsigned long long)a.cpus, (unsigned long long)a.ops, (unsigned long long)a.seed,
               (unsigned long long)a.faults, s.nr_ev, (unsigned long long)st.maps,
               (unsigned long long)st.huge_maps,
               (unsigned long long)st.replaced, (unsigned long long)st.unmaps,
               (unsigned long long)st.protects, (unsigned long long)st.activations,
               (unsigned long long)st.nested, (unsigned long long)ipis, (unsigned long long)st.deliveries, (unsigned long long)st.failures, a.out);
    sim_destroy(&s);
    return ok ? 0 : 1;
}
