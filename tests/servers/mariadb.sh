#!/bin/sh
# Throwaway MariaDB for the tests: `mariadb.sh start DIR` / `mariadb.sh stop DIR`
# / `mariadb.sh resume DIR`.
# Listens on 127.0.0.1:$ROWSYNC_MY_PORT (default 56306) only, data in DIR.
# Works as root. On start it creates user rowsync (password rowsync) with
# databases rowsync_a, rowsync_b, rowsync_c (and the binlog privileges
# capture = binlog needs: REPLICATION SLAVE, BINLOG MONITOR; BINLOG ADMIN
# and RELOAD for tests that switch binlog settings and rotate the binlog),
# and writes DIR/env and DIR/port. `resume` starts a stopped instance again: same data, same port
# (read from DIR/port).
set -eu
cmd=${1:?usage: mariadb.sh start|stop|resume DIR}
dir=${2:?usage: mariadb.sh start|stop|resume DIR}
port=${ROWSYNC_MY_PORT:-56306}
sock=$dir/mysqld.sock

# Starts mariadbd on the data in $dir/data in the background and waits
# until it answers.
my_launch() {
    command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ] ||
        { echo "mariadb.sh: mariadbd not found (apt-get install mariadb-server)" >&2; exit 1; }
    PATH=$PATH:/usr/sbin
    # Temporary files stay in the server's directory (a cleaner of /tmp
    # cannot pull them away), and the server's local time is 9 hours
    # east of UTC, so code that mixes up local time and UTC fails here.
    # The server writes a row-based binary log (capture = binlog reads
    # it); with it, creating triggers needs SUPER unless functions and
    # triggers are trusted.
    mkdir -p "$dir/tmp"
    TZ=JST-9 mariadbd --no-defaults --datadir="$dir/data" --user="$(id -un)" \
        --socket="$sock" --tmpdir="$dir/tmp" \
        --port="$port" --bind-address=127.0.0.1 --skip-name-resolve \
        --pid-file="$dir/mariadbd.pid" --log-error="$dir/error.log" \
        --innodb-flush-log-at-trx-commit=0 --innodb-buffer-pool-size=64M \
        --character-set-server=utf8mb4 --collation-server=utf8mb4_bin \
        --log-bin="$dir/data/binlog" --binlog-format=ROW --server-id=1 \
        --log-bin-trust-function-creators=1 \
        >/dev/null 2>&1 &
    echo $! >"$dir/mariadbd.bgpid"
    i=0
    until mariadb-admin --no-defaults --socket="$sock" -uroot ping >/dev/null 2>&1; do
        i=$((i + 1))
        if [ $i -gt 120 ] || ! kill -0 "$(cat "$dir/mariadbd.bgpid")" 2>/dev/null; then
            echo "mariadb.sh: server did not start:" >&2
            cat "$dir/error.log" >&2
            exit 1
        fi
        sleep 0.5
    done
}

case $cmd in
start)
    command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ] ||
        { echo "mariadb.sh: mariadbd not found (apt-get install mariadb-server)" >&2; exit 1; }
    PATH=$PATH:/usr/sbin
    mkdir -p "$dir/data"
    mariadb-install-db --no-defaults --datadir="$dir/data" --user="$(id -un)" \
        --skip-test-db --auth-root-authentication-method=socket >"$dir/install.log" 2>&1 ||
        { cat "$dir/install.log" >&2; exit 1; }
    my_launch
    echo "$port" >"$dir/port"
    mariadb --no-defaults --socket="$sock" -uroot -e "
        CREATE DATABASE rowsync_a; CREATE DATABASE rowsync_b; CREATE DATABASE rowsync_c;
        CREATE USER 'rowsync'@'127.0.0.1' IDENTIFIED BY 'rowsync';
        CREATE USER 'rowsync'@'localhost' IDENTIFIED BY 'rowsync';
        GRANT ALL PRIVILEGES ON \`rowsync\\_%\`.* TO 'rowsync'@'127.0.0.1', 'rowsync'@'localhost';
        GRANT PROCESS ON *.* TO 'rowsync'@'127.0.0.1', 'rowsync'@'localhost';
        GRANT REPLICATION SLAVE, BINLOG MONITOR, BINLOG ADMIN, RELOAD
            ON *.* TO 'rowsync'@'127.0.0.1', 'rowsync'@'localhost';"
    cat >"$dir/env" <<EOT
ROWSYNC_TEST_MY_HOST=127.0.0.1
ROWSYNC_TEST_MY_PORT=$port
ROWSYNC_TEST_MY_USER=rowsync
ROWSYNC_TEST_MY_PASSWORD=rowsync
ROWSYNC_TEST_MY_SOCKET=$sock
EOT
    echo "mariadb.sh: MariaDB listening on 127.0.0.1:$port (data in $dir)"
    ;;
stop)
    [ -f "$dir/mariadbd.bgpid" ] || exit 0
    pid=$(cat "$dir/mariadbd.bgpid")
    mariadb-admin --no-defaults --socket="$sock" -uroot shutdown >/dev/null 2>&1 || kill "$pid" 2>/dev/null || true
    i=0
    while kill -0 "$pid" 2>/dev/null; do
        i=$((i + 1))
        [ $i -le 60 ] || { kill -9 "$pid" 2>/dev/null; break; }
        sleep 0.5
    done
    rm -f "$dir/mariadbd.bgpid"
    ;;
resume)
    [ -d "$dir/data/mysql" ] || { echo "mariadb.sh: no instance in $dir (run mariadb.sh start $dir)" >&2; exit 1; }
    [ -f "$dir/port" ] && port=$(cat "$dir/port")
    if [ -f "$dir/mariadbd.bgpid" ] && kill -0 "$(cat "$dir/mariadbd.bgpid")" 2>/dev/null; then
        echo "mariadb.sh: MariaDB in $dir is running already"
        exit 0
    fi
    my_launch
    echo "mariadb.sh: MariaDB listening on 127.0.0.1:$port again (data in $dir)"
    ;;
*)
    echo "usage: mariadb.sh start|stop|resume DIR" >&2
    exit 2
    ;;
esac
