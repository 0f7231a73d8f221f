/*
 * The guest's memory manager (docs/guest-mm.md): the page-table core's frame
 * metadata for all of RAM, the TLB flusher domain on real hardware, and the
 * kernel page table built with the core.
 *
 *   mm_init()        BSP, once: frame metadata, flusher domain, trace rings
 *                    attached (if the VMM offers them), the kernel page
 *                    table built, loaded on the BSP; boot tables left for
 *                    the APs' start-up only
 *   mm_cpu_switch()  each AP, early: load the kernel page table
 *   mm_retire_boot_tables()  BSP, once every AP runs on the kernel table
 *
 * Frames for user mappings come from vm_frame_alloc (a reference-counted
 * handle, OSTD's UFrame) and go back when the last reference is dropped.
 */
#ifndef GUEST_MM_H
#define GUEST_MM_H

#include <stdbool.h>
#include <stdint.h>

#include "pagetable/page_table.h"
#include "tlb/flusher.h"

/* The IPI vector of TLB shootdowns (handler: tlb_flusher_handle_ipi + EOI). */
#define VECTOR_TLB_FLUSH 0xf1

/*
 * mm_init: set up memory management on the BSP.
 * Preconditions: bootinfo parsed, frames_init() done, the BSP's per-CPU
 *   area and x2APIC up, interrupts off, no AP started yet.
 * Postconditions: the kernel page table maps the linear map of RAM (2 MiB
 *   global leaves, NX), the kernel image (4 KiB global leaves with the
 *   section's permissions); CR4.PGE is on and the BSP runs on it; the TLB
 *   IPI handler is registered; tracing is on iff the FDT offered rings and
 *   the VMM accepted the attach.
 * Fails: panics (out of memory for the metadata or the kernel table: the
 *   guest cannot run at all then).
 */
void mm_init(void);

/*
 * mm_cpu_switch: on an AP after percpu_init(): enable CR4.PGE and load the
 * kernel page table (a traced CR3 load). Preconditions: mm_init() done.
 */
void mm_cpu_switch(void);

/* mm_retire_boot_tables: the boot page tables are no longer used by any CPU
   (every online CPU runs on the kernel table); wipe them so a stray use
   faults. Preconditions: no AP start-up in progress or to come. */
void mm_retire_boot_tables(void);

/* The machine's flusher domain, page-table memory and kernel page table. */
extern struct tlb_domain mm_tlb;
extern struct pt_mem mm_mem;
extern struct pt_page_table mm_kernel_pt;

/* IPIs of vector VECTOR_TLB_FLUSH this CPU has sent, handled, and put off
   (delivered with IF = 0, which only the nested-SVM sandbox does; see
   guest/mm/platform.c). */
uint64_t mm_ipis_sent(unsigned cpu);
uint64_t mm_ipis_received(unsigned cpu);
uint64_t mm_ipis_deferred(unsigned cpu);

/*
 * vm_frame_alloc: a zeroed 4 KiB frame for user mappings (usage UNTYPED),
 * reference count 1 owned by the caller. Returns false when out of memory.
 * vm_frame_get: one more reference. Requires: the caller holds one.
 * vm_frame_put: drop one; the last one frees the frame (traced).
 * vm_frame_ptr: the frame's bytes through the linear map.
 */
bool vm_frame_alloc(uint64_t *pa);
void vm_frame_get(uint64_t pa);
void vm_frame_put(uint64_t pa);
void *vm_frame_ptr(uint64_t pa);

/*
 * tlb_bug: the bugs chosen by bootarg tlb_bug=NAME[,NAME] (guest/tlb_bug.h).
 * mm_parse_tlb_bug: parse `spec` into *set; returns false and prints the
 * known names on an unknown one.
 * mm_bug_planted: is the memory-manager bug `bug` (enum mm_bug) planted?
 * The code that has the bug asks; the flusher's switches are set in the
 * flusher domain by mm_init.
 */
struct tlb_bug_set;
bool mm_parse_tlb_bug(const char *spec, struct tlb_bug_set *set);
bool mm_bug_planted(uint32_t bug);

#endif /* GUEST_MM_H */
