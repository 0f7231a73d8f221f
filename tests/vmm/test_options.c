/* Unit tests: number/size parsing and the command line (vmm/parse.c,
 * vmm/options.c). Every malformed form must fail with a message naming it. */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "check_main.h"
#include "memmap.h"
#include "options.h"
#include "parse.h"

static char err[512];

START_TEST(uint_good)
{
    uint64_t v;

    ck_assert_int_eq(vmm_parse_uint("0", 0, 10, &v, err, sizeof(err)), 0);
    ck_assert_uint_eq(v, 0);
    ck_assert_int_eq(vmm_parse_uint("42", 0, 100, &v, err, sizeof(err)), 0);
    ck_assert_uint_eq(v, 42);
    ck_assert_int_eq(vmm_parse_uint("007", 0, 100, &v, err, sizeof(err)), 0);
    ck_assert_uint_eq(v, 7);
    ck_assert_int_eq(vmm_parse_uint("18446744073709551615", 0, UINT64_MAX, &v, err,
                                    sizeof(err)), 0);
    ck_assert_uint_eq(v, UINT64_MAX);
}
END_TEST

static const struct { const char *in; const char *msg; } bad_uints[] = {
    { "", "empty" },
    { "-1", "not a number" },
    { "+1", "not a number" },
    { " 1", "not a number" },
    { "1 ", "trailing ' '" },
    { "12x", "trailing 'x'" },
    { "0x10", "trailing 'x10'" },
    { "1.5", "trailing '.5'" },
    { "18446744073709551616", "overflow" },
    { "99999999999999999999999", "overflow" },
    { "11", "out of range" },
};

START_TEST(uint_bad)
{
    uint64_t v = 12345;

    ck_assert_int_eq(vmm_parse_uint(bad_uints[_i].in, 0, 10, &v, err, sizeof(err)), -1);
    ck_assert_uint_eq(v, 12345);
    ck_assert_msg(strstr(err, bad_uints[_i].msg), "'%s': got '%s'", bad_uints[_i].in, err);
}
END_TEST

static const struct { const char *in; uint64_t out; } good_sizes[] = {
    { "4096", 4096 }, { "2K", 2048 }, { "2k", 2048 }, { "16M", 16ull << 20 },
    { "64MiB", 64ull << 20 }, { "64mb", 64ull << 20 }, { "1G", 1ull << 30 },
    { "3GiB", 3ull << 30 }, { "0", 0 },
};

START_TEST(size_good)
{
    uint64_t v;

    ck_assert_int_eq(vmm_parse_size(good_sizes[_i].in, &v, err, sizeof(err)), 0);
    ck_assert_uint_eq(v, good_sizes[_i].out);
}
END_TEST

static const struct { const char *in; const char *msg; } bad_sizes[] = {
    { "", "empty" },
    { "M", "not a number" },
    { "-1M", "not a number" },
    { "12Q", "unknown size unit 'Q'" },
    { "1MM", "trailing 'M'" },
    { "1.5G", "unknown size unit '.5G'" },
    { "16M ", "trailing ' '" },
    { "17179869184G", "overflow" },
    { "18446744073709551616", "overflow" },
};

START_TEST(size_bad)
{
    uint64_t v;

    ck_assert_int_eq(vmm_parse_size(bad_sizes[_i].in, &v, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, bad_sizes[_i].msg), "'%s': got '%s'", bad_sizes[_i].in, err);
}
END_TEST

START_TEST(size_format)
{
    char b[32];

    ck_assert_str_eq(vmm_format_size(128ull << 20, b, sizeof(b)), "128 MiB");
    ck_assert_str_eq(vmm_format_size(3ull << 30, b, sizeof(b)), "3 GiB");
    ck_assert_str_eq(vmm_format_size(4096, b, sizeof(b)), "4 KiB");
    ck_assert_str_eq(vmm_format_size(1000, b, sizeof(b)), "1000 bytes");
}
END_TEST

#define MAXARGS 12
static int parse(struct vmm_options *o, const char *const *args)
{
    char *argv[MAXARGS + 1] = { (char *)"vmm" };
    int argc = 1;

    while (args[argc - 1]) {
        argv[argc] = (char *)args[argc - 1];
        argc++;
    }
    return vmm_options_parse(argc, argv, o, err, sizeof(err));
}

START_TEST(opts_good)
{
    struct vmm_options o;

    ck_assert_int_eq(parse(&o, (const char *[]){ "--guest", NULL }), 0);
    ck_assert(o.guest);
    ck_assert_ptr_null(o.image);
    ck_assert(!o.cpus_set && !o.mem_set && !o.timeout_set);

    ck_assert_int_eq(parse(&o, (const char *[]){ "--guest", "k.elf", "--cpus", "4",
                                                 "--mem=256M", "--bootargs", "a=b c",
                                                 "--timeout=7", "--verbose", NULL }), 0);
    ck_assert_str_eq(o.image, "k.elf");
    ck_assert_uint_eq(o.cpus, 4);
    ck_assert_uint_eq(o.mem, 256ull << 20);
    ck_assert_str_eq(o.bootargs, "a=b c");
    ck_assert_uint_eq(o.timeout_s, 7);
    ck_assert(o.verbose);

    /* IMAGE is optional: an option right after --guest is not an image. */
    ck_assert_int_eq(parse(&o, (const char *[]){ "--guest", "--cpus", "2", NULL }), 0);
    ck_assert_ptr_null(o.image);
    ck_assert_uint_eq(o.cpus, 2);
    ck_assert_int_eq(parse(&o, (const char *[]){ "--guest=x.elf", NULL }), 0);
    ck_assert_str_eq(o.image, "x.elf");

    ck_assert_int_eq(parse(&o, (const char *[]){ "--config", "c.cfg", "--test", "all",
                                                 "--log", "out.txt", "--no-sandbox",
                                                 NULL }), 0);
    ck_assert_str_eq(o.config, "c.cfg");
    ck_assert_str_eq(o.test, "all");
    ck_assert_str_eq(o.log, "out.txt");
    ck_assert(o.no_sandbox && !o.sandbox);

    ck_assert_int_eq(parse(&o, (const char *[]){ "--bench", "--sandbox", NULL }), 0);
    ck_assert(o.bench && o.sandbox);
    ck_assert_int_eq(parse(&o, (const char *[]){ "--help", NULL }), 0);
    ck_assert(o.help);
    ck_assert_int_eq(parse(&o, (const char *[]){ "-h", NULL }), 0);
    ck_assert(o.help);
    ck_assert_int_eq(parse(&o, (const char *[]){ "--version", NULL }), 0);
    ck_assert(o.version);
    /* bootargs may start with '-' */
    ck_assert_int_eq(parse(&o, (const char *[]){ "--guest", "--bootargs", "-x", NULL }), 0);
    ck_assert_str_eq(o.bootargs, "-x");
    ck_assert_int_eq(parse(&o, (const char *[]){ "--guest", "--cpus", "64", "--mem", "3G",
                                                 "--timeout", "86400", NULL }), 0);
    ck_assert_int_eq(parse(&o, (const char *[]){ "--guest", "--cpus", "1", "--mem", "16M",
                                                 "--timeout", "1", NULL }), 0);
}
END_TEST

static const struct { const char *args[6]; const char *msg; } bad_opts[] = {
    { { "--guest", "--cpus", "0" }, "--cpus: 0 is out of range (1..64)" },
    { { "--guest", "--cpus", "65" }, "--cpus: 65 is out of range" },
    { { "--guest", "--cpus", "abc" }, "--cpus: 'abc' is not a number" },
    { { "--guest", "--cpus", "4x" }, "--cpus: '4x' is not a number (trailing 'x')" },
    { { "--guest", "--cpus=" }, "--cpus: empty value" },
    { { "--guest", "--cpus=-1" }, "--cpus: '-1' is not a number" },
    { { "--guest", "--cpus", "99999999999999999999" }, "--cpus: '99999999999999999999' is too large" },
    { { "--guest", "--cpus" }, "option --cpus needs a value" },
    { { "--guest", "--mem", "1M" }, "--mem: 1 MiB is outside the supported range 16 MiB..3 GiB" },
    { { "--guest", "--mem", "4G" }, "--mem: 4 GiB is outside" },
    { { "--guest", "--mem", "16777217" }, "not a multiple of 4 KiB" },
    { { "--guest", "--mem", "12Q" }, "--mem: '12Q' has an unknown size unit" },
    { { "--guest", "--mem", "99999999999G" }, "--mem: '99999999999G' is too large" },
    { { "--guest", "--timeout", "0" }, "--timeout: 0 is out of range" },
    { { "--guest", "--timeout", "3s" }, "--timeout: '3s' is not a number" },
    { { "--guest", "--bootargs", "a\nb" }, "--bootargs: control character 0x0a" },
    { { "--guest", "--frob" }, "unknown option '--frob'" },
    { { "--guest", "k.elf", "extra" }, "unexpected argument 'extra'" },
    { { "-x" }, "unexpected argument '-x'" },
    { { "--" }, "unexpected argument '--'" },
    { { "--guest", "--guest" }, "option --guest given twice" },
    { { "--guest", "--cpus", "1", "--cpus", "2" }, "option --cpus given twice" },
    { { "--guest", "--sandbox", "--no-sandbox" }, "--sandbox and --no-sandbox conflict" },
    { { "--config", "c.cfg" }, "--config needs --test" },
    { { "--test", "all" }, "--test needs --config" },
    { { "--bench", "--config", "c", "--test", "all" }, "--bench and --config conflict" },
    { { "--verbose" }, "nothing to run" },
    { { "--guest", "--verbose=1" }, "option --verbose takes no value" },
    { { "--guest=" }, "--guest: empty value" },
    { { "--guest", "--log=" }, "--log: empty value" },
};

START_TEST(opts_bad)
{
    struct vmm_options o;
    const char *args[7] = { 0 };

    memcpy(args, bad_opts[_i].args, sizeof(bad_opts[_i].args));
    ck_assert_int_eq(parse(&o, args), -1);
    ck_assert_msg(strstr(err, bad_opts[_i].msg), "case %d: expected '%s', got '%s'", _i,
                  bad_opts[_i].msg, err);
}
END_TEST

START_TEST(usage_mentions_every_option)
{
    static const char *const names[] = { "--guest", "--cpus", "--mem", "--bootargs",
        "--timeout", "--config", "--test", "--bench", "--log", "--verbose", "--sandbox",
        "--no-sandbox", "--help", "--version" };

    for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        ck_assert_msg(strstr(vmm_options_usage(), names[i]), "%s missing", names[i]);
}
END_TEST

int check_program(int argc, char **argv, struct check_plan *plan)
{
    if (!check_no_args(argc, argv))
        return CHECK_EXIT_USAGE;
    Suite *s = suite_create("vmm_options");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, uint_good);
    tcase_add_loop_test(tc, uint_bad, 0, sizeof(bad_uints) / sizeof(bad_uints[0]));
    tcase_add_loop_test(tc, size_good, 0, sizeof(good_sizes) / sizeof(good_sizes[0]));
    tcase_add_loop_test(tc, size_bad, 0, sizeof(bad_sizes) / sizeof(bad_sizes[0]));
    tcase_add_test(tc, size_format);
    tcase_add_test(tc, opts_good);
    tcase_add_loop_test(tc, opts_bad, 0, sizeof(bad_opts) / sizeof(bad_opts[0]));
    tcase_add_test(tc, usage_mentions_every_option);
    suite_add_tcase(s, tc);
    check_plan_add(plan, s);
    return CHECK_RUN;
}
