/*
 * The catalogue's bug scenarios as synthetic event streams: for each class
 * the stream that exhibits it (bug = true) and, where it makes sense, the
 * same scenario done right (bug = false). Used by the unit tests, the fuzz
 * seed corpus and tlbcheck examples.
 */
#ifndef TLB_TEST_SCENARIOS_H
#define TLB_TEST_SCENARIOS_H

#include "stream_builder.h"

/* What the bug stream must report: exactly class `cls`, with one report naming cpu, va and frame. */
struct expect {
    unsigned cls;
    uint32_t cpu;
    uint64_t va, frame;
};

struct scenario {
    const char *name;
    bool has_correct;    /* bug = false builds a stream that must be clean */
    void (*build)(struct sb *b, bool bug, struct expect *e);
    bool never_bug;      /* a legal pattern: the stream must be clean for either value of bug */
};

extern const struct scenario tlb_scenarios[];

/* What a CPU retains of an address space it left (scenarios_retained.c). */
void scenario_global_mapped_after_leave(struct sb *b, bool bug, struct expect *e);
void scenario_t10_global_left_after_map(struct sb *b, bool bug, struct expect *e);
void scenario_t1_global_left_after_map(struct sb *b, bool bug, struct expect *e);
void scenario_t10_global_upgraded_after_leave(struct sb *b, bool bug, struct expect *e);
void scenario_t10_global_split_after_leave(struct sb *b, bool bug, struct expect *e);
void scenario_global_linked_after_leave(struct sb *b, bool bug, struct expect *e);
void scenario_pcid_mapped_after_switch(struct sb *b, bool bug, struct expect *e);
void scenario_t10_pcid_left_after_map(struct sb *b, bool bug, struct expect *e);
void scenario_global_mapped_after_many_roots(struct sb *b, bool bug, struct expect *e);
void scenario_t10_global_left_many_roots(struct sb *b, bool bug, struct expect *e);
void scenario_t10_global_after_root_free(struct sb *b, bool bug, struct expect *e);
/* What real hardware and kernels do (scenarios_hw.c, issue 7 §2). */
void scenario_ad_set_by_mmu(struct sb *b, bool bug, struct expect *e);
void scenario_t15_dirty_cleared(struct sb *b, bool bug, struct expect *e);
void scenario_linear_map_free_after_flush(struct sb *b, bool bug, struct expect *e);
void scenario_t1_linear_map_free_before_flush(struct sb *b, bool bug, struct expect *e);
void scenario_t9_collapse_freed_early(struct sb *b, bool bug, struct expect *e);
void scenario_collapse_without_flush(struct sb *b, bool bug, struct expect *e);
void scenario_t12_collapse_changes_rights(struct sb *b, bool bug, struct expect *e);
void scenario_t14_many_pcids_one_root(struct sb *b, bool bug, struct expect *e);
extern const unsigned tlb_nscenarios;

#endif
