/*
 * Ring 3 on x86-64 (include/guest/user.h): the SYSCALL MSRs, and the C side
 * of entering and leaving user mode (the register switch itself is in
 * arch/x86/usermode.S).
 */
#include "guest/user.h"

#include "guest/apic.h"
#include "guest/arch.h"
#include "guest/cpu.h"
#include "guest/percpu.h"
#include "guest/string.h"
#include "guest/trap.h"

#define MSR_STAR   0xc0000081
#define MSR_LSTAR  0xc0000082
#define MSR_FMASK  0xc0000084
#define EFER_SCE   (1ull << 0)

/* Cleared in RFLAGS on SYSCALL: TF, IF, DF, IOPL, NT, AC (as Linux). */
#define SYSCALL_FMASK 0x47700ull

_Static_assert(USER_CS == SEL_UCODE && USER_SS == SEL_UDATA, "user selectors match the GDT");
/* SYSRETQ loads CS = STAR[63:48] + 16 and SS = STAR[63:48] + 8 (RPL 3);
 * SYSCALL loads CS = STAR[47:32] and SS = STAR[47:32] + 8. */
_Static_assert((SEL_UCODE & ~3) == (SEL_UDATA & ~3) + 8 && SEL_KDATA == SEL_KCODE + 8,
               "the GDT order SYSCALL/SYSRET require");
_Static_assert(offsetof(struct percpu, user_rsp) == PERCPU_USER_RSP, "asm offset");
_Static_assert(offsetof(struct percpu, kernel_rsp) == PERCPU_KERNEL_RSP, "asm offset");

/* Set by user_kick's IPI (or by a CPU kicking itself), consumed by the
 * ring-3 interrupt exit or by the next user_run. */
static volatile bool kick_pending[MAX_CPUS];

static void kick_handler(struct trap_frame *f)
{
    (void)f;
    __atomic_store_n(&kick_pending[this_cpu()->index], true, __ATOMIC_RELEASE);
}

void user_kick(unsigned cpu)
{
    if (cpu == this_cpu()->index)
        __atomic_store_n(&kick_pending[cpu], true, __ATOMIC_RELEASE);
    else
        apic_send_ipi(percpu_areas[cpu].apic_id, VECTOR_USER_KICK);
}

void syscall_cpu_init(void)
{
    irq_register(VECTOR_USER_KICK, kick_handler);   /* same handler on every CPU */
    uint64_t sysret_base = (SEL_UDATA & ~3ull) - 8;
    wrmsr(MSR_STAR, ((sysret_base | 3) << 48) | ((uint64_t)SEL_KCODE << 32));
    wrmsr(MSR_LSTAR, (uint64_t)(uintptr_t)syscall_entry);
    wrmsr(MSR_FMASK, SYSCALL_FMASK);
    wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE);
}

void user_context_init(struct user_context *ctx, uint64_t rip, uint64_t rsp)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->rip = rip;
    ctx->rsp = rsp;
    ctx->rflags = USER_RFLAGS_FIXED;
    ctx->resume = USER_RESUME_IRET;
}

/* Lower-half canonical (4-level paging): bits 63..47 clear. */
static bool lower_canonical(uint64_t a)
{
    return a < 0x0000800000000000ull;
}

int user_run(struct user_context *ctx)
{
    struct percpu *p = this_cpu();
    /* An IRETQ to a non-canonical RIP or RSP would fault in ring 0, on the
     * kernel's IRETQ, where it would look like a kernel bug (user code can
     * get there, e.g. with a SYSCALL in the last bytes of the lower half).
     * Deliver it as what it is: the task's #GP, without entering ring 3. */
    if (!lower_canonical(ctx->rip) || !lower_canonical(ctx->rsp)) {
        ctx->resume = USER_RESUME_IRET;
        ctx->trap.vector = 13;
        ctx->trap.error_code = 0;
        ctx->trap.cr2 = 0;
        return USER_RETURN_EXCEPTION;
    }
    ctx->rflags = (ctx->rflags & USER_RFLAGS_MASK) | USER_RFLAGS_FIXED;
    /* A kick checked with interrupts off: one arriving later stays pending
     * in the local APIC until ring 3 enables interrupts, then takes the
     * CPU straight back (user_interrupt_pending_return). */
    uint64_t flags = irq_save();
    if (__atomic_exchange_n(&kick_pending[p->index], false, __ATOMIC_ACQUIRE)) {
        irq_restore(flags);
        return USER_RETURN_INTERRUPT;
    }
    /* SYSRETQ with a non-canonical rcx faults in ring 0 on the user stack
     * (Intel); only a rip below USER_VA_END may take that path. */
    if (ctx->resume == USER_RESUME_SYSRET && ctx->rip >= USER_VA_END)
        ctx->resume = USER_RESUME_IRET;
    /* TSS is packed: take rsp0's address without a misaligned member pointer. */
    uint64_t *rsp0 = (uint64_t *)(void *)((char *)&p->tss + offsetof(struct tss64, rsp));
    int reason = user_enter(ctx, rsp0);
    p->tss.rsp[0] = p->kstack_top;
    irq_restore(flags);
    /* Ring 3 may have loaded FS with a selector, which replaces the FS base
     * that libfdt's canary reads need. */
    if (rdmsr(MSR_FS_BASE) != (uint64_t)(uintptr_t)p)
        wrmsr(MSR_FS_BASE, (uint64_t)(uintptr_t)p);
    return reason;
}

/* The running context (user_enter left its pointer at the saved frame). */
static struct user_context *save_frame(const struct trap_frame *f)
{
    struct user_context *ctx = *(struct user_context **)(uintptr_t)this_cpu()->kernel_rsp;
    ctx->rax = f->rax; ctx->rbx = f->rbx; ctx->rcx = f->rcx; ctx->rdx = f->rdx;
    ctx->rsi = f->rsi; ctx->rdi = f->rdi; ctx->rbp = f->rbp;
    ctx->r8 = f->r8; ctx->r9 = f->r9; ctx->r10 = f->r10; ctx->r11 = f->r11;
    ctx->r12 = f->r12; ctx->r13 = f->r13; ctx->r14 = f->r14; ctx->r15 = f->r15;
    ctx->rip = f->rip;
    ctx->rsp = f->rsp;
    ctx->rflags = f->rflags;
    ctx->resume = USER_RESUME_IRET;
    ctx->trap.vector = f->vector;
    ctx->trap.error_code = f->error_code;
    ctx->trap.cr2 = f->vector == 14 ? read_cr2() : 0;
    return ctx;
}

void user_trap_to_kernel(struct trap_frame *f)
{
    save_frame(f);
    user_return_to_kernel(USER_RETURN_EXCEPTION);
}

void user_interrupt_pending_return(struct trap_frame *f)
{
    if (!__atomic_exchange_n(&kick_pending[this_cpu()->index], false, __ATOMIC_ACQUIRE))
        return;
    save_frame(f);
    user_return_to_kernel(USER_RETURN_INTERRUPT);
}
