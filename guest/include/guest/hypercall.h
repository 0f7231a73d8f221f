/*
 * Guest side of the VMM hypercall ABI (abi/include/abi/vmm.h): `outl %eax,
 * %dx` with dx = VMM_HYPERCALL_PORT, arguments in rdi, rsi, rcx, r8, r9,
 * result (0 or -VMM_E*) in rax. Pointer arguments are guest-physical: the
 * helpers translate kernel virtual addresses with virt_to_phys(), so every
 * buffer passed here must live in the kernel image or the linear map.
 */
#ifndef GUEST_HYPERCALL_H
#define GUEST_HYPERCALL_H

#include <stddef.h>
#include <stdint.h>

#include "abi/vmm.h"

/* hypercall: the raw call; returns what the VMM put in rax. */
static inline int64_t hypercall(uint32_t nr, uint64_t a1, uint64_t a2, uint64_t a3,
                                uint64_t a4, uint64_t a5)
{
    int64_t ret;
    register uint64_t r8 __asm__("r8") = a4;
    register uint64_t r9 __asm__("r9") = a5;
    __asm__ volatile("outl %%eax, %%dx"
                     : "=a"(ret)
                     : "a"((uint64_t)nr), "d"((uint16_t)VMM_HYPERCALL_PORT), "D"(a1),
                       "S"(a2), "c"(a3), "r"(r8), "r"(r9)
                     : "memory");
    return ret;
}

/* hc_print: console text (not via the UART). Requires len <= VMM_HC_MAX_LEN. */
int64_t hc_print(const char *s, size_t len);

/* hc_exit: ends the run with `status` (0 = passed). Never returns: if the
 * VMM ignores it, the CPU halts. */
__attribute__((noreturn)) void hc_exit(uint64_t status);

/* hc_assert_fail: report a failed assertion; never returns. */
__attribute__((noreturn)) void hc_assert_fail(const char *file, unsigned line, const char *msg);

/* hc_test_result: one named check; returns the VMM's answer. */
int64_t hc_test_result(const char *name, int passed);

/* hc_cpu_online: this CPU reports in with its index and APIC ID. */
int64_t hc_cpu_online(uint32_t index, uint32_t apic_id);

/* hc_exception: report an unhandled exception (report must be in the
 * kernel image or linear map). Returns only if the VMM refused it. */
int64_t hc_exception(const struct vmm_exception_report *report);

#endif /* GUEST_HYPERCALL_H */
