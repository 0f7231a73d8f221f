/* Regular input files only, bounded, never blocking; see infile.h. */
#include "infile.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static const char *kind(mode_t m)
{
    if (S_ISDIR(m)) return "a directory";
    if (S_ISFIFO(m)) return "a FIFO (pipe; process substitution gives one)";
    if (S_ISCHR(m)) return "a character device";
    if (S_ISBLK(m)) return "a block device";
    if (S_ISSOCK(m)) return "a socket";
    return "not a regular file";
}

int vmm_input_open(const char *path, uint64_t max_bytes, const char *max_text,
                   struct stat *st, char *err, size_t errlen)
{
    struct stat s;
    /* O_NONBLOCK: opening a FIFO without a writer would wait forever. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);

    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &s) < 0) {
        snprintf(err, errlen, "%s: cannot stat: %s", path, strerror(errno));
        goto fail;
    }
    if (!S_ISREG(s.st_mode)) {
        snprintf(err, errlen, "%s: is %s; a regular file is needed", path, kind(s.st_mode));
        goto fail;
    }
    if ((uint64_t)s.st_size > max_bytes) {
        snprintf(err, errlen, "%s: size %lld is too large (limit %s)", path,
                 (long long)s.st_size, max_text);
        goto fail;
    }
    if (fcntl(fd, F_SETFL, 0) < 0) {
        snprintf(err, errlen, "%s: fcntl: %s", path, strerror(errno));
        goto fail;
    }
    if (st)
        *st = s;
    return fd;
fail:
    close(fd);
    return -1;
}

FILE *vmm_open_regular(const char *path, uint64_t max_bytes, const char *max_text,
                       char *err, size_t errlen)
{
    int fd = vmm_input_open(path, max_bytes, max_text, NULL, err, errlen);
    FILE *f;

    if (fd < 0)
        return NULL;
    f = fdopen(fd, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        close(fd);
    }
    return f;
}

bool vmm_same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}
