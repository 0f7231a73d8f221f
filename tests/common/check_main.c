/* The shared main() of the Check test programs; see check_main.h. */
#include "check_main.h"

#include <stdio.h>

void check_plan_add(struct check_plan *plan, Suite *s)
{
    if (plan->count < CHECK_MAX_SUITES)
        plan->suites[plan->count] = s;
    plan->count++;
}

int check_usage(const char *prog, const char *args, const char *why)
{
    fprintf(stderr, "usage: %s%s%s\n", prog, *args ? " " : "", args);
    if (why)
        fprintf(stderr, "%s: %s\n", prog, why);
    return CHECK_EXIT_USAGE;
}

bool check_no_args(int argc, char **argv)
{
    char why[160];

    if (argc <= 1)
        return true;
    snprintf(why, sizeof(why), "unexpected argument '%s' (this test takes none)", argv[1]);
    check_usage(argv[0], "", why);
    return false;
}

int check_one_tcase(int argc, char **argv, struct check_plan *plan, const char *suite,
                    const char *tcase, double timeout_s, SFun setup, SFun teardown,
                    const TTest *const tests[], size_t n)
{
    Suite *s;
    TCase *c;

    if (!check_no_args(argc, argv))
        return CHECK_EXIT_USAGE;
    s = suite_create(suite);
    c = tcase_create(tcase);
    if (timeout_s >= 0)
        tcase_set_timeout(c, timeout_s);
    if (setup || teardown)
        tcase_add_checked_fixture(c, setup, teardown);
    for (size_t i = 0; i < n; i++)
        tcase_add_test(c, tests[i]);
    suite_add_tcase(s, c);
    check_plan_add(plan, s);
    return CHECK_RUN;
}

int main(int argc, char **argv)
{
    struct check_plan plan = { .count = 0 };
    int status = check_program(argc, argv, &plan);

    if (status != CHECK_RUN)
        return status;
    if (plan.count == 0 || plan.count > CHECK_MAX_SUITES) {
        fprintf(stderr, "%s: %u suites; a Check program needs 1 to %d\n", argv[0],
                plan.count, CHECK_MAX_SUITES);
        return CHECK_EXIT_USAGE;
    }
    SRunner *sr = srunner_create(plan.suites[0]);
    for (unsigned i = 1; i < plan.count; i++)
        srunner_add_suite(sr, plan.suites[i]);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    if (plan.cleanup && !plan.cleanup())
        failed++;
    return failed ? CHECK_EXIT_FAILED : CHECK_EXIT_PASSED;
}
