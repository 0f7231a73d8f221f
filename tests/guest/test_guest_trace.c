/*
 * guest_trace: the guest's TLB trace producer end to end, on KVM (inside the
 * sandbox where /dev/kvm cannot be opened), before the VMM consumes rings:
 * this test plays the host. The harness's FDT gets a /vmm/tlb-trace node
 * with small rings (so they wrap and the producer has to wait for the
 * consumer), a consumer thread drains them as abi/trace_ring.h says, a
 * hypercall hook answers VMM_HC_TRACE_ATTACH and VMM_HC_CHECKPOINT, and the
 * merged stream goes through the TLB validator (tlb/validator.h).
 *
 *   the default workload on 1, 2 and 4 CPUs: attach once, before any event;
 *   every sequence number exactly once, each record in its CPU's ring; the
 *   stream starts with the kernel page table's build (its root's
 *   NODE_ALLOC); every node is announced by a NODE_ALLOC before the first
 *   store into it; every CPU loads CR3;
 *   at each checkpoint every event below the announced sequence number is
 *   already published; the validator finds no violation and no bad input
 *
 *   an older host (no event-version in /vmm/tlb-trace): the guest writes a
 *   version-1 stream, without NODE_ALLOC, which validates clean as version 1
 *
 *   planted bugs (tlb_bug=free-before-flush, tlb_bug=skip-unmap-flush): the
 *   validator reports violations of the expected classes
 *
 * Usage: test_guest_trace <firmware.bin> <guest.elf>.
 */
#define _GNU_SOURCE   /* memmem */
#include <check.h>
#include <libfdt.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "kvm_harness.h"
#include "abi/trace_ring.h"
#include "abi/vmm.h"
#include "tlb/validator.h"

#define MEM     (64ull << 20)
/* Records per ring: small for the workload (the rings wrap and the
 * producer waits for the consumer thread), large for the benchmark: its
 * whole stream fits, so no consumer runs during it and its figures show the
 * producer's own cost (in the sandbox, single-threaded TCG runs a polling
 * consumer on the same host thread as the vCPU, and the guest's TSC counts
 * that time too). */
#define CAP_SMALL 512u
#define CAP_LARGE 65536u
#define MAX_EVENTS (1u << 20)

static const char *rom, *elf;
static struct hx_result res;
/* The event-version the test's /vmm/tlb-trace announces; 0 leaves the property out (a host that
 * reads only version 1). */
static uint32_t announced_event_version = TLB_EVENT_VERSION;

/* The host side of one run. */
struct host {
    int cpus;
    uint32_t cap;                      /* records per ring */
    uint64_t stride;                   /* bytes per ring */
    uint64_t base;                     /* the ring region */
    struct vmm_trace_ring *ring[HX_MAX_CPUS];
    uint64_t tail[HX_MAX_CPUS];
    struct tlb_event *events;          /* drained records, in drain order */
    size_t nevents;
    unsigned wrong_cpu;                /* records found in another CPU's ring */
    unsigned attaches, early_events;   /* attach calls; records published before attach */
    unsigned checkpoints, unpublished; /* checkpoints; those with events still missing */
    uint64_t last_checkpoint_seq;
    bool checkpoint_seq_backwards;
    atomic_bool stop;
    pthread_mutex_t lock;              /* drain: consumer thread vs. checkpoint hook */
};

static struct host host;

/* Copies every published record of every ring (consumer protocol: acquire
 * head, copy, release tail). Requires host.lock. */
static void drain(void)
{
    for (int i = 0; i < host.cpus; i++) {
        struct vmm_trace_ring *r = host.ring[i];
        uint64_t head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
        for (; host.tail[i] < head; host.tail[i]++) {
            const uint8_t *rec = (const uint8_t *)r + VMM_TRACE_RING_HEADER_SIZE +
                                 (host.tail[i] % host.cap) * TLB_EVENT_RECORD_SIZE;
            struct tlb_event ev;
            memcpy(&ev, rec, sizeof(ev));
            if (ev.cpu != (uint32_t)i)
                host.wrong_cpu++;
            if (host.nevents < MAX_EVENTS)
                host.events[host.nevents++] = ev;
        }
        __atomic_store_n(&r->tail, host.tail[i], __ATOMIC_RELEASE);
    }
}

static void *consumer(void *arg)
{
    (void)arg;
    while (!atomic_load(&host.stop)) {
        pthread_mutex_lock(&host.lock);
        drain();
        pthread_mutex_unlock(&host.lock);
        sched_yield();
    }
    return NULL;
}

/* Published records so far, over every ring. */
static uint64_t published(void)
{
    uint64_t n = 0;
    for (int i = 0; i < host.cpus; i++)
        n += __atomic_load_n(&host.ring[i]->head, __ATOMIC_ACQUIRE);
    return n;
}

static int64_t hook(void *ctx, int cpu, uint32_t nr, const uint64_t args[5])
{
    (void)ctx;
    (void)cpu;
    switch (nr) {
    case VMM_HC_TRACE_ATTACH:
        if (args[0] != (uint64_t)host.cpus || host.attaches)
            return -VMM_EINVAL;
        host.attaches++;
        host.early_events += (unsigned)published();
        return 0;
    case VMM_HC_CHECKPOINT:
        if (!host.attaches)
            return -VMM_EINVAL;
        host.checkpoints++;
        /* Every CPU is at a barrier: all events below args[0] are out. */
        if (published() != args[0])
            host.unpublished++;
        if (args[0] < host.last_checkpoint_seq)
            host.checkpoint_seq_backwards = true;
        host.last_checkpoint_seq = args[0];
        return 0;
    default:
        return -VMM_ENOSYS;
    }
}

/* Adds /vmm/tlb-trace (and its reservations) to the FDT the harness wrote,
 * as the VMM does (abi/vmm.h); returns the new size. */
static int add_trace_node(struct hx_vm *vm, int fdt_size)
{
    static uint8_t buf[VMM_FDT_MAX_SIZE];
    void *fdt = hx_ram(vm, VMM_FDT_ADDR, VMM_FDT_MAX_SIZE);
    uint64_t size = (uint64_t)host.cpus * host.stride;
    fdt64_t reg[2] = { cpu_to_fdt64(host.base), cpu_to_fdt64(size) };
    char name[32];
    ck_assert_int_gt(fdt_size, 0);
    ck_assert_int_eq(fdt_open_into(fdt, buf, sizeof(buf)), 0);
    ck_assert_int_eq(fdt_add_mem_rsv(buf, host.base, size), 0);
    int rsv = fdt_path_offset(buf, "/reserved-memory");
    ck_assert_int_ge(rsv, 0);
    snprintf(name, sizeof(name), "trace@%llx", (unsigned long long)host.base);
    int child = fdt_add_subnode(buf, rsv, name);
    ck_assert_int_ge(child, 0);
    ck_assert_int_eq(fdt_setprop(buf, child, "reg", reg, sizeof(reg)), 0);
    int node = fdt_add_subnode(buf, fdt_path_offset(buf, "/vmm"), "tlb-trace");
    ck_assert_int_ge(node, 0);
    ck_assert_int_eq(fdt_setprop_string(buf, node, "compatible", VMM_FDT_TRACE_COMPAT), 0);
    ck_assert_int_eq(fdt_setprop(buf, node, "reg", reg, sizeof(reg)), 0);
    ck_assert_int_eq(fdt_setprop_u32(buf, node, "ring-count", (uint32_t)host.cpus), 0);
    ck_assert_int_eq(fdt_setprop_u32(buf, node, "ring-stride", (uint32_t)host.stride), 0);
    ck_assert_int_eq(fdt_setprop_u32(buf, node, "version", VMM_TRACE_RING_VERSION), 0);
    if (announced_event_version)
        ck_assert_int_eq(fdt_setprop_u32(buf, node, "event-version", announced_event_version), 0);
    ck_assert_int_eq(fdt_pack(buf), 0);
    ck_assert_uint_le(fdt_totalsize(buf), VMM_FDT_MAX_SIZE);
    memcpy(fdt, buf, fdt_totalsize(buf));
    return (int)fdt_totalsize(buf);
}

static void init_rings(struct hx_vm *vm)
{
    for (int i = 0; i < host.cpus; i++) {
        struct vmm_trace_ring *r = hx_ram(vm, host.base + (uint64_t)i * host.stride, host.stride);
        ck_assert_ptr_nonnull(r);
        memset(r, 0, VMM_TRACE_RING_HEADER_SIZE);
        r->magic = VMM_TRACE_RING_MAGIC;
        r->version = VMM_TRACE_RING_VERSION;
        r->record_size = TLB_EVENT_RECORD_SIZE;
        r->cpu = (uint32_t)i;
        r->capacity = host.cap;
        host.ring[i] = r;
        host.tail[i] = 0;
    }
}

/* Boots the guest with rings and runs the consumer; the records end up in
 * host.events, sorted by seq. */
static void traced_boot(int cpus, const char *bootargs, uint32_t cap)
{
    char err[256];
    uint64_t entry, end;
    free(host.events);
    memset(&host, 0, sizeof(host));
    host.cpus = cpus;
    host.cap = cap;
    host.stride = VMM_TRACE_RING_HEADER_SIZE + (uint64_t)cap * TLB_EVENT_RECORD_SIZE;
    host.base = MEM - (uint64_t)cpus * host.stride;
    host.events = calloc(MAX_EVENTS, sizeof(*host.events));
    ck_assert_ptr_nonnull(host.events);
    pthread_mutex_init(&host.lock, NULL);

    struct hx_vm *vm = hx_create(cpus, MEM, rom, err, sizeof(err));
    ck_assert_msg(vm, "%s", err);
    ck_assert_msg(hx_load_elf(vm, elf, &entry, &end, err, sizeof(err)) == 0, "%s", err);
    int size = hx_build_fdt_cpus(vm, bootargs, VMM_ABI_VERSION, VMM_HYPERCALL_PORT,
                                 VMM_KERNEL_MIN_ADDR, end, cpus, NULL, err, sizeof(err));
    ck_assert_msg(size > 0, "%s", err);
    init_rings(vm);
    size = add_trace_node(vm, size);
    struct vmm_boot_handoff h = { .magic = VMM_BOOT_MAGIC, .abi_version = VMM_ABI_VERSION,
                                  .size = sizeof(h), .kernel_entry = entry,
                                  .fdt_addr = VMM_FDT_ADDR, .fdt_size = (uint64_t)size,
                                  .mem_size = MEM };
    hx_write_handoff(vm, &h);
    hx_set_hypercall_hook(vm, hook, NULL);

    pthread_t t;
    bool live_consumer = cap == CAP_SMALL;
    if (live_consumer)
        ck_assert_int_eq(pthread_create(&t, NULL, consumer, NULL), 0);
    int run = hx_run(vm, 240, &res);
    atomic_store(&host.stop, true);
    if (live_consumer)
        pthread_join(t, NULL);
    pthread_mutex_lock(&host.lock);
    drain();
    pthread_mutex_unlock(&host.lock);
    hx_destroy(vm);
    ck_assert_int_eq(run, 0);
    ck_assert_msg(res.end == HX_END_EXIT && res.status == 0,
                  "end %d status %llu error '%s'; console:\n%s", res.end,
                  (unsigned long long)res.status, res.error, res.console);
    ck_assert_uint_lt(host.nevents, MAX_EVENTS);
}

static int by_seq(const void *a, const void *b)
{
    uint64_t x = ((const struct tlb_event *)a)->seq, y = ((const struct tlb_event *)b)->seq;
    return x < y ? -1 : x > y;
}

/* Every page-table node the guest stores into was allocated in the stream (NODE_ALLOC, since its
 * last FREE) before the store: the host models each one whole, not only its written entries. */
static void every_node_announced(void)
{
    static bool live[MEM >> 12];
    memset(live, 0, sizeof(live));
    for (size_t i = 0; i < host.nevents; i++) {
        const struct tlb_event *e = &host.events[i];
        if (e->type == TLB_EV_NODE_ALLOC) {
            ck_assert_uint_lt(e->u.alloc.node, MEM);
            live[e->u.alloc.node >> 12] = true;
        } else if (e->type == TLB_EV_FREE && e->sub == TLB_FREE_PT_NODE && e->u.free.pa < MEM) {
            live[e->u.free.pa >> 12] = false;
        } else if (e->type == TLB_EV_PTE_STORE) {
            ck_assert_msg(e->u.pte.node < MEM && live[e->u.pte.node >> 12],
                          "event %llu stores into node 0x%llx, which no NODE_ALLOC announced",
                          (unsigned long long)e->seq, (unsigned long long)e->u.pte.node);
        }
    }
}

/* The protocol checks, then the validator's verdict on the merged stream, read as a stream file
 * of format `version`. */
static struct tlb_validator *validate_as(unsigned version)
{
    ck_assert_msg(strstr(res.console, "trace: "), "console:\n%s", res.console);
    ck_assert_uint_eq(host.attaches, 1);
    ck_assert_uint_eq(host.early_events, 0);        /* nothing written before attach */
    ck_assert_uint_eq(host.wrong_cpu, 0);
    ck_assert_uint_eq(host.unpublished, 0);
    ck_assert(!host.checkpoint_seq_backwards);
    qsort(host.events, host.nevents, sizeof(*host.events), by_seq);
    for (size_t i = 0; i < host.nevents; i++)
        ck_assert_msg(host.events[i].seq == i, "record %zu has seq %llu: a gap or a duplicate",
                      i, (unsigned long long)host.events[i].seq);
    ck_assert_uint_gt(host.nevents, 0);
    if (version >= 2) {
        /* The first event is the allocation of the kernel page table's root. */
        ck_assert_uint_eq(host.events[0].type, TLB_EV_NODE_ALLOC);
        ck_assert_uint_eq(host.events[0].sub, 4);
        every_node_announced();
    } else {
        /* Version 1: the first event is a store into the kernel page table being built. */
        ck_assert_uint_eq(host.events[0].type, TLB_EV_PTE_STORE);
    }
    uint64_t cr3_cpus = 0;
    for (size_t i = 0; i < host.nevents; i++)
        if (host.events[i].type == TLB_EV_CR3_LOAD)
            cr3_cpus |= 1ull << host.events[i].cpu;
    ck_assert_uint_eq(cr3_cpus, (1ull << host.cpus) - 1);

    size_t len = sizeof(struct tlb_stream_header) + host.nevents * TLB_EVENT_RECORD_SIZE;
    uint8_t *stream = malloc(len);
    ck_assert_ptr_nonnull(stream);
    struct tlb_stream_header sh = { TLB_STREAM_MAGIC, (uint16_t)version, TLB_EVENT_RECORD_SIZE,
                                    (uint32_t)host.cpus, 0 };
    memcpy(stream, &sh, sizeof(sh));
    memcpy(stream + sizeof(sh), host.events, host.nevents * TLB_EVENT_RECORD_SIZE);
    struct tlb_validator *v = NULL;
    enum tlb_verdict verdict = tlb_validate_bytes(stream, len, NULL, &v);
    free(stream);
    ck_assert_ptr_nonnull(v);
    ck_assert_msg(verdict != TLB_VERDICT_BAD_INPUT, "the validator refused the stream: %s",
                  tlb_validator_error(v));
    return v;
}

static struct tlb_validator *validate(void) { return validate_as(TLB_EVENT_VERSION); }

static void print_reports(struct tlb_validator *v, size_t max)
{
    for (size_t i = 0; i < tlb_validator_report_count(v) && i < max; i++)
        tlb_report_print_text(tlb_validator_report(v, i), stdout);
}

static const int trace_cpus[] = { 1, 2, 4 };

START_TEST(workload_stream_is_complete_and_clean)
{
    int n = trace_cpus[_i];
    traced_boot(n, "", CAP_SMALL);
    struct tlb_validator *v = validate();
    uint64_t violations = tlb_validator_count(v, TLB_REPORT_VIOLATION);
    if (violations)
        print_reports(v, 3);
    ck_assert_uint_eq(violations, 0);
    ck_assert_uint_eq(tlb_validator_events(v), host.nevents);
    tlb_validator_destroy(v);
    /* 2 per round, 4 rounds, and one at the end (docs/guest-mm.md). */
    ck_assert_uint_eq(host.checkpoints, 9);
    char line[48];
    snprintf(line, sizeof(line), "checkpoints 9, failures 0: ok");
    ck_assert_msg(strstr(res.console, line), "console:\n%s", res.console);
    /* The rings were far smaller than the stream: they wrapped. */
    ck_assert_uint_gt(host.nevents, CAP_SMALL * (unsigned)n);
}
END_TEST

/* A host that announces no event-version reads version 1 only: the guest emits no NODE_ALLOC,
 * and its stream is a clean version-1 stream (every node then known by its written entries). */
START_TEST(old_host_gets_a_version_1_stream)
{
    announced_event_version = 0;
    traced_boot(1, "", CAP_SMALL);
    announced_event_version = TLB_EVENT_VERSION;
    struct tlb_validator *v = validate_as(1);
    ck_assert_uint_eq(tlb_validator_count(v, TLB_REPORT_VIOLATION), 0);
    ck_assert_uint_eq(tlb_validator_events(v), host.nevents);
    tlb_validator_destroy(v);
    ck_assert_uint_eq(host.checkpoints, 9);
}
END_TEST

/* The benchmark traced: its stream is clean too, and its JSON says
 * "trace":"on". The lines are printed (timings are never checked). */
START_TEST(bench_vmspace_traced)
{
    traced_boot(1, "scenario=bench_vmspace", CAP_LARGE);
    struct tlb_validator *v = validate();
    ck_assert_uint_eq(tlb_validator_count(v, TLB_REPORT_VIOLATION), 0);
    tlb_validator_destroy(v);
    int lines = 0;
    for (const char *p = strstr(res.console, "{\"bench\""); p; p = strstr(p + 1, "{\"bench\"")) {
        const char *end = strchr(p, '\n');
        ck_assert_ptr_nonnull(end);
        ck_assert_msg(memmem(p, (size_t)(end - p), "\"trace\":\"on\"", 12), "%.*s",
                      (int)(end - p), p);
        printf("%.*s\n", (int)(end - p), p);
        lines++;
    }
    ck_assert_int_eq(lines, 4);
}
END_TEST

/* Each planted bug must be caught, with a violation of one of its classes. */
static const struct {
    const char *bootargs;
    unsigned classes;       /* TLB_CLASS_BIT mask: at least one of them */
} bugs[] = {
    { "tlb_bug=free-before-flush", TLB_CLASS_BIT(TLB_T1) | TLB_CLASS_BIT(TLB_T3) |
                                   TLB_CLASS_BIT(TLB_T9) },
    { "tlb_bug=skip-unmap-flush", TLB_CLASS_BIT(TLB_T1) | TLB_CLASS_BIT(TLB_T3) |
                                  TLB_CLASS_BIT(TLB_T9) | TLB_CLASS_BIT(TLB_T11) },
};

START_TEST(planted_bug_is_caught)
{
    traced_boot(2, bugs[_i].bootargs, CAP_SMALL);
    struct tlb_validator *v = validate();
    ck_assert_msg(tlb_validator_count(v, TLB_REPORT_VIOLATION) > 0, "%s: no violation",
                  bugs[_i].bootargs);
    uint64_t expected = 0;
    for (unsigned c = 0; c < 32; c++)
        if (bugs[_i].classes & (1u << c))
            expected += tlb_validator_class_count(v, c);
    if (!expected)
        print_reports(v, 3);
    ck_assert_msg(expected > 0, "%s: no violation of the expected classes", bugs[_i].bootargs);
    tlb_validator_destroy(v);
}
END_TEST

/* The plan's cleanup: the last traced run's records. */
static bool free_events(void)
{
    free(host.events);
    host.events = NULL;
    return true;
}

int check_program(int argc, char **argv, struct check_plan *plan)
{
    int status = hx_test_start("guest_trace", "<firmware.bin> <guest.elf>", argc, argv);
    if (status >= 0)
        return status;
    rom = argv[1];
    elf = argv[2];
    Suite *s = suite_create("guest_trace");
    TCase *tc = tcase_create("traced");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, workload_stream_is_complete_and_clean, 0,
                        (int)(sizeof(trace_cpus) / sizeof(trace_cpus[0])));
    tcase_add_loop_test(tc, planted_bug_is_caught, 0, (int)(sizeof(bugs) / sizeof(bugs[0])));
    tcase_add_test(tc, old_host_gets_a_version_1_stream);
    tcase_add_test(tc, bench_vmspace_traced);
    suite_add_tcase(s, tc);
    check_plan_add(plan, s);
    plan->cleanup = free_events;
    return CHECK_RUN;
}
