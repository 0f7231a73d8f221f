/*
 * CPU sets: OSTD's CpuSet / AtomicCpuSet for CPUs 0..63 (one 64-bit word).
 *
 * A VmSpace keeps an atomic set of the CPUs that have activated it (loaded
 * its root into CR3). The flusher snapshots that set when it dispatches a
 * flush; activation adds a CPU to it. The two sides must be ordered so that
 * no CPU can cache a translation the dispatcher removed without being in
 * the snapshot (issue 3 §2; bug class T10). The argument is written next to
 * tlb_cpuset_add and tlb_cpuset_snapshot in cpuset.c.
 *
 * Freestanding: only <stdint.h>/<stdbool.h> and GCC __atomic builtins.
 */
#ifndef TLB_CPUSET_H
#define TLB_CPUSET_H

#include <stdbool.h>
#include <stdint.h>

#ifndef TLB_MAX_CPUS  /* also defined (identically) by abi/tlb_event.h */
#define TLB_MAX_CPUS 64u
#endif

/* A plain (non-atomic) set: bit i = CPU i. A snapshot; copy it freely. */
typedef uint64_t tlb_cpumask_t;

static inline tlb_cpumask_t tlb_cpumask_of(unsigned cpu)
{
    return cpu < TLB_MAX_CPUS ? (tlb_cpumask_t)1 << cpu : 0;
}

static inline bool tlb_cpumask_has(tlb_cpumask_t m, unsigned cpu)
{
    return cpu < TLB_MAX_CPUS && ((m >> cpu) & 1u) != 0;
}

/* Number of CPUs in the set. */
static inline unsigned tlb_cpumask_count(tlb_cpumask_t m)
{
    /* Not __builtin_popcountll: without -mpopcnt that calls libgcc's
       __popcountdi2, which freestanding users may not link. */
    unsigned n = 0;
    for (; m; m &= m - 1)
        n++;
    return n;
}

/* A set shared between CPUs; every access is atomic. Zero-initialised = empty. */
struct tlb_atomic_cpuset {
    uint64_t bits;
};

/* Make the set empty. Requires: no concurrent users (initialisation only). */
void tlb_cpuset_init(struct tlb_atomic_cpuset *s);

/*
 * Add `cpu` to the set (an acquire-release fetch_or).
 * Requires: cpu < TLB_MAX_CPUS (larger ids are ignored and return false).
 * Guarantees: returns true. Pairs with tlb_cpuset_snapshot: either the
 *   snapshot contains `cpu`, or every store the dispatcher made before its
 *   snapshot (the PTE stores being flushed) is visible to this CPU after
 *   the add, so the CR3 load that follows walks the new tables.
 */
bool tlb_cpuset_add(struct tlb_atomic_cpuset *s, unsigned cpu);

/*
 * Remove `cpu` from the set (a release fetch_and).
 * Requires: cpu < TLB_MAX_CPUS (larger ids are ignored). Called only after
 *   the CPU stopped using the space AND flushed its non-global entries (the
 *   CR3 load of the next space does both), so nothing it may still cache
 *   belongs to this set's space.
 */
void tlb_cpuset_remove(struct tlb_atomic_cpuset *s, unsigned cpu);

/*
 * The set's current members, read with an acquire-release fetch_or(0): a
 * read-modify-write, so it reads the latest value in the set's modification
 * order and is ordered after the caller's earlier stores (see cpuset.c).
 */
tlb_cpumask_t tlb_cpuset_snapshot(struct tlb_atomic_cpuset *s);

/* Whether `cpu` is in the set (relaxed load; for assertions and tests only). */
bool tlb_cpuset_contains(const struct tlb_atomic_cpuset *s, unsigned cpu);

#endif /* TLB_CPUSET_H */
