/*
 * Atomic CPU sets. The one subtle part is the pairing between activation
 * (tlb_cpuset_add, then the CR3 load) and dispatch (PTE stores, then
 * tlb_cpuset_snapshot). Both the add and the snapshot are read-modify-write
 * operations on the same word, so they are totally ordered in its
 * modification order (C17 7.17.3 / the "RMW reads the last value" rule):
 *
 *  - If the activator's fetch_or comes first, the dispatcher's fetch_or(0)
 *    reads a value that contains the CPU: the CPU is a flush target.
 *  - If the dispatcher's fetch_or(0) comes first, it is a release operation
 *    and the activator's fetch_or is an acquire operation that reads the
 *    value it wrote (or a later one in its release sequence), so the
 *    dispatcher's PTE stores happen-before everything the activator does
 *    after its add, in particular the CR3 load and every page walk the
 *    hardware does from it: that CPU can only cache the new entries.
 *
 * Either way no CPU can hold a stale translation that the dispatcher does
 * not flush (bug class T10). A plain load on the dispatcher's side would not
 * do: a load cannot be a release operation, and it could read a stale value
 * that misses a concurrent activator that also missed the PTE stores (the
 * store-buffer pattern). This is OSTD's `cpus.load(Release)` implemented as
 * fetch_or(0) for the same reason. On x86 every locked RMW is also a full
 * fence, so the hardware gives at least this.
 */
#include "tlb/cpuset.h"

void tlb_cpuset_init(struct tlb_atomic_cpuset *s)
{
    __atomic_store_n(&s->bits, 0, __ATOMIC_RELAXED);
}

bool tlb_cpuset_add(struct tlb_atomic_cpuset *s, unsigned cpu)
{
    if (cpu >= TLB_MAX_CPUS)
        return false;
    __atomic_fetch_or(&s->bits, tlb_cpumask_of(cpu), __ATOMIC_ACQ_REL);
    return true;
}

void tlb_cpuset_remove(struct tlb_atomic_cpuset *s, unsigned cpu)
{
    /* Release: the CR3 load that left the space is ordered before the
       removal becomes visible, so a dispatcher that no longer sees this CPU
       can rely on its non-global entries for the space being gone. */
    if (cpu < TLB_MAX_CPUS)
        __atomic_fetch_and(&s->bits, ~tlb_cpumask_of(cpu), __ATOMIC_RELEASE);
}

tlb_cpumask_t tlb_cpuset_snapshot(struct tlb_atomic_cpuset *s)
{
    return __atomic_fetch_or(&s->bits, 0, __ATOMIC_ACQ_REL);
}

bool tlb_cpuset_contains(const struct tlb_atomic_cpuset *s, unsigned cpu)
{
    return tlb_cpumask_has(__atomic_load_n(&s->bits, __ATOMIC_RELAXED), cpu);
}
