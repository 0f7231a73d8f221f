/* Guest console line buffering; see console.h. */
#include "console.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "out.h"

int vmm_console_init(struct vmm_console *c, unsigned ncpus, bool prefix, bool quiet)
{
    memset(c, 0, sizeof(*c));
    c->lines = calloc(ncpus, sizeof(*c->lines));
    if (!c->lines)
        return -1;
    pthread_mutex_init(&c->lock, NULL);
    c->ncpus = ncpus;
    c->prefix = prefix;
    c->quiet = quiet;
    return 0;
}

/* Prints one line of CPU cpu and empties its buffer. Lock held. */
static void emit(struct vmm_console *c, unsigned cpu)
{
    struct vmm_console_line *l = &c->lines[cpu];
    char out[VMM_CONSOLE_LINE + 32];
    int n = 0;

    if (c->prefix)
        n = snprintf(out, sizeof(out), "[cpu%u] ", cpu);
    memcpy(out + n, l->buf, l->len);
    n += (int)l->len;
    out[n++] = '\n';
    if (!c->quiet)
        vmm_out_write(out, (size_t)n);
    l->len = 0;
}

static void put(struct vmm_console *c, unsigned cpu, uint8_t ch)
{
    struct vmm_console_line *l = &c->lines[cpu];
    char esc[5];
    const char *s = esc;
    size_t n;

    if (ch == '\n') {
        emit(c, cpu);
        return;
    }
    if (ch == '\r')
        return;
    if (ch == '\t' || (ch >= 0x20 && ch < 0x7f)) {
        esc[0] = (char)ch;
        n = 1;
    } else {
        n = (size_t)snprintf(esc, sizeof(esc), "\\x%02x", ch);
    }
    if (l->len + n > sizeof(l->buf))
        emit(c, cpu);
    memcpy(l->buf + l->len, s, n);
    l->len += n;
}

void vmm_console_write(struct vmm_console *c, unsigned cpu, const uint8_t *p, size_t n)
{
    if (cpu >= c->ncpus)
        return;
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < n; i++)
        put(c, cpu, p[i]);
    pthread_mutex_unlock(&c->lock);
}

void vmm_console_flush(struct vmm_console *c)
{
    pthread_mutex_lock(&c->lock);
    for (unsigned i = 0; i < c->ncpus; i++)
        if (c->lines[i].len)
            emit(c, i);
    pthread_mutex_unlock(&c->lock);
}

void vmm_console_destroy(struct vmm_console *c)
{
    if (!c->lines)
        return;
    vmm_console_flush(c);
    pthread_mutex_destroy(&c->lock);
    free(c->lines);
    c->lines = NULL;
}

char *vmm_sanitize(const uint8_t *p, size_t n, char *out, size_t outlen)
{
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        char tmp[5];
        size_t k;

        if (p[i] >= 0x20 && p[i] < 0x7f) {
            tmp[0] = (char)p[i];
            k = 1;
        } else {
            k = (size_t)snprintf(tmp, sizeof(tmp), "\\x%02x", p[i]);
        }
        /* The last byte only needs room for itself and the NUL; any other
         * must leave room for "..." in case the next one does not fit. */
        if (o + k + 1 > outlen || (i + 1 < n && o + k + 4 > outlen)) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        memcpy(out + o, tmp, k);
        o += k;
    }
    out[o] = '\0';
    return out;
}
