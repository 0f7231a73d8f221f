/*
 * Scenarios that end the run abnormally, on purpose, so the VMM's handling
 * of each can be tested: triple-fault, page-fault, hang.
 */
#include "guest/arch.h"
#include "guest/printf.h"
#include "guest/scenario.h"

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

int scenario_hang(void)
{
    kprintf("hang: spinning forever with interrupts off\n");
    irq_disable();
    for (;;)
        cpu_relax();
}
