/*
 * Randomised workloads for the simulated machine: map / unmap / protect /
 * activate sequences on several CPUs and address spaces, interleaved with
 * interrupt deliveries, all drawn from the simulation's seeded generator.
 */
#ifndef TLB_WORKLOAD_H
#define TLB_WORKLOAD_H

#include "sim.h"

struct workload_opts {
    uint64_t nr_ops;          /* operations to run (map/unmap/protect/activate) */
    unsigned global_pct;      /* % of maps that create global (G=1) leaves */
    unsigned async_unmap_pct; /* % of unmaps that do not sync (OSTD VmSpace::unmap) */
    unsigned huge_pct;        /* % of maps that map an untracked 2 MiB leaf */
    unsigned nested_pct;      /* % of spins in which another CPU runs an operation meanwhile */
    pt_vaddr_t base;          /* start of the VA window each space uses */
    uint64_t window_pages;    /* its size in 4 KiB pages */
};

/* Defaults: no async unmaps, 2% global maps, 3% huge (2 MiB) maps, other
   CPUs run an operation in 30% of spins, a 4 MiB window at 1 GiB. */
struct workload_opts workload_default_opts(uint64_t nr_ops);

struct workload_stats {
    uint64_t maps, huge_maps, replaced, unmaps, protects, activations, deliveries, failures;
    uint64_t nested;          /* operations run by other CPUs while one spun */
};

/*
 * Run opts->nr_ops operations on `s`. An operation that fails with
 * PT_ERR_NOMEM is counted in failures (the arena may run dry); any other
 * error is a bug and makes this return false with a message on stderr.
 */
bool workload_run(struct sim *s, const struct workload_opts *opts, struct workload_stats *st);

#endif /* TLB_WORKLOAD_H */
