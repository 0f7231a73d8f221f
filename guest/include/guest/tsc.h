/*
 * Time from the TSC, for bounded waits only (no timer is needed). The TSC
 * rate comes from CPUID 0x15/0x16 or the hypervisor leaf 0x40000010; when
 * none reports it, TSC_FALLBACK_KHZ is assumed (waits are then approximate,
 * which only matters for how long a timeout takes to fire).
 */
#ifndef GUEST_TSC_H
#define GUEST_TSC_H

#include <stdbool.h>
#include <stdint.h>

#define TSC_FALLBACK_KHZ 3000000u

/* tsc_init: determine the TSC rate (BSP, once). */
void tsc_init(void);

/* tsc_khz: the rate in use; tsc_rate_known: whether CPUID reported it. */
uint64_t tsc_khz(void);
bool tsc_rate_known(void);

/* tsc_deadline_us: the TSC value `us` microseconds from now. */
uint64_t tsc_deadline_us(uint64_t us);

/* tsc_passed: whether the TSC has reached `deadline`. */
bool tsc_passed(uint64_t deadline);

/* udelay: busy-wait at least about `us` microseconds. */
void udelay(uint64_t us);

#endif /* GUEST_TSC_H */
