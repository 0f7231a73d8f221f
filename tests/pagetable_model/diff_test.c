/*
 * pagetable_diff_test: the differential test of the page-table core against
 * the reference model, as a Check test.
 *
 * Usage: pagetable_diff_test [--seed N] [--ops N] [--full-every N] [--quiet]
 *   --seed N        reproduce a run (default: a fresh seed, printed first)
 *   --ops N         total cursor operations (default 1000000)
 *   --full-every N  full consistency check every N ops (default 1000)
 */
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check_main.h"
#include "diff.h"

static struct diff_params params = { .ops = 1000000, .full_every = 1000 };

START_TEST(differential_vs_model)
{
    diff_run(&params);
}
END_TEST

static bool parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || end == s || *end || s[0] == '-')
        return false;
    *out = v;
    return true;
}

#define DIFF_ARGS "[--seed N] [--ops N] [--full-every N] [--quiet]"

static uint64_t fresh_seed(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ((uint64_t)ts.tv_sec * 1000000007ull) ^ (uint64_t)ts.tv_nsec;
}

int check_program(int argc, char **argv, struct check_plan *plan)
{
    params.seed = fresh_seed();
    for (int i = 1; i < argc; i++) {
        uint64_t *dst = NULL;
        if (!strcmp(argv[i], "--quiet")) {
            params.quiet = true;
            continue;
        } else if (!strcmp(argv[i], "--seed")) {
            dst = &params.seed;
        } else if (!strcmp(argv[i], "--ops")) {
            dst = &params.ops;
        } else if (!strcmp(argv[i], "--full-every")) {
            dst = &params.full_every;
        } else {
            char why[128];
            snprintf(why, sizeof(why), "unknown argument '%s'", argv[i]);
            return check_usage(argv[0], DIFF_ARGS, why);
        }
        if (i + 1 >= argc || !parse_u64(argv[i + 1], dst)) {
            char why[128];
            snprintf(why, sizeof(why), "%s needs a non-negative integer", argv[i]);
            return check_usage(argv[0], DIFF_ARGS, why);
        }
        i++;
    }
    if (params.full_every == 0)
        return check_usage(argv[0], DIFF_ARGS, "--full-every must be at least 1");

    Suite *s = suite_create("pagetable_diff");
    TCase *tc = tcase_create("diff");
    tcase_set_timeout(tc, 0);   /* CTest's TIMEOUT bounds the run */
    tcase_add_test(tc, differential_vs_model);
    suite_add_tcase(s, tc);
    check_plan_add(plan, s);
    return CHECK_RUN;
}
