/* Runs, validation, result lines and the benchmark; see runner.h. */
#include "runner.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "console.h"
#include "debug_exit.h"
#include "elf_image.h"
#include "kvm_floor.h"
#include "infile.h"
#include "kvm.h"
#include "machine.h"
#include "memmap.h"
#include "multiboot.h"
#include "out.h"
#include "payload.h"
#include "sandbox.h"
#include "status.h"
#include "abi/vmm.h"

#define BENCH_ITERATIONS 5
#define ELFCLASS64_ID 2        /* e_ident[EI_CLASS] of an ELF64 file */

struct run_spec {
    const char *name;          /* config entry name, or NULL */
    const char *image;         /* file path, or NULL = built-in guest */
    const char *label;         /* image or "built-in guest", escaped for printing */
    unsigned cpus;
    uint64_t mem;
    const char *bootargs;
    unsigned timeout_s;
    int expect;
    struct vmm_elf_image img;
    const char *skip;          /* config "skip": reason not to run it */
    bool multiboot;            /* the image carries a multiboot header */
    struct vmm_mb_module mods[VMM_MB_MAX_MODULES];
    uint8_t *mod_files[VMM_MB_MAX_MODULES];   /* owned */
    char *mod_specs[VMM_MB_MAX_MODULES];      /* owned copies split into path, args */
    size_t nmods;
    struct vmm_mb_boot mb;
};

/* One image file read once, however many runs boot it: a config of 20,000
 * entries naming one guest holds one copy (found by device and inode). */
struct image_file {
    char *path;                /* as first named (for messages) */
    char *label;               /* path escaped for printing */
    struct stat st;
    uint8_t *data;
    size_t size;
};

struct plan {
    struct vmm_config cfg;
    struct run_spec *runs;
    size_t count;
    bool from_config;
    struct image_file *files;
    size_t nfiles;
};

/* Fills a run from the defaults, then the config entry, then the CLI. */
static void merge(struct run_spec *r, const struct vmm_test_entry *e,
                  const struct vmm_options *o)
{
    *r = (struct run_spec){ .label = "built-in guest", .cpus = VMM_DEFAULT_CPUS, .mem = VMM_DEFAULT_RAM, .bootargs = "",
                            .timeout_s = VMM_DEFAULT_TIMEOUT_S, .expect = VMM_EXIT_PASSED };
    if (e) {
        r->name = e->name;
        r->skip = e->skip;
        r->image = e->image;
        r->expect = e->expect;
        if (e->cpus_set) r->cpus = e->cpus;
        if (e->mem_set) r->mem = e->mem;
        if (e->bootargs) r->bootargs = e->bootargs;
        if (e->timeout_set) r->timeout_s = e->timeout_s;
    }
    if (o->image) r->image = o->image;
    if (o->cpus_set) r->cpus = o->cpus;
    if (o->mem_set) r->mem = o->mem;
    if (o->bootargs) r->bootargs = o->bootargs;
    if (o->timeout_set) r->timeout_s = o->timeout_s;
}

static int add_run(struct plan *pl, const struct vmm_test_entry *e,
                   const struct vmm_options *o)
{
    struct run_spec *n = realloc(pl->runs, (pl->count + 1) * sizeof(*n));

    if (!n) {
        vmm_errf("vmm: out of memory\n");
        return -1;
    }
    pl->runs = n;
    merge(&pl->runs[pl->count++], e, o);
    return 0;
}

static int build_plan(struct plan *pl, const struct vmm_options *o)
{
    char err[512];

    if (o->config) {
        pl->from_config = true;
        if (vmm_config_load(o->config, &pl->cfg, err, sizeof(err)) < 0) {
            vmm_errf("vmm: error: %s\n", err);
            return -1;
        }
        if (strcmp(o->test, "all") != 0) {
            const struct vmm_test_entry *e = vmm_config_find(&pl->cfg, o->test);
            if (!e) {
                vmm_errf("vmm: error: --test: %s has no entry [%s]\n", o->config, o->test);
                return -1;
            }
            return add_run(pl, e, o);
        }
        for (size_t i = 0; i < pl->cfg.count; i++)
            if (add_run(pl, &pl->cfg.entries[i], o) < 0)
                return -1;
        return 0;
    }
    if (o->bench && !o->cpus_set) {
        struct vmm_options one = *o, four = *o;
        one.cpus_set = four.cpus_set = true;
        one.cpus = 1;
        four.cpus = 4;
        return add_run(pl, NULL, &one) < 0 ? -1 : add_run(pl, NULL, &four);
    }
    return add_run(pl, NULL, o);
}

/* Reads the --module files of a multiboot run and places them. */
static int load_modules(struct run_spec *r, const struct vmm_options *o)
{
    char err[512];

    for (unsigned i = 0; i < o->nmodules; i++) {
        size_t len = strlen(o->modules[i]) + 1, size;
        struct vmm_mb_module *m = &r->mods[i];

        r->mod_specs[i] = malloc(len);
        if (!r->mod_specs[i]) {
            vmm_errf("vmm: out of memory\n");
            return -1;
        }
        r->nmods = i + 1;
        if (vmm_mb_split_module(o->modules[i], r->mod_specs[i], len, &m->path, &m->args,
                                err, sizeof(err)) < 0 ||
            vmm_read_file(m->path, &r->mod_files[i], &size, err, sizeof(err)) < 0) {
            vmm_errf("vmm: error: --module %s\n", err);
            return -1;
        }
        m->data = r->mod_files[i];
        m->size = size;
    }
    if (vmm_mb_place_modules(&r->img, r->mem, r->mods, r->nmods, err, sizeof(err)) < 0) {
        vmm_errf("vmm: error: %s\n", err);
        return -1;
    }
    r->mb = (struct vmm_mb_boot){ r->image, r->bootargs, r->mods, r->nmods };
    return 0;
}

/* Finds the boot protocol the image speaks and validates it for it: a
 * multiboot header makes it a multiboot kernel (ELF32 or ELF64); without
 * one it must be an ELF64 of the vmm ABI. */
static int parse_image(struct run_spec *r, const char *name, const uint8_t *data, size_t size,
                       char *err, size_t errlen)
{
    struct vmm_mb_header h;
    int found = vmm_mb_find(name, data, size, &h, err, errlen);

    if (found < 0)
        return -1;
    r->multiboot = found == 1;
    if (r->multiboot)
        return vmm_elf_parse_flags(name, data, size, r->mem,
                                   VMM_ELF_ALLOW_I386 | VMM_ELF_LOW_MEMORY, &r->img,
                                   err, errlen) < 0 ? -1
               : vmm_mb_check_image(name, &r->img, err, errlen);
    if (vmm_elf_parse(name, data, size, r->mem, &r->img, err, errlen) == 0)
        return 0;
    if (size < 5 || memcmp(data, "\177ELF", 4) != 0 || data[4] != ELFCLASS64_ID) {
        size_t n = strlen(err);
        snprintf(err + n, errlen - n, "; and it has no multiboot header in its first 8 KiB: "
                 "vmm boots two protocols, the vmm ABI (an ELF64 x86-64 kernel, docs/abi.md) "
                 "and multiboot v1 (docs/multiboot.md), and this image speaks neither");
    }
    return -1;
}

/* The image file at path, read on first use; NULL after a message. */
static struct image_file *image_file(struct plan *pl, const char *path)
{
    char err[512], esc[512];
    struct stat st;
    struct image_file *f;

    if (stat(path, &st) == 0)
        for (size_t i = 0; i < pl->nfiles; i++)
            if (vmm_same_file(&st, &pl->files[i].st))
                return &pl->files[i];
    f = realloc(pl->files, (pl->nfiles + 1) * sizeof(*f));
    if (!f) {
        vmm_errf("vmm: out of memory\n");
        return NULL;
    }
    pl->files = f;
    f = &pl->files[pl->nfiles];
    memset(f, 0, sizeof(*f));
    if (vmm_read_file(path, &f->data, &f->size, err, sizeof(err)) < 0) {
        vmm_errf("vmm: error: guest image %s\n",
                 vmm_sanitize((const uint8_t *)err, strlen(err), esc, sizeof(esc)));
        return NULL;
    }
    vmm_sanitize((const uint8_t *)path, strlen(path), esc, sizeof(esc));
    f->path = strdup(path);
    f->label = strdup(esc);
    if (!f->path || !f->label || stat(path, &f->st) < 0) {
        vmm_errf("vmm: error: guest image %s: %s\n", esc,
                 f->path && f->label ? strerror(errno) : "out of memory");
        free(f->path);
        free(f->label);
        free(f->data);
        return NULL;
    }
    pl->nfiles++;
    return f;
}

/* Reads and validates the image of one run (usage errors). */
static int validate_run(struct plan *pl, struct run_spec *r, const struct vmm_options *o)
{
    char err[512], esc[600];
    const uint8_t *data;
    size_t size;

    if (r->image) {
        struct image_file *f = image_file(pl, r->image);
        if (!f)
            return -1;
        data = f->data;
        size = f->size;
        r->label = f->label;
    } else {
        vmm_payload_guest(&data, &size);
        if (size == 0) {
            vmm_errf("vmm: error: this vmm was built without the default guest; "
                     "give --guest IMAGE\n");
            return -1;
        }
    }
    if (parse_image(r, r->label, data, size, err, sizeof(err)) < 0) {
        vmm_errf("vmm: error: %s%s%s\n", r->name ? r->name : "", r->name ? ": " : "",
                 vmm_sanitize((const uint8_t *)err, strlen(err), esc, sizeof(esc)));
        return -1;
    }
    if (!r->multiboot && o->nmodules) {
        vmm_errf("vmm: error: --module: %s is not a multiboot kernel; modules are a "
                 "multiboot feature (docs/multiboot.md)\n", r->label);
        return -1;
    }
    return r->multiboot ? load_modules(r, o) : 0;
}

static void free_plan(struct plan *pl)
{
    for (size_t i = 0; i < pl->nfiles; i++) {
        free(pl->files[i].path);
        free(pl->files[i].label);
        free(pl->files[i].data);
    }
    free(pl->files);
    for (size_t i = 0; i < pl->count; i++)
        for (size_t j = 0; j < pl->runs[i].nmods; j++) {
            free(pl->runs[i].mod_files[j]);
            free(pl->runs[i].mod_specs[j]);
        }
    free(pl->runs);
    vmm_config_free(&pl->cfg);
}

static unsigned max_cpus(const struct plan *pl)
{
    unsigned m = 1;

    for (size_t i = 0; i < pl->count; i++)
        if (pl->runs[i].cpus > m)
            m = pl->runs[i].cpus;
    return m;
}

static int run_one(struct vmm_kvm *k, const struct run_spec *r, const struct vmm_options *o,
                   bool quiet, struct vmm_guest_result *res)
{
    const uint8_t *fw;
    size_t fw_size;
    struct vmm_validate_opts vo = {
        .mode = o->validate_off ? VMM_VALIDATE_OFF : VMM_VALIDATE_TRACE,
        .report_path = o->report, .events_out_path = o->events_out,
        .check_every = o->check_every, .dump_pt = o->dump_pt,
    };
    struct vmm_guest_params p = {
        .validate = r->multiboot ? NULL : &vo,   /* multiboot kernels write no trace rings */
        .label = r->label, .image = &r->img,
        .cpus = r->cpus, .mem = r->mem, .bootargs = r->bootargs,
        .timeout_s = r->timeout_s, .verbose = o->verbose, .quiet = quiet,
        .multiboot = r->multiboot ? &r->mb : NULL, .debug_exit = vmm_debug_exit_default(),
    };
    char err[256];

    memset(res, 0, sizeof(*res));
    res->to_entry_ms = res->to_output_ms = -1.0;
    vmm_payload_firmware(&fw, &fw_size);
    if (fw_size == 0) {
        vmm_errf("vmm: error: this vmm was built without the firmware\n");
        return res->status = VMM_EXIT_VMM_ERROR;
    }
    p.firmware = fw;
    p.firmware_size = fw_size;
    if (o->debug_exit && vmm_debug_exit_parse(o->debug_exit, &p.debug_exit, err,
                                              sizeof(err)) < 0) {
        vmm_errf("vmm: error: %s\n", err);
        return res->status = VMM_EXIT_USAGE;
    }
    if (o->verbose) {
        char args[VMM_MAX_BOOTARGS * 4 + 8];
        vmm_errf("vmm: booting %s%s: %u vCPU(s), %llu MiB, bootargs \"%s\", timeout %u s\n",
                 p.label, p.multiboot ? " (multiboot)" : "", p.cpus,
                 (unsigned long long)(p.mem >> 20),
                 vmm_sanitize((const uint8_t *)p.bootargs, strlen(p.bootargs), args,
                              sizeof(args)), p.timeout_s);
    }
    vmm_machine_run(k, &p, res);
    if (res->debug_exit_written)
        vmm_errf("vmm: the guest wrote %u (0x%x) to the isa-debug-exit port: %s\n",
                 res->debug_exit_value, res->debug_exit_value,
                 vmm_debug_exit_meaning(res->debug_exit_value));
    if (o->verbose)
        vmm_errf("vmm: timing: %s: set-up (VM, memory, images, vCPUs) %.3f ms, first output "
                 "%.3f ms, kernel entry %.3f ms, guest exit %.3f ms, teardown %.3f ms "
                 "(from the run's start; -1: never)\n", p.label, res->setup_ms,
                 res->to_output_ms, res->to_entry_ms, res->to_exit_ms, res->teardown_ms);
    return res->status;
}

static int run_config(struct vmm_kvm *k, struct plan *pl, const struct vmm_options *o)
{
    unsigned passed = 0, failed = 0, skipped = 0;
    int last = 0;

    for (size_t i = 0; i < pl->count; i++) {
        const struct run_spec *r = &pl->runs[i];
        struct vmm_guest_result res;
        char args[VMM_MAX_BOOTARGS * 4 + 8];

        if (r->skip) {
            skipped++;
            vmm_outf("SKIP %s: %s\n", r->name, r->skip);
            continue;
        }
        /* bootargs come from the config file: escaped as guest output is. */
        vmm_outf("== %s (%u vCPU%s, bootargs \"%s\", expect %s)\n", r->name, r->cpus,
                 r->cpus > 1 ? "s" : "",
                 vmm_sanitize((const uint8_t *)r->bootargs, strlen(r->bootargs), args,
                              sizeof(args)), vmm_status_name(r->expect));
        last = run_one(k, r, o, false, &res);
        if (res.debug_exit_written && res.debug_exit_value == VMM_DEBUG_EXIT_KUT_SKIP) {
            skipped++;
            vmm_outf("SKIP %s: the guest skipped every test (exit value %u)\n", r->name,
                     VMM_DEBUG_EXIT_KUT_SKIP);
        } else if (last == r->expect) {
            passed++;
            vmm_outf("PASS %s: %s (%.0f ms)\n", r->name, vmm_status_name(last),
                     res.to_exit_ms);
        } else {
            failed++;
            vmm_outf("FAIL %s: expected %s, got %s\n", r->name,
                     vmm_status_name(r->expect), vmm_status_name(last));
        }
    }
    if (strcmp(o->test, "all") != 0)
        return last;
    if (skipped)      /* the line stays "N passed, M failed" when nothing was skipped */
        vmm_outf("%u passed, %u failed, %u skipped\n", passed, failed, skipped);
    else
        vmm_outf("%u passed, %u failed\n", passed, failed);
    return failed ? VMM_EXIT_GUEST_FAILED : VMM_EXIT_PASSED;
}

static double ms_since(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) * 1e3 + (double)(b->tv_nsec - a->tv_nsec) / 1e6;
}

/* The live-validation part of a benchmark line (empty when not attached):
 * events drained per second and KVM exits per 1000 events. */
static const char *trace_json(const struct vmm_validate_stats *s, char *buf, size_t len)
{
    buf[0] = '\0';
    if (!s->attached)
        return buf;
    uint64_t quiet = s->exits.total - s->exits.by[VMM_EXITK_CONSOLE];

    snprintf(buf, len, ",\"trace_events\":%llu,\"events_per_s\":%.0f,\"kvm_exits\":%llu,"
             "\"exits_per_1000_events\":%.3f,\"non_console_exits_per_1000_events\":%.3f,"
             "\"violations\":%llu",
             (unsigned long long)s->events,
             s->drain_seconds > 0 ? (double)s->events / s->drain_seconds : 0.0,
             (unsigned long long)s->exits.total,
             s->events ? (double)s->exits.total * 1000.0 / (double)s->events : 0.0,
             s->events ? (double)quiet * 1000.0 / (double)s->events : 0.0,
             (unsigned long long)s->violations);
    return buf;
}

static int run_bench(struct vmm_kvm *k, struct plan *pl, const struct vmm_options *o,
                     const struct timespec *t_proc)
{
    int status = VMM_EXIT_PASSED;

    for (size_t i = 0; i < pl->count; i++) {
        for (unsigned it = 0; it < BENCH_ITERATIONS; it++) {
            struct vmm_guest_result res;
            struct vmm_kvm_floor fl;
            struct timespec t_run;
            char err[256], tj[320];
            int st;

            /* The lower bound, measured in the same process just before the run. */
            if (vmm_kvm_floor_measure(&fl, err, sizeof(err)) < 0) {
                vmm_errf("vmm: error: %s\n", err);
                return VMM_EXIT_VMM_ERROR;
            }
            clock_gettime(CLOCK_MONOTONIC, &t_run);
            st = run_one(k, &pl->runs[i], o, !o->verbose, &res);
            vmm_outf("{\"benchmark\":\"boot\",\"cpus\":%u,\"iteration\":%u,"
                     "\"run_start_ms\":%.3f,\"setup_ms\":%.3f,\"to_first_output_ms\":%.3f,"
                     "\"to_entry_ms\":%.3f,\"to_exit_ms\":%.3f,\"teardown_ms\":%.3f,"
                     "\"lower_bound_ms\":%.3f,\"lower_bound_teardown_ms\":%.3f,"
                     "\"ratio_exit_to_lower_bound\":%.2f,\"status\":\"%s\"%s}\n",
                     pl->runs[i].cpus, it, ms_since(t_proc, &t_run), res.setup_ms,
                     res.to_output_ms, res.to_entry_ms, res.to_exit_ms, res.teardown_ms,
                     fl.to_first_exit_ms, fl.teardown_ms,
                     fl.to_first_exit_ms > 0 ? res.to_exit_ms / fl.to_first_exit_ms : -1.0,
                     vmm_status_name(st), trace_json(&res.vstats, tj, sizeof(tj)));
            if (st != VMM_EXIT_PASSED)
                status = st;
        }
    }
    return status;
}

/* The inner command line: this one without --sandbox and --log (the outer
 * vmm writes the log, so a device or a FIFO works as it does here), plus
 * --no-sandbox. NULL when out of memory. */
static char **inner_argv(const struct vmm_options *o, int argc, char **argv, int *n)
{
    char **v = calloc((size_t)argc + 2, sizeof(*v));
    int k = 0;

    if (!v)
        return NULL;
    for (int i = 0; i < argc; i++) {
        if (i > 0 && i == o->sandbox_argi)
            continue;
        if (i > 0 && i == o->log_argi) {
            if (!strchr(argv[i], '='))
                i++;          /* "--log FILE": its value goes too */
            continue;
        }
        v[k++] = argv[i];
    }
    v[k++] = "--no-sandbox";
    *n = k;
    return v;
}

/* Runs the plan inside the sandbox: its size and inputs come from the plan
 * (the largest RAM, vCPU count and timeout of its runs; the config file and
 * each image file), never from re-reading argv or the config. */
static int run_sandboxed(const struct plan *pl, const struct vmm_options *o, int argc,
                         char **argv)
{
    struct sandbox_request rq = { .cpus = max_cpus(pl), .verbose = o->verbose };
    const struct run_spec *mb = NULL;   /* a run with the --module files */
    for (size_t i = 0; i < pl->count && !mb; i++)
        if (pl->runs[i].nmods)
            mb = &pl->runs[i];
    const char **inputs = calloc(pl->nfiles + 1 + (mb ? mb->nmods : 0), sizeof(*inputs));
    int status = VMM_EXIT_VMM_ERROR, n;
    char **v = inner_argv(o, argc, argv, &n);

    if (!inputs || !v) {
        vmm_errf("vmm: out of memory\n");
        goto out;
    }
    for (size_t i = 0; i < pl->count; i++) {
        if (pl->runs[i].mem > rq.mem)
            rq.mem = pl->runs[i].mem;
        if (pl->runs[i].timeout_s > rq.timeout_s)
            rq.timeout_s = pl->runs[i].timeout_s;
    }
    if (o->config)
        inputs[rq.ninputs++] = o->config;
    for (size_t i = 0; i < pl->nfiles; i++)
        inputs[rq.ninputs++] = pl->files[i].path;
    for (size_t i = 0; mb && i < mb->nmods; i++)   /* every run gets the same modules */
        inputs[rq.ninputs++] = mb->mods[i].path;
    rq.inputs = inputs;
    /* The files --report and --events-out write come back from the sandbox
     * (docs/sandbox.md "Outputs") when their directories exist inside. */
    const char *outs[] = { o->report, o->events_out };
    char *dirs[2] = { NULL, NULL };
    const char *outdirs[2];
    for (size_t i = 0; i < 2; i++) {
        if (!outs[i])
            continue;
        char *copy = strdup(outs[i]);
        if (!copy) {
            vmm_errf("vmm: out of memory\n");
            goto out_dirs;
        }
        dirs[i] = copy;
        outdirs[rq.noutdirs++] = dirname(copy);
    }
    rq.outdirs = outdirs;
    rq.argc = n;
    rq.argv = v;
    status = sandbox_run(&rq);
out_dirs:
    free(dirs[0]);
    free(dirs[1]);
out:
    free(inputs);
    free(v);
    return status;
}

/* Hands the invocation to the sandbox when KVM cannot be used here.
 * Returns -1 when the VMM should run directly. */
static int maybe_sandbox(const struct plan *pl, const struct vmm_options *o, int argc,
                         char **argv)
{
    const char *why = "unknown reason";

    if (o->sandbox) {
        vmm_errf("vmm: --sandbox given; running inside the sandbox (QEMU/TCG, nested "
                 "SVM): %s\n", sandbox_fidelity_notice());
        return run_sandboxed(pl, o, argc, argv);
    }
    if (!o->no_sandbox && !sandbox_kvm_usable(&why)) {
        vmm_errf("vmm: /dev/kvm is not available (%s); running inside the sandbox "
                 "(QEMU/TCG, nested SVM): %s\n", why, sandbox_fidelity_notice());
        return run_sandboxed(pl, o, argc, argv);
    }
    return -1;
}

/* --log FILE is truncated on open: refuse it when it is one of the inputs
 * (the config file or a guest image), compared by device and inode so that
 * another name of the same file (a link, "./x", "a/../x") is caught too. */
static int log_names_an_input(const struct plan *pl, const struct vmm_options *o)
{
    struct stat log, in;
    const char *hit = NULL;
    char esc[512];

    if (!o->log || stat(o->log, &log) < 0)
        return 0;           /* a log that does not exist yet is nobody's input */
    if (o->config && stat(o->config, &in) == 0 && vmm_same_file(&log, &in))
        hit = "the config file";
    for (size_t i = 0; !hit && i < pl->nfiles; i++)
        if (vmm_same_file(&log, &pl->files[i].st))
            hit = "a guest image";
    if (!hit)
        return 0;
    vmm_errf("vmm: error: --log %s is %s of this run; it would be overwritten\n",
             vmm_sanitize((const uint8_t *)o->log, strlen(o->log), esc, sizeof(esc)), hit);
    return -1;
}

static int open_log(const struct vmm_options *o, FILE **log)
{
    *log = NULL;
    if (!o->log)
        return 0;
    *log = fopen(o->log, "w");
    if (!*log) {
        vmm_errf("vmm: error: --log: cannot open %s: %s\n", o->log, strerror(errno));
        return -1;
    }
    vmm_out_set_log(*log);
    return 0;
}

static int run_direct(struct plan *pl, const struct vmm_options *o,
                      const struct timespec *t_proc)
{
    struct vmm_kvm k;
    struct vmm_guest_result res;
    char err[256];
    int status;

    if (vmm_kvm_open(&k, max_cpus(pl), o->verbose, err, sizeof(err)) < 0) {
        vmm_errf("vmm: error: %s\n", err);
        return VMM_EXIT_VMM_ERROR;
    }
    if (o->bench)
        status = run_bench(&k, pl, o, t_proc);
    else if (pl->from_config)
        status = run_config(&k, pl, o);
    else {
        status = run_one(&k, &pl->runs[0], o, false, &res);
        vmm_outf("vmm: result: %s (exit status %d)\n", vmm_status_name(status), status);
    }
    vmm_kvm_close(&k);
    return status;
}

int vmm_runner_main(const struct vmm_options *o, int argc, char **argv,
                    const struct timespec *process_start)
{
    struct plan pl;
    FILE *log = NULL;
    int status = VMM_EXIT_USAGE;

    memset(&pl, 0, sizeof(pl));
    if (build_plan(&pl, o) < 0)
        goto out;
    for (size_t i = 0; i < pl.count; i++)
        if (!pl.runs[i].skip && validate_run(&pl, &pl.runs[i], o) < 0)
            goto out;
    if (log_names_an_input(&pl, o) < 0 || open_log(o, &log) < 0)
        goto out;
    status = maybe_sandbox(&pl, o, argc, argv);
    if (status >= 0)
        goto out;
    status = run_direct(&pl, o, process_start);
out:
    free_plan(&pl);
    if (log) {
        vmm_out_set_log(NULL);
        fclose(log);
    }
    return status;
}
