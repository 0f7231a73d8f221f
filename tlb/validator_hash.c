/*
 * A small open-addressing hash map from u64 keys to u64 values (linear
 * probing, backward-shift deletion, no tombstones), used for the node table
 * and the reverse map. It grows at 50% load; a steady-state stream that does
 * not grow its working set never allocates.
 */
#include <stdlib.h>

#include "validator_internal.h"

static size_t slot_of(const struct hmap *m, uint64_t key)
{
    /* Fibonacci hashing of a page-aligned key: the low 12 bits carry little. */
    uint64_t h = (key ^ (key >> 29)) * 0x9e3779b97f4a7c15ull;
    return (size_t)(h >> 17) & (m->cap - 1);
}

bool tlb_v_hmap_init(struct hmap *m, size_t cap)
{
    size_t c = 16;
    while (c < cap)
        c <<= 1;
    m->keys = malloc(c * sizeof *m->keys);
    m->vals = malloc(c * sizeof *m->vals);
    if (!m->keys || !m->vals) {
        free(m->keys);
        free(m->vals);
        m->keys = m->vals = NULL;
        return false;
    }
    for (size_t i = 0; i < c; i++)
        m->keys[i] = HMAP_EMPTY;
    m->cap = c;
    m->count = 0;
    return true;
}

void tlb_v_hmap_free(struct hmap *m)
{
    free(m->keys);
    free(m->vals);
    m->keys = m->vals = NULL;
    m->cap = m->count = 0;
}

uint64_t *tlb_v_hmap_get(const struct hmap *m, uint64_t key)
{
    for (size_t i = slot_of(m, key);; i = (i + 1) & (m->cap - 1)) {
        if (m->keys[i] == key)
            return &m->vals[i];
        if (m->keys[i] == HMAP_EMPTY)
            return NULL;
    }
}

static bool grow(struct hmap *m)
{
    struct hmap n;
    if (!tlb_v_hmap_init(&n, m->cap * 2))
        return false;
    for (size_t i = 0; i < m->cap; i++)
        if (m->keys[i] != HMAP_EMPTY)
            tlb_v_hmap_put(&n, m->keys[i], m->vals[i]);
    tlb_v_hmap_free(m);
    *m = n;
    return true;
}

bool tlb_v_hmap_put(struct hmap *m, uint64_t key, uint64_t val)
{
    if ((m->count + 1) * 2 > m->cap && !grow(m))
        return false;
    size_t i = slot_of(m, key);
    while (m->keys[i] != HMAP_EMPTY && m->keys[i] != key)
        i = (i + 1) & (m->cap - 1);
    if (m->keys[i] == HMAP_EMPTY)
        m->count++;
    m->keys[i] = key;
    m->vals[i] = val;
    return true;
}

void tlb_v_hmap_del(struct hmap *m, uint64_t key)
{
    size_t i = slot_of(m, key);
    while (m->keys[i] != key) {
        if (m->keys[i] == HMAP_EMPTY)
            return;
        i = (i + 1) & (m->cap - 1);
    }
    /* Backward-shift: move later entries of the probe run into the hole. */
    size_t hole = i;
    for (size_t j = (i + 1) & (m->cap - 1); m->keys[j] != HMAP_EMPTY; j = (j + 1) & (m->cap - 1)) {
        size_t home = slot_of(m, m->keys[j]);
        /* j's entry may move to `hole` iff home is not cyclically in (hole, j]. */
        bool in_between = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (!in_between) {
            m->keys[hole] = m->keys[j];
            m->vals[hole] = m->vals[j];
            hole = j;
        }
    }
    m->keys[hole] = HMAP_EMPTY;
    m->count--;
}
