/*
 * Trap entry: 256 stubs, 16 bytes apart (IDT entry v -> trap_stubs + 16*v).
 * Each pushes a dummy error code where the CPU pushes none, then the
 * vector, and jumps to trap_common, which saves the general registers in
 * struct trap_frame order (include/guest/trap.h) and calls trap_dispatch.
 * Every gate uses an IST stack (see arch/x86/trap.c), so the frame is never
 * on top of an interrupted function's red zone.
 *
 * Also the 64-bit entry of application processors (ap_entry64).
 */

    .text
    .balign 16
    .globl trap_stubs
trap_stubs:
    vector = 0
    .rept 256
    .balign 16
    /* Exceptions with a CPU-pushed error code: 8, 10-14, 17, 21, 29, 30. */
    .if (vector == 8) || ((vector >= 10) && (vector <= 14)) || (vector == 17) || (vector == 21) || (vector == 29) || (vector == 30)
    .else
    pushq $0
    .endif
    pushq $vector
    jmp trap_common
    vector = vector + 1
    .endr

/*
 * From ring 3 (the saved CS has RPL 3) the GS base is the user's: SWAPGS
 * on the way in and again on the way out, so C code always runs with the
 * kernel's per-CPU GS base. An exception from ring 3 never comes back
 * here: trap_dispatch hands it to user_trap_to_kernel.
 */
trap_common:
    testb $3, 24(%rsp)                  /* CS, above vector and error code */
    jz 1f
    swapgs
1:
    pushq %rax
    pushq %rbx
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %rbp
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    cld
    movq %rsp, %rdi                     /* 16-byte aligned here */
    call trap_dispatch
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rbp
    popq %rdi
    popq %rsi
    popq %rdx
    popq %rcx
    popq %rbx
    popq %rax
    testb $3, 24(%rsp)
    jz 2f
    swapgs
2:
    addq $16, %rsp                      /* vector, error code */
    iretq

/*
 * AP entry from the firmware trampoline: rdi = struct percpu *, rsp = the
 * AP's kernel stack (16-byte aligned), interrupts off. The call makes the
 * stack alignment right for C.
 */
    .globl ap_entry64
ap_entry64:
    xorl %ebp, %ebp
    call ap_main
1:  cli
    hlt
    jmp 1b
