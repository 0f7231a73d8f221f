#!/usr/bin/env bash
# Derives malformed guest images from a real ELF (the mini guest), for the
# command-line tests of vmm. Usage: make_bad_images.sh GOOD.elf OUTDIR
set -euo pipefail
good=$1 out=$2
mkdir -p "$out"
patch() {  # patch FILE OFFSET BYTE...: overwrite bytes at OFFSET
    local f=$1 off=$2; shift 2
    printf "$(printf '\\x%02x' "$@")" | dd of="$f" bs=1 seek="$off" conv=notrunc status=none
}
cp "$good" "$out/wrong_arch.elf";  patch "$out/wrong_arch.elf" 18 3 0     # e_machine = EM_386
cp "$good" "$out/aarch64.elf";     patch "$out/aarch64.elf" 18 183 0      # e_machine = EM_AARCH64
cp "$good" "$out/class32.elf";     patch "$out/class32.elf" 4 1           # EI_CLASS = ELFCLASS32
cp "$good" "$out/pie.elf";         patch "$out/pie.elf" 16 3 0            # e_type = ET_DYN
head -c 100 "$good" > "$out/truncated.elf"
echo "this is not an ELF file" > "$out/not_elf.elf"
: > "$out/empty.elf"
# first PT_LOAD's p_paddr (phdr 0 at e_phoff 64, p_paddr at +24) = 32 MiB:
# valid, but does not fit in --mem 16M
cp "$good" "$out/high.elf";        patch "$out/high.elf" 88 0 0 0 2 0 0 0 0
# configs with a missing image and with an unknown key
printf '[missing]\nguest = nonexistent.elf\n' > "$out/missing_image.cfg"
printf '[x]\nfrob = 1\n' > "$out/bad_key.cfg"
