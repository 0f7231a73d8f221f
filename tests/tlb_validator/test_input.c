/*
 * Bad input is rejected with a clear error (one test per rejection reason),
 * the byte decoder round-trips, policies tolerate (and still report) what
 * they name, hints are separate from violations, and the JSON report is one
 * well-formed object per line.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "pagetable/x86_64.h"
#include "scenarios.h"
#include "stream_builder.h"
#include "abi/tlb_event_codec.h"

#define R  0x100000ull
#define L3 0x101000ull
#define L2 0x102000ull
#define L1 0x103000ull
#define F  0x200000ull

static void base(struct sb *b, uint32_t ncpus)
{
    sb_init(b, ncpus);
    sb_store(b, 0, R, R, 4, 0, sb_table(L3));
    sb_store(b, 0, R, L3, 3, 0, sb_table(L2));
    sb_store(b, 0, R, L2, 2, 0, sb_table(L1));
    sb_cr3(b, 0, R, 0, false);
}

/* Validate the builder's stream as bytes; expect BAD_INPUT with `needle` in the message. */
static void expect_bad_bytes(const uint8_t *buf, size_t len, const char *needle)
{
    struct tlb_validator *v;
    enum tlb_verdict r = tlb_validate_bytes(buf, len, NULL, &v);
    ck_assert_ptr_nonnull(v);
    ck_assert_int_eq(r, TLB_VERDICT_BAD_INPUT);
    const char *err = tlb_validator_error(v);
    ck_assert_ptr_nonnull(err);
    ck_assert_msg(strstr(err, needle), "error \"%s\" does not mention \"%s\"", err, needle);
    tlb_validator_destroy(v);
}

static void expect_bad(struct sb *b, const char *needle)
{
    size_t len;
    uint8_t *buf = sb_bytes(b, &len);
    expect_bad_bytes(buf, len, needle);
    free(buf);
    sb_free(b);
}

START_TEST(clean_stream_roundtrips_through_bytes)
{
    struct sb b;
    base(&b, 2);
    sb_store(&b, 0, R, L1, 1, 1, sb_leaf(F, true, false));
    size_t len;
    uint8_t *buf = sb_bytes(&b, &len);
    struct tlb_event ev;
    tlb_event_decode(buf + 16, &ev);
    ck_assert_mem_eq(&ev, &b.ev[0], sizeof ev);
    struct tlb_validator *v;
    ck_assert_int_eq(tlb_validate_bytes(buf, len, NULL, &v), TLB_VERDICT_OK);
    ck_assert_uint_eq(tlb_validator_events(v), b.n);
    tlb_validator_destroy(v);
    free(buf);
    sb_free(&b);
}
END_TEST

START_TEST(truncated_header)
{
    uint8_t buf[10] = { 'T', 'L', 'B', 'E' };
    expect_bad_bytes(buf, sizeof buf, "truncated stream");
    expect_bad_bytes(buf, 0, "truncated stream");
}
END_TEST

START_TEST(truncated_record)
{
    struct sb b;
    base(&b, 1);
    size_t len;
    uint8_t *buf = sb_bytes(&b, &len);
    expect_bad_bytes(buf, len - 5, "truncated stream");
    free(buf);
    sb_free(&b);
}
END_TEST

static void header_field(unsigned off, uint32_t val, unsigned width, const char *needle)
{
    struct sb b;
    base(&b, 1);
    size_t len;
    uint8_t *buf = sb_bytes(&b, &len);
    for (unsigned i = 0; i < width; i++)
        buf[off + i] = (uint8_t)(val >> (8 * i));
    expect_bad_bytes(buf, len, needle);
    free(buf);
    sb_free(&b);
}

START_TEST(bad_magic) { header_field(0, 0x12345678, 4, "magic"); }
END_TEST
START_TEST(bad_version)
{
    header_field(4, 0, 2, "version 0");
    header_field(4, TLB_EVENT_VERSION + 1, 2, "unsupported event format version");
}
END_TEST
START_TEST(bad_record_size) { header_field(6, 64, 2, "record size"); }
END_TEST
START_TEST(bad_cpu_count)
{
    header_field(8, 0, 4, "cpu count");
    header_field(8, 65, 4, "cpu count");
}
END_TEST
START_TEST(reserved_header_flags) { header_field(12, 1, 4, "reserved"); }
END_TEST

START_TEST(out_of_sequence)
{
    struct sb b;
    base(&b, 1);
    b.ev[2].seq = b.ev[1].seq;
    expect_bad(&b, "out of sequence");
}
END_TEST

START_TEST(sequence_gap)
{
    struct sb b;
    base(&b, 1);
    b.seq += 3;
    sb_invlpg(&b, 0, 0);
    expect_bad(&b, "missing");
}
END_TEST

START_TEST(sequence_gap_allowed_by_option)
{
    struct sb b;
    base(&b, 1);
    b.seq += 3;
    sb_invlpg(&b, 0, 0);
    struct tlb_validator_options o = tlb_validator_default_options(1);
    o.allow_seq_gaps = true;
    enum tlb_verdict r;
    struct tlb_validator *v = sb_validate(&b, &o, &r);
    ck_assert_int_eq(r, TLB_VERDICT_OK);
    tlb_validator_destroy(v);
    sb_free(&b);
}
END_TEST

START_TEST(cpu_out_of_range)
{
    struct sb b;
    base(&b, 2);
    sb_invlpg(&b, 2, 0);
    expect_bad(&b, "cpu 2 >= cpu count 2");
}
END_TEST

START_TEST(unknown_type)
{
    struct sb b;
    base(&b, 1);
    sb_raw(&b, (struct tlb_event){ .type = 99 });
    expect_bad(&b, "unknown type");
}
END_TEST

START_TEST(bad_level)
{
    struct sb b;
    base(&b, 1);
    sb_store(&b, 0, R, L1, 5, 0, 0x1000);
    expect_bad(&b, "bad level");
}
END_TEST

START_TEST(bad_index)
{
    struct sb b;
    base(&b, 1);
    sb_store(&b, 0, R, L1, 1, 512, sb_leaf(F, true, false));
    expect_bad(&b, "bad index");
}
END_TEST

START_TEST(unknown_node_free)
{
    struct sb b;
    base(&b, 1);
    sb_free_node(&b, 0, 0x777000, 1);
    expect_bad(&b, "unknown page-table node");
}
END_TEST

START_TEST(stale_old_value)
{
    struct sb b;
    base(&b, 1);
    sb_store(&b, 0, R, L1, 1, 3, sb_leaf(F, true, false));
    b.ev[b.n - 1].u.pte.old_pte = 0x5;
    expect_bad(&b, "modelled value");
}
END_TEST

/* The MMU only SETS A/D, only in present entries, and never D in a table entry: any other
 * difference from the model is still a lost or reordered event. */
START_TEST(ad_difference_the_mmu_cannot_make)
{
    static const struct { uint64_t model, old; } cases[] = {
        { (F | PTE_P | PTE_US | PTE_A | PTE_PS), (F | PTE_P | PTE_US | PTE_PS) },          /* A cleared */
        { (F | PTE_US | PTE_PS), (F | PTE_US | PTE_PS | PTE_A) },                           /* P = 0 leaf */
        { (F | PTE_P | PTE_US | PTE_A | PTE_PS), (F | PTE_P | PTE_US | PTE_A | PTE_PS | PTE_RW) },
    };
    for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct sb b;
        base(&b, 1);
        sb_store(&b, 0, R, L1, 1, 3, cases[i].model);
        sb_store(&b, 0, R, L1, 1, 3, 0);
        b.ev[b.n - 1].u.pte.old_pte = cases[i].old;
        expect_bad(&b, "modelled value");
    }
    struct sb b;   /* D in a table entry (bit 6 is ignored there; the MMU sets only A) */
    base(&b, 1);
    sb_store(&b, 0, R, L2, 2, 0, 0);
    b.ev[b.n - 1].u.pte.old_pte = sb_table(L1) | PTE_A | PTE_D;
    expect_bad(&b, "modelled value");
}
END_TEST

/* ...whereas A set in a table entry and A/D set in a leaf are accepted and modelled. */
START_TEST(ad_set_by_the_mmu_is_accepted)
{
    struct sb b;
    base(&b, 1);
    sb_store(&b, 0, R, L1, 1, 3, sb_leaf(F, true, false) & ~PTE_A);
    sb_mmu_set(&b, L1, 3, PTE_A | PTE_D);
    sb_mmu_set(&b, L2, 0, PTE_A);
    sb_store(&b, 0, R, L1, 1, 3, sb_pte_get(&b, L1, 3) | PTE_NX);   /* old carries A|D */
    sb_invlpg(&b, 0, 3 * 4096);
    sb_store(&b, 0, R, L2, 2, 0, sb_pte_get(&b, L2, 0) | PTE_NX);   /* old carries A */
    sb_invlpg(&b, 0, 0);
    sb_store(&b, 0, R, L1, 1, 3, 0);   /* old: A|D|NX, as modelled after the first store */
    sb_invlpg(&b, 0, 3 * 4096);
    enum tlb_verdict verdict;
    struct tlb_validator *v = sb_validate(&b, NULL, &verdict);
    ck_assert_msg(tlb_validator_error(v) == NULL, "rejected: %s", tlb_validator_error(v));
    ck_assert_int_eq(verdict, TLB_VERDICT_OK);
    tlb_validator_destroy(v);
    sb_free(&b);
}
END_TEST

START_TEST(level_mismatch)
{
    struct sb b;
    base(&b, 1);
    sb_store(&b, 0, R, L1, 2, 3, 0x1000 | PTE_P);   /* L1 is a level-1 node */
    expect_bad(&b, "level");
}
END_TEST

START_TEST(node_linked_twice)
{
    struct sb b;
    base(&b, 1);
    sb_store(&b, 0, R, L2, 2, 7, sb_table(L1));
    expect_bad(&b, "linked a second time");
}
END_TEST

START_TEST(table_at_level_1)
{
    struct sb b;
    base(&b, 1);
    sb_store(&b, 0, R, L1, 1, 3, 0x5000 | PTE_P);
    expect_bad(&b, "table pointer");
}
END_TEST

START_TEST(reserved_fields)
{
    struct sb b;
    base(&b, 1);
    uint64_t s = sb_invlpg(&b, 0, 0);
    b.ev[s - 1].u.flush.reserved = 1;
    expect_bad(&b, "reserved");
}
END_TEST

START_TEST(unmatched_op_end)
{
    struct sb b;
    base(&b, 1);
    sb_op(&b, 0, R, false, TLB_OP_UNMAP, 0, 0x1000);
    expect_bad(&b, "does not match");
}
END_TEST

START_TEST(leaf_at_level_4)
{
    struct sb b;
    base(&b, 1);
    sb_store(&b, 0, R, R, 4, 9, sb_leaf(0x40000000, true, false));
    expect_bad(&b, "leaf");
}
END_TEST

START_TEST(frame_free_of_live_node)
{
    struct sb b;
    base(&b, 1);
    sb_free_frame(&b, 0, L1, 1);
    expect_bad(&b, "live page-table node");
}
END_TEST

START_TEST(node_free_with_wrong_level)
{
    struct sb b;
    base(&b, 1);
    sb_free_node(&b, 0, L1, 2);
    expect_bad(&b, "level");
}
END_TEST

START_TEST(nested_op_begin)
{
    struct sb b;
    base(&b, 1);
    sb_op(&b, 0, R, true, TLB_OP_MAP, 0, 0x1000);
    sb_op(&b, 0, R, true, TLB_OP_UNMAP, 0, 0x1000);
    expect_bad(&b, "has not ended");
}
END_TEST

START_TEST(dispatch_mask_beyond_cpus)
{
    struct sb b;
    base(&b, 2);
    sb_dispatch(&b, 0, R, 0x4, TLB_FLUSH_SINGLE, 0, 1);
    expect_bad(&b, "target mask");
}
END_TEST

START_TEST(feed_after_finish)
{
    struct tlb_validator_options o = tlb_validator_default_options(1);
    struct tlb_validator *v = tlb_validator_create(&o);
    ck_assert_int_eq(tlb_validator_finish(v), TLB_VERDICT_OK);
    struct tlb_event ev = { .seq = 1, .type = TLB_EV_FLUSH, .sub = TLB_FLUSH_ALL_NONGLOBAL };
    ck_assert_int_eq(tlb_validator_feed(v, &ev), TLB_VERDICT_BAD_INPUT);
    ck_assert_ptr_nonnull(strstr(tlb_validator_error(v), "after finish"));
    tlb_validator_destroy(v);
}
END_TEST

START_TEST(stopped_after_bad_input)
{
    struct tlb_validator_options o = tlb_validator_default_options(1);
    struct tlb_validator *v = tlb_validator_create(&o);
    struct tlb_event bad = { .seq = 1, .type = 0 };
    ck_assert_int_eq(tlb_validator_feed(v, &bad), TLB_VERDICT_BAD_INPUT);
    struct tlb_event good = { .seq = 2, .type = TLB_EV_FLUSH, .sub = TLB_FLUSH_ALL_NONGLOBAL };
    ck_assert_int_eq(tlb_validator_feed(v, &good), TLB_VERDICT_BAD_INPUT);
    ck_assert_int_eq(tlb_validator_finish(v), TLB_VERDICT_BAD_INPUT);
    tlb_validator_destroy(v);
}
END_TEST

START_TEST(bad_options_rejected)
{
    struct tlb_validator_options o = tlb_validator_default_options(0);
    ck_assert_ptr_null(tlb_validator_create(&o));
    o.cpu_count = 65;
    ck_assert_ptr_null(tlb_validator_create(&o));
    struct tlb_policy p = { .name = NULL, .classes = TLB_CLASS_BIT(TLB_T15) };
    o = tlb_validator_default_options(1);
    o.policies = &p;
    o.npolicies = 1;
    ck_assert_ptr_null(tlb_validator_create(&o));
}
END_TEST

/* The T15 scenario (protect without flush) under a lazy-area policy. */
static void protect_without_flush(struct sb *b)
{
    base(b, 1);
    sb_store(b, 0, R, L1, 1, 5, sb_leaf(F, true, false));
    sb_op(b, 0, R, true, TLB_OP_PROTECT, 0x5000, 0x6000);
    sb_store(b, 0, R, L1, 1, 5, sb_leaf(F, false, false));
    sb_op(b, 0, R, false, TLB_OP_PROTECT, 0x5000, 0x6000);
    sb_flush_all(b, 0, false);
}

START_TEST(policy_tolerates_and_reports)
{
    struct sb b;
    protect_without_flush(&b);
    struct tlb_policy p = { "lazy-area", TLB_CLASS_BIT(TLB_T15), 0x4000, 0x8000 };
    struct tlb_validator_options o = tlb_validator_default_options(1);
    o.policies = &p;
    o.npolicies = 1;
    enum tlb_verdict r;
    struct tlb_validator *v = sb_validate(&b, &o, &r);
    ck_assert_int_eq(r, TLB_VERDICT_OK);
    ck_assert_uint_eq(tlb_validator_count(v, TLB_REPORT_VIOLATION), 0);
    ck_assert_uint_eq(tlb_validator_count(v, TLB_REPORT_TOLERATED), 1);
    const struct tlb_report *rep = tlb_validator_report(v, 0);
    ck_assert_int_eq(rep->kind, TLB_REPORT_TOLERATED);
    ck_assert_str_eq(rep->policy, "lazy-area");
    ck_assert_uint_eq(rep->cls, TLB_T15);
    tlb_validator_destroy(v);

    /* Outside the policy's range it is a violation again. */
    p.va_start = 0x10000;
    p.va_end = 0x20000;
    v = sb_validate(&b, &o, &r);
    ck_assert_int_eq(r, TLB_VERDICT_VIOLATION);
    ck_assert_uint_eq(tlb_validator_class_count(v, TLB_T15), 1);
    tlb_validator_destroy(v);
    sb_free(&b);
}
END_TEST

START_TEST(hints_are_not_violations)
{
    struct sb b;
    base(&b, 1);
    sb_store(&b, 0, R, L1, 1, 5, sb_leaf(F, false, false));
    sb_store(&b, 0, R, L1, 1, 5, sb_leaf(F, true, false));   /* RW 0 -> 1: upgrade */
    sb_invlpg(&b, 0, 0x9000);                                 /* nothing to flush there */
    struct tlb_validator_options o = tlb_validator_default_options(1);
    enum tlb_verdict r;
    struct tlb_validator *v = sb_validate(&b, &o, &r);
    ck_assert_int_eq(r, TLB_VERDICT_OK);
    ck_assert_uint_eq(tlb_validator_report_count(v), 0);
    tlb_validator_destroy(v);
    o.report_upgrades = true;
    o.report_lints = true;
    v = sb_validate(&b, &o, &r);
    ck_assert_int_eq(r, TLB_VERDICT_OK);
    ck_assert_uint_eq(tlb_validator_count(v, TLB_REPORT_HINT), 2);
    ck_assert_uint_eq(tlb_validator_count(v, TLB_REPORT_VIOLATION), 0);
    tlb_validator_destroy(v);
    sb_free(&b);
}
END_TEST

/* A frame freed while still mapped in a tree that no CPU has loaded (an address space being torn
 * down): no CPU can cache it, so it is not a violation; with lints on, a hint says so. */
START_TEST(free_in_unloaded_tree_is_a_hint)
{
    struct sb b;
    sb_init(&b, 1);
    sb_store(&b, 0, R, R, 4, 0, sb_table(L3));
    sb_store(&b, 0, R, L3, 3, 0, sb_table(L2));
    sb_store(&b, 0, R, L2, 2, 0, sb_table(L1));
    sb_store(&b, 0, R, L1, 1, 5, sb_leaf(F, true, false));
    sb_free_frame(&b, 0, F, 1);
    enum tlb_verdict r;
    struct tlb_validator *v = sb_validate(&b, NULL, &r);
    ck_assert_int_eq(r, TLB_VERDICT_OK);
    ck_assert_uint_eq(tlb_validator_report_count(v), 0);
    tlb_validator_destroy(v);
    struct tlb_validator_options o = tlb_validator_default_options(1);
    o.report_lints = true;
    v = sb_validate(&b, &o, &r);
    ck_assert_int_eq(r, TLB_VERDICT_OK);
    ck_assert_uint_eq(tlb_validator_count(v, TLB_REPORT_HINT), 1);
    tlb_validator_destroy(v);
    sb_free(&b);
}
END_TEST

/* An address space torn down child-first (OSTD drops children before the node itself) after every
 * CPU left it: its nodes are freed while still linked, but no CPU can walk them. Not a violation;
 * the same free while a CPU has the root loaded is T9. */
static void teardown(struct sb *b, bool loaded)
{
    sb_init(b, 2);
    sb_store(b, 0, R, R, 4, 0, sb_table(L3));
    sb_store(b, 0, R, L3, 3, 0, sb_table(L2));
    sb_store(b, 0, R, L2, 2, 0, sb_table(L1));
    sb_cr3(b, 1, R, 0, false);
    if (!loaded)
        sb_cr3(b, 1, 0x300000, 0, false);   /* CPU 1 switches away (flushing) */
    sb_free_node(b, 0, L1, 1);
    sb_free_node(b, 0, L2, 2);
    sb_free_node(b, 0, L3, 3);
    sb_free_node(b, 0, R, 4);
}

START_TEST(teardown_of_unloaded_tree_is_clean)
{
    struct sb b;
    teardown(&b, false);
    enum tlb_verdict r;
    struct tlb_validator_options o = tlb_validator_default_options(2);
    o.report_lints = true;
    struct tlb_validator *v = sb_validate(&b, &o, &r);
    ck_assert_msg(r == TLB_VERDICT_OK, "verdict %d: %s", r, tlb_validator_report_count(v) ?
                  tlb_validator_report(v, 0)->what : "");
    ck_assert_uint_eq(tlb_validator_count(v, TLB_REPORT_HINT), 3);   /* L1, L2, L3 freed while linked */
    tlb_validator_destroy(v);
    sb_free(&b);
    teardown(&b, true);
    v = sb_validate(&b, NULL, &r);
    ck_assert_int_eq(r, TLB_VERDICT_VIOLATION);
    ck_assert_uint_eq(tlb_validator_class_count(v, TLB_T9), tlb_validator_count(v, TLB_REPORT_VIOLATION));
    ck_assert_uint_eq(tlb_validator_report(v, 0)->cpu, 1);
    tlb_validator_destroy(v);
    sb_free(&b);
}
END_TEST

/* A free of a huge range (more pages than the reverse map has slots) still finds the live mapping
 * inside it, by walking the map instead of the range. */
START_TEST(huge_free_finds_live_mapping)
{
    struct sb b;
    base(&b, 1);
    sb_store(&b, 0, R, L1, 1, 5, sb_leaf(F, true, false));
    sb_free_frame(&b, 0, 0, 1ull << 20);   /* 4 GiB starting at 0 */
    enum tlb_verdict r;
    struct tlb_validator *v = sb_validate(&b, NULL, &r);
    ck_assert_int_eq(r, TLB_VERDICT_BAD_INPUT);   /* the range also covers live page-table nodes */
    ck_assert_ptr_nonnull(strstr(tlb_validator_error(v), "live page-table node"));
    tlb_validator_destroy(v);
    sb_free(&b);
    base(&b, 1);
    sb_store(&b, 0, R, L1, 1, 5, sb_leaf(F, true, false));
    sb_free_frame(&b, 0, 0x180000, 1ull << 20);   /* above the nodes, covers F */
    v = sb_validate(&b, NULL, &r);
    ck_assert_int_eq(r, TLB_VERDICT_VIOLATION);
    ck_assert_uint_eq(tlb_validator_class_count(v, TLB_T19), 1);
    ck_assert_uint_eq(tlb_validator_report(v, 0)->va, 0x5000);
    tlb_validator_destroy(v);
    sb_free(&b);
}
END_TEST

/* OSTD's activation order: join the CPU set, then load CR3. A CR3 load outside the set is a hint
 * (a dispatch snapshot would miss the CPU), only when the stream reports activations at all. */
START_TEST(cr3_load_outside_cpu_set_is_a_hint)
{
    struct sb b;
    base(&b, 2);
    sb_activate(&b, 1, R, true);
    sb_cr3(&b, 1, R, 0, false);          /* fine */
    sb_cr3(&b, 0, 0x300000, 0, false);   /* CPU 0 never entered 0x300000 */
    struct tlb_validator_options o = tlb_validator_default_options(2);
    o.report_lints = true;
    enum tlb_verdict r;
    struct tlb_validator *v = sb_validate(&b, &o, &r);
    ck_assert_int_eq(r, TLB_VERDICT_OK);
    ck_assert_uint_eq(tlb_validator_count(v, TLB_REPORT_HINT), 1);
    ck_assert_uint_eq(tlb_validator_report(v, 0)->cpu, 0);
    ck_assert_uint_eq(tlb_validator_report(v, 0)->root, 0x300000);
    tlb_validator_destroy(v);
    sb_free(&b);
}
END_TEST

/* A stream that starts after the page tables were built: by default the first store's old value
 * must match the (empty) model; with adopt_unknown_entries it is taken as the truth, and the
 * downgrade it describes still creates obligations. */
START_TEST(adopt_entries_that_predate_the_stream)
{
    struct sb b;
    sb_init(&b, 1);
    sb_cr3(&b, 0, R, 0, false);
    /* Pretend the tree R -> L3 -> L2 -> L1 and a page at VA 5 existed before the stream. */
    struct tlb_event ev = { .cpu = 0, .type = TLB_EV_PTE_STORE, .sub = 4, .arg = 0, .root = R };
    ev.u.pte.node = R;
    ev.u.pte.old_pte = sb_table(L3);
    ev.u.pte.new_pte = sb_table(L3) | PTE_A;   /* an upgrade: A set */
    sb_raw(&b, ev);
    ev.sub = 3;
    ev.u.pte.node = L3;
    ev.u.pte.old_pte = sb_table(L2);
    ev.u.pte.new_pte = sb_table(L2) | PTE_A;
    sb_raw(&b, ev);
    ev.sub = 2;
    ev.u.pte.node = L2;
    ev.u.pte.old_pte = sb_table(L1);
    ev.u.pte.new_pte = sb_table(L1) | PTE_A;
    sb_raw(&b, ev);
    ev.sub = 1;
    ev.arg = 5;
    ev.u.pte.node = L1;
    ev.u.pte.old_pte = sb_leaf(F, true, false);
    ev.u.pte.new_pte = 0;                       /* unmapped, never flushed */
    sb_raw(&b, ev);
    enum tlb_verdict r;
    struct tlb_validator *v = sb_validate(&b, NULL, &r);
    ck_assert_int_eq(r, TLB_VERDICT_BAD_INPUT);
    ck_assert_ptr_nonnull(strstr(tlb_validator_error(v), "modelled value"));
    tlb_validator_destroy(v);
    struct tlb_validator_options o = tlb_validator_default_options(1);
    o.adopt_unknown_entries = true;
    v = sb_validate(&b, &o, &r);
    ck_assert_int_eq(r, TLB_VERDICT_VIOLATION);
    ck_assert_uint_eq(tlb_validator_class_count(v, TLB_T11), 1);
    ck_assert_uint_eq(tlb_validator_report(v, 0)->va, 0x5000);
    ck_assert_uint_eq(tlb_validator_report(v, 0)->frame, F);
    tlb_validator_destroy(v);
    sb_free(&b);
}
END_TEST

/* Two downgrades of the same entry before any flush (RW -> RO, then unmap) leave one stale entry per
 * CPU: one obligation, one report. After a flush, a new downgrade is a new obligation. */
START_TEST(repeated_downgrade_reported_once)
{
    struct sb b;
    base(&b, 1);
    sb_store(&b, 0, R, L1, 1, 5, sb_leaf(F, true, false));
    sb_op(&b, 0, R, true, TLB_OP_UNMAP, 0x5000, 0x6000);
    sb_store(&b, 0, R, L1, 1, 5, sb_leaf(F, false, false));
    sb_store(&b, 0, R, L1, 1, 5, 0);
    sb_op(&b, 0, R, false, TLB_OP_UNMAP, 0x5000, 0x6000);
    sb_invlpg(&b, 0, 0x5000);
    sb_store(&b, 0, R, L1, 1, 5, sb_leaf(F, true, false));
    sb_store(&b, 0, R, L1, 1, 5, sb_leaf(F, false, false));
    enum tlb_verdict r;
    struct tlb_validator *v = sb_validate(&b, NULL, &r);
    ck_assert_int_eq(r, TLB_VERDICT_VIOLATION);
    ck_assert_uint_eq(tlb_validator_class_count(v, TLB_T15), 1);   /* the first two stores */
    ck_assert_uint_eq(tlb_validator_class_count(v, TLB_T11), 1);   /* the last one, at the end */
    ck_assert_uint_eq(tlb_validator_count(v, TLB_REPORT_VIOLATION), 2);
    tlb_validator_destroy(v);
    sb_free(&b);
}
END_TEST

/* Print a report (text or JSON) into a string; caller frees. */
static char *print_report(const struct tlb_report *r, bool json)
{
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    ck_assert_ptr_nonnull(f);
    if (json)
        tlb_report_print_json(r, f);
    else
        tlb_report_print_text(r, f);
    fclose(f);
    return text;
}

/* A report carries copies of the event that created the obligation and of the one that broke it,
 * and prints both (text and JSON). */
START_TEST(report_carries_its_events)
{
    struct sb b;
    protect_without_flush(&b);
    enum tlb_verdict r;
    struct tlb_validator *v = sb_validate(&b, NULL, &r);
    ck_assert_int_eq(r, TLB_VERDICT_VIOLATION);
    const struct tlb_report *rep = tlb_validator_report(v, 0);
    ck_assert(rep->has_created_event);
    ck_assert_mem_eq(&rep->created_event, &b.ev[6], sizeof b.ev[6]);   /* the RW -> RO store */
    ck_assert(rep->has_detected_event);
    ck_assert_mem_eq(&rep->detected_event, &b.ev[7], sizeof b.ev[7]);   /* OP_END */
    char *text = print_report(rep, false);
    ck_assert_msg(strstr(text, "created by:  event 7 cpu 0 PTE_STORE root 0x100000 level 1 node 0x103000[5] "
                               "0x2000a7 -> 0x2000a5"), "%s", text);
    ck_assert_msg(strstr(text, "detected at: event 8 cpu 0 OP_END root 0x100000 protect [0x5000, 0x6000)"), "%s", text);
    free(text);
    char *json = print_report(rep, true);
    ck_assert_msg(strstr(json, "\"created_event\":{\"seq\":7,\"cpu\":0,\"type\":\"PTE_STORE\",\"sub\":1,\"arg\":5,"
                               "\"root\":\"0x100000\",\"payload\":[\"0x103000\",\"0x2000a7\",\"0x2000a5\"]}"), "%s", json);
    ck_assert_msg(strstr(json, "\"detected_event\":{\"seq\":8,\"cpu\":0,\"type\":\"OP_END\""), "%s", json);
    free(json);
    tlb_validator_destroy(v);
    sb_free(&b);
}
END_TEST

/* The one event formatter: every type by name with its fields; a short buffer
 * cuts the line without overrunning it; an unknown type still prints its fields. */
START_TEST(event_format_names_every_field)
{
    struct tlb_event e = { .seq = 12, .cpu = 1, .type = TLB_EV_PTE_STORE, .sub = 1, .arg = 5,
                           .root = 0x100000, .u.pte = { 0x103000, 0x2000a7, 0x2000a5 } };
    char line[TLB_EVENT_TEXT_MAX];
    size_t n = tlb_event_format(&e, line, sizeof(line));

    ck_assert_str_eq(line, "event 12 cpu 1 PTE_STORE root 0x100000 level 1 node 0x103000[5] "
                           "0x2000a7 -> 0x2000a5");
    ck_assert_uint_eq(n, strlen(line));
    ck_assert_uint_eq(tlb_event_format(&e, line, 12), 11);
    ck_assert_str_eq(line, "event 12 cp");
    ck_assert_uint_eq(tlb_event_format(&e, line, 0), 0);

    e = (struct tlb_event){ .seq = 3, .type = TLB_EV_OP_END, .sub = TLB_OP_UNMAP, .root = 0x100000,
                            .u.range = { 0x5000, 0x6000, 0 } };
    tlb_event_format(&e, line, sizeof(line));
    ck_assert_str_eq(line, "event 3 cpu 0 OP_END root 0x100000 unmap [0x5000, 0x6000)");
    e = (struct tlb_event){ .seq = 4, .type = TLB_EV_FREE, .sub = TLB_FREE_PT_NODE, .arg = 1,
                            .u.free = { 0x7000, 1, 0 } };
    tlb_event_format(&e, line, sizeof(line));
    ck_assert_str_eq(line, "event 4 cpu 0 FREE page-table node pa 0x7000 npages 1");
    e = (struct tlb_event){ .seq = 5, .type = 200, .sub = 2, .arg = 3, .root = 0x1000,
                            .u.raw = { 1, 2, 3 } };
    tlb_event_format(&e, line, sizeof(line));
    ck_assert_str_eq(line, "event 5 cpu 0 ? sub 2 arg 3 root 0x1000 0x1 0x2 0x3");

    /* Every type has a name, and the longest field values fit the documented maximum. */
    for (unsigned t = 1; t <= TLB_EV_TYPE_MAX; t++) {
        e = (struct tlb_event){ .seq = UINT64_MAX, .cpu = UINT32_MAX, .type = (uint8_t)t,
                                .sub = 255, .arg = UINT16_MAX, .root = UINT64_MAX,
                                .u.raw = { UINT64_MAX, UINT64_MAX, UINT64_MAX } };
        n = tlb_event_format(&e, line, sizeof(line));
        ck_assert_msg(n < sizeof(line) - 1, "type %u: %s", t, line);
        ck_assert_msg(strstr(line, tlb_event_type_name(t)) && strcmp(tlb_event_type_name(t), "?"),
                      "type %u: %s", t, line);
    }
}
END_TEST

/* Report text is never cut off: a long explanation (the old limit was 199 characters) and a long
 * policy name come back whole. */
START_TEST(report_text_is_never_cut)
{
    const struct scenario *t3 = NULL;
    for (unsigned i = 0; i < tlb_nscenarios; i++)
        if (!strcmp(tlb_scenarios[i].name, "t3"))
            t3 = &tlb_scenarios[i];
    ck_assert_ptr_nonnull(t3);
    struct sb b;
    struct expect e;
    t3->build(&b, true, &e);
    char name[300];
    memset(name, 'p', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    struct tlb_policy p = { name, TLB_CLASS_BIT(TLB_T3), 0, 0 };
    struct tlb_validator_options o = tlb_validator_default_options(b.ncpus);
    o.policies = &p;
    o.npolicies = 1;
    struct tlb_validator *v = sb_validate(&b, &o, NULL);
    const struct tlb_report *rep = NULL;
    for (size_t i = 0; i < tlb_validator_report_count(v); i++)
        if (tlb_validator_report(v, i)->cls == TLB_T3)
            rep = tlb_validator_report(v, i);
    ck_assert_ptr_nonnull(rep);
    ck_assert_int_eq(rep->kind, TLB_REPORT_TOLERATED);
    ck_assert_str_eq(rep->policy, name);
    size_t n = strlen(rep->what);
    ck_assert_msg(n > 199, "explanation of %zu characters: %s", n, rep->what);
    ck_assert_msg(!strcmp(rep->what + n - strlen("removed or repointed]"), "removed or repointed]"), "cut: %s",
                  rep->what);
    char *text = print_report(rep, false);
    ck_assert_ptr_nonnull(strstr(text, rep->what));
    ck_assert_ptr_nonnull(strstr(text, name));
    free(text);
    tlb_validator_destroy(v);
    sb_free(&b);
}
END_TEST

/* Feed a builder's stream to a fresh validator without finishing it. */
static struct tlb_validator *feed_all(const struct sb *b)
{
    struct tlb_validator_options o = tlb_validator_default_options(b->ncpus);
    struct tlb_validator *v = tlb_validator_create(&o);
    ck_assert_ptr_nonnull(v);
    for (size_t i = 0; i < b->n; i++)
        ck_assert_int_ne(tlb_validator_feed(v, &b->ev[i]), TLB_VERDICT_BAD_INPUT);
    return v;
}

/* tlb_validator_model_pte: the entry as the events built it, A/D from later old values; unknown
 * nodes (never seen, or freed) and bad indices are refused without touching the outputs. */
START_TEST(model_pte_follows_the_events)
{
    struct sb b;
    base(&b, 1);
    uint64_t leaf = sb_leaf(F, true, false);
    sb_store(&b, 0, R, L1, 1, 7, leaf);
    struct tlb_validator *v = feed_all(&b);
    uint64_t pte = 0;
    int level = 0;
    ck_assert(tlb_validator_model_pte(v, L1, 7, &pte, &level));
    ck_assert_uint_eq(pte, leaf);
    ck_assert_int_eq(level, 1);
    ck_assert(tlb_validator_model_pte(v, R, 0, &pte, &level));
    ck_assert_uint_eq(pte, sb_table(L3));
    ck_assert_int_eq(level, 4);
    ck_assert(tlb_validator_model_pte(v, L2, 0, &pte, &level));
    ck_assert_uint_eq(pte, sb_table(L1));
    ck_assert_int_eq(level, 2);
    ck_assert(tlb_validator_model_pte(v, L1, 8, &pte, &level));   /* known node, entry never written */
    ck_assert_uint_eq(pte, 0);
    pte = 0x1234;
    level = 9;
    ck_assert(!tlb_validator_model_pte(v, 0x900000, 0, &pte, &level));   /* never seen */
    ck_assert(!tlb_validator_model_pte(v, L1, 512, &pte, &level));
    ck_assert_uint_eq(pte, 0x1234);
    ck_assert_int_eq(level, 9);
    tlb_validator_destroy(v);

    /* The MMU set D; the next store's old value says so; then the table is emptied and freed. */
    sb_mmu_set(&b, L1, 7, PTE_D);
    sb_store(&b, 0, R, L1, 1, 7, sb_pte_get(&b, L1, 7) & ~PTE_RW);
    sb_invlpg(&b, 0, 7 * 4096);
    v = feed_all(&b);
    ck_assert(tlb_validator_model_pte(v, L1, 7, &pte, &level));
    ck_assert_uint_eq(pte, (leaf | PTE_D) & ~PTE_RW);
    tlb_validator_destroy(v);
    sb_store(&b, 0, R, L1, 1, 7, 0);
    sb_store(&b, 0, R, L2, 2, 0, 0);
    sb_flush_all(&b, 0, false);
    sb_free_node(&b, 0, L1, 1);
    v = feed_all(&b);
    ck_assert(!tlb_validator_model_pte(v, L1, 7, &pte, &level));
    ck_assert(tlb_validator_model_pte(v, L2, 0, &pte, &level));
    ck_assert_uint_eq(pte, 0);
    tlb_validator_destroy(v);
    sb_free(&b);
}
END_TEST

/* tlb_validator_cpu_root: the last CR3_LOAD of each CPU; false before any, or for a bad CPU id. */
START_TEST(cpu_root_is_the_last_load)
{
    struct sb b;
    sb_init(&b, 2);
    sb_store(&b, 0, R, R, 4, 0, sb_table(L3));
    struct tlb_validator *v = feed_all(&b);
    uint64_t root = 7;
    uint16_t pcid = 7;
    ck_assert(!tlb_validator_cpu_root(v, 0, &root, &pcid));
    ck_assert_uint_eq(root, 7);
    ck_assert_uint_eq(pcid, 7);
    tlb_validator_destroy(v);
    sb_cr3(&b, 1, R, 3, false);
    sb_cr3(&b, 1, 0x110000, 5, false);
    sb_cr3(&b, 0, R, 0, false);
    v = feed_all(&b);
    ck_assert(tlb_validator_cpu_root(v, 1, &root, &pcid));
    ck_assert_uint_eq(root, 0x110000);
    ck_assert_uint_eq(pcid, 5);
    ck_assert(tlb_validator_cpu_root(v, 0, &root, &pcid));
    ck_assert_uint_eq(root, R);
    ck_assert_uint_eq(pcid, 0);
    ck_assert(!tlb_validator_cpu_root(v, 2, &root, &pcid));
    ck_assert(!tlb_validator_cpu_root(v, 64, &root, &pcid));
    tlb_validator_destroy(v);
    sb_free(&b);
}
END_TEST

START_TEST(json_one_object_per_line)
{
    struct sb b;
    protect_without_flush(&b);
    enum tlb_verdict r;
    struct tlb_validator *v = sb_validate(&b, NULL, &r);
    ck_assert_int_eq(r, TLB_VERDICT_VIOLATION);
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    tlb_report_print_json(tlb_validator_report(v, 0), f);
    fclose(f);
    ck_assert_uint_gt(size, 2);
    ck_assert_int_eq(text[0], '{');
    ck_assert_int_eq(text[size - 1], '\n');
    ck_assert_int_eq(text[size - 2], '}');
    ck_assert_ptr_eq(strchr(text, '\n'), text + size - 1);
    ck_assert_ptr_nonnull(strstr(text, "\"class\":\"T15\""));
    ck_assert_ptr_nonnull(strstr(text, "\"va\":\"0x5000\""));
    ck_assert_ptr_nonnull(strstr(text, "\"frame\":\"0x200000\""));
    /* Braces and brackets balance outside strings. */
    int depth = 0;
    bool in_str = false;
    for (size_t i = 0; i < size; i++) {
        char c = text[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = false;
        } else if (c == '"')
            in_str = true;
        else if (c == '{' || c == '[')
            depth++;
        else if (c == '}' || c == ']')
            ck_assert_int_ge(--depth, 0);
    }
    ck_assert_int_eq(depth, 0);
    free(text);
    tlb_validator_destroy(v);
    sb_free(&b);
}
END_TEST

Suite *input_suite(void)
{
    Suite *s = suite_create("tlb_validator_input");
    TCase *tc = tcase_create("input");
    tcase_add_test(tc, clean_stream_roundtrips_through_bytes);
    tcase_add_test(tc, event_format_names_every_field);
    tcase_add_test(tc, truncated_header);
    tcase_add_test(tc, truncated_record);
    tcase_add_test(tc, bad_magic);
    tcase_add_test(tc, bad_version);
    tcase_add_test(tc, bad_record_size);
    tcase_add_test(tc, bad_cpu_count);
    tcase_add_test(tc, reserved_header_flags);
    tcase_add_test(tc, out_of_sequence);
    tcase_add_test(tc, sequence_gap);
    tcase_add_test(tc, sequence_gap_allowed_by_option);
    tcase_add_test(tc, cpu_out_of_range);
    tcase_add_test(tc, unknown_type);
    tcase_add_test(tc, bad_level);
    tcase_add_test(tc, bad_index);
    tcase_add_test(tc, unknown_node_free);
    tcase_add_test(tc, stale_old_value);
    tcase_add_test(tc, ad_difference_the_mmu_cannot_make);
    tcase_add_test(tc, ad_set_by_the_mmu_is_accepted);
    tcase_add_test(tc, level_mismatch);
    tcase_add_test(tc, node_linked_twice);
    tcase_add_test(tc, table_at_level_1);
    tcase_add_test(tc, reserved_fields);
    tcase_add_test(tc, unmatched_op_end);
    tcase_add_test(tc, leaf_at_level_4);
    tcase_add_test(tc, frame_free_of_live_node);
    tcase_add_test(tc, node_free_with_wrong_level);
    tcase_add_test(tc, nested_op_begin);
    tcase_add_test(tc, dispatch_mask_beyond_cpus);
    tcase_add_test(tc, feed_after_finish);
    tcase_add_test(tc, stopped_after_bad_input);
    tcase_add_test(tc, bad_options_rejected);
    tcase_add_test(tc, policy_tolerates_and_reports);
    tcase_add_test(tc, hints_are_not_violations);
    tcase_add_test(tc, free_in_unloaded_tree_is_a_hint);
    tcase_add_test(tc, teardown_of_unloaded_tree_is_clean);
    tcase_add_test(tc, huge_free_finds_live_mapping);
    tcase_add_test(tc, cr3_load_outside_cpu_set_is_a_hint);
    tcase_add_test(tc, adopt_entries_that_predate_the_stream);
    tcase_add_test(tc, repeated_downgrade_reported_once);
    tcase_add_test(tc, json_one_object_per_line);
    tcase_add_test(tc, report_carries_its_events);
    tcase_add_test(tc, model_pte_follows_the_events);
    tcase_add_test(tc, cpu_root_is_the_last_load);
    tcase_add_test(tc, report_text_is_never_cut);
    suite_add_tcase(s, tc);
    return s;
}
