#!/usr/bin/env bash
# Every external symbol that libtlb_validator.a defines carries the library's
# prefix tlb_ (public API: tlb_validator_*, tlb_report_*, tlb_class_name,
# tlb_validate_bytes; internal cross-file functions: tlb_v_*), so linking it
# into a program cannot clash with the program's own names.
#   check_symbols.sh LIBRARY.a
set -u
lib=$1
syms=$(nm -g --defined-only "$lib" | awk 'NF == 3 { print $3 }')
[[ -n $syms ]] || { echo "FAIL: no symbols read from $lib"; exit 1; }
bad=$(grep -v '^tlb_' <<<"$syms")
if [[ -n $bad ]]; then
  echo "FAIL: external symbols of $lib without the tlb_ prefix:"; echo "$bad"; exit 1
fi
echo "ok: $(wc -l <<<"$syms") external symbols, all prefixed tlb_"
