/*
 * Fallible memory primitives (include/guest/uaccess.h): OSTD's
 * __memcpy_fallible and __memset_fallible. Each is one REP string
 * instruction with an exception-table entry: when it faults on a user
 * page, the #PF handler (arch/x86/trap.c) moves RIP to the fix-up, and
 * because a faulting REP MOVSB/STOSB leaves RCX at the number of
 * iterations not yet done, the fix-up returns exactly the bytes not
 * copied. Both return 0 when everything was copied.
 */
#include "guest/extable.h"

    .text

/* size_t memcpy_fallible(void *dst, const void *src, size_t len) */
    .globl memcpy_fallible
memcpy_fallible:
    movq %rdx, %rcx
1:  rep movsb
2:  movq %rcx, %rax
    ret
    EXTABLE 1b, 2b

/* size_t memset_fallible(void *dst, int byte, size_t len) */
    .globl memset_fallible
memset_fallible:
    movq %rdx, %rcx
    movl %esi, %eax
1:  rep stosb
2:  movq %rcx, %rax
    ret
    EXTABLE 1b, 2b

    .section .note.GNU-stack, "", @progbits     /* for host test links */
