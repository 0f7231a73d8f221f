/*
 * The C library functions the kernel and Debian's libfdt.a need
 * (docs/guest.md): memchr memcmp memcpy memmove memset strchr strlen
 * strnlen strrchr strtoul (plus strcmp strncmp for the kernel). The kernel is
 * built -mno-sse, so nothing here may use SSE. Each behaves as the C
 * standard specifies.
 */
#include <stddef.h>
#include <stdint.h>

#include "guest/string.h"

void *memchr(const void *s, int c, size_t n)
{
    const unsigned char *p = s;
    for (size_t i = 0; i < n; i++)
        if (p[i] == (unsigned char)c)
            return (void *)(p + i);
    return NULL;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;
    for (size_t i = 0; i < n; i++)
        if (x[i] != y[i])
            return x[i] < y[i] ? -1 : 1;
    return 0;
}

/* memcpy/memmove/memset use the string instructions, 8 bytes per step for
 * the bulk: one instruction for the whole buffer instead of a loop, and few
 * iterations, which matters most where every guest instruction is
 * expensive (nested or emulated KVM hosts). */
void *memcpy(void *dst, const void *src, size_t n)
{
    void *d = dst;
    size_t q = n / 8, r = n % 8;
    __asm__ volatile("rep movsq\n\tmovq %3, %%rcx\n\trep movsb"
                     : "+D"(d), "+S"(src), "+c"(q)
                     : "r"(r)
                     : "memory");
    return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    if (d <= s || d >= s + n)
        return memcpy(dst, src, n);
    /* Overlap with dst above src: copy backwards (DF=1), then restore DF=0
     * as the ABI requires. */
    d += n - 1;
    s += n - 1;
    __asm__ volatile("std\n\trep movsb\n\tcld" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
    return dst;
}

void *memset(void *dst, int c, size_t n)
{
    void *d = dst;
    uint64_t pattern = 0x0101010101010101ull * (unsigned char)c;
    size_t q = n / 8, r = n % 8;
    __asm__ volatile("rep stosq\n\tmovq %2, %%rcx\n\trep stosb"
                     : "+D"(d), "+c"(q)
                     : "r"(r), "a"(pattern)
                     : "memory");
    return dst;
}

char *strchr(const char *s, int c)
{
    for (;; s++) {
        if (*s == (char)c)
            return (char *)s;
        if (!*s)
            return NULL;
    }
}

char *strrchr(const char *s, int c)
{
    const char *last = NULL;
    for (;; s++) {
        if (*s == (char)c)
            last = s;
        if (!*s)
            return (char *)last;
    }
}

size_t strlen(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

size_t strnlen(const char *s, size_t max)
{
    size_t n = 0;
    while (n < max && s[n])
        n++;
    return n;
}

static int digit_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'Z')
        return c - 'A' + 10;
    return 99;
}

/* strtoul: as in C (no errno: on overflow the result is ULONG_MAX). */
unsigned long strtoul(const char *s, char **end, int base)
{
    const char *p = s;
    while (*p == ' ' || (*p >= '\t' && *p <= '\r'))
        p++;
    int neg = 0;
    if (*p == '+' || *p == '-')
        neg = *p++ == '-';
    if ((base == 0 || base == 16) && p[0] == '0' && (p[1] == 'x' || p[1] == 'X') &&
        digit_value(p[2]) < 16) {
        p += 2;
        base = 16;
    } else if (base == 0) {
        base = p[0] == '0' ? 8 : 10;
    }
    unsigned long v = 0;
    int any = 0, overflow = 0;
    for (; digit_value(*p) < base; p++) {
        unsigned long d = (unsigned long)digit_value(*p);
        if (v > (~0ul - d) / (unsigned long)base)
            overflow = 1;
        v = v * (unsigned long)base + d;
        any = 1;
    }
    if (end)
        *end = (char *)(any ? p : s);
    if (overflow)
        return ~0ul;
    return neg ? -v : v;
}

int strcmp(const char *a, const char *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return (unsigned char)*a - (unsigned char)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (a[i] != b[i] || !a[i])
            return (unsigned char)a[i] - (unsigned char)b[i];
    }
    return 0;
}
