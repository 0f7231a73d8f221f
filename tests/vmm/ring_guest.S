/*
 * A tiny guest that writes the trace ring itself, for the end-to-end tests
 * of live validation (tests/vmm/CMakeLists.txt, vmm_live_ring_*): the VMM
 * must accept a well-formed stream and stop a corrupt one with exit 7,
 * never hang. One source, one behaviour per build:
 *   RING_OK       attach, 3 records (seq 0..2), checkpoint(3): 0, exit(0)
 *   RING_GAP      attach, records seq 0 and 2, checkpoint(3): the host finds
 *                 seq 1 missing although every CPU is stopped, exit 7
 *   RING_GARBAGE  attach, one record of an unknown type, then spin forever:
 *                 the drain thread must stop the run (exit 7, no timeout)
 *   RING_NOATTACH exit(0) without attaching: "not validated"
 * It runs with --cpus 1 --mem 16M, where the VMM places its one ring of
 * 16384 records at 0xf3f000 (vmm/trace_ring.c: the largest power of two
 * whose ring fits in RAM/16); a real guest reads /vmm/tlb-trace instead.
 */
#define HC_PORT 0x500
#define HC_EXIT 2
#define HC_CPU_ONLINE 6
#define HC_TRACE_ATTACH 7
#define HC_CHECKPOINT 8
#define RING 0xf3f000
#define HEAD (RING + 64)
#define RECS (RING + 4096)
#define EV_FRAME_REF 10

.macro HC nr
    movl $\nr, %eax
    movw $HC_PORT, %dx
    outl %eax, %dx
.endm

/* record in slot \slot: FRAME_REF of cpu 0 with seq \seq and type \type */
.macro REC slot, seq, type
    movq $\seq, RECS + 48 * \slot
    movabsq $(\type << 32), %rax
    movq %rax, RECS + 48 * \slot + 8
    movq $0, RECS + 48 * \slot + 16
    movq $0x1000, RECS + 48 * \slot + 24
    movq $1, RECS + 48 * \slot + 32
    movq $2, RECS + 48 * \slot + 40
.endm

/* publish: head = \n (a release store: x86 stores are ordered) */
.macro PUBLISH n
    movq $\n, HEAD
.endm

    .section .text.boot, "ax"
    .code64
    .globl _start
_start:
    movq $stack_top, %rsp
    xorl %edi, %edi
    xorl %esi, %esi
    HC HC_CPU_ONLINE
#if !defined(RING_NOATTACH)
    movq $1, %rdi                 /* one ring */
    xorl %esi, %esi
    HC HC_TRACE_ATTACH
    testq %rax, %rax
    jnz fail
#endif
#if defined(RING_OK)
    REC 0, 0, EV_FRAME_REF
    REC 1, 1, EV_FRAME_REF
    REC 2, 2, EV_FRAME_REF
    PUBLISH 3
    movq $3, %rdi
    movq $1, %rsi
    HC HC_CHECKPOINT
    testq %rax, %rax
    jnz fail
#elif defined(RING_GAP)
    REC 0, 0, EV_FRAME_REF
    REC 1, 2, EV_FRAME_REF
    PUBLISH 2
    movq $3, %rdi
    movq $1, %rsi
    HC HC_CHECKPOINT
    jmp fail                      /* a failed checkpoint does not return */
#elif defined(RING_GARBAGE)
    REC 0, 0, 0x7f
    PUBLISH 1
spin:
    pause
    jmp spin
#endif
    xorl %edi, %edi
    HC HC_EXIT
    jmp halt
fail:
    movq $9, %rdi
    HC HC_EXIT
halt:
    cli
    hlt
    jmp halt

    .section .bss
    .balign 16
    .skip 4096
stack_top:
    .section .note.GNU-stack, "", @progbits
