/*
 * The system-call table (include/guest/user.h for the numbers and the
 * register convention). Every argument from ring 3 is untrusted: user
 * buffers are only ever touched through a VmReader, so a bad pointer costs
 * the caller -EFAULT and never the kernel anything.
 */
#include "guest/user_task.h"

#include "guest/percpu.h"
#include "guest/printf.h"
#include "guest/uaccess.h"

/* One write moves at most this much; the caller sees the short count. */
#define WRITE_MAX 256

typedef int64_t (*syscall_fn)(struct user_task *t, uint64_t a0, uint64_t a1, uint64_t a2);

/* write(buf, len): print the bytes on the console (one line, prefixed by
 * the task). Returns the count written, which is short when len > WRITE_MAX
 * or the buffer runs into an unmapped page; -EFAULT if not one byte could
 * be read (or the range is not user memory). */
static int64_t sys_write(struct user_task *t, uint64_t buf, uint64_t len, uint64_t a2)
{
    (void)a2;
    char kbuf[WRITE_MAX];
    struct vm_reader r;
    if (len == 0)
        return 0;
    if (len > WRITE_MAX)
        len = WRITE_MAX;
    if (vm_space_reader(t->space, buf, len, &r) != UA_OK)
        return UA_EFAULT;
    struct vm_writer w = vm_writer_from_kernel(kbuf, len);
    size_t n;
    vm_reader_read(&r, &w, &n);
    vm_reader_drop(&r);
    if (n == 0)
        return UA_EFAULT;
    bool nl = kbuf[n - 1] == '\n';
    kprintf("user %s (cpu %u): %.*s\n", t->name, this_cpu()->index, (int)(nl ? n - 1 : n),
            kbuf);
    return (int64_t)n;
}

static int64_t sys_yield(struct user_task *t, uint64_t a0, uint64_t a1, uint64_t a2)
{
    (void)a0, (void)a1, (void)a2;
    t->yielded = true;
    t->yields++;
    return 0;
}

static int64_t sys_exit(struct user_task *t, uint64_t status, uint64_t a1, uint64_t a2)
{
    (void)a1, (void)a2;
    t->state = USER_TASK_EXITED;
    t->exit_status = (int64_t)status;
    return 0;
}

static const struct {
    uint64_t nr;
    syscall_fn fn;
} syscall_table[] = {
    { SYS_WRITE, sys_write },
    { SYS_YIELD, sys_yield },
    { SYS_EXIT, sys_exit },
};

void syscall_dispatch(struct user_task *t)
{
    struct user_context *c = &t->ctx;
    for (size_t i = 0; i < sizeof(syscall_table) / sizeof(syscall_table[0]); i++) {
        if (syscall_table[i].nr == c->rax) {
            c->rax = (uint64_t)syscall_table[i].fn(t, c->rdi, c->rsi, c->rdx);
            return;
        }
    }
    c->rax = (uint64_t)(int64_t)-USER_ENOSYS;
}
