/* Bug names (include/guest/tlb_bug.h). Pure code. */
#include "guest/tlb_bug.h"

#include <stddef.h>

#include "tlb/flusher.h"

const struct tlb_bug tlb_bugs[] = {
    { "skip-unmap-flush", TLB_FAULT_SKIP_LOCAL_FLUSH | TLB_FAULT_SKIP_REMOTE_FLUSH, 0,
      "no CPU flushes what an unmap (or protect, or replacing map) removed" },
    { "free-before-flush", TLB_FAULT_FREE_BEFORE_FLUSH, 0,
      "an unmapped frame goes back to the allocator before any flush" },
    { "skip-local-flush", TLB_FAULT_SKIP_LOCAL_FLUSH, 0, "the initiating CPU never flushes itself" },
    { "skip-remote-flush", TLB_FAULT_SKIP_REMOTE_FLUSH, 0,
      "shootdown IPIs are acknowledged without flushing" },
    { "drop-target", TLB_FAULT_DROP_TARGET, 0, "a dispatch forgets its highest remote target" },
    { "wrong-page", TLB_FAULT_WRONG_PAGE, 0, "single-page flushes hit the next page" },
    { "nonglobal-full", TLB_FAULT_NONGLOBAL_FULL, 0,
      "a full flush of global entries only reloads CR3" },
    { "skip-sync", TLB_FAULT_SKIP_SYNC, 0, "operations complete before the remote acks" },
    { "drop-op-when-full", TLB_FAULT_DROP_OP_WHEN_FULL, 0,
      "a full flush queue drops the op instead of flushing everything" },
    { "leave-keeps-global", TLB_FAULT_LEAVE_KEEPS_GLOBAL, 0,
      "leaving a space with global leaves skips the global flush" },
    { "no-join", TLB_FAULT_NO_JOIN, 0, "activation loads CR3 without joining the CPU set" },
    { "make-before-flush", TLB_FAULT_MAKE_BEFORE_FLUSH, 0,
      "a huge map writes its leaf before flushing what it replaced" },
    { "untraced-store", 0, MM_BUG_UNTRACED_STORE,
      "the workload maps a page with a plain store that emits no event" },
    { NULL, 0, 0, NULL },
};

static bool name_is(const char *name, const char *s, unsigned len)
{
    unsigned i = 0;
    for (; i < len && name[i] == s[i]; i++)
        ;
    return i == len && name[i] == '\0';
}

bool tlb_bug_parse(const char *spec, struct tlb_bug_set *set, const char **bad, unsigned *bad_len)
{
    struct tlb_bug_set f = { 0, 0 };
    const char *p = spec;
    for (;;) {
        unsigned len = 0;
        while (p[len] && p[len] != ',')
            len++;
        const struct tlb_bug *b = tlb_bugs;
        while (b->name && !name_is(b->name, p, len))
            b++;
        if (!b->name) {
            *bad = p;
            *bad_len = len;
            return false;
        }
        f.faults |= b->faults;
        f.mm |= b->mm;
        if (!p[len])
            break;
        p += len + 1;
    }
    *set = f;
    return true;
}
