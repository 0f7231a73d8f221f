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
#include "multiboot_entry.h"
#include "live.h"
#include "out.h"
#include "parse.h"
#include "pc_testdev.h"
#include "abi/vmm.h"

#define VMM_CHECK_PERIOD_S 1

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

void vmm_machine_debug_exit(struct vmm_machine *m, uint32_t value)
{
    pthread_mutex_lock(&m->lock);
    if (!__atomic_load_n(&m->stop, __ATOMIC_RELAXED)) {
        m->debug_exit_written = true;
        m->debug_exit_value = value;
    }
    pthread_mutex_unlock(&m->lock);
    vmm_machine_request_stop(m, vmm_debug_exit_status(value));
}

/* Loads the kernel and its boot data for the protocol it speaks. */
/* Loads a vmm-ABI kernel, builds the FDT that fp describes and writes the
 * handoff into RAM. */
static int write_abi_boot(uint8_t *ram, const struct vmm_elf_image *image,
                          const struct vmm_fdt_params *fp, char *err, size_t errlen)
{
    struct vmm_boot_handoff h;

    vmm_elf_load(image, ram);
    if (vmm_fdt_build(ram + VMM_FDT_ADDR, VMM_FDT_MAX_SIZE, fp, err, errlen) < 0)
        return -1;
    h = (struct vmm_boot_handoff){
        .magic = VMM_BOOT_MAGIC, .abi_version = VMM_ABI_VERSION, .size = sizeof(h),
        .kernel_entry = image->entry, .fdt_addr = VMM_FDT_ADDR,
        .fdt_size = fdt_totalsize(ram + VMM_FDT_ADDR), .mem_size = fp->mem_size,
    };
    memcpy(ram + VMM_BOOT_HANDOFF_ADDR, &h, sizeof(h));
    return 0;
}

/* Loads the kernel and its boot data for the protocol it speaks; a vmm-ABI
 * kernel's FDT describes the trace rings when live validation laid them out. */
static int write_boot(struct vmm_machine *m, char *err, size_t errlen)
{
    const struct vmm_guest_params *p = m->p;

    if (!p->multiboot) {
        struct vmm_fdt_params fp = { p->mem, p->cpus, p->bootargs, p->image->lo, p->image->hi,
                                     m->trace.base, m->trace.size, m->trace.stride,
                                     m->trace.count };
        return write_abi_boot(m->vm.ram, p->image, &fp, err, errlen);
    }
    vmm_elf_load(p->image, m->vm.ram);
    return vmm_mb_write_info(m->vm.ram, p->mem, p->multiboot, err, errlen);
}

int vmm_machine_write_boot_data(uint8_t *ram, uint64_t mem, const struct vmm_elf_image *image,
                                unsigned cpus, const char *bootargs, char *err, size_t errlen)
{
    struct vmm_fdt_params fp = { mem, cpus, bootargs, image->lo, image->hi, 0, 0, 0, 0 };

    return write_abi_boot(ram, image, &fp, err, errlen);
}

static int setup(struct vmm_machine *m, char *err, size_t errlen)
{
    const struct vmm_guest_params *p = m->p;
    struct timespec t_vm, t_data, t_vcpus;   /* set-up's own phases (--verbose) */

    if (vmm_vm_create(m->kvm, &m->vm, p->mem, p->firmware, p->firmware_size, err,
                      errlen) < 0 ||
        vmm_live_layout(m, err, errlen) < 0)
        return -1;
    clock_gettime(CLOCK_MONOTONIC, &t_vm);
    if (write_boot(m, err, errlen) < 0)
        return -1;
    clock_gettime(CLOCK_MONOTONIC, &t_data);
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
    if (p->multiboot)
        m->testdev_iomem = calloc(1, VMM_TESTDEV_IOMEM_SIZE);
    if (!m->vcpus || (p->multiboot && !m->testdev_iomem)) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (unsigned i = 0; i < p->cpus; i++)
        m->vcpus[i].fd = -1;
    for (unsigned i = 0; i < p->cpus; i++)
        if (vmm_vcpu_create(m, &m->vcpus[i], i, err, errlen) < 0)
            return -1;
    if (p->multiboot &&
        vmm_mb_enter(m->vcpus[0].fd, (uint32_t)p->image->entry, VMM_MB_INFO_ADDR,
                     err, errlen) < 0)
        return -1;
    clock_gettime(CLOCK_MONOTONIC, &t_vcpus);
    if (p->verbose)
        vmm_errf("vmm: timing: %s: set-up: VM, irqchip and memory %.3f ms, image and boot "
                 "data %.3f ms, console and %u vCPU(s) %.3f ms\n", p->label,
                 ms_between(&m->t0, &t_vm), ms_between(&t_vm, &t_data), p->cpus,
                 ms_between(&t_data, &t_vcpus));
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

/* Interrupts every running vCPU once (SIGUSR1: KVM_RUN returns EINTR), so
 * that a vCPU that KVM keeps inside KVM_RUN without ever exiting gets
 * looked at (vmm_vcpu_thread checks its state on EINTR). */
static void kick_all(struct vmm_machine *m)
{
    for (unsigned i = 0; i < m->p->cpus; i++)
        if (m->vcpus[i].thread_started)
            pthread_kill(m->vcpus[i].thread, SIGUSR1);
}

static bool before(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* Waits for a stop request or the deadline; returns true on timeout. Every
 * VMM_CHECK_PERIOD_S in between, every vCPU is kicked (kick_all). */
static bool watchdog(struct vmm_machine *m)
{
    struct timespec deadline = m->t0, now, tick;
    bool timed_out = false;

    deadline.tv_sec += m->p->timeout_s;
    pthread_mutex_lock(&m->lock);
    while (!__atomic_load_n(&m->stop, __ATOMIC_RELAXED)) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        tick = now;
        tick.tv_sec += VMM_CHECK_PERIOD_S;
        if (before(&deadline, &tick))
            tick = deadline;
        if (pthread_cond_timedwait(&m->cond, &m->lock, &tick) != ETIMEDOUT ||
            __atomic_load_n(&m->stop, __ATOMIC_RELAXED))
            continue;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (!before(&now, &deadline)) {
            m->status = VMM_EXIT_TIMEOUT;
            clock_gettime(CLOCK_MONOTONIC, &m->t_stop);
            __atomic_store_n(&m->stop, true, __ATOMIC_RELEASE);
            timed_out = true;
        } else {
            pthread_mutex_unlock(&m->lock);
            kick_all(m);
            pthread_mutex_lock(&m->lock);
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
    vmm_fw_cfg_destroy(&m->fw_cfg);
    free(m->testdev_iomem);
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
    r->debug_exit_written = m->debug_exit_written;
    r->debug_exit_value = m->debug_exit_value;
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
    vmm_fw_cfg_init(&m.fw_cfg, p->multiboot != NULL, p->mem, p->cpus);

    struct timespec t_setup, t_down0, t_down1;
    int set = setup(&m, err, sizeof(err));
    clock_gettime(CLOCK_MONOTONIC, &t_setup);   /* phase timing (--verbose, --bench) */
    if (set < 0 || start_threads(&m, err, sizeof(err)) < 0) {
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
    clock_gettime(CLOCK_MONOTONIC, &t_down0);
    teardown(&m);
    clock_gettime(CLOCK_MONOTONIC, &t_down1);
    r->setup_ms = ms_between(&m.t0, &t_setup);
    r->teardown_ms = ms_between(&t_down0, &t_down1);
    return r->status;
}
