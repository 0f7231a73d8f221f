/*
 * The live user windows of one VmSpace: the run-time stand-in for the
 * readers and writers the seed's ghost VmSpaceOwner catalogues, so that
 * vm_space_reader / vm_space_writer (include/guest/uaccess.h) can enforce
 * its can_create_reader / can_create_writer:
 *   a reader may overlap other readers, never a live writer;
 *   a writer may overlap nothing live.
 * Ranges are half-open: [a, b) and [b, c) touch but do not overlap.
 *
 * Bounded: a fixed table of VM_IO_WINDOWS_MAX windows per space, inside
 * struct vm_space (no allocation). One lock per table, held with
 * interrupts off (as every guest lock an interrupt path could meet), for a
 * scan of the table at most: no CPU waits for anything while holding it.
 * Pure code: also built on the host (tests/guest).
 *
 * Error codes are the UA_* values of include/guest/uaccess.h.
 */
#ifndef GUEST_VM_IO_WINDOWS_H
#define GUEST_VM_IO_WINDOWS_H

#include <stdbool.h>
#include <stdint.h>

#include "guest/spinlock.h"

/* One live window per CPU on a space shared by all MAX_CPUS (64) CPUs, as
 * the vmspace workload's shared rounds do; more at once is refused with
 * UA_EMFILE, never waited for. */
#define VM_IO_WINDOWS_MAX 64

struct vm_io_window {
    uint64_t start, end;      /* [start, end) */
    uint64_t id;              /* 0: the slot is free */
    bool writer;
};

struct vm_io_windows {
    spinlock_t lock;
    unsigned live;            /* slots with id != 0 */
    uint64_t next_id;         /* ids are never reused: a stale ticket is caught */
    struct vm_io_window slot[VM_IO_WINDOWS_MAX];
};

/* What a registered window holds to end its registration (table NULL: not
 * registered, e.g. a window on kernel memory or one already dropped). */
struct vm_io_ticket {
    struct vm_io_windows *table;
    uint64_t id;
    unsigned slot;
};

/* vm_io_windows_init: an empty table. Requires: nobody uses t yet.
 * Guarantees: no live window. (All-zero memory is an empty table too.) */
void vm_io_windows_init(struct vm_io_windows *t);

/*
 * vm_io_windows_add: register [start, end) as a reader (writer false) or a
 * writer, atomically with the check that the seed's rule allows it.
 * Requires: start < end; t initialised.
 * Guarantees, each leaving t unchanged on failure:
 *   UA_EBUSY   a live writer overlaps [start, end), or (writer) a live
 *              reader does;
 *   UA_EMFILE  no overlap, but VM_IO_WINDOWS_MAX windows are live;
 *   UA_OK      registered; *out names it for vm_io_windows_remove.
 */
int vm_io_windows_add(struct vm_io_windows *t, uint64_t start, uint64_t end, bool writer,
                      struct vm_io_ticket *out);

/*
 * vm_io_windows_remove: end the registration *tk names.
 * Guarantees: UA_OK and tk->table == NULL afterwards if tk named a live
 *   window of its table (its slot is free again) or was not registered
 *   (table NULL: nothing to do); UA_EINVAL and nothing changed if its
 *   window is no longer live (a stale copy of a dropped ticket).
 */
int vm_io_windows_remove(struct vm_io_ticket *tk);

/* vm_io_windows_live: how many windows are live (a snapshot). */
unsigned vm_io_windows_live(struct vm_io_windows *t);

#endif /* GUEST_VM_IO_WINDOWS_H */
