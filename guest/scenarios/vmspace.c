/*
 * Scenario "vmspace" (the default): the reference VmSpace at work on every
 * CPU, on real page tables and TLBs (docs/guest-mm.md).
 *
 * NSPACES user spaces; ROUNDS rounds. In even rounds every CPU activates the
 * same space, in odd rounds CPU i activates space (i + round) % NSPACES, so
 * spaces are active on several CPUs and every edit needs cross-CPU
 * shootdowns. Each CPU owns one slice (SLICE_PAGES pages, its own 2 MiB) of
 * the space it has active, so cursors of several CPUs on one space run
 * concurrently. Per round, between barriers:
 *   map      fresh frames into the slice, write a pattern through the user VA
 *   read     each CPU reads its neighbour's slice (same space): its TLB now
 *            caches the neighbour's translations
 *   protect  the owner makes its slice read-only (shootdown)
 *   remap    the owner maps new frames over the slice (replace: old frames
 *            released after the flush); the neighbour must then read the
 *            new pattern: a stale TLB entry would show the old frame
 *   user     workload_user_phase (ring-3 programs join here)
 *   a/d      the accessed/dirty probe (scenarios/ad_probe.h) in the CPU's
 *            own 2 MiB at AD_BASE: pages mapped without A and D, a ring-3
 *            read and write, query and protect must show the MMU's bits
 *   unmap    the owner unmaps the slice (deferred release of every frame)
 * Later rounds get frames freed by earlier ones back from the allocator.
 * With tracing on, CPU 0 takes a host checkpoint at barriers, after every
 * shootdown has finished (no CPU is between a page-table store and its
 * event there).
 *
 * tlb_bug=untraced-store: in round 0, CPU 0 also maps the page after its
 * slice with a plain store that emits no event (vm_space_map_untraced); the
 * first checkpoint must report that entry.
 */
#include "guest/arch.h"
#include "guest/bootinfo.h"
#include "guest/frame_alloc.h"
#include "guest/percpu.h"
#include "guest/printf.h"
#include "guest/scenario.h"
#include "guest/tlb_bug.h"
#include "guest/trace.h"
#include "guest/workload.h"
#include "ad_probe.h"

#define NSPACES       3
#define ROUNDS        4
#define SLICE_PAGES   8
#define SLICE_BASE    0x10000000ull          /* CPU i: SLICE_BASE + i * 2 MiB */
#define SLICE_STRIDE  0x200000ull
#define AD_BASE       0x20000000ull          /* CPU i: AD_BASE + i * AD_PROBE_SPAN */
#define WAIT_US       30000000ull

struct cpu_stats {
    uint64_t maps, replaced, protects, unmaps, frames_unmapped, reused, ad_checks, failures;
} __attribute__((aligned(64)));

static struct vm_space *spaces[NSPACES];
static struct vm_space *active_of[MAX_CPUS];   /* per round: what CPU i activated */
static struct cpu_stats stats[MAX_CPUS];
static unsigned checkpoints;
/* Frames the workload ever had: a later allocation of one is a reuse. */
static uint64_t seen[FRAME_ALLOC_MAX_PHYS / FRAME_SIZE / 64];

static uint64_t slice_va(unsigned cpu)
{
    return SLICE_BASE + cpu * SLICE_STRIDE;
}

static uint64_t pattern(unsigned cpu, unsigned round, unsigned page, unsigned gen)
{
    return 0x564d5300000000ull | (uint64_t)gen << 24 | (uint64_t)round << 16 |
           (uint64_t)cpu << 8 | page;
}

static void fail(struct cpu_stats *st, const char *what, uint64_t va, int err)
{
    kprintf("vmspace: FAIL: cpu %u: %s at %#llx: %s\n", this_cpu()->index, what,
            (unsigned long long)va, err < 0 ? vm_error_name(err) : "unexpected result");
    st->failures++;
}

static struct pt_prop user_rw(void)
{
    return (struct pt_prop){ .flags = PT_RW, .priv = PT_PRIV_USER, .cache = PT_CACHE_WB };
}

static void clear_write(struct pt_prop *p, void *arg)
{
    (void)arg;
    p->flags &= (uint8_t)~PT_W;
}

static void note_frame(struct cpu_stats *st, uint64_t pa)
{
    uint64_t f = pa / FRAME_SIZE, bit = 1ull << (f % 64);
    if (__atomic_fetch_or(&seen[f / 64], bit, __ATOMIC_RELAXED) & bit)
        st->reused++;
}

/* tlb_bug=untraced-store: the page at `va`, in the slice's level-1 node, mapped to `pa` past the
 * page-table core: no event. The host's next checkpoint must name this entry. */
static void plant_untraced_store(struct vm_space *vs, uint64_t va, uint64_t pa, struct cpu_stats *st)
{
    uint64_t node;
    unsigned index;
    if (!vm_space_map_untraced(vs, va, pa, &node, &index)) {
        fail(st, "tlb_bug=untraced-store: no empty level-1 entry", va, 0);
        return;
    }
    kprintf("vmspace: tlb_bug=untraced-store: cpu %u mapped va %#llx to frame %#llx with a plain "
            "store into L1 node %#llx entry %u, and no event\n", this_cpu()->index,
            (unsigned long long)va, (unsigned long long)pa, (unsigned long long)node, index);
}

/* Maps SLICE_PAGES new frames over this CPU's slice of vs (replacing what is
 * there) and writes generation `gen`'s pattern through the user VA. */
static void map_slice(struct vm_space *vs, unsigned cpu, unsigned round, unsigned gen,
                      struct cpu_stats *st)
{
    uint64_t va = slice_va(cpu), first = 0;
    struct vm_cursor c;
    int r = vm_space_cursor_mut(vs, va, va + SLICE_PAGES * PAGE_SIZE, &c);
    if (r < 0) {
        fail(st, "cursor_mut", va, r);
        return;
    }
    for (unsigned p = 0; p < SLICE_PAGES; p++) {
        uint64_t pa;
        if (!vm_frame_alloc(&pa)) {
            fail(st, "vm_frame_alloc", va, PT_ERR_NOMEM);
            break;
        }
        note_frame(st, pa);
        r = vm_cursor_map(&c, pa, user_rw());
        if (r < 0) {
            vm_frame_put(pa);
            fail(st, "map", va + p * PAGE_SIZE, r);
            break;
        }
        st->maps++;
        st->replaced += (uint64_t)r;
        first = p == 0 ? pa : first;
    }
    vm_cursor_drop(&c);
    if (cpu == 0 && round == 0 && gen == 0 && first && mm_bug_planted(MM_BUG_UNTRACED_STORE))
        plant_untraced_store(vs, va + SLICE_PAGES * PAGE_SIZE, first, st);
    /* The space is active here: write through the new translations. */
    for (unsigned p = 0; p < SLICE_PAGES; p++)
        *(volatile uint64_t *)(uintptr_t)(va + p * PAGE_SIZE) = pattern(cpu, round, p, gen);
}

/* Reads `owner`'s slice (through the calling CPU's TLB) and checks both the
 * data and what a read-only cursor reports. */
static void check_slice(struct vm_space *vs, unsigned owner, unsigned round, unsigned gen,
                        struct cpu_stats *st)
{
    uint64_t va = slice_va(owner);
    for (unsigned p = 0; p < SLICE_PAGES; p++) {
        uint64_t want = pattern(owner, round, p, gen);
        uint64_t got = *(volatile uint64_t *)(uintptr_t)(va + p * PAGE_SIZE);
        if (got != want) {
            kprintf("vmspace: FAIL: cpu %u read %#llx at %#llx of cpu %u's slice, expected "
                    "%#llx (a stale translation?)\n", this_cpu()->index,
                    (unsigned long long)got, (unsigned long long)(va + p * PAGE_SIZE), owner,
                    (unsigned long long)want);
            st->failures++;
        }
    }
    struct vm_cursor c;
    struct vm_query q;
    int r = vm_space_cursor(vs, va, va + PAGE_SIZE, &c);
    if (r < 0) {
        fail(st, "cursor", va, r);
        return;
    }
    r = vm_cursor_query(&c, &q);
    if (r < 0 || !q.mapped || q.level != 1 || q.start != va ||
        *(volatile uint64_t *)vm_frame_ptr(q.pa) != pattern(owner, round, 0, gen))
        fail(st, "query of a mapped page", va, r);
    vm_cursor_drop(&c);
}

static void protect_slice(struct vm_space *vs, unsigned cpu, struct cpu_stats *st)
{
    uint64_t va = slice_va(cpu), n = 0;
    struct vm_cursor c;
    int r = vm_space_cursor_mut(vs, va, va + SLICE_PAGES * PAGE_SIZE, &c);
    if (r < 0) {
        fail(st, "cursor_mut", va, r);
        return;
    }
    r = vm_cursor_protect(&c, SLICE_PAGES * PAGE_SIZE, clear_write, NULL, &n);
    if (r < 0 || n != SLICE_PAGES)
        fail(st, "protect", va, r);
    st->protects += n;
    vm_cursor_drop(&c);
}

static void unmap_slice(struct vm_space *vs, unsigned cpu, struct cpu_stats *st)
{
    uint64_t va = slice_va(cpu), n = 0, found;
    struct vm_cursor c;
    int r = vm_space_cursor_mut(vs, va, va + SLICE_STRIDE, &c);
    if (r < 0) {
        fail(st, "cursor_mut", va, r);
        return;
    }
    r = vm_cursor_unmap(&c, SLICE_STRIDE, &n);
    if (r < 0 || n != SLICE_PAGES)
        fail(st, "unmap", va, r);
    st->unmaps++;
    st->frames_unmapped += n;
    /* Nothing is left: find_next over the whole slice finds no mapping. */
    if (vm_cursor_jump(&c, va) < 0 || vm_cursor_find_next(&c, SLICE_STRIDE, &found) != 0)
        fail(st, "find_next after unmap", va, 0);
    vm_cursor_drop(&c);
}

/* The accessed/dirty probe's report: failures are printed and counted. */
struct ad_ctx {
    struct cpu_stats *st;
    unsigned round;
};

static void ad_report(void *arg, const char *name, bool ok, const char *detail)
{
    struct ad_ctx *x = arg;
    if (ok)
        return;
    kprintf("vmspace: FAIL: cpu %u round %u: accessed/dirty %s: %s\n", this_cpu()->index,
            x->round, name, detail);
    x->st->failures++;
}

/* Pages made without A and D, touched by ring 3: query and protect must
 * report the bits the MMU set (docs/guest-mm.md "Accessed and dirty bits"). */
static void ad_phase(struct vm_space *vs, unsigned cpu, unsigned round, struct cpu_stats *st)
{
    struct ad_ctx x = { st, round };
    uint64_t base = AD_BASE + cpu * AD_PROBE_SPAN;
    st->ad_checks += ad_probe_run(vs, base, pattern(cpu, round, 0, 2), ad_report, &x);
    ad_probe_unmap(vs, base, AD_PROBE_FRAMES, ad_report, &x);
}

/* A barrier after which CPU 0 checks in with the host; the others wait at a
 * second barrier meanwhile. Shootdowns still in flight (their frees, their
 * acknowledgements) are waited for first. */
static void checkpoint_barrier(unsigned n, unsigned cpu, uint64_t label)
{
    cpu_barrier(n);
    if (cpu == 0 && trace_enabled()) {
        while (tlb_domain_live_batches(&mm_tlb) != 0)
            cpu_relax();
        int64_t r = vm_checkpoint(label);
        if (r != 0)
            kprintf("vmspace: checkpoint %#llx answered %lld\n", (unsigned long long)label,
                    (long long)r);
        checkpoints++;
    }
    cpu_barrier(n);
}

static void run_round(unsigned n, unsigned cpu, unsigned round, struct cpu_stats *st)
{
    struct vm_space *vs = spaces[round % 2 == 0 ? round % NSPACES : (cpu + round) % NSPACES];
    vm_space_activate(vs);
    active_of[cpu] = vs;
    unsigned next = (cpu + 1) % n;
    cpu_barrier(n);
    bool shared = active_of[next] == vs;   /* the neighbour's slice is in our space */

    map_slice(vs, cpu, round, 0, st);
    cpu_barrier(n);
    if (shared)
        check_slice(vs, next, round, 0, st);
    checkpoint_barrier(n, cpu, (uint64_t)round << 8 | 1);

    protect_slice(vs, cpu, st);
    cpu_barrier(n);
    if (shared)
        check_slice(vs, next, round, 0, st);     /* reads still work read-only */
    cpu_barrier(n);

    map_slice(vs, cpu, round, 1, st);            /* replaces every page */
    cpu_barrier(n);
    if (shared)
        check_slice(vs, next, round, 1, st);     /* the new frames, never the old */
    cpu_barrier(n);

    st->failures += workload_user_phase(vs, cpu, round);
    ad_phase(vs, cpu, round, st);
    cpu_barrier(n);

    unmap_slice(vs, cpu, st);
    checkpoint_barrier(n, cpu, (uint64_t)round << 8 | 2);
}

static void worker(void *arg)
{
    (void)arg;
    unsigned n = bootinfo.ncpus, cpu = this_cpu()->index;
    struct cpu_stats *st = &stats[cpu];
    irq_enable();                                /* serve shootdown IPIs */
    for (unsigned round = 0; round < ROUNDS; round++)
        run_round(n, cpu, round, st);
    vm_space_activate(NULL);                     /* back to the kernel table */
    cpu_barrier(n);
    irq_disable();
}

static int summary(unsigned n)
{
    struct cpu_stats t = { 0 };
    uint64_t sent = 0, received = 0, deferred = 0;
    for (unsigned c = 0; c < n; c++) {
        t.maps += stats[c].maps;
        t.replaced += stats[c].replaced;
        t.protects += stats[c].protects;
        t.unmaps += stats[c].unmaps;
        t.frames_unmapped += stats[c].frames_unmapped;
        t.reused += stats[c].reused;
        t.ad_checks += stats[c].ad_checks;
        t.failures += stats[c].failures;
        sent += mm_ipis_sent(c);
        received += mm_ipis_received(c);
        deferred += mm_ipis_deferred(c);
    }
    kprintf("vmspace: %u cpus, %u spaces, %u rounds: map %llu (replaced %llu), protect %llu, "
            "unmap %llu (%llu frames), frames reused %llu, accessed/dirty checks %llu, "
            "TLB IPIs sent %llu received %llu (put off %llu), checkpoints %u, failures %llu: "
            "%s\n",
            n, NSPACES, ROUNDS, (unsigned long long)t.maps, (unsigned long long)t.replaced,
            (unsigned long long)t.protects, (unsigned long long)t.unmaps,
            (unsigned long long)t.frames_unmapped, (unsigned long long)t.reused,
            (unsigned long long)t.ad_checks, (unsigned long long)sent, (unsigned long long)received,
            (unsigned long long)deferred, checkpoints,
            (unsigned long long)t.failures, t.failures ? "FAIL" : "ok");
    return t.failures ? 1 : 0;
}

int scenario_vmspace(void)
{
    unsigned n = bootinfo.ncpus;
    for (unsigned i = 0; i < NSPACES; i++) {
        spaces[i] = vm_space_new();
        if (!spaces[i]) {
            kprintf("vmspace: FAIL: vm_space_new: out of memory\n");
            return 1;
        }
    }
    if (!run_on_all_cpus(worker, NULL, WAIT_US))
        return 1;
    /* Every CPU is on the kernel table; wait for the last deferred frees. */
    irq_enable();
    while (tlb_domain_live_batches(&mm_tlb) != 0)
        cpu_relax();
    irq_disable();
    for (unsigned i = 0; i < NSPACES; i++) {
        int r = vm_space_destroy(spaces[i]);
        if (r < 0) {
            kprintf("vmspace: FAIL: vm_space_destroy: %s\n", vm_error_name(r));
            stats[0].failures++;
        }
    }
    if (trace_enabled()) {
        vm_checkpoint(0xffff);
        checkpoints++;
    }
    return summary(n);
}
