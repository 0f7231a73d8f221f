/*
 * The validator's front door: creation, sequencing and routing of events to
 * the model (tree, CPUs, obligations) and the checks; end of stream; the
 * in-memory stream decoder tlb_validate_bytes().
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "abi/tlb_event_codec.h"
#include "validator_internal.h"

struct tlb_validator_options tlb_validator_default_options(uint32_t cpu_count)
{
    return (struct tlb_validator_options){ .cpu_count = cpu_count };
}

char *tlb_v_vformat(const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    char *out = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (out)
        vsnprintf(out, (size_t)n + 1, fmt, ap);
    return out;
}

static char oom_message[] = "out of memory while formatting a message";

enum tlb_verdict tlb_v_bad_input(struct tlb_validator *v, const char *fmt, ...)
{
    if (!v->failed) {
        va_list ap;
        va_start(ap, fmt);
        v->error = tlb_v_vformat(fmt, ap);
        va_end(ap);
        if (!v->error)
            v->error = oom_message;
        v->failed = true;
    }
    return TLB_VERDICT_BAD_INPUT;
}

struct tlb_validator *tlb_validator_create(const struct tlb_validator_options *opt)
{
    if (!opt || opt->cpu_count == 0 || opt->cpu_count > TLB_MAX_CPUS || opt->npolicies > 16 ||
        (opt->npolicies && !opt->policies) ||
        (opt->format_version != 0 && tlb_event_type_max(opt->format_version) == 0))
        return NULL;
    for (size_t i = 0; i < opt->npolicies; i++)
        if (!opt->policies[i].name)
            return NULL;
    struct tlb_validator *v = calloc(1, sizeof *v);
    if (!v)
        return NULL;
    v->opt = *opt;
    v->opt.policies = NULL;   /* copied below; the caller's array need not outlive us */
    if (v->opt.format_version == 0)
        v->opt.format_version = TLB_EVENT_VERSION;
    v->ncpus = opt->cpu_count;
    v->ob_free = NONE32;
    v->ob_epoch = 1;   /* fresh nodes hold 0: never marked */
    for (size_t i = 0; i < opt->npolicies; i++) {
        struct policy_copy *p = &v->policies[i];
        p->name = strdup(opt->policies[i].name);
        if (!p->name) {
            tlb_validator_destroy(v);
            return NULL;
        }
        p->classes = opt->policies[i].classes;
        p->va_start = opt->policies[i].va_start;
        p->va_end = opt->policies[i].va_end;
    }
    bool ok = tlb_v_hmap_init(&v->nodes, 64) && tlb_v_hmap_init(&v->rmap, 256) && tlb_v_hmap_init(&v->groot_idx, 64);
    for (uint32_t c = 0; c < v->ncpus; c++)
        ok = tlb_v_cpu_init(&v->cpus[c]) && ok;
    if (!ok) {
        tlb_validator_destroy(v);
        return NULL;
    }
    return v;
}

void tlb_validator_destroy(struct tlb_validator *v)
{
    if (!v)
        return;
    tlb_v_ob_destroy_all(v);
    tlb_v_tree_destroy_all(v);
    tlb_v_hmap_free(&v->rmap);
    tlb_v_hmap_free(&v->groot_idx);
    for (uint32_t c = 0; c < v->ncpus; c++)
        tlb_v_cpu_destroy(&v->cpus[c]);
    tlb_v_reports_free(v);
    free(v->reach.pcids);
    free(v->reach.pbound);
    for (size_t i = 0; i < 16; i++)
        free(v->policies[i].name);
    if (v->error != oom_message)
        free(v->error);
    free(v);
}

static enum tlb_verdict check_sequence(struct tlb_validator *v, const struct tlb_event *ev)
{
    if (v->have_seq) {
        if (ev->seq <= v->last_seq)
            return tlb_v_bad_input(v, "event %llu is out of sequence (previous event was %llu)",
                               (unsigned long long)ev->seq, (unsigned long long)v->last_seq);
        if (!v->opt.allow_seq_gaps && ev->seq != v->last_seq + 1)
            return tlb_v_bad_input(v, "events %llu..%llu are missing (sequence jumps from %llu to %llu)",
                               (unsigned long long)v->last_seq + 1, (unsigned long long)ev->seq - 1,
                               (unsigned long long)v->last_seq, (unsigned long long)ev->seq);
    }
    v->have_seq = true;
    v->last_seq = ev->seq;
    return TLB_VERDICT_OK;
}

static enum tlb_verdict route(struct tlb_validator *v, const struct tlb_event *ev)
{
    switch (ev->type) {
    case TLB_EV_PTE_STORE: return tlb_v_store_apply(v, ev);
    case TLB_EV_FLUSH: return tlb_v_cpu_flush(v, ev);
    case TLB_EV_CR3_LOAD:
        tlb_v_check_cr3_activated(v, ev);
        return tlb_v_cpu_cr3_load(v, ev);
    case TLB_EV_ACTIVATE: return tlb_v_check_activate(v, ev);
    case TLB_EV_DISPATCH: return tlb_v_check_dispatch(v, ev);
    case TLB_EV_REMOTE_DONE: return tlb_v_check_remote_done(v, ev);
    case TLB_EV_SYNC_DONE: return tlb_v_check_sync(v, ev);
    case TLB_EV_FREE: return tlb_v_check_free(v, ev);
    case TLB_EV_OP_BEGIN: return tlb_v_check_op_begin(v, ev);
    case TLB_EV_OP_END: return tlb_v_check_op_end(v, ev);
    case TLB_EV_NODE_ALLOC: return tlb_v_tree_node_alloc(v, ev);
    default:
        /* FLUSH_ISSUE, FRAME_REF, CURSOR_*: recorded in the
         * stream for humans; the model's verdicts do not depend on them (v1). */
        return TLB_VERDICT_OK;
    }
}

enum tlb_verdict tlb_validator_feed(struct tlb_validator *v, const struct tlb_event *ev)
{
    if (v->failed)
        return TLB_VERDICT_BAD_INPUT;
    if (v->finished)
        return tlb_v_bad_input(v, "event %llu fed after finish", (unsigned long long)ev->seq);
    char err[200];
    if (!tlb_event_check(ev, v->ncpus, err, sizeof err) ||
        !tlb_event_check_version(ev, v->opt.format_version, err, sizeof err))
        return tlb_v_bad_input(v, "%s", err);
    if (check_sequence(v, ev) != TLB_VERDICT_OK)
        return TLB_VERDICT_BAD_INPUT;
    v->new_violation = false;
    v->last_ev = *ev;   /* reports copy it as the detecting event */
    v->have_last_ev = true;
    if (route(v, ev) == TLB_VERDICT_BAD_INPUT || v->failed)
        return TLB_VERDICT_BAD_INPUT;
    v->events++;
    return v->new_violation ? TLB_VERDICT_VIOLATION : TLB_VERDICT_OK;
}

enum tlb_verdict tlb_validator_finish(struct tlb_validator *v)
{
    if (v->failed)
        return TLB_VERDICT_BAD_INPUT;
    if (!v->finished) {
        v->finished = true;
        tlb_v_check_finish(v);
    }
    return v->counts[TLB_REPORT_VIOLATION] ? TLB_VERDICT_VIOLATION : TLB_VERDICT_OK;
}

const char *tlb_validator_error(const struct tlb_validator *v) { return v->failed ? v->error : NULL; }
size_t tlb_validator_report_count(const struct tlb_validator *v) { return v->nreports; }
const struct tlb_report *tlb_validator_report(const struct tlb_validator *v, size_t i)
{
    return i < v->nreports ? &v->reports[i] : NULL;
}
uint64_t tlb_validator_count(const struct tlb_validator *v, enum tlb_report_kind kind)
{
    return (unsigned)kind < TLB_REPORT_KINDS ? v->counts[kind] : 0;
}
uint64_t tlb_validator_class_count(const struct tlb_validator *v, unsigned cls)
{
    return cls >= 1 && cls <= TLB_CLASS_MAX ? v->class_counts[cls] : 0;
}
uint64_t tlb_validator_events(const struct tlb_validator *v) { return v->events; }

bool tlb_validator_model_pte(const struct tlb_validator *v, uint64_t node_pa, unsigned index, uint64_t *pte,
                             int *level)
{
    const struct vnode *n = index < 512 ? tlb_v_tree_node(v, node_pa) : NULL;
    if (!n)
        return false;
    *pte = n->pte[index];
    *level = n->level;
    return true;
}

bool tlb_validator_node_whole(const struct tlb_validator *v, uint64_t node_pa)
{
    const struct vnode *n = tlb_v_tree_node(v, node_pa);
    return n && n->whole;
}

bool tlb_validator_cpu_root(const struct tlb_validator *v, uint32_t cpu, uint64_t *root, uint16_t *pcid)
{
    if (cpu >= v->ncpus || !v->cpus[cpu].cr3_loaded)
        return false;
    *root = v->cpus[cpu].root;
    *pcid = v->cpus[cpu].pcid;
    return true;
}

enum tlb_verdict tlb_validate_bytes(const uint8_t *buf, size_t len, const struct tlb_validator_options *opt,
                                    struct tlb_validator **out)
{
    struct tlb_validator_options o = opt ? *opt : tlb_validator_default_options(1);
    struct tlb_stream_header h = { 0 };
    char err[200] = "";
    bool header_ok = false;
    if (len < sizeof h)
        snprintf(err, sizeof err, "truncated stream: %zu bytes, shorter than the 16-byte header", len);
    else {
        tlb_stream_header_decode(buf, &h);
        header_ok = tlb_stream_header_check(&h, err, sizeof err);
    }
    o.cpu_count = header_ok ? h.cpu_count : 1;
    o.format_version = header_ok ? h.version : 0;
    struct tlb_validator *v = tlb_validator_create(&o);
    *out = v;
    if (!v)
        return TLB_VERDICT_BAD_INPUT;
    if (!header_ok)
        return tlb_v_bad_input(v, "%s", err);
    size_t body = len - sizeof h;
    if (body % TLB_EVENT_RECORD_SIZE)
        return tlb_v_bad_input(v, "truncated stream: %zu bytes after the header is not a multiple of the "
                           "%u-byte record (last record cut after %zu bytes)", body, TLB_EVENT_RECORD_SIZE,
                           body % TLB_EVENT_RECORD_SIZE);
    for (size_t off = sizeof h; off < len; off += TLB_EVENT_RECORD_SIZE) {
        struct tlb_event ev;
        tlb_event_decode(buf + off, &ev);
        if (tlb_validator_feed(v, &ev) == TLB_VERDICT_BAD_INPUT)
            return TLB_VERDICT_BAD_INPUT;
    }
    return tlb_validator_finish(v);
}
