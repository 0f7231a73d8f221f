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
    if (!c->any_output && n > 0) {
        clock_gettime(CLOCK_MONOTONIC, &c->first_output_at);
        c->any_output = true;
    }
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

void vmm_console_flush_cpu(struct vmm_console *c, unsigned cpu)
{
    if (cpu >= c->ncpus)
        return;
    pthread_mutex_lock(&c->lock);
    if (c->lines[cpu].len)
        emit(c, cpu);
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

/* Bytes needed to print guest byte b (1, or 4 for "\xNN"). */
static size_t escaped_len(uint8_t b)
{
    return b >= 0x20 && b < 0x7f ? 1 : 4;
}

char *vmm_sanitize(const uint8_t *p, size_t n, char *out, size_t outlen)
{
    size_t need = 0, o = 0, limit;

    for (size_t i = 0; i < n; i++)
        need += escaped_len(p[i]);
    /* Everything fits: limit is the whole buffer. Otherwise keep room for
     * "..." and the NUL. */
    limit = need + 1 <= outlen ? outlen - 1 : outlen - 4;
    for (size_t i = 0; i < n; i++) {
        size_t k = escaped_len(p[i]);
        if (o + k > limit)
            break;
        if (k == 1)
            out[o] = (char)p[i];
        else
            snprintf(out + o, 5, "\\x%02x", p[i]);
        o += k;
    }
    if (need + 1 > outlen) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
    return out;
}
