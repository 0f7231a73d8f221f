#!/usr/bin/env bash
# tlb_bug=untraced-store end to end (docs/live-validation.md "Checkpoints"):
# the guest maps one page with a plain store that emits no event, into a
# level-1 node the event stream allocated. The run must end with exit status
# 7 and a checkpoint report naming exactly that entry -- the node and index
# the guest printed, its VA, guest memory's value (which maps the frame the
# guest printed) and the model's 0 -- once for every vCPU (all of them have
# the space loaded in round 0).
#
# Usage: live_untraced.sh VMM CONFIG TEST CPUS
set -u
vmm=$1 cfg=$2 test=$3 cpus=$4
fail() {
    echo "FAILED: $*"
    exit 1
}
out=$("$vmm" --config "$cfg" --test "$test" 2>&1)
status=$?
echo "$out"
[ "$status" -eq 7 ] || fail "exit status $status, expected 7"
planted=$(grep -Eo 'tlb_bug=untraced-store: cpu 0 mapped va 0x[0-9a-f]+ to frame 0x[0-9a-f]+ with a plain store into L1 node 0x[0-9a-f]+ entry [0-9]+' <<<"$out") ||
    fail "the guest did not say what it planted"
read -r va frame node index < <(sed -E 's/.* va (0x[0-9a-f]+) to frame (0x[0-9a-f]+) .* node (0x[0-9a-f]+) entry ([0-9]+)$/\1 \2 \3 \4/' <<<"$planted")
places="$cpus place"
[ "$cpus" -gt 1 ] && places="${places}s"
grep -Eq "^vmm: VALIDATION FAILED: checkpoint 1 \(cpu 0, next seq [0-9]+\): guest memory disagrees with the model in $places$" <<<"$out" ||
    fail "no failed first checkpoint with $places"
for ((c = 0; c < cpus; c++)); do
    line=$(grep -E "^  cpu $c: L1 node $node entry $index \(va $va\): guest memory has 0x[0-9a-f]{16}, the model has 0x0{16} \(A/D ignored\)$" <<<"$out") ||
        fail "cpu $c: no report line for L1 node $node entry $index (va $va) against the model's 0"
    value=$(sed -E 's/.*guest memory has (0x[0-9a-f]+),.*/\1/' <<<"$line")
    (((value & 0x000ffffffffff000) == frame)) || fail "cpu $c: guest value $value does not map frame $frame"
done
grep -q "PASS $test: validation-failed" <<<"$out" || fail "the runner did not count it as caught"
echo "OK: exit 7 and the checkpoint named L1 node $node entry $index (va $va -> $frame) on $cpus vCPU(s)"
