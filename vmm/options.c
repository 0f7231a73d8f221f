/* Command-line parsing; see options.h. */
#include "options.h"

#include <stdio.h>
#include <string.h>

#include "debug_exit.h"
#include "memmap.h"
#include "parse.h"

enum opt_id {
    OPT_GUEST, OPT_CPUS, OPT_MEM, OPT_BOOTARGS, OPT_TIMEOUT, OPT_CONFIG,
    OPT_TEST, OPT_LOG, OPT_BENCH, OPT_VERBOSE, OPT_HELP, OPT_VERSION,
    OPT_SANDBOX, OPT_NO_SANDBOX, OPT_MODULE, OPT_DEBUG_EXIT, OPT_VALIDATE, OPT_REPORT,
    OPT_EVENTS_OUT, OPT_CHECK_EVERY, OPT_DUMP_PT, OPT_COUNT
};

enum opt_arg { ARG_NONE, ARG_REQUIRED, ARG_OPTIONAL };

static const struct opt_spec {
    const char *name;
    enum opt_arg arg;
} specs[OPT_COUNT] = {
    [OPT_GUEST] = { "guest", ARG_OPTIONAL },
    [OPT_CPUS] = { "cpus", ARG_REQUIRED },
    [OPT_MEM] = { "mem", ARG_REQUIRED },
    [OPT_BOOTARGS] = { "bootargs", ARG_REQUIRED },
    [OPT_TIMEOUT] = { "timeout", ARG_REQUIRED },
    [OPT_CONFIG] = { "config", ARG_REQUIRED },
    [OPT_TEST] = { "test", ARG_REQUIRED },
    [OPT_LOG] = { "log", ARG_REQUIRED },
    [OPT_BENCH] = { "bench", ARG_NONE },
    [OPT_VERBOSE] = { "verbose", ARG_NONE },
    [OPT_HELP] = { "help", ARG_NONE },
    [OPT_VERSION] = { "version", ARG_NONE },
    [OPT_SANDBOX] = { "sandbox", ARG_NONE },
    [OPT_NO_SANDBOX] = { "no-sandbox", ARG_NONE },
    [OPT_MODULE] = { "module", ARG_REQUIRED },
    [OPT_DEBUG_EXIT] = { "debug-exit", ARG_REQUIRED },
    [OPT_VALIDATE] = { "validate", ARG_REQUIRED },
    [OPT_REPORT] = { "report", ARG_REQUIRED },
    [OPT_EVENTS_OUT] = { "events-out", ARG_REQUIRED },
    [OPT_CHECK_EVERY] = { "check-every", ARG_REQUIRED },
    [OPT_DUMP_PT] = { "dump-pt", ARG_NONE },
};

static const char usage[] =
    "usage: vmm --guest [IMAGE] [options]\n"
    "       vmm --config FILE --test NAME|all [options]\n"
    "       vmm --bench [--guest [IMAGE]] [--cpus N] [options]\n"
    "\n"
    "Boots a bare x86-64 guest kernel on KVM: an ELF64 image of the vmm ABI\n"
    "(default: the built-in guest) through the built-in firmware, or a\n"
    "multiboot kernel (docs/multiboot.md).\n"
    "\n"
    "  --guest [IMAGE]   boot IMAGE, or the built-in guest when IMAGE is omitted\n"
    "  --cpus N          number of vCPUs, 1-64 (default 4)\n"
    "  --mem SIZE        guest RAM, K/M/G suffixes, 16M-3G (default 128M)\n"
    "  --bootargs STR    kernel command line (FDT /chosen/bootargs; multiboot:\n"
    "                    the information structure's cmdline after the image name)\n"
    "  --module FILE[,ARGS]  a multiboot module (repeatable, at most 16)\n"
    "  --debug-exit PORT[,SIZE]|off  isa-debug-exit device (default 0xf4,4):\n"
    "                    a write of 0 ends the run as passed, any other as failed\n"
    "  --timeout SECS    watchdog: stop a guest running longer (default 30)\n"
    "  --config FILE     a configs/*.cfg file of test entries\n"
    "  --test NAME|all   run one entry of --config, or every entry\n"
    "  --bench           print boot timings as JSON lines (1 and 4 vCPUs)\n"
    "  --log FILE        also write everything printed to FILE\n"
    "  --verbose         more detail (KVM set-up, per-CPU console prefixes)\n"
    "  --sandbox         always run inside the emulated KVM host\n"
    "  --no-sandbox      never use the emulated KVM host\n"
    "  --validate MODE   trace (default): validate the guest's TLB events live;\n"
    "                    off: no trace rings, no validation\n"
    "  --report FILE     write the validation report (JSON) to FILE\n"
    "  --events-out FILE write the merged event stream (a tlbcheck stream file)\n"
    "  --check-every N   also compare page tables with the model every N events\n"
    "  --dump-pt         print each vCPU's address space at exit (ptdump style)\n"
    "  --help, --version\n"
    "\n"
    "Watch the validator catch a TLB bug: the built-in guest plants one named\n"
    "bug with --bootargs tlb_bug=NAME, e.g. skip-unmap-flush (nothing an unmap\n"
    "removed is flushed), free-before-flush (a frame freed before its flush) or\n"
    "untraced-store (a page mapped with no event: caught at a checkpoint);\n"
    "an unknown NAME lists them all (docs/guest-mm.md, docs/live-validation.md).\n"
    "\n"
    "Exit status: 0 passed, 1 guest failed, 2 guest crashed, 3 timeout,\n"
    "4 usage error, 5 VMM error, 6 sandbox failure, 7 validation failure\n"
    "(docs/abi.md).\n";

const char *vmm_options_usage(void)
{
    return usage;
}

/* Finds the option named by "--name" or "--name=value"; -1 if unknown. */
static int lookup(const char *arg, const char **inline_value)
{
    const char *name = arg + 2;
    const char *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);

    for (int i = 0; i < OPT_COUNT; i++) {
        if (strlen(specs[i].name) == len && strncmp(specs[i].name, name, len) == 0) {
            *inline_value = eq ? eq + 1 : NULL;
            return i;
        }
    }
    return -1;
}

static int parse_uint_opt(const char *opt, const char *v, uint64_t min,
                          uint64_t max, unsigned *out, char *err, size_t errlen)
{
    char why[160];
    uint64_t n;

    if (vmm_parse_uint(v, min, max, &n, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "--%s: %s", opt, why);
        return -1;
    }
    *out = (unsigned)n;
    return 0;
}

static int check_bootargs(const char *v, char *err, size_t errlen)
{
    if (strlen(v) > VMM_MAX_BOOTARGS) {
        snprintf(err, errlen, "--bootargs: longer than %u bytes", VMM_MAX_BOOTARGS);
        return -1;
    }
    for (const char *p = v; *p; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f) {
            snprintf(err, errlen, "--bootargs: control character 0x%02x at offset %zu",
                     (unsigned char)*p, (size_t)(p - v));
            return -1;
        }
    }
    return 0;
}

static int check_nonempty(const char *opt, const char *v, char *err, size_t errlen)
{
    if (*v == '\0') {
        snprintf(err, errlen, "--%s: empty value", opt);
        return -1;
    }
    return 0;
}

/* Stores the value of one option. */
static int apply(struct vmm_options *o, int id, const char *v, char *err, size_t errlen)
{
    char why[160];

    switch (id) {
    case OPT_GUEST:
        o->guest = true;
        if (v && check_nonempty("guest", v, err, errlen) < 0)
            return -1;
        o->image = v;
        return 0;
    case OPT_CPUS:
        o->cpus_set = true;
        return parse_uint_opt("cpus", v, 1, VMM_MAX_CPUS, &o->cpus, err, errlen);
    case OPT_MEM:
        o->mem_set = true;
        if (vmm_parse_size(v, &o->mem, why, sizeof(why)) < 0 ||
            vmm_memmap_check_ram(o->mem, why, sizeof(why)) < 0) {
            snprintf(err, errlen, "--mem: %s", why);
            return -1;
        }
        return 0;
    case OPT_BOOTARGS:
        o->bootargs = v;
        return check_bootargs(v, err, errlen);
    case OPT_TIMEOUT:
        o->timeout_set = true;
        return parse_uint_opt("timeout", v, 1, VMM_MAX_TIMEOUT_S, &o->timeout_s,
                              err, errlen);
    case OPT_CONFIG: o->config = v; return check_nonempty("config", v, err, errlen);
    case OPT_TEST: o->test = v; return check_nonempty("test", v, err, errlen);
    case OPT_LOG: o->log = v; return check_nonempty("log", v, err, errlen);
    case OPT_BENCH: o->bench = true; return 0;
    case OPT_VERBOSE: o->verbose = true; return 0;
    case OPT_HELP: o->help = true; return 0;
    case OPT_VERSION: o->version = true; return 0;
    case OPT_SANDBOX: o->sandbox = true; return 0;
    case OPT_NO_SANDBOX: o->no_sandbox = true; return 0;
    case OPT_MODULE:
        if (o->nmodules == sizeof(o->modules) / sizeof(o->modules[0])) {
            snprintf(err, errlen, "--module: more than %zu modules",
                     sizeof(o->modules) / sizeof(o->modules[0]));
            return -1;
        }
        if (v[0] == '\0' || v[0] == ',') {
            snprintf(err, errlen, "--module: '%s' names no file (expected FILE[,ARGS])", v);
            return -1;
        }
        if (check_bootargs(v, err, errlen) < 0) {
            snprintf(err, errlen, "--module: '%.64s': too long or a control character", v);
            return -1;
        }
        o->modules[o->nmodules++] = v;
        return 0;
    case OPT_DEBUG_EXIT: {
        struct vmm_debug_exit d;
        o->debug_exit = v;
        return vmm_debug_exit_parse(v, &d, err, errlen);
    }
    case OPT_VALIDATE:
        if (strcmp(v, "off") != 0 && strcmp(v, "trace") != 0) {
            snprintf(err, errlen, "--validate: '%s' is not a mode (off or trace)", v);
            return -1;
        }
        o->validate_off = strcmp(v, "off") == 0;
        return 0;
    case OPT_REPORT: o->report = v; return check_nonempty("report", v, err, errlen);
    case OPT_EVENTS_OUT: o->events_out = v; return check_nonempty("events-out", v, err, errlen);
    case OPT_CHECK_EVERY:
        if (vmm_parse_uint(v, 1, VMM_MAX_CHECK_EVERY, &o->check_every, why, sizeof(why)) < 0) {
            snprintf(err, errlen, "--check-every: %s", why);
            return -1;
        }
        return 0;
    case OPT_DUMP_PT: o->dump_pt = true; return 0;
    }
    return 0;
}

/* Cross-option rules, checked once everything is parsed. */
static int check_combination(const struct vmm_options *o, char *err, size_t errlen)
{
    if (o->help || o->version)
        return 0;
    if (o->sandbox && o->no_sandbox) {
        snprintf(err, errlen, "--sandbox and --no-sandbox conflict");
        return -1;
    }
    if (o->config && !o->test) {
        snprintf(err, errlen, "--config needs --test NAME (or --test all)");
        return -1;
    }
    if (o->test && !o->config) {
        snprintf(err, errlen, "--test needs --config FILE");
        return -1;
    }
    if (o->bench && o->config) {
        snprintf(err, errlen, "--bench and --config conflict");
        return -1;
    }
    if (o->validate_off && (o->report || o->events_out || o->check_every)) {
        snprintf(err, errlen, "--validate=off conflicts with %s", o->report ? "--report"
                 : o->events_out ? "--events-out" : "--check-every");
        return -1;
    }
    if ((o->report || o->events_out) && (o->bench || (o->test && strcmp(o->test, "all") == 0))) {
        snprintf(err, errlen, "%s needs a single run (not --bench or --test all)",
                 o->report ? "--report" : "--events-out");
        return -1;
    }
    if (!o->guest && !o->config && !o->bench) {
        snprintf(err, errlen, "nothing to run: give --guest [IMAGE], "
                 "--config FILE --test NAME, or --bench (see --help)");
        return -1;
    }
    return 0;
}

int vmm_options_parse(int argc, char **argv, struct vmm_options *opts,
                      char *err, size_t errlen)
{
    bool seen[OPT_COUNT] = { false };

    memset(opts, 0, sizeof(*opts));
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *v = NULL;
        int id;

        if (strcmp(arg, "-h") == 0) {
            arg = "--help";
        } else if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
            snprintf(err, errlen, "unexpected argument '%s' (see --help)", arg);
            return -1;
        }
        id = lookup(arg, &v);
        if (id < 0) {
            snprintf(err, errlen, "unknown option '%s' (see --help)", arg);
            return -1;
        }
        if (seen[id] && id != OPT_MODULE) {
            snprintf(err, errlen, "option --%s given twice", specs[id].name);
            return -1;
        }
        seen[id] = true;
        if (id == OPT_LOG)
            opts->log_argi = i;
        if (id == OPT_SANDBOX)
            opts->sandbox_argi = i;
        if (v && specs[id].arg == ARG_NONE) {
            snprintf(err, errlen, "option --%s takes no value (got '%s')",
                     specs[id].name, arg);
            return -1;
        }
        if (!v && specs[id].arg == ARG_REQUIRED) {
            if (i + 1 >= argc) {
                snprintf(err, errlen, "option --%s needs a value", specs[id].name);
                return -1;
            }
            v = argv[++i];
        }
        if (!v && specs[id].arg == ARG_OPTIONAL && i + 1 < argc && argv[i + 1][0] != '-')
            v = argv[++i];
        if (apply(opts, id, v, err, errlen) < 0)
            return -1;
    }
    return check_combination(opts, err, errlen);
}
