/* Unit tests: the FDT (vmm/fdt_build.c) built, then read back with libfdt. */
#include <check.h>
#include <libfdt.h>
#include <stdio.h>
#include <string.h>

#include "check_main.h"
#include "fdt_build.h"
#include "memmap.h"
#include "abi/vmm.h"

static uint8_t buf[VMM_FDT_MAX_SIZE];
static char err[256];

static const struct vmm_fdt_params params = {
    .mem_size = 256ull << 20, .cpus = 4, .bootargs = "scenario=ipi quiet",
    .kernel_lo = 0x200000, .kernel_hi = 0x35a000,
};

static int node(const char *path)
{
    int off = fdt_path_offset(buf, path);

    ck_assert_msg(off >= 0, "%s: %s", path, fdt_strerror(off));
    return off;
}

static uint32_t cell(int off, const char *name)
{
    int len;
    const fdt32_t *p = fdt_getprop(buf, off, name, &len);

    ck_assert_msg(p && len == 4, "%s missing or not one cell", name);
    return fdt32_to_cpu(*p);
}

static void reg64(int off, uint64_t *base, uint64_t *size)
{
    int len;
    const void *p = fdt_getprop(buf, off, "reg", &len);
    fdt64_t v[2];

    ck_assert_msg(p && len == 16, "reg missing or not <2+2 cells>");
    memcpy(v, p, sizeof(v));     /* properties are only 4-byte aligned */
    *base = fdt64_to_cpu(v[0]);
    *size = fdt64_to_cpu(v[1]);
}

static void build(const struct vmm_fdt_params *p)
{
    memset(buf, 0xee, sizeof(buf));
    ck_assert_msg(vmm_fdt_build(buf, sizeof(buf), p, err, sizeof(err)) == 0, "%s", err);
    ck_assert_int_eq(fdt_check_header(buf), 0);
    ck_assert_uint_le(fdt_totalsize(buf), sizeof(buf));
}

START_TEST(root_memory_chosen)
{
    uint64_t base, size;
    int off;

    build(&params);
    off = node("/");
    ck_assert_uint_eq(cell(off, "#address-cells"), 2);
    ck_assert_uint_eq(cell(off, "#size-cells"), 2);
    ck_assert_int_eq(fdt_node_check_compatible(buf, off, VMM_FDT_COMPATIBLE), 0);

    off = node("/memory@0");
    ck_assert_str_eq(fdt_getprop(buf, off, "device_type", NULL), "memory");
    reg64(off, &base, &size);
    ck_assert_uint_eq(base, 0);
    ck_assert_uint_eq(size, params.mem_size);

    off = node("/chosen");
    ck_assert_str_eq(fdt_getprop(buf, off, "bootargs", NULL), params.bootargs);
    /* stdout-path must name a node that exists */
    node(fdt_getprop(buf, off, "stdout-path", NULL));

    off = node("/uart@3f8");
    ck_assert_int_eq(fdt_node_check_compatible(buf, off, "ns16550a"), 0);
    reg64(off, &base, &size);
    ck_assert_uint_eq(base, VMM_COM1_PORT);
    ck_assert_uint_eq(size, 8);
}
END_TEST

START_TEST(cpus_have_apic_ids)
{
    int cpus, child, n = 0;
    char path[32];

    build(&params);
    cpus = node("/cpus");
    ck_assert_uint_eq(cell(cpus, "#address-cells"), 1);
    ck_assert_uint_eq(cell(cpus, "#size-cells"), 0);
    fdt_for_each_subnode(child, buf, cpus) {
        ck_assert_str_eq(fdt_getprop(buf, child, "device_type", NULL), "cpu");
        n++;
    }
    ck_assert_int_eq(n, (int)params.cpus);
    for (unsigned i = 0; i < params.cpus; i++) {
        snprintf(path, sizeof(path), "/cpus/cpu@%x", i);
        ck_assert_uint_eq(cell(node(path), "reg"), i);
    }
}
END_TEST

START_TEST(vmm_node)
{
    int off;

    build(&params);
    off = node("/vmm");
    ck_assert_int_eq(fdt_node_check_compatible(buf, off, VMM_FDT_HYPERCALL_COMPAT), 0);
    ck_assert_uint_eq(cell(off, "abi-version"), VMM_ABI_VERSION);
    ck_assert_uint_eq(cell(off, "hypercall-port"), VMM_HYPERCALL_PORT);
}
END_TEST

START_TEST(reserved_regions)
{
    static const struct { const char *path; uint64_t base, size; } want[] = {
        { "/reserved-memory/boot@0", 0, VMM_FDT_ADDR },
        { "/reserved-memory/fdt@20000", VMM_FDT_ADDR, VMM_FDT_MAX_SIZE },
        { "/reserved-memory/low@40000", VMM_FDT_ADDR + VMM_FDT_MAX_SIZE,
          VMM_KERNEL_MIN_ADDR - VMM_FDT_ADDR - VMM_FDT_MAX_SIZE },
        { "/reserved-memory/kernel@200000", 0x200000, 0x15a000 },
    };
    uint64_t base, size, covered = 0;

    build(&params);
    ck_assert_int_eq(fdt_num_mem_rsv(buf), 4);
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(fdt_get_mem_rsv(buf, i, &base, &size), 0);
        ck_assert_uint_eq(base, want[i].base);
        ck_assert_uint_eq(size, want[i].size);
        reg64(node(want[i].path), &base, &size);
        ck_assert_uint_eq(base, want[i].base);
        ck_assert_uint_eq(size, want[i].size);
        if (base < VMM_KERNEL_MIN_ADDR)
            covered += size;
    }
    /* handoff, trampoline, firmware scratch and FDT: the whole low 1 MiB */
    ck_assert_uint_eq(covered, VMM_KERNEL_MIN_ADDR);
}
END_TEST

START_TEST(max_cpus_and_empty_bootargs)
{
    struct vmm_fdt_params p = params;
    int off;

    p.cpus = VMM_MAX_CPUS;
    p.bootargs = "";
    build(&p);
    ck_assert_uint_eq(cell(node("/cpus/cpu@3f"), "reg"), 63);
    off = node("/chosen");
    ck_assert_str_eq(fdt_getprop(buf, off, "bootargs", NULL), "");
}
END_TEST

START_TEST(too_small_buffer_fails)
{
    static uint8_t small[256];

    ck_assert_int_eq(vmm_fdt_build(small, sizeof(small), &params, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "FDT:") && strstr(err, "NOSPACE"), "%s", err);
}
END_TEST

CHECK_PROGRAM_ONE_TCASE("vmm_fdt", "core", CHECK_TIMEOUT_DEFAULT,
                        root_memory_chosen, cpus_have_apic_ids, vmm_node, reserved_regions,
                        max_cpus_and_empty_bootargs, too_small_buffer_fails)
