#!/usr/bin/env bash
# CLI test of tlbcheck: exit 0 for a clean stream, 1 for violations (text and
# --json), 2 for bad input and bad usage.
#   tlbcheck_cli.sh TLBCHECK SCENARIO_GEN WORKDIR
set -u
tlbcheck=$1 gen=$2 dir=$3
rm -rf "$dir" && mkdir -p "$dir"
"$gen" "$dir" || { echo "FAIL: scenario generator"; exit 1; }
fail=0
expect() {  # expect <status> <description> <command...>
  local want=$1 what=$2; shift 2
  "$@" >"$dir/out" 2>"$dir/err"; local got=$?
  if [[ $got -ne $want ]]; then
    echo "FAIL: $what: exit $got, expected $want"; cat "$dir/out" "$dir/err"; fail=1
  else
    echo "ok: $what (exit $got)"
  fi
}
expect 0 "clean stream" "$tlbcheck" "$dir/t1_ok.tlb"
expect 1 "T1 stream" "$tlbcheck" "$dir/t1_bug.tlb"
grep -q "VIOLATION T1 " "$dir/out" || { echo "FAIL: text report lacks 'VIOLATION T1'"; fail=1; }
expect 1 "T1 stream, JSON" "$tlbcheck" --json "$dir/t1_bug.tlb"
grep -q '"class":"T1"' "$dir/out" || { echo "FAIL: JSON report lacks class T1"; fail=1; }
expect 0 "T15 tolerated by a policy" "$tlbcheck" --policy lazy:T15 "$dir/t15_bug.tlb"
grep -q 'TOLERATED by policy "lazy"' "$dir/out" || { echo "FAIL: tolerated report not printed"; fail=1; }
head -c 100 "$dir/t1_ok.tlb" >"$dir/trunc.tlb"
expect 2 "truncated stream" "$tlbcheck" "$dir/trunc.tlb"
grep -q "truncated" "$dir/err" || { echo "FAIL: no 'truncated' in the error"; fail=1; }
expect 2 "missing file" "$tlbcheck" "$dir/nope.tlb"
expect 2 "bad option" "$tlbcheck" --frobnicate "$dir/t1_ok.tlb"
expect 2 "bad policy" "$tlbcheck" --policy x:Q7 "$dir/t1_ok.tlb"
# Standard input ("-"), a pipe and a named FIFO are read; a device that never ends is refused.
expect 1 "T1 stream on standard input" "$tlbcheck" - <"$dir/t1_bug.tlb"
grep -q "VIOLATION T1 " "$dir/out" || { echo "FAIL: '-' did not read standard input"; fail=1; }
expect 1 "T1 stream through a pipe" bash -c 'cat "$2" | "$1" -' _ "$tlbcheck" "$dir/t1_bug.tlb"
rm -f "$dir/fifo" && mkfifo "$dir/fifo"
cat "$dir/t1_bug.tlb" >"$dir/fifo" &
expect 1 "T1 stream from a named pipe" timeout 20 "$tlbcheck" "$dir/fifo"
wait
expect 2 "/dev/zero refused" timeout 20 "$tlbcheck" /dev/zero
grep -q "not a regular file or a pipe" "$dir/err" || { echo "FAIL: no clear refusal for /dev/zero"; cat "$dir/err"; fail=1; }
expect 2 "a directory refused" timeout 20 "$tlbcheck" "$dir"
head -c 100 "$dir/t1_ok.tlb" >"$dir/trunc2.tlb"
expect 2 "truncated stream on standard input" "$tlbcheck" - <"$dir/trunc2.tlb"
grep -q "truncated" "$dir/err" || { echo "FAIL: no 'truncated' in the error (stdin)"; fail=1; }
# Streaming: a 4.5-million-record stream (216 MB) through a pipe, with memory bounded to 100 MB:
# a reader that held its whole input could not finish. (Skipped under ASan, which needs a huge
# address space.)
if nm "$tlbcheck" 2>/dev/null | grep -q __asan_init; then
  echo "skip: streaming memory bound (ASan build)"
else
  expect 0 "1.5 M cycles streamed in 100 MB" bash -c \
    'set -o pipefail; "$1" --long 1500000 | (ulimit -v 100000; "$2" -)' _ "$gen" "$tlbcheck"
  grep -q "4500004 events, 0 violations" "$dir/err" || { echo "FAIL: streamed events not all validated"; cat "$dir/err"; fail=1; }
fi
exit $fail
