/*
 * guest_printf: the kernel's kvsnprintf (guest/lib/printf.c) produces
 * exactly what the C library's snprintf produces for every conversion the
 * kernel documents, returns the same length, and truncates the same way.
 */
#include <check.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check_main.h"
#include "guest/printf.h"

/* Formats with both and compares text and return value. */
#define SAME(...)                                                              \
    do {                                                                       \
        char g[128], l[128];                                                   \
        int gn = ksnprintf(g, sizeof(g), __VA_ARGS__);                         \
        int ln = snprintf(l, sizeof(l), __VA_ARGS__);                          \
        ck_assert_msg(gn == ln && strcmp(g, l) == 0,                           \
                      "format %s: guest \"%s\" (%d), libc \"%s\" (%d)", #__VA_ARGS__, \
                      g, gn, l, ln);                                           \
    } while (0)

/* No format attribute: these formats are malformed on purpose. */
static int fmt_raw(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = kvsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

START_TEST(integers)
{
    static const long long v[] = { 0, 1, -1, 42, -42, 2147483647, -2147483647 - 1,
                                   9223372036854775807LL, -9223372036854775807LL - 1 };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        SAME("%d|%i|%5d|%-5d|%05d", (int)v[i], (int)v[i], (int)v[i], (int)v[i], (int)v[i]);
        SAME("%u|%x|%X|%o|%08x|%#x|%#o", (unsigned)v[i], (unsigned)v[i], (unsigned)v[i],
             (unsigned)v[i], (unsigned)v[i], (unsigned)v[i], (unsigned)v[i]);
        SAME("%ld|%lu|%lx|%016lx", (long)v[i], (unsigned long)v[i], (unsigned long)v[i],
             (unsigned long)v[i]);
        SAME("%lld|%llu|%llx|%#llx", v[i], (unsigned long long)v[i], (unsigned long long)v[i],
             (unsigned long long)v[i]);
        SAME("%zu|%zx|%hhd|%hu|%*d|%-*d|", (size_t)v[i], (size_t)v[i], (signed char)v[i],
             (unsigned short)v[i], 7, (int)v[i], 7, (int)v[i]);
    }
}
END_TEST

START_TEST(strings_chars_pointers)
{
    SAME("[%s] [%10s] [%-10s] [%.3s] [%.*s]", "cpu", "cpu", "cpu", "abcdef", 2, "xyz");
    SAME("[%c%c] [%3c] [%-3c]", 'o', 'k', 'x', 'y');
    SAME("100%% done %s", "");
    /* The kernel's %p is always 0x + 16 digits (glibc's is unpadded and
     * prints "(nil)" for NULL), so compare with the equivalent %#018lx. */
    int x;
    char g[32], l[32];
    ksnprintf(g, sizeof(g), "%p", (void *)&x);
    snprintf(l, sizeof(l), "0x%016lx", (unsigned long)(uintptr_t)&x);
    ck_assert_str_eq(g, l);
    ksnprintf(g, sizeof(g), "%p", (void *)(uintptr_t)0xffffffff80100000ull);
    ck_assert_str_eq(g, "0xffffffff80100000");
    ksnprintf(g, sizeof(g), "%p", (void *)0);
    ck_assert_str_eq(g, "0x0000000000000000");
    fmt_raw(g, sizeof(g), "%s", (char *)NULL);
    ck_assert_str_eq(g, "(null)");
}
END_TEST

START_TEST(truncation)
{
    char buf[8];
    memset(buf, 'z', sizeof(buf));
    ck_assert_int_eq(ksnprintf(buf, sizeof(buf), "cpu %d online", 12), 13);
    ck_assert_str_eq(buf, "cpu 12 ");
    ck_assert_int_eq(ksnprintf(buf, 1, "abc"), 3);
    ck_assert_str_eq(buf, "");
    buf[0] = 'q';
    ck_assert_int_eq(ksnprintf(buf, 0, "abc"), 3);   /* size 0 writes nothing */
    ck_assert_int_eq(buf[0], 'q');
}
END_TEST

START_TEST(unknown_and_trailing)
{
    char buf[32];
    ck_assert_int_eq(fmt_raw(buf, sizeof(buf), "a%qb"), 4);    /* copied through */
    ck_assert_str_eq(buf, "a%qb");
    ck_assert_int_eq(fmt_raw(buf, sizeof(buf), "end%"), 4);
    ck_assert_str_eq(buf, "end%");
    ck_assert_int_eq(fmt_raw(buf, sizeof(buf), "end%l"), 5);   /* no read past NUL */
    ck_assert_str_eq(buf, "end%l");
}
END_TEST

CHECK_PROGRAM_ONE_TCASE("guest_printf", "printf", CHECK_TIMEOUT_DEFAULT,
                        integers, strings_chars_pointers, truncation, unknown_and_trailing)
