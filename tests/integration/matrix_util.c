/* Helpers shared by the end-to-end programs check_matrix and check_mssql:
 * the servers' settings from the environment, nodes and their native
 * clients, quoting, the canonical rendering of rows (see check_matrix.c's
 * opening comment for its conventions), the items table and its one-way
 * and bidirectional scenarios, and value literals.
 *
 * The file is compiled into each program with that program's flags: with
 * H_WITH_MSSQL (check_mssql) SQL Server nodes are reached through
 * harness.c's db-lib client and fractions of seconds may carry a 7th
 * digit (SQL Server's 100 ns), without it (check_matrix) a 7th digit does
 * not read as a timestamp. Everything fails the running test through
 * Check on error; nothing is for use outside a test process.
 */
#define _GNU_SOURCE /* vasprintf */
#include <check.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "matrix_util.h"

/* ---- configuration from the environment ------------------------------ */

srv_env_t g_pg, g_my;

/* Reads ROWSYNC_TEST_<P>_{HOST,PORT,USER,PASSWORD}; 1 when all are set. */
int env_read(const char *p, srv_env_t *e)
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

const char *const kind_short[] = {"lite", "pg", "my", "ms"};

const char *kind_driver(kind_t k)
{
    static const char *const drivers[] = {"sqlite", "pgsql", "mysql", "mssql"};
    return drivers[k];
}

char *g_dir;
char *g_job;
#ifdef H_WITH_MSSQL
char g_msdb[64];
#endif

void fx_setup(void)
{
    g_dir = h_tmpdir();
    g_job = h_path(g_dir, "job.conf");
}

/* Fills n as node `name` of kind k; db is the server database (ignored
 * for SQLite, whose file is g_dir/<name>.db). */
void node_init(node_t *n, kind_t k, const char *name, const char *db)
{
    memset(n, 0, sizeof *n);
    n->kind = k;
    snprintf(n->name, sizeof n->name, "%s", name);
    snprintf(n->db, sizeof n->db, "%s", db);
    if (k == KIND_sqlite)
        n->path = h_strf("%s/%s.db", g_dir, name);
}

/* ---- native clients ----------------------------------------------------
 *
 * One connection per server database, opened lazily in the test process
 * and kept until it exits. */

static void pg_quiet(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

static PGconn *pg_conns[4];
static char pg_dbs[4][32];

static PGconn *pg_conn(const char *db)
{
    for (int i = 0; i < 4; i++)
        if (pg_conns[i] && strcmp(pg_dbs[i], db) == 0)
            return pg_conns[i];
    const char *kw[] = {"host", "port", "dbname", "user", "password", NULL};
    const char *val[] = {g_pg.host, g_pg.port,     db,
                         g_pg.user, g_pg.password, NULL};
    PGconn *c = PQconnectdbParams(kw, val, 0);
    ck_assert_msg(PQstatus(c) == CONNECTION_OK,
                  "cannot connect to PostgreSQL %s:%s/%s: %s", g_pg.host,
                  g_pg.port, db, PQerrorMessage(c));
    PQsetNoticeProcessor(c, pg_quiet, NULL);
    /* Output formats the renderer reads, whatever PGTZ, PGDATESTYLE or
     * PGOPTIONS say. */
    PGresult *r = PQexec(c, "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD';"
                            " SET extra_float_digits = 3;"
                            " SET bytea_output = 'hex';"
                            " SET client_encoding = 'UTF8'");
    ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK, "session set-up: %s",
                  PQresultErrorMessage(r));
    PQclear(r);
    for (int i = 0; i < 4; i++)
        if (!pg_conns[i]) {
            pg_conns[i] = c;
            snprintf(pg_dbs[i], sizeof pg_dbs[i], "%s", db);
            return c;
        }
    ck_abort_msg("too many PostgreSQL connections");
    return NULL;
}

static MYSQL *my_conns[4];
static char my_dbs[4][32];

static MYSQL *my_conn(const char *db)
{
    for (int i = 0; i < 4; i++)
        if (my_conns[i] && strcmp(my_dbs[i], db) == 0)
            return my_conns[i];
    MYSQL *c = mysql_init(NULL);
    ck_assert_msg(c != NULL, "mysql_init failed");
    mysql_options(c, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    ck_assert_msg(mysql_real_connect(c, g_my.host, g_my.user, g_my.password, db,
                                     (unsigned)atoi(g_my.port), NULL,
                                     CLIENT_MULTI_STATEMENTS) != NULL,
                  "cannot connect to MariaDB %s:%s/%s: %s", g_my.host,
                  g_my.port, db, mysql_error(c));
    ck_assert_msg(mysql_query(c, "SET time_zone = '+00:00'") == 0,
                  "SET time_zone: %s", mysql_error(c));
    for (int i = 0; i < 4; i++)
        if (!my_conns[i]) {
            my_conns[i] = c;
            snprintf(my_dbs[i], sizeof my_dbs[i], "%s", db);
            return c;
        }
    ck_abort_msg("too many MariaDB connections");
    return NULL;
}

/* Closes the test's cached connection to node n's database, so that the
 * next query connects again (after a server restart). */
void n_forget(const node_t *n)
{
    for (int i = 0; i < 4; i++) {
        if (n->kind == KIND_pgsql && pg_conns[i] &&
            strcmp(pg_dbs[i], n->db) == 0) {
            PQfinish(pg_conns[i]);
            pg_conns[i] = NULL;
        }
        if (n->kind == KIND_mysql && my_conns[i] &&
            strcmp(my_dbs[i], n->db) == 0) {
            mysql_close(my_conns[i]);
            my_conns[i] = NULL;
        }
    }
}

#ifdef H_WITH_MSSQL
static h_ms_t *g_msc;

/* The one connection to the run's SQL Server database. */
static h_ms_t *ms_conn(void)
{
    if (g_msc == NULL)
        g_msc = h_ms_open(g_msdb);
    return g_msc;
}
#endif

/* Runs sql (several statements allowed) on MariaDB; 0 or the error text
 * in err. Every result is consumed. */
int my_run(MYSQL *c, const char *sql, char *err, size_t errlen)
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

static void n_vexec(const node_t *n, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* Runs admin SQL (several statements allowed) on a node; fails the test
 * when the database reports an error. */
static void n_vexec(const node_t *n, const char *fmt, va_list ap)
{
    char *sql;
    ck_assert_msg(vasprintf(&sql, fmt, ap) >= 0, "out of memory");
    if (n->kind == KIND_sqlite) {
        h_sql(n->path, "%s", sql);
    } else if (n->kind == KIND_pgsql) {
        PGconn *c = pg_conn(n->db);
        PGresult *r = PQexec(c, sql);
        ExecStatusType st = PQresultStatus(r);
        ck_assert_msg(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK,
                      "PostgreSQL %s: %s\nin: %.400s", n->db,
                      PQresultErrorMessage(r), sql);
        PQclear(r);
    } else if (n->kind == KIND_mysql) {
        char err[1024];
        ck_assert_msg(my_run(my_conn(n->db), sql, err, sizeof err) == 0,
                      "MariaDB %s: %s\nin: %.400s", n->db, err, sql);
    } else {
#ifdef H_WITH_MSSQL
        h_ms_exec(ms_conn(), "%s", sql);
#else
        ck_abort_msg("no SQL Server client in this program");
#endif
    }
    free(sql);
}

void n_exec(const node_t *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    n_vexec(n, fmt, ap);
    va_end(ap);
}

void res_free(result_t *r)
{
    for (int i = 0; i < r->nrows * r->ncols; i++)
        free(r->cells[i].data);
    free(r->cells);
    memset(r, 0, sizeof *r);
}

/* Makes room for row `row` of r->ncols cells (new cells zeroed). */
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

#ifdef H_WITH_MSSQL
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
#endif

/* Runs a query on the node and returns every cell, or fills err and
 * returns -1 (fail = 0) / fails the test (fail = 1). */
int n_query(const node_t *n, const char *sql, result_t *out, int fail)
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
        PGresult *pr = PQexec(pg_conn(n->db), sql);
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
            snprintf(err, sizeof err, "PostgreSQL %s: %s", n->db,
                     PQresultErrorMessage(pr));
        }
        PQclear(pr);
    } else if (n->kind == KIND_mysql) {
        MYSQL *c = my_conn(n->db);
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
            snprintf(err, sizeof err, "MariaDB %s: %s", n->db, mysql_error(c));
        }
    } else {
#ifdef H_WITH_MSSQL
        if (h_ms_run(ms_conn(), sql, ms_cell, &r, err, sizeof err) != 0 &&
            err[0] == '\0')
            snprintf(err, sizeof err, "SQL Server: the query failed");
#else
        snprintf(err, sizeof err, "no SQL Server client in this program");
#endif
    }
    if (*err) {
        res_free(&r);
        ck_assert_msg(!fail, "%s\nin: %.400s", err, sql);
        return -1;
    }
    *out = r;
    return 0;
}

static int64_t n_vint(const node_t *n, int fail, int *ok, const char *fmt,
                      va_list ap) __attribute__((format(printf, 4, 0)));

/* First column of the first row as an integer. */
static int64_t n_vint(const node_t *n, int fail, int *ok, const char *fmt,
                      va_list ap)
{
    char *sql;
    ck_assert_msg(vasprintf(&sql, fmt, ap) >= 0, "out of memory");
    result_t r;
    int64_t v = 0;
    *ok = 0;
    if (n_query(n, sql, &r, fail) == 0) {
        if (r.nrows > 0 && r.ncols > 0 && !r.cells[0].null) {
            v = strtoll(r.cells[0].data, NULL, 10);
            *ok = 1;
        }
        ck_assert_msg(*ok || !fail, "no value from %s: %.400s", n->name, sql);
        res_free(&r);
    }
    free(sql);
    return v;
}

int64_t n_int(const node_t *n, const char *fmt, ...)
{
    va_list ap;
    int ok;
    va_start(ap, fmt);
    int64_t v = n_vint(n, 1, &ok, fmt, ap);
    va_end(ap);
    return v;
}

/* For polling: 0 and *out, or -1 when the query failed. */
int n_try_int(const node_t *n, int64_t *out, const char *fmt, ...)
{
    va_list ap;
    int ok;
    va_start(ap, fmt);
    *out = n_vint(n, 0, &ok, fmt, ap);
    va_end(ap);
    return ok ? 0 : -1;
}

/* ---- quoting ---------------------------------------------------------- */

/* Quotes s into one of eight rotating static buffers (valid for the next
 * seven calls) between open and close; close is doubled inside; with bs
 * set a backslash is doubled too (MariaDB string literals). */
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

/* An identifier quoted for node kind k: "x" (embedded " doubled) on
 * PostgreSQL and SQLite, `x` (embedded ` doubled) on MariaDB, [x]
 * (embedded ] doubled) on SQL Server. Rotating buffers as q_quote. */
const char *q_ident(kind_t k, const char *name)
{
    if (k == KIND_mysql)
        return q_quote(name, '`', '`', 0);
    if (k == KIND_mssql)
        return q_quote(name, '[', ']', 0);
    return q_quote(name, '"', '"', 0);
}

/* A string literal for node kind k ('' inside; on MariaDB also \\).
 * Only for the test's own admin SQL (names, patterns); the values under
 * test are written by sql_literal. Rotating buffers as q_quote. */
const char *q_str(kind_t k, const char *s)
{
    return q_quote(s, '\'', '\'', k == KIND_mysql);
}

/* The table as written in SQL on node n (public."t" on PostgreSQL, `t` on
 * MariaDB, "t" on SQLite, [dbo].[t] on SQL Server), quoted. The text lives in
 * one of four rotating static buffers: it stays valid for the next three calls.
 */
const char *n_table(const node_t *n, const char *table)
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

/* Drops the table and rowsync's objects and state for it on node n:
 * PostgreSQL rowsync."h_public_<t>" and the trigger function
 * rowsync."f_public_<t>", MariaDB rowsync_h_<t> (triggers go with the
 * table), SQL Server rowsync.h_dbo_<t>, and the cursor and load rows of every
 * job that synced a table of that name (state names end in "/<table>" or
 * "/public.<table>"). */
void n_drop_table(const node_t *n, const char *table)
{
    char *hist = h_strf("rowsync_h_%s", table);
    if (n->kind == KIND_sqlite) {
        if (h_exists(n->path))
            n_exec(n, "DROP TABLE IF EXISTS %s; DROP TABLE IF EXISTS %s",
                   q_ident(n->kind, table), q_ident(n->kind, hist));
        free(hist);
        return;
    }
    char *pat1 = h_strf("%%/%s", table), *pat2 = h_strf("%%/public.%s", table);
    if (n->kind == KIND_pgsql) {
        char *h = h_strf("h_public_%s", table),
             *f = h_strf("f_public_%s", table);
        n_exec(n,
               "DROP TABLE IF EXISTS public.%s CASCADE;"
               "DROP TABLE IF EXISTS rowsync.%s CASCADE;"
               "DROP FUNCTION IF EXISTS rowsync.%s() CASCADE;"
               "DO $$BEGIN IF to_regclass('rowsync.state') IS NOT NULL THEN"
               " DELETE FROM rowsync.state WHERE name LIKE %s"
               " OR name LIKE %s; END IF; END$$",
               q_ident(n->kind, table), q_ident(n->kind, h),
               q_ident(n->kind, f), q_str(n->kind, pat1), q_str(n->kind, pat2));
        free(h);
        free(f);
    } else if (n->kind == KIND_mysql) {
        n_exec(n, "DROP TABLE IF EXISTS %s, %s", q_ident(n->kind, table),
               q_ident(n->kind, hist));
        if (n_int(n, "SELECT count(*) FROM information_schema.tables WHERE"
                     " table_schema = DATABASE() AND"
                     " table_name = 'rowsync_state'") > 0)
            n_exec(n, "DELETE FROM rowsync_state WHERE name LIKE %s",
                   q_str(n->kind, pat1));
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
    free(pat2);
    free(hist);
}

/* ---- canonical rendering ---------------------------------------------- */

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

void sb_puts(sbuf_t *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

void sb_printf(sbuf_t *b, const char *fmt, ...)
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

char *sb_take(sbuf_t *b)
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

/* Digits of a fraction of a second that still read as a value: SQL
 * Server writes a 7th (100 ns) that the driver truncates the same way;
 * the other databases never write more than 6. */
#ifdef H_WITH_MSSQL
#define FRAC_DIGITS_MAX 7
#else
#define FRAC_DIGITS_MAX 6
#endif

/* Parses ".f{1,FRAC_DIGITS_MAX}" at *p into microseconds (digits past the
 * 6th dropped) and moves *p past it; nothing there is 0 us. 0 when the
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
    if (n < 1 || n > FRAC_DIGITS_MAX)
        return 0;
    digits(*p, n > 6 ? 6 : n, us);
    for (int i = n; i < 6; i++)
        *us *= 10;
    *p += n;
    return 1;
}

/* Parses "YYYY-MM-DD[ T]HH:MM:SS[.f{1,FRAC_DIGITS_MAX}][Z|+HH|+HH:MM|+HHMM]"
 * into microseconds since the epoch (offset applied) and whether an offset was
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

/* JSON text without the blanks outside strings. */
static void json_norm(sbuf_t *b, const char *s, size_t n)
{
    int in_str = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (in_str) {
            sb_add(b, &c, 1);
            if (c == '\\' && i + 1 < n)
                sb_add(b, &s[++i], 1);
            else if (c == '"')
                in_str = 0;
        } else if (c == '"') {
            in_str = 1;
            sb_add(b, &c, 1);
        } else if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
            sb_add(b, &c, 1);
        }
    }
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
    case T_JSON:
        json_norm(b, s, c->len);
        break;
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

#ifdef H_WITH_MSSQL
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
    case T_JSON: /* nvarchar on SQL Server */
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
#endif

/* Every row of the table on node n, ordered by its first column, one line
 * per row, canonical values separated by '|'. */
char *n_dump(const node_t *n, const char *table, const col_t *cols, int ncols)
{
    sbuf_t q = {0};
    sb_puts(&q, "SELECT ");
    for (int i = 0; i < ncols; i++) {
        if (i)
            sb_puts(&q, ", ");
#ifdef H_WITH_MSSQL
        if (n->kind == KIND_mssql) {
            ms_select_expr(&q, cols[i].type, cols[i].ms, cols[i].name);
            continue;
        }
#endif
        sb_puts(&q, q_ident(n->kind, cols[i].name));
    }
    sb_printf(&q, " FROM %s ORDER BY %s", n_table(n, table),
              q_ident(n->kind, cols[0].name));
    result_t r;
    n_query(n, q.s, &r, 1);
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
void assert_same_dump(const char *what, const char *wa, const char *a,
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

node_t g_n1, g_n2;

char g_table[64];

/* Creates the table on node n from a column list. */
void n_create(const node_t *n, const char *table, const col_t *cols, int ncols)
{
    sbuf_t b = {0};
    sb_printf(&b, "CREATE TABLE %s (", n_table(n, table));
    for (int i = 0; i < ncols; i++) {
        const char *decl = n->kind == KIND_sqlite  ? cols[i].lite
                           : n->kind == KIND_pgsql ? cols[i].pg
                                                   : cols[i].my;
#ifdef H_WITH_MSSQL
        if (n->kind == KIND_mssql)
            decl = cols[i].ms;
#endif
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
h_proc_t *rs_ok(const char *cmd)
{
    h_proc_t *p = h_run(cmd, g_job, NULL);
    H_ASSERT_EXIT(p, 0);
    return p;
}

/* Runs one sync pass and asserts its total line. */
void sync_moves(long upserted, long deleted, long conflicts)
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

/* ---- the items table ------------------------------------------------- */

/* The SQL Server declaration of a column, where col_t has one. */
#ifdef H_WITH_MSSQL
#define MS_DECL(d) , d
#else
#define MS_DECL(d)
#endif

static const col_t item_cols[] = {
    {"id", T_INT, "INTEGER PRIMARY KEY", "integer PRIMARY KEY",
     "INT PRIMARY KEY" MS_DECL("int NOT NULL PRIMARY KEY")},
    {"name", T_TEXT, "TEXT", "varchar(100)",
     "VARCHAR(100)" MS_DECL("nvarchar(100)")},
    {"qty", T_INT, "INTEGER", "integer", "INT" MS_DECL("int")},
};
#define N_ITEM_COLS 3

char *items_dump(const node_t *n)
{
    return n_dump(n, g_table, item_cols, N_ITEM_COLS);
}

void assert_same_items(void)
{
    char *a = items_dump(&g_n1), *b = items_dump(&g_n2);
    assert_same_dump(g_table, g_n1.name, a, g_n2.name, b);
    free(a);
    free(b);
}

/* Inserts rows first..last ('<prefix>-N', N) into the items table. */
void fill_items(const node_t *n, int first, int last, const char *prefix)
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

void items_create(const node_t *n, int rows)
{
    n_create(n, g_table, item_cols, N_ITEM_COLS);
    if (rows > 0)
        fill_items(n, 1, rows, "item");
}

void set_item(const node_t *n, int id, const char *name, int qty)
{
    n_exec(n, "UPDATE %s SET name = '%s', qty = %d WHERE id = %d",
           n_table(n, g_table), name, qty, id);
}

/* Fails unless row id of the items table on node n renders exactly as
 * want (one dump line without its newline, e.g. "12|NULL|5"). */
void assert_row_text(const node_t *n, int id, const char *want)
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

void assert_item(const node_t *n, int id, const char *name, long qty)
{
    char want[256];
    snprintf(want, sizeof want, "%d|'%s'|%ld", id, name, qty);
    assert_row_text(n, id, want);
}

/* Fails unless the items table on both nodes is exactly want. */
void assert_items_are(const char *what, const char *want)
{
    char *a = items_dump(&g_n1), *b = items_dump(&g_n2);
    assert_same_dump(what, "expected", want, g_n1.name, a);
    assert_same_dump(what, "expected", want, g_n2.name, b);
    free(a);
    free(b);
}

/* ---- the one-way seed scenario ------------------------------------------ */

/* init loads the empty target; inserts, updates and deletes on the source
 * arrive; the target's own changes are never sent back and survive until
 * the source changes the same keys; the target then equals the source.
 * Finally NULLs are set, inserted and replaced by a value again. */
void run_oneway(kind_t src, kind_t dst)
{
    pair_setup("ow", src, dst);
    items_create(&g_n1, 1500);
    items_create(&g_n2, 0);
    write_job("one-way", NULL);

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

    /* The target's own writes stay there. */
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

    /* The source changing those keys overwrites them. */
    set_item(&g_n1, 7, "src-7", 70);
    n_exec(&g_n1, "INSERT INTO %s (id, name, qty) VALUES (3000, 'src-new', 2)",
           n_table(&g_n1, g_table));
    sync_moves(2, 0, 0);
    assert_item(&g_n2, 7, "src-7", 70);
    assert_same_items();

    /* NULLs: set, inserted, and replaced by a value again. */
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

/* ---- the bidirectional seed scenario ------------------------------------ */

/* Rows 1-10 identical on both nodes. Row 6 changes on node 1, then later
 * on node 2; row 7 on node 2, then later on node 1: one sync makes both
 * nodes equal with node 2's row 6 and node 1's row 7. Then a delete on one
 * side against a later update on the other, in both orientations (row 3
 * deleted on node 1 and later updated on node 2, row 8 deleted on node 2
 * and later updated on node 1): the later update wins on both. Then both
 * nodes insert, update and delete different keys in the same pass, NULLs
 * included, and finally NULLs are replaced by values on the side that did
 * not write them; both nodes end with exactly the expected rows. Node 1 is
 * the first [node] section: each ordered pair is a job of its own. "Later"
 * is gap_ms later: longer when a clock of another machine takes part. */
void run_bidirectional(kind_t k1, kind_t k2, int gap_ms)
{
    pair_setup("bd", k1, k2);
    items_create(&g_n1, 10);
    items_create(&g_n2, 10);
    write_job("bidirectional", NULL);
    h_proc_free(rs_ok("init"));
    assert_same_items();

    set_item(&g_n1, 6, "n1-6", 60);
    h_sleep_ms(gap_ms);
    set_item(&g_n2, 6, "n2-6", 61);
    set_item(&g_n2, 7, "n2-7", 71);
    h_sleep_ms(gap_ms);
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
    h_sleep_ms(gap_ms);
    set_item(&g_n2, 3, "n2-3", 33);
    set_item(&g_n1, 8, "n1-8", 88);
    sync_moves(2, 0, 2);
    assert_item(&g_n1, 3, "n2-3", 33);
    assert_item(&g_n2, 3, "n2-3", 33);
    assert_item(&g_n1, 8, "n1-8", 88);
    assert_item(&g_n2, 8, "n1-8", 88);
    assert_same_items();
    sync_moves(0, 0, 0);

    /* Inserts, updates and deletes on both sides in the same pass, on
     * different keys, NULLs included. */
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

    /* NULLs replaced by values, each on the side that did not write it. */
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

/* ---- value literals ---------------------------------------------------- */

/* Appends value v of type t as an SQL literal for node kind k. */
void sql_literal(sbuf_t *b, kind_t k, ltype_t t, const char *v)
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

/* A row of kind-neutral values for a column list (as in type_rows),
 * first the key; NULL = SQL NULL. */

/* Inserts one row into table on node n, every value an SQL literal. */
void insert_row(const node_t *n, const char *table, const col_t *cols,
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

/* Sets every column but the first (the key) of the row whose key is
 * row[0] to row's values. */
void update_row(const node_t *n, const char *table, const col_t *cols,
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

/* The canonical dump a list of value rows stands for (rows in key
 * order). */
char *expected_dump(const col_t *cols, int ncols, const vrow_t *rows, int nrows)
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

/* ---- connection failures ----------------------------------------------- */

/* A TCP port on 127.0.0.1 that nothing listens on (bound, then closed). */
int closed_port(void)
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
