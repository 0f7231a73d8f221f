/*
 * Huge pages: ranges exactly one huge entry (#3731/#3732), splits by map,
 * take_next and protect_next with the child's stride at every level (#3920),
 * find_next and query inside huge mappings; every node, a split's child
 * included, announced to the platform before any store into it.
 */
#include <stdlib.h>

#include "check_main.h"
#include "pt_test_util.h"

static struct pt_page_table pt;
static void setup(void) { util_table_init(&pt, &pt_user_config_1g, 2048); }
static void teardown(void) { util_table_fini(&pt); }

/* Untracked "physical" addresses far outside the arena. */
#define PA_1G (64 * GiB)
#define PA_2M (3 * GiB + 6 * MiB)

static const pt_pte_t *ptes_of(pt_paddr_t node)
{
    return pt_host_frame_ptr(&hp, node);
}

/* The node at `level` on va's path (ck_asserts the path exists). */
static pt_paddr_t node_at(pt_vaddr_t va, int level)
{
    pt_paddr_t node = pt.root;
    for (int l = PT_NR_LEVELS; l > level; l--) {
        pt_pte_t pte = ptes_of(node)[pt_index(va, l)];
        ck_assert_msg(pt_pte_is_table(pte), "no level-%d node on the path of %#llx", l - 1,
                      (unsigned long long)va);
        node = pt_pte_table_paddr(pte);
    }
    return node;
}

START_TEST(range_equal_to_one_2m_entry_maps_huge)
{
    struct pt_cursor c;
    struct pt_frag f;
    ck_assert_int_eq(pt_cursor_new(&c, &pt, 6 * MiB, 8 * MiB), PT_OK);
    ck_assert_int_eq(c.guard_level, 2);
    struct pt_item it = { PA_2M, 2, util_prop(PT_RW), false };
    ck_assert_int_eq(pt_cursor_map(&c, &it, &f), 0);
    ck_assert_uint_eq(pt_cursor_va(&c), 8 * MiB);
    pt_cursor_drop(&c);
    struct pt_query q = util_query(&pt, 7 * MiB + 0x3000);
    ck_assert(q.mapped);
    ck_assert_int_eq(q.item.level, 2);
    ck_assert_uint_eq(q.item.pa, PA_2M);
    ck_assert(!q.item.tracked);
    ck_assert_uint_eq(q.start, 6 * MiB);
    ck_assert_uint_eq(q.end, 8 * MiB);
}
END_TEST

START_TEST(range_equal_to_one_1g_entry_maps_huge)
{
    struct pt_cursor c;
    struct pt_frag f;
    ck_assert_int_eq(pt_cursor_new(&c, &pt, 5 * GiB, 6 * GiB), PT_OK);
    ck_assert_int_eq(c.guard_level, 3);
    struct pt_item it = { PA_1G, 3, util_prop(PT_RWX), false };
    ck_assert_int_eq(pt_cursor_map(&c, &it, &f), 0);
    pt_cursor_drop(&c);
    struct pt_query q = util_query(&pt, 5 * GiB + 123 * MiB);
    ck_assert(q.mapped);
    ck_assert_int_eq(q.item.level, 3);
    ck_assert_uint_eq(q.item.pa, PA_1G);
    ck_assert_uint_eq(q.start, 5 * GiB);
    /* The 2 MiB-max config refuses level 3. */
    struct pt_page_table u2;
    ck_assert_int_eq(pt_create(&u2, mem, &pt_user_config), PT_OK);
    ck_assert_int_eq(pt_cursor_new(&c, &u2, 5 * GiB, 6 * GiB), PT_OK);
    ck_assert_int_eq(pt_cursor_map(&c, &it, &f), PT_ERR_BAD_LEVEL);
    pt_cursor_drop(&c);
    pt_destroy(&u2);
}
END_TEST

/* Check the 512 leaves a split of (pa, level) produced in `node`, skipping
 * index `skip` (which the operation changed). */
static void check_split_node(pt_paddr_t node, int level, pt_paddr_t pa, struct pt_prop prop,
                             unsigned skip)
{
    ck_assert_uint_eq(pt_frame_meta(mem, node)->level, level);
    const pt_pte_t *p = ptes_of(node);
    for (unsigned j = 0; j < PT_NR_ENTRIES; j++) {
        if (j == skip)
            continue;
        ck_assert_msg(pt_pte_is_leaf(p[j]), "entry %u of the level-%d split is not a leaf", j, level);
        ck_assert_uint_eq(pt_pte_leaf_paddr(p[j], level), pa + j * pt_page_size(level));
        ck_assert(pt_prop_eq(pt_pte_prop(p[j]), prop));
        ck_assert(p[j] & PTE_UNTRACKED);
    }
}

/* take_next of one 4 KiB page inside a 2 MiB leaf. */
/* The MMU sets A/D in a live huge leaf while a split fills its child (here:
 * from the PTE-store hook, at the child's first store, i.e. after the split
 * read the leaf and before it replaces it). The split must not lose them:
 * every one of the 512 children carries D. (The core before the atomic
 * update copied the stale leaf and lost D.) */
struct mmu_at_split {
    pt_pte_t *huge_slot;
    pt_paddr_t parent;
    int fired;
};

static void mmu_during_split(void *arg, const struct pt_pte_store *s)
{
    struct mmu_at_split *m = arg;
    if (m->fired || s->node == m->parent)
        return;
    m->fired = 1;
    __atomic_fetch_or(m->huge_slot, PTE_A | PTE_D, __ATOMIC_RELAXED);  /* as the MMU does */
}

START_TEST(split_keeps_mmu_dirty_bit)
{
    util_map_huge(&pt, 6 * MiB, PA_2M, 2, PT_RW);
    pt_paddr_t l2 = node_at(6 * MiB, 2);
    struct mmu_at_split m = { (pt_pte_t *)ptes_of(l2) + pt_index(6 * MiB, 2), l2, 0 };
    pt_host_set_pte_hook(&hp, mmu_during_split, &m);
    struct pt_cursor c;
    struct pt_frag f;
    pt_vaddr_t va = 6 * MiB + 5 * 4096;
    ck_assert_int_eq(pt_cursor_new(&c, &pt, va, va + 4096), PT_OK);
    ck_assert_int_eq(pt_cursor_take_next(&c, 4096, &f), 1);
    pt_cursor_drop(&c);
    pt_host_set_pte_hook(&hp, NULL, NULL);
    ck_assert(m.fired);
    ck_assert_msg(f.item.prop.flags & PT_DIRTY, "the removed page lost the MMU's DIRTY bit");
    pt_frag_release(mem, &f);
    pt_paddr_t l1 = node_at(va, 1);
    for (unsigned j = 0; j < PT_NR_ENTRIES; j++)
        if (j != 5)
            ck_assert_msg(ptes_of(l1)[j] & PTE_D, "child %u of the split lost D", j);
    util_check(&pt);
}
END_TEST

START_TEST(take_part_of_2m_leaf)
{
    util_map_huge(&pt, 6 * MiB, PA_2M, 2, PT_RW);
    struct pt_cursor c;
    struct pt_frag f;
    pt_vaddr_t va = 6 * MiB + 77 * 4096;
    ck_assert_int_eq(pt_cursor_new(&c, &pt, va, va + 4096), PT_OK);
    ck_assert_int_eq(pt_cursor_take_next(&c, 4096, &f), 1);
    pt_cursor_drop(&c);
    ck_assert_int_eq(f.kind, PT_FRAG_MAPPED);
    ck_assert_uint_eq(f.va, va);
    ck_assert_uint_eq(f.len, 4096);
    ck_assert_int_eq(f.item.level, 1);
    ck_assert_uint_eq(f.item.pa, PA_2M + 77 * 4096);
    ck_assert(!f.item.tracked);
    pt_frag_release(mem, &f);
    pt_paddr_t l1 = node_at(va, 1);
    check_split_node(l1, 1, PA_2M, util_prop(PT_RW), 77);
    ck_assert_uint_eq(ptes_of(l1)[77], 0);
    ck_assert_uint_eq(pt_frame_meta(mem, l1)->nr_children, 511);
    ck_assert_uint_eq(util_check(&pt).nr_leaves, 511);
}
END_TEST

/* take_next of one 4 KiB page inside a 1 GiB leaf: two splits, strides
 * 2 MiB then 4 KiB. */
START_TEST(take_part_of_1g_leaf)
{
    util_map_huge(&pt, 5 * GiB, PA_1G, 3, PT_R);
    struct pt_cursor c;
    struct pt_frag f;
    pt_vaddr_t va = 5 * GiB + 300 * MiB + 5 * 4096;  /* 2 MiB index 150, 4 KiB index 5 */
    ck_assert_int_eq(pt_cursor_new(&c, &pt, va, va + 4096), PT_OK);
    ck_assert_int_eq(pt_cursor_take_next(&c, 4096, &f), 1);
    pt_cursor_drop(&c);
    ck_assert_uint_eq(f.item.pa, PA_1G + 300 * MiB + 5 * 4096);
    ck_assert_int_eq(f.item.level, 1);
    pt_frag_release(mem, &f);
    pt_paddr_t l2 = node_at(va, 2), l1 = node_at(va, 1);
    check_split_node(l2, 2, PA_1G, util_prop(PT_R), 150);
    ck_assert(pt_pte_is_table(ptes_of(l2)[150]));
    check_split_node(l1, 1, PA_1G + 150 * 2 * MiB, util_prop(PT_R), 5);
    ck_assert_uint_eq(ptes_of(l1)[5], 0);
    ck_assert_uint_eq(util_check(&pt).nr_leaves, 511 + 511);
}
END_TEST

/* A range that covers a huge leaf whole takes it without splitting. */
START_TEST(take_whole_huge_leaf)
{
    util_map_huge(&pt, 6 * MiB, PA_2M, 2, PT_RW);
    uint64_t live = pt_host_live(&hp);
    struct pt_cursor c;
    struct pt_frag f;
    ck_assert_int_eq(pt_cursor_new(&c, &pt, 4 * MiB, 10 * MiB), PT_OK);
    ck_assert_int_eq(pt_cursor_take_next(&c, 6 * MiB, &f), 1);
    ck_assert_int_eq(f.kind, PT_FRAG_MAPPED);
    ck_assert_int_eq(f.item.level, 2);
    ck_assert_uint_eq(f.va, 6 * MiB);
    ck_assert_uint_eq(f.len, 2 * MiB);
    ck_assert_uint_eq(pt_cursor_va(&c), 8 * MiB);
    pt_cursor_drop(&c);
    ck_assert_uint_eq(pt_host_live(&hp), live);  /* no split node */
}
END_TEST

/* map of a 4 KiB page inside a 2 MiB leaf splits it, then replaces one. */
START_TEST(map_4k_into_huge_splits)
{
    util_map_huge(&pt, 6 * MiB, PA_2M, 2, PT_RW);
    pt_paddr_t pa = util_frame();
    struct pt_cursor c;
    struct pt_frag f;
    pt_vaddr_t va = 6 * MiB + 511 * 4096;
    ck_assert_int_eq(pt_cursor_new(&c, &pt, va, va + 4096), PT_OK);
    struct pt_item it = { pa, 1, util_prop(PT_R), true };
    ck_assert_int_eq(pt_cursor_map(&c, &it, &f), 1);
    pt_cursor_drop(&c);
    ck_assert_int_eq(f.kind, PT_FRAG_MAPPED);
    ck_assert_uint_eq(f.item.pa, PA_2M + 511 * 4096);
    ck_assert(!f.item.tracked);
    pt_frag_release(mem, &f);
    check_split_node(node_at(va, 1), 1, PA_2M, util_prop(PT_RW), 511);
    struct pt_query q = util_query(&pt, va);
    ck_assert_uint_eq(q.item.pa, pa);
    ck_assert(q.item.tracked);
    struct pt_check_result r = util_check(&pt);
    ck_assert_uint_eq(r.nr_leaves, 512);
    ck_assert_uint_eq(r.nr_tracked, 1);
}
END_TEST

static void to_ro(struct pt_prop *p, void *arg)
{
    (void)arg;
    p->flags &= (uint8_t)~PT_W;
}

/* protect_next over part of a 1 GiB leaf splits down to the range and
 * changes only it; the stores are the split fills plus one. */
START_TEST(protect_part_of_huge)
{
    util_map_huge(&pt, 5 * GiB, PA_1G, 3, PT_RW);
    uint64_t stores = 0;
    pt_host_set_pte_hook(&hp, util_count_stores, &stores);
    struct pt_cursor c;
    pt_vaddr_t s, e;
    pt_vaddr_t va = 5 * GiB + 4 * MiB;  /* the whole 2 MiB entry 2 */
    ck_assert_int_eq(pt_cursor_new(&c, &pt, va, va + 2 * MiB), PT_OK);
    ck_assert_int_eq(pt_cursor_protect_next(&c, 2 * MiB, to_ro, NULL, &s, &e), 1);
    ck_assert_uint_eq(s, va);
    ck_assert_uint_eq(e, va + 2 * MiB);  /* one 2 MiB leaf after one split */
    ck_assert_int_eq(pt_cursor_protect_next(&c, 0, to_ro, NULL, &s, &e), 0);
    pt_cursor_drop(&c);
    pt_host_set_pte_hook(&hp, NULL, NULL);
    ck_assert_uint_eq(stores, 512 + 1 + 1);
    pt_paddr_t l2 = node_at(va, 2);
    check_split_node(l2, 2, PA_1G, util_prop(PT_RW), 2);
    ck_assert(pt_prop_eq(pt_pte_prop(ptes_of(l2)[2]), util_prop(PT_R)));
    ck_assert_uint_eq(pt_pte_leaf_paddr(ptes_of(l2)[2], 2), PA_1G + 4 * MiB);
}
END_TEST

/* find_next inside a huge mapping returns the current va itself. */
START_TEST(find_next_inside_huge)
{
    util_map_huge(&pt, 6 * MiB, PA_2M, 2, PT_RW);
    struct pt_cursor c;
    pt_vaddr_t found = 0;
    ck_assert_int_eq(pt_cursor_new(&c, &pt, 6 * MiB + 0x5000, 8 * MiB), PT_OK);
    ck_assert_int_eq(pt_cursor_find_next(&c, 0x1000, &found), 1);
    ck_assert_uint_eq(found, 6 * MiB + 0x5000);
    struct pt_query q;
    ck_assert_int_eq(pt_cursor_query(&c, &q), PT_OK);
    ck_assert_uint_eq(q.start, 6 * MiB);
    ck_assert_uint_eq(q.end, 8 * MiB);
    pt_cursor_drop(&c);
    ck_assert_uint_eq(util_check(&pt).nr_leaves, 1);  /* find never splits */
}
END_TEST

/* A 2 MiB map over a 1 GiB leaf splits once (stride 2 MiB) and replaces
 * one 2 MiB entry. */
START_TEST(map_2m_into_1g_splits)
{
    util_map_huge(&pt, 5 * GiB, PA_1G, 3, PT_R);
    struct pt_cursor c;
    struct pt_frag f;
    pt_vaddr_t va = 5 * GiB + 1022 * MiB;  /* index 511 */
    ck_assert_int_eq(pt_cursor_new(&c, &pt, va, va + 2 * MiB), PT_OK);
    struct pt_item it = { PA_2M, 2, util_prop(PT_RW), false };
    ck_assert_int_eq(pt_cursor_map(&c, &it, &f), 1);
    pt_cursor_drop(&c);
    ck_assert_uint_eq(f.item.pa, PA_1G + 1022 * MiB);
    ck_assert_int_eq(f.item.level, 2);
    pt_frag_release(mem, &f);
    check_split_node(node_at(va, 2), 2, PA_1G, util_prop(PT_R), 511);
    ck_assert_uint_eq(util_query(&pt, va).item.pa, PA_2M);
}
END_TEST

/* The platform hears of every node the core allocates (node_allocated): zeroed, at its level,
 * once, before any store into it and before the store that links it -- also a split's child,
 * which is filled before it is linked. (The TLB layer turns this into NODE_ALLOC.) */
#define MAX_ANNOUNCED 16
static pt_paddr_t announced[MAX_ANNOUNCED];
static int announced_level[MAX_ANNOUNCED];
static unsigned nannounced;

static int announced_as(pt_paddr_t node)
{
    for (unsigned i = 0; i < nannounced; i++)
        if (announced[i] == node)
            return announced_level[i];
    return 0;
}

static void on_node_allocated(void *ctx, pt_paddr_t pa, int level)
{
    (void)ctx;
    const pt_pte_t *e = ptes_of(pa);
    for (unsigned i = 0; i < PT_NR_ENTRIES; i++)
        ck_assert_msg(e[i] == 0, "node %#llx announced with entry %u = %#llx", (unsigned long long)pa, i,
                      (unsigned long long)e[i]);
    ck_assert_int_eq(announced_as(pa), 0);
    ck_assert_uint_lt(nannounced, MAX_ANNOUNCED);
    announced[nannounced] = pa;
    announced_level[nannounced++] = level;
}

static void store_into_announced(void *arg, const struct pt_pte_store *s)
{
    (void)arg;
    ck_assert_msg(announced_as(s->node) == s->level, "store into node %#llx (level %d) not announced",
                  (unsigned long long)s->node, s->level);
    if (pt_pte_is_table(s->new_pte))
        ck_assert_int_eq(announced_as(pt_pte_table_paddr(s->new_pte)), s->level - 1);
}

START_TEST(nodes_are_announced_before_their_stores)
{
    struct pt_page_table t;
    struct pt_cursor c;
    struct pt_frag f;
    nannounced = 0;
    hp.ops.node_allocated = on_node_allocated;
    pt_host_set_pte_hook(&hp, store_into_announced, NULL);
    ck_assert_int_eq(pt_create(&t, mem, &pt_user_config_1g), PT_OK);
    util_map4k(&t, 0x5000, PT_RW);                      /* root -> L3 -> L2 -> L1 */
    util_map_huge(&t, 5 * GiB, PA_1G, 3, PT_R);
    pt_vaddr_t va = 5 * GiB + 0x3000;                   /* splits the 1 GiB, then a 2 MiB leaf */
    ck_assert_int_eq(pt_cursor_new(&c, &t, va, va + 4096), PT_OK);
    struct pt_item it = { util_frame(), 1, util_prop(PT_RW), true };
    ck_assert_int_eq(pt_cursor_map(&c, &it, &f), 1);
    pt_cursor_drop(&c);
    pt_frag_release(mem, &f);
    pt_host_set_pte_hook(&hp, NULL, NULL);
    hp.ops.node_allocated = NULL;
    ck_assert_uint_eq(nannounced, 6);                   /* root, L3, L2, L1; the two split children */
    ck_assert_uint_eq(util_check(&t).nr_nodes, nannounced);
    pt_destroy(&t);
}
END_TEST

CHECK_PROGRAM_ONE_FIXTURE_TCASE("pagetable_huge", "huge", CHECK_TIMEOUT_DEFAULT, setup, teardown,
                                range_equal_to_one_2m_entry_maps_huge,
                                range_equal_to_one_1g_entry_maps_huge, take_part_of_2m_leaf,
                                take_part_of_1g_leaf, take_whole_huge_leaf,
                                map_4k_into_huge_splits, protect_part_of_huge,
                                find_next_inside_huge, map_2m_into_1g_splits,
                                nodes_are_announced_before_their_stores,
                                split_keeps_mmu_dirty_bit)
