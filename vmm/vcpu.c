/* vCPU creation, run loop and exit handling; see machine.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "machine.h"
#include "out.h"
#include "abi/vmm.h"

int vmm_vcpu_create(struct vmm_machine *m, struct vmm_vcpu *v, unsigned index,
                    char *err, size_t errlen)
{
    struct kvm_cpuid2 *cpuid;
    struct kvm_mp_state mp;
    void *run;

    v->m = m;
    v->index = index;
    v->fd = ioctl(m->vm.fd, KVM_CREATE_VCPU, (unsigned long)index);
    if (v->fd < 0) {
        snprintf(err, errlen, "KVM_CREATE_VCPU %u: %s", index, strerror(errno));
        return -1;
    }
    run = mmap(NULL, m->kvm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
    if (run == MAP_FAILED) {
        snprintf(err, errlen, "mmap of vCPU %u's kvm_run: %s", index, strerror(errno));
        return -1;
    }
    v->run = run;
    cpuid = vmm_kvm_vcpu_cpuid(m->kvm, index, m->p->cpus);
    if (!cpuid || ioctl(v->fd, KVM_SET_CPUID2, cpuid) < 0) {
        snprintf(err, errlen, "KVM_SET_CPUID2 on vCPU %u: %s", index,
                 cpuid ? strerror(errno) : "out of memory");
        free(cpuid);
        return -1;
    }
    free(cpuid);
    /* The BSP keeps its architectural reset state (no KVM_SET_REGS: the
     * firmware starts at 0xfffffff0). With the in-kernel LAPIC an AP starts
     * UNINITIALIZED and waits for INIT-SIPI; make that explicit. */
    if (index != 0) {
        if (ioctl(v->fd, KVM_GET_MP_STATE, &mp) < 0) {
            snprintf(err, errlen, "KVM_GET_MP_STATE on vCPU %u: %s", index, strerror(errno));
            return -1;
        }
        if (mp.mp_state != KVM_MP_STATE_UNINITIALIZED) {
            mp.mp_state = KVM_MP_STATE_UNINITIALIZED;
            if (ioctl(v->fd, KVM_SET_MP_STATE, &mp) < 0) {
                snprintf(err, errlen, "KVM_SET_MP_STATE on vCPU %u: %s", index,
                         strerror(errno));
                return -1;
            }
        }
    }
    return 0;
}

void vmm_vcpu_destroy(struct vmm_vcpu *v)
{
    if (v->run)
        munmap(v->run, v->m->kvm->run_size);
    if (v->fd >= 0)
        close(v->fd);
    v->run = NULL;
    v->fd = -1;
}

void vmm_vcpu_dump(struct vmm_vcpu *v, const char *why)
{
    struct kvm_regs r;
    struct kvm_sregs s;

    if (ioctl(v->fd, KVM_GET_REGS, &r) < 0 || ioctl(v->fd, KVM_GET_SREGS, &s) < 0) {
        vmm_errf("vmm: cpu %u: %s (registers unavailable: %s)\n", v->index, why,
                 strerror(errno));
        return;
    }
    vmm_errf("vmm: cpu %u: %s\n"
             "  RIP=%016llx RSP=%016llx RFLAGS=%016llx CS=%04x\n"
             "  CR0=%016llx CR2=%016llx CR3=%016llx CR4=%016llx EFER=%016llx\n"
             "  RAX=%016llx RBX=%016llx RCX=%016llx RDX=%016llx\n"
             "  RSI=%016llx RDI=%016llx RBP=%016llx\n"
             "  R8 =%016llx R9 =%016llx R10=%016llx R11=%016llx\n"
             "  R12=%016llx R13=%016llx R14=%016llx R15=%016llx\n",
             v->index, why, r.rip, r.rsp, r.rflags, s.cs.selector,
             s.cr0, s.cr2, s.cr3, s.cr4, s.efer,
             r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rbp,
             r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14, r.r15);
}

static void crash(struct vmm_vcpu *v, const char *why)
{
    vmm_console_flush(&v->m->console);
    vmm_vcpu_dump(v, why);
    vmm_machine_request_stop(v->m, VMM_EXIT_GUEST_CRASH);
}

/* Reads the arguments, runs the hypercall, writes rax back. */
static int hypercall(struct vmm_vcpu *v)
{
    struct kvm_regs r;
    struct vmm_hc_call call;
    struct vmm_hc_result res;

    if (ioctl(v->fd, KVM_GET_REGS, &r) < 0) {
        vmm_errf("vmm: cpu %u: KVM_GET_REGS: %s\n", v->index, strerror(errno));
        return -1;
    }
    call = (struct vmm_hc_call){ v->index, r.rax, { r.rdi, r.rsi, r.rcx, r.r8, r.r9 } };
    vmm_hc_dispatch(&v->m->hc, &call, &res);
    r.rax = (uint64_t)res.ret;
    if (ioctl(v->fd, KVM_SET_REGS, &r) < 0) {
        vmm_errf("vmm: cpu %u: KVM_SET_REGS: %s\n", v->index, strerror(errno));
        return -1;
    }
    if (res.stop)
        vmm_machine_request_stop(v->m, res.status);
    return 0;
}

static int handle_io(struct vmm_vcpu *v)
{
    struct kvm_run *run = v->run;
    uint8_t *data = (uint8_t *)run + run->io.data_offset;
    uint64_t bytes = (uint64_t)run->io.size * run->io.count;
    bool out = run->io.direction == KVM_EXIT_IO_OUT;

    if (run->io.data_offset + bytes > v->m->kvm->run_size) {
        vmm_errf("vmm: cpu %u: KVM reported an I/O buffer outside kvm_run\n", v->index);
        return -1;
    }
    if (run->io.port == VMM_HYPERCALL_PORT) {
        if (out && run->io.size == 4 && run->io.count == 1)
            return hypercall(v);
        vmm_errf("vmm: cpu %u: malformed hypercall (%s, %u bytes x %u); ignored\n",
                 v->index, out ? "out" : "in", run->io.size, run->io.count);
        __atomic_add_fetch(&v->m->hc.bad_calls, 1, __ATOMIC_RELAXED);
        if (!out)
            memset(data, 0xff, bytes);
        return 0;
    }
    if (vmm_uart_owns(run->io.port) && run->io.size == 1) {
        for (uint32_t i = 0; i < run->io.count; i++)
            vmm_uart_access(&v->m->uart, v->index, run->io.port, out, data + i);
        return 0;
    }
    /* Nothing there: reads float high, writes are dropped. */
    v->other_io++;
    if (!out)
        memset(data, 0xff, bytes);
    return 0;
}

static void handle_mmio(struct vmm_vcpu *v)
{
    char why[160];
    uint64_t a = v->run->mmio.phys_addr;
    bool rom = a >= VMM_FW_ROM_ADDR && a - VMM_FW_ROM_ADDR < VMM_FW_ROM_SIZE;

    snprintf(why, sizeof(why), "%s %u bytes at guest-physical 0x%" PRIx64 " (%s)",
             v->run->mmio.is_write ? "write of" : "read of", v->run->mmio.len, a,
             rom && v->run->mmio.is_write ? "the read-only firmware ROM"
                                           : "no memory or device there");
    crash(v, why);
}

static void handle_internal(struct vmm_vcpu *v)
{
    char why[200];
    int n = snprintf(why, sizeof(why), "KVM internal error, suberror %u%s",
                     v->run->internal.suberror,
                     v->run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION ?
                     " (instruction emulation failed)" : "");

    for (uint32_t i = 0; i < v->run->internal.ndata && i < 4 && n < (int)sizeof(why); i++)
        n += snprintf(why + n, sizeof(why) - (size_t)n, " data[%u]=0x%llx", i,
                      (unsigned long long)v->run->internal.data[i]);
    crash(v, why);
}

/* Handles one exit; returns false when this vCPU must stop. */
static bool handle_exit(struct vmm_vcpu *v)
{
    struct kvm_run *run = v->run;
    char why[160];

    switch (run->exit_reason) {
    case KVM_EXIT_IO:
        if (handle_io(v) < 0) {
            vmm_machine_request_stop(v->m, VMM_EXIT_VMM_ERROR);
            return false;
        }
        return true;
    case KVM_EXIT_HLT:          /* the in-kernel LAPIC normally absorbs HLT */
    case KVM_EXIT_INTR:
        return true;
    case KVM_EXIT_SHUTDOWN:
        crash(v, "triple fault (KVM_EXIT_SHUTDOWN)");
        return false;
    case KVM_EXIT_MMIO:
        handle_mmio(v);
        return false;
    case KVM_EXIT_INTERNAL_ERROR:
        handle_internal(v);
        return false;
    case KVM_EXIT_FAIL_ENTRY:
        snprintf(why, sizeof(why), "VM entry failed (KVM_EXIT_FAIL_ENTRY), hardware "
                 "reason 0x%llx on host CPU %u",
                 (unsigned long long)run->fail_entry.hardware_entry_failure_reason,
                 run->fail_entry.cpu);
        crash(v, why);
        return false;
    case KVM_EXIT_SYSTEM_EVENT:
        snprintf(why, sizeof(why), "guest system event %u (shutdown/reset/crash)",
                 run->system_event.type);
        crash(v, why);
        return false;
    default:
        vmm_errf("vmm: cpu %u: unexpected KVM exit reason %u\n", v->index,
                 run->exit_reason);
        vmm_machine_request_stop(v->m, VMM_EXIT_VMM_ERROR);
        return false;
    }
}

/* Counts one return of KVM_RUN by its cause (live validation's exit rate). */
static void count_exit(struct vmm_vcpu *v, int rc)
{
    int k = VMM_EXITK_OTHER;

    if (rc < 0)
        k = VMM_EXITK_KICK;
    else if (v->run->exit_reason == KVM_EXIT_IO && v->run->io.port == VMM_HYPERCALL_PORT)
        k = VMM_EXITK_HYPERCALL;
    else if (v->run->exit_reason == KVM_EXIT_IO && vmm_uart_owns(v->run->io.port))
        k = VMM_EXITK_CONSOLE;
    __atomic_add_fetch(&v->exits[k], 1, __ATOMIC_RELAXED);
}

void *vmm_vcpu_thread(void *arg)
{
    struct vmm_vcpu *v = arg;

    while (!__atomic_load_n(&v->m->stop, __ATOMIC_SEQ_CST)) {
        int rc;
        vmm_machine_park(v->m, v);          /* a live-validation pause */
        if (__atomic_load_n(&v->m->stop, __ATOMIC_SEQ_CST))
            break;
        rc = ioctl(v->fd, KVM_RUN, 0);
        count_exit(v, rc);
        if (rc < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;     /* kicked (stop, pause) or a harmless signal */
            vmm_errf("vmm: cpu %u: KVM_RUN: %s\n", v->index, strerror(errno));
            vmm_machine_request_stop(v->m, VMM_EXIT_VMM_ERROR);
            break;
        }
        if (!handle_exit(v))
            break;
    }
    vmm_machine_vcpu_exited(v->m);
    return NULL;
}
