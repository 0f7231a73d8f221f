/* Per-CPU descriptor tables: GDT and TSS with IST stacks. */
#ifndef GUEST_CPU_H
#define GUEST_CPU_H

#include <stdint.h>

#include "guest/percpu.h"

#define SEL_KCODE 0x08
#define SEL_KDATA 0x10
#define SEL_UDATA 0x1b   /* ring 3 data/stack (RPL 3); SYSRET: STAR base + 8 */
#define SEL_UCODE 0x23   /* ring 3 64-bit code (RPL 3); SYSRET: STAR base + 16 */
#define SEL_TSS   0x28

/* IST stack tops for one CPU (index = IST slot - 1). */
struct ist_stacks {
    uint64_t top[5];
};

/*
 * cpu_tables_init: build p's GDT and TSS (with the given IST stacks), load
 * them (reloading every segment register), load the IDT and program the
 * SYSCALL MSRs (syscall_cpu_init). Clears FS/GS selectors, so call
 * percpu_init() afterwards.
 * Requires: idt_init() done once, stacks 16-byte aligned tops.
 */
void cpu_tables_init(struct percpu *p, const struct ist_stacks *ist);

#endif /* GUEST_CPU_H */
