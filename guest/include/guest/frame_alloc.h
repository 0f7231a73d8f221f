/*
 * The physical frame allocator: one bit per 4 KiB frame of the physical
 * address space below FRAME_ALLOC_MAX_PHYS (the largest RAM the VMM gives
 * a guest). A frame is free only if it lies in a usable range handed to
 * frame_alloc_init(); everything else (reserved memory, the kernel image,
 * holes) stays "used" forever. Thread-safe (one spinlock). Pure code, also
 * compiled on the host for unit tests.
 */
#ifndef GUEST_FRAME_ALLOC_H
#define GUEST_FRAME_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest/memmap.h"

#define FRAME_SIZE            4096ull
#define FRAME_ALLOC_MAX_PHYS  0xc0000000ull     /* VMM_MAX_RAM */
#define FRAME_NONE            UINT64_MAX        /* allocation failed */

/*
 * frame_alloc_init: start over with exactly the whole frames inside
 * `usable` free (partial frames at range edges are not used; ranges above
 * FRAME_ALLOC_MAX_PHYS are cut). Frame 0 is never handed out, so a
 * physical address 0 can never be confused with a real allocation.
 */
void frame_alloc_init(const struct memmap *usable);

/*
 * frame_alloc: one free frame, marked used; returns its physical address
 * (4 KiB aligned) or FRAME_NONE when none is left. Contents are not zeroed.
 */
uint64_t frame_alloc(void);

/*
 * frames_alloc: `count` physically contiguous free frames (first fit);
 * returns the first one's address or FRAME_NONE (count == 0 included).
 */
uint64_t frames_alloc(size_t count);

/*
 * frame_free / frames_free: give frames back. Requires: they were returned
 * by frame_alloc/frames_alloc and not freed since. Fails (returns false,
 * nothing changed) on a misaligned address, a frame outside the managed
 * space, or a frame that is not currently allocated (double free).
 */
bool frame_free(uint64_t pa);
bool frames_free(uint64_t pa, size_t count);

/* frame_free_count: frames free right now; frame_total_count: frames that
 * were free after init. */
size_t frame_free_count(void);
size_t frame_total_count(void);

#endif /* GUEST_FRAME_ALLOC_H */
