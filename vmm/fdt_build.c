/* FDT construction (sequential-write libfdt API); see fdt_build.h. */
#include "fdt_build.h"

#include <inttypes.h>
#include <libfdt.h>
#include <stdio.h>

#include "memmap.h"
#include "abi/trace_ring.h"
#include "abi/vmm.h"

/* Every libfdt call returns < 0 on error; the first one aborts the build
 * with its name, like kvmtool's _FDT() but without dying. */
#define FDT_TRY(call)                                                   \
    do {                                                                \
        int rc_ = (call);                                               \
        if (rc_ < 0) {                                                  \
            snprintf(err, errlen, "FDT: %s failed: %s", #call,          \
                     fdt_strerror(rc_));                                \
            return -1;                                                  \
        }                                                               \
    } while (0)

/* reg = <base size> with 2 address and 2 size cells. */
static int prop_reg64(void *fdt, uint64_t base, uint64_t size)
{
    fdt64_t reg[2] = { cpu_to_fdt64(base), cpu_to_fdt64(size) };

    return fdt_property(fdt, "reg", reg, sizeof(reg));
}

/* Reserved RAM regions, fixed ones clipped to RAM, then the kernel. */
static size_t reserved_regions(const struct vmm_fdt_params *p, struct vmm_region *out,
                               size_t max)
{
    size_t nfixed, n = 0;
    const struct vmm_region *fixed = vmm_memmap_fixed(&nfixed);

    for (size_t i = 0; i < nfixed && n < max; i++)
        if (fixed[i].in_ram && fixed[i].base < p->mem_size)
            out[n++] = fixed[i];
    if (n < max && p->kernel_hi > p->kernel_lo)
        out[n++] = (struct vmm_region){ p->kernel_lo, p->kernel_hi - p->kernel_lo,
                                        "kernel", true };
    if (n < max && p->trace_rings)
        out[n++] = (struct vmm_region){ p->trace_base, p->trace_size, "trace", true };
    return n;
}

static int build_reserved(void *fdt, const struct vmm_region *r, size_t n,
                          char *err, size_t errlen)
{
    char name[48];

    FDT_TRY(fdt_begin_node(fdt, "reserved-memory"));
    FDT_TRY(fdt_property_cell(fdt, "#address-cells", 2));
    FDT_TRY(fdt_property_cell(fdt, "#size-cells", 2));
    FDT_TRY(fdt_property(fdt, "ranges", NULL, 0));
    for (size_t i = 0; i < n; i++) {
        snprintf(name, sizeof(name), "%s@%" PRIx64, r[i].name, r[i].base);
        FDT_TRY(fdt_begin_node(fdt, name));
        FDT_TRY(prop_reg64(fdt, r[i].base, r[i].size));
        FDT_TRY(fdt_end_node(fdt));
    }
    FDT_TRY(fdt_end_node(fdt));
    return 0;
}

static int build_cpus(void *fdt, unsigned cpus, char *err, size_t errlen)
{
    char name[24];

    FDT_TRY(fdt_begin_node(fdt, "cpus"));
    FDT_TRY(fdt_property_cell(fdt, "#address-cells", 1));
    FDT_TRY(fdt_property_cell(fdt, "#size-cells", 0));
    for (unsigned i = 0; i < cpus; i++) {
        snprintf(name, sizeof(name), "cpu@%x", i);
        FDT_TRY(fdt_begin_node(fdt, name));
        FDT_TRY(fdt_property_string(fdt, "device_type", "cpu"));
        FDT_TRY(fdt_property_cell(fdt, "reg", i));   /* APIC ID = index */
        FDT_TRY(fdt_end_node(fdt));
    }
    FDT_TRY(fdt_end_node(fdt));
    return 0;
}

static int build_devices(void *fdt, const struct vmm_fdt_params *p,
                         char *err, size_t errlen)
{
    FDT_TRY(fdt_begin_node(fdt, "memory@0"));
    FDT_TRY(fdt_property_string(fdt, "device_type", "memory"));
    FDT_TRY(prop_reg64(fdt, 0, p->mem_size));
    FDT_TRY(fdt_end_node(fdt));

    FDT_TRY(fdt_begin_node(fdt, "chosen"));
    FDT_TRY(fdt_property_string(fdt, "bootargs", p->bootargs));
    FDT_TRY(fdt_property_string(fdt, "stdout-path", "/uart@3f8"));
    FDT_TRY(fdt_end_node(fdt));

    /* An I/O-port device: reg is <port count> in the root's 2+2 cells. */
    FDT_TRY(fdt_begin_node(fdt, "uart@3f8"));
    FDT_TRY(fdt_property_string(fdt, "compatible", "ns16550a"));
    FDT_TRY(prop_reg64(fdt, VMM_COM1_PORT, 8));
    FDT_TRY(fdt_end_node(fdt));

    FDT_TRY(fdt_begin_node(fdt, "vmm"));
    FDT_TRY(fdt_property_string(fdt, "compatible", VMM_FDT_HYPERCALL_COMPAT));
    FDT_TRY(fdt_property_cell(fdt, "abi-version", VMM_ABI_VERSION));
    FDT_TRY(fdt_property_cell(fdt, "hypercall-port", VMM_HYPERCALL_PORT));
    if (p->trace_rings) {
        FDT_TRY(fdt_begin_node(fdt, "tlb-trace"));
        FDT_TRY(fdt_property_string(fdt, "compatible", VMM_FDT_TRACE_COMPAT));
        FDT_TRY(prop_reg64(fdt, p->trace_base, p->trace_size));
        FDT_TRY(fdt_property_cell(fdt, "ring-count", p->trace_rings));
        FDT_TRY(fdt_property_cell(fdt, "ring-stride", (uint32_t)p->trace_stride));
        FDT_TRY(fdt_property_cell(fdt, "version", VMM_TRACE_RING_VERSION));
        FDT_TRY(fdt_property_cell(fdt, "event-version", TLB_EVENT_VERSION));
        FDT_TRY(fdt_end_node(fdt));
    }
    FDT_TRY(fdt_end_node(fdt));
    return 0;
}

int vmm_fdt_build(void *buf, size_t bufsize, const struct vmm_fdt_params *p,
                  char *err, size_t errlen)
{
    struct vmm_region res[8];
    size_t nres = reserved_regions(p, res, 8);
    void *fdt = buf;

    if (bufsize > INT32_MAX) {
        snprintf(err, errlen, "FDT: buffer too large");
        return -1;
    }
    FDT_TRY(fdt_create(fdt, (int)bufsize));
    for (size_t i = 0; i < nres; i++)
        FDT_TRY(fdt_add_reservemap_entry(fdt, res[i].base, res[i].size));
    FDT_TRY(fdt_finish_reservemap(fdt));

    FDT_TRY(fdt_begin_node(fdt, ""));
    FDT_TRY(fdt_property_cell(fdt, "#address-cells", 2));
    FDT_TRY(fdt_property_cell(fdt, "#size-cells", 2));
    FDT_TRY(fdt_property_string(fdt, "compatible", VMM_FDT_COMPATIBLE));
    FDT_TRY(fdt_property_string(fdt, "model", "vmm virtual machine"));
    if (build_devices(fdt, p, err, errlen) < 0 || build_cpus(fdt, p->cpus, err, errlen) < 0 ||
        build_reserved(fdt, res, nres, err, errlen) < 0)
        return -1;
    FDT_TRY(fdt_end_node(fdt));
    FDT_TRY(fdt_finish(fdt));
    return 0;
}
