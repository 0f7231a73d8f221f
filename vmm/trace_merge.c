/* Merge of the trace rings by seq (a binary min-heap); see trace_merge.h. */
#include "trace_merge.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void vmm_merge_init(struct vmm_merge *m)
{
    memset(m, 0, sizeof(*m));
}

void vmm_merge_free(struct vmm_merge *m)
{
    free(m->heap);
    memset(m, 0, sizeof(*m));
}

static int merr(struct vmm_ring_error *e, uint32_t ring, uint64_t index, const char *what,
                uint64_t seq, uint64_t other)
{
    e->ring = ring;
    e->index = index;
    snprintf(e->what, sizeof(e->what), what, seq, other);
    return -1;
}

static void swap(struct vmm_merge_item *a, struct vmm_merge_item *b)
{
    struct vmm_merge_item t = *a;
    *a = *b;
    *b = t;
}

static void sift_up(struct vmm_merge *m, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (m->heap[p].ev.seq <= m->heap[i].ev.seq)
            return;
        swap(&m->heap[p], &m->heap[i]);
        i = p;
    }
}

static void sift_down(struct vmm_merge *m, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, s = i;
        if (l < m->count && m->heap[l].ev.seq < m->heap[s].ev.seq)
            s = l;
        if (r < m->count && m->heap[r].ev.seq < m->heap[s].ev.seq)
            s = r;
        if (s == i)
            return;
        swap(&m->heap[s], &m->heap[i]);
        i = s;
    }
}

static int grow(struct vmm_merge *m)
{
    size_t cap = m->cap ? m->cap * 2 : 1024;
    struct vmm_merge_item *h = realloc(m->heap, cap * sizeof(*h));

    if (!h)
        return -1;
    m->heap = h;
    m->cap = cap;
    return 0;
}

int vmm_merge_push(struct vmm_merge *m, const struct tlb_event *ev, uint32_t ring,
                   uint64_t index, struct vmm_ring_error *e)
{
    if (m->started && ev->seq < m->next)
        return merr(e, ring, index, m->delivered && ev->seq >= m->next - m->delivered
                    ? "duplicate seq %" PRIu64 " (already merged; next expected %" PRIu64 ")"
                    : "seq %" PRIu64 " is below the start of the stream (next expected %"
                      PRIu64 ")", ev->seq, m->next);
    if (m->count >= VMM_MERGE_MAX_PENDING)
        return merr(e, ring, index, "seq %" PRIu64 " never arrived while %" PRIu64
                    " later records waited", m->started ? m->next : m->heap[0].ev.seq,
                    m->count);
    if (m->count == m->cap && grow(m) < 0)
        return merr(e, ring, index, "out of memory merging seq %" PRIu64
                    " (%" PRIu64 " records waiting)", ev->seq, m->count);
    m->heap[m->count] = (struct vmm_merge_item){ *ev, ring, index };
    sift_up(m, m->count++);
    if (!m->started && ev->seq == 0)
        vmm_merge_start(m);
    return 0;
}

void vmm_merge_start(struct vmm_merge *m)
{
    if (m->started || m->count == 0)
        return;
    m->started = true;
    m->next = m->heap[0].ev.seq;
}

int vmm_merge_pop(struct vmm_merge *m, struct vmm_merge_item *out, struct vmm_ring_error *e)
{
    if (!m->started || m->count == 0 || m->heap[0].ev.seq != m->next)
        return 0;
    *out = m->heap[0];
    m->heap[0] = m->heap[--m->count];
    sift_down(m, 0);
    m->next++;
    m->delivered++;
    /* Two waiting records with one number: the second is now below next. */
    if (m->count > 0 && m->heap[0].ev.seq == out->ev.seq) {
        e->ring = m->heap[0].ring;
        e->index = m->heap[0].index;
        snprintf(e->what, sizeof(e->what), "duplicate seq %" PRIu64 " (record %" PRIu64
                 " of ring %u has the same number)", out->ev.seq, out->index, out->ring);
        return -1;
    }
    return 1;
}

int vmm_merge_check_complete(const struct vmm_merge *m, struct vmm_ring_error *e)
{
    if (m->count == 0)
        return 0;
    if (m->started && m->heap[0].ev.seq < m->next)
        return merr(e, m->heap[0].ring, m->heap[0].index,
                    "duplicate seq %" PRIu64 " (next expected %" PRIu64 ")",
                    m->heap[0].ev.seq, m->next);
    return merr(e, m->heap[0].ring, m->heap[0].index,
                "sequence gap: seq %" PRIu64 " never arrived; this record (seq %" PRIu64
                ") and the ones after it wait for it",
                m->started ? m->next : m->heap[0].ev.seq, m->heap[0].ev.seq);
}
