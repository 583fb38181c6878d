/* Test harness for the end-to-end tests: runs the real rowsync binary
 * ($ROWSYNC_BIN, modules from $ROWSYNC_MODULE_PATH) on SQLite files in a
 * temporary directory and inspects the files with the sqlite3 C API.
 *
 * Helpers that cannot do their job fail the current Check test with a
 * message; they never return an error the test could forget to look at,
 * except h_sql_try_int, meant for polling.
 */
#ifndef ROWSYNC_TEST_HARNESS_H
#define ROWSYNC_TEST_HARNESS_H

#include <stdint.h>
#include <sys/types.h>

/* Default limit for one rowsync command run to completion. */
#define H_TIMEOUT_MS 60000

/* ---- files and directories ------------------------------------------ */

/* Creates a fresh directory /tmp/rowsync-integ-XXXXXX. Malloc'd. */
char *h_tmpdir(void);
/* Removes a directory tree (no-op when $ROWSYNC_KEEP_TMP is set). */
void h_rmtree(const char *dir);
/* dir + "/" + name, malloc'd. */
char *h_path(const char *dir, const char *name);
/* Writes (replaces) a file from a printf format. */
void h_write_file(const char *path, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Reads a whole file, NUL-terminated; NULL when it cannot be read.
 * len may be NULL. Malloc'd. */
char *h_read_file(const char *path, size_t *len);
/* 1 when path exists. */
int h_exists(const char *path);
/* printf into a malloc'd string. */
char *h_strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- processes ------------------------------------------------------ */

/* A rowsync process. stdout and stderr go to unlinked temporary files and
 * are read into out/err when it has ended. */
typedef struct h_proc {
    pid_t pid;
    int out_fd, err_fd;
    int ended;       /* reaped */
    int status;      /* exit code when it exited, else -1 */
    int term_signal; /* signal that ended it, or 0 */
    int timed_out;   /* h_wait gave up and killed it */
    char *out, *err; /* captured output once ended (never NULL then) */
    char *cmd;       /* the command line, for messages */
} h_proc_t;

/* The binary under test: $ROWSYNC_BIN (fails the test when unset). */
const char *h_rowsync_bin(void);
/* Starts rowsync with the given arguments (NULL-terminated list, without
 * the program name) in the background. */
h_proc_t *h_start(const char *arg, ...) __attribute__((sentinel));
h_proc_t *h_startv(const char *const *argv);
/* Waits up to timeout_ms for the process to end; on timeout kills it
 * (SIGKILL), reaps it and sets timed_out. Fills out/err. Returns 0 when it
 * ended by itself, -1 when it had to be killed. Safe to call again. */
int h_wait(h_proc_t *p, int timeout_ms);
/* 1 while the process has not ended (reaps it when it has). */
int h_running(h_proc_t *p);
/* Sends a signal (nothing when it has already been reaped). */
void h_signal(h_proc_t *p, int sig);
/* Runs rowsync to completion (limit H_TIMEOUT_MS). */
h_proc_t *h_run(const char *arg, ...) __attribute__((sentinel));
/* Runs another program (a path, e.g. a test server script) with the given
 * arguments (NULL-terminated, without the program name) to completion
 * (limit H_TIMEOUT_MS), its output captured like rowsync's. */
h_proc_t *h_run_prog(const char *prog, ...) __attribute__((sentinel));
void h_proc_free(h_proc_t *p);
/* "cmd: exit N / signal N / timed out" plus stdout and stderr, for failure
 * messages. Static buffer, valid until the next call. */
const char *h_describe(const h_proc_t *p);

/* Fails the test unless p exited with code want. */
#define H_ASSERT_EXIT(p, want)                                                 \
    ck_assert_msg((p)->ended && !(p)->timed_out && (p)->term_signal == 0 &&    \
                      (p)->status == (want),                                   \
                  "expected exit %d from %s", (want), h_describe(p))

/* ---- time ----------------------------------------------------------- */

void h_sleep_ms(int ms);
/* Monotonic milliseconds. */
int64_t h_now_ms(void);
/* Polls pred every few milliseconds until it returns non-zero or
 * timeout_ms passes. Returns 1 when pred held. */
int h_wait_until(int timeout_ms, int (*pred)(void *ud), void *ud);

/* ---- SQLite --------------------------------------------------------- */

/* Each call opens the file (never creating it: the file must exist, except
 * for h_sql_create), with a generous busy timeout, and closes it again. */

/* Creates a new empty database file (fails if it exists). */
void h_sql_create(const char *db);
/* Executes SQL (several statements allowed); fails the test on error. */
void h_sql(const char *db, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* First column of the first row as an integer; fails the test on error or
 * when there is no row. */
int64_t h_sql_int(const char *db, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Same, for polling: returns 0 and sets *out, or the SQLite error code. */
int h_sql_try_int(const char *db, int64_t *out, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Every row of a query rendered one per line, columns separated by '|',
 * each value written by its storage class: integers as digits, reals with
 * 17 significant digits, text 'quoted', blobs X'hex', NULL. Malloc'd. */
char *h_sql_rows(const char *db, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The table's rows ordered by order_by, as h_sql_rows renders them. */
char *h_dump(const char *db, const char *table, const char *order_by);
/* sqlite_master (type, name, tbl_name, sql), sorted. */
char *h_schema(const char *db);
/* Number of schema objects whose name starts with "rowsync". */
int64_t h_rowsync_objects(const char *db);

/* Creates items(id INTEGER PRIMARY KEY, name TEXT, qty INTEGER) in a new
 * database file holding rows 1..nrows ('item-N', N). */
void h_make_items(const char *db, int nrows);

/* ---- output --------------------------------------------------------- */

/* 1 when some line of text contains word (case-insensitive) and the whole
 * number n as a token (digits not adjacent to other digits). */
int h_line_has(const char *text, const char *word, long n);
/* 1 when some line of text contains both a and b (case-sensitive). */
int h_lines_with(const char *text, const char *a, const char *b);

/* ---- SQL Server (only with -DH_WITH_MSSQL) ----------------------------
 *
 * An admin client on FreeTDS db-lib for the server named in
 * $ROWSYNC_TEST_MSSQL, the connection string of docs/drivers/mssql.md:
 * ";"-separated key=value pairs (host, port, instance, database, user,
 * password, tds_version, encryption). Sessions speak UTF-8 and run with
 * the ANSI options on (db-lib's defaults would create tables with
 * ANSI_PADDING off) and DATEFORMAT ymd. */
#ifdef H_WITH_MSSQL
typedef struct h_ms h_ms_t;

/* One cell of a result: data is NUL-terminated text (numbers and dates
 * converted by db-lib when the column is not character data), len its
 * length; isnull for SQL NULL. row counts from 0 over every result set. */
typedef void (*h_ms_cell_fn)(void *ud, int row, int col, int ncols,
                             const char *data, size_t len, int isnull);

/* 1 when ROWSYNC_TEST_MSSQL is set and not empty. */
int h_ms_configured(void);
/* Parses ROWSYNC_TEST_MSSQL (again). NULL when it is usable, else what is
 * wrong with it (static text). */
const char *h_ms_config_error(void);
/* The value of key in the connection string, or NULL. */
const char *h_ms_opt(const char *key);
/* Opens a session on database db (NULL: the string's database). NULL on
 * failure with the reason in err; never fails the test (usable from
 * main()). */
h_ms_t *h_ms_try_open(const char *db, char *err, size_t errlen);
/* Same, failing the current test on error. */
h_ms_t *h_ms_open(const char *db);
void h_ms_close(h_ms_t *ms);
/* Runs a batch; cells of every row go to fn (may be NULL). 0, or -1 with
 * the server's or FreeTDS's messages in err. */
int h_ms_run(h_ms_t *ms, const char *sql, h_ms_cell_fn fn, void *ud,
             char *err, size_t errlen);
/* Runs a batch; fails the test on error. */
void h_ms_exec(h_ms_t *ms, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
#endif

#endif
