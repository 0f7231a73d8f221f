/*
 * 32-bit protected mode: check the CPU and the VMM's boot handoff, build the
 * boot identity map, and switch to long mode.
 *
 * On any failure the firmware prints one line on COM1 naming the problem and
 * issues VMM_HC_EXIT with a non-zero status (FW_EXIT_*), then halts with
 * interrupts off in case the VMM ignores the hypercall.
 */
#include "fw_abi.h"

    .section .rom.text, "ax"
    .code32
    .globl pm32_start
pm32_start:
    movw $SEL_DATA, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movw %ax, %fs
    movw %ax, %gs
    movl $FW_STACK_TOP, %esp

    /* Long mode (CPUID 0x80000001 EDX.LM, bit 29) and NX (bit 20) are both
     * required: EFER.LME / EFER.NXE would #GP without them. */
    movl $0x80000000, %eax
    cpuid
    cmpl $0x80000001, %eax
    jb no_long_mode
    movl $0x80000001, %eax
    cpuid
    testl $(1 << 29), %edx
    jz no_long_mode
    testl $(1 << 20), %edx
    jz no_long_mode

    /* struct vmm_boot_handoff at VMM_BOOT_HANDOFF_ADDR. */
    movl $FW_BOOT_HANDOFF_ADDR, %ebx
    movl $msg_magic, %esi
    cmpl $FW_BOOT_MAGIC_LO, HO_MAGIC(%ebx)
    jne bad_handoff
    cmpl $FW_BOOT_MAGIC_HI, HO_MAGIC+4(%ebx)
    jne bad_handoff
    movl $msg_version, %esi
    cmpl $FW_ABI_VERSION, HO_ABI_VERSION(%ebx)
    jne bad_handoff
    /* A larger size is a newer, compatible handoff; a smaller one lacks
     * fields we read. */
    movl $msg_size, %esi
    cmpl $HO_STRUCT_SIZE, HO_SIZE(%ebx)
    jb bad_handoff
    /* The entry must be reachable through the 4 GiB identity map. */
    movl $msg_entry, %esi
    cmpl $0, HO_KERNEL_ENTRY+4(%ebx)
    jne bad_handoff
    cmpl $0, HO_KERNEL_ENTRY(%ebx)
    je bad_handoff
    movl $msg_fdt, %esi
    cmpl $0, HO_FDT_ADDR+4(%ebx)
    jne bad_handoff

    call build_identity_map

    /* Long mode: CR4.PAE, CR3, EFER.LME|NXE, then CR0.PG activates it
     * (EFER.LMA is set by the CPU). */
    movl %cr4, %eax
    orl $CR4_PAE, %eax
    movl %eax, %cr4
    movl $FW_PML4_ADDR, %eax
    movl %eax, %cr3
    movl $MSR_EFER, %ecx
    rdmsr
    orl $(EFER_LME | EFER_NXE), %eax
    wrmsr
    movl $FW_CR0_LONG, %eax
    movl %eax, %cr0
    ljmpl $SEL_CODE64, $lm64_start

/*
 * Identity map of 0..4 GiB with 2 MiB pages in the scratch area:
 * PML4[0] -> PDPT, PDPT[0..3] -> PD0..PD3, PDk[i] -> (k*512+i)*2 MiB.
 * Clobbers eax, ecx, edi.
 */
build_identity_map:
    movl $FW_PML4_ADDR, %edi            /* zero the PML4 and the PDPT */
    xorl %eax, %eax
    movl $(2 * 4096 / 4), %ecx
    rep stosl
    movl $(FW_PDPT_ADDR | 3), FW_PML4_ADDR          /* present, writable */
    movl $(FW_PD_ADDR + 0x0000 | 3), FW_PDPT_ADDR + 0
    movl $(FW_PD_ADDR + 0x1000 | 3), FW_PDPT_ADDR + 8
    movl $(FW_PD_ADDR + 0x2000 | 3), FW_PDPT_ADDR + 16
    movl $(FW_PD_ADDR + 0x3000 | 3), FW_PDPT_ADDR + 24
    movl $FW_PD_ADDR, %edi
    movl $0x83, %eax                    /* present, writable, PS (2 MiB) */
    movl $2048, %ecx
1:  movl %eax, (%edi)
    movl $0, 4(%edi)
    addl $0x200000, %eax
    addl $8, %edi
    loop 1b
    ret

no_long_mode:
    movl $msg_no_lm, %esi
    movl $FW_EXIT_NO_LONG_MODE, %edi
    jmp fail
bad_handoff:
    movl $FW_EXIT_BAD_HANDOFF, %edi
    /* fall through */

/* Print the NUL-terminated message at esi on COM1, then exit(edi). */
fail:
    movw $FW_COM1_PORT, %dx
    movl $msg_prefix, %ecx
1:  movb (%ecx), %al                    /* "firmware: " */
    testb %al, %al
    jz 2f
    outb %al, %dx
    incl %ecx
    jmp 1b
2:  lodsb                               /* the message itself */
    testb %al, %al
    jz 3f
    outb %al, %dx
    jmp 2b
3:  movl $FW_HC_EXIT, %eax              /* rdi = status (upper half is 0) */
    movw $FW_HYPERCALL_PORT, %dx
    outl %eax, %dx
4:  cli
    hlt
    jmp 4b

    .section .rom.rodata, "a"
msg_prefix:  .asciz "firmware: "
msg_no_lm:   .asciz "CPU lacks long mode or NX (CPUID 0x80000001); cannot boot\n"
msg_magic:   .asciz "bad boot handoff at 0x1000: wrong magic (expected VMM_BOOT_MAGIC)\n"
msg_version: .asciz "bad boot handoff at 0x1000: abi_version is not 1\n"
msg_size:    .asciz "bad boot handoff at 0x1000: size smaller than struct vmm_boot_handoff (48)\n"
msg_entry:   .asciz "bad boot handoff at 0x1000: kernel_entry is 0 or not below 4 GiB\n"
msg_fdt:     .asciz "bad boot handoff at 0x1000: fdt_addr is not below 4 GiB\n"
