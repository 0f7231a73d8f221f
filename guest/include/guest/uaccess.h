/*
 * VmReader / VmWriter: fallible copies between kernel and user memory
 * (OSTD's ostd/src/mm/io.rs; the seed's VmSpace::reader / ::writer).
 *
 * A reader is a window [cursor, end) of memory to read from, a writer one to
 * write into; each copy advances both windows by what it moved. Windows made
 * by vm_space_reader / vm_space_writer cover user memory and are *fallible*:
 * a copy that meets an unmapped or protected user page stops there, reports
 * how many bytes it moved, and returns UA_EFAULT. The fault never reaches
 * the VMM: the copy instruction has an exception-table entry
 * (include/guest/extable.h), and the #PF handler first asks the active
 * space's page-fault handler (vm_space_handle_page_fault) -- which may map
 * the page on demand, in which case the copy simply continues -- and
 * otherwise resumes at the fix-up.
 *
 * Windows made from kernel pointers (vm_reader_from_kernel /
 * vm_writer_from_kernel) are infallible: the caller vouches for them.
 *
 * Lifetime rule (the seed's "no other page table is activated during the
 * lifetime of the reader/writer"): between creating a user window and its
 * last copy, the calling CPU must not activate another space and must stay
 * on this CPU (no migration: the guest has no scheduler that could move it).
 */
#ifndef GUEST_UACCESS_H
#define GUEST_UACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Results (negative errno values, the same numbers user code sees). */
#define UA_OK        0
#define UA_ENOTACTIVE (-1)   /* EPERM: the space is not active on this CPU */
#define UA_EACCES   (-13)    /* the range is not (entirely) user space */
#define UA_EFAULT   (-14)    /* a copy met an unmapped or protected page */
#define UA_EINVAL   (-22)    /* vaddr 0, len 0, or fewer bytes left than asked */

struct vm_reader {
    uint64_t cursor, end;
    bool fallible;           /* user memory: copies go through the ex-table */
};

struct vm_writer {
    uint64_t cursor, end;
    bool fallible;
};

struct vm_space;

/*
 * vm_space_reader / vm_space_writer: a window on user range [va, va+len)
 * of `vs` (the seed's VmSpace::reader / ::writer).
 * Requires (each checked, in this order, nothing created on failure):
 *   va != 0 and len > 0                              else UA_EINVAL
 *   va + len <= USER_VA_END without wrapping, i.e.
 *   the range lies in user space, none of it kernel  else UA_EACCES
 *   vs is the space active on this CPU (CR3 == its root)  else UA_ENOTACTIVE
 * Guarantees on UA_OK: *out = { va, va + len, fallible }. No page is
 *   touched: faults are found by the copies, lazily.
 */
int vm_space_reader(struct vm_space *vs, uint64_t va, size_t len, struct vm_reader *out);
int vm_space_writer(struct vm_space *vs, uint64_t va, size_t len, struct vm_writer *out);

/* Infallible windows on kernel memory. Requires: [p, p+len) is mapped kernel
 * memory (readable / writable) for as long as the window is used. */
struct vm_reader vm_reader_from_kernel(const void *p, size_t len);
struct vm_writer vm_writer_from_kernel(void *p, size_t len);

static inline size_t vm_reader_remain(const struct vm_reader *r) { return r->end - r->cursor; }
static inline size_t vm_writer_avail(const struct vm_writer *w) { return w->end - w->cursor; }

/*
 * vm_reader_read: copy n = min(remain(r), avail(w)) bytes from r into w
 * (OSTD's read_fallible / write_fallible; one function serves both
 * directions, either side may be fallible).
 * Guarantees: *copied (may be NULL) = bytes moved; both cursors advanced by
 *   exactly that; returns UA_OK iff *copied == n (n == 0 included: nothing
 *   is touched), UA_EFAULT if a fallible side faulted after *copied bytes
 *   (those bytes are in place; nothing after them was written).
 */
int vm_reader_read(struct vm_reader *r, struct vm_writer *w, size_t *copied);

/* vm_writer_write: the same copy seen from the writer (OSTD's write_fallible). */
static inline int vm_writer_write(struct vm_writer *w, struct vm_reader *r, size_t *copied)
{
    return vm_reader_read(r, w, copied);
}

/*
 * vm_reader_read_val / vm_writer_write_val: exactly `size` bytes, or
 * nothing: UA_EINVAL (cursor unchanged) if fewer than `size` remain;
 * UA_EFAULT (cursor unchanged, the destination possibly partly written) on
 * a fault; UA_OK and the cursor advanced by `size` otherwise.
 */
int vm_reader_read_val(struct vm_reader *r, void *val, size_t size);
int vm_writer_write_val(struct vm_writer *w, const void *val, size_t size);

/*
 * vm_writer_fill_zeros: zero min(len, avail(w)) bytes; *done (may be NULL)
 * gets how many were zeroed, the cursor advances by that; UA_EFAULT if a
 * fault stopped it early.
 */
int vm_writer_fill_zeros(struct vm_writer *w, size_t len, size_t *done);

/*
 * uaccess_fixup_page_fault: the #PF path's hook for faults taken in ring 0
 * (arch/x86/trap.c). If `fault_va` is a user address and `*rip` is an
 * exception-table instruction: ask the active space's fault handler, and
 * return true with *rip unchanged if it resolved the fault (the
 * instruction is retried), else set *rip to the fix-up and return true.
 * Returns false (a kernel bug: report it) otherwise.
 */
bool uaccess_fixup_page_fault(uint64_t fault_va, uint64_t error_code, uint64_t *rip);

/* The primitives (arch/x86/uaccess.S): return the bytes NOT done. */
size_t memcpy_fallible(void *dst, const void *src, size_t len);
size_t memset_fallible(void *dst, int byte, size_t len);

#endif /* GUEST_UACCESS_H */
