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
#include "elf_image.h"
#include "hypercall.h"
#include "kvm.h"
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
    const struct vmm_validate_opts *validate;  /* NULL or mode off: no trace rings */
};

struct vmm_guest_result {
    int status;                     /* enum vmm_exit_status */
    double to_entry_ms;             /* run start -> CPU 0 online; < 0 if never */
    double to_output_ms;            /* run start -> first console byte; < 0 if none */
    double to_exit_ms;              /* run start -> stop */
    unsigned tests_passed, tests_failed, bad_calls;
    uint64_t online_mask;
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
int vmm_vcpu_create(struct vmm_machine *m, struct vmm_vcpu *v, unsigned index,
                    char *err, size_t errlen);

/* Thread body: KVM_RUN until m->stop, handling every exit. */
void *vmm_vcpu_thread(void *arg);

/* Prints RIP, the control registers, EFER and the GPRs of v (stderr). */
void vmm_vcpu_dump(struct vmm_vcpu *v, const char *why);

/* Closes the fd and unmaps kvm_run (after the thread was joined). */
void vmm_vcpu_destroy(struct vmm_vcpu *v);

#endif /* VMM_MACHINE_H */
