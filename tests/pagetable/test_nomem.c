/*
 * Out of memory at every allocation point: each failing operation returns
 * PT_ERR_NOMEM, leaves a consistent table (pt_check) that maps exactly what
 * it mapped before, holds no lock, and leaks no frame (after pt_destroy the
 * platform's live counter is back to the baseline).
 *
 * Each test retries its operation with failure injected at allocation call
 * k = 1, 2, ... until it succeeds, and asserts how many allocation points
 * it met.
 */
#include <stdlib.h>

#include "check_main.h"
#include "pt_test_util.h"

#define PA_1G (64 * GiB)
#define PA_2M (3 * GiB + 6 * MiB)

static uint64_t live0;

static void setup(void)
{
    util_platform_init(1024);
    live0 = pt_host_live(&hp);
}

static void teardown(void) { util_platform_fini(); }

/* After a failure: consistent, then destroyed without leaking. */
static void check_and_destroy(struct pt_page_table *pt, uint64_t leaves)
{
    ck_assert_uint_eq(util_check(pt).nr_leaves, leaves);
    pt_destroy(pt);
    ck_assert_uint_eq(pt_host_live(&hp), live0);
}

START_TEST(create_kernel_at_every_allocation)
{
    unsigned k;
    for (k = 1;; k++) {
        struct pt_page_table pt;
        pt_host_fail_nth(&hp, k);
        int r = pt_create(&pt, mem, &pt_kernel_config);
        pt_host_fail_off(&hp);
        if (r == PT_OK) {
            check_and_destroy(&pt, 0);
            break;
        }
        ck_assert_int_eq(r, PT_ERR_NOMEM);
        ck_assert_uint_eq(pt_host_live(&hp), live0);  /* nothing allocated */
    }
    ck_assert_uint_eq(k, 258);  /* root + 256 level-3 nodes, then success */
}
END_TEST

START_TEST(cursor_new_at_every_allocation)
{
    unsigned k;
    for (k = 1;; k++) {
        struct pt_page_table pt;
        ck_assert_int_eq(pt_create(&pt, mem, &pt_user_config), PT_OK);
        struct pt_cursor c;
        pt_host_fail_nth(&hp, k);
        int r = pt_cursor_new(&c, &pt, 0x40000000, 0x40001000);
        pt_host_fail_off(&hp);
        if (r == PT_OK) {
            ck_assert_int_eq(c.guard_level, 1);
            pt_cursor_drop(&c);
            check_and_destroy(&pt, 0);
            break;
        }
        ck_assert_int_eq(r, PT_ERR_NOMEM);
        check_and_destroy(&pt, 0);  /* pt_check also asserts every node unlocked */
    }
    ck_assert_uint_eq(k, 4);  /* levels 3, 2, 1 */
}
END_TEST

START_TEST(map_at_every_allocation)
{
    unsigned k;
    for (k = 1;; k++) {
        struct pt_page_table pt;
        ck_assert_int_eq(pt_create(&pt, mem, &pt_user_config), PT_OK);
        pt_paddr_t pa = util_frame();
        struct pt_cursor c;
        struct pt_frag f;
        /* Two PML4 entries: the root is the sub-tree root, so map allocates. */
        ck_assert_int_eq(pt_cursor_new(&c, &pt, 0, 1024 * GiB), PT_OK);
        ck_assert_int_eq(pt_cursor_jump(&c, 600 * GiB), PT_OK);
        struct pt_item it = { pa, 1, util_prop(PT_RW), true };
        pt_host_fail_nth(&hp, k);
        int r = pt_cursor_map(&c, &it, &f);
        pt_host_fail_off(&hp);
        if (r == 0) {
            pt_cursor_drop(&c);
            ck_assert(util_query(&pt, 600 * GiB).mapped);
            check_and_destroy(&pt, 1);  /* frees pa with the table */
            break;
        }
        ck_assert_int_eq(r, PT_ERR_NOMEM);
        ck_assert_uint_eq(pt_cursor_va(&c), 600 * GiB);
        pt_cursor_drop(&c);
        ck_assert(!util_query(&pt, 600 * GiB).mapped);
        ck_assert_uint_eq(pt_frame_refcount(mem, pa), 1);  /* still the caller's */
        pt_frame_put(mem, pa);
        check_and_destroy(&pt, 0);
    }
    ck_assert_uint_eq(k, 4);
}
END_TEST

/* The split map needs fails: the huge leaf stays whole. */
START_TEST(map_split_at_every_allocation)
{
    unsigned k;
    for (k = 1;; k++) {
        struct pt_page_table pt;
        ck_assert_int_eq(pt_create(&pt, mem, &pt_user_config_1g), PT_OK);
        util_map_huge(&pt, GiB, PA_1G, 3, PT_RW);
        pt_paddr_t pa = util_frame();
        struct pt_cursor c;
        struct pt_frag f;
        pt_vaddr_t va = GiB + 3 * MiB;
        ck_assert_int_eq(pt_cursor_new(&c, &pt, va, va + 4096), PT_OK);
        struct pt_item it = { pa, 1, util_prop(PT_R), true };
        pt_host_fail_nth(&hp, k);
        int r = pt_cursor_map(&c, &it, &f);
        pt_host_fail_off(&hp);
        pt_cursor_drop(&c);
        struct pt_query q = util_query(&pt, va);
        if (r == 1) {
            ck_assert_uint_eq(f.item.pa, PA_1G + 3 * MiB);
            pt_frag_release(mem, &f);
            ck_assert_uint_eq(q.item.pa, pa);
            check_and_destroy(&pt, 511 + 511 + 1);
            break;
        }
        ck_assert_int_eq(r, PT_ERR_NOMEM);
        /* Still mapped to the same physical page (possibly already split
         * once, which maps the same thing). */
        ck_assert(q.mapped);
        ck_assert_uint_eq(q.item.pa + (va - q.start), PA_1G + 3 * MiB);
        pt_frame_put(mem, pa);
        check_and_destroy(&pt, k == 1 ? 1 : 512);
    }
    ck_assert_uint_eq(k, 3);  /* split 1 GiB, split 2 MiB */
}
END_TEST

static void to_ro(struct pt_prop *p, void *arg)
{
    (void)arg;
    p->flags &= (uint8_t)~PT_W;
}

/* take_next and protect_next of a page inside a 1 GiB leaf: a failed split
 * removes or changes nothing. */
static void split_op_at_every_allocation(bool take)
{
    unsigned k;
    for (k = 1;; k++) {
        struct pt_page_table pt;
        ck_assert_int_eq(pt_create(&pt, mem, &pt_user_config_1g), PT_OK);
        util_map_huge(&pt, GiB, PA_1G, 3, PT_RW);
        struct pt_cursor c;
        struct pt_frag f;
        pt_vaddr_t va = GiB + 9 * MiB + 0x7000, s, e;
        ck_assert_int_eq(pt_cursor_new(&c, &pt, va, va + 4096), PT_OK);
        pt_host_fail_nth(&hp, k);
        int r = take ? pt_cursor_take_next(&c, 4096, &f)
                     : pt_cursor_protect_next(&c, 4096, to_ro, NULL, &s, &e);
        pt_host_fail_off(&hp);
        pt_cursor_drop(&c);
        struct pt_query q = util_query(&pt, va);
        if (r == 1) {
            if (take) {
                ck_assert_uint_eq(f.item.pa, PA_1G + 9 * MiB + 0x7000);
                pt_frag_release(mem, &f);
                ck_assert(!q.mapped);
            } else {
                ck_assert_uint_eq(s, va);
                ck_assert_uint_eq(q.item.prop.flags, PT_R);
            }
            check_and_destroy(&pt, take ? 511 + 511 : 512 + 511);
            break;
        }
        ck_assert_int_eq(r, PT_ERR_NOMEM);
        ck_assert(q.mapped);
        ck_assert_uint_eq(q.item.pa + (va - q.start), PA_1G + 9 * MiB + 0x7000);
        ck_assert_uint_eq(q.item.prop.flags, PT_RW);
        check_and_destroy(&pt, k == 1 ? 1 : 512);
    }
    ck_assert_uint_eq(k, 3);
}

START_TEST(take_split_at_every_allocation) { split_op_at_every_allocation(true); }
END_TEST

START_TEST(protect_split_at_every_allocation) { split_op_at_every_allocation(false); }
END_TEST

CHECK_PROGRAM_ONE_FIXTURE_TCASE("pagetable_nomem", "nomem", CHECK_TIMEOUT_DEFAULT, setup, teardown,
                                create_kernel_at_every_allocation, cursor_new_at_every_allocation,
                                map_at_every_allocation, map_split_at_every_allocation,
                                take_split_at_every_allocation, protect_split_at_every_allocation)
