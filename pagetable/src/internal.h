/*
 * Internal helpers shared by the page-table core's source files: atomic PTE
 * access (the single store path that feeds ops->pte_stored), node locks and
 * node allocation. Not a public header.
 */
#ifndef PAGETABLE_INTERNAL_H
#define PAGETABLE_INTERNAL_H

#include "pagetable/page_table.h"
#include "pagetable/panic.h"
#include "pagetable/test_hooks.h"
#include "prop_bits.h"

/* Debug assertions: invariants of the concurrency protocol that are cheap
 * but not free, checked off the per-page paths. On in host builds (tests,
 * benchmarks) unless PT_NO_DEBUG_CHECKS is defined, off in the guest unless
 * PT_DEBUG_CHECKS is defined. */
#if (!defined(PT_FREESTANDING) && !defined(PT_NO_DEBUG_CHECKS)) || defined(PT_DEBUG_CHECKS)
#define PT_DEBUG_ASSERT(cond, msg) PT_ASSERT(cond, msg)
#else
#define PT_DEBUG_ASSERT(cond, msg) ((void)sizeof(!(cond)))  /* unevaluated */
#endif

/* Test hooks (test_hooks.h): compiled into host builds only. */
#if !defined(PT_FREESTANDING) && !defined(PT_NO_TEST_HOOKS)
#define PT_TEST_HOOKS 1
extern pt_test_hook_fn pt_test_hook_current;
void pt_test_hook_call(enum pt_hook_point point, const struct pt_mem *mem, pt_paddr_t node,
                       unsigned index, pt_pte_t pte);
static inline void pt_hook(enum pt_hook_point point, const struct pt_mem *mem, pt_paddr_t node,
                           unsigned index, pt_pte_t pte)
{
    if (__builtin_expect(__atomic_load_n(&pt_test_hook_current, __ATOMIC_RELAXED) != 0, 0))
        pt_test_hook_call(point, mem, node, index, pte);
}
#else
#define PT_TEST_HOOKS 0
static inline void pt_hook(enum pt_hook_point point, const struct pt_mem *mem, pt_paddr_t node,
                           unsigned index, pt_pte_t pte)
{
    (void)point, (void)mem, (void)node, (void)index, (void)pte;
}
#endif

static inline struct pt_frame_meta *pt_meta_fast(const struct pt_mem *mem, pt_paddr_t pa)
{
    return &mem->meta[pa >> PT_BASE_PAGE_SHIFT];
}

/* pt_frame_meta (frame.h), inline: the slot of a page-aligned pa inside the
 * metadata array, or a panic. */
static inline struct pt_frame_meta *pt_meta_checked(const struct pt_mem *mem, pt_paddr_t pa)
{
    PT_ASSERT((pa & (PT_BASE_PAGE_SIZE - 1)) == 0, "pt_frame_meta: unaligned physical address");
    PT_ASSERT((pa >> PT_BASE_PAGE_SHIFT) < mem->nr_frames, "pt_frame_meta: pa beyond metadata");
    return pt_meta_fast(mem, pa);
}

/* Tear down a frame whose count was just taken to 0 (busy): frame.c. */
void pt_frame_drop_last(struct pt_mem *mem, pt_paddr_t pa, struct pt_frame_meta *m);

/* pt_frame_put (frame.h), inline: pt_frag_release drops a reference per
 * 4 KiB page unmapped, and a call costs as much as the drop itself. */
static inline void pt_frame_put_inline(struct pt_mem *mem, pt_paddr_t pa)
{
    struct pt_frame_meta *m = pt_meta_checked(mem, pa);
    /* Release our writes; the last holder also acquires everyone else's
     * before tearing the frame down (acq_rel instead of a separate fence,
     * which ThreadSanitizer cannot model). */
    uint64_t old = __atomic_fetch_sub(&m->ref_count, 1, __ATOMIC_ACQ_REL);
    if (__builtin_expect(old == 0 || old > PT_REF_MAX, 0))
        pt_panic("pt_frame_put: frame holds no reference (unused, unique or busy)");
    if (old == 1)
        pt_frame_drop_last(mem, pa, m);
}

/* The metadata of page-table node `node` (4 KiB-aligned, so its slot is at
 * byte offset node / 4096 * 64 = node >> 6: one shift fewer on hot paths). */
_Static_assert(sizeof(struct pt_frame_meta) == 64 && PT_BASE_PAGE_SHIFT == 12,
               "pt_node_meta relies on 64-byte slots and 4 KiB frames");
static inline struct pt_frame_meta *pt_node_meta(const struct pt_mem *mem, pt_paddr_t node)
{
    return (struct pt_frame_meta *)((char *)mem->meta + (node >> 6));
}

/* The 512 PTEs of node `node` (through the direct map when the platform
 * declared one: no call on the cursor's descent). */
static inline pt_pte_t *pt_node_ptes(const struct pt_mem *mem, pt_paddr_t node)
{
    if (__builtin_expect(mem->has_direct_map, 1))
        return (pt_pte_t *)(mem->direct_map + node);
    return (pt_pte_t *)mem->ops->phys_to_virt(mem->ctx, node);
}

/* Lock-free read (pairs with the release store that published a child). */
static inline pt_pte_t pt_pte_load_acquire(const pt_pte_t *ptes, unsigned i)
{
    return __atomic_load_n(&ptes[i], __ATOMIC_ACQUIRE);
}

/* Read under the node's lock (only the hardware may race, on A/D bits). */
static inline pt_pte_t pt_pte_load(const pt_pte_t *ptes, unsigned i)
{
    return __atomic_load_n(&ptes[i], __ATOMIC_RELAXED);
}

/*
 * THE PTE store: every store the core makes to a PTE slot is pt_pte_write
 * (and every one but the level-1 fast paths' goes through pt_pte_update,
 * which also calls the platform's pte_stored hook; the fast paths call the
 * hook from their out-of-line tails, see cursor.c).
 *
 * Ordering: a release store (or a release compare-and-exchange), so that a
 * lock-free walker (lock.c) whose acquire load reads a new table entry also
 * reads the child's zeroed or filled entries and its metadata.
 *
 * Atomicity against the MMU: the MMU sets A (in any entry it walks) and D
 * (in the leaf of a write) in HARDWARE-PRESENT entries at any moment, with a
 * locked read-modify-write, without our node locks (Intel SDM Vol. 3A
 * §4.8; AMD APM Vol. 2 §5.4.2). It never writes an entry whose P bit is
 * clear. So:
 *  - `*old` not present (absent, a PROT_NONE leaf, any entry of a node not
 *    yet published): nothing but a holder of the node's lock can change the
 *    slot, the caller holds it, and a plain release store is exact;
 *  - `*old` present with A and D both set: the MMU only ever sets those
 *    two bits, so it can change nothing either, and a plain release store
 *    is exact too (it saves a locked instruction on pages the guest has
 *    written, the common case when unmapping or write-protecting);
 *  - `*old` present otherwise: a compare-and-exchange from `*old`. If it fails, the
 *    MMU set A/D since the caller's read: *old becomes the current value,
 *    nothing is stored, and the caller recomputes its new value from *old
 *    (pt_pte_keep_hw_ad) and tries again. A failure that differs in any
 *    other bit means someone wrote the slot without its node's lock: the
 *    retry paths panic then (pt_pte_lost_race).
 * Returns true once stored.
 */
#define PTE_HW_AD (PTE_A | PTE_D)

static inline bool pt_pte_write(pt_pte_t *slot, pt_pte_t *old, pt_pte_t new_pte)
{
    if (!pt_pte_is_hw_present(*old) || (*old & PTE_HW_AD) == PTE_HW_AD) {
        __atomic_store_n(slot, new_pte, __ATOMIC_RELEASE);
        return true;
    }
    return __atomic_compare_exchange_n(slot, old, new_pte, false, __ATOMIC_RELEASE,
                                       __ATOMIC_RELAXED);
}

/* After pt_pte_write failed on an entry read as `seen`, now `cur`: panics
 * unless the MMU's A/D updates explain the difference (out of line, cold). */
void pt_pte_lost_race(pt_pte_t seen, pt_pte_t cur);

/* The platform's pte_stored hook (out of line: keeps hot paths lean). */
void pt_pte_report(const struct pt_mem *mem, pt_paddr_t node, unsigned i, int level,
                   pt_pte_t old, pt_pte_t new_pte);

/* pt_pte_write + the hook: the store of every path but the fast paths. */
static inline bool pt_pte_update(const struct pt_mem *mem, pt_paddr_t node, pt_pte_t *ptes,
                                 unsigned i, int level, pt_pte_t *old, pt_pte_t new_pte)
{
    if (!pt_pte_write(&ptes[i], old, new_pte))
        return false;
    if (mem->ops->pte_stored)
        pt_pte_report(mem, node, i, level, *old, new_pte);
    return true;
}

/* Store new_pte over what the caller read as `old`, keeping nothing of it
 * (a clear, a replacement, a table over a huge leaf whose A/D the caller
 * already copied): returns the value replaced, with the A/D bits the MMU
 * had set by then (the caller hands them on: a take_next frag's DIRTY). */
static inline pt_pte_t pt_pte_replace(const struct pt_mem *mem, pt_paddr_t node, pt_pte_t *ptes,
                                      unsigned i, int level, pt_pte_t old, pt_pte_t new_pte)
{
    for (pt_pte_t seen = old; !pt_pte_update(mem, node, ptes, i, level, &old, new_pte); seen = old)
        pt_pte_lost_race(seen, old);
    return old;
}

/* After a failed update of an entry read as `seen`, now `cur`: `new_pte`
 * plus the A/D bits the MMU set in between (as if the hardware's access
 * came just after our update, which a stale TLB entry allows anyway). */
static inline pt_pte_t pt_pte_keep_hw_ad(pt_pte_t seen, pt_pte_t cur, pt_pte_t new_pte)
{
    pt_pte_lost_race(seen, cur);
    return new_pte | (cur & ~seen & PTE_HW_AD);
}

/* Spin lock in the node's metadata (OSTD: CAS 0->1 Acquire, store 0 Release). */
static inline void pt_node_lock(const struct pt_mem *mem, pt_paddr_t node)
{
    pt_hook(PT_HOOK_LOCK, mem, node, 0, 0);
    uint8_t *l = &pt_meta_fast(mem, node)->lock;
    for (;;) {
        uint8_t expect = 0;
        if (__atomic_compare_exchange_n(l, &expect, 1, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
            return;
        while (__atomic_load_n(l, __ATOMIC_RELAXED))
            __asm__ volatile("pause" ::: "memory"); /* spin-wait hint */
    }
}

static inline void pt_node_unlock(const struct pt_mem *mem, pt_paddr_t node)
{
    __atomic_store_n(&pt_meta_fast(mem, node)->lock, 0, __ATOMIC_RELEASE);
    pt_hook(PT_HOOK_UNLOCKED, mem, node, 0, 0);
}

static inline bool pt_node_is_stray(const struct pt_mem *mem, pt_paddr_t node)
{
    return __atomic_load_n(&pt_meta_fast(mem, node)->stray, __ATOMIC_RELAXED) != 0;
}

/* Is a leaf PTE backed by a tracked frame (holding one reference)? */
static inline bool pt_pte_leaf_tracked(pt_pte_t pte)
{
    return (pte & PTE_UNTRACKED) == 0;
}

/*
 * Allocate a zeroed page-table node at `level` (ref 1, unlocked, not stray)
 * and tell the platform (ops->node_allocated, when set).
 * Returns false (nothing allocated) when out of memory.
 */
bool pt_node_alloc(struct pt_mem *mem, int level, pt_paddr_t *pa);

/* Decode the item of a leaf PTE at `level`. */
static inline struct pt_item pt_item_from_pte(pt_pte_t pte, int level)
{
    struct pt_item it;
    it.pa = pt_pte_leaf_paddr(pte, level);
    it.level = level;
    it.prop = pt_pte_prop(pte);
    it.tracked = pt_pte_leaf_tracked(pte);
    return it;
}

/* Reset the cursor's one-entry caches (cursor.c). The map cache starts
 * empty (a sentinel key no item has: its byte 7 is a bool); the other two
 * start with a true entry, the all-zero property and its encoding. */
static inline void pt_cursor_reset_caches(struct pt_cursor *c)
{
    const struct pt_prop zero = { 0, 0, 0 };
    c->l1_end = 0;
    c->map_key = UINT64_MAX;
    c->map_bits = 0;
    c->prot_word = 0;                  /* the word of `zero` */
    c->prot_bits = pt_prop_bits(zero);
    c->dec_bits = PTE_LEAF | pt_prop_bits(zero);  /* cursor.c's DEC_BITS of that leaf */
    c->dec_item = (struct pt_item){ .pa = 0, .level = 1, .prop = zero, .tracked = true };
    c->dec_word = 0;
}

/* Lock / unlock protocol (lock.c). */
int pt_lock_range(struct pt_cursor *c);
void pt_unlock_range(struct pt_cursor *c);
/* Mark every node of a detached subtree stray, unlock it (we held its locks),
 * and count the tracked level-1 leaves under it. */
uint64_t pt_mark_stray_and_unlock(const struct pt_mem *mem, pt_paddr_t node, int level);

#endif /* PAGETABLE_INTERNAL_H */
