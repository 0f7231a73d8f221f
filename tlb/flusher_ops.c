/*
 * Flush operations and op stacks (OSTD's TlbFlushOp and OpsStack), and how
 * a stack is executed on the local CPU.
 */
#include "flusher_internal.h"

struct tlb_flush_op tlb_op_single(pt_vaddr_t va, bool global)
{
    return (struct tlb_flush_op){
        .va = va & ~(PT_BASE_PAGE_SIZE - 1), .npages = 1, .kind = TLB_FLUSH_SINGLE, .global = global};
}

struct tlb_flush_op tlb_op_all(bool global)
{
    return (struct tlb_flush_op){
        .va = 0, .npages = 0, .kind = global ? TLB_FLUSH_ALL_GLOBAL : TLB_FLUSH_ALL_NONGLOBAL,
        .global = global};
}

int tlb_op_range(pt_vaddr_t start, pt_vaddr_t end, bool global, struct tlb_flush_op *out)
{
    if (start >= end || ((start | end) & (PT_BASE_PAGE_SIZE - 1)))
        return TLB_ERR_INVAL;
    uint64_t npages = (end - start) >> PT_BASE_PAGE_SHIFT;
    if (npages == 1)
        *out = tlb_op_single(start, global);
    else if (npages >= TLB_FLUSH_ALL_PAGES_THRESHOLD)
        *out = tlb_op_all(global);   /* OSTD for_range: >= 32 pages is for_all */
    else
        *out = (struct tlb_flush_op){
            .va = start, .npages = (uint32_t)npages, .kind = TLB_FLUSH_RANGE, .global = global};
    return TLB_OK;
}

bool tlb_ops_empty(const struct tlb_ops_stack *st)
{
    return st->nr_ops == 0 && !st->flush_all;
}

void tlb_ops_reset(struct tlb_ops_stack *st)
{
    st->nr_ops = 0;
    st->nr_pages = 0;
    st->flush_all = false;
    st->global = false;
}

static bool op_is_all(struct tlb_flush_op op)
{
    return op.kind == TLB_FLUSH_ALL_NONGLOBAL || op.kind == TLB_FLUSH_ALL_GLOBAL;
}

void tlb_ops_push(struct tlb_domain *dom, struct tlb_ops_stack *st, struct tlb_flush_op op)
{
    bool global = op.global || op.kind == TLB_FLUSH_ALL_GLOBAL;
    if (st->flush_all) {
        st->global |= global;   /* the full flush must now also remove globals */
        return;
    }
    bool full = st->nr_pages + op.npages >= TLB_FLUSH_ALL_PAGES_THRESHOLD ||
                st->nr_ops >= TLB_MAX_OPS;
    if (full && !op_is_all(op) && tlb_fault(dom, TLB_FAULT_DROP_OP_WHEN_FULL))
        return;   /* injected bug: the op is lost instead of escalating */
    st->global |= global;
    if (op_is_all(op) || full) {
        st->flush_all = true;
        st->nr_ops = 0;
        st->nr_pages = 0;
        return;
    }
    st->ops[st->nr_ops++] = op;
    st->nr_pages += op.npages;
}

void tlb_ops_merge(struct tlb_domain *dom, struct tlb_ops_stack *dst, const struct tlb_ops_stack *src)
{
    if (src->flush_all) {
        tlb_ops_push(dom, dst, tlb_op_all(src->global));
        return;
    }
    for (uint32_t i = 0; i < src->nr_ops; i++)
        tlb_ops_push(dom, dst, src->ops[i]);
}

static void flush_event(struct tlb_domain *dom, pt_paddr_t root, uint8_t kind, pt_vaddr_t va,
                        uint64_t npages)
{
    tlb_ev_simple(dom, TLB_EV_FLUSH, kind, 0, root, va, npages, 0);
}

static void flush_full_here(struct tlb_domain *dom, const struct tlb_ops_stack *st, pt_paddr_t root)
{
    if (st->global && !tlb_fault(dom, TLB_FAULT_NONGLOBAL_FULL)) {
        dom->ops->flush_all_global(dom->ctx);
        flush_event(dom, root, TLB_FLUSH_ALL_GLOBAL, 0, 0);
    } else {
        dom->ops->flush_all_nonglobal(dom->ctx);
        flush_event(dom, root, TLB_FLUSH_ALL_NONGLOBAL, 0, 0);
    }
}

void tlb_ops_flush_here(struct tlb_domain *dom, const struct tlb_ops_stack *st, pt_paddr_t root)
{
    if (st->flush_all) {
        flush_full_here(dom, st, root);
        return;
    }
    /* The injected wrong-page bug shifts every single-page flush by one page. */
    uint64_t skew = tlb_fault(dom, TLB_FAULT_WRONG_PAGE) ? PT_BASE_PAGE_SIZE : 0;
    for (uint32_t i = 0; i < st->nr_ops; i++) {
        const struct tlb_flush_op *op = &st->ops[i];
        pt_vaddr_t va = pt_canonical(op->va + skew);
        for (uint32_t p = 0; p < op->npages; p++)
            dom->ops->flush_page(dom->ctx, pt_canonical(va + p * PT_BASE_PAGE_SIZE));
        flush_event(dom, root, op->npages == 1 ? TLB_FLUSH_SINGLE : TLB_FLUSH_RANGE, va, op->npages);
    }
}

void tlb_ops_summary(const struct tlb_ops_stack *st, uint8_t *kind, pt_vaddr_t *va, uint64_t *npages)
{
    if (st->flush_all || st->nr_ops == 0) {
        *kind = st->global ? TLB_FLUSH_ALL_GLOBAL : TLB_FLUSH_ALL_NONGLOBAL;
        *va = 0;
        *npages = 0;
        return;
    }
    pt_vaddr_t lo = st->ops[0].va, hi = lo;
    for (uint32_t i = 0; i < st->nr_ops; i++) {
        pt_vaddr_t s = st->ops[i].va, e = s + (uint64_t)st->ops[i].npages * PT_BASE_PAGE_SIZE;
        lo = s < lo ? s : lo;
        hi = e > hi ? e : hi;
    }
    *kind = st->nr_ops == 1 && st->ops[0].npages == 1 ? TLB_FLUSH_SINGLE : TLB_FLUSH_RANGE;
    *va = lo;
    *npages = (hi - lo) >> PT_BASE_PAGE_SHIFT;
}
