/*
 * Sorted range sets (see include/guest/memmap.h). The set stays sorted,
 * disjoint and with no two ranges touching, so comparisons stay simple.
 */
#include "guest/memmap.h"

void memmap_init(struct memmap *m)
{
    m->count = 0;
}

static void remove_at(struct memmap *m, unsigned i)
{
    for (unsigned j = i; j + 1 < m->count; j++)
        m->r[j] = m->r[j + 1];
    m->count--;
}

static void insert_at(struct memmap *m, unsigned i, uint64_t start, uint64_t end)
{
    for (unsigned j = m->count; j > i; j--)
        m->r[j] = m->r[j - 1];
    m->r[i] = (struct mem_range){ start, end };
    m->count++;
}

bool memmap_add(struct memmap *m, uint64_t start, uint64_t end)
{
    if (end <= start)
        return true;
    /* First range that ends at or after `start` (touching counts). */
    unsigned i = 0;
    while (i < m->count && m->r[i].end < start)
        i++;
    if (i == m->count || m->r[i].start > end) {
        if (m->count == MEMMAP_MAX)
            return false;
        insert_at(m, i, start, end);
        return true;
    }
    /* Merge with r[i] and every later range it now touches. */
    if (start < m->r[i].start)
        m->r[i].start = start;
    if (end > m->r[i].end)
        m->r[i].end = end;
    while (i + 1 < m->count && m->r[i + 1].start <= m->r[i].end) {
        if (m->r[i + 1].end > m->r[i].end)
            m->r[i].end = m->r[i + 1].end;
        remove_at(m, i + 1);
    }
    return true;
}

bool memmap_remove(struct memmap *m, uint64_t start, uint64_t end)
{
    if (end <= start)
        return true;
    /* A range strictly containing [start, end) splits in two. */
    for (unsigned i = 0; i < m->count; i++) {
        if (m->r[i].start < start && m->r[i].end > end) {
            if (m->count == MEMMAP_MAX)
                return false;
            insert_at(m, i + 1, end, m->r[i].end);
            m->r[i].end = start;
            return true;
        }
    }
    for (unsigned i = 0; i < m->count;) {
        struct mem_range *r = &m->r[i];
        if (r->end <= start || r->start >= end) {
            i++;
        } else if (r->start >= start && r->end <= end) {
            remove_at(m, i);                 /* fully covered */
        } else if (r->start < start) {
            r->end = start;                  /* overlap at its tail */
            i++;
        } else {
            r->start = end;                  /* overlap at its head */
            i++;
        }
    }
    return true;
}

uint64_t memmap_total(const struct memmap *m)
{
    uint64_t total = 0;
    for (unsigned i = 0; i < m->count; i++)
        total += m->r[i].end - m->r[i].start;
    return total;
}
