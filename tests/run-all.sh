#!/bin/bash
# tests/run-all.sh: build rowsync and run every test, from any directory.
#
# Generates configure when it is missing (./autogen.sh), configures a VPATH
# build in _build/ (again only when needed), runs `make -j2` and
# `make -j2 check`, prints the log of every test program that failed and,
# as the very last line, "N passed, N failed" from tests/summary.sh.
# Exits non-zero when the build or `make check` failed or any test failed.
#
# Environment: CONFIGURE_FLAGS, extra ../configure arguments in shell syntax
# (e.g. CONFIGURE_FLAGS='CFLAGS="-O1 -g -fsanitize=address"'); a change of
# them makes it reconfigure. ROWSYNC_TEST_SERVERS=no: start no database
# server. ROWSYNC_PG_PORT, ROWSYNC_MY_PORT: the servers' ports (default: the
# first free one from 56432 and 56306).

set -u
cd "$(dirname "$0")/.." || exit 2
srcdir=$(pwd)
build=_build
want_flags="--enable-werror${CONFIGURE_FLAGS:+ $CONFIGURE_FLAGS}"

# ---- test servers ---------------------------------------------------------
# Throwaway PostgreSQL and MariaDB servers for the driver tests, started by
# tests/servers/{pg,mariadb}.sh on loopback in a temporary directory just
# before `make check`, their connection settings (DIR/env) exported to the
# tests, and stopped by ra_cleanup on every exit. A server that cannot start
# is reported and left out (its tests then see no ROWSYNC_TEST_* settings).
# ROWSYNC_TEST_SERVERS=no starts none. Nothing here may print after the
# summary line.
servers_dir=

# shellcheck disable=SC2317 # called by the EXIT trap
ra_cleanup()
{
    [ -n "$servers_dir" ] || return 0
    sh "$srcdir/tests/servers/mariadb.sh" stop "$servers_dir/mariadb" >/dev/null 2>&1
    sh "$srcdir/tests/servers/pg.sh" stop "$servers_dir/pg" >/dev/null 2>&1
    rm -rf "$servers_dir"
}
trap ra_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The first port from $1 up on which nothing listens on 127.0.0.1.
ra_free_port()
{
    local port=$1
    while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
        port=$((port + 1))
    done
    echo "$port"
}

# Starts server NAME with its script and exports the settings it wrote.
ra_start_server()
{
    local name=$1
    if sh "$srcdir/tests/servers/$name.sh" start "$servers_dir/$name"; then
        set -a
        # shellcheck disable=SC1090 # written by the server script
        . "$servers_dir/$name/env"
        set +a
    else
        echo "run-all.sh: warning: the $name test server did not start; its tests get no server" >&2
    fi
}

ra_start_servers()
{
    [ "${ROWSYNC_TEST_SERVERS:-yes}" != no ] || return 0
    servers_dir=$(mktemp -d "${TMPDIR:-/tmp}/rowsync-servers.XXXXXX") || return 0
    chmod 755 "$servers_dir" # the postgres user must reach its data directory
    ROWSYNC_PG_PORT=${ROWSYNC_PG_PORT:-$(ra_free_port 56432)}
    ROWSYNC_MY_PORT=${ROWSYNC_MY_PORT:-$(ra_free_port 56306)}
    export ROWSYNC_PG_PORT ROWSYNC_MY_PORT
    ra_start_server pg
    ra_start_server mariadb
}
# ---- end of test servers ----------------------------------------------------

# Prints the summary line and exits; the summary is always the last line.
ra_finish()
{
    local status=$1 logs
    shopt -s nullglob
    logs=("$build"/tests/*/*.log)
    shopt -u nullglob
    if [ ${#logs[@]} -eq 0 ]; then
        echo "run-all.sh: no test ran (no logs under $build/tests)" >&2
        echo "0 passed, 1 failed"
        exit 1
    fi
    sh "$srcdir/tests/summary.sh" "${logs[@]}" || status=1
    exit "$status"
}

if [ ! -x configure ]; then
    echo "run-all.sh: configure is missing: running ./autogen.sh"
    ./autogen.sh || { echo "run-all.sh: ./autogen.sh failed" >&2; echo "0 passed, 1 failed"; exit 1; }
fi
if [ -f config.status ]; then
    echo "run-all.sh: the source tree was configured in place; run 'make distclean' here first" >&2
    echo "0 passed, 1 failed"
    exit 1
fi

# Reconfigure when there is no configured build, when configure is newer
# than it, or when it was configured with other flags.
mkdir -p "$build"
need_configure=no
had_build=no
[ -f "$build/Makefile" ] && had_build=yes
if [ ! -f "$build/config.status" ] || [ ! -f "$build/Makefile" ] ||
   [ configure -nt "$build/config.status" ]; then
    need_configure=yes
elif [ "$(cat "$build/.run-all-flags" 2>/dev/null)" != "$want_flags" ]; then
    need_configure=yes
fi
if [ $need_configure = yes ]; then
    echo "run-all.sh: configuring in $build/ ($want_flags)"
    rm -f "$build/.run-all-flags"
    # eval: CONFIGURE_FLAGS may hold quoted words (CFLAGS="-O1 -g").
    (cd "$build" && eval "../configure $want_flags") || {
        echo "run-all.sh: configure failed (see $build/config.log)" >&2
        echo "0 passed, 1 failed"
        exit 1
    }
    echo "$want_flags" > "$build/.run-all-flags"
    # Objects built with other flags are not rebuilt by make on its own.
    [ "$had_build" = no ] || make -C "$build" clean >/dev/null
fi

# Logs left from an earlier run must not be counted if this one fails early.
rm -f "$build"/tests/*/*.log "$build"/tests/*/*.trs "$build"/test-suite.log

status=0
if ! make -C "$build" -j2; then
    echo "run-all.sh: the build failed" >&2
    echo "0 passed, 1 failed"
    exit 1
fi
ra_start_servers
make -C "$build" -j2 check
check_status=$?
[ $check_status -eq 0 ] || status=1
# Memory errors and leaks: the core's and the SQLite driver's tests again,
# under valgrind (ROWSYNC_VALGRIND=no skips it).
if [ "${ROWSYNC_VALGRIND:-yes}" != no ]; then
    bash "$srcdir/tests/valgrind.sh" "$build" || status=1
fi

# Show what failed: the log of every test program the harness marked so.
for trs in "$build"/tests/*/*.trs; do
    [ -f "$trs" ] || continue
    if grep -Eq '^:test-result: (FAIL|ERROR|XPASS)' "$trs"; then
        log=${trs%.trs}.log
        echo "======== ${log#"$build"/} ========"
        cat "$log" 2>/dev/null || echo "(no log)"
    fi
done
[ $check_status -eq 0 ] || echo "run-all.sh: make check failed (status $check_status)" >&2

ra_finish "$status"
