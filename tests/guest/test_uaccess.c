/*
 * guest_uaccess: VmReader / VmWriter (guest/mm/vm_io.c), the fallible
 * primitives (guest/arch/x86/uaccess.S) and the exception table
 * (guest/kernel/extable.c) on the host, against real page faults.
 *
 * The "user pages" are an mmap'd host area whose pages are RW, RW,
 * read-only, inaccessible, RW; a SIGSEGV handler plays the guest's #PF
 * path: it calls uaccess_fixup_page_fault() with the faulting address and
 * RIP, exactly as arch/x86/trap.c does, and resumes where that says. So
 * the partial-copy counts checked here are what a real x86 CPU reports for
 * a faulting REP MOVSB / STOSB (not an emulator's). The VmSpace functions
 * vm_io.c calls are this test's stand-ins (the real VmSpace runs only in the
 * guest): which space is "active" and what CR3 holds are
 * set by each test. The window table (guest/mm/vm_io_windows.c) is the
 * real one, inside the test's spaces: the seed's reader/writer exclusion
 * rule is checked here case by case.
 */
#define _GNU_SOURCE                   /* REG_RIP, REG_ERR */
#include <check.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include "check_main.h"
#include "guest/extable.h"
#include "guest/uaccess.h"
#include "guest/user.h"
#include "guest/vmspace.h"

#define PG 4096ul

uint64_t uaccess_test_cr3;
static struct vm_space space_a, space_b;
static struct vm_space *current;
static uint8_t *area;                 /* 5 pages: RW RW R none RW */
static unsigned segvs, handler_calls;
static bool demand;                   /* the "space's handler" maps page 3 */

struct vm_space *vm_space_current(void) { return current; }
uint64_t vm_space_root(const struct vm_space *vs) { return vs == &space_a ? 0x1000 : 0x2000; }

bool vm_space_handle_page_fault(uint64_t va, uint64_t error_code)
{
    (void)error_code;
    handler_calls++;
    uint64_t p3 = (uint64_t)(uintptr_t)(area + 3 * PG);
    if (!demand || va < p3 || va >= p3 + PG)
        return false;
    return mprotect(area + 3 * PG, PG, PROT_READ | PROT_WRITE) == 0;
}

static void on_segv(int sig, siginfo_t *si, void *ucv)
{
    (void)sig;
    ucontext_t *uc = ucv;
    uint64_t rip = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
    segvs++;
    if (!uaccess_fixup_page_fault((uint64_t)(uintptr_t)si->si_addr,
                                  (uint64_t)uc->uc_mcontext.gregs[REG_ERR], &rip)) {
        static const char msg[] = "test_uaccess: fault outside the exception table\n";
        ssize_t r = write(2, msg, sizeof(msg) - 1);
        (void)r;
        _exit(99);
    }
    uc->uc_mcontext.gregs[REG_RIP] = (greg_t)rip;
}

static uint64_t at(unsigned page, uint64_t off)
{
    return (uint64_t)(uintptr_t)(area + page * PG) + off;
}

static void setup(void)
{
    area = mmap(NULL, 5 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(area, MAP_FAILED);
    for (size_t i = 0; i < 5 * PG; i++)
        area[i] = (uint8_t)(i * 131 + 7);
    ck_assert_int_eq(mprotect(area + 2 * PG, PG, PROT_READ), 0);
    ck_assert_int_eq(mprotect(area + 3 * PG, PG, PROT_NONE), 0);
    vm_io_windows_init(&space_a.io_windows);
    vm_io_windows_init(&space_b.io_windows);
    current = &space_a;
    uaccess_test_cr3 = 0x1000;
    segvs = handler_calls = 0;
    demand = false;
    struct sigaction sa = { 0 };
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction(SIGSEGV, &sa, NULL);
}

static void teardown(void)
{
    signal(SIGSEGV, SIG_DFL);
    munmap(area, 5 * PG);
}

/* Read [va, va+len) into buf; check cursors moved by *copied exactly. */
static int read_into(uint8_t *buf, uint64_t va, size_t len, size_t *copied)
{
    struct vm_reader r;
    ck_assert_int_eq(vm_space_reader(&space_a, va, len, &r), UA_OK);
    struct vm_writer w = vm_writer_from_kernel(buf, len);
    int err = vm_reader_read(&r, &w, copied);
    ck_assert_uint_eq(r.cursor, va + *copied);
    ck_assert_uint_eq(w.cursor, (uint64_t)(uintptr_t)buf + *copied);
    ck_assert_int_eq(vm_reader_drop(&r), UA_OK);
    return err;
}

static const struct { const char *name; unsigned page; uint64_t off, len, want; } read_cases[] = {
    { "whole RW+RW+R", 0, 0, 3 * PG, 3 * PG },
    { "first byte faults", 3, 0, 64, 0 },
    { "mid-page start runs into a fault", 2, 0x800, PG, 0x800 },
    { "fault at a boundary after a full page", 2, 0, 2 * PG, PG },
    { "one byte before the fault", 2, PG - 1, 2, 1 },
    { "starts in the hole, ends in RW", 3, PG - 8, 16, 0 },
};

START_TEST(read_partial_counts)
{
    static uint8_t buf[3 * PG];
    size_t copied = 99999;
    uint64_t va = at(read_cases[_i].page, read_cases[_i].off), len = read_cases[_i].len;
    memset(buf, 0xee, sizeof(buf));
    int err = read_into(buf, va, len, &copied);
    ck_assert_msg(copied == read_cases[_i].want, "%s: copied %zu, expected %llu",
                  read_cases[_i].name, copied, (unsigned long long)read_cases[_i].want);
    ck_assert_int_eq(err, copied == len ? UA_OK : UA_EFAULT);
    ck_assert_int_eq(memcmp(buf, (void *)(uintptr_t)va, copied), 0);
    for (size_t i = copied; i < len; i++)
        ck_assert_uint_eq(buf[i], 0xee);                 /* nothing past the fault */
    ck_assert_uint_eq(segvs, copied == len ? 0 : 1);
}
END_TEST

START_TEST(write_into_read_only)
{
    static uint8_t src[2 * PG];
    uint8_t before[PG];
    memset(src, 0x3c, sizeof(src));
    memcpy(before, area + 2 * PG, PG);
    struct { uint64_t va, len, want; } c[] = {
        { at(2, 0), 64, 0 }, { at(1, PG - 0x100), 0x200, 0x100 }, { at(1, 0), 2 * PG, PG },
    };
    for (size_t k = 0; k < 3; k++) {
        struct vm_writer w;
        size_t copied = 99999;
        ck_assert_int_eq(vm_space_writer(&space_a, c[k].va, c[k].len, &w), UA_OK);
        struct vm_reader kr = vm_reader_from_kernel(src, c[k].len);
        ck_assert_int_eq(vm_writer_write(&w, &kr, &copied), UA_EFAULT);
        ck_assert_uint_eq(copied, c[k].want);
        ck_assert_uint_eq(w.cursor, c[k].va + copied);
        ck_assert_uint_eq(kr.cursor, (uint64_t)(uintptr_t)src + copied);
        for (size_t i = 0; i < copied; i++)
            ck_assert_uint_eq(((uint8_t *)(uintptr_t)c[k].va)[i], 0x3c);
        ck_assert_int_eq(vm_writer_drop(&w), UA_OK);     /* the next one overlaps */
    }
    ck_assert_int_eq(memcmp(before, area + 2 * PG, PG), 0);   /* read-only page intact */
}
END_TEST

START_TEST(values_and_zeros)
{
    struct vm_writer w;
    struct vm_reader r;
    uint64_t v = 0x0123456789abcdefull, got = 0;
    ck_assert_int_eq(vm_space_writer(&space_a, at(2, 0) - 4, 64, &w), UA_OK);
    ck_assert_int_eq(vm_writer_write_val(&w, &v, sizeof(v)), UA_EFAULT);
    ck_assert_uint_eq(w.cursor, at(2, 0) - 4);                 /* unchanged */
    ck_assert_int_eq(vm_writer_drop(&w), UA_OK);
    ck_assert_int_eq(vm_space_reader(&space_a, at(0, 0), 4, &r), UA_OK);
    ck_assert_int_eq(vm_reader_read_val(&r, &got, sizeof(got)), UA_EINVAL);
    ck_assert_uint_eq(r.cursor, at(0, 0));
    ck_assert_int_eq(vm_reader_drop(&r), UA_OK);
    ck_assert_int_eq(vm_space_reader(&space_a, at(1, 8), 8, &r), UA_OK);
    ck_assert_int_eq(vm_reader_read_val(&r, &got, sizeof(got)), UA_OK);
    ck_assert_uint_eq(r.cursor, at(1, 16));
    ck_assert_int_eq(memcmp(&got, area + PG + 8, 8), 0);
    ck_assert_int_eq(vm_reader_drop(&r), UA_OK);
    size_t done = 99999;
    ck_assert_int_eq(vm_space_writer(&space_a, at(1, PG - 100), 300, &w), UA_OK);
    ck_assert_int_eq(vm_writer_fill_zeros(&w, 1000, &done), UA_EFAULT);
    ck_assert_uint_eq(done, 100);
    for (int i = 0; i < 100; i++)
        ck_assert_uint_eq(area[2 * PG - 100 + i], 0);
    ck_assert_int_eq(vm_writer_drop(&w), UA_OK);
    ck_assert_int_eq(vm_space_writer(&space_a, at(0, 0), 300, &w), UA_OK);
    ck_assert_int_eq(vm_writer_fill_zeros(&w, 1000, &done), UA_OK);
    ck_assert_uint_eq(done, 300);                              /* min(len, avail) */
    ck_assert_int_eq(vm_writer_drop(&w), UA_OK);
    ck_assert_uint_eq(vm_io_windows_live(&space_a.io_windows), 0);
}
END_TEST

START_TEST(zero_length_copy_touches_nothing)
{
    struct vm_reader r;
    size_t copied = 99999;
    ck_assert_int_eq(vm_space_reader(&space_a, at(3, 0), 16, &r), UA_OK);
    struct vm_writer kw = vm_writer_from_kernel(NULL, 0);
    ck_assert_int_eq(vm_reader_read(&r, &kw, &copied), UA_OK);
    ck_assert_uint_eq(copied, 0);
    ck_assert_uint_eq(segvs, 0);
    ck_assert_int_eq(vm_reader_drop(&r), UA_OK);
}
END_TEST

START_TEST(on_demand_fault_resumes_the_copy)
{
    static uint8_t buf[3 * PG];
    size_t copied = 0;
    demand = true;
    ck_assert_int_eq(read_into(buf, at(2, 0), 3 * PG, &copied), UA_OK);
    ck_assert_uint_eq(copied, 3 * PG);
    ck_assert_uint_eq(handler_calls, 1);
    ck_assert_uint_eq(segvs, 1);
}
END_TEST

START_TEST(creation_refusals)
{
    struct vm_reader r = { .cursor = 1, .end = 2 };
    struct vm_writer w = { .cursor = 1, .end = 2 };
    static const struct { uint64_t va, len; int want; } c[] = {
        { 0x10000, 0, UA_EINVAL }, { 0, 16, UA_EINVAL },
        { USER_VA_END - 16, 32, UA_EACCES }, { USER_VA_END, 1, UA_EACCES },
        { 0xffff800000000000ull, 8, UA_EACCES }, { 0xfffffffffffff000ull, 0x2000, UA_EACCES },
        { 0x10000, ~0ull, UA_EACCES }, { USER_VA_END - 16, 16, UA_OK },
    };
    for (size_t k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
        ck_assert_int_eq(vm_space_reader(&space_a, c[k].va, c[k].len, &r), c[k].want);
        if (c[k].want == UA_OK)
            ck_assert_int_eq(vm_reader_drop(&r), UA_OK);
        ck_assert_int_eq(vm_space_writer(&space_a, c[k].va, c[k].len, &w), c[k].want);
        if (c[k].want == UA_OK)
            ck_assert_int_eq(vm_writer_drop(&w), UA_OK);
        else
            ck_assert(r.cursor == 1 && w.cursor == 1);
        ck_assert_uint_eq(vm_io_windows_live(&space_a.io_windows), 0);  /* none left */
    }
    ck_assert_int_eq(vm_space_reader(&space_b, 0x10000, 8, &r), UA_ENOTACTIVE);
    ck_assert_int_eq(vm_space_reader(NULL, 0x10000, 8, &r), UA_ENOTACTIVE);
    current = NULL;
    ck_assert_int_eq(vm_space_writer(&space_a, 0x10000, 8, &w), UA_ENOTACTIVE);
    current = &space_a;
    uaccess_test_cr3 = 0x2000 | 0x18;           /* bookkeeping says a, CR3 says b */
    ck_assert_int_eq(vm_space_reader(&space_a, 0x10000, 8, &r), UA_ENOTACTIVE);
    ck_assert_uint_eq(vm_io_windows_live(&space_a.io_windows), 0);
    ck_assert_uint_eq(vm_io_windows_live(&space_b.io_windows), 0);
    uaccess_test_cr3 = 0x1000 | 0x18;           /* flag bits of CR3 are ignored */
    ck_assert_int_eq(vm_space_reader(&space_a, 0x10000, 8, &r), UA_OK);
    ck_assert_int_eq(vm_reader_drop(&r), UA_OK);
}
END_TEST

/* ---- the seed's exclusion rule: a reader needs no live writer over its
 * range, a writer no live reader or writer. Windows are never copied
 * through here, so any user address serves. */
#define W0 0x10000ull

static int open_window(bool writer, uint64_t va, uint64_t len, struct vm_reader *r,
                       struct vm_writer *w)
{
    return writer ? vm_space_writer(&space_a, va, len, w) : vm_space_reader(&space_a, va, len, r);
}

static const struct {
    const char *name;
    bool first_writer;
    uint64_t first_off, first_len;
    bool second_writer;
    uint64_t second_off, second_len;
    int want;
} overlap_cases[] = {
    { "reader+reader overlapping", false, 100, 100, false, 150, 100, UA_OK },
    { "reader+reader identical", false, 100, 100, false, 100, 100, UA_OK },
    { "reader then writer inside it", false, 100, 100, true, 150, 10, UA_EBUSY },
    { "reader then writer over its first byte", false, 100, 100, true, 0, 101, UA_EBUSY },
    { "reader then writer over its last byte", false, 100, 100, true, 199, 100, UA_EBUSY },
    { "reader then writer touching its end", false, 100, 100, true, 200, 100, UA_OK },
    { "reader then writer touching its start", false, 100, 100, true, 0, 100, UA_OK },
    { "writer then reader inside it", true, 100, 100, false, 150, 10, UA_EBUSY },
    { "writer then reader around it", true, 100, 100, false, 0, 1000, UA_EBUSY },
    { "writer then reader touching its end", true, 100, 100, false, 200, 8, UA_OK },
    { "writer then reader touching its start", true, 100, 100, false, 92, 8, UA_OK },
    { "writer+writer identical", true, 100, 100, true, 100, 100, UA_EBUSY },
    { "writer+writer one byte shared", true, 100, 100, true, 199, 2, UA_EBUSY },
    { "writer+writer touching its end", true, 100, 100, true, 200, 100, UA_OK },
    { "writer+writer touching its start", true, 100, 100, true, 0, 100, UA_OK },
};

/* First window granted; the second as the rule says; a refused one leaves
 * its output and the table untouched; dropping both empties the table. */
START_TEST(overlap_rule)
{
    struct vm_reader r1 = { .cursor = 0 }, r2 = { .cursor = 7, .end = 9 };
    struct vm_writer w1 = { .cursor = 0 }, w2 = { .cursor = 7, .end = 9 };
    typeof(overlap_cases[0]) c = overlap_cases[_i];
    ck_assert_int_eq(open_window(c.first_writer, W0 + c.first_off, c.first_len, &r1, &w1), UA_OK);
    int got = open_window(c.second_writer, W0 + c.second_off, c.second_len, &r2, &w2);
    ck_assert_msg(got == c.want, "%s: %d, expected %d", c.name, got, c.want);
    ck_assert_uint_eq(vm_io_windows_live(&space_a.io_windows), got == UA_OK ? 2 : 1);
    if (got != UA_OK)
        ck_assert(r2.cursor == 7 && r2.end == 9 && w2.cursor == 7 && w2.end == 9);
    ck_assert_int_eq(c.first_writer ? vm_writer_drop(&w1) : vm_reader_drop(&r1), UA_OK);
    ck_assert_int_eq(c.second_writer ? vm_writer_drop(&w2) : vm_reader_drop(&r2), UA_OK);
    ck_assert_uint_eq(vm_io_windows_live(&space_a.io_windows), 0);
}
END_TEST

/* A refused window is allowed once the one that excluded it is dropped; a
 * dropped window is empty and moves nothing; dropping twice is harmless, a
 * stale copy's drop is refused and ends nobody's window. */
START_TEST(drop_ends_the_window)
{
    struct vm_writer w, w2, stale;
    struct vm_reader r;
    uint8_t buf[16];
    size_t copied = 99999;
    ck_assert_int_eq(vm_space_writer(&space_a, at(0, 0), 64, &w), UA_OK);
    ck_assert_int_eq(vm_space_reader(&space_a, at(0, 8), 8, &r), UA_EBUSY);
    stale = w;
    ck_assert_int_eq(vm_writer_drop(&w), UA_OK);
    ck_assert_uint_eq(vm_writer_avail(&w), 0);
    struct vm_reader kr = vm_reader_from_kernel(buf, sizeof(buf));
    ck_assert_int_eq(vm_writer_write(&w, &kr, &copied), UA_OK);
    ck_assert_uint_eq(copied, 0);
    ck_assert_int_eq(vm_writer_drop(&w), UA_OK);                /* again: nothing to do */
    ck_assert_int_eq(vm_space_reader(&space_a, at(0, 8), 8, &r), UA_OK);
    ck_assert_int_eq(vm_reader_drop(&r), UA_OK);
    ck_assert_int_eq(vm_space_writer(&space_a, at(0, 0), 64, &w2), UA_OK);
    ck_assert_int_eq(vm_writer_drop(&stale), UA_EINVAL);        /* not w2's to end */
    ck_assert_uint_eq(vm_io_windows_live(&space_a.io_windows), 1);
    ck_assert_int_eq(vm_space_reader(&space_a, at(0, 8), 8, &r), UA_EBUSY);
    ck_assert_int_eq(vm_writer_drop(&w2), UA_OK);
    ck_assert_uint_eq(vm_io_windows_live(&space_a.io_windows), 0);
}
END_TEST

/* Kernel windows are not registered: they neither count nor exclude. */
START_TEST(kernel_windows_are_not_registered)
{
    struct vm_writer w;
    struct vm_reader kr = vm_reader_from_kernel(area, 64);
    struct vm_writer kw = vm_writer_from_kernel(area, 64);
    ck_assert_ptr_null(kr.reg.table);
    ck_assert_ptr_null(kw.reg.table);
    ck_assert_uint_eq(vm_io_windows_live(&space_a.io_windows), 0);
    ck_assert_int_eq(vm_space_writer(&space_a, at(0, 0), 64, &w), UA_OK);
    ck_assert_int_eq(vm_reader_drop(&kr), UA_OK);
    ck_assert_int_eq(vm_writer_drop(&kw), UA_OK);
    ck_assert_uint_eq(vm_io_windows_live(&space_a.io_windows), 1);
    ck_assert_int_eq(vm_writer_drop(&w), UA_OK);
}
END_TEST

/* Each space has its own table: the same range in two spaces is two
 * unrelated windows. */
START_TEST(spaces_do_not_exclude_each_other)
{
    struct vm_writer wa, wb;
    ck_assert_int_eq(vm_space_writer(&space_a, W0, 64, &wa), UA_OK);
    current = &space_b;
    uaccess_test_cr3 = 0x2000;
    ck_assert_int_eq(vm_space_writer(&space_b, W0, 64, &wb), UA_OK);
    ck_assert_uint_eq(vm_io_windows_live(&space_a.io_windows), 1);
    ck_assert_uint_eq(vm_io_windows_live(&space_b.io_windows), 1);
    ck_assert_int_eq(vm_writer_drop(&wb), UA_OK);
    ck_assert_int_eq(vm_writer_drop(&wa), UA_OK);
}
END_TEST

/* VM_IO_WINDOWS_MAX live windows fill the table: one more is refused with
 * UA_EMFILE (an overlap is still UA_EBUSY: the rule is checked first), and
 * a drop makes room again. */
START_TEST(table_full)
{
    static struct vm_reader r[VM_IO_WINDOWS_MAX];
    struct vm_reader extra = { .cursor = 7, .end = 9 };
    struct vm_writer w = { .cursor = 7, .end = 9 };
    for (unsigned i = 0; i < VM_IO_WINDOWS_MAX; i++)
        ck_assert_int_eq(vm_space_reader(&space_a, W0 + i, 1, &r[i]), UA_OK);
    ck_assert_int_eq(vm_space_reader(&space_a, W0 + 0x1000, 1, &extra), UA_EMFILE);
    ck_assert_int_eq(vm_space_writer(&space_a, W0 + 0x1000, 1, &w), UA_EMFILE);
    ck_assert_int_eq(vm_space_writer(&space_a, W0, 1, &w), UA_EBUSY);
    ck_assert(extra.cursor == 7 && w.cursor == 7);
    ck_assert_uint_eq(vm_io_windows_live(&space_a.io_windows), VM_IO_WINDOWS_MAX);
    ck_assert_int_eq(vm_reader_drop(&r[5]), UA_OK);
    ck_assert_int_eq(vm_space_reader(&space_a, W0 + 0x1000, 1, &extra), UA_OK);
    ck_assert_int_eq(vm_reader_drop(&extra), UA_OK);
    for (unsigned i = 0; i < VM_IO_WINDOWS_MAX; i++)
        ck_assert_int_eq(vm_reader_drop(&r[i]), UA_OK);      /* r[5]: dropped already */
    ck_assert_uint_eq(vm_io_windows_live(&space_a.io_windows), 0);
}
END_TEST

#define fn_addr(f) ((uint64_t)(uintptr_t)(f))

START_TEST(exception_table)
{
    ck_assert_uint_eq(extable_count(), 2);
    unsigned found = 0;
    for (uint64_t rip = fn_addr(memcpy_fallible);
         rip < fn_addr(memcpy_fallible) + 8; rip++)
        found += extable_search(rip) != 0;
    for (uint64_t rip = fn_addr(memset_fallible);
         rip < fn_addr(memset_fallible) + 8; rip++)
        found += extable_search(rip) != 0;
    ck_assert_uint_eq(found, 2);                /* one faulting instruction each */
    uint64_t rip = fn_addr(read_into);
    ck_assert(!uaccess_fixup_page_fault(0x10000, 0, &rip));    /* not in the table */
    ck_assert_uint_eq(rip, fn_addr(read_into));
    for (uint64_t r = fn_addr(memcpy_fallible);
         r < fn_addr(memcpy_fallible) + 8; r++) {
        uint64_t x = r;
        if (extable_search(r))
            ck_assert(!uaccess_fixup_page_fault(USER_VA_END, 0, &x));  /* kernel address */
    }
}
END_TEST

int check_program(int argc, char **argv, struct check_plan *plan)
{
    if (!check_no_args(argc, argv))
        return CHECK_EXIT_USAGE;
    Suite *s = suite_create("guest_uaccess");
    TCase *tc = tcase_create("uaccess");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, read_partial_counts, 0, sizeof(read_cases) / sizeof(read_cases[0]));
    tcase_add_test(tc, write_into_read_only);
    tcase_add_test(tc, values_and_zeros);
    tcase_add_test(tc, zero_length_copy_touches_nothing);
    tcase_add_test(tc, on_demand_fault_resumes_the_copy);
    tcase_add_test(tc, creation_refusals);
    tcase_add_loop_test(tc, overlap_rule, 0, sizeof(overlap_cases) / sizeof(overlap_cases[0]));
    tcase_add_test(tc, drop_ends_the_window);
    tcase_add_test(tc, kernel_windows_are_not_registered);
    tcase_add_test(tc, spaces_do_not_exclude_each_other);
    tcase_add_test(tc, table_full);
    tcase_add_test(tc, exception_table);
    suite_add_tcase(s, tc);
    check_plan_add(plan, s);
    return CHECK_RUN;
}
