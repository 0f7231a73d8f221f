/*
 * A host implementation of struct pt_platform_ops for tests, benchmarks and
 * the TLB layer's host tests: "physical memory" is a malloc'ed arena of
 * nr_frames 4 KiB frames, and a physical address is an offset into it.
 * Frame 0 is reserved (pt_frame_reserve) and never handed out, so pa 0 never
 * appears in a PTE.
 *
 * Features: a thread-safe free list, failure injection (fail exactly the k-th
 * allocation, or every allocation after a budget) for out-of-memory tests,
 * counters (allocations, frees, live frames) and an optional pte_stored
 * callback that every PTE store of the core is passed to.
 * Freed frames are filled with 0xA5 so that a use after free shows up as
 * garbage PTEs instead of silently working.
 */
#ifndef PAGETABLE_HOST_PLATFORM_H
#define PAGETABLE_HOST_PLATFORM_H

#include <pthread.h>

#include "pagetable/frame.h"

typedef void (*pt_host_pte_hook)(void *arg, const struct pt_pte_store *store);

struct pt_host_platform {
    struct pt_mem mem;              /* ready to use after pt_host_platform_init */
    struct pt_platform_ops ops;     /* the callbacks mem uses */
    uint8_t *arena;                 /* nr_frames * 4 KiB, 4 KiB-aligned */
    struct pt_frame_meta *meta;     /* nr_frames slots */
    uint64_t nr_frames;
    /* Free list: a stack of frame numbers, guarded by `lock`. */
    uint64_t *free_stack;
    uint64_t free_top;
    pthread_mutex_t lock;
    /* Failure injection (atomic); see pt_host_fail_nth / pt_host_fail_after. */
    uint64_t alloc_calls;           /* alloc_frame calls so far, failed or not */
    uint64_t fail_nth;              /* 0: off; else fail the call with this number */
    uint64_t budget;                /* successful allocations left; UINT64_MAX: unlimited */
    /* Counters (atomic). live = allocated - freed. */
    uint64_t allocated, freed, failed;
    /* Optional PTE-store observer. */
    pt_host_pte_hook pte_hook;
    void *pte_hook_arg;
};

/*
 * Set up an arena of nr_frames frames (frame 0 reserved, so nr_frames - 1
 * allocatable) with its metadata, and initialise hp->mem over them.
 * Requires: nr_frames >= 2; hp not already initialised.
 * Fails (returns false, nothing allocated) if host memory runs out.
 */
bool pt_host_platform_init(struct pt_host_platform *hp, uint64_t nr_frames);

/* Free the arena and metadata. Requires: nothing uses hp->mem any more. */
void pt_host_platform_destroy(struct pt_host_platform *hp);

/*
 * Make allocation call number `n` (counting every alloc_frame call from now
 * on, starting at 1) fail; n == 0 switches this off. One-shot.
 */
void pt_host_fail_nth(struct pt_host_platform *hp, uint64_t n);

/* Let `budget` more allocations succeed, then fail all; UINT64_MAX: no limit. */
void pt_host_fail_after(struct pt_host_platform *hp, uint64_t budget);

/* Switch both kinds of failure injection off. */
void pt_host_fail_off(struct pt_host_platform *hp);

/*
 * Install (or with hook == NULL remove) the PTE-store observer. While none is
 * installed, ops.pte_stored is NULL so the core skips the call entirely.
 * Requires: no thread is using hp->mem concurrently.
 */
void pt_host_set_pte_hook(struct pt_host_platform *hp, pt_host_pte_hook hook, void *arg);

/* Frames currently allocated from the platform (snapshot). */
uint64_t pt_host_live(const struct pt_host_platform *hp);
uint64_t pt_host_allocated(const struct pt_host_platform *hp);
uint64_t pt_host_freed(const struct pt_host_platform *hp);
/* alloc_frame calls that failed (injected or arena empty). */
uint64_t pt_host_failed(const struct pt_host_platform *hp);

/* Host pointer to frame `pa`'s bytes (same as ops.phys_to_virt). */
void *pt_host_frame_ptr(const struct pt_host_platform *hp, pt_paddr_t pa);

#endif /* PAGETABLE_HOST_PLATFORM_H */
