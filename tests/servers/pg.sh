#!/bin/sh
# Throwaway PostgreSQL for the tests: `pg.sh start DIR` / `pg.sh stop DIR` /
# `pg.sh resume DIR`.
# Listens on 127.0.0.1:$ROWSYNC_PG_PORT (default 56432) only, data in DIR
# (a temporary directory). Works as root (initdb runs as postgres).
# On start it creates role rowsync (password rowsync) and databases
# rowsync_a, rowsync_b, rowsync_c owned by it, and writes DIR/env with the
# variables the test programs read, and DIR/port. `resume` starts a stopped
# instance again: same data, same port (read from DIR/port).
set -eu
cmd=${1:?usage: pg.sh start|stop|resume DIR}
dir=${2:?usage: pg.sh start|stop|resume DIR}
port=${ROWSYNC_PG_PORT:-56432}
bindir=${PG_BINDIR:-$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)}
[ -x "$bindir/initdb" ] || bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$bindir/initdb" ] || { echo "pg.sh: initdb not found (apt-get install postgresql)" >&2; exit 1; }

as_pg() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# Starts the server on the data in $dir/data and waits until it accepts
# connections.
pg_launch() {
    as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-p $port -k $dir/sock -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=50" \
        start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
}

case $cmd in
start)
    mkdir -p "$dir/data" "$dir/sock"
    [ "$(id -u)" = 0 ] && chown -R postgres:postgres "$dir"
    as_pg "$bindir/initdb" -D "$dir/data" -U postgres --auth-local=trust \
        --auth-host=scram-sha-256 --no-sync -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
        { cat "$dir/initdb.log" >&2; exit 1; }
    pg_launch
    echo "$port" >"$dir/port"
    psql -X -q -h "$dir/sock" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 \
        -c "CREATE ROLE rowsync LOGIN PASSWORD 'rowsync'" \
        -c "CREATE DATABASE rowsync_a OWNER rowsync" \
        -c "CREATE DATABASE rowsync_b OWNER rowsync" \
        -c "CREATE DATABASE rowsync_c OWNER rowsync" >/dev/null
    cat >"$dir/env" <<EOT
ROWSYNC_TEST_PG_HOST=127.0.0.1
ROWSYNC_TEST_PG_PORT=$port
ROWSYNC_TEST_PG_USER=rowsync
ROWSYNC_TEST_PG_PASSWORD=rowsync
ROWSYNC_TEST_PG_SOCKET=$dir/sock
EOT
    echo "pg.sh: PostgreSQL listening on 127.0.0.1:$port (data in $dir)"
    ;;
stop)
    [ -f "$dir/data/postmaster.pid" ] || exit 0
    as_pg "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null
    ;;
resume)
    [ -f "$dir/data/PG_VERSION" ] || { echo "pg.sh: no instance in $dir (run pg.sh start $dir)" >&2; exit 1; }
    [ -f "$dir/port" ] && port=$(cat "$dir/port")
    if [ -f "$dir/data/postmaster.pid" ] &&
        as_pg "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
        echo "pg.sh: PostgreSQL in $dir is running already"
        exit 0
    fi
    pg_launch
    echo "pg.sh: PostgreSQL listening on 127.0.0.1:$port again (data in $dir)"
    ;;
*)
    echo "usage: pg.sh start|stop|resume DIR" >&2
    exit 2
    ;;
esac
