/*
 * A minimal KVM harness for testing the firmware and the guest kernel
 * without the real VMM (vmm/). It implements just enough of the ABI in
 * abi/include/abi/vmm.h: RAM at 0, the firmware ROM at 0xffff0000, the boot
 * handoff, an FDT, COM1 output, the hypercall port, one thread per vCPU,
 * an in-kernel irqchip, and a timeout. It is test infrastructure: small,
 * strict, and it records everything a test may want to assert on.
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

/*
 * hx_test_start: the start of a KVM test program's main(), whose command
 * line is `<name> ARG1 ARG2` (usage names the two). Where /dev/kvm can be
 * opened, returns -1: the test runs here. Otherwise runs this same program
 * inside the sandbox (real KVM under QEMU/TCG, docs/sandbox.md), which calls
 * it again with --no-sandbox appended, and returns that run's exit status;
 * or returns 2 after printing the usage for a bad command line, and 1 if
 * /dev/kvm is unusable even inside the sandbox.
 */
int hx_test_start(const char *name, const char *usage, int argc, char **argv);

/*
 * hx_create: a VM with `cpus` vCPUs (APIC ID = index), `mem_size` bytes of
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
 * hx_load_elf: load the PT_LOAD segments of an ELF64 x86-64 executable at
 * their physical addresses; *entry = e_entry; *image_end = highest p_paddr +
 * p_memsz. Fails (-1, message in err) on a bad file or a segment outside RAM.
 */
int hx_load_elf(struct hx_vm *vm, const char *path, uint64_t *entry,
                uint64_t *image_end, char *err, size_t errlen);

/*
 * hx_build_fdt: write the FDT described in abi.h at VMM_FDT_ADDR with this
 * bootargs, abi_version and hypercall_port (tests pass wrong values to
 * check the guest's refusal), reserving [kernel_start, kernel_end).
 * Returns the FDT size, or -1 (message in err).
 */
int hx_build_fdt(struct hx_vm *vm, const char *bootargs, uint32_t abi_version,
                 uint32_t hypercall_port, uint64_t kernel_start,
                 uint64_t kernel_end, char *err, size_t errlen);

/*
 * hx_build_fdt_cpus: as hx_build_fdt, but the FDT lists fdt_cpus CPUs with
 * the given APIC IDs (NULL: reg = index), whatever the VM really has; tests
 * use it to describe a CPU that does not exist.
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

/* hx_boot_guest: the usual sequence for a guest kernel ELF: create, load,
 * FDT, handoff, run. Returns 0 and fills *res, or -1 with err filled. */
int hx_boot_guest(const char *rom, const char *elf, int cpus, uint64_t mem,
                  const char *bootargs, unsigned timeout_s,
                  struct hx_result *res, char *err, size_t errlen);

#endif /* KVM_HARNESS_H */
