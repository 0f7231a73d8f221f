#!/usr/bin/env bash
# The page-table core writes PTEs through one function, pt_pte_write
# (pagetable/src/internal.h), which makes every update of a live entry atomic
# against the MMU's A/D bits and keeps the release ordering lock-free walkers
# rely on. This check fails when any other store in the core could reach a
# PTE slot: every atomic store/exchange/read-modify-write builtin must target
# an allowed non-PTE location, and no plain assignment may go through a
# pointer named like a PTE (ptes[...], slot, cptes, ...).
#
# Usage: pte_store_lint.sh PAGETABLE_DIR      (label unit; see docs/pagetable.md)
set -euo pipefail
dir=${1:?usage: pte_store_lint.sh PAGETABLE_DIR}
files=$(ls "$dir"/src/*.c "$dir"/src/*.h "$dir"/*.c)
# Targets that are not PTE slots: frame metadata, the host platform's
# counters, the test-hook pointer, pt_check's epoch, and zero_frame's stores
# into a frame that is not a page-table node yet (any usage).
allowed='->ref_count|->lock\b|->stray|&hp->|&pt_test_hook_current|&check_epoch|&p\[i \+ [0-7]\]|\bl, &expect'
bad=0
while IFS= read -r hit; do
  [[ -z $hit ]] && continue
  file=${hit%%:*}
  line=$(cut -d: -f3- <<<"$hit")
  # The one store function itself.
  if [[ $file == */internal.h ]] && grep -qE '__atomic_(store_n|compare_exchange_n)\(slot, ' <<<"$line"; then
    continue
  fi
  if ! grep -qE -- "$allowed" <<<"$line"; then
    echo "pte_store_lint: store that bypasses pt_pte_write: $hit"; bad=1
  fi
done < <(grep -nHE '__atomic_(store_n|store|exchange_n|exchange|compare_exchange_n|compare_exchange|fetch_[a-z]+|[a-z]+_fetch)\(' $files)
# Plain stores through PTE pointers.
# (c->ptes[] and a walk result's ptes[] are arrays of pointers / copies, not
# slots: a name after -> or . is a member and is not matched.)
if grep -nHE '(^|[^>.a-zA-Z0-9_])\*?(c?ptes|uptes|kptes|slot)\b(\[[^]]*\])? *(\||&|\^|\+|-)?= ' $files |
   grep -vE '(pt_pte_t|const pt_pte_t|pt_pte_t \*) *\*?(c?ptes|uptes|kptes|slot) *=' |
   grep -vE '^\S+: *(pt_pte_t|pt_pte_t \*)'; then
  echo "pte_store_lint: plain store through a PTE pointer (above)"; bad=1
fi
[[ $bad == 0 ]] && echo "pte_store_lint: every PTE store goes through pt_pte_write"
exit $bad
