#!/bin/bash
# Builds the libFuzzer targets for the job-file parser and the filter
# parser with clang (outside automake) and runs each for a bounded time.
#
#   fuzz/run.sh BUILDDIR [SECONDS]
#
# BUILDDIR is a configured build directory (its config.h is used); the
# fuzzers, their objects and working corpora go to BUILDDIR/fuzz. Each
# target runs SECONDS (default 60) of -max_total_time, starting from the
# seed corpus in fuzz/corpus/NAME/ and the tokens in fuzz/NAME.dict.
# Exits non-zero when a target crashes (or fails to build); the crashing
# input stays in BUILDDIR/fuzz as crash-<sha1> (or leak-/timeout-/oom-)
# and the log as BUILDDIR/fuzz/fuzz_NAME.log.
# Needs clang and libclang-rt-14-dev (libFuzzer, AddressSanitizer), and
# the inih development files the library itself needs.
set -u

srcdir=$(cd "$(dirname "$0")/.." && pwd)
builddir=${1:?usage: fuzz/run.sh BUILDDIR [SECONDS]}
seconds=${2:-60}
[ -n "$seconds" ] || seconds=60
CC=${FUZZ_CC:-clang}

if [ ! -f "$builddir/config.h" ]; then
    echo "run.sh: $builddir/config.h not found: configure first" >&2
    exit 2
fi
builddir=$(cd "$builddir" && pwd)
out=$builddir/fuzz
mkdir -p "$out/obj" || exit 2

if ! command -v "$CC" >/dev/null 2>&1; then
    echo "run.sh: $CC not found (apt-get install clang libclang-rt-14-dev)" >&2
    exit 2
fi

inih_cflags=$(pkg-config --cflags inih 2>/dev/null)
inih_libs=$(pkg-config --libs inih 2>/dev/null || echo -linih)
cppflags="-I$builddir -I$srcdir/librowsync/include -I$srcdir/librowsync"
cflags="-g -O1 -std=gnu99 -fno-omit-frame-pointer -Wall -Wextra -Wno-unused-parameter"

# The library sources the two parsers reach; instrumented for coverage
# and AddressSanitizer, without libFuzzer's main.
lib_sources="util.c error.c buf.c value.c filter.c jobfile.c"
objs=
for s in $lib_sources; do
    o=$out/obj/${s%.c}.o
    # shellcheck disable=SC2086
    "$CC" $cflags $cppflags $inih_cflags -fsanitize=fuzzer-no-link,address \
        -c "$srcdir/librowsync/$s" -o "$o" || exit 2
    objs="$objs $o"
done

for t in filter jobfile; do
    # shellcheck disable=SC2086
    "$CC" $cflags $cppflags $inih_cflags -fsanitize=fuzzer,address \
        -o "$out/fuzz_$t" "$srcdir/fuzz/fuzz_$t.c" $objs $inih_libs -lm \
        || exit 2
done

status=0
for t in filter jobfile; do
    corpus=$out/corpus_$t
    mkdir -p "$corpus"
    echo "run.sh: fuzz_$t for ${seconds}s (log: $out/fuzz_$t.log)"
    # New inputs go to the working corpus; the seeds are only read.
    (cd "$out" && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
        ./fuzz_$t -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
            -max_len=8192 -print_final_stats=1 -artifact_prefix="$out/" \
            -dict="$srcdir/fuzz/$t.dict" \
            "$corpus" "$srcdir/fuzz/corpus/$t" >"fuzz_$t.log" 2>&1)
    rc=$?
    grep -E '^(Done|stat::number_of_executed_units)' "$out/fuzz_$t.log"
    if [ $rc -ne 0 ]; then
        echo "run.sh: fuzz_$t FAILED (rc $rc); see $out/fuzz_$t.log" >&2
        grep -E 'ERROR: |Test unit written' "$out/fuzz_$t.log" >&2
        status=1
    fi
done
exit $status
