/*
 * Test stand-ins for the guest headers guest/mm/vmspace.c needs beyond
 * VmSpace's own, when it is built for the host (test_vmspace.c). Included
 * with -include before vmspace.c, so the real headers (same guards) are
 * skipped:
 *   guest/arch.h    irq_save / irq_restore: a host process has no interrupts
 *                   to mask (CLI would fault in ring 3);
 *   guest/layout.h  "physical" addresses are host addresses: the test's
 *                   frame_alloc hands out host memory (the page tables
 *                   themselves live in the host platform's arena);
 *   guest/percpu.h  one CPU, index 0.
 */
#ifndef GUEST_ARCH_H
#define GUEST_ARCH_H
#include <stdint.h>
static inline uint64_t irq_save(void) { return 0; }
static inline void irq_restore(uint64_t flags) { (void)flags; }
#endif

#ifndef GUEST_LAYOUT_H
#define GUEST_LAYOUT_H
#include <stdint.h>
#define PAGE_SIZE 4096
static inline void *phys_to_virt(uint64_t pa) { return (void *)(uintptr_t)pa; }
static inline uint64_t virt_to_phys(const volatile void *va) { return (uint64_t)(uintptr_t)va; }
#endif

#ifndef GUEST_PERCPU_H
#define GUEST_PERCPU_H
#include <stdint.h>
struct percpu {
    uint32_t index;
};
static inline struct percpu *this_cpu(void)
{
    static struct percpu cpu0;
    return &cpu0;
}
#endif
