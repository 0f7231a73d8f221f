/* Unit tests: configs/NAME.cfg loading (vmm/config.c). Files are written to
 * a temporary directory; every malformed form must name file, line,
 * section and key. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_main.h"
#include "config.h"
#include "abi/vmm.h"

static char dir[] = "/tmp/vmm_config_test.XXXXXX";
static char err[512];

static const char *write_cfg(const char *name, const char *text)
{
    static char path[256];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static const char good[] =
    "; comment\n"
    "# another comment\n"
    "[smp-4]\n"
    "guest = default\n"
    "cpus = 4\n"
    "memory = 256M\n"
    "bootargs = scenario=ipi verbose\n"
    "timeout = 20\n"
    "groups = smoke, smp\n"
    "expect = passed\n"
    "\n"
    "[crash]\n"
    "guest = images/k.elf   ; relative to the cfg file\n"
    "expect = guest-crash\n"
    "[abs]\n"
    "guest = /abs/k.elf\n"
    "expect = timeout\n";

START_TEST(load_good)
{
    struct vmm_config cfg;
    const char *path = write_cfg("good.cfg", good);
    const struct vmm_test_entry *e;
    char expect_path[300];

    ck_assert_msg(vmm_config_load(path, &cfg, err, sizeof(err)) == 0, "%s", err);
    ck_assert_uint_eq(cfg.count, 3);
    e = vmm_config_find(&cfg, "smp-4");
    ck_assert_ptr_eq(e, &cfg.entries[0]);
    ck_assert_ptr_null(e->image);
    ck_assert(e->cpus_set);
    ck_assert_uint_eq(e->cpus, 4);
    ck_assert(e->mem_set);
    ck_assert_uint_eq(e->mem, 256ull << 20);
    ck_assert_str_eq(e->bootargs, "scenario=ipi verbose");
    ck_assert_uint_eq(e->timeout_s, 20);
    ck_assert_str_eq(e->groups, "smoke, smp");
    ck_assert_int_eq(e->expect, VMM_EXIT_PASSED);

    e = vmm_config_find(&cfg, "crash");
    ck_assert_ptr_nonnull(e);
    snprintf(expect_path, sizeof(expect_path), "%s/images/k.elf", dir);
    ck_assert_str_eq(e->image, expect_path);
    ck_assert(!e->cpus_set && !e->mem_set && !e->timeout_set);
    ck_assert_ptr_null(e->bootargs);
    ck_assert_int_eq(e->expect, VMM_EXIT_GUEST_CRASH);

    e = vmm_config_find(&cfg, "abs");
    ck_assert_str_eq(e->image, "/abs/k.elf");
    ck_assert_int_eq(e->expect, VMM_EXIT_TIMEOUT);
    ck_assert_ptr_null(vmm_config_find(&cfg, "nope"));
    vmm_config_free(&cfg);
    ck_assert_uint_eq(cfg.count, 0);
    vmm_config_free(&cfg);       /* twice is harmless */
}
END_TEST

static const struct { const char *text; const char *msg; } bad[] = {
    { "cpus = 2\n", ":1: cpus: key outside a [section]" },
    { "[a]\nfoo = 1\n", ":2: [a] foo: unknown key" },
    { "[a]\ncpus = 0\n", ":2: [a] cpus: 0 is out of range" },
    { "[a]\ncpus = 65\n", ":2: [a] cpus: 65 is out of range" },
    { "[a]\ncpus = 2x\n", ":2: [a] cpus: '2x' is not a number" },
    { "[a]\ncpus = 2\ncpus = 3\n", ":3: [a] cpus: key given twice" },
    { "[a]\nmemory = 1M\n", ":2: [a] memory: 1 MiB is outside" },
    { "[a]\nmemory = 12Q\n", ":2: [a] memory: '12Q' has an unknown size unit" },
    { "[a]\ntimeout = -3\n", ":2: [a] timeout: '-3' is not a number" },
    { "[a]\ntimeout = 0\n", ":2: [a] timeout: 0 is out of range" },
    { "[a]\nexpect = maybe\n", ":2: [a] expect: 'maybe' is not a status name" },
    { "[a]\ncpus =\n", ":2: [a] cpus: empty value" },
    { "[a]\ngroups = a;b\n", ":2: [a] groups: 'a;b'" },
    { "[a]\ncpus = 1\n[b]\ncpus = 1\n[a]\ncpus = 2\n", ":6: [a]: section appears twice" },
    { "[a]\ncpus = 1\n[a]\nmemory = 32M\n", ":4: [a]: section appears twice" },
    { "[all]\ncpus = 1\n", ":2: [all]: invalid section name" },
    { "[bad name]\ncpus = 1\n", ":2: [bad name]: invalid section name" },
    { "[a]\nthis is not ini\n", ":2: syntax error" },
    { "[a\ncpus = 1\n", ":1: syntax error" },
    { "", "no test entries" },
    { "; only a comment\n[empty]\n", "no test entries" },
    { "[a]\nbootargs = "
      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n",
      ":2: line longer than" },
    { "[a]\ncpus = 1\nexpect = passed\nguest = default\nguest = x\n", ":5: [a] guest: key given twice" },
    /* inih joins an indented line to the value above: it must be named as
     * what it is, not as "key given twice" */
    { "[a]\ncpus = 1\n  memory = 32M\n", ":3: indented line" },
    { "[a]\nbootargs = x\n\tmore\n", ":3: indented line" },
    /* control characters of the file are escaped in the message */
    { "[a]\nexpect = \x1b[2Jgone\n", ":2: [a] expect: '\\x1b[2Jgone' is not a status name" },
};

START_TEST(load_bad)
{
    struct vmm_config cfg;
    const char *path = write_cfg("bad.cfg", bad[_i].text);

    ck_assert_int_eq(vmm_config_load(path, &cfg, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, bad[_i].msg), "case %d: expected '%s', got '%s'", _i,
                  bad[_i].msg, err);
    ck_assert_msg(strncmp(err, path, strlen(path)) == 0, "message does not name the "
                  "file: %s", err);
    ck_assert_uint_eq(cfg.count, 0);
    vmm_config_free(&cfg);
}
END_TEST

START_TEST(load_missing)
{
    struct vmm_config cfg;

    ck_assert_int_eq(vmm_config_load("/nonexistent/x.cfg", &cfg, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "/nonexistent/x.cfg: cannot open"), "%s", err);
}
END_TEST

/* Inputs that are not regular files are refused without blocking (a FIFO)
 * or reading forever (/dev/zero); a directory is named as one. */
START_TEST(load_not_regular)
{
    struct vmm_config cfg;
    char fifo[300];

    ck_assert_int_eq(vmm_config_load(dir, &cfg, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "is a directory"), "%s", err);
    ck_assert_int_eq(vmm_config_load("/dev/zero", &cfg, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "/dev/zero: is a character device"), "%s", err);
    snprintf(fifo, sizeof(fifo), "%s/fifo.cfg", dir);
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    ck_assert_int_eq(vmm_config_load(fifo, &cfg, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "is a FIFO"), "%s", err);
    unlink(fifo);
}
END_TEST

/* A NUL byte would silently cut the value (inih reads C strings). */
START_TEST(load_nul_refused)
{
    static const char text[] = "[a]\nbootargs = one\0two\n";
    struct vmm_config cfg;
    char path[300];
    FILE *f;

    snprintf(path, sizeof(path), "%s/nul.cfg", dir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(text, 1, sizeof(text) - 1, f), sizeof(text) - 1);
    fclose(f);
    ck_assert_int_eq(vmm_config_load(path, &cfg, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, ":2: NUL byte"), "%s", err);
}
END_TEST

/* Removes the scratch directory; false if that failed. */
static bool remove_dir(void)
{
    char cmd[300];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0;
}

int check_program(int argc, char **argv, struct check_plan *plan)
{
    Suite *s = suite_create("vmm_config");
    TCase *tc = tcase_create("core");

    if (!check_no_args(argc, argv))
        return CHECK_EXIT_USAGE;
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return CHECK_EXIT_USAGE;
    }
    tcase_add_test(tc, load_good);
    tcase_add_loop_test(tc, load_bad, 0, sizeof(bad) / sizeof(bad[0]));
    tcase_add_test(tc, load_missing);
    tcase_add_test(tc, load_not_regular);
    tcase_add_test(tc, load_nul_refused);
    suite_add_tcase(s, tc);
    check_plan_add(plan, s);
    plan->cleanup = remove_dir;
    return CHECK_RUN;
}
