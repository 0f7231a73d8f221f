/*
 * Scenario user-ad: VmSpace's accessed/dirty tracking on one CPU, one named
 * check each (docs/guest-mm.md "Accessed and dirty bits"):
 *
 *   user-ad.mapped.* .task .ring3.* .protect .protected.*
 *                     the default workload's probe (ad_probe.h): pages
 *                     mapped without A and D, a ring-3 read and write,
 *                     query and protect report the MMU's bits
 *   user-ad.reset.*   a protect op that clears A and D (and gives W back)
 *                     restarts tracking: the bits read clear after its
 *                     flush, and a second ring-3 copy, source and
 *                     destination swapped, sets them the other way round
 *   user-ad.preset    a mapping made with PT_ACCESSED | PT_DIRTY carries
 *                     them before any access (the caller's property)
 *
 * Exits 0 iff every check passed.
 */
#include "guest/layout.h"
#include "guest/printf.h"
#include "guest/scenario.h"
#include "guest/user_task.h"
#include "guest/vmspace.h"
#include "ad_probe.h"
#include "user_check.h"

#define BASE      0x20000000ull
#define CODE2     0x20000ull             /* the second copyword task */
#define STACK2    0x24000ull
#define PRESET    0x30000ull
#define WORD      0xad0000005eed0001ull
#define WORD2     0xad0000005eed0002ull
#define ALL_FRAMES (AD_PROBE_FRAMES + 3 + 1)   /* + task 2's code and stack, + preset */

static void report(void *arg, const char *name, bool ok, const char *detail)
{
    (void)arg;
    char full[64];
    ksnprintf(full, sizeof(full), "user-ad.%s", name);
    ucheck(full, ok, "%s", detail);
}

/* Gives W back and clears A and D: tracking starts again. */
static void reset_ad(struct pt_prop *p, void *arg)
{
    (void)arg;
    p->flags = (uint8_t)((p->flags | PT_W) & ~(PT_ACCESSED | PT_DIRTY));
}

static void check_reset(struct vm_space *vs)
{
    struct vm_cursor c;
    uint64_t changed = 0;
    int err = vm_space_cursor_mut(vs, BASE + AD_READ, BASE + AD_WRITE + PAGE_SIZE, &c);
    if (err == 0) {
        err = vm_cursor_protect(&c, AD_WRITE + PAGE_SIZE - AD_READ, reset_ad, NULL, &changed);
        vm_cursor_drop(&c);
    }
    ucheck("user-ad.reset.protect", err == 0 && changed == 2,
           "error %d, %llu pages changed (expected 2)", err, (unsigned long long)changed);
    ad_probe_expect(vs, BASE + AD_READ, "reset.read", false, false, 1, report, NULL);
    ad_probe_expect(vs, BASE + AD_WRITE, "reset.write", false, false, 1, report, NULL);

    /* copyword(write page -> read page): now the write page is only read. */
    struct user_task t;
    struct user_prog prog = USER_PROG(copyword);
    struct vm_query rq, wq;
    err = user_task_load_at(&t, vs, &prog, BASE + CODE2, BASE + STACK2, BASE + AD_WRITE,
                            BASE + AD_READ, 0);
    if (err == 0)
        err = ad_probe_query(vs, BASE + AD_READ, &rq);
    if (err == 0)
        err = ad_probe_query(vs, BASE + AD_WRITE, &wq);
    uint64_t got = 0;
    if (err == 0) {
        *(volatile uint64_t *)vm_frame_ptr(wq.pa) = WORD2;
        ucheck_run(&t);
        got = *(volatile uint64_t *)vm_frame_ptr(rq.pa);
    }
    ucheck("user-ad.reset.task", err == 0 && t.state == USER_TASK_EXITED && t.exit_status == 0 &&
                                     got == WORD2,
           "error %d, copyword %s, copied %#llx (expected exited 0, %#llx)", err,
           err ? "not run" : ucheck_state(t.state), (unsigned long long)got,
           (unsigned long long)WORD2);
    ad_probe_expect(vs, BASE + AD_READ, "reset.read-written", true, true, 1, report, NULL);
    ad_probe_expect(vs, BASE + AD_WRITE, "reset.write-read", true, false, 1, report, NULL);
}

static void check_preset(struct vm_space *vs)
{
    int err = 0;
    uint64_t pa;
    struct vm_cursor c;
    if (!vm_frame_alloc(&pa))
        err = PT_ERR_NOMEM;
    if (err == 0)
        err = vm_space_cursor_mut(vs, BASE + PRESET, BASE + PRESET + PAGE_SIZE, &c);
    if (err == 0) {
        struct pt_prop p = { PT_RW | PT_ACCESSED | PT_DIRTY, PT_PRIV_USER, PT_CACHE_WB };
        err = vm_cursor_map(&c, pa, p);
        vm_cursor_drop(&c);
        if (err < 0)
            vm_frame_put(pa);
    }
    if (err < 0)
        ucheck("user-ad.preset", false, "mapping the page: error %d", err);
    else
        ad_probe_expect(vs, BASE + PRESET, "preset", true, true, 1, report, NULL);
}

int scenario_user_ad(void)
{
    ucheck_reset();
    struct vm_space *vs = ucheck_space("user-ad");
    vm_space_activate(vs);
    unsigned held = ad_probe_run(vs, BASE, WORD, report, NULL);
    kprintf("user-ad: %u of %u accessed/dirty checks of the probe held\n", held,
            AD_PROBE_CHECKS);
    check_reset(vs);
    check_preset(vs);
    ad_probe_unmap(vs, BASE, ALL_FRAMES, report, NULL);
    ucheck_destroy("user-ad.space-destroyed", &vs, 1);
    return ucheck_finish("user-ad");
}
