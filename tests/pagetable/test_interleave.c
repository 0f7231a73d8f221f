/*
 * The locking protocol's racy interleavings, made deterministic (labels:
 * unit, concurrency; also meant for ThreadSanitizer). The core's test hooks
 * (pagetable/test_hooks.h) hold one thread at an exact point of the
 * protocol while another thread runs; lock.c states the orderings O1..O4
 * these tests pin down, and docs/pagetable-testing.md shows the planted
 * mutations they catch.
 *
 *  stray_before_unlock (O3): T1 has read the link to a level-1 node and is
 *    held just before locking it; T2 detaches that node (take_next of its
 *    whole 2 MiB) and, the moment the node is unlocked, lets T1 lock it and
 *    waits until T1 either starts again (it saw `stray`) or got its cursor.
 *    T1 must start again, and its mapping must land in the live table.
 *  double_allocation (O4, and O1/O2 under TSan): T1 read an absent root
 *    entry and is held before locking the root; T2 allocates the whole path
 *    and maps a page; then T1 goes on. T1 must use T2's nodes (no second
 *    allocation over the first), so both pages are mapped and the table has
 *    exactly 4 nodes. T1 then walks lock-free through nodes T2 published,
 *    with no other synchronisation between them (the test's own flags are
 *    relaxed atomics): ThreadSanitizer reports a relaxed publication or a
 *    relaxed walk as a data race on the child's metadata.
 *
 * Waits are bounded (WAIT_MS): a broken protocol fails the test, never
 * hangs it.
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <time.h>

#include "check_main.h"
#include "pagetable/test_hooks.h"
#include "pt_test_util.h"

#define WAIT_MS 3000

static struct pt_page_table pt;
static _Thread_local int role;  /* 1: T1, 2: T2, 0: anyone else */

static struct {
    pt_paddr_t target;  /* the node the scenario is about */
    int phase;          /* relaxed atomic: the scenario's progress */
    int t1_retried;     /* T1 saw `target` stray and started again */
    int timeouts;
} S;

static int phase_get(void) { return __atomic_load_n(&S.phase, __ATOMIC_RELAXED); }
static void phase_set(int p) { __atomic_store_n(&S.phase, p, __ATOMIC_RELAXED); }

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Spin until phase >= p (relaxed: creates no happens-before edge). */
static bool wait_phase(int p)
{
    uint64_t deadline = now_ms() + WAIT_MS;
    while (phase_get() < p) {
        if (now_ms() > deadline) {
            __atomic_add_fetch(&S.timeouts, 1, __ATOMIC_RELAXED);
            return false;
        }
        sched_yield();
    }
    return true;
}

/* The node at `level` on the path of va (descends table entries). */
static pt_paddr_t node_of(pt_vaddr_t va, int level)
{
    pt_paddr_t node = pt.root;
    for (int l = PT_NR_LEVELS; l > level; l--) {
        const pt_pte_t *ptes = pt_host_frame_ptr(&hp, node);
        pt_pte_t pte = __atomic_load_n(&ptes[pt_index(va, l)], __ATOMIC_ACQUIRE);
        ck_assert_msg(pt_pte_is_table(pte), "no node at level %d for %#llx", level,
                      (unsigned long long)va);
        node = pt_pte_table_paddr(pte);
    }
    return node;
}

static struct pt_item item4k(pt_paddr_t pa)
{
    return (struct pt_item){ .pa = pa, .level = 1, .prop = util_prop(PT_RW), .tracked = true };
}

/* ---- stray_before_unlock ---------------------------------------------- */

#define A_VA (1 * GiB + 2 * MiB)

static void hook_stray(void *arg, const struct pt_hook_event *ev)
{
    (void)arg;
    if (ev->node != S.target)
        return;
    if (role == 1 && ev->point == PT_HOOK_LOCK && phase_get() == 0) {
        phase_set(1);  /* T1 read the link and is about to lock the node */
        wait_phase(2);
    } else if (role == 1 && ev->point == PT_HOOK_STRAY_RETRY) {
        __atomic_store_n(&S.t1_retried, 1, __ATOMIC_RELAXED);
        phase_set(3);
    } else if (role == 2 && ev->point == PT_HOOK_UNLOCKED && phase_get() == 1) {
        phase_set(2);  /* the detached node is unlocked: T1, go */
        wait_phase(3); /* until T1 started again or got its cursor */
    }
}

struct a_args {
    pt_paddr_t frame;
    int rc_new, rc_map;
    struct pt_frag frag;
    int taken;
};

static void *a_t1(void *p)
{
    struct a_args *a = p;
    role = 1;
    struct pt_cursor c;
    a->rc_new = pt_cursor_new(&c, &pt, A_VA, A_VA + 4096);
    if (phase_get() < 3)
        phase_set(3);  /* got the cursor without starting again */
    if (a->rc_new == PT_OK) {
        struct pt_item it = item4k(a->frame);
        struct pt_frag old;
        a->rc_map = pt_cursor_map(&c, &it, &old);
        pt_cursor_drop(&c);
    }
    return NULL;
}

static void *a_t2(void *p)
{
    struct a_args *a = p;
    role = 2;
    if (!wait_phase(1))
        return NULL;
    struct pt_cursor c;
    pt_vaddr_t base = A_VA & ~(2 * MiB - 1);
    if (pt_cursor_new(&c, &pt, base, base + 2 * MiB) != PT_OK)
        return NULL;
    a->taken = pt_cursor_take_next(&c, 2 * MiB, &a->frag);
    pt_cursor_drop(&c);
    return NULL;
}

START_TEST(stray_before_unlock)
{
    ck_assert_msg(pt_test_hooks_enabled(), "this build of the core has no test hooks");
    util_table_init(&pt, &pt_user_config, 256);
    pt_paddr_t first = util_map4k(&pt, A_VA, PT_RW);
    (void)first;
    S.target = node_of(A_VA, 1);
    S.phase = 0;
    S.t1_retried = 0;
    S.timeouts = 0;
    struct a_args a = { .frame = util_frame() };
    pt_test_hook_set(hook_stray, NULL);
    pthread_t t1, t2;
    ck_assert(pthread_create(&t1, NULL, a_t1, &a) == 0);
    ck_assert(pthread_create(&t2, NULL, a_t2, &a) == 0);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    pt_test_hook_set(NULL, NULL);

    ck_assert_int_eq(S.timeouts, 0);
    ck_assert_int_eq(a.taken, 1);
    ck_assert_int_eq(a.frag.kind, PT_FRAG_STRAY_TABLE);
    ck_assert_msg(a.frag.node == S.target, "T2 detached another node");
    ck_assert_msg(S.t1_retried,
                  "T1 locked the detached node as its sub-tree root without seeing it stray");
    ck_assert_int_eq(a.rc_new, PT_OK);
    ck_assert_int_eq(a.rc_map, 0);
    struct pt_query q = util_query(&pt, A_VA);
    ck_assert_msg(q.mapped && q.item.pa == a.frame, "T1's mapping is not in the live table");
    ck_assert_msg(node_of(A_VA, 1) != S.target, "the detached node is linked again");
    pt_frag_release(mem, &a.frag);  /* both threads joined: the grace period */
    util_table_fini(&pt);
}
END_TEST

/* ---- double_allocation ------------------------------------------------ */

#define B_VA (3 * GiB + 4 * MiB)

static void hook_double(void *arg, const struct pt_hook_event *ev)
{
    (void)arg;
    if (role == 1 && ev->point == PT_HOOK_DESCENT_READ && ev->node == S.target &&
        pt_pte_is_absent(ev->pte) && phase_get() == 0) {
        phase_set(1);  /* T1 read the root entry as absent; it locks the root next */
        wait_phase(2);
    }
}

struct b_args {
    pt_paddr_t f1, f2;
    int rc1, rc2;
};

static void map_one(pt_vaddr_t va, pt_paddr_t pa, int *rc)
{
    struct pt_cursor c;
    *rc = pt_cursor_new(&c, &pt, va, va + 4096);
    if (*rc != PT_OK)
        return;
    struct pt_item it = item4k(pa);
    struct pt_frag old;
    *rc = pt_cursor_map(&c, &it, &old);
    pt_cursor_drop(&c);
}

static void *b_t1(void *p)
{
    struct b_args *b = p;
    role = 1;
    map_one(B_VA, b->f1, &b->rc1);
    return NULL;
}

static void *b_t2(void *p)
{
    struct b_args *b = p;
    role = 2;
    if (wait_phase(1))
        map_one(B_VA + 4096, b->f2, &b->rc2);
    phase_set(2);
    return NULL;
}

START_TEST(double_allocation)
{
    ck_assert_msg(pt_test_hooks_enabled(), "this build of the core has no test hooks");
    util_table_init(&pt, &pt_user_config, 256);
    S.target = pt.root;
    S.phase = 0;
    S.timeouts = 0;
    struct b_args b = { .f1 = util_frame(), .f2 = util_frame(), .rc1 = -100, .rc2 = -100 };
    uint64_t live = pt_host_live(&hp);
    pt_test_hook_set(hook_double, NULL);
    pthread_t t1, t2;
    ck_assert(pthread_create(&t1, NULL, b_t1, &b) == 0);
    ck_assert(pthread_create(&t2, NULL, b_t2, &b) == 0);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    pt_test_hook_set(NULL, NULL);

    ck_assert_int_eq(S.timeouts, 0);
    ck_assert_int_eq(b.rc1, 0);
    ck_assert_int_eq(b.rc2, 0);
    struct pt_query q1 = util_query(&pt, B_VA), q2 = util_query(&pt, B_VA + 4096);
    ck_assert_msg(q1.mapped && q1.item.pa == b.f1, "T1's page is not mapped");
    ck_assert_msg(q2.mapped && q2.item.pa == b.f2, "T2's page is not mapped (its nodes were "
                                                   "replaced by a second allocation)");
    ck_assert_uint_eq(pt_host_live(&hp), live + 3);  /* one L3, L2, L1 node: no second one */
    struct pt_check_result r = util_check(&pt);
    ck_assert_uint_eq(r.nr_nodes, 4);
    util_table_fini(&pt);
}
END_TEST

CHECK_PROGRAM_ONE_TCASE("pagetable_interleave", "interleave", 60,
                        stray_before_unlock, double_allocation)
