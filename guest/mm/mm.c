/*
 * Memory-management start-up (include/guest/mm.h): frame metadata for all of
 * RAM, the flusher domain, tracing, the kernel page table; frames for user
 * mappings.
 */
#include "mm_internal.h"

#include "guest/assert.h"
#include "guest/bootinfo.h"
#include "guest/frame_alloc.h"
#include "guest/layout.h"
#include "guest/paging.h"
#include "guest/printf.h"
#include "guest/string.h"
#include "guest/tlb_bug.h"
#include "guest/trace.h"

struct tlb_domain mm_tlb;
struct pt_mem mm_mem;
struct pt_page_table mm_kernel_pt;
static uint32_t mm_bugs;       /* enum mm_bug bits planted by tlb_bug= */

/* Frames never handed to the page-table core stay reserved in its metadata,
 * so a stray map of one is refused (PT_ERR_BAD_FRAME) instead of corrupting
 * a reference count. */
static void reserve_range(uint64_t start, uint64_t end)
{
    start &= ~(uint64_t)(PAGE_SIZE - 1);
    end = (end + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1);
    if (end > mm_mem.nr_frames * PAGE_SIZE)
        end = mm_mem.nr_frames * PAGE_SIZE;
    if (start < end)
        pt_frame_reserve(&mm_mem, start, end - start);
}

/* One metadata slot (and one node-level byte) per 4 KiB frame of RAM, in
 * contiguous frames from the allocator, used through the linear map. */
static void metadata_init(void)
{
    uint64_t nr_frames = (bootinfo.ram_end + PAGE_SIZE - 1) / PAGE_SIZE;
    uint64_t bytes = nr_frames * (sizeof(struct pt_frame_meta) + 1);
    uint64_t count = (bytes + PAGE_SIZE - 1) / PAGE_SIZE;
    uint64_t pa = frames_alloc(count);
    if (pa == FRAME_NONE)
        PANIC("mm: no %llu contiguous frames for the frame metadata of %llu MiB of RAM",
              (unsigned long long)count, (unsigned long long)(bootinfo.ram_end >> 20));
    struct pt_frame_meta *meta = phys_to_virt(pa);
    mm_node_level = (uint8_t *)(meta + nr_frames);
    memset(mm_node_level, 0, nr_frames);
    pt_mem_init(&mm_mem, &mm_pt_ops, NULL, meta, nr_frames);
    /* Everything the allocator does not manage: the low 1 MiB, the kernel
     * image, the metadata itself, and the trace rings. */
    reserve_range(0, VMM_KERNEL_MIN_ADDR);
    reserve_range((uint64_t)(uintptr_t)__kernel_phys_start, (uint64_t)(uintptr_t)__kernel_phys_end);
    reserve_range(pa, pa + count * PAGE_SIZE);
    if (bootinfo.trace.present)
        reserve_range(bootinfo.trace.base, bootinfo.trace.base + bootinfo.trace.size);
}

static void faults_init(void)
{
    char spec[128];
    struct tlb_bug_set set = { 0, 0 };
    int found = bootarg_get(bootinfo.bootargs, "tlb_bug", spec, sizeof(spec));
    if (found < 0)
        PANIC("tlb_bug: the value is longer than %zu characters", sizeof(spec) - 1);
    if (found == 0)
        return;
    if (!mm_parse_tlb_bug(spec, &set))
        hc_exit(1);
    kprintf("guest: tlb_bug=%s: planting TLB bug(s) (fault bits %#x, mm bits %#x) for the "
            "validator to catch\n", spec, set.faults, set.mm);
    tlb_domain_set_faults(&mm_tlb, set.faults);
    mm_bugs = set.mm;
}

bool mm_bug_planted(uint32_t bug)
{
    return (mm_bugs & bug) != 0;
}

void mm_init(void)
{
    metadata_init();
    if (tlb_domain_init(&mm_tlb, &mm_tlb_ops, NULL, &mm_mem, bootinfo.ncpus, 0) != TLB_OK)
        PANIC("mm: tlb_domain_init refused %u cpus", bootinfo.ncpus);
    faults_init();
    mm_platform_init();
    /* Rings first: the host must see every store into the kernel table. */
    trace_attach();
    mm_kernel_pt_build();
    mm_tlb.idle_root = mm_kernel_pt.root;
    mm_cpu_paging_setup();
    mm_kernel_pt_load();
}

void mm_cpu_switch(void)
{
    mm_cpu_paging_setup();
    mm_kernel_pt_load();
}

void mm_retire_boot_tables(void)
{
    /* Nothing loads the boot PML4 any more (the APs are up and on the kernel
     * table); an empty PML4 makes any later use fault at once. */
    memset(phys_to_virt(kernel_cr3()), 0, PAGE_SIZE);
}

bool vm_frame_alloc(uint64_t *pa)
{
    pt_paddr_t p;
    if (!pt_frame_alloc(&mm_mem, PT_USAGE_UNTYPED, &p))
        return false;
    *pa = p;
    return true;
}

void vm_frame_get(uint64_t pa)
{
    pt_frame_get(&mm_mem, pa);
}

void vm_frame_put(uint64_t pa)
{
    pt_frame_put(&mm_mem, pa);
}

void *vm_frame_ptr(uint64_t pa)
{
    return phys_to_virt(pa);
}

bool mm_parse_tlb_bug(const char *spec, struct tlb_bug_set *set)
{
    const char *bad;
    unsigned bad_len;
    if (tlb_bug_parse(spec, set, &bad, &bad_len))
        return true;
    kprintf("guest: tlb_bug: unknown bug '%.*s'; known names (tlb_bug=NAME[,NAME...]):\n",
            (int)bad_len, bad);
    for (const struct tlb_bug *b = tlb_bugs; b->name; b++)
        kprintf("  %-19s %s\n", b->name, b->what);
    return false;
}
