/*
 * The boot stub: the kernel's ELF entry point. It runs at its physical
 * address on the firmware's identity map, with the entry state documented
 * in abi/include/abi/vmm.h (rdi = FDT address, rsi = VMM_BOOT_MAGIC,
 * interrupts off). It
 *   1. records that entry state in boot_entry_state (scenario boot-state
 *      checks it later) after zeroing .bss,
 *   2. builds the kernel page table (static, in .bss):
 *        PML4[0]   -> identity map of the first 2 MiB (the stub itself and
 *                     the AP trampoline page; kmain trims it to 0x8000)
 *        PML4[256] -> linear map: LINEAR_MAP_BASE + [0, 3 GiB), 2 MiB, NX
 *        PML4[511] -> kernel image: KERNEL_VMA_BASE + [0, image end), 2 MiB
 *   3. loads it, moves to the higher half and the boot stack, and calls
 *      kmain(fdt_pa).
 * Symbols are higher-half; PA() turns one into its physical address.
 */
#include "guest/layout.h"

#define PA(sym)   ((sym) - KERNEL_VMA_BASE)
#define PTE_P     0x1
#define PTE_W     0x2
#define PTE_PS    0x80
#define PTE_NX    (1 << 63)
#define MSR_EFER  0xc0000080
#define EFER_NXE  (1 << 11)
#define BOOT_IDENTITY_PROBE 0x4944454e54495459

    .section .boot.text, "ax"
    .code64
    .globl _start
_start:
    movq %rdi, %r12                     /* keep the entry registers */
    movq %rsi, %r13
    movq %rsp, %r14
    pushfq
    popq %r15
    cld

    movq $PA(__bss_start), %rdi         /* zero .bss */
    movq $PA(__bss_end), %rcx
    subq %rdi, %rcx
    shrq $3, %rcx
    xorl %eax, %eax
    rep stosq

    movq $PA(boot_entry_state), %rbx    /* struct boot_entry_state */
    movq %r12, 0x00(%rbx)
    movq %r13, 0x08(%rbx)
    movq %r14, 0x10(%rbx)
    movq %r15, 0x18(%rbx)
    movq %cr0, %rax
    movq %rax, 0x20(%rbx)
    movq %cr3, %rax
    movq %rax, 0x28(%rbx)
    movq %cr4, %rax
    movq %rax, 0x30(%rbx)
    movl $MSR_EFER, %ecx
    rdmsr
    shlq $32, %rdx
    orq %rdx, %rax
    movq %rax, 0x38(%rbx)
    /* Written through the firmware's identity map, read later through the
     * kernel's own map: proves the identity map maps this page to itself. */
    movabsq $BOOT_IDENTITY_PROBE, %rax
    movq %rax, 0x40(%rbx)

    /* The linear map uses NX; do not depend on the firmware for NXE. */
    movl $MSR_EFER, %ecx
    rdmsr
    orl $EFER_NXE, %eax
    wrmsr

    /* PML4 */
    movq $PA(pdpt_ident), %rax
    orq $(PTE_P | PTE_W), %rax
    movq %rax, PA(kernel_pml4) + 0 * 8
    movq $PA(pdpt_linear), %rax
    orq $(PTE_P | PTE_W), %rax
    movq %rax, PA(kernel_pml4) + 256 * 8
    movq $PA(pdpt_kernel), %rax
    orq $(PTE_P | PTE_W), %rax
    movq %rax, PA(kernel_pml4) + 511 * 8

    /* Identity: the first 2 MiB. */
    movq $PA(pd_ident), %rax
    orq $(PTE_P | PTE_W), %rax
    movq %rax, PA(pdpt_ident)
    movq $(PTE_P | PTE_W | PTE_PS), PA(pd_ident)

    /* Linear map: 3 PDs of 512 x 2 MiB. */
    movq $PA(pd_linear), %rax
    orq $(PTE_P | PTE_W), %rax
    movq $PA(pdpt_linear), %rdi
    movl $3, %ecx
1:  movq %rax, (%rdi)
    addq $4096, %rax
    addq $8, %rdi
    loop 1b
    movq $PA(pd_linear), %rdi
    movabsq $(PTE_P | PTE_W | PTE_PS | PTE_NX), %rax
    movl $(3 * 512), %ecx
2:  movq %rax, (%rdi)
    addq $LARGE_PAGE_SIZE, %rax
    addq $8, %rdi
    loop 2b

    /* Kernel image: PDPT[510] (KERNEL_VMA_BASE = -2 GiB) -> pd_kernel. */
    movq $PA(pd_kernel), %rax
    orq $(PTE_P | PTE_W), %rax
    movq %rax, PA(pdpt_kernel) + 510 * 8
    movq $__kernel_phys_end, %rcx       /* already physical */
    addq $(LARGE_PAGE_SIZE - 1), %rcx
    shrq $21, %rcx                      /* 2 MiB pages to cover the image */
    movq $PA(pd_kernel), %rdi
    movq $(PTE_P | PTE_W | PTE_PS), %rax
3:  movq %rax, (%rdi)
    addq $LARGE_PAGE_SIZE, %rax
    addq $8, %rdi
    loop 3b

    movq $PA(kernel_pml4), %rax
    movq %rax, %cr3
    movabsq $high_entry, %rax
    jmp *%rax

    .text
high_entry:
    movq $boot_stack_top, %rsp
    xorl %ebp, %ebp
    movq %r12, %rdi                     /* kmain(fdt_pa) */
    call kmain
1:  cli
    hlt
    jmp 1b

    /* The kernel page table (zeroed with .bss before use). */
    .section .bss.pagetables, "aw", @nobits
    .balign 4096
    .globl kernel_pml4, pd_ident
kernel_pml4:  .skip 4096
pdpt_ident:   .skip 4096
pd_ident:     .skip 4096
pdpt_linear:  .skip 4096
pd_linear:    .skip 3 * 4096
pdpt_kernel:  .skip 4096
pd_kernel:    .skip 4096

    .section .bss.boot_stack, "aw", @nobits
    .balign 16
    .globl boot_stack_top
boot_stack:   .skip KSTACK_SIZE
boot_stack_top:
