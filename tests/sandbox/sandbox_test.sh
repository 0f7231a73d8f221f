#!/usr/bin/env bash
# Integration tests of the sandbox (docs/sandbox.md). One case per CTest test:
#   sandbox_test.sh CASE PROGRAM ASSETS_DIR [GUEST_ELF]
# PROGRAM is tests/sandbox's stand-in (sandbox_probe) or the real vmm;
# ASSETS_DIR is the prepared sandbox directory (scripts/sandbox/prepare).
# Each case asserts the exit status, the messages, and that no QEMU process
# and no temporary file of the run is left behind.
set -u
case=$1 prog=$2 assets=$3

work=$(mktemp -d "${TMPDIR:-/tmp}/sandbox-test.XXXXXX")
export TMPDIR=$work/tmp     # the sandbox's per-run files (and QEMU's argv) live here
mkdir -p "$TMPDIR"
export VMM_SANDBOX_DIR=$assets
pid=
cleanup() {
  [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "FAIL ($case): $*"
  echo "--- stdout:"; cat "$work/out" 2>/dev/null
  echo "--- stderr:"; cat "$work/err" 2>/dev/null
  exit 1
}
pass() { echo "PASS ($case): $*"; }

run() {  # run CMD...: status in $rc, output in $work/out and $work/err
  "$@" >"$work/out" 2>"$work/err"
  rc=$?
}
expect_rc() { [ "$rc" -eq "$1" ] || fail "exit status $rc, expected $1"; }
expect_out() { grep -Eq -- "$1" "$work/out" || fail "stdout does not match /$1/"; }
expect_err() { grep -Eq -- "$1" "$work/err" || fail "stderr does not match /$1/"; }

# No process may still reference this run's temporary directory (QEMU's
# command line names the per-run initramfs there), and the directory must
# have been cleaned up.
expect_no_leftovers() {
  local p cmd
  for p in /proc/[0-9]*; do
    # Matched in bash: a grep would find the pattern in its own argv.
    cmd=$(tr '\0' ' ' 2>/dev/null <"$p/cmdline") || continue
    if [[ $cmd == *"$TMPDIR/"* ]]; then
      fail "process ${p#/proc/} is left behind: $cmd"
    fi
  done
  [ -z "$(ls -A "$TMPDIR")" ] || fail "temporary files left behind: $(ls -A "$TMPDIR")"
}

case $case in
probe-roundtrip)
  # One boot: exit status of a real KVM guest inside, argv quoting, stdout and
  # stderr separated, an input file copied in, an output file copied back.
  token="token-$RANDOM-$$-$(date +%s%N)"
  echo "$token" >"$work/input.txt"
  mkdir "$work/outdir"
  args=(--echo-args "two words" "it's" '$HOME' '' 'x"y' 'a\b' '*' ';echo hi'
        --read "$work/input.txt" --log "$work/outdir/t.log")
  # What a direct run sees (the log it writes is removed again).
  "$prog" --status 3 "${args[@]}" 2>/dev/null | grep '^arg\[' >"$work/direct"
  rm -f "$work/outdir/t.log"
  [ -s "$work/direct" ] || fail "the direct run printed no arguments"
  run "$prog" --sandbox --status 3 "${args[@]}"
  expect_rc 3
  expect_out "^probe: guest wrote 3 to port 0x10$"
  expect_err "^probe: this line goes to stderr$"
  grep -q "this line goes to stderr" "$work/out" && fail "stderr output reached stdout"
  expect_out "^$token$"
  # The inner program saw exactly the arguments a direct run sees.
  grep '^arg\[' "$work/out" >"$work/inner"
  cmp -s "$work/direct" "$work/inner" || fail "argv differs inside the sandbox: $(diff "$work/direct" "$work/inner")"
  [ -f "$work/outdir/t.log" ] || fail "--log file written inside did not appear on the host"
  cmp -s "$work/out" "$work/outdir/t.log" || fail "the --log file differs from the transcript"
  expect_no_leftovers
  pass "status 3, argv, stdout/stderr, input and output files" ;;

probe-killed)
  # The inner program killed by SIGKILL (as by L1's out-of-memory killer) is
  # a sandbox failure that names the signal and the inner status.
  run "$prog" --sandbox --kill-self --status 0
  expect_rc 6
  expect_err "infrastructure failure: the inner vmm was killed by signal 9 \(Killed\), most likely by the out-of-memory killer.*; inner status 137"
  expect_err "the sandbox had [0-9]+ MiB of RAM"
  expect_no_leftovers
  pass "an inner program killed by a signal is a sandbox failure (status 6) with its status" ;;

probe-silence)
  # The inner program is silent while the L1 kernel keeps logging (as a
  # wedged kernel reporting soft lockups would): still no sign of life.
  VMM_SANDBOX_SILENCE_TIMEOUT=4 run "$prog" --sandbox --hang --kmsg-noise
  expect_rc 6
  expect_err "infrastructure failure: .*no output for 4 s.*silence watchdog"
  expect_err "probe: kernel log noise"     # quoted from the console
  expect_no_leftovers
  pass "a silent inner program is stopped by the silence watchdog (status 6)" ;;

probe-boot-timeout)
  # A base initramfs whose /init never starts the sandbox's protocol.
  mkdir -p "$work/hang"
  printf '#!/sandbox/bin/sh\nexec /sandbox/bin/sleep 100000\n' >"$work/hang/init"
  chmod +x "$work/hang/init"
  (cd "$work/hang" && echo init | cpio -o -H newc -R 0:0 --quiet) >"$work/hang.cpio" ||
    fail "cpio failed"
  cat "$assets/initramfs.cpio" "$work/hang.cpio" >"$work/hanginit.cpio"
  VMM_SANDBOX_INITRD=$work/hanginit.cpio VMM_SANDBOX_BOOT_TIMEOUT=5 run "$prog" --sandbox --status 0
  expect_rc 6
  expect_err "infrastructure failure: the sandbox did not reach its init within 5 s"
  expect_no_leftovers
  pass "an init that never starts is stopped by the boot watchdog (status 6)" ;;

probe-init-error)
  # The init reports its own failure (here: a module that cannot be loaded).
  mkdir -p "$work/bad/sandbox/modules"
  echo "no-such-module.ko" >"$work/bad/sandbox/modules/order"
  (cd "$work/bad" && printf 'sandbox/modules/order\n' | cpio -o -H newc -R 0:0 --quiet) \
    >"$work/bad.cpio" || fail "cpio failed"
  cat "$assets/initramfs.cpio" "$work/bad.cpio" >"$work/badinit.cpio"
  VMM_SANDBOX_INITRD=$work/badinit.cpio run "$prog" --sandbox --status 0
  expect_rc 6
  expect_err "infrastructure failure: the sandbox's init failed: insmod no-such-module.ko failed"
  expect_no_leftovers
  pass "an init that fails reports why (status 6)" ;;

probe-broken-initrd)
  head -c 65536 /dev/urandom >"$work/garbage.cpio"
  VMM_SANDBOX_INITRD=$work/garbage.cpio run "$prog" --sandbox --status 0
  expect_rc 6
  expect_err "infrastructure failure: QEMU exited .*before the sandbox's init started"
  expect_err "Kernel panic"
  expect_no_leftovers
  # A "kernel" QEMU refuses: QEMU's own message is quoted.
  echo "not a kernel" >"$work/notakernel"
  VMM_SANDBOX_KERNEL=$work/notakernel run "$prog" --sandbox --status 0
  expect_rc 6
  expect_err "infrastructure failure: QEMU exited with status [1-9][0-9]* before the sandbox's init started: .+"
  expect_no_leftovers
  pass "a kernel that cannot start the init, or that QEMU refuses, is reported (status 6)" ;;

probe-missing-assets)
  # Needs no real assets: stand-in files pass the presence check.
  VMM_SANDBOX_DIR=$work/no-such-dir run "$prog" --sandbox --status 0
  expect_rc 6
  expect_err "sandbox assets are missing .*no-such-dir/vmlinuz.*run scripts/setup"
  mkdir "$work/fake" && : >"$work/fake/vmlinuz" && : >"$work/fake/initramfs.cpio"
  VMM_SANDBOX_DIR=$work/fake VMM_SANDBOX_QEMU=$work/no-qemu run "$prog" --sandbox --status 0
  expect_rc 6
  expect_err "VMM_SANDBOX_QEMU=.*no-qemu is not executable"
  VMM_SANDBOX_DIR=$work/fake VMM_SANDBOX_QEMU=/bin/true VMM_SANDBOX_BOOT_TIMEOUT=soon \
    run "$prog" --sandbox --status 0
  expect_rc 6
  expect_err "VMM_SANDBOX_BOOT_TIMEOUT=\"soon\" is not a number of seconds"
  VMM_SANDBOX_DIR=$work/fake VMM_SANDBOX_QEMU=/bin/true VMM_SANDBOX_MEM=lots \
    run "$prog" --sandbox --status 0
  expect_rc 6
  expect_err "VMM_SANDBOX_MEM=\"lots\" is not a size"
  expect_no_leftovers
  pass "missing assets, QEMU and bad settings give status 6 and a clear message" ;;

probe-signal)
  "$prog" --sandbox --echo-args --sleep 300 >"$work/out" 2>"$work/err" &
  pid=$!
  for _ in $(seq 1 600); do   # until the inner program runs (at most 60 s)
    grep -q '^arg\[' "$work/out" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  grep -q '^arg\[' "$work/out" || fail "the inner program did not start"
  kill -TERM "$pid"
  wait "$pid"
  rc=$?
  pid=
  expect_rc 143   # died of SIGTERM, after stopping QEMU
  expect_err "interrupted by signal 15; QEMU was stopped"
  expect_no_leftovers
  pass "SIGTERM to the outer program stops QEMU and cleans up" ;;

vmm-guest)
  # One boot: the default guest with 2 vCPUs passes, its output streams to
  # stdout, and a --log FILE written inside appears on the host.
  mkdir "$work/logs"
  run "$prog" --sandbox --guest --cpus 2 --log "$work/logs/guest.log"
  expect_rc 0
  expect_err "running inside the sandbox"
  [ -s "$work/out" ] || fail "the guest printed nothing"
  [ -s "$work/logs/guest.log" ] || fail "--log file written inside did not appear on the host"
  while IFS= read -r line; do   # every transcript line is in the log file
    grep -qxF -- "$line" "$work/logs/guest.log" || fail "log lacks the line: $line"
  done <"$work/out"
  # Where KVM works here too, the sandbox's output equals a direct run's
  # (sorted: the vCPUs' lines may interleave differently; durations masked).
  if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
    cp "$work/out" "$work/sandboxed"
    run "$prog" --no-sandbox --guest --cpus 2
    expect_rc 0
    norm() { sed -E 's/[0-9]+(\.[0-9]+)? ?(ns|us|ms|s)\b/<time>/g' "$1" | sort; }
    diff <(norm "$work/sandboxed") <(norm "$work/out") >"$work/diff" ||
      fail "output differs from a direct run on KVM: $(cat "$work/diff")"
  fi
  expect_no_leftovers
  pass "vmm --sandbox --guest --cpus 2 passes; --log FILE reaches the host" ;;

vmm-log-device)
  # --log is written by the outer vmm, so a path that exists only here (a
  # descriptor of this shell) works as on the host, and the log holds the
  # sandbox's lines (the fallback notice) as well as the guest's.
  "$prog" --sandbox --guest --cpus 1 --log /dev/fd/5 5>"$work/fd5.log" >"$work/out" 2>"$work/err"
  rc=$?
  expect_rc 0
  grep -q "running inside the sandbox" "$work/fd5.log" || fail "the log lacks the sandbox's notice"
  grep -q "^vmm: result: passed" "$work/fd5.log" || fail "the log lacks the inner vmm's result"
  expect_no_leftovers
  pass "--log /dev/fd/5 through the sandbox holds the whole transcript" ;;

vmm-guest-fail)
  run "$prog" --sandbox --guest --bootargs scenario=fail
  expect_rc 1
  expect_no_leftovers
  pass "a guest-reported failure propagates through the sandbox (status 1)" ;;

vmm-config)
  # A config naming a guest ELF relative to the config's own directory: both
  # are copied in; many guests run in one sandbox boot.
  guest_elf=${4:?vmm-config needs the guest ELF}
  mkdir "$work/cfg" "$work/guests"
  cp "$guest_elf" "$work/guests/g.elf"
  cat >"$work/cfg/suite.cfg" <<CFG
[elf-2]
guest = ../guests/g.elf
cpus = 2
expect = passed

[fail]
guest = default
bootargs = scenario=fail
expect = guest-failed
CFG
  run "$prog" --sandbox --config "$work/cfg/suite.cfg" --test all
  expect_rc 0
  expect_out "^2 passed, 0 failed$"
  expect_no_leftovers
  pass "--config FILE --test all with a guest named by the config" ;;

vmm-no-kvm)
  # The automatic fallback: where /dev/kvm cannot be opened, plain `vmm`
  # says so and uses the sandbox; --no-sandbox turns that off. Here KVM may
  # work, so as root the case runs as user nobody (no access to /dev/kvm).
  runner=()
  if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
    if [ "$(id -u)" -ne 0 ] || ! command -v setpriv >/dev/null; then
      echo "SKIP ($case): /dev/kvm is usable and we cannot drop privileges"; exit 77
    fi
    runner=(setpriv --reuid=65534 --regid=65534 --clear-groups)
    chmod 755 "$work"; chmod 1777 "$TMPDIR"
    if ! "${runner[@]}" test -x "$prog" -a -r "$assets/vmlinuz" -a -r "$assets/initramfs.cpio"; then
      echo "SKIP ($case): user nobody cannot reach $prog or $assets"; exit 77
    fi
  fi
  cd "$work" || fail "cd $work"
  run "${runner[@]}" "$prog" --guest
  expect_rc 0
  expect_err "^vmm: /dev/kvm is not available \(.+\); running inside the sandbox"
  # The same line says which results are hardware's and which QEMU's.
  expect_err "running inside the sandbox .*: results inside the sandbox: the validator's ordering verdicts .* as on hardware; MMU corner cases .* are QEMU's emulation"
  [ -s "$work/out" ] || fail "the guest printed nothing"
  run "${runner[@]}" "$prog" --no-sandbox --guest
  expect_rc 5
  grep -q "running inside the sandbox" "$work/err" && fail "--no-sandbox still used the sandbox"
  expect_no_leftovers
  pass "no usable /dev/kvm: the sandbox is used (status 0); --no-sandbox: status 5" ;;

*)
  echo "unknown case $case"; exit 2 ;;
esac
