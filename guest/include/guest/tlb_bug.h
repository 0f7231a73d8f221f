/*
 * Bug injection by name: the bootarg tlb_bug=NAME[,NAME...] plants TLB bugs
 * (the flusher's enum tlb_fault switches, and the guest memory manager's own
 * enum mm_bug) so the host's validator can be watched catching them. Pure
 * code, also unit-tested on the host.
 */
#ifndef GUEST_TLB_BUG_H
#define GUEST_TLB_BUG_H

#include <stdbool.h>
#include <stdint.h>

/* Bugs of the guest's memory manager itself, outside the flusher (mm_bug_planted). */
enum mm_bug {
    MM_BUG_UNTRACED_STORE = 1u << 0,   /* the workload maps a page with a plain store: no event */
};
#define MM_BUG_ALL 0x1u

struct tlb_bug {
    const char *name;
    uint32_t faults;            /* enum tlb_fault bits */
    uint32_t mm;                /* enum mm_bug bits */
    const char *what;
};

/* What a list of names plants. */
struct tlb_bug_set {
    uint32_t faults;            /* enum tlb_fault bits */
    uint32_t mm;                /* enum mm_bug bits */
};

/* The known names, terminated by an entry whose name is NULL. */
extern const struct tlb_bug tlb_bugs[];

/*
 * tlb_bug_parse: the bugs of a comma-separated list of names.
 * Returns true with *set filled, or false (set untouched) with *bad set to
 * the first unknown name (its length in *bad_len) — an empty name included.
 */
bool tlb_bug_parse(const char *spec, struct tlb_bug_set *set, const char **bad, unsigned *bad_len);

#endif /* GUEST_TLB_BUG_H */
