/*
 * guest_vm_io_windows: the per-space table of live VmReader / VmWriter
 * windows (guest/mm/vm_io_windows.c) on the host: stale tickets, and the
 * seed's exclusion rule under threads that contend for overlapping ranges
 * (the guest's vCPUs sharing one space). The rule itself, case by case,
 * is checked through vm_space_reader / vm_space_writer in guest_uaccess.
 */
#include <check.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>

#include "check_main.h"
#include "guest/uaccess.h"
#include "guest/vm_io_windows.h"

/* A ticket copied before its window was dropped must not end the window
 * that later took the same slot. */
START_TEST(stale_ticket_after_slot_reuse)
{
    static struct vm_io_windows t;
    struct vm_io_ticket a, stale, b, x;
    vm_io_windows_init(&t);
    ck_assert_int_eq(vm_io_windows_add(&t, 0x1000, 0x2000, true, &a), UA_OK);
    stale = a;
    ck_assert_int_eq(vm_io_windows_remove(&a), UA_OK);
    ck_assert_ptr_null(a.table);
    ck_assert_int_eq(vm_io_windows_remove(&a), UA_OK);          /* dropped: nothing to do */
    ck_assert_int_eq(vm_io_windows_add(&t, 0x1000, 0x2000, true, &b), UA_OK);
    ck_assert_uint_eq(b.slot, stale.slot);                      /* the slot is reused */
    ck_assert_int_eq(vm_io_windows_remove(&stale), UA_EINVAL);
    ck_assert_ptr_eq(stale.table, &t);
    ck_assert_uint_eq(vm_io_windows_live(&t), 1);
    ck_assert_int_eq(vm_io_windows_add(&t, 0x1800, 0x1808, false, &x), UA_EBUSY);
    ck_assert_int_eq(vm_io_windows_remove(&b), UA_OK);
    ck_assert_uint_eq(vm_io_windows_live(&t), 0);
}
END_TEST

/* All-zero memory is an empty table (the header's promise): no window, and
 * the first one gets an id that is not the free marker. */
START_TEST(zeroed_table_is_empty)
{
    static struct vm_io_windows t;
    struct vm_io_ticket a;
    memset(&t, 0, sizeof(t));
    ck_assert_uint_eq(vm_io_windows_live(&t), 0);
    ck_assert_int_eq(vm_io_windows_add(&t, 0x1000, 0x1001, false, &a), UA_OK);
    ck_assert_uint_ne(a.id, 0);
    ck_assert_int_eq(vm_io_windows_remove(&a), UA_OK);
}
END_TEST

/*
 * Threads take three windows over and over, each retried until it is
 * granted:
 *   W1 writer [100, 200)   R reader [150, 250)   W2 writer [200, 300)
 * The rule allows W1 with W2 (touching) and R with R; it forbids W1 with
 * W1 or R, W2 with W2 or R. A thread counts itself in a window only after
 * the table granted it and out before it drops it, so the counts never
 * exceed what the table holds: any forbidden pair seen in them is a real
 * breach of the rule.
 */
enum { THREADS = 3, ROUNDS = 10000 };

static struct vm_io_windows shared;
static pthread_barrier_t start_together;   /* contend from the first round */
static unsigned in_w1, in_r, in_w2, breaches, refusals;

static const struct {
    uint64_t start, end;
    bool writer;
    unsigned *in;             /* this window's holders: a writer is alone */
    unsigned *never[2];       /* holders of windows it excludes (or NULL) */
} kinds[3] = {
    { 100, 200, true, &in_w1, { &in_r, NULL } },
    { 150, 250, false, &in_r, { &in_w1, &in_w2 } },
    { 200, 300, true, &in_w2, { &in_r, NULL } },
};

static unsigned load(unsigned *p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }

static void hold(unsigned k)
{
    struct vm_io_ticket tk;
    int err;
    while ((err = vm_io_windows_add(&shared, kinds[k].start, kinds[k].end, kinds[k].writer,
                                    &tk)) == UA_EBUSY) {
        __atomic_fetch_add(&refusals, 1, __ATOMIC_RELAXED);
        sched_yield();
    }
    if (err != UA_OK) {
        __atomic_fetch_add(&breaches, 1, __ATOMIC_SEQ_CST);
        return;
    }
    unsigned me = __atomic_add_fetch(kinds[k].in, 1, __ATOMIC_SEQ_CST);
    bool bad = kinds[k].writer && me != 1;
    for (unsigned j = 0; j < 2; j++)
        bad = bad || (kinds[k].never[j] && load(kinds[k].never[j]) != 0);
    if (bad)
        __atomic_fetch_add(&breaches, 1, __ATOMIC_SEQ_CST);
    __atomic_sub_fetch(kinds[k].in, 1, __ATOMIC_SEQ_CST);
    if (vm_io_windows_remove(&tk) != UA_OK)
        __atomic_fetch_add(&breaches, 1, __ATOMIC_SEQ_CST);
}

static void *contender(void *arg)
{
    unsigned first = (unsigned)(uintptr_t)arg;
    pthread_barrier_wait(&start_together);
    for (unsigned i = 0; i < ROUNDS; i++)
        for (unsigned k = 0; k < 3; k++)
            hold((first + k) % 3);
    return NULL;
}

START_TEST(threads_never_hold_forbidden_pairs)
{
    pthread_t th[THREADS];
    vm_io_windows_init(&shared);
    ck_assert_int_eq(pthread_barrier_init(&start_together, NULL, THREADS), 0);
    for (unsigned i = 0; i < THREADS; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, contender, (void *)(uintptr_t)i), 0);
    for (unsigned i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&start_together);
    ck_assert_uint_eq(breaches, 0);
    ck_assert_uint_eq(vm_io_windows_live(&shared), 0);
    /* Every grant took one id: none lost, none given twice. */
    ck_assert_uint_eq(shared.next_id, (uint64_t)THREADS * ROUNDS * 3);
}
END_TEST

CHECK_PROGRAM_ONE_TCASE("guest_vm_io_windows", "windows", 60, stale_ticket_after_slot_reuse,
                        zeroed_table_is_empty, threads_never_hold_forbidden_pairs)
