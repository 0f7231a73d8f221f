#!/usr/bin/env bash
# Runs a command and checks its exit status and output (stdout and stderr
# together); used by the CTest tests of the real vmm binary.
#
# Usage: expect_run.sh STATUS [REGEX...] -- COMMAND [ARGS...]
#   STATUS   the exit status the command must end with
#   REGEX    extended regexes that must each match some line of the output
# Environment (optional): EXPECT_FILE and EXPECT_FILE_REGEX: a file the
#   command must have written, and a regex its contents must match.
set -u
want=$1; shift
regexes=()
while (($#)) && [ "$1" != "--" ]; do regexes+=("$1"); shift; done
[ "${1:-}" = "--" ] || { echo "expect_run.sh: missing -- before the command" >&2; exit 2; }
shift

# A file the command must write: remove a stale one, so only this run counts.
[ -n "${EXPECT_FILE:-}" ] && rm -f "$EXPECT_FILE"
out=$("$@" 2>&1)
status=$?
fail() {
    echo "FAILED: $*"
    exit 1
}
echo "$out"
[ "$status" -eq "$want" ] || fail "exit status $status, expected $want"
for re in "${regexes[@]}"; do
    grep -Eq -- "$re" <<<"$out" || fail "output does not match /$re/"
done
if [ -n "${EXPECT_FILE:-}" ]; then
    [ -f "$EXPECT_FILE" ] || fail "$EXPECT_FILE was not written"
    grep -Eq -- "${EXPECT_FILE_REGEX:-.}" "$EXPECT_FILE" ||
        fail "$EXPECT_FILE does not match /${EXPECT_FILE_REGEX:-.}/"
fi
echo "OK: exit status $status and every pattern matched"
