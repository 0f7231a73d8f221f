/*
 * guest_bootinfo: the kernel's FDT parsing (guest/kernel/bootinfo.c, with
 * libfdt) accepts the FDT the ABI describes and refuses, with a message
 * naming the problem, every malformed or mismatched one.
 */
#include <check.h>
#include <libfdt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "check_main.h"
#include "guest/bootinfo.h"
#include "guest/printf.h"
#include "abi/trace_ring.h"
#include "abi/vmm.h"

/* The kernel's console, captured. */
static char console[4096];

int kprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t used = strlen(console);
    int n = vsnprintf(console + used, sizeof(console) - used, fmt, ap);
    va_end(ap);
    return n;
}

struct fdt_opts {
    uint32_t abi_version, port;
    const char *compat;
    bool no_vmm, no_memory, no_cpus;
    int ncpus;
    int cpu_index_skip;          /* index to leave out (gap), -1 none */
    int cpu_index_dup;           /* write cpu@0 twice when >= 0 */
    const char *bootargs;
    int reg_cells;               /* bytes of the memory reg property (32 = ok) */
    /* /vmm/tlb-trace (written when trace is true) */
    bool trace;
    const char *trace_compat;
    uint32_t trace_version, ring_count, ring_stride;
    uint64_t trace_base, trace_size;
    int64_t event_version;       /* -1: no event-version property */
};

static struct fdt_opts defaults(void)
{
    return (struct fdt_opts){ VMM_ABI_VERSION, VMM_HYPERCALL_PORT, VMM_FDT_HYPERCALL_COMPAT,
                              false, false, false, 4, -1, -1, "scenario=smp quiet", 16,
                              false, VMM_FDT_TRACE_COMPAT, VMM_TRACE_RING_VERSION, 4, 0x11000,
                              0xf000000, 4 * 0x11000, TLB_EVENT_VERSION };
}

/* The region a VMM with 4 rings of 0x11000 bytes puts at the top of 256 MiB. */
static struct fdt_opts with_trace(void)
{
    struct fdt_opts o = defaults();
    o.trace = true;
    return o;
}

static uint8_t blob[65536];

#define T(x) ck_assert_int_ge((x), 0)

static void reg64(const char *name, uint64_t a, uint64_t b, int bytes)
{
    fdt64_t v[2] = { cpu_to_fdt64(a), cpu_to_fdt64(b) };
    T(fdt_property(blob, name, v, bytes));
}

static void build(const struct fdt_opts *o)
{
    T(fdt_create(blob, sizeof(blob)));
    T(fdt_add_reservemap_entry(blob, 0x1000, 0x1000));
    T(fdt_finish_reservemap(blob));
    T(fdt_begin_node(blob, ""));
    T(fdt_property_u32(blob, "#address-cells", 2));
    T(fdt_property_u32(blob, "#size-cells", 2));
    if (!o->no_memory) {
        T(fdt_begin_node(blob, "memory@0"));
        T(fdt_property_string(blob, "device_type", "memory"));
        reg64("reg", 0, 256 << 20, o->reg_cells);
        T(fdt_end_node(blob));
    }
    if (!o->no_cpus) {
        T(fdt_begin_node(blob, "cpus"));
        T(fdt_property_u32(blob, "#address-cells", 1));
        T(fdt_property_u32(blob, "#size-cells", 0));
        for (int i = 0; i < o->ncpus; i++) {
            char name[16];
            if (i == o->cpu_index_skip)
                continue;
            snprintf(name, sizeof(name), "cpu@%x", i == o->cpu_index_dup ? 0 : i);
            T(fdt_begin_node(blob, name));
            T(fdt_property_string(blob, "device_type", "cpu"));
            T(fdt_property_u32(blob, "reg", (uint32_t)(i * 2)));   /* APIC ID != index */
            T(fdt_end_node(blob));
        }
        T(fdt_end_node(blob));
    }
    T(fdt_begin_node(blob, "chosen"));
    T(fdt_property_string(blob, "bootargs", o->bootargs));
    T(fdt_end_node(blob));
    T(fdt_begin_node(blob, "reserved-memory"));
    T(fdt_property_u32(blob, "#address-cells", 2));
    T(fdt_property_u32(blob, "#size-cells", 2));
    T(fdt_begin_node(blob, "kernel@100000"));
    reg64("reg", 0x100000, 0x80000, 16);
    T(fdt_end_node(blob));
    T(fdt_end_node(blob));
    if (!o->no_vmm) {
        T(fdt_begin_node(blob, "vmm"));
        T(fdt_property_string(blob, "compatible", o->compat));
        T(fdt_property_u32(blob, "abi-version", o->abi_version));
        T(fdt_property_u32(blob, "hypercall-port", o->port));
        if (o->trace) {
            T(fdt_begin_node(blob, "tlb-trace"));
            T(fdt_property_string(blob, "compatible", o->trace_compat));
            reg64("reg", o->trace_base, o->trace_size, 16);
            T(fdt_property_u32(blob, "ring-count", o->ring_count));
            T(fdt_property_u32(blob, "ring-stride", o->ring_stride));
            T(fdt_property_u32(blob, "version", o->trace_version));
            if (o->event_version >= 0)
                T(fdt_property_u32(blob, "event-version", (uint32_t)o->event_version));
            T(fdt_end_node(blob));
        }
        T(fdt_end_node(blob));
    }
    T(fdt_end_node(blob));
    T(fdt_finish(blob));
}

static bool parse(const struct fdt_opts *o, struct bootinfo *bi)
{
    build(o);
    console[0] = '\0';
    memset(bi, 0xee, sizeof(*bi));
    return bootinfo_parse_fdt(blob, sizeof(blob), bi);
}

START_TEST(valid_fdt)
{
    struct fdt_opts o = defaults();
    struct bootinfo bi;
    ck_assert_msg(parse(&o, &bi), "refused: %s", console);
    ck_assert_str_eq(console, "");
    ck_assert_uint_eq(bi.ram.count, 1);
    ck_assert_uint_eq(bi.ram_end, 256 << 20);
    ck_assert_uint_eq(bi.reserved.count, 2);            /* memreserve + kernel@ */
    ck_assert_uint_eq(bi.reserved.r[0].start, 0x1000);
    ck_assert_uint_eq(bi.reserved.r[1].start, 0x100000);
    ck_assert_uint_eq(bi.reserved.r[1].end, 0x180000);
    ck_assert_uint_eq(bi.ncpus, 4);
    for (unsigned i = 0; i < 4; i++) {
        ck_assert_uint_eq(bi.cpus[i].index, i);
        ck_assert_uint_eq(bi.cpus[i].apic_id, 2 * i);
    }
    ck_assert_str_eq(bi.bootargs, "scenario=smp quiet");
    ck_assert(!bi.trace.present);                       /* no /vmm/tlb-trace: untraced */
}
END_TEST

/* A stride that is no multiple of a page is fine (the ABI fixes none). */
START_TEST(trace_stride_need_not_be_page_aligned)
{
    struct fdt_opts o = with_trace();
    struct bootinfo bi;
    o.ring_stride = VMM_TRACE_RING_HEADER_SIZE + 16 * TLB_EVENT_RECORD_SIZE;
    ck_assert_msg(parse(&o, &bi), "refused: %s", console);
    ck_assert_uint_eq(bi.trace.ring_stride, VMM_TRACE_RING_HEADER_SIZE + 16 * TLB_EVENT_RECORD_SIZE);
}
END_TEST

START_TEST(trace_node_is_read_and_reserved)
{
    struct fdt_opts o = with_trace();
    struct bootinfo bi;
    ck_assert_msg(parse(&o, &bi), "refused: %s", console);
    ck_assert(bi.trace.present);
    ck_assert_uint_eq(bi.trace.base, 0xf000000);
    ck_assert_uint_eq(bi.trace.size, 4 * 0x11000);
    ck_assert_uint_eq(bi.trace.ring_count, 4);
    ck_assert_uint_eq(bi.trace.ring_stride, 0x11000);
    ck_assert_uint_eq(bi.trace.event_version, TLB_EVENT_VERSION);
    /* The region is reserved, so the frame allocator never hands it out. */
    ck_assert_uint_eq(bi.reserved.count, 3);
    ck_assert_uint_eq(bi.reserved.r[2].start, 0xf000000);
    ck_assert_uint_eq(bi.reserved.r[2].end, 0xf000000 + 4 * 0x11000);
}
END_TEST

/* A host that reads only version-1 events announces no event-version: 1. */
START_TEST(trace_event_version_defaults_to_1)
{
    struct fdt_opts o = with_trace();
    struct bootinfo bi;
    o.event_version = -1;
    ck_assert_msg(parse(&o, &bi), "refused: %s", console);
    ck_assert_uint_eq(bi.trace.event_version, 1);
}
END_TEST

/* Each case: what to break, and words the message must contain. */
static void break_abi(struct fdt_opts *o) { o->abi_version = 2; }
static void break_port(struct fdt_opts *o) { o->port = 0x600; }
static void break_compat(struct fdt_opts *o) { o->compat = "other,hypercall"; }
static void break_no_vmm(struct fdt_opts *o) { o->no_vmm = true; }
static void break_no_memory(struct fdt_opts *o) { o->no_memory = true; }
static void break_reg(struct fdt_opts *o) { o->reg_cells = 12; }
static void break_no_cpus(struct fdt_opts *o) { o->no_cpus = true; }
static void break_gap(struct fdt_opts *o) { o->cpu_index_skip = 1; }
static void break_dup(struct fdt_opts *o) { o->cpu_index_dup = 2; }
static void break_zero_cpus(struct fdt_opts *o) { o->ncpus = 0; }
static void break_many_cpus(struct fdt_opts *o) { o->ncpus = 65; }
static void break_trace_compat(struct fdt_opts *o) { *o = with_trace(); o->trace_compat = "x,y"; }
static void break_trace_version(struct fdt_opts *o) { *o = with_trace(); o->trace_version = 2; }
static void break_trace_count(struct fdt_opts *o) { *o = with_trace(); o->ring_count = 0; }
static void break_trace_stride(struct fdt_opts *o) { *o = with_trace(); o->ring_stride = 4096; }
static void break_trace_stride_odd(struct fdt_opts *o) { *o = with_trace(); o->ring_stride += 4; }
static void break_trace_small(struct fdt_opts *o) { *o = with_trace(); o->trace_size = 0x11000; }
static void break_trace_outside(struct fdt_opts *o) { *o = with_trace(); o->trace_base = 0x10000000; }
static void break_trace_align(struct fdt_opts *o) { *o = with_trace(); o->trace_base += 8; }
static void break_trace_event_version(struct fdt_opts *o) { *o = with_trace(); o->event_version = 0; }

static const struct {
    void (*edit)(struct fdt_opts *);
    const char *words;
} refusals[] = {
    { break_abi, "abi-version is 2 but this kernel implements version 1; refusing to run" },
    { break_port, "hypercall-port is 0x600" },
    { break_compat, "not compatible with \"vmm,hypercall-v1\"" },
    { break_no_vmm, "no /vmm node" },
    { break_no_memory, "no memory node" },
    { break_reg, "memory: missing or malformed reg" },
    { break_no_cpus, "no /cpus node" },
    { break_gap, "indices must be 0..2 without gaps" },
    { break_dup, "cpu@0 appears twice" },
    { break_zero_cpus, "/cpus lists no cpu" },
    { break_many_cpus, "expected cpu@N with N < 64" },
    { break_trace_compat, "/vmm/tlb-trace is not compatible with \"vmm,tlb-trace-v1\"" },
    { break_trace_version, "/vmm/tlb-trace: missing version, or not version 1" },
    { break_trace_count, "ring-count missing or not in 1..64" },
    { break_trace_stride, "ring-stride missing, not a multiple of 8, or below one header page" },
    { break_trace_stride_odd, "ring-stride missing, not a multiple of 8" },
    { break_trace_small, "too small for 4 rings of 69632 bytes" },
    { break_trace_outside, "region 0x10000000+0x44000 is not page-aligned, not inside RAM" },
    { break_trace_align, "region 0xf000008+0x44000 is not page-aligned" },
    { break_trace_event_version, "/vmm/tlb-trace: event-version is not one cell of at least 1" },
};

START_TEST(refusals_name_the_problem)
{
    struct fdt_opts o = defaults();
    struct bootinfo bi;
    refusals[_i].edit(&o);
    ck_assert_msg(!parse(&o, &bi), "case %d accepted", _i);
    ck_assert_msg(strstr(console, refusals[_i].words), "case %d: message \"%s\" lacks \"%s\"",
                  _i, console, refusals[_i].words);
}
END_TEST

START_TEST(corrupt_header)
{
    struct fdt_opts o = defaults();
    struct bootinfo bi;
    build(&o);
    memset(blob, 0, 8);                                 /* magic and size gone */
    console[0] = '\0';
    ck_assert(!bootinfo_parse_fdt(blob, sizeof(blob), &bi));
    ck_assert_ptr_nonnull(strstr(console, "bad header"));
    build(&o);
    console[0] = '\0';
    ck_assert(!bootinfo_parse_fdt(blob, 64, &bi));      /* larger than allowed */
    ck_assert_ptr_nonnull(strstr(console, "exceeds 64"));
}
END_TEST

START_TEST(bootargs_lookup)
{
    char v[8];
    ck_assert_int_eq(bootarg_get("a=1 scenario=smp b", "scenario", v, sizeof(v)), 1);
    ck_assert_str_eq(v, "smp");
    ck_assert_int_eq(bootarg_get("  scenario=page-fault", "scenario", v, sizeof(v)), -1);
    ck_assert_int_eq(bootarg_get("scenarios=x", "scenario", v, sizeof(v)), 0);
    ck_assert_int_eq(bootarg_get("xscenario=x", "scenario", v, sizeof(v)), 0);
    ck_assert_int_eq(bootarg_get("", "scenario", v, sizeof(v)), 0);
    ck_assert_int_eq(bootarg_get("scenario=", "scenario", v, sizeof(v)), 1);
    ck_assert_str_eq(v, "");
    ck_assert_int_eq(bootarg_get("scenario=a scenario=b", "scenario", v, sizeof(v)), 1);
    ck_assert_str_eq(v, "a");                           /* the first one wins */
}
END_TEST

int check_program(int argc, char **argv, struct check_plan *plan)
{
    if (!check_no_args(argc, argv))
        return CHECK_EXIT_USAGE;
    Suite *s = suite_create("guest_bootinfo");
    TCase *tc = tcase_create("bootinfo");
    tcase_add_test(tc, valid_fdt);
    tcase_add_test(tc, trace_node_is_read_and_reserved);
    tcase_add_test(tc, trace_event_version_defaults_to_1);
    tcase_add_test(tc, trace_stride_need_not_be_page_aligned);
    tcase_add_loop_test(tc, refusals_name_the_problem, 0,
                        (int)(sizeof(refusals) / sizeof(refusals[0])));
    tcase_add_test(tc, corrupt_header);
    tcase_add_test(tc, bootargs_lookup);
    suite_add_tcase(s, tc);
    check_plan_add(plan, s);
    return CHECK_RUN;
}
