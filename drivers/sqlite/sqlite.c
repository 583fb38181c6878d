/* drivers/sqlite: the SQLite driver (sqlite3 >= 3.24).
 *
 * Change capture: per captured table T a history table rowsync_h_T
 * (seq AUTOINCREMENT, op, time_us, origin, k1..kN, cols) filled by three
 * AFTER triggers rowsync_T_ins/_upd/_del. cols is the update's column
 * mask: bit i set when spec column i differs between the old and the new
 * row (NULL for inserts, deletes, key changes and specs wider than 64). The
 * apply transaction announces the origin and time of the change it writes in
 * the one-row table rowsync_session, which the triggers read; the row is
 * deleted before COMMIT, and since SQLite has one writer at a time no
 * application session ever sees it. A cursor is the decimal seq of the history
 * table: seq order is commit order, so every seq up to MAX(seq) is committed.
 *
 * The pair lock is an open-file-description lock on one byte of the side
 * file <database>.rowsync-lock, released by the OS when the process dies.
 *
 * Everything but the entry point is static and prefixed lite_.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* F_OFD_SETLK */
#endif
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include <rowsync/driver.h>

#ifdef PACKAGE_VERSION
#define LITE_VERSION PACKAGE_VERSION
#else
#define LITE_VERSION "0.1.0"
#endif

/* Longest table name accepted: history and trigger names add 12 bytes. */
#define LITE_NAME_MAX 200
/* Per-column scratch for values built by the driver (a decimal expanded
 * from a double needs up to ~330 bytes, a UUID 37). */
#define LITE_SCRATCH 400
/* Lock polling interval, milliseconds. */
#define LITE_LOCK_POLL_MS 25

/* The server clock, UTC microseconds, exact to the millisecond:
 * julianday('now') carries whole milliseconds, ROUND removes the
 * floating-point noise of the subtraction. Triggers and `clock` share it. */
#define LITE_NOW                                                               \
    "(CAST(ROUND((julianday('now') - 2440587.5) * 86400000.0) AS INTEGER)"     \
    " * 1000)"
#define LITE_TRIG_TIME                                                         \
    "COALESCE((SELECT time_us FROM rowsync_session WHERE id = 1), " LITE_NOW ")"
#define LITE_TRIG_ORIGIN "(SELECT origin FROM rowsync_session WHERE id = 1)"

static const char *const lite_state_ddl[] = {
    "CREATE TABLE IF NOT EXISTS rowsync_state (name TEXT PRIMARY KEY,"
    " value TEXT NOT NULL, updated_us INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS rowsync_conflicts (id INTEGER PRIMARY KEY"
    " AUTOINCREMENT, decided_us INTEGER NOT NULL, tbl TEXT, key_text TEXT,"
    " rule TEXT, winner TEXT, loser TEXT, winner_time_us INTEGER,"
    " loser_time_us INTEGER, note TEXT)",
    "CREATE TABLE IF NOT EXISTS rowsync_session (id INTEGER PRIMARY KEY"
    " CHECK (id = 1), origin TEXT, time_us INTEGER)",
    NULL};

/* Prepared apply statements for one table spec. */
struct lite_apply {
    struct lite_apply *next;
    char *table;
    char *sig;         /* the spec's columns and key count, for reuse */
    sqlite3_stmt *upd; /* NULL when every column is a key column */
    sqlite3_stmt *ins;
    sqlite3_stmt *del;
    sqlite3_stmt *tomb; /* history row for a delete of an absent row,
                           prepared on first use */
    int no_history;     /* the table has no capture: no tombstones */
};

/* A lock name held by this connection and the byte it maps to. */
struct lite_held {
    struct lite_held *next;
    char *name;
    off_t off;
};

struct rowsync_conn {
    sqlite3 *db;
    char *node;
    char *path; /* absolute database path */
    int busy_ms;
    int in_tx;
    int lock_fd; /* -1 until the first lock */
    char *lock_path;
    struct lite_held *held;
    int marker_set; /* rowsync_session holds marker_origin/time */
    char *marker_origin;
    int64_t marker_time;
    sqlite3_stmt *marker_stmt;
    struct lite_apply *applies;
    struct rowsync_stream *streams; /* open streams, finalized on disconnect */
    /* the last describe */
    rowsync_table_info_t info;
    rowsync_column_t *cols;
    size_t ncols;
    char *info_name;
};

/* Extraction re-runs its query after this many rows (see stream_next). */
#define LITE_CHUNK_ROWS 2000

struct rowsync_stream {
    rowsync_conn_t *conn; /* NULL once the connection closed under it */
    struct rowsync_stream *next;
    sqlite3_stmt *stmt;
    int extract; /* 1 extract, 0 scan */
    size_t ncols, nkeys;
    rowsync_type_t *types;
    int64_t since, horizon, last;
    size_t in_chunk; /* rows read since the statement last restarted */
    int done;
    int64_t scan_time;
    uint64_t changed; /* stream_columns of the last change returned */
    rowsync_value_t *values;
    char *scratch; /* ncols * LITE_SCRATCH */
    rowsync_change_t change;
};

/* ---- small helpers -------------------------------------------------- */

/* Appends ident as a double-quoted identifier, quotes doubled. */
static void lite_sb_ident(rowsync_buf_t *b, const char *ident)
{
    const char *q;

    rowsync_buf_add(b, "\"", 1);
    while ((q = strchr(ident, '"')) != NULL) {
        rowsync_buf_add(b, ident, (size_t)(q - ident) + 1);
        rowsync_buf_add(b, "\"", 1);
        ident = q + 1;
    }
    rowsync_buf_puts(b, ident);
    rowsync_buf_add(b, "\"", 1);
}

/* Appends the quoted identifier prefix + name + suffix. */
static void lite_sb_ident3(rowsync_buf_t *b, const char *prefix, const char *name,
                           const char *suffix)
{
    rowsync_buf_t tmp = {NULL, 0, 0, 0};

    rowsync_buf_puts(&tmp, prefix);
    rowsync_buf_puts(&tmp, name);
    rowsync_buf_puts(&tmp, suffix);
    if (tmp.oom)
        b->oom = 1;
    else
        lite_sb_ident(b, tmp.p);
    free(tmp.p);
}

static char *lite_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);

    if (p != NULL)
        memcpy(p, s, n);
    return p;
}

static int lite_oom(rowsync_error_t *err)
{
    return rowsync_error_set(err, ROWSYNC_ENOMEM, "out of memory");
}

/* Maps an SQLite result code (and message) onto a rowsync error class. */
static int lite_classify(int xrc, const char *msg)
{
    switch (xrc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_PROTOCOL:
        return ROWSYNC_ETRANSIENT;
    case SQLITE_CONSTRAINT:
        return ROWSYNC_ECONSTRAINT;
    case SQLITE_CANTOPEN:
        return ROWSYNC_ECONN;
    case SQLITE_IOERR:
        if (xrc == SQLITE_IOERR_NOMEM)
            return ROWSYNC_ENOMEM;
        return ROWSYNC_EIO;
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
    case SQLITE_READONLY:
    case SQLITE_FULL:
        return ROWSYNC_EIO;
    case SQLITE_NOMEM:
        return ROWSYNC_ENOMEM;
    case SQLITE_MISMATCH:
    case SQLITE_TOOBIG:
        return ROWSYNC_ECONVERT;
    case SQLITE_ERROR:
        if (msg != NULL && (strncmp(msg, "no such table", 13) == 0 ||
                            strncmp(msg, "no such column", 14) == 0))
            return ROWSYNC_ENOTFOUND;
        return ROWSYNC_ERROR;
    default:
        return ROWSYNC_ERROR;
    }
}

/* What to do next, per class, appended to database errors. */
static const char *lite_hint(int code, int xrc)
{
    if ((xrc & 0xff) == SQLITE_NOTADB)
        return "; check that `path` names an SQLite 3 database";
    switch (code) {
    case ROWSYNC_ETRANSIENT:
        return "; another connection holds the database lock, retry later "
               "or raise busy_timeout";
    case ROWSYNC_EIO:
        return "; check the file, its directory and the disk";
    default:
        return "";
    }
}

/* Fills err from the connection's last SQLite error: "<what>: <sqlite
 * message> (node N, file F)<hint>". rc is the code the call returned.
 * Returns the rowsync class. */
static int lite_fail(rowsync_conn_t *c, rowsync_error_t *err, int rc,
                     const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int lite_fail(rowsync_conn_t *c, rowsync_error_t *err, int rc,
                     const char *fmt, ...)
{
    char what[512];
    const char *msg = sqlite3_errstr(rc);
    int xrc = rc, code;
    va_list ap;

    if (c->db != NULL && (sqlite3_errcode(c->db) & 0xff) == (rc & 0xff)) {
        xrc = sqlite3_extended_errcode(c->db);
        msg = sqlite3_errmsg(c->db);
    }
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    code = lite_classify(xrc, msg);
    rowsync_error_set(err, code, "%s: %s (node '%s', file %s)%s", what, msg,
                      c->node, c->path, lite_hint(code, xrc));
    if (err != NULL)
        err->native = xrc;
    return code;
}

/* Runs SQL without results; on failure fills err with "what". */
static int lite_exec(rowsync_conn_t *c, const char *sql, rowsync_error_t *err,
                     const char *what)
{
    int rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);

    if (rc != SQLITE_OK)
        return lite_fail(c, err, rc, "%s", what);
    return 0;
}

/* Prepares one statement; on failure *st is NULL and err says "what". */
static int lite_prepare(rowsync_conn_t *c, const char *sql, sqlite3_stmt **st,
                        rowsync_error_t *err, const char *what)
{
    int rc = sqlite3_prepare_v2(c->db, sql, -1, st, NULL);

    if (rc != SQLITE_OK) {
        *st = NULL;
        return lite_fail(c, err, rc, "%s", what);
    }
    return 0;
}

/* Runs a query returning one integer, with up to two text parameters
 * (NULL: not bound); `what` names it in an error. */
static int lite_query_int(rowsync_conn_t *c, const char *sql, const char *p1,
                          const char *p2, int64_t *out, rowsync_error_t *err,
                          const char *what)
{
    sqlite3_stmt *st;
    int rc = lite_prepare(c, sql, &st, err, what);

    if (rc < 0)
        return rc;
    if (p1 != NULL)
        sqlite3_bind_text(st, 1, p1, -1, SQLITE_STATIC);
    if (p2 != NULL)
        sqlite3_bind_text(st, 2, p2, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        rc = lite_fail(c, err, rc, "%s", what);
        sqlite3_finalize(st);
        return rc;
    }
    *out = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return 0;
}

/* Checks a table name before it becomes part of capture object names. */
static int lite_check_table(rowsync_conn_t *c, const char *table,
                            rowsync_error_t *err)
{
    if (table == NULL || table[0] == '\0')
        return rowsync_error_set(err, ROWSYNC_EINVAL,
                                 "empty table name (node '%s')", c->node);
    if (strlen(table) > LITE_NAME_MAX)
        return rowsync_error_set(
            err, ROWSYNC_EINVAL,
            "table name '%.40s...' on node '%s' is longer than %d bytes", table,
            c->node, LITE_NAME_MAX);
    return 0;
}

/* Checks a spec the driver is handed: a usable table name, at least one
 * key column, no empty column names. */
static int lite_check_spec(rowsync_conn_t *c, const rowsync_table_spec_t *spec,
                           rowsync_error_t *err)
{
    size_t i;
    int rc;

    if (spec == NULL)
        return rowsync_error_set(err, ROWSYNC_EINVAL, "no table spec");
    rc = lite_check_table(c, spec->table, err);
    if (rc < 0)
        return rc;
    if (spec->ncolumns == 0 || spec->nkeys == 0 ||
        spec->nkeys > spec->ncolumns || spec->columns == NULL)
        return rowsync_error_set(
            err, ROWSYNC_EINVAL,
            "table '%s' on node '%s': the spec needs at least one key column "
            "among its columns",
            spec->table, c->node);
    for (i = 0; i < spec->ncolumns; i++)
        if (spec->columns[i] == NULL || spec->columns[i][0] == '\0')
            return rowsync_error_set(err, ROWSYNC_EINVAL,
                                     "table '%s': empty column name",
                                     spec->table);
    return 0;
}

/* Parses a cursor: "" is 0, else decimal digits. */
static int lite_parse_cursor(rowsync_conn_t *c, const char *text, int64_t *out,
                             rowsync_error_t *err)
{
    int64_t v = 0;
    const char *p;

    for (p = text; *p; p++) {
        if (*p < '0' || *p > '9' || v > (INT64_MAX - 9) / 10)
            return rowsync_error_set(
                err, ROWSYNC_EINVAL,
                "invalid SQLite cursor '%.40s' on node '%s' (expected a "
                "history sequence number)",
                text, c->node);
        v = v * 10 + (*p - '0');
    }
    *out = v;
    return 0;
}

/* 1 when a schema object of that type and name exists. */
static int lite_object_exists(rowsync_conn_t *c, const char *type,
                              const char *name, int *exists,
                              rowsync_error_t *err)
{
    int rc;

    int64_t n;

    rc = lite_query_int(c,
                        "SELECT count(*) FROM sqlite_master WHERE type = ?1"
                        " AND name = ?2 COLLATE NOCASE",
                        type, name, &n, err, "cannot read the schema");
    if (rc < 0)
        return rc;
    *exists = n > 0;
    return 0;
}

static char *lite_name3(const char *prefix, const char *name,
                        const char *suffix)
{
    size_t a = strlen(prefix), b = strlen(name), s = strlen(suffix);
    char *p = malloc(a + b + s + 1);

    if (p != NULL) {
        memcpy(p, prefix, a);
        memcpy(p + a, name, b);
        memcpy(p + a + b, suffix, s + 1);
    }
    return p;
}

/* Finalizes an apply entry's statements and frees it; NULL is ignored
 * (the entry's calloc may have failed). */
static void lite_apply_free(struct lite_apply *a)
{
    if (a == NULL)
        return;
    sqlite3_finalize(a->upd);
    sqlite3_finalize(a->ins);
    sqlite3_finalize(a->del);
    sqlite3_finalize(a->tomb);
    free(a->table);
    free(a->sig);
    free(a);
}

/* Finalizes every cached statement; the next use prepares them again.
 * Called after schema changes that drop what they refer to. */
static void lite_drop_cache(rowsync_conn_t *c)
{
    struct lite_apply *a = c->applies, *next;

    for (; a != NULL; a = next) {
        next = a->next;
        lite_apply_free(a);
    }
    c->applies = NULL;
    sqlite3_finalize(c->marker_stmt);
    c->marker_stmt = NULL;
}

/* Starts a write unit for DDL: BEGIN IMMEDIATE outside a transaction, a
 * savepoint inside the caller's. lite_ddl_end commits or undoes it. */
static int lite_ddl_begin(rowsync_conn_t *c, rowsync_error_t *err)
{
    if (c->in_tx)
        return lite_exec(c, "SAVEPOINT rowsync_ddl", err,
                         "cannot start a savepoint");
    return lite_exec(c, "BEGIN IMMEDIATE", err,
                     "cannot start a write transaction");
}

static int lite_ddl_end(rowsync_conn_t *c, int ok, rowsync_error_t *err)
{
    int rc;

    if (c->in_tx) {
        if (ok)
            return lite_exec(c, "RELEASE rowsync_ddl", err,
                             "cannot release the savepoint");
        sqlite3_exec(c->db, "ROLLBACK TO rowsync_ddl; RELEASE rowsync_ddl",
                     NULL, NULL, NULL);
        return 0;
    }
    if (!ok) {
        if (!sqlite3_get_autocommit(c->db))
            sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
        return 0;
    }
    rc = lite_exec(c, "COMMIT", err, "cannot commit");
    if (rc < 0 && !sqlite3_get_autocommit(c->db))
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

/* Creates the state tables if missing (inside the caller's transaction). */
static int lite_state_tables(rowsync_conn_t *c, rowsync_error_t *err)
{
    size_t i;
    int rc;

    for (i = 0; lite_state_ddl[i] != NULL; i++) {
        rc = lite_exec(c, lite_state_ddl[i], err,
                       "cannot create the rowsync state tables");
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* ---- values --------------------------------------------------------- */

/* Writes d as a plain decimal (-?digits[.digits]) with the fewest
 * significant digits that read back as d. buf holds LITE_SCRATCH bytes.
 * Returns the length, or 0 when d is not finite. */
static size_t lite_decimal_from_double(double d, char *buf)
{
    char tmp[48], digits[24];
    size_t nd = 0, len = 0;
    int prec, exp10, pos, i;
    const char *p;

    if (!isfinite(d))
        return 0;
    if (d == 0) {
        buf[0] = '0';
        buf[1] = '\0';
        return 1;
    }
    for (prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec - 1, d);
        if (strtod(tmp, NULL) == d)
            break;
    }
    p = tmp;
    if (*p == '-') {
        buf[len++] = '-';
        p++;
    }
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9')
            digits[nd++] = *p;
    exp10 = (*p == 'e') ? atoi(p + 1) : 0;
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    pos = exp10 + 1; /* digits before the decimal point */
    if (pos <= 0) {
        buf[len++] = '0';
        buf[len++] = '.';
        for (i = 0; i < -pos; i++)
            buf[len++] = '0';
        memcpy(buf + len, digits, nd);
        len += nd;
    } else if ((size_t)pos >= nd) {
        memcpy(buf + len, digits, nd);
        len += nd;
        for (i = 0; i < pos - (int)nd; i++)
            buf[len++] = '0';
    } else {
        memcpy(buf + len, digits, (size_t)pos);
        len += (size_t)pos;
        buf[len++] = '.';
        memcpy(buf + len, digits + pos, nd - (size_t)pos);
        len += nd - (size_t)pos;
    }
    buf[len] = '\0';
    return len;
}

static void lite_set_bytes(rowsync_value_t *v, rowsync_type_t type,
                           const void *p, size_t n)
{
    v->type = type;
    v->u.bytes.ptr = p != NULL ? (const char *)p : "";
    v->u.bytes.len = n;
}

/* Converts column col of the current row into a core value of the spec's
 * type `want`, following the storage class SQLite used. A stored value that
 * does not read as `want` (say 'abc' in a DATE column) is passed on as
 * TEXT (or INT/DOUBLE/BINARY by its storage class) instead of failing.
 * Pointers stay valid until the next step of st. */
static void lite_column_value(sqlite3_stmt *st, int col, rowsync_type_t want,
                              char *scratch, rowsync_value_t *out)
{
    const unsigned char *t;
    size_t n;
    int64_t i;
    double d;

    switch (sqlite3_column_type(st, col)) {
    case SQLITE_NULL:
        out->type = ROWSYNC_TYPE_NULL;
        return;
    case SQLITE_INTEGER:
        i = sqlite3_column_int64(st, col);
        switch (want) {
        case ROWSYNC_TYPE_BOOL:
            out->type = ROWSYNC_TYPE_BOOL;
            out->u.b = i != 0;
            return;
        case ROWSYNC_TYPE_DECIMAL:
            n = (size_t)snprintf(scratch, LITE_SCRATCH, "%lld", (long long)i);
            lite_set_bytes(out, ROWSYNC_TYPE_DECIMAL, scratch, n);
            return;
        case ROWSYNC_TYPE_DOUBLE:
            out->type = ROWSYNC_TYPE_DOUBLE;
            out->u.d = (double)i;
            return;
        case ROWSYNC_TYPE_TEXT:
        case ROWSYNC_TYPE_JSON:
        case ROWSYNC_TYPE_UUID:
            t = sqlite3_column_text(st, col);
            lite_set_bytes(out,
                           want == ROWSYNC_TYPE_JSON ? ROWSYNC_TYPE_JSON
                                                     : ROWSYNC_TYPE_TEXT,
                           t, (size_t)sqlite3_column_bytes(st, col));
            return;
        default:
            out->type = ROWSYNC_TYPE_INT;
            out->u.i = i;
            return;
        }
    case SQLITE_FLOAT:
        d = sqlite3_column_double(st, col);
        switch (want) {
        case ROWSYNC_TYPE_DECIMAL:
            n = lite_decimal_from_double(d, scratch);
            if (n > 0) {
                lite_set_bytes(out, ROWSYNC_TYPE_DECIMAL, scratch, n);
                return;
            }
            break;
        case ROWSYNC_TYPE_INT:
            if (d >= -9223372036854775808.0 && d < 9223372036854775808.0 &&
                d == (double)(int64_t)d) {
                out->type = ROWSYNC_TYPE_INT;
                out->u.i = (int64_t)d;
                return;
            }
            break;
        case ROWSYNC_TYPE_BOOL:
            out->type = ROWSYNC_TYPE_BOOL;
            out->u.b = d != 0;
            return;
        case ROWSYNC_TYPE_TEXT:
        case ROWSYNC_TYPE_JSON:
            t = sqlite3_column_text(st, col);
            lite_set_bytes(out, want, t, (size_t)sqlite3_column_bytes(st, col));
            return;
        default:
            break;
        }
        out->type = ROWSYNC_TYPE_DOUBLE;
        out->u.d = d;
        return;
    case SQLITE_TEXT:
        t = sqlite3_column_text(st, col);
        n = (size_t)sqlite3_column_bytes(st, col);
        switch (want) {
        case ROWSYNC_TYPE_NULL:
        case ROWSYNC_TYPE_TEXT:
        case ROWSYNC_TYPE_JSON:
        case ROWSYNC_TYPE_BINARY:
            lite_set_bytes(out,
                           want == ROWSYNC_TYPE_NULL ? ROWSYNC_TYPE_TEXT : want,
                           t, n);
            return;
        case ROWSYNC_TYPE_UUID:
            if (n == 36) {
                size_t k;
                for (k = 0; k < n; k++)
                    scratch[k] = (t[k] >= 'A' && t[k] <= 'F')
                                     ? (char)(t[k] - 'A' + 'a')
                                     : (char)t[k];
                if (rowsync_value_parse(want, scratch, n, NULL, out, NULL) == 0)
                    return;
            }
            break;
        default:
            if (rowsync_value_parse(want, (const char *)t, n, scratch, out,
                                    NULL) == 0)
                return;
            break;
        }
        lite_set_bytes(out, ROWSYNC_TYPE_TEXT, t, n);
        return;
    default: /* SQLITE_BLOB */
        t = sqlite3_column_blob(st, col);
        n = (size_t)sqlite3_column_bytes(st, col);
        if (want == ROWSYNC_TYPE_UUID && n == 16) {
            static const char hex[] = "0123456789abcdef";
            size_t k, o = 0;
            for (k = 0; k < 16; k++) {
                if (k == 4 || k == 6 || k == 8 || k == 10)
                    scratch[o++] = '-';
                scratch[o++] = hex[t[k] >> 4];
                scratch[o++] = hex[t[k] & 15];
            }
            lite_set_bytes(out, ROWSYNC_TYPE_UUID, scratch, o);
            return;
        }
        lite_set_bytes(out, ROWSYNC_TYPE_BINARY, t, n);
        return;
    }
}

/* Binds v to parameter idx. Text-carried values are copied when copy is
 * set, else bound in place (valid while the caller's value is); dates and
 * times go in as their canonical text, copied. */
static int lite_bind(sqlite3_stmt *st, int idx, const rowsync_value_t *v,
                     int copy)
{
    sqlite3_destructor_type keep = copy ? SQLITE_TRANSIENT : SQLITE_STATIC;
    char buf[64];
    size_t n;

    switch (v->type) {
    case ROWSYNC_TYPE_NULL:
        return sqlite3_bind_null(st, idx);
    case ROWSYNC_TYPE_BOOL:
        return sqlite3_bind_int64(st, idx, v->u.b ? 1 : 0);
    case ROWSYNC_TYPE_INT:
        return sqlite3_bind_int64(st, idx, v->u.i);
    case ROWSYNC_TYPE_DOUBLE:
        return sqlite3_bind_double(st, idx, v->u.d);
    case ROWSYNC_TYPE_DECIMAL:
    case ROWSYNC_TYPE_TEXT:
    case ROWSYNC_TYPE_UUID:
    case ROWSYNC_TYPE_JSON:
        return sqlite3_bind_text64(
            st, idx, v->u.bytes.ptr != NULL ? v->u.bytes.ptr : "",
            (sqlite3_uint64)v->u.bytes.len, keep, SQLITE_UTF8);
    case ROWSYNC_TYPE_BINARY:
        return sqlite3_bind_blob64(st, idx,
                                   v->u.bytes.ptr != NULL ? v->u.bytes.ptr : "",
                                   (sqlite3_uint64)v->u.bytes.len, keep);
    case ROWSYNC_TYPE_DATE:
    case ROWSYNC_TYPE_TIME:
    case ROWSYNC_TYPE_TIMESTAMP:
    case ROWSYNC_TYPE_TIMESTAMPTZ:
        n = rowsync_value_format(v, buf, sizeof buf);
        if (n >= sizeof buf)
            return SQLITE_TOOBIG;
        return sqlite3_bind_text(st, idx, buf, (int)n, SQLITE_TRANSIENT);
    }
    return SQLITE_MISMATCH;
}

/* Writes the key values of a change as "v1,v2" into buf, for messages. */
static void lite_key_text(const rowsync_table_spec_t *spec,
                          const rowsync_value_t *values, char *buf, size_t len)
{
    size_t i, used = 0;

    buf[0] = '\0';
    for (i = 0; i < spec->nkeys && used + 2 < len; i++) {
        if (i > 0)
            buf[used++] = ',';
        if (values[i].type == ROWSYNC_TYPE_NULL) {
            snprintf(buf + used, len - used, "NULL");
        } else {
            size_t n = rowsync_value_format(&values[i], buf + used, len - used);
            if (n >= len - used) {
                buf[len - 1] = '\0';
                return;
            }
        }
        used += strlen(buf + used);
    }
    buf[used < len ? used : len - 1] = '\0';
}

/* ---- connect -------------------------------------------------------- */

static const char *lite_option(const rowsync_node_config_t *cfg,
                               const char *key)
{
    size_t i;

    for (i = 0; i < cfg->noptions; i++)
        if (cfg->options[i].key != NULL &&
            strcmp(cfg->options[i].key, key) == 0)
            return cfg->options[i].value;
    return NULL;
}

/* The database path made absolute: relative paths start at job_dir, or at
 * the working directory when there is none. Malloc'd. */
static char *lite_abs_path(const char *path, const char *job_dir)
{
    rowsync_buf_t b = {NULL, 0, 0, 0};
    char cwd[4096];

    if (path[0] == '/')
        return lite_strdup(path);
    if (job_dir != NULL && job_dir[0] != '\0') {
        if (job_dir[0] != '/') {
            if (getcwd(cwd, sizeof cwd) == NULL)
                return NULL;
            rowsync_buf_puts(&b, cwd);
            rowsync_buf_puts(&b, "/");
        }
        rowsync_buf_puts(&b, job_dir);
    } else {
        if (getcwd(cwd, sizeof cwd) == NULL)
            return NULL;
        rowsync_buf_puts(&b, cwd);
    }
    if (b.len > 0 && b.p[b.len - 1] != '/')
        rowsync_buf_puts(&b, "/");
    rowsync_buf_puts(&b, path);
    if (b.oom) {
        rowsync_buf_free(&b);
        return NULL;
    }
    return b.p;
}

static void lite_conn_free(rowsync_conn_t *c)
{
    if (c == NULL)
        return;
    free(c->node);
    free(c->path);
    free(c->lock_path);
    free(c);
}

/* State of the rowsync_cols_or aggregate. */
struct lite_cols_or {
    int64_t acc;
    int unknown; /* a NULL mask was seen */
};

/* rowsync_cols_or(cols): the bitwise OR of the history rows' column
 * masks, NULL (unknown) when any of them is NULL. SQLite has no bitwise
 * OR aggregate; extraction folds a key's masks with this one. */
static void lite_cols_or_step(sqlite3_context *ctx, int argc,
                              sqlite3_value **argv)
{
    struct lite_cols_or *a = sqlite3_aggregate_context(ctx, sizeof *a);

    (void)argc;
    if (a == NULL) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    if (sqlite3_value_type(argv[0]) == SQLITE_NULL)
        a->unknown = 1;
    else
        a->acc |= sqlite3_value_int64(argv[0]);
}

static void lite_cols_or_final(sqlite3_context *ctx)
{
    struct lite_cols_or *a = sqlite3_aggregate_context(ctx, 0);

    if (a != NULL && a->unknown)
        sqlite3_result_null(ctx);
    else
        sqlite3_result_int64(ctx, a != NULL ? a->acc : 0);
}

/* Opens the database file named by the `path` option. Never creates it: a
 * missing or unreadable file is ROWSYNC_ECONN, a file that is not a
 * database ROWSYNC_EIO, each naming node and absolute path. */
static int lite_connect(rowsync_conn_t **out, const rowsync_node_config_t *cfg,
                        rowsync_error_t *err)
{
    const char *node = cfg->node != NULL ? cfg->node : "?";
    const char *path, *bt;
    rowsync_conn_t *c;
    struct stat stbuf;
    sqlite3_stmt *st;
    size_t i;
    int rc;

    for (i = 0; i < cfg->noptions; i++) {
        const char *k = cfg->options[i].key;
        if (k == NULL ||
            (strcmp(k, "path") != 0 && strcmp(k, "busy_timeout") != 0))
            return rowsync_error_set(
                err, ROWSYNC_EINVAL,
                "node '%s': unknown option '%s' for the sqlite driver "
                "(accepted: path, busy_timeout)",
                node, k != NULL ? k : "(null)");
    }
    path = lite_option(cfg, "path");
    if (path == NULL || path[0] == '\0')
        return rowsync_error_set(
            err, ROWSYNC_EINVAL,
            "node '%s': the sqlite driver needs `path = FILE` (the database "
            "file)",
            node);
    c = calloc(1, sizeof *c);
    if (c == NULL)
        return lite_oom(err);
    c->lock_fd = -1;
    c->busy_ms = 5000;
    bt = lite_option(cfg, "busy_timeout");
    if (bt != NULL) {
        char *end;
        long v;
        errno = 0;
        v = strtol(bt, &end, 10);
        if (errno != 0 || end == bt || *end != '\0' || v < 0 || v > INT_MAX) {
            rc = rowsync_error_set(
                err, ROWSYNC_EINVAL,
                "node '%s': busy_timeout '%s' is not a number of "
                "milliseconds",
                node, bt);
            lite_conn_free(c);
            return rc;
        }
        c->busy_ms = (int)v;
    }
    c->node = lite_strdup(node);
    c->path = lite_abs_path(path, cfg->job_dir);
    if (c->node == NULL || c->path == NULL) {
        lite_conn_free(c);
        return lite_oom(err);
    }
    if (stat(c->path, &stbuf) != 0) {
        int e = errno;
        rc = rowsync_error_set(
            err, ROWSYNC_ECONN,
            "node '%s': cannot open SQLite database %s: %s (rowsync never "
            "creates the database; create it or fix `path`)",
            c->node, c->path, strerror(e));
        if (err != NULL)
            err->native = SQLITE_CANTOPEN;
        lite_conn_free(c);
        return rc;
    }
    if (!S_ISREG(stbuf.st_mode)) {
        rc = rowsync_error_set(err, ROWSYNC_ECONN,
                               "node '%s': SQLite database %s is not a "
                               "regular file (fix `path`)",
                               c->node, c->path);
        if (err != NULL)
            err->native = SQLITE_CANTOPEN;
        lite_conn_free(c);
        return rc;
    }
    rc = sqlite3_open_v2(c->path, &c->db, SQLITE_OPEN_READWRITE, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_extended_result_codes(c->db, 1);
    if (rc == SQLITE_OK)
        rc = sqlite3_busy_timeout(c->db, c->busy_ms);
    if (rc == SQLITE_OK)
        rc = sqlite3_create_function_v2(
            c->db, "rowsync_cols_or", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
            NULL, NULL, lite_cols_or_step, lite_cols_or_final, NULL);
    if (rc != SQLITE_OK) {
        rc = lite_fail(c, err, rc, "cannot open SQLite database");
        sqlite3_close(c->db);
        lite_conn_free(c);
        return rc;
    }
    if (sqlite3_db_readonly(c->db, "main") == 1) {
        rc = rowsync_error_set(
            err, ROWSYNC_EIO,
            "node '%s': SQLite database %s can only be opened read-only; "
            "rowsync needs to write to it (check the permissions of the "
            "file and its directory)",
            c->node, c->path);
        if (err != NULL)
            err->native = SQLITE_READONLY;
        sqlite3_close(c->db);
        lite_conn_free(c);
        return rc;
    }
    /* Reading the schema makes "file is not a database" show here. */
    rc = sqlite3_prepare_v2(c->db, "SELECT count(*) FROM sqlite_master", -1,
                            &st, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            rc = SQLITE_OK;
    }
    if (rc != SQLITE_OK) {
        rc = lite_fail(c, err, rc, "cannot read SQLite database");
        sqlite3_finalize(st);
        sqlite3_close(c->db);
        lite_conn_free(c);
        return rc;
    }
    sqlite3_finalize(st);
    *out = c;
    return 0;
}

/* Closes everything: streams still open lose their statement (closing
 * them later only frees them), an open transaction rolls back, the lock
 * file closes (which releases its locks). */
static void lite_disconnect(rowsync_conn_t *c)
{
    struct rowsync_stream *s;
    struct lite_held *h, *hn;
    size_t i;

    if (c == NULL)
        return;
    for (s = c->streams; s != NULL; s = s->next) {
        sqlite3_finalize(s->stmt);
        s->stmt = NULL;
        s->conn = NULL;
    }
    if (c->db != NULL && !sqlite3_get_autocommit(c->db))
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    lite_drop_cache(c);
    if (c->lock_fd >= 0)
        close(c->lock_fd);
    for (h = c->held; h != NULL; h = hn) {
        hn = h->next;
        free(h->name);
        free(h);
    }
    for (i = 0; i < c->ncols; i++) {
        free((char *)c->cols[i].name);
        free((char *)c->cols[i].native_type);
    }
    free(c->cols);
    free(c->info_name);
    free(c->marker_origin);
    sqlite3_close(c->db);
    lite_conn_free(c);
}

/* Double quotes, embedded quotes doubled; snprintf-style length: writes
 * as much of the quoted name as fits, always NUL-terminated. */
static int lite_quote_ident(const char *ident, char *buf, size_t len)
{
    size_t need = 2, o = 0;
    const char *p;

    if (ident == NULL || ident[0] == '\0')
        return ROWSYNC_EINVAL;
    for (p = ident; *p; p++)
        need += (*p == '"') ? 2 : 1;
    if (need > INT_MAX)
        return ROWSYNC_EINVAL;
    if (buf == NULL || len == 0)
        return (int)need;
#define LITE_PUT(ch)                                                           \
    do {                                                                       \
        if (o + 1 < len)                                                       \
            buf[o++] = (ch);                                                   \
    } while (0)
    LITE_PUT('"');
    for (p = ident; *p; p++) {
        LITE_PUT(*p);
        if (*p == '"')
            LITE_PUT('"');
    }
    LITE_PUT('"');
#undef LITE_PUT
    buf[o] = '\0';
    return (int)need;
}

/* Reads the server clock with the same expression the triggers use. */
static int lite_clock(rowsync_conn_t *c, int64_t *now_us, rowsync_error_t *err)
{
    return lite_query_int(c, "SELECT " LITE_NOW, NULL, NULL, now_us, err,
                          "cannot read the clock");
}

/* ---- describe ------------------------------------------------------- */

static int lite_contains(const char *hay, const char *needle)
{
    return strstr(hay, needle) != NULL;
}

/* Core type of a declared column type (order matters: DATETIME before
 * DATE, TIMESTAMPTZ before TIMESTAMP, ...). Unknown or empty: TEXT. */
static rowsync_type_t lite_map_type(const char *declared)
{
    char up[128];
    size_t i;

    for (i = 0; declared[i] && i + 1 < sizeof up; i++)
        up[i] = (declared[i] >= 'a' && declared[i] <= 'z')
                    ? (char)(declared[i] - 'a' + 'A')
                    : declared[i];
    up[i] = '\0';
    if (lite_contains(up, "BOOL"))
        return ROWSYNC_TYPE_BOOL;
    if (lite_contains(up, "TIMESTAMPTZ") || lite_contains(up, "TIME ZONE") ||
        lite_contains(up, "TIMEZONE"))
        return ROWSYNC_TYPE_TIMESTAMPTZ;
    if (lite_contains(up, "DATETIME") || lite_contains(up, "TIMESTAMP"))
        return ROWSYNC_TYPE_TIMESTAMP;
    if (lite_contains(up, "DATE"))
        return ROWSYNC_TYPE_DATE;
    if (lite_contains(up, "TIME"))
        return ROWSYNC_TYPE_TIME;
    if (lite_contains(up, "UUID"))
        return ROWSYNC_TYPE_UUID;
    if (lite_contains(up, "JSON"))
        return ROWSYNC_TYPE_JSON;
    if (lite_contains(up, "DECIMAL") || lite_contains(up, "NUMERIC") ||
        lite_contains(up, "NUMBER") || lite_contains(up, "MONEY"))
        return ROWSYNC_TYPE_DECIMAL;
    if (lite_contains(up, "INT"))
        return ROWSYNC_TYPE_INT;
    if (lite_contains(up, "REAL") || lite_contains(up, "FLOA") ||
        lite_contains(up, "DOUB"))
        return ROWSYNC_TYPE_DOUBLE;
    if (lite_contains(up, "BLOB") || lite_contains(up, "BINARY") ||
        lite_contains(up, "BYTEA"))
        return ROWSYNC_TYPE_BINARY;
    return ROWSYNC_TYPE_TEXT; /* CHAR, CLOB, TEXT, empty, anything else */
}

static void lite_info_clear(rowsync_conn_t *c)
{
    size_t i;

    for (i = 0; i < c->ncols; i++) {
        free((char *)c->cols[i].name);
        free((char *)c->cols[i].native_type);
    }
    free(c->cols);
    free(c->info_name);
    c->cols = NULL;
    c->ncols = 0;
    c->info_name = NULL;
    memset(&c->info, 0, sizeof c->info);
}

/* Describes a table from pragma_table_info: columns in table order, key
 * positions from the primary key. *out lives until the next describe. */
static int lite_describe(rowsync_conn_t *c, const char *table,
                         const rowsync_table_info_t **out, rowsync_error_t *err)
{
    sqlite3_stmt *st;
    rowsync_column_t *cols = NULL;
    size_t n = 0, cap = 0;
    char *name = NULL;
    int rc;

    if (table == NULL || table[0] == '\0')
        return rowsync_error_set(err, ROWSYNC_EINVAL,
                                 "empty table name (node '%s')", c->node);
    rc = lite_prepare(c,
                      "SELECT name FROM sqlite_master WHERE type = 'table'"
                      " AND name = ?1 COLLATE NOCASE",
                      &st, err, "cannot read the schema");
    if (rc < 0)
        return rc;
    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        name = lite_strdup((const char *)sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
        if (name == NULL)
            return lite_oom(err);
    } else if (rc == SQLITE_DONE) {
        sqlite3_finalize(st);
        return rowsync_error_set(err, ROWSYNC_ENOTFOUND,
                                 "table '%s' not found on node '%s' (file "
                                 "%s); check the table name",
                                 table, c->node, c->path);
    } else {
        rc = lite_fail(c, err, rc, "cannot read the schema");
        sqlite3_finalize(st);
        return rc;
    }
    rc = lite_prepare(c,
                      "SELECT name, type, \"notnull\", pk FROM"
                      " pragma_table_info(?1) ORDER BY cid",
                      &st, err, "cannot describe the table");
    if (rc < 0) {
        free(name);
        return rc;
    }
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *cn = (const char *)sqlite3_column_text(st, 0);
        const char *ct = (const char *)sqlite3_column_text(st, 1);
        rowsync_column_t *col;
        if (n == cap) {
            rowsync_column_t *nc;
            cap = cap ? cap * 2 : 16;
            nc = realloc(cols, cap * sizeof *cols);
            if (nc == NULL)
                goto oom;
            cols = nc;
        }
        col = &cols[n];
        col->name = lite_strdup(cn != NULL ? cn : "");
        col->native_type = lite_strdup(ct != NULL ? ct : "");
        n++;
        if (col->name == NULL || col->native_type == NULL)
            goto oom;
        col->type = lite_map_type(col->native_type);
        col->key_position = sqlite3_column_int(st, 3);
        col->nullable = !(sqlite3_column_int(st, 2) || col->key_position > 0);
    }
    if (rc != SQLITE_DONE) {
        size_t i;
        rc = lite_fail(c, err, rc, "cannot describe table '%s'", name);
        sqlite3_finalize(st);
        for (i = 0; i < n; i++) {
            free((char *)cols[i].name);
            free((char *)cols[i].native_type);
        }
        free(cols);
        free(name);
        return rc;
    }
    sqlite3_finalize(st);
    lite_info_clear(c);
    c->cols = cols;
    c->ncols = n;
    c->info_name = name;
    c->info.name = name;
    c->info.ncolumns = n;
    c->info.columns = cols;
    *out = &c->info;
    return 0;

oom:
    sqlite3_finalize(st);
    {
        size_t i;
        for (i = 0; i < n; i++) {
            free((char *)cols[i].name);
            free((char *)cols[i].native_type);
        }
    }
    free(cols);
    free(name);
    return lite_oom(err);
}

/* ---- capture -------------------------------------------------------- */

/* Appends "<prefix>k1, <prefix>k2, ..." (history key columns). */
static void lite_sb_hkeys(rowsync_buf_t *b, const char *prefix, size_t nkeys)
{
    size_t i;

    for (i = 0; i < nkeys; i++)
        rowsync_buf_printf(b, "%s%sk%zu", i ? ", " : "", prefix, i + 1);
}

/* Appends "<rel>."c1", <rel>."c2"" for the first n spec columns. */
static void lite_sb_cols(rowsync_buf_t *b, const char *rel,
                         const rowsync_table_spec_t *spec, size_t from,
                         size_t to)
{
    size_t i;

    for (i = from; i < to; i++) {
        if (i > from)
            rowsync_buf_puts(b, ", ");
        if (rel != NULL) {
            rowsync_buf_puts(b, rel);
            rowsync_buf_puts(b, ".");
        }
        lite_sb_ident(b, spec->columns[i]);
    }
}

/* "OLD."a" IS NOT NEW."a" OR ..." over the key columns. */
static void lite_sb_key_changed(rowsync_buf_t *b, const rowsync_table_spec_t *spec)
{
    size_t i;

    for (i = 0; i < spec->nkeys; i++) {
        if (i > 0)
            rowsync_buf_puts(b, " OR ");
        rowsync_buf_puts(b, "OLD.");
        lite_sb_ident(b, spec->columns[i]);
        rowsync_buf_puts(b, " IS NOT NEW.");
        lite_sb_ident(b, spec->columns[i]);
    }
}

/* The update trigger's column mask: "((OLD."c" IS NOT NEW."c") << i) | ..."
 * over the non-key spec columns, 0 when there are none, NULL when the spec
 * is wider than 64 columns (unknown). A changed key gives NULL too. */
static void lite_sb_cols_mask(rowsync_buf_t *b,
                              const rowsync_table_spec_t *spec)
{
    size_t i;
    int any = 0;

    if (spec->ncolumns > 64) {
        rowsync_buf_puts(b, "NULL");
        return;
    }
    rowsync_buf_puts(b, "CASE WHEN ");
    lite_sb_key_changed(b, spec);
    rowsync_buf_puts(b, " THEN NULL ELSE ");
    for (i = spec->nkeys; i < spec->ncolumns; i++) {
        rowsync_buf_puts(b, any ? " | ((OLD." : "((OLD.");
        lite_sb_ident(b, spec->columns[i]);
        rowsync_buf_puts(b, " IS NOT NEW.");
        lite_sb_ident(b, spec->columns[i]);
        rowsync_buf_printf(b, ") << %zu)", i);
        any = 1;
    }
    rowsync_buf_puts(b, any ? " END" : "0 END");
}

/* The CREATE TRIGGER text for kind 0 (insert), 1 (update), 2 (delete).
 * It is compared with the stored text to tell whether the installed
 * triggers match the spec. Malloc'd, NULL on out-of-memory. */
static char *lite_trigger_sql(const rowsync_table_spec_t *spec, int kind)
{
    static const char *const suffix[] = {"_ins", "_upd", "_del"};
    static const char *const event[] = {"INSERT", "UPDATE OF ", "DELETE"};
    rowsync_buf_t b = {NULL, 0, 0, 0};

    rowsync_buf_puts(&b, "CREATE TRIGGER ");
    lite_sb_ident3(&b, "rowsync_", spec->table, suffix[kind]);
    rowsync_buf_puts(&b, " AFTER ");
    rowsync_buf_puts(&b, event[kind]);
    if (kind == 1)
        lite_sb_cols(&b, NULL, spec, 0, spec->ncolumns);
    rowsync_buf_puts(&b, " ON ");
    lite_sb_ident(&b, spec->table);
    rowsync_buf_puts(&b, " FOR EACH ROW BEGIN ");
    if (kind == 1) {
        /* A changed key: a DELETE of the old key first. */
        rowsync_buf_puts(&b, "INSERT INTO ");
        lite_sb_ident3(&b, "rowsync_h_", spec->table, "");
        rowsync_buf_puts(&b, " (op, time_us, origin, ");
        lite_sb_hkeys(&b, "", spec->nkeys);
        rowsync_buf_puts(&b,
                    ") SELECT 3, " LITE_TRIG_TIME ", " LITE_TRIG_ORIGIN ", ");
        lite_sb_cols(&b, "OLD", spec, 0, spec->nkeys);
        rowsync_buf_puts(&b, " WHERE ");
        lite_sb_key_changed(&b, spec);
        rowsync_buf_puts(&b, "; ");
    }
    rowsync_buf_puts(&b, "INSERT INTO ");
    lite_sb_ident3(&b, "rowsync_h_", spec->table, "");
    rowsync_buf_puts(&b, " (op, time_us, origin, ");
    lite_sb_hkeys(&b, "", spec->nkeys);
    rowsync_buf_puts(&b, kind == 1 ? ", cols) VALUES (" : ") VALUES (");
    if (kind == 0) {
        rowsync_buf_puts(&b, "1");
    } else if (kind == 1) {
        rowsync_buf_puts(&b, "CASE WHEN ");
        lite_sb_key_changed(&b, spec);
        rowsync_buf_puts(&b, " THEN 1 ELSE 2 END");
    } else {
        rowsync_buf_puts(&b, "3");
    }
    rowsync_buf_puts(&b, ", " LITE_TRIG_TIME ", " LITE_TRIG_ORIGIN ", ");
    lite_sb_cols(&b, kind == 2 ? "OLD" : "NEW", spec, 0, spec->nkeys);
    if (kind == 1) {
        rowsync_buf_puts(&b, ", ");
        lite_sb_cols_mask(&b, spec);
    }
    rowsync_buf_puts(&b, "); END");
    if (b.oom) {
        rowsync_buf_free(&b);
        return NULL;
    }
    return b.p;
}

/* The stored CREATE text of a trigger, malloc'd, or NULL in *sql when the
 * trigger does not exist. */
static int lite_trigger_stored(rowsync_conn_t *c, const char *name, char **sql,
                               rowsync_error_t *err)
{
    sqlite3_stmt *st;
    int rc;

    *sql = NULL;
    rc = lite_prepare(c,
                      "SELECT sql FROM sqlite_master WHERE type = 'trigger'"
                      " AND name = ?1 COLLATE NOCASE",
                      &st, err, "cannot read the schema");
    if (rc < 0)
        return rc;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        *sql = lite_strdup(t != NULL ? t : "");
        sqlite3_finalize(st);
        return *sql != NULL ? 0 : lite_oom(err);
    }
    if (rc != SQLITE_DONE)
        rc = lite_fail(c, err, rc, "cannot read the schema");
    else
        rc = 0;
    sqlite3_finalize(st);
    return rc;
}

/* Number of key columns (k1..kN) of an existing history table. */
static int lite_hist_nkeys(rowsync_conn_t *c, const char *hist, size_t *n,
                           rowsync_error_t *err)
{
    int rc;

    int64_t count;

    rc = lite_query_int(c,
                        "SELECT count(*) FROM pragma_table_info(?1)"
                        " WHERE name GLOB 'k[0-9]*'",
                        hist, NULL, &count, err, "cannot read the schema");
    if (rc < 0)
        return rc;
    *n = (size_t)count;
    return 0;
}

/* Checks that every spec column exists in the table (triggers would
 * otherwise break the application's writes, not rowsync's). */
static int lite_check_columns(rowsync_conn_t *c,
                              const rowsync_table_spec_t *spec,
                              rowsync_error_t *err)
{
    sqlite3_stmt *st;
    size_t i;
    int rc;

    rc = lite_prepare(c,
                      "SELECT count(*) FROM pragma_table_info(?1)"
                      " WHERE name = ?2 COLLATE NOCASE",
                      &st, err, "cannot read the schema");
    if (rc < 0)
        return rc;
    for (i = 0; i < spec->ncolumns; i++) {
        sqlite3_bind_text(st, 1, spec->table, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, spec->columns[i], -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW) {
            rc = lite_fail(c, err, rc, "cannot read the schema");
            sqlite3_finalize(st);
            return rc;
        }
        if (sqlite3_column_int(st, 0) == 0) {
            sqlite3_finalize(st);
            return rowsync_error_set(
                err, ROWSYNC_ENOTFOUND,
                "column '%s' of table '%s' not found on node '%s' (file %s)",
                spec->columns[i], spec->table, c->node, c->path);
        }
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    return 0;
}

/* Runs the SQL collected in b and empties b for the next statement. */
static int lite_exec_sb(rowsync_conn_t *c, rowsync_buf_t *b, rowsync_error_t *err,
                        const char *what)
{
    int rc;

    if (b->oom)
        return lite_oom(err);
    rc = lite_exec(c, b->p, err, what);
    b->len = 0;
    return rc;
}

/* Adds the column mask `cols` to a history table from before it had one;
 * its rows keep NULL (unknown) and the triggers must be rebuilt. */
static int lite_hist_add_cols(rowsync_conn_t *c, const char *hist,
                              int *uptodate, rowsync_error_t *err)
{
    rowsync_buf_t b = {NULL, 0, 0, 0};
    int64_t has;
    int rc;

    rc = lite_query_int(c,
                        "SELECT count(*) FROM pragma_table_info(?1)"
                        " WHERE name = 'cols'",
                        hist, NULL, &has, err, "cannot read the schema");
    if (rc < 0 || has > 0)
        return rc;
    rowsync_buf_puts(&b, "ALTER TABLE ");
    lite_sb_ident(&b, hist);
    rowsync_buf_puts(&b, " ADD COLUMN cols INTEGER");
    rc = lite_exec_sb(c, &b, err, "cannot install change capture");
    rowsync_buf_free(&b);
    *uptodate = 0;
    return rc;
}

/* Installs (or brings up to date) the history table, its index, the three
 * triggers and the state tables, in one transaction. Triggers built for
 * another column or key list are replaced; history rows are kept unless
 * the number of key columns changed. */
static int lite_capture_install(rowsync_conn_t *c,
                                const rowsync_table_spec_t *spec,
                                rowsync_error_t *err)
{
    static const char *const suffix[] = {"_ins", "_upd", "_del"};
    static const char *const what = "cannot install change capture";
    char *want[3] = {NULL, NULL, NULL}, *have = NULL, *hist = NULL;
    rowsync_buf_t b = {NULL, 0, 0, 0};
    int rc, exists, uptodate = 1, k;
    size_t hk = 0;

    rc = lite_check_spec(c, spec, err);
    if (rc < 0)
        return rc;
    rc = lite_object_exists(c, "table", spec->table, &exists, err);
    if (rc < 0)
        return rc;
    if (!exists)
        return rowsync_error_set(err, ROWSYNC_ENOTFOUND,
                                 "table '%s' not found on node '%s' (file "
                                 "%s); check the table name",
                                 spec->table, c->node, c->path);
    rc = lite_check_columns(c, spec, err);
    if (rc < 0)
        return rc;
    hist = lite_name3("rowsync_h_", spec->table, "");
    if (hist == NULL)
        return lite_oom(err);
    for (k = 0; k < 3; k++) {
        want[k] = lite_trigger_sql(spec, k);
        if (want[k] == NULL) {
            rc = lite_oom(err);
            goto out;
        }
    }
    rc = lite_ddl_begin(c, err);
    if (rc < 0)
        goto out;
    rc = lite_state_tables(c, err);
    if (rc == 0)
        rc = lite_object_exists(c, "table", hist, &exists, err);
    if (rc == 0 && exists) {
        rc = lite_hist_nkeys(c, hist, &hk, err);
        if (rc == 0 && hk != spec->nkeys) {
            /* Rows keyed by another key list cannot be joined any more. */
            rowsync_buf_puts(&b, "DROP TABLE ");
            lite_sb_ident(&b, hist);
            rc = lite_exec_sb(c, &b, err, what);
            exists = 0;
        }
    }
    if (rc == 0 && !exists) {
        rowsync_buf_puts(&b, "CREATE TABLE ");
        lite_sb_ident(&b, hist);
        rowsync_buf_puts(&b, " (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
                        " op INTEGER NOT NULL, time_us INTEGER NOT NULL,"
                        " origin TEXT, ");
        lite_sb_hkeys(&b, "", spec->nkeys);
        rowsync_buf_puts(&b, ", cols INTEGER)");
        rc = lite_exec_sb(c, &b, err, what);
        uptodate = 0;
    } else if (rc == 0) {
        rc = lite_hist_add_cols(c, hist, &uptodate, err);
    }
    if (rc == 0) {
        rowsync_buf_puts(&b, "CREATE INDEX IF NOT EXISTS ");
        lite_sb_ident3(&b, "rowsync_hk_", spec->table, "");
        rowsync_buf_puts(&b, " ON ");
        lite_sb_ident(&b, hist);
        rowsync_buf_puts(&b, " (");
        lite_sb_hkeys(&b, "", spec->nkeys);
        rowsync_buf_puts(&b, ", seq)");
        rc = lite_exec_sb(c, &b, err, what);
    }
    for (k = 0; k < 3 && rc == 0 && uptodate; k++) {
        char *tn = lite_name3("rowsync_", spec->table, suffix[k]);
        if (tn == NULL) {
            rc = lite_oom(err);
            break;
        }
        rc = lite_trigger_stored(c, tn, &have, err);
        free(tn);
        if (rc == 0 && (have == NULL || strcmp(have, want[k]) != 0))
            uptodate = 0;
        free(have);
        have = NULL;
    }
    if (rc == 0 && !uptodate && exists) {
        /* Pending masks name the columns of the triggers being replaced:
         * unknown from now on. */
        rowsync_buf_puts(&b, "UPDATE ");
        lite_sb_ident(&b, hist);
        rowsync_buf_puts(&b, " SET cols = NULL WHERE cols IS NOT NULL");
        rc = lite_exec_sb(c, &b, err, what);
    }
    for (k = 0; k < 3 && rc == 0 && !uptodate; k++) {
        rowsync_buf_puts(&b, "DROP TRIGGER IF EXISTS ");
        lite_sb_ident3(&b, "rowsync_", spec->table, suffix[k]);
        rc = lite_exec_sb(c, &b, err, what);
        if (rc == 0)
            rc = lite_exec(c, want[k], err, what);
    }
    if (rc < 0) {
        rowsync_error_prefix(err, "table '%s'", spec->table);
        lite_ddl_end(c, 0, NULL);
    } else {
        rc = lite_ddl_end(c, 1, err);
    }
    lite_drop_cache(c);
out:
    for (k = 0; k < 3; k++)
        free(want[k]);
    free(hist);
    rowsync_buf_free(&b);
    return rc;
}

/* 1 in *installed when the three triggers and the history table exist. */
static int lite_capture_status(rowsync_conn_t *c,
                               const rowsync_table_spec_t *spec, int *installed,
                               rowsync_error_t *err)
{
    static const char *const names[] = {"rowsync_h_", "rowsync_", "rowsync_",
                                        "rowsync_"};
    static const char *const suffix[] = {"", "_ins", "_upd", "_del"};
    int rc, k, exists, all = 1;

    rc = lite_check_table(c, spec != NULL ? spec->table : NULL, err);
    if (rc < 0)
        return rc;
    for (k = 0; k < 4 && all; k++) {
        char *n = lite_name3(names[k], spec->table, suffix[k]);
        if (n == NULL)
            return lite_oom(err);
        rc = lite_object_exists(c, k == 0 ? "table" : "trigger", n, &exists,
                                err);
        free(n);
        if (rc < 0)
            return rc;
        all = exists;
    }
    *installed = all;
    return 0;
}

static int lite_capture_remove(rowsync_conn_t *c,
                               const rowsync_table_spec_t *spec,
                               rowsync_error_t *err)
{
    static const char *const suffix[] = {"_ins", "_upd", "_del"};
    rowsync_buf_t b = {NULL, 0, 0, 0};
    int rc, k;

    rc = lite_check_table(c, spec != NULL ? spec->table : NULL, err);
    if (rc < 0)
        return rc;
    for (k = 0; k < 3; k++) {
        rowsync_buf_puts(&b, "DROP TRIGGER IF EXISTS ");
        lite_sb_ident3(&b, "rowsync_", spec->table, suffix[k]);
        rowsync_buf_puts(&b, "; ");
    }
    rowsync_buf_puts(&b, "DROP TABLE IF EXISTS ");
    lite_sb_ident3(&b, "rowsync_h_", spec->table, "");
    if (b.oom) {
        rowsync_buf_free(&b);
        return lite_oom(err);
    }
    rc = lite_ddl_begin(c, err);
    if (rc == 0) {
        rc = lite_exec(c, b.p, err, "cannot remove change capture");
        if (rc < 0) {
            rowsync_error_prefix(err, "table '%s'", spec->table);
            lite_ddl_end(c, 0, NULL);
        } else {
            rc = lite_ddl_end(c, 1, err);
        }
    }
    lite_drop_cache(c);
    rowsync_buf_free(&b);
    return rc;
}

/* Fails with ENOTFOUND when the table's history table is missing. */
static int lite_need_history(rowsync_conn_t *c, const char *table,
                             rowsync_error_t *err)
{
    char *hist;
    int rc, exists = 0;

    rc = lite_check_table(c, table, err);
    if (rc < 0)
        return rc;
    hist = lite_name3("rowsync_h_", table, "");
    if (hist == NULL)
        return lite_oom(err);
    rc = lite_object_exists(c, "table", hist, &exists, err);
    free(hist);
    if (rc < 0)
        return rc;
    if (!exists)
        return rowsync_error_set(
            err, ROWSYNC_ENOTFOUND,
            "change capture is not installed for table '%s' on node '%s' "
            "(file %s); run `rowsync init`",
            table, c->node, c->path);
    return 0;
}

/* Deletes the table's history rows; triggers and sequence stay. */
static int lite_history_clear(rowsync_conn_t *c,
                              const rowsync_table_spec_t *spec,
                              rowsync_error_t *err)
{
    rowsync_buf_t b = {NULL, 0, 0, 0};
    int rc;

    rc = lite_need_history(c, spec != NULL ? spec->table : NULL, err);
    if (rc < 0)
        return rc;
    rowsync_buf_puts(&b, "DELETE FROM ");
    lite_sb_ident3(&b, "rowsync_h_", spec->table, "");
    if (b.oom) {
        rowsync_buf_free(&b);
        return lite_oom(err);
    }
    rc = lite_exec(c, b.p, err, "cannot clear the history");
    if (rc < 0)
        rowsync_error_prefix(err, "table '%s'", spec->table);
    rowsync_buf_free(&b);
    return rc;
}

/* Counts the table's history rows. */
static int lite_history_count(rowsync_conn_t *c,
                              const rowsync_table_spec_t *spec, int64_t *rows,
                              rowsync_error_t *err)
{
    rowsync_buf_t b = {NULL, 0, 0, 0};
    int rc;

    rc = lite_need_history(c, spec != NULL ? spec->table : NULL, err);
    if (rc < 0)
        return rc;
    rowsync_buf_puts(&b, "SELECT count(*) FROM ");
    lite_sb_ident3(&b, "rowsync_h_", spec->table, "");
    if (b.oom) {
        rowsync_buf_free(&b);
        return lite_oom(err);
    }
    rc = lite_query_int(c, b.p, NULL, NULL, rows, err,
                        "cannot count the history");
    rowsync_buf_free(&b);
    return rc;
}

/* Deletes the history rows that every cursor covers and that were stamped
 * before before_us. A SQLite cursor is a seq and covers every row at or
 * below it, so the rows to go are those with seq <= the smallest cursor.
 * An empty cursor covers nothing, and so does an empty list: nothing is
 * removed then. One DELETE in one write transaction (SQLite has one
 * writer at a time; the seq range is the primary key). AUTOINCREMENT
 * keeps seq from ever going back below the cursors handed out. */
static int lite_history_purge(rowsync_conn_t *c,
                              const rowsync_table_spec_t *spec,
                              const char *const *cursors, size_t ncursors,
                              int64_t before_us, int64_t *purged,
                              rowsync_error_t *err)
{
    rowsync_buf_t b = {NULL, 0, 0, 0};
    sqlite3_stmt *st = NULL;
    int64_t upto = INT64_MAX, v = 0;
    int rc, empty = ncursors == 0;
    size_t i;

    rc = lite_need_history(c, spec != NULL ? spec->table : NULL, err);
    if (rc < 0)
        return rc;
    for (i = 0; i < ncursors; i++) {
        const char *cur = cursors != NULL ? cursors[i] : NULL;
        if (cur == NULL || cur[0] == '\0') {
            empty = 1;
            continue;
        }
        rc = lite_parse_cursor(c, cur, &v, err);
        if (rc < 0) {
            rowsync_error_prefix(err, "table '%s'", spec->table);
            return rc;
        }
        if (v < upto)
            upto = v;
    }
    if (purged != NULL)
        *purged = 0;
    if (empty)
        return 0;
    rowsync_buf_puts(&b, "DELETE FROM ");
    lite_sb_ident3(&b, "rowsync_h_", spec->table, "");
    rowsync_buf_puts(&b, " WHERE seq <= ?1 AND time_us < ?2");
    if (b.oom) {
        rowsync_buf_free(&b);
        return lite_oom(err);
    }
    rc = lite_ddl_begin(c, err);
    if (rc == 0)
        rc = lite_prepare(c, b.p, &st, err, "cannot purge the history");
    if (rc == 0) {
        sqlite3_bind_int64(st, 1, upto);
        sqlite3_bind_int64(st, 2, before_us);
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE) {
            v = sqlite3_changes(c->db);
            rc = 0;
        } else {
            rc = lite_fail(c, err, rc, "cannot purge the history");
        }
        sqlite3_finalize(st);
    }
    if (rc < 0) {
        rowsync_error_prefix(err, "table '%s'", spec->table);
        lite_ddl_end(c, 0, NULL);
    } else {
        rc = lite_ddl_end(c, 1, err);
        if (rc == 0 && purged != NULL)
            *purged = v;
    }
    rowsync_buf_free(&b);
    return rc;
}

/* Drops the state tables. rowsync_session stays while any trigger still
 * reads it, so that application writes keep working. */
static int lite_state_remove(rowsync_conn_t *c, rowsync_error_t *err)
{
    int64_t users = 0;
    int rc;

    rc = lite_query_int(c,
                        "SELECT count(*) FROM sqlite_master WHERE type ="
                        " 'trigger' AND sql LIKE '%rowsync_session%'",
                        NULL, NULL, &users, err, "cannot read the schema");
    if (rc < 0)
        return rc;
    lite_drop_cache(c);
    rc = lite_ddl_begin(c, err);
    if (rc < 0)
        return rc;
    rc = lite_exec(c,
                   users > 0 ? "DROP TABLE IF EXISTS rowsync_state;"
                               " DROP TABLE IF EXISTS rowsync_conflicts"
                             : "DROP TABLE IF EXISTS rowsync_state;"
                               " DROP TABLE IF EXISTS rowsync_conflicts;"
                               " DROP TABLE IF EXISTS rowsync_session",
                   err, "cannot remove the rowsync state tables");
    if (rc < 0) {
        lite_ddl_end(c, 0, NULL);
        return rc;
    }
    return lite_ddl_end(c, 1, err);
}

/* ---- locks ---------------------------------------------------------- */

/* FNV-1a of the name, reduced to a byte offset below 2^30. */
static off_t lite_lock_offset(const char *name)
{
    uint32_t h = 2166136261u;
    const unsigned char *p;

    for (p = (const unsigned char *)name; *p; p++) {
        h ^= *p;
        h *= 16777619u;
    }
    return (off_t)(h & ((1u << 30) - 1));
}

/* One non-blocking attempt at byte off: 0 taken, 1 busy, -errno. */
static int lite_lock_try(int fd, off_t off, int type)
{
    struct flock fl;

    memset(&fl, 0, sizeof fl);
    fl.l_type = (short)type;
    fl.l_whence = SEEK_SET;
    fl.l_start = off;
    fl.l_len = 1;
#ifdef F_OFD_SETLK
    if (fcntl(fd, F_OFD_SETLK, &fl) == 0)
        return 0;
#else
    if (fcntl(fd, F_SETLK, &fl) == 0)
        return 0;
#endif
    if (errno == EAGAIN || errno == EACCES)
        return 1;
    return -errno;
}

static int64_t lite_mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Takes the named lock: a write lock on one byte of the side file,
 * polled until timeout_ms. Held until unlock or disconnect; the OS drops
 * it when the process dies. */
static int lite_lock(rowsync_conn_t *c, const char *name, int timeout_ms,
                     rowsync_error_t *err)
{
    struct lite_held *h;
    int64_t deadline;
    off_t off;
    int rc;

    if (name == NULL || name[0] == '\0')
        return rowsync_error_set(err, ROWSYNC_EINVAL, "empty lock name");
    for (h = c->held; h != NULL; h = h->next)
        if (strcmp(h->name, name) == 0)
            return 0;
    if (c->lock_fd < 0) {
        if (c->lock_path == NULL) {
            c->lock_path = lite_name3(c->path, "", ".rowsync-lock");
            if (c->lock_path == NULL)
                return lite_oom(err);
        }
        c->lock_fd = open(c->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (c->lock_fd < 0) {
            int e = errno;
            return rowsync_error_set(
                err, ROWSYNC_EIO,
                "node '%s': cannot open the lock file %s: %s (rowsync needs "
                "to create it next to the database)",
                c->node, c->lock_path, strerror(e));
        }
    }
    off = lite_lock_offset(name);
    h = calloc(1, sizeof *h);
    if (h == NULL || (h->name = lite_strdup(name)) == NULL) {
        free(h);
        return lite_oom(err);
    }
    h->off = off;
    deadline = lite_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    for (;;) {
        rc = lite_lock_try(c->lock_fd, off, F_WRLCK);
        if (rc == 0)
            break;
        if (rc < 0) {
            free(h->name);
            free(h);
            return rowsync_error_set(err, ROWSYNC_EIO,
                                     "node '%s': cannot lock %s: %s", c->node,
                                     c->lock_path, strerror(-rc));
        }
        if (lite_mono_ms() >= deadline) {
            free(h->name);
            free(h);
            return rowsync_error_set(
                err, ROWSYNC_ELOCKED,
                "pair lock '%s' on node '%s' is held by another rowsync "
                "process (lock file %s); waited %d ms, try again later",
                name, c->node, c->lock_path, timeout_ms > 0 ? timeout_ms : 0);
        }
        {
            struct timespec ts = {0, LITE_LOCK_POLL_MS * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    h->next = c->held;
    c->held = h;
    return 0;
}

/* Releases the named lock; the byte is kept while another held name of
 * this connection maps to it. Unlocking a name not held is a no-op. */
static int lite_unlock(rowsync_conn_t *c, const char *name,
                       rowsync_error_t *err)
{
    struct lite_held **pp, *h, *o;
    int shared = 0, rc;

    if (name == NULL)
        return rowsync_error_set(err, ROWSYNC_EINVAL, "empty lock name");
    for (pp = &c->held; (h = *pp) != NULL; pp = &h->next)
        if (strcmp(h->name, name) == 0)
            break;
    if (h == NULL)
        return 0;
    *pp = h->next;
    for (o = c->held; o != NULL; o = o->next)
        if (o->off == h->off)
            shared = 1;
    rc = shared ? 0 : lite_lock_try(c->lock_fd, h->off, F_UNLCK);
    free(h->name);
    free(h);
    if (rc < 0)
        return rowsync_error_set(err, ROWSYNC_EIO,
                                 "node '%s': cannot unlock %s: %s", c->node,
                                 c->lock_path, strerror(-rc));
    return 0;
}

/* ---- state ---------------------------------------------------------- */

/* Copies a state value into buf; an unset key (or no state table yet)
 * gives "" and 0. */
static int lite_state_get(rowsync_conn_t *c, const char *key, char *buf,
                          size_t len, int64_t *updated_us, rowsync_error_t *err)
{
    sqlite3_stmt *st;
    int rc, exists;
    size_t n;

    if (updated_us != NULL)
        *updated_us = 0;
    if (len > 0)
        buf[0] = '\0';
    rc = lite_object_exists(c, "table", "rowsync_state", &exists, err);
    if (rc < 0 || !exists)
        return rc;
    rc = lite_prepare(c,
                      "SELECT value, updated_us FROM rowsync_state WHERE"
                      " name = ?1",
                      &st, err, "cannot read rowsync_state");
    if (rc < 0)
        return rc;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const char *v = (const char *)sqlite3_column_text(st, 0);
        n = (size_t)sqlite3_column_bytes(st, 0);
        if (n + 1 > len) {
            sqlite3_finalize(st);
            return rowsync_error_set(
                err, ROWSYNC_EINVAL,
                "state '%s' on node '%s' is longer (%zu bytes) than the "
                "buffer",
                key, c->node, n);
        }
        memcpy(buf, v != NULL ? v : "", n);
        buf[n] = '\0';
        if (updated_us != NULL)
            *updated_us = sqlite3_column_int64(st, 1);
        rc = 0;
    } else if (rc == SQLITE_DONE) {
        rc = 0;
    } else {
        rc = lite_fail(c, err, rc, "cannot read state '%s'", key);
    }
    sqlite3_finalize(st);
    return rc;
}

/* Upserts a state value stamped with the server clock, inside the open
 * transaction (or on its own when there is none). */
static int lite_state_set(rowsync_conn_t *c, const char *key, const char *value,
                          rowsync_error_t *err)
{
    sqlite3_stmt *st;
    int rc;

    if (key == NULL || value == NULL)
        return rowsync_error_set(err, ROWSYNC_EINVAL,
                                 "state needs a key "
                                 "and a value");
    if (!c->in_tx) {
        rc = lite_state_tables(c, err);
        if (rc < 0)
            return rc;
    }
    rc = lite_prepare(c,
                      "INSERT INTO rowsync_state (name, value, updated_us)"
                      " VALUES (?1, ?2, " LITE_NOW ") ON CONFLICT (name) DO"
                      " UPDATE SET value = excluded.value,"
                      " updated_us = excluded.updated_us",
                      &st, err, "cannot write rowsync_state");
    if (rc < 0)
        return rc;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        rc = lite_fail(c, err, rc, "cannot store state '%s'", key);
    else
        rc = 0;
    sqlite3_finalize(st);
    return rc;
}

static int lite_bind_text_or_null(sqlite3_stmt *st, int idx, const char *s)
{
    if (s == NULL)
        return sqlite3_bind_null(st, idx);
    return sqlite3_bind_text(st, idx, s, -1, SQLITE_STATIC);
}

/* Appends a conflict decision to the journal, inside the open
 * transaction (or on its own when there is none). */
static int lite_conflict_log(rowsync_conn_t *c, const rowsync_conflict_t *k,
                             rowsync_error_t *err)
{
    sqlite3_stmt *st;
    int rc;

    if (!c->in_tx) {
        rc = lite_state_tables(c, err);
        if (rc < 0)
            return rc;
    }
    rc = lite_prepare(c,
                      "INSERT INTO rowsync_conflicts (decided_us, tbl,"
                      " key_text, rule, winner, loser, winner_time_us,"
                      " loser_time_us, note) VALUES (?1, ?2, ?3, ?4, ?5, ?6,"
                      " ?7, ?8, ?9)",
                      &st, err, "cannot write rowsync_conflicts");
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(st, 1, k->decided_us);
    lite_bind_text_or_null(st, 2, k->table);
    lite_bind_text_or_null(st, 3, k->key);
    lite_bind_text_or_null(st, 4, k->rule);
    lite_bind_text_or_null(st, 5, k->winner);
    lite_bind_text_or_null(st, 6, k->loser);
    sqlite3_bind_int64(st, 7, k->winner_time_us);
    sqlite3_bind_int64(st, 8, k->loser_time_us);
    lite_bind_text_or_null(st, 9, k->note);
    rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        rc = lite_fail(c, err, rc, "cannot journal a conflict on table '%s'",
                       k->table != NULL ? k->table : "?");
    else
        rc = 0;
    sqlite3_finalize(st);
    return rc;
}

/* Calls cb per journaled conflict, newest first; the strings handed to cb
 * are valid during the call only. */
static int lite_conflicts_read(rowsync_conn_t *c, size_t limit,
                               rowsync_conflict_cb cb, void *ctx,
                               rowsync_error_t *err)
{
    sqlite3_stmt *st;
    int rc, exists;

    rc = lite_object_exists(c, "table", "rowsync_conflicts", &exists, err);
    if (rc < 0 || !exists)
        return rc;
    rc = lite_prepare(c,
                      "SELECT decided_us, tbl, key_text, rule, winner, loser,"
                      " winner_time_us, loser_time_us, note FROM"
                      " rowsync_conflicts ORDER BY id DESC LIMIT ?1",
                      &st, err, "cannot read rowsync_conflicts");
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(st, 1,
                       limit == 0 || limit > INT64_MAX ? -1 : (int64_t)limit);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        rowsync_conflict_t k;
        k.decided_us = sqlite3_column_int64(st, 0);
        k.table = (const char *)sqlite3_column_text(st, 1);
        k.key = (const char *)sqlite3_column_text(st, 2);
        k.rule = (const char *)sqlite3_column_text(st, 3);
        k.winner = (const char *)sqlite3_column_text(st, 4);
        k.loser = (const char *)sqlite3_column_text(st, 5);
        k.winner_time_us = sqlite3_column_int64(st, 6);
        k.loser_time_us = sqlite3_column_int64(st, 7);
        k.note = (const char *)sqlite3_column_text(st, 8);
        if (cb(ctx, &k) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    if (rc != SQLITE_DONE)
        rc = lite_fail(c, err, rc, "cannot read rowsync_conflicts");
    else
        rc = 0;
    sqlite3_finalize(st);
    return rc;
}

/* ---- streams -------------------------------------------------------- */

static void lite_stream_free(struct rowsync_stream *s)
{
    free(s->types);
    free(s->values);
    free(s->scratch);
    free(s);
}

/* Allocates a stream for spec and links it to the connection. */
static struct rowsync_stream *lite_stream_new(rowsync_conn_t *c,
                                              const rowsync_table_spec_t *spec)
{
    struct rowsync_stream *s = calloc(1, sizeof *s);
    size_t i;

    if (s == NULL)
        return NULL;
    s->ncols = spec->ncolumns;
    s->nkeys = spec->nkeys;
    s->types = calloc(s->ncols, sizeof *s->types);
    s->values = calloc(s->ncols, sizeof *s->values);
    s->scratch = malloc(s->ncols * LITE_SCRATCH);
    if (s->types == NULL || s->values == NULL || s->scratch == NULL) {
        lite_stream_free(s);
        return NULL;
    }
    for (i = 0; i < s->ncols; i++)
        s->types[i] = spec->types != NULL ? spec->types[i] : ROWSYNC_TYPE_TEXT;
    s->conn = c;
    s->next = c->streams;
    c->streams = s;
    s->change.nvalues = s->ncols;
    s->change.values = s->values;
    s->changed = UINT64_MAX;
    return s;
}

/* The key join "t."a" = h.k1 AND ..." or for the history self-join. */
static void lite_sb_key_join(rowsync_buf_t *b, const rowsync_table_spec_t *spec,
                             const char *left, int left_live, const char *right)
{
    size_t i;

    for (i = 0; i < spec->nkeys; i++) {
        if (i > 0)
            rowsync_buf_puts(b, " AND ");
        rowsync_buf_puts(b, left);
        rowsync_buf_puts(b, ".");
        if (left_live)
            lite_sb_ident(b, spec->columns[i]);
        else
            rowsync_buf_printf(b, "k%zu", i + 1);
        rowsync_buf_printf(b, " = %s.k%zu", right, i + 1);
    }
}

/* Opens the net-change stream: for each key with history in (since,
 * horizon], the newest history row, joined to the live row, in seq order.
 * Keys whose newest change came from skip_origin are filtered after the
 * newest row is picked. One statement, stepped row by row. The last
 * column folds the column masks of the key's rows in the window (?4 is
 * the stream's since, which stays put when a chunk restarts at ?1). */
static int lite_extract_open(rowsync_conn_t *c,
                             const rowsync_table_spec_t *spec,
                             const char *since, const char *upto,
                             const char *skip_origin, rowsync_stream_t **out,
                             rowsync_error_t *err)
{
    struct rowsync_stream *s;
    rowsync_buf_t b = {NULL, 0, 0, 0};
    int64_t from = 0, horizon = 0;
    sqlite3_stmt *st;
    int rc;

    rc = lite_check_spec(c, spec, err);
    if (rc < 0)
        return rc;
    rc = lite_parse_cursor(c, since != NULL ? since : "", &from, err);
    if (rc < 0)
        return rc;
    rc = lite_need_history(c, spec->table, err);
    if (rc < 0)
        return rc;
    if (upto != NULL) {
        rc = lite_parse_cursor(c, upto, &horizon, err);
        if (rc < 0)
            return rc;
    } else {
        rowsync_buf_puts(&b, "SELECT COALESCE(MAX(seq), 0) FROM ");
        lite_sb_ident3(&b, "rowsync_h_", spec->table, "");
        if (b.oom) {
            rowsync_buf_free(&b);
            return lite_oom(err);
        }
        rc = lite_prepare(c, b.p, &st, err, "cannot read the history");
        rowsync_buf_free(&b);
        if (rc < 0)
            return rc;
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW) {
            rc = lite_fail(c, err, rc, "cannot read the history of table '%s'",
                           spec->table);
            sqlite3_finalize(st);
            return rc;
        }
        horizon = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }

    rowsync_buf_puts(&b, "SELECT h.seq, h.op, h.time_us, h.origin, ");
    lite_sb_hkeys(&b, "h.", spec->nkeys);
    rowsync_buf_puts(&b, ", ");
    lite_sb_cols(&b, "t", spec, 0, spec->ncolumns);
    rowsync_buf_puts(&b, ", t.");
    lite_sb_ident(&b, spec->columns[0]);
    rowsync_buf_puts(&b, " IS NOT NULL, (SELECT rowsync_cols_or(m.cols) FROM ");
    lite_sb_ident3(&b, "rowsync_h_", spec->table, "");
    rowsync_buf_puts(&b, " AS m WHERE ");
    lite_sb_key_join(&b, spec, "m", 0, "h");
    rowsync_buf_puts(&b, " AND m.seq > ?4 AND m.seq <= h.seq) FROM ");
    lite_sb_ident3(&b, "rowsync_h_", spec->table, "");
    rowsync_buf_puts(&b, " AS h LEFT JOIN ");
    lite_sb_ident(&b, spec->table);
    rowsync_buf_puts(&b, " AS t ON ");
    lite_sb_key_join(&b, spec, "t", 1, "h");
    rowsync_buf_puts(&b, " WHERE h.seq > ?1 AND h.seq <= ?2 AND NOT EXISTS"
                    " (SELECT 1 FROM ");
    lite_sb_ident3(&b, "rowsync_h_", spec->table, "");
    rowsync_buf_puts(&b, " AS n WHERE ");
    lite_sb_key_join(&b, spec, "n", 0, "h");
    rowsync_buf_puts(&b, " AND n.seq > h.seq AND n.seq <= ?2)"
                    " AND (?3 IS NULL OR h.origin IS NOT ?3)"
                    " ORDER BY h.seq");
    if (b.oom) {
        rowsync_buf_free(&b);
        return lite_oom(err);
    }
    rc = sqlite3_prepare_v2(c->db, b.p, -1, &st, NULL);
    rowsync_buf_free(&b);
    if (rc != SQLITE_OK)
        return lite_fail(c, err, rc, "cannot read the changes of table '%s'",
                         spec->table);
    sqlite3_bind_int64(st, 1, from);
    sqlite3_bind_int64(st, 2, horizon);
    sqlite3_bind_int64(st, 4, from);
    if (skip_origin != NULL)
        sqlite3_bind_text(st, 3, skip_origin, -1, SQLITE_TRANSIENT);
    s = lite_stream_new(c, spec);
    if (s == NULL) {
        sqlite3_finalize(st);
        return lite_oom(err);
    }
    s->stmt = st;
    s->extract = 1;
    s->since = from;
    s->last = from;
    s->horizon = horizon;
    *out = s;
    return 0;
}

/* Opens a key-order scan of the live table after after_key. */
static int lite_scan_open(rowsync_conn_t *c, const rowsync_table_spec_t *spec,
                          const rowsync_value_t *after_key,
                          rowsync_stream_t **out, rowsync_error_t *err)
{
    struct rowsync_stream *s;
    rowsync_buf_t b = {NULL, 0, 0, 0};
    sqlite3_stmt *st;
    int64_t now;
    size_t i;
    int rc;

    rc = lite_check_spec(c, spec, err);
    if (rc < 0)
        return rc;
    rc = lite_clock(c, &now, err);
    if (rc < 0)
        return rc;
    rowsync_buf_puts(&b, "SELECT ");
    lite_sb_cols(&b, NULL, spec, 0, spec->ncolumns);
    rowsync_buf_puts(&b, " FROM ");
    lite_sb_ident(&b, spec->table);
    if (after_key != NULL) {
        rowsync_buf_puts(&b, spec->nkeys > 1 ? " WHERE (" : " WHERE ");
        lite_sb_cols(&b, NULL, spec, 0, spec->nkeys);
        rowsync_buf_puts(&b, spec->nkeys > 1 ? ") > (" : " > ");
        for (i = 0; i < spec->nkeys; i++)
            rowsync_buf_printf(&b, "%s?%zu", i ? ", " : "", i + 1);
        if (spec->nkeys > 1)
            rowsync_buf_puts(&b, ")");
    }
    rowsync_buf_puts(&b, " ORDER BY ");
    lite_sb_cols(&b, NULL, spec, 0, spec->nkeys);
    if (b.oom) {
        rowsync_buf_free(&b);
        return lite_oom(err);
    }
    rc = sqlite3_prepare_v2(c->db, b.p, -1, &st, NULL);
    rowsync_buf_free(&b);
    if (rc != SQLITE_OK)
        return lite_fail(c, err, rc, "cannot scan table '%s'", spec->table);
    for (i = 0; after_key != NULL && i < spec->nkeys; i++) {
        rc = lite_bind(st, (int)i + 1, &after_key[i], 1);
        if (rc != SQLITE_OK) {
            rc = lite_fail(c, err, rc, "cannot scan table '%s'", spec->table);
            sqlite3_finalize(st);
            return rc;
        }
    }
    s = lite_stream_new(c, spec);
    if (s == NULL) {
        sqlite3_finalize(st);
        return lite_oom(err);
    }
    s->stmt = st;
    s->scan_time = now;
    *out = s;
    return 0;
}

/* Steps the stream and builds the next change in the stream's buffers. */
static int lite_stream_next(rowsync_stream_t *s, const rowsync_change_t **out,
                            rowsync_error_t *err)
{
    rowsync_conn_t *c = s->conn;
    size_t i;
    int rc;

    if (s->done)
        return ROWSYNC_DONE;
    if (c == NULL || s->stmt == NULL)
        return rowsync_error_set(err, ROWSYNC_ECONN,
                                 "stream used after its connection closed");
    if (s->extract && s->in_chunk >= LITE_CHUNK_ROWS) {
        /* Restart after the last change returned: ends the read
         * transaction, so writers on the source are not held off for a
         * whole pass (rollback-journal databases block commits while any
         * reader is active). Same window, same net-change result. */
        sqlite3_reset(s->stmt);
        sqlite3_bind_int64(s->stmt, 1, s->last);
        s->in_chunk = 0;
    }
    rc = sqlite3_step(s->stmt);
    if (rc == SQLITE_DONE) {
        s->done = 1;
        sqlite3_reset(s->stmt);
        return ROWSYNC_DONE;
    }
    if (rc != SQLITE_ROW)
        return lite_fail(c, err, rc, "cannot read the next change");
    if (!s->extract) {
        s->changed = UINT64_MAX;
        s->change.op = ROWSYNC_OP_INSERT;
        s->change.time_us = s->scan_time;
        s->change.origin = NULL;
        for (i = 0; i < s->ncols; i++)
            lite_column_value(s->stmt, (int)i, s->types[i],
                              s->scratch + i * LITE_SCRATCH, &s->values[i]);
    } else {
        int base = 4 + (int)s->nkeys;
        int present = sqlite3_column_int(s->stmt, base + (int)s->ncols);
        int op = sqlite3_column_int(s->stmt, 1);
        int mcol = base + (int)s->ncols + 1;
        s->changed = UINT64_MAX;
        if (present && op == ROWSYNC_OP_UPDATE &&
            sqlite3_column_type(s->stmt, mcol) != SQLITE_NULL)
            s->changed = (uint64_t)sqlite3_column_int64(s->stmt, mcol);
        s->last = sqlite3_column_int64(s->stmt, 0);
        s->in_chunk++;
        s->change.time_us = sqlite3_column_int64(s->stmt, 2);
        s->change.origin = (const char *)sqlite3_column_text(s->stmt, 3);
        if (present) {
            s->change.op =
                op == ROWSYNC_OP_INSERT ? ROWSYNC_OP_INSERT : ROWSYNC_OP_UPDATE;
            for (i = 0; i < s->ncols; i++)
                lite_column_value(s->stmt, base + (int)i, s->types[i],
                                  s->scratch + i * LITE_SCRATCH, &s->values[i]);
        } else {
            s->change.op = ROWSYNC_OP_DELETE;
            for (i = 0; i < s->ncols; i++) {
                if (i < s->nkeys)
                    lite_column_value(s->stmt, 4 + (int)i, s->types[i],
                                      s->scratch + i * LITE_SCRATCH,
                                      &s->values[i]);
                else
                    s->values[i].type = ROWSYNC_TYPE_NULL;
            }
        }
    }
    *out = &s->change;
    return 0;
}

/* The seq of the last change returned, or the horizon once the stream
 * is done (never below since); "" for a scan. */
static int lite_stream_cursor(rowsync_stream_t *s, char *buf, size_t len,
                              rowsync_error_t *err)
{
    int64_t pos;
    int n;

    if (!s->extract) {
        if (len > 0)
            buf[0] = '\0';
        return 0;
    }
    pos = s->done ? (s->horizon > s->since ? s->horizon : s->since) : s->last;
    n = snprintf(buf, len, "%lld", (long long)pos);
    if (n < 0 || (size_t)n >= len)
        return rowsync_error_set(err, ROWSYNC_EINVAL,
                                 "cursor buffer too small");
    return 0;
}

/* The columns the change last returned changed (bit i = spec column i):
 * the OR of its updates' masks, every bit when an insert, a delete or a
 * history row without a mask is involved, or before the first change. */
static int lite_stream_columns(rowsync_stream_t *s, uint64_t *changed,
                               rowsync_error_t *err)
{
    (void)err;
    *changed = s->changed;
    return 0;
}

/* Unlinks the stream from its connection (if still open) and frees it. */
static void lite_stream_close(rowsync_stream_t *s)
{
    struct rowsync_stream **pp;

    if (s == NULL)
        return;
    if (s->conn != NULL) {
        for (pp = &s->conn->streams; *pp != NULL; pp = &(*pp)->next)
            if (*pp == s) {
                *pp = s->next;
                break;
            }
    }
    sqlite3_finalize(s->stmt);
    lite_stream_free(s);
}

/* ---- apply ---------------------------------------------------------- */

/* BEGIN IMMEDIATE (waits up to busy_timeout for other writers), then
 * makes sure the state and marker tables exist. */
static int lite_begin(rowsync_conn_t *c, rowsync_error_t *err)
{
    int rc;

    if (c->in_tx)
        return rowsync_error_set(err, ROWSYNC_EINVAL,
                                 "node '%s': a transaction is already open",
                                 c->node);
    rc = lite_exec(c, "BEGIN IMMEDIATE", err,
                   "cannot start the apply transaction");
    if (rc < 0)
        return rc;
    /* Foreign keys (when the database enforces them) are checked at
     * commit, so a batch may hold rows in any order; resets at commit. */
    sqlite3_exec(c->db, "PRAGMA defer_foreign_keys = ON", NULL, NULL, NULL);
    c->in_tx = 1;
    c->marker_set = 0;
    rc = lite_state_tables(c, err);
    if (rc < 0) {
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
        c->in_tx = 0;
    }
    return rc;
}

/* The signature of a spec: its columns, separated by \x1f, and the key
 * count. Malloc'd. */
static char *lite_spec_sig(const rowsync_table_spec_t *spec,
                           const unsigned char *insert_only)
{
    rowsync_buf_t b = {NULL, 0, 0, 0};
    size_t i;

    for (i = 0; i < spec->ncolumns; i++) {
        rowsync_buf_puts(&b, spec->columns[i]);
        rowsync_buf_puts(&b, insert_only && insert_only[i] ? "\x1e" : "\x1f");
    }
    rowsync_buf_printf(&b, "%zu", spec->nkeys);
    if (b.oom) {
        rowsync_buf_free(&b);
        return NULL;
    }
    return b.p;
}

/* "k1" = ?1 AND "k2" = ?2 */
static void lite_sb_key_where(rowsync_buf_t *b, const rowsync_table_spec_t *spec)
{
    size_t i;

    for (i = 0; i < spec->nkeys; i++) {
        if (i > 0)
            rowsync_buf_puts(b, " AND ");
        lite_sb_ident(b, spec->columns[i]);
        rowsync_buf_printf(b, " = ?%zu", i + 1);
    }
}

/* Finds or prepares the apply statements for spec. Parameters are
 * numbered by spec position (?1 = columns[0]) in every statement. The
 * UPDATE leaves out the key and the columns flagged in insert_only (may
 * be NULL); when it would set nothing, there is none and the INSERT
 * skips a key that exists. */
static int lite_apply_stmts(rowsync_conn_t *c, const rowsync_table_spec_t *spec,
                            const unsigned char *insert_only,
                            struct lite_apply **out, rowsync_error_t *err)
{
    struct lite_apply *a, **pp;
    rowsync_buf_t b = {NULL, 0, 0, 0};
    char *sig;
    size_t i, nset = 0;
    int rc;

    for (i = spec->nkeys; i < spec->ncolumns; i++)
        nset += !(insert_only && insert_only[i]);
    sig = lite_spec_sig(spec, insert_only);
    if (sig == NULL)
        return lite_oom(err);
    for (pp = &c->applies; (a = *pp) != NULL; pp = &a->next)
        if (strcmp(a->table, spec->table) == 0)
            break;
    if (a != NULL) {
        if (strcmp(a->sig, sig) == 0) {
            free(sig);
            *out = a;
            return 0;
        }
        /* The spec changed: drop the old statements. */
        *pp = a->next;
        lite_apply_free(a);
    }
    a = calloc(1, sizeof *a);
    if (a == NULL || (a->table = lite_strdup(spec->table)) == NULL) {
        free(a);
        free(sig);
        return lite_oom(err);
    }
    a->sig = sig;

    if (nset > 0) {
        int first = 1;
        rowsync_buf_puts(&b, "UPDATE ");
        lite_sb_ident(&b, spec->table);
        rowsync_buf_puts(&b, " SET ");
        for (i = spec->nkeys; i < spec->ncolumns; i++) {
            if (insert_only && insert_only[i])
                continue;
            if (!first)
                rowsync_buf_puts(&b, ", ");
            first = 0;
            lite_sb_ident(&b, spec->columns[i]);
            rowsync_buf_printf(&b, " = ?%zu", i + 1);
        }
        rowsync_buf_puts(&b, " WHERE ");
        lite_sb_key_where(&b, spec);
        if (b.oom)
            goto oom;
        rc = sqlite3_prepare_v2(c->db, b.p, -1, &a->upd, NULL);
        if (rc != SQLITE_OK)
            goto fail;
        b.len = 0;
    }
    rowsync_buf_puts(&b, "INSERT INTO ");
    lite_sb_ident(&b, spec->table);
    rowsync_buf_puts(&b, " (");
    lite_sb_cols(&b, NULL, spec, 0, spec->ncolumns);
    if (nset > 0) {
        rowsync_buf_puts(&b, ") VALUES (");
        for (i = 0; i < spec->ncolumns; i++)
            rowsync_buf_printf(&b, "%s?%zu", i ? ", " : "", i + 1);
        rowsync_buf_puts(&b, ")");
    } else {
        rowsync_buf_puts(&b, ") SELECT ");
        for (i = 0; i < spec->ncolumns; i++)
            rowsync_buf_printf(&b, "%s?%zu", i ? ", " : "", i + 1);
        rowsync_buf_puts(&b, " WHERE NOT EXISTS (SELECT 1 FROM ");
        lite_sb_ident(&b, spec->table);
        rowsync_buf_puts(&b, " WHERE ");
        lite_sb_key_where(&b, spec);
        rowsync_buf_puts(&b, ")");
    }
    if (b.oom)
        goto oom;
    rc = sqlite3_prepare_v2(c->db, b.p, -1, &a->ins, NULL);
    if (rc != SQLITE_OK)
        goto fail;
    b.len = 0;
    rowsync_buf_puts(&b, "DELETE FROM ");
    lite_sb_ident(&b, spec->table);
    rowsync_buf_puts(&b, " WHERE ");
    lite_sb_key_where(&b, spec);
    if (b.oom)
        goto oom;
    rc = sqlite3_prepare_v2(c->db, b.p, -1, &a->del, NULL);
    if (rc != SQLITE_OK)
        goto fail;
    rowsync_buf_free(&b);
    a->next = c->applies;
    c->applies = a;
    *out = a;
    return 0;

fail:
    rc = lite_fail(c, err, rc,
                   "cannot prepare the apply statements for "
                   "table '%s'",
                   spec->table);
    goto cleanup;
oom:
    rc = lite_oom(err);
cleanup:
    rowsync_buf_free(&b);
    lite_apply_free(a);
    return rc;
}

static int lite_same_origin(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

/* Announces the origin and time of the next change to the triggers. */
static int lite_marker(rowsync_conn_t *c, const rowsync_change_t *ch,
                       rowsync_error_t *err)
{
    int rc;

    if (c->marker_set && c->marker_time == ch->time_us &&
        lite_same_origin(c->marker_origin, ch->origin))
        return 0;
    if (c->marker_stmt == NULL) {
        rc = lite_prepare(c,
                          "INSERT OR REPLACE INTO rowsync_session (id, origin,"
                          " time_us) VALUES (1, ?1, ?2)",
                          &c->marker_stmt, err, "cannot mark the session");
        if (rc < 0)
            return rc;
    }
    lite_bind_text_or_null(c->marker_stmt, 1, ch->origin);
    sqlite3_bind_int64(c->marker_stmt, 2, ch->time_us);
    rc = sqlite3_step(c->marker_stmt);
    sqlite3_reset(c->marker_stmt);
    sqlite3_clear_bindings(c->marker_stmt);
    if (rc != SQLITE_DONE)
        return lite_fail(c, err, rc, "cannot mark the apply session");
    free(c->marker_origin);
    c->marker_origin = NULL;
    c->marker_set = 0;
    if (ch->origin != NULL) {
        c->marker_origin = lite_strdup(ch->origin);
        if (c->marker_origin == NULL)
            return lite_oom(err);
    }
    c->marker_time = ch->time_us;
    c->marker_set = 1;
    return 0;
}

/* Binds params 1..n from values and runs st once; *changes gets the rows
 * the statement itself changed. Parameters past the statement's last one
 * (an UPDATE without trailing insert-only columns) are not bound. */
static int lite_run(sqlite3_stmt *st, const rowsync_value_t *values, size_t n,
                    int *changes)
{
    size_t i;
    int rc = SQLITE_OK;

    if (n > (size_t)sqlite3_bind_parameter_count(st))
        n = (size_t)sqlite3_bind_parameter_count(st);
    for (i = 0; i < n && rc == SQLITE_OK; i++)
        rc = lite_bind(st, (int)i + 1, &values[i], 0);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE) {
            rc = SQLITE_OK;
            if (changes != NULL)
                *changes = sqlite3_changes(sqlite3_db_handle(st));
        }
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

/* Records a delete of a row that is not there, as the delete trigger
 * would have: with three nodes or more, a later change to the key must
 * meet this delete in the history to lose against it. Nothing to do when
 * the table has no capture. */
static int lite_tombstone(rowsync_conn_t *c, const rowsync_table_spec_t *spec,
                          struct lite_apply *a, const rowsync_value_t *keys,
                          rowsync_error_t *err)
{
    int rc;

    if (a->tomb == NULL && !a->no_history) {
        rowsync_buf_t b = {NULL, 0, 0, 0};
        int has = 0;
        char *hist = lite_name3("rowsync_h_", spec->table, "");
        if (hist == NULL)
            return lite_oom(err);
        rc = lite_object_exists(c, "table", hist, &has, err);
        free(hist);
        if (rc < 0)
            return rc;
        if (!has) {
            a->no_history = 1;
            return 0;
        }
        rowsync_buf_puts(&b, "INSERT INTO ");
        lite_sb_ident3(&b, "rowsync_h_", spec->table, "");
        rowsync_buf_puts(&b, " (op, time_us, origin, ");
        lite_sb_hkeys(&b, "", spec->nkeys);
        rowsync_buf_puts(&b,
                         ") VALUES (3, " LITE_TRIG_TIME ", " LITE_TRIG_ORIGIN);
        for (size_t i = 0; i < spec->nkeys; i++)
            rowsync_buf_printf(&b, ", ?%zu", i + 1);
        rowsync_buf_puts(&b, ")");
        if (b.oom) {
            rowsync_buf_free(&b);
            return lite_oom(err);
        }
        rc = sqlite3_prepare_v2(c->db, b.p, -1, &a->tomb, NULL);
        rowsync_buf_free(&b);
        if (rc != SQLITE_OK)
            return lite_fail(c, err, rc, "cannot prepare the tombstone of "
                                         "table '%s'",
                             spec->table);
    }
    if (a->no_history)
        return 0;
    rc = lite_run(a->tomb, keys, spec->nkeys, NULL);
    if (rc != SQLITE_OK)
        return lite_fail(c, err, rc, "cannot record a delete of table '%s'",
                         spec->table);
    return 0;
}

/* Applies a batch inside the open transaction: INSERT/UPDATE update by
 * key (every column but the key and those flagged in insert_only, which
 * may be NULL) and insert when nothing matched; DELETE deletes by key.
 * Each change's origin and time go to rowsync_session first. */
static int lite_apply_insert_only(rowsync_conn_t *c,
                                  const rowsync_table_spec_t *spec,
                                  const unsigned char *insert_only,
                                  const rowsync_change_t *changes, size_t n,
                                  rowsync_error_t *err)
{
    struct lite_apply *a = NULL;
    size_t i;
    int rc;

    if (!c->in_tx)
        return rowsync_error_set(err, ROWSYNC_EINVAL,
                                 "node '%s': apply outside a transaction "
                                 "(begin first)",
                                 c->node);
    rc = lite_check_spec(c, spec, err);
    if (rc < 0)
        return rc;
    rc = lite_apply_stmts(c, spec, insert_only, &a, err);
    if (rc < 0)
        return rc;
    for (i = 0; i < n; i++) {
        const rowsync_change_t *ch = &changes[i];
        int done = 0;
        if (ch->nvalues != spec->ncolumns || ch->values == NULL)
            return rowsync_error_set(
                err, ROWSYNC_EINVAL,
                "table '%s' on node '%s': a change carries %zu values for "
                "%zu columns",
                spec->table, c->node, ch->nvalues, spec->ncolumns);
        rc = lite_marker(c, ch, err);
        if (rc < 0)
            return rc;
        if (ch->op == ROWSYNC_OP_DELETE) {
            rc = lite_run(a->del, ch->values, spec->nkeys, &done);
            if (rc == SQLITE_OK && done == 0 &&
                (rc = lite_tombstone(c, spec, a, ch->values, err)) < 0)
                return rc;
        } else {
            rc = SQLITE_OK;
            if (a->upd != NULL)
                rc = lite_run(a->upd, ch->values, spec->ncolumns, &done);
            if (rc == SQLITE_OK && done == 0)
                rc = lite_run(a->ins, ch->values, spec->ncolumns, NULL);
        }
        if (rc != SQLITE_OK) {
            char key[256];
            lite_key_text(spec, ch->values, key, sizeof key);
            return lite_fail(c, err, rc, "cannot %s row (%s) of table '%s'",
                             ch->op == ROWSYNC_OP_DELETE ? "delete" : "write",
                             key, spec->table);
        }
    }
    return 0;
}

/* apply: every column written on insert and on update. */
static int lite_apply(rowsync_conn_t *c, const rowsync_table_spec_t *spec,
                      const rowsync_change_t *changes, size_t n,
                      rowsync_error_t *err)
{
    return lite_apply_insert_only(c, spec, NULL, changes, n, err);
}

/* Removes the apply marker, then commits changes, state and journal
 * together. On failure the transaction stays open for rollback. */
static int lite_commit(rowsync_conn_t *c, rowsync_error_t *err)
{
    int rc;

    if (!c->in_tx)
        return rowsync_error_set(err, ROWSYNC_EINVAL,
                                 "node '%s': commit without a transaction",
                                 c->node);
    rc = lite_exec(c, "DELETE FROM rowsync_session", err,
                   "cannot clear the apply marker");
    if (rc < 0)
        return rc;
    c->marker_set = 0;
    rc = lite_exec(c, "COMMIT", err, "cannot commit");
    if (rc < 0) {
        if (sqlite3_get_autocommit(c->db))
            c->in_tx = 0;
        return rc;
    }
    c->in_tx = 0;
    return 0;
}

/* Rolls back whatever is open; the marker goes with it. */
static void lite_rollback(rowsync_conn_t *c)
{
    if (c == NULL)
        return;
    if (!sqlite3_get_autocommit(c->db))
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    c->in_tx = 0;
    c->marker_set = 0;
}

/* ---- the table ------------------------------------------------------ */

static const char *const lite_options[] = {"path", "busy_timeout", NULL};

/* Reports the distinct tables `table` references by foreign keys. */
static int lite_references(rowsync_conn_t *c, const char *table,
                           int (*cb)(void *ctx, const char *referenced),
                           void *ctx, rowsync_error_t *err)
{
    sqlite3_stmt *st;
    int rc = lite_prepare(c,
                          "SELECT DISTINCT \"table\" FROM "
                          "pragma_foreign_key_list(?1)",
                          &st, err, "cannot read foreign keys");
    if (rc < 0)
        return rc;
    sqlite3_bind_text(st, 1, table, -1, SQLITE_TRANSIENT);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if (cb(ctx, (const char *)sqlite3_column_text(st, 0)) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return lite_fail(c, err, rc, "cannot read the foreign keys of '%s'",
                         table);
    return 0;
}

static const rowsync_driver_t lite_driver = {
    ROWSYNC_DRIVER_HEADER,
    "sqlite",
    LITE_VERSION,
    "SQLite 3 database files (built with sqlite3 " SQLITE_VERSION ")",
    lite_options,
    lite_connect,
    lite_disconnect,
    lite_quote_ident,
    lite_clock,
    lite_describe,
    lite_capture_install,
    lite_capture_status,
    lite_capture_remove,
    lite_history_clear,
    lite_history_count,
    lite_state_remove,
    lite_lock,
    lite_unlock,
    lite_state_get,
    lite_extract_open,
    lite_scan_open,
    lite_stream_next,
    lite_stream_cursor,
    lite_stream_close,
    lite_begin,
    lite_apply,
    lite_state_set,
    lite_conflict_log,
    lite_commit,
    lite_rollback,
    lite_conflicts_read,
    lite_references,
    lite_apply_insert_only,
    lite_history_purge,
    NULL, /* watch */
    NULL, /* watch_clear */
    lite_stream_columns,
    NULL, /* extract_open_flags: extract_open always folds columns */
};

int sqlite_LTX_rowsync_driver_entry(const rowsync_driver_t **out,
                                    const rowsync_abi_header_t *host);

/* The module's one export: hands out the table to a host of the same
 * major ABI version. */
int sqlite_LTX_rowsync_driver_entry(const rowsync_driver_t **out,
                                    const rowsync_abi_header_t *host)
{
    if (out == NULL || host == NULL || host->major != ROWSYNC_DRIVER_ABI_MAJOR)
        return ROWSYNC_EABI;
    *out = &lite_driver;
    return 0;
}
