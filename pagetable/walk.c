/*
 * Hardware-style page walker (see pagetable/walk.h). Deliberately written
 * from the architecture manuals and x86_64.h only, without the core's PTE
 * helpers, so that it stays an independent check of what the core writes.
 */
#include "pagetable/walk.h"

/* Bit 12 of a huge leaf is its PAT bit; bits 13..(shift-1) are reserved. */
static uint64_t huge_reserved_mask(int level)
{
    uint64_t size = pt_page_size(level);
    return (size - 1) & ~((1ull << 13) - 1);
}

/* Bits 12..51: the frame address field of a 4 KiB leaf or table pointer. */
#define WALK_ADDR_FIELD 0x000ffffffffff000ull

static pt_paddr_t leaf_frame(pt_pte_t pte, int level)
{
    /* Drop the PAT bit (12) and everything below the page size. */
    return pte & WALK_ADDR_FIELD & ~(pt_page_size(level) - 1);
}

static void accumulate_perms(struct pt_walk_result *w, pt_pte_t pte)
{
    w->writable = w->writable && (pte & PTE_RW);
    w->user = w->user && (pte & PTE_US);
    w->nx = w->nx || (pte & PTE_NX);
}

/* Is `pte` at `level` a leaf under OSTD's encoding (and the MMU's at level 1)? */
static bool is_leaf(pt_pte_t pte, int level)
{
    if (pte & PTE_LEAF)
        return true;
    /* At level 1 bit 7 is PAT: every present entry maps a page. */
    return level == 1 && (pte & PTE_P);
}

/* Fill in the leaf fields; returns false if the leaf is malformed. */
static bool take_leaf(struct pt_walk_result *w, pt_vaddr_t va, pt_pte_t pte, int level)
{
    if (level >= 2 && (pte & huge_reserved_mask(level))) {
        w->anomaly = PT_WALK_ANOMALY_RESERVED_BITS;
        return false;
    }
    w->mapped = true;
    w->leaf_base = leaf_frame(pte, level);
    w->pa = w->leaf_base + (va & (pt_page_size(level) - 1));
    w->translates = (pte & PTE_P) != 0;
    return true;
}

int pt_walk(pt_paddr_t root, pt_vaddr_t va, pt_walk_read_fn read, void *ctx,
            struct pt_walk_result *out)
{
    *out = (struct pt_walk_result){ .writable = true, .user = true };
    if (!pt_is_canonical(va))
        return out->status = PT_WALK_ERR_NONCANONICAL;
    if (root & ~WALK_ADDR_FIELD)
        return out->status = PT_WALK_ERR_ROOT;

    pt_paddr_t node = root;
    for (int level = PT_NR_LEVELS; level >= 1; level--) {
        pt_paddr_t entry_pa = node + 8ull * pt_index(va, level);
        pt_pte_t pte;
        out->nodes[level - 1] = node;
        out->level = level;
        if (!read(ctx, entry_pa, &pte)) {
            out->bad_pa = entry_pa;
            return out->status = PT_WALK_ERR_READ;
        }
        out->ptes[level - 1] = pte;
        out->pte = pte;
        accumulate_perms(out, pte);

        if (level == PT_NR_LEVELS && (pte & PTE_LEAF)) {
            out->anomaly = PT_WALK_ANOMALY_LEAF_AT_L4;
            break;
        }
        if (is_leaf(pte, level)) {
            take_leaf(out, va, pte, level);
            break;
        }
        if (!(pte & PTE_P)) {
            /* Absent (all zero) is the normal "nothing here"; any other
               non-present non-leaf value is garbage a correct core never
               writes. Either way the MMU faults here. */
            if (pte != 0)
                out->anomaly = PT_WALK_ANOMALY_NONPRESENT_TABLE;
            break;
        }
        node = pte & WALK_ADDR_FIELD;
    }
    if (!out->mapped)
        out->writable = out->user = out->nx = false;
    return out->status = PT_WALK_OK;
}

pt_vaddr_t pt_walk_entry_end(const struct pt_walk_result *w, pt_vaddr_t va)
{
    uint64_t size = pt_page_size(w->level);
    return (va & ~(size - 1)) + size;
}

const char *pt_walk_status_name(int status)
{
    switch (status) {
    case PT_WALK_OK: return "PT_WALK_OK";
    case PT_WALK_ERR_READ: return "PT_WALK_ERR_READ";
    case PT_WALK_ERR_NONCANONICAL: return "PT_WALK_ERR_NONCANONICAL";
    case PT_WALK_ERR_ROOT: return "PT_WALK_ERR_ROOT";
    default: return "PT_WALK_(unknown status)";
    }
}

const char *pt_walk_anomaly_name(enum pt_walk_anomaly a)
{
    switch (a) {
    case PT_WALK_ANOMALY_NONE: return "none";
    case PT_WALK_ANOMALY_RESERVED_BITS: return "reserved bits set in a huge leaf";
    case PT_WALK_ANOMALY_LEAF_AT_L4: return "bit 7 (leaf) set in a PML4 entry";
    case PT_WALK_ANOMALY_NONPRESENT_TABLE: return "non-zero, non-present, non-leaf entry";
    default: return "unknown anomaly";
    }
}
