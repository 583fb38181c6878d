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

#define MSSQL_SKIP_TEXT                                                        \
    "SKIP: ROWSYNC_TEST_MSSQL is not set; the SQL Server driver was not "      \
    "tested against a server\n"

/* Time between two writes whose order decides a conflict when a SQL
 * Server takes part (its clock is another machine's). */
#define CLOCK_GAP_MS 1500

/* ---- configuration from the environment ------------------------------ */

typedef struct srv_env {
    const char *host, *port, *user, *password;
} srv_env_t;

static srv_env_t g_pg, g_my; /* read in main(), before the runner forks */
static char g_msdb[64];      /* the run's SQL Server database */

/* Reads ROWSYNC_TEST_<P>_{HOST,PORT,USER,PASSWORD}; 1 when all are set. */
static int env_read(const char *p, srv_env_t *e)
{
    char name[64];
    const char **slot[] = {&e->host, &e->port, &e->user, &e->password};
    const char *what[] = {"HOST", "PORT", "USER", "PASSWORD"};
    int ok = 1;
    for (int i = 0; i < 4; i++) {
        snprintf(name, sizeof name, "ROWSYNC_TEST_%s_%s", p, what[i]);
        const char *v = getenv(name);
        *slot[i] = v && *v ? v : NULL;
        ok &= *slot[i] != NULL;
    }
    return ok;
}

/* ---- nodes ------------------------------------------------------------ */

typedef enum kind { KIND_sqlite, KIND_pgsql, KIND_mysql, KIND_mssql } kind_t;

static const char *const kind_drivers[] = {"sqlite", "pgsql", "mysql",
                                           "mssql"};
static const char *const kind_short[] = {"lite", "pg", "my", "ms"};

typedef struct node {
    kind_t kind;
    char name[32]; /* node name in the job */
    char db[64];   /* server database */
    char *path;    /* sqlite: the file */
} node_t;

static char *g_dir; /* the test's temporary directory */
static char *g_job; /* g_dir/job.conf */

static void fx_setup(void)
{
    g_dir = h_tmpdir();
    g_job = h_path(g_dir, "job.conf");
}

static void fx_teardown(void)
{
    h_rmtree(g_dir);
    free(g_dir);
    free(g_job);
    g_dir = g_job = NULL;
}

/* Fills n as node `name` of kind k: SQLite nodes are g_dir/<name>.db,
 * PostgreSQL and MariaDB nodes use rowsync_a, SQL Server nodes the run's
 * database. */
static void node_init(node_t *n, kind_t k, const char *name)
{
    memset(n, 0, sizeof *n);
    n->kind = k;
    snprintf(n->name, sizeof n->name, "%s", name);
    snprintf(n->db, sizeof n->db, "%s",
             k == KIND_mssql ? g_msdb : "rowsync_a");
    if (k == KIND_sqlite)
        n->path = h_strf("%s/%s.db", g_dir, name);
}

/* ---- native clients ----------------------------------------------------
 *
 * One connection per server, opened lazily in the test process and kept
 * until it exits. */

static void pg_quiet(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

static PGconn *g_pgc;
static MYSQL *g_myc;
static h_ms_t *g_msc;

static PGconn *pg_conn(void)
{
    if (g_pgc != NULL)
        return g_pgc;
    const char *kw[] = {"host", "port", "dbname", "user", "password", NULL};
    const char *val[] = {g_pg.host, g_pg.port,     "rowsync_a",
                         g_pg.user, g_pg.password, NULL};
    PGconn *c = PQconnectdbParams(kw, val, 0);
    ck_assert_msg(PQstatus(c) == CONNECTION_OK,
                  "cannot connect to PostgreSQL %s:%s/rowsync_a: %s", g_pg.host,
                  g_pg.port, PQerrorMessage(c));
    PQsetNoticeProcessor(c, pg_quiet, NULL);
    PGresult *r = PQexec(c, "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD';"
                            " SET extra_float_digits = 3;"
                            " SET bytea_output = 'hex';"
                            " SET client_encoding = 'UTF8'");
    ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK, "session set-up: %s",
                  PQresultErrorMessage(r));
    PQclear(r);
    return g_pgc = c;
}

static MYSQL *my_conn(void)
{
    if (g_myc != NULL)
        return g_myc;
    MYSQL *c = mysql_init(NULL);
    ck_assert_msg(c != NULL, "mysql_init failed");
    mysql_options(c, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    ck_assert_msg(mysql_real_connect(c, g_my.host, g_my.user, g_my.password,
                                     "rowsync_a", (unsigned)atoi(g_my.port),
                                     NULL, CLIENT_MULTI_STATEMENTS) != NULL,
                  "cannot connect to MariaDB %s:%s/rowsync_a: %s", g_my.host,
                  g_my.port, mysql_error(c));
    ck_assert_msg(mysql_query(c, "SET time_zone = '+00:00'") == 0,
                  "SET time_zone: %s", mysql_error(c));
    return g_myc = c;
}

static h_ms_t *ms_conn(void)
{
    if (g_msc == NULL)
        g_msc = h_ms_open(g_msdb);
    return g_msc;
}

/* Runs sql (several statements allowed) on MariaDB; 0 or the error text
 * in err. Every result is consumed. */
static int my_run(MYSQL *c, const char *sql, char *err, size_t errlen)
{
    if (mysql_query(c, sql) != 0) {
        snprintf(err, errlen, "%s", mysql_error(c));
        return -1;
    }
    int st;
    do {
        MYSQL_RES *r = mysql_store_result(c);
        if (r)
            mysql_free_result(r);
        else if (mysql_field_count(c) != 0) {
            snprintf(err, errlen, "%s", mysql_error(c));
            return -1;
        }
        st = mysql_next_result(c);
        if (st > 0) {
            snprintf(err, errlen, "%s", mysql_error(c));
            return -1;
        }
    } while (st == 0);
    return 0;
}

static void n_exec(const node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Runs admin SQL (several statements allowed) on a node; fails the test
 * when the database reports an error. */
static void n_exec(const node_t *n, const char *fmt, ...)
{
    char *sql;
    va_list ap;
    va_start(ap, fmt);
    ck_assert_msg(vasprintf(&sql, fmt, ap) >= 0, "out of memory");
    va_end(ap);
    if (n->kind == KIND_sqlite) {
        h_sql(n->path, "%s", sql);
    } else if (n->kind == KIND_pgsql) {
        PGresult *r = PQexec(pg_conn(), sql);
        ExecStatusType st = PQresultStatus(r);
        ck_assert_msg(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK,
                      "PostgreSQL: %s\nin: %.400s", PQresultErrorMessage(r),
                      sql);
        PQclear(r);
    } else if (n->kind == KIND_mysql) {
        char err[1024];
        ck_assert_msg(my_run(my_conn(), sql, err, sizeof err) == 0,
                      "MariaDB: %s\nin: %.400s", err, sql);
    } else {
        h_ms_exec(ms_conn(), "%s", sql);
    }
    free(sql);
}

/* A result cell: NULL, or bytes (SQLite also says its storage class). */
typedef struct cell {
    int null;
    int lite_type; /* SQLITE_INTEGER ... for SQLite cells, else 0 */
    char *data;    /* NUL-terminated copy */
    size_t len;
} cell_t;

typedef struct result {
    int nrows, ncols, cap;
    cell_t *cells; /* row-major */
} result_t;

static void res_free(result_t *r)
{
    for (int i = 0; i < r->nrows * r->ncols; i++)
        free(r->cells[i].data);
    free(r->cells);
    memset(r, 0, sizeof *r);
}

/* Makes room for row `row` of r->ncols cells. */
static void res_room(result_t *r, int row)
{
    int need = (row + 1) * (r->ncols ? r->ncols : 1);
    if (need <= r->cap)
        return;
    int cap = r->cap ? r->cap : 64;
    while (cap < need)
        cap *= 2;
    r->cells = realloc(r->cells, (size_t)cap * sizeof *r->cells);
    ck_assert_msg(r->cells != NULL, "out of memory");
    memset(r->cells + r->cap, 0, (size_t)(cap - r->cap) * sizeof *r->cells);
    r->cap = cap;
}

static cell_t cell_copy(int null, const void *p, size_t len, int lite_type)
{
    cell_t c = {null, lite_type, NULL, 0};
    if (!null) {
        c.data = malloc(len + 1);
        ck_assert_msg(c.data != NULL, "out of memory");
        if (len)
            memcpy(c.data, p, len);
        c.data[len] = '\0';
        c.len = len;
    }
    return c;
}

/* Collects the cells db-lib hands over into a result_t. */
static void ms_cell(void *ud, int row, int col, int ncols, const char *data,
                    size_t len, int isnull)
{
    result_t *r = ud;
    r->ncols = ncols;
    res_room(r, row);
    r->cells[row * ncols + col] = cell_copy(isnull, data, len, 0);
    if (row + 1 > r->nrows)
        r->nrows = row + 1;
}

/* Runs a query on the node and returns every cell; fails the test on
 * error. */
static void n_query(const node_t *n, const char *sql, result_t *out)
{
    result_t r = {0, 0, 0, NULL};
    char err[2048] = "";
    if (n->kind == KIND_sqlite) {
        sqlite3 *h = NULL;
        sqlite3_stmt *st = NULL;
        int rc = sqlite3_open_v2(n->path, &h, SQLITE_OPEN_READONLY, NULL);
        if (rc == SQLITE_OK) {
            sqlite3_busy_timeout(h, 10000);
            rc = sqlite3_prepare_v2(h, sql, -1, &st, NULL);
        }
        if (rc == SQLITE_OK) {
            r.ncols = sqlite3_column_count(st);
            while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                res_room(&r, r.nrows);
                for (int i = 0; i < r.ncols; i++) {
                    int t = sqlite3_column_type(st, i);
                    cell_t c;
                    if (t == SQLITE_NULL) {
                        c = cell_copy(1, NULL, 0, t);
                    } else if (t == SQLITE_FLOAT) {
                        char num[64];
                        snprintf(num, sizeof num, "%.17g",
                                 sqlite3_column_double(st, i));
                        c = cell_copy(0, num, strlen(num), t);
                    } else if (t == SQLITE_BLOB) {
                        const void *p = sqlite3_column_blob(st, i);
                        c = cell_copy(0, p, (size_t)sqlite3_column_bytes(st, i),
                                      t);
                    } else {
                        const unsigned char *p = sqlite3_column_text(st, i);
                        c = cell_copy(0, p, (size_t)sqlite3_column_bytes(st, i),
                                      t);
                    }
                    r.cells[r.nrows * r.ncols + i] = c;
                }
                r.nrows++;
            }
            if (rc == SQLITE_DONE)
                rc = SQLITE_OK;
        }
        if (rc != SQLITE_OK)
            snprintf(err, sizeof err, "SQLite %s: %s", n->path,
                     h ? sqlite3_errmsg(h) : "cannot open");
        sqlite3_finalize(st);
        sqlite3_close(h);
    } else if (n->kind == KIND_pgsql) {
        PGresult *pr = PQexec(pg_conn(), sql);
        if (PQresultStatus(pr) == PGRES_TUPLES_OK) {
            r.ncols = PQnfields(pr);
            int rows = PQntuples(pr);
            for (int row = 0; row < rows; row++) {
                res_room(&r, r.nrows);
                for (int i = 0; i < r.ncols; i++)
                    r.cells[r.nrows * r.ncols + i] = cell_copy(
                        PQgetisnull(pr, row, i), PQgetvalue(pr, row, i),
                        (size_t)PQgetlength(pr, row, i), 0);
                r.nrows++;
            }
        } else {
            snprintf(err, sizeof err, "PostgreSQL: %s",
                     PQresultErrorMessage(pr));
        }
        PQclear(pr);
    } else if (n->kind == KIND_mysql) {
        MYSQL *c = my_conn();
        MYSQL_RES *mr = NULL;
        if (mysql_query(c, sql) == 0 && (mr = mysql_store_result(c)) != NULL) {
            r.ncols = (int)mysql_num_fields(mr);
            MYSQL_ROW row;
            while ((row = mysql_fetch_row(mr)) != NULL) {
                unsigned long *lens = mysql_fetch_lengths(mr);
                res_room(&r, r.nrows);
                for (int i = 0; i < r.ncols; i++)
                    r.cells[r.nrows * r.ncols + i] =
                        cell_copy(row[i] == NULL, row[i], lens[i], 0);
                r.nrows++;
            }
            mysql_free_result(mr);
        } else {
            snprintf(err, sizeof err, "MariaDB: %s", mysql_error(c));
        }
    } else {
        if (h_ms_run(ms_conn(), sql, ms_cell, &r, err, sizeof err) != 0 &&
            err[0] == '\0')
            snprintf(err, sizeof err, "SQL Server: the query failed");
    }
    if (*err) {
        res_free(&r);
        ck_abort_msg("%s\nin: %.400s", err, sql);
    }
    *out = r;
}

static int64_t n_int(const node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* First column of the first row as an integer; fails the test when there
 * is none. */
static int64_t n_int(const node_t *n, const char *fmt, ...)
{
    char *sql;
    va_list ap;
    va_start(ap, fmt);
    ck_assert_msg(vasprintf(&sql, fmt, ap) >= 0, "out of memory");
    va_end(ap);
    result_t r;
    n_query(n, sql, &r);
    ck_assert_msg(r.nrows > 0 && r.ncols > 0 && !r.cells[0].null,
                  "no value from %s: %.400s", n->name, sql);
    int64_t v = strtoll(r.cells[0].data, NULL, 10);
    res_free(&r);
    free(sql);
    return v;
}

/* Quotes s into one of eight rotating static buffers (valid for the next
 * seven calls) between open and close; close is doubled inside, and with
 * bs set a backslash too (MariaDB string literals). */
static const char *q_quote(const char *s, char open, char close, int bs)
{
    static char buf[8][400];
    static int next;
    char *b = buf[next++ % 8];
    size_t o = 0;
    const char *p = s;
    b[o++] = open;
    for (; *p && o + 4 < sizeof buf[0]; p++) {
        if (*p == close || (bs && *p == '\\'))
            b[o++] = *p;
        b[o++] = *p;
    }
    b[o++] = close;
    b[o] = '\0';
    ck_assert_msg(*p == '\0', "name too long to quote: %s", s);
    return b;
}

/* An identifier quoted for node kind k: "x" on PostgreSQL and SQLite, `x`
 * on MariaDB, [x] on SQL Server. Rotating buffers as q_quote. */
static const char *q_ident(kind_t k, const char *name)
{
    if (k == KIND_mysql)
        return q_quote(name, '`', '`', 0);
    if (k == KIND_mssql)
        return q_quote(name, '[', ']', 0);
    return q_quote(name, '"', '"', 0);
}

/* A string literal of the test's own admin SQL (names, patterns). */
static const char *q_str(kind_t k, const char *s)
{
    return q_quote(s, '\'', '\'', k == KIND_mysql);
}

/* The table as written in SQL on node n (public."t", `t`, "t",
 * [dbo].[t]). Four rotating static buffers. */
static const char *n_table(const node_t *n, const char *table)
{
    static char buf[4][220];
    static int next;
    char *b = buf[next++ % 4];
    snprintf(b, sizeof buf[0], "%s%s",
             n->kind == KIND_pgsql   ? "public."
             : n->kind == KIND_mssql ? "[dbo]."
                                     : "",
             q_ident(n->kind, table));
    return b;
}

/* Drops the table and rowsync's objects and state for it on node n (see
 * check_matrix's n_drop_table; on SQL Server the trigger goes with the
 * table, the history is rowsync.[h_dbo_<t>]). */
static void n_drop_table(const node_t *n, const char *table)
{
    char *pat1 = h_strf("%%/%s", table);
    if (n->kind == KIND_sqlite) {
        char *hist = h_strf("rowsync_h_%s", table);
        n_exec(n, "DROP TABLE IF EXISTS %s; DROP TABLE IF EXISTS %s",
               q_ident(n->kind, table), q_ident(n->kind, hist));
        free(hist);
    } else if (n->kind == KIND_pgsql) {
        char *h = h_strf("h_public_%s", table),
             *f = h_strf("f_public_%s", table),
             *pat2 = h_strf("%%/public.%s", table);
        n_exec(n,
               "DROP TABLE IF EXISTS public.%s CASCADE;"
               "DROP TABLE IF EXISTS rowsync.%s CASCADE;"
               "DROP FUNCTION IF EXISTS rowsync.%s() CASCADE;"
               "DO $$BEGIN IF to_regclass('rowsync.state') IS NOT NULL THEN"
               " DELETE FROM rowsync.state WHERE name LIKE %s"
               " OR name LIKE %s; END IF; END$$",
               q_ident(n->kind, table), q_ident(n->kind, h),
               q_ident(n->kind, f), q_str(n->kind, pat1),
               q_str(n->kind, pat2));
        free(h);
        free(f);
        free(pat2);
    } else if (n->kind == KIND_mysql) {
        char *hist = h_strf("rowsync_h_%s", table);
        n_exec(n, "DROP TABLE IF EXISTS %s, %s", q_ident(n->kind, table),
               q_ident(n->kind, hist));
        if (n_int(n, "SELECT count(*) FROM information_schema.tables WHERE"
                     " table_schema = DATABASE() AND"
                     " table_name = 'rowsync_state'") > 0)
            n_exec(n, "DELETE FROM rowsync_state WHERE name LIKE %s",
                   q_str(n->kind, pat1));
        free(hist);
    } else {
        char *h = h_strf("h_dbo_%s", table);
        n_exec(n,
               "DROP TABLE IF EXISTS [dbo].%s;"
               " DROP TABLE IF EXISTS [rowsync].%s;"
               " IF OBJECT_ID(N'rowsync.state') IS NOT NULL"
               " DELETE FROM [rowsync].[state] WHERE name LIKE N%s",
               q_ident(n->kind, table), q_ident(n->kind, h),
               q_str(n->kind, pat1));
        free(h);
    }
    free(pat1);
}

/* ---- canonical rendering ---------------------------------------------- */

typedef enum ltype {
    T_INT,
    T_DEC,
    T_DBL,
    T_BOOL,
    T_TEXT,
    T_BIN,
    T_DATE,
    T_TIME,
    T_TS,
    T_TSTZ,
    T_UUID
} ltype_t;

/* A column: name, logical type, and its declaration per kind. */
typedef struct col {
    const char *name;
    ltype_t type;
    const char *lite, *pg, *my, *ms;
} col_t;

/* Growable string. */
typedef struct sbuf {
    char *s;
    size_t len, cap;
} sbuf_t;

static void sb_add(sbuf_t *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        b->s = realloc(b->s, cap);
        ck_assert_msg(b->s != NULL, "out of memory");
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void sb_puts(sbuf_t *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

static void sb_printf(sbuf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void sb_printf(sbuf_t *b, const char *fmt, ...)
{
    char *s;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    ck_assert_msg(n >= 0, "out of memory");
    sb_add(b, s, (size_t)n);
    free(s);
}

static char *sb_take(sbuf_t *b)
{
    if (!b->s)
        sb_add(b, "", 0);
    char *s = b->s;
    memset(b, 0, sizeof *b);
    return s;
}

static void sb_hex(sbuf_t *b, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sb_printf(b, "%02x", p[i]);
}

/* Days since 1970-01-01 of a proleptic Gregorian date, and back. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 1;
}

/* Parses ".f{1,7}" at *p into microseconds (a 7th digit, SQL Server's
 * 100 ns, is dropped: the driver truncates it the same way). 0 when the
 * fraction is malformed. */
static int frac_parse(const char **p, int *us)
{
    int n = 0;
    *us = 0;
    if (**p != '.')
        return 1;
    (*p)++;
    while (isdigit((unsigned char)(*p)[n]))
        n++;
    if (n < 1 || n > 7)
        return 0;
    digits(*p, n > 6 ? 6 : n, us);
    for (int i = n; i < 6; i++)
        *us *= 10;
    *p += n;
    return 1;
}

/* Parses "YYYY-MM-DD[ T]HH:MM:SS[.f{1,7}][Z|+HH|+HH:MM|+HHMM]" into
 * microseconds since the epoch (offset applied) and whether an offset was
 * written. 0 when the text is not such a timestamp. */
static int ts_parse(const char *s, int64_t *us, int *has_off)
{
    int y, mo, d, h, mi, se, frac = 0, off = 0;
    if (strlen(s) < 19 || !digits(s, 4, &y) || s[4] != '-' ||
        !digits(s + 5, 2, &mo) || s[7] != '-' || !digits(s + 8, 2, &d) ||
        (s[10] != ' ' && s[10] != 'T') || !digits(s + 11, 2, &h) ||
        s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' ||
        !digits(s + 17, 2, &se))
        return 0;
    const char *p = s + 19;
    if (!frac_parse(&p, &frac))
        return 0;
    *has_off = 0;
    if (*p == 'Z') {
        *has_off = 1;
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1, oh, om = 0;
        if (!digits(p + 1, 2, &oh))
            return 0;
        p += 3;
        if (*p == ':')
            p++;
        if (isdigit((unsigned char)*p)) {
            if (!digits(p, 2, &om))
                return 0;
            p += 2;
        }
        off = sign * (oh * 60 + om);
        *has_off = 1;
    }
    if (*p)
        return 0;
    *us = ((days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se) -
           (int64_t)off * 60) *
              1000000 +
          frac;
    return 1;
}

/* Writes us since the epoch as "YYYY-MM-DD HH:MM:SS.ffffff". */
static void ts_render(sbuf_t *b, int64_t us, char sep)
{
    int64_t secs = us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);
    int64_t frac = us - secs * 1000000;
    int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
    int64_t sod = secs - days * 86400;
    int64_t y;
    int m, d;
    civil_from_days(days, &y, &m, &d);
    sb_printf(b, "%04lld-%02d-%02d%c%02d:%02d:%02d.%06lld", (long long)y, m, d,
              sep, (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60),
              (long long)frac);
}

/* Exact decimal text without a '+', leading zeros, trailing fraction
 * zeros or a lone point; "-0" becomes "0". 0 when it is not decimal text. */
static int dec_norm(sbuf_t *b, const char *s)
{
    int neg = 0;
    if (*s == '-' || *s == '+')
        neg = *s++ == '-';
    const char *ip = s;
    while (isdigit((unsigned char)*s))
        s++;
    size_t il = (size_t)(s - ip);
    const char *fp = "";
    size_t fl = 0;
    if (*s == '.') {
        fp = ++s;
        while (isdigit((unsigned char)*s))
            s++;
        fl = (size_t)(s - fp);
    }
    if (*s || il + fl == 0)
        return 0;
    while (il > 0 && *ip == '0')
        ip++, il--;
    while (fl > 0 && fp[fl - 1] == '0')
        fl--;
    if (il == 0 && fl == 0) {
        sb_puts(b, "0");
        return 1;
    }
    if (neg)
        sb_puts(b, "-");
    if (il)
        sb_add(b, ip, il);
    else
        sb_puts(b, "0");
    if (fl) {
        sb_puts(b, ".");
        sb_add(b, fp, fl);
    }
    return 1;
}

static void text_quote(sbuf_t *b, const char *s, size_t n)
{
    sb_puts(b, "'");
    for (size_t i = 0; i < n; i++) {
        switch (s[i]) {
        case '\'':
            sb_puts(b, "''");
            break;
        case '\n':
            sb_puts(b, "\\n");
            break;
        case '\t':
            sb_puts(b, "\\t");
            break;
        case '\r':
            sb_puts(b, "\\r");
            break;
        case '\0':
            sb_puts(b, "\\0");
            break;
        default:
            sb_add(b, s + i, 1);
        }
    }
    sb_puts(b, "'");
}

/* Source of a cell for rendering: a database kind, or the test's own
 * value table (binary as hex text, booleans as true/false). */
#define FROM_EXPECTED (-1)

/* Appends the canonical text of one cell of logical type t read from a
 * database of the given kind. A value that does not read as its type is
 * written with a marker ("?int:...", "(real)") so it can never compare
 * equal to a proper value. */
static void render(sbuf_t *b, int from, ltype_t t, const cell_t *c)
{
    if (c->null) {
        sb_puts(b, "NULL");
        return;
    }
    const char *s = c->data;
    int lite = from == KIND_sqlite;
    if (lite && c->lite_type == SQLITE_FLOAT && t != T_DBL) {
        sb_printf(b, "%s(real)", s);
        return;
    }
    if (lite && c->lite_type == SQLITE_BLOB && t != T_BIN && t != T_UUID) {
        sb_puts(b, "(blob)");
        sb_hex(b, (const unsigned char *)s, c->len);
        return;
    }
    switch (t) {
    case T_INT: {
        char *end;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (*s && !*end && !errno && !(lite && c->lite_type != SQLITE_INTEGER))
            sb_printf(b, "%lld", v);
        else
            sb_printf(b, "?int:%s", s);
        break;
    }
    case T_DEC:
        if (!dec_norm(b, s))
            sb_printf(b, "?dec:%s", s);
        break;
    case T_DBL: {
        char *end;
        double v = strtod(s, &end);
        if (*s && !*end)
            sb_printf(b, "%.17g", v);
        else
            sb_printf(b, "?dbl:%s", s);
        break;
    }
    case T_BOOL:
        if (!strcmp(s, "t") || !strcmp(s, "1") || !strcmp(s, "true"))
            sb_puts(b, "true");
        else if (!strcmp(s, "f") || !strcmp(s, "0") || !strcmp(s, "false"))
            sb_puts(b, "false");
        else
            sb_printf(b, "?bool:%s", s);
        break;
    case T_TEXT:
        if (lite && c->lite_type != SQLITE_TEXT)
            sb_printf(b, "?text:%s", s);
        else
            text_quote(b, s, c->len);
        break;
    case T_BIN:
        if (from == KIND_pgsql || from == KIND_mssql || from == FROM_EXPECTED) {
            /* PostgreSQL's bytea output, SQL Server's CONVERT style 2 and
             * the value table are hex text. */
            const char *h = from == KIND_pgsql ? s + 2 : s;
            if (from == KIND_pgsql && strncmp(s, "\\x", 2) != 0) {
                sb_printf(b, "?bytea:%s", s);
                break;
            }
            for (; *h; h++)
                sb_printf(b, "%c", tolower((unsigned char)*h));
        } else {
            if (lite && c->lite_type != SQLITE_BLOB)
                sb_puts(b, "(not a blob)");
            sb_hex(b, (const unsigned char *)s, c->len);
        }
        break;
    case T_DATE: {
        int y, m, d;
        if (strlen(s) == 10 && digits(s, 4, &y) && s[4] == '-' &&
            digits(s + 5, 2, &m) && s[7] == '-' && digits(s + 8, 2, &d))
            sb_puts(b, s);
        else
            sb_printf(b, "?date:%s", s);
        break;
    }
    case T_TIME: {
        int h, m, sec, us;
        const char *p = s + 8;
        if (strlen(s) >= 8 && digits(s, 2, &h) && s[2] == ':' &&
            digits(s + 3, 2, &m) && s[5] == ':' && digits(s + 6, 2, &sec) &&
            frac_parse(&p, &us) && *p == '\0')
            sb_printf(b, "%02d:%02d:%02d.%06d", h, m, sec, us);
        else
            sb_printf(b, "?time:%s", s);
        break;
    }
    case T_TS:
    case T_TSTZ: {
        int64_t us;
        int off;
        if (!ts_parse(s, &us, &off)) {
            sb_printf(b, "?ts:%s", s);
        } else if (t == T_TS) {
            ts_render(b, us, ' ');
            if (off)
                sb_printf(b, "(zone in %s)", s);
        } else {
            /* MariaDB TIMESTAMP is read in the session zone, UTC. */
            ts_render(b, us, 'T');
            sb_puts(b, "Z");
        }
        break;
    }
    case T_UUID:
        if (lite && c->lite_type == SQLITE_BLOB && c->len == 16) {
            const unsigned char *u = (const unsigned char *)s;
            for (int i = 0; i < 16; i++)
                sb_printf(b, "%s%02x",
                          i == 4 || i == 6 || i == 8 || i == 10 ? "-" : "",
                          u[i]);
        } else {
            for (; *s; s++)
                sb_printf(b, "%c", tolower((unsigned char)*s));
        }
        break;
    }
}

/* The select-list expression that reads column `name` of logical type t
 * (declared as decl) on SQL Server as text with a fixed style: money with
 * its 4 decimals (2), floats with 17 digits (3), binary as hex (2), dates
 * (23) and timestamps (121) in ISO form through datetime2(7), zone-aware
 * values switched to UTC. */
static void ms_select_expr(sbuf_t *b, ltype_t t, const char *decl,
                           const char *name)
{
    const char *q = q_ident(KIND_mssql, name);
    switch (t) {
    case T_INT:
        sb_printf(b, "CONVERT(varchar(30), %s)", q);
        break;
    case T_BOOL:
        sb_printf(b, "CONVERT(varchar(1), %s)", q);
        break;
    case T_DEC:
        if (strstr(decl, "money") != NULL)
            sb_printf(b, "CONVERT(varchar(40), %s, 2)", q);
        else
            sb_printf(b, "CONVERT(varchar(60), %s)", q);
        break;
    case T_DBL:
        sb_printf(b, "CONVERT(varchar(40), %s, 3)", q);
        break;
    case T_TEXT:
        sb_printf(b, "CONVERT(nvarchar(max), %s)", q);
        break;
    case T_BIN:
        sb_printf(b, "CONVERT(varchar(max), %s, 2)", q);
        break;
    case T_DATE:
        sb_printf(b, "CONVERT(varchar(10), %s, 23)", q);
        break;
    case T_TIME:
        sb_printf(b, "CONVERT(varchar(20), CONVERT(time(7), %s))", q);
        break;
    case T_TS:
        sb_printf(b, "CONVERT(varchar(30), CONVERT(datetime2(7), %s), 121)", q);
        break;
    case T_TSTZ:
        sb_printf(b,
                  "CONVERT(varchar(30), CONVERT(datetime2(7),"
                  " SWITCHOFFSET(%s, '+00:00')), 121) + 'Z'",
                  q);
        break;
    case T_UUID:
        sb_printf(b, "CONVERT(char(36), %s)", q);
        break;
    }
}

/* Every row of the table on node n, ordered by its first column, one line
 * per row, canonical values separated by '|'. */
static char *n_dump(const node_t *n, const char *table, const col_t *cols,
                    int ncols)
{
    sbuf_t q = {0};
    sb_puts(&q, "SELECT ");
    for (int i = 0; i < ncols; i++) {
        if (i)
            sb_puts(&q, ", ");
        if (n->kind == KIND_mssql)
            ms_select_expr(&q, cols[i].type, cols[i].ms, cols[i].name);
        else
            sb_puts(&q, q_ident(n->kind, cols[i].name));
    }
    sb_printf(&q, " FROM %s ORDER BY %s", n_table(n, table),
              q_ident(n->kind, cols[0].name));
    result_t r;
    n_query(n, q.s, &r);
    free(q.s);
    sbuf_t b = {0};
    for (int row = 0; row < r.nrows; row++) {
        for (int i = 0; i < ncols; i++) {
            if (i)
                sb_puts(&b, "|");
            render(&b, (int)n->kind, cols[i].type, &r.cells[row * r.ncols + i]);
        }
        sb_puts(&b, "\n");
    }
    res_free(&r);
    return sb_take(&b);
}

/* Fails unless two dumps are equal, naming the first line that differs. */
static void assert_same_dump(const char *what, const char *wa, const char *a,
                             const char *wb, const char *b)
{
    if (strcmp(a, b) == 0)
        return;
    const char *p = a, *q = b;
    int line = 1;
    while (*p && *p == *q) {
        if (*p == '\n')
            line++;
        p++, q++;
    }
    while (p > a && p[-1] != '\n')
        p--, q--;
    const char *pe = strchr(p, '\n'), *qe = strchr(q, '\n');
    ck_abort_msg("%s: %s and %s differ at row %d:\n  %s: %.*s\n  %s: %.*s",
                 what, wa, wb, line, wa, pe ? (int)(pe - p) : 300,
                 *p ? p : "(no more rows)", wb, qe ? (int)(qe - q) : 300,
                 *q ? q : "(no more rows)");
}

/* ---- the pair under test ------------------------------------------------ */

static node_t g_n1, g_n2; /* node 1 and node 2 of the pair */
static char g_table[64];  /* the table's name, the same on every node */

/* Sets up nodes of kinds k1 and k2 (one of them SQL Server) for the table
 * `prefix_<k1>_<k2>`, dropped with its capture objects on both nodes. */
static void pair_setup(const char *prefix, kind_t k1, kind_t k2)
{
    node_init(&g_n1, k1, kind_short[k1]);
    node_init(&g_n2, k2, kind_short[k2]);
    snprintf(g_table, sizeof g_table, "%s_%s_%s", prefix, kind_drivers[k1],
             kind_drivers[k2]);
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
    sb_printf(b, "[node %s]\ndriver = %s\n", n->name, kind_drivers[n->kind]);
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
 * 1. */
static void write_job(const char *mode)
{
    sbuf_t b = {0};
    sb_printf(&b, "[job]\nmode = %s\n", mode);
    if (strcmp(mode, "one-way") == 0)
        sb_printf(&b, "source = %s\n", g_n1.name);
    sb_puts(&b, "\n");
    node_section(&b, &g_n1);
    node_section(&b, &g_n2);
    table_section(&b, g_table);
    h_write_file(g_job, "%s", b.s);
    free(b.s);
}

/* Creates the table on node n from a column list. */
static void n_create(const node_t *n, const char *table, const col_t *cols,
                     int ncols)
{
    sbuf_t b = {0};
    sb_printf(&b, "CREATE TABLE %s (", n_table(n, table));
    for (int i = 0; i < ncols; i++) {
        const char *decl = n->kind == KIND_sqlite  ? cols[i].lite
                           : n->kind == KIND_pgsql ? cols[i].pg
                           : n->kind == KIND_mysql ? cols[i].my
                                                   : cols[i].ms;
        sb_printf(&b, "%s%s %s", i ? ", " : "", q_ident(n->kind, cols[i].name),
                  decl);
    }
    sb_puts(&b, ")");
    if (n->kind == KIND_mysql)
        sb_puts(&b, " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
                    " COLLATE=utf8mb4_bin");
    n_exec(n, "%s", b.s);
    free(b.s);
}

/* Runs `rowsync CMD job.conf`, asserts exit 0 and returns the process. */
static h_proc_t *rs_ok(const char *cmd)
{
    h_proc_t *p = h_run(cmd, g_job, NULL);
    H_ASSERT_EXIT(p, 0);
    return p;
}

/* Runs one sync pass and asserts its total line. */
static void sync_moves(long upserted, long deleted, long conflicts)
{
    h_proc_t *p = rs_ok("sync");
    char want[128];
    snprintf(want, sizeof want,
             "sync: %ld upserted, %ld deleted, %ld conflicts", upserted,
             deleted, conflicts);
    ck_assert_msg(strstr(p->out, want) != NULL, "expected \"%s\" from %s", want,
                  h_describe(p));
    h_proc_free(p);
}

/* ---- the items table (check_matrix's seed scenario) -------------------- */

static const col_t item_cols[] = {
    {"id", T_INT, "INTEGER PRIMARY KEY", "integer PRIMARY KEY",
     "INT PRIMARY KEY", "int NOT NULL PRIMARY KEY"},
    {"name", T_TEXT, "TEXT", "varchar(100)", "VARCHAR(100)", "nvarchar(100)"},
    {"qty", T_INT, "INTEGER", "integer", "INT", "int"},
};
#define N_ITEM_COLS 3

static char *items_dump(const node_t *n)
{
    return n_dump(n, g_table, item_cols, N_ITEM_COLS);
}

static void assert_same_items(void)
{
    char *a = items_dump(&g_n1), *b = items_dump(&g_n2);
    assert_same_dump(g_table, g_n1.name, a, g_n2.name, b);
    free(a);
    free(b);
}

/* Inserts rows first..last ('<prefix>-N', N), 500 rows a statement. */
static void fill_items(const node_t *n, int first, int last, const char *prefix)
{
    sbuf_t b = {0};
    if (n->kind == KIND_sqlite)
        sb_puts(&b, "BEGIN;");
    for (int i = first; i <= last;) {
        sb_printf(&b, "INSERT INTO %s (%s, %s, %s) VALUES ",
                  n_table(n, g_table), q_ident(n->kind, "id"),
                  q_ident(n->kind, "name"), q_ident(n->kind, "qty"));
        for (int k = 0; k < 500 && i <= last; k++, i++)
            sb_printf(&b, "%s(%d, '%s-%d', %d)", k ? ", " : "", i, prefix, i,
                      i);
        sb_puts(&b, ";");
    }
    if (n->kind == KIND_sqlite)
        sb_puts(&b, "COMMIT;");
    if (b.s)
        n_exec(n, "%s", b.s);
    free(b.s);
}

static void items_create(const node_t *n, int rows)
{
    n_create(n, g_table, item_cols, N_ITEM_COLS);
    if (rows > 0)
        fill_items(n, 1, rows, "item");
}

static void set_item(const node_t *n, int id, const char *name, int qty)
{
    n_exec(n, "UPDATE %s SET name = '%s', qty = %d WHERE id = %d",
           n_table(n, g_table), name, qty, id);
}

/* Fails unless row id of the items table on node n renders exactly as
 * want (one dump line without its newline, e.g. "12|NULL|5"). */
static void assert_row_text(const node_t *n, int id, const char *want)
{
    char *rows = items_dump(n);
    char start[32];
    snprintf(start, sizeof start, "%d|", id);
    const char *line = NULL;
    for (const char *p = rows; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : p)
        if (strncmp(p, start, strlen(start)) == 0) {
            line = p;
            break;
        }
    size_t len = line ? strcspn(line, "\n") : 0;
    ck_assert_msg(line && len == strlen(want) && strncmp(line, want, len) == 0,
                  "%s: row %d is \"%.*s\", expected \"%s\"", n->name, id,
                  line ? (int)len : 6, line ? line : "absent", want);
    free(rows);
}

static void assert_item(const node_t *n, int id, const char *name, long qty)
{
    char want[256];
    snprintf(want, sizeof want, "%d|'%s'|%ld", id, name, qty);
    assert_row_text(n, id, want);
}

/* Fails unless the items table on both nodes is exactly want. */
static void assert_items_are(const char *what, const char *want)
{
    char *a = items_dump(&g_n1), *b = items_dump(&g_n2);
    assert_same_dump(what, "expected", want, g_n1.name, a);
    assert_same_dump(what, "expected", want, g_n2.name, b);
    free(a);
    free(b);
}

/* ---- one-way ------------------------------------------------------------ */

/* init loads the empty target (1500 rows: more than one apply batch);
 * inserts, updates and deletes on the source arrive; the target's own
 * changes are never sent back and survive until the source changes the
 * same keys; NULLs are set, inserted and replaced by a value again. */
static void run_oneway(kind_t src, kind_t dst)
{
    pair_setup("ow", src, dst);
    items_create(&g_n1, 1500);
    items_create(&g_n2, 0);
    write_job("one-way");

    h_proc_free(rs_ok("init"));
    ck_assert_int_eq(
        n_int(&g_n2, "SELECT count(*) FROM %s", n_table(&g_n2, g_table)), 1500);
    assert_same_items();

    fill_items(&g_n1, 2001, 2002, "new");
    set_item(&g_n1, 3, "upd-3", 33);
    set_item(&g_n1, 4, "upd-4a", 44);
    set_item(&g_n1, 4, "upd-4b", 45);
    n_exec(&g_n1, "DELETE FROM %s WHERE id = 5", n_table(&g_n1, g_table));
    sync_moves(4, 1, 0);
    assert_same_items();
    assert_item(&g_n2, 4, "upd-4b", 45);
    assert_item(&g_n2, 2002, "new-2002", 2002);
    sync_moves(0, 0, 0);

    char *src_before = items_dump(&g_n1);
    set_item(&g_n2, 7, "target-own", 77);
    n_exec(&g_n2,
           "INSERT INTO %s (id, name, qty) VALUES (3000, 'target-new', 1)",
           n_table(&g_n2, g_table));
    for (int pass = 0; pass < 2; pass++) {
        sync_moves(0, 0, 0);
        char *now = items_dump(&g_n1);
        assert_same_dump("source after a pass", "before", src_before, "now",
                         now);
        free(now);
        assert_item(&g_n2, 7, "target-own", 77);
        assert_item(&g_n2, 3000, "target-new", 1);
    }
    free(src_before);

    set_item(&g_n1, 7, "src-7", 70);
    n_exec(&g_n1, "INSERT INTO %s (id, name, qty) VALUES (3000, 'src-new', 2)",
           n_table(&g_n1, g_table));
    sync_moves(2, 0, 0);
    assert_item(&g_n2, 7, "src-7", 70);
    assert_same_items();

    n_exec(&g_n1, "UPDATE %s SET name = NULL, qty = NULL WHERE id = 8",
           n_table(&g_n1, g_table));
    n_exec(&g_n1, "UPDATE %s SET qty = NULL WHERE id = 2001",
           n_table(&g_n1, g_table));
    n_exec(&g_n1, "INSERT INTO %s (id, name, qty) VALUES (2003, NULL, 5)",
           n_table(&g_n1, g_table));
    sync_moves(3, 0, 0);
    assert_row_text(&g_n2, 8, "8|NULL|NULL");
    assert_row_text(&g_n2, 2001, "2001|'new-2001'|NULL");
    assert_row_text(&g_n2, 2003, "2003|NULL|5");
    n_exec(&g_n1, "UPDATE %s SET name = 'back-8' WHERE id = 8",
           n_table(&g_n1, g_table));
    sync_moves(1, 0, 0);
    assert_row_text(&g_n2, 8, "8|'back-8'|NULL");
    assert_same_items();
}

/* ---- bidirectional: the seed scenario ----------------------------------- */

/* check_matrix's run_bidirectional: conflicts decided latest-wins in both
 * orientations (update against update, delete against a later update),
 * then inserts, updates, deletes and NULLs on both sides in one pass. */
static void run_bidirectional(kind_t k1, kind_t k2)
{
    pair_setup("bd", k1, k2);
    items_create(&g_n1, 10);
    items_create(&g_n2, 10);
    write_job("bidirectional");
    h_proc_free(rs_ok("init"));
    assert_same_items();

    set_item(&g_n1, 6, "n1-6", 60);
    h_sleep_ms(CLOCK_GAP_MS);
    set_item(&g_n2, 6, "n2-6", 61);
    set_item(&g_n2, 7, "n2-7", 71);
    h_sleep_ms(CLOCK_GAP_MS);
    set_item(&g_n1, 7, "n1-7", 70);
    sync_moves(2, 0, 2);
    assert_same_items();
    assert_item(&g_n1, 6, "n2-6", 61);
    assert_item(&g_n1, 7, "n1-7", 70);
    for (int id = 1; id <= 10; id++) {
        if (id == 6 || id == 7)
            continue;
        char name[32];
        snprintf(name, sizeof name, "item-%d", id);
        assert_item(&g_n1, id, name, id);
    }
    sync_moves(0, 0, 0);

    n_exec(&g_n1, "DELETE FROM %s WHERE id = 3", n_table(&g_n1, g_table));
    n_exec(&g_n2, "DELETE FROM %s WHERE id = 8", n_table(&g_n2, g_table));
    h_sleep_ms(CLOCK_GAP_MS);
    set_item(&g_n2, 3, "n2-3", 33);
    set_item(&g_n1, 8, "n1-8", 88);
    sync_moves(2, 0, 2);
    assert_item(&g_n1, 3, "n2-3", 33);
    assert_item(&g_n2, 3, "n2-3", 33);
    assert_item(&g_n1, 8, "n1-8", 88);
    assert_item(&g_n2, 8, "n1-8", 88);
    assert_same_items();
    sync_moves(0, 0, 0);

    const char *t1 = n_table(&g_n1, g_table);
    n_exec(&g_n1,
           "INSERT INTO %s (id, name, qty) VALUES (11, 'n1-new', 11),"
           " (12, NULL, NULL);"
           "UPDATE %s SET name = NULL, qty = 100 WHERE id = 1;"
           "DELETE FROM %s WHERE id = 2",
           t1, t1, t1);
    const char *t2 = n_table(&g_n2, g_table);
    n_exec(&g_n2,
           "INSERT INTO %s (id, name, qty) VALUES (13, 'n2-new', 13),"
           " (14, NULL, 14);"
           "UPDATE %s SET name = 'n2-4', qty = NULL WHERE id = 4;"
           "UPDATE %s SET name = NULL, qty = NULL WHERE id = 9;"
           "DELETE FROM %s WHERE id = 5",
           t2, t2, t2, t2);
    sync_moves(7, 2, 0);
    assert_items_are("changes on both sides", "1|NULL|100\n"
                                              "3|'n2-3'|33\n"
                                              "4|'n2-4'|NULL\n"
                                              "6|'n2-6'|61\n"
                                              "7|'n1-7'|70\n"
                                              "8|'n1-8'|88\n"
                                              "9|NULL|NULL\n"
                                              "10|'item-10'|10\n"
                                              "11|'n1-new'|11\n"
                                              "12|NULL|NULL\n"
                                              "13|'n2-new'|13\n"
                                              "14|NULL|14\n");
    sync_moves(0, 0, 0);

    n_exec(&g_n1, "UPDATE %s SET name = 'n1-9' WHERE id = 9",
           n_table(&g_n1, g_table));
    n_exec(&g_n2, "UPDATE %s SET qty = 12 WHERE id = 12",
           n_table(&g_n2, g_table));
    sync_moves(2, 0, 0);
    assert_row_text(&g_n1, 9, "9|'n1-9'|NULL");
    assert_row_text(&g_n1, 12, "12|NULL|12");
    assert_same_items();
    sync_moves(0, 0, 0);
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

/* Appends value v of type t as an SQL literal for node kind k. */
static void sql_literal(sbuf_t *b, kind_t k, ltype_t t, const char *v)
{
    if (v == NULL) {
        sb_puts(b, "NULL");
        return;
    }
    switch (t) {
    case T_INT:
        sb_puts(b, v);
        return;
    case T_DEC:
        if (k == KIND_sqlite)
            sb_printf(b, "'%s'", v);
        else
            sb_puts(b, v); /* an exact numeric literal on the servers */
        return;
    case T_DBL:
        if (k == KIND_pgsql)
            sb_printf(b, "'%s'::float8", v);
        else if (k == KIND_mysql || k == KIND_mssql)
            sb_printf(b, strchr(v, 'e') ? "%s" : "%se0", v); /* float */
        else
            sb_puts(b, v);
        return;
    case T_BOOL:
        if (k == KIND_sqlite || k == KIND_mssql)
            sb_puts(b, strcmp(v, "true") == 0 ? "1" : "0");
        else
            sb_puts(b, strcmp(v, "true") == 0 ? "TRUE" : "FALSE");
        return;
    case T_BIN:
        if (k == KIND_pgsql)
            sb_printf(b, "'\\x%s'::bytea", v);
        else if (k == KIND_mssql)
            sb_printf(b, "0x%s", v);
        else
            sb_printf(b, "X'%s'", v);
        return;
    case T_TSTZ:
        if (k == KIND_mysql) {
            /* MariaDB takes no zone in the literal: the session is UTC. */
            const char *z = strstr(v, "+00:00");
            ck_assert_msg(z != NULL, "zone-aware value not in UTC: %s", v);
            sb_printf(b, "'%.*s'", (int)(z - v), v);
            return;
        }
        break;
    default:
        break;
    }
    /* Quoted text: ' doubled; MariaDB also treats backslash as escape;
     * SQL Server needs N'' for characters outside the code page. */
    sb_puts(b, k == KIND_mssql && t == T_TEXT ? "N'" : "'");
    for (const char *p = v; *p; p++) {
        if (*p == '\'')
            sb_puts(b, "''");
        else if (*p == '\\' && k == KIND_mysql)
            sb_puts(b, "\\\\");
        else
            sb_add(b, p, 1);
    }
    sb_puts(b, "'");
}

typedef const char *const *vrow_t;

/* Inserts one row into table on node n, every value an SQL literal. */
static void insert_row(const node_t *n, const char *table, const col_t *cols,
                       int ncols, vrow_t row)
{
    sbuf_t b = {0};
    sb_printf(&b, "INSERT INTO %s (", n_table(n, table));
    for (int i = 0; i < ncols; i++)
        sb_printf(&b, "%s%s", i ? ", " : "", q_ident(n->kind, cols[i].name));
    sb_puts(&b, ") VALUES (");
    for (int i = 0; i < ncols; i++) {
        if (i)
            sb_puts(&b, ", ");
        sql_literal(&b, n->kind, cols[i].type, row[i]);
    }
    sb_puts(&b, ")");
    n_exec(n, "%s", b.s);
    free(b.s);
}

/* Sets every column but the key (the first) of row row[0]. */
static void update_row(const node_t *n, const char *table, const col_t *cols,
                       int ncols, vrow_t row)
{
    sbuf_t b = {0};
    sb_printf(&b, "UPDATE %s SET ", n_table(n, table));
    for (int i = 1; i < ncols; i++) {
        sb_printf(&b, "%s%s = ", i > 1 ? ", " : "",
                  q_ident(n->kind, cols[i].name));
        sql_literal(&b, n->kind, cols[i].type, row[i]);
    }
    sb_printf(&b, " WHERE %s = ", q_ident(n->kind, cols[0].name));
    sql_literal(&b, n->kind, cols[0].type, row[0]);
    n_exec(n, "%s", b.s);
    free(b.s);
}

/* The canonical dump a list of value rows stands for. */
static char *expected_dump(const col_t *cols, int ncols, const vrow_t *rows,
                           int nrows)
{
    sbuf_t b = {0};
    for (int r = 0; r < nrows; r++) {
        for (int i = 0; i < ncols; i++) {
            const char *v = rows[r][i];
            cell_t c = {v == NULL, 0, (char *)v, v ? strlen(v) : 0};
            if (i)
                sb_puts(&b, "|");
            render(&b, FROM_EXPECTED, cols[i].type, &c);
        }
        sb_puts(&b, "\n");
    }
    return sb_take(&b);
}

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
    write_job("one-way");
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
    write_job("bidirectional");
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

    node_init(&ms, KIND_mssql, "callcentre");
    node_init(&ot, other, "shop");
    snprintf(otable, sizeof otable, "orders_%s", kind_drivers[other]);
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
    write_job("bidirectional");
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

/* A TCP port on 127.0.0.1 that nothing listens on (bound, then closed). */
static int closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_msg(fd >= 0, "socket: %s", strerror(errno));
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    ck_assert_msg(bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
                      getsockname(fd, (struct sockaddr *)&sa, &len) == 0,
                  "bind: %s", strerror(errno));
    close(fd);
    return ntohs(sa.sin_port);
}

/* `rowsync check` (and `sync`) with a SQL Server node on a closed port:
 * exit 1, and the error names the node, host:port and FreeTDS's own
 * reason; the password appears nowhere. Needs no server. */
START_TEST(test_check_unreachable_mssql)
{
    node_t lite;
    node_init(&lite, KIND_sqlite, "shop");
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
        run_bidirectional(KIND_mssql, KIND_##k);                               \
    }                                                                          \
    END_TEST                                                                   \
    START_TEST(test_bidirectional_##k##_mssql)                                 \
    {                                                                          \
        run_bidirectional(KIND_##k, KIND_mssql);                               \
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
