/* Hypercall validation and actions; see hypercall.h and docs/abi.md. */
#include "hypercall.h"

#include <inttypes.h>
#include <string.h>

#include "out.h"
#include "validate.h"
#include "abi/vmm.h"

int vmm_hc_check_range(uint64_t addr, uint64_t len, uint64_t mem_size)
{
    if (len > VMM_HC_MAX_LEN || addr >= mem_size || len > mem_size - addr)
        return -VMM_EINVAL;
    return 0;
}

const char *vmm_exception_name(uint64_t vector)
{
    static const char *const names[32] = {
        "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "#CSO",
        "#TS", "#NP", "#SS", "#GP", "#PF", NULL, "#MF", "#AC", "#MC", "#XM",
        "#VE", "#CP", NULL, NULL, NULL, NULL, NULL, NULL, "#HV", "#VC", "#SX", NULL,
    };

    if (vector < 32 && names[vector])
        return names[vector];
    return "vector";
}

/* Why [addr, addr+len) was refused, for the report. */
static const char *range_problem(uint64_t addr, uint64_t len, uint64_t mem_size)
{
    if (len > VMM_HC_MAX_LEN)
        return "longer than VMM_HC_MAX_LEN (4096 bytes)";
    if (addr + len < addr)
        return "wraps around the address space";
    if (addr >= mem_size)
        return "starts outside guest RAM";
    return "ends beyond guest RAM";
}

/* Rejects a bad buffer argument: counts and reports it. */
static bool bad_range(struct vmm_hc_ctx *ctx, const struct vmm_hc_call *c,
                      const char *call, const char *what, uint64_t addr, uint64_t len)
{
    if (vmm_hc_check_range(addr, len, ctx->mem_size) == 0)
        return false;
    __atomic_add_fetch(&ctx->bad_calls, 1, __ATOMIC_RELAXED);
    vmm_errf("vmm: cpu %u: hypercall %s: bad %s [0x%" PRIx64 ", +0x%" PRIx64 "): %s "
             "(RAM is 0x%" PRIx64 " bytes); returned -EINVAL\n", c->cpu, call, what, addr,
             len, range_problem(addr, len, ctx->mem_size), ctx->mem_size);
    return true;
}

static int64_t hc_print(struct vmm_hc_ctx *ctx, const struct vmm_hc_call *c)
{
    if (bad_range(ctx, c, "print", "buffer", c->arg[0], c->arg[1]))
        return -VMM_EINVAL;
    vmm_console_write(ctx->console, c->cpu, ctx->ram + c->arg[0], c->arg[1]);
    return 0;
}

static int64_t hc_exit(struct vmm_hc_ctx *ctx, const struct vmm_hc_call *c,
                       struct vmm_hc_result *res)
{
    unsigned failed = __atomic_load_n(&ctx->tests_failed, __ATOMIC_RELAXED);

    res->stop = true;
    __atomic_store_n(&ctx->guest_exited, true, __ATOMIC_RELEASE);
    if (c->arg[0] != 0) {
        res->status = VMM_EXIT_GUEST_FAILED;
        vmm_errf("vmm: cpu %u: guest exited with status %" PRIu64 " (failure)\n",
                 c->cpu, c->arg[0]);
    } else if (failed) {
        res->status = VMM_EXIT_GUEST_FAILED;
        vmm_errf("vmm: cpu %u: guest exited with status 0 but reported %u failed "
                 "test(s)\n", c->cpu, failed);
    } else {
        res->status = VMM_EXIT_PASSED;
        if (ctx->verbose)
            vmm_errf("vmm: cpu %u: guest exited with status 0\n", c->cpu);
    }
    return 0;
}

static int64_t hc_assert(struct vmm_hc_ctx *ctx, const struct vmm_hc_call *c,
                         struct vmm_hc_result *res)
{
    char file[256], msg[1024];

    if (bad_range(ctx, c, "assert_fail", "file name", c->arg[0], c->arg[1]) ||
        bad_range(ctx, c, "assert_fail", "message", c->arg[3], c->arg[4]))
        return -VMM_EINVAL;
    vmm_console_flush_cpu(ctx->console, c->cpu);
    vmm_errf("vmm: cpu %u: guest assertion failed at %s:%" PRIu64 ": %s\n", c->cpu,
             vmm_sanitize(ctx->ram + c->arg[0], c->arg[1], file, sizeof(file)), c->arg[2],
             vmm_sanitize(ctx->ram + c->arg[3], c->arg[4], msg, sizeof(msg)));
    res->stop = true;
    res->status = VMM_EXIT_GUEST_FAILED;
    return 0;
}

static int64_t hc_test_result(struct vmm_hc_ctx *ctx, const struct vmm_hc_call *c)
{
    char name[256];

    if (bad_range(ctx, c, "test_result", "name", c->arg[0], c->arg[1]))
        return -VMM_EINVAL;
    if (c->arg[2] > 1) {
        __atomic_add_fetch(&ctx->bad_calls, 1, __ATOMIC_RELAXED);
        vmm_errf("vmm: cpu %u: hypercall test_result: passed = %" PRIu64 " is not 0 "
                 "or 1; returned -EINVAL\n", c->cpu, c->arg[2]);
        return -VMM_EINVAL;
    }
    __atomic_add_fetch(c->arg[2] ? &ctx->tests_passed : &ctx->tests_failed, 1,
                       __ATOMIC_RELAXED);
    vmm_console_flush_cpu(ctx->console, c->cpu);
    if (ctx->console->quiet)      /* benchmarks: stdout is JSON only */
        return 0;
    vmm_outf("vmm: cpu %u: guest test %s: %s\n", c->cpu,
             vmm_sanitize(ctx->ram + c->arg[0], c->arg[1], name, sizeof(name)),
             c->arg[2] ? "passed" : "FAILED");
    return 0;
}

static void print_exception(const struct vmm_exception_report *r, unsigned cpu)
{
    char claim[80] = "";

    /* The CPU is the vCPU that made the call, known to the VMM; the report's
     * own cpu field is the guest's word, shown only when it disagrees. */
    if (r->cpu != cpu)
        snprintf(claim, sizeof(claim), " (the report's cpu field says %u)", r->cpu);
    vmm_errf("vmm: cpu %u: unhandled exception %s (vector %" PRIu64 ") on guest CPU %u%s, "
             "error code 0x%" PRIx64 "\n"
             "  RIP=%016" PRIx64 " CS=%04" PRIx64 " RFLAGS=%016" PRIx64
             " RSP=%016" PRIx64 " SS=%04" PRIx64 "\n"
             "  CR2=%016" PRIx64 " CR3=%016" PRIx64 "\n"
             "  RAX=%016" PRIx64 " RBX=%016" PRIx64 " RCX=%016" PRIx64 " RDX=%016" PRIx64 "\n"
             "  RSI=%016" PRIx64 " RDI=%016" PRIx64 " RBP=%016" PRIx64 "\n"
             "  R8 =%016" PRIx64 " R9 =%016" PRIx64 " R10=%016" PRIx64 " R11=%016" PRIx64 "\n"
             "  R12=%016" PRIx64 " R13=%016" PRIx64 " R14=%016" PRIx64 " R15=%016" PRIx64 "\n",
             cpu, vmm_exception_name(r->vector), r->vector, cpu, claim, r->error_code,
             r->rip, r->cs, r->rflags, r->rsp, r->ss, r->cr2, r->cr3,
             r->rax, r->rbx, r->rcx, r->rdx, r->rsi, r->rdi, r->rbp,
             r->r8, r->r9, r->r10, r->r11, r->r12, r->r13, r->r14, r->r15);
}

static int64_t hc_exception(struct vmm_hc_ctx *ctx, const struct vmm_hc_call *c,
                            struct vmm_hc_result *res)
{
    struct vmm_exception_report r;

    if (c->arg[1] != sizeof(r)) {
        __atomic_add_fetch(&ctx->bad_calls, 1, __ATOMIC_RELAXED);
        vmm_errf("vmm: cpu %u: hypercall exception: report size %" PRIu64 " is not "
                 "%zu; returned -EINVAL\n", c->cpu, c->arg[1], sizeof(r));
        return -VMM_EINVAL;
    }
    if (bad_range(ctx, c, "exception", "report", c->arg[0], c->arg[1]))
        return -VMM_EINVAL;
    memcpy(&r, ctx->ram + c->arg[0], sizeof(r));
    vmm_console_flush_cpu(ctx->console, c->cpu);
    print_exception(&r, c->cpu);
    res->stop = true;
    res->status = VMM_EXIT_GUEST_CRASH;
    return 0;
}

static int64_t hc_cpu_online(struct vmm_hc_ctx *ctx, const struct vmm_hc_call *c)
{
    uint64_t idx = c->arg[0], apic = c->arg[1];

    /* A CPU reports itself: its index and APIC ID are the vCPU's own. */
    if (idx != c->cpu || apic != idx) {
        __atomic_add_fetch(&ctx->bad_calls, 1, __ATOMIC_RELAXED);
        vmm_errf("vmm: cpu %u: hypercall cpu_online: CPU index %" PRIu64 " / APIC ID %"
                 PRIu64 " is not the calling CPU's (index %u, APIC ID %u as in the FDT); "
                 "returned -EINVAL\n", c->cpu, idx, apic, c->cpu, c->cpu);
        return -VMM_EINVAL;
    }
    if (idx == 0 && !__atomic_load_n(&ctx->cpu0_online, __ATOMIC_ACQUIRE)) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        ctx->cpu0_online_at = now;   /* only vCPU 0's thread gets here */
        __atomic_store_n(&ctx->cpu0_online, true, __ATOMIC_RELEASE);
    }
    __atomic_or_fetch(&ctx->online_mask, 1ull << idx, __ATOMIC_RELAXED);
    if (ctx->verbose)
        vmm_errf("vmm: cpu %u: CPU %" PRIu64 " online (APIC ID %" PRIu64 ")\n",
                 c->cpu, idx, apic);
    return 0;
}

/* Tracing off (--validate=off): the guest runs unvalidated. */
static int64_t no_trace(struct vmm_hc_ctx *ctx, const struct vmm_hc_call *c, const char *call)
{
    __atomic_add_fetch(&ctx->bad_calls, 1, __ATOMIC_RELAXED);
    vmm_errf("vmm: cpu %u: hypercall %s: tracing is off (--validate=off, no /vmm/tlb-trace "
             "node); returned -EINVAL\n", c->cpu, call);
    return -VMM_EINVAL;
}

static int64_t hc_trace_attach(struct vmm_hc_ctx *ctx, const struct vmm_hc_call *c)
{
    int64_t r;

    if (!ctx->trace)
        return no_trace(ctx, c, "trace_attach");
    r = vmm_validate_attach(ctx->trace, c->cpu, c->arg[0], c->arg[1]);
    if (r < 0)
        __atomic_add_fetch(&ctx->bad_calls, 1, __ATOMIC_RELAXED);
    return r;
}

static int64_t hc_checkpoint(struct vmm_hc_ctx *ctx, const struct vmm_hc_call *c,
                             struct vmm_hc_result *res)
{
    bool stop = false;
    int64_t r;

    if (!ctx->trace)
        return no_trace(ctx, c, "checkpoint");
    r = vmm_validate_checkpoint(ctx->trace, c->cpu, c->arg[0], c->arg[1], &stop);
    if (r < 0)
        __atomic_add_fetch(&ctx->bad_calls, 1, __ATOMIC_RELAXED);
    if (stop) {
        res->stop = true;
        res->status = VMM_EXIT_VALIDATION;
    }
    return r;
}

void vmm_hc_dispatch(struct vmm_hc_ctx *ctx, const struct vmm_hc_call *c,
                     struct vmm_hc_result *res)
{
    uint32_t nr = (uint32_t)c->nr;

    res->stop = false;
    res->status = VMM_EXIT_PASSED;
    switch (nr) {
    case VMM_HC_PRINT: res->ret = hc_print(ctx, c); return;
    case VMM_HC_EXIT: res->ret = hc_exit(ctx, c, res); return;
    case VMM_HC_ASSERT_FAIL: res->ret = hc_assert(ctx, c, res); return;
    case VMM_HC_TEST_RESULT: res->ret = hc_test_result(ctx, c); return;
    case VMM_HC_EXCEPTION: res->ret = hc_exception(ctx, c, res); return;
    case VMM_HC_CPU_ONLINE: res->ret = hc_cpu_online(ctx, c); return;
    case VMM_HC_TRACE_ATTACH: res->ret = hc_trace_attach(ctx, c); return;
    case VMM_HC_CHECKPOINT: res->ret = hc_checkpoint(ctx, c, res); return;
    }
    __atomic_add_fetch(&ctx->bad_calls, 1, __ATOMIC_RELAXED);
    vmm_errf("vmm: cpu %u: unknown hypercall %u; returned -ENOSYS\n", c->cpu, nr);
    res->ret = -VMM_ENOSYS;
}
