/*
 * Internal pieces of the sandbox (vmm/sandbox/). Not part of the vmm API:
 * only the files of vmm/sandbox/ and the sandbox's unit tests include this header.
 *
 * Conventions: functions that can fail return 0 on success and -1 on
 * failure, after writing a one-line reason (no trailing newline) into the
 * caller's `struct sbx_err`.
 */
#ifndef VMM_SANDBOX_INTERNAL_H
#define VMM_SANDBOX_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct sbx_err {
    char msg[512];
};

/* Formats a reason into e (never fails; truncates). Returns -1. */
int sbx_fail(struct sbx_err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- growable list of owned strings (sandbox_util.c) ------------------- */
struct sbx_strv {
    char **v;
    size_t n, cap;
};

/* Appends a copy of s. Fails (-1, e set) only when out of memory. */
int sbx_strv_push(struct sbx_strv *sv, const char *s, struct sbx_err *e);
/* Appends a copy of s unless an equal string is already there. */
int sbx_strv_push_unique(struct sbx_strv *sv, const char *s, struct sbx_err *e);
bool sbx_strv_contains(const struct sbx_strv *sv, const char *s);
/* Frees every string and the array; leaves *sv empty and reusable. */
void sbx_strv_free(struct sbx_strv *sv);

/*
 * Lexical absolute path: `path` if absolute, else base + "/" + path, with
 * empty and "." components removed and ".." applied lexically (never above
 * "/"). Requires: base absolute when path is relative. Returns a malloc'd
 * string, or NULL when out of memory or base is not absolute.
 */
char *sbx_path_absolute(const char *base, const char *path);

/*
 * POSIX shell single-quoting of s ('it'\''s'), safe for any byte string.
 * Returns a malloc'd string or NULL when out of memory.
 */
char *sbx_shell_quote(const char *s);

/* Parses a size like "512M", "2G", "65536", "64K" into MiB (rounded up)
 * (VMM_SANDBOX_MEM). Returns false for anything else. */
bool sbx_parse_size_mib(const char *s, uint64_t *mib);

/*
 * L1's RAM in MiB for a guest of guest_mem bytes (the largest of the plan)
 * and input_bytes of copied files: the L1 base, twice the inputs (archive
 * and unpacked copy) and the guest's whole RAM (at least 256 MiB); at least
 * 1 GiB. Guarantees: > guest_mem in MiB, so a guest touching all of its RAM
 * cannot make L1's OOM killer end the inner vmm.
 */
uint64_t sbx_l1_mem_mib(uint64_t guest_mem, uint64_t input_bytes);

/* ---- newc cpio archives (sandbox_cpio.c) -------------------------------- */
struct sbx_cpio_writer {
    FILE *f;              /* not owned */
    uint64_t off;         /* bytes written so far (for 4-byte padding) */
    uint32_t next_ino;
    struct sbx_strv dirs; /* directories already emitted */
};

/*
 * Starts writing an archive at f's current position, which must be 4-byte
 * aligned relative to the start of the stream the kernel reads (callers pad).
 */
void sbx_cpio_init(struct sbx_cpio_writer *w, FILE *f);
/* Adds directory `path` (absolute) and its missing ancestors, mode 0755. */
int sbx_cpio_add_dir(struct sbx_cpio_writer *w, const char *path, struct sbx_err *e);
/* Adds a regular file at `path` (absolute) with the contents of host file
 * `src` and its permission bits; ancestors first; mtime 0. */
int sbx_cpio_add_file(struct sbx_cpio_writer *w, const char *path, const char *src,
                      struct sbx_err *e);
/* Adds a regular file at `path` holding `len` bytes of `data`. */
int sbx_cpio_add_data(struct sbx_cpio_writer *w, const char *path, const void *data,
                      size_t len, unsigned mode, struct sbx_err *e);
/* Writes the TRAILER!!! entry and releases w's memory (f stays open). */
int sbx_cpio_finish(struct sbx_cpio_writer *w, struct sbx_err *e);

/*
 * Extracts the regular files of the newc archive at the start of `image`
 * (e.g. the sandbox's output disk) below directory `root` ("/" for the real
 * host paths): entry "tmp/x" becomes root/tmp/x, missing parent directories
 * are created, existing files are replaced. Entries that are not regular
 * files are skipped; a name with a ".." component is refused. An image whose
 * first bytes are zero holds no archive (nothing to extract, success).
 * Guarantees: `written` receives each extracted path. Fails on a malformed
 * or truncated archive, or an I/O error (e names the entry).
 */
int sbx_cpio_extract(const char *image, const char *root, struct sbx_strv *written,
                     struct sbx_err *e);

/* ---- what the inner vmm needs (sandbox_files.c) -------------------------- */
struct sbx_inputs {
    struct sbx_strv files;   /* absolute paths, copied at the same path */
    struct sbx_strv dirs;    /* absolute paths created (empty) inside */
    struct sbx_strv libdirs; /* directories of the shared libraries */
    uint64_t bytes;          /* total size of `files` */
};

/*
 * Parses one line of the dynamic loader's LD_TRACE_LOADED_OBJECTS output
 * ("libx.so.1 => /lib/libx.so.1 (0x...)", "/lib64/ld-linux-x86-64.so.2
 * (0x...)"). Returns 1 and a malloc'd path in *path for a library file,
 * 0 for a line naming no file (linux-vdso), -1 with e set for "not found".
 */
int sbx_parse_ldd_line(const char *line, char **path, struct sbx_err *e);

/*
 * Collects what the inner program needs: the executable `exe`, its shared
 * libraries (asked of the dynamic loader), the `inputs` the caller names
 * (relative to cwd; each must be a readable regular file), the paths in
 * $VMM_SANDBOX_FILES (colon-separated; directories recursively), and the
 * directories it may write into (cwd, `outdirs`, the parents of the Check
 * log files named by CK_*_LOG_FILE_NAME). Nothing is guessed from a
 * command line or from file contents.
 * Fails when the loader cannot list the libraries, or an input is missing,
 * unreadable or not a regular file (e names it).
 */
int sbx_collect_inputs(const char *exe, const char *const *inputs, size_t ninputs,
                       const char *const *outdirs, size_t noutdirs, const char *cwd,
                       struct sbx_inputs *in, struct sbx_err *e);
void sbx_inputs_free(struct sbx_inputs *in);

/* ---- the inner command (sandbox_cmd.c) ----------------------------------- */

/*
 * The shell script the sandbox's init runs: exports the variables of envp
 * the inner vmm honours (ASAN_ UBSAN_ LSAN_ TSAN_ CK_ and VMM_ except
 * VMM_SANDBOX_), LD_LIBRARY_PATH = libdirs, cd to cwd, then exec of `exe`
 * with argv[1..] exactly as given (the caller composed the inner command
 * line). Returns a malloc'd script or NULL when out of memory.
 */
char *sbx_build_cmd(const char *exe, int argc, char *const *argv, const char *cwd,
                    const struct sbx_strv *libdirs, char **envp);

/* ---- QEMU and its console (sandbox_monitor.c) ---------------------------- */
enum sbx_outcome {
    SBX_INNER_EXITED,   /* inner_status is valid */
    SBX_BOOT_TIMEOUT,   /* init never said "VMM-SANDBOX: init" in time */
    SBX_SILENT,         /* no output for silence_timeout_s after init */
    SBX_INIT_ERROR,     /* the init reported "VMM-SANDBOX: error ..." */
    SBX_QEMU_DIED,      /* QEMU exited or could not start, no exit line */
    SBX_INTERRUPTED,    /* the outer vmm got SIGINT/SIGTERM/SIGHUP */
};

/* Console protocol state, fed line by line (unit-tested). */
struct sbx_console {
    bool init_seen, ready_seen, exit_seen, error_seen;
    int exit_status;
    char error[256];
};

/* Kind of the line fed to sbx_console_feed. */
enum sbx_line {
    SBX_LINE_NOISE,      /* kernel log or other chatter */
    SBX_LINE_INIT, SBX_LINE_READY, SBX_LINE_EXIT, SBX_LINE_ERROR, SBX_LINE_WARNING,
};

/* Classifies one console line (without its newline) and updates st. A
 * malformed "exit" line (status not 0..255) counts as an error line. */
enum sbx_line sbx_console_feed(struct sbx_console *st, const char *line);

/*
 * Line relay: the inner vmm's stdout and stderr arrive on two serial ports,
 * each in pieces of any size. Passing pieces on as they come would splice a
 * line of one stream into the middle of a line of the other wherever both
 * end up in one file (a test's 2>&1, a terminal), so each stream has a
 * relay that lets only whole lines out (unit-tested).
 */
typedef void (*sbx_relay_emit_fn)(void *ctx, const char *p, size_t n);

struct sbx_relay {
    char buf[4096];            /* a partial line waits here */
    size_t len;
};

/* Appends n bytes to r and emits (in order) every line completed, with its
 * '\n'. A line longer than r->buf goes out in buffer-sized parts, the last
 * one with its '\n'. Bytes of an unfinished line stay in r. */
void sbx_relay_feed(struct sbx_relay *r, const char *p, size_t n, sbx_relay_emit_fn emit,
                    void *ctx);

/* Emits what r holds (an unfinished last line), if anything, and empties r. */
void sbx_relay_flush(struct sbx_relay *r, sbx_relay_emit_fn emit, void *ctx);

struct sbx_qemu_cfg {
    const char *qemu, *kernel, *initrd, *disk;
    unsigned mem_mib, smp;
    double boot_timeout_s, silence_timeout_s, exit_grace_s;
    bool verbose;
};

struct sbx_result {
    enum sbx_outcome outcome;
    int inner_status;          /* SBX_INNER_EXITED only */
    int signo;                 /* SBX_INTERRUPTED only */
    double boot_s, total_s;    /* QEMU start -> init line; -> QEMU gone */
    char detail[768];          /* for failures: what happened */
    char console_tail[2048];   /* last console lines, for failures */
};

/*
 * Runs QEMU with cfg, streaming the inner stdout/stderr ports to fds 1/2
 * and the console to stderr when cfg->verbose, until QEMU exits or a
 * watchdog or signal stops it. Guarantees: QEMU is reaped before return (it
 * gets SIGTERM, then SIGKILL after 2 s); it also dies with the calling
 * process (PR_SET_PDEATHSIG). Returns 0 with *r filled; -1 only for a local
 * failure before QEMU started (pipes, fork: e set).
 */
int sbx_qemu_run(const struct sbx_qemu_cfg *cfg, struct sbx_result *r, struct sbx_err *e);

/* The signal (SIGINT/SIGTERM/SIGHUP) that interrupted the last run, or 0. */
int sbx_pending_signal(void);

#endif /* VMM_SANDBOX_INTERNAL_H */
