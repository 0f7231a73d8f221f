/*
 * A VmSpace-style layer over the cursor and the flusher (OSTD vm_space.rs,
 * with the seed's replace-on-map semantics). See flusher_vmspace.h.
 */
#include "flusher_internal.h"
#include "tlb/flusher_vmspace.h"

/* Finishes both init paths once pt_create* returned r: on success the space
   starts with no CPU and no global mapping; on failure returns r unchanged. */
static int vmspace_created(struct tlb_vmspace *vs, struct tlb_domain *dom, int r)
{
    if (r < 0)
        return r;
    tlb_cpuset_init(&vs->cpus);
    vs->dom = dom;
    vs->may_have_global = 0;
    return TLB_OK;
}

int tlb_vmspace_init(struct tlb_vmspace *vs, struct tlb_domain *dom, const struct pt_config *cfg)
{
    if (!vs || !dom || !cfg)
        return TLB_ERR_INVAL;
    int r = pt_create(&vs->pt, dom->mem, cfg);
    return vmspace_created(vs, dom, r);
}

int tlb_vmspace_init_sharing(struct tlb_vmspace *vs, struct tlb_domain *dom,
                             const struct pt_page_table *kernel, const struct pt_config *user_cfg)
{
    if (!vs || !dom || !kernel || !user_cfg)
        return TLB_ERR_INVAL;
    /* The new root's kernel-half entries are stored before anyone knows its
       address: those stores carry root 0 (unknown, allowed by the event
       format), not the root of whatever the caller is working on. */
    pt_paddr_t prev = tlb_ctx_enter(dom, 0);
    int r = pt_create_user_sharing(&vs->pt, kernel, user_cfg);
    tlb_ctx_leave(dom, prev);
    return vmspace_created(vs, dom, r);
}

int tlb_vmspace_destroy(struct tlb_vmspace *vs)
{
    if (tlb_cpuset_snapshot(&vs->cpus) != 0)
        return TLB_ERR_BUSY;
    pt_paddr_t prev = tlb_ctx_enter(vs->dom, vs->pt.root);
    pt_destroy(&vs->pt);
    tlb_ctx_leave(vs->dom, prev);
    return TLB_OK;
}

static bool space_may_have_global(struct tlb_vmspace *vs)
{
    return __atomic_load_n(&vs->may_have_global, __ATOMIC_ACQUIRE) != 0;
}

/*
 * Set before the PTE store of a global leaf (release; x86 keeps stores in
 * order), so a CPU that can have cached the global entry before leaving the
 * space reads the flag as set after its CR3 load, and flushes globals.
 */
static void note_global(struct tlb_vmspace *vs, struct pt_prop prop)
{
    if ((prop.priv & PT_PRIV_GLOBAL) && !space_may_have_global(vs))
        __atomic_store_n(&vs->may_have_global, 1, __ATOMIC_RELEASE);
}

void tlb_vmspace_activate(struct tlb_domain *dom, struct tlb_vmspace *vs)
{
    unsigned long irq = dom->ops->irq_save(dom->ctx);
    unsigned cpu = tlb_cur_cpu(dom);
    struct tlb_percpu *pc = &dom->cpu[cpu];
    struct tlb_vmspace *old = pc->active;
    if (old == vs) {
        dom->ops->irq_restore(dom->ctx, irq);
        return;
    }
    pt_paddr_t root = vs ? vs->pt.root : dom->idle_root;
    /* 1. Join the new set before CR3 can make its tables walkable here: the
          acquire-release add pairs with the dispatcher's snapshot (cpuset.c). */
    if (vs && !tlb_fault(dom, TLB_FAULT_NO_JOIN)) {
        tlb_cpuset_add(&vs->cpus, cpu);
        tlb_ev_simple(dom, TLB_EV_ACTIVATE, TLB_ACTIVATE_ENTER, 0, vs->pt.root, 0, 0, 0);
    }
    /* 2. Load CR3 (no PCID: this also drops every non-global entry). */
    dom->ops->load_cr3(dom->ctx, root);
    pc->cr3 = root;
    tlb_ev_simple(dom, TLB_EV_CR3_LOAD, 0, 0, root, 0, 0, 0);
    pc->active = vs;
    /* 3. Leave the old set. The CR3 load removed its non-global entries;
          global ones survive it, and once we leave, the old space's flushes
          no longer come here, so they must go now. */
    if (old) {
        if (space_may_have_global(old) && !tlb_fault(dom, TLB_FAULT_LEAVE_KEEPS_GLOBAL)) {
            dom->ops->flush_all_global(dom->ctx);
            tlb_ev_simple(dom, TLB_EV_FLUSH, TLB_FLUSH_ALL_GLOBAL, 0, root, 0, 0, 0);
        }
        tlb_cpuset_remove(&old->cpus, cpu);
        tlb_ev_simple(dom, TLB_EV_ACTIVATE, TLB_ACTIVATE_LEAVE, 0, old->pt.root, 0, 0, 0);
    }
    dom->ops->irq_restore(dom->ctx, irq);
}

int tlb_cursor_new(struct tlb_cursor *c, struct tlb_vmspace *vs, pt_vaddr_t start, pt_vaddr_t end)
{
    struct tlb_domain *dom = vs->dom;
    pt_paddr_t prev = tlb_ctx_enter(dom, vs->pt.root);  /* node allocation stores PTEs */
    int r = pt_cursor_new(&c->pc, &vs->pt, start, end);
    tlb_ctx_leave(dom, prev);
    if (r < 0)
        return r;
    c->vs = vs;
    tlb_flusher_init(&c->flusher, dom, &vs->cpus, vs->pt.root);
    tlb_ev_range(dom, TLB_EV_CURSOR_LOCK, 0, vs->pt.root, start, end);
    return TLB_OK;
}

void tlb_cursor_drop(struct tlb_cursor *c)
{
    struct tlb_domain *dom = c->vs->dom;
    pt_paddr_t prev = tlb_ctx_enter(dom, c->vs->pt.root);
    tlb_flusher_finish(&c->flusher);
    tlb_ctx_leave(dom, prev);
    pt_vaddr_t start = c->pc.barrier_start, end = c->pc.barrier_end;
    pt_cursor_drop(&c->pc);
    tlb_ev_range(dom, TLB_EV_CURSOR_UNLOCK, 0, c->vs->pt.root, start, end);
}

/*
 * The flush a removed frag needs. A leaf, of any size, is one INVLPG at its
 * base: INVLPG removes the entry for the whole page that contains the
 * address (SDM 4.10.4.1; one INVLPG covers a huge page). A detached subtree
 * needs every page of its span (its leaves may be cached anywhere in it) and
 * the paging-structure caches: a range flush, a full one from 32 pages on.
 */
static struct tlb_flush_op frag_op(struct tlb_vmspace *vs, const struct pt_frag *frag)
{
    if (frag->kind == PT_FRAG_MAPPED)
        return tlb_op_single(frag->va, (frag->item.prop.priv & PT_PRIV_GLOBAL) != 0);
    struct tlb_flush_op op;
    bool global = space_may_have_global(vs);   /* we cannot cheaply know what was below */
    if (tlb_op_range(frag->va, frag->va + frag->len, global, &op) < 0)
        op = tlb_op_all(global);
    return op;
}

/*
 * Break-before-make (SDM 4.10.2 / R4, class T12) for a huge leaf: whatever
 * is in its slot (a table of finer mappings, or a leaf) is removed and
 * flushed everywhere first, then the leaf is written into the empty slot.
 * take_next detaches the table below the slot whole (one store clears the
 * table entry), for a cursor spanning two entries of that level and for one
 * of exactly the leaf's span alike (tlb_flusher_unit checks both). Were a
 * table ever emptied leaf by leaf instead, pt_cursor_map would overwrite the
 * present (empty) table entry with the leaf in one store: the validator
 * reports that as T12, and the unit tests would fail.
 * Returns 1 if something was removed, 0 if not, or a negative error.
 */
static int break_before_make(struct tlb_cursor *c, pt_vaddr_t va, uint64_t size)
{
    if (size <= PT_BASE_PAGE_SIZE)
        return 0;   /* a 4 KiB leaf replaces only a 4 KiB leaf: no size change */
    int r, removed = 0;
    do {
        struct pt_frag frag;
        r = pt_cursor_take_next(&c->pc, va + size - c->pc.va, &frag);
        if (r <= 0)
            break;
        tlb_flusher_issue_with(&c->flusher, frag_op(c->vs, &frag), &frag);
        removed = 1;
    } while (c->pc.va < va + size);
    if (!removed)
        return r < 0 ? r : pt_cursor_jump(&c->pc, va);
    /* The planted bug leaves the flush queued: the cursor's drop sends it, after the make. */
    if (!tlb_fault(c->vs->dom, TLB_FAULT_MAKE_BEFORE_FLUSH)) {
        tlb_flusher_dispatch(&c->flusher);
        tlb_flusher_sync(&c->flusher);
    }
    int j = pt_cursor_jump(&c->pc, va);
    return r < 0 ? r : j < 0 ? j : removed;
}

int tlb_cursor_map(struct tlb_cursor *c, const struct pt_item *item)
{
    struct tlb_vmspace *vs = c->vs;
    struct tlb_domain *dom = vs->dom;
    pt_vaddr_t va = c->pc.va;
    uint64_t size = item->level >= 1 && item->level <= PT_NR_LEVELS ? pt_page_size(item->level) : 0;
    pt_paddr_t prev = tlb_ctx_enter(dom, vs->pt.root);
    tlb_ev_range(dom, TLB_EV_OP_BEGIN, TLB_OP_MAP, vs->pt.root, va, va + size);
    note_global(vs, item->prop);
    struct pt_frag old;
    int cleared = break_before_make(c, va, size);
    int r = cleared < 0 ? cleared : pt_cursor_map(&c->pc, item, &old);
    if (r == 1) {
        /* The seed: the replaced mapping is flushed at once, its frame kept.
           We also sync (the seed does not): otherwise map would return while
           another CPU may still reach the old frame through this VA, i.e.
           complete before its flush (class T20). */
        tlb_flusher_issue_with(&c->flusher, frag_op(vs, &old), &old);
        tlb_flusher_dispatch(&c->flusher);
        tlb_flusher_sync(&c->flusher);
    }
    tlb_ev_range(dom, TLB_EV_OP_END, TLB_OP_MAP, vs->pt.root, va, va + size);
    tlb_ctx_leave(dom, prev);
    return r == 0 && cleared == 1 ? 1 : r;
}

/* The length checks of find_next / take_next / protect_next, done before
   anything is emitted, so a rejected call leaves no trace in the stream. */
static int check_len(const struct tlb_cursor *c, uint64_t len)
{
    if (len & (PT_BASE_PAGE_SIZE - 1))
        return PT_ERR_UNALIGNED;
    if (len > c->pc.barrier_end - c->pc.va)
        return PT_ERR_BEYOND_BARRIER;
    return TLB_OK;
}

/* The frame that unmap and protect share: the range [start, end) the op
   covers, the context it entered, and which op it is (for the events). */
struct op_frame {
    pt_vaddr_t start, end;
    pt_paddr_t prev;
    uint8_t op;
};

/* Zeroes *count, checks len and, for a non-empty range, enters the space's
   context and records the op's BEGIN. Returns 1 when the op goes on (op_end
   must follow), otherwise what the op returns: an error, or TLB_OK for len 0. */
static int op_begin(struct tlb_cursor *c, uint64_t len, uint8_t op, uint64_t *count,
                    struct op_frame *f)
{
    if (count)
        *count = 0;
    int bad = check_len(c, len);
    if (bad < 0 || len == 0)
        return bad;
    struct tlb_vmspace *vs = c->vs;
    f->start = c->pc.va;
    f->end = f->start + len;
    f->op = op;
    f->prev = tlb_ctx_enter(vs->dom, vs->pt.root);
    tlb_ev_range(vs->dom, TLB_EV_OP_BEGIN, op, vs->pt.root, f->start, f->end);
    return 1;
}

/* Records the op's END, leaves its context and reports n through count. */
static void op_end(struct tlb_cursor *c, const struct op_frame *f, uint64_t *count, uint64_t n)
{
    struct tlb_vmspace *vs = c->vs;

    tlb_ev_range(vs->dom, TLB_EV_OP_END, f->op, vs->pt.root, f->start, f->end);
    tlb_ctx_leave(vs->dom, f->prev);
    if (count)
        *count = n;
}

int tlb_cursor_unmap(struct tlb_cursor *c, uint64_t len, bool sync, uint64_t *nr_frames)
{
    struct op_frame f;
    int r = op_begin(c, len, TLB_OP_UNMAP, nr_frames, &f);
    if (r != 1)
        return r;
    struct tlb_vmspace *vs = c->vs;
    uint64_t n = 0;
    do {
        struct pt_frag frag;
        r = pt_cursor_take_next(&c->pc, f.end - c->pc.va, &frag);
        if (r <= 0)
            break;
        if (frag.kind == PT_FRAG_MAPPED)
            n += frag.item.tracked ? 1 : 0;
        else
            n += frag.num_frames;
        tlb_flusher_issue_with(&c->flusher, frag_op(vs, &frag), &frag);
    } while (c->pc.va < f.end);
    tlb_flusher_dispatch(&c->flusher);
    if (sync)
        tlb_flusher_sync(&c->flusher);
    op_end(c, &f, nr_frames, n);
    return r < 0 ? r : TLB_OK;
}

/* Wraps the caller's protect op to learn whether a leaf changed and whether
   the old or the new entry is global. */
struct protect_wrap {
    pt_protect_fn op;
    void *arg;
    struct tlb_vmspace *vs;
    bool changed, global;
};

static void protect_wrapper(struct pt_prop *prop, void *arg)
{
    struct protect_wrap *w = arg;
    struct pt_prop old = *prop;
    w->op(prop, w->arg);
    w->changed = !pt_prop_eq(old, *prop);
    w->global = ((old.priv | prop->priv) & PT_PRIV_GLOBAL) != 0;
    note_global(w->vs, *prop);
}

int tlb_cursor_protect(struct tlb_cursor *c, uint64_t len, pt_protect_fn op, void *arg,
                       uint64_t *nr_changed)
{
    struct op_frame f;
    int r = op_begin(c, len, TLB_OP_PROTECT, nr_changed, &f);
    if (r != 1)
        return r;
    uint64_t n = 0;
    do {
        struct protect_wrap w = {.op = op, .arg = arg, .vs = c->vs};
        pt_vaddr_t s, e;
        r = pt_cursor_protect_next(&c->pc, f.end - c->pc.va, protect_wrapper, &w, &s, &e);
        if (r <= 0)
            break;
        /* Unchanged leaves were not written (protect_next stores only on a
           change), so they need no flush. One INVLPG per leaf, any size. */
        if (w.changed) {
            tlb_flusher_issue(&c->flusher, tlb_op_single(s, w.global));
            n++;
        }
    } while (c->pc.va < f.end);
    tlb_flusher_dispatch(&c->flusher);
    tlb_flusher_sync(&c->flusher);
    op_end(c, &f, nr_changed, n);
    return r < 0 ? r : TLB_OK;
}
