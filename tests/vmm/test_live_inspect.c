/*
 * Unit tests of the live-validation pieces that read guest memory or
 * describe the rings: the /vmm/tlb-trace FDT node and its reservations
 * (vmm/fdt_build.c), --dump-pt (vmm/ptdump.c) on hand-built page tables,
 * including hostile ones.
 */
#include <check.h>
#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "fdt_build.h"
#include "pa_set.h"
#include "ptdump.h"
#include "trace_ring.h"
#include "abi/vmm.h"
#include "pagetable/x86_64.h"

static uint8_t fdt[VMM_FDT_MAX_SIZE];

static uint32_t cell(int off, const char *name)
{
    int len;
    const fdt32_t *p = fdt_getprop(fdt, off, name, &len);

    ck_assert_msg(p && len == 4, "%s missing or not one cell", name);
    return fdt32_to_cpu(*p);
}

static void build(bool trace, struct vmm_trace_layout *l)
{
    struct vmm_fdt_params p = { .mem_size = 128ull << 20, .cpus = 4, .bootargs = "",
                                .kernel_lo = 0x100000, .kernel_hi = 0x200000 };
    char err[256];

    ck_assert_int_eq(vmm_trace_layout_compute(p.mem_size, p.cpus, p.kernel_hi, l, err,
                                              sizeof(err)), 0);
    if (trace) {
        p.trace_base = l->base;
        p.trace_size = l->size;
        p.trace_stride = l->stride;
        p.trace_rings = l->count;
    }
    ck_assert_msg(vmm_fdt_build(fdt, sizeof(fdt), &p, err, sizeof(err)) == 0, "%s", err);
}

START_TEST(fdt_trace_node)
{
    struct vmm_trace_layout l;
    char name[64];
    int off, len;
    const fdt64_t *reg;
    uint64_t addr, size;

    build(true, &l);
    off = fdt_path_offset(fdt, "/vmm/tlb-trace");
    ck_assert_int_ge(off, 0);
    ck_assert_int_eq(fdt_node_check_compatible(fdt, off, VMM_FDT_TRACE_COMPAT), 0);
    ck_assert_uint_eq(cell(off, "ring-count"), 4);
    ck_assert_uint_eq(cell(off, "ring-stride"), l.stride);
    ck_assert_uint_eq(cell(off, "version"), VMM_TRACE_RING_VERSION);
    ck_assert_uint_eq(cell(off, "event-version"), TLB_EVENT_VERSION);
    reg = fdt_getprop(fdt, off, "reg", &len);
    ck_assert_int_eq(len, 16);
    ck_assert_uint_eq(fdt64_ld(&reg[0]), l.base);
    ck_assert_uint_eq(fdt64_ld(&reg[1]), 4 * l.stride);
    ck_assert_uint_eq(l.base + l.size, 128ull << 20);
    snprintf(name, sizeof(name), "/reserved-memory/trace@%llx", (unsigned long long)l.base);
    ck_assert_int_ge(fdt_path_offset(fdt, name), 0);
    /* boot, fdt, low, kernel, trace: the memreserve map ends with the rings. */
    ck_assert_int_eq(fdt_num_mem_rsv(fdt), 5);
    ck_assert_int_eq(fdt_get_mem_rsv(fdt, 4, &addr, &size), 0);
    ck_assert_uint_eq(addr, l.base);
    ck_assert_uint_eq(size, l.size);
}
END_TEST

START_TEST(fdt_without_trace)
{
    struct vmm_trace_layout l;

    build(false, &l);
    ck_assert_int_eq(fdt_path_offset(fdt, "/vmm/tlb-trace"), -FDT_ERR_NOTFOUND);
    ck_assert_int_ge(fdt_path_offset(fdt, "/vmm"), 0);
    ck_assert_int_eq(fdt_num_mem_rsv(fdt), 4);
}
END_TEST

/* ---- --dump-pt ------------------------------------------------------------ */

#define MEM   (4ull << 20)
#define ROOT  0x1000ull
#define PL3   0x2000ull
#define PL2   0x3000ull
#define PL1   0x4000ull
#define TBL   (PTE_P | PTE_RW | PTE_US)

static void set(uint8_t *ram, uint64_t node, unsigned i, uint64_t pte)
{
    memcpy(ram + node + 8 * i, &pte, 8);
}

static char *dump(const uint8_t *ram, uint64_t mem, uint64_t root)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    vmm_ptdump(ram, mem, root, f);
    fclose(f);
    return text;
}

static void has_line(const char *text, const char *line)
{
    ck_assert_msg(strstr(text, line), "no line\n%s\nin\n%s", line, text);
}

START_TEST(ptdump_ranges_and_bits)
{
    uint8_t *ram = calloc(1, MEM);
    char *t;

    set(ram, ROOT, 0, PL3 | TBL);
    set(ram, PL3, 0, PL2 | TBL);
    set(ram, PL2, 2, PL1 | TBL);                    /* VA 0x400000: 4 KiB pages */
    set(ram, PL1, 0, 0x100000 | PTE_P | PTE_RW | PTE_US | PTE_PS | PTE_A);
    set(ram, PL1, 1, 0x101000 | PTE_P | PTE_RW | PTE_US | PTE_PS | PTE_A);
    set(ram, PL1, 2, 0x102000 | PTE_P | PTE_US | PTE_PS | PTE_A | PTE_D);   /* read-only */
    set(ram, PL1, 5, 0x105000 | PTE_PS);            /* PROT_NONE leaf */
    set(ram, PL2, 3, 0x200000 | PTE_P | PTE_RW | PTE_PS | PTE_G | PTE_PCD | PTE_NX);
    t = dump(ram, MEM, ROOT | 0x18);                 /* CR3 flag bits are ignored */
    has_line(t, "0x0000000000400000-0x0000000000402000       8K pte  P  RW USR         PAT A       x \n");
    has_line(t, "0x0000000000402000-0x0000000000403000       4K pte  P  ro USR         PAT A D     x \n");
    has_line(t, "0x0000000000405000-0x0000000000406000       4K pte  np ro             PAT         x \n");
    has_line(t, "0x0000000000600000-0x0000000000800000       2M pmd  P  RW         PCD         GLB NX\n");
    free(t);
    free(ram);
}
END_TEST

START_TEST(ptdump_hostile_tables)
{
    uint8_t *ram = calloc(1, MEM);
    char *t;

    set(ram, ROOT, 0, PL3 | TBL);
    set(ram, ROOT, 1, (64ull << 30) | TBL);          /* a node far outside RAM */
    set(ram, ROOT, 2, PL3 | TBL | PTE_PS);           /* leaf bit in a PML4 entry */
    set(ram, PL3, 0, PL2 | TBL);
    set(ram, PL2, 4, 0x5000 | PTE_RW);               /* non-zero, not present, no leaf bit */
    set(ram, PL2, 5, ROOT | TBL);                    /* points back at the root: a cycle is bounded by levels */
    t = dump(ram, MEM, ROOT);
    has_line(t, "0x0000008000000000 L3 node 0x1000000000 lies outside guest RAM\n");
    has_line(t, "0x0000010000000000 L4[2] 0x0000000000002087 malformed entry (leaf bit in a PML4 entry)\n");
    has_line(t, "0x0000000000800000 L2[4] 0x0000000000005002 malformed entry (non-zero, not present, not a leaf)\n");
    free(t);
    /* A root outside RAM: one line, no crash. */
    t = dump(ram, MEM, MEM + 0x1000);
    has_line(t, "L4 node 0x401000 lies outside guest RAM");
    free(t);
    free(ram);
}
END_TEST

/* The set of entry addresses written by the stream (inspection compares those). */
START_TEST(pa_set_grows_and_finds)
{
    struct vmm_pa_set s;

    vmm_pa_set_init(&s);
    ck_assert(!vmm_pa_set_has(&s, 0));
    for (uint64_t i = 0; i < 20000; i++)
        ck_assert(vmm_pa_set_add(&s, 0x100000 + 8 * i));
    ck_assert(vmm_pa_set_add(&s, 0x100000));          /* again: no second copy */
    ck_assert_uint_eq(s.count, 20000);
    for (uint64_t i = 0; i < 20000; i++)
        ck_assert(vmm_pa_set_has(&s, 0x100000 + 8 * i));
    ck_assert(!vmm_pa_set_has(&s, 0x100000 + 8 * 20000));
    ck_assert(!vmm_pa_set_has(&s, 0xff000));
    ck_assert(vmm_pa_set_has(NULL, 0x1234));          /* NULL: compare every entry */
    vmm_pa_set_free(&s);
}
END_TEST

CHECK_PROGRAM_ONE_TCASE("vmm_live_inspect", "inspect", CHECK_TIMEOUT_DEFAULT,
                        fdt_trace_node, fdt_without_trace, ptdump_ranges_and_bits,
                        ptdump_hostile_tables, pa_set_grows_and_finds)
