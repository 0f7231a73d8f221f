/*
 * NODE_ALLOC (format version 2): a node the stream allocated is wholly
 * modelled -- every entry known, 0 until stored, nothing adopted -- until it
 * is freed; a NODE_ALLOC of a node that still has a life in the stream
 * (linked, or never freed) is refused as a corrupt stream; a version-1
 * stream cannot hold the type; the record's format is checked.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "abi/tlb_event_codec.h"
#include "pagetable/x86_64.h"
#include "scenario_space.h"

#define FRESH 0x120000ull   /* a node allocated on top of the scenario space */

/* Validate `b` (options may be NULL) and expect BAD_INPUT naming `needle`. */
static void expect_refused(struct sb *b, const struct tlb_validator_options *o, const char *needle)
{
    enum tlb_verdict r;
    struct tlb_validator *v = sb_validate(b, o, &r);
    ck_assert_int_eq(r, TLB_VERDICT_BAD_INPUT);
    const char *err = tlb_validator_error(v);
    ck_assert_ptr_nonnull(err);
    ck_assert_msg(strstr(err, needle), "error \"%s\" does not mention \"%s\"", err, needle);
    tlb_validator_destroy(v);
    sb_free(b);
}

/* Feed without finishing; every event must be accepted. */
static struct tlb_validator *feed_all(const struct sb *b, bool adopt)
{
    struct tlb_validator_options o = tlb_validator_default_options(b->ncpus);
    o.adopt_unknown_entries = adopt;
    struct tlb_validator *v = tlb_validator_create(&o);
    ck_assert_ptr_nonnull(v);
    for (size_t i = 0; i < b->n; i++)
        ck_assert_msg(tlb_validator_feed(v, &b->ev[i]) != TLB_VERDICT_BAD_INPUT, "event %zu refused: %s", i,
                      tlb_validator_error(v));
    return v;
}

/* Every entry of an allocated node is known (0 until stored); a node the stream only stored to
 * is known by its written entries alone. */
START_TEST(allocated_node_is_wholly_modelled)
{
    struct sb b;
    sc_setup(&b, 1, 1);
    sb_store(&b, 0, R, L1, 1, 5, sb_leaf(F, true, false));
    sb_store(&b, 0, R, L1B, 1, 0, sb_leaf(F2, true, false));   /* never allocated in the stream */
    struct tlb_validator *v = feed_all(&b, false);
    for (uint64_t n = R; n <= L1; n += 0x1000)
        ck_assert_msg(tlb_validator_node_whole(v, n), "node 0x%llx", (unsigned long long)n);
    ck_assert(!tlb_validator_node_whole(v, L1B));
    ck_assert(!tlb_validator_node_whole(v, 0x900000));   /* never seen */
    uint64_t pte = 7;
    int level = 0;
    ck_assert(tlb_validator_model_pte(v, L1, 6, &pte, &level));   /* never stored: 0 */
    ck_assert_uint_eq(pte, 0);
    ck_assert_int_eq(level, 1);
    ck_assert(tlb_validator_model_pte(v, L1, 5, &pte, &level));
    ck_assert_uint_eq(pte, sb_leaf(F, true, false));
    tlb_validator_destroy(v);
    sb_free(&b);
}
END_TEST

/* After its FREE the node is no longer modelled; a new NODE_ALLOC starts a new life with every
 * entry zero (a store whose old value is the previous life's is refused). */
START_TEST(free_ends_the_model_and_realloc_starts_afresh)
{
    struct sb b;
    sc_setup(&b, 1, 1);
    sb_store(&b, 0, R, L1, 1, 5, sb_leaf(F, true, false));
    uint64_t leaf = sb_pte_get(&b, L1, 5);
    sb_store(&b, 0, R, L2, 2, 0, 0);
    sb_flush_all(&b, 0, false);
    sb_free_node(&b, 0, L1, 1);
    struct tlb_validator *v = feed_all(&b, false);
    uint64_t pte;
    int level;
    ck_assert(!tlb_validator_node_whole(v, L1));
    ck_assert(!tlb_validator_model_pte(v, L1, 5, &pte, &level));
    tlb_validator_destroy(v);

    sb_node_alloc(&b, 0, R, L1, 1);
    sb_store(&b, 0, R, L2, 2, 0, sb_table(L1));
    sb_store(&b, 0, R, L1, 1, 5, sb_leaf(F2, true, false));   /* old = 0: the new life's value */
    v = feed_all(&b, false);
    ck_assert(tlb_validator_node_whole(v, L1));
    ck_assert(tlb_validator_model_pte(v, L1, 5, &pte, &level));
    ck_assert_uint_eq(pte, sb_leaf(F2, true, false));
    tlb_validator_destroy(v);

    b.ev[b.n - 1].u.pte.old_pte = leaf;   /* the old life's value, as if the node were not fresh */
    expect_refused(&b, NULL, "allocated with every entry zero");
}
END_TEST

/* A node still linked into a tree cannot come from the allocator. */
START_TEST(alloc_of_a_linked_node_is_refused)
{
    struct sb b;
    sc_setup(&b, 1, 1);
    sb_node_alloc(&b, 0, R, L1, 1);
    expect_refused(&b, NULL, "still linked into a page table (level 1, from node 0x102000 index 0)");
}
END_TEST

/* A node allocated twice with no FREE in between: a FREE is missing. */
START_TEST(alloc_twice_without_free_is_refused)
{
    struct sb b;
    sc_setup(&b, 1, 1);
    uint64_t first = sb_node_alloc(&b, 0, R, FRESH, 1);
    sb_node_alloc(&b, 0, R, FRESH, 1);
    char needle[80];
    snprintf(needle, sizeof needle, "allocated at event %llu and never freed since", (unsigned long long)first);
    expect_refused(&b, NULL, needle);
}
END_TEST

/* Also a node the stream only knows from stores (unlinked, never freed), and a loaded root. */
START_TEST(alloc_of_a_known_unfreed_node_is_refused)
{
    struct sb b;
    sc_setup(&b, 1, 1);
    sb_store(&b, 0, R, L1B, 1, 0, sb_leaf(F2, true, false));   /* L1B: stored to, never linked */
    sb_node_alloc(&b, 0, R, L1B, 1);
    expect_refused(&b, NULL, "uses as a level-1 node and never freed");

    sb_init(&b, 1);
    sb_cr3(&b, 0, R2, 0, false);   /* a root first seen loaded */
    sb_node_alloc(&b, 0, 0, R2, 4);
    expect_refused(&b, NULL, "uses as a level-4 node and never freed");
}
END_TEST

/* adopt_unknown_entries trusts the first old value only where the stream does not know the
 * node's beginning: in an allocated node a non-zero old value is a store without an event. */
START_TEST(adoption_stops_at_allocated_nodes)
{
    struct sb b;
    sc_setup(&b, 1, 1);
    sb_store(&b, 0, R, L1, 1, 9, sb_leaf(F, true, false));
    b.ev[b.n - 1].u.pte.old_pte = sb_leaf(F2, true, false);   /* L1[9] was changed untraced */
    struct tlb_validator_options o = tlb_validator_default_options(1);
    o.adopt_unknown_entries = true;
    expect_refused(&b, &o, "a store without an event?");

    sc_setup(&b, 1, 1);   /* the same in L1B, which the stream never allocated: adopted */
    sb_store(&b, 0, R, L1B, 1, 9, sb_leaf(F, true, false));
    b.ev[b.n - 1].u.pte.old_pte = sb_leaf(F2, true, false);
    struct tlb_validator *v = feed_all(&b, true);
    tlb_validator_destroy(v);
    sb_free(&b);
}
END_TEST

/* Format checks of the record itself. */
START_TEST(bad_node_alloc_records_are_refused)
{
    static const struct { uint8_t sub; uint16_t arg; uint64_t node, r0, r1; const char *needle; } cases[] = {
        { 0, 0, FRESH, 0, 0, "bad level 0" },
        { 5, 0, FRESH, 0, 0, "bad level 5" },
        { 1, 0, 0, 0, 0, "node address 0x0" },
        { 1, 0, FRESH + 8, 0, 0, "not page-aligned" },
        { 1, 0, 1ull << 52, 0, 0, "beyond 52 bits" },
        { 1, 3, FRESH, 0, 0, "reserved fields" },
        { 1, 0, FRESH, 1, 0, "reserved fields" },
        { 1, 0, FRESH, 0, 1, "reserved fields" },
    };
    for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct sb b;
        sb_init(&b, 1);
        struct tlb_event ev = { .type = TLB_EV_NODE_ALLOC, .sub = cases[i].sub, .arg = cases[i].arg };
        ev.u.alloc.node = cases[i].node;
        ev.u.alloc.reserved[0] = cases[i].r0;
        ev.u.alloc.reserved[1] = cases[i].r1;
        sb_raw(&b, ev);
        expect_refused(&b, NULL, cases[i].needle);
    }
}
END_TEST

/* The header's version decides which types may appear: version 1 has no NODE_ALLOC, and a
 * version-1 stream without it is still read. */
START_TEST(version_1_streams_have_no_node_alloc)
{
    struct sb b;
    sc_setup(&b, 1, 1);
    size_t len;
    uint8_t *buf = sb_bytes(&b, &len);
    buf[4] = 1;   /* header version 1 */
    struct tlb_validator *v;
    ck_assert_int_eq(tlb_validate_bytes(buf, len, NULL, &v), TLB_VERDICT_BAD_INPUT);
    ck_assert_msg(strstr(tlb_validator_error(v), "type 15 (NODE_ALLOC) does not exist in a version-1 stream"),
                  "%s", tlb_validator_error(v));
    tlb_validator_destroy(v);
    free(buf);
    sb_free(&b);

    sb_init(&b, 1);   /* the same tree built by a version-1 producer */
    sb_store(&b, 0, R, R, 4, 0, sb_table(L3));
    sb_cr3(&b, 0, R, 0, false);
    buf = sb_bytes(&b, &len);
    buf[4] = 1;
    ck_assert_int_eq(tlb_validate_bytes(buf, len, NULL, &v), TLB_VERDICT_OK);
    ck_assert(!tlb_validator_node_whole(v, R));
    tlb_validator_destroy(v);
    free(buf);
    sb_free(&b);

    struct tlb_validator_options o = tlb_validator_default_options(1);
    o.format_version = TLB_EVENT_VERSION + 1;   /* a version this reader does not know */
    ck_assert_ptr_null(tlb_validator_create(&o));
    ck_assert_uint_eq(tlb_event_type_max(1), TLB_EV_TYPE_MAX_V1);
    ck_assert_uint_eq(tlb_event_type_max(2), TLB_EV_NODE_ALLOC);
    ck_assert_uint_eq(tlb_event_type_max(3), 0);
}
END_TEST

/* The report text names the record's fields. */
START_TEST(node_alloc_is_named_in_reports)
{
    ck_assert_str_eq(tlb_event_type_name(TLB_EV_NODE_ALLOC), "NODE_ALLOC");
    struct sb b;
    sc_setup(&b, 2, ALL2);
    sb_store(&b, 0, R, L1, 1, 5, sb_leaf(F, true, false));
    sb_store(&b, 0, R, L1, 1, 5, 0);
    sb_node_alloc(&b, 0, R, F, 1);   /* F reused as a node while both CPUs may cache it */
    enum tlb_verdict r;
    struct tlb_validator *v = sb_validate(&b, NULL, &r);
    ck_assert_int_eq(r, TLB_VERDICT_VIOLATION);
    const struct tlb_report *rep = tlb_validator_report(v, 0);
    ck_assert_ptr_nonnull(rep);
    ck_assert_uint_eq(rep->cls, TLB_T1);
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    tlb_report_print_text(rep, f);
    fclose(f);
    ck_assert_msg(strstr(text, "NODE_ALLOC root 0x100000 level 1 node 0x200000"), "%s", text);
    free(text);
    tlb_validator_destroy(v);
    sb_free(&b);
}
END_TEST

Suite *node_alloc_suite(void)
{
    Suite *s = suite_create("tlb_validator_node_alloc");
    TCase *tc = tcase_create("node_alloc");
    tcase_add_test(tc, allocated_node_is_wholly_modelled);
    tcase_add_test(tc, free_ends_the_model_and_realloc_starts_afresh);
    tcase_add_test(tc, alloc_of_a_linked_node_is_refused);
    tcase_add_test(tc, alloc_twice_without_free_is_refused);
    tcase_add_test(tc, alloc_of_a_known_unfreed_node_is_refused);
    tcase_add_test(tc, adoption_stops_at_allocated_nodes);
    tcase_add_test(tc, bad_node_alloc_records_are_refused);
    tcase_add_test(tc, version_1_streams_have_no_node_alloc);
    tcase_add_test(tc, node_alloc_is_named_in_reports);
    suite_add_tcase(s, tc);
    return s;
}
