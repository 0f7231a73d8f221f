/* Unit tests: the live-validation options of the command line (vmm/options.c):
 * --validate, --report, --events-out, --check-every, --dump-pt. Every bad
 * value or combination must fail with a message naming it. */
#include <check.h>
#include <string.h>

#include "check_main.h"
#include "options.h"

static char err[512];

static int parse(const char *const *args, int n, struct vmm_options *o)
{
    char *argv[16];

    argv[0] = (char *)"vmm";
    for (int i = 0; i < n; i++)
        argv[i + 1] = (char *)args[i];
    return vmm_options_parse(n + 1, argv, o, err, sizeof(err));
}

START_TEST(defaults_trace)
{
    const char *a[] = { "--guest" };
    struct vmm_options o;

    ck_assert_int_eq(parse(a, 1, &o), 0);
    ck_assert(!o.validate_off);
    ck_assert_ptr_null(o.report);
    ck_assert_ptr_null(o.events_out);
    ck_assert_uint_eq(o.check_every, 0);
    ck_assert(!o.dump_pt);
}
END_TEST

START_TEST(all_given)
{
    const char *a[] = { "--guest", "--validate=trace", "--report", "r.json", "--events-out=e.tlb",
                        "--check-every", "5000", "--dump-pt" };
    struct vmm_options o;

    ck_assert_int_eq(parse(a, 8, &o), 0);
    ck_assert(!o.validate_off);
    ck_assert_str_eq(o.report, "r.json");
    ck_assert_str_eq(o.events_out, "e.tlb");
    ck_assert_uint_eq(o.check_every, 5000);
    ck_assert(o.dump_pt);
}
END_TEST

START_TEST(validate_off)
{
    const char *a[] = { "--guest", "--validate", "off", "--dump-pt" };
    struct vmm_options o;

    ck_assert_int_eq(parse(a, 4, &o), 0);
    ck_assert(o.validate_off);
}
END_TEST

static const struct { const char *args[6]; int n; const char *msg; } bad[] = {
    { { "--guest", "--validate=on" }, 2, "--validate: 'on' is not a mode (off or trace)" },
    { { "--guest", "--validate=" }, 2, "--validate: '' is not a mode" },
    { { "--guest", "--validate" }, 2, "option --validate needs a value" },
    { { "--guest", "--validate=off", "--validate=trace" }, 3, "option --validate given twice" },
    { { "--guest", "--check-every", "0" }, 3, "--check-every: 0 is out of range" },
    { { "--guest", "--check-every", "10k" }, 3, "--check-every: '10k' is not a number" },
    { { "--guest", "--check-every", "-5" }, 3, "--check-every: '-5' is not a number" },
    { { "--guest", "--check-every=99999999999" }, 2, "--check-every: 99999999999 is out of range" },
    { { "--guest", "--report=" }, 2, "--report: empty value" },
    { { "--guest", "--events-out", "" }, 3, "--events-out: empty value" },
    { { "--guest", "--dump-pt=yes" }, 2, "option --dump-pt takes no value" },
    { { "--guest", "--validate=off", "--report", "r" }, 4, "--validate=off conflicts with --report" },
    { { "--guest", "--validate=off", "--events-out", "e" }, 4,
      "--validate=off conflicts with --events-out" },
    { { "--guest", "--validate=off", "--check-every", "9" }, 4,
      "--validate=off conflicts with --check-every" },
    { { "--bench", "--report", "r" }, 3, "--report needs a single run" },
    { { "--config", "x.cfg", "--test", "all", "--events-out", "e" }, 6,
      "--events-out needs a single run" },
};

START_TEST(bad_values)
{
    struct vmm_options o;

    ck_assert_int_eq(parse(bad[_i].args, bad[_i].n, &o), -1);
    ck_assert_msg(strstr(err, bad[_i].msg), "case %d: got '%s', want '%s'", _i, err, bad[_i].msg);
}
END_TEST

START_TEST(usage_lists_options_and_status_7)
{
    const char *u = vmm_options_usage();

    ck_assert_ptr_nonnull(strstr(u, "--validate MODE"));
    ck_assert_ptr_nonnull(strstr(u, "--report FILE"));
    ck_assert_ptr_nonnull(strstr(u, "--events-out FILE"));
    ck_assert_ptr_nonnull(strstr(u, "--check-every N"));
    ck_assert_ptr_nonnull(strstr(u, "--dump-pt"));
    ck_assert_ptr_nonnull(strstr(u, "7 validation failure"));
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("vmm_live_options");
    TCase *c = tcase_create("options");

    tcase_add_test(c, defaults_trace);
    tcase_add_test(c, all_given);
    tcase_add_test(c, validate_off);
    tcase_add_loop_test(c, bad_values, 0, (int)(sizeof(bad) / sizeof(bad[0])));
    tcase_add_test(c, usage_lists_options_and_status_7);
    suite_add_tcase(s, c);
    return s;
}

int check_program(int argc, char **argv, struct check_plan *plan)
{
    if (!check_no_args(argc, argv))
        return CHECK_EXIT_USAGE;
    check_plan_add(plan, suite());
    return CHECK_RUN;
}
