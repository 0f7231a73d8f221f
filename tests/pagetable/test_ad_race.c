/*
 * The MMU's accessed/dirty updates racing the core's read-modify-write of
 * live PTEs (label: concurrency).
 *
 * An "MMU" thread does what the hardware does on a write through a present
 * leaf: an atomic read-modify-write that sets A and D in the PTE, without
 * any page-table lock (Intel SDM Vol. 3A §4.8). Meanwhile the main thread
 * changes the same leaves under a cursor: W toggles through
 * pt_cursor_protect_next (fast path) and pt_cursor_protect_flags, which
 * never touch A or D. In each round the main thread first clears D
 * everywhere, and A in every other round (MMU idle), then both run; once the MMU thread has set D on
 * every page of the round, every page must still have D. A plain
 * load-compute-store in the core loses the D bits set between its load and
 * its store (thousands per run before the fix); the fixed core updates
 * present entries with compare-and-exchange and keeps them.
 *
 * A second part does the same with take_next: the frag of a page the MMU
 * dirtied before it was removed must carry DIRTY.
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>

#include "check_main.h"
#include "pt_test_util.h"

#define BASE (4 * GiB)
#define NPAGES 1024  /* two level-1 nodes */
#define ROUNDS 300

static struct pt_page_table pt;
static pt_pte_t *leaf[NPAGES];  /* the leaf slots (nodes never change here) */
static int go_round;            /* relaxed atomics: the round the MMU may run */
static int done_round;
static int stop;
static uint64_t dirtied;        /* MMU updates made */

static pt_pte_t *slot_of(pt_vaddr_t va)
{
    pt_paddr_t node = pt.root;
    for (int l = PT_NR_LEVELS; l > 1; l--) {
        pt_pte_t *ptes = pt_host_frame_ptr(&hp, node);
        pt_pte_t pte = __atomic_load_n(&ptes[pt_index(va, l)], __ATOMIC_ACQUIRE);
        ck_assert(pt_pte_is_table(pte));
        node = pt_pte_table_paddr(pte);
    }
    return (pt_pte_t *)pt_host_frame_ptr(&hp, node) + pt_index(va, 1);
}

/* The MMU's dirtying write: set A|D in a present leaf, atomically. */
static bool mmu_dirty(pt_pte_t *slot)
{
    pt_pte_t pte = __atomic_load_n(slot, __ATOMIC_RELAXED);
    while ((pte & PTE_P) && (pte & (PTE_A | PTE_D)) != (PTE_A | PTE_D))
        if (__atomic_compare_exchange_n(slot, &pte, pte | PTE_A | PTE_D, false, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED))
            return true;
    return false;
}

static void *mmu_thread(void *arg)
{
    (void)arg;
    for (int r = 1;; r++) {
        while (__atomic_load_n(&go_round, __ATOMIC_ACQUIRE) < r)
            if (__atomic_load_n(&stop, __ATOMIC_RELAXED))
                return NULL;
            else
                sched_yield();
        /* Every page once per round, spread over the main thread's work. */
        for (int i = 0; i < NPAGES; i++) {
            if (mmu_dirty(leaf[(i * 389) % NPAGES]))
                __atomic_add_fetch(&dirtied, 1, __ATOMIC_RELAXED);
            if ((i & 63) == 0)
                sched_yield();
        }
        __atomic_store_n(&done_round, r, __ATOMIC_RELEASE);
    }
}

static void toggle_w(struct pt_prop *p, void *arg)
{
    (void)arg;
    p->flags ^= PT_W;
}

/* One pass of W toggles over the whole range (alternating both APIs). */
static void toggle_pass(int k)
{
    struct pt_cursor c;
    ck_assert_int_eq(pt_cursor_new(&c, &pt, BASE, BASE + NPAGES * 4096), PT_OK);
    if (k & 1) {
        pt_vaddr_t s, e;
        while (pt_cursor_protect_next(&c, BASE + NPAGES * 4096 - pt_cursor_va(&c), toggle_w, NULL,
                                      &s, &e) == 1)
            ;
    } else {
        pt_vaddr_t cs, ce;
        uint8_t w = (k & 2) ? PT_W : 0;
        ck_assert_int_ge(pt_cursor_protect_flags(&c, NPAGES * 4096, (uint8_t)(PT_W & ~w), w, &cs, &ce),
                         0);
    }
    pt_cursor_drop(&c);
}

/* Clear D everywhere; in odd rounds A too, in even rounds set A (pages read
 * but not written: the core may store plainly only where A and D are both
 * set, so an entry with A alone must still be updated with a
 * compare-and-exchange). */
static void clear_dirty(int round)
{
    struct pt_cursor c;
    pt_vaddr_t cs, ce;
    uint8_t clear = (round & 1) ? PT_ACCESSED | PT_DIRTY : PT_DIRTY;
    uint8_t set = (round & 1) ? 0 : PT_ACCESSED;
    ck_assert_int_eq(pt_cursor_new(&c, &pt, BASE, BASE + NPAGES * 4096), PT_OK);
    ck_assert_int_ge(pt_cursor_protect_flags(&c, NPAGES * 4096, clear, set, &cs, &ce), 0);
    pt_cursor_drop(&c);
}

START_TEST(protect_keeps_mmu_dirty_bits)
{
    util_table_init(&pt, &pt_user_config, 4096);
    for (int i = 0; i < NPAGES; i++)
        util_map4k(&pt, BASE + (uint64_t)i * 4096, PT_RW);
    for (int i = 0; i < NPAGES; i++)
        leaf[i] = slot_of(BASE + (uint64_t)i * 4096);
    go_round = done_round = stop = 0;
    dirtied = 0;
    pthread_t mmu;
    ck_assert(pthread_create(&mmu, NULL, mmu_thread, NULL) == 0);
    uint64_t lost = 0, passes = 0;
    for (int r = 1; r <= ROUNDS; r++) {
        clear_dirty(r);  /* the MMU thread is idle */
        __atomic_store_n(&go_round, r, __ATOMIC_RELEASE);
        int k = 0;
        do {
            toggle_pass(k++);
            passes++;
        } while (__atomic_load_n(&done_round, __ATOMIC_ACQUIRE) < r);
        for (int i = 0; i < NPAGES; i++)
            if (!(__atomic_load_n(leaf[i], __ATOMIC_RELAXED) & PTE_D))
                lost++;
    }
    __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
    pthread_join(mmu, NULL);
    printf("pagetable_ad_race: %d rounds, %llu protect passes, %llu MMU updates, %llu D bits lost\n",
           ROUNDS, (unsigned long long)passes, (unsigned long long)dirtied,
           (unsigned long long)lost);
    ck_assert_msg(lost == 0, "%llu dirty bits set by the MMU were lost by protect",
                  (unsigned long long)lost);
    util_table_fini(&pt);
}
END_TEST

/* take_next: the frag carries the D bit the MMU set before the removal. A
 * persistent MMU thread dirties whatever page `cur` names, as fast as it can. */
static pt_pte_t *cur;
static int epoch, set_epoch;
static uint64_t mmu_iters;

static void *take_mmu_thread(void *arg)
{
    (void)arg;
    while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
        int e = __atomic_load_n(&epoch, __ATOMIC_ACQUIRE);
        pt_pte_t *s = __atomic_load_n(&cur, __ATOMIC_ACQUIRE);
        if (s && mmu_dirty(s))
            __atomic_store_n(&set_epoch, e, __ATOMIC_RELEASE);
        __atomic_add_fetch(&mmu_iters, 1, __ATOMIC_ACQ_REL);
    }
    return NULL;
}

START_TEST(take_next_reports_mmu_dirty_bit)
{
    util_table_init(&pt, &pt_user_config, 4096);
    stop = 0;
    cur = NULL;
    epoch = set_epoch = 0;
    pthread_t th;
    ck_assert(pthread_create(&th, NULL, take_mmu_thread, NULL) == 0);
    uint64_t missing = 0, set = 0;
    for (int r = 1; r <= 4000; r++) {
        pt_vaddr_t va = BASE + (uint64_t)(r % NPAGES) * 4096;
        util_map4k(&pt, va, PT_RW);
        struct pt_cursor c;
        struct pt_frag f;
        ck_assert_int_eq(pt_cursor_new(&c, &pt, va, va + 4096), PT_OK);
        __atomic_store_n(&epoch, r, __ATOMIC_RELEASE);
        __atomic_store_n(&cur, slot_of(va), __ATOMIC_RELEASE);
        for (volatile int spin = 0; spin < (r % 32) * 4; spin++)
            ;
        ck_assert_int_eq(pt_cursor_take_next(&c, 4096, &f), 1);
        __atomic_store_n(&cur, NULL, __ATOMIC_RELEASE);
        pt_cursor_drop(&c);
        /* Two whole MMU iterations: any update in flight has been recorded. */
        uint64_t it = __atomic_load_n(&mmu_iters, __ATOMIC_ACQUIRE);
        while (__atomic_load_n(&mmu_iters, __ATOMIC_ACQUIRE) < it + 2)
            sched_yield();
        if (__atomic_load_n(&set_epoch, __ATOMIC_ACQUIRE) == r) {
            set++;  /* the MMU's update reached the PTE before the clear */
            if (!(f.item.prop.flags & PT_DIRTY))
                missing++;
        }
        pt_frag_release(mem, &f);
    }
    __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
    pthread_join(th, NULL);
    printf("pagetable_ad_race: take_next: %llu removals after an MMU update, %llu without DIRTY\n",
           (unsigned long long)set, (unsigned long long)missing);
    ck_assert_msg(missing == 0, "%llu frags lost the MMU's DIRTY bit", (unsigned long long)missing);
    util_table_fini(&pt);
}
END_TEST

CHECK_PROGRAM_ONE_TCASE("pagetable_ad_race", "mmu", 120,
                        protect_keeps_mmu_dirty_bits, take_next_reports_mmu_dirty_bit)
