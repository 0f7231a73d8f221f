#!/usr/bin/env bash
# An MMU corner case through the real vmm: the page-fault error code of a
# reserved-bit fault (tests/vmm/mini_guest.S, MINI_RSVD). The guest exits
# with the error code as its status.
#   mmu_corner.sh VMM MINI_RSVD_ELF
# On KVM (hardware page walks) it must be 9 = P | RSVD (Intel SDM Vol. 3A
# 4.7: RSVD can be set only if P is). Inside the sandbox the walk is QEMU's
# TCG emulation, which gives 8 (RSVD without P; docs/sandbox.md "Fidelity"):
# there the test says that it ran in the sandbox and which value it saw.
set -u
vmm=$1 elf=$2
out=$("$vmm" --guest "$elf" --cpus 1 --timeout 20 2>&1)
rc=$?
echo "$out"
fail() { echo "FAILED: $*"; exit 1; }
[ "$rc" -eq 1 ] || fail "exit status $rc, expected 1 (guest-failed, status = error code)"
code=$(sed -nE 's/^vmm: cpu 0: guest exited with status ([0-9]+) \(failure\)$/\1/p' <<<"$out")
[ -n "$code" ] || fail "no 'guest exited with status N' line"
if grep -q "running inside the sandbox" <<<"$out"; then
  case $code in
    8) echo "vmm_mmu_rsvd_error_code: ran in the sandbox: error code 0x8 (RSVD without P) is" \
            "QEMU's TCG page walk, not a hardware result; hardware gives 0x9 (docs/sandbox.md)" ;;
    9) echo "vmm_mmu_rsvd_error_code: ran in the sandbox: error code 0x9 (P | RSVD): this QEMU" \
            "walks like hardware (docs/sandbox.md names versions that do not)" ;;
    *) fail "error code $code in the sandbox: neither QEMU's known 8 nor hardware's 9" ;;
  esac
else
  [ "$code" -eq 9 ] || fail "error code $code on KVM, expected 9 (P | RSVD)"
  echo "vmm_mmu_rsvd_error_code: hardware result: error code 0x9 (P | RSVD)"
fi
echo "OK"
