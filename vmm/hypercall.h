/*
 * The hypercall port (abi.h "Hypercalls"): decoding, argument validation
 * and the action of each call. Kept free of KVM so that a hostile guest's
 * arguments can be replayed in unit tests against a plain buffer.
 */
#ifndef VMM_HYPERCALL_H
#define VMM_HYPERCALL_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "console.h"

struct vmm_validate;

struct vmm_hc_ctx {
    uint8_t *ram;            /* guest RAM [0, mem_size) */
    uint64_t mem_size;
    unsigned cpus;
    struct vmm_console *console;
    bool verbose;
    struct vmm_validate *trace;  /* live validation (validate.h); NULL = tracing off */
    /* Updated by every vCPU thread (atomics): */
    unsigned tests_passed, tests_failed, bad_calls;
    uint64_t online_mask;    /* bit N: CPU N reported VMM_HC_CPU_ONLINE */
    bool cpu0_online;        /* set once; cpu0_online_at valid afterwards */
    struct timespec cpu0_online_at;  /* CLOCK_MONOTONIC (benchmark) */
    bool guest_exited;       /* the guest called exit (its stream ended cleanly) */
};

struct vmm_hc_call {
    unsigned cpu;            /* the calling vCPU's index */
    uint64_t nr;             /* rax as read (the number is eax) */
    uint64_t arg[5];         /* rdi, rsi, rcx, r8, r9 (abi.h) */
};

struct vmm_hc_result {
    int64_t ret;             /* value for rax: 0 or -VMM_E* */
    bool stop;               /* stop the VM with `status` */
    int status;              /* enum vmm_exit_status when stop */
};

/*
 * Checks a guest buffer [addr, addr+len).
 * Guarantees: 0 iff len <= VMM_HC_MAX_LEN, addr < mem_size and
 *   len <= mem_size - addr (so no overflow is possible); else -VMM_EINVAL.
 *   A zero-length buffer is valid if addr is inside RAM.
 */
int vmm_hc_check_range(uint64_t addr, uint64_t len, uint64_t mem_size);

/*
 * Performs one hypercall.
 * Requires: ctx initialised (counters zero), call->cpu < ctx->cpus (the
 *   calling vCPU's index, trusted: it comes from the VMM, not the guest).
 * Guarantees: never reads or writes outside ctx->ram[0, mem_size); prints
 *   console text, assertion failures, test results and exception reports
 *   (guest strings sanitised); res->ret = 0 on success, -VMM_EINVAL on a
 *   bad argument (also reported on stderr), -VMM_ENOSYS on an unknown
 *   number. res->stop is set by exit (status passed / guest-failed), a
 *   valid assert_fail (guest-failed) and a valid exception (guest-crash).
 *   A guest exit(0) after a failed test_result stops as guest-failed.
 *   trace_attach and checkpoint go to ctx->trace (validate.h); without it
 *   they return -VMM_EINVAL (tracing is off). A failed checkpoint stops
 *   with VMM_EXIT_VALIDATION.
 * Thread-safe for concurrent calls from different vCPUs.
 */
void vmm_hc_dispatch(struct vmm_hc_ctx *ctx, const struct vmm_hc_call *call,
                     struct vmm_hc_result *res);

/* The mnemonic of an exception vector ("#PF"), or "vector" if none. */
const char *vmm_exception_name(uint64_t vector);

#endif /* VMM_HYPERCALL_H */
