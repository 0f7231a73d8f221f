/*
 * The trace producer (include/guest/trace.h): the flusher domain's event
 * sink writes into the calling CPU's ring; attach and checkpoints are
 * hypercalls.
 */
#include "guest/trace.h"

#include "guest/arch.h"
#include "guest/assert.h"
#include "guest/bootinfo.h"
#include "guest/hypercall.h"
#include "guest/layout.h"
#include "guest/mm.h"
#include "guest/printf.h"
#include "guest/string.h"
#include "guest/trace_ring.h"

static bool enabled;
static uint32_t ring_count;
static struct vmm_trace_ring *rings[MAX_CPUS];
static uint32_t capacity[MAX_CPUS];     /* copied at attach: see trace_ring_push */

static void relax(void)
{
    cpu_relax();
}

static bool trace_off_by_bootarg(void)
{
    char v[8];
    return bootarg_get(bootinfo.bootargs, "trace", v, sizeof(v)) == 1 && strcmp(v, "off") == 0;
}

bool trace_attach(void)
{
    const struct trace_desc *t = &bootinfo.trace;
    if (!t->present)
        return false;
    if (trace_off_by_bootarg()) {
        kprintf("guest: trace: off (bootarg trace=off): running untraced\n");
        return false;
    }
    if (t->ring_count < bootinfo.ncpus) {
        kprintf("guest: trace: %u ring(s) for %u cpus: running untraced\n", t->ring_count,
                bootinfo.ncpus);
        return false;
    }
    for (uint32_t i = 0; i < t->ring_count; i++) {
        struct vmm_trace_ring *r = phys_to_virt(t->base + (uint64_t)i * t->ring_stride);
        const char *why = trace_ring_check(r, i, t->ring_stride);
        if (why) {
            kprintf("guest: trace: ring %u refused: %s: running untraced\n", i, why);
            return false;
        }
        rings[i] = r;
        capacity[i] = r->capacity;
    }
    int64_t ret = hypercall(VMM_HC_TRACE_ATTACH, t->ring_count, 0, 0, 0, 0);
    if (ret != 0) {
        kprintf("guest: trace: VMM_HC_TRACE_ATTACH failed (%lld): running untraced\n",
                (long long)ret);
        return false;
    }
    ring_count = t->ring_count;
    __atomic_store_n(&enabled, true, __ATOMIC_RELEASE);
    kprintf("guest: trace: %u ring(s) of %u records attached\n", ring_count, capacity[0]);
    return true;
}

bool trace_enabled(void)
{
    return __atomic_load_n(&enabled, __ATOMIC_RELAXED);
}

bool trace_node_allocs(void)
{
    return trace_enabled() && bootinfo.trace.event_version >= 2;   /* NODE_ALLOC: version 2 */
}

void trace_emit(void *ctx, const struct tlb_event *ev)
{
    (void)ctx;
    if (!trace_enabled())
        return;
    if (ev->cpu >= ring_count)               /* attach checked ring_count >= ncpus */
        PANIC("trace: event of cpu %u but only %u rings", ev->cpu, ring_count);
    /* Interrupts off: the IPI handler writes into the same ring. */
    uint64_t irq = irq_save();
    trace_ring_push(rings[ev->cpu], capacity[ev->cpu], ev, relax);
    irq_restore(irq);
}

int64_t vm_checkpoint(uint64_t label)
{
    if (!trace_enabled())
        return 0;
    uint64_t next = __atomic_load_n(&mm_tlb.seq, __ATOMIC_SEQ_CST);
    return hypercall(VMM_HC_CHECKPOINT, next, label, 0, 0, 0);
}
