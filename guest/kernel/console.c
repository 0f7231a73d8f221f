/*
 * Console output and kprintf. Normal output goes to the VMM by the print
 * hypercall, one VM exit per write: KVM emulates a string OUT (REP OUTSB to
 * the UART) one element at a time and exits to the VMM for every byte, so
 * a line through COM1 costs as many exits as it has characters. The UART
 * path stays for console_write_raw (early and fatal paths: it needs no
 * address translation). The VMM's UART is always ready (abi/vmm.h:
 * "transmitter always empty"), so bytes go straight to THR without polling
 * LSR.
 */
#include "guest/console.h"

#include "guest/arch.h"
#include "guest/hypercall.h"
#include "guest/printf.h"
#include "guest/spinlock.h"
#include "abi/vmm.h"

static spinlock_t console_lock = SPINLOCK_INIT;

void console_write_raw(const char *s, size_t len)
{
    __asm__ volatile("rep outsb" : "+S"(s), "+c"(len) : "d"((uint16_t)VMM_COM1_PORT) : "memory");
}

/* Through the print hypercall, in pieces the VMM accepts; a piece the VMM
 * refuses (it never should: kernel memory lies in RAM) goes out by the UART. */
static void print_by_hypercall(const char *s, size_t len)
{
    while (len > 0) {
        size_t n = len < VMM_HC_MAX_LEN ? len : VMM_HC_MAX_LEN;
        if (hc_print(s, n) != 0)
            console_write_raw(s, n);
        s += n;
        len -= n;
    }
}

void console_write(const char *s, size_t len)
{
    /* Interrupts off while holding the lock: an IPI handler that prints on
     * this CPU must not spin on a lock its own CPU holds. */
    uint64_t flags = irq_save();
    spin_lock(&console_lock);
    print_by_hypercall(s, len);
    spin_unlock(&console_lock);
    irq_restore(flags);
}

int kprintf(const char *fmt, ...)
{
    char buf[KPRINTF_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = kvsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    size_t len = (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1;
    console_write(buf, len);
    return n;
}
