/*
 * A builder for synthetic TLB event streams (tests, fuzz seeds, benchmark):
 * it numbers events consecutively and remembers every PTE it stored so each
 * store carries the right old value.
 */
#ifndef TLB_TEST_STREAM_BUILDER_H
#define TLB_TEST_STREAM_BUILDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "abi/tlb_event.h"
#include "tlb/validator.h"

struct sb_pte {
    uint64_t node;
    uint16_t idx;
    uint64_t val;
};

struct sb {
    uint32_t ncpus;
    uint64_t seq;
    struct tlb_event *ev;
    size_t n, cap;
    struct sb_pte *ptes;
    size_t nptes, capptes;
};

/* Start an empty stream for ncpus CPUs (first sequence number 1). Aborts on OOM. */
void sb_init(struct sb *b, uint32_t ncpus);
void sb_free(struct sb *b);
/* Append a raw event (seq is assigned). Returns the seq. */
uint64_t sb_raw(struct sb *b, struct tlb_event ev);

/* The modelled value of (node, idx); 0 if never stored. */
uint64_t sb_pte_get(const struct sb *b, uint64_t node, unsigned idx);

uint64_t sb_store(struct sb *b, uint32_t cpu, uint64_t root, uint64_t node, int level, unsigned idx,
                  uint64_t val);
/* The MMU sets bits (A, D) of (node, idx) in memory: no event; the next store's old value has them. */
void sb_mmu_set(struct sb *b, uint64_t node, unsigned idx, uint64_t bits);
uint64_t sb_cr3(struct sb *b, uint32_t cpu, uint64_t root, uint16_t pcid, bool noflush);
uint64_t sb_invlpg(struct sb *b, uint32_t cpu, uint64_t va);
uint64_t sb_flush_range(struct sb *b, uint32_t cpu, uint64_t va, uint64_t npages);
uint64_t sb_flush_all(struct sb *b, uint32_t cpu, bool global);
uint64_t sb_dispatch(struct sb *b, uint32_t cpu, uint64_t root, uint64_t mask, uint8_t kind, uint64_t va,
                     uint64_t npages);
uint64_t sb_remote_done(struct sb *b, uint32_t cpu, uint32_t initiator, uint64_t dseq);
uint64_t sb_sync(struct sb *b, uint32_t cpu, uint64_t mask, uint64_t dseq);
uint64_t sb_activate(struct sb *b, uint32_t cpu, uint64_t root, bool enter);
uint64_t sb_free_frame(struct sb *b, uint32_t cpu, uint64_t pa, uint64_t npages);
uint64_t sb_free_node(struct sb *b, uint32_t cpu, uint64_t pa, int level);
/* A page-table node taken from the allocator, zeroed (the builder forgets its old entries). */
uint64_t sb_node_alloc(struct sb *b, uint32_t cpu, uint64_t root, uint64_t node, int level);
uint64_t sb_op(struct sb *b, uint32_t cpu, uint64_t root, bool begin, uint8_t kind, uint64_t start,
               uint64_t end);

/* Leaf / table PTE values (OSTD encoding: bit 7 marks a leaf at every level). */
uint64_t sb_leaf(uint64_t pa, bool writable, bool global);
uint64_t sb_table(uint64_t pa);

/* Feed everything to a fresh validator (options may be NULL: defaults) and finish. */
struct tlb_validator *sb_validate(const struct sb *b, const struct tlb_validator_options *opt,
                                  enum tlb_verdict *verdict);
/* The stream as file bytes (header + records); caller frees. */
uint8_t *sb_bytes(const struct sb *b, size_t *len);

#endif
