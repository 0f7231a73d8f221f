/*
 * The local APIC in x2APIC mode (MSR interface): enable, identity, EOI, and
 * the ICR for IPIs and INIT/SIPI.
 */
#ifndef GUEST_APIC_H
#define GUEST_APIC_H

#include <stdbool.h>
#include <stdint.h>

/*
 * apic_init: switch this CPU's local APIC to x2APIC mode (IA32_APIC_BASE
 * EN|EXTD), software-enable it (SVR, spurious vector 0xff), TPR 0.
 * Returns false (and does nothing) if CPUID lacks x2APIC.
 */
bool apic_init(void);

/* apic_id: this CPU's x2APIC ID. Requires apic_init(). */
uint32_t apic_id(void);

/* apic_eoi: signal end of interrupt. */
void apic_eoi(void);

/* apic_send_ipi: fixed, edge, physical-destination IPI of vector v
 * (32 <= v <= 255) to the CPU with x2APIC ID dest. */
void apic_send_ipi(uint32_t dest, uint8_t v);

/* apic_send_init / apic_send_init_deassert / apic_send_sipi: the start-up
 * IPIs (SDM 8.4.4.1); vector = start page number (address >> 12). */
void apic_send_init(uint32_t dest);
void apic_send_init_deassert(uint32_t dest);
void apic_send_sipi(uint32_t dest, uint8_t vector);

#endif /* GUEST_APIC_H */
