/*
 * The TLB event format, version 2: one fixed-size record per page-table or
 * TLB action, shared by the guest (which emits it) and the host (which
 * validates it). This is a PUBLIC ABI: a guest that is not ours may produce
 * it. docs/tlb-events.md documents every field; keep the two in step.
 *
 * Wire format: little-endian. A stream file is one struct tlb_stream_header
 * followed by zero or more records of exactly `record_size` (48) bytes. A
 * trace ring holds records only. The C structs below have no padding and
 * match the wire layout byte for byte on a little-endian machine (x86-64);
 * portable readers decode the offsets given in the comments.
 *
 * Ordering: `seq` is a global sequence number taken from one atomic counter
 * shared by every CPU at the moment the action takes effect (after a PTE
 * store, after a flush instruction retires, ...). A merged stream is sorted
 * by `seq`; consecutive records have consecutive numbers (a gap means lost
 * events, and the validator refuses the stream).
 *
 * Reserved fields and reserved flag bits must be zero: a reader rejects a
 * record whose reserved bits are set, so they can be given a meaning later
 * without being misread by old readers.
 *
 * Freestanding: only <stdint.h>.
 */
#ifndef ABI_TLB_EVENT_H
#define ABI_TLB_EVENT_H

#include <stdint.h>

/*
 * Version 2 adds one record type, TLB_EV_NODE_ALLOC; nothing else changed.
 * A reader of version 2 reads version-1 streams too (they cannot hold that
 * type); a version-1 reader rejects a version-2 stream by its header, and a
 * type-15 record as an unknown type.
 */
#define TLB_EVENT_VERSION     2u
#define TLB_EVENT_VERSION_MIN 1u            /* the oldest version readers still accept */
#define TLB_EVENT_RECORD_SIZE 48u
#define TLB_STREAM_MAGIC      0x45424c54u   /* bytes "TLBE" */
#define TLB_MAX_CPUS          64u           /* CPU ids 0..63 (dispatch masks are 64-bit) */

/* Stream file header (16 bytes), at offset 0 of a stream file. */
struct tlb_stream_header {
    uint32_t magic;        /*  0: TLB_STREAM_MAGIC */
    uint16_t version;      /*  4: TLB_EVENT_VERSION */
    uint16_t record_size;  /*  6: TLB_EVENT_RECORD_SIZE */
    uint32_t cpu_count;    /*  8: number of CPUs, 1..TLB_MAX_CPUS; every record's cpu < this */
    uint32_t flags;        /* 12: reserved, 0 */
};

/* Record types (`type`, offset 12). */
enum tlb_event_type {
    TLB_EV_PTE_STORE   = 1,   /* a store to one page-table entry */
    TLB_EV_FLUSH       = 2,   /* a TLB flush EXECUTED on `cpu` (INVLPG, CR3 reload, CR4.PGE toggle) */
    TLB_EV_CR3_LOAD    = 3,   /* MOV to CR3 on `cpu` */
    TLB_EV_FLUSH_ISSUE = 4,   /* a flush op queued by the flusher (informational) */
    TLB_EV_DISPATCH    = 5,   /* the flusher sends its queued ops to a CPU set */
    TLB_EV_REMOTE_DONE = 6,   /* `cpu` finished the flushes an initiator asked of it */
    TLB_EV_SYNC_DONE   = 7,   /* the initiator saw every acknowledgement of its dispatch */
    TLB_EV_ACTIVATE    = 8,   /* `cpu` enters or leaves an address space's CPU set */
    TLB_EV_FREE        = 9,   /* a frame or page-table node goes back to the allocator */
    TLB_EV_FRAME_REF   = 10,  /* a frame's reference count changed (informational) */
    TLB_EV_CURSOR_LOCK = 11,  /* a cursor locked [start, end) (informational) */
    TLB_EV_CURSOR_UNLOCK = 12,/* that cursor was dropped (informational) */
    TLB_EV_OP_BEGIN    = 13,  /* a map/unmap/protect operation starts on `cpu` */
    TLB_EV_OP_END      = 14,  /* ...and completes: its completion point */
    TLB_EV_NODE_ALLOC  = 15,  /* a page-table node was taken from the allocator, all 512
                                 entries zero (version 2) */
    TLB_EV_TYPE_MAX    = 15,
    TLB_EV_TYPE_MAX_V1 = 14,  /* the last type a version-1 stream may hold */
};

/* TLB_EV_FLUSH and TLB_EV_FLUSH_ISSUE: what is flushed (`sub`). */
enum tlb_flush_kind {
    TLB_FLUSH_SINGLE        = 1,  /* INVLPG va (covers the whole page, huge or not, global or
                                     not, and every paging-structure-cache entry of the current
                                     PCID); npages = 1 */
    TLB_FLUSH_RANGE         = 2,  /* one INVLPG per 4 KiB page of [va, va + npages*4096), npages >= 1 */
    TLB_FLUSH_ALL_NONGLOBAL = 3,  /* CR3 reload: every non-global entry of the current PCID */
    TLB_FLUSH_ALL_GLOBAL    = 4,  /* CR4.PGE toggle: everything, every PCID */
};

/* TLB_EV_CR3_LOAD flags (`sub`). */
#define TLB_CR3_NOFLUSH 0x01u     /* CR3 bit 63 was set: nothing was flushed (needs CR4.PCIDE) */

/* TLB_EV_ACTIVATE direction (`sub`). */
enum tlb_activate_dir {
    TLB_ACTIVATE_LEAVE = 0,
    TLB_ACTIVATE_ENTER = 1,
};

/* TLB_EV_FREE: what is freed (`sub`). */
enum tlb_free_kind {
    TLB_FREE_FRAME   = 1,   /* data frame(s): [pa, pa + npages*4096) */
    TLB_FREE_PT_NODE = 2,   /* one page-table node at pa; `arg` = its level (1..4), npages = 1 */
};

/* TLB_EV_OP_BEGIN / TLB_EV_OP_END: the operation (`sub`). */
enum tlb_op_kind {
    TLB_OP_MAP     = 1,
    TLB_OP_UNMAP   = 2,
    TLB_OP_PROTECT = 3,
    TLB_OP_OTHER   = 4,   /* e.g. a fork's address-space-wide write protect */
};

/*
 * One event record, 48 bytes. Common part:
 *   seq  (0, u64)  global sequence number
 *   cpu  (8, u32)  the CPU that performed the action, < cpu_count
 *   type (12, u8)  enum tlb_event_type
 *   sub  (13, u8)  type-specific small field (level, kind, flags)
 *   arg  (14, u16) type-specific 16-bit field (index, PCID, level)
 *   root (16, u64) the address space concerned: physical address of its
 *                  level-4 page-table node (page-aligned; 0 = none/unknown
 *                  where the type allows it)
 * Type-specific payload at offsets 24, 32, 40 (u64 each):
 */
struct tlb_event {
    uint64_t seq;
    uint32_t cpu;
    uint8_t  type;
    uint8_t  sub;
    uint16_t arg;
    uint64_t root;
    union {
        /* TLB_EV_PTE_STORE: sub = level of the node (1..4), arg = index (0..511).
         * root = the address space whose tree the node belongs to (for a node
         * shared by several roots, e.g. kernel page tables, any one of them). */
        struct { uint64_t node, old_pte, new_pte; } pte;
        /* TLB_EV_NODE_ALLOC: sub = level of the node (1..4), arg = 0, root as
         * for PTE_STORE (0 = not known yet, e.g. a new root); node = its
         * physical address (page-aligned, non-zero). Emitted after the node
         * was zeroed and before any store into it or to an entry that links
         * it, so every entry of the node is 0 until a PTE_STORE says
         * otherwise. */
        struct { uint64_t node, reserved[2]; } alloc;
        /* TLB_EV_FLUSH / TLB_EV_FLUSH_ISSUE: sub = enum tlb_flush_kind,
         * arg = PCID (reserved, 0, in versions 1 and 2; a flush acts on the CPU's
         * current PCID). va canonical for SINGLE/RANGE, 0 otherwise;
         * npages as the kind says (0 for the ALL kinds). */
        struct { uint64_t va, npages, reserved; } flush;
        /* TLB_EV_CR3_LOAD: root = the new root (CR3 bits 51:12), sub = TLB_CR3_*
         * flags, arg = PCID (CR3 bits 11:0; 0 without CR4.PCIDE). */
        struct { uint64_t reserved[3]; } cr3;
        /* TLB_EV_DISPATCH: targets = CPU mask (bit n = CPU n) that will flush,
         * the initiator included if it flushes itself; [va, va + npages*4096)
         * covers every queued op, npages = 0 means "the whole address space"
         * (a full flush was queued). sub = enum tlb_flush_kind of the flush
         * the targets will do (SINGLE/RANGE = per-page, ALL_* = full). */
        struct { uint64_t targets, va, npages; } dispatch;
        /* TLB_EV_REMOTE_DONE: emitted by the target (`cpu`) after its flushes. */
        struct { uint64_t initiator, dispatch_seq, reserved; } remote_done;
        /* TLB_EV_SYNC_DONE: emitted by the initiator; targets = the mask it waited for. */
        struct { uint64_t targets, dispatch_seq, reserved; } sync;
        /* TLB_EV_ACTIVATE: sub = enum tlb_activate_dir; root = the address space. */
        struct { uint64_t reserved[3]; } activate;
        /* TLB_EV_FREE: sub = enum tlb_free_kind, arg = level for a PT node. */
        struct { uint64_t pa, npages, reserved; } free;
        /* TLB_EV_FRAME_REF: the count went from old_ref to new_ref. */
        struct { uint64_t pa, old_ref, new_ref; } ref;
        /* TLB_EV_CURSOR_LOCK/UNLOCK and TLB_EV_OP_BEGIN/END: [start, end),
         * page-aligned, start < end; sub = enum tlb_op_kind for OP_*, 0 for
         * cursors. */
        struct { uint64_t start, end, reserved; } range;
        uint64_t raw[3];
    } u;
};

/* Compile-time layout checks (C11 _Static_assert; offsetof-free for freestanding use). */
_Static_assert(sizeof(struct tlb_stream_header) == 16, "stream header is 16 bytes");
_Static_assert(sizeof(struct tlb_event) == TLB_EVENT_RECORD_SIZE, "event record is 48 bytes");

#endif /* ABI_TLB_EVENT_H */
