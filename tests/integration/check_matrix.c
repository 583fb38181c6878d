/* End-to-end tests across database kinds: the rowsync binary syncing
 * SQLite files, PostgreSQL databases and MariaDB/MySQL databases in every
 * combination, inspected with each database's native client.
 *
 * The servers are started by tests/servers/pg.sh and tests/servers/mariadb.sh;
 * their DIR/env files hold the ROWSYNC_TEST_PG_* and ROWSYNC_TEST_MY_*
 * variables this program reads. When they are missing the program fails
 * loudly (one failing test per missing server): a server suite must never
 * look green by skipping. The tests that stop a server in the middle of a
 * pass never stop those shared servers: they start private ones with the
 * same scripts ($ROWSYNC_SRCDIR/tests/servers) on free ports.
 *
 * Every test uses tables of its own name and drops them, with rowsync's
 * capture objects and state rows for them, before it starts, so a rerun
 * against the same servers starts clean. PostgreSQL nodes use databases
 * rowsync_a (and rowsync_b for pg -> pg), MySQL nodes the same; SQLite
 * nodes are files in a fresh temporary directory. The jobs name the
 * password through password_env (ROWSYNC_TEST_PG_PASSWORD /
 * ROWSYNC_TEST_MY_PASSWORD), never in the job file.
 *
 * Rows are compared as canonical text rendered here, not by the drivers:
 * integers as digits, decimals without redundant zeros, doubles with 17
 * significant digits, booleans as true/false, binary as hex, timestamps as
 * ISO text with six fraction digits (with zone: converted to UTC and
 * written ...Z), JSON without insignificant blanks, UUIDs in lower case.
 */
#define _GNU_SOURCE /* strcasestr */
#include <check.h>
#include <ctype.h>
#include <errno.h>
#include <libpq-fe.h>
#include <mysql.h>
#include <netinet/in.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "matrix_util.h"

static void priv_stop_all(void);

static void fx_teardown(void)
{
    priv_stop_all();
    h_rmtree(g_dir);
    free(g_dir);
    free(g_job);
    g_dir = g_job = NULL;
}

/* ---- the pair under test ------------------------------------------------ */

static char g_jobtable[80]; /* its name in the job ([table ...]) */

/* Sets up nodes of kinds k1 and k2 for the table named `table`. Two
 * nodes of the same server kind use databases rowsync_a and rowsync_b;
 * otherwise each uses rowsync_a. Two PostgreSQL nodes name the table
 * schema-qualified (public.t) in the job. The table and its capture
 * objects are dropped on both nodes. */
static void pair_setup_table(const char *table, kind_t k1, kind_t k2)
{
    int same = k1 == k2;
    char name1[32], name2[32];
    snprintf(name1, sizeof name1, "%s%s", kind_short[k1], same ? "_a" : "");
    snprintf(name2, sizeof name2, "%s%s", kind_short[k2], same ? "_b" : "");
    node_init(&g_n1, k1, name1, "rowsync_a");
    node_init(&g_n2, k2, name2, same ? "rowsync_b" : "rowsync_a");
    snprintf(g_table, sizeof g_table, "%s", table);
    snprintf(g_jobtable, sizeof g_jobtable, "%s%s",
             same && k1 == KIND_pgsql ? "public." : "", g_table);
    if (k1 == KIND_sqlite)
        h_sql_create(g_n1.path);
    if (k2 == KIND_sqlite)
        h_sql_create(g_n2.path);
    n_drop_table(&g_n1, g_table);
    n_drop_table(&g_n2, g_table);
}

/* pair_setup_table for table `prefix_<k1>_<k2>`. */
void pair_setup(const char *prefix, kind_t k1, kind_t k2)
{
    char table[64];
    snprintf(table, sizeof table, "%s_%s_%s", prefix, kind_driver(k1),
             kind_driver(k2));
    pair_setup_table(table, k1, k2);
}

/* Extra lines for MariaDB [node] sections ("capture = binlog\n"), or
 * NULL. */
static const char *g_my_extra;

/* The [node] section for n. */
static void node_section(sbuf_t *b, const node_t *n)
{
    sb_printf(b, "[node %s]\ndriver = %s\n", n->name, kind_driver(n->kind));
    if (n->kind == KIND_mysql && g_my_extra != NULL)
        sb_puts(b, g_my_extra);
    if (n->kind == KIND_sqlite) {
        sb_printf(b, "path = %s.db\n", n->name);
    } else {
        const srv_env_t *e = n->kind == KIND_pgsql ? &g_pg : &g_my;
        sb_printf(b,
                  "host = %s\nport = %s\ndatabase = %s\nuser = %s\n"
                  "password_env = ROWSYNC_TEST_%s_PASSWORD\n",
                  e->host, e->port, n->db, e->user,
                  n->kind == KIND_pgsql ? "PG" : "MY");
    }
    sb_puts(b, "\n");
}

/* Writes job.conf for the pair with [table] sections for the ntables
 * names, in that order. One-way jobs flow from node 1; extra lines go into
 * [job]. */
static void write_job_tables(const char *mode, const char *extra,
                             const char *const *tables, int ntables)
{
    sbuf_t b = {0};
    sb_printf(&b, "[job]\nmode = %s\n", mode);
    if (strcmp(mode, "one-way") == 0)
        sb_printf(&b, "source = %s\n", g_n1.name);
    sb_printf(&b, "%s\n", extra ? extra : "");
    node_section(&b, &g_n1);
    node_section(&b, &g_n2);
    for (int i = 0; i < ntables; i++)
        sb_printf(&b, "[table %s]\n", tables[i]);
    h_write_file(g_job, "%s", b.s);
    free(b.s);
}

/* Writes job.conf for the pair and g_jobtable. */
void write_job(const char *mode, const char *extra)
{
    const char *tables[] = {g_jobtable};
    write_job_tables(mode, extra, tables, 1);
}

/* Upserted count from a sync's total line, or -1. */
static long sync_upserted(const char *out)
{
    const char *s = strstr(out, "sync: ");
    long n;
    if (s == NULL || sscanf(s, "sync: %ld upserted", &n) != 1)
        return -1;
    return n;
}

/* ---- one-way between every pair of kinds -------------------------------- */

#define ONEWAY(a, b)                                                           \
    START_TEST(test_oneway_##a##_to_##b)                                       \
    {                                                                          \
        run_oneway(KIND_##a, KIND_##b);                                        \
    }                                                                          \
    END_TEST

ONEWAY(sqlite, sqlite)
ONEWAY(sqlite, pgsql)
ONEWAY(sqlite, mysql)
ONEWAY(pgsql, sqlite)
ONEWAY(pgsql, mysql)
ONEWAY(mysql, sqlite)
ONEWAY(mysql, pgsql)
ONEWAY(pgsql, pgsql)
ONEWAY(mysql, mysql)

/* ---- MariaDB capturing from its binary log ----------------------------- */

/* The one-way seed scenario with the MariaDB source in capture = binlog
 * (no triggers: the history comes from the server's row binlog). */
START_TEST(test_oneway_mysql_binlog_to_pgsql)
{
    g_my_extra = "capture = binlog\n";
    run_oneway(KIND_mysql, KIND_pgsql);
    ck_assert_int_eq(n_int(&g_n1, "SELECT count(*) FROM"
                                  " information_schema.triggers WHERE"
                                  " trigger_schema = DATABASE() AND"
                                  " event_object_table = '%s'",
                           g_table),
                     0);
    g_my_extra = NULL;
}
END_TEST

/* The bidirectional seed scenario with a binlog-capturing MariaDB node:
 * no echo of the applied changes, latest wins. Binlog capture stamps
 * changes with whole seconds, so "later" is 1.1 s later. */
START_TEST(test_bidirectional_mysql_binlog_pgsql)
{
    g_my_extra = "capture = binlog\n";
    run_bidirectional(KIND_mysql, KIND_pgsql, 1100);
    g_my_extra = NULL;
}
END_TEST

/* ---- the bidirectional seed scenario ------------------------------------ */

#define BIDI(a, b)                                                             \
    START_TEST(test_bidirectional_##a##_##b)                                   \
    {                                                                          \
        run_bidirectional(KIND_##a, KIND_##b, 50);                             \
    }                                                                          \
    END_TEST

BIDI(sqlite, sqlite)
BIDI(sqlite, pgsql)
BIDI(sqlite, mysql)
BIDI(pgsql, sqlite)
BIDI(pgsql, pgsql)
BIDI(pgsql, mysql)
BIDI(mysql, sqlite)
BIDI(mysql, pgsql)
BIDI(mysql, mysql)

/* ---- types across kinds -------------------------------------------------
 *
 * One column per value class. Where a kind cannot hold a value natively:
 *  - SQLite stores DECIMAL(p,s) as REAL (15 digits) because of NUMERIC
 *    affinity; DECIMAL_TEXT(30,10) has TEXT affinity and keeps every
 *    digit while rowsync still reads it as decimal. Booleans are 0/1,
 *    dates, timestamps, JSON and UUIDs are text.
 *  - MariaDB/MySQL have no uuid type: CHAR(36). BOOLEAN is TINYINT(1).
 *    JSON is LONGTEXT with a validity check on MariaDB (text kept as
 *    written; MySQL would reformat it, hence blanks are not compared).
 *    TIMESTAMP(6) (the zone-aware type) only holds 1970-01-01 00:00:01 to
 *    2038-01-19 03:14:07.999999 UTC and DATETIME(6) only years 1000-9999,
 *    so the values stay inside those ranges.
 *  - PostgreSQL json (not jsonb) keeps the text and key order as written.
 */

static const col_t type_cols[] = {
    {"id", T_INT, "INTEGER PRIMARY KEY", "integer PRIMARY KEY",
     "INT PRIMARY KEY"},
    {"i64", T_INT, "INTEGER", "bigint", "BIGINT"},
    {"amount", T_DEC, "DECIMAL_TEXT(30,10)", "numeric(30,10)",
     "DECIMAL(30,10)"},
    {"dbl", T_DBL, "REAL", "double precision", "DOUBLE"},
    {"flag", T_BOOL, "BOOLEAN", "boolean", "BOOLEAN"},
    {"txt", T_TEXT, "TEXT", "varchar(200)", "VARCHAR(200)"},
    {"bin", T_BIN, "BLOB", "bytea", "LONGBLOB"},
    {"d", T_DATE, "DATE", "date", "DATE"},
    {"ts", T_TS, "TIMESTAMP", "timestamp(6)", "DATETIME(6)"},
    {"tstz", T_TSTZ, "TIMESTAMPTZ", "timestamptz(6)",
     "TIMESTAMP(6) NULL DEFAULT NULL"},
    {"doc", T_JSON, "JSON", "json", "JSON"},
    {"uid", T_UUID, "UUID", "uuid", "CHAR(36)"},
};
#define N_TYPE_COLS 12

/* The values, kind-neutral: binary as hex, booleans true/false, zone-aware
 * timestamps in UTC with "+00:00". NULL = SQL NULL. */
typedef const char *type_row_t[N_TYPE_COLS];

static const type_row_t type_rows[] = {
    {"1", "9223372036854775807", "12345678901234567890.1234567890",
     "3.141592653589793", "true",
     "Gr\xc3\xbc\xc3\x9f"
     "e \xe2\x80\x94 \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e "
     "\xf0\x9f\x98\x80 \"dq\" 'sq' back\\slash",
     "00ff0000017f80fe", "2024-02-29", "2024-02-29 23:59:59.123456",
     "2024-02-29 23:59:59.654321+00:00",
     "{\"a\": [1, 2.5, null, true], \"s\": \"\xe6\x97\xa5\xe6\x9c\xac "
     "\xf0\x9f\x98\x80\"}",
     "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"},
    {"2", "-9223372036854775808", "-0.0000000001", "-2.5e-07", "false",
     "O'Brien; DROP TABLE x; --", "00", "1970-01-01",
     "1970-01-01 00:00:00.000001", "1970-01-01 00:00:01.000001+00:00", "[]",
     "00000000-0000-0000-0000-000000000000"},
    {"3", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL},
    {"4", "0", "99999999999999999999.9999999999", "1.7976931348623157e+308",
     "true", "tab\tnl\nend \xe2\x9c\x93", "000000", "9999-12-31",
     "9999-12-31 23:59:59.999999", "2038-01-19 03:14:07.999999+00:00",
     "{\"k\": \"v\\\"q\"}", "ffffffff-ffff-ffff-ffff-ffffffffffff"},
    {"5", "-1", "0.0000000001", "1e-300", "false", "", "", "1000-01-01",
     "1000-01-01 00:00:00", "2000-01-01 00:00:00+00:00", "{}",
     "123e4567-e89b-12d3-a456-426614174000"},
    {"6", "42", "-99999999999999999999.9999999999", "0.1", "true", "six", "06",
     "2000-02-29", "2000-02-29 12:00:00.5", "2001-09-09 01:46:40+00:00",
     "{\"n\": 6}", "66666666-6666-4666-8666-666666666666"},
};
#define N_TYPE_ROWS 6

/* Row 1 after the update that travels by sync. */
static const type_row_t type_row1b = {
    "1",
    "9223372036854775807",
    "12345678901234567890.1234567891",
    "3.141592653589793",
    "false",
    "Gr\xc3\xbc\xc3\x9f"
    "e \xe2\x80\x94 \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e "
    "\xf0\x9f\x98\x80 \"dq\" 'sq' back\\slash \xe2\x9c\x93",
    "00ff0000017f80fe00",
    "2024-02-29",
    "2024-02-29 23:59:59.123457",
    "2024-02-29 23:59:59.654322+00:00",
    "{\"a\": [1, 2.5, null, true], \"s\": \"\xe6\x97\xa5\xe6\x9c\xac "
    "\xf0\x9f\x98\x80\"}",
    "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"};

/* Appends value v of type t as an SQL literal for node kind k. */
/* Fails unless node 1's table holds exactly the value rows (so the test's
 * own data went in right and what came back is right) and node 2's
 * equals node 1's. what names the step in the message. */
static void assert_table_is(const char *what, const char *table,
                            const col_t *cols, int ncols, const vrow_t *rows,
                            int nrows)
{
    char *want = expected_dump(cols, ncols, rows, nrows);
    char *a = n_dump(&g_n1, table, cols, ncols);
    char *b = n_dump(&g_n2, table, cols, ncols);
    assert_same_dump(what, "value table", want, g_n1.name, a);
    assert_same_dump(what, g_n1.name, a, g_n2.name, b);
    free(want);
    free(a);
    free(b);
}

static void insert_type_row(const node_t *n, vrow_t row)
{
    insert_row(n, g_table, type_cols, N_TYPE_COLS, row);
}

static void update_type_row(const node_t *n, vrow_t row)
{
    update_row(n, g_table, type_cols, N_TYPE_COLS, row);
}

static void assert_types_are(const char *what, const vrow_t *rows, int nrows)
{
    assert_table_is(what, g_table, type_cols, N_TYPE_COLS, rows, nrows);
}

/* The types table on both nodes of the pair, rows 1 and 6 on node 1. */
static void types_setup(const char *prefix, kind_t k1, kind_t k2)
{
    pair_setup(prefix, k1, k2);
    n_create(&g_n1, g_table, type_cols, N_TYPE_COLS);
    n_create(&g_n2, g_table, type_cols, N_TYPE_COLS);
    insert_type_row(&g_n1, type_rows[0]);
    insert_type_row(&g_n1, type_rows[5]);
}

/* Rows 1 and 6 travel by the initial load; then rows 2-5 are inserted,
 * row 1 updated (every column) and row 6 deleted, and travel by sync. The
 * source is first checked against the value table (the test's own data
 * went in right), then the target against the source. */
static void run_types(const char *prefix, kind_t src, kind_t dst)
{
    types_setup(prefix, src, dst);
    write_job("one-way", NULL);
    h_proc_free(rs_ok("init"));
    const vrow_t loaded[] = {type_rows[0], type_rows[5]};
    assert_types_are("initial load", loaded, 2);

    for (int r = 1; r <= 4; r++)
        insert_type_row(&g_n1, type_rows[r]);
    update_type_row(&g_n1, type_row1b);
    n_exec(&g_n1, "DELETE FROM %s WHERE id = 6", n_table(&g_n1, g_table));
    sync_moves(5, 1, 0);
    const vrow_t final[] = {type_row1b, type_rows[1], type_rows[2],
                            type_rows[3], type_rows[4]};
    assert_types_are("sync", final, 5);
}

#define TYPES(a, b)                                                            \
    START_TEST(test_types_##a##_to_##b)                                        \
    {                                                                          \
        run_types("ty", KIND_##a, KIND_##b);                                   \
    }                                                                          \
    END_TEST

TYPES(sqlite, sqlite)
TYPES(sqlite, pgsql)
TYPES(sqlite, mysql)
TYPES(pgsql, sqlite)
TYPES(pgsql, pgsql)
TYPES(pgsql, mysql)
TYPES(mysql, sqlite)
TYPES(mysql, pgsql)
TYPES(mysql, mysql)

/* Bidirectional, every value type written on each side. Rows 1 and 6,
 * written on node 1, travel by the initial load to the empty node 2. Pass
 * 1: node 1 inserts rows 2 and 3 (3 all NULL) and updates every column of
 * row 1, while node 2 inserts rows 4 and 5 and deletes row 6. Pass 2: node
 * 2 writes row 1's first values back and fills every NULL of row 3 (with
 * row 6's values), while node 1 sets every column of row 2 to NULL. After
 * each pass both nodes hold exactly the value table's rows. */
static void run_types_bidirectional(kind_t k1, kind_t k2)
{
    types_setup("tyb", k1, k2);
    write_job("bidirectional", NULL);
    h_proc_free(rs_ok("init"));
    const vrow_t loaded[] = {type_rows[0], type_rows[5]};
    assert_types_are("initial load", loaded, 2);

    insert_type_row(&g_n1, type_rows[1]);
    insert_type_row(&g_n1, type_rows[2]);
    update_type_row(&g_n1, type_row1b);
    insert_type_row(&g_n2, type_rows[3]);
    insert_type_row(&g_n2, type_rows[4]);
    n_exec(&g_n2, "DELETE FROM %s WHERE id = 6", n_table(&g_n2, g_table));
    sync_moves(5, 1, 0);
    const vrow_t pass1[] = {type_row1b, type_rows[1], type_rows[2],
                            type_rows[3], type_rows[4]};
    assert_types_are("pass 1", pass1, 5);

    const char *row2_null[N_TYPE_COLS] = {"2"};
    const char *row3_full[N_TYPE_COLS];
    memcpy(row3_full, type_rows[5], sizeof row3_full);
    row3_full[0] = "3";
    update_type_row(&g_n2, type_rows[0]);
    update_type_row(&g_n2, row3_full);
    update_type_row(&g_n1, row2_null);
    sync_moves(3, 0, 0);
    const vrow_t pass2[] = {type_rows[0], row2_null, row3_full, type_rows[3],
                            type_rows[4]};
    assert_types_are("pass 2", pass2, 5);
    sync_moves(0, 0, 0);
}

#define TYPES_BIDI(a, b)                                                       \
    START_TEST(test_types_bidirectional_##a##_##b)                             \
    {                                                                          \
        run_types_bidirectional(KIND_##a, KIND_##b);                           \
    }                                                                          \
    END_TEST

TYPES_BIDI(sqlite, sqlite)
TYPES_BIDI(sqlite, pgsql)
TYPES_BIDI(sqlite, mysql)
TYPES_BIDI(pgsql, sqlite)
TYPES_BIDI(pgsql, pgsql)
TYPES_BIDI(pgsql, mysql)
TYPES_BIDI(mysql, sqlite)
TYPES_BIDI(mysql, pgsql)
TYPES_BIDI(mysql, mysql)

/* ---- identifiers and values that need quoting ------------------------------
 *
 * A table whose name holds a space and double quotes, `<pair> odd "name"`
 * (the pair in front keeps each test's table apart and the name still ends
 * in a quote; all three kinds can hold such a name: MariaDB refuses only a
 * trailing space, a dot or a slash), written as-is in the job file's
 * [table NAME] header, with the columns `order`, `select` (SQL keywords),
 * `group by` (a keyword pair with a space) and one holding a single quote,
 * backquotes and double quotes. The values hold quotes,
 * backslashes (also a trailing one), `;`, comment starters, an injection
 * attempt, COPY's null marker \N, dollar quotes, printf conversions;
 * binary holds every byte 0x01..0xFF in one row (and a NUL in another).
 * They must round-trip exactly. */

static const col_t odd_cols[] = {
    {"id", T_INT, "INTEGER PRIMARY KEY", "integer PRIMARY KEY",
     "INT PRIMARY KEY"},
    {"order", T_TEXT, "TEXT", "text", "TEXT"},
    {"select", T_TEXT, "TEXT", "text", "TEXT"},
    {"group by", T_BIN, "BLOB", "bytea", "BLOB"},
    {"it's `odd` \"too\"", T_TEXT, "TEXT", "varchar(40)", "VARCHAR(40)"},
};
#define N_ODD_COLS 5

/* Every byte 0x01..0xFF as hex, filled by odd_values(). */
static char odd_all_bytes[2 * 255 + 1];

typedef const char *odd_row_t[N_ODD_COLS];

static const odd_row_t odd_rows[] = {
    {"1", "it's", "a\\\"b", odd_all_bytes, "`b`"},
    {"2", "back\\slash", "two\\\\back\\", "5c", "\\"},
    {"3", "semi;colon", "--comment", NULL, NULL},
    {"4", "'); DROP TABLE x; --", "\"; DROP TABLE \"x\"; -- /* */",
     "27223b2d2d00ff", "#hash"},
    {"5", "tab\there\nnewline\r\ncrlf", "\\N \\x41 $$dollar$$ `tick` %s %n",
     "0a0d095c4e", "?"},
};

/* Row 1 after an update. */
static const odd_row_t odd_row1b = {"1", "it''s twice ''", "\\\\server\\share",
                                    "ff01", "' OR '1'='1"};

static void odd_values(void)
{
    for (int i = 1; i <= 255; i++)
        snprintf(odd_all_bytes + 2 * (i - 1), 3, "%02x", i);
}

/* Rows 1 and 2, written on node 1, travel by the initial load. Then rows
 * 3-5 are inserted, row 1 is updated and row 2 deleted; bidirectional,
 * node 1 writes rows 3 and 1 and node 2 rows 4 and 5 and the delete, in
 * the same pass. Then row 1 is written back (on node 2 when
 * bidirectional). Both nodes hold exactly the written values after every
 * pass. */
static void run_odd(const char *mode, kind_t k1, kind_t k2)
{
    int bidi = strcmp(mode, "bidirectional") == 0;
    odd_values();
    /* kind_short: SQLite reserves names starting with "sqlite_". */
    char table[64];
    snprintf(table, sizeof table, "%s%s_%s odd \"name\"", bidi ? "bd_" : "",
             kind_short[k1], kind_short[k2]);
    pair_setup_table(table, k1, k2);
    n_create(&g_n1, g_table, odd_cols, N_ODD_COLS);
    n_create(&g_n2, g_table, odd_cols, N_ODD_COLS);
    insert_row(&g_n1, g_table, odd_cols, N_ODD_COLS, odd_rows[0]);
    insert_row(&g_n1, g_table, odd_cols, N_ODD_COLS, odd_rows[1]);
    write_job(mode, NULL);
    h_proc_free(rs_ok("init"));
    const vrow_t loaded[] = {odd_rows[0], odd_rows[1]};
    assert_table_is("initial load", g_table, odd_cols, N_ODD_COLS, loaded, 2);

    const node_t *w2 = bidi ? &g_n2 : &g_n1;
    insert_row(&g_n1, g_table, odd_cols, N_ODD_COLS, odd_rows[2]);
    update_row(&g_n1, g_table, odd_cols, N_ODD_COLS, odd_row1b);
    insert_row(w2, g_table, odd_cols, N_ODD_COLS, odd_rows[3]);
    insert_row(w2, g_table, odd_cols, N_ODD_COLS, odd_rows[4]);
    n_exec(w2, "DELETE FROM %s WHERE id = 2", n_table(w2, g_table));
    sync_moves(4, 1, 0);
    const vrow_t synced[] = {odd_row1b, odd_rows[2], odd_rows[3], odd_rows[4]};
    assert_table_is("sync", g_table, odd_cols, N_ODD_COLS, synced, 4);

    update_row(w2, g_table, odd_cols, N_ODD_COLS, odd_rows[0]);
    sync_moves(1, 0, 0);
    const vrow_t back[] = {odd_rows[0], odd_rows[2], odd_rows[3], odd_rows[4]};
    assert_table_is("row 1 written back", g_table, odd_cols, N_ODD_COLS, back,
                    4);
    sync_moves(0, 0, 0);
}

#define ODD(mode, name, a, b)                                                  \
    START_TEST(test_quoting_##name##_##a##_##b)                                \
    {                                                                          \
        run_odd(mode, KIND_##a, KIND_##b);                                     \
    }                                                                          \
    END_TEST

ODD("one-way", oneway, sqlite, pgsql)
ODD("one-way", oneway, pgsql, mysql)
ODD("one-way", oneway, mysql, sqlite)
ODD("bidirectional", bidirectional, pgsql, mysql)
ODD("bidirectional", bidirectional, sqlite, pgsql)
ODD("bidirectional", bidirectional, mysql, sqlite)

/* The values do not depend on the client environment of the rowsync
 * process: libpq's PGTZ, PGDATESTYLE, PGOPTIONS (float digits, bytea
 * output, date style) and PGCLIENTENCODING, and the process's own TZ. A
 * user's shell may set any of them; the drivers must fix their sessions. */
START_TEST(test_types_ignore_client_environment)
{
    ck_assert_int_eq(setenv("PGTZ", "Asia/Kathmandu", 1), 0);
    ck_assert_int_eq(setenv("PGDATESTYLE", "SQL, DMY", 1), 0);
    ck_assert_int_eq(setenv("PGOPTIONS",
                            "-c extra_float_digits=-15 -c bytea_output=escape"
                            " -c DateStyle=German"
                            " -c IntervalStyle=sql_standard",
                            1),
                     0);
    ck_assert_int_eq(setenv("PGCLIENTENCODING", "LATIN1", 1), 0);
    ck_assert_int_eq(setenv("TZ", "Asia/Kathmandu", 1), 0);
    run_types("tyenv", KIND_pgsql, KIND_mysql);
    run_types("tyenv", KIND_mysql, KIND_pgsql);
    run_types("tyenv", KIND_sqlite, KIND_pgsql);
}
END_TEST

/* ---- connection failures ----------------------------------------------- */

#define SECRET "Zq7-matrix-S3cret-pw-9931"

/* A one-way job from an SQLite node to a node of kind k on a closed port,
 * its password SECRET in $ROWSYNC_TEST_PASSWORD: sync and check exit 1
 * naming the node, host and port, and the password appears nowhere. */
static void run_conn_refused(kind_t k)
{
    node_t lite;
    node_init(&lite, KIND_sqlite, "lite", "");
    h_make_items(lite.path, 3);
    int port = closed_port();
    const char *down = k == KIND_pgsql ? "pgdown" : "mydown";
    h_write_file(g_job,
                 "[job]\nmode = one-way\nsource = lite\n\n"
                 "[node lite]\ndriver = sqlite\npath = lite.db\n\n"
                 "[node %s]\ndriver = %s\nhost = 127.0.0.1\nport = %d\n"
                 "database = rowsync_a\nuser = rowsync\n"
                 "password_env = ROWSYNC_TEST_PASSWORD\nconnect_timeout = 5\n\n"
                 "[table items]\n",
                 down, kind_driver(k), port);
    ck_assert_int_eq(setenv("ROWSYNC_TEST_PASSWORD", SECRET, 1), 0);
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", port);

    const char *cmds[] = {"sync", "check"};
    for (int i = 0; i < 2; i++) {
        h_proc_t *p = h_run(cmds[i], g_job, NULL);
        H_ASSERT_EXIT(p, 1);
        ck_assert_msg(strstr(p->err, "rowsync: error:") != NULL,
                      "no \"rowsync: error:\" line: %s", h_describe(p));
        ck_assert_msg(strstr(p->err, down) && strstr(p->err, "127.0.0.1") &&
                          strstr(p->err, portstr),
                      "%s: message does not name node %s, host 127.0.0.1 and "
                      "port %s: %s",
                      cmds[i], down, portstr, h_describe(p));
        ck_assert_msg(!strstr(p->out, SECRET) && !strstr(p->err, SECRET),
                      "%s: the password appears in the output: %s", cmds[i],
                      h_describe(p));
        h_proc_free(p);
    }
    ck_assert_int_eq(h_rowsync_objects(lite.path), 0);
}

START_TEST(test_conn_refused_pgsql)
{
    run_conn_refused(KIND_pgsql);
}
END_TEST

START_TEST(test_conn_refused_mysql)
{
    run_conn_refused(KIND_mysql);
}
END_TEST

/* ---- crashes and concurrency, PostgreSQL -> MariaDB ---------------------- */

/* A one-way target has no capture of its own, so these tests record what
 * reaches its table themselves: an audit row for every row written. */
static void audit_create(const node_t *n)
{
    const char *t = n_table(n, g_table);
    char *a = h_strf("%s_audit", g_table); /* g_table is a plain name */
    n_exec(n, "DROP TABLE IF EXISTS %s", a); /* from an earlier run */
    n_exec(n, "CREATE TABLE %s (id INTEGER NOT NULL)", a);
    switch (n->kind) {
    case KIND_pgsql:
        n_exec(n, "CREATE OR REPLACE FUNCTION %s_f() RETURNS trigger"
                  " LANGUAGE plpgsql AS $$BEGIN INSERT INTO %s VALUES"
                  " (NEW.id); RETURN NULL; END$$", a, a);
        n_exec(n, "CREATE TRIGGER %s AFTER INSERT OR UPDATE ON %s FOR EACH"
                  " ROW EXECUTE FUNCTION %s_f()", a, t, a);
        break;
    case KIND_mysql:
        n_exec(n, "CREATE TRIGGER %s_ins AFTER INSERT ON %s FOR EACH ROW"
                  " INSERT INTO %s VALUES (NEW.id)", a, t, a);
        n_exec(n, "CREATE TRIGGER %s_upd AFTER UPDATE ON %s FOR EACH ROW"
                  " INSERT INTO %s VALUES (NEW.id)", a, t, a);
        break;
    default:
        n_exec(n, "CREATE TRIGGER %s_ins AFTER INSERT ON %s BEGIN"
                  " INSERT INTO %s VALUES (NEW.id); END", a, t, a);
        n_exec(n, "CREATE TRIGGER %s_upd AFTER UPDATE ON %s BEGIN"
                  " INSERT INTO %s VALUES (NEW.id); END", a, t, a);
        break;
    }
    free(a);
}

/* Rows written on the target's table (distinct = 0) or distinct keys
 * written (distinct = 1), restricted by the SQL condition `where`. */
static int64_t audit_count(int distinct, const char *where)
{
    return n_int(&g_n2, "SELECT count(%s) FROM %s_audit%s%s",
                 distinct ? "DISTINCT id" : "*", g_table,
                 where ? " WHERE " : "", where ? where : "");
}

/* Each of the n keys was written on the target exactly once. */
static void assert_applied_once(int64_t n)
{
    ck_assert_int_eq(audit_count(0, NULL), n);
    ck_assert_int_eq(audit_count(1, NULL), n);
}

/* Empty tables on both, capture installed, then n rows inserted on the
 * PostgreSQL source in one statement. */
static void pg_my_backlog(const char *prefix, int n, const char *job_extra)
{
    pair_setup(prefix, KIND_pgsql, KIND_mysql);
    items_create(&g_n1, 0);
    items_create(&g_n2, 0);
    write_job("one-way", job_extra);
    h_proc_free(rs_ok("init"));
    audit_create(&g_n2);
    n_exec(
        &g_n1,
        "INSERT INTO %s SELECT i, 'row-' || i, i FROM generate_series(1, %d) i",
        n_table(&g_n1, g_table), n);
}

START_TEST(test_kill_9_mid_sync_pgsql_to_mysql)
{
    pg_my_backlog("kill", 30000, "batch_size = 500\n");

    h_proc_t *p = h_start("sync", g_job, NULL);
    int64_t seen = 0, end = h_now_ms() + 60000;
    int killed = 0;
    while (h_running(p) && h_now_ms() < end) {
        int64_t n = 0;
        if (n_try_int(&g_n2, &n, "SELECT count(*) FROM `%s`", g_table) == 0) {
            seen = n;
            if (n > 0 && n < 30000) {
                h_signal(p, SIGKILL);
                killed = 1;
                break;
            }
        }
        h_sleep_ms(1);
    }
    h_wait(p, 10000);
    ck_assert_msg(killed,
                  "could not catch the sync mid-pass (saw %lld rows): %s",
                  (long long)seen, h_describe(p));
    ck_assert_int_eq(p->term_signal, SIGKILL);
    h_proc_free(p);

    int64_t after = n_int(&g_n2, "SELECT count(*) FROM `%s`", g_table);
    ck_assert_msg(after < 30000, "all rows were applied before the kill");
    ck_assert_msg(
        after % 500 == 0,
        "%lld rows on the target after the kill: not whole batches of 500",
        (long long)after);

    h_proc_free(rs_ok("sync"));
    ck_assert_int_eq(n_int(&g_n2, "SELECT count(*) FROM `%s`", g_table), 30000);
    assert_same_items();
    assert_applied_once(30000);
    sync_moves(0, 0, 0);
}
END_TEST

START_TEST(test_two_syncs_at_once_pgsql_to_mysql)
{
    pg_my_backlog("two", 5000, NULL);

    h_proc_t *a = h_start("sync", g_job, NULL);
    h_proc_t *b = h_start("sync", g_job, NULL);
    h_wait(a, H_TIMEOUT_MS);
    h_wait(b, H_TIMEOUT_MS);
    H_ASSERT_EXIT(a, 0);
    H_ASSERT_EXIT(b, 0);
    long ua = sync_upserted(a->out), ub = sync_upserted(b->out);
    ck_assert_msg(
        ua >= 0 && ub >= 0 && ua + ub == 5000,
        "the two passes upserted %ld + %ld rows, expected 5000 in all:\n"
        "%s\n%s",
        ua, ub, a->out, b->out);
    h_proc_free(a);
    h_proc_free(b);
    ck_assert_int_eq(n_int(&g_n2, "SELECT count(*) FROM `%s`", g_table), 5000);
    assert_same_items();
    assert_applied_once(5000);
}
END_TEST

/* ---- commit order ----------------------------------------------------------
 *
 * A change whose transaction commits after a later change's must still
 * travel: the drivers read below a commit-safe horizon (PostgreSQL) or
 * track sequence gaps (MariaDB). Transaction T1 inserts row 100 and stays
 * open while row 101 commits; a sync runs; T1 commits; the next sync
 * delivers whatever is missing, and each key exactly once. */

/* A second session on a server node, outside the cached connections. */
typedef struct side_conn {
    PGconn *pg;
    MYSQL *my;
} side_conn_t;

static void side_open(side_conn_t *sc, const node_t *n)
{
    memset(sc, 0, sizeof *sc);
    if (n->kind == KIND_pgsql) {
        const char *kw[] = {"host", "port", "dbname", "user", "password", NULL};
        const char *val[] = {g_pg.host, g_pg.port,     n->db,
                             g_pg.user, g_pg.password, NULL};
        sc->pg = PQconnectdbParams(kw, val, 0);
        ck_assert_msg(PQstatus(sc->pg) == CONNECTION_OK, "second session: %s",
                      PQerrorMessage(sc->pg));
    } else {
        ck_assert_msg(n->kind == KIND_mysql, "no second session on SQLite");
        sc->my = mysql_init(NULL);
        ck_assert_msg(sc->my && mysql_real_connect(
                                    sc->my, g_my.host, g_my.user, g_my.password,
                                    n->db, (unsigned)atoi(g_my.port), NULL, 0),
                      "second session: %s", mysql_error(sc->my));
    }
}

static void side_exec(side_conn_t *sc, const char *sql)
{
    if (sc->pg) {
        PGresult *r = PQexec(sc->pg, sql);
        ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK,
                      "second session: %s\nin: %s", PQresultErrorMessage(r),
                      sql);
        PQclear(r);
    } else {
        char err[1024];
        ck_assert_msg(my_run(sc->my, sql, err, sizeof err) == 0,
                      "second session: %s\nin: %s", err, sql);
    }
}

static void side_close(side_conn_t *sc)
{
    if (sc->pg)
        PQfinish(sc->pg);
    if (sc->my)
        mysql_close(sc->my);
    memset(sc, 0, sizeof *sc);
}

static void run_commit_order(kind_t src, kind_t dst)
{
    pair_setup("co", src, dst);
    items_create(&g_n1, 10);
    items_create(&g_n2, 0);
    write_job("one-way", NULL);
    h_proc_free(rs_ok("init"));
    audit_create(&g_n2);

    side_conn_t t1;
    side_open(&t1, &g_n1);
    side_exec(&t1, src == KIND_pgsql ? "BEGIN" : "START TRANSACTION");
    char *sql =
        h_strf("INSERT INTO %s (id, name, qty) VALUES (100, 'late', 100)",
               n_table(&g_n1, g_table));
    side_exec(&t1, sql);
    free(sql);
    n_exec(&g_n1, "INSERT INTO %s (id, name, qty) VALUES (101, 'early', 101)",
           n_table(&g_n1, g_table));

    h_proc_t *p = h_start("sync", g_job, NULL);
    h_wait(p, 20000);
    H_ASSERT_EXIT(p, 0);
    h_proc_free(p);
    ck_assert_int_eq(n_int(&g_n2, "SELECT count(*) FROM %s WHERE id = 100",
                           n_table(&g_n2, g_table)),
                     0);

    side_exec(&t1, "COMMIT");
    side_close(&t1);
    h_proc_free(rs_ok("sync"));
    assert_item(&g_n2, 100, "late", 100);
    assert_item(&g_n2, 101, "early", 101);
    assert_same_items();
    ck_assert_int_eq(audit_count(0, "id IN (100, 101)"), 2);
    ck_assert_int_eq(audit_count(1, "id IN (100, 101)"), 2);
    sync_moves(0, 0, 0);
}

START_TEST(test_commit_order_pgsql_to_mysql)
{
    run_commit_order(KIND_pgsql, KIND_mysql);
}
END_TEST

START_TEST(test_commit_order_mysql_to_pgsql)
{
    run_commit_order(KIND_mysql, KIND_pgsql);
}
END_TEST

/* ---- foreign keys ----------------------------------------------------------
 *
 * A parent and a child table with a real FOREIGN KEY (NOT DEFERRABLE, no
 * ON DELETE action) on PostgreSQL and MariaDB (InnoDB). The job file lists
 * the child BEFORE the parent, so only the engine's order, from the
 * drivers' `references`, can make the apply work. Parent p has children
 * 10p+1 and 10p+2. */

static const col_t fk_parent_cols[] = {
    {"id", T_INT, NULL, "integer PRIMARY KEY", "INT PRIMARY KEY"},
    {"name", T_TEXT, NULL, "varchar(50)", "VARCHAR(50)"},
};
static const col_t fk_child_cols[] = {
    {"id", T_INT, NULL, "integer PRIMARY KEY", "INT PRIMARY KEY"},
    {"parent_id", T_INT, NULL, "integer", "INT"},
    {"note", T_TEXT, NULL, "varchar(50)", "VARCHAR(50)"},
};

static char g_parent[64]; /* the parent table; g_table is the child */

/* Creates the parent and the child table on node n (a server). */
static void fk_create(const node_t *n)
{
    ck_assert_msg(n->kind != KIND_sqlite, "foreign key tests need servers");
    n_create(n, g_parent, fk_parent_cols, 2);
    if (n->kind == KIND_pgsql)
        n_exec(n,
               "CREATE TABLE %s (id integer PRIMARY KEY, parent_id integer"
               " NOT NULL REFERENCES %s (id), note varchar(50))",
               n_table(n, g_table), n_table(n, g_parent));
    else
        n_exec(n,
               "CREATE TABLE %s (id INT PRIMARY KEY, parent_id INT NOT NULL,"
               " note VARCHAR(50), FOREIGN KEY (parent_id) REFERENCES %s (id))"
               " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
               n_table(n, g_table), n_table(n, g_parent));
}

/* Tables <prefix>c_<k1>_<k2> (child) and <prefix>p_<k1>_<k2> (parent) on
 * both nodes, empty, and the job (child listed first). */
static void fk_setup(const char *prefix, kind_t k1, kind_t k2, const char *mode)
{
    char child_prefix[32];
    snprintf(child_prefix, sizeof child_prefix, "%sc", prefix);
    pair_setup(child_prefix, k1, k2); /* drops the child first */
    snprintf(g_parent, sizeof g_parent, "%sp_%s_%s", prefix, kind_driver(k1),
             kind_driver(k2));
    n_drop_table(&g_n1, g_parent);
    n_drop_table(&g_n2, g_parent);
    fk_create(&g_n1);
    fk_create(&g_n2);
    const char *tables[] = {g_table, g_parent};
    write_job_tables(mode, NULL, tables, 2);
}

/* One transaction on node n: sql wrapped in BEGIN ... COMMIT. */
static void n_transaction(const node_t *n, const char *sql)
{
    n_exec(n, "%s; %s; COMMIT",
           n->kind == KIND_mysql ? "START TRANSACTION" : "BEGIN", sql);
}

/* Inserts parents first..last, each followed by its two children, in one
 * transaction on node n. */
static void fk_insert(const node_t *n, int first, int last)
{
    sbuf_t b = {0};
    for (int p = first; p <= last; p++)
        sb_printf(&b,
                  "%sINSERT INTO %s (id, name) VALUES (%d, 'parent-%d');"
                  " INSERT INTO %s (id, parent_id, note) VALUES"
                  " (%d, %d, 'child-%d'), (%d, %d, 'child-%d')",
                  p > first ? "; " : "", n_table(n, g_parent), p, p,
                  n_table(n, g_table), 10 * p + 1, p, 10 * p + 1, 10 * p + 2, p,
                  10 * p + 2);
    n_transaction(n, b.s);
    free(b.s);
}

/* Deletes the children of parents first..last and then those parents, in
 * one transaction on node n. */
static void fk_delete(const node_t *n, int first, int last)
{
    char *sql = h_strf("DELETE FROM %s WHERE parent_id BETWEEN %d AND %d;"
                       " DELETE FROM %s WHERE id BETWEEN %d AND %d",
                       n_table(n, g_table), first, last, n_table(n, g_parent),
                       first, last);
    n_transaction(n, sql);
    free(sql);
}

/* Fails unless both nodes hold exactly the parents listed (ascending) and
 * their two children each, as fk_insert wrote them. */
static void fk_assert(const char *what, const int *parents, int n)
{
    sbuf_t p = {0}, c = {0};
    for (int i = 0; i < n; i++) {
        int id = parents[i];
        sb_printf(&p, "%d|'parent-%d'\n", id, id);
        for (int k = 1; k <= 2; k++)
            sb_printf(&c, "%d|%d|'child-%d'\n", 10 * id + k, id, 10 * id + k);
    }
    char *want_p = sb_take(&p), *want_c = sb_take(&c);
    const node_t *nodes[] = {&g_n1, &g_n2};
    for (int i = 0; i < 2; i++) {
        char *got_p = n_dump(nodes[i], g_parent, fk_parent_cols, 2);
        char *got_c = n_dump(nodes[i], g_table, fk_child_cols, 3);
        char label[128];
        snprintf(label, sizeof label, "%s, parent table", what);
        assert_same_dump(label, "expected", want_p, nodes[i]->name, got_p);
        snprintf(label, sizeof label, "%s, child table", what);
        assert_same_dump(label, "expected", want_c, nodes[i]->name, got_c);
        free(got_p);
        free(got_c);
    }
    free(want_p);
    free(want_c);
}

/* One-way: parents and children inserted in one source transaction sync
 * without a constraint error; so do children and their parents deleted
 * in one source transaction. */
static void run_fk_oneway(kind_t src, kind_t dst)
{
    fk_setup("fk", src, dst, "one-way");
    h_proc_free(rs_ok("init"));

    fk_insert(&g_n1, 1, 6);
    h_proc_free(rs_ok("sync"));
    const int all[] = {1, 2, 3, 4, 5, 6};
    fk_assert("after the inserts", all, 6);

    fk_delete(&g_n1, 2, 4);
    h_proc_free(rs_ok("sync"));
    const int left[] = {1, 5, 6};
    fk_assert("after the deletes", left, 3);
    sync_moves(0, 0, 0);
}

START_TEST(test_fk_oneway_pgsql_to_mysql)
{
    run_fk_oneway(KIND_pgsql, KIND_mysql);
}
END_TEST

START_TEST(test_fk_oneway_mysql_to_pgsql)
{
    run_fk_oneway(KIND_mysql, KIND_pgsql);
}
END_TEST

/* Bidirectional: parents and children inserted in one transaction on one
 * node, then deleted (children and their parents, one transaction) on the
 * other node; then the same the other way round. Every pass succeeds and
 * both nodes hold the same rows. */
static void run_fk_bidirectional(kind_t k1, kind_t k2)
{
    fk_setup("fkb", k1, k2, "bidirectional");
    h_proc_free(rs_ok("init"));

    fk_insert(&g_n1, 1, 6);
    h_proc_free(rs_ok("sync"));
    const int a[] = {1, 2, 3, 4, 5, 6};
    fk_assert("inserts on node 1", a, 6);
    fk_delete(&g_n2, 2, 4);
    h_proc_free(rs_ok("sync"));
    const int b[] = {1, 5, 6};
    fk_assert("deletes on node 2", b, 3);

    fk_insert(&g_n2, 7, 9);
    h_proc_free(rs_ok("sync"));
    const int c[] = {1, 5, 6, 7, 8, 9};
    fk_assert("inserts on node 2", c, 6);
    fk_delete(&g_n1, 5, 8);
    h_proc_free(rs_ok("sync"));
    const int d[] = {1, 9};
    fk_assert("deletes on node 1", d, 2);
    sync_moves(0, 0, 0);
}

START_TEST(test_fk_bidirectional_pgsql_mysql)
{
    run_fk_bidirectional(KIND_pgsql, KIND_mysql);
}
END_TEST

START_TEST(test_fk_bidirectional_mysql_pgsql)
{
    run_fk_bidirectional(KIND_mysql, KIND_pgsql);
}
END_TEST

/* Fails unless both nodes hold the same rows in the parent and the child
 * table. */
static void fk_assert_same(const char *what)
{
    const char *tables[] = {g_parent, g_table};
    const col_t *cols[] = {fk_parent_cols, fk_child_cols};
    int ncols[] = {2, 3};
    for (int i = 0; i < 2; i++) {
        char *a = n_dump(&g_n1, tables[i], cols[i], ncols[i]);
        char *b = n_dump(&g_n2, tables[i], cols[i], ncols[i]);
        char label[160];
        snprintf(label, sizeof label, "%s, table %s", what, tables[i]);
        assert_same_dump(label, g_n1.name, a, g_n2.name, b);
        free(a);
        free(b);
    }
}

/* A child moves to a new parent and its old parent is deleted, in one
 * transaction on node `on` (the source, one-way): inserts parent 7, points
 * child 51 at it, deletes child 52 and parent 5. Applying the parent's
 * delete before the child's update would violate the foreign key on the
 * other node; the pass must succeed and the nodes end equal. */
static void run_fk_reparent(const char *mode, kind_t k1, kind_t k2,
                            const node_t *on)
{
    fk_setup("fkr", k1, k2, mode);
    h_proc_free(rs_ok("init"));
    fk_insert(&g_n1, 4, 6);
    h_proc_free(rs_ok("sync"));
    const int all[] = {4, 5, 6};
    fk_assert("after the inserts", all, 3);

    char *sql = h_strf("INSERT INTO %s (id, name) VALUES (7, 'parent-7');"
                       " UPDATE %s SET parent_id = 7 WHERE id = 51;"
                       " DELETE FROM %s WHERE id = 52;"
                       " DELETE FROM %s WHERE id = 5",
                       n_table(on, g_parent), n_table(on, g_table),
                       n_table(on, g_table), n_table(on, g_parent));
    n_transaction(on, sql);
    free(sql);
    h_proc_free(rs_ok("sync"));
    fk_assert_same("after the move");
    ck_assert_int_eq(n_int(&g_n2, "SELECT parent_id FROM %s WHERE id = 51",
                           n_table(&g_n2, g_table)),
                     7);
    ck_assert_int_eq(
        n_int(&g_n2, "SELECT count(*) FROM %s", n_table(&g_n2, g_parent)), 3);
    sync_moves(0, 0, 0);
}

START_TEST(test_fk_reparent_oneway_pgsql_to_mysql)
{
    run_fk_reparent("one-way", KIND_pgsql, KIND_mysql, &g_n1);
}
END_TEST

START_TEST(test_fk_reparent_bidirectional_pgsql_mysql)
{
    run_fk_reparent("bidirectional", KIND_pgsql, KIND_mysql, &g_n2);
}
END_TEST

/* ---- a server stopped in the middle of a pass ------------------------------
 *
 * These tests never stop the shared servers (other suites use them at the
 * same time): each starts a private server of its own with
 * tests/servers/pg.sh or mariadb.sh in <test dir>/<kind>priv on a free
 * port, stops it while a pass is applying, and resumes it. fx_teardown
 * stops a private server that a failed test left running. */

/* The private server's directory for kind k, malloc'd. */
static char *priv_dir(kind_t k)
{
    return h_strf("%s/%spriv", g_dir, kind_short[k]);
}

/* $ROWSYNC_SRCDIR/tests/servers/<script> for kind k, malloc'd; NULL
 * when ROWSYNC_SRCDIR is not set. */
static char *priv_script(kind_t k)
{
    const char *src = getenv("ROWSYNC_SRCDIR");
    if (src == NULL || *src == '\0')
        return NULL;
    return h_strf("%s/tests/servers/%s", src,
                  k == KIND_pgsql ? "pg.sh" : "mariadb.sh");
}

/* Runs `<script> cmd dir` for the private server of kind k; fails the
 * test unless it succeeds. */
static void priv_run(kind_t k, const char *cmd)
{
    char *script = priv_script(k), *dir = priv_dir(k);
    ck_assert_msg(script != NULL, "ROWSYNC_SRCDIR is not set (run through "
                                  "make check): the server scripts are there");
    h_proc_t *p = h_run_prog("/bin/sh", script, cmd, dir, NULL);
    H_ASSERT_EXIT(p, 0);
    h_proc_free(p);
    free(script);
    free(dir);
}

/* Stops the private servers a test may have left running (parent process,
 * no Check assertions). */
static void priv_stop_all(void)
{
    const kind_t kinds[] = {KIND_pgsql, KIND_mysql};
    const char *marker[] = {"data/postmaster.pid", "mariadbd.bgpid"};
    for (int i = 0; i < 2; i++) {
        char *dir = h_strf("%s/%spriv", g_dir, kind_short[kinds[i]]);
        char *mark = h_path(dir, marker[i]);
        char *script = priv_script(kinds[i]);
        if (script && h_exists(mark)) {
            char *cmd =
                h_strf("/bin/sh '%s' stop '%s' >/dev/null 2>&1", script, dir);
            if (system(cmd) != 0)
                fprintf(stderr, "check_matrix: cannot stop the server in %s\n",
                        dir);
            free(cmd);
        }
        free(script);
        free(mark);
        free(dir);
    }
}

/* Reads KEY=value lines of the private server's DIR/env into e (the
 * strings stay allocated for the rest of the test process). */
static void priv_env(kind_t k, srv_env_t *e)
{
    char *dir = priv_dir(k), *path = h_path(dir, "env");
    char *text = h_read_file(path, NULL);
    ck_assert_msg(text != NULL, "cannot read %s", path);
    const char *p = k == KIND_pgsql ? "PG" : "MY";
    const char **slot[] = {&e->host, &e->port, &e->user, &e->password};
    const char *what[] = {"HOST", "PORT", "USER", "PASSWORD"};
    for (int i = 0; i < 4; i++) {
        char *key = h_strf("ROWSYNC_TEST_%s_%s=", p, what[i]);
        const char *line = strstr(text, key);
        ck_assert_msg(line != NULL, "%s has no %s", path, key);
        line += strlen(key);
        *slot[i] = strndup(line, strcspn(line, "\n"));
        free(key);
    }
    free(text);
    free(path);
    free(dir);
}

#define STOP_ROWS 40000

/* SQLite -> a private server of kind k, one-way, STOP_ROWS rows in batches
 * of 500. The server is stopped (fast shutdown) while the pass applies:
 * the pass exits 1 naming the node, and the target holds whole batches.
 * After the server is resumed, the next pass converges: the target equals
 * the source and each key was applied exactly once (one history row per
 * key, from the source). */
static void run_server_stopped(kind_t k)
{
    /* postgres (initdb runs as that user as root) must reach its dir. */
    ck_assert_int_eq(chmod(g_dir, 0711), 0);
    char port[16];
    snprintf(port, sizeof port, "%d", closed_port());
    ck_assert_int_eq(
        setenv(k == KIND_pgsql ? "ROWSYNC_PG_PORT" : "ROWSYNC_MY_PORT", port,
               1),
        0);
    priv_run(k, "start");
    srv_env_t *e = k == KIND_pgsql ? &g_pg : &g_my;
    priv_env(k, e);
    ck_assert_int_eq(setenv(k == KIND_pgsql ? "ROWSYNC_TEST_PG_PASSWORD"
                                            : "ROWSYNC_TEST_MY_PASSWORD",
                            e->password, 1),
                     0);

    pair_setup("stop", KIND_sqlite, k);
    snprintf(g_n2.name, sizeof g_n2.name, "%spriv", kind_short[k]);
    items_create(&g_n1, 0);
    items_create(&g_n2, 0);
    write_job("one-way", "batch_size = 500\n");
    h_proc_free(rs_ok("init"));
    audit_create(&g_n2);
    h_sql(g_n1.path,
          "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
          " WHERE i < %d) INSERT INTO \"%s\" SELECT i, 'row-' || i, i FROM n",
          STOP_ROWS, g_table);

    h_proc_t *p = h_start("sync", g_job, NULL);
    int64_t seen = 0, end = h_now_ms() + 60000;
    int stopped = 0;
    while (h_running(p) && h_now_ms() < end) {
        int64_t n = 0;
        if (n_try_int(&g_n2, &n, "SELECT count(*) FROM %s",
                      n_table(&g_n2, g_table)) == 0) {
            seen = n;
            if (n > 0 && n < STOP_ROWS) {
                priv_run(k, "stop");
                stopped = 1;
                break;
            }
        }
        h_sleep_ms(1);
    }
    h_wait(p, 60000);
    ck_assert_msg(stopped,
                  "could not stop the server mid-pass (saw %lld rows): %s",
                  (long long)seen, h_describe(p));
    H_ASSERT_EXIT(p, 1);
    ck_assert_msg(strstr(p->err, "rowsync: error:") != NULL &&
                      strstr(p->err, g_n2.name) != NULL,
                  "the error does not name node %s: %s", g_n2.name,
                  h_describe(p));
    h_proc_free(p);

    priv_run(k, "resume");
    n_forget(&g_n2);
    int64_t after =
        n_int(&g_n2, "SELECT count(*) FROM %s", n_table(&g_n2, g_table));
    ck_assert_msg(after < STOP_ROWS && after % 500 == 0,
                  "%lld rows on the target after the stop: expected whole "
                  "batches of 500, fewer than %d",
                  (long long)after, STOP_ROWS);

    h_proc_free(rs_ok("sync"));
    ck_assert_int_eq(
        n_int(&g_n2, "SELECT count(*) FROM %s", n_table(&g_n2, g_table)),
        STOP_ROWS);
    assert_same_items();
    assert_applied_once(STOP_ROWS);
    sync_moves(0, 0, 0);
    n_forget(&g_n2);
    priv_run(k, "stop");
}

/* Clocks (issue 6): a private PostgreSQL server runs 20 s ahead of the
 * SQLite node (libfaketime preloaded into it). Its change to row 2 comes
 * first in real time but carries a time 20 s later; SQLite's change comes
 * 1.5 s later. Trusting the times would keep PostgreSQL's; rowsync
 * reports the skew, refuses to order changes closer than it and falls
 * back to priority order (node names here: lite before pgpriv), and
 * journals why. Then the server restarts with the right time, so its
 * clock went 20 s backwards: the next pass says so and keeps syncing
 * without reinstalling anything. */
#define FAKETIME_LIB "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"

START_TEST(test_clock_skew_and_backwards_pgsql)
{
    const char *lib = getenv("ROWSYNC_FAKETIME_LIB");
    if (lib == NULL)
        lib = FAKETIME_LIB;
    ck_assert_msg(h_exists(lib),
                  "libfaketime (%s) is missing: install the faketime package "
                  "(tests/packages.txt) or set ROWSYNC_FAKETIME_LIB",
                  lib);
    ck_assert_int_eq(chmod(g_dir, 0711), 0);
    char port[16];
    snprintf(port, sizeof port, "%d", closed_port());
    ck_assert_int_eq(setenv("ROWSYNC_PG_PORT", port, 1), 0);
    ck_assert_int_eq(setenv("FAKETIME", "+20s", 1), 0);
    ck_assert_int_eq(setenv("LD_PRELOAD", lib, 1), 0);
    priv_run(KIND_pgsql, "start");
    unsetenv("LD_PRELOAD");
    unsetenv("FAKETIME");
    priv_env(KIND_pgsql, &g_pg);
    ck_assert_int_eq(setenv("ROWSYNC_TEST_PG_PASSWORD", g_pg.password, 1), 0);

    pair_setup("skew", KIND_sqlite, KIND_pgsql);
    snprintf(g_n2.name, sizeof g_n2.name, "pgpriv");
    items_create(&g_n1, 5);
    items_create(&g_n2, 5);
    write_job("bidirectional", "");
    h_proc_free(rs_ok("init"));

    set_item(&g_n2, 2, "pg-first", 20);
    h_sleep_ms(1500);
    set_item(&g_n1, 2, "lite-later", 21);
    h_proc_t *p = rs_ok("sync");
    ck_assert_msg(strstr(p->err, "clock skew between nodes") &&
                      strstr(p->err, "pgpriv"),
                  "the skew is not reported: %s", h_describe(p));
    h_proc_free(p);
    assert_item(&g_n1, 2, "lite-later", 21);
    assert_item(&g_n2, 2, "lite-later", 21);
    p = rs_ok("status");
    ck_assert_msg(strstr(p->out, "clock skew lite / pgpriv"),
                  "status does not show the skew: %s", h_describe(p));
    ck_assert_msg(h_lines_with(p->out, "lite won over pgpriv",
                               "clocks skewed beyond max_clock_skew"),
                  "the journal does not say the skew decided: %s",
                  h_describe(p));
    h_proc_free(p);

    priv_run(KIND_pgsql, "stop");
    priv_run(KIND_pgsql, "resume");
    n_forget(&g_n2);
    set_item(&g_n2, 3, "pg-after-restart", 30);
    p = rs_ok("sync");
    ck_assert_msg(strstr(p->err, "pgpriv' went backwards by"),
                  "the clock going back is not reported: %s", h_describe(p));
    h_proc_free(p);
    assert_item(&g_n1, 3, "pg-after-restart", 30);
    assert_same_items();
}
END_TEST

START_TEST(test_server_stopped_mid_pass_pgsql)
{
    run_server_stopped(KIND_pgsql);
}
END_TEST

START_TEST(test_server_stopped_mid_pass_mysql)
{
    run_server_stopped(KIND_mysql);
}
END_TEST

/* Waits up to timeout_ms for the target to hold item id; 1 when it does. */
static int wait_for_item(const node_t *n, int id, int timeout_ms)
{
    int64_t end = h_now_ms() + timeout_ms;
    do {
        int64_t c = 0;
        if (n_try_int(n, &c, "SELECT count(*) FROM %s WHERE id = %d",
                      n_table(n, g_table), id) == 0 &&
            c == 1)
            return 1;
        h_sleep_ms(50);
    } while (h_now_ms() < end);
    return 0;
}

/* `rowsync run` outlives its target server: SQLite -> a private server of
 * kind k, interval 200ms. A row arrives; the server stops; passes fail
 * and are retried with backoff while a second row is written; the server
 * comes back and the second row arrives without a restart of rowsync;
 * SIGTERM ends it with exit 0. */
static void run_survives_server_restart(kind_t k)
{
    ck_assert_int_eq(chmod(g_dir, 0711), 0);
    char port[16];
    snprintf(port, sizeof port, "%d", closed_port());
    ck_assert_int_eq(
        setenv(k == KIND_pgsql ? "ROWSYNC_PG_PORT" : "ROWSYNC_MY_PORT", port,
               1),
        0);
    priv_run(k, "start");
    srv_env_t *e = k == KIND_pgsql ? &g_pg : &g_my;
    priv_env(k, e);
    ck_assert_int_eq(setenv(k == KIND_pgsql ? "ROWSYNC_TEST_PG_PASSWORD"
                                            : "ROWSYNC_TEST_MY_PASSWORD",
                            e->password, 1),
                     0);
    pair_setup("runrs", KIND_sqlite, k);
    snprintf(g_n2.name, sizeof g_n2.name, "%spriv", kind_short[k]);
    items_create(&g_n1, 0);
    items_create(&g_n2, 0);
    write_job("one-way", "interval = 200ms\n");
    h_proc_free(rs_ok("init"));

    h_proc_t *p = h_start("run", g_job, NULL);
    fill_items(&g_n1, 1, 1, "before");
    ck_assert_msg(wait_for_item(&g_n2, 1, 10000),
                  "row 1 did not arrive while the server ran: %s",
                  h_describe(p));

    n_forget(&g_n2);
    priv_run(k, "stop");
    fill_items(&g_n1, 2, 2, "during");
    h_sleep_ms(1500); /* several failed passes */
    ck_assert_msg(h_running(p), "rowsync run gave up while the server was "
                                "down: %s",
                  h_describe(p));
    priv_run(k, "resume");
    ck_assert_msg(wait_for_item(&g_n2, 2, 20000),
                  "row 2 did not arrive after the server came back: %s",
                  h_describe(p));

    h_signal(p, SIGTERM);
    h_wait(p, 20000);
    H_ASSERT_EXIT(p, 0);
    ck_assert_msg(strstr(p->err, "retrying") != NULL,
                  "no failed pass was reported while the server was down: %s",
                  h_describe(p));
    h_proc_free(p);
    assert_same_items();
    n_forget(&g_n2);
    priv_run(k, "stop");
}

START_TEST(test_run_survives_server_restart_pgsql)
{
    run_survives_server_restart(KIND_pgsql);
}
END_TEST

START_TEST(test_run_survives_server_restart_mysql)
{
    run_survives_server_restart(KIND_mysql);
}
END_TEST

/* Waits up to timeout_ms for item id on n to have quantity qty (-1: for
 * the row to be gone); returns the milliseconds it took, or -1. */
static int64_t wait_for_qty(const node_t *n, int id, int qty, int timeout_ms)
{
    int64_t start = h_now_ms(), end = start + timeout_ms;
    char cond[32] = "";
    if (qty >= 0)
        snprintf(cond, sizeof cond, " AND qty = %d", qty);
    do {
        int64_t c = 0;
        if (n_try_int(n, &c, "SELECT count(*) FROM %s WHERE id = %d%s",
                      n_table(n, g_table), id, cond) == 0 &&
            c == (qty < 0 ? 0 : 1))
            return h_now_ms() - start;
        h_sleep_ms(20);
    } while (h_now_ms() < end);
    return -1;
}

/* `rowsync run` wakes on PostgreSQL's change notifications instead of
 * waiting for the interval (30 s here): after the first passes, an insert,
 * an update and a delete committed on the source each reach the target
 * within 3 s; in a bidirectional job a write on either node travels just
 * as fast. SIGTERM ends the run with exit 0 and both sides agree. */
static void run_wakes_on_notify(const char *mode)
{
    int both = strcmp(mode, "bidirectional") == 0;
    pair_setup(both ? "runwb" : "runwo", KIND_pgsql, KIND_pgsql);
    items_create(&g_n1, 0);
    items_create(&g_n2, 0);
    write_job(mode, "interval = 30s\n");
    h_proc_free(rs_ok("init"));

    h_proc_t *p = h_start("-v", "run", g_job, NULL);
    h_sleep_ms(2000); /* the first passes are done: only a wake-up helps */
    struct {
        const node_t *from, *to;
        const char *what;
        int id, qty;
    } steps[] = {
        {&g_n1, &g_n2, "insert", 1, 1},
        {&g_n1, &g_n2, "update", 1, 77},
        {&g_n1, &g_n2, "insert", 2, 2},
        {&g_n1, &g_n2, "delete", 2, -1},
        {&g_n2, &g_n1, "insert", 3, 3},
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        if (steps[i].from == &g_n2 && !both)
            break;
        if (strcmp(steps[i].what, "insert") == 0)
            fill_items(steps[i].from, steps[i].id, steps[i].id, "w");
        else if (strcmp(steps[i].what, "update") == 0)
            set_item(steps[i].from, steps[i].id, "w-upd", steps[i].qty);
        else
            n_exec(steps[i].from, "DELETE FROM %s WHERE id = %d",
                   n_table(steps[i].from, g_table), steps[i].id);
        int64_t ms = wait_for_qty(steps[i].to, steps[i].id, steps[i].qty, 3000);
        ck_assert_msg(ms >= 0,
                      "%s of row %d on %s did not reach %s within 3 s "
                      "(interval 30 s): no wake-up: %s",
                      steps[i].what, steps[i].id, steps[i].from->name,
                      steps[i].to->name, h_describe(p));
        h_sleep_ms(300);
    }
    ck_assert_msg(h_running(p), "rowsync run ended early: %s", h_describe(p));
    h_signal(p, SIGTERM);
    h_wait(p, 20000);
    H_ASSERT_EXIT(p, 0);
    h_proc_free(p);
    assert_same_items();
}

START_TEST(test_run_wakes_on_notify_oneway_pgsql)
{
    run_wakes_on_notify("one-way");
}
END_TEST

START_TEST(test_run_wakes_on_notify_bidirectional_pgsql)
{
    run_wakes_on_notify("bidirectional");
}
END_TEST

/* ---- column mapping and subset filter (issue 5) ------------------------- */

/* Rows of a query on node n, one line each, cells as text joined by '|'
 * (NULL as "NULL"). */
static char *mx_rows(const node_t *n, const char *sql)
{
    result_t r;
    n_query(n, sql, &r, 1);
    sbuf_t b = {0};
    for (int row = 0; row < r.nrows; row++) {
        for (int i = 0; i < r.ncols; i++) {
            const cell_t *c = &r.cells[row * r.ncols + i];
            sb_printf(&b, "%s%s", i ? "|" : "", c->null ? "NULL" : c->data);
        }
        sb_puts(&b, "\n");
    }
    res_free(&r);
    return sb_take(&b);
}

static void mx_clients_are(const char *what, const char *want)
{
    char *got = mx_rows(&g_n2, "SELECT client_id, full_name, email_hash,"
                               " country FROM public.clients ORDER BY 1");
    assert_same_dump(what, "expected", want, g_n2.name, got);
    free(got);
}

/* MariaDB customers(id, name, email, region, active) -> PostgreSQL
 * public.clients(client_id, full_name, email_hash, country), one-way,
 * with renames, skipped and filled columns, the filter
 * region = 'EU' AND active and the mask plugin (sha256) on email: inserts,
 * updates, deletes, rows moving into and out of the subset. */
#define MX_SHA_ANN "1910ee9900e5730f4b5c7244728fe9f790a4f1e65b8d702c6733aaf227e7419b"
#define MX_SHA_BOB "e9f3b4d44afd43fe864026aee998261117b240af1d5e68e3db55c70fa7bc48fe"
#define MX_SHA_CID "99eb997a84dff172253148646ff6ecf2c87054075e2ebda3e3e633fedb5cff88"
#define MX_SHA_DEE "a63a48f66ee2834a07ac39b5f8378c968718c0d1cebaa185997e6a0724f8e34c"
#define MX_SHA_C "84898daac4bb9c94cd2c554e497be36938f5887f3349c34c7cb0a13edf1feef0"

START_TEST(test_mapping_filter_mysql_to_pgsql)
{
    node_init(&g_n1, KIND_mysql, "shop", "rowsync_a");
    node_init(&g_n2, KIND_pgsql, "reporting", "rowsync_a");
    n_drop_table(&g_n1, "customers");
    n_drop_table(&g_n2, "customers");
    n_drop_table(&g_n2, "clients");
    n_exec(&g_n1, "CREATE TABLE customers (id INT PRIMARY KEY,"
                  " name VARCHAR(50), email VARCHAR(80), region CHAR(2),"
                  " active BOOLEAN NOT NULL DEFAULT 1) ENGINE=InnoDB"
                  " DEFAULT CHARSET=utf8mb4");
    n_exec(&g_n1,
           "INSERT INTO customers VALUES (1, 'Ann', 'ann@x', 'EU', 1),"
           " (2, 'Bob', 'bob@x', 'US', 1), (3, 'Cid', 'cid@x', 'EU', 0)");
    n_exec(&g_n2, "CREATE TABLE public.clients (client_id BIGINT PRIMARY KEY,"
                  " full_name TEXT, email_hash TEXT, country TEXT)");
    sbuf_t b = {0};
    sb_printf(&b, "[job]\nmode = one-way\nsource = shop\n\n");
    node_section(&b, &g_n1);
    node_section(&b, &g_n2);
    sb_puts(&b, "[table customers]\n"
                "filter = region = 'EU' AND active\n"
                "[table customers @ reporting]\n"
                "name = public.clients\n"
                "map = id:client_id, name:full_name, email:email_hash\n"
                "skip = region, active\n"
                "fill = country:'DE'\n"
                "plugins = hide_email\n"
                "[plugin hide_email]\n"
                "module = mask\n"
                "columns = email\n"
                "method = sha256\n");
    h_write_file(g_job, "%s", b.s);
    free(b.s);

    h_proc_t *p = rs_ok("check");
    ck_assert_msg(strstr(p->out, "id -> client_id") != NULL &&
                      strstr(p->out, "country = DE (filled)") != NULL,
                  "check prints no mapping: %s", h_describe(p));
    h_proc_free(p);
    h_proc_free(rs_ok("init"));
    mx_clients_are("after init", "1|Ann|" MX_SHA_ANN "|DE\n");

    n_exec(&g_n1, "INSERT INTO customers VALUES (4, 'Dee', 'dee@x', 'EU', 1),"
                  " (5, 'Eve', 'eve@x', 'US', 1)");
    n_exec(&g_n1, "UPDATE customers SET name = 'Ann B' WHERE id = 1");
    n_exec(&g_n1, "UPDATE customers SET region = 'EU' WHERE id = 2");
    n_exec(&g_n1, "UPDATE customers SET active = 1 WHERE id = 3");
    h_proc_free(rs_ok("sync"));
    mx_clients_are("rows entering the subset",
                   "1|Ann B|" MX_SHA_ANN "|DE\n2|Bob|" MX_SHA_BOB "|DE\n"
                   "3|Cid|" MX_SHA_CID "|DE\n4|Dee|" MX_SHA_DEE "|DE\n");

    n_exec(&g_n1, "UPDATE customers SET region = 'US' WHERE id = 1");
    n_exec(&g_n1, "UPDATE customers SET active = 0 WHERE id = 2");
    n_exec(&g_n1, "DELETE FROM customers WHERE id = 4");
    n_exec(&g_n1, "UPDATE customers SET email = 'c@x' WHERE id = 3");
    h_proc_free(rs_ok("sync"));
    mx_clients_are("rows leaving the subset", "3|Cid|" MX_SHA_C "|DE\n");

    /* country is filled on insert only: a manual change to it on the
     * target survives a later update of the row */
    n_exec(&g_n2, "UPDATE public.clients SET country = 'AT'"
                  " WHERE client_id = 3");
    n_exec(&g_n1, "UPDATE customers SET name = 'Cid B' WHERE id = 3");
    h_proc_free(rs_ok("sync"));
    mx_clients_are("fill on insert only", "3|Cid B|" MX_SHA_C "|AT\n");
}
END_TEST

/* The same table bidirectional between SQLite (canonical names) and
 * MariaDB (renamed table and columns): changes travel both ways and
 * renames invert. */
START_TEST(test_mapping_bidirectional_sqlite_mysql)
{
    node_init(&g_n1, KIND_sqlite, "lite", "");
    node_init(&g_n2, KIND_mysql, "shop", "rowsync_a");
    h_sql_create(g_n1.path);
    n_drop_table(&g_n2, "clients");
    n_drop_table(&g_n2, "customers");
    n_exec(&g_n1, "CREATE TABLE customers (id INTEGER PRIMARY KEY,"
                  " name TEXT, email TEXT);"
                  "INSERT INTO customers VALUES (1, 'Ann', 'ann@x'),"
                  " (2, 'Bob', 'bob@x')");
    n_exec(&g_n2, "CREATE TABLE clients (client_id INT PRIMARY KEY,"
                  " full_name VARCHAR(50), mail VARCHAR(80)) ENGINE=InnoDB"
                  " DEFAULT CHARSET=utf8mb4");
    sbuf_t b = {0};
    sb_printf(&b, "[job]\nmode = bidirectional\nsource = lite\n\n");
    node_section(&b, &g_n1);
    node_section(&b, &g_n2);
    sb_puts(&b, "[table customers]\n"
                "[table customers @ shop]\n"
                "name = clients\n"
                "map = id:client_id, name:full_name, email:mail\n");
    h_write_file(g_job, "%s", b.s);
    free(b.s);
    h_proc_free(rs_ok("init"));
    n_exec(&g_n1, "UPDATE customers SET name = 'Ann L' WHERE id = 1;"
                  "INSERT INTO customers VALUES (3, 'Cid', 'cid@x')");
    n_exec(&g_n2, "INSERT INTO clients VALUES (4, 'Dee', 'dee@x')");
    n_exec(&g_n2, "UPDATE clients SET mail = 'b@y' WHERE client_id = 2");
    h_proc_free(rs_ok("sync"));
    n_exec(&g_n2, "DELETE FROM clients WHERE client_id = 3");
    h_proc_free(rs_ok("sync"));
    const char *want = "1|Ann L|ann@x\n2|Bob|b@y\n4|Dee|dee@x\n";
    char *lite = mx_rows(&g_n1, "SELECT id, name, email FROM customers"
                                " ORDER BY 1");
    char *my = mx_rows(&g_n2, "SELECT client_id, full_name, mail FROM clients"
                              " ORDER BY 1");
    assert_same_dump("bidirectional renames", "expected", want, "lite", lite);
    assert_same_dump("bidirectional renames", "expected", want, "shop", my);
    free(lite);
    free(my);
}
END_TEST

/* A plugin's text result reaches a PostgreSQL integer column as integers:
 * map turns SQLite's integer codes into text, the target takes BIGINT. */
START_TEST(test_plugin_text_result_into_pgsql_bigint)
{
    node_init(&g_n1, KIND_sqlite, "lite", "");
    node_init(&g_n2, KIND_pgsql, "reporting", "rowsync_a");
    h_sql_create(g_n1.path);
    n_drop_table(&g_n2, "plugcodes");
    n_exec(&g_n1, "CREATE TABLE plugcodes (id INTEGER PRIMARY KEY,"
                  " code INTEGER);"
                  "INSERT INTO plugcodes VALUES (1, 1), (2, 2), (3, 7)");
    n_exec(&g_n2, "CREATE TABLE public.plugcodes (id BIGINT PRIMARY KEY,"
                  " code BIGINT)");
    sbuf_t b = {0};
    sb_printf(&b, "[job]\nmode = one-way\nsource = lite\n\n");
    node_section(&b, &g_n1);
    node_section(&b, &g_n2);
    sb_puts(&b, "[table plugcodes]\n"
                "plugins = codes\n"
                "[plugin codes]\n"
                "module = map\n"
                "column = code\n"
                "values = 1:10, 2:20\n"
                "[table plugcodes @ reporting]\n"
                "name = public.plugcodes\n");
    h_write_file(g_job, "%s", b.s);
    free(b.s);
    h_proc_free(rs_ok("init"));
    n_exec(&g_n1, "UPDATE plugcodes SET code = 2 WHERE id = 1");
    h_proc_free(rs_ok("sync"));
    char *pg = mx_rows(&g_n2, "SELECT id, code, pg_typeof(code) FROM"
                              " public.plugcodes ORDER BY 1");
    assert_same_dump("plugin result", "expected",
                     "1|20|bigint\n2|20|bigint\n3|7|bigint\n", "reporting",
                     pg);
    free(pg);
}
END_TEST

/* ---- servers missing ----------------------------------------------------- */

START_TEST(test_pgsql_server_configured)
{
    ck_abort_msg("PostgreSQL test server not configured: start "
                 "tests/servers/pg.sh and export its env "
                 "(ROWSYNC_TEST_PG_HOST, _PORT, _USER, _PASSWORD)");
}
END_TEST

START_TEST(test_mysql_server_configured)
{
    ck_abort_msg("MariaDB test server not configured: start "
                 "tests/servers/mariadb.sh and export its env "
                 "(ROWSYNC_TEST_MY_HOST, _PORT, _USER, _PASSWORD)");
}
END_TEST

/* ---- suite ----------------------------------------------------------------
 */

/* One test case per behaviour, each with its own temporary directory. */
static void add(Suite *s, const char *name, const TTest *test)
{
    TCase *tc = tcase_create(name);
    tcase_add_unchecked_fixture(tc, fx_setup, fx_teardown);
    tcase_add_test(tc, test);
    suite_add_tcase(s, tc);
}

#define ADD(s, t) add((s), #t, t)

/* ---- three nodes of three kinds (issue 6) ------------------------------ */

/* The seed scenario with three writers, one SQLite, one PostgreSQL and
 * one MariaDB node, in one bidirectional job (a full mesh, or with the
 * PostgreSQL node as hub): each node changes rows, two change the same
 * row (the later change wins), one deletes, two insert. One pass leaves
 * the three nodes identical; a second moves nothing. */
static void run_three_kinds(const char *job_extra)
{
    node_t n3;
    pair_setup_table("three_kinds", KIND_sqlite, KIND_pgsql);
    node_init(&n3, KIND_mysql, "my", "rowsync_a");
    n_drop_table(&n3, g_table);
    const node_t *nodes[3] = {&g_n1, &g_n2, &n3};
    for (int i = 0; i < 3; i++)
        items_create(nodes[i], 10);
    sbuf_t b = {0};
    sb_printf(&b, "[job]\nmode = bidirectional\n%s\n", job_extra);
    for (int i = 0; i < 3; i++)
        node_section(&b, nodes[i]);
    sb_printf(&b, "[table %s]\n", g_table);
    h_write_file(g_job, "%s", b.s);
    free(b.s);
    h_proc_free(rs_ok("init"));

    set_item(&g_n1, 6, "lite-6", 60);
    h_sleep_ms(20);
    set_item(&g_n2, 6, "pg-6", 61);
    set_item(&n3, 7, "my-7", 70);
    n_exec(&g_n1, "DELETE FROM %s WHERE id = 8", n_table(&g_n1, g_table));
    n_exec(&n3, "INSERT INTO %s VALUES (11, 'my-11', 11)", n_table(&n3, g_table));
    n_exec(&g_n2, "INSERT INTO %s VALUES (12, 'pg-12', 12)",
           n_table(&g_n2, g_table));
    h_sleep_ms(20);
    set_item(&n3, 3, "my-3", 33);

    h_proc_t *p = rs_ok("sync");
    h_proc_free(p);
    const char *want = "1|'item-1'|1\n2|'item-2'|2\n3|'my-3'|33\n"
                       "4|'item-4'|4\n5|'item-5'|5\n6|'pg-6'|61\n"
                       "7|'my-7'|70\n9|'item-9'|9\n10|'item-10'|10\n"
                       "11|'my-11'|11\n12|'pg-12'|12\n";
    for (int i = 0; i < 3; i++) {
        char *got = items_dump(nodes[i]);
        assert_same_dump("three writers", "expected", want, nodes[i]->name,
                         got);
        free(got);
    }
    p = rs_ok("sync");
    ck_assert_msg(strstr(p->out, "sync: 0 upserted, 0 deleted, 0 conflicts"),
                  "a second pass moved something: %s", h_describe(p));
    h_proc_free(p);
}

/* merge = column between PostgreSQL and MariaDB: the PostgreSQL node
 * changes name, the MariaDB node qty of the same row; after a pass both
 * changes are on both nodes. */
START_TEST(test_column_merge_pgsql_mysql)
{
    pair_setup("colmerge", KIND_pgsql, KIND_mysql);
    items_create(&g_n1, 5);
    items_create(&g_n2, 5);
    write_job("bidirectional", "merge = column\n");
    h_proc_free(rs_ok("init"));
    set_item(&g_n1, 2, "pg-name", 2);
    h_sleep_ms(20);
    n_exec(&g_n2, "UPDATE %s SET qty = 222 WHERE id = 2",
           n_table(&g_n2, g_table));
    h_proc_free(rs_ok("sync"));
    assert_item(&g_n1, 2, "pg-name", 222);
    assert_item(&g_n2, 2, "pg-name", 222);
    /* the other order: MariaDB changes name, PostgreSQL qty */
    n_exec(&g_n2, "UPDATE %s SET name = 'my-name' WHERE id = 3",
           n_table(&g_n2, g_table));
    h_sleep_ms(20);
    n_exec(&g_n1, "UPDATE %s SET qty = 333 WHERE id = 3",
           n_table(&g_n1, g_table));
    h_proc_free(rs_ok("sync"));
    h_proc_free(rs_ok("sync"));
    assert_item(&g_n1, 3, "my-name", 333);
    assert_same_items();
}
END_TEST

/* The randomized convergence test of check_nodes over three kinds of
 * node: SQLite, PostgreSQL and MariaDB in one mesh, random upserts and
 * deletes a millisecond or more apart on random nodes, passes with the
 * nodes in random order; at the end every node equals the last change
 * made to each key (latest wins). Prints its seed; ROWSYNC_TEST_SEED
 * replays it, ROWSYNC_TEST_OPS sizes it (default 300). */
#define RK_KEYS 25

static uint64_t rk_state;

static uint64_t rk_next(void)
{
    rk_state ^= rk_state >> 12;
    rk_state ^= rk_state << 25;
    rk_state ^= rk_state >> 27;
    return rk_state * UINT64_C(2685821657736338717);
}

START_TEST(test_random_convergence_three_kinds)
{
    const char *seed_env = getenv("ROWSYNC_TEST_SEED");
    const char *ops_env = getenv("ROWSYNC_TEST_OPS");
    uint64_t seed = seed_env ? strtoull(seed_env, NULL, 10)
                             : (uint64_t)h_now_ms() ^ (uint64_t)getpid();
    int ops = ops_env ? atoi(ops_env) : 300;
    rk_state = seed ? seed : 1;
    fprintf(stderr,
            "random convergence (sqlite, pgsql, mysql): seed %llu, %d "
            "changes; replay with ROWSYNC_TEST_SEED=%llu\n",
            (unsigned long long)seed, ops, (unsigned long long)seed);

    node_t n3;
    pair_setup_table("random_kinds", KIND_sqlite, KIND_pgsql);
    node_init(&n3, KIND_mysql, "my", "rowsync_a");
    n_drop_table(&n3, g_table);
    const node_t *nodes[3] = {&g_n1, &g_n2, &n3};
    for (int i = 0; i < 3; i++)
        items_create(nodes[i], 0);
    static const int orders[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
                                     {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    char *jobs[6];
    for (int j = 0; j < 6; j++) {
        sbuf_t b = {0};
        sb_puts(&b, "[job]\nmode = bidirectional\n\n");
        for (int i = 0; i < 3; i++)
            node_section(&b, nodes[orders[j][i]]);
        sb_printf(&b, "[table %s]\n", g_table);
        jobs[j] = h_strf("%s/job%d.conf", g_dir, j);
        h_write_file(jobs[j], "%s", b.s);
        free(b.s);
    }
    h_proc_t *p = h_run("init", jobs[0], NULL);
    H_ASSERT_EXIT(p, 0);
    h_proc_free(p);

    int present[RK_KEYS + 1] = {0};
    long qty[RK_KEYS + 1] = {0};
    char name[RK_KEYS + 1][48];
    int passes = 0;
    for (int i = 0; i < ops; i++) {
        const node_t *n = nodes[rk_next() % 3];
        int key = 1 + (int)(rk_next() % RK_KEYS);
        int64_t start = h_now_ms();
        while (h_now_ms() <= start + 1)
            h_sleep_ms(1);
        if (rk_next() % 10 < 7) {
            long q = (long)(rk_next() % 100000);
            char nm[48];
            snprintf(nm, sizeof nm, "%.12s-%d", n->name, i);
            if (n->kind == KIND_mysql)
                n_exec(n, "INSERT INTO %s VALUES (%d, '%s', %ld) ON DUPLICATE "
                          "KEY UPDATE name = VALUES(name), qty = VALUES(qty)",
                       n_table(n, g_table), key, nm, q);
            else
                n_exec(n, "INSERT INTO %s VALUES (%d, '%s', %ld) ON CONFLICT "
                          "(id) DO UPDATE SET name = excluded.name, qty = "
                          "excluded.qty",
                       n_table(n, g_table), key, nm, q);
            present[key] = 1;
            qty[key] = q;
            snprintf(name[key], sizeof name[key], "%s", nm);
        } else if (n_int(n, "SELECT COUNT(*) FROM %s WHERE id = %d",
                         n_table(n, g_table), key) > 0) {
            n_exec(n, "DELETE FROM %s WHERE id = %d", n_table(n, g_table),
                   key);
            present[key] = 0;
        }
        if (rk_next() % 15 == 0) {
            p = h_run("sync", jobs[rk_next() % 6], NULL);
            H_ASSERT_EXIT(p, 0);
            h_proc_free(p);
            passes++;
        }
    }
    for (int k = 0; k < 2; k++) {
        p = h_run("sync", jobs[0], NULL);
        H_ASSERT_EXIT(p, 0);
        h_proc_free(p);
    }
    sbuf_t want = {0};
    for (int k = 1; k <= RK_KEYS; k++)
        if (present[k])
            sb_printf(&want, "%d|'%s'|%ld\n", k, name[k], qty[k]);
    char what[96];
    snprintf(what, sizeof what, "seed %llu after %d passes",
             (unsigned long long)seed, passes + 2);
    for (int i = 0; i < 3; i++) {
        char *got = items_dump(nodes[i]);
        assert_same_dump(what, "expected", want.s ? want.s : "",
                         nodes[i]->name, got);
        free(got);
    }
    free(want.s);
    for (int j = 0; j < 6; j++)
        free(jobs[j]);
}
END_TEST

START_TEST(test_three_kinds_mesh)
{
    run_three_kinds("");
}
END_TEST

START_TEST(test_three_kinds_hub)
{
    run_three_kinds("hub = pg\n");
}
END_TEST

static Suite *matrix_suite(void)
{
    Suite *s = suite_create("matrix");
    int have_pg = env_read("PG", &g_pg), have_my = env_read("MY", &g_my);
    if (!have_pg)
        ADD(s, test_pgsql_server_configured);
    if (!have_my)
        ADD(s, test_mysql_server_configured);
    if (!have_pg || !have_my)
        return s;

    ADD(s, test_mapping_filter_mysql_to_pgsql);
    ADD(s, test_mapping_bidirectional_sqlite_mysql);
    ADD(s, test_plugin_text_result_into_pgsql_bigint);
    ADD(s, test_oneway_sqlite_to_sqlite);
    ADD(s, test_oneway_sqlite_to_pgsql);
    ADD(s, test_oneway_sqlite_to_mysql);
    ADD(s, test_oneway_pgsql_to_sqlite);
    ADD(s, test_oneway_pgsql_to_mysql);
    ADD(s, test_oneway_mysql_to_sqlite);
    ADD(s, test_oneway_mysql_to_pgsql);
    ADD(s, test_oneway_pgsql_to_pgsql);
    ADD(s, test_oneway_mysql_to_mysql);
    ADD(s, test_bidirectional_sqlite_sqlite);
    ADD(s, test_bidirectional_sqlite_pgsql);
    ADD(s, test_bidirectional_sqlite_mysql);
    ADD(s, test_bidirectional_pgsql_sqlite);
    ADD(s, test_bidirectional_pgsql_pgsql);
    ADD(s, test_bidirectional_pgsql_mysql);
    ADD(s, test_bidirectional_mysql_sqlite);
    ADD(s, test_bidirectional_mysql_pgsql);
    ADD(s, test_bidirectional_mysql_mysql);
    ADD(s, test_oneway_mysql_binlog_to_pgsql);
    ADD(s, test_bidirectional_mysql_binlog_pgsql);
    ADD(s, test_types_sqlite_to_sqlite);
    ADD(s, test_types_sqlite_to_pgsql);
    ADD(s, test_types_sqlite_to_mysql);
    ADD(s, test_types_pgsql_to_sqlite);
    ADD(s, test_types_pgsql_to_pgsql);
    ADD(s, test_types_pgsql_to_mysql);
    ADD(s, test_types_mysql_to_sqlite);
    ADD(s, test_types_mysql_to_pgsql);
    ADD(s, test_types_mysql_to_mysql);
    ADD(s, test_types_bidirectional_sqlite_sqlite);
    ADD(s, test_types_bidirectional_sqlite_pgsql);
    ADD(s, test_types_bidirectional_sqlite_mysql);
    ADD(s, test_types_bidirectional_pgsql_sqlite);
    ADD(s, test_types_bidirectional_pgsql_pgsql);
    ADD(s, test_types_bidirectional_pgsql_mysql);
    ADD(s, test_types_bidirectional_mysql_sqlite);
    ADD(s, test_types_bidirectional_mysql_pgsql);
    ADD(s, test_types_bidirectional_mysql_mysql);
    ADD(s, test_quoting_oneway_sqlite_pgsql);
    ADD(s, test_quoting_oneway_pgsql_mysql);
    ADD(s, test_quoting_oneway_mysql_sqlite);
    ADD(s, test_quoting_bidirectional_pgsql_mysql);
    ADD(s, test_quoting_bidirectional_sqlite_pgsql);
    ADD(s, test_quoting_bidirectional_mysql_sqlite);
    ADD(s, test_types_ignore_client_environment);
    ADD(s, test_fk_oneway_pgsql_to_mysql);
    ADD(s, test_fk_oneway_mysql_to_pgsql);
    ADD(s, test_fk_bidirectional_pgsql_mysql);
    ADD(s, test_fk_bidirectional_mysql_pgsql);
    ADD(s, test_fk_reparent_oneway_pgsql_to_mysql);
    ADD(s, test_fk_reparent_bidirectional_pgsql_mysql);
    ADD(s, test_conn_refused_pgsql);
    ADD(s, test_conn_refused_mysql);
    ADD(s, test_kill_9_mid_sync_pgsql_to_mysql);
    ADD(s, test_server_stopped_mid_pass_pgsql);
    ADD(s, test_run_survives_server_restart_pgsql);
    ADD(s, test_run_survives_server_restart_mysql);
    ADD(s, test_run_wakes_on_notify_oneway_pgsql);
    ADD(s, test_run_wakes_on_notify_bidirectional_pgsql);
    ADD(s, test_server_stopped_mid_pass_mysql);
    ADD(s, test_two_syncs_at_once_pgsql_to_mysql);
    ADD(s, test_commit_order_pgsql_to_mysql);
    ADD(s, test_commit_order_mysql_to_pgsql);
    ADD(s, test_column_merge_pgsql_mysql);
    ADD(s, test_three_kinds_mesh);
    ADD(s, test_random_convergence_three_kinds);
    ADD(s, test_three_kinds_hub);
    ADD(s, test_clock_skew_and_backwards_pgsql);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(matrix_suite());
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
