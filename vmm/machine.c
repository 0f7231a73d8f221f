/* One guest run: set-up, vCPU threads, watchdog, teardown; see machine.h. */
#include "machine.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libfdt.h>
#include <sys/ioctl.h>

#include "fdt_build.h"
#include "live.h"
#include "out.h"
#include "parse.h"
#include "abi/vmm.h"

static double ms_between(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) * 1e3 + (double)(b->tv_nsec - a->tv_nsec) / 1e6;
}

void vmm_machine_request_stop(struct vmm_machine *m, int status)
{
    pthread_mutex_lock(&m->lock);
    if (!__atomic_load_n(&m->stop, __ATOMIC_RELAXED)) {
        m->status = status;
        clock_gettime(CLOCK_MONOTONIC, &m->t_stop);
        __atomic_store_n(&m->stop, true, __ATOMIC_RELEASE);
    }
    pthread_cond_signal(&m->cond);
    pthread_mutex_unlock(&m->lock);
}

/* Loads the kernel, builds the FDT and writes the handoff into RAM. */
static int write_boot_data(struct vmm_machine *m, char *err, size_t errlen)
{
    const struct vmm_guest_params *p = m->p;
    uint8_t *ram = m->vm.ram;
    struct vmm_fdt_params fp = { p->mem, p->cpus, p->bootargs, p->image->lo, p->image->hi,
                                 0, 0, 0, 0 };
    struct vmm_boot_handoff h;

    fp.trace_base = m->trace.base;
    fp.trace_size = m->trace.size;
    fp.trace_stride = m->trace.stride;
    fp.trace_rings = m->trace.count;
    vmm_elf_load(p->image, ram);
    if (vmm_fdt_build(ram + VMM_FDT_ADDR, VMM_FDT_MAX_SIZE, &fp, err, errlen) < 0)
        return -1;
    h = (struct vmm_boot_handoff){
        .magic = VMM_BOOT_MAGIC, .abi_version = VMM_ABI_VERSION, .size = sizeof(h),
        .kernel_entry = p->image->entry, .fdt_addr = VMM_FDT_ADDR,
        .fdt_size = fdt_totalsize(ram + VMM_FDT_ADDR), .mem_size = p->mem,
    };
    memcpy(ram + VMM_BOOT_HANDOFF_ADDR, &h, sizeof(h));
    return 0;
}

static int setup(struct vmm_machine *m, char *err, size_t errlen)
{
    const struct vmm_guest_params *p = m->p;

    if (vmm_vm_create(m->kvm, &m->vm, p->mem, p->firmware, p->firmware_size, err,
                      errlen) < 0 ||
        vmm_live_layout(m, err, errlen) < 0 || write_boot_data(m, err, errlen) < 0)
        return -1;
    if (vmm_console_init(&m->console, p->cpus, p->verbose || p->cpus > 1, p->quiet) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    m->uart.console = &m->console;
    m->hc = (struct vmm_hc_ctx){ .ram = m->vm.ram, .mem_size = p->mem, .cpus = p->cpus,
                                 .console = &m->console, .verbose = p->verbose };
    if (vmm_live_create(m, err, errlen) < 0)
        return -1;
    m->vcpus = calloc(p->cpus, sizeof(*m->vcpus));
    if (!m->vcpus) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (unsigned i = 0; i < p->cpus; i++)
        m->vcpus[i].fd = -1;
    for (unsigned i = 0; i < p->cpus; i++)
        if (vmm_vcpu_create(m, &m->vcpus[i], i, err, errlen) < 0)
            return -1;
    return 0;
}

static int start_threads(struct vmm_machine *m, char *err, size_t errlen)
{
    for (unsigned i = 0; i < m->p->cpus; i++) {
        int rc = pthread_create(&m->vcpus[i].thread, NULL, vmm_vcpu_thread, &m->vcpus[i]);
        if (rc != 0) {
            snprintf(err, errlen, "cannot start the thread of vCPU %u: %s", i, strerror(rc));
            return -1;
        }
        m->vcpus[i].thread_started = true;
    }
    return 0;
}

/* Waits for a stop request or the deadline; returns true on timeout. */
static bool watchdog(struct vmm_machine *m)
{
    struct timespec deadline = m->t0;
    bool timed_out = false;

    deadline.tv_sec += m->p->timeout_s;
    pthread_mutex_lock(&m->lock);
    while (!__atomic_load_n(&m->stop, __ATOMIC_RELAXED)) {
        if (pthread_cond_timedwait(&m->cond, &m->lock, &deadline) == ETIMEDOUT &&
            !__atomic_load_n(&m->stop, __ATOMIC_RELAXED)) {
            m->status = VMM_EXIT_TIMEOUT;
            clock_gettime(CLOCK_MONOTONIC, &m->t_stop);
            __atomic_store_n(&m->stop, true, __ATOMIC_RELEASE);
            timed_out = true;
        }
    }
    pthread_mutex_unlock(&m->lock);
    return timed_out;
}

/* Makes every vCPU leave KVM_RUN (immediate_exit covers a vCPU about to
 * enter it, the signal one inside it) and joins every thread. */
static void stop_all(struct vmm_machine *m)
{
    if (!m->vcpus)
        return;
    __atomic_store_n(&m->stop, true, __ATOMIC_RELEASE);
    for (unsigned i = 0; i < m->p->cpus; i++) {
        struct vmm_vcpu *v = &m->vcpus[i];
        if (v->run)
            __atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_RELEASE);
        if (v->thread_started)
            pthread_kill(v->thread, SIGUSR1);
    }
    for (unsigned i = 0; i < m->p->cpus; i++) {
        if (m->vcpus[i].thread_started)
            pthread_join(m->vcpus[i].thread, NULL);
        m->vcpus[i].thread_started = false;
    }
}

static void report_timeout(struct vmm_machine *m)
{
    vmm_console_flush(&m->console);
    vmm_errf("vmm: timeout: the guest did not finish within %u s; all vCPUs stopped\n",
             m->p->timeout_s);
    for (unsigned i = 0; i < m->p->cpus; i++) {
        struct kvm_regs r;
        struct kvm_mp_state mp = { 0 };
        if (ioctl(m->vcpus[i].fd, KVM_GET_REGS, &r) == 0) {
            ioctl(m->vcpus[i].fd, KVM_GET_MP_STATE, &mp);
            vmm_errf("vmm: cpu %u at RIP=%016llx (mp_state %u)\n", i, r.rip, mp.mp_state);
        }
    }
}

static void teardown(struct vmm_machine *m)
{
    if (m->vcpus) {
        stop_all(m);
        for (unsigned i = 0; i < m->p->cpus; i++) {
            if (m->p->verbose && m->vcpus[i].other_io)
                vmm_errf("vmm: cpu %u: %" PRIu64 " accesses to unclaimed I/O ports\n", i,
                         m->vcpus[i].other_io);
            if (m->vcpus[i].m)
                vmm_vcpu_destroy(&m->vcpus[i]);
        }
        free(m->vcpus);
    }
    vmm_live_destroy(m);
    vmm_console_destroy(&m->console);
    vmm_vm_destroy(&m->vm);
    pthread_cond_destroy(&m->cond);
    pthread_mutex_destroy(&m->lock);
}

static void fill_result(struct vmm_machine *m, struct vmm_guest_result *r)
{
    r->status = m->status;
    r->to_exit_ms = ms_between(&m->t0, &m->t_stop);
    r->to_entry_ms = __atomic_load_n(&m->hc.cpu0_online, __ATOMIC_ACQUIRE)
                         ? ms_between(&m->t0, &m->hc.cpu0_online_at) : -1.0;
    r->to_output_ms = m->console.any_output
                          ? ms_between(&m->t0, &m->console.first_output_at) : -1.0;
    r->tests_passed = m->hc.tests_passed;
    r->tests_failed = m->hc.tests_failed;
    r->bad_calls = m->hc.bad_calls;
    r->online_mask = m->hc.online_mask;
}

int vmm_machine_run(struct vmm_kvm *k, const struct vmm_guest_params *p,
                    struct vmm_guest_result *r)
{
    struct vmm_machine m;
    pthread_condattr_t ca;
    char err[256];

    memset(&m, 0, sizeof(m));
    memset(r, 0, sizeof(*r));
    m.kvm = k;
    m.p = p;
    m.vm.fd = -1;
    clock_gettime(CLOCK_MONOTONIC, &m.t0);
    pthread_mutex_init(&m.lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);   /* watchdog immune to clock jumps */
    pthread_cond_init(&m.cond, &ca);
    pthread_condattr_destroy(&ca);

    if (setup(&m, err, sizeof(err)) < 0 || start_threads(&m, err, sizeof(err)) < 0) {
        vmm_errf("vmm: %s: %s\n", p->label, err);
        vmm_machine_request_stop(&m, VMM_EXIT_VMM_ERROR);
    } else if (watchdog(&m)) {
        stop_all(&m);
        report_timeout(&m);
    }
    stop_all(&m);
    vmm_console_flush(&m.console);
    vmm_live_end(&m, &r->vstats);
    fill_result(&m, r);
    teardown(&m);
    return r->status;
}
