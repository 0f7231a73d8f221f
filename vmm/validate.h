/*
 * Live validation (docs/live-validation.md): the driver between the guest's
 * trace rings and the TLB-ordering validator. A drain thread copies records
 * out of every ring while the vCPUs run (no VM exit per event), merges them
 * by seq, feeds tlb_validator_feed, and on the first violation or corrupt
 * ring stops the VM with VMM_EXIT_VALIDATION. Checkpoints (the guest's
 * VMM_HC_CHECKPOINT, every --check-every N events, the end of the run)
 * compare the model with the page tables in guest memory through hooks.
 *
 * KVM-free: the machine supplies pausing, inspection and stopping as
 * hooks, so the driver runs in unit tests against simulated rings.
 */
#ifndef VMM_VALIDATE_H
#define VMM_VALIDATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "tlb/validator.h"
#include "pa_set.h"
#include "trace_merge.h"
#include "trace_ring.h"

enum vmm_validate_mode { VMM_VALIDATE_TRACE = 0, VMM_VALIDATE_OFF = 1 };

struct vmm_validate_opts {
    enum vmm_validate_mode mode;   /* --validate (default trace) */
    const char *report_path;       /* --report FILE or NULL */
    const char *events_out_path;   /* --events-out FILE or NULL */
    uint64_t check_every;          /* --check-every N; 0 = only guest checkpoints and exit */
    bool dump_pt;                  /* --dump-pt */
};

/* One disagreement between guest memory (or a vCPU's registers) and the model. */
struct vmm_mismatch {
    uint32_t cpu;
    uint64_t node;                 /* page-table node (0 for a CR3 mismatch) */
    unsigned index;                /* entry in it */
    int level;
    uint64_t guest, model;         /* the values compared (A/D masked for PTEs) */
    char what[200];
};
#define VMM_MAX_MISMATCHES 16

/* How much one inspection compared: page-table entries compared with the
 * model, and entries it left alone because the model does not know them
 * (never written, in a node the stream did not allocate: built before the
 * guest attached). */
struct vmm_inspect_counts {
    uint64_t compared, unmodelled;
};

/* KVM exits (returns of KVM_RUN to the VMM) by cause. */
enum vmm_exit_kind {
    VMM_EXITK_CONSOLE = 0,     /* console output: UART port I/O (one exit per byte) or a print hypercall */
    VMM_EXITK_HYPERCALL,       /* the hypercall port (checkpoints included) */
    VMM_EXITK_KICK,            /* a signal or immediate_exit (pauses, stop) */
    VMM_EXITK_OTHER,
    VMM_EXITK_COUNT
};
struct vmm_exit_counts {
    uint64_t total, by[VMM_EXITK_COUNT];
};

struct vmm_validate_hooks {
    void *ctx;
    /* Stops every vCPU except `self` (-1: none) outside KVM_RUN; false when
     * the machine is stopping instead. */
    bool (*pause)(void *ctx, int self);
    void (*resume)(void *ctx);
    /* Compares every vCPU's CR3 and the page-table entries the model knows
     * (every entry of a node the stream allocated, tlb_validator_node_whole;
     * in other nodes the entries in `written`, those the stream stored to)
     * with the model; fills up to max mismatches, returns their total
     * number, and sets *counts. vCPUs are paused. */
    size_t (*inspect)(void *ctx, const struct tlb_validator *val,
                      const struct vmm_pa_set *written, struct vmm_mismatch *out, size_t max,
                      struct vmm_inspect_counts *counts);
    void (*stop)(void *ctx, int status);  /* request a VM stop */
    void (*exits)(void *ctx, struct vmm_exit_counts *out);  /* all vCPUs so far */
};

struct vmm_validate_stats {
    uint64_t events, flushes[5], dispatches, checkpoints_passed, periodic_checks;
    uint64_t violations;
    struct vmm_inspect_counts entries;     /* summed over every inspection (checkpoints,
                                              periodic checks and their rechecks) */
    struct vmm_exit_counts exits;          /* since attach */
    double drain_seconds;                  /* attach -> end */
    bool attached, failed;
};

struct vmm_validate;

/*
 * Creates the driver for `cpus` rings laid out by `l` in `ram`.
 * Requires: the rings were initialised (vmm_trace_rings_init); opt->mode is
 *   TRACE; hooks valid for the life of the driver.
 * Guarantees: NULL with err on failure (--events-out/--report cannot be
 *   opened, out of memory); the drain thread does not run before attach.
 */
struct vmm_validate *vmm_validate_create(const struct vmm_validate_opts *opt, uint8_t *ram,
                                         uint64_t mem, const struct vmm_trace_layout *l,
                                         const struct vmm_validate_hooks *hooks,
                                         char *err, size_t errlen);

/*
 * VMM_HC_TRACE_ATTACH from vCPU `cpu`: returns 0 and starts the drain
 * thread, or -VMM_EINVAL (reported) when nrings is not the ring count,
 * flags are not 0, or the guest attached before. Thread-safe.
 */
int64_t vmm_validate_attach(struct vmm_validate *v, unsigned cpu, uint64_t nrings,
                            uint64_t flags);

/*
 * VMM_HC_CHECKPOINT from vCPU `cpu`: pauses the other vCPUs, validates every
 * event with seq < next_seq, inspects. Returns 0 when it passed; on failure
 * prints the report, sets *stop and returns 0 (the vCPU stops anyway);
 * -VMM_EINVAL when not attached.
 */
int64_t vmm_validate_checkpoint(struct vmm_validate *v, unsigned cpu, uint64_t next_seq,
                                uint64_t label, bool *stop);

/*
 * The end of the run, after every vCPU thread stopped: joins the drain
 * thread, drains what is left, checks for gaps and, when the guest ended
 * by its own exit hypercall (`clean_exit`), runs the end-of-stream check
 * and a last inspection; prints the summary line (or the one line saying
 * the guest never attached), writes --report. Sets *status to
 * VMM_EXIT_VALIDATION when validation failed at any point.
 */
void vmm_validate_end(struct vmm_validate *v, bool clean_exit, int *status);

/* Counters (valid any time; exact after vmm_validate_end). */
void vmm_validate_get_stats(struct vmm_validate *v, struct vmm_validate_stats *out);

/* Frees everything (the thread must have been joined by vmm_validate_end,
 * or never started). NULL allowed. */
void vmm_validate_destroy(struct vmm_validate *v);

#endif /* VMM_VALIDATE_H */
