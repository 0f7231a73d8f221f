/*
 * What real hardware and real kernels do, and the validator must accept
 * (issue 7 §2), next to the bug each shape must still expose:
 *  - the MMU sets accessed/dirty bits in memory without any event;
 *  - a kernel linear map (global huge leaves) aliases every frame;
 *  - a huge leaf may replace a table that maps the same frames (collapse);
 *  - one root bound to many PCIDs;
 *  - the class reported is the bug's own, whatever unrelated traffic does.
 */
#include "scenarios.h"

#include "pagetable/x86_64.h"
#include "scenario_space.h"

#define HUGE_VA 0x200000ull     /* L2[1] */
#define HUGE_F  0x400000ull

/* Dispatch from `cpu` to `mask` for [va, va + n pages); each target flushes that range, acks; sync. */
static void shootdown_range(struct sb *b, uint32_t cpu, uint64_t mask, uint64_t va, uint64_t n)
{
    uint64_t d = sb_dispatch(b, cpu, R, mask, n == 1 ? TLB_FLUSH_SINGLE : TLB_FLUSH_RANGE, va, n);
    for (uint32_t c = 0; c < b->ncpus; c++)
        if (mask & (1ull << c)) {
            if (n == 1)
                sb_invlpg(b, c, va);
            else
                sb_flush_range(b, c, va, n);
            if (c != cpu)
                sb_remote_done(b, c, cpu, d);
        }
    sb_sync(b, cpu, mask & ~(1ull << cpu), d);
}

static void shootdown(struct sb *b, uint32_t cpu, uint64_t mask, uint64_t va)
{
    shootdown_range(b, cpu, mask, va, 1);
}

/* ---- accessed and dirty bits ------------------------------------------- */

/*
 * Not a bug: while CPUs use the mappings, the MMU sets A in the table entries of the walk and D in
 * the leaves written through (a 4 KiB leaf and a 2 MiB leaf); the next stores' old values carry
 * those bits although no event set them. Protect and unmap, each flushed, then free.
 */
void scenario_ad_set_by_mmu(struct sb *b, bool bug, struct expect *e)
{
    (void)bug;
    sc_setup(b, 2, ALL2);
    sb_store(b, 0, R, L1, 1, 5, sb_leaf(F, true, false));
    sb_store(b, 0, R, L2, 2, 1, sb_leaf(HUGE_F, true, false));
    sb_mmu_set(b, R, 0, PTE_A);
    sb_mmu_set(b, L3, 0, PTE_A);
    sb_mmu_set(b, L2, 0, PTE_A);
    sb_mmu_set(b, L1, 5, PTE_A | PTE_D);
    sb_mmu_set(b, L2, 1, PTE_D);
    sb_op(b, 0, R, true, TLB_OP_PROTECT, VA(5), VA(6));
    sb_store(b, 0, R, L1, 1, 5, sb_leaf(F, false, false) | PTE_D);
    shootdown(b, 0, ALL2, VA(5));
    sb_op(b, 0, R, false, TLB_OP_PROTECT, VA(5), VA(6));
    sb_op(b, 1, R, true, TLB_OP_UNMAP, 0, 0x400000);
    sb_store(b, 1, R, L1, 1, 5, 0);
    sb_store(b, 1, R, L2, 2, 1, 0);
    shootdown(b, 1, ALL2, VA(5));
    shootdown(b, 1, ALL2, HUGE_VA);
    sb_free_frame(b, 1, F, 1);
    sb_free_frame(b, 1, HUGE_F, 512);
    sb_op(b, 1, R, false, TLB_OP_UNMAP, 0, 0x400000);
    *e = (struct expect){ 0, 0, 0, 0 };
}

/*
 * T15: the MMU set D on VA 5; software clears it (write-back of a dirty page: "software cannot
 * interpret the bit being clear" until the flush, R2) and never flushes. The model must have taken
 * D from the store's old value for the clear to be seen at all.
 */
void scenario_t15_dirty_cleared(struct sb *b, bool bug, struct expect *e)
{
    sc_setup(b, 2, ALL2);
    sb_store(b, 0, R, L1, 1, 5, sb_leaf(F, true, false));
    sb_mmu_set(b, L1, 5, PTE_D);
    sb_op(b, 0, R, true, TLB_OP_OTHER, VA(5), VA(6));
    sb_store(b, 0, R, L1, 1, 5, sb_leaf(F, true, false));   /* D 1 -> 0 */
    if (!bug)
        shootdown(b, 0, ALL2, VA(5));
    sb_op(b, 0, R, false, TLB_OP_OTHER, VA(5), VA(6));
    *e = (struct expect){ TLB_T15, 1, VA(5), F };
}

/* ---- the kernel's linear map ------------------------------------------- */

#define KL3 0x105000ull                    /* kernel half: R[256] -> KL3 */
#define LINEAR_BASE 0xffff800000000000ull  /* KL3[0]: a global 1 GiB leaf mapping PA 0..1 GiB */

/* The kernel maps all RAM (F included) once more, with global 1 GiB leaves, as OSTD and our guest do. */
static void setup_linear_map(struct sb *b)
{
    sc_setup(b, 2, ALL2);
    sb_store(b, 0, R, KL3, 3, 0, sb_leaf(0, true, true));
    sb_store(b, 0, R, R, 4, 256, sb_table(KL3));
    sb_store(b, 0, R, L1, 1, 5, sb_leaf(F, true, false));
}

/* Not a bug: VA 5's mapping of F is removed and flushed everywhere, then F is freed -- while the
 * linear map, which no one unmaps, still maps it. */
void scenario_linear_map_free_after_flush(struct sb *b, bool bug, struct expect *e)
{
    (void)bug;
    setup_linear_map(b);
    sb_op(b, 0, R, true, TLB_OP_UNMAP, VA(5), VA(6));
    sb_store(b, 0, R, L1, 1, 5, 0);
    shootdown(b, 0, ALL2, VA(5));
    sb_free_frame(b, 0, F, 1);
    sb_op(b, 0, R, false, TLB_OP_UNMAP, VA(5), VA(6));
    *e = (struct expect){ 0, 0, 0, 0 };
}

/* T1, not T19: F freed before VA 5's unmap is flushed; the linear map's alias is not the bug. */
void scenario_t1_linear_map_free_before_flush(struct sb *b, bool bug, struct expect *e)
{
    setup_linear_map(b);
    sb_op(b, 0, R, true, TLB_OP_UNMAP, VA(5), VA(6));
    sb_store(b, 0, R, L1, 1, 5, 0);
    if (bug)
        sb_free_frame(b, 0, F, 1);
    shootdown(b, 0, ALL2, VA(5));
    if (!bug)
        sb_free_frame(b, 0, F, 1);
    sb_op(b, 0, R, false, TLB_OP_UNMAP, VA(5), VA(6));
    *e = (struct expect){ TLB_T1, 1, VA(5), F };
}

/* ---- collapse: a table replaced by an equivalent huge leaf ------------- */

/* L2[1] -> L1B, whose 512 leaves map HUGE_F.. contiguously, RW, in use on both CPUs. */
static void setup_small_pages(struct sb *b, bool writable)
{
    sc_setup(b, 2, ALL2);
    for (unsigned i = 0; i < 512; i++)
        sb_store(b, 0, R, L1B, 1, i, sb_leaf(HUGE_F + i * 4096ull, writable, false));
    sb_store(b, 0, R, L2, 2, 1, sb_table(L1B));
}

/*
 * T9, not T12: the table is replaced directly by a 2 MiB leaf mapping the same frames with the same
 * attributes (a collapse: legal without break-before-make, SDM §4.10.2.3; Linux does it to its
 * direct map). CPUs may still hold the old table in their paging-structure caches, so it may be
 * freed only after a flush. bug: freed before the flush.
 */
void scenario_t9_collapse_freed_early(struct sb *b, bool bug, struct expect *e)
{
    setup_small_pages(b, true);
    sb_op(b, 0, R, true, TLB_OP_OTHER, HUGE_VA, HUGE_VA + 0x200000);
    sb_store(b, 0, R, L2, 2, 1, sb_leaf(HUGE_F, true, false));
    if (bug)
        sb_free_node(b, 0, L1B, 1);
    shootdown_range(b, 0, ALL2, HUGE_VA, 512);
    if (!bug)
        sb_free_node(b, 0, L1B, 1);
    sb_op(b, 0, R, false, TLB_OP_OTHER, HUGE_VA, HUGE_VA + 0x200000);
    *e = (struct expect){ TLB_T9, 1, HUGE_VA, L1B };
}

/* Not a bug: a collapse whose old table is kept (never freed) needs no flush at all. */
void scenario_collapse_without_flush(struct sb *b, bool bug, struct expect *e)
{
    (void)bug;
    setup_small_pages(b, true);
    sb_op(b, 0, R, true, TLB_OP_OTHER, HUGE_VA, HUGE_VA + 0x200000);
    sb_store(b, 0, R, L2, 2, 1, sb_leaf(HUGE_F, true, false));
    sb_op(b, 0, R, false, TLB_OP_OTHER, HUGE_VA, HUGE_VA + 0x200000);
    *e = (struct expect){ 0, 0, 0, 0 };
}

/* T12: a "collapse" that also changes the attributes (read-only small pages, writable huge leaf) is
 * a page-size change together with the access rights: break-before-make required. */
void scenario_t12_collapse_changes_rights(struct sb *b, bool bug, struct expect *e)
{
    setup_small_pages(b, false);
    sb_op(b, 0, R, true, TLB_OP_OTHER, HUGE_VA, HUGE_VA + 0x200000);
    if (!bug) {
        sb_store(b, 0, R, L2, 2, 1, 0);
        shootdown_range(b, 0, ALL2, HUGE_VA, 512);
    }
    sb_store(b, 0, R, L2, 2, 1, sb_leaf(HUGE_F, true, false));
    if (bug)
        shootdown_range(b, 0, ALL2, HUGE_VA, 512);
    sb_free_node(b, 0, L1B, 1);
    sb_op(b, 0, R, false, TLB_OP_OTHER, HUGE_VA, HUGE_VA + 0x200000);
    *e = (struct expect){ TLB_T12, 0, HUGE_VA, L1B };
}

/* ---- one root, many PCIDs ---------------------------------------------- */

/*
 * T14: CPU 0 runs R successively in PCIDs 1..12 (nothing limits how many PCIDs a kernel binds one
 * root to), so every one of them may cache VA 5. VA 5 is unmapped and flushed in the current PCID only; then the CPU returns to
 * PCID 10 with the no-flush bit, which still holds the stale entry. (The validator once modelled 8
 * PCIDs per root and silently missed the others.) correct: the return to PCID 10 flushes it.
 * Afterwards a global flush empties every PCID, so nothing is left at the end.
 */
void scenario_t14_many_pcids_one_root(struct sb *b, bool bug, struct expect *e)
{
    sc_setup(b, 1, 0);
    sb_store(b, 0, R, L1, 1, 5, sb_leaf(F, true, false));
    for (uint16_t pcid = 1; pcid <= 12; pcid++)
        sb_cr3(b, 0, R, pcid, false);
    sb_store(b, 0, R, L1, 1, 5, 0);
    sb_invlpg(b, 0, VA(5));
    sb_cr3(b, 0, R, 10, bug);
    sb_flush_all(b, 0, true);
    *e = (struct expect){ TLB_T14, 0, VA(5), F };
}

/* ---- the class is the bug's own ---------------------------------------- */

/*
 * T15, not T16: CPU 0 write-protects VA 5 and never flushes it. Meanwhile CPU 1 unmaps VA 9 and its
 * shootdown reaches CPU 0, which INVLPGs VA 9 for it: that flush was not CPU 0's attempt at VA 5.
 */
void scenario_t15_protect_amid_other_shootdown(struct sb *b, bool bug, struct expect *e)
{
    sc_setup(b, 2, ALL2);
    sb_store(b, 0, R, L1, 1, 5, sb_leaf(F, true, false));
    sb_store(b, 1, R, L1, 1, 9, sb_leaf(F + 0x1000, true, false));
    sb_op(b, 0, R, true, TLB_OP_PROTECT, VA(5), VA(6));
    sb_store(b, 0, R, L1, 1, 5, sb_leaf(F, false, false));
    sb_op(b, 1, R, true, TLB_OP_UNMAP, VA(9), VA(10));
    sb_store(b, 1, R, L1, 1, 9, 0);
    shootdown(b, 1, ALL2, VA(9));
    sb_free_frame(b, 1, F + 0x1000, 1);
    sb_op(b, 1, R, false, TLB_OP_UNMAP, VA(9), VA(10));
    if (!bug)
        shootdown(b, 0, ALL2, VA(5));
    sb_op(b, 0, R, false, TLB_OP_PROTECT, VA(5), VA(6));
    *e = (struct expect){ TLB_T15, 1, VA(5), F };
}

/*
 * T16 whether the frame is freed before or after OP_END: the unmap of VA 5 dispatches and flushes
 * the wrong range (VA 6). `free_first`: the free comes before the completion point (caught at the
 * free), else after it (caught at OP_END). correct: the right range.
 */
static void wrong_range(struct sb *b, bool bug, struct expect *e, bool free_first)
{
    sc_setup(b, 2, ALL2);
    sb_store(b, 0, R, L1, 1, 5, sb_leaf(F, true, false));
    sb_op(b, 0, R, true, TLB_OP_UNMAP, VA(5), VA(6));
    sb_store(b, 0, R, L1, 1, 5, 0);
    shootdown(b, 0, ALL2, bug ? VA(6) : VA(5));
    if (free_first)
        sb_free_frame(b, 0, F, 1);
    sb_op(b, 0, R, false, TLB_OP_UNMAP, VA(5), VA(6));
    if (!free_first)
        sb_free_frame(b, 0, F, 1);
    *e = (struct expect){ TLB_T16, 1, VA(5), F };
}

void scenario_t16_wrong_range_free_before_end(struct sb *b, bool bug, struct expect *e)
{
    wrong_range(b, bug, e, true);
}

void scenario_t16_wrong_range_free_after_end(struct sb *b, bool bug, struct expect *e)
{
    wrong_range(b, bug, e, false);
}

/* The same on one CPU, with a local flush only (no dispatch): INVLPG of the wrong page, then free. */
void scenario_t16_local_wrong_page_then_free(struct sb *b, bool bug, struct expect *e)
{
    sc_setup(b, 1, 1);
    sb_store(b, 0, R, L1, 1, 5, sb_leaf(F, true, false));
    sb_op(b, 0, R, true, TLB_OP_UNMAP, VA(5), VA(6));
    sb_store(b, 0, R, L1, 1, 5, 0);
    sb_invlpg(b, 0, bug ? VA(6) : VA(5));
    sb_free_frame(b, 0, F, 1);
    sb_op(b, 0, R, false, TLB_OP_UNMAP, VA(5), VA(6));
    *e = (struct expect){ TLB_T16, 0, VA(5), F };
}

/*
 * T10, not T4: CPU 0 unmaps VA 5 (all three CPUs may cache it). CPU 1, unmapping the same range,
 * finds it empty and forces a flush of its range (the fix for T4) -- but its dispatch misses CPU 2.
 * That CPU's stale entry was made by CPU 0; the dispatch that missed it is still the bug.
 */
void scenario_t10_misses_other_creators_cpu(struct sb *b, bool bug, struct expect *e)
{
    sc_setup(b, 3, 7);
    sb_store(b, 0, R, L1, 1, 5, sb_leaf(F, true, false));
    sb_op(b, 0, R, true, TLB_OP_UNMAP, VA(5), VA(6));
    sb_store(b, 0, R, L1, 1, 5, 0);
    sb_op(b, 1, R, true, TLB_OP_UNMAP, VA(5), VA(6));
    shootdown(b, 1, bug ? 3 : 7, VA(5));
    sb_op(b, 1, R, false, TLB_OP_UNMAP, VA(5), VA(6));
    shootdown(b, 0, 7, VA(5));
    sb_free_frame(b, 0, F, 1);
    sb_op(b, 0, R, false, TLB_OP_UNMAP, VA(5), VA(6));
    *e = (struct expect){ TLB_T10, 2, VA(5), F };
}
