/* Port-I/O instruction classification; see pio_insn.h. */
#include "pio_insn.h"

static bool legacy_prefix(uint8_t b)
{
    switch (b) {
    case 0x66: case 0x67:                          /* operand / address size */
    case 0x26: case 0x2e: case 0x36: case 0x3e:    /* segment overrides */
    case 0x64: case 0x65:
    case 0xf0: case 0xf2: case 0xf3:               /* LOCK, REPNE, REP */
        return true;
    }
    return false;
}

enum vmm_pio_kind vmm_pio_classify(const uint8_t *code, size_t n, bool long_mode)
{
    size_t i = 0;

    if (n > VMM_INSN_MAX)
        n = VMM_INSN_MAX;
    while (i < n && legacy_prefix(code[i]))
        i++;
    /* REX (0x40-0x4f) is a prefix only in 64-bit code and only last. */
    if (long_mode && i < n && (code[i] & 0xf0) == 0x40)
        i++;
    if (i >= n)
        return VMM_PIO_UNKNOWN;
    if (code[i] >= 0x6c && code[i] <= 0x6f)
        return VMM_PIO_STRING;
    if ((code[i] >= 0xe4 && code[i] <= 0xe7) || (code[i] >= 0xec && code[i] <= 0xef))
        return VMM_PIO_PLAIN;
    return VMM_PIO_UNKNOWN;
}
