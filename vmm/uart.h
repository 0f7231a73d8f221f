/*
 * COM1, a minimal 16550: THR writes go to the console; LSR reads say the
 * transmitter is empty (0x60); LCR is kept so that divisor-latch writes
 * (DLAB=1, ports 0x3f8/0x3f9) are not mistaken for text; every other
 * register reads 0 (IIR reads 0x01, "no interrupt pending") and ignores
 * writes.
 */
#ifndef VMM_UART_H
#define VMM_UART_H

#include <stdbool.h>
#include <stdint.h>

#include "console.h"

#define VMM_UART_NPORTS 8u

struct vmm_uart {
    struct vmm_console *console;
    uint8_t lcr;            /* line control register (atomic access) */
};

/* True if port belongs to COM1. */
bool vmm_uart_owns(uint16_t port);

/*
 * One byte-sized access from CPU cpu.
 * Requires: vmm_uart_owns(port); data points to 1 byte.
 * Guarantees: for a read, *data is set; for a write of THR with DLAB=0,
 *   the byte goes to the console of CPU cpu. Thread-safe.
 */
void vmm_uart_access(struct vmm_uart *u, unsigned cpu, uint16_t port, bool write,
                     uint8_t *data);

#endif /* VMM_UART_H */
