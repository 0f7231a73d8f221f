/*
 * A minimal guest kernel for the VMM's own integration tests, independent
 * of guest/: entered by the firmware in 64-bit mode (abi.h), it talks to
 * the VMM only through COM1 and the hypercall port. One source, several
 * behaviours selected at build time:
 *   MINI_OK      print, report CPU 0 online, send hostile hypercalls and
 *                check each is refused (-EINVAL / -ENOSYS; an exit sent
 *                with OUTS / REP OUTS is not run), exit(0)
 *   MINI_HANG    halt forever with interrupts off (watchdog test)
 *   MINI_TRIPLE  empty IDT, one more UART line (so the VMM's last exit
 *                before the fault has that IDT), then int3: a triple fault
 *   MINI_FAIL    exit(3)
 *   MINI_RSVD    set a reserved bit (13) in the firmware's 2 MiB mapping of
 *                0x3fe00000, read there, and exit with the #PF error code
 *                as status: 9 (P | RSVD) on hardware (an MMU corner case:
 *                QEMU's TCG walk gives 8, docs/sandbox.md)
 *   MINI_APCR3   start CPU 1 (INIT-SIPI-SIPI) with mailbox.cr3 = 1 GiB,
 *                outside RAM, then wait with interrupts off: the VMM must
 *                report the AP's unusable page-table root, not time out
 */
#define HC_PORT 0x500
#define HC_PRINT 1
#define HC_EXIT 2
#define HC_ASSERT_FAIL 3
#define HC_TEST_RESULT 4
#define HC_EXCEPTION 5
#define HC_CPU_ONLINE 6
#define EINVAL 22
#define ENOSYS 38

/* hypercall nr: eax = nr, arguments already in rdi, rsi, rcx, r8, r9 */
.macro HC nr
    movl $\nr, %eax
    movw $HC_PORT, %dx
    outl %eax, %dx
.endm

/* fails the run (assert_fail with this line) unless rax == -\err */
.macro EXPECT err
    cmpq $-\err, %rax
    je 1f
    movq $file, %rdi
    movq $file_len, %rsi
    movq $__LINE__, %rcx
    movq $amsg, %r8
    movq $amsg_len, %r9
    movl $HC_ASSERT_FAIL, %eax
    movw $HC_PORT, %dx
    outl %eax, %dx
    jmp halt
1:
.endm

    .section .text.boot, "ax"
    .code64
    .globl _start
_start:
    movq $stack_top, %rsp
    /* Greeting through the UART, byte by byte. */
    movq $hello, %rsi
    movq $hello_len, %rcx
    movw $0x3f8, %dx
2:  lodsb
    outb %al, %dx
    loop 2b

#if defined(MINI_HANG)
    cli
halt_forever:
    hlt
    jmp halt_forever
#elif defined(MINI_TRIPLE)
    lidt null_idt
    movq $bye, %rsi
    movq $bye_len, %rcx
    movw $0x3f8, %dx
3:  lodsb
    outb %al, %dx
    loop 3b
    int3
    jmp halt
#elif defined(MINI_RSVD)
    /* IDT with one gate: vector 14 -> pf_handler (64-bit interrupt gate). */
    movq $pf_handler, %rax
    movq $idt + 14 * 16, %rbx
    movw %ax, (%rbx)
    movw %cs, %cx
    movw %cx, 2(%rbx)
    movw $0x8e00, 4(%rbx)
    shrq $16, %rax
    movw %ax, 6(%rbx)
    shrq $16, %rax
    movl %eax, 8(%rbx)
    lidt idt_desc
    /* PD of the first GiB at 0x12000 (firmware identity map, 2 MiB pages):
     * entry 511 maps 0x3fe00000; bit 13 is reserved in a 2 MiB entry. */
    orq $0x2000, 0x12000 + 511 * 8
    invlpg 0x3fe00000
    movq 0x3fe00000, %rax
    jmp halt
pf_handler:
    movq (%rsp), %rdi                   /* the error code */
    HC HC_EXIT
    jmp halt
#elif defined(MINI_APCR3)
    movq $0x8f00, %rbx                  /* VMM_AP_MAILBOX_ADDR */
    movq $0x40000000, (%rbx)            /* cr3: 1 GiB, outside the 64 MiB of RAM */
    movq $halt, 8(%rbx)                 /* entry (never reached) */
    movq $stack_top, 16(%rbx)
    movl $0x1b, %ecx                    /* IA32_APIC_BASE: enable x2APIC */
    rdmsr
    orl $0xc00, %eax
    wrmsr
    movl $0x830, %ecx                   /* x2APIC ICR, destination APIC ID 1 */
    movl $1, %edx
    movl $0x4500, %eax                  /* INIT, level assert */
    wrmsr
    movl $0x4608, %eax                  /* SIPI, vector 0x08 (0x8000) */
    wrmsr
    wrmsr
    jmp halt
#elif defined(MINI_FAIL)
    movq $3, %rdi
    HC HC_EXIT
    jmp halt
#else
    xorl %edi, %edi
    xorl %esi, %esi
    HC HC_CPU_ONLINE
    EXPECT 0
    /* print: pointer far outside RAM */
    movq $-1, %rdi
    movq $16, %rsi
    HC HC_PRINT
    EXPECT EINVAL
    /* print: wraps around the address space */
    movq $0xfffffffffffffff0, %rdi
    movq $0x20, %rsi
    HC HC_PRINT
    EXPECT EINVAL
    /* print: longer than VMM_HC_MAX_LEN */
    movq $hello, %rdi
    movq $4097, %rsi
    HC HC_PRINT
    EXPECT EINVAL
    /* exception: wrong report size */
    movq $hello, %rdi
    movq $8, %rsi
    HC HC_EXCEPTION
    EXPECT EINVAL
    /* cpu_online: a CPU that does not exist */
    movq $7, %rdi
    movq $7, %rsi
    HC HC_CPU_ONLINE
    EXPECT EINVAL
    /* exit(5) written by OUTS and by REP OUTS (count 1), the word written
     * equal to eax: not hypercalls (docs/abi.md), so nothing may run and
     * rax must come back unchanged */
    movq $5, %rdi
    movl $HC_EXIT, %eax
    movq $outs_word, %rsi
    movw $HC_PORT, %dx
    outsl
    cmpq $HC_EXIT, %rax
    jne outs_ran
    movq $outs_word, %rsi
    movq $1, %rcx
    rep outsl
    cmpq $HC_EXIT, %rax
    jne outs_ran
    /* an unknown hypercall number */
    HC 99
    EXPECT ENOSYS
    /* a good print and a passed test */
    movq $msg, %rdi
    movq $msg_len, %rsi
    HC HC_PRINT
    EXPECT 0
    movq $tname, %rdi
    movq $tname_len, %rsi
    movq $1, %rcx
    HC HC_TEST_RESULT
    EXPECT 0
    xorl %edi, %edi
    HC HC_EXIT
#endif
    jmp halt
outs_ran:
    movq $5, %rax
    EXPECT 0
halt:
    cli
    hlt
    jmp halt

    .section .rodata
hello: .ascii "mini guest: hello from the UART\n"
    .set hello_len, . - hello
msg: .ascii "mini guest: hostile hypercalls refused\n"
    .set msg_len, . - msg
tname: .ascii "hostile-hypercalls"
    .set tname_len, . - tname
file: .ascii "mini_guest.S"
    .set file_len, . - file
amsg: .ascii "unexpected hypercall result"
    .set amsg_len, . - amsg
bye: .ascii "mini guest: IDT limit 0, now int3\n"
    .set bye_len, . - bye
    .balign 4
outs_word: .long HC_EXIT
    .balign 8
null_idt: .word 0
    .quad 0

#if defined(MINI_RSVD)
    .balign 8
idt_desc: .word 15 * 16 - 1
    .quad idt
#endif

    .section .bss
    .balign 16
idt: .skip 15 * 16
    .skip 4096
stack_top:
    .section .note.GNU-stack, "", @progbits
