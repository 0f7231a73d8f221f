#!/usr/bin/env bash
# Mutation check of the interleaving test (test_interleave.c): plant each
# ordering bug that lock.c's comment names (O1..O4) in a copy of the core,
# build the test against the copy and run it, and report KILLED (the test
# failed, as it must) or SURVIVED. Each mutant is built twice: as the host
# library is (debug assertions on) and with -DPT_NO_DEBUG_CHECKS, to show
# the test catches it without the assertion's help; O1/O2 (memory orderings
# that x86 gives anyway) are built with -fsanitize=thread, where the test's
# lock-free walk through another thread's new nodes is a reported race.
# The last mutations break the updates' atomicity against the MMU's A/D
# bits (pt_pte_write and the protect fast path) and run the tests that
# race a simulated MMU: test_cursor.c (deterministic: the MMU writes from
# inside protect_next's op) or test_ad_race.c (an MMU thread).
# Not a CTest test (it compiles the core 13 times, ~2 minutes).
#
# Usage: tests/pagetable/mutate_ordering.sh
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
t=$root/tests/pagetable
checklibs=$(pkg-config --libs check) || { echo "mutate_ordering.sh: pkg-config check not found" >&2; exit 1; }

# file %% sed expression %% extra flags %% description [%% test source, default test_interleave.c]
mutations=(
  "src/lock.c%%/^    __atomic_store_n(\&m->stray, 1, __ATOMIC_RELAXED);$/d; s/^    unlock_detached(mem, node);$/    unlock_detached(mem, node);\n    __atomic_store_n(\&m->stray, 1, __ATOMIC_RELAXED);/%%%%O3: unlock a detached node before marking it stray"
  "src/lock.c%%/^    __atomic_store_n(\&m->stray, 1, __ATOMIC_RELAXED);$/d; s/^    unlock_detached(mem, node);$/    unlock_detached(mem, node);\n    __atomic_store_n(\&m->stray, 1, __ATOMIC_RELAXED);/%%-DPT_NO_DEBUG_CHECKS%%O3: the same, debug assertions off"
  "src/lock.c%%s/if (pt_node_is_stray(mem, node))  \/\* O3 \*\//if (0)/%%-DPT_NO_DEBUG_CHECKS%%O3: the walk never checks stray after locking"
  "src/lock.c%%s/if (pt_pte_is_absent(pt_pte_load(ptes, i))) {  \/\* O4/if (1) {  \/* O4/%%%%O4: no re-read under the lock before allocating"
  "src/lock.c%%s/if (pt_pte_is_absent(pt_pte_load(ptes, i))) {  \/\* O4/if (1) {  \/* O4/%%-DPT_NO_DEBUG_CHECKS%%O4: the same, debug assertions off"
  "src/internal.h%%0,/__atomic_store_n(slot, new_pte, __ATOMIC_RELEASE);/s//__atomic_store_n(slot, new_pte, __ATOMIC_RELAXED);/%%-fsanitize=thread%%O1: relaxed publication of a new child (TSan)"
  "src/lock.c%%s/pt_pte_load_acquire(ptes, i);  \/\* O2 \*\//pt_pte_load(ptes, i);/%%-fsanitize=thread%%O2: relaxed loads on the lock-free walk (TSan)"
  "src/cursor.c%%s/^    pt_pte_t cur = pte;$/    pt_pte_t cur = pt_pte_load(slot, 0);/%%%%A/D: protect fast path updates the entry as re-read after op, not as op saw it%%test_cursor.c"
  "src/cursor.c%%s/new_pte = pt_pte_keep_hw_ad(seen, cur, new_pte);/pt_pte_lost_race(seen, cur);/%%%%A/D: protect fast path's retry drops the bits the MMU set%%test_cursor.c"
  "src/internal.h%%s/(\*old \& PTE_HW_AD) == PTE_HW_AD/(*old \& PTE_HW_AD) != 0/%%%%A/D: plain store over a present entry with A or D (not both) set%%test_ad_race.c"
  "src/lock.c%%s/^no line matches this: control run$//%%-fsanitize=thread%%(control: the unmutated core under TSan must pass)"
  "src/lock.c%%s/^no line matches this: control run$//%%%%(control: test_cursor.c must pass on the unmutated core)%%test_cursor.c"
  "src/lock.c%%s/^no line matches this: control run$//%%%%(control: test_ad_race.c must pass on the unmutated core)%%test_ad_race.c"
)

killed=0 survived=0
for m in "${mutations[@]}"; do
  IFS='|' read -r file expr flags desc test <<<"$(sed 's/%%/|/g' <<<"$m")"
  test=${test:-test_interleave.c}
  w=$work/m
  rm -rf "$w" && mkdir -p "$w" && cp -r "$root/pagetable" "$w/"
  sed -i "$expr" "$w/pagetable/$file"
  control=0
  if cmp -s "$root/pagetable/$file" "$w/pagetable/$file"; then
    case $desc in "(control"*) control=1 ;; *) echo "STALE     $desc"; continue ;; esac
  fi
  srcs=$(ls "$w"/pagetable/src/*.c "$w/pagetable/walk.c" "$w/pagetable/host_platform.c")
  # shellcheck disable=SC2086
  if ! gcc -std=gnu17 -O2 -g $flags -I"$w/pagetable/include" -I"$w/pagetable/src" -I"$t" \
       -I"$root/tests/common" -o "$w/test" $srcs "$t"/pt_test_util.c "$t/$test" \
       "$root"/tests/common/check_main.c $checklibs -lpthread \
       2>"$w/cc.log"; then
    echo "STALE     $desc (does not compile: $(head -1 "$w/cc.log"))"; continue
  fi
  out=$(CK_FORK=no TSAN_OPTIONS=halt_on_error=1 timeout 120 "$w/test" 2>&1); rc=$?
  # The failed check first (a test may print the panics it provokes on purpose).
  why=$(grep -m1 -E ':F:|:E:' <<<"$out" || grep -m1 -E 'pagetable: |WARNING: ThreadSanitizer|timed out' <<<"$out")
  why=$(sed 's|.*/tests/pagetable/||' <<<"$why")
  if [[ $control == 1 ]]; then
    if [[ $rc == 0 ]]; then echo "PASSED    $desc"; else echo "FAILED    $desc: $why"; survived=$((survived + 1)); fi
  elif [[ $rc != 0 ]]; then
    echo "KILLED    $desc: ${why:-exit $rc}"; killed=$((killed + 1))
  else
    echo "SURVIVED  $desc"; survived=$((survived + 1))
  fi
done
echo "mutate_ordering.sh: $killed killed, $survived survived (or control failed)"
[[ $survived == 0 ]]
