/*
 * Hooks into the default VmSpace workload (scenarios/vmspace.c) and the
 * shared helpers of scenarios that run on every CPU.
 */
#ifndef GUEST_WORKLOAD_H
#define GUEST_WORKLOAD_H

#include <stdbool.h>
#include <stdint.h>

#include "guest/vmspace.h"

/*
 * workload_user_phase: run once per round on every CPU, between barriers,
 * with `vs` active on the calling CPU (also active on other CPUs in even
 * rounds) and interrupts on. It may map and unmap in [WORKLOAD_USER_BASE,
 * WORKLOAD_USER_BASE + WORKLOAD_USER_SIZE) of vs, per CPU at
 * WORKLOAD_USER_BASE + cpu * WORKLOAD_USER_SIZE / 64, and must leave that
 * range unmapped again. It returns the number of failed checks (0 = ok).
 * The default (scenarios/vmspace_user.c) does nothing: ring-3 programs and
 * reader/writer copies plug in here.
 */
#define WORKLOAD_USER_BASE 0x40000000ull
#define WORKLOAD_USER_SIZE 0x40000000ull
unsigned workload_user_phase(struct vm_space *vs, unsigned cpu, unsigned round);

/*
 * cpu_barrier: wait (PAUSE, interrupts as the caller has them: keep them on
 * so shootdown IPIs are served) until all `n` CPUs of the run arrive.
 * Reusable: a sense-reversing barrier. Requires: every CPU calls it the
 * same number of times with the same n.
 */
void cpu_barrier(unsigned n);

/*
 * run_on_all_cpus: run fn(arg) on every CPU of the run (the APs through
 * smp_call, then the caller), and wait for all of them.
 * Requires: the BSP, every AP online and idle. Returns false if some AP did
 * not finish within timeout_us (it prints which).
 */
bool run_on_all_cpus(void (*fn)(void *), void *arg, uint64_t timeout_us);

#endif /* GUEST_WORKLOAD_H */
