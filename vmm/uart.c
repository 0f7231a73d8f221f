/* COM1 16550 model; see uart.h. */
#include "uart.h"

#include "abi/vmm.h"

enum { THR = 0, IER = 1, IIR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7 };
#define LCR_DLAB 0x80u
#define LSR_THRE_TEMT 0x60u   /* THR empty | transmitter empty */

bool vmm_uart_owns(uint16_t port)
{
    return port >= VMM_COM1_PORT && port < VMM_COM1_PORT + VMM_UART_NPORTS;
}

void vmm_uart_access(struct vmm_uart *u, unsigned cpu, uint16_t port, bool write,
                     uint8_t *data)
{
    unsigned reg = port - VMM_COM1_PORT;
    uint8_t lcr = __atomic_load_n(&u->lcr, __ATOMIC_RELAXED);

    if (write) {
        if (reg == THR && !(lcr & LCR_DLAB))
            vmm_console_write(u->console, cpu, data, 1);
        else if (reg == LCR)
            __atomic_store_n(&u->lcr, *data, __ATOMIC_RELAXED);
        return;
    }
    switch (reg) {
    case LSR: *data = LSR_THRE_TEMT; break;
    case LCR: *data = lcr; break;
    case IIR: *data = 0x01; break;
    default: *data = 0; break;
    }
}
