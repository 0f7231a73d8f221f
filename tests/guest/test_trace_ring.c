/*
 * guest_trace_ring: the guest's trace-ring producer (guest/mm/trace_ring.c)
 * against a host buffer laid out as abi/trace_ring.h says, with a consumer
 * thread that follows the header's consumer protocol: every record arrives,
 * in order, intact, with a ring far smaller than the stream (the producer
 * waits when it is full, never drops), and rings with a wrong identity are
 * refused with a reason.
 */
#include <check.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "guest/trace_ring.h"

#define CAP    8u
#define STRIDE (VMM_TRACE_RING_HEADER_SIZE + 4096u)
#define EVENTS 100000u

static unsigned char *ring_mem;

static struct vmm_trace_ring *fresh_ring(uint32_t cpu, uint32_t cap)
{
    memset(ring_mem, 0, STRIDE);
    struct vmm_trace_ring *r = (struct vmm_trace_ring *)ring_mem;
    r->magic = VMM_TRACE_RING_MAGIC;
    r->version = VMM_TRACE_RING_VERSION;
    r->record_size = TLB_EVENT_RECORD_SIZE;
    r->cpu = cpu;
    r->capacity = cap;
    return r;
}

static void setup(void)
{
    ring_mem = aligned_alloc(4096, STRIDE);
    ck_assert_ptr_nonnull(ring_mem);
}

static void teardown(void)
{
    free(ring_mem);
}

static void yield(void)
{
    sched_yield();
}

static struct tlb_event event(uint64_t n)
{
    struct tlb_event ev = { .seq = n, .cpu = 3, .type = TLB_EV_PTE_STORE, .sub = 1,
                            .arg = (uint16_t)(n % 512), .root = 0x5000 };
    ev.u.raw[0] = n * 4096;
    ev.u.raw[1] = ~n;
    ev.u.raw[2] = n ^ 0x5a5a5a5a5a5a5a5aull;
    return ev;
}

static uint64_t bad_records;

/* The host side of abi/trace_ring.h: acquire head, copy, release tail. */
static void *consumer(void *arg)
{
    struct vmm_trace_ring *r = arg;
    uint64_t tail = 0;
    while (tail < EVENTS) {
        uint64_t head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
        for (; tail < head; tail++) {
            struct tlb_event got, want = event(tail);
            memcpy(&got, ring_mem + VMM_TRACE_RING_HEADER_SIZE +
                             (tail % r->capacity) * TLB_EVENT_RECORD_SIZE, sizeof(got));
            if (memcmp(&got, &want, sizeof(got)) != 0)
                bad_records++;
        }
        __atomic_store_n(&r->tail, tail, __ATOMIC_RELEASE);
        sched_yield();
    }
    return NULL;
}

START_TEST(every_record_arrives_in_order)
{
    struct vmm_trace_ring *r = fresh_ring(3, CAP);
    ck_assert_ptr_null(trace_ring_check(r, 3, STRIDE));
    bad_records = 0;
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, consumer, r), 0);
    for (uint64_t n = 0; n < EVENTS; n++) {
        struct tlb_event ev = event(n);
        trace_ring_push(r, CAP, &ev, yield);
        /* Never more in flight than the ring holds. */
        ck_assert_uint_le(__atomic_load_n(&r->head, __ATOMIC_ACQUIRE) -
                              __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE), CAP);
    }
    pthread_join(t, NULL);
    ck_assert_uint_eq(r->head, EVENTS);
    ck_assert_uint_eq(r->tail, EVENTS);
    ck_assert_uint_eq(bad_records, 0);
    /* The producer wrote records only: the identity is as the VMM left it. */
    ck_assert_uint_eq(r->magic, VMM_TRACE_RING_MAGIC);
    ck_assert_uint_eq(r->cpu, 3);
    ck_assert_uint_eq(r->capacity, CAP);
    ck_assert_uint_eq(r->record_size, TLB_EVENT_RECORD_SIZE);
}
END_TEST

/* A full ring makes the producer wait: with no consumer it must not return.
 * Its relax callback frees one slot after a few calls, as a consumer would. */
static struct vmm_trace_ring *waiting_ring;
static unsigned relax_calls;

static void consume_one_later(void)
{
    if (++relax_calls == 5)
        __atomic_store_n(&waiting_ring->tail, 1, __ATOMIC_RELEASE);
}

START_TEST(full_ring_waits_never_drops)
{
    struct vmm_trace_ring *r = fresh_ring(0, CAP);
    waiting_ring = r;
    relax_calls = 0;
    for (uint64_t n = 0; n < CAP; n++) {
        struct tlb_event ev = event(n);
        trace_ring_push(r, CAP, &ev, consume_one_later);
    }
    ck_assert_uint_eq(relax_calls, 0);             /* not full until now */
    struct tlb_event ev = event(CAP);
    trace_ring_push(r, CAP, &ev, consume_one_later);
    ck_assert_uint_eq(relax_calls, 5);             /* waited until the slot was free */
    ck_assert_uint_eq(r->head, CAP + 1);
    struct tlb_event got;
    memcpy(&got, ring_mem + VMM_TRACE_RING_HEADER_SIZE, sizeof(got));  /* slot 0 reused */
    ck_assert_uint_eq(got.seq, CAP);
}
END_TEST

/* Each case breaks one identity field; the reason must say which. */
static void bad_magic(struct vmm_trace_ring *r) { r->magic = 0x12345678; }
static void bad_version(struct vmm_trace_ring *r) { r->version = 2; }
static void bad_size(struct vmm_trace_ring *r) { r->record_size = 64; }
static void bad_cpu(struct vmm_trace_ring *r) { r->cpu = 1; }
static void bad_cap(struct vmm_trace_ring *r) { r->capacity = 6; }
static void zero_cap(struct vmm_trace_ring *r) { r->capacity = 0; }
static void big_cap(struct vmm_trace_ring *r) { r->capacity = 128; }  /* 128 * 48 > 4096 */
static void dirty_head(struct vmm_trace_ring *r) { r->head = 1; }

static const struct {
    void (*edit)(struct vmm_trace_ring *);
    const char *words;
} refusals[] = {
    { bad_magic, "magic" },       { bad_version, "version" },
    { bad_size, "record size" },  { bad_cpu, "another cpu" },
    { bad_cap, "power of two" },  { zero_cap, "power of two" },
    { big_cap, "does not fit" },  { dirty_head, "not zero" },
};

START_TEST(wrong_identity_is_refused)
{
    struct vmm_trace_ring *r = fresh_ring(0, CAP);
    refusals[_i].edit(r);
    const char *why = trace_ring_check(r, 0, STRIDE);
    ck_assert_msg(why && strstr(why, refusals[_i].words), "case %d: got \"%s\"", _i,
                  why ? why : "(accepted)");
}
END_TEST

START_TEST(largest_fitting_capacity_is_accepted)
{
    /* 4096 bytes of records hold 85 records: 64 is the largest power of two. */
    ck_assert_ptr_null(trace_ring_check(fresh_ring(2, 64), 2, STRIDE));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("guest_trace_ring");
    TCase *tc = tcase_create("trace_ring");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, every_record_arrives_in_order);
    tcase_add_test(tc, full_ring_waits_never_drops);
    tcase_add_loop_test(tc, wrong_identity_is_refused, 0,
                        (int)(sizeof(refusals) / sizeof(refusals[0])));
    tcase_add_test(tc, largest_fitting_capacity_is_accepted);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
