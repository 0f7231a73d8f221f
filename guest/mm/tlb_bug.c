/* Bug names (include/guest/tlb_bug.h). Pure code. */
#include "guest/tlb_bug.h"

#include <stddef.h>

#include "tlb/flusher.h"

const struct tlb_bug tlb_bugs[] = {
    { "skip-unmap-flush", TLB_FAULT_SKIP_LOCAL_FLUSH | TLB_FAULT_SKIP_REMOTE_FLUSH,
      "no CPU flushes what an unmap (or protect, or replacing map) removed" },
    { "free-before-flush", TLB_FAULT_FREE_BEFORE_FLUSH,
      "an unmapped frame goes back to the allocator before any flush" },
    { "skip-local-flush", TLB_FAULT_SKIP_LOCAL_FLUSH, "the initiating CPU never flushes itself" },
    { "skip-remote-flush", TLB_FAULT_SKIP_REMOTE_FLUSH,
      "shootdown IPIs are acknowledged without flushing" },
    { "drop-target", TLB_FAULT_DROP_TARGET, "a dispatch forgets its highest remote target" },
    { "wrong-page", TLB_FAULT_WRONG_PAGE, "single-page flushes hit the next page" },
    { "nonglobal-full", TLB_FAULT_NONGLOBAL_FULL,
      "a full flush of global entries only reloads CR3" },
    { "skip-sync", TLB_FAULT_SKIP_SYNC, "operations complete before the remote acks" },
    { "drop-op-when-full", TLB_FAULT_DROP_OP_WHEN_FULL,
      "a full flush queue drops the op instead of flushing everything" },
    { "leave-keeps-global", TLB_FAULT_LEAVE_KEEPS_GLOBAL,
      "leaving a space with global leaves skips the global flush" },
    { "no-join", TLB_FAULT_NO_JOIN, "activation loads CR3 without joining the CPU set" },
    { "make-before-flush", TLB_FAULT_MAKE_BEFORE_FLUSH,
      "a huge map writes its leaf before flushing what it replaced" },
    { NULL, 0, NULL },
};

static bool name_is(const char *name, const char *s, unsigned len)
{
    unsigned i = 0;
    for (; i < len && name[i] == s[i]; i++)
        ;
    return i == len && name[i] == '\0';
}

bool tlb_bug_parse(const char *spec, uint32_t *faults, const char **bad, unsigned *bad_len)
{
    uint32_t f = 0;
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
        f |= b->faults;
        if (!p[len])
            break;
        p += len + 1;
    }
    *faults = f;
    return true;
}
