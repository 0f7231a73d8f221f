/*
 * A small sorted set of physical ranges: the usable RAM is built as "RAM
 * ranges minus reserved ranges". Pure code, also compiled on the host.
 */
#ifndef GUEST_MEMMAP_H
#define GUEST_MEMMAP_H

#include <stdbool.h>
#include <stdint.h>

#define MEMMAP_MAX 64

struct mem_range {
    uint64_t start, end;            /* [start, end), end > start */
};

struct memmap {
    unsigned count;
    struct mem_range r[MEMMAP_MAX]; /* sorted, disjoint, non-adjacent */
};

/* memmap_init: empty set. */
void memmap_init(struct memmap *m);

/*
 * memmap_add: union with [start, end). Overlapping or adjacent ranges merge.
 * An empty range (end <= start) is ignored. Fails (returns false, set
 * unchanged) when the set would need more than MEMMAP_MAX ranges.
 */
bool memmap_add(struct memmap *m, uint64_t start, uint64_t end);

/*
 * memmap_remove: subtract [start, end). Fails (false, set unchanged) when a
 * split would exceed MEMMAP_MAX ranges.
 */
bool memmap_remove(struct memmap *m, uint64_t start, uint64_t end);

/* memmap_total: the number of bytes in the set. */
uint64_t memmap_total(const struct memmap *m);

#endif /* GUEST_MEMMAP_H */
