#!/bin/sh
# Out-of-tree plugins (issue 5, item 4): configures and builds rowsync
# from the source tree in a private build directory, installs it into a
# temporary prefix, builds examples/plugin against the installed rowsync
# with its own Makefile (pkg-config --cflags --libs rowsync), installs the
# plugin into the plugin directory, lists it with the installed
# `rowsync drivers` and runs a one-way SQLite sync through it. Prints a
# Check-style summary line.
#
# A private build, not `make install DESTDIR=` from the build directory:
# libtool relinks modules in place on install, which breaks the tests that
# run next to this one under make -j.
#
# Runs from make check (ROWSYNC_SRCDIR comes from AM_TESTS_ENVIRONMENT);
# exit 77 (skip) when sqlite3, pkg-config or the SQLite library is missing.
set -u

fail() {
    echo "out_of_tree: $*" >&2
    echo "0%: Checks: 1, Failures: 1, Errors: 0"
    exit 1
}

: "${ROWSYNC_SRCDIR:?run through make check}"
srcdir=$(cd "$ROWSYNC_SRCDIR" && pwd)
for tool in sqlite3 pkg-config make; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "out_of_tree: SKIP: $tool not found"
        exit 77
    }
done
pkg-config --exists sqlite3 || {
    echo "out_of_tree: SKIP: no sqlite3.pc (libsqlite3-dev)"
    exit 77
}

# make check's jobserver and flags are not for our own builds
unset MAKEFLAGS MFLAGS MAKELEVEL DESTDIR
tmp=$(mktemp -d /tmp/rowsync-oot-XXXXXX) || fail "mktemp failed"
trap 'rm -rf "$tmp"' EXIT INT TERM
prefix="$tmp/prefix"

# 1. configure, build and install (only the SQLite driver is needed)
mkdir "$tmp/build" || fail "mkdir failed"
(cd "$tmp/build" &&
    "$srcdir/configure" --prefix="$prefix" --with-sqlite=yes \
        --with-pgsql=no --with-mysql=no --with-mssql=no &&
    make -j2 install) >"$tmp/install.log" 2>&1 ||
    fail "building and installing rowsync failed: $(tail -30 "$tmp/install.log")"
pc=$(find "$prefix" -name rowsync.pc | head -1)
[ -n "$pc" ] || fail "no rowsync.pc installed under $prefix"

# Only the installed tree: no build-tree module path, pkg-config reads the
# installed rowsync.pc.
unset ROWSYNC_MODULE_PATH
PKG_CONFIG_PATH=$(dirname "$pc")${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
export PKG_CONFIG_PATH
plugindir=$(pkg-config --variable=plugindir rowsync)
case $plugindir in
"$prefix"/*) ;;
*) fail "pkg-config finds another rowsync (plugindir $plugindir)" ;;
esac
rowsync="$prefix/bin/rowsync"
[ -x "$rowsync" ] || fail "no rowsync binary at $rowsync"

# 2. build the example with its own Makefile, outside the tree
cp -R "$srcdir/examples/plugin" "$tmp/plugin"
chmod -R u+w "$tmp/plugin"
make -C "$tmp/plugin" -s clean >/dev/null 2>&1
make -C "$tmp/plugin" >"$tmp/build.log" 2>&1 ||
    fail "building examples/plugin failed: $(cat "$tmp/build.log")"
make -C "$tmp/plugin" install >>"$tmp/build.log" 2>&1 ||
    fail "make install of the plugin failed: $(cat "$tmp/build.log")"
[ -e "$plugindir/trim.so" ] || fail "trim.so is not in $plugindir"

# 3. the installed binary finds its driver and the plugin in the install
# directories
"$rowsync" drivers >"$tmp/drivers.out" 2>&1 ||
    fail "rowsync drivers failed: $(cat "$tmp/drivers.out")"
grep -q "trim" "$tmp/drivers.out" ||
    fail "rowsync drivers does not list trim: $(cat "$tmp/drivers.out")"

# 4. a sync through the plugin
cd "$tmp" || fail "cd $tmp"
cp "$srcdir/examples/plugin/job.conf" job.conf
schema="CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT, email TEXT);"
sqlite3 shop.db "$schema
  INSERT INTO customers VALUES (1, '  Ann  ', ' ann@x ');
  INSERT INTO customers VALUES (2, 'Bob', '   ');" || fail "sqlite3 failed"
sqlite3 branch.db "$schema" || fail "sqlite3 failed"
"$rowsync" init job.conf >"$tmp/run.log" 2>&1 ||
    fail "rowsync init failed: $(cat "$tmp/run.log")"
sqlite3 shop.db "INSERT INTO customers VALUES (3, ' Cid', 'cid@x  ');
  UPDATE customers SET name = 'Ann B  ' WHERE id = 1;" || fail "sqlite3 failed"
"$rowsync" sync job.conf >>"$tmp/run.log" 2>&1 ||
    fail "rowsync sync failed: $(cat "$tmp/run.log")"
got=$(sqlite3 branch.db "SELECT id || '|' || name || '|' || email FROM customers ORDER BY id")
want="1|Ann B|ann@x
3|Cid|cid@x"
[ "$got" = "$want" ] ||
    fail "branch.db holds
$got
expected
$want"

echo "100%: Checks: 1, Failures: 0, Errors: 0"
exit 0
