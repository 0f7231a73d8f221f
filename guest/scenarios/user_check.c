/* Helpers of the user-mode scenarios (scenarios/user_check.h). */
#include "user_check.h"

#include <stdarg.h>

#include "guest/assert.h"
#include "guest/hypercall.h"
#include "guest/printf.h"
#include "guest/vmspace.h"

static unsigned checks, failures;

bool ucheck(const char *name, bool ok, const char *fmt, ...)
{
    char detail[256];
    va_list ap;
    va_start(ap, fmt);
    kvsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    kprintf("%s: %s: %s\n", name, ok ? "PASS" : "FAIL", detail);
    hc_test_result(name, ok);
    checks++;
    if (!ok)
        failures++;
    return ok;
}

void ucheck_reset(void)
{
    checks = failures = 0;
}

unsigned ucheck_failures(void)
{
    return failures;
}

struct vm_space *ucheck_space(const char *what)
{
    struct vm_space *vs = vm_space_new();
    if (!vs)
        PANIC("%s: vm_space_new failed (out of memory)", what);
    return vs;
}

void ucheck_load(struct user_task *t, struct vm_space *vs, struct user_prog prog, uint64_t a0,
                 uint64_t a1, uint64_t a2)
{
    int err = user_task_load(t, vs, &prog, a0, a1, a2);
    if (err)
        PANIC("loading user program %s failed with error %d", prog.name, err);
}

void ucheck_run(struct user_task *t)
{
    while (user_task_run(t) == USER_TASK_READY)
        ;
}

void ucheck_destroy(const char *name, struct vm_space *const *vs, unsigned n)
{
    int first_err = 0;
    vm_space_activate(NULL);
    for (unsigned i = 0; i < n; i++) {
        int err = vm_space_destroy(vs[i]);
        if (err && !first_err)
            first_err = err;
    }
    ucheck(name, first_err == 0, "%u space(s) destroyed, first error %d", n, first_err);
}

const char *ucheck_state(enum user_task_state s)
{
    return s == USER_TASK_READY ? "ready" : s == USER_TASK_EXITED ? "exited" : "killed";
}

int ucheck_finish(const char *scenario)
{
    kprintf("%s: %u checks, %u failed\n", scenario, checks, failures);
    return failures ? 1 : 0;
}
