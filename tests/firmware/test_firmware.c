/*
 * firmware_boot: boots the real firmware ROM on KVM with a probe kernel
 * (probe_kernel.S) and checks, from the host, the state the firmware hands
 * over (abi.h, docs/boot.md), its refusal of bad boot handoffs, and the AP
 * trampoline (INIT-SIPI-SIPI -> long mode -> mailbox entry).
 *
 * Usage: test_firmware <firmware.bin> <probe.elf>. Where /dev/kvm cannot be
 * opened it runs itself again inside the sandbox (real KVM under QEMU/TCG).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "kvm_harness.h"

static const char *rom_path, *probe_path;

#define CR0_PE (1ull << 0)
#define CR0_NW (1ull << 29)
#define CR0_CD (1ull << 30)
#define CR0_WP (1ull << 16)
#define CR0_PG (1ull << 31)
#define CR4_PAE (1ull << 5)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define EFER_NXE (1ull << 11)
#define RFLAGS_IF (1ull << 9)

#define PROBE_DO_AP 0x7000
#define PROBE_AP_ARG 0x1122334455667788ull
#define PROBE_AP_STACK 0x300000ull

struct boot {
    struct hx_vm *vm;
    struct hx_result res;
    uint64_t entry;
};

/* Boots the probe with a handoff edited by `edit` (may be NULL). */
static void boot_probe(struct boot *b, int cpus, bool do_ap,
                      void (*edit)(struct vmm_boot_handoff *))
{
    char err[256];
    uint64_t end;
    b->vm = hx_create(cpus, 64ull << 20, rom_path, err, sizeof(err));
    ck_assert_msg(b->vm, "hx_create: %s", err);
    ck_assert_msg(hx_load_elf(b->vm, probe_path, &b->entry, &end, err, sizeof(err)) == 0,
                  "load probe: %s", err);
    *(uint64_t *)hx_ram(b->vm, PROBE_DO_AP, 8) = do_ap;
    memset(hx_ram(b->vm, VMM_AP_MAILBOX_ADDR, sizeof(struct vmm_ap_mailbox)), 0xa5,
           sizeof(struct vmm_ap_mailbox));
    struct vmm_boot_handoff h = {
        .magic = VMM_BOOT_MAGIC, .abi_version = VMM_ABI_VERSION, .size = sizeof(h),
        .kernel_entry = b->entry, .fdt_addr = VMM_FDT_ADDR, .fdt_size = 0x100,
        .mem_size = 64ull << 20 };
    if (edit)
        edit(&h);
    hx_write_handoff(b->vm, &h);
    ck_assert_int_eq(hx_run(b->vm, 30, &b->res), 0);
}

static void check_long_mode(const struct hx_probe *p)
{
    const struct kvm_sregs *s = &p->sregs;
    ck_assert_msg((s->cr0 & (CR0_PE | CR0_PG | CR0_WP)) == (CR0_PE | CR0_PG | CR0_WP),
                  "CR0 %#llx lacks PE|PG|WP", s->cr0);
    ck_assert_msg(!(s->cr0 & (CR0_CD | CR0_NW)), "CR0 %#llx still has CD/NW", s->cr0);
    ck_assert_msg(s->cr4 & CR4_PAE, "CR4 %#llx lacks PAE", s->cr4);
    ck_assert_msg((s->efer & (EFER_LME | EFER_LMA | EFER_NXE)) == (EFER_LME | EFER_LMA | EFER_NXE),
                  "EFER %#llx lacks LME|LMA|NXE", s->efer);
    ck_assert_msg(s->cs.l == 1 && s->cs.db == 0, "CS is not a 64-bit code segment");
    ck_assert_msg(!(p->regs.rflags & RFLAGS_IF), "interrupts enabled at entry");
}

START_TEST(entry_state)
{
    struct boot b;
    boot_probe(&b, 1, false, NULL);
    ck_assert_msg(b.res.end == HX_END_EXIT && b.res.status == 0,
                  "run ended %d status %llu (%s) console: %s", b.res.end,
                  (unsigned long long)b.res.status, b.res.error, b.res.console);
    const struct hx_probe *p = &b.res.probe[0];
    ck_assert(p->taken);
    check_long_mode(p);
    ck_assert_uint_eq(p->regs.rdi, VMM_FDT_ADDR);
    ck_assert_uint_eq(p->regs.rsi, VMM_BOOT_MAGIC);
    ck_assert_msg(p->regs.rsp % 16 == 0 && p->regs.rsp > VMM_FW_SCRATCH_ADDR &&
                  p->regs.rsp <= VMM_FW_SCRATCH_ADDR + VMM_FW_SCRATCH_SIZE,
                  "rsp %#llx not a 16-byte aligned scratch stack", p->regs.rsp);
    ck_assert_msg(p->sregs.cr3 >= VMM_FW_SCRATCH_ADDR &&
                  p->sregs.cr3 < VMM_FW_SCRATCH_ADDR + VMM_FW_SCRATCH_SIZE,
                  "CR3 %#llx outside the scratch area", p->sregs.cr3);
    /* The identity map covers the low 4 GiB, writable, and nothing above. */
    static const uint64_t probes[] = { 0, 0x8000, 0x100000, 0x3fffffff, 0x40000000,
                                       0x123456789 & 0xffffffff, 0xfee00000, 0xfffffff0 };
    for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
        uint64_t gpa;
        bool w;
        ck_assert_msg(hx_translate(b.vm, 0, probes[i], &gpa, &w) == 0,
                      "%#llx not mapped", (unsigned long long)probes[i]);
        ck_assert_uint_eq(gpa, probes[i]);
    }
    uint64_t gpa;
    bool w;
    ck_assert_msg(hx_translate(b.vm, 0, 0x100000000ull, &gpa, &w) != 0, "4 GiB is mapped");
    /* The trampoline was installed and the mailbox cleared. */
    const struct vmm_ap_mailbox *mb = hx_ram(b.vm, VMM_AP_MAILBOX_ADDR, sizeof(*mb));
    ck_assert_uint_eq(mb->started, 0);
    ck_assert_uint_eq(mb->cr3, 0);
    const uint8_t *tramp = hx_ram(b.vm, VMM_AP_TRAMPOLINE_ADDR, 2);
    ck_assert_uint_eq(tramp[0], 0xfa);           /* cli */
    ck_assert_uint_eq(tramp[1], 0xfc);           /* cld */
    hx_destroy(b.vm);
}
END_TEST

static void bad_magic(struct vmm_boot_handoff *h) { h->magic ^= 1; }
static void bad_version(struct vmm_boot_handoff *h) { h->abi_version = 2; }
static void bad_size(struct vmm_boot_handoff *h) { h->size = 40; }
static void bad_entry(struct vmm_boot_handoff *h) { h->kernel_entry = 0x100000000ull; }
static void zero_entry(struct vmm_boot_handoff *h) { h->kernel_entry = 0; }
static void bad_fdt(struct vmm_boot_handoff *h) { h->fdt_addr = 0x100000000ull; }

static const struct {
    void (*edit)(struct vmm_boot_handoff *);
    const char *message;
} bad_handoffs[] = {
    { bad_magic, "wrong magic" },
    { bad_version, "abi_version is not 1" },
    { bad_size, "size smaller" },
    { bad_entry, "kernel_entry is 0 or not below 4 GiB" },
    { zero_entry, "kernel_entry is 0 or not below 4 GiB" },
    { bad_fdt, "fdt_addr is not below 4 GiB" },
};

START_TEST(bad_handoff)
{
    struct boot b;
    boot_probe(&b, 1, false, bad_handoffs[_i].edit);
    ck_assert_msg(b.res.end == HX_END_EXIT, "run ended %d (%s)", b.res.end, b.res.error);
    ck_assert_uint_eq(b.res.status, 0xf1);
    ck_assert_msg(strstr(b.res.console, "firmware: bad boot handoff") &&
                  strstr(b.res.console, bad_handoffs[_i].message),
                  "console lacks '%s': %s", bad_handoffs[_i].message, b.res.console);
    ck_assert_msg(!b.res.probe[0].taken, "the kernel was entered despite a bad handoff");
    hx_destroy(b.vm);
}
END_TEST

START_TEST(ap_trampoline)
{
    struct boot b;
    boot_probe(&b, 2, true, NULL);
    ck_assert_msg(b.res.end == HX_END_EXIT && b.res.status == 0,
                  "run ended %d status %llu (%s)", b.res.end,
                  (unsigned long long)b.res.status, b.res.error);
    const struct hx_probe *bsp = &b.res.probe[0], *ap = &b.res.probe[1];
    ck_assert(bsp->taken && ap->taken);
    check_long_mode(ap);
    ck_assert_uint_eq(ap->regs.rdi, PROBE_AP_ARG);
    ck_assert_uint_eq(ap->regs.rsp, PROBE_AP_STACK);
    ck_assert_uint_eq(ap->sregs.cr3, bsp->sregs.cr3);
    ck_assert_uint_eq(ap->sregs.apic_base & 0xfffff000, 0xfee00000);
    const struct vmm_ap_mailbox *mb = hx_ram(b.vm, VMM_AP_MAILBOX_ADDR, sizeof(*mb));
    ck_assert_uint_eq(mb->started, 1);
    hx_destroy(b.vm);
}
END_TEST

int check_program(int argc, char **argv, struct check_plan *plan)
{
    int status = hx_test_start("firmware_boot", "<firmware.bin> <probe.elf>", argc, argv);
    if (status >= 0)
        return status;
    rom_path = argv[1];
    probe_path = argv[2];
    Suite *s = suite_create("firmware");
    TCase *tc = tcase_create("boot");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, entry_state);
    tcase_add_loop_test(tc, bad_handoff, 0, (int)(sizeof(bad_handoffs) / sizeof(bad_handoffs[0])));
    tcase_add_test(tc, ap_trampoline);
    suite_add_tcase(s, tc);
    check_plan_add(plan, s);
    return CHECK_RUN;
}
