/*
 * Unit tests of the sandbox's internals (vmm/sandbox/sandbox_internal.h): lexical
 * paths, shell quoting (checked by a real /bin/sh), option hints, sizes, the
 * loader's library list, the console protocol, the cpio writer/extractor,
 * input collection and the inner command.
 */
#define _GNU_SOURCE
#include "sandbox_internal.h"

#include <check.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_main.h"

static char *path_abs(const char *base, const char *p)
{
    char *r = sbx_path_absolute(base, p);
    ck_assert_ptr_nonnull(r);
    return r;
}

#define CHECK_ABS(base, p, want)                                                    \
    do {                                                                            \
        char *got_ = path_abs(base, p);                                             \
        ck_assert_str_eq(got_, want);                                               \
        free(got_);                                                                 \
    } while (0)

START_TEST(path_absolute_normalises)
{
    CHECK_ABS("/work", "a/b", "/work/a/b");
    CHECK_ABS("/work", "/etc//passwd", "/etc/passwd");
    CHECK_ABS("/work/x", "../y/./z", "/work/y/z");
    CHECK_ABS("/", "../../..", "/");
    CHECK_ABS("/a/b", "..", "/a");
    CHECK_ABS("/a/b/", ".", "/a/b");
    CHECK_ABS("/", ".", "/");
    ck_assert_ptr_null(sbx_path_absolute("relative", "x"));
}
END_TEST

/* Quoted text, evaluated by /bin/sh, must come back byte for byte. */
static void check_quote_roundtrip(const char *s)
{
    char *q = sbx_shell_quote(s);
    ck_assert_ptr_nonnull(q);
    char script[4096];
    snprintf(script, sizeof script, "printf '%%s' %s", q);
    free(q);
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(fds[1], 1);
        execl("/bin/sh", "sh", "-c", script, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    char buf[4096];
    size_t len = 0;
    ssize_t n;
    while ((n = read(fds[0], buf + len, sizeof buf - 1 - len)) > 0)
        len += (size_t)n;
    close(fds[0]);
    buf[len] = '\0';
    int status;
    waitpid(pid, &status, 0);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ck_assert_str_eq(buf, s);
}

START_TEST(shell_quote_survives_sh)
{
    const char *cases[] = {"", "plain", "two words", "it's", "''", "$HOME", "`id`",
                           "a\\b", "*", "x\"y", ";echo hi", "new\nline", "'\\''"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_quote_roundtrip(cases[i]);
}
END_TEST

/* L1's RAM follows the plan's largest guest: a 3 GiB guest touching all
 * of its RAM must fit (the OOM killer once ended the inner vmm with 137). */
START_TEST(l1_memory_from_plan)
{
    ck_assert_uint_eq(sbx_l1_mem_mib(128ull << 20, 0), 1024);       /* the floor */
    ck_assert_uint_gt(sbx_l1_mem_mib(3ull << 30, 0), 3072 + 256);   /* guest + L1 itself */
    ck_assert_uint_ge(sbx_l1_mem_mib(3ull << 30, 100ull << 20),
                      sbx_l1_mem_mib(3ull << 30, 0) + 200);          /* inputs twice */
    ck_assert_uint_gt(sbx_l1_mem_mib((2ull << 30) + 1, 0), sbx_l1_mem_mib(2ull << 30, 0));
}
END_TEST

START_TEST(size_parsing)
{
    uint64_t m = 0;
    ck_assert(sbx_parse_size_mib("512M", &m) && m == 512);
    ck_assert(sbx_parse_size_mib("2G", &m) && m == 2048);
    ck_assert(sbx_parse_size_mib("1K", &m) && m == 1);             /* rounded up */
    ck_assert(sbx_parse_size_mib("1048576", &m) && m == 1);
    ck_assert(sbx_parse_size_mib("3GiB", &m) && m == 3072);
    ck_assert(!sbx_parse_size_mib("", &m));
    ck_assert(!sbx_parse_size_mib("-1M", &m));
    ck_assert(!sbx_parse_size_mib("12X", &m));
    ck_assert(!sbx_parse_size_mib("1M2", &m));
    ck_assert(!sbx_parse_size_mib("99999999999999999999G", &m));
    ck_assert(!sbx_parse_size_mib(NULL, &m));
}
END_TEST

START_TEST(ldd_lines)
{
    struct sbx_err e;
    char *p = NULL;
    ck_assert_int_eq(sbx_parse_ldd_line("\tlinux-vdso.so.1 (0x00007ffd1b3f2000)\n", &p, &e), 0);
    ck_assert_ptr_null(p);
    ck_assert_int_eq(sbx_parse_ldd_line(
        "\tlibfdt.so.1 => /lib/x86_64-linux-gnu/libfdt.so.1 (0x00007f0e1c5a0000)\n", &p, &e), 1);
    ck_assert_str_eq(p, "/lib/x86_64-linux-gnu/libfdt.so.1");
    free(p);
    ck_assert_int_eq(sbx_parse_ldd_line("\t/lib64/ld-linux-x86-64.so.2 (0x00007f0e1c7c0000)\n",
                                        &p, &e), 1);
    ck_assert_str_eq(p, "/lib64/ld-linux-x86-64.so.2");
    free(p);
    ck_assert_int_eq(sbx_parse_ldd_line("\tlibgone.so.3 => not found\n", &p, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "libgone.so.3"));
}
END_TEST

START_TEST(console_protocol)
{
    struct sbx_console c = {0};
    ck_assert_int_eq(sbx_console_feed(&c, "[    1.0] random kernel line"), SBX_LINE_NOISE);
    ck_assert_int_eq(sbx_console_feed(&c, "VMM-SANDBOX: init"), SBX_LINE_INIT);
    ck_assert(c.init_seen && !c.ready_seen);
    /* A kernel message may be glued in front of a marker. */
    ck_assert_int_eq(sbx_console_feed(&c, "[ 2.0] xyz VMM-SANDBOX: ready"), SBX_LINE_READY);
    ck_assert_int_eq(sbx_console_feed(&c, "VMM-SANDBOX: warning disk"), SBX_LINE_WARNING);
    ck_assert_int_eq(sbx_console_feed(&c, "VMM-SANDBOX: future-thing"), SBX_LINE_NOISE);
    ck_assert(!c.exit_seen && !c.error_seen);
    ck_assert_int_eq(sbx_console_feed(&c, "VMM-SANDBOX: exit 3"), SBX_LINE_EXIT);
    ck_assert(c.exit_seen);
    ck_assert_int_eq(c.exit_status, 3);

    struct sbx_console d = {0};
    ck_assert_int_eq(sbx_console_feed(&d, "VMM-SANDBOX: exit 300"), SBX_LINE_ERROR);
    ck_assert(!d.exit_seen && d.error_seen);
    ck_assert_int_eq(sbx_console_feed(&d, "VMM-SANDBOX: exit 1x"), SBX_LINE_ERROR);
    ck_assert_int_eq(sbx_console_feed(&d, "VMM-SANDBOX: error /dev/kvm missing"), SBX_LINE_ERROR);
    ck_assert_str_eq(d.error, "/dev/kvm missing");
}
END_TEST

/* What a relay emitted: every chunk, in order, each ended by '|'. */
struct emitted {
    char text[16384];
    size_t len;
    unsigned chunks;
};

static void record_chunk(void *ctx, const char *p, size_t n)
{
    struct emitted *e = ctx;
    ck_assert_uint_lt(e->len + n + 1, sizeof e->text);
    memcpy(e->text + e->len, p, n);
    e->len += n;
    e->text[e->len++] = '|';
    e->text[e->len] = '\0';
    e->chunks++;
}

static void feed_str(struct sbx_relay *r, const char *s, struct emitted *e)
{
    sbx_relay_feed(r, s, strlen(s), record_chunk, e);
}

/* Pieces of any size come out as whole lines; an unfinished line waits for
 * its end or the flush; a line longer than the buffer goes out in parts. */
START_TEST(relay_emits_whole_lines)
{
    struct sbx_relay r = {0};
    struct emitted e = {0};
    feed_str(&r, "PASS a: pas", &e);
    ck_assert_uint_eq(e.chunks, 0);
    feed_str(&r, "sed\nPASS b", &e);
    ck_assert_str_eq(e.text, "PASS a: passed\n|");
    feed_str(&r, ": ok\nx\ny\nz", &e);
    ck_assert_str_eq(e.text, "PASS a: passed\n|PASS b: ok\n|x\n|y\n|");
    sbx_relay_flush(&r, record_chunk, &e);
    ck_assert_str_eq(e.text, "PASS a: passed\n|PASS b: ok\n|x\n|y\n|z|");
    unsigned before = e.chunks;
    sbx_relay_flush(&r, record_chunk, &e);  /* nothing left: nothing emitted */
    ck_assert_uint_eq(e.chunks, before);

    /* 5000 bytes and a newline: one full buffer, then the rest with it. */
    struct emitted big = {0};
    char line[5001];
    memset(line, 'q', 5000);
    line[5000] = '\n';
    sbx_relay_feed(&r, line, sizeof line, record_chunk, &big);
    ck_assert_uint_eq(big.chunks, 2);
    ck_assert_uint_eq(big.len, sizeof line + 2);
    ck_assert_int_eq(big.text[sizeof r.buf], '|');
    ck_assert_int_eq(big.text[big.len - 2], '\n');
    ck_assert_uint_eq(r.len, 0);
}
END_TEST

static char tmpdir[256];

static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof tmpdir, "%s/sbx-unit.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void remove_tmpdir(void)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    char *buf = malloc(1 << 20);
    *len = fread(buf, 1, (1 << 20) - 1, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

START_TEST(cpio_roundtrip)
{
    make_tmpdir();
    char src[512], img[512], root[512];
    snprintf(src, sizeof src, "%s/src.bin", tmpdir);
    snprintf(img, sizeof img, "%s/img", tmpdir);
    snprintf(root, sizeof root, "%s/root", tmpdir);
    ck_assert_int_eq(mkdir(root, 0755), 0);
    FILE *f = fopen(src, "wb");
    for (int i = 0; i < 70000; i++)        /* not a multiple of 4, > 64 KiB */
        fputc(i * 7 % 251, f);
    fclose(f);
    chmod(src, 0751);

    struct sbx_err e;
    FILE *out = fopen(img, "wb");
    struct sbx_cpio_writer w;
    sbx_cpio_init(&w, out);
    ck_assert_int_eq(sbx_cpio_add_dir(&w, "/d/empty", &e), 0);
    ck_assert_int_eq(sbx_cpio_add_file(&w, "/a/b/c.bin", src, &e), 0);
    ck_assert_int_eq(sbx_cpio_add_data(&w, "/a/x.txt", "hello", 5, 0644, &e), 0);
    ck_assert_int_eq(sbx_cpio_finish(&w, &e), 0);
    ck_assert_int_eq(w.off % 4, 0);
    fclose(out);

    struct sbx_strv written = {0};
    ck_assert_msg(sbx_cpio_extract(img, root, &written, &e) == 0, "%s", e.msg);
    ck_assert_uint_eq(written.n, 2);      /* directories are not "written" */
    char p[600];
    size_t la, lb;
    snprintf(p, sizeof p, "%s/a/b/c.bin", root);
    char *a = slurp(src, &la), *b = slurp(p, &lb);
    ck_assert_uint_eq(la, lb);
    ck_assert_int_eq(memcmp(a, b, la), 0);
    struct stat st;
    ck_assert_int_eq(stat(p, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0751);
    free(a);
    free(b);
    snprintf(p, sizeof p, "%s/a/x.txt", root);
    b = slurp(p, &lb);
    ck_assert_str_eq(b, "hello");
    free(b);
    sbx_strv_free(&written);
    remove_tmpdir();
}
END_TEST

/* Writes a one-entry newc archive naming `name` by hand. */
static void write_archive(const char *img, const char *name, const char *data)
{
    FILE *f = fopen(img, "wb");
    fprintf(f, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X", 1u, 0100644u,
            0u, 0u, 1u, 0u, (unsigned)strlen(data), 0u, 0u, 0u, 0u, (unsigned)strlen(name) + 1, 0u);
    fputs(name, f);
    fputc(0, f);
    while (ftell(f) % 4)
        fputc(0, f);
    fputs(data, f);
    fclose(f);
}

START_TEST(cpio_extract_refuses_bad_input)
{
    make_tmpdir();
    char img[512], root[512];
    snprintf(img, sizeof img, "%s/img", tmpdir);
    snprintf(root, sizeof root, "%s/root", tmpdir);
    ck_assert_int_eq(mkdir(root, 0755), 0);
    struct sbx_err e;

    write_archive(img, "../escape", "x");
    ck_assert_int_eq(sbx_cpio_extract(img, root, NULL, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "refusing"));
    char p[600];
    snprintf(p, sizeof p, "%s/escape", tmpdir);
    ck_assert_int_ne(access(p, F_OK), 0);

    write_archive(img, "a/../../escape", "x");
    ck_assert_int_eq(sbx_cpio_extract(img, root, NULL, &e), -1);

    write_archive(img, "ok.txt", "data");  /* no trailer: truncated */
    ck_assert_int_eq(sbx_cpio_extract(img, root, NULL, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "truncated"));

    FILE *f = fopen(img, "wb");            /* not an archive */
    fputs("070709", f);
    for (int i = 0; i < 200; i++)
        fputc('g', f);
    fclose(f);
    ck_assert_int_eq(sbx_cpio_extract(img, root, NULL, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "magic"));

    int fd = open(img, O_WRONLY | O_TRUNC);  /* all zeros: nothing came back */
    ck_assert_int_eq(ftruncate(fd, 8192), 0);
    close(fd);
    ck_assert_int_eq(sbx_cpio_extract(img, root, NULL, &e), 0);
    remove_tmpdir();
}
END_TEST

START_TEST(inputs_are_what_the_caller_names)
{
    make_tmpdir();
    char cfg[700], guest[700], cwd[512], outdir[600], gdir[600], named[700];
    snprintf(cwd, sizeof cwd, "%s/cwd", tmpdir);
    snprintf(outdir, sizeof outdir, "%s/out", tmpdir);
    snprintf(cfg, sizeof cfg, "%s/suite.cfg", cwd);
    snprintf(gdir, sizeof gdir, "%s/guests", tmpdir);
    snprintf(guest, sizeof guest, "%s/g.elf", gdir);
    snprintf(named, sizeof named, "%s/named-in-cfg.elf", gdir);
    ck_assert_int_eq(mkdir(cwd, 0755), 0);
    ck_assert_int_eq(mkdir(outdir, 0755), 0);
    ck_assert_int_eq(mkdir(gdir, 0755), 0);
    FILE *f = fopen(guest, "wb");
    fputs("\177ELF\0binary", f);
    fclose(f);
    f = fopen(named, "wb");
    fputs("x", f);
    fclose(f);
    f = fopen(cfg, "w");                   /* its contents are not read */
    fprintf(f, "[one]\nguest = ../guests/named-in-cfg.elf\n");
    fclose(f);

    const char *inputs[] = {"suite.cfg", guest};       /* relative to cwd, absolute */
    const char *outdirs[] = {"../out"};
    char exe[512];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    ck_assert_int_gt(n, 0);
    exe[n] = '\0';
    struct sbx_inputs in;
    struct sbx_err e;
    ck_assert_msg(sbx_collect_inputs(exe, inputs, 2, outdirs, 1, cwd, &in, &e) == 0, "%s",
                  e.msg);
    ck_assert(sbx_strv_contains(&in.files, exe));
    ck_assert(sbx_strv_contains(&in.files, cfg));
    ck_assert(sbx_strv_contains(&in.files, guest));
    ck_assert(!sbx_strv_contains(&in.files, named));  /* nothing guessed from contents */
    ck_assert(sbx_strv_contains(&in.dirs, cwd));
    ck_assert(sbx_strv_contains(&in.dirs, outdir));
    ck_assert_uint_gt(in.libdirs.n, 0);               /* a dynamic executable */
    bool has_libc = false;
    for (size_t i = 0; i < in.files.n; i++)
        has_libc |= strstr(in.files.v[i], "/libc.so") != NULL;
    ck_assert(has_libc);
    sbx_inputs_free(&in);

    /* A named input that is missing or not a regular file is an error. */
    const char *missing[] = {"nope.cfg"}, *dev[] = {"/dev/null"};
    ck_assert_int_eq(sbx_collect_inputs(exe, missing, 1, NULL, 0, cwd, &in, &e), -1);
    ck_assert_msg(strstr(e.msg, "nope.cfg") && strstr(e.msg, "No such file"), "%s", e.msg);
    sbx_inputs_free(&in);
    ck_assert_int_eq(sbx_collect_inputs(exe, dev, 1, NULL, 0, cwd, &in, &e), -1);
    ck_assert_msg(strstr(e.msg, "/dev/null") && strstr(e.msg, "not a regular file"), "%s",
                  e.msg);
    sbx_inputs_free(&in);
    remove_tmpdir();
}
END_TEST

START_TEST(inner_command)
{
    char *argv[] = {"vmm", "--guest", "it's", "--bootargs", "--sandbox", "--no-sandbox", NULL};
    char *envp[] = {"ASAN_OPTIONS=detect_leaks=0", "HOME=/root", "VMM_SANDBOX_MEM=2G",
                    "VMM_FOO=a b", "CK_FORK=no", "1BAD=x", NULL};
    struct sbx_strv libdirs = {0};
    struct sbx_err e;
    ck_assert_int_eq(sbx_strv_push(&libdirs, "/lib/x86_64-linux-gnu", &e), 0);
    char *cmd = sbx_build_cmd("/b/vmm", 6, argv, "/work dir", &libdirs, envp);
    ck_assert_ptr_nonnull(cmd);
    ck_assert_ptr_nonnull(strstr(cmd, "export ASAN_OPTIONS='detect_leaks=0'\n"));
    ck_assert_ptr_nonnull(strstr(cmd, "export VMM_FOO='a b'\n"));
    ck_assert_ptr_nonnull(strstr(cmd, "export CK_FORK='no'\n"));
    ck_assert_ptr_null(strstr(cmd, "HOME"));
    ck_assert_ptr_null(strstr(cmd, "VMM_SANDBOX_MEM"));
    ck_assert_ptr_null(strstr(cmd, "1BAD"));
    ck_assert_ptr_nonnull(strstr(cmd, "export LD_LIBRARY_PATH='/lib/x86_64-linux-gnu'\n"));
    ck_assert_ptr_nonnull(strstr(cmd, "cd '/work dir' ||"));
    /* The caller's command line, verbatim (a --sandbox that is a value stays). */
    ck_assert_ptr_nonnull(strstr(cmd,
        "exec '/b/vmm' '--guest' 'it'\\''s' '--bootargs' '--sandbox' '--no-sandbox'\n"));
    free(cmd);
    sbx_strv_free(&libdirs);
}
END_TEST

CHECK_PROGRAM_ONE_TCASE("sandbox", "internals", CHECK_TIMEOUT_DEFAULT,
                        path_absolute_normalises, shell_quote_survives_sh, l1_memory_from_plan,
                        size_parsing, ldd_lines, console_protocol, relay_emits_whole_lines,
                        cpio_roundtrip,
                        cpio_extract_refuses_bad_input, inputs_are_what_the_caller_names,
                        inner_command)
