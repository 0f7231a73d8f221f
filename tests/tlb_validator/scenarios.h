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
extern const unsigned tlb_nscenarios;

#endif
