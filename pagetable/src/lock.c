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
 *
 * WHY THE LOCK-FREE WALK IS SAFE (the three orderings; each has a test that
 * fails when it is broken: tests/pagetable/test_interleave.c, see
 * docs/pagetable-testing.md "Interleavings"):
 *
 * (O1) Release publication. A node is allocated (zeroed, metadata set) and,
 *   if it is a split, filled, all BEFORE the release store (pt_pte_update)
 *   that links it into its parent. A walker that reads the link sees all of
 *   that. Relaxed, a walker could read the link and then the child's old
 *   contents (poison, a previous life's entries) or its metadata unset.
 * (O2) Acquire loads on the walk (pt_pte_load_acquire), the other half of
 *   O1. Checked here by PT_DEBUG_ASSERT on the child's metadata, a plain
 *   read: with O1 or O2 relaxed, ThreadSanitizer reports it as a data race
 *   in the interleaving test (x86 itself orders both; the compiler need not).
 * (O3) Mark stray BEFORE unlock. A walker may hold a pointer to a node that
 *   a cursor is detaching (it read the parent's entry before the entry was
 *   cleared). The detaching cursor holds the node's lock while it clears the
 *   entry and sets `stray`; it unlocks only afterwards (release). The
 *   walker's lock (acquire) is then ordered after the unlock, so it sees
 *   `stray` and starts again from the root. If the unlock came first, a
 *   walker could lock the detached node, see it not stray, and map into a
 *   subtree that is no longer part of the table: the mapping would be lost
 *   and the node freed under it. unlock_detached asserts the order.
 * (O4) Re-read under the lock before allocating (find_and_lock_root): two
 *   walkers that both read an entry as absent serialise on the parent's
 *   lock; the second must see the first one's child and not allocate (and
 *   overwrite) a second one. PT_DEBUG_ASSERT checks the slot is still empty
 *   when the child is published.
 */
#include "internal.h"

pt_test_hook_fn pt_test_hook_current;
static void *test_hook_arg;

void pt_test_hook_set(pt_test_hook_fn fn, void *arg)
{
    test_hook_arg = arg;
    __atomic_store_n(&pt_test_hook_current, fn, __ATOMIC_RELEASE);
}

int pt_test_hooks_enabled(void)
{
    return PT_TEST_HOOKS;
}

#if PT_TEST_HOOKS
void pt_test_hook_call(enum pt_hook_point point, const struct pt_mem *mem, pt_paddr_t node,
                       unsigned index, pt_pte_t pte)
{
    pt_test_hook_fn fn = __atomic_load_n(&pt_test_hook_current, __ATOMIC_RELAXED);
    if (!fn)
        return;
    struct pt_hook_event ev = { point, node, pt_meta_fast(mem, node)->level, index, pte };
    fn(test_hook_arg, &ev);
}
#endif

enum { DESCEND_OK = 0, DESCEND_RETRY = 1 };

/* Inclusive last byte of the entry of `va` at `level`. */
static inline pt_vaddr_t entry_last(pt_vaddr_t va, int level)
{
    uint64_t size = pt_page_size(level);
    return (va & ~(size - 1)) + (size - 1);
}

/* Plain reads of what the publisher of `node` wrote before its release
 * store (O1/O2): under ThreadSanitizer a data race if either side is relaxed.
 * `owner` is read too because it sits alone in its 8-byte word, written only
 * when the frame is allocated (pt_check stamps it only on a quiescent
 * table): TSan keeps four accesses per word, and the word of usage/level
 * also holds the busy lock byte, whose accesses push the allocating write
 * out of TSan's history. */
static bool published_child(const struct pt_mem *mem, pt_paddr_t node, int level)
{
    const struct pt_frame_meta *m = pt_meta_fast(mem, node);
    return m->usage == PT_USAGE_PT_NODE && m->level == level && m->owner != UINT64_MAX;
}

/* `node`, just locked, was detached meanwhile: unlock, start again. */
static int stray_retry(const struct pt_mem *mem, pt_paddr_t node)
{
    pt_node_unlock(mem, node);
    pt_hook(PT_HOOK_STRAY_RETRY, mem, node, 0, 0);
    return DESCEND_RETRY;
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
        pt_pte_t pte = pt_pte_load_acquire(ptes, i);  /* O2 */
        pt_hook(PT_HOOK_DESCENT_READ, mem, node, i, pte);
        if (pt_pte_is_table(pte)) {
            node = pt_pte_table_paddr(pte);
            level--;
            PT_DEBUG_ASSERT(published_child(mem, node, level),
                            "lock-free walk reached a node that is not a published child");
            continue;
        }
        if (pt_pte_is_leaf(pte))
            break;  /* a covering huge leaf: operations split it under our lock */
        /* Absent: allocate the child under this node's lock, then re-read. */
        pt_node_lock(mem, node);
        if (pt_node_is_stray(mem, node))  /* O3 */
            return stray_retry(mem, node);
        if (pt_pte_is_absent(pt_pte_load(ptes, i))) {  /* O4: re-read under the lock */
            pt_paddr_t child;
            if (!pt_node_alloc(mem, level - 1, &child)) {
                pt_node_unlock(mem, node);
                return PT_ERR_NOMEM;
            }
            PT_DEBUG_ASSERT(pt_pte_is_absent(pt_pte_load(ptes, i)),
                            "publishing a child over a non-empty entry");
            pt_pte_t old = 0;
            pt_pte_update(mem, node, ptes, i, level, &old, pt_pte_make_table(child));
            pt_meta_fast(mem, node)->nr_children++;
        }
        pt_node_unlock(mem, node);
    }
    pt_node_lock(mem, node);
    if (pt_node_is_stray(mem, node))  /* O3 */
        return stray_retry(mem, node);
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

/* Unlock a detached node: only once it is marked stray (O3). */
static void unlock_detached(const struct pt_mem *mem, pt_paddr_t node)
{
    PT_DEBUG_ASSERT(pt_node_is_stray(mem, node), "detached node unlocked before marked stray");
    pt_node_unlock(mem, node);
}

uint64_t pt_mark_stray_and_unlock(const struct pt_mem *mem, pt_paddr_t node, int level)
{
    /* The whole subtree lies inside the cursor's range, so we hold every
     * node's lock. Mark stray under the lock so that a cursor that locks it
     * later sees the flag and retries from the root (O3). */
    struct pt_frame_meta *m = pt_meta_fast(mem, node);
    PT_ASSERT(m->level == level, "detached node has the wrong level");
    PT_DEBUG_ASSERT(__atomic_load_n(&m->lock, __ATOMIC_RELAXED),
                    "detaching a node whose lock the cursor does not hold");
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
    unlock_detached(mem, node);
    return frames;
}
