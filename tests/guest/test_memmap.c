/*
 * guest_memmap: the range-set code (guest/kernel/memmap.c) that turns the
 * FDT's RAM and reserved ranges into usable memory. Fixed cases for merge
 * and split, then a randomised comparison with a byte-per-unit model.
 */
#include <check.h>
#include <stdlib.h>

#include "check_main.h"
#include "guest/memmap.h"

static void expect(const struct memmap *m, unsigned n, const uint64_t *pairs)
{
    ck_assert_uint_eq(m->count, n);
    for (unsigned i = 0; i < n; i++) {
        ck_assert_uint_eq(m->r[i].start, pairs[2 * i]);
        ck_assert_uint_eq(m->r[i].end, pairs[2 * i + 1]);
    }
}

START_TEST(add_merges)
{
    struct memmap m;
    memmap_init(&m);
    ck_assert(memmap_add(&m, 100, 200));
    ck_assert(memmap_add(&m, 300, 400));
    ck_assert(memmap_add(&m, 0, 10));
    expect(&m, 3, (const uint64_t[]){ 0, 10, 100, 200, 300, 400 });
    ck_assert(memmap_add(&m, 200, 300));               /* touching both: one range */
    expect(&m, 2, (const uint64_t[]){ 0, 10, 100, 400 });
    ck_assert(memmap_add(&m, 5, 150));                 /* overlapping */
    expect(&m, 1, (const uint64_t[]){ 0, 400 });
    ck_assert(memmap_add(&m, 50, 50));                 /* empty: ignored */
    ck_assert(memmap_add(&m, 60, 40));
    expect(&m, 1, (const uint64_t[]){ 0, 400 });
    ck_assert_uint_eq(memmap_total(&m), 400);
}
END_TEST

START_TEST(remove_splits_and_trims)
{
    struct memmap m;
    memmap_init(&m);
    memmap_add(&m, 0, 1000);
    ck_assert(memmap_remove(&m, 100, 200));            /* split */
    expect(&m, 2, (const uint64_t[]){ 0, 100, 200, 1000 });
    ck_assert(memmap_remove(&m, 50, 250));             /* tail of one, head of next */
    expect(&m, 2, (const uint64_t[]){ 0, 50, 250, 1000 });
    ck_assert(memmap_remove(&m, 0, 50));               /* whole range */
    expect(&m, 1, (const uint64_t[]){ 250, 1000 });
    ck_assert(memmap_remove(&m, 900, UINT64_MAX));
    expect(&m, 1, (const uint64_t[]){ 250, 900 });
    ck_assert(memmap_remove(&m, 0, 10));               /* nothing there */
    ck_assert_uint_eq(memmap_total(&m), 650);
}
END_TEST

START_TEST(capacity_is_enforced)
{
    struct memmap m;
    memmap_init(&m);
    for (unsigned i = 0; i < MEMMAP_MAX; i++)
        ck_assert(memmap_add(&m, i * 10, i * 10 + 5));
    ck_assert(!memmap_add(&m, 100000, 100005));        /* a 65th range */
    ck_assert_uint_eq(m.count, MEMMAP_MAX);
    ck_assert(!memmap_remove(&m, 1, 2));               /* a split would need one more */
    ck_assert_uint_eq(m.count, MEMMAP_MAX);
    ck_assert_uint_eq(m.r[0].start, 0);
    ck_assert_uint_eq(m.r[0].end, 5);
    ck_assert(memmap_add(&m, 0, 10 * MEMMAP_MAX));      /* merging always fits */
    ck_assert_uint_eq(m.count, 1);
}
END_TEST

#define UNITS 200

START_TEST(random_against_model)
{
    srand(12345);
    for (int round = 0; round < 200; round++) {
        struct memmap m;
        unsigned char model[UNITS] = { 0 };
        memmap_init(&m);
        for (int op = 0; op < 40; op++) {
            uint64_t a = (uint64_t)(rand() % UNITS), b = (uint64_t)(rand() % (UNITS + 1));
            bool add = rand() % 3 != 0;
            bool ok = add ? memmap_add(&m, a, b) : memmap_remove(&m, a, b);
            if (!ok)
                continue;                              /* capacity: set unchanged */
            for (uint64_t u = a; u < b; u++)
                model[u] = add;
        }
        /* Sorted, disjoint, non-touching, and the same units as the model. */
        unsigned char seen[UNITS] = { 0 };
        for (unsigned i = 0; i < m.count; i++) {
            ck_assert(m.r[i].start < m.r[i].end);
            if (i)
                ck_assert(m.r[i - 1].end < m.r[i].start);
            for (uint64_t u = m.r[i].start; u < m.r[i].end; u++)
                seen[u] = 1;
        }
        for (int u = 0; u < UNITS; u++)
            ck_assert_msg(seen[u] == model[u], "round %d unit %d", round, u);
    }
}
END_TEST

CHECK_PROGRAM_ONE_TCASE("guest_memmap", "memmap", CHECK_TIMEOUT_DEFAULT,
                        add_merges, remove_splits_and_trims, capacity_is_enforced,
                        random_against_model)
