/* Strict decimal and size parsing; see parse.h. */
#include "parse.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* Parses the leading run of digits of s. *end receives the first non-digit.
 * Returns -1 (with err set) on no digits or overflow. */
static int parse_digits(const char *s, uint64_t *out, const char **end,
                        char *err, size_t errlen)
{
    uint64_t v = 0;
    const char *p = s;

    if (*s == '\0') {
        snprintf(err, errlen, "empty value");
        return -1;
    }
    if (!isdigit((unsigned char)*p)) {
        snprintf(err, errlen, "'%s' is not a number", s);
        return -1;
    }
    for (; isdigit((unsigned char)*p); p++) {
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10) {
            snprintf(err, errlen, "'%s' is too large (overflow)", s);
            return -1;
        }
        v = v * 10 + d;
    }
    *out = v;
    *end = p;
    return 0;
}

int vmm_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out,
                   char *err, size_t errlen)
{
    uint64_t v;
    const char *end;

    if (parse_digits(s, &v, &end, err, errlen) < 0)
        return -1;
    if (*end != '\0') {
        snprintf(err, errlen, "'%s' is not a number (trailing '%s')", s, end);
        return -1;
    }
    if (v < min || v > max) {
        snprintf(err, errlen, "%" PRIu64 " is out of range (%" PRIu64
                 "..%" PRIu64 ")", v, min, max);
        return -1;
    }
    *out = v;
    return 0;
}

int vmm_parse_size(const char *s, uint64_t *out, char *err, size_t errlen)
{
    uint64_t v, mult = 1;
    const char *end;

    if (parse_digits(s, &v, &end, err, errlen) < 0)
        return -1;
    switch (toupper((unsigned char)*end)) {
    case '\0': break;
    case 'K': mult = 1ull << 10; end++; break;
    case 'M': mult = 1ull << 20; end++; break;
    case 'G': mult = 1ull << 30; end++; break;
    default:
        snprintf(err, errlen, "'%s' has an unknown size unit '%s' (use K, M or G)",
                 s, end);
        return -1;
    }
    /* Accept "64MiB" and "64MB" as well as "64M" (all binary units). */
    if (mult != 1) {
        if (strcmp(end, "iB") == 0 || strcmp(end, "ib") == 0)
            end += 2;
        else if (strcmp(end, "B") == 0 || strcmp(end, "b") == 0)
            end += 1;
    }
    if (*end != '\0') {
        snprintf(err, errlen, "'%s' is not a size (trailing '%s')", s, end);
        return -1;
    }
    if (v > UINT64_MAX / mult) {
        snprintf(err, errlen, "'%s' is too large (overflow)", s);
        return -1;
    }
    *out = v * mult;
    return 0;
}

char *vmm_format_size(uint64_t bytes, char *buf, size_t len)
{
    static const char *const unit[] = { "GiB", "MiB", "KiB" };
    static const unsigned shift[] = { 30, 20, 10 };

    for (unsigned i = 0; i < 3; i++) {
        uint64_t m = 1ull << shift[i];
        if (bytes >= m && bytes % m == 0) {
            snprintf(buf, len, "%" PRIu64 " %s", bytes / m, unit[i]);
            return buf;
        }
    }
    snprintf(buf, len, "%" PRIu64 " bytes", bytes);
    return buf;
}
