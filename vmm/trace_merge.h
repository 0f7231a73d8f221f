/*
 * The merge of the per-CPU trace rings into one stream in `seq` order
 * (abi/trace_ring.h: records of one ring are not always in seq order, and
 * CPUs run ahead of each other). Records wait in a min-heap until the next
 * expected number is there. KVM-free and single-threaded (the drain owns it).
 *
 * The first number of a stream is arbitrary (docs/tlb-events.md), so the
 * merge starts at the smallest number it has been given when told to
 * (vmm_merge_start), or at once when it sees seq 0.
 */
#ifndef VMM_TRACE_MERGE_H
#define VMM_TRACE_MERGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "abi/tlb_event.h"
#include "trace_ring.h"

#define VMM_MERGE_MAX_PENDING (4u << 20)   /* events waiting for a missing one */

struct vmm_merge_item {
    struct tlb_event ev;
    uint32_t ring;
    uint64_t index;          /* record number in its ring (for reports) */
};

struct vmm_merge {
    struct vmm_merge_item *heap;
    size_t count, cap;
    bool started;
    uint64_t next;           /* the next seq to hand out (valid once started) */
    uint64_t delivered;
};

/* An empty merge. */
void vmm_merge_init(struct vmm_merge *m);
void vmm_merge_free(struct vmm_merge *m);

/*
 * Adds one record from ring `ring`, record number `index`.
 * Guarantees: 0, or -1 with e filled (ring, index, what) when its seq was
 *   already handed out or is already waiting (a duplicate), when it is below
 *   the start of the stream, when more than VMM_MERGE_MAX_PENDING records
 *   wait behind a missing one, or when memory runs out.
 */
int vmm_merge_push(struct vmm_merge *m, const struct tlb_event *ev, uint32_t ring,
                   uint64_t index, struct vmm_ring_error *e);

/* Fixes the start of the stream at the smallest waiting seq (no-op when
 * started or empty). */
void vmm_merge_start(struct vmm_merge *m);

/*
 * Takes the next record in order.
 * Guarantees: 1 with *out when the merge has started and holds seq == next;
 *   0 when it must wait; -1 with e when a second record carries the number
 *   just taken (a duplicate: the stream is corrupt).
 */
int vmm_merge_pop(struct vmm_merge *m, struct vmm_merge_item *out, struct vmm_ring_error *e);

/*
 * Called when every producer has stopped and every ring was drained:
 * Guarantees: 0 when nothing waits; -1 with e describing the gap (the
 *   missing seq, and the ring and record of the first event waiting after it).
 */
int vmm_merge_check_complete(const struct vmm_merge *m, struct vmm_ring_error *e);

#endif /* VMM_TRACE_MERGE_H */
