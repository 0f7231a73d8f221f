/*
 * The planted bug tlb_bug=untraced-store (include/guest/vmspace.h): one user
 * mapping written with a plain store, as a kernel that edits a page table
 * behind its page-table layer would, so that no TLB event reports it. The
 * host's checkpoints must find it: the level-1 node was allocated in the
 * event stream, so the model knows the entry is 0 (docs/live-validation.md).
 */
#include "guest/vmspace.h"

#include "guest/bootinfo.h"
#include "guest/layout.h"
#include "pagetable/walk.h"

static bool read_entry(void *ctx, pt_paddr_t pa, pt_pte_t *out)
{
    (void)ctx;
    if (pa >= bootinfo.ram_end)
        return false;
    *out = __atomic_load_n((const pt_pte_t *)phys_to_virt(pa), __ATOMIC_RELAXED);
    return true;
}

bool vm_space_map_untraced(struct vm_space *vs, uint64_t va, uint64_t pa, uint64_t *node,
                           unsigned *index)
{
    struct pt_walk_result w;
    if (pt_walk(vm_space_root(vs), va, read_entry, NULL, &w) != PT_WALK_OK || w.level != 1 ||
        w.pte != 0)
        return false;
    /* A 4 KiB leaf as the page-table core encodes one (bit 7 is OSTD's leaf marker, the PAT bit
     * at level 1, which the guest's IA32_PAT makes harmless). */
    pt_pte_t leaf = (pa & PTE_ADDR_MASK_4K) | PTE_P | PTE_US | PTE_A | PTE_D | PTE_PS | PTE_NX |
                    PTE_UNTRACKED;
    *index = pt_index(va, 1);
    *node = w.nodes[0];
    __atomic_store_n((pt_pte_t *)phys_to_virt(w.nodes[0]) + *index, leaf, __ATOMIC_RELEASE);
    return true;
}
