/* Frame metadata: states, reference counting, reservation, OOM, node drop. */
#include <stdlib.h>

#include "check_main.h"
#include "pt_test_util.h"

static void setup(void) { util_platform_init(64); }
static void teardown(void) { util_platform_fini(); }

START_TEST(slot_is_64_bytes)
{
    ck_assert_uint_eq(sizeof(struct pt_frame_meta), 64);
}
END_TEST

START_TEST(fresh_slots_unused_and_frame0_reserved)
{
    ck_assert_uint_eq(pt_frame_refcount(mem, 0), 1);
    ck_assert_uint_eq(pt_frame_meta(mem, 0)->usage, PT_USAGE_RESERVED);
    for (uint64_t f = 1; f < 64; f++) {
        ck_assert_uint_eq(pt_frame_refcount(mem, f * 4096), PT_REF_UNUSED);
        ck_assert_uint_eq(pt_frame_meta(mem, f * 4096)->usage, PT_USAGE_FREE);
    }
}
END_TEST

START_TEST(alloc_get_put_lifecycle)
{
    pt_paddr_t pa;
    ck_assert(pt_frame_alloc(mem, PT_USAGE_UNTYPED, &pa));
    ck_assert_uint_ne(pa, 0);
    ck_assert_uint_eq(pa % 4096, 0);
    ck_assert_uint_eq(pt_frame_refcount(mem, pa), 1);
    ck_assert_uint_eq(pt_frame_meta(mem, pa)->usage, PT_USAGE_UNTYPED);
    /* Zeroed although the host platform poisons free frames. */
    const uint8_t *b = pt_host_frame_ptr(&hp, pa);
    for (int i = 0; i < 4096; i++)
        ck_assert_uint_eq(b[i], 0);
    pt_frame_get(mem, pa);
    pt_frame_get(mem, pa);
    ck_assert_uint_eq(pt_frame_refcount(mem, pa), 3);
    pt_frame_put(mem, pa);
    pt_frame_put(mem, pa);
    ck_assert_uint_eq(pt_frame_refcount(mem, pa), 1);
    ck_assert_uint_eq(pt_host_live(&hp), 1);
    pt_frame_put(mem, pa);
    ck_assert_uint_eq(pt_frame_refcount(mem, pa), PT_REF_UNUSED);
    ck_assert_uint_eq(pt_frame_meta(mem, pa)->usage, PT_USAGE_FREE);
    ck_assert_uint_eq(pt_host_live(&hp), 0);
    ck_assert_uint_eq(pt_host_freed(&hp), 1);
}
END_TEST

START_TEST(reserve_marks_frames)
{
    pt_frame_reserve(mem, 8 * 4096, 3 * 4096);
    for (int f = 8; f < 11; f++) {
        ck_assert_uint_eq(pt_frame_meta(mem, f * 4096ull)->usage, PT_USAGE_RESERVED);
        ck_assert_uint_eq(pt_frame_refcount(mem, f * 4096ull), 1);
    }
    ck_assert_uint_eq(pt_frame_meta(mem, 11 * 4096ull)->usage, PT_USAGE_FREE);
}
END_TEST

/* Running the platform dry fails cleanly; failure injection fails exactly
 * the requested call or everything after a budget. */
START_TEST(oom_from_platform)
{
    pt_paddr_t pa[64];
    int n = 0;
    while (pt_frame_alloc(mem, PT_USAGE_UNTYPED, &pa[n]))
        n++;
    ck_assert_int_eq(n, 63);  /* frame 0 is reserved */
    ck_assert_uint_eq(pt_host_live(&hp), 63);
    ck_assert_uint_eq(pt_host_failed(&hp), 1);
    for (int i = 0; i < n; i++)
        pt_frame_put(mem, pa[i]);
    ck_assert_uint_eq(pt_host_live(&hp), 0);

    pt_host_fail_nth(&hp, 2);
    ck_assert(pt_frame_alloc(mem, PT_USAGE_UNTYPED, &pa[0]));
    ck_assert(!pt_frame_alloc(mem, PT_USAGE_UNTYPED, &pa[1]));
    ck_assert(pt_frame_alloc(mem, PT_USAGE_UNTYPED, &pa[1]));
    pt_host_fail_after(&hp, 1);
    ck_assert(pt_frame_alloc(mem, PT_USAGE_UNTYPED, &pa[2]));
    ck_assert(!pt_frame_alloc(mem, PT_USAGE_UNTYPED, &pa[3]));
    ck_assert(!pt_frame_alloc(mem, PT_USAGE_UNTYPED, &pa[3]));
    pt_host_fail_off(&hp);
    ck_assert(pt_frame_alloc(mem, PT_USAGE_UNTYPED, &pa[3]));
    for (int i = 0; i < 4; i++)
        pt_frame_put(mem, pa[i]);
    ck_assert_uint_eq(pt_host_live(&hp), 0);
}
END_TEST

/* OSTD's unique state: only one owner; converts to and from shared. */
START_TEST(unique_frames)
{
    pt_paddr_t pa;
    ck_assert(pt_frame_alloc_unique(mem, PT_USAGE_UNTYPED, &pa));
    ck_assert_uint_eq(pt_frame_refcount(mem, pa), PT_REF_UNIQUE);
    pt_frame_unique_to_shared(mem, pa);
    ck_assert_uint_eq(pt_frame_refcount(mem, pa), 1);
    pt_frame_get(mem, pa);
    ck_assert(!pt_frame_shared_to_unique(mem, pa));  /* two references */
    ck_assert_uint_eq(pt_frame_refcount(mem, pa), 2);
    pt_frame_put(mem, pa);
    ck_assert(pt_frame_shared_to_unique(mem, pa));
    ck_assert_uint_eq(pt_frame_refcount(mem, pa), PT_REF_UNIQUE);
    /* A unique frame cannot be mapped (it cannot hold the PTE's reference). */
    struct pt_page_table pt;
    struct pt_cursor c;
    struct pt_frag f;
    ck_assert_int_eq(pt_create(&pt, mem, &pt_user_config), PT_OK);
    ck_assert_int_eq(pt_cursor_new(&c, &pt, 0x1000, 0x2000), PT_OK);
    struct pt_item it = { pa, 1, util_prop(PT_RW), true };
    ck_assert_int_eq(pt_cursor_map(&c, &it, &f), PT_ERR_BAD_FRAME);
    pt_cursor_drop(&c);
    pt_destroy(&pt);
    pt_frame_unique_free(mem, pa);
    ck_assert_uint_eq(pt_frame_refcount(mem, pa), PT_REF_UNUSED);
    ck_assert_uint_eq(pt_host_live(&hp), 0);
}
END_TEST

/* The last put of a page-table node drops its children and its tracked
 * level-1 frames' references; untracked leaves are left alone. */
START_TEST(node_drop_is_recursive)
{
    struct pt_page_table pt;
    ck_assert_int_eq(pt_create(&pt, mem, &pt_user_config), PT_OK);
    pt_paddr_t shared = util_map4k(&pt, 0x1000, PT_RW);
    pt_frame_get(mem, shared);  /* keep a handle of our own */
    util_map4k(&pt, 0x40000000, PT_R);
    util_map_huge(&pt, 0x80000000, 0x200000, 2, PT_RW);  /* untracked pa, not in the arena */
    ck_assert_uint_eq(pt_frame_refcount(mem, shared), 2);
    uint64_t live = pt_host_live(&hp);
    ck_assert_uint_gt(live, 4);
    pt_destroy(&pt);
    ck_assert_uint_eq(pt_frame_refcount(mem, shared), 1);
    ck_assert_uint_eq(pt_host_live(&hp), 1);
    pt_frame_put(mem, shared);
    ck_assert_uint_eq(pt_host_live(&hp), 0);
}
END_TEST

CHECK_PROGRAM_ONE_FIXTURE_TCASE("pagetable_frame", "meta", CHECK_TIMEOUT_DEFAULT, setup, teardown,
                                slot_is_64_bytes, fresh_slots_unused_and_frame0_reserved,
                                alloc_get_put_lifecycle, reserve_marks_frames, oom_from_platform,
                                unique_frames, node_drop_is_recursive)
