/*
 * x86-64 4-level paging: the only architecture-specific header of the
 * page-table core. Everything here is a hardware fact (Intel SDM Vol. 3A
 * chapter 4, AMD APM Vol. 2 chapter 5) or an OSTD encoding choice, marked as
 * such. Freestanding: only <stdint.h> and <stdbool.h>.
 */
#ifndef PAGETABLE_X86_64_H
#define PAGETABLE_X86_64_H

#include <stdbool.h>
#include <stdint.h>

typedef uint64_t pt_paddr_t;   /* physical address */
typedef uint64_t pt_vaddr_t;   /* virtual address (canonical) */
typedef uint64_t pt_pte_t;     /* one page-table entry */

#define PT_BASE_PAGE_SHIFT 12
#define PT_BASE_PAGE_SIZE  4096ull
#define PT_NR_LEVELS       4          /* level 4 = PML4 (root), level 1 = PT */
#define PT_NR_ENTRIES      512
#define PT_ENTRY_BITS      9
#define PT_ADDRESS_WIDTH   48
/* The architecture's largest physical-address width (MAXPHYADDR <= 52: SDM
 * Vol. 3A §4.1.4). A PTE's bits 52..63 are not address bits: the software
 * bits and NX. */
#define PT_PHYS_ADDR_WIDTH 52
#define PT_PHYS_ADDR_LIMIT (1ull << PT_PHYS_ADDR_WIDTH)

/* Hardware PTE bits. */
#define PTE_P       (1ull << 0)   /* present */
#define PTE_RW      (1ull << 1)   /* writable */
#define PTE_US      (1ull << 2)   /* user-accessible */
#define PTE_PWT     (1ull << 3)   /* write-through */
#define PTE_PCD     (1ull << 4)   /* cache disable */
#define PTE_A       (1ull << 5)   /* accessed */
#define PTE_D       (1ull << 6)   /* dirty (leaf only) */
#define PTE_PS      (1ull << 7)   /* page size at levels 2/3; PAT at level 1 */
#define PTE_G       (1ull << 8)   /* global (leaf only) */
#define PTE_AVAIL1  (1ull << 52)  /* software: OSTD AVAIL1 */
#define PTE_AVAIL2  (1ull << 53)  /* software: OSTD AVAIL2 */
#define PTE_UNTRACKED (1ull << 54) /* software: leaf maps untracked memory (no
                                      frame reference; e.g. huge kernel or I/O
                                      mappings). Our choice; upstream OSTD uses
                                      AVAIL1 for I/O memory. */
#define PTE_NX      (1ull << 63)  /* no-execute (EFER.NXE) */

/*
 * OSTD's leaf marker: bit 7 is set in every leaf, at every level. At level 1
 * the hardware reads it as the PAT bit, so the guest programs IA32_PAT with
 * entries 4..7 equal to entries 0..3 (WB, WT, UC-, UC) and it selects the same
 * memory type. A leaf with P clear but bit 7 set is "logically mapped" (a
 * PROT_NONE leaf); an all-zero entry is absent.
 */
#define PTE_LEAF    PTE_PS

/* Physical-address field of a leaf at each level, and of a table pointer. */
#define PTE_ADDR_MASK_4K  0x000ffffffffff000ull
#define PTE_ADDR_MASK_2M  0x000fffffffe00000ull
#define PTE_ADDR_MASK_1G  0x000fffffc0000000ull
#define PTE_TABLE_ADDR_MASK PTE_ADDR_MASK_4K

/* Bytes mapped by one entry at `level` (1..4): 4 KiB, 2 MiB, 1 GiB, 512 GiB. */
static inline uint64_t pt_page_size(int level)
{
    return PT_BASE_PAGE_SIZE << (PT_ENTRY_BITS * (unsigned)(level - 1));
}

/* Index of `va` in a node at `level` (1..4). */
static inline unsigned pt_index(pt_vaddr_t va, int level)
{
    return (unsigned)(va >> (PT_BASE_PAGE_SHIFT + PT_ENTRY_BITS * (unsigned)(level - 1))) &
           (PT_NR_ENTRIES - 1);
}

/* Physical-address mask of a leaf at `level` (1..3). */
static inline uint64_t pt_leaf_addr_mask(int level)
{
    return level == 1 ? PTE_ADDR_MASK_4K : level == 2 ? PTE_ADDR_MASK_2M : PTE_ADDR_MASK_1G;
}

/* Sign-extend bit 47: the canonical form of a 48-bit virtual address. */
static inline pt_vaddr_t pt_canonical(pt_vaddr_t va)
{
    return (pt_vaddr_t)((int64_t)(va << 16) >> 16);
}

static inline bool pt_is_canonical(pt_vaddr_t va)
{
    return pt_canonical(va) == va;
}

/* Architectural TLB maintenance, for freestanding (guest) builds only. */
#if defined(PT_FREESTANDING)
static inline void pt_arch_invlpg(pt_vaddr_t va)
{
    __asm__ volatile("invlpg (%0)" ::"r"(va) : "memory");
}
#endif

#endif /* PAGETABLE_X86_64_H */
