/*
 * The address space most scenarios start from (scenarios*.c): root R ->
 * L3 -> L2 -> L1, where L1[i] maps VA i * 4 KiB, and the frames they map.
 * One definition, so every scenario file builds the same tree.
 */
#ifndef TESTS_TLB_VALIDATOR_SCENARIO_SPACE_H
#define TESTS_TLB_VALIDATOR_SCENARIO_SPACE_H

#include "stream_builder.h"

#define R   0x100000ull
#define L3  0x101000ull
#define L2  0x102000ull
#define L1  0x103000ull
#define L1B 0x104000ull
#define R2  0x110000ull
#define F   0x200000ull
#define F2  0x201000ull
#define VA(i) ((uint64_t)(i) * 4096)
#define ALL2 3ull   /* CPUs 0 and 1 */

/* Starts a stream for `ncpus` CPUs with the tree R -> L3 -> L2 -> L1 built
 * as a version-2 producer builds it (each node allocated, NODE_ALLOC, before
 * it is stored to or linked; no leaves yet); every CPU in the mask `loaded`
 * joins R and loads it. */
static inline void sc_setup(struct sb *b, uint32_t ncpus, uint64_t loaded)
{
    sb_init(b, ncpus);
    sb_node_alloc(b, 0, 0, R, 4);
    sb_node_alloc(b, 0, R, L3, 3);
    sb_node_alloc(b, 0, R, L2, 2);
    sb_node_alloc(b, 0, R, L1, 1);
    sb_store(b, 0, R, R, 4, 0, sb_table(L3));
    sb_store(b, 0, R, L3, 3, 0, sb_table(L2));
    sb_store(b, 0, R, L2, 2, 0, sb_table(L1));
    for (uint32_t c = 0; c < ncpus; c++)
        if (loaded & (1ull << c)) {
            sb_activate(b, c, R, true);
            sb_cr3(b, c, R, 0, false);
        }
}

#endif /* TESTS_TLB_VALIDATOR_SCENARIO_SPACE_H */
