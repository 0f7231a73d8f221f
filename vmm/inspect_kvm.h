/*
 * The KVM half of host inspection: every vCPU's CR3/CR4/EFER through
 * KVM_GET_SREGS, the tree comparison of inspect.h, and sampled translations
 * cross-checked with KVM_TRANSLATE; and --dump-pt.
 */
#ifndef VMM_INSPECT_KVM_H
#define VMM_INSPECT_KVM_H

#include <stddef.h>

#include "machine.h"
#include "validate.h"

/*
 * Inspects every vCPU that has paging on (CR0.PG).
 * Requires: every vCPU other than the caller is outside KVM_RUN.
 * Guarantees: fills up to max mismatches, returns their total number;
 * *counts = the entries compared and left unmodelled over every vCPU's walk.
 */
size_t vmm_inspect_machine(struct vmm_machine *m, const struct tlb_validator *val,
                           const struct vmm_pa_set *written, struct vmm_mismatch *out,
                           size_t max, struct vmm_inspect_counts *counts);

/* --dump-pt: prints each vCPU's address space (stdout). Requires: vCPUs stopped. */
void vmm_inspect_dump_pt(struct vmm_machine *m);

#endif /* VMM_INSPECT_KVM_H */
