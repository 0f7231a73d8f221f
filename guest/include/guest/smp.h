/*
 * SMP: start every CPU of the FDT with INIT-SIPI-SIPI through the
 * firmware's trampoline, and hand work to idle CPUs.
 */
#ifndef GUEST_SMP_H
#define GUEST_SMP_H

#include <stdbool.h>
#include <stdint.h>

/* How long the BSP waits for one AP, in microseconds (nominal TSC time). */
#define SMP_AP_START_TIMEOUT_US 2000000

/* The number of CPUs described by the FDT, and how many are online. */
unsigned smp_cpu_count(void);
unsigned smp_online_count(void);

/*
 * smp_boot_aps: start every AP listed in bootinfo, one at a time. Each AP
 * sets up its tables, x2APIC and per-CPU area, reports in, and waits idle
 * (interrupts on) for smp_call() work.
 * Fails: returns false after printing which AP (index, APIC ID) did not
 * start in time, or why its stacks could not be allocated.
 */
bool smp_boot_aps(void);

/*
 * smp_call: run fn(arg) on idle CPU `index` (not the caller), asynchronously.
 * Requires: that CPU online and not busy with an earlier call.
 */
void smp_call(unsigned index, void (*fn)(void *), void *arg);

/* smp_call_wait: wait (bounded by timeout_us) until CPU index finished its
 * smp_call(); returns false on timeout. */
bool smp_call_wait(unsigned index, uint64_t timeout_us);

/* cpu_report_online: the "cpu N (apic A) online" line and
 * VMM_HC_CPU_ONLINE for the calling CPU. */
void cpu_report_online(void);

#endif /* GUEST_SMP_H */
