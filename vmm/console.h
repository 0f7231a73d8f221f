/*
 * The guest console: bytes written to the COM1 THR (and VMM_HC_PRINT text)
 * are collected per vCPU into lines and printed line-buffered to stdout.
 * Lines are prefixed "[cpuN] " when the VM has more than one vCPU or with
 * --verbose, so interleaved output of several CPUs stays readable (a fixed
 * rule, so the output of a run does not depend on which CPU printed first).
 * Control characters from the guest are printed escaped (\xNN): a guest
 * cannot send terminal escape sequences to the user's terminal.
 */
#ifndef VMM_CONSOLE_H
#define VMM_CONSOLE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define VMM_CONSOLE_LINE 256u

struct vmm_console_line {
    char buf[VMM_CONSOLE_LINE];
    size_t len;
};

struct vmm_console {
    pthread_mutex_t lock;
    unsigned ncpus;
    bool prefix;           /* print "[cpuN] " before each line */
    bool quiet;            /* drop guest output (benchmarks) */
    struct vmm_console_line *lines;
    bool any_output;       /* set (under lock) by the first byte written */
    struct timespec first_output_at;   /* CLOCK_MONOTONIC of that byte */
};

/*
 * Requires: ncpus >= 1.
 * Guarantees: on 0 the console is ready; on -1 (out of memory) nothing is
 *   allocated.
 */
int vmm_console_init(struct vmm_console *c, unsigned ncpus, bool prefix, bool quiet);

/*
 * Appends guest bytes from CPU cpu; complete lines are printed at once, a
 * line longer than VMM_CONSOLE_LINE is printed in pieces. The time of the
 * first byte ever written is kept (benchmark). Thread-safe.
 * Requires: cpu < ncpus.
 */
void vmm_console_write(struct vmm_console *c, unsigned cpu, const uint8_t *p, size_t n);

/* Prints every partial line (at VM stop). Thread-safe. */
void vmm_console_flush(struct vmm_console *c);

/* Prints the partial line of CPU cpu only (before a message of that CPU,
 * without cutting the lines other CPUs are writing). Thread-safe.
 * Requires: nothing; an out-of-range cpu is ignored. */
void vmm_console_flush_cpu(struct vmm_console *c, unsigned cpu);

/* Flushes and frees. */
void vmm_console_destroy(struct vmm_console *c);

/*
 * Copies n guest bytes into out as printable text (control characters and
 * bytes >= 0x7f as \xNN), always NUL-terminated, truncated with "..." when
 * out is too small. Returns out. Requires outlen >= 4.
 */
char *vmm_sanitize(const uint8_t *p, size_t n, char *out, size_t outlen);

#endif /* VMM_CONSOLE_H */
