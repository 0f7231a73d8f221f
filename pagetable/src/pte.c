/*
 * PageProperty <-> x86-64 PTE bits (OSTD's new_page / prop / set_prop).
 * Bit 7 marks every leaf at every level; see x86_64.h for why level 1 is
 * safe (PAT entries 4..7 mirror 0..3).
 */
#include "pagetable/prop.h"
#include "prop_bits.h"

pt_pte_t pt_pte_make_leaf(pt_paddr_t pa, int level, struct pt_prop prop)
{
    return pt_pte_leaf_fast(pa & pt_leaf_addr_mask(level), prop);
}

/* Accessed is preset (as in Linux's _PAGE_TABLE): no software reads A in a
 * table entry, and a preset A spares the MMU a locked write into the entry
 * on the first walk through it. (Leaves carry A only if their property
 * says so: that is how VmSpace tracks accesses, docs/guest-mm.md.) */
pt_pte_t pt_pte_make_table(pt_paddr_t pa)
{
    return (pa & PTE_TABLE_ADDR_MASK) | PTE_P | PTE_RW | PTE_US | PTE_A;
}

struct pt_prop pt_pte_prop(pt_pte_t pte)
{
    return pt_pte_prop_fast(pte);
}

pt_pte_t pt_pte_set_prop(pt_pte_t pte, struct pt_prop prop)
{
    return (pte & ~PT_PROP_BITS) | pt_prop_bits(prop);
}

bool pt_prop_is_valid(struct pt_prop prop)
{
    return pt_prop_valid_fast(prop);
}
