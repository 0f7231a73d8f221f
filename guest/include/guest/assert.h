/*
 * ASSERT(cond): on failure, VMM_HC_ASSERT_FAIL with the file, the line and
 * the condition's text; the VMM stops the guest (VMM_EXIT_GUEST_FAILED).
 * PANIC(fmt, ...): the same channel with a formatted message, for fatal
 * conditions that are not assertions about code (bad boot information).
 * Both never return.
 */
#ifndef GUEST_ASSERT_H
#define GUEST_ASSERT_H

#include "guest/hypercall.h"

#define ASSERT(cond)                                                        \
    do {                                                                    \
        if (!(cond))                                                        \
            hc_assert_fail(__FILE__, __LINE__, "assertion failed: " #cond); \
    } while (0)

__attribute__((noreturn, format(printf, 3, 4)))
void panic_at(const char *file, unsigned line, const char *fmt, ...);

#define PANIC(...) panic_at(__FILE__, __LINE__, __VA_ARGS__)

#endif /* GUEST_ASSERT_H */
