/*
 * Shared fixtures for the page-table core's Check tests: a host platform, a
 * page table on it, and helpers that assert through Check.
 */
#ifndef PT_TEST_UTIL_H
#define PT_TEST_UTIL_H

#include <check.h>

#include "pagetable/check.h"
#include "pagetable/host_platform.h"
#include "pagetable/page_table.h"

#define KiB 1024ull
#define MiB (1024ull * KiB)
#define GiB (1024ull * MiB)

extern struct pt_host_platform hp;
extern struct pt_mem *mem;

/* Set up `hp` with nr_frames frames (ck_assert on failure). */
void util_platform_init(uint64_t nr_frames);
void util_platform_fini(void);

/*
 * The usual test fixture: a platform of nr_frames frames and an empty page
 * table of config `cfg` in *pt. util_table_fini checks the table
 * (pt_check), destroys it, asserts that every node it had was freed (the
 * platform's live count is back to its value after util_table_init), and
 * tears the platform down.
 */
void util_table_init(struct pt_page_table *pt, const struct pt_config *cfg, uint64_t nr_frames);
void util_table_fini(struct pt_page_table *pt);

/* A fresh UNTYPED frame (ref 1). */
pt_paddr_t util_frame(void);

/* A user-ish property (R/W/X bits from `flags`, USER, WB). */
struct pt_prop util_prop(uint8_t flags);

/* Assert pt_check passes; returns its counters. */
struct pt_check_result util_check(const struct pt_page_table *pt);

/* Map a fresh tracked 4 KiB frame at va with a fresh cursor; returns the
 * frame, whose only reference the PTE now holds. */
pt_paddr_t util_map4k(struct pt_page_table *pt, pt_vaddr_t va, uint8_t flags);

/* Map an untracked leaf at `level` with a fresh cursor exactly over it. */
void util_map_huge(struct pt_page_table *pt, pt_vaddr_t va, pt_paddr_t pa, int level,
                   uint8_t flags);

/* Query va with a fresh one-page cursor. */
struct pt_query util_query(struct pt_page_table *pt, pt_vaddr_t va);

/* Unmap [va, va+len) with a fresh cursor, releasing every frag at once
 * (single-threaded: no other walker can be inside). Returns the frame count. */
uint64_t util_unmap(struct pt_page_table *pt, pt_vaddr_t va, uint64_t len);

/* PTE-store counting hook (install with pt_host_set_pte_hook(&hp, util_count_stores, &n)). */
void util_count_stores(void *arg, const struct pt_pte_store *s);

#endif
