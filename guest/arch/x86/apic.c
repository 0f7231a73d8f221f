/* x2APIC through MSRs (include/guest/apic.h; SDM Vol. 3, 11.12). */
#include "guest/apic.h"

#include "guest/arch.h"
#include "guest/trap.h"

#define APIC_BASE_EN    (1ull << 11)
#define APIC_BASE_EXTD  (1ull << 10)

#define MSR_X2APIC_ID   0x802
#define MSR_X2APIC_TPR  0x808
#define MSR_X2APIC_EOI  0x80b
#define MSR_X2APIC_SVR  0x80f
#define MSR_X2APIC_ICR  0x830

#define SVR_ENABLE      (1u << 8)

#define ICR_FIXED       (0u << 8)
#define ICR_INIT        (5u << 8)
#define ICR_STARTUP     (6u << 8)
#define ICR_ASSERT      (1u << 14)
#define ICR_LEVEL       (1u << 15)

bool apic_init(void)
{
    uint32_t a, b, c, d;
    cpuid(1, 0, &a, &b, &c, &d);
    if (!(c & (1u << 21)))
        return false;
    uint64_t base = rdmsr(MSR_APIC_BASE);
    /* xAPIC -> x2APIC is the only legal way in: enable first if needed. */
    if (!(base & APIC_BASE_EN)) {
        base |= APIC_BASE_EN;
        wrmsr(MSR_APIC_BASE, base);
    }
    wrmsr(MSR_APIC_BASE, base | APIC_BASE_EXTD);
    wrmsr(MSR_X2APIC_TPR, 0);
    /* Software-enable: KVM does not send IPIs (INIT/SIPI included) from a
     * software-disabled local APIC. */
    wrmsr(MSR_X2APIC_SVR, SVR_ENABLE | VECTOR_SPURIOUS);
    return true;
}

uint32_t apic_id(void)
{
    return (uint32_t)rdmsr(MSR_X2APIC_ID);
}

void apic_eoi(void)
{
    wrmsr(MSR_X2APIC_EOI, 0);
}

/* In x2APIC mode the ICR is one 64-bit MSR write (destination in 63:32);
 * there is no delivery-status bit to poll. */
static void icr_write(uint32_t dest, uint32_t low)
{
    wrmsr(MSR_X2APIC_ICR, (uint64_t)dest << 32 | low);
}

void apic_send_ipi(uint32_t dest, uint8_t v)
{
    icr_write(dest, ICR_FIXED | ICR_ASSERT | v);
}

void apic_send_init(uint32_t dest)
{
    icr_write(dest, ICR_INIT | ICR_LEVEL | ICR_ASSERT);
}

void apic_send_init_deassert(uint32_t dest)
{
    icr_write(dest, ICR_INIT | ICR_LEVEL);
}

void apic_send_sipi(uint32_t dest, uint8_t vector)
{
    icr_write(dest, ICR_STARTUP | ICR_ASSERT | vector);
}
