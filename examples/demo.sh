#!/bin/sh
# examples/demo.sh: rowsync in one minute, on two SQLite files.
#
# Makes two databases with the same ten rows, installs capture with
# `rowsync init`, changes row 6 on both sides (branch last) and row 7 on
# both sides (shop last), runs one `rowsync sync` and shows that both
# files end up identical, each conflict won by the later change.
#
# Uses the build in _build/ when there is one (no install needed), else the
# rowsync on PATH; ROWSYNC=/path/to/rowsync (or ROWSYNC_BIN, as set by
# `make check`) overrides both. Needs the sqlite3 command. ROWSYNC_DEMO_KEEP=1 keeps the temporary directory.
# Exits 0 when the two databases agree after the sync, 1 otherwise.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")

if [ -n "${ROWSYNC:-}" ]; then
    rowsync=$ROWSYNC
elif [ -n "${ROWSYNC_BIN:-}" ]; then
    # under `make check` (AM_TESTS_ENVIRONMENT sets the module path too)
    rowsync=$ROWSYNC_BIN
elif [ -x "$root/_build/cli/rowsync" ]; then
    rowsync=$root/_build/cli/rowsync
    ROWSYNC_MODULE_PATH=$root/_build/drivers/sqlite${ROWSYNC_MODULE_PATH:+:$ROWSYNC_MODULE_PATH}
    export ROWSYNC_MODULE_PATH
elif command -v rowsync >/dev/null 2>&1; then
    rowsync=$(command -v rowsync)
else
    echo "demo.sh: no rowsync found: build it in _build/ (see README.md) or install it" >&2
    exit 1
fi
if ! command -v sqlite3 >/dev/null 2>&1; then
    echo "demo.sh: the sqlite3 command is missing: apt-get install sqlite3" >&2
    exit 1
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/rowsync-demo.XXXXXX")
if [ -n "${ROWSYNC_DEMO_KEEP:-}" ]; then
    trap 'echo "(demo files kept in $dir)"' EXIT
else
    trap 'rm -rf "$dir"' EXIT
fi
cd "$dir"

# Shows a command, then runs it.
demo_run()
{
    echo "\$ rowsync $*"
    "$rowsync" "$@"
}

# Both tables side by side, rows that differ marked.
demo_show()
{
    echo
    echo "--- $1"
    sqlite3 -header -column shop.db "
        ATTACH 'branch.db' AS b;
        SELECT coalesce(s.id, o.id) AS id,
               s.name AS shop_name, s.qty AS shop_qty,
               o.name AS branch_name, o.qty AS branch_qty,
               CASE WHEN s.id IS o.id AND s.name IS o.name AND s.qty IS o.qty
                    THEN '' ELSE '<- differs' END AS note
          FROM main.items AS s FULL JOIN b.items AS o ON s.id = o.id
         ORDER BY 1;"
    echo
}

# Prints the value of row $2 in database $1 as "name/qty".
demo_row()
{
    sqlite3 "$1" "SELECT name || '/' || qty FROM items WHERE id = $2;"
}

echo "rowsync demo: $("$rowsync" --version 2>/dev/null | head -n 1) in $dir"
echo

# Two databases with the same ten rows; rowsync creates no database.
for db in shop.db branch.db; do
    sqlite3 "$db" "
        CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT, qty INTEGER);
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10)
        INSERT INTO items SELECT i, 'item ' || i, i * 10 FROM n;"
done
# The job file is examples/bidirectional.conf: nodes shop and branch.
cp "$here/bidirectional.conf" job.conf
echo "job file job.conf: bidirectional, nodes shop (shop.db) and branch (branch.db), table items"
echo

demo_run check job.conf
echo
demo_run init job.conf

# The seed scenario. Any program may write to the databases: the triggers
# installed by init record each change with the time it was made.
sqlite3 shop.db   "UPDATE items SET name = 'six (shop)',     qty = 61 WHERE id = 6;"
sleep 0.1
sqlite3 branch.db "UPDATE items SET name = 'six (branch)',   qty = 62 WHERE id = 6;"
sqlite3 branch.db "UPDATE items SET name = 'seven (branch)', qty = 71 WHERE id = 7;"
sleep 0.1
sqlite3 shop.db   "UPDATE items SET name = 'seven (shop)',   qty = 72 WHERE id = 7;"
echo
echo "changed row 6 on shop, then 0.1 s later on branch;"
echo "changed row 7 on branch, then 0.1 s later on shop."
echo
echo "--- what the triggers captured, in time order (history tables, UTC)"
sqlite3 -header -column shop.db "
    ATTACH 'branch.db' AS b;
    SELECT strftime('%H:%M:%f', time_us / 1000000.0, 'unixepoch') AS time,
           node, k1 AS id,
           CASE op WHEN 1 THEN 'insert' WHEN 2 THEN 'update' ELSE 'delete' END AS change
      FROM (SELECT 'shop' AS node, * FROM main.rowsync_h_items
            UNION ALL
            SELECT 'branch', * FROM b.rowsync_h_items)
     WHERE k1 IN (6, 7) ORDER BY time_us;" 2>/dev/null ||
    echo "(the history tables could not be read)"

demo_show "before the sync"
demo_run sync job.conf
demo_show "after the sync"
demo_run status job.conf
echo

s6=$(demo_row shop.db 6); b6=$(demo_row branch.db 6)
s7=$(demo_row shop.db 7); b7=$(demo_row branch.db 7)
echo "row 6: both sides changed it; branch changed it last, so branch's value wins: shop has $s6, branch has $b6"
echo "row 7: both sides changed it; shop changed it last, so shop's value wins: shop has $s7, branch has $b7"
echo "(rule 'latest': of two conflicting changes the later one wins; each conflict is"
echo " recorded and counted in 'rowsync status')"

differ=$(sqlite3 shop.db "
    ATTACH 'branch.db' AS b;
    SELECT (SELECT count(*) FROM (SELECT * FROM main.items EXCEPT SELECT * FROM b.items))
         + (SELECT count(*) FROM (SELECT * FROM b.items EXCEPT SELECT * FROM main.items));")
if [ "$differ" != 0 ]; then
    echo "demo.sh: FAILED: after the sync the two tables still differ in $differ row(s)" >&2
    exit 1
fi
if [ "$s6" != "six (branch)/62" ] || [ "$s7" != "seven (shop)/72" ]; then
    echo "demo.sh: FAILED: the tables agree, but not on the later changes" >&2
    exit 1
fi
echo
echo "demo: OK, shop.db and branch.db are identical"
