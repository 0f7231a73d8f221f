/*
 * Scenario "boot-state": checks the entry state the firmware documents
 * (abi/include/abi/vmm.h, docs/boot.md) against what arch/x86/boot.S saved
 * at the kernel's first instruction. Each check is also reported with
 * VMM_HC_TEST_RESULT; the exit status is 0 only if every one holds.
 */
#include "guest/arch.h"
#include "guest/bootinfo.h"
#include "guest/hypercall.h"
#include "guest/layout.h"
#include "guest/printf.h"
#include "guest/scenario.h"
#include "abi/vmm.h"

static int failures;

static void check(const char *name, int ok, uint64_t value)
{
    kprintf("boot-state: %s: %s (value %#llx)\n", ok ? "PASS" : "FAIL", name,
            (unsigned long long)value);
    hc_test_result(name, ok);
    if (!ok)
        failures++;
}

/* Walks the firmware's page table (still intact in its scratch area, which
 * the frame allocator never hands out) and checks that 0..4 GiB is
 * identity-mapped, present and writable, with 2 MiB pages. */
static int identity_map_ok(uint64_t cr3)
{
    const uint64_t *pml4 = phys_to_virt(cr3 & ~0xfffull);
    if (!(pml4[0] & 1))
        return 0;
    const uint64_t *pdpt = phys_to_virt(pml4[0] & 0x000ffffffffff000ull);
    for (uint64_t i = 0; i < 4; i++) {
        if ((pdpt[i] & 3) != 3)
            return 0;
        const uint64_t *pd = phys_to_virt(pdpt[i] & 0x000ffffffffff000ull);
        for (uint64_t j = 0; j < 512; j++) {
            uint64_t want = ((i * 512 + j) << 21) | 0x83;   /* P|W|PS */
            if ((pd[j] & 0x000fffffffe000ffull & ~0x60ull) != want)  /* ignore A/D */
                return 0;
        }
    }
    return 1;
}

int scenario_boot_state(void)
{
    const struct boot_entry_state *e = &boot_entry_state;
    check("rdi = FDT address (VMM_FDT_ADDR)", e->rdi == VMM_FDT_ADDR, e->rdi);
    check("rsi = VMM_BOOT_MAGIC", e->rsi == VMM_BOOT_MAGIC, e->rsi);
    check("interrupts disabled (RFLAGS.IF = 0)", !(e->rflags & RFLAGS_IF), e->rflags);
    check("rsp 16-byte aligned inside the firmware scratch area",
          e->rsp % 16 == 0 && e->rsp > VMM_FW_SCRATCH_ADDR &&
              e->rsp <= VMM_FW_SCRATCH_ADDR + VMM_FW_SCRATCH_SIZE, e->rsp);
    check("CR0.PE|PG|WP set", (e->cr0 & (CR0_PE | CR0_PG | CR0_WP)) == (CR0_PE | CR0_PG | CR0_WP),
          e->cr0);
    check("CR0.CD|NW clear (caches on)", !(e->cr0 & (CR0_CD | CR0_NW)), e->cr0);
    check("CR4.PAE set", (e->cr4 & CR4_PAE) != 0, e->cr4);
    check("EFER.LME|LMA|NXE set",
          (e->efer & (EFER_LME | EFER_LMA | EFER_NXE)) == (EFER_LME | EFER_LMA | EFER_NXE), e->efer);
    check("CR3 inside the firmware scratch area",
          e->cr3 >= VMM_FW_SCRATCH_ADDR && e->cr3 < VMM_FW_SCRATCH_ADDR + VMM_FW_SCRATCH_SIZE,
          e->cr3);
    check("identity map of 0..4 GiB with 2 MiB pages", identity_map_ok(e->cr3), e->cr3);
    check("identity map maps the kernel image to itself (probe written at entry)",
          e->identity_probe == BOOT_IDENTITY_PROBE, e->identity_probe);
    const volatile uint8_t *tramp = phys_to_virt(VMM_AP_TRAMPOLINE_ADDR);
    check("AP trampoline installed at VMM_AP_TRAMPOLINE_ADDR (starts with cli)",
          tramp[0] == 0xfa, tramp[0]);
    kprintf("boot-state: %s (%d check(s) failed)\n", failures ? "FAIL" : "all checks passed",
            failures);
    return failures ? 1 : 0;
}
