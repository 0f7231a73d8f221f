/*
 * The live user windows of one VmSpace (include/guest/vm_io_windows.h):
 * the seed's can_create_reader / can_create_writer, checked and recorded
 * under one lock so that two CPUs cannot both pass the check.
 */
#include "guest/vm_io_windows.h"

#include "guest/arch.h"
#include "guest/uaccess.h"

void vm_io_windows_init(struct vm_io_windows *t)
{
    *t = (struct vm_io_windows){ .lock = SPINLOCK_INIT };
}

/* Interrupts off while the lock is held: a handler on this CPU that meets
 * the table must not spin on a lock its own CPU holds, and the CPUs
 * spinning here (interrupts off too) wait for a table scan, not for an
 * interrupted holder. */
static uint64_t table_lock(struct vm_io_windows *t)
{
    uint64_t irq = irq_save();
    spin_lock(&t->lock);
    return irq;
}

static void table_unlock(struct vm_io_windows *t, uint64_t irq)
{
    spin_unlock(&t->lock);
    irq_restore(irq);
}

/* Does live window w forbid a new [start, end) of this kind? Readers
 * exclude only writers; a writer excludes everything. */
static bool conflicts(const struct vm_io_window *w, uint64_t start, uint64_t end, bool writer)
{
    return w->id && (writer || w->writer) && w->start < end && start < w->end;
}

int vm_io_windows_add(struct vm_io_windows *t, uint64_t start, uint64_t end, bool writer,
                      struct vm_io_ticket *out)
{
    uint64_t irq = table_lock(t);
    int err = UA_EMFILE;
    unsigned free_slot = VM_IO_WINDOWS_MAX;
    for (unsigned i = 0; i < VM_IO_WINDOWS_MAX; i++) {
        if (conflicts(&t->slot[i], start, end, writer)) {
            free_slot = VM_IO_WINDOWS_MAX;
            err = UA_EBUSY;
            break;
        }
        if (!t->slot[i].id && free_slot == VM_IO_WINDOWS_MAX)
            free_slot = i;
    }
    if (free_slot < VM_IO_WINDOWS_MAX) {
        uint64_t id = ++t->next_id;              /* from 1: 0 marks a free slot */
        t->slot[free_slot] = (struct vm_io_window){ start, end, id, writer };
        __atomic_store_n(&t->live, t->live + 1, __ATOMIC_RELAXED);   /* read unlocked */
        *out = (struct vm_io_ticket){ t, id, free_slot };
        err = UA_OK;
    }
    table_unlock(t, irq);
    return err;
}

int vm_io_windows_remove(struct vm_io_ticket *tk)
{
    struct vm_io_windows *t = tk->table;
    if (!t)
        return UA_OK;
    uint64_t irq = table_lock(t);
    int err = UA_EINVAL;
    if (tk->slot < VM_IO_WINDOWS_MAX && t->slot[tk->slot].id == tk->id) {
        t->slot[tk->slot].id = 0;
        __atomic_store_n(&t->live, t->live - 1, __ATOMIC_RELAXED);
        err = UA_OK;
    }
    table_unlock(t, irq);
    if (err == UA_OK)
        tk->table = NULL;
    return err;
}

unsigned vm_io_windows_live(struct vm_io_windows *t)
{
    return __atomic_load_n(&t->live, __ATOMIC_RELAXED);
}
