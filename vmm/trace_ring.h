/*
 * The host side of the TLB trace rings (abi/trace_ring.h, docs/abi.md
 * "Trace rings"): where the region goes in guest RAM, the identity headers
 * the VMM writes, and the consumer that drains one ring while its guest CPU
 * writes it. KVM-free: a ring is just memory, so tests drive it with
 * simulated producers.
 *
 * Nothing read from the ring is trusted: the consumer keeps its own copy of
 * the ring's identity and tail, bounds every index, copies a record before
 * checking it, and turns every inconsistency into a vmm_ring_error.
 */
#ifndef VMM_TRACE_RING_H
#define VMM_TRACE_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "abi/tlb_event.h"
#include "abi/trace_ring.h"

#define VMM_TRACE_MAX_CAPACITY 32768u   /* records per ring (1.5 MiB) */
#define VMM_TRACE_MIN_CAPACITY 256u     /* 256 * 48 bytes = 3 pages */
#define VMM_TRACE_RAM_SHARE    16u      /* the region takes at most RAM / 16 */

struct vmm_trace_layout {
    uint64_t base;           /* guest-physical, page-aligned; 0 = tracing off */
    uint64_t size;           /* count * stride */
    uint64_t stride;         /* header page + capacity records, page-aligned */
    uint32_t count;          /* rings = vCPUs */
    uint32_t capacity;       /* records per ring, a power of two */
};

/*
 * Places the rings at the top of RAM: one per CPU, the largest power-of-two
 * capacity <= VMM_TRACE_MAX_CAPACITY such that the region fits in
 * mem / VMM_TRACE_RAM_SHARE and above `kernel_hi`.
 * Requires: 1 <= cpus <= TLB_MAX_CPUS, mem a multiple of 4 KiB.
 * Guarantees: on 0, *out describes a page-aligned region [base, base+size)
 *   inside RAM, above kernel_hi, with capacity >= VMM_TRACE_MIN_CAPACITY.
 * Fails (-1, err says why) when not even VMM_TRACE_MIN_CAPACITY fits.
 */
int vmm_trace_layout_compute(uint64_t mem, unsigned cpus, uint64_t kernel_hi,
                             struct vmm_trace_layout *out, char *err, size_t errlen);

/*
 * Writes every ring's identity header (magic, version, record size, cpu,
 * capacity), zeroes head, tail and the reserved fields.
 * Requires: ram maps guest RAM and l came from vmm_trace_layout_compute for it.
 */
void vmm_trace_rings_init(uint8_t *ram, const struct vmm_trace_layout *l);

/* What a consumer found wrong with a ring. */
struct vmm_ring_error {
    uint32_t ring;           /* the ring (= its CPU index) */
    uint64_t index;          /* the record number (free-running) concerned */
    char what[200];          /* one line */
};

/* The consumer's private state for one ring. */
struct vmm_ring_reader {
    volatile struct vmm_trace_ring *hdr;
    const volatile uint8_t *records;
    uint32_t cpu, capacity;  /* our copies, never re-read from the ring */
    uint32_t cpu_count;      /* records must have cpu < cpu_count ... and == cpu */
    uint64_t tail;           /* records consumed */
    uint64_t last_head;      /* the highest head seen */
};

/*
 * Starts consuming ring `cpu` at `ring_mem` (its header).
 * Requires: ring_mem was initialised by vmm_trace_rings_init with capacity.
 */
void vmm_ring_reader_init(struct vmm_ring_reader *r, void *ring_mem, uint32_t cpu,
                          uint32_t capacity, uint32_t cpu_count);

/*
 * Copies up to `max` published records into out[0..*n) in ring order and
 * publishes the new tail (release), so the producer may reuse the slots.
 * Guarantees: returns 0 with *n records that each passed tlb_event_check
 *   and carry cpu == the ring's CPU; or -1 with *n records that did (the
 *   good prefix) and e filled: the identity header was overwritten, head
 *   went backwards, head < tail, head - tail > capacity, a record failed
 *   tlb_event_check, or a record names another CPU. Never reads outside
 *   the ring; never blocks.
 */
int vmm_ring_drain(struct vmm_ring_reader *r, struct tlb_event *out, size_t max, size_t *n,
                   struct vmm_ring_error *e);

/* Records published but not yet consumed, as the ring says now (0 if the
 * head is inconsistent: the next drain reports it). */
uint64_t vmm_ring_pending(const struct vmm_ring_reader *r);

#endif /* VMM_TRACE_RING_H */
