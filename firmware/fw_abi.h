/*
 * Constants of the guest<->host ABI (abi/include/abi/vmm.h) in a form that
 * GNU as can use. abi.h itself contains C declarations, so the assembler
 * cannot include it; abi_check.c proves at build time that every value here
 * equals its abi.h counterpart (offsets included), so the two cannot drift.
 */
#ifndef FW_ABI_H
#define FW_ABI_H

#define FW_ABI_VERSION          1
#define FW_BOOT_HANDOFF_ADDR    0x1000
#define FW_AP_TRAMPOLINE_ADDR   0x8000
#define FW_AP_MAILBOX_ADDR      0x8f00
#define FW_SCRATCH_ADDR         0x10000
#define FW_SCRATCH_SIZE         0x10000
#define FW_ROM_ADDR             0xffff0000
#define FW_ROM_SIZE             0x10000
#define FW_COM1_PORT            0x3f8
#define FW_HYPERCALL_PORT       0x500
#define FW_HC_EXIT              2

/* "VMMBOOT1" little-endian, split in two dwords for 32-bit code. */
#define FW_BOOT_MAGIC_LO        0x424d4d56
#define FW_BOOT_MAGIC_HI        0x31544f4f

/* struct vmm_boot_handoff field offsets */
#define HO_MAGIC                0
#define HO_ABI_VERSION          8
#define HO_SIZE                 12
#define HO_KERNEL_ENTRY         16
#define HO_FDT_ADDR             24
#define HO_FDT_SIZE             32
#define HO_MEM_SIZE             40
#define HO_STRUCT_SIZE          48

/* struct vmm_ap_mailbox field offsets */
#define MB_CR3                  0
#define MB_ENTRY                8
#define MB_STACK_TOP            16
#define MB_ARG                  24
#define MB_STARTED              32
#define MB_STRUCT_SIZE          40

/* Status the firmware passes to VMM_HC_EXIT when it refuses to boot. */
#define FW_EXIT_BAD_HANDOFF     0xf1
#define FW_EXIT_NO_LONG_MODE    0xf2

/*
 * Boot page tables in the scratch area: PML4, one PDPT, four PDs (4 GiB of
 * 2 MiB pages). The stack grows down from the top of the scratch area.
 */
#define FW_PML4_ADDR            (FW_SCRATCH_ADDR + 0x0000)
#define FW_PDPT_ADDR            (FW_SCRATCH_ADDR + 0x1000)
#define FW_PD_ADDR              (FW_SCRATCH_ADDR + 0x2000) /* 4 pages */
#define FW_STACK_TOP            (FW_SCRATCH_ADDR + FW_SCRATCH_SIZE)

/* Control-register and MSR bits the firmware sets. */
#define CR0_PE                  (1 << 0)
#define CR0_ET                  (1 << 4)
#define CR0_NE                  (1 << 5)
#define CR0_WP                  (1 << 16)
#define CR0_PG                  (1 << 31)
#define CR4_PAE                 (1 << 5)
#define MSR_EFER                0xc0000080
#define EFER_LME                (1 << 8)
#define EFER_NXE                (1 << 11)

/*
 * The CR0 value in force when the kernel (or an AP's entry) runs: protected
 * mode, paging, write-protect, native FPU errors; cache-disable and
 * not-write-through from the reset value are cleared.
 */
#define FW_CR0_LONG             (CR0_PG | CR0_WP | CR0_NE | CR0_ET | CR0_PE)

/* GDT selectors, identical in the ROM GDT and the AP trampoline GDT. */
#define SEL_CODE32              0x08
#define SEL_DATA                0x10
#define SEL_CODE64              0x18

#endif /* FW_ABI_H */
