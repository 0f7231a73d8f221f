/*
 * Formatted output. The formatter is freestanding and also compiled on the
 * host for unit tests (tests/guest).
 *
 * Conversions: %d %i %u %x %X %o %c %s %p %% with length modifiers hh h l ll
 * z t j, flags '-' '0' '#' and a field width (number or '*'), and a precision
 * for %s ('.N' or '.*'). %p prints 0x followed by 16 hex digits.
 */
#ifndef GUEST_PRINTF_H
#define GUEST_PRINTF_H

#include <stdarg.h>
#include <stddef.h>

/* kvsnprintf: format into buf[size] (always NUL-terminated when size > 0).
 * Returns the length the full output would have (like C99 vsnprintf). An
 * unknown conversion is copied through verbatim. */
int kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap);

__attribute__((format(printf, 3, 4)))
int ksnprintf(char *buf, size_t size, const char *fmt, ...);

/* kprintf: format and write to the console (COM1). Output of one call is
 * never interleaved with another CPU's (console lock, interrupts off while
 * held). At most KPRINTF_MAX bytes per call; longer output is truncated. */
#define KPRINTF_MAX 512
__attribute__((format(printf, 1, 2)))
int kprintf(const char *fmt, ...);

#endif /* GUEST_PRINTF_H */
