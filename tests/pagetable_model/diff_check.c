/*
 * The differential test's checks: the real table (read through the walker
 * and by direct traversal of its nodes) against the model, node metadata,
 * frame reference counts, the PTE-store log and leaks. Every mismatch goes
 * through diff_fail, which names the seed, the op and the difference.
 */
#include <check.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"

void diff_fail(struct diff *d, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fprintf(stderr,
            "pagetable_diff: FAILED\n"
            "  reproduce: pagetable_diff_test --seed %" PRIu64 " --ops %" PRIu64
            " --full-every %" PRIu64 " (failed at op #%" PRIu64 ")\n"
            "  phase: %s, cursor %s [%#" PRIx64 ", %#" PRIx64 "), expected va %#" PRIx64 "\n"
            "  op: %s\n"
            "  difference: %s\n",
            d->seed, d->ops_total, d->full_every, d->op_index, d->cfg_name ? d->cfg_name : "?",
            d->cursor_live ? "live" : "dropped", d->bar_lo, d->bar_hi, d->va, d->op_desc, msg);
    ck_abort_msg("differential test failed at op #%" PRIu64 " (seed %" PRIu64 "): %s",
                 d->op_index, d->seed, msg);
    abort();  /* not reached: ck_abort_msg does not return */
}

/* ---------------------------------------------------------------- memory */

static bool frame_in_arena(const struct diff *d, pt_paddr_t pa)
{
    return pa >= PT_BASE_PAGE_SIZE && (pa >> PT_BASE_PAGE_SHIFT) < d->hp.nr_frames &&
           (pa & (PT_BASE_PAGE_SIZE - 1)) == 0;
}

/* The walker's reader: bounds-checked reads of the host arena. */
static bool read_pte(void *ctx, pt_paddr_t pa, pt_pte_t *out)
{
    const struct diff *d = ctx;
    pt_paddr_t frame = pa & ~(PT_BASE_PAGE_SIZE - 1);
    if ((pa & 7) || !frame_in_arena(d, frame))
        return false;
    const pt_pte_t *ptes = pt_host_frame_ptr(&d->hp, frame);
    *out = __atomic_load_n(&ptes[(pa & (PT_BASE_PAGE_SIZE - 1)) / 8], __ATOMIC_RELAXED);
    return true;
}

static const pt_pte_t *node_ptes(const struct diff *d, pt_paddr_t node)
{
    return pt_host_frame_ptr(&d->hp, node);
}

struct pt_walk_result diff_walk(struct diff *d, pt_vaddr_t va)
{
    struct pt_walk_result w;
    int rc = pt_walk(d->pt.root, va, read_pte, d, &w);
    DIFF_EXPECT(d, rc == PT_WALK_OK, "walker failed at va %#" PRIx64 ": %s (bad pa %#" PRIx64 ")",
                va, pt_walk_status_name(rc), w.bad_pa);
    DIFF_EXPECT(d, w.anomaly == PT_WALK_ANOMALY_NONE,
                "malformed entry at va %#" PRIx64 " level %d: pte %#" PRIx64 ": %s", va, w.level,
                w.pte, pt_walk_anomaly_name(w.anomaly));
    return w;
}

/* ------------------------------------------------------------ encodings */

pt_pte_t diff_expected_pte(const struct model_mapping *m)
{
    pt_pte_t pte = m->pa | PTE_LEAF;
    uint8_t f = m->prop.flags;
    if (f & PT_R) pte |= PTE_P;
    if (f & PT_W) pte |= PTE_RW;
    if (!(f & PT_X)) pte |= PTE_NX;
    if (f & PT_ACCESSED) pte |= PTE_A;
    if (f & PT_DIRTY) pte |= PTE_D;
    if (f & PT_AVAIL1) pte |= PTE_AVAIL1;
    if (f & PT_AVAIL2) pte |= PTE_AVAIL2;
    if (m->prop.priv & PT_PRIV_USER) pte |= PTE_US;
    if (m->prop.priv & PT_PRIV_GLOBAL) pte |= PTE_G;
    static const pt_pte_t cache_bits[4] = { 0, PTE_PWT, PTE_PCD, PTE_PCD | PTE_PWT };
    pte |= cache_bits[m->prop.cache & 3];
    if (!m->tracked) pte |= PTE_UNTRACKED;
    return pte;
}

/* ------------------------------------------------------- PTE-store hook */

static void on_store(void *arg, const struct pt_pte_store *s)
{
    struct diff *d = arg;
    d->stores++;
    if (d->store_err[0])
        return;
    const char *why = NULL;
    const struct pt_frame_meta *m = NULL;
    if (!frame_in_arena(d, s->node))
        why = "node outside the arena";
    else if (s->index >= PT_NR_ENTRIES)
        why = "index >= 512";
    else if ((m = pt_frame_meta(&d->hp.mem, s->node))->usage != PT_USAGE_PT_NODE)
        why = "store into a frame that is not a page-table node";
    else if (m->level != s->level)
        why = "store reports a level different from the node's";
    else if (__atomic_load_n(&m->lock, __ATOMIC_RELAXED) != 1)
        why = "store into a node whose lock is not held";
    else if (__atomic_load_n(&m->stray, __ATOMIC_RELAXED))
        why = "store into a stray (detached) node";
    else if (node_ptes(d, s->node)[s->index] != s->new_pte)
        why = "reported new value differs from memory";
    if (why) {
        snprintf(d->store_err, sizeof(d->store_err),
                 "bad PTE store: %s (node %#" PRIx64 " level %d index %u old %#" PRIx64
                 " new %#" PRIx64 ")", why, s->node, s->level, s->index, s->old_pte, s->new_pte);
        return;
    }
    for (unsigned i = 0; i < d->nstored; i++)
        if (d->stored_nodes[i] == s->node)
            return;
    if (d->nstored < DIFF_MAX_STORED_NODES) {
        d->stored_nodes[d->nstored] = s->node;
        d->stored_levels[d->nstored++] = s->level;
    }
}

void diff_hook_set(struct diff *d, bool on)
{
    pt_host_set_pte_hook(&d->hp, on ? on_store : NULL, on ? d : NULL);
    d->hook_on = on;
}

void diff_op_begin(struct diff *d, pt_vaddr_t lo, pt_vaddr_t hi)
{
    d->op_index++;
    d->st.ops++;
    d->stores = 0;
    d->store_err[0] = 0;
    d->nstored = 0;
    d->ntouch = 0;
    d->op_desc[0] = 0;
    diff_touch(d, lo, hi);
}

void diff_touch(struct diff *d, pt_vaddr_t lo, pt_vaddr_t hi)
{
    /* Include the whole of any mapping the range cuts: splitting it changes
       the model (and the table) over its full extent. */
    long i = model_find(&d->model, lo);
    if (i >= 0)
        lo = d->model.v[i].va;
    if (hi > lo) {
        i = model_find(&d->model, hi - 1);
        if (i >= 0)
            hi = model_end(&d->model.v[i]);
    }
    if (hi < lo)
        hi = lo;
    for (unsigned k = 0; k < d->ntouch; k++) {
        if (lo <= d->touch_hi[k] && hi >= d->touch_lo[k]) {   /* overlaps or abuts: merge */
            d->touch_lo[k] = lo < d->touch_lo[k] ? lo : d->touch_lo[k];
            d->touch_hi[k] = hi > d->touch_hi[k] ? hi : d->touch_hi[k];
            return;
        }
    }
    if (d->ntouch < DIFF_MAX_TOUCH) {
        d->touch_lo[d->ntouch] = lo;
        d->touch_hi[d->ntouch++] = hi;
        return;
    }
    /* Out of slots: widen the last interval (checks more, never less). */
    unsigned k = DIFF_MAX_TOUCH - 1;
    d->touch_lo[k] = lo < d->touch_lo[k] ? lo : d->touch_lo[k];
    d->touch_hi[k] = hi > d->touch_hi[k] ? hi : d->touch_hi[k];
}

/* ------------------------------------------------------------ node checks */

/* A small set of nodes already checked during one range check. */
#define NODESET_SIZE 4096
static pt_paddr_t nodeset[NODESET_SIZE];
static int nodeset_level[NODESET_SIZE];
static unsigned nodeset_n;
static bool nodeset_overflow;

static void nodeset_add(pt_paddr_t node, int level)
{
    for (unsigned i = nodeset_n; i-- > 0;)
        if (nodeset[i] == node)
            return;
    if (nodeset_n == NODESET_SIZE) {
        nodeset_overflow = true;
        return;
    }
    nodeset[nodeset_n] = node;
    nodeset_level[nodeset_n++] = level;
}

/*
 * One node's metadata against its contents: usage, level, stray flag, lock
 * (must be free when no cursor is live), reference count 1 (held by the
 * parent PTE, the root's owner or a frag), nr_children == non-zero PTEs,
 * and every entry well-formed for its level.
 */
static void check_node(struct diff *d, pt_paddr_t node, int level, bool stray)
{
    DIFF_EXPECT(d, frame_in_arena(d, node), "node %#" PRIx64 " (level %d) outside the arena",
                node, level);
    const struct pt_frame_meta *m = pt_frame_meta(&d->hp.mem, node);
    DIFF_EXPECT(d, m->usage == PT_USAGE_PT_NODE, "node %#" PRIx64 " has usage %u, not PT_NODE",
                node, m->usage);
    DIFF_EXPECT(d, m->level == level, "node %#" PRIx64 " has level %u, reached at level %d",
                node, m->level, level);
    DIFF_EXPECT(d, (m->stray != 0) == stray, "node %#" PRIx64 " level %d: stray flag %u, want %d",
                node, level, m->stray, stray);
    DIFF_EXPECT(d, d->cursor_live || m->lock == 0,
                "node %#" PRIx64 " level %d still locked with no cursor live", node, level);
    uint64_t rc = pt_frame_refcount(&d->hp.mem, node);
    DIFF_EXPECT(d, rc == 1, "node %#" PRIx64 " level %d: refcount %" PRIu64 ", want 1", node,
                level, rc);
    const pt_pte_t *ptes = node_ptes(d, node);
    unsigned present = 0;
    for (unsigned i = 0; i < PT_NR_ENTRIES; i++) {
        pt_pte_t pte = ptes[i];
        if (pte == 0)
            continue;
        present++;
        if (pte & PTE_LEAF) {
            DIFF_EXPECT(d, level <= d->cfg->max_leaf_level,
                        "leaf at level %d above the config's max (node %#" PRIx64 "[%u] = %#"
                        PRIx64 ")", level, node, i, pte);
        } else {
            DIFF_EXPECT(d, level > 1 && (pte & PTE_P) && frame_in_arena(d, pte & PTE_TABLE_ADDR_MASK),
                        "bad table entry node %#" PRIx64 " level %d [%u] = %#" PRIx64, node,
                        level, i, pte);
        }
    }
    DIFF_EXPECT(d, m->nr_children == present,
                "node %#" PRIx64 " level %d: nr_children %u but %u non-absent entries", node,
                level, m->nr_children, present);
}

/* ------------------------------------------------------------ range check */

static void expect_leaf_matches(struct diff *d, pt_vaddr_t va, const struct pt_walk_result *w,
                                const struct model_mapping *m)
{
    char buf[160];
    DIFF_EXPECT(d, w->mapped, "model maps %s but the walker finds nothing at %#" PRIx64
                " (stopped at level %d, pte %#" PRIx64 ")", model_fmt(m, buf, sizeof(buf)), va,
                w->level, w->pte);
    DIFF_EXPECT(d, w->level == m->level && w->leaf_base == m->pa,
                "model maps %s but the walker finds a level-%d leaf to %#" PRIx64 " at %#" PRIx64,
                model_fmt(m, buf, sizeof(buf)), w->level, w->leaf_base, va);
    pt_pte_t want = diff_expected_pte(m);
    DIFF_EXPECT(d, w->pte == want, "leaf for %s is %#" PRIx64 ", expected %#" PRIx64 " (xor %#"
                PRIx64 ")", model_fmt(m, buf, sizeof(buf)), w->pte, want, w->pte ^ want);
    bool r = m->prop.flags & PT_R;
    DIFF_EXPECT(d, w->translates == r, "MMU view of %s: translates=%d", model_fmt(m, buf, sizeof(buf)),
                w->translates);
    DIFF_EXPECT(d, w->writable == !!(m->prop.flags & PT_W) &&
                       w->user == !!(m->prop.priv & PT_PRIV_USER) &&
                       w->nx == !(m->prop.flags & PT_X),
                "effective permissions of %s: w=%d u=%d nx=%d", model_fmt(m, buf, sizeof(buf)),
                w->writable, w->user, w->nx);
}

static void check_range_nodes(struct diff *d, pt_vaddr_t lo, pt_vaddr_t hi)
{
    pt_vaddr_t va = lo;
    while (va < hi) {
        struct pt_walk_result w = diff_walk(d, va);
        for (int l = PT_NR_LEVELS; l >= w.level; l--)
            nodeset_add(w.nodes[l - 1], l);
        long i = model_find(&d->model, va);
        if (i >= 0) {
            expect_leaf_matches(d, va, &w, &d->model.v[i]);
            va = model_end(&d->model.v[i]);
            continue;
        }
        DIFF_EXPECT(d, !w.mapped, "walker finds a level-%d leaf %#" PRIx64 " at %#" PRIx64
                    " where the model has nothing", w.level, w.pte, va);
        pt_vaddr_t next = pt_walk_entry_end(&w, va);
        pt_vaddr_t stop = (next == 0 || next > hi) ? hi : next;
        long j = model_first_in(&d->model, va, stop);
        if (j >= 0) {
            char buf[160];
            diff_fail(d, "model maps %s but the walker finds an absent level-%d entry at %#"
                      PRIx64, model_fmt(&d->model.v[j], buf, sizeof(buf)), w.level, va);
        }
        if (next == 0)
            break;
        va = next;
    }
}

static void ranges_begin(void)
{
    nodeset_n = 0;
    nodeset_overflow = false;
}

static void ranges_walk(struct diff *d, pt_vaddr_t lo, pt_vaddr_t hi)
{
    if (lo < d->win_lo)
        lo = d->win_lo;
    if (hi > d->win_hi)
        hi = d->win_hi;
    if (lo < hi)
        check_range_nodes(d, lo, hi);
}

/* Check every node met on the walks and every node stored to. */
static void ranges_end(struct diff *d)
{
    for (unsigned i = 0; i < d->nstored; i++) {
        const struct pt_frame_meta *m = pt_frame_meta(&d->hp.mem, d->stored_nodes[i]);
        /* A node detached later in the same op is checked as a stray tree. */
        if (m->usage == PT_USAGE_PT_NODE && !m->stray)
            nodeset_add(d->stored_nodes[i], d->stored_levels[i]);
    }
    for (unsigned i = 0; i < nodeset_n; i++)
        check_node(d, nodeset[i], nodeset_level[i], false);
}

void diff_check_range(struct diff *d, pt_vaddr_t lo, pt_vaddr_t hi)
{
    ranges_begin();
    ranges_walk(d, lo, hi);
    ranges_end(d);
}

/* ------------------------------------------------------------- refcounts */

void diff_check_refcounts(struct diff *d)
{
    for (unsigned i = 0; i < DIFF_POOL_FRAMES; i++) {
        uint64_t want = d->handles[i] + d->in_ptes[i] + d->in_pending[i];
        uint64_t got = pt_frame_refcount(&d->hp.mem, d->pool[i]);
        DIFF_EXPECT(d, got == want,
                    "frame %#" PRIx64 ": refcount %" PRIu64 ", want %" PRIu64 " (handles %" PRIu64
                    " + PTEs %" PRIu64 " + pending frags %" PRIu64 ")", d->pool[i], got, want,
                    d->handles[i], d->in_ptes[i], d->in_pending[i]);
    }
}

void diff_check_after_op(struct diff *d)
{
    DIFF_EXPECT(d, d->store_err[0] == 0, "%s", d->store_err);
    DIFF_EXPECT(d, !d->cursor_live || pt_cursor_va(&d->c) == d->va,
                "cursor va %#" PRIx64 ", expected %#" PRIx64, pt_cursor_va(&d->c), d->va);
    ranges_begin();
    for (unsigned k = 0; k < d->ntouch; k++) {
        /* Neighbours: the pages just outside each touched interval. */
        pt_vaddr_t lo = d->touch_lo[k], hi = d->touch_hi[k];
        lo = lo >= PT_BASE_PAGE_SIZE ? lo - PT_BASE_PAGE_SIZE : lo;
        hi = hi + PT_BASE_PAGE_SIZE > hi ? hi + PT_BASE_PAGE_SIZE : hi;
        ranges_walk(d, lo, hi);
    }
    ranges_end(d);
    diff_check_refcounts(d);
}

/* -------------------------------------------------------- tree traversal */

struct tree_count {
    uint64_t nodes, leaves;
    uint64_t tracked[DIFF_POOL_FRAMES];
    const struct model_list *expect;   /* stray check: the leaves we must meet, in order */
    size_t next;
};

static void visit(struct diff *d, pt_paddr_t node, int level, pt_vaddr_t base, bool stray,
                  unsigned lo, unsigned hi, struct tree_count *tc);

static void visit_leaf(struct diff *d, pt_vaddr_t va, int level, pt_pte_t pte,
                       struct tree_count *tc)
{
    char buf[160];
    struct model_mapping got = { .va = va, .level = level };
    const struct model_mapping *m;
    if (tc->expect) {
        DIFF_EXPECT(d, tc->next < tc->expect->n, "detached subtree holds an extra leaf at %#"
                    PRIx64 " (level %d, pte %#" PRIx64 ")", va, level, pte);
        m = &tc->expect->v[tc->next++];
    } else {
        DIFF_EXPECT(d, va >= d->win_lo && va < d->win_hi,
                    "leaf outside the test's window at %#" PRIx64 " (pte %#" PRIx64 ")", va, pte);
        long i = model_find(&d->model, va);
        DIFF_EXPECT(d, i >= 0, "table has a level-%d leaf %#" PRIx64 " at %#" PRIx64
                    " that the model lacks", level, pte, va);
        m = &d->model.v[i];
    }
    DIFF_EXPECT(d, m->va == va && m->level == level && diff_expected_pte(m) == pte,
                "leaf at %#" PRIx64 " level %d pte %#" PRIx64 " differs from the model's %s"
                " (expected pte %#" PRIx64 ")", va, level, pte, model_fmt(m, buf, sizeof(buf)),
                diff_expected_pte(m));
    (void)got;
    tc->leaves++;
    if (m->tracked) {
        int slot = diff_pool_slot(d, m->pa);
        DIFF_EXPECT(d, slot >= 0, "tracked leaf to %#" PRIx64 " is not a pool frame", m->pa);
        tc->tracked[slot]++;
    }
}

static void visit(struct diff *d, pt_paddr_t node, int level, pt_vaddr_t base, bool stray,
                  unsigned lo, unsigned hi, struct tree_count *tc)
{
    check_node(d, node, level, stray);
    tc->nodes++;
    const pt_pte_t *ptes = node_ptes(d, node);
    uint64_t size = pt_page_size(level);
    for (unsigned i = 0; i < PT_NR_ENTRIES; i++) {
        pt_pte_t pte = ptes[i];
        if (pte == 0)
            continue;
        pt_vaddr_t va = pt_canonical(base + i * size);
        DIFF_EXPECT(d, i >= lo && i < hi, "entry %u of the root is outside the config's range "
                    "[%u, %u): %#" PRIx64, i, lo, hi, pte);
        if (pte & PTE_LEAF)
            visit_leaf(d, va, level, pte, tc);
        else
            visit(d, pte & PTE_TABLE_ADDR_MASK, level - 1, va, stray, 0, PT_NR_ENTRIES, tc);
    }
}

void diff_check_stray(struct diff *d, const struct pt_frag *f, const struct model_list *expect)
{
    struct tree_count tc = { .expect = expect };
    visit(d, f->node, f->node_level, f->va, true, 0, PT_NR_ENTRIES, &tc);
    DIFF_EXPECT(d, tc.next == expect->n, "detached subtree at %#" PRIx64 " lacks %zu of the %zu"
                " mappings the model removed", f->va, expect->n - tc.next, expect->n);
}

/* Nodes of the pending stray subtrees, and the references pending frags hold. */
static uint64_t count_pending(struct diff *d, uint64_t *refs)
{
    uint64_t nodes = 0;
    for (size_t p = 0; p < d->npending; p++) {
        const struct diff_pending *pf = &d->pending[p];
        if (pf->frag.kind == PT_FRAG_STRAY_TABLE) {
            struct tree_count tc = { .expect = &pf->contents };
            visit(d, pf->frag.node, pf->frag.node_level, pf->frag.va, true, 0, PT_NR_ENTRIES, &tc);
            nodes += tc.nodes;
            for (unsigned i = 0; i < DIFF_POOL_FRAMES; i++)
                refs[i] += tc.tracked[i];
        } else if (pf->frag.item.tracked) {
            refs[diff_pool_slot(d, pf->frag.item.pa)]++;
        }
    }
    return nodes;
}

void diff_check_full(struct diff *d)
{
    d->st.full_checks++;
    d->nstored = 0;
    const char *why = model_check(&d->model);
    DIFF_EXPECT(d, why == NULL, "model invariant broken: %s", why);
    diff_check_range(d, d->win_lo, d->win_hi);

    struct tree_count tc = { 0 };
    visit(d, d->pt.root, PT_NR_LEVELS, 0, false, d->cfg->top_index_lo, d->cfg->top_index_hi, &tc);
    DIFF_EXPECT(d, tc.leaves == d->model.n, "table has %" PRIu64 " leaves, model %zu mappings",
                tc.leaves, d->model.n);

    uint64_t pending_refs[DIFF_POOL_FRAMES] = { 0 };
    uint64_t pending_nodes = count_pending(d, pending_refs);
    for (unsigned i = 0; i < DIFF_POOL_FRAMES; i++) {
        DIFF_EXPECT(d, tc.tracked[i] == d->in_ptes[i],
                    "frame %#" PRIx64 ": %" PRIu64 " PTEs point at it, bookkeeping says %" PRIu64,
                    d->pool[i], tc.tracked[i], d->in_ptes[i]);
        DIFF_EXPECT(d, pending_refs[i] == d->in_pending[i],
                    "frame %#" PRIx64 ": pending frags hold %" PRIu64 ", bookkeeping says %" PRIu64,
                    d->pool[i], pending_refs[i], d->in_pending[i]);
    }
    diff_check_refcounts(d);

    uint64_t live = pt_host_live(&d->hp);
    uint64_t want = d->baseline_live + tc.nodes + pending_nodes;
    DIFF_EXPECT(d, live == want,
                "platform has %" PRIu64 " live frames, expected %" PRIu64 " (baseline %" PRIu64
                " + %" PRIu64 " table nodes + %" PRIu64 " detached nodes): %s", live, want,
                d->baseline_live, tc.nodes, pending_nodes, live > want ? "leak" : "over-free");
    if (live > d->st.max_live)
        d->st.max_live = live;
}

void diff_check_unmapped_span(struct diff *d, pt_vaddr_t a, pt_vaddr_t b)
{
    pt_vaddr_t va = a;
    while (va < b) {
        struct pt_walk_result w = diff_walk(d, va);
        DIFF_EXPECT(d, !w.mapped, "level-%d leaf %#" PRIx64 " at %#" PRIx64 " survived a "
                    "take_next loop over [%#" PRIx64 ", %#" PRIx64 ")", w.level, w.pte, va, a, b);
        for (int l = w.level; l < PT_NR_LEVELS; l++) {
            uint64_t span = pt_page_size(l + 1);
            pt_vaddr_t start = va & ~(span - 1);
            bool covered = start >= a && start + span - 1 <= b - 1;
            bool may_stay = l == PT_NR_LEVELS - 1 && !d->cfg->top_can_unmap;
            DIFF_EXPECT(d, !covered || may_stay,
                        "level-%d node %#" PRIx64 " (span [%#" PRIx64 ", +%#" PRIx64 ")) survived "
                        "a take_next loop over [%#" PRIx64 ", %#" PRIx64 ") that covers its span",
                        l, w.nodes[l - 1], start, span, a, b);
        }
        pt_vaddr_t next = pt_walk_entry_end(&w, va);
        if (next == 0)
            break;
        va = next;
    }
}
