/*
 * The reference model of a page table: the seed's abstract view
 * (asterinas/vostd CursorView / PageTableView, ostd/specs/mm/page_table/)
 * written plainly in C. A page table *means* a set of mappings
 *     { va, pa, level (page size), prop, tracked }
 * that are pairwise VA-disjoint (PA-uniqueness is NOT required: one frame may
 * be mapped at several VAs). The model knows nothing about nodes, locks or
 * PTE encodings; the differential test compares it with the real table
 * through an independent walker.
 *
 * Representation: a sorted array of mappings (by va), binary search for
 * lookups, memmove for insertion and removal. Obviously right first; fast
 * enough because the differential test keeps the table small.
 *
 * Every function asserts its own requirements (they are bugs in the test,
 * never in the code under test) with a message and abort().
 */
#ifndef PAGETABLE_MODEL_H
#define PAGETABLE_MODEL_H

#include <stddef.h>
#include "pagetable/prop.h"

struct model_mapping {
    pt_vaddr_t va;          /* aligned to pt_page_size(level) */
    pt_paddr_t pa;          /* aligned to pt_page_size(level) */
    int level;              /* 1 (4 KiB), 2 (2 MiB), 3 (1 GiB) */
    struct pt_prop prop;
    bool tracked;           /* holds a frame reference (level 1 only) */
};

static inline pt_vaddr_t model_end(const struct model_mapping *m)
{
    return m->va + pt_page_size(m->level);
}

/* A growable list of mappings (what an operation removed, etc.). */
struct model_list {
    struct model_mapping *v;
    size_t n, cap;
};

void model_list_push(struct model_list *l, const struct model_mapping *m);
void model_list_clear(struct model_list *l);
void model_list_free(struct model_list *l);

struct model {
    struct model_mapping *v;  /* sorted by va, VA-disjoint */
    size_t n, cap;
};

void model_init(struct model *m);
void model_free(struct model *m);

/* Index of the mapping containing va, or -1. */
long model_find(const struct model *m, pt_vaddr_t va);

/*
 * Index of the first mapping (lowest va) intersecting [lo, hi), or -1.
 * Requires lo < hi.
 */
long model_first_in(const struct model *m, pt_vaddr_t lo, pt_vaddr_t hi);

/*
 * Insert a mapping. Requires: aligned, level 1..3, tracked => level 1, no
 * overlap with an existing mapping, va + size does not wrap.
 */
void model_insert(struct model *m, const struct model_mapping *x);

/* Remove mapping `idx`, copying it to *out if out != NULL. */
void model_remove_at(struct model *m, size_t idx, struct model_mapping *out);

/*
 * Split mapping `idx` (level >= 2) into its 512 children: same prop and
 * tracked flag, child i at va + i*child_size mapping pa + i*child_size.
 * Returns the index of the first child.
 */
size_t model_split_at(struct model *m, size_t idx);

/*
 * split_while_huge: while the mapping containing `va` has a level above
 * `level`, split it. Returns the number of splits (0 if va is unmapped or
 * already mapped at `level` or below).
 */
int model_split_while_huge(struct model *m, pt_vaddr_t va, int level);

/*
 * Split mapping `idx` until the piece containing max(lo, its va) lies
 * entirely in [lo, hi) or is a 4 KiB page (the find_next_impl split of
 * take_next and protect_next). Requires the mapping to intersect [lo, hi).
 * Returns the index of that piece.
 */
size_t model_split_to_fit(struct model *m, size_t idx, pt_vaddr_t lo, pt_vaddr_t hi);

/*
 * Remove every mapping that lies inside [lo, hi), appending each to `removed`
 * (may be NULL). Requires: no mapping straddles lo or hi. Returns the count.
 */
size_t model_remove_range(struct model *m, pt_vaddr_t lo, pt_vaddr_t hi,
                          struct model_list *removed);

/*
 * map_spec: split_while_huge(va, level), remove whatever lies in
 * [align_down(va, size), +size) (appended to `replaced`), insert the new
 * mapping there. Requires va aligned to the size (the real map rejects
 * anything else before touching the table). Returns the number replaced.
 */
size_t model_map(struct model *m, const struct model_mapping *x,
                 struct model_list *replaced);

/*
 * Count of mappings and of bytes mapped, for statistics and sanity checks.
 */
uint64_t model_bytes(const struct model *m);

/*
 * Check the model's own invariants (sorted, disjoint, aligned, tracked =>
 * level 1). Returns NULL if they hold, else a static message.
 */
const char *model_check(const struct model *m);

/* Format one mapping into buf ("[va, end) -> pa L2 prop ... untracked"). */
const char *model_fmt(const struct model_mapping *x, char *buf, size_t size);

#endif /* PAGETABLE_MODEL_H */
