/*
 * The address-space trees, rebuilt from node allocations, PTE stores and
 * root loads: a table
 * of page-table nodes keyed by physical address, each holding its 512
 * modelled entries, its level, its position (parent and index) and the VA
 * of its first entry. Also the reverse map from frames to the number of
 * live tracked leaf mappings (for aliases).
 *
 * Shape rules (OSTD encoding, x86_64.h): all-zero = absent; bit 7 set = a
 * leaf (at levels 1..3); anything else non-zero = a table pointer (levels
 * 2..4). A node has at most one parent, except a level-3 node, which may be
 * shared by several roots at the same PML4 index (the kernel half).
 */
#include <stdlib.h>

#include "pagetable/x86_64.h"
#include "validator_internal.h"

struct vnode *tlb_v_tree_node(const struct tlb_validator *v, uint64_t pa)
{
    if (v->last_node && v->last_node->pa == pa)
        return v->last_node;
    uint64_t *p = tlb_v_hmap_get(&v->nodes, pa);
    return p ? (struct vnode *)(uintptr_t)*p : NULL;
}

struct vnode *tlb_v_tree_node_get(struct tlb_validator *v, uint64_t pa, int level, uint64_t seq)
{
    struct vnode *n = tlb_v_tree_node(v, pa);
    if (n) {
        v->last_node = n;
        if (n->level != level) {
            tlb_v_bad_input(v, "event %llu: page-table node 0x%llx is used at level %d but is a level-%u node",
                        (unsigned long long)seq, (unsigned long long)pa, level, n->level);
            return NULL;
        }
        return n;
    }
    n = calloc(1, sizeof *n);
    if (!n || !tlb_v_hmap_put(&v->nodes, pa, (uint64_t)(uintptr_t)n)) {
        free(n);
        tlb_v_bad_input(v, "event %llu: out of memory for page-table node 0x%llx", (unsigned long long)seq,
                    (unsigned long long)pa);
        return NULL;
    }
    n->pa = pa;
    n->level = (uint8_t)level;
    tlb_v_check_node_reuse(v, pa, seq);
    return n;
}

/* Why a NODE_ALLOC of the known node n is refused: it still has a life in the stream. */
static enum tlb_verdict refuse_alloc(struct tlb_validator *v, const struct tlb_event *ev, const struct vnode *n)
{
    unsigned long long seq = ev->seq, pa = n->pa;
    if (n->nparents > 0 && n->parent)
        return tlb_v_bad_input(v, "event %llu: NODE_ALLOC of page-table node 0x%llx, which is still linked "
                           "into a page table (level %u, from node 0x%llx index %u)", seq, pa, n->level,
                           (unsigned long long)n->parent->pa, n->parent_index);
    if (n->nparents > 0)
        return tlb_v_bad_input(v, "event %llu: NODE_ALLOC of page-table node 0x%llx, which is still linked "
                           "into a page table (level %u)", seq, pa, n->level);
    if (n->whole)
        return tlb_v_bad_input(v, "event %llu: NODE_ALLOC of page-table node 0x%llx, allocated at event %llu "
                           "and never freed since (a FREE of it is missing)", seq, pa,
                           (unsigned long long)n->alloc_seq);
    return tlb_v_bad_input(v, "event %llu: NODE_ALLOC of page-table node 0x%llx, which the stream uses as a "
                       "level-%u node and never freed (a FREE of it is missing)", seq, pa, n->level);
}

enum tlb_verdict tlb_v_tree_node_alloc(struct tlb_validator *v, const struct tlb_event *ev)
{
    const struct vnode *known = tlb_v_tree_node(v, ev->u.alloc.node);
    if (known)
        return refuse_alloc(v, ev, known);
    struct vnode *n = tlb_v_tree_node_get(v, ev->u.alloc.node, ev->sub, ev->seq);
    if (!n)
        return TLB_VERDICT_BAD_INPUT;
    n->whole = true;
    n->alloc_seq = ev->seq;
    return TLB_VERDICT_OK;
}

bool tlb_v_tree_attached(const struct vnode *n)
{
    while (n && n->level < 4) {
        if (n->nparents == 0)
            return false;
        if (n->level == 3)
            return true;        /* every parent of a level-3 node is a root */
        n = n->parent;
    }
    return n != NULL;
}

uint64_t tlb_v_tree_entry_va(const struct vnode *n, unsigned idx)
{
    return pt_canonical(n->base_va + (uint64_t)idx * pt_page_size(n->level));
}

const struct vnode *tlb_v_tree_top(const struct vnode *n)
{
    while (n && n->level < 3) {
        if (n->nparents == 0)
            return NULL;
        n = n->parent;
    }
    if (n && n->level == 3 && n->nparents == 0)
        return NULL;
    return n;
}

bool tlb_v_tree_root_has(const struct vnode *root, const struct vnode *top)
{
    if (!root || !top)
        return false;
    if (top->level == 4)
        return root == top;
    uint64_t e = root->pte[top->parent_index];
    return e != 0 && !(e & PTE_PS) && (e & PTE_TABLE_ADDR_MASK) == top->pa;
}

uint64_t tlb_v_tree_link_since(const struct vnode *n)
{
    uint64_t s = 0;
    /* Up to the top: every parent of a level-3 node is a root, whose link is per root. */
    for (; n && n->level < 3 && n->parent; n = n->parent)
        if (n->parent->since[n->parent_index] > s)
            s = n->parent->since[n->parent_index];
    return s;
}

uint64_t tlb_v_tree_entry_since(const struct vnode *n, unsigned idx)
{
    uint64_t up = tlb_v_tree_link_since(n);
    return n->since[idx] > up ? n->since[idx] : up;
}

uint64_t tlb_v_tree_root_bound(const struct vnode *root, const struct vnode *top, uint64_t until)
{
    if (!tlb_v_tree_root_has(root, top))
        return 0;
    if (top->level == 4)
        return until;
    /* The root's link to top must itself predate `until` for anything below to have been reachable. */
    return root->since[top->parent_index] < until ? until : 0;
}

bool tlb_v_tree_reaches(const struct tlb_validator *v, uint64_t root_pa, const struct vnode *n)
{
    return tlb_v_tree_root_has(tlb_v_tree_node(v, root_pa), tlb_v_tree_top(n));
}

/* Set the VA of a subtree whose root moved to `va`. */
static void set_base(const struct tlb_validator *v, struct vnode *n, uint64_t va, int depth)
{
    n->base_va = va;
    if (n->level == 1 || depth > 4)
        return;
    for (unsigned i = 0; i < 512; i++) {
        uint64_t e = n->pte[i];
        if (e == 0 || (e & PTE_PS))
            continue;
        struct vnode *c = tlb_v_tree_node(v, e & PTE_TABLE_ADDR_MASK);
        if (c && c->parent == n)
            set_base(v, c, tlb_v_tree_entry_va(n, i), depth + 1);
    }
}

bool tlb_v_tree_link(struct tlb_validator *v, struct vnode *parent, unsigned idx, uint64_t pte, uint64_t seq)
{
    uint64_t pa = pte & PTE_TABLE_ADDR_MASK;
    struct vnode *c = tlb_v_tree_node_get(v, pa, parent->level - 1, seq);
    if (!c)
        return false;
    if (c->nparents > 0) {
        if (!(c->level == 3 && c->parent_index == idx)) {
            tlb_v_bad_input(v, "event %llu: page-table node 0x%llx (level %u) is linked a second time "
                        "(from node 0x%llx index %u); only level-3 nodes may be shared, at the same index",
                        (unsigned long long)seq, (unsigned long long)pa, c->level,
                        (unsigned long long)parent->pa, idx);
            return false;
        }
        c->nparents++;
        if (!c->parent)
            c->parent = parent;
        return true;
    }
    c->nparents = 1;
    c->parent = parent;
    c->parent_index = (uint16_t)idx;
    set_base(v, c, tlb_v_tree_entry_va(parent, idx), 0);
    return true;
}

void tlb_v_tree_unlink(struct tlb_validator *v, struct vnode *parent, unsigned idx, uint64_t pte)
{
    struct vnode *c = tlb_v_tree_node(v, pte & PTE_TABLE_ADDR_MASK);
    if (!c || c->nparents == 0)
        return;
    /* A stale entry in a parent may name a node that was freed and whose address now holds a new
     * node linked elsewhere: only the node's own parent (or, for a shared level-3 node, a root at
     * its index) may unlink it. */
    if (c->level == 3 ? (parent->level != 4 || c->parent_index != idx) : c->parent != parent)
        return;
    c->nparents--;
    if (c->parent == parent)
        c->parent = NULL;
}

/* Depth-first walk of the subtree under table entry `pte`, calling `leaf` for hardware-present
 * leaves and recording node addresses. */
static bool collect(const struct tlb_validator *v, uint64_t pte, uint64_t **arr, uint32_t *n,
                    uint32_t *cap, int depth)
{
    struct vnode *c = tlb_v_tree_node(v, pte & PTE_TABLE_ADDR_MASK);
    if (!c || depth > 4)
        return true;
    if (*n == *cap) {
        uint32_t nc = *cap ? *cap * 2 : 8;
        uint64_t *na = realloc(*arr, nc * sizeof *na);
        if (!na)
            return false;
        *arr = na;
        *cap = nc;
    }
    (*arr)[(*n)++] = c->pa;
    if (c->level == 1)
        return true;
    for (unsigned i = 0; i < 512; i++) {
        uint64_t e = c->pte[i];
        if (e != 0 && !(e & PTE_PS) && !collect(v, e, arr, n, cap, depth + 1))
            return false;
    }
    return true;
}

uint64_t *tlb_v_tree_subtree_nodes(const struct tlb_validator *v, uint64_t pte, uint32_t *n)
{
    uint64_t *arr = NULL;
    uint32_t cap = 0;
    *n = 0;
    if (!collect(v, pte, &arr, n, &cap, 0)) {
        free(arr);
        *n = 0;
        return NULL;
    }
    return arr;
}

void tlb_v_tree_forget(struct tlb_validator *v, struct vnode *n)
{
    for (unsigned i = 0; i < 512; i++) {
        uint64_t e = n->pte[i];
        if (e == 0)
            continue;
        if (e & PTE_PS)
            tlb_v_rmap_add(v, e, n->level, -1, n->pa, i);
        else
            tlb_v_tree_unlink(v, n, i, e);
    }
    if (n->level == 4)
        tlb_v_cpu_forget_root(v, n->pa);
    /* CPUs' cached pointers to this node as a loaded root. */
    for (uint32_t c = 0; c < v->ncpus; c++)
        for (uint32_t s = 0; s < v->cpus[c].nslots; s++)
            if (v->cpus[c].slots[s].root_node == n)
                v->cpus[c].slots[s].root_node = NULL;
    tlb_v_hmap_del(&v->nodes, n->pa);
    if (v->last_node == n)
        v->last_node = NULL;
    free(n);
}

void tlb_v_tree_destroy_all(struct tlb_validator *v)
{
    if (!v->nodes.keys)
        return;
    for (size_t i = 0; i < v->nodes.cap; i++)
        if (v->nodes.keys[i] != HMAP_EMPTY)
            free((void *)(uintptr_t)v->nodes.vals[i]);
    tlb_v_hmap_free(&v->nodes);
}

/* ---- reverse map ---- */

bool tlb_v_pte_linear_map_leaf(uint64_t pte, int level)
{
    return level >= 2 && level <= 3 && (pte & PTE_PS) && (pte & PTE_G);
}

/*
 * A leaf counted in the reverse map: it maps memory whose frames the kernel
 * frees (so a free while it is live is T19, and a frame it maps elsewhere is
 * an alias). Not an untracked leaf (device memory, OSTD's PTE_UNTRACKED), and
 * not the kernel's linear map of all RAM (tlb_v_pte_linear_map_leaf): that
 * map aliases every frame, the kernel reaches freed memory through it by
 * design, and counting it would turn every correct free into T19 and every
 * early free into T19 instead of T1.
 */
bool tlb_v_pte_tracked_leaf(uint64_t pte, int level)
{
    return level <= 3 && (pte & PTE_PS) && !(pte & PTE_UNTRACKED) && !tlb_v_pte_linear_map_leaf(pte, level);
}

static uint64_t rmap_key(uint64_t base, int level) { return base | (uint64_t)level; }

bool tlb_v_rmap_add(struct tlb_validator *v, uint64_t pte, int level, int delta, uint64_t node_pa, unsigned idx)
{
    if (!tlb_v_pte_tracked_leaf(pte, level))
        return true;
    uint64_t key = rmap_key(pte & pt_leaf_addr_mask(level), level), loc = node_pa | idx;
    uint64_t *p = tlb_v_hmap_get(&v->rmap, key);
    if (delta > 0) {
        if (p) {
            uint64_t count = *p >> RMAP_COUNT_SHIFT;
            count += count < 0xfff;
            *p = count << RMAP_COUNT_SHIFT | loc;
        } else if (!tlb_v_hmap_put(&v->rmap, key, 1ull << RMAP_COUNT_SHIFT | loc)) {
            return false;
        }
        v->rmap_huge += level > 1;
        return true;
    }
    if (p) {
        v->rmap_huge -= level > 1;
        uint64_t count = *p >> RMAP_COUNT_SHIFT;
        if (count <= 1)
            tlb_v_hmap_del(&v->rmap, key);
        else
            *p = (count - 1) << RMAP_COUNT_SHIFT | ((*p & RMAP_LOC_MASK) == loc ? 0 : (*p & RMAP_LOC_MASK));
    }
    return true;
}

/* Visit the rmap keys that may map frames in [pa, pa+len): by address when the range is small,
 * else by walking the table (so a huge free costs at most the table size). */
static void rmap_visit(const struct tlb_validator *v, uint64_t pa, uint64_t len,
                       bool (*fn)(void *ctx, uint64_t key, uint64_t val), void *ctx)
{
    if (len / PAGE_4K > v->rmap.cap) {
        for (size_t k = 0; k < v->rmap.cap; k++) {
            uint64_t key = v->rmap.keys[k];
            if (key == HMAP_EMPTY)
                continue;
            uint64_t base = key & ~0xfffull, size = pt_page_size((int)(key & 0xfff));
            if (base < pa + len && pa < base + size && !fn(ctx, key, v->rmap.vals[k]))
                break;
        }
        return;
    }
    for (int level = 1; level <= 3; level++) {
        if (level > 1 && v->rmap_huge == 0)
            break;
        uint64_t sz = pt_page_size(level);
        for (uint64_t b = pa & ~(sz - 1); b < pa + len; b += sz) {
            uint64_t *p = tlb_v_hmap_get(&v->rmap, rmap_key(b, level));
            if (p && !fn(ctx, rmap_key(b, level), *p))
                return;
        }
    }
}

static bool add_count(void *ctx, uint64_t key, uint64_t val)
{
    (void)key;
    *(uint64_t *)ctx += val >> RMAP_COUNT_SHIFT;
    return true;
}

uint32_t tlb_v_rmap_count_frame_range(const struct tlb_validator *v, uint64_t pa, uint64_t len)
{
    uint64_t total = 0;
    rmap_visit(v, pa, len, add_count, &total);
    return total > UINT32_MAX ? UINT32_MAX : (uint32_t)total;
}

/* Scan every node for tracked leaves mapping [pa, pa+len) (when the rmap lost a location). */
static size_t scan_locations(const struct tlb_validator *v, uint64_t pa, uint64_t len, uint64_t *locs,
                             size_t n, size_t max)
{
    for (size_t k = 0; k < v->nodes.cap && n < max; k++) {
        if (v->nodes.keys[k] == HMAP_EMPTY)
            continue;
        const struct vnode *nd = (const struct vnode *)(uintptr_t)v->nodes.vals[k];
        if (nd->level > 3)
            continue;
        uint64_t size = pt_page_size(nd->level);
        for (unsigned i = 0; i < 512 && n < max; i++) {
            uint64_t e = nd->pte[i];
            if (!tlb_v_pte_tracked_leaf(e, nd->level))
                continue;
            uint64_t f = e & pt_leaf_addr_mask(nd->level);
            if (f < pa + len && pa < f + size)
                locs[n++] = nd->pa | i;
        }
    }
    return n;
}

struct loc_ctx {
    uint64_t *locs;
    size_t n, max;
    bool lost;
};

static bool add_loc(void *ctx, uint64_t key, uint64_t val)
{
    struct loc_ctx *x = ctx;
    (void)key;
    if ((val >> RMAP_COUNT_SHIFT) == 1 && (val & RMAP_LOC_MASK))
        x->locs[x->n++] = val & RMAP_LOC_MASK;
    else
        x->lost = true;   /* several aliases or an unknown location: scan */
    return x->n < x->max && !x->lost;
}

size_t tlb_v_rmap_locations(const struct tlb_validator *v, uint64_t pa, uint64_t len, uint64_t *locs, size_t max)
{
    struct loc_ctx x = { locs, 0, max, false };
    if (max == 0)
        return 0;
    rmap_visit(v, pa, len, add_loc, &x);
    return x.lost ? scan_locations(v, pa, len, locs, 0, max) : x.n;
}
