/*
 * The checks at the points where stale state becomes a bug:
 *  - FREE of a frame: no CPU may still cache a translation to it (T1, T2,
 *    T3, T19) and no live tracked mapping may remain (T19).
 *  - FREE of a page-table node: it must be unlinked, and no CPU may still
 *    cache a paging-structure entry pointing at it or below it (T9).
 *  - DISPATCH: the target set must include every CPU that may cache what
 *    the initiator changed (T10).
 *  - SYNC_DONE: every target must have flushed what it was sent (T11, T13,
 *    T16).
 *  - OP_END (the completion point): no CPU may cache anything stale in the
 *    operation's range, whoever made it stale (T4, T13, T15, T16, T20).
 *  - end of stream: every obligation must have been discharged (T11).
 * Each obligation is reported at most once, at the first check it fails.
 */
#include "pagetable/x86_64.h"
#include "validator_internal.h"

#define KERNEL_HALF 0xffff800000000000ull

static bool frame_overlap(const struct oblig *o, uint64_t pa, uint64_t len)
{
    return !(o->flags & OB_PSC) && o->frame < pa + len && pa < o->frame + o->frame_size;
}

static uint64_t missed_seq(const struct tlb_validator *v, const struct oblig *o, unsigned cls);

/*
 * The class of a frame freed while `o` is open: the root cause when the
 * flusher visibly tried (a global entry left by a non-global full flush:
 * T13; a dispatched flush that hit another page: T16), else by how the frame
 * became stale (under a removed table: T3; moved: T2; an alias: T19; T1).
 */
static unsigned free_class(const struct tlb_validator *v, const struct oblig *o)
{
    const struct vcpu *c = &v->cpus[o->cpu];
    if ((o->flags & OB_GLOBAL) && c->last_full_flush_seq > o->created_seq)
        return TLB_T13;
    if ((o->flags & OB_DISPATCHED) && c->last_partial_flush_seq > o->dispatch_seq)
        return TLB_T16;
    return (o->flags & OB_VIA_PSC) ? TLB_T3 : (o->flags & OB_MOVED) ? TLB_T2 : (o->flags & OB_ALIAS) ? TLB_T19 : TLB_T1;
}

static const char *free_why(unsigned cls)
{
    switch (cls) {
    case TLB_T13: return "frame freed while this CPU may still cache a GLOBAL translation to it (a non-global "
                         "full flush cannot remove it)";
    case TLB_T16: return "frame freed while this CPU may still cache a translation to it (its flush hit another "
                         "address)";
    case TLB_T3: return "frame freed while this CPU may still cache a translation to it (made stale by removing "
                        "the table above it)";
    case TLB_T2: return "frame freed while this CPU may still cache its OLD address (the frame was moved to "
                        "another VA without flushing the old one)";
    case TLB_T19: return "frame freed while this CPU may still cache a translation of an alias of it";
    default: return "frame freed while this CPU may still cache a translation to it";
    }
}

/* Which CPU, if any, may cache an entry of the tree holding `n` that has been available since
 * `since` (as a global leaf: `global`)? */
static bool reachable_cpu(const struct tlb_validator *v, const struct vnode *n, uint64_t since, bool global,
                          uint32_t *cpu)
{
    const struct vnode *top = tlb_v_tree_top(n);
    for (uint32_t c = 0; top && c < v->ncpus; c++)
        if (tlb_v_cpu_may_cache(v, c, top, since, global)) {
            *cpu = c;
            return true;
        }
    return false;
}

/*
 * A frame freed while a live tracked PTE still maps it: a violation (T19) if
 * some CPU may cache that mapping; a hint otherwise (the tree is loaded
 * nowhere, e.g. an address space being torn down).
 */
static void live_mapping_check(struct tlb_validator *v, const struct tlb_event *ev, uint64_t pa, uint64_t len)
{
    uint64_t locs[16];
    size_t n = tlb_v_rmap_locations(v, pa, len, locs, 16);
    for (size_t i = 0; i < n; i++) {
        const struct vnode *node = tlb_v_tree_node(v, locs[i] & ~0xfffull);
        unsigned idx = (unsigned)(locs[i] & 0xfff);
        uint32_t cpu = ev->cpu;
        if (!node)
            continue;
        uint64_t e = node->pte[idx];
        bool reach = tlb_v_tree_attached(node) && reachable_cpu(v, node, tlb_v_tree_entry_since(node, idx), e & PTE_G, &cpu);
        uint64_t va = tlb_v_tree_attached(node) ? tlb_v_tree_entry_va(node, idx) : 0;
        if (!reach && !v->opt.report_lints)
            continue;
        struct report_args a = { reach ? TLB_REPORT_VIOLATION : TLB_REPORT_HINT, reach ? TLB_T19 : 0, "R1", cpu,
                                 reach ? v->cpus[cpu].root : 0, va, pt_page_size(node->level), pa, 0, 0, ev->seq };
        if (reach)
            tlb_v_report_add(v, &a, "frame freed while still mapped at VA 0x%llx (node 0x%llx[%u] = 0x%llx), which "
                       "CPU %u may cache", (unsigned long long)va, (unsigned long long)node->pa, idx,
                       (unsigned long long)e, cpu);
        else
            tlb_v_report_add(v, &a, "frame freed while still mapped (node 0x%llx[%u]) in a tree no CPU has loaded",
                       (unsigned long long)node->pa, idx);
        if (reach)
            return;   /* one report per free is enough */
    }
}

static enum tlb_verdict free_frame(struct tlb_validator *v, const struct tlb_event *ev)
{
    uint64_t pa = ev->u.free.pa, len = ev->u.free.npages * PAGE_4K;
    for (uint64_t p = pa; p < pa + len && p < pa + 512 * PAGE_4K; p += PAGE_4K)
        if (tlb_v_tree_node(v, p))
            return tlb_v_bad_input(v, "event %llu: frame free of 0x%llx, which is a live page-table node "
                               "(free it as a PT node)", (unsigned long long)ev->seq, (unsigned long long)p);
    for (uint32_t c = 0; c < v->ncpus; c++)
        OB_FOREACH_OPEN(v, c, id, nx) {
            const struct oblig *o = &v->ob[id];
            if ((o->flags & OB_REPORTED) || !frame_overlap(o, pa, len))
                continue;
            unsigned cls = free_class(v, o);
            tlb_v_report_oblig(v, id, cls, tlb_v_class_rule(cls), ev->seq, missed_seq(v, o, cls), free_why(cls));
        }
    live_mapping_check(v, ev, pa, len);
    return TLB_VERDICT_OK;
}

void tlb_v_check_node_reuse(struct tlb_validator *v, uint64_t pa, uint64_t seq)
{
    for (uint32_t c = 0; c < v->ncpus; c++)
        OB_FOREACH_OPEN(v, c, id, nx) {
            const struct oblig *o = &v->ob[id];
            if ((o->flags & OB_REPORTED) || !frame_overlap(o, pa, PAGE_4K))
                continue;
            unsigned cls = free_class(v, o);
            tlb_v_report_oblig(v, id, cls, tlb_v_class_rule(cls), seq, missed_seq(v, o, cls),
                         "frame reused as a page-table node while this CPU may still cache a translation to it");
        }
}

static bool snap_has(const struct oblig *o, uint64_t pa)
{
    if (o->frame == pa)
        return true;
    for (uint32_t i = 0; i < o->snap_n; i++)
        if (o->snap_nodes[i] == pa)
            return true;
    return false;
}

static bool root_loaded_somewhere(const struct tlb_validator *v, uint64_t pa, uint32_t *cpu)
{
    for (uint32_t c = 0; c < v->ncpus; c++)
        for (uint32_t s = 0; s < v->cpus[c].nslots; s++)
            if (v->cpus[c].slots[s].root == pa && v->cpus[c].slots[s].root_node) {
                *cpu = c;
                return true;
            }
    return false;
}

static enum tlb_verdict free_node(struct tlb_validator *v, const struct tlb_event *ev)
{
    uint64_t pa = ev->u.free.pa;
    struct vnode *n = tlb_v_tree_node(v, pa);
    if (!n)
        return tlb_v_bad_input(v, "event %llu: free of unknown page-table node 0x%llx (never stored to or "
                           "linked)", (unsigned long long)ev->seq, (unsigned long long)pa);
    if (n->level != ev->arg)
        return tlb_v_bad_input(v, "event %llu: free of page-table node 0x%llx as level %u, but it is a level-%u node",
                           (unsigned long long)ev->seq, (unsigned long long)pa, ev->arg, n->level);
    uint32_t cpu = ev->cpu;
    /* Still reachable by some CPU: its paging-structure caches may point here. Still linked into a
     * tree that no CPU has loaded (an address space torn down child-first): only a hint. */
    bool attached = n->level < 4 && tlb_v_tree_attached(n);
    bool linked = n->level < 4 ? attached && reachable_cpu(v, n, tlb_v_tree_link_since(n), false, &cpu) : root_loaded_somewhere(v, pa, &cpu);
    if (linked) {
        struct report_args a = { TLB_REPORT_VIOLATION, TLB_T9, "R3", cpu, ev->root,
                                 n->level < 4 ? n->base_va : 0, pt_page_size(n->level), pa, 0, 0, ev->seq };
        tlb_v_report_add(v, &a, n->level < 4 ? "page-table node freed while still linked into a page table that this "
                                         "CPU may walk"
                                       : "root page-table node freed while a CPU may still use it (loaded "
                                         "in CR3 or bound to a PCID, not flushed since)");
    } else if (attached && v->opt.report_lints) {
        struct report_args a = { TLB_REPORT_HINT, 0, "R3", cpu, ev->root, n->base_va, pt_page_size(n->level), pa,
                                 0, 0, ev->seq };
        tlb_v_report_add(v, &a, "page-table node freed while still linked into a tree that no CPU has loaded");
    }
    for (uint32_t c = 0; c < v->ncpus; c++)
        OB_FOREACH_OPEN(v, c, id, nx) {
            const struct oblig *o = &v->ob[id];
            if ((o->flags & (OB_PSC | OB_REPORTED)) == OB_PSC && snap_has(o, pa))
                tlb_v_report_oblig(v, id, TLB_T9, "R3", ev->seq, v->cpus[c].last_partial_flush_seq,
                             "page-table node freed while this CPU may still cache a paging-structure "
                             "entry leading to it");
        }
    tlb_v_tree_forget(v, n);
    return TLB_VERDICT_OK;
}

enum tlb_verdict tlb_v_check_free(struct tlb_validator *v, const struct tlb_event *ev)
{
    return ev->sub == TLB_FREE_FRAME ? free_frame(v, ev) : free_node(v, ev);
}

enum tlb_verdict tlb_v_check_dispatch(struct tlb_validator *v, const struct tlb_event *ev)
{
    uint32_t a = ev->cpu;
    uint64_t mask = ev->u.dispatch.targets;
    uint64_t va = ev->u.dispatch.va, len = ev->u.dispatch.npages * PAGE_4K;
    v->cpus[a].last_dispatch_seq = ev->seq;
    for (uint32_t c = 0; c < v->ncpus; c++)
        OB_FOREACH_OPEN(v, c, id, nx) {
            struct oblig *o = &v->ob[id];
            if (o->creator != a || (o->flags & (OB_DISPATCHED | OB_COLLAPSE)))
                continue;
            if (len != 0 && !tlb_v_ob_overlaps(o, va, len))
                continue;
            if (mask & (1ull << c)) {
                o->flags |= OB_DISPATCHED;
                o->dispatch_seq = ev->seq;
            } else if (!(o->flags & OB_REPORTED)) {
                tlb_v_report_oblig(v, id, TLB_T10, "R10", ev->seq, ev->seq,
                             "dispatch target set misses this CPU, which may cache the stale entry");
            }
        }
    return TLB_VERDICT_OK;
}

unsigned tlb_v_check_classify_open(const struct tlb_validator *v, const struct oblig *o, uint32_t initiator)
{
    const struct vcpu *c = &v->cpus[o->cpu];
    uint64_t since = o->dispatch_seq > o->created_seq ? o->dispatch_seq : o->created_seq;
    if (o->creator != initiator)
        return TLB_T4;
    if ((o->flags & OB_GLOBAL) && !(o->flags & OB_PSC) && c->last_full_flush_seq > o->created_seq)
        return TLB_T13;
    if (c->last_partial_flush_seq > since)
        return TLB_T16;
    if (!(o->flags & OB_DISPATCHED))
        return TLB_T15;
    if (v->cpus[initiator].last_sync_seq < o->dispatch_seq)
        return TLB_T20;
    return TLB_T11;
}

static const char *classify_why(unsigned cls)
{
    switch (cls) {
    case TLB_T4: return "operation completes while another CPU's unflushed downgrade in its range may still be cached";
    case TLB_T13: return "a global entry survived a non-global full flush (CR3 reload) and was never flushed";
    case TLB_T16: return "this CPU flushed, but not this address/range: the stale entry remains";
    case TLB_T15: return "the downgrade was never flushed on this CPU (no dispatch, no local flush)";
    case TLB_T20: return "operation completes after dispatch but before sync: this CPU has not flushed yet";
    default: return "obligation dropped: the target acknowledged without flushing";
    }
}

static uint64_t missed_seq(const struct tlb_validator *v, const struct oblig *o, unsigned cls)
{
    const struct vcpu *c = &v->cpus[o->cpu];
    if (cls == TLB_T13)
        return c->last_full_flush_seq;
    if (cls == TLB_T16)
        return c->last_partial_flush_seq;
    return o->dispatch_seq;
}

enum tlb_verdict tlb_v_check_sync(struct tlb_validator *v, const struct tlb_event *ev)
{
    uint32_t a = ev->cpu;
    uint64_t mask = ev->u.sync.targets;
    v->cpus[a].last_sync_seq = ev->seq;
    for (uint32_t c = 0; c < v->ncpus; c++) {
        if (!(mask & (1ull << c)))
            continue;
        OB_FOREACH_OPEN(v, c, id, nx) {
            const struct oblig *o = &v->ob[id];
            if (o->creator != a || !(o->flags & OB_DISPATCHED) || (o->flags & (OB_REPORTED | OB_COLLAPSE)))
                continue;
            unsigned cls = tlb_v_check_classify_open(v, o, a);
            tlb_v_report_oblig(v, id, cls, tlb_v_class_rule(cls), ev->seq, missed_seq(v, o, cls),
                         cls == TLB_T11 ? "sync completed, but this target never flushed the entry it was sent"
                                        : classify_why(cls));
        }
    }
    return TLB_VERDICT_OK;
}

enum tlb_verdict tlb_v_check_op_begin(struct tlb_validator *v, const struct tlb_event *ev)
{
    struct vcpu *c = &v->cpus[ev->cpu];
    if (c->in_op)
        return tlb_v_bad_input(v, "event %llu: operation begins on CPU %u while its operation from event %llu "
                           "has not ended", (unsigned long long)ev->seq, ev->cpu, (unsigned long long)c->op_seq);
    c->in_op = true;
    c->op_kind = ev->sub;
    c->op_start = ev->u.range.start;
    c->op_end = ev->u.range.end;
    c->op_seq = ev->seq;
    c->op_root = ev->root;
    return TLB_VERDICT_OK;
}

enum tlb_verdict tlb_v_check_op_end(struct tlb_validator *v, const struct tlb_event *ev)
{
    struct vcpu *me = &v->cpus[ev->cpu];
    if (!me->in_op || me->op_kind != ev->sub || me->op_start != ev->u.range.start ||
        me->op_end != ev->u.range.end)
        return tlb_v_bad_input(v, "event %llu: operation end on CPU %u does not match an operation begun on "
                           "that CPU (same kind and range)", (unsigned long long)ev->seq, ev->cpu);
    me->in_op = false;
    uint64_t start = ev->u.range.start, len = ev->u.range.end - start;   /* end 0 = 2^64 */
    for (uint32_t c = 0; c < v->ncpus; c++)
        OB_FOREACH_OPEN(v, c, id, nx) {
            const struct oblig *o = &v->ob[id];
            if ((o->flags & (OB_REPORTED | OB_COLLAPSE)) || !tlb_v_ob_overlaps(o, start, len))
                continue;
            if (o->root && ev->root && o->root != ev->root && o->va < KERNEL_HALF)
                continue;   /* another address space's user half (0 = unknown: assume the same) */
            unsigned cls = tlb_v_check_classify_open(v, o, ev->cpu);
            tlb_v_report_oblig(v, id, cls, tlb_v_class_rule(cls), ev->seq, missed_seq(v, o, cls), classify_why(cls));
        }
    return TLB_VERDICT_OK;
}

void tlb_v_check_finish(struct tlb_validator *v)
{
    for (uint32_t c = 0; c < v->ncpus; c++)
        OB_FOREACH_OPEN(v, c, id, nx) {
            const struct oblig *o = &v->ob[id];
            if (o->flags & (OB_REPORTED | OB_COLLAPSE))   /* a collapse's old table never freed: harmless */
                continue;
            tlb_v_report_oblig(v, id, TLB_T11, "R3", v->last_seq, v->cpus[c].last_partial_flush_seq,
                         "obligation never discharged: the stream ended with this CPU still able to cache "
                         "the stale entry");
        }
}

enum tlb_verdict tlb_v_check_activate(struct tlb_validator *v, const struct tlb_event *ev)
{
    struct vcpu *c = &v->cpus[ev->cpu];
    v->saw_activate = true;
    uint32_t i;
    for (i = 0; i < c->nentered && c->entered[i] != ev->root; i++)
        ;
    if (ev->sub == TLB_ACTIVATE_ENTER && i == c->nentered) {
        if (c->nentered < 8)
            c->entered[c->nentered++] = ev->root;
        else
            c->entered_overflow = true;
    } else if (ev->sub == TLB_ACTIVATE_LEAVE && i < c->nentered) {
        c->entered[i] = c->entered[--c->nentered];
    }
    return TLB_VERDICT_OK;
}

void tlb_v_check_cr3_activated(struct tlb_validator *v, const struct tlb_event *ev)
{
    const struct vcpu *c = &v->cpus[ev->cpu];
    if (!v->opt.report_lints || !v->saw_activate || c->entered_overflow)
        return;
    for (uint32_t i = 0; i < c->nentered; i++)
        if (c->entered[i] == ev->root)
            return;
    struct report_args a = { TLB_REPORT_HINT, 0, "R10", ev->cpu, ev->root, 0, 0, 0, 0, 0, ev->seq };
    tlb_v_report_add(v, &a, "CR3 load of root 0x%llx on CPU %u, which has not entered that address space's CPU set: "
               "a dispatch that snapshots the set would miss this CPU", (unsigned long long)ev->root, ev->cpu);
}
