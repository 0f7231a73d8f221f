/*
 * The flattened device tree handed to the guest (docs/abi.md "FDT"),
 * built with libfdt's sequential-write API.
 */
#ifndef VMM_FDT_BUILD_H
#define VMM_FDT_BUILD_H

#include <stddef.h>
#include <stdint.h>

struct vmm_fdt_params {
    uint64_t mem_size;       /* RAM [0, mem_size) */
    unsigned cpus;           /* CPU N has APIC ID N */
    const char *bootargs;    /* "" when none; never NULL */
    uint64_t kernel_lo;      /* kernel image [lo, hi), page-aligned */
    uint64_t kernel_hi;
    /* The trace rings (abi/trace_ring.h); trace_rings == 0: tracing off, no
     * /vmm/tlb-trace node. */
    uint64_t trace_base, trace_size, trace_stride;
    unsigned trace_rings;
};

/*
 * Builds the FDT into buf.
 * Requires: buf has bufsize bytes (VMM_FDT_MAX_SIZE in the VMM); p valid,
 *   1 <= cpus <= VMM_MAX_CPUS, kernel range inside RAM.
 * Guarantees: on 0, buf holds a valid FDT (fdt_check_header == 0) of
 *   fdt_totalsize(buf) <= bufsize bytes, with the nodes abi.h lists and one
 *   memreserve entry (and /reserved-memory child) per reserved RAM region:
 *   boot@0, fdt@20000, low@40000, kernel@<lo> and, when tracing is on,
 *   trace@<base> plus the /vmm/tlb-trace node.
 * Fails (-1, err names the libfdt error) when bufsize is too small.
 */
int vmm_fdt_build(void *buf, size_t bufsize, const struct vmm_fdt_params *p,
                  char *err, size_t errlen);

#endif /* VMM_FDT_BUILD_H */
