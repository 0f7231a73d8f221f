/* Per-CPU areas (include/guest/percpu.h). */
#include "guest/percpu.h"

#include "guest/arch.h"

struct percpu percpu_areas[MAX_CPUS];

void percpu_init(struct percpu *p)
{
    p->self = p;
    /* A per-CPU canary; the low byte is 0 so string overruns that stop at
     * a NUL cannot reproduce it (as glibc does). */
    uint64_t t = rdtsc();
    p->stack_canary = ((t * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)p->index << 32)) & ~0xffull;
    wrmsr(MSR_GS_BASE, (uint64_t)(uintptr_t)p);
    wrmsr(MSR_FS_BASE, (uint64_t)(uintptr_t)p);
}
