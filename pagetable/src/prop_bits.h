/*
 * Branch-free PageProperty <-> PTE bit shuffling, shared by pte.c and the
 * cursor's hot paths (the per-page cost of map and protect is dominated by
 * this; see docs/pagetable.md "Performance"). The bit positions were chosen
 * by the hardware and by OSTD; the enum values in prop.h line up so that
 * each group moves with one mask and one shift:
 *   R,W (0x01,0x02)         -> P,RW     (bits 0,1)     shift 0
 *   ACCESSED,DIRTY (0x08,0x10) -> A,D   (bits 5,6)     shift 2
 *   AVAIL1,AVAIL2 (0x40,0x80) -> 52,53                 shift 46
 *   X (0x04)                -> NX (bit 63), inverted
 *   USER (0x01) -> US (bit 2); GLOBAL (0x02) -> G (bit 8)
 *   cache WB/WT/WC/UC (0..3) -> PWT (bit 3), PCD (bit 4) shift 3
 */
#ifndef PAGETABLE_PROP_BITS_H
#define PAGETABLE_PROP_BITS_H

#include "pagetable/prop.h"

/* Every PTE bit that encodes some part of a pt_prop. */
#define PT_PROP_BITS (PTE_P | PTE_RW | PTE_US | PTE_PWT | PTE_PCD | PTE_A | PTE_D | PTE_G | \
                      PTE_AVAIL1 | PTE_AVAIL2 | PTE_NX)

_Static_assert(PT_R == 1 && PT_W == 2 && PT_X == 4 && PT_ACCESSED == 8 && PT_DIRTY == 0x10 &&
                   PT_AVAIL1 == 0x40 && PT_AVAIL2 == 0x80,
               "prop_bits.h relies on the PageFlags values");
_Static_assert(PT_PRIV_USER == 1 && PT_PRIV_GLOBAL == 2 && PT_CACHE_WT == 1 && PT_CACHE_WC == 2 &&
                   PT_CACHE_UC == 3,
               "prop_bits.h relies on the privileged-flag and cache values");

static inline pt_pte_t pt_prop_bits(struct pt_prop p)
{
    uint64_t f = p.flags, v = p.priv, c = p.cache;
    return (f & 0x03) | ((f & 0x18) << 2) | ((f & 0xc0) << 46) | ((~f & 0x04) << 61) |
           ((v & 0x01) << 2) | ((v & 0x02) << 7) | ((c & 0x03) << 3);
}

/* A leaf with an already level-aligned address. */
static inline pt_pte_t pt_pte_leaf_fast(pt_paddr_t pa, struct pt_prop p)
{
    return pa | PTE_LEAF | pt_prop_bits(p);
}

static inline struct pt_prop pt_pte_prop_fast(pt_pte_t pte)
{
    struct pt_prop p;
    p.flags = (uint8_t)((pte & 0x03) | ((pte >> 2) & 0x18) | ((pte >> 46) & 0xc0) |
                        ((~pte >> 61) & 0x04));
    p.priv = (uint8_t)(((pte >> 2) & 0x01) | ((pte >> 7) & 0x02));
    p.cache = (uint8_t)((pte >> 3) & 0x03);
    return p;
}

/* pt_prop_is_valid, inline: no stray flag bit (0x20), priv and cache < 4. */
static inline bool pt_prop_valid_fast(struct pt_prop p)
{
    return ((p.flags & 0x20) | (p.priv & ~3u) | (p.cache & ~3u)) == 0;
}

#endif /* PAGETABLE_PROP_BITS_H */
