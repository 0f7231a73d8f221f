#!/usr/bin/env bash
# Every external symbol that libtlb_validator.a defines carries the library's
# prefix tlb_ (public API: tlb_validator_*, tlb_report_*, tlb_class_name,
# tlb_validate_bytes; internal cross-file functions: tlb_v_*), so linking it
# into a program cannot clash with the program's own names; and no static
# (file-local) function or variable has the name of one of its externs.
#   check_symbols.sh LIBRARY.a
set -u
lib=$1
syms=$(nm -g --defined-only "$lib" | awk 'NF == 3 { print $3 }')
[[ -n $syms ]] || { echo "FAIL: no symbols read from $lib"; exit 1; }
bad=$(grep -v '^tlb_' <<<"$syms")
if [[ -n $bad ]]; then
  echo "FAIL: external symbols of $lib without the tlb_ prefix:"; echo "$bad"; exit 1
fi
# File-local symbols that are C statics (a name with a dot is a compiler clone such as
# f.part.0 of an extern f, or a function-local static such as buf.1).
locals=$(nm --defined-only "$lib" | awk 'NF == 3 && $2 ~ /^[tdbr]$/ && $3 !~ /\./ { print $3 }' | sort -u)
shadow=$(comm -12 <(sort -u <<<"$syms") <(grep -v '^$' <<<"$locals" || true))
if [[ -n $shadow ]]; then
  echo "FAIL: static symbols of $lib with the name of an extern:"; echo "$shadow"; exit 1
fi
echo "ok: $(wc -l <<<"$syms") external symbols, all prefixed tlb_; no static shadows one"
