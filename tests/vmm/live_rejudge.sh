#!/usr/bin/env bash
# --events-out re-judged offline: runs vmm with --events-out and --report,
# then tlbcheck --adopt on the stream file, and checks that both give the
# same verdict (vmm 0 <-> tlbcheck 0; vmm 7 with a violation <-> tlbcheck 1)
# and that the report says the same.
#
# Usage: live_rejudge.sh VMM TLBCHECK WORKDIR VMM-ARGS...
set -u
vmm=$1 tlbcheck=$2 dir=$3
shift 3
mkdir -p "$dir"
events=$dir/events.tlb report=$dir/report.json
rm -f "$events" "$report"
"$vmm" "$@" --events-out "$events" --report "$report"
vstatus=$?
[ -s "$events" ] || { echo "FAILED: $events was not written"; exit 1; }
[ -s "$report" ] || { echo "FAILED: $report was not written"; exit 1; }
cat "$report"
"$tlbcheck" --adopt "$events"
tstatus=$?
case "$vstatus:$tstatus" in
0:0) grep -q '"verdict":"passed"' "$report" || { echo "FAILED: report does not say passed"; exit 1; } ;;
7:1) grep -q '"failure":"violation"' "$report" || { echo "FAILED: report does not name a violation"; exit 1; } ;;
*) echo "FAILED: vmm exit $vstatus but tlbcheck exit $tstatus: the verdicts differ"; exit 1 ;;
esac
echo "OK: vmm exit $vstatus and tlbcheck exit $tstatus agree"
