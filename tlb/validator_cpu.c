/*
 * Per-CPU may-cache state and the discharge of obligations by the flushes
 * that CPU executes (SDM Vol. 3A §4.10.4, rules R5-R8 of the catalogue):
 *  - INVLPG va: the page's translation in the current PCID, the global
 *    translation of that page in every PCID, and every paging-structure-cache
 *    entry of the current PCID (R5). A non-canonical operand does nothing.
 *  - RANGE: one INVLPG per 4 KiB page.
 *  - ALL_NONGLOBAL (CR3 reload) and a CR3 load without the no-flush bit: the
 *    non-global entries and PSC entries of the (new) PCID (R7). Never global
 *    entries (T13).
 *  - ALL_GLOBAL (CR4.PGE toggle): everything, every PCID (R8).
 * A CPU may cache entries of every root bound to one of its PCIDs (the
 * current one included) and global entries of every root loaded since its
 * last global flush (R1) -- but of a root or PCID it no longer uses, only
 * the entries that were available while it used it: a MOV to CR3 (no PCID)
 * invalidates every non-global TLB entry and every paging-structure-cache
 * entry (SDM §4.10.4.1), so afterwards the CPU can no longer walk the old
 * tree and can fill nothing new from it; global entries survive, and a
 * non-current PCID keeps what it cached. Each slot and each root therefore
 * carries the sequence number at which the CPU stopped using it (`until`),
 * and an entry is cacheable there only if it has been available (vnode
 * `since`, along its whole path) since before that.
 */
#include <stdlib.h>

#include "pagetable/x86_64.h"
#include "validator_internal.h"

bool tlb_v_cpu_init(struct vcpu *c)
{
    *c = (struct vcpu){ .open_head = NONE32 };
    c->slots = malloc(4 * sizeof *c->slots);
    c->capslots = c->slots ? 4 : 0;
    return c->slots != NULL;
}

void tlb_v_cpu_destroy(struct vcpu *c)
{
    free(c->slots);
    c->slots = NULL;
    free(c->groots);
    c->groots = NULL;
}

static struct pcid_slot *slot_find(struct vcpu *c, uint16_t pcid)
{
    for (uint32_t i = 0; i < c->nslots; i++)
        if (c->slots[i].pcid == pcid)
            return &c->slots[i];
    return NULL;
}

static struct pcid_slot *slot_get(struct vcpu *c, uint16_t pcid)
{
    struct pcid_slot *s = slot_find(c, pcid);
    if (s)
        return s;
    if (c->nslots == c->capslots) {
        uint32_t nc = c->capslots * 2;
        struct pcid_slot *n = realloc(c->slots, nc * sizeof *n);
        if (!n)
            return NULL;
        c->slots = n;
        c->capslots = nc;
    }
    s = &c->slots[c->nslots++];
    *s = (struct pcid_slot){ .pcid = pcid };
    return s;
}

/* Roots are page addresses (tlb_event_check), so the CPU id fits in the low 12 bits. */
static uint64_t groot_key(uint32_t ci, uint64_t root) { return root | ci; }

/* `root` becomes CPU ci's current root (again): its global entries are all cacheable from now on. */
static bool groots_add(struct tlb_validator *v, uint32_t ci, uint64_t root)
{
    struct vcpu *c = &v->cpus[ci];
    uint64_t *p = tlb_v_hmap_get(&v->groot_idx, groot_key(ci, root));
    if (p) {
        c->groots[*p].until = SEQ_CURRENT;
        return true;
    }
    if (c->ngroots == c->capgroots) {
        uint32_t nc = c->capgroots ? c->capgroots * 2 : 8;
        struct groot *n = realloc(c->groots, nc * sizeof *n);
        if (!n)
            return false;
        c->groots = n;
        c->capgroots = nc;
    }
    if (!tlb_v_hmap_put(&v->groot_idx, groot_key(ci, root), c->ngroots))
        return false;
    c->groots[c->ngroots++] = (struct groot){ root, SEQ_CURRENT };
    return true;
}

/* CPU ci switches away from `root` at `seq`: it keeps only the global entries available before. */
static void groots_leave(struct tlb_validator *v, uint32_t ci, uint64_t root, uint64_t seq)
{
    uint64_t *p = tlb_v_hmap_get(&v->groot_idx, groot_key(ci, root));
    if (p)
        v->cpus[ci].groots[*p].until = seq;
}

/* A global flush on CPU ci: it holds no global entry of any root any more. */
static void groots_clear(struct tlb_validator *v, uint32_t ci)
{
    struct vcpu *c = &v->cpus[ci];
    for (uint32_t i = 0; i < c->ngroots; i++)
        tlb_v_hmap_del(&v->groot_idx, groot_key(ci, c->groots[i].root));
    c->ngroots = 0;
}

void tlb_v_cpu_forget_root(struct tlb_validator *v, uint64_t root)
{
    for (uint32_t ci = 0; ci < v->ncpus; ci++) {
        struct vcpu *c = &v->cpus[ci];
        uint64_t *p = tlb_v_hmap_get(&v->groot_idx, groot_key(ci, root));
        if (!p)
            continue;
        uint32_t i = (uint32_t)*p;
        tlb_v_hmap_del(&v->groot_idx, groot_key(ci, root));
        if (i != --c->ngroots) {   /* move the last one into the hole */
            c->groots[i] = c->groots[c->ngroots];
            tlb_v_hmap_put(&v->groot_idx, groot_key(ci, c->groots[i].root), i);   /* overwrite: no growth */
        }
    }
}

uint64_t tlb_v_cpu_slot_bound(const struct tlb_validator *v, uint32_t ci, uint32_t i, const struct vnode *top)
{
    const struct pcid_slot *s = &v->cpus[ci].slots[i];
    return tlb_v_tree_root_bound(s->root_node, top, s->until);
}

int tlb_v_cpu_reach_pcids(const struct tlb_validator *v, uint32_t ci, const struct vnode *top,
                    uint16_t *pcids, uint64_t *bounds, uint32_t max)
{
    const struct vcpu *c = &v->cpus[ci];
    int n = 0;
    for (uint32_t i = 0; i < c->nslots && (uint32_t)n < max; i++) {
        uint64_t b = tlb_v_cpu_slot_bound(v, ci, i, top);
        if (b) {
            pcids[n] = c->slots[i].pcid;
            bounds[n++] = b;
        }
    }
    return n;
}

static uint64_t max64(uint64_t a, uint64_t b) { return a > b ? a : b; }

uint64_t tlb_v_cpu_reach_global(const struct tlb_validator *v, uint32_t ci, const struct vnode *top)
{
    const struct vcpu *c = &v->cpus[ci];
    if (!top)
        return 0;
    /* Roots bound to PCIDs are also in groots (both are reset together by a global flush), with a
     * later or equal `until`; the slots are checked too because their root_node is cached. */
    uint64_t b = 0;
    for (uint32_t i = 0; i < c->nslots && b != SEQ_CURRENT; i++)
        b = max64(b, tlb_v_tree_root_bound(c->slots[i].root_node, top, c->slots[i].until));
    /* Every live root loaded since the last global flush: as many as the address spaces this CPU
     * ran, scanned only for stale global entries (rare) and stopped early by the current root. */
    for (uint32_t i = 0; i < c->ngroots && b != SEQ_CURRENT; i++)
        b = max64(b, tlb_v_tree_root_bound(tlb_v_tree_node(v, c->groots[i].root), top, c->groots[i].until));
    return b;
}

bool tlb_v_cpu_may_cache(const struct tlb_validator *v, uint32_t ci, const struct vnode *top, uint64_t since,
                   bool global)
{
    if (!top)
        return false;
    for (uint32_t i = 0; i < v->cpus[ci].nslots; i++)   /* every PCID, however many */
        if (since < tlb_v_cpu_slot_bound(v, ci, i, top))
            return true;
    return global && since < tlb_v_cpu_reach_global(v, ci, top);
}

/* PCID reuse check (T14) for a no-flush CR3 load that switches root or PCID. */
static void check_noflush_reuse(struct tlb_validator *v, const struct tlb_event *ev)
{
    struct vcpu *c = &v->cpus[ev->cpu];
    struct pcid_slot *s = slot_find(c, ev->arg);
    if (s && s->root != ev->root) {
        struct report_args a = { TLB_REPORT_VIOLATION, TLB_T14, "R7", ev->cpu, ev->root, 0, 0,
                                 s->root, 0, 0, ev->seq };
        tlb_v_report_add(v, &a, "CR3 load with the no-flush bit binds PCID %u to root 0x%llx, but PCID %u "
                   "may still hold translations of root 0x%llx (no flush since it was bound)",
                   ev->arg, (unsigned long long)ev->root, ev->arg, (unsigned long long)s->root);
    }
    OB_FOREACH_OPEN(v, ev->cpu, id, nx) {
        struct oblig *o = &v->ob[id];
        if (o->pcid != ev->arg || ((o->flags & OB_GLOBAL) && !(o->flags & OB_PSC)) ||
            (o->flags & (OB_REPORTED | OB_COLLAPSE)))
            continue;
        tlb_v_report_oblig(v, id, TLB_T14, "R7", ev->seq, ev->seq,
                     "CR3 load with the no-flush bit reuses a PCID that still holds this stale entry");
    }
}

enum tlb_verdict tlb_v_cpu_cr3_load(struct tlb_validator *v, const struct tlb_event *ev)
{
    struct vcpu *c = &v->cpus[ev->cpu];
    struct vnode *root = tlb_v_tree_node_get(v, ev->root, 4, ev->seq);
    if (!root)
        return TLB_VERDICT_BAD_INPUT;
    bool noflush = ev->sub & TLB_CR3_NOFLUSH;
    bool switching = !c->cr3_loaded || c->pcid != ev->arg || c->root != ev->root;
    if (noflush && switching)
        check_noflush_reuse(v, ev);
    if (!noflush) {
        OB_FOREACH_OPEN(v, ev->cpu, id, nx) {
            struct oblig *o = &v->ob[id];
            if (o->pcid == ev->arg && (!(o->flags & OB_GLOBAL) || (o->flags & OB_PSC)))
                tlb_v_ob_close(v, id);
        }
        c->last_full_flush_seq = ev->seq;
    }
    /* What the CPU stops using now keeps only what was available until now. */
    if (c->cr3_loaded && c->pcid != ev->arg) {
        struct pcid_slot *old = slot_find(c, c->pcid);
        if (old)
            old->until = ev->seq;
    }
    if (c->cr3_loaded && c->root != ev->root)
        groots_leave(v, ev->cpu, c->root, ev->seq);
    struct pcid_slot *s = slot_get(c, ev->arg);
    if (!s)
        return tlb_v_bad_input(v, "event %llu: out of memory", (unsigned long long)ev->seq);
    s->root = ev->root;
    s->root_node = root;
    s->until = SEQ_CURRENT;
    c->cr3_loaded = true;
    c->pcid = ev->arg;
    c->root = ev->root;
    if (!groots_add(v, ev->cpu, ev->root))
        return tlb_v_bad_input(v, "event %llu: out of memory", (unsigned long long)ev->seq);
    return TLB_VERDICT_OK;
}

/* Close what an INVLPG over [va, va+len) discharges on CPU ci; returns how many. */
static unsigned flush_pages(struct tlb_validator *v, uint32_t ci, uint64_t va, uint64_t len)
{
    struct vcpu *c = &v->cpus[ci];
    unsigned closed = 0;
    OB_FOREACH_OPEN(v, ci, id, nx) {
        struct oblig *o = &v->ob[id];
        bool hit;
        if (o->flags & OB_PSC)
            hit = o->pcid == c->pcid;
        else
            hit = (o->pcid == c->pcid || (o->flags & OB_GLOBAL)) && tlb_v_ob_overlaps(o, va, len);
        if (hit) {
            tlb_v_ob_close(v, id);
            closed++;
        }
    }
    return closed;
}

static void lint(struct tlb_validator *v, const struct tlb_event *ev, const char *why)
{
    if (!v->opt.report_lints)
        return;
    struct report_args a = { TLB_REPORT_HINT, 0, "R5", ev->cpu, v->cpus[ev->cpu].root,
                             ev->u.flush.va, ev->u.flush.npages * PAGE_4K, 0, 0, 0, ev->seq };
    tlb_v_report_add(v, &a, "%s", why);
}

enum tlb_verdict tlb_v_cpu_flush(struct tlb_validator *v, const struct tlb_event *ev)
{
    struct vcpu *c = &v->cpus[ev->cpu];
    uint64_t va = ev->u.flush.va;
    switch (ev->sub) {
    case TLB_FLUSH_SINGLE:
    case TLB_FLUSH_RANGE:
        c->last_partial_flush_seq = ev->seq;
        if (!pt_is_canonical(va)) {
            lint(v, ev, "INVLPG of a non-canonical address is a no-op");
            break;
        }
        if (flush_pages(v, ev->cpu, va, ev->u.flush.npages * PAGE_4K) == 0)
            lint(v, ev, "flush of a clean VA: no open obligation on this CPU was discharged");
        break;
    case TLB_FLUSH_ALL_NONGLOBAL:
        OB_FOREACH_OPEN(v, ev->cpu, id, nx) {
            struct oblig *o = &v->ob[id];
            if (o->pcid == c->pcid && (!(o->flags & OB_GLOBAL) || (o->flags & OB_PSC)))
                tlb_v_ob_close(v, id);
        }
        c->last_full_flush_seq = ev->seq;
        break;
    case TLB_FLUSH_ALL_GLOBAL:
        while (c->open_head != NONE32)
            tlb_v_ob_close(v, c->open_head);
        /* Every PCID is empty now: only the current root stays bound. */
        if (c->cr3_loaded) {
            struct pcid_slot *cur = slot_find(c, c->pcid);
            struct pcid_slot keep = cur ? *cur : (struct pcid_slot){ 0 };
            c->nslots = 0;
            if (cur) {
                c->slots[0] = keep;
                c->nslots = 1;
            }
            groots_clear(v, ev->cpu);
            if (!groots_add(v, ev->cpu, c->root))
                return tlb_v_bad_input(v, "event %llu: out of memory", (unsigned long long)ev->seq);
        }
        c->last_full_flush_seq = ev->seq;
        break;
    }
    return TLB_VERDICT_OK;
}
