/*
 * Every bug class the validator reports, shown to fire and not to fire: for
 * each class a synthetic stream built from the catalogue's scenario
 * (scenarios.c) must report exactly that class, naming the right CPU, VA and
 * frame; the same scenario done right must report nothing.
 */
#include <check.h>
#include <stdio.h>

#include "scenarios.h"

static void expect_only(struct tlb_validator *v, unsigned cls, uint32_t cpu, uint64_t va, uint64_t frame)
{
    ck_assert_msg(tlb_validator_error(v) == NULL, "unexpected input error: %s", tlb_validator_error(v));
    ck_assert_uint_ge(tlb_validator_count(v, TLB_REPORT_VIOLATION), 1);
    ck_assert_uint_eq(tlb_validator_class_count(v, cls), tlb_validator_count(v, TLB_REPORT_VIOLATION));
    bool found = false;
    for (size_t i = 0; i < tlb_validator_report_count(v); i++) {
        const struct tlb_report *r = tlb_validator_report(v, i);
        if (r->kind != TLB_REPORT_VIOLATION)
            continue;
        ck_assert_msg(r->cls == cls, "expected only %s, got %s: %s", tlb_class_name(cls),
                      tlb_class_name(r->cls), r->what);
        ck_assert_ptr_nonnull(r->cpus);   /* every CPU's state is attached */
        /* ...and the events themselves: the one that broke the rule, the one that created it */
        ck_assert(r->has_detected_event);
        ck_assert_uint_eq(r->detected_event.seq, r->detected_seq);
        if (r->has_created_event)
            ck_assert_uint_eq(r->created_event.seq, r->created_seq);
        if (r->created_seq && r->cls != TLB_T14) {   /* an obligation's report: made by a PTE store */
            ck_assert_msg(r->has_created_event, "%s report lacks its creating event", tlb_class_name(r->cls));
            ck_assert_uint_eq(r->created_event.type, TLB_EV_PTE_STORE);
        }
        ck_assert_uint_ge(r->ncpus, 1);
        if (r->cpu == cpu && r->va == va && r->frame == frame)
            found = true;
    }
    ck_assert_msg(found, "no %s report for cpu %u va 0x%llx frame 0x%llx", tlb_class_name(cls), cpu,
                  (unsigned long long)va, (unsigned long long)frame);
}

static void expect_clean(struct tlb_validator *v)
{
    ck_assert_msg(tlb_validator_error(v) == NULL, "unexpected input error: %s", tlb_validator_error(v));
    if (tlb_validator_count(v, TLB_REPORT_VIOLATION)) {
        const struct tlb_report *r = tlb_validator_report(v, 0);
        ck_abort_msg("expected no violation, got %s: %s", tlb_class_name(r->cls), r->what);
    }
}

static void check_run(struct sb *b, bool bug, unsigned cls, uint32_t cpu, uint64_t va, uint64_t frame)
{
    enum tlb_verdict verdict;
    struct tlb_validator *v = sb_validate(b, NULL, &verdict);
    if (bug) {
        ck_assert_int_eq(verdict, TLB_VERDICT_VIOLATION);
        expect_only(v, cls, cpu, va, frame);
    } else {
        ck_assert_int_eq(verdict, TLB_VERDICT_OK);
        expect_clean(v);
    }
    tlb_validator_destroy(v);
    sb_free(b);
}


START_TEST(scenario_bug_reports_its_class)
{
    const struct scenario *s = &tlb_scenarios[_i];
    if (s->never_bug)
        return;   /* covered by scenario_done_right_is_clean */
    struct sb b;
    struct expect e;
    s->build(&b, true, &e);
    fprintf(stderr, "scenario %s (bug): expecting %s\n", s->name, tlb_class_name(e.cls));
    check_run(&b, true, e.cls, e.cpu, e.va, e.frame);
}
END_TEST

START_TEST(scenario_done_right_is_clean)
{
    const struct scenario *s = &tlb_scenarios[_i];
    if (!s->has_correct)
        return;
    struct sb b;
    struct expect e;
    s->build(&b, false, &e);
    fprintf(stderr, "scenario %s (correct): expecting no violation\n", s->name);
    check_run(&b, false, e.cls, e.cpu, e.va, e.frame);
}
END_TEST

Suite *classes_suite(void)
{
    Suite *s = suite_create("tlb_validator_classes");
    TCase *tc = tcase_create("classes");
    tcase_add_loop_test(tc, scenario_bug_reports_its_class, 0, (int)tlb_nscenarios);
    tcase_add_loop_test(tc, scenario_done_right_is_clean, 0, (int)tlb_nscenarios);
    suite_add_tcase(s, tc);
    return s;
}
