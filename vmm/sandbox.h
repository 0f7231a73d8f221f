/*
 * The sandbox for hosts without a usable /dev/kvm: `vmm` runs itself again
 * inside an emulated KVM host (QEMU with single-threaded TCG and -cpu max,
 * which exposes nested SVM with nested paging, booting a Debian cloud kernel
 * that loads kvm/kvm-amd). See docs/sandbox.md.
 */
#ifndef VMM_SANDBOX_H
#define VMM_SANDBOX_H

#include <stdbool.h>

/*
 * True if KVM can be used directly: /dev/kvm opens read-write.
 *
 * Requires: nothing.
 * Guarantees: opens and closes /dev/kvm at most once; leaves no descriptor.
 *   On false, *why (when why is not NULL) receives a static string naming
 *   the reason (strerror of the open). On true, *why is left untouched.
 * Fails: never (a failing open is the "false" answer).
 */
bool sandbox_kvm_usable(const char **why);

/*
 * Runs this vmm invocation again inside an emulated KVM host (QEMU/TCG +
 * nested SVM), the inner vmm getting the same argv plus --no-sandbox (and
 * without --sandbox). Streams the inner output live to our stdout/stderr.
 *
 * Requires: argv[0..argc-1] is the outer vmm's command line (argv[0] the
 *   program name); the prepared sandbox assets (scripts/sandbox/prepare).
 * Guarantees: returns the inner vmm's exit status, or VMM_EXIT_SANDBOX when
 *   the sandbox itself failed (never booted, its init never started, hung,
 *   QEMU missing or crashed), after printing one clear line saying which.
 *   No QEMU process outlives the call, also when the outer vmm receives
 *   SIGINT, SIGTERM or SIGHUP while it runs (QEMU is killed, then the signal
 *   is re-raised with its default action).
 * Fails: returns VMM_EXIT_SANDBOX (assets missing: the message says to run
 *   scripts/setup; QEMU not found; boot watchdog; silence watchdog; QEMU
 *   died without reporting an inner status).
 */
int sandbox_run(int argc, char **argv);

#endif /* VMM_SANDBOX_H */
