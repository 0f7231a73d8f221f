/*
 * A machine's live validation (docs/live-validation.md): the trace-ring
 * region, the validate.h driver with the machine's hooks (pause, inspect,
 * stop, exit counts), and the end-of-run steps. machine.c calls these at
 * fixed points of a run; with --validate=off they do nothing.
 */
#ifndef VMM_LIVE_H
#define VMM_LIVE_H

#include <stdbool.h>
#include <stddef.h>

#include "machine.h"

/* Places the rings (m->trace; base 0 when validation is off). Before the FDT
 * is built. Fails (-1, err) when they do not fit in RAM. */
int vmm_live_layout(struct vmm_machine *m, char *err, size_t errlen);

/* Writes the ring headers and creates the driver (m->val, m->hc.trace).
 * After the vCPUs exist. Fails (-1, err) when a file cannot be opened. */
int vmm_live_create(struct vmm_machine *m, char *err, size_t errlen);

/* After every vCPU thread was joined: the end of validation (may set
 * m->status to VMM_EXIT_VALIDATION), --dump-pt, statistics into r. */
void vmm_live_end(struct vmm_machine *m, struct vmm_validate_stats *stats);

/* Frees the driver (teardown). */
void vmm_live_destroy(struct vmm_machine *m);

#endif /* VMM_LIVE_H */
