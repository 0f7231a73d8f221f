/*
 * The kept-frame acknowledgement check (see ack_check.h).
 *
 * Per frame (by frame number): the (cpu, root, seq) of the PTE store that
 * removed it. Per CPU: its dispatches in order. Per (target, initiator): the
 * highest dispatch seq acknowledged so far, and per CPU the seq of its last
 * flush. A FREE of a removed frame looks up the first dispatch of the
 * removing CPU after the removal, and requires every target to have
 * acknowledged (remote) or flushed (initiator) it.
 */
#include "ack_check.h"

#include <stdlib.h>

struct removal {
    uint64_t seq;     /* PTE store that removed it; 0 = none known */
    uint32_t cpu;
};

struct dispatch {
    uint64_t seq, targets;
};

struct state {
    struct removal *removed;          /* per frame number */
    uint64_t nr_frames;
    struct dispatch *disp[TLB_MAX_CPUS];
    size_t nr_disp[TLB_MAX_CPUS], cap_disp[TLB_MAX_CPUS];
    uint64_t acked[TLB_MAX_CPUS][TLB_MAX_CPUS]; /* [target][initiator]: highest dispatch seq + 1 */
    uint64_t last_flush[TLB_MAX_CPUS];          /* seq + 1 of the CPU's last FLUSH */
};

static bool push_dispatch(struct state *st, uint32_t cpu, uint64_t seq, uint64_t targets)
{
    if (st->nr_disp[cpu] == st->cap_disp[cpu]) {
        size_t cap = st->cap_disp[cpu] ? st->cap_disp[cpu] * 2 : 256;
        struct dispatch *n = realloc(st->disp[cpu], cap * sizeof *n);
        if (!n)
            return false;
        st->disp[cpu] = n;
        st->cap_disp[cpu] = cap;
    }
    st->disp[cpu][st->nr_disp[cpu]++] = (struct dispatch){seq, targets};
    return true;
}

/* The first dispatch of `cpu` after `seq` (binary search), or NULL. */
static const struct dispatch *dispatch_after(const struct state *st, uint32_t cpu, uint64_t seq)
{
    size_t lo = 0, hi = st->nr_disp[cpu];
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (st->disp[cpu][mid].seq > seq)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo < st->nr_disp[cpu] ? &st->disp[cpu][lo] : NULL;
}

/* The frame a PTE maps (a tracked 4 KiB leaf, or a table's node), or 0. */
static pt_paddr_t pte_target(pt_pte_t pte, int level)
{
    if (pt_pte_is_absent(pte))
        return 0;
    if (pt_pte_is_table(pte))
        return pt_pte_table_paddr(pte);
    return level == 1 && !(pte & PTE_UNTRACKED) ? pt_pte_leaf_paddr(pte, 1) : 0;
}

static void on_store(struct state *st, const struct tlb_event *e)
{
    pt_paddr_t old = pte_target(e->u.pte.old_pte, e->sub), new = pte_target(e->u.pte.new_pte, e->sub);
    if (old && old != new && (old >> PT_BASE_PAGE_SHIFT) < st->nr_frames)
        st->removed[old >> PT_BASE_PAGE_SHIFT] = (struct removal){e->seq, e->cpu};
    if (new && (new >> PT_BASE_PAGE_SHIFT) < st->nr_frames)
        st->removed[new >> PT_BASE_PAGE_SHIFT].seq = 0;   /* mapped again: live */
}

static void on_free(struct state *st, const struct tlb_event *e, struct ack_check_result *res, FILE *out)
{
    uint64_t fn = e->u.free.pa >> PT_BASE_PAGE_SHIFT;
    if (fn >= st->nr_frames || st->removed[fn].seq == 0)
        return;
    struct removal r = st->removed[fn];
    st->removed[fn].seq = 0;
    res->frees_checked++;
    const struct dispatch *d = dispatch_after(st, r.cpu, r.seq);
    uint64_t missing = 0;
    if (!d || d->seq > e->seq)
        missing = ~0ull;   /* freed before any dispatch carried its flush */
    else
        for (unsigned c = 0; c < TLB_MAX_CPUS; c++) {
            if (!tlb_cpumask_has(d->targets, c))
                continue;
            bool done = c == r.cpu ? st->last_flush[c] > d->seq : st->acked[c][r.cpu] > d->seq;
            if (!done)
                missing |= tlb_cpumask_of(c);
        }
    if (!missing)
        return;
    if (!res->violations)
        res->first_bad_seq = e->seq;
    res->violations++;
    if (out && res->violations <= 5)
        fprintf(out, "ack_check: event %llu frees 0x%llx (removed at event %llu by CPU %u) before %s\n",
                (unsigned long long)e->seq, (unsigned long long)e->u.free.pa, (unsigned long long)r.seq, r.cpu,
                missing == ~0ull ? "any dispatch" : "every target flushed");
}

bool ack_check(const struct sim *s, struct ack_check_result *res, FILE *out)
{
    *res = (struct ack_check_result){0};
    struct state *st = calloc(1, sizeof *st);
    if (!st)
        return false;
    st->nr_frames = s->hp.nr_frames;
    st->removed = calloc(st->nr_frames, sizeof *st->removed);
    bool ok = st->removed != NULL;
    for (size_t i = 0; ok && i < s->nr_ev; i++) {
        const struct tlb_event *e = &s->ev[i];
        switch (e->type) {
        case TLB_EV_PTE_STORE:
            on_store(st, e);
            break;
        case TLB_EV_DISPATCH:
            ok = push_dispatch(st, e->cpu, e->seq, e->u.dispatch.targets);
            break;
        case TLB_EV_FLUSH:
            st->last_flush[e->cpu] = e->seq + 1;
            break;
        case TLB_EV_REMOTE_DONE:
            if (e->u.remote_done.initiator < TLB_MAX_CPUS)
                st->acked[e->cpu][e->u.remote_done.initiator] = e->u.remote_done.dispatch_seq + 1;
            break;
        case TLB_EV_FREE:
            on_free(st, e, res, out);
            break;
        default:
            break;
        }
    }
    for (unsigned c = 0; c < TLB_MAX_CPUS; c++)
        free(st->disp[c]);
    free(st->removed);
    free(st);
    return ok;
}
