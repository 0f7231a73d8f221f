/*
 * guest_tlb_bug: the bug names of the bootarg tlb_bug=NAME[,NAME...]
 * (guest/mm/tlb_bug.c) map onto the flusher's enum tlb_fault switches; an
 * unknown or empty name is reported, naming it.
 */
#include <check.h>
#include <string.h>

#include "check_main.h"
#include "guest/tlb_bug.h"
#include "tlb/flusher.h"

START_TEST(required_names_map_to_faults)
{
    uint32_t f = 0;
    const char *bad;
    unsigned len;
    ck_assert(tlb_bug_parse("free-before-flush", &f, &bad, &len));
    ck_assert_uint_eq(f, TLB_FAULT_FREE_BEFORE_FLUSH);
    ck_assert(tlb_bug_parse("skip-unmap-flush", &f, &bad, &len));
    ck_assert_uint_eq(f, TLB_FAULT_SKIP_LOCAL_FLUSH | TLB_FAULT_SKIP_REMOTE_FLUSH);
    ck_assert(tlb_bug_parse("wrong-page,no-join", &f, &bad, &len));
    ck_assert_uint_eq(f, TLB_FAULT_WRONG_PAGE | TLB_FAULT_NO_JOIN);
}
END_TEST

START_TEST(every_fault_switch_has_a_name)
{
    uint32_t all = 0;
    for (const struct tlb_bug *b = tlb_bugs; b->name; b++) {
        uint32_t f = 0;
        const char *bad;
        unsigned len;
        ck_assert_msg(tlb_bug_parse(b->name, &f, &bad, &len), "%s refused", b->name);
        ck_assert_uint_eq(f, b->faults);
        ck_assert_ptr_nonnull(b->what);
        all |= f;
    }
    ck_assert_uint_eq(all, TLB_FAULT_ALL);
}
END_TEST

START_TEST(unknown_names_are_named)
{
    uint32_t f = 77;
    const char *bad = NULL;
    unsigned len = 0;
    ck_assert(!tlb_bug_parse("wrong-page,no-such-bug", &f, &bad, &len));
    ck_assert_uint_eq(f, 77);                      /* untouched */
    ck_assert_uint_eq(len, strlen("no-such-bug"));
    ck_assert(strncmp(bad, "no-such-bug", len) == 0);
    ck_assert(!tlb_bug_parse("", &f, &bad, &len));  /* an empty name */
    ck_assert_uint_eq(len, 0);
    ck_assert(!tlb_bug_parse("wrong-page,", &f, &bad, &len));
    ck_assert(!tlb_bug_parse("wrong-pag", &f, &bad, &len));  /* no prefix match */
    ck_assert(!tlb_bug_parse("wrong-pages", &f, &bad, &len));
}
END_TEST

CHECK_PROGRAM_ONE_TCASE("guest_tlb_bug", "tlb_bug", CHECK_TIMEOUT_DEFAULT,
                        required_names_map_to_faults, every_fault_switch_has_a_name,
                        unknown_names_are_named)
