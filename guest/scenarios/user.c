/*
 * The ring-3 scenarios (docs/guest-user.md):
 *
 *   user-syscalls       a task's write/yield/exit, the syscall edge cases,
 *                       round-robin between tasks of two spaces, a
 *                       privileged instruction killing its task
 *   user-demand-fault   user page faults resolved on demand by the space's
 *                       handler (also racing on every CPU over one shared
 *                       region); faults it declines kill the task
 *
 * (user-kernel-access and user-kernel-fault are in user_isolation.c.)
 *
 * Every check is a named VMM_HC_TEST_RESULT; the scenario exits 0 iff all
 * of them passed.
 */
#include "guest/frame_alloc.h"
#include "guest/layout.h"
#include "guest/mm.h"
#include "guest/printf.h"
#include "guest/scenario.h"
#include "guest/string.h"
#include "guest/uaccess.h"
#include "guest/user_task.h"
#include "guest/bootinfo.h"
#include "guest/percpu.h"
#include "guest/vmspace.h"
#include "guest/workload.h"
#include "user_check.h"

#define BUF_VA     0x600000ull
#define DEMAND_VA  0x10000000ull
#define DEMAND_PAGES 8
#define PF_P 0x1ull
#define PF_W 0x2ull
#define PF_U 0x4ull

/* A kernel address handed to the syscalls program as a bad buffer. */
static uint64_t kernel_secret = 0x5ec2e75ec2e7ull;

/* ---- user-syscalls ----------------------------------------------------- */

static void check_hello(void)
{
    struct vm_space *vs = ucheck_space("hello");
    struct user_task t;
    ucheck_load(&t, vs, USER_PROG(hello), 0, 0, 0);
    ucheck_run(&t);
    ucheck("user.hello", t.state == USER_TASK_EXITED && t.exit_status == 0 && t.yields == 1 &&
                             t.syscalls == 3,
           "%s, status %lld, %u syscalls (write, yield, exit expected), %u yield(s)",
           ucheck_state(t.state), (long long)t.exit_status, t.syscalls, t.yields);
    ucheck_destroy("user.hello.space-destroyed", &vs, 1);
}

static void check_syscall_edges(void)
{
    static const char tail[16] = "buffer's end...\n";
    struct vm_space *vs = ucheck_space("syscalls");
    struct user_task t;
    struct vm_writer w;
    uint64_t edge = BUF_VA + PAGE_SIZE - sizeof(tail);
    ucheck_load(&t, vs, USER_PROG(syscalls), edge, (uint64_t)(uintptr_t)&kernel_secret, 0);
    int err = user_map_zeroed(vs, BUF_VA, 1, PT_RW);
    vm_space_activate(vs);
    if (err == 0)
        err = vm_space_writer(vs, edge, sizeof(tail), &w);
    if (err == 0) {
        err = vm_writer_write_val(&w, tail, sizeof(tail));
        vm_writer_drop(&w);
    }
    ucheck("user.syscalls.setup", err == 0, "buffer mapped and filled: error %d", err);
    ucheck_run(&t);
    ucheck("user.syscalls", t.state == USER_TASK_EXITED && t.exit_status == 0,
           "%s, status %lld (k > 0: check k of the syscalls program failed: 1 ENOSYS, "
           "2 kernel buffer, 3 short write, 4 unmapped buffer, 5 registers across a syscall)",
           ucheck_state(t.state), (long long)t.exit_status);
    ucheck_destroy("user.syscalls.space-destroyed", &vs, 1);
}

static void check_privileged(void)
{
    struct vm_space *vs = ucheck_space("priv");
    struct user_task t;
    ucheck_load(&t, vs, USER_PROG(priv), 0, 0, 0);
    ucheck_run(&t);
    ucheck("user.privileged-instruction-killed",
           t.state == USER_TASK_KILLED && t.kill.vector == 13 && t.kill.rip == USER_CODE_VA,
           "%s by vector %llu at rip %#llx (expected #GP at %#llx)", ucheck_state(t.state),
           (unsigned long long)t.kill.vector, (unsigned long long)t.kill.rip, USER_CODE_VA);
    ucheck_destroy("user.priv.space-destroyed", &vs, 1);
}

/* A SYSCALL in the last two bytes of the lower half: its return address is
 * non-canonical, so resuming it must be the task's #GP, not a kernel fault
 * on the kernel's IRETQ. */
static void check_top_of_user_space(void)
{
    const uint64_t top = 0x00007ffffffff000ull;
    struct vm_space *vs = ucheck_space("toptail");
    struct user_task t;
    struct user_prog prog = USER_PROG(toptail);
    int err = user_task_load_at(&t, vs, &prog, top, USER_STACK_TOP, 0, 0, 0);
    if (err == 0)
        ucheck_run(&t);
    ucheck("user.syscall-at-top-of-user-space-killed",
           err == 0 && t.state == USER_TASK_KILLED && t.kill.vector == 13 &&
               t.kill.rip == top + PAGE_SIZE && t.yields == 1,
           "load error %d, %s by vector %llu at rip %#llx after %u yield(s) (expected #GP at "
           "%#llx after 1)", err, ucheck_state(t.state), (unsigned long long)t.kill.vector,
           (unsigned long long)t.kill.rip, t.yields, (unsigned long long)(top + PAGE_SIZE));
    ucheck_destroy("user.toptail.space-destroyed", &vs, 1);
}

/* Two sum tasks in two spaces on one CPU: each yields half-way, so the
 * round-robin order must be 0 1 0 1, and both sums must be right. */
static void check_round_robin(void)
{
    enum { WORDS = 64 };
    struct vm_space *vs[2] = { ucheck_space("rr0"), ucheck_space("rr1") };
    struct user_task t[2];
    struct user_task *const tasks[2] = { &t[0], &t[1] };
    uint64_t data[WORDS], want[2][2] = { { 0, 0 }, { 0, 0 } };
    bool setup_ok = true;
    for (int k = 0; k < 2; k++) {
        for (int i = 0; i < WORDS; i++) {
            data[i] = (uint64_t)(i + 1) * 0x9e3779b97f4a7c15ull + (uint64_t)k;
            want[k][0] += data[i];
            want[k][1] = ((want[k][1] << 7) | (want[k][1] >> 57)) ^ data[i];
        }
        ucheck_load(&t[k], vs[k], USER_PROG(sum), BUF_VA, WORDS, BUF_VA + PAGE_SIZE);
        struct vm_writer w;
        int err = user_map_zeroed(vs[k], BUF_VA, 2, PT_RW);
        vm_space_activate(vs[k]);
        if (err == 0)
            err = vm_space_writer(vs[k], BUF_VA, sizeof(data), &w);
        if (err == 0) {
            err = vm_writer_write_val(&w, data, sizeof(data));
            vm_writer_drop(&w);
        }
        setup_ok = setup_ok && err == 0;
    }
    unsigned order[8], len = 0;
    user_tasks_run_all(tasks, 2, order, 8, &len);
    bool order_ok = len == 4 && order[0] == 0 && order[1] == 1 && order[2] == 0 && order[3] == 1;
    ucheck("user.round-robin.order", setup_ok && order_ok, "%u slices: %u %u %u %u", len,
           order[0], order[1], len > 2 ? order[2] : 9, len > 3 ? order[3] : 9);
    for (int k = 0; k < 2; k++) {
        uint64_t got[2] = { 0, 0 };
        struct vm_reader r;
        vm_space_activate(vs[k]);
        int err = vm_space_reader(vs[k], BUF_VA + PAGE_SIZE, sizeof(got), &r);
        if (err == 0) {
            err = vm_reader_read_val(&r, got, sizeof(got));
            vm_reader_drop(&r);
        }
        ucheck(k ? "user.round-robin.sum1" : "user.round-robin.sum0",
               err == 0 && t[k].state == USER_TASK_EXITED && got[0] == want[k][0] &&
                   got[1] == want[k][1],
               "%s, read error %d, sum %#llx (kernel: %#llx), checksum %#llx (kernel: %#llx)",
               ucheck_state(t[k].state), err, (unsigned long long)got[0],
               (unsigned long long)want[k][0], (unsigned long long)got[1],
               (unsigned long long)want[k][1]);
    }
    ucheck_destroy("user.round-robin.spaces-destroyed", vs, 2);
}

int scenario_user_syscalls(void)
{
    ucheck_reset();
    size_t free_before = frame_free_count();
    check_hello();
    check_syscall_edges();
    check_privileged();
    check_top_of_user_space();
    check_round_robin();
    size_t free_after = frame_free_count();
    ucheck("user.frames-returned", free_after == free_before,
           "%zu free frames before, %zu after", free_before, free_after);
    return ucheck_finish("user-syscalls");
}

/* ---- user-demand-fault ------------------------------------------------- */

struct demand_region {
    uint64_t start, end;
    unsigned calls, mapped;
};

/* The space's page-fault handler: map a zeroed RW page for a not-present
 * fault inside the region; decline everything else. A page another CPU
 * mapped meanwhile is left as it is (the access is simply retried). */
static bool demand_map(struct vm_space *vs, uint64_t va, uint64_t error_code, void *arg)
{
    struct demand_region *r = arg;
    __atomic_add_fetch(&r->calls, 1, __ATOMIC_RELAXED);
    if (va < r->start || va >= r->end || (error_code & PF_P))
        return false;
    uint64_t page = va & ~(uint64_t)(PAGE_SIZE - 1), pa;
    struct vm_cursor c;
    struct vm_query q;
    if (vm_space_cursor_mut(vs, page, page + PAGE_SIZE, &c) != 0)
        return false;
    bool ok = vm_cursor_query(&c, &q) == 0;
    if (ok && !q.mapped) {
        ok = vm_frame_alloc(&pa);
        if (ok && vm_cursor_map(&c, pa, (struct pt_prop){ PT_RW, PT_PRIV_USER, PT_CACHE_WB }) < 0) {
            vm_frame_put(pa);
            ok = false;
        }
        if (ok)
            __atomic_add_fetch(&r->mapped, 1, __ATOMIC_RELAXED);
    }
    vm_cursor_drop(&c);
    return ok;
}

/* Every CPU runs a touch task over the same region of one shared space at
 * once: faults on one page race on several CPUs, and the handler must map
 * each page exactly once (the losers find it mapped and just retry). */
#define SHARED_VA    0x30000000ull
#define SHARED_PAGES 16

struct shared_run {
    struct vm_space *vs;
    struct demand_region region;
    struct user_task tasks[MAX_CPUS];
    int load_err[MAX_CPUS];
};

static void shared_touch(void *arg)
{
    struct shared_run *run = arg;
    unsigned cpu = this_cpu()->index;
    struct user_task *t = &run->tasks[cpu];
    struct user_prog prog = USER_PROG(touch);
    run->load_err[cpu] = user_task_load_at(t, run->vs, &prog, USER_CODE_VA + cpu * 0x10000ull,
                                           USER_STACK_TOP - cpu * 0x10000ull, SHARED_VA,
                                           SHARED_PAGES, 0x5a5a000000000000ull);
    if (run->load_err[cpu] == 0)
        ucheck_run(t);
    vm_space_activate(NULL);
}

static void check_shared_region(void)
{
    static struct shared_run run;
    unsigned n = bootinfo.ncpus, exited = 0, resolved = 0;
    run.vs = ucheck_space("demand-shared");
    run.region = (struct demand_region){ SHARED_VA, SHARED_VA + SHARED_PAGES * PAGE_SIZE, 0, 0 };
    vm_space_set_fault_handler(run.vs, demand_map, &run.region);
    bool done = run_on_all_cpus(shared_touch, &run, 30000000);
    for (unsigned c = 0; c < n; c++) {
        exited += run.load_err[c] == 0 && run.tasks[c].state == USER_TASK_EXITED &&
                  run.tasks[c].exit_status == 0;
        resolved += run.tasks[c].faults_handled;
    }
    ucheck("user.demand.smp-shared-region",
           done && exited == n && run.region.mapped == SHARED_PAGES && resolved >= SHARED_PAGES,
           "%u of %u cpus' tasks exited 0, %u pages mapped (expected exactly %d), %u faults "
           "resolved, handler asked %u time(s)", exited, n, run.region.mapped, SHARED_PAGES,
           resolved, run.region.calls);
    ucheck_destroy("user.demand.shared-space-destroyed", &run.vs, 1);
}

int scenario_user_demand_fault(void)
{
    const uint64_t pattern = 0xa5a5f00dc0de0000ull;
    struct demand_region region = { DEMAND_VA, DEMAND_VA + DEMAND_PAGES * PAGE_SIZE, 0, 0 };
    struct vm_space *vs = ucheck_space("demand");
    struct user_task t;
    ucheck_reset();
    vm_space_set_fault_handler(vs, demand_map, &region);

    ucheck_load(&t, vs, USER_PROG(touch), DEMAND_VA, DEMAND_PAGES, pattern);
    ucheck_run(&t);
    ucheck("user.demand.touch", t.state == USER_TASK_EXITED && t.exit_status == 0 &&
                                    t.faults_handled == DEMAND_PAGES &&
                                    region.mapped == DEMAND_PAGES,
           "%s, status %lld, %u faults resolved, %u pages mapped on demand (expected %d)",
           ucheck_state(t.state), (long long)t.exit_status, t.faults_handled, region.mapped,
           DEMAND_PAGES);

    unsigned good = 0;
    for (unsigned i = 0; i < DEMAND_PAGES; i++) {
        uint64_t va = DEMAND_VA + i * PAGE_SIZE, v = 0;
        struct vm_reader r;
        if (vm_space_reader(vs, va, sizeof(v), &r) != 0)
            continue;
        if (vm_reader_read_val(&r, &v, sizeof(v)) == 0 && v == (va ^ pattern))
            good++;
        vm_reader_drop(&r);
    }
    ucheck("user.demand.readback", good == DEMAND_PAGES,
           "%u of %d pages read back by the kernel hold what ring 3 wrote", good, DEMAND_PAGES);

    /* A second space with the same handler: the task touches the region's
     * last page (mapped on demand) and then the page after it, which is
     * outside the region: the handler declines and the task is killed. */
    struct vm_space *vs2 = ucheck_space("demand-out");
    struct user_task out;
    unsigned calls = region.calls;
    vm_space_set_fault_handler(vs2, demand_map, &region);
    ucheck_load(&out, vs2, USER_PROG(touch), region.end - PAGE_SIZE, 2, pattern);
    ucheck_run(&out);
    ucheck("user.demand.outside-region-killed",
           out.state == USER_TASK_KILLED && out.kill.vector == 14 &&
               out.kill.cr2 == region.end &&
               (out.kill.error_code & (PF_P | PF_W | PF_U)) == (PF_W | PF_U) &&
               out.faults_handled == 1 && region.calls == calls + 2,
           "%s by vector %llu, cr2 %#llx (expected %#llx), error code %#llx, %u fault(s) "
           "resolved, handler asked %u time(s)", ucheck_state(out.state),
           (unsigned long long)out.kill.vector, (unsigned long long)out.kill.cr2,
           (unsigned long long)region.end, (unsigned long long)out.kill.error_code,
           out.faults_handled, region.calls - calls);

    /* A write to a read-only user page: a protection fault the handler
     * declines. */
    struct vm_space *ro = ucheck_space("demand-ro");
    struct user_task poke;
    vm_space_set_fault_handler(ro, demand_map, &region);
    ucheck_load(&poke, ro, USER_PROG(poke), BUF_VA, 0, 0);
    int err = user_map_zeroed(ro, BUF_VA, 1, PT_R);
    ucheck_run(&poke);
    ucheck("user.demand.write-read-only-killed",
           err == 0 && poke.state == USER_TASK_KILLED && poke.kill.vector == 14 &&
               poke.kill.cr2 == BUF_VA &&
               (poke.kill.error_code & (PF_P | PF_W | PF_U)) == (PF_P | PF_W | PF_U),
           "map error %d, %s by vector %llu, cr2 %#llx, error code %#llx", err,
           ucheck_state(poke.state), (unsigned long long)poke.kill.vector,
           (unsigned long long)poke.kill.cr2, (unsigned long long)poke.kill.error_code);

    /* The kernel's own copy into a region page nobody touched yet: the #PF
     * in the copy goes to the same handler, which maps the page, and the
     * copy completes. */
    struct demand_region kregion = { DEMAND_VA + 0x100000, DEMAND_VA + 0x102000, 0, 0 };
    vm_space_set_fault_handler(vs, demand_map, &kregion);
    vm_space_activate(vs);
    static uint8_t src[PAGE_SIZE + 64];
    for (size_t i = 0; i < sizeof(src); i++)
        src[i] = (uint8_t)(i * 7 + 1);
    struct vm_writer w;
    struct vm_reader kr = vm_reader_from_kernel(src, sizeof(src));
    size_t copied = 0;
    err = vm_space_writer(vs, kregion.start + 100, sizeof(src), &w);
    if (err == 0) {
        err = vm_writer_write(&w, &kr, &copied);
        vm_writer_drop(&w);
    }
    ucheck("user.demand.kernel-copy", err == 0 && copied == sizeof(src) && kregion.mapped == 2,
           "error %d, %zu of %zu bytes copied, %u pages mapped on demand (expected 2)", err,
           copied, sizeof(src), kregion.mapped);

    struct vm_space *all[3] = { vs, vs2, ro };
    ucheck_destroy("user.demand.spaces-destroyed", all, 3);
    check_shared_region();
    return ucheck_finish("user-demand-fault");
}
