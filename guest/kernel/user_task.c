/*
 * User tasks (include/guest/user_task.h): loading a program image into a
 * VmSpace, running it in ring 3, resolving or reporting its exceptions.
 */
#include "guest/user_task.h"

#include "guest/mm.h"
#include "guest/percpu.h"
#include "guest/printf.h"
#include "guest/string.h"
#include "guest/uaccess.h"
#include "guest/vmspace.h"

#define PF_ERR_P 0x1ull      /* the page was present: a protection fault */
#define PF_ERR_W 0x2ull      /* a write */
#define PF_ERR_I 0x10ull     /* an instruction fetch */

static struct pt_prop user_prop(uint8_t flags)
{
    return (struct pt_prop){ .flags = flags, .priv = PT_PRIV_USER, .cache = PT_CACHE_WB };
}

/* Map the frames pas[0..n) at va, n pages; on failure the frame that could
 * not be mapped, and those after it, are released here. */
static int map_frames(struct vm_space *vs, uint64_t va, const uint64_t *pas, unsigned n,
                      uint8_t flags)
{
    struct vm_cursor c;
    int err = vm_space_cursor_mut(vs, va, va + (uint64_t)n * PAGE_SIZE, &c);
    unsigned i = 0;
    if (err == 0) {
        for (; i < n; i++) {
            err = vm_cursor_map(&c, pas[i], user_prop(flags));
            if (err < 0)
                break;
            err = 0;
        }
        vm_cursor_drop(&c);
    }
    for (; i < n; i++)
        vm_frame_put(pas[i]);
    return err;
}

/* n fresh zeroed frames into pas[]; PT_ERR_NOMEM (none kept) if short. */
static int alloc_frames(uint64_t *pas, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        if (!vm_frame_alloc(&pas[i])) {
            while (i--)
                vm_frame_put(pas[i]);
            return PT_ERR_NOMEM;
        }
    }
    return 0;
}

int user_map_zeroed(struct vm_space *vs, uint64_t va, unsigned pages, uint8_t flags)
{
    uint64_t pas[16];
    for (unsigned done = 0; done < pages;) {
        unsigned n = pages - done < 16 ? pages - done : 16;
        int err = alloc_frames(pas, n);
        if (err == 0)
            err = map_frames(vs, va + (uint64_t)done * PAGE_SIZE, pas, n, flags);
        if (err)
            return err;
        done += n;
    }
    return 0;
}

int user_task_load(struct user_task *t, struct vm_space *vs, const struct user_prog *prog,
                   uint64_t a0, uint64_t a1, uint64_t a2)
{
    return user_task_load_at(t, vs, prog, USER_CODE_VA, USER_STACK_TOP, a0, a1, a2);
}

int user_task_load_at(struct user_task *t, struct vm_space *vs, const struct user_prog *prog,
                      uint64_t code_va, uint64_t stack_top, uint64_t a0, uint64_t a1,
                      uint64_t a2)
{
    uint64_t size = *prog->size, pas[USER_CODE_MAX / PAGE_SIZE];
    if (size == 0 || size > USER_CODE_MAX || (code_va | stack_top) % PAGE_SIZE ||
        code_va == 0 || stack_top > USER_VA_END || stack_top < USER_STACK_PAGES * PAGE_SIZE)
        return UA_EINVAL;
    unsigned pages = (unsigned)((size + PAGE_SIZE - 1) / PAGE_SIZE);
    int err = alloc_frames(pas, pages);
    if (err)
        return err;
    /* Fill the frames through the linear map before they are mapped: the
     * user mapping is never writable, not even once. */
    for (unsigned i = 0; i < pages; i++) {
        uint64_t off = (uint64_t)i * PAGE_SIZE, n = size - off < PAGE_SIZE ? size - off : PAGE_SIZE;
        memcpy(vm_frame_ptr(pas[i]), prog->code + off, n);
    }
    err = map_frames(vs, code_va, pas, pages, PT_RX);
    if (err == 0)
        err = user_map_zeroed(vs, stack_top - USER_STACK_PAGES * PAGE_SIZE, USER_STACK_PAGES,
                              PT_RW);
    if (err)
        return err;
    memset(t, 0, sizeof(*t));
    t->name = prog->name;
    t->space = vs;
    t->state = USER_TASK_READY;
    user_context_init(&t->ctx, code_va, stack_top);
    t->ctx.rdi = a0;
    t->ctx.rsi = a1;
    t->ctx.rdx = a2;
    return 0;
}

const char *user_exception_name(uint64_t vector)
{
    static const char *const names[32] = {
        "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "?9", "#TS", "#NP",
        "#SS", "#GP", "#PF", "?15", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP",
    };
    return vector < 32 && names[vector] ? names[vector] : "?";
}

/* What a #PF was, in words, for the kill message. */
static void describe_page_fault(const struct user_task *t, char *buf, size_t size)
{
    uint64_t err = t->kill.error_code, va = t->kill.cr2;
    const char *access = err & PF_ERR_I ? "instruction fetch" : err & PF_ERR_W ? "write" : "read";
    const char *what = va >= VM_USER_END ? "kernel address"
                       : err & PF_ERR_P  ? "protected user address"
                                         : "unmapped user address";
    ksnprintf(buf, size, ": %s of %s %#llx", access, what, (unsigned long long)va);
}

static void kill_task(struct user_task *t)
{
    char detail[96] = "";
    t->state = USER_TASK_KILLED;
    t->kill.vector = t->ctx.trap.vector;
    t->kill.error_code = t->ctx.trap.error_code;
    t->kill.cr2 = t->ctx.trap.cr2;
    t->kill.rip = t->ctx.rip;
    if (t->kill.vector == 14)
        describe_page_fault(t, detail, sizeof(detail));
    kprintf("user: cpu %u: task %s killed by a user fault: %s (vector %llu, error code %#llx) "
            "at rip %#llx%s\n", this_cpu()->index, t->name, user_exception_name(t->kill.vector),
            (unsigned long long)t->kill.vector, (unsigned long long)t->kill.error_code,
            (unsigned long long)t->kill.rip, detail);
}

/* An exception from ring 3: a user page fault the space resolves is
 * retried; everything else kills the task (the kernel carries on). */
static void handle_exception(struct user_task *t)
{
    const struct user_context *c = &t->ctx;
    if (c->trap.vector == 14 && c->trap.cr2 < VM_USER_END &&
        vm_space_handle_page_fault(c->trap.cr2, c->trap.error_code)) {
        t->faults_handled++;
        return;
    }
    kill_task(t);
}

enum user_task_state user_task_run(struct user_task *t)
{
    vm_space_activate(t->space);
    t->yielded = false;
    while (t->state == USER_TASK_READY && !t->yielded) {
        int why = user_run(&t->ctx);
        if (why == USER_RETURN_SYSCALL) {
            t->syscalls++;
            syscall_dispatch(t);
        } else if (why == USER_RETURN_INTERRUPT) {
            t->preemptions++;            /* kicked: the caller decides */
            break;
        } else {
            handle_exception(t);
        }
    }
    return t->state;
}

void user_tasks_run_all(struct user_task *const *tasks, unsigned n, unsigned *order,
                        unsigned order_cap, unsigned *order_len)
{
    unsigned len = 0;
    for (bool ran = true; ran;) {
        ran = false;
        for (unsigned i = 0; i < n; i++) {
            if (tasks[i]->state != USER_TASK_READY)
                continue;
            if (order && len < order_cap)
                order[len] = i;
            len++;
            user_task_run(tasks[i]);
            ran = true;
        }
    }
    if (order_len)
        *order_len = len;
}
