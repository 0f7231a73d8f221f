/*
 * Unit tests of the live-validation driver (vmm/validate.c) against a
 * simulated guest: streams from the validator's stream builder written into
 * trace rings in a buffer while the drain thread runs, with fake machine
 * hooks (pause, inspect, stop, exit counts). Checks verdicts, exit status
 * 7, the attach/checkpoint hypercall rules, gap and corruption handling,
 * the --check-every confirmation rule, --report and --events-out (re-judged
 * by the offline validator).
 */
#include <check.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check_main.h"
#include "stream_builder.h"
#include "validate.h"
#include "abi/tlb_event_codec.h"
#include "abi/vmm.h"

#define CAP 256u
#define STRIDE (VMM_TRACE_RING_HEADER_SIZE + CAP * TLB_EVENT_RECORD_SIZE)
#define BASE 0x10000ull

/* One address space: root R -> L3 -> L2 -> L1; L1[i] maps VA i * 4 KiB. */
#define R  0x100000ull
#define L3 0x101000ull
#define L2 0x102000ull
#define L1 0x103000ull
#define F  0x200000ull
#define VA(i) ((uint64_t)(i) * 4096)

struct fake {
    int stop_status;            /* -1 until stop is requested */
    unsigned stops, pauses, resumes, inspects;
    int last_self;
    int inspect_mode;           /* 0 clean, 1 mismatch on the first call only, 2 always */
    bool check_written, written_checked;
    uint64_t exits;
};

static bool f_pause(void *ctx, int self)
{
    struct fake *f = ctx;
    __atomic_add_fetch(&f->pauses, 1, __ATOMIC_SEQ_CST);
    f->last_self = self;
    return true;
}

static void f_resume(void *ctx)
{
    struct fake *f = ctx;
    __atomic_add_fetch(&f->resumes, 1, __ATOMIC_SEQ_CST);
}

/* Each inspection reports 3 entries compared and 1 unmodelled. */
#define F_COMPARED 3
#define F_UNMODELLED 1

static size_t f_inspect(void *ctx, const struct tlb_validator *val,
                        const struct vmm_pa_set *written, struct vmm_mismatch *out, size_t max,
                        struct vmm_inspect_counts *counts)
{
    struct fake *f = ctx;
    unsigned n = __atomic_add_fetch(&f->inspects, 1, __ATOMIC_SEQ_CST);

    (void)val;
    *counts = (struct vmm_inspect_counts){ F_COMPARED, F_UNMODELLED };
    if (f->check_written) {
        /* Every event was fed: the entries the stream stored to (build_t1). */
        ck_assert(vmm_pa_set_has(written, L1 + 8 * 5));
        ck_assert(vmm_pa_set_has(written, R + 8 * 0));
        ck_assert(!vmm_pa_set_has(written, L1 + 8 * 6));
        f->written_checked = true;
    }
    if (f->inspect_mode == 0 || (f->inspect_mode == 1 && n > 1) || max == 0)
        return 0;
    out[0] = (struct vmm_mismatch){ 1, L1, 5, 1, 0x1234, 0, "L1 node entry 5: simulated" };
    return 1;
}

static void f_stop(void *ctx, int status)
{
    struct fake *f = ctx;
    __atomic_store_n(&f->stop_status, status, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&f->stops, 1, __ATOMIC_SEQ_CST);
}

static void f_exits(void *ctx, struct vmm_exit_counts *out)
{
    struct fake *f = ctx;
    uint64_t n = __atomic_add_fetch(&f->exits, 1, __ATOMIC_SEQ_CST);

    *out = (struct vmm_exit_counts){ n, { n, 0, 0, 0 } };
}

struct rig {
    struct fake f;
    struct vmm_trace_layout l;
    uint64_t mem;
    uint8_t *ram;
    struct vmm_validate *v;
    char report[64], events[64];
};

static void rig_init(struct rig *g, unsigned cpus, const struct vmm_validate_opts *o_in)
{
    struct vmm_validate_opts o = o_in ? *o_in : (struct vmm_validate_opts){ 0 };
    struct vmm_validate_hooks h = { &g->f, f_pause, f_resume, f_inspect, f_stop, f_exits };
    char err[256];
    int fd;

    memset(g, 0, sizeof(*g));
    g->f.stop_status = -1;
    g->l = (struct vmm_trace_layout){ BASE, (uint64_t)STRIDE * cpus, STRIDE, cpus, CAP };
    g->mem = BASE + g->l.size;
    g->ram = calloc(1, g->mem);
    strcpy(g->report, "/tmp/vmm_live_reportXXXXXX");
    strcpy(g->events, "/tmp/vmm_live_eventsXXXXXX");
    fd = mkstemp(g->report);
    close(fd);
    fd = mkstemp(g->events);
    close(fd);
    o.report_path = g->report;
    o.events_out_path = g->events;
    vmm_trace_rings_init(g->ram, &g->l);
    g->v = vmm_validate_create(&o, g->ram, g->mem, &g->l, &h, err, sizeof(err));
    ck_assert_msg(g->v, "%s", err);
}

static void rig_free(struct rig *g)
{
    vmm_validate_destroy(g->v);
    unlink(g->report);
    unlink(g->events);
    free(g->ram);
}

/* The guest's producer (abi/trace_ring.h). */
static void produce(struct rig *g, const struct tlb_event *ev)
{
    struct vmm_trace_ring *h = (struct vmm_trace_ring *)(g->ram + BASE + ev->cpu * STRIDE);
    uint64_t head = __atomic_load_n(&h->head, __ATOMIC_RELAXED);
    struct timespec t0, now;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (head - __atomic_load_n(&h->tail, __ATOMIC_ACQUIRE) >= CAP) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        ck_assert_msg(now.tv_sec - t0.tv_sec < 10, "ring %u stays full", ev->cpu);
        sched_yield();
    }
    tlb_event_encode(ev, g->ram + BASE + ev->cpu * STRIDE + VMM_TRACE_RING_HEADER_SIZE +
                             (head % CAP) * TLB_EVENT_RECORD_SIZE);
    __atomic_store_n(&h->head, head + 1, __ATOMIC_RELEASE);
}

static void produce_all(struct rig *g, const struct sb *b, uint64_t skip_seq)
{
    for (size_t i = 0; i < b->n; i++)
        if (b->ev[i].seq != skip_seq)
            produce(g, &b->ev[i]);
}

/* Two CPUs share R; CPU 0 unmaps VA 5 and (bug) frees F before the shootdown. */
static void build_t1(struct sb *b, bool bug)
{
    uint64_t d;

    sb_init(b, 2);
    sb_store(b, 0, R, R, 4, 0, sb_table(L3));
    sb_store(b, 0, R, L3, 3, 0, sb_table(L2));
    sb_store(b, 0, R, L2, 2, 0, sb_table(L1));
    for (uint32_t c = 0; c < 2; c++) {
        sb_activate(b, c, R, true);
        sb_cr3(b, c, R, 0, false);
    }
    sb_store(b, 0, R, L1, 1, 5, sb_leaf(F, true, false));
    sb_op(b, 0, R, true, TLB_OP_UNMAP, VA(5), VA(6));
    sb_store(b, 0, R, L1, 1, 5, 0);
    if (bug)
        sb_free_frame(b, 0, F, 1);
    d = sb_dispatch(b, 0, R, 3, TLB_FLUSH_SINGLE, VA(5), 1);
    sb_invlpg(b, 0, VA(5));
    sb_invlpg(b, 1, VA(5));
    sb_remote_done(b, 1, 0, d);
    sb_sync(b, 0, 2, d);
    if (!bug)
        sb_free_frame(b, 0, F, 1);
    sb_op(b, 0, R, false, TLB_OP_UNMAP, VA(5), VA(6));
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;

    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = calloc(1, *len + 1);
    ck_assert_uint_eq(fread(buf, 1, *len, f), *len);
    fclose(f);
    return buf;
}

/* The --events-out file, judged again offline (tlbcheck --adopt). */
static enum tlb_verdict rejudge(const struct rig *g, uint64_t *events)
{
    struct tlb_validator_options o = tlb_validator_default_options(1);
    struct tlb_validator *val = NULL;
    size_t len;
    char *bytes = slurp(g->events, &len);
    enum tlb_verdict r;

    o.adopt_unknown_entries = true;
    r = tlb_validate_bytes((const uint8_t *)bytes, len, &o, &val);
    ck_assert_ptr_nonnull(val);
    *events = tlb_validator_events(val);
    tlb_validator_destroy(val);
    free(bytes);
    return r;
}

static void wait_for_stop(struct rig *g)
{
    for (int i = 0; i < 1000 && __atomic_load_n(&g->f.stops, __ATOMIC_SEQ_CST) == 0; i++)
        usleep(5000);
}

START_TEST(clean_stream_passes)
{
    struct rig g;
    struct sb b;
    struct vmm_validate_stats st;
    int status = VMM_EXIT_PASSED;
    uint64_t n;

    build_t1(&b, false);
    rig_init(&g, 2, NULL);
    ck_assert_int_eq(vmm_validate_attach(g.v, 0, 2, 0), 0);
    produce_all(&g, &b, 0);
    vmm_validate_end(g.v, true, &status);
    vmm_validate_get_stats(g.v, &st);
    ck_assert_int_eq(status, VMM_EXIT_PASSED);
    ck_assert_uint_eq(st.events, b.n);
    ck_assert_uint_eq(st.violations, 0);
    ck_assert_uint_eq(st.flushes[TLB_FLUSH_SINGLE], 2);
    ck_assert_uint_eq(st.dispatches, 1);
    ck_assert(st.attached && !st.failed);
    ck_assert_uint_eq(g.f.stops, 0);
    ck_assert_int_eq(rejudge(&g, &n), TLB_VERDICT_OK);
    ck_assert_uint_eq(n, b.n);
    rig_free(&g);
    sb_free(&b);
}
END_TEST

START_TEST(violation_stops_with_status_7)
{
    struct rig g;
    struct sb b;
    struct vmm_validate_stats st;
    int status = VMM_EXIT_PASSED;
    size_t len;
    char *rep;
    uint64_t n;

    build_t1(&b, true);
    rig_init(&g, 2, NULL);
    ck_assert_int_eq(vmm_validate_attach(g.v, 1, 2, 0), 0);
    produce_all(&g, &b, 0);
    wait_for_stop(&g);
    ck_assert_int_eq(g.f.stop_status, VMM_EXIT_VALIDATION);
    vmm_validate_end(g.v, true, &status);
    vmm_validate_get_stats(g.v, &st);
    ck_assert_int_eq(status, VMM_EXIT_VALIDATION);
    ck_assert_uint_ge(st.violations, 1);
    rep = slurp(g.report, &len);
    ck_assert_msg(strstr(rep, "\"failure\":\"violation\""), "%s", rep);
    ck_assert_msg(strstr(rep, "\"class\":\"T1\"") || strstr(rep, "T1"), "%s", rep);
    ck_assert_msg(strstr(rep, "\"verdict\":\"failed\""), "%s", rep);
    free(rep);
    /* The stream stops where the validator stopped; offline it gives the same verdict. */
    ck_assert_int_eq(rejudge(&g, &n), TLB_VERDICT_VIOLATION);
    rig_free(&g);
    sb_free(&b);
}
END_TEST

START_TEST(attach_rules)
{
    struct rig g;
    bool stop;
    int status = VMM_EXIT_PASSED;

    rig_init(&g, 2, NULL);
    ck_assert_int_eq(vmm_validate_checkpoint(g.v, 0, 1, 0, &stop), -VMM_EINVAL);
    ck_assert_int_eq(vmm_validate_attach(g.v, 0, 3, 0), -VMM_EINVAL);
    ck_assert_int_eq(vmm_validate_attach(g.v, 0, 2, 1), -VMM_EINVAL);
    ck_assert_int_eq(vmm_validate_attach(g.v, 0, 2, 0), 0);
    ck_assert_int_eq(vmm_validate_attach(g.v, 1, 2, 0), -VMM_EINVAL);
    vmm_validate_end(g.v, true, &status);
    ck_assert_int_eq(status, VMM_EXIT_PASSED);
    rig_free(&g);
}
END_TEST

START_TEST(never_attached_is_not_validated)
{
    struct rig g;
    struct vmm_validate_stats st;
    int status = VMM_EXIT_GUEST_FAILED;

    rig_init(&g, 1, NULL);
    vmm_validate_end(g.v, true, &status);
    vmm_validate_get_stats(g.v, &st);
    ck_assert_int_eq(status, VMM_EXIT_GUEST_FAILED);
    ck_assert(!st.attached);
    rig_free(&g);
}
END_TEST

START_TEST(checkpoint_passes_and_pauses)
{
    struct rig g;
    struct sb b;
    struct vmm_validate_stats st;
    bool stop = true;
    int status = VMM_EXIT_PASSED;
    size_t len;
    char *rep, want[96];

    build_t1(&b, false);
    rig_init(&g, 2, NULL);
    g.f.check_written = true;
    ck_assert_int_eq(vmm_validate_attach(g.v, 0, 2, 0), 0);
    produce_all(&g, &b, 0);
    ck_assert_int_eq(vmm_validate_checkpoint(g.v, 1, b.seq, 42, &stop), 0);
    ck_assert(!stop);
    ck_assert(g.f.written_checked);
    ck_assert_int_eq(g.f.last_self, 1);
    ck_assert_uint_ge(g.f.inspects, 1);
    ck_assert_uint_eq(g.f.pauses, g.f.resumes);
    vmm_validate_end(g.v, true, &status);
    vmm_validate_get_stats(g.v, &st);
    ck_assert_int_eq(status, VMM_EXIT_PASSED);
    ck_assert_uint_eq(st.checkpoints_passed, 2);     /* the guest's and the exit's */
    /* The entries every inspection compared are summed. */
    ck_assert_uint_eq(st.entries.compared, F_COMPARED * g.f.inspects);
    ck_assert_uint_eq(st.entries.unmodelled, F_UNMODELLED * g.f.inspects);
    rep = slurp(g.report, &len);
    snprintf(want, sizeof(want), "\"entries_compared\":%u,\"entries_unmodelled\":%u",
             F_COMPARED * g.f.inspects, F_UNMODELLED * g.f.inspects);
    ck_assert_msg(strstr(rep, want), "%s", rep);
    free(rep);
    rig_free(&g);
    sb_free(&b);
}
END_TEST

START_TEST(checkpoint_missing_events_fails)
{
    struct rig g;
    struct sb b;
    bool stop = false;
    int status = VMM_EXIT_PASSED;
    size_t len;
    char *rep;

    build_t1(&b, false);
    rig_init(&g, 2, NULL);
    ck_assert_int_eq(vmm_validate_attach(g.v, 0, 2, 0), 0);
    produce_all(&g, &b, 0);
    ck_assert_int_eq(vmm_validate_checkpoint(g.v, 0, b.seq + 5, 7, &stop), 0);
    ck_assert(stop);
    vmm_validate_end(g.v, true, &status);
    ck_assert_int_eq(status, VMM_EXIT_VALIDATION);
    rep = slurp(g.report, &len);
    ck_assert_msg(strstr(rep, "never arrived"), "%s", rep);
    free(rep);
    rig_free(&g);
    sb_free(&b);
}
END_TEST

START_TEST(checkpoint_mismatch_fails)
{
    struct rig g;
    struct sb b;
    bool stop = false;
    int status = VMM_EXIT_PASSED;
    size_t len;
    char *rep;

    build_t1(&b, false);
    rig_init(&g, 2, NULL);
    g.f.inspect_mode = 2;
    ck_assert_int_eq(vmm_validate_attach(g.v, 0, 2, 0), 0);
    produce_all(&g, &b, 0);
    ck_assert_int_eq(vmm_validate_checkpoint(g.v, 0, b.seq, 3, &stop), 0);
    ck_assert(stop);
    vmm_validate_end(g.v, true, &status);
    ck_assert_int_eq(status, VMM_EXIT_VALIDATION);
    rep = slurp(g.report, &len);
    ck_assert_msg(strstr(rep, "\"failure\":\"inspection\""), "%s", rep);
    ck_assert_msg(strstr(rep, "\"index\":5"), "%s", rep);
    free(rep);
    rig_free(&g);
    sb_free(&b);
}
END_TEST

/* A guest that took a number and never wrote its record, then stopped. */
START_TEST(gap_at_end_is_reported_without_hanging)
{
    struct rig g;
    struct sb b;
    int status = VMM_EXIT_PASSED;
    size_t len;
    char *rep;

    build_t1(&b, false);
    rig_init(&g, 2, NULL);
    ck_assert_int_eq(vmm_validate_attach(g.v, 0, 2, 0), 0);
    produce_all(&g, &b, 6);
    vmm_validate_end(g.v, true, &status);
    ck_assert_int_eq(status, VMM_EXIT_VALIDATION);
    rep = slurp(g.report, &len);
    ck_assert_msg(strstr(rep, "seq 6 never arrived"), "%s", rep);
    ck_assert_msg(strstr(rep, "\"failure\":\"corrupt-ring\""), "%s", rep);
    free(rep);
    rig_free(&g);
    sb_free(&b);
}
END_TEST

START_TEST(gap_after_a_crash_is_only_noted)
{
    struct rig g;
    struct sb b;
    int status = VMM_EXIT_GUEST_CRASH;

    build_t1(&b, false);
    rig_init(&g, 2, NULL);
    ck_assert_int_eq(vmm_validate_attach(g.v, 0, 2, 0), 0);
    produce_all(&g, &b, 6);
    vmm_validate_end(g.v, false, &status);
    ck_assert_int_eq(status, VMM_EXIT_GUEST_CRASH);
    rig_free(&g);
    sb_free(&b);
}
END_TEST

START_TEST(corrupt_ring_stops_the_run)
{
    struct rig g;
    struct sb b;
    struct tlb_event bad;
    int status = VMM_EXIT_PASSED;
    size_t len;
    char *rep;

    build_t1(&b, false);
    rig_init(&g, 2, NULL);
    ck_assert_int_eq(vmm_validate_attach(g.v, 0, 2, 0), 0);
    for (size_t i = 0; i < 4; i++)
        produce(&g, &b.ev[i]);
    bad = b.ev[4];
    bad.cpu = 1;
    bad.type = TLB_EV_FRAME_REF;
    bad.sub = 3;                      /* reserved bits set */
    produce(&g, &bad);
    wait_for_stop(&g);
    ck_assert_int_eq(g.f.stop_status, VMM_EXIT_VALIDATION);
    vmm_validate_end(g.v, true, &status);
    ck_assert_int_eq(status, VMM_EXIT_VALIDATION);
    rep = slurp(g.report, &len);
    ck_assert_msg(strstr(rep, "\"ring\":{\"ring\":1,\"record\":0"), "%s", rep);
    free(rep);
    rig_free(&g);
    sb_free(&b);
}
END_TEST

static void periodic(int mode, int want_status)
{
    struct rig g;
    struct sb b;
    struct vmm_validate_opts o = { .check_every = 1 };
    int status = VMM_EXIT_PASSED;

    build_t1(&b, false);
    rig_init(&g, 2, &o);
    g.f.inspect_mode = mode;
    ck_assert_int_eq(vmm_validate_attach(g.v, 0, 2, 0), 0);
    produce_all(&g, &b, 0);
    for (int i = 0; i < 400 && __atomic_load_n(&g.f.inspects, __ATOMIC_SEQ_CST) < 2; i++)
        usleep(5000);
    ck_assert_uint_ge(g.f.inspects, 2);
    vmm_validate_end(g.v, true, &status);
    ck_assert_int_eq(status, want_status);
    ck_assert_uint_eq(g.f.pauses, g.f.resumes);
    rig_free(&g);
    sb_free(&b);
}

START_TEST(periodic_transient_mismatch_is_not_reported)
{
    periodic(1, VMM_EXIT_PASSED);
}
END_TEST

START_TEST(periodic_persistent_mismatch_is_reported)
{
    periodic(2, VMM_EXIT_VALIDATION);
}
END_TEST

CHECK_PROGRAM_ONE_TCASE("vmm_live_validate", "driver", 60,
                        clean_stream_passes, violation_stops_with_status_7, attach_rules,
                        never_attached_is_not_validated, checkpoint_passes_and_pauses,
                        checkpoint_missing_events_fails, checkpoint_mismatch_fails,
                        gap_at_end_is_reported_without_hanging, gap_after_a_crash_is_only_noted,
                        corrupt_ring_stops_the_run, periodic_transient_mismatch_is_not_reported,
                        periodic_persistent_mismatch_is_reported)
