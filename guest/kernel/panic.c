/*
 * Fatal paths: PANIC() and the stack-protector failure hook that libfdt.a
 * calls. Both end the run through VMM_HC_ASSERT_FAIL, which carries a file,
 * a line and a message to the host.
 */
#include <stdarg.h>

#include "guest/assert.h"
#include "guest/console.h"
#include "guest/printf.h"

/* Static: a panic may come from a CPU whose stack is in trouble. Two CPUs
 * panicking at once may garble the message, never the control flow. */
static char panic_msg[256];

void panic_at(const char *file, unsigned line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kvsnprintf(panic_msg, sizeof(panic_msg), fmt, ap);
    va_end(ap);
    hc_assert_fail(file, line, panic_msg);
}

/* Called by -fstack-protector code (libfdt.a) on a smashed canary. */
__attribute__((noreturn)) void __stack_chk_fail(void)
{
    hc_assert_fail(__FILE__, __LINE__, "stack protector: canary overwritten (stack smashing)");
}
