/*
 * Page properties (OSTD's PageProperty) and their encoding into x86-64 PTEs.
 */
#ifndef PAGETABLE_PROP_H
#define PAGETABLE_PROP_H

#include "pagetable/x86_64.h"

/* PageFlags: what a mapping permits, plus the hardware status bits. */
enum pt_flag {
    PT_R        = 0x01,  /* readable; clear = PROT_NONE leaf (P=0, still mapped) */
    PT_W        = 0x02,
    PT_X        = 0x04,
    PT_ACCESSED = 0x08,
    PT_DIRTY    = 0x10,
    PT_AVAIL1   = 0x40,  /* software bit 52 */
    PT_AVAIL2   = 0x80,  /* software bit 53 */
};
#define PT_RW  (PT_R | PT_W)
#define PT_RX  (PT_R | PT_X)
#define PT_RWX (PT_R | PT_W | PT_X)

/* PrivilegedPageFlags: only the kernel may set these. */
enum pt_priv_flag {
    PT_PRIV_USER   = 0x01,
    PT_PRIV_GLOBAL = 0x02,
};

/* CachePolicy, encoded with PWT/PCD(/PAT, see x86_64.h). */
enum pt_cache {
    PT_CACHE_WB = 0,     /* write-back: PCD=0 PWT=0 */
    PT_CACHE_WT = 1,     /* write-through: PWT */
    PT_CACHE_WC = 2,     /* write-combining: PCD (PAT entry 2 programmed as WC) */
    PT_CACHE_UC = 3,     /* uncacheable: PCD|PWT */
};

struct pt_prop {
    uint8_t flags;   /* enum pt_flag bits */
    uint8_t priv;    /* enum pt_priv_flag bits */
    uint8_t cache;   /* enum pt_cache */
};

static inline bool pt_prop_eq(struct pt_prop a, struct pt_prop b)
{
    return a.flags == b.flags && a.priv == b.priv && a.cache == b.cache;
}

/*
 * Whether `prop` is encodable: no flag or privileged bit outside the enums,
 * cache <= PT_CACHE_UC. (Added by the core: map and protect_next return
 * PT_ERR_BAD_PROP for a property that fails this.)
 */
bool pt_prop_is_valid(struct pt_prop prop);

/*
 * Encode a leaf mapping `pa` at `level` (1..3) with `prop`.
 * Requires: pa aligned to pt_page_size(level); prop.cache <= PT_CACHE_UC;
 *           prop.flags has no bits outside enum pt_flag.
 * Guarantees: the result has PTE_LEAF set (so it is never zero), P = prop R,
 *           RW = W, NX = !X, and decodes back to (pa, prop) with
 *           pt_pte_leaf_paddr / pt_pte_prop.
 */
pt_pte_t pt_pte_make_leaf(pt_paddr_t pa, int level, struct pt_prop prop);

/*
 * Encode a pointer to a child page-table node at physical `pa`.
 * Permissions are enforced only at the leaf, so a table entry is P|RW|US;
 * A (accessed) is preset so the MMU never rewrites a table entry.
 */
pt_pte_t pt_pte_make_table(pt_paddr_t pa);

/* An entry is absent iff it is all zero (OSTD: present = P || leaf marker). */
static inline bool pt_pte_is_absent(pt_pte_t pte) { return pte == 0; }
/* A leaf: logically mapped, whether or not the hardware P bit is set. */
static inline bool pt_pte_is_leaf(pt_pte_t pte) { return (pte & PTE_LEAF) != 0; }
/* A pointer to a child node. */
static inline bool pt_pte_is_table(pt_pte_t pte) { return pte != 0 && !(pte & PTE_LEAF); }
/* What the MMU sees: P set. A PROT_NONE leaf is logically mapped but not this. */
static inline bool pt_pte_is_hw_present(pt_pte_t pte) { return (pte & PTE_P) != 0; }

static inline pt_paddr_t pt_pte_table_paddr(pt_pte_t pte) { return pte & PTE_TABLE_ADDR_MASK; }
static inline pt_paddr_t pt_pte_leaf_paddr(pt_pte_t pte, int level)
{
    return pte & pt_leaf_addr_mask(level);
}

/* Decode the property of a leaf entry. Requires pt_pte_is_leaf(pte). */
struct pt_prop pt_pte_prop(pt_pte_t pte);

/*
 * Replace the property bits of a leaf, keeping its address and leaf marker
 * (OSTD's set_prop). Requires pt_pte_is_leaf(pte).
 */
pt_pte_t pt_pte_set_prop(pt_pte_t pte, struct pt_prop prop);

#endif /* PAGETABLE_PROP_H */
