/*
 * VmSpace: user address spaces, a C port of Asterinas OSTD's VmSpace
 * (ostd/src/mm/vm_space.rs) following the seed's semantics (docs/guest-mm.md).
 * It wraps the TLB flusher's VmSpace layer (tlb/include/tlb/flusher_vmspace.h)
 * over the page-table core (pagetable/), on the guest's real page tables.
 *
 * A space's page table shares the kernel half (PML4 256..511) with the
 * kernel page table (pt_create_user_sharing), so every space maps the kernel.
 * The user half is [VM_USER_START, VM_USER_END).
 *
 * Every frame or page-table node that leaves a space's page table (unmap,
 * a replacing map, a reclaimed node) is released only through the flusher's
 * deferred release: after every CPU that may cache it has flushed.
 *
 * Concurrency: cursors on disjoint ranges of one space may live on several
 * CPUs at once; cursors on overlapping ranges are serialised (the later one
 * spins in vm_space_cursor*() until the earlier one is dropped). A cursor is
 * used only on the CPU that created it (its flusher is per-CPU).
 *
 * Accessed and dirty bits (OSTD's PageFlags::ACCESSED / DIRTY): a user
 * mapping carries exactly the caller's property, A and D included. A
 * mapping made without them is tracked by the MMU, which sets A in the leaf
 * on the first access through it and D on the first write (in memory, at
 * any moment, without the kernel's locks); vm_cursor_query reports the bits
 * as they are in the entry, and protect keeps whatever op returns (op sees
 * the bits set so far; bits the MMU sets while op runs are kept too, the
 * core updates live entries with compare-and-exchange). Pass PT_ACCESSED |
 * PT_DIRTY to opt out of tracking (the MMU then never writes the entry).
 * Kernel leaves and table entries keep A (and D for leaves) preset
 * (docs/guest-mm.md "Accessed and dirty bits").
 *
 * Error codes are the negative enum pt_error / enum tlb_error values, plus
 * VM_ERR_READONLY and VM_ERR_WINDOWS_LIVE below; vm_error_name() names any
 * of them.
 */
#ifndef GUEST_VMSPACE_H
#define GUEST_VMSPACE_H

#include <stdbool.h>
#include <stdint.h>

#include "guest/mm.h"
#include "guest/vm_io_windows.h"
#include "tlb/flusher_vmspace.h"

#define VM_USER_START 0x1000ull              /* page 0 is never mapped */
#define VM_USER_END   0x800000000000ull      /* end of the canonical lower half */

/* A mutating operation on a read-only cursor. */
#define VM_ERR_READONLY (-40)
/* vm_space_destroy of a space with VmReader/VmWriter windows still live. */
#define VM_ERR_WINDOWS_LIVE (-41)

/* A short name for any error code the functions below return
 * ("VM_ERR_READONLY", "TLB_ERR_BUSY", "PT_ERR_NOMEM", ...). */
const char *vm_error_name(int err);

struct vm_space;

/*
 * A page-fault handler for one space: called by vm_space_handle_page_fault()
 * on the faulting CPU, with interrupts as the #PF path left them, for a user
 * address of the space active on that CPU. Returns true if it resolved the
 * fault (the faulting access is retried), false if not (the #PF path then
 * treats the fault as unhandled).
 */
typedef bool (*vm_fault_handler_t)(struct vm_space *vs, uint64_t va, uint64_t error_code,
                                   void *arg);

struct vm_space {
    struct tlb_vmspace tvs;          /* page table + CPU set (OSTD: pt, cpus) */
    vm_fault_handler_t fault_fn;     /* NULL: faults are not handled */
    void *fault_arg;
    struct vm_io_windows io_windows; /* live VmReader/VmWriter windows
                                        (include/guest/uaccess.h) */
};

/*
 * vm_space_new: create an empty user address space (OSTD VmSpace::new).
 * Preconditions: mm_init() done (the kernel page table exists).
 * Postconditions: on success, a space mapping nothing in the user half, the
 *   kernel half shared with the kernel page table, active on no CPU, no
 *   fault handler, no live VmReader/VmWriter window.
 * Fails: returns NULL (nothing allocated) when memory for the space or its
 *   root page-table node cannot be had.
 */
struct vm_space *vm_space_new(void);

/*
 * vm_space_destroy: free the space, its page-table nodes, and its references
 * to the frames it still maps.
 * Preconditions: no live cursor on it; no CPU will activate it again.
 * Postconditions: on success the space is gone; frames whose last reference
 *   it held go back to the frame allocator.
 * Fails (nothing done): VM_ERR_WINDOWS_LIVE while a VmReader / VmWriter
 *   on it is live (drop it first); TLB_ERR_BUSY while some CPU still has
 *   it active (activate another space or vm_space_activate(NULL) there
 *   first).
 */
int vm_space_destroy(struct vm_space *vs);

/*
 * vm_space_activate: make `vs` the calling CPU's address space (NULL: the
 * kernel page table alone). OSTD VmSpace::activate, as the seed requires:
 * the CPU joins vs's CPU set (so every later flush of vs reaches it) BEFORE
 * CR3 is written, then leaves the previous space's set after the CR3 load.
 * Preconditions: mm_init() done; vs live (or NULL).
 * Postconditions: CR3 holds vs's root (the kernel root for NULL); this CPU
 *   is in vs's CPU set and in no other space's set. A no-op if vs is already
 *   active here.
 */
void vm_space_activate(struct vm_space *vs);

/* vm_space_current: the space active on the calling CPU, or NULL. */
struct vm_space *vm_space_current(void);

/* vm_space_root: physical address of the space's level-4 node (its CR3). */
uint64_t vm_space_root(const struct vm_space *vs);

/*
 * vm_space_set_fault_handler: attach (fn != NULL) or detach (NULL) the
 * space's page-fault handler. Postconditions: later faults in this space
 * call fn(vs, va, error_code, arg).
 */
void vm_space_set_fault_handler(struct vm_space *vs, vm_fault_handler_t fn, void *arg);

/*
 * vm_space_handle_page_fault: the #PF path's entry for a fault at `va`
 * (CR2) with the CPU's error code. Calls the fault handler of the space
 * active on this CPU if va is a user address (below VM_USER_END) and that
 * space has one.
 * Returns: true if the handler resolved the fault; false if va is not a
 *   user address, no space is active, the space has no handler, or the
 *   handler declined.
 */
bool vm_space_handle_page_fault(uint64_t va, uint64_t error_code);

/*
 * vm_space_map_untraced: THE PLANTED BUG of tlb_bug=untraced-store
 * (docs/guest-mm.md); nothing else may call it. Maps `va` to frame `pa`
 * (read-only, user, NX, A and D preset, untracked so that no teardown drops
 * a frame reference the entry does not own) with a plain store into the
 * level-1 node that covers va: past the page-table core and its hook, so
 * no event says so and the host's model keeps 0 there.
 * Preconditions: no cursor of vs covers va.
 * Postconditions: true, with *node and *index naming the entry written, when
 *   va's level-1 node exists and that entry was empty; false, nothing
 *   written, otherwise.
 */
bool vm_space_map_untraced(struct vm_space *vs, uint64_t va, uint64_t pa, uint64_t *node,
                           unsigned *index);

/* ---------------------------------------------------------------------------
 * Cursors (OSTD VmSpace::cursor / cursor_mut). One struct for both kinds; a
 * read-only cursor refuses map/unmap/protect_next with VM_ERR_READONLY.
 * Both lock [start, end) of the space until vm_cursor_drop().
 * --------------------------------------------------------------------------- */
struct vm_cursor {
    struct vm_space *vs;
    bool mut;                        /* created by vm_space_cursor_mut */
    struct tlb_cursor tc;            /* tc.pc: the page-table cursor; tc.flusher
                                        is used only when mut */
};

/* What vm_cursor_query found (OSTD: (Range<Vaddr>, Option<MappedItem>)). */
struct vm_query {
    uint64_t start, end;             /* the slot's range (may start below va) */
    bool mapped;                     /* false: nothing mapped there */
    uint64_t pa;                     /* mapped: the frame (or huge page) */
    int level;                       /* mapped: 1 = 4 KiB, 2 = 2 MiB */
    struct pt_prop prop;             /* mapped: its property */
};

/*
 * vm_space_cursor / vm_space_cursor_mut: lock [start, end) and put the
 * cursor at start.
 * Preconditions: vs live; the cursor is used on this CPU only.
 * Postconditions (success): vm_cursor_virt_addr(c) == start; no other
 *   cursor on vs overlaps [start, end) until vm_cursor_drop(c).
 * Fails: PT_ERR_UNALIGNED (start or end not 4 KiB-aligned),
 *   PT_ERR_INVALID_RANGE (start >= end, or not inside
 *   [VM_USER_START, VM_USER_END)), PT_ERR_NOMEM. Nothing is locked then.
 * Blocks while an overlapping cursor is live.
 */
int vm_space_cursor(struct vm_space *vs, uint64_t start, uint64_t end, struct vm_cursor *c);
int vm_space_cursor_mut(struct vm_space *vs, uint64_t start, uint64_t end, struct vm_cursor *c);

/*
 * vm_cursor_drop: dispatch any flush still queued (never leaking a kept
 * frame), then unlock. Postconditions: the range is free for other cursors.
 */
void vm_cursor_drop(struct vm_cursor *c);

/*
 * vm_cursor_query: the mapping at the cursor's va; the cursor does not move.
 * Postconditions: mapped => [start, end) is the leaf's range and pa/level/
 *   prop describe it; !mapped => start == va's slot start, nothing there.
 *   prop's PT_ACCESSED and PT_DIRTY are the entry's A and D bits at the
 *   moment of the read: the MMU's (set by accesses through the mapping
 *   since it was made without them) or the caller's (given to map or
 *   returned by a protect op). The MMU may set them at any later moment.
 * Fails: PT_ERR_INVALID_VADDR if the cursor is at the end of its range.
 */
int vm_cursor_query(struct vm_cursor *c, struct vm_query *out);

/*
 * vm_cursor_find_next: move to the first mapped address in [va, va + len).
 * Preconditions: len 4 KiB-aligned, va + len <= the locked end.
 * Returns 1 with *found == the new va (the cursor stays there), or 0 when
 *   nothing is mapped there (the cursor moves to at least va + len, never
 *   past the locked end).
 * Fails: PT_ERR_UNALIGNED, PT_ERR_BEYOND_BARRIER (the cursor does not move).
 */
int vm_cursor_find_next(struct vm_cursor *c, uint64_t len, uint64_t *found);

/*
 * vm_cursor_jump: move the cursor to va.
 * Postconditions: on success vm_cursor_virt_addr(c) == va.
 * Fails: PT_ERR_UNALIGNED (va not 4 KiB-aligned), PT_ERR_INVALID_VADDR (va
 *   outside the locked range); the cursor does not move.
 */
int vm_cursor_jump(struct vm_cursor *c, uint64_t va);

/* vm_cursor_virt_addr: the cursor's current address. */
uint64_t vm_cursor_virt_addr(const struct vm_cursor *c);

/*
 * vm_cursor_map: map the 4 KiB frame `pa` with `prop` at the cursor's va and
 * move to the next page (seed CursorMut::map). Replace semantics (the seed):
 * whatever was mapped there is removed, flushed on every CPU of the space,
 * and its frame released only after that flush; map returns when no CPU can
 * still reach the old frame through va.
 * Preconditions: the caller owns one reference to `pa` (vm_frame_alloc or
 *   vm_frame_get); it moves into the page table on success. prop.priv must
 *   not contain PT_PRIV_GLOBAL (user mappings are never global).
 * Postconditions: the entry holds exactly `prop` (PT_ACCESSED / PT_DIRTY
 *   only if the caller set them; the MMU sets them later on access).
 * Returns 0 (the slot was empty) or 1 (an old mapping was replaced).
 * Fails (the caller keeps its reference, nothing is mapped):
 *   VM_ERR_READONLY; PT_ERR_INVALID_VADDR (cursor at its end);
 *   PT_ERR_BAD_PROP (invalid prop, or a global one); PT_ERR_BAD_FRAME (pa is
 *   not a live frame from vm_frame_alloc); PT_ERR_NOMEM.
 */
int vm_cursor_map(struct vm_cursor *c, uint64_t pa, struct pt_prop prop);

/*
 * vm_cursor_unmap: remove every mapping in [va, va + len) and move the
 * cursor to va + len (seed CursorMut::unmap). Every removed frame and
 * page-table node is kept until each CPU of the space has flushed, then
 * released. One dispatch at the end; the call also waits for the remote
 * flushes (so on return no CPU can still use the removed translations).
 * *nr_unmapped (may be NULL) gets the number of frames unmapped.
 * Fails: VM_ERR_READONLY; PT_ERR_UNALIGNED, PT_ERR_BEYOND_BARRIER (before
 *   doing anything); PT_ERR_NOMEM part-way (a huge page could not be split;
 *   what was removed is still flushed).
 */
int vm_cursor_unmap(struct vm_cursor *c, uint64_t len, uint64_t *nr_unmapped);

/*
 * vm_cursor_protect_next: apply op to the next mapped page in [va, va + len)
 * (seed CursorMut::protect_next) and move past it. Like the seed it does NOT
 * flush: the caller issues the flush through vm_cursor_flusher(c) (e.g.
 * tlb_flusher_issue(f, tlb_op_single(start, false)), then dispatch and
 * sync) before it relies on the new property. op gets the page's current
 * property, A and D as the MMU has set them; the page gets what op returns
 * (so an op that changes only W keeps them; one that clears PT_ACCESSED
 * restarts tracking once the flush is done: a cached translation sets no
 * bit), plus any A/D bit the MMU set while op ran.
 * Returns 1 with the page's range in [*start, *end), or 0 if nothing is
 *   mapped in the range (cursor at va + len).
 * Fails: VM_ERR_READONLY; PT_ERR_UNALIGNED, PT_ERR_BEYOND_BARRIER;
 *   PT_ERR_BAD_PROP (op left an invalid or global property; the page is
 *   unchanged); PT_ERR_NOMEM.
 */
int vm_cursor_protect_next(struct vm_cursor *c, uint64_t len, pt_protect_fn op, void *arg,
                           uint64_t *start, uint64_t *end);

/*
 * vm_cursor_protect: convenience (not in the seed): protect_next over the
 * whole [va, va + len), one flush per changed page, dispatch and sync.
 * *nr_changed (may be NULL) gets the number of pages changed.
 * Fails as vm_cursor_protect_next.
 */
int vm_cursor_protect(struct vm_cursor *c, uint64_t len, pt_protect_fn op, void *arg,
                      uint64_t *nr_changed);

/* vm_cursor_flusher: the cursor's TLB flusher (seed CursorMut::flusher);
   NULL for a read-only cursor. */
struct tlb_flusher *vm_cursor_flusher(struct vm_cursor *c);

#endif /* GUEST_VMSPACE_H */
