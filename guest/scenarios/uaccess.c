/*
 * scenario uaccess: every contract of VmReader / VmWriter
 * (include/guest/uaccess.h), one named check each (docs/guest-user.md).
 *
 * The space's user pages, from BASE:
 *   page 0, 1   read + write
 *   page 2      read-only
 *   page 3      unmapped
 *   page 4      read + write
 * Fault cases: the first byte faults; a copy that starts mid-page and runs
 * into a fault; a copy that faults at a page boundary after a full page; a
 * writer running into the read-only page; fill_zeros and write_val across
 * it. Creation cases: len 0, vaddr 0, ranges reaching into kernel space or
 * wrapping, a space not active on this CPU. Every partial copy must report
 * exactly the bytes that are in place, advance both cursors by that, and
 * leave everything after them untouched.
 */
#include "guest/layout.h"
#include "guest/printf.h"
#include "guest/scenario.h"
#include "guest/string.h"
#include "guest/uaccess.h"
#include "guest/user_task.h"
#include "guest/vmspace.h"
#include "user_check.h"

#define BASE 0x20000000ull
#define PG(i) (BASE + (uint64_t)(i) * PAGE_SIZE)

static uint8_t kbuf[3 * PAGE_SIZE], pattern[3 * PAGE_SIZE];

/* A reader of len bytes at va, or a failed check. */
static bool reader_at(struct vm_space *vs, uint64_t va, size_t len, struct vm_reader *r)
{
    int err = vm_space_reader(vs, va, len, r);
    if (err)
        ucheck("uaccess.setup", false, "reader %#llx+%zu: error %d", (unsigned long long)va, len,
               err);
    return err == 0;
}

static bool writer_at(struct vm_space *vs, uint64_t va, size_t len, struct vm_writer *w)
{
    int err = vm_space_writer(vs, va, len, w);
    if (err)
        ucheck("uaccess.setup", false, "writer %#llx+%zu: error %d", (unsigned long long)va, len,
               err);
    return err == 0;
}

/* Read len bytes at va into kbuf (after filling it with 0xee); returns the
 * error and sets *copied; checks the cursors moved by exactly *copied. */
static int read_user(struct vm_space *vs, uint64_t va, size_t len, size_t *copied, bool *cursors_ok)
{
    struct vm_reader r;
    memset(kbuf, 0xee, sizeof(kbuf));
    if (!reader_at(vs, va, len, &r))
        return -999;
    struct vm_writer w = vm_writer_from_kernel(kbuf, len);
    int err = vm_reader_read(&r, &w, copied);
    *cursors_ok = r.cursor == va + *copied && w.cursor == (uint64_t)(uintptr_t)kbuf + *copied;
    return err;
}

/* kbuf[from, to) all 0xee (untouched by a copy)? */
static bool untouched(size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        if (kbuf[i] != 0xee)
            return false;
    return true;
}

static void read_case(struct vm_space *vs, const char *name, uint64_t va, size_t len,
                      size_t want_copied, size_t pattern_off)
{
    size_t copied = 0;
    bool cursors_ok = false;
    int err = read_user(vs, va, len, &copied, &cursors_ok);
    bool data_ok = memcmp(kbuf, pattern + pattern_off, copied) == 0 && untouched(copied, len);
    ucheck(name, err == UA_EFAULT && copied == want_copied && cursors_ok && data_ok,
           "error %d (expected %d), %zu of %zu bytes copied (expected %zu), cursors %s, data %s",
           err, UA_EFAULT, copied, len, want_copied, cursors_ok ? "ok" : "WRONG",
           data_ok ? "ok" : "WRONG");
}

/* Fill pages 0..2 with `pattern` (page 2 through the linear map: it is
 * read-only to everyone else). */
static bool fill(struct vm_space *vs)
{
    struct vm_writer w;
    size_t copied = 0;
    if (!writer_at(vs, PG(0), 2 * PAGE_SIZE, &w))
        return false;
    struct vm_reader kr = vm_reader_from_kernel(pattern, 2 * PAGE_SIZE);
    int err = vm_writer_write(&w, &kr, &copied);
    struct vm_cursor c;
    struct vm_query q;
    bool ro_ok = vm_space_cursor(vs, PG(2), PG(3), &c) == 0;
    if (ro_ok) {
        ro_ok = vm_cursor_query(&c, &q) == 0 && q.mapped;
        vm_cursor_drop(&c);
    }
    if (ro_ok)
        memcpy(phys_to_virt(q.pa), pattern + 2 * PAGE_SIZE, PAGE_SIZE);
    return ucheck("uaccess.write-full", err == UA_OK && copied == 2 * PAGE_SIZE && ro_ok,
                  "error %d, %zu of %d bytes into two RW pages; read-only page filled: %s", err,
                  copied, 2 * PAGE_SIZE, ro_ok ? "yes" : "NO");
}

static void reader_cases(struct vm_space *vs)
{
    size_t copied = 0;
    bool cursors_ok = false;
    int err = read_user(vs, PG(0), 3 * PAGE_SIZE, &copied, &cursors_ok);
    ucheck("uaccess.read-full", err == UA_OK && copied == 3 * PAGE_SIZE && cursors_ok &&
                                    memcmp(kbuf, pattern, sizeof(pattern)) == 0,
           "error %d, %zu of %d bytes (RW, RW, read-only pages), data %s", err, copied,
           3 * PAGE_SIZE, memcmp(kbuf, pattern, sizeof(pattern)) ? "WRONG" : "ok");
    read_case(vs, "uaccess.read-fault-first-byte", PG(3), 64, 0, 0);
    read_case(vs, "uaccess.read-fault-mid-page", PG(2) + 0x800, PAGE_SIZE, 0x800,
              2 * PAGE_SIZE + 0x800);
    read_case(vs, "uaccess.read-fault-after-full-page", PG(2), 2 * PAGE_SIZE, PAGE_SIZE,
              2 * PAGE_SIZE);
    read_case(vs, "uaccess.read-fault-last-byte", PG(3) - 1, 2, 1, 3 * PAGE_SIZE - 1);
}

/* A writer from page 1 + off into the read-only page 2. */
static void writer_case(struct vm_space *vs, const char *name, uint64_t va, size_t len,
                        size_t want)
{
    static uint8_t src[2 * PAGE_SIZE];
    struct vm_writer w = { 0, 0, false };
    size_t copied = 99999;
    memset(src, 0x3c, sizeof(src));
    if (!writer_at(vs, va, len, &w))
        return;
    struct vm_reader kr = vm_reader_from_kernel(src, len);
    int err = vm_writer_write(&w, &kr, &copied);
    bool cursors_ok = w.cursor == va + copied && kr.cursor == (uint64_t)(uintptr_t)src + copied;
    /* What landed, and that the read-only page kept the pattern. */
    bool landed_ok = false;
    size_t c2;
    bool c_ok;
    if (read_user(vs, va, len, &c2, &c_ok) == UA_OK || c2 >= copied) {
        landed_ok = true;
        for (size_t i = 0; i < copied; i++)
            landed_ok = landed_ok && kbuf[i] == 0x3c;
    }
    bool ro_kept = read_user(vs, PG(2), PAGE_SIZE, &c2, &c_ok) == UA_OK &&
                   memcmp(kbuf, pattern + 2 * PAGE_SIZE, PAGE_SIZE) == 0;
    ucheck(name, err == UA_EFAULT && copied == want && cursors_ok && landed_ok && ro_kept,
           "error %d (expected %d), %zu of %zu bytes (expected %zu), cursors %s, written bytes "
           "%s, read-only page %s", err, UA_EFAULT, copied, len, want,
           cursors_ok ? "ok" : "WRONG", landed_ok ? "ok" : "WRONG",
           ro_kept ? "unchanged" : "CHANGED");
}

static void writer_cases(struct vm_space *vs)
{
    writer_case(vs, "uaccess.write-read-only-first-byte", PG(2), 64, 0);
    writer_case(vs, "uaccess.write-into-read-only-mid-copy", PG(1) + PAGE_SIZE - 0x100, 0x200,
                0x100);
    writer_case(vs, "uaccess.write-fault-after-full-page", PG(1), 2 * PAGE_SIZE, PAGE_SIZE);
}

static void value_cases(struct vm_space *vs)
{
    struct vm_writer w = { 0, 0, false };
    struct vm_reader r = { 0, 0, false };
    uint64_t v = 0x0123456789abcdefull, got = 0;
    int err = -999, err2 = -999;
    if (writer_at(vs, PG(2) - 4, 64, &w))
        err = vm_writer_write_val(&w, &v, sizeof(v));
    ucheck("uaccess.write-val-across-read-only", err == UA_EFAULT && w.cursor == PG(2) - 4,
           "error %d (expected %d), cursor moved by %lld", err, UA_EFAULT,
           (long long)(w.cursor - (PG(2) - 4)));
    if (reader_at(vs, PG(0), 4, &r))
        err = vm_reader_read_val(&r, &got, sizeof(got));
    ucheck("uaccess.read-val-too-short", err == UA_EINVAL && r.cursor == PG(0) && got == 0,
           "error %d (expected %d) with 4 bytes left for 8", err, UA_EINVAL);
    if (reader_at(vs, PG(3) - 4, 8, &r))
        err = vm_reader_read_val(&r, &got, sizeof(got));
    ucheck("uaccess.read-val-across-unmapped", err == UA_EFAULT && r.cursor == PG(3) - 4,
           "error %d (expected %d), cursor moved by %lld", err, UA_EFAULT,
           (long long)(r.cursor - (PG(3) - 4)));
    size_t done = 99999;
    if (writer_at(vs, PG(1) + PAGE_SIZE - 100, 300, &w))
        err2 = vm_writer_fill_zeros(&w, 300, &done);
    ucheck("uaccess.fill-zeros-into-read-only", err2 == UA_EFAULT && done == 100 &&
                                                   w.cursor == PG(2),
           "error %d, %zu of 300 bytes zeroed (expected 100)", err2, done);
}

static void empty_cases(struct vm_space *vs)
{
    struct vm_reader r;
    struct vm_writer w;
    int e1 = vm_space_reader(vs, PG(0), 0, &r), e2 = vm_space_writer(vs, PG(0), 0, &w);
    ucheck("uaccess.len-0-refused", e1 == UA_EINVAL && e2 == UA_EINVAL,
           "reader %d, writer %d (expected %d: the seed requires len > 0)", e1, e2, UA_EINVAL);
    e1 = vm_space_reader(vs, 0, 16, &r);
    e2 = vm_space_writer(vs, 0, 16, &w);
    ucheck("uaccess.vaddr-0-refused", e1 == UA_EINVAL && e2 == UA_EINVAL,
           "reader %d, writer %d (expected %d: the seed requires vaddr != 0)", e1, e2, UA_EINVAL);
    /* A copy of zero bytes (the kernel side has no room): nothing is
     * touched, even on an unmapped page. */
    size_t copied = 99999;
    int err = -999;
    if (reader_at(vs, PG(3), 16, &r)) {
        struct vm_writer kw = vm_writer_from_kernel(kbuf, 0);
        err = vm_reader_read(&r, &kw, &copied);
    }
    ucheck("uaccess.copy-0-bytes", err == UA_OK && copied == 0 && r.cursor == PG(3),
           "error %d, %zu bytes copied from an unmapped page with no room (expected 0, 0)", err,
           copied);
}

static void range_cases(struct vm_space *vs)
{
    static const struct {
        const char *name;
        uint64_t va, len;
    } bad[] = {
        { "uaccess.range-into-kernel-refused", USER_VA_END - 16, 32 },
        { "uaccess.range-at-user-end-refused", USER_VA_END, 8 },
        { "uaccess.range-kernel-address-refused", 0xffff800000000000ull, 8 },
        { "uaccess.range-wrapping-refused", 0xfffffffffffff000ull, 0x2000 },
        { "uaccess.range-huge-len-refused", PG(0), ~0ull },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct vm_reader r = { 1, 2, false };
        struct vm_writer w = { 1, 2, false };
        int e1 = vm_space_reader(vs, bad[i].va, bad[i].len, &r);
        int e2 = vm_space_writer(vs, bad[i].va, bad[i].len, &w);
        ucheck(bad[i].name, e1 == UA_EACCES && e2 == UA_EACCES && r.cursor == 1 && w.cursor == 1,
               "[%#llx, +%#llx): reader %d, writer %d (expected %d), outputs untouched: %s",
               (unsigned long long)bad[i].va, (unsigned long long)bad[i].len, e1, e2, UA_EACCES,
               r.cursor == 1 && w.cursor == 1 ? "yes" : "NO");
    }
    struct vm_reader r;
    int e = vm_space_reader(vs, USER_VA_END - 16, 16, &r);
    ucheck("uaccess.range-up-to-user-end-allowed", e == UA_OK, "reader [end-16, end): %d", e);
}

static void activity_cases(struct vm_space *vs)
{
    struct vm_space *other = ucheck_space("uaccess-other");
    struct vm_reader r;
    struct vm_writer w;
    int e1 = vm_space_reader(other, BASE, 16, &r), e2 = vm_space_writer(other, BASE, 16, &w);
    ucheck("uaccess.space-not-active-refused", e1 == UA_ENOTACTIVE && e2 == UA_ENOTACTIVE,
           "a space never activated: reader %d, writer %d (expected %d)", e1, e2, UA_ENOTACTIVE);
    vm_space_activate(NULL);
    e1 = vm_space_reader(vs, BASE, 16, &r);
    e2 = vm_space_writer(vs, BASE, 16, &w);
    ucheck("uaccess.space-deactivated-refused", e1 == UA_ENOTACTIVE && e2 == UA_ENOTACTIVE,
           "after activating the kernel table: reader %d, writer %d (expected %d)", e1, e2,
           UA_ENOTACTIVE);
    vm_space_activate(other);
    e1 = vm_space_reader(vs, BASE, 16, &r);
    ucheck("uaccess.other-space-active-refused", e1 == UA_ENOTACTIVE,
           "another space active here: reader %d (expected %d)", e1, UA_ENOTACTIVE);
    e1 = vm_space_reader(NULL, BASE, 16, &r);
    ucheck("uaccess.null-space-refused", e1 == UA_ENOTACTIVE, "reader %d", e1);
    vm_space_activate(vs);
    vm_space_destroy(other);
}

int scenario_uaccess(void)
{
    ucheck_reset();
    for (size_t i = 0; i < sizeof(pattern); i++)
        pattern[i] = (uint8_t)(i * 131 + (i >> 8) + 7);
    struct vm_space *vs = ucheck_space("uaccess");
    int err = user_map_zeroed(vs, PG(0), 2, PT_RW);
    if (err == 0)
        err = user_map_zeroed(vs, PG(2), 1, PT_R);
    if (err == 0)
        err = user_map_zeroed(vs, PG(4), 1, PT_RW);
    vm_space_activate(vs);
    if (ucheck("uaccess.setup", err == 0, "pages mapped: error %d", err) && fill(vs)) {
        reader_cases(vs);
        writer_cases(vs);
        value_cases(vs);
        empty_cases(vs);
        range_cases(vs);
        activity_cases(vs);
    }
    ucheck_destroy("uaccess.space-destroyed", &vs, 1);
    return ucheck_finish("uaccess");
}
