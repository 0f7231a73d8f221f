/* TSC-based waiting (include/guest/tsc.h). */
#include "guest/tsc.h"

#include "guest/arch.h"

static uint64_t khz = TSC_FALLBACK_KHZ;
static bool known;

void tsc_init(void)
{
    uint32_t a, b, c, d, max;
    cpuid(0, 0, &max, &b, &c, &d);
    if (max >= 0x15) {
        cpuid(0x15, 0, &a, &b, &c, &d);       /* TSC/crystal ratio b/a, crystal c Hz */
        if (a && b && c) {
            khz = (uint64_t)c * b / a / 1000;
            known = true;
            return;
        }
    }
    if (max >= 0x16) {
        cpuid(0x16, 0, &a, &b, &c, &d);       /* base frequency in MHz */
        if (a & 0xffff) {
            khz = (uint64_t)(a & 0xffff) * 1000;
            known = true;
            return;
        }
    }
    cpuid(1, 0, &a, &b, &c, &d);
    if (!(c & (1u << 31)))
        return;                               /* no hypervisor leaves */
    cpuid(0x40000000, 0, &max, &b, &c, &d);
    if (max >= 0x40000010 && max < 0x40000100) {
        cpuid(0x40000010, 0, &a, &b, &c, &d); /* TSC kHz (VMware/KVM convention) */
        if (a) {
            khz = a;
            known = true;
        }
    }
}

uint64_t tsc_khz(void)
{
    return khz;
}

bool tsc_rate_known(void)
{
    return known;
}

uint64_t tsc_deadline_us(uint64_t us)
{
    return rdtsc() + us * khz / 1000;
}

bool tsc_passed(uint64_t deadline)
{
    return (int64_t)(rdtsc() - deadline) >= 0;
}

void udelay(uint64_t us)
{
    uint64_t end = tsc_deadline_us(us);
    while (!tsc_passed(end))
        cpu_relax();
}
