/*
 * The sandbox for hosts without a usable /dev/kvm (docs/sandbox.md):
 *
 *   host --- vmm (outer) --- QEMU/TCG, -cpu max (nested SVM + NPT)
 *                              \-- L1: Debian cloud kernel + kvm-amd, busybox init
 *                                    \-- vmm --no-sandbox (inner) --- KVM guest
 *
 * This file finds the assets, builds the per-run initramfs (the inner vmm,
 * its libraries and input files at their host paths, plus the command),
 * runs QEMU through sandbox_monitor.c, copies the files the inner vmm wrote
 * back to the host, and maps the outcome to an exit status.
 */
#define _GNU_SOURCE   /* pipe2, nftw, strndup, F_DUPFD */
#include "sandbox.h"

#include "sandbox_internal.h"
#include "out.h"
#include "abi/vmm.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

#ifndef VMM_SANDBOX_DIR
#define VMM_SANDBOX_DIR ""
#endif
#ifndef VMM_SANDBOX_FALLBACK_DIR
#define VMM_SANDBOX_FALLBACK_DIR ""
#endif

#define SBX_DISK_BYTES (4ull << 30)      /* sparse; bounds what can come back */
#define SBX_DEFAULT_BOOT_TIMEOUT 60.0
#define SBX_DEFAULT_SILENCE_MARGIN 120.0 /* on top of the inner --timeout */
#define SBX_DEFAULT_INNER_TIMEOUT 30.0
#define SBX_L1_BASE_MIB 384              /* L1 kernel, init, page cache */

bool sandbox_kvm_usable(const char **why)
{
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        if (why)
            *why = strerror(errno);
        return false;
    }
    close(fd);
    return true;
}

/* One line "vmm: sandbox: ..." on stderr, through vmm's output path (so a
 * --log file gets it too). */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    vmm_errf("vmm: sandbox: %s\n", line);
}

const char *sandbox_fidelity_notice(void)
{
    return "results inside the sandbox: the validator's ordering verdicts and the "
           "VMM's behaviour are as on hardware; MMU corner cases (page-fault error "
           "codes, reserved bits, TLB lifetimes) and timings are QEMU's emulation, "
           "not hardware results (docs/sandbox.md \"Fidelity\")";
}

/* ---- configuration -------------------------------------------------------- */

struct assets {
    char kernel[PATH_MAX], initrd[PATH_MAX], qemu[PATH_MAX];
};

static bool readable(const char *p)
{
    return access(p, R_OK) == 0;
}

/* The kernel and base initramfs: $VMM_SANDBOX_KERNEL / $VMM_SANDBOX_INITRD,
 * else in $VMM_SANDBOX_DIR, else in this build tree's directory, else in the
 * one scripts/setup prepares. */
static int find_assets(struct assets *a, struct sbx_err *e)
{
    const char *dir = getenv("VMM_SANDBOX_DIR");
    if (!dir || !*dir) {
        char probe[PATH_MAX];
        snprintf(probe, sizeof probe, "%s/initramfs.cpio", VMM_SANDBOX_DIR);
        dir = readable(probe) || !*VMM_SANDBOX_FALLBACK_DIR ? VMM_SANDBOX_DIR
                                                             : VMM_SANDBOX_FALLBACK_DIR;
    }
    const char *k = getenv("VMM_SANDBOX_KERNEL"), *i = getenv("VMM_SANDBOX_INITRD");
    snprintf(a->kernel, sizeof a->kernel, "%s%s", k && *k ? k : dir, k && *k ? "" : "/vmlinuz");
    snprintf(a->initrd, sizeof a->initrd, "%s%s", i && *i ? i : dir,
             i && *i ? "" : "/initramfs.cpio");
    const char *missing = !readable(a->kernel) ? a->kernel : !readable(a->initrd) ? a->initrd : NULL;
    if (missing)
        return sbx_fail(e, "the sandbox assets are missing (%s: %s): run scripts/setup, or "
                        "scripts/sandbox/prepare DIR and set VMM_SANDBOX_DIR=DIR",
                        missing, strerror(errno));
    return 0;
}

/* $VMM_SANDBOX_QEMU, or qemu-system-x86_64 from PATH. */
static int find_qemu(struct assets *a, struct sbx_err *e)
{
    const char *q = getenv("VMM_SANDBOX_QEMU");
    if (q && *q) {
        snprintf(a->qemu, sizeof a->qemu, "%s", q);
        if (access(a->qemu, X_OK) != 0)
            return sbx_fail(e, "VMM_SANDBOX_QEMU=%s is not executable: %s", q, strerror(errno));
        return 0;
    }
    const char *path = getenv("PATH");
    char *copy = strdup(path && *path ? path : "/usr/local/bin:/usr/bin:/bin");
    char *save = NULL;
    a->qemu[0] = '\0';
    for (char *d = copy ? strtok_r(copy, ":", &save) : NULL; d; d = strtok_r(NULL, ":", &save)) {
        snprintf(a->qemu, sizeof a->qemu, "%s/qemu-system-x86_64", d);
        if (access(a->qemu, X_OK) == 0)
            break;
        a->qemu[0] = '\0';
    }
    free(copy);
    if (!a->qemu[0])
        return sbx_fail(e, "qemu-system-x86_64 was not found in PATH: run scripts/setup "
                        "(Debian package qemu-system-x86)");
    return 0;
}

/* A positive number of seconds from the environment, or the default. */
static int env_seconds(const char *name, double def, double *out, struct sbx_err *e)
{
    const char *v = getenv(name);
    *out = def;
    if (!v || !*v)
        return 0;
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (errno || *end || !(d > 0) || d > 86400)
        return sbx_fail(e, "%s=\"%s\" is not a number of seconds in (0, 86400]", name, v);
    *out = d;
    return 0;
}

uint64_t sbx_l1_mem_mib(uint64_t guest_mem, uint64_t input_bytes)
{
    /* L1's kernel and init, the tmpfs copy of the inputs (twice: the
     * initramfs and its unpacked files), and the guest's whole RAM, which
     * the inner vmm's guest may touch. */
    uint64_t guest = (guest_mem + (1ull << 20) - 1) >> 20;
    uint64_t want = SBX_L1_BASE_MIB + 2 * ((input_bytes + (1ull << 20) - 1) >> 20) +
                    (guest > 256 ? guest : 256);
    return want < 1024 ? 1024 : want;
}

static int plan(struct sbx_qemu_cfg *c, const struct assets *a,
                const struct sandbox_request *rq, uint64_t input_bytes, struct sbx_err *e)
{
    c->qemu = a->qemu;
    c->kernel = a->kernel;
    c->smp = 2;
    c->verbose = rq->verbose;
    double inner = SBX_DEFAULT_INNER_TIMEOUT;
    if (rq->timeout_s > inner)
        inner = rq->timeout_s;
    if (env_seconds("VMM_SANDBOX_BOOT_TIMEOUT", SBX_DEFAULT_BOOT_TIMEOUT, &c->boot_timeout_s, e) ||
        env_seconds("VMM_SANDBOX_SILENCE_TIMEOUT", inner + SBX_DEFAULT_SILENCE_MARGIN,
                    &c->silence_timeout_s, e))
        return -1;
    c->exit_grace_s = 20;

    uint64_t want = sbx_l1_mem_mib(rq->mem, input_bytes);
    const char *m = getenv("VMM_SANDBOX_MEM");
    if (m && *m && (!sbx_parse_size_mib(m, &want) || want < 256))
        return sbx_fail(e, "VMM_SANDBOX_MEM=\"%s\" is not a size of at least 256M", m);
    c->mem_mib = (unsigned)want;
    return 0;
}

/* ---- the per-run initramfs ------------------------------------------------ */

static int copy_into(FILE *out, const char *src, struct sbx_err *e)
{
    FILE *in = fopen(src, "rb");
    if (!in)
        return sbx_fail(e, "cannot read %s: %s", src, strerror(errno));
    char buf[1 << 16];
    size_t n;
    int rc = 0;
    while (rc == 0 && (n = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, n, out) != n)
            rc = sbx_fail(e, "writing the per-run initramfs: %s", strerror(errno));
    if (rc == 0 && ferror(in))
        rc = sbx_fail(e, "cannot read %s: %s", src, strerror(errno));
    fclose(in);
    return rc;
}

/* base initramfs, padded to 4 bytes, then a second archive with the inputs
 * and /sandbox/run/cmd (the kernel unpacks concatenated archives). */
static int build_initrd(const char *path, const char *base, const struct sbx_inputs *in,
                        const char *cmd, struct sbx_err *e)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return sbx_fail(e, "cannot create %s: %s", path, strerror(errno));
    int rc = copy_into(f, base, e);
    long off = ftell(f);
    static const char zeros[4];
    if (rc == 0 && off % 4 && fwrite(zeros, 1, (size_t)(4 - off % 4), f) != (size_t)(4 - off % 4))
        rc = sbx_fail(e, "writing %s: %s", path, strerror(errno));
    struct sbx_cpio_writer w;
    sbx_cpio_init(&w, f);
    for (size_t i = 0; rc == 0 && i < in->dirs.n; i++)
        rc = sbx_cpio_add_dir(&w, in->dirs.v[i], e);
    for (size_t i = 0; rc == 0 && i < in->files.n; i++)
        rc = sbx_cpio_add_file(&w, in->files.v[i], in->files.v[i], e);
    if (rc == 0)
        rc = sbx_cpio_add_data(&w, "/sandbox/run/cmd", cmd, strlen(cmd), 0644, e);
    if (rc == 0)
        rc = sbx_cpio_finish(&w, e);
    else
        sbx_strv_free(&w.dirs);
    if (fclose(f) != 0 && rc == 0)
        rc = sbx_fail(e, "writing %s: %s", path, strerror(errno));
    return rc;
}

static int make_disk(const char *path, struct sbx_err *e)
{
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return sbx_fail(e, "cannot create %s: %s", path, strerror(errno));
    int rc = ftruncate(fd, (off_t)SBX_DISK_BYTES) == 0
                 ? 0 : sbx_fail(e, "cannot size %s: %s", path, strerror(errno));
    close(fd);
    return rc;
}

/* ---- the run ---------------------------------------------------------------- */

struct workdir {
    char dir[PATH_MAX], initrd[PATH_MAX + 32], disk[PATH_MAX + 32];
};

static int make_workdir(struct workdir *w, struct sbx_err *e)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(w->dir, sizeof w->dir, "%s/vmm-sandbox.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(w->dir))
        return sbx_fail(e, "cannot create a temporary directory %s: %s", w->dir, strerror(errno));
    snprintf(w->initrd, sizeof w->initrd, "%s/initrd.cpio", w->dir);
    snprintf(w->disk, sizeof w->disk, "%s/out.img", w->dir);
    return 0;
}

static void remove_workdir(const struct workdir *w)
{
    unlink(w->initrd);
    unlink(w->disk);
    rmdir(w->dir);
}

/* Everything up to QEMU's start; fills cfg and the work directory. */
static int prepare_run(const struct sandbox_request *rq, const struct assets *a,
                       struct workdir *w, struct sbx_qemu_cfg *cfg, struct sbx_err *e)
{
    char exe[PATH_MAX], cwd[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return sbx_fail(e, "cannot find the vmm executable (/proc/self/exe): %s", strerror(errno));
    exe[n] = '\0';
    if (!getcwd(cwd, sizeof cwd))
        return sbx_fail(e, "cannot get the working directory: %s", strerror(errno));

    struct sbx_inputs in;
    if (sbx_collect_inputs(exe, rq->inputs, rq->ninputs, rq->outdirs, rq->noutdirs, cwd,
                           &in, e) != 0) {
        sbx_inputs_free(&in);
        return -1;
    }
    char *cmd = sbx_build_cmd(exe, rq->argc, rq->argv, cwd, &in.libdirs, environ);
    int rc = cmd ? 0 : sbx_fail(e, "out of memory");
    if (rc == 0)
        rc = plan(cfg, a, rq, in.bytes, e);
    if (rc == 0 && cfg->verbose) {
        say("the plan: up to %u vCPU(s), %llu MiB of guest RAM, a %u s watchdog; L1: %u "
            "CPUs, %u MiB of RAM", rq->cpus, (unsigned long long)(rq->mem >> 20),
            rq->timeout_s, cfg->smp, cfg->mem_mib);
        say("copying %zu files (%llu KiB) into the sandbox", in.files.n,
            (unsigned long long)(in.bytes >> 10));
        for (size_t i = 0; i < in.files.n; i++)
            say("copying in %s", in.files.v[i]);
    }
    if (rc == 0)
        rc = make_workdir(w, e);
    if (rc == 0) {
        rc = build_initrd(w->initrd, a->initrd, &in, cmd, e);
        if (rc == 0)
            rc = make_disk(w->disk, e);
        if (rc != 0)
            remove_workdir(w);
    }
    cfg->initrd = w->initrd;
    cfg->disk = w->disk;
    free(cmd);
    sbx_inputs_free(&in);
    return rc;
}

static int finish(const struct sbx_result *r, const struct workdir *w,
                  const struct sbx_qemu_cfg *cfg)
{
    bool verbose = cfg->verbose;
    if (r->outcome == SBX_INNER_EXITED) {
        struct sbx_strv written = {0};
        struct sbx_err e;
        if (sbx_cpio_extract(w->disk, "/", &written, &e) != 0)
            say("warning: files written inside the sandbox were not all copied back: %s", e.msg);
        for (size_t i = 0; verbose && i < written.n; i++)
            say("copied back %s", written.v[i]);
        sbx_strv_free(&written);
        if (verbose)
            say("inner vmm exited with status %d; boot to init %.2f s, total %.2f s",
                r->inner_status, r->boot_s, r->total_s);
        if (r->inner_status == 126 || r->inner_status == 127) {
            say("infrastructure failure: the inner vmm could not be started (status %d, "
                "see the message above)", r->inner_status);
            return VMM_EXIT_SANDBOX;
        }
        if (r->inner_status > 128) {
            int sig = r->inner_status - 128;
            say("infrastructure failure: the inner vmm was killed by signal %d (%s)%s; "
                "inner status %d", sig, strsignal(sig),
                sig == SIGKILL ? ", most likely by the out-of-memory killer of the "
                                 "sandbox's kernel" : "", r->inner_status);
            if (sig == SIGKILL)
                say("the sandbox had %u MiB of RAM (VMM_SANDBOX_MEM sets it)", cfg->mem_mib);
            return VMM_EXIT_SANDBOX;
        }
        if (r->inner_status > VMM_EXIT_STATUS_MAX) {
            say("infrastructure failure: the inner vmm exited with status %d, which is "
                "not one of vmm's", r->inner_status);
            return VMM_EXIT_SANDBOX;
        }
        return r->inner_status;
    }
    if (r->outcome == SBX_INTERRUPTED) {
        say("interrupted by signal %d; QEMU was stopped", r->signo);
        return VMM_EXIT_SANDBOX;
    }
    say("infrastructure failure: %s", r->detail);
    if (!verbose && r->console_tail[0])
        vmm_errf("vmm: sandbox: last console lines (run with --verbose for all):\n%s",
                 r->console_tail);
    return VMM_EXIT_SANDBOX;
}

int sandbox_run(const struct sandbox_request *rq)
{
    struct sbx_err e = {{0}};
    struct assets a;
    struct workdir w;
    struct sbx_qemu_cfg cfg = {0};
    if (find_assets(&a, &e) != 0 || find_qemu(&a, &e) != 0 ||
        prepare_run(rq, &a, &w, &cfg, &e) != 0) {
        say("%s", e.msg);
        return VMM_EXIT_SANDBOX;
    }
    fflush(stdout);
    fflush(stderr);
    struct sbx_result r;
    int status;
    if (sbx_qemu_run(&cfg, &r, &e) != 0) {
        say("cannot start QEMU: %s", e.msg);
        status = VMM_EXIT_SANDBOX;
    } else {
        status = finish(&r, &w, &cfg);
    }
    remove_workdir(&w);
    int sig = r.outcome == SBX_INTERRUPTED ? r.signo : 0;
    if (sig) {                /* die the way we were asked to, QEMU gone */
        fflush(NULL);
        signal(sig, SIG_DFL);
        raise(sig);
    }
    return status;
}
