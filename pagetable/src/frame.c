/*
 * Frame metadata and reference counting (OSTD frame/meta.rs).
 *
 * States of ref_count: UNUSED (free), 0 (busy: being set up or torn down),
 * 1..PT_REF_MAX (shared, that many references). The last put tears the frame
 * down: a page-table node first drops what its PTEs own (child nodes, tracked
 * level-1 frames), then the frame goes back to the platform.
 */
#include "internal.h"

_Static_assert(sizeof(struct pt_frame_meta) <= 64, "frame metadata slot must fit in 64 bytes");
_Static_assert(sizeof(struct pt_frame_meta) == 64, "frame metadata slot is exactly 64 bytes");

__attribute__((noinline)) void pt_pte_report(const struct pt_mem *mem, pt_paddr_t node,
                                             unsigned i, int level, pt_pte_t old, pt_pte_t new_pte)
{
    struct pt_pte_store s = { node, i, level, old, new_pte };
    mem->ops->pte_stored(mem->ctx, &s);
}

__attribute__((noinline, cold)) void pt_pte_lost_race(pt_pte_t seen, pt_pte_t cur)
{
    PT_ASSERT(((cur ^ seen) & ~PTE_HW_AD) == 0 && (cur & ~seen) != 0,
              "a live PTE changed under its node's lock in more than the MMU's A/D bits");
}

void pt_mem_init(struct pt_mem *mem, const struct pt_platform_ops *ops, void *ctx,
                 struct pt_frame_meta *meta, uint64_t nr_frames)
{
    PT_ASSERT(ops && ops->phys_to_virt && ops->alloc_frame && ops->release_frame,
              "pt_mem_init: platform ops incomplete");
    mem->ops = ops;
    mem->ctx = ctx;
    mem->meta = meta;
    mem->nr_frames = nr_frames;
    mem->direct_map = 0;
    mem->has_direct_map = false;
    for (uint64_t i = 0; i < nr_frames; i++) {
        struct pt_frame_meta *m = &meta[i];
        m->usage = PT_USAGE_FREE;
        m->level = 0;
        m->lock = 0;
        m->stray = 0;
        m->nr_children = 0;
        m->owner = 0;
        __atomic_store_n(&m->ref_count, PT_REF_UNUSED, __ATOMIC_RELAXED);
    }
}

void pt_mem_set_direct_map(struct pt_mem *mem, uintptr_t base)
{
    pt_paddr_t last = (mem->nr_frames - 1) << PT_BASE_PAGE_SHIFT;
    PT_ASSERT(mem->nr_frames > 0 && (uintptr_t)mem->ops->phys_to_virt(mem->ctx, 0) == base &&
                  (uintptr_t)mem->ops->phys_to_virt(mem->ctx, last) == base + last,
              "pt_mem_set_direct_map: phys_to_virt is not base + pa");
    mem->direct_map = base;
    mem->has_direct_map = true;
}

struct pt_frame_meta *pt_frame_meta(const struct pt_mem *mem, pt_paddr_t pa)
{
    return pt_meta_checked(mem, pa);
}

void pt_frame_reserve(struct pt_mem *mem, pt_paddr_t pa, uint64_t len)
{
    PT_ASSERT(((pa | len) & (PT_BASE_PAGE_SIZE - 1)) == 0, "pt_frame_reserve: unaligned range");
    for (uint64_t off = 0; off < len; off += PT_BASE_PAGE_SIZE) {
        struct pt_frame_meta *m = pt_frame_meta(mem, pa + off);
        m->usage = PT_USAGE_RESERVED;
        /* One permanent reference, owned by the reservation: never freed. */
        __atomic_store_n(&m->ref_count, 1, __ATOMIC_RELEASE);
    }
}

static void zero_frame(const struct pt_mem *mem, pt_paddr_t pa)
{
    /* Atomic stores: never turned into a libc memset call (freestanding). */
    uint64_t *p = (uint64_t *)mem->ops->phys_to_virt(mem->ctx, pa);
    /* Eight stores per step: a node is zeroed per 512 pages mapped, and the
     * loop overhead was a measurable share of a 4 KiB map. */
    for (unsigned i = 0; i < PT_BASE_PAGE_SIZE / 8; i += 8) {
        __atomic_store_n(&p[i + 0], 0, __ATOMIC_RELAXED);
        __atomic_store_n(&p[i + 1], 0, __ATOMIC_RELAXED);
        __atomic_store_n(&p[i + 2], 0, __ATOMIC_RELAXED);
        __atomic_store_n(&p[i + 3], 0, __ATOMIC_RELAXED);
        __atomic_store_n(&p[i + 4], 0, __ATOMIC_RELAXED);
        __atomic_store_n(&p[i + 5], 0, __ATOMIC_RELAXED);
        __atomic_store_n(&p[i + 6], 0, __ATOMIC_RELAXED);
        __atomic_store_n(&p[i + 7], 0, __ATOMIC_RELAXED);
    }
}

bool pt_frame_alloc(struct pt_mem *mem, enum pt_frame_usage usage, pt_paddr_t *pa)
{
    PT_ASSERT(usage != PT_USAGE_FREE, "pt_frame_alloc: usage FREE");
    pt_paddr_t p;
    if (!mem->ops->alloc_frame(mem->ctx, &p))
        return false;
    if ((p & (PT_BASE_PAGE_SIZE - 1)) || (p >> PT_BASE_PAGE_SHIFT) >= mem->nr_frames) {
        mem->ops->release_frame(mem->ctx, p);
        return false;
    }
    struct pt_frame_meta *m = pt_meta_fast(mem, p);
    uint64_t expect = PT_REF_UNUSED;
    if (!__atomic_compare_exchange_n(&m->ref_count, &expect, 0, false, __ATOMIC_ACQUIRE,
                                     __ATOMIC_RELAXED))
        pt_panic("pt_frame_alloc: the platform handed out a frame that is in use");
    m->usage = (uint8_t)usage;
    m->level = 0;
    __atomic_store_n(&m->lock, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&m->stray, 0, __ATOMIC_RELAXED);
    m->nr_children = 0;
    m->owner = 0;
    zero_frame(mem, p);
    __atomic_store_n(&m->ref_count, 1, __ATOMIC_RELEASE);
    *pa = p;
    return true;
}

bool pt_node_alloc(struct pt_mem *mem, int level, pt_paddr_t *pa)
{
    if (!pt_frame_alloc(mem, PT_USAGE_PT_NODE, pa))
        return false;
    pt_meta_fast(mem, *pa)->level = (uint8_t)level;
    /* Zeroed and not yet reachable: the platform hears of it before any store into it. */
    if (mem->ops->node_allocated)
        mem->ops->node_allocated(mem->ctx, *pa, level);
    return true;
}

void pt_frame_get(struct pt_mem *mem, pt_paddr_t pa)
{
    uint64_t old = __atomic_fetch_add(&pt_frame_meta(mem, pa)->ref_count, 1, __ATOMIC_RELAXED);
    if (old == 0 || old >= PT_REF_MAX)
        pt_panic("pt_frame_get: frame is not live and shared (unused, unique, busy or at PT_REF_MAX)");
}

/* Drop everything a dying page-table node's PTEs own. */
static void node_drop_children(struct pt_mem *mem, pt_paddr_t node, int level)
{
    pt_pte_t *ptes = pt_node_ptes(mem, node);
    for (unsigned i = 0; i < PT_NR_ENTRIES; i++) {
        pt_pte_t pte = pt_pte_load(ptes, i);
        if (pt_pte_is_absent(pte))
            continue;
        if (pt_pte_is_table(pte)) {
            PT_ASSERT(level > 1, "node drop: table entry in a level-1 node");
            pt_frame_put(mem, pt_pte_table_paddr(pte));
        } else if (level == 1 && pt_pte_leaf_tracked(pte)) {
            pt_frame_put(mem, pt_pte_leaf_paddr(pte, 1));
        }
    }
}

void pt_frame_drop_last(struct pt_mem *mem, pt_paddr_t pa, struct pt_frame_meta *m)
{
    PT_ASSERT(m->usage != PT_USAGE_RESERVED, "last reference of a reserved frame dropped");
    if (m->usage == PT_USAGE_PT_NODE)
        node_drop_children(mem, pa, m->level);
    m->usage = PT_USAGE_FREE;
    m->level = 0;
    __atomic_store_n(&m->stray, 0, __ATOMIC_RELAXED);
    m->nr_children = 0;
    __atomic_store_n(&m->ref_count, PT_REF_UNUSED, __ATOMIC_RELEASE);
    mem->ops->release_frame(mem->ctx, pa);
}

void pt_frame_put(struct pt_mem *mem, pt_paddr_t pa)
{
    pt_frame_put_inline(mem, pa);
}

bool pt_frame_alloc_unique(struct pt_mem *mem, enum pt_frame_usage usage, pt_paddr_t *pa)
{
    if (!pt_frame_alloc(mem, usage, pa))
        return false;
    __atomic_store_n(&pt_meta_fast(mem, *pa)->ref_count, PT_REF_UNIQUE, __ATOMIC_RELEASE);
    return true;
}

static void cas_or_panic(struct pt_frame_meta *m, uint64_t from, uint64_t to, const char *msg)
{
    if (!__atomic_compare_exchange_n(&m->ref_count, &from, to, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_RELAXED))
        pt_panic(msg);
}

void pt_frame_unique_to_shared(struct pt_mem *mem, pt_paddr_t pa)
{
    cas_or_panic(pt_frame_meta(mem, pa), PT_REF_UNIQUE, 1,
                 "pt_frame_unique_to_shared: frame is not unique");
}

bool pt_frame_shared_to_unique(struct pt_mem *mem, pt_paddr_t pa)
{
    uint64_t one = 1;
    return __atomic_compare_exchange_n(&pt_frame_meta(mem, pa)->ref_count, &one, PT_REF_UNIQUE,
                                       false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
}

void pt_frame_unique_free(struct pt_mem *mem, pt_paddr_t pa)
{
    struct pt_frame_meta *m = pt_frame_meta(mem, pa);
    PT_ASSERT(m->usage != PT_USAGE_PT_NODE, "pt_frame_unique_free: a page-table node");
    cas_or_panic(m, PT_REF_UNIQUE, 0, "pt_frame_unique_free: frame is not unique");
    pt_frame_drop_last(mem, pa, m);
}

uint64_t pt_frame_refcount(const struct pt_mem *mem, pt_paddr_t pa)
{
    return __atomic_load_n(&pt_frame_meta(mem, pa)->ref_count, __ATOMIC_RELAXED);
}
