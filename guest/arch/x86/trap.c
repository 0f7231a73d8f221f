/*
 * The IDT and trap dispatch (include/guest/trap.h).
 *
 * Every gate is an interrupt gate (IF cleared on entry). Exceptions use IST
 * stacks: IST1 for most, NMI on IST2, #DF on IST3, #MC on IST4. An exception
 * inside an exception handler reuses IST1 from its top and overwrites the
 * first frame; the kernel only reports and stops in that case, so nothing
 * needs the first frame afterwards.
 *
 * Interrupts (vectors >= 32) run on the interrupted stack (the CPU's kernel
 * stack, or TSS.RSP0 from ring 3), not on an IST: an IST restarts at its
 * top, so a second delivery before the first handler returns overwrites the
 * first frame for good. Real CPUs never deliver a maskable interrupt with
 * IF = 0, but the nested-SVM sandbox (docs/sandbox.md) was seen to, about
 * once in ten 4-CPU runs of the VmSpace workload (docs/guest-mm.md); on the
 * interrupted stack such a delivery just nests. This is safe for the red
 * zone: the only code built with one (libfdt) runs at boot with interrupts
 * off. IST5 stays allocated but unused.
 */
#include "guest/trap.h"

#include "guest/apic.h"
#include "guest/arch.h"
#include "guest/cpu.h"
#include "guest/hypercall.h"
#include "guest/percpu.h"
#include "guest/printf.h"
#include "guest/spinlock.h"

struct idt_gate {
    uint16_t offset_lo;
    uint16_t selector;
    uint8_t ist;
    uint8_t type_attr;
    uint16_t offset_mid;
    uint32_t offset_hi;
    uint32_t reserved;
} __attribute__((packed));

static struct idt_gate idt[256] __attribute__((aligned(16)));
static irq_handler_t irq_handlers[256];
static exc_handler_t exc_handlers[32];

static unsigned ist_for(unsigned v)
{
    switch (v) {
    case 2: return IST_NMI;
    case 8: return IST_DF;
    case 18: return IST_MC;
    default: return v < 32 ? IST_EXC : 0;   /* 0: no IST, see above */
    }
}

void idt_init(void)
{
    for (unsigned v = 0; v < 256; v++) {
        uint64_t addr = (uint64_t)(uintptr_t)(trap_stubs + 16 * v);
        idt[v] = (struct idt_gate){
            .offset_lo = (uint16_t)addr,
            .selector = SEL_KCODE,
            .ist = (uint8_t)ist_for(v),
            .type_attr = 0x8e,                /* present, DPL 0, interrupt gate */
            .offset_mid = (uint16_t)(addr >> 16),
            .offset_hi = (uint32_t)(addr >> 32),
        };
    }
}

void idt_load(void)
{
    struct {
        uint16_t limit;
        uint64_t base;
    } __attribute__((packed)) idtr = { sizeof(idt) - 1, (uint64_t)(uintptr_t)idt };
    __asm__ volatile("lidt %0" : : "m"(idtr));
}

void irq_register(unsigned v, irq_handler_t h)
{
    if (v >= 32 && v < 255)
        irq_handlers[v] = h;
}

void exc_register(unsigned v, exc_handler_t h)
{
    if (v < 32)
        exc_handlers[v] = h;
}

/* Used when the faulting CPU has no per-CPU area yet (GS base still 0, early
 * in kmain or ap_main); such a report says cpu = UINT32_MAX. */
static struct vmm_exception_report early_report;
static spinlock_t early_lock = SPINLOCK_INIT;

/* Fills this CPU's report from the frame and hands it to the VMM. */
__attribute__((noreturn)) static void report_exception(struct trap_frame *f)
{
    struct percpu *p = rdmsr(MSR_GS_BASE) ? this_cpu() : NULL;
    struct vmm_exception_report *r = p ? &p->exc_report : &early_report;
    if (!p)
        spin_lock(&early_lock);               /* never released: we stop */
    *r = (struct vmm_exception_report){
        .vector = f->vector, .error_code = f->error_code,
        .rip = f->rip, .cs = f->cs, .rflags = f->rflags, .rsp = f->rsp, .ss = f->ss,
        .cr2 = read_cr2(), .cr3 = read_cr3(),
        .rax = f->rax, .rbx = f->rbx, .rcx = f->rcx, .rdx = f->rdx,
        .rsi = f->rsi, .rdi = f->rdi, .rbp = f->rbp,
        .r8 = f->r8, .r9 = f->r9, .r10 = f->r10, .r11 = f->r11,
        .r12 = f->r12, .r13 = f->r13, .r14 = f->r14, .r15 = f->r15,
        .cpu = p ? p->index : UINT32_MAX,
    };
    hc_exception(r);
    /* The VMM stops every vCPU on an exception report; reaching this line
     * means it refused the report, so end the run the only other way. */
    hc_exit(0xe0 + (f->vector & 0x1f));
}

void trap_dispatch(struct trap_frame *f)
{
    unsigned v = (unsigned)f->vector;
    if (v < 32) {
        if (exc_handlers[v] && exc_handlers[v](f))
            return;
        report_exception(f);
    }
    if (v == VECTOR_SPURIOUS)
        return;                               /* no EOI for spurious */
    if (irq_handlers[v])
        irq_handlers[v](f);
    else
        kprintf("guest: cpu %u: unexpected interrupt vector %u\n", this_cpu()->index, v);
    apic_eoi();
}
