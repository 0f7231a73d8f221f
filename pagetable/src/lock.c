/*
 * OSTD's two-phase locking of a cursor's range (cursor/locking.rs, PR #1948).
 *
 * Phase 1 (pt_lock_range): walk down from the root WITHOUT locks while the
 * range fits in one entry, allocating absent intermediate nodes under their
 * parent's lock; lock the node where the walk stops (the sub-tree root), and
 * retry from the root if that node turned out stray (detached by another
 * cursor after we read its parent's PTE). Then lock, depth-first in pre-order,
 * every existing child node whose span intersects the range.
 * Phase 2 (pt_unlock_range): unlock the same set in reverse (post-order,
 * highest index first), ending with the sub-tree root.
 *
 * Invariant while a cursor is live: every page-table node under its sub-tree
 * root whose span intersects [barrier_start, barrier_end) is locked by it.
 * The cursor keeps it by locking nodes it creates (map, split) before
 * publishing them, and by unlocking the subtrees it detaches.
 */
#include "internal.h"

enum { DESCEND_OK = 0, DESCEND_RETRY = 1 };

/* Inclusive last byte of the entry of `va` at `level`. */
static inline pt_vaddr_t entry_last(pt_vaddr_t va, int level)
{
    uint64_t size = pt_page_size(level);
    return (va & ~(size - 1)) + (size - 1);
}

/*
 * Phase-1 walk. On DESCEND_OK, *node (at *level) is locked and not stray.
 * Returns PT_ERR_NOMEM (nothing locked) if an intermediate node is needed
 * and cannot be allocated.
 */
static int find_and_lock_root(struct pt_cursor *c, pt_paddr_t *node_out, int *level_out)
{
    struct pt_mem *mem = c->pt->mem;
    pt_vaddr_t start = c->barrier_start, last = c->barrier_end - 1;
    pt_paddr_t node = c->pt->root;
    int level = PT_NR_LEVELS;

    while (level > 1) {
        unsigned i = pt_index(start, level);
        if (i != pt_index(last, level))
            break;  /* the range spans two or more entries here */
        /* A range that is exactly one entry stops at the node holding that
         * entry, so a huge map or a subtree removal there works (#3731/#3732). */
        if ((start & (pt_page_size(level) - 1)) == 0 && last == entry_last(start, level))
            break;
        pt_pte_t *ptes = pt_node_ptes(mem, node);
        pt_pte_t pte = pt_pte_load_acquire(ptes, i);
        if (pt_pte_is_table(pte)) {
            node = pt_pte_table_paddr(pte);
            level--;
            continue;
        }
        if (pt_pte_is_leaf(pte))
            break;  /* a covering huge leaf: operations split it under our lock */
        /* Absent: allocate the child under this node's lock, then re-read. */
        pt_node_lock(mem, node);
        if (pt_node_is_stray(mem, node)) {
            pt_node_unlock(mem, node);
            return DESCEND_RETRY;
        }
        if (pt_pte_is_absent(pt_pte_load(ptes, i))) {
            pt_paddr_t child;
            if (!pt_node_alloc(mem, level - 1, &child)) {
                pt_node_unlock(mem, node);
                return PT_ERR_NOMEM;
            }
            pt_pte_t old = 0;
            pt_pte_update(mem, node, ptes, i, level, &old, pt_pte_make_table(child));
            pt_meta_fast(mem, node)->nr_children++;
        }
        pt_node_unlock(mem, node);
    }
    pt_node_lock(mem, node);
    if (pt_node_is_stray(mem, node)) {
        pt_node_unlock(mem, node);
        return DESCEND_RETRY;
    }
    *node_out = node;
    *level_out = level;
    return DESCEND_OK;
}

/* Lock the child nodes of `node` (at `level`) that intersect [s, e] (inclusive,
 * inside node's span), pre-order. */
static void dfs_lock(const struct pt_mem *mem, pt_paddr_t node, int level, pt_vaddr_t s,
                     pt_vaddr_t e)
{
    if (level == 1)
        return;
    uint64_t size = pt_page_size(level);
    pt_pte_t *ptes = pt_node_ptes(mem, node);
    unsigned lo = pt_index(s, level), hi = pt_index(e, level);
    pt_vaddr_t es = s & ~(size - 1);
    for (unsigned i = lo; i <= hi; i++, es += size) {
        pt_pte_t pte = pt_pte_load(ptes, i);
        if (!pt_pte_is_table(pte))
            continue;
        pt_paddr_t child = pt_pte_table_paddr(pte);
        pt_node_lock(mem, child);
        pt_vaddr_t cs = s > es ? s : es;
        pt_vaddr_t ce = e < es + (size - 1) ? e : es + (size - 1);
        dfs_lock(mem, child, level - 1, cs, ce);
    }
}

/* The reverse of dfs_lock: post-order, highest index first. */
static void dfs_unlock(const struct pt_mem *mem, pt_paddr_t node, int level, pt_vaddr_t s,
                       pt_vaddr_t e)
{
    if (level == 1)
        return;
    uint64_t size = pt_page_size(level);
    pt_pte_t *ptes = pt_node_ptes(mem, node);
    unsigned lo = pt_index(s, level), hi = pt_index(e, level);
    pt_vaddr_t es = (e & ~(size - 1));
    for (unsigned i = hi + 1; i-- > lo; es -= size) {
        pt_pte_t pte = pt_pte_load(ptes, i);
        if (!pt_pte_is_table(pte))
            continue;
        pt_paddr_t child = pt_pte_table_paddr(pte);
        pt_vaddr_t cs = s > es ? s : es;
        pt_vaddr_t ce = e < es + (size - 1) ? e : es + (size - 1);
        dfs_unlock(mem, child, level - 1, cs, ce);
        pt_node_unlock(mem, child);
    }
}

int pt_lock_range(struct pt_cursor *c)
{
    pt_paddr_t node;
    int level;
    for (;;) {
        int r = find_and_lock_root(c, &node, &level);
        if (r == DESCEND_OK)
            break;
        if (r != DESCEND_RETRY)
            return r;
    }
    for (int l = 0; l < PT_NR_LEVELS; l++) {
        c->path[l] = 0;
        c->ptes[l] = 0;
    }
    c->guard_level = level;
    c->level = level;
    pt_cursor_reset_caches(c);
    c->path[level - 1] = node;
    c->ptes[level - 1] = pt_node_ptes(c->pt->mem, node);
    dfs_lock(c->pt->mem, node, level, c->barrier_start, c->barrier_end - 1);
    return PT_OK;
}

void pt_unlock_range(struct pt_cursor *c)
{
    pt_paddr_t root = c->path[c->guard_level - 1];
    dfs_unlock(c->pt->mem, root, c->guard_level, c->barrier_start, c->barrier_end - 1);
    pt_node_unlock(c->pt->mem, root);
}

uint64_t pt_mark_stray_and_unlock(const struct pt_mem *mem, pt_paddr_t node, int level)
{
    /* The whole subtree lies inside the cursor's range, so we hold every
     * node's lock. Mark stray under the lock so that a cursor that locks it
     * later sees the flag and retries from the root. */
    struct pt_frame_meta *m = pt_meta_fast(mem, node);
    PT_ASSERT(m->level == level, "detached node has the wrong level");
    __atomic_store_n(&m->stray, 1, __ATOMIC_RELAXED);
    pt_pte_t *ptes = pt_node_ptes(mem, node);
    uint64_t frames = 0;
    for (unsigned i = 0; i < PT_NR_ENTRIES; i++) {
        pt_pte_t pte = pt_pte_load(ptes, i);
        if (pt_pte_is_table(pte))
            frames += pt_mark_stray_and_unlock(mem, pt_pte_table_paddr(pte), level - 1);
        else if (level == 1 && pt_pte_is_leaf(pte) && pt_pte_leaf_tracked(pte))
            frames++;
    }
    pt_node_unlock(mem, node);
    return frames;
}
