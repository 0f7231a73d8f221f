/*
 * A set of guest-physical addresses (open addressing, growable): live
 * validation records the address of every page-table entry the event stream
 * wrote, so that inspection compares exactly those entries with the model
 * (entries written before the guest attached are not in the model).
 */
#ifndef VMM_PA_SET_H
#define VMM_PA_SET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vmm_pa_set {
    uint64_t *slots;         /* UINT64_MAX = empty */
    size_t cap, count;       /* cap: 0 or a power of two */
};

/* An empty set (no memory until the first insert). */
void vmm_pa_set_init(struct vmm_pa_set *s);
void vmm_pa_set_free(struct vmm_pa_set *s);

/* Adds pa (any value but UINT64_MAX). Fails (false) only when memory runs out. */
bool vmm_pa_set_add(struct vmm_pa_set *s, uint64_t pa);

/* True if pa was added. NULL s: every address counts as present. */
bool vmm_pa_set_has(const struct vmm_pa_set *s, uint64_t pa);

#endif /* VMM_PA_SET_H */
