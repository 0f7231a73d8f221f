/*
 * Scenarios for what a CPU RETAINS of an address space it no longer runs
 * (SDM Vol. 3A §4.10.4.1, no PCID: a MOV to CR3 drops every non-global TLB
 * entry and every paging-structure-cache entry, global TLB entries survive;
 * with PCIDs, a non-current PCID keeps what it cached while it was current).
 * A CPU that left root R may hold only the entries of R that existed, reachable
 * from R, while it still had R loaded, until it flushes them. So:
 *  - a global leaf installed (or linked into the tree) after the CPU left is
 *    not cacheable by it: a dispatch that skips it is correct (the false
 *    positive these scenarios were written for);
 *  - a global leaf that existed while the CPU had R loaded stays cacheable
 *    after it left (until a global flush), also when it is later upgraded or
 *    split into an equivalent table: the dispatch must include the CPU (T10),
 *    the frame must not be freed before (T1);
 *  - the same holds for a non-current PCID's non-global entries (T10, and no
 *    T14 on a no-flush return when nothing stale was cacheable there).
 * Layout as in scenarios.c: root R -> L3 -> L2 -> L1, L1[i] maps VA i*4 KiB.
 */
#include "scenarios.h"

#include "pagetable/x86_64.h"
#include "scenario_space.h"

#define HUGE 0x400000ull
#define HUGE_VA 0x200000ull   /* L2[1] */
#define CPU0 1ull

/* CPU `cpu` moves from R to R2 the way the flusher does it; `global_flush`: CR4.PGE toggle after the
 * CR3 load (what a correct flusher does when R may hold global leaves it could have cached). */
static void leave_r(struct sb *b, uint32_t cpu, bool global_flush)
{
    sb_activate(b, cpu, R2, true);
    sb_cr3(b, cpu, R2, 0, false);
    if (global_flush)
        sb_flush_all(b, cpu, true);
    sb_activate(b, cpu, R, false);
}

/* CPU 1 then runs 40 other address spaces in turn (more than the validator tracks one by one). */
static void visit_many_roots(struct sb *b)
{
    for (unsigned i = 0; i < 40; i++)
        sb_cr3(b, 1, 0x300000 + i * 0x1000ull, 0, false);
}

/* Dispatch from CPU 0 to `mask`, each target INVLPGs va, acks; then sync. */
static void shootdown(struct sb *b, uint64_t mask, uint64_t va)
{
    uint64_t d = sb_dispatch(b, 0, R, mask, TLB_FLUSH_SINGLE, va, 1);
    for (uint32_t c = 0; c < 2; c++)
        if (mask & (1ull << c)) {
            sb_invlpg(b, c, va);
            if (c != 0)
                sb_remote_done(b, c, 0, d);
        }
    sb_sync(b, 0, mask & ~CPU0, d);
}

/* CPU 0 unmaps the 4 KiB page at va (node, idx) of R, shoots down `mask`, frees `frame`. */
static void unmap_page(struct sb *b, uint64_t node, unsigned idx, uint64_t va, uint64_t mask, uint64_t frame)
{
    sb_op(b, 0, R, true, TLB_OP_UNMAP, va, va + 4096);
    sb_store(b, 0, R, node, 1, idx, 0);
    shootdown(b, mask, va);
    sb_free_frame(b, 0, frame, 1);
    sb_op(b, 0, R, false, TLB_OP_UNMAP, va, va + 4096);
}

/* Not a bug (the reported false positive): CPU 1 leaves R; only then does CPU 0 map a global page in
 * R, write-protect it and unmap it, flushing only itself (R's CPU set is {0}). CPU 1 never had R
 * loaded while the leaf existed, so it cannot cache it. */
void scenario_global_mapped_after_leave(struct sb *b, bool bug, struct expect *e)
{
    (void)bug;
    sc_setup(b, 2, ALL2);
    leave_r(b, 1, false);
    sb_store(b, 0, R, L1, 1, 7, sb_leaf(F, true, true));
    sb_op(b, 0, R, true, TLB_OP_PROTECT, VA(7), VA(8));
    sb_store(b, 0, R, L1, 1, 7, sb_leaf(F, false, true));
    shootdown(b, CPU0, VA(7));
    sb_op(b, 0, R, false, TLB_OP_PROTECT, VA(7), VA(8));
    unmap_page(b, L1, 7, VA(7), CPU0, F);
    *e = (struct expect){ 0, 0, 0, 0 };
}

/* T10: the global page existed while CPU 1 ran R; CPU 1 left R without a global flush, so it may
 * still hold the global entry, and the unmap's dispatch (to R's CPU set {0}) misses it. Done right:
 * CPU 1 toggled CR4.PGE when it left. */
void scenario_t10_global_left_after_map(struct sb *b, bool bug, struct expect *e)
{
    sc_setup(b, 2, ALL2);
    sb_store(b, 0, R, L1, 1, 7, sb_leaf(F, true, true));
    leave_r(b, 1, !bug);
    unmap_page(b, L1, 7, VA(7), CPU0, F);
    *e = (struct expect){ TLB_T10, 1, VA(7), F };
}

/* T1: the same, but R's CPU set is {0} and CPU 0 only flushes itself (no dispatch) before freeing
 * the frame: the retained global entry on CPU 1 is a translation to a freed frame. */
void scenario_t1_global_left_after_map(struct sb *b, bool bug, struct expect *e)
{
    sc_setup(b, 2, ALL2);
    sb_store(b, 0, R, L1, 1, 7, sb_leaf(F, true, true));
    leave_r(b, 1, !bug);
    sb_op(b, 0, R, true, TLB_OP_UNMAP, VA(7), VA(8));
    sb_store(b, 0, R, L1, 1, 7, 0);
    sb_invlpg(b, 0, VA(7));
    sb_free_frame(b, 0, F, 1);
    sb_op(b, 0, R, false, TLB_OP_UNMAP, VA(7), VA(8));
    *e = (struct expect){ TLB_T1, 1, VA(7), F };
}

/* T10: a read-only global page existed while CPU 1 ran R; after CPU 1 left, CPU 0 made it writable
 * (an upgrade: no flush needed) and then unmapped it. CPU 1 may still hold the read-only
 * translation, which is just as stale: the upgrade must not reset what CPU 1 may hold. */
void scenario_t10_global_upgraded_after_leave(struct sb *b, bool bug, struct expect *e)
{
    sc_setup(b, 2, ALL2);
    sb_store(b, 0, R, L1, 1, 7, sb_leaf(F, false, true));
    leave_r(b, 1, !bug);
    sb_store(b, 0, R, L1, 1, 7, sb_leaf(F, true, true));
    unmap_page(b, L1, 7, VA(7), CPU0, F);
    *e = (struct expect){ TLB_T10, 1, VA(7), F };
}

/* T10: a global 2 MiB page existed while CPU 1 ran R; after CPU 1 left, CPU 0 split it into an
 * equivalent table (no translation changes) and unmapped its first 4 KiB page. CPU 1 may still hold
 * the 2 MiB entry, which covers that page. */
void scenario_t10_global_split_after_leave(struct sb *b, bool bug, struct expect *e)
{
    sc_setup(b, 2, ALL2);
    sb_store(b, 0, R, L2, 2, 1, sb_leaf(HUGE, true, true));
    leave_r(b, 1, !bug);
    for (unsigned i = 0; i < 512; i++)
        sb_store(b, 0, R, L1B, 1, i, sb_leaf(HUGE + i * 4096ull, true, true));
    sb_store(b, 0, R, L2, 2, 1, sb_table(L1B));
    unmap_page(b, L1B, 0, HUGE_VA, CPU0, HUGE);
    *e = (struct expect){ TLB_T10, 1, HUGE_VA, HUGE };
}

/* Not a bug: CPU 0 fills a new level-1 table (detached) with a global page while CPU 1 still runs R,
 * CPU 1 leaves, and only then is the table linked into R. CPU 1 could never reach the page. */
void scenario_global_linked_after_leave(struct sb *b, bool bug, struct expect *e)
{
    (void)bug;
    sc_setup(b, 2, ALL2);
    sb_store(b, 0, R, L1B, 1, 3, sb_leaf(F, true, true));
    leave_r(b, 1, false);
    sb_store(b, 0, R, L2, 2, 1, sb_table(L1B));
    unmap_page(b, L1B, 3, HUGE_VA + VA(3), CPU0, F);
    *e = (struct expect){ 0, 0, 0, 0 };
}

/* Not a bug (PCID): CPU 1 ran R in PCID 1, then switched to R2 in PCID 2 (PCID 1 keeps what it
 * cached). A page mapped in R after that, write-protected and unmapped, was never cacheable in
 * PCID 1: the dispatch may skip CPU 1, and CPU 1 may return to PCID 1 without flushing (no T14). */
void scenario_pcid_mapped_after_switch(struct sb *b, bool bug, struct expect *e)
{
    (void)bug;
    sc_setup(b, 2, CPU0);
    sb_cr3(b, 1, R, 1, false);
    sb_cr3(b, 1, R2, 2, false);
    sb_store(b, 0, R, L1, 1, 5, sb_leaf(F, true, false));
    sb_store(b, 0, R, L1, 1, 5, sb_leaf(F, false, false));   /* write-protect, local flush only */
    sb_invlpg(b, 0, VA(5));
    unmap_page(b, L1, 5, VA(5), CPU0, F);
    sb_cr3(b, 1, R, 1, true);
    *e = (struct expect){ 0, 0, 0, 0 };
}

/* T10 (PCID): the page existed while CPU 1 ran R in PCID 1; PCID 1 keeps it after CPU 1 switched to
 * PCID 2, so the unmap's dispatch must include CPU 1, which must flush every PCID (an INVLPG in
 * PCID 2 would not reach PCID 1; without INVPCID: a CR4.PGE toggle). The bug: the dispatch skips CPU
 * 1 and it returns to PCID 1 without flushing. */
void scenario_t10_pcid_left_after_map(struct sb *b, bool bug, struct expect *e)
{
    sc_setup(b, 2, CPU0);
    sb_store(b, 0, R, L1, 1, 5, sb_leaf(F, true, false));
    sb_cr3(b, 1, R, 1, false);
    sb_cr3(b, 1, R2, 2, false);
    sb_op(b, 0, R, true, TLB_OP_UNMAP, VA(5), VA(6));
    sb_store(b, 0, R, L1, 1, 5, 0);
    if (bug) {
        shootdown(b, CPU0, VA(5));
    } else {
        uint64_t d = sb_dispatch(b, 0, R, ALL2, TLB_FLUSH_SINGLE, VA(5), 1);
        sb_invlpg(b, 0, VA(5));
        sb_flush_all(b, 1, true);
        sb_remote_done(b, 1, 0, d);
        sb_sync(b, 0, 2, d);
    }
    sb_free_frame(b, 0, F, 1);
    sb_op(b, 0, R, false, TLB_OP_UNMAP, VA(5), VA(6));
    sb_cr3(b, 1, R, 1, true);
    *e = (struct expect){ TLB_T10, 1, VA(5), F };
}

/* Not a bug: as global_mapped_after_leave, but CPU 1 ran 40 other address spaces after leaving R
 * (the validator forgets the oldest roots it tracks, keeping a bound on what they could hold). */
void scenario_global_mapped_after_many_roots(struct sb *b, bool bug, struct expect *e)
{
    (void)bug;
    sc_setup(b, 2, ALL2);
    leave_r(b, 1, false);
    visit_many_roots(b);
    sb_store(b, 0, R, L1, 1, 7, sb_leaf(F, true, true));
    unmap_page(b, L1, 7, VA(7), CPU0, F);
    *e = (struct expect){ 0, 0, 0, 0 };
}

/* T10: as t10_global_left_after_map, with 40 other address spaces run by CPU 1 in between: the
 * global entry of R survives all those CR3 loads. */
void scenario_t10_global_left_many_roots(struct sb *b, bool bug, struct expect *e)
{
    sc_setup(b, 2, ALL2);
    sb_store(b, 0, R, L1, 1, 7, sb_leaf(F, true, true));
    leave_r(b, 1, !bug);
    visit_many_roots(b);
    unmap_page(b, L1, 7, VA(7), CPU0, F);
    *e = (struct expect){ TLB_T10, 1, VA(7), F };
}

/* T10 after a root is freed: CPU 1 runs roots A, B and C, goes back to B; a global page is mapped in C;
 * root A (empty) is freed, which drops it from what CPU 1 may retain; CPU 1 runs C again (now the
 * page exists) and leaves it without a global flush. The unmap's dispatch must include CPU 1. (Done
 * right: CPU 1 toggles CR4.PGE after leaving.) */
void scenario_t10_global_after_root_free(struct sb *b, bool bug, struct expect *e)
{
    const uint64_t A = 0x130000, B = 0x140000, C = 0x150000, C3 = 0x151000, C2 = 0x152000, C1 = 0x153000;
    const uint64_t va = VA(9);
    sc_setup(b, 2, ALL2);
    sb_store(b, 0, C, C, 4, 0, sb_table(C3));
    sb_store(b, 0, C, C3, 3, 0, sb_table(C2));
    sb_store(b, 0, C, C2, 2, 0, sb_table(C1));
    sb_cr3(b, 1, A, 0, false);
    sb_cr3(b, 1, B, 0, false);
    sb_cr3(b, 1, C, 0, false);
    sb_cr3(b, 1, B, 0, false);
    sb_store(b, 0, C, C1, 1, 9, sb_leaf(F2, true, true));
    sb_free_node(b, 0, A, 4);   /* C, the last root CPU 1 loaded, takes A's place in its set */
    sb_cr3(b, 1, C, 0, false);
    sb_cr3(b, 1, B, 0, false);
    if (!bug)
        sb_flush_all(b, 1, true);
    sb_op(b, 0, C, true, TLB_OP_UNMAP, va, va + 4096);
    sb_store(b, 0, C, C1, 1, 9, 0);
    uint64_t d = sb_dispatch(b, 0, C, CPU0, TLB_FLUSH_SINGLE, va, 1);
    sb_invlpg(b, 0, va);
    sb_sync(b, 0, 0, d);
    sb_free_frame(b, 0, F2, 1);
    sb_op(b, 0, C, false, TLB_OP_UNMAP, va, va + 4096);
    *e = (struct expect){ TLB_T10, 1, va, F2 };
}
