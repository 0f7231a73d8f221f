/*
 * Host inspection at checkpoints (docs/live-validation.md "Checkpoints"):
 * the page tables reachable from a vCPU's CR3, read from guest memory,
 * compared entry by entry with the validator's reconstructed tree, and the
 * CR3 compared with the root the events say that CPU loaded.
 *
 * This half is KVM-free (guest RAM is a buffer, the registers are passed
 * in); inspect_kvm.c reads the registers and adds the KVM_TRANSLATE
 * cross-check.
 */
#ifndef VMM_INSPECT_H
#define VMM_INSPECT_H

#include <stddef.h>
#include <stdint.h>

#include "tlb/validator.h"
#include "validate.h"

/* Translations each CPU cross-checks with KVM_TRANSLATE. */
#define VMM_INSPECT_SAMPLES 8

struct vmm_inspect_out {
    struct vmm_mismatch *m;      /* up to max entries */
    size_t max, count;           /* count: every mismatch found (may exceed max) */
    uint64_t samples[VMM_INSPECT_SAMPLES];  /* VAs of present leaves for KVM_TRANSLATE:
                                               traced ones first (reset per CPU) */
    size_t nsamples;
    uint64_t compared, unmodelled;  /* entries compared / entries the model does not know */
};

/*
 * Compares CPU `cpu`'s CR3 (`cr3`, flag bits included) and every page-table
 * entry reachable from it with the model in `val`. A/D bits are ignored
 * (the MMU sets them). Compared: every entry of a node the stream allocated
 * (tlb_validator_node_whole: a never-stored entry must read 0, so a store
 * the guest made without an event shows), and in the other nodes the model
 * knows the entries the stream stored to (their addresses in `written`;
 * NULL = every entry). The rest were built before the guest attached and are
 * not in the model; they are counted in `unmodelled`.
 * Requires: ram maps guest RAM [0, mem); out->m has out->max entries.
 * Guarantees: reads only inside ram; visits at most 1 << 16 nodes; appends
 *   one vmm_mismatch per disagreement (a CR3 that is not the model's root
 *   for this CPU, an entry whose value differs, a table pointer outside RAM).
 */
void vmm_inspect_tree(const uint8_t *ram, uint64_t mem, const struct tlb_validator *val,
                      const struct vmm_pa_set *written, uint32_t cpu, uint64_t cr3,
                      struct vmm_inspect_out *out);

/* Appends one mismatch (counted even when out is full). */
void vmm_inspect_add(struct vmm_inspect_out *out, uint32_t cpu, uint64_t node, unsigned index,
                     int level, uint64_t guest, uint64_t model, const char *what);

#endif /* VMM_INSPECT_H */
