/*
 * The TLB trace rings, version 1: how a guest hands its TLB events
 * (abi/tlb_event.h) to the host without a VM exit per event.
 *
 * This is a PUBLIC ABI, like abi/vmm.h: docs/abi.md documents it for humans;
 * keep the two in step.
 *
 * Placement. When tracing is on, the VMM reserves one contiguous, page-aligned
 * region at the top of guest RAM and describes it in the FDT (abi/vmm.h,
 * node /vmm/tlb-trace, and a /reserved-memory child). The region holds
 * `ring-count` rings (one per vCPU, ring i for CPU index i), each
 * `ring-stride` bytes long:
 *
 *   ring i at  base + i * stride
 *     +0                        struct vmm_trace_ring (VMM_TRACE_RING_HEADER_SIZE bytes)
 *     +VMM_TRACE_RING_HEADER_SIZE   capacity records of TLB_EVENT_RECORD_SIZE bytes
 *
 * Ownership. The VMM writes the header's identity fields (magic .. capacity)
 * before the first vCPU runs; the guest only reads them and refuses a ring
 * whose identity is wrong. Only the guest writes `head` and the records;
 * only the host writes `tail`. Both are free-running 64-bit counts of
 * records (never wrapped); record n lives in slot n % capacity.
 *
 * Producer (the guest CPU that owns ring i; also its interrupt handlers, so
 * it writes with interrupts disabled):
 *   1. wait until head - tail < capacity (load tail with acquire order);
 *      a full ring makes the producer wait: events are never dropped
 *   2. write the record into slot head % capacity
 *   3. store head + 1 with release order
 * Consumer (the host, on its own thread, while the vCPUs run):
 *   1. load head with acquire order; copy records tail .. head - 1
 *   2. store the new tail with release order
 *
 * Records in one ring are in the order the CPU wrote them, which is not
 * always sequence order (an interrupt handler's event may be written between
 * the taking of a sequence number and the write of the interrupted event).
 * The host merges all rings by `seq` (one global counter): it feeds the
 * validator record `seq = n` once it has it, and waits for it otherwise.
 * A sequence number that never arrives by the time every vCPU has stopped
 * is a gap, and the stream is refused as corrupt.
 *
 * A guest starts tracing with the VMM_HC_TRACE_ATTACH hypercall once its
 * rings are ready; a guest that never attaches runs unvalidated.
 *
 * Freestanding: only <stdint.h>.
 */
#ifndef ABI_TRACE_RING_H
#define ABI_TRACE_RING_H

#include <stdint.h>

#include "abi/tlb_event.h"

#define VMM_TRACE_RING_MAGIC       0x474e5254u   /* bytes "TRNG" */
#define VMM_TRACE_RING_VERSION     1u
#define VMM_TRACE_RING_HEADER_SIZE 4096u         /* records start one page in */

struct vmm_trace_ring {
    /* Identity, written by the VMM before boot; read-only for the guest. */
    uint32_t magic;          /*  0: VMM_TRACE_RING_MAGIC */
    uint16_t version;        /*  4: VMM_TRACE_RING_VERSION */
    uint16_t record_size;    /*  6: TLB_EVENT_RECORD_SIZE */
    uint32_t cpu;            /*  8: the CPU index that owns this ring */
    uint32_t capacity;       /* 12: record slots, a power of two */
    uint64_t reserved0[6];   /* 16: zero */
    /* Cache line 1: the producer's count, written by the guest only. */
    uint64_t head;           /* 64: records published */
    uint64_t reserved1[7];
    /* Cache line 2: the consumer's count, written by the host only. */
    uint64_t tail;           /* 128: records consumed */
    uint64_t reserved2[7];
};

_Static_assert(sizeof(struct vmm_trace_ring) == 192, "ring header layout");

#endif /* ABI_TRACE_RING_H */
