/*
 * Little-endian encoding and decoding of TLB event records and the stream
 * header (abi/tlb_event.h). Byte-by-byte so it is correct on any host.
 */
#include "abi/tlb_event_codec.h"

#include <string.h>

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

/* The struct is the wire layout on a little-endian host (event.h): copy it whole. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HOST_IS_WIRE 1
#else
#define HOST_IS_WIRE 0
#endif

void tlb_event_encode(const struct tlb_event *ev, uint8_t out[TLB_EVENT_RECORD_SIZE])
{
    if (HOST_IS_WIRE) {
        memcpy(out, ev, TLB_EVENT_RECORD_SIZE);
        return;
    }
    put64(out + 0, ev->seq);
    put32(out + 8, ev->cpu);
    out[12] = ev->type;
    out[13] = ev->sub;
    put16(out + 14, ev->arg);
    put64(out + 16, ev->root);
    for (int i = 0; i < 3; i++)
        put64(out + 24 + 8 * i, ev->u.raw[i]);
}

void tlb_event_decode(const uint8_t in[TLB_EVENT_RECORD_SIZE], struct tlb_event *ev)
{
    if (HOST_IS_WIRE) {
        memcpy(ev, in, TLB_EVENT_RECORD_SIZE);
        return;
    }
    ev->seq = get64(in + 0);
    ev->cpu = get32(in + 8);
    ev->type = in[12];
    ev->sub = in[13];
    ev->arg = get16(in + 14);
    ev->root = get64(in + 16);
    for (int i = 0; i < 3; i++)
        ev->u.raw[i] = get64(in + 24 + 8 * i);
}

void tlb_stream_header_encode(const struct tlb_stream_header *h, uint8_t out[16])
{
    put32(out + 0, h->magic);
    put16(out + 4, h->version);
    put16(out + 6, h->record_size);
    put32(out + 8, h->cpu_count);
    put32(out + 12, h->flags);
}

void tlb_stream_header_decode(const uint8_t in[16], struct tlb_stream_header *h)
{
    h->magic = get32(in + 0);
    h->version = get16(in + 4);
    h->record_size = get16(in + 6);
    h->cpu_count = get32(in + 8);
    h->flags = get32(in + 12);
}

const char *tlb_event_type_name(unsigned type)
{
    static const char *const names[] = {
        [TLB_EV_PTE_STORE] = "PTE_STORE",     [TLB_EV_FLUSH] = "FLUSH",
        [TLB_EV_CR3_LOAD] = "CR3_LOAD",       [TLB_EV_FLUSH_ISSUE] = "FLUSH_ISSUE",
        [TLB_EV_DISPATCH] = "DISPATCH",       [TLB_EV_REMOTE_DONE] = "REMOTE_DONE",
        [TLB_EV_SYNC_DONE] = "SYNC_DONE",     [TLB_EV_ACTIVATE] = "ACTIVATE",
        [TLB_EV_FREE] = "FREE",               [TLB_EV_FRAME_REF] = "FRAME_REF",
        [TLB_EV_CURSOR_LOCK] = "CURSOR_LOCK", [TLB_EV_CURSOR_UNLOCK] = "CURSOR_UNLOCK",
        [TLB_EV_OP_BEGIN] = "OP_BEGIN",       [TLB_EV_OP_END] = "OP_END",
        [TLB_EV_NODE_ALLOC] = "NODE_ALLOC",
    };
    if (type == 0 || type > TLB_EV_TYPE_MAX)
        return "?";
    return names[type];
}
