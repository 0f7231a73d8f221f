/*
 * Which instruction made a port-I/O exit. KVM reports an `OUT` and a single
 * `OUTS` (or a `REP OUTS` with a count of one) to the same port the same way
 * (KVM_EXIT_IO, out, size 4, count 1); the ABI takes only `OUT` as a
 * hypercall (docs/abi.md), so the VMM decodes the instruction at RIP, which
 * KVM leaves pointing at the I/O instruction until the exit is completed.
 */
#ifndef VMM_PIO_INSN_H
#define VMM_PIO_INSN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VMM_INSN_MAX 15u     /* the longest x86 instruction */

enum vmm_pio_kind {
    VMM_PIO_PLAIN,           /* IN/OUT (0xe4-0xe7, 0xec-0xef) */
    VMM_PIO_STRING,          /* INS/OUTS (0x6c-0x6f), with or without REP */
    VMM_PIO_UNKNOWN,         /* anything else, or too few bytes to tell */
};

/*
 * Classifies the instruction in code[0..n): legacy prefixes (operand and
 * address size, segment overrides, LOCK, REP/REPNE) and in 64-bit code a
 * REX prefix are skipped, then the opcode byte decides.
 * Requires: code points to n readable bytes (n may be 0).
 * Guarantees: reads at most min(n, VMM_INSN_MAX) bytes; never fails.
 */
enum vmm_pio_kind vmm_pio_classify(const uint8_t *code, size_t n, bool long_mode);

#endif /* VMM_PIO_INSN_H */
