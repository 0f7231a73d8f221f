/*
 * guest_vmspace: the guest's VmSpace (guest/mm/vmspace.c) on the host, over
 * the real page-table core (host platform arena) and the real TLB flusher
 * (one CPU), for its accessed/dirty contract (include/guest/vmspace.h,
 * docs/guest-mm.md "Accessed and dirty bits"): map installs exactly the
 * caller's property, query reports the bits the MMU set, protect keeps
 * them (also when the MMU sets them while the op runs), and an op decides
 * A and D itself.
 *
 * The MMU is played by mmu_access(): a walk of the space's tables with the
 * independent page walker (pagetable/walk.h), then, as the hardware does
 * (SDM Vol. 3A §4.8), an atomic OR of A into every entry of the path and of
 * D into the leaf for a write, without any page-table lock. The guest's
 * headers the file needs beyond VmSpace's are replaced by
 * vmspace_host_env.h; frame_alloc / frame_free, the flusher domain mm_tlb
 * and the kernel table mm_kernel_pt are defined here.
 */
#include <check.h>
#include <stdlib.h>

#include "check_main.h"
#include "guest/frame_alloc.h"
#include "guest/vmspace.h"
#include "pagetable/host_platform.h"
#include "pagetable/walk.h"

#define PG 4096ull
#define BASE 0x10000000ull

/* ---- what vmspace.c expects from the rest of the guest ---- */

struct tlb_domain mm_tlb;
struct pt_page_table mm_kernel_pt;

uint64_t frame_alloc(void)
{
    void *p = aligned_alloc(PG, PG);
    return p ? (uint64_t)(uintptr_t)p : FRAME_NONE;
}

bool frame_free(uint64_t pa)
{
    free((void *)(uintptr_t)pa);
    return true;
}

/* ---- one CPU for the flusher ---- */

static uint64_t flushes;

static unsigned p_cpu_id(void *ctx) { (void)ctx; return 0; }
static void p_send_ipi(void *ctx, tlb_cpumask_t t) { (void)ctx; (void)t; ck_abort_msg("IPI on one CPU"); }
static void p_flush_page(void *ctx, pt_vaddr_t va) { (void)ctx; (void)va; flushes++; }
static void p_flush_all(void *ctx) { (void)ctx; flushes++; }
static void p_load_cr3(void *ctx, pt_paddr_t root) { (void)ctx; (void)root; }
static unsigned long p_irq_save(void *ctx) { (void)ctx; return 0; }
static void p_irq_restore(void *ctx, unsigned long s) { (void)ctx; (void)s; }
static void p_relax(void *ctx) { (void)ctx; }
static void p_emit(void *ctx, const struct tlb_event *ev) { (void)ctx; (void)ev; }

static const struct tlb_platform_ops one_cpu = {
    .cpu_id = p_cpu_id, .send_ipi = p_send_ipi, .flush_page = p_flush_page,
    .flush_all_nonglobal = p_flush_all, .flush_all_global = p_flush_all,
    .load_cr3 = p_load_cr3, .irq_save = p_irq_save, .irq_restore = p_irq_restore,
    .relax = p_relax, .emit = p_emit,
};

static struct pt_host_platform hp;
static struct vm_space *vs;

static void setup(void)
{
    ck_assert(pt_host_platform_init(&hp, 1024));
    ck_assert_int_eq(pt_create(&mm_kernel_pt, &hp.mem, &pt_kernel_config), PT_OK);
    ck_assert_int_eq(tlb_domain_init(&mm_tlb, &one_cpu, NULL, &hp.mem, 1, mm_kernel_pt.root),
                     TLB_OK);
    vs = vm_space_new();
    ck_assert_ptr_nonnull(vs);
    vm_space_activate(vs);          /* the CPU the MMU walks for, in vs's CPU set */
    ck_assert_ptr_eq(vm_space_current(), vs);
    flushes = 0;
}

/* Everything mapped goes back: the space, its nodes and frames, the kernel
 * table; the arena's live count is 0 again. */
static void teardown(void)
{
    vm_space_activate(NULL);
    ck_assert_int_eq(vm_space_destroy(vs), 0);
    ck_assert_uint_eq(tlb_domain_live_batches(&mm_tlb), 0);
    pt_destroy(&mm_kernel_pt);
    ck_assert_uint_eq(pt_host_live(&hp), 0);
    pt_host_platform_destroy(&hp);
}

/* ---- helpers ---- */

static struct pt_prop user(uint8_t flags)
{
    return (struct pt_prop){ .flags = flags, .priv = PT_PRIV_USER, .cache = PT_CACHE_WB };
}

/* Map a fresh frame at va with prop (its only reference moves into the PTE). */
static void map_page(uint64_t va, struct pt_prop prop)
{
    pt_paddr_t pa;
    struct vm_cursor c;
    ck_assert(pt_frame_alloc(&hp.mem, PT_USAGE_UNTYPED, &pa));
    ck_assert_int_eq(vm_space_cursor_mut(vs, va, va + PG, &c), 0);
    ck_assert_int_eq(vm_cursor_map(&c, pa, prop), 0);
    vm_cursor_drop(&c);
}

/* The flags vm_cursor_query reports for the page at va. */
static uint8_t query_flags(uint64_t va)
{
    struct vm_cursor c;
    struct vm_query q;
    ck_assert_int_eq(vm_space_cursor(vs, va, va + PG, &c), 0);
    ck_assert_int_eq(vm_cursor_query(&c, &q), 0);
    vm_cursor_drop(&c);
    ck_assert_msg(q.mapped, "nothing mapped at %#llx", (unsigned long long)va);
    return q.prop.flags;
}

static bool read_entry(void *ctx, pt_paddr_t pa, pt_pte_t *out)
{
    (void)ctx;
    if (pa >= hp.nr_frames * PG)
        return false;
    *out = __atomic_load_n((pt_pte_t *)pt_host_frame_ptr(&hp, pa & ~(PG - 1)) + (pa % PG) / 8,
                           __ATOMIC_RELAXED);
    return true;
}

/* The MMU translating a read (or a write) of va: A in every entry of the
 * walk, D in the leaf for a write, each an atomic OR. */
static void mmu_access(uint64_t va, bool write)
{
    struct pt_walk_result w;
    ck_assert_int_eq(pt_walk(vm_space_root(vs), va, read_entry, NULL, &w), PT_WALK_OK);
    ck_assert_msg(w.translates && w.level == 1 && (!write || w.writable),
                  "the MMU would fault at %#llx", (unsigned long long)va);
    for (int l = PT_NR_LEVELS; l >= 1; l--) {
        pt_pte_t *slot = (pt_pte_t *)pt_host_frame_ptr(&hp, w.nodes[l - 1]) + pt_index(va, l);
        __atomic_fetch_or(slot, PTE_A | (l == 1 && write ? PTE_D : 0), __ATOMIC_RELAXED);
    }
}

static void clear_write(struct pt_prop *p, void *arg)
{
    (void)arg;
    p->flags &= (uint8_t)~PT_W;
}

/* ---- map and query ---- */

START_TEST(map_installs_exactly_the_callers_property)
{
    map_page(BASE, user(PT_RW));
    map_page(BASE + PG, user(PT_RW | PT_ACCESSED | PT_DIRTY));
    ck_assert_uint_eq(query_flags(BASE), PT_RW);     /* no A, no D until an access */
    ck_assert_uint_eq(query_flags(BASE + PG), PT_RW | PT_ACCESSED | PT_DIRTY);
}
END_TEST

START_TEST(query_reports_the_bits_the_mmu_set)
{
    map_page(BASE, user(PT_RW));
    map_page(BASE + PG, user(PT_RW));
    mmu_access(BASE, false);
    ck_assert_uint_eq(query_flags(BASE), PT_RW | PT_ACCESSED);
    ck_assert_uint_eq(query_flags(BASE + PG), PT_RW);   /* untouched */
    mmu_access(BASE, true);
    ck_assert_uint_eq(query_flags(BASE), PT_RW | PT_ACCESSED | PT_DIRTY);
}
END_TEST

/* ---- protect ---- */

/* Untouched, read, written: write-protected with one vm_cursor_protect. */
START_TEST(protect_keeps_the_bits_the_mmu_set)
{
    for (int k = 0; k < 3; k++)
        map_page(BASE + k * PG, user(PT_RW));
    mmu_access(BASE + PG, false);
    mmu_access(BASE + 2 * PG, true);
    struct vm_cursor c;
    uint64_t changed = 0;
    ck_assert_int_eq(vm_space_cursor_mut(vs, BASE, BASE + 3 * PG, &c), 0);
    ck_assert_int_eq(vm_cursor_protect(&c, 3 * PG, clear_write, NULL, &changed), 0);
    vm_cursor_drop(&c);
    ck_assert_uint_eq(changed, 3);
    ck_assert_uint_eq(flushes, 3);
    ck_assert_uint_eq(query_flags(BASE), PT_R);
    ck_assert_uint_eq(query_flags(BASE + PG), PT_R | PT_ACCESSED);
    ck_assert_uint_eq(query_flags(BASE + 2 * PG), PT_R | PT_ACCESSED | PT_DIRTY);
}
END_TEST

/* An op that lets the MMU write through the page (A and D set between the
 * core's read of the leaf and its update), then clears W. */
struct racing_op {
    uint64_t base;
    unsigned calls;
    uint8_t seen[8];          /* the flags op was given, per call */
};

static void write_then_clear_write(struct pt_prop *p, void *arg)
{
    struct racing_op *r = arg;
    ck_assert_uint_lt(r->calls, 8);
    r->seen[r->calls] = p->flags;
    mmu_access(r->base + r->calls * PG, true);
    r->calls++;
    clear_write(p, NULL);
}

/* protect_next (seed CursorMut::protect_next): the first page goes through
 * the core's general path, the next ones through its fast path. */
START_TEST(protect_next_keeps_bits_the_mmu_sets_while_op_runs)
{
    for (int k = 0; k < 4; k++)
        map_page(BASE + k * PG, user(PT_RW));
    struct racing_op r = { .base = BASE };
    struct vm_cursor c;
    ck_assert_int_eq(vm_space_cursor_mut(vs, BASE, BASE + 4 * PG, &c), 0);
    for (int k = 0; k < 4; k++) {
        uint64_t s, e;
        ck_assert_int_eq(vm_cursor_protect_next(&c, BASE + 4 * PG - vm_cursor_virt_addr(&c),
                                                write_then_clear_write, &r, &s, &e), 1);
        ck_assert_uint_eq(s, BASE + k * PG);
    }
    vm_cursor_drop(&c);
    ck_assert_uint_eq(r.calls, 4);                      /* once per page, even after a lost race */
    for (int k = 0; k < 4; k++) {
        ck_assert_uint_eq(r.seen[k], PT_RW);            /* op saw no A, no D */
        ck_assert_uint_eq(query_flags(BASE + k * PG), PT_R | PT_ACCESSED | PT_DIRTY);
    }
}
END_TEST

/* The same race through vm_cursor_protect (the flusher's loop). */
START_TEST(protect_keeps_bits_the_mmu_sets_while_op_runs)
{
    for (int k = 0; k < 4; k++)
        map_page(BASE + k * PG, user(PT_RW));
    struct racing_op r = { .base = BASE };
    struct vm_cursor c;
    uint64_t changed = 0;
    ck_assert_int_eq(vm_space_cursor_mut(vs, BASE, BASE + 4 * PG, &c), 0);
    ck_assert_int_eq(vm_cursor_protect(&c, 4 * PG, write_then_clear_write, &r, &changed), 0);
    vm_cursor_drop(&c);
    ck_assert_uint_eq(changed, 4);
    ck_assert_uint_eq(r.calls, 4);
    for (int k = 0; k < 4; k++)
        ck_assert_uint_eq(query_flags(BASE + k * PG), PT_R | PT_ACCESSED | PT_DIRTY);
}
END_TEST

static void set_flags(struct pt_prop *p, void *arg)
{
    p->flags = (uint8_t)(uintptr_t)arg;
}

/* VmSpace forces neither way: an op that clears A and D gets them cleared
 * (tracking starts again), one that sets them gets them set. */
START_TEST(protect_op_decides_a_and_d)
{
    map_page(BASE, user(PT_RW));
    map_page(BASE + PG, user(PT_RW));
    mmu_access(BASE, true);
    struct vm_cursor c;
    ck_assert_int_eq(vm_space_cursor_mut(vs, BASE, BASE + 2 * PG, &c), 0);
    ck_assert_int_eq(vm_cursor_protect(&c, PG, set_flags, (void *)(uintptr_t)PT_RW, NULL), 0);
    ck_assert_int_eq(vm_cursor_protect(&c, PG, set_flags,
                                       (void *)(uintptr_t)(PT_R | PT_ACCESSED | PT_DIRTY), NULL),
                     0);
    vm_cursor_drop(&c);
    ck_assert_uint_eq(query_flags(BASE), PT_RW);
    ck_assert_uint_eq(query_flags(BASE + PG), PT_R | PT_ACCESSED | PT_DIRTY);
    mmu_access(BASE, false);                            /* tracked again */
    ck_assert_uint_eq(query_flags(BASE), PT_RW | PT_ACCESSED);
}
END_TEST

static void make_global(struct pt_prop *p, void *arg)
{
    (void)arg;
    p->priv |= PT_PRIV_GLOBAL;
    p->flags &= (uint8_t)~PT_W;
}

/* A global property is refused and the page keeps what it had, the MMU's
 * A included. */
START_TEST(protect_refuses_global_and_keeps_the_page)
{
    map_page(BASE, user(PT_RW));
    mmu_access(BASE, false);
    struct vm_cursor c;
    uint64_t s, e;
    ck_assert_int_eq(vm_space_cursor_mut(vs, BASE, BASE + PG, &c), 0);
    ck_assert_int_eq(vm_cursor_protect_next(&c, PG, make_global, NULL, &s, &e), PT_ERR_BAD_PROP);
    vm_cursor_drop(&c);
    ck_assert_uint_eq(query_flags(BASE), PT_RW | PT_ACCESSED);
}
END_TEST

/* A read-only cursor refuses to map, and every code VmSpace returns has a
 * name (its own VM_ERR_* ones, the flusher's and the core's). */
START_TEST(errors_have_names)
{
    struct vm_cursor c;
    ck_assert_int_eq(vm_space_cursor(vs, BASE, BASE + PG, &c), 0);
    int err = vm_cursor_map(&c, 0x200000, user(PT_RW));
    vm_cursor_drop(&c);
    ck_assert_int_eq(err, VM_ERR_READONLY);
    ck_assert_str_eq(vm_error_name(err), "VM_ERR_READONLY");
    ck_assert_str_eq(vm_error_name(VM_ERR_WINDOWS_LIVE), "VM_ERR_WINDOWS_LIVE");
    ck_assert_str_eq(vm_error_name(TLB_ERR_BUSY), "TLB_ERR_BUSY");
    ck_assert_str_eq(vm_error_name(PT_ERR_NOMEM), "PT_ERR_NOMEM");
}
END_TEST

CHECK_PROGRAM_ONE_FIXTURE_TCASE("guest_vmspace", "accessed_dirty", CHECK_TIMEOUT_DEFAULT, setup,
                                teardown, map_installs_exactly_the_callers_property,
                                query_reports_the_bits_the_mmu_set,
                                protect_keeps_the_bits_the_mmu_set,
                                protect_next_keeps_bits_the_mmu_sets_while_op_runs,
                                protect_keeps_bits_the_mmu_sets_while_op_runs,
                                protect_op_decides_a_and_d,
                                protect_refuses_global_and_keeps_the_page,
                                errors_have_names)
