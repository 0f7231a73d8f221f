/*
 * Ring 3: the user register context and the one primitive that runs it.
 *
 * The model is OSTD's UserMode::execute (ostd/src/user.rs): the kernel calls
 * user_enter(ctx), the CPU runs ring-3 code with ctx's registers, and
 * user_enter returns to its caller -- on the caller's own kernel stack --
 * as soon as the user code issues SYSCALL (USER_RETURN_SYSCALL) or raises
 * an exception (USER_RETURN_EXCEPTION). The user's registers at that moment
 * are in ctx. Interrupts taken in ring 3 (IPIs, TLB shootdowns) are handled
 * and the user code resumes without user_enter returning.
 *
 * Entry is by IRETQ, or by SYSRETQ when the context was saved by SYSCALL
 * (ctx->resume == USER_RESUME_SYSRET); see docs/guest-user.md.
 *
 * Usable from assembly (the USER_CTX_* offsets).
 */
#ifndef GUEST_USER_H
#define GUEST_USER_H

/* Offsets in struct user_context (checked by _Static_assert below). */
#define USER_CTX_RAX    0x00
#define USER_CTX_RBX    0x08
#define USER_CTX_RCX    0x10
#define USER_CTX_RDX    0x18
#define USER_CTX_RSI    0x20
#define USER_CTX_RDI    0x28
#define USER_CTX_RBP    0x30
#define USER_CTX_R8     0x38
#define USER_CTX_R9     0x40
#define USER_CTX_R10    0x48
#define USER_CTX_R11    0x50
#define USER_CTX_R12    0x58
#define USER_CTX_R13    0x60
#define USER_CTX_R14    0x68
#define USER_CTX_R15    0x70
#define USER_CTX_RIP    0x78
#define USER_CTX_RSP    0x80
#define USER_CTX_RFLAGS 0x88
#define USER_CTX_RESUME 0x90

/* How user_enter resumes a context. */
#define USER_RESUME_IRET   0
#define USER_RESUME_SYSRET 1     /* rcx and r11 are lost (they hold rip, rflags) */

/* Why user_enter returned. */
#define USER_RETURN_SYSCALL   1
#define USER_RETURN_EXCEPTION 2
#define USER_RETURN_INTERRUPT 3    /* a kick (user_kick) interrupted ring 3 */

/* The IPI vector of user_kick(). */
#define VECTOR_USER_KICK 0xf2

/* Per-CPU scratch slots used by the SYSCALL entry (struct percpu offsets). */
#define PERCPU_USER_RSP   0x18   /* the user rsp while the entry switches stacks */
#define PERCPU_KERNEL_RSP 0x20   /* the kernel rsp saved by user_enter */

/* User segment selectors (RPL 3); the GDT is in arch/x86/cpu.c. */
#define USER_CS 0x23
#define USER_SS 0x1b

/* The system calls (rax = number; rdi, rsi, rdx = arguments; rax = result,
 * a negative errno on failure; rcx and r11 are clobbered, as on Linux).
 * The numbers are Linux's, for familiarity. */
#define SYS_WRITE 1      /* write(buf, len): console; returns bytes written */
#define SYS_YIELD 24     /* yield(): let the next task run; returns 0 */
#define SYS_EXIT  60     /* exit(status): never returns */
#define USER_ENOSYS 38

/* The lowest non-user address: user space is [0, USER_VA_END), as OSTD's
 * MAX_USERSPACE_VADDR (0x8000_0000_0000 minus one guard page). */
#define USER_VA_END 0x00007ffffffff000

#ifndef __ASSEMBLER__
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct user_context {
    uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp;
    uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
    uint64_t rip, rsp, rflags;
    uint32_t resume;               /* USER_RESUME_*: set by the entry paths */
    uint32_t pad;
    /* Filled when user_enter returns USER_RETURN_EXCEPTION. */
    struct {
        uint64_t vector, error_code, cr2;
    } trap;
};

_Static_assert(offsetof(struct user_context, rax) == USER_CTX_RAX, "asm offset");
_Static_assert(offsetof(struct user_context, r11) == USER_CTX_R11, "asm offset");
_Static_assert(offsetof(struct user_context, r15) == USER_CTX_R15, "asm offset");
_Static_assert(offsetof(struct user_context, rip) == USER_CTX_RIP, "asm offset");
_Static_assert(offsetof(struct user_context, rsp) == USER_CTX_RSP, "asm offset");
_Static_assert(offsetof(struct user_context, rflags) == USER_CTX_RFLAGS, "asm offset");
_Static_assert(offsetof(struct user_context, resume) == USER_CTX_RESUME, "asm offset");

/* RFLAGS bits a user context may hold: the arithmetic flags, DF, OF; IF is
 * always forced on (so IPIs reach a CPU running user code) and IOPL, NT,
 * TF, AC, VM, VIF, VIP, ID are forced off. */
#define USER_RFLAGS_MASK  0x0cd5ull      /* CF PF AF ZF SF DF OF */
#define USER_RFLAGS_FIXED 0x0202ull      /* bit 1 (always 1), IF */

/*
 * user_context_init: a context that starts at `rip` with stack `rsp`,
 * every other register 0, resumed by IRETQ.
 */
void user_context_init(struct user_context *ctx, uint64_t rip, uint64_t rsp);

/*
 * user_run: run ctx in ring 3 until it issues SYSCALL, raises an exception
 * or is kicked (user_kick), and return which (USER_RETURN_*). A kick that
 * arrived while this CPU was not in ring 3 is consumed here: user_run then
 * returns USER_RETURN_INTERRUPT without entering (OSTD's "kernel event").
 * On return ctx holds the
 * user registers at that point; for SYSCALL, ctx->rip is the instruction
 * after it and ctx->resume == USER_RESUME_SYSRET; for an exception,
 * ctx->trap holds vector, error code and CR2, and ctx->rip the faulting
 * instruction.
 * Requires: this CPU's per-CPU area and tables are set up (the GDT user
 *   segments, syscall_cpu_init()); the space the code lives in is active on
 *   this CPU. A ctx->rip or ctx->rsp outside the canonical lower half is
 *   not entered: user_run returns USER_RETURN_EXCEPTION with vector 13
 *   (#GP) at once, as the CPU would have raised it.
 * Guarantees: the caller's interrupt flag is restored on return; RFLAGS is
 *   sanitised (USER_RFLAGS_MASK / _FIXED) before entry; SYSRETQ is used only
 *   when ctx->rip is a canonical user address (below USER_VA_END), else IRETQ;
 *   TSS.rsp0 of this CPU points below the caller's frame while ring 3 runs.
 */
int user_run(struct user_context *ctx);

/*
 * user_trap_to_kernel: called by the trap dispatcher for an exception taken
 * in ring 3: save the frame into the running context and return from
 * user_run with USER_RETURN_EXCEPTION. Never returns.
 */
struct trap_frame;
__attribute__((noreturn)) void user_trap_to_kernel(struct trap_frame *f);

/*
 * user_kick: make CPU `cpu`'s running (or next) user_run return
 * USER_RETURN_INTERRUPT, with an IPI on VECTOR_USER_KICK: the way to take a
 * CPU back from ring-3 code that never makes a system call. The user
 * context is saved whole, so the task can be resumed later.
 * Requires: cpu online (it may be the caller).
 */
void user_kick(unsigned cpu);

/* user_interrupt_pending_return: called by the trap dispatcher after an
 * interrupt taken in ring 3: if a kick is pending on this CPU, save the frame
 * and return from user_run with USER_RETURN_INTERRUPT (no return); else
 * return and let the interrupted user code resume. */
void user_interrupt_pending_return(struct trap_frame *f);

/* syscall_cpu_init: EFER.SCE, STAR, LSTAR, FMASK on this CPU, and the
 * user_kick interrupt handler. */
void syscall_cpu_init(void);

/* Low-level pieces in arch/x86/usermode.S. */
int user_enter(struct user_context *ctx, uint64_t *rsp0_slot);
__attribute__((noreturn)) void user_return_to_kernel(int reason);
extern char syscall_entry[];
#endif /* __ASSEMBLER__ */

#endif /* GUEST_USER_H */
