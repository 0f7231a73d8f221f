/*
 * The one main() of every Check test program (check_main.c). A program
 * defines check_program(): it reads its command line and adds its suites
 * to a plan; main() runs the plan and turns the result into the exit
 * status, the same for every Check program:
 *
 *   0  CHECK_EXIT_PASSED  every test ran and passed
 *   1  CHECK_EXIT_FAILED  a test failed, or the program's cleanup did
 *   2  CHECK_EXIT_USAGE   bad command line or failed set-up: no test ran
 *
 * A program may also end before any suite runs with another status it
 * got from elsewhere (the KVM tests return the status of their own run
 * inside the sandbox, see tests/firmware/kvm_harness.h).
 */
#ifndef TESTS_CHECK_MAIN_H
#define TESTS_CHECK_MAIN_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>

enum {
    CHECK_RUN = -1,           /* check_program: run the plan */
    CHECK_EXIT_PASSED = 0,
    CHECK_EXIT_FAILED = 1,
    CHECK_EXIT_USAGE = 2,
};

#define CHECK_MAX_SUITES 8

struct check_plan {
    Suite *suites[CHECK_MAX_SUITES];
    unsigned count;           /* suites added, also beyond CHECK_MAX_SUITES */
    bool (*cleanup)(void);    /* optional; run after the suites, false = failed */
};

/*
 * Defined by each Check program.
 * Requires: argv[0..argc-1] is the program's command line; plan empty.
 * Guarantees: returns CHECK_RUN after adding at least one suite to plan
 *   (main then runs them all in one SRunner, in order), or the exit status
 *   to end with at once (CHECK_EXIT_USAGE after printing what is wrong).
 */
int check_program(int argc, char **argv, struct check_plan *plan);

/* Appends s to the plan. More than CHECK_MAX_SUITES suites make main()
 * refuse to run (CHECK_EXIT_USAGE, naming the limit); never a crash. */
void check_plan_add(struct check_plan *plan, Suite *s);

/*
 * Prints "usage: PROG ARGS" and, when why is not NULL, "PROG: WHY" to
 * stderr. Returns CHECK_EXIT_USAGE, so a program writes
 * `return check_usage(argv[0], "", "unexpected argument");`.
 */
int check_usage(const char *prog, const char *args, const char *why);

/* For programs without arguments: true when argc <= 1; otherwise prints
 * the usage error naming the first extra argument and returns false. */
bool check_no_args(int argc, char **argv);

/*
 * The whole check_program() of a program without arguments whose tests
 * form one test case of one suite: checks the command line (as
 * check_no_args), then adds suite `suite` holding test case `tcase` with
 * tests[0..n-1] in that order, each limited to timeout_s seconds
 * (CHECK_TIMEOUT_NONE: no limit; CHECK_TIMEOUT_DEFAULT: Check's default,
 * or CK_DEFAULT_TIMEOUT), with setup/teardown as the case's checked fixture
 * when either is not NULL.
 * Requires: suite, tcase not NULL; tests has n entries made by START_TEST.
 * Guarantees: returns CHECK_RUN with the suite added, or CHECK_EXIT_USAGE
 *   (usage printed, nothing added) when an argument was given.
 */
int check_one_tcase(int argc, char **argv, struct check_plan *plan, const char *suite,
                    const char *tcase, double timeout_s, SFun setup, SFun teardown,
                    const TTest *const tests[], size_t n);

#define CHECK_TIMEOUT_DEFAULT (-1.0)
#define CHECK_TIMEOUT_NONE 0.0

/* The number of entries of array a, for check_one_tcase's n. */
#define CHECK_COUNT(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Defines check_program() as check_one_tcase() over the tests named after
 * timeout_s, in that order: `CHECK_PROGRAM_ONE_TCASE("suite", "case",
 * CHECK_TIMEOUT_DEFAULT, test_a, test_b)` after the tests' END_TEST.
 */
#define CHECK_PROGRAM_ONE_TCASE(suite, tcase, timeout_s, ...) \
    CHECK_PROGRAM_ONE_FIXTURE_TCASE(suite, tcase, timeout_s, NULL, NULL, __VA_ARGS__)

/* The same with a checked fixture: setup before and teardown after each test. */
#define CHECK_PROGRAM_ONE_FIXTURE_TCASE(suite, tcase, timeout_s, setup, teardown, ...)    \
    int check_program(int argc, char **argv, struct check_plan *plan)                  \
    {                                                                                  \
        const TTest *const check_tests_[] = {__VA_ARGS__};                             \
        return check_one_tcase(argc, argv, plan, suite, tcase, timeout_s, setup,        \
                               teardown, check_tests_, CHECK_COUNT(check_tests_));     \
    }

#endif /* TESTS_CHECK_MAIN_H */
