/* Runs, validation, result lines and the benchmark; see runner.h. */
#include "runner.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "elf_image.h"
#include "kvm.h"
#include "machine.h"
#include "memmap.h"
#include "out.h"
#include "payload.h"
#include "sandbox.h"
#include "status.h"
#include "abi/vmm.h"

#define BENCH_ITERATIONS 5

struct run_spec {
    const char *name;          /* config entry name, or NULL */
    const char *image;         /* file path, or NULL = built-in guest */
    unsigned cpus;
    uint64_t mem;
    const char *bootargs;
    unsigned timeout_s;
    int expect;
    uint8_t *file;             /* owned file contents (NULL for built-in) */
    struct vmm_elf_image img;
};

struct plan {
    struct vmm_config cfg;
    struct run_spec *runs;
    size_t count;
    bool from_config;
};

/* Fills a run from the defaults, then the config entry, then the CLI. */
static void merge(struct run_spec *r, const struct vmm_test_entry *e,
                  const struct vmm_options *o)
{
    *r = (struct run_spec){ NULL, NULL, VMM_DEFAULT_CPUS, VMM_DEFAULT_RAM, "",
                            VMM_DEFAULT_TIMEOUT_S, VMM_EXIT_PASSED, NULL, { 0 } };
    if (e) {
        r->name = e->name;
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

/* Reads and validates the image of one run (usage errors). */
static int validate_run(struct run_spec *r)
{
    char err[512];
    const uint8_t *data;
    size_t size;

    if (r->image) {
        if (vmm_read_file(r->image, &r->file, &size, err, sizeof(err)) < 0) {
            vmm_errf("vmm: error: guest image %s\n", err);
            return -1;
        }
        data = r->file;
    } else {
        vmm_payload_guest(&data, &size);
        if (size == 0) {
            vmm_errf("vmm: error: this vmm was built without the default guest; "
                     "give --guest IMAGE\n");
            return -1;
        }
    }
    if (vmm_elf_parse(r->image ? r->image : "built-in guest", data, size, r->mem,
                      &r->img, err, sizeof(err)) < 0) {
        vmm_errf("vmm: error: %s%s%s\n", r->name ? r->name : "",
                 r->name ? ": " : "", err);
        return -1;
    }
    return 0;
}

static void free_plan(struct plan *pl)
{
    for (size_t i = 0; i < pl->count; i++)
        free(pl->runs[i].file);
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
        .validate = &vo,
        .label = r->image ? r->image : "built-in guest", .image = &r->img,
        .cpus = r->cpus, .mem = r->mem, .bootargs = r->bootargs,
        .timeout_s = r->timeout_s, .verbose = o->verbose, .quiet = quiet,
    };

    memset(res, 0, sizeof(*res));
    res->to_entry_ms = res->to_output_ms = -1.0;
    vmm_payload_firmware(&fw, &fw_size);
    if (fw_size == 0) {
        vmm_errf("vmm: error: this vmm was built without the firmware\n");
        return res->status = VMM_EXIT_VMM_ERROR;
    }
    p.firmware = fw;
    p.firmware_size = fw_size;
    if (o->verbose)
        vmm_errf("vmm: booting %s: %u vCPU(s), %llu MiB, bootargs \"%s\", timeout %u s\n",
                 p.label, p.cpus, (unsigned long long)(p.mem >> 20), p.bootargs,
                 p.timeout_s);
    return vmm_machine_run(k, &p, res);
}

static int run_config(struct vmm_kvm *k, struct plan *pl, const struct vmm_options *o)
{
    unsigned passed = 0, failed = 0;
    int last = 0;

    for (size_t i = 0; i < pl->count; i++) {
        const struct run_spec *r = &pl->runs[i];
        struct vmm_guest_result res;

        vmm_outf("== %s (%u vCPU%s, bootargs \"%s\", expect %s)\n", r->name, r->cpus,
                 r->cpus > 1 ? "s" : "", r->bootargs, vmm_status_name(r->expect));
        last = run_one(k, r, o, false, &res);
        if (last == r->expect) {
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
            struct timespec t_run;
            char tj[320];
            int st;

            clock_gettime(CLOCK_MONOTONIC, &t_run);
            st = run_one(k, &pl->runs[i], o, !o->verbose, &res);
            vmm_outf("{\"benchmark\":\"boot\",\"cpus\":%u,\"iteration\":%u,"
                     "\"run_start_ms\":%.3f,\"to_first_output_ms\":%.3f,"
                     "\"to_entry_ms\":%.3f,\"to_exit_ms\":%.3f,\"status\":\"%s\"%s}\n",
                     pl->runs[i].cpus, it, ms_since(t_proc, &t_run), res.to_output_ms,
                     res.to_entry_ms, res.to_exit_ms, vmm_status_name(st),
                     trace_json(&res.vstats, tj, sizeof(tj)));
            if (st != VMM_EXIT_PASSED)
                status = st;
        }
    }
    return status;
}

/* Hands the invocation to the sandbox when KVM cannot be used here.
 * Returns -1 when the VMM should run directly. */
static int maybe_sandbox(const struct vmm_options *o, int argc, char **argv)
{
    const char *why = "unknown reason";

    if (o->sandbox) {
        vmm_errf("vmm: --sandbox given; running inside the sandbox (QEMU/TCG, nested SVM)\n");
        return sandbox_run(argc, argv);
    }
    if (!o->no_sandbox && !sandbox_kvm_usable(&why)) {
        vmm_errf("vmm: /dev/kvm is not available (%s); running inside the sandbox "
                 "(QEMU/TCG, nested SVM)\n", why);
        return sandbox_run(argc, argv);
    }
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
        if (validate_run(&pl.runs[i]) < 0)
            goto out;
    status = maybe_sandbox(o, argc, argv);
    if (status >= 0)
        goto out;
    status = VMM_EXIT_USAGE;
    if (open_log(o, &log) < 0)
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
