/*
 * Internal helpers shared by the flusher's source files (not a public API).
 */
#ifndef TLB_FLUSHER_INTERNAL_H
#define TLB_FLUSHER_INTERNAL_H

#include "pagetable/panic.h"
#include "tlb/flusher.h"

static inline unsigned tlb_cur_cpu(struct tlb_domain *dom)
{
    unsigned cpu = dom->ops->cpu_id(dom->ctx);
    PT_ASSERT(cpu < dom->nr_cpus, "tlb: platform cpu_id() out of range");
    return cpu;
}

static inline bool tlb_fault(const struct tlb_domain *dom, uint32_t which)
{
    return (dom->faults & which) != 0;
}

/* Spin locks (interrupts must already be off for the queue locks). */
void tlb_spin_lock(struct tlb_domain *dom, uint8_t *lock);
void tlb_spin_unlock(uint8_t *lock);

/* tlb_ctx_enter / tlb_ctx_leave: declared in tlb/flusher.h. */

/* --- flusher_ops.c: flush ops and op stacks --- */
bool tlb_ops_empty(const struct tlb_ops_stack *st);
void tlb_ops_reset(struct tlb_ops_stack *st);
/* Queue one op (OSTD OpsStack::push), honouring the threshold. */
void tlb_ops_push(struct tlb_domain *dom, struct tlb_ops_stack *st, struct tlb_flush_op op);
/* Merge `src` into `dst` (OSTD OpsStack::push_from, without the frames). */
void tlb_ops_merge(struct tlb_domain *dom, struct tlb_ops_stack *dst, const struct tlb_ops_stack *src);
/* Execute `st` on the calling CPU, emitting one flush event per flush. */
void tlb_ops_flush_here(struct tlb_domain *dom, const struct tlb_ops_stack *st, pt_paddr_t root);
/* What a dispatch of `st` flushes, for the dispatch event: kind, va, npages. */
void tlb_ops_summary(const struct tlb_ops_stack *st, uint8_t *kind, pt_vaddr_t *va, uint64_t *npages);

/* --- flusher_events.c: event records --- */
/* Fill in seq and cpu, send to the sink; returns the seq used. */
uint64_t tlb_ev_send(struct tlb_domain *dom, struct tlb_event *ev);
uint64_t tlb_ev_simple(struct tlb_domain *dom, uint8_t type, uint8_t sub, uint16_t arg, pt_paddr_t root,
                       uint64_t a, uint64_t b, uint64_t c);
void tlb_ev_range(struct tlb_domain *dom, uint8_t type, uint8_t sub, pt_paddr_t root,
                  pt_vaddr_t start, pt_vaddr_t end);

/* --- flusher_batch.c: kept frags --- */
struct tlb_batch *tlb_batch_get(struct tlb_domain *dom, pt_paddr_t root);
/* Drop one reference; the last one releases every frag and frees the batch. */
void tlb_batch_put(struct tlb_domain *dom, struct tlb_batch *b);

#endif /* TLB_FLUSHER_INTERNAL_H */
