/*
 * The host-side TLB-ordering validator: feed it a stream of TLB events
 * (abi/tlb_event.h) in sequence order; it rebuilds every address space's page
 * tables, keeps per CPU what that CPU MAY cache (every translation and
 * paging-structure entry reachable from the roots it loaded since its last
 * covering flush), turns each downgrading PTE store into flush obligations,
 * and reports every ordering violation with its bug class (T1..T20 of the
 * project's catalogue) and the hardware rule (R1..R13) it breaks.
 * docs/validator.md explains each rule.
 *
 * Pure C, single-threaded, no KVM. One validator per stream; not
 * thread-safe (feed it from one thread).
 */
#ifndef TLB_VALIDATOR_H
#define TLB_VALIDATOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "abi/tlb_event.h"

/* Bug classes of the catalogue that the validator reports. */
enum tlb_class {
    TLB_T1 = 1,    /* frame freed while a CPU may cache a translation to it */
    TLB_T2 = 2,    /* ... and the frame had been moved to another VA meanwhile */
    TLB_T3 = 3,    /* ... through a table-level (non-leaf) removal/move */
    TLB_T4 = 4,    /* op completes while ANOTHER CPU's downgrade is still unflushed in its range */
    TLB_T9 = 9,    /* page-table node freed while linked or while a CPU may cache a path through it */
    TLB_T10 = 10,  /* dispatch target set misses a CPU that may cache the range */
    TLB_T11 = 11,  /* obligation dropped without a flush (at sync, or at end of stream) */
    TLB_T12 = 12,  /* page-size change without break-before-make */
    TLB_T13 = 13,  /* global entry left behind by a non-global flush */
    TLB_T14 = 14,  /* CR3 load with no-flush into a PCID whose state is stale */
    TLB_T15 = 15,  /* op completes with its own downgrade never flushed */
    TLB_T16 = 16,  /* a flush of the wrong address/range left the obligation open */
    TLB_T19 = 19,  /* frame freed while an alias still maps or may cache it */
    TLB_T20 = 20,  /* op completes after dispatch but before sync */
};
/* The highest class number of the catalogue (T1..T20): class numbers run 1..TLB_CLASS_MAX. */
#define TLB_CLASS_MAX 20
#define TLB_CLASS_BIT(c) (1u << (c))

/* A short name for a class ("T1"), "T?" when unknown. */
const char *tlb_class_name(unsigned cls);

/*
 * A named policy of deliberate laziness: violations of any class in
 * `classes` (a mask of TLB_CLASS_BIT) whose virtual address lies in
 * [va_start, va_end) are reported as TOLERATED by this policy instead of as
 * violations (never silently dropped). va_start == va_end == 0 means every
 * address. Example: {"lazy-kvirt", T1|T11|T15, kva_start, kva_end} for a
 * kernel area unmapped without a flush by design.
 */
struct tlb_policy {
    const char *name;      /* non-NULL; copied by tlb_validator_create */
    uint32_t classes;
    uint64_t va_start, va_end;
};

struct tlb_validator_options {
    uint32_t cpu_count;          /* 1..TLB_MAX_CPUS */
    bool report_upgrades;        /* report permission upgrades as spurious-fault HINTs */
    bool report_lints;           /* report flushes that discharge nothing ("flush of a clean VA") as HINTs */
    bool allow_seq_gaps;         /* accept increasing but non-consecutive sequence numbers */
    bool adopt_unknown_entries;  /* a stream that starts with page tables already built: the first
                                    store to a never-written entry takes its `old` value as the
                                    truth instead of requiring the modelled 0 -- except in a node
                                    the stream allocated (NODE_ALLOC): that one was all zero */
    unsigned format_version;     /* the stream's format version (its header's), 1..TLB_EVENT_VERSION;
                                    0 = TLB_EVENT_VERSION. Records of a type the version lacks
                                    (NODE_ALLOC in version 1) are bad input */
    size_t max_reports;          /* reports kept in memory; 0 = 1000. Counts are always exact. */
    const struct tlb_policy *policies;
    size_t npolicies;            /* at most 16 */
};

/* Default options for `cpu_count` CPUs: everything off, no policies. */
struct tlb_validator_options tlb_validator_default_options(uint32_t cpu_count);

enum tlb_report_kind {
    TLB_REPORT_VIOLATION = 0,
    TLB_REPORT_TOLERATED = 1,    /* a violation that a named policy allows */
    TLB_REPORT_HINT      = 2,    /* not a bug: upgrade without flush, flush of a clean VA */
};
#define TLB_REPORT_KINDS 3       /* number of report kinds above */

/* One CPU's state at the moment of a report. */
#define TLB_REPORT_MAX_OPEN 8
struct tlb_cpu_snapshot {
    uint32_t cpu;
    bool cr3_loaded;
    uint16_t pcid;
    uint64_t root;               /* loaded root (0 if none) */
    uint32_t nopen;              /* open obligations on this CPU (all of them) */
    uint32_t nshown;             /* how many are listed below (<= TLB_REPORT_MAX_OPEN) */
    struct {
        uint64_t va, size, seq;  /* span, and the store that created it */
        uint8_t level;
        bool psc, global;
    } open[TLB_REPORT_MAX_OPEN];
};

struct tlb_report {
    enum tlb_report_kind kind;
    unsigned cls;                /* enum tlb_class; 0 for hints */
    const char *rule;            /* "R3", "R4", ... (static string) */
    const char *policy;          /* name of the tolerating policy, or NULL */
    uint32_t cpu;                /* the CPU that may still cache / that acted */
    uint64_t root;               /* address space (0 if not known) */
    uint64_t va, size;           /* the stale span */
    uint64_t frame;              /* the frame or node concerned (0 if none) */
    uint64_t created_seq;        /* the event that created the obligation (0 if none) */
    uint64_t missed_seq;         /* the last event that should have discharged it but did not (0 if none) */
    uint64_t detected_seq;       /* the event at which the violation was detected */
    const char *what;            /* one-line explanation, never truncated (owned by the validator) */
    /*
     * The events themselves, copied: the one that created the obligation
     * (a PTE_STORE; has_created_event false when the report has none, e.g.
     * a frame freed while still mapped) and the one at which the violation
     * was detected (at tlb_validator_finish: the last event fed;
     * has_detected_event false only when no event was ever fed).
     */
    bool has_created_event;
    bool has_detected_event;
    struct tlb_event created_event;
    struct tlb_event detected_event;
    uint32_t ncpus;
    struct tlb_cpu_snapshot *cpus;  /* ncpus entries (owned by the validator) */
};

enum tlb_verdict {
    TLB_VERDICT_OK = 0,          /* nothing new, or only tolerated/hint reports */
    TLB_VERDICT_VIOLATION = 1,   /* at least one new violation */
    TLB_VERDICT_BAD_INPUT = 2,   /* the input is malformed or inconsistent; see tlb_validator_error */
};

struct tlb_validator;

/*
 * Create a validator.
 * Requires: opt non-NULL.
 * Guarantees: a fresh validator with no address spaces and no CPU state.
 * Fails (returns NULL) when cpu_count is 0 or > TLB_MAX_CPUS, a policy has a
 * NULL name, there are more than 16 policies, format_version is not 0 and
 * not a version this reader knows, or memory runs out.
 */
struct tlb_validator *tlb_validator_create(const struct tlb_validator_options *opt);

/* Free a validator and its reports. NULL is allowed. */
void tlb_validator_destroy(struct tlb_validator *v);

/*
 * Feed one event. Events must come in sequence order (strictly increasing
 * `seq`, consecutive unless allow_seq_gaps).
 * Guarantees: returns VIOLATION if this event produced at least one new
 * violation report, OK otherwise; BAD_INPUT if the event is malformed
 * (tlb_event_check, or a type the stream's format version lacks) or
 * inconsistent with the model (unknown node, level mismatch, an old PTE
 * value that differs from the modelled one, a NODE_ALLOC of a node that is
 * still linked or was never freed since the stream last saw it, ...). After
 * BAD_INPUT the validator is stopped: every later feed/finish returns
 * BAD_INPUT and tlb_validator_error() says why.
 */
enum tlb_verdict tlb_validator_feed(struct tlb_validator *v, const struct tlb_event *ev);

/*
 * End of stream: every obligation still open is reported as dropped (T11),
 * except those already reported. Call once.
 * Guarantees: VIOLATION if any violation was ever reported, else OK;
 * BAD_INPUT if the validator stopped on bad input.
 */
enum tlb_verdict tlb_validator_finish(struct tlb_validator *v);

/* The input error message, or NULL when the input was fine so far. */
const char *tlb_validator_error(const struct tlb_validator *v);

/* Reports kept (at most max_reports), and exact counts per kind. */
size_t tlb_validator_report_count(const struct tlb_validator *v);
const struct tlb_report *tlb_validator_report(const struct tlb_validator *v, size_t i);
uint64_t tlb_validator_count(const struct tlb_validator *v, enum tlb_report_kind kind);
/* Number of violations (kind VIOLATION) of class `cls`. */
uint64_t tlb_validator_class_count(const struct tlb_validator *v, unsigned cls);
/* Events accepted so far. */
uint64_t tlb_validator_events(const struct tlb_validator *v);

/*
 * The modelled value of entry `index` of the page-table node at physical
 * address `node_pa`, as the events built it: the last PTE_STORE to it, with
 * the A/D bits the MMU set taken from later stores' old values -- so the
 * model's A/D bits may lag behind memory (compare ignoring A and D). For the
 * live host driver, which walks the guest's real tables from each vCPU's CR3
 * and compares them entry by entry with this.
 * Requires: v, pte and level non-NULL.
 * Guarantees: true, with *pte = the modelled entry (0 if never written) and
 * *level = the node's level (1..4), when the validator knows the node: it
 * was allocated (NODE_ALLOC), stored to, linked from a table entry, or
 * loaded as a root, and not freed since. In a wholly modelled node
 * (tlb_validator_node_whole) the 0 of a never-written entry is the truth;
 * in any other node it only means that the stream never wrote the entry.
 * False, leaving *pte and *level untouched, when the node is unknown or
 * index > 511. Does not change the validator. After BAD_INPUT the model is
 * the one as of the rejected event (which may be partly applied).
 */
bool tlb_validator_model_pte(const struct tlb_validator *v, uint64_t node_pa, unsigned index, uint64_t *pte,
                             int *level);

/*
 * Is the page-table node at `node_pa` wholly modelled: allocated in the
 * stream (NODE_ALLOC, with every entry zero) and not freed since? Then every
 * one of its 512 entries is known -- tlb_validator_model_pte's value, 0 for
 * an entry never stored to -- and guest memory must hold exactly that
 * (A/D aside). A node first seen through a store, a link or a CR3 load
 * (built before the stream began) is not: only its written entries are known.
 * Requires: v non-NULL.
 * Guarantees: true only for such a node; false for any other address. Does
 * not change the validator.
 */
bool tlb_validator_node_whole(const struct tlb_validator *v, uint64_t node_pa);

/*
 * The root CPU `cpu` loaded last according to the events (its latest
 * CR3_LOAD: root = CR3 bits 51:12 as a physical address, pcid = CR3 bits
 * 11:0), whether or not that root has been freed since.
 * Requires: v, root and pcid non-NULL.
 * Guarantees: true with *root and *pcid set when the CPU has loaded a root;
 * false, leaving them untouched, when it never did or cpu >= the CPU count.
 * Does not change the validator.
 */
bool tlb_validator_cpu_root(const struct tlb_validator *v, uint32_t cpu, uint64_t *root, uint16_t *pcid);

/* Print one report as text (several lines) / as one JSON object on one line. */
void tlb_report_print_text(const struct tlb_report *r, FILE *out);
void tlb_report_print_json(const struct tlb_report *r, FILE *out);

/*
 * Validate a whole stream file held in memory: header, then records, then
 * finish. `opt` may be NULL (defaults); its cpu_count and format_version
 * are ignored (the header's are used).
 * Guarantees: never reads outside buf[0..len); *out receives a validator
 * holding the reports and the error (the caller destroys it), or NULL when
 * memory ran out. Returns BAD_INPUT for a truncated stream (a partial record
 * or header), bad magic/version/record size/cpu count, or any record that
 * feed() rejects; else VIOLATION or OK as finish() says.
 */
enum tlb_verdict tlb_validate_bytes(const uint8_t *buf, size_t len,
                                    const struct tlb_validator_options *opt,
                                    struct tlb_validator **out);

#endif /* TLB_VALIDATOR_H */
