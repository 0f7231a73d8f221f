/*
 * The TLB flusher: issue, dispatch, sync and the IPI handler (OSTD
 * ostd/src/mm/tlb.rs; docs/tlb-flusher.md).
 *
 * Remote completion uses per-CPU generation numbers instead of V's single
 * ACK flag: a dispatch bumps the target queue's queued_gen under its lock and
 * remembers the value; the target's handler takes the queue (and its
 * queued_gen g) under the lock, flushes, then publishes done_gen = g with a
 * release store. sync waits for done_gen >= the remembered value. A flag
 * shared by all initiators would be cleared by one dispatcher while another
 * waits, or set by a handler for a swap that did not include a later
 * dispatch; generations cannot be confused that way.
 */
#include "flusher_internal.h"

void tlb_spin_lock(struct tlb_domain *dom, uint8_t *lock)
{
    while (__atomic_exchange_n(lock, 1, __ATOMIC_ACQUIRE))
        while (__atomic_load_n(lock, __ATOMIC_RELAXED))
            dom->ops->relax(dom->ctx);
}

void tlb_spin_unlock(uint8_t *lock)
{
    __atomic_store_n(lock, 0, __ATOMIC_RELEASE);
}

int tlb_domain_init(struct tlb_domain *dom, const struct tlb_platform_ops *ops, void *ctx,
                    struct pt_mem *mem, unsigned nr_cpus, pt_paddr_t idle_root)
{
    if (!dom || !ops || !mem || nr_cpus == 0 || nr_cpus > TLB_MAX_CPUS)
        return TLB_ERR_INVAL;
    if (!ops->cpu_id || !ops->send_ipi || !ops->flush_page || !ops->flush_all_nonglobal ||
        !ops->flush_all_global || !ops->load_cr3 || !ops->irq_save || !ops->irq_restore ||
        !ops->relax || !ops->emit)
        return TLB_ERR_INVAL;
    /* Field by field: no memset, so the freestanding build needs no libc. */
    dom->ops = ops;
    dom->ctx = ctx;
    dom->mem = mem;
    dom->nr_cpus = nr_cpus;
    dom->idle_root = idle_root;
    __atomic_store_n(&dom->seq, 0, __ATOMIC_RELAXED);
    dom->faults = 0;
    dom->pool_lock = 0;
    for (unsigned i = 0; i < TLB_BATCH_POOL; i++) {
        dom->pool[i].in_use = 0;
        dom->pool[i].nr_frags = 0;
        dom->pool[i].refs = 0;
    }
    for (unsigned i = 0; i < TLB_MAX_CPUS; i++) {
        struct tlb_cpu_queue *q = &dom->queues[i];
        q->lock = 0;
        tlb_ops_reset(&q->ops);
        q->nr_batches = 0;
        q->queued_gen = 0;
        q->done_gen = 0;
        q->from = 0;
        dom->cpu[i].active = NULL;
        dom->cpu[i].cr3 = 0;
        dom->cpu[i].ctx_root = 0;
    }
    return TLB_OK;
}

void tlb_domain_set_faults(struct tlb_domain *dom, uint32_t faults)
{
    dom->faults = faults & TLB_FAULT_ALL;
}

void tlb_flusher_init(struct tlb_flusher *f, struct tlb_domain *dom,
                      struct tlb_atomic_cpuset *targets, pt_paddr_t root)
{
    f->dom = dom;
    f->targets = targets;
    f->root = root;
    tlb_ops_reset(&f->ops);
    f->batch = NULL;
    f->unsynced = 0;
    f->last_dispatch_seq = 0;
}

void tlb_flusher_issue(struct tlb_flusher *f, struct tlb_flush_op op)
{
    /* Informational: what the caller asked for, before any merging. */
    tlb_ev_simple(f->dom, TLB_EV_FLUSH_ISSUE, op.kind, 0, f->root, op.va, op.npages, 0);
    tlb_ops_push(f->dom, &f->ops, op);
}

void tlb_flusher_issue_with(struct tlb_flusher *f, struct tlb_flush_op op, const struct pt_frag *frag)
{
    struct tlb_domain *dom = f->dom;
    if (tlb_fault(dom, TLB_FAULT_FREE_BEFORE_FLUSH)) {
        /* Injected bug: the frame goes back to the allocator at once. */
        tlb_flusher_issue(f, op);
        pt_paddr_t prev = tlb_ctx_enter(dom, f->root);
        pt_frag_release(dom->mem, frag);
        tlb_ctx_leave(dom, prev);
        return;
    }
    if (f->batch && f->batch->nr_frags == TLB_BATCH_FRAGS)
        tlb_flusher_dispatch(f);   /* this frag's op is not queued yet: it goes in the next one */
    if (!f->batch)
        f->batch = tlb_batch_get(dom, f->root);
    f->batch->frags[f->batch->nr_frags++] = *frag;
    tlb_flusher_issue(f, op);
}

/* The CPUs a dispatch goes to: the snapshot, limited to CPUs that exist. */
static tlb_cpumask_t dispatch_targets(struct tlb_flusher *f, unsigned self)
{
    struct tlb_domain *dom = f->dom;
    tlb_cpumask_t online = dom->nr_cpus >= 64 ? ~(tlb_cpumask_t)0
                                              : (((tlb_cpumask_t)1 << dom->nr_cpus) - 1);
    tlb_cpumask_t t = tlb_cpuset_snapshot(f->targets) & online;
    tlb_cpumask_t remote = t & ~tlb_cpumask_of(self);
    if (remote && tlb_fault(dom, TLB_FAULT_DROP_TARGET))
        t &= ~tlb_cpumask_of(63u - (unsigned)__builtin_clzll(remote));  /* injected bug */
    return t;
}

/* Hand our ops (and a reference to our batch) to CPU r's queue. */
static void push_to_queue(struct tlb_flusher *f, unsigned self, unsigned r, uint64_t dseq)
{
    struct tlb_domain *dom = f->dom;
    struct tlb_cpu_queue *q = &dom->queues[r];
    tlb_spin_lock(dom, &q->lock);
    tlb_ops_merge(dom, &q->ops, &f->ops);
    if (f->batch) {
        PT_ASSERT(q->nr_batches < TLB_BATCH_POOL, "tlb: a queue holds a batch twice");
        q->batches[q->nr_batches++] = f->batch;
    }
    q->queued_gen++;
    f->wait_gen[r] = q->queued_gen;
    q->from |= tlb_cpumask_of(self);
    q->from_seq[self] = dseq;
    q->from_root[self] = f->root;
    tlb_spin_unlock(&q->lock);
}

void tlb_flusher_dispatch(struct tlb_flusher *f)
{
    struct tlb_domain *dom = f->dom;
    struct tlb_batch *batch = f->batch;
    if (tlb_ops_empty(&f->ops)) {
        /* Nothing to flush. A batch can only be here if an (injected) bug
           dropped its op; releasing it then is exactly that bug. */
        f->batch = NULL;
        if (batch)
            tlb_batch_put(dom, batch);
        return;
    }
    unsigned long irq = dom->ops->irq_save(dom->ctx);
    unsigned self = tlb_cur_cpu(dom);
    tlb_cpumask_t targets = dispatch_targets(f, self);
    tlb_cpumask_t remote = targets & ~tlb_cpumask_of(self);

    uint8_t kind;
    pt_vaddr_t va;
    uint64_t npages;
    tlb_ops_summary(&f->ops, &kind, &va, &npages);
    uint64_t dseq = tlb_ev_simple(dom, TLB_EV_DISPATCH, kind, 0, f->root, targets, va, npages);

    if (batch)   /* one reference per remote target, one for our own part */
        __atomic_store_n(&batch->refs, 1 + tlb_cpumask_count(remote), __ATOMIC_RELAXED);
    for (tlb_cpumask_t m = remote; m; m &= m - 1)
        push_to_queue(f, self, (unsigned)__builtin_ctzll(m), dseq);
    f->unsynced |= remote;
    f->last_dispatch_seq = dseq;
    if (remote)
        dom->ops->send_ipi(dom->ctx, remote);
    /* Remote CPUs flush concurrently with our own flush (OSTD does the same). */
    if (tlb_cpumask_has(targets, self) && !tlb_fault(dom, TLB_FAULT_SKIP_LOCAL_FLUSH))
        tlb_ops_flush_here(dom, &f->ops, dom->cpu[self].cr3);
    tlb_ops_reset(&f->ops);
    f->batch = NULL;
    dom->ops->irq_restore(dom->ctx, irq);
    if (batch)
        tlb_batch_put(dom, batch);
}

void tlb_flusher_sync(struct tlb_flusher *f)
{
    struct tlb_domain *dom = f->dom;
    if (!f->unsynced || tlb_fault(dom, TLB_FAULT_SKIP_SYNC))
        return;   /* (the injected bug: as if the caller never synced) */
    for (tlb_cpumask_t m = f->unsynced; m; m &= m - 1) {
        unsigned r = (unsigned)__builtin_ctzll(m);
        /* Acquire pairs with the handler's release: its flushes happen
           before our return. */
        while (__atomic_load_n(&dom->queues[r].done_gen, __ATOMIC_ACQUIRE) < f->wait_gen[r])
            dom->ops->relax(dom->ctx);
    }
    tlb_ev_simple(dom, TLB_EV_SYNC_DONE, 0, 0, f->root, f->unsynced, f->last_dispatch_seq, 0);
    f->unsynced = 0;
}

void tlb_flusher_finish(struct tlb_flusher *f)
{
    if (!tlb_ops_empty(&f->ops) || f->batch)
        tlb_flusher_dispatch(f);
}

static void take_queue(struct tlb_domain *dom, struct tlb_cpu_queue *q, struct tlb_ipi_scratch *t)
{
    tlb_spin_lock(dom, &q->lock);
    t->ops = q->ops;
    t->nr_batches = q->nr_batches;
    for (uint32_t i = 0; i < q->nr_batches; i++)
        t->batches[i] = q->batches[i];
    t->gen = q->queued_gen;
    t->from = q->from;
    for (tlb_cpumask_t m = q->from; m; m &= m - 1) {
        unsigned i = (unsigned)__builtin_ctzll(m);
        t->from_seq[i] = q->from_seq[i];
        t->from_root[i] = q->from_root[i];
    }
    tlb_ops_reset(&q->ops);
    q->nr_batches = 0;
    q->from = 0;
    tlb_spin_unlock(&q->lock);
}

void tlb_flusher_handle_ipi(struct tlb_domain *dom, unsigned cpu)
{
    PT_ASSERT(cpu == tlb_cur_cpu(dom), "tlb_flusher_handle_ipi: called for another CPU");
    struct tlb_cpu_queue *q = &dom->queues[cpu];
    /* Per-CPU scratch: the handler runs with interrupts off on its own CPU,
       so nothing else uses it meanwhile (and it is too big for an IST stack). */
    struct tlb_ipi_scratch *t = &dom->cpu[cpu].scratch;
    take_queue(dom, q, t);
    if (t->from == 0 && t->nr_batches == 0)
        return;   /* a spurious or already-handled interrupt */
    if (!tlb_fault(dom, TLB_FAULT_SKIP_REMOTE_FLUSH))
        tlb_ops_flush_here(dom, &t->ops, dom->cpu[cpu].cr3);
    for (tlb_cpumask_t m = t->from; m; m &= m - 1) {
        unsigned i = (unsigned)__builtin_ctzll(m);
        tlb_ev_simple(dom, TLB_EV_REMOTE_DONE, 0, 0, t->from_root[i], i, t->from_seq[i], 0);
    }
    __atomic_store_n(&q->done_gen, t->gen, __ATOMIC_RELEASE);
    for (uint32_t i = 0; i < t->nr_batches; i++)
        tlb_batch_put(dom, t->batches[i]);
}
