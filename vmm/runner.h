/*
 * What one vmm invocation runs: a single guest (--guest), one or all
 * entries of a config (--config/--test), or the boot benchmark (--bench).
 * Everything is validated (config, images, sizes) before KVM or the
 * sandbox is touched, so usage errors are immediate and identical with
 * and without /dev/kvm.
 */
#ifndef VMM_RUNNER_H
#define VMM_RUNNER_H

#include <time.h>

#include "options.h"

/*
 * Runs what opts asks for. argc/argv are the original command line (for
 * the sandbox); process_start is CLOCK_MONOTONIC at main() entry.
 * Requires: opts parsed successfully, neither help nor version set.
 * Guarantees: returns the process exit status (docs/abi.md): the guest's
 *   status for --guest and --test NAME; for --test all 0 if every entry
 *   ended with its `expect` status, else VMM_EXIT_GUEST_FAILED; for
 *   --bench 0 if every run passed. VMM_EXIT_USAGE for invalid
 *   configs/images, VMM_EXIT_VMM_ERROR when KVM cannot be set up, or the
 *   sandbox's status when it was used.
 */
int vmm_runner_main(const struct vmm_options *opts, int argc, char **argv,
                    const struct timespec *process_start);

#endif /* VMM_RUNNER_H */
