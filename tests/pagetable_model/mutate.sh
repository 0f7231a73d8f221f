#!/usr/bin/env bash
# Mutation check of the differential test: does it catch small bugs in the
# page-table core? For each mutation below, copy pagetable/ to a temporary
# directory, apply one sed edit, build the differential test against the
# copy with gcc, run it, and report KILLED (the test failed, as it should),
# SURVIVED (the bug went unnoticed) or STALE (the edit no longer matches the
# source; update the list). Not a CTest test: it compiles the core 20+ times.
#
# Usage: tests/pagetable_model/mutate.sh [OPS]   (default 20000 ops per mutant)
#        MUTATE_ONLY=REGEX tests/pagetable_model/mutate.sh   (only the mutations whose
#        description matches the extended regular expression)
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
ops=${1:-20000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
t=$root/tests/pagetable_model
checklibs=$(pkg-config --libs check) || { echo "mutate.sh: pkg-config check not found" >&2; exit 1; }

# file %% sed expression %% description
mutations=(
  "src/cursor.c%%s/uint64_t stride = pt_page_size(level - 1);/uint64_t stride = PT_BASE_PAGE_SIZE;/%%split stride = 4 KiB at every level (#3920)"
  "src/cursor.c%%0,/nr_children--;/s/nr_children--;/nr_children += 0;/%%take_next forgets nr_children--"
  "src/cursor.c%%s/new_pte != pte \&\&/1 \&\&/%%protect writes even when unchanged"
  "src/lock.c%%s/__atomic_store_n(\&m->stray, 1, __ATOMIC_RELAXED);/(void)0;/%%stray flag not set"
  "src/cursor.c%%s/ | (item->tracked ? 0 : PTE_UNTRACKED);/;/%%map forgets the untracked marker"
  "src/cursor.c%%s/(pte \& PTE_UNTRACKED);/0;/%%split forgets the untracked marker"
  "src/lock.c%%s/level == 1 \&\& pt_pte_is_leaf(pte) \&\& pt_pte_leaf_tracked(pte)/level == 1 \&\& pt_pte_is_leaf(pte)/%%num_frames counts untracked leaves"
  "src/frame.c%%s/} else if (level == 1 \&\& pt_pte_leaf_tracked(pte)) {/} else if (0) {/%%node drop forgets tracked references"
  "src/lock.c%%s/^        pt_node_unlock(mem, child);$/        (void)0;/%%unlock skips children"
  "src/cursor.c%%s/->nr_children = PT_NR_ENTRIES;/->nr_children = PT_NR_ENTRIES - 1;/%%split nr_children off by one"
  "src/cursor.c%%s/->nr_children == 0)/->nr_children <= 1)/%%find skips nodes with one child"
  "src/cursor.c%%s/out->mapped = pt_pte_is_leaf(pte);/out->mapped = pt_pte_is_hw_present(pte);/%%query: mapped = hardware-present"
  "src/cursor.c%%s/out->start = c->va \& ~(size - 1);/out->start = c->va;/%%query start not aligned"
  "src/cursor.c%%0,/out->node_level = level - 1;/s//out->node_level = level;/%%stray frag node level wrong"
  "src/cursor.c%%0,/            pt_meta_fast(mem, node)->nr_children++;/s//            (void)0;/%%map descent forgets nr_children++"
  "src/frame.c%%s/^    zero_frame(mem, p);/    (void)0;/%%allocation does not zero"
  "src/frame.c%%s/    mem->ops->release_frame(mem->ctx, pa);/    (void)0;/%%frames never released"
  "src/cursor.c%%s/c->level = c->guard_level;  \/\* exhausted/(void)0;  \/* exhausted/%%jump from an exhausted cursor keeps a stale level"
  "src/cursor.c%%s/(level != PT_NR_LEVELS || c->pt->cfg->top_can_unmap)/(1)/%%kernel top level detached"
  "src/cursor.c%%s/(level != PT_NR_LEVELS || c->pt->cfg->top_can_unmap)/(level != PT_NR_LEVELS)/%%user top level never detached"
  "src/cursor.c%%s/if (a->mode == TAKE \&\& fits \&\&/if (a->mode == TAKE \&\& fits \&\& level < 3 \&\&/%%level-2 subtrees never detached"
  "src/cursor.c%%s/bool fits = c->va == es \&\& es + (size - 1) <= last;/bool fits = c->va == es \&\& es + (size - 1) <= last + PT_BASE_PAGE_SIZE;/%%an entry one page longer than the range still fits"
  "src/cursor.c%%0,/if (__builtin_expect(next >= c->l1_end, 0))/s//if (__builtin_expect(next > c->l1_end, 0))/%%map fast path runs past the end of its node"
  "src/cursor.c%%s/? node_last + 1 : c->barrier_end;/? node_last + 1 + PT_BASE_PAGE_SIZE : c->barrier_end;/%%level-1 fast paths believe the node one page longer"
  "src/cursor.c%%s/(pt_index(va, 1) == 0 \&\& len >= pt_page_size(2))/(0)/%%take_next fast path never removes a whole node"
  "src/cursor.c%%s/    if (new_pte != old \&\& mem->ops->pte_stored)/    if (mem->ops->pte_stored)/%%protect fast path reports unchanged PTEs"
  "src/cursor.c%%s/len - 1 < c->barrier_end - va;/len - 1 < c->barrier_end - va + PT_BASE_PAGE_SIZE;/%%level-1 fast paths accept a length one page past the barrier"
  "src/cursor.c%%s/    clear = (uint8_t)(clear \& ~set);  \/\* set wins \*\//    (void)0;/%%protect_flags: clear wins over set"
  "src/cursor.c%%s/| ((set \& PT_X) ? PTE_NX : 0);/| 0;/%%protect_flags: setting X leaves NX set"
  "src/cursor.c%%s/if (!pt_pte_is_leaf(pte) || new_pte == pte)/if (new_pte == pte)/%%protect_flags writes absent entries too"
  "src/cursor.c%%s/(hi - first + 1) << PT_BASE_PAGE_SHIFT/(hi - first) << PT_BASE_PAGE_SHIFT/%%protect_flags: changed range misses its last page"
  "src/cursor.c%%s/if (item->pa >= PT_PHYS_ADDR_LIMIT)/if (0)/; s/^#define PA_BAD_4K (PAGE_MASK | ~(PT_PHYS_ADDR_LIMIT - 1))/#define PA_BAD_4K PAGE_MASK/%%physical-address width not checked"
  "src/cursor.c%%s/return rc != 0 \&\& rc <= PT_REF_MAX \&\&/return 1 || (rc != 0 \&\& rc <= PT_REF_MAX) \&\&/%%tracked-frame validation off"
  "src/cursor.c%%s/    out->end = va + PT_BASE_PAGE_SIZE;/    out->end = va + 2 * PT_BASE_PAGE_SIZE;/%%query fast path: end one page too far"
  "src/cursor.c%%/^int pt_cursor_query/,/^}/s/!leaf_decoded(c, pte)/!pt_pte_is_leaf(pte)/%%query fast path trusts a stale decode cache"
  "src/cursor.c%%s/l1 = (pt_pte_t \*)(mem->direct_map + pt_pte_table_paddr(e));/l1 = (pt_pte_t *)(mem->direct_map + pt_pte_table_paddr(e) + 8);/%%query fast path: child node address off by one entry"
  "src/cursor.c%%s/if (!pt_pte_is_table(e) || !mem->has_direct_map)/if (pt_pte_is_absent(e) || !mem->has_direct_map)/%%query fast path steps into a huge leaf as if it were a table"
  "src/cursor.c%%s/if (!pt_pte_is_table(e) || !mem->has_direct_map)/if (!pt_pte_is_table(e))/%%query fast path steps down without a direct map"
  "src/cursor.c%%s/^#define DEC_BITS (PTE_LEAF | PT_PROP_BITS | PTE_UNTRACKED)/#define DEC_BITS (PT_PROP_BITS | PTE_UNTRACKED)/%%fast paths take a non-leaf whose bits match the decode cache"
  "src/cursor.c%%s/^#define PROP_WORD_MASK 0xffffffu/#define PROP_WORD_MASK 0xffffu/%%protect fast path compares two bytes of the op's property"
  "src/cursor.c%%s/    c->dec_word = prop_word_of(c->dec_item.prop);/    (void)0;/%%protect fast path hands op a stale property"
  "src/cursor.c%%s/ \&\& !prot_miss(c, p.prop))/ \&\& (prot_miss(c, p.prop), 0))/%%protect fast path accepts an invalid property"
  "src/cursor.c%%s/    out->item.level = level;/    (void)0;/%%MAPPED frags always say level 1"
  "src/cursor.c%%s/        if (frag->item.tracked)/        if (0)/%%frag release forgets tracked references"
  "src/internal.h%%s/return (pt_pte_t \*)(mem->direct_map + node);/return (pt_pte_t *)(mem->direct_map + (node \& ~0x1000ull));/%%direct map drops a bit of the node address"
)

killed=0 survived=0 stale=0
for m in "${mutations[@]}"; do
  file=${m%%\%\%*}; rest=${m#*\%\%}; expr=${rest%\%\%*}; desc=${rest##*\%\%}
  [[ -n ${MUTATE_ONLY:-} ]] && ! grep -qE -- "$MUTATE_ONLY" <<<"$desc" && continue
  w=$work/m
  rm -rf "$w" && mkdir -p "$w" && cp -r "$root/pagetable" "$w/"
  sed -i "$expr" "$w/pagetable/$file"
  if cmp -s "$root/pagetable/$file" "$w/pagetable/$file"; then
    echo "STALE     $desc"; stale=$((stale + 1)); continue
  fi
  srcs=$(ls "$w"/pagetable/src/*.c "$w/pagetable/walk.c" "$w/pagetable/host_platform.c")
  # shellcheck disable=SC2086
  if ! gcc -std=gnu17 -O2 -g -I"$w/pagetable/include" -I"$w/pagetable/src" -I"$t" -I"$root/tests/common" -o "$w/diff" \
       $srcs "$t"/diff_test.c "$t"/diff_run.c "$t"/diff_ops.c "$t"/diff_check.c "$t"/model.c "$root"/tests/common/check_main.c \
       $checklibs 2>"$w/cc.log"; then
    echo "STALE     $desc (does not compile: $(head -1 "$w/cc.log"))"; stale=$((stale + 1)); continue
  fi
  out=$(CK_FORK=yes timeout 300 "$w/diff" --seed 5 --ops "$ops" --full-every 500 2>&1)
  if grep -q "Checks: 1, Failures: 0, Errors: 0" <<<"$out"; then
    echo "SURVIVED  $desc"; survived=$((survived + 1))
  else
    why=$(grep -m1 -E 'difference:|pagetable:|runtime error|signal' <<<"$out" | sed 's/^ *//')
    echo "KILLED    $desc :: ${why:0:150}"; killed=$((killed + 1))
  fi
done
echo "mutate.sh: $killed killed, $survived survived, $stale stale (of ${#mutations[@]}${MUTATE_ONLY:+, only those matching $MUTATE_ONLY})"
