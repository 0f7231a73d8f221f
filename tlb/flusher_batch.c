/*
 * Kept frags (OSTD's frame_keeper): frames and detached page-table subtrees
 * that a flusher removed from a page table and that must stay allocated until
 * every CPU that may cache a translation to them, or a path through them, has
 * flushed. A batch collects the frags of one dispatch; its reference count is
 * the number of CPUs that still have to flush, plus one held by the
 * dispatching flusher until its own local flush is done. The last reference
 * releases the frags (possibly on a remote CPU, in its IPI handler).
 *
 * Batches come from a fixed pool in the domain, so the flusher allocates
 * nothing. When the pool is empty the caller spins until some CPU's flush
 * frees one: with interrupts enabled those flushes keep happening, so this
 * always ends (every batch in use is waiting only for IPI handlers).
 */
#include "flusher_internal.h"

/* The pool lock is also taken by IPI handlers (the last flush releases a
   batch), so it is held with interrupts off. */
static unsigned long pool_lock(struct tlb_domain *dom)
{
    unsigned long irq = dom->ops->irq_save(dom->ctx);
    tlb_spin_lock(dom, &dom->pool_lock);
    return irq;
}

static void pool_unlock(struct tlb_domain *dom, unsigned long irq)
{
    tlb_spin_unlock(&dom->pool_lock);
    dom->ops->irq_restore(dom->ctx, irq);
}

struct tlb_batch *tlb_batch_get(struct tlb_domain *dom, pt_paddr_t root)
{
    for (;;) {
        unsigned long irq = pool_lock(dom);
        for (unsigned i = 0; i < TLB_BATCH_POOL; i++) {
            struct tlb_batch *b = &dom->pool[i];
            if (b->in_use)
                continue;
            b->in_use = 1;
            b->nr_frags = 0;
            b->root = root;
            __atomic_store_n(&b->refs, 1, __ATOMIC_RELAXED);
            pool_unlock(dom, irq);
            return b;
        }
        pool_unlock(dom, irq);
        dom->ops->relax(dom->ctx);
    }
}

void tlb_batch_put(struct tlb_domain *dom, struct tlb_batch *b)
{
    /* acq_rel: the last dropper sees every other CPU's flush (done before
       its decrement) before it frees anything. */
    if (__atomic_sub_fetch(&b->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    pt_paddr_t prev = tlb_ctx_enter(dom, b->root);
    for (uint32_t i = 0; i < b->nr_frags; i++)
        pt_frag_release(dom->mem, &b->frags[i]);
    tlb_ctx_leave(dom, prev);
    b->nr_frags = 0;
    unsigned long irq = pool_lock(dom);
    b->in_use = 0;
    pool_unlock(dom, irq);
}

unsigned tlb_domain_live_batches(struct tlb_domain *dom)
{
    unsigned n = 0;
    unsigned long irq = pool_lock(dom);
    for (unsigned i = 0; i < TLB_BATCH_POOL; i++)
        n += dom->pool[i].in_use;
    pool_unlock(dom, irq);
    return n;
}
