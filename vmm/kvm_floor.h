/*
 * The lower bound of a KVM guest start, measured in-process (vmm --bench):
 * a minimal KVM program, as short as KVM allows, timed from open("/dev/kvm")
 * to the first I/O exit of its one vCPU.
 */
#ifndef VMM_KVM_FLOOR_H
#define VMM_KVM_FLOOR_H

#include <stddef.h>

struct vmm_kvm_floor {
    double to_first_exit_ms;   /* open /dev/kvm -> KVM_RUN returned the guest's OUT */
    double teardown_ms;        /* closing the vCPU, the VM and /dev/kvm */
};

/*
 * Open /dev/kvm, create a VM, an in-kernel irqchip, one 64 KiB memory slot
 * holding three real-mode instructions (mov al, 42; out 0x10, al; hlt) and
 * one vCPU at their address, run it to the OUT, then tear it all down.
 * Guarantees on success (0): *f holds both times. Fails (-1, message in
 * err): any step's error, or an exit that is not the expected OUT; nothing
 * is left open.
 */
int vmm_kvm_floor_measure(struct vmm_kvm_floor *f, char *err, size_t errlen);

#endif /* VMM_KVM_FLOOR_H */
