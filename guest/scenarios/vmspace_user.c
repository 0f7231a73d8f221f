/*
 * The user phase of the VmSpace workload (include/guest/workload.h,
 * docs/guest-user.md): on every CPU, in every round, in the space the
 * workload has active there (shared with other CPUs in even rounds):
 *
 *   1. map a ring-3 program (sum), its stack and a data page into this
 *      CPU's slice, and write an array of 512 words generated from (cpu,
 *      round) into it with a VmWriter;
 *   2. run the program in ring 3 (it yields half-way; the phase resumes it)
 *      and read its sum and checksum back with a VmReader; both must equal
 *      the kernel's own computation;
 *   3. a VmReader that runs off the end of the results page must stop at
 *      the page boundary and report exactly the bytes before it;
 *   4. while a VmWriter on the results is live, a VmReader over them is
 *      refused (UA_EBUSY: the seed's exclusion rule, checked in the space's
 *      window table that every CPU sharing the space registers in at the
 *      same time) and one touching them is allowed;
 *   5. unmap the whole slice again (shootdowns to every CPU of the space,
 *      some of which may be running ring-3 code at that moment).
 *
 * Returns the number of failed checks; each failure prints one line.
 */
#include "guest/percpu.h"
#include "guest/printf.h"
#include "guest/uaccess.h"
#include "guest/user_task.h"
#include "guest/workload.h"

#define SLICE      (WORKLOAD_USER_SIZE / 64)
#define CODE_OFF   0x0ull
#define STACK_TOP  0x100000ull            /* two stack pages below it */
#define DATA_OFF   0x200000ull            /* the array */
#define RESULT_OFF 0x201000ull            /* sum, checksum */
#define USED       0x202000ull            /* everything the phase maps */
#define WORDS      512

static uint64_t word(unsigned cpu, unsigned round, unsigned i)
{
    return ((uint64_t)cpu << 48 | (uint64_t)round << 32 | i) * 0x9e3779b97f4a7c15ull + i;
}

/* The kernel's own sum and checksum (the sum program's algorithm). */
static void expected(unsigned cpu, unsigned round, uint64_t out[2])
{
    out[0] = out[1] = 0;
    for (unsigned i = 0; i < WORDS; i++) {
        uint64_t w = word(cpu, round, i);
        out[0] += w;
        out[1] = ((out[1] << 7) | (out[1] >> 57)) ^ w;
    }
}

static unsigned fail(unsigned cpu, unsigned round, const char *what, long long v)
{
    kprintf("vmspace user phase: cpu %u round %u: FAIL: %s (%lld)\n", cpu, round, what, v);
    return 1;
}

static int write_array(struct vm_space *vs, uint64_t base, unsigned cpu, unsigned round)
{
    static uint64_t buf[MAX_CPUS][WORDS];
    for (unsigned i = 0; i < WORDS; i++)
        buf[cpu][i] = word(cpu, round, i);
    struct vm_writer w;
    int err = user_map_zeroed(vs, base + DATA_OFF, 2, PT_RW);
    if (err == 0)
        err = vm_space_writer(vs, base + DATA_OFF, sizeof(buf[cpu]), &w);
    if (err == 0) {
        err = vm_writer_write_val(&w, buf[cpu], sizeof(buf[cpu]));
        vm_writer_drop(&w);
    }
    return err;
}

/* A read of 64 bytes starting 24 bytes before the end of the results page:
 * exactly 24 are copied (the next page is not mapped). */
static unsigned partial_read(struct vm_space *vs, uint64_t base, unsigned cpu, unsigned round)
{
    uint8_t buf[64];
    struct vm_reader r;
    size_t copied = 0;
    int err = vm_space_reader(vs, base + USED - 24, sizeof(buf), &r);
    if (err)
        return fail(cpu, round, "reader at the slice's end refused", err);
    struct vm_writer kw = vm_writer_from_kernel(buf, sizeof(buf));
    err = vm_reader_read(&r, &kw, &copied);
    vm_reader_drop(&r);
    if (err != UA_EFAULT || copied != 24)
        return fail(cpu, round, "read past the last page: bytes copied (error -14 and 24 "
                                "expected)", err == UA_EFAULT ? (long long)copied : err);
    return 0;
}

static unsigned window_rule(struct vm_space *vs, uint64_t base, unsigned cpu, unsigned round)
{
    struct vm_writer w;
    struct vm_reader over, touching;
    int err = vm_space_writer(vs, base + RESULT_OFF, 16, &w);
    if (err)
        return fail(cpu, round, "writer on the results refused", err);
    int busy = vm_space_reader(vs, base + RESULT_OFF + 8, 8, &over);
    int ok = vm_space_reader(vs, base + RESULT_OFF + 16, 8, &touching);
    vm_writer_drop(&w);
    if (busy == UA_OK)
        vm_reader_drop(&over);
    if (ok == UA_OK)
        vm_reader_drop(&touching);
    if (busy != UA_EBUSY)
        return fail(cpu, round, "reader over a live writer (error -16 expected)", busy);
    if (ok != UA_OK)
        return fail(cpu, round, "reader touching a live writer refused", ok);
    return 0;
}

static unsigned unmap_all(struct vm_space *vs, uint64_t base, unsigned cpu, unsigned round)
{
    struct vm_cursor c;
    uint64_t frames = 0;
    int err = vm_space_cursor_mut(vs, base, base + USED, &c);
    if (err)
        return fail(cpu, round, "cursor for the unmap", err);
    err = vm_cursor_unmap(&c, USED, &frames);
    vm_cursor_drop(&c);
    /* code 1 page, stack 2, data 1, results 1 */
    if (err || frames != 5)
        return fail(cpu, round, "unmap of the slice: frames unmapped (5 expected)",
                    err ? err : (long long)frames);
    return 0;
}

unsigned workload_user_phase(struct vm_space *vs, unsigned cpu, unsigned round)
{
    uint64_t base = WORKLOAD_USER_BASE + cpu * SLICE, want[2], got[2] = { 0, 0 };
    struct user_task t = { 0 };
    struct user_prog prog = USER_PROG(sum);
    unsigned failures = 0;
    expected(cpu, round, want);
    int err = user_task_load_at(&t, vs, &prog, base + CODE_OFF, base + STACK_TOP,
                                base + DATA_OFF, WORDS, base + RESULT_OFF);
    if (err == 0)
        err = write_array(vs, base, cpu, round);
    if (err) {
        failures += fail(cpu, round, "setting up the sum task", err);
    } else {
        while (user_task_run(&t) == USER_TASK_READY)
            ;
        struct vm_reader r;
        err = vm_space_reader(vs, base + RESULT_OFF, sizeof(got), &r);
        if (err == 0) {
            err = vm_reader_read_val(&r, got, sizeof(got));
            vm_reader_drop(&r);
        }
        if (t.state != USER_TASK_EXITED || t.exit_status != 0 || t.yields != 1)
            failures += fail(cpu, round, "the sum task did not exit(0) after one yield",
                             t.state == USER_TASK_EXITED ? t.exit_status : -1000 - t.state);
        else if (err || got[0] != want[0] || got[1] != want[1])
            failures += fail(cpu, round, "ring-3 sum/checksum differ from the kernel's", err);
        failures += partial_read(vs, base, cpu, round);
        failures += window_rule(vs, base, cpu, round);
    }
    failures += unmap_all(vs, base, cpu, round);
    if (round == 0 || failures)
        kprintf("vmspace user phase: cpu %u round %u: ring-3 sum of %u words %#llx, checksum "
                "%#llx (kernel: %#llx, %#llx), %u syscalls: %s\n", cpu, round, WORDS,
                (unsigned long long)got[0], (unsigned long long)got[1],
                (unsigned long long)want[0], (unsigned long long)want[1], t.syscalls,
                failures ? "FAIL" : "ok");
    return failures;
}
