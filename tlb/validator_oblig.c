/*
 * The obligation pool: one record per (CPU, stale entry) that the CPU must
 * flush. Records live in one growable array and are recycled through a free
 * list, so a steady-state stream allocates nothing. Open records of a CPU
 * form a doubly linked list (its open set); checks walk it, which is cheap
 * because a correct stream keeps it short (at most one flush batch).
 */
#include <stdlib.h>

#include "validator_internal.h"

uint32_t tlb_v_ob_alloc(struct tlb_validator *v)
{
    if (v->ob_free == NONE32) {
        uint32_t ncap = v->ob_cap ? v->ob_cap * 2 : 256;
        if (ncap > (1u << 28))
            return NONE32;
        struct oblig *n = realloc(v->ob, (size_t)ncap * sizeof *n);
        if (!n)
            return NONE32;
        v->ob = n;
        for (uint32_t i = v->ob_cap; i < ncap; i++)
            v->ob[i].next = i + 1 < ncap ? i + 1 : NONE32;
        v->ob_free = v->ob_cap;
        v->ob_cap = ncap;
    }
    uint32_t id = v->ob_free;
    v->ob_free = v->ob[id].next;
    struct oblig *o = &v->ob[id];
    *o = (struct oblig){ .next = NONE32, .prev = NONE32 };
    return id;
}

void tlb_v_ob_open(struct tlb_validator *v, uint32_t id)
{
    struct oblig *o = &v->ob[id];
    struct vcpu *c = &v->cpus[o->cpu];
    o->prev = NONE32;
    o->next = c->open_head;
    if (c->open_head != NONE32)
        v->ob[c->open_head].prev = id;
    c->open_head = id;
    c->nopen++;
    v->total_open++;
}

static void snap_release(struct oblig *o)
{
    if (o->snap_refs && --*o->snap_refs == 0) {
        free(o->snap_nodes);
        free(o->snap_refs);
    }
    o->snap_nodes = NULL;
    o->snap_refs = NULL;
    o->snap_n = 0;
}

void tlb_v_ob_close(struct tlb_validator *v, uint32_t id)
{
    struct oblig *o = &v->ob[id];
    struct vcpu *c = &v->cpus[o->cpu];
    if (o->prev != NONE32)
        v->ob[o->prev].next = o->next;
    else
        c->open_head = o->next;
    if (o->next != NONE32)
        v->ob[o->next].prev = o->prev;
    c->nopen--;
    /* Nothing open anywhere: every entry's "may have an open obligation" mark expires at once. */
    if (--v->total_open == 0)
        v->ob_epoch++;
    snap_release(o);
    o->next = v->ob_free;
    v->ob_free = id;
}

void tlb_v_ob_destroy_all(struct tlb_validator *v)
{
    for (uint32_t c = 0; c < v->ncpus; c++)
        while (v->cpus[c].open_head != NONE32)
            tlb_v_ob_close(v, v->cpus[c].open_head);
    free(v->ob);
    v->ob = NULL;
    v->ob_cap = 0;
    v->ob_free = NONE32;
}

bool tlb_v_ob_overlaps(const struct oblig *o, uint64_t va, uint64_t len)
{
    /* Spans never wrap: both lie in the canonical 48-bit space (end may be 2^64 -> 0). */
    uint64_t oe = o->va + o->size, e = va + len;
    bool o_to_top = oe == 0, r_to_top = e == 0;
    bool a = r_to_top || o->va < e;
    bool b = o_to_top || va < oe;
    return a && b;
}
