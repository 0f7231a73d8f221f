/* The live-validation driver: drain thread, merge, feed, checkpoints, report;
 * see validate.h and docs/live-validation.md. */
#include "validate.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abi/tlb_event_codec.h"
#include "abi/vmm.h"
#include "out.h"

#define DRAIN_BATCH    4096u           /* records per ring per round */
#define HISTORY        (1u << 16)      /* events kept for reports */
#define START_GRACE_MS 50              /* see start_if_settled */
#define CONFIRM_MS     20              /* --check-every: how long vCPUs run on before a recheck */

enum fail_kind { FAIL_NONE, FAIL_VIOLATION, FAIL_CORRUPT, FAIL_BAD_STREAM, FAIL_INSPECT };

struct vmm_validate {
    struct vmm_validate_opts opt;
    struct vmm_validate_hooks hooks;
    uint8_t *ram;
    uint64_t mem;
    struct vmm_trace_layout layout;
    struct vmm_ring_reader *readers;
    struct vmm_merge merge;
    struct vmm_pa_set written;         /* entry addresses of every PTE_STORE fed */
    struct tlb_validator *val;
    struct tlb_event *buf;             /* one drain batch */
    struct tlb_event *history;         /* history[seq % HISTORY] */
    FILE *events_out, *report;
    pthread_mutex_t lock;              /* everything below and the validator */
    pthread_t thread;
    bool thread_started;
    bool attached, quit;               /* atomics */
    struct timespec t_attach, t_first;
    bool have_first;
    struct vmm_exit_counts exits_at_attach;
    uint64_t since_check;
    struct vmm_validate_stats st;
    enum fail_kind fail;
    size_t first_report;               /* index of the first violation report */
    struct vmm_ring_error corrupt;
    char fail_text[400];               /* the one-line cause, for --report */
    struct vmm_mismatch mism[VMM_MAX_MISMATCHES];
    size_t nmism;
};

static double ms_between(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) * 1e3 + (double)(b->tv_nsec - a->tv_nsec) / 1e6;
}

static void sleep_us(long us)
{
    struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* ---- failure reports ---------------------------------------------------- */

static void fail_once(struct vmm_validate *v, enum fail_kind k)
{
    if (v->fail == FAIL_NONE) {
        __atomic_store_n(&v->fail, k, __ATOMIC_RELEASE);
        v->st.failed = true;
        v->hooks.stop(v->hooks.ctx, VMM_EXIT_VALIDATION);
    }
}

static void report_corrupt(struct vmm_validate *v, const struct vmm_ring_error *e)
{
    if (v->fail != FAIL_NONE)
        return;
    v->corrupt = *e;
    snprintf(v->fail_text, sizeof(v->fail_text), "corrupt trace ring %u at record %" PRIu64
             ": %s", e->ring, e->index, e->what);
    vmm_errf("vmm: VALIDATION FAILED: corrupt trace ring %u (cpu %u) at record %" PRIu64
             " (slot %" PRIu64 "): %s\n", e->ring, e->ring, e->index,
             e->index & (v->layout.capacity - 1), e->what);
    fail_once(v, FAIL_CORRUPT);
}

static void print_history_event(struct vmm_validate *v, const char *role, uint64_t seq)
{
    char line[TLB_EVENT_TEXT_MAX];
    const struct tlb_event *h = &v->history[seq % HISTORY];

    if (h->seq != seq || (seq == 0 && h->type == 0)) {
        vmm_errf("  %s event %" PRIu64 " (no longer in the last %u events)\n", role, seq,
                 HISTORY);
        return;
    }
    tlb_event_format(h, line, sizeof(line));
    vmm_errf("  %s %s\n", role, line);
}

/* Prints a validator report through vmm_errf (one lock, and the --log copy),
 * then, from the host's history, the events the report names only by number
 * (labelled as the report labels the others). */
static void print_report(struct vmm_validate *v, const struct tlb_report *r)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    if (f) {
        tlb_report_print_text(r, f);
        fclose(f);
        vmm_errf("vmm: VALIDATION FAILED: %s", text);
        free(text);
    }
    if (r->created_seq && !r->has_created_event)
        print_history_event(v, "created by: ", r->created_seq);
    if (r->missed_seq)
        print_history_event(v, "not discharged by:", r->missed_seq);
    if (!r->has_detected_event)
        print_history_event(v, "detected at:", r->detected_seq);
}

static void report_violation(struct vmm_validate *v, size_t before)
{
    size_t n = tlb_validator_report_count(v->val);

    for (size_t i = before; i < n; i++) {
        const struct tlb_report *r = tlb_validator_report(v->val, i);
        if (r->kind != TLB_REPORT_VIOLATION || v->fail != FAIL_NONE)
            continue;
        v->first_report = i;
        snprintf(v->fail_text, sizeof(v->fail_text), "%s (%s) on cpu %" PRIu32 " at va 0x%"
                 PRIx64 ", frame 0x%" PRIx64 ": %s", tlb_class_name(r->cls), r->rule, r->cpu,
                 r->va, r->frame, r->what);
        print_report(v, r);
        fail_once(v, FAIL_VIOLATION);
    }
}

static void report_bad_stream(struct vmm_validate *v, uint64_t seq)
{
    if (v->fail != FAIL_NONE)
        return;
    snprintf(v->fail_text, sizeof(v->fail_text), "the validator refused the stream: %s",
             tlb_validator_error(v->val) ? tlb_validator_error(v->val) : "?");
    vmm_errf("vmm: VALIDATION FAILED: %s\n", v->fail_text);
    print_history_event(v, "at:", seq);
    fail_once(v, FAIL_BAD_STREAM);
}

static void report_mismatches(struct vmm_validate *v, const char *where,
                              const struct vmm_mismatch *m, size_t n, size_t total)
{
    if (v->fail != FAIL_NONE)
        return;
    snprintf(v->fail_text, sizeof(v->fail_text), "%s: cpu %" PRIu32 ": %s", where, m[0].cpu,
             m[0].what);
    vmm_errf("vmm: VALIDATION FAILED: %s: guest memory disagrees with the model in %zu "
             "place%s\n", where, total, total == 1 ? "" : "s");
    for (size_t i = 0; i < n; i++)
        vmm_errf("  cpu %" PRIu32 ": %s\n", m[i].cpu, m[i].what);
    memcpy(v->mism, m, n * sizeof(*m));
    v->nmism = n;
    fail_once(v, FAIL_INSPECT);
}

/* ---- draining and feeding (v->lock held) -------------------------------- */

static void count(struct vmm_validate *v, const struct tlb_event *e)
{
    v->st.events++;
    if (e->type == TLB_EV_FLUSH && e->sub >= 1 && e->sub <= 4)
        v->st.flushes[e->sub]++;
    else if (e->type == TLB_EV_DISPATCH)
        v->st.dispatches++;
}

static void feed_one(struct vmm_validate *v, const struct tlb_event *e)
{
    size_t before = tlb_validator_report_count(v->val);
    enum tlb_verdict r;
    uint8_t raw[TLB_EVENT_RECORD_SIZE];

    v->history[e->seq % HISTORY] = *e;
    if (v->events_out) {
        tlb_event_encode(e, raw);
        fwrite(raw, 1, sizeof(raw), v->events_out);
    }
    count(v, e);
    v->since_check++;
    if (e->type == TLB_EV_PTE_STORE && e->arg < 512 &&
        !vmm_pa_set_add(&v->written, e->u.pte.node + 8ull * e->arg))
        vmm_errf("vmm: validation: out of memory recording page-table entries; checkpoints "
                 "may miss some\n");
    r = tlb_validator_feed(v->val, e);
    if (r == TLB_VERDICT_VIOLATION) {
        v->st.violations = tlb_validator_count(v->val, TLB_REPORT_VIOLATION);
        report_violation(v, before);
    } else if (r == TLB_VERDICT_BAD_INPUT) {
        report_bad_stream(v, e->seq);
    }
}

/* Once records exist and none arrived lower for a while, the smallest one is
 * the start (docs/live-validation.md "The start of the stream"). */
static void start_if_settled(struct vmm_validate *v)
{
    struct timespec now;

    if (v->merge.started || v->merge.count == 0)
        return;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (ms_between(&v->t_first, &now) >= START_GRACE_MS)
        vmm_merge_start(&v->merge);
}

/* Drains every ring once and feeds every record that is next in order.
 * Returns the number of records drained. */
static size_t pump(struct vmm_validate *v)
{
    size_t total = 0;
    struct vmm_ring_error e;
    struct vmm_merge_item it;
    int rc;

    if (v->fail != FAIL_NONE)
        return 0;
    for (uint32_t i = 0; i < v->layout.count && v->fail == FAIL_NONE; i++) {
        size_t n = 0;
        uint64_t first = v->readers[i].tail;
        int drc = vmm_ring_drain(&v->readers[i], v->buf, DRAIN_BATCH, &n, &e);
        for (size_t k = 0; k < n && v->fail == FAIL_NONE; k++)
            if (vmm_merge_push(&v->merge, &v->buf[k], i, first + k, &e) < 0)
                report_corrupt(v, &e);
        if (drc < 0)
            report_corrupt(v, &e);
        if (n && !v->have_first) {
            clock_gettime(CLOCK_MONOTONIC, &v->t_first);
            v->have_first = true;
        }
        total += n;
    }
    start_if_settled(v);
    while (v->fail == FAIL_NONE && (rc = vmm_merge_pop(&v->merge, &it, &e)) != 0) {
        if (rc < 0) {
            char a[256], b[256];
            report_corrupt(v, &e);
            tlb_event_format(&it.ev, a, sizeof(a));
            tlb_event_format(&v->merge.heap[0].ev, b, sizeof(b));
            vmm_errf("  first copy (ring %u record %" PRIu64 "): %s\n  second copy (ring %u "
                     "record %" PRIu64 "): %s\n", it.ring, it.index, a, v->merge.heap[0].ring,
                     v->merge.heap[0].index, b);
        } else
            feed_one(v, &it.ev);
    }
    return total;
}

/* Drains until the rings are empty (vCPUs paused or stopped). */
static void pump_all(struct vmm_validate *v)
{
    while (pump(v) > 0)
        ;
}

/* ---- checks --------------------------------------------------------------- */

static size_t inspect(struct vmm_validate *v, struct vmm_mismatch *m)
{
    struct vmm_inspect_counts c = { 0, 0 };
    size_t n;

    if (!v->merge.started || !v->hooks.inspect)
        return 0;
    n = v->hooks.inspect(v->hooks.ctx, v->val, &v->written, m, VMM_MAX_MISMATCHES, &c);
    v->st.entries.compared += c.compared;
    v->st.entries.unmodelled += c.unmodelled;
    return n;
}

static bool same_mismatch(const struct vmm_mismatch *a, const struct vmm_mismatch *b)
{
    return a->cpu == b->cpu && a->node == b->node && a->index == b->index &&
           a->guest == b->guest && a->model == b->model;
}

/*
 * --check-every: a PTE store and its event are not atomic with respect to
 * a host pause, so a mismatch seen now may be a store whose event is not
 * written yet. Report only a mismatch that is still there, unchanged, after
 * the vCPUs ran on for CONFIRM_MS and every ring was drained again.
 */
static void periodic_check(struct vmm_validate *v)
{
    struct vmm_mismatch a[VMM_MAX_MISMATCHES], b[VMM_MAX_MISMATCHES], keep[VMM_MAX_MISMATCHES];
    size_t na, nb, nkeep = 0;

    v->since_check = 0;
    if (!v->hooks.pause(v->hooks.ctx, -1))
        return;
    pthread_mutex_lock(&v->lock);
    pump_all(v);
    na = inspect(v, a);
    pthread_mutex_unlock(&v->lock);
    v->hooks.resume(v->hooks.ctx);
    if (na == 0 || __atomic_load_n(&v->fail, __ATOMIC_ACQUIRE) != FAIL_NONE) {
        pthread_mutex_lock(&v->lock);
        v->st.periodic_checks += na == 0;
        pthread_mutex_unlock(&v->lock);
        return;
    }
    sleep_us(CONFIRM_MS * 1000);
    if (!v->hooks.pause(v->hooks.ctx, -1))
        return;
    pthread_mutex_lock(&v->lock);
    pump_all(v);
    nb = inspect(v, b);
    for (size_t i = 0; i < nb && i < VMM_MAX_MISMATCHES; i++)
        for (size_t j = 0; j < na && j < VMM_MAX_MISMATCHES; j++)
            if (same_mismatch(&b[i], &a[j])) {
                keep[nkeep++] = b[i];
                break;
            }
    if (nkeep)
        report_mismatches(v, "periodic check (confirmed after the vCPUs ran on)", keep, nkeep,
                          nkeep);
    else
        v->st.periodic_checks++;
    pthread_mutex_unlock(&v->lock);
    v->hooks.resume(v->hooks.ctx);
}

static void *drain_thread(void *arg)
{
    struct vmm_validate *v = arg;
    long backoff = 50;

    while (!__atomic_load_n(&v->quit, __ATOMIC_ACQUIRE) &&
           __atomic_load_n(&v->fail, __ATOMIC_ACQUIRE) == FAIL_NONE) {
        size_t n;
        pthread_mutex_lock(&v->lock);
        n = pump(v);
        pthread_mutex_unlock(&v->lock);
        if (v->opt.check_every && v->since_check >= v->opt.check_every)
            periodic_check(v);
        if (n) {
            backoff = 50;
            continue;
        }
        sleep_us(backoff);         /* idle: back off up to 2 ms */
        if (backoff < 2000)
            backoff *= 2;
    }
    return NULL;
}

/* ---- public --------------------------------------------------------------- */

static FILE *open_out(const char *opt, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "wb");

    if (!f)
        snprintf(err, errlen, "%s: cannot open %s: %s", opt, path, strerror(errno));
    return f;
}

static int open_files(struct vmm_validate *v, char *err, size_t errlen)
{
    if (v->opt.events_out_path) {
        struct tlb_stream_header h = { TLB_STREAM_MAGIC, TLB_EVENT_VERSION,
                                       TLB_EVENT_RECORD_SIZE, v->layout.count, 0 };
        uint8_t raw[16];
        v->events_out = open_out("--events-out", v->opt.events_out_path, err, errlen);
        if (!v->events_out)
            return -1;
        tlb_stream_header_encode(&h, raw);
        fwrite(raw, 1, sizeof(raw), v->events_out);
    }
    if (v->opt.report_path) {
        v->report = open_out("--report", v->opt.report_path, err, errlen);
        if (!v->report)
            return -1;
    }
    return 0;
}

struct vmm_validate *vmm_validate_create(const struct vmm_validate_opts *opt, uint8_t *ram,
                                         uint64_t mem, const struct vmm_trace_layout *l,
                                         const struct vmm_validate_hooks *hooks,
                                         char *err, size_t errlen)
{
    struct vmm_validate *v = calloc(1, sizeof(*v));
    struct tlb_validator_options vo = tlb_validator_default_options(l->count);

    /* The guest attaches after its boot page tables exist: adopt them. */
    vo.adopt_unknown_entries = true;
    if (!v) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    v->opt = *opt;
    v->hooks = *hooks;
    v->ram = ram;
    v->mem = mem;
    v->layout = *l;
    pthread_mutex_init(&v->lock, NULL);
    vmm_merge_init(&v->merge);
    vmm_pa_set_init(&v->written);
    v->readers = calloc(l->count, sizeof(*v->readers));
    v->buf = calloc(DRAIN_BATCH, sizeof(*v->buf));
    v->history = calloc(HISTORY, sizeof(*v->history));
    v->val = tlb_validator_create(&vo);
    if (!v->readers || !v->buf || !v->history || !v->val) {
        snprintf(err, errlen, "out of memory");
        vmm_validate_destroy(v);
        return NULL;
    }
    for (uint32_t i = 0; i < l->count; i++)
        vmm_ring_reader_init(&v->readers[i], ram + l->base + i * l->stride, i, l->capacity,
                             l->count);
    if (open_files(v, err, errlen) < 0) {
        vmm_validate_destroy(v);
        return NULL;
    }
    return v;
}

int64_t vmm_validate_attach(struct vmm_validate *v, unsigned cpu, uint64_t nrings,
                            uint64_t flags)
{
    int64_t ret = 0;

    pthread_mutex_lock(&v->lock);
    if (nrings != v->layout.count || flags != 0 || v->st.attached) {
        vmm_errf("vmm: cpu %u: hypercall trace_attach(%" PRIu64 ", 0x%" PRIx64 "): %s; "
                 "returned -EINVAL\n", cpu, nrings, flags,
                 v->st.attached ? "the guest attached before"
                 : flags ? "flags must be 0" : "the ring count is not the FDT's ring-count");
        ret = -VMM_EINVAL;
    } else {
        v->st.attached = true;
        clock_gettime(CLOCK_MONOTONIC, &v->t_attach);
        v->hooks.exits(v->hooks.ctx, &v->exits_at_attach);
        if (pthread_create(&v->thread, NULL, drain_thread, v) == 0)
            v->thread_started = true;
        __atomic_store_n(&v->attached, true, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&v->lock);
    /* Without the thread, the rings are still drained at checkpoints and at
     * the end; a full ring then blocks the guest until one comes. */
    return ret;
}

int64_t vmm_validate_checkpoint(struct vmm_validate *v, unsigned cpu, uint64_t next_seq,
                                uint64_t label, bool *stop)
{
    struct vmm_mismatch m[VMM_MAX_MISMATCHES];
    char where[96];
    size_t n;

    *stop = false;
    if (!__atomic_load_n(&v->attached, __ATOMIC_ACQUIRE)) {
        vmm_errf("vmm: cpu %u: hypercall checkpoint: the guest has not attached its trace "
                 "rings; returned -EINVAL\n", cpu);
        return -VMM_EINVAL;
    }
    if (!v->hooks.pause(v->hooks.ctx, (int)cpu))
        return 0;
    pthread_mutex_lock(&v->lock);
    snprintf(where, sizeof(where), "checkpoint %" PRIu64 " (cpu %u, next seq %" PRIu64 ")",
             label, cpu, next_seq);
    pump_all(v);
    vmm_merge_start(&v->merge);      /* every CPU is at the barrier: nothing lower comes */
    pump_all(v);
    if (v->fail == FAIL_NONE && v->merge.started && v->merge.next < next_seq) {
        /* Name the first record that waits for the missing ones, else the
         * calling CPU's ring at its tail. */
        struct vmm_ring_error e = { cpu, v->readers[cpu].tail, "" };
        snprintf(e.what, sizeof(e.what), "%s: events %" PRIu64 "..%" PRIu64 " never arrived "
                 "although every CPU is stopped", where, v->merge.next, next_seq - 1);
        if (v->merge.count) {
            e.ring = v->merge.heap[0].ring;
            e.index = v->merge.heap[0].index;
        }
        report_corrupt(v, &e);
    }
    if (v->fail == FAIL_NONE) {
        n = inspect(v, m);
        if (n)
            report_mismatches(v, where, m, n < VMM_MAX_MISMATCHES ? n : VMM_MAX_MISMATCHES, n);
        else
            v->st.checkpoints_passed++;
    }
    *stop = v->fail != FAIL_NONE;
    pthread_mutex_unlock(&v->lock);
    v->hooks.resume(v->hooks.ctx);
    return 0;
}

static void end_checks(struct vmm_validate *v, bool clean_exit)
{
    struct vmm_ring_error e;
    struct vmm_mismatch m[VMM_MAX_MISMATCHES];
    size_t n;

    pump_all(v);
    vmm_merge_start(&v->merge);
    pump_all(v);
    if (v->fail != FAIL_NONE)
        return;
    if (vmm_merge_check_complete(&v->merge, &e) < 0) {
        if (clean_exit)
            report_corrupt(v, &e);
        else
            vmm_errf("vmm: validation: the run ended abruptly; %zu trace records wait behind "
                     "seq %" PRIu64 " and were not validated\n", v->merge.count, v->merge.next);
        return;
    }
    if (!clean_exit)
        return;
    if (tlb_validator_finish(v->val) == TLB_VERDICT_VIOLATION && v->fail == FAIL_NONE) {
        v->st.violations = tlb_validator_count(v->val, TLB_REPORT_VIOLATION);
        report_violation(v, 0);
    }
    if (v->fail == FAIL_NONE && (n = inspect(v, m)) > 0)
        report_mismatches(v, "guest exit", m, n < VMM_MAX_MISMATCHES ? n : VMM_MAX_MISMATCHES, n);
    else if (v->fail == FAIL_NONE && v->merge.started)
        v->st.checkpoints_passed++;
}

static void print_summary(struct vmm_validate *v)
{
    const struct vmm_validate_stats *s = &v->st;
    double per_k = s->events ? (double)s->exits.total * 1000.0 / (double)s->events : 0.0;

    vmm_outf("vmm: validation: %" PRIu64 " events; flushes %" PRIu64 " single, %" PRIu64
             " range, %" PRIu64 " all-nonglobal, %" PRIu64 " all-global; %" PRIu64
             " IPIs (dispatches); %" PRIu64 " checkpoints passed; %" PRIu64 " violations; %"
             PRIu64 " page-table entries compared, %" PRIu64 " unmodelled; %"
             PRIu64 " KVM exits (%.2f per 1000 events: %" PRIu64 " console, %" PRIu64
             " hypercalls, %" PRIu64 " kicks, %" PRIu64 " other)\n", s->events, s->flushes[1],
             s->flushes[2], s->flushes[3], s->flushes[4], s->dispatches,
             s->checkpoints_passed + s->periodic_checks, s->violations, s->entries.compared,
             s->entries.unmodelled, s->exits.total, per_k,
             s->exits.by[VMM_EXITK_CONSOLE], s->exits.by[VMM_EXITK_HYPERCALL],
             s->exits.by[VMM_EXITK_KICK], s->exits.by[VMM_EXITK_OTHER]);
}

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static void write_report(struct vmm_validate *v)
{
    static const char *const kinds[] = { "none", "violation", "corrupt-ring", "bad-stream",
                                         "inspection" };
    const struct vmm_validate_stats *s = &v->st;
    FILE *f = v->report;

    fprintf(f, "{\"attached\":%s,\"verdict\":\"%s\",\"failure\":\"%s\",\"cause\":",
            s->attached ? "true" : "false", s->failed ? "failed" : "passed", kinds[v->fail]);
    json_string(f, v->fail_text);
    fprintf(f, ",\"events\":%" PRIu64 ",\"flushes\":{\"single\":%" PRIu64 ",\"range\":%"
            PRIu64 ",\"all_nonglobal\":%" PRIu64 ",\"all_global\":%" PRIu64 "},\"dispatches\":%"
            PRIu64 ",\"checkpoints_passed\":%" PRIu64 ",\"violations\":%" PRIu64
            ",\"entries_compared\":%" PRIu64 ",\"entries_unmodelled\":%" PRIu64
            ",\"kvm_exits\":%" PRIu64 ",\"kvm_exits_console\":%" PRIu64, s->events,
            s->flushes[1], s->flushes[2], s->flushes[3], s->flushes[4], s->dispatches,
            s->checkpoints_passed + s->periodic_checks, s->violations, s->entries.compared,
            s->entries.unmodelled, s->exits.total, s->exits.by[VMM_EXITK_CONSOLE]);
    if (v->fail == FAIL_CORRUPT) {
        fprintf(f, ",\"ring\":{\"ring\":%u,\"record\":%" PRIu64 ",\"what\":", v->corrupt.ring,
                v->corrupt.index);
        json_string(f, v->corrupt.what);
        fputc('}', f);
    }
    fputs(",\"mismatches\":[", f);
    for (size_t i = 0; i < v->nmism; i++) {
        fprintf(f, "%s{\"cpu\":%u,\"node\":%" PRIu64 ",\"index\":%u,\"level\":%d,\"guest\":%"
                PRIu64 ",\"model\":%" PRIu64 ",\"what\":", i ? "," : "", v->mism[i].cpu,
                v->mism[i].node, v->mism[i].index, v->mism[i].level, v->mism[i].guest,
                v->mism[i].model);
        json_string(f, v->mism[i].what);
        fputc('}', f);
    }
    fputs("],\"reports\":[", f);
    for (size_t i = 0, k = 0; i < tlb_validator_report_count(v->val); i++) {
        const struct tlb_report *r = tlb_validator_report(v->val, i);
        if (r->kind != TLB_REPORT_VIOLATION)
            continue;
        if (k++)
            fputc(',', f);
        tlb_report_print_json(r, f);
    }
    fputs("]}\n", f);
    fflush(f);
}

void vmm_validate_end(struct vmm_validate *v, bool clean_exit, int *status)
{
    struct timespec now;

    __atomic_store_n(&v->quit, true, __ATOMIC_RELEASE);
    if (v->thread_started)
        pthread_join(v->thread, NULL);
    v->thread_started = false;
    pthread_mutex_lock(&v->lock);
    if (!v->st.attached) {
        vmm_outf("vmm: validation: the guest never attached its trace rings "
                 "(VMM_HC_TRACE_ATTACH); this run was not validated\n");
    } else {
        end_checks(v, clean_exit);
        clock_gettime(CLOCK_MONOTONIC, &now);
        v->st.drain_seconds = ms_between(&v->t_attach, &now) / 1e3;
        v->hooks.exits(v->hooks.ctx, &v->st.exits);
        v->st.exits.total -= v->exits_at_attach.total;
        for (int k = 0; k < VMM_EXITK_COUNT; k++)
            v->st.exits.by[k] -= v->exits_at_attach.by[k];
        v->st.violations = tlb_validator_count(v->val, TLB_REPORT_VIOLATION);
        print_summary(v);
    }
    if (v->events_out)
        fflush(v->events_out);
    if (v->report)
        write_report(v);
    if (v->fail != FAIL_NONE)
        *status = VMM_EXIT_VALIDATION;
    pthread_mutex_unlock(&v->lock);
}

void vmm_validate_get_stats(struct vmm_validate *v, struct vmm_validate_stats *out)
{
    pthread_mutex_lock(&v->lock);
    *out = v->st;
    pthread_mutex_unlock(&v->lock);
}

void vmm_validate_destroy(struct vmm_validate *v)
{
    if (!v)
        return;
    if (v->thread_started) {
        __atomic_store_n(&v->quit, true, __ATOMIC_RELEASE);
        pthread_join(v->thread, NULL);
    }
    if (v->events_out)
        fclose(v->events_out);
    if (v->report)
        fclose(v->report);
    tlb_validator_destroy(v->val);
    vmm_merge_free(&v->merge);
    vmm_pa_set_free(&v->written);
    free(v->readers);
    free(v->buf);
    free(v->history);
    pthread_mutex_destroy(&v->lock);
    free(v);
}
