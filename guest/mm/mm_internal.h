/* Shared by the files of guest/mm only (not a public interface). */
#ifndef GUEST_MM_INTERNAL_H
#define GUEST_MM_INTERNAL_H

#include <stdint.h>

#include "guest/mm.h"

extern const struct pt_platform_ops mm_pt_ops;     /* platform.c */
extern const struct tlb_platform_ops mm_tlb_ops;   /* platform.c */
extern uint8_t *mm_node_level;                     /* platform.c: one byte per frame */

/* platform.c: register the shootdown IPI handler. */
void mm_platform_init(void);
/* platform.c: CR4.PGE on (global leaves take effect). */
void mm_enable_global_pages(void);

/* kernel_pt.c: build the kernel page table into mm_kernel_pt (panics on
   failure) and load it on the calling CPU (a traced CR3 load). */
void mm_kernel_pt_build(void);
void mm_kernel_pt_load(void);

#endif /* GUEST_MM_INTERNAL_H */
