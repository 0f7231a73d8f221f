/*
 * Runs QEMU for the sandbox and watches it: streams the inner vmm's stdout
 * and stderr (serial ports 1 and 2) live, reads the init's protocol lines
 * from the console (port 0), enforces the boot and silence watchdogs, and
 * makes sure no QEMU process outlives the run. See sandbox_internal.h and
 * scripts/sandbox/init for the protocol.
 */
#define _GNU_SOURCE   /* pipe2, nftw, strndup, F_DUPFD */
#include "sandbox_internal.h"
#include "out.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MARK "VMM-SANDBOX: "

enum sbx_line sbx_console_feed(struct sbx_console *st, const char *line)
{
    /* A kernel message may precede the marker on the same line. */
    const char *m = strstr(line, MARK);
    if (!m)
        return SBX_LINE_NOISE;
    m += strlen(MARK);
    if (strcmp(m, "init") == 0) {
        st->init_seen = true;
        return SBX_LINE_INIT;
    }
    if (strcmp(m, "ready") == 0) {
        st->ready_seen = true;
        return SBX_LINE_READY;
    }
    if (strncmp(m, "warning ", 8) == 0)
        return SBX_LINE_WARNING;
    if (strncmp(m, "exit ", 5) == 0) {
        char *end;
        errno = 0;
        long v = strtol(m + 5, &end, 10);
        if (!errno && end != m + 5 && *end == '\0' && v >= 0 && v <= 255) {
            st->exit_seen = true;
            st->exit_status = (int)v;
            return SBX_LINE_EXIT;
        }
    } else if (strncmp(m, "error ", 6) != 0) {
        return SBX_LINE_NOISE;          /* unknown marker: not ours to act on */
    }
    st->error_seen = true;
    snprintf(st->error, sizeof st->error, "%s",
             strncmp(m, "error ", 6) == 0 ? m + 6 : line);
    return SBX_LINE_ERROR;
}

/* ---- signals: stop QEMU, then let the caller re-raise --------------------- */

static volatile sig_atomic_t got_signal;
static const int watched_signals[] = {SIGINT, SIGTERM, SIGHUP};

/* Dispositions and mask of the caller, restored after the run. */
struct saved_signals {
    struct sigaction watched[3], pipe, chld;
    sigset_t mask;
};

static void on_signal(int sig)
{
    got_signal = sig;
}

int sbx_pending_signal(void)
{
    return got_signal;
}

static void install_handlers(struct saved_signals *old)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;        /* no SA_RESTART: poll() returns EINTR */
    sigemptyset(&sa.sa_mask);
    got_signal = 0;
    sigset_t watch;
    sigemptyset(&watch);
    for (int i = 0; i < 3; i++) {
        sigaction(watched_signals[i], &sa, &old->watched[i]);
        sigaddset(&watch, watched_signals[i]);
    }
    pthread_sigmask(SIG_UNBLOCK, &watch, &old->mask);   /* the caller may block them */
    sa.sa_handler = SIG_IGN;          /* a closed stdout must not kill us with QEMU alive */
    sigaction(SIGPIPE, &sa, &old->pipe);
    sa.sa_handler = SIG_DFL;          /* SIG_IGN would auto-reap QEMU: no exit status */
    sigaction(SIGCHLD, &sa, &old->chld);
}

static void restore_handlers(const struct saved_signals *old)
{
    for (int i = 0; i < 3; i++)
        sigaction(watched_signals[i], &old->watched[i], NULL);
    sigaction(SIGPIPE, &old->pipe, NULL);
    sigaction(SIGCHLD, &old->chld, NULL);
    pthread_sigmask(SIG_SETMASK, &old->mask, NULL);
}

/* ---- small helpers --------------------------------------------------------- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Writes everything; a broken stdout/stderr is ignored (nothing to tell). */
static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

/* Appends a line to a bounded tail buffer, dropping the oldest lines. */
static void tail_add(char *tail, size_t cap, const char *line)
{
    size_t tl = strlen(tail), ll = strlen(line);
    if (ll + 2 > cap)
        line += ll - (cap - 2), ll = cap - 2;
    while (tl + ll + 2 > cap) {
        char *nl = strchr(tail, '\n');
        size_t drop = nl ? (size_t)(nl - tail) + 1 : tl;
        memmove(tail, tail + drop, tl - drop + 1);
        tl -= drop;
    }
    memcpy(tail + tl, line, ll);
    tail[tl + ll] = '\n';
    tail[tl + ll + 1] = '\0';
}

/* QEMU -drive values are comma-separated: a comma in a path is doubled. */
static char *qemu_escape(const char *s)
{
    char *o = malloc(strlen(s) * 2 + 1), *p = o;
    if (!o)
        return NULL;
    for (; *s; s++) {
        if (*s == ',')
            *p++ = ',';
        *p++ = *s;
    }
    *p = '\0';
    return o;
}

/* ---- the QEMU child ------------------------------------------------------- */

enum { P_CON, P_OUT, P_ERR, P_QEMU, NPIPES };

struct run {
    const struct sbx_qemu_cfg *cfg;
    struct sbx_result *r;
    struct sbx_console con;
    pid_t pid;
    int rd[NPIPES];
    char line[4096];           /* console line being assembled */
    size_t line_len;
    char qemu_tail[1024];      /* QEMU's own messages, for failures */
    struct sbx_relay out_relay, err_relay;  /* the inner stdout / stderr */
    double t0, last_output, exit_seen_at;
    bool reaped;
    int wstatus;
};

static pid_t spawn_qemu(const struct sbx_qemu_cfg *cfg, const int wr[NPIPES], struct sbx_err *e)
{
    char mem[32], smp[16], *disk_esc = qemu_escape(cfg->disk);
    if (!disk_esc)
        return sbx_fail(e, "out of memory");
    char drive[4200];
    snprintf(mem, sizeof mem, "%u", cfg->mem_mib);
    snprintf(smp, sizeof smp, "%u", cfg->smp);
    snprintf(drive, sizeof drive, "file=%s,format=raw,if=virtio,cache=unsafe", disk_esc);
    free(disk_esc);
    /* Single-threaded TCG: multi-threaded TCG hung ~1 boot in 30 (docs/sandbox.md). */
    const char *argv[] = {
        cfg->qemu, "-accel", "tcg,thread=single", "-cpu", "max", "-smp", smp, "-m", mem,
        "-nodefaults", "-no-user-config", "-display", "none", "-monitor", "none",
        "-no-reboot", "-kernel", cfg->kernel, "-initrd", cfg->initrd,
        "-append", "console=ttyS0 quiet panic=-1 rdinit=/init",
        "-chardev", "file,id=s0,path=/dev/fd/3", "-serial", "chardev:s0",
        "-chardev", "file,id=s1,path=/dev/fd/4", "-serial", "chardev:s1",
        "-chardev", "file,id=s2,path=/dev/fd/5", "-serial", "chardev:s2",
        "-drive", drive, NULL,
    };
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        return sbx_fail(e, "fork: %s", strerror(errno));
    if (pid > 0)
        return pid;
    /* Child: only async-signal-safe calls until exec. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);   /* QEMU never outlives the vmm */
    if (getppid() != parent)
        _exit(127);
    setpgid(0, 0);                      /* our handler, not the tty, stops it */
    int tmp[NPIPES];
    for (int i = 0; i < NPIPES; i++)
        tmp[i] = fcntl(wr[i], F_DUPFD, 10);
    int null = open("/dev/null", O_RDONLY);
    dup2(null, 0);
    dup2(tmp[P_QEMU], 1);
    dup2(tmp[P_QEMU], 2);
    dup2(tmp[P_CON], 3);
    dup2(tmp[P_OUT], 4);
    dup2(tmp[P_ERR], 5);
    /* Nothing else of the vmm's (descriptors without O_CLOEXEC) reaches QEMU. */
    close_range(6, ~0u, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    for (int s = 1; s < NSIG; s++)
        sigaction(s, &sa, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execv(cfg->qemu, (char *const *)argv);
    static const char msg[] = "vmm: sandbox: cannot execute QEMU\n";
    write_all(2, msg, sizeof msg - 1);
    _exit(127);
}

static void stop_qemu(struct run *x)
{
    if (x->reaped)
        return;
    kill(x->pid, SIGTERM);
    for (int i = 0; i < 40; i++) {      /* 2 s for a clean exit */
        if (waitpid(x->pid, &x->wstatus, WNOHANG) == x->pid) {
            x->reaped = true;
            return;
        }
        usleep(50000);
    }
    kill(x->pid, SIGKILL);
    while (waitpid(x->pid, &x->wstatus, 0) < 0 && errno == EINTR)
        ;
    x->reaped = true;
}

static void console_line(struct run *x)
{
    x->line[x->line_len] = '\0';
    if (x->line_len && x->line[x->line_len - 1] == '\r')
        x->line[--x->line_len] = '\0';
    x->line_len = 0;
    const char *l = x->line;
    enum sbx_line kind = sbx_console_feed(&x->con, l);
    double t = now_s() - x->t0;
    if (kind != SBX_LINE_NOISE)
        x->last_output = now_s();
    if (kind == SBX_LINE_INIT) {
        x->r->boot_s = t;
        if (x->cfg->verbose)
            vmm_errf("vmm: sandbox: init started %.2f s after QEMU started\n", t);
    } else if (kind == SBX_LINE_READY && x->cfg->verbose) {
        vmm_errf("vmm: sandbox: /dev/kvm ready %.2f s after QEMU started\n", t);
    } else if (kind == SBX_LINE_WARNING) {
        vmm_errf("vmm: sandbox: warning: %s\n", strstr(l, MARK) + strlen(MARK) + 8);
    } else if (kind == SBX_LINE_EXIT) {
        x->exit_seen_at = now_s();
    } else if (x->cfg->verbose) {
        vmm_errf("[sandbox] %s\n", l);
    }
    if (kind == SBX_LINE_NOISE || kind == SBX_LINE_ERROR)
        tail_add(x->r->console_tail, sizeof x->r->console_tail, l);
}

void sbx_relay_feed(struct sbx_relay *r, const char *p, size_t n, sbx_relay_emit_fn emit,
                    void *ctx)
{
    for (size_t k = 0; k < n; k++) {
        r->buf[r->len++] = p[k];
        if (p[k] == '\n' || r->len == sizeof r->buf) {
            emit(ctx, r->buf, r->len);
            r->len = 0;
        }
    }
}

void sbx_relay_flush(struct sbx_relay *r, sbx_relay_emit_fn emit, void *ctx)
{
    if (r->len)
        emit(ctx, r->buf, r->len);
    r->len = 0;
}

/* The relays' way out: through vmm's output path (the outer vmm's --log
 * gets a copy). */
static void emit_stdout(void *ctx, const char *p, size_t n)
{
    (void)ctx;
    vmm_out_write(p, n);
}

static void emit_stderr(void *ctx, const char *p, size_t n)
{
    (void)ctx;
    vmm_err_write(p, n);
}

/* Reads what is there from pipe i; false at EOF. */
static bool pump(struct run *x, int i)
{
    char buf[4096];
    ssize_t n = read(x->rd[i], buf, sizeof buf);
    if (n < 0)
        return errno == EINTR || errno == EAGAIN;
    if (n == 0)
        return false;
    /* Only the inner vmm's output and protocol lines prove progress: a
     * wedged L1 can keep printing (soft lockup reports) forever. */
    if (i == P_OUT || i == P_ERR)
        x->last_output = now_s();
    if (i == P_OUT)
        sbx_relay_feed(&x->out_relay, buf, (size_t)n, emit_stdout, NULL);
    else if (i == P_ERR)
        sbx_relay_feed(&x->err_relay, buf, (size_t)n, emit_stderr, NULL);
    else if (i == P_QEMU) {
        if (x->cfg->verbose)
            vmm_err_write(buf, (size_t)n);
        for (ssize_t k = 0; k < n; k++) {   /* keep a bounded tail */
            size_t tl = strlen(x->qemu_tail);
            if (tl + 2 >= sizeof x->qemu_tail)
                memmove(x->qemu_tail, x->qemu_tail + tl / 2, tl - tl / 2 + 1), tl -= tl / 2;
            x->qemu_tail[tl] = buf[k];
            x->qemu_tail[tl + 1] = '\0';
        }
    } else {
        for (ssize_t k = 0; k < n; k++) {
            if (buf[k] == '\n' || x->line_len == sizeof x->line - 1)
                console_line(x);
            if (buf[k] != '\n')
                x->line[x->line_len++] = buf[k];
        }
    }
    return true;
}

/* Decides whether a watchdog fires now; fills the outcome when it does. */
static bool watchdog(struct run *x, double t)
{
    const struct sbx_qemu_cfg *c = x->cfg;
    struct sbx_result *r = x->r;
    if (!x->con.init_seen && t - x->t0 > c->boot_timeout_s) {
        r->outcome = SBX_BOOT_TIMEOUT;
        snprintf(r->detail, sizeof r->detail,
                 "the sandbox did not reach its init within %.0f s (boot watchdog, "
                 "VMM_SANDBOX_BOOT_TIMEOUT); QEMU was stopped", c->boot_timeout_s);
        return true;
    }
    if (x->con.init_seen && !x->con.exit_seen && t - x->last_output > c->silence_timeout_s) {
        r->outcome = SBX_SILENT;
        snprintf(r->detail, sizeof r->detail,
                 "the sandbox produced no output for %.0f s %s (silence watchdog, "
                 "VMM_SANDBOX_SILENCE_TIMEOUT); QEMU was stopped", c->silence_timeout_s,
                 x->con.ready_seen ? "while the inner vmm ran" : "while loading kvm-amd");
        return true;
    }
    if (x->con.exit_seen && t - x->exit_seen_at > c->exit_grace_s)
        return true;                    /* status known; QEMU just did not power off */
    return false;
}

static void describe_death(struct run *x)
{
    struct sbx_result *r = x->r;
    char how[64];
    if (WIFEXITED(x->wstatus))
        snprintf(how, sizeof how, "exited with status %d", WEXITSTATUS(x->wstatus));
    else
        snprintf(how, sizeof how, "was killed by signal %d", WTERMSIG(x->wstatus));
    const char *panic = strstr(r->console_tail, "Kernel panic");
    char *qmsg = x->qemu_tail;
    while (*qmsg == '\n')
        qmsg++;
    size_t ql = strcspn(qmsg, "\n");
    r->outcome = SBX_QEMU_DIED;
    snprintf(r->detail, sizeof r->detail, "QEMU %s %s%s%.*s%s%.*s", how,
             x->con.init_seen ? "while the inner vmm ran (no exit line from the init)"
                              : "before the sandbox's init started",
             ql ? ": " : "", (int)ql, qmsg, panic ? ": " : "",
             panic ? (int)strcspn(panic, "\n") : 0, panic ? panic : "");
}

static void monitor(struct run *x)
{
    bool open_[NPIPES] = {true, true, true, true};
    int open_count = NPIPES;
    while (open_count > 0) {
        struct pollfd pfd[NPIPES];
        int map[NPIPES], n = 0;
        for (int i = 0; i < NPIPES; i++)
            if (open_[i]) {
                pfd[n] = (struct pollfd){.fd = x->rd[i], .events = POLLIN};
                map[n++] = i;
            }
        int rc = poll(pfd, (nfds_t)n, 100);
        if (got_signal) {
            x->r->outcome = SBX_INTERRUPTED;
            x->r->signo = got_signal;
            stop_qemu(x);
            return;
        }
        for (int k = 0; rc > 0 && k < n; k++)
            if (pfd[k].revents && !pump(x, map[k])) {
                open_[map[k]] = false;
                open_count--;
            }
        if (!x->reaped && waitpid(x->pid, &x->wstatus, WNOHANG) == x->pid)
            x->reaped = true;               /* keep draining until EOF */
        if (!x->reaped && watchdog(x, now_s())) {
            stop_qemu(x);
            if (x->r->outcome != SBX_INNER_EXITED)
                return;
        }
    }
}

int sbx_qemu_run(const struct sbx_qemu_cfg *cfg, struct sbx_result *r, struct sbx_err *e)
{
    memset(r, 0, sizeof *r);
    struct run x = {.cfg = cfg, .r = r, .pid = -1};
    int wr[NPIPES];
    for (int i = 0; i < NPIPES; i++) {
        int p[2];
        if (pipe2(p, O_CLOEXEC) != 0) {
            for (int j = 0; j < i; j++)
                close(x.rd[j]), close(wr[j]);
            return sbx_fail(e, "pipe: %s", strerror(errno));
        }
        x.rd[i] = p[0];
        wr[i] = p[1];
        fcntl(p[0], F_SETFL, O_NONBLOCK);
    }
    struct saved_signals old;
    install_handlers(&old);
    x.t0 = x.last_output = now_s();
    x.pid = spawn_qemu(cfg, wr, e);
    for (int i = 0; i < NPIPES; i++)
        close(wr[i]);
    if (x.pid > 0) {
        r->outcome = SBX_INNER_EXITED;      /* refined below */
        monitor(&x);
        sbx_relay_flush(&x.out_relay, emit_stdout, NULL);
        sbx_relay_flush(&x.err_relay, emit_stderr, NULL);
        stop_qemu(&x);                       /* no-op when already reaped */
        if (r->outcome == SBX_INNER_EXITED) {
            if (x.line_len)
                console_line(&x);
            if (x.con.exit_seen) {
                r->inner_status = x.con.exit_status;
            } else if (x.con.error_seen) {
                r->outcome = SBX_INIT_ERROR;
                snprintf(r->detail, sizeof r->detail, "the sandbox's init failed: %s",
                         x.con.error);
            } else {
                describe_death(&x);
            }
        }
        r->total_s = now_s() - x.t0;
    }
    for (int i = 0; i < NPIPES; i++)
        close(x.rd[i]);
    restore_handlers(&old);
    return x.pid > 0 ? 0 : -1;
}
