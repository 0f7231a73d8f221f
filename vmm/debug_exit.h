/*
 * The isa-debug-exit device (QEMU's name and convention): a write of the
 * value v to its I/O ports ends the run. QEMU exits with (v << 1) | 1, so
 * kvm-unit-tests reads status 1 as "all passed"; vmm maps v itself to its
 * exit statuses instead (docs/multiboot.md "The exit port"):
 *   v == 0                      -> VMM_EXIT_PASSED
 *   v != 0                      -> VMM_EXIT_GUEST_FAILED
 * and reports v, with kvm-unit-tests' meaning of it (0 all passed, 1 some
 * failed, 38 = 77 >> 1 every test skipped, 64 abort).
 */
#ifndef VMM_DEBUG_EXIT_H
#define VMM_DEBUG_EXIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VMM_DEBUG_EXIT_PORT 0xf4u
#define VMM_DEBUG_EXIT_SIZE 4u
#define VMM_DEBUG_EXIT_KUT_SKIP 38u      /* kvm-unit-tests: 77 >> 1, all skipped */

struct vmm_debug_exit {
    bool enabled;
    uint16_t port;        /* first port */
    uint8_t size;         /* ports [port, port + size), 1, 2 or 4 */
};

/* The default device: enabled at VMM_DEBUG_EXIT_PORT, VMM_DEBUG_EXIT_SIZE. */
struct vmm_debug_exit vmm_debug_exit_default(void);

/*
 * Parses --debug-exit: "PORT[,SIZE]" (numbers in C syntax, 0xf4) or "off".
 * Guarantees: on 0, *d is the device; on -1 err names the problem.
 * Fails when: PORT is not a number in 0..0xffff, SIZE not 1, 2 or 4, the
 *   range passes 0xffff, or it overlaps the COM1 ports (0x3f8-0x3ff) or the
 *   vmm hypercall port (0x500).
 */
int vmm_debug_exit_parse(const char *spec, struct vmm_debug_exit *d, char *err, size_t errlen);

/* True if port lies in the enabled device's range. */
bool vmm_debug_exit_owns(const struct vmm_debug_exit *d, uint16_t port);

/* The vmm exit status for a written value (table above). */
int vmm_debug_exit_status(uint32_t value);

/* kvm-unit-tests' reading of a written value, for messages (static text). */
const char *vmm_debug_exit_meaning(uint32_t value);

#endif /* VMM_DEBUG_EXIT_H */
