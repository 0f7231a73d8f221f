/*
 * pagetable_bench: cost per operation of the page-table core (issue 2 §4),
 * with a lower bound measured in the same run: a raw loop storing the same
 * PTE values into preallocated nodes (or, for query and cursor creation,
 * a raw 4-level descent over preallocated nodes).
 *
 * Every measured phase is a noinline function named bench_phase_<name>, so
 * that callgrind can count its instructions exactly with
 * --toggle-collect='bench_phase_*' (see run_pagetable_bench.sh). The
 * program prints one JSON line per phase:
 *   {"bench": "map4k_512", "ops": 512, "ns_per_op": ..., "instr_per_op": ...,
 *    "lower_bound": "raw_store4k_512", "lb_ns_per_op": ..., "lb_instr_per_op": ...,
 *    "ratio_ns": ..., "ratio_instr": ..., "target_instr_per_op": ...}
 * instr_per_op is null unless --instr FILE (callgrind_annotate --inclusive=yes
 * output) is given.
 *
 * Usage: pagetable_bench [--tiny] [--reps N] [--instr FILE] [--callgrind-pass]
 *   --tiny            small sizes (CTest smoke run; figures not meaningful)
 *   --reps N          native repetitions per phase, minimum taken (default 5)
 *   --instr FILE      merge instruction counts from callgrind_annotate output
 *   --callgrind-pass  run each phase once, print nothing (under callgrind)
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pagetable/host_platform.h"
#include "pagetable/page_table.h"

#define K4 PT_BASE_PAGE_SIZE
#define M2 0x200000ull
#define G1 0x40000000ull
#define BASE (64 * G1)     /* 2 MiB- and 1 GiB-aligned user address */

static struct pt_host_platform bench_hp;
static pt_paddr_t data_frame;   /* one tracked frame, mapped at every 4 KiB page */

static void die(const char *what, int rc)
{
    fprintf(stderr, "pagetable_bench: %s failed: %d (%s)\n", what, rc,
            rc < 0 ? pt_error_name(rc) : "an unexpected non-error result");
    exit(1);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static const struct pt_prop PROP_RW = { PT_RW, PT_PRIV_USER, PT_CACHE_WB };
/* Pages the guest has written: A and D set, so the core may update their
 * PTEs with a plain store instead of a compare-and-exchange (pt_pte_write). */
static const struct pt_prop PROP_RW_AD = { PT_RW | PT_ACCESSED | PT_DIRTY, PT_PRIV_USER,
                                           PT_CACHE_WB };
static struct pt_prop map_prop;  /* what map4k maps: PROP_RW unless a phase says */

/* ------------------------------------------------------------------ phases */

/* Map n tracked 4 KiB pages at BASE through one cursor. The n frame
 * references that move into the PTEs are taken beforehand (not measured). */
static void take_refs(uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        pt_frame_get(&bench_hp.mem, data_frame);
}

static __attribute__((noinline)) void map4k(struct pt_page_table *pt, uint64_t n)
{
    struct pt_cursor c;
    int rc = pt_cursor_new(&c, pt, BASE, BASE + n * K4);
    if (rc)
        die("cursor_new", rc);
    struct pt_item it = { .pa = data_frame, .level = 1, .prop = map_prop, .tracked = true };
    struct pt_frag f;
    for (uint64_t i = 0; i < n; i++)
        if ((rc = pt_cursor_map(&c, &it, &f)) != 0)
            die("map (the range should be empty)", rc);
    pt_cursor_drop(&c);
}

/* Unmap [BASE, BASE + n pages) as VmSpace::unmap does: take_next over the
 * rest of the range until nothing is left, then release every frag (frame
 * references, detached nodes). `step` = 0: len = rest of range (whole
 * subtrees go at once); step = 1: one page per call (leaf by leaf). */
static struct pt_frag *frags;

static __attribute__((noinline)) uint64_t unmap4k(struct pt_page_table *pt, uint64_t n, int leafwise)
{
    struct pt_cursor c;
    pt_vaddr_t end = BASE + n * K4;
    int rc = pt_cursor_new(&c, pt, BASE, end);
    if (rc)
        die("cursor_new", rc);
    uint64_t k = 0;
    for (;;) {
        uint64_t len = leafwise ? K4 : end - pt_cursor_va(&c);
        if (pt_cursor_va(&c) >= end)
            break;
        rc = pt_cursor_take_next(&c, len, &frags[k]);
        if (rc < 0)
            die("take_next", rc);
        if (rc == 0) {
            if (!leafwise)
                break;
            continue;
        }
        k++;
    }
    pt_cursor_drop(&c);
    for (uint64_t i = 0; i < k; i++)
        pt_frag_release(&bench_hp.mem, &frags[i]);
    return k;
}

static void toggle_w(struct pt_prop *p, void *arg)
{
    (void)arg;
    p->flags ^= PT_W;
}

static __attribute__((noinline)) void protect4k(struct pt_page_table *pt, uint64_t n)
{
    struct pt_cursor c;
    pt_vaddr_t end = BASE + n * K4, s, e;
    int rc = pt_cursor_new(&c, pt, BASE, end);
    if (rc)
        die("cursor_new", rc);
    while ((rc = pt_cursor_protect_next(&c, end - pt_cursor_va(&c), toggle_w, NULL, &s, &e)) == 1)
        ;
    if (rc < 0)
        die("protect_next", rc);
    pt_cursor_drop(&c);
}

/* The batched form (pt_cursor_protect_flags): one call for the whole range. */
static __attribute__((noinline)) void protect_flags4k(struct pt_page_table *pt, uint64_t n)
{
    struct pt_cursor c;
    pt_vaddr_t end = BASE + n * K4, s, e;
    struct pt_query q;
    int rc = pt_cursor_new(&c, pt, BASE, end);
    if (rc || (rc = pt_cursor_query(&c, &q)))
        die("cursor_new/query", rc);
    /* Flip W (all pages share one property), so every page changes. */
    bool writable = q.item.prop.flags & PT_W;
    rc = pt_cursor_protect_flags(&c, n * K4, writable ? PT_W : 0, writable ? 0 : PT_W, &s, &e);
    if (rc != 1)
        die("protect_flags (every page should change)", rc);
    pt_cursor_drop(&c);
}

static uint64_t *query_vas;

static __attribute__((noinline)) uint64_t query_random(struct pt_page_table *pt, uint64_t n_pages,
                                                       uint64_t q)
{
    struct pt_cursor c;
    struct pt_query r;
    uint64_t mapped = 0;
    int rc = pt_cursor_new(&c, pt, BASE, BASE + n_pages * K4);
    if (rc)
        die("cursor_new", rc);
    for (uint64_t i = 0; i < q; i++) {
        if ((rc = pt_cursor_jump(&c, query_vas[i])) || (rc = pt_cursor_query(&c, &r)))
            die("jump/query", rc);
        mapped += r.mapped;
    }
    pt_cursor_drop(&c);
    return mapped;
}

static __attribute__((noinline)) void map2m(struct pt_page_table *pt, uint64_t n)
{
    struct pt_cursor c;
    int rc = pt_cursor_new(&c, pt, BASE, BASE + n * M2);
    if (rc)
        die("cursor_new", rc);
    struct pt_frag f;
    for (uint64_t i = 0; i < n; i++) {
        struct pt_item it = { .pa = G1 * 1024 + i * M2, .level = 2, .prop = PROP_RW };
        if ((rc = pt_cursor_map(&c, &it, &f)) != 0)
            die("map 2M (the range should be empty)", rc);
    }
    pt_cursor_drop(&c);
}

static __attribute__((noinline)) void cursor_new_drop(struct pt_page_table *pt, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        struct pt_cursor c;
        pt_vaddr_t va = BASE + (i % 512) * K4;
        int rc = pt_cursor_new(&c, pt, va, va + K4);
        if (rc)
            die("cursor_new", rc);
        pt_cursor_drop(&c);
    }
}

/* ------------------------------------------------------------ lower bounds */

/* Preallocated "nodes": enough level-1 tables for the largest run. */
static pt_pte_t *raw_nodes;      /* n/512 level-1 nodes, contiguous */
static pt_pte_t raw_upper[3][512]; /* one level-4, -3, -2 node for the raw descent (all
                                      zero: the descent adds bit 0 of each entry to the
                                      next index, a data dependency the compiler keeps) */
static pt_pte_t raw_l2[512];       /* target of the 2 MiB raw stores */
static uint8_t raw_lock;

static __attribute__((noinline)) void raw_store(pt_pte_t *dst, uint64_t n, pt_pte_t v, uint64_t stride)
{
    /* Relaxed atomic stores: plain movs that the compiler may not vectorise
       or elide, like the core's PTE stores. */
    for (uint64_t i = 0; i < n; i++)
        __atomic_store_n(&dst[i], v + i * stride, __ATOMIC_RELAXED);
}

/* Four dependent loads per lookup, as a hardware walk of preallocated nodes. */
static __attribute__((noinline)) uint64_t raw_descend(uint64_t q, int lock)
{
    uint64_t acc = 0;
    for (uint64_t i = 0; i < q; i++) {
        pt_vaddr_t va = query_vas[i] - BASE;
        pt_pte_t e4 = __atomic_load_n(&raw_upper[0][pt_index(va, 4)], __ATOMIC_RELAXED);
        pt_pte_t e3 = __atomic_load_n(&raw_upper[1][(pt_index(va, 3) + (e4 & 1)) & 511], __ATOMIC_RELAXED);
        pt_pte_t e2 = __atomic_load_n(&raw_upper[2][(pt_index(va, 2) + (e3 & 1)) & 511], __ATOMIC_RELAXED);
        pt_pte_t *l1 = raw_nodes + 512 * (pt_index(va, 2) + (e2 & 1));
        acc += __atomic_load_n(&l1[pt_index(va, 1)], __ATOMIC_RELAXED);
        if (lock) {  /* a lock/unlock pair, as a cursor over one node takes */
            uint8_t z = 0;
            while (!__atomic_compare_exchange_n(&raw_lock, &z, 1, false, __ATOMIC_ACQUIRE,
                                                __ATOMIC_RELAXED))
                z = 0;
            __atomic_store_n(&raw_lock, 0, __ATOMIC_RELEASE);
        }
    }
    return acc;
}

/* --------------------------------------------------------- phase registry */

struct result {
    const char *name;
    uint64_t ops;
    double ns;          /* min over reps, per op */
    double instr;       /* per op, from --instr, or < 0 */
    const char *lb;     /* name of its lower bound phase, or NULL */
    int target;         /* issue 2 target in instructions per op, or 0 */
};

#define MAX_RESULTS 32
static struct result results[MAX_RESULTS];
static unsigned nresults;
static const char *instr_file;

/*
 * Instructions of `fn` from callgrind_annotate --inclusive=yes output.
 * When a function contains code inlined from other files, the annotator
 * lists one "file:fn [object]" line per source file (each that file's part),
 * plus one "/absolute/file:fn" line without an object for the whole
 * function. Use the whole-function line when there is one, else the sum of
 * the parts (a function with one source file has just one line).
 */
static double instr_of(const char *fn)
{
    if (!instr_file)
        return -1;
    FILE *f = fopen(instr_file, "r");
    if (!f) {
        fprintf(stderr, "pagetable_bench: cannot open %s: %s\n", instr_file, strerror(errno));
        exit(1);
    }
    char line[1024], pat[128];
    snprintf(pat, sizeof(pat), ":%s", fn);
    double parts = 0, whole = -1;
    bool found = false;
    while (fgets(line, sizeof(line), f)) {
        char *at = strstr(line, pat);
        if (!at || strstr(line, "=>"))
            continue;
        char after = at[strlen(pat)];
        if (after != ' ' && after != '\n')
            continue;   /* a longer name with this prefix */
        char digits[64];
        unsigned k = 0;
        for (const char *p = line; *p && *p != '(' && *p != ':'; p++)
            if (*p >= '0' && *p <= '9' && k < sizeof(digits) - 1)
                digits[k++] = *p;
        digits[k] = 0;
        if (!k)
            continue;
        double v = strtod(digits, NULL);
        if (strchr(at, '['))
            parts += v, found = true;
        else if (v > whole)
            whole = v;
    }
    fclose(f);
    return whole >= 0 ? whole : found ? parts : -1;
}

static void record(const char *name, uint64_t ops, uint64_t best_ns, const char *lb, int target)
{
    if (nresults == MAX_RESULTS)
        return;
    char fn[96];
    snprintf(fn, sizeof(fn), "bench_phase_%s", name);
    double in = instr_of(fn);
    results[nresults++] = (struct result){ name, ops, (double)best_ns / (double)ops,
                                           in < 0 ? -1 : in / (double)ops, lb, target };
}

static const struct result *find_result(const char *name)
{
    for (unsigned i = 0; i < nresults; i++)
        if (!strcmp(results[i].name, name))
            return &results[i];
    return NULL;
}

static void print_num(const char *key, double v, bool last)
{
    if (v < 0)
        printf("\"%s\": null%s", key, last ? "" : ", ");
    else
        printf("\"%s\": %.2f%s", key, v, last ? "" : ", ");
}

static void print_results(void)
{
    for (unsigned i = 0; i < nresults; i++) {
        const struct result *r = &results[i];
        const struct result *lb = r->lb ? find_result(r->lb) : NULL;
        printf("{\"bench\": \"%s\", \"ops\": %" PRIu64 ", ", r->name, r->ops);
        print_num("ns_per_op", r->ns, false);
        print_num("instr_per_op", r->instr, false);
        if (lb) {
            printf("\"lower_bound\": \"%s\", ", lb->name);
            print_num("lb_ns_per_op", lb->ns, false);
            print_num("lb_instr_per_op", lb->instr, false);
            print_num("ratio_ns", lb->ns > 0 ? r->ns / lb->ns : -1, false);
            print_num("ratio_instr", lb->instr > 0 && r->instr >= 0 ? r->instr / lb->instr : -1,
                      false);
        } else {
            printf("\"lower_bound\": null, ");
        }
        if (!strcmp(r->name, "query_random") && r->instr >= 0) {
            /* Both calls are made only in this phase: split the figure. */
            double q = instr_of("pt_cursor_query"), j = instr_of("pt_cursor_jump");
            print_num("query_call_instr_per_op", q < 0 ? -1 : q / (double)r->ops, false);
            print_num("jump_call_instr_per_op", j < 0 ? -1 : j / (double)r->ops, false);
        }
        if (r->target)
            printf("\"target_instr_per_op\": %d}\n", r->target);
        else
            printf("\"target_instr_per_op\": null}\n");
    }
}

/* ------------------------------------------------- the phases, by name */

/* One noinline function per measured phase: callgrind toggles on its name,
 * so GCC must not clone it under another name either. */
#if defined(__clang__)
#define BENCH_NOCLONE
#else
#define BENCH_NOCLONE __attribute__((noclone))
#endif
#define PHASE(name, type, call)                                                \
    static __attribute__((noinline, used)) BENCH_NOCLONE type bench_phase_##name(struct pt_page_table *pt, uint64_t n) \
    {                                                                          \
        (void)pt;                                                              \
        return call;                                                           \
    }

PHASE(map4k_small, int, (map4k(pt, n), 0))
PHASE(map4k_large, int, (map4k(pt, n), 0))
PHASE(protect4k_small, int, (protect4k(pt, n), 0))
PHASE(protect4k_large, int, (protect4k(pt, n), 0))
PHASE(protect_flags4k_small, int, (protect_flags4k(pt, n), 0))
PHASE(protect_flags4k_large, int, (protect_flags4k(pt, n), 0))
PHASE(unmap4k_small, uint64_t, unmap4k(pt, n, 0))
PHASE(unmap4k_large, uint64_t, unmap4k(pt, n, 0))
PHASE(unmap4k_leaf_small, uint64_t, unmap4k(pt, n, 1))
PHASE(unmap4k_leaf_large, uint64_t, unmap4k(pt, n, 1))
PHASE(protect4k_ad_large, int, (protect4k(pt, n), 0))
PHASE(unmap4k_leaf_ad_large, uint64_t, unmap4k(pt, n, 1))
PHASE(query_random, uint64_t, query_random(pt, n >> 32, n & 0xffffffffu))
PHASE(map2m, int, (map2m(pt, n), 0))
PHASE(cursor_new_drop, int, (cursor_new_drop(pt, n), 0))
PHASE(raw_store4k_small, int, (raw_store(raw_nodes, n, 0x8000000000000085ull | data_frame, 0), 0))
PHASE(raw_store4k_large, int, (raw_store(raw_nodes, n, 0x8000000000000085ull | data_frame, 0), 0))
PHASE(raw_clear4k_small, int, (raw_store(raw_nodes, n, 0, 0), 0))
PHASE(raw_clear4k_large, int, (raw_store(raw_nodes, n, 0, 0), 0))
PHASE(raw_store2m, int, (raw_store(raw_l2, n, 0x8040000000000085ull, M2), 0))
PHASE(raw_query, uint64_t, raw_descend(n, 0))
PHASE(raw_cursor, uint64_t, raw_descend(n, 1))

typedef uint64_t (*phase_fn)(struct pt_page_table *, uint64_t);

struct sizes {
    uint64_t small, large, queries, huge, cursors;
};

static uint64_t best[MAX_RESULTS];

#define RUN(slot, fn, arg)                                                     \
    do {                                                                       \
        uint64_t t0_ = now_ns();                                               \
        (void)fn(pt, (arg));                                                   \
        uint64_t dt_ = now_ns() - t0_;                                         \
        if (dt_ < best[slot])                                                  \
            best[slot] = dt_;                                                  \
    } while (0)

enum { S_MAP_S, S_MAP_L, S_PROT_S, S_PROT_L, S_PFL_S, S_PFL_L, S_UNMAP_S, S_UNMAP_L, S_UNMAPL_S, S_UNMAPL_L,
       S_QUERY, S_MAP2M, S_CURSOR, S_RAW_S, S_RAW_L, S_CLR_S, S_CLR_L, S_RAW2M, S_RAWQ, S_RAWC,
       S_PROT_AD, S_UNMAPL_AD, S_COUNT };

/* protect_next and leaf-by-leaf unmap again over pages with A and D set. */
static void run_4k_ad(struct pt_page_table *pt, uint64_t n)
{
    map_prop = PROP_RW_AD;
    take_refs(n);
    map4k(pt, n);
    RUN(S_PROT_AD, bench_phase_protect4k_ad_large, n);
    RUN(S_UNMAPL_AD, bench_phase_unmap4k_leaf_ad_large, n);
    unmap4k(pt, n, 0);
    map_prop = PROP_RW;
}

/* One size: map, protect, (query), unmap as VmSpace does; then again leaf by leaf. */
static void run_4k(struct pt_page_table *pt, uint64_t n, bool large, uint64_t queries)
{
    take_refs(n);
    if (large) {
        RUN(S_MAP_L, bench_phase_map4k_large, n);
        RUN(S_PROT_L, bench_phase_protect4k_large, n);
        RUN(S_PFL_L, bench_phase_protect_flags4k_large, n);
        RUN(S_QUERY, bench_phase_query_random, (n << 32) | queries);
        RUN(S_UNMAP_L, bench_phase_unmap4k_large, n);
    } else {
        RUN(S_MAP_S, bench_phase_map4k_small, n);
        RUN(S_PROT_S, bench_phase_protect4k_small, n);
        RUN(S_PFL_S, bench_phase_protect_flags4k_small, n);
        RUN(S_UNMAP_S, bench_phase_unmap4k_small, n);
    }
    take_refs(n);
    map4k(pt, n);
    if (large)
        RUN(S_UNMAPL_L, bench_phase_unmap4k_leaf_large, n);
    else
        RUN(S_UNMAPL_S, bench_phase_unmap4k_leaf_small, n);
    unmap4k(pt, n, 0);   /* drop the now empty level-1 nodes (not measured) */
}

static void one_rep(const struct sizes *sz)
{
    struct pt_page_table pt_, *pt = &pt_;
    int rc = pt_create(pt, &bench_hp.mem, &pt_user_config);
    if (rc)
        die("pt_create", rc);
    run_4k(pt, sz->small, false, 0);
    run_4k(pt, sz->large, true, sz->queries);
    run_4k_ad(pt, sz->large);

    RUN(S_MAP2M, bench_phase_map2m, sz->huge);
    unmap4k(pt, sz->huge * 512, 0);

    take_refs(512);
    map4k(pt, 512);
    RUN(S_CURSOR, bench_phase_cursor_new_drop, sz->cursors);
    unmap4k(pt, 512, 0);

    RUN(S_RAW_S, bench_phase_raw_store4k_small, sz->small);
    RUN(S_RAW_L, bench_phase_raw_store4k_large, sz->large);
    RUN(S_CLR_S, bench_phase_raw_clear4k_small, sz->small);
    RUN(S_CLR_L, bench_phase_raw_clear4k_large, sz->large);
    RUN(S_RAW2M, bench_phase_raw_store2m, sz->huge);
    RUN(S_RAWQ, bench_phase_raw_query, sz->queries);
    RUN(S_RAWC, bench_phase_raw_cursor, sz->cursors);
    pt_destroy(pt);
}

static bool parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || end == s || *end || s[0] == '-')
        return false;
    *out = v;
    return true;
}

static int usage(const char *why)
{
    fprintf(stderr, "pagetable_bench: %s\nusage: pagetable_bench [--tiny] [--reps N] "
            "[--instr FILE] [--callgrind-pass]\n", why);
    return 2;
}

int main(int argc, char **argv)
{
    struct sizes sz = { 512, 262144, 100000, 512, 100000 };
    uint64_t reps = 5;
    map_prop = PROP_RW;
    bool callgrind_pass = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--tiny")) {
            sz = (struct sizes){ 512, 4096, 1000, 16, 1000 };
        } else if (!strcmp(argv[i], "--callgrind-pass")) {
            callgrind_pass = true;
        } else if (!strcmp(argv[i], "--reps") && i + 1 < argc) {
            if (!parse_u64(argv[++i], &reps) || reps == 0)
                return usage("--reps needs a positive integer");
        } else if (!strcmp(argv[i], "--instr") && i + 1 < argc) {
            instr_file = argv[++i];
        } else {
            return usage("unknown or incomplete argument");
        }
    }
    if (callgrind_pass)
        reps = 1;

    /* Frames: level-1 nodes for the large run and a few more. */
    uint64_t frames = sz.large / 512 + 256;
    if (!pt_host_platform_init(&bench_hp, frames))
        return fprintf(stderr, "pagetable_bench: out of host memory\n"), 1;
    if (!pt_frame_alloc(&bench_hp.mem, PT_USAGE_UNTYPED, &data_frame))
        die("pt_frame_alloc", PT_ERR_NOMEM);
    frags = calloc(sz.large, sizeof(*frags));
    query_vas = malloc(sz.queries * sizeof(*query_vas));
    raw_nodes = aligned_alloc(4096, sz.large * sizeof(pt_pte_t));
    if (!frags || !query_vas || !raw_nodes)
        return fprintf(stderr, "pagetable_bench: out of host memory\n"), 1;
    memset(raw_nodes, 0, sz.large * sizeof(pt_pte_t));
    uint64_t x = 88172645463325252ull;   /* xorshift: fixed query sequence */
    for (uint64_t i = 0; i < sz.queries; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        query_vas[i] = BASE + (x % sz.large) * K4;
    }

    for (unsigned i = 0; i < S_COUNT; i++)
        best[i] = UINT64_MAX;
    for (uint64_t r = 0; r < reps; r++)
        one_rep(&sz);
    if (callgrind_pass)
        goto out;

    record("raw_store4k_small", sz.small, best[S_RAW_S], NULL, 0);
    record("raw_store4k_large", sz.large, best[S_RAW_L], NULL, 0);
    record("raw_clear4k_small", sz.small, best[S_CLR_S], NULL, 0);
    record("raw_clear4k_large", sz.large, best[S_CLR_L], NULL, 0);
    record("raw_store2m", sz.huge, best[S_RAW2M], NULL, 0);
    record("raw_query", sz.queries, best[S_RAWQ], NULL, 0);
    record("raw_cursor", sz.cursors, best[S_RAWC], NULL, 0);
    record("map4k_small", sz.small, best[S_MAP_S], "raw_store4k_small", 60);
    record("map4k_large", sz.large, best[S_MAP_L], "raw_store4k_large", 60);
    record("protect4k_small", sz.small, best[S_PROT_S], "raw_store4k_small", 30);
    record("protect4k_large", sz.large, best[S_PROT_L], "raw_store4k_large", 30);
    record("protect_flags4k_small", sz.small, best[S_PFL_S], "raw_store4k_small", 30);
    record("protect_flags4k_large", sz.large, best[S_PFL_L], "raw_store4k_large", 30);
    record("unmap4k_small", sz.small, best[S_UNMAP_S], "raw_clear4k_small", 60);
    record("unmap4k_large", sz.large, best[S_UNMAP_L], "raw_clear4k_large", 60);
    record("unmap4k_leaf_small", sz.small, best[S_UNMAPL_S], "raw_clear4k_small", 60);
    record("unmap4k_leaf_large", sz.large, best[S_UNMAPL_L], "raw_clear4k_large", 60);
    record("protect4k_ad_large", sz.large, best[S_PROT_AD], "raw_store4k_large", 30);
    record("unmap4k_leaf_ad_large", sz.large, best[S_UNMAPL_AD], "raw_clear4k_large", 60);
    record("query_random", sz.queries, best[S_QUERY], "raw_query", 40);
    record("map2m", sz.huge, best[S_MAP2M], "raw_store2m", 0);
    record("cursor_new_drop", sz.cursors, best[S_CURSOR], "raw_cursor", 0);
    printf("{\"bench\": \"config\", \"small_pages\": %" PRIu64 ", \"large_pages\": %" PRIu64
           ", \"queries\": %" PRIu64 ", \"maps_2m\": %" PRIu64 ", \"cursors\": %" PRIu64
           ", \"reps\": %" PRIu64 ", \"instructions\": %s}\n", sz.small, sz.large, sz.queries,
           sz.huge, sz.cursors, reps, instr_file ? "\"callgrind\"" : "null");
    print_results();
out:
    pt_frame_put(&bench_hp.mem, data_frame);
    if (pt_host_live(&bench_hp) != 0) {
        fprintf(stderr, "pagetable_bench: %" PRIu64 " frames leaked\n", pt_host_live(&bench_hp));
        return 1;
    }
    free(frags);
    free(query_vas);
    free(raw_nodes);
    pt_host_platform_destroy(&bench_hp);
    return 0;
}
