/*
 * The kernel page table, built with the page-table core (OSTD's kernel page
 * table; docs/guest-mm.md):
 *
 *   LINEAR_MAP_BASE + [0, RAM end)   2 MiB global untracked leaves, RW, NX
 *   KERNEL_VMA_BASE + image          4 KiB global untracked leaves with each
 *                                    section's rights: .text RX, .rodata R,
 *                                    .data/.bss RW (NX except .text)
 *
 * The per-CPU areas and the BSP's stacks are in the image; the APs' stacks
 * and everything the frame allocator hands out are in the linear map. The
 * lower half is empty: user spaces share this table's kernel half
 * (pt_create_user_sharing) and add their own lower half.
 */
#include "mm_internal.h"

#include "guest/arch.h"
#include "guest/assert.h"
#include "guest/bootinfo.h"
#include "guest/layout.h"
#include "guest/percpu.h"

extern char __text_start[], __rodata_start[], __data_start[];

/* Accessed and dirty preset (as Linux's __PAGE_KERNEL does): nothing tracks
 * the kernel's own pages, so the MMU need never write these entries (no
 * locked update on a first access), and the core stores over an entry with
 * A and D both set plainly (docs/guest-mm.md "Accessed and dirty bits"). */
#define KERNEL_AD (PT_ACCESSED | PT_DIRTY)

/* Map [va, va + len) to [pa, ...) with `level` leaves of `prop`. */
static void map_range(uint64_t va, uint64_t pa, uint64_t len, int level, struct pt_prop prop)
{
    struct pt_cursor c;
    int r = pt_cursor_new(&c, &mm_kernel_pt, va, va + len);
    if (r < 0)
        PANIC("mm: kernel page table: cursor on %#llx+%#llx: %s", (unsigned long long)va,
              (unsigned long long)len, pt_error_name(r));
    uint64_t step = pt_page_size(level);
    for (uint64_t off = 0; off < len; off += step) {
        struct pt_item item = { .pa = pa + off, .level = level, .prop = prop, .tracked = false };
        struct pt_frag old;
        r = pt_cursor_map(&c, &item, &old);
        if (r != 0)
            PANIC("mm: kernel page table: map %#llx -> %#llx: %s", (unsigned long long)(va + off),
                  (unsigned long long)(pa + off), r < 0 ? pt_error_name(r) : "slot not empty");
    }
    pt_cursor_drop(&c);
}

/* A kernel-image section [start, end) (virtual, page-aligned by the linker
 * script) mapped to its load address. */
static void map_section(const char *start, const char *end, uint8_t flags)
{
    uint64_t va = (uint64_t)(uintptr_t)start;
    uint64_t len = (uint64_t)(uintptr_t)end - va;
    struct pt_prop prop = { .flags = flags | KERNEL_AD, .priv = PT_PRIV_GLOBAL,
                            .cache = PT_CACHE_WB };
    if (len)
        map_range(va, va - KERNEL_VMA_BASE, len, 1, prop);
}

void mm_kernel_pt_build(void)
{
    int r = pt_create(&mm_kernel_pt, &mm_mem, &pt_kernel_config);
    if (r < 0)
        PANIC("mm: kernel page table: %s", pt_error_name(r));
    pt_paddr_t prev = tlb_ctx_enter(&mm_tlb, mm_kernel_pt.root);

    uint64_t ram = (bootinfo.ram_end + LARGE_PAGE_SIZE - 1) & ~(uint64_t)(LARGE_PAGE_SIZE - 1);
    if (ram > LINEAR_MAP_SIZE)
        ram = LINEAR_MAP_SIZE;
    struct pt_prop linear = { .flags = PT_RW | KERNEL_AD, .priv = PT_PRIV_GLOBAL,
                              .cache = PT_CACHE_WB };
    map_range(LINEAR_MAP_BASE, 0, ram, 2, linear);

    char *image_end = (char *)(uintptr_t)((uint64_t)(uintptr_t)__kernel_phys_end + KERNEL_VMA_BASE);
    map_section(__text_start, __rodata_start, PT_RX);
    map_section(__rodata_start, __data_start, PT_R);
    map_section(__data_start, image_end, PT_RW);
    tlb_ctx_leave(&mm_tlb, prev);
}

void mm_kernel_pt_load(void)
{
    uint64_t irq = irq_save();
    unsigned me = this_cpu()->index;
    write_cr3(mm_kernel_pt.root);
    mm_tlb.cpu[me].cr3 = mm_kernel_pt.root;
    struct tlb_event ev = { .type = TLB_EV_CR3_LOAD, .root = mm_kernel_pt.root };
    tlb_emit(&mm_tlb, &ev);
    irq_restore(irq);
}
