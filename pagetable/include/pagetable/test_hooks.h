/*
 * Test-only hooks into the locking protocol (lock.c), so that a test can
 * hold one thread at an exact point (between its lock-free read of a PTE
 * and the lock it takes next, say) while another thread runs, and so make
 * the protocol's racy interleavings deterministic. See docs/pagetable.md
 * section 5 and tests/pagetable/test_interleave.c.
 *
 * Compiled into host builds only: with PT_FREESTANDING (the guest) or
 * PT_NO_TEST_HOOKS defined, the core calls no hook and pt_test_hooks_enabled()
 * is false. With no hook installed, each point costs one load and a branch
 * (cursor creation, node locks and unlocks; never the per-page fast paths).
 */
#ifndef PAGETABLE_TEST_HOOKS_H
#define PAGETABLE_TEST_HOOKS_H

#include "pagetable/x86_64.h"

enum pt_hook_point {
    /* find_and_lock_root read entry `index` of `node` (at `level`) without a
     * lock; `pte` is what it read. Next it either follows a table entry,
     * stops, or (absent) locks `node` to allocate the child. */
    PT_HOOK_DESCENT_READ = 1,
    /* A thread is about to lock `node` (at `level`) (pt_node_lock). */
    PT_HOOK_LOCK = 2,
    /* A thread has just unlocked `node` (pt_node_unlock). */
    PT_HOOK_UNLOCKED = 3,
    /* find_and_lock_root locked `node` as its sub-tree root (or to allocate
     * a child under it), found it stray, unlocked it and starts again. */
    PT_HOOK_STRAY_RETRY = 4,
};

struct pt_hook_event {
    enum pt_hook_point point;
    pt_paddr_t node;
    int level;          /* the node's level (from its metadata) */
    unsigned index;     /* PT_HOOK_DESCENT_READ only */
    pt_pte_t pte;       /* PT_HOOK_DESCENT_READ only */
};

/* Called on the thread that reaches the point; may block (that is the use). */
typedef void (*pt_test_hook_fn)(void *arg, const struct pt_hook_event *ev);

/*
 * Install `fn` (NULL: none) for every page table of the process.
 * Requires: no cursor is live (install before starting the threads, remove
 *   after joining them).
 * Guarantees: from the next point reached, fn(arg, event) is called at each.
 */
void pt_test_hook_set(pt_test_hook_fn fn, void *arg);

/* Whether this build of the core calls hooks (false for freestanding). */
int pt_test_hooks_enabled(void);

#endif /* PAGETABLE_TEST_HOOKS_H */
