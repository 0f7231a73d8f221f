/*
 * What the inner vmm needs inside the sandbox.
 *
 * The L1 guest shares no filesystem with the host (Debian's cloud kernel has
 * no 9p, and virtiofs would need a privileged daemon), so everything the
 * inner vmm reads is copied into a per-run initramfs at the SAME absolute
 * path: the executable, its shared libraries and the input files the caller
 * names (for vmm: the config file and the guest images of its plan). See
 * docs/sandbox.md.
 */
#define _GNU_SOURCE   /* pipe2, nftw, strndup, F_DUPFD */
#include "sandbox_internal.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define SBX_MAX_INPUT_FILES 20000
#define SBX_MAX_INPUT_BYTES (2ull << 30)   /* what the L1 tmpfs can sensibly hold */

/* Paths never copied: pseudo filesystems would be meaningless copies. */
static bool forbidden_path(const char *p)
{
    static const char *const roots[] = {"/proc", "/sys", "/dev", "/run"};
    for (size_t i = 0; i < sizeof roots / sizeof roots[0]; i++) {
        size_t n = strlen(roots[i]);
        if (strncmp(p, roots[i], n) == 0 && (p[n] == '/' || p[n] == '\0'))
            return true;
    }
    return false;
}

static int add_file(struct sbx_inputs *in, const char *abs, struct sbx_err *e)
{
    if (sbx_strv_contains(&in->files, abs) || forbidden_path(abs))
        return 0;
    struct stat st;
    if (stat(abs, &st) != 0)
        return sbx_fail(e, "cannot read %s: %s", abs, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return 0;
    if (in->files.n >= SBX_MAX_INPUT_FILES)
        return sbx_fail(e, "more than %d files to copy into the sandbox", SBX_MAX_INPUT_FILES);
    in->bytes += (uint64_t)st.st_size;
    if (in->bytes > SBX_MAX_INPUT_BYTES)
        return sbx_fail(e, "the files to copy into the sandbox exceed %llu MiB (last: %s)",
                        SBX_MAX_INPUT_BYTES >> 20, abs);
    return sbx_strv_push(&in->files, abs, e);
}

/* ---- shared libraries ----------------------------------------------------- */

int sbx_parse_ldd_line(const char *line, char **path, struct sbx_err *e)
{
    *path = NULL;
    while (*line == ' ' || *line == '\t')
        line++;
    const char *arrow = strstr(line, " => ");
    const char *p = arrow ? arrow + 4 : line;
    if (strncmp(p, "not found", 9) == 0) {
        size_t n = arrow ? (size_t)(arrow - line) : strlen(line);
        return sbx_fail(e, "shared library %.*s of the vmm is not found", (int)n, line);
    }
    if (*p != '/')
        return 0;                       /* linux-vdso.so.1 (0x...) */
    const char *end = strstr(p, " (0x");
    size_t n = end ? (size_t)(end - p) : strcspn(p, " \n");
    *path = strndup(p, n);
    return *path ? 1 : sbx_fail(e, "out of memory");
}

/* PT_INTERP of the ELF executable `exe` into buf; "" for a static binary. */
static int read_interp(const char *exe, char *buf, size_t len, struct sbx_err *e)
{
    buf[0] = '\0';
    int fd = open(exe, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return sbx_fail(e, "cannot read %s: %s", exe, strerror(errno));
    Elf64_Ehdr eh;
    int rc = 0;
    if (pread(fd, &eh, sizeof eh, 0) != (ssize_t)sizeof eh ||
        memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
        eh.e_phentsize != sizeof(Elf64_Phdr)) {
        close(fd);
        return sbx_fail(e, "%s is not a 64-bit ELF executable", exe);
    }
    for (unsigned i = 0; i < eh.e_phnum && rc == 0; i++) {
        Elf64_Phdr ph;
        if (pread(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + i * sizeof ph)) != (ssize_t)sizeof ph)
            rc = sbx_fail(e, "%s: truncated program headers", exe);
        else if (ph.p_type == PT_INTERP) {
            if (ph.p_filesz == 0 || ph.p_filesz >= len ||
                pread(fd, buf, ph.p_filesz, (off_t)ph.p_offset) != (ssize_t)ph.p_filesz)
                rc = sbx_fail(e, "%s: bad PT_INTERP", exe);
            else
                buf[ph.p_filesz - 1] = '\0';
            break;
        }
    }
    close(fd);
    return rc;
}

/* Runs `interp --list exe` (what ldd does; the vmm itself never runs) and
 * adds every library it names. */
static int add_libraries(struct sbx_inputs *in, const char *exe, struct sbx_err *e)
{
    char interp[512];
    if (read_interp(exe, interp, sizeof interp, e) != 0)
        return -1;
    if (!interp[0])
        return 0;                        /* statically linked */
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return sbx_fail(e, "pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return sbx_fail(e, "fork: %s", strerror(errno));
    }
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        execl(interp, interp, "--list", exe, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    FILE *f = fdopen(fds[0], "r");
    int rc = f ? 0 : sbx_fail(e, "fdopen: %s", strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    while (f && getline(&line, &cap, f) > 0) {
        char *path = NULL;
        int r = rc ? 0 : sbx_parse_ldd_line(line, &path, e);
        if (r < 0)
            rc = -1;                     /* keep reading: the child must not block */
        if (r > 0) {
            char *dir = strdup(path), *slash = dir ? strrchr(dir, '/') : NULL;
            if (!dir)
                rc = sbx_fail(e, "out of memory");
            else if (slash && slash != dir) {
                *slash = '\0';
                rc = sbx_strv_push_unique(&in->libdirs, dir, e);
            }
            if (rc == 0)
                rc = add_file(in, path, e);
            free(dir);
        }
        free(path);
    }
    free(line);
    if (f)
        fclose(f);
    else
        close(fds[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (rc == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
        rc = sbx_fail(e, "%s --list %s failed: cannot list the vmm's shared libraries",
                      interp, exe);
    return rc == 0 ? add_file(in, interp, e) : rc;
}

/* ---- files named by arguments and configs --------------------------------- */

static char *dirname_of(const char *abs)
{
    char *d = strdup(abs);
    if (!d)
        return NULL;
    char *slash = strrchr(d, '/');
    if (slash == d)
        d[1] = '\0';
    else if (slash)
        *slash = '\0';
    return d;
}

/* A candidate path `c` (relative to `base`): an existing regular file is
 * copied; an existing directory, or the existing parent of a path-like
 * candidate (an output file the inner vmm will create), is created. */
static int consider(struct sbx_inputs *in, const char *base, const char *c, bool from_argv,
                    struct sbx_err *e)
{
    if (!*c || strlen(c) > 4000)
        return 0;
    char *abs = sbx_path_absolute(base, c);
    if (!abs)
        return sbx_fail(e, "out of memory");
    int rc = 0;
    struct stat st;
    if (forbidden_path(abs)) {
        /* nothing */
    } else if (stat(abs, &st) == 0) {
        if (S_ISREG(st.st_mode))
            rc = add_file(in, abs, e);
        else if (S_ISDIR(st.st_mode) && from_argv)
            rc = sbx_strv_push_unique(&in->dirs, abs, e);
    } else if (from_argv && strchr(c, '/')) {
        char *parent = dirname_of(abs);
        if (!parent)
            rc = sbx_fail(e, "out of memory");
        else if (stat(parent, &st) == 0 && S_ISDIR(st.st_mode) && !forbidden_path(parent))
            rc = sbx_strv_push_unique(&in->dirs, parent, e);
        free(parent);
    }
    free(abs);
    return rc;
}

/* nftw has no user pointer: the walk of $VMM_SANDBOX_FILES uses these. */
static struct sbx_inputs *walk_in;
static struct sbx_err *walk_err;

static int walk_one(const char *p, const struct stat *st, int type, struct FTW *ftw)
{
    (void)ftw;
    if (type == FTW_F && S_ISREG(st->st_mode))
        return add_file(walk_in, p, walk_err) ? 1 : 0;
    if (type == FTW_D)
        return sbx_strv_push_unique(&walk_in->dirs, p, walk_err) ? 1 : 0;
    return 0;
}

static int add_extra(struct sbx_inputs *in, const char *list, const char *cwd, struct sbx_err *e)
{
    char *copy = strdup(list);
    int rc = copy ? 0 : sbx_fail(e, "out of memory");
    char *save = NULL;
    for (char *t = copy ? strtok_r(copy, ":", &save) : NULL; t && rc == 0;
         t = strtok_r(NULL, ":", &save)) {
        char *abs = sbx_path_absolute(cwd, t);
        struct stat st;
        if (!abs)
            rc = sbx_fail(e, "out of memory");
        else if (stat(abs, &st) != 0)
            rc = sbx_fail(e, "VMM_SANDBOX_FILES names %s: %s", abs, strerror(errno));
        else if (S_ISDIR(st.st_mode)) {
            walk_in = in;
            walk_err = e;
            if (nftw(abs, walk_one, 32, FTW_PHYS) != 0)
                rc = -1;
        } else {
            rc = add_file(in, abs, e);
        }
        free(abs);
    }
    free(copy);
    return rc;
}

/* One input the caller named: it must exist and be a regular file (the
 * caller validated it; a file that vanished since is an error, not a
 * silent omission). */
static int add_input(struct sbx_inputs *in, const char *cwd, const char *p, struct sbx_err *e)
{
    char *abs = sbx_path_absolute(cwd, p);
    struct stat st;
    int rc;

    if (!abs)
        return sbx_fail(e, "out of memory");
    if (stat(abs, &st) != 0)
        rc = sbx_fail(e, "cannot copy %s into the sandbox: %s", abs, strerror(errno));
    else if (!S_ISREG(st.st_mode))
        rc = sbx_fail(e, "cannot copy %s into the sandbox: not a regular file", abs);
    else if (forbidden_path(abs))
        rc = sbx_fail(e, "cannot copy %s into the sandbox: a path under /proc, /sys, "
                      "/dev or /run", abs);
    else
        rc = add_file(in, abs, e);
    free(abs);
    return rc;
}

int sbx_collect_inputs(const char *exe, const char *const *inputs, size_t ninputs,
                       const char *const *outdirs, size_t noutdirs, const char *cwd,
                       struct sbx_inputs *in, struct sbx_err *e)
{
    memset(in, 0, sizeof *in);
    if (add_file(in, exe, e) || add_libraries(in, exe, e) ||
        sbx_strv_push(&in->dirs, cwd, e))
        return -1;
    for (size_t i = 0; i < ninputs; i++)
        if (add_input(in, cwd, inputs[i], e) != 0)
            return -1;
    for (size_t i = 0; i < noutdirs; i++) {
        char *abs = sbx_path_absolute(cwd, outdirs[i]);
        int rc = abs ? sbx_strv_push_unique(&in->dirs, abs, e) : sbx_fail(e, "out of memory");
        free(abs);
        if (rc)
            return -1;
    }
    /* Log files the inner program writes because the passed environment
       says so (Check's per-test logs): their directories must exist inside. */
    static const char *const log_vars[] = {"CK_TAP_LOG_FILE_NAME", "CK_XML_LOG_FILE_NAME",
                                           "CK_LOG_FILE_NAME"};
    for (size_t i = 0; i < sizeof log_vars / sizeof log_vars[0]; i++) {
        const char *v = getenv(log_vars[i]);
        if (v && *v && consider(in, cwd, v, true, e) != 0)
            return -1;
    }
    const char *extra = getenv("VMM_SANDBOX_FILES");
    if (extra && *extra && add_extra(in, extra, cwd, e) != 0)
        return -1;
    return 0;
}

void sbx_inputs_free(struct sbx_inputs *in)
{
    sbx_strv_free(&in->files);
    sbx_strv_free(&in->dirs);
    sbx_strv_free(&in->libdirs);
    in->bytes = 0;
}
