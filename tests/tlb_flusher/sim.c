/*
 * The simulated machine: platform callbacks for the flusher and the
 * page-table core, IPI delivery, and the recorded event stream. See sim.h.
 */
#include "sim.h"

#include <stdlib.h>
#include <string.h>

/* ---- the page-table platform, wrapped to route node allocations, PTE stores and frees ---- */

static void *w_phys_to_virt(void *ctx, pt_paddr_t pa)
{
    struct sim *s = ctx;
    return s->hp_ops->phys_to_virt(s->hp_ctx, pa);
}

static bool w_alloc_frame(void *ctx, pt_paddr_t *pa)
{
    struct sim *s = ctx;
    return s->hp_ops->alloc_frame(s->hp_ctx, pa);
}

static void w_release_frame(void *ctx, pt_paddr_t pa)
{
    struct sim *s = ctx;
    uint64_t fn = pa >> PT_BASE_PAGE_SHIFT;
    /* frame.c has already reset the frame's metadata, so the simulation
       remembers which frames are nodes (from their allocation). */
    if (s->dom)
        tlb_note_frame_free(s->dom, pa, s->node_level[fn]);
    s->node_level[fn] = 0;
    s->hp_ops->release_frame(s->hp_ctx, pa);
}

static void w_pte_stored(void *ctx, const struct pt_pte_store *st)
{
    struct sim *s = ctx;
    if (s->dom)
        tlb_note_pte_store(s->dom, st);
}

static void w_node_allocated(void *ctx, pt_paddr_t pa, int level)
{
    struct sim *s = ctx;
    s->node_level[pa >> PT_BASE_PAGE_SHIFT] = (uint8_t)level;
    if (s->dom)
        tlb_note_node_alloc(s->dom, pa, level);
}

/* ---- the flusher platform ---- */

static unsigned p_cpu_id(void *ctx)
{
    return ((struct sim *)ctx)->cur;
}

static void p_send_ipi(void *ctx, tlb_cpumask_t targets)
{
    struct sim *s = ctx;
    for (unsigned c = 0; c < s->nr_cpus; c++)
        if (tlb_cpumask_has(targets, c)) {
            s->cpu[c].ipi_pending = true;
            s->cpu[c].ipis++;
        }
}

static void p_flush_page(void *ctx, pt_vaddr_t va)
{
    (void)va;
    struct sim *s = ctx;
    s->cpu[s->cur].invlpg++;
}

static void p_flush_all_nonglobal(void *ctx)
{
    struct sim *s = ctx;
    s->cpu[s->cur].full_flush++;
}

static void p_flush_all_global(void *ctx)
{
    struct sim *s = ctx;
    s->cpu[s->cur].global_flush++;
}

static void p_load_cr3(void *ctx, pt_paddr_t root)
{
    (void)root;
    struct sim *s = ctx;
    s->cpu[s->cur].cr3_loads++;
}

static unsigned long p_irq_save(void *ctx)
{
    (void)ctx;
    return 0;
}

static void p_irq_restore(void *ctx, unsigned long state)
{
    (void)ctx;
    (void)state;
}

/* A spinning CPU lets one other CPU with a pending interrupt run it (picked
   at random, so the order in which acks arrive varies with the seed). */
/* Let another CPU run one operation of its own while this one spins. */
static void run_nested(struct sim *s)
{
    if (!s->nested_op || s->nest_depth || s->nr_cpus < 2 || sim_rand(s, 100) >= s->nested_pct)
        return;
    unsigned saved = s->cur, other = (unsigned)sim_rand(s, s->nr_cpus - 1);
    other += other >= saved;
    s->nest_depth++;
    s->cur = other;
    if (!s->nested_op(s, s->nested_arg))
        s->nested_failed = true;
    s->nested_runs++;
    s->cur = saved;
    s->nest_depth--;
}

static void p_relax(void *ctx)
{
    struct sim *s = ctx;
    run_nested(s);
    unsigned pending[TLB_MAX_CPUS], n = 0;
    for (unsigned c = 0; c < s->nr_cpus; c++)
        if (s->cpu[c].ipi_pending)
            pending[n++] = c;
    if (n == 0) {
        if (++s->relax_idle > 1000000) {
            fprintf(stderr, "sim: CPU %u spins forever with no interrupt pending (deadlock)\n", s->cur);
            abort();
        }
        return;
    }
    s->relax_idle = 0;
    unsigned saved = s->cur;
    sim_deliver(s, pending[sim_rand(s, n)]);
    s->cur = saved;
}

static void p_emit(void *ctx, const struct tlb_event *ev)
{
    struct sim *s = ctx;
    if (!s->recording)
        return;
    if (s->nr_ev == s->cap_ev) {
        size_t cap = s->cap_ev ? s->cap_ev * 2 : 4096;
        struct tlb_event *n = realloc(s->ev, cap * sizeof *n);
        if (!n) {
            s->ev_oom = true;
            return;
        }
        s->ev = n;
        s->cap_ev = cap;
    }
    s->ev[s->nr_ev++] = *ev;
}

/* ---- set-up and tear-down ---- */

uint64_t sim_rand(struct sim *s, uint64_t n)
{
    s->rng ^= s->rng >> 12;
    s->rng ^= s->rng << 25;
    s->rng ^= s->rng >> 27;
    return ((s->rng * 0x2545F4914F6CDD1Dull) >> 11) % n;
}

void sim_switch(struct sim *s, unsigned cpu)
{
    s->cur = cpu;
}

bool sim_deliver(struct sim *s, unsigned cpu)
{
    if (!s->cpu[cpu].ipi_pending)
        return false;
    unsigned saved = s->cur;
    s->cur = cpu;
    s->cpu[cpu].ipi_pending = false;
    tlb_flusher_handle_ipi(s->dom, cpu);
    s->cur = saved;
    return true;
}

void sim_deliver_all(struct sim *s)
{
    bool any = true;
    while (any) {
        any = false;
        for (unsigned c = 0; c < s->nr_cpus; c++)
            any |= sim_deliver(s, c);
    }
}

static int space_init(struct sim *s, struct tlb_vmspace *vs)
{
    int r = tlb_vmspace_init(vs, s->dom, &pt_user_config);
    if (r == 0)
        s->node_level[vs->pt.root >> PT_BASE_PAGE_SHIFT] = PT_NR_LEVELS;
    return r;
}

bool sim_init(struct sim *s, unsigned nr_cpus, unsigned nr_spaces, uint64_t nr_frames, uint64_t seed)
{
    memset(s, 0, sizeof *s);
    if (nr_cpus == 0 || nr_cpus > TLB_MAX_CPUS || nr_spaces == 0 || nr_spaces > SIM_MAX_SPACES) {
        fprintf(stderr, "sim: %u CPUs / %u spaces out of range (1..%u / 1..%u)\n", nr_cpus, nr_spaces,
                TLB_MAX_CPUS, SIM_MAX_SPACES);
        return false;
    }
    s->nr_cpus = nr_cpus;
    s->recording = true;
    s->rng = seed * 0x9E3779B97F4A7C15ull + 0x1234567ull;
    if (s->rng == 0)
        s->rng = 1;
    if (!pt_host_platform_init(&s->hp, nr_frames)) {
        fprintf(stderr, "sim: cannot allocate an arena of %llu frames\n", (unsigned long long)nr_frames);
        return false;
    }
    s->node_level = calloc(nr_frames, 1);
    s->dom = calloc(1, sizeof *s->dom);
    if (!s->node_level || !s->dom) {
        fprintf(stderr, "sim: out of host memory\n");
        free(s->node_level);
        free(s->dom);
        pt_host_platform_destroy(&s->hp);
        return false;
    }
    s->hp_ctx = s->hp.mem.ctx;
    s->hp_ops = s->hp.mem.ops;
    s->wrap_ops = (struct pt_platform_ops){.phys_to_virt = w_phys_to_virt,
                                           .alloc_frame = w_alloc_frame,
                                           .release_frame = w_release_frame,
                                           .pte_stored = w_pte_stored,
                                           .node_allocated = w_node_allocated};
    s->hp.mem.ops = &s->wrap_ops;
    s->hp.mem.ctx = s;
    s->baseline_live = pt_host_live(&s->hp);
    s->tlb_ops = (struct tlb_platform_ops){
        .cpu_id = p_cpu_id, .send_ipi = p_send_ipi, .flush_page = p_flush_page,
        .flush_all_nonglobal = p_flush_all_nonglobal, .flush_all_global = p_flush_all_global,
        .load_cr3 = p_load_cr3, .irq_save = p_irq_save, .irq_restore = p_irq_restore,
        .relax = p_relax, .emit = p_emit};
    /* The idle space's root doubles as the domain's idle root. */
    struct tlb_domain *dom = s->dom;
    s->dom = NULL;   /* no events until the domain exists */
    if (tlb_domain_init(dom, &s->tlb_ops, s, &s->hp.mem, nr_cpus, 0) != 0) {
        fprintf(stderr, "sim: tlb_domain_init failed\n");
        return false;
    }
    s->dom = dom;
    int r = space_init(s, &s->idle);
    for (unsigned i = 0; r == 0 && i < nr_spaces; i++, s->nr_spaces++)
        r = space_init(s, &s->spaces[i]);
    if (r != 0) {
        fprintf(stderr, "sim: creating address spaces failed: %s\n", tlb_error_name(r));
        return false;
    }
    dom->idle_root = s->idle.pt.root;
    for (unsigned c = 0; c < nr_cpus; c++) {
        s->cur = c;
        tlb_vmspace_activate(dom, &s->idle);
    }
    s->cur = 0;
    return true;
}

bool sim_shutdown(struct sim *s)
{
    bool ok = true;
    for (unsigned c = 0; c < s->nr_cpus; c++) {
        s->cur = c;
        tlb_vmspace_activate(s->dom, &s->idle);
    }
    s->cur = 0;
    sim_deliver_all(s);
    unsigned live = tlb_domain_live_batches(s->dom);
    if (live) {
        fprintf(stderr, "sim: %u kept batches still alive after every CPU flushed\n", live);
        ok = false;
    }
    for (unsigned i = 0; i < s->nr_spaces; i++) {
        /* Like a process exit: unmap the whole user range through the
           flusher first (which detaches every subtree below the root and
           frees it after the flushes), then drop the now empty root. */
        struct tlb_vmspace *vs = &s->spaces[i];
        pt_vaddr_t lo = pt_config_va_start(vs->pt.cfg), hi = pt_config_va_end(vs->pt.cfg);
        if (sim_unmap(s, vs, lo, hi - lo, true) != 0) {
            fprintf(stderr, "sim: unmapping space %u at shutdown failed\n", i);
            ok = false;
        }
    }
    sim_deliver_all(s);
    for (unsigned i = 0; i < s->nr_spaces; i++)
        if (tlb_vmspace_destroy(&s->spaces[i]) != 0) {
            fprintf(stderr, "sim: space %u still active somewhere at shutdown\n", i);
            ok = false;
        }
    s->nr_spaces = 0;
    /* Power-off: the CPUs stop walking page tables, so freeing the idle
       space (whose root they still hold in CR3) is not part of the stream. */
    for (unsigned c = 0; c < s->nr_cpus; c++) {
        s->cur = c;
        tlb_vmspace_activate(s->dom, NULL);
    }
    s->cur = 0;
    s->recording = false;
    if (tlb_vmspace_destroy(&s->idle) != 0)
        ok = false;
    if (pt_host_live(&s->hp) != s->baseline_live) {
        fprintf(stderr, "sim: %llu frames leaked\n",
                (unsigned long long)(pt_host_live(&s->hp) - s->baseline_live));
        ok = false;
    }
    if (s->ev_oom) {
        fprintf(stderr, "sim: events lost (out of host memory)\n");
        ok = false;
    }
    return ok;
}

void sim_destroy(struct sim *s)
{
    s->hp.mem.ops = s->hp_ops;
    s->hp.mem.ctx = s->hp_ctx;
    pt_host_platform_destroy(&s->hp);
    free(s->node_level);
    free(s->dom);
    free(s->ev);
    s->ev = NULL;
}

pt_paddr_t sim_alloc_frame(struct sim *s)
{
    pt_paddr_t pa;
    return pt_frame_alloc(&s->hp.mem, PT_USAGE_UNTYPED, &pa) ? pa : 0;
}

/* ---- one-cursor operations ---- */

int sim_map(struct sim *s, struct tlb_vmspace *vs, pt_vaddr_t va, struct pt_prop prop)
{
    pt_paddr_t pa = sim_alloc_frame(s);
    if (!pa)
        return PT_ERR_NOMEM;
    struct tlb_cursor c;
    int r = tlb_cursor_new(&c, vs, va, va + PT_BASE_PAGE_SIZE);
    if (r == 0) {
        struct pt_item item = {.pa = pa, .level = 1, .prop = prop, .tracked = true};
        r = tlb_cursor_map(&c, &item);
        tlb_cursor_drop(&c);
    }
    if (r < 0)
        pt_frame_put(&s->hp.mem, pa);   /* the reference did not move into a PTE */
    return r;
}

int sim_map_huge(struct sim *s, struct tlb_vmspace *vs, pt_vaddr_t va, pt_paddr_t pa, int level,
                 struct pt_prop prop)
{
    (void)s;
    /* The cursor spans two entries of the level above, so that it can
       detach a table below the slot (break-before-make, see tlb_cursor_map);
       a cursor of exactly one entry cannot remove that entry's table. */
    uint64_t span = 2 * pt_page_size(level);
    pt_vaddr_t lo = va & ~(span - 1);
    struct tlb_cursor c;
    int r = tlb_cursor_new(&c, vs, lo, lo + span);
    if (r == 0) {
        struct pt_item item = {.pa = pa, .level = level, .prop = prop, .tracked = false};
        r = pt_cursor_jump(&c.pc, va);
        if (r == 0)
            r = tlb_cursor_map(&c, &item);
        tlb_cursor_drop(&c);
    }
    return r;
}

int sim_unmap(struct sim *s, struct tlb_vmspace *vs, pt_vaddr_t va, uint64_t len, bool sync)
{
    (void)s;
    struct tlb_cursor c;
    int r = tlb_cursor_new(&c, vs, va, va + len);
    if (r == 0) {
        r = tlb_cursor_unmap(&c, len, sync, NULL);
        tlb_cursor_drop(&c);
    }
    return r;
}

struct flags_change {
    uint8_t clear, set;
};

static void change_flags(struct pt_prop *p, void *arg)
{
    const struct flags_change *fc = arg;
    p->flags = (uint8_t)((p->flags & ~fc->clear) | fc->set);
}

int sim_protect(struct sim *s, struct tlb_vmspace *vs, pt_vaddr_t va, uint64_t len, uint8_t clear_flags,
                uint8_t set_flags)
{
    (void)s;
    struct flags_change fc = {clear_flags, set_flags};
    struct tlb_cursor c;
    int r = tlb_cursor_new(&c, vs, va, va + len);
    if (r == 0) {
        r = tlb_cursor_protect(&c, len, change_flags, &fc, NULL);
        tlb_cursor_drop(&c);
    }
    return r;
}

bool sim_write_stream(const struct sim *s, const char *path)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        return false;
    }
    struct tlb_stream_header h = {.magic = TLB_STREAM_MAGIC, .version = TLB_EVENT_VERSION,
                                  .record_size = TLB_EVENT_RECORD_SIZE, .cpu_count = s->nr_cpus};
    bool ok = fwrite(&h, sizeof h, 1, f) == 1 &&
              fwrite(s->ev, sizeof *s->ev, s->nr_ev, f) == s->nr_ev;
    ok = (fclose(f) == 0) && ok;
    if (!ok)
        fprintf(stderr, "%s: write failed\n", path);
    return ok;
}
