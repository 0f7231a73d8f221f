/* isa-debug-exit; see debug_exit.h. */
#include "debug_exit.h"

#include <stdio.h>
#include <string.h>

#include "parse.h"
#include "uart.h"
#include "abi/vmm.h"

struct vmm_debug_exit vmm_debug_exit_default(void)
{
    return (struct vmm_debug_exit){ true, VMM_DEBUG_EXIT_PORT, VMM_DEBUG_EXIT_SIZE };
}

/* A decimal number (vmm_parse_uint) or 0x followed by hex digits. */
static int parse_num(const char *s, uint64_t min, uint64_t max, uint64_t *out,
                     char *why, size_t whylen)
{
    uint64_t v = 0;

    if (strncmp(s, "0x", 2) != 0 && strncmp(s, "0X", 2) != 0)
        return vmm_parse_uint(s, min, max, out, why, whylen);
    if (s[2] == '\0' || strlen(s + 2) > 8) {
        snprintf(why, whylen, "'%s' is not a hexadecimal number of 1-8 digits", s);
        return -1;
    }
    for (const char *p = s + 2; *p; p++) {
        int d = *p >= '0' && *p <= '9' ? *p - '0' : *p >= 'a' && *p <= 'f' ? *p - 'a' + 10 :
                *p >= 'A' && *p <= 'F' ? *p - 'A' + 10 : -1;
        if (d < 0) {
            snprintf(why, whylen, "'%s' is not a number (bad digit '%c')", s, *p);
            return -1;
        }
        v = v * 16 + (uint64_t)d;
    }
    if (v < min || v > max) {
        snprintf(why, whylen, "%s is outside %llu..%llu", s, (unsigned long long)min,
                 (unsigned long long)max);
        return -1;
    }
    *out = v;
    return 0;
}

static bool overlaps(unsigned a, unsigned asz, unsigned b, unsigned bsz)
{
    return a < b + bsz && b < a + asz;
}

int vmm_debug_exit_parse(const char *spec, struct vmm_debug_exit *d, char *err, size_t errlen)
{
    char buf[64], why[160];
    const char *comma;
    uint64_t port, size = VMM_DEBUG_EXIT_SIZE;

    if (strcmp(spec, "off") == 0) {
        *d = (struct vmm_debug_exit){ false, 0, 0 };
        return 0;
    }
    comma = strchr(spec, ',');
    if (strlen(spec) >= sizeof(buf)) {
        snprintf(err, errlen, "--debug-exit: '%s' is too long (expected PORT[,SIZE] or off)",
                 spec);
        return -1;
    }
    snprintf(buf, sizeof(buf), "%.*s", comma ? (int)(comma - spec) : (int)strlen(spec), spec);
    if (parse_num(buf, 0, 0xffff, &port, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "--debug-exit: port: %s (expected PORT[,SIZE] or off)", why);
        return -1;
    }
    if (comma && parse_num(comma + 1, 1, 4, &size, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "--debug-exit: size: %s", why);
        return -1;
    }
    if (size == 3) {
        snprintf(err, errlen, "--debug-exit: size 3: must be 1, 2 or 4 bytes");
        return -1;
    }
    if (port + size > 0x10000) {
        snprintf(err, errlen, "--debug-exit: ports 0x%llx+%llu pass 0xffff",
                 (unsigned long long)port, (unsigned long long)size);
        return -1;
    }
    if (overlaps((unsigned)port, (unsigned)size, VMM_COM1_PORT, VMM_UART_NPORTS) ||
        overlaps((unsigned)port, (unsigned)size, VMM_HYPERCALL_PORT, 4)) {
        snprintf(err, errlen, "--debug-exit: ports 0x%llx+%llu overlap the %s",
                 (unsigned long long)port, (unsigned long long)size,
                 overlaps((unsigned)port, (unsigned)size, VMM_COM1_PORT, VMM_UART_NPORTS)
                     ? "COM1 UART (0x3f8-0x3ff)" : "vmm hypercall port (0x500)");
        return -1;
    }
    *d = (struct vmm_debug_exit){ true, (uint16_t)port, (uint8_t)size };
    return 0;
}

bool vmm_debug_exit_owns(const struct vmm_debug_exit *d, uint16_t port)
{
    return d->enabled && port >= d->port && (unsigned)port < (unsigned)d->port + d->size;
}

int vmm_debug_exit_status(uint32_t value)
{
    return value == 0 ? VMM_EXIT_PASSED : VMM_EXIT_GUEST_FAILED;
}

const char *vmm_debug_exit_meaning(uint32_t value)
{
    switch (value) {
    case 0: return "kvm-unit-tests: all tests passed";
    case 1: return "kvm-unit-tests: some tests failed";
    case VMM_DEBUG_EXIT_KUT_SKIP: return "kvm-unit-tests: every test skipped";
    case 64: return "kvm-unit-tests: aborted";
    default: return "a non-zero exit value";
    }
}
