/*
 * A full consistency check of a page table, for tests and debugging
 * (freestanding-safe: no allocation, no printing).
 */
#ifndef PAGETABLE_CHECK_H
#define PAGETABLE_CHECK_H

#include "pagetable/page_table.h"

struct pt_check_result {
    const char *error;   /* NULL if consistent, else the broken invariant */
    pt_paddr_t node;     /* where it broke (node and entry index), if any */
    unsigned index;
    int level;
    uint64_t nr_nodes;   /* nodes owned by the table (root included; shared
                            kernel nodes in a user table not counted) */
    uint64_t nr_leaves;  /* leaves at any level */
    uint64_t nr_tracked; /* tracked (level-1, refcounted) leaves */
};

/*
 * Check every node reachable from pt's root within its config's top range:
 *  - each node's metadata: usage PT_NODE, level right, not stray, unlocked,
 *    reference count 1 (>= 1 for the root and kernel level-3 nodes, which
 *    user tables share), nr_children == number of non-zero PTEs;
 *  - no node reachable twice;
 *  - table entries: never at level 1, exactly pt_pte_make_table(child);
 *  - leaves: level <= cfg->max_leaf_level, address aligned to the level,
 *    tracked only at level 1 and then pointing at a live UNTYPED/KERNEL frame;
 *  - top level: entries outside the config's range absent (kernel) or tables
 *    (a user table's shared kernel half); a kernel config's entries present.
 * Requires: no live cursor and no concurrent change to the table.
 * Guarantees: returns true and res->error == NULL iff all hold; fills the
 *   counters either way (up to where it stopped).
 * Not reentrant on shared nodes: it writes the `owner` field of every node it
 *   visits as a visit stamp (unique per call: an atomic counter). Checks of
 *   tables that share no node may run concurrently. Two concurrent checks
 *   that visit the same node (a kernel table checked while another check
 *   runs on it) can overwrite each other's stamps and then miss a node that
 *   is reachable twice (never report a false one). Run such checks one at a
 *   time. A user table's check does not descend into the kernel half it
 *   shares, so checking a kernel table and its user tables one after the
 *   other is fine.
 */
bool pt_check(const struct pt_page_table *pt, struct pt_check_result *res);

#endif /* PAGETABLE_CHECK_H */
