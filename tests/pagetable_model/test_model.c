/*
 * Unit tests of the reference model itself (model.h): if the oracle is
 * wrong, the differential test proves nothing.
 */
#include <check.h>
#include <stdlib.h>

#include "check_main.h"
#include "model.h"

#define K4 0x1000ull
#define M2 0x200000ull
#define G1 0x40000000ull

static const struct pt_prop RW = { .flags = PT_RW, .priv = PT_PRIV_USER, .cache = PT_CACHE_WB };

static struct model_mapping mk(pt_vaddr_t va, pt_paddr_t pa, int level, bool tracked)
{
    return (struct model_mapping){ .va = va, .pa = pa, .level = level, .prop = RW,
                                   .tracked = tracked };
}

START_TEST(insert_find_and_first_in)
{
    struct model m;
    model_init(&m);
    struct model_mapping a = mk(4 * M2, 0x100000000ull, 2, false);
    struct model_mapping b = mk(K4, 0x5000, 1, true);
    model_insert(&m, &a);
    model_insert(&m, &b);
    ck_assert_uint_eq(m.n, 2);
    ck_assert_uint_eq(m.v[0].va, K4);                  /* kept sorted */
    ck_assert_int_eq(model_find(&m, 4 * M2 + 0x1234), 1);
    ck_assert_int_eq(model_find(&m, 0), -1);
    ck_assert_int_eq(model_find(&m, 5 * M2), -1);       /* end is exclusive */
    ck_assert_int_eq(model_first_in(&m, 2 * K4, 4 * M2), -1);
    ck_assert_int_eq(model_first_in(&m, 2 * K4, 4 * M2 + K4), 1);
    ck_assert_int_eq(model_first_in(&m, 0, 2 * K4), 0);
    ck_assert_ptr_null(model_check(&m));
    model_free(&m);
}
END_TEST

START_TEST(split_while_huge_makes_512_children_with_strided_pa)
{
    struct model m;
    model_init(&m);
    struct model_mapping g = mk(G1, 0x80000000ull, 3, false);
    model_insert(&m, &g);
    pt_vaddr_t va = G1 + 3 * M2 + 7 * K4;
    ck_assert_int_eq(model_split_while_huge(&m, va, 1), 2);
    ck_assert_uint_eq(m.n, 511 + 512);
    ck_assert_uint_eq(model_bytes(&m), G1);             /* nothing lost */
    long i = model_find(&m, va);
    ck_assert_int_ge(i, 0);
    ck_assert_int_eq(m.v[i].level, 1);
    ck_assert_uint_eq(m.v[i].va, va);
    ck_assert_uint_eq(m.v[i].pa, 0x80000000ull + 3 * M2 + 7 * K4);
    long j = model_find(&m, G1 + 100 * M2);
    ck_assert_int_eq(m.v[j].level, 2);
    ck_assert_uint_eq(m.v[j].pa, 0x80000000ull + 100 * M2);
    ck_assert_ptr_null(model_check(&m));
    ck_assert_int_eq(model_split_while_huge(&m, va, 1), 0);
    model_free(&m);
}
END_TEST

START_TEST(map_replaces_and_reports_what_it_removed)
{
    struct model m;
    model_init(&m);
    struct model_list rem = { 0 };
    struct model_mapping a = mk(M2 + K4, 0x5000, 1, true);
    struct model_mapping b = mk(M2 + 9 * K4, 0x6000, 1, true);
    model_insert(&m, &a);
    model_insert(&m, &b);
    struct model_mapping big = mk(M2, 0x40000000ull, 2, false);
    ck_assert_uint_eq(model_map(&m, &big, &rem), 2);
    ck_assert_uint_eq(rem.n, 2);
    ck_assert_uint_eq(rem.v[0].pa, 0x5000);
    ck_assert_uint_eq(m.n, 1);
    /* Map a 4 KiB page inside the 2 MiB one: split, then replace one child. */
    model_list_clear(&rem);
    struct model_mapping small = mk(M2 + 5 * K4, 0x7000, 1, true);
    ck_assert_uint_eq(model_map(&m, &small, &rem), 1);
    ck_assert_uint_eq(rem.v[0].pa, 0x40000000ull + 5 * K4);
    ck_assert_int_eq(rem.v[0].level, 1);
    ck_assert_uint_eq(m.n, 512);
    ck_assert(m.v[model_find(&m, M2 + 5 * K4)].tracked);
    ck_assert_ptr_null(model_check(&m));
    model_list_free(&rem);
    model_free(&m);
}
END_TEST

START_TEST(split_to_fit_picks_the_piece_at_the_range_start)
{
    struct model m;
    model_init(&m);
    struct model_mapping g = mk(0, 0x40000000ull, 3, false);
    model_insert(&m, &g);
    /* Range starts inside the 1 GiB page and ends inside a 2 MiB child. */
    size_t i = model_split_to_fit(&m, 0, 5 * M2, 7 * M2 + 3 * K4);
    ck_assert_int_eq(m.v[i].level, 2);
    ck_assert_uint_eq(m.v[i].va, 5 * M2);
    /* A range covering the start of a 2 MiB page only partly: down to 4 KiB. */
    long j = model_find(&m, 7 * M2);
    i = model_split_to_fit(&m, (size_t)j, 7 * M2, 7 * M2 + 3 * K4);
    ck_assert_int_eq(m.v[i].level, 1);
    ck_assert_uint_eq(m.v[i].va, 7 * M2);
    ck_assert_uint_eq(model_bytes(&m), G1);
    model_free(&m);
}
END_TEST

START_TEST(remove_range_takes_only_what_is_inside)
{
    struct model m;
    model_init(&m);
    for (int i = 0; i < 8; i++) {
        struct model_mapping x = mk(i * K4, 0x9000, 1, true);   /* one frame, 8 VAs */
        model_insert(&m, &x);
    }
    struct model_list rem = { 0 };
    ck_assert_uint_eq(model_remove_range(&m, 2 * K4, 5 * K4, &rem), 3);
    ck_assert_uint_eq(m.n, 5);
    ck_assert_int_eq(model_find(&m, 3 * K4), -1);
    ck_assert_int_ge(model_find(&m, 5 * K4), 0);
    ck_assert_ptr_null(model_check(&m));
    model_list_free(&rem);
    model_free(&m);
}
END_TEST

CHECK_PROGRAM_ONE_TCASE("model", "model", CHECK_TIMEOUT_DEFAULT,
                        insert_find_and_first_in,
                        split_while_huge_makes_512_children_with_strided_pa,
                        map_replaces_and_reports_what_it_removed,
                        split_to_fit_picks_the_piece_at_the_range_start,
                        remove_range_takes_only_what_is_inside)
