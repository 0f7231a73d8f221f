/*
 * One test per cursor operation's contract (page_table.h), with every error
 * code and the corners listed in docs/pagetable.md. Huge pages and splits
 * are in test_huge.c, out-of-memory in test_nomem.c.
 */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_main.h"
#include "pt_test_util.h"

static struct pt_page_table pt;
static void setup(void) { util_table_init(&pt, &pt_user_config, 4096); }
static void teardown(void) { util_table_fini(&pt); }

static struct pt_item item4k(pt_paddr_t pa, uint8_t flags)
{
    struct pt_item it = { pa, 1, util_prop(flags), true };
    return it;
}

/* ---- cursor creation ---- */

START_TEST(new_rejects_bad_ranges)
{
    struct pt_cursor c;
    ck_assert_int_eq(pt_cursor_new(&c, &pt, 0x1001, 0x3000), PT_ERR_UNALIGNED);
    ck_assert_int_eq(pt_cursor_new(&c, &pt, 0x1000, 0x3001), PT_ERR_UNALIGNED);
    ck_assert_int_eq(pt_cursor_new(&c, &pt, 0x3000, 0x3000), PT_ERR_INVALID_RANGE);
    ck_assert_int_eq(pt_cursor_new(&c, &pt, 0x4000, 0x3000), PT_ERR_INVALID_RANGE);
    ck_assert_int_eq(pt_cursor_new(&c, &pt, 0x7fffffff0000, 0x800000001000), PT_ERR_INVALID_RANGE);
    ck_assert_int_eq(pt_cursor_new(&c, &pt, 0xffff800000000000, 0xffff800000001000),
                     PT_ERR_INVALID_RANGE);
    /* The whole user half is a valid range (its end is 2^47). */
    ck_assert_int_eq(pt_cursor_new(&c, &pt, 0, 0x800000000000), PT_OK);
    ck_assert_int_eq(c.guard_level, 4);
    ck_assert_uint_eq(pt_cursor_va(&c), 0);
    pt_cursor_drop(&c);
    ck_assert_uint_eq(pt_frame_meta(mem, pt.root)->lock, 0);
}
END_TEST

/* The sub-tree root is the deepest node where the range spans two entries. */
START_TEST(new_picks_subtree_root)
{
    struct pt_cursor c;
    ck_assert_int_eq(pt_cursor_new(&c, &pt, 0x1000, 0x3000), PT_OK);
    ck_assert_int_eq(c.guard_level, 1);
    pt_cursor_drop(&c);
    ck_assert_int_eq(pt_cursor_new(&c, &pt, 0x1ff000, 0x201000), PT_OK);
    ck_assert_int_eq(c.guard_level, 2);
    pt_cursor_drop(&c);
    ck_assert_int_eq(pt_cursor_new(&c, &pt, 0x3ffff000, 0x40001000), PT_OK);
    ck_assert_int_eq(c.guard_level, 3);
    pt_cursor_drop(&c);
    /* Exactly one 2 MiB entry: the level-2 node holding it (#3731/#3732). */
    ck_assert_int_eq(pt_cursor_new(&c, &pt, 0x400000, 0x600000), PT_OK);
    ck_assert_int_eq(c.guard_level, 2);
    pt_cursor_drop(&c);
}
END_TEST

/* ---- query ---- */

START_TEST(query_absent_reports_entry_size)
{
    struct pt_cursor c;
    struct pt_query q;
    /* Whole first PML4 entry: the root is the sub-tree root, entry 0 absent. */
    ck_assert_int_eq(pt_cursor_new(&c, &pt, 0, 512 * GiB), PT_OK);
    ck_assert_int_eq(pt_cursor_query(&c, &q), PT_OK);
    ck_assert(!q.mapped);
    ck_assert_uint_eq(q.start, 0);
    ck_assert_uint_eq(q.end, 512 * GiB);
    pt_cursor_drop(&c);
    /* Two 1 GiB entries: level-3 node; an absent one reports 1 GiB, aligned
     * below va. */
    ck_assert_int_eq(pt_cursor_new(&c, &pt, 0, 2 * GiB), PT_OK);
    ck_assert_int_eq(pt_cursor_jump(&c, GiB + 0x5000), PT_OK);
    ck_assert_int_eq(pt_cursor_query(&c, &q), PT_OK);
    ck_assert(!q.mapped);
    ck_assert_uint_eq(q.start, GiB);
    ck_assert_uint_eq(q.end, 2 * GiB);
    ck_assert_uint_eq(pt_cursor_va(&c), GiB + 0x5000);  /* query does not move */
    pt_cursor_drop(&c);
    /* A 4 KiB hole inside an existing level-1 node. */
    util_map4k(&pt, 0x10000, PT_R);
    q = util_query(&pt, 0x11000);
    ck_assert(!q.mapped);
    ck_assert_uint_eq(q.start, 0x11000);
    ck_assert_uint_eq(q.end, 0x12000);
}
END_TEST

START_TEST(query_mapped_and_past_barrier)
{
    pt_paddr_t pa = util_map4k(&pt, 0x7000, PT_RW);
    struct pt_cursor c;
    struct pt_query q;
    ck_assert_int_eq(pt_cursor_new(&c, &pt, 0x7000, 0x8000), PT_OK);
    ck_assert_int_eq(pt_cursor_query(&c, &q), PT_OK);
    ck_assert(q.mapped);
    ck_assert_uint_eq(q.start, 0x7000);
    ck_assert_uint_eq(q.end, 0x8000);
    ck_assert_uint_eq(q.item.pa, pa);
    ck_assert_int_eq(q.item.level, 1);
    ck_assert(q.item.tracked);
    ck_assert(pt_prop_eq(q.item.prop, util_prop(PT_RW)));
    ck_assert_uint_eq(pt_frame_refcount(mem, pa), 1);  /* query takes no reference */
    struct pt_frag f;
    ck_assert_int_eq(pt_cursor_take_next(&c, 0x1000, &f), 1);
    pt_frag_release(mem, &f);
    ck_assert_uint_eq(pt_cursor_va(&c), 0x8000);
    ck_assert_int_eq(pt_cursor_query(&c, &q), PT_ERR_INVALID_VADDR);
    pt_cursor_drop(&c);
}
END_TEST

/* ---- find_next ---- */

START_TEST(find_next_contract)
{
    util_map4k(&pt, 0x5000, PT_R);
    util_map4k(&pt, 0x203000, PT_R);
    struct pt_cursor c;
    pt_vaddr_t found = 0;
    ck_assert_int_eq(pt_cursor_new(&c, &pt, 0x1000, 0x400000), PT_OK);
    ck_assert_int_eq(pt_cursor_find_next(&c, 0x1001, &found), PT_ERR_UNALIGNED);
    ck_assert_int_eq(pt_cursor_find_next(&c, 0x400000, &found), PT_ERR_BEYOND_BARRIER);
    ck_assert_uint_eq(pt_cursor_va(&c), 0x1000);
    /* Not within len: none, and the cursor moves to va + len. */
    ck_assert_int_eq(pt_cursor_find_next(&c, 0x4000, &found), 0);
    ck_assert_uint_eq(pt_cursor_va(&c), 0x5000);
    ck_assert_int_eq(pt_cursor_find_next(&c, 0x3fb000, &found), 1);
    ck_assert_uint_eq(found, 0x5000);
    ck_assert_uint_eq(pt_cursor_va(&c), 0x5000);  /* stays at the leaf */
    ck_assert_int_eq(pt_cursor_jump(&c, 0x6000), PT_OK);
    ck_assert_int_eq(pt_cursor_find_next(&c, 0x3fa000, &found), 1);
    ck_assert_uint_eq(found, 0x203000);
    ck_assert_int_eq(pt_cursor_jump(&c, 0x204000), PT_OK);
    ck_assert_int_eq(pt_cursor_find_next(&c, 0x400000 - 0x204000, &found), 0);
    ck_assert_uint_eq(pt_cursor_va(&c), 0x400000);  /* exhausted */
    pt_cursor_drop(&c);
}
END_TEST

/* ---- jump ---- */

START_TEST(jump_errors)
{
    struct pt_cursor c;
    ck_assert_int_eq(pt_cursor_new(&c, &pt, 0x10000, 0x20000), PT_OK);
    ck_assert_int_eq(pt_cursor_jump(&c, 0x10800), PT_ERR_UNALIGNED);
    ck_assert_int_eq(pt_cursor_jump(&c, 0xf000), PT_ERR_INVALID_VADDR);
    ck_assert_int_eq(pt_cursor_jump(&c, 0x20000), PT_ERR_INVALID_VADDR);
    ck_assert_int_eq(pt_cursor_jump(&c, 0x1ffff000), PT_ERR_INVALID_VADDR);
    ck_assert_uint_eq(pt_cursor_va(&c), 0x10000);
    ck_assert_int_eq(pt_cursor_jump(&c, 0x1f000), PT_OK);
    ck_assert_uint_eq(pt_cursor_va(&c), 0x1f000);
    pt_cursor_drop(&c);
}
END_TEST

/* #2709: a cursor exhausted by map (va == barrier_end) can still jump back,
 * even when its range spans several nodes. */
START_TEST(jump_from_barrier_end)
{
    struct pt_cursor c;
    struct pt_frag f;
    pt_vaddr_t s = 0x3ffff000, e = 0x40001000;  /* spans two level-3 entries */
    ck_assert_int_eq(pt_cursor_new(&c, &pt, s, e), PT_OK);
    pt_paddr_t a = util_frame(), b = util_frame();
    struct pt_item ia = item4k(a, PT_R), ib = item4k(b, PT_RW);
    ck_assert_int_eq(pt_cursor_map(&c, &ia, &f), 0);
    ck_assert_int_eq(pt_cursor_map(&c, &ib, &f), 0);
    ck_assert_uint_eq(pt_cursor_va(&c), e);
    ck_assert_int_eq(pt_cursor_map(&c, &ib, &f), PT_ERR_INVALID_VADDR);
    ck_assert_int_eq(pt_cursor_jump(&c, s), PT_OK);
    struct pt_query q;
    ck_assert_int_eq(pt_cursor_query(&c, &q), PT_OK);
    ck_assert(q.mapped);
    ck_assert_uint_eq(q.item.pa, a);
    ck_assert_int_eq(pt_cursor_jump(&c, s + 0x1000), PT_OK);
    ck_assert_int_eq(pt_cursor_query(&c, &q), PT_OK);
    ck_assert_uint_eq(q.item.pa, b);
    /* Exhaust with find_next, then jump again. */
    pt_vaddr_t found;
    ck_assert_int_eq(pt_cursor_jump(&c, s + 0x1000), PT_OK);
    ck_assert_int_eq(pt_cursor_find_next(&c, 0x1000, &found), 1);
    ck_assert_int_eq(pt_cursor_jump(&c, e - 0x1000), PT_OK);
    ck_assert_int_eq(pt_cursor_take_next(&c, 0x1000, &f), 1);
    pt_frag_release(mem, &f);
    ck_assert_uint_eq(pt_cursor_va(&c), e);
    ck_assert_int_eq(pt_cursor_jump(&c, s), PT_OK);
    ck_assert_int_eq(pt_cursor_take_next(&c, 0x1000, &f), 1);
    ck_assert_uint_eq(f.item.pa, a);
    pt_frag_release(mem, &f);
    pt_cursor_drop(&c);
}
END_TEST

/* ---- map ---- */

START_TEST(map_empty_slot_moves_reference)
{
    struct pt_cursor c;
    struct pt_frag f;
    pt_paddr_t pa = util_frame();
    ck_assert_int_eq(pt_cursor_new(&c, &pt, 0x1000, 0x3000), PT_OK);
    struct pt_item it = item4k(pa, PT_RW);
    ck_assert_int_eq(pt_cursor_map(&c, &it, &f), 0);
    ck_assert_uint_eq(pt_cursor_va(&c), 0x2000);
    pt_cursor_drop(&c);
    ck_assert_uint_eq(pt_frame_refcount(mem, pa), 1);  /* the PTE's, formerly ours */
    struct pt_check_result r = util_check(&pt);
    ck_assert_uint_eq(r.nr_tracked, 1);
    ck_assert_uint_eq(r.nr_nodes, 4);
}
END_TEST

/* Replace semantics: the old item comes back, its reference with it. */
START_TEST(map_over_mapped_4k_replaces)
{
    pt_paddr_t old = util_map4k(&pt, 0x9000, PT_R);
    pt_paddr_t new_pa = util_frame();
    uint64_t live = pt_host_live(&hp);
    struct pt_cursor c;
    struct pt_frag f;
    ck_assert_int_eq(pt_cursor_new(&c, &pt, 0x9000, 0xa000), PT_OK);
    struct pt_item it = item4k(new_pa, PT_RW);
    ck_assert_int_eq(pt_cursor_map(&c, &it, &f), 1);
    pt_cursor_drop(&c);
    ck_assert_int_eq(f.kind, PT_FRAG_MAPPED);
    ck_assert_uint_eq(f.va, 0x9000);
    ck_assert_uint_eq(f.len, 0x1000);
    ck_assert_uint_eq(f.item.pa, old);
    ck_assert(f.item.tracked);
    ck_assert(pt_prop_eq(f.item.prop, util_prop(PT_R)));
    ck_assert_uint_eq(pt_frame_refcount(mem, old), 1);     /* now the frag's */
    ck_assert_uint_eq(pt_frame_refcount(mem, new_pa), 1);  /* now the PTE's */
    ck_assert_uint_eq(util_check(&pt).nr_tracked, 1);
    pt_frag_release(mem, &f);
    ck_assert_uint_eq(pt_frame_refcount(mem, old), PT_REF_UNUSED);
    ck_assert_uint_eq(pt_host_live(&hp), live - 1);
    ck_assert_uint_eq(util_query(&pt, 0x9000).item.pa, new_pa);
}
END_TEST

/* Every map error returns its code and changes nothing. */
START_TEST(map_errors_change_nothing)
{
    pt_paddr_t pa = util_frame();
    struct pt_cursor c;
    struct pt_frag f;
    ck_assert_int_eq(pt_cursor_new(&c, &pt, 0x200000, 0x300000), PT_OK);  /* 1 MiB */
    struct pt_item it = item4k(pa, PT_RW);
    uint64_t stores = 0;
    pt_host_set_pte_hook(&hp, util_count_stores, &stores);

    it.level = 0;
    ck_assert_int_eq(pt_cursor_map(&c, &it, &f), PT_ERR_BAD_LEVEL);
    it.level = 3;  /* above the user config's max (2) */
    it.tracked = false;
    ck_assert_int_eq(pt_cursor_map(&c, &it, &f), PT_ERR_BAD_LEVEL);
    it.level = 2;  /* 2 MiB does not fit the 1 MiB range */
    it.pa = 0x40000000;
    ck_assert_int_eq(pt_cursor_map(&c, &it, &f), PT_ERR_BEYOND_BARRIER);
    it.pa = 0x40001000;
    ck_assert_int_eq(pt_cursor_map(&c, &it, &f), PT_ERR_UNALIGNED);
    it = item4k(pa, PT_RW);
    it.pa = pa + 0x800;
    ck_assert_int_eq(pt_cursor_map(&c, &it, &f), PT_ERR_UNALIGNED);
    it = item4k(pa, PT_RW);
    it.prop.flags = 0x20;
    ck_assert_int_eq(pt_cursor_map(&c, &it, &f), PT_ERR_BAD_PROP);
    it = item4k(pa, PT_RW);
    it.prop.cache = 7;
    ck_assert_int_eq(pt_cursor_map(&c, &it, &f), PT_ERR_BAD_PROP);
    /* Tracked items must be live UNTYPED/KERNEL frames in the arena. */
    it = item4k(100 * 4096, PT_RW);  /* never allocated: UNUSED */
    ck_assert_int_eq(pt_cursor_map(&c, &it, &f), PT_ERR_BAD_FRAME);
    it = item4k(1ull << 40, PT_RW);  /* beyond the metadata array */
    ck_assert_int_eq(pt_cursor_map(&c, &it, &f), PT_ERR_BAD_FRAME);
    it = item4k(pt.root, PT_RW);     /* a page-table node */
    ck_assert_int_eq(pt_cursor_map(&c, &it, &f), PT_ERR_BAD_FRAME);
    it = item4k(0, PT_RW);           /* the reserved frame */
    ck_assert_int_eq(pt_cursor_map(&c, &it, &f), PT_ERR_BAD_FRAME);
    ck_assert_uint_eq(pt_cursor_va(&c), 0x200000);
    ck_assert_uint_eq(stores, 0);
    pt_cursor_drop(&c);

    /* A tracked huge item, and va == barrier_end. */
    ck_assert_int_eq(pt_cursor_new(&c, &pt, 0x200000, 0x400000), PT_OK);
    it = item4k(pa, PT_RW);
    it.level = 2;
    it.pa = 0x40000000;
    ck_assert_int_eq(pt_cursor_map(&c, &it, &f), PT_ERR_UNTRACKED_SIZE);
    ck_assert_int_eq(pt_cursor_jump(&c, 0x3ff000), PT_OK);
    it = item4k(pa, PT_RW);
    ck_assert_int_eq(pt_cursor_map(&c, &it, &f), 0);
    ck_assert_uint_eq(pt_cursor_va(&c), 0x400000);
    ck_assert_int_eq(pt_cursor_map(&c, &it, &f), PT_ERR_INVALID_VADDR);
    pt_cursor_drop(&c);
    pt_host_set_pte_hook(&hp, NULL, NULL);
    ck_assert_uint_eq(util_check(&pt).nr_leaves, 1);
}
END_TEST

/* Mapping a 2 MiB leaf over a level-1 subtree detaches the subtree as a
 * stray table; its frames come back only on release. */
START_TEST(map_over_subtree_detaches_stray)
{
    pt_paddr_t a = util_map4k(&pt, 0x200000, PT_R);
    pt_paddr_t b = util_map4k(&pt, 0x3ff000, PT_R);
    uint64_t live = pt_host_live(&hp);
    struct pt_cursor c;
    struct pt_frag f;
    ck_assert_int_eq(pt_cursor_new(&c, &pt, 0x200000, 0x400000), PT_OK);
    struct pt_item it = { 0x80000000, 2, util_prop(PT_RW), false };
    ck_assert_int_eq(pt_cursor_map(&c, &it, &f), 1);
    pt_cursor_drop(&c);
    ck_assert_int_eq(f.kind, PT_FRAG_STRAY_TABLE);
    ck_assert_uint_eq(f.va, 0x200000);
    ck_assert_uint_eq(f.len, 2 * MiB);
    ck_assert_int_eq(f.node_level, 1);
    ck_assert_uint_eq(f.num_frames, 2);
    ck_assert_uint_eq(pt_frame_meta(mem, f.node)->stray, 1);
    ck_assert_uint_eq(pt_frame_meta(mem, f.node)->lock, 0);
    ck_assert_uint_eq(pt_host_live(&hp), live);  /* nothing freed before release */
    struct pt_query q = util_query(&pt, 0x201000);
    ck_assert(q.mapped);
    ck_assert_int_eq(q.item.level, 2);
    ck_assert_uint_eq(q.item.pa, 0x80000000);
    util_check(&pt);
    pt_frag_release(mem, &f);
    ck_assert_uint_eq(pt_host_live(&hp), live - 3);  /* node + 2 frames */
    ck_assert_uint_eq(pt_frame_refcount(mem, a), PT_REF_UNUSED);
    ck_assert_uint_eq(pt_frame_refcount(mem, b), PT_REF_UNUSED);
}
END_TEST

/* ---- take_next ---- */

START_TEST(take_next_leaf_and_errors)
{
    pt_paddr_t a = util_map4k(&pt, 0x5000, PT_R);
    struct pt_cursor c;
    struct pt_frag f;
    ck_assert_int_eq(pt_cursor_new(&c, &pt, 0x1000, 0x9000), PT_OK);
    ck_assert_int_eq(pt_cursor_take_next(&c, 0x800, &f), PT_ERR_UNALIGNED);
    ck_assert_int_eq(pt_cursor_take_next(&c, 0x9000, &f), PT_ERR_BEYOND_BARRIER);
    ck_assert_int_eq(pt_cursor_take_next(&c, 0x4000, &f), 0);
    ck_assert_uint_eq(pt_cursor_va(&c), 0x5000);
    ck_assert_int_eq(pt_cursor_take_next(&c, 0x4000, &f), 1);
    ck_assert_int_eq(f.kind, PT_FRAG_MAPPED);
    ck_assert_uint_eq(f.va, 0x5000);
    ck_assert_uint_eq(f.len, 0x1000);
    ck_assert_uint_eq(f.item.pa, a);
    ck_assert_uint_eq(pt_cursor_va(&c), 0x6000);
    ck_assert_int_eq(pt_cursor_take_next(&c, 0x3000, &f), 0);
    ck_assert_uint_eq(pt_cursor_va(&c), 0x9000);
    pt_cursor_drop(&c);
    ck_assert_uint_eq(pt_frame_refcount(mem, a), 1);
    ck_assert_uint_eq(util_check(&pt).nr_leaves, 0);
    struct pt_frag copy = f;
    pt_frag_release(mem, &copy);
    ck_assert_uint_eq(pt_frame_refcount(mem, a), PT_REF_UNUSED);
}
END_TEST

/* A range that covers whole nodes removes them as one stray subtree; the
 * nodes are freed only by pt_frag_release. */
START_TEST(take_next_whole_subtree)
{
    for (int i = 0; i < 5; i++)
        util_map4k(&pt, GiB + i * 0x101000ull, PT_RW);  /* three level-1 nodes */
    uint64_t live = pt_host_live(&hp);
    struct pt_check_result before = util_check(&pt);
    struct pt_cursor c;
    struct pt_frag f, f2;
    ck_assert_int_eq(pt_cursor_new(&c, &pt, 0, 4 * GiB), PT_OK);
    ck_assert_int_eq(pt_cursor_take_next(&c, 4 * GiB, &f), 1);
    ck_assert_int_eq(f.kind, PT_FRAG_STRAY_TABLE);
    ck_assert_uint_eq(f.va, GiB);
    ck_assert_uint_eq(f.len, GiB);
    ck_assert_int_eq(f.node_level, 2);
    ck_assert_uint_eq(f.num_frames, 5);
    ck_assert_uint_eq(pt_cursor_va(&c), 2 * GiB);
    ck_assert_int_eq(pt_cursor_take_next(&c, 2 * GiB, &f2), 0);
    pt_cursor_drop(&c);
    struct pt_check_result after = util_check(&pt);
    ck_assert_uint_eq(after.nr_nodes, before.nr_nodes - 4);  /* 1 level-2 + 3 level-1 */
    ck_assert_uint_eq(after.nr_leaves, 0);
    ck_assert_uint_eq(pt_host_live(&hp), live);
    pt_frag_release(mem, &f);
    ck_assert_uint_eq(pt_host_live(&hp), live - 4 - 5);
}
END_TEST

/* take_next's result does not depend on where an earlier query left the
 * cursor: a wholly covered level-1 table still goes as one stray subtree. */
START_TEST(take_next_after_query_detaches_whole_table)
{
    util_map4k(&pt, 0x200000, PT_R);
    util_map4k(&pt, 0x205000, PT_R);
    struct pt_cursor c;
    struct pt_query q;
    struct pt_frag f;
    ck_assert_int_eq(pt_cursor_new(&c, &pt, 0, 0x400000), PT_OK);
    ck_assert_int_eq(pt_cursor_jump(&c, 0x200000), PT_OK);
    ck_assert_int_eq(pt_cursor_query(&c, &q), PT_OK);  /* descends into the level-1 node */
    ck_assert(q.mapped);
    ck_assert_int_eq(pt_cursor_take_next(&c, 0x200000, &f), 1);
    ck_assert_int_eq(f.kind, PT_FRAG_STRAY_TABLE);
    ck_assert_uint_eq(f.va, 0x200000);
    ck_assert_int_eq(f.node_level, 1);
    ck_assert_uint_eq(f.num_frames, 2);
    ck_assert_uint_eq(pt_cursor_va(&c), 0x400000);
    pt_cursor_drop(&c);
    pt_frag_release(mem, &f);
    /* A range that covers only part of the table still goes leaf by leaf. */
    util_map4k(&pt, 0x201000, PT_R);
    ck_assert_int_eq(pt_cursor_new(&c, &pt, 0, 0x400000), PT_OK);
    ck_assert_int_eq(pt_cursor_jump(&c, 0x200000), PT_OK);
    ck_assert_int_eq(pt_cursor_take_next(&c, 0x100000, &f), 1);
    ck_assert_int_eq(f.kind, PT_FRAG_MAPPED);
    ck_assert_uint_eq(f.va, 0x201000);
    pt_frag_release(mem, &f);
    pt_cursor_drop(&c);
}
END_TEST

/* The kernel config pre-allocates its 256 top-level entries and never
 * removes them, even for a range covering a whole entry. */
START_TEST(kernel_top_level_kept)
{
    struct pt_page_table k;
    uint64_t live = pt_host_live(&hp);
    ck_assert_int_eq(pt_create(&k, mem, &pt_kernel_config), PT_OK);
    ck_assert_uint_eq(pt_host_live(&hp), live + 257);
    ck_assert_uint_eq(util_check(&k).nr_nodes, 257);
    ck_assert_uint_eq(pt_config_va_start(&pt_kernel_config), 0xffff800000000000ull);
    ck_assert_uint_eq(pt_config_va_end(&pt_kernel_config), 0);
    pt_vaddr_t base = 0xffff800000000000ull + 3 * 512 * GiB;
    util_map4k(&k, base + 0x1000, PT_RW);
    struct pt_cursor c;
    struct pt_frag f;
    ck_assert_int_eq(pt_cursor_new(&c, &k, base, base + 512 * GiB), PT_OK);
    ck_assert_int_eq(c.guard_level, 4);
    ck_assert_int_eq(pt_cursor_take_next(&c, 512 * GiB, &f), 1);
    ck_assert_int_eq(f.kind, PT_FRAG_STRAY_TABLE);  /* the level-2 subtree, not level 3 */
    ck_assert_int_eq(f.node_level, 2);
    ck_assert_uint_eq(f.num_frames, 1);
    pt_frag_release(mem, &f);
    ck_assert_int_eq(pt_cursor_take_next(&c, base + 512 * GiB - pt_cursor_va(&c), &f), 0);
    pt_cursor_drop(&c);
    ck_assert_uint_eq(util_check(&k).nr_nodes, 257);
    /* A user table shares the kernel half and keeps it alive. */
    struct pt_page_table u;
    ck_assert_int_eq(pt_create_user_sharing(&u, &k, &pt_user_config), PT_OK);
    util_check(&u);
    pt_paddr_t l3 = pt_pte_table_paddr(((pt_pte_t *)pt_host_frame_ptr(&hp, k.root))[300]);
    ck_assert_uint_eq(pt_frame_refcount(mem, l3), 2);
    pt_destroy(&k);
    ck_assert_uint_eq(pt_frame_refcount(mem, l3), 1);
    pt_destroy(&u);
    ck_assert_uint_eq(pt_host_live(&hp), live);
}
END_TEST

/* The top of the kernel half: entry ends that wrap past 2^64 clamp at the
 * barrier instead of wrapping the cursor back to 0. */
START_TEST(kernel_top_of_address_space)
{
    struct pt_page_table k;
    ck_assert_int_eq(pt_create(&k, mem, &pt_kernel_config), PT_OK);
    const pt_vaddr_t last_pml4 = 0xffffff8000000000ull, top = 0xfffffffffffff000ull;
    struct pt_cursor c;
    struct pt_query q;
    struct pt_frag f;
    pt_vaddr_t found;
    ck_assert_int_eq(pt_cursor_new(&c, &k, last_pml4, 0), PT_ERR_INVALID_RANGE);  /* end 2^64 */
    ck_assert_int_eq(pt_cursor_new(&c, &k, last_pml4, top), PT_OK);
    ck_assert_int_eq(c.guard_level, 3);
    ck_assert_int_eq(pt_cursor_jump(&c, top - 0x1000), PT_OK);
    ck_assert_int_eq(pt_cursor_query(&c, &q), PT_OK);
    ck_assert(!q.mapped);
    ck_assert_uint_eq(q.start, 0xffffffffc0000000ull);
    ck_assert_uint_eq(q.end, 0);  /* 2^64 */
    ck_assert_int_eq(pt_cursor_jump(&c, last_pml4), PT_OK);
    ck_assert_int_eq(pt_cursor_find_next(&c, top - last_pml4, &found), 0);
    ck_assert_uint_eq(pt_cursor_va(&c), top);
    pt_cursor_drop(&c);
    util_map4k(&k, top - 0x1000, PT_RW);
    ck_assert_int_eq(pt_cursor_new(&c, &k, last_pml4, top), PT_OK);
    ck_assert_int_eq(pt_cursor_find_next(&c, top - last_pml4, &found), 1);
    ck_assert_uint_eq(found, top - 0x1000);
    ck_assert_int_eq(pt_cursor_jump(&c, last_pml4), PT_OK);
    ck_assert_int_eq(pt_cursor_take_next(&c, top - last_pml4, &f), 1);
    ck_assert_int_eq(f.kind, PT_FRAG_MAPPED);  /* the last 1 GiB entry is not wholly in range */
    ck_assert_uint_eq(f.va, top - 0x1000);
    pt_frag_release(mem, &f);
    ck_assert_uint_eq(pt_cursor_va(&c), top);
    ck_assert_int_eq(pt_cursor_take_next(&c, 0, &f), 0);
    pt_cursor_drop(&c);
    util_check(&k);
    pt_destroy(&k);
}
END_TEST

/* ---- protect_next ---- */

static void set_flags(struct pt_prop *p, void *arg)
{
    p->flags = *(uint8_t *)arg;
}

static void bad_prop(struct pt_prop *p, void *arg)
{
    (void)arg;
    p->cache = 9;
}

START_TEST(protect_next_writes_only_changes)
{
    util_map4k(&pt, 0x3000, PT_RW);
    util_map4k(&pt, 0x4000, PT_R);
    uint64_t stores = 0;
    pt_host_set_pte_hook(&hp, util_count_stores, &stores);
    struct pt_cursor c;
    pt_vaddr_t s, e;
    uint8_t to = PT_R;
    ck_assert_int_eq(pt_cursor_new(&c, &pt, 0x1000, 0x8000), PT_OK);
    ck_assert_int_eq(pt_cursor_protect_next(&c, 0x1800, set_flags, &to, &s, &e), PT_ERR_UNALIGNED);
    ck_assert_int_eq(pt_cursor_protect_next(&c, 0x8000, set_flags, &to, &s, &e),
                     PT_ERR_BEYOND_BARRIER);
    ck_assert_int_eq(pt_cursor_protect_next(&c, 0x7000, bad_prop, NULL, &s, &e), PT_ERR_BAD_PROP);
    ck_assert_uint_eq(stores, 0);
    ck_assert_uint_eq(pt_cursor_va(&c), 0x3000);  /* stays at the leaf it refused */
    ck_assert_int_eq(pt_cursor_protect_next(&c, 0x5000, set_flags, &to, &s, &e), 1);
    ck_assert_uint_eq(s, 0x3000);
    ck_assert_uint_eq(e, 0x4000);
    ck_assert_uint_eq(stores, 1);  /* RW -> R */
    ck_assert_int_eq(pt_cursor_protect_next(&c, 0x4000, set_flags, &to, &s, &e), 1);
    ck_assert_uint_eq(s, 0x4000);
    ck_assert_uint_eq(stores, 1);  /* R -> R: no store */
    ck_assert_int_eq(pt_cursor_protect_next(&c, 0x3000, set_flags, &to, &s, &e), 0);
    ck_assert_uint_eq(pt_cursor_va(&c), 0x8000);
    /* PROT_NONE keeps the leaf mapped but not hardware-present. */
    uint8_t none = 0;
    ck_assert_int_eq(pt_cursor_jump(&c, 0x3000), PT_OK);
    ck_assert_int_eq(pt_cursor_protect_next(&c, 0x1000, set_flags, &none, &s, &e), 1);
    ck_assert_uint_eq(stores, 2);
    pt_cursor_drop(&c);
    pt_host_set_pte_hook(&hp, NULL, NULL);
    struct pt_query q = util_query(&pt, 0x3000);
    ck_assert(q.mapped);
    ck_assert_uint_eq(q.item.prop.flags, 0);
    ck_assert_uint_eq(util_query(&pt, 0x4000).item.prop.flags, PT_R);
}
END_TEST

/* Every PTE store reports node, index, level, old and new value. */
static struct pt_pte_store last_store;
static void record_store(void *arg, const struct pt_pte_store *s)
{
    (void)arg;
    last_store = *s;
}

START_TEST(pte_store_hook_sees_every_store)
{
    pt_host_set_pte_hook(&hp, record_store, NULL);
    pt_paddr_t pa = util_map4k(&pt, 0x6000, PT_RW);
    ck_assert_int_eq(last_store.level, 1);
    ck_assert_uint_eq(last_store.index, 6);
    ck_assert_uint_eq(last_store.old_pte, 0);
    ck_assert_uint_eq(last_store.new_pte, pt_pte_make_leaf(pa, 1, util_prop(PT_RW)));
    pt_pte_t *ptes = pt_host_frame_ptr(&hp, last_store.node);
    ck_assert_uint_eq(ptes[6], last_store.new_pte);
    util_unmap(&pt, 0x6000, 0x1000);
    ck_assert_uint_eq(last_store.old_pte, pt_pte_make_leaf(pa, 1, util_prop(PT_RW)));
    ck_assert_uint_eq(last_store.new_pte, 0);
    pt_host_set_pte_hook(&hp, NULL, NULL);
}
END_TEST

/* Unmapping everything leaves empty nodes (not reclaimed); pt_destroy frees
 * them (checked by teardown). */
START_TEST(empty_nodes_stay_until_destroy)
{
    util_map4k(&pt, 0x1000, PT_R);
    uint64_t nodes = util_check(&pt).nr_nodes;
    ck_assert_uint_eq(util_unmap(&pt, 0x1000, 0x1000), 1);
    ck_assert_uint_eq(util_check(&pt).nr_nodes, nodes);
    ck_assert_uint_eq(util_query(&pt, 0x1000).mapped, false);
}
END_TEST

/* pt_check really catches what the NOMEM and concurrency tests rely on it
 * for (each corruption is undone before the next). */
static void expect_check_error(const char *what)
{
    struct pt_check_result r;
    ck_assert(!pt_check(&pt, &r));
    ck_assert_str_eq(r.error, what);
}

START_TEST(checker_detects_corruption)
{
    util_map4k(&pt, 0x1000, PT_RW);
    util_map4k(&pt, 0x400000, PT_RW);
    struct pt_cursor c;
    ck_assert_int_eq(pt_cursor_new(&c, &pt, 0x1000, 0x2000), PT_OK);
    pt_paddr_t l1 = c.path[0];
    pt_cursor_drop(&c);
    pt_paddr_t l2 = pt_pte_table_paddr(((pt_pte_t *)pt_host_frame_ptr(&hp, pt.root))[0]);
    l2 = pt_pte_table_paddr(((pt_pte_t *)pt_host_frame_ptr(&hp, l2))[0]);
    pt_pte_t *l2p = pt_host_frame_ptr(&hp, l2), *l1p = pt_host_frame_ptr(&hp, l1);
    struct pt_frame_meta *m = pt_frame_meta(mem, l1);

    m->nr_children++;
    expect_check_error("nr_children differs from the non-zero PTE count");
    m->nr_children--;
    m->stray = 1;
    expect_check_error("reachable node is marked stray");
    m->stray = 0;
    m->lock = 1;
    expect_check_error("node is locked with no live cursor");
    m->lock = 0;
    pt_pte_t saved = l2p[2];  /* the 0x400000 level-1 node */
    l2p[2] = l2p[0];
    expect_check_error("node reachable twice");
    l2p[2] = saved;
    saved = l1p[1];
    l1p[1] = saved | PTE_UNTRACKED;  /* fine: an untracked leaf */
    ck_assert(pt_check(&pt, &(struct pt_check_result){0}));
    l1p[1] = pt_pte_make_leaf(200 * 4096, 1, util_prop(PT_R));  /* tracked, never allocated */
    expect_check_error("tracked leaf's frame is not live");
    l1p[1] = saved;
    l2p[7] = pt_pte_make_leaf(0x40000000, 2, util_prop(PT_R));  /* tracked huge leaf */
    m = pt_frame_meta(mem, l2);
    m->nr_children++;
    expect_check_error("tracked leaf above level 1");
    l2p[7] = pt_pte_make_leaf(0x40000000, 2, util_prop(PT_R)) | PTE_UNTRACKED | (1ull << 13);
    expect_check_error("huge leaf's address is not aligned to its size");
    l2p[7] = 0;
    m->nr_children--;
    util_check(&pt);
}
END_TEST

/* An untracked item's pa must fit the 52-bit physical-address width: its
 * high bits would otherwise become NX and software bits of the PTE. Both the
 * general path and the sequential fast path (primed by a first map) refuse
 * it, storing nothing. */
START_TEST(map_refuses_paddr_beyond_width)
{
    uint64_t stores = 0;
    pt_host_set_pte_hook(&hp, util_count_stores, &stores);
    struct pt_cursor c;
    struct pt_frag f;
    ck_assert_int_eq(pt_cursor_new(&c, &pt, 0x200000, 0x400000), PT_OK);
    stores = 0;  /* (cursor_new stored the path's new nodes) */
    struct pt_item bad[] = {
        { .pa = 1ull << 52, .level = 1, .prop = util_prop(PT_RW), .tracked = false },
        { .pa = (1ull << 63) | 0x5000, .level = 1, .prop = util_prop(PT_RW), .tracked = false },
        { .pa = PT_PHYS_ADDR_LIMIT - 0x200000 + (1ull << 60), .level = 2,
          .prop = util_prop(PT_RW), .tracked = false },
    };
    for (unsigned k = 0; k < 2; k++)
        ck_assert_int_eq(pt_cursor_map(&c, &bad[k], &f), PT_ERR_PADDR_WIDTH);
    ck_assert_int_eq(pt_cursor_map(&c, &bad[2], &f), PT_ERR_PADDR_WIDTH);
    ck_assert_uint_eq(stores, 0);
    /* The highest page that fits is accepted; then the fast path is primed
     * with this (level, prop, untracked) key and must refuse a wide pa too. */
    struct pt_item top = { .pa = PT_PHYS_ADDR_LIMIT - 4096, .level = 1,
                           .prop = util_prop(PT_RW), .tracked = false };
    ck_assert_int_eq(pt_cursor_map(&c, &top, &f), 0);
    uint64_t before = stores;
    ck_assert_int_eq(pt_cursor_map(&c, &bad[0], &f), PT_ERR_PADDR_WIDTH);
    ck_assert_uint_eq(stores, before);
    pt_cursor_drop(&c);
    struct pt_query q = util_query(&pt, 0x200000);
    ck_assert(q.mapped && q.item.pa == PT_PHYS_ADDR_LIMIT - 4096);
    ck_assert(pt_prop_eq(q.item.prop, util_prop(PT_RW)));  /* no stray NX or AVAIL bits */
    ck_assert(util_query(&pt, 0x201000).mapped == false);
    pt_host_set_pte_hook(&hp, NULL, NULL);
    util_unmap(&pt, 0x200000, 0x200000);
    ck_assert_str_eq(pt_error_name(PT_ERR_PADDR_WIDTH), "PT_ERR_PADDR_WIDTH");
}
END_TEST

/* replaced == NULL: accepted on every path while the slot is empty (the
 * general path used to panic where the fast path accepted it)... */
START_TEST(map_null_replaced_into_empty_slot)
{
    struct pt_cursor c;
    pt_paddr_t a = util_frame(), b = util_frame();
    ck_assert_int_eq(pt_cursor_new(&c, &pt, 0x1000, 0x3000), PT_OK);
    struct pt_item ia = item4k(a, PT_RW), ib = item4k(b, PT_RW);
    ck_assert_int_eq(pt_cursor_map(&c, &ia, NULL), 0);  /* general path */
    ck_assert_int_eq(pt_cursor_map(&c, &ib, NULL), 0);  /* fast path */
    pt_cursor_drop(&c);
    ck_assert(util_query(&pt, 0x1000).item.pa == a);
    ck_assert(util_query(&pt, 0x2000).item.pa == b);
}
END_TEST

/* ... and a panic, before the slot is written, over a non-empty one, on
 * both paths (run in a child process: pt_panic aborts). */
static void map_null_over_mapped(bool fast)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        struct pt_cursor c;
        if (pt_cursor_new(&c, &pt, 0x1000, 0x3000) != PT_OK)
            _exit(2);
        struct pt_item it = item4k(util_frame(), PT_RW);
        struct pt_frag f;
        if (fast && pt_cursor_map(&c, &it, &f) != 1)  /* primes the fast path at 0x2000 */
            _exit(3);
        pt_cursor_map(&c, &it, NULL);
        _exit(0);  /* not reached if the core panics */
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
                  "%s path: map over a mapped slot with replaced == NULL did not panic",
                  fast ? "fast" : "general");
}

START_TEST(map_null_replaced_over_mapped_panics)
{
    util_map4k(&pt, 0x1000, PT_RW);
    util_map4k(&pt, 0x2000, PT_RW);
    map_null_over_mapped(false);
    map_null_over_mapped(true);
}
END_TEST

/* The MMU sets A/D in the leaf while protect_next's op runs (between the
 * core's read and its update): the update must keep them, on the general
 * path (first call: the cursor is not yet on the level-1 node) and on the
 * fast path (next pages). The core before the atomic update lost D on both. */
static pt_pte_t *leaf_slot(pt_vaddr_t va)
{
    pt_paddr_t node = pt.root;
    for (int l = PT_NR_LEVELS; l > 1; l--) {
        const pt_pte_t *ptes = pt_host_frame_ptr(&hp, node);
        ck_assert(pt_pte_is_table(ptes[pt_index(va, l)]));
        node = pt_pte_table_paddr(ptes[pt_index(va, l)]);
    }
    return (pt_pte_t *)pt_host_frame_ptr(&hp, node) + pt_index(va, 1);
}

struct mmu_op {
    pt_vaddr_t va;    /* the leaf op is called for (set by the test) */
    int calls;
};

static void ro_and_mmu_dirties(struct pt_prop *p, void *arg)
{
    struct mmu_op *m = arg;
    m->calls++;
    __atomic_fetch_or(leaf_slot(m->va), PTE_A | PTE_D, __ATOMIC_RELAXED);  /* the MMU */
    p->flags &= (uint8_t)~PT_W;
}

START_TEST(protect_keeps_mmu_dirty_bit)
{
    for (int k = 0; k < 4; k++)
        util_map4k(&pt, 0x10000 + (uint64_t)k * 4096, PT_RW);
    struct pt_cursor c;
    struct mmu_op m = { 0, 0 };
    ck_assert_int_eq(pt_cursor_new(&c, &pt, 0x10000, 0x14000), PT_OK);
    for (int k = 0; k < 4; k++) {
        pt_vaddr_t s, e;
        m.va = 0x10000 + (uint64_t)k * 4096;
        ck_assert_int_eq(pt_cursor_protect_next(&c, 0x14000 - pt_cursor_va(&c),
                                                ro_and_mmu_dirties, &m, &s, &e), 1);
        ck_assert_uint_eq(s, m.va);
    }
    pt_cursor_drop(&c);
    ck_assert_int_eq(m.calls, 4);  /* op once per leaf, even after a lost race */
    for (int k = 0; k < 4; k++) {
        struct pt_query q = util_query(&pt, 0x10000 + (uint64_t)k * 4096);
        ck_assert_msg(q.item.prop.flags & PT_DIRTY, "page %d lost the MMU's DIRTY bit", k);
        ck_assert_msg(q.item.prop.flags & PT_ACCESSED, "page %d lost ACCESSED", k);
        ck_assert_msg(!(q.item.prop.flags & PT_W), "page %d: protect did not apply", k);
    }
}
END_TEST

START_TEST(error_names)
{
    ck_assert_str_eq(pt_error_name(PT_ERR_NOMEM), "PT_ERR_NOMEM");
    ck_assert_str_eq(pt_error_name(PT_ERR_BAD_FRAME), "PT_ERR_BAD_FRAME");
    ck_assert_str_eq(pt_error_name(-100), "PT_ERR_UNKNOWN");
}
END_TEST

CHECK_PROGRAM_ONE_FIXTURE_TCASE("pagetable_cursor", "cursor", CHECK_TIMEOUT_DEFAULT, setup, teardown,
                                new_rejects_bad_ranges, new_picks_subtree_root,
                                query_absent_reports_entry_size, query_mapped_and_past_barrier,
                                find_next_contract, jump_errors, jump_from_barrier_end,
                                map_empty_slot_moves_reference, map_over_mapped_4k_replaces,
                                map_errors_change_nothing, map_over_subtree_detaches_stray,
                                take_next_leaf_and_errors, take_next_whole_subtree,
                                take_next_after_query_detaches_whole_table, kernel_top_level_kept,
                                kernel_top_of_address_space, protect_next_writes_only_changes,
                                pte_store_hook_sees_every_store, empty_nodes_stay_until_destroy,
                                checker_detects_corruption, error_names,
                                map_refuses_paddr_beyond_width, map_null_replaced_into_empty_slot,
                                map_null_replaced_over_mapped_panics, protect_keeps_mmu_dirty_bit)
