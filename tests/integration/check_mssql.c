/* End-to-end tests of the SQL Server driver: the rowsync binary syncing a
 * SQL Server database with SQLite files, PostgreSQL and MariaDB/MySQL
 * databases in both modes, inspected with each database's native client
 * (FreeTDS db-lib for SQL Server, through harness.c).
 *
 * The server is named by ROWSYNC_TEST_MSSQL, the connection string of
 * docs/drivers/mssql.md ("host=...;port=1433;database=master;user=sa;
 * password=...;tds_version=7.4"). main() creates a database of its own,
 * rowsync_it_<pid>, through the string's database (the login needs
 * CREATE ANY DATABASE), every test works in it, and main() drops it at
 * the end (kept with ROWSYNC_KEEP_TMP). The password travels to rowsync
 * in $ROWSYNC_TEST_MS_PASSWORD (password_env), never in a job file.
 *
 * Without ROWSYNC_TEST_MSSQL the program runs the one test that needs no
 * server (`rowsync check` against a closed port must fail with FreeTDS's
 * message, host and port), then says SKIP loudly on stdout and stderr and
 * exits 77 (automake's SKIP); it exits 1 when that test fails.
 *
 * The PostgreSQL and MariaDB pairs need the servers of tests/servers/
 * (ROWSYNC_TEST_PG_* and ROWSYNC_TEST_MY_*, as check_matrix reads them).
 * When one is missing its pairs do not run and one failing test says so:
 * a server suite never looks green by skipping. Their tables live in the
 * databases rowsync_a, each test's table of its own name, dropped with
 * rowsync's objects and state rows before the test.
 *
 * Rows are compared as canonical text rendered here (the conventions of
 * check_matrix): integers as digits, decimals without redundant zeros,
 * doubles with 17 significant digits, booleans true/false, binary as
 * lower-case hex, times and timestamps with six fraction digits (a 7th,
 * SQL Server's 100 ns, truncated), zone-aware timestamps in UTC ...Z, UUIDs
 * in lower case. SQL Server values are selected through CONVERT with
 * fixed styles, so language and DATEFORMAT never matter.
 *
 * Clocks: the bidirectional tests make one side's change later than the
 * other's by sleeping between them (longer when a SQL Server is
 * involved, see CLOCK_GAP_MS): the SQL Server's clock must be within that
 * of this machine's (NTP).
 */
#define _GNU_SOURCE /* vasprintf */
#include <check.h>
#include <ctype.h>
#include <errno.h>
#include <libpq-fe.h>
#include <mysql.h>
#include <netinet/in.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "matrix_util.h"

#define MSSQL_SKIP_TEXT                                                        \
    "SKIP: ROWSYNC_TEST_MSSQL is not set; the SQL Server driver was not "      \
    "tested against a server\n"

/* Time between two writes whose order decides a conflict when a SQL
 * Server takes part (its clock is another machine's). */
#define CLOCK_GAP_MS 1500

static void fx_teardown(void)
{
    h_rmtree(g_dir);
    free(g_dir);
    free(g_job);
    g_dir = g_job = NULL;
}

/* ---- the pair under test ------------------------------------------------ */

/* The server database of a node of kind k: the run's on SQL Server,
 * rowsync_a on PostgreSQL and MariaDB (unused for SQLite). */
static const char *node_db(kind_t k)
{
    return k == KIND_mssql ? g_msdb : "rowsync_a";
}

/* Sets up nodes of kinds k1 and k2 (one of them SQL Server) for the table
 * `prefix_<k1>_<k2>`, dropped with its capture objects on both nodes. */
void pair_setup(const char *prefix, kind_t k1, kind_t k2)
{
    node_init(&g_n1, k1, kind_short[k1], node_db(k1));
    node_init(&g_n2, k2, kind_short[k2], node_db(k2));
    snprintf(g_table, sizeof g_table, "%s_%s_%s", prefix, kind_driver(k1),
             kind_driver(k2));
    if (k1 == KIND_sqlite)
        h_sql_create(g_n1.path);
    if (k2 == KIND_sqlite)
        h_sql_create(g_n2.path);
    n_drop_table(&g_n1, g_table);
    n_drop_table(&g_n2, g_table);
}

/* The [node] section for n. */
static void node_section(sbuf_t *b, const node_t *n)
{
    sb_printf(b, "[node %s]\ndriver = %s\n", n->name, kind_driver(n->kind));
    if (n->kind == KIND_sqlite) {
        sb_printf(b, "path = %s.db\n", n->name);
    } else if (n->kind == KIND_mssql) {
        static const char *const pass[] = {"host", "port", "instance",
                                           "user", "tds_version", "encryption"};
        for (size_t i = 0; i < sizeof pass / sizeof pass[0]; i++)
            if (h_ms_opt(pass[i]) != NULL)
                sb_printf(b, "%s = %s\n", pass[i], h_ms_opt(pass[i]));
        sb_printf(b, "database = %s\n", n->db);
        if (h_ms_opt("password") != NULL)
            sb_puts(b, "password_env = ROWSYNC_TEST_MS_PASSWORD\n");
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

/* The [table] section of `table`, plus the SQL Server node's own name
 * for it (dbo.<table>, whatever the login's default schema). */
static void table_section(sbuf_t *b, const char *table)
{
    sb_printf(b, "[table %s]\n", table);
    const node_t *ms = g_n1.kind == KIND_mssql ? &g_n1 : &g_n2;
    sb_printf(b, "[table %s @ %s]\nname = dbo.%s\n", table, ms->name, table);
}

/* Writes job.conf for the pair and g_table. One-way jobs flow from node
 * 1; extra lines (or NULL) go into [job]. */
void write_job(const char *mode, const char *extra)
{
    sbuf_t b = {0};
    sb_printf(&b, "[job]\nmode = %s\n", mode);
    if (strcmp(mode, "one-way") == 0)
        sb_printf(&b, "source = %s\n", g_n1.name);
    sb_printf(&b, "%s\n", extra ? extra : "");
    node_section(&b, &g_n1);
    node_section(&b, &g_n2);
    table_section(&b, g_table);
    h_write_file(g_job, "%s", b.s);
    free(b.s);
}

/* ---- every SQL Server type of issue #4 through the other drivers --------
 *
 * One column per SQL Server type, declared on the other kinds as the
 * nearest type that holds the same values exactly:
 *  - tinyint is 0..255: PostgreSQL smallint, MariaDB TINYINT UNSIGNED.
 *  - money keeps 4 decimals: numeric(19,4) / DECIMAL(19,4); SQLite's
 *    DECIMAL_TEXT has TEXT affinity and keeps every digit.
 *  - real holds only values exact in 32 bits (0.5, -2.25, 1024.125).
 *  - char(5)/nchar(4) values fill the width (PostgreSQL and SQL Server
 *    pad, MariaDB strips trailing blanks); varchar holds only characters
 *    of the database's code page (Latin-1 ones: the default collation),
 *    nvarchar anything (emoji included, two UTF-16 units).
 *  - datetime stores 1/300 s: only .000, .250, .500 and .990 fractions,
 *    which it holds exactly; years 1753 and later.
 *  - datetimeoffset is compared as the UTC instant; MariaDB's
 *    TIMESTAMP(6) bounds the values to 1970-2038.
 */
static const col_t type_cols[] = {
    {"id", T_INT, "INTEGER PRIMARY KEY", "integer PRIMARY KEY",
     "INT PRIMARY KEY", "int NOT NULL PRIMARY KEY"},
    {"flag", T_BOOL, "BOOLEAN", "boolean", "BOOLEAN", "bit"},
    {"i8", T_INT, "INTEGER", "smallint", "TINYINT UNSIGNED", "tinyint"},
    {"i16", T_INT, "INTEGER", "smallint", "SMALLINT", "smallint"},
    {"i32", T_INT, "INTEGER", "integer", "INT", "int"},
    {"i64", T_INT, "INTEGER", "bigint", "BIGINT", "bigint"},
    {"amount", T_DEC, "DECIMAL_TEXT(30,10)", "numeric(30,10)",
     "DECIMAL(30,10)", "decimal(30,10)"},
    {"cash", T_DEC, "DECIMAL_TEXT(19,4)", "numeric(19,4)", "DECIMAL(19,4)",
     "money"},
    {"dbl", T_DBL, "REAL", "double precision", "DOUBLE", "float"},
    {"flt", T_DBL, "REAL", "real", "FLOAT", "real"},
    {"fixc", T_TEXT, "TEXT", "char(5)", "CHAR(5)", "char(5)"},
    {"vc", T_TEXT, "TEXT", "varchar(200)", "VARCHAR(200)", "varchar(200)"},
    {"nfix", T_TEXT, "TEXT", "char(4)", "CHAR(4)", "nchar(4)"},
    {"nvc", T_TEXT, "TEXT", "varchar(200)", "VARCHAR(200)", "nvarchar(200)"},
    {"bin", T_BIN, "BLOB", "bytea", "LONGBLOB", "varbinary(max)"},
    {"d", T_DATE, "DATE", "date", "DATE", "date"},
    {"tm", T_TIME, "TIME", "time(6)", "TIME(6)", "time(6)"},
    {"dt", T_TS, "TIMESTAMP", "timestamp(3)", "DATETIME(3)", "datetime"},
    {"ts", T_TS, "TIMESTAMP", "timestamp(6)", "DATETIME(6)", "datetime2(6)"},
    {"tstz", T_TSTZ, "TIMESTAMPTZ", "timestamptz(6)",
     "TIMESTAMP(6) NULL DEFAULT NULL", "datetimeoffset(6)"},
    {"uid", T_UUID, "UUID", "uuid", "CHAR(36)", "uniqueidentifier"},
};
#define N_TYPE_COLS 21

/* The values, kind-neutral: binary as hex, booleans true/false,
 * zone-aware timestamps in UTC with "+00:00". NULL = SQL NULL. */
typedef const char *type_row_t[N_TYPE_COLS];

#define UTF8_NVC                                                               \
    "Gr\xc3\xbc\xc3\x9f"                                                       \
    "e \xe2\x80\x94 \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xf0\x9f\x98\x80"     \
    " \"dq\" 'sq' back\\slash"

static const type_row_t type_rows[] = {
    {"1", "true", "255", "32767", "2147483647", "9223372036854775807",
     "12345678901234567890.1234567890", "922337203685477.5807",
     "3.141592653589793", "0.5", "abcde", "Gr\xc3\xbc\xc3\x9f" "e caf\xc3\xa9",
     "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e" "x", UTF8_NVC, "00ff0000017f80fe",
     "2024-02-29", "13:45:56.123456", "2024-02-29 23:59:59.250",
     "2024-02-29 23:59:59.123456", "2024-02-29 23:59:59.654321+00:00",
     "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"},
    {"2", "false", "0", "-32768", "-2147483648", "-9223372036854775808",
     "-0.0000000001", "-922337203685477.5808", "-2.5e-07", "-2.25", "O'Bri",
     "x; DROP TABLE y; --", "a'b\\", "O'Brien; DROP TABLE x; -- \xe2\x9c\x93",
     "00", "1970-01-01", "00:00:00", "1970-01-01 00:00:00.000",
     "1970-01-01 00:00:00.000001", "1970-01-01 00:00:01.000001+00:00",
     "00000000-0000-0000-0000-000000000000"},
    {"3", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
     NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL},
    {"4", "true", "1", "1", "1", "0", "99999999999999999999.9999999999",
     "0.0001", "1.7976931348623157e+308", "1024.125", "a\tb\nc",
     "tab\tnl\nend", "\xc3\xa9t\xc3\xa9!", "tab\tnl\nend \xe2\x9c\x93",
     "000000", "9999-12-31", "23:59:59.999999", "9999-12-31 23:59:59.990",
     "9999-12-31 23:59:59.999999", "2038-01-19 03:14:07.999999+00:00",
     "ffffffff-ffff-ffff-ffff-ffffffffffff"},
    {"5", "false", "0", "0", "0", "-1", "0.0000000001", "0", "1e-300", "0",
     NULL, "", NULL, "", "", "1000-01-01", "00:00:00.000001",
     "1753-01-01 00:00:00.000", "1000-01-01 00:00:00",
     "2000-01-01 00:00:00+00:00", "123e4567-e89b-12d3-a456-426614174000"},
    {"6", "true", "42", "-42", "600", "42", "-99999999999999999999.9999999999",
     "-1.5", "0.1", "3.5", "six66", "six", "siX6", "six", "06", "2000-02-29",
     "12:00:00.5", "2000-02-29 12:00:00.500", "2000-02-29 12:00:00.5",
     "2001-09-09 01:46:40+00:00", "66666666-6666-4666-8666-666666666666"},
};

/* Row 1 after the update that travels by sync. */
static const type_row_t type_row1b = {
    "1", "false", "254", "32767", "2147483647", "9223372036854775807",
    "12345678901234567890.1234567891", "-0.0001", "3.141592653589793", "0.5",
    "abcdf", "Gr\xc3\xbc\xc3\x9f" "e caf\xc3\xa9!",
    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e" "y", UTF8_NVC " \xe2\x9c\x93",
    "00ff0000017f80fe00", "2024-02-29", "13:45:56.123457",
    "2024-02-29 23:59:59.500", "2024-02-29 23:59:59.123457",
    "2024-02-29 23:59:59.654322+00:00",
    "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"};

/* Fails unless node 1 holds exactly the value rows (the test's own data
 * went in right) and node 2 equals node 1. */
static void assert_types_are(const char *what, const vrow_t *rows, int nrows)
{
    char *want = expected_dump(type_cols, N_TYPE_COLS, rows, nrows);
    char *a = n_dump(&g_n1, g_table, type_cols, N_TYPE_COLS);
    char *b = n_dump(&g_n2, g_table, type_cols, N_TYPE_COLS);
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

/* The types table on both nodes, rows 1 and 6 on node 1. */
static void types_setup(const char *prefix, kind_t k1, kind_t k2)
{
    pair_setup(prefix, k1, k2);
    n_create(&g_n1, g_table, type_cols, N_TYPE_COLS);
    n_create(&g_n2, g_table, type_cols, N_TYPE_COLS);
    insert_type_row(&g_n1, type_rows[0]);
    insert_type_row(&g_n1, type_rows[5]);
}

/* One-way: rows 1 and 6 travel by the initial load; rows 2-5 inserted,
 * row 1 updated in every column and row 6 deleted travel by sync. */
static void run_types(kind_t src, kind_t dst)
{
    types_setup("ty", src, dst);
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

/* Bidirectional (check_matrix's run_types_bidirectional): each value
 * written on each side, NULLs set and filled again. */
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

/* ---- dbo.Orders with an identity key ------------------------------------
 *
 * The SQL Server side is [dbo].[Orders] with OrderId int IDENTITY(1000,1):
 * rows from the other node arrive with their own ids (the driver wraps
 * the MERGE in SET IDENTITY_INSERT), rows the application inserts on SQL
 * Server get ids from the identity and travel the other way. The other
 * node's table has a name of this test's own (orders_<kind>: the
 * PostgreSQL and MariaDB databases are shared); the job names dbo.Orders
 * for the SQL Server node. */
static const col_t ord_cols[] = {
    {"OrderId", T_INT, "INTEGER PRIMARY KEY", "integer PRIMARY KEY",
     "INT PRIMARY KEY", "int IDENTITY(1000,1) NOT NULL PRIMARY KEY"},
    {"Customer", T_TEXT, "TEXT", "varchar(100)", "VARCHAR(100)",
     "nvarchar(100) NOT NULL"},
    {"Total", T_DEC, "DECIMAL_TEXT(12,2)", "numeric(12,2)", "DECIMAL(12,2)",
     "decimal(12,2)"},
};

/* Fails unless dbo.Orders and the other node's table both hold want. */
static void assert_orders(const char *what, const node_t *ms,
                          const node_t *ot, const char *otable,
                          const char *want)
{
    char *a = n_dump(ot, otable, ord_cols, 3);
    char *m = n_dump(ms, "Orders", ord_cols, 3);
    assert_same_dump(what, "expected", want, ot->name, a);
    assert_same_dump(what, "expected", want, ms->name, m);
    free(a);
    free(m);
}

static void run_orders(kind_t other)
{
    node_t ms, ot;
    char otable[64];

    node_init(&ms, KIND_mssql, "callcentre", node_db(KIND_mssql));
    node_init(&ot, other, "shop", node_db(other));
    snprintf(otable, sizeof otable, "orders_%s", kind_driver(other));
    if (other == KIND_sqlite)
        h_sql_create(ot.path);
    n_drop_table(&ms, "Orders");
    n_drop_table(&ot, otable);
    n_create(&ms, "Orders", ord_cols, 3);
    n_create(&ot, otable, ord_cols, 3);
    char oid[32]; /* q_ident's buffers rotate: keep a copy */
    snprintf(oid, sizeof oid, "%s", q_ident(other, "OrderId"));
    n_exec(&ot,
           "INSERT INTO %s (%s, %s, %s) VALUES (1, 'Ana', 10.50),"
           " (2, 'Bo', 99.99), (3, 'Cy', 0.01)",
           n_table(&ot, otable), oid, q_ident(other, "Customer"),
           q_ident(other, "Total"));

    sbuf_t b = {0};
    sb_puts(&b, "[job]\nmode = bidirectional\n\n");
    node_section(&b, &ot);
    node_section(&b, &ms);
    sb_printf(&b, "[table %s]\n[table %s @ callcentre]\nname = dbo.Orders\n",
              otable, otable);
    h_write_file(g_job, "%s", b.s);
    free(b.s);

    /* The initial load writes ids 1-3 into the identity column. */
    h_proc_free(rs_ok("init"));
    assert_orders("initial load", &ms, &ot, otable,
                  "1|'Ana'|10.5\n2|'Bo'|99.99\n3|'Cy'|0.01\n");

    /* An application insert on SQL Server takes the next identity value
     * (1000, or 4 when the explicit ids moved the identity: both stay
     * clear of the shop's 500); the shop adds id 500, changes id 2 and
     * deletes id 1; the call centre changes id 3. */
    n_exec(&ms, "INSERT INTO [dbo].[Orders] (Customer, Total)"
                " VALUES (N'Dee \xc3\xa9', 5.00)");
    int64_t newid = n_int(&ms, "SELECT OrderId FROM [dbo].[Orders] WHERE"
                               " Customer = N'Dee \xc3\xa9'");
    ck_assert_msg(newid > 3 && newid != 500, "identity gave %lld",
                  (long long)newid);
    n_exec(&ot, "INSERT INTO %s (%s, %s, %s) VALUES (500, 'Eve', 1.25)",
           n_table(&ot, otable), oid, q_ident(other, "Customer"),
           q_ident(other, "Total"));
    n_exec(&ot, "UPDATE %s SET %s = 100.00 WHERE %s = 2", n_table(&ot, otable),
           q_ident(other, "Total"), oid);
    n_exec(&ms, "UPDATE [dbo].[Orders] SET Customer = N'Cy Two' WHERE"
                " OrderId = 3");
    n_exec(&ot, "DELETE FROM %s WHERE %s = 1", n_table(&ot, otable), oid);
    sync_moves(4, 1, 0);
    char *want = newid < 500
                     ? h_strf("2|'Bo'|100\n3|'Cy Two'|0.01\n"
                              "%lld|'Dee \xc3\xa9'|5\n500|'Eve'|1.25\n",
                              (long long)newid)
                     : h_strf("2|'Bo'|100\n3|'Cy Two'|0.01\n500|'Eve'|1.25\n"
                              "%lld|'Dee \xc3\xa9'|5\n",
                              (long long)newid);
    assert_orders("after a pass", &ms, &ot, otable, want);
    free(want);
    sync_moves(0, 0, 0);

    /* The identity still works after rowsync's IDENTITY_INSERT: the next
     * application insert gets a fresh id and travels. */
    n_exec(&ms, "INSERT INTO [dbo].[Orders] (Customer, Total)"
                " VALUES (N'Fay', 7.00)");
    int64_t fay = n_int(&ms, "SELECT OrderId FROM [dbo].[Orders] WHERE"
                             " Customer = N'Fay'");
    ck_assert_msg(fay > newid, "identity gave %lld after %lld",
                  (long long)fay, (long long)newid);
    sync_moves(1, 0, 0);
    ck_assert_int_eq(n_int(&ot, "SELECT count(*) FROM %s WHERE %s = %lld",
                           n_table(&ot, otable), oid, (long long)fay),
                     1);
    free(ot.path);
}

/* ---- datetime2(7), time(7), datetimeoffset with an offset --------------- */

/* SQL Server keeps 100 ns, the core microseconds: reading drops the 7th
 * digit without rounding (23:59:59.9999999 stays on its day), and a value
 * written back into datetime2(7)/time(7) is exact to the microsecond.
 * A datetimeoffset written at +05:30 arrives as its UTC instant. */
static void run_precision(kind_t other)
{
    static const col_t p_cols[] = {
        {"id", T_INT, "INTEGER PRIMARY KEY", "integer PRIMARY KEY",
         "INT PRIMARY KEY", "int NOT NULL PRIMARY KEY"},
        {"ts7", T_TS, "TIMESTAMP", "timestamp(6)", "DATETIME(6)",
         "datetime2(7)"},
        {"tm7", T_TIME, "TIME", "time(6)", "TIME(6)", "time(7)"},
        {"dto", T_TSTZ, "TIMESTAMPTZ", "timestamptz(6)",
         "TIMESTAMP(6) NULL DEFAULT NULL", "datetimeoffset(7)"},
    };
    pair_setup("p7", KIND_mssql, other);
    n_create(&g_n1, g_table, p_cols, 4);
    n_create(&g_n2, g_table, p_cols, 4);
    n_exec(&g_n1,
           "INSERT INTO %s VALUES (1, '2024-02-29 23:59:59.9999999',"
           " '23:59:59.9999999', '2024-03-01 05:29:59.9999999 +05:30'),"
           " (2, '2000-01-01 00:00:00.0000001', '00:00:00.0000001',"
           " '2000-01-01 05:30:00.1234567 +05:30')",
           n_table(&g_n1, g_table));
    write_job("bidirectional", NULL);
    h_proc_free(rs_ok("init"));
    char *got = n_dump(&g_n2, g_table, p_cols, 4);
    assert_same_dump("7 digits read", "expected",
                     "1|2024-02-29 23:59:59.999999|23:59:59.999999|"
                     "2024-02-29T23:59:59.999999Z\n"
                     "2|2000-01-01 00:00:00.000000|00:00:00.000000|"
                     "2000-01-01T00:00:00.123456Z\n",
                     g_n2.name, got);
    free(got);

    /* Written back from the other side: exact microseconds. */
    n_exec(&g_n2,
           "INSERT INTO %s VALUES (3, '2030-06-15 12:34:56.654321',"
           " '12:34:56.654321', %s)",
           n_table(&g_n2, g_table),
           other == KIND_mysql ? "'2030-06-15 12:34:56.654321'"
                               : "'2030-06-15 12:34:56.654321+00:00'");
    sync_moves(1, 0, 0);
    ck_assert_int_eq(n_int(&g_n1,
                           "SELECT count(*) FROM %s WHERE id = 3 AND ts7 ="
                           " CONVERT(datetime2(7), '2030-06-15"
                           " 12:34:56.6543210', 121) AND tm7 ="
                           " CONVERT(time(7), '12:34:56.6543210') AND dto ="
                           " CONVERT(datetimeoffset(7), '2030-06-15"
                           " 12:34:56.6543210 +00:00')",
                           n_table(&g_n1, g_table)),
                     1);
}

/* ---- connection failure ------------------------------------------------- */

#define SECRET "Zq7-mssql-S3cret-pw-4412"

/* `rowsync check` (and `sync`) with a SQL Server node on a closed port:
 * exit 1, and the error names the node, host:port and FreeTDS's own
 * reason; the password appears nowhere. Needs no server. */
START_TEST(test_check_unreachable_mssql)
{
    node_t lite;
    node_init(&lite, KIND_sqlite, "shop", node_db(KIND_sqlite));
    h_make_items(lite.path, 3);
    int port = closed_port();
    h_write_file(g_job,
                 "[job]\nmode = one-way\nsource = shop\n\n"
                 "[node shop]\ndriver = sqlite\npath = shop.db\n\n"
                 "[node ccdown]\ndriver = mssql\nhost = 127.0.0.1\n"
                 "port = %d\ndatabase = CallCentre\nuser = rowsync\n"
                 "password_env = ROWSYNC_TEST_PASSWORD\ntds_version = 7.4\n"
                 "login_timeout = 5\n\n[table items]\n",
                 port);
    ck_assert_int_eq(setenv("ROWSYNC_TEST_PASSWORD", SECRET, 1), 0);
    char hostport[64];
    snprintf(hostport, sizeof hostport, "127.0.0.1:%d", port);

    const char *cmds[] = {"check", "sync"};
    for (int i = 0; i < 2; i++) {
        h_proc_t *p = h_run(cmds[i], g_job, NULL);
        H_ASSERT_EXIT(p, 1);
        ck_assert_msg(strstr(p->err, "rowsync: error:") != NULL,
                      "no \"rowsync: error:\" line: %s", h_describe(p));
        ck_assert_msg(h_lines_with(p->err, "ccdown", hostport),
                      "%s: no line names node ccdown and %s: %s", cmds[i],
                      hostport, h_describe(p));
        /* FreeTDS's text for SYBEFCON (20009) */
        ck_assert_msg(strstr(p->err, "Adaptive Server is unavailable or does"
                                     " not exist") != NULL,
                      "%s: FreeTDS's message is missing: %s", cmds[i],
                      h_describe(p));
        ck_assert_msg(!strstr(p->out, SECRET) && !strstr(p->err, SECRET),
                      "%s: the password appears in the output: %s", cmds[i],
                      h_describe(p));
        h_proc_free(p);
    }
    ck_assert_int_eq(h_rowsync_objects(lite.path), 0);
    free(lite.path);
}
END_TEST

/* ---- the test cases ----------------------------------------------------- */

#define PAIR_TESTS(k)                                                          \
    START_TEST(test_oneway_mssql_to_##k)                                       \
    {                                                                          \
        run_oneway(KIND_mssql, KIND_##k);                                      \
    }                                                                          \
    END_TEST                                                                   \
    START_TEST(test_oneway_##k##_to_mssql)                                     \
    {                                                                          \
        run_oneway(KIND_##k, KIND_mssql);                                      \
    }                                                                          \
    END_TEST                                                                   \
    START_TEST(test_bidirectional_mssql_##k)                                   \
    {                                                                          \
        run_bidirectional(KIND_mssql, KIND_##k, CLOCK_GAP_MS);                 \
    }                                                                          \
    END_TEST                                                                   \
    START_TEST(test_bidirectional_##k##_mssql)                                 \
    {                                                                          \
        run_bidirectional(KIND_##k, KIND_mssql, CLOCK_GAP_MS);                 \
    }                                                                          \
    END_TEST                                                                   \
    START_TEST(test_types_mssql_to_##k)                                        \
    {                                                                          \
        run_types(KIND_mssql, KIND_##k);                                       \
    }                                                                          \
    END_TEST                                                                   \
    START_TEST(test_types_##k##_to_mssql)                                      \
    {                                                                          \
        run_types(KIND_##k, KIND_mssql);                                       \
    }                                                                          \
    END_TEST                                                                   \
    START_TEST(test_types_bidirectional_mssql_##k)                             \
    {                                                                          \
        run_types_bidirectional(KIND_mssql, KIND_##k);                         \
    }                                                                          \
    END_TEST                                                                   \
    START_TEST(test_types_bidirectional_##k##_mssql)                           \
    {                                                                          \
        run_types_bidirectional(KIND_##k, KIND_mssql);                         \
    }                                                                          \
    END_TEST                                                                   \
    START_TEST(test_orders_identity_##k##_mssql)                               \
    {                                                                          \
        run_orders(KIND_##k);                                                  \
    }                                                                          \
    END_TEST                                                                   \
    START_TEST(test_datetime2_7_mssql_##k)                                     \
    {                                                                          \
        run_precision(KIND_##k);                                               \
    }                                                                          \
    END_TEST

PAIR_TESTS(sqlite)
PAIR_TESTS(pgsql)
PAIR_TESTS(mysql)

START_TEST(test_pgsql_server_configured)
{
    ck_abort_msg("PostgreSQL test server not configured: start "
                 "tests/servers/pg.sh and export its env "
                 "(ROWSYNC_TEST_PG_HOST, _PORT, _USER, _PASSWORD); the "
                 "mssql <-> pgsql pairs did not run");
}
END_TEST

START_TEST(test_mysql_server_configured)
{
    ck_abort_msg("MariaDB test server not configured: start "
                 "tests/servers/mariadb.sh and export its env "
                 "(ROWSYNC_TEST_MY_HOST, _PORT, _USER, _PASSWORD); the "
                 "mssql <-> mysql pairs did not run");
}
END_TEST

/* One test case per behaviour, each with its own temporary directory and
 * a timeout for a server on another machine. */
static void add(Suite *s, const char *name, const TTest *test)
{
    TCase *tc = tcase_create(name);
    tcase_add_unchecked_fixture(tc, fx_setup, fx_teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test);
    suite_add_tcase(s, tc);
}

#define ADD(s, t) add((s), #t, t)
#define ADD_PAIR(s, k)                                                         \
    do {                                                                       \
        ADD(s, test_oneway_mssql_to_##k);                                      \
        ADD(s, test_oneway_##k##_to_mssql);                                    \
        ADD(s, test_bidirectional_mssql_##k);                                  \
        ADD(s, test_bidirectional_##k##_mssql);                                \
        ADD(s, test_types_mssql_to_##k);                                       \
        ADD(s, test_types_##k##_to_mssql);                                     \
        ADD(s, test_types_bidirectional_mssql_##k);                            \
        ADD(s, test_types_bidirectional_##k##_mssql);                          \
        ADD(s, test_orders_identity_##k##_mssql);                              \
        ADD(s, test_datetime2_7_mssql_##k);                                    \
    } while (0)

/* with_server: every case; else only the one that needs no server. */
static Suite *mssql_suite(int with_server)
{
    Suite *s = suite_create("mssql");
    ADD(s, test_check_unreachable_mssql);
    if (!with_server)
        return s;
    ADD_PAIR(s, sqlite);
    if (env_read("PG", &g_pg))
        ADD_PAIR(s, pgsql);
    else
        ADD(s, test_pgsql_server_configured);
    if (env_read("MY", &g_my))
        ADD_PAIR(s, mysql);
    else
        ADD(s, test_mysql_server_configured);
    return s;
}

/* Creates (create = 1) or drops the run's database through the
 * connection string's own database. 0, or -1 with the reason on stderr. */
static int ms_database(int create)
{
    char err[2048], sql[512];
    h_ms_t *ms = h_ms_try_open(NULL, err, sizeof err);
    if (ms == NULL) {
        fprintf(stderr, "check_mssql: %s\n", err);
        return -1;
    }
    if (create)
        snprintf(sql, sizeof sql,
                 "IF DB_ID(N'%s') IS NOT NULL DROP DATABASE [%s];"
                 " CREATE DATABASE [%s]",
                 g_msdb, g_msdb, g_msdb);
    else
        snprintf(sql, sizeof sql,
                 "IF DB_ID(N'%s') IS NOT NULL BEGIN ALTER DATABASE [%s] SET"
                 " SINGLE_USER WITH ROLLBACK IMMEDIATE; DROP DATABASE [%s]"
                 " END",
                 g_msdb, g_msdb, g_msdb);
    int rc = h_ms_run(ms, sql, NULL, NULL, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "check_mssql: %s database %s: %s\n",
                create ? "cannot create" : "cannot drop", g_msdb, err);
    h_ms_close(ms);
    return rc;
}

int main(void)
{
    int with_server = h_ms_configured(), failed;

    if (with_server) {
        const char *why = h_ms_config_error();
        if (why != NULL) {
            fprintf(stderr,
                    "check_mssql: %s; use host=...;port=1433;database=..."
                    ";user=...;password=...;tds_version=7.4\n",
                    why);
            return 1;
        }
        snprintf(g_msdb, sizeof g_msdb, "rowsync_it_%ld", (long)getpid());
        if (h_ms_opt("password") != NULL &&
            setenv("ROWSYNC_TEST_MS_PASSWORD", h_ms_opt("password"), 1) != 0)
            return 1;
        if (ms_database(1) != 0)
            return 1;
    }
    SRunner *sr = srunner_create(mssql_suite(with_server));
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    if (with_server) {
        if (getenv("ROWSYNC_KEEP_TMP") == NULL && ms_database(0) != 0)
            failed++;
        else if (getenv("ROWSYNC_KEEP_TMP") != NULL)
            fprintf(stderr, "check_mssql: kept database %s\n", g_msdb);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
    }
    if (failed != 0)
        return EXIT_FAILURE;
    fputs(MSSQL_SKIP_TEXT, stdout);
    fputs(MSSQL_SKIP_TEXT, stderr);
    fputs("(only test_check_unreachable_mssql ran, and passed)\n", stdout);
    return 77;
}
