/*
 * configs/NAME.cfg: one INI section per test entry, in the style of
 * kvm-unit-tests' unittests.cfg (docs/vmm.md):
 *
 *   [smp-4]
 *   guest = default          ; or a path relative to the .cfg file
 *   cpus = 4
 *   memory = 128M
 *   bootargs = scenario=ipi
 *   timeout = 30
 *   groups = smoke smp
 *   expect = passed          ; passed, guest-failed, guest-crash, timeout, ...
 *   skip = REASON            ; not run; the runner reports it as skipped
 *
 * Every key is optional; a value given on the command line overrides it.
 */
#ifndef VMM_CONFIG_H
#define VMM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A config file is read whole, up to this size (and no further, should it
 * grow while being read). */
#define VMM_CONFIG_MAX_BYTES (16u << 20)
#define VMM_CONFIG_MAX_TEXT "16 MiB"

struct vmm_test_entry {
    char *name;            /* section name */
    char *image;           /* resolved image path; NULL = built-in guest */
    bool cpus_set;
    unsigned cpus;
    bool mem_set;
    uint64_t mem;
    char *bootargs;        /* NULL = not given */
    bool timeout_set;
    unsigned timeout_s;
    char *groups;          /* NULL = none; words separated by blanks/commas */
    int expect;            /* enum vmm_exit_status; default VMM_EXIT_PASSED */
    char *skip;            /* NULL, or why the entry is not run (reported) */
    unsigned keys_seen;    /* internal: bit per key, to reject duplicates */
};

struct vmm_config {
    char *path;
    struct vmm_test_entry *entries;
    size_t count;
};

/*
 * Loads and validates a config file.
 * Requires: path, cfg, err non-NULL.
 * Guarantees: on 0, *cfg holds >= 1 entries in file order, each with valid
 *   values (same ranges as the command line) and a unique name; release it
 *   with vmm_config_free. On -1, *cfg is empty (free is still safe) and err
 *   holds one message "FILE:LINE: [section] key: problem" for the first
 *   problem in the file, control characters escaped (\xNN).
 * Fails when: the file cannot be read, is not a regular file (a FIFO, a
 *   device, a directory) or is larger than VMM_CONFIG_MAX_BYTES; a line
 *   holds a NUL byte or is indented (inih would join it to the previous
 *   value); a line is not [section] or
 *   key = value or is longer than the parser's line limit; a key is
 *   outside a section, unknown, empty or repeated; a value is malformed or
 *   out of range; a section name is invalid, "all", or repeated; the file
 *   has no entries.
 */
int vmm_config_load(const char *path, struct vmm_config *cfg, char *err, size_t errlen);

/* The entry called name, or NULL. */
const struct vmm_test_entry *vmm_config_find(const struct vmm_config *cfg,
                                             const char *name);

/* Releases everything vmm_config_load allocated; cfg becomes empty. */
void vmm_config_free(struct vmm_config *cfg);

#endif /* VMM_CONFIG_H */
