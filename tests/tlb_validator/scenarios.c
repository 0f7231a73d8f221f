/* The catalogue's bug scenarios (see scenarios.h). */
#include "scenarios.h"

#include "pagetable/x86_64.h"
#include "scenario_space.h"


/* Dispatch from `cpu` to `mask`, each target INVLPGs va, acks; then sync. */
static void shootdown(struct sb *b, uint32_t cpu, uint64_t mask, uint64_t va)
{
    uint64_t d = sb_dispatch(b, cpu, R, mask, TLB_FLUSH_SINGLE, va, 1);
    for (uint32_t c = 0; c < b->ncpus; c++)
        if (mask & (1ull << c)) {
            sb_invlpg(b, c, va);
            if (c != cpu)
                sb_remote_done(b, c, cpu, d);
        }
    sb_sync(b, cpu, mask & ~(1ull << cpu), d);
}

/* T1: the frame is freed before the unmap is flushed on CPU 1. */
static void scenario_t1(struct sb *b, bool bug, struct expect *e)
{
    sc_setup(b, 2, ALL2);
    sb_store(b, 0, R, L1, 1, 5, sb_leaf(F, true, false));
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

/* T2: CPU 0 moves F from VA 5 to VA 9 without flushing VA 5; CPU 1 unmaps VA 9 correctly and frees F. */
static void scenario_t2(struct sb *b, bool bug, struct expect *e)
{
    sc_setup(b, 2, ALL2);
    sb_store(b, 0, R, L1, 1, 5, sb_leaf(F, true, false));
    sb_op(b, 0, R, true, TLB_OP_OTHER, VA(5), VA(10));
    sb_store(b, 0, R, L1, 1, 5, 0);
    sb_store(b, 0, R, L1, 1, 9, sb_leaf(F, true, false));
    if (!bug)
        shootdown(b, 0, ALL2, VA(5));
    sb_op(b, 1, R, true, TLB_OP_UNMAP, VA(9), VA(10));
    sb_store(b, 1, R, L1, 1, 9, 0);
    shootdown(b, 1, ALL2, VA(9));
    sb_free_frame(b, 1, F, 1);
    sb_op(b, 1, R, false, TLB_OP_UNMAP, VA(9), VA(10));
    if (bug)
        shootdown(b, 0, ALL2, VA(5));
    sb_op(b, 0, R, false, TLB_OP_OTHER, VA(5), VA(10));
    *e = (struct expect){ TLB_T2, 0, VA(5), F };
}

/* T3: CPU 0 moves the whole L1 table from L2[0] to L2[1] (VA 0 -> 2 MiB) without flushing the old
 * span; CPU 1 unmaps the page at its new address (correctly) and frees it. */
static void scenario_t3(struct sb *b, bool bug, struct expect *e)
{
    sc_setup(b, 2, ALL2);
    sb_store(b, 0, R, L1, 1, 5, sb_leaf(F, true, false));
    uint64_t new_va = 0x200000 + VA(5);
    sb_op(b, 0, R, true, TLB_OP_OTHER, 0, 0x400000);
    sb_store(b, 0, R, L2, 2, 0, 0);
    sb_store(b, 0, R, L2, 2, 1, sb_table(L1));
    if (!bug) {
        uint64_t d = sb_dispatch(b, 0, R, ALL2, TLB_FLUSH_RANGE, 0, 512);
        sb_flush_all(b, 0, false);
        sb_flush_all(b, 1, false);
        sb_remote_done(b, 1, 0, d);
        sb_sync(b, 0, 2, d);
    }
    sb_op(b, 1, R, true, TLB_OP_UNMAP, new_va, new_va + 4096);
    sb_store(b, 1, R, L1, 1, 5, 0);
    shootdown(b, 1, ALL2, new_va);
    sb_free_frame(b, 1, F, 1);
    sb_op(b, 1, R, false, TLB_OP_UNMAP, new_va, new_va + 4096);
    if (bug) {
        uint64_t d = sb_dispatch(b, 0, R, ALL2, TLB_FLUSH_ALL_NONGLOBAL, 0, 0);
        sb_flush_all(b, 0, false);
        sb_flush_all(b, 1, false);
        sb_remote_done(b, 1, 0, d);
        sb_sync(b, 0, 2, d);
    }
    sb_op(b, 0, R, false, TLB_OP_OTHER, 0, 0x400000);
    *e = (struct expect){ TLB_T3, 1, VA(5), F };
}

/* T4: CPU 0 zaps VA 5 and batches its flush; CPU 1 zaps the same range, finds nothing to clear and
 * returns without flushing while CPU 0's flush is still pending. */
static void scenario_t4(struct sb *b, bool bug, struct expect *e)
{
    sc_setup(b, 2, ALL2);
    sb_store(b, 0, R, L1, 1, 5, sb_leaf(F, true, false));
    sb_op(b, 0, R, true, TLB_OP_UNMAP, VA(5), VA(6));
    sb_store(b, 0, R, L1, 1, 5, 0);
    sb_op(b, 1, R, true, TLB_OP_UNMAP, VA(5), VA(6));
    if (!bug)   /* the fix: a nested batcher forces a flush of its range */
        shootdown(b, 1, ALL2, VA(5));
    sb_op(b, 1, R, false, TLB_OP_UNMAP, VA(5), VA(6));
    shootdown(b, 0, ALL2, VA(5));
    sb_free_frame(b, 0, F, 1);
    sb_op(b, 0, R, false, TLB_OP_UNMAP, VA(5), VA(6));
    *e = (struct expect){ TLB_T4, 0, VA(5), F };
}

/* T9: an empty L1 table is unlinked and freed before any CPU flushed its paging-structure caches. */
static void scenario_t9(struct sb *b, bool bug, struct expect *e)
{
    sc_setup(b, 2, ALL2);
    sb_op(b, 0, R, true, TLB_OP_UNMAP, 0, 0x200000);
    sb_store(b, 0, R, L2, 2, 0, 0);
    if (bug)
        sb_free_node(b, 0, L1, 1);
    shootdown(b, 0, ALL2, 0);
    if (!bug)
        sb_free_node(b, 0, L1, 1);
    sb_op(b, 0, R, false, TLB_OP_UNMAP, 0, 0x200000);
    *e = (struct expect){ TLB_T9, 1, 0, L1 };
}

/* T9 (variant): a table freed while still linked. */
static void scenario_t9_node_freed_while_linked(struct sb *b, bool bug, struct expect *e)
{
    (void)bug;
    sc_setup(b, 1, 1);
    sb_free_node(b, 0, L1, 1);
    *e = (struct expect){ TLB_T9, 0, 0, L1 };
}

/* T10: the dispatch misses CPU 1, which has the address space loaded. */
static void scenario_t10(struct sb *b, bool bug, struct expect *e)
{
    sc_setup(b, 2, ALL2);
    sb_store(b, 0, R, L1, 1, 5, sb_leaf(F, true, false));
    sb_op(b, 0, R, true, TLB_OP_UNMAP, VA(5), VA(6));
    sb_store(b, 0, R, L1, 1, 5, 0);
    shootdown(b, 0, bug ? 1 : ALL2, VA(5));
    sb_op(b, 0, R, false, TLB_OP_UNMAP, VA(5), VA(6));
    if (bug)   /* a later, unrelated full flush keeps T11 (end of stream) out of the picture */
        sb_flush_all(b, 1, false);
    sb_free_frame(b, 0, F, 1);
    *e = (struct expect){ TLB_T10, 1, VA(5), F };
}

/* T11: CPU 1 acknowledges the flush request without flushing; the sync drops the obligation. */
static void scenario_t11(struct sb *b, bool bug, struct expect *e)
{
    sc_setup(b, 2, ALL2);
    sb_store(b, 0, R, L1, 1, 5, sb_leaf(F, true, false));
    sb_op(b, 0, R, true, TLB_OP_PROTECT, VA(5), VA(6));
    sb_store(b, 0, R, L1, 1, 5, sb_leaf(F, false, false));
    uint64_t d = sb_dispatch(b, 0, R, ALL2, TLB_FLUSH_SINGLE, VA(5), 1);
    sb_invlpg(b, 0, VA(5));
    if (!bug)
        sb_invlpg(b, 1, VA(5));
    sb_remote_done(b, 1, 0, d);
    sb_sync(b, 0, 2, d);
    sb_op(b, 0, R, false, TLB_OP_PROTECT, VA(5), VA(6));
    *e = (struct expect){ TLB_T11, 1, VA(5), F };
}

/* T11 (variant): the stream ends with an obligation never discharged, outside any operation. */
static void scenario_t11_dropped_at_end(struct sb *b, bool bug, struct expect *e)
{
    (void)bug;
    sc_setup(b, 1, 1);
    sb_store(b, 0, R, L1, 1, 5, sb_leaf(F, true, false));
    sb_store(b, 0, R, L1, 1, 5, 0);
    *e = (struct expect){ TLB_T11, 0, VA(5), F };
}

/* T12: a present 2 MiB leaf is split into 4 KiB pages that are read-only (CPA-style: size and
 * attributes change together) by writing the table pointer over it (no break-before-make). */
static void scenario_t12(struct sb *b, bool bug, struct expect *e)
{
    sc_setup(b, 2, ALL2);
    uint64_t huge = 0x400000, va = 0x200000;
    sb_store(b, 0, R, L2, 2, 1, sb_leaf(huge, true, false));
    sb_op(b, 0, R, true, TLB_OP_PROTECT, va, va + 0x200000);
    for (unsigned i = 0; i < 512; i++)
        sb_store(b, 0, R, L1B, 1, i, sb_leaf(huge + i * 4096ull, false, false));
    if (!bug) {
        sb_store(b, 0, R, L2, 2, 1, 0);
        shootdown(b, 0, ALL2, va);
    }
    sb_store(b, 0, R, L2, 2, 1, sb_table(L1B));
    if (bug)
        shootdown(b, 0, ALL2, va);
    sb_op(b, 0, R, false, TLB_OP_PROTECT, va, va + 0x200000);
    *e = (struct expect){ TLB_T12, 0, va, huge };
}

/* T12 (variant): break without the flush before make: cleared, but a CPU still caches the 2 MiB entry. */
static void scenario_t12_make_before_flush(struct sb *b, bool bug, struct expect *e)
{
    (void)bug;
    sc_setup(b, 2, ALL2);
    uint64_t huge = 0x400000, va = 0x200000;
    sb_store(b, 0, R, L2, 2, 1, sb_leaf(huge, true, false));
    sb_op(b, 0, R, true, TLB_OP_PROTECT, va, va + 0x200000);
    sb_store(b, 0, R, L1B, 1, 0, sb_leaf(huge, true, false));
    sb_store(b, 0, R, L2, 2, 1, 0);
    sb_store(b, 0, R, L2, 2, 1, sb_table(L1B));
    shootdown(b, 0, ALL2, va);
    sb_op(b, 0, R, false, TLB_OP_PROTECT, va, va + 0x200000);
    *e = (struct expect){ TLB_T12, 1, va, huge };
}

/* A second address space R2 -> R2L3 -> R2L2 (no level-1 node): VA 0 of R2 is a 2 MiB slot. */
#define R2L3 0x111000ull
#define R2L2 0x112000ull
#define HUGE_F 0x400000ull

static void setup_r2(struct sb *b)
{
    sb_store(b, 0, R2, R2, 4, 0, sb_table(R2L3));
    sb_store(b, 0, R2, R2L3, 3, 0, sb_table(R2L2));
}

/*
 * T12 (4 KiB -> 2 MiB): CPU 0 unmaps the 4 KiB page at VA 5 of R while CPU 1 (running R) may still
 * cache it, and before the shootdown a 2 MiB leaf is made present over VA 0..2 MiB.
 * bug: in R itself (CPU 1 may fill the 2 MiB entry next to its stale 4 KiB one: R4);
 * correct: in another address space R2 that CPU 1 does not run -- its stale entry is tagged with
 * its own PCID/CR3 and a CR3 load of R2 would discharge it (R7), so the two never meet.
 * (A false positive once: seen in randomised huge-page runs.)
 */
static void scenario_t12_small_to_huge(struct sb *b, bool bug, struct expect *e)
{
    sc_setup(b, 3, ALL2);
    setup_r2(b);
    sb_activate(b, 2, R2, true);
    sb_cr3(b, 2, R2, 0, false);
    sb_store(b, 0, R, L1, 1, 5, sb_leaf(F, true, false));
    sb_op(b, 0, R, true, TLB_OP_UNMAP, VA(5), VA(6));
    sb_store(b, 0, R, L1, 1, 5, 0);
    if (bug) {   /* break (the table goes, PSC flushed on both) but CPU 1 still holds VA 5 */
        sb_store(b, 0, R, L2, 2, 0, 0);
        sb_invlpg(b, 0, VA(0));
        sb_store(b, 0, R, L2, 2, 0, sb_leaf(HUGE_F, true, false));
    } else {
        sb_op(b, 2, R2, true, TLB_OP_MAP, 0, 0x200000);
        sb_store(b, 2, R2, R2L2, 2, 0, sb_leaf(HUGE_F, true, false));
        sb_op(b, 2, R2, false, TLB_OP_MAP, 0, 0x200000);
    }
    shootdown(b, 0, ALL2, VA(5));
    sb_op(b, 0, R, false, TLB_OP_UNMAP, VA(5), VA(6));
    *e = (struct expect){ TLB_T12, 1, VA(5), F };
}

/*
 * T12 with a stale GLOBAL 4 KiB entry: global entries are used in every PCID and survive CR3
 * loads, so the stale entry of R meets R2's new 2 MiB leaf on a CPU that runs R2.
 * bug: CPU 1 has switched to R2 (keeping R's global entries) when the 2 MiB leaf is made present;
 * correct: CPU 1 still runs R, and R2's new entry cannot be filled from R's tree (SDM 4.10.2.1).
 */
static void scenario_t12_global_small_to_huge(struct sb *b, bool bug, struct expect *e)
{
    sc_setup(b, 3, ALL2);
    setup_r2(b);
    sb_activate(b, 2, R2, true);
    sb_cr3(b, 2, R2, 0, false);
    sb_store(b, 0, R, L1, 1, 5, sb_leaf(F, true, true));
    sb_op(b, 0, R, true, TLB_OP_UNMAP, VA(5), VA(6));
    sb_store(b, 0, R, L1, 1, 5, 0);
    if (bug) {
        sb_activate(b, 1, R2, true);
        sb_cr3(b, 1, R2, 0, false);
    }
    sb_op(b, 2, R2, true, TLB_OP_MAP, 0, 0x200000);
    sb_store(b, 2, R2, R2L2, 2, 0, sb_leaf(HUGE_F, true, false));
    sb_op(b, 2, R2, false, TLB_OP_MAP, 0, 0x200000);
    shootdown(b, 0, ALL2, VA(5));
    sb_op(b, 0, R, false, TLB_OP_UNMAP, VA(5), VA(6));
    *e = (struct expect){ TLB_T12, 1, VA(5), F };
}

/* T13: a global mapping is unmapped and "flushed" with CR3 reloads, which keep global entries. */
static void scenario_t13(struct sb *b, bool bug, struct expect *e)
{
    sc_setup(b, 2, ALL2);
    sb_store(b, 0, R, L1, 1, 7, sb_leaf(F, true, true));
    sb_op(b, 0, R, true, TLB_OP_UNMAP, VA(7), VA(8));
    sb_store(b, 0, R, L1, 1, 7, 0);
    uint64_t d = sb_dispatch(b, 0, R, ALL2, TLB_FLUSH_ALL_NONGLOBAL, 0, 0);
    sb_flush_all(b, 0, !bug);
    sb_flush_all(b, 1, !bug);
    sb_remote_done(b, 1, 0, d);
    sb_sync(b, 0, 2, d);
    sb_op(b, 0, R, false, TLB_OP_UNMAP, VA(7), VA(8));
    sb_free_frame(b, 0, F, 1);
    *e = (struct expect){ TLB_T13, 1, VA(7), F };
}

/* T14: PCID 1 held root R; a no-flush CR3 load binds it to R2 without invalidating it. */
static void scenario_t14_rebind(struct sb *b, bool bug, struct expect *e)
{
    sc_setup(b, 2, 1);
    sb_store(b, 1, R2, R2, 4, 0, sb_table(L3));
    sb_cr3(b, 1, R, 1, false);
    sb_cr3(b, 1, R2, 1, bug);
    *e = (struct expect){ TLB_T14, 1, 0, R };
}

/* T14 (variant): back to a PCID with a pending change, with the no-flush bit. */
static void scenario_t14_stale_pcid_reuse(struct sb *b, bool bug, struct expect *e)
{
    (void)bug;
    sc_setup(b, 1, 0);
    sb_store(b, 0, R2, R2, 4, 1, sb_table(0x120000));
    sb_store(b, 0, R, L1, 1, 5, sb_leaf(F, true, false));
    sb_cr3(b, 0, R, 1, false);
    sb_cr3(b, 0, R2, 2, false);
    sb_store(b, 0, R, L1, 1, 5, sb_leaf(F, false, false));   /* RW -> RO while R sits in PCID 1 */
    sb_cr3(b, 0, R, 1, true);
    *e = (struct expect){ TLB_T14, 0, VA(5), F };
}

/* T15: mprotect RW -> RO without any flush. */
static void scenario_t15(struct sb *b, bool bug, struct expect *e)
{
    sc_setup(b, 2, ALL2);
    sb_store(b, 0, R, L1, 1, 5, sb_leaf(F, true, false));
    sb_op(b, 0, R, true, TLB_OP_PROTECT, VA(5), VA(6));
    sb_store(b, 0, R, L1, 1, 5, sb_leaf(F, false, false));
    if (!bug)
        shootdown(b, 0, ALL2, VA(5));
    sb_op(b, 0, R, false, TLB_OP_PROTECT, VA(5), VA(6));
    *e = (struct expect){ TLB_T15, 1, VA(5), F };
}

/* T16: the flush goes to the wrong page (off by one). */
static void scenario_t16(struct sb *b, bool bug, struct expect *e)
{
    sc_setup(b, 2, ALL2);
    sb_store(b, 0, R, L1, 1, 5, sb_leaf(F, true, false));
    sb_op(b, 0, R, true, TLB_OP_UNMAP, VA(5), VA(6));
    sb_store(b, 0, R, L1, 1, 5, 0);
    shootdown(b, 0, ALL2, bug ? VA(6) : VA(5));
    sb_op(b, 0, R, false, TLB_OP_UNMAP, VA(5), VA(6));
    *e = (struct expect){ TLB_T16, 1, VA(5), F };
}

/* T19: F is mapped at VA 3 and VA 4 (aliases); both are unmapped but only VA 4 is flushed. */
static void scenario_t19(struct sb *b, bool bug, struct expect *e)
{
    sc_setup(b, 2, ALL2);
    sb_store(b, 0, R, L1, 1, 3, sb_leaf(F, true, false));
    sb_store(b, 0, R, L1, 1, 4, sb_leaf(F, true, false));
    sb_op(b, 0, R, true, TLB_OP_UNMAP, VA(3), VA(5));
    sb_store(b, 0, R, L1, 1, 3, 0);
    sb_store(b, 0, R, L1, 1, 4, 0);
    uint64_t d = sb_dispatch(b, 0, R, ALL2, TLB_FLUSH_RANGE, bug ? VA(4) : VA(3), bug ? 1 : 2);
    for (uint32_t c = 0; c < 2; c++)
        sb_flush_range(b, c, bug ? VA(4) : VA(3), bug ? 1 : 2);
    sb_remote_done(b, 1, 0, d);
    sb_sync(b, 0, 2, d);
    sb_free_frame(b, 0, F, 1);
    sb_op(b, 0, R, false, TLB_OP_UNMAP, VA(3), VA(5));
    *e = (struct expect){ TLB_T19, 1, VA(3), F };
}

/* T20: the unmap returns after dispatch but before sync; CPU 1 flushes only afterwards. */
static void scenario_t20(struct sb *b, bool bug, struct expect *e)
{
    sc_setup(b, 2, ALL2);
    sb_store(b, 0, R, L1, 1, 5, sb_leaf(F, true, false));
    sb_op(b, 0, R, true, TLB_OP_UNMAP, VA(5), VA(6));
    sb_store(b, 0, R, L1, 1, 5, 0);
    uint64_t d = sb_dispatch(b, 0, R, ALL2, TLB_FLUSH_SINGLE, VA(5), 1);
    sb_invlpg(b, 0, VA(5));
    if (bug)
        sb_op(b, 0, R, false, TLB_OP_UNMAP, VA(5), VA(6));
    sb_invlpg(b, 1, VA(5));
    sb_remote_done(b, 1, 0, d);
    sb_sync(b, 0, 2, d);
    if (!bug)
        sb_op(b, 0, R, false, TLB_OP_UNMAP, VA(5), VA(6));
    sb_free_frame(b, 0, F, 1);
    *e = (struct expect){ TLB_T20, 1, VA(5), F };
}


/* T16 (variant): the dispatch names the right page, but every target INVLPGs the next one; then the
 * frame is freed (caught at the free, with the root cause). */
static void scenario_t16_wrong_page_then_free(struct sb *b, bool bug, struct expect *e)
{
    sc_setup(b, 2, ALL2);
    sb_store(b, 0, R, L1, 1, 5, sb_leaf(F, true, false));
    sb_op(b, 0, R, true, TLB_OP_UNMAP, VA(5), VA(6));
    sb_store(b, 0, R, L1, 1, 5, 0);
    uint64_t d = sb_dispatch(b, 0, R, ALL2, TLB_FLUSH_SINGLE, VA(5), 1);
    sb_invlpg(b, 0, bug ? VA(6) : VA(5));
    sb_invlpg(b, 1, bug ? VA(6) : VA(5));
    sb_remote_done(b, 1, 0, d);
    sb_free_frame(b, 0, F, 1);
    sb_sync(b, 0, 2, d);
    sb_op(b, 0, R, false, TLB_OP_UNMAP, VA(5), VA(6));
    *e = (struct expect){ TLB_T16, 1, VA(5), F };
}

/* T19 (variant): a frame freed while a loaded address space still maps it. */
static void scenario_t19_freed_while_mapped(struct sb *b, bool bug, struct expect *e)
{
    (void)bug;
    sc_setup(b, 2, ALL2);
    sb_store(b, 0, R, L1, 1, 5, sb_leaf(F, true, false));
    sb_free_frame(b, 1, F, 1);
    *e = (struct expect){ TLB_T19, 0, VA(5), F };
}

/* Not a bug: OSTD's split of a huge page swaps in a table whose 512 leaves map the same frames with
 * the same attributes; no translation changes, so no break-before-make and no flush is needed.
 * (bug = true builds the same stream: this scenario must stay clean.) */
static void scenario_equivalent_split(struct sb *b, bool bug, struct expect *e)
{
    (void)bug;
    sc_setup(b, 2, ALL2);
    uint64_t huge = 0x400000, va = 0x200000;
    sb_store(b, 0, R, L2, 2, 1, sb_leaf(huge, true, false));
    sb_op(b, 0, R, true, TLB_OP_PROTECT, va, va + 0x1000);
    for (unsigned i = 0; i < 512; i++)
        sb_store(b, 0, R, L1B, 1, i, sb_leaf(huge + i * 4096ull, true, false));
    sb_store(b, 0, R, L2, 2, 1, sb_table(L1B));
    sb_store(b, 0, R, L1B, 1, 0, sb_leaf(huge, false, false));   /* then protect one 4 KiB page */
    shootdown(b, 0, ALL2, va);
    sb_op(b, 0, R, false, TLB_OP_PROTECT, va, va + 0x1000);
    *e = (struct expect){ 0, 0, 0, 0 };
}

/* T1 (variant): the unmapped frame is reused as a page-table node before the flush (no FREE
 * record). `announced`: a version-2 producer announces the fresh node (NODE_ALLOC), and the reuse
 * is caught there; else it is caught when the node first appears, at the first store into it. */
static void reused_as_node(struct sb *b, bool bug, struct expect *e, bool announced)
{
    sc_setup(b, 2, ALL2);
    sb_store(b, 0, R, L1, 1, 5, sb_leaf(F, true, false));
    sb_op(b, 0, R, true, TLB_OP_UNMAP, VA(5), VA(6));
    sb_store(b, 0, R, L1, 1, 5, 0);
    if (!bug)
        shootdown(b, 0, ALL2, VA(5));
    if (announced)
        sb_node_alloc(b, 0, R, F, 1);
    sb_store(b, 0, R, F, 1, 0, sb_leaf(F2, true, false));   /* F becomes a new level-1 table */
    if (bug)
        shootdown(b, 0, ALL2, VA(5));
    sb_op(b, 0, R, false, TLB_OP_UNMAP, VA(5), VA(6));
    *e = (struct expect){ TLB_T1, 1, VA(5), F };
}

static void scenario_t1_reused_as_node(struct sb *b, bool bug, struct expect *e)
{
    reused_as_node(b, bug, e, false);
}

static void scenario_t1_reused_as_allocated_node(struct sb *b, bool bug, struct expect *e)
{
    reused_as_node(b, bug, e, true);
}

const struct scenario tlb_scenarios[] = {
    { "t1", true, scenario_t1, false },
    { "t1_reused_as_node", true, scenario_t1_reused_as_node, false },
    { "t1_reused_as_allocated_node", true, scenario_t1_reused_as_allocated_node, false },
    { "t2", true, scenario_t2, false },
    { "t3", true, scenario_t3, false },
    { "t4", true, scenario_t4, false },
    { "t9", true, scenario_t9, false },
    { "t9_node_freed_while_linked", false, scenario_t9_node_freed_while_linked, false },
    { "t10", true, scenario_t10, false },
    { "t11", true, scenario_t11, false },
    { "t11_dropped_at_end", false, scenario_t11_dropped_at_end, false },
    { "t12", true, scenario_t12, false },
    { "equivalent_split", true, scenario_equivalent_split, true },
    { "t12_make_before_flush", false, scenario_t12_make_before_flush, false },
    { "t12_small_to_huge", true, scenario_t12_small_to_huge, false },
    { "t12_global_small_to_huge", true, scenario_t12_global_small_to_huge, false },
    { "t13", true, scenario_t13, false },
    { "t14_rebind", true, scenario_t14_rebind, false },
    { "t14_stale_pcid_reuse", false, scenario_t14_stale_pcid_reuse, false },
    { "t15", true, scenario_t15, false },
    { "t16", true, scenario_t16, false },
    { "t16_wrong_page_then_free", true, scenario_t16_wrong_page_then_free, false },
    { "t19", true, scenario_t19, false },
    { "t19_freed_while_mapped", false, scenario_t19_freed_while_mapped, false },
    { "t20", true, scenario_t20, false },
    { "global_mapped_after_leave", true, scenario_global_mapped_after_leave, true },
    { "t10_global_left_after_map", true, scenario_t10_global_left_after_map, false },
    { "t1_global_left_after_map", true, scenario_t1_global_left_after_map, false },
    { "t10_global_upgraded_after_leave", true, scenario_t10_global_upgraded_after_leave, false },
    { "t10_global_split_after_leave", true, scenario_t10_global_split_after_leave, false },
    { "global_linked_after_leave", true, scenario_global_linked_after_leave, true },
    { "pcid_mapped_after_switch", true, scenario_pcid_mapped_after_switch, true },
    { "t10_pcid_left_after_map", true, scenario_t10_pcid_left_after_map, false },
    { "global_mapped_after_many_roots", true, scenario_global_mapped_after_many_roots, true },
    { "t10_global_left_many_roots", true, scenario_t10_global_left_many_roots, false },
    { "t10_global_after_root_free", true, scenario_t10_global_after_root_free, false },
    { "ad_set_by_mmu", true, scenario_ad_set_by_mmu, true },
    { "t15_dirty_cleared", true, scenario_t15_dirty_cleared, false },
    { "linear_map_free_after_flush", true, scenario_linear_map_free_after_flush, true },
    { "t1_linear_map_free_before_flush", true, scenario_t1_linear_map_free_before_flush, false },
    { "t9_collapse_freed_early", true, scenario_t9_collapse_freed_early, false },
    { "collapse_without_flush", true, scenario_collapse_without_flush, true },
    { "t12_collapse_changes_rights", true, scenario_t12_collapse_changes_rights, false },
    { "t14_many_pcids_one_root", true, scenario_t14_many_pcids_one_root, false },
    { "t15_protect_amid_other_shootdown", true, scenario_t15_protect_amid_other_shootdown, false },
    { "t16_wrong_range_free_before_end", true, scenario_t16_wrong_range_free_before_end, false },
    { "t16_wrong_range_free_after_end", true, scenario_t16_wrong_range_free_after_end, false },
    { "t16_local_wrong_page_then_free", true, scenario_t16_local_wrong_page_then_free, false },
    { "t10_misses_other_creators_cpu", true, scenario_t10_misses_other_creators_cpu, false },
};
const unsigned tlb_nscenarios = sizeof tlb_scenarios / sizeof tlb_scenarios[0];
