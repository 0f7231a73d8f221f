/*
 * Everything vmm prints goes through here: one lock so that lines written
 * by several vCPU threads never interleave, and an optional log file
 * (--log FILE) that receives a copy of every line (stdout and stderr), so
 * the log is the full transcript of the run.
 */
#ifndef VMM_OUT_H
#define VMM_OUT_H

#include <stdio.h>

/*
 * Sets (or with NULL clears) the log file that receives a copy of every
 * line. Requires: no other thread is printing. The caller keeps ownership
 * of the FILE.
 */
void vmm_out_set_log(FILE *log);

/* printf to stdout (and the log), flushed at once. Thread-safe. */
void vmm_outf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* printf to stderr (and the log), flushed at once. Thread-safe. */
void vmm_errf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Writes raw bytes to stdout (and the log) under the lock: used by the
 * console for guest lines that were already made safe to print.
 */
void vmm_out_write(const char *buf, size_t len);

/* The same for stderr (and the log): the sandbox streams the inner vmm's
 * stderr through it. */
void vmm_err_write(const char *buf, size_t len);

#endif /* VMM_OUT_H */
