#!/bin/sh
# tests/unit/header_standalone.sh: every installed header compiles on its
# own, as strict C99 (-pedantic -Werror), and as C++ when a C++ compiler is
# installed, so a module author can include any one of them first.
#
# Environment (set by AM_TESTS_ENVIRONMENT): CC, ROWSYNC_SRCDIR (falls back
# to $srcdir or the directory two levels up from this script); CXX may name
# the C++ compiler (default: c++ when it exists).
#
# Prints one line per check and a Check-style summary line, so that
# tests/summary.sh counts the checks; exits 1 when any failed.

srcdir=${ROWSYNC_SRCDIR:-${srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}}
cc=${CC:-cc}
cxx=${CXX:-c++}
inc="$srcdir/librowsync/include"
headers="common.h driver.h plugin.h rowsync.h"

checks=0
failures=0
out=$(mktemp) || exit 99
trap 'rm -f "$out"' EXIT

# check NAME COMMAND...: runs the compiler with the include line on stdin.
check()
{
    name=$1
    header=$2
    shift 2
    checks=$((checks + 1))
    if echo "#include <rowsync/$header>" | "$@" >"$out" 2>&1; then
        echo "PASS: $name"
    else
        failures=$((failures + 1))
        echo "FAIL: $name"
        sed 's/^/    /' "$out"
    fi
}

if [ ! -d "$inc/rowsync" ]; then
    echo "header_standalone.sh: no headers in $inc (set ROWSYNC_SRCDIR)" >&2
    exit 99
fi

# $cc may carry flags ("gcc -m32"): split it on purpose.
for h in $headers; do
    # shellcheck disable=SC2086
    check "$h as C99" "$h" $cc -std=c99 -pedantic -Werror -Wall -Wextra \
        -fsyntax-only -I"$inc" -x c -
done

if command -v "$cxx" >/dev/null 2>&1; then
    for h in $headers; do
        check "$h as C++" "$h" "$cxx" -std=c++11 -pedantic -Werror -Wall \
            -Wextra -fsyntax-only -I"$inc" -x c++ -
    done
else
    echo "SKIP: C++ checks ($cxx not found)"
fi

passed=$((checks - failures))
echo "$((passed * 100 / checks))%: Checks: $checks, Failures: $failures, Errors: 0"
[ "$failures" -eq 0 ]
