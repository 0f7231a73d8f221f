/*
 * A KVM harness for testing the firmware and the guest kernel. The machine
 * is the VMM's own (vmm_machine: vmm/kvm.h, vmm/machine.h): the same KVM
 * capabilities, RAM and read-only ROM slots, in-kernel irqchip, per-vCPU
 * CPUID (APIC ID = index, x2APIC, topology) and AP start state, the same
 * ELF checks and loading, and, for hx_boot_guest, the same FDT and boot
 * handoff. Only the run loop is the harness's own: it implements the
 * hypercalls and COM1 of abi/include/abi/vmm.h and records everything a
 * test may want to assert on, with a timeout.
 *
 * It also offers a "probe" port (HX_PROBE_PORT): an `out` to it makes the
 * harness snapshot that vCPU's registers and special registers, so a test
 * probe can expose the exact CPU state at a point of its choice.
 */
#ifndef KVM_HARNESS_H
#define KVM_HARNESS_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "abi/vmm.h"

#define HX_MAX_CPUS   64
#define HX_PROBE_PORT 0xe0
#define HX_CONSOLE_MAX (256 * 1024)

enum hx_end {
    HX_END_NONE = 0,     /* still running / never ran */
    HX_END_EXIT,         /* VMM_HC_EXIT; see status */
    HX_END_ASSERT,       /* VMM_HC_ASSERT_FAIL; see assert_* */
    HX_END_EXCEPTION,    /* VMM_HC_EXCEPTION; see exception */
    HX_END_SHUTDOWN,     /* KVM_EXIT_SHUTDOWN (triple fault) */
    HX_END_TIMEOUT,      /* the harness's watchdog fired */
    HX_END_ERROR,        /* unexpected exit (MMIO, KVM error); see error */
};

struct hx_probe {
    bool taken;
    struct kvm_regs regs;
    struct kvm_sregs sregs;
};

struct hx_result {
    enum hx_end end;
    uint64_t status;                 /* HX_END_EXIT */
    char assert_file[256];           /* HX_END_ASSERT */
    char assert_msg[256];
    uint64_t assert_line;
    struct vmm_exception_report exception; /* HX_END_EXCEPTION */
    char error[256];                 /* HX_END_ERROR */
    int end_cpu;                     /* vCPU that ended the run */

    char console[HX_CONSOLE_MAX];    /* COM1 + VMM_HC_PRINT output, NUL-ended */
    size_t console_len;
    uint64_t online_mask;            /* bit i: cpu_online(i, ...) received */
    uint32_t online_apic[HX_MAX_CPUS];
    unsigned online_calls;
    unsigned tests_passed, tests_failed;
    unsigned bad_hypercalls;         /* hypercalls answered with an error */
    struct hx_probe probe[HX_MAX_CPUS];
};

struct hx_vm;

/* The Check programs' status for "no test ran" (CHECK_EXIT_USAGE in
 * tests/common/check_main.h). */
#define HX_EXIT_USAGE 2

/*
 * hx_test_start: the start of a KVM test program's check_program(), whose
 * command line is `<name> ARG1 ARG2` (usage names the two). Where /dev/kvm
 * can be opened, returns -1: the test runs here. Otherwise runs this same
 * program inside the sandbox (real KVM under QEMU/TCG, docs/sandbox.md),
 * which calls it again with --no-sandbox appended, and returns that run's
 * exit status; or returns HX_EXIT_USAGE after printing the usage for a bad
 * command line, or when /dev/kvm is unusable even inside the sandbox.
 */
int hx_test_start(const char *name, const char *usage, int argc, char **argv);

/*
 * hx_create: the VMM's machine with `cpus` vCPUs (vmm_kvm_open,
 * vmm_vm_create, vmm_kvm_vcpu_open: APIC ID = index), `mem_size` bytes of
 * RAM at 0, the ROM at rom_path mapped read-only at VMM_FW_ROM_ADDR.
 * Requires: 1 <= cpus <= HX_MAX_CPUS, mem_size a multiple of 2 MiB in
 *   [4 MiB, VMM_MAX_RAM], rom_path a 64 KiB file.
 * Fails (NULL, message in err[errlen]) when KVM or a capability is
 *   missing or the ROM cannot be read.
 */
struct hx_vm *hx_create(int cpus, uint64_t mem_size, const char *rom_path,
                        char *err, size_t errlen);

/* hx_ram: host pointer to guest-physical `gpa` (NULL unless [gpa, gpa+len)
 * lies in RAM). */
void *hx_ram(struct hx_vm *vm, uint64_t gpa, uint64_t len);

/*
 * hx_load_elf: validate an ELF64 x86-64 executable with the VMM's checks
 * (vmm_elf_parse) and load its PT_LOAD segments at their physical addresses
 * (vmm_elf_load); *entry = e_entry; *image_end = the end of the highest
 * segment rounded up to 4 KiB. Fails (-1, message in err) on a file the
 * VMM would refuse (bad ELF, a segment outside RAM or over a fixed region).
 */
int hx_load_elf(struct hx_vm *vm, const char *path, uint64_t *entry,
                uint64_t *image_end, char *err, size_t errlen);

/*
 * hx_build_fdt_cpus: a hand-made FDT (not the VMM's) at VMM_FDT_ADDR with
 * this bootargs, abi_version and hypercall_port, reserving [kernel_start,
 * kernel_end), that lists fdt_cpus CPUs with the given APIC IDs (NULL:
 * reg = index), whatever the VM really has. Tests use it to hand the guest
 * what the VMM never would: a wrong ABI version or port, a CPU that does
 * not exist. Returns the FDT size, or -1 (message in err).
 */
int hx_build_fdt_cpus(struct hx_vm *vm, const char *bootargs, uint32_t abi_version,
                      uint32_t hypercall_port, uint64_t kernel_start, uint64_t kernel_end,
                      int fdt_cpus, const uint32_t *apic_ids, char *err, size_t errlen);

/*
 * hx_set_hypercall_hook: hypercall numbers the harness does not implement
 * itself (e.g. VMM_HC_TRACE_ATTACH, VMM_HC_CHECKPOINT) go to
 * fn(ctx, cpu, nr, args), args = rdi, rsi, rcx, r8, r9; its return value
 * goes to rax (a negative one counts as a bad hypercall). Without a hook
 * they are answered -VMM_ENOSYS. Requires: set before hx_run. The hook runs
 * on the calling vCPU's thread with the harness lock held: it must not
 * block on the other vCPUs.
 */
typedef int64_t (*hx_hypercall_hook)(void *ctx, int cpu, uint32_t nr, const uint64_t args[5]);
void hx_set_hypercall_hook(struct hx_vm *vm, hx_hypercall_hook fn, void *ctx);

/* hx_write_handoff: write struct vmm_boot_handoff at VMM_BOOT_HANDOFF_ADDR. */
void hx_write_handoff(struct hx_vm *vm, const struct vmm_boot_handoff *h);

/*
 * hx_run: run every vCPU until the guest ends the run (exit, assert,
 * exception, shutdown, unexpected exit) or timeout_s elapse; fills *res.
 * Requires: called once per VM. Returns 0, or -1 if threads could not be
 * started (res->error says why).
 */
int hx_run(struct hx_vm *vm, unsigned timeout_s, struct hx_result *res);

/*
 * hx_translate: KVM_TRANSLATE of `gva` with vCPU `cpu`'s current paging
 * state (call after hx_run). Returns 0 and *gpa, or -1 if not mapped.
 */
int hx_translate(struct hx_vm *vm, int cpu, uint64_t gva, uint64_t *gpa, bool *writeable);

/* hx_destroy: release everything; NULL is allowed. */
void hx_destroy(struct hx_vm *vm);

/* hx_boot_guest: boots a guest kernel ELF as the VMM does: its ELF checks,
 * hx_create, then vmm_machine_write_boot_data (kernel, the VMM's FDT, the
 * handoff), then hx_run. Returns 0 and fills *res, or -1 with err filled. */
int hx_boot_guest(const char *rom, const char *elf, int cpus, uint64_t mem,
                  const char *bootargs, unsigned timeout_s,
                  struct hx_result *res, char *err, size_t errlen);

#endif /* KVM_HARNESS_H */
