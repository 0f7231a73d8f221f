/*
 * Frame metadata (OSTD frame/meta.rs): one fixed-size slot per physical
 * frame, holding an atomic reference count, what the frame is used for and,
 * for page-table nodes, the node's level, present-child count, lock and
 * stray flag.
 *
 * Reference counting follows OSTD: a frame handle owns one reference;
 * mapping a tracked frame moves one reference into the PTE, and unmapping
 * hands it back to the caller. So for every tracked frame,
 *     ref_count == live handles + PTEs pointing at it.
 */
#ifndef PAGETABLE_FRAME_H
#define PAGETABLE_FRAME_H

#include <stddef.h>
#include "pagetable/platform.h"

#define PT_REF_UNUSED UINT64_MAX          /* free: not allocated */
#define PT_REF_UNIQUE (UINT64_MAX - 1)    /* owned by exactly one unique handle */
#define PT_REF_MAX    ((uint64_t)INT64_MAX) /* reaching this is a bug: abort */

enum pt_frame_usage {
    PT_USAGE_FREE = 0,       /* on the platform's free list (ref UNUSED) */
    PT_USAGE_PT_NODE,        /* a page-table node */
    PT_USAGE_UNTYPED,        /* an untyped data frame (mapped into address spaces) */
    PT_USAGE_RESERVED,       /* never handed out (firmware, kernel image, ...) */
    PT_USAGE_META,           /* holds frame metadata itself */
    PT_USAGE_KERNEL,         /* other kernel-owned memory */
};

/* One slot per 4 KiB frame; at most 64 bytes (asserted in frame.c). */
struct pt_frame_meta {
    uint64_t ref_count;      /* atomic; PT_REF_* states or 1..PT_REF_MAX */
    uint8_t  usage;          /* enum pt_frame_usage; fixed while ref != UNUSED */
    /* Page-table nodes only: */
    uint8_t  level;          /* 1..4 */
    uint8_t  lock;           /* atomic; 0 free, 1 held (spin lock, not reentrant) */
    uint8_t  stray;          /* atomic; 1 once detached from its page table */
    uint16_t nr_children;    /* non-absent PTEs; changed only under `lock` */
    uint8_t  _pad[2];
    uint64_t owner;          /* free for the owner's use (e.g. the root it belongs to);
                                for page-table nodes pt_check uses it as a visit stamp */
    uint8_t  storage[40];    /* free for the owner's use */
};

/*
 * The physical memory the core manages: platform callbacks plus the metadata
 * array covering frames [0, nr_frames).
 */
struct pt_mem {
    const struct pt_platform_ops *ops;
    void *ctx;
    struct pt_frame_meta *meta;  /* nr_frames slots */
    uint64_t nr_frames;
    /* Optional direct map (pt_mem_set_direct_map): when has_direct_map,
       phys_to_virt(pa) == direct_map + pa, and the core computes node
       addresses itself instead of calling the platform on every descent. */
    uintptr_t direct_map;
    bool has_direct_map;
};

/*
 * Initialise `mem` over caller-provided metadata storage.
 * Requires: meta points at nr_frames slots; ops->phys_to_virt, alloc_frame
 *           and release_frame are non-NULL.
 * Guarantees: every slot is UNUSED with usage FREE.
 */
void pt_mem_init(struct pt_mem *mem, const struct pt_platform_ops *ops, void *ctx,
                 struct pt_frame_meta *meta, uint64_t nr_frames);

/*
 * Declare that the platform maps every frame linearly: phys_to_virt(ctx, pa)
 * == (void *)(base + pa) for every pa below nr_frames pages. The core then
 * computes node addresses without calling phys_to_virt (a saving on every
 * descent of a cursor). Optional; pt_mem_init leaves it off.
 * Requires: the equality above holds (checked for frame 0 and the last frame).
 */
void pt_mem_set_direct_map(struct pt_mem *mem, uintptr_t base);

/* The metadata slot of frame `pa`. Requires pa page-aligned and < nr_frames pages. */
struct pt_frame_meta *pt_frame_meta(const struct pt_mem *mem, pt_paddr_t pa);

/* Mark [pa, pa+len) (page-aligned) as reserved: never allocated, never freed. */
void pt_frame_reserve(struct pt_mem *mem, pt_paddr_t pa, uint64_t len);

/*
 * Allocate a zeroed frame for `usage` (not PT_USAGE_FREE) and return a handle
 * (ref_count 1) in *pa.
 * Fails (returns false, nothing changed) when the platform is out of memory
 * or returns a frame outside the metadata array.
 */
bool pt_frame_alloc(struct pt_mem *mem, enum pt_frame_usage usage, pt_paddr_t *pa);

/* Take one more reference to a live (shared) frame. Aborts at PT_REF_MAX. */
void pt_frame_get(struct pt_mem *mem, pt_paddr_t pa);

/*
 * Drop one reference. The last one frees the frame: a page-table node first
 * drops everything it maps (child nodes recursively, tracked leaves' frame
 * references), then the frame goes back to the platform (ref UNUSED).
 * Requires: the caller owns a reference.
 */
void pt_frame_put(struct pt_mem *mem, pt_paddr_t pa);

/*
 * OSTD's UniqueFrame (added by the core). A unique frame has exactly one
 * owner and ref_count PT_REF_UNIQUE: pt_frame_get/put on it abort, and map
 * refuses it (PT_ERR_BAD_FRAME).
 * pt_frame_alloc_unique: as pt_frame_alloc, but the handle is unique.
 * pt_frame_unique_to_shared: UNIQUE -> 1 (a shared handle, same owner).
 *   Requires: the caller owns the unique frame; aborts if it is not unique.
 * pt_frame_shared_to_unique: 1 -> UNIQUE if the caller's handle is the only
 *   reference (OSTD try_from_shared); returns false, changing nothing, if
 *   other references exist.
 * pt_frame_unique_free: give a unique frame back to the platform.
 *   Requires: the caller owns it; it is not a page-table node.
 */
bool pt_frame_alloc_unique(struct pt_mem *mem, enum pt_frame_usage usage, pt_paddr_t *pa);
void pt_frame_unique_to_shared(struct pt_mem *mem, pt_paddr_t pa);
bool pt_frame_shared_to_unique(struct pt_mem *mem, pt_paddr_t pa);
void pt_frame_unique_free(struct pt_mem *mem, pt_paddr_t pa);

/* Current reference count (a racy snapshot; for tests and assertions). */
uint64_t pt_frame_refcount(const struct pt_mem *mem, pt_paddr_t pa);

#endif /* PAGETABLE_FRAME_H */
