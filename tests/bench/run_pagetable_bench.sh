#!/usr/bin/env bash
# Runs the page-table benchmark and prints its JSON lines with both figures:
# nanoseconds per operation (native run, minimum over repetitions) and
# instructions per operation (one run under callgrind, counting only inside
# the bench_phase_* functions; deterministic).
#
# Usage: tests/bench/run_pagetable_bench.sh [BUILD_DIR] [pagetable_bench args...]
#   BUILD_DIR defaults to build (the README build); e.g. --tiny for a quick run.
set -euo pipefail
build=${1:-build}
[[ $# -gt 0 ]] && shift
bin=$build/bin/pagetable_bench
if [[ ! -x $bin ]]; then
  echo "run_pagetable_bench.sh: $bin not found; build the pagetable_bench target first" >&2
  exit 1
fi
for tool in valgrind callgrind_annotate; do
  command -v $tool >/dev/null || { echo "run_pagetable_bench.sh: $tool not installed (Debian package valgrind)" >&2; exit 1; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.out" \
     --toggle-collect='bench_phase_*' "$bin" --callgrind-pass "$@" >"$tmp/out.log" 2>&1; then
  echo "run_pagetable_bench.sh: the callgrind pass failed:" >&2
  cat "$tmp/out.log" >&2
  exit 1
fi
callgrind_annotate --inclusive=yes --threshold=100 "$tmp/cg.out" >"$tmp/annotate.txt"
"$bin" --instr "$tmp/annotate.txt" "$@"
