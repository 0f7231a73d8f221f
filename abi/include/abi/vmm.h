/*
 * The guest <-> host ABI of vmm, version 1.
 *
 * This header is shared by the VMM (host), the firmware and the guest kernel.
 * It is a public ABI: a guest that is not ours may implement it. Everything
 * here is documented for humans in docs/abi.md; keep the two in step.
 *
 * Freestanding: only <stdint.h>.
 */
#ifndef ABI_VMM_H
#define ABI_VMM_H

#include <stdint.h>

#define VMM_ABI_VERSION 1u

/* ------------------------------------------------------------------------ *
 * Guest-physical memory map (fixed by the VMM, described again in the FDT)
 *
 *   0x0000_0000 .. 0x0000_0fff   reserved (real-mode IVT); never allocated
 *   0x0000_1000 .. 0x0000_1fff   VMM_BOOT_HANDOFF: struct vmm_boot_handoff
 *   0x0000_8000 .. 0x0000_8fff   VMM_AP_TRAMPOLINE: AP start-up page
 *                                (SIPI vector 0x08); the firmware copies its
 *                                trampoline here and the guest fills the
 *                                struct vmm_ap_mailbox at its end
 *   0x0001_0000 .. 0x0001_ffff   firmware scratch (boot page tables, stack);
 *                                free for the guest once the kernel runs
 *   0x0002_0000 .. 0x0003_ffff   VMM_FDT_ADDR: the flattened device tree
 *                                (at most VMM_FDT_MAX_SIZE bytes)
 *   0x0010_0000 .. mem_size      kernel image (ELF PT_LOAD segments, by
 *                                physical address) then free RAM
 *   0xffff_0000 .. 0xffff_ffff   firmware ROM (reset vector at 0xffff_fff0)
 *
 * RAM is one region starting at 0; the VMM rejects a --mem that would
 * overlap the firmware ROM or the local APIC at 0xfee0_0000 (so RAM is at
 * most 3 GiB in version 1).
 * ------------------------------------------------------------------------ */
#define VMM_BOOT_HANDOFF_ADDR   0x1000ull
#define VMM_AP_TRAMPOLINE_ADDR  0x8000ull
#define VMM_AP_SIPI_VECTOR      0x08u          /* VMM_AP_TRAMPOLINE_ADDR >> 12 */
#define VMM_FW_SCRATCH_ADDR     0x10000ull
#define VMM_FW_SCRATCH_SIZE     0x10000ull
#define VMM_FDT_ADDR            0x20000ull
#define VMM_FDT_MAX_SIZE        0x20000ull
#define VMM_KERNEL_MIN_ADDR     0x100000ull
#define VMM_FW_ROM_ADDR         0xffff0000ull
#define VMM_FW_ROM_SIZE         0x10000ull
#define VMM_LAPIC_ADDR          0xfee00000ull
#define VMM_MAX_RAM             0xc0000000ull  /* 3 GiB */

/*
 * Boot handoff, written by the VMM before the first vCPU runs and read by the
 * firmware. The firmware takes the bootstrap vCPU from the reset state to
 * 64-bit long mode with an identity map of the low 4 GiB (2 MiB pages) and
 * jumps to `kernel_entry` with:
 *   rdi = fdt_addr (guest-physical), rsi = VMM_BOOT_MAGIC,
 *   rsp = a 16-byte-aligned stack inside the firmware scratch area,
 *   interrupts disabled, CR0.PG|PE|WP, CR4.PAE, EFER.LME|LMA|NXE set.
 * `kernel_entry` must therefore be an identity-mapped address below 4 GiB
 * (the ELF entry point of a kernel whose boot stub runs at its physical
 * address).
 */
#define VMM_BOOT_MAGIC 0x31544f4f424d4d56ull /* "VMMBOOT1" little-endian */

struct vmm_boot_handoff {
    uint64_t magic;          /* VMM_BOOT_MAGIC */
    uint32_t abi_version;    /* VMM_ABI_VERSION */
    uint32_t size;           /* sizeof(struct vmm_boot_handoff) */
    uint64_t kernel_entry;   /* guest-physical entry, < 4 GiB */
    uint64_t fdt_addr;       /* guest-physical address of the FDT */
    uint64_t fdt_size;       /* total size of the FDT blob */
    uint64_t mem_size;       /* bytes of RAM starting at 0 */
};

/*
 * AP start-up. The guest starts an application processor with INIT-SIPI-SIPI
 * (vector VMM_AP_SIPI_VECTOR). The firmware's trampoline, copied to
 * VMM_AP_TRAMPOLINE_ADDR by the firmware at boot, goes from real mode to long
 * mode and then reads this mailbox (at VMM_AP_MAILBOX_ADDR). The guest fills
 * it before each SIPI and waits for `started` to become non-zero before it
 * starts the next AP (one AP at a time). The trampoline loads `cr3`, switches
 * to `stack_top`, and jumps to `entry` with rdi = `arg`; `entry`, `stack_top`
 * and `arg` may be higher-half addresses mapped by `cr3`, but the trampoline
 * page itself must be identity-mapped by `cr3`.
 */
#define VMM_AP_MAILBOX_ADDR (VMM_AP_TRAMPOLINE_ADDR + 0xf00ull)

struct vmm_ap_mailbox {
    uint64_t cr3;            /* page-table root the AP loads */
    uint64_t entry;          /* 64-bit entry point (void entry(uint64_t arg)) */
    uint64_t stack_top;      /* initial rsp, 16-byte aligned */
    uint64_t arg;            /* passed in rdi */
    volatile uint32_t started; /* set to 1 by the trampoline once it has
                                  copied the fields above */
    uint32_t reserved;
};

/* ------------------------------------------------------------------------ *
 * Console: a 16550 UART at COM1 (I/O ports 0x3f8..0x3ff). Only THR writes
 * and LSR reads (transmitter always empty) are meaningful.
 * ------------------------------------------------------------------------ */
#define VMM_COM1_PORT 0x3f8u

/* ------------------------------------------------------------------------ *
 * Hypercalls. The guest executes `outl %eax, %dx` with
 *   dx = VMM_HYPERCALL_PORT, eax = hypercall number,
 *   rdi, rsi, rcx, r8, r9 = arguments 1..5
 * (the VMM reads them with KVM_GET_REGS). rdx is not an argument register:
 * the port does not fit OUT's 8-bit immediate, so dx must hold it.
 * Any other access to the port (IN, another size, REP OUTS) is not a
 * hypercall: it is reported and ignored (IN reads all ones).
 * The VMM writes the result (0 or a
 * negative VMM_E* code) into rax before the vCPU resumes. Pointer arguments
 * are guest-PHYSICAL addresses; the VMM checks that [addr, addr+len) lies in
 * guest RAM and that len <= VMM_HC_MAX_LEN, and answers -VMM_EINVAL otherwise
 * (a bad hypercall never crashes the VMM; it is also reported on stderr).
 * ------------------------------------------------------------------------ */
#define VMM_HYPERCALL_PORT 0x0500u
#define VMM_HC_MAX_LEN     4096u

enum vmm_hypercall {
    /* print(rdi = paddr of bytes, rsi = len): console text, not via the UART */
    VMM_HC_PRINT       = 1,
    /* exit(rdi = status): 0 = passed, non-zero = guest-reported failure.
     * Stops every vCPU. */
    VMM_HC_EXIT        = 2,
    /* assert_fail(rdi = paddr of file name, rsi = file len, rcx = line,
     *             r8 = paddr of message, r9 = message len): the guest failed
     * an assertion; the VMM prints it and stops with VMM_EXIT_GUEST_FAILED. */
    VMM_HC_ASSERT_FAIL = 3,
    /* test_result(rdi = paddr of test name, rsi = name len, rcx = passed (0/1)):
     * one named check inside the guest; the VMM prints and counts them (an
     * exit(0) after a failed test ends as VMM_EXIT_GUEST_FAILED). */
    VMM_HC_TEST_RESULT = 4,
    /* exception(rdi = paddr of struct vmm_exception_report, rsi = its size):
     * an unhandled CPU exception; the VMM prints it and stops with
     * VMM_EXIT_GUEST_CRASH. */
    VMM_HC_EXCEPTION   = 5,
    /* cpu_online(rdi = cpu index from the FDT, rsi = APIC ID): the calling CPU
     * reports itself in (both must be its own, else -VMM_EINVAL) */
    VMM_HC_CPU_ONLINE  = 6,
    /* trace_attach(rdi = number of rings the guest will write, rsi = flags, 0):
     * the guest has checked the trace rings described by /vmm/tlb-trace
     * (abi/trace_ring.h) and starts writing TLB events into them. rdi must
     * equal the FDT's ring-count. -VMM_EINVAL when tracing is off (no
     * /vmm/tlb-trace node), rdi is wrong, or the guest attached before. */
    VMM_HC_TRACE_ATTACH = 7,
    /* checkpoint(rdi = the guest's next event sequence number, rsi = a label
     * number for the report): the calling CPU asks the host to stop every vCPU,
     * validate every event with seq < rdi, and compare each vCPU's CR3 and page
     * tables with the validator's model. Call it only where no CPU is between
     * a page-table store and its event (e.g. all CPUs at a barrier). Returns 0
     * when the checkpoint passed; a failed checkpoint stops the run with
     * VMM_EXIT_VALIDATION and does not return. -VMM_EINVAL if not attached. */
    VMM_HC_CHECKPOINT   = 8,
};

/* Hypercall results (negated in rax). */
#define VMM_EOK     0
#define VMM_EINVAL  22   /* an argument is out of range or not in guest RAM */
#define VMM_ENOSYS  38   /* unknown hypercall number */

/* Unhandled exception report (VMM_HC_EXCEPTION). */
struct vmm_exception_report {
    uint64_t vector;
    uint64_t error_code;
    uint64_t rip, cs, rflags, rsp, ss;
    uint64_t cr2, cr3;
    uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp;
    uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
    uint32_t cpu;            /* CPU index */
    uint32_t reserved;
};

/* ------------------------------------------------------------------------ *
 * Exit status of the `vmm` process (also the status of `vmm` run through
 * the sandbox, which adds VMM_EXIT_SANDBOX for its own failures).
 * ------------------------------------------------------------------------ */
enum vmm_exit_status {
    VMM_EXIT_PASSED       = 0,  /* guest exited with status 0 */
    VMM_EXIT_GUEST_FAILED = 1,  /* guest reported failure (exit != 0, assert) */
    VMM_EXIT_GUEST_CRASH  = 2,  /* triple fault/shutdown, unhandled exception,
                                   internal KVM error */
    VMM_EXIT_TIMEOUT      = 3,  /* the watchdog stopped a hung guest */
    VMM_EXIT_USAGE        = 4,  /* bad command line, config, or guest image */
    VMM_EXIT_VMM_ERROR    = 5,  /* setup failure: KVM missing, capability
                                   missing, out of memory, ... */
    VMM_EXIT_SANDBOX      = 6,  /* the sandbox (emulated KVM host) failed:
                                   never booted, hung, or crashed */
    VMM_EXIT_VALIDATION   = 7,  /* the TLB-ordering validator or a host
                                   checkpoint found a violation, or the
                                   guest's trace rings were corrupt */
};
#define VMM_EXIT_STATUS_MAX VMM_EXIT_VALIDATION   /* the highest status above */

/* ------------------------------------------------------------------------ *
 * FDT. The VMM builds it with libfdt's sequential-write API:
 *   /                 #address-cells = 2, #size-cells = 2,
 *                     compatible = "vmm,virt"
 *   /memory@0         device_type = "memory", reg = <0 mem_size>
 *   /cpus/cpu@N       device_type = "cpu", reg = <APIC ID>, one per vCPU,
 *                     N = CPU index 0..cpus-1 (CPU 0 is the bootstrap CPU)
 *   /chosen           bootargs = "...", stdout-path = "/uart@3f8"
 *   /uart@3f8         compatible = "ns16550a", reg = <0 0x3f8 0 8>
 *                     (I/O ports, in the root's 2 + 2 cells)
 *   /reserved-memory  one child per reserved region: boot@0 (IVT, handoff,
 *                     AP trampoline, firmware scratch), fdt@20000,
 *                     low@40000 (rest of the low 1 MiB), kernel@<addr>
 *                     (the image); also the FDT memreserve map, same order
 *   /vmm              compatible = "vmm,hypercall-v1",
 *                     abi-version = <VMM_ABI_VERSION>,
 *                     hypercall-port = <VMM_HYPERCALL_PORT>
 *   /vmm/tlb-trace    only when tracing is on (abi/trace_ring.h):
 *                     compatible = "vmm,tlb-trace-v1",
 *                     reg = <base size> (2 + 2 cells, guest-physical),
 *                     ring-count = <cpus>, ring-stride = <bytes per ring>,
 *                     version = <VMM_TRACE_RING_VERSION>,
 *                     event-version = <TLB_EVENT_VERSION> (the newest TLB
 *                     event format the host reads from the rings; absent
 *                     means 1: a guest then writes no NODE_ALLOC); the
 *                     region is also a /reserved-memory child trace@<base>
 *                     and a memreserve entry
 * ------------------------------------------------------------------------ */
#define VMM_FDT_COMPATIBLE       "vmm,virt"
#define VMM_FDT_HYPERCALL_COMPAT "vmm,hypercall-v1"
#define VMM_FDT_TRACE_COMPAT     "vmm,tlb-trace-v1"

#endif /* ABI_VMM_H */
