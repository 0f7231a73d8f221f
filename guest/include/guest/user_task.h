/*
 * User tasks: a ring-3 program image in a VmSpace, its register context,
 * and what became of it (exited, killed by a fault). A task runs on the CPU
 * that calls user_task_run() until it yields, exits or is killed; the
 * system calls it makes are served on the way (kernel/syscall.c). There is
 * no preemption (no timer): a task that never yields runs to its end.
 *
 * Address layout of a task (all in its space's user half):
 *   USER_CODE_VA   the program image, read + execute (never writable)
 *   USER_STACK_TOP - USER_STACK_PAGES pages .. USER_STACK_TOP: the stack, RW, NX
 * Anything else is mapped by the caller (user_map_zeroed) or on demand by
 * the space's page-fault handler.
 */
#ifndef GUEST_USER_TASK_H
#define GUEST_USER_TASK_H

#include <stdbool.h>
#include <stdint.h>

#include "guest/user.h"

#define USER_CODE_VA     0x400000ull
#define USER_CODE_MAX    (4 * 4096ull)            /* a program image's size limit */
#define USER_STACK_TOP   0x7ff000000000ull
#define USER_STACK_PAGES 2

/* A program image in the kernel (arch/x86/user_progs.S). */
struct user_prog {
    const char *name;
    const uint8_t *code;
    const uint64_t *size;        /* computed by the assembler */
};

#define USER_PROG(n)                                                         \
    ({ extern const uint8_t uprog_##n[]; extern const uint64_t uprog_##n##_size; \
       (struct user_prog){ #n, uprog_##n, &uprog_##n##_size }; })

enum user_task_state {
    USER_TASK_READY,       /* can run (new, or yielded) */
    USER_TASK_EXITED,      /* called exit(status) */
    USER_TASK_KILLED,      /* an exception the kernel did not resolve */
};

struct vm_space;

struct user_task {
    const char *name;
    struct vm_space *space;
    struct user_context ctx;
    enum user_task_state state;
    int64_t exit_status;             /* EXITED */
    struct {                         /* KILLED: the exception that did it */
        uint64_t vector, error_code, cr2, rip;
    } kill;
    bool yielded;                    /* set by the yield syscall */
    unsigned syscalls, yields, faults_handled;
    unsigned preemptions;            /* returns forced by user_kick */
};

/*
 * user_task_load: map `prog` at USER_CODE_VA (read + execute, user) and a
 * stack of USER_STACK_PAGES pages below USER_STACK_TOP (read + write, user,
 * no execute) in `vs`, and make `t` a READY task that starts at the image's
 * first byte with rdi/rsi/rdx = a0/a1/a2 and rsp = the stack top.
 * user_task_load_at: the same at code_va and stack_top.
 * Requires: vs live; nothing mapped at those pages yet (a mapping there
 *   would be replaced); code_va, stack_top page-aligned, in user space.
 * Fails (t untouched): UA_EINVAL (an image of 0 or more than USER_CODE_MAX
 *   bytes, or a bad address); PT_ERR_NOMEM or another vm_cursor error. Pages
 *   mapped before a failure stay in vs (vm_space_destroy or an unmap frees
 *   them).
 */
int user_task_load(struct user_task *t, struct vm_space *vs, const struct user_prog *prog,
                   uint64_t a0, uint64_t a1, uint64_t a2);
int user_task_load_at(struct user_task *t, struct vm_space *vs, const struct user_prog *prog,
                      uint64_t code_va, uint64_t stack_top, uint64_t a0, uint64_t a1,
                      uint64_t a2);

/*
 * user_task_run: activate t's space on this CPU and run t until it yields,
 * exits, is killed or is kicked (user_kick: t->preemptions counts it, t
 * stays READY and resumes where it was on the next call); returns its state. A #PF on a user address first goes
 * to the space's fault handler (vm_space_handle_page_fault): if that
 * resolves it the task continues. Any other exception kills the task and
 * prints one line saying so ("user fault").
 * Requires: t READY; interrupts may be on or off (restored on return).
 */
enum user_task_state user_task_run(struct user_task *t);

/*
 * user_tasks_run_all: round-robin over `tasks` on this CPU (each runs until
 * it yields, exits or is killed) until none is READY. If `order` is not
 * NULL, the index of each task run is appended (up to order_cap entries;
 * *order_len gets the count) so a caller can check the interleaving.
 */
void user_tasks_run_all(struct user_task *const *tasks, unsigned n, unsigned *order,
                        unsigned order_cap, unsigned *order_len);

/*
 * user_map_zeroed: map `pages` fresh zeroed frames at va (page-aligned) in
 * vs with `flags` (PT_R/PT_W/PT_X) for ring 3. Returns 0 or a negative
 * vm_cursor / PT_ERR_NOMEM error (pages mapped before the error stay).
 */
int user_map_zeroed(struct vm_space *vs, uint64_t va, unsigned pages, uint8_t flags);

/* syscall_dispatch: serve the system call in t->ctx (rax = number) and put
 * the result in t->ctx.rax (kernel/syscall.c). */
void syscall_dispatch(struct user_task *t);

/* user_exception_name: "#PF", "#GP", ... for a vector below 32. */
const char *user_exception_name(uint64_t vector);

#endif /* GUEST_USER_TASK_H */
