/*
 * Bitmap frame allocator (see include/guest/frame_alloc.h). Bit set = used.
 * The bitmap covers the whole possible physical space (3 GiB -> 96 KiB of
 * bits, in .bss) so no memory has to be found before the allocator exists.
 * A second bitmap remembers which frames are RAM at all, so freeing a
 * reserved frame is refused like a double free.
 * A search hint (`next`) keeps single-frame allocation from rescanning the
 * low, fully used part of the bitmap every time.
 */
#include "guest/frame_alloc.h"

#include "guest/spinlock.h"
#include "guest/string.h"

#define NFRAMES (FRAME_ALLOC_MAX_PHYS / FRAME_SIZE)
#define WORD_BITS 64

static uint64_t bitmap[NFRAMES / WORD_BITS];   /* 1 = used (or not RAM) */
static uint64_t managed[NFRAMES / WORD_BITS];  /* 1 = usable RAM frame */
static size_t free_frames, total_frames, next_hint;
static spinlock_t lock = SPINLOCK_INIT;

static bool is_used(size_t f)
{
    return bitmap[f / WORD_BITS] >> (f % WORD_BITS) & 1;
}

static void set_used(size_t f, bool used)
{
    uint64_t bit = 1ull << (f % WORD_BITS);
    if (used)
        bitmap[f / WORD_BITS] |= bit;
    else
        bitmap[f / WORD_BITS] &= ~bit;
}

/* Marks frames [start, end) free and managed, whole words at a time where
 * possible. Requires the lock; the frames were all used before. */
static void release_range(size_t start, size_t end)
{
    size_t f = start;
    for (; f < end && f % WORD_BITS; f++) {
        set_used(f, false);
        managed[f / WORD_BITS] |= 1ull << (f % WORD_BITS);
    }
    for (; f + WORD_BITS <= end; f += WORD_BITS) {
        bitmap[f / WORD_BITS] = 0;
        managed[f / WORD_BITS] = ~0ull;
    }
    for (; f < end; f++) {
        set_used(f, false);
        managed[f / WORD_BITS] |= 1ull << (f % WORD_BITS);
    }
    free_frames += end - start;
}

void frame_alloc_init(const struct memmap *usable)
{
    spin_lock(&lock);
    memset(bitmap, 0xff, sizeof(bitmap));
    memset(managed, 0, sizeof(managed));
    free_frames = 0;
    /* The ranges are disjoint and never touch, so after rounding inwards to
     * whole frames no frame belongs to two of them. */
    for (unsigned i = 0; i < usable->count; i++) {
        uint64_t start = (usable->r[i].start + FRAME_SIZE - 1) / FRAME_SIZE;
        uint64_t end = usable->r[i].end / FRAME_SIZE;
        if (end > NFRAMES)
            end = NFRAMES;
        if (start == 0)
            start = 1;                        /* never hand out frame 0 */
        if (start < end)
            release_range(start, end);
    }
    total_frames = free_frames;
    next_hint = 0;
    spin_unlock(&lock);
}

/* First run of `count` free frames at or after `from`; NFRAMES if none.
 * Requires the lock. */
static size_t find_run(size_t from, size_t count)
{
    size_t run = 0;
    for (size_t f = from; f < NFRAMES; f++) {
        if (f % WORD_BITS == 0 && run == 0 && bitmap[f / WORD_BITS] == ~0ull) {
            f += WORD_BITS - 1;               /* skip a full word */
            continue;
        }
        run = is_used(f) ? 0 : run + 1;
        if (run == count)
            return f + 1 - count;
    }
    return NFRAMES;
}

uint64_t frames_alloc(size_t count)
{
    if (count == 0 || count > NFRAMES)
        return FRAME_NONE;
    spin_lock(&lock);
    uint64_t pa = FRAME_NONE;
    if (count <= free_frames) {
        size_t f = find_run(count == 1 ? next_hint : 0, count);
        if (f == NFRAMES && count == 1 && next_hint)
            f = find_run(0, 1);
        if (f != NFRAMES) {
            for (size_t i = 0; i < count; i++)
                set_used(f + i, true);
            free_frames -= count;
            if (count == 1)
                next_hint = f + 1;
            pa = f * FRAME_SIZE;
        }
    }
    spin_unlock(&lock);
    return pa;
}

uint64_t frame_alloc(void)
{
    return frames_alloc(1);
}

bool frames_free(uint64_t pa, size_t count)
{
    if (pa % FRAME_SIZE || count == 0)
        return false;
    size_t first = pa / FRAME_SIZE;
    if (first == 0 || first >= NFRAMES || count > NFRAMES - first)
        return false;
    spin_lock(&lock);
    bool ok = true;
    for (size_t i = 0; i < count; i++) {
        size_t f = first + i;
        ok = ok && is_used(f) && (managed[f / WORD_BITS] >> (f % WORD_BITS) & 1);
    }
    if (ok) {
        for (size_t i = 0; i < count; i++)
            set_used(first + i, false);
        free_frames += count;
        if (first < next_hint)
            next_hint = first;
    }
    spin_unlock(&lock);
    return ok;
}

bool frame_free(uint64_t pa)
{
    return frames_free(pa, 1);
}

size_t frame_free_count(void)
{
    spin_lock(&lock);
    size_t n = free_frames;
    spin_unlock(&lock);
    return n;
}

size_t frame_total_count(void)
{
    return total_frames;
}
