/*
 * Feeding a simulated machine's event stream to the validator and
 * summarising what it found.
 */
#ifndef TLB_CHECK_STREAM_H
#define TLB_CHECK_STREAM_H

#include "sim.h"
#include "tlb/validator.h"

struct stream_verdict {
    enum tlb_verdict verdict;     /* of finish(), or BAD_INPUT */
    uint64_t violations;          /* reports of kind VIOLATION */
    uint32_t classes;             /* TLB_CLASS_BIT of every class reported */
    char error[256];              /* the validator's input error, if any */
};

/*
 * Validate s->ev[0..nr_ev) from scratch (default options for s->nr_cpus).
 * If `print` is non-NULL, the first `max_print` violation reports are
 * printed there as text. Returns false only if the validator could not be
 * created (out of memory).
 */
bool check_stream(const struct sim *s, struct stream_verdict *out, FILE *print, unsigned max_print);

/* "T1 T10" style list of the classes in `mask` (static buffer; the last two
   results stay valid). */
const char *class_list(uint32_t mask);

#endif /* TLB_CHECK_STREAM_H */
