/*
 * Build-time proof that firmware/fw_abi.h (the assembler's copy of the ABI)
 * matches abi/include/abi/vmm.h. Compiled as part of the firmware build; it
 * emits no code. If the ABI header changes, this file stops compiling until
 * fw_abi.h follows.
 */
#include <stddef.h>

#include "abi/vmm.h"
#include "fw_abi.h"

#define SAME(a, b) _Static_assert((unsigned long long)(a) == (unsigned long long)(b), #a " != " #b)

SAME(FW_ABI_VERSION, VMM_ABI_VERSION);
SAME(FW_BOOT_HANDOFF_ADDR, VMM_BOOT_HANDOFF_ADDR);
SAME(FW_AP_TRAMPOLINE_ADDR, VMM_AP_TRAMPOLINE_ADDR);
SAME(FW_AP_TRAMPOLINE_ADDR >> 12, VMM_AP_SIPI_VECTOR);
SAME(FW_AP_MAILBOX_ADDR, VMM_AP_MAILBOX_ADDR);
SAME(FW_SCRATCH_ADDR, VMM_FW_SCRATCH_ADDR);
SAME(FW_SCRATCH_SIZE, VMM_FW_SCRATCH_SIZE);
SAME(FW_ROM_ADDR, VMM_FW_ROM_ADDR);
SAME(FW_ROM_SIZE, VMM_FW_ROM_SIZE);
SAME(FW_COM1_PORT, VMM_COM1_PORT);
SAME(FW_HYPERCALL_PORT, VMM_HYPERCALL_PORT);
SAME(FW_HC_EXIT, VMM_HC_EXIT);
SAME(((unsigned long long)FW_BOOT_MAGIC_HI << 32) | FW_BOOT_MAGIC_LO, VMM_BOOT_MAGIC);

SAME(HO_MAGIC, offsetof(struct vmm_boot_handoff, magic));
SAME(HO_ABI_VERSION, offsetof(struct vmm_boot_handoff, abi_version));
SAME(HO_SIZE, offsetof(struct vmm_boot_handoff, size));
SAME(HO_KERNEL_ENTRY, offsetof(struct vmm_boot_handoff, kernel_entry));
SAME(HO_FDT_ADDR, offsetof(struct vmm_boot_handoff, fdt_addr));
SAME(HO_FDT_SIZE, offsetof(struct vmm_boot_handoff, fdt_size));
SAME(HO_MEM_SIZE, offsetof(struct vmm_boot_handoff, mem_size));
SAME(HO_STRUCT_SIZE, sizeof(struct vmm_boot_handoff));

SAME(MB_CR3, offsetof(struct vmm_ap_mailbox, cr3));
SAME(MB_ENTRY, offsetof(struct vmm_ap_mailbox, entry));
SAME(MB_STACK_TOP, offsetof(struct vmm_ap_mailbox, stack_top));
SAME(MB_ARG, offsetof(struct vmm_ap_mailbox, arg));
SAME(MB_STARTED, offsetof(struct vmm_ap_mailbox, started));
SAME(MB_STRUCT_SIZE, sizeof(struct vmm_ap_mailbox));

/* The boot page tables and a stack must fit in the scratch area. */
_Static_assert(FW_PD_ADDR + 4 * 0x1000 < FW_STACK_TOP - 0x2000, "scratch area too small");
