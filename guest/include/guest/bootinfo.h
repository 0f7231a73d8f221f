/*
 * What the kernel learns at boot: the firmware's entry state (saved by the
 * boot stub before it changes anything) and the FDT's contents.
 */
#ifndef GUEST_BOOTINFO_H
#define GUEST_BOOTINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest/layout.h"
#include "guest/memmap.h"

/* Written by arch/x86/boot.S at the kernel's entry, layout fixed for it. */
struct boot_entry_state {
    uint64_t rdi, rsi, rsp, rflags;        /* 0x00 .. 0x18 */
    uint64_t cr0, cr3, cr4, efer;          /* 0x20 .. 0x38 */
    uint64_t identity_probe;               /* 0x40: written through the
                                              firmware identity map */
};
#define BOOT_IDENTITY_PROBE 0x4944454e54495459ull /* "YTITNEDI" */

extern struct boot_entry_state boot_entry_state;

#define BOOTARGS_MAX 256

struct cpu_desc {
    uint32_t index;
    uint32_t apic_id;
};

/* The trace-ring region of /vmm/tlb-trace (abi/vmm.h, abi/trace_ring.h). */
struct trace_desc {
    bool present;                      /* the node exists */
    uint64_t base, size;               /* reg: guest-physical region */
    uint32_t ring_count;               /* rings, one per CPU index */
    uint32_t ring_stride;              /* bytes per ring */
    uint32_t event_version;            /* event-version: the newest TLB event format the
                                          host reads (1 when the property is absent) */
};

struct bootinfo {
    uint64_t fdt_pa;
    uint64_t ram_end;                  /* highest RAM address + 1 */
    struct memmap ram;                 /* /memory reg ranges */
    struct memmap reserved;            /* memreserve + /reserved-memory */
    unsigned ncpus;
    struct cpu_desc cpus[MAX_CPUS];    /* by index; cpus[0] is the BSP */
    char bootargs[BOOTARGS_MAX];
    struct trace_desc trace;           /* /vmm/tlb-trace (optional) */
};

extern struct bootinfo bootinfo;

/*
 * bootinfo_parse: read the FDT at physical fdt_pa into `bootinfo`.
 * Checks the header, the /vmm node (compatible, abi-version ==
 * VMM_ABI_VERSION, hypercall-port == VMM_HYPERCALL_PORT), /memory, /cpus
 * (indices 0..n-1, each once, at most MAX_CPUS), /chosen bootargs and the
 * optional /vmm/tlb-trace node (compatible, version, a page-aligned reg
 * inside RAM, ring-count 1..MAX_CPUS, ring-stride a multiple of 8 and at
 * least one header page plus one record, ring-count * ring-stride <= size,
 * event-version >= 1 when present); its
 * region is added to `reserved`, so the frame allocator never hands it out.
 * Fails: returns false after printing one line on the console that names
 * the problem.
 */
bool bootinfo_parse(uint64_t fdt_pa);

/*
 * bootinfo_parse_fdt: the same checks on an FDT blob already in memory
 * (at most max_size bytes), filling *bi (fdt_pa untouched). This is the
 * part unit-tested on the host.
 */
bool bootinfo_parse_fdt(const void *fdt, size_t max_size, struct bootinfo *bi);

/*
 * bootarg_get: the value of `key=value` in the bootargs (space-separated),
 * copied into out[outlen]. Returns 1 if found, 0 if the key is absent, -1
 * if the value does not fit (out is then untouched).
 */
int bootarg_get(const char *bootargs, const char *key, char *out, unsigned outlen);

#endif /* GUEST_BOOTINFO_H */
