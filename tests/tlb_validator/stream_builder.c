/* Synthetic TLB event streams for tests, fuzz seeds and benchmarks. */
#include "stream_builder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pagetable/x86_64.h"
#include "abi/tlb_event_codec.h"

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (!q) {
        fprintf(stderr, "stream_builder: out of memory\n");
        abort();
    }
    return q;
}

void sb_init(struct sb *b, uint32_t ncpus)
{
    memset(b, 0, sizeof *b);
    b->ncpus = ncpus;
    b->seq = 1;
}

void sb_free(struct sb *b)
{
    free(b->ev);
    free(b->ptes);
    memset(b, 0, sizeof *b);
}

uint64_t sb_raw(struct sb *b, struct tlb_event ev)
{
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 256;
        b->ev = xrealloc(b->ev, b->cap * sizeof *b->ev);
    }
    ev.seq = b->seq++;
    b->ev[b->n++] = ev;
    return ev.seq;
}

static struct sb_pte *pte_find(const struct sb *b, uint64_t node, unsigned idx)
{
    for (size_t i = 0; i < b->nptes; i++)
        if (b->ptes[i].node == node && b->ptes[i].idx == idx)
            return &b->ptes[i];
    return NULL;
}

uint64_t sb_pte_get(const struct sb *b, uint64_t node, unsigned idx)
{
    struct sb_pte *p = pte_find(b, node, idx);
    return p ? p->val : 0;
}

uint64_t sb_store(struct sb *b, uint32_t cpu, uint64_t root, uint64_t node, int level, unsigned idx,
                  uint64_t val)
{
    struct sb_pte *p = pte_find(b, node, idx);
    if (!p) {
        if (b->nptes == b->capptes) {
            b->capptes = b->capptes ? b->capptes * 2 : 64;
            b->ptes = xrealloc(b->ptes, b->capptes * sizeof *b->ptes);
        }
        p = &b->ptes[b->nptes++];
        *p = (struct sb_pte){ node, (uint16_t)idx, 0 };
    }
    struct tlb_event ev = { .cpu = cpu, .type = TLB_EV_PTE_STORE, .sub = (uint8_t)level,
                            .arg = (uint16_t)idx, .root = root };
    ev.u.pte.node = node;
    ev.u.pte.old_pte = p->val;
    ev.u.pte.new_pte = val;
    p->val = val;
    return sb_raw(b, ev);
}

void sb_mmu_set(struct sb *b, uint64_t node, unsigned idx, uint64_t bits)
{
    struct sb_pte *p = pte_find(b, node, idx);
    if (p)
        p->val |= bits;
}

uint64_t sb_cr3(struct sb *b, uint32_t cpu, uint64_t root, uint16_t pcid, bool noflush)
{
    struct tlb_event ev = { .cpu = cpu, .type = TLB_EV_CR3_LOAD, .sub = noflush ? TLB_CR3_NOFLUSH : 0,
                            .arg = pcid, .root = root };
    return sb_raw(b, ev);
}

static uint64_t flush(struct sb *b, uint32_t cpu, uint8_t kind, uint64_t va, uint64_t n)
{
    struct tlb_event ev = { .cpu = cpu, .type = TLB_EV_FLUSH, .sub = kind };
    ev.u.flush.va = va;
    ev.u.flush.npages = n;
    return sb_raw(b, ev);
}

uint64_t sb_invlpg(struct sb *b, uint32_t cpu, uint64_t va) { return flush(b, cpu, TLB_FLUSH_SINGLE, va, 1); }
uint64_t sb_flush_range(struct sb *b, uint32_t cpu, uint64_t va, uint64_t npages)
{
    return flush(b, cpu, TLB_FLUSH_RANGE, va, npages);
}
uint64_t sb_flush_all(struct sb *b, uint32_t cpu, bool global)
{
    return flush(b, cpu, global ? TLB_FLUSH_ALL_GLOBAL : TLB_FLUSH_ALL_NONGLOBAL, 0, 0);
}

uint64_t sb_dispatch(struct sb *b, uint32_t cpu, uint64_t root, uint64_t mask, uint8_t kind, uint64_t va,
                     uint64_t npages)
{
    struct tlb_event ev = { .cpu = cpu, .type = TLB_EV_DISPATCH, .sub = kind, .root = root };
    ev.u.dispatch.targets = mask;
    ev.u.dispatch.va = va;
    ev.u.dispatch.npages = npages;
    return sb_raw(b, ev);
}

uint64_t sb_remote_done(struct sb *b, uint32_t cpu, uint32_t initiator, uint64_t dseq)
{
    struct tlb_event ev = { .cpu = cpu, .type = TLB_EV_REMOTE_DONE };
    ev.u.remote_done.initiator = initiator;
    ev.u.remote_done.dispatch_seq = dseq;
    return sb_raw(b, ev);
}

uint64_t sb_sync(struct sb *b, uint32_t cpu, uint64_t mask, uint64_t dseq)
{
    struct tlb_event ev = { .cpu = cpu, .type = TLB_EV_SYNC_DONE };
    ev.u.sync.targets = mask;
    ev.u.sync.dispatch_seq = dseq;
    return sb_raw(b, ev);
}

uint64_t sb_activate(struct sb *b, uint32_t cpu, uint64_t root, bool enter)
{
    struct tlb_event ev = { .cpu = cpu, .type = TLB_EV_ACTIVATE,
                            .sub = enter ? TLB_ACTIVATE_ENTER : TLB_ACTIVATE_LEAVE, .root = root };
    return sb_raw(b, ev);
}

uint64_t sb_free_frame(struct sb *b, uint32_t cpu, uint64_t pa, uint64_t npages)
{
    struct tlb_event ev = { .cpu = cpu, .type = TLB_EV_FREE, .sub = TLB_FREE_FRAME };
    ev.u.free.pa = pa;
    ev.u.free.npages = npages;
    return sb_raw(b, ev);
}

uint64_t sb_free_node(struct sb *b, uint32_t cpu, uint64_t pa, int level)
{
    struct tlb_event ev = { .cpu = cpu, .type = TLB_EV_FREE, .sub = TLB_FREE_PT_NODE, .arg = (uint16_t)level };
    ev.u.free.pa = pa;
    ev.u.free.npages = 1;
    return sb_raw(b, ev);
}

uint64_t sb_node_alloc(struct sb *b, uint32_t cpu, uint64_t root, uint64_t node, int level)
{
    for (size_t i = 0; i < b->nptes; i++)   /* the allocator hands it out zeroed */
        if (b->ptes[i].node == node)
            b->ptes[i].val = 0;
    struct tlb_event ev = { .cpu = cpu, .type = TLB_EV_NODE_ALLOC, .sub = (uint8_t)level, .root = root };
    ev.u.alloc.node = node;
    return sb_raw(b, ev);
}

uint64_t sb_op(struct sb *b, uint32_t cpu, uint64_t root, bool begin, uint8_t kind, uint64_t start,
               uint64_t end)
{
    struct tlb_event ev = { .cpu = cpu, .type = begin ? TLB_EV_OP_BEGIN : TLB_EV_OP_END, .sub = kind,
                            .root = root };
    ev.u.range.start = start;
    ev.u.range.end = end;
    return sb_raw(b, ev);
}

uint64_t sb_leaf(uint64_t pa, bool writable, bool global)
{
    return pa | PTE_P | PTE_US | PTE_A | PTE_PS | (writable ? PTE_RW : 0) | (global ? PTE_G : 0);
}

uint64_t sb_table(uint64_t pa) { return pa | PTE_P | PTE_RW | PTE_US; }

struct tlb_validator *sb_validate(const struct sb *b, const struct tlb_validator_options *opt,
                                  enum tlb_verdict *verdict)
{
    struct tlb_validator_options o = opt ? *opt : tlb_validator_default_options(b->ncpus);
    o.cpu_count = b->ncpus;
    struct tlb_validator *v = tlb_validator_create(&o);
    if (!v)
        abort();
    enum tlb_verdict r = TLB_VERDICT_OK;
    for (size_t i = 0; i < b->n && r != TLB_VERDICT_BAD_INPUT; i++)
        r = tlb_validator_feed(v, &b->ev[i]);
    r = tlb_validator_finish(v);
    if (verdict)
        *verdict = r;
    return v;
}

uint8_t *sb_bytes(const struct sb *b, size_t *len)
{
    *len = 16 + b->n * TLB_EVENT_RECORD_SIZE;
    uint8_t *buf = xrealloc(NULL, *len);
    struct tlb_stream_header h = { TLB_STREAM_MAGIC, TLB_EVENT_VERSION, TLB_EVENT_RECORD_SIZE, b->ncpus, 0 };
    tlb_stream_header_encode(&h, buf);
    for (size_t i = 0; i < b->n; i++)
        tlb_event_encode(&b->ev[i], buf + 16 + i * TLB_EVENT_RECORD_SIZE);
    return buf;
}
