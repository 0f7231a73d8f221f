/*
 * Two parts of QEMU's pc-testdev, for multiboot guests (docs/multiboot.md):
 * - interrupt lines: a byte written to I/O port 0x2000 + n (n < 24) sets
 *   ISA/IOAPIC interrupt line n to that level (0 or not 0) through
 *   KVM_IRQ_LINE on the in-kernel irqchip (kvm-unit-tests' ioapic test,
 *   lib/x86/apic.c set_irq_line);
 * - the "iomem" window: 64 KiB at guest-physical 0xff000000 that behaves as
 *   memory but is emulated MMIO, every access a KVM exit (kvm-unit-tests'
 *   emulator and lam tests, x86/ioram.h).
 * - the scratch I/O port 0xe0 (4 bytes): a write of any size stores the
 *   value, a read returns it (kvm-unit-tests' emulator string I/O tests).
 * The other pc-testdev ports (0xe4 flush page, 0xe8...) are not emulated.
 */
#ifndef VMM_PC_TESTDEV_H
#define VMM_PC_TESTDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VMM_TESTDEV_IRQ_PORT  0x2000u
#define VMM_TESTDEV_IRQ_LINES 24u

/* True if port is one of the interrupt-line ports. */
bool vmm_testdev_owns(uint16_t port);

/*
 * Sets the line of port (vmm_testdev_owns) to level != 0 on VM vm_fd.
 * Fails: -1, err names KVM_IRQ_LINE and errno.
 */
int vmm_testdev_irq(int vm_fd, uint16_t port, uint8_t level, char *err, size_t errlen);

#define VMM_TESTDEV_IOPORT     0xe0u
#define VMM_TESTDEV_IOPORT_LEN 4u

/* True if port is the scratch port's range [0xe0, 0xe4). */
bool vmm_testdev_ioport_owns(uint16_t port);

/* One access of size (1, 2 or 4) bytes to the scratch register *reg: a
 * write stores the zero-extended value, a read returns its low bytes.
 * Callers serialise accesses to reg. */
void vmm_testdev_ioport(uint32_t *reg, bool write, uint8_t *data, unsigned size);

#define VMM_TESTDEV_IOMEM_ADDR 0xff000000ull
#define VMM_TESTDEV_IOMEM_SIZE 0x10000u

/*
 * Serves one MMIO access [addr, addr + len) from the window's buffer mem
 * (VMM_TESTDEV_IOMEM_SIZE bytes): a write stores data, a read fills it.
 * Returns false (nothing done) when the access is not entirely inside the
 * window. Requires: len <= 8; callers serialise accesses to mem.
 */
bool vmm_testdev_iomem(uint8_t *mem, uint64_t addr, bool write, uint8_t *data, unsigned len);

#endif /* VMM_PC_TESTDEV_H */
