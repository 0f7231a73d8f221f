/*
 * The vmm command line (docs/vmm.md). Parsing only: nothing is opened or
 * checked against the file system here, so every rule is unit-testable.
 */
#ifndef VMM_OPTIONS_H
#define VMM_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vmm_options {
    bool guest;            /* --guest given */
    const char *image;     /* --guest IMAGE; NULL = the embedded guest */
    bool cpus_set;
    unsigned cpus;         /* --cpus N, 1..VMM_MAX_CPUS */
    bool mem_set;
    uint64_t mem;          /* --mem SIZE in bytes, checked by memmap */
    const char *bootargs;  /* --bootargs STR; NULL = not given */
    bool timeout_set;
    unsigned timeout_s;    /* --timeout SECS, 1..VMM_MAX_TIMEOUT_S */
    const char *config;    /* --config FILE */
    const char *test;      /* --test NAME|all */
    const char *log;       /* --log FILE */
    bool bench;            /* --bench */
    bool verbose, help, version;
    bool sandbox;          /* --sandbox: force the emulated KVM host */
    bool no_sandbox;       /* --no-sandbox: never use it */
    int log_argi;          /* argv index of --log (0: not given), its value */
    int sandbox_argi;      /*   follows unless inline; of --sandbox: both for */
                           /*   the inner command line the sandbox runs */
    const char *modules[16];   /* --module FILE[,ARGS], repeatable (multiboot) */
    unsigned nmodules;
    const char *debug_exit;    /* --debug-exit PORT[,SIZE]|off; NULL = default */
    /* Live validation (docs/live-validation.md): */
    bool validate_off;     /* --validate=off (default: trace) */
    const char *report;    /* --report FILE: the JSON report */
    const char *events_out;/* --events-out FILE: the merged stream */
    uint64_t check_every;  /* --check-every N, 1..VMM_MAX_CHECK_EVERY; 0 = not given */
    bool dump_pt;          /* --dump-pt */
};

#define VMM_MAX_CHECK_EVERY 1000000000ull

#define VMM_MAX_BOOTARGS 1024u

/*
 * Parses argv[1..argc-1]. Options take their value as the next argument or
 * after '=' (--cpus 4, --cpus=4). --guest takes IMAGE only if the next
 * argument does not start with '-' (or as --guest=IMAGE).
 *
 * Requires: argv[0..argc-1] valid strings; opts, err non-NULL. The strings
 *   stored in *opts point into argv.
 * Guarantees: on 0, *opts is complete and consistent: either help/version
 *   is set, or exactly one thing to run is named (--guest, --config with
 *   --test, or --bench), with no conflicting options. On -1, err holds one
 *   line naming the offending option and value.
 * Fails when: an option is unknown, given twice, missing its value, has a
 *   malformed or out-of-range value (numbers: trailing garbage, sign,
 *   overflow), options conflict (--sandbox/--no-sandbox, --bench/--config,
 *   --config without --test or the reverse, --validate=off with --report,
 *   --events-out or --check-every, --report/--events-out with --bench or
 *   --test all), or nothing is to be run. --validate takes off|trace.
 *   --module is the one option that may be repeated (at most 16 times).
 */
int vmm_options_parse(int argc, char **argv, struct vmm_options *opts,
                      char *err, size_t errlen);

/* The --help text (static). */
const char *vmm_options_usage(void);

#endif /* VMM_OPTIONS_H */
