/*
 * Page tables and cursors: a C port of OSTD's PageTable<C> and its Cursor /
 * CursorMut (ostd/src/mm/page_table), following the seed
 * (asterinas/vostd ostd/src/mm/vm_space.rs, Verus-verified) where it differs from
 * upstream: `map` over a mapped slot replaces it and hands the old item back.
 *
 * Errors, not panics: where the seed panics on caller misuse (unaligned
 * length, a range past the locked barrier, a misaligned jump target), these
 * functions return a negative enum pt_error and change nothing. Internal
 * invariant violations (a corrupt table) abort with a message naming the
 * invariant; they cannot be caused by the caller's arguments.
 *
 * Concurrency: any number of cursors may be live on one page table from
 * different threads/CPUs. Cursors whose ranges overlap are serialised (the
 * later one spins in pt_cursor_new until the earlier one is dropped);
 * cursors on disjoint ranges proceed in parallel (OSTD's two-phase locking:
 * lock-free descent to the sub-tree root, lock it, then lock the overlapping
 * existing children depth-first; retry if a locked node turns out stray).
 */
#ifndef PAGETABLE_PAGE_TABLE_H
#define PAGETABLE_PAGE_TABLE_H

#include "pagetable/frame.h"
#include "pagetable/prop.h"

enum pt_error {
    PT_OK                 = 0,
    PT_ERR_NOMEM          = -1,  /* a page-table node could not be allocated */
    PT_ERR_INVALID_RANGE  = -2,  /* start >= end, or outside the config's VA range */
    PT_ERR_UNALIGNED      = -3,  /* address or length not aligned as required */
    PT_ERR_INVALID_VADDR  = -4,  /* va outside the cursor's locked range */
    PT_ERR_BEYOND_BARRIER = -5,  /* va + len past the end of the locked range */
    PT_ERR_BAD_LEVEL      = -6,  /* leaf level above the config's max, or not fitting */
    PT_ERR_UNTRACKED_SIZE = -7,  /* a tracked frame mapped at a level above 1 */
    /* Added by the core (see docs/pagetable.md): */
    PT_ERR_BAD_PROP       = -8,  /* a property pt_prop_is_valid rejects */
    PT_ERR_BAD_FRAME      = -9,  /* a tracked item whose pa is not a live, shared,
                                    mappable (UNTYPED or KERNEL) frame */
    PT_ERR_PADDR_WIDTH    = -10, /* a physical range that does not fit the
                                    architecture's physical-address width
                                    (PT_PHYS_ADDR_WIDTH bits) */
};

/* A short name for an error code, for messages ("PT_ERR_NOMEM"). */
const char *pt_error_name(int err);

/* OSTD's PageTableConfig. */
struct pt_config {
    unsigned top_index_lo, top_index_hi; /* PML4 indices this table manages: [lo, hi) */
    bool top_can_unmap;                  /* may take_next remove a whole level-3 subtree? */
    int max_leaf_level;                  /* 2 (2 MiB) or 3 (1 GiB leaves) */
};
/* User: PML4 0..256, VA 0 .. 0x8000_0000_0000, 2 MiB max leaves. */
extern const struct pt_config pt_user_config;
/* Kernel: PML4 256..512, top level never unmapped, 2 MiB max leaves. */
extern const struct pt_config pt_kernel_config;
/* The same with 1 GiB leaves allowed (max_leaf_level 3). */
extern const struct pt_config pt_user_config_1g;
extern const struct pt_config pt_kernel_config_1g;

/* The lowest and one-past-highest VA a config manages (canonical). */
pt_vaddr_t pt_config_va_start(const struct pt_config *cfg);
pt_vaddr_t pt_config_va_end(const struct pt_config *cfg);  /* 0 == 2^64 for the kernel half */

struct pt_page_table {
    struct pt_mem *mem;
    const struct pt_config *cfg;
    pt_paddr_t root;             /* level-4 node; this table holds one reference */
};

/*
 * Create an empty page table (one zeroed root node).
 * Fails with PT_ERR_NOMEM (nothing allocated) if the root cannot be allocated.
 * For the kernel config, all 256 top-level entries are pre-allocated (as in
 * OSTD) so that user tables can share them; this can also fail with NOMEM.
 */
int pt_create(struct pt_page_table *pt, struct pt_mem *mem, const struct pt_config *cfg);

/*
 * Create a user page table whose PML4 entries 256..511 point at the kernel
 * table's level-3 nodes (OSTD's create_user_page_table). Each shared entry
 * holds one reference to its node, so dropping the user table never frees a
 * kernel node while the kernel table lives.
 * Requires: kernel was created with pt_kernel_config or pt_kernel_config_1g;
 *           user_cfg is a user config (top range 0..256).
 * Fails with PT_ERR_NOMEM (nothing allocated) if the root cannot be allocated.
 */
int pt_create_user_sharing(struct pt_page_table *pt, const struct pt_page_table *kernel,
                           const struct pt_config *user_cfg);

/*
 * Drop a page table: frees every node within the config's top-level range
 * and gives back every tracked frame reference its leaves hold.
 * Requires: no live cursor on `pt`.
 */
void pt_destroy(struct pt_page_table *pt);

/* The item a leaf maps. */
struct pt_item {
    pt_paddr_t pa;         /* aligned to pt_page_size(level) */
    int level;             /* 1..max_leaf_level */
    struct pt_prop prop;
    bool tracked;          /* tracked frames hold a reference (level 1 only) */
};

/* What take_next removed (OSTD's PageTableFrag, an enum). The caller owns
 * it. Read `item` only of a MAPPED frag and node..num_frames only of a
 * STRAY_TABLE one: they share storage. */
struct pt_frag {
    enum { PT_FRAG_MAPPED = 1, PT_FRAG_STRAY_TABLE = 2 } kind;
    pt_vaddr_t va;         /* start of the removed range */
    uint64_t len;          /* its length: pt_page_size(level) */
    union {
        /* PT_FRAG_MAPPED: the leaf. A tracked item's frame reference is now
           the caller's: drop it with pt_frame_put after the TLB flush. */
        struct pt_item item;
        /* PT_FRAG_STRAY_TABLE: the detached node (marked stray, unlocked);
           its reference is the caller's. pt_frame_put frees the subtree once
           the TLB is flushed and no lock-free walker can still be inside it. */
        struct {
            pt_paddr_t node;
            int node_level;
            uint64_t num_frames;   /* tracked leaves under it (sum over level-1 nodes) */
        };
    };
};

#define PT_CURSOR_MAX_LOCKED 64  /* internal bookkeeping bound, see cursor.c */

struct pt_cursor {
    struct pt_page_table *pt;
    pt_vaddr_t va;                     /* current position */
    pt_vaddr_t barrier_start, barrier_end; /* the locked range */
    int level;                         /* level of path[level-1], the current node */
    int guard_level;                   /* level of the sub-tree root */
    pt_paddr_t path[PT_NR_LEVELS];     /* path[l-1] = node at level l, or 0 */
    pt_pte_t *ptes[PT_NR_LEVELS];      /* ptes[l-1] = path[l-1]'s entries as mapped by
                                          ops->phys_to_virt (a cache; internal) */
    struct pt_mem *mem;                /* internal: pt->mem, one load nearer */
    pt_vaddr_t l1_end;                 /* internal: see cursor.c (0: unknown) */
    /* Internal one-entry caches for runs of pages with one property (the
       common case); cursor.c explains each. Never read by callers. */
    uint64_t map_key;                  /* last valid (level 1, prop, tracked) mapped ... */
    pt_pte_t map_bits;                 /* ... and its PTE bits except the address */
    pt_pte_t prot_bits;                /* PT_PROP_BITS of prot_word */
    pt_pte_t dec_bits;                 /* PTE_LEAF | PT_PROP_BITS | PTE_UNTRACKED of a leaf ... */
    struct pt_item dec_item;           /* ... decoded as a level-1 item (pa unused) */
    uint32_t dec_word;                 /* ... its prop as a 32-bit word (cursor.c) */
    uint32_t prot_word;                /* last valid property an op left, as a word */
};

/*
 * Lock [start, end) of `pt` and return a cursor at `start`.
 * Requires nothing of the caller beyond a valid pt.
 * Fails: PT_ERR_UNALIGNED unless both ends are 4 KiB-aligned;
 *        PT_ERR_INVALID_RANGE unless start < end and the range lies within
 *        the config's VA range; PT_ERR_NOMEM if an intermediate node needed
 *        to find the sub-tree root cannot be allocated (nothing locked).
 * Blocks (spins) while an overlapping cursor is live.
 * Guarantees on success: c->va == start; the whole range is exclusively ours
 *        until pt_cursor_drop.
 */
int pt_cursor_new(struct pt_cursor *c, struct pt_page_table *pt, pt_vaddr_t start, pt_vaddr_t end);

/* Unlock everything the cursor holds (reverse order of locking). */
void pt_cursor_drop(struct pt_cursor *c);

static inline pt_vaddr_t pt_cursor_va(const struct pt_cursor *c) { return c->va; }

/* Result of pt_cursor_query. */
struct pt_query {
    pt_vaddr_t start, end;  /* the entry's aligned range; may start below va */
    bool mapped;            /* false: absent (item is unspecified) */
    struct pt_item item;    /* no reference is taken */
};

/*
 * Look up the entry covering the cursor's va. The cursor does not move.
 * Fails: PT_ERR_INVALID_VADDR if va >= barrier_end.
 * Guarantees: out->start..out->end is aligned to the entry's size (large when
 *        an upper-level entry is absent); mapped iff a leaf covers va.
 */
int pt_cursor_query(struct pt_cursor *c, struct pt_query *out);

/*
 * Find the first mapped leaf whose range intersects [va, va+len).
 * Returns 1 and sets *found to the current va at that leaf (which may be
 * inside a huge mapping; the cursor stays there), or 0 when there is none
 * (the cursor then moves to min(va+len, barrier_end)).
 * Fails: PT_ERR_UNALIGNED if len is not 4 KiB-aligned;
 *        PT_ERR_BEYOND_BARRIER if va + len > barrier_end.
 */
int pt_cursor_find_next(struct pt_cursor *c, uint64_t len, pt_vaddr_t *found);

/*
 * Move the cursor to `va`.
 * Fails: PT_ERR_UNALIGNED if va is not 4 KiB-aligned; PT_ERR_INVALID_VADDR
 *        unless barrier_start <= va < barrier_end.
 * Works from any cursor state, including an exhausted cursor whose va ==
 * barrier_end (upstream Asterinas #2709).
 */
int pt_cursor_jump(struct pt_cursor *c, pt_vaddr_t va);

/*
 * Map `item` at the cursor's va and move past it (va += page size).
 * Requires: item->tracked => the caller owns one reference to item->pa, which
 *        moves into the PTE on success.
 * Replace semantics (the seed): if the slot was already mapped, or held a
 * subtree (which is detached), the old content is removed and returned in
 * *replaced (a replaced leaf's property carries the ACCESSED/DIRTY bits the
 * MMU had set by the moment it was replaced); returns 1 in that case, 0 when
 * the slot was empty.
 * `item` must not be NULL (pt_panic). `replaced` may be NULL when the caller
 * knows the slot is empty; a map over a non-empty slot with replaced == NULL
 * calls pt_panic before the slot is written (on every path: the same
 * arguments give the same outcome whatever the cursor's history).
 * A huge leaf covering va at a higher level is split first.
 * Fails (nothing changed except possibly already-split or already-allocated
 * empty intermediate nodes, which keep the table consistent and mapping
 * nothing new):
 *        PT_ERR_INVALID_VADDR if va >= barrier_end;
 *        PT_ERR_BAD_LEVEL if level < 1 or > cfg->max_leaf_level, or above the
 *          cursor's guard level;
 *        PT_ERR_UNALIGNED if va or pa is not aligned to the item's size;
 *        PT_ERR_PADDR_WIDTH if [pa, pa + size) does not fit below
 *          PT_PHYS_ADDR_LIMIT (2^52), tracked or not (its high bits would
 *          become NX and software bits of the PTE);
 *        PT_ERR_BEYOND_BARRIER if va + size > barrier_end;
 *        PT_ERR_UNTRACKED_SIZE if tracked and level != 1;
 *        PT_ERR_BAD_PROP if !pt_prop_is_valid(item->prop);
 *        PT_ERR_BAD_FRAME if tracked and item->pa is not a live shared frame
 *          of usage UNTYPED or KERNEL inside the metadata array;
 *        PT_ERR_NOMEM if a node (or a split) cannot be allocated.
 */
int pt_cursor_map(struct pt_cursor *c, const struct pt_item *item, struct pt_frag *replaced);

/*
 * Remove the next mapped leaf, or the next page-table subtree whose whole
 * range lies in [va, va+len) (never a kernel config's top-level entry),
 * splitting a huge leaf that only partly overlaps the range.
 * Returns 1 with *out filled (the caller owns it, see struct pt_frag; a
 * removed leaf's property carries the ACCESSED/DIRTY bits the MMU had set
 * when it was removed) and the cursor moved past the removed range, or 0 if the range holds no leaf
 * and no page-table node whose whole span lies inside it (cursor at
 * min(va+len, barrier_end)). As in OSTD, a wholly covered subtree is removed
 * even when it maps nothing (num_frames == 0): that is how empty nodes are
 * reclaimed.
 * Fails: PT_ERR_UNALIGNED, PT_ERR_BEYOND_BARRIER as find_next;
 *        PT_ERR_NOMEM if a needed split cannot be allocated (nothing removed).
 */
int pt_cursor_take_next(struct pt_cursor *c, uint64_t len, struct pt_frag *out);

/* A protect operation: edits a leaf's property in place (OSTD's
 * `op: impl FnMut(&mut PageProperty)`); `arg` is the caller's context.
 * `prop` points at a copy, valid only during the call. */
typedef void (*pt_protect_fn)(struct pt_prop *prop, void *arg);

/*
 * Apply `op` to the next mapped leaf in [va, va+len), splitting a huge leaf
 * that only partly overlaps the range, and move past it. Writes the PTE only
 * if the property changes. Does not flush any TLB (the caller does).
 * `op` is called once per leaf with its property as read, and edits it in
 * place into the new property; the update is
 * atomic against the MMU: ACCESSED/DIRTY bits the MMU sets after that read
 * are kept in the new entry (as if the access came just after the update).
 * Returns 1 and the leaf's range in *start and *end, or 0 if there is none
 * (*start and *end are unspecified unless it returns 1).
 * Fails: PT_ERR_UNALIGNED, PT_ERR_BEYOND_BARRIER as find_next;
 *        PT_ERR_NOMEM if a needed split cannot be allocated (nothing changed);
 *        PT_ERR_BAD_PROP if op leaves an invalid property (that leaf is left
 *          unchanged, the cursor stays at it).
 */
int pt_cursor_protect_next(struct pt_cursor *c, uint64_t len, pt_protect_fn op, void *arg,
                           pt_vaddr_t *start, pt_vaddr_t *end);

/*
 * Batched protect (added by the core, not in OSTD): change the flags of every
 * mapped leaf in [va, va+len) at once, as if by a protect_next loop whose op
 * does  new.flags = (old.flags & ~clear) | set  (set wins where both name a
 * flag; privileged flags and cache policy unchanged). It costs about a tenth
 * of that loop per 4 KiB page: no call per leaf and no property decoding
 * (see docs/pagetable.md "Performance"). Huge leaves that only partly
 * overlap the range are split, as protect_next splits them; a PTE is written
 * only if it changes, and every store goes through the pte_stored hook.
 * Atomic against the MMU: an entry whose A/D bits the MMU sets meanwhile
 * gets the flag change applied to its new value (no A/D bit is lost).
 * Returns 1 if some leaf's flags changed, with [*changed_start,
 *        *changed_end) covering every changed leaf (and possibly unchanged
 *        ones between them): the range to flush; or 0 if none changed (then
 *        *changed_start == *changed_end; a split of a huge leaf that crosses
 *        the range's end may still have been stored, as with protect_next,
 *        changing no translation). The cursor ends at min(va+len,
 *        barrier_end). Does not flush any TLB.
 * Fails: PT_ERR_UNALIGNED, PT_ERR_BEYOND_BARRIER as find_next (nothing
 *          changed);
 *        PT_ERR_BAD_PROP if clear or set has a bit outside enum pt_flag
 *          (nothing changed);
 *        PT_ERR_NOMEM if a needed split cannot be allocated: the leaves
 *          before it are changed and covered by *changed_*, the cursor is at
 *          the leaf that could not be split.
 */
int pt_cursor_protect_flags(struct pt_cursor *c, uint64_t len, uint8_t clear, uint8_t set,
                            pt_vaddr_t *changed_start, pt_vaddr_t *changed_end);

/* Release what a frag owns (frame reference or stray subtree). */
void pt_frag_release(struct pt_mem *mem, const struct pt_frag *frag);

#endif /* PAGETABLE_PAGE_TABLE_H */
