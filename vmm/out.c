/* Locked output to stdout/stderr with a copy to the log; see out.h. */
#include "out.h"

#include <pthread.h>
#include <stdarg.h>

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static FILE *out_log;

void vmm_out_set_log(FILE *log)
{
    pthread_mutex_lock(&out_lock);
    out_log = log;
    pthread_mutex_unlock(&out_lock);
}

static void vout(FILE *f, const char *fmt, va_list ap)
{
    va_list copy;

    va_copy(copy, ap);
    pthread_mutex_lock(&out_lock);
    vfprintf(f, fmt, ap);
    fflush(f);
    if (out_log) {
        vfprintf(out_log, fmt, copy);
        fflush(out_log);
    }
    pthread_mutex_unlock(&out_lock);
    va_end(copy);
}

void vmm_outf(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vout(stdout, fmt, ap);
    va_end(ap);
}

void vmm_errf(const char *fmt, ...)
{
    va_list ap;

    /* stdout first: keep ordering sane when both go to one terminal. */
    pthread_mutex_lock(&out_lock);
    fflush(stdout);
    pthread_mutex_unlock(&out_lock);
    va_start(ap, fmt);
    vout(stderr, fmt, ap);
    va_end(ap);
}

static void write_locked(FILE *f, const char *buf, size_t len)
{
    pthread_mutex_lock(&out_lock);
    if (f == stderr)
        fflush(stdout);
    fwrite(buf, 1, len, f);
    fflush(f);
    if (out_log) {
        fwrite(buf, 1, len, out_log);
        fflush(out_log);
    }
    pthread_mutex_unlock(&out_lock);
}

void vmm_out_write(const char *buf, size_t len)
{
    write_locked(stdout, buf, len);
}

void vmm_err_write(const char *buf, size_t len)
{
    write_locked(stderr, buf, len);
}
