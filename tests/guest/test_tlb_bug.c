/*
 * guest_tlb_bug: the bug names of the bootarg tlb_bug=NAME[,NAME...]
 * (guest/mm/tlb_bug.c) map onto the flusher's enum tlb_fault switches and
 * the memory manager's enum mm_bug; an unknown or empty name is reported,
 * naming it.
 */
#include <check.h>
#include <string.h>

#include "check_main.h"
#include "guest/tlb_bug.h"
#include "tlb/flusher.h"

START_TEST(required_names_map_to_faults)
{
    struct tlb_bug_set f = { 0, 0 };
    const char *bad;
    unsigned len;
    ck_assert(tlb_bug_parse("free-before-flush", &f, &bad, &len));
    ck_assert_uint_eq(f.faults, TLB_FAULT_FREE_BEFORE_FLUSH);
    ck_assert_uint_eq(f.mm, 0);
    ck_assert(tlb_bug_parse("skip-unmap-flush", &f, &bad, &len));
    ck_assert_uint_eq(f.faults, TLB_FAULT_SKIP_LOCAL_FLUSH | TLB_FAULT_SKIP_REMOTE_FLUSH);
    ck_assert(tlb_bug_parse("wrong-page,no-join", &f, &bad, &len));
    ck_assert_uint_eq(f.faults, TLB_FAULT_WRONG_PAGE | TLB_FAULT_NO_JOIN);
    ck_assert(tlb_bug_parse("untraced-store", &f, &bad, &len));
    ck_assert_uint_eq(f.faults, 0);
    ck_assert_uint_eq(f.mm, MM_BUG_UNTRACED_STORE);
    ck_assert(tlb_bug_parse("wrong-page,untraced-store", &f, &bad, &len));
    ck_assert_uint_eq(f.faults, TLB_FAULT_WRONG_PAGE);
    ck_assert_uint_eq(f.mm, MM_BUG_UNTRACED_STORE);
}
END_TEST

START_TEST(every_fault_switch_has_a_name)
{
    struct tlb_bug_set all = { 0, 0 };
    for (const struct tlb_bug *b = tlb_bugs; b->name; b++) {
        struct tlb_bug_set f = { 0, 0 };
        const char *bad;
        unsigned len;
        ck_assert_msg(tlb_bug_parse(b->name, &f, &bad, &len), "%s refused", b->name);
        ck_assert_uint_eq(f.faults, b->faults);
        ck_assert_uint_eq(f.mm, b->mm);
        ck_assert_msg(b->faults || b->mm, "%s plants nothing", b->name);
        ck_assert_ptr_nonnull(b->what);
        all.faults |= f.faults;
        all.mm |= f.mm;
    }
    ck_assert_uint_eq(all.faults, TLB_FAULT_ALL);
    ck_assert_uint_eq(all.mm, MM_BUG_ALL);
}
END_TEST

START_TEST(unknown_names_are_named)
{
    struct tlb_bug_set f = { 77, 78 };
    const char *bad = NULL;
    unsigned len = 0;
    ck_assert(!tlb_bug_parse("wrong-page,no-such-bug", &f, &bad, &len));
    ck_assert_uint_eq(f.faults, 77);               /* untouched */
    ck_assert_uint_eq(f.mm, 78);
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
