/* Fixed guest-physical layout (abi.h, docs/abi.md). */
#include "memmap.h"

#include <stdio.h>

#include "parse.h"
#include "abi/vmm.h"

/*
 * The whole low 1 MiB is kept from the guest's allocator: the handoff, the
 * AP trampoline (needed every time an AP starts), the firmware's scratch
 * (the kernel's boot stack lives there) and the FDT (the guest keeps reading
 * it). Splitting it lets the FDT name each part.
 */
static const struct vmm_region fixed[] = {
    { 0, VMM_FDT_ADDR, "boot", true },
    { VMM_FDT_ADDR, VMM_FDT_MAX_SIZE, "fdt", true },
    { VMM_FDT_ADDR + VMM_FDT_MAX_SIZE,
      VMM_KERNEL_MIN_ADDR - (VMM_FDT_ADDR + VMM_FDT_MAX_SIZE), "low", true },
    { VMM_KVM_IDENTITY_MAP_ADDR, 0x4000, "kvm-private", false },
    { VMM_LAPIC_ADDR, 0x1000, "lapic", false },
    { VMM_FW_ROM_ADDR, VMM_FW_ROM_SIZE, "firmware-rom", false },
};

const struct vmm_region *vmm_memmap_fixed(size_t *count)
{
    *count = sizeof(fixed) / sizeof(fixed[0]);
    return fixed;
}

int vmm_memmap_check_ram(uint64_t mem, char *err, size_t errlen)
{
    char a[32], b[32], c[32];

    if (mem < VMM_MIN_RAM || mem > VMM_MAX_RAM) {
        snprintf(err, errlen, "%s is outside the supported range %s..%s",
                 vmm_format_size(mem, a, sizeof(a)),
                 vmm_format_size(VMM_MIN_RAM, b, sizeof(b)),
                 vmm_format_size(VMM_MAX_RAM, c, sizeof(c)));
        return -1;
    }
    if (mem % VMM_RAM_ALIGN != 0) {
        snprintf(err, errlen, "%s is not a multiple of 4 KiB",
                 vmm_format_size(mem, a, sizeof(a)));
        return -1;
    }
    return 0;
}

bool vmm_ranges_overlap(uint64_t a, uint64_t asz, uint64_t b, uint64_t bsz)
{
    if (asz == 0 || bsz == 0)
        return false;
    return a < b + bsz && b < a + asz;
}
