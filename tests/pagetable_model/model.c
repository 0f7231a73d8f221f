/*
 * The reference model (see model.h): a sorted array of VA-disjoint mappings.
 */
#include "model.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MODEL_REQUIRE(cond, ...)                                               \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "model: requirement failed: %s: ", #cond);         \
            fprintf(stderr, __VA_ARGS__);                                      \
            fputc('\n', stderr);                                               \
            abort();                                                           \
        }                                                                      \
    } while (0)

static void *grow(void *v, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return v;
    size_t c = *cap ? *cap : 64;
    while (c < need)
        c *= 2;
    void *nv = realloc(v, c * elem);
    MODEL_REQUIRE(nv != NULL, "out of memory growing to %zu elements", c);
    *cap = c;
    return nv;
}

void model_list_push(struct model_list *l, const struct model_mapping *m)
{
    l->v = grow(l->v, &l->cap, l->n + 1, sizeof(*l->v));
    l->v[l->n++] = *m;
}

void model_list_clear(struct model_list *l) { l->n = 0; }

void model_list_free(struct model_list *l)
{
    free(l->v);
    *l = (struct model_list){ 0 };
}

void model_init(struct model *m) { *m = (struct model){ 0 }; }

void model_free(struct model *m)
{
    free(m->v);
    *m = (struct model){ 0 };
}

/* Index of the first mapping whose end is above va (n if none). */
static size_t first_ending_after(const struct model *m, pt_vaddr_t va)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (model_end(&m->v[mid]) <= va)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

long model_find(const struct model *m, pt_vaddr_t va)
{
    size_t i = first_ending_after(m, va);
    if (i < m->n && m->v[i].va <= va)
        return (long)i;
    return -1;
}

long model_first_in(const struct model *m, pt_vaddr_t lo, pt_vaddr_t hi)
{
    MODEL_REQUIRE(lo < hi, "lo %#" PRIx64 " hi %#" PRIx64, lo, hi);
    size_t i = first_ending_after(m, lo);
    if (i < m->n && m->v[i].va < hi)
        return (long)i;
    return -1;
}

static void require_valid(const struct model_mapping *x)
{
    MODEL_REQUIRE(x->level >= 1 && x->level <= 3, "level %d", x->level);
    uint64_t size = pt_page_size(x->level);
    MODEL_REQUIRE(x->va % size == 0 && x->pa % size == 0, "va %#" PRIx64 " pa %#" PRIx64
                  " not aligned to level %d", x->va, x->pa, x->level);
    MODEL_REQUIRE(!x->tracked || x->level == 1, "tracked mapping at level %d", x->level);
    MODEL_REQUIRE(x->va + size > x->va, "va %#" PRIx64 " + size wraps", x->va);
}

void model_insert(struct model *m, const struct model_mapping *x)
{
    require_valid(x);
    size_t i = first_ending_after(m, x->va);
    MODEL_REQUIRE(i == m->n || m->v[i].va >= model_end(x),
                  "insert at %#" PRIx64 " overlaps mapping at %#" PRIx64, x->va, m->v[i].va);
    m->v = grow(m->v, &m->cap, m->n + 1, sizeof(*m->v));
    memmove(&m->v[i + 1], &m->v[i], (m->n - i) * sizeof(*m->v));
    m->v[i] = *x;
    m->n++;
}

void model_remove_at(struct model *m, size_t idx, struct model_mapping *out)
{
    MODEL_REQUIRE(idx < m->n, "idx %zu n %zu", idx, m->n);
    if (out)
        *out = m->v[idx];
    memmove(&m->v[idx], &m->v[idx + 1], (m->n - idx - 1) * sizeof(*m->v));
    m->n--;
}

size_t model_split_at(struct model *m, size_t idx)
{
    MODEL_REQUIRE(idx < m->n && m->v[idx].level >= 2, "split of idx %zu", idx);
    struct model_mapping parent = m->v[idx];
    uint64_t child = pt_page_size(parent.level - 1);
    /* Replace the parent by 512 children in place: open a gap of 511. */
    m->v = grow(m->v, &m->cap, m->n + PT_NR_ENTRIES - 1, sizeof(*m->v));
    memmove(&m->v[idx + PT_NR_ENTRIES], &m->v[idx + 1], (m->n - idx - 1) * sizeof(*m->v));
    for (unsigned i = 0; i < PT_NR_ENTRIES; i++) {
        m->v[idx + i] = parent;
        m->v[idx + i].level = parent.level - 1;
        m->v[idx + i].va = parent.va + i * child;
        m->v[idx + i].pa = parent.pa + i * child;
    }
    m->n += PT_NR_ENTRIES - 1;
    return idx;
}

int model_split_while_huge(struct model *m, pt_vaddr_t va, int level)
{
    int splits = 0;
    for (;;) {
        long i = model_find(m, va);
        if (i < 0 || m->v[i].level <= level)
            return splits;
        model_split_at(m, (size_t)i);
        splits++;
    }
}

static bool inside(const struct model_mapping *x, pt_vaddr_t lo, pt_vaddr_t hi)
{
    return x->va >= lo && model_end(x) <= hi;
}

size_t model_split_to_fit(struct model *m, size_t idx, pt_vaddr_t lo, pt_vaddr_t hi)
{
    MODEL_REQUIRE(idx < m->n && m->v[idx].va < hi && model_end(&m->v[idx]) > lo,
                  "mapping %zu does not intersect [%#" PRIx64 ", %#" PRIx64 ")", idx, lo, hi);
    pt_vaddr_t at = m->v[idx].va > lo ? m->v[idx].va : lo;
    while (!inside(&m->v[idx], lo, hi) && m->v[idx].level > 1) {
        model_split_at(m, idx);
        long i = model_find(m, at);
        MODEL_REQUIRE(i >= 0, "split lost va %#" PRIx64, at);
        idx = (size_t)i;
    }
    return idx;
}

size_t model_remove_range(struct model *m, pt_vaddr_t lo, pt_vaddr_t hi,
                          struct model_list *removed)
{
    size_t first = first_ending_after(m, lo), last = first;
    while (last < m->n && m->v[last].va < hi) {
        MODEL_REQUIRE(inside(&m->v[last], lo, hi), "mapping at %#" PRIx64
                      " straddles [%#" PRIx64 ", %#" PRIx64 ")", m->v[last].va, lo, hi);
        if (removed)
            model_list_push(removed, &m->v[last]);
        last++;
    }
    if (last > first) {   /* (m->v may be NULL when the model is empty) */
        memmove(&m->v[first], &m->v[last], (m->n - last) * sizeof(*m->v));
        m->n -= last - first;
    }
    return last - first;
}

size_t model_map(struct model *m, const struct model_mapping *x, struct model_list *replaced)
{
    require_valid(x);
    model_split_while_huge(m, x->va, x->level);
    size_t n = model_remove_range(m, x->va, model_end(x), replaced);
    model_insert(m, x);
    return n;
}

uint64_t model_bytes(const struct model *m)
{
    uint64_t b = 0;
    for (size_t i = 0; i < m->n; i++)
        b += pt_page_size(m->v[i].level);
    return b;
}

const char *model_check(const struct model *m)
{
    for (size_t i = 0; i < m->n; i++) {
        const struct model_mapping *x = &m->v[i];
        if (x->level < 1 || x->level > 3)
            return "mapping with a level outside 1..3";
        if (x->va % pt_page_size(x->level) || x->pa % pt_page_size(x->level))
            return "mapping not aligned to its size";
        if (x->tracked && x->level != 1)
            return "tracked mapping above level 1";
        if (i > 0 && model_end(&m->v[i - 1]) > x->va)
            return "mappings unsorted or overlapping";
    }
    return NULL;
}

const char *model_fmt(const struct model_mapping *x, char *buf, size_t size)
{
    snprintf(buf, size,
             "[%#" PRIx64 ", %#" PRIx64 ") -> %#" PRIx64 " L%d flags %#x priv %#x cache %u %s",
             x->va, model_end(x), x->pa, x->level, x->prop.flags, x->prop.priv,
             x->prop.cache, x->tracked ? "tracked" : "untracked");
    return buf;
}
