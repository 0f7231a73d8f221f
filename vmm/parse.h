/*
 * Strict parsing of the numbers and sizes that appear on the command line
 * and in configs/NAME.cfg. strtoull alone accepts leading blanks, a sign
 * ("-1" wraps to 2^64-1) and trailing garbage; these functions accept none
 * of that, so every malformed value gets an error naming it.
 */
#ifndef VMM_PARSE_H
#define VMM_PARSE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Parses a decimal unsigned integer in [min, max].
 * Requires: s, out, err non-NULL; errlen > 0.
 * Guarantees: on 0, *out holds the value. On -1, *out is untouched and err
 *   holds a message naming the problem (without the option's name; the
 *   caller prefixes it), e.g. "'12x' is not a number (trailing 'x')".
 * Fails when: s is empty, contains anything but ASCII digits, overflows
 *   uint64_t, or the value is outside [min, max].
 */
int vmm_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out,
                   char *err, size_t errlen);

/*
 * Parses a size: decimal digits followed by an optional unit K, M or G
 * (case-insensitive, powers of 1024, an optional trailing "iB" or "B"
 * allowed: 64M, 64m, 64MiB, 64MB all mean 64 MiB). No unit = bytes.
 * Requires: as vmm_parse_uint.
 * Guarantees: on 0, *out = value in bytes; on -1 err names the problem.
 * Fails when: empty, no digits, unknown unit, trailing garbage, or the
 *   byte count overflows uint64_t.
 */
int vmm_parse_size(const char *s, uint64_t *out, char *err, size_t errlen);

/*
 * Formats a byte count for humans ("128 MiB", "4 KiB", "1000 bytes") into
 * buf (always NUL-terminated). Returns buf.
 */
char *vmm_format_size(uint64_t bytes, char *buf, size_t len);

#endif /* VMM_PARSE_H */
