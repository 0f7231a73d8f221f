/*
 * tlb_validator_bench: validator throughput (events per second, one core)
 * for a realistic stream at 1, 4 and 16 CPUs, printed as JSON lines.
 *
 *   tlb_validator_bench [--events N] [--seed S] [--cpus N] [FILE...]
 *
 * Without FILE it generates, per CPU count, a stream shaped like the
 * OSTD VmSpace workload: every CPU activates the address space; random
 * CPUs map ranges (upgrades, no flush), unmap them (PTE clears, dispatch to
 * every CPU, one INVLPG per page below 32 pages or a full flush above,
 * acknowledgements, sync, frame frees) and protect them (RW -> RO with the
 * same shootdown), and now and then switch to a second address space and
 * back. With FILE arguments it measures those stream files instead (e.g.
 * from tests/tlb_flusher's tlb_stream_gen).
 *
 * Times are thread CPU time (CLOCK_THREAD_CPUTIME_ID), so other load on
 * the machine does not count, though it still disturbs caches.
 * Each measurement is the best of 3 runs; the baseline figure is the cost of
 * decoding and format-checking the same records without the model, a lower
 * bound measured in the same run.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pagetable/x86_64.h"
#include "abi/tlb_event_codec.h"
#include "tlb/validator.h"

#define ROOT 0x100000ull
#define ROOT2 0x180000ull
#define L3N 0x101000ull
#define L2N 0x102000ull
#define L1BASE 0x110000ull   /* 16 level-1 nodes */
#define NL1 16
#define NPAGES (NL1 * 512)
#define FRAME_BASE 0x10000000ull

struct gen {
    struct tlb_event *ev;
    size_t n, cap;
    uint64_t seq, rng;
    uint32_t ncpus;
    uint64_t pte[NPAGES];   /* the level-1 entries */
};

static uint64_t rnd(struct gen *g)
{
    g->rng ^= g->rng << 13;
    g->rng ^= g->rng >> 7;
    g->rng ^= g->rng << 17;
    return g->rng;
}

static void emit(struct gen *g, struct tlb_event ev)
{
    if (g->n == g->cap) {
        g->cap = g->cap ? g->cap * 2 : 1 << 16;
        g->ev = realloc(g->ev, g->cap * sizeof *g->ev);
        if (!g->ev) {
            fprintf(stderr, "bench: out of memory\n");
            exit(2);
        }
    }
    ev.seq = g->seq++;
    g->ev[g->n++] = ev;
}

static void store(struct gen *g, uint32_t cpu, uint64_t root, uint64_t node, int level, unsigned idx,
                  uint64_t old, uint64_t new)
{
    struct tlb_event e = { .cpu = cpu, .type = TLB_EV_PTE_STORE, .sub = (uint8_t)level, .arg = (uint16_t)idx,
                           .root = root };
    e.u.pte.node = node;
    e.u.pte.old_pte = old;
    e.u.pte.new_pte = new;
    emit(g, e);
}

static void simple(struct gen *g, uint32_t cpu, uint8_t type, uint8_t sub, uint64_t root, uint64_t a,
                   uint64_t b, uint64_t c)
{
    struct tlb_event e = { .cpu = cpu, .type = type, .sub = sub, .root = root };
    e.u.raw[0] = a;
    e.u.raw[1] = b;
    e.u.raw[2] = c;
    emit(g, e);
}

static void set_pte(struct gen *g, uint32_t cpu, unsigned page, uint64_t val)
{
    store(g, cpu, ROOT, L1BASE + (page / 512) * 4096ull, 1, page % 512, g->pte[page], val);
    g->pte[page] = val;
}

static uint64_t leaf(unsigned page, bool rw)
{
    return (FRAME_BASE + page * 4096ull) | PTE_P | PTE_US | PTE_A | PTE_PS | (rw ? PTE_RW : 0);
}

/* Dispatch + per-target flush + acks + sync, as the OSTD flusher does. */
static void shootdown(struct gen *g, uint32_t cpu, unsigned first, unsigned k)
{
    uint64_t mask = g->ncpus >= 64 ? ~0ull : (1ull << g->ncpus) - 1, va = first * 4096ull;
    bool all = k >= 32;
    uint64_t d = g->seq;
    simple(g, cpu, TLB_EV_DISPATCH, all ? TLB_FLUSH_ALL_NONGLOBAL : TLB_FLUSH_RANGE, ROOT, mask,
           all ? 0 : va, all ? 0 : k);
    for (uint32_t c = 0; c < g->ncpus; c++) {
        if (all)
            simple(g, c, TLB_EV_FLUSH, TLB_FLUSH_ALL_NONGLOBAL, 0, 0, 0, 0);
        else
            for (unsigned i = 0; i < k; i++)
                simple(g, c, TLB_EV_FLUSH, TLB_FLUSH_SINGLE, 0, va + i * 4096ull, 1, 0);
        if (c != cpu)
            simple(g, c, TLB_EV_REMOTE_DONE, 0, 0, cpu, d, 0);
    }
    simple(g, cpu, TLB_EV_SYNC_DONE, 0, 0, mask & ~(1ull << cpu), d, 0);
}

static void op(struct gen *g, uint32_t cpu, bool begin, uint8_t kind, unsigned first, unsigned k)
{
    simple(g, cpu, begin ? TLB_EV_OP_BEGIN : TLB_EV_OP_END, kind, ROOT, first * 4096ull,
           (first + k) * 4096ull, 0);
}

static void generate(struct gen *g, uint32_t ncpus, size_t target, uint64_t seed)
{
    memset(g, 0, sizeof *g);
    g->ncpus = ncpus;
    g->seq = 1;
    g->rng = seed * 0x9e3779b97f4a7c15ull + 1;
    store(g, 0, ROOT, ROOT, 4, 0, 0, L3N | PTE_P | PTE_RW | PTE_US);
    store(g, 0, ROOT, L3N, 3, 0, 0, L2N | PTE_P | PTE_RW | PTE_US);
    for (unsigned i = 0; i < NL1; i++)
        store(g, 0, ROOT, L2N, 2, i, 0, (L1BASE + i * 4096ull) | PTE_P | PTE_RW | PTE_US);
    store(g, 0, ROOT2, ROOT2, 4, 1, 0, 0x181000 | PTE_P | PTE_RW | PTE_US);
    for (uint32_t c = 0; c < ncpus; c++) {
        simple(g, c, TLB_EV_ACTIVATE, TLB_ACTIVATE_ENTER, ROOT, 0, 0, 0);
        simple(g, c, TLB_EV_CR3_LOAD, 0, ROOT, 0, 0, 0);
    }
    while (g->n < target) {
        uint32_t cpu = (uint32_t)(rnd(g) % ncpus);
        unsigned k = 1 + (unsigned)(rnd(g) % (rnd(g) % 8 == 0 ? 64 : 16));
        unsigned first = (unsigned)(rnd(g) % (NPAGES - k));
        unsigned what = (unsigned)(rnd(g) % 100);
        if (what < 2) {   /* context switch away and back (CR3 loads flush) */
            simple(g, cpu, TLB_EV_CR3_LOAD, 0, ROOT2, 0, 0, 0);
            simple(g, cpu, TLB_EV_CR3_LOAD, 0, ROOT, 0, 0, 0);
            continue;
        }
        bool mapped = g->pte[first] != 0;
        if (!mapped) {    /* map whatever is unmapped in the range */
            op(g, cpu, true, TLB_OP_MAP, first, k);
            for (unsigned i = first; i < first + k; i++)
                if (!g->pte[i])
                    set_pte(g, cpu, i, leaf(i, true));
            op(g, cpu, false, TLB_OP_MAP, first, k);
        } else if (what < 60) {   /* unmap */
            op(g, cpu, true, TLB_OP_UNMAP, first, k);
            for (unsigned i = first; i < first + k; i++)
                if (g->pte[i])
                    set_pte(g, cpu, i, 0);
            shootdown(g, cpu, first, k);
            for (unsigned i = first; i < first + k; i++)
                simple(g, cpu, TLB_EV_FREE, TLB_FREE_FRAME, 0, FRAME_BASE + i * 4096ull, 1, 0);
            op(g, cpu, false, TLB_OP_UNMAP, first, k);
        } else {          /* protect RW -> RO (or back: an upgrade, no flush needed) */
            op(g, cpu, true, TLB_OP_PROTECT, first, k);
            bool down = false;
            for (unsigned i = first; i < first + k; i++)
                if (g->pte[i]) {
                    bool rw = g->pte[i] & PTE_RW;
                    set_pte(g, cpu, i, leaf(i, !rw));
                    down |= rw;
                }
            if (down)
                shootdown(g, cpu, first, k);
            op(g, cpu, false, TLB_OP_PROTECT, first, k);
        }
    }
}

/* Thread CPU time: on a shared machine, time spent descheduled is not the validator's cost. */
static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Feed all events; returns seconds, or -1 if the stream was not clean. */
static double run_model(const struct tlb_event *ev, size_t n, uint32_t ncpus, uint64_t *violations)
{
    struct tlb_validator_options o = tlb_validator_default_options(ncpus);
    struct tlb_validator *v = tlb_validator_create(&o);
    double t0 = now();
    for (size_t i = 0; i < n; i++)
        if (tlb_validator_feed(v, &ev[i]) == TLB_VERDICT_BAD_INPUT)
            break;
    enum tlb_verdict r = tlb_validator_finish(v);
    double t = now() - t0;
    *violations = tlb_validator_count(v, TLB_REPORT_VIOLATION);
    if (r == TLB_VERDICT_BAD_INPUT)
        fprintf(stderr, "bench: bad input: %s\n", tlb_validator_error(v));
    tlb_validator_destroy(v);
    return r == TLB_VERDICT_BAD_INPUT ? -1 : t;
}

static double run_baseline(const struct tlb_event *ev, size_t n, uint32_t ncpus)
{
    uint8_t rec[TLB_EVENT_RECORD_SIZE];
    char err[128];
    size_t ok = 0;
    double t0 = now();
    for (size_t i = 0; i < n; i++) {
        struct tlb_event e;
        tlb_event_encode(&ev[i], rec);
        tlb_event_decode(rec, &e);
        ok += tlb_event_check(&e, ncpus, err, sizeof err);
    }
    double t = now() - t0;
    if (ok != n)
        fprintf(stderr, "bench: %zu records failed the format check\n", n - ok);
    return t;
}

static void measure(const char *source, const struct tlb_event *ev, size_t n, uint32_t ncpus)
{
    double best = -1, base = -1;
    uint64_t viol = 0;
    for (int rep = 0; rep < 3; rep++) {
        double t = run_model(ev, n, ncpus, &viol);
        if (t < 0)
            return;
        if (best < 0 || t < best)
            best = t;
        double b = run_baseline(ev, n, ncpus);
        if (base < 0 || b < base)
            base = b;
    }
    printf("{\"bench\":\"tlb_validator\",\"source\":\"%s\",\"cpus\":%" PRIu32 ",\"events\":%zu,\"violations\":%" PRIu64
           ",\"cpu_seconds\":%.6f,\"events_per_sec\":%.0f,\"baseline_decode_check_events_per_sec\":%.0f}\n",
           source, ncpus, n, viol, best, (double)n / best, (double)n / base);
    fflush(stdout);
}

static int measure_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "bench: cannot open %s\n", path);
        return 2;
    }
    uint8_t hdr[16];
    struct tlb_stream_header h;
    char err[200];
    if (fread(hdr, 1, 16, f) != 16) {
        fprintf(stderr, "bench: %s: truncated header\n", path);
        fclose(f);
        return 2;
    }
    tlb_stream_header_decode(hdr, &h);
    if (!tlb_stream_header_check(&h, err, sizeof err)) {
        fprintf(stderr, "bench: %s: %s\n", path, err);
        fclose(f);
        return 2;
    }
    struct tlb_event *ev = NULL;
    size_t n = 0, cap = 0;
    uint8_t rec[TLB_EVENT_RECORD_SIZE];
    while (fread(rec, 1, sizeof rec, f) == sizeof rec) {
        if (n == cap) {
            cap = cap ? cap * 2 : 1 << 16;
            ev = realloc(ev, cap * sizeof *ev);
            if (!ev)
                return 2;
        }
        tlb_event_decode(rec, &ev[n++]);
    }
    fclose(f);
    measure(path, ev, n, h.cpu_count);
    free(ev);
    return 0;
}

int main(int argc, char **argv)
{
    size_t events = 2000000;
    uint64_t seed = 1;
    uint32_t only_cpus = 0;
    int rc = 0, files = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--events") && i + 1 < argc)
            events = strtoull(argv[++i], NULL, 0);
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
            seed = strtoull(argv[++i], NULL, 0);
        else if (!strcmp(argv[i], "--cpus") && i + 1 < argc)
            only_cpus = (uint32_t)strtoul(argv[++i], NULL, 0);
        else {
            rc |= measure_file(argv[i]);
            files++;
        }
    }
    if (files)
        return rc;
    static const uint32_t cpus[] = { 1, 4, 16 };
    if (only_cpus > TLB_MAX_CPUS) {
        fprintf(stderr, "bench: --cpus must be 1..%u\n", TLB_MAX_CPUS);
        return 2;
    }
    for (unsigned i = 0; i < 3; i++) {
        if (only_cpus && cpus[i] != only_cpus)
            continue;
        struct gen *g = calloc(1, sizeof *g);
        if (!g)
            return 2;
        generate(g, cpus[i], events, seed);
        measure("generated", g->ev, g->n, cpus[i]);
        free(g->ev);
        free(g);
    }
    return 0;
}
