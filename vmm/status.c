/* Exit status names; see status.h and the table in docs/abi.md. */
#include "status.h"

#include <string.h>

#include "abi/vmm.h"

static const char *const names[] = {
    [VMM_EXIT_PASSED] = "passed",
    [VMM_EXIT_GUEST_FAILED] = "guest-failed",
    [VMM_EXIT_GUEST_CRASH] = "guest-crash",
    [VMM_EXIT_TIMEOUT] = "timeout",
    [VMM_EXIT_USAGE] = "usage",
    [VMM_EXIT_VMM_ERROR] = "vmm-error",
    [VMM_EXIT_SANDBOX] = "sandbox",
    [VMM_EXIT_VALIDATION] = "validation-failed",
};
_Static_assert(sizeof(names) / sizeof(names[0]) == VMM_EXIT_STATUS_MAX + 1,
               "every exit status has a name");

const char *vmm_status_name(int status)
{
    if (status < 0 || (unsigned)status >= sizeof(names) / sizeof(names[0]))
        return "unknown";
    return names[status];
}

bool vmm_status_from_name(const char *name, int *status)
{
    for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(name, names[i]) == 0) {
            *status = (int)i;
            return true;
        }
    }
    return false;
}

const char *vmm_status_names(void)
{
    return "passed, guest-failed, guest-crash, timeout, usage, vmm-error, sandbox, "
           "validation-failed";
}
