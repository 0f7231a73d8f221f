/*
 * Test stand-in for guest/include/guest/arch.h when guest/mm/vm_io.c is
 * built for the host (test_uaccess.c): the only instruction vm_io.c needs
 * is the CR3 read, which is privileged; here it returns a value the test
 * sets. Included with -include before vm_io.c, so the real arch.h (same
 * guard) is skipped.
 */
#ifndef GUEST_ARCH_H
#define GUEST_ARCH_H
#include <stdint.h>
extern uint64_t uaccess_test_cr3;
static inline uint64_t read_cr3(void) { return uaccess_test_cr3; }
#endif
