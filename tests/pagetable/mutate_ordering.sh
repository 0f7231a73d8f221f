#!/usr/bin/env bash
# Mutation check of the interleaving test (test_interleave.c): plant each
# ordering bug that lock.c's comment names (O1..O4) in a copy of the core,
# build the test against the copy and run it, and report KILLED (the test
# failed, as it must) or SURVIVED. Each mutant is built twice: as the host
# library is (debug assertions on) and with -DPT_NO_DEBUG_CHECKS, to show
# the test catches it without the assertion's help; O1/O2 (memory orderings
# that x86 gives anyway) are built with -fsanitize=thread, where the test's
# lock-free walk through another thread's new nodes is a reported race.
# Not a CTest test (it compiles the core 10 times, ~1 minute).
#
# Usage: tests/pagetable/mutate_ordering.sh
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
t=$root/tests/pagetable
checklibs=$(pkg-config --libs check) || { echo "mutate_ordering.sh: pkg-config check not found" >&2; exit 1; }

# file %% sed expression %% extra flags %% description
mutations=(
  "src/lock.c%%/^    __atomic_store_n(\&m->stray, 1, __ATOMIC_RELAXED);$/d; s/^    unlock_detached(mem, node);$/    unlock_detached(mem, node);\n    __atomic_store_n(\&m->stray, 1, __ATOMIC_RELAXED);/%%%%O3: unlock a detached node before marking it stray"
  "src/lock.c%%/^    __atomic_store_n(\&m->stray, 1, __ATOMIC_RELAXED);$/d; s/^    unlock_detached(mem, node);$/    unlock_detached(mem, node);\n    __atomic_store_n(\&m->stray, 1, __ATOMIC_RELAXED);/%%-DPT_NO_DEBUG_CHECKS%%O3: the same, debug assertions off"
  "src/lock.c%%s/if (pt_node_is_stray(mem, node))  \/\* O3 \*\//if (0)/%%-DPT_NO_DEBUG_CHECKS%%O3: the walk never checks stray after locking"
  "src/lock.c%%s/if (pt_pte_is_absent(pt_pte_load(ptes, i))) {  \/\* O4/if (1) {  \/* O4/%%%%O4: no re-read under the lock before allocating"
  "src/lock.c%%s/if (pt_pte_is_absent(pt_pte_load(ptes, i))) {  \/\* O4/if (1) {  \/* O4/%%-DPT_NO_DEBUG_CHECKS%%O4: the same, debug assertions off"
  "src/internal.h%%0,/__atomic_store_n(slot, new_pte, __ATOMIC_RELEASE);/s//__atomic_store_n(slot, new_pte, __ATOMIC_RELAXED);/%%-fsanitize=thread%%O1: relaxed publication of a new child (TSan)"
  "src/lock.c%%s/pt_pte_load_acquire(ptes, i);  \/\* O2 \*\//pt_pte_load(ptes, i);/%%-fsanitize=thread%%O2: relaxed loads on the lock-free walk (TSan)"
  "src/lock.c%%s/^XXX-no-change$//%%-fsanitize=thread%%(control: the unmutated core under TSan must pass)"
)

killed=0 survived=0
for m in "${mutations[@]}"; do
  IFS='|' read -r file expr flags desc <<<"$(sed 's/%%/|/g' <<<"$m")"
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
       -o "$w/test" $srcs "$t"/pt_test_util.c "$t"/test_interleave.c $checklibs -lpthread \
       2>"$w/cc.log"; then
    echo "STALE     $desc (does not compile: $(head -1 "$w/cc.log"))"; continue
  fi
  out=$(CK_FORK=no TSAN_OPTIONS=halt_on_error=1 timeout 120 "$w/test" 2>&1); rc=$?
  why=$(grep -m1 -E ':F:|:E:|pagetable: |WARNING: ThreadSanitizer|timed out' <<<"$out" | sed 's|.*test_interleave.c:|test_interleave.c:|')
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
