/*
 * The machine under the page-table core and the TLB flusher (docs/guest-mm.md):
 * struct pt_platform_ops over the guest's frame allocator and linear map, and
 * struct tlb_platform_ops over real instructions (MOV CR3, INVLPG, CR4.PGE)
 * and x2APIC IPIs on VECTOR_TLB_FLUSH.
 */
#include "mm_internal.h"

#include "guest/apic.h"
#include "guest/arch.h"
#include "guest/assert.h"
#include "guest/bootinfo.h"
#include "guest/frame_alloc.h"
#include "guest/layout.h"
#include "guest/percpu.h"
#include "guest/trace.h"
#include "guest/trap.h"

#define CR4_PGE (1ull << 7)

/* Which frames are page-table nodes, of which level (0: not a node): the
 * free event must say so, and frame.c has reset the metadata by the time it
 * calls release_frame. Set when the core allocates the node (every node
 * comes from pt_node_alloc, which calls node_allocated). */
uint8_t *mm_node_level;

static uint64_t ipis_sent[MAX_CPUS], ipis_received[MAX_CPUS], ipis_deferred[MAX_CPUS];

/* ---- struct pt_platform_ops ---- */

static void *p_phys_to_virt(void *ctx, pt_paddr_t pa)
{
    (void)ctx;
    return phys_to_virt(pa);
}

/* The frame allocator's lock is also taken from the TLB IPI handler (the
 * deferred release frees frames there), so hold it with interrupts off. */
static bool p_alloc_frame(void *ctx, pt_paddr_t *pa)
{
    (void)ctx;
    uint64_t irq = irq_save();
    uint64_t f = frame_alloc();
    irq_restore(irq);
    if (f == FRAME_NONE)
        return false;
    *pa = f;
    return true;
}

static void p_release_frame(void *ctx, pt_paddr_t pa)
{
    (void)ctx;
    uint64_t fn = pa >> PAGE_SHIFT;
    int level = mm_node_level[fn];
    mm_node_level[fn] = 0;
    /* The event comes before the frame can be handed out again. */
    if (trace_enabled())
        tlb_note_frame_free(&mm_tlb, pa, level);
    uint64_t irq = irq_save();
    bool ok = frame_free(pa);
    irq_restore(irq);
    if (!ok)
        PANIC("mm: page-table core released frame %#llx that the frame allocator does not "
              "hold as allocated", (unsigned long long)pa);
}

static void p_pte_stored(void *ctx, const struct pt_pte_store *st)
{
    (void)ctx;
    if (trace_enabled())
        tlb_note_pte_store(&mm_tlb, st);
}

/* The node is zeroed and nothing links it yet: its event comes before any
 * store into it, so the host models all 512 entries from here on. Nodes
 * allocated before the attach (none in this guest: the rings are attached
 * before the kernel page table is built), or for a host that reads only
 * version-1 events, have no event. */
static void p_node_allocated(void *ctx, pt_paddr_t pa, int level)
{
    (void)ctx;
    mm_node_level[pa >> PAGE_SHIFT] = (uint8_t)level;
    if (trace_node_allocs())
        tlb_note_node_alloc(&mm_tlb, pa, level);
}

const struct pt_platform_ops mm_pt_ops = {
    .phys_to_virt = p_phys_to_virt,
    .alloc_frame = p_alloc_frame,
    .release_frame = p_release_frame,
    .pte_stored = p_pte_stored,
    .node_allocated = p_node_allocated,
};

/* ---- struct tlb_platform_ops ---- */

static unsigned t_cpu_id(void *ctx)
{
    (void)ctx;
    return this_cpu()->index;
}

static void t_send_ipi(void *ctx, tlb_cpumask_t targets)
{
    (void)ctx;
    unsigned me = this_cpu()->index;
    for (; targets; targets &= targets - 1) {
        unsigned c = (unsigned)__builtin_ctzll(targets);
        apic_send_ipi(bootinfo.cpus[c].apic_id, VECTOR_TLB_FLUSH);
        ipis_sent[me]++;
    }
}

static void t_flush_page(void *ctx, pt_vaddr_t va)
{
    (void)ctx;
    invlpg((const void *)(uintptr_t)va);
}

static void t_flush_all_nonglobal(void *ctx)
{
    (void)ctx;
    write_cr3(read_cr3());
}

/* Clearing CR4.PGE flushes every TLB entry, global ones included
 * (SDM 4.10.4.1); setting it again re-enables global pages. */
static void t_flush_all_global(void *ctx)
{
    (void)ctx;
    uint64_t cr4 = read_cr4();
    write_cr4(cr4 & ~CR4_PGE);
    write_cr4(cr4 | CR4_PGE);
}

static void t_load_cr3(void *ctx, pt_paddr_t root)
{
    (void)ctx;
    write_cr3(root);
}

static unsigned long t_irq_save(void *ctx)
{
    (void)ctx;
    return (unsigned long)irq_save();
}

static void t_irq_restore(void *ctx, unsigned long state)
{
    (void)ctx;
    irq_restore(state);
}

static void t_relax(void *ctx)
{
    (void)ctx;
    cpu_relax();
}

const struct tlb_platform_ops mm_tlb_ops = {
    .cpu_id = t_cpu_id,
    .send_ipi = t_send_ipi,
    .flush_page = t_flush_page,
    .flush_all_nonglobal = t_flush_all_nonglobal,
    .flush_all_global = t_flush_all_global,
    .load_cr3 = t_load_cr3,
    .irq_save = t_irq_save,
    .irq_restore = t_irq_restore,
    .relax = t_relax,
    .emit = trace_emit,
};

/* The shootdown IPI: flush what this CPU's queue asks, acknowledge, drop
 * its references on the kept frames. trap_dispatch sends the EOI.
 *
 * A real CPU delivers it only with IF = 1, but the nested-SVM sandbox has
 * been seen to deliver it with IF = 0 (arch/x86/trap.c), e.g. inside this
 * handler or while a lock that the handler takes (frame allocator, batch
 * pool) is held. Such a delivery is put off, not run: the handler sends
 * itself the same IPI, which stays pending until this CPU enables
 * interrupts, and returns. So the body never runs where it could not on
 * hardware, and no request is lost. */
static void tlb_ipi_handler(struct trap_frame *f)
{
    struct percpu *p = this_cpu();
    if (!(f->rflags & RFLAGS_IF)) {
        ipis_deferred[p->index]++;
        apic_send_ipi(p->apic_id, VECTOR_TLB_FLUSH);
        return;
    }
    ipis_received[p->index]++;
    tlb_flusher_handle_ipi(&mm_tlb, p->index);
}

void mm_platform_init(void)
{
    irq_register(VECTOR_TLB_FLUSH, tlb_ipi_handler);
}

/* IA32_PAT as the page-table core encodes cache policies (pagetable/prop.h,
 * x86_64.h): entries 0..3 = WB, WT, WC, UC selected by PWT/PCD, and 4..7 the
 * same, because bit 7 of every 4 KiB leaf (OSTD's leaf marker) is the PAT
 * bit. Only entry 2 (and 6) differs from the power-on value (UC- there), and
 * no mapping uses it yet when this runs. */
#define MSR_PAT   0x277
#define PAT_VALUE 0x0001040600010406ull

void mm_cpu_paging_setup(void)
{
    wrmsr(MSR_PAT, PAT_VALUE);
    write_cr4(read_cr4() | CR4_PGE);
}

uint64_t mm_ipis_sent(unsigned cpu)
{
    return cpu < MAX_CPUS ? __atomic_load_n(&ipis_sent[cpu], __ATOMIC_RELAXED) : 0;
}

uint64_t mm_ipis_received(unsigned cpu)
{
    return cpu < MAX_CPUS ? __atomic_load_n(&ipis_received[cpu], __ATOMIC_RELAXED) : 0;
}

uint64_t mm_ipis_deferred(unsigned cpu)
{
    return cpu < MAX_CPUS ? __atomic_load_n(&ipis_deferred[cpu], __ATOMIC_RELAXED) : 0;
}

/* The page-table core's fatal path: an internal invariant is broken. */
void pt_panic(const char *msg)
{
    PANIC("%s", msg);
}
