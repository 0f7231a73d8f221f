/*
 * 64-bit long mode: install the AP trampoline and enter the kernel with the
 * entry state documented in abi.h and docs/boot.md.
 */
#include "fw_abi.h"

    .section .rom.text, "ax"
    .code64
    .globl lm64_start
lm64_start:
    movw $SEL_DATA, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movw %ax, %fs
    movw %ax, %gs
    movq $FW_STACK_TOP, %rsp            /* 16-byte aligned */

    /* The trampoline must be in RAM below 1 MiB for SIPI (vector 0x08). */
    movl $ap_trampoline_start, %esi
    movl $FW_AP_TRAMPOLINE_ADDR, %edi
    movl $ap_trampoline_size, %ecx
    rep movsb
    /* A clean mailbox: `started` reads 0 until an AP has really started. */
    movl $FW_AP_MAILBOX_ADDR, %edi
    xorl %eax, %eax
    movl $MB_STRUCT_SIZE, %ecx
    rep stosb

    movl $FW_BOOT_HANDOFF_ADDR, %ebx
    movq HO_KERNEL_ENTRY(%rbx), %r11
    movq HO_FDT_ADDR(%rbx), %rdi
    movabsq $((FW_BOOT_MAGIC_HI << 32) | FW_BOOT_MAGIC_LO), %rsi
    /* Nothing else is promised to the kernel; hand it clean registers. */
    xorl %eax, %eax
    xorl %ebx, %ebx
    xorl %ecx, %ecx
    xorl %edx, %edx
    xorl %ebp, %ebp
    xorl %r8d, %r8d
    xorl %r9d, %r9d
    xorl %r10d, %r10d
    xorl %r12d, %r12d
    xorl %r13d, %r13d
    xorl %r14d, %r14d
    xorl %r15d, %r15d
    jmp *%r11
