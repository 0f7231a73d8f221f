/*
 * The guest kernel's virtual memory layout (see docs/guest.md).
 *
 *   0x0000_0000_0000_0000 ..         identity map of the AP trampoline page
 *                                    (0x8000) only; everything else in the
 *                                    lower half is unmapped
 *   0xffff_8000_0000_0000 + pa       linear map of physical memory,
 *                                    LINEAR_MAP_SIZE bytes, 2 MiB pages, NX
 *   0xffff_ffff_8000_0000 + pa       the kernel image (linked here; loaded at
 *                                    pa >= 1 MiB), 2 MiB pages
 *
 * Usable from C and from assembly.
 */
#ifndef GUEST_LAYOUT_H
#define GUEST_LAYOUT_H

#define KERNEL_VMA_BASE   0xffffffff80000000
#define LINEAR_MAP_BASE   0xffff800000000000
#define LINEAR_MAP_SIZE   0xc0000000          /* VMM_MAX_RAM: 3 GiB */
#define PAGE_SIZE         4096
#define PAGE_SHIFT        12
#define LARGE_PAGE_SIZE   0x200000

#define MAX_CPUS          64                  /* the VMM's --cpus limit */

/* Per-CPU stacks (the BSP's are static, the APs' come from the frame
 * allocator). Interrupts and exceptions run on IST stacks because libfdt is
 * compiled with the red zone. */
#define KSTACK_SIZE       (16 * 1024)
#define IST_EXC_SIZE      (16 * 1024)         /* IST1: exceptions */
#define IST_NMI_SIZE      (8 * 1024)          /* IST2: NMI */
#define IST_DF_SIZE       (8 * 1024)          /* IST3: double fault */
#define IST_MC_SIZE       (8 * 1024)          /* IST4: machine check */
#define IST_IRQ_SIZE      (16 * 1024)         /* IST5: external interrupts, IPIs */

#ifndef __ASSEMBLER__
#include <stdint.h>

/* phys_to_virt: the linear-map address of physical address `pa`.
 * Requires pa < LINEAR_MAP_SIZE. */
static inline void *phys_to_virt(uint64_t pa)
{
    return (void *)(uintptr_t)(pa + LINEAR_MAP_BASE);
}

/* virt_to_phys: physical address of a kernel-image or linear-map address.
 * Returns UINT64_MAX for any other address (e.g. the identity page). */
static inline uint64_t virt_to_phys(const volatile void *va)
{
    uint64_t v = (uint64_t)(uintptr_t)va;
    if (v >= KERNEL_VMA_BASE)
        return v - KERNEL_VMA_BASE;
    if (v >= LINEAR_MAP_BASE && v - LINEAR_MAP_BASE < LINEAR_MAP_SIZE)
        return v - LINEAR_MAP_BASE;
    return UINT64_MAX;
}

/* Physical bounds of the loaded kernel image (linker symbols). */
extern char __kernel_phys_start[], __kernel_phys_end[];
#endif

#endif /* GUEST_LAYOUT_H */
