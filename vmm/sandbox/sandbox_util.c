/*
 * Small helpers of the sandbox: error text, string lists, lexical paths,
 * shell quoting and command-line hints. See sandbox_internal.h.
 */
#define _GNU_SOURCE   /* pipe2, nftw, strndup, F_DUPFD */
#include "sandbox_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int sbx_fail(struct sbx_err *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return -1;
}

int sbx_strv_push(struct sbx_strv *sv, const char *s, struct sbx_err *e)
{
    if (sv->n == sv->cap) {
        size_t cap = sv->cap ? sv->cap * 2 : 16;
        char **v = realloc(sv->v, cap * sizeof *v);
        if (!v)
            return sbx_fail(e, "out of memory");
        sv->v = v;
        sv->cap = cap;
    }
    char *copy = strdup(s);
    if (!copy)
        return sbx_fail(e, "out of memory");
    sv->v[sv->n++] = copy;
    return 0;
}

bool sbx_strv_contains(const struct sbx_strv *sv, const char *s)
{
    for (size_t i = 0; i < sv->n; i++)
        if (strcmp(sv->v[i], s) == 0)
            return true;
    return false;
}

int sbx_strv_push_unique(struct sbx_strv *sv, const char *s, struct sbx_err *e)
{
    return sbx_strv_contains(sv, s) ? 0 : sbx_strv_push(sv, s, e);
}

void sbx_strv_free(struct sbx_strv *sv)
{
    for (size_t i = 0; i < sv->n; i++)
        free(sv->v[i]);
    free(sv->v);
    sv->v = NULL;
    sv->n = sv->cap = 0;
}

char *sbx_path_absolute(const char *base, const char *path)
{
    if (path[0] != '/' && (!base || base[0] != '/'))
        return NULL;
    size_t blen = path[0] == '/' ? 0 : strlen(base);
    char *joined = malloc(blen + strlen(path) + 2);
    char *out = malloc(blen + strlen(path) + 2);
    if (!joined || !out) {
        free(joined);
        free(out);
        return NULL;
    }
    if (path[0] == '/')
        strcpy(joined, path);
    else
        sprintf(joined, "%s/%s", base, path);

    /* Walk the components; out[0..len) is the normalised prefix. */
    size_t len = 0;
    char *save = NULL;
    for (char *c = strtok_r(joined, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
        if (strcmp(c, ".") == 0)
            continue;
        if (strcmp(c, "..") == 0) {    /* drop the last component */
            if (len > 0)
                do
                    len--;
                while (len > 0 && out[len] != '/');
            continue;
        }
        out[len++] = '/';
        size_t cl = strlen(c);
        memcpy(out + len, c, cl);
        len += cl;
    }
    if (len == 0)
        out[len++] = '/';
    out[len] = '\0';
    free(joined);
    return out;
}

char *sbx_shell_quote(const char *s)
{
    size_t n = 2;
    for (const char *p = s; *p; p++)
        n += *p == '\'' ? 4 : 1;
    char *q = malloc(n + 1), *o = q;
    if (!q)
        return NULL;
    *o++ = '\'';
    for (const char *p = s; *p; p++) {
        if (*p == '\'') {          /* close, escaped quote, reopen */
            memcpy(o, "'\\''", 4);
            o += 4;
        } else {
            *o++ = *p;
        }
    }
    *o++ = '\'';
    *o = '\0';
    return q;
}

bool sbx_parse_size_mib(const char *s, uint64_t *mib)
{
    if (!s || !isdigit((unsigned char)s[0]))
        return false;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno)
        return false;
    uint64_t shift = 0;
    switch (toupper((unsigned char)*end)) {
    case '\0': shift = 0; break;
    case 'K': shift = 10; end++; break;
    case 'M': shift = 20; end++; break;
    case 'G': shift = 30; end++; break;
    default: return false;
    }
    if (*end == 'i' || *end == 'I')   /* accept "MiB"-style too */
        end++;
    if (*end == 'B' || *end == 'b')
        end++;
    if (*end != '\0' || v > (UINT64_MAX >> shift))
        return false;
    uint64_t bytes = (uint64_t)v << shift;
    *mib = bytes / (1u << 20) + (bytes % (1u << 20) != 0);
    return true;
}
