/* configs/NAME.cfg loading with inih; see config.h. */
#define _GNU_SOURCE   /* asprintf */
#include "config.h"

#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console.h"
#include "infile.h"
#include "memmap.h"
#include "options.h"
#include "parse.h"
#include "status.h"
#include "abi/vmm.h"

enum cfg_key { KEY_GUEST, KEY_CPUS, KEY_MEMORY, KEY_BOOTARGS, KEY_TIMEOUT,
               KEY_GROUPS, KEY_EXPECT, KEY_SKIP, KEY_COUNT };

static const char *const key_names[KEY_COUNT] = {
    "guest", "cpus", "memory", "bootargs", "timeout", "groups", "expect", "skip"
};

/* Parser state shared by the line reader and the key handler, so that the
 * handler knows the line number (Debian's inih is built without
 * INI_HANDLER_LINENO). */
struct cfg_ctx {
    FILE *f;
    int line;
    int section_seq;         /* number of '[section]' lines read so far */
    int entry_seq;           /* section_seq when the last entry was created */
    struct vmm_config *cfg;
    char *dir;               /* directory of the cfg file, for guest paths */
    size_t bytes;            /* read so far, bounded by VMM_CONFIG_MAX_BYTES */
    int err_line;            /* 0 = no semantic error yet */
    char err[256];
};

/* Records the first problem of the file (the line being read). */
static void line_problem(struct cfg_ctx *c, const char *what)
{
    if (!c->err_line) {
        c->err_line = c->line;
        snprintf(c->err, sizeof(c->err), "%s", what);
    }
}

/* inih's line reader: one line into str (at most num - 1 bytes with its
 * newline), byte by byte so that what inih cannot see is caught here: NUL
 * bytes (fgets would cut the line there silently), lines too long for its
 * fixed buffer (it would parse the rest as a new line), indented lines
 * (inih joins them to the previous value, so they came out as "key given
 * twice"), and more than VMM_CONFIG_MAX_BYTES in all. A bad line is
 * replaced by a comment after its problem is recorded. */
static char *reader(char *str, int num, void *stream)
{
    struct cfg_ctx *c = stream;
    int ch = getc(c->f), len = 0;
    bool nul = false, too_long = false;
    size_t lead;

    if (ch == EOF || c->bytes >= VMM_CONFIG_MAX_BYTES)
        return NULL;
    c->line++;
    for (; ch != EOF; ch = getc(c->f)) {
        if (++c->bytes > VMM_CONFIG_MAX_BYTES) {
            line_problem(c, "file larger than " VMM_CONFIG_MAX_TEXT);
            break;
        }
        if (ch == '\0')
            nul = true;
        if (len < num - 1)
            str[len++] = ch ? (char)ch : ' ';
        else if (ch != '\n')
            too_long = true;
        if (ch == '\n')
            break;
    }
    str[len] = '\0';
    lead = strspn(str, " \t");
    /* Count section headers, so that "[a] ... [a]" is a repeated section
     * even when inih hands both to the handler under the same name. */
    if (str[lead] == '[')
        c->section_seq++;
    if (nul)
        line_problem(c, "NUL byte in the line (a config file is text)");
    else if (too_long) {
        char why[64];
        snprintf(why, sizeof(why), "line longer than %d characters", num - 2);
        line_problem(c, why);
    } else if (lead > 0 && !strchr(";#\r\n", str[lead]))
        line_problem(c, "indented line: continuation lines are not supported "
                        "(remove the leading blanks)");
    else
        return str;
    snprintf(str, (size_t)num, ";\n");
    return str;
}

static bool valid_name(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++) {
        char ch = *s;
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.'))
            return false;
    }
    return true;
}

static bool valid_groups(const char *s)
{
    for (; *s; s++) {
        char ch = *s;
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == ' ' ||
              ch == ',' || ch == '\t'))
            return false;
    }
    return true;
}

/* Returns the entry for section, creating it when a new section starts. */
static struct vmm_test_entry *entry_for(struct cfg_ctx *c, const char *section)
{
    struct vmm_config *cfg = c->cfg;
    struct vmm_test_entry *e;

    if (cfg->count && c->entry_seq == c->section_seq)
        return &cfg->entries[cfg->count - 1];
    if (!valid_name(section) || strcmp(section, "all") == 0) {
        snprintf(c->err, sizeof(c->err), "[%s]: invalid section name (use letters, "
                 "digits, '-', '_', '.'; 'all' is reserved)", section);
        return NULL;
    }
    if (vmm_config_find(cfg, section)) {
        snprintf(c->err, sizeof(c->err), "[%s]: section appears twice", section);
        return NULL;
    }
    e = realloc(cfg->entries, (cfg->count + 1) * sizeof(*e));
    if (!e) {
        snprintf(c->err, sizeof(c->err), "out of memory");
        return NULL;
    }
    cfg->entries = e;
    e = &cfg->entries[cfg->count];
    memset(e, 0, sizeof(*e));
    e->expect = VMM_EXIT_PASSED;
    e->name = strdup(section);
    if (!e->name) {
        snprintf(c->err, sizeof(c->err), "out of memory");
        return NULL;
    }
    cfg->count++;
    c->entry_seq = c->section_seq;
    return e;
}

static char *resolve_guest(const char *dir, const char *value)
{
    char *p;

    if (strcmp(value, "default") == 0)
        return NULL;
    if (value[0] == '/' || !dir)
        return strdup(value);
    if (asprintf(&p, "%s/%s", dir, value) < 0)
        return NULL;
    return p;
}

/* Stores one validated value; on failure writes the reason to why. */
static int set_key(struct cfg_ctx *c, struct vmm_test_entry *e, int key,
                   const char *v, char *why, size_t wlen)
{
    uint64_t n;

    switch (key) {
    case KEY_GUEST:
        e->image = resolve_guest(c->dir, v);
        if (!e->image && strcmp(v, "default") != 0) {
            snprintf(why, wlen, "out of memory");
            return -1;
        }
        return 0;
    case KEY_CPUS:
        if (vmm_parse_uint(v, 1, VMM_MAX_CPUS, &n, why, wlen) < 0)
            return -1;
        e->cpus = (unsigned)n;
        e->cpus_set = true;
        return 0;
    case KEY_MEMORY:
        if (vmm_parse_size(v, &e->mem, why, wlen) < 0 ||
            vmm_memmap_check_ram(e->mem, why, wlen) < 0)
            return -1;
        e->mem_set = true;
        return 0;
    case KEY_BOOTARGS:
        if (strlen(v) > VMM_MAX_BOOTARGS) {
            snprintf(why, wlen, "longer than %u bytes", VMM_MAX_BOOTARGS);
            return -1;
        }
        e->bootargs = strdup(v);
        return e->bootargs ? 0 : (snprintf(why, wlen, "out of memory"), -1);
    case KEY_TIMEOUT:
        if (vmm_parse_uint(v, 1, VMM_MAX_TIMEOUT_S, &n, why, wlen) < 0)
            return -1;
        e->timeout_s = (unsigned)n;
        e->timeout_set = true;
        return 0;
    case KEY_GROUPS:
        if (!valid_groups(v)) {
            snprintf(why, wlen, "'%s': group names use letters, digits, '-', '_' "
                     "separated by blanks or commas", v);
            return -1;
        }
        e->groups = strdup(v);
        return e->groups ? 0 : (snprintf(why, wlen, "out of memory"), -1);
    case KEY_EXPECT:
        if (!vmm_status_from_name(v, &e->expect)) {
            snprintf(why, wlen, "'%s' is not a status name (one of: %s)", v,
                     vmm_status_names());
            return -1;
        }
        return 0;
    case KEY_SKIP:
        e->skip = strdup(v);
        return e->skip ? 0 : (snprintf(why, wlen, "out of memory"), -1);
    }
    return -1;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
    struct cfg_ctx *c = user;
    struct vmm_test_entry *e;
    char why[200];
    int key = -1;

    if (c->err_line)
        return 1;          /* only the first problem is reported */
    if (!section[0]) {
        snprintf(c->err, sizeof(c->err), "%s: key outside a [section]", name);
        goto fail;
    }
    e = entry_for(c, section);
    if (!e)
        goto fail;
    for (int i = 0; i < KEY_COUNT; i++)
        if (strcmp(name, key_names[i]) == 0)
            key = i;
    if (key < 0) {
        snprintf(c->err, sizeof(c->err), "[%s] %s: unknown key (valid: guest, cpus, "
                 "memory, bootargs, timeout, groups, expect, skip)", section, name);
        goto fail;
    }
    if (e->keys_seen & (1u << key)) {
        snprintf(c->err, sizeof(c->err), "[%s] %s: key given twice", section, name);
        goto fail;
    }
    e->keys_seen |= 1u << key;
    if (!value[0]) {
        snprintf(c->err, sizeof(c->err), "[%s] %s: empty value", section, name);
        goto fail;
    }
    if (set_key(c, e, key, value, why, sizeof(why)) < 0) {
        snprintf(c->err, sizeof(c->err), "[%s] %s: %s", section, name, why);
        goto fail;
    }
    return 1;
fail:
    c->err_line = c->line;
    return 0;
}

/* The message quotes the file's own bytes: escape control characters as
 * guest output is, so a config cannot send terminal control sequences. */
static void escape_message(char *err, size_t errlen)
{
    char raw[512];

    snprintf(raw, sizeof(raw), "%s", err);
    vmm_sanitize((const uint8_t *)raw, strlen(raw), err, errlen);
}

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');

    if (!slash)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

int vmm_config_load(const char *path, struct vmm_config *cfg, char *err, size_t errlen)
{
    struct cfg_ctx c = { .cfg = cfg };
    int rc;

    memset(cfg, 0, sizeof(*cfg));
    c.f = vmm_open_regular(path, VMM_CONFIG_MAX_BYTES, VMM_CONFIG_MAX_TEXT, err, errlen);
    if (!c.f)
        return -1;
    c.dir = dir_of(path);
    cfg->path = strdup(path);
    if (!c.dir || !cfg->path) {
        snprintf(err, errlen, "%s: out of memory", path);
        rc = -1;
        goto out;
    }
    rc = ini_parse_stream(reader, &c, handler, &c);
    if (rc > 0 && (!c.err_line || rc < c.err_line)) {
        snprintf(err, errlen, "%s:%d: syntax error (expected '[name]' or "
                 "'key = value')", path, rc);
        rc = -1;
    } else if (c.err_line) {
        snprintf(err, errlen, "%s:%d: %s", path, c.err_line, c.err);
        rc = -1;
    } else if (rc != 0) {
        snprintf(err, errlen, "%s: cannot parse (error %d)", path, rc);
        rc = -1;
    } else if (cfg->count == 0) {
        snprintf(err, errlen, "%s: no test entries (no [section] with keys)", path);
        rc = -1;
    }
out:
    fclose(c.f);
    free(c.dir);
    if (rc < 0) {
        vmm_config_free(cfg);
        escape_message(err, errlen);
    }
    return rc;
}

const struct vmm_test_entry *vmm_config_find(const struct vmm_config *cfg,
                                             const char *name)
{
    for (size_t i = 0; i < cfg->count; i++)
        if (strcmp(cfg->entries[i].name, name) == 0)
            return &cfg->entries[i];
    return NULL;
}

void vmm_config_free(struct vmm_config *cfg)
{
    for (size_t i = 0; i < cfg->count; i++) {
        free(cfg->entries[i].name);
        free(cfg->entries[i].image);
        free(cfg->entries[i].bootargs);
        free(cfg->entries[i].groups);
        free(cfg->entries[i].skip);
    }
    free(cfg->entries);
    free(cfg->path);
    memset(cfg, 0, sizeof(*cfg));
}
