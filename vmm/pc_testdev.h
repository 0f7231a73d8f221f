/*
 * Two parts of QEMU's pc-testdev, for multiboot guests (docs/multiboot.md):
 * - interrupt lines: a byte written to I/O port 0x2000 + n (n < 24) sets
 *   ISA/IOAPIC interrupt line n to that level (0 or not 0) through
 *   KVM_IRQ_LINE on the in-kernel irqchip (kvm-unit-tests' ioapic test,
 *   lib/x86/apic.c set_irq_line);
 * - the "iomem" window: 64 KiB at guest-physical 0xff000000 that behaves as
 *   memory but is emulated MMIO, every access a KVM exit (kvm-unit-tests'
 *   emulator and lam tests, x86/ioram.h).
 * The other pc-testdev ports (0xe0-0xe7, 0x2400 flush page) are not emulated.
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
