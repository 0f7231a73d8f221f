/*
 * The guest-physical memory map of version 1 of the ABI (abi.h): limits on
 * the RAM size and the fixed regions that the kernel image may not overlap
 * and that the FDT lists as reserved.
 */
#ifndef VMM_MEMMAP_H
#define VMM_MEMMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VMM_MIN_RAM      (16ull << 20)   /* room for boot data + a kernel */
#define VMM_DEFAULT_RAM  (128ull << 20)
#define VMM_RAM_ALIGN    0x1000ull       /* --mem must be whole 4 KiB pages */
#define VMM_MAX_CPUS     64u
#define VMM_DEFAULT_CPUS 4u     /* `vmm --guest` shows an SMP boot */
#define VMM_DEFAULT_TIMEOUT_S 30u
#define VMM_MAX_TIMEOUT_S 86400u

/* KVM's private pages on Intel (VMX real-mode emulation): above any RAM,
 * below the LAPIC and the ROM. Same addresses as kvmtool. */
#define VMM_KVM_IDENTITY_MAP_ADDR 0xfffbc000ull
#define VMM_KVM_TSS_ADDR          0xfffbd000ull   /* 3 pages */

struct vmm_region {
    uint64_t base;
    uint64_t size;
    const char *name;     /* FDT node name stem, e.g. "boot" */
    bool in_ram;          /* listed in /reserved-memory (else: not RAM) */
};

/*
 * Returns the fixed regions (low-memory boot data, FDT, legacy low memory,
 * and the non-RAM firmware ROM, LAPIC and KVM private pages); *count gets
 * their number. The array is static and sorted by base.
 */
const struct vmm_region *vmm_memmap_fixed(size_t *count);

/*
 * Checks a RAM size.
 * Guarantees: 0 when VMM_MIN_RAM <= mem <= VMM_MAX_RAM and mem is a
 *   multiple of VMM_RAM_ALIGN; else -1 with err naming the problem and
 *   the limits.
 */
int vmm_memmap_check_ram(uint64_t mem, char *err, size_t errlen);

/* True if [a, a+asz) and [b, b+bsz) intersect. Sizes of 0 never overlap.
 * Requires: a+asz and b+bsz do not overflow. */
bool vmm_ranges_overlap(uint64_t a, uint64_t asz, uint64_t b, uint64_t bsz);

#endif /* VMM_MEMMAP_H */
