/*
 * --dump-pt: one address space, read from guest memory, printed as merged
 * ranges in the manner of Linux's ptdump (arch/x86/mm/dump_pagetables.c):
 * consecutive leaves of one page size with the same permission bits become
 * one line with its size and every bit (P, RW, USR, PWT, PCD, PAT, A, D,
 * GLB, NX). RW and USR are the effective ones (AND over the path), NX the
 * OR over the path; the others are the leaf's own.
 *
 * KVM-free: the tables are read from a RAM buffer with every address
 * bounds-checked, so a hostile guest's tables print as "unreadable" lines.
 */
#ifndef VMM_PTDUMP_H
#define VMM_PTDUMP_H

#include <stdint.h>
#include <stdio.h>

/*
 * Prints the address space rooted at guest-physical `root` (CR3 without
 * flag bits) to `out`.
 * Requires: ram maps guest RAM [0, mem).
 * Guarantees: reads only inside ram[0, mem); visits at most 1 << 16 nodes
 *   (a guest whose tables point back at themselves is cut off with a line
 *   saying so); one line per range, anomalies (a table entry pointing
 *   outside RAM, a non-present table entry) on their own lines.
 */
void vmm_ptdump(const uint8_t *ram, uint64_t mem, uint64_t root, FILE *out);

#endif /* VMM_PTDUMP_H */
