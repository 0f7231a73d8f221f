/*
 * scenario user-preempt (docs/guest-user.md): taking a CPU back from ring-3
 * code that never makes a system call, with user_kick (an IPI that makes
 * user_run return USER_RETURN_INTERRUPT with the whole context saved).
 *
 *   user.kick-before-entry   a kick pending when user_run starts: it returns
 *                            at once and the task never ran
 *   user.kick-from-other-cpu CPU 1 runs a task that spins in ring 3; CPU 0
 *                            kicks it twice; each kick returns CPU 1 to the
 *                            kernel, and the task resumes with its registers
 *                            (its counter keeps growing from where it was)
 */
#include "guest/arch.h"
#include "guest/printf.h"
#include "guest/scenario.h"
#include "guest/smp.h"
#include "guest/tsc.h"
#include "guest/user_task.h"
#include "guest/vmspace.h"
#include "user_check.h"

struct spin_run {
    struct user_task t;
    volatile unsigned started, slices;
    uint64_t count[2];              /* rbx after each kick */
};

/* On CPU 1: run the spinning task until it has been kicked twice. */
static void spin_on_cpu(void *arg)
{
    struct spin_run *run = arg;
    __atomic_store_n(&run->started, 1, __ATOMIC_RELEASE);
    for (unsigned i = 0; i < 2; i++) {
        if (user_task_run(&run->t) != USER_TASK_READY)
            break;
        run->count[i] = run->t.ctx.rbx;
        __atomic_store_n(&run->slices, i + 1, __ATOMIC_RELEASE);
    }
    vm_space_activate(NULL);
}

static bool wait_for(volatile unsigned *v, unsigned want)
{
    uint64_t deadline = tsc_deadline_us(10000000);
    while (__atomic_load_n(v, __ATOMIC_ACQUIRE) < want)
        if (tsc_passed(deadline))
            return false;
        else
            cpu_relax();
    return true;
}

int scenario_user_preempt(void)
{
    ucheck_reset();
    if (smp_cpu_count() < 2) {
        kprintf("user-preempt: needs at least 2 cpus\n");
        return 1;
    }
    struct vm_space *self_vs = ucheck_space("kick-self");
    struct user_task t;
    ucheck_load(&t, self_vs, USER_PROG(spin), 0, 0, 0);
    user_kick(0);
    enum user_task_state st = user_task_run(&t);
    ucheck("user.kick-before-entry", st == USER_TASK_READY && t.preemptions == 1 &&
                                         t.ctx.rbx == 0 && t.ctx.rip == USER_CODE_VA,
           "%s, %u preemption(s), counter %llu, rip %#llx (expected ready, 1, 0: never ran)",
           ucheck_state(st), t.preemptions, (unsigned long long)t.ctx.rbx,
           (unsigned long long)t.ctx.rip);
    ucheck_destroy("user.kick-self.space-destroyed", &self_vs, 1);

    static struct spin_run run;
    struct vm_space *vs = ucheck_space("kick-remote");
    ucheck_load(&run.t, vs, USER_PROG(spin), 0, 0, 0);
    smp_call(1, spin_on_cpu, &run);
    bool ok = wait_for(&run.started, 1);
    for (unsigned i = 0; ok && i < 2; i++) {
        udelay(20000);                  /* let it spin in ring 3 */
        user_kick(1);
        ok = wait_for(&run.slices, i + 1);
    }
    ok = ok && smp_call_wait(1, 10000000);
    ucheck("user.kick-from-other-cpu",
           ok && run.t.state == USER_TASK_READY && run.t.preemptions == 2 && run.count[0] > 0 &&
               run.count[1] > run.count[0] && run.t.ctx.trap.vector == VECTOR_USER_KICK,
           "cpu 1 %s, task %s, %u preemption(s), counter %llu after the first kick, %llu after "
           "the second (must grow: resumed with its registers), vector %llu", ok ? "came back" :
           "DID NOT come back", ucheck_state(run.t.state), run.t.preemptions,
           (unsigned long long)run.count[0], (unsigned long long)run.count[1],
           (unsigned long long)run.t.ctx.trap.vector);
    if (ok)
        ucheck_destroy("user.kick-remote.space-destroyed", &vs, 1);
    return ucheck_finish("user-preempt");
}
