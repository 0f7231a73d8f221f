/*
 * The kernel page table built by arch/x86/boot.S (layout in
 * include/guest/layout.h). A later issue replaces this with the
 * pagetable/ core; until then the kernel only trims the boot identity map.
 */
#ifndef GUEST_PAGING_H
#define GUEST_PAGING_H

#include <stdint.h>

/*
 * paging_init: replace the boot identity map of the first 2 MiB by a 4 KiB
 * mapping of the AP trampoline page (VMM_AP_TRAMPOLINE_ADDR) alone, so that
 * address 0 and the rest of the lower half fault. Requires: BSP, before
 * SMP start-up.
 */
void paging_init(void);

/* kernel_cr3: the physical address of the kernel PML4 (for APs). */
uint64_t kernel_cr3(void);

#endif /* GUEST_PAGING_H */
