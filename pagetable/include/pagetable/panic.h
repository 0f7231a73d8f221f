/*
 * The page-table core's one escape hatch: internal invariant violations
 * (a corrupt table, a reference-count underflow) call pt_panic. Caller
 * misuse never does; it gets an error code (see page_table.h).
 *
 * Each platform provides pt_panic. The host library (`pagetable`) links a
 * default that prints "pagetable: <msg>" to stderr and aborts; freestanding
 * users (the guest) supply their own.
 */
#ifndef PAGETABLE_PANIC_H
#define PAGETABLE_PANIC_H

/* Requires: msg is a NUL-terminated string naming the violated invariant.
 * Guarantees: never returns. */
__attribute__((noreturn, cold)) void pt_panic(const char *msg);

#define PT_STR2(x) #x
#define PT_STR(x) PT_STR2(x)
/* Abort with the file, line and a message naming the invariant unless cond. */
#define PT_ASSERT(cond, msg)                                                  \
    do {                                                                      \
        if (__builtin_expect(!(cond), 0))                                     \
            pt_panic(__FILE__ ":" PT_STR(__LINE__) ": " msg);                 \
    } while (0)

#endif /* PAGETABLE_PANIC_H */
