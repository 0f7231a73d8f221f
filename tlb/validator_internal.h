/*
 * Internal state of the TLB-ordering validator, shared by its source files:
 *   validator.c        create / feed / finish, sequencing, event routing
 *   validator_hash.c   open-addressing u64 -> u64 hash map
 *   validator_tree.c   address-space trees rebuilt from node allocations, PTE stores and roots
 *   validator_cpu.c    per-CPU may-cache state: CR3/PCID, flush discharge
 *   validator_oblig.c  the obligation pool and per-CPU open lists
 *   validator_store.c  PTE-store classification (R2/R3) -> obligations, BBM
 *   validator_check.c  checks at free, dispatch, sync, op end, finish
 *   validator_report.c reports (with policies), text and JSON output
 */
#ifndef TLB_VALIDATOR_INTERNAL_H
#define TLB_VALIDATOR_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "abi/tlb_event.h"
#include "tlb/validator.h"

#define NONE32 UINT32_MAX
#define PAGE_4K 4096ull

/* ---- hash map (validator_hash.c) -------------------------------------- */

#define HMAP_EMPTY UINT64_MAX   /* key value that is never stored */

struct hmap {
    uint64_t *keys;
    uint64_t *vals;
    size_t cap;      /* power of two */
    size_t count;
};

bool tlb_v_hmap_init(struct hmap *m, size_t cap);
void tlb_v_hmap_free(struct hmap *m);
/* Pointer to the value of `key`, or NULL. */
uint64_t *tlb_v_hmap_get(const struct hmap *m, uint64_t key);
/* Insert or overwrite; false only when memory runs out. */
bool tlb_v_hmap_put(struct hmap *m, uint64_t key, uint64_t val);
/* Remove `key` if present. */
void tlb_v_hmap_del(struct hmap *m, uint64_t key);

/* ---- page-table nodes (validator_tree.c) ------------------------------- */

struct vnode {
    uint64_t pa;
    uint8_t level;           /* 1..4 */
    uint16_t nparents;       /* table entries pointing at this node */
    uint16_t parent_index;   /* index of this node in its parent(s) */
    struct vnode *parent;    /* one parent (NULL when detached, or for a root) */
    uint64_t base_va;        /* canonical VA of entry 0; valid when attached */
    /*
     * Wholly modelled: the stream allocated it (NODE_ALLOC at alloc_seq) with
     * every entry zero, so each entry is known, 0 until stored, and no old
     * value is ever adopted. False for a node first seen through a store, a
     * link or a CR3 load (built before the stream began, or by a producer
     * without NODE_ALLOC): only its written entries are known.
     */
    bool whole;
    uint64_t alloc_seq;
    uint64_t written[8];     /* entries ever stored to (for adopt_unknown_entries) */
    uint32_t ob_epoch[512];  /* == validator's ob_epoch: an obligation for this entry may be open */
    uint64_t pte[512];
    /*
     * since[i]: sequence number of the store from which entry i's translation
     * (leaf) or link (table) has been available to the MMU without a change
     * that created obligations: the store that made it hardware-present or
     * downgraded it. Upgrades and equivalent splits keep it (a CPU may still
     * hold the older, equally cacheable form). 0 = since before the stream.
     * A CPU that stopped using a root/PCID at sequence L can hold the entry
     * only if the path's since values are all < L (see tlb_v_tree_entry_since).
     */
    uint64_t since[512];
};

/*
 * Reverse map value: live tracked leaf mappings of one frame. Bits 63..52:
 * how many (saturating); bits 51..0: where the latest one is (node pa | index),
 * or 0 when unknown (it was removed while others remain; found by a scan).
 */
#define RMAP_COUNT_SHIFT 52
#define RMAP_LOC_MASK ((1ull << RMAP_COUNT_SHIFT) - 1)

/* ---- obligations (validator_oblig.c) ----------------------------------- */

enum oblig_flag {
    OB_PSC      = 1u << 0,   /* paging-structure (non-leaf) obligation */
    OB_GLOBAL   = 1u << 1,   /* the stale entry is a global leaf */
    OB_MOVED    = 1u << 2,   /* the old frame was mapped at another VA while this was open */
    OB_ALIAS    = 1u << 3,   /* the old frame was still mapped elsewhere when this was created */
    OB_VIA_PSC  = 1u << 4,   /* a leaf made stale by the removal of a table above it */
    OB_REPORTED = 1u << 5,   /* already reported once (one report per obligation) */
    OB_DISPATCHED = 1u << 6, /* a dispatch by the creator targeted this CPU for it */
    OB_COLLAPSE = 1u << 7,   /* PSC obligation of an equivalent collapse: matters only when the old
                                table is freed (T9); no translation went stale */
};

struct oblig {
    uint32_t next, prev;     /* this CPU's open list, or the free list (next only) */
    uint32_t flags;
    uint8_t cpu, level, creator;
    uint16_t pcid;
    uint16_t index;
    uint64_t va, size;       /* the stale span */
    uint64_t root;           /* the address space of the store */
    uint64_t node;           /* node holding the entry */
    uint64_t old_pte, new_pte;
    uint64_t frame;          /* leaf: old frame base; PSC: old child node pa */
    uint64_t frame_size;     /* leaf: size of the old frame; PSC: 0 */
    uint64_t created_seq, dispatch_seq;
    uint64_t near_dispatch_seq;  /* a dispatch by the creator reached this CPU, for a range missing it */
    struct tlb_event created_ev;   /* the store that created it (for reports) */
    uint64_t *snap_nodes;    /* PSC: the detached subtree's nodes (shared, refcounted) */
    uint32_t *snap_refs;
    uint32_t snap_n;
};

/* ---- per-CPU state (validator_cpu.c) ------------------------------------ */

/* "Still current": a bound above every sequence number. */
#define SEQ_CURRENT UINT64_MAX

struct pcid_slot {
    uint16_t pcid;
    uint64_t root;           /* the root whose translations this PCID may hold */
    struct vnode *root_node; /* cached lookup of root (NULL if unknown or freed) */
    uint64_t until;          /* when this PCID stopped being current (SEQ_CURRENT while it is):
                                it holds only entries available before then */
};

/* A root whose global entries a CPU may hold: loaded since the CPU's last global flush. */
struct groot {
    uint64_t root;
    uint64_t until;          /* when the CPU last switched away from it (SEQ_CURRENT while loaded):
                                it holds only global entries available before then */
};

struct vcpu {
    bool cr3_loaded;
    uint16_t pcid;           /* current PCID */
    uint64_t root;           /* current root */
    struct pcid_slot *slots; /* PCIDs that may hold translations (current included) */
    uint32_t nslots, capslots;
    struct groot *groots;    /* live roots loaded since the last global flush (index: groot_idx) */
    uint32_t ngroots, capgroots;
    uint32_t open_head;      /* open obligations (doubly linked) */
    uint32_t nopen;
    uint64_t last_partial_flush_seq;   /* last INVLPG / range flush */
    uint64_t last_full_flush_seq;      /* last non-global full flush or flushing CR3 load */
    /*
     * Flushes this CPU executed for its OWN operations: a FLUSH while no
     * other CPU's dispatch to it was outstanding (foreign_pending == 0).
     * A flush done while serving another initiator's shootdown says nothing
     * about this CPU's own downgrades (the class stays T15, not T16).
     */
    uint64_t foreign_pending;          /* initiators whose dispatch to this CPU is not yet done */
    uint64_t own_partial_flush_seq, own_full_flush_seq;
    /* the operation in progress on this CPU */
    bool in_op;
    uint8_t op_kind;
    uint64_t op_start, op_end, op_seq, op_root;
    uint64_t last_dispatch_seq, last_sync_seq;
    uint64_t entered[8];     /* roots whose CPU set this CPU entered (ACTIVATE), for the lint */
    uint32_t nentered;
    bool entered_overflow;
};

/*
 * Per-store reach: which CPUs (and PCIDs) may cache entries below a node. CPU
 * c's PCIDs are pcids[first[c] .. first[c + 1]); an entry whose path became
 * available at sequence `since` (tlb_v_tree_entry_since) may be cached in
 * pcids[k] iff since < pbound[k], and as a global entry on CPU c iff
 * since < gbound[c] (0: never; SEQ_CURRENT: the CPU runs it). Every PCID a
 * CPU has bound is represented (the arrays grow with the CPUs' PCID slots):
 * a root may be bound to any number of PCIDs.
 */
struct reach {
    uint32_t first[TLB_MAX_CPUS + 1];
    uint16_t *pcids;
    uint64_t *pbound;
    size_t cap;
    uint64_t gbound[TLB_MAX_CPUS];
};

/* ---- the validator ----------------------------------------------------- */

struct policy_copy {
    char *name;              /* owned copy: never truncated */
    uint32_t classes;
    uint64_t va_start, va_end;
};

struct tlb_validator {
    struct tlb_validator_options opt;
    struct policy_copy policies[16];
    uint32_t ncpus;
    struct vcpu cpus[TLB_MAX_CPUS];

    struct hmap nodes;       /* node pa -> struct vnode * */
    struct vnode *last_node; /* one-entry cache in front of `nodes` (stores cluster by node) */
    struct hmap rmap;        /* (frame base | level) -> live tracked leaf count */
    struct hmap groot_idx;   /* (root pa | cpu) -> index in that CPU's groots */
    uint64_t rmap_huge;      /* live tracked leaves at levels 2-3 (none: skip those lookups) */

    struct reach reach;      /* scratch for validator_store.c */
    struct oblig *ob;        /* the pool */
    uint32_t ob_cap, ob_free;
    uint64_t total_open;     /* open obligations on all CPUs */
    uint32_t ob_epoch;       /* bumped (from 1) whenever total_open drops to 0 */

    struct tlb_report *reports;
    size_t nreports, capreports;
    uint64_t counts[TLB_REPORT_KINDS];
    uint64_t class_counts[TLB_CLASS_MAX + 1];   /* [0]: unused */
    uint64_t events;
    uint64_t last_seq;
    bool have_seq;
    bool finished;
    bool saw_activate;       /* the stream reports activations: lint CR3 loads outside them */
    bool new_violation;      /* set by tlb_v_report_add during the current feed */
    struct tlb_event last_ev;    /* the event being fed (during feed), else the last one accepted */
    bool have_last_ev;
    char *error;             /* the input error (owned; never truncated), NULL while the input is fine */
    bool failed;
};

/* validator.c */
/* printf into a fresh heap string of the right size (never truncated); NULL when memory runs out. */
char *tlb_v_vformat(const char *fmt, va_list ap);
enum tlb_verdict tlb_v_bad_input(struct tlb_validator *v, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* validator_tree.c */
struct vnode *tlb_v_tree_node(const struct tlb_validator *v, uint64_t pa);
/* Find or create the node at pa with `level`; NULL (and bad input set) on a level clash or OOM. */
struct vnode *tlb_v_tree_node_get(struct tlb_validator *v, uint64_t pa, int level, uint64_t seq);
bool tlb_v_tree_attached(const struct vnode *n);
/* VA span of entry `idx` of node n (requires attached). */
uint64_t tlb_v_tree_entry_va(const struct vnode *n, unsigned idx);
/* Does root `root_pa` reach node n (through current table entries)? */
bool tlb_v_tree_reaches(const struct tlb_validator *v, uint64_t root_pa, const struct vnode *n);
/* The root (level 4) or level-3 ancestor through which n hangs, NULL if detached. */
const struct vnode *tlb_v_tree_top(const struct vnode *n);
/* Does `root` hold `top` (a tlb_v_tree_top result)? */
bool tlb_v_tree_root_has(const struct vnode *root, const struct vnode *top);
/*
 * Since when has entry idx of attached node n been available below its top
 * (tlb_v_tree_top): the largest `since` of the entry and of every table entry on
 * the path up to the top. The root's own link to a level-3 top is per root:
 * tlb_v_tree_root_bound adds it.
 */
uint64_t tlb_v_tree_entry_since(const struct vnode *n, unsigned idx);
/* The same for the link to node n itself (its parent's entry; 0 for a top). */
uint64_t tlb_v_tree_link_since(const struct vnode *n);
/*
 * Bound for entries below `top` seen through `root`, a root the CPU stopped
 * using at `until`: entries with since < the result may be cached. 0 when the
 * root does not hold top, or linked top only at or after `until`.
 */
uint64_t tlb_v_tree_root_bound(const struct vnode *root, const struct vnode *top, uint64_t until);
/* NODE_ALLOC: a fresh, wholly modelled node; bad input when the node is still known (linked,
 * loaded, or never freed since the stream last saw it). */
enum tlb_verdict tlb_v_tree_node_alloc(struct tlb_validator *v, const struct tlb_event *ev);
/* Link child pointed to by table entry `pte` at (parent, idx); false on bad input. */
bool tlb_v_tree_link(struct tlb_validator *v, struct vnode *parent, unsigned idx, uint64_t pte, uint64_t seq);
void tlb_v_tree_unlink(struct tlb_validator *v, struct vnode *parent, unsigned idx, uint64_t pte);
/* Collect the nodes of the subtree under table entry `pte` of a level-`level` node. */
uint64_t *tlb_v_tree_subtree_nodes(const struct tlb_validator *v, uint64_t pte, uint32_t *n);
/* Forget a node (PT-node free): detach its children, drop rmap counts, remove it. */
void tlb_v_tree_forget(struct tlb_validator *v, struct vnode *n);
void tlb_v_tree_destroy_all(struct tlb_validator *v);
/* Reverse map of live tracked leaf mappings. */
/* Count a tracked leaf `pte` at (node_pa, idx) in (delta > 0) or out; false on OOM. */
bool tlb_v_rmap_add(struct tlb_validator *v, uint64_t pte, int level, int delta, uint64_t node_pa, unsigned idx);
uint32_t tlb_v_rmap_count_frame_range(const struct tlb_validator *v, uint64_t pa, uint64_t len);
/* Up to max locations (node pa | index) of live tracked leaves mapping [pa, pa+len). */
size_t tlb_v_rmap_locations(const struct tlb_validator *v, uint64_t pa, uint64_t len, uint64_t *locs, size_t max);
bool tlb_v_pte_tracked_leaf(uint64_t pte, int level);
/* A leaf of the kernel's linear map of all RAM: a global huge leaf (2 MiB or 1 GiB, G = 1), as OSTD's
 * and Linux's direct maps are built. Not counted as an alias of the frames it covers. */
bool tlb_v_pte_linear_map_leaf(uint64_t pte, int level);

/* validator_oblig.c */
uint32_t tlb_v_ob_alloc(struct tlb_validator *v);   /* NONE32 on OOM */
void tlb_v_ob_open(struct tlb_validator *v, uint32_t id);   /* link into its CPU's open list */
void tlb_v_ob_close(struct tlb_validator *v, uint32_t id);  /* unlink and free */
void tlb_v_ob_destroy_all(struct tlb_validator *v);
#define OB_FOREACH_OPEN(v, c, id, nxt)                                              \
    for (uint32_t id = (v)->cpus[c].open_head, nxt = (id) == NONE32 ? NONE32 : (v)->ob[id].next; \
         (id) != NONE32; (id) = (nxt), (nxt) = (id) == NONE32 ? NONE32 : (v)->ob[id].next)
bool tlb_v_ob_overlaps(const struct oblig *o, uint64_t va, uint64_t len);

/* validator_cpu.c */
bool tlb_v_cpu_init(struct vcpu *c);
void tlb_v_cpu_destroy(struct vcpu *c);
/* A root node is freed: no CPU can fill anything from it any more (drop it from every groots). */
void tlb_v_cpu_forget_root(struct tlb_validator *v, uint64_t root);
enum tlb_verdict tlb_v_cpu_cr3_load(struct tlb_validator *v, const struct tlb_event *ev);
enum tlb_verdict tlb_v_cpu_flush(struct tlb_validator *v, const struct tlb_event *ev);
/*
 * Which PCIDs of CPU c may hold (non-global) entries of the tree hanging from
 * `top` (a tlb_v_tree_top result)? Writes the PCIDs to pcids and their bounds
 * (tlb_v_tree_root_bound: entries with since < bound) to bounds, returns how many.
 * Requires room for max entries; max >= the CPU's nslots gives them all.
 */
int tlb_v_cpu_reach_pcids(const struct tlb_validator *v, uint32_t c, const struct vnode *top,
                    uint16_t *pcids, uint64_t *bounds, uint32_t max);
/* Does the PCID slot `i` of CPU c reach `top`, and until when (tlb_v_tree_root_bound; 0: no)? */
uint64_t tlb_v_cpu_slot_bound(const struct tlb_validator *v, uint32_t c, uint32_t i, const struct vnode *top);
/* Bound for global entries of the tree hanging from `top` on CPU c: it may hold those with
 * since < the result (0: none). */
uint64_t tlb_v_cpu_reach_global(const struct tlb_validator *v, uint32_t c, const struct vnode *top);
/* May CPU c cache an entry below `top` available since `since` (global: as a global entry, in
 * any PCID; else in one of its PCIDs)? */
bool tlb_v_cpu_may_cache(const struct tlb_validator *v, uint32_t c, const struct vnode *top, uint64_t since,
                   bool global);

/* validator_store.c */
enum tlb_verdict tlb_v_store_apply(struct tlb_validator *v, const struct tlb_event *ev);

/* validator_check.c */
enum tlb_verdict tlb_v_check_free(struct tlb_validator *v, const struct tlb_event *ev);
enum tlb_verdict tlb_v_check_dispatch(struct tlb_validator *v, const struct tlb_event *ev);
/* REMOTE_DONE: the target finished what an initiator asked (attribution of its flushes). */
enum tlb_verdict tlb_v_check_remote_done(struct tlb_validator *v, const struct tlb_event *ev);
enum tlb_verdict tlb_v_check_sync(struct tlb_validator *v, const struct tlb_event *ev);
enum tlb_verdict tlb_v_check_op_begin(struct tlb_validator *v, const struct tlb_event *ev);
enum tlb_verdict tlb_v_check_op_end(struct tlb_validator *v, const struct tlb_event *ev);
void tlb_v_check_finish(struct tlb_validator *v);
/* A frame becomes a page-table node (first seen as one): no CPU may still cache a translation to it. */
void tlb_v_check_node_reuse(struct tlb_validator *v, uint64_t pa, uint64_t seq);
/* ACTIVATE bookkeeping, and the lint for a CR3 load outside the CPU's entered address spaces. */
enum tlb_verdict tlb_v_check_activate(struct tlb_validator *v, const struct tlb_event *ev);
void tlb_v_check_cr3_activated(struct tlb_validator *v, const struct tlb_event *ev);
/* Classify an open obligation at a completion point (T13/T16/T15/T20/T11/T4). */
unsigned tlb_v_check_classify_open(const struct tlb_validator *v, const struct oblig *o, uint32_t initiator);

/* validator_report.c */
struct report_args {
    enum tlb_report_kind kind;
    unsigned cls;
    const char *rule;
    uint32_t cpu;
    uint64_t root, va, size, frame, created_seq, missed_seq, detected_seq;
    const struct tlb_event *created_ev;   /* NULL: the current event if created_seq is its seq, else none */
};
/* Record a report (policies applied); formats `what` with printf arguments. */
void tlb_v_report_add(struct tlb_validator *v, const struct report_args *a, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Report an obligation (marks it reported). */
void tlb_v_report_oblig(struct tlb_validator *v, uint32_t id, unsigned cls, const char *rule,
                  uint64_t detected_seq, uint64_t missed_seq, const char *why);
void tlb_v_reports_free(struct tlb_validator *v);
const char *tlb_v_class_rule(unsigned cls);

#endif /* TLB_VALIDATOR_INTERNAL_H */
