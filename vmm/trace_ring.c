/* Trace-ring placement, identity headers and the consumer; see trace_ring.h. */
#include "trace_ring.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "abi/tlb_event_codec.h"

#define PAGE 4096ull

static uint64_t stride_for(uint32_t capacity)
{
    uint64_t bytes = VMM_TRACE_RING_HEADER_SIZE + (uint64_t)capacity * TLB_EVENT_RECORD_SIZE;

    return (bytes + PAGE - 1) & ~(PAGE - 1);
}

int vmm_trace_layout_compute(uint64_t mem, unsigned cpus, uint64_t kernel_hi,
                             struct vmm_trace_layout *out, char *err, size_t errlen)
{
    uint64_t budget = mem / VMM_TRACE_RAM_SHARE;

    if (kernel_hi < mem && mem - kernel_hi < budget)
        budget = mem - kernel_hi;
    if (kernel_hi >= mem)
        budget = 0;
    memset(out, 0, sizeof(*out));
    for (uint32_t cap = VMM_TRACE_MAX_CAPACITY; cap >= VMM_TRACE_MIN_CAPACITY; cap >>= 1) {
        uint64_t stride = stride_for(cap);
        if (stride * cpus <= budget) {
            *out = (struct vmm_trace_layout){ .stride = stride, .count = cpus,
                                              .capacity = cap, .size = stride * cpus };
            out->base = (mem - out->size) & ~(PAGE - 1);
            return 0;
        }
    }
    snprintf(err, errlen, "no room for %u trace rings of %u records at the top of %" PRIu64
             " MiB of RAM (above the kernel, at most 1/%u of RAM); give more --mem or "
             "--validate=off", cpus, VMM_TRACE_MIN_CAPACITY, mem >> 20, VMM_TRACE_RAM_SHARE);
    return -1;
}

void vmm_trace_rings_init(uint8_t *ram, const struct vmm_trace_layout *l)
{
    for (uint32_t i = 0; i < l->count; i++) {
        struct vmm_trace_ring h;
        memset(&h, 0, sizeof(h));
        h.magic = VMM_TRACE_RING_MAGIC;
        h.version = VMM_TRACE_RING_VERSION;
        h.record_size = TLB_EVENT_RECORD_SIZE;
        h.cpu = i;
        h.capacity = l->capacity;
        memset(ram + l->base + i * l->stride, 0, VMM_TRACE_RING_HEADER_SIZE);
        memcpy(ram + l->base + i * l->stride, &h, sizeof(h));
    }
}

void vmm_ring_reader_init(struct vmm_ring_reader *r, void *ring_mem, uint32_t cpu,
                          uint32_t capacity, uint32_t cpu_count)
{
    memset(r, 0, sizeof(*r));
    r->hdr = ring_mem;
    r->records = (const volatile uint8_t *)ring_mem + VMM_TRACE_RING_HEADER_SIZE;
    r->cpu = cpu;
    r->capacity = capacity;
    r->cpu_count = cpu_count;
}

static int fail(struct vmm_ring_error *e, const struct vmm_ring_reader *r, uint64_t index,
                const char *fmt, uint64_t a, uint64_t b)
{
    char what[sizeof(e->what)];

    snprintf(what, sizeof(what), fmt, a, b);
    e->ring = r->cpu;
    e->index = index;
    snprintf(e->what, sizeof(e->what), "%s", what);
    return -1;
}

/* The identity fields are the VMM's: a guest that writes them is broken. */
static bool identity_intact(const struct vmm_ring_reader *r)
{
    return r->hdr->magic == VMM_TRACE_RING_MAGIC && r->hdr->version == VMM_TRACE_RING_VERSION &&
           r->hdr->record_size == TLB_EVENT_RECORD_SIZE && r->hdr->cpu == r->cpu &&
           r->hdr->capacity == r->capacity;
}

/* Checks the published head against what we know; -1 with e on corruption. */
static int check_head(struct vmm_ring_reader *r, uint64_t head, struct vmm_ring_error *e)
{
    if (!identity_intact(r)) {
        e->ring = r->cpu;
        e->index = r->tail;
        snprintf(e->what, sizeof(e->what), "the ring's identity header (magic, version, "
                 "record size, cpu, capacity) was overwritten by the guest");
        return -1;
    }
    if (head < r->tail)
        return fail(e, r, head, "head %" PRIu64 " is below the tail %" PRIu64, head, r->tail);
    if (head < r->last_head)
        return fail(e, r, head, "head went backwards from %" PRIu64 " to %" PRIu64,
                    r->last_head, head);
    if (head - r->tail > r->capacity)
        return fail(e, r, head, "head %" PRIu64 " is more than a capacity ahead of the tail "
                    "%" PRIu64, head, r->tail);
    r->last_head = head;
    return 0;
}

/* Copies record `index` out of the ring and checks it. */
static int take_record(const struct vmm_ring_reader *r, uint64_t index, struct tlb_event *ev,
                       struct vmm_ring_error *e)
{
    uint8_t raw[TLB_EVENT_RECORD_SIZE];
    const volatile uint8_t *slot =
        r->records + (index & (r->capacity - 1)) * (uint64_t)TLB_EVENT_RECORD_SIZE;
    char why[160];

    for (unsigned i = 0; i < TLB_EVENT_RECORD_SIZE; i++)   /* one copy: no re-reads */
        raw[i] = slot[i];
    tlb_event_decode(raw, ev);
    if (!tlb_event_check(ev, r->cpu_count, why, sizeof(why))) {
        e->ring = r->cpu;
        e->index = index;
        snprintf(e->what, sizeof(e->what), "garbage record: %s", why);
        return -1;
    }
    if (ev->cpu != r->cpu)
        return fail(e, r, index, "record seq %" PRIu64 " names cpu %" PRIu64
                    " (records in this ring must be its own CPU's)", ev->seq, ev->cpu);
    return 0;
}

int vmm_ring_drain(struct vmm_ring_reader *r, struct tlb_event *out, size_t max, size_t *n,
                   struct vmm_ring_error *e)
{
    uint64_t head = __atomic_load_n(&r->hdr->head, __ATOMIC_ACQUIRE);
    uint64_t avail;
    int rc = 0;

    *n = 0;
    if (check_head(r, head, e) < 0)
        return -1;
    avail = head - r->tail;
    if (avail > max)
        avail = max;
    for (uint64_t i = 0; i < avail; i++) {
        if (take_record(r, r->tail + i, &out[*n], e) < 0) {
            rc = -1;
            break;
        }
        (*n)++;
    }
    r->tail += *n;
    __atomic_store_n(&r->hdr->tail, r->tail, __ATOMIC_RELEASE);
    return rc;
}

uint64_t vmm_ring_pending(const struct vmm_ring_reader *r)
{
    uint64_t head = __atomic_load_n(&r->hdr->head, __ATOMIC_ACQUIRE);

    return head >= r->tail && head - r->tail <= r->capacity ? head - r->tail : 0;
}
