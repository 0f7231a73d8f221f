/*
 * Unit tests of the trace-ring consumer and the seq merge (vmm/trace_ring.c,
 * vmm/trace_merge.c) against simulated producers: threads that write rings
 * in a buffer by the protocol of abi/trace_ring.h, including the
 * interrupt-style reordering it allows, and a hostile producer that commits
 * every corruption the consumer must report.
 */
#include <check.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "trace_merge.h"
#include "trace_ring.h"
#include "abi/tlb_event_codec.h"

#define CAP 256u
#define STRIDE (VMM_TRACE_RING_HEADER_SIZE + CAP * TLB_EVENT_RECORD_SIZE)

static struct vmm_trace_layout small_layout(unsigned rings)
{
    return (struct vmm_trace_layout){ 0, (uint64_t)STRIDE * rings, STRIDE, rings, CAP };
}

static struct vmm_trace_ring *hdr(uint8_t *ram, unsigned i)
{
    return (struct vmm_trace_ring *)(ram + (size_t)i * STRIDE);
}

/* The guest's producer, as abi/trace_ring.h describes it. */
static void produce(uint8_t *ram, unsigned ring, const struct tlb_event *ev)
{
    struct vmm_trace_ring *h = hdr(ram, ring);
    uint64_t head = __atomic_load_n(&h->head, __ATOMIC_RELAXED);

    while (head - __atomic_load_n(&h->tail, __ATOMIC_ACQUIRE) >= CAP)
        sched_yield();      /* full: wait, never drop */
    tlb_event_encode(ev, ram + (size_t)ring * STRIDE + VMM_TRACE_RING_HEADER_SIZE +
                             (head % CAP) * TLB_EVENT_RECORD_SIZE);
    __atomic_store_n(&h->head, head + 1, __ATOMIC_RELEASE);
}

static struct tlb_event ref_event(uint64_t seq, uint32_t cpu)
{
    struct tlb_event e;

    memset(&e, 0, sizeof(e));
    e.seq = seq;
    e.cpu = cpu;
    e.type = TLB_EV_FRAME_REF;
    e.u.ref.pa = (seq & 0xffff) << 12;
    e.u.ref.old_ref = seq;
    e.u.ref.new_ref = seq * 3;
    return e;
}

/* ---- layout and headers --------------------------------------------------- */

START_TEST(layout_default_and_small)
{
    struct vmm_trace_layout l;
    char err[256];

    ck_assert_int_eq(vmm_trace_layout_compute(128ull << 20, 4, 2ull << 20, &l, err, sizeof(err)), 0);
    ck_assert_uint_eq(l.capacity, VMM_TRACE_MAX_CAPACITY);
    ck_assert_uint_eq(l.count, 4);
    ck_assert_uint_eq(l.base + l.size, 128ull << 20);
    ck_assert_uint_eq(l.base % 4096, 0);
    ck_assert_uint_eq(l.stride % 4096, 0);
    ck_assert_uint_ge(l.stride, VMM_TRACE_RING_HEADER_SIZE + (uint64_t)l.capacity * 48);

    /* 16 MiB and 64 CPUs: the capacity shrinks, still a power of two. */
    ck_assert_int_eq(vmm_trace_layout_compute(16ull << 20, 64, 2ull << 20, &l, err, sizeof(err)), 0);
    ck_assert_uint_lt(l.capacity, VMM_TRACE_MAX_CAPACITY);
    ck_assert_uint_ge(l.capacity, VMM_TRACE_MIN_CAPACITY);
    ck_assert_uint_eq(l.capacity & (l.capacity - 1), 0);
    ck_assert_uint_le(l.size, (16ull << 20) / VMM_TRACE_RAM_SHARE);

    /* A kernel reaching the top of RAM leaves no room. */
    ck_assert_int_eq(vmm_trace_layout_compute(16ull << 20, 4, (16ull << 20) - 4096, &l, err,
                                              sizeof(err)), -1);
    ck_assert_msg(strstr(err, "no room for 4 trace rings"), "%s", err);
}
END_TEST

START_TEST(headers_written)
{
    struct vmm_trace_layout l = small_layout(3);
    uint8_t *ram = calloc(1, l.size);

    memset(ram, 0xa5, l.size);
    vmm_trace_rings_init(ram, &l);
    for (unsigned i = 0; i < 3; i++) {
        struct vmm_trace_ring *h = hdr(ram, i);
        ck_assert_uint_eq(h->magic, VMM_TRACE_RING_MAGIC);
        ck_assert_uint_eq(h->version, VMM_TRACE_RING_VERSION);
        ck_assert_uint_eq(h->record_size, TLB_EVENT_RECORD_SIZE);
        ck_assert_uint_eq(h->cpu, i);
        ck_assert_uint_eq(h->capacity, CAP);
        ck_assert_uint_eq(h->head, 0);
        ck_assert_uint_eq(h->tail, 0);
        ck_assert_uint_eq(h->reserved0[5], 0);
    }
    free(ram);
}
END_TEST

/* ---- concurrent producers --------------------------------------------------- */

#define PRODUCERS 4
#define PER_PRODUCER 60000u

struct prod_arg {
    uint8_t *ram;
    unsigned cpu;
    uint64_t *counter;
};

/* Every 8th time, takes two numbers and writes the later one first: what an
 * interrupt handler does between the taking of a number and the write. */
static void *producer(void *p)
{
    struct prod_arg *a = p;
    unsigned written = 0, k = 0;

    while (written < PER_PRODUCER) {
        if (++k % 8 == 0 && written + 2 <= PER_PRODUCER) {
            uint64_t s1 = __atomic_fetch_add(a->counter, 1, __ATOMIC_SEQ_CST);
            uint64_t s2 = __atomic_fetch_add(a->counter, 1, __ATOMIC_SEQ_CST);
            struct tlb_event e2 = ref_event(s2, a->cpu), e1 = ref_event(s1, a->cpu);
            produce(a->ram, a->cpu, &e2);
            produce(a->ram, a->cpu, &e1);
            written += 2;
        } else {
            struct tlb_event e = ref_event(__atomic_fetch_add(a->counter, 1, __ATOMIC_SEQ_CST),
                                           a->cpu);
            produce(a->ram, a->cpu, &e);
            written++;
        }
    }
    return NULL;
}

START_TEST(concurrent_producers_merge_in_order)
{
    struct vmm_trace_layout l = small_layout(PRODUCERS);
    uint8_t *ram = calloc(1, l.size);
    struct vmm_ring_reader r[PRODUCERS];
    struct prod_arg args[PRODUCERS];
    pthread_t th[PRODUCERS];
    struct vmm_merge m;
    struct tlb_event buf[64];
    struct vmm_ring_error e;
    uint64_t counter = 0, expect = 0;
    const uint64_t total = (uint64_t)PRODUCERS * PER_PRODUCER;

    vmm_trace_rings_init(ram, &l);
    vmm_merge_init(&m);
    for (unsigned i = 0; i < PRODUCERS; i++) {
        vmm_ring_reader_init(&r[i], ram + i * STRIDE, i, CAP, PRODUCERS);
        args[i] = (struct prod_arg){ ram, i, &counter };
        ck_assert_int_eq(pthread_create(&th[i], NULL, producer, &args[i]), 0);
    }
    while (expect < total) {
        struct vmm_merge_item it;
        int rc;
        for (unsigned i = 0; i < PRODUCERS; i++) {
            size_t n;
            uint64_t first = r[i].tail;
            ck_assert_msg(vmm_ring_drain(&r[i], buf, 64, &n, &e) == 0, "ring %u: %s", i, e.what);
            for (size_t k = 0; k < n; k++)
                ck_assert_msg(vmm_merge_push(&m, &buf[k], i, first + k, &e) == 0, "%s", e.what);
        }
        while ((rc = vmm_merge_pop(&m, &it, &e)) == 1) {
            struct tlb_event want = ref_event(expect, it.ev.cpu);
            ck_assert_uint_eq(it.ev.seq, expect);
            ck_assert_int_eq(memcmp(&it.ev, &want, sizeof(want)), 0);
            expect++;
        }
        ck_assert_int_eq(rc, 0);
    }
    for (unsigned i = 0; i < PRODUCERS; i++)
        pthread_join(th[i], NULL);
    ck_assert_int_eq(vmm_merge_check_complete(&m, &e), 0);
    ck_assert_uint_eq(m.delivered, total);
    vmm_merge_free(&m);
    free(ram);
}
END_TEST

/* ---- the hostile producer ------------------------------------------------ */

struct one_ring {
    struct vmm_trace_layout l;
    uint8_t *ram;
    struct vmm_ring_reader r;
    struct tlb_event buf[CAP];
    struct vmm_ring_error e;
    size_t n;
};

static void one_ring_init(struct one_ring *o, unsigned rings)
{
    o->l = small_layout(rings);
    o->ram = calloc(1, o->l.size);
    vmm_trace_rings_init(o->ram, &o->l);
    vmm_ring_reader_init(&o->r, o->ram, 0, CAP, rings);
    memset(&o->e, 0, sizeof(o->e));
}

static int drain(struct one_ring *o)
{
    return vmm_ring_drain(&o->r, o->buf, CAP, &o->n, &o->e);
}

static void expect_error(struct one_ring *o, uint64_t index, const char *needle)
{
    ck_assert_int_eq(drain(o), -1);
    ck_assert_uint_eq(o->e.ring, 0);
    ck_assert_uint_eq(o->e.index, index);
    ck_assert_msg(strstr(o->e.what, needle), "'%s' lacks '%s'", o->e.what, needle);
}

START_TEST(hostile_head_backwards)
{
    struct one_ring o;

    one_ring_init(&o, 1);
    for (uint64_t s = 0; s < 5; s++) {
        struct tlb_event ev = ref_event(s, 0);
        produce(o.ram, 0, &ev);
    }
    ck_assert_int_eq(drain(&o), 0);
    ck_assert_uint_eq(o.n, 5);
    hdr(o.ram, 0)->head = 3;                /* below the tail we published */
    expect_error(&o, 3, "below the tail 5");
    free(o.ram);
}
END_TEST

START_TEST(hostile_head_backwards_unconsumed)
{
    struct one_ring o;

    one_ring_init(&o, 1);
    hdr(o.ram, 0)->head = 0;
    for (uint64_t s = 0; s < 3; s++) {
        struct tlb_event ev = ref_event(s, 0);
        produce(o.ram, 0, &ev);
    }
    o.r.last_head = 9;                      /* we saw 9 before, consumed 0 */
    expect_error(&o, 3, "head went backwards from 9 to 3");
    free(o.ram);
}
END_TEST

START_TEST(hostile_head_beyond_capacity)
{
    struct one_ring o;

    one_ring_init(&o, 1);
    hdr(o.ram, 0)->head = CAP + 7;
    expect_error(&o, CAP + 7, "more than a capacity ahead of the tail 0");
    free(o.ram);
}
END_TEST

START_TEST(hostile_garbage_record_keeps_good_prefix)
{
    struct one_ring o;
    struct tlb_event ev;

    one_ring_init(&o, 1);
    for (uint64_t s = 0; s < 3; s++) {
        ev = ref_event(s, 0);
        produce(o.ram, 0, &ev);
    }
    ev = ref_event(3, 0);
    ev.type = 0x7f;                          /* no such type */
    produce(o.ram, 0, &ev);
    ck_assert_int_eq(drain(&o), -1);
    ck_assert_uint_eq(o.n, 3);               /* the good prefix */
    ck_assert_uint_eq(o.e.index, 3);
    ck_assert_msg(strstr(o.e.what, "garbage record"), "%s", o.e.what);
    ck_assert_uint_eq(hdr(o.ram, 0)->tail, 3);
    free(o.ram);
}
END_TEST

START_TEST(hostile_reserved_bits)
{
    struct one_ring o;
    struct tlb_event ev = ref_event(0, 0);

    one_ring_init(&o, 1);
    ev.sub = 1;                               /* reserved for FRAME_REF */
    produce(o.ram, 0, &ev);
    expect_error(&o, 0, "garbage record");
    free(o.ram);
}
END_TEST

START_TEST(hostile_wrong_cpu)
{
    struct one_ring o;
    struct tlb_event ev = ref_event(0, 1);   /* CPU 1's record in ring 0 */

    one_ring_init(&o, 2);
    produce(o.ram, 0, &ev);
    expect_error(&o, 0, "names cpu 1");
    free(o.ram);
}
END_TEST

START_TEST(hostile_cpu_out_of_range)
{
    struct one_ring o;
    struct tlb_event ev = ref_event(0, 5);   /* only 2 CPUs */

    one_ring_init(&o, 2);
    produce(o.ram, 0, &ev);
    expect_error(&o, 0, "garbage record");
    free(o.ram);
}
END_TEST

START_TEST(hostile_identity_overwritten)
{
    struct one_ring o;

    one_ring_init(&o, 1);
    hdr(o.ram, 0)->capacity = CAP * 2;
    expect_error(&o, 0, "identity header");
    free(o.ram);
}
END_TEST

START_TEST(hostile_duplicate_across_rings)
{
    struct vmm_merge m;
    struct vmm_merge_item it;
    struct vmm_ring_error e;
    struct tlb_event a = ref_event(0, 0), b = ref_event(1, 0), c = ref_event(1, 1);

    vmm_merge_init(&m);
    ck_assert_int_eq(vmm_merge_push(&m, &a, 0, 0, &e), 0);
    ck_assert_int_eq(vmm_merge_push(&m, &b, 0, 1, &e), 0);
    ck_assert_int_eq(vmm_merge_push(&m, &c, 1, 0, &e), 0);
    ck_assert_int_eq(vmm_merge_pop(&m, &it, &e), 1);
    ck_assert_int_eq(vmm_merge_pop(&m, &it, &e), -1);
    ck_assert_msg(strstr(e.what, "duplicate seq 1"), "%s", e.what);
    /* The report names the other copy's ring and record too. */
    ck_assert_msg(strstr(e.what, "of ring"), "%s", e.what);
    vmm_merge_free(&m);
}
END_TEST

START_TEST(hostile_duplicate_after_delivery)
{
    struct vmm_merge m;
    struct vmm_merge_item it;
    struct vmm_ring_error e;
    struct tlb_event a = ref_event(0, 0), b = ref_event(1, 0);

    vmm_merge_init(&m);
    ck_assert_int_eq(vmm_merge_push(&m, &a, 0, 0, &e), 0);
    ck_assert_int_eq(vmm_merge_push(&m, &b, 0, 1, &e), 0);
    ck_assert_int_eq(vmm_merge_pop(&m, &it, &e), 1);
    ck_assert_int_eq(vmm_merge_pop(&m, &it, &e), 1);
    ck_assert_int_eq(vmm_merge_push(&m, &a, 1, 7, &e), -1);
    ck_assert_uint_eq(e.ring, 1);
    ck_assert_uint_eq(e.index, 7);
    ck_assert_msg(strstr(e.what, "duplicate seq 0"), "%s", e.what);
    vmm_merge_free(&m);
}
END_TEST

START_TEST(hostile_gap_when_stopped)
{
    struct vmm_merge m;
    struct vmm_merge_item it;
    struct vmm_ring_error e;
    struct tlb_event a = ref_event(10, 0), b = ref_event(11, 1), c = ref_event(13, 1);

    vmm_merge_init(&m);
    ck_assert_int_eq(vmm_merge_push(&m, &c, 1, 1, &e), 0);
    ck_assert_int_eq(vmm_merge_push(&m, &b, 1, 0, &e), 0);
    ck_assert_int_eq(vmm_merge_push(&m, &a, 0, 0, &e), 0);
    ck_assert_int_eq(vmm_merge_pop(&m, &it, &e), 0);     /* not started: start unknown */
    vmm_merge_start(&m);
    ck_assert_int_eq(vmm_merge_pop(&m, &it, &e), 1);
    ck_assert_uint_eq(it.ev.seq, 10);
    ck_assert_int_eq(vmm_merge_pop(&m, &it, &e), 1);
    ck_assert_int_eq(vmm_merge_pop(&m, &it, &e), 0);     /* waits for 12 */
    ck_assert_int_eq(vmm_merge_check_complete(&m, &e), -1);
    ck_assert_uint_eq(e.ring, 1);
    ck_assert_uint_eq(e.index, 1);
    ck_assert_msg(strstr(e.what, "seq 12 never arrived"), "%s", e.what);
    vmm_merge_free(&m);
}
END_TEST

START_TEST(hostile_below_start)
{
    struct vmm_merge m;
    struct vmm_ring_error e;
    struct tlb_event a = ref_event(5, 0), b = ref_event(3, 1);

    vmm_merge_init(&m);
    ck_assert_int_eq(vmm_merge_push(&m, &a, 0, 0, &e), 0);
    vmm_merge_start(&m);
    ck_assert_int_eq(vmm_merge_push(&m, &b, 1, 0, &e), -1);
    ck_assert_msg(strstr(e.what, "below the start"), "%s", e.what);
    vmm_merge_free(&m);
}
END_TEST

START_TEST(seq_zero_starts_at_once)
{
    struct vmm_merge m;
    struct vmm_merge_item it;
    struct vmm_ring_error e;
    struct tlb_event a = ref_event(0, 0);

    vmm_merge_init(&m);
    ck_assert_int_eq(vmm_merge_push(&m, &a, 0, 0, &e), 0);
    ck_assert_int_eq(vmm_merge_pop(&m, &it, &e), 1);
    vmm_merge_free(&m);
}
END_TEST

CHECK_PROGRAM_ONE_TCASE("vmm_trace_ring", "ring", 120,
                        layout_default_and_small, headers_written,
                        concurrent_producers_merge_in_order, hostile_head_backwards,
                        hostile_head_backwards_unconsumed, hostile_head_beyond_capacity,
                        hostile_garbage_record_keeps_good_prefix, hostile_reserved_bits,
                        hostile_wrong_cpu, hostile_cpu_out_of_range, hostile_identity_overwritten,
                        hostile_duplicate_across_rings, hostile_duplicate_after_delivery,
                        hostile_gap_when_stopped, hostile_below_start, seq_zero_starts_at_once)
