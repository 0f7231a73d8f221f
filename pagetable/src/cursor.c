/*
 * Cursor operations (OSTD page_table/cursor/mod.rs, seed semantics).
 *
 * Cursor state: path[l-1] is the (locked) node at level l for
 * level <= l <= guard_level. While va < barrier_end, the node at `level`
 * covers va. An "exhausted" cursor (va == barrier_end) may have any level;
 * jump handles it (#2709).
 *
 * l1_end (the level-1 fast paths' one compare): when va < l1_end, the
 * cursor is at level 1 on the node covering va, and va < barrier_end;
 * l1_end is then min(end of that node, barrier_end). It is set by l1_known
 * (the fast paths of map, protect_next and take_next) and zeroed ("unknown")
 * by everything that moves the cursor other than their one-page step inside
 * that node: l1_forget in push_level, move_forward, set_va, map_descend and
 * find_impl, and pt_cursor_reset_caches when the range is locked.
 */
#include "internal.h"
#include "prop_bits.h"

#define PAGE_MASK (PT_BASE_PAGE_SIZE - 1)
/* The bits a 4 KiB item's pa must not have: offset bits and those at or above
 * the physical-address width (they would land in NX and the software bits). */
#define PA_BAD_4K (PAGE_MASK | ~(PT_PHYS_ADDR_LIMIT - 1))

static inline pt_paddr_t cur_node(const struct pt_cursor *c)
{
    return c->path[c->level - 1];
}

static inline pt_pte_t *cur_ptes(const struct pt_cursor *c)
{
    return c->ptes[c->level - 1];
}

static inline void l1_forget(struct pt_cursor *c)
{
    c->l1_end = 0;
}

/* Is the cursor at level 1 on the node covering va, with va < barrier_end?
 * Establishes l1_end when it is and l1_end was unknown. */
static inline bool l1_known(struct pt_cursor *c, pt_vaddr_t va)
{
    if (__builtin_expect(va < c->l1_end, 1))
        return true;
    if (c->level != 1 || va >= c->barrier_end)
        return false;
    /* min(end of the node, barrier_end); a node end that wraps to 0 at 2^64
     * is past any barrier_end. */
    pt_vaddr_t node_last = va | (pt_page_size(2) - 1);
    c->l1_end = node_last < c->barrier_end ? node_last + 1 : c->barrier_end;
    return true;
}

static inline void push_level(struct pt_cursor *c, pt_paddr_t child)
{
    l1_forget(c);
    c->level--;
    c->path[c->level - 1] = child;
    c->ptes[c->level - 1] = pt_node_ptes(c->mem, child);
}

/* Go to the end of the current entry, popping out of finished nodes. Clamps
 * at barrier_end (also when the next address would wrap past 2^64). */
static inline void move_forward(struct pt_cursor *c)
{
    l1_forget(c);
    uint64_t size = pt_page_size(c->level);
    pt_vaddr_t next = (c->va & ~(size - 1)) + size;
    if (__builtin_expect(pt_index(next, c->level) == 0, 0))
        while (c->level < c->guard_level && pt_index(next, c->level) == 0)
            c->level++;
    if (__builtin_expect(next == 0 || next > c->barrier_end, 0))
        next = c->barrier_end;
    c->va = next;
}

/* Set va to `target` (in the locked range or == barrier_end), popping until
 * the node at `level` covers it. */
static void set_va(struct pt_cursor *c, pt_vaddr_t target)
{
    l1_forget(c);
    if (c->va >= c->barrier_end) {
        c->level = c->guard_level;  /* exhausted: path below is stale */
    } else {
        /* Pop until the node at `level` covers target: that node spans
         * pt_page_size(level + 1), so va and target must agree on every bit
         * from PT_BASE_PAGE_SHIFT + 9 * level up. */
        pt_vaddr_t diff = c->va ^ target;
        int level = c->level;
        unsigned shift = PT_BASE_PAGE_SHIFT + PT_ENTRY_BITS * (unsigned)level;
        while (level < c->guard_level && (diff >> shift) != 0) {
            level++;
            shift += PT_ENTRY_BITS;
        }
        c->level = level;
    }
    c->va = target;
}

/*
 * One-entry caches. Sequential work through a cursor almost always sees one
 * property over and over, and turning a struct pt_prop into PTE bits (or
 * back) costs more than the rest of a 4 KiB map or protect. Each cache maps
 * an exact key to what the encoder/decoder returned for it, so a hit gives
 * bit-for-bit what a miss computes; the op of protect_next is still called
 * for every leaf.
 *
 * map_key/map_bits: the eight bytes of a level-1 item starting at `level`
 *   (level = 1, then flags, priv, cache, tracked), validated, and the leaf
 *   bits without the address: PTE_LEAF | prop bits | (tracked ? 0 :
 *   PTE_UNTRACKED). One compare checks level and property.
 * prot_word/prot_bits: a valid property (as a prop_word, below) and its
 *   PT_PROP_BITS.
 * dec_bits/dec_item/dec_word: pte & DEC_BITS of a leaf (PTE_LEAF, the
 *   property bits and PTE_UNTRACKED), the level-1 item it decodes to
 *   (level 1, prop, tracked; pa is not cached), and that item's prop as a
 *   prop_word. dec_bits always has PTE_LEAF, so leaf_decoded's one masked
 *   compare tells "a leaf, and its decoding is cached".
 */
_Static_assert(sizeof(int) == 4 && sizeof(struct pt_prop) == 3 && sizeof(bool) == 1 &&
                   offsetof(struct pt_item, prop) == offsetof(struct pt_item, level) + 4 &&
                   offsetof(struct pt_item, tracked) == offsetof(struct pt_item, prop) + 3,
               "item_key reads level, prop and tracked as one 64-bit word");

static inline uint64_t item_key(const struct pt_item *item)
{
    uint64_t k;
    __builtin_memcpy(&k, &item->level, sizeof(k));  /* level, flags, priv, cache, tracked */
    return k;
}

/* Remember `item`'s (already validated) property for the map fast path. */
static inline void map_cache_fill(struct pt_cursor *c, const struct pt_item *item)
{
    c->map_key = item_key(item);
    c->map_bits = PTE_LEAF | pt_prop_bits(item->prop) | (item->tracked ? 0 : PTE_UNTRACKED);
}

/*
 * A property as one 32-bit word (flags | priv << 8 | cache << 16), so that
 * the protect fast path copies and compares it with one instruction each
 * (field by field, or building the word from the struct's three bytes,
 * takes several instructions each time).
 * The op of protect_next edits `.prop` of such a union through a struct
 * pt_prop pointer; the fourth byte is outside that struct, and the word is
 * masked with PROP_WORD_MASK before it is compared anyway.
 */
union prop_word {
    struct pt_prop prop;
    uint32_t word;
};
#define PROP_WORD_MASK 0xffffffu
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ && sizeof(union prop_word) == 4,
               "prop_word: flags in the low byte of a 32-bit word");

static inline uint32_t prop_word_of(struct pt_prop p)
{
    return (uint32_t)p.flags | (uint32_t)p.priv << 8 | (uint32_t)p.cache << 16;
}

/* PT_PROP_BITS of `p`, or false if p is invalid. */
static inline bool prot_bits_cached(struct pt_cursor *c, struct pt_prop p, pt_pte_t *bits)
{
    uint32_t w = prop_word_of(p);
    if (__builtin_expect(w != c->prot_word, 0)) {
        if (!pt_prop_valid_fast(p))
            return false;
        c->prot_word = w;
        c->prot_bits = pt_prop_bits(p);
    }
    *bits = c->prot_bits;
    return true;
}

/* The bits of a leaf that decide its decoding. */
#define DEC_BITS (PTE_LEAF | PT_PROP_BITS | PTE_UNTRACKED)

static __attribute__((noinline)) void decode_miss(struct pt_cursor *c, pt_pte_t pte)
{
    c->dec_bits = pte & DEC_BITS;
    c->dec_item.level = 1;
    c->dec_item.prop = pt_pte_prop_fast(pte);
    c->dec_item.tracked = pt_pte_leaf_tracked(pte);
    c->dec_word = prop_word_of(c->dec_item.prop);
}

/* Is `pte` a leaf whose decoding c->dec_item holds? (The fast paths' test.) */
static inline bool leaf_decoded(const struct pt_cursor *c, pt_pte_t pte)
{
    return (pte & DEC_BITS) == c->dec_bits;
}

/* Make c->dec_item describe leaf `pte` (but for pa and level). */
static inline void decode_cached(struct pt_cursor *c, pt_pte_t pte)
{
    if (__builtin_expect(!leaf_decoded(c, pte), 0))
        decode_miss(c, pte);
}

static inline struct pt_prop prop_decode_cached(struct pt_cursor *c, pt_pte_t pte)
{
    decode_cached(c, pte);
    return c->dec_item.prop;
}

/* The slot of `va` in level-1 node `ptes` (byte offset (va >> 12 & 511) * 8). */
static inline pt_pte_t *l1_slot(pt_pte_t *ptes, pt_vaddr_t va)
{
    return (pt_pte_t *)((char *)ptes + ((va >> (PT_BASE_PAGE_SHIFT - 3)) & (PT_NR_ENTRIES * 8 - 8)));
}

int pt_cursor_new(struct pt_cursor *c, struct pt_page_table *pt, pt_vaddr_t start, pt_vaddr_t end)
{
    if ((start | end) & PAGE_MASK)
        return PT_ERR_UNALIGNED;
    pt_vaddr_t lo = pt_config_va_start(pt->cfg), hi = pt_config_va_end(pt->cfg);
    if (!(start < end) || start < lo || (hi != 0 && end > hi))
        return PT_ERR_INVALID_RANGE;
    c->pt = pt;
    c->mem = pt->mem;
    c->va = start;
    c->barrier_start = start;
    c->barrier_end = end;
    return pt_lock_range(c);
}

void pt_cursor_drop(struct pt_cursor *c)
{
    pt_unlock_range(c);
    c->pt = 0;
}

/* The query of OSTD's cursor: descend through table entries to the entry
 * covering va and describe it. Every case; pt_cursor_query's fast path
 * below handles the common one apart. */
static __attribute__((noinline)) int query_general(struct pt_cursor *c, struct pt_query *out)
{
    if (c->va >= c->barrier_end)
        return PT_ERR_INVALID_VADDR;
    /* (Values are re-read from the cursor after each descent rather than
     * kept across the phys_to_virt call: fewer saved registers.) */
    for (;;) {
        pt_pte_t pte = pt_pte_load(cur_ptes(c), pt_index(c->va, c->level));
        if (pt_pte_is_table(pte)) {
            push_level(c, pt_pte_table_paddr(pte));
            continue;
        }
        uint64_t size = pt_page_size(c->level);
        out->start = c->va & ~(size - 1);
        out->end = out->start + size;
        out->mapped = pt_pte_is_leaf(pte);
        if (out->mapped) {
            decode_cached(c, pte);
            out->item = c->dec_item;
            out->item.pa = pte & PTE_ADDR_MASK_4K & ~(size - 1);  /* pt_pte_leaf_paddr */
            out->item.level = c->level;
        }
        return PT_OK;
    }
}

/*
 * Fast path: a 4 KiB leaf in the level-1 node the cursor is on, or one table
 * step below its level-2 node (a jump within 1 GiB pops there) when the
 * platform has a direct map, with a decode-cache hit. It only reads: the
 * cursor stays on its node (query_general's descent moves it down, which
 * the contract does not ask for). Same result as query_general; anything
 * else goes there. tests/pagetable_model compares both against the model
 * (mutate.sh: the "query fast path" and "direct map" mutations).
 */
int pt_cursor_query(struct pt_cursor *c, struct pt_query *out)
{
    pt_vaddr_t va = c->va;
    if (__builtin_expect(va >= c->barrier_end, 0))
        return PT_ERR_INVALID_VADDR;
    /* The level-1 node holding va's entry: the cursor's own, or the child of
     * its level-2 node's entry (the usual case after a jump, which pops to
     * the node covering the target: level 2 unless it stays in 2 MiB). */
    pt_pte_t *l1;
    if (__builtin_expect(c->level == 2, 1)) {
        const struct pt_mem *mem = c->mem;
        pt_pte_t e = pt_pte_load(c->ptes[1], pt_index(va, 2));
        if (!pt_pte_is_table(e) || !mem->has_direct_map)
            return query_general(c, out);
        l1 = (pt_pte_t *)(mem->direct_map + pt_pte_table_paddr(e));
    } else if (c->level == 1) {
        l1 = c->ptes[0];
    } else {
        return query_general(c, out);
    }
    pt_pte_t pte = pt_pte_load(l1_slot(l1, va), 0);
    /* Not a leaf, or a property the decode cache does not hold (a tail
     * call: the fast path makes no call). */
    if (__builtin_expect(!leaf_decoded(c, pte), 0))
        return query_general(c, out);
    out->start = va;
    out->end = va + PT_BASE_PAGE_SIZE;
    out->mapped = true;
    out->item = c->dec_item;
    out->item.pa = pte & PTE_ADDR_MASK_4K;
    return PT_OK;
}

int pt_cursor_jump(struct pt_cursor *c, pt_vaddr_t va)
{
    if (va & PAGE_MASK)
        return PT_ERR_UNALIGNED;
    if (va < c->barrier_start || va >= c->barrier_end)
        return PT_ERR_INVALID_VADDR;
    set_va(c, va);
    return PT_OK;
}

/*
 * Replace a huge leaf `pte` at (node, i, level) by a locked child node of
 * 512 leaves at level - 1 with the same property, each
 * pt_page_size(level - 1) apart (the stride is the CHILD's page size at every
 * level; #3920). Fails with PT_ERR_NOMEM, changing nothing.
 */
static int split_huge(struct pt_cursor *c, pt_paddr_t node, pt_pte_t *ptes, unsigned i, int level,
                      pt_pte_t pte, pt_paddr_t *child_out)
{
    struct pt_mem *mem = c->mem;
    pt_paddr_t child;
    if (!pt_node_alloc(mem, level - 1, &child))
        return PT_ERR_NOMEM;
    /* Locked before it is published: it intersects our range (invariant). */
    pt_node_lock(mem, child);
    pt_pte_t *cptes = pt_node_ptes(mem, child);
    uint64_t stride = pt_page_size(level - 1);
    pt_pte_t filled = 0;  /* what the child's entry 0 holds (0: nothing yet) */
    /* The huge leaf is live: the MMU may set its A/D bits until the table
     * replaces it. The children copy them, so if the replacing
     * compare-and-exchange fails, refill the (unpublished) child from the
     * leaf's new value and try again: no A/D bit is lost. */
    do {
        pt_pte_t first = pt_pte_make_leaf(pt_pte_leaf_paddr(pte, level), level - 1,
                                          pt_pte_prop(pte)) |
                         (pte & PTE_UNTRACKED);
        for (unsigned j = 0; j < PT_NR_ENTRIES; j++) {
            pt_pte_t old = filled ? filled + j * stride : 0;
            pt_pte_replace(mem, child, cptes, j, level - 1, old, first + j * stride);
        }
        filled = first;
    } while (!pt_pte_update(mem, node, ptes, i, level, &pte, pt_pte_make_table(child)));
    pt_meta_fast(mem, child)->nr_children = PT_NR_ENTRIES;
    *child_out = child;
    return PT_OK;
}

/* Fill a STRAY_TABLE frag for the subtree `pte` pointed at, already unlinked
 * from its parent (entry of size pt_page_size(level) starting at va). */
static void stray_frag(struct pt_cursor *c, pt_pte_t pte, int level, pt_vaddr_t va,
                       struct pt_frag *out)
{
    out->kind = PT_FRAG_STRAY_TABLE;
    out->va = va;
    out->len = pt_page_size(level);
    out->node = pt_pte_table_paddr(pte);
    out->node_level = level - 1;
    out->num_frames = pt_mark_stray_and_unlock(c->mem, out->node, level - 1);
}

/* Fill a MAPPED frag for the leaf `pte` at `level` (at va) whose decoding
 * c->dec_item holds (decode_cached or leaf_decoded made sure of it). */
static inline void mapped_frag(const struct pt_cursor *c, pt_pte_t pte, int level, pt_vaddr_t va,
                               struct pt_frag *out)
{
    out->kind = PT_FRAG_MAPPED;
    out->va = va;
    out->len = pt_page_size(level);
    out->item = c->dec_item;
    out->item.pa = pt_pte_leaf_paddr(pte, level);
    out->item.level = level;
}

static inline bool tracked_frame_ok(const struct pt_mem *mem, pt_paddr_t pa)
{
    if ((pa >> PT_BASE_PAGE_SHIFT) >= mem->nr_frames)
        return false;
    const struct pt_frame_meta *m = pt_meta_fast(mem, pa);
    uint64_t rc = __atomic_load_n(&m->ref_count, __ATOMIC_RELAXED);
    return rc != 0 && rc <= PT_REF_MAX &&
           (m->usage == PT_USAGE_UNTYPED || m->usage == PT_USAGE_KERNEL);
}

static int map_check(const struct pt_cursor *c, const struct pt_item *item)
{
    if (c->va >= c->barrier_end)
        return PT_ERR_INVALID_VADDR;
    if (item->level < 1 || item->level > c->pt->cfg->max_leaf_level)
        return PT_ERR_BAD_LEVEL;
    uint64_t size = pt_page_size(item->level);
    if ((c->va | item->pa) & (size - 1))
        return PT_ERR_UNALIGNED;
    /* pa is aligned to size <= 1 GiB, so pa < 2^52 means the whole range
     * [pa, pa + size) fits the physical-address width. */
    if (item->pa >= PT_PHYS_ADDR_LIMIT)
        return PT_ERR_PADDR_WIDTH;
    if (size > c->barrier_end - c->va)
        return PT_ERR_BEYOND_BARRIER;
    if (item->tracked && item->level != 1)
        return PT_ERR_UNTRACKED_SIZE;
    if (item->level > c->guard_level)
        return PT_ERR_BAD_LEVEL;
    if (!pt_prop_valid_fast(item->prop))
        return PT_ERR_BAD_PROP;
    if (item->tracked && !tracked_frame_ok(c->mem, item->pa))
        return PT_ERR_BAD_FRAME;
    return PT_OK;
}

/* Bring the cursor to `level` (<= guard_level) at va, creating absent
 * nodes and splitting huge leaves on the way down. */
static int map_descend(struct pt_cursor *c, int level)
{
    struct pt_mem *mem = c->mem;
    l1_forget(c);
    while (c->level < level)
        c->level++;  /* the node above covers va: va < barrier_end */
    while (c->level > level) {
        pt_paddr_t node = cur_node(c);
        pt_pte_t *ptes = cur_ptes(c);
        unsigned i = pt_index(c->va, c->level);
        pt_pte_t pte = pt_pte_load(ptes, i);
        pt_paddr_t child;
        if (pt_pte_is_table(pte)) {
            child = pt_pte_table_paddr(pte);
        } else if (pt_pte_is_leaf(pte)) {
            int err = split_huge(c, node, ptes, i, c->level, pte, &child);
            if (err)
                return err;
        } else {
            if (!pt_node_alloc(mem, c->level - 1, &child))
                return PT_ERR_NOMEM;
            pt_node_lock(mem, child);  /* before publishing: it is in our range */
            pt_pte_t old = 0;
            pt_pte_update(mem, node, ptes, i, c->level, &old, pt_pte_make_table(child));
            pt_meta_fast(mem, node)->nr_children++;
        }
        push_level(c, child);
    }
    return PT_OK;
}

/* map over a non-empty slot: hand the old content back, move on. */
static __attribute__((noinline)) int map_replaced(struct pt_cursor *c, pt_pte_t old, int level,
                                                  struct pt_frag *replaced)
{
    if (pt_pte_is_leaf(old)) {
        decode_cached(c, old);
        mapped_frag(c, old, level, c->va, replaced);
    } else {
        stray_frag(c, old, level, c->va, replaced);
    }
    move_forward(c);
    return 1;
}

/* Everything but the fast path: full checks, descent, then the store. */
static __attribute__((noinline)) int map_slow(struct pt_cursor *c, const struct pt_item *item,
                                              struct pt_frag *replaced)
{
    int err = map_check(c, item);
    if (err)
        return err;
    if (c->level != item->level && (err = map_descend(c, item->level)))
        return err;
    struct pt_mem *mem = c->mem;
    int level = c->level;
    pt_paddr_t node = cur_node(c);
    pt_pte_t *ptes = cur_ptes(c);
    unsigned i = pt_index(c->va, level);
    pt_pte_t old = pt_pte_load(ptes, i);
    pt_pte_t new_pte = item->pa | PTE_LEAF | pt_prop_bits(item->prop) |
                       (item->tracked ? 0 : PTE_UNTRACKED);
    PT_ASSERT(replaced || pt_pte_is_absent(old),
              "pt_cursor_map: replaced is NULL but the slot is not empty");
    old = pt_pte_replace(mem, node, ptes, i, level, old, new_pte);
    if (level == 1)
        map_cache_fill(c, item);  /* item->level == 1: the next page takes the fast path */
    if (!pt_pte_is_absent(old))
        return map_replaced(c, old, level, replaced);
    pt_node_meta(mem, node)->nr_children++;
    move_forward(c);
    return 0;
}

/* The fast path over a non-empty slot: store, report, then hand the old
 * content back as map_replaced does. */
static __attribute__((noinline)) int map_fast_replaced(struct pt_cursor *c, pt_pte_t *slot,
                                                       pt_pte_t old, pt_pte_t new_pte,
                                                       struct pt_frag *replaced)
{
    PT_ASSERT(replaced, "pt_cursor_map: replaced is NULL but the slot is not empty");
    unsigned i = (unsigned)(slot - c->ptes[0]);
    old = pt_pte_replace(c->mem, c->path[0], c->ptes[0], i, 1, old, new_pte);
    return map_replaced(c, old, 1, replaced);
}

/* The rest of a fast-path map that leaves the node or the range, or has a
 * PTE-store hook to call (out of line: keeps the fast path free of calls,
 * so it needs no saved registers). The store of new_pte into the empty slot
 * of `va` is done and counted; c->va is still va or already moved past it. */
static __attribute__((noinline)) int map_fast_finish(struct pt_cursor *c, pt_vaddr_t va,
                                                     pt_pte_t new_pte)
{
    if (c->va == va)
        move_forward(c);
    struct pt_mem *mem = c->mem;
    if (mem->ops->pte_stored)
        pt_pte_report(mem, c->path[0], pt_index(va, 1), 1, 0, new_pte);
    return 0;
}

int pt_cursor_map(struct pt_cursor *c, const struct pt_item *item, struct pt_frag *replaced)
{
    /* (replaced may be NULL while the slot is empty; map_slow and
     * map_fast_replaced check it before storing over a non-empty slot.) */
    PT_ASSERT(item, "pt_cursor_map: NULL item");
    /* Fast path: a 4 KiB item whose (property, tracked) pair was validated
     * by the previous map through this cursor, at a cursor already on a
     * level-1 node: sequential mapping. The checks are map_check's in a
     * cheaper form (va is 4 KiB-aligned, so va < barrier_end means the page
     * fits; level 1 never exceeds the guard level; a cached key is valid). */
    pt_vaddr_t va = c->va;
    if (__builtin_expect(item_key(item) == c->map_key && !(item->pa & PA_BAD_4K), 1)) {
        if (__builtin_expect(!l1_known(c, va), 0))
            return map_slow(c, item, replaced);
        struct pt_mem *mem = c->mem;
        pt_paddr_t pa = item->pa;
        if (item->tracked) {  /* tracked_frame_ok, inline */
            if ((pa >> PT_BASE_PAGE_SHIFT) >= mem->nr_frames)
                return map_slow(c, item, replaced);
            const struct pt_frame_meta *m = pt_meta_fast(mem, pa);
            uint64_t rc = __atomic_load_n(&m->ref_count, __ATOMIC_RELAXED);
            if (rc - 1 >= PT_REF_MAX ||  /* not 1..PT_REF_MAX */
                (m->usage != PT_USAGE_UNTYPED && m->usage != PT_USAGE_KERNEL))
                return map_slow(c, item, replaced);
        }
        pt_pte_t *slot = l1_slot(c->ptes[0], va);
        pt_pte_t old = pt_pte_load(slot, 0);
        pt_pte_t new_pte = pa | c->map_bits;
        if (__builtin_expect(!pt_pte_is_absent(old), 0))
            return map_fast_replaced(c, slot, old, new_pte, replaced);
        pt_pte_write(slot, &old, new_pte);  /* absent: a plain store; hook in map_fast_finish */
        pt_node_meta(mem, c->path[0])->nr_children++;
        pt_vaddr_t next = va + PT_BASE_PAGE_SIZE;
        if (__builtin_expect(next >= c->l1_end, 0))  /* leaving the node or the range */
            return map_fast_finish(c, va, new_pte);
        c->va = next;
        if (__builtin_expect(mem->ops->pte_stored != NULL, 0))
            return map_fast_finish(c, va, new_pte);
        return 0;
    }
    return map_slow(c, item, replaced);
}

enum find_mode { FIND, TAKE, PROTECT };

struct find_args {
    enum find_mode mode;
    pt_vaddr_t *found;          /* FIND */
    struct pt_frag *frag;       /* TAKE */
    pt_protect_fn op;           /* PROTECT */
    void *op_arg;
    pt_vaddr_t *start, *end;    /* PROTECT */
};

/* Act on the leaf `pte` at (node, i, level), which lies wholly in the range. */
static inline int act_on_leaf(struct pt_cursor *c, const struct find_args *a, pt_paddr_t node,
                              pt_pte_t *ptes, unsigned i, pt_pte_t pte)
{
    struct pt_mem *mem = c->mem;
    int level = c->level;
    if (a->mode == TAKE) {
        pte = pt_pte_replace(mem, node, ptes, i, level, pte, 0);  /* with its final A/D */
        pt_meta_fast(mem, node)->nr_children--;
        decode_cached(c, pte);
        mapped_frag(c, pte, level, c->va, a->frag);
    } else {
        pt_pte_t bits;
        struct pt_prop p = prop_decode_cached(c, pte);
        a->op(&p, a->op_arg);
        if (!prot_bits_cached(c, p, &bits))
            return PT_ERR_BAD_PROP;
        /* The encoding is injective on valid properties: compare bits. */
        pt_pte_t new_pte = (pte & ~PT_PROP_BITS) | bits;
        for (pt_pte_t seen = pte; new_pte != pte &&
                                  !pt_pte_update(mem, node, ptes, i, level, &pte, new_pte);
             seen = pte)
            new_pte = pt_pte_keep_hw_ad(seen, pte, new_pte);
        *a->start = c->va;
        *a->end = c->va + pt_page_size(level);
    }
    move_forward(c);
    return 1;
}

/*
 * OSTD's find_next_impl: walk [va, va + len) to the first mapped leaf (FIND),
 * or act on it (PROTECT), or remove it or a wholly covered subtree (TAKE).
 * TAKE and PROTECT split a huge leaf that only partly overlaps the range.
 */
static int find_impl(struct pt_cursor *c, uint64_t len, const struct find_args *a)
{
    if (len & PAGE_MASK)
        return PT_ERR_UNALIGNED;
    if (len > c->barrier_end - c->va)
        return PT_ERR_BEYOND_BARRIER;
    struct pt_mem *mem = c->mem;
    const pt_vaddr_t last = c->va + len - 1;  /* unused when len == 0 */
    const pt_vaddr_t end = c->va + len;
    /* A query (or an earlier take) may have left the cursor below a subtree
     * that lies wholly in the range: go up so that take_next removes it
     * whole, whatever the cursor's history. */
    l1_forget(c);
    if (a->mode == TAKE && len)
        while (c->level < c->guard_level && pt_index(c->va, c->level) == 0 &&
               (c->va & (pt_page_size(c->level + 1) - 1)) == 0 &&
               pt_page_size(c->level + 1) - 1 <= last - c->va)
            c->level++;
    while (c->va < end) {
        int level = c->level;
        uint64_t size = pt_page_size(level);
        pt_paddr_t node = cur_node(c);
        pt_pte_t *ptes = cur_ptes(c);
        unsigned i = pt_index(c->va, level);
        pt_pte_t pte = pt_pte_load(ptes, i);
        pt_vaddr_t es = c->va & ~(size - 1);
        bool fits = c->va == es && es + (size - 1) <= last;
        if (pt_pte_is_absent(pte)) {
            move_forward(c);
        } else if (pt_pte_is_table(pte)) {
            pt_paddr_t child = pt_pte_table_paddr(pte);
            if (a->mode == TAKE && fits &&
                (level != PT_NR_LEVELS || c->pt->cfg->top_can_unmap)) {
                pte = pt_pte_replace(mem, node, ptes, i, level, pte, 0);
                pt_meta_fast(mem, node)->nr_children--;
                stray_frag(c, pte, level, es, a->frag);
                move_forward(c);
                return 1;
            }
            if (pt_meta_fast(mem, child)->nr_children == 0)
                move_forward(c);
            else
                push_level(c, child);
        } else if (a->mode == FIND) {
            *a->found = c->va;
            return 1;
        } else if (!fits) {
            pt_paddr_t child;
            int err = split_huge(c, node, ptes, i, level, pte, &child);
            if (err)
                return err;
            push_level(c, child);
        } else {
            return act_on_leaf(c, a, node, ptes, i, pte);
        }
    }
    set_va(c, end);
    return 0;
}

int pt_cursor_find_next(struct pt_cursor *c, uint64_t len, pt_vaddr_t *found)
{
    struct find_args a = { .mode = FIND, .found = found };
    return find_impl(c, len, &a);
}

/* Are len's checks (find_impl's) passed at a cursor on a level-1 node, with
 * at least one page to go? len - 1 < barrier_end - va means
 * 1 <= len <= barrier_end - va; alignment is tested apart. */
static inline bool l1_len_ok(struct pt_cursor *c, pt_vaddr_t va, uint64_t len)
{
    return l1_known(c, va) && !(len & PAGE_MASK) && len - 1 < c->barrier_end - va;
}

/* take_next's general case (out of line: keeps the fast path small). */
static __attribute__((noinline)) int take_slow(struct pt_cursor *c, uint64_t len,
                                               struct pt_frag *out)
{
    struct find_args a = { .mode = TAKE, .frag = out };
    return find_impl(c, len, &a);
}

/* The end of a fast-path take that leaves the node or the range, or has a
 * PTE-store hook to call; `va` is the page just cleared, `old` its PTE. */
static __attribute__((noinline)) int take_fast_finish(struct pt_cursor *c, pt_vaddr_t va,
                                                      pt_pte_t old)
{
    if (c->va == va)
        move_forward(c);
    struct pt_mem *mem = c->mem;
    if (mem->ops->pte_stored)
        pt_pte_report(mem, c->path[0], pt_index(va, 1), 1, old, 0);
    return 1;
}

int pt_cursor_take_next(struct pt_cursor *c, uint64_t len, struct pt_frag *out)
{
    /* Fast path: a 4 KiB leaf at the cursor on a level-1 node (leaf-by-leaf
     * unmapping), unless find_impl would first go up to remove the whole
     * node (va at its start and len covering it). Same effect as find_impl. */
    pt_vaddr_t va = c->va;
    if (__builtin_expect(!l1_len_ok(c, va, len) ||
                             (pt_index(va, 1) == 0 && len >= pt_page_size(2)), 0))
        return take_slow(c, len, out);
    pt_pte_t *slot = l1_slot(c->ptes[0], va);
    pt_pte_t pte = pt_pte_load(slot, 0);
    /* Not a leaf, or one the decode cache does not hold; or the store lost a
     * race with the MMU's A/D bits (nothing stored): the general path (its
     * pt_pte_replace retries; a tail call keeps this path call-free). A
     * store that sticks is final (the MMU writes no absent entry), so the
     * frag carries the leaf's last A/D bits. */
    if (__builtin_expect(!leaf_decoded(c, pte) || !pt_pte_write(slot, &pte, 0), 0))
        return take_slow(c, len, out);  /* (the hook is in take_fast_finish) */
    struct pt_mem *mem = c->mem;
    pt_node_meta(mem, c->path[0])->nr_children--;
    mapped_frag(c, pte, 1, va, out);
    pt_vaddr_t next = va + PT_BASE_PAGE_SIZE;
    if (__builtin_expect(next >= c->l1_end, 0))  /* leaving the node or the range */
        return take_fast_finish(c, va, pte);
    c->va = next;
    if (__builtin_expect(mem->ops->pte_stored != NULL, 0))
        return take_fast_finish(c, va, pte);
    return 1;
}

/* protect_next's general case (out of line: keeps the fast path small). */
static __attribute__((noinline)) int protect_slow(struct pt_cursor *c, uint64_t len,
                                                  pt_protect_fn op, void *arg,
                                                  pt_vaddr_t *start, pt_vaddr_t *end)
{
    struct find_args a = { .mode = PROTECT, .op = op, .op_arg = arg, .start = start, .end = end };
    return find_impl(c, len, &a);
}

/* Cache misses of the protect fast path, out of line. */
static __attribute__((noinline)) bool prot_miss(struct pt_cursor *c, struct pt_prop p)
{
    pt_pte_t bits;
    return prot_bits_cached(c, p, &bits);
}

/* The end of a fast-path protect that leaves the node or the range, or has
 * a PTE-store hook to call; `va` is the page just handled. */
static __attribute__((noinline)) int protect_fast_finish(struct pt_cursor *c, pt_vaddr_t va,
                                                         pt_pte_t old, pt_pte_t new_pte)
{
    if (c->va == va)
        move_forward(c);
    struct pt_mem *mem = c->mem;
    if (new_pte != old && mem->ops->pte_stored)
        pt_pte_report(mem, c->path[0], pt_index(va, 1), 1, old, new_pte);
    return 1;
}

/* The protect fast path's update lost a race with the MMU's A/D bits (rare;
 * nothing was stored): op saw the entry as `seen`, it is `cur` now. Keep the
 * A/D bits set since, store until it sticks, then finish as the fast path
 * does. */
static __attribute__((noinline)) int protect_fast_retry(struct pt_cursor *c, pt_pte_t *slot,
                                                        pt_pte_t seen, pt_pte_t cur,
                                                        pt_pte_t new_pte)
{
    do {
        new_pte = pt_pte_keep_hw_ad(seen, cur, new_pte);
        seen = cur;
    } while (new_pte != cur && !pt_pte_write(slot, &cur, new_pte));
    pt_vaddr_t va = c->va;
    if (va + PT_BASE_PAGE_SIZE < c->l1_end)
        c->va = va + PT_BASE_PAGE_SIZE;
    return protect_fast_finish(c, va, cur, new_pte);
}

int pt_cursor_protect_next(struct pt_cursor *c, uint64_t len, pt_protect_fn op, void *arg,
                           pt_vaddr_t *start, pt_vaddr_t *end)
{
    /* Fast path: the cursor sits on a 4 KiB leaf inside the range (sequential
     * protect of mapped pages); the same checks and effect as find_impl's. */
    pt_vaddr_t va = c->va;
    if (__builtin_expect(!l1_len_ok(c, va, len), 0))
        return protect_slow(c, len, op, arg, start, end);
    pt_pte_t *slot = l1_slot(c->ptes[0], va);
    pt_pte_t pte = pt_pte_load(slot, 0);
    /* Not a leaf, or one the decode cache does not hold (the general path
     * decodes it, and fills the cache for the next page). */
    if (__builtin_expect(!leaf_decoded(c, pte), 0))
        return protect_slow(c, len, op, arg, start, end);
    /* The range is written before op runs (the contract leaves *start and
     * *end unspecified on failure): fewer values live across the call. */
    *start = va;
    *end = va + PT_BASE_PAGE_SIZE;
    union prop_word p = { .word = c->dec_word };
    op(&p.prop, arg);
    if (__builtin_expect((p.word & PROP_WORD_MASK) != c->prot_word, 0) && !prot_miss(c, p.prop))
        return PT_ERR_BAD_PROP;
    /* The encoding is injective on valid properties: compare bits. The
     * update compares against the entry op saw, so A/D bits the MMU set
     * meanwhile make it fail, and protect_fast_retry keeps them. */
    pt_pte_t new_pte = (pte & ~PT_PROP_BITS) | c->prot_bits;
    pt_pte_t cur = pte;
    if (new_pte != pte && __builtin_expect(!pt_pte_write(slot, &cur, new_pte), 0))
        return protect_fast_retry(c, slot, pte, cur, new_pte);
    pt_vaddr_t next = va + PT_BASE_PAGE_SIZE;
    if (__builtin_expect(next >= c->l1_end, 0))  /* leaving the node or the range */
        return protect_fast_finish(c, va, pte, new_pte);
    c->va = next;
    if (__builtin_expect(new_pte != pte && c->mem->ops->pte_stored != NULL, 0))
        return protect_fast_finish(c, va, pte, new_pte);
    return 1;
}

/* protect_flags on leaves that are not 4 KiB ones in a level-1 node: the
 * op of the equivalent protect_next loop. */
struct flag_masks {
    uint8_t clear, set;
    bool changed;  /* did the last call change the property? */
};

static void flag_op(struct pt_prop *prop, void *arg)
{
    struct flag_masks *m = arg;
    uint8_t flags = (uint8_t)((prop->flags & ~m->clear) | m->set);
    m->changed = flags != prop->flags;
    prop->flags = flags;
}

/* The PTE bits of flags f, ignoring X (whose bit, NX, is inverted). */
static inline pt_pte_t flag_bits_no_x(uint8_t f)
{
    return pt_prop_bits((struct pt_prop){ (uint8_t)(f | PT_X), 0, 0 });
}

/* Widen the changed range [*cs, *ce) (empty when equal) by [s, e). */
static inline void changed_add(pt_vaddr_t *cs, pt_vaddr_t *ce, pt_vaddr_t s, pt_vaddr_t e)
{
    if (*cs == *ce)
        *cs = s;
    *ce = e;
}

/* protect_flags_l1's update of entry i (read as `seen`, now `cur`) lost a
 * race with the MMU's A/D bits: apply the flags to the entry's new value
 * until the store sticks, and report it (out of line, rare; the result may
 * equal the entry: a same-value store). */
static __attribute__((noinline)) void flags_retry(struct pt_cursor *c, pt_pte_t *ptes, unsigned i,
                                                  pt_pte_t seen, pt_pte_t cur, pt_pte_t keep,
                                                  pt_pte_t pset)
{
    do {
        pt_pte_lost_race(seen, cur);
        seen = cur;
    } while (!pt_pte_update(c->mem, c->path[0], ptes, i, 1, &cur, (cur & keep) | pset));
}

/* One level-1 node's share of protect_flags: the entries from the cursor's
 * va up to `end` or the node's end, in one loop. Moves the cursor past them. */
static void protect_flags_l1(struct pt_cursor *c, pt_vaddr_t end, pt_pte_t pclear, pt_pte_t pset,
                             pt_vaddr_t *cs, pt_vaddr_t *ce)
{
    struct pt_mem *mem = c->mem;
    const bool hook = mem->ops->pte_stored != NULL;
    pt_vaddr_t va = c->va;
    pt_pte_t *ptes = c->ptes[0];
    unsigned first = pt_index(va, 1);
    uint64_t n = PT_NR_ENTRIES - first;
    if ((end - va) >> PT_BASE_PAGE_SHIFT < n)
        n = (end - va) >> PT_BASE_PAGE_SHIFT;
    const pt_pte_t keep = ~pclear;
    unsigned lo = PT_NR_ENTRIES, hi = 0;  /* changed entries: [lo, hi] */
    for (unsigned i = first; i < first + n; i++) {
        pt_pte_t pte = pt_pte_load(ptes, i);
        pt_pte_t new_pte = (pte & keep) | pset;
        if (!pt_pte_is_leaf(pte) || new_pte == pte)
            continue;
        /* Atomic against the MMU's A/D updates (pt_pte_write); on a lost
         * race the flags are applied again to the entry's new value. */
        pt_pte_t cur = pte;
        if (__builtin_expect(!pt_pte_write(&ptes[i], &cur, new_pte), 0))
            flags_retry(c, ptes, i, pte, cur, keep, pset);  /* stores and reports */
        else if (hook)
            pt_pte_report(mem, c->path[0], i, 1, pte, new_pte);
        lo = i < lo ? i : lo;
        hi = i;
    }
    if (lo != PT_NR_ENTRIES)
        changed_add(cs, ce, va + ((pt_vaddr_t)(lo - first) << PT_BASE_PAGE_SHIFT),
                    va + ((pt_vaddr_t)(hi - first + 1) << PT_BASE_PAGE_SHIFT));
    c->va = va + ((n - 1) << PT_BASE_PAGE_SHIFT);  /* the last entry handled */
    move_forward(c);
}

int pt_cursor_protect_flags(struct pt_cursor *c, uint64_t len, uint8_t clear, uint8_t set,
                            pt_vaddr_t *changed_start, pt_vaddr_t *changed_end)
{
    if (len & PAGE_MASK)
        return PT_ERR_UNALIGNED;
    if (len > c->barrier_end - c->va)
        return PT_ERR_BEYOND_BARRIER;
    if (!pt_prop_valid_fast((struct pt_prop){ (uint8_t)(clear | set), 0, 0 }))
        return PT_ERR_BAD_PROP;
    clear = (uint8_t)(clear & ~set);  /* set wins */
    /* In PTE bits: X is NX inverted, so setting X clears NX and the other way. */
    pt_pte_t pclear = flag_bits_no_x(clear & (uint8_t)~PT_X) | ((set & PT_X) ? PTE_NX : 0);
    pt_pte_t pset = flag_bits_no_x(set & (uint8_t)~PT_X) | ((clear & PT_X) ? PTE_NX : 0);
    struct flag_masks m = { clear, set, false };
    const pt_vaddr_t end = c->va + len;
    pt_vaddr_t cs = 0, ce = 0;
    int rc = 0;
    while (c->va < end) {
        if (c->level == 1) {
            protect_flags_l1(c, end, pclear, pset, &cs, &ce);
            continue;
        }
        pt_vaddr_t s, e;
        rc = pt_cursor_protect_next(c, end - c->va, flag_op, &m, &s, &e);
        if (rc <= 0)
            break;
        if (m.changed)  /* protect_next wrote the leaf (the encoding is injective) */
            changed_add(&cs, &ce, s, e);
        rc = 0;
    }
    *changed_start = cs;
    *changed_end = ce;
    if (rc < 0)
        return rc;
    return cs != ce;
}

void pt_frag_release(struct pt_mem *mem, const struct pt_frag *frag)
{
    if (frag->kind == PT_FRAG_MAPPED) {
        if (frag->item.tracked)
            pt_frame_put_inline(mem, frag->item.pa);
        return;
    }
    PT_ASSERT(frag->kind == PT_FRAG_STRAY_TABLE, "pt_frag_release: not a frag");
    pt_frame_put(mem, frag->node);
}
