/*
 * Bug injection by name: the bootarg tlb_bug=NAME[,NAME...] plants TLB bugs
 * (the flusher's enum tlb_fault switches) so the host's validator can be
 * watched catching them. Pure code, also unit-tested on the host.
 */
#ifndef GUEST_TLB_BUG_H
#define GUEST_TLB_BUG_H

#include <stdbool.h>
#include <stdint.h>

struct tlb_bug {
    const char *name;
    uint32_t faults;            /* enum tlb_fault bits */
    const char *what;
};

/* The known names, terminated by an entry whose name is NULL. */
extern const struct tlb_bug tlb_bugs[];

/*
 * tlb_bug_parse: the fault bits of a comma-separated list of names.
 * Returns true with *faults set, or false (faults untouched) with *bad set
 * to the first unknown name (its length in *bad_len) — an empty name
 * included.
 */
bool tlb_bug_parse(const char *spec, uint32_t *faults, const char **bad, unsigned *bad_len);

#endif /* GUEST_TLB_BUG_H */
