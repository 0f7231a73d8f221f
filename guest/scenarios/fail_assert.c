/* Scenarios "fail" (a guest-reported failure) and "assert" (a failed ASSERT). */
#include "guest/assert.h"
#include "guest/printf.h"
#include "guest/scenario.h"

int scenario_fail(void)
{
    kprintf("fail: exiting with status 1 on purpose\n");
    return 1;
}

/* volatile: the compiler must not see that the assertion is always false. */
static volatile int answer = 41;

int scenario_assert(void)
{
    kprintf("assert: asserting answer == 42 (it is %d)\n", answer);
    ASSERT(answer == 42);
    return 0;                          /* not reached */
}
