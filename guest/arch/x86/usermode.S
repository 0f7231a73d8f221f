/*
 * Ring-3 entry and exit (include/guest/user.h).
 *
 * user_enter(ctx, rsp0_slot) saves the caller's callee-saved registers and
 * RFLAGS on its own kernel stack, records that stack pointer in the per-CPU
 * slot PERCPU_KERNEL_RSP (and in TSS.rsp0, so that a gate without an IST
 * stack would land below this frame), then enters ring 3 with ctx's
 * registers by IRETQ or SYSRETQ. Nothing returns to user_enter's body:
 * the way back is user_resume_kernel, reached from the SYSCALL entry
 * (syscall_entry) or from the trap dispatcher (user_return_to_kernel),
 * which reload PERCPU_KERNEL_RSP, pop the saved frame and return from
 * user_enter with the reason in eax. This is OSTD's UserMode::execute:
 * the kernel handles syscalls and user exceptions in ordinary kernel
 * context, on the stack of the code that entered user mode.
 *
 * GS: the kernel's GS base (its struct percpu) is live in ring 0 and the
 * user's in ring 3; every path between the two executes SWAPGS exactly
 * once (trap_common in entry.S checks the interrupted CS).
 */
#include "guest/user.h"

    .text

/* int user_enter(struct user_context *ctx, uint64_t *rsp0_slot) */
    .globl user_enter
user_enter:
    pushfq
    cli
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    pushq %rdi                          /* ctx: found again by the exits */
    movq %rsp, %gs:PERCPU_KERNEL_RSP
    movq %rsp, (%rsi)                   /* TSS.rsp0 */
    cmpl $USER_RESUME_SYSRET, USER_CTX_RESUME(%rdi)
    je 1f

    pushq $USER_SS
    pushq USER_CTX_RSP(%rdi)
    pushq USER_CTX_RFLAGS(%rdi)
    pushq $USER_CS
    pushq USER_CTX_RIP(%rdi)
    movq USER_CTX_RCX(%rdi), %rcx
    movq USER_CTX_R11(%rdi), %r11
    call load_common_regs
    movq USER_CTX_RDI(%rdi), %rdi
    swapgs
    iretq

1:  /* SYSRETQ: rip from rcx, rflags from r11, CS/SS from STAR[63:48]. */
    call load_common_regs
    movq USER_CTX_RIP(%rdi), %rcx
    movq USER_CTX_RFLAGS(%rdi), %r11
    movq USER_CTX_RSP(%rdi), %rsp
    movq USER_CTX_RDI(%rdi), %rdi
    swapgs
    sysretq

/* Every GPR but rcx, r11, rdi and rsp, from the context in rdi. */
load_common_regs:
    movq USER_CTX_RAX(%rdi), %rax
    movq USER_CTX_RBX(%rdi), %rbx
    movq USER_CTX_RDX(%rdi), %rdx
    movq USER_CTX_RSI(%rdi), %rsi
    movq USER_CTX_RBP(%rdi), %rbp
    movq USER_CTX_R8(%rdi), %r8
    movq USER_CTX_R9(%rdi), %r9
    movq USER_CTX_R10(%rdi), %r10
    movq USER_CTX_R12(%rdi), %r12
    movq USER_CTX_R13(%rdi), %r13
    movq USER_CTX_R14(%rdi), %r14
    movq USER_CTX_R15(%rdi), %r15
    ret

/*
 * SYSCALL from ring 3: rcx = user rip, r11 = user rflags, IF/DF/TF/AC
 * already cleared by IA32_FMASK, rsp still the user's. Save everything
 * into the running context and return from user_enter.
 */
    .globl syscall_entry
syscall_entry:
    swapgs
    movq %rsp, %gs:PERCPU_USER_RSP
    movq %gs:PERCPU_KERNEL_RSP, %rsp
    pushq %rdi
    movq 8(%rsp), %rdi                  /* ctx */
    movq %rax, USER_CTX_RAX(%rdi)
    movq %rbx, USER_CTX_RBX(%rdi)
    movq %rcx, USER_CTX_RCX(%rdi)
    movq %rdx, USER_CTX_RDX(%rdi)
    movq %rsi, USER_CTX_RSI(%rdi)
    movq %rbp, USER_CTX_RBP(%rdi)
    movq %r8, USER_CTX_R8(%rdi)
    movq %r9, USER_CTX_R9(%rdi)
    movq %r10, USER_CTX_R10(%rdi)
    movq %r11, USER_CTX_R11(%rdi)
    movq %r12, USER_CTX_R12(%rdi)
    movq %r13, USER_CTX_R13(%rdi)
    movq %r14, USER_CTX_R14(%rdi)
    movq %r15, USER_CTX_R15(%rdi)
    movq %rcx, USER_CTX_RIP(%rdi)
    movq %r11, USER_CTX_RFLAGS(%rdi)
    popq USER_CTX_RDI(%rdi)
    movq %gs:PERCPU_USER_RSP, %rax
    movq %rax, USER_CTX_RSP(%rdi)
    movl $USER_RESUME_SYSRET, USER_CTX_RESUME(%rdi)
    movl $USER_RETURN_SYSCALL, %eax
    jmp user_resume_kernel

/* void user_return_to_kernel(int reason): abandon the current (trap) stack. */
    .globl user_return_to_kernel
user_return_to_kernel:
    movl %edi, %eax
    movq %gs:PERCPU_KERNEL_RSP, %rsp

/* rsp = the frame user_enter pushed; eax = the reason. */
user_resume_kernel:
    addq $8, %rsp                       /* ctx */
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    popfq
    ret
