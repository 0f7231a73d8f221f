/*
 * One trace ring's producer side (abi/include/abi/trace_ring.h), as pure
 * code: the guest's trace.c runs it on the VMM's rings, the host unit tests
 * (tests/guest/test_trace_ring.c) on a buffer with a consumer thread.
 */
#ifndef GUEST_TRACE_RING_H
#define GUEST_TRACE_RING_H

#include <stdint.h>

#include "abi/trace_ring.h"

/*
 * trace_ring_check: whether the VMM-written identity of ring `cpu`, which is
 * `stride` bytes long, is one this producer can write.
 * Returns NULL if it is, or a constant string naming the first problem
 * (magic, version, record size, cpu, capacity not a power of two or not
 * fitting the stride, head/tail not both zero).
 */
const char *trace_ring_check(const struct vmm_trace_ring *r, uint32_t cpu, uint64_t stride);

/*
 * trace_ring_push: append one record (TLB_EVENT_RECORD_SIZE bytes).
 * Requires: the ring passed trace_ring_check with capacity `capacity` (the
 *   caller keeps its own copy, so a later change of the header by the host
 *   cannot make the producer write outside the ring); only one producer at
 *   a time (the guest calls it with interrupts off on the ring's CPU).
 * Guarantees: when the ring is full, waits (calling relax()) until the
 *   consumer frees a slot: a record is never dropped. The record is
 *   written before the new head is published (release store).
 */
void trace_ring_push(struct vmm_trace_ring *r, uint32_t capacity, const struct tlb_event *ev,
                     void (*relax)(void));

#endif /* GUEST_TRACE_RING_H */
