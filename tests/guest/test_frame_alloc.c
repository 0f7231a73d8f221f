/*
 * guest_frame_alloc: the physical frame allocator (guest/kernel/
 * frame_alloc.c): only whole frames inside the usable ranges are handed
 * out, never frame 0, never twice; frees of foreign, reserved, misaligned
 * or already free frames are refused; contiguous runs are contiguous.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "guest/frame_alloc.h"

#define MiB (1ull << 20)

static void init_ranges(const uint64_t *pairs, unsigned n)
{
    struct memmap m;
    memmap_init(&m);
    for (unsigned i = 0; i < n; i++)
        ck_assert(memmap_add(&m, pairs[2 * i], pairs[2 * i + 1]));
    frame_alloc_init(&m);
}

static bool usable(uint64_t pa, const uint64_t *pairs, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (pa >= pairs[2 * i] && pa + FRAME_SIZE <= pairs[2 * i + 1])
            return true;
    return false;
}

START_TEST(allocates_exactly_the_usable_frames)
{
    /* Partial frames at the edges and frame 0 must not be used. */
    static const uint64_t r[] = { 0, 3 * FRAME_SIZE, 1 * MiB + 100, 1 * MiB + 10 * FRAME_SIZE + 5,
                                  8 * MiB, 8 * MiB + 4 * FRAME_SIZE };
    init_ranges(r, 3);
    size_t expected = 2 + 9 + 4;
    ck_assert_uint_eq(frame_total_count(), expected);
    ck_assert_uint_eq(frame_free_count(), expected);
    uint64_t got[32];
    for (size_t i = 0; i < expected; i++) {
        got[i] = frame_alloc();
        ck_assert_uint_ne(got[i], FRAME_NONE);
        ck_assert_uint_eq(got[i] % FRAME_SIZE, 0);
        ck_assert_uint_ne(got[i], 0);
        ck_assert_msg(usable(got[i], r, 3), "frame %#llx outside the usable ranges",
                      (unsigned long long)got[i]);
        for (size_t j = 0; j < i; j++)
            ck_assert_uint_ne(got[i], got[j]);
    }
    ck_assert_uint_eq(frame_alloc(), FRAME_NONE);      /* exhausted */
    ck_assert_uint_eq(frame_free_count(), 0);
    ck_assert(frame_free(got[5]));
    ck_assert_uint_eq(frame_alloc(), got[5]);          /* reused */
}
END_TEST

START_TEST(bad_frees_are_refused)
{
    static const uint64_t r[] = { 1 * MiB, 2 * MiB };
    init_ranges(r, 1);
    size_t total = frame_total_count();
    uint64_t a = frame_alloc();
    ck_assert(!frame_free(a + 8));                      /* misaligned */
    ck_assert(!frame_free(0));                          /* frame 0 */
    ck_assert(!frame_free(4 * MiB));                    /* not RAM: never free */
    ck_assert(!frame_free(FRAME_ALLOC_MAX_PHYS));       /* beyond the bitmap */
    ck_assert(!frame_free(a + FRAME_SIZE));             /* usable but not allocated */
    ck_assert(frame_free(a));
    ck_assert(!frame_free(a));                          /* double free */
    ck_assert(!frames_free(a, 0));
    ck_assert_uint_eq(frame_free_count(), total);
}
END_TEST

START_TEST(contiguous_runs)
{
    /* Two ranges: 3 frames, then 16 frames. A 4-frame run must come from the
     * second range, in one piece. */
    static const uint64_t r[] = { 1 * MiB, 1 * MiB + 3 * FRAME_SIZE, 2 * MiB,
                                  2 * MiB + 16 * FRAME_SIZE };
    init_ranges(r, 2);
    uint64_t run = frames_alloc(4);
    ck_assert_uint_eq(run, 2 * MiB);
    ck_assert_uint_eq(frame_free_count(), 3 + 12);
    ck_assert_uint_eq(frames_alloc(13), FRAME_NONE);   /* only 12 left in one piece */
    ck_assert_uint_eq(frames_alloc(0), FRAME_NONE);
    uint64_t run2 = frames_alloc(12);
    ck_assert_uint_eq(run2, 2 * MiB + 4 * FRAME_SIZE);
    ck_assert(frames_free(run, 4));
    ck_assert(!frames_free(run, 4));                    /* already free: double free */
    ck_assert_uint_eq(frames_alloc(4), run);
    ck_assert(!frames_free(run2 + 11 * FRAME_SIZE, 2)); /* runs past the range */
}
END_TEST

START_TEST(random_alloc_free)
{
    static const uint64_t r[] = { 1 * MiB, 3 * MiB };
    init_ranges(r, 1);
    size_t total = frame_total_count();
    ck_assert_uint_eq(total, 512);
    static uint64_t held[512];
    size_t nheld = 0;
    srand(7);
    for (int op = 0; op < 20000; op++) {
        if (nheld < total && (nheld == 0 || rand() % 2)) {
            uint64_t pa = frame_alloc();
            ck_assert_uint_ne(pa, FRAME_NONE);
            ck_assert(usable(pa, r, 1));
            held[nheld++] = pa;
        } else {
            size_t i = (size_t)rand() % nheld;
            ck_assert(frame_free(held[i]));
            held[i] = held[--nheld];
        }
        ck_assert_uint_eq(frame_free_count(), total - nheld);
    }
    /* No frame is held twice. */
    for (size_t i = 0; i < nheld; i++)
        for (size_t j = i + 1; j < nheld; j++)
            ck_assert_uint_ne(held[i], held[j]);
}
END_TEST

CHECK_PROGRAM_ONE_TCASE("guest_frame_alloc", "frame_alloc", CHECK_TIMEOUT_DEFAULT,
                        allocates_exactly_the_usable_frames, bad_frees_are_refused,
                        contiguous_runs, random_alloc_free)
