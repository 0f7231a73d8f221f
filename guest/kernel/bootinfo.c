/*
 * Boot information from the flattened device tree, read with libfdt (see
 * include/guest/bootinfo.h and the FDT section of abi/include/abi/vmm.h).
 * Every problem is reported as one console line naming the node or
 * property; the caller then refuses to run.
 */
#include "guest/bootinfo.h"

#include <libfdt.h>

#include "guest/printf.h"
#include "guest/string.h"
#include "abi/trace_ring.h"
#include "abi/vmm.h"

struct bootinfo bootinfo;

#define FAIL(...)                        \
    do {                                 \
        kprintf("guest: FDT: " __VA_ARGS__); \
        return false;                    \
    } while (0)

/* A big-endian number of `cells` 32-bit cells (1 or 2). */
static uint64_t read_cells(const fdt32_t *p, int cells)
{
    uint64_t v = 0;
    for (int i = 0; i < cells; i++)
        v = (v << 32) | fdt32_to_cpu(p[i]);
    return v;
}

/* A one-cell property; false if missing or not 4 bytes. */
static bool prop_u32(const void *fdt, int node, const char *name, uint32_t *out)
{
    int len;
    const fdt32_t *p = fdt_getprop(fdt, node, name, &len);
    if (!p || len != 4)
        return false;
    *out = fdt32_to_cpu(*p);
    return true;
}

/* Adds every (address, size) pair of node's "reg" to `set`. */
static bool add_reg(const void *fdt, int node, int parent, struct memmap *set, const char *what)
{
    int ac = fdt_address_cells(fdt, parent), sc = fdt_size_cells(fdt, parent), len;
    if (ac < 1 || ac > 2 || sc < 1 || sc > 2)
        FAIL("%s: unsupported #address-cells %d / #size-cells %d\n", what, ac, sc);
    const fdt32_t *reg = fdt_getprop(fdt, node, "reg", &len);
    int entry = (ac + sc) * 4;
    if (!reg || len <= 0 || len % entry)
        FAIL("%s: missing or malformed reg property\n", what);
    for (int off = 0; off < len; off += entry) {
        const fdt32_t *e = reg + off / 4;
        uint64_t base = read_cells(e, ac), size = read_cells(e + ac, sc);
        if (base + size < base)
            FAIL("%s: range %#llx+%#llx wraps around\n", what, (unsigned long long)base,
                 (unsigned long long)size);
        if (!memmap_add(set, base, base + size))
            FAIL("%s: too many ranges (max %d)\n", what, MEMMAP_MAX);
    }
    return true;
}

static bool parse_vmm_node(const void *fdt)
{
    int node = fdt_path_offset(fdt, "/vmm");
    uint32_t v;
    if (node < 0)
        FAIL("no /vmm node: this is not a vmm virtual machine; refusing to run\n");
    if (fdt_node_check_compatible(fdt, node, VMM_FDT_HYPERCALL_COMPAT) != 0)
        FAIL("/vmm is not compatible with \"%s\"; refusing to run\n", VMM_FDT_HYPERCALL_COMPAT);
    if (!prop_u32(fdt, node, "abi-version", &v))
        FAIL("/vmm has no abi-version; refusing to run\n");
    if (v != VMM_ABI_VERSION)
        FAIL("/vmm abi-version is %u but this kernel implements version %u; refusing to run\n",
             v, VMM_ABI_VERSION);
    if (!prop_u32(fdt, node, "hypercall-port", &v))
        FAIL("/vmm has no hypercall-port; refusing to run\n");
    if (v != VMM_HYPERCALL_PORT)
        FAIL("/vmm hypercall-port is %#x but this kernel uses %#x; refusing to run\n", v,
             VMM_HYPERCALL_PORT);
    return true;
}

static bool parse_memory(const void *fdt, struct bootinfo *bi)
{
    memmap_init(&bi->ram);
    int node = fdt_node_offset_by_prop_value(fdt, -1, "device_type", "memory", 7);
    if (node < 0)
        FAIL("no memory node (device_type = \"memory\")\n");
    for (; node >= 0;
         node = fdt_node_offset_by_prop_value(fdt, node, "device_type", "memory", 7))
        if (!add_reg(fdt, node, fdt_parent_offset(fdt, node), &bi->ram, "memory"))
            return false;
    if (bi->ram.count == 0)
        FAIL("memory nodes describe no RAM\n");
    bi->ram_end = bi->ram.r[bi->ram.count - 1].end;
    return true;
}

static bool parse_reserved(const void *fdt, struct bootinfo *bi)
{
    memmap_init(&bi->reserved);
    int n = fdt_num_mem_rsv(fdt);
    for (int i = 0; i < n; i++) {
        uint64_t base, size;
        if (fdt_get_mem_rsv(fdt, i, &base, &size) < 0 || base + size < base)
            FAIL("memreserve entry %d is malformed\n", i);
        if (!memmap_add(&bi->reserved, base, base + size))
            FAIL("too many reserved ranges\n");
    }
    int parent = fdt_path_offset(fdt, "/reserved-memory");
    if (parent < 0)
        return true;                          /* optional */
    int child;
    fdt_for_each_subnode(child, fdt, parent) {
        if (!add_reg(fdt, child, parent, &bi->reserved, "/reserved-memory"))
            return false;
    }
    return true;
}

static bool parse_cpus(const void *fdt, struct bootinfo *bi)
{
    int cpus = fdt_path_offset(fdt, "/cpus"), node;
    uint64_t seen = 0;
    if (cpus < 0)
        FAIL("no /cpus node\n");
    if (fdt_address_cells(fdt, cpus) != 1)
        FAIL("/cpus #address-cells must be 1 (reg = APIC ID)\n");
    bi->ncpus = 0;
    fdt_for_each_subnode(node, fdt, cpus) {
        const char *dt = fdt_getprop(fdt, node, "device_type", NULL);
        const char *name = fdt_get_name(fdt, node, NULL);
        if (!dt || strcmp(dt, "cpu") != 0)
            continue;
        const char *at = name ? strchr(name, '@') : NULL;
        char *end;
        unsigned long index = at ? strtoul(at + 1, &end, 16) : ~0ul;
        uint32_t apic;
        if (!at || *end || index >= MAX_CPUS)
            FAIL("/cpus/%s: expected cpu@N with N < %d\n", name ? name : "?", MAX_CPUS);
        if (seen >> index & 1)
            FAIL("/cpus: cpu@%lx appears twice\n", index);
        if (!prop_u32(fdt, node, "reg", &apic))
            FAIL("/cpus/%s: no reg (APIC ID)\n", name);
        seen |= 1ull << index;
        bi->cpus[index] = (struct cpu_desc){ (uint32_t)index, apic };
        bi->ncpus++;
    }
    if (bi->ncpus == 0)
        FAIL("/cpus lists no cpu\n");
    if (bi->ncpus < 64 && seen != (1ull << bi->ncpus) - 1)
        FAIL("/cpus: indices must be 0..%u without gaps\n", bi->ncpus - 1);
    return true;
}

static bool parse_chosen(const void *fdt, struct bootinfo *bi)
{
    bi->bootargs[0] = '\0';
    int node = fdt_path_offset(fdt, "/chosen"), len;
    if (node < 0)
        return true;
    const char *args = fdt_getprop(fdt, node, "bootargs", &len);
    if (!args)
        return true;
    if (len < 1 || args[len - 1] != '\0')
        FAIL("/chosen bootargs is not a string\n");
    if ((unsigned)len > sizeof(bi->bootargs))
        FAIL("/chosen bootargs longer than %d bytes\n", BOOTARGS_MAX - 1);
    memcpy(bi->bootargs, args, (size_t)len);
    return true;
}

/* /vmm/tlb-trace (optional): see abi/vmm.h and abi/trace_ring.h. The rings'
 * own headers are checked later, by trace_attach. */
static bool parse_trace(const void *fdt, struct bootinfo *bi)
{
    struct trace_desc *t = &bi->trace;
    memset(t, 0, sizeof(*t));
    int node = fdt_path_offset(fdt, "/vmm/tlb-trace"), len;
    uint32_t version;
    if (node < 0)
        return true;                          /* tracing off: run untraced */
    if (fdt_node_check_compatible(fdt, node, VMM_FDT_TRACE_COMPAT) != 0)
        FAIL("/vmm/tlb-trace is not compatible with \"%s\"\n", VMM_FDT_TRACE_COMPAT);
    if (!prop_u32(fdt, node, "version", &version) || version != VMM_TRACE_RING_VERSION)
        FAIL("/vmm/tlb-trace: missing version, or not version %u\n", VMM_TRACE_RING_VERSION);
    const fdt32_t *reg = fdt_getprop(fdt, node, "reg", &len);
    if (!reg || len != 16)
        FAIL("/vmm/tlb-trace: reg must be one <base size> pair of 2 + 2 cells\n");
    t->base = read_cells(reg, 2);
    t->size = read_cells(reg + 2, 2);
    if (!prop_u32(fdt, node, "ring-count", &t->ring_count) || t->ring_count == 0 ||
        t->ring_count > MAX_CPUS)
        FAIL("/vmm/tlb-trace: ring-count missing or not in 1..%d\n", MAX_CPUS);
    /* The ABI fixes no alignment for the stride; the ring headers' 64-bit
       counts need 8-byte alignment (the region itself is page-aligned). */
    if (!prop_u32(fdt, node, "ring-stride", &t->ring_stride) ||
        t->ring_stride < VMM_TRACE_RING_HEADER_SIZE + TLB_EVENT_RECORD_SIZE ||
        t->ring_stride % 8)
        FAIL("/vmm/tlb-trace: ring-stride missing, not a multiple of 8, or below one header "
             "page plus one record\n");
    if (t->base % PAGE_SIZE || t->size % PAGE_SIZE || t->base + t->size < t->base ||
        t->base + t->size > bi->ram_end ||
        (uint64_t)t->ring_count * t->ring_stride > t->size)
        FAIL("/vmm/tlb-trace: region %#llx+%#llx is not page-aligned, not inside RAM, or "
             "too small for %u rings of %u bytes\n", (unsigned long long)t->base,
             (unsigned long long)t->size, t->ring_count, t->ring_stride);
    /* Optional: a host that reads only version-1 events does not say. */
    t->event_version = 1;
    if (fdt_getprop(fdt, node, "event-version", &len) &&
        (!prop_u32(fdt, node, "event-version", &t->event_version) || t->event_version == 0))
        FAIL("/vmm/tlb-trace: event-version is not one cell of at least 1\n");
    if (!memmap_add(&bi->reserved, t->base, t->base + t->size))
        FAIL("too many reserved ranges\n");
    t->present = true;
    return true;
}

bool bootinfo_parse_fdt(const void *fdt, size_t max_size, struct bootinfo *bi)
{
    int err = fdt_check_header(fdt);
    if (err)
        FAIL("bad header: %s\n", fdt_strerror(err));
    if (fdt_totalsize(fdt) > max_size)
        FAIL("total size %u exceeds %zu\n", fdt_totalsize(fdt), max_size);
    return parse_vmm_node(fdt) && parse_memory(fdt, bi) && parse_reserved(fdt, bi) &&
           parse_cpus(fdt, bi) && parse_chosen(fdt, bi) && parse_trace(fdt, bi);
}

bool bootinfo_parse(uint64_t fdt_pa)
{
    bootinfo.fdt_pa = fdt_pa;
    if (fdt_pa >= LINEAR_MAP_SIZE || LINEAR_MAP_SIZE - fdt_pa < VMM_FDT_MAX_SIZE)
        FAIL("address %#llx is outside the linear map\n", (unsigned long long)fdt_pa);
    return bootinfo_parse_fdt(phys_to_virt(fdt_pa), VMM_FDT_MAX_SIZE, &bootinfo);
}

int bootarg_get(const char *args, const char *key, char *out, unsigned outlen)
{
    size_t klen = strlen(key);
    const char *p = args;
    while (*p) {
        while (*p == ' ')
            p++;
        const char *tok = p;
        while (*p && *p != ' ')
            p++;
        if ((size_t)(p - tok) > klen && strncmp(tok, key, klen) == 0 && tok[klen] == '=') {
            size_t vlen = (size_t)(p - tok) - klen - 1;
            if (vlen + 1 > outlen)
                return -1;
            memcpy(out, tok + klen + 1, vlen);
            out[vlen] = '\0';
            return 1;
        }
    }
    return 0;
}
