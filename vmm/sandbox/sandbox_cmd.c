/*
 * The command the sandbox's init runs (/sandbox/run/cmd): a POSIX shell
 * script that recreates the caller's relevant environment and working
 * directory and execs the inner vmm with the same arguments. Every value is
 * single-quoted, so any byte string survives. See sandbox_internal.h.
 */
#define _GNU_SOURCE
#include "sandbox_internal.h"

#include <stdlib.h>
#include <string.h>

struct sbuf {
    char *p;
    size_t n, cap;
    bool oom;
};

static void sb_add(struct sbuf *b, const char *s)
{
    size_t l = strlen(s);
    if (b->oom)
        return;
    if (b->n + l + 1 > b->cap) {
        size_t cap = (b->n + l + 1) * 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, l + 1);
    b->n += l;
}

static void sb_quoted(struct sbuf *b, const char *s)
{
    char *q = sbx_shell_quote(s);
    if (!q) {
        b->oom = true;
        return;
    }
    sb_add(b, q);
    free(q);
}

static bool passed_env(const char *kv)
{
    static const char *const prefixes[] = {"ASAN_", "UBSAN_", "LSAN_", "TSAN_", "CK_", "VMM_"};
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv || strncmp(kv, "VMM_SANDBOX_", 12) == 0)
        return false;
    for (const char *p = kv; p < eq; p++)   /* a valid shell name */
        if (!(*p == '_' || (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
              (p > kv && *p >= '0' && *p <= '9')))
            return false;
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
        if (strncmp(kv, prefixes[i], strlen(prefixes[i])) == 0)
            return true;
    return false;
}

char *sbx_build_cmd(const char *exe, int argc, char *const *argv, const char *cwd,
                    const struct sbx_strv *libdirs, char **envp)
{
    struct sbuf b = {0};
    sb_add(&b, "# written by vmm's sandbox (vmm/sandbox/sandbox_cmd.c)\n");
    for (char **env = envp; env && *env; env++) {
        if (!passed_env(*env))
            continue;
        const char *eq = strchr(*env, '=');
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)(eq - *env), *env);
        sb_add(&b, "export ");
        sb_add(&b, name);
        sb_add(&b, "=");
        sb_quoted(&b, eq + 1);
        sb_add(&b, "\n");
    }
    if (libdirs->n) {
        sb_add(&b, "export LD_LIBRARY_PATH=");
        struct sbuf dirs = {0};
        for (size_t i = 0; i < libdirs->n; i++) {
            if (i)
                sb_add(&dirs, ":");
            sb_add(&dirs, libdirs->v[i]);
        }
        if (dirs.oom)
            b.oom = true;
        else
            sb_quoted(&b, dirs.p);
        free(dirs.p);
        sb_add(&b, "\n");
    }
    sb_add(&b, "cd ");
    sb_quoted(&b, cwd);
    sb_add(&b, " || { echo \"vmm: sandbox: cannot enter the working directory\" >&2; exit 126; }\n");
    sb_add(&b, "exec ");
    sb_quoted(&b, exe);
    for (int i = 1; i < argc; i++) {
        sb_add(&b, " ");
        sb_quoted(&b, argv[i]);
    }
    sb_add(&b, "\n");
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}
