/*
 * Concurrent cursors on one page table (label: concurrency; CI also runs it
 * under ThreadSanitizer).
 *
 * NTHREADS threads each run ITERS random operations on three kinds of
 * regions, then the table is checked against what any serial order gives:
 *
 *  S (shared counters): 64 pages straddling a 1 GiB boundary, pre-mapped.
 *    Cursors over random sub-ranges (sub-tree roots at levels 1..3) either
 *    increment a counter kept in each page's frame (a plain, non-atomic
 *    increment: only the cursor lock serialises it, so a broken lock shows
 *    up as a lost update, and as a data race under TSan), toggle W with
 *    protect_next, or replace the page's frame by a copy (map over a mapped
 *    slot). Whatever the order: counter == number of increments, and W ==
 *    initial W xor (number of toggles is odd).
 *  X (shared churn): 8 MiB where threads map single pages (frames tagged
 *    with their va) and take_next the whole region (stray level-1 tables,
 *    forcing other cursors to retry on stray nodes). Any serial order
 *    leaves each mapped page holding a frame tagged with its own va, and
 *    every frame ever mapped either still mapped or returned exactly once.
 *  D_t (disjoint, one per thread): random map/protect/unmap, then a fixed
 *    final state (even pages mapped, tagged). Checked exactly.
 *
 * Frags from shared regions are released only after all threads joined:
 * that stands in for the RCU grace period + TLB flush the real kernel waits
 * for, after which no lock-free walker can still be inside a stray node.
 * Frames from a thread's own region are released at once (no other thread
 * can reach them).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check_main.h"
#include "pt_test_util.h"

#define NTHREADS 4
#define ITERS 1500
#define S_PAGES 64
#define S_BASE (8 * GiB - (S_PAGES / 2) * 4096)
#define X_BASE (16 * GiB)
#define X_LEN (8 * MiB)
#define D_BASE(t) (32 * GiB + (uint64_t)(t) * GiB)
#define D_PAGES 1024  /* 4 MiB: two level-1 nodes */

static struct pt_page_table pt;
static uint64_t seed;

struct thread_state {
    int id;
    uint64_t rng;
    uint64_t incs[S_PAGES];
    uint64_t toggles[S_PAGES];
    struct pt_frag *frags;  /* deferred: released after join */
    size_t nfrags, cap;
    uint64_t x_mapped;      /* frames this thread mapped into X */
};

static uint64_t rnd(struct thread_state *t)
{
    t->rng ^= t->rng << 13;
    t->rng ^= t->rng >> 7;
    t->rng ^= t->rng << 17;
    return t->rng;
}

static void defer(struct thread_state *t, const struct pt_frag *f)
{
    if (t->nfrags == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 256;
        t->frags = realloc(t->frags, t->cap * sizeof(*t->frags));
        ck_assert(t->frags);
    }
    t->frags[t->nfrags++] = *f;
}

static uint64_t *frame_word(pt_paddr_t pa)
{
    return pt_host_frame_ptr(&hp, pa);
}

static pt_paddr_t tagged_frame(uint64_t tag)
{
    pt_paddr_t pa = util_frame();
    *frame_word(pa) = tag;
    return pa;
}

/* Random non-empty page range [a, b) inside [0, n). */
static void rnd_range(struct thread_state *t, unsigned n, unsigned *a, unsigned *b)
{
    *a = (unsigned)(rnd(t) % n);
    *b = *a + 1 + (unsigned)(rnd(t) % (n - *a));
}

static void toggle_w(struct pt_prop *p, void *arg)
{
    (void)arg;
    p->flags ^= PT_W;
}

static void s_counter_op(struct thread_state *t)
{
    unsigned a, b;
    rnd_range(t, S_PAGES, &a, &b);
    struct pt_cursor c;
    ck_assert_int_eq(pt_cursor_new(&c, &pt, S_BASE + a * 4096ull, S_BASE + b * 4096ull), PT_OK);
    unsigned kind = (unsigned)(rnd(t) % 3);
    for (unsigned i = a; i < b; i++) {
        struct pt_query q;
        ck_assert_int_eq(pt_cursor_jump(&c, S_BASE + i * 4096ull), PT_OK);
        ck_assert_int_eq(pt_cursor_query(&c, &q), PT_OK);
        ck_assert(q.mapped);
        if (kind == 0) {
            (*frame_word(q.item.pa))++;  /* plain: the cursor lock serialises it */
            t->incs[i]++;
        } else if (kind == 1) {
            pt_vaddr_t s, e;
            ck_assert_int_eq(pt_cursor_protect_next(&c, 4096, toggle_w, NULL, &s, &e), 1);
            ck_assert_uint_eq(e - s, 4096);
            t->toggles[i]++;
        } else {
            struct pt_item it = q.item;
            struct pt_frag f;
            it.pa = tagged_frame(*frame_word(q.item.pa));  /* copy the counter */
            ck_assert_int_eq(pt_cursor_map(&c, &it, &f), 1);
            ck_assert_int_eq(f.kind, PT_FRAG_MAPPED);
            ck_assert_uint_eq(f.item.pa, q.item.pa);
            defer(t, &f);
        }
    }
    pt_cursor_drop(&c);
}

static void x_op(struct thread_state *t)
{
    struct pt_cursor c;
    struct pt_frag f;
    if (rnd(t) % 4 == 0) {  /* take the whole region: stray level-1 tables */
        ck_assert_int_eq(pt_cursor_new(&c, &pt, X_BASE, X_BASE + X_LEN), PT_OK);
        int r;
        while ((r = pt_cursor_take_next(&c, X_BASE + X_LEN - pt_cursor_va(&c), &f)) == 1)
            defer(t, &f);
        ck_assert_int_eq(r, 0);
    } else {
        pt_vaddr_t va = X_BASE + (rnd(t) % (X_LEN / 4096)) * 4096;
        ck_assert_int_eq(pt_cursor_new(&c, &pt, va, va + 4096), PT_OK);
        struct pt_item it = { tagged_frame(va), 1, util_prop(PT_RW), true };
        int r = pt_cursor_map(&c, &it, &f);
        ck_assert_int_ge(r, 0);
        if (r == 1)
            defer(t, &f);
        t->x_mapped++;
    }
    pt_cursor_drop(&c);
}

static void d_op(struct thread_state *t)
{
    unsigned a, b;
    rnd_range(t, D_PAGES, &a, &b);
    pt_vaddr_t base = D_BASE(t->id);
    unsigned kind = (unsigned)(rnd(t) % 3);
    if (kind == 2) {
        util_unmap(&pt, base + a * 4096ull, (b - a) * 4096ull);  /* own frames: release now */
        return;
    }
    struct pt_cursor c;
    struct pt_frag f;
    ck_assert_int_eq(pt_cursor_new(&c, &pt, base + a * 4096ull, base + b * 4096ull), PT_OK);
    if (kind == 0) {
        for (unsigned i = a; i < b && i < a + 16; i++) {
            struct pt_item it = { tagged_frame(base + i * 4096ull), 1, util_prop(PT_R), true };
            if (pt_cursor_map(&c, &it, &f) == 1)
                pt_frag_release(mem, &f);
        }
    } else {
        pt_vaddr_t s, e;
        uint64_t left;
        while ((left = base + b * 4096ull - pt_cursor_va(&c)) > 0 &&
               pt_cursor_protect_next(&c, left, toggle_w, NULL, &s, &e) == 1)
            ;
    }
    pt_cursor_drop(&c);
}

static void d_final(struct thread_state *t)
{
    pt_vaddr_t base = D_BASE(t->id);
    util_unmap(&pt, base, D_PAGES * 4096ull);
    struct pt_cursor c;
    struct pt_frag f;
    ck_assert_int_eq(pt_cursor_new(&c, &pt, base, base + D_PAGES * 4096ull), PT_OK);
    for (unsigned i = 0; i < D_PAGES; i += 2) {
        ck_assert_int_eq(pt_cursor_jump(&c, base + i * 4096ull), PT_OK);
        struct pt_item it = { tagged_frame(base + i * 4096ull), 1, util_prop(PT_RW), true };
        ck_assert_int_eq(pt_cursor_map(&c, &it, &f), 0);
    }
    pt_cursor_drop(&c);
}

static void *worker(void *arg)
{
    struct thread_state *t = arg;
    for (int i = 0; i < ITERS; i++) {
        unsigned r = (unsigned)(rnd(t) % 10);
        if (r < 5)
            s_counter_op(t);
        else if (r < 7)
            x_op(t);
        else
            d_op(t);
    }
    d_final(t);
    return NULL;
}

static void check_s(struct thread_state *ts)
{
    for (unsigned i = 0; i < S_PAGES; i++) {
        uint64_t incs = 0, toggles = 0;
        for (int t = 0; t < NTHREADS; t++) {
            incs += ts[t].incs[i];
            toggles += ts[t].toggles[i];
        }
        struct pt_query q = util_query(&pt, S_BASE + i * 4096ull);
        ck_assert(q.mapped);
        ck_assert_msg(*frame_word(q.item.pa) == incs, "page %u: counter %llu, %llu increments", i,
                      (unsigned long long)*frame_word(q.item.pa), (unsigned long long)incs);
        ck_assert_uint_eq((q.item.prop.flags & PT_W) != 0, (toggles & 1) == 0);  /* W initially set */
        ck_assert_uint_eq(pt_frame_refcount(mem, q.item.pa), 1);
    }
}

/* X: each mapped page holds a frame tagged with its va; every frame mapped
 * into X is either still mapped or in exactly one frag. */
static void check_x(struct thread_state *ts)
{
    uint64_t mapped = 0, returned = 0, made = 0;
    struct pt_cursor c;
    pt_vaddr_t va;
    ck_assert_int_eq(pt_cursor_new(&c, &pt, X_BASE, X_BASE + X_LEN), PT_OK);
    while (pt_cursor_find_next(&c, X_BASE + X_LEN - pt_cursor_va(&c), &va) == 1) {
        struct pt_query q;
        ck_assert_int_eq(pt_cursor_query(&c, &q), PT_OK);
        ck_assert_uint_eq(*frame_word(q.item.pa), va);
        ck_assert_uint_eq(pt_frame_refcount(mem, q.item.pa), 1);
        mapped++;
        if (va + 4096 >= X_BASE + X_LEN)
            break;
        ck_assert_int_eq(pt_cursor_jump(&c, va + 4096), PT_OK);
    }
    pt_cursor_drop(&c);
    for (int t = 0; t < NTHREADS; t++) {
        made += ts[t].x_mapped;
        for (size_t i = 0; i < ts[t].nfrags; i++) {
            const struct pt_frag *f = &ts[t].frags[i];
            if (f->va >= X_BASE && f->va < X_BASE + X_LEN) {
                if (f->kind == PT_FRAG_STRAY_TABLE) {
                    ck_assert_int_eq(f->node_level, 1);
                    returned += f->num_frames;
                } else {
                    ck_assert_uint_eq(*frame_word(f->item.pa), f->va);
                    returned++;
                }
            }
        }
    }
    ck_assert_uint_eq(mapped + returned, made);
}

static void check_d(void)
{
    for (int t = 0; t < NTHREADS; t++)
        for (unsigned i = 0; i < D_PAGES; i++) {
            pt_vaddr_t va = D_BASE(t) + i * 4096ull;
            struct pt_query q = util_query(&pt, va);
            ck_assert_uint_eq(q.mapped, i % 2 == 0);
            if (q.mapped) {
                ck_assert_uint_eq(*frame_word(q.item.pa), va);
                ck_assert(pt_prop_eq(q.item.prop, util_prop(PT_RW)));
            }
        }
}

START_TEST(concurrent_cursors_serialisable)
{
    util_platform_init(24576);
    uint64_t live0 = pt_host_live(&hp);
    ck_assert_int_eq(pt_create(&pt, mem, &pt_user_config), PT_OK);
    for (unsigned i = 0; i < S_PAGES; i++) {
        pt_paddr_t pa = util_map4k(&pt, S_BASE + i * 4096ull, PT_RW);
        ck_assert_uint_eq(*frame_word(pa), 0);
    }
    static struct thread_state ts[NTHREADS];
    pthread_t th[NTHREADS];
    for (int t = 0; t < NTHREADS; t++) {
        memset(&ts[t], 0, sizeof(ts[t]));
        ts[t].id = t;
        ts[t].rng = seed * 0x9e3779b97f4a7c15ull + (uint64_t)t * 0x1234567ull + 1;
        ck_assert_int_eq(pthread_create(&th[t], NULL, worker, &ts[t]), 0);
    }
    for (int t = 0; t < NTHREADS; t++)
        ck_assert_int_eq(pthread_join(th[t], NULL), 0);

    util_check(&pt);
    check_s(ts);
    check_x(ts);
    check_d();
    /* The grace period is over: release what the threads detached. */
    for (int t = 0; t < NTHREADS; t++) {
        for (size_t i = 0; i < ts[t].nfrags; i++)
            pt_frag_release(mem, &ts[t].frags[i]);
        free(ts[t].frags);
    }
    util_check(&pt);
    pt_destroy(&pt);
    ck_assert_uint_eq(pt_host_live(&hp), live0);
    util_platform_fini();
}
END_TEST

int check_program(int argc, char **argv, struct check_plan *plan)
{
    char *end = NULL;
    if (argc > 2)
        return check_usage(argv[0], "[SEED]", "too many arguments");
    seed = argc > 1 ? strtoull(argv[1], &end, 0) : (uint64_t)time(NULL);
    if (end && (*end || end == argv[1]))
        return check_usage(argv[0], "[SEED]", "SEED must be a number");
    printf("pagetable_concurrency: seed %llu (rerun with: pagetable_concurrency %llu)\n",
           (unsigned long long)seed, (unsigned long long)seed);
    fflush(stdout);
    Suite *s = suite_create("pagetable_concurrency");
    TCase *tc = tcase_create("threads");
    tcase_set_timeout(tc, 0);
    tcase_add_test(tc, concurrent_cursors_serialisable);
    suite_add_tcase(s, tc);
    check_plan_add(plan, s);
    return CHECK_RUN;
}
