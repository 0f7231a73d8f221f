/* Host platform for the page-table core: see host_platform.h. */
#include <stdlib.h>
#include <string.h>

#include "pagetable/host_platform.h"
#include "pagetable/panic.h"

#define POISON 0xA5

static void *host_phys_to_virt(void *ctx, pt_paddr_t pa)
{
    struct pt_host_platform *hp = ctx;
    PT_ASSERT((pa >> PT_BASE_PAGE_SHIFT) < hp->nr_frames, "host platform: pa outside the arena");
    return hp->arena + pa;
}

/* Consume one allocation attempt against the failure injection settings. */
static bool injected_failure(struct pt_host_platform *hp)
{
    uint64_t call = __atomic_add_fetch(&hp->alloc_calls, 1, __ATOMIC_RELAXED);
    uint64_t nth = __atomic_load_n(&hp->fail_nth, __ATOMIC_RELAXED);
    if (nth != 0 && call == nth) {
        __atomic_store_n(&hp->fail_nth, 0, __ATOMIC_RELAXED);
        return true;
    }
    uint64_t b = __atomic_load_n(&hp->budget, __ATOMIC_RELAXED);
    while (b != UINT64_MAX) {
        if (b == 0)
            return true;
        if (__atomic_compare_exchange_n(&hp->budget, &b, b - 1, false, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED))
            break;
    }
    return false;
}

static bool host_alloc_frame(void *ctx, pt_paddr_t *pa)
{
    struct pt_host_platform *hp = ctx;
    uint64_t frame = 0;
    if (!injected_failure(hp)) {
        pthread_mutex_lock(&hp->lock);
        if (hp->free_top > 0)
            frame = hp->free_stack[--hp->free_top];
        pthread_mutex_unlock(&hp->lock);
    }
    if (frame == 0) {
        __atomic_add_fetch(&hp->failed, 1, __ATOMIC_RELAXED);
        return false;
    }
    __atomic_add_fetch(&hp->allocated, 1, __ATOMIC_RELAXED);
    *pa = frame << PT_BASE_PAGE_SHIFT;
    return true;
}

static void host_release_frame(void *ctx, pt_paddr_t pa)
{
    struct pt_host_platform *hp = ctx;
    uint64_t frame = pa >> PT_BASE_PAGE_SHIFT;
    PT_ASSERT(frame != 0 && frame < hp->nr_frames && (pa & (PT_BASE_PAGE_SIZE - 1)) == 0,
              "host platform: release of a frame it never handed out");
    memset(hp->arena + pa, POISON, PT_BASE_PAGE_SIZE);
    pthread_mutex_lock(&hp->lock);
    PT_ASSERT(hp->free_top < hp->nr_frames - 1, "host platform: frame released twice");
    hp->free_stack[hp->free_top++] = frame;
    pthread_mutex_unlock(&hp->lock);
    __atomic_add_fetch(&hp->freed, 1, __ATOMIC_RELAXED);
}

static void host_pte_stored(void *ctx, const struct pt_pte_store *store)
{
    struct pt_host_platform *hp = ctx;
    hp->pte_hook(hp->pte_hook_arg, store);
}

bool pt_host_platform_init(struct pt_host_platform *hp, uint64_t nr_frames)
{
    PT_ASSERT(nr_frames >= 2, "pt_host_platform_init: need at least 2 frames");
    memset(hp, 0, sizeof(*hp));
    hp->nr_frames = nr_frames;
    hp->arena = aligned_alloc(PT_BASE_PAGE_SIZE, nr_frames * PT_BASE_PAGE_SIZE);
    hp->meta = calloc(nr_frames, sizeof(*hp->meta));
    hp->free_stack = calloc(nr_frames, sizeof(*hp->free_stack));
    if (!hp->arena || !hp->meta || !hp->free_stack) {
        free(hp->arena);
        free(hp->meta);
        free(hp->free_stack);
        return false;
    }
    memset(hp->arena, POISON, nr_frames * PT_BASE_PAGE_SIZE);
    /* Highest frame at the bottom of the stack: low addresses come out first. */
    for (uint64_t f = nr_frames - 1; f >= 1; f--)
        hp->free_stack[hp->free_top++] = f;
    pthread_mutex_init(&hp->lock, NULL);
    hp->budget = UINT64_MAX;
    hp->ops.phys_to_virt = host_phys_to_virt;
    hp->ops.alloc_frame = host_alloc_frame;
    hp->ops.release_frame = host_release_frame;
    hp->ops.pte_stored = NULL;
    pt_mem_init(&hp->mem, &hp->ops, hp, hp->meta, nr_frames);
    pt_frame_reserve(&hp->mem, 0, PT_BASE_PAGE_SIZE);
    pt_mem_set_direct_map(&hp->mem, (uintptr_t)hp->arena);  /* the arena is one block */
    return true;
}

void pt_host_platform_destroy(struct pt_host_platform *hp)
{
    pthread_mutex_destroy(&hp->lock);
    free(hp->arena);
    free(hp->meta);
    free(hp->free_stack);
    hp->arena = NULL;
    hp->meta = NULL;
    hp->free_stack = NULL;
}

void pt_host_fail_nth(struct pt_host_platform *hp, uint64_t n)
{
    uint64_t now = __atomic_load_n(&hp->alloc_calls, __ATOMIC_RELAXED);
    __atomic_store_n(&hp->fail_nth, n ? now + n : 0, __ATOMIC_RELAXED);
}

void pt_host_fail_after(struct pt_host_platform *hp, uint64_t budget)
{
    __atomic_store_n(&hp->budget, budget, __ATOMIC_RELAXED);
}

void pt_host_fail_off(struct pt_host_platform *hp)
{
    __atomic_store_n(&hp->fail_nth, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&hp->budget, UINT64_MAX, __ATOMIC_RELAXED);
}

void pt_host_set_pte_hook(struct pt_host_platform *hp, pt_host_pte_hook hook, void *arg)
{
    hp->pte_hook = hook;
    hp->pte_hook_arg = arg;
    hp->ops.pte_stored = hook ? host_pte_stored : NULL;
}

uint64_t pt_host_allocated(const struct pt_host_platform *hp)
{
    return __atomic_load_n(&hp->allocated, __ATOMIC_RELAXED);
}

uint64_t pt_host_freed(const struct pt_host_platform *hp)
{
    return __atomic_load_n(&hp->freed, __ATOMIC_RELAXED);
}

uint64_t pt_host_live(const struct pt_host_platform *hp)
{
    return pt_host_allocated(hp) - pt_host_freed(hp);
}

uint64_t pt_host_failed(const struct pt_host_platform *hp)
{
    return __atomic_load_n(&hp->failed, __ATOMIC_RELAXED);
}

void *pt_host_frame_ptr(const struct pt_host_platform *hp, pt_paddr_t pa)
{
    return host_phys_to_virt((void *)hp, pa);
}
