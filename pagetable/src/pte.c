/*
 * PageProperty <-> x86-64 PTE bits (OSTD's new_page / prop / set_prop).
 * Bit 7 marks every leaf at every level; see x86_64.h for why level 1 is
 * safe (PAT entries 4..7 mirror 0..3).
 */
#include "pagetable/prop.h"

/* Every PTE bit that encodes some part of a pt_prop. */
#define PROP_BITS (PTE_P | PTE_RW | PTE_US | PTE_PWT | PTE_PCD | PTE_A | PTE_D | PTE_G | \
                   PTE_AVAIL1 | PTE_AVAIL2 | PTE_NX)

static pt_pte_t prop_bits(struct pt_prop prop)
{
    pt_pte_t b = 0;
    if (prop.flags & PT_R)
        b |= PTE_P;
    if (prop.flags & PT_W)
        b |= PTE_RW;
    if (!(prop.flags & PT_X))
        b |= PTE_NX;
    if (prop.flags & PT_ACCESSED)
        b |= PTE_A;
    if (prop.flags & PT_DIRTY)
        b |= PTE_D;
    if (prop.flags & PT_AVAIL1)
        b |= PTE_AVAIL1;
    if (prop.flags & PT_AVAIL2)
        b |= PTE_AVAIL2;
    if (prop.priv & PT_PRIV_USER)
        b |= PTE_US;
    if (prop.priv & PT_PRIV_GLOBAL)
        b |= PTE_G;
    switch (prop.cache) {
    case PT_CACHE_WT: b |= PTE_PWT; break;
    case PT_CACHE_WC: b |= PTE_PCD; break;
    case PT_CACHE_UC: b |= PTE_PCD | PTE_PWT; break;
    default: break;  /* WB: neither */
    }
    return b;
}

pt_pte_t pt_pte_make_leaf(pt_paddr_t pa, int level, struct pt_prop prop)
{
    return (pa & pt_leaf_addr_mask(level)) | PTE_LEAF | prop_bits(prop);
}

pt_pte_t pt_pte_make_table(pt_paddr_t pa)
{
    return (pa & PTE_TABLE_ADDR_MASK) | PTE_P | PTE_RW | PTE_US;
}

struct pt_prop pt_pte_prop(pt_pte_t pte)
{
    struct pt_prop p = { 0, 0, PT_CACHE_WB };
    if (pte & PTE_P)
        p.flags |= PT_R;
    if (pte & PTE_RW)
        p.flags |= PT_W;
    if (!(pte & PTE_NX))
        p.flags |= PT_X;
    if (pte & PTE_A)
        p.flags |= PT_ACCESSED;
    if (pte & PTE_D)
        p.flags |= PT_DIRTY;
    if (pte & PTE_AVAIL1)
        p.flags |= PT_AVAIL1;
    if (pte & PTE_AVAIL2)
        p.flags |= PT_AVAIL2;
    if (pte & PTE_US)
        p.priv |= PT_PRIV_USER;
    if (pte & PTE_G)
        p.priv |= PT_PRIV_GLOBAL;
    p.cache = (uint8_t)(((pte & PTE_PCD) ? 2u : 0u) | ((pte & PTE_PWT) ? 1u : 0u));
    return p;
}

pt_pte_t pt_pte_set_prop(pt_pte_t pte, struct pt_prop prop)
{
    return (pte & ~PROP_BITS) | prop_bits(prop);
}

bool pt_prop_is_valid(struct pt_prop prop)
{
    const unsigned all_flags = PT_R | PT_W | PT_X | PT_ACCESSED | PT_DIRTY | PT_AVAIL1 | PT_AVAIL2;
    return (prop.flags & ~all_flags) == 0 &&
           (prop.priv & ~(unsigned)(PT_PRIV_USER | PT_PRIV_GLOBAL)) == 0 &&
           prop.cache <= PT_CACHE_UC;
}
