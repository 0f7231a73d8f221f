/* Set of guest-physical addresses; see pa_set.h. */
#include "pa_set.h"

#include <stdlib.h>
#include <string.h>

#define EMPTY UINT64_MAX

static size_t slot_of(uint64_t pa, size_t cap)
{
    return (size_t)((pa * 0x9e3779b97f4a7c15ull) >> 20) & (cap - 1);
}

void vmm_pa_set_init(struct vmm_pa_set *s)
{
    memset(s, 0, sizeof(*s));
}

void vmm_pa_set_free(struct vmm_pa_set *s)
{
    free(s->slots);
    memset(s, 0, sizeof(*s));
}

static void put(uint64_t *slots, size_t cap, uint64_t pa)
{
    size_t i = slot_of(pa, cap);

    while (slots[i] != EMPTY && slots[i] != pa)
        i = (i + 1) & (cap - 1);
    slots[i] = pa;
}

static bool grow(struct vmm_pa_set *s)
{
    size_t cap = s->cap ? s->cap * 2 : 4096;
    uint64_t *n = malloc(cap * sizeof(*n));

    if (!n)
        return false;
    memset(n, 0xff, cap * sizeof(*n));
    for (size_t i = 0; i < s->cap; i++)
        if (s->slots[i] != EMPTY)
            put(n, cap, s->slots[i]);
    free(s->slots);
    s->slots = n;
    s->cap = cap;
    return true;
}

bool vmm_pa_set_add(struct vmm_pa_set *s, uint64_t pa)
{
    if (vmm_pa_set_has(s, pa))
        return true;
    if ((s->count + 1) * 2 > s->cap && !grow(s))
        return false;
    put(s->slots, s->cap, pa);
    s->count++;
    return true;
}

bool vmm_pa_set_has(const struct vmm_pa_set *s, uint64_t pa)
{
    if (!s)
        return true;
    if (s->cap == 0)
        return false;
    for (size_t i = slot_of(pa, s->cap); s->slots[i] != EMPTY; i = (i + 1) & (s->cap - 1))
        if (s->slots[i] == pa)
            return true;
    return false;
}
