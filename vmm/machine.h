/*
 * One guest run: a VM with its vCPU threads, devices and watchdog, from
 * creation to orderly teardown (docs/vmm.md "Boot flow").
 */
#ifndef VMM_MACHINE_H
#define VMM_MACHINE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "console.h"
#include "debug_exit.h"
#include "elf_image.h"
#include "fw_cfg.h"
#include "hypercall.h"
#include "kvm.h"
#include "multiboot.h"
#include "uart.h"
#include "trace_ring.h"
#include "validate.h"

struct vmm_guest_params {
    const char *label;              /* for messages: image path or "built-in guest" */
    const struct vmm_elf_image *image;  /* validated for `mem` */
    const uint8_t *firmware;        /* VMM_FW_ROM_SIZE bytes */
    size_t firmware_size;
    unsigned cpus;
    uint64_t mem;
    const char *bootargs;           /* never NULL */
    unsigned timeout_s;
    bool verbose;
    bool quiet;                     /* drop guest console output */
    /* non-NULL: a multiboot kernel, entered directly in 32-bit protected
     * mode with the information structure (docs/multiboot.md); no firmware */
    const struct vmm_mb_boot *multiboot;
    struct vmm_debug_exit debug_exit;   /* zero = no isa-debug-exit device */
    const struct vmm_validate_opts *validate;  /* NULL or mode off: no trace rings */
};

struct vmm_guest_result {
    int status;                     /* enum vmm_exit_status */
    double to_entry_ms;             /* run start -> CPU 0 online; < 0 if never */
    double to_output_ms;            /* run start -> first console byte; < 0 if none */
    double to_exit_ms;              /* run start -> stop */
    double setup_ms;                /* run start -> VM, memory, images, vCPUs ready */
    double teardown_ms;             /* stop -> everything closed and freed */
    unsigned tests_passed, tests_failed, bad_calls;
    uint64_t online_mask;
    bool debug_exit_written;        /* the run ended by the isa-debug-exit port */
    uint32_t debug_exit_value;      /* the value written there */
    struct vmm_validate_stats vstats;   /* live validation (attached = false if none) */
};

struct vmm_machine;

struct vmm_vcpu {
    struct vmm_machine *m;
    unsigned index;
    int fd;
    struct kvm_run *run;
    pthread_t thread;
    bool thread_started;
    uint64_t other_io;              /* accesses to ports nobody owns */
    /* Registers at the last exit (KVM_CAP_SYNC_REGS), for a triple-fault
     * report after AMD's KVM has reset the vCPU: */
    bool have_last;
    uint32_t last_exit_reason;
    struct kvm_regs last_regs;
    struct kvm_sregs last_sregs;
    uint64_t exits[VMM_EXITK_COUNT];  /* KVM_RUN returns by cause (atomic; validate.h) */
};

struct vmm_machine {
    struct vmm_kvm *kvm;
    struct vmm_vm vm;
    const struct vmm_guest_params *p;
    struct vmm_vcpu *vcpus;
    struct vmm_console console;
    struct vmm_uart uart;
    struct vmm_hc_ctx hc;
    struct vmm_fw_cfg fw_cfg;       /* enabled for multiboot guests */
    uint8_t *testdev_iomem;         /* pc-testdev iomem (multiboot guests), under lock */
    uint32_t testdev_ioport;        /* pc-testdev scratch port 0xe0, under lock */
    bool debug_exit_written;        /* under lock, with status */
    uint32_t debug_exit_value;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stop;                      /* atomic: every vCPU must leave KVM_RUN */
    int status;                     /* first stop reason wins (under lock) */
    struct timespec t0, t_stop;
    /* Live validation (validate.h): the rings, the driver, and the pause
     * that stops every vCPU outside KVM_RUN for an inspection. */
    struct vmm_trace_layout trace;
    struct vmm_validate *val;
    pthread_mutex_t plock;
    pthread_cond_t pcond;
    bool pausing;                   /* atomic: vCPUs must park */
    unsigned parked, exited;        /* under plock */
};

/*
 * Boots the guest and runs it to its end: guest exit, crash, error or the
 * watchdog (timeout_s).
 * Requires: k opened for >= p->cpus vCPUs; p->image validated with p->mem.
 * Guarantees: returns the run's exit status (also in r->status) after
 *   every vCPU thread has been joined and every VM resource freed;
 *   a crash, timeout or setup failure is reported on stderr.
 */
int vmm_machine_run(struct vmm_kvm *k, const struct vmm_guest_params *p,
                    struct vmm_guest_result *r);

/*
 * Writes the guest's boot data into its RAM the way the firmware expects it
 * (docs/boot.md): the kernel's segments, the FDT at VMM_FDT_ADDR
 * (vmm_fdt_build) and the boot handoff at VMM_BOOT_HANDOFF_ADDR. The VMM
 * and the KVM tests (tests/firmware/kvm_harness.c) both boot through it.
 * Requires: ram points to mem bytes of guest RAM; image validated by
 *   vmm_elf_parse for mem; 1 <= cpus <= VMM_MAX_CPUS; bootargs not NULL.
 * Guarantees: on 0, the guest can start at the reset vector.
 * Fails: -1, err names the libfdt error (the FDT exceeds VMM_FDT_MAX_SIZE).
 */
int vmm_machine_write_boot_data(uint8_t *ram, uint64_t mem, const struct vmm_elf_image *image,
                                unsigned cpus, const char *bootargs, char *err, size_t errlen);

/* Called by vCPU threads: records the stop reason (the first one wins)
 * and wakes the watchdog, which then stops every vCPU. */
void vmm_machine_request_stop(struct vmm_machine *m, int status);

/*
 * Stops every vCPU but `self` (-1: none) outside KVM_RUN, one pauser at a
 * time (a vCPU waiting to pause counts as parked meanwhile).
 * Guarantees: true when they are parked; false (nothing paused) when the
 * machine is stopping. vmm_machine_resume lets them run again.
 */
bool vmm_machine_pause(struct vmm_machine *m, int self);
void vmm_machine_resume(struct vmm_machine *m);

/* Called by a vCPU thread before KVM_RUN: waits while a pause is on. */
void vmm_machine_park(struct vmm_machine *m, struct vmm_vcpu *v);

/* Called by a vCPU thread as it ends (a pauser stops waiting for it). */
void vmm_machine_vcpu_exited(struct vmm_machine *m);

/* Creates vCPU `index` (fd, kvm_run mapping, CPUID, MP state) in v.
 * Fails (-1, err) on any KVM error. */

/* Called by a vCPU thread for a write of value to the isa-debug-exit
 * port: stops the run with vmm_debug_exit_status(value) and records the
 * value, if it is the first stop reason. */
void vmm_machine_debug_exit(struct vmm_machine *m, uint32_t value);

/* Creates vCPU `index` in v with vmm_kvm_vcpu_open (kvm_run mapping,
 * CPUID, MP state). Requires: v->fd == -1. Fails (-1, err) on any KVM
 * error, v then holding no descriptor. */
int vmm_vcpu_create(struct vmm_machine *m, struct vmm_vcpu *v, unsigned index,
                    char *err, size_t errlen);

/* Thread body: KVM_RUN until m->stop, handling every exit. */
void *vmm_vcpu_thread(void *arg);

/* Prints RIP, the control registers, EFER and the GPRs of v (stderr). */
void vmm_vcpu_dump(struct vmm_vcpu *v, const char *why);

/* Closes the fd and unmaps kvm_run (after the thread was joined). */
void vmm_vcpu_destroy(struct vmm_vcpu *v);

#endif /* VMM_MACHINE_H */
