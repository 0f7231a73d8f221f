/*
 * Per-CPU GDT and TSS (include/guest/cpu.h). Each CPU has its own GDT
 * because the TSS descriptor's busy bit is per TSS, and its own TSS because
 * the IST stacks are per CPU. The user segments sit where SYSRET expects
 * them (data at STAR base + 8, code at + 16); TSS.rsp0 is the CPU's kernel
 * stack, moved below the caller's frame while ring 3 runs (user_run).
 * The SYSCALL MSRs are set here too, so every CPU can run user code.
 */
#include "guest/cpu.h"

#include "guest/string.h"
#include "guest/trap.h"
#include "guest/user.h"

/* Long-mode segment descriptors: flat, accessed bit preset. */
#define DESC_KCODE 0x00af9b000000ffffull   /* L=1, DPL 0 */
#define DESC_KDATA 0x00cf93000000ffffull
#define DESC_UDATA 0x00cff3000000ffffull   /* DPL 3 */
#define DESC_UCODE 0x00affb000000ffffull   /* L=1, DPL 3 */

struct table_ptr {
    uint16_t limit;
    uint64_t base;
} __attribute__((packed));

/* The 16-byte available-64-bit-TSS descriptor (type 9) for `tss`. */
static void tss_descriptor(uint64_t out[2], const struct tss64 *tss)
{
    uint64_t base = (uint64_t)(uintptr_t)tss, limit = sizeof(*tss) - 1;
    out[0] = (limit & 0xffff) | (base & 0xffffff) << 16 | 0x89ull << 40 |
             ((limit >> 16) & 0xf) << 48 | ((base >> 24) & 0xff) << 56;
    out[1] = base >> 32;
}

static void load_gdt_and_segments(const struct percpu *p)
{
    struct table_ptr gdtr = { sizeof(p->gdt) - 1, (uint64_t)(uintptr_t)p->gdt };
    __asm__ volatile(
        "lgdt %0\n\t"
        "pushq %1\n\t"                 /* reload CS with a far return */
        "leaq 1f(%%rip), %%rax\n\t"
        "pushq %%rax\n\t"
        "lretq\n"
        "1:\n\t"
        "movw %w2, %%ax\n\t"
        "movw %%ax, %%ds\n\t"
        "movw %%ax, %%es\n\t"
        "movw %%ax, %%ss\n\t"
        "xorl %%eax, %%eax\n\t"        /* FS/GS: null selectors, bases via MSR */
        "movw %%ax, %%fs\n\t"
        "movw %%ax, %%gs\n\t"
        "ltr %w3"
        :
        : "m"(gdtr), "i"((uint64_t)SEL_KCODE), "r"(SEL_KDATA), "r"(SEL_TSS)
        : "rax", "memory");
}

void cpu_tables_init(struct percpu *p, const struct ist_stacks *ist)
{
    p->gdt[0] = 0;
    p->gdt[SEL_KCODE >> 3] = DESC_KCODE;
    p->gdt[SEL_KDATA >> 3] = DESC_KDATA;
    p->gdt[SEL_UDATA >> 3] = DESC_UDATA;
    p->gdt[SEL_UCODE >> 3] = DESC_UCODE;
    memset(&p->tss, 0, sizeof(p->tss));
    for (int i = 0; i < 5; i++)
        p->tss.ist[i] = ist->top[i];
    p->tss.rsp[0] = p->kstack_top;
    p->tss.iomap_base = sizeof(p->tss);       /* no I/O permission bitmap */
    tss_descriptor(&p->gdt[SEL_TSS >> 3], &p->tss);
    load_gdt_and_segments(p);
    idt_load();
    syscall_cpu_init();
}
