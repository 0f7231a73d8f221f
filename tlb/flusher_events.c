/*
 * Building and sending event records (abi/include/abi/tlb_event.h), and the
 * hooks through which the page-table core's node allocations, PTE stores and
 * frame releases join the same stream.
 */
#include "flusher_internal.h"

uint64_t tlb_ev_send(struct tlb_domain *dom, struct tlb_event *ev)
{
    /* The sequence number is taken when the action has taken effect (the
       callers emit after the flush, store or load they describe), from the
       one counter every CPU shares, so a merged stream sorted by seq is a
       valid interleaving. */
    ev->seq = __atomic_fetch_add(&dom->seq, 1, __ATOMIC_SEQ_CST);
    ev->cpu = tlb_cur_cpu(dom);
    dom->ops->emit(dom->ctx, ev);
    return ev->seq;
}

uint64_t tlb_ev_simple(struct tlb_domain *dom, uint8_t type, uint8_t sub, uint16_t arg, pt_paddr_t root,
                       uint64_t a, uint64_t b, uint64_t c)
{
    struct tlb_event ev = {.type = type, .sub = sub, .arg = arg, .root = root};
    ev.u.raw[0] = a;
    ev.u.raw[1] = b;
    ev.u.raw[2] = c;
    return tlb_ev_send(dom, &ev);
}

void tlb_ev_range(struct tlb_domain *dom, uint8_t type, uint8_t sub, pt_paddr_t root,
                  pt_vaddr_t start, pt_vaddr_t end)
{
    /* The format requires start < end; an operation whose range is invalid
       fails before doing anything, so it has nothing to bracket. */
    if (start < end)
        tlb_ev_simple(dom, type, sub, 0, root, start, end, 0);
}

void tlb_emit(struct tlb_domain *dom, struct tlb_event *ev)
{
    tlb_ev_send(dom, ev);
}

pt_paddr_t tlb_ctx_enter(struct tlb_domain *dom, pt_paddr_t root)
{
    struct tlb_percpu *pc = &dom->cpu[tlb_cur_cpu(dom)];
    pt_paddr_t prev = pc->ctx_root;
    pc->ctx_root = root;
    return prev;
}

void tlb_ctx_leave(struct tlb_domain *dom, pt_paddr_t prev)
{
    dom->cpu[tlb_cur_cpu(dom)].ctx_root = prev;
}

void tlb_note_pte_store(struct tlb_domain *dom, const struct pt_pte_store *store)
{
    pt_paddr_t root = dom->cpu[tlb_cur_cpu(dom)].ctx_root;
    tlb_ev_simple(dom, TLB_EV_PTE_STORE, (uint8_t)store->level, (uint16_t)store->index, root,
                  store->node, store->old_pte, store->new_pte);
}

void tlb_note_node_alloc(struct tlb_domain *dom, pt_paddr_t pa, int level)
{
    pt_paddr_t root = dom->cpu[tlb_cur_cpu(dom)].ctx_root;
    tlb_ev_simple(dom, TLB_EV_NODE_ALLOC, (uint8_t)level, 0, root, pa, 0, 0);
}

void tlb_note_frame_free(struct tlb_domain *dom, pt_paddr_t pa, int node_level)
{
    pt_paddr_t root = dom->cpu[tlb_cur_cpu(dom)].ctx_root;
    if (node_level > 0)
        tlb_ev_simple(dom, TLB_EV_FREE, TLB_FREE_PT_NODE, (uint16_t)node_level, root, pa, 1, 0);
    else
        tlb_ev_simple(dom, TLB_EV_FREE, TLB_FREE_FRAME, 0, root, pa, 1, 0);
}

const char *tlb_error_name(int err)
{
    switch (err) {
    case TLB_OK: return "TLB_OK";
    case TLB_ERR_INVAL: return "TLB_ERR_INVAL";
    case TLB_ERR_BUSY: return "TLB_ERR_BUSY";
    default: return pt_error_name(err);
    }
}
