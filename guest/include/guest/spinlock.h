/*
 * Ticket spinlocks: FIFO-fair, so no CPU starves while many print or
 * allocate at once. Also compiles on the host (tests/guest).
 */
#ifndef GUEST_SPINLOCK_H
#define GUEST_SPINLOCK_H

#include <stdint.h>

typedef struct {
    uint32_t next;     /* next ticket to hand out */
    uint32_t owner;    /* ticket now being served */
} spinlock_t;

#define SPINLOCK_INIT { 0, 0 }

/* spin_lock: acquire; spins with PAUSE. Not re-entrant: a CPU that already
 * holds the lock deadlocks. Guarantees acquire ordering. */
static inline void spin_lock(spinlock_t *l)
{
    uint32_t me = __atomic_fetch_add(&l->next, 1, __ATOMIC_RELAXED);
    while (__atomic_load_n(&l->owner, __ATOMIC_ACQUIRE) != me)
        __builtin_ia32_pause();
}

/* spin_unlock: release. Requires: held by the caller. */
static inline void spin_unlock(spinlock_t *l)
{
    __atomic_store_n(&l->owner, __atomic_load_n(&l->owner, __ATOMIC_RELAXED) + 1,
                     __ATOMIC_RELEASE);
}

#endif /* GUEST_SPINLOCK_H */
