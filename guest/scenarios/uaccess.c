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
 * wrapping, a space not active on this CPU, windows the seed's exclusion
 * rule forbids, a full window table; a space with a live window cannot be
 * destroyed. Every partial copy must report
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
    vm_reader_drop(&r);
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
    vm_writer_drop(&w);
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
    struct vm_writer w = { .cursor = 0 };
    size_t copied = 99999;
    memset(src, 0x3c, sizeof(src));
    if (!writer_at(vs, va, len, &w))
        return;
    struct vm_reader kr = vm_reader_from_kernel(src, len);
    int err = vm_writer_write(&w, &kr, &copied);
    bool cursors_ok = w.cursor == va + copied && kr.cursor == (uint64_t)(uintptr_t)src + copied;
    vm_writer_drop(&w);                 /* before the read-back: it overlaps */
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
    struct vm_writer w = { .cursor = 0 };
    struct vm_reader r = { .cursor = 0 };
    uint64_t v = 0x0123456789abcdefull, got = 0;
    int err = -999, err2 = -999;
    if (writer_at(vs, PG(2) - 4, 64, &w))
        err = vm_writer_write_val(&w, &v, sizeof(v));
    ucheck("uaccess.write-val-across-read-only", err == UA_EFAULT && w.cursor == PG(2) - 4,
           "error %d (expected %d), cursor moved by %lld", err, UA_EFAULT,
           (long long)(w.cursor - (PG(2) - 4)));
    vm_writer_drop(&w);
    if (reader_at(vs, PG(0), 4, &r))
        err = vm_reader_read_val(&r, &got, sizeof(got));
    ucheck("uaccess.read-val-too-short", err == UA_EINVAL && r.cursor == PG(0) && got == 0,
           "error %d (expected %d) with 4 bytes left for 8", err, UA_EINVAL);
    vm_reader_drop(&r);
    if (reader_at(vs, PG(3) - 4, 8, &r))
        err = vm_reader_read_val(&r, &got, sizeof(got));
    ucheck("uaccess.read-val-across-unmapped", err == UA_EFAULT && r.cursor == PG(3) - 4,
           "error %d (expected %d), cursor moved by %lld", err, UA_EFAULT,
           (long long)(r.cursor - (PG(3) - 4)));
    vm_reader_drop(&r);
    size_t done = 99999;
    if (writer_at(vs, PG(1) + PAGE_SIZE - 100, 300, &w))
        err2 = vm_writer_fill_zeros(&w, 300, &done);
    ucheck("uaccess.fill-zeros-into-read-only", err2 == UA_EFAULT && done == 100 &&
                                                   w.cursor == PG(2),
           "error %d, %zu of 300 bytes zeroed (expected 100)", err2, done);
    vm_writer_drop(&w);
}

static void empty_cases(struct vm_space *vs)
{
    struct vm_reader r = { .cursor = 0 };
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
    vm_reader_drop(&r);
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
        struct vm_reader r = { .cursor = 1, .end = 2 };
        struct vm_writer w = { .cursor = 1, .end = 2 };
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
    if (e == UA_OK)
        vm_reader_drop(&r);
}

/* The seed's exclusion rule, on page 0 (all windows dropped at the end, so
 * the space's table is empty again):
 *   R1 [64, 192)  R2 [128, 256)   two overlapping readers: allowed
 *   W  [0, 64)                     touches R1: allowed
 *   [190, 200) as a writer: overlaps R1 and R2; [32, 40) as a reader or a
 *   writer: overlaps W.  Refused, each leaving its output untouched. */
static void overlap_cases(struct vm_space *vs)
{
    struct vm_reader r1 = { .cursor = 0 }, r2 = { .cursor = 0 };
    struct vm_reader rx = { .cursor = 1, .end = 2 };
    struct vm_writer w = { .cursor = 0 }, wx = { .cursor = 1, .end = 2 };
    int e1 = vm_space_reader(vs, PG(0) + 64, 128, &r1);
    int e2 = vm_space_reader(vs, PG(0) + 128, 128, &r2);
    ucheck("uaccess.reader-reader-overlap-allowed", e1 == UA_OK && e2 == UA_OK,
           "readers [64, 192) and [128, 256): %d, %d (expected 0, 0)", e1, e2);
    e1 = vm_space_writer(vs, PG(0) + 190, 10, &wx);
    ucheck("uaccess.writer-over-readers-refused", e1 == UA_EBUSY && wx.cursor == 1,
           "writer [190, 200) over two live readers: %d (expected %d), output untouched: %s",
           e1, UA_EBUSY, wx.cursor == 1 ? "yes" : "NO");
    e1 = vm_space_writer(vs, PG(0), 64, &w);
    ucheck("uaccess.touching-windows-allowed", e1 == UA_OK,
           "writer [0, 64) touching reader [64, 192): %d (expected 0)", e1);
    e1 = vm_space_reader(vs, PG(0) + 32, 8, &rx);
    e2 = vm_space_writer(vs, PG(0) + 32, 8, &wx);
    ucheck("uaccess.over-live-writer-refused",
           e1 == UA_EBUSY && e2 == UA_EBUSY && rx.cursor == 1 && wx.cursor == 1,
           "reader %d, writer %d over writer [0, 64) (expected %d, %d), outputs untouched: %s",
           e1, e2, UA_EBUSY, UA_EBUSY, rx.cursor == 1 && wx.cursor == 1 ? "yes" : "NO");
    /* The writer dropped: the same reader is allowed now, and the dropped
     * window moves nothing any more. */
    struct vm_reader kr = vm_reader_from_kernel(pattern, 64);
    size_t copied = 99999;
    e1 = vm_writer_drop(&w);
    e2 = vm_writer_write(&w, &kr, &copied);
    int e3 = vm_space_reader(vs, PG(0) + 32, 8, &rx);
    ucheck("uaccess.drop-then-recreate-allowed",
           e1 == UA_OK && e2 == UA_OK && copied == 0 && e3 == UA_OK,
           "drop %d, copy through the dropped writer %d with %zu bytes (expected 0, 0), reader "
           "after the drop %d (expected 0)", e1, e2, copied, e3);
    vm_reader_drop(&rx);
    vm_reader_drop(&r1);
    vm_reader_drop(&r2);
    unsigned live = vm_io_windows_live(&vs->io_windows);
    e1 = vm_space_writer(vs, PG(0), 4 * PAGE_SIZE, &w);
    ucheck("uaccess.refusals-left-nothing", live == 0 && e1 == UA_OK,
           "%u window(s) live after dropping all (expected 0), writer over pages 0-3: %d", live,
           e1);
    vm_writer_drop(&w);
}

/* VM_IO_WINDOWS_MAX readers (readers may overlap) fill the table; one more
 * is refused with its own error until one is dropped. */
static void table_full_case(struct vm_space *vs)
{
    static struct vm_reader r[VM_IO_WINDOWS_MAX];
    struct vm_reader extra;
    unsigned made = 0;
    while (made < VM_IO_WINDOWS_MAX && vm_space_reader(vs, PG(0), 16, &r[made]) == UA_OK)
        made++;
    unsigned filled = made;
    int full = vm_space_reader(vs, PG(0), 16, &extra);
    if (full == UA_OK)
        vm_reader_drop(&extra);
    int after_drop = -999;
    if (made > 0) {
        vm_reader_drop(&r[--made]);
        after_drop = vm_space_reader(vs, PG(0), 16, &r[made]);
        made += after_drop == UA_OK;
    }
    while (made > 0)
        vm_reader_drop(&r[--made]);
    ucheck("uaccess.window-table-full",
           filled == VM_IO_WINDOWS_MAX && full == UA_EMFILE && after_drop == UA_OK,
           "%u of %d readers made, one more: %d (expected %d); after one drop: %d (expected 0)",
           filled, VM_IO_WINDOWS_MAX, full, UA_EMFILE, after_drop);
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
    /* A window left live while its space is active nowhere (breaking the
     * lifetime rule on purpose): only the window table stops the destroy
     * from freeing the page table under it. */
    vm_space_activate(other);
    e1 = vm_space_reader(other, BASE, 16, &r);
    vm_space_activate(vs);
    e2 = vm_space_destroy(other);
    bool gone = e2 == 0;                      /* refused wrongly: r's table is freed */
    int e3 = e1 == UA_OK && !gone ? vm_reader_drop(&r) : -999;
    int e4 = gone ? -999 : vm_space_destroy(other);
    ucheck("uaccess.destroy-with-live-window-refused",
           e1 == UA_OK && e2 == VM_ERR_WINDOWS_LIVE && e3 == UA_OK && e4 == 0,
           "reader %d, destroy with it live %d (expected %d), drop %d, destroy after %d", e1, e2,
           VM_ERR_WINDOWS_LIVE, e3, e4);
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
        overlap_cases(vs);
        table_full_case(vs);
        activity_cases(vs);
    }
    ucheck_destroy("uaccess.space-destroyed", &vs, 1);
    return ucheck_finish("uaccess");
}
