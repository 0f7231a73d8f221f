/*
 * The exception table: which kernel instructions may fault on a user
 * address, and where each one continues when it does (OSTD's ExTable,
 * Linux's __ex_table). Entries are emitted next to the instruction with
 * EXTABLE insn, fixup in assembly and collected by guest.ld into the
 * section __ex_table, between __ex_table_start and __ex_table_end.
 *
 * The #PF path (arch/x86/trap.c) consults the table only for faults taken
 * in ring 0 on a user address (below USER_VA_END); any other kernel fault
 * is still reported to the VMM as a kernel bug.
 */
#ifndef GUEST_EXTABLE_H
#define GUEST_EXTABLE_H

#ifdef __ASSEMBLER__
/* EXTABLE insn, fixup: if `insn` faults on a user address, go to `fixup`. */
.macro EXTABLE insn, fixup
    .pushsection __ex_table, "a"
    .balign 4
    .long \insn - ., \fixup - .
    .popsection
.endm
#else
#include <stdint.h>

/* Self-relative, as Linux's: each field holds target - &field, so the
 * table needs no relocation (the same object links into the guest and into
 * position-independent host tests). */
struct extable_entry {
    int32_t insn;       /* the instruction that may fault */
    int32_t fixup;      /* where execution continues if it does */
};

extern const struct extable_entry __ex_table_start[], __ex_table_end[];

/*
 * extable_search: the fix-up address for a faulting instruction at `rip`,
 * or 0 if `rip` has no entry.
 */
uint64_t extable_search(uint64_t rip);

/* extable_count: the number of entries (for diagnostics and tests). */
unsigned extable_count(void);
#endif

#endif /* GUEST_EXTABLE_H */
