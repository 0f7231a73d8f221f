/*
 * The platform interface: the few things the page-table core needs from
 * whoever runs it. The guest kernel implements it over its physical frame
 * allocator and linear map; host tests and benchmarks implement it over a
 * malloc'ed arena of "physical" memory (pagetable/host_platform.h).
 */
#ifndef PAGETABLE_PLATFORM_H
#define PAGETABLE_PLATFORM_H

#include "pagetable/x86_64.h"

struct pt_pte_store {
    pt_paddr_t node;     /* physical address of the page-table node */
    unsigned   index;    /* 0..511 */
    int        level;    /* level of the node (1..4) */
    pt_pte_t   old_pte;
    pt_pte_t   new_pte;
};

struct pt_platform_ops {
    /*
     * Where the core can read and write physical frame `pa` (page-aligned).
     * Must return a pointer to PT_BASE_PAGE_SIZE accessible bytes for any pa
     * that alloc_frame ever returned.
     */
    void *(*phys_to_virt)(void *ctx, pt_paddr_t pa);
    /*
     * Allocate one 4 KiB physical frame (contents unspecified).
     * Returns true and sets *pa, or false when out of memory. Thread-safe.
     */
    bool (*alloc_frame)(void *ctx, pt_paddr_t *pa);
    /* Give back a frame obtained from alloc_frame. Thread-safe. */
    void (*release_frame)(void *ctx, pt_paddr_t pa);
    /*
     * Optional (may be NULL): called after every PTE store the core makes,
     * on the storing CPU/thread, in program order. The TLB layer feeds it to
     * the validator's event stream.
     */
    void (*pte_stored)(void *ctx, const struct pt_pte_store *store);
    /*
     * Optional (may be NULL): called when the core has taken frame `pa` from
     * alloc_frame for a page-table node of `level` (1..4) and zeroed it,
     * before any store into the node or into an entry that links it, on the
     * allocating CPU/thread. Every page-table node the core uses is
     * announced here first. The TLB layer turns it into a NODE_ALLOC event
     * (tlb_note_node_alloc), which lets the validator model every entry of
     * the node from the start.
     */
    void (*node_allocated)(void *ctx, pt_paddr_t pa, int level);
};

#endif /* PAGETABLE_PLATFORM_H */
