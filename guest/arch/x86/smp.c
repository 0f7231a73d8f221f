/*
 * SMP start-up and cross-CPU calls (include/guest/smp.h).
 *
 * Start-up of one AP (SDM Vol. 3, 8.4.4.1, as Linux does it): allocate its
 * stacks, fill the firmware's mailbox (cr3, entry, stack, arg = its struct
 * percpu), INIT assert, 10 ms, INIT de-assert, SIPI, 200 us, SIPI, 200 us,
 * then wait (bounded) for mailbox.started and for the AP to come online.
 * One AP at a time, because there is one mailbox.
 */
#include "guest/smp.h"

#include "guest/apic.h"
#include "guest/arch.h"
#include "guest/assert.h"
#include "guest/bootinfo.h"
#include "guest/cpu.h"
#include "guest/frame_alloc.h"
#include "guest/hypercall.h"
#include "guest/mm.h"
#include "guest/paging.h"
#include "guest/percpu.h"
#include "guest/printf.h"
#include "guest/trap.h"
#include "guest/tsc.h"
#include "abi/vmm.h"

extern char ap_entry64[];                   /* arch/x86/entry.S */

static volatile unsigned online_count = 1;  /* the BSP */

unsigned smp_cpu_count(void)
{
    return bootinfo.ncpus;
}

unsigned smp_online_count(void)
{
    return online_count;
}

void cpu_report_online(void)
{
    struct percpu *p = this_cpu();
    kprintf("cpu %u (apic %u) online\n", p->index, p->apic_id);
    hc_cpu_online(p->index, p->apic_id);
}

static void wake_handler(struct trap_frame *f)
{
    (void)f;                                /* waking from HLT is the point */
}

/* The idle loop of an AP: run smp_call() work, otherwise sleep. */
__attribute__((noreturn)) static void ap_idle(struct percpu *p)
{
    for (;;) {
        irq_disable();
        void (*fn)(void *) = p->call_fn;
        if (fn) {
            fn(p->call_arg);
            __atomic_store_n(&p->call_fn, NULL, __ATOMIC_RELEASE);
        } else {
            irq_enable_and_halt();
        }
    }
}

/* C entry of an AP (from ap_entry64), on its own kernel stack. */
__attribute__((noreturn)) void ap_main(struct percpu *p);
void ap_main(struct percpu *p)
{
    struct ist_stacks ist;
    uint64_t base = p->kstack_top;           /* IST stacks follow the kstack */
    ist.top[IST_EXC - 1] = base + IST_EXC_SIZE;
    ist.top[IST_NMI - 1] = ist.top[IST_EXC - 1] + IST_NMI_SIZE;
    ist.top[IST_DF - 1] = ist.top[IST_NMI - 1] + IST_DF_SIZE;
    ist.top[IST_MC - 1] = ist.top[IST_DF - 1] + IST_MC_SIZE;
    ist.top[IST_IRQ - 1] = ist.top[IST_MC - 1] + IST_IRQ_SIZE;
    cpu_tables_init(p, &ist);
    percpu_init(p);
    if (!apic_init())
        PANIC("cpu %u: no x2APIC", p->index);
    if (apic_id() != p->apic_id)
        PANIC("cpu %u: x2APIC ID %u, but the FDT says %u", p->index, apic_id(), p->apic_id);
    mm_cpu_switch();                         /* leave the boot page tables */
    __atomic_fetch_add(&online_count, 1, __ATOMIC_SEQ_CST);
    __atomic_store_n(&p->online, 1, __ATOMIC_RELEASE);
    cpu_report_online();
    ap_idle(p);
}

#define AP_STACKS_SIZE (KSTACK_SIZE + IST_EXC_SIZE + IST_NMI_SIZE + IST_DF_SIZE + \
                        IST_MC_SIZE + IST_IRQ_SIZE)

/* Waits until *flag != 0 or the deadline; returns whether it was set. */
static bool wait_flag(volatile uint32_t *flag, uint64_t deadline)
{
    while (!__atomic_load_n(flag, __ATOMIC_ACQUIRE)) {
        if (tsc_passed(deadline))
            return false;
        cpu_relax();
    }
    return true;
}

static bool boot_one_ap(unsigned index)
{
    struct percpu *p = &percpu_areas[index];
    uint32_t apic = bootinfo.cpus[index].apic_id;
    uint64_t stacks = frames_alloc(AP_STACKS_SIZE / PAGE_SIZE);
    if (stacks == FRAME_NONE) {
        kprintf("guest: smp: no memory for cpu %u's stacks (%u KiB)\n", index,
                AP_STACKS_SIZE / 1024);
        return false;
    }
    p->index = index;
    p->apic_id = apic;
    p->online = 0;
    p->kstack_top = (uint64_t)(uintptr_t)phys_to_virt(stacks) + KSTACK_SIZE;

    volatile struct vmm_ap_mailbox *mb = phys_to_virt(VMM_AP_MAILBOX_ADDR);
    mb->cr3 = kernel_cr3();
    mb->entry = (uint64_t)(uintptr_t)ap_entry64;
    mb->stack_top = p->kstack_top;
    mb->arg = (uint64_t)(uintptr_t)p;
    __atomic_store_n(&mb->started, 0, __ATOMIC_RELEASE);

    apic_send_init(apic);
    udelay(10000);
    apic_send_init_deassert(apic);
    apic_send_sipi(apic, VMM_AP_SIPI_VECTOR);
    udelay(200);
    apic_send_sipi(apic, VMM_AP_SIPI_VECTOR);   /* ignored if already started */
    udelay(200);

    uint64_t deadline = tsc_deadline_us(SMP_AP_START_TIMEOUT_US);
    if (!wait_flag(&mb->started, deadline)) {
        kprintf("guest: smp: cpu %u (apic %u) did not start: mailbox.started still 0 "
                "after INIT-SIPI-SIPI and %u ms\n", index, apic,
                SMP_AP_START_TIMEOUT_US / 1000);
        return false;
    }
    if (!wait_flag(&p->online, deadline)) {
        kprintf("guest: smp: cpu %u (apic %u) started but did not come online within "
                "%u ms\n", index, apic, SMP_AP_START_TIMEOUT_US / 1000);
        return false;
    }
    return true;
}

bool smp_boot_aps(void)
{
    irq_register(VECTOR_WAKE, wake_handler);
    for (unsigned i = 1; i < bootinfo.ncpus; i++)
        if (!boot_one_ap(i))
            return false;
    return true;
}

void smp_call(unsigned index, void (*fn)(void *), void *arg)
{
    struct percpu *p = &percpu_areas[index];
    ASSERT(index < bootinfo.ncpus && p->online && p != this_cpu() && !p->call_fn);
    p->call_arg = arg;
    __atomic_store_n(&p->call_fn, fn, __ATOMIC_RELEASE);
    apic_send_ipi(p->apic_id, VECTOR_WAKE);
}

bool smp_call_wait(unsigned index, uint64_t timeout_us)
{
    struct percpu *p = &percpu_areas[index];
    uint64_t deadline = tsc_deadline_us(timeout_us);
    while (__atomic_load_n(&p->call_fn, __ATOMIC_ACQUIRE)) {
        if (tsc_passed(deadline))
            return false;
        cpu_relax();
    }
    return true;
}
