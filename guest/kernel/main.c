/*
 * kmain: the BSP's C entry, called by arch/x86/boot.S on the kernel page
 * table and the boot stack with the FDT's physical address.
 *
 * Order matters: the IDT, GDT/TSS (IST stacks) and the per-CPU area (FS
 * base for libfdt's canary) come first so that any fault is reported and
 * libfdt can run; then the FDT, the x2APIC, the frame allocator, memory
 * management (frame metadata, trace rings, the kernel page table the BSP
 * switches to), and the scenario (booting the APs first if it needs them;
 * each AP switches to the kernel page table as it comes up, after which the
 * boot page tables are retired).
 */
#include "guest/apic.h"
#include "guest/arch.h"
#include "guest/assert.h"
#include "guest/bootinfo.h"
#include "guest/console.h"
#include "guest/cpu.h"
#include "guest/frame_alloc.h"
#include "guest/hypercall.h"
#include "guest/mm.h"
#include "guest/paging.h"
#include "guest/percpu.h"
#include "guest/printf.h"
#include "guest/scenario.h"
#include "guest/smp.h"
#include "guest/string.h"
#include "guest/trap.h"
#include "guest/tsc.h"

struct boot_entry_state boot_entry_state;

extern char boot_stack_top[];

/* The BSP's IST stacks (the APs' come from the frame allocator). */
static uint8_t bsp_ist_exc[IST_EXC_SIZE] __attribute__((aligned(16)));
static uint8_t bsp_ist_nmi[IST_NMI_SIZE] __attribute__((aligned(16)));
static uint8_t bsp_ist_df[IST_DF_SIZE] __attribute__((aligned(16)));
static uint8_t bsp_ist_mc[IST_MC_SIZE] __attribute__((aligned(16)));
static uint8_t bsp_ist_irq[IST_IRQ_SIZE] __attribute__((aligned(16)));

static void bsp_cpu_init(void)
{
    struct percpu *p = &percpu_areas[0];
    struct ist_stacks ist = { {
        (uint64_t)(uintptr_t)(bsp_ist_exc + sizeof(bsp_ist_exc)),
        (uint64_t)(uintptr_t)(bsp_ist_nmi + sizeof(bsp_ist_nmi)),
        (uint64_t)(uintptr_t)(bsp_ist_df + sizeof(bsp_ist_df)),
        (uint64_t)(uintptr_t)(bsp_ist_mc + sizeof(bsp_ist_mc)),
        (uint64_t)(uintptr_t)(bsp_ist_irq + sizeof(bsp_ist_irq)),
    } };
    p->index = 0;
    p->kstack_top = (uint64_t)(uintptr_t)boot_stack_top;
    idt_init();
    cpu_tables_init(p, &ist);
    percpu_init(p);
}

/* Usable RAM = FDT memory - reserved - low 1 MiB - the kernel image. */
static void frames_init(void)
{
    static struct memmap usable;
    usable = bootinfo.ram;
    bool ok = true;
    for (unsigned i = 0; i < bootinfo.reserved.count; i++)
        ok = ok && memmap_remove(&usable, bootinfo.reserved.r[i].start,
                                 bootinfo.reserved.r[i].end);
    /* Firmware scratch, trampoline, FDT and handoff live below 1 MiB; the
     * VMM lists them as reserved, but the kernel does not depend on that. */
    ok = ok && memmap_remove(&usable, 0, VMM_KERNEL_MIN_ADDR);
    ok = ok && memmap_remove(&usable, (uint64_t)(uintptr_t)__kernel_phys_start,
                             (uint64_t)(uintptr_t)__kernel_phys_end);
    ok = ok && memmap_remove(&usable, LINEAR_MAP_SIZE, UINT64_MAX);
    if (!ok)
        PANIC("memory map too fragmented (more than %d ranges)", MEMMAP_MAX);
    frame_alloc_init(&usable);
    if (frame_free_count() == 0)
        PANIC("no usable RAM left for the frame allocator");
}

static const struct scenario *select_scenario(void)
{
    static char name[32];
    int found = bootarg_get(bootinfo.bootargs, "scenario", name, sizeof(name));
    if (found < 0) {
        kprintf("guest: unknown scenario: the name in bootargs \"%s\" is longer than %zu "
                "characters\n", bootinfo.bootargs, sizeof(name) - 1);
        scenario_list();
        hc_exit(1);
    }
    if (found == 0)
        memcpy(name, SCENARIO_DEFAULT, sizeof(SCENARIO_DEFAULT));
    const struct scenario *s = scenario_find(name);
    if (!s) {
        kprintf("guest: unknown scenario '%s'\n", name);
        scenario_list();
        hc_exit(1);
    }
    return s;
}

void kmain(uint64_t fdt_pa);
void kmain(uint64_t fdt_pa)
{
    bsp_cpu_init();
    paging_init();
    tsc_init();
    if (boot_entry_state.rsi != VMM_BOOT_MAGIC) {
        kprintf("guest: entered with rsi %#llx, not VMM_BOOT_MAGIC: not booted by the vmm "
                "firmware; refusing to run\n", (unsigned long long)boot_entry_state.rsi);
        hc_exit(1);
    }
    if (!bootinfo_parse(fdt_pa))
        hc_exit(1);
    if (!apic_init())
        PANIC("the CPU has no x2APIC (CPUID.1:ECX bit 21)");
    struct percpu *bsp = this_cpu();
    bsp->apic_id = apic_id();
    if (bsp->apic_id != bootinfo.cpus[0].apic_id)
        PANIC("BSP x2APIC ID %u, but the FDT's cpu@0 has reg %u", bsp->apic_id,
              bootinfo.cpus[0].apic_id);
    frames_init();
    mm_init();                          /* the kernel page table; tracing */
    bsp->online = 1;

    const struct scenario *s = select_scenario();
    kprintf("guest: %u cpu(s), %llu MiB RAM, %zu free frames, scenario %s\n",
            bootinfo.ncpus, (unsigned long long)(bootinfo.ram_end >> 20),
            frame_free_count(), s->name);
    cpu_report_online();
    if (s->needs_smp && !smp_boot_aps())
        hc_exit(1);
    mm_retire_boot_tables();            /* every online CPU is on the kernel table */
    hc_exit((uint64_t)s->run());
}
