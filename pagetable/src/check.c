/* Full-table consistency checker: see check.h. */
#include "pagetable/check.h"
#include "internal.h"

static uint64_t check_epoch;  /* visit stamp source; one per pt_check call */

struct ctx {
    const struct pt_page_table *pt;
    struct pt_check_result *res;
    uint64_t stamp;
};

static bool fail(struct ctx *x, const char *what, pt_paddr_t node, unsigned i, int level)
{
    if (!x->res->error) {
        x->res->error = what;
        x->res->node = node;
        x->res->index = i;
        x->res->level = level;
    }
    return false;
}

static bool in_meta(const struct pt_mem *mem, pt_paddr_t pa)
{
    return (pa & (PT_BASE_PAGE_SIZE - 1)) == 0 && (pa >> PT_BASE_PAGE_SHIFT) < mem->nr_frames;
}

static bool check_node_meta(struct ctx *x, pt_paddr_t node, int level, bool shared_ok)
{
    const struct pt_mem *mem = x->pt->mem;
    if (!in_meta(mem, node))
        return fail(x, "node address outside the metadata array", node, 0, level);
    struct pt_frame_meta *m = pt_meta_fast(mem, node);
    uint64_t rc = __atomic_load_n(&m->ref_count, __ATOMIC_RELAXED);
    if (m->usage != PT_USAGE_PT_NODE)
        return fail(x, "node frame's usage is not PT_NODE", node, 0, level);
    if (m->level != level)
        return fail(x, "node's metadata level differs from its depth", node, 0, level);
    if (rc == 0 || rc > PT_REF_MAX || (!shared_ok && rc != 1))
        return fail(x, "node's reference count is not 1", node, 0, level);
    if (__atomic_load_n(&m->stray, __ATOMIC_RELAXED))
        return fail(x, "reachable node is marked stray", node, 0, level);
    if (__atomic_load_n(&m->lock, __ATOMIC_RELAXED))
        return fail(x, "node is locked with no live cursor", node, 0, level);
    if (m->owner == x->stamp)
        return fail(x, "node reachable twice", node, 0, level);
    m->owner = x->stamp;
    x->res->nr_nodes++;
    return true;
}

static bool check_leaf(struct ctx *x, pt_paddr_t node, unsigned i, int level, pt_pte_t pte)
{
    const struct pt_mem *mem = x->pt->mem;
    if (level > x->pt->cfg->max_leaf_level)
        return fail(x, "leaf above the config's max leaf level", node, i, level);
    if (pte & PTE_ADDR_MASK_4K & ~pt_leaf_addr_mask(level))
        return fail(x, "huge leaf's address is not aligned to its size", node, i, level);
    x->res->nr_leaves++;
    if (!pt_pte_leaf_tracked(pte))
        return true;
    if (level != 1)
        return fail(x, "tracked leaf above level 1", node, i, level);
    pt_paddr_t pa = pt_pte_leaf_paddr(pte, 1);
    if (!in_meta(mem, pa))
        return fail(x, "tracked leaf outside the metadata array", node, i, level);
    const struct pt_frame_meta *m = pt_meta_fast(mem, pa);
    uint64_t rc = __atomic_load_n(&m->ref_count, __ATOMIC_RELAXED);
    if (rc == 0 || rc > PT_REF_MAX)
        return fail(x, "tracked leaf's frame is not live", node, i, level);
    if (m->usage != PT_USAGE_UNTYPED && m->usage != PT_USAGE_KERNEL)
        return fail(x, "tracked leaf's frame is not UNTYPED or KERNEL", node, i, level);
    x->res->nr_tracked++;
    return true;
}

static bool check_node(struct ctx *x, pt_paddr_t node, int level, unsigned lo, unsigned hi,
                       bool shared_ok);

static bool check_entry(struct ctx *x, pt_paddr_t node, unsigned i, int level, pt_pte_t pte)
{
    if (pt_pte_is_leaf(pte))
        return check_leaf(x, node, i, level, pte);
    if (level == 1)
        return fail(x, "table entry in a level-1 node", node, i, level);
    pt_paddr_t child = pt_pte_table_paddr(pte);
    if ((pte | PTE_A) != (pt_pte_make_table(child) | PTE_A))  /* A may or may not be set */
        return fail(x, "table entry has unexpected bits", node, i, level);
    bool kernel_top = level == PT_NR_LEVELS && !x->pt->cfg->top_can_unmap;
    return check_node(x, child, level - 1, 0, PT_NR_ENTRIES, kernel_top);
}

/* Check node and its subtree; only entries [lo, hi) are descended into. */
static bool check_node(struct ctx *x, pt_paddr_t node, int level, unsigned lo, unsigned hi,
                       bool shared_ok)
{
    if (!check_node_meta(x, node, level, shared_ok))
        return false;
    const pt_pte_t *ptes = pt_node_ptes(x->pt->mem, node);
    unsigned count = 0;
    for (unsigned i = 0; i < PT_NR_ENTRIES; i++) {
        pt_pte_t pte = pt_pte_load(ptes, i);
        if (pt_pte_is_absent(pte))
            continue;
        count++;
        if (i >= lo && i < hi) {
            if (!check_entry(x, node, i, level, pte))
                return false;
        } else if (!x->pt->cfg->top_can_unmap) {
            return fail(x, "kernel table maps outside its top-level range", node, i, level);
        } else if (!pt_pte_is_table(pte)) {
            return fail(x, "user table's kernel half holds a leaf", node, i, level);
        }
    }
    if (count != pt_meta_fast(x->pt->mem, node)->nr_children)
        return fail(x, "nr_children differs from the non-zero PTE count", node, 0, level);
    return true;
}

bool pt_check(const struct pt_page_table *pt, struct pt_check_result *res)
{
    struct pt_check_result zero = { 0, 0, 0, 0, 0, 0, 0 };
    *res = zero;
    struct ctx x = { pt, res, __atomic_add_fetch(&check_epoch, 1, __ATOMIC_RELAXED) };
    const struct pt_config *cfg = pt->cfg;
    if (!check_node(&x, pt->root, PT_NR_LEVELS, cfg->top_index_lo, cfg->top_index_hi, true))
        return false;
    if (!cfg->top_can_unmap) {
        const pt_pte_t *ptes = pt_node_ptes(pt->mem, pt->root);
        for (unsigned i = cfg->top_index_lo; i < cfg->top_index_hi; i++)
            if (!pt_pte_is_table(pt_pte_load(ptes, i)))
                return fail(&x, "kernel top-level entry not a pre-allocated table", pt->root, i,
                            PT_NR_LEVELS);
    }
    return true;
}
