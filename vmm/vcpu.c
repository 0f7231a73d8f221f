/* vCPU creation, run loop and exit handling; see machine.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "machine.h"
#include "out.h"
#include "parse.h"
#include "pio_insn.h"
#include "pc_testdev.h"
#include "abi/vmm.h"

int vmm_vcpu_create(struct vmm_machine *m, struct vmm_vcpu *v, unsigned index,
                    char *err, size_t errlen)
{
    v->m = m;
    v->index = index;
    if (vmm_kvm_vcpu_open(m->kvm, &m->vm, index, m->p->cpus, &v->fd, &v->run, err, errlen) < 0)
        return -1;
    /* Have KVM store the registers in kvm_run at every exit, so that the
     * state before a triple fault survives KVM's reset of the vCPU on AMD
     * (see note_exit). */
    if ((ioctl(m->kvm->fd, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS) &
         (KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS)) == (KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS))
        v->run->kvm_valid_regs = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS;
    return 0;
}

void vmm_vcpu_destroy(struct vmm_vcpu *v)
{
    vmm_kvm_vcpu_close(v->m->kvm, v->fd, v->run);
    v->run = NULL;
    v->fd = -1;
}

static void dump_regs(const struct vmm_vcpu *v, const char *why, const struct kvm_regs *r,
                      const struct kvm_sregs *s)
{
    vmm_errf("vmm: cpu %u: %s\n"
             "  RIP=%016llx RSP=%016llx RFLAGS=%016llx CS=%04x\n"
             "  CR0=%016llx CR2=%016llx CR3=%016llx CR4=%016llx EFER=%016llx\n"
             "  GDTR=%016llx/%04x IDTR=%016llx/%04x\n"
             "  RAX=%016llx RBX=%016llx RCX=%016llx RDX=%016llx\n"
             "  RSI=%016llx RDI=%016llx RBP=%016llx\n"
             "  R8 =%016llx R9 =%016llx R10=%016llx R11=%016llx\n"
             "  R12=%016llx R13=%016llx R14=%016llx R15=%016llx\n",
             v->index, why, r->rip, r->rsp, r->rflags, s->cs.selector,
             s->cr0, s->cr2, s->cr3, s->cr4, s->efer,
             s->gdt.base, s->gdt.limit, s->idt.base, s->idt.limit,
             r->rax, r->rbx, r->rcx, r->rdx, r->rsi, r->rdi, r->rbp,
             r->r8, r->r9, r->r10, r->r11, r->r12, r->r13, r->r14, r->r15);
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
    dump_regs(v, why, &r, &s);
}

/* Keeps the registers KVM stored at this exit or interrupted KVM_RUN
 * (KVM_CAP_SYNC_REGS): the last state the VMM saw before a triple fault. */
static void note_exit(struct vmm_vcpu *v)
{
    if (!(v->run->kvm_valid_regs & KVM_SYNC_X86_SREGS) ||
        v->run->exit_reason == KVM_EXIT_SHUTDOWN)
        return;
    v->last_regs = v->run->s.regs.regs;
    v->last_sregs = v->run->s.regs.sregs;
    v->last_exit_reason = v->run->exit_reason;
    v->have_last = true;
}

/* The architectural reset state (RIP 0xfff0 in CS based at 0xffff0000,
 * protection off): what AMD's KVM leaves after a shutdown. (Its CR0 is
 * 0x10 there, not the architectural 0x60000010.) */
static bool in_reset_state(const struct kvm_regs *r, const struct kvm_sregs *s)
{
    return r->rip == 0xfff0 && s->cs.base == 0xffff0000ull && !(s->cr0 & 1);
}

/* A triple fault. On Intel the registers are those of the fault; on AMD
 * (always, in the sandbox) KVM has already reset the vCPU, so the report
 * shows the state at the vCPU's last exit before it instead, saying so. */
static void triple_fault(struct vmm_vcpu *v)
{
    struct kvm_regs r;
    struct kvm_sregs s;
    char why[200];

    vmm_console_flush(&v->m->console);
    if (ioctl(v->fd, KVM_GET_REGS, &r) < 0 || ioctl(v->fd, KVM_GET_SREGS, &s) < 0 ||
        !in_reset_state(&r, &s)) {
        vmm_vcpu_dump(v, "triple fault (KVM_EXIT_SHUTDOWN)");
    } else if (v->have_last) {
        snprintf(why, sizeof(why), "triple fault (KVM_EXIT_SHUTDOWN); KVM has reset this "
                 "vCPU (AMD), so these are its registers at its last exit before the "
                 "fault (exit reason %u)", v->last_exit_reason);
        dump_regs(v, why, &v->last_regs, &v->last_sregs);
    } else {
        dump_regs(v, "triple fault (KVM_EXIT_SHUTDOWN); KVM has reset this vCPU (AMD) "
                  "and it never exited before, so only the reset state is known", &r, &s);
    }
    vmm_machine_request_stop(v->m, VMM_EXIT_GUEST_CRASH);
}

static void crash(struct vmm_vcpu *v, const char *why)
{
    vmm_console_flush(&v->m->console);
    vmm_vcpu_dump(v, why);
    vmm_machine_request_stop(v->m, VMM_EXIT_GUEST_CRASH);
}

/* Up to max bytes at guest-linear address lin, read through the
 * guest's own translation (KVM_TRANSLATE, once per page) from RAM or the
 * ROM; returns how many could be read. */
static size_t fetch_code(struct vmm_vcpu *v, uint64_t lin, uint8_t *buf, size_t max)
{
    const struct vmm_vm *vm = &v->m->vm;
    struct kvm_translation t = { 0 };
    size_t n = 0;

    for (; n < max; n++, lin++) {
        uint64_t gpa;
        if (n == 0 || (lin & 0xfff) == 0) {
            t = (struct kvm_translation){ .linear_address = lin & ~0xfffull };
            if (ioctl(v->fd, KVM_TRANSLATE, &t) < 0 || !t.valid)
                break;
        }
        gpa = t.physical_address + (lin & 0xfff);
        if (gpa < vm->mem_size)
            buf[n] = vm->ram[gpa];
        else if (gpa >= VMM_FW_ROM_ADDR && gpa - VMM_FW_ROM_ADDR < VMM_FW_ROM_SIZE)
            buf[n] = vm->rom[gpa - VMM_FW_ROM_ADDR];
        else
            break;
    }
    return n;
}

/* True when the 4-byte write to the hypercall port came from OUTS (or REP
 * OUTS with a count of 1), which KVM reports like OUT: the ABI refuses it.
 * Decided from the data (for OUT it is eax itself) and the code: KVM exits
 * for OUT with RIP still at the instruction, but completes an emulated
 * OUTS first, leaving RIP after it. So: an OUTS at RIP, or no OUT at RIP
 * and an OUTS opcode just before it. */
static bool hypercall_by_outs(struct vmm_vcpu *v, const uint8_t *data)
{
    struct kvm_regs r;
    struct kvm_sregs s;
    uint8_t code[1 + VMM_INSN_MAX];
    uint64_t lin;
    uint32_t word;
    size_t n;
    enum vmm_pio_kind at_rip;

    if (ioctl(v->fd, KVM_GET_REGS, &r) < 0 || ioctl(v->fd, KVM_GET_SREGS, &s) < 0)
        return false;       /* hypercall() reports the failing ioctl */
    memcpy(&word, data, sizeof(word));
    if (word != (uint32_t)r.rax)
        return true;
    lin = s.cs.l ? r.rip : s.cs.base + (uint32_t)r.rip;
    n = fetch_code(v, lin - 1, code, sizeof(code));
    if (n == 0)             /* the byte before RIP is unreadable: RIP on */
        return vmm_pio_classify(code + 1, fetch_code(v, lin, code + 1, VMM_INSN_MAX),
                                s.cs.l) == VMM_PIO_STRING;
    at_rip = vmm_pio_classify(code + 1, n - 1, s.cs.l);
    return at_rip == VMM_PIO_STRING ||
           (at_rip == VMM_PIO_UNKNOWN && (code[0] == 0x6e || code[0] == 0x6f));
}

/* Reads the arguments, runs the hypercall, writes rax back. */
/* count_exit saw only the port; move this exit from one cause to another. */
static void recount_exit(struct vmm_vcpu *v, int from, int to)
{
    __atomic_sub_fetch(&v->exits[from], 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&v->exits[to], 1, __ATOMIC_RELAXED);
}

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
    if ((uint32_t)call.nr == VMM_HC_PRINT)   /* console output, whichever way it came */
        recount_exit(v, VMM_EXITK_HYPERCALL, VMM_EXITK_CONSOLE);
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
        if (out && run->io.size == 4 && run->io.count == 1 && hypercall_by_outs(v, data)) {
            vmm_errf("vmm: cpu %u: hypercall port written by OUTS, not OUT; refused, "
                     "nothing run\n", v->index);
            __atomic_add_fetch(&v->m->hc.bad_calls, 1, __ATOMIC_RELAXED);
            return 0;
        }
        if (out && run->io.size == 4 && run->io.count == 1)
            return hypercall(v);
        vmm_errf("vmm: cpu %u: malformed hypercall (%s, %u bytes x %u); ignored\n",
                 v->index, out ? "out" : "in", run->io.size, run->io.count);
        __atomic_add_fetch(&v->m->hc.bad_calls, 1, __ATOMIC_RELAXED);
        if (!out)
            memset(data, 0xff, bytes);
        return 0;
    }
    if (vmm_debug_exit_owns(&v->m->p->debug_exit, run->io.port)) {
        uint32_t value = 0;
        if (!out) {
            memset(data, 0xff, bytes);
            return 0;
        }
        memcpy(&value, data, run->io.size < 4 ? run->io.size : 4);
        vmm_machine_debug_exit(v->m, value);
        return 0;
    }
    if (vmm_fw_cfg_owns(&v->m->fw_cfg, run->io.port)) {
        for (uint32_t i = 0; i < run->io.count; i++)
            vmm_fw_cfg_access(&v->m->fw_cfg, run->io.port, out, data + i * run->io.size,
                              run->io.size);
        return 0;
    }
    if (v->m->p->multiboot && vmm_testdev_ioport_owns(run->io.port)) {
        pthread_mutex_lock(&v->m->lock);
        for (uint32_t i = 0; i < run->io.count; i++)
            vmm_testdev_ioport(&v->m->testdev_ioport, out, data + i * run->io.size,
                               run->io.size);
        pthread_mutex_unlock(&v->m->lock);
        return 0;
    }
    if (v->m->p->multiboot && vmm_testdev_owns(run->io.port) && out) {
        char err[160];
        if (vmm_testdev_irq(v->m->vm.fd, run->io.port, data[0], err, sizeof(err)) < 0) {
            vmm_errf("vmm: cpu %u: pc-testdev: %s\n", v->index, err);
            return -1;
        }
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

/* The pc-testdev iomem window of multiboot guests; false if not there. */
static bool testdev_mmio(struct vmm_vcpu *v)
{
    bool done;

    if (!v->m->testdev_iomem || v->run->mmio.len > 8)
        return false;
    pthread_mutex_lock(&v->m->lock);
    done = vmm_testdev_iomem(v->m->testdev_iomem, v->run->mmio.phys_addr,
                             v->run->mmio.is_write, v->run->mmio.data, v->run->mmio.len);
    pthread_mutex_unlock(&v->m->lock);
    return done;
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
        triple_fault(v);
        return false;
    case KVM_EXIT_MMIO:
        if (testdev_mmio(v))
            return true;
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

/* Called when KVM_RUN was interrupted (the watchdog kicks every vCPU each
 * second): a page-table root outside guest RAM makes KVM retry the CPU's
 * page walk forever without an exit, so nothing else would ever report it.
 * Returns false (after the crash report) when the vCPU must stop. */
static bool check_stuck(struct vmm_vcpu *v)
{
    struct kvm_sregs s;
    uint64_t root;
    char why[200], m[32];

    if (ioctl(v->fd, KVM_GET_SREGS, &s) < 0 || !(s.cr0 & 0x80000000ull))
        return true;                     /* paging off: no page walks */
    root = s.cr3 & 0x000ffffffffff000ull;
    if (root < v->m->vm.mem_size ||
        (root >= VMM_FW_ROM_ADDR && root - VMM_FW_ROM_ADDR < VMM_FW_ROM_SIZE))
        return true;
    snprintf(why, sizeof(why), "page-table root CR3=%016llx lies outside guest RAM (%s): "
             "no page walk can complete (KVM retries it without exiting)",
             (unsigned long long)s.cr3, vmm_format_size(v->m->vm.mem_size, m, sizeof(m)));
    crash(v, why);
    return false;
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
        vmm_machine_park(v->m, v);          /* a live-validation pause */
        if (__atomic_load_n(&v->m->stop, __ATOMIC_SEQ_CST))
            break;
        int rc = ioctl(v->fd, KVM_RUN, 0);
        int e = rc < 0 ? errno : 0;
        count_exit(v, rc);
        if (rc < 0) {
            if (e == EINTR)
                note_exit(v);     /* the watchdog's kick: a fresher snapshot */
            if (e == EINTR && !__atomic_load_n(&v->m->stop, __ATOMIC_ACQUIRE) &&
                !check_stuck(v))
                break;
            if (e == EINTR || e == EAGAIN)
                continue;     /* kicked (stop, pause, check) or a harmless signal */
            vmm_errf("vmm: cpu %u: KVM_RUN: %s\n", v->index, strerror(e));
            vmm_machine_request_stop(v->m, VMM_EXIT_VMM_ERROR);
            break;
        }
        note_exit(v);
        if (!handle_exit(v))
            break;
    }
    vmm_machine_vcpu_exited(v->m);
    return NULL;
}
