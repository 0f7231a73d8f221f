/*
 * Format checks of the stream header and of single records (abi/tlb_event.h):
 * what a record must look like regardless of any model state. The model
 * checks (unknown nodes, stale old values, ...) live in the validator.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include "abi/tlb_event_codec.h"

#define PAGE_MASK 0xfffull
#define PA_LIMIT  (1ull << 52)   /* x86-64 MAXPHYADDR upper bound */

static bool fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return false;
}

static bool canonical(uint64_t va) { return (uint64_t)((int64_t)(va << 16) >> 16) == va; }
static bool page_pa(uint64_t pa) { return (pa & PAGE_MASK) == 0 && pa < PA_LIMIT; }

bool tlb_stream_header_check(const struct tlb_stream_header *h, char *err, size_t errlen)
{
    if (h->magic != TLB_STREAM_MAGIC)
        return fail(err, errlen, "bad stream magic 0x%08" PRIx32 " (expected 0x%08x \"TLBE\")",
                    h->magic, TLB_STREAM_MAGIC);
    if (h->version < TLB_EVENT_VERSION_MIN || h->version > TLB_EVENT_VERSION)
        return fail(err, errlen, "unsupported event format version %u (this reader knows %u..%u)",
                    h->version, TLB_EVENT_VERSION_MIN, TLB_EVENT_VERSION);
    if (h->record_size != TLB_EVENT_RECORD_SIZE)
        return fail(err, errlen, "bad record size %u (version %u records are %u bytes)",
                    h->record_size, h->version, TLB_EVENT_RECORD_SIZE);
    if (h->cpu_count == 0 || h->cpu_count > TLB_MAX_CPUS)
        return fail(err, errlen, "bad cpu count %" PRIu32 " (must be 1..%u)", h->cpu_count,
                    TLB_MAX_CPUS);
    if (h->flags != 0)
        return fail(err, errlen, "reserved header flags 0x%" PRIx32 " are set", h->flags);
    return true;
}

/* Checks for a [start, end) range payload. */
static bool check_range(const struct tlb_event *ev, char *err, size_t errlen)
{
    uint64_t s = ev->u.range.start, e = ev->u.range.end;
    if ((s & PAGE_MASK) || (e & PAGE_MASK))
        return fail(err, errlen, "event %" PRIu64 " (%s): range [0x%" PRIx64 ", 0x%" PRIx64
                    ") is not page-aligned", ev->seq, tlb_event_type_name(ev->type), s, e);
    if (s >= e && e != 0)
        return fail(err, errlen, "event %" PRIu64 " (%s): empty or inverted range [0x%" PRIx64
                    ", 0x%" PRIx64 ")", ev->seq, tlb_event_type_name(ev->type), s, e);
    if (!canonical(s))
        return fail(err, errlen, "event %" PRIu64 " (%s): range start 0x%" PRIx64
                    " is not canonical", ev->seq, tlb_event_type_name(ev->type), s);
    if (ev->u.range.reserved)
        return fail(err, errlen, "event %" PRIu64 " (%s): reserved payload word is set", ev->seq,
                    tlb_event_type_name(ev->type));
    return true;
}

static bool check_flush_payload(const struct tlb_event *ev, char *err, size_t errlen)
{
#define name tlb_event_type_name(ev->type)
    uint64_t va = ev->u.flush.va, n = ev->u.flush.npages;
    if (ev->arg != 0)
        return fail(err, errlen, "event %" PRIu64 " (%s): PCID field %u is reserved "
                    "and must be 0", ev->seq, name, ev->arg);
    if (ev->u.flush.reserved)
        return fail(err, errlen, "event %" PRIu64 " (%s): reserved payload word is set", ev->seq, name);
    switch (ev->sub) {
    case TLB_FLUSH_SINGLE:
        if (n != 1)
            return fail(err, errlen, "event %" PRIu64 " (%s): SINGLE flush with npages %" PRIu64
                        " (must be 1)", ev->seq, name, n);
        return true;   /* any va: a non-canonical INVLPG is a legal no-op (lint) */
    case TLB_FLUSH_RANGE:
        if (n == 0 || (va & PAGE_MASK))
            return fail(err, errlen, "event %" PRIu64 " (%s): RANGE flush needs a page-aligned va "
                        "and npages >= 1 (va 0x%" PRIx64 ", npages %" PRIu64 ")", ev->seq, name, va, n);
        if (n > (1ull << 36))
            return fail(err, errlen, "event %" PRIu64 " (%s): RANGE flush of %" PRIu64
                        " pages exceeds the 48-bit address space", ev->seq, name, n);
        return true;
    case TLB_FLUSH_ALL_NONGLOBAL:
    case TLB_FLUSH_ALL_GLOBAL:
        if (va || n)
            return fail(err, errlen, "event %" PRIu64 " (%s): full flush with va/npages set",
                        ev->seq, name);
        return true;
    default:
        return fail(err, errlen, "event %" PRIu64 " (%s): unknown flush kind %u", ev->seq, name,
                    ev->sub);
    }
#undef name
}

static bool check_pte_store(const struct tlb_event *ev, char *err, size_t errlen)
{
    if (ev->sub < 1 || ev->sub > 4)
        return fail(err, errlen, "event %" PRIu64 " (PTE_STORE): bad level %u (must be 1..4)",
                    ev->seq, ev->sub);
    if (ev->arg >= 512)
        return fail(err, errlen, "event %" PRIu64 " (PTE_STORE): bad index %u (must be < 512)",
                    ev->seq, ev->arg);
    if (!page_pa(ev->u.pte.node) || ev->u.pte.node == 0)
        return fail(err, errlen, "event %" PRIu64 " (PTE_STORE): node address 0x%" PRIx64
                    " is zero, not page-aligned or beyond 52 bits", ev->seq, ev->u.pte.node);
    return true;
}

static bool check_node_alloc(const struct tlb_event *ev, char *err, size_t errlen)
{
    if (ev->sub < 1 || ev->sub > 4)
        return fail(err, errlen, "event %" PRIu64 " (NODE_ALLOC): bad level %u (must be 1..4)",
                    ev->seq, ev->sub);
    if (!page_pa(ev->u.alloc.node) || ev->u.alloc.node == 0)
        return fail(err, errlen, "event %" PRIu64 " (NODE_ALLOC): node address 0x%" PRIx64
                    " is zero, not page-aligned or beyond 52 bits", ev->seq, ev->u.alloc.node);
    if (ev->arg || ev->u.alloc.reserved[0] || ev->u.alloc.reserved[1])
        return fail(err, errlen, "event %" PRIu64 " (NODE_ALLOC): reserved fields are set", ev->seq);
    return true;
}

static bool check_dispatch(const struct tlb_event *ev, uint32_t cpu_count, char *err, size_t errlen)
{
    uint64_t allowed = cpu_count >= 64 ? ~0ull : ((1ull << cpu_count) - 1);
    if (ev->u.dispatch.targets & ~allowed)
        return fail(err, errlen, "event %" PRIu64 " (DISPATCH): target mask 0x%" PRIx64
                    " names CPUs >= cpu count %" PRIu32, ev->seq, ev->u.dispatch.targets, cpu_count);
    if (ev->sub < TLB_FLUSH_SINGLE || ev->sub > TLB_FLUSH_ALL_GLOBAL)
        return fail(err, errlen, "event %" PRIu64 " (DISPATCH): unknown flush kind %u", ev->seq,
                    ev->sub);
    if (ev->arg)
        return fail(err, errlen, "event %" PRIu64 " (DISPATCH): reserved arg is set", ev->seq);
    if ((ev->u.dispatch.va & PAGE_MASK) || !canonical(ev->u.dispatch.va))
        return fail(err, errlen, "event %" PRIu64 " (DISPATCH): va 0x%" PRIx64
                    " is not page-aligned and canonical", ev->seq, ev->u.dispatch.va);
    if (ev->u.dispatch.npages > (1ull << 36))
        return fail(err, errlen, "event %" PRIu64 " (DISPATCH): npages %" PRIu64 " too large",
                    ev->seq, ev->u.dispatch.npages);
    return true;
}

static bool check_free(const struct tlb_event *ev, char *err, size_t errlen)
{
    uint64_t pa = ev->u.free.pa, n = ev->u.free.npages;
    if (!page_pa(pa) || n == 0 || n > (1ull << 40) || pa + n * 4096 > PA_LIMIT)
        return fail(err, errlen, "event %" PRIu64 " (FREE): bad frame range pa 0x%" PRIx64
                    " npages %" PRIu64 " (page-aligned, npages >= 1, below 2^52)", ev->seq, pa, n);
    if (ev->u.free.reserved)
        return fail(err, errlen, "event %" PRIu64 " (FREE): reserved payload word is set", ev->seq);
    if (ev->sub == TLB_FREE_FRAME) {
        if (ev->arg)
            return fail(err, errlen, "event %" PRIu64 " (FREE frame): arg must be 0", ev->seq);
        return true;
    }
    if (ev->sub == TLB_FREE_PT_NODE) {
        if (ev->arg < 1 || ev->arg > 4 || n != 1)
            return fail(err, errlen, "event %" PRIu64 " (FREE node): level %u must be 1..4 and "
                        "npages 1", ev->seq, ev->arg);
        return true;
    }
    return fail(err, errlen, "event %" PRIu64 " (FREE): unknown free kind %u", ev->seq, ev->sub);
}

/* Type-specific checks; the common fields are checked by the caller. */
static bool check_payload(const struct tlb_event *ev, uint32_t cpu_count, char *err, size_t errlen)
{
#define name tlb_event_type_name(ev->type)   /* only evaluated on the failure paths */
    switch (ev->type) {
    case TLB_EV_PTE_STORE:
        return check_pte_store(ev, err, errlen);
    case TLB_EV_FLUSH:
    case TLB_EV_FLUSH_ISSUE:
        return check_flush_payload(ev, err, errlen);
    case TLB_EV_CR3_LOAD:
        if (ev->sub & ~TLB_CR3_NOFLUSH)
            return fail(err, errlen, "event %" PRIu64 " (CR3_LOAD): unknown flags 0x%x", ev->seq, ev->sub);
        if (ev->arg > 0xfff)
            return fail(err, errlen, "event %" PRIu64 " (CR3_LOAD): PCID %u exceeds 12 bits", ev->seq, ev->arg);
        if (ev->root == 0)
            return fail(err, errlen, "event %" PRIu64 " (CR3_LOAD): root is 0", ev->seq);
        break;
    case TLB_EV_DISPATCH:
        return check_dispatch(ev, cpu_count, err, errlen);
    case TLB_EV_REMOTE_DONE:
        if (ev->u.remote_done.initiator >= cpu_count)
            return fail(err, errlen, "event %" PRIu64 " (REMOTE_DONE): initiator %" PRIu64
                        " >= cpu count %" PRIu32, ev->seq, ev->u.remote_done.initiator, cpu_count);
        if (ev->u.remote_done.dispatch_seq >= ev->seq)
            return fail(err, errlen, "event %" PRIu64 " (REMOTE_DONE): dispatch_seq %" PRIu64
                        " is not earlier", ev->seq, ev->u.remote_done.dispatch_seq);
        break;
    case TLB_EV_SYNC_DONE:
        if (cpu_count < 64 && (ev->u.sync.targets >> cpu_count))
            return fail(err, errlen, "event %" PRIu64 " (SYNC_DONE): target mask 0x%" PRIx64
                        " names CPUs >= cpu count", ev->seq, ev->u.sync.targets);
        if (ev->u.sync.dispatch_seq >= ev->seq)
            return fail(err, errlen, "event %" PRIu64 " (SYNC_DONE): dispatch_seq %" PRIu64
                        " is not earlier", ev->seq, ev->u.sync.dispatch_seq);
        break;
    case TLB_EV_ACTIVATE:
        if (ev->sub > TLB_ACTIVATE_ENTER || ev->root == 0)
            return fail(err, errlen, "event %" PRIu64 " (ACTIVATE): bad direction %u or zero root",
                        ev->seq, ev->sub);
        break;
    case TLB_EV_FREE:
        return check_free(ev, err, errlen);
    case TLB_EV_FRAME_REF:
        if (!page_pa(ev->u.ref.pa))
            return fail(err, errlen, "event %" PRIu64 " (FRAME_REF): pa 0x%" PRIx64
                        " is not a page address", ev->seq, ev->u.ref.pa);
        break;
    case TLB_EV_CURSOR_LOCK:
    case TLB_EV_CURSOR_UNLOCK:
        if (ev->sub)
            return fail(err, errlen, "event %" PRIu64 " (%s): sub must be 0", ev->seq, name);
        return check_range(ev, err, errlen);
    case TLB_EV_NODE_ALLOC:
        return check_node_alloc(ev, err, errlen);
    case TLB_EV_OP_BEGIN:
    case TLB_EV_OP_END:
        if (ev->sub < TLB_OP_MAP || ev->sub > TLB_OP_OTHER)
            return fail(err, errlen, "event %" PRIu64 " (%s): unknown op kind %u", ev->seq, name, ev->sub);
        return check_range(ev, err, errlen);
    }
    /* Types with reserved payload words / small fields. */
    if ((ev->type == TLB_EV_CR3_LOAD || ev->type == TLB_EV_ACTIVATE) &&
        (ev->u.raw[0] | ev->u.raw[1] | ev->u.raw[2]))
        return fail(err, errlen, "event %" PRIu64 " (%s): reserved payload words are set", ev->seq, name);
    if ((ev->type == TLB_EV_REMOTE_DONE || ev->type == TLB_EV_SYNC_DONE) &&
        (ev->sub || ev->arg || ev->u.raw[2]))
        return fail(err, errlen, "event %" PRIu64 " (%s): reserved fields are set", ev->seq, name);
    if ((ev->type == TLB_EV_ACTIVATE || ev->type == TLB_EV_FRAME_REF) && ev->arg)
        return fail(err, errlen, "event %" PRIu64 " (%s): reserved arg is set", ev->seq, name);
    if (ev->type == TLB_EV_FRAME_REF && ev->sub)
        return fail(err, errlen, "event %" PRIu64 " (FRAME_REF): reserved sub is set", ev->seq);
    return true;
#undef name
}

unsigned tlb_event_type_max(unsigned version)
{
    switch (version) {
    case 1: return TLB_EV_TYPE_MAX_V1;
    case 2: return TLB_EV_TYPE_MAX;
    default: return 0;
    }
}

bool tlb_event_check_version(const struct tlb_event *ev, unsigned version, char *err, size_t errlen)
{
    if (ev->type <= tlb_event_type_max(version))
        return true;
    return fail(err, errlen, "event %" PRIu64 ": type %u (%s) does not exist in a version-%u stream",
                ev->seq, ev->type, tlb_event_type_name(ev->type), version);
}

bool tlb_event_check(const struct tlb_event *ev, uint32_t cpu_count, char *err, size_t errlen)
{
    if (ev->type == 0 || ev->type > TLB_EV_TYPE_MAX)
        return fail(err, errlen, "event %" PRIu64 ": unknown type %u", ev->seq, ev->type);
    if (ev->cpu >= cpu_count)
        return fail(err, errlen, "event %" PRIu64 " (%s): cpu %" PRIu32 " >= cpu count %" PRIu32,
                    ev->seq, tlb_event_type_name(ev->type), ev->cpu, cpu_count);
    if (!page_pa(ev->root))
        return fail(err, errlen, "event %" PRIu64 " (%s): root 0x%" PRIx64
                    " is not a page address below 2^52", ev->seq, tlb_event_type_name(ev->type), ev->root);
    return check_payload(ev, cpu_count, err, errlen);
}
