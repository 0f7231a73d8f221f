/*
 * guest_user: boots the real guest kernel with the real firmware on KVM
 * (tests/firmware's harness) and checks, from the host, the ring-3 and
 * user-copy scenarios (docs/guest-user.md): every named check the guest
 * reports must be there and passed, the counts must match, each user fault
 * must be reported as one and kill only its task, and a kernel fault on a
 * user address outside a fallible copy must still reach the VMM.
 *
 * Usage: test_guest_user <firmware.bin> <guest.elf>. Where /dev/kvm cannot be
 * opened it runs itself again inside the sandbox (real KVM under QEMU/TCG).
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "check_main.h"
#include "kvm_harness.h"

static const char *rom, *elf;
static struct hx_result res;            /* large: keep it off the stack */

#define MEM (64ull << 20)

static void boot(int cpus, const char *bootargs)
{
    char err[256];
    ck_assert_msg(hx_boot_guest(rom, elf, cpus, MEM, bootargs, 60, &res, err, sizeof(err)) == 0,
                  "boot: %s", err);
}

static void expect_passed(unsigned checks)
{
    ck_assert_msg(res.end == HX_END_EXIT && res.status == 0,
                  "expected exit(0), got end %d status %llu error '%s'; console:\n%s", res.end,
                  (unsigned long long)res.status, res.error, res.console);
    ck_assert_msg(res.tests_passed == checks && res.tests_failed == 0,
                  "%u passed, %u failed (expected %u, 0); console:\n%s", res.tests_passed,
                  res.tests_failed, checks, res.console);
}

/* Every name in names[] was reported as "NAME: PASS". */
static void expect_checks(const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char line[128];
        snprintf(line, sizeof(line), "%s: PASS", names[i]);
        ck_assert_msg(strstr(res.console, line), "no '%s' in:\n%s", line, res.console);
    }
}

#define NAMES(...) ((const char *const[]){ __VA_ARGS__ })
#define COUNT(...) (sizeof(NAMES(__VA_ARGS__)) / sizeof(const char *))
#define EXPECT(...) expect_checks(NAMES(__VA_ARGS__), COUNT(__VA_ARGS__))

START_TEST(user_syscalls)
{
    boot(1, "scenario=user-syscalls");
    expect_passed(14);
    EXPECT("user.hello", "user.syscalls.setup", "user.syscalls",
           "user.privileged-instruction-killed", "user.syscall-at-top-of-user-space-killed",
           "user.round-robin.order",
           "user.round-robin.sum0", "user.round-robin.sum1", "user.frames-returned");
    ck_assert_ptr_nonnull(strstr(res.console, "user hello (cpu 0): hello from ring 3\n"));
    /* write(edge, 32) printed exactly the 16 mapped bytes */
    ck_assert_ptr_nonnull(strstr(res.console, "user syscalls (cpu 0): buffer's end...\n"));
    ck_assert_ptr_nonnull(strstr(res.console, "task priv killed by a user fault: #GP"));
}
END_TEST

START_TEST(user_demand_fault)
{
    boot(4, "scenario=user-demand-fault");
    expect_passed(8);
    EXPECT("user.demand.touch", "user.demand.readback", "user.demand.outside-region-killed",
           "user.demand.write-read-only-killed", "user.demand.kernel-copy",
           "user.demand.smp-shared-region");
    ck_assert_ptr_nonnull(strstr(res.console, "4 of 4 cpus' tasks exited 0, 16 pages mapped"));
    ck_assert_ptr_nonnull(strstr(res.console, "task touch killed by a user fault: #PF"));
}
END_TEST

START_TEST(user_kernel_access)
{
    boot(2, "scenario=user-kernel-access");
    expect_passed(7);
    EXPECT("user.kernel.read-image", "user.kernel.write-image", "user.kernel.read-linear-map",
           "user.kernel.execute-text", "user.kernel.non-canonical-killed",
           "user.kernel.memory-intact", "user.kernel.survives");
    ck_assert_ptr_nonnull(strstr(res.console, "read of kernel address 0xffffffff8"));
    ck_assert_ptr_nonnull(strstr(res.console, "write of kernel address 0xffffffff8"));
    ck_assert_ptr_nonnull(strstr(res.console, "instruction fetch of kernel address"));
}
END_TEST

START_TEST(user_preempt)
{
    boot(2, "scenario=user-preempt");
    expect_passed(4);
    EXPECT("user.kick-before-entry", "user.kick-from-other-cpu");
    ck_assert_ptr_nonnull(strstr(res.console, "cpu 1 came back, task ready, 2 preemption(s)"));
}
END_TEST

START_TEST(user_kernel_fault_is_reported)
{
    boot(1, "scenario=user-kernel-fault");
    ck_assert_msg(res.end == HX_END_EXCEPTION, "end %d, console:\n%s", res.end, res.console);
    ck_assert_uint_eq(res.exception.vector, 14);
    ck_assert_uint_eq(res.exception.cr2, 0x10000000);
    ck_assert_uint_eq(res.exception.cs, 0x08);               /* ring 0 */
    ck_assert_uint_eq(res.exception.error_code & 5, 0);      /* not present, supervisor */
}
END_TEST

/* Accessed/dirty tracking: the bits the MMU set, as query and protect report
 * them (every check would fail if VmSpace preset A and D). */
START_TEST(user_ad_bits_are_the_mmus)
{
    boot(1, "scenario=user-ad");
    expect_passed(22);
    EXPECT("user-ad.mapped.code", "user-ad.mapped.read", "user-ad.mapped.write",
           "user-ad.mapped.idle", "user-ad.task", "user-ad.ring3.code", "user-ad.ring3.read",
           "user-ad.ring3.write", "user-ad.ring3.idle", "user-ad.protect",
           "user-ad.protected.read", "user-ad.protected.write", "user-ad.protected.idle",
           "user-ad.reset.protect", "user-ad.reset.read", "user-ad.reset.write",
           "user-ad.reset.task", "user-ad.reset.read-written", "user-ad.reset.write-read",
           "user-ad.preset", "user-ad.unmap", "user-ad.space-destroyed");
    ck_assert_ptr_nonnull(strstr(res.console, "user-ad: 11 of 11 accessed/dirty checks"));
    /* What the MMU did, as query reported it. */
    static const char *const seen[] = { "ring3.read: PASS: page 0x20010000: A 1 D 0 ",
                                        "ring3.write: PASS: page 0x20012000: A 1 D 1 ",
                                        "ring3.idle: PASS: page 0x20014000: A 0 D 0 " };
    for (unsigned i = 0; i < 3; i++)
        ck_assert_msg(strstr(res.console, seen[i]), "no '%s' in:\n%s", seen[i], res.console);
}
END_TEST

START_TEST(uaccess_every_case)
{
    boot(1, "scenario=uaccess");
    expect_passed(36);
    EXPECT("uaccess.write-full", "uaccess.read-full", "uaccess.read-fault-first-byte",
           "uaccess.read-fault-mid-page", "uaccess.read-fault-after-full-page",
           "uaccess.read-fault-last-byte", "uaccess.write-read-only-first-byte",
           "uaccess.write-into-read-only-mid-copy", "uaccess.write-fault-after-full-page",
           "uaccess.write-val-across-read-only", "uaccess.read-val-too-short",
           "uaccess.read-val-across-unmapped", "uaccess.fill-zeros-into-read-only",
           "uaccess.len-0-refused", "uaccess.vaddr-0-refused", "uaccess.copy-0-bytes",
           "uaccess.range-into-kernel-refused", "uaccess.range-at-user-end-refused",
           "uaccess.range-kernel-address-refused", "uaccess.range-wrapping-refused",
           "uaccess.range-huge-len-refused", "uaccess.range-up-to-user-end-allowed",
           "uaccess.space-not-active-refused", "uaccess.space-deactivated-refused",
           "uaccess.other-space-active-refused", "uaccess.null-space-refused",
           "uaccess.reader-reader-overlap-allowed", "uaccess.writer-over-readers-refused",
           "uaccess.touching-windows-allowed", "uaccess.over-live-writer-refused",
           "uaccess.drop-then-recreate-allowed", "uaccess.refusals-left-nothing",
           "uaccess.window-table-full", "uaccess.destroy-with-live-window-refused");
    /* Exact byte counts of the partial copies. */
    ck_assert_ptr_nonnull(strstr(res.console, "2048 of 4096 bytes copied (expected 2048)"));
    ck_assert_ptr_nonnull(strstr(res.console, "4096 of 8192 bytes copied (expected 4096)"));
    ck_assert_ptr_nonnull(strstr(res.console, "256 of 512 bytes (expected 256)"));
    /* The exclusion rule's refusals, with their error (UA_EBUSY, -16). */
    ck_assert_ptr_nonnull(strstr(res.console, "writer [190, 200) over two live readers: -16"));
    ck_assert_ptr_nonnull(strstr(res.console, "reader -16, writer -16 over writer [0, 64)"));
    ck_assert_ptr_nonnull(strstr(res.console, "64 of 64 readers made, one more: -24"));
}
END_TEST

int check_program(int argc, char **argv, struct check_plan *plan)
{
    int status = hx_test_start("guest_user", "<firmware.bin> <guest.elf>", argc, argv);
    if (status >= 0)
        return status;
    rom = argv[1];
    elf = argv[2];
    Suite *s = suite_create("guest_user");
    TCase *tc = tcase_create("user");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, user_syscalls);
    tcase_add_test(tc, user_demand_fault);
    tcase_add_test(tc, user_kernel_access);
    tcase_add_test(tc, user_preempt);
    tcase_add_test(tc, user_kernel_fault_is_reported);
    tcase_add_test(tc, user_ad_bits_are_the_mmus);
    tcase_add_test(tc, uaccess_every_case);
    suite_add_tcase(s, tc);
    check_plan_add(plan, s);
    return CHECK_RUN;
}
