/*
 * newc ("070701") cpio archives, the format the Linux kernel unpacks as an
 * initramfs and busybox `cpio -o -H newc` writes. The sandbox writes one to
 * carry the per-run files into the L1 guest (appended to the base
 * initramfs), and reads one back from the output disk to return the files
 * the inner vmm wrote. See sandbox_internal.h for the contracts.
 */
#define _GNU_SOURCE   /* pipe2, nftw, strndup, F_DUPFD */
#include "sandbox_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define NEWC_HDR 110u
#define NEWC_TRAILER "TRAILER!!!"

static int write_bytes(struct sbx_cpio_writer *w, const void *p, size_t n, struct sbx_err *e)
{
    if (n && fwrite(p, 1, n, w->f) != n)
        return sbx_fail(e, "writing the per-run initramfs: %s", strerror(errno));
    w->off += n;
    return 0;
}

static int pad4(struct sbx_cpio_writer *w, struct sbx_err *e)
{
    static const char zeros[4];
    return write_bytes(w, zeros, (4 - w->off % 4) % 4, e);
}

/* Header + name (without leading '/'), padded; the caller writes the data. */
static int write_header(struct sbx_cpio_writer *w, const char *path, unsigned mode,
                        uint64_t size, struct sbx_err *e)
{
    while (*path == '/')
        path++;
    if (size > 0xffffffffu)
        return sbx_fail(e, "%s is too large for a cpio archive (4 GiB max)", path);
    char hdr[NEWC_HDR + 1];
    snprintf(hdr, sizeof hdr,
             "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
             w->next_ino++, mode, 0u, 0u, S_ISDIR(mode) ? 2u : 1u, 0u, (unsigned)size,
             0u, 0u, 0u, 0u, (unsigned)strlen(path) + 1, 0u);
    if (write_bytes(w, hdr, NEWC_HDR, e) || write_bytes(w, path, strlen(path) + 1, e))
        return -1;
    return pad4(w, e);
}

void sbx_cpio_init(struct sbx_cpio_writer *w, FILE *f)
{
    memset(w, 0, sizeof *w);
    w->f = f;
    w->next_ino = 0x5b0000;   /* distinct from the base archive's inodes */
}

int sbx_cpio_add_dir(struct sbx_cpio_writer *w, const char *path, struct sbx_err *e)
{
    char *p = sbx_path_absolute("/", path);
    if (!p)
        return sbx_fail(e, "out of memory");
    int rc = 0;
    /* Each ancestor, shortest first: "/a", "/a/b", ... */
    for (char *s = p + 1; rc == 0; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char saved = *s;
        *s = '\0';
        if (p[1] && !sbx_strv_contains(&w->dirs, p)) {
            rc = sbx_strv_push(&w->dirs, p, e);
            if (rc == 0)
                rc = write_header(w, p, S_IFDIR | 0755, 0, e);
        }
        *s = saved;
        if (saved == '\0')
            break;
    }
    free(p);
    return rc;
}

static int add_parent(struct sbx_cpio_writer *w, const char *path, struct sbx_err *e)
{
    char *p = strdup(path);
    if (!p)
        return sbx_fail(e, "out of memory");
    char *slash = strrchr(p, '/');
    int rc = 0;
    if (slash && slash != p) {
        *slash = '\0';
        rc = sbx_cpio_add_dir(w, p, e);
    }
    free(p);
    return rc;
}

int sbx_cpio_add_data(struct sbx_cpio_writer *w, const char *path, const void *data,
                      size_t len, unsigned mode, struct sbx_err *e)
{
    if (add_parent(w, path, e) || write_header(w, path, S_IFREG | (mode & 07777), len, e) ||
        write_bytes(w, data, len, e))
        return -1;
    return pad4(w, e);
}

int sbx_cpio_add_file(struct sbx_cpio_writer *w, const char *path, const char *src,
                      struct sbx_err *e)
{
    FILE *in = fopen(src, "rb");
    if (!in)
        return sbx_fail(e, "cannot read %s: %s", src, strerror(errno));
    struct stat st;
    if (fstat(fileno(in), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(in);
        return sbx_fail(e, "%s is not a regular file", src);
    }
    int rc = add_parent(w, path, e);
    if (rc == 0)
        rc = write_header(w, path, S_IFREG | (st.st_mode & 07777), (uint64_t)st.st_size, e);
    char buf[1 << 16];
    uint64_t left = (uint64_t)st.st_size;
    while (rc == 0 && left > 0) {
        size_t n = fread(buf, 1, left < sizeof buf ? (size_t)left : sizeof buf, in);
        if (n == 0)
            rc = sbx_fail(e, "%s shrank while being copied into the sandbox", src);
        else
            rc = write_bytes(w, buf, n, e);
        left -= n;
    }
    fclose(in);
    return rc ? rc : pad4(w, e);
}

int sbx_cpio_finish(struct sbx_cpio_writer *w, struct sbx_err *e)
{
    int rc = write_header(w, NEWC_TRAILER, 0, 0, e);
    if (rc == 0)
        rc = pad4(w, e);
    sbx_strv_free(&w->dirs);
    return rc;
}

/* ---- reading ------------------------------------------------------------ */

static bool hex8(const char *s, uint32_t *v)
{
    uint32_t x = 0;
    for (int i = 0; i < 8; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9' ? c - '0'
              : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return false;
        x = x << 4 | (uint32_t)d;
    }
    *v = x;
    return true;
}

/* Refuses names that could leave `root`: ".." components, empty names. */
static bool safe_name(const char *name)
{
    if (!*name)
        return false;
    for (const char *p = name; *p;) {
        const char *end = strchr(p, '/');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return false;
        p += n;
        while (*p == '/')
            p++;
    }
    return true;
}

static int mkdir_parents(char *path, struct sbx_err *e)
{
    for (char *s = path + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        int rc = mkdir(path, 0755);
        int err = errno;
        *s = '/';
        if (rc != 0 && err != EEXIST)
            return sbx_fail(e, "cannot create directory for %s: %s", path, strerror(err));
    }
    return 0;
}

static int write_out(const char *root, const char *name, const unsigned char *data,
                     uint32_t size, uint32_t mode, struct sbx_strv *written, struct sbx_err *e)
{
    while (name[0] == '.' && name[1] == '/')
        name += 2;
    while (*name == '/')
        name++;
    if (!safe_name(name))
        return sbx_fail(e, "refusing output file name \"%s\"", name);
    char *path = malloc(strlen(root) + strlen(name) + 2);
    if (!path)
        return sbx_fail(e, "out of memory");
    sprintf(path, "%s%s%s", root, root[strlen(root) - 1] == '/' ? "" : "/", name);
    int rc = mkdir_parents(path, e);
    int fd = rc ? -1 : open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode & 0777);
    if (rc == 0 && fd < 0)
        rc = sbx_fail(e, "cannot write %s: %s", path, strerror(errno));
    for (uint32_t done = 0; rc == 0 && done < size;) {
        ssize_t n = write(fd, data + done, size - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            rc = sbx_fail(e, "cannot write %s: %s", path, strerror(errno));
        else
            done += (uint32_t)n;
    }
    if (fd >= 0 && close(fd) != 0 && rc == 0)
        rc = sbx_fail(e, "cannot write %s: %s", path, strerror(errno));
    if (rc == 0 && written)
        rc = sbx_strv_push(written, path, e);
    free(path);
    return rc;
}

static int extract_mapped(const unsigned char *img, size_t size, const char *root,
                          struct sbx_strv *written, struct sbx_err *e)
{
    size_t off = 0;
    for (;;) {
        if (size - off < NEWC_HDR)
            return sbx_fail(e, "output archive truncated at offset %zu", off);
        const char *h = (const char *)img + off;
        if (memcmp(h, "070701", 6) != 0 && memcmp(h, "070702", 6) != 0)
            return sbx_fail(e, "output archive: bad header magic at offset %zu", off);
        uint32_t f[13];
        for (int i = 0; i < 13; i++)
            if (!hex8(h + 6 + 8 * i, &f[i]))
                return sbx_fail(e, "output archive: bad header at offset %zu", off);
        uint32_t mode = f[1], fsize = f[6], namesize = f[11];
        size_t name_off = off + NEWC_HDR;
        if (namesize == 0 || namesize > 4096 || size - name_off < namesize ||
            img[name_off + namesize - 1] != '\0')
            return sbx_fail(e, "output archive: bad name at offset %zu", off);
        const char *name = (const char *)img + name_off;
        size_t data_off = (name_off + namesize + 3) & ~(size_t)3;
        if (data_off > size || size - data_off < fsize)
            return sbx_fail(e, "output archive: \"%s\" is truncated", name);
        if (strcmp(name, NEWC_TRAILER) == 0)
            return 0;
        if (S_ISREG(mode) &&
            write_out(root, name, img + data_off, fsize, mode, written, e) != 0)
            return -1;
        off = (data_off + fsize + 3) & ~(size_t)3;
    }
}

int sbx_cpio_extract(const char *image, const char *root, struct sbx_strv *written,
                     struct sbx_err *e)
{
    int fd = open(image, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return sbx_fail(e, "cannot open %s: %s", image, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return sbx_fail(e, "cannot stat %s: %s", image, strerror(errno));
    }
    if (st.st_size == 0) {
        close(fd);
        return 0;
    }
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED)
        return sbx_fail(e, "cannot map %s: %s", image, strerror(errno));
    const unsigned char *img = map;
    int rc = img[0] == 0 ? 0 : extract_mapped(img, (size_t)st.st_size, root, written, e);
    munmap(map, (size_t)st.st_size);
    return rc;
}
