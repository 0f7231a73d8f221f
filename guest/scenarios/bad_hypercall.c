/*
 * Scenario "bad-hypercall": hostile hypercalls must each be refused with
 * the documented error, and the VMM must survive them. Exit 0 iff every
 * answer is as expected.
 */
#include "guest/bootinfo.h"
#include "guest/hypercall.h"
#include "guest/layout.h"
#include "guest/printf.h"
#include "guest/scenario.h"

static const char msg[] = "bad-hypercall: this text must never be printed\n";

struct bad_call {
    const char *what;
    uint32_t nr;
    uint64_t a1, a2;
    int64_t expect;
};

int scenario_bad_hypercall(void)
{
    uint64_t ram_end = bootinfo.ram_end;
    uint64_t text = virt_to_phys(msg);
    const struct bad_call calls[] = {
        { "print: paddr beyond RAM", VMM_HC_PRINT, ram_end + 0x1000, 16, -VMM_EINVAL },
        { "print: range crossing the end of RAM", VMM_HC_PRINT, ram_end - 8, 16, -VMM_EINVAL },
        { "print: len > VMM_HC_MAX_LEN", VMM_HC_PRINT, text, VMM_HC_MAX_LEN + 1, -VMM_EINVAL },
        { "print: paddr + len wraps around 2^64", VMM_HC_PRINT, 0xfffffffffffffff0ull, 0x20,
          -VMM_EINVAL },
        { "unknown hypercall 9999", 9999, 0, 0, -VMM_ENOSYS },
        { "exception: report pointer beyond RAM", VMM_HC_EXCEPTION, ram_end + 0x1000,
          sizeof(struct vmm_exception_report), -VMM_EINVAL },
        { "exception: report pointer wraps around 2^64", VMM_HC_EXCEPTION,
          0xffffffffffffff00ull, sizeof(struct vmm_exception_report), -VMM_EINVAL },
    };
    int failures = 0;
    for (unsigned i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
        const struct bad_call *c = &calls[i];
        int64_t got = hypercall(c->nr, c->a1, c->a2, 0, 0, 0);
        int ok = got == c->expect;
        kprintf("bad-hypercall: %s: %s: returned %lld, expected %lld\n", ok ? "PASS" : "FAIL",
                c->what, (long long)got, (long long)c->expect);
        hc_test_result(c->what, ok);
        failures += !ok;
    }
    /* The VMM is still answering normally after all that. */
    static const char still[] = "bad-hypercall: VMM still answers\n";
    int64_t good = hc_print(still, sizeof(still) - 1);
    kprintf("bad-hypercall: %s: a valid print afterwards returned %lld\n",
            good == 0 ? "PASS" : "FAIL", (long long)good);
    failures += good != 0;
    kprintf("bad-hypercall: %s\n", failures ? "FAIL" : "every hostile call was refused");
    return failures ? 1 : 0;
}
