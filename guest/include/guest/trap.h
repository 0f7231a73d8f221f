/*
 * Traps: the 256 IDT vectors, the saved register frame, and how handlers
 * are attached. Exceptions (0..31) without a handler are reported to the
 * VMM with VMM_HC_EXCEPTION and stop the CPU. Vectors 32..254 are
 * interrupts (IPIs): a registered handler runs, then the local APIC gets
 * its EOI. 255 is the APIC spurious vector (no EOI).
 */
#ifndef GUEST_TRAP_H
#define GUEST_TRAP_H

#include <stdbool.h>
#include <stdint.h>

/* Pushed by arch/x86/entry.S; the order is the reverse of the pushes. */
struct trap_frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error_code;
    uint64_t rip, cs, rflags, rsp, ss;          /* pushed by the CPU */
};

/* IST slots (TSS.ist[n-1]). */
#define IST_EXC 1
#define IST_NMI 2
#define IST_DF  3
#define IST_MC  4
#define IST_IRQ 5

#define VECTOR_SPURIOUS    0xff
#define VECTOR_WAKE        0xf0     /* smp_call(): wake an idle CPU */
#define VECTOR_IPI_TEST    0x40     /* 0x40 + sender index: scenario smp */

/* An interrupt handler. Runs with interrupts off, on the interrupted
 * context's stack (interrupts use no IST: see arch/x86/trap.c). */
typedef void (*irq_handler_t)(struct trap_frame *f);

/* An exception handler: returns true if it handled the exception (the
 * faulting code resumes), false to fall through to the VMM report. */
typedef bool (*exc_handler_t)(struct trap_frame *f);

/* idt_init: build the shared IDT (once, on the BSP). */
void idt_init(void);

/* idt_load: load it on this CPU. */
void idt_load(void);

/* irq_register: attach h to vector v (32 <= v < 255). Not thread-safe:
 * register before the interrupts can arrive. */
void irq_register(unsigned v, irq_handler_t h);

/* exc_register: attach h to exception vector v (< 32). */
void exc_register(unsigned v, exc_handler_t h);

/* trap_dispatch: called by entry.S for every vector. */
void trap_dispatch(struct trap_frame *f);

/* Addresses of the 256 entry stubs (entry.S), 16 bytes apart. */
extern char trap_stubs[];

#endif /* GUEST_TRAP_H */
