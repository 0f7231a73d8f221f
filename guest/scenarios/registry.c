/*
 * The scenario table. To add a scenario: implement `int scenario_x(void)`
 * (return the exit status), declare it in include/guest/scenario.h, and add
 * a line here. The names are the contract with configs/ (the VMM's
 * integration tests select them with bootargs "scenario=NAME").
 */
#include "guest/scenario.h"

#include "guest/printf.h"
#include "guest/string.h"

static const struct scenario scenarios[] = {
    { "vmspace", scenario_vmspace, true,
      "the default: VmSpace map/protect/remap/unmap with shootdowns on every CPU" },
    { "bench_vmspace", scenario_bench_vmspace, false,
      "JSON lines: TSC cycles per 4 KiB map, unmap and protect (bootarg trace=off to compare)" },
    { "smp", scenario_smp, true,
      "boot every CPU, exchange an IPI between every ordered pair, check the matrix" },
    { "boot-state", scenario_boot_state, false,
      "check the firmware's documented entry state" },
    { "triple-fault", scenario_triple_fault, false,
      "load an empty IDT and raise an exception: shutdown" },
    { "page-fault", scenario_page_fault, false,
      "touch unmapped 0xdead0000: #PF reported with VMM_HC_EXCEPTION" },
    { "ap-page-fault", scenario_ap_page_fault, true,
      "the last CPU touches unmapped 0xdead1000: #PF reported for that CPU" },
    { "hang", scenario_hang, false, "spin forever with interrupts off" },
    { "bad-hypercall", scenario_bad_hypercall, false,
      "hostile hypercall arguments must be refused with -EINVAL / -ENOSYS" },
    { "fail", scenario_fail, false, "exit with status 1" },
    { "assert", scenario_assert, false, "a failing ASSERT" },
    { "user-syscalls", scenario_user_syscalls, false,
      "ring-3 tasks: write/yield/exit, syscall edge cases, round-robin, #GP kills" },
    { "user-demand-fault", scenario_user_demand_fault, true,
      "user page faults mapped on demand by the space's handler, or the task killed" },
    { "user-kernel-access", scenario_user_kernel_access, false,
      "ring 3 reads/writes/executes kernel memory: user faults, tasks killed, kernel fine" },
    { "user-kernel-fault", scenario_user_kernel_fault, false,
      "a kernel load from unmapped user memory outside a copy: #PF reported" },
    { "user-preempt", scenario_user_preempt, true,
      "user_kick takes a CPU back from ring-3 code that never makes a syscall" },
    { "user-ad", scenario_user_ad, false,
      "accessed/dirty tracking: user pages without A/D, ring-3 read and write, query, protect" },
    { "uaccess", scenario_uaccess, false,
      "VmReader/VmWriter: every partial-copy and refusal case, one test result each" },
};

const struct scenario *scenario_find(const char *name)
{
    for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
        if (strcmp(scenarios[i].name, name) == 0)
            return &scenarios[i];
    return NULL;
}

void scenario_list(void)
{
    kprintf("guest: known scenarios:\n");
    for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
        kprintf("  %-15s %s\n", scenarios[i].name, scenarios[i].summary);
}
