/* One trace ring's producer (include/guest/trace_ring.h). Pure code. */
#include "guest/trace_ring.h"

#include <stddef.h>

const char *trace_ring_check(const struct vmm_trace_ring *r, uint32_t cpu, uint64_t stride)
{
    if (r->magic != VMM_TRACE_RING_MAGIC)
        return "bad magic (not \"TRNG\")";
    if (r->version != VMM_TRACE_RING_VERSION)
        return "unsupported version";
    if (r->record_size != TLB_EVENT_RECORD_SIZE)
        return "record size is not 48";
    if (r->cpu != cpu)
        return "ring belongs to another cpu";
    uint32_t cap = r->capacity;
    if (cap == 0 || (cap & (cap - 1)) != 0)
        return "capacity is not a power of two";
    if (stride < VMM_TRACE_RING_HEADER_SIZE ||
        (uint64_t)cap > (stride - VMM_TRACE_RING_HEADER_SIZE) / TLB_EVENT_RECORD_SIZE)
        return "capacity does not fit the ring stride";
    if (__atomic_load_n(&r->head, __ATOMIC_ACQUIRE) != 0 ||
        __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE) != 0)
        return "head or tail not zero before attach";
    return NULL;
}

void trace_ring_push(struct vmm_trace_ring *r, uint32_t capacity, const struct tlb_event *ev,
                     void (*relax)(void))
{
    uint64_t head = __atomic_load_n(&r->head, __ATOMIC_RELAXED);   /* ours alone */
    while (head - __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE) >= capacity)
        relax();
    uint64_t *slot = (uint64_t *)((unsigned char *)r + VMM_TRACE_RING_HEADER_SIZE +
                                  (head & (capacity - 1)) * (uint64_t)TLB_EVENT_RECORD_SIZE);
    const uint64_t *src = (const uint64_t *)ev;
    /* Six 8-byte stores: no libc call, and the host never sees a torn record
       once it has read the new head. */
    for (unsigned i = 0; i < TLB_EVENT_RECORD_SIZE / 8; i++)
        __atomic_store_n(&slot[i], src[i], __ATOMIC_RELAXED);
    __atomic_store_n(&r->head, head + 1, __ATOMIC_RELEASE);
}
