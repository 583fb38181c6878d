#!/bin/bash
# tests/valgrind.sh BUILD_DIR: runs the core's and the SQLite driver's test
# programs under valgrind (memory errors and definite leaks fail), without
# Check's fork mode so valgrind follows every test. Each program leaves
# BUILD_DIR/tests/valgrind/NAME.out (its output and valgrind's report), and
# NAME.log + NAME.trs saying PASS or FAIL, which tests/summary.sh counts as
# one test per program (its Check cases were counted by make check).
# Exits 1 if any program failed. `make check-valgrind` runs it.
set -u
build=${1:?usage: tests/valgrind.sh BUILD_DIR}
build=$(cd "$build" && pwd) || exit 2
command -v valgrind >/dev/null || { echo "valgrind.sh: valgrind is not installed" >&2; exit 1; }
out=$build/tests/valgrind
mkdir -p "$out"
rm -f "$out"/*.log "$out"/*.trs "$out"/*.out

export ROWSYNC_MODULE_PATH="$build/drivers/sqlite:$build/plugins"
export ROWSYNC_FIXTURE_DIR="$build/tests/fixtures"
export ROWSYNC_SRCDIR=${ROWSYNC_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
export CK_FORK=no CK_DEFAULT_TIMEOUT=600

status=0
for prog in tests/unit/check_value tests/unit/check_config tests/unit/check_loader \
            tests/unit/check_abi tests/unit/check_filter tests/drivers/check_driver_sqlite; do
    [ -x "$build/$prog" ] || continue
    name=$(basename "$prog")
    "$build/libtool" --mode=execute valgrind -q --leak-check=full \
        --errors-for-leak-kinds=definite --error-exitcode=99 \
        "$build/$prog" >"$out/$name.out" 2>&1
    rc=$?
    if [ $rc -eq 0 ]; then
        result=PASS
    else
        result=FAIL
        status=1
    fi
    echo ":test-result: $result" >"$out/$name.trs"
    echo "$result: valgrind $name (exit $rc; output in tests/valgrind/$name.out)" |
        tee "$out/$name.log"
    [ $rc -eq 0 ] || cat "$out/$name.out"
done
exit $status
