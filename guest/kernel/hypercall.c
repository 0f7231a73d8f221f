/*
 * Hypercall helpers (include/guest/hypercall.h). Strings are passed by
 * physical address: virt_to_phys() handles the kernel image (string
 * literals, static data) and the linear map (stacks of APs).
 */
#include "guest/hypercall.h"

#include "guest/arch.h"
#include "guest/layout.h"
#include "guest/string.h"

int64_t hc_print(const char *s, size_t len)
{
    return hypercall(VMM_HC_PRINT, virt_to_phys(s), len, 0, 0, 0);
}

void hc_exit(uint64_t status)
{
    hypercall(VMM_HC_EXIT, status, 0, 0, 0, 0);
    cpu_halt_forever();
}

void hc_assert_fail(const char *file, unsigned line, const char *msg)
{
    size_t flen = strlen(file), mlen = strlen(msg);
    if (flen > VMM_HC_MAX_LEN)
        flen = VMM_HC_MAX_LEN;
    if (mlen > VMM_HC_MAX_LEN)
        mlen = VMM_HC_MAX_LEN;
    hypercall(VMM_HC_ASSERT_FAIL, virt_to_phys(file), flen, line, virt_to_phys(msg), mlen);
    cpu_halt_forever();
}

int64_t hc_test_result(const char *name, int passed)
{
    return hypercall(VMM_HC_TEST_RESULT, virt_to_phys(name), strlen(name), passed ? 1 : 0,
                     0, 0);
}

int64_t hc_cpu_online(uint32_t index, uint32_t apic_id)
{
    return hypercall(VMM_HC_CPU_ONLINE, index, apic_id, 0, 0, 0);
}

int64_t hc_exception(const struct vmm_exception_report *report)
{
    return hypercall(VMM_HC_EXCEPTION, virt_to_phys(report), sizeof(*report), 0, 0, 0);
}
