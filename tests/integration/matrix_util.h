/* Helpers shared by the end-to-end programs check_matrix and check_mssql
 * (matrix_util.c): servers from the environment, nodes and their native
 * clients, quoting, canonical rendering of rows, the items table with its
 * one-way and bidirectional scenarios, and value literals.
 *
 * matrix_util.c is compiled into each program with that program's flags;
 * with H_WITH_MSSQL it reaches SQL Server nodes through harness.c. Every
 * helper fails the running test (Check) on error.
 *
 * Each program defines the two functions the scenarios call back:
 * pair_setup() and write_job() (see the end of this file).
 */
#ifndef ROWSYNC_TESTS_MATRIX_UTIL_H
#define ROWSYNC_TESTS_MATRIX_UTIL_H

#include <libpq-fe.h>
#include <mysql.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "harness.h"

/* ---- configuration from the environment ------------------------------ */

typedef struct srv_env {
    const char *host, *port, *user, *password;
} srv_env_t;

extern srv_env_t g_pg, g_my; /* read in main(), before the runner forks */

/* Reads ROWSYNC_TEST_<P>_{HOST,PORT,USER,PASSWORD}; 1 when all are set. */
int env_read(const char *p, srv_env_t *e);

/* ---- nodes ------------------------------------------------------------ */

typedef enum kind { KIND_sqlite, KIND_pgsql, KIND_mysql, KIND_mssql } kind_t;

extern const char *const kind_short[]; /* "lite", "pg", "my", "ms" */

/* The driver name of kind k ("sqlite", "pgsql", "mysql", "mssql"). */
const char *kind_driver(kind_t k);

typedef struct node {
    kind_t kind;
    char name[32]; /* node name in the job */
    char db[64];   /* server database */
    char *path;    /* sqlite: the file */
} node_t;

extern char *g_dir; /* the test's temporary directory */
extern char *g_job; /* g_dir/job.conf */
#ifdef H_WITH_MSSQL
extern char g_msdb[64]; /* the run's SQL Server database */
#endif

/* Makes g_dir and names g_job (a test case's fixture set-up). */
void fx_setup(void);

/* Fills n as node `name` of kind k; db is the server database (ignored
 * for SQLite, whose file is g_dir/<name>.db). */
void node_init(node_t *n, kind_t k, const char *name, const char *db);

/* ---- native clients ---------------------------------------------------- */

/* Closes the test's cached connection to node n's database, so that the
 * next query connects again (after a server restart). */
void n_forget(const node_t *n);

/* Runs sql (several statements allowed) on MariaDB; 0 or the error text
 * in err. Every result is consumed. */
int my_run(MYSQL *c, const char *sql, char *err, size_t errlen);

/* Runs admin SQL (several statements allowed) on a node; fails the test
 * when the database reports an error. */
void n_exec(const node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A result cell: NULL, or bytes (SQLite also says its storage class). */
typedef struct cell {
    int null;
    int lite_type; /* SQLITE_INTEGER ... for SQLite cells, else 0 */
    char *data;    /* NUL-terminated copy; binary may hold NULs (see len) */
    size_t len;
} cell_t;

typedef struct result {
    int nrows, ncols, cap;
    cell_t *cells; /* row-major */
} result_t;

void res_free(result_t *r);

/* Runs a query on the node and returns every cell in *out (free with
 * res_free), or returns -1 (fail = 0) / fails the test (fail = 1). */
int n_query(const node_t *n, const char *sql, result_t *out, int fail);

/* First column of the first row as an integer; fails the test when the
 * query fails or returns no value. */
int64_t n_int(const node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* For polling: 0 and *out, or -1 when the query failed. */
int n_try_int(const node_t *n, int64_t *out, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- quoting (rotating static buffers: valid for the next 7 calls) ---- */

/* An identifier quoted for node kind k. */
const char *q_ident(kind_t k, const char *name);

/* A string literal for node kind k, for the test's own admin SQL. */
const char *q_str(kind_t k, const char *s);

/* The table as written in SQL on node n, schema included where the kind
 * has one (valid for the next three calls). */
const char *n_table(const node_t *n, const char *table);

/* Drops the table and rowsync's objects and state rows for it on n. */
void n_drop_table(const node_t *n, const char *table);

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
    T_JSON,
    T_UUID
} ltype_t;

/* A column: name, logical type, and its declaration per kind (ms: SQL
 * Server, in check_mssql only). */
typedef struct col {
    const char *name;
    ltype_t type;
    const char *lite, *pg, *my;
#ifdef H_WITH_MSSQL
    const char *ms;
#endif
} col_t;

/* Growable string; {0} is empty. */
typedef struct sbuf {
    char *s;
    size_t len, cap;
} sbuf_t;

void sb_puts(sbuf_t *b, const char *s);
void sb_printf(sbuf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The text (never NULL; the caller frees it); b is empty again. */
char *sb_take(sbuf_t *b);

/* Source of a cell for rendering: a database kind, or the test's own
 * value table (kind -1: binary as hex text, booleans as true/false). */
#define FROM_EXPECTED (-1)

/* Every row of the table on node n, ordered by its first column, one line
 * per row, canonical values separated by '|'. The caller frees it. */
char *n_dump(const node_t *n, const char *table, const col_t *cols, int ncols);

/* Fails unless two dumps are equal, naming the first line that differs. */
void assert_same_dump(const char *what, const char *wa, const char *a,
                      const char *wb, const char *b);

/* ---- the pair under test ---------------------------------------------- */

extern node_t g_n1, g_n2; /* node 1 and node 2 of the pair */
extern char g_table[64];  /* the table's own name */

/* Creates the table on node n from a column list. */
void n_create(const node_t *n, const char *table, const col_t *cols, int ncols);

/* Runs `rowsync CMD job.conf`, asserts exit 0 and returns the process. */
h_proc_t *rs_ok(const char *cmd);

/* Runs one sync pass and asserts its total line. */
void sync_moves(long upserted, long deleted, long conflicts);

/* ---- the items table (id, name, qty) on g_n1 and g_n2 ------------------ */

char *items_dump(const node_t *n);
void assert_same_items(void);
/* Inserts rows first..last ('<prefix>-N', N). */
void fill_items(const node_t *n, int first, int last, const char *prefix);
/* Creates the table with rows 1..rows ('item-N', N). */
void items_create(const node_t *n, int rows);
void set_item(const node_t *n, int id, const char *name, int qty);
/* Fails unless row id on n renders exactly as want ("12|NULL|5"). */
void assert_row_text(const node_t *n, int id, const char *want);
void assert_item(const node_t *n, int id, const char *name, long qty);
/* Fails unless the table on both nodes is exactly want. */
void assert_items_are(const char *what, const char *want);

/* The one-way seed scenario from node 1 (kind src) to node 2 (dst). */
void run_oneway(kind_t src, kind_t dst);

/* The bidirectional seed scenario; a change meant to be later than
 * another is made gap_ms after it. */
void run_bidirectional(kind_t k1, kind_t k2, int gap_ms);

/* ---- value literals ---------------------------------------------------- */

/* A row of values as text (NULL = SQL NULL), one per column. */
typedef const char *const *vrow_t;

/* Appends value v of type t as an SQL literal for node kind k. */
void sql_literal(sbuf_t *b, kind_t k, ltype_t t, const char *v);

/* Inserts one row into table on node n, every value an SQL literal. */
void insert_row(const node_t *n, const char *table, const col_t *cols,
                int ncols, vrow_t row);

/* Updates the row whose first column is row[0] to the other values. */
void update_row(const node_t *n, const char *table, const col_t *cols,
                int ncols, vrow_t row);

/* The canonical dump a list of value rows stands for (rows in key
 * order). The caller frees it. */
char *expected_dump(const col_t *cols, int ncols, const vrow_t *rows,
                    int nrows);

/* ---- misc ------------------------------------------------------------- */

/* A TCP port on 127.0.0.1 that nothing listens on (bound, then closed). */
int closed_port(void);

/* ---- defined by each program ------------------------------------------- */

/* Sets g_n1 (kind k1), g_n2 (kind k2) and g_table for a table named after
 * prefix and the kinds, dropped with its capture objects on both nodes. */
void pair_setup(const char *prefix, kind_t k1, kind_t k2);

/* Writes g_job for the pair and g_table; one-way jobs flow from node 1;
 * extra (or NULL) goes into [job]. */
void write_job(const char *mode, const char *extra);

#endif
