/* Unit tests: hypercall argument validation and actions against a plain
 * buffer standing in for guest RAM (vmm/hypercall.c), with hostile values;
 * and the console / COM1 model (vmm/console.c, vmm/uart.c), whose output
 * is captured through the log file. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "console.h"
#include "hypercall.h"
#include "pio_insn.h"
#include "out.h"
#include "uart.h"
#include "abi/vmm.h"

#define MEM (1ull << 20)

static uint8_t *ram;
static struct vmm_console con;
static struct vmm_hc_ctx ctx;
static FILE *log_file;

static void setup(void)
{
    ram = calloc(1, MEM);
    log_file = tmpfile();
    ck_assert_ptr_nonnull(ram);
    ck_assert_ptr_nonnull(log_file);
    vmm_out_set_log(log_file);
    ck_assert_int_eq(vmm_console_init(&con, 2, true, false), 0);
    ctx = (struct vmm_hc_ctx){ .ram = ram, .mem_size = MEM, .cpus = 2, .console = &con };
}

static void teardown(void)
{
    vmm_console_destroy(&con);
    vmm_out_set_log(NULL);
    fclose(log_file);
    free(ram);
}

/* Everything printed so far (stdout and stderr lines). */
static const char *logged(void)
{
    static char text[8192];
    size_t n;

    fflush(log_file);
    rewind(log_file);
    n = fread(text, 1, sizeof(text) - 1, log_file);
    text[n] = '\0';
    return text;
}

static struct vmm_hc_result call(unsigned cpu, uint64_t nr, uint64_t a0, uint64_t a1,
                                 uint64_t a2, uint64_t a3, uint64_t a4)
{
    struct vmm_hc_call c = { cpu, nr, { a0, a1, a2, a3, a4 } };
    struct vmm_hc_result r;

    vmm_hc_dispatch(&ctx, &c, &r);
    return r;
}

static const struct { uint64_t addr, len; int ok; } ranges[] = {
    { 0, 0, 1 }, { 0, 1, 1 }, { 0, VMM_HC_MAX_LEN, 1 }, { MEM - 1, 1, 1 },
    { MEM - VMM_HC_MAX_LEN, VMM_HC_MAX_LEN, 1 }, { MEM - 1, 0, 1 },
    { MEM, 0, 0 },                          /* addr = mem_size, even empty */
    { MEM, 1, 0 }, { MEM - 1, 2, 0 },       /* runs past the end */
    { 0, VMM_HC_MAX_LEN + 1, 0 },           /* too long */
    { 0, UINT64_MAX, 0 },
    { UINT64_MAX, 1, 0 }, { UINT64_MAX, 0, 0 },
    { UINT64_MAX - 15, 32, 0 },             /* wraps around to low RAM */
    { 1ull << 63, 16, 0 },
    { MEM - 16, UINT64_MAX - MEM + 32, 0 }, /* addr + len wraps */
};

START_TEST(check_range)
{
    int rc = vmm_hc_check_range(ranges[_i].addr, ranges[_i].len, MEM);

    ck_assert_msg(rc == (ranges[_i].ok ? 0 : -VMM_EINVAL), "case %d: [0x%llx, +0x%llx) -> %d",
                  _i, (unsigned long long)ranges[_i].addr,
                  (unsigned long long)ranges[_i].len, rc);
}
END_TEST

START_TEST(print_good_and_hostile)
{
    struct vmm_hc_result r;

    memcpy(ram + 0x100, "hello\n", 6);
    r = call(1, VMM_HC_PRINT, 0x100, 6, 0, 0, 0);
    ck_assert_int_eq(r.ret, 0);
    ck_assert(!r.stop);
    ck_assert_ptr_nonnull(strstr(logged(), "[cpu1] hello\n"));
    r = call(0, VMM_HC_PRINT, UINT64_MAX - 2, 16, 0, 0, 0);
    ck_assert_int_eq(r.ret, -VMM_EINVAL);
    r = call(0, VMM_HC_PRINT, MEM, 0, 0, 0, 0);
    ck_assert_int_eq(r.ret, -VMM_EINVAL);
    r = call(0, VMM_HC_PRINT, 0, VMM_HC_MAX_LEN + 1, 0, 0, 0);
    ck_assert_int_eq(r.ret, -VMM_EINVAL);
    r = call(0, VMM_HC_PRINT, MEM - 4, 8, 0, 0, 0);
    ck_assert_int_eq(r.ret, -VMM_EINVAL);
    ck_assert_uint_eq(ctx.bad_calls, 4);
    ck_assert_ptr_nonnull(strstr(logged(), "hypercall print: bad buffer [0xfffffffffffffffd, "
                                           "+0x10): wraps around the address space"));
    ck_assert_ptr_nonnull(strstr(logged(), "bad buffer [0x100000, +0x0): starts outside"));
    ck_assert_ptr_nonnull(strstr(logged(), "+0x1001): longer than VMM_HC_MAX_LEN"));
    ck_assert_ptr_nonnull(strstr(logged(), "[0xffffc, +0x8): ends beyond guest RAM"));
}
END_TEST

START_TEST(unknown_numbers)
{
    ck_assert_int_eq(call(0, 0, 0, 0, 0, 0, 0).ret, -VMM_ENOSYS);
    ck_assert_int_eq(call(0, 99, 0, 0, 0, 0, 0).ret, -VMM_ENOSYS);
    ck_assert_int_eq(call(0, 0xffffffffull, 0, 0, 0, 0, 0).ret, -VMM_ENOSYS);
    /* the number is eax: upper bits of rax are ignored */
    memcpy(ram, "x", 1);
    ck_assert_int_eq(call(0, (1ull << 32) | VMM_HC_PRINT, 0, 1, 0, 0, 0).ret, 0);
    ck_assert_uint_eq(ctx.bad_calls, 3);   /* the three unknown numbers */
}
END_TEST

START_TEST(exit_statuses)
{
    struct vmm_hc_result r = call(0, VMM_HC_EXIT, 0, 0, 0, 0, 0);

    ck_assert(r.stop);
    ck_assert_int_eq(r.status, VMM_EXIT_PASSED);
    r = call(0, VMM_HC_EXIT, 7, 0, 0, 0, 0);
    ck_assert(r.stop);
    ck_assert_int_eq(r.status, VMM_EXIT_GUEST_FAILED);
    r = call(0, VMM_HC_EXIT, UINT64_MAX, 0, 0, 0, 0);
    ck_assert_int_eq(r.status, VMM_EXIT_GUEST_FAILED);
}
END_TEST

START_TEST(test_results)
{
    struct vmm_hc_result r;

    memcpy(ram + 0x200, "smp\x1b[2J", 7);
    ck_assert_int_eq(call(0, VMM_HC_TEST_RESULT, 0x200, 7, 1, 0, 0).ret, 0);
    ck_assert_uint_eq(ctx.tests_passed, 1);
    /* guest text is escaped: no terminal control sequence gets through */
    ck_assert_ptr_nonnull(strstr(logged(), "guest test smp\\x1b[2J: passed"));
    ck_assert_int_eq(call(0, VMM_HC_TEST_RESULT, 0x200, 3, 2, 0, 0).ret, -VMM_EINVAL);
    ck_assert_int_eq(call(0, VMM_HC_TEST_RESULT, MEM - 1, 3, 1, 0, 0).ret, -VMM_EINVAL);
    ck_assert_int_eq(call(0, VMM_HC_TEST_RESULT, 0x200, 3, 0, 0, 0).ret, 0);
    ck_assert_uint_eq(ctx.tests_failed, 1);
    /* a message of CPU 0 must not cut the line CPU 1 is writing */
    vmm_console_write(&con, 1, (const uint8_t *)"half", 4);
    ck_assert_int_eq(call(0, VMM_HC_TEST_RESULT, 0x200, 3, 1, 0, 0).ret, 0);
    ck_assert_ptr_null(strstr(logged(), "[cpu1] half"));
    vmm_console_write(&con, 1, (const uint8_t *)" whole\n", 7);
    ck_assert_ptr_nonnull(strstr(logged(), "[cpu1] half whole\n"));
    /* exit(0) after a failed test is a failure */
    r = call(0, VMM_HC_EXIT, 0, 0, 0, 0, 0);
    ck_assert(r.stop);
    ck_assert_int_eq(r.status, VMM_EXIT_GUEST_FAILED);
}
END_TEST

START_TEST(assert_fail)
{
    struct vmm_hc_result r;

    memcpy(ram + 0x300, "kern.c", 6);
    memcpy(ram + 0x400, "x == 1", 6);
    r = call(1, VMM_HC_ASSERT_FAIL, 0x300, 6, 42, UINT64_MAX - 3, 6);
    ck_assert_int_eq(r.ret, -VMM_EINVAL);
    ck_assert(!r.stop);
    r = call(1, VMM_HC_ASSERT_FAIL, 0x300, VMM_HC_MAX_LEN + 1, 42, 0x400, 6);
    ck_assert_int_eq(r.ret, -VMM_EINVAL);
    ck_assert(!r.stop);
    r = call(1, VMM_HC_ASSERT_FAIL, 0x300, 6, 42, 0x400, 6);
    ck_assert_int_eq(r.ret, 0);
    ck_assert(r.stop);
    ck_assert_int_eq(r.status, VMM_EXIT_GUEST_FAILED);
    ck_assert_ptr_nonnull(strstr(logged(), "assertion failed at kern.c:42: x == 1"));
}
END_TEST

/* The report's cpu field is the guest's claim: the CPU named is the vCPU
 * that made the call. */
START_TEST(exception_report_cpu_from_vmm)
{
    struct vmm_exception_report rep = { .vector = 13, .cpu = 7 };
    struct vmm_hc_result r;

    memcpy(ram + 0x1000, &rep, sizeof(rep));
    r = call(0, VMM_HC_EXCEPTION, 0x1000, sizeof(rep), 0, 0, 0);
    ck_assert_int_eq(r.ret, 0);
    ck_assert_msg(strstr(logged(), "on guest CPU 0 (the report's cpu field says 7)"), "%s",
                  logged());
    ck_assert_ptr_null(strstr(logged(), "on guest CPU 7"));
}
END_TEST

/* OUT is a hypercall, OUTS (even REP OUTS with a count of 1) is not: the
 * VMM tells them apart by the instruction's bytes. */
START_TEST(pio_instruction_kinds)
{
    static const uint8_t out_dx[] = { 0xef }, out_imm[] = { 0xe7, 0x80 },
        outsl[] = { 0x6f }, rep_outsl[] = { 0xf3, 0x6f }, rep_rex_outs[] = { 0xf3, 0x48, 0x6f },
        seg_outs[] = { 0x2e, 0x66, 0x6e }, insb[] = { 0x6c }, rex_out[] = { 0x40, 0xef },
        nop[] = { 0x90 }, prefixes_only[] = { 0x66, 0xf3 };

    ck_assert_int_eq(vmm_pio_classify(out_dx, sizeof(out_dx), true), VMM_PIO_PLAIN);
    ck_assert_int_eq(vmm_pio_classify(out_imm, sizeof(out_imm), false), VMM_PIO_PLAIN);
    ck_assert_int_eq(vmm_pio_classify(rex_out, sizeof(rex_out), true), VMM_PIO_PLAIN);
    ck_assert_int_eq(vmm_pio_classify(outsl, sizeof(outsl), true), VMM_PIO_STRING);
    ck_assert_int_eq(vmm_pio_classify(rep_outsl, sizeof(rep_outsl), true), VMM_PIO_STRING);
    ck_assert_int_eq(vmm_pio_classify(rep_rex_outs, sizeof(rep_rex_outs), true), VMM_PIO_STRING);
    ck_assert_int_eq(vmm_pio_classify(seg_outs, sizeof(seg_outs), false), VMM_PIO_STRING);
    ck_assert_int_eq(vmm_pio_classify(insb, sizeof(insb), false), VMM_PIO_STRING);
    /* 0x48 is DEC EAX outside 64-bit code, not a prefix */
    ck_assert_int_eq(vmm_pio_classify(rep_rex_outs, sizeof(rep_rex_outs), false),
                     VMM_PIO_UNKNOWN);
    ck_assert_int_eq(vmm_pio_classify(nop, sizeof(nop), true), VMM_PIO_UNKNOWN);
    ck_assert_int_eq(vmm_pio_classify(prefixes_only, sizeof(prefixes_only), true),
                     VMM_PIO_UNKNOWN);
    ck_assert_int_eq(vmm_pio_classify(outsl, 0, true), VMM_PIO_UNKNOWN);
}
END_TEST

START_TEST(exception_report)
{
    struct vmm_exception_report rep = { .vector = 14, .error_code = 2, .rip = 0xffff800000101234,
                                        .cr2 = 0xdead000, .cr3 = 0x5000, .cpu = 1 };
    struct vmm_hc_result r;

    memcpy(ram + 0x1000, &rep, sizeof(rep));
    r = call(1, VMM_HC_EXCEPTION, 0x1000, sizeof(rep) - 1, 0, 0, 0);
    ck_assert_int_eq(r.ret, -VMM_EINVAL);
    r = call(1, VMM_HC_EXCEPTION, MEM - 8, sizeof(rep), 0, 0, 0);
    ck_assert_int_eq(r.ret, -VMM_EINVAL);
    ck_assert(!r.stop);
    r = call(1, VMM_HC_EXCEPTION, 0x1000, sizeof(rep), 0, 0, 0);
    ck_assert_int_eq(r.ret, 0);
    ck_assert(r.stop);
    ck_assert_int_eq(r.status, VMM_EXIT_GUEST_CRASH);
    ck_assert_ptr_nonnull(strstr(logged(), "unhandled exception #PF (vector 14)"));
    ck_assert_ptr_nonnull(strstr(logged(), "on guest CPU 1, error code 0x2"));
    ck_assert_ptr_nonnull(strstr(logged(), "RIP=ffff800000101234"));
    ck_assert_ptr_nonnull(strstr(logged(), "CR2=000000000dead000"));
    ck_assert_ptr_nonnull(strstr(logged(), "CR3=0000000000005000"));
    ck_assert_str_eq(vmm_exception_name(13), "#GP");
    ck_assert_str_eq(vmm_exception_name(15), "vector");
    ck_assert_str_eq(vmm_exception_name(UINT64_MAX), "vector");
}
END_TEST

START_TEST(cpu_online)
{
    ck_assert_int_eq(call(0, VMM_HC_CPU_ONLINE, 0, 0, 0, 0, 0).ret, 0);
    ck_assert(ctx.cpu0_online);
    ck_assert_int_eq(call(1, VMM_HC_CPU_ONLINE, 1, 1, 0, 0, 0).ret, 0);
    ck_assert_uint_eq(ctx.online_mask, 3);
    ck_assert_int_eq(call(1, VMM_HC_CPU_ONLINE, 2, 2, 0, 0, 0).ret, -VMM_EINVAL);
    ck_assert_int_eq(call(1, VMM_HC_CPU_ONLINE, 0, 0, 0, 0, 0).ret, -VMM_EINVAL); /* not itself */
    ck_assert_int_eq(call(1, VMM_HC_CPU_ONLINE, 1, 5, 0, 0, 0).ret, -VMM_EINVAL);
    ck_assert_int_eq(call(1, VMM_HC_CPU_ONLINE, UINT64_MAX, 0, 0, 0, 0).ret, -VMM_EINVAL);
    ck_assert_uint_eq(ctx.online_mask, 3);
}
END_TEST

START_TEST(console_lines)
{
    char long_line[VMM_CONSOLE_LINE + 10];

    vmm_console_write(&con, 0, (const uint8_t *)"ab", 2);
    vmm_console_write(&con, 1, (const uint8_t *)"xy\r\n", 4);
    vmm_console_write(&con, 0, (const uint8_t *)"c\x07\n", 3);
    ck_assert_ptr_nonnull(strstr(logged(), "[cpu1] xy\n[cpu0] abc\\x07\n"));
    memset(long_line, 'L', sizeof(long_line));
    vmm_console_write(&con, 0, (const uint8_t *)long_line, sizeof(long_line));
    vmm_console_write(&con, 1, (const uint8_t *)"tail", 4);
    vmm_console_flush(&con);
    ck_assert_ptr_nonnull(strstr(logged(), "[cpu1] tail\n"));
    ck_assert_ptr_nonnull(strstr(logged(), "LLLLLLLLLL\n"));
    /* an out-of-range CPU index is ignored, not a crash */
    vmm_console_write(&con, 99, (const uint8_t *)"z\n", 2);
}
END_TEST

START_TEST(sanitize)
{
    char out[16];

    ck_assert_str_eq(vmm_sanitize((const uint8_t *)"a\nb", 3, out, sizeof(out)), "a\\x0ab");
    ck_assert_str_eq(vmm_sanitize((const uint8_t *)"0123456789abcdefgh", 18, out,
                                  sizeof(out)), "0123456789ab...");
    ck_assert_str_eq(vmm_sanitize((const uint8_t *)"0123456789abcde", 15, out,
                                  sizeof(out)), "0123456789abcde");
    ck_assert_str_eq(vmm_sanitize((const uint8_t *)"", 0, out, sizeof(out)), "");
}
END_TEST

START_TEST(uart_registers)
{
    struct vmm_uart u = { .console = &con };
    uint8_t v;

    ck_assert(vmm_uart_owns(0x3f8) && vmm_uart_owns(0x3ff));
    ck_assert(!vmm_uart_owns(0x3f7) && !vmm_uart_owns(0x400));
    vmm_uart_access(&u, 0, 0x3fd, false, &v);
    ck_assert_uint_eq(v, 0x60);
    vmm_uart_access(&u, 0, 0x3fa, false, &v);
    ck_assert_uint_eq(v, 0x01);
    /* divisor latch: bytes written to 0x3f8 with DLAB=1 are not text */
    v = 0x80;
    vmm_uart_access(&u, 0, 0x3fb, true, &v);
    v = 0x01;
    vmm_uart_access(&u, 0, 0x3f8, true, &v);
    v = 0x03;
    vmm_uart_access(&u, 0, 0x3fb, true, &v);
    vmm_uart_access(&u, 0, 0x3fb, false, &v);
    ck_assert_uint_eq(v, 0x03);
    for (const char *p = "ok\n"; *p; p++) {
        v = (uint8_t)*p;
        vmm_uart_access(&u, 1, 0x3f8, true, &v);
    }
    ck_assert_ptr_nonnull(strstr(logged(), "[cpu1] ok\n"));
    ck_assert_ptr_null(strstr(logged(), "\\x01"));
}
END_TEST

int check_program(int argc, char **argv, struct check_plan *plan)
{
    if (!check_no_args(argc, argv))
        return CHECK_EXIT_USAGE;
    Suite *s = suite_create("vmm_hypercall");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, check_range, 0, sizeof(ranges) / sizeof(ranges[0]));
    tcase_add_test(tc, print_good_and_hostile);
    tcase_add_test(tc, unknown_numbers);
    tcase_add_test(tc, exit_statuses);
    tcase_add_test(tc, test_results);
    tcase_add_test(tc, assert_fail);
    tcase_add_test(tc, exception_report);
    tcase_add_test(tc, pio_instruction_kinds);
    tcase_add_test(tc, exception_report_cpu_from_vmm);
    tcase_add_test(tc, cpu_online);
    tcase_add_test(tc, console_lines);
    tcase_add_test(tc, sanitize);
    tcase_add_test(tc, uart_registers);
    suite_add_tcase(s, tc);
    check_plan_add(plan, s);
    return CHECK_RUN;
}
