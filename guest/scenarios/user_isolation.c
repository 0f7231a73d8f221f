/*
 * Ring 3 cannot touch kernel memory, and the kernel's protection against
 * its own bugs stays on (docs/guest-user.md):
 *
 *   user-kernel-access  user tasks read, write and execute kernel addresses
 *                       (the image, the linear map): each access is a user
 *                       fault that kills its task; the kernel, its memory
 *                       and later tasks are unaffected
 *   user-kernel-fault   the kernel itself loads from an unmapped user
 *                       address outside any fallible copy: no exception-table
 *                       entry, so the #PF is reported to the VMM (a crash)
 */
#include "guest/layout.h"
#include "guest/printf.h"
#include "guest/scenario.h"
#include "guest/user_task.h"
#include "guest/vmspace.h"
#include "user_check.h"

#define PF_P 0x1ull
#define PF_W 0x2ull
#define PF_U 0x4ull
#define PF_I 0x10ull

static volatile uint64_t kernel_secret = 0x5ec2e75ec2e7ull;

static void kernel_text_target(void) {}

/* Run `prog(addr)` in a fresh space; it must be killed by a #PF at `addr`
 * whose error code has exactly the bits `want` among P, W, U, I. */
static void expect_killed(const char *name, struct user_prog prog, uint64_t addr, uint64_t want)
{
    struct vm_space *vs = ucheck_space(name);
    struct user_task t;
    ucheck_load(&t, vs, prog, addr, 0, 0);
    ucheck_run(&t);
    uint64_t bits = t.kill.error_code & (PF_P | PF_W | PF_U | PF_I);
    ucheck(name, t.state == USER_TASK_KILLED && t.kill.vector == 14 && t.kill.cr2 == addr &&
                     bits == want,
           "%s by vector %llu, cr2 %#llx (expected %#llx), error code %#llx (P W U I bits "
           "%#llx, expected %#llx)", ucheck_state(t.state), (unsigned long long)t.kill.vector,
           (unsigned long long)t.kill.cr2, (unsigned long long)addr,
           (unsigned long long)t.kill.error_code, (unsigned long long)bits,
           (unsigned long long)want);
    vm_space_activate(NULL);
    vm_space_destroy(vs);
}

int scenario_user_kernel_access(void)
{
    uint64_t secret = (uint64_t)(uintptr_t)&kernel_secret, before = kernel_secret;
    uint64_t linear = (uint64_t)(uintptr_t)phys_to_virt(virt_to_phys(&kernel_secret));
    ucheck_reset();
    expect_killed("user.kernel.read-image", USER_PROG(peek), secret, PF_P | PF_U);
    expect_killed("user.kernel.write-image", USER_PROG(poke), secret, PF_P | PF_W | PF_U);
    expect_killed("user.kernel.read-linear-map", USER_PROG(peek), linear, PF_P | PF_U);
    expect_killed("user.kernel.execute-text", USER_PROG(jump),
                  (uint64_t)(uintptr_t)kernel_text_target, PF_P | PF_U | PF_I);
    /* Just above user space: not canonical for 4-level paging, a #GP. */
    struct vm_space *vs = ucheck_space("noncanonical");
    struct user_task t;
    ucheck_load(&t, vs, USER_PROG(peek), 0x0000800000000000ull, 0, 0);
    ucheck_run(&t);
    ucheck("user.kernel.non-canonical-killed", t.state == USER_TASK_KILLED && t.kill.vector == 13,
           "%s by vector %llu (expected #GP)", ucheck_state(t.state),
           (unsigned long long)t.kill.vector);
    ucheck("user.kernel.memory-intact", kernel_secret == before,
           "the kernel word holds %#llx (was %#llx)", (unsigned long long)kernel_secret,
           (unsigned long long)before);
    vm_space_activate(NULL);
    vm_space_destroy(vs);
    /* The kernel carries on: a well-behaved task still runs to its end. */
    struct user_task hello;
    vs = ucheck_space("after");
    ucheck_load(&hello, vs, USER_PROG(hello), 0, 0, 0);
    ucheck_run(&hello);
    ucheck("user.kernel.survives", hello.state == USER_TASK_EXITED && hello.exit_status == 0,
           "a later task %s with status %lld", ucheck_state(hello.state),
           (long long)hello.exit_status);
    vm_space_activate(NULL);
    vm_space_destroy(vs);
    return ucheck_finish("user-kernel-access");
}

int scenario_user_kernel_fault(void)
{
    struct vm_space *vs = ucheck_space("kernel-fault");
    vm_space_activate(vs);
    kprintf("user-kernel-fault: the kernel reads unmapped user address 0x10000000 outside any "
            "fallible copy\n");
    uint64_t v = *(volatile uint64_t *)(uintptr_t)0x10000000ull;
    kprintf("user-kernel-fault: FAIL: read %#llx without a fault\n", (unsigned long long)v);
    return 1;
}
