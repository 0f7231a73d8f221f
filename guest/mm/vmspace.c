/*
 * VmSpace over the flusher's VmSpace layer (include/guest/vmspace.h).
 * The layer does the seed's work (replace-on-map with a kept old frame,
 * take_next loops with deferred release, activation order); this file adds
 * the space's life cycle, the kernel-half sharing, read-only cursors, the
 * seed's protect_next, the user-range and non-global checks, and the
 * per-space fault hook.
 */
#include "guest/vmspace.h"

#include "guest/arch.h"
#include "guest/frame_alloc.h"
#include "guest/layout.h"
#include "guest/percpu.h"

_Static_assert(sizeof(struct vm_space) <= PAGE_SIZE, "a vm_space lives in one frame");

const char *vm_error_name(int err)
{
    switch (err) {
    case VM_ERR_READONLY: return "VM_ERR_READONLY";
    case VM_ERR_WINDOWS_LIVE: return "VM_ERR_WINDOWS_LIVE";
    default: return tlb_error_name(err);
    }
}

struct vm_space *vm_space_new(void)
{
    uint64_t irq = irq_save();
    uint64_t pa = frame_alloc();
    irq_restore(irq);
    if (pa == FRAME_NONE)
        return NULL;
    struct vm_space *vs = phys_to_virt(pa);
    vs->fault_fn = NULL;
    vs->fault_arg = NULL;
    vm_io_windows_init(&vs->io_windows);
    if (tlb_vmspace_init_sharing(&vs->tvs, &mm_tlb, &mm_kernel_pt, &pt_user_config) != TLB_OK) {
        irq = irq_save();
        frame_free(pa);
        irq_restore(irq);
        return NULL;
    }
    return vs;
}

int vm_space_destroy(struct vm_space *vs)
{
    /* A live window would copy through a freed page table. */
    if (vm_io_windows_live(&vs->io_windows))
        return VM_ERR_WINDOWS_LIVE;
    int r = tlb_vmspace_destroy(&vs->tvs);
    if (r < 0)
        return r;
    uint64_t irq = irq_save();
    frame_free(virt_to_phys(vs));
    irq_restore(irq);
    return 0;
}

void vm_space_activate(struct vm_space *vs)
{
    tlb_vmspace_activate(&mm_tlb, vs ? &vs->tvs : NULL);
}

struct vm_space *vm_space_current(void)
{
    /* tvs is the first member: the active tlb_vmspace is the vm_space. */
    return (struct vm_space *)mm_tlb.cpu[this_cpu()->index].active;
}

uint64_t vm_space_root(const struct vm_space *vs)
{
    return vs->tvs.pt.root;
}

void vm_space_set_fault_handler(struct vm_space *vs, vm_fault_handler_t fn, void *arg)
{
    /* The argument first: a fault on another CPU that sees the new handler
       must see its argument too. */
    __atomic_store_n(&vs->fault_arg, arg, __ATOMIC_RELAXED);
    __atomic_store_n(&vs->fault_fn, fn, __ATOMIC_RELEASE);
}

bool vm_space_handle_page_fault(uint64_t va, uint64_t error_code)
{
    if (va >= VM_USER_END)
        return false;
    struct vm_space *vs = vm_space_current();
    if (!vs)
        return false;
    vm_fault_handler_t fn = __atomic_load_n(&vs->fault_fn, __ATOMIC_ACQUIRE);
    if (!fn)
        return false;
    return fn(vs, va, error_code, __atomic_load_n(&vs->fault_arg, __ATOMIC_RELAXED));
}

/* ---- cursors ---- */

static int check_user_range(uint64_t start, uint64_t end)
{
    if ((start | end) & (PAGE_SIZE - 1))
        return PT_ERR_UNALIGNED;
    if (start >= end || start < VM_USER_START || end > VM_USER_END)
        return PT_ERR_INVALID_RANGE;
    return 0;
}

int vm_space_cursor(struct vm_space *vs, uint64_t start, uint64_t end, struct vm_cursor *c)
{
    int r = check_user_range(start, end);
    if (r < 0)
        return r;
    /* Locking may allocate intermediate nodes: stores into this space. */
    pt_paddr_t prev = tlb_ctx_enter(&mm_tlb, vs->tvs.pt.root);
    r = pt_cursor_new(&c->tc.pc, &vs->tvs.pt, start, end);
    tlb_ctx_leave(&mm_tlb, prev);
    if (r < 0)
        return r;
    c->vs = vs;
    c->mut = false;
    c->tc.vs = &vs->tvs;
    return 0;
}

int vm_space_cursor_mut(struct vm_space *vs, uint64_t start, uint64_t end, struct vm_cursor *c)
{
    int r = check_user_range(start, end);
    if (r < 0)
        return r;
    r = tlb_cursor_new(&c->tc, &vs->tvs, start, end);
    if (r < 0)
        return r;
    c->vs = vs;
    c->mut = true;
    return 0;
}

void vm_cursor_drop(struct vm_cursor *c)
{
    if (c->mut)
        tlb_cursor_drop(&c->tc);
    else
        pt_cursor_drop(&c->tc.pc);
}

int vm_cursor_query(struct vm_cursor *c, struct vm_query *out)
{
    struct pt_query q;
    int r = pt_cursor_query(&c->tc.pc, &q);
    if (r < 0)
        return r;
    *out = (struct vm_query){ .start = q.start, .end = q.end, .mapped = q.mapped };
    if (q.mapped) {
        out->pa = q.item.pa;
        out->level = q.item.level;
        out->prop = q.item.prop;
    }
    return 0;
}

int vm_cursor_find_next(struct vm_cursor *c, uint64_t len, uint64_t *found)
{
    pt_vaddr_t va;
    int r = pt_cursor_find_next(&c->tc.pc, len, &va);
    if (r == 1)
        *found = va;
    return r;
}

int vm_cursor_jump(struct vm_cursor *c, uint64_t va)
{
    return pt_cursor_jump(&c->tc.pc, va);
}

uint64_t vm_cursor_virt_addr(const struct vm_cursor *c)
{
    return pt_cursor_va(&c->tc.pc);
}

int vm_cursor_map(struct vm_cursor *c, uint64_t pa, struct pt_prop prop)
{
    if (!c->mut)
        return VM_ERR_READONLY;
    if (prop.priv & PT_PRIV_GLOBAL)
        return PT_ERR_BAD_PROP;
    struct pt_item item = { .pa = pa, .level = 1, .prop = prop, .tracked = true };
    return tlb_cursor_map(&c->tc, &item);
}

int vm_cursor_unmap(struct vm_cursor *c, uint64_t len, uint64_t *nr_unmapped)
{
    if (!c->mut)
        return VM_ERR_READONLY;
    return tlb_cursor_unmap(&c->tc, len, true, nr_unmapped);
}

/* Wraps the caller's op so that a global property is refused like an
 * invalid one (user mappings are never global: their stale entries would
 * survive CR3 loads). A and D are left to op: it sees the bits the MMU has
 * set and what it leaves in the property is stored (the core keeps bits the MMU sets while
 * op runs; see vmspace.h). */
struct protect_guard {
    pt_protect_fn op;
    void *arg;
};

static void refuse_global(struct pt_prop *p, void *arg)
{
    struct protect_guard *g = arg;
    g->op(p, g->arg);
    if (p->priv & PT_PRIV_GLOBAL)
        *p = (struct pt_prop){ .flags = p->flags, .priv = 0, .cache = 0xff }; /* invalid: PT_ERR_BAD_PROP */
}

int vm_cursor_protect_next(struct vm_cursor *c, uint64_t len, pt_protect_fn op, void *arg,
                           uint64_t *start, uint64_t *end)
{
    if (!c->mut)
        return VM_ERR_READONLY;
    struct protect_guard g = { op, arg };
    pt_vaddr_t s, e;
    pt_paddr_t prev = tlb_ctx_enter(&mm_tlb, c->vs->tvs.pt.root);
    int r = pt_cursor_protect_next(&c->tc.pc, len, refuse_global, &g, &s, &e);
    tlb_ctx_leave(&mm_tlb, prev);
    if (r == 1) {
        *start = s;
        *end = e;
    }
    return r;
}

int vm_cursor_protect(struct vm_cursor *c, uint64_t len, pt_protect_fn op, void *arg,
                      uint64_t *nr_changed)
{
    if (!c->mut)
        return VM_ERR_READONLY;
    struct protect_guard g = { op, arg };
    return tlb_cursor_protect(&c->tc, len, refuse_global, &g, nr_changed);
}

struct tlb_flusher *vm_cursor_flusher(struct vm_cursor *c)
{
    return c->mut ? tlb_cursor_flusher(&c->tc) : NULL;
}
