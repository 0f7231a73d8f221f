/*
 * Unit tests of the TLB flusher: flush ops and the 32-page threshold, CPU
 * sets, the platform contract, dispatch targets and acknowledgements, kept
 * frames released only after every target flushed, batch and pool limits,
 * activation order, global entries, detached subtrees, and the events each
 * action emits. Runs on the simulated machine (sim.h).
 */
#include <check.h>
#include <stdlib.h>

#include "check_main.h"
#include "ack_check.h"
#include "check_stream.h"
#include "sim.h"

#define BASE 0x40000000ull
#define PG PT_BASE_PAGE_SIZE

static const struct pt_prop RW_USER = {.flags = PT_RW, .priv = PT_PRIV_USER, .cache = PT_CACHE_WB};
static const struct pt_prop RW_GLOBAL = {
    .flags = PT_RW, .priv = PT_PRIV_USER | PT_PRIV_GLOBAL, .cache = PT_CACHE_WB};

static struct sim *new_sim(unsigned cpus, unsigned spaces)
{
    struct sim *s = malloc(sizeof *s);
    ck_assert_ptr_nonnull(s);
    ck_assert(sim_init(s, cpus, spaces, 4096, 42));
    return s;
}

/* CPU 1, then CPU 0, activate `a`; CPU 0 stays current (it initiates). */
static void run_on_cpus_1_and_0(struct sim *s, struct tlb_vmspace *a)
{
    sim_switch(s, 1);
    tlb_vmspace_activate(s->dom, a);
    sim_switch(s, 0);
    tlb_vmspace_activate(s->dom, a);
}

static void end_sim(struct sim *s)
{
    ck_assert_msg(sim_shutdown(s), "shutdown found leaks or live batches");
    sim_destroy(s);
    free(s);
}

/* Index of the first event of `type` (and `cpu` unless ~0u) at or after
   `from`, or -1. */
static long find_ev(const struct sim *s, size_t from, unsigned type, unsigned cpu)
{
    for (size_t i = from; i < s->nr_ev; i++)
        if (s->ev[i].type == type && (cpu == ~0u || s->ev[i].cpu == cpu))
            return (long)i;
    return -1;
}

static size_t count_ev(const struct sim *s, size_t from, unsigned type)
{
    size_t n = 0;
    for (size_t i = from; i < s->nr_ev; i++)
        n += s->ev[i].type == type;
    return n;
}

/* Index of the FREE event for frame pa, or -1. */
static long find_free(const struct sim *s, pt_paddr_t pa)
{
    for (size_t i = 0; i < s->nr_ev; i++)
        if (s->ev[i].type == TLB_EV_FREE && s->ev[i].u.free.pa == pa)
            return (long)i;
    return -1;
}

/* The frame mapped at va (via a PTE-store event that installed it). */
static pt_paddr_t frame_at(const struct sim *s, pt_vaddr_t va)
{
    (void)va;
    for (size_t i = s->nr_ev; i-- > 0;)
        if (s->ev[i].type == TLB_EV_PTE_STORE && s->ev[i].sub == 1 &&
            s->ev[i].arg == pt_index(va, 1) && pt_pte_is_leaf(s->ev[i].u.pte.new_pte))
            return pt_pte_leaf_paddr(s->ev[i].u.pte.new_pte, 1);
    return 0;
}

/* ---- flush ops ---- */

START_TEST(op_range_sizes_and_threshold)
{
    struct tlb_flush_op op;
    ck_assert_int_eq(tlb_op_range(BASE, BASE + PG, false, &op), 0);
    ck_assert_int_eq(op.kind, TLB_FLUSH_SINGLE);
    ck_assert_uint_eq(op.npages, 1);
    ck_assert_int_eq(tlb_op_range(BASE, BASE + 31 * PG, false, &op), 0);
    ck_assert_int_eq(op.kind, TLB_FLUSH_RANGE);
    ck_assert_uint_eq(op.npages, 31);
    ck_assert_uint_eq(op.va, BASE);
    ck_assert_int_eq(tlb_op_range(BASE, BASE + TLB_FLUSH_ALL_PAGES_THRESHOLD * PG, false, &op), 0);
    ck_assert_int_eq(op.kind, TLB_FLUSH_ALL_NONGLOBAL);
    ck_assert_int_eq(tlb_op_range(BASE, BASE + 40 * PG, true, &op), 0);
    ck_assert_int_eq(op.kind, TLB_FLUSH_ALL_GLOBAL);
    ck_assert_int_eq(tlb_op_single(BASE + 123, false).va, BASE);
}
END_TEST

START_TEST(op_range_rejects_bad_ranges)
{
    struct tlb_flush_op op = {.kind = 99};
    ck_assert_int_eq(tlb_op_range(BASE, BASE, false, &op), TLB_ERR_INVAL);
    ck_assert_int_eq(tlb_op_range(BASE + PG, BASE, false, &op), TLB_ERR_INVAL);
    ck_assert_int_eq(tlb_op_range(BASE + 1, BASE + PG, false, &op), TLB_ERR_INVAL);
    ck_assert_int_eq(tlb_op_range(BASE, BASE + PG + 8, false, &op), TLB_ERR_INVAL);
    ck_assert_int_eq(op.kind, 99);   /* untouched */
}
END_TEST

START_TEST(queue_switches_to_full_flush_at_32_pages)
{
    struct sim *s = new_sim(1, 1);
    struct tlb_flusher f;
    tlb_flusher_init(&f, s->dom, &s->spaces[0].cpus, s->spaces[0].pt.root);
    for (unsigned i = 0; i < TLB_FLUSH_ALL_PAGES_THRESHOLD - 1; i++)
        tlb_flusher_issue(&f, tlb_op_single(BASE + i * PG, false));
    ck_assert_uint_eq(f.ops.nr_ops, 31);
    ck_assert(!f.ops.flush_all);
    tlb_flusher_issue(&f, tlb_op_single(BASE + 31 * PG, false));
    ck_assert(f.ops.flush_all);
    ck_assert_uint_eq(f.ops.nr_ops, 0);
    ck_assert(!f.ops.global);
    /* Cumulative: a 20-page range plus 12 singles reaches 32 too. */
    struct tlb_flusher g;
    tlb_flusher_init(&g, s->dom, &s->spaces[0].cpus, s->spaces[0].pt.root);
    struct tlb_flush_op op;
    ck_assert_int_eq(tlb_op_range(BASE, BASE + 20 * PG, false, &op), 0);
    tlb_flusher_issue(&g, op);
    for (unsigned i = 0; i < 11; i++)
        tlb_flusher_issue(&g, tlb_op_single(BASE + (100 + i) * PG, false));
    ck_assert(!g.ops.flush_all);
    ck_assert_uint_eq(g.ops.nr_pages, 31);
    tlb_flusher_issue(&g, tlb_op_single(BASE + 200 * PG, false));
    ck_assert(g.ops.flush_all);
    end_sim(s);
}
END_TEST

/* A full flush of a queue that holds a global op must remove globals. */
START_TEST(full_flush_of_global_op_is_global)
{
    struct sim *s = new_sim(1, 1);
    struct tlb_vmspace *a = &s->spaces[0];
    tlb_vmspace_activate(s->dom, a);
    struct tlb_flusher f;
    tlb_flusher_init(&f, s->dom, &a->cpus, a->pt.root);
    tlb_flusher_issue(&f, tlb_op_single(BASE, true));
    for (unsigned i = 1; i < 40; i++)
        tlb_flusher_issue(&f, tlb_op_single(BASE + i * PG, false));
    ck_assert(f.ops.flush_all && f.ops.global);
    uint64_t g0 = s->cpu[0].global_flush, n0 = s->cpu[0].full_flush;
    tlb_flusher_dispatch(&f);
    ck_assert_uint_eq(s->cpu[0].global_flush, g0 + 1);
    ck_assert_uint_eq(s->cpu[0].full_flush, n0);
    /* The same without the global op: a CR3-style flush. */
    for (unsigned i = 0; i < 40; i++)
        tlb_flusher_issue(&f, tlb_op_single(BASE + i * PG, false));
    tlb_flusher_dispatch(&f);
    ck_assert_uint_eq(s->cpu[0].global_flush, g0 + 1);
    ck_assert_uint_eq(s->cpu[0].full_flush, n0 + 1);
    end_sim(s);
}
END_TEST

/* ---- CPU sets and the platform contract ---- */

START_TEST(cpuset_basics)
{
    struct tlb_atomic_cpuset c;
    tlb_cpuset_init(&c);
    ck_assert_uint_eq(tlb_cpuset_snapshot(&c), 0);
    ck_assert(tlb_cpuset_add(&c, 0));
    ck_assert(tlb_cpuset_add(&c, 63));
    ck_assert(!tlb_cpuset_add(&c, 64));
    ck_assert(tlb_cpuset_contains(&c, 63));
    ck_assert(!tlb_cpuset_contains(&c, 64));
    ck_assert_uint_eq(tlb_cpuset_snapshot(&c), (1ull << 63) | 1);
    tlb_cpuset_remove(&c, 0);
    tlb_cpuset_remove(&c, 99);
    ck_assert_uint_eq(tlb_cpuset_snapshot(&c), 1ull << 63);
    ck_assert_uint_eq(tlb_cpumask_count(0xf0f0), 8);
}
END_TEST

START_TEST(domain_init_rejects_bad_arguments)
{
    struct sim *s = new_sim(1, 1);
    struct tlb_domain *d = malloc(sizeof *d);
    ck_assert_ptr_nonnull(d);
    ck_assert_int_eq(tlb_domain_init(d, NULL, s, &s->hp.mem, 1, 0), TLB_ERR_INVAL);
    ck_assert_int_eq(tlb_domain_init(d, &s->tlb_ops, s, NULL, 1, 0), TLB_ERR_INVAL);
    ck_assert_int_eq(tlb_domain_init(d, &s->tlb_ops, s, &s->hp.mem, 0, 0), TLB_ERR_INVAL);
    ck_assert_int_eq(tlb_domain_init(d, &s->tlb_ops, s, &s->hp.mem, TLB_MAX_CPUS + 1, 0), TLB_ERR_INVAL);
    struct tlb_platform_ops ops = s->tlb_ops;
    ops.relax = NULL;
    ck_assert_int_eq(tlb_domain_init(d, &ops, s, &s->hp.mem, 1, 0), TLB_ERR_INVAL);
    ck_assert_int_eq(tlb_domain_init(d, &s->tlb_ops, s, &s->hp.mem, TLB_MAX_CPUS, 0), TLB_OK);
    free(d);
    end_sim(s);
}
END_TEST

START_TEST(cursor_and_destroy_errors)
{
    struct sim *s = new_sim(1, 1);
    struct tlb_cursor c;
    ck_assert_int_eq(tlb_cursor_new(&c, &s->spaces[0], BASE + 1, BASE + PG), PT_ERR_UNALIGNED);
    ck_assert_int_eq(tlb_cursor_new(&c, &s->spaces[0], BASE + PG, BASE), PT_ERR_INVALID_RANGE);
    /* Rejected lengths: an error, and nothing in the stream. */
    ck_assert_int_eq(tlb_cursor_new(&c, &s->spaces[0], BASE, BASE + 4 * PG), 0);
    size_t mark = s->nr_ev;
    uint64_t n = 99;
    ck_assert_int_eq(tlb_cursor_unmap(&c, PG + 1, true, &n), PT_ERR_UNALIGNED);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(tlb_cursor_unmap(&c, 5 * PG, true, NULL), PT_ERR_BEYOND_BARRIER);
    ck_assert_int_eq(tlb_cursor_protect(&c, 8 * PG, NULL, NULL, NULL), PT_ERR_BEYOND_BARRIER);
    ck_assert_int_eq(tlb_cursor_unmap(&c, 0, true, NULL), 0);
    ck_assert_uint_eq(s->nr_ev, mark);
    tlb_cursor_drop(&c);
    tlb_vmspace_activate(s->dom, &s->spaces[0]);
    ck_assert_int_eq(tlb_vmspace_destroy(&s->spaces[0]), TLB_ERR_BUSY);
    ck_assert_str_eq(tlb_error_name(TLB_ERR_BUSY), "TLB_ERR_BUSY");
    ck_assert_str_eq(tlb_error_name(PT_ERR_NOMEM), "PT_ERR_NOMEM");
    end_sim(s);
}
END_TEST

/* ---- dispatch, acknowledgements, kept frames ---- */

/* CPUs 0 and 2 run space A, CPU 1 does not: a flush goes to exactly {0, 2}. */
START_TEST(dispatch_targets_the_space_cpus_only)
{
    struct sim *s = new_sim(3, 2);
    struct tlb_vmspace *a = &s->spaces[0];
    sim_switch(s, 2);
    tlb_vmspace_activate(s->dom, a);
    sim_switch(s, 1);
    tlb_vmspace_activate(s->dom, &s->spaces[1]);
    sim_switch(s, 0);
    tlb_vmspace_activate(s->dom, a);
    ck_assert_int_eq(sim_map(s, a, BASE, RW_USER), 0);
    size_t mark = s->nr_ev;
    ck_assert_int_eq(sim_unmap(s, a, BASE, PG, true), 0);
    long d = find_ev(s, mark, TLB_EV_DISPATCH, 0);
    ck_assert_int_ge(d, 0);
    ck_assert_uint_eq(s->ev[d].u.dispatch.targets, (1u << 0) | (1u << 2));
    ck_assert_uint_eq(s->ev[d].u.dispatch.va, BASE);
    ck_assert_uint_eq(s->cpu[2].ipis, 1);
    ck_assert_uint_eq(s->cpu[1].ipis, 0);
    long f2 = find_ev(s, mark, TLB_EV_FLUSH, 2), f0 = find_ev(s, mark, TLB_EV_FLUSH, 0);
    ck_assert_int_ge(f2, 0);
    ck_assert_int_ge(f0, 0);
    ck_assert_int_eq(find_ev(s, mark, TLB_EV_FLUSH, 1), -1);
    ck_assert_uint_eq(s->ev[f2].u.flush.va, BASE);
    long rd = find_ev(s, mark, TLB_EV_REMOTE_DONE, 2);
    ck_assert_int_gt(rd, f2);
    ck_assert_uint_eq(s->ev[rd].u.remote_done.initiator, 0);
    ck_assert_uint_eq(s->ev[rd].u.remote_done.dispatch_seq, s->ev[d].seq);
    long sd = find_ev(s, mark, TLB_EV_SYNC_DONE, 0);
    ck_assert_int_gt(sd, rd);
    ck_assert_uint_eq(s->ev[sd].u.sync.targets, 1u << 2);
    long end = find_ev(s, mark, TLB_EV_OP_END, 0);
    ck_assert_int_gt(end, sd);
    end_sim(s);
}
END_TEST

/* Without sync the unmapped frame stays allocated until the remote CPU has
   flushed; it is freed by that CPU, after its flush. */
START_TEST(kept_frame_freed_only_after_every_target_flushed)
{
    struct sim *s = new_sim(2, 1);
    struct tlb_vmspace *a = &s->spaces[0];
    run_on_cpus_1_and_0(s, a);
    ck_assert_int_eq(sim_map(s, a, BASE, RW_USER), 0);
    pt_paddr_t pa = frame_at(s, BASE);
    ck_assert_uint_ne(pa, 0);
    ck_assert_int_eq(sim_unmap(s, a, BASE, PG, false), 0);
    ck_assert_int_eq(find_free(s, pa), -1);
    ck_assert_uint_eq(pt_frame_refcount(&s->hp.mem, pa), 1);
    ck_assert_uint_eq(tlb_domain_live_batches(s->dom), 1);
    ck_assert(s->cpu[1].ipi_pending);
    ck_assert(sim_deliver(s, 1));
    long fr = find_free(s, pa);
    ck_assert_int_ge(fr, 0);
    ck_assert_uint_eq(s->ev[fr].cpu, 1);
    ck_assert_int_eq(s->ev[fr].sub, TLB_FREE_FRAME);
    long fl = find_ev(s, 0, TLB_EV_FLUSH, 1);
    ck_assert_int_ge(fl, 0);
    ck_assert_int_lt(fl, fr);
    ck_assert_uint_eq(tlb_domain_live_batches(s->dom), 0);
    end_sim(s);
}
END_TEST

/* More frags than one batch holds: the flusher dispatches the full batch
   first; every frame is still freed only after the flushes. */
START_TEST(batch_overflow_dispatches_early)
{
    struct sim *s = new_sim(2, 1);
    struct tlb_vmspace *a = &s->spaces[0];
    run_on_cpus_1_and_0(s, a);
    unsigned n = TLB_BATCH_FRAGS + 10;
    for (unsigned i = 0; i < n; i++)
        ck_assert_int_eq(sim_map(s, a, BASE + i * PG, RW_USER), 0);
    size_t mark = s->nr_ev;
    ck_assert_int_eq(sim_unmap(s, a, BASE, n * PG, true), 0);
    ck_assert_uint_eq(count_ev(s, mark, TLB_EV_DISPATCH), 2);
    size_t frees = 0;
    for (size_t i = mark; i < s->nr_ev; i++)
        frees += s->ev[i].type == TLB_EV_FREE && s->ev[i].sub == TLB_FREE_FRAME;
    ck_assert_uint_eq(frees, n);
    end_sim(s);
}
END_TEST

/* More outstanding dispatches than the pool has batches, to a CPU that never
   runs on its own: the pool wait lets it take its interrupts. */
START_TEST(pool_exhaustion_waits_for_flushes)
{
    struct sim *s = new_sim(2, 1);
    struct tlb_vmspace *a = &s->spaces[0];
    run_on_cpus_1_and_0(s, a);
    for (unsigned i = 0; i < TLB_BATCH_POOL + 20; i++) {
        ck_assert_int_eq(sim_map(s, a, BASE, RW_USER), 0);
        ck_assert_int_eq(sim_unmap(s, a, BASE, PG, false), 0);
        ck_assert_uint_le(tlb_domain_live_batches(s->dom), TLB_BATCH_POOL);
    }
    end_sim(s);
}
END_TEST

START_TEST(spurious_ipi_is_harmless)
{
    struct sim *s = new_sim(2, 1);
    size_t mark = s->nr_ev;
    sim_switch(s, 1);
    tlb_flusher_handle_ipi(s->dom, 1);
    ck_assert_uint_eq(s->nr_ev, mark);
    end_sim(s);
}
END_TEST

/* ---- activation ---- */

START_TEST(activation_joins_before_cr3_and_leaves_after)
{
    struct sim *s = new_sim(1, 2);
    struct tlb_vmspace *a = &s->spaces[0], *b = &s->spaces[1];
    tlb_vmspace_activate(s->dom, a);
    size_t mark = s->nr_ev;
    tlb_vmspace_activate(s->dom, b);
    long enter = find_ev(s, mark, TLB_EV_ACTIVATE, 0);
    long cr3 = find_ev(s, mark, TLB_EV_CR3_LOAD, 0);
    long leave = find_ev(s, (size_t)enter + 1, TLB_EV_ACTIVATE, 0);
    ck_assert_int_ge(enter, 0);
    ck_assert_int_eq(s->ev[enter].sub, TLB_ACTIVATE_ENTER);
    ck_assert_uint_eq(s->ev[enter].root, b->pt.root);
    ck_assert_int_gt(cr3, enter);
    ck_assert_uint_eq(s->ev[cr3].root, b->pt.root);
    ck_assert_int_gt(leave, cr3);
    ck_assert_int_eq(s->ev[leave].sub, TLB_ACTIVATE_LEAVE);
    ck_assert_uint_eq(s->ev[leave].root, a->pt.root);
    ck_assert(tlb_cpuset_contains(&b->cpus, 0));
    ck_assert(!tlb_cpuset_contains(&a->cpus, 0));
    ck_assert_uint_eq(count_ev(s, mark, TLB_EV_FLUSH), 0);   /* no global leaves in a */
    /* Activating the active space again does nothing. */
    mark = s->nr_ev;
    tlb_vmspace_activate(s->dom, b);
    ck_assert_uint_eq(s->nr_ev, mark);
    end_sim(s);
}
END_TEST

/* Global entries survive the CR3 load, so leaving a space that has global
   leaves flushes globals before the CPU leaves its set. */
START_TEST(leaving_a_space_with_global_leaves_flushes_globals)
{
    struct sim *s = new_sim(1, 2);
    struct tlb_vmspace *a = &s->spaces[0];
    tlb_vmspace_activate(s->dom, a);
    ck_assert_int_eq(sim_map(s, a, BASE, RW_GLOBAL), 0);
    uint64_t g0 = s->cpu[0].global_flush;
    size_t mark = s->nr_ev;
    tlb_vmspace_activate(s->dom, &s->spaces[1]);
    ck_assert_uint_eq(s->cpu[0].global_flush, g0 + 1);
    long fl = find_ev(s, mark, TLB_EV_FLUSH, 0);
    long cr3 = find_ev(s, mark, TLB_EV_CR3_LOAD, 0);
    ck_assert_int_gt(fl, cr3);
    ck_assert_int_eq(s->ev[fl].sub, TLB_FLUSH_ALL_GLOBAL);
    long leave = find_ev(s, (size_t)fl, TLB_EV_ACTIVATE, 0);
    ck_assert_int_eq(s->ev[leave].sub, TLB_ACTIVATE_LEAVE);
    end_sim(s);
}
END_TEST

/* ---- the VmSpace layer ---- */

/* Unmapping a whole 2 MiB table detaches it as a stray subtree: one full
   flush, then the level-1 node and its frames are freed. */
START_TEST(unmap_whole_table_frees_node_after_full_flush)
{
    struct sim *s = new_sim(1, 1);
    struct tlb_vmspace *a = &s->spaces[0];
    tlb_vmspace_activate(s->dom, a);
    for (unsigned i = 0; i < 5; i++)
        ck_assert_int_eq(sim_map(s, a, BASE + i * 7 * PG, RW_USER), 0);
    size_t mark = s->nr_ev;
    struct tlb_cursor c;
    ck_assert_int_eq(tlb_cursor_new(&c, a, BASE, BASE + pt_page_size(2)), 0);
    uint64_t n = 0;
    ck_assert_int_eq(tlb_cursor_unmap(&c, pt_page_size(2), true, &n), 0);
    tlb_cursor_drop(&c);
    ck_assert_uint_eq(n, 5);
    long fl = find_ev(s, mark, TLB_EV_FLUSH, 0);
    ck_assert_int_ge(fl, 0);
    ck_assert_int_eq(s->ev[fl].sub, TLB_FLUSH_ALL_NONGLOBAL);
    long node = -1;
    size_t frames = 0;
    for (size_t i = mark; i < s->nr_ev; i++)
        if (s->ev[i].type == TLB_EV_FREE) {
            ck_assert_int_gt((long)i, fl);
            if (s->ev[i].sub == TLB_FREE_PT_NODE)
                node = (long)i;
            else
                frames++;
        }
    ck_assert_int_ge(node, 0);
    ck_assert_uint_eq(s->ev[node].arg, 1);
    ck_assert_uint_eq(frames, 5);
    end_sim(s);
}
END_TEST

/* Map over a mapped page (the seed's replace): the old frame is flushed and
   freed, then map completes. */
START_TEST(map_replace_flushes_and_frees_old_frame)
{
    struct sim *s = new_sim(2, 1);
    struct tlb_vmspace *a = &s->spaces[0];
    sim_switch(s, 1);
    tlb_vmspace_activate(s->dom, a);
    sim_switch(s, 0);
    ck_assert_int_eq(sim_map(s, a, BASE, RW_USER), 0);
    pt_paddr_t old = frame_at(s, BASE);
    ck_assert_int_eq(sim_map(s, a, BASE, RW_USER), 1);
    long fr = find_free(s, old);
    ck_assert_int_ge(fr, 0);
    long fl = find_ev(s, 0, TLB_EV_FLUSH, 1);
    ck_assert_int_ge(fl, 0);
    ck_assert_int_lt(fl, fr);
    long end = find_ev(s, (size_t)fr, TLB_EV_OP_END, 0);
    ck_assert_int_gt(end, fr);
    end_sim(s);
}
END_TEST

/* A huge leaf over a table of small ones: break-before-make. The table entry
   is cleared, flushed (and the old frames freed) BEFORE the leaf is written;
   never table -> leaf in one store. */
START_TEST(huge_map_over_table_breaks_before_make)
{
    struct sim *s = new_sim(2, 1);
    struct tlb_vmspace *a = &s->spaces[0];
    run_on_cpus_1_and_0(s, a);
    pt_vaddr_t block = BASE + pt_page_size(2);
    for (unsigned i = 0; i < 3; i++)
        ck_assert_int_eq(sim_map(s, a, block + i * 5 * PG, RW_USER), 0);
    size_t mark = s->nr_ev;
    ck_assert_int_eq(sim_map_huge(s, a, block, 1ull << 40, 2, RW_USER), 1);
    long clear = -1, leaf = -1, flush1 = -1;
    size_t frees = 0;
    for (size_t i = mark; i < s->nr_ev; i++) {
        const struct tlb_event *e = &s->ev[i];
        if (e->type == TLB_EV_PTE_STORE && e->sub == 2 && e->arg == pt_index(block, 2)) {
            if (e->u.pte.new_pte == 0 && pt_pte_is_table(e->u.pte.old_pte))
                clear = (long)i;
            else if (pt_pte_is_leaf(e->u.pte.new_pte)) {
                ck_assert(pt_pte_is_absent(e->u.pte.old_pte));   /* written into an empty slot */
                leaf = (long)i;
            }
        }
        if (e->type == TLB_EV_FLUSH && e->cpu == 1 && flush1 < 0)
            flush1 = (long)i;
        if (e->type == TLB_EV_FREE && leaf < 0)
            frees++;
    }
    ck_assert_int_ge(clear, 0);
    ck_assert_int_gt(flush1, clear);
    ck_assert_int_gt(leaf, flush1);
    ck_assert_uint_eq(frees, 4);   /* 3 frames + the level-1 node, before the leaf */
    end_sim(s);
}
END_TEST

/* The same with a cursor of exactly the huge leaf's span (one level-2 entry):
   take_next detaches that entry's table whole there too, and the table entry
   must be cleared and flushed on every CPU before the leaf goes in -- a
   present table entry overwritten by a leaf is a page-size change without
   break-before-make (R4, T12). */
START_TEST(huge_map_with_one_entry_cursor_breaks_before_make)
{
    struct sim *s = new_sim(2, 1);
    struct tlb_vmspace *a = &s->spaces[0];
    run_on_cpus_1_and_0(s, a);
    pt_vaddr_t block = BASE + pt_page_size(2);
    for (unsigned i = 0; i < 3; i++)
        ck_assert_int_eq(sim_map(s, a, block + i * 5 * PG, RW_USER), 0);
    size_t mark = s->nr_ev;
    struct tlb_cursor c;
    ck_assert_int_eq(tlb_cursor_new(&c, a, block, block + pt_page_size(2)), 0);
    struct pt_item item = {.pa = 1ull << 40, .level = 2, .prop = RW_USER, .tracked = false};
    ck_assert_int_ge(tlb_cursor_map(&c, &item), 0);
    tlb_cursor_drop(&c);
    for (size_t i = mark; i < s->nr_ev; i++) {
        const struct tlb_event *e = &s->ev[i];
        if (e->type == TLB_EV_PTE_STORE && e->sub == 2 && pt_pte_is_leaf(e->u.pte.new_pte))
            ck_assert_msg(pt_pte_is_absent(e->u.pte.old_pte), "leaf written over a present entry 0x%llx",
                          (unsigned long long)e->u.pte.old_pte);
    }
    struct stream_verdict vd;
    ck_assert(check_stream(s, &vd, stderr, 5));
    ck_assert_msg(vd.violations == 0, "%llu violations (%s)", (unsigned long long)vd.violations,
                  class_list(vd.classes));
    end_sim(s);
}
END_TEST

/* protect writes (and so flushes) only leaves whose property changes. */
START_TEST(protect_flushes_only_changed_leaves)
{
    struct sim *s = new_sim(1, 1);
    struct tlb_vmspace *a = &s->spaces[0];
    tlb_vmspace_activate(s->dom, a);
    for (unsigned i = 0; i < 4; i++)
        ck_assert_int_eq(sim_map(s, a, BASE + i * PG, RW_USER), 0);
    size_t mark = s->nr_ev;
    ck_assert_int_eq(sim_protect(s, a, BASE, 4 * PG, 0, PT_W), 0);   /* already RW */
    ck_assert_uint_eq(count_ev(s, mark, TLB_EV_PTE_STORE), 0);
    ck_assert_uint_eq(count_ev(s, mark, TLB_EV_FLUSH), 0);
    ck_assert_uint_eq(count_ev(s, mark, TLB_EV_DISPATCH), 0);
    mark = s->nr_ev;
    ck_assert_int_eq(sim_protect(s, a, BASE, 4 * PG, PT_W, 0), 0);
    ck_assert_uint_eq(count_ev(s, mark, TLB_EV_PTE_STORE), 4);
    ck_assert_uint_eq(count_ev(s, mark, TLB_EV_FLUSH), 4);   /* one INVLPG per changed leaf */
    long fl = (long)mark - 1;
    for (unsigned i = 0; i < 4; i++) {
        fl = find_ev(s, (size_t)fl + 1, TLB_EV_FLUSH, 0);
        ck_assert_int_eq(s->ev[fl].sub, TLB_FLUSH_SINGLE);
        ck_assert_uint_eq(s->ev[fl].u.flush.va, BASE + i * PG);
    }
    end_sim(s);
}
END_TEST

/* Every event has the next sequence number and a valid CPU. */
START_TEST(events_are_numbered_consecutively)
{
    struct sim *s = new_sim(4, 2);
    for (unsigned c = 0; c < 4; c++) {
        sim_switch(s, c);
        tlb_vmspace_activate(s->dom, &s->spaces[c % 2]);
        ck_assert_int_eq(sim_map(s, &s->spaces[c % 2], BASE + c * PG, RW_USER), 0);
    }
    sim_switch(s, 0);
    ck_assert_int_eq(sim_unmap(s, &s->spaces[0], BASE, 8 * PG, true), 0);
    ck_assert_int_eq(sim_unmap(s, &s->spaces[1], BASE, 8 * PG, false), 0);
    sim_deliver_all(s);
    ck_assert_uint_gt(s->nr_ev, 20);
    for (size_t i = 0; i < s->nr_ev; i++) {
        ck_assert_uint_eq(s->ev[i].seq, i);
        ck_assert_uint_lt(s->ev[i].cpu, 4);
    }
    end_sim(s);
}
END_TEST

/* The stream-level check of kept frames: quiet on a correct run, and it
   catches a frame freed before its flush (the planted free-before-flush). */
static void two_cpu_unmaps(struct sim *s)
{
    struct tlb_vmspace *a = &s->spaces[0];
    run_on_cpus_1_and_0(s, a);
    for (unsigned i = 0; i < 8; i++)
        ck_assert_int_eq(sim_map(s, a, BASE + i * PG, RW_USER), 0);
    ck_assert_int_eq(sim_unmap(s, a, BASE, 4 * PG, false), 0);
    ck_assert_int_eq(sim_unmap(s, a, BASE + 4 * PG, 4 * PG, true), 0);
    sim_deliver_all(s);
}

START_TEST(ack_check_clean_and_planted)
{
    struct ack_check_result r;
    struct sim *s = new_sim(2, 1);
    two_cpu_unmaps(s);
    ck_assert(ack_check(s, &r, stderr));
    ck_assert_uint_eq(r.frees_checked, 8);
    ck_assert_uint_eq(r.violations, 0);
    end_sim(s);

    s = new_sim(2, 1);
    tlb_domain_set_faults(s->dom, TLB_FAULT_FREE_BEFORE_FLUSH);
    two_cpu_unmaps(s);
    ck_assert(ack_check(s, &r, NULL));
    ck_assert_uint_eq(r.frees_checked, 8);
    ck_assert_uint_eq(r.violations, 8);
    tlb_domain_set_faults(s->dom, 0);
    end_sim(s);
}
END_TEST

static Suite *suite(void)
{
    Suite *su = suite_create("tlb_flusher_unit");
    TCase *t = tcase_create("ops");
    tcase_add_test(t, op_range_sizes_and_threshold);
    tcase_add_test(t, op_range_rejects_bad_ranges);
    tcase_add_test(t, queue_switches_to_full_flush_at_32_pages);
    tcase_add_test(t, full_flush_of_global_op_is_global);
    suite_add_tcase(su, t);
    t = tcase_create("platform");
    tcase_add_test(t, cpuset_basics);
    tcase_add_test(t, domain_init_rejects_bad_arguments);
    tcase_add_test(t, cursor_and_destroy_errors);
    suite_add_tcase(su, t);
    t = tcase_create("dispatch");
    tcase_add_test(t, dispatch_targets_the_space_cpus_only);
    tcase_add_test(t, kept_frame_freed_only_after_every_target_flushed);
    tcase_add_test(t, batch_overflow_dispatches_early);
    tcase_add_test(t, pool_exhaustion_waits_for_flushes);
    tcase_add_test(t, spurious_ipi_is_harmless);
    tcase_add_test(t, ack_check_clean_and_planted);
    suite_add_tcase(su, t);
    t = tcase_create("activation");
    tcase_add_test(t, activation_joins_before_cr3_and_leaves_after);
    tcase_add_test(t, leaving_a_space_with_global_leaves_flushes_globals);
    suite_add_tcase(su, t);
    t = tcase_create("vmspace");
    tcase_add_test(t, unmap_whole_table_frees_node_after_full_flush);
    tcase_add_test(t, map_replace_flushes_and_frees_old_frame);
    tcase_add_test(t, huge_map_over_table_breaks_before_make);
    tcase_add_test(t, huge_map_with_one_entry_cursor_breaks_before_make);
    tcase_add_test(t, protect_flushes_only_changed_leaves);
    tcase_add_test(t, events_are_numbered_consecutively);
    suite_add_tcase(su, t);
    return su;
}

int check_program(int argc, char **argv, struct check_plan *plan)
{
    if (!check_no_args(argc, argv))
        return CHECK_EXIT_USAGE;
    check_plan_add(plan, suite());
    return CHECK_RUN;
}
