/*
 * An independent check of the flusher's central promise, computed from the
 * event stream alone: a frame or page-table node that an unmap (or a
 * replacing map) removed is freed only after EVERY target of the dispatch
 * that carried its flush has flushed — each remote target acknowledged that
 * dispatch (REMOTE_DONE naming it or a later one of the same initiator) and
 * the initiator, if it was a target, executed its flush.
 *
 * It does not model TLB contents (that is the validator's job) and it only
 * follows frames and nodes whose own PTE was cleared (not the contents of a
 * detached subtree, which are freed with it).
 */
#ifndef TLB_ACK_CHECK_H
#define TLB_ACK_CHECK_H

#include <stdio.h>

#include "sim.h"

struct ack_check_result {
    uint64_t frees_checked;   /* frees of frames/nodes with a known removing dispatch */
    uint64_t violations;      /* frees before some target had flushed */
    uint64_t first_bad_seq;   /* the first offending FREE event, if any */
};

/*
 * Check s->ev. Returns false only when host memory runs out. Messages for
 * the first few violations go to `out` (may be NULL).
 */
bool ack_check(const struct sim *s, struct ack_check_result *res, FILE *out);

#endif /* TLB_ACK_CHECK_H */
