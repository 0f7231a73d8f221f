/*
 * Page-table configurations, creation and destruction, error names.
 */
#include "internal.h"

const struct pt_config pt_user_config = { 0, 256, true, 2 };
const struct pt_config pt_kernel_config = { 256, 512, false, 2 };
const struct pt_config pt_user_config_1g = { 0, 256, true, 3 };
const struct pt_config pt_kernel_config_1g = { 256, 512, false, 3 };

const char *pt_error_name(int err)
{
    switch (err) {
    case PT_OK: return "PT_OK";
    case PT_ERR_NOMEM: return "PT_ERR_NOMEM";
    case PT_ERR_INVALID_RANGE: return "PT_ERR_INVALID_RANGE";
    case PT_ERR_UNALIGNED: return "PT_ERR_UNALIGNED";
    case PT_ERR_INVALID_VADDR: return "PT_ERR_INVALID_VADDR";
    case PT_ERR_BEYOND_BARRIER: return "PT_ERR_BEYOND_BARRIER";
    case PT_ERR_BAD_LEVEL: return "PT_ERR_BAD_LEVEL";
    case PT_ERR_UNTRACKED_SIZE: return "PT_ERR_UNTRACKED_SIZE";
    case PT_ERR_BAD_PROP: return "PT_ERR_BAD_PROP";
    case PT_ERR_BAD_FRAME: return "PT_ERR_BAD_FRAME";
    case PT_ERR_PADDR_WIDTH: return "PT_ERR_PADDR_WIDTH";
    default: return "PT_ERR_UNKNOWN";
    }
}

pt_vaddr_t pt_config_va_start(const struct pt_config *cfg)
{
    return pt_canonical((pt_vaddr_t)cfg->top_index_lo * pt_page_size(PT_NR_LEVELS));
}

pt_vaddr_t pt_config_va_end(const struct pt_config *cfg)
{
    /* One past the last byte of entry hi-1: 2^47 for the user half (not
     * canonicalised: it is an end, not an address), and 2^64 -> 0 for the
     * kernel half. */
    uint64_t span = pt_page_size(PT_NR_LEVELS);
    return pt_canonical((pt_vaddr_t)(cfg->top_index_hi - 1) * span) + span;
}

/* Pre-allocate one level-3 node per kernel top-level entry (OSTD), so that
 * the entries user tables copy never change. */
static int prealloc_top(struct pt_page_table *pt)
{
    pt_pte_t *ptes = pt_node_ptes(pt->mem, pt->root);
    struct pt_frame_meta *rm = pt_meta_fast(pt->mem, pt->root);
    for (unsigned i = pt->cfg->top_index_lo; i < pt->cfg->top_index_hi; i++) {
        pt_paddr_t child;
        if (!pt_node_alloc(pt->mem, PT_NR_LEVELS - 1, &child))
            return PT_ERR_NOMEM;
        pt_pte_t old = 0;  /* a fresh root, not yet reachable by any CPU */
        pt_pte_update(pt->mem, pt->root, ptes, i, PT_NR_LEVELS, &old, pt_pte_make_table(child));
        rm->nr_children++;
    }
    return PT_OK;
}

int pt_create(struct pt_page_table *pt, struct pt_mem *mem, const struct pt_config *cfg)
{
    PT_ASSERT(cfg->top_index_lo < cfg->top_index_hi && cfg->top_index_hi <= PT_NR_ENTRIES &&
                  cfg->max_leaf_level >= 1 && cfg->max_leaf_level <= 3,
              "pt_create: malformed pt_config");
    pt->mem = mem;
    pt->cfg = cfg;
    if (!pt_node_alloc(mem, PT_NR_LEVELS, &pt->root))
        return PT_ERR_NOMEM;
    if (!cfg->top_can_unmap) {
        int err = prealloc_top(pt);
        if (err) {
            pt_frame_put(mem, pt->root);  /* frees the level-3 nodes made so far */
            pt->root = 0;
            return err;
        }
    }
    return PT_OK;
}

int pt_create_user_sharing(struct pt_page_table *pt, const struct pt_page_table *kernel,
                           const struct pt_config *user_cfg)
{
    PT_ASSERT(!kernel->cfg->top_can_unmap && kernel->cfg->top_index_lo == PT_NR_ENTRIES / 2,
              "pt_create_user_sharing: `kernel` is not a kernel-config table");
    PT_ASSERT(user_cfg->top_index_hi <= kernel->cfg->top_index_lo,
              "pt_create_user_sharing: user config overlaps the kernel half");
    int err = pt_create(pt, kernel->mem, user_cfg);
    if (err)
        return err;
    pt_pte_t *kptes = pt_node_ptes(kernel->mem, kernel->root);
    pt_pte_t *uptes = pt_node_ptes(pt->mem, pt->root);
    struct pt_frame_meta *rm = pt_meta_fast(pt->mem, pt->root);
    for (unsigned i = kernel->cfg->top_index_lo; i < kernel->cfg->top_index_hi; i++) {
        pt_pte_t pte = pt_pte_load_acquire(kptes, i);
        PT_ASSERT(pt_pte_is_table(pte), "kernel top-level entry not pre-allocated");
        pt_frame_get(pt->mem, pt_pte_table_paddr(pte));
        pt_pte_t old = 0;  /* a fresh root, not yet reachable by any CPU */
        pt_pte_update(pt->mem, pt->root, uptes, i, PT_NR_LEVELS, &old,
                      pt_pte_make_table(pt_pte_table_paddr(pte)));  /* without the MMU's A */
        rm->nr_children++;
    }
    return PT_OK;
}

void pt_destroy(struct pt_page_table *pt)
{
    /* The root's last reference: node drop frees every node and gives back
     * every tracked frame reference, recursively (frame.c). Shared kernel
     * entries only lose this table's reference. */
    pt_frame_put(pt->mem, pt->root);
    pt->root = 0;
}
