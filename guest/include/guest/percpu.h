/*
 * The per-CPU area. Every CPU's GS base points at its struct percpu (so
 * this_cpu() is one load from %gs:0), and its FS base points at the same
 * struct so that %fs:0x28 is its stack canary: Debian's libfdt.a is built
 * with -fstack-protector and reads the canary there.
 */
#ifndef GUEST_PERCPU_H
#define GUEST_PERCPU_H

#include <stddef.h>
#include <stdint.h>

#include "guest/layout.h"
#include "abi/vmm.h"

/* 64-bit TSS (SDM Vol. 3, 8.7). */
struct tss64 {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];          /* ist[0] is IST1 */
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
} __attribute__((packed));

#define GDT_ENTRIES 7         /* null, kcode, kdata, udata, ucode, tss(2) */

struct percpu {
    struct percpu *self;            /* 0x00: %gs:0 */
    uint32_t index;                 /* 0x08: CPU index (FDT cpu@N) */
    uint32_t apic_id;               /* 0x0c */
    uint64_t kstack_top;            /* 0x10 */
    uint64_t user_rsp;              /* 0x18: SYSCALL entry scratch (PERCPU_USER_RSP) */
    uint64_t kernel_rsp;            /* 0x20: saved by user_enter (PERCPU_KERNEL_RSP) */
    uint64_t stack_canary;          /* 0x28: %fs:0x28 */

    volatile uint32_t online;       /* set once this CPU is fully up */
    uint32_t pad;

    /* smp_call(): work handed to an idle CPU. */
    void (*volatile call_fn)(void *);
    void *volatile call_arg;

    uint64_t gdt[GDT_ENTRIES] __attribute__((aligned(16)));
    struct tss64 tss __attribute__((aligned(16)));

    /* Built by the exception path and passed to VMM_HC_EXCEPTION. */
    struct vmm_exception_report exc_report;
};

_Static_assert(offsetof(struct percpu, stack_canary) == 0x28,
               "libfdt reads the stack canary at %fs:0x28");

extern struct percpu percpu_areas[MAX_CPUS];

/* this_cpu: the calling CPU's area. Requires percpu_init() on this CPU. */
static inline struct percpu *this_cpu(void)
{
    struct percpu *p;
    __asm__ volatile("movq %%gs:0, %0" : "=r"(p));
    return p;
}

/*
 * percpu_init: make `p` this CPU's area (self pointer, canary, FS and GS
 * bases). Requires: p in percpu_areas, index/apic_id filled by the caller.
 * Guarantees: this_cpu() == p and libfdt's canary reads are valid.
 */
void percpu_init(struct percpu *p);

#endif /* GUEST_PERCPU_H */
