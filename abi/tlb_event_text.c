/*
 * One event record as one line of text, its fields named as
 * docs/tlb-events.md names them. The one formatter of records for people:
 * the validator's reports, tlbcheck and the VMM's failure lines all use it,
 * so an event reads the same wherever it is printed.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include "abi/tlb_event_codec.h"

/* A bounded appender: what does not fit is cut, never overrun. */
struct text {
    char *buf;
    size_t len, used;
};

static void put(struct text *t, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (t->used + 1 >= t->len)
        return;
    va_start(ap, fmt);
    n = vsnprintf(t->buf + t->used, t->len - t->used, fmt, ap);
    va_end(ap);
    if (n > 0)
        t->used = (size_t)n < t->len - t->used ? t->used + (size_t)n : t->len - 1;
}

static const char *op_name(unsigned sub)
{
    static const char *const names[] = {
        [TLB_OP_MAP] = "map", [TLB_OP_UNMAP] = "unmap", [TLB_OP_PROTECT] = "protect",
        [TLB_OP_OTHER] = "other",
    };
    return sub >= 1 && sub <= TLB_OP_OTHER ? names[sub] : "?";
}

static void payload(struct text *t, const struct tlb_event *e)
{
    switch (e->type) {
    case TLB_EV_PTE_STORE:
        put(t, " root 0x%" PRIx64 " level %u node 0x%" PRIx64 "[%u] 0x%" PRIx64 " -> 0x%" PRIx64,
            e->root, e->sub, e->u.pte.node, e->arg, e->u.pte.old_pte, e->u.pte.new_pte);
        break;
    case TLB_EV_FLUSH:
    case TLB_EV_FLUSH_ISSUE:
        put(t, " kind %u va 0x%" PRIx64 " npages %" PRIu64, e->sub, e->u.flush.va,
            e->u.flush.npages);
        break;
    case TLB_EV_CR3_LOAD:
        put(t, " root 0x%" PRIx64 " pcid %u%s", e->root, e->arg,
            (e->sub & TLB_CR3_NOFLUSH) ? " no-flush" : "");
        break;
    case TLB_EV_DISPATCH:
        put(t, " root 0x%" PRIx64 " kind %u targets 0x%" PRIx64 " va 0x%" PRIx64 " npages %"
            PRIu64, e->root, e->sub, e->u.dispatch.targets, e->u.dispatch.va,
            e->u.dispatch.npages);
        break;
    case TLB_EV_REMOTE_DONE:
        put(t, " initiator %" PRIu64 " dispatch %" PRIu64, e->u.remote_done.initiator,
            e->u.remote_done.dispatch_seq);
        break;
    case TLB_EV_SYNC_DONE:
        put(t, " targets 0x%" PRIx64 " dispatch %" PRIu64, e->u.sync.targets,
            e->u.sync.dispatch_seq);
        break;
    case TLB_EV_ACTIVATE:
        put(t, " %s root 0x%" PRIx64, e->sub == TLB_ACTIVATE_ENTER ? "enter" : "leave", e->root);
        break;
    case TLB_EV_FREE:
        put(t, " %s pa 0x%" PRIx64 " npages %" PRIu64,
            e->sub == TLB_FREE_PT_NODE ? "page-table node" : "frame", e->u.free.pa,
            e->u.free.npages);
        break;
    case TLB_EV_FRAME_REF:
        put(t, " pa 0x%" PRIx64 " ref %" PRIu64 " -> %" PRIu64, e->u.ref.pa, e->u.ref.old_ref,
            e->u.ref.new_ref);
        break;
    case TLB_EV_OP_BEGIN:
    case TLB_EV_OP_END:
        put(t, " root 0x%" PRIx64 " %s [0x%" PRIx64 ", 0x%" PRIx64 ")", e->root, op_name(e->sub),
            e->u.range.start, e->u.range.end);
        break;
    case TLB_EV_CURSOR_LOCK:
    case TLB_EV_CURSOR_UNLOCK:
        put(t, " root 0x%" PRIx64 " [0x%" PRIx64 ", 0x%" PRIx64 ")", e->root, e->u.range.start,
            e->u.range.end);
        break;
    case TLB_EV_NODE_ALLOC:
        put(t, " root 0x%" PRIx64 " level %u node 0x%" PRIx64, e->root, e->sub, e->u.alloc.node);
        break;
    default:
        put(t, " sub %u arg %u root 0x%" PRIx64 " 0x%" PRIx64 " 0x%" PRIx64 " 0x%" PRIx64, e->sub,
            e->arg, e->root, e->u.raw[0], e->u.raw[1], e->u.raw[2]);
    }
}

size_t tlb_event_format(const struct tlb_event *e, char *buf, size_t len)
{
    struct text t = { buf, len, 0 };

    if (len == 0)
        return 0;
    buf[0] = '\0';
    put(&t, "event %" PRIu64 " cpu %" PRIu32 " %s", e->seq, e->cpu, tlb_event_type_name(e->type));
    payload(&t, e);
    return t.used;
}
