/*
 * A tiny stand-in for a kernel, used by firmware_boot to observe exactly what
 * the firmware hands over. It runs at its physical address on the
 * firmware's identity map.
 *
 * Entry (BSP): probe (the harness snapshots all registers), then either exit
 * with status 0, or (if the harness set PROBE_DO_AP) start the AP with APIC
 * ID 1 through the firmware's trampoline using INIT-SIPI-SIPI on the xAPIC
 * (the firmware leaves the local APIC in xAPIC mode) and the AP mailbox.
 * The AP probes at its entry and sets PROBE_AP_DONE.
 *
 * Exit status: 0 ok; 3 = the AP never set mailbox.started; 4 = the AP
 * started but never reached its entry.
 */
#define PROBE_DO_AP     0x7000   /* u64 set by the harness */
#define PROBE_AP_DONE   0x7008   /* u64 set by the AP */
#define MAILBOX        0x8f00
#define PROBE_PORT     0xe0
#define AP_STACK_TOP   0x300000
#define AP_ARG         0x1122334455667788
#define LAPIC          0xfee00000
#define ICR_LO         0x300
#define ICR_HI         0x310

    .text
    .code64
    .globl _start
_start:
    outb %al, $PROBE_PORT
    cmpq $0, PROBE_DO_AP
    jne start_ap
    xorl %edi, %edi
exit:                                   /* VMM_HC_EXIT(rdi) */
    movl $2, %eax
    movw $0x500, %dx
    outl %eax, %dx
1:  cli
    hlt
    jmp 1b

start_ap:
    movq %cr3, %rax                     /* the firmware's map covers 0x8000 */
    movq %rax, MAILBOX + 0
    movq $ap_entry, %rax
    movq %rax, MAILBOX + 8
    movq $AP_STACK_TOP, MAILBOX + 16
    movabsq $AP_ARG, %rax
    movq %rax, MAILBOX + 24
    movl $LAPIC, %ebx
    movl $0x1ff, 0xf0(%rbx)             /* SVR: software-enable the APIC */
    movl $(1 << 24), ICR_HI(%rbx)
    movl $0xc500, ICR_LO(%rbx)          /* INIT, level, assert */
    call delay
    movl $(1 << 24), ICR_HI(%rbx)
    movl $0x8500, ICR_LO(%rbx)          /* INIT, level, de-assert */
    call delay
    movl $(1 << 24), ICR_HI(%rbx)
    movl $0x4608, ICR_LO(%rbx)          /* SIPI, vector 0x08 */
    call delay
    movl $(1 << 24), ICR_HI(%rbx)
    movl $0x4608, ICR_LO(%rbx)          /* second SIPI */

    movl $3, %edi
    movq $200000000, %rcx
1:  cmpl $0, MAILBOX + 32
    jne 2f
    pause
    decq %rcx
    jnz 1b
    jmp exit
2:  movl $4, %edi
    movq $200000000, %rcx
3:  cmpq $0, PROBE_AP_DONE
    jne 4f
    pause
    decq %rcx
    jnz 3b
    jmp exit
4:  xorl %edi, %edi
    jmp exit

delay:
    movl $100000, %ecx
1:  pause
    loop 1b
    ret

ap_entry:
    outb %al, $PROBE_PORT
    movq $1, PROBE_AP_DONE
1:  cli
    hlt
    jmp 1b
