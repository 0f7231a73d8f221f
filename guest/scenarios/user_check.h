/*
 * Helpers shared by the user-mode scenarios (scenarios/user*.c,
 * scenarios/uaccess.c): named checks reported to the host, and spaces that
 * end the scenario cleanly when they cannot be had.
 */
#ifndef GUEST_SCENARIOS_USER_CHECK_H
#define GUEST_SCENARIOS_USER_CHECK_H

#include <stdbool.h>
#include <stdint.h>

#include "guest/user_task.h"

struct vm_space;

/*
 * ucheck: one named check: prints "NAME: PASS|FAIL: detail" and reports it
 * with VMM_HC_TEST_RESULT. Returns ok. ucheck_failures() counts the FAILs
 * since ucheck_reset().
 */
__attribute__((format(printf, 3, 4))) bool ucheck(const char *name, bool ok, const char *fmt,
                                                   ...);
void ucheck_reset(void);
unsigned ucheck_failures(void);

/* ucheck_space: vm_space_new(), or PANIC naming `what` (out of memory). */
struct vm_space *ucheck_space(const char *what);

/* ucheck_load: user_task_load(), or PANIC naming the program and error. */
void ucheck_load(struct user_task *t, struct vm_space *vs, struct user_prog prog, uint64_t a0,
                 uint64_t a1, uint64_t a2);

/* ucheck_run: run t to its end (exit or kill) alone on this CPU. */
void ucheck_run(struct user_task *t);

/* ucheck_destroy: leave and destroy every space in vs[0..n); a named check
 * `name` that each destroy succeeded. */
void ucheck_destroy(const char *name, struct vm_space *const *vs, unsigned n);

/* ucheck_state: "ready", "exited", "killed". */
const char *ucheck_state(enum user_task_state s);

/* ucheck_finish: print "<scenario>: N checks, F failed" and return the exit
 * status (0 iff none failed). */
int ucheck_finish(const char *scenario);

#endif /* GUEST_SCENARIOS_USER_CHECK_H */
