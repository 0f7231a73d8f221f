/* Barriers and run-everywhere for scenarios (include/guest/workload.h). */
#include "guest/workload.h"

#include "guest/arch.h"
#include "guest/bootinfo.h"
#include "guest/percpu.h"
#include "guest/printf.h"
#include "guest/smp.h"

static uint32_t barrier_count, barrier_sense;

void cpu_barrier(unsigned n)
{
    uint32_t sense = __atomic_load_n(&barrier_sense, __ATOMIC_ACQUIRE);
    if (__atomic_add_fetch(&barrier_count, 1, __ATOMIC_ACQ_REL) == n) {
        __atomic_store_n(&barrier_count, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&barrier_sense, sense ^ 1, __ATOMIC_RELEASE);
        return;
    }
    while (__atomic_load_n(&barrier_sense, __ATOMIC_ACQUIRE) == sense)
        cpu_relax();
}

bool run_on_all_cpus(void (*fn)(void *), void *arg, uint64_t timeout_us)
{
    unsigned n = bootinfo.ncpus;
    for (unsigned c = 1; c < n; c++)
        smp_call(c, fn, arg);
    fn(arg);
    bool ok = true;
    for (unsigned c = 1; c < n; c++)
        if (!smp_call_wait(c, timeout_us)) {
            kprintf("guest: cpu %u did not finish its part within %llu ms\n", c,
                    (unsigned long long)(timeout_us / 1000));
            ok = false;
        }
    return ok;
}
