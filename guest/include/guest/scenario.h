/*
 * Scenarios: what the kernel does once it is up, selected by the bootargs
 * `scenario=NAME` (default "vmspace"). Adding one: write `int my_scenario(void)`
 * returning the exit status (0 = passed), declare it below and add a line
 * to the table in scenarios/registry.c (docs/guest.md).
 */
#ifndef GUEST_SCENARIO_H
#define GUEST_SCENARIO_H

#include <stdbool.h>

struct scenario {
    const char *name;
    int (*run)(void);        /* returns the VMM_HC_EXIT status */
    bool needs_smp;          /* boot every AP before run() */
    const char *summary;
};

/* scenario_find: the entry named `name`, or NULL. */
const struct scenario *scenario_find(const char *name);

/* scenario_list: print the known names on the console. */
void scenario_list(void);

#define SCENARIO_DEFAULT "vmspace"

int scenario_vmspace(void);
int scenario_bench_vmspace(void);
int scenario_smp(void);
int scenario_boot_state(void);
int scenario_triple_fault(void);
int scenario_page_fault(void);
int scenario_ap_page_fault(void);
int scenario_hang(void);
int scenario_bad_hypercall(void);
int scenario_fail(void);
int scenario_assert(void);
int scenario_user_syscalls(void);
int scenario_user_demand_fault(void);
int scenario_user_kernel_access(void);
int scenario_user_kernel_fault(void);
int scenario_uaccess(void);
int scenario_user_preempt(void);
int scenario_user_ad(void);

#endif /* GUEST_SCENARIO_H */
