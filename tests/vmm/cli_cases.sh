#!/usr/bin/env bash
# Command-line cases of the real vmm that need a scratch directory (copies
# of inputs that a defect could destroy). One case per CTest test:
#   cli_cases.sh CASE VMM MINI_ELF
# None boots a guest: each ends in a usage error before KVM or the sandbox.
set -u
case=$1 vmm=$2 mini=$3
work=$(mktemp -d "${TMPDIR:-/tmp}/vmm-cli.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL ($case): $*"; echo "--- output:"; cat "$work/out"; exit 1; }
run() { "$@" >"$work/out" 2>&1; rc=$?; }
expect_rc() { [ "$rc" -eq "$1" ] || fail "exit status $rc, expected $1"; }
expect_out() { grep -Eq -- "$1" "$work/out" || fail "output does not match /$1/"; }

case $case in
log-onto-input)
  # --log naming the image or the config (under another name: the same
  # device and inode) is refused before anything is written to it.
  mkdir "$work/d"
  cp "$mini" "$work/k.elf"
  sum=$(cksum <"$work/k.elf")
  run "$vmm" --guest "$work/k.elf" --log "$work/d/../k.elf" --no-sandbox
  expect_rc 4
  expect_out "--log .*/d/\.\./k\.elf is a guest image of this run"
  [ "$(cksum <"$work/k.elf")" = "$sum" ] || fail "the image was modified"
  ln "$work/k.elf" "$work/hardlink.elf"
  run "$vmm" --guest "$work/k.elf" --log "$work/hardlink.elf" --no-sandbox
  expect_rc 4
  expect_out "is a guest image of this run"
  printf '[a]\nguest = k.elf\ncpus = 1\n' >"$work/t.cfg"
  sum=$(cksum <"$work/t.cfg")
  run "$vmm" --config "$work/t.cfg" --test all --log "$work/./t.cfg" --no-sandbox
  expect_rc 4
  expect_out "--log .*t\.cfg is the config file of this run"
  [ "$(cksum <"$work/t.cfg")" = "$sum" ] || fail "the config was modified"
  ;;
shared-images)
  # 20,000 entries naming one 9 KiB guest: one copy of the image, not
  # 20,000 (180 MiB). The address space is capped well below that; the
  # last entry's missing image proves that every entry was validated.
  cp "$mini" "$work/k.elf"
  for ((i = 0; i < 20000; i++)); do printf '[e%d]\nguest = k.elf\n' "$i"; done >"$work/many.cfg"
  printf '[last]\nguest = missing.elf\n' >>"$work/many.cfg"
  run bash -c 'ulimit -v 131072 && exec "$@"' _ "$vmm" --config "$work/many.cfg" \
      --test all --no-sandbox
  expect_rc 4
  expect_out "guest image .*/missing\.elf: cannot open: No such file"
  ;;
fifo-config)
  # Process substitution gives a pipe: refused up front (it could not be
  # copied into the sandbox), never waited on.
  run timeout 20 "$vmm" --config <(printf '[a]\ncpus = 1\n') --test all
  expect_rc 4
  expect_out "/dev/fd/[0-9]+: is a FIFO \(pipe; process substitution gives one\); a regular file is needed"
  mkfifo "$work/f.elf"
  run timeout 20 "$vmm" --guest "$work/f.elf"
  expect_rc 4
  expect_out "f\.elf: is a FIFO"
  ;;
*)
  echo "unknown case $case"; exit 2 ;;
esac
echo "PASS ($case)"
