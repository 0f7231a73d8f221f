/*
 * VmReader / VmWriter (include/guest/uaccess.h): creation checks and
 * registration (the table itself: mm/vm_io_windows.c), drop, the copies,
 * and the #PF hook that turns a fault inside a copy into a short
 * copy.
 */
#include "guest/uaccess.h"

#include "guest/arch.h"
#include "guest/extable.h"
#include "guest/string.h"
#include "guest/user.h"
#include "guest/vmspace.h"

/* The seed's reader_requires / writer_requires, in a fixed order so that
 * each refusal has one reason. */
static int check_user_window(struct vm_space *vs, uint64_t va, size_t len)
{
    if (va == 0 || len == 0)
        return UA_EINVAL;
    if (len > USER_VA_END || va > USER_VA_END - len)
        return UA_EACCES;
    /* The seed's current_page_table_paddr() == pt.root_paddr(): CR3 itself,
     * not only the bookkeeping, so a stale activation is caught too. */
    if (!vs || vm_space_current() != vs || (read_cr3() & ~0xfffull) != vm_space_root(vs))
        return UA_ENOTACTIVE;
    return UA_OK;
}

/* The checks, then the seed's can_create_reader / can_create_writer
 * against the space's live windows, registering the new one in the same
 * step. */
static int open_user_window(struct vm_space *vs, uint64_t va, size_t len, bool writer,
                            struct vm_io_ticket *tk)
{
    int err = check_user_window(vs, va, len);
    if (err == UA_OK)
        err = vm_io_windows_add(&vs->io_windows, va, va + len, writer, tk);
    return err;
}

int vm_space_reader(struct vm_space *vs, uint64_t va, size_t len, struct vm_reader *out)
{
    struct vm_io_ticket tk;
    int err = open_user_window(vs, va, len, false, &tk);
    if (err == UA_OK)
        *out = (struct vm_reader){ va, va + len, true, tk };
    return err;
}

int vm_space_writer(struct vm_space *vs, uint64_t va, size_t len, struct vm_writer *out)
{
    struct vm_io_ticket tk;
    int err = open_user_window(vs, va, len, true, &tk);
    if (err == UA_OK)
        *out = (struct vm_writer){ va, va + len, true, tk };
    return err;
}

/* Emptied whatever the outcome: a dropped window must not copy again. */
int vm_reader_drop(struct vm_reader *r)
{
    r->cursor = r->end;
    return vm_io_windows_remove(&r->reg);
}

int vm_writer_drop(struct vm_writer *w)
{
    w->cursor = w->end;
    return vm_io_windows_remove(&w->reg);
}

struct vm_reader vm_reader_from_kernel(const void *p, size_t len)
{
    uint64_t a = (uint64_t)(uintptr_t)p;
    return (struct vm_reader){ .cursor = a, .end = a + len, .fallible = false };
}

struct vm_writer vm_writer_from_kernel(void *p, size_t len)
{
    uint64_t a = (uint64_t)(uintptr_t)p;
    return (struct vm_writer){ .cursor = a, .end = a + len, .fallible = false };
}

/* Copy n bytes; a kernel-to-kernel copy cannot fault and uses memcpy. */
static size_t copy_bytes(uint64_t dst, uint64_t src, size_t n, bool fallible)
{
    if (!fallible) {
        memcpy((void *)(uintptr_t)dst, (const void *)(uintptr_t)src, n);
        return n;
    }
    return n - memcpy_fallible((void *)(uintptr_t)dst, (const void *)(uintptr_t)src, n);
}

int vm_reader_read(struct vm_reader *r, struct vm_writer *w, size_t *copied)
{
    size_t n = vm_reader_remain(r) < vm_writer_avail(w) ? vm_reader_remain(r)
                                                       : vm_writer_avail(w);
    size_t done = n ? copy_bytes(w->cursor, r->cursor, n, r->fallible || w->fallible) : 0;
    r->cursor += done;
    w->cursor += done;
    if (copied)
        *copied = done;
    return done == n ? UA_OK : UA_EFAULT;
}

int vm_reader_read_val(struct vm_reader *r, void *val, size_t size)
{
    if (vm_reader_remain(r) < size)
        return UA_EINVAL;
    if (copy_bytes((uint64_t)(uintptr_t)val, r->cursor, size, r->fallible) != size)
        return UA_EFAULT;
    r->cursor += size;
    return UA_OK;
}

int vm_writer_write_val(struct vm_writer *w, const void *val, size_t size)
{
    if (vm_writer_avail(w) < size)
        return UA_EINVAL;
    if (copy_bytes(w->cursor, (uint64_t)(uintptr_t)val, size, w->fallible) != size)
        return UA_EFAULT;
    w->cursor += size;
    return UA_OK;
}

int vm_writer_fill_zeros(struct vm_writer *w, size_t len, size_t *done)
{
    size_t n = len < vm_writer_avail(w) ? len : vm_writer_avail(w), z = n;
    if (n && w->fallible)
        z = n - memset_fallible((void *)(uintptr_t)w->cursor, 0, n);
    else if (n)
        memset((void *)(uintptr_t)w->cursor, 0, n);
    w->cursor += z;
    if (done)
        *done = z;
    return z == n ? UA_OK : UA_EFAULT;
}

bool uaccess_fixup_page_fault(uint64_t fault_va, uint64_t error_code, uint64_t *rip)
{
    if (fault_va >= USER_VA_END)
        return false;
    uint64_t fixup = extable_search(*rip);
    if (!fixup)
        return false;
    /* OSTD's handle_user_page_fault: the space's handler may map the page
     * on demand; then the copy instruction is simply retried. */
    if (vm_space_handle_page_fault(fault_va, error_code))
        return true;
    *rip = fixup;
    return true;
}
