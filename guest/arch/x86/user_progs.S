/*
 * The ring-3 programs (include/guest/user_task.h): position-independent
 * code blobs in section .user_text of the kernel image, never executed
 * there. user_task_load() copies one into fresh user frames and starts it
 * at its first byte, with arguments in rdi, rsi, rdx and a stack in rsp.
 * Only RIP-relative addressing and relative jumps are used, so a blob runs
 * at whatever address it is copied to. Each blob's size is computed here
 * by the assembler (uprog_NAME_size), not by C pointer arithmetic.
 *
 * Exit statuses: 0 = every check of the program held; k > 0 = check k
 * failed (the scenario prints and counts it).
 */
#include "guest/user.h"

.macro UPROG_BEGIN name
    .section .user_text, "a"
    .balign 16
    .globl uprog_\name
uprog_\name:
.endm

.macro UPROG_END name
uprog_\name\()_end:
    .section .rodata
    .balign 8
    .globl uprog_\name\()_size
uprog_\name\()_size:
    .quad uprog_\name\()_end - uprog_\name
.endm

.macro SYS nr
    movl $\nr, %eax
    syscall
.endm

.macro EXIT status
    movl $\status, %edi
    SYS SYS_EXIT
    ud2
.endm

/* hello(): write a line, yield once, exit(0). */
UPROG_BEGIN hello
    leaq 1f(%rip), %rdi
    movl $(2f - 1f), %esi
    SYS SYS_WRITE
    cmpq $(2f - 1f), %rax
    jne 3f
    SYS SYS_YIELD
    testq %rax, %rax
    jne 4f
    EXIT 0
3:  EXIT 1
4:  EXIT 2
1:  .ascii "hello from ring 3\n"
2:
UPROG_END hello

/*
 * sum(array rdi, count rsi, result rdx): result[0] = the sum of the count
 * u64 words, result[1] = a rotate-xor checksum of them (rol 7, xor); yields
 * once half-way through, so round-robin runs interleave. exit(0).
 */
UPROG_BEGIN sum
    movq %rdi, %r13
    movq %rsi, %r14
    movq %rdx, %r12
    xorl %ebx, %ebx
    xorl %ebp, %ebp
    xorl %r15d, %r15d
1:  cmpq %r14, %r15
    jae 2f
    movq (%r13,%r15,8), %rax
    addq %rax, %rbx
    rolq $7, %rbp
    xorq %rax, %rbp
    incq %r15
    movq %r14, %rax
    shrq $1, %rax
    cmpq %rax, %r15
    jne 1b
    SYS SYS_YIELD
    jmp 1b
2:  movq %rbx, (%r12)
    movq %rbp, 8(%r12)
    EXIT 0
UPROG_END sum

/*
 * touch(start rdi, pages rsi, pattern rdx): store (address ^ pattern) in
 * the first word of each page, then check every one. exit(0), or exit(1 +
 * index of the first page that reads back wrong).
 */
UPROG_BEGIN touch
    xorl %ecx, %ecx
    movq %rdi, %r8
1:  cmpq %rsi, %rcx
    jae 2f
    movq %r8, %rax
    xorq %rdx, %rax
    movq %rax, (%r8)
    addq $4096, %r8
    incq %rcx
    jmp 1b
2:  xorl %ecx, %ecx
    movq %rdi, %r8
3:  cmpq %rsi, %rcx
    jae 4f
    movq %r8, %rax
    xorq %rdx, %rax
    cmpq %rax, (%r8)
    jne 5f
    addq $4096, %r8
    incq %rcx
    jmp 3b
4:  EXIT 0
5:  leal 1(%rcx), %edi
    SYS SYS_EXIT
    ud2
UPROG_END touch

/* peek(address rdi): load one word from it and exit with its low byte
 * (a task that reads kernel memory must never get here). */
UPROG_BEGIN peek
    movq (%rdi), %rax
    movzbl %al, %edi
    SYS SYS_EXIT
    ud2
UPROG_END peek

/* poke(address rdi): store to it, exit(0) (must fault for kernel memory). */
UPROG_BEGIN poke
    movq $0x5a5a5a5a, (%rdi)
    EXIT 0
UPROG_END poke

/* copyword(src rdi, dst rsi): load one word from src, store it to dst,
 * exit(0): one ring-3 read and one ring-3 write (the workload's accessed/
 * dirty check, scenarios/vmspace_ad.c). */
UPROG_BEGIN copyword
    movq (%rdi), %rax
    movq %rax, (%rsi)
    EXIT 0
UPROG_END copyword

/* jump(address rdi): execute at it (must fault for kernel code). */
UPROG_BEGIN jump
    jmp *%rdi
UPROG_END jump

/* spin(): count in rbx forever, never making a system call (only a kick
 * takes the CPU back). */
UPROG_BEGIN spin
1:  incq %rbx
    jmp 1b
UPROG_END spin

/* priv(): a privileged instruction in ring 3 (#GP), then exit(0). */
UPROG_BEGIN priv
    hlt
    EXIT 0
UPROG_END priv

/*
 * syscalls(edge rdi, kernel rsi): the syscall edge cases. `edge` is 16
 * bytes before the end of the last mapped page of a buffer, `kernel` a
 * kernel address.
 *   1: an unknown number returns -ENOSYS
 *   2: write(kernel, 8) returns -EFAULT (refused before any copy)
 *   3: write(edge, 32) writes the 16 mapped bytes and returns 16
 *   4: write(edge + 16, 8) returns -EFAULT (nothing mapped)
 *   5: rbx, rbp, r8-r10, r12-r15 and rsp survive a syscall
 */
UPROG_BEGIN syscalls
    movq %rdi, %r12
    movq %rsi, %r13
    SYS 999
    cmpq $-USER_ENOSYS, %rax
    jne 91f
    movq %r13, %rdi
    movl $8, %esi
    SYS SYS_WRITE
    cmpq $-14, %rax
    jne 92f
    movq %r12, %rdi
    movl $32, %esi
    SYS SYS_WRITE
    cmpq $16, %rax
    jne 93f
    leaq 16(%r12), %rdi
    movl $8, %esi
    SYS SYS_WRITE
    cmpq $-14, %rax
    jne 94f
    movq %rsp, %r13
    movabsq $0x1111111111111111, %rbx
    leaq (%rbx,%rbx), %rbp
    leaq (%rbp,%rbx), %r8
    leaq (%r8,%rbx), %r9
    leaq (%r9,%rbx), %r10
    leaq (%r10,%rbx), %r12
    leaq (%r12,%rbx), %r14
    leaq (%r14,%rbx), %r15
    SYS SYS_YIELD
    cmpq %rsp, %r13
    jne 95f
    movabsq $0x1111111111111111, %rax
    cmpq %rax, %rbx
    jne 95f
    leaq (%rbx,%rbx), %rax
    cmpq %rax, %rbp
    jne 95f
    addq %rbx, %rax
    cmpq %rax, %r8
    jne 95f
    addq %rbx, %rax
    cmpq %rax, %r9
    jne 95f
    addq %rbx, %rax
    cmpq %rax, %r10
    jne 95f
    addq %rbx, %rax
    cmpq %rax, %r12
    jne 95f
    addq %rbx, %rax
    cmpq %rax, %r14
    jne 95f
    addq %rbx, %rax
    cmpq %rax, %r15
    jne 95f
    EXIT 0
91: EXIT 1
92: EXIT 2
93: EXIT 3
94: EXIT 4
95: EXIT 5
UPROG_END syscalls

/*
 * toptail(): one page whose last two bytes are a SYSCALL (yield). Loaded
 * at the last page of the lower half, the return address is the first
 * non-canonical address, 0x8000_0000_0000: the kernel must not try to
 * return there (user_run turns it into the task's #GP).
 */
UPROG_BEGIN toptail
    movl $SYS_YIELD, %eax
    jmp 1f
    .skip 4094 - (. - uprog_toptail), 0xcc
1:  syscall
UPROG_END toptail
