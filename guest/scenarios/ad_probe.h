/*
 * The accessed/dirty probe shared by the default workload (scenarios/
 * vmspace.c, on every CPU in every round) and scenario user-ad
 * (scenarios/user_ad.c): user pages mapped WITHOUT PT_ACCESSED / PT_DIRTY,
 * touched by a ring-3 program, then queried and write-protected. Each check
 * compares what vm_cursor_query reports with what the MMU must have done
 * (docs/guest-mm.md "Accessed and dirty bits").
 *
 * Layout in the probe's region [base, base + AD_PROBE_SPAN) of a space:
 *   AD_CODE    the copyword program (read + execute)
 *   AD_STACK   its stack (2 pages below it; the program never uses it)
 *   AD_READ    the page ring 3 reads        (read + write)
 *   AD_WRITE   the page ring 3 writes       (read + write)
 *   AD_IDLE    a page nothing touches       (read + write)
 * The three data pages are a page apart, none next to another.
 */
#ifndef GUEST_SCENARIOS_AD_PROBE_H
#define GUEST_SCENARIOS_AD_PROBE_H

#include <stdbool.h>
#include <stdint.h>

#include "guest/vmspace.h"

#define AD_CODE        0x0ull
#define AD_STACK       0x4000ull
#define AD_READ        0x10000ull
#define AD_WRITE       0x12000ull
#define AD_IDLE        0x14000ull
#define AD_PROBE_SPAN  0x200000ull          /* one level-1 node's worth */
#define AD_PROBE_FRAMES 6                   /* code 1, stack 2, data 3 */
#define AD_PROBE_CHECKS 11                  /* A/D checks of one ad_probe_run */

/* A check's outcome: `name` is short ("ring3.write"), `detail` says what was
 * seen and what was expected. */
typedef void (*ad_report_fn)(void *arg, const char *name, bool ok, const char *detail);

/*
 * ad_probe_run: in vs (active on this CPU, interrupts on), at `base`
 * (2 MiB-aligned, nothing mapped in [base, base + AD_PROBE_SPAN)):
 *   1. load copyword(AD_READ, AD_WRITE) at AD_CODE / AD_STACK and map the
 *      three data pages read + write, no A, no D;
 *      "mapped.{code,read,write,idle}": A and D clear on all four;
 *   2. put `word` into the read page (through the linear map: the user
 *      mapping is not used), run the task in ring 3;
 *      "task": it exited 0 and the write page holds `word`;
 *      "ring3.code": A set, D clear (instruction fetches);
 *      "ring3.read": A set, D clear;  "ring3.write": A and D set;
 *      "ring3.idle": A and D clear;
 *   3. vm_cursor_protect: W cleared on the three data pages (one flush each);
 *      "protect": 3 pages changed;
 *      "protected.{read,write,idle}": W clear, A and D as in step 2.
 * Every check goes to report(); the mappings stay (ad_probe_unmap).
 * Returns the number of A/D checks that held (AD_PROBE_CHECKS when all did).
 */
unsigned ad_probe_run(struct vm_space *vs, uint64_t base, uint64_t word, ad_report_fn report,
                      void *arg);

/*
 * ad_probe_query: what vm_cursor_query reports for the page at va, through
 * a read-only cursor. Returns 0 with *q filled, or the cursor's negative
 * error.
 */
int ad_probe_query(struct vm_space *vs, uint64_t va, struct vm_query *q);

/*
 * ad_probe_expect: one check: the page at va has A == a, D == d (and, if
 * w >= 0, W == w); reports "name" with the bits seen. Returns whether it held.
 */
bool ad_probe_expect(struct vm_space *vs, uint64_t va, const char *name, bool a, bool d, int w,
                     ad_report_fn report, void *arg);

/*
 * ad_probe_unmap: unmap [base, base + AD_PROBE_SPAN); "unmap": exactly
 * `frames` frames came back. Returns whether they did.
 */
bool ad_probe_unmap(struct vm_space *vs, uint64_t base, uint64_t frames, ad_report_fn report,
                    void *arg);

#endif /* GUEST_SCENARIOS_AD_PROBE_H */
