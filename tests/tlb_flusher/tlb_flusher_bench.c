/*
 * tlb_flusher_bench: what the flusher and its events cost per operation on
 * the host, against a lower bound measured in the same run (the page-table
 * core alone: the same map/unmap with no flusher and no events).
 *
 *   tlb_flusher_bench [--ops N]
 *
 * Prints one JSON line per configuration: ns per (map + unmap) pair, and
 * events per pair. Single-threaded simulated machine (sim.h); "cpus" is how
 * many simulated CPUs have the space active, so every unmap also IPIs and
 * waits for cpus-1 remote flushes. Timings are wall-clock on this host;
 * run under `valgrind --tool=callgrind` for instruction counts.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim.h"

#define BASE 0x40000000ull
#define PG PT_BASE_PAGE_SIZE

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static const struct pt_prop RW = {.flags = PT_RW, .priv = PT_PRIV_USER, .cache = PT_CACHE_WB};

/* The lower bound: the page-table core alone (no flusher, no events). */
static double raw_pairs(struct sim *s, uint64_t ops)
{
    struct pt_page_table *pt = &s->spaces[0].pt;
    struct tlb_domain *dom = s->dom;
    s->dom = NULL;   /* the wrapped platform hooks emit nothing without a domain */
    double t0 = now_ns();
    for (uint64_t i = 0; i < ops; i++) {
        pt_vaddr_t va = BASE + (i % 256) * PG;
        pt_paddr_t pa = sim_alloc_frame(s);
        struct pt_cursor c;
        struct pt_frag f;
        if (!pa || pt_cursor_new(&c, pt, va, va + PG) != 0)
            abort();
        struct pt_item item = {.pa = pa, .level = 1, .prop = RW, .tracked = true};
        if (pt_cursor_map(&c, &item, &f) != 0)
            abort();
        pt_cursor_drop(&c);
        if (pt_cursor_new(&c, pt, va, va + PG) != 0 || pt_cursor_take_next(&c, PG, &f) != 1)
            abort();
        pt_frag_release(&s->hp.mem, &f);
        pt_cursor_drop(&c);
    }
    double t = now_ns() - t0;
    s->dom = dom;
    return t / (double)ops;
}

static double flusher_pairs(struct sim *s, uint64_t ops)
{
    double t0 = now_ns();
    for (uint64_t i = 0; i < ops; i++) {
        pt_vaddr_t va = BASE + (i % 256) * PG;
        if (sim_map(s, &s->spaces[0], va, RW) != 0 || sim_unmap(s, &s->spaces[0], va, PG, true) != 0)
            abort();
    }
    return (now_ns() - t0) / (double)ops;
}

static void run(unsigned cpus, uint64_t ops)
{
    static struct sim s;
    if (!sim_init(&s, cpus, 1, 4096, 1))
        exit(1);
    for (unsigned c = 0; c < cpus; c++) {
        sim_switch(&s, c);
        tlb_vmspace_activate(s.dom, &s.spaces[0]);
    }
    sim_switch(&s, 0);
    double raw = raw_pairs(&s, ops);
    /* The event buffer would grow by ~20 records per pair: drop them as we
       go so memory stays flat (the sink still runs). */
    size_t ev0 = s.nr_ev;
    double t = 0;
    uint64_t done = 0, events = 0;
    while (done < ops) {
        uint64_t chunk = ops - done < 10000 ? ops - done : 10000;
        t += flusher_pairs(&s, chunk) * (double)chunk;
        events += s.nr_ev - ev0;
        s.nr_ev = ev0;
        done += chunk;
    }
    printf("{\"bench\":\"tlb_flusher\",\"cpus\":%u,\"pairs\":%llu,\"raw_ns_per_pair\":%.1f,"
           "\"flusher_ns_per_pair\":%.1f,\"events_per_pair\":%.2f}\n",
           cpus, (unsigned long long)ops, raw, t / (double)ops, (double)events / (double)ops);
    fflush(stdout);
    if (!sim_shutdown(&s))
        exit(1);
    sim_destroy(&s);
}

int main(int argc, char **argv)
{
    uint64_t ops = 200000;
    if (argc == 3 && !strcmp(argv[1], "--ops"))
        ops = strtoull(argv[2], NULL, 0);
    else if (argc != 1) {
        fprintf(stderr, "usage: tlb_flusher_bench [--ops N]\n");
        return 2;
    }
    if (ops == 0) {
        fprintf(stderr, "tlb_flusher_bench: --ops must be a positive number\n");
        return 2;
    }
    run(1, ops);
    run(2, ops);
    run(4, ops);
    return 0;
}
