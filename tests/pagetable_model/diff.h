/*
 * The differential test of the page-table core against the reference model
 * (model.h), with the hardware-style walker (pagetable/walk.h) as the
 * independent reader of the real table. See docs/pagetable-testing.md for
 * what is checked after every operation and what only periodically.
 *
 * Files: diff.h (shared state), diff_check.c (all consistency checks),
 * diff_ops.c (one function per cursor operation: run it on the real table
 * and on the model, compare), diff_run.c (random sessions, phases, teardown),
 * diff_test.c (the Check program and command line).
 */
#ifndef PAGETABLE_DIFF_H
#define PAGETABLE_DIFF_H

#include "model.h"
#include "pagetable/host_platform.h"
#include "pagetable/page_table.h"
#include "pagetable/walk.h"

#define DIFF_POOL_FRAMES 64     /* tracked data frames the test maps (shared freely) */
#define DIFF_MAX_HOT 8
#define DIFF_MAX_STORED_NODES 1024
#define DIFF_MAX_TOUCH 4        /* separate touched intervals per op */

/* A frag the test holds, like a caller waiting for a TLB flush before
 * releasing it; `contents` is what the model removed with it. */
struct diff_pending {
    struct pt_frag frag;
    struct model_list contents;
};

#define DIFF_MAX_ERR 16

struct diff_stats {
    uint64_t err_by_code[DIFF_MAX_ERR];   /* expected errors, by -rc */
    uint64_t ops, cursors, full_checks, nomem, errors_expected;
    uint64_t maps, replaced_leaf, replaced_table, takes, strays, protects, protect_flags, splits;
    uint64_t queries, finds, jumps;
    uint64_t max_mappings, max_live;
};

struct diff {
    /* Phase configuration. */
    const struct pt_config *cfg;
    const char *cfg_name;
    pt_vaddr_t win_lo, win_hi;          /* the VA window the phase touches */
    pt_vaddr_t hot[DIFF_MAX_HOT];       /* hot 2 MiB regions (2 MiB-aligned) */
    unsigned nhot;

    /* The system under test. */
    struct pt_host_platform hp;
    struct pt_page_table pt;
    struct pt_cursor c;
    bool cursor_live;

    /* The model and the test's own bookkeeping. */
    struct model model;
    pt_vaddr_t va;                      /* where the cursor must be */
    pt_vaddr_t bar_lo, bar_hi;          /* the cursor's locked range */
    pt_paddr_t pool[DIFF_POOL_FRAMES];
    int16_t *pool_index;                /* frame number -> pool index, or -1 */
    uint64_t handles[DIFF_POOL_FRAMES]; /* references the test holds as handles */
    uint64_t in_ptes[DIFF_POOL_FRAMES]; /* tracked model mappings of the frame */
    uint64_t in_pending[DIFF_POOL_FRAMES]; /* references inside pending frags */
    struct diff_pending *pending;
    size_t npending, cap_pending;
    uint64_t baseline_live;             /* platform frames live before pt_create */

    /* Per-operation bookkeeping. */
    bool hook_on;                       /* the PTE-store hook is installed (the core takes
                                           different fast paths without one) */
    uint64_t stores;                    /* PTE stores the hook saw during the op */
    char store_err[256];                /* first bad store, if any */
    pt_paddr_t stored_nodes[DIFF_MAX_STORED_NODES];
    int stored_levels[DIFF_MAX_STORED_NODES];
    unsigned nstored;
    pt_vaddr_t touch_lo[DIFF_MAX_TOUCH], touch_hi[DIFF_MAX_TOUCH]; /* what the op touched */
    unsigned ntouch;
    struct model_list scratch;

    /* Randomness and reporting. */
    uint64_t rng;
    uint64_t seed;
    uint64_t ops_total, full_every;     /* the run's parameters, for the repro line */
    uint64_t op_index;                  /* global op counter (across phases) */
    char op_desc[320];
    struct diff_stats st;
};

/* ---- failure reporting (diff_check.c) ---- */

/* Print seed, op index, op and message, then fail the Check test. */
__attribute__((noreturn, format(printf, 2, 3)))
void diff_fail(struct diff *d, const char *fmt, ...);

#define DIFF_EXPECT(d, cond, ...)                                              \
    do {                                                                       \
        if (!(cond))                                                           \
            diff_fail((d), __VA_ARGS__);                                       \
    } while (0)

/* ---- randomness ---- */
static inline uint64_t diff_rand(struct diff *d)
{
    /* splitmix64: tiny, good enough, and the sequence depends only on the seed. */
    uint64_t z = (d->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
/* Uniform in [0, n), n > 0. */
static inline uint64_t diff_below(struct diff *d, uint64_t n) { return diff_rand(d) % n; }
/* True with probability pct/100. */
static inline bool diff_chance(struct diff *d, unsigned pct) { return diff_below(d, 100) < pct; }

/* ---- checks (diff_check.c) ---- */

/* Install (on) or remove the PTE-store hook, which validates every store.
 * Requires: no cursor live. */
void diff_hook_set(struct diff *d, bool on);
void diff_op_begin(struct diff *d, pt_vaddr_t lo, pt_vaddr_t hi);
/* Add [lo, hi) (widened to the mappings it cuts) to what the current op
 * touched, as a separate interval: a far end does not drag in the middle. */
void diff_touch(struct diff *d, pt_vaddr_t lo, pt_vaddr_t hi);

/* The PTE the core must have written for a model mapping (encoded here
 * from x86_64.h bit definitions, independently of the core's encoder). */
pt_pte_t diff_expected_pte(const struct model_mapping *m);

/* Walker agrees with the model over [lo, hi); nodes on the walked paths and
 * the nodes stored to during the op have the right metadata. */
void diff_check_range(struct diff *d, pt_vaddr_t lo, pt_vaddr_t hi);
/* Every pool frame's refcount == handles + PTEs + pending references. */
void diff_check_refcounts(struct diff *d);
/* After an op: range check over the touched range, refcounts, store log. */
void diff_check_after_op(struct diff *d);
/* Everything: walker over the whole window, every node, every frame, leaks. */
void diff_check_full(struct diff *d);
/* A detached subtree holds exactly `expect` (and its nodes are stray). */
void diff_check_stray(struct diff *d, const struct pt_frag *f, const struct model_list *expect);

/* After take_next returned 0 over [a, b): nothing mapped there, and no
 * page-table node whose whole span lies in [a, b) is left (OSTD frees a node
 * whose span an unmap covers), except a kernel config's top-level nodes. */
void diff_check_unmapped_span(struct diff *d, pt_vaddr_t a, pt_vaddr_t b);

/* Walk `va` in the real table (fails the test on a walker error). */
struct pt_walk_result diff_walk(struct diff *d, pt_vaddr_t va);

/* ---- bookkeeping helpers (diff_ops.c) ---- */
int diff_pool_slot(const struct diff *d, pt_paddr_t pa);  /* -1 if not a pool frame */
void diff_model_removed(struct diff *d, const struct model_mapping *m, bool to_pending);
void diff_release_pending(struct diff *d, size_t keep);

/* ---- operations (diff_ops.c): each runs one cursor call and checks it ---- */
int diff_op_cursor_new(struct diff *d, pt_vaddr_t start, pt_vaddr_t end, bool inject_nomem);
void diff_op_cursor_drop(struct diff *d);
void diff_op_query(struct diff *d);
void diff_op_find_next(struct diff *d, uint64_t len);
void diff_op_jump(struct diff *d, pt_vaddr_t va);
void diff_op_map(struct diff *d, int level, bool tracked, unsigned pool_or_pa_seed,
                 struct pt_prop prop, bool inject_nomem);
int diff_op_take_next(struct diff *d, uint64_t len, bool inject_nomem);
int diff_op_protect_next(struct diff *d, uint64_t len, bool inject_nomem, bool bad_prop);
int diff_op_protect_flags(struct diff *d, uint64_t len, uint8_t clear, uint8_t set,
                          bool inject_nomem);

/* ---- the run (diff_run.c) ---- */
struct diff_params {
    uint64_t seed;
    uint64_t ops;          /* total operations over all phases */
    uint64_t full_every;   /* full check every this many ops (and at the end) */
    bool quiet;
};

/* Run the whole differential test. Returns normally on success; on a
 * mismatch diff_fail reports and fails the Check test. */
void diff_run(const struct diff_params *p);

#endif /* PAGETABLE_DIFF_H */
