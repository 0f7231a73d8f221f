/*
 * Unit tests of the hardware-style walker (pagetable/walk.h) on hand-built
 * tables. Entries are composed from raw x86-64 bits here, not with the
 * core's encoders, so these tests stand on the architecture alone.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "pagetable/walk.h"

/* A tiny "physical memory": 16 frames at physical 0x10000.. */
#define MEM_BASE   0x10000ull
#define MEM_FRAMES 16

static uint64_t guest_mem[MEM_FRAMES][512];
static unsigned reads;

static pt_paddr_t frame_pa(unsigned i) { return MEM_BASE + i * PT_BASE_PAGE_SIZE; }

static bool read_pte(void *ctx, pt_paddr_t pa, pt_pte_t *out)
{
    (void)ctx;
    reads++;
    if (pa < MEM_BASE || pa >= MEM_BASE + MEM_FRAMES * PT_BASE_PAGE_SIZE || pa % 8)
        return false;
    uint64_t off = pa - MEM_BASE;
    *out = guest_mem[off / PT_BASE_PAGE_SIZE][(off % PT_BASE_PAGE_SIZE) / 8];
    return true;
}

/* Raw encodings, straight from the SDM bit positions. */
#define P   (1ull << 0)
#define RW  (1ull << 1)
#define US  (1ull << 2)
#define PS  (1ull << 7)
#define NX  (1ull << 63)
#define TABLE(i) (frame_pa(i) | P | RW | US)

/* Root = frame 0, PML4[idx4] -> frame 1 (PDPT), PDPT[idx3] -> frame 2 (PD),
   PD[idx2] -> frame 3 (PT). */
static const pt_vaddr_t VA = (5ull << 39) | (7ull << 30) | (9ull << 21) | (11ull << 12) | 0x123;

static void setup(void)
{
    memset(guest_mem, 0, sizeof(guest_mem));
    reads = 0;
}

static void build_path_to_pt(void)
{
    guest_mem[0][5] = TABLE(1);
    guest_mem[1][7] = TABLE(2);
    guest_mem[2][9] = TABLE(3);
}

static struct pt_walk_result walk(pt_vaddr_t va)
{
    struct pt_walk_result w;
    int rc = pt_walk(frame_pa(0), va, read_pte, NULL, &w);
    ck_assert_int_eq(rc, w.status);
    return w;
}

START_TEST(empty_root_is_absent_at_level_4)
{
    struct pt_walk_result w = walk(VA);
    ck_assert_int_eq(w.status, PT_WALK_OK);
    ck_assert(!w.mapped && !w.translates);
    ck_assert_int_eq(w.level, 4);
    ck_assert_int_eq(w.anomaly, PT_WALK_ANOMALY_NONE);
    ck_assert_uint_eq(w.nodes[3], frame_pa(0));
    ck_assert_uint_eq(pt_walk_entry_end(&w, VA), 6ull << 39);
    ck_assert_uint_eq(reads, 1);
}
END_TEST

START_TEST(absent_at_level_2_reports_its_2m_entry)
{
    guest_mem[0][5] = TABLE(1);
    guest_mem[1][7] = TABLE(2);
    struct pt_walk_result w = walk(VA);
    ck_assert(!w.mapped);
    ck_assert_int_eq(w.level, 2);
    ck_assert_uint_eq(w.pte, 0);
    ck_assert_uint_eq(w.nodes[1], frame_pa(2));
    ck_assert_uint_eq(w.nodes[2], frame_pa(1));
    ck_assert_uint_eq(w.nodes[0], 0);
    ck_assert_uint_eq(pt_walk_entry_end(&w, VA), (VA & ~0x1fffffull) + 0x200000);
}
END_TEST

START_TEST(ostd_4k_leaf_translates_with_offset)
{
    build_path_to_pt();
    pt_pte_t leaf = 0xabcde000ull | P | RW | US | PS;
    guest_mem[3][11] = leaf;
    struct pt_walk_result w = walk(VA);
    ck_assert_int_eq(w.status, PT_WALK_OK);
    ck_assert(w.mapped && w.translates);
    ck_assert_int_eq(w.level, 1);
    ck_assert_uint_eq(w.pte, leaf);
    ck_assert_uint_eq(w.leaf_base, 0xabcde000ull);
    ck_assert_uint_eq(w.pa, 0xabcde123ull);
    ck_assert(w.writable && w.user && !w.nx);
    for (int l = 1; l <= 4; l++)
        ck_assert_uint_eq(w.nodes[l - 1], frame_pa(4 - l));
    ck_assert_uint_eq(w.ptes[0], leaf);
    ck_assert_uint_eq(w.ptes[3], TABLE(1));
    ck_assert_uint_eq(reads, 4);
}
END_TEST

START_TEST(level1_present_without_bit7_is_a_leaf_for_the_mmu)
{
    build_path_to_pt();
    guest_mem[3][11] = 0x5000ull | P;
    struct pt_walk_result w = walk(VA);
    ck_assert(w.mapped && w.translates);
    ck_assert_uint_eq(w.pa, 0x5123ull);
    ck_assert(!w.writable && !w.user);
}
END_TEST

START_TEST(prot_none_leaf_is_mapped_but_does_not_translate)
{
    build_path_to_pt();
    guest_mem[3][11] = 0x7000ull | PS | NX | US;   /* R cleared: P = 0, leaf marker kept */
    struct pt_walk_result w = walk(VA);
    ck_assert(w.mapped);
    ck_assert(!w.translates);
    ck_assert_int_eq(w.anomaly, PT_WALK_ANOMALY_NONE);
    ck_assert_uint_eq(w.leaf_base, 0x7000ull);
    ck_assert(w.nx);
}
END_TEST

START_TEST(huge_2m_leaf_ignores_pat_bit_in_address)
{
    guest_mem[0][5] = TABLE(1);
    guest_mem[1][7] = TABLE(2);
    /* Bit 12 is the PAT bit of a huge leaf, not part of the address. */
    guest_mem[2][9] = 0x40000000ull | (1ull << 12) | P | PS;
    struct pt_walk_result w = walk(VA);
    ck_assert(w.mapped && w.translates);
    ck_assert_int_eq(w.level, 2);
    ck_assert_uint_eq(w.leaf_base, 0x40000000ull);
    ck_assert_uint_eq(w.pa, 0x40000000ull + (VA & 0x1fffff));
    ck_assert_uint_eq(w.nodes[0], 0);
}
END_TEST

START_TEST(huge_1g_leaf)
{
    guest_mem[0][5] = TABLE(1);
    guest_mem[1][7] = 0x1c0000000ull | P | RW | PS;
    struct pt_walk_result w = walk(VA);
    ck_assert(w.mapped && w.translates);
    ck_assert_int_eq(w.level, 3);
    ck_assert_uint_eq(w.pa, 0x1c0000000ull + (VA & 0x3fffffff));
    ck_assert_uint_eq(pt_walk_entry_end(&w, VA), (VA & ~0x3fffffffull) + 0x40000000ull);
}
END_TEST

START_TEST(effective_permissions_and_or_across_levels)
{
    guest_mem[0][5] = frame_pa(1) | P | US;        /* no RW above */
    guest_mem[1][7] = frame_pa(2) | P | RW | NX;   /* no US, NX above */
    guest_mem[2][9] = frame_pa(3) | P | RW | US;
    guest_mem[3][11] = 0x9000ull | P | RW | US | PS;
    struct pt_walk_result w = walk(VA);
    ck_assert(w.mapped && w.translates);
    ck_assert(!w.writable);
    ck_assert(!w.user);
    ck_assert(w.nx);
}
END_TEST

START_TEST(nonpresent_upper_entry_stops_the_walk)
{
    guest_mem[0][5] = TABLE(1);
    guest_mem[1][7] = frame_pa(2) | RW | US;       /* P clear, not a leaf */
    guest_mem[2][9] = 0x40000000ull | P | PS;      /* must not be reached */
    struct pt_walk_result w = walk(VA);
    ck_assert(!w.mapped && !w.translates);
    ck_assert_int_eq(w.level, 3);
    ck_assert_int_eq(w.anomaly, PT_WALK_ANOMALY_NONPRESENT_TABLE);
    ck_assert_uint_eq(reads, 2);
}
END_TEST

START_TEST(reserved_bits_in_huge_leaf_are_an_anomaly)
{
    guest_mem[0][5] = TABLE(1);
    guest_mem[1][7] = TABLE(2);
    guest_mem[2][9] = 0x40000000ull | (1ull << 13) | P | PS;
    struct pt_walk_result w = walk(VA);
    ck_assert(!w.mapped && !w.translates);
    ck_assert_int_eq(w.anomaly, PT_WALK_ANOMALY_RESERVED_BITS);
    ck_assert_int_eq(w.level, 2);

    guest_mem[1][7] = 0x40000000ull | (1ull << 29) | P | PS;   /* 1 GiB: bits 13..29 */
    w = walk(VA);
    ck_assert_int_eq(w.anomaly, PT_WALK_ANOMALY_RESERVED_BITS);
    ck_assert_int_eq(w.level, 3);
}
END_TEST

START_TEST(bit7_in_pml4_is_an_anomaly)
{
    guest_mem[0][5] = frame_pa(1) | P | PS;
    struct pt_walk_result w = walk(VA);
    ck_assert(!w.mapped && !w.translates);
    ck_assert_int_eq(w.anomaly, PT_WALK_ANOMALY_LEAF_AT_L4);
    ck_assert_int_eq(w.level, 4);
}
END_TEST

START_TEST(unreadable_node_is_an_error_not_a_crash)
{
    guest_mem[0][5] = 0x7fff0000000ull | P | RW | US;  /* outside our memory */
    struct pt_walk_result w = walk(VA);
    ck_assert_int_eq(w.status, PT_WALK_ERR_READ);
    ck_assert_uint_eq(w.bad_pa, 0x7fff0000000ull + 8 * 7);
    ck_assert(!w.mapped && !w.translates);
    ck_assert_uint_eq(w.ptes[3], guest_mem[0][5]);
    ck_assert_str_eq(pt_walk_status_name(w.status), "PT_WALK_ERR_READ");
}
END_TEST

START_TEST(bad_root_and_noncanonical_va_are_errors)
{
    struct pt_walk_result w;
    ck_assert_int_eq(pt_walk(frame_pa(0), 0x0000800000000000ull, read_pte, NULL, &w),
                     PT_WALK_ERR_NONCANONICAL);
    ck_assert_int_eq(pt_walk(frame_pa(0) + 8, 0, read_pte, NULL, &w), PT_WALK_ERR_ROOT);
    ck_assert_int_eq(pt_walk(1ull << 52, 0, read_pte, NULL, &w), PT_WALK_ERR_ROOT);
    ck_assert_uint_eq(reads, 0);
}
END_TEST

START_TEST(kernel_half_uses_upper_pml4_indices)
{
    pt_vaddr_t kva = 0xffff800000000000ull | (3ull << 30) | 0x45;   /* PML4 index 256 */
    guest_mem[0][256] = TABLE(1);
    guest_mem[1][3] = 0x80000000ull | P | RW | PS | (1ull << 8);
    struct pt_walk_result w = walk(kva);
    ck_assert(w.mapped && w.translates);
    ck_assert_int_eq(w.level, 3);
    ck_assert_uint_eq(w.pa, 0x80000045ull);
    ck_assert(!w.user);
}
END_TEST

START_TEST(entry_end_wraps_to_zero_at_the_top)
{
    pt_vaddr_t top = 0xfffffffffffff000ull;
    struct pt_walk_result w = walk(top);
    ck_assert_int_eq(w.level, 4);
    ck_assert_uint_eq(pt_walk_entry_end(&w, top), 0);
}
END_TEST

CHECK_PROGRAM_ONE_FIXTURE_TCASE("walk", "walk", CHECK_TIMEOUT_DEFAULT, setup, NULL,
                                empty_root_is_absent_at_level_4,
                                absent_at_level_2_reports_its_2m_entry,
                                ostd_4k_leaf_translates_with_offset,
                                level1_present_without_bit7_is_a_leaf_for_the_mmu,
                                prot_none_leaf_is_mapped_but_does_not_translate,
                                huge_2m_leaf_ignores_pat_bit_in_address, huge_1g_leaf,
                                effective_permissions_and_or_across_levels,
                                nonpresent_upper_entry_stops_the_walk,
                                reserved_bits_in_huge_leaf_are_an_anomaly,
                                bit7_in_pml4_is_an_anomaly,
                                unreadable_node_is_an_error_not_a_crash,
                                bad_root_and_noncanonical_va_are_errors,
                                kernel_half_uses_upper_pml4_indices,
                                entry_end_wraps_to_zero_at_the_top)
