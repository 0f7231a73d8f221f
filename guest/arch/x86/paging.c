/* Kernel page table adjustments (include/guest/paging.h). */
#include "guest/paging.h"

#include "guest/arch.h"
#include "guest/layout.h"
#include "abi/vmm.h"

#define PTE_P 0x1ull
#define PTE_W 0x2ull

extern uint64_t kernel_pml4[512], pd_ident[512];   /* arch/x86/boot.S */
static uint64_t pt_ident[512] __attribute__((aligned(PAGE_SIZE)));

void paging_init(void)
{
    pt_ident[VMM_AP_TRAMPOLINE_ADDR >> PAGE_SHIFT] = VMM_AP_TRAMPOLINE_ADDR | PTE_P | PTE_W;
    pd_ident[0] = virt_to_phys(pt_ident) | PTE_P | PTE_W;
    /* The old entry was a 2 MiB page: reload CR3 to flush it (no global
     * pages are used, so this flushes everything). */
    write_cr3(read_cr3());
}

uint64_t kernel_cr3(void)
{
    return virt_to_phys(kernel_pml4);
}
