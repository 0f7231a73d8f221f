/*
 * Scenarios that end the run abnormally, on purpose, so the VMM's handling
 * of each can be tested: triple-fault, page-fault, ap-page-fault, hang.
 */
#include "guest/arch.h"
#include "guest/percpu.h"
#include "guest/printf.h"
#include "guest/scenario.h"
#include "guest/smp.h"

#define UNMAPPED_ADDR 0xdead0000ull   /* lower half: unmapped after paging_init */

int scenario_triple_fault(void)
{
    kprintf("triple-fault: loading an empty IDT and raising #UD\n");
    struct {
        uint16_t limit;
        uint64_t base;
    } __attribute__((packed)) empty = { 0, 0 };
    /* #UD cannot be delivered (no IDT) -> #GP -> #DF -> triple fault: the
     * CPU shuts down and the VMM sees KVM_EXIT_SHUTDOWN. */
    __asm__ volatile("lidt %0\n\tud2" : : "m"(empty));
    return 1;                          /* not reached */
}

int scenario_page_fault(void)
{
    kprintf("page-fault: reading unmapped address %#llx\n", UNMAPPED_ADDR);
    volatile uint64_t *p = (volatile uint64_t *)(uintptr_t)UNMAPPED_ADDR;
    uint64_t v = *p;                   /* #PF, reported via VMM_HC_EXCEPTION */
    kprintf("page-fault: FAIL: read %#llx without a fault\n", (unsigned long long)v);
    return 1;
}

/* Runs on an AP through smp_call(): the same #PF, but on another CPU's IST
 * stack and per-CPU report. */
static void touch_unmapped(void *addr)
{
    volatile uint64_t *p = addr;
    uint64_t v = *p;
    kprintf("ap-page-fault: FAIL: cpu %u read %#llx without a fault\n", this_cpu()->index,
            (unsigned long long)v);
}

int scenario_ap_page_fault(void)
{
    unsigned last = smp_cpu_count() - 1;
    if (last == 0) {
        kprintf("ap-page-fault: needs at least 2 cpus\n");
        return 1;
    }
    kprintf("ap-page-fault: cpu %u reads unmapped address %#llx\n", last,
            UNMAPPED_ADDR + 0x1000);
    smp_call(last, touch_unmapped, (void *)(uintptr_t)(UNMAPPED_ADDR + 0x1000));
    smp_call_wait(last, 5000000);        /* the VMM stops us first */
    kprintf("ap-page-fault: FAIL: no exception reported\n");
    return 1;
}

int scenario_hang(void)
{
    kprintf("hang: spinning forever with interrupts off\n");
    irq_disable();
    for (;;)
        cpu_relax();
}
