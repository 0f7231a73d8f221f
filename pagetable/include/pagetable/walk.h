/*
 * A hardware-style page walker: translates one virtual address through an
 * x86-64 4-level page table exactly as the MMU does, reading every entry
 * through a caller-supplied callback, and reports both what the MMU would do
 * and what the entry means under OSTD's encoding (bit 7 marks a leaf at every
 * level; a leaf with P clear is a logically mapped PROT_NONE page).
 *
 * It shares no code with the cursor implementation (pagetable/cursor.c and
 * friends) on purpose: tests use it as an independent oracle, and the VMM
 * uses it to walk guest page tables that live in guest memory, where every
 * physical address comes from the guest and must be bounds-checked by the
 * reader callback.
 *
 * Freestanding: depends only on pagetable/x86_64.h. Assumes what the guest
 * kernel sets up: CR4.PAE=1, EFER.LME=1 (4-level, 48-bit VAs), EFER.NXE=1
 * (bit 63 is NX, not reserved), 1 GiB pages supported, MAXPHYADDR = 52.
 */
#ifndef PAGETABLE_WALK_H
#define PAGETABLE_WALK_H

#include "pagetable/x86_64.h"

/*
 * Read the 8-byte entry at physical address `pa` (8-byte aligned) into *out.
 * Returns false if `pa` is outside what the caller can read (the walk then
 * stops with PT_WALK_ERR_READ). Must not crash on any `pa`.
 */
typedef bool (*pt_walk_read_fn)(void *ctx, pt_paddr_t pa, pt_pte_t *out);

/* Walk status (the return value of pt_walk and pt_walk_result.status). */
enum pt_walk_status {
    PT_WALK_OK              = 0,   /* the walk finished (mapped or not) */
    PT_WALK_ERR_READ        = -1,  /* the reader refused an entry's address */
    PT_WALK_ERR_NONCANONICAL = -2, /* va is not canonical: the CPU raises #GP, no walk */
    PT_WALK_ERR_ROOT        = -3,  /* root is not 4 KiB-aligned or has bits above bit 51 */
};

/*
 * Why an entry is malformed. The walk stops at the first malformed entry;
 * the MMU would raise a page fault there (reserved-bit fault for the first
 * two, not-present fault for the third).
 */
enum pt_walk_anomaly {
    PT_WALK_ANOMALY_NONE = 0,
    PT_WALK_ANOMALY_RESERVED_BITS,   /* a huge leaf has reserved bits set: bits
                                        13..20 of a 2 MiB leaf, 13..29 of a 1 GiB
                                        leaf (with MAXPHYADDR 52 no address bit
                                        is reserved; bits 52..62 are ignored) */
    PT_WALK_ANOMALY_LEAF_AT_L4,      /* bit 7 set in a PML4 entry (reserved on x86-64) */
    PT_WALK_ANOMALY_NONPRESENT_TABLE,/* non-zero, P clear, bit 7 clear: neither a
                                        leaf nor a usable table pointer (OSTD
                                        never writes one; the MMU faults) */
};

struct pt_walk_result {
    int status;                 /* enum pt_walk_status */
    pt_paddr_t bad_pa;          /* PT_WALK_ERR_READ: the address refused */

    /*
     * The MMU's view: true iff P is set at every level down to and
     * including the leaf, with no reserved bit set anywhere on the way.
     */
    bool translates;
    /*
     * OSTD's view: true iff the walk reaches a leaf: an entry with bit 7 set
     * at level 1..3, or at level 1 any non-zero entry with P set (the MMU
     * treats every present level-1 entry as a leaf). A leaf with P clear is
     * mapped but does not translate (PROT_NONE).
     */
    bool mapped;
    enum pt_walk_anomaly anomaly;  /* where the walk stopped on a malformed entry */

    /*
     * The level (1..4) of the last entry read: the leaf's level when mapped,
     * otherwise the level of the absent/non-present (or malformed) entry.
     * The entry covers [align_down(va, pt_page_size(level)), +page size).
     */
    int level;
    pt_pte_t pte;               /* that entry */
    pt_paddr_t pa;              /* mapped: the leaf's frame base + offset of va */
    pt_paddr_t leaf_base;       /* mapped: the leaf's frame base (aligned to its size) */

    /*
     * Effective permissions over the entries read (valid when mapped):
     * writable and user are the AND of RW and US over every level, nx is
     * the OR of NX over every level.
     */
    bool writable, user, nx;

    /*
     * The node path: nodes[l-1] is the physical address of the node read at
     * level l, ptes[l-1] the entry read in it. Levels below `level` are 0.
     */
    pt_paddr_t nodes[PT_NR_LEVELS];
    pt_pte_t ptes[PT_NR_LEVELS];
};

/*
 * Translate `va` through the 4-level table rooted at physical `root` (the
 * PML4's address, as in CR3 without the flag bits).
 * Requires: `read` non-NULL; `out` non-NULL.
 * Guarantees: *out is fully written (zeroed first) and out->status returned.
 *   PT_WALK_OK: the fields above describe the walk; translates implies
 *   mapped, and mapped implies anomaly == NONE.
 * Fails: PT_WALK_ERR_NONCANONICAL, PT_WALK_ERR_ROOT before reading anything;
 *   PT_WALK_ERR_READ when `read` refuses an entry (out->bad_pa names it; the
 *   path so far is kept in nodes/ptes).
 */
int pt_walk(pt_paddr_t root, pt_vaddr_t va, pt_walk_read_fn read, void *ctx,
            struct pt_walk_result *out);

/*
 * The first VA after the entry the walk stopped at: 0 on wrap past 2^64, and
 * 0x0000_8000_0000_0000 (not canonical) after the last lower-half entry.
 * Requires: w came from a PT_WALK_OK walk of `va`.
 */
pt_vaddr_t pt_walk_entry_end(const struct pt_walk_result *w, pt_vaddr_t va);

/* A short name for a walk status or anomaly, for messages. */
const char *pt_walk_status_name(int status);
const char *pt_walk_anomaly_name(enum pt_walk_anomaly a);

#endif /* PAGETABLE_WALK_H */
