/*
 * Entry of the multiboot test kernel (tests/multiboot): the header and the
 * 32-bit entry point. It records the machine state the boot loader left
 * (spec 3.2) before anything changes it, then calls mb_main on its own
 * stack. Variants for the refusal tests are built from this same file:
 *   MB_FLAGS      header flags (default: page-aligned modules + memory info)
 *   MB_BAD_SUM    a wrong checksum
 *   MB_NO_HEADER  no header at all (an ELF32 of neither protocol)
 */
#ifndef MB_FLAGS
#define MB_FLAGS 0x00000003
#endif
#ifdef MB_BAD_SUM
#define MB_SUM (-(0x1badb002 + MB_FLAGS) + 1)
#else
#define MB_SUM (-(0x1badb002 + MB_FLAGS))
#endif

#ifndef MB_NO_HEADER
    .section .multiboot, "a"
    .balign 4
    .long 0x1badb002, MB_FLAGS, MB_SUM
#endif

    .text
    .code32
    .globl _start
_start:
    /* nothing may touch EAX, EBX or EFLAGS before they are saved */
    mov %eax, entry_eax
    mov %ebx, entry_ebx
    mov $stack_top, %esp        /* the loader's ESP is undefined (spec 3.2) */
    pushf                       /* MOV changes no flag: these are the entry flags */
    pop %eax
    mov %eax, entry_eflags
    mov %cr0, %eax
    mov %eax, entry_cr0
    mov %cr4, %eax
    mov %eax, entry_cr4
    mov %cs, %ax
    mov %ax, entry_cs
    mov %ds, %ax
    mov %ax, entry_ds
    mov %ss, %ax
    mov %ax, entry_ss
    lsl entry_cs, %eax          /* segment limits: flat 4 GiB means 0xffffffff */
    mov %eax, entry_cs_limit
    lsl entry_ds, %eax
    mov %eax, entry_ds_limit
    call mb_main
1:  cli
    hlt
    jmp 1b

    .data
    .balign 4
    .globl entry_eax, entry_ebx, entry_eflags, entry_cr0, entry_cr4
    .globl entry_cs, entry_ds, entry_ss, entry_cs_limit, entry_ds_limit
entry_eax: .long 0
entry_ebx: .long 0
entry_eflags: .long 0
entry_cr0: .long 0
entry_cr4: .long 0
entry_cs_limit: .long 0
entry_ds_limit: .long 0
entry_cs: .word 0
entry_ds: .word 0
entry_ss: .word 0

    .bss
    .balign 16
    .space 16384
stack_top:

    .section .note.GNU-stack, "", @progbits
