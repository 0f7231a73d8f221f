/*
 * guest_boot: boots the real guest kernel with the real firmware on KVM
 * through the small harness of tests/firmware, and checks each scenario's
 * documented outcome from the host: the default VmSpace workload, SMP
 * bring-up and the IPI matrix, the
 * firmware entry state, every crash path, the hostile hypercalls, and the
 * kernel's refusal of an FDT whose ABI does not match.
 *
 * Usage: test_guest_boot <firmware.bin> <guest.elf>. Where /dev/kvm cannot be
 * opened it runs itself again inside the sandbox (real KVM under QEMU/TCG).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "kvm_harness.h"

static const char *rom, *elf;
static struct hx_result res;            /* large: keep it off the stack */

#define MEM (64ull << 20)

static void boot(int cpus, const char *bootargs, unsigned timeout_s)
{
    char err[256];
    ck_assert_msg(hx_boot_guest(rom, elf, cpus, MEM, bootargs, timeout_s, &res, err,
                                sizeof(err)) == 0, "boot: %s", err);
}

static void expect_exit(uint64_t status)
{
    ck_assert_msg(res.end == HX_END_EXIT && res.status == status,
                  "expected exit(%llu), got end %d status %llu error '%s'; console:\n%s",
                  (unsigned long long)status, res.end, (unsigned long long)res.status,
                  res.error, res.console);
}

static const int smp_cpus[] = { 1, 2, 4, 8 };

START_TEST(smp_every_cpu_and_ipi_pair)
{
    int n = smp_cpus[_i];
    boot(n, "scenario=smp", 60);
    expect_exit(0);
    ck_assert_uint_eq(res.online_mask, (1ull << n) - 1);
    ck_assert_uint_eq(res.online_calls, (unsigned)n);
    for (int i = 0; i < n; i++) {
        char line[64];
        ck_assert_uint_eq(res.online_apic[i], (unsigned)i);
        snprintf(line, sizeof(line), "cpu %d (apic %d) online\n", i, i);
        ck_assert_msg(strstr(res.console, line), "no '%s' in:\n%s", line, res.console);
    }
    char summary[96];
    snprintf(summary, sizeof(summary), "smp: %d cpus online, %d of %d IPIs delivered", n,
             n * (n - 1), n * (n - 1));
    ck_assert_msg(strstr(res.console, summary), "no '%s' in:\n%s", summary, res.console);
}
END_TEST

/* Reads a number that follows `key` in the console ("... key 123 ..."). */
static unsigned long long console_number(const char *key)
{
    const char *p = strstr(res.console, key);
    ck_assert_msg(p, "no '%s' in:\n%s", key, res.console);
    return strtoull(p + strlen(key), NULL, 10);
}

/* The default scenario: the VmSpace workload on every CPU, with cross-CPU
 * shootdowns wherever a space is active on more than one CPU. */
static const int vmspace_cpus[] = { 1, 2, 4 };

START_TEST(vmspace_workload_on_every_cpu)
{
    int n = vmspace_cpus[_i];
    boot(n, "", 120);                   /* default scenario: vmspace */
    expect_exit(0);
    ck_assert_uint_eq(res.online_mask, (1ull << n) - 1);
    char head[64];
    snprintf(head, sizeof(head), "vmspace: %d cpus, 3 spaces, 4 rounds:", n);
    ck_assert_msg(strstr(res.console, head), "no '%s' in:\n%s", head, res.console);
    ck_assert_msg(strstr(res.console, "failures 0: ok"), "console:\n%s", res.console);
    /* Each CPU maps its 8-page slice twice per round (the second time
       replacing every page), protects it, and unmaps it in one call. */
    ck_assert_uint_eq(console_number("map "), 4ull * 16 * n);
    ck_assert_uint_eq(console_number("(replaced "), 4ull * 8 * n);
    ck_assert_uint_eq(console_number("protect "), 4ull * 8 * n);
    ck_assert_uint_eq(console_number("unmap "), 4ull * n);
    char frames[64];                    /* every mapped frame came back */
    snprintf(frames, sizeof(frames), "unmap %d (%d frames)", 4 * n, 4 * 8 * n);
    ck_assert_msg(strstr(res.console, frames), "no '%s' in:\n%s", frames, res.console);
    ck_assert_uint_gt(console_number("frames reused "), 0);
    /* Each CPU's accessed/dirty probe, every round: 11 checks of the bits
       the MMU set (a failed one is counted in "failures" instead). */
    ck_assert_uint_eq(console_number("accessed/dirty checks "), 4ull * 11 * n);
    unsigned long long sent = console_number("TLB IPIs sent "),
                       received = console_number(" received ");
    if (n == 1) {
        ck_assert_uint_eq(sent, 0);
    } else {
        ck_assert_uint_gt(sent, 0);     /* spaces shared by CPUs needed shootdowns */
        ck_assert_uint_gt(received, 0);
        ck_assert_uint_le(received, sent);  /* IPIs of one vector may merge, never multiply */
    }
}
END_TEST

START_TEST(unknown_tlb_bug_lists_the_names)
{
    boot(1, "tlb_bug=no-such-bug", 30);
    expect_exit(1);
    ck_assert_msg(strstr(res.console, "unknown bug 'no-such-bug'"), "console:\n%s", res.console);
    ck_assert_ptr_nonnull(strstr(res.console, "skip-unmap-flush"));
    ck_assert_ptr_nonnull(strstr(res.console, "free-before-flush"));
    ck_assert_ptr_nonnull(strstr(res.console, "untraced-store"));
}
END_TEST

/* The benchmark prints one JSON line per operation; no timing is checked. */
START_TEST(bench_vmspace_prints_json)
{
    boot(1, "scenario=bench_vmspace", 120);
    expect_exit(0);
    static const char *const ops[] = { "map", "protect", "unmap", "raw_store" };
    for (unsigned i = 0; i < 4; i++) {
        char line[96];
        snprintf(line, sizeof(line), "{\"bench\":\"bench_vmspace\",\"op\":\"%s\",\"pages\":256,",
                 ops[i]);
        ck_assert_msg(strstr(res.console, line), "no '%s' in:\n%s", line, res.console);
    }
    ck_assert_ptr_nonnull(strstr(res.console, "\"trace\":\"off\""));
}
END_TEST

/* The checker itself: with one IPI left out on purpose, the scenario must
 * fail and name exactly that pair. */
START_TEST(smp_names_a_missing_ipi)
{
    boot(3, "scenario=smp ipi-skip=2-0", 60);
    expect_exit(1);
    ck_assert_msg(strstr(res.console, "IPI cpu 2 -> cpu 0 delivered 0 time(s), expected 1"),
                  "console:\n%s", res.console);
    ck_assert_ptr_nonnull(strstr(res.console, "5 of 6 IPIs delivered"));
    ck_assert_ptr_null(strstr(res.console, "IPI cpu 1 ->"));  /* no other pair blamed */
    ck_assert_ptr_null(strstr(res.console, "-> cpu 1 "));
}
END_TEST

START_TEST(boot_state_all_checks_pass)
{
    boot(1, "scenario=boot-state", 30);
    expect_exit(0);
    ck_assert_uint_ge(res.tests_passed, 12);
    ck_assert_uint_eq(res.tests_failed, 0);
}
END_TEST

START_TEST(page_fault_is_reported)
{
    boot(2, "scenario=page-fault", 30);
    ck_assert_msg(res.end == HX_END_EXCEPTION, "end %d, console:\n%s", res.end, res.console);
    ck_assert_uint_eq(res.exception.vector, 14);
    ck_assert_uint_eq(res.exception.cr2, 0xdead0000);
    ck_assert_uint_eq(res.exception.error_code & 1, 0);      /* not present */
    ck_assert_uint_eq(res.exception.cpu, 0);
    ck_assert_uint_ge(res.exception.rip, 0xffffffff80000000ull);
    ck_assert_uint_eq(res.exception.cs, 0x08);
    ck_assert_uint_ne(res.exception.cr3, 0);
}
END_TEST

START_TEST(ap_page_fault_names_the_cpu)
{
    boot(3, "scenario=ap-page-fault", 30);
    ck_assert_msg(res.end == HX_END_EXCEPTION, "end %d, console:\n%s", res.end, res.console);
    ck_assert_uint_eq(res.exception.vector, 14);
    ck_assert_uint_eq(res.exception.cr2, 0xdead1000);
    ck_assert_uint_eq(res.exception.cpu, 2);
    ck_assert_int_eq(res.end_cpu, 2);                  /* reported by that vCPU */
}
END_TEST

START_TEST(triple_fault_shuts_down)
{
    boot(1, "scenario=triple-fault", 30);
    ck_assert_msg(res.end == HX_END_SHUTDOWN, "end %d (%s)", res.end, res.error);
}
END_TEST

START_TEST(hang_needs_the_watchdog)
{
    boot(1, "scenario=hang", 8);
    ck_assert_msg(res.end == HX_END_TIMEOUT, "end %d", res.end);
    ck_assert_ptr_nonnull(strstr(res.console, "hang: spinning forever"));
}
END_TEST

START_TEST(fail_exits_1)
{
    boot(1, "scenario=fail", 30);
    expect_exit(1);
}
END_TEST

START_TEST(assert_reports_file_and_line)
{
    boot(1, "scenario=assert", 30);
    ck_assert_msg(res.end == HX_END_ASSERT, "end %d", res.end);
    ck_assert_str_eq(res.assert_file, "guest/scenarios/fail_assert.c");
    ck_assert_uint_gt(res.assert_line, 0);
    ck_assert_ptr_nonnull(strstr(res.assert_msg, "answer == 42"));
}
END_TEST

START_TEST(bad_hypercalls_are_refused)
{
    boot(1, "scenario=bad-hypercall", 30);
    expect_exit(0);
    ck_assert_uint_eq(res.tests_passed, 7);
    ck_assert_uint_eq(res.tests_failed, 0);
    ck_assert_uint_eq(res.bad_hypercalls, 7);     /* each answered with an error */
}
END_TEST

START_TEST(unknown_scenario_is_named)
{
    boot(1, "scenario=no-such-thing", 30);
    expect_exit(1);
    ck_assert_ptr_nonnull(strstr(res.console, "unknown scenario 'no-such-thing'"));
}
END_TEST

/* Boots with a hand-made FDT: a /vmm node with these values, and fdt_cpus
 * CPUs with these APIC IDs (NULL: one per vCPU, reg = index). */
static void boot_custom(int vcpus, uint32_t abi, uint32_t port, int fdt_cpus,
                        const uint32_t *apic_ids, unsigned timeout_s)
{
    char err[256];
    uint64_t entry, end;
    struct hx_vm *vm = hx_create(vcpus, MEM, rom, err, sizeof(err));
    ck_assert_msg(vm, "%s", err);
    ck_assert_msg(hx_load_elf(vm, elf, &entry, &end, err, sizeof(err)) == 0, "%s", err);
    int size = hx_build_fdt_cpus(vm, "", abi, port, VMM_KERNEL_MIN_ADDR, end, fdt_cpus,
                                 apic_ids, err, sizeof(err));
    ck_assert_msg(size > 0, "%s", err);
    struct vmm_boot_handoff h = { .magic = VMM_BOOT_MAGIC, .abi_version = VMM_ABI_VERSION,
                                  .size = sizeof(h), .kernel_entry = entry,
                                  .fdt_addr = VMM_FDT_ADDR, .fdt_size = (uint64_t)size,
                                  .mem_size = MEM };
    hx_write_handoff(vm, &h);
    ck_assert_int_eq(hx_run(vm, timeout_s, &res), 0);
    hx_destroy(vm);
}

/* The kernel must refuse an FDT whose /vmm node does not match its ABI. */
static void boot_with_vmm_node(uint32_t abi, uint32_t port)
{
    boot_custom(1, abi, port, 1, NULL, 30);
}

/* An FDT CPU that never answers INIT-SIPI-SIPI: a bounded wait, then a
 * message naming it and exit(1) -- never a hang. */
START_TEST(missing_ap_is_reported)
{
    static const uint32_t apic_ids[] = { 0, 1, 9 };    /* APIC ID 9 does not exist */
    boot_custom(2, VMM_ABI_VERSION, VMM_HYPERCALL_PORT, 3, apic_ids, 60);
    expect_exit(1);
    ck_assert_msg(strstr(res.console, "cpu 2 (apic 9) did not start"), "console:\n%s",
                  res.console);
    ck_assert_uint_eq(res.online_mask, 3);             /* cpus 0 and 1 did */
}
END_TEST

START_TEST(abi_version_mismatch_refused)
{
    boot_with_vmm_node(VMM_ABI_VERSION + 1, VMM_HYPERCALL_PORT);
    expect_exit(1);
    ck_assert_msg(strstr(res.console, "abi-version is 2 but this kernel implements version 1; "
                                      "refusing to run"), "console:\n%s", res.console);
    ck_assert_uint_eq(res.online_calls, 0);        /* it really did not run */
}
END_TEST

START_TEST(hypercall_port_mismatch_refused)
{
    boot_with_vmm_node(VMM_ABI_VERSION, VMM_HYPERCALL_PORT + 1);
    expect_exit(1);
    ck_assert_msg(strstr(res.console, "hypercall-port is 0x501 but this kernel uses 0x500"),
                  "console:\n%s", res.console);
}
END_TEST

int check_program(int argc, char **argv, struct check_plan *plan)
{
    int status = hx_test_start("guest_boot", "<firmware.bin> <guest.elf>", argc, argv);
    if (status >= 0)
        return status;
    rom = argv[1];
    elf = argv[2];
    Suite *s = suite_create("guest_boot");
    TCase *tc = tcase_create("scenarios");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, vmspace_workload_on_every_cpu, 0,
                        (int)(sizeof(vmspace_cpus) / sizeof(vmspace_cpus[0])));
    tcase_add_test(tc, unknown_tlb_bug_lists_the_names);
    tcase_add_test(tc, bench_vmspace_prints_json);
    tcase_add_loop_test(tc, smp_every_cpu_and_ipi_pair, 0,
                        (int)(sizeof(smp_cpus) / sizeof(smp_cpus[0])));
    tcase_add_test(tc, smp_names_a_missing_ipi);
    tcase_add_test(tc, boot_state_all_checks_pass);
    tcase_add_test(tc, page_fault_is_reported);
    tcase_add_test(tc, ap_page_fault_names_the_cpu);
    tcase_add_test(tc, triple_fault_shuts_down);
    tcase_add_test(tc, hang_needs_the_watchdog);
    tcase_add_test(tc, fail_exits_1);
    tcase_add_test(tc, assert_reports_file_and_line);
    tcase_add_test(tc, bad_hypercalls_are_refused);
    tcase_add_test(tc, unknown_scenario_is_named);
    tcase_add_test(tc, abi_version_mismatch_refused);
    tcase_add_test(tc, hypercall_port_mismatch_refused);
    tcase_add_test(tc, missing_ap_is_reported);
    suite_add_tcase(s, tc);
    check_plan_add(plan, s);
    return CHECK_RUN;
}
