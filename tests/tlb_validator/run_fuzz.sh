#!/usr/bin/env bash
# Build the libFuzzer harness with clang (whatever compiler the project uses)
# and run it for a bounded time over a seed corpus made of every catalogue
# scenario stream. Exit 0 if the fuzzer found nothing.
#   run_fuzz.sh SRC_ROOT BUILD_DIR SCENARIO_GEN [SECONDS] [SEED]
set -euo pipefail
src=$1 out=$2 gen=$3 secs=${4:-30} seed=${5:-1}
clang=${CLANG:-clang}
command -v "$clang" >/dev/null || { echo "run_fuzz.sh: $clang not found (install clang and libclang-rt-14-dev)"; exit 1; }
mkdir -p "$out/corpus" "$out/artifacts"
"$gen" "$out/corpus"
tlb=$src/tlb
"$clang" -std=gnu17 -g -O1 -Wall -Wextra -Werror -fsanitize=fuzzer,address,undefined \
  -fno-sanitize-recover=all -I"$tlb/include" -I"$src/abi/include" -I"$src/pagetable/include" -I"$tlb" \
  "$src/tests/tlb_validator/fuzz_validate.c" "$src"/abi/tlb_event_codec.c "$src"/abi/tlb_event_check.c "$src"/abi/tlb_event_text.c \
  "$tlb"/validator*.c \
  -o "$out/fuzz_validate"
# -rss_limit_mb guards against unbounded growth; -timeout flags a slow input as a bug.
"$out/fuzz_validate" -max_total_time="$secs" -seed="$seed" -rss_limit_mb=1024 -timeout=10 \
  -max_len=8192 -artifact_prefix="$out/artifacts/" -print_final_stats=1 "$out/corpus" 2>&1 | tail -25
