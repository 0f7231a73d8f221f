/*
 * The differential test's driver: phases (one page-table configuration
 * each), random cursor sessions inside a small VA window biased toward a few
 * hot 2 MiB regions, periodic full checks, and the teardown leak check.
 */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"

#define K4 PT_BASE_PAGE_SIZE
#define M2 0x200000ull
#define G1 0x40000000ull

/* Enough frames for every node of a fully split 4 GiB window and more. */
#define ARENA_FRAMES 16384

struct phase {
    const char *name;
    const struct pt_config *cfg;
    pt_vaddr_t win_lo;          /* a 4 GiB window straddling a 512 GiB boundary */
    unsigned share_pct;         /* of the total ops */
    bool unmap_before_destroy;  /* else destroy with mappings still present */
    bool direct_map;            /* keep the host platform's direct map (else the core
                                   reaches nodes through ops->phys_to_virt, as on a
                                   platform without one, and skips the fast-path steps
                                   that need it) */
};

static const struct phase phases[] = {
    { "user, 1 GiB leaves", &pt_user_config_1g, 510 * G1, 40, true, true },
    { "user, 2 MiB leaves, no direct map", &pt_user_config, 510 * G1, 35, false, false },
    { "kernel, 1 GiB leaves", &pt_kernel_config_1g, 0xffff800000000000ull + 510 * G1, 25, true, true },
};

/* ------------------------------------------------------------- choices */

static pt_vaddr_t align_down(pt_vaddr_t x, uint64_t a) { return x & ~(a - 1); }

static pt_vaddr_t pick_hot(struct diff *d) { return d->hot[diff_below(d, d->nhot)]; }

/* A 4 KiB-aligned length in [0, max], biased toward small, toward max, and
 * toward ending one page before, at, or one page after a 2 MiB or 1 GiB
 * boundary (where "does the entry fit in the range" decides split or not). */
static uint64_t pick_len(struct diff *d, uint64_t max)
{
    uint64_t pages = max / K4;
    if (pages == 0)
        return 0;
    switch (diff_below(d, 5)) {
    case 0: return max;
    case 1: return K4 * (1 + diff_below(d, pages < 8 ? pages : 8));
    case 2: {
        uint64_t b = diff_chance(d, 70) ? M2 : G1;
        pt_vaddr_t end = align_down(d->va + b, b) + b * diff_below(d, 3);
        end = end - K4 + K4 * diff_below(d, 3);   /* boundary - 4K, boundary, + 4K */
        if (end > d->va && end - d->va <= max)
            return end - d->va;
        return max;
    }
    default: return K4 * (1 + diff_below(d, pages));
    }
}

/* A jump target: anywhere in the barrier, or a page around a boundary. */
static pt_vaddr_t pick_target(struct diff *d)
{
    pt_vaddr_t t = d->bar_lo + K4 * diff_below(d, (d->bar_hi - d->bar_lo) / K4);
    if (diff_chance(d, 30)) {
        uint64_t b = diff_chance(d, 70) ? M2 : G1;
        pt_vaddr_t near = align_down(t, b) + K4 * diff_below(d, 3) - K4;
        if (near >= d->bar_lo && near < d->bar_hi)
            t = near;
    }
    return t;
}

/* A random cursor range of the kinds that stress splits and guard levels. */
static void pick_range(struct diff *d, pt_vaddr_t *s, pt_vaddr_t *e)
{
    unsigned k = (unsigned)diff_below(d, 100);
    pt_vaddr_t h = pick_hot(d);
    if (k < 25) {               /* inside one hot 2 MiB region */
        uint64_t a = diff_below(d, 512), b = a + 1 + diff_below(d, 512 - a);
        *s = h + a * K4, *e = h + b * K4;
    } else if (k < 45) {        /* across 2 MiB boundaries near a hot region */
        *s = h - M2 + diff_below(d, 1024) * K4;
        *e = *s + K4 * (1 + diff_below(d, 2048));
    } else if (k < 55) {        /* exactly one 2 MiB entry */
        *s = h, *e = h + M2;
    } else if (k < 62) {        /* exactly one 1 GiB entry */
        *s = align_down(h, G1), *e = *s + G1;
    } else if (k < 70) {        /* across a 1 GiB boundary */
        pt_vaddr_t b = d->win_lo + G1 * (1 + diff_below(d, 3));
        *s = b - K4 * (1 + diff_below(d, 1024)), *e = b + K4 * (1 + diff_below(d, 1024));
    } else if (k < 75) {        /* the whole window */
        *s = d->win_lo, *e = d->win_hi;
    } else if (k < 77) {        /* a whole top-level (512 GiB) entry, mostly outside the window */
        *s = align_down(h, pt_page_size(4)), *e = *s + pt_page_size(4);
        return;
    } else {                    /* anywhere in the window, log-uniform size */
        uint64_t size = K4 << diff_below(d, 20);
        *s = d->win_lo + align_down(diff_below(d, d->win_hi - d->win_lo - size + 1), K4);
        *e = *s + size;
    }
    if (*s < d->win_lo)
        *s = d->win_lo;
    if (*e > d->win_hi)
        *e = d->win_hi;
}

/* An invalid cursor range (one error at a time). */
static void pick_bad_range(struct diff *d, pt_vaddr_t *s, pt_vaddr_t *e)
{
    pt_vaddr_t h = pick_hot(d);
    switch (diff_below(d, 4)) {
    case 0: *s = h + 0x10, *e = h + M2; break;                 /* unaligned */
    case 1: *s = h + M2, *e = h; break;                        /* start > end */
    case 2: *s = h, *e = h; break;                             /* empty */
    default:                                                   /* outside the config */
        *s = pt_config_va_start(d->cfg) - M2, *e = pt_config_va_start(d->cfg) + M2;
        if (d->cfg->top_index_lo == 0) {
            *s = pt_config_va_end(d->cfg) - M2;
            *e = pt_config_va_end(d->cfg) + M2;
        }
    }
}

static struct pt_prop pick_prop(struct diff *d)
{
    static const uint8_t flags[] = { PT_RW, PT_R, PT_RX, PT_RWX, PT_W, 0,
                                     PT_RW | PT_ACCESSED | PT_DIRTY, PT_R | PT_AVAIL1 };
    struct pt_prop p = { .flags = flags[diff_below(d, sizeof(flags))], .priv = PT_PRIV_USER };
    if (diff_chance(d, 10))
        p.priv = (uint8_t)diff_below(d, 4);
    if (diff_chance(d, 15))
        p.cache = (uint8_t)diff_below(d, 4);
    /* Execute-only PROT_NONE, kernel, write-back: every property bit of its
     * PTE is clear, so only bit 7 tells such a leaf from an absent entry
     * (the fast paths' decode-cache test must include it). */
    if (diff_chance(d, 4))
        p = (struct pt_prop){ .flags = PT_X, .priv = 0, .cache = PT_CACHE_WB };
    return p;
}

/* A random aligned slot for a level-`level` item inside the barrier, or 0. */
static pt_vaddr_t pick_slot(struct diff *d, int level)
{
    uint64_t size = pt_page_size(level);
    pt_vaddr_t first = align_down(d->bar_lo + size - 1, size);
    if (first < d->bar_lo || first >= d->bar_hi || d->bar_hi - first < size)
        return 0;
    uint64_t n = (d->bar_hi - first) / size;
    /* Bias toward hot regions: half the time, the slot nearest to one. */
    pt_vaddr_t h = align_down(pick_hot(d), size);
    if (diff_chance(d, 50) && h >= first && h + size <= d->bar_hi)
        return h;
    return first + size * diff_below(d, n);
}

/* ------------------------------------------------------------- ops */

static bool in_window(const struct diff *d, pt_vaddr_t va, uint64_t size)
{
    return va >= d->win_lo && va < d->win_hi && d->win_hi - va >= size;
}

static void random_map(struct diff *d)
{
    unsigned k = (unsigned)diff_below(d, 100);
    int level = 1;
    bool tracked = true;
    if (k < 55) {
        level = 1;
    } else if (k < 65) {
        level = 1, tracked = false;
    } else if (k < 90) {
        level = 2, tracked = false;
    } else {
        level = d->cfg->max_leaf_level >= 3 ? 3 : 2, tracked = false;
    }
    bool errcase = diff_chance(d, 2);
    if (!errcase) {
        pt_vaddr_t slot = pick_slot(d, level);
        if (slot == 0) {
            level = 1, tracked = true;
            slot = pick_slot(d, 1);
        }
        if (!in_window(d, slot, pt_page_size(level))) {
            diff_op_query(d);   /* maps stay inside the window the checks cover */
            return;
        }
        if (slot != d->va)
            diff_op_jump(d, slot);
    } else if (!in_window(d, d->va, pt_page_size(1))) {
        diff_op_query(d);
        return;
    }
    struct pt_prop prop = pick_prop(d);
    /* A pool frame (tracked) or an untracked PA; values from
       DIFF_POOL_FRAMES * 1000 up are reserved for the BAD_FRAME cases (tracked)
       and the PADDR_WIDTH cases (untracked). */
    unsigned sel = (unsigned)diff_below(d, DIFF_POOL_FRAMES * 1000u);
    if (errcase) {
        switch (diff_below(d, 5)) {
        case 0: prop.flags |= 0x20; break;              /* BAD_PROP */
        case 1: level = 2, tracked = true; break;       /* UNTRACKED_SIZE (or others) */
        case 2: level = 4, tracked = false; break;      /* BAD_LEVEL */
        case 3: tracked = false;                        /* PADDR_WIDTH: a bit >= 52 */
                sel = DIFF_POOL_FRAMES * 1000u + (unsigned)diff_below(d, 12);
                break;
        default: tracked = true, level = 1;                     /* BAD_FRAME */
                 sel = DIFF_POOL_FRAMES * 1000u + (unsigned)diff_below(d, 3);
        }
    }
    diff_op_map(d, level, tracked, sel, prop, diff_chance(d, 3));
}

/* A batched flag change: random clear and set masks (1% with a bit outside
 * enum pt_flag: BAD_PROP). */
static void random_protect_flags(struct diff *d, uint64_t len)
{
    static const uint8_t masks[] = { 0, PT_R, PT_W, PT_X, PT_RW, PT_RWX, PT_ACCESSED | PT_DIRTY,
                                     PT_AVAIL1, PT_AVAIL2, PT_W | PT_AVAIL1 };
    uint8_t clear = masks[diff_below(d, sizeof(masks))];
    uint8_t set = masks[diff_below(d, sizeof(masks))];
    if (diff_chance(d, 1))
        set |= 0x20;
    diff_op_protect_flags(d, len, clear, set, diff_chance(d, 3));
}

static uint64_t random_len(struct diff *d)
{
    uint64_t room = d->bar_hi - d->va;
    if (diff_chance(d, 2))
        return room + K4;                         /* BEYOND_BARRIER */
    if (diff_chance(d, 2) && room >= K4)
        return K4 / 2;                            /* UNALIGNED */
    return pick_len(d, room);
}

static void random_op(struct diff *d)
{
    unsigned k = (unsigned)diff_below(d, 100);
    if (k < 12) {
        diff_op_query(d);
    } else if (k < 22) {
        diff_op_find_next(d, random_len(d));
    } else if (k < 32) {
        pt_vaddr_t t = pick_target(d);
        if (diff_chance(d, 3))
            t = diff_chance(d, 50) ? d->bar_hi : t + 0x10;
        diff_op_jump(d, t);
    } else if (k < 60) {
        random_map(d);
    } else if (k < 80) {
        diff_op_take_next(d, random_len(d), diff_chance(d, 3));
    } else if (k < 94) {
        diff_op_protect_next(d, random_len(d), diff_chance(d, 3), diff_chance(d, 1));
    } else {
        random_protect_flags(d, random_len(d));
    }
}

/* One cursor: create it, run a burst of operations, drop it. */
static void session(struct diff *d, uint64_t budget)
{
    /* Half the sessions run without the PTE-store hook: the core has
       separate fast paths for that case (the store checks are then off). */
    diff_hook_set(d, diff_chance(d, 50));
    pt_vaddr_t s, e;
    bool bad = diff_chance(d, 2);
    if (bad)
        pick_bad_range(d, &s, &e);
    else
        pick_range(d, &s, &e);
    if (diff_op_cursor_new(d, s, e, !bad && diff_chance(d, 3)) != PT_OK)
        return;
    uint64_t n = 1 + diff_below(d, budget < 48 ? budget : 48);
    unsigned mode = (unsigned)diff_below(d, 100);
    if (e - s >= pt_page_size(PT_NR_LEVELS) && mode >= 22)
        mode = (unsigned)diff_below(d, 22);   /* a whole top-level entry: unmap or protect it */
    struct pt_prop run_prop = pick_prop(d);   /* sequential maps: one property, as callers do */
    if (mode < 32 && diff_chance(d, 50)) {
        /* Loops start a few pages before a 2 MiB boundary half the time, so
           that they run over the end of a level-1 node (fast-path exits). */
        pt_vaddr_t b = align_down(d->bar_lo, M2) + M2 - K4 * (1 + diff_below(d, 8));
        if (b > d->bar_lo && b < d->bar_hi)
            diff_op_jump(d, b);
    }
    pt_vaddr_t loop_start = d->va;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t room = d->bar_hi - d->va;
        if (mode < 12) {            /* unmap loop: take_next until nothing is left */
            if (diff_op_take_next(d, room, diff_chance(d, 2)) == 0) {
                diff_check_unmapped_span(d, loop_start, d->bar_hi);
                break;
            }
        } else if (mode < 18) {     /* protect loop */
            if (diff_op_protect_next(d, room, diff_chance(d, 2), false) == 0)
                break;
        } else if (mode < 22) {     /* the same, batched: one call for the rest of the range */
            random_protect_flags(d, room);
            break;
        } else if (mode < 32) {     /* sequential 4 KiB tracked maps */
            if (room < K4 || !in_window(d, d->va, K4))
                break;
            diff_op_map(d, 1, true, (unsigned)diff_below(d, DIFF_POOL_FRAMES), run_prop,
                        diff_chance(d, 2));
        } else {
            random_op(d);
        }
    }
    diff_op_cursor_drop(d);
}

/* ------------------------------------------------------------- phases */

static void phase_setup(struct diff *d, const struct phase *ph)
{
    d->cfg = ph->cfg;
    d->cfg_name = ph->name;
    d->win_lo = ph->win_lo;
    d->win_hi = ph->win_lo + 4 * G1;
    static const uint64_t hot_off[DIFF_MAX_HOT] = { 0, M2, G1 - M2, G1, 2 * G1 - M2, 2 * G1,
                                                   2 * G1 + M2, 3 * G1 + 50 * M2 };
    d->nhot = DIFF_MAX_HOT;
    for (unsigned i = 0; i < DIFF_MAX_HOT; i++)
        d->hot[i] = d->win_lo + hot_off[i];

    DIFF_EXPECT(d, pt_host_platform_init(&d->hp, ARENA_FRAMES), "host platform init failed");
    if (!ph->direct_map) {  /* back to what pt_mem_init leaves (frame.h) */
        d->hp.mem.direct_map = 0;
        d->hp.mem.has_direct_map = false;
    }
    d->pool_index = malloc(ARENA_FRAMES * sizeof(*d->pool_index));
    DIFF_EXPECT(d, d->pool_index != NULL, "out of host memory");
    for (unsigned i = 0; i < ARENA_FRAMES; i++)
        d->pool_index[i] = -1;
    uint64_t live0 = pt_host_live(&d->hp);
    for (unsigned i = 0; i < DIFF_POOL_FRAMES; i++) {
        DIFF_EXPECT(d, pt_frame_alloc(&d->hp.mem, PT_USAGE_UNTYPED, &d->pool[i]),
                    "pool frame allocation failed");
        d->pool_index[d->pool[i] >> PT_BASE_PAGE_SHIFT] = (int16_t)i;
        d->handles[i] = 1;
        d->in_ptes[i] = d->in_pending[i] = 0;
    }
    d->baseline_live = pt_host_live(&d->hp);
    DIFF_EXPECT(d, d->baseline_live == live0 + DIFF_POOL_FRAMES, "pool allocation not counted");
    DIFF_EXPECT(d, pt_create(&d->pt, &d->hp.mem, d->cfg) == PT_OK, "pt_create failed");
    model_init(&d->model);
    diff_hook_set(d, true);
    snprintf(d->op_desc, sizeof(d->op_desc), "phase setup");
    diff_check_full(d);
}

/* take_next over [s, e) until nothing is left, through one cursor. */
static void unmap_range(struct diff *d, pt_vaddr_t s, pt_vaddr_t e)
{
    if (diff_op_cursor_new(d, s, e, false) != PT_OK)
        diff_fail(d, "cannot open a cursor over [%#" PRIx64 ", %#" PRIx64 ") for the final unmap",
                  s, e);
    while (diff_op_take_next(d, d->bar_hi - d->va, false) == 1)
        ;
    diff_check_unmapped_span(d, s, e);
    diff_op_cursor_drop(d);
}

/* Unmap the whole window, then each whole top-level entry the window
 * touches: a user config detaches those level-3 nodes, a kernel config must
 * keep them. */
static void unmap_all(struct diff *d)
{
    unmap_range(d, d->win_lo, d->win_hi);
    DIFF_EXPECT(d, d->model.n == 0, "model still has %zu mappings after unmapping all", d->model.n);
    uint64_t top = pt_page_size(PT_NR_LEVELS);
    for (pt_vaddr_t s = align_down(d->win_lo, top); s < d->win_hi; s += top)
        unmap_range(d, s, s + top);
}

static void phase_teardown(struct diff *d, const struct phase *ph)
{
    snprintf(d->op_desc, sizeof(d->op_desc), "phase teardown");
    diff_hook_set(d, true);
    if (ph->unmap_before_destroy)
        unmap_all(d);
    diff_release_pending(d, 0);
    diff_check_full(d);
    diff_hook_set(d, false);
    snprintf(d->op_desc, sizeof(d->op_desc), "pt_destroy (%zu mappings left)", d->model.n);
    pt_destroy(&d->pt);
    for (size_t i = 0; i < d->model.n; i++)
        diff_model_removed(d, &d->model.v[i], false);
    d->model.n = 0;
    diff_check_refcounts(d);
    uint64_t live = pt_host_live(&d->hp);
    DIFF_EXPECT(d, live == d->baseline_live, "after pt_destroy %" PRIu64 " frames live, baseline %"
                PRIu64 " (%s)", live, d->baseline_live, live > d->baseline_live ? "leak" : "over-free");
    for (unsigned i = 0; i < DIFF_POOL_FRAMES; i++) {
        DIFF_EXPECT(d, d->handles[i] == 1 && pt_frame_refcount(&d->hp.mem, d->pool[i]) == 1,
                    "pool frame %u: %" PRIu64 " handles, refcount %" PRIu64, i, d->handles[i],
                    pt_frame_refcount(&d->hp.mem, d->pool[i]));
        pt_frame_put(&d->hp.mem, d->pool[i]);
    }
    DIFF_EXPECT(d, pt_host_live(&d->hp) == d->baseline_live - DIFF_POOL_FRAMES,
                "frames live after releasing the pool: %" PRIu64, pt_host_live(&d->hp));
    model_free(&d->model);
    model_list_free(&d->scratch);
    free(d->pending);
    d->pending = NULL;
    d->npending = d->cap_pending = 0;
    free(d->pool_index);
    pt_host_platform_destroy(&d->hp);
}

static void print_stats(const struct diff *d, const char *phase, bool quiet)
{
    if (quiet)
        return;
    const struct diff_stats *s = &d->st;
    printf("{\"phase\": \"%s\", \"ops\": %" PRIu64 ", \"cursors\": %" PRIu64 ", \"full_checks\": %"
           PRIu64 ", \"maps\": %" PRIu64 ", \"replaced_leaf\": %" PRIu64 ", \"replaced_table\": %"
           PRIu64 ", \"take_next\": %" PRIu64 ", \"strays\": %" PRIu64 ", \"protects\": %" PRIu64
           ", \"protect_flags\": %" PRIu64 ", \"splits\": %" PRIu64 ", \"queries\": %" PRIu64 ", \"find_next\": %" PRIu64
           ", \"jumps\": %" PRIu64 ", \"nomem\": %" PRIu64 ", \"expected_errors\": %" PRIu64
           ", \"max_mappings\": %" PRIu64 ", \"max_live_frames\": %" PRIu64 "}\n",
           phase, s->ops, s->cursors, s->full_checks, s->maps, s->replaced_leaf, s->replaced_table,
           s->takes, s->strays, s->protects, s->protect_flags, s->splits, s->queries, s->finds, s->jumps, s->nomem,
           s->errors_expected, s->max_mappings, s->max_live);
    printf("{\"phase\": \"%s\", \"expected_errors_by_code\": {", phase);
    const char *sep = "";
    for (int i = 1; i < DIFF_MAX_ERR; i++) {
        if (s->err_by_code[i]) {
            printf("%s\"%s\": %" PRIu64, sep, pt_error_name(-i), s->err_by_code[i]);
            sep = ", ";
        }
    }
    printf("}}\n");
    fflush(stdout);
}

void diff_run(const struct diff_params *p)
{
    static struct diff d;   /* large; static keeps it off the stack */
    memset(&d, 0, sizeof(d));
    d.seed = d.rng = p->seed;
    d.ops_total = p->ops;
    d.full_every = p->full_every;
    if (!p->quiet) {
        printf("pagetable_diff: seed %" PRIu64 ", %" PRIu64 " ops, full check every %" PRIu64
               " ops\n", p->seed, p->ops, p->full_every);
        fflush(stdout);
    }
    for (size_t ph = 0; ph < sizeof(phases) / sizeof(phases[0]); ph++) {
        uint64_t target = d.op_index + p->ops * phases[ph].share_pct / 100;
        if (ph == sizeof(phases) / sizeof(phases[0]) - 1)
            target = p->ops;
        d.st = (struct diff_stats){ 0 };
        phase_setup(&d, &phases[ph]);
        uint64_t next_full = d.op_index + p->full_every;
        while (d.op_index < target) {
            session(&d, target - d.op_index);
            if (d.model.n > d.st.max_mappings)
                d.st.max_mappings = d.model.n;
            if (d.npending > 64 || diff_chance(&d, 50))
                diff_release_pending(&d, diff_below(&d, 4));
            if (d.op_index >= next_full) {
                snprintf(d.op_desc, sizeof(d.op_desc), "periodic full check");
                diff_check_full(&d);
                next_full = d.op_index + p->full_every;
            }
        }
        phase_teardown(&d, &phases[ph]);
        print_stats(&d, phases[ph].name, p->quiet);
    }
}
