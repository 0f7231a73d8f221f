/*
 * The TLB flusher: a C port of Asterinas OSTD's TlbFlusher (ostd/src/mm/tlb.rs;
 * docs/tlb-flusher.md). It runs in the guest kernel and,
 * over simulated CPUs, on the host (tests/tlb_flusher/).
 *
 *   issue(op)              queue a flush operation locally; flushes nothing
 *   issue_with(op, frag)   the same, and keep `frag` (an unmapped frame or a
 *                          detached page-table subtree) alive until every CPU
 *                          that may cache it has flushed
 *   dispatch()             snapshot the VmSpace's CPU set, hand the queued ops
 *                          (and a reference to the kept frags) to every remote
 *                          target's queue, IPI them, flush locally
 *   sync()                 wait until every remote target of earlier
 *                          dispatches has flushed
 *
 * Every action emits an event (abi/include/abi/tlb_event.h) through the
 * platform's sink: op begin/end, dispatch, each flush executed, remote flush
 * done, sync done, activation, CR3 load, frame and page-table-node frees, PTE
 * stores (routed from the page-table core's pte_stored hook).
 *
 * Freestanding: <stdint.h>, <stdbool.h>, <stddef.h> and GCC __atomic builtins
 * only; all storage is in caller-provided structs (no allocation).
 */
#ifndef TLB_FLUSHER_H
#define TLB_FLUSHER_H

#include <stddef.h>
#include "pagetable/page_table.h"
#include "tlb/cpuset.h"
#include "abi/tlb_event.h"

/* Errors (negative). */
enum tlb_error {
    TLB_OK            = 0,
    TLB_ERR_INVAL     = -20,  /* a bad argument (named in the function's contract) */
    TLB_ERR_BUSY      = -21,  /* the CPU still has the space active / cursors live */
};

/* A short name for an error code (also accepts enum pt_error codes). */
const char *tlb_error_name(int err);

/* ---------------------------------------------------------------------------
 * Batching constants (OSTD ostd/src/mm/tlb.rs).
 *
 * TLB_FLUSH_ALL_PAGES_THRESHOLD = 32: once the pages queued since the last
 * dispatch reach 32 (counted cumulatively over the ops), the queue stops
 * recording single-page ops and the dispatch does one full flush instead.
 * Why 32: one INVLPG costs ~100-260 cycles plus the refill of that entry,
 * while a CR3 reload costs ~100 cycles plus refilling every non-global entry
 * the CPU was using; Linux measured that ~95% of its range flushes are <= 32
 * pages and settled on a ceiling of 33 (tlb_single_page_flush_ceiling, "caps
 * the maximum overhead at about 3,000 ns"); OSTD chose 32. So at most 31
 * pages are flushed one by one.
 *
 * TLB_MAX_OPS = 32: the queue holds at most 32 ops (OSTD's OpsStack). With
 * the page threshold above every op counts at least one page, so the page
 * threshold is reached first; the op limit is kept as the backstop.
 * --------------------------------------------------------------------------- */
#define TLB_FLUSH_ALL_PAGES_THRESHOLD 32u
#define TLB_MAX_OPS 32u

/* Kept frags per batch, and batches in the domain's pool. A flusher whose
   batch is full dispatches it before keeping more (see issue_with). */
#define TLB_BATCH_FRAGS 64u
#define TLB_BATCH_POOL 64u

/*
 * A flush operation (OSTD's TlbFlushOp). Build it with tlb_op_*(). `kind` is
 * the event format's enum tlb_flush_kind: SINGLE, RANGE, ALL_NONGLOBAL or
 * ALL_GLOBAL.
 */
struct tlb_flush_op {
    pt_vaddr_t va;      /* SINGLE/RANGE: page-aligned start; ALL_*: 0 */
    uint32_t npages;    /* SINGLE: 1; RANGE: 2..31; ALL_*: 0 */
    uint8_t kind;       /* enum tlb_flush_kind */
    /*
     * The entries concerned may be global (G=1). A CR3 reload does not remove
     * global entries (SDM 4.10.4.1), so a queue holding any global op that
     * falls back to a full flush uses the global flush (CR4.PGE toggle)
     * instead; single-page ops use INVLPG, which removes global entries too
     * (SDM 4.10.4.1: "INVLPG ... regardless of the G flag").
     */
    bool global;
};

/* One page at `va` (aligned down to 4 KiB). */
struct tlb_flush_op tlb_op_single(pt_vaddr_t va, bool global);
/* Everything: ALL_NONGLOBAL, or ALL_GLOBAL when `global`. */
struct tlb_flush_op tlb_op_all(bool global);
/*
 * The pages of [start, end): SINGLE for one page, RANGE for 2..31 pages,
 * ALL_* for 32 or more (the threshold above).
 * Fails with TLB_ERR_INVAL (and *out untouched) unless start < end and both
 * are 4 KiB-aligned.
 */
int tlb_op_range(pt_vaddr_t start, pt_vaddr_t end, bool global, struct tlb_flush_op *out);

/* OSTD's OpsStack: the ops queued on one side (a flusher or a CPU's queue). */
struct tlb_ops_stack {
    struct tlb_flush_op ops[TLB_MAX_OPS];
    uint32_t nr_ops;
    uint32_t nr_pages;   /* pages in ops[] */
    bool flush_all;      /* a full flush replaces ops[] */
    bool global;         /* some op concerned global entries */
};

/* ---------------------------------------------------------------------------
 * Platform interface: what the flusher needs from the machine. The guest
 * implements it with real instructions and x2APIC IPIs; the host simulation
 * (tests/tlb_flusher/sim.c) with simulated CPUs. All callbacks get `ctx`.
 * --------------------------------------------------------------------------- */
struct tlb_platform_ops {
    unsigned (*cpu_id)(void *ctx);                    /* the calling CPU, < nr_cpus */
    /* Interrupt `targets` (never includes the caller); each target's handler
       must call tlb_flusher_handle_ipi(dom, its cpu) with interrupts off. */
    void (*send_ipi)(void *ctx, tlb_cpumask_t targets);
    void (*flush_page)(void *ctx, pt_vaddr_t va);     /* INVLPG va */
    void (*flush_all_nonglobal)(void *ctx);           /* reload CR3 */
    void (*flush_all_global)(void *ctx);              /* toggle CR4.PGE */
    void (*load_cr3)(void *ctx, pt_paddr_t root);     /* MOV to CR3, no PCID */
    /* Disable local interrupts, returning the previous state; restore it.
       May be no-ops on the host. */
    unsigned long (*irq_save)(void *ctx);
    void (*irq_restore)(void *ctx, unsigned long state);
    /* Called in every spin (locks, sync, pool waits), with interrupts in the
       state the spinner had: PAUSE on hardware; the simulation runs other
       CPUs' pending interrupts from here. */
    void (*relax)(void *ctx);
    /* Event sink: called with a fully built record, in program order per
       CPU, sequence numbers from one global counter. */
    void (*emit)(void *ctx, const struct tlb_event *ev);
};

/* Fault-injection switches (host tests only; 0 in production). Each one
   plants one bug class (T1-T20, docs/validator.md "The checks"). */
enum tlb_fault {
    TLB_FAULT_SKIP_LOCAL_FLUSH   = 1u << 0, /* dispatch never flushes the local CPU */
    TLB_FAULT_SKIP_REMOTE_FLUSH  = 1u << 1, /* IPI handler acks without flushing */
    TLB_FAULT_FREE_BEFORE_FLUSH  = 1u << 2, /* issue_with releases the frag at once */
    TLB_FAULT_DROP_TARGET        = 1u << 3, /* dispatch forgets its highest remote target */
    TLB_FAULT_WRONG_PAGE         = 1u << 4, /* single-page flushes hit va + 4 KiB */
    TLB_FAULT_NONGLOBAL_FULL     = 1u << 5, /* full flush of a global op reloads CR3 only */
    TLB_FAULT_SKIP_SYNC          = 1u << 6, /* sync does nothing: the op ends before the acks */
    TLB_FAULT_DROP_OP_WHEN_FULL  = 1u << 7, /* a full queue drops the op (no flush-all) */
    TLB_FAULT_LEAVE_KEEPS_GLOBAL = 1u << 8, /* leaving a space with global leaves skips the global flush */
    TLB_FAULT_NO_JOIN            = 1u << 9, /* activation loads CR3 without joining the space's set */
    TLB_FAULT_MAKE_BEFORE_FLUSH  = 1u << 10, /* a huge map writes its leaf before flushing what it removed */
};
#define TLB_FAULT_ALL 0x7ffu

/* One batch of kept frags, shared by every CPU that must flush before they
   are released (reference-counted). Internal; in the domain's pool. */
struct tlb_batch {
    uint32_t refs;                 /* atomic: CPUs that have not yet flushed (+1 while open) */
    uint32_t nr_frags;
    uint8_t in_use;                /* under the pool lock */
    pt_paddr_t root;               /* the space it came from (for events) */
    struct pt_frag frags[TLB_BATCH_FRAGS];
};

/* One CPU's remote flush queue (OSTD's per-CPU FLUSH_OPS). Internal. */
struct tlb_cpu_queue {
    uint8_t lock;                  /* spin lock, taken with interrupts off */
    struct tlb_ops_stack ops;
    uint32_t nr_batches;
    struct tlb_batch *batches[TLB_BATCH_POOL]; /* each batch at most once */
    uint64_t queued_gen;           /* bumped by each dispatch (under lock) */
    uint64_t done_gen;             /* atomic: queued_gen of the last handled swap */
    /* Who is waiting (for the remote-done events): initiator CPUs with ops
       queued here, and per initiator its latest dispatch's seq and root. One
       acknowledgement covers every earlier dispatch of that initiator. */
    tlb_cpumask_t from;
    uint64_t from_seq[TLB_MAX_CPUS];
    pt_paddr_t from_root[TLB_MAX_CPUS];
} __attribute__((aligned(64)));

struct tlb_vmspace;

/* What an IPI handler takes out of its CPU's queue. Internal. */
struct tlb_ipi_scratch {
    struct tlb_ops_stack ops;
    uint32_t nr_batches;
    struct tlb_batch *batches[TLB_BATCH_POOL];
    uint64_t gen;
    tlb_cpumask_t from;
    uint64_t from_seq[TLB_MAX_CPUS];
    pt_paddr_t from_root[TLB_MAX_CPUS];
};

/* Per-CPU state. Internal. */
struct tlb_percpu {
    struct tlb_vmspace *active;    /* the space this CPU has activated, or NULL */
    pt_paddr_t cr3;                /* the root it loaded last */
    pt_paddr_t ctx_root;           /* address space of the work in progress (events) */
    struct tlb_ipi_scratch scratch;
};

/*
 * The machine-wide flusher state: platform, per-CPU queues, the pool of kept
 * batches, the event sequence counter. One per machine (guest: static).
 */
struct tlb_domain {
    const struct tlb_platform_ops *ops;
    void *ctx;
    struct pt_mem *mem;            /* frags are released into it */
    unsigned nr_cpus;
    pt_paddr_t idle_root;          /* loaded by tlb_vmspace_activate(NULL) */
    uint64_t seq;                  /* atomic: next event sequence number */
    uint32_t faults;               /* enum tlb_fault bits */
    uint8_t pool_lock;
    struct tlb_batch pool[TLB_BATCH_POOL];
    struct tlb_cpu_queue queues[TLB_MAX_CPUS];
    struct tlb_percpu cpu[TLB_MAX_CPUS];
};

/*
 * Initialise `dom`.
 * Requires: every callback in `ops` is non-NULL; `mem` is the page-table
 *   memory the frags belong to; idle_root is a root any CPU may load when it
 *   leaves every space (e.g. the kernel page table), 0 if none.
 * Fails with TLB_ERR_INVAL (dom untouched) if ops/mem is NULL, a callback is
 *   missing, or nr_cpus is 0 or > TLB_MAX_CPUS.
 */
int tlb_domain_init(struct tlb_domain *dom, const struct tlb_platform_ops *ops, void *ctx,
                    struct pt_mem *mem, unsigned nr_cpus, pt_paddr_t idle_root);

/* Set the fault-injection switches (enum tlb_fault bits). Tests only. */
void tlb_domain_set_faults(struct tlb_domain *dom, uint32_t faults);

/* Kept batches currently alive (not yet released); 0 when everything pending
   has been flushed everywhere. A racy snapshot, for tests and shutdown. */
unsigned tlb_domain_live_batches(struct tlb_domain *dom);

/*
 * Route the page-table core's pte_stored hook into the event stream: emits a
 * PTE-store event for the calling CPU, in the address space of the work in
 * progress on it (set by the VmSpace layer). Call it from your
 * pt_platform_ops.pte_stored.
 */
void tlb_note_pte_store(struct tlb_domain *dom, const struct pt_pte_store *store);

/*
 * Report a fresh page-table node (call it from your
 * pt_platform_ops.node_allocated, which the core calls after zeroing the
 * node and before any store into it or its link): emits a NODE_ALLOC event
 * for node `pa` at `level` (1..4) on the calling CPU, in the address space
 * of the work in progress on it (0 when none, e.g. a new root).
 */
void tlb_note_node_alloc(struct tlb_domain *dom, pt_paddr_t pa, int level);

/*
 * Report that frame `pa` went back to the allocator (call it from your
 * pt_platform_ops.release_frame, BEFORE the frame can be reused): emits a
 * free event, of a page-table node at `node_level` (1..4), or of a data
 * frame when node_level is 0.
 */
void tlb_note_frame_free(struct tlb_domain *dom, pt_paddr_t pa, int node_level);

/*
 * The address space of the work in progress on the calling CPU: the `root`
 * its PTE-store and free events carry. tlb_ctx_enter sets it to `root` and
 * returns the previous value; tlb_ctx_leave restores that value. The VmSpace
 * layer brackets every operation with them; a platform that edits a table
 * outside that layer (e.g. the guest building its kernel page table) does
 * the same so its stores name their table.
 * Requires: dom initialised; called on the CPU doing the work, in pairs.
 */
pt_paddr_t tlb_ctx_enter(struct tlb_domain *dom, pt_paddr_t root);
void tlb_ctx_leave(struct tlb_domain *dom, pt_paddr_t prev);

/* Emit an event from outside the flusher (e.g. a platform's own markers).
   Requires: ev's type and payload set. Guarantees: ev->seq and ev->cpu are
   filled in here (next sequence number, calling CPU) before the sink sees it. */
void tlb_emit(struct tlb_domain *dom, struct tlb_event *ev);

/* ---------------------------------------------------------------------------
 * The flusher proper (one per mutable cursor, OSTD's TlbFlusher).
 * A flusher belongs to the CPU that initialised it: use it only there.
 * --------------------------------------------------------------------------- */
struct tlb_flusher {
    struct tlb_domain *dom;
    struct tlb_atomic_cpuset *targets; /* the VmSpace's CPU set */
    pt_paddr_t root;                   /* the VmSpace's root (events only) */
    struct tlb_ops_stack ops;          /* issued since the last dispatch */
    struct tlb_batch *batch;           /* frags kept since the last dispatch */
    tlb_cpumask_t unsynced;            /* remote targets not yet waited for */
    uint64_t last_dispatch_seq;        /* seq of this flusher's latest dispatch event */
    uint64_t wait_gen[TLB_MAX_CPUS];   /* per target: the queued_gen to wait for */
};

/*
 * Start an empty flusher for the space whose CPU set is `targets` and whose
 * root is `root` (used in events only).
 * Requires: dom initialised; targets outlives the flusher. The flusher is
 * then used on the calling CPU only, and must be finished (or its last
 * dispatch done) before it is forgotten, or its kept frags leak.
 */
void tlb_flusher_init(struct tlb_flusher *f, struct tlb_domain *dom,
                      struct tlb_atomic_cpuset *targets, pt_paddr_t root);

/*
 * Queue `op`. Flushes nothing until dispatch.
 * Past TLB_FLUSH_ALL_PAGES_THRESHOLD queued pages (or TLB_MAX_OPS ops) the
 * queue switches to one full flush (global if any queued op is global).
 */
void tlb_flusher_issue(struct tlb_flusher *f, struct tlb_flush_op op);

/*
 * Queue `op` and keep `frag` (taken from pt_cursor_take_next/map, whose PTE
 * is already cleared) until every CPU that may cache it has flushed: the
 * frag is released (pt_frag_release) by the last of the dispatch's targets
 * to flush. Ownership of the frag moves to the flusher.
 * If this flusher's batch is full it is dispatched first (asynchronously);
 * if the domain's pool is empty this spins (relax) until a batch is freed,
 * so call it with interrupts enabled.
 */
void tlb_flusher_issue_with(struct tlb_flusher *f, struct tlb_flush_op op,
                            const struct pt_frag *frag);

/*
 * Send the queued ops to every CPU in a snapshot of `targets` (the snapshot
 * pairs with activation, see cpuset.c), IPI the remote ones, flush the local
 * CPU if it is a target, and empty the queue. Asynchronous: remote CPUs may
 * not have flushed when this returns (use sync). A no-op on an empty queue.
 * Guarantees: the kept frags are released only after the local flush (if
 * targeted) and every remote target's flush.
 */
void tlb_flusher_dispatch(struct tlb_flusher *f);

/*
 * Wait until every remote target of this flusher's earlier dispatches has
 * executed its flush (spinning with relax). Requires interrupts enabled
 * (otherwise two CPUs syncing towards each other deadlock).
 */
void tlb_flusher_sync(struct tlb_flusher *f);

/* Dispatch anything still queued (so no kept frag is leaked). Does not sync.
   tlb_cursor_drop calls it. */
void tlb_flusher_finish(struct tlb_flusher *f);

/*
 * The IPI handler body: on CPU `cpu` (the caller), with interrupts off, take
 * this CPU's queued ops, flush them, acknowledge, and drop this CPU's
 * reference on each kept batch. Harmless when the queue is empty.
 */
void tlb_flusher_handle_ipi(struct tlb_domain *dom, unsigned cpu);

#endif /* TLB_FLUSHER_H */
