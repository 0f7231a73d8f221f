/*
 * kvsnprintf: the kernel's formatter (see include/guest/printf.h). Pure and
 * freestanding; tests/guest compiles it on the host and compares it with
 * the C library's snprintf.
 */
#include "guest/printf.h"

#include <stdint.h>

struct out {
    char *buf;
    size_t size;
    size_t len;          /* characters produced so far (may exceed size) */
};

static void put(struct out *o, char c)
{
    if (o->len + 1 < o->size)
        o->buf[o->len] = c;
    o->len++;
}

static void pad(struct out *o, char c, int n)
{
    while (n-- > 0)
        put(o, c);
}

struct spec {
    int alt;             /* '#': 0x prefix for %x, 0X for %X, 0 for %o */
    int left;            /* '-' */
    int zero;            /* '0' */
    int width;
    int precision;       /* -1: none */
};

static void emit_str(struct out *o, const char *s, const struct spec *sp)
{
    if (!s)
        s = "(null)";
    int n = 0;
    while (s[n] && (sp->precision < 0 || n < sp->precision))
        n++;
    if (!sp->left)
        pad(o, ' ', sp->width - n);
    for (int i = 0; i < n; i++)
        put(o, s[i]);
    if (sp->left)
        pad(o, ' ', sp->width - n);
}

static void emit_num(struct out *o, uint64_t v, int neg, unsigned base, int upper,
                     const char *prefix, const struct spec *sp)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = digits[v % base];
        v /= base;
    } while (v);
    int plen = 0;
    while (prefix[plen])
        plen++;
    int total = n + plen + (neg ? 1 : 0);
    if (!sp->left && !sp->zero)
        pad(o, ' ', sp->width - total);
    if (neg)
        put(o, '-');
    for (int i = 0; i < plen; i++)
        put(o, prefix[i]);
    if (!sp->left && sp->zero)
        pad(o, '0', sp->width - total);
    while (n)
        put(o, tmp[--n]);
    if (sp->left)
        pad(o, ' ', sp->width - total);
}

enum length { LEN_INT, LEN_CHAR, LEN_SHORT, LEN_LONG, LEN_LLONG, LEN_SIZE };

static enum length parse_length(const char **fmt)
{
    const char *f = *fmt;
    enum length len = LEN_INT;
    if (f[0] == 'h' && f[1] == 'h') {
        len = LEN_CHAR;
        f += 2;
    } else if (f[0] == 'h') {
        len = LEN_SHORT;
        f++;
    } else if (f[0] == 'l' && f[1] == 'l') {
        len = LEN_LLONG;
        f += 2;
    } else if (f[0] == 'l' || f[0] == 'j') {
        len = LEN_LONG;
        f++;
    } else if (f[0] == 'z' || f[0] == 't') {
        len = LEN_SIZE;
        f++;
    }
    *fmt = f;
    return len;
}

static int64_t arg_signed(va_list *ap, enum length len)
{
    switch (len) {
    case LEN_CHAR: return (signed char)va_arg(*ap, int);
    case LEN_SHORT: return (short)va_arg(*ap, int);
    case LEN_LONG: return va_arg(*ap, long);
    case LEN_LLONG: return va_arg(*ap, long long);
    case LEN_SIZE: return (int64_t)va_arg(*ap, size_t);
    default: return va_arg(*ap, int);
    }
}

static uint64_t arg_unsigned(va_list *ap, enum length len)
{
    switch (len) {
    case LEN_CHAR: return (unsigned char)va_arg(*ap, unsigned);
    case LEN_SHORT: return (unsigned short)va_arg(*ap, unsigned);
    case LEN_LONG: return va_arg(*ap, unsigned long);
    case LEN_LLONG: return va_arg(*ap, unsigned long long);
    case LEN_SIZE: return va_arg(*ap, size_t);
    default: return va_arg(*ap, unsigned);
    }
}

/* Parses flags, width and precision after '%'. */
static void parse_spec(const char **fmt, va_list *ap, struct spec *sp)
{
    const char *f = *fmt;
    *sp = (struct spec){ .precision = -1 };
    for (;; f++) {
        if (*f == '-')
            sp->left = 1;
        else if (*f == '#')
            sp->alt = 1;
        else if (*f == '0')
            sp->zero = 1;
        else
            break;
    }
    if (*f == '*') {
        sp->width = va_arg(*ap, int);
        if (sp->width < 0) {
            sp->left = 1;
            sp->width = -sp->width;
        }
        f++;
    } else {
        while (*f >= '0' && *f <= '9')
            sp->width = sp->width * 10 + (*f++ - '0');
    }
    if (*f == '.') {
        f++;
        sp->precision = 0;
        if (*f == '*') {
            sp->precision = va_arg(*ap, int);
            f++;
        } else {
            while (*f >= '0' && *f <= '9')
                sp->precision = sp->precision * 10 + (*f++ - '0');
        }
    }
    *fmt = f;
}

/* One conversion starting after '%'; returns false if unknown. */
static int convert(struct out *o, const char **fmt, va_list *ap)
{
    struct spec sp;
    parse_spec(fmt, ap, &sp);
    enum length len = parse_length(fmt);
    char c = **fmt;
    if (!c)
        return 0;                        /* "%" + flags at the very end */
    (*fmt)++;
    switch (c) {
    case 'd':
    case 'i': {
        int64_t v = arg_signed(ap, len);
        uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
        emit_num(o, mag, v < 0, 10, 0, "", &sp);
        return 1;
    }
    case 'u': emit_num(o, arg_unsigned(ap, len), 0, 10, 0, "", &sp); return 1;
    case 'x':
    case 'X': {
        /* As in C, '#' adds no prefix to a zero value. */
        uint64_t v = arg_unsigned(ap, len);
        const char *prefix = sp.alt && v ? (c == 'x' ? "0x" : "0X") : "";
        emit_num(o, v, 0, 16, c == 'X', prefix, &sp);
        return 1;
    }
    case 'o': {
        uint64_t v = arg_unsigned(ap, len);
        emit_num(o, v, 0, 8, 0, sp.alt && v ? "0" : "", &sp);
        return 1;
    }
    case 'p': {
        struct spec p = { .zero = 1, .width = 18, .precision = -1 };
        emit_num(o, (uint64_t)(uintptr_t)va_arg(*ap, void *), 0, 16, 0, "0x", &p);
        return 1;
    }
    case 'c': {
        char ch[2] = { (char)va_arg(*ap, int), 0 };
        sp.precision = 1;
        emit_str(o, ch, &sp);
        return 1;
    }
    case 's': emit_str(o, va_arg(*ap, const char *), &sp); return 1;
    case '%': put(o, '%'); return 1;
    default: return 0;
    }
}

int kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct out o = { buf, size, 0 };
    va_list args;
    va_copy(args, ap);
    while (*fmt) {
        if (*fmt != '%') {
            put(&o, *fmt++);
            continue;
        }
        const char *start = fmt++;
        if (!*fmt) {
            put(&o, '%');
            break;
        }
        if (!convert(&o, &fmt, &args)) {
            while (start < fmt)          /* unknown: copy it through */
                put(&o, *start++);
        }
    }
    va_end(args);
    if (size)
        buf[o.len < size ? o.len : size - 1] = '\0';
    return (int)o.len;
}

int ksnprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = kvsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}
