/*
 * Mutation tests: each bug class planted in the host flusher through a
 * fault-injection switch (enum tlb_fault) must be caught by the validator
 * with the right class, and the SAME scenario without the switch must be
 * clean (zero violations) — otherwise "caught" would prove nothing.
 *
 * Each scenario is a short, fixed sequence on the simulated machine; the
 * stream is validated when the scenario's operations have completed (the
 * machine's power-off is not part of it).
 */
#include <check.h>
#include <stdlib.h>

#include "check_main.h"
#include "check_stream.h"
#include "workload.h"

#define BASE 0x40000000ull
#define PG PT_BASE_PAGE_SIZE

static const struct pt_prop RW = {.flags = PT_RW, .priv = PT_PRIV_USER, .cache = PT_CACHE_WB};
static const struct pt_prop RW_G = {.flags = PT_RW, .priv = PT_PRIV_USER | PT_PRIV_GLOBAL,
                                    .cache = PT_CACHE_WB};

static void activate(struct sim *s, unsigned cpu, struct tlb_vmspace *vs)
{
    sim_switch(s, cpu);
    tlb_vmspace_activate(s->dom, vs);
}

/* CPUs 0 and 1 run space A; CPU 0 maps a page (and a neighbour that stays,
   so the table is never detached), then unmaps the page with sync. */
static void sc_unmap_shared(struct sim *s)
{
    struct tlb_vmspace *a = &s->spaces[0];
    activate(s, 1, a);
    activate(s, 0, a);
    ck_assert_int_eq(sim_map(s, a, BASE, RW), 0);
    ck_assert_int_eq(sim_map(s, a, BASE + PG, RW), 0);
    ck_assert_int_eq(sim_unmap(s, a, BASE + PG, PG, true), 0);
}

/* CPUs 0 and 1 run space A; CPU 0 maps a 2 MiB leaf over a table of 4 KiB
   pages (break-before-make: remove, flush everywhere, then the leaf). */
static void sc_huge_over_small(struct sim *s)
{
    struct tlb_vmspace *a = &s->spaces[0];
    activate(s, 1, a);
    activate(s, 0, a);
    pt_vaddr_t block = BASE + pt_page_size(2);
    ck_assert_int_eq(sim_map(s, a, block, RW), 0);
    ck_assert_int_eq(sim_map(s, a, block + 7 * PG, RW), 0);
    ck_assert_int_eq(sim_map_huge(s, a, block, 1ull << 40, 2, RW), 1);
}

/* CPUs 0 and 1 run space A; CPU 0 write-protects a page (protect syncs). */
static void sc_protect_shared(struct sim *s)
{
    struct tlb_vmspace *a = &s->spaces[0];
    activate(s, 1, a);
    activate(s, 0, a);
    ck_assert_int_eq(sim_map(s, a, BASE, RW), 0);
    ck_assert_int_eq(sim_protect(s, a, BASE, PG, PT_W, 0), 0);
}

/* 40 pages unmapped in one go: past the 32-page threshold. */
static void bulk(struct sim *s, struct pt_prop prop)
{
    struct tlb_vmspace *a = &s->spaces[0];
    activate(s, 1, a);
    activate(s, 0, a);
    for (unsigned i = 0; i < 41; i++)
        ck_assert_int_eq(sim_map(s, a, BASE + i * PG, prop), 0);
    ck_assert_int_eq(sim_unmap(s, a, BASE, 40 * PG, true), 0);
}

static void sc_bulk_unmap(struct sim *s) { bulk(s, RW); }
static void sc_bulk_unmap_global(struct sim *s) { bulk(s, RW_G); }

/* 40 global pages write-protected in one go (a full flush, which must be
   the global one). */
static void sc_bulk_protect_global(struct sim *s)
{
    struct tlb_vmspace *a = &s->spaces[0];
    activate(s, 1, a);
    activate(s, 0, a);
    for (unsigned i = 0; i < 40; i++)
        ck_assert_int_eq(sim_map(s, a, BASE + i * PG, RW_G), 0);
    ck_assert_int_eq(sim_protect(s, a, BASE, 40 * PG, PT_W, 0), 0);
}

/* CPU 1 runs A while CPU 0 maps a global page in it; CPU 1 moves to B;
   CPU 0 (on neither) then unmaps the page: no CPU is in A's set. */
static void sc_leave_global(struct sim *s)
{
    struct tlb_vmspace *a = &s->spaces[0], *b = &s->spaces[1];
    activate(s, 1, a);
    sim_switch(s, 0);
    ck_assert_int_eq(sim_map(s, a, BASE, RW_G), 0);
    ck_assert_int_eq(sim_map(s, a, BASE + PG, RW), 0);
    activate(s, 1, b);
    sim_switch(s, 0);
    ck_assert_int_eq(sim_unmap(s, a, BASE, PG, true), 0);
}

struct mutation {
    const char *name;
    uint32_t fault;
    void (*scenario)(struct sim *);
    uint32_t expect;     /* the right class(es): at least one must be reported */
};

#define B(c) TLB_CLASS_BIT(c)
static const struct mutation mutations[] = {
    {"skip local flush", TLB_FAULT_SKIP_LOCAL_FLUSH, sc_unmap_shared, B(TLB_T1)},
    {"skip remote flush", TLB_FAULT_SKIP_REMOTE_FLUSH, sc_unmap_shared, B(TLB_T1)},
    /* The target acknowledges without flushing: the sync completes with the
       obligation still open, i.e. it was dropped. */
    {"skip remote flush (protect)", TLB_FAULT_SKIP_REMOTE_FLUSH, sc_protect_shared, B(TLB_T11)},
    {"free before flush", TLB_FAULT_FREE_BEFORE_FLUSH, sc_unmap_shared, B(TLB_T1)},
    {"drop a target CPU", TLB_FAULT_DROP_TARGET, sc_unmap_shared, B(TLB_T10)},
    /* For an unmap the frame is freed before the op ends, so the first
       check to fail is the free (T1); a protect shows the flush itself. */
    {"flush the wrong page", TLB_FAULT_WRONG_PAGE, sc_unmap_shared, B(TLB_T1) | B(TLB_T16)},
    {"flush the wrong page (protect)", TLB_FAULT_WRONG_PAGE, sc_protect_shared, B(TLB_T16)},
    {"skip sync before op end", TLB_FAULT_SKIP_SYNC, sc_protect_shared, B(TLB_T20)},
    {"drop an op when the queue is full", TLB_FAULT_DROP_OP_WHEN_FULL, sc_bulk_unmap,
     B(TLB_T1) | B(TLB_T11) | B(TLB_T16)},
    {"non-global full flush for a global op", TLB_FAULT_NONGLOBAL_FULL, sc_bulk_protect_global, B(TLB_T13)},
    {"non-global full flush for a global unmap", TLB_FAULT_NONGLOBAL_FULL, sc_bulk_unmap_global,
     B(TLB_T1) | B(TLB_T13)},
    {"leave a space keeping its global entries", TLB_FAULT_LEAVE_KEEPS_GLOBAL, sc_leave_global,
     B(TLB_T10) | B(TLB_T13)},
    {"activate without joining the CPU set", TLB_FAULT_NO_JOIN, sc_unmap_shared, B(TLB_T10)},
    {"huge leaf made before the flush of what it replaces", TLB_FAULT_MAKE_BEFORE_FLUSH, sc_huge_over_small,
     B(TLB_T12)},
};
#define NR_MUTATIONS (sizeof mutations / sizeof mutations[0])

/* Run the scenario with `faults` and validate what it emitted. */
static struct stream_verdict run(const struct mutation *m, uint32_t faults)
{
    struct sim *s = malloc(sizeof *s);
    ck_assert_ptr_nonnull(s);
    ck_assert(sim_init(s, 2, 2, 4096, 1));
    tlb_domain_set_faults(s->dom, faults);
    m->scenario(s);
    struct stream_verdict vd;
    ck_assert(check_stream(s, &vd, faults ? NULL : stderr, 3));
    tlb_domain_set_faults(s->dom, 0);
    /* A planted bug may legitimately leak (e.g. nothing ever flushes);
       only the clean run must shut down cleanly. */
    bool clean_shutdown = sim_shutdown(s);
    if (!faults)
        ck_assert_msg(clean_shutdown, "%s: clean run leaked", m->name);
    sim_destroy(s);
    free(s);
    return vd;
}

START_TEST(mutation_is_caught)
{
    const struct mutation *m = &mutations[_i];
    struct stream_verdict clean = run(m, 0);
    ck_assert_msg(clean.verdict != TLB_VERDICT_BAD_INPUT, "%s: clean stream rejected: %s", m->name,
                  clean.error);
    ck_assert_msg(clean.violations == 0, "%s: the scenario WITHOUT the bug has %llu violations (%s)",
                  m->name, (unsigned long long)clean.violations, class_list(clean.classes));
    struct stream_verdict bug = run(m, m->fault);
    printf("{\"test\":\"tlb_flusher_mutations\",\"mutation\":\"%s\",\"violations\":%llu,"
           "\"classes\":\"%s\"}\n", m->name, (unsigned long long)bug.violations, class_list(bug.classes));
    fflush(stdout);
    ck_assert_msg(bug.verdict != TLB_VERDICT_BAD_INPUT, "%s: stream rejected: %s", m->name, bug.error);
    ck_assert_msg(bug.violations > 0, "%s: NOT caught", m->name);
    ck_assert_msg(bug.classes & m->expect, "%s: caught as %s, expected one of %s", m->name,
                  class_list(bug.classes), class_list(m->expect));
}
END_TEST

/*
 * The same bugs planted into RANDOM workloads (4 CPUs, 8,000 operations,
 * fixed seed): the clean run of that seed has zero violations, and each
 * planted bug is caught with its class. The workloads create some global
 * leaves (workload_default_opts), so the global-entry bugs are planted too.
 */
struct random_mutation {
    const char *name;
    uint32_t fault;
    uint32_t expect;
};

static const struct random_mutation random_mutations[] = {
    {"skip local flush", TLB_FAULT_SKIP_LOCAL_FLUSH, B(TLB_T1)},
    {"skip remote flush", TLB_FAULT_SKIP_REMOTE_FLUSH, B(TLB_T1)},
    {"free before flush", TLB_FAULT_FREE_BEFORE_FLUSH, B(TLB_T1)},
    {"drop a target CPU", TLB_FAULT_DROP_TARGET, B(TLB_T10)},
    {"flush the wrong page", TLB_FAULT_WRONG_PAGE, B(TLB_T16)},
    {"skip sync before op end", TLB_FAULT_SKIP_SYNC, B(TLB_T20)},
    /* Pages go unflushed while other pages of the batch are flushed: a lost
       obligation (T11), a flush that misses them (T16), or, when their
       frame is freed first, T1. */
    {"drop an op when the queue is full", TLB_FAULT_DROP_OP_WHEN_FULL, B(TLB_T1) | B(TLB_T11) | B(TLB_T16)},
    {"activate without joining the CPU set", TLB_FAULT_NO_JOIN, B(TLB_T10)},
    /* A CR3 reload leaves global entries: the stale global leaf is left
       behind (T13), or its frame is freed while cached (T1). */
    {"non-global full flush for a global op", TLB_FAULT_NONGLOBAL_FULL, B(TLB_T13) | B(TLB_T1)},
    {"leave a space keeping its global entries", TLB_FAULT_LEAVE_KEEPS_GLOBAL, B(TLB_T10)},
    /* The workloads map some 2 MiB leaves (huge_pct). */
    {"huge leaf made before the flush of what it replaces", TLB_FAULT_MAKE_BEFORE_FLUSH, B(TLB_T12)},
};
#define NR_RANDOM_MUTATIONS (sizeof random_mutations / sizeof random_mutations[0])
#define RANDOM_SEED 9
#define RANDOM_OPS 8000

static struct stream_verdict run_random(uint32_t faults)
{
    struct sim *s = malloc(sizeof *s);
    ck_assert_ptr_nonnull(s);
    ck_assert(sim_init(s, 4, 3, 16384, RANDOM_SEED));
    tlb_domain_set_faults(s->dom, faults);
    struct workload_opts o = workload_default_opts(RANDOM_OPS);
    struct workload_stats st;
    ck_assert(workload_run(s, &o, &st));
    tlb_domain_set_faults(s->dom, 0);
    bool clean_shutdown = sim_shutdown(s);
    if (!faults)
        ck_assert_msg(clean_shutdown, "clean random run leaked");
    struct stream_verdict vd;
    ck_assert(check_stream(s, &vd, faults ? NULL : stderr, 3));
    sim_destroy(s);
    free(s);
    return vd;
}

START_TEST(random_clean_twin)
{
    struct stream_verdict vd = run_random(0);
    ck_assert_msg(vd.verdict == TLB_VERDICT_OK && vd.violations == 0,
                  "the random run WITHOUT bugs has %llu violations (%s) %s", (unsigned long long)vd.violations,
                  class_list(vd.classes), vd.error);
}
END_TEST

START_TEST(random_mutation_is_caught)
{
    const struct random_mutation *m = &random_mutations[_i];
    struct stream_verdict bug = run_random(m->fault);
    printf("{\"test\":\"tlb_flusher_mutations\",\"mode\":\"random\",\"seed\":%d,\"ops\":%d,"
           "\"mutation\":\"%s\",\"violations\":%llu,\"classes\":\"%s\"}\n",
           RANDOM_SEED, RANDOM_OPS, m->name, (unsigned long long)bug.violations, class_list(bug.classes));
    fflush(stdout);
    ck_assert_msg(bug.verdict != TLB_VERDICT_BAD_INPUT, "%s: stream rejected: %s", m->name, bug.error);
    ck_assert_msg(bug.violations > 0, "%s: NOT caught", m->name);
    ck_assert_msg(bug.classes & m->expect, "%s: caught as %s, expected one of %s", m->name,
                  class_list(bug.classes), class_list(m->expect));
}
END_TEST

int check_program(int argc, char **argv, struct check_plan *plan)
{
    if (!check_no_args(argc, argv))
        return CHECK_EXIT_USAGE;
    Suite *su = suite_create("tlb_flusher_mutations");
    TCase *t = tcase_create("mutations");
    tcase_add_loop_test(t, mutation_is_caught, 0, (int)NR_MUTATIONS);
    suite_add_tcase(su, t);
    t = tcase_create("random");
    tcase_set_timeout(t, 0);
    tcase_add_test(t, random_clean_twin);
    tcase_add_loop_test(t, random_mutation_is_caught, 0, (int)NR_RANDOM_MUTATIONS);
    suite_add_tcase(su, t);
    check_plan_add(plan, su);
    return CHECK_RUN;
}
