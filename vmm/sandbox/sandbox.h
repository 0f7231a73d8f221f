/*
 * The sandbox for hosts without a usable /dev/kvm: `vmm` runs itself again
 * inside an emulated KVM host (QEMU with single-threaded TCG and -cpu max,
 * which exposes nested SVM with nested paging, booting a Debian cloud kernel
 * that loads kvm/kvm-amd). See docs/sandbox.md.
 */
#ifndef VMM_SANDBOX_H
#define VMM_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
 * What the sandbox is asked to run, taken from the caller's plan (for vmm:
 * the runner's validated runs), never re-parsed from a command line or a
 * config file.
 */
struct sandbox_request {
    unsigned cpus;              /* the most vCPUs of any run (reported; L1 keeps
                                   2 CPUs, which single-threaded TCG runs in turn) */
    uint64_t mem;               /* the most guest RAM of any run, bytes (sizes L1) */
    unsigned timeout_s;         /* the longest watchdog of any run (silence bound) */
    bool verbose;               /* show L1's console, boot times, copied files */
    const char *const *inputs;  /* files the inner program reads: copied in */
    size_t ninputs;
    const char *const *outdirs; /* directories it writes into: created inside */
    size_t noutdirs;
    int argc;                   /* the inner command line, passed verbatim */
    char *const *argv;          /* (argv[0] is ignored: /proc/self/exe runs) */
};

/*
 * Runs the program again inside an emulated KVM host (QEMU/TCG + nested
 * SVM) with rq's command line (for vmm: the same options plus --no-sandbox,
 * without --sandbox and --log, whose copy the outer vmm writes). Streams the
 * inner stdout/stderr live through vmm_out (so --log gets them), and prints
 * its own lines ("vmm: sandbox: ...") the same way.
 *
 * Requires: rq filled; inputs and outdirs exist (relative paths are taken
 *   from the working directory); the prepared sandbox assets
 *   (scripts/sandbox/prepare).
 * Guarantees: returns the inner program's exit status when it is one of
 *   vmm's (0..VMM_EXIT_STATUS_MAX), or VMM_EXIT_SANDBOX when the sandbox itself
 *   failed (never booted, its init never started, hung, QEMU missing or
 *   crashed, the inner program killed, e.g. by the OOM killer, or not
 *   started), after printing one clear line saying which, with the inner
 *   status where there is one. L1's RAM is sized from rq->mem and the
 *   inputs. No QEMU process outlives the call, also when the outer vmm
 *   receives SIGINT, SIGTERM or SIGHUP while it runs (QEMU is killed, then
 *   the signal is re-raised with its default action).
 * Fails: returns VMM_EXIT_SANDBOX (assets missing: the message says to run
 *   scripts/setup; QEMU not found; an input unreadable; boot watchdog;
 *   silence watchdog; QEMU died without reporting an inner status).
 */
int sandbox_run(const struct sandbox_request *rq);

/*
 * The one line printed when vmm falls back to the sandbox: says which
 * results are hardware results and which are QEMU's emulation (docs/sandbox.md
 * "Fidelity"). Static string, no newline.
 */
const char *sandbox_fidelity_notice(void);

#endif /* VMM_SANDBOX_H */
