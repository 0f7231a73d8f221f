/*
 * Violation reports: built for a human debugging a real TLB bug (class,
 * rule, CPU, VA, frame, the sequence numbers of the events that created the
 * obligation and that failed to discharge it, and every CPU's state at that
 * moment), printable as text or as one JSON object per report. Policies
 * turn violations into TOLERATED reports here, never into silence.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "abi/tlb_event_codec.h"
#include "validator_internal.h"

/* Class names, indexed by class number (0 is not a class). */
static const char *const class_names[] = { "T0", "T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8", "T9", "T10",
                                           "T11", "T12", "T13", "T14", "T15", "T16", "T17", "T18", "T19",
                                           "T20" };
_Static_assert(sizeof class_names / sizeof class_names[0] == TLB_CLASS_MAX + 1,
               "one name per class number 0..TLB_CLASS_MAX");

/* Report kind names, indexed by enum tlb_report_kind. */
static const char *const kind_names[] = { "violation", "tolerated", "hint" };
_Static_assert(sizeof kind_names / sizeof kind_names[0] == TLB_REPORT_KINDS, "one name per report kind");
_Static_assert(TLB_REPORT_VIOLATION == 0 && TLB_REPORT_TOLERATED == 1 && TLB_REPORT_HINT == 2,
               "kind_names follows enum tlb_report_kind");
_Static_assert(TLB_T20 == TLB_CLASS_MAX, "TLB_CLASS_MAX is the highest class of enum tlb_class");
_Static_assert(TLB_CLASS_MAX < 32, "TLB_CLASS_BIT masks are 32-bit");

const char *tlb_class_name(unsigned cls)
{
    return cls <= TLB_CLASS_MAX ? class_names[cls] : "T?";
}

const char *tlb_v_class_rule(unsigned cls)
{
    switch (cls) {
    case TLB_T10: return "R10";
    case TLB_T12: return "R4";
    case TLB_T13: case TLB_T14: return "R7";
    case TLB_T16: return "R5";
    case TLB_T1: case TLB_T2: case TLB_T19: return "R1";
    default: return "R3";
    }
}

static const struct policy_copy *policy_for(const struct tlb_validator *v, unsigned cls, uint64_t va)
{
    for (size_t i = 0; i < v->opt.npolicies; i++) {
        const struct policy_copy *p = &v->policies[i];
        if (!(p->classes & TLB_CLASS_BIT(cls)))
            continue;
        bool all = p->va_start == 0 && p->va_end == 0;
        if (all || (va >= p->va_start && (p->va_end == 0 || va < p->va_end)))
            return p;
    }
    return NULL;
}

static void snapshot(const struct tlb_validator *v, struct tlb_cpu_snapshot *s, uint32_t ci)
{
    const struct vcpu *c = &v->cpus[ci];
    *s = (struct tlb_cpu_snapshot){ .cpu = ci, .cr3_loaded = c->cr3_loaded, .pcid = c->pcid,
                                    .root = c->cr3_loaded ? c->root : 0, .nopen = c->nopen };
    for (uint32_t id = c->open_head; id != NONE32 && s->nshown < TLB_REPORT_MAX_OPEN; id = v->ob[id].next) {
        const struct oblig *o = &v->ob[id];
        s->open[s->nshown].va = o->va;
        s->open[s->nshown].size = o->size;
        s->open[s->nshown].seq = o->created_seq;
        s->open[s->nshown].level = o->level;
        s->open[s->nshown].psc = o->flags & OB_PSC;
        s->open[s->nshown].global = o->flags & OB_GLOBAL;
        s->nshown++;
    }
}

static const char no_text[] = "(out of memory while formatting this report)";

void tlb_v_report_add(struct tlb_validator *v, const struct report_args *a, const char *fmt, ...)
{
    enum tlb_report_kind kind = a->kind;
    const struct policy_copy *p = kind == TLB_REPORT_VIOLATION ? policy_for(v, a->cls, a->va) : NULL;
    if (p)
        kind = TLB_REPORT_TOLERATED;
    v->counts[kind]++;
    if (kind == TLB_REPORT_VIOLATION) {
        v->class_counts[a->cls <= TLB_CLASS_MAX ? a->cls : 0]++;
        v->new_violation = true;
    }
    size_t max = v->opt.max_reports ? v->opt.max_reports : 1000;
    if (v->nreports >= max)
        return;
    if (v->nreports == v->capreports) {
        size_t nc = v->capreports ? v->capreports * 2 : 16;
        struct tlb_report *n = realloc(v->reports, nc * sizeof *n);
        if (!n)
            return;   /* the counts stay exact; only the detail is lost */
        v->reports = n;
        v->capreports = nc;
    }
    struct tlb_report *r = &v->reports[v->nreports];
    *r = (struct tlb_report){ .kind = kind, .cls = a->cls, .rule = a->rule, .policy = p ? p->name : NULL,
                              .cpu = a->cpu, .root = a->root, .va = a->va, .size = a->size, .frame = a->frame,
                              .created_seq = a->created_seq, .missed_seq = a->missed_seq,
                              .detected_seq = a->detected_seq };
    if (a->created_ev) {
        r->created_event = *a->created_ev;
        r->has_created_event = true;
    } else if (a->created_seq && v->have_last_ev && v->last_ev.seq == a->created_seq) {
        r->created_event = v->last_ev;   /* created and detected by the same event (e.g. T12) */
        r->has_created_event = true;
    }
    if (v->have_last_ev) {
        r->detected_event = v->last_ev;
        r->has_detected_event = true;
    }
    va_list ap;
    va_start(ap, fmt);
    char *what = tlb_v_vformat(fmt, ap);
    va_end(ap);
    r->what = what ? what : no_text;
    r->cpus = calloc(v->ncpus, sizeof *r->cpus);
    if (r->cpus) {
        r->ncpus = v->ncpus;
        for (uint32_t c = 0; c < v->ncpus; c++)
            snapshot(v, &r->cpus[c], c);
    }
    v->nreports++;
}

void tlb_v_report_oblig(struct tlb_validator *v, uint32_t id, unsigned cls, const char *rule, uint64_t detected_seq,
                  uint64_t missed_seq, const char *why)
{
    struct oblig *o = &v->ob[id];
    o->flags |= OB_REPORTED;
    struct report_args a = { TLB_REPORT_VIOLATION, cls, rule, o->cpu, o->root, o->va, o->size, o->frame,
                             o->created_seq, missed_seq, detected_seq, &o->created_ev };
    if (o->flags & OB_VIA_PSC)
        tlb_v_report_add(v, &a, "%s [stale %sleaf entry at level %u, node 0x%llx[%u] = 0x%llx, cached through a table "
                   "entry that CPU %u removed or repointed%s]", why, (o->flags & OB_GLOBAL) ? "global " : "",
                   o->level, (unsigned long long)o->node, o->index, (unsigned long long)o->old_pte, o->creator,
                   (o->flags & OB_DISPATCHED) ? ", dispatched" : "");
    else
        tlb_v_report_add(v, &a, "%s [stale %s%s entry at level %u, node 0x%llx[%u] 0x%llx -> 0x%llx, stored by CPU %u%s]",
                   why, (o->flags & OB_PSC) ? "paging-structure" : "leaf", (o->flags & OB_GLOBAL) ? " global" : "",
                   o->level, (unsigned long long)o->node, o->index, (unsigned long long)o->old_pte,
                   (unsigned long long)o->new_pte, o->creator, (o->flags & OB_DISPATCHED) ? ", dispatched" : "");
}

void tlb_v_reports_free(struct tlb_validator *v)
{
    for (size_t i = 0; i < v->nreports; i++) {
        free(v->reports[i].cpus);
        if (v->reports[i].what != no_text)
            free((char *)v->reports[i].what);
    }
    free(v->reports);
    v->reports = NULL;
    v->nreports = v->capreports = 0;
}

static const char *kind_name(enum tlb_report_kind k)
{
    return (unsigned)k < TLB_REPORT_KINDS ? kind_names[k] : "?";
}

/* One event on one line (abi/tlb_event_codec.h's formatter). */
static void event_text(const struct tlb_event *e, FILE *out)
{
    char line[TLB_EVENT_TEXT_MAX];

    tlb_event_format(e, line, sizeof(line));
    fputs(line, out);
}

/* One event as a JSON object: every field of the record, numbers as in the record. */
static void event_json(const struct tlb_event *e, FILE *out)
{
    fprintf(out, "{\"seq\":%" PRIu64 ",\"cpu\":%" PRIu32 ",\"type\":\"%s\",\"sub\":%u,\"arg\":%u,"
            "\"root\":\"0x%" PRIx64 "\",\"payload\":[\"0x%" PRIx64 "\",\"0x%" PRIx64 "\",\"0x%" PRIx64 "\"]}",
            e->seq, e->cpu, tlb_event_type_name(e->type), e->sub, e->arg, e->root, e->u.raw[0], e->u.raw[1],
            e->u.raw[2]);
}

void tlb_report_print_text(const struct tlb_report *r, FILE *out)
{
    if (r->kind == TLB_REPORT_HINT)
        fprintf(out, "HINT (%s) at event %" PRIu64 ": %s\n", r->rule, r->detected_seq, r->what);
    else if (r->kind == TLB_REPORT_TOLERATED)
        fprintf(out, "TOLERATED by policy \"%s\": %s (%s) at event %" PRIu64 ": %s\n", r->policy,
                tlb_class_name(r->cls), r->rule, r->detected_seq, r->what);
    else
        fprintf(out, "VIOLATION %s (%s) at event %" PRIu64 ": %s\n", tlb_class_name(r->cls), r->rule,
                r->detected_seq, r->what);
    fprintf(out, "  cpu %" PRIu32 "  root 0x%" PRIx64 "  va 0x%" PRIx64 " (+0x%" PRIx64 ")  frame 0x%" PRIx64
            "\n  created by event %" PRIu64 ", not discharged by event %" PRIu64 "\n",
            r->cpu, r->root, r->va, r->size, r->frame, r->created_seq, r->missed_seq);
    if (r->has_created_event) {
        fputs("  created by:  ", out);
        event_text(&r->created_event, out);
        fputc('\n', out);
    }
    if (r->has_detected_event) {
        fputs("  detected at: ", out);
        event_text(&r->detected_event, out);
        fputc('\n', out);
    }
    for (uint32_t i = 0; i < r->ncpus; i++) {
        const struct tlb_cpu_snapshot *s = &r->cpus[i];
        if (!s->cr3_loaded && s->nopen == 0)
            continue;
        fprintf(out, "  cpu %" PRIu32 ": root 0x%" PRIx64 " pcid %u, %" PRIu32 " open obligation%s", s->cpu,
                s->root, s->pcid, s->nopen, s->nopen == 1 ? "" : "s");
        for (uint32_t k = 0; k < s->nshown; k++)
            fprintf(out, "%s va 0x%" PRIx64 "+0x%" PRIx64 " L%u%s%s (event %" PRIu64 ")", k ? "," : ":",
                    s->open[k].va, s->open[k].size, s->open[k].level, s->open[k].psc ? " psc" : "",
                    s->open[k].global ? " G" : "", s->open[k].seq);
        fprintf(out, "%s\n", s->nshown < s->nopen ? ", ..." : "");
    }
}

static void json_str(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(out, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(out, "\\u%04x", ch);
        else
            fputc(ch, out);
    }
    fputc('"', out);
}

void tlb_report_print_json(const struct tlb_report *r, FILE *out)
{
    fprintf(out, "{\"kind\":\"%s\",\"class\":\"%s\",\"rule\":\"%s\",\"policy\":", kind_name(r->kind),
            r->kind == TLB_REPORT_HINT ? "" : tlb_class_name(r->cls), r->rule);
    if (r->policy)
        json_str(out, r->policy);
    else
        fputs("null", out);
    fprintf(out, ",\"cpu\":%" PRIu32 ",\"root\":\"0x%" PRIx64 "\",\"va\":\"0x%" PRIx64 "\",\"size\":\"0x%" PRIx64
            "\",\"frame\":\"0x%" PRIx64 "\",\"created_seq\":%" PRIu64 ",\"missed_seq\":%" PRIu64
            ",\"detected_seq\":%" PRIu64 ",\"what\":",
            r->cpu, r->root, r->va, r->size, r->frame, r->created_seq, r->missed_seq, r->detected_seq);
    json_str(out, r->what);
    fputs(",\"created_event\":", out);
    if (r->has_created_event)
        event_json(&r->created_event, out);
    else
        fputs("null", out);
    fputs(",\"detected_event\":", out);
    if (r->has_detected_event)
        event_json(&r->detected_event, out);
    else
        fputs("null", out);
    fputs(",\"cpus\":[", out);
    for (uint32_t i = 0; i < r->ncpus; i++) {
        const struct tlb_cpu_snapshot *s = &r->cpus[i];
        fprintf(out, "%s{\"cpu\":%" PRIu32 ",\"cr3_loaded\":%s,\"root\":\"0x%" PRIx64 "\",\"pcid\":%u,\"open\":%" PRIu32
                ",\"obligations\":[", i ? "," : "", s->cpu, s->cr3_loaded ? "true" : "false", s->root, s->pcid,
                s->nopen);
        for (uint32_t k = 0; k < s->nshown; k++)
            fprintf(out, "%s{\"va\":\"0x%" PRIx64 "\",\"size\":\"0x%" PRIx64 "\",\"level\":%u,\"psc\":%s,"
                    "\"global\":%s,\"created_seq\":%" PRIu64 "}", k ? "," : "", s->open[k].va, s->open[k].size,
                    s->open[k].level, s->open[k].psc ? "true" : "false", s->open[k].global ? "true" : "false",
                    s->open[k].seq);
        fputs("]}", out);
    }
    fputs("]}\n", out);
}
