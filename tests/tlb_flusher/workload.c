/*
 * Random operations for the simulated machine (see workload.h).
 */
#include "workload.h"

struct workload_opts workload_default_opts(uint64_t nr_ops)
{
    /* huge_pct 3: the random runs map some 2 MiB leaves over 4 KiB ones (and split them), so
       break-before-make (R4) is exercised by every randomised test. */
    return (struct workload_opts){.nr_ops = nr_ops, .global_pct = 2, .async_unmap_pct = 0, .nested_pct = 30,
                                  .huge_pct = 3, .base = 0x40000000ull, .window_pages = 1024};
}

/* Whether another CPU is in the middle of an operation on `vs` (it spins
   in a nested simulation step, holding its cursor). */
static bool busy_elsewhere(struct sim *s, const struct tlb_vmspace *vs)
{
    for (unsigned c = 0; c < s->nr_cpus; c++)
        if (c != s->cur && s->dom->cpu[c].ctx_root == vs->pt.root)
            return true;
    return false;
}

/* The space an operation acts on: mostly the CPU's own, sometimes another
   one (a CPU may edit an address space it is not running); never one whose
   cursor a spinning CPU holds. NULL if every space is busy. */
static struct tlb_vmspace *pick_space(struct sim *s)
{
    struct tlb_vmspace *active = s->dom->cpu[s->cur].active;
    if (active && active != &s->idle && sim_rand(s, 100) < 70 && !busy_elsewhere(s, active))
        return active;
    unsigned first = (unsigned)sim_rand(s, s->nr_spaces);
    for (unsigned i = 0; i < s->nr_spaces; i++) {
        struct tlb_vmspace *vs = &s->spaces[(first + i) % s->nr_spaces];
        if (!busy_elsewhere(s, vs))
            return vs;
    }
    return NULL;
}

static pt_vaddr_t pick_page(struct sim *s, const struct workload_opts *o)
{
    return o->base + sim_rand(s, o->window_pages) * PT_BASE_PAGE_SIZE;
}

/* A length in pages for unmap/protect: mostly short, sometimes past the
   32-page threshold, sometimes a whole 2 MiB table (a detached subtree). */
static uint64_t pick_len(struct sim *s, const struct workload_opts *o, pt_vaddr_t *va)
{
    uint64_t r = sim_rand(s, 100), pages;
    if (r < 60)
        pages = 1 + sim_rand(s, 8);
    else if (r < 90)
        pages = 1 + sim_rand(s, 64);
    else {
        /* An aligned 2 MiB block inside the window. */
        uint64_t blocks = o->window_pages / 512;
        if (blocks) {
            *va = o->base + sim_rand(s, blocks) * pt_page_size(2);
            return pt_page_size(2);
        }
        pages = 1 + sim_rand(s, 64);
    }
    uint64_t end_page = (*va - o->base) / PT_BASE_PAGE_SIZE + pages;
    if (end_page > o->window_pages)
        pages = o->window_pages - (*va - o->base) / PT_BASE_PAGE_SIZE;
    return pages * PT_BASE_PAGE_SIZE;
}

static struct pt_prop random_prop(struct sim *s, const struct workload_opts *o)
{
    static const uint8_t flags[] = {PT_R, PT_RW, PT_RX, PT_RWX, PT_RW | PT_ACCESSED | PT_DIRTY};
    struct pt_prop p = {.flags = flags[sim_rand(s, sizeof flags)], .priv = PT_PRIV_USER,
                        .cache = PT_CACHE_WB};
    if (sim_rand(s, 100) < o->global_pct)
        p.priv |= PT_PRIV_GLOBAL;
    if (sim_rand(s, 50) == 0)
        p.cache = PT_CACHE_UC;
    return p;
}

/* A protect change: downgrades and upgrades of W, X, R, A/D. */
static void random_change(struct sim *s, uint8_t *clear, uint8_t *set)
{
    static const struct { uint8_t clear, set; } ch[] = {
        {PT_W, 0}, {0, PT_W}, {PT_X, 0}, {0, PT_X}, {PT_ACCESSED | PT_DIRTY, 0}, {PT_R, 0}, {0, PT_R},
        {PT_W | PT_X, PT_R}};
    unsigned i = (unsigned)sim_rand(s, sizeof ch / sizeof ch[0]);
    *clear = ch[i].clear;
    *set = ch[i].set;
}

static bool check(int r, const char *what, struct workload_stats *st)
{
    if (r == PT_ERR_NOMEM) {
        st->failures++;
        return true;
    }
    if (r < 0) {
        fprintf(stderr, "workload: %s failed: %s\n", what, tlb_error_name(r));
        return false;
    }
    return true;
}

static bool one_op(struct sim *s, const struct workload_opts *o, struct workload_stats *st)
{
    uint64_t r = sim_rand(s, 100);
    if (r < 8) {
        unsigned i = (unsigned)sim_rand(s, s->nr_spaces + 1);
        tlb_vmspace_activate(s->dom, i == s->nr_spaces ? &s->idle : &s->spaces[i]);
        st->activations++;
        return true;
    }
    struct tlb_vmspace *vs = pick_space(s);
    if (!vs)
        return true;   /* every space is in use by a spinning CPU: skip */
    pt_vaddr_t va = pick_page(s, o);
    if (r < 50 && sim_rand(s, 100) < o->huge_pct && o->window_pages >= 512) {
        /* An untracked 2 MiB leaf over an aligned block (replacing whatever
           table was there); a fresh physical block each time, above the
           arena, so no two mappings alias. */
        static const uint64_t huge_pa_base = 1ull << 40;
        pt_vaddr_t hva = o->base + sim_rand(s, o->window_pages / 512) * pt_page_size(2);
        pt_paddr_t pa = huge_pa_base + (st->huge_maps++ % (1ull << 20)) * pt_page_size(2);
        struct pt_prop p = random_prop(s, o);
        p.priv &= (uint8_t)~PT_PRIV_GLOBAL;
        int m = sim_map_huge(s, vs, hva, pa, 2, p);
        st->replaced += m == 1;
        return check(m, "huge map", st);
    }
    if (r < 50) {
        st->maps++;
        int m = sim_map(s, vs, va, random_prop(s, o));
        st->replaced += m == 1;
        return check(m, "map", st);
    }
    uint64_t len = pick_len(s, o, &va);
    if (r < 78) {
        st->unmaps++;
        bool sync = sim_rand(s, 100) >= o->async_unmap_pct;
        return check(sim_unmap(s, vs, va, len, sync), "unmap", st);
    }
    uint8_t clear, set;
    random_change(s, &clear, &set);
    st->protects++;
    return check(sim_protect(s, vs, va, len, clear, set), "protect", st);
}

struct nested_ctx {
    const struct workload_opts *o;
    struct workload_stats *st;
};

static bool nested_op(struct sim *s, void *arg)
{
    struct nested_ctx *n = arg;
    n->st->nested++;
    return one_op(s, n->o, n->st);
}

bool workload_run(struct sim *s, const struct workload_opts *o, struct workload_stats *st)
{
    *st = (struct workload_stats){0};
    struct nested_ctx nctx = {o, st};
    s->nested_op = nested_op;
    s->nested_arg = &nctx;
    s->nested_pct = o->nested_pct;
    for (uint64_t done = 0; done < o->nr_ops;) {
        sim_switch(s, (unsigned)sim_rand(s, s->nr_cpus));
        /* A CPU with an interrupt pending takes it before running on,
           most of the time; otherwise it stays pending a while longer. */
        if (sim_rand(s, 100) < 60 && sim_deliver(s, s->cur)) {
            st->deliveries++;
            continue;
        }
        if (!one_op(s, o, st) || s->nested_failed) {
            s->nested_op = NULL;
            return false;
        }
        done++;
    }
    s->nested_op = NULL;   /* nctx dies here */
    return true;
}
