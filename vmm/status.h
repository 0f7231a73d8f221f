/*
 * Names of the vmm exit statuses (enum vmm_exit_status in abi.h), as used
 * in configs/NAME.cfg `expect = ...` and in every result line vmm prints.
 */
#ifndef VMM_STATUS_H
#define VMM_STATUS_H

#include <stdbool.h>

/*
 * Returns the name of an exit status ("passed", "guest-failed",
 * "guest-crash", "timeout", "usage", "vmm-error", "sandbox"), or
 * "unknown" for a value outside the enum. Never NULL.
 */
const char *vmm_status_name(int status);

/*
 * Looks a status up by its name (exact, case-sensitive).
 * Guarantees: on true, *status holds the enum value.
 * Fails (false) when the name is not one of vmm_status_name's results.
 */
bool vmm_status_from_name(const char *name, int *status);

/* A comma-separated list of every valid name, for error messages. */
const char *vmm_status_names(void);

#endif /* VMM_STATUS_H */
