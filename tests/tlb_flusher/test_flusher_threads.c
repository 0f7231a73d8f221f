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
 * (so every dispatch targets other threads), with ranges that never cover a
 * whole block: page-table cursors of different threads then never wait for
 * each other (a thread spinning inside the page-table core takes no
 * interrupts here, unlike a real CPU, and could deadlock with a thread that
 * syncs towards it).
 *
 * Asserts: every operation succeeds, no thread deadlocks (CTest timeout),
 * every thread handled remote flushes, at the end no kept batch is alive
 * and no frame leaked. Event records are counted, not validated: their
 * sequence numbers are taken after each action on different threads.
 */
#include <check.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

#include "pagetable/host_platform.h"
#include "tlb/flusher_vmspace.h"

#define NR_THREADS 4
#define OPS_PER_THREAD 3000
#define BASE 0x40000000ull
#define PG PT_BASE_PAGE_SIZE
#define BLOCK_PAGES 512u

struct mt {
    struct pt_host_platform hp;
    struct tlb_domain *dom;
    struct tlb_platform_ops ops;
    struct tlb_vmspace spaces[2], idle;
    uint8_t pending[NR_THREADS];   /* atomic */
    uint64_t events;               /* atomic */
    uint64_t handled[NR_THREADS];  /* IPIs taken, per thread (own slot only) */
    unsigned finished;             /* atomic: threads done with their operations */
};

static __thread unsigned t_cpu;
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
    (void)ev;
    __atomic_fetch_add(&g.events, 1, __ATOMIC_RELAXED);
}

static uint64_t rnd(uint64_t *s, uint64_t n)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s % n;
}

static const struct pt_prop RW = {.flags = PT_RW, .priv = PT_PRIV_USER, .cache = PT_CACHE_WB};

static struct pt_prop wp(struct pt_prop old, void *arg)
{
    old.flags = (uint8_t)(old.flags ^ (uintptr_t)arg);
    return old;
}

/* One operation in this thread's block, on one of the shared spaces. */
static int one_op(uint64_t *rng)
{
    struct tlb_vmspace *vs = &g.spaces[rnd(rng, 2)];
    pt_vaddr_t block = BASE + (uint64_t)t_cpu * pt_page_size(2);
    uint64_t first = rnd(rng, BLOCK_PAGES - 64), pages = 1 + rnd(rng, 48);
    pt_vaddr_t va = block + first * PG;
    struct tlb_cursor c;
    int r = tlb_cursor_new(&c, vs, va, va + pages * PG);
    if (r < 0)
        return r;
    uint64_t kind = rnd(rng, 10);
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
    ck_assert_ptr_nonnull(g.dom);
    g.ops = (struct tlb_platform_ops){
        .cpu_id = p_cpu_id, .send_ipi = p_send_ipi, .flush_page = p_flush_page,
        .flush_all_nonglobal = p_flush_all, .flush_all_global = p_flush_all, .load_cr3 = p_load_cr3,
        .irq_save = p_irq_save, .irq_restore = p_irq_restore, .relax = p_relax, .emit = p_emit};
    ck_assert_int_eq(tlb_domain_init(g.dom, &g.ops, NULL, &g.hp.mem, NR_THREADS, 0), 0);
    ck_assert_int_eq(tlb_vmspace_init(&g.idle, g.dom, &pt_user_config), 0);
    for (unsigned i = 0; i < 2; i++)
        ck_assert_int_eq(tlb_vmspace_init(&g.spaces[i], g.dom, &pt_user_config), 0);
    g.dom->idle_root = g.idle.pt.root;

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
    uint64_t handled = 0;
    for (unsigned i = 0; i < NR_THREADS; i++)
        handled += g.handled[i];
    printf("{\"test\":\"tlb_flusher_threads\",\"threads\":%d,\"ops\":%d,\"events\":%llu,\"ipis_handled\":%llu}\n",
           NR_THREADS, NR_THREADS * OPS_PER_THREAD, (unsigned long long)g.events,
           (unsigned long long)handled);
    fflush(stdout);
    ck_assert_uint_gt(handled, 0);

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
    ck_assert_int_eq(tlb_vmspace_destroy(&g.idle), 0);
    ck_assert_uint_eq(pt_host_live(&g.hp), baseline);
    free(g.dom);
    pt_host_platform_destroy(&g.hp);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("tlb_flusher_threads");
    TCase *t = tcase_create("threads");
    tcase_set_timeout(t, 0);
    tcase_add_test(t, threads_share_spaces_and_flush_each_other);
    suite_add_tcase(su, t);
    SRunner *sr = srunner_create(su);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
