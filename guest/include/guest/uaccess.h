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
 * Lifetime: a user window lives from vm_space_reader / vm_space_writer to
 * vm_reader_drop / vm_writer_drop, and is registered in its space for that
 * long (include/guest/vm_io_windows.h), so that the seed's exclusion rule
 * holds on every CPU: a reader never overlaps a live writer, a writer never
 * overlaps a live reader or writer. The seed's "no other page table is
 * activated during the lifetime of the reader/writer" stays the caller's
 * duty: between creating a user window and dropping it, the calling CPU
 * must not activate another space and must stay on this CPU (no migration:
 * the guest has no scheduler that could move it).
 */
#ifndef GUEST_UACCESS_H
#define GUEST_UACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest/vm_io_windows.h"

/* Results (negative errno values, the same numbers user code sees). */
#define UA_OK        0
#define UA_ENOTACTIVE (-1)   /* EPERM: the space is not active on this CPU */
#define UA_EACCES   (-13)    /* the range is not (entirely) user space */
#define UA_EFAULT   (-14)    /* a copy met an unmapped or protected page */
#define UA_EBUSY    (-16)    /* a live window of the space forbids this one */
#define UA_EINVAL   (-22)    /* vaddr 0, len 0, fewer bytes left than asked,
                                or the drop of a stale copy of a window */
#define UA_EMFILE   (-24)    /* the space has VM_IO_WINDOWS_MAX live windows */

struct vm_reader {
    uint64_t cursor, end;
    bool fallible;           /* user memory: copies go through the ex-table */
    struct vm_io_ticket reg; /* user memory: its registration in the space */
};

struct vm_writer {
    uint64_t cursor, end;
    bool fallible;
    struct vm_io_ticket reg;
};

struct vm_space;

/*
 * vm_space_reader / vm_space_writer: a window on user range [va, va+len)
 * of `vs` (the seed's VmSpace::reader / ::writer), live until
 * vm_reader_drop / vm_writer_drop.
 * Requires (the seed's reader_requires / writer_requires; each checked, in
 * this order; on failure nothing is created or registered and *out is
 * untouched):
 *   va != 0 and len > 0                              else UA_EINVAL
 *   va + len <= USER_VA_END without wrapping, i.e.
 *   the range lies in user space, none of it kernel  else UA_EACCES
 *   vs is the space active on this CPU (CR3 == its root)  else UA_ENOTACTIVE
 *   reader: vs has no live writer overlapping [va, va+len);
 *   writer: vs has no live reader or writer overlapping it (the seed: "must
 *   not have any active writers" / "any active readers or writers"
 *   overlapping the range; touching ranges do not overlap)  else UA_EBUSY
 *   fewer than VM_IO_WINDOWS_MAX windows live on vs  else UA_EMFILE
 * Guarantees on UA_OK: *out = { va, va + len, fallible }, registered in vs
 *   next to its other live windows, which are unchanged (the seed's
 *   reader_ensures / writer_ensures). The seed counts a window against the
 *   rule once its owner activates it (activate_reader / activate_writer);
 *   the guest has no separate activation, so a window counts from its
 *   creation: until it is dropped, windows the rule forbids are refused on
 *   every CPU. No page is touched:
 *   faults are found by the copies, lazily. The check and the registration
 *   are one step under the space's lock: two CPUs cannot both get
 *   overlapping writers.
 * The caller drops every window it created: vm_space_destroy refuses a
 * space with live windows.
 */
int vm_space_reader(struct vm_space *vs, uint64_t va, size_t len, struct vm_reader *out);
int vm_space_writer(struct vm_space *vs, uint64_t va, size_t len, struct vm_writer *out);

/*
 * vm_reader_drop / vm_writer_drop: end the window's lifetime (the seed's
 * drop of a VmReader / VmWriter: its range goes back to the space).
 * Requires: a window from vm_space_reader / vm_space_writer or from kernel
 *   memory (a kernel window, or one dropped already, is not registered:
 *   nothing to do).
 * Guarantees: the window is empty afterwards (remain / avail 0: a later
 *   copy through it moves nothing). UA_OK: it is no longer registered, so
 *   windows it excluded may be created again; UA_EINVAL: it was a stale
 *   copy of a window already dropped through another copy, and the space's
 *   registrations are unchanged.
 */
int vm_reader_drop(struct vm_reader *r);
int vm_writer_drop(struct vm_writer *w);

/* Infallible windows on kernel memory, never registered (the kernel
 * vouches for them; the seed's rule is about user ranges). Requires:
 * [p, p+len) is mapped kernel memory (readable / writable) for as long as
 * the window is used. */
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
