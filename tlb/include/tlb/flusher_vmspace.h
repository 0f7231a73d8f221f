/*
 * A thin VmSpace layer over the page-table cursor and the TLB flusher: what
 * OSTD's VmSpace / VmSpace CursorMut do (ostd/src/mm/vm_space.rs, the seed's
 * semantics; shared/reference/ostd-port-notes.md §2, §3):
 *
 *   map      replace semantics of the seed: a replaced old mapping is issued
 *            with its frame kept, then dispatched at once, and (unlike the
 *            seed) synced, so map completes only when no CPU can still use
 *            the old frame through this VA
 *   unmap    take_next loop, issue_with per removed frag, dispatch; sync only
 *            if asked (OSTD's VmSpace::unmap never syncs; Vmar unmap does)
 *   protect  protect_next loop, issue per changed leaf, dispatch, sync
 *   activate join the new space's CPU set, load CR3, leave the old set
 *
 * Each operation is bracketed by op-begin/op-end events, and the cursor by
 * cursor-lock/unlock events, so the validator knows the completion points.
 * The guest's real VmSpace (a later issue) may wrap this.
 */
#ifndef TLB_FLUSHER_VMSPACE_H
#define TLB_FLUSHER_VMSPACE_H

#include "tlb/flusher.h"

struct tlb_vmspace {
    struct pt_page_table pt;
    struct tlb_atomic_cpuset cpus;   /* CPUs that have it active */
    struct tlb_domain *dom;
    /* Sticky, atomic: some leaf mapped through this layer had G=1. Such
       entries survive CR3 loads, so leaving this space costs a global flush,
       and detached subtrees are flushed as possibly global. */
    uint8_t may_have_global;
};

/*
 * Create an empty space with the given page-table config.
 * Fails with PT_ERR_NOMEM (nothing allocated) when the root cannot be had.
 */
int tlb_vmspace_init(struct tlb_vmspace *vs, struct tlb_domain *dom, const struct pt_config *cfg);

/*
 * Create an empty user space whose page table shares the kernel half with
 * `kernel` (pt_create_user_sharing, OSTD's create_user_page_table): every
 * space maps the kernel the same way.
 * Requires: kernel created with a kernel config; user_cfg a user config.
 * Fails with TLB_ERR_INVAL on a NULL argument, PT_ERR_NOMEM (nothing
 * allocated) when the root cannot be had.
 */
int tlb_vmspace_init_sharing(struct tlb_vmspace *vs, struct tlb_domain *dom,
                             const struct pt_page_table *kernel, const struct pt_config *user_cfg);

/*
 * Destroy the space and free its page tables.
 * Fails with TLB_ERR_BUSY (nothing done) while any CPU has it active.
 * Requires: no live cursor on it; every dispatch touching it has completed
 *   (tlb_domain_live_batches() == 0 is the simple way to know).
 */
int tlb_vmspace_destroy(struct tlb_vmspace *vs);

/*
 * Make `vs` the calling CPU's active space (NULL: load the domain's idle root
 * and leave every space). Order (OSTD VmSpace::activate, with the removal
 * after the CR3 load as the brief asks): join vs->cpus (acquire-release, see
 * cpuset.c), load CR3, then, if the old space may hold global leaves, flush
 * globals (they survive the CR3 load and the old space will no longer send
 * this CPU flushes), and only then leave the old space's set.
 * A no-op when `vs` is already active here.
 */
void tlb_vmspace_activate(struct tlb_domain *dom, struct tlb_vmspace *vs);

/* A mutable cursor with its flusher (OSTD's VmSpace CursorMut). */
struct tlb_cursor {
    struct tlb_vmspace *vs;
    struct pt_cursor pc;
    struct tlb_flusher flusher;
};

/*
 * Lock [start, end) of the space (pt_cursor_new) and start a flusher.
 * Fails as pt_cursor_new (PT_ERR_UNALIGNED, PT_ERR_INVALID_RANGE, PT_ERR_NOMEM).
 */
int tlb_cursor_new(struct tlb_cursor *c, struct tlb_vmspace *vs, pt_vaddr_t start, pt_vaddr_t end);

/* Dispatch anything still queued and unlock (emits cursor-unlock). */
void tlb_cursor_drop(struct tlb_cursor *c);

/* This cursor's flusher, for callers that issue their own flushes. */
static inline struct tlb_flusher *tlb_cursor_flusher(struct tlb_cursor *c) { return &c->flusher; }

/*
 * Map `item` at the cursor's va (pt_cursor_map). If a mapping (or subtree)
 * was there, it is issued with its frame/node kept, dispatched and synced.
 * A huge leaf never replaces a table in one store: the table's subtree is
 * removed and flushed first (break-before-make), then the leaf is written.
 * (A small leaf inside a larger one still splits it in place, inside the
 * page-table core: the cursor's range does not cover the larger leaf.)
 * Returns 0 (slot was empty) or 1 (replaced), or fails as pt_cursor_map.
 */
int tlb_cursor_map(struct tlb_cursor *c, const struct pt_item *item);

/*
 * Unmap [va, va+len) from the cursor's va: every removed frame and detached
 * subtree is kept until flushed everywhere; one dispatch at the end; a sync
 * too if `sync`. *nr_frames (may be NULL) gets the number of tracked frames
 * unmapped (OSTD's return value). len == 0 does nothing.
 * Fails before doing anything with PT_ERR_UNALIGNED (len not 4 KiB-aligned)
 * or PT_ERR_BEYOND_BARRIER (va + len past the cursor's range); with
 * PT_ERR_NOMEM part-way (a split), still flushing what was removed.
 */
int tlb_cursor_unmap(struct tlb_cursor *c, uint64_t len, bool sync, uint64_t *nr_frames);

/*
 * Apply `op` to every mapped leaf in [va, va+len) (protect_next loop), issue
 * a flush for each leaf whose property changed, dispatch, sync.
 * *nr_changed (may be NULL) gets the number of leaves changed. len == 0
 * does nothing. Fails as tlb_cursor_unmap.
 */
int tlb_cursor_protect(struct tlb_cursor *c, uint64_t len, pt_protect_fn op, void *arg,
                       uint64_t *nr_changed);

#endif /* TLB_FLUSHER_VMSPACE_H */
