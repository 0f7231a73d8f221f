/*
 * Scenario "bench_vmspace": guest TSC cycles per 4 KiB VmSpace operation on
 * the BSP, printed as JSON lines (docs/guest-mm.md "Benchmark"). One
 * operation per call, as a page-at-a-time user of VmSpace would do them:
 *   map      vm_cursor_map of one fresh frame (an empty slot)
 *   protect  vm_cursor_protect of one page (RW -> R), with its flush
 *   unmap    vm_cursor_unmap of one page, with its flush and deferred free
 * and, as the lower bound measured in the same run, one 8-byte store into a
 * page-table-like array per page ("raw_store"). Tracing is on when the VMM
 * offers rings; boot with trace=off for the untraced numbers (the JSON says
 * which). Each figure is the best of REPS runs of PAGES pages.
 * Timings are never checked: the scenario fails only if an operation does.
 */
#include "guest/arch.h"
#include "guest/bootinfo.h"
#include "guest/printf.h"
#include "guest/scenario.h"
#include "guest/trace.h"
#include "guest/tsc.h"
#include "guest/vmspace.h"

#define PAGES 256
#define REPS  5
#define BASE  0x20000000ull

enum { OP_MAP, OP_PROTECT, OP_UNMAP, OP_RAW, NR_OPS };
static const char *const op_names[NR_OPS] = { "map", "protect", "unmap", "raw_store" };

static uint64_t frames[PAGES];
static uint64_t raw_array[PAGES * 8];   /* 8 bytes per page, a cache line apart */

static void read_only(struct pt_prop *p, void *arg)
{
    (void)arg;
    p->flags &= (uint8_t)~PT_W;
}

/* One run: map, protect and unmap PAGES pages one at a time; adds each
 * phase's cycles to best[] if better. Returns false on a failed operation. */
static bool one_run(struct vm_space *vs, uint64_t best[NR_OPS])
{
    struct vm_cursor c;
    uint64_t t[NR_OPS];
    for (unsigned i = 0; i < PAGES; i++)
        if (!vm_frame_alloc(&frames[i]))
            return false;
    if (vm_space_cursor_mut(vs, BASE, BASE + PAGES * PAGE_SIZE, &c) < 0)
        return false;
    bool ok = true;
    uint64_t t0 = rdtsc();
    for (unsigned i = 0; i < PAGES && ok; i++)
        ok = vm_cursor_map(&c, frames[i], (struct pt_prop){ PT_RW, PT_PRIV_USER, 0 }) == 0;
    t[OP_MAP] = rdtsc() - t0;
    ok = ok && vm_cursor_jump(&c, BASE) == 0;
    t0 = rdtsc();
    for (unsigned i = 0; i < PAGES && ok; i++)
        ok = vm_cursor_protect(&c, PAGE_SIZE, read_only, NULL, NULL) == 0;
    t[OP_PROTECT] = rdtsc() - t0;
    ok = ok && vm_cursor_jump(&c, BASE) == 0;
    t0 = rdtsc();
    for (unsigned i = 0; i < PAGES && ok; i++)
        ok = vm_cursor_unmap(&c, PAGE_SIZE, NULL) == 0;
    t[OP_UNMAP] = rdtsc() - t0;
    vm_cursor_drop(&c);
    t0 = rdtsc();
    for (unsigned i = 0; i < PAGES; i++)
        __atomic_store_n(&raw_array[i * 8], frames[i] | 0x67, __ATOMIC_RELAXED);
    t[OP_RAW] = rdtsc() - t0;
    for (unsigned k = 0; k < NR_OPS; k++)
        if (t[k] < best[k])
            best[k] = t[k];
    return ok;
}

int scenario_bench_vmspace(void)
{
    struct vm_space *vs = vm_space_new();
    if (!vs) {
        kprintf("bench_vmspace: FAIL: vm_space_new: out of memory\n");
        return 1;
    }
    vm_space_activate(vs);
    irq_enable();
    uint64_t best[NR_OPS] = { UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX };
    bool ok = true;
    for (unsigned r = 0; r < REPS && ok; r++)
        ok = one_run(vs, best);
    vm_space_activate(NULL);
    while (tlb_domain_live_batches(&mm_tlb) != 0)
        cpu_relax();
    irq_disable();
    if (!ok || vm_space_destroy(vs) < 0) {
        kprintf("bench_vmspace: FAIL: a VmSpace operation failed\n");
        return 1;
    }
    for (unsigned k = 0; k < NR_OPS; k++)
        kprintf("{\"bench\":\"bench_vmspace\",\"op\":\"%s\",\"pages\":%u,\"reps\":%u,"
                "\"cycles_per_page\":%llu,\"trace\":\"%s\",\"cpus\":%u,\"tsc_khz\":%llu}\n",
                op_names[k], PAGES, REPS, (unsigned long long)(best[k] / PAGES),
                trace_enabled() ? "on" : "off", bootinfo.ncpus, (unsigned long long)tsc_khz());
    return 0;
}
