/*
 * guest_string: the kernel's string functions (guest/lib/string.c, the ones
 * libfdt.a links against) give the same results as the C library.
 */
#include <check.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"

void *guest_memchr(const void *s, int c, size_t n);
int guest_memcmp(const void *a, const void *b, size_t n);
void *guest_memcpy(void *dst, const void *src, size_t n);
void *guest_memmove(void *dst, const void *src, size_t n);
void *guest_memset(void *dst, int c, size_t n);
char *guest_strchr(const char *s, int c);
char *guest_strrchr(const char *s, int c);
size_t guest_strlen(const char *s);
size_t guest_strnlen(const char *s, size_t max);
unsigned long guest_strtoul(const char *s, char **end, int base);
int guest_strcmp(const char *a, const char *b);
int guest_strncmp(const char *a, const char *b, size_t n);

static int sign(int v) { return (v > 0) - (v < 0); }

START_TEST(search_and_length)
{
    static const char s[] = "/cpus/cpu@1/reg";
    for (int c = 0; c < 128; c++) {
        ck_assert_ptr_eq(guest_memchr(s, c, sizeof(s)), memchr(s, c, sizeof(s)));
        ck_assert_ptr_eq(guest_strchr(s, c), strchr(s, c));
        ck_assert_ptr_eq(guest_strrchr(s, c), strrchr(s, c));
    }
    ck_assert_ptr_null(guest_memchr(s, '/', 0));
    for (size_t n = 0; n < sizeof(s) + 2; n++)
        ck_assert_uint_eq(guest_strnlen(s, n), strnlen(s, n));
    ck_assert_uint_eq(guest_strlen(s), strlen(s));
    ck_assert_uint_eq(guest_strlen(""), 0);
}
END_TEST

START_TEST(compare)
{
    static const char *const v[] = { "", "a", "ab", "abc", "abd", "b", "\xff", "ab\xff" };
    for (size_t i = 0; i < 8; i++) {
        for (size_t j = 0; j < 8; j++) {
            ck_assert_int_eq(sign(guest_strcmp(v[i], v[j])), sign(strcmp(v[i], v[j])));
            for (size_t n = 0; n < 5; n++)
                ck_assert_int_eq(sign(guest_strncmp(v[i], v[j], n)),
                                 sign(strncmp(v[i], v[j], n)));
            size_t n = strlen(v[i]) < strlen(v[j]) ? strlen(v[i]) : strlen(v[j]);
            ck_assert_int_eq(sign(guest_memcmp(v[i], v[j], n + 1)),
                             sign(memcmp(v[i], v[j], n + 1)));
        }
    }
}
END_TEST

START_TEST(copy_fill_move)
{
    unsigned char a[64], b[64];
    for (int i = 0; i < 64; i++)
        a[i] = b[i] = (unsigned char)(i * 7);
    ck_assert_ptr_eq(guest_memcpy(a + 3, a + 40, 10), a + 3);
    memcpy(b + 3, b + 40, 10);
    ck_assert_mem_eq(a, b, 64);
    for (int off = -9; off <= 9; off++) {             /* overlapping both ways */
        ck_assert_ptr_eq(guest_memmove(a + 20, a + 20 + off, 17), a + 20);
        memmove(b + 20, b + 20 + off, 17);
        ck_assert_mem_eq(a, b, 64);
    }
    ck_assert_ptr_eq(guest_memset(a + 5, 0x1ab, 30), a + 5);  /* only the low byte */
    memset(b + 5, 0xab, 30);
    ck_assert_mem_eq(a, b, 64);
}
END_TEST

START_TEST(strtoul_matches_libc)
{
    static const char *const in[] = { "0", "42", "  17x", "-5", "+9", "0x1f", "0X1F", "0x",
                                      "077", "08", "zz", "", "ffffffffffffffff",
                                      "18446744073709551616", "123456789abc" };
    static const int bases[] = { 0, 8, 10, 16, 36 };
    for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
        for (size_t b = 0; b < sizeof(bases) / sizeof(bases[0]); b++) {
            char *e1, *e2;
            unsigned long g = guest_strtoul(in[i], &e1, bases[b]);
            unsigned long l = strtoul(in[i], &e2, bases[b]);
            ck_assert_msg(g == l && e1 == e2, "strtoul(\"%s\", %d): guest %lu/+%td, libc %lu/+%td",
                          in[i], bases[b], g, e1 - in[i], l, e2 - in[i]);
        }
    }
    ck_assert_uint_eq(guest_strtoul("1", NULL, 10), 1);
}
END_TEST

CHECK_PROGRAM_ONE_TCASE("guest_string", "string", CHECK_TIMEOUT_DEFAULT,
                        search_and_length, compare, copy_fill_move, strtoul_matches_libc)
