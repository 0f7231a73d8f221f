/* Shared fixtures for the page-table tests: see pt_test_util.h. */
#include "pt_test_util.h"

struct pt_host_platform hp;
struct pt_mem *mem;

void util_platform_init(uint64_t nr_frames)
{
    ck_assert(pt_host_platform_init(&hp, nr_frames));
    mem = &hp.mem;
}

void util_platform_fini(void)
{
    pt_host_platform_destroy(&hp);
    mem = NULL;
}

pt_paddr_t util_frame(void)
{
    pt_paddr_t pa;
    ck_assert(pt_frame_alloc(mem, PT_USAGE_UNTYPED, &pa));
    return pa;
}

struct pt_prop util_prop(uint8_t flags)
{
    struct pt_prop p = { flags, PT_PRIV_USER, PT_CACHE_WB };
    return p;
}

struct pt_check_result util_check(const struct pt_page_table *pt)
{
    struct pt_check_result r;
    bool ok = pt_check(pt, &r);
    ck_assert_msg(ok, "pt_check: %s (node %#llx index %u level %d)", r.error ? r.error : "?",
                  (unsigned long long)r.node, r.index, r.level);
    return r;
}

pt_paddr_t util_map4k(struct pt_page_table *pt, pt_vaddr_t va, uint8_t flags)
{
    struct pt_cursor c;
    ck_assert_int_eq(pt_cursor_new(&c, pt, va, va + 4096), PT_OK);
    pt_paddr_t pa = util_frame();
    struct pt_item it = { pa, 1, util_prop(flags), true };
    struct pt_frag old;
    ck_assert_int_eq(pt_cursor_map(&c, &it, &old), 0);
    pt_cursor_drop(&c);
    return pa;  /* our reference moved into the PTE */
}

void util_map_huge(struct pt_page_table *pt, pt_vaddr_t va, pt_paddr_t pa, int level,
                   uint8_t flags)
{
    struct pt_cursor c;
    ck_assert_int_eq(pt_cursor_new(&c, pt, va, va + pt_page_size(level)), PT_OK);
    struct pt_item it = { pa, level, util_prop(flags), false };
    struct pt_frag old;
    int r = pt_cursor_map(&c, &it, &old);
    ck_assert_msg(r == 0, "huge map at level %d returned %s", level, pt_error_name(r));
    pt_cursor_drop(&c);
}

struct pt_query util_query(struct pt_page_table *pt, pt_vaddr_t va)
{
    struct pt_cursor c;
    struct pt_query q;
    ck_assert_int_eq(pt_cursor_new(&c, pt, va, va + 4096), PT_OK);
    ck_assert_int_eq(pt_cursor_query(&c, &q), PT_OK);
    pt_cursor_drop(&c);
    return q;
}

uint64_t util_unmap(struct pt_page_table *pt, pt_vaddr_t va, uint64_t len)
{
    struct pt_cursor c;
    struct pt_frag f;
    uint64_t n = 0;
    ck_assert_int_eq(pt_cursor_new(&c, pt, va, va + len), PT_OK);
    int r;
    while ((r = pt_cursor_take_next(&c, va + len - pt_cursor_va(&c), &f)) == 1) {
        n += f.kind == PT_FRAG_STRAY_TABLE ? f.num_frames : (f.item.tracked ? 1 : 0);
        pt_frag_release(mem, &f);
    }
    ck_assert_int_eq(r, 0);
    pt_cursor_drop(&c);
    return n;
}

void util_count_stores(void *arg, const struct pt_pte_store *s)
{
    (void)s;
    ++*(uint64_t *)arg;
}

static uint64_t table_live0;

void util_table_init(struct pt_page_table *pt, const struct pt_config *cfg, uint64_t nr_frames)
{
    util_platform_init(nr_frames);
    table_live0 = pt_host_live(&hp);
    ck_assert_int_eq(pt_create(pt, mem, cfg), PT_OK);
}

void util_table_fini(struct pt_page_table *pt)
{
    util_check(pt);
    pt_destroy(pt);
    ck_assert_uint_eq(pt_host_live(&hp), table_live0);  /* pt_destroy freed every node */
    util_platform_fini();
}
