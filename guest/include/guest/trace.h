/*
 * The guest's TLB trace producer (abi/include/abi/trace_ring.h): every event
 * of the flusher domain (PTE stores, flushes, CR3 loads, frees, VmSpace
 * operations) goes into the calling CPU's ring of the region the VMM
 * describes in /vmm/tlb-trace.
 */
#ifndef GUEST_TRACE_H
#define GUEST_TRACE_H

#include <stdbool.h>
#include <stdint.h>

#include "abi/tlb_event.h"

/*
 * trace_attach: check every ring of bootinfo.trace and issue
 * VMM_HC_TRACE_ATTACH(ring count). Call before the first store into a page
 * table the host must see.
 * Returns true if tracing is now on. Without a /vmm/tlb-trace node, with the
 * bootarg trace=off, with a bad ring, or when the VMM refuses the attach, it
 * prints one line (except for the absent node) and returns false: the guest
 * then runs untraced.
 */
bool trace_attach(void);

/* trace_enabled: whether events are being written. */
bool trace_enabled(void);

/*
 * trace_node_allocs: whether NODE_ALLOC events are written (tracing is on
 * and the host reads event format version 2, /vmm/tlb-trace event-version).
 * Without them the host knows a node only by the entries the events wrote.
 */
bool trace_node_allocs(void);

/* trace_emit: the flusher domain's event sink (struct tlb_platform_ops.emit). */
void trace_emit(void *ctx, const struct tlb_event *ev);

/*
 * vm_checkpoint: VMM_HC_CHECKPOINT(next sequence number, label) when tracing
 * is on (a no-op otherwise). Preconditions: every CPU is at a barrier (none
 * between a page-table store and its event) and no TLB shootdown is in
 * flight (the caller waited for tlb_domain_live_batches() == 0).
 * Returns the hypercall's result (0 passed; a failed checkpoint never
 * returns), or 0 when untraced.
 */
int64_t vm_checkpoint(uint64_t label);

#endif /* GUEST_TRACE_H */
