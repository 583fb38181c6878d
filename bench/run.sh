#!/bin/bash
# bench/run.sh: rowsync benchmarks (issue 7). Every measurement is timed
# against a baseline in the same run and prints one summary line.
#
#   bench/run.sh BUILDDIR [N]
#
# BUILDDIR is a configured and built tree (cli/rowsync, drivers/*). N is the
# number of changed rows for the sync measurements (default 100000). The
# capture measurements always use 100k-row statements and 10k single-row
# inserts (BENCH_CAPTURE_N changes the 100k).
#
# Environment:
#   BENCH_SERVERS=DIR   use servers already running in DIR/pg and DIR/my
#                       (started with tests/servers/pg.sh and mariadb.sh);
#                       default: start both in a temporary directory on
#                       BENCH_PG_PORT (57500) / BENCH_MY_PORT (57600) and
#                       stop them at the end
#   BENCH_LARGE=M       also run PG->PG sync at M rows (e.g. 1000000) for
#                       the "same peak RSS at 1M" check
#   BENCH_REPEAT=R      capture measurements: best of R runs (default 4: each
#                       table goes first in half of them)
#   BENCH_CAPTURE_ENGINES="mysql-binlog"  capture group: only these engines
#                       (default: pgsql mysql mysql-binlog sqlite;
#                       mysql-binlog is MariaDB with capture = binlog,
#                       the server writing its binlog for both sides)
#   BENCH_SYNC_REPEAT=S sync pairs: rowsync sync and the native copy, each
#                       best of S runs (default R); BENCH_LARGE runs once
#   BENCH_INTERVAL=D    latency: the job's interval (default 5s)
#   BENCH_LAT_SAMPLES=K latency: number of commits measured (default 5)
#   BENCH_BATCH=B       batch_size of every job (default: rowsync's, 10000)
#   BENCH_ONLY="capture sync bidir latency"  run only these groups
#   BENCH_PAIRS="pgsql-pgsql mysql-pgsql"   sync group: only these pairs
#                       (default: pgsql-pgsql mysql-pgsql pgsql-mysql
#                       sqlite-pgsql)
# Needs psql, mariadb, sqlite3, /usr/bin/time (apt-get install time).
set -eu

build=${1:?usage: bench/run.sh BUILDDIR [N]}
build=$(cd "$build" && pwd)
N=${2:-100000}
CN=${BENCH_CAPTURE_N:-100000}
REPEAT=${BENCH_REPEAT:-4}
SYNC_REPEAT=${BENCH_SYNC_REPEAT:-3}
ONLY=${BENCH_ONLY:-capture sync bidir latency}
here=$(cd "$(dirname "$0")" && pwd)
srcdir=$(dirname "$here")

rowsync=$build/cli/rowsync
[ -x "$rowsync" ] || { echo "bench: $rowsync not built" >&2; exit 1; }
# In a build tree cli/rowsync is libtool's shell wrapper, which costs
# 10-35 ms of shell per run before rowsync starts; time the program
# itself, as it runs once installed.
if [ -x "$build/cli/.libs/rowsync" ]; then
    rowsync=$build/cli/.libs/rowsync
    export LD_LIBRARY_PATH=$build/librowsync/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
fi
export ROWSYNC_MODULE_PATH=$build/drivers/sqlite:$build/drivers/pgsql:$build/drivers/mysql
for tool in psql mariadb sqlite3; do
    command -v $tool >/dev/null || { echo "bench: $tool missing" >&2; exit 1; }
done
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time missing (apt-get install time)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/rowsync-bench.XXXXXX")
own_servers=
if [ -n "${BENCH_SERVERS:-}" ]; then
    srv=$BENCH_SERVERS
else
    srv=$work/srv
    own_servers=1
fi

bench_cleanup() {
    if [ -n "${run_pid:-}" ]; then kill "$run_pid" 2>/dev/null || true; fi
    if [ -n "$own_servers" ]; then
        sh "$srcdir/tests/servers/pg.sh" stop "$srv/pg" >/dev/null 2>&1 || true
        sh "$srcdir/tests/servers/mariadb.sh" stop "$srv/my" >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

if [ -n "$own_servers" ]; then
    # initdb runs as postgres when we are root: it must reach $srv
    chmod 755 "$work"
    mkdir -p "$srv"
    ROWSYNC_PG_PORT=${BENCH_PG_PORT:-57500} sh "$srcdir/tests/servers/pg.sh" start "$srv/pg" >/dev/null
    ROWSYNC_MY_PORT=${BENCH_MY_PORT:-57600} sh "$srcdir/tests/servers/mariadb.sh" start "$srv/my" >/dev/null
fi
PGPORT=$(cat "$srv/pg/port")
MYPORT=$(cat "$srv/my/port")
PGSOCK=$srv/pg/sock
MYSOCK=$srv/my/mysqld.sock
export BENCH_PW=rowsync

# --- helpers --------------------------------------------------------------

# Seconds since the epoch with nanoseconds.
now() { date +%s.%N; }
# Difference of two times, in seconds with 3 decimals.
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
# Runs a command, sets $T to its wall-clock seconds.
timeit() { local t0; t0=$(now); "$@"; T=$(elapsed "$t0" "$(now)"); }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
rate() { awk -v n="$1" -v t="$2" 'BEGIN { printf "%.0f", (t > 0 ? n / t : 0) }'; }
minof() { printf '%s\n' "$@" | sort -g | head -n 1; }
human() { awk -v n="$1" 'BEGIN { if (n >= 1000000 && n % 1000000 == 0) printf "%dM", n / 1000000;
                                  else if (n >= 1000 && n % 1000 == 0) printf "%dk", n / 1000;
                                  else printf "%d", n }'; }

# SQL on PostgreSQL database $1 (Unix socket, trust), tuples only.
pg() { local db=$1; shift; PGOPTIONS="-c client_min_messages=warning -c search_path=public" psql -X -q -At -v ON_ERROR_STOP=1 -h "$PGSOCK" -p "$PGPORT" -U rowsync -d "$db" "$@"; }
# SQL on MariaDB database $1 (Unix socket).
my() { local db=$1; shift; MYSQL_PWD=rowsync mariadb --no-defaults -S "$MYSOCK" -urowsync -N -B -D "$db" "$@"; }
# SQL on SQLite file $1.
lite() { sqlite3 -batch "$@"; }

# Table definitions, the same five columns on every database.
pg_create() { pg "$1" -c "DROP TABLE IF EXISTS $2; CREATE TABLE $2 (id int PRIMARY KEY, a int NOT NULL, b text NOT NULL, c double precision NOT NULL, d timestamp NOT NULL)"; }
my_create() { my "$1" -e "DROP TABLE IF EXISTS $2; CREATE TABLE $2 (id INT PRIMARY KEY, a INT NOT NULL, b VARCHAR(64) NOT NULL, c DOUBLE NOT NULL, d DATETIME(6) NOT NULL) ENGINE=InnoDB"; }
lite_create() { lite "$1" "DROP TABLE IF EXISTS $2; CREATE TABLE $2 (id INTEGER PRIMARY KEY, a INTEGER NOT NULL, b TEXT NOT NULL, c REAL NOT NULL, d DATETIME NOT NULL)"; }

# One statement inserting ids $3..$4 into table $2.
pg_bulk() { pg "$1" -c "INSERT INTO $2 SELECT g, g % 1000, md5(g::text), g * 1.5, timestamp '2026-01-01' + g * interval '1 second' FROM generate_series($3, $4) g"; }
my_bulk() { my "$1" -e "INSERT INTO $2 SELECT seq, seq % 1000, md5(seq), seq * 1.5, TIMESTAMP'2026-01-01 00:00:00' + INTERVAL seq SECOND FROM seq_$3_to_$4"; }
lite_bulk() { lite "$1" "WITH RECURSIVE s(g) AS (SELECT $3 UNION ALL SELECT g + 1 FROM s WHERE g < $4) INSERT INTO $2 SELECT g, g % 1000, printf('%032x', g * 7919), g * 1.5, datetime('2026-01-01', '+' || g || ' seconds') FROM s"; }

# A file of K single-row INSERTs of table $1 in one transaction, ids from $2.
singles_file() {
    awk -v t="$1" -v lo="$2" -v k="$3" 'BEGIN {
        print "BEGIN;";
        for (i = lo; i < lo + k; i++)
            printf "INSERT INTO %s VALUES (%d, %d, '\''row %d'\'', %d.5, '\''2026-01-01 00:00:00'\'');\n", t, i, i % 1000, i, i;
        print "COMMIT;" }' >"$4"
}

# Node sections of a job file.
pg_node() { printf '[node %s]\ndriver = pgsql\nhost = 127.0.0.1\nport = %s\ndatabase = %s\nuser = rowsync\npassword_env = BENCH_PW\n\n' "$1" "$PGPORT" "$2"; }
my_node() { printf '[node %s]\ndriver = mysql\nhost = 127.0.0.1\nport = %s\ndatabase = %s\nuser = rowsync\npassword_env = BENCH_PW\n\n' "$1" "$MYPORT" "$2"; }
lite_node() { printf '[node %s]\ndriver = sqlite\npath = %s\n\n' "$1" "$2"; }

# Writes job file $1: mode $2, source $3, table $4, interval $5; node
# sections come on stdin.
job_file() {
    { printf '[job]\nmode = %s\nsource = %s\ninterval = %s\n' "$2" "$3" "$5"
      [ -z "${BENCH_BATCH:-}" ] || printf 'batch_size = %s\n' "$BENCH_BATCH"
      echo; cat; printf '[table %s]\n' "$4"; } >"$1"
}

rs() { "$rowsync" -q "$@"; }

echo "rowsync bench: N=$N, capture statements of $CN rows, $(nproc) cores, $(date -u '+%Y-%m-%d %H:%M UTC')"

# --- capture overhead -----------------------------------------------------

# Times bulk insert, bulk update and 10k single inserts on a plain and a
# captured table, best of $REPEAT, for engine $1 (pgsql, mysql, sqlite).
capture_engine() {
    local eng=$1 db create bulk hist singles side
    local -A best
    case $eng in
    pgsql) db=rowsync_a; create=pg_create; bulk=pg_bulk; hist='rowsync."h_public_bench_cap"'
        pg_create rowsync_b bench_cap
        { pg_node a rowsync_a; pg_node b rowsync_b; } | job_file "$work/cap.conf" one-way a bench_cap 5s ;;
    mysql) db=rowsync_a; create=my_create; bulk=my_bulk; hist=rowsync_h_bench_cap
        my_create rowsync_b bench_cap
        { my_node a rowsync_a; my_node b rowsync_b; } | job_file "$work/cap.conf" one-way a bench_cap 5s ;;
    mysql-binlog) db=rowsync_a; create=my_create; bulk=my_bulk; hist=rowsync_h_bench_cap
        my_create rowsync_b bench_cap
        { my_node a rowsync_a | sed '$d'; printf 'capture = binlog\n\n'; my_node b rowsync_b; } |
            job_file "$work/cap.conf" one-way a bench_cap 5s ;;
    sqlite) db=$work/cap_a.db; create=lite_create; bulk=lite_bulk; hist=rowsync_h_bench_cap
        : >"$work/cap_b.db"; lite_create "$work/cap_b.db" bench_cap
        { lite_node a "$work/cap_a.db"; lite_node b "$work/cap_b.db"; } | job_file "$work/cap.conf" one-way a bench_cap 5s ;;
    esac
    $create "$db" bench_plain
    $create "$db" bench_cap
    rs init "$work/cap.conf" >/dev/null
    singles=$work/singles_$eng.sql
    local rep order
    for rep in $(seq 1 "$REPEAT"); do
        # alternate which table goes first: the second statement of a
        # round runs while the server still cleans up after the first
        # (purge, checkpoint), which would always tax the same side
        if [ $((rep % 2)) = 1 ]; then order="plain cap"; else order="cap plain"; fi
        for side in $order; do
            cap_reset "$eng" "$db" "$side" "$hist"
            timeit $bulk "$db" "bench_$side" 1 "$CN"; best[ins_$side]="${best[ins_$side]:-} $T"
            if [ "$eng" = mysql-binlog ] && [ "$side" = cap ]; then
                # the history fills when rowsync reads the binlog: status
                # counts the history, after reading the binlog to its end
                timeit rs status "$work/cap.conf" >/dev/null
                best[ingest]="${best[ingest]:-} $T"
            fi
            [ "$side" = plain ] || cap_check "$eng" "$db" "$hist" "$CN"
            case $eng in
            pgsql) timeit pg "$db" -c "UPDATE bench_$side SET a = a + 1, c = c + 1" ;;
            mysql|mysql-binlog) timeit my "$db" -e "UPDATE bench_$side SET a = a + 1, c = c + 1" ;;
            sqlite) timeit lite "$db" "UPDATE bench_$side SET a = a + 1, c = c + 1" ;;
            esac
            best[upd_$side]="${best[upd_$side]:-} $T"
            cap_reset "$eng" "$db" "$side" "$hist"
            singles_file "bench_$side" 1 10000 "$singles"
            case $eng in
            pgsql) timeit pg "$db" -f "$singles" ;;
            mysql|mysql-binlog) timeit my "$db" -e "source $singles" ;;
            sqlite) timeit lite "$db" ".read $singles" ;;
            esac
            best[sgl_$side]="${best[sgl_$side]:-} $T"
        done
    done
    local what label with without
    for what in ins upd sgl; do
        case $what in
        ins) label="bulk-insert $(human "$CN")" ;;
        upd) label="bulk-update $(human "$CN")" ;;
        sgl) label="single-inserts 10k/tx" ;;
        esac
        # shellcheck disable=SC2086
        with=$(minof ${best[${what}_cap]})
        # shellcheck disable=SC2086
        without=$(minof ${best[${what}_plain]})
        if [ "$eng" = mysql-binlog ]; then
            # shellcheck disable=SC2086
            [ "$what" != ins ] || label="$label, ingest $(minof ${best[ingest]}) s"
            label="$label, binlog on for both"
        fi
        echo "capture $eng $label: $(ratio "$with" "$without")x (with $with s, without $without s)"
    done
    [ "$eng" != pgsql ] || pg_capture_server "$db" "$hist"
    rs teardown "$work/cap.conf" >/dev/null
}

# The server's own account of the PostgreSQL bulk insert, steadier than
# the client's clock: EXPLAIN ANALYZE reports the statement's execution
# time and, separately, the capture trigger's. Best of $REPEAT each, the
# two tables taking turns. Database $1, history table $2.
pg_capture_server() {
    local db=$1 hist=$2 rep side out trig=() with=() without=()
    for rep in $(seq 1 "$REPEAT"); do
        for side in plain cap; do
            cap_reset pgsql "$db" "$side" "$hist"
            out=$(pg "$db" -c "EXPLAIN (ANALYZE) INSERT INTO bench_$side SELECT g, g % 1000, md5(g::text), g * 1.5, timestamp '2026-01-01' + g * interval '1 second' FROM generate_series(1, $CN) g")
            if [ "$side" = cap ]; then
                with+=("$(printf '%s\n' "$out" | sed -n 's/^Execution Time: \([0-9.]*\) ms$/\1/p')")
                trig+=("$(printf '%s\n' "$out" | sed -n 's/^Trigger rowsync_capture_ins: time=\([0-9.]*\) .*/\1/p')")
            else
                without+=("$(printf '%s\n' "$out" | sed -n 's/^Execution Time: \([0-9.]*\) ms$/\1/p')")
            fi
        done
    done
    local w wo t
    w=$(minof "${with[@]}"); wo=$(minof "${without[@]}"); t=$(minof "${trig[@]}")
    echo "capture pgsql bulk-insert $(human "$CN"), server side (EXPLAIN ANALYZE): $(ratio "$w" "$wo")x (with $(printf '%.0f' "$w") ms, of which the trigger $(printf '%.0f' "$t") ms; without $(printf '%.0f' "$wo") ms)"
}

# Warns unless history table $3 holds $4 changes (capture really ran).
cap_check() {
    local got
    case $1 in
    # a history row per statement, keys as arrays
    pgsql) got=$(pg "$2" -c "SELECT coalesce(sum(cardinality(k1)), 0) FROM $3") ;;
    mysql|mysql-binlog) got=$(my "$2" -e "SELECT count(*) FROM $3") ;;
    sqlite) got=$(lite "$2" "SELECT count(*) FROM $3") ;;
    esac
    [ "$got" = "$4" ] || echo "bench: WARNING capture $1: history has $got rows, expected $4" >&2
}

# Empties table bench_$3 (and the history when captured) before a run.
cap_reset() {
    local eng=$1 db=$2 side=$3 hist=$4
    case $eng in
    pgsql) pg "$db" -c "TRUNCATE bench_$side" -c "TRUNCATE $hist" -c "VACUUM ANALYZE bench_$side" ;;
    mysql) my "$db" -e "TRUNCATE TABLE bench_$side; TRUNCATE TABLE $hist" ;;
    mysql-binlog) # read what the binlog holds first (the last update and
        # singles), so that the next ingestion reads the next insert only
        rs status "$work/cap.conf" >/dev/null
        my "$db" -e "TRUNCATE TABLE bench_$side; TRUNCATE TABLE $hist" ;;
    sqlite) lite "$db" "DELETE FROM bench_$side; DELETE FROM $hist" ;;
    esac
    # let the server finish what the reset (and, for mysql-binlog, the
    # ingestion of the last statements) left to do in the background,
    # so that it does not run inside the next timed statement
    sleep 0.5
}

# --- sync throughput ------------------------------------------------------

# Count of rows in table $3 of node kind $1 ($2 = database or file).
count_rows() {
    case $1 in
    pgsql) pg "$2" -c "SELECT count(*) FROM $3" ;;
    mysql) my "$2" -e "SELECT count(*) FROM $3" ;;
    sqlite) lite "$2" "SELECT count(*) FROM $3" ;;
    esac
}

# The native copy of table bench_sync from $1/$2 into bench_native of $3/$4:
# export from the source piped into the target's bulk load.
native_copy() {
    local src=$1 sdb=$2 dst=$3 ddb=$4 cols="id, a, b, c, d"
    case $src/$dst in
    pgsql/pgsql) pg "$sdb" -c "COPY bench_sync ($cols) TO STDOUT" | pg "$ddb" -c "COPY bench_native FROM STDIN" ;;
    mysql/pgsql) my "$sdb" -e "SELECT $cols FROM bench_sync" | pg "$ddb" -c "COPY bench_native FROM STDIN" ;;
    sqlite/pgsql) lite -separator "$(printf '\t')" "$sdb" "SELECT $cols FROM bench_sync" | pg "$ddb" -c "COPY bench_native FROM STDIN" ;;
    pgsql/mysql) pg "$sdb" -c "COPY bench_sync ($cols) TO STDOUT" >"$work/native.tsv"
        my "$ddb" --local-infile=1 -e "LOAD DATA LOCAL INFILE '$work/native.tsv' INTO TABLE bench_native" ;;
    esac
}

# Creates the tables of one sync measurement (source bench_sync, target
# bench_sync and bench_native), installs capture and inserts $3 rows on
# the source (untimed). Sets sdb and ddb; writes $work/sync.conf.
sync_setup() {
    local src=$1 dst=$2 n=$3
    case $src in
    pgsql) sdb=rowsync_a; pg_create "$sdb" bench_sync ;;
    mysql) sdb=rowsync_a; my_create "$sdb" bench_sync ;;
    sqlite) sdb=$work/sync_src.db; rm -f "$sdb"; : >"$sdb"; lite_create "$sdb" bench_sync ;;
    esac
    ddb=rowsync_b
    case $dst in
    pgsql) pg_create "$ddb" bench_sync; pg_create "$ddb" bench_native ;;
    mysql) my_create "$ddb" bench_sync; my_create "$ddb" bench_native ;;
    esac
    {
        case $src in pgsql) pg_node s "$sdb" ;; mysql) my_node s "$sdb" ;; sqlite) lite_node s "$sdb" ;; esac
        case $dst in pgsql) pg_node d "$ddb" ;; mysql) my_node d "$ddb" ;; esac
    } | job_file "$work/sync.conf" one-way s bench_sync 5s
    rs init "$work/sync.conf" >/dev/null
    case $src in
    pgsql) pg_bulk "$sdb" bench_sync 1 "$n" ;;
    mysql) my_bulk "$sdb" bench_sync 1 "$n" ;;
    sqlite) lite_bulk "$sdb" bench_sync 1 "$n" ;;
    esac
}

# Removes what sync_setup made.
sync_teardown() {
    local src=$1 dst=$2
    rs teardown "$work/sync.conf" >/dev/null
    case $src in
    pgsql) pg "$sdb" -c "DROP TABLE bench_sync" ;;
    mysql) my "$sdb" -e "DROP TABLE bench_sync" ;;
    esac
    case $dst in
    pgsql) pg "$ddb" -c "DROP TABLE bench_sync, bench_native" ;;
    mysql) my "$ddb" -e "DROP TABLE bench_sync, bench_native" ;;
    esac
}

# One-way sync of $3 rows from kind $1 to kind $2 (pgsql, mysql, sqlite):
# rowsync sync under /usr/bin/time against the native copy. Both sides
# are the best of $SYNC_REPEAT runs (each rowsync run on freshly made
# tables and history); RSS and CPU are those of the best rowsync run.
sync_pair() {
    local src=$1 dst=$2 n=$3 reps=$4 sdb ddb t_rs= t_nat rss cpu got nat= all= r
    for r in $(seq 1 "$reps"); do
        [ "$r" = 1 ] || sync_teardown "$src" "$dst"
        sync_setup "$src" "$dst" "$n"
        timeit /usr/bin/time -v -o "$work/time.txt" "$rowsync" -q sync "$work/sync.conf" >"$work/sync.out"
        got=$(count_rows "$dst" "$ddb" bench_sync)
        if [ "$got" != "$n" ]; then
            # A pass stops at the commit horizon: a transaction open
            # elsewhere on the server can leave rows for the next pass.
            # Such a sample did not move N rows and is left out of the best.
            echo "bench: WARNING $src->$dst: one pass moved $got of $n rows; sample ($T s) left out" >&2
            all="$all (${T}, $got rows)"
            continue
        fi
        all="$all $T"
        if [ -z "$t_rs" ] || awk -v a="$T" -v b="$t_rs" 'BEGIN { exit !(a < b) }'; then
            t_rs=$T
            rss=$(awk -F: '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }' "$work/time.txt")
            cpu=$(awk -F: '/User time|System time/ { s += $2 } END { printf "%.2f", s }' "$work/time.txt")
        fi
    done
    if [ -z "$t_rs" ]; then
        echo "sync $src->$dst $(human "$n"): no pass moved all rows (rowsync:$all s)"
        sync_teardown "$src" "$dst"
        return
    fi
    # The native copy: best of $SYNC_REPEAT too.
    for _ in $(seq 1 "$reps"); do
        case $dst in
        pgsql) pg "$ddb" -c "TRUNCATE bench_native" ;;
        mysql) my "$ddb" -e "TRUNCATE TABLE bench_native" ;;
        esac
        timeit native_copy "$src" "$sdb" "$dst" "$ddb"
        nat="$nat $T"
    done
    # shellcheck disable=SC2086
    t_nat=$(minof $nat)
    got=$(count_rows "$dst" "$ddb" bench_native)
    [ "$got" = "$n" ] || echo "bench: WARNING $src->$dst native copy: $got rows, expected $n" >&2
    local how
    case $dst in pgsql) how=COPY ;; mysql) how="LOAD DATA LOCAL" ;; esac
    echo "sync $src->$dst $(human "$n"): $(rate "$n" "$t_rs") rows/s ($t_rs s); native $how $(rate "$n" "$t_nat") rows/s ($t_nat s); ratio $(ratio "$t_rs" "$t_nat")x (best of $reps; rowsync:$all s; native:$nat s)"
    echo "memory $src->$dst $(human "$n"): peak RSS of rowsync sync $rss MiB (rowsync process CPU $cpu s of $t_rs s wall)"
    sync_teardown "$src" "$dst"
}

# --- bidirectional round --------------------------------------------------

# N/2 changes on each of two PostgreSQL nodes, 10% of each side's keys
# also changed on the other side (the later side, b, wins them).
bidir_round() {
    local n=$1 h c lo hi t_rs t_nat sa sb
    h=$((n / 2)); c=$((h / 10)); lo=$((h - c + 1)); hi=$((2 * h - c))
    for db in rowsync_a rowsync_c; do
        pg_create $db bench_bi; pg_create $db bench_native
    done
    { pg_node a rowsync_a; pg_node b rowsync_c; } | job_file "$work/bi.conf" bidirectional a bench_bi 5s
    rs init "$work/bi.conf" >/dev/null
    pg_bulk rowsync_a bench_bi 1 "$h"
    pg rowsync_c -c "INSERT INTO bench_bi SELECT g, g % 1000 + 1, md5('b' || g), g * 2.5, timestamp '2026-06-01' + g * interval '1 second' FROM generate_series($lo, $hi) g"
    timeit "$rowsync" -q sync "$work/bi.conf" >"$work/bi.out"
    t_rs=$T
    sa=$(pg rowsync_a -c "SELECT count(*) || ' ' || md5(string_agg(bench_bi::text, ',' ORDER BY id)) FROM bench_bi")
    sb=$(pg rowsync_c -c "SELECT count(*) || ' ' || md5(string_agg(bench_bi::text, ',' ORDER BY id)) FROM bench_bi")
    local conv=converged
    [ "$sa" = "$sb" ] && [ "${sa%% *}" = "$hi" ] || conv="NOT converged (a: $sa, b: $sb)"
    # Native: each side's own rows copied into the other side.
    timeit bidir_native "$h" "$lo"
    t_nat=$T
    echo "bidir pgsql<->pgsql $(human "$h")+$(human "$h") changes, $(human "$c") conflicting keys: $(rate $((2 * h)) "$t_rs") changes/s ($t_rs s, $conv); native 2x COPY $(rate $((2 * h)) "$t_nat") rows/s ($t_nat s); ratio $(ratio "$t_rs" "$t_nat")x"
    rs teardown "$work/bi.conf" >/dev/null
    for db in rowsync_a rowsync_c; do pg $db -c "DROP TABLE bench_bi, bench_native"; done
}

bidir_native() {
    pg rowsync_a -c "COPY (SELECT * FROM bench_bi WHERE id <= $1) TO STDOUT" | pg rowsync_c -c "COPY bench_native FROM STDIN"
    pg rowsync_c -c "COPY (SELECT * FROM bench_bi WHERE id >= $2) TO STDOUT" | pg rowsync_a -c "COPY bench_native FROM STDIN"
}

# --- latency --------------------------------------------------------------

# rowsync run PG->PG: from a committed insert on a to the row visible on b.
latency_run() {
    local interval=${BENCH_INTERVAL:-5s} k=${BENCH_LAT_SAMPLES:-5} i t0 t lat=
    pg_create rowsync_a bench_lat; pg_create rowsync_b bench_lat
    { pg_node a rowsync_a; pg_node b rowsync_b; } | job_file "$work/lat.conf" one-way a bench_lat "$interval"
    rs init "$work/lat.conf" >/dev/null
    "$rowsync" -q run "$work/lat.conf" >"$work/run.out" 2>&1 &
    run_pid=$!
    sleep 1
    for i in $(seq 1 "$k"); do
        sleep "$(awk -v s="$i" 'BEGIN { srand(s); printf "%.2f", 0.3 + rand() * 1.7 }')"
        pg rowsync_a -c "INSERT INTO bench_lat VALUES ($i, 0, 'x', 0, '2026-01-01')"
        t0=$(now)
        until [ "$(pg rowsync_b -c "SELECT count(*) FROM bench_lat WHERE id = $i")" = 1 ]; do
            t=$(elapsed "$t0" "$(now)")
            if awk -v t="$t" 'BEGIN { exit !(t > 60) }'; then echo "bench: latency sample $i timed out" >&2; break; fi
        done
        lat="$lat $(elapsed "$t0" "$(now)")"
    done
    kill "$run_pid" 2>/dev/null || true
    wait "$run_pid" 2>/dev/null || true
    run_pid=
    # shellcheck disable=SC2086
    echo "latency pgsql->pgsql rowsync run (interval $interval): $(printf '%s\n' $lat | awk '{ s += $1; if ($1 > m) m = $1 } END { printf "mean %.3f s, max %.3f s over %d commits", s / NR, m, NR }') (samples:$lat s)"
    rs teardown "$work/lat.conf" >/dev/null
    for db in rowsync_a rowsync_b; do pg $db -c "DROP TABLE bench_lat"; done
}

# --- main -----------------------------------------------------------------

case " $ONLY " in *" capture "*)
    for eng in ${BENCH_CAPTURE_ENGINES:-pgsql mysql mysql-binlog sqlite}; do capture_engine $eng; done
    for db in rowsync_a rowsync_b; do pg $db -c "DROP TABLE IF EXISTS bench_plain, bench_cap"; my $db -e "DROP TABLE IF EXISTS bench_plain, bench_cap"; done ;;
esac
case " $ONLY " in *" sync "*)
    for pair in ${BENCH_PAIRS:-pgsql-pgsql mysql-pgsql pgsql-mysql sqlite-pgsql}; do
        sync_pair "${pair%-*}" "${pair#*-}" "$N" "$SYNC_REPEAT"
    done
    if [ -n "${BENCH_LARGE:-}" ]; then sync_pair pgsql pgsql "$BENCH_LARGE" 1; fi ;;
esac
case " $ONLY " in *" bidir "*) bidir_round "$N" ;; esac
case " $ONLY " in *" latency "*) latency_run ;; esac
