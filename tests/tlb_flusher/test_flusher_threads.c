/*
 * The flusher on real threads (label concurrency; CI also runs it under
 * TSan): each pthread is a CPU. IPIs set an atomic pending flag; a CPU takes
 * its interrupt between operations and whenever it spins with interrupts
 * enabled (the platform relax hook), which is when a real CPU would. This
 * exercises what the single-threaded simulation cannot: concurrent dispatches
 * into the same queues, IPI handlers racing with pushes, the batch pool and
 * the generation counters under contention, sync waits.
 *
 * Each thread works in its own 2 MiB block of two SHARED address spaces
 * (so every dispatch targets other threads), at the start of its own 1 GiB
 * region, so that each thread's level-2 node is its own: page-table cursors
 * of different threads then never wait for each other (a thread spinning
 * inside the page-table core takes no interrupts here, unlike a real CPU,
 * and could deadlock with a thread that syncs towards it). Now and then a
 * thread maps a 2 MiB leaf over its block (break-before-make over a table
 * of 4 KiB pages, with a cursor over two level-2 entries of its own node);
 * its later 4 KiB operations split that leaf.
 *
 * Asserts: every operation succeeds, no thread deadlocks (CTest timeout),
 * every thread handled remote flushes, at the end no kept batch is alive
 * and no frame leaked, and the merged event stream (each thread records its
 * own events; merged by sequence number) is accepted by the validator with
 * zero violations. The flusher takes each event's sequence number after the
 * action and before anything that could let another CPU depend on it (the
 * PTE-store event before the dispatch's CPU-set snapshot, a flush event
 * before the acknowledgement or the batch reference drop), so the merged
 * order is a valid history.
 */
#include <check.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

#include "check_main.h"
#include "pagetable/host_platform.h"
#include "tlb/flusher_vmspace.h"
#include "tlb/validator.h"

#define NR_THREADS 4
#define OPS_PER_THREAD 3000
#define BASE 0x40000000ull
#define PG PT_BASE_PAGE_SIZE
#define BLOCK_PAGES 512u
#define HUGE_PCT 3   /* % of operations that map a 2 MiB leaf over the block */

/* One thread's recorded events (index NR_THREADS: the main thread). */
struct evbuf {
    struct tlb_event *ev;
    size_t n, cap;
    bool oom;
};

struct mt {
    struct pt_host_platform hp;
    void *hp_ctx;
    const struct pt_platform_ops *hp_ops;
    struct pt_platform_ops wrap;
    uint8_t *node_level;           /* per frame, atomic bytes: level if a page-table node */
    struct evbuf bufs[NR_THREADS + 1];
    struct tlb_domain *dom;
    struct tlb_platform_ops ops;
    struct tlb_vmspace spaces[2], idle;
    uint8_t pending[NR_THREADS];   /* atomic */
    uint64_t events;               /* atomic */
    uint64_t handled[NR_THREADS];  /* IPIs taken, per thread (own slot only) */
    uint64_t huge[NR_THREADS];     /* 2 MiB leaves mapped, per thread (own slot only) */
    unsigned finished;             /* atomic: threads done with their operations */
};

static __thread unsigned t_cpu;
static __thread unsigned t_buf = NR_THREADS;
static __thread bool t_irqs_off;
static struct mt g;

static void take_interrupt(void)
{
    if (!t_irqs_off && __atomic_exchange_n(&g.pending[t_cpu], 0, __ATOMIC_ACQ_REL)) {
        t_irqs_off = true;
        tlb_flusher_handle_ipi(g.dom, t_cpu);
        t_irqs_off = false;
        g.handled[t_cpu]++;
    }
}

static unsigned p_cpu_id(void *ctx) { (void)ctx; return t_cpu; }
static void p_send_ipi(void *ctx, tlb_cpumask_t targets)
{
    (void)ctx;
    for (unsigned c = 0; c < NR_THREADS; c++)
        if (tlb_cpumask_has(targets, c))
            __atomic_store_n(&g.pending[c], 1, __ATOMIC_RELEASE);
}
static void p_flush_page(void *ctx, pt_vaddr_t va) { (void)ctx; (void)va; }
static void p_flush_all(void *ctx) { (void)ctx; }
static void p_load_cr3(void *ctx, pt_paddr_t root) { (void)ctx; (void)root; }
static unsigned long p_irq_save(void *ctx)
{
    (void)ctx;
    bool was = t_irqs_off;
    t_irqs_off = true;
    return was;
}
static void p_irq_restore(void *ctx, unsigned long state) { (void)ctx; t_irqs_off = state != 0; }
static void p_relax(void *ctx)
{
    (void)ctx;
    take_interrupt();
    sched_yield();
}
static void p_emit(void *ctx, const struct tlb_event *ev)
{
    (void)ctx;
    __atomic_fetch_add(&g.events, 1, __ATOMIC_RELAXED);
    struct evbuf *b = &g.bufs[t_buf];
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 65536;
        struct tlb_event *n = realloc(b->ev, cap * sizeof *n);
        if (!n) {
            b->oom = true;
            return;
        }
        b->ev = n;
        b->cap = cap;
    }
    b->ev[b->n++] = *ev;
}

/* The page-table platform, wrapped to route node allocations, PTE stores and
   frees into the stream (as tests/tlb_flusher/sim.c does, with atomic node
   marks). */
static void *w_phys_to_virt(void *ctx, pt_paddr_t pa) { (void)ctx; return g.hp_ops->phys_to_virt(g.hp_ctx, pa); }
static bool w_alloc_frame(void *ctx, pt_paddr_t *pa) { (void)ctx; return g.hp_ops->alloc_frame(g.hp_ctx, pa); }
static void w_release_frame(void *ctx, pt_paddr_t pa)
{
    (void)ctx;
    uint8_t *lv = &g.node_level[pa >> PT_BASE_PAGE_SHIFT];
    tlb_note_frame_free(g.dom, pa, __atomic_exchange_n(lv, 0, __ATOMIC_RELAXED));
    g.hp_ops->release_frame(g.hp_ctx, pa);
}
static void w_pte_stored(void *ctx, const struct pt_pte_store *st)
{
    (void)ctx;
    tlb_note_pte_store(g.dom, st);
}
static void w_node_allocated(void *ctx, pt_paddr_t pa, int level)
{
    (void)ctx;
    __atomic_store_n(&g.node_level[pa >> PT_BASE_PAGE_SHIFT], (uint8_t)level, __ATOMIC_RELAXED);
    tlb_note_node_alloc(g.dom, pa, level);
}

static int by_seq(const void *a, const void *b)
{
    uint64_t x = ((const struct tlb_event *)a)->seq, y = ((const struct tlb_event *)b)->seq;
    return x < y ? -1 : x > y;
}

/* Merge every thread's events by sequence number and validate them. */
static void validate_all(void)
{
    size_t total = 0;
    for (unsigned i = 0; i <= NR_THREADS; i++) {
        ck_assert_msg(!g.bufs[i].oom, "event buffer ran out of memory");
        total += g.bufs[i].n;
    }
    struct tlb_event *all = malloc(total * sizeof *all);
    ck_assert_ptr_nonnull(all);
    size_t k = 0;
    for (unsigned i = 0; i <= NR_THREADS; i++)
        for (size_t j = 0; j < g.bufs[i].n; j++)
            all[k++] = g.bufs[i].ev[j];
    qsort(all, total, sizeof *all, by_seq);
    struct tlb_validator_options opt = tlb_validator_default_options(NR_THREADS);
    struct tlb_validator *v = tlb_validator_create(&opt);
    ck_assert_ptr_nonnull(v);
    enum tlb_verdict vd = TLB_VERDICT_OK;
    for (size_t i = 0; i < total && vd != TLB_VERDICT_BAD_INPUT; i++)
        vd = tlb_validator_feed(v, &all[i]);
    vd = tlb_validator_finish(v);
    uint64_t nviol = tlb_validator_count(v, TLB_REPORT_VIOLATION);
    for (size_t i = 0, shown = 0; i < tlb_validator_report_count(v) && shown < 3; i++)
        if (tlb_validator_report(v, i)->kind == TLB_REPORT_VIOLATION) {
            tlb_report_print_text(tlb_validator_report(v, i), stderr);
            shown++;
        }
    printf("{\"test\":\"tlb_flusher_threads\",\"validated_events\":%zu,\"violations\":%llu}\n", total,
           (unsigned long long)nviol);
    fflush(stdout);
    ck_assert_msg(vd != TLB_VERDICT_BAD_INPUT, "validator rejected the merged stream: %s",
                  tlb_validator_error(v));
    ck_assert_msg(nviol == 0, "%llu violations in the merged stream", (unsigned long long)nviol);
    tlb_validator_destroy(v);
    free(all);
}

static uint64_t rnd(uint64_t *s, uint64_t n)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s % n;
}

static const struct pt_prop RW = {.flags = PT_RW, .priv = PT_PRIV_USER, .cache = PT_CACHE_WB};

static void wp(struct pt_prop *p, void *arg)
{
    p->flags = (uint8_t)(p->flags ^ (uintptr_t)arg);
}

/* A 2 MiB leaf (untracked memory, never freed) over this thread's block.
   The cursor spans two level-2 entries of the thread's own node, so that
   tlb_cursor_map can detach the table below (break-before-make). */
static int huge_op(struct tlb_vmspace *vs, pt_vaddr_t block)
{
    struct tlb_cursor c;
    int r = tlb_cursor_new(&c, vs, block, block + 2 * pt_page_size(2));
    if (r < 0)
        return r;
    struct pt_item item = {.pa = (1ull << 40) + (uint64_t)t_cpu * pt_page_size(2), .level = 2, .prop = RW,
                           .tracked = false};
    r = tlb_cursor_map(&c, &item);
    tlb_cursor_drop(&c);
    if (r >= 0)
        g.huge[t_cpu]++;
    return r < 0 ? r : 0;
}

/* One operation in this thread's block, on one of the shared spaces. */
static int one_op(uint64_t *rng)
{
    struct tlb_vmspace *vs = &g.spaces[rnd(rng, 2)];
    pt_vaddr_t block = BASE + (uint64_t)t_cpu * pt_page_size(3);
    uint64_t kind = rnd(rng, 100);
    if (kind < HUGE_PCT)
        return huge_op(vs, block);
    kind %= 10;
    uint64_t first = rnd(rng, BLOCK_PAGES - 64), pages = 1 + rnd(rng, 48);
    pt_vaddr_t va = block + first * PG;
    struct tlb_cursor c;
    int r = tlb_cursor_new(&c, vs, va, va + pages * PG);
    if (r < 0)
        return r;
    if (kind < 4) {
        for (uint64_t i = 0; i < pages && r >= 0; i++) {
            pt_paddr_t pa;
            if (!pt_frame_alloc(&g.hp.mem, PT_USAGE_UNTYPED, &pa))
                return PT_ERR_NOMEM;
            struct pt_item item = {.pa = pa, .level = 1, .prop = RW, .tracked = true};
            r = tlb_cursor_map(&c, &item);
            if (r < 0)
                pt_frame_put(&g.hp.mem, pa);
        }
    } else if (kind < 8) {
        r = tlb_cursor_unmap(&c, pages * PG, true, NULL);
    } else {
        r = tlb_cursor_protect(&c, pages * PG, wp, (void *)(uintptr_t)PT_W, NULL);
    }
    tlb_cursor_drop(&c);
    return r < 0 ? r : 0;
}

static void *cpu_main(void *arg)
{
    t_cpu = (unsigned)(uintptr_t)arg;
    t_buf = t_cpu;
    uint64_t rng = 0x9E3779B97F4A7C15ull * (t_cpu + 1);
    int *err = calloc(1, sizeof *err);
    for (unsigned i = 0; i < OPS_PER_THREAD && !*err; i++) {
        take_interrupt();
        if (rnd(&rng, 20) == 0)
            tlb_vmspace_activate(g.dom, rnd(&rng, 3) == 2 ? &g.idle : &g.spaces[rnd(&rng, 2)]);
        else
            *err = one_op(&rng);
    }
    /* Go idle and keep taking interrupts until every CPU is done: a CPU
       that stopped would leave a syncing CPU waiting for its ack forever. */
    tlb_vmspace_activate(g.dom, &g.idle);
    __atomic_fetch_add(&g.finished, 1, __ATOMIC_ACQ_REL);
    while (__atomic_load_n(&g.finished, __ATOMIC_ACQUIRE) < NR_THREADS) {
        take_interrupt();
        sched_yield();
    }
    return err;
}

START_TEST(threads_share_spaces_and_flush_each_other)
{
    ck_assert(pt_host_platform_init(&g.hp, 32768));
    uint64_t baseline = pt_host_live(&g.hp);
    g.dom = calloc(1, sizeof *g.dom);
    g.node_level = calloc(g.hp.nr_frames, 1);
    ck_assert_ptr_nonnull(g.dom);
    ck_assert_ptr_nonnull(g.node_level);
    g.hp_ctx = g.hp.mem.ctx;
    g.hp_ops = g.hp.mem.ops;
    g.wrap = (struct pt_platform_ops){.phys_to_virt = w_phys_to_virt, .alloc_frame = w_alloc_frame,
                                      .release_frame = w_release_frame, .pte_stored = w_pte_stored,
                                      .node_allocated = w_node_allocated};
    g.hp.mem.ops = &g.wrap;
    g.ops = (struct tlb_platform_ops){
        .cpu_id = p_cpu_id, .send_ipi = p_send_ipi, .flush_page = p_flush_page,
        .flush_all_nonglobal = p_flush_all, .flush_all_global = p_flush_all, .load_cr3 = p_load_cr3,
        .irq_save = p_irq_save, .irq_restore = p_irq_restore, .relax = p_relax, .emit = p_emit};
    ck_assert_int_eq(tlb_domain_init(g.dom, &g.ops, NULL, &g.hp.mem, NR_THREADS, 0), 0);
    /* For experiments: TLB_FAULTS=<mask> plants bugs (the test then fails). */
    if (getenv("TLB_FAULTS"))
        tlb_domain_set_faults(g.dom, (uint32_t)strtoul(getenv("TLB_FAULTS"), NULL, 0));
    ck_assert_int_eq(tlb_vmspace_init(&g.idle, g.dom, &pt_user_config), 0);
    for (unsigned i = 0; i < 2; i++)
        ck_assert_int_eq(tlb_vmspace_init(&g.spaces[i], g.dom, &pt_user_config), 0);
    g.node_level[g.idle.pt.root >> PT_BASE_PAGE_SHIFT] = 4;
    for (unsigned i = 0; i < 2; i++)
        g.node_level[g.spaces[i].pt.root >> PT_BASE_PAGE_SHIFT] = 4;
    g.dom->idle_root = g.idle.pt.root;
    for (t_cpu = 0; t_cpu < NR_THREADS; t_cpu++)
        tlb_vmspace_activate(g.dom, &g.idle);
    t_cpu = 0;

    pthread_t th[NR_THREADS];
    for (unsigned i = 0; i < NR_THREADS; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, cpu_main, (void *)(uintptr_t)i), 0);
    for (unsigned i = 0; i < NR_THREADS; i++) {
        void *ret;
        ck_assert_int_eq(pthread_join(th[i], &ret), 0);
        int err = *(int *)ret;
        free(ret);
        ck_assert_msg(err == 0, "thread %u: %s", i, tlb_error_name(err));
    }
    /* Interrupts still pending after the threads stopped: take them now. */
    for (t_cpu = 0; t_cpu < NR_THREADS; t_cpu++)
        take_interrupt();
    t_cpu = 0;
    ck_assert_uint_eq(tlb_domain_live_batches(g.dom), 0);
    uint64_t handled = 0, huge = 0;
    for (unsigned i = 0; i < NR_THREADS; i++) {
        handled += g.handled[i];
        huge += g.huge[i];
    }
    printf("{\"test\":\"tlb_flusher_threads\",\"threads\":%d,\"ops\":%d,\"events\":%llu,\"ipis_handled\":%llu,"
           "\"huge_maps\":%llu}\n",
           NR_THREADS, NR_THREADS * OPS_PER_THREAD, (unsigned long long)g.events,
           (unsigned long long)handled, (unsigned long long)huge);
    fflush(stdout);
    ck_assert_uint_gt(handled, 0);
    ck_assert_uint_gt(huge, 0);

    /* The main thread now plays each CPU in turn to leave every space. */
    for (t_cpu = 0; t_cpu < NR_THREADS; t_cpu++)
        tlb_vmspace_activate(g.dom, NULL);
    t_cpu = 0;
    for (unsigned i = 0; i < 2; i++) {
        struct tlb_cursor c;
        ck_assert_int_eq(tlb_cursor_new(&c, &g.spaces[i], 0, pt_config_va_end(&pt_user_config)), 0);
        ck_assert_int_eq(tlb_cursor_unmap(&c, pt_config_va_end(&pt_user_config), true, NULL), 0);
        tlb_cursor_drop(&c);
        ck_assert_int_eq(tlb_vmspace_destroy(&g.spaces[i]), 0);
    }
    ck_assert_uint_eq(tlb_domain_live_batches(g.dom), 0);
    validate_all();
    /* Power-off: the idle space (still in every CR3) is freed outside the stream. */
    g.hp.mem.ops = g.hp_ops;
    ck_assert_int_eq(tlb_vmspace_destroy(&g.idle), 0);
    ck_assert_uint_eq(pt_host_live(&g.hp), baseline);
    for (unsigned i = 0; i <= NR_THREADS; i++)
        free(g.bufs[i].ev);
    free(g.node_level);
    free(g.dom);
    pt_host_platform_destroy(&g.hp);
}
END_TEST

CHECK_PROGRAM_ONE_TCASE("tlb_flusher_threads", "threads", CHECK_TIMEOUT_NONE,
                        threads_share_spaces_and_flush_each_other)
