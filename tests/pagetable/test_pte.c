/* PTE and PageProperty encoding: round trips, hardware bits, PROT_NONE. */
#include <check.h>
#include <stdlib.h>

#include "check_main.h"
#include "pagetable/prop.h"

static const uint8_t all_flags[] = { PT_R, PT_W, PT_X, PT_ACCESSED, PT_DIRTY, PT_AVAIL1, PT_AVAIL2 };
static const pt_pte_t flag_bit[] = { PTE_P, PTE_RW, 0 /* X: NX clear */, PTE_A, PTE_D,
                                     PTE_AVAIL1, PTE_AVAIL2 };

/* Every combination of flags, privileged flags and cache policy at every
 * leaf level decodes back to what was encoded. */
START_TEST(roundtrip_every_prop_every_level)
{
    for (int level = 1; level <= 3; level++) {
        pt_paddr_t pa = 0x123ull * pt_page_size(level) + pt_page_size(level) * 7;
        for (unsigned f = 0; f < 256; f++) {
            if (f & 0x20)
                continue;  /* 0x20 is no flag */
            for (uint8_t priv = 0; priv < 4; priv++)
                for (uint8_t cache = 0; cache <= PT_CACHE_UC; cache++) {
                    struct pt_prop p = { (uint8_t)f, priv, cache };
                    ck_assert(pt_prop_is_valid(p));
                    pt_pte_t pte = pt_pte_make_leaf(pa, level, p);
                    ck_assert(pt_pte_is_leaf(pte));
                    ck_assert(!pt_pte_is_absent(pte));
                    ck_assert(!pt_pte_is_table(pte));
                    ck_assert_uint_eq(pt_pte_leaf_paddr(pte, level), pa);
                    ck_assert(pt_prop_eq(pt_pte_prop(pte), p));
                    ck_assert_uint_eq(pt_pte_is_hw_present(pte), (f & PT_R) != 0);
                }
        }
    }
}
END_TEST

/* Each flag sets exactly its hardware bit (and X clears NX). */
START_TEST(each_flag_sets_its_bit)
{
    struct pt_prop none = { 0, 0, PT_CACHE_WB };
    pt_pte_t base = pt_pte_make_leaf(0x5000, 1, none);
    ck_assert_uint_eq(base, 0x5000 | PTE_LEAF | PTE_NX);
    for (unsigned k = 0; k < sizeof(all_flags); k++) {
        struct pt_prop p = { all_flags[k], 0, PT_CACHE_WB };
        pt_pte_t pte = pt_pte_make_leaf(0x5000, 1, p);
        if (all_flags[k] == PT_X)
            ck_assert_uint_eq(pte, base & ~PTE_NX);
        else
            ck_assert_uint_eq(pte, base | flag_bit[k]);
    }
    struct pt_prop u = { 0, PT_PRIV_USER, PT_CACHE_WB }, g = { 0, PT_PRIV_GLOBAL, PT_CACHE_WB };
    ck_assert_uint_eq(pt_pte_make_leaf(0x5000, 1, u), base | PTE_US);
    ck_assert_uint_eq(pt_pte_make_leaf(0x5000, 1, g), base | PTE_G);
}
END_TEST

START_TEST(cache_policy_bits)
{
    const pt_pte_t want[] = { 0, PTE_PWT, PTE_PCD, PTE_PCD | PTE_PWT };
    for (uint8_t c = 0; c <= PT_CACHE_UC; c++) {
        struct pt_prop p = { PT_RW, 0, c };
        pt_pte_t pte = pt_pte_make_leaf(0x200000, 2, p);
        ck_assert_uint_eq(pte & (PTE_PWT | PTE_PCD), want[c]);
        ck_assert_uint_eq(pt_pte_prop(pte).cache, c);
    }
}
END_TEST

/* PROT_NONE: R cleared gives P = 0, but the leaf marker keeps it mapped. */
START_TEST(prot_none_leaf_is_mapped_not_present)
{
    for (int level = 1; level <= 3; level++) {
        struct pt_prop p = { PT_W, PT_PRIV_USER, PT_CACHE_WB };
        pt_pte_t pte = pt_pte_make_leaf(pt_page_size(level), level, p);
        ck_assert(!pt_pte_is_hw_present(pte));
        ck_assert(pt_pte_is_leaf(pte));
        ck_assert(!pt_pte_is_absent(pte));
        ck_assert(pt_prop_eq(pt_pte_prop(pte), p));
    }
}
END_TEST

START_TEST(table_entry_encoding)
{
    pt_pte_t t = pt_pte_make_table(0x7000);
    ck_assert_uint_eq(t, 0x7000 | PTE_P | PTE_RW | PTE_US | PTE_A);  /* A preset: the MMU never writes it */
    ck_assert(pt_pte_is_table(t));
    ck_assert(!pt_pte_is_leaf(t));
    ck_assert_uint_eq(pt_pte_table_paddr(t), 0x7000);
    ck_assert(pt_pte_is_absent(0));
    ck_assert(!pt_pte_is_table(0));
}
END_TEST

/* set_prop changes only property bits: address, leaf marker and the
 * untracked software bit survive. */
START_TEST(set_prop_keeps_address_and_marker)
{
    struct pt_prop a = { PT_RWX | PT_DIRTY, PT_PRIV_USER | PT_PRIV_GLOBAL, PT_CACHE_UC };
    struct pt_prop b = { PT_R, 0, PT_CACHE_WT };
    for (int level = 1; level <= 3; level++) {
        pt_paddr_t pa = 3 * pt_page_size(level);
        pt_pte_t pte = pt_pte_make_leaf(pa, level, a) | PTE_UNTRACKED;
        pt_pte_t q = pt_pte_set_prop(pte, b);
        ck_assert_uint_eq(q, pt_pte_make_leaf(pa, level, b) | PTE_UNTRACKED);
        ck_assert(pt_prop_eq(pt_pte_prop(q), b));
        ck_assert_uint_eq(pt_pte_set_prop(q, a), pte);
    }
}
END_TEST

START_TEST(invalid_props_rejected)
{
    struct pt_prop bad_flag = { 0x20, 0, 0 }, bad_priv = { PT_R, 0x04, 0 }, bad_cache = { PT_R, 0, 4 };
    ck_assert(!pt_prop_is_valid(bad_flag));
    ck_assert(!pt_prop_is_valid(bad_priv));
    ck_assert(!pt_prop_is_valid(bad_cache));
}
END_TEST

START_TEST(geometry_helpers)
{
    ck_assert_uint_eq(pt_page_size(1), 4096);
    ck_assert_uint_eq(pt_page_size(2), 2 * (1024ull * 1024));
    ck_assert_uint_eq(pt_page_size(3), 1024 * (1024ull * 1024));
    ck_assert_uint_eq(pt_page_size(4), 512 * 1024 * (1024ull * 1024));
    pt_vaddr_t va = (5ull << 39) | (6ull << 30) | (7ull << 21) | (8ull << 12);
    ck_assert_uint_eq(pt_index(va, 4), 5);
    ck_assert_uint_eq(pt_index(va, 3), 6);
    ck_assert_uint_eq(pt_index(va, 2), 7);
    ck_assert_uint_eq(pt_index(va, 1), 8);
    ck_assert(pt_is_canonical(0xffff800000000000ull));
    ck_assert(!pt_is_canonical(0x0000800000000000ull));
}
END_TEST

CHECK_PROGRAM_ONE_TCASE("pagetable_pte", "encode", CHECK_TIMEOUT_DEFAULT,
                        roundtrip_every_prop_every_level, each_flag_sets_its_bit,
                        cache_policy_bits, prot_none_leaf_is_mapped_not_present,
                        table_entry_encoding, set_prop_keeps_address_and_marker,
                        invalid_props_rejected, geometry_helpers)
