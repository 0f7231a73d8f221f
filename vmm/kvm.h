/*
 * The KVM system and VM objects: /dev/kvm with its API version and
 * capabilities, a VM with the in-kernel irqchip, guest RAM and the
 * read-only firmware ROM, and the CPUID each vCPU gets.
 */
#ifndef VMM_KVM_H
#define VMM_KVM_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vmm_kvm {
    int fd;                       /* /dev/kvm */
    size_t run_size;              /* KVM_GET_VCPU_MMAP_SIZE */
    unsigned max_vcpus;
    struct kvm_cpuid2 *cpuid;     /* KVM_GET_SUPPORTED_CPUID */
};

/*
 * Opens /dev/kvm and checks it can run a VM with `cpus` vCPUs.
 * Guarantees: on 0, k is ready (release with vmm_kvm_close); the SIGUSR1
 *   handler used to kick vCPUs is installed. On -1 nothing is held and err
 *   names the failure: /dev/kvm cannot be opened, API version != 12, a
 *   missing capability (named: KVM_CAP_IRQCHIP, KVM_CAP_USER_MEMORY,
 *   KVM_CAP_READONLY_MEM, KVM_CAP_IMMEDIATE_EXIT, KVM_CAP_EXT_CPUID,
 *   KVM_CAP_SET_TSS_ADDR, KVM_CAP_SET_IDENTITY_MAP_ADDR, KVM_CAP_MP_STATE),
 *   or cpus above KVM_CAP_MAX_VCPUS.
 */
int vmm_kvm_open(struct vmm_kvm *k, unsigned cpus, bool verbose, char *err, size_t errlen);

/* Releases what vmm_kvm_open acquired. Requires: no VM of k is still alive.
 * Guarantees: k->fd = -1 afterwards, so a second call is harmless. */
void vmm_kvm_close(struct vmm_kvm *k);

struct vmm_vm {
    int fd;
    uint8_t *ram;                 /* guest RAM [0, mem_size) */
    uint64_t mem_size;
    uint8_t *rom;                 /* VMM_FW_ROM_SIZE bytes at VMM_FW_ROM_ADDR */
};

/*
 * Creates a VM: TSS and identity-map pages (needed on Intel), the in-kernel
 * irqchip (before any vCPU exists), RAM as slot 0 (anonymous, MAP_NORESERVE,
 * zeroed) and the ROM (a copy of rom, exactly VMM_FW_ROM_SIZE bytes) as the
 * read-only slot 1 at VMM_FW_ROM_ADDR.
 * Guarantees: on 0, vm is ready (release with vmm_vm_destroy); on -1
 *   nothing is held and err names the failing step and errno.
 */
int vmm_vm_create(struct vmm_kvm *k, struct vmm_vm *vm, uint64_t mem_size,
                  const uint8_t *rom, size_t rom_size, char *err, size_t errlen);

/* Closes the VM and unmaps its memory. Requires: every vCPU of vm closed.
 * Guarantees: vm->fd = -1 and no mapping left; a second call is harmless. */
void vmm_vm_destroy(struct vmm_vm *vm);

/*
 * Builds the CPUID of vCPU `index` of `cpus` from KVM's supported CPUID:
 * APIC ID = index in leaf 1 EBX[31:24], leaves 0xB/0x1F EDX (with a
 * one-thread-per-core topology of `cpus` cores) and 0x8000001E EAX; x2APIC
 * (leaf 1 ECX[21]) and the hypervisor bit advertised.
 * Guarantees: a malloc'ed copy (caller frees), or NULL when out of memory.
 */
struct kvm_cpuid2 *vmm_kvm_vcpu_cpuid(const struct vmm_kvm *k, unsigned index,
                                      unsigned cpus);

/*
 * Creates vCPU `index` of a VM that gets `cpus` vCPUs, set up as every vmm
 * guest's vCPU is: its kvm_run mapped, the CPUID of vmm_kvm_vcpu_cpuid, and
 * for an AP (index > 0) the UNINITIALIZED MP state in which it waits for
 * INIT-SIPI; the BSP keeps its architectural reset state (the firmware
 * starts at 0xfffffff0, so no KVM_SET_REGS). The VMM and the KVM tests
 * (tests/firmware/kvm_harness.c) both create their vCPUs with it.
 * Requires: k opened, vm created from k, index < cpus <= k->max_vcpus,
 *   each index created once per VM.
 * Guarantees: on 0, *fd is the vCPU and *run its kvm_run (release both with
 *   vmm_kvm_vcpu_close).
 * Fails: -1 with err naming the failing step and errno; nothing is held and
 *   *fd / *run are untouched.
 */
int vmm_kvm_vcpu_open(const struct vmm_kvm *k, const struct vmm_vm *vm, unsigned index,
                      unsigned cpus, int *fd, struct kvm_run **run, char *err, size_t errlen);

/* Releases what vmm_kvm_vcpu_open returned. Requires: no thread runs the
 * vCPU any more. fd < 0 and run == NULL are ignored. */
void vmm_kvm_vcpu_close(const struct vmm_kvm *k, int fd, struct kvm_run *run);

#endif /* VMM_KVM_H */
