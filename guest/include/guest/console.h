/* The console: the VMM's print hypercall; COM1 (16550 THR at VMM_COM1_PORT)
 * for the raw path. */
#ifndef GUEST_CONSOLE_H
#define GUEST_CONSOLE_H

#include <stddef.h>

/* console_write: write len bytes under the console lock (interrupts off
 * while held). Not for exception context (the lock may be held). */
void console_write(const char *s, size_t len);

/* console_write_raw: write to COM1 without the lock (early or fatal paths
 * only: one VM exit per byte). */
void console_write_raw(const char *s, size_t len);

#endif /* GUEST_CONSOLE_H */
