/*
 * PTE stores: check them against the modelled tree, classify the change
 * (SDM §4.10.4.2/3: rules R2, R3, R4) and create flush obligations on every
 * CPU that may cache the old entry; then apply the store to the model.
 *
 * Downgrades (obligations): a hardware-present leaf that becomes absent,
 * PROT_NONE or a table; a frame change; RW 1->0; U/S 1->0; NX 0->1; a
 * cache-policy change (PWT, PCD, PAT); A 1->0; D 1->0; any G change. A
 * present table entry that is removed, repointed, turned into a leaf or
 * loses RW/U/S: a paging-structure obligation for its whole span, plus leaf
 * obligations for every present leaf below it (they were reachable, so they
 * may be cached, R1). Upgrades (P 0->1, RW 0->1, U/S 0->1, NX 1->0, A/D
 * 0->1) create none (R2); they may be reported as spurious-fault hints.
 *
 * Which CPUs may cache the old entry: those whose current or retained roots
 * and PCIDs reach it AND that used them while the entry (its whole path)
 * was available, i.e. after its `since` store (validator_cpu.c). A store
 * resets `since` when it makes the entry present or downgrades it (the old
 * form is then covered by the obligations just created); an upgrade or an
 * equivalent split keeps it, because a CPU that left before may still hold
 * the older form, which the next downgrade makes just as stale.
 */
#include <stdlib.h>

#include "pagetable/x86_64.h"
#include "validator_internal.h"

#define PTE_PAT_HUGE (1ull << 12)   /* PAT bit of a 2 MiB / 1 GiB leaf */

/* `globals`: global leaves may be concerned (else gbound is left 0: it costs a scan of the
 * CPU's roots, and most stale entries are not global). False when memory runs out. */
static bool reach_compute(struct tlb_validator *v, const struct vnode *top, struct reach *r, bool globals)
{
    size_t need = 0;
    for (uint32_t c = 0; c < v->ncpus; c++)
        need += v->cpus[c].nslots;
    if (need > r->cap) {
        size_t cap = need * 2;
        uint16_t *p = realloc(r->pcids, cap * sizeof *p);
        if (p)
            r->pcids = p;
        uint64_t *b = p ? realloc(r->pbound, cap * sizeof *b) : NULL;
        if (!b)
            return false;
        r->pbound = b;
        r->cap = cap;
    }
    uint32_t k = 0;
    for (uint32_t c = 0; c < v->ncpus; c++) {
        r->first[c] = k;
        if (top && v->cpus[c].nslots > 0)   /* (r->pcids is NULL while no CPU has a slot) */
            k += (uint32_t)tlb_v_cpu_reach_pcids(v, c, top, r->pcids + k, r->pbound + k, v->cpus[c].nslots);
        r->gbound[c] = globals ? tlb_v_cpu_reach_global(v, c, top) : 0;
    }
    r->first[v->ncpus] = k;
    return true;
}

static bool hw_present(uint64_t pte) { return pte & PTE_P; }
static bool is_leaf(uint64_t pte) { return pte != 0 && (pte & PTE_PS); }
static bool is_table(uint64_t pte) { return pte != 0 && !(pte & PTE_PS); }

/* Why a present leaf `old` -> `new` needs a flush, or NULL if it does not. */
static const char *leaf_downgrade(uint64_t old, uint64_t new, int level)
{
    if (new == 0)
        return "present leaf removed";
    if (!is_leaf(new))
        return "present leaf replaced by a table pointer";
    if (!hw_present(new))
        return "present leaf made non-present (PROT_NONE)";
    uint64_t mask = pt_leaf_addr_mask(level);
    if ((old & mask) != (new & mask))
        return "leaf frame changed";
    if ((old & PTE_RW) && !(new & PTE_RW))
        return "write permission removed (RW 1->0)";
    if ((old & PTE_US) && !(new & PTE_US))
        return "user access removed (U/S 1->0)";
    if (!(old & PTE_NX) && (new & PTE_NX))
        return "execute permission removed (NX 0->1)";
    uint64_t cache = PTE_PWT | PTE_PCD | (level > 1 ? PTE_PAT_HUGE : 0);
    if ((old ^ new) & cache)
        return "cache policy changed";
    if ((old & PTE_A) && !(new & PTE_A))
        return "accessed bit cleared (A 1->0)";
    if ((old & PTE_D) && !(new & PTE_D))
        return "dirty bit cleared (D 1->0)";
    if ((old ^ new) & PTE_G)
        return "global bit changed";
    return NULL;
}

static const char *table_downgrade(uint64_t old, uint64_t new)
{
    if (new == 0)
        return "table entry removed";
    if (is_leaf(new))
        return "table entry replaced by a leaf";
    if ((old & PTE_TABLE_ADDR_MASK) != (new & PTE_TABLE_ADDR_MASK))
        return "table entry repointed to another node";
    if (!hw_present(new) || ((old & PTE_RW) && !(new & PTE_RW)) || ((old & PTE_US) && !(new & PTE_US)) ||
        (!(old & PTE_NX) && (new & PTE_NX)))
        return "table entry permissions reduced";
    return NULL;
}

/* Bits that make two leaves the same translation (A/D and software bits aside). */
#define SAME_XLATE_MASK (PTE_P | PTE_RW | PTE_US | PTE_PWT | PTE_PCD | PTE_G | PTE_NX)

/*
 * Is the huge leaf `leaf` at `level` equivalent to the table `child` (at
 * level - 1): all 512 entries present leaves mapping the same frames, in
 * order, with the same access rights, global bit and cache bits? Then a
 * direct swap either way -- a split (OSTD's split of a huge page) or a
 * collapse (Linux's CPA collapse of the direct map) -- changes no
 * translation of any address: not a page-size change in the sense of R4
 * (SDM §4.10.2.3 forbids changing the size together with the frame or
 * attributes). A split needs no flush at all; a collapse leaves the old
 * table reachable through paging-structure caches (see collapse_apply).
 */
static bool equivalent_huge(const struct tlb_validator *v, uint64_t leaf, int level, uint64_t table)
{
    const struct vnode *c = tlb_v_tree_node(v, table & PTE_TABLE_ADDR_MASK);
    if (!c || c->level != level - 1 || !hw_present(leaf))
        return false;
    uint64_t base = leaf & pt_leaf_addr_mask(level), stride = pt_page_size(level - 1);
    uint64_t attrs = leaf & SAME_XLATE_MASK;
    for (unsigned i = 0; i < 512; i++) {
        uint64_t e = c->pte[i];
        if (!is_leaf(e) || (e & pt_leaf_addr_mask(c->level)) != base + i * stride ||
            (e & SAME_XLATE_MASK) != attrs)
            return false;
    }
    return true;
}

/* Is there already an identical open leaf obligation (same CPU, PCID, span, frame)? */
static bool leaf_dup(const struct tlb_validator *v, uint32_t c, uint16_t pcid, uint64_t va, int level,
                     uint64_t frame)
{
    OB_FOREACH_OPEN(v, c, id, nx) {
        const struct oblig *o = &v->ob[id];
        if (!(o->flags & OB_PSC) && o->pcid == pcid && o->va == va && o->level == level &&
            o->frame == frame)
            return true;
    }
    return false;
}

struct leaf_ctx {
    struct tlb_validator *v;
    const struct tlb_event *ev;
    const struct reach *r;
    uint32_t extra_flags;
    bool oom;
};

/* Create the obligations for one stale leaf entry, available since `since`, on every CPU that may
 * cache it. */
static void leaf_obligations(struct leaf_ctx *x, struct vnode *n, unsigned idx, uint64_t old,
                             uint64_t new, uint64_t since)
{
    struct tlb_validator *v = x->v;
    uint64_t va = tlb_v_tree_entry_va(n, idx), size = pt_page_size(n->level);
    uint64_t frame = old & pt_leaf_addr_mask(n->level);
    bool global = old & PTE_G;
    /* Duplicates are only possible if this entry already has an obligation that may be open. */
    bool may_dup = n->ob_epoch[idx] == v->ob_epoch;
    /* Still mapped somewhere else once this mapping goes (an alias)? */
    uint32_t others = tlb_v_rmap_count_frame_range(v, frame, size);
    if (tlb_v_pte_tracked_leaf(old, n->level) && others > 0)
        others--;
    for (uint32_t c = 0; c < v->ncpus; c++) {
        uint32_t k0 = global ? 0 : x->r->first[c];
        uint32_t k1 = global ? (since < x->r->gbound[c] ? 1 : 0) : x->r->first[c + 1];
        for (uint32_t k = k0; k < k1; k++) {
            if (!global && since >= x->r->pbound[k])
                continue;   /* this PCID stopped being used before the entry was available */
            uint16_t pcid = global ? v->cpus[c].pcid : x->r->pcids[k];
            if (may_dup && leaf_dup(v, c, pcid, va, n->level, frame))
                continue;
            uint32_t id = tlb_v_ob_alloc(v);
            if (id == NONE32) {
                x->oom = true;
                return;
            }
            struct oblig *o = &v->ob[id];
            o->cpu = (uint8_t)c;
            o->level = n->level;
            o->creator = (uint8_t)x->ev->cpu;
            o->pcid = pcid;
            o->index = (uint16_t)idx;
            o->va = va;
            o->size = size;
            o->root = x->ev->root;
            o->node = n->pa;
            o->old_pte = old;
            o->new_pte = new;
            o->frame = frame;
            o->frame_size = size;
            o->created_seq = x->ev->seq;
            o->created_ev = *x->ev;
            o->flags = x->extra_flags | (global ? OB_GLOBAL : 0) | (others ? OB_ALIAS : 0);
            tlb_v_ob_open(v, id);
            n->ob_epoch[idx] = v->ob_epoch;
        }
    }
}

/* Leaf obligations for every present leaf below node n, whose path down to n has been available
 * since `since`. */
static void subtree_leaves(struct leaf_ctx *x, struct vnode *n, uint64_t since, int depth)
{
    if (!n || depth > 4)
        return;
    for (unsigned i = 0; i < 512 && !x->oom; i++) {
        uint64_t e = n->pte[i];
        if (e == 0)
            continue;
        uint64_t s = n->since[i] > since ? n->since[i] : since;
        if (e & PTE_PS) {
            if (hw_present(e))
                leaf_obligations(x, n, i, e, 0, s);
        } else if (n->level > 1)
            subtree_leaves(x, tlb_v_tree_node(x->v, e & PTE_TABLE_ADDR_MASK), s, depth + 1);
    }
}

/* Paging-structure obligations for a removed/changed table entry, and its leaves (none for an
 * equivalent collapse: every translation stays the same, only the table's PSC entries matter). */
static bool psc_obligations(struct tlb_validator *v, const struct tlb_event *ev, struct vnode *n,
                            const struct reach *r, bool collapse)
{
    unsigned idx = ev->arg;
    uint64_t since = tlb_v_tree_entry_since(n, idx);
    uint64_t old = ev->u.pte.old_pte;
    uint32_t nn = 0;
    uint64_t *nodes = tlb_v_tree_subtree_nodes(v, old, &nn);
    uint32_t *refs = nodes ? malloc(sizeof *refs) : NULL;
    if (nodes && !refs) {
        free(nodes);
        return false;
    }
    if (refs)
        *refs = 0;
    for (uint32_t c = 0; c < v->ncpus; c++)
        for (uint32_t k = r->first[c]; k < r->first[c + 1]; k++) {
            if (since >= r->pbound[k])
                continue;   /* this PCID stopped being used before the table entry was available */
            uint32_t id = tlb_v_ob_alloc(v);
            if (id == NONE32)
                return false;
            struct oblig *o = &v->ob[id];
            o->cpu = (uint8_t)c;
            o->level = n->level;
            o->creator = (uint8_t)ev->cpu;
            o->pcid = r->pcids[k];
            o->index = (uint16_t)idx;
            o->va = tlb_v_tree_entry_va(n, idx);
            o->size = pt_page_size(n->level);
            o->root = ev->root;
            o->node = n->pa;
            o->old_pte = old;
            o->new_pte = ev->u.pte.new_pte;
            o->frame = old & PTE_TABLE_ADDR_MASK;
            o->created_seq = ev->seq;
            o->created_ev = *ev;
            o->flags = OB_PSC | (collapse ? OB_COLLAPSE : 0);
            if (refs) {
                o->snap_nodes = nodes;
                o->snap_refs = refs;
                o->snap_n = nn;
                (*refs)++;
            }
            tlb_v_ob_open(v, id);
        }
    if (refs && *refs == 0) {
        free(nodes);
        free(refs);
    }
    if (collapse)
        return true;
    struct leaf_ctx x = { v, ev, r, OB_VIA_PSC, false };
    subtree_leaves(&x, tlb_v_tree_node(v, old & PTE_TABLE_ADDR_MASK), since, 0);
    return !x.oom;
}

/*
 * Can CPU c use the stale entry of obligation o and the entry stored now (at `seq`, below `top`)
 * for the same reference? R4 (SDM Vol. 3A §4.10.2.3) is about the TLB holding translations of
 * two page sizes for one linear address that a lookup may choose between. A CPU fills its TLB
 * only from the paging structures of its current CR3 (SDM §4.10.2.1), and a lookup uses only the
 * entries of the current PCID and global entries (SDM §4.10.1, §4.10.2.4). So the new entry
 * meets the stale one only on a CPU whose current PCID's root reaches it, and only if the stale
 * entry is global or of that same PCID. Anywhere else, the CPU must first load CR3 for that
 * root: without the no-flush bit that load discharges a stale non-global entry (R7); with it,
 * it is reported as T14 (a PCID reused while it still holds a stale entry); and a stale global
 * entry the CPU takes along is the retained-global model's business (T10/T13 when a dispatch
 * or a full flush misses it, T11 at the end of the stream).
 * Before this, a stale 4 KiB entry of address space A on a CPU running A was reported against a
 * 2 MiB leaf mapped at the same VA in another address space B that the CPU was not running.
 */
static bool bbm_same_context(const struct tlb_validator *v, uint32_t c, const struct oblig *o,
                             const struct vnode *top, uint64_t seq)
{
    const struct vcpu *cpu = &v->cpus[c];
    for (uint32_t i = 0; i < cpu->nslots; i++)   /* seq < bound: the PCID is current (bound SEQ_CURRENT) */
        if (seq < tlb_v_cpu_slot_bound(v, c, i, top) && ((o->flags & OB_GLOBAL) || cpu->slots[i].pcid == o->pcid))
            return true;
    return false;
}

/* Break-before-make (R4, T12) for a store that makes the entry present. */
static void check_bbm(struct tlb_validator *v, const struct tlb_event *ev, const struct vnode *n)
{
    uint64_t old = ev->u.pte.old_pte, new = ev->u.pte.new_pte;
    unsigned idx = ev->arg;
    uint64_t va = tlb_v_tree_entry_va(n, idx), size = pt_page_size(n->level);
    if (!hw_present(new))
        return;
    if (hw_present(old) && is_leaf(old) != is_leaf(new)) {
        struct report_args a = { TLB_REPORT_VIOLATION, TLB_T12, "R4", ev->cpu, ev->root, va, size,
                                 is_leaf(old) ? old & pt_leaf_addr_mask(n->level) : old & PTE_TABLE_ADDR_MASK,
                                 ev->seq, 0, ev->seq, NULL };
        tlb_v_report_add(v, &a, "page-size change without break-before-make: a present %s at level %u is "
                   "replaced directly by a present %s (old 0x%llx, new 0x%llx)",
                   is_leaf(old) ? "leaf" : "table entry", n->level, is_leaf(new) ? "leaf" : "table entry",
                   (unsigned long long)old, (unsigned long long)new);
        /* The obligations this store created are part of the same bug: report once. */
        for (uint32_t c = 0; c < v->ncpus; c++)
            OB_FOREACH_OPEN(v, c, id, nx)
                if (v->ob[id].created_seq == ev->seq)
                    v->ob[id].flags |= OB_REPORTED;
        return;
    }
    if (hw_present(old))
        return;
    /* Made present: an unflushed entry of another page size over this span breaks BBM -- on a CPU
     * that can hold both at once (bbm_same_context). */
    const struct vnode *top = tlb_v_tree_top(n);
    for (uint32_t c = 0; c < v->ncpus; c++)
        OB_FOREACH_OPEN(v, c, id, nx) {
            const struct oblig *o = &v->ob[id];
            if ((o->flags & (OB_PSC | OB_REPORTED)) || !tlb_v_ob_overlaps(o, va, size))
                continue;
            bool conflict = is_leaf(new) ? o->level != n->level : o->level >= n->level;
            if (conflict && bbm_same_context(v, c, o, top, ev->seq))
                tlb_v_report_oblig(v, id, TLB_T12, "R4", ev->seq, 0,
                             "page-size change without break-before-make: a new entry of another size "
                             "is made present while this CPU may still cache the old one");
        }
}

static void mark_moved(struct tlb_validator *v, uint64_t new, int level)
{
    uint64_t frame = new & pt_leaf_addr_mask(level), size = pt_page_size(level);
    for (uint32_t c = 0; c < v->ncpus; c++)
        OB_FOREACH_OPEN(v, c, id, nx) {
            struct oblig *o = &v->ob[id];
            if (!(o->flags & OB_PSC) && o->frame < frame + size && frame < o->frame + o->frame_size)
                o->flags |= OB_MOVED;
        }
}

static void upgrade_hint(struct tlb_validator *v, const struct tlb_event *ev, const struct vnode *n)
{
    uint64_t old = ev->u.pte.old_pte, new = ev->u.pte.new_pte;
    if (!v->opt.report_upgrades || !is_leaf(old) || !is_leaf(new) || !hw_present(old) || !hw_present(new))
        return;
    bool up = (!(old & PTE_RW) && (new & PTE_RW)) || (!(old & PTE_US) && (new & PTE_US)) ||
              ((old & PTE_NX) && !(new & PTE_NX));
    if (!up)
        return;
    struct report_args a = { TLB_REPORT_HINT, 0, "R2", ev->cpu, ev->root, tlb_v_tree_entry_va(n, ev->arg),
                             pt_page_size(n->level), new & pt_leaf_addr_mask(n->level), ev->seq, 0, ev->seq, NULL };
    tlb_v_report_add(v, &a, "permission upgrade without a flush: CPUs may take one spurious page fault");
}

static enum tlb_verdict check_shape(struct tlb_validator *v, const struct tlb_event *ev)
{
    uint64_t e = ev->u.pte.new_pte;
    if (ev->sub == 4 && is_leaf(e))
        return tlb_v_bad_input(v, "event %llu: PTE store of a leaf (bit 7 set) into level-4 node 0x%llx index %u",
                           (unsigned long long)ev->seq, (unsigned long long)ev->u.pte.node, ev->arg);
    if (ev->sub == 1 && is_table(e))
        return tlb_v_bad_input(v, "event %llu: PTE store of a table pointer (bit 7 clear) into level-1 node "
                           "0x%llx index %u", (unsigned long long)ev->seq,
                           (unsigned long long)ev->u.pte.node, ev->arg);
    if (is_table(e) && (e & PTE_TABLE_ADDR_MASK) == ev->u.pte.node)
        return tlb_v_bad_input(v, "event %llu: node 0x%llx points to itself", (unsigned long long)ev->seq,
                           (unsigned long long)ev->u.pte.node);
    return TLB_VERDICT_OK;
}

/*
 * The bits the MMU may have set in memory since the last store, without any
 * event (SDM Vol. 3A §4.8): A in any present entry it used for a walk (a
 * table entry has no D: bit 6 is ignored there), A and D in a present leaf of
 * any size it translated through (D on a write). Never on a non-present
 * entry, and the MMU only sets them: it never clears one.
 */
static uint64_t mmu_set_bits(uint64_t model)
{
    if (!hw_present(model))
        return 0;
    return is_leaf(model) ? PTE_A | PTE_D : PTE_A;
}

/* Does `old` differ from the modelled entry only by A/D bits the MMU set? */
static bool mmu_updated(uint64_t model, uint64_t old)
{
    uint64_t bits = mmu_set_bits(model);
    return model != old && ((model ^ old) & ~bits) == 0 && (model & ~old) == 0;
}

/* Take `old` as the entry's value (it predates the stream): link/count it like a store would. */
static enum tlb_verdict adopt(struct tlb_validator *v, struct vnode *n, unsigned idx, uint64_t old, uint64_t seq)
{
    if ((n->level == 4 && is_leaf(old)) || (n->level == 1 && is_table(old)))
        return tlb_v_bad_input(v, "event %llu: adopted old value 0x%llx does not fit a level-%u node",
                           (unsigned long long)seq, (unsigned long long)old, n->level);
    n->pte[idx] = old;
    if (is_table(old) && !tlb_v_tree_link(v, n, idx, old, seq))
        return TLB_VERDICT_BAD_INPUT;
    if (is_leaf(old) && !tlb_v_rmap_add(v, old, n->level, +1, n->pa, idx))
        return tlb_v_bad_input(v, "event %llu: out of memory", (unsigned long long)seq);
    return TLB_VERDICT_OK;
}

/*
 * An equivalent collapse (a present table entry replaced by a huge leaf that
 * maps the same frames with the same attributes): legal without
 * break-before-make (SDM §4.10.2.3), and no translation goes stale. But CPUs
 * may still cache the old table entry in their paging-structure caches and
 * walk the old table through it: harmless while it stays intact, a bug once
 * it is freed (T9). So only paging-structure obligations are created, marked
 * OB_COLLAPSE: discharged by the usual flushes, checked only when the table
 * is freed. The huge leaf has been available since its path was and the
 * earliest of the small leaves (a CPU may hold those forms).
 */
static enum tlb_verdict collapse_apply(struct tlb_validator *v, const struct tlb_event *ev, struct vnode *n)
{
    unsigned idx = ev->arg;
    const struct vnode *child = tlb_v_tree_node(v, ev->u.pte.old_pte & PTE_TABLE_ADDR_MASK);
    uint64_t first = UINT64_MAX;
    for (unsigned i = 0; i < 512; i++)
        first = child->since[i] < first ? child->since[i] : first;
    struct reach *r = &v->reach;
    if (!reach_compute(v, tlb_v_tree_top(n), r, false) || !psc_obligations(v, ev, n, r, true))
        return tlb_v_bad_input(v, "event %llu: out of memory", (unsigned long long)ev->seq);
    if (first > n->since[idx])
        n->since[idx] = first;
    return TLB_VERDICT_OK;
}

enum tlb_verdict tlb_v_store_apply(struct tlb_validator *v, const struct tlb_event *ev)
{
    if (check_shape(v, ev) != TLB_VERDICT_OK)
        return TLB_VERDICT_BAD_INPUT;
    int level = ev->sub;
    unsigned idx = ev->arg;
    uint64_t old = ev->u.pte.old_pte, new = ev->u.pte.new_pte;
    struct vnode *n = tlb_v_tree_node_get(v, ev->u.pte.node, level, ev->seq);
    if (!n)
        return TLB_VERDICT_BAD_INPUT;
    uint64_t bit = 1ull << (idx & 63);
    bool first = !(n->written[idx >> 6] & bit);
    n->written[idx >> 6] |= bit;
    /* A node allocated in the stream has no entry that predates it: nothing to adopt. */
    if (n->pte[idx] != old && first && n->pte[idx] == 0 && v->opt.adopt_unknown_entries && !n->whole &&
        adopt(v, n, idx, old, ev->seq) != TLB_VERDICT_OK)
        return TLB_VERDICT_BAD_INPUT;
    /* The MMU set A/D in memory: real, not a lost event. The entry's translation and `since` stay;
     * the model takes the bits from `old` (so clearing them later is a downgrade, R2). */
    if (mmu_updated(n->pte[idx], old))
        n->pte[idx] = old;
    if (n->pte[idx] != old && n->whole && first)
        return tlb_v_bad_input(v, "event %llu: PTE store to node 0x%llx index %u says the old value was 0x%llx, "
                           "but the node was allocated with every entry zero at event %llu and this entry "
                           "was never stored to since (a store without an event?)",
                           (unsigned long long)ev->seq, (unsigned long long)n->pa, idx,
                           (unsigned long long)old, (unsigned long long)n->alloc_seq);
    if (n->pte[idx] != old)
        return tlb_v_bad_input(v, "event %llu: PTE store to node 0x%llx index %u says the old value was 0x%llx, "
                           "but the modelled value is 0x%llx (lost or reordered events?)",
                           (unsigned long long)ev->seq, (unsigned long long)n->pa, idx,
                           (unsigned long long)old, (unsigned long long)n->pte[idx]);
    if (old == new)
        return TLB_VERDICT_OK;
    /* Keep the entry's `since` across an upgrade or an equivalent split of a present entry. */
    bool keep_since = false;
    bool attached = tlb_v_tree_attached(n);
    if (attached && is_leaf(old) && is_table(new) && equivalent_huge(v, old, level, new)) {
        keep_since = true;
        /* The small leaves give the same translations as the huge one: available since the same store. */
        struct vnode *child = tlb_v_tree_node(v, new & PTE_TABLE_ADDR_MASK);
        for (unsigned i = 0; i < 512; i++)
            child->since[i] = n->since[idx];
    } else if (attached && is_table(old) && hw_present(old) && is_leaf(new) && equivalent_huge(v, new, level, old)) {
        keep_since = true;   /* collapse_apply sets it */
        if (collapse_apply(v, ev, n) != TLB_VERDICT_OK)
            return TLB_VERDICT_BAD_INPUT;
    } else if (attached) {
        struct reach *r = &v->reach;
        bool need = hw_present(old) &&
                    (is_leaf(old) ? leaf_downgrade(old, new, level) : table_downgrade(old, new)) != NULL;
        keep_since = hw_present(old) && !need;
        if (need) {
            if (!reach_compute(v, tlb_v_tree_top(n), r, !is_leaf(old) || (old & PTE_G)))
                return tlb_v_bad_input(v, "event %llu: out of memory", (unsigned long long)ev->seq);
            if (is_leaf(old)) {
                struct leaf_ctx x = { v, ev, r, 0, false };
                leaf_obligations(&x, n, idx, old, new, tlb_v_tree_entry_since(n, idx));
                if (x.oom)
                    return tlb_v_bad_input(v, "event %llu: out of memory", (unsigned long long)ev->seq);
            } else if (!psc_obligations(v, ev, n, r, false)) {
                return tlb_v_bad_input(v, "event %llu: out of memory", (unsigned long long)ev->seq);
            }
        }
        check_bbm(v, ev, n);
        upgrade_hint(v, ev, n);
    }
    /* Apply to the model. */
    n->pte[idx] = new;
    if (!keep_since)
        n->since[idx] = ev->seq;
    if (is_table(old))
        tlb_v_tree_unlink(v, n, idx, old);
    if (is_leaf(old))
        tlb_v_rmap_add(v, old, level, -1, n->pa, idx);
    if (is_table(new) && !tlb_v_tree_link(v, n, idx, new, ev->seq))
        return TLB_VERDICT_BAD_INPUT;
    if (is_leaf(new)) {
        if (tlb_v_pte_tracked_leaf(new, level))   /* the linear map moves no frame */
            mark_moved(v, new, level);
        if (!tlb_v_rmap_add(v, new, level, +1, n->pa, idx))
            return tlb_v_bad_input(v, "event %llu: out of memory", (unsigned long long)ev->seq);
    }
    return TLB_VERDICT_OK;
}

