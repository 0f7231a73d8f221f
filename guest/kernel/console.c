/*
 * Console output on COM1 and kprintf. The VMM's UART is always ready
 * (abi.h: "transmitter always empty"), so bytes go straight to THR without
 * polling LSR.
 */
#include "guest/console.h"

#include "guest/arch.h"
#include "guest/printf.h"
#include "guest/spinlock.h"
#include "abi/vmm.h"

static spinlock_t console_lock = SPINLOCK_INIT;

void console_write_raw(const char *s, size_t len)
{
    /* REP OUTSB: KVM hands the whole string to the VMM in one exit (the
     * VMM's UART accepts KVM_EXIT_IO with count > 1) instead of one exit per
     * byte. */
    __asm__ volatile("rep outsb" : "+S"(s), "+c"(len) : "d"((uint16_t)VMM_COM1_PORT) : "memory");
}

void console_write(const char *s, size_t len)
{
    /* Interrupts off while holding the lock: an IPI handler that prints on
     * this CPU must not spin on a lock its own CPU holds. */
    uint64_t flags = irq_save();
    spin_lock(&console_lock);
    console_write_raw(s, len);
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
