/*
 * The differential test's operations: each runs one cursor call on the real
 * table, applies the corresponding spec function to the model, compares the
 * results (return code, returned item or frag, cursor position, PTE-store
 * count where the contract fixes it), and then runs the per-op checks.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"

#define K4 PT_BASE_PAGE_SIZE

/* ----------------------------------------------------------- bookkeeping */

int diff_pool_slot(const struct diff *d, pt_paddr_t pa)
{
    uint64_t f = pa >> PT_BASE_PAGE_SHIFT;
    if ((pa & (K4 - 1)) || f >= d->hp.nr_frames)
        return -1;
    return d->pool_index[f];
}

static int slot_of(struct diff *d, pt_paddr_t pa)
{
    int s = diff_pool_slot(d, pa);
    DIFF_EXPECT(d, s >= 0, "tracked mapping of %#" PRIx64 ", which is not a pool frame", pa);
    return s;
}

/* A mapping left the model: its reference goes to a pending frag. */
void diff_model_removed(struct diff *d, const struct model_mapping *m, bool to_pending)
{
    if (!m->tracked)
        return;
    int s = slot_of(d, m->pa);
    d->in_ptes[s]--;
    if (to_pending)
        d->in_pending[s]++;
}

static void push_pending(struct diff *d, const struct pt_frag *f, const struct model_list *contents)
{
    if (d->npending == d->cap_pending) {
        d->cap_pending = d->cap_pending ? 2 * d->cap_pending : 16;
        d->pending = realloc(d->pending, d->cap_pending * sizeof(*d->pending));
        DIFF_EXPECT(d, d->pending != NULL, "out of host memory");
    }
    struct diff_pending *p = &d->pending[d->npending++];
    p->frag = *f;
    p->contents = (struct model_list){ 0 };
    for (size_t i = 0; contents && i < contents->n; i++)
        model_list_push(&p->contents, &contents->v[i]);
}

void diff_release_pending(struct diff *d, size_t keep)
{
    while (d->npending > keep) {
        struct diff_pending *p = &d->pending[--d->npending];
        if (p->frag.kind == PT_FRAG_MAPPED) {
            if (p->frag.item.tracked)
                d->in_pending[slot_of(d, p->frag.item.pa)]--;
        } else {
            for (size_t i = 0; i < p->contents.n; i++)
                if (p->contents.v[i].tracked)
                    d->in_pending[slot_of(d, p->contents.v[i].pa)]--;
        }
        pt_frag_release(&d->hp.mem, &p->frag);
        model_list_free(&p->contents);
    }
}

static bool item_eq(const struct pt_item *it, const struct model_mapping *m)
{
    return it->pa == m->pa && it->level == m->level && pt_prop_eq(it->prop, m->prop) &&
           it->tracked == m->tracked;
}

static size_t count_tracked(const struct model_list *l)
{
    size_t n = 0;
    for (size_t i = 0; i < l->n; i++)
        n += l->v[i].tracked;
    return n;
}

static void count_error(struct diff *d, int rc)
{
    d->st.errors_expected++;
    if (rc < 0 && rc > -DIFF_MAX_ERR)
        d->st.err_by_code[-rc]++;
}

static void expect_rc(struct diff *d, int got, int want)
{
    DIFF_EXPECT(d, got == want, "returned %d (%s), expected %d (%s)", got, pt_error_name(got),
                want, pt_error_name(want));
}

/* The length checks shared by find_next, take_next and protect_next. */
static int len_error(const struct diff *d, uint64_t len)
{
    if (len % K4)
        return PT_ERR_UNALIGNED;
    if (len > d->bar_hi - d->va)
        return PT_ERR_BEYOND_BARRIER;
    return PT_OK;
}

/* ------------------------------------------------------------ cursor life */

int diff_op_cursor_new(struct diff *d, pt_vaddr_t start, pt_vaddr_t end, bool inject_nomem)
{
    /* Creating a cursor changes no mapping: check its two ends (and every
       node it stored to), not the whole range, which can be the window. */
    diff_op_begin(d, start, start + K4);
    if (end > start && end - start > K4)
        diff_touch(d, end - K4, end);
    snprintf(d->op_desc, sizeof(d->op_desc), "cursor_new [%#" PRIx64 ", %#" PRIx64 ")%s", start,
             end, inject_nomem ? " with an allocation failure injected" : "");
    pt_vaddr_t vs = pt_config_va_start(d->cfg), ve = pt_config_va_end(d->cfg);
    int want = PT_OK;
    if ((start | end) % K4)
        want = PT_ERR_UNALIGNED;
    else if (start >= end || start < vs || (ve != 0 && end > ve))
        want = PT_ERR_INVALID_RANGE;
    if (inject_nomem)
        pt_host_fail_nth(&d->hp, 1 + diff_below(d, 2));
    int rc = pt_cursor_new(&d->c, &d->pt, start, end);
    pt_host_fail_off(&d->hp);
    if (want != PT_OK) {
        count_error(d, rc);
        expect_rc(d, rc, want);
    } else if (rc == PT_ERR_NOMEM) {
        DIFF_EXPECT(d, inject_nomem, "PT_ERR_NOMEM without an injected failure");
        d->st.nomem++;
    } else {
        expect_rc(d, rc, PT_OK);
        d->cursor_live = true;
        d->st.cursors++;
        d->va = d->bar_lo = start;
        d->bar_hi = end;
        DIFF_EXPECT(d, d->c.barrier_start == start && d->c.barrier_end == end,
                    "cursor barrier [%#" PRIx64 ", %#" PRIx64 ")", d->c.barrier_start,
                    d->c.barrier_end);
        DIFF_EXPECT(d, d->c.guard_level >= 1 && d->c.guard_level <= PT_NR_LEVELS,
                    "guard level %d", d->c.guard_level);
    }
    diff_check_after_op(d);
    return rc;
}

void diff_op_cursor_drop(struct diff *d)
{
    diff_op_begin(d, d->va, d->va);   /* changes no mapping; locks: see full check */
    snprintf(d->op_desc, sizeof(d->op_desc), "cursor_drop");
    pt_cursor_drop(&d->c);
    d->cursor_live = false;
    DIFF_EXPECT(d, !d->hook_on || d->stores == 0, "cursor_drop stored %" PRIu64 " PTEs", d->stores);
    diff_check_after_op(d);
}

/* ------------------------------------------------------- read-only ops */

void diff_op_query(struct diff *d)
{
    pt_vaddr_t va = d->va;
    diff_op_begin(d, va, va + K4);
    snprintf(d->op_desc, sizeof(d->op_desc), "query at %#" PRIx64, va);
    d->st.queries++;
    struct pt_query q;
    int rc = pt_cursor_query(&d->c, &q);
    if (va >= d->bar_hi) {
        expect_rc(d, rc, PT_ERR_INVALID_VADDR);
        count_error(d, rc);
    } else {
        expect_rc(d, rc, PT_OK);
        long i = model_find(&d->model, va);
        if (i >= 0) {
            const struct model_mapping *m = &d->model.v[i];
            char buf[160];
            DIFF_EXPECT(d, q.mapped && q.start == m->va && q.end == model_end(m) &&
                               item_eq(&q.item, m),
                        "query says mapped=%d [%#" PRIx64 ", %#" PRIx64 ") pa %#" PRIx64
                        " L%d; model has %s", q.mapped, q.start, q.end, q.item.pa, q.item.level,
                        model_fmt(m, buf, sizeof(buf)));
        } else {
            struct pt_walk_result w = diff_walk(d, va);
            uint64_t size = pt_page_size(w.level);
            DIFF_EXPECT(d, !q.mapped && q.start == (va & ~(size - 1)) &&
                               q.end == pt_walk_entry_end(&w, va),
                        "query says mapped=%d [%#" PRIx64 ", %#" PRIx64 "); model has nothing "
                        "and the walker an absent level-%d entry", q.mapped, q.start, q.end,
                        w.level);
        }
    }
    DIFF_EXPECT(d, !d->hook_on || d->stores == 0, "query stored %" PRIu64 " PTEs", d->stores);
    diff_check_after_op(d);
}

void diff_op_find_next(struct diff *d, uint64_t len)
{
    pt_vaddr_t va = d->va;
    diff_op_begin(d, va, va + K4);   /* read-only: its ends; stores must be 0 */
    snprintf(d->op_desc, sizeof(d->op_desc), "find_next(len %#" PRIx64 ") at %#" PRIx64, len, va);
    d->st.finds++;
    int want = len_error(d, len);
    pt_vaddr_t found = 0;
    int rc = pt_cursor_find_next(&d->c, len, &found);
    if (want != PT_OK) {
        expect_rc(d, rc, want);
        count_error(d, rc);
    } else {
        long i = len ? model_first_in(&d->model, va, va + len) : -1;
        if (i >= 0) {
            pt_vaddr_t at = d->model.v[i].va > va ? d->model.v[i].va : va;
            expect_rc(d, rc, 1);
            DIFF_EXPECT(d, found == at, "found %#" PRIx64 ", model says %#" PRIx64, found, at);
            d->va = at;
        } else {
            expect_rc(d, rc, 0);
            d->va = va + len;
        }
        diff_touch(d, d->va, d->va + K4);
    }
    DIFF_EXPECT(d, !d->hook_on || d->stores == 0, "find_next stored %" PRIu64 " PTEs", d->stores);
    diff_check_after_op(d);
}

void diff_op_jump(struct diff *d, pt_vaddr_t target)
{
    pt_vaddr_t va = d->va;
    diff_op_begin(d, va, va + K4);
    snprintf(d->op_desc, sizeof(d->op_desc), "jump from %#" PRIx64 " to %#" PRIx64, va, target);
    d->st.jumps++;
    int want = PT_OK;
    if (target % K4)
        want = PT_ERR_UNALIGNED;
    else if (target < d->bar_lo || target >= d->bar_hi)
        want = PT_ERR_INVALID_VADDR;
    int rc = pt_cursor_jump(&d->c, target);
    expect_rc(d, rc, want);
    if (want == PT_OK)
        d->va = target;
    else
        count_error(d, rc);
    DIFF_EXPECT(d, !d->hook_on || d->stores == 0, "jump stored %" PRIu64 " PTEs", d->stores);
    diff_check_after_op(d);
}

/* --------------------------------------------------------------- map */

/* Every error the map contract names for these arguments (bit per error). */
static unsigned map_errors(const struct diff *d, const struct pt_item *it)
{
    unsigned e = 0;
    pt_vaddr_t va = d->va;
    bool level_ok = it->level >= 1 && it->level <= d->cfg->max_leaf_level &&
                    it->level <= d->c.guard_level;
    /* The item's nominal size, even when its level is not allowed here. */
    uint64_t size = it->level >= 1 && it->level <= 3 ? pt_page_size(it->level) : K4;
    if (va >= d->bar_hi)
        e |= 1u << -PT_ERR_INVALID_VADDR;
    if (!level_ok)
        e |= 1u << -PT_ERR_BAD_LEVEL;
    if (va % size || it->pa % size)
        e |= 1u << -PT_ERR_UNALIGNED;
    if (va < d->bar_hi && size > d->bar_hi - va)
        e |= 1u << -PT_ERR_BEYOND_BARRIER;
    if (it->tracked && it->level != 1)
        e |= 1u << -PT_ERR_UNTRACKED_SIZE;
    if (!pt_prop_is_valid(it->prop))
        e |= 1u << -PT_ERR_BAD_PROP;
    if (it->tracked && diff_pool_slot(d, it->pa) < 0)
        e |= 1u << -PT_ERR_BAD_FRAME;
    if (it->pa >= PT_PHYS_ADDR_LIMIT)
        e |= 1u << -PT_ERR_PADDR_WIDTH;
    return e;
}

/* Where an untracked item points: far above the arena, never touched. */
static pt_paddr_t untracked_pa(int level, unsigned sel)
{
    return 0x10000000000ull + (uint64_t)(sel % 1024) * pt_page_size(level);
}

/*
 * After PT_ERR_NOMEM the contract allows huge leaves around `va` to have
 * been split already (the table still maps the same translations, only at
 * a finer grain): adopt exactly the split the walker shows, and the range
 * check then verifies everything else is unchanged.
 */
static void adopt_partial_split(struct diff *d, pt_vaddr_t va)
{
    long i = model_find(&d->model, va);
    if (i < 0)
        return;
    struct pt_walk_result w = diff_walk(d, va);
    if (w.mapped && w.level < d->model.v[i].level)
        d->st.splits += (uint64_t)model_split_while_huge(&d->model, va, w.level);
}

static void map_success(struct diff *d, const struct model_mapping *x, int rc,
                        const struct pt_frag *f)
{
    struct model_list *rep = &d->scratch;
    model_list_clear(rep);
    model_map(&d->model, x, rep);
    if (x->tracked)
        d->in_ptes[slot_of(d, x->pa)]++;
    for (size_t i = 0; i < rep->n; i++)
        diff_model_removed(d, &rep->v[i], true);
    uint64_t size = pt_page_size(x->level);
    bool same = rep->n == 1 && rep->v[0].level == x->level;
    char buf[160];
    if (rc == 0) {
        DIFF_EXPECT(d, rep->n == 0, "map returned 0 (empty slot) but the model replaced %zu "
                    "mappings, first %s", rep->n, model_fmt(&rep->v[0], buf, sizeof(buf)));
        return;
    }
    expect_rc(d, rc, 1);
    DIFF_EXPECT(d, f->va == x->va && f->len == size, "replaced frag [%#" PRIx64 ", +%#" PRIx64
                ") for a map at %#" PRIx64 " of size %#" PRIx64, f->va, f->len, x->va, size);
    if (f->kind == PT_FRAG_MAPPED) {
        d->st.replaced_leaf++;
        DIFF_EXPECT(d, same && item_eq(&f->item, &rep->v[0]),
                    "map replaced a leaf (pa %#" PRIx64 " L%d) but the model replaced %zu "
                    "mappings%s%s", f->item.pa, f->item.level, rep->n, rep->n ? ", first " : "",
                    rep->n ? model_fmt(&rep->v[0], buf, sizeof(buf)) : "");
    } else {
        d->st.replaced_table++;
        DIFF_EXPECT(d, f->kind == PT_FRAG_STRAY_TABLE, "frag kind %d", (int)f->kind);
        DIFF_EXPECT(d, !same, "map detached a subtree where the model had one same-size leaf");
        DIFF_EXPECT(d, f->node_level == x->level - 1, "detached node level %d for a level-%d slot",
                    f->node_level, x->level);
        DIFF_EXPECT(d, f->num_frames == count_tracked(rep), "stray num_frames %" PRIu64
                    ", model removed %zu tracked mappings", f->num_frames, count_tracked(rep));
        diff_check_stray(d, f, rep);
    }
    push_pending(d, f, rep);
}

void diff_op_map(struct diff *d, int level, bool tracked, unsigned sel, struct pt_prop prop,
                 bool inject_nomem)
{
    pt_vaddr_t va = d->va;
    struct pt_item it = { .level = level, .prop = prop, .tracked = tracked };
    it.pa = tracked ? d->pool[sel % DIFF_POOL_FRAMES] : untracked_pa(level, sel);
    if (tracked && sel >= DIFF_POOL_FRAMES * 1000u) {
        /* A tracked item that is not a live data frame (BAD_FRAME): beyond
           the arena, a page-table node, or a free frame. */
        unsigned k = sel - DIFF_POOL_FRAMES * 1000u;
        pt_paddr_t last = (d->hp.nr_frames - 1) * K4;
        it.pa = k == 0 ? untracked_pa(1, sel) : d->pt.root;
        if (k == 2 && pt_frame_refcount(&d->hp.mem, last) == PT_REF_UNUSED)
            it.pa = last;
    }
    if (!tracked && sel >= DIFF_POOL_FRAMES * 1000u)  /* beyond the 52-bit width */
        it.pa |= 1ull << (PT_PHYS_ADDR_WIDTH + (sel - DIFF_POOL_FRAMES * 1000u) % 12);
    uint64_t size = pt_page_size(level >= 1 && level <= 3 ? level : 1);
    diff_op_begin(d, va, va + size);
    snprintf(d->op_desc, sizeof(d->op_desc),
             "map at %#" PRIx64 " pa %#" PRIx64 " level %d %s flags %#x priv %#x cache %u%s", va,
             it.pa, level, tracked ? "tracked" : "untracked", prop.flags, prop.priv, prop.cache,
             inject_nomem ? " with an allocation failure injected" : "");
    d->st.maps++;
    unsigned errs = map_errors(d, &it);
    int slot = -1;
    if (!errs && tracked) {      /* the reference that moves into the PTE */
        slot = slot_of(d, it.pa);
        pt_frame_get(&d->hp.mem, it.pa);
        d->handles[slot]++;
    }
    if (inject_nomem)
        pt_host_fail_nth(&d->hp, 1 + diff_below(d, 3));
    struct pt_frag f;
    memset(&f, 0, sizeof(f));
    int rc = pt_cursor_map(&d->c, &it, &f);
    pt_host_fail_off(&d->hp);

    if (errs) {
        count_error(d, rc);
        DIFF_EXPECT(d, rc < 0 && (errs & (1u << -rc)),
                    "returned %d (%s); the contract demands one of the errors in mask %#x", rc,
                    pt_error_name(rc), errs);
    } else if (rc == PT_ERR_NOMEM) {
        DIFF_EXPECT(d, inject_nomem, "PT_ERR_NOMEM without an injected failure");
        d->st.nomem++;
        if (slot >= 0) {         /* the reference is still ours: give it back */
            pt_frame_put(&d->hp.mem, it.pa);
            d->handles[slot]--;
        }
        adopt_partial_split(d, va);
    } else {
        DIFF_EXPECT(d, rc == 0 || rc == 1, "returned %d (%s), expected 0 or 1", rc,
                    pt_error_name(rc));
        if (slot >= 0)
            d->handles[slot]--;
        struct model_mapping x = { .va = va, .pa = it.pa, .level = level, .prop = prop,
                                   .tracked = tracked };
        map_success(d, &x, rc, &f);
        d->va = va + size;
    }
    diff_check_after_op(d);
}

/* ----------------------------------------------------------- take_next */

static void take_stray(struct diff *d, pt_vaddr_t va, pt_vaddr_t end, const struct pt_frag *f)
{
    d->st.strays++;
    pt_vaddr_t fva = f->va, fend = f->va + f->len;
    DIFF_EXPECT(d, f->node_level >= 1 && f->node_level < PT_NR_LEVELS &&
                       f->len == pt_page_size(f->node_level + 1) && fva % f->len == 0 &&
                       fva >= va && fend <= end && fend > fva,
                "stray subtree [%#" PRIx64 ", %#" PRIx64 ") node level %d is not a whole "
                "entry inside [%#" PRIx64 ", %#" PRIx64 ")", fva, fend, f->node_level, va, end);
    DIFF_EXPECT(d, d->cfg->top_can_unmap || f->node_level < PT_NR_LEVELS - 1,
                "detached a top-level entry of a config that forbids it");
    char buf[160];
    long i = fva > va ? model_first_in(&d->model, va, fva) : -1;
    DIFF_EXPECT(d, i < 0, "take_next skipped %s to remove the subtree at %#" PRIx64,
                i >= 0 ? model_fmt(&d->model.v[i], buf, sizeof(buf)) : "", fva);
    long a = model_find(&d->model, fva), b = model_find(&d->model, fend - 1);
    DIFF_EXPECT(d, (a < 0 || d->model.v[a].va >= fva) && (b < 0 || model_end(&d->model.v[b]) <= fend),
                "model mapping straddles the detached subtree [%#" PRIx64 ", %#" PRIx64 ")",
                fva, fend);
    struct model_list *rem = &d->scratch;
    model_list_clear(rem);
    model_remove_range(&d->model, fva, fend, rem);
    for (size_t k = 0; k < rem->n; k++)
        diff_model_removed(d, &rem->v[k], true);
    DIFF_EXPECT(d, f->num_frames == count_tracked(rem), "stray num_frames %" PRIu64
                ", model removed %zu tracked mappings", f->num_frames, count_tracked(rem));
    diff_check_stray(d, f, rem);
    push_pending(d, f, rem);
    d->va = fend;
}

/*
 * take_next returns the first thing in VA order, and a node whose whole span
 * lies in [va, end) is one thing (a stray subtree), not a source of leaves.
 * So after it returned the leaf at `leaf`, no node on the leaf's path may
 * span a range inside [va, end) (a kernel config's top level excepted).
 */
static void expect_no_fitting_node(struct diff *d, pt_vaddr_t va, pt_vaddr_t end, pt_vaddr_t leaf)
{
    struct pt_walk_result w = diff_walk(d, leaf);
    for (int l = w.level; l < PT_NR_LEVELS; l++) {
        uint64_t span = pt_page_size(l + 1);
        pt_vaddr_t s = leaf & ~(span - 1);
        bool fits = s >= va && s + span - 1 <= end - 1;
        bool may_stay = l == PT_NR_LEVELS - 1 && !d->cfg->top_can_unmap;
        DIFF_EXPECT(d, !fits || may_stay, "take_next returned the leaf at %#" PRIx64 " although "
                    "its level-%d node [%#" PRIx64 ", +%#" PRIx64 ") lies wholly in the range and "
                    "should have been removed as one subtree", leaf, l, s, span);
    }
}

static void take_leaf(struct diff *d, pt_vaddr_t va, pt_vaddr_t end, const struct pt_frag *f)
{
    long i = model_first_in(&d->model, va, end);
    DIFF_EXPECT(d, i >= 0, "take_next removed a leaf at %#" PRIx64 " (pa %#" PRIx64 " L%d) "
                "where the model has nothing", f->va, f->item.pa, f->item.level);
    size_t n0 = d->model.n;
    size_t j = model_split_to_fit(&d->model, (size_t)i, va, end);
    d->st.splits += (d->model.n - n0) / (PT_NR_ENTRIES - 1);
    struct model_mapping m;
    model_remove_at(&d->model, j, &m);
    char buf[160];
    DIFF_EXPECT(d, f->va == m.va && f->len == pt_page_size(m.level) && item_eq(&f->item, &m),
                "take_next returned [%#" PRIx64 ", +%#" PRIx64 ") pa %#" PRIx64 " L%d; model "
                "says %s", f->va, f->len, f->item.pa, f->item.level, model_fmt(&m, buf, sizeof(buf)));
    diff_model_removed(d, &m, true);
    push_pending(d, f, NULL);
    d->va = model_end(&m);
    expect_no_fitting_node(d, va, end, m.va);
}

/*
 * take_next and protect_next change [va, where the cursor stops) and may
 * split the mappings that straddle va and va + len. Record both straddling
 * mappings now (with the pre-op model); end_ranged adds [va, new va).
 */
static void begin_ranged(struct diff *d, pt_vaddr_t va, uint64_t len)
{
    diff_op_begin(d, va, va + K4);
    if (len % K4 == 0 && len >= K4 && len <= d->bar_hi - va)
        diff_touch(d, va + len - K4, va + len);
}

static void end_ranged(struct diff *d, pt_vaddr_t va)
{
    if (d->va > va)
        diff_touch(d, va, d->va);
    diff_check_after_op(d);
}

/* After a failed op that may have split huge leaves on its way. */
static void adopt_split_in(struct diff *d, pt_vaddr_t va, pt_vaddr_t end)
{
    long i = model_first_in(&d->model, va, end);
    DIFF_EXPECT(d, i >= 0, "PT_ERR_NOMEM although nothing in range needs a split");
    pt_vaddr_t at = d->model.v[i].va > va ? d->model.v[i].va : va;
    adopt_partial_split(d, at);
    /* The contract leaves the position open; it must not have skipped the
       leaf it failed to split. */
    d->va = pt_cursor_va(&d->c);
    DIFF_EXPECT(d, d->va >= va && d->va <= at, "cursor at %#" PRIx64 " after PT_ERR_NOMEM, "
                "past the leaf at %#" PRIx64 " it failed to split", d->va, at);
}

int diff_op_take_next(struct diff *d, uint64_t len, bool inject_nomem)
{
    pt_vaddr_t va = d->va, end = va + len;
    begin_ranged(d, va, len);
    snprintf(d->op_desc, sizeof(d->op_desc), "take_next(len %#" PRIx64 ") at %#" PRIx64 "%s",
             len, va, inject_nomem ? " with an allocation failure injected" : "");
    d->st.takes++;
    int want = len_error(d, len);
    if (inject_nomem)
        pt_host_fail_nth(&d->hp, 1);
    struct pt_frag f;
    memset(&f, 0, sizeof(f));
    int rc = pt_cursor_take_next(&d->c, len, &f);
    pt_host_fail_off(&d->hp);
    if (want != PT_OK) {
        count_error(d, rc);
        expect_rc(d, rc, want);
    } else if (rc == PT_ERR_NOMEM) {
        DIFF_EXPECT(d, inject_nomem, "PT_ERR_NOMEM without an injected failure");
        d->st.nomem++;
        adopt_split_in(d, va, end);
    } else if (rc == 0) {
        long i = len ? model_first_in(&d->model, va, end) : -1;
        char buf[160];
        DIFF_EXPECT(d, i < 0, "take_next found nothing but the model maps %s",
                    i >= 0 ? model_fmt(&d->model.v[i], buf, sizeof(buf)) : "");
        d->va = end;
    } else {
        expect_rc(d, rc, 1);
        if (f.kind == PT_FRAG_STRAY_TABLE)
            take_stray(d, va, end, &f);
        else
            take_leaf(d, va, end, &f);
    }
    end_ranged(d, va);
    return rc;
}

/* -------------------------------------------------------- protect_next */

struct protect_arg {
    uint8_t clear, set;     /* flags */
    int cache;              /* -1: keep */
    int priv;               /* -1: keep */
    bool bad;               /* return an invalid property */
    bool called;
    struct pt_prop seen;    /* the old property the core passed */
};

static struct pt_prop protect_apply(struct pt_prop old, const struct protect_arg *a)
{
    struct pt_prop p = old;
    p.flags = (uint8_t)((p.flags & ~a->clear) | a->set);
    if (a->cache >= 0)
        p.cache = (uint8_t)a->cache;
    if (a->priv >= 0)
        p.priv = (uint8_t)a->priv;
    if (a->bad)
        p.cache = 7;
    return p;
}

static void protect_op(struct pt_prop *prop, void *arg)
{
    struct protect_arg *a = arg;
    a->called = true;
    a->seen = *prop;
    *prop = protect_apply(*prop, a);
}

static void random_protect(struct diff *d, struct protect_arg *a, bool bad)
{
    static const uint8_t sets[] = { 0, PT_R, PT_W, PT_X, PT_RW, PT_RX, PT_ACCESSED | PT_DIRTY,
                                    PT_AVAIL1, PT_AVAIL2 };
    static const uint8_t clears[] = { 0, PT_R, PT_W, PT_X, PT_RW | PT_X, PT_ACCESSED, PT_DIRTY,
                                      PT_AVAIL1 | PT_AVAIL2 };
    *a = (struct protect_arg){ .cache = -1, .priv = -1, .bad = bad };
    a->set = sets[diff_below(d, sizeof(sets))];
    a->clear = clears[diff_below(d, sizeof(clears))];
    if (diff_chance(d, 15))
        a->cache = (int)diff_below(d, 4);
    if (diff_chance(d, 10))
        a->priv = (int)diff_below(d, 4);
}

int diff_op_protect_next(struct diff *d, uint64_t len, bool inject_nomem, bool bad_prop)
{
    pt_vaddr_t va = d->va, end = va + len;
    struct protect_arg a;
    random_protect(d, &a, bad_prop);
    begin_ranged(d, va, len);
    snprintf(d->op_desc, sizeof(d->op_desc),
             "protect_next(len %#" PRIx64 ") at %#" PRIx64 " clear %#x set %#x cache %d priv %d%s%s",
             len, va, a.clear, a.set, a.cache, a.priv, bad_prop ? " returning a bad property" : "",
             inject_nomem ? " with an allocation failure injected" : "");
    d->st.protects++;
    int want = len_error(d, len);
    if (inject_nomem)
        pt_host_fail_nth(&d->hp, 1);
    pt_vaddr_t s = 0, e = 0;
    int rc = pt_cursor_protect_next(&d->c, len, protect_op, &a, &s, &e);
    pt_host_fail_off(&d->hp);
    if (want != PT_OK) {
        count_error(d, rc);
        expect_rc(d, rc, want);
        DIFF_EXPECT(d, !a.called, "protect op called despite %s", pt_error_name(want));
        end_ranged(d, va);
        return rc;
    }
    if (rc == PT_ERR_NOMEM) {
        DIFF_EXPECT(d, inject_nomem, "PT_ERR_NOMEM without an injected failure");
        DIFF_EXPECT(d, !a.called, "protect op called although the split failed");
        d->st.nomem++;
        adopt_split_in(d, va, end);
        end_ranged(d, va);
        return rc;
    }
    long i = len ? model_first_in(&d->model, va, end) : -1;
    if (i < 0) {
        expect_rc(d, rc, 0);
        d->va = end;
        end_ranged(d, va);
        return rc;
    }
    size_t n0 = d->model.n;
    size_t j = model_split_to_fit(&d->model, (size_t)i, va, end);
    bool split = d->model.n != n0;
    d->st.splits += (d->model.n - n0) / (PT_NR_ENTRIES - 1);
    struct model_mapping *m = &d->model.v[j];
    DIFF_EXPECT(d, a.called && pt_prop_eq(a.seen, m->prop),
                "protect op %s (old prop flags %#x priv %#x cache %u; model flags %#x)",
                a.called ? "saw a different old property" : "was not called", a.seen.flags,
                a.seen.priv, a.seen.cache, m->prop.flags);
    if (bad_prop) {
        expect_rc(d, rc, PT_ERR_BAD_PROP);
        count_error(d, rc);
        d->va = m->va;   /* the contract: the leaf is left unchanged, the cursor stays at it */
    } else {
        expect_rc(d, rc, 1);
        struct pt_prop np = protect_apply(m->prop, &a);
        bool changed = !pt_prop_eq(np, m->prop);
        m->prop = np;
        DIFF_EXPECT(d, s == m->va && e == model_end(m),
                    "protected [%#" PRIx64 ", %#" PRIx64 "), model leaf [%#" PRIx64 ", %#" PRIx64 ")",
                    s, e, m->va, model_end(m));
        DIFF_EXPECT(d, split || !d->hook_on || d->stores == (changed ? 1u : 0u),
                    "protect_next without a split stored %" PRIu64 " PTEs for a property that "
                    "%s", d->stores, changed ? "changed (want 1)" : "did not change (want 0)");
        d->va = model_end(m);
    }
    end_ranged(d, va);
    return rc;
}

/* ------------------------------------------------------- protect_flags */

/* Apply the batched flag change to the model over [va, stop), as the real
 * one does: a protect_next loop (split to fit [va, end)). Returns whether
 * some leaf changed, with the extent of the changed leaves. */
static bool model_protect_flags(struct diff *d, pt_vaddr_t va, pt_vaddr_t end, pt_vaddr_t stop,
                                uint8_t clear, uint8_t set, pt_vaddr_t *lo, pt_vaddr_t *hi)
{
    bool any = false;
    pt_vaddr_t cur = va;
    while (cur < stop) {
        long i = model_first_in(&d->model, cur, end);
        if (i < 0 || (d->model.v[i].va > cur ? d->model.v[i].va : cur) >= stop)
            return any;
        size_t n0 = d->model.n;
        size_t j = model_split_to_fit(&d->model, (size_t)i, cur, end);
        d->st.splits += (d->model.n - n0) / (PT_NR_ENTRIES - 1);
        struct model_mapping *m = &d->model.v[j];
        uint8_t nf = (uint8_t)((m->prop.flags & ~clear) | set);
        if (nf != m->prop.flags) {
            if (!any)
                *lo = m->va;
            *hi = model_end(m);
            any = true;
            m->prop.flags = nf;
        }
        cur = model_end(m);
    }
    return any;
}

int diff_op_protect_flags(struct diff *d, uint64_t len, uint8_t clear, uint8_t set,
                          bool inject_nomem)
{
    pt_vaddr_t va = d->va, end = va + len;
    begin_ranged(d, va, len);
    snprintf(d->op_desc, sizeof(d->op_desc),
             "protect_flags(len %#" PRIx64 ", clear %#x, set %#x) at %#" PRIx64 "%s", len, clear,
             set, va, inject_nomem ? " with an allocation failure injected" : "");
    d->st.protect_flags++;
    const unsigned all = PT_R | PT_W | PT_X | PT_ACCESSED | PT_DIRTY | PT_AVAIL1 | PT_AVAIL2;
    int want = len_error(d, len);
    if (want == PT_OK && ((clear | set) & ~all))
        want = PT_ERR_BAD_PROP;
    if (inject_nomem)
        pt_host_fail_nth(&d->hp, 1);
    pt_vaddr_t cs = 1, ce = 0;
    int rc = pt_cursor_protect_flags(&d->c, len, clear, set, &cs, &ce);
    pt_host_fail_off(&d->hp);
    if (want != PT_OK) {
        count_error(d, rc);
        expect_rc(d, rc, want);
        end_ranged(d, va);
        return rc;
    }
    pt_vaddr_t stop = end;
    if (rc == PT_ERR_NOMEM) {
        DIFF_EXPECT(d, inject_nomem, "PT_ERR_NOMEM without an injected failure");
        d->st.nomem++;
        stop = pt_cursor_va(&d->c);
        DIFF_EXPECT(d, stop >= va && stop < end, "cursor at %#" PRIx64 " after PT_ERR_NOMEM", stop);
    } else {
        DIFF_EXPECT(d, rc == 0 || rc == 1, "returned %d (%s), expected 0 or 1", rc,
                    pt_error_name(rc));
    }
    size_t n0 = d->model.n;
    pt_vaddr_t lo = 0, hi = 0;
    bool any = model_protect_flags(d, va, end, stop, (uint8_t)(clear & ~set), set, &lo, &hi);
    if (rc == PT_ERR_NOMEM) {
        long i = model_find(&d->model, stop);
        DIFF_EXPECT(d, i >= 0 && d->model.v[i].level > 1,
                    "PT_ERR_NOMEM at %#" PRIx64 ", where the model has no huge leaf to split", stop);
        adopt_partial_split(d, stop);
    } else {
        expect_rc(d, rc, any ? 1 : 0);
    }
    if (any)
        DIFF_EXPECT(d, cs <= lo && ce >= hi && cs >= va && ce <= end,
                    "changed range [%#" PRIx64 ", %#" PRIx64 ") does not cover the changed leaves "
                    "[%#" PRIx64 ", %#" PRIx64 ") inside [%#" PRIx64 ", %#" PRIx64 ")", cs, ce, lo,
                    hi, va, end);
    else
        DIFF_EXPECT(d, cs == ce, "nothing changed but the changed range is [%#" PRIx64 ", %#" PRIx64
                    ")", cs, ce);
    DIFF_EXPECT(d, any || d->model.n != n0 || !d->hook_on || d->stores == 0,
                "protect_flags changed nothing and split nothing but stored %" PRIu64 " PTEs",
                d->stores);
    d->va = stop;
    end_ranged(d, va);
    return rc;
}
