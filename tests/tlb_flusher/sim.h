/*
 * A deterministic, single-threaded simulation of a multi-CPU machine running
 * the TLB flusher over the real page-table core and the host platform.
 *
 * One simulated CPU runs at a time (sim->cur). An IPI sets a pending bit on
 * its targets; the interrupt is delivered when the scheduler picks that CPU,
 * or when some CPU spins (the platform relax hook): a spinning CPU lets the
 * other CPUs run, which is how sync on CPU i "runs the other CPUs until the
 * acks arrive". Everything the flusher, the page-table core and the
 * simulation do is recorded as events (abi/tlb_event.h) in one in-memory stream.
 * All randomness comes from one seeded generator, so a run is reproducible
 * from its printed seed.
 */
#ifndef TLB_SIM_H
#define TLB_SIM_H

#include <stdio.h>

#include "pagetable/host_platform.h"
#include "tlb/flusher_vmspace.h"

#define SIM_MAX_SPACES 8

struct sim_cpu {
    bool ipi_pending;
    uint64_t ipis, invlpg, full_flush, global_flush, cr3_loads;
};

struct sim {
    unsigned nr_cpus;
    unsigned cur;                      /* the CPU running now */
    struct sim_cpu cpu[TLB_MAX_CPUS];
    struct pt_host_platform hp;
    void *hp_ctx;                      /* the host platform's own ctx */
    const struct pt_platform_ops *hp_ops;
    struct pt_platform_ops wrap_ops;   /* hp's ops + event routing */
    uint8_t *node_level;               /* per frame: level if it is a page-table node */
    struct tlb_platform_ops tlb_ops;
    struct tlb_domain *dom;
    struct tlb_vmspace idle;           /* what a CPU runs when it has no space */
    struct tlb_vmspace spaces[SIM_MAX_SPACES];
    unsigned nr_spaces;
    uint64_t rng;
    /* The event stream. */
    struct tlb_event *ev;
    size_t nr_ev, cap_ev;
    bool ev_oom;
    bool recording;                    /* false once the machine powers off */
    uint64_t relax_idle;               /* consecutive relax calls with nothing to run */
    /*
     * Optional: while a CPU spins (relax), other CPUs keep running their own
     * operations, as they would on a real machine. With probability
     * nested_pct %, relax runs nested_op on another CPU (sim->cur switched
     * to it). Only one level deep; nested_op must not take a page-table
     * cursor that could overlap the spinning CPU's (a single-threaded
     * simulation cannot wait for it): use another address space.
     */
    bool (*nested_op)(struct sim *s, void *arg);
    void *nested_arg;
    unsigned nested_pct;
    unsigned nest_depth;
    uint64_t nested_runs;
    bool nested_failed;
    uint64_t baseline_live;            /* frames live before any space existed */
};

/*
 * Set up `nr_cpus` CPUs (1..64), `nr_spaces` user address spaces
 * (1..SIM_MAX_SPACES) over an arena of `nr_frames` frames, seeded with `seed`.
 * Returns false (with a message on stderr) if host memory runs out or an
 * argument is out of range. Every CPU starts on the idle space.
 */
bool sim_init(struct sim *s, unsigned nr_cpus, unsigned nr_spaces, uint64_t nr_frames, uint64_t seed);

/* Free everything. Requires sim_shutdown first (or a failed run). */
void sim_destroy(struct sim *s);

/*
 * Bring the machine to rest: every CPU switches to the idle space, every
 * pending interrupt is delivered, every space is destroyed.
 * Returns false (message on stderr) if kept batches remain alive or frames
 * leaked (the host platform's live count differs from the start).
 */
bool sim_shutdown(struct sim *s);

/* Run CPU `cpu` from now on (what the scheduler does). */
void sim_switch(struct sim *s, unsigned cpu);

/* Deliver a pending IPI to `cpu` if it has one; returns whether it had. */
bool sim_deliver(struct sim *s, unsigned cpu);

/* Deliver every pending IPI (repeatedly, until none is pending). */
void sim_deliver_all(struct sim *s);

/* Random numbers (xorshift64*): uniform in [0, n), n > 0. */
uint64_t sim_rand(struct sim *s, uint64_t n);

/* Allocate a tracked 4 KiB frame; returns 0 on out-of-memory. */
pt_paddr_t sim_alloc_frame(struct sim *s);

/* Convenience operations on the current CPU (each one cursor). Return the
   enum pt_error / tlb_error code of the underlying call (sim_map: 1 when it
   replaced a mapping, 0 when the slot was empty). */
int sim_map(struct sim *s, struct tlb_vmspace *vs, pt_vaddr_t va, struct pt_prop prop);
/* Map untracked memory at `pa` as one leaf of `level` (2: 2 MiB). */
int sim_map_huge(struct sim *s, struct tlb_vmspace *vs, pt_vaddr_t va, pt_paddr_t pa, int level,
                 struct pt_prop prop);
int sim_unmap(struct sim *s, struct tlb_vmspace *vs, pt_vaddr_t va, uint64_t len, bool sync);
int sim_protect(struct sim *s, struct tlb_vmspace *vs, pt_vaddr_t va, uint64_t len, uint8_t clear_flags,
                uint8_t set_flags);

/*
 * Write the event stream to `path` as a stream file (header + records).
 * Returns false with a message naming the path on failure.
 */
bool sim_write_stream(const struct sim *s, const char *path);

#endif /* TLB_SIM_H */
