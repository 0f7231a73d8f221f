/*
 * Test stand-in for guest/include/guest/arch.h when guest/mm/vm_io.c and
 * guest/mm/vm_io_windows.c are built for the host (test_uaccess.c,
 * test_vm_io_windows.c): the privileged instructions they use are the CR3
 * read, which here returns a value the test sets, and the interrupt flag
 * around the window table's lock, which a host thread does not have
 * (nothing interrupts it into the table). Included with -include before
 * those files, so the real arch.h (same guard) is skipped.
 */
#ifndef GUEST_ARCH_H
#define GUEST_ARCH_H
#include <stdint.h>
extern uint64_t uaccess_test_cr3;
static inline uint64_t read_cr3(void) { return uaccess_test_cr3; }
static inline uint64_t irq_save(void) { return 0; }
static inline void irq_restore(uint64_t flags) { (void)flags; }
#endif
