/*
 * AP start-up trampoline. Stored in the ROM, copied by the firmware to
 * VMM_AP_TRAMPOLINE_ADDR (0x8000) and entered there by an application
 * processor on SIPI vector 0x08 (real mode, CS = 0x0800, IP = 0).
 *
 * It is position-fixed: every absolute address is computed with TRAMP(),
 * the symbol's offset in this blob plus 0x8000. It has its own GDT (in the
 * trampoline page, so no ROM access is needed after the copy).
 *
 * real mode -> 32-bit protected mode -> long mode using mailbox.cr3 (which
 * must identity-map this page and be below 4 GiB), then it reads entry,
 * stack_top and arg, sets mailbox.started = 1, and jumps to entry with
 * rdi = arg, rsp = stack_top, interrupts off, the same CR0/CR4/EFER as the
 * bootstrap CPU gets from the firmware.
 */
#include "fw_abi.h"

#define TRAMP(sym) (FW_AP_TRAMPOLINE_ADDR + ((sym) - ap_trampoline_start))

    .section .rom.trampoline, "ax"
    .globl ap_trampoline_start
    .code16
ap_trampoline_start:
    cli
    cld
    xorw %ax, %ax                       /* DS.base = 0: TRAMP() addresses */
    movw %ax, %ds
    lgdtl TRAMP(tramp_gdt_desc)
    movl %cr0, %eax
    orl $CR0_PE, %eax
    movl %eax, %cr0
    ljmpl $SEL_CODE32, $TRAMP(tramp32)

    .code32
tramp32:
    movw $SEL_DATA, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movl %cr4, %eax
    orl $CR4_PAE, %eax
    movl %eax, %cr4
    movl FW_AP_MAILBOX_ADDR + MB_CR3, %eax
    movl %eax, %cr3
    movl $MSR_EFER, %ecx
    rdmsr
    orl $(EFER_LME | EFER_NXE), %eax
    wrmsr
    movl $FW_CR0_LONG, %eax
    movl %eax, %cr0
    ljmpl $SEL_CODE64, $TRAMP(tramp64)

    .code64
tramp64:
    movw $SEL_DATA, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movw %ax, %fs
    movw %ax, %gs
    movl $FW_AP_MAILBOX_ADDR, %ebx
    movq MB_ENTRY(%rbx), %rax
    movq MB_STACK_TOP(%rbx), %rsp
    movq MB_ARG(%rbx), %rdi
    /* Every field has been read: the BSP may reuse the mailbox for the next
     * AP once it sees this store (x86 keeps loads before a later store). */
    movl $1, MB_STARTED(%rbx)
    xorl %ebx, %ebx
    xorl %ebp, %ebp
    jmp *%rax

    .balign 8
tramp_gdt:                              /* same layout as the ROM GDT */
    .quad 0
    .quad 0x00cf9b000000ffff
    .quad 0x00cf93000000ffff
    .quad 0x00af9b000000ffff
tramp_gdt_end:
tramp_gdt_desc:
    .word tramp_gdt_end - tramp_gdt - 1
    .long TRAMP(tramp_gdt)
ap_trampoline_end:

    .globl ap_trampoline_size
    .set ap_trampoline_size, ap_trampoline_end - ap_trampoline_start
