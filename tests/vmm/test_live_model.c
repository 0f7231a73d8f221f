/*
 * Unit tests of host inspection's tree comparison (vmm/inspect.c): page
 * tables laid out in a RAM buffer, a validator fed the stream that built
 * them, and the comparison (A/D ignored) of every entry of a node the stream
 * allocated (NODE_ALLOC) and of every entry the stream wrote in the others,
 * of CR3 with the root the events say the CPU loaded, and of table
 * pointers that leave RAM.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "inspect.h"
#include "pa_set.h"
#include "stream_builder.h"
#include "pagetable/x86_64.h"

#define MEM (4ull << 20)
#define R   0x100000ull
#define L3  0x101000ull
#define L2  0x102000ull
#define L1  0x103000ull
#define R2  0x104000ull
#define F   0x200000ull
#define VA(i) ((uint64_t)(i) * 4096)

struct fixture {
    uint8_t *ram;
    struct sb b;
    struct tlb_validator *val;
    struct vmm_pa_set written;
    struct vmm_mismatch m[VMM_MAX_MISMATCHES];
    struct vmm_inspect_out out;
};

/* Stores through the builder, into RAM, and into the written set. */
static void store(struct fixture *x, uint64_t node, int level, unsigned idx, uint64_t val)
{
    sb_store(&x->b, 0, R, node, level, idx, val);
    memcpy(x->ram + node + 8 * idx, &val, 8);
    ck_assert(vmm_pa_set_add(&x->written, node + 8 * idx));
}

/* The tree R -> L3 -> L2 -> L1 with a page at VA 5. `allocated`: the stream allocates every node
 * (NODE_ALLOC) before building it, as the guest does; else the nodes predate the stream. */
static void build(struct fixture *x, bool allocated)
{
    struct tlb_validator_options o = tlb_validator_default_options(1);

    memset(x, 0, sizeof(*x));
    x->ram = calloc(1, MEM);
    vmm_pa_set_init(&x->written);
    sb_init(&x->b, 1);
    for (uint64_t node = R, level = 4; allocated && node <= L1; node += 0x1000, level--)
        sb_node_alloc(&x->b, 0, R, node, (int)level);
    store(x, R, 4, 0, sb_table(L3));
    store(x, L3, 3, 0, sb_table(L2));
    store(x, L2, 2, 0, sb_table(L1));
    sb_activate(&x->b, 0, R, true);
    sb_cr3(&x->b, 0, R, 0, false);
    store(x, L1, 1, 5, sb_leaf(F, true, false));
    o.adopt_unknown_entries = true;
    x->val = tlb_validator_create(&o);
    for (size_t i = 0; i < x->b.n; i++)
        ck_assert_int_eq(tlb_validator_feed(x->val, &x->b.ev[i]), TLB_VERDICT_OK);
    x->out = (struct vmm_inspect_out){ .m = x->m, .max = VMM_MAX_MISMATCHES };
}

static void setup(struct fixture *x) { build(x, false); }

static void teardown(struct fixture *x)
{
    tlb_validator_destroy(x->val);
    sb_free(&x->b);
    vmm_pa_set_free(&x->written);
    free(x->ram);
}

static void poke(struct fixture *x, uint64_t node, unsigned idx, uint64_t val)
{
    memcpy(x->ram + node + 8 * idx, &val, 8);
}

/* Exactly one mismatch, on CPU 0, for entry (node, index) of a level-1 node, whose report names
 * `where`. */
static void expect_one_mismatch(const struct fixture *x, uint64_t node, unsigned index, uint64_t guest,
                                uint64_t model, const char *where)
{
    ck_assert_uint_eq(x->out.count, 1);
    ck_assert_uint_eq(x->m[0].cpu, 0);
    ck_assert_uint_eq(x->m[0].node, node);
    ck_assert_uint_eq(x->m[0].index, index);
    ck_assert_int_eq(x->m[0].level, 1);
    ck_assert_uint_eq(x->m[0].guest, guest);
    ck_assert_uint_eq(x->m[0].model, model);
    ck_assert_msg(strstr(x->m[0].what, where), "%s", x->m[0].what);
}

START_TEST(tree_equal_to_model)
{
    struct fixture x;

    setup(&x);
    vmm_inspect_tree(x.ram, MEM, x.val, &x.written, 0, R, &x.out);
    ck_assert_uint_eq(x.out.count, 0);
    ck_assert_uint_eq(x.out.compared, 4);
    ck_assert_uint_eq(x.out.nsamples, 1);
    ck_assert_uint_eq(x.out.samples[0], VA(5));
    teardown(&x);
}
END_TEST

START_TEST(ad_bits_are_ignored)
{
    struct fixture x;

    setup(&x);
    poke(&x, L1, 5, sb_leaf(F, true, false) | PTE_A | PTE_D);
    poke(&x, L2, 0, sb_table(L1) | PTE_A);
    vmm_inspect_tree(x.ram, MEM, x.val, &x.written, 0, R | 0x8, &x.out);
    ck_assert_uint_eq(x.out.count, 0);
    teardown(&x);
}
END_TEST

START_TEST(store_without_event_is_a_mismatch)
{
    struct fixture x;
    uint64_t changed = sb_leaf(F + 0x1000, true, false);

    setup(&x);
    poke(&x, L1, 5, changed);                 /* the guest wrote it, no event said so */
    vmm_inspect_tree(x.ram, MEM, x.val, &x.written, 0, R, &x.out);
    expect_one_mismatch(&x, L1, 5, changed, sb_leaf(F, true, false), "L1 node 0x103000 entry 5 (va 0x5000)");
    teardown(&x);
}
END_TEST

/* In nodes the stream did not allocate (boot-era), an entry the stream never wrote is not in the
 * model: counted, not compared. */
START_TEST(untraced_entries_are_not_compared)
{
    struct fixture x;

    setup(&x);
    ck_assert(!tlb_validator_node_whole(x.val, L1));
    poke(&x, L1, 6, sb_leaf(F + 0x2000, true, false));   /* written before the attach */
    vmm_inspect_tree(x.ram, MEM, x.val, &x.written, 0, R, &x.out);
    ck_assert_uint_eq(x.out.count, 0);
    ck_assert_uint_eq(x.out.compared, 4);
    ck_assert_uint_eq(x.out.unmodelled, 4 * 512 - 4);
    ck_assert_uint_eq(x.out.nsamples, 2);
    teardown(&x);
}
END_TEST

/* In a tree the stream allocated, every entry is compared: 4 nodes of 512 entries. */
START_TEST(allocated_tree_is_compared_whole)
{
    struct fixture x;

    build(&x, true);
    vmm_inspect_tree(x.ram, MEM, x.val, &x.written, 0, R, &x.out);
    ck_assert_uint_eq(x.out.count, 0);
    ck_assert_uint_eq(x.out.compared, 4 * 512);
    ck_assert_uint_eq(x.out.unmodelled, 0);
    teardown(&x);
}
END_TEST

/* ...so a store the guest made without an event, into an entry the stream never wrote, is a
 * mismatch against the model's 0 (the gap this closes), reported like any other. */
START_TEST(untraced_store_into_allocated_node_is_a_mismatch)
{
    struct fixture x;
    uint64_t planted = sb_leaf(F + 0x2000, false, false);

    build(&x, true);
    ck_assert(tlb_validator_node_whole(x.val, L1));
    poke(&x, L1, 6, planted);
    vmm_inspect_tree(x.ram, MEM, x.val, &x.written, 0, R, &x.out);
    expect_one_mismatch(&x, L1, 6, planted, 0, "L1 node 0x103000 entry 6 (va 0x6000): guest memory has "
                                               "0x00000000002020a5, the model has 0x0000000000000000");
    teardown(&x);
}
END_TEST

START_TEST(cr3_not_the_loaded_root)
{
    struct fixture x;

    setup(&x);
    vmm_inspect_tree(x.ram, MEM, x.val, &x.written, 0, R2, &x.out);
    ck_assert_uint_ge(x.out.count, 1);
    ck_assert_uint_eq(x.m[0].guest, R2);
    ck_assert_uint_eq(x.m[0].model, R);
    ck_assert_msg(strstr(x.m[0].what, "CR3 holds root 0x104000 but the events say this CPU "
                                      "loaded 0x100000"), "%s", x.m[0].what);
    teardown(&x);
}
END_TEST

START_TEST(table_pointer_outside_ram)
{
    struct fixture x;

    setup(&x);
    poke(&x, L3, 1, sb_table(64ull << 30));
    vmm_inspect_tree(x.ram, MEM, x.val, &x.written, 0, R, &x.out);
    ck_assert_uint_eq(x.out.count, 1);
    ck_assert_msg(strstr(x.m[0].what, "lies outside guest RAM"), "%s", x.m[0].what);
    teardown(&x);
}
END_TEST

CHECK_PROGRAM_ONE_TCASE("vmm_live_model", "model", CHECK_TIMEOUT_DEFAULT,
                        tree_equal_to_model, ad_bits_are_ignored,
                        store_without_event_is_a_mismatch, untraced_entries_are_not_compared,
                        allocated_tree_is_compared_whole,
                        untraced_store_into_allocated_node_is_a_mismatch,
                        cr3_not_the_loaded_root, table_pointer_outside_ram)
