/* drivers/mysql: the MySQL / MariaDB driver (libmariadb, MariaDB
 * Connector/C; it speaks to MySQL 5.7+/8.x and MariaDB 10.3+ servers).
 *
 * Change capture: per captured table T (in database D) a history table
 * D.rowsync_h_T (seq BIGINT AUTO_INCREMENT, op, time_us, origin, k1..kN
 * typed like the key columns, cols: an update's column mask, bit i set
 * when spec column i changed, NULL when unknown) filled by three AFTER
 * ... FOR EACH ROW triggers D.rowsync_T_ins/_upd/_del. Triggers stamp rows with
 * MY_NOW, the server's UTC clock in microseconds, and write nothing while the
 * session variable @rowsync_applying is set: the driver's own session sets
 * it, and apply writes the history rows itself, with each change's origin
 * and time, in one multi-row INSERT per batch (no echo).
 *
 * With `capture = binlog` (MariaDB) there are no triggers: the same
 * history table is filled from the server's row binlog before each
 * extraction, history count and apply (mysql_binlog.c).
 *
 * Commit order: AUTO_INCREMENT values are taken at insert and committed
 * later, so a reader can see seq 11 while 10 is still in flight. There is
 * no horizon function; the cursor therefore tracks gaps (see "cursors"
 * below), and each extraction reads inside one consistent snapshot.
 *
 * Streams read on a separate session of their own (the driver keeps one
 * idle reader per connection), with mysql_use_result: rows are fetched one
 * by one, memory stays flat, and the main session stays free for locks,
 * state and apply while a stream is open.
 *
 * Everything but the entry point is static and prefixed my_.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <mysql.h>
#include <errmsg.h>

#include <rowsync/driver.h>

#include "mysql_binlog.h"

#ifdef PACKAGE_VERSION
#define MY_VERSION PACKAGE_VERSION
#else
#define MY_VERSION "0.1.0"
#endif

/* Longest identifier MySQL and MariaDB accept, in characters. */
#define MY_IDENT_MAX 64
/* The server clock, UTC microseconds: pure DATETIME arithmetic on
 * UTC_TIMESTAMP(6), exact and independent of the session time zone.
 * Triggers and `clock` share it. */
#define MY_NOW                                                                 \
    "TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(6))"
/* Rows per multi-row statement, and the server's placeholder limit. */
#define MY_MAX_ROWS 1000
#define MY_MAX_PARAMS 65535
/* Cursor text budget (ROWSYNC_STATE_MAX with room to spare). */
#define MY_CURSOR_BUDGET 1000
/* Gaps kept in memory while an extraction opens. */
#define MY_HOLES_MAX 4096
/* Per-column scratch for values the driver rewrites (a lower-cased UUID). */
#define MY_SCRATCH 48
/* Prepared statements kept per table spec. */
#define MY_STMT_CACHE 6
/* Longest key column definition copied into a history table. */
#define MY_DEF_MAX 2048

static const char *const my_state_ddl[] = {
    "CREATE TABLE IF NOT EXISTS rowsync_state (name VARCHAR(512) NOT NULL"
    " PRIMARY KEY, value TEXT NOT NULL, updated_us BIGINT NOT NULL)"
    " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
    "CREATE TABLE IF NOT EXISTS rowsync_conflicts (id BIGINT NOT NULL"
    " AUTO_INCREMENT PRIMARY KEY, decided_us BIGINT NOT NULL, tbl TEXT,"
    " key_text TEXT, rule VARCHAR(64), winner VARCHAR(255),"
    " loser VARCHAR(255), winner_time_us BIGINT, loser_time_us BIGINT,"
    " note TEXT) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
    NULL};

/* One gap of a cursor: the seqs a..b were missing when first seen at t
 * (server time, milliseconds). */
typedef struct my_range {
    int64_t a, b, t;
} my_range_t;

/* A parsed cursor: every seq <= s is covered except those in g. */
typedef struct my_cursor {
    int64_t s;
    my_range_t *g;
    size_t ng, cap;
} my_cursor_t;

enum { MY_K_UPSERT, MY_K_DELETE, MY_K_HIST, MY_K_UPDATE1, MY_K_INSERT1 };

/* A table reference: "table" lives in the connection's database, "db.table"
 * in db (split at the first dot). */
typedef struct my_tref {
    char db[260];
    char name[260];
} my_tref_t;

/* A prepared multi-row statement for `rows` rows. */
struct my_stmt {
    struct my_stmt *next;
    int kind;
    size_t rows;
    MYSQL_STMT *st;
};

/* What apply needs to know about one table spec, cached per connection. */
struct my_apply {
    struct my_apply *next;
    char *sig; /* table, columns and key count */
    my_tref_t t;
    char hist[260];
    int unique; /* a unique index covers exactly the key columns
                   and they are NOT NULL: bulk upserts */
    int *fsp;   /* per column: fraction digits of a temporal
                   column, -1 for other columns */
    unsigned char *insert_only; /* per column: written on insert only (not
                                   updated), or NULL for none */
    struct my_stmt *stmts;
};

struct rowsync_conn {
    MYSQL *db;   /* the main session: DDL, state, locks, apply */
    MYSQL *idle; /* a reader session waiting for the next stream */
    char *node;
    char *host, *socket, *database, *user, *password;
    char *ssl_ca, *ssl_cert, *ssl_key;
    int ssl_mode; /* MY_SSL_* */
    unsigned port;
    unsigned connect_timeout;
    unsigned lock_wait; /* seconds, lock_wait_timeout */
    int64_t settle_ms;
    int mariadb;
    unsigned long max_packet; /* max_allowed_packet of the server */
    char where[320];          /* "127.0.0.1:3306, database d" */
    int in_tx;
    int state_ok; /* the state tables exist (checked once) */
    int locked;   /* GET_LOCK succeeded at least once */
    int binlog;   /* capture = binlog: no triggers, history from the binlog */
    unsigned binlog_server_id; /* 0: derived per dump session */
    MYSQL *bl_db; /* the binlog ingestion's own session, or NULL */
    struct rowsync_stream *streams;
    struct my_apply *applies;
    MYSQL_BIND *binds;
    size_t binds_cap;
    MYSQL_TIME *times;
    size_t times_cap;
    /* the last describe */
    rowsync_table_info_t info;
    rowsync_column_t *cols;
    size_t ncols;
    char *info_name;
};

struct rowsync_stream {
    rowsync_conn_t *conn; /* NULL once the connection closed under it */
    struct rowsync_stream *next;
    MYSQL *db; /* the reader session */
    MYSQL_RES *res;
    MYSQL_FIELD *fields;
    int extract; /* 1 extract, 0 scan */
    int done;
    size_t ncols, nkeys;
    rowsync_type_t *types;
    char **names; /* column names, for messages */
    char *table;
    rowsync_value_t *values;
    char *scratch; /* ncols * MY_SCRATCH */
    rowsync_change_t change;
    int64_t scan_time;
    /* extraction */
    my_cursor_t since, fin; /* where the stream starts and ends */
    char *fin_text;         /* the `upto` text as given, or NULL */
    int64_t last;           /* seq of the last change returned */
    int have_last;
    int stopped;           /* ended early: the next row's cursor would
                              not fit (see my_stream_next) */
    my_cursor_t mid;       /* scratch for mid-stream cursors */
    unsigned char *filled; /* per gap of since: a row lies in it (the
                              prepass saw one), or NULL: unknown */
    int64_t oldest_trx_ms;  /* start of the oldest open transaction on the
                               server (ms), 0 = none, -1 = not visible */
    uint64_t changed; /* stream_columns of the last change returned */
};

enum {
    MY_SSL_DEFAULT,
    MY_SSL_DISABLED,
    MY_SSL_PREFERRED,
    MY_SSL_REQUIRED,
    MY_SSL_VERIFY_CA,
    MY_SSL_VERIFY_IDENTITY
};

/* ---- small helpers -------------------------------------------------- */

/* Appends ident as a backquoted identifier, backquotes doubled. */
static void my_sb_ident(rowsync_buf_t *b, const char *ident)
{
    const char *q;

    rowsync_buf_add(b, "`", 1);
    while ((q = strchr(ident, '`')) != NULL) {
        rowsync_buf_add(b, ident, (size_t)(q - ident) + 1);
        rowsync_buf_add(b, "`", 1);
        ident = q + 1;
    }
    rowsync_buf_puts(b, ident);
    rowsync_buf_add(b, "`", 1);
}

/* `db`.`name` */
static void my_sb_qname(rowsync_buf_t *b, const char *db, const char *name)
{
    my_sb_ident(b, db);
    rowsync_buf_add(b, ".", 1);
    my_sb_ident(b, name);
}

/* Appends s (n bytes) as a quoted string literal, escaped by the client
 * library for the session's character set and SQL mode. */
static void my_sb_strn(rowsync_buf_t *b, MYSQL *db, const char *s, size_t n)
{
    char small[256], *tmp = small;

    if (b->oom)
        return;
    if (2 * n + 1 > sizeof small) {
        tmp = malloc(2 * n + 1);
        if (tmp == NULL) {
            b->oom = 1;
            return;
        }
    }
    n = mysql_real_escape_string(db, tmp, s, (unsigned long)n);
    rowsync_buf_add(b, "'", 1);
    rowsync_buf_add(b, tmp, n);
    rowsync_buf_add(b, "'", 1);
    if (tmp != small)
        free(tmp);
}

static void my_sb_str(rowsync_buf_t *b, MYSQL *db, const char *s)
{
    if (s == NULL)
        rowsync_buf_puts(b, "NULL");
    else
        my_sb_strn(b, db, s, strlen(s));
}

static char *my_strdup(const char *s)
{
    size_t n;
    char *p;

    if (s == NULL)
        return NULL;
    n = strlen(s) + 1;
    p = malloc(n);
    if (p != NULL)
        memcpy(p, s, n);
    return p;
}

static int my_oom(rowsync_error_t *err)
{
    return rowsync_error_set(err, ROWSYNC_ENOMEM, "out of memory");
}

/* Number of characters of a UTF-8 string. */
static size_t my_chars(const char *s)
{
    size_t n = 0;

    for (; *s; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

static int64_t my_mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- errors ----------------------------------------------------------- */

/* Maps a MySQL / MariaDB error number onto a rowsync error class. */
static int my_classify(unsigned int no)
{
    switch (no) {
    case CR_CONNECTION_ERROR:     /* 2002 */
    case CR_CONN_HOST_ERROR:      /* 2003 */
    case CR_UNKNOWN_HOST:         /* 2005 */
    case CR_SERVER_GONE_ERROR:    /* 2006 */
    case CR_SERVER_LOST:          /* 2013 */
    case CR_SSL_CONNECTION_ERROR: /* 2026 */
    case 2055:                    /* lost connection (system error) */
    case 1053:                    /* server shutdown in progress */
    case 1927:                    /* connection was killed (MariaDB) */
    case 1040:                    /* too many connections */
    case 1129:                    /* host blocked */
    case 4031:                    /* disconnected by the server (MySQL) */
        return ROWSYNC_ECONN;
    case 1205: /* lock wait timeout */
    case 1213: /* deadlock */
    case 3058: /* user-level lock deadlock */
    case 3572: /* NOWAIT lock */
    case 1637: /* too many active concurrent transactions */
        return ROWSYNC_ETRANSIENT;
    case 1022: /* duplicate key on write */
    case 1062: /* duplicate entry */
    case 1048: /* column cannot be null */
    case 1364: /* no value and no default */
    case 1216:
    case 1217:
    case 1451:
    case 1452: /* foreign keys */
    case 1557:
    case 1586: /* duplicate on update */
    case 3819: /* check constraint (MySQL) */
    case 4025: /* check constraint (MariaDB) */
        return ROWSYNC_ECONSTRAINT;
    case 1146: /* no such table */
    case 1049: /* unknown database */
    case 1054: /* unknown column */
    case 1109: /* unknown table */
    case 1051: /* unknown table (drop) */
        return ROWSYNC_ENOTFOUND;
    case 1264: /* out of range */
    case 1265: /* data truncated */
    case 1292: /* incorrect datetime / value */
    case 1366: /* incorrect value for column */
    case 1367: /* illegal value */
    case 1406: /* data too long */
    case 1411: /* incorrect value for function */
    case 1690: /* value out of range */
    case 3140: /* invalid JSON (MySQL) */
    case 4078: /* illegal parameter data type (MariaDB) */
        return ROWSYNC_ECONVERT;
    case CR_OUT_OF_MEMORY:
        return ROWSYNC_ENOMEM;
    default:
        return ROWSYNC_ERROR;
    }
}

/* What to do next, appended to database errors. */
static const char *my_hint(unsigned int no, int code)
{
    switch (no) {
    case 1419:
        return "; the server writes a binary log: creating triggers needs "
               "SUPER (MySQL: or SET GLOBAL log_bin_trust_function_creators "
               "= 1)";
    case 1142:
    case 1143:
    case 1044:
    case 1227:
    case 1370:
        return "; grant the rowsync user SELECT, INSERT, UPDATE, DELETE, "
               "CREATE, DROP, INDEX, ALTER and TRIGGER on the database "
               "(see docs/drivers/mysql.md)";
    case 1045:
        return "; check `user` and the node's password_env / password_file";
    case 1153:
    case CR_NET_PACKET_TOO_LARGE:
        return "; raise the server's max_allowed_packet or lower batch_size";
    case 1049:
        return "; create the database or fix `database`";
    default:
        break;
    }
    switch (code) {
    case ROWSYNC_ECONN:
        return "; check that the server runs and listens there (host, port, "
               "socket) and that the network allows it";
    case ROWSYNC_ETRANSIENT:
        return "; another session holds a lock or a deadlock was broken: "
               "retry";
    default:
        return "";
    }
}

/* Fills err from an error number, SQLSTATE and message of the server or
 * the client library: "<what>: <message> (node N, where)<hint>". Returns
 * the rowsync class. */
static int my_fail_raw(rowsync_conn_t *c, rowsync_error_t *err, unsigned int no,
                       const char *state, const char *msg, const char *what)
{
    int code = my_classify(no);

    rowsync_error_set(err, code, "%s: %s (node '%s', %s)%s", what,
                      msg != NULL && msg[0] ? msg : "unknown error", c->node,
                      c->where, my_hint(no, code));
    if (err != NULL) {
        err->native = (long)no;
        if (state != NULL && strlen(state) == 5 && strcmp(state, "00000"))
            memcpy(err->sqlstate, state, 6);
        else
            err->sqlstate[0] = '\0';
    }
    return code;
}

/* Fills err from the last error of session db (shared with
 * mysql_binlog.c). */
int my_fail(rowsync_conn_t *c, MYSQL *db, rowsync_error_t *err,
            const char *fmt, ...)
{
    char what[600];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (db == NULL)
        return my_fail_raw(c, err, CR_SERVER_LOST, "", "no session", what);
    return my_fail_raw(c, err, mysql_errno(db), mysql_sqlstate(db),
                       mysql_error(db), what);
}

/* Fills err from the last error of a prepared statement. */
static int my_stmt_fail(rowsync_conn_t *c, MYSQL_STMT *st, rowsync_error_t *err,
                        const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int my_stmt_fail(rowsync_conn_t *c, MYSQL_STMT *st, rowsync_error_t *err,
                        const char *fmt, ...)
{
    char what[600];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return my_fail_raw(c, err, mysql_stmt_errno(st), mysql_stmt_sqlstate(st),
                       mysql_stmt_error(st), what);
}

/* Runs SQL without a result on session db. */
static int my_exec(rowsync_conn_t *c, MYSQL *db, const char *sql,
                   rowsync_error_t *err, const char *what)
{
    if (mysql_real_query(db, sql, (unsigned long)strlen(sql)) != 0)
        return my_fail(c, db, err, "%s", what);
    /* a statement that returned rows anyway: drop them */
    if (mysql_field_count(db) > 0) {
        MYSQL_RES *res = mysql_store_result(db);
        mysql_free_result(res);
    }
    return 0;
}

/* Runs the SQL collected in b on the main session and empties b. */
static int my_exec_sb(rowsync_conn_t *c, rowsync_buf_t *b, rowsync_error_t *err,
                      const char *what)
{
    int rc;

    if (b->oom) {
        b->len = 0;
        b->oom = 0;
        return my_oom(err);
    }
    rc = my_exec(c, c->db, b->p, err, what);
    b->len = 0;
    return rc;
}

/* Runs a query on the main session and stores its (small) result. *res
 * is NULL when the statement returned no result set. */
static int my_query(rowsync_conn_t *c, const char *sql, MYSQL_RES **res,
                    rowsync_error_t *err, const char *what)
{
    *res = NULL;
    if (mysql_real_query(c->db, sql, (unsigned long)strlen(sql)) != 0)
        return my_fail(c, c->db, err, "%s", what);
    *res = mysql_store_result(c->db);
    if (*res == NULL && mysql_field_count(c->db) > 0)
        return my_fail(c, c->db, err, "%s", what);
    return 0;
}

/* Runs a query expected to return one integer (NULL gives *isnull). */
static int my_query_int(rowsync_conn_t *c, const char *sql, int64_t *out,
                        int *isnull, rowsync_error_t *err, const char *what)
{
    MYSQL_RES *res;
    MYSQL_ROW row;
    int rc;

    rc = my_query(c, sql, &res, err, what);
    if (rc < 0)
        return rc;
    row = res != NULL ? mysql_fetch_row(res) : NULL;
    if (row == NULL) {
        mysql_free_result(res);
        return rowsync_error_set(err, ROWSYNC_ERROR,
                                 "%s: the server returned no row (node "
                                 "'%s', %s)",
                                 what, c->node, c->where);
    }
    if (isnull != NULL)
        *isnull = row[0] == NULL;
    *out = row[0] != NULL ? strtoll(row[0], NULL, 10) : 0;
    mysql_free_result(res);
    return 0;
}

/* ---- names ------------------------------------------------------------ */

/* Checks an identifier MySQL can hold: not empty, at most 64 characters,
 * no NUL (impossible here) and no trailing space. */
static int my_ident_ok(const char *s)
{
    size_t n = strlen(s);

    return n > 0 && n < 256 && my_chars(s) <= MY_IDENT_MAX && s[n - 1] != ' ';
}

static int my_tref(rowsync_conn_t *c, const char *table, my_tref_t *t,
                   rowsync_error_t *err)
{
    const char *dot;

    if (table == NULL || table[0] == '\0')
        return rowsync_error_set(err, ROWSYNC_EINVAL,
                                 "empty table name (node '%s')", c->node);
    dot = strchr(table, '.');
    if (dot != NULL) {
        size_t n = (size_t)(dot - table);
        if (n >= sizeof t->db)
            n = 0; /* too long: refused below */
        memcpy(t->db, table, n);
        t->db[n] = '\0';
        snprintf(t->name, sizeof t->name, "%s", dot + 1);
    } else {
        snprintf(t->db, sizeof t->db, "%s", c->database);
        snprintf(t->name, sizeof t->name, "%s", table);
    }
    if (!my_ident_ok(t->db) || !my_ident_ok(t->name))
        return rowsync_error_set(
            err, ROWSYNC_EINVAL,
            "table name '%.80s' on node '%s' is not a MySQL table name "
            "(\"table\" or \"database.table\", each at most %d characters)",
            table, c->node, MY_IDENT_MAX);
    return 0;
}

/* The name of a capture object of table name: prefix + name + suffix,
 * e.g. rowsync_h_orders, rowsync_orders_ins. Names longer than 64
 * characters keep the head of the table name and end with _ and eight hex
 * digits of a hash of the full name. */
static void my_objname(const char *name, const char *prefix, const char *suffix,
                       char *out, size_t len)
{
    size_t total = my_chars(prefix) + my_chars(name) + my_chars(suffix);
    size_t keep, chars = 0, i;
    uint32_t h = 2166136261u;
    const char *p;

    if (total <= MY_IDENT_MAX) {
        snprintf(out, len, "%s%s%s", prefix, name, suffix);
        return;
    }
    for (p = name; *p; p++) {
        h ^= (unsigned char)*p;
        h *= 16777619u;
    }
    keep = MY_IDENT_MAX - my_chars(prefix) - my_chars(suffix) - 9;
    for (i = 0; name[i]; i++) {
        if (((unsigned char)name[i] & 0xc0) != 0x80) {
            if (chars == keep)
                break;
            chars++;
        }
    }
    snprintf(out, len, "%s%.*s_%08x%s", prefix, (int)i, name, (unsigned)h,
             suffix);
}

/* ---- cursors -----------------------------------------------------------
 *
 * A cursor is "S" or "S;T:R,R;T:R...": S the highest seq covered, then the
 * gaps below it, grouped by the server time T (milliseconds) at which each
 * was first seen missing; R is a seq "g" or a range "a-b". Every seq <= S
 * outside the gaps has been delivered. "" is the start (S = 0).
 *
 * Opening an extraction from cursor C0 = (S0, G0), in one consistent
 * snapshot of the history table:
 *  1. the seqs present in G0 or above S0 are walked in order; a seq of G0
 *     or between S0 and the highest present seq H that is not there is a
 *     gap: in flight or rolled back. Gaps inherited from G0 keep their
 *     first-seen time and are dropped once older than settle_time (the
 *     writer is assumed rolled back); new gaps get now.
 *  2. that gives the final cursor F = (H, gaps). If F's text would not fit
 *     the cursor budget, the high mark stops short of the first new gap
 *     that does not fit (nothing is dropped unsettled); inherited gaps
 *     that no longer fit (rows filled the middle of a gap of C0, splitting
 *     it) are joined again, but only pieces of one gap of C0, so a joined
 *     gap holds nothing C0 covers: its rows were never delivered and wait
 *     for a later pass.
 *  3. the stream returns, in seq order, the rows covered by F but not by
 *     C0 (the window), each key's latest one only.
 * With `upto`, F is upto itself. A mid-stream cursor after seq p covers
 * F's coverage up to p plus C0's coverage above p: (max(S0, p), gaps of F
 * up to p and gaps of C0 above p), a valid resume point. A stream without
 * `upto` ends early, before a row whose mid-stream cursor would not fit
 * ROWSYNC_STATE_MAX.
 *
 * Exactly once rests on one rule: a gap never covers a seq that an earlier
 * cursor covered or that this stream returned (the next pass would return
 * it again). Gaps are therefore never merged across such seqs to save
 * space; a cursor that cannot fit is made to cover less instead.
 */

static void my_cursor_free(my_cursor_t *cur)
{
    free(cur->g);
    memset(cur, 0, sizeof *cur);
}

static int my_cursor_push(my_cursor_t *cur, int64_t a, int64_t b, int64_t t)
{
    if (cur->ng == cur->cap) {
        size_t cap = cur->cap ? cur->cap * 2 : 16;
        my_range_t *g = realloc(cur->g, cap * sizeof *g);
        if (g == NULL)
            return -1;
        cur->g = g;
        cur->cap = cap;
    }
    cur->g[cur->ng].a = a;
    cur->g[cur->ng].b = b;
    cur->g[cur->ng].t = t;
    cur->ng++;
    return 0;
}

/* Reads a decimal int64 at *p; -1 on no digits or overflow. */
static int my_read_i64(const char **p, int64_t *out)
{
    int64_t v = 0;
    const char *s = *p;

    if (*s < '0' || *s > '9')
        return -1;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (v > (INT64_MAX - (*s - '0')) / 10)
            return -1;
        v = v * 10 + (*s - '0');
    }
    *p = s;
    *out = v;
    return 0;
}

static int my_cursor_parse(rowsync_conn_t *c, const char *text,
                           my_cursor_t *cur, rowsync_error_t *err)
{
    const char *p = text;
    int64_t t = 0, a, b, prev = 0;

    memset(cur, 0, sizeof *cur);
    if (text == NULL || text[0] == '\0')
        return 0;
    if (my_read_i64(&p, &cur->s) < 0)
        goto bad;
    while (*p == ';' || (*p == ',' && cur->ng > 0)) {
        if (*p++ == ';') {
            if (my_read_i64(&p, &t) < 0 || *p++ != ':')
                goto bad;
        }
        if (my_read_i64(&p, &a) < 0)
            goto bad;
        b = a;
        if (*p == '-') {
            p++;
            if (my_read_i64(&p, &b) < 0)
                goto bad;
        }
        if (a < 1 || b < a || b > cur->s || (cur->ng > 0 && a <= prev))
            goto bad;
        prev = b;
        if (my_cursor_push(cur, a, b, t) < 0) {
            my_cursor_free(cur);
            return my_oom(err);
        }
    }
    if (*p != '\0')
        goto bad;
    return 0;
bad:
    my_cursor_free(cur);
    return rowsync_error_set(
        err, ROWSYNC_EINVAL,
        "invalid MySQL cursor '%.60s' on node '%s' (expected a history "
        "sequence number and its gaps, as the driver wrote it)",
        text, c->node);
}

static size_t my_i64_len(int64_t v)
{
    char tmp[24];

    return (size_t)snprintf(tmp, sizeof tmp, "%lld", (long long)v);
}

/* Length of the text of cursor (s, g[0..n)). */
static size_t my_cursor_len(int64_t s, const my_range_t *g, size_t n)
{
    size_t len = my_i64_len(s), i;

    for (i = 0; i < n; i++) {
        if (i == 0 || g[i].t != g[i - 1].t)
            len += 2 + my_i64_len(g[i].t);
        else
            len += 1;
        len += my_i64_len(g[i].a);
        if (g[i].b != g[i].a)
            len += 1 + my_i64_len(g[i].b);
    }
    return len;
}

/* Index of the gap of cur that holds seq, or cur->ng when none does. */
static size_t my_gap_find(const my_cursor_t *cur, int64_t seq)
{
    size_t lo = 0, hi = cur->ng;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cur->g[mid].b < seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < cur->ng && cur->g[lo].a <= seq ? lo : cur->ng;
}

/* Joins neighbouring gaps g[i], g[i+1] (i + 1 < *n) that lie inside one
 * gap of since, closest first, until the cursor (s, g[0..*n)) fits budget
 * or no such pair is left. The seqs between two pieces of one gap of
 * since were never delivered from since on and are not delivered while
 * the joined gap covers them, so the join delays rows and never repeats
 * one. Gaps past *n in the array move down with their neighbours. */
static void my_gaps_rejoin(int64_t s, my_range_t *g, size_t *n, size_t total,
                           const my_cursor_t *since, size_t budget)
{
    while (*n > 1 && my_cursor_len(s, g, *n) > budget) {
        size_t i, best = 0, k;
        int64_t dist = INT64_MAX;
        for (i = 0; i + 1 < *n; i++) {
            if (g[i + 1].a - g[i].b >= dist)
                continue;
            k = my_gap_find(since, g[i].a);
            if (k < since->ng && g[i + 1].b <= since->g[k].b) {
                dist = g[i + 1].a - g[i].b;
                best = i;
            }
        }
        if (dist == INT64_MAX)
            return;
        g[best].b = g[best + 1].b;
        if (g[best + 1].t > g[best].t)
            g[best].t = g[best + 1].t;
        memmove(&g[best + 1], &g[best + 2], (total - best - 2) * sizeof *g);
        (*n)--;
        total--;
    }
}

/* Writes the cursor (s, g) into buf. Gaps are never merged here: the
 * rows between them have been delivered (see "cursors"), so the cursor is
 * made to fit before any row is returned (my_fit, my_stream_next). */
static int my_cursor_write(int64_t s, const my_range_t *g, size_t n, char *buf,
                           size_t len, rowsync_error_t *err)
{
    size_t used, i;

    if (my_cursor_len(s, g, n) + 1 > len)
        return rowsync_error_set(err, ROWSYNC_EINVAL,
                                 "cursor buffer too small (%zu bytes for a "
                                 "cursor of %zu)",
                                 len, my_cursor_len(s, g, n) + 1);
    used = (size_t)snprintf(buf, len, "%lld", (long long)s);
    for (i = 0; i < n; i++) {
        if (i == 0 || g[i].t != g[i - 1].t)
            used += (size_t)snprintf(buf + used, len - used,
                                     ";%lld:", (long long)g[i].t);
        else
            used += (size_t)snprintf(buf + used, len - used, ",");
        used +=
            (size_t)snprintf(buf + used, len - used, "%lld", (long long)g[i].a);
        if (g[i].b != g[i].a)
            used += (size_t)snprintf(buf + used, len - used, "-%lld",
                                     (long long)g[i].b);
    }
    return 0;
}

/* Appends a predicate "col is covered by fin but not by since" (the
 * window of an extraction). Seq numbers come from parsed cursors and are
 * written as integers. */
static void my_sb_window(rowsync_buf_t *b, const char *col, const my_cursor_t *since,
                         const my_cursor_t *fin)
{
    size_t i;

    rowsync_buf_puts(b, "((");
    rowsync_buf_printf(b, "%s > %lld AND %s <= %lld", col, (long long)since->s, col,
               (long long)fin->s);
    rowsync_buf_puts(b, ")");
    for (i = 0; i < since->ng; i++) {
        if (since->g[i].a == since->g[i].b)
            rowsync_buf_printf(b, " OR %s = %lld", col, (long long)since->g[i].a);
        else
            rowsync_buf_printf(b, " OR %s BETWEEN %lld AND %lld", col,
                       (long long)since->g[i].a, (long long)since->g[i].b);
    }
    rowsync_buf_puts(b, ")");
    for (i = 0; i < fin->ng; i++) {
        if (fin->g[i].a == fin->g[i].b)
            rowsync_buf_printf(b, " AND %s <> %lld", col, (long long)fin->g[i].a);
        else
            rowsync_buf_printf(b, " AND %s NOT BETWEEN %lld AND %lld", col,
                       (long long)fin->g[i].a, (long long)fin->g[i].b);
    }
}

/* ---- values ----------------------------------------------------------- */

static void my_set_bytes(rowsync_value_t *v, rowsync_type_t type, const char *p,
                         size_t n)
{
    v->type = type;
    v->u.bytes.ptr = p != NULL ? p : "";
    v->u.bytes.len = n;
}

/* Converts a column of a text-protocol row (p, n bytes; NULL for SQL NULL)
 * into a core value of type want. f is the column's result metadata
 * (BIT columns arrive as raw big-endian bytes). Pointers stay valid until
 * the next fetch. */
static int my_text_value(const char *p, unsigned long n, const MYSQL_FIELD *f,
                         rowsync_type_t want, char *scratch,
                         rowsync_value_t *out, rowsync_error_t *err)
{
    int rc;

    if (p == NULL) {
        out->type = ROWSYNC_TYPE_NULL;
        return 0;
    }
    if (f != NULL && f->type == MYSQL_TYPE_BIT &&
        (want == ROWSYNC_TYPE_BOOL || want == ROWSYNC_TYPE_INT)) {
        uint64_t v = 0;
        unsigned long i;
        for (i = 0; i < n; i++)
            v = (v << 8) | (unsigned char)p[i];
        if (want == ROWSYNC_TYPE_BOOL) {
            out->type = ROWSYNC_TYPE_BOOL;
            out->u.b = v != 0;
        } else {
            if (v > (uint64_t)INT64_MAX)
                return rowsync_error_set(err, ROWSYNC_ECONVERT,
                                         "BIT value above the int64 range");
            out->type = ROWSYNC_TYPE_INT;
            out->u.i = (int64_t)v;
        }
        return 0;
    }
    switch (want) {
    case ROWSYNC_TYPE_BOOL: {
        rowsync_value_t iv;
        rc = rowsync_value_parse(ROWSYNC_TYPE_INT, p, n, NULL, &iv, err);
        if (rc < 0)
            return rc;
        out->type = ROWSYNC_TYPE_BOOL;
        out->u.b = iv.u.i != 0;
        return 0;
    }
    case ROWSYNC_TYPE_TEXT:
    case ROWSYNC_TYPE_JSON:
    case ROWSYNC_TYPE_BINARY:
    case ROWSYNC_TYPE_NULL:
        my_set_bytes(out, want == ROWSYNC_TYPE_NULL ? ROWSYNC_TYPE_TEXT : want,
                     p, n);
        return 0;
    case ROWSYNC_TYPE_UUID:
        if (n == 36) {
            unsigned long i;
            for (i = 0; i < n; i++)
                scratch[i] = (p[i] >= 'A' && p[i] <= 'F')
                                 ? (char)(p[i] - 'A' + 'a')
                                 : p[i];
            return rowsync_value_parse(want, scratch, n, NULL, out, err);
        }
        if (n == 16) {
            static const char hex[] = "0123456789abcdef";
            size_t k, o = 0;
            for (k = 0; k < 16; k++) {
                if (k == 4 || k == 6 || k == 8 || k == 10)
                    scratch[o++] = '-';
                scratch[o++] = hex[(unsigned char)p[k] >> 4];
                scratch[o++] = hex[(unsigned char)p[k] & 15];
            }
            my_set_bytes(out, ROWSYNC_TYPE_UUID, scratch, o);
            return 0;
        }
        return rowsync_value_parse(want, p, n, NULL, out, err);
    default:
        rc = rowsync_value_parse(want, p, n, NULL, out, err);
        if (rc < 0 && n >= 10 && strncmp(p, "0000-00-00", 10) == 0)
            rowsync_error_prefix(err, "a zero date");
        return rc;
    }
}

/* Microseconds truncated toward the past to fsp fraction digits. */
static int64_t my_trunc_us(int64_t us, int fsp)
{
    static const int64_t unit[] = {1000000, 100000, 10000, 1000, 100, 10, 1};
    int64_t u, r;

    if (fsp < 0 || fsp >= 6)
        return us;
    u = unit[fsp];
    r = us % u;
    if (r < 0)
        r += u;
    return us - r;
}

/* Fills bind b for value v (borrowed: the value must outlive the
 * execution). Temporal values go through *t. fsp is the target column's
 * fraction digits (-1 unknown): finer fractions are truncated. */
static int my_bind_value(MYSQL_BIND *b, const rowsync_value_t *v, MYSQL_TIME *t,
                         int fsp, rowsync_error_t *err)
{
    int64_t us, days;

    memset(b, 0, sizeof *b);
    switch (v->type) {
    case ROWSYNC_TYPE_NULL:
        b->buffer_type = MYSQL_TYPE_NULL;
        return 0;
    case ROWSYNC_TYPE_BOOL:
        b->buffer_type = MYSQL_TYPE_LONG;
        b->buffer = (void *)&v->u.b;
        return 0;
    case ROWSYNC_TYPE_INT:
        b->buffer_type = MYSQL_TYPE_LONGLONG;
        b->buffer = (void *)&v->u.i;
        return 0;
    case ROWSYNC_TYPE_DOUBLE:
        if (!isfinite(v->u.d))
            return rowsync_error_set(err, ROWSYNC_ECONVERT,
                                     "MySQL cannot store %s",
                                     isnan(v->u.d) ? "NaN" : "an infinity");
        b->buffer_type = MYSQL_TYPE_DOUBLE;
        b->buffer = (void *)&v->u.d;
        return 0;
    case ROWSYNC_TYPE_DECIMAL:
    case ROWSYNC_TYPE_TEXT:
    case ROWSYNC_TYPE_UUID:
    case ROWSYNC_TYPE_JSON:
        b->buffer_type = MYSQL_TYPE_STRING;
        b->buffer = (void *)(v->u.bytes.ptr != NULL ? v->u.bytes.ptr : "");
        b->buffer_length = (unsigned long)v->u.bytes.len;
        return 0;
    case ROWSYNC_TYPE_BINARY:
        b->buffer_type = MYSQL_TYPE_BLOB;
        b->buffer = (void *)(v->u.bytes.ptr != NULL ? v->u.bytes.ptr : "");
        b->buffer_length = (unsigned long)v->u.bytes.len;
        return 0;
    default:
        break;
    }
    memset(t, 0, sizeof *t);
    b->buffer = t;
    if (v->type == ROWSYNC_TYPE_DATE) {
        int y;
        unsigned mo, d;
        rowsync_civil_from_days(v->u.date, &y, &mo, &d);
        if (y < 1 || y > 9999)
            return rowsync_error_set(err, ROWSYNC_ECONVERT,
                                     "date out of the MySQL range "
                                     "(years 1000 to 9999)");
        t->year = (unsigned)y;
        t->month = mo;
        t->day = d;
        t->time_type = MYSQL_TIMESTAMP_DATE;
        b->buffer_type = MYSQL_TYPE_DATE;
        return 0;
    }
    if (v->type == ROWSYNC_TYPE_TIME) {
        us = my_trunc_us(v->u.i, fsp);
        if (us < 0 || us > (int64_t)86400 * 1000000)
            return rowsync_error_set(err, ROWSYNC_ECONVERT,
                                     "time of day out of range");
        t->hour = (unsigned)(us / 3600000000LL);
        t->minute = (unsigned)(us / 60000000LL % 60);
        t->second = (unsigned)(us / 1000000 % 60);
        t->second_part = (unsigned long)(us % 1000000);
        t->time_type = MYSQL_TIMESTAMP_TIME;
        b->buffer_type = MYSQL_TYPE_TIME;
        return 0;
    }
    if (v->type == ROWSYNC_TYPE_TIMESTAMP ||
        v->type == ROWSYNC_TYPE_TIMESTAMPTZ) {
        int y;
        unsigned mo, d;
        int64_t tod;
        us = my_trunc_us(v->u.i, fsp);
        days = us / 86400000000LL;
        tod = us % 86400000000LL;
        if (tod < 0) {
            tod += 86400000000LL;
            days--;
        }
        if (days < INT32_MIN || days > INT32_MAX)
            return rowsync_error_set(err, ROWSYNC_ECONVERT,
                                     "timestamp out of range");
        rowsync_civil_from_days((int32_t)days, &y, &mo, &d);
        if (y < 1 || y > 9999)
            return rowsync_error_set(err, ROWSYNC_ECONVERT,
                                     "timestamp out of the MySQL range "
                                     "(years 1000 to 9999)");
        t->year = (unsigned)y;
        t->month = mo;
        t->day = d;
        t->hour = (unsigned)(tod / 3600000000LL);
        t->minute = (unsigned)(tod / 60000000LL % 60);
        t->second = (unsigned)(tod / 1000000 % 60);
        t->second_part = (unsigned long)(tod % 1000000);
        t->time_type = MYSQL_TIMESTAMP_DATETIME;
        b->buffer_type = MYSQL_TYPE_DATETIME;
        return 0;
    }
    return rowsync_error_set(err, ROWSYNC_ECONVERT,
                             "cannot write a value of unknown type %d",
                             (int)v->type);
}

/* Appends v as an SQL literal: strings escaped by the client library,
 * binary as a hex literal made by the client library, numbers and times
 * formatted from their binary form. Used for scan positions only. */
static int my_sb_value(rowsync_buf_t *b, MYSQL *db, const rowsync_value_t *v,
                       rowsync_error_t *err)
{
    char buf[96];
    size_t n;

    switch (v->type) {
    case ROWSYNC_TYPE_NULL:
        rowsync_buf_puts(b, "NULL");
        return 0;
    case ROWSYNC_TYPE_BOOL:
        rowsync_buf_puts(b, v->u.b ? "1" : "0");
        return 0;
    case ROWSYNC_TYPE_INT:
        rowsync_buf_printf(b, "%lld", (long long)v->u.i);
        return 0;
    case ROWSYNC_TYPE_DOUBLE:
        if (!isfinite(v->u.d))
            return rowsync_error_set(err, ROWSYNC_ECONVERT,
                                     "a key cannot be NaN or infinite");
        rowsync_buf_printf(b, "%.17g", v->u.d);
        return 0;
    case ROWSYNC_TYPE_BINARY: {
        char *hex = malloc(2 * v->u.bytes.len + 1);
        if (hex == NULL)
            return my_oom(err);
        n = mysql_hex_string(hex, v->u.bytes.ptr != NULL ? v->u.bytes.ptr : "",
                             (unsigned long)v->u.bytes.len);
        rowsync_buf_puts(b, "X'");
        rowsync_buf_add(b, hex, n);
        rowsync_buf_puts(b, "'");
        free(hex);
        return 0;
    }
    case ROWSYNC_TYPE_DECIMAL:
    case ROWSYNC_TYPE_TEXT:
    case ROWSYNC_TYPE_UUID:
    case ROWSYNC_TYPE_JSON:
        my_sb_strn(b, db, v->u.bytes.ptr != NULL ? v->u.bytes.ptr : "",
                   v->u.bytes.len);
        return 0;
    default:
        n = rowsync_value_format(v, buf, sizeof buf);
        if (n >= sizeof buf)
            return rowsync_error_set(err, ROWSYNC_ECONVERT, "bad value");
        if (v->type == ROWSYNC_TYPE_TIMESTAMPTZ && n > 6 &&
            strcmp(buf + n - 6, "+00:00") == 0)
            n -= 6;
        my_sb_strn(b, db, buf, n);
        return 0;
    }
}

/* Writes the key values of values[0..nkeys) as "v1,v2" into buf. */
static void my_key_text(size_t nkeys, const rowsync_value_t *values, char *buf,
                        size_t len)
{
    size_t i, used = 0;

    buf[0] = '\0';
    for (i = 0; i < nkeys && used + 2 < len; i++) {
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

/* ---- connect ---------------------------------------------------------- */

static const char *const my_options[] = {"host",        "port",
                                         "socket",      "database",
                                         "user",        "ssl_ca",
                                         "ssl_cert",    "ssl_key",
                                         "ssl_mode",    "connect_timeout",
                                         "settle_time", "lock_wait_timeout",
                                         "capture",     "binlog_server_id",
                                         NULL};

static const char *my_option(const rowsync_node_config_t *cfg, const char *key)
{
    size_t i;

    for (i = 0; i < cfg->noptions; i++)
        if (cfg->options[i].key != NULL &&
            strcmp(cfg->options[i].key, key) == 0)
            return cfg->options[i].value;
    return NULL;
}

/* A path from the job file made absolute (relative paths start at
 * job_dir). Malloc'd, NULL for NULL. */
static char *my_path(const char *path, const char *job_dir)
{
    rowsync_buf_t b = {NULL, 0, 0, 0};

    if (path == NULL)
        return NULL;
    if (path[0] == '/' || job_dir == NULL || job_dir[0] == '\0')
        return my_strdup(path);
    rowsync_buf_puts(&b, job_dir);
    if (b.len > 0 && b.p[b.len - 1] != '/')
        rowsync_buf_puts(&b, "/");
    rowsync_buf_puts(&b, path);
    if (b.oom) {
        rowsync_buf_free(&b);
        return NULL;
    }
    return b.p;
}

/* An unsigned number within [lo, hi]; -1 if text is not one. */
static long my_uint(const char *text, long lo, long hi)
{
    char *end;
    long v;

    if (text == NULL || text[0] < '0' || text[0] > '9')
        return -1;
    errno = 0;
    v = strtol(text, &end, 10);
    if (errno != 0 || *end != '\0' || v < lo || v > hi)
        return -1;
    return v;
}

/* A duration: "250ms", "5s", "2m", "1h", "1.5s"; a bare number is
 * milliseconds. -1 if text is not one. */
static int64_t my_duration_ms(const char *text)
{
    char *end;
    double v;

    if (text == NULL || text[0] < '0' || text[0] > '9')
        return -1;
    errno = 0;
    v = strtod(text, &end);
    if (errno != 0 || v < 0)
        return -1;
    if (*end == '\0' || strcmp(end, "ms") == 0)
        ;
    else if (strcmp(end, "s") == 0)
        v *= 1000;
    else if (strcmp(end, "m") == 0)
        v *= 60000;
    else if (strcmp(end, "h") == 0)
        v *= 3600000;
    else
        return -1;
    if (v > 1e12)
        return -1;
    return (int64_t)v;
}

static void my_conn_free(rowsync_conn_t *c)
{
    if (c == NULL)
        return;
    if (c->password != NULL) {
        memset(c->password, 0, strlen(c->password));
        free(c->password);
    }
    free(c->node);
    free(c->host);
    free(c->socket);
    free(c->database);
    free(c->user);
    free(c->ssl_ca);
    free(c->ssl_cert);
    free(c->ssl_key);
    free(c->binds);
    free(c->times);
    free(c);
}

/* Reads and checks the node options into c. */
static int my_conn_options(rowsync_conn_t *c, const rowsync_node_config_t *cfg,
                           rowsync_error_t *err)
{
    static const char *const modes[] = {"DISABLED", "PREFERRED", "REQUIRED",
                                        "VERIFY_CA", "VERIFY_IDENTITY"};
    const char *v;
    size_t i;
    long n;

    for (i = 0; i < cfg->noptions; i++) {
        const char *const *ok = my_options;
        const char *k = cfg->options[i].key;
        while (k != NULL && *ok != NULL && strcmp(*ok, k) != 0)
            ok++;
        if (k == NULL || *ok == NULL)
            return rowsync_error_set(
                err, ROWSYNC_EINVAL,
                "node '%s': unknown option '%s' for the mysql driver "
                "(accepted: host, port, socket, database, user, ssl_ca, "
                "ssl_cert, ssl_key, ssl_mode, connect_timeout, settle_time, "
                "lock_wait_timeout, capture, binlog_server_id)",
                c->node, k != NULL ? k : "(null)");
    }
    v = my_option(cfg, "database");
    if (v == NULL || !my_ident_ok(v) || strchr(v, '.') != NULL)
        return rowsync_error_set(
            err, ROWSYNC_EINVAL,
            "node '%s': the mysql driver needs `database = NAME` (the "
            "database holding the synced tables and the rowsync state)",
            c->node);
    c->database = my_strdup(v);
    c->port = 3306;
    if ((v = my_option(cfg, "port")) != NULL) {
        if ((n = my_uint(v, 1, 65535)) < 0)
            return rowsync_error_set(err, ROWSYNC_EINVAL,
                                     "node '%s': port '%s' is not a TCP port",
                                     c->node, v);
        c->port = (unsigned)n;
    }
    c->connect_timeout = 10;
    if ((v = my_option(cfg, "connect_timeout")) != NULL) {
        if ((n = my_uint(v, 1, 3600)) < 0)
            return rowsync_error_set(err, ROWSYNC_EINVAL,
                                     "node '%s': connect_timeout '%s' is not "
                                     "a number of seconds (1 to 3600)",
                                     c->node, v);
        c->connect_timeout = (unsigned)n;
    }
    c->lock_wait = 50;
    if ((v = my_option(cfg, "lock_wait_timeout")) != NULL) {
        if ((n = my_uint(v, 1, 31536000)) < 0)
            return rowsync_error_set(err, ROWSYNC_EINVAL,
                                     "node '%s': lock_wait_timeout '%s' is "
                                     "not a number of seconds",
                                     c->node, v);
        c->lock_wait = (unsigned)n;
    }
    c->settle_ms = 5000;
    if ((v = my_option(cfg, "settle_time")) != NULL) {
        if ((c->settle_ms = my_duration_ms(v)) < 0)
            return rowsync_error_set(err, ROWSYNC_EINVAL,
                                     "node '%s': settle_time '%s' is not a "
                                     "duration (\"5s\", \"500ms\"; a bare "
                                     "number is milliseconds)",
                                     c->node, v);
    }
    if ((v = my_option(cfg, "capture")) != NULL) {
        if (strcmp(v, "binlog") == 0)
            c->binlog = 1;
        else if (strcmp(v, "triggers") != 0)
            return rowsync_error_set(err, ROWSYNC_EINVAL,
                                     "node '%s': capture '%s' is not "
                                     "\"triggers\" or \"binlog\"",
                                     c->node, v);
    }
    if ((v = my_option(cfg, "binlog_server_id")) != NULL) {
        if ((n = my_uint(v, 1, 4294967295L)) < 0)
            return rowsync_error_set(err, ROWSYNC_EINVAL,
                                     "node '%s': binlog_server_id '%s' is "
                                     "not a server id (1 to 4294967295)",
                                     c->node, v);
        c->binlog_server_id = (unsigned)n;
    }
    c->ssl_mode = MY_SSL_DEFAULT;
    if ((v = my_option(cfg, "ssl_mode")) != NULL) {
        for (i = 0; i < 5; i++)
            if (strcasecmp(v, modes[i]) == 0)
                c->ssl_mode = MY_SSL_DISABLED + (int)i;
        if (c->ssl_mode == MY_SSL_DEFAULT)
            return rowsync_error_set(
                err, ROWSYNC_EINVAL,
                "node '%s': ssl_mode '%s' is not one of DISABLED, PREFERRED, "
                "REQUIRED, VERIFY_CA, VERIFY_IDENTITY",
                c->node, v);
    }
    c->host = my_strdup(my_option(cfg, "host"));
    c->socket = my_path(my_option(cfg, "socket"), cfg->job_dir);
    c->user = my_strdup(my_option(cfg, "user"));
    c->ssl_ca = my_path(my_option(cfg, "ssl_ca"), cfg->job_dir);
    c->ssl_cert = my_path(my_option(cfg, "ssl_cert"), cfg->job_dir);
    c->ssl_key = my_path(my_option(cfg, "ssl_key"), cfg->job_dir);
    if (cfg->password != NULL)
        c->password = my_strdup(cfg->password);
    if (c->database == NULL ||
        (my_option(cfg, "user") != NULL && c->user == NULL) ||
        (cfg->password != NULL && c->password == NULL))
        return my_oom(err);
    if (c->host == NULL && c->socket == NULL &&
        (c->host = my_strdup("127.0.0.1")) == NULL)
        return my_oom(err);
    if ((c->ssl_mode == MY_SSL_VERIFY_CA ||
         c->ssl_mode == MY_SSL_VERIFY_IDENTITY) &&
        c->ssl_ca == NULL)
        return rowsync_error_set(err, ROWSYNC_EINVAL,
                                 "node '%s': ssl_mode %s needs ssl_ca (the "
                                 "CA certificate file)",
                                 c->node, my_option(cfg, "ssl_mode"));
    if (c->socket != NULL &&
        (c->host == NULL || strcmp(c->host, "localhost") == 0))
        snprintf(c->where, sizeof c->where, "socket %.200s, database %s",
                 c->socket, c->database);
    else
        snprintf(c->where, sizeof c->where, "%.200s:%u, database %s", c->host,
                 c->port, c->database);
    return 0;
}

/* Opens one session with the node's settings: utf8mb4, UTC, a strict SQL
 * mode (lossy writes fail instead of truncating), the lock wait. The main
 * session also sets the apply marker @rowsync_applying, which the capture
 * triggers read; reader sessions run REPEATABLE READ for snapshots. */
int my_session(rowsync_conn_t *c, int reader, MYSQL **out,
               rowsync_error_t *err)
{
    unsigned int timeout = c->connect_timeout, zero = 0;
    my_bool on = 1;
    MYSQL *m = mysql_init(NULL);
    char sql[512];
    int rc;

    if (m == NULL)
        return my_oom(err);
    mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    mysql_options(m, MYSQL_OPT_LOCAL_INFILE, &zero);
    if (c->ssl_mode != MY_SSL_DISABLED &&
        (c->ssl_mode != MY_SSL_DEFAULT || c->ssl_ca != NULL ||
         c->ssl_cert != NULL || c->ssl_key != NULL))
        mysql_ssl_set(m, c->ssl_key, c->ssl_cert, c->ssl_ca, NULL, NULL);
    if (c->ssl_mode >= MY_SSL_REQUIRED)
        mysql_options(m, MYSQL_OPT_SSL_ENFORCE, &on);
    if (c->ssl_mode == MY_SSL_VERIFY_IDENTITY)
        mysql_options(m, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &on);
    if (mysql_real_connect(m, c->host, c->user, c->password, c->database,
                           c->port, c->socket,
                           reader ? 0 : CLIENT_FOUND_ROWS) == NULL) {
        rc = my_fail(c, m, err,
                     "cannot connect to the MySQL/MariaDB server "
                     "as user %s",
                     c->user != NULL ? c->user : "(default)");
        mysql_close(m);
        return rc;
    }
    if (c->ssl_mode >= MY_SSL_REQUIRED && mysql_get_ssl_cipher(m) == NULL) {
        /* libmariadb may fall back to plain text when the server has no
         * TLS: refuse the session */
        mysql_close(m);
        rc = rowsync_error_set(err, ROWSYNC_ECONN,
                               "cannot connect to the MySQL/MariaDB server: "
                               "ssl_mode requires TLS and the server did "
                               "not use it (node '%s', %s); enable TLS on "
                               "the server or lower ssl_mode",
                               c->node, c->where);
        if (err != NULL)
            err->native = CR_SSL_CONNECTION_ERROR;
        return rc;
    }
    snprintf(sql, sizeof sql,
             "SET time_zone = '+00:00', sql_mode = 'STRICT_ALL_TABLES,"
             "NO_ZERO_DATE,NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO,"
             "NO_ENGINE_SUBSTITUTION,NO_AUTO_VALUE_ON_ZERO',"
             " SESSION lock_wait_timeout = %u,"
             " SESSION innodb_lock_wait_timeout = %u%s",
             c->lock_wait, c->lock_wait,
             reader ? "" : ", @rowsync_applying = 1");
    rc = my_exec(c, m, sql, err, "cannot set up the session");
    if (rc == 0 && reader)
        rc = my_exec(c, m,
                     "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ",
                     err, "cannot set up the reader session");
    if (rc < 0) {
        mysql_close(m);
        return rc;
    }
    *out = m;
    return 0;
}

/* Connects the main session. The password is kept (for reader sessions)
 * and never appears in a message. */
static int my_connect(rowsync_conn_t **out, const rowsync_node_config_t *cfg,
                      rowsync_error_t *err)
{
    rowsync_conn_t *c = calloc(1, sizeof *c);
    const char *info;
    int rc;

    if (c == NULL)
        return my_oom(err);
    c->node = my_strdup(cfg->node != NULL ? cfg->node : "?");
    if (c->node == NULL) {
        my_conn_free(c);
        return my_oom(err);
    }
    rc = my_conn_options(c, cfg, err);
    if (rc == 0)
        rc = my_session(c, 0, &c->db, err);
    if (rc < 0) {
        my_conn_free(c);
        return rc;
    }
    info = mysql_get_server_info(c->db);
    c->mariadb = info != NULL && strstr(info, "MariaDB") != NULL;
    {
        int64_t mp = 0;
        c->max_packet = 16777216;
        if (my_query_int(c, "SELECT @@max_allowed_packet", &mp, NULL, NULL,
                         "") == 0 &&
            mp > 4096)
            c->max_packet = (unsigned long)mp;
    }
    *out = c;
    return 0;
}

/* Ends a reader session at once, without draining a half-read result:
 * the socket is shut down first so freeing the result reads nothing. */
static void my_reader_kill(MYSQL *db, MYSQL_RES *res)
{
    int fd = -1;

    if (res != NULL) {
        if (db != NULL &&
            mariadb_get_infov(db, MARIADB_CONNECTION_SOCKET, &fd) == 0 &&
            fd >= 0)
            shutdown(fd, SHUT_RDWR);
        mysql_free_result(res);
    }
    if (db != NULL)
        mysql_close(db);
}

static void my_apply_free(struct my_apply *a)
{
    struct my_stmt *s, *sn;

    for (s = a->stmts; s != NULL; s = sn) {
        sn = s->next;
        mysql_stmt_close(s->st);
        free(s);
    }
    free(a->sig);
    free(a->fsp);
    free(a->insert_only);
    free(a);
}

/* Drops cached apply metadata and statements (after DDL). */
static void my_drop_cache(rowsync_conn_t *c)
{
    struct my_apply *a, *next;

    for (a = c->applies; a != NULL; a = next) {
        next = a->next;
        my_apply_free(a);
    }
    c->applies = NULL;
}

static void my_info_clear(rowsync_conn_t *c)
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

/* Closes everything: open streams lose their reader (closing them later
 * only frees them), an open transaction rolls back and the server
 * releases the session's locks when the session ends. */
static void my_disconnect(rowsync_conn_t *c)
{
    struct rowsync_stream *s;

    if (c == NULL)
        return;
    for (s = c->streams; s != NULL; s = s->next) {
        my_reader_kill(s->db, s->res);
        s->db = NULL;
        s->res = NULL;
        s->conn = NULL;
    }
    my_drop_cache(c);
    if (c->in_tx && c->db != NULL)
        mysql_rollback(c->db);
    /* The server frees a closed session's locks a moment after the
     * client leaves; release them now so the next taker finds them
     * free. */
    if (c->locked && c->db != NULL &&
        mysql_query(c->db, "SELECT RELEASE_ALL_LOCKS()") == 0)
        mysql_free_result(mysql_store_result(c->db));
    if (c->idle != NULL)
        mysql_close(c->idle);
    if (c->bl_db != NULL)
        mysql_close(c->bl_db);
    if (c->db != NULL)
        mysql_close(c->db);
    my_info_clear(c);
    my_conn_free(c);
}

/* Backquotes, embedded backquotes doubled; snprintf-style length: writes
 * as much of the quoted name as fits, always NUL-terminated. Names longer
 * than 64 characters or ending in a space are refused. */
static int my_quote_ident(const char *ident, char *buf, size_t len)
{
    size_t need = 2, o = 0;
    const char *p;

    if (ident == NULL || !my_ident_ok(ident))
        return ROWSYNC_EINVAL;
    for (p = ident; *p; p++)
        need += (*p == '`') ? 2 : 1;
    if (buf == NULL || len == 0)
        return (int)need;
#define MY_PUT(ch)                                                             \
    do {                                                                       \
        if (o + 1 < len)                                                       \
            buf[o++] = (ch);                                                   \
    } while (0)
    MY_PUT('`');
    for (p = ident; *p; p++) {
        MY_PUT(*p);
        if (*p == '`')
            MY_PUT('`');
    }
    MY_PUT('`');
#undef MY_PUT
    buf[o] = '\0';
    return (int)need;
}

static int my_clock(rowsync_conn_t *c, int64_t *now_us, rowsync_error_t *err)
{
    return my_query_int(c, "SELECT " MY_NOW, now_us, NULL, err,
                        "cannot read the server clock");
}

/* ---- describe --------------------------------------------------------- */

/* The comment that makes a DATETIME column hold UTC instants. */
#define MY_UTC_MARK "rowsync:utc"

/* Core type of a column from information_schema: DATA_TYPE (lower case),
 * COLUMN_TYPE, the comment, and whether a json_valid() check marks it as
 * MariaDB's JSON. Unknown types travel as TEXT. */
static rowsync_type_t my_map_type(const char *dt, const char *ct,
                                  const char *comment, int json)
{
    static const char *const ints[] = {"tinyint", "smallint", "mediumint",
                                       "int",     "integer",  "bigint",
                                       "year",    NULL};
    static const char *const texts[] = {
        "char", "varchar", "tinytext", "text",  "mediumtext", "longtext",
        "enum", "set",     "inet4",    "inet6", NULL};
    static const char *const bins[] = {"binary",
                                       "varbinary",
                                       "tinyblob",
                                       "blob",
                                       "mediumblob",
                                       "longblob",
                                       "geometry",
                                       "point",
                                       "linestring",
                                       "polygon",
                                       "multipoint",
                                       "multilinestring",
                                       "multipolygon",
                                       "geometrycollection",
                                       "geomcollection",
                                       "vector",
                                       NULL};
    size_t i;

    if (json || strcmp(dt, "json") == 0)
        return ROWSYNC_TYPE_JSON;
    if (strcmp(dt, "tinyint") == 0 && strncmp(ct, "tinyint(1)", 10) == 0)
        return ROWSYNC_TYPE_BOOL;
    if (strcmp(dt, "bit") == 0)
        return strcmp(ct, "bit(1)") == 0 ? ROWSYNC_TYPE_BOOL : ROWSYNC_TYPE_INT;
    if (strcmp(dt, "bigint") == 0 && strstr(ct, "unsigned") != NULL)
        return ROWSYNC_TYPE_DECIMAL;
    for (i = 0; ints[i] != NULL; i++)
        if (strcmp(dt, ints[i]) == 0)
            return ROWSYNC_TYPE_INT;
    if (strcmp(dt, "decimal") == 0 || strcmp(dt, "numeric") == 0)
        return ROWSYNC_TYPE_DECIMAL;
    if (strcmp(dt, "float") == 0 || strcmp(dt, "double") == 0 ||
        strcmp(dt, "real") == 0 || strcmp(dt, "double precision") == 0)
        return ROWSYNC_TYPE_DOUBLE;
    if (strcmp(dt, "date") == 0)
        return ROWSYNC_TYPE_DATE;
    if (strcmp(dt, "time") == 0)
        return ROWSYNC_TYPE_TIME;
    if (strcmp(dt, "timestamp") == 0)
        return ROWSYNC_TYPE_TIMESTAMPTZ;
    if (strcmp(dt, "datetime") == 0)
        return comment != NULL && strstr(comment, MY_UTC_MARK) != NULL
                   ? ROWSYNC_TYPE_TIMESTAMPTZ
                   : ROWSYNC_TYPE_TIMESTAMP;
    if (strcmp(dt, "uuid") == 0)
        return ROWSYNC_TYPE_UUID;
    for (i = 0; bins[i] != NULL; i++)
        if (strcmp(dt, bins[i]) == 0)
            return ROWSYNC_TYPE_BINARY;
    for (i = 0; texts[i] != NULL; i++)
        if (strcmp(dt, texts[i]) == 0)
            return ROWSYNC_TYPE_TEXT;
    return ROWSYNC_TYPE_TEXT;
}

/* Names of the columns MariaDB's JSON alias guards with
 * CHECK (json_valid(`col`)); *out is a NULL-terminated malloc'd list, or
 * NULL when there are none (or on MySQL, where JSON is a real type). */
static int my_json_columns(rowsync_conn_t *c, const my_tref_t *t, char ***out,
                           rowsync_error_t *err)
{
    rowsync_buf_t b = {NULL, 0, 0, 0};
    MYSQL_RES *res;
    MYSQL_ROW row;
    char **list = NULL;
    size_t n = 0;
    int rc;

    *out = NULL;
    if (!c->mariadb)
        return 0;
    rowsync_buf_puts(&b, "SELECT CHECK_CLAUSE FROM information_schema."
                  "CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ");
    my_sb_str(&b, c->db, t->db);
    rowsync_buf_puts(&b, " AND TABLE_NAME = ");
    my_sb_str(&b, c->db, t->name);
    rowsync_buf_puts(&b, " AND CHECK_CLAUSE LIKE 'json\\_valid(%'");
    if (b.oom)
        return my_oom(err);
    rc = my_query(c, b.p, &res, err, "cannot read the check constraints");
    rowsync_buf_free(&b);
    if (rc < 0)
        return rc;
    while (res != NULL && (row = mysql_fetch_row(res)) != NULL) {
        const char *cl = row[0];
        size_t len = cl != NULL ? strlen(cl) : 0, i, o = 0;
        char *name, **nl;
        if (len < 14 || strncmp(cl, "json_valid(`", 12) != 0 ||
            strcmp(cl + len - 2, "`)") != 0)
            continue;
        name = malloc(len);
        nl = realloc(list, (n + 2) * sizeof *list);
        if (name == NULL || nl == NULL) {
            free(name);
            if (nl != NULL)
                list = nl;
            rc = my_oom(err);
            break;
        }
        list = nl;
        for (i = 12; i < len - 2; i++) {
            name[o++] = cl[i];
            if (cl[i] == '`' && cl[i + 1] == '`')
                i++;
        }
        name[o] = '\0';
        list[n++] = name;
        list[n] = NULL;
    }
    mysql_free_result(res);
    if (rc < 0) {
        for (size_t i = 0; i < n; i++)
            free(list[i]);
        free(list);
        return rc;
    }
    *out = list;
    return 0;
}

static void my_free_list(char **list)
{
    size_t i;

    for (i = 0; list != NULL && list[i] != NULL; i++)
        free(list[i]);
    free(list);
}

/* Columns of t from information_schema: name, data type, column type,
 * nullable, comment, (NULL), charset, collation, fraction digits. Rows whose
 * TABLE_NAME differs from t in case are skipped (the schema tables compare
 * case-insensitively, table names do not). */
static int my_columns_query(rowsync_conn_t *c, const my_tref_t *t,
                            MYSQL_RES **res, rowsync_error_t *err)
{
    rowsync_buf_t b = {NULL, 0, 0, 0};
    int rc;

    /* constant schema and table names: the server opens only that table */
    rowsync_buf_puts(&b, "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE,"
                  " COLUMN_COMMENT, NULL, CHARACTER_SET_NAME,"
                  " COLLATION_NAME, DATETIME_PRECISION, TABLE_NAME"
                  " FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ");
    my_sb_str(&b, c->db, t->db);
    rowsync_buf_puts(&b, " AND TABLE_NAME = ");
    my_sb_str(&b, c->db, t->name);
    rowsync_buf_puts(&b, " ORDER BY ORDINAL_POSITION");
    if (b.oom)
        return my_oom(err);
    rc = my_query(c, b.p, res, err, "cannot read the table's columns");
    rowsync_buf_free(&b);
    if (rc < 0)
        return rc;
    if (*res == NULL)
        return my_fail(c, c->db, err, "cannot read the table's columns");
    return 0;
}

static int my_not_found(rowsync_conn_t *c, const char *table,
                        rowsync_error_t *err)
{
    int rc = rowsync_error_set(err, ROWSYNC_ENOTFOUND,
                               "table '%s' not found on node '%s' (%s); "
                               "check the table name (names are "
                               "case-sensitive)",
                               table, c->node, c->where);
    if (err != NULL)
        err->native = 1146;
    return rc;
}

/* Sets the key positions of cols[0..n) from t's primary key. */
static int my_primary_key(rowsync_conn_t *c, const my_tref_t *t,
                          rowsync_column_t *cols, size_t n,
                          rowsync_error_t *err)
{
    rowsync_buf_t b = {NULL, 0, 0, 0};
    MYSQL_RES *res;
    MYSQL_ROW row;
    size_t i;
    int rc;

    rowsync_buf_puts(&b, "SELECT COLUMN_NAME, SEQ_IN_INDEX, TABLE_NAME FROM"
                  " information_schema.STATISTICS WHERE INDEX_NAME ="
                  " 'PRIMARY' AND TABLE_SCHEMA = ");
    my_sb_str(&b, c->db, t->db);
    rowsync_buf_puts(&b, " AND TABLE_NAME = ");
    my_sb_str(&b, c->db, t->name);
    if (b.oom)
        return my_oom(err);
    rc = my_query(c, b.p, &res, err, "cannot read the primary key");
    rowsync_buf_free(&b);
    if (rc < 0)
        return rc;
    while (res != NULL && (row = mysql_fetch_row(res)) != NULL) {
        if (row[0] == NULL || row[1] == NULL || row[2] == NULL ||
            strcmp(row[2], t->name) != 0)
            continue;
        for (i = 0; i < n; i++)
            if (strcasecmp(cols[i].name, row[0]) == 0)
                cols[i].key_position = atoi(row[1]);
    }
    mysql_free_result(res);
    return 0;
}

/* Describes a table: columns in table order, key positions from the
 * primary key, types as docs/drivers/mysql.md maps them. *out lives until
 * the next describe or disconnect. */
static int my_describe(rowsync_conn_t *c, const char *table,
                       const rowsync_table_info_t **out, rowsync_error_t *err)
{
    rowsync_column_t *cols = NULL;
    char **json = NULL, *name = NULL;
    size_t n = 0, cap = 0, i;
    MYSQL_RES *res = NULL;
    MYSQL_ROW row;
    my_tref_t t;
    int rc;

    rc = my_tref(c, table, &t, err);
    if (rc == 0)
        rc = my_json_columns(c, &t, &json, err);
    if (rc == 0)
        rc = my_columns_query(c, &t, &res, err);
    if (rc < 0) {
        my_free_list(json);
        return rc;
    }
    while ((row = mysql_fetch_row(res)) != NULL) {
        rowsync_column_t *col;
        int is_json = 0;
        if (row[9] == NULL || strcmp(row[9], t.name) != 0)
            continue;
        if (n == cap) {
            rowsync_column_t *nc;
            cap = cap ? cap * 2 : 16;
            nc = realloc(cols, cap * sizeof *cols);
            if (nc == NULL)
                goto oom;
            cols = nc;
        }
        for (i = 0; json != NULL && json[i] != NULL; i++)
            is_json |= strcmp(json[i], row[0]) == 0;
        col = &cols[n];
        col->name = my_strdup(row[0]);
        col->native_type = my_strdup(is_json ? "json" : row[2]);
        n++;
        if (col->name == NULL || col->native_type == NULL)
            goto oom;
        col->type = my_map_type(row[1], row[2], row[4], is_json);
        col->nullable = row[3] != NULL && strcmp(row[3], "YES") == 0;
        col->key_position = 0;
    }
    mysql_free_result(res);
    res = NULL;
    my_free_list(json);
    json = NULL;
    if (n == 0) {
        free(cols);
        return my_not_found(c, table, err);
    }
    rc = my_primary_key(c, &t, cols, n, err);
    if (rc < 0) {
        for (i = 0; i < n; i++) {
            free((char *)cols[i].name);
            free((char *)cols[i].native_type);
        }
        free(cols);
        return rc;
    }
    name = my_strdup(table);
    if (name == NULL)
        goto oom;
    my_info_clear(c);
    c->cols = cols;
    c->ncols = n;
    c->info_name = name;
    c->info.name = name;
    c->info.ncolumns = n;
    c->info.columns = cols;
    *out = &c->info;
    return 0;

oom:
    mysql_free_result(res);
    my_free_list(json);
    for (i = 0; i < n; i++) {
        free((char *)cols[i].name);
        free((char *)cols[i].native_type);
    }
    free(cols);
    return my_oom(err);
}

/* ---- capture ---------------------------------------------------------- */

/* Checks a spec before it turns into capture objects. */
static int my_check_spec(rowsync_conn_t *c, const rowsync_table_spec_t *spec,
                         my_tref_t *t, rowsync_error_t *err)
{
    size_t i;
    int rc;

    if (spec == NULL)
        return rowsync_error_set(err, ROWSYNC_EINVAL, "no table spec");
    rc = my_tref(c, spec->table, t, err);
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
        if (spec->columns[i] == NULL || !my_ident_ok(spec->columns[i]))
            return rowsync_error_set(err, ROWSYNC_EINVAL,
                                     "table '%s' on node '%s': bad column "
                                     "name '%s'",
                                     spec->table, c->node,
                                     spec->columns[i] != NULL ? spec->columns[i]
                                                              : "(null)");
    return 0;
}

/* The history table's name and the three trigger names of t. */
typedef struct my_names {
    char hist[260];
    char trig[3][260];
} my_names_t;

static void my_names(const my_tref_t *t, my_names_t *n)
{
    my_objname(t->name, "rowsync_h_", "", n->hist, sizeof n->hist);
    my_objname(t->name, "rowsync_", "_ins", n->trig[0], sizeof n->trig[0]);
    my_objname(t->name, "rowsync_", "_upd", n->trig[1], sizeof n->trig[1]);
    my_objname(t->name, "rowsync_", "_del", n->trig[2], sizeof n->trig[2]);
}

/* Creates the state tables in the connection's database (DDL: this
 * commits, so never inside the apply transaction). */
static int my_state_tables(rowsync_conn_t *c, rowsync_error_t *err)
{
    rowsync_buf_t b = {NULL, 0, 0, 0};
    int64_t n = 0;
    size_t i;
    int rc;

    if (c->state_ok)
        return 0;
    /* look first: CREATE needs a privilege even when the tables exist */
    rowsync_buf_puts(&b, "SELECT COUNT(*) FROM information_schema.TABLES WHERE"
                  " TABLE_SCHEMA = ");
    my_sb_str(&b, c->db, c->database);
    rowsync_buf_puts(&b, " AND TABLE_NAME IN ('rowsync_state',"
                  " 'rowsync_conflicts')");
    if (b.oom)
        return my_oom(err);
    rc = my_query_int(c, b.p, &n, NULL, err,
                      "cannot look for the rowsync state tables");
    rowsync_buf_free(&b);
    if (rc < 0)
        return rc;
    if (n == 2) {
        c->state_ok = 1;
        return 0;
    }
    for (i = 0; my_state_ddl[i] != NULL; i++) {
        rc = my_exec(c, c->db, my_state_ddl[i], err,
                     "cannot create the rowsync state tables");
        if (rc < 0)
            return rc;
    }
    c->state_ok = 1;
    return 0;
}

/* One key column of the live table as the history table copies it. */
typedef struct my_keydef {
    char def[MY_DEF_MAX]; /* column type, character set, collation */
    int prefix;           /* a TEXT/BLOB key: index a prefix */
} my_keydef_t;

/* Checks that every spec column exists in the table and fills the key
 * column definitions (keys[spec->nkeys]). */
static int my_key_defs(rowsync_conn_t *c, const my_tref_t *t,
                       const rowsync_table_spec_t *spec, my_keydef_t *keys,
                       rowsync_error_t *err)
{
    MYSQL_RES *res;
    MYSQL_ROW row;
    size_t i, found = 0;
    char *seen;
    int rc;

    rc = my_columns_query(c, t, &res, err);
    if (rc < 0)
        return rc;
    seen = calloc(spec->ncolumns, 1);
    if (seen == NULL) {
        mysql_free_result(res);
        return my_oom(err);
    }
    while ((row = mysql_fetch_row(res)) != NULL) {
        if (row[9] == NULL || strcmp(row[9], t->name) != 0)
            continue;
        found++;
        for (i = 0; i < spec->ncolumns; i++) {
            if (strcasecmp(spec->columns[i], row[0]) != 0)
                continue;
            seen[i] = 1;
            if (i < spec->nkeys) {
                const char *dt = row[1] != NULL ? row[1] : "";
                if (row[6] != NULL && row[7] != NULL)
                    snprintf(keys[i].def, sizeof keys[i].def,
                             "%s CHARACTER SET %s COLLATE %s", row[2], row[6],
                             row[7]);
                else
                    snprintf(keys[i].def, sizeof keys[i].def, "%s", row[2]);
                keys[i].prefix = strstr(dt, "text") != NULL ||
                                 strstr(dt, "blob") != NULL ||
                                 strcmp(dt, "json") == 0;
            }
        }
    }
    mysql_free_result(res);
    rc = 0;
    if (found == 0) {
        rc = my_not_found(c, spec->table, err);
    } else {
        for (i = 0; i < spec->ncolumns; i++)
            if (!seen[i]) {
                rc = rowsync_error_set(err, ROWSYNC_ENOTFOUND,
                                       "column '%s' of table '%s' not found "
                                       "on node '%s' (%s)",
                                       spec->columns[i], spec->table, c->node,
                                       c->where);
                break;
            }
    }
    free(seen);
    return rc;
}

/* "k1, k2, ..." with an optional prefix ("h.") */
static void my_sb_hkeys(rowsync_buf_t *b, const char *prefix, size_t nkeys)
{
    size_t i;

    for (i = 0; i < nkeys; i++)
        rowsync_buf_printf(b, "%s%sk%zu", i ? ", " : "", prefix, i + 1);
}

/* "<rel>.`c1`, <rel>.`c2`" for spec columns [from, to). */
static void my_sb_cols(rowsync_buf_t *b, const char *rel,
                       const rowsync_table_spec_t *spec, size_t from, size_t to)
{
    size_t i;

    for (i = from; i < to; i++) {
        if (i > from)
            rowsync_buf_puts(b, ", ");
        if (rel != NULL) {
            rowsync_buf_puts(b, rel);
            rowsync_buf_puts(b, ".");
        }
        my_sb_ident(b, spec->columns[i]);
    }
}

/* The update trigger's history row with its column mask: bit i set when
 * spec column i (a non-key column) differs in binary between OLD and NEW,
 * NULL-safe; NULL (unknown) when the spec has more than 64 columns. */
static void my_sb_upd_cols(rowsync_buf_t *b, const my_tref_t *t,
                           const my_names_t *nm,
                           const rowsync_table_spec_t *spec)
{
    size_t i;

    rowsync_buf_puts(b, "INSERT INTO ");
    my_sb_qname(b, t->db, nm->hist);
    rowsync_buf_puts(b, " (op, time_us, origin, ");
    my_sb_hkeys(b, "", spec->nkeys);
    rowsync_buf_puts(b, ", cols) VALUES (2, " MY_NOW ", NULL, ");
    my_sb_cols(b, "NEW", spec, 0, spec->nkeys);
    if (spec->ncolumns > 64) {
        rowsync_buf_puts(b, ", NULL); ");
        return;
    }
    rowsync_buf_puts(b, ", 0");
    for (i = spec->nkeys; i < spec->ncolumns; i++) {
        rowsync_buf_puts(b, " | ((NOT (CAST(OLD.");
        my_sb_ident(b, spec->columns[i]);
        rowsync_buf_puts(b, " AS BINARY) <=> CAST(NEW.");
        my_sb_ident(b, spec->columns[i]);
        rowsync_buf_printf(b, " AS BINARY))) << %zu)", i);
    }
    rowsync_buf_puts(b, "); ");
}

/* The body of trigger kind 0 (insert), 1 (update), 2 (delete): one
 * history row per row change unless the session applies (rowsync's own
 * session writes history itself). An update that changes the key writes
 * a delete of the old key and an insert of the new; an update that
 * changes no synced column writes nothing. Compared with the stored body
 * to tell whether the installed trigger matches. Malloc'd. */
static char *my_trigger_body(const my_tref_t *t, const my_names_t *nm,
                             const rowsync_table_spec_t *spec, int kind)
{
    rowsync_buf_t b = {NULL, 0, 0, 0}, head = {NULL, 0, 0, 0};
    size_t i;

    rowsync_buf_puts(&head, "INSERT INTO ");
    my_sb_qname(&head, t->db, nm->hist);
    rowsync_buf_puts(&head, " (op, time_us, origin, ");
    my_sb_hkeys(&head, "", spec->nkeys);
    rowsync_buf_puts(&head, ") VALUES ");
    if (head.oom) {
        rowsync_buf_free(&head);
        return NULL;
    }
    rowsync_buf_puts(&b, "BEGIN IF @rowsync_applying IS NULL THEN ");
    if (kind == 1) {
        rowsync_buf_puts(&b, "IF NOT (");
        for (i = 0; i < spec->nkeys; i++) {
            if (i > 0)
                rowsync_buf_puts(&b, " AND ");
            rowsync_buf_puts(&b, "OLD.");
            my_sb_ident(&b, spec->columns[i]);
            rowsync_buf_puts(&b, " <=> NEW.");
            my_sb_ident(&b, spec->columns[i]);
        }
        rowsync_buf_puts(&b, ") THEN ");
        rowsync_buf_puts(&b, head.p);
        rowsync_buf_puts(&b, "(3, " MY_NOW ", NULL, ");
        my_sb_cols(&b, "OLD", spec, 0, spec->nkeys);
        rowsync_buf_puts(&b, "), (1, " MY_NOW ", NULL, ");
        my_sb_cols(&b, "NEW", spec, 0, spec->nkeys);
        rowsync_buf_puts(&b, "); ");
        if (spec->ncolumns > spec->nkeys) {
            rowsync_buf_puts(&b, "ELSEIF NOT (");
            for (i = spec->nkeys; i < spec->ncolumns; i++) {
                if (i > spec->nkeys)
                    rowsync_buf_puts(&b, " AND ");
                rowsync_buf_puts(&b, "CAST(OLD.");
                my_sb_ident(&b, spec->columns[i]);
                rowsync_buf_puts(&b, " AS BINARY) <=> CAST(NEW.");
                my_sb_ident(&b, spec->columns[i]);
                rowsync_buf_puts(&b, " AS BINARY)");
            }
            rowsync_buf_puts(&b, ") THEN ");
            my_sb_upd_cols(&b, t, nm, spec);
        }
        rowsync_buf_puts(&b, "END IF; ");
    } else {
        rowsync_buf_puts(&b, head.p);
        rowsync_buf_puts(&b, kind == 0 ? "(1, " MY_NOW ", NULL, "
                                : "(3, " MY_NOW ", NULL, ");
        my_sb_cols(&b, kind == 0 ? "NEW" : "OLD", spec, 0, spec->nkeys);
        rowsync_buf_puts(&b, "); ");
    }
    rowsync_buf_puts(&b, "END IF; END");
    rowsync_buf_free(&head);
    if (b.oom) {
        rowsync_buf_free(&b);
        return NULL;
    }
    return b.p;
}

/* Stored bodies of the table's rowsync triggers (NULL where missing). */
static int my_triggers_stored(rowsync_conn_t *c, const my_tref_t *t,
                              const my_names_t *nm, char *have[3],
                              rowsync_error_t *err)
{
    rowsync_buf_t b = {NULL, 0, 0, 0};
    MYSQL_RES *res;
    MYSQL_ROW row;
    int k, rc;

    rowsync_buf_puts(&b, "SELECT TRIGGER_NAME, ACTION_STATEMENT, EVENT_OBJECT_TABLE"
                  " FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ");
    my_sb_str(&b, c->db, t->db);
    rowsync_buf_puts(&b, " AND TRIGGER_NAME IN (");
    for (k = 0; k < 3; k++) {
        rowsync_buf_puts(&b, k ? ", " : "");
        my_sb_str(&b, c->db, nm->trig[k]);
    }
    rowsync_buf_puts(&b, ")");
    if (b.oom)
        return my_oom(err);
    rc = my_query(c, b.p, &res, err, "cannot read the triggers");
    rowsync_buf_free(&b);
    if (rc < 0)
        return rc;
    while (res != NULL && (row = mysql_fetch_row(res)) != NULL)
        for (k = 0; k < 3; k++)
            if (row[0] != NULL && strcmp(row[0], nm->trig[k]) == 0 &&
                row[2] != NULL && strcmp(row[2], t->name) == 0 &&
                have[k] == NULL)
                have[k] = my_strdup(row[1] != NULL ? row[1] : "");
    mysql_free_result(res);
    return 0;
}

/* Definitions of the k1..kN columns of an existing history table (count
 * in *n; *n = 0 when the table does not exist). */
static int my_hist_keys(rowsync_conn_t *c, const my_tref_t *t, const char *hist,
                        char defs[][MY_DEF_MAX], size_t max, size_t *n,
                        rowsync_error_t *err)
{
    my_tref_t h = *t;
    MYSQL_RES *res;
    MYSQL_ROW row;
    int rc;

    snprintf(h.name, sizeof h.name, "%s", hist);
    *n = 0;
    rc = my_columns_query(c, &h, &res, err);
    if (rc < 0)
        return rc;
    while ((row = mysql_fetch_row(res)) != NULL) {
        long k;
        if (row[9] == NULL || strcmp(row[9], h.name) != 0 || row[0] == NULL ||
            row[0][0] != 'k' || (k = my_uint(row[0] + 1, 1, 4096)) < 1)
            continue;
        if ((size_t)k > max) {
            *n = max + 1;
            continue;
        }
        if (row[6] != NULL && row[7] != NULL)
            snprintf(defs[k - 1], MY_DEF_MAX, "%s CHARACTER SET %s COLLATE %s",
                     row[2], row[6], row[7]);
        else
            snprintf(defs[k - 1], MY_DEF_MAX, "%s", row[2]);
        if ((size_t)k > *n)
            *n = (size_t)k;
    }
    mysql_free_result(res);
    return 0;
}

/* 1 in *exists when table name exists in database db. */
static int my_table_exists(rowsync_conn_t *c, const char *db, const char *name,
                           int *exists, rowsync_error_t *err)
{
    rowsync_buf_t b = {NULL, 0, 0, 0};
    MYSQL_RES *res;
    MYSQL_ROW row;
    int rc;

    *exists = 0;
    rowsync_buf_puts(&b, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE"
                  " TABLE_SCHEMA = ");
    my_sb_str(&b, c->db, db);
    rowsync_buf_puts(&b, " AND TABLE_NAME = ");
    my_sb_str(&b, c->db, name);
    if (b.oom)
        return my_oom(err);
    rc = my_query(c, b.p, &res, err, "cannot read the schema");
    rowsync_buf_free(&b);
    if (rc < 0)
        return rc;
    while (res != NULL && (row = mysql_fetch_row(res)) != NULL)
        if (row[0] != NULL && strcmp(row[0], name) == 0)
            *exists = 1;
    mysql_free_result(res);
    return 0;
}

/* Adds the column mask `cols` to a history table from before it had one
 * (its rows keep NULL: unknown). */
static int my_hist_add_cols(rowsync_conn_t *c, const my_tref_t *t,
                            const char *hist, rowsync_error_t *err)
{
    rowsync_buf_t b = {NULL, 0, 0, 0};
    int64_t has = 0;
    int rc;

    rowsync_buf_puts(&b, "SELECT COUNT(*) FROM information_schema.COLUMNS"
                         " WHERE TABLE_SCHEMA = ");
    my_sb_str(&b, c->db, t->db);
    rowsync_buf_puts(&b, " AND TABLE_NAME = ");
    my_sb_str(&b, c->db, hist);
    rowsync_buf_puts(&b, " AND COLUMN_NAME = 'cols'");
    if (b.oom)
        return my_oom(err);
    rc = my_query_int(c, b.p, &has, NULL, err, "cannot read the schema");
    b.len = 0;
    if (rc == 0 && has == 0) {
        rowsync_buf_puts(&b, "ALTER TABLE ");
        my_sb_qname(&b, t->db, hist);
        rowsync_buf_puts(&b, " ADD COLUMN cols BIGINT UNSIGNED NULL");
        rc = my_exec_sb(c, &b, err, "cannot install change capture");
    }
    rowsync_buf_free(&b);
    return rc;
}

/* capture = binlog: brings the table's history up to the end of the
 * binary log (mysql_binlog.c) on the driver's own ingestion session, so
 * that the caller's session and transaction stay untouched. Nothing in
 * trigger mode, or when no binlog position is recorded for the table
 * (capture not installed in binlog mode: the history, if any, is the
 * triggers'). */
static int my_binlog_sync(rowsync_conn_t *c, const rowsync_table_spec_t *spec,
                          const my_tref_t *t, const my_names_t *nm,
                          rowsync_error_t *err)
{
    my_bl_target_t bt;
    int rc;

    if (!c->binlog)
        return 0;
    if (c->bl_db == NULL && (rc = my_session(c, 0, &c->bl_db, err)) < 0)
        return rc;
    bt.node = c->node;
    bt.where = c->where;
    bt.db = t->db;
    bt.name = t->name;
    bt.hist = nm->hist;
    bt.spec = spec;
    bt.server_id = c->binlog_server_id;
    rc = my_bl_ingest(c, c->bl_db, &bt, c->lock_wait, NULL, err);
    if (rc < 0 && (rc == ROWSYNC_ECONN || mysql_errno(c->bl_db) != 0)) {
        mysql_close(c->bl_db);
        c->bl_db = NULL;
    }
    return rc < 0 ? rc : 0;
}

static int my_state_get(rowsync_conn_t *c, const char *key, char *buf,
                        size_t len, int64_t *updated_us, rowsync_error_t *err);
static int my_state_set(rowsync_conn_t *c, const char *key, const char *value,
                        rowsync_error_t *err);

/* The binlog ingest position of table t: read into pos (pos[0] = '\0'
 * when none), set to the server's current binlog end (set), or deleted
 * (del). The state tables must exist for set. */
static int my_binlog_pos(rowsync_conn_t *c, const my_tref_t *t, char *pos,
                         size_t len, int set, int del, rowsync_error_t *err)
{
    char key[600];
    rowsync_buf_t b = {NULL, 0, 0, 0};
    int rc;

    my_bl_state_key(t->db, t->name, key, sizeof key);
    if (del) {
        rowsync_buf_puts(&b, "DELETE FROM rowsync_state WHERE name IN (");
        my_sb_str(&b, c->db, key);
        rowsync_buf_puts(&b, ", ");
        snprintf(key, sizeof key, "binlog_cols:%s.%s", t->db, t->name);
        my_sb_str(&b, c->db, key);
        rowsync_buf_puts(&b, ")");
        if (b.oom)
            return my_oom(err);
        rc = 0;
        if (mysql_real_query(c->db, b.p, (unsigned long)b.len) != 0 &&
            mysql_errno(c->db) != 1146)
            rc = my_fail(c, c->db, err, "cannot forget the binlog position");
        rowsync_buf_free(&b);
        return rc;
    }
    if (set) {
        rc = my_bl_head(c, c->db, c->node, pos, len, err);
        return rc < 0 ? rc : my_state_set(c, key, pos, err);
    }
    return my_state_get(c, key, pos, len, NULL, err);
}

/* Installs (or brings up to date) the history table, its index, the three
 * triggers and the state tables. DDL commits as it goes in MySQL, so each
 * step is idempotent: history rows are kept unless the number of key
 * columns changed; triggers built for another column list are replaced in
 * place (CREATE OR REPLACE on MariaDB, DROP + CREATE on MySQL). */
static int my_capture_install(rowsync_conn_t *c,
                              const rowsync_table_spec_t *spec,
                              rowsync_error_t *err)
{
    static const char *const what = "cannot install change capture";
    static const char *const event[] = {"INSERT", "UPDATE", "DELETE"};
    my_keydef_t *keys = NULL;
    char(*have_defs)[MY_DEF_MAX] = NULL;
    char *want[3] = {NULL, NULL, NULL}, *have[3] = {NULL, NULL, NULL};
    rowsync_buf_t b = {NULL, 0, 0, 0};
    char pos[MY_BL_POS_MAX];
    my_names_t nm;
    my_tref_t t;
    size_t hk = 0, i;
    int rc, k, exists = 0, forget = 0, had_hist;

    if (c->in_tx)
        return rowsync_error_set(err, ROWSYNC_EINVAL,
                                 "node '%s': capture_install inside a "
                                 "transaction (DDL would commit it)",
                                 c->node);
    rc = my_check_spec(c, spec, &t, err);
    if (rc < 0)
        return rc;
    my_names(&t, &nm);
    keys = calloc(spec->nkeys, sizeof *keys);
    have_defs = calloc(spec->nkeys, sizeof *have_defs);
    if (keys == NULL || have_defs == NULL) {
        rc = my_oom(err);
        goto out;
    }
    rc = my_key_defs(c, &t, spec, keys, err);
    if (rc == 0 && c->binlog)
        rc = my_bl_check(c, c->db, c->node, c->where, err);
    if (rc == 0)
        rc = my_state_tables(c, err);
    if (rc == 0)
        rc = my_table_exists(c, t.db, nm.hist, &exists, err);
    had_hist = exists;
    /* Binlog capture starts here (before the triggers of a former
     * trigger-mode install go: a change in between is captured twice,
     * which nets out, never lost). A re-install keeps the position; a
     * position without its history table is from a table dropped since
     * and starts over. */
    if (rc == 0 && c->binlog)
        rc = my_binlog_pos(c, &t, pos, sizeof pos, 0, 0, err);
    if (rc == 0 && c->binlog && (pos[0] == '\0' || !exists))
        rc = my_binlog_pos(c, &t, pos, sizeof pos, 1, 0, err);
    if (rc == 0 && exists)
        rc = my_hist_keys(c, &t, nm.hist, have_defs, spec->nkeys, &hk, err);
    if (rc == 0 && exists && hk != spec->nkeys) {
        /* Rows keyed by another key list cannot be joined any more. */
        rowsync_buf_puts(&b, "DROP TABLE ");
        my_sb_qname(&b, t.db, nm.hist);
        rc = my_exec_sb(c, &b, err, what);
        exists = 0;
    }
    if (rc == 0 && !exists) {
        rowsync_buf_puts(&b, "CREATE TABLE ");
        my_sb_qname(&b, t.db, nm.hist);
        rowsync_buf_puts(&b, " (seq BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,"
                      " op TINYINT NOT NULL, time_us BIGINT NOT NULL,"
                      " origin VARCHAR(255) NULL");
        for (i = 0; i < spec->nkeys; i++) {
            rowsync_buf_printf(&b, ", k%zu ", i + 1);
            rowsync_buf_puts(&b, keys[i].def);
            rowsync_buf_puts(&b, " NULL");
        }
        /* No secondary index: every captured row would write it (about
         * 15% of a bulk INSERT's time), and extraction groups the window's
         * rows in one pass over the primary key without it. History tables
         * made earlier keep their rowsync_k (k..., seq) index. */
        rowsync_buf_puts(
            &b, ", cols BIGINT UNSIGNED NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
                " COLLATE=utf8mb4_bin COMMENT='rowsync change history'");
        rc = my_exec_sb(c, &b, err, what);
    } else if (rc == 0) {
        /* Same key count: bring changed key types along, rows stay. */
        for (i = 0; i < spec->nkeys && rc == 0; i++) {
            if (strcasecmp(have_defs[i], keys[i].def) == 0)
                continue;
            rowsync_buf_puts(&b, "ALTER TABLE ");
            my_sb_qname(&b, t.db, nm.hist);
            rowsync_buf_printf(&b, " MODIFY k%zu ", i + 1);
            rowsync_buf_puts(&b, keys[i].def);
            rowsync_buf_puts(&b, " NULL");
            rc = my_exec_sb(c, &b, err, what);
        }
        if (rc == 0)
            rc = my_hist_add_cols(c, &t, nm.hist, err);
    }
    for (k = 0; k < 3 && rc == 0; k++)
        if ((want[k] = my_trigger_body(&t, &nm, spec, k)) == NULL)
            rc = my_oom(err);
    if (rc == 0)
        rc = my_triggers_stored(c, &t, &nm, have, err);
    /* Pending masks name the columns of the update trigger being
     * replaced: unknown from now on (after the replace, so that no mask
     * of the old trigger is written later). */
    forget = exists && !c->binlog &&
             (have[1] == NULL || strcmp(have[1], want[1]) != 0);
    if (rc == 0 && c->binlog) {
        /* The masks of ingested rows are bits of the spec's column list
         * at the time they were read: a changed list makes them unknown,
         * as a replaced update trigger does. The list is kept as a hash. */
        char key[600], have_sig[64], sig[32];
        uint64_t h = 1469598103934665603ULL;
        const char *p;
        for (i = 0; i < spec->ncolumns; i++)
            for (p = spec->columns[i];; p++) {
                h = (h ^ (unsigned char)*p) * 1099511628211ULL;
                if (*p == '\0')
                    break;
            }
        snprintf(sig, sizeof sig, "%016llx/%zu", (unsigned long long)h,
                 spec->nkeys);
        snprintf(key, sizeof key, "binlog_cols:%s.%s", t.db, t.name);
        rc = my_state_get(c, key, have_sig, sizeof have_sig, NULL, err);
        if (rc == 0 && strcmp(have_sig, sig) != 0) {
            forget = exists && have_sig[0] != '\0';
            rc = my_state_set(c, key, sig, err);
        }
    }
    for (k = 0; k < 3 && rc == 0 && c->binlog; k++) {
        /* binlog capture: no triggers (a trigger-mode install's go) */
        if (have[k] == NULL)
            continue;
        rowsync_buf_puts(&b, "DROP TRIGGER IF EXISTS ");
        my_sb_qname(&b, t.db, nm.trig[k]);
        rc = my_exec_sb(c, &b, err, what);
    }
    for (k = 0; k < 3 && rc == 0 && !c->binlog; k++) {
        if (have[k] != NULL && strcmp(have[k], want[k]) == 0)
            continue;
        if (!c->mariadb && have[k] != NULL) {
            rowsync_buf_puts(&b, "DROP TRIGGER IF EXISTS ");
            my_sb_qname(&b, t.db, nm.trig[k]);
            rc = my_exec_sb(c, &b, err, what);
            if (rc < 0)
                break;
        }
        rowsync_buf_puts(&b, c->mariadb ? "CREATE OR REPLACE TRIGGER "
                                 : "CREATE TRIGGER ");
        my_sb_qname(&b, t.db, nm.trig[k]);
        rowsync_buf_puts(&b, " AFTER ");
        rowsync_buf_puts(&b, event[k]);
        rowsync_buf_puts(&b, " ON ");
        my_sb_qname(&b, t.db, t.name);
        rowsync_buf_puts(&b, " FOR EACH ROW ");
        rowsync_buf_puts(&b, want[k]);
        rc = my_exec_sb(c, &b, err, what);
    }
    if (rc == 0 && forget) {
        rowsync_buf_puts(&b, "UPDATE ");
        my_sb_qname(&b, t.db, nm.hist);
        rowsync_buf_puts(&b, " SET cols = NULL WHERE cols IS NOT NULL");
        rc = my_exec_sb(c, &b, err, what);
    }
    /* Back from binlog capture to triggers: the binlog is read up to now
     * (the triggers exist already: overlap, no loss), then forgotten. A
     * position without its history table is from a table dropped since:
     * only forgotten. */
    if (rc == 0 && !c->binlog)
        rc = my_binlog_pos(c, &t, pos, sizeof pos, 0, 0, err);
    if (rc == 0 && !c->binlog && pos[0] != '\0' && had_hist) {
        c->binlog = 1;
        rc = my_binlog_sync(c, spec, &t, &nm, err);
        c->binlog = 0;
    }
    if (rc == 0 && !c->binlog && pos[0] != '\0')
        rc = my_binlog_pos(c, &t, pos, sizeof pos, 0, 1, err);
    if (rc < 0)
        rowsync_error_prefix(err, "table '%s'", spec->table);
    my_drop_cache(c);
out:
    for (k = 0; k < 3; k++) {
        free(want[k]);
        free(have[k]);
    }
    free(keys);
    free(have_defs);
    rowsync_buf_free(&b);
    return rc;
}

/* 1 in *installed when the history table and the three triggers exist. */
static int my_capture_status(rowsync_conn_t *c,
                             const rowsync_table_spec_t *spec, int *installed,
                             rowsync_error_t *err)
{
    char *have[3] = {NULL, NULL, NULL};
    my_names_t nm;
    my_tref_t t;
    int rc, k, exists = 0;

    if (spec == NULL)
        return rowsync_error_set(err, ROWSYNC_EINVAL, "no table spec");
    rc = my_tref(c, spec->table, &t, err);
    if (rc < 0)
        return rc;
    my_names(&t, &nm);
    rc = my_table_exists(c, t.db, nm.hist, &exists, err);
    if (rc == 0 && exists && c->binlog) {
        /* binlog capture: the history table and an ingest position */
        char pos[MY_BL_POS_MAX];
        rc = my_binlog_pos(c, &t, pos, sizeof pos, 0, 0, err);
        if (rc == 0)
            *installed = pos[0] != '\0';
        return rc;
    }
    if (rc == 0 && exists)
        rc = my_triggers_stored(c, &t, &nm, have, err);
    if (rc < 0)
        return rc;
    *installed = exists;
    for (k = 0; k < 3; k++) {
        if (have[k] == NULL)
            *installed = 0;
        free(have[k]);
    }
    return 0;
}

/* The common start of the calls that work on a table's capture objects
 * from its name alone: a spec is given, no apply transaction is open
 * (busy says which call refuses and why), the table is resolved into *t
 * and its capture objects are named in *nm. 0 or a negative code. */
static int my_capture_target(rowsync_conn_t *c,
                             const rowsync_table_spec_t *spec,
                             const char *busy, my_tref_t *t, my_names_t *nm,
                             rowsync_error_t *err)
{
    int rc;

    if (spec == NULL)
        return rowsync_error_set(err, ROWSYNC_EINVAL, "no table spec");
    if (c->in_tx)
        return rowsync_error_set(err, ROWSYNC_EINVAL, "node '%s': %s",
                                 c->node, busy);
    rc = my_tref(c, spec->table, t, err);
    if (rc < 0)
        return rc;
    my_names(t, nm);
    return 0;
}

/* Drops the triggers first (the application's writes stop feeding the
 * history), then the history table. Idempotent; works from the table name
 * alone. */
static int my_capture_remove(rowsync_conn_t *c,
                             const rowsync_table_spec_t *spec,
                             rowsync_error_t *err)
{
    rowsync_buf_t b = {NULL, 0, 0, 0};
    my_names_t nm;
    my_tref_t t;
    int rc, k;

    rc = my_capture_target(c, spec, "capture_remove inside a transaction",
                           &t, &nm, err);
    if (rc < 0)
        return rc;
    for (k = 0; k < 3 && rc == 0; k++) {
        rowsync_buf_puts(&b, "DROP TRIGGER IF EXISTS ");
        my_sb_qname(&b, t.db, nm.trig[k]);
        rc = my_exec_sb(c, &b, err, "cannot remove change capture");
    }
    if (rc == 0) {
        rowsync_buf_puts(&b, "DROP TABLE IF EXISTS ");
        my_sb_qname(&b, t.db, nm.hist);
        rc = my_exec_sb(c, &b, err, "cannot remove change capture");
    }
    if (rc == 0)
        rc = my_binlog_pos(c, &t, NULL, 0, 0, 1, err);
    if (rc < 0)
        rowsync_error_prefix(err, "table '%s'", spec->table);
    my_drop_cache(c);
    rowsync_buf_free(&b);
    return rc;
}

/* Turns "no such table" about the history table into the advice to run
 * init; other errors pass. */
static int my_history_error(rowsync_conn_t *c, const char *table,
                            const char *hist, int rc, rowsync_error_t *err)
{
    if (rc == ROWSYNC_ENOTFOUND && err != NULL &&
        strstr(err->message, hist) != NULL) {
        long native = err->native;
        rc = rowsync_error_set(err, ROWSYNC_ENOTFOUND,
                               "change capture is not installed for table "
                               "'%s' on node '%s' (%s); run `rowsync init`",
                               table, c->node, c->where);
        err->native = native;
    }
    return rc;
}

static int my_history_clear(rowsync_conn_t *c, const rowsync_table_spec_t *spec,
                            rowsync_error_t *err)
{
    rowsync_buf_t b = {NULL, 0, 0, 0};
    my_names_t nm;
    my_tref_t t;
    int rc;

    if (spec == NULL)
        return rowsync_error_set(err, ROWSYNC_EINVAL, "no table spec");
    rc = my_tref(c, spec->table, &t, err);
    if (rc < 0)
        return rc;
    my_names(&t, &nm);
    /* DELETE, not TRUNCATE: the AUTO_INCREMENT counter must not restart
     * below the cursors already handed out. */
    rowsync_buf_puts(&b, "DELETE FROM ");
    my_sb_qname(&b, t.db, nm.hist);
    rc = my_exec_sb(c, &b, err, "cannot clear the history");
    rowsync_buf_free(&b);
    return my_history_error(c, spec->table, nm.hist, rc, err);
}

static int my_history_count(rowsync_conn_t *c, const rowsync_table_spec_t *spec,
                            int64_t *rows, rowsync_error_t *err)
{
    rowsync_buf_t b = {NULL, 0, 0, 0};
    my_names_t nm;
    my_tref_t t;
    int rc;

    if (spec == NULL)
        return rowsync_error_set(err, ROWSYNC_EINVAL, "no table spec");
    rc = my_tref(c, spec->table, &t, err);
    if (rc < 0)
        return rc;
    my_names(&t, &nm);
    rc = my_binlog_sync(c, spec, &t, &nm, err);
    if (rc < 0)
        return rc;
    rowsync_buf_puts(&b, "SELECT COUNT(*) FROM ");
    my_sb_qname(&b, t.db, nm.hist);
    if (b.oom)
        return my_oom(err);
    rc = my_query_int(c, b.p, rows, NULL, err, "cannot count the history");
    rowsync_buf_free(&b);
    return my_history_error(c, spec->table, nm.hist, rc, err);
}

/* History rows deleted per statement by history_purge. */
#define MY_PURGE_CHUNK 5000

/* One purge chunk: b holds "SELECT seq ... AND seq > " up to base; the
 * committed rows to go after *last are read with a consistent
 * (non-locking) read, then deleted by primary key value, which locks
 * exactly those rows (history rows are never updated, so nothing else
 * holds them). *n receives the rows deleted; returns 1 when a full chunk
 * was read (more may follow), 0 at the end, or an error. */
static int my_purge_chunk(rowsync_conn_t *c, rowsync_buf_t *b, size_t base,
                          const my_names_t *nm, const my_tref_t *t,
                          int64_t *last, int64_t *n, rowsync_error_t *err)
{
    rowsync_buf_t d = {NULL, 0, 0, 0};
    MYSQL_RES *res = NULL;
    MYSQL_ROW row;
    size_t rows = 0;
    int rc;

    *n = 0;
    b->len = base;
    rowsync_buf_printf(b, "%lld ORDER BY seq LIMIT %d", (long long)*last,
                       MY_PURGE_CHUNK);
    if (b->oom)
        return my_oom(err);
    rc = my_query(c, b->p, &res, err, "cannot read the history to purge");
    if (rc < 0)
        return rc;
    rowsync_buf_puts(&d, "DELETE FROM ");
    my_sb_qname(&d, t->db, nm->hist);
    rowsync_buf_puts(&d, " WHERE seq IN (");
    while (res != NULL && (row = mysql_fetch_row(res)) != NULL) {
        if (row[0] == NULL)
            continue;
        rowsync_buf_printf(&d, "%s%s", rows ? "," : "", row[0]);
        *last = strtoll(row[0], NULL, 10);
        rows++;
    }
    mysql_free_result(res);
    rowsync_buf_puts(&d, ")");
    if (d.oom)
        rc = my_oom(err);
    else if (rows > 0)
        rc = my_exec(c, c->db, d.p, err, "cannot purge the history");
    if (rc == 0 && rows > 0)
        *n = (int64_t)mysql_affected_rows(c->db);
    rowsync_buf_free(&d);
    if (rc < 0)
        return rc;
    return rows == MY_PURGE_CHUNK ? 1 : 0;
}

/* Deletes the history rows that every cursor covers and that were stamped
 * before before_us. A MySQL cursor (S, gaps) covers every seq <= S
 * outside its gaps (see "cursors" above), so the rows to go have
 * seq <= min(S) and lie in no gap of any cursor: a row whose writer was
 * still in flight when some cursor was taken stays until that direction
 * has read it. An empty cursor, or none, covers nothing. On MySQL before
 * 8.0 the AUTO_INCREMENT counter restarts at MAX(seq) + 1 after a server
 * restart, so the newest row is kept there: seqs must never come back
 * below the cursors handed out.
 *
 * The delete runs in chunks of MY_PURGE_CHUNK rows in seq order (see
 * my_purge_chunk), each its own autocommitted statement: a long history
 * goes without one huge InnoDB transaction, and no lock is taken on a
 * row or range that a writer still holds (a range DELETE would wait for
 * the in-flight row of a gap, and its next-key locks would hold up the
 * triggers' inserts). Every chunk removes only covered rows, so a
 * failure between chunks leaves a correct, smaller history. Seq bounds
 * come from parsed cursors and are written as integers, like the
 * extraction window; before_us likewise. */
static int my_history_purge(rowsync_conn_t *c, const rowsync_table_spec_t *spec,
                            const char *const *cursors, size_t ncursors,
                            int64_t before_us, int64_t *purged,
                            rowsync_error_t *err)
{
    my_cursor_t *curs = NULL;
    rowsync_buf_t b = {NULL, 0, 0, 0};
    int64_t upto = INT64_MAX, done = 0, last = 0, n;
    my_names_t nm;
    my_tref_t t;
    size_t i, j, base;
    int rc, empty = ncursors == 0;

    if (purged != NULL)
        *purged = 0;
    rc = my_capture_target(c, spec,
                           "history_purge inside the apply transaction", &t,
                           &nm, err);
    if (rc < 0)
        return rc;
    if (ncursors > 0 && (curs = calloc(ncursors, sizeof *curs)) == NULL)
        return my_oom(err);
    for (i = 0; i < ncursors; i++) {
        const char *text = cursors != NULL ? cursors[i] : NULL;
        if (text == NULL || text[0] == '\0') {
            empty = 1;
            continue;
        }
        rc = my_cursor_parse(c, text, &curs[i], err);
        if (rc < 0) {
            rowsync_error_prefix(err, "table '%s'", spec->table);
            goto out;
        }
        if (curs[i].s < upto)
            upto = curs[i].s;
    }
    if (empty || upto <= 0)
        goto out;
    if (!c->mariadb && mysql_get_server_version(c->db) < 80000) {
        int isnull = 0;
        rowsync_buf_puts(&b, "SELECT MAX(seq) FROM ");
        my_sb_qname(&b, t.db, nm.hist);
        if (b.oom) {
            rc = my_oom(err);
            goto out;
        }
        rc = my_query_int(c, b.p, &n, &isnull, err, "cannot read the history");
        b.len = 0;
        if (rc < 0) {
            rc = my_history_error(c, spec->table, nm.hist, rc, err);
            goto out;
        }
        if (isnull || n - 1 < upto)
            upto = isnull ? 0 : n - 1;
        if (upto <= 0)
            goto out;
    }
    rowsync_buf_puts(&b, "SELECT seq FROM ");
    my_sb_qname(&b, t.db, nm.hist);
    rowsync_buf_printf(&b, " WHERE seq <= %lld AND time_us < %lld",
                       (long long)upto, (long long)before_us);
    for (i = 0; i < ncursors; i++)
        for (j = 0; j < curs[i].ng && curs[i].g[j].a <= upto; j++) {
            if (curs[i].g[j].a == curs[i].g[j].b)
                rowsync_buf_printf(&b, " AND seq <> %lld",
                                   (long long)curs[i].g[j].a);
            else
                rowsync_buf_printf(&b, " AND seq NOT BETWEEN %lld AND %lld",
                                   (long long)curs[i].g[j].a,
                                   (long long)curs[i].g[j].b);
        }
    rowsync_buf_puts(&b, " AND seq > ");
    if (b.oom) {
        rc = my_oom(err);
        goto out;
    }
    base = b.len;
    do {
        rc = my_purge_chunk(c, &b, base, &nm, &t, &last, &n, err);
        done += n;
    } while (rc > 0);
    if (rc < 0) {
        rc = my_history_error(c, spec->table, nm.hist, rc, err);
        if (err != NULL && !strstr(err->message, spec->table))
            rowsync_error_prefix(err, "table '%s'", spec->table);
    }
    if (purged != NULL)
        *purged = done;
out:
    for (i = 0; i < ncursors && curs != NULL; i++)
        my_cursor_free(&curs[i]);
    free(curs);
    rowsync_buf_free(&b);
    return rc;
}

/* Drops the state tables (the apply marker is a session variable: nothing
 * to drop for it). */
static int my_state_remove(rowsync_conn_t *c, rowsync_error_t *err)
{
    if (c->in_tx)
        return rowsync_error_set(err, ROWSYNC_EINVAL,
                                 "node '%s': state_remove inside a "
                                 "transaction",
                                 c->node);
    c->state_ok = 0;
    return my_exec(c, c->db,
                   "DROP TABLE IF EXISTS rowsync_state, rowsync_conflicts", err,
                   "cannot remove the rowsync state tables");
}

/* ---- locks ------------------------------------------------------------ */

/* The server-side name of lock `name`: scoped by the connection's
 * database ("db/name"), so jobs syncing other databases of the same server
 * do not block each other; names past the server's 64-character limit
 * become "rowsync:" and their SHA1 (computed by the server). */
static void my_sb_lockname(rowsync_buf_t *b, rowsync_conn_t *c, const char *name)
{
    rowsync_buf_t full = {NULL, 0, 0, 0};

    rowsync_buf_puts(&full, c->database);
    rowsync_buf_puts(&full, "/");
    rowsync_buf_puts(&full, name);
    if (full.oom) {
        b->oom = 1;
        return;
    }
    if (my_chars(full.p) <= MY_IDENT_MAX) {
        my_sb_str(b, c->db, full.p);
    } else {
        rowsync_buf_puts(b, "CONCAT('rowsync:', SHA1(");
        my_sb_str(b, c->db, full.p);
        rowsync_buf_puts(b, "))");
    }
    rowsync_buf_free(&full);
}

/* Takes the named lock with GET_LOCK, held by the main session until
 * unlock, disconnect or the session's death. MariaDB waits fractions of a
 * second; MySQL whole seconds (rounded up). */
static int my_lock(rowsync_conn_t *c, const char *name, int timeout_ms,
                   rowsync_error_t *err)
{
    rowsync_buf_t b = {NULL, 0, 0, 0};
    int64_t got = 0, holder = 0, t0;
    int isnull = 0, rc;

    if (name == NULL || name[0] == '\0')
        return rowsync_error_set(err, ROWSYNC_EINVAL, "empty lock name");
    if (timeout_ms < 0)
        timeout_ms = 0;
    rowsync_buf_puts(&b, "SELECT GET_LOCK(");
    my_sb_lockname(&b, c, name);
    if (c->mariadb || timeout_ms % 1000 == 0)
        rowsync_buf_printf(&b, ", %d.%03d)", timeout_ms / 1000, timeout_ms % 1000);
    else
        rowsync_buf_printf(&b, ", %d)", (timeout_ms + 999) / 1000);
    if (b.oom)
        return my_oom(err);
    t0 = my_mono_ms();
    rc = my_query_int(c, b.p, &got, &isnull, err, "cannot take a lock");
    rowsync_buf_free(&b);
    if (rc < 0) {
        rowsync_error_prefix(err, "lock '%s'", name);
        return rc;
    }
    if (!isnull && got == 1) {
        c->locked = 1;
        return 0;
    }
    rowsync_buf_puts(&b, "SELECT IS_USED_LOCK(");
    my_sb_lockname(&b, c, name);
    rowsync_buf_puts(&b, ")");
    if (!b.oom)
        my_query_int(c, b.p, &holder, NULL, NULL, "");
    rowsync_buf_free(&b);
    rc = rowsync_error_set(
        err, ROWSYNC_ELOCKED,
        "lock '%s' on node '%s' (%s) is held by another session (MySQL "
        "connection %lld); gave up after %lld ms: another rowsync process "
        "is working on this pair, retry later or raise lock_timeout",
        name, c->node, c->where, (long long)holder,
        (long long)(my_mono_ms() - t0));
    return rc;
}

static int my_unlock(rowsync_conn_t *c, const char *name, rowsync_error_t *err)
{
    rowsync_buf_t b = {NULL, 0, 0, 0};
    int64_t got = 0;
    int rc;

    if (name == NULL || name[0] == '\0')
        return rowsync_error_set(err, ROWSYNC_EINVAL, "empty lock name");
    rowsync_buf_puts(&b, "SELECT RELEASE_LOCK(");
    my_sb_lockname(&b, c, name);
    rowsync_buf_puts(&b, ")");
    if (b.oom)
        return my_oom(err);
    rc = my_query_int(c, b.p, &got, NULL, err, "cannot release a lock");
    rowsync_buf_free(&b);
    if (rc < 0)
        rowsync_error_prefix(err, "lock '%s'", name);
    return rc;
}

/* ---- state ------------------------------------------------------------ */

/* Reads a state value; a missing state table reads as unset. */
static int my_state_get(rowsync_conn_t *c, const char *key, char *buf,
                        size_t len, int64_t *updated_us, rowsync_error_t *err)
{
    rowsync_buf_t b = {NULL, 0, 0, 0};
    MYSQL_RES *res = NULL;
    MYSQL_ROW row;
    unsigned long *lens;
    int rc;

    if (updated_us != NULL)
        *updated_us = 0;
    if (len > 0)
        buf[0] = '\0';
    if (key == NULL)
        return rowsync_error_set(err, ROWSYNC_EINVAL, "state needs a key");
    rowsync_buf_puts(&b, "SELECT value, updated_us FROM rowsync_state WHERE"
                  " name = ");
    my_sb_str(&b, c->db, key);
    if (b.oom)
        return my_oom(err);
    if (mysql_real_query(c->db, b.p, (unsigned long)b.len) != 0) {
        rowsync_buf_free(&b);
        if (mysql_errno(c->db) == 1146)
            return 0;
        return my_fail(c, c->db, err, "cannot read state '%s'", key);
    }
    rowsync_buf_free(&b);
    res = mysql_store_result(c->db);
    if (res == NULL)
        return my_fail(c, c->db, err, "cannot read state '%s'", key);
    row = mysql_fetch_row(res);
    rc = 0;
    if (row != NULL) {
        lens = mysql_fetch_lengths(res);
        if (lens[0] + 1 > len) {
            rc = rowsync_error_set(err, ROWSYNC_EINVAL,
                                   "state '%s' on node '%s' is longer (%lu "
                                   "bytes) than the buffer",
                                   key, c->node, lens[0]);
        } else {
            memcpy(buf, row[0] != NULL ? row[0] : "", lens[0]);
            buf[lens[0]] = '\0';
            if (updated_us != NULL && row[1] != NULL)
                *updated_us = strtoll(row[1], NULL, 10);
        }
    }
    mysql_free_result(res);
    return rc;
}

static int my_state_set(rowsync_conn_t *c, const char *key, const char *value,
                        rowsync_error_t *err)
{
    rowsync_buf_t b = {NULL, 0, 0, 0};
    int rc;

    if (key == NULL || value == NULL)
        return rowsync_error_set(err, ROWSYNC_EINVAL,
                                 "state needs a key "
                                 "and a value");
    if (!c->in_tx) {
        rc = my_state_tables(c, err);
        if (rc < 0)
            return rc;
    }
    rowsync_buf_puts(&b, "INSERT INTO rowsync_state (name, value, updated_us)"
                  " VALUES (");
    my_sb_str(&b, c->db, key);
    rowsync_buf_puts(&b, ", ");
    my_sb_str(&b, c->db, value);
    rowsync_buf_puts(&b, ", " MY_NOW ") ON DUPLICATE KEY UPDATE value ="
                  " VALUES(value), updated_us = VALUES(updated_us)");
    rc = my_exec_sb(c, &b, err, "cannot write rowsync_state");
    rowsync_buf_free(&b);
    if (rc < 0)
        rowsync_error_prefix(err, "state '%s'", key);
    return rc;
}

static int my_conflict_log(rowsync_conn_t *c, const rowsync_conflict_t *k,
                           rowsync_error_t *err)
{
    rowsync_buf_t b = {NULL, 0, 0, 0};
    int rc;

    if (!c->in_tx) {
        rc = my_state_tables(c, err);
        if (rc < 0)
            return rc;
    }
    rowsync_buf_printf(&b,
               "INSERT INTO rowsync_conflicts (decided_us, tbl,"
               " key_text, rule, winner, loser, winner_time_us,"
               " loser_time_us, note) VALUES (%lld, ",
               (long long)k->decided_us);
    my_sb_str(&b, c->db, k->table);
    rowsync_buf_puts(&b, ", ");
    my_sb_str(&b, c->db, k->key);
    rowsync_buf_puts(&b, ", ");
    my_sb_str(&b, c->db, k->rule);
    rowsync_buf_puts(&b, ", ");
    my_sb_str(&b, c->db, k->winner);
    rowsync_buf_puts(&b, ", ");
    my_sb_str(&b, c->db, k->loser);
    rowsync_buf_printf(&b, ", %lld, %lld, ", (long long)k->winner_time_us,
               (long long)k->loser_time_us);
    my_sb_str(&b, c->db, k->note);
    rowsync_buf_puts(&b, ")");
    rc = my_exec_sb(c, &b, err, "cannot journal a conflict");
    rowsync_buf_free(&b);
    if (rc < 0)
        rowsync_error_prefix(err, "table '%s'",
                             k->table != NULL ? k->table : "?");
    return rc;
}

/* Calls cb per journaled conflict, newest first, reading row by row; the
 * strings handed to cb are valid during the call only. */
static int my_conflicts_read(rowsync_conn_t *c, size_t limit,
                             rowsync_conflict_cb cb, void *ctx,
                             rowsync_error_t *err)
{
    char sql[400];
    MYSQL_RES *res;
    MYSQL_ROW row;
    int stop = 0;

    snprintf(sql, sizeof sql,
             "SELECT decided_us, tbl, key_text, rule, winner, loser,"
             " winner_time_us, loser_time_us, note FROM rowsync_conflicts"
             " ORDER BY id DESC");
    if (limit > 0)
        snprintf(sql + strlen(sql), sizeof sql - strlen(sql), " LIMIT %llu",
                 (unsigned long long)limit);
    if (mysql_real_query(c->db, sql, (unsigned long)strlen(sql)) != 0) {
        if (mysql_errno(c->db) == 1146)
            return 0;
        return my_fail(c, c->db, err, "cannot read rowsync_conflicts");
    }
    res = mysql_use_result(c->db);
    if (res == NULL)
        return my_fail(c, c->db, err, "cannot read rowsync_conflicts");
    while ((row = mysql_fetch_row(res)) != NULL) {
        rowsync_conflict_t k;
        if (stop)
            continue; /* drain: the session must be free again */
        k.decided_us = row[0] != NULL ? strtoll(row[0], NULL, 10) : 0;
        k.table = row[1];
        k.key = row[2];
        k.rule = row[3];
        k.winner = row[4];
        k.loser = row[5];
        k.winner_time_us = row[6] != NULL ? strtoll(row[6], NULL, 10) : 0;
        k.loser_time_us = row[7] != NULL ? strtoll(row[7], NULL, 10) : 0;
        k.note = row[8];
        stop = cb(ctx, &k) != 0;
    }
    if (mysql_errno(c->db) != 0) {
        int rc = my_fail(c, c->db, err, "cannot read rowsync_conflicts");
        mysql_free_result(res);
        return rc;
    }
    mysql_free_result(res);
    return 0;
}

/* ---- streams ---------------------------------------------------------- */

/* A reader session for a stream: the idle one, or a new one. */
static int my_reader_get(rowsync_conn_t *c, MYSQL **out, int *reused,
                         rowsync_error_t *err)
{
    if (c->idle != NULL) {
        *out = c->idle;
        c->idle = NULL;
        *reused = 1;
        return 0;
    }
    *reused = 0;
    return my_session(c, 1, out, err);
}

/* Gives a reader session back (kept as the idle one when clean). */
static void my_reader_put(rowsync_conn_t *c, MYSQL *db, int clean)
{
    if (db == NULL)
        return;
    if (clean && c != NULL && c->idle == NULL)
        c->idle = db;
    else
        mysql_close(db);
}

/* Starts the stream's reader session: a fresh session replaces an idle
 * one the server has dropped meanwhile. */
static int my_reader_start(rowsync_conn_t *c, struct rowsync_stream *s,
                           const char *sql, rowsync_error_t *err)
{
    int reused = 0, rc;

    rc = my_reader_get(c, &s->db, &reused, err);
    if (rc < 0)
        return rc;
    if (mysql_real_query(s->db, sql, (unsigned long)strlen(sql)) == 0)
        return 0;
    if (reused && my_classify(mysql_errno(s->db)) == ROWSYNC_ECONN) {
        mysql_close(s->db);
        s->db = NULL;
        rc = my_session(c, 1, &s->db, err);
        if (rc < 0)
            return rc;
        if (mysql_real_query(s->db, sql, (unsigned long)strlen(sql)) == 0)
            return 0;
    }
    return my_fail(c, s->db, err, "cannot start a read");
}

static void my_stream_free(struct rowsync_stream *s)
{
    size_t i;

    for (i = 0; s->names != NULL && i < s->ncols; i++)
        free(s->names[i]);
    free(s->names);
    free(s->table);
    free(s->types);
    free(s->values);
    free(s->scratch);
    free(s->fin_text);
    my_cursor_free(&s->since);
    my_cursor_free(&s->fin);
    my_cursor_free(&s->mid);
    free(s->filled);
    free(s);
}

/* Allocates a stream for spec and links it to the connection. */
static struct rowsync_stream *my_stream_new(rowsync_conn_t *c,
                                            const rowsync_table_spec_t *spec)
{
    struct rowsync_stream *s = calloc(1, sizeof *s);
    size_t i;

    if (s == NULL)
        return NULL;
    s->ncols = spec->ncolumns;
    s->nkeys = spec->nkeys;
    s->table = my_strdup(spec->table);
    s->types = calloc(s->ncols, sizeof *s->types);
    s->names = calloc(s->ncols, sizeof *s->names);
    s->values = calloc(s->ncols, sizeof *s->values);
    s->scratch = malloc(s->ncols * MY_SCRATCH);
    if (s->table == NULL || s->types == NULL || s->names == NULL ||
        s->values == NULL || s->scratch == NULL) {
        my_stream_free(s);
        return NULL;
    }
    for (i = 0; i < s->ncols; i++) {
        s->types[i] = spec->types != NULL ? spec->types[i] : ROWSYNC_TYPE_TEXT;
        if ((s->names[i] = my_strdup(spec->columns[i])) == NULL) {
            my_stream_free(s);
            return NULL;
        }
    }
    s->conn = c;
    s->next = c->streams;
    c->streams = s;
    s->change.nvalues = s->ncols;
    s->change.values = s->values;
    s->changed = UINT64_MAX;
    return s;
}

/* Unlinks the stream from its connection and ends its reader: back to
 * idle after a complete read, closed at once otherwise. */
static void my_stream_close(rowsync_stream_t *s)
{
    struct rowsync_stream **pp;
    rowsync_conn_t *c;

    if (s == NULL)
        return;
    c = s->conn;
    if (c != NULL) {
        for (pp = &c->streams; *pp != NULL; pp = &(*pp)->next)
            if (*pp == s) {
                *pp = s->next;
                break;
            }
    }
    if (s->res != NULL && !s->done) {
        my_reader_kill(s->db, s->res);
    } else {
        int clean = 1;
        mysql_free_result(s->res);
        if (s->db != NULL && s->extract && mysql_query(s->db, "COMMIT") != 0)
            clean = 0;
        my_reader_put(c, s->db, clean);
    }
    my_stream_free(s);
}

/* Walks the seqs present in the extraction's candidate set (the gaps of
 * the start cursor, then everything above its high mark) and records the
 * gaps of the end cursor; see "cursors" above. */
typedef struct my_walk {
    const my_cursor_t *since;
    my_cursor_t *fin;
    int64_t now, settle;
    int64_t oldest_trx; /* ms; 0 none open, -1 unknown (no PROCESS) */
    int cut, oom;
    int64_t cut_at;
    size_t last_wi; /* gap of since the last inherited gap came from */
} my_walk_t;

static void my_walk_hole(my_walk_t *w, int64_t a, int64_t b, size_t wi)
{
    my_cursor_t *f = w->fin;

    if (a > b || w->cut || w->oom)
        return;
    if (wi < w->since->ng) {
        int64_t t = w->since->g[wi].t;
        /* Settled: old enough, and no transaction that could own it
         * (one open since before the gap was first seen) is still open,
         * so its writer rolled back. */
        if (w->now - t >= w->settle &&
            (w->oldest_trx <= 0 || w->oldest_trx > t))
            return;
        /* Too many pieces: join this one to the previous piece of the
         * same gap of since (never across a row delivered before, see
         * "cursors"); one more gap per gap of since at most. */
        if (f->ng >= MY_HOLES_MAX && w->last_wi == wi &&
            f->g[f->ng - 1].a >= w->since->g[wi].a) {
            f->g[f->ng - 1].b = b;
            return;
        }
        if (my_cursor_push(f, a, b, t) < 0)
            w->oom = 1;
        w->last_wi = wi;
        return;
    }
    if (f->ng >= MY_HOLES_MAX) {
        w->cut = 1;
        w->cut_at = a;
        return;
    }
    if (my_cursor_push(f, a, b, w->now) < 0)
        w->oom = 1;
}

/* Fits the end cursor into the cursor budget: inherited gaps (at or below
 * the start's high mark) that are pieces of one gap of since are joined
 * again if they must (my_gaps_rejoin; never across a row since covers);
 * new gaps beyond what fits move the high mark back to just before the
 * first one left out. The inherited gaps then take no more room than
 * since's own gaps did, so the cursor stays below ROWSYNC_STATE_MAX. */
static void my_fit(my_cursor_t *fin, const my_cursor_t *since)
{
    size_t m = 0, n, j;

    if (my_cursor_len(fin->s, fin->g, fin->ng) <= MY_CURSOR_BUDGET)
        return;
    while (m < fin->ng && fin->g[m].a <= since->s)
        m++;
    n = m;
    my_gaps_rejoin(fin->s, fin->g, &n, fin->ng, since, MY_CURSOR_BUDGET - 40);
    fin->ng -= m - n;
    for (j = n; j < fin->ng; j++)
        if (my_cursor_len(fin->s, fin->g, j + 1) > MY_CURSOR_BUDGET) {
            fin->s = fin->g[j].a - 1;
            fin->ng = j;
            break;
        }
}

/* Start of the oldest open InnoDB transaction on the server in ms (0 when
 * none is open), or -1 when the user cannot see other sessions'
 * transactions (information_schema.INNODB_TRX needs the PROCESS
 * privilege): gaps then settle by settle_time alone. trx_started is a
 * DATETIME in the server's system time zone (InnoDB fills it with
 * localtime_r), whatever the session's time_zone, so it is converted
 * from SYSTEM to UTC first: read in this session's '+00:00' it would be
 * off by the server's UTC offset, and on a server east of UTC a
 * transaction still open would look younger than its gap, whose row was
 * then dropped as settled. Whole seconds (rounded down) only delay
 * settling. */
static int64_t my_oldest_trx_ms(rowsync_conn_t *c)
{
    MYSQL_RES *res;
    MYSQL_ROW row;
    int64_t ms = -1;

    if (mysql_query(c->db, "SELECT COALESCE(UNIX_TIMESTAMP(CONVERT_TZ("
                           "MIN(trx_started), 'SYSTEM', '+00:00')) * 1000, 0)"
                           " FROM information_schema.INNODB_TRX") != 0)
        return -1;
    res = mysql_store_result(c->db);
    if (res == NULL)
        return -1;
    row = mysql_fetch_row(res);
    if (row != NULL && row[0] != NULL)
        ms = strtoll(row[0], NULL, 10);
    mysql_free_result(res);
    return ms;
}

static int my_prepass(rowsync_conn_t *c, struct rowsync_stream *s,
                      const my_tref_t *t, const char *hist,
                      rowsync_error_t *err)
{
    rowsync_buf_t b = {NULL, 0, 0, 0};
    my_range_t *w = NULL;
    size_t nw, i = 0, k;
    int64_t pos, hi, now_us = 0;
    MYSQL_RES *res;
    MYSQL_ROW row;
    my_walk_t wk;
    int rc;

    if (mysql_query(s->db, "SELECT " MY_NOW) != 0 ||
        (res = mysql_store_result(s->db)) == NULL)
        return my_fail(c, s->db, err, "cannot read the server clock");
    row = mysql_fetch_row(res);
    if (row != NULL && row[0] != NULL)
        now_us = strtoll(row[0], NULL, 10);
    mysql_free_result(res);

    memset(&wk, 0, sizeof wk);
    wk.since = &s->since;
    wk.fin = &s->fin;
    wk.now = now_us / 1000;
    wk.settle = c->settle_ms;
    wk.oldest_trx = s->oldest_trx_ms;
    nw = s->since.ng + 1;
    w = malloc(nw * sizeof *w);
    if (w == NULL)
        return my_oom(err);
    free(s->filled);
    if ((s->filled = calloc(nw, 1)) == NULL) {
        free(w);
        return my_oom(err);
    }
    for (k = 0; k < s->since.ng; k++)
        w[k] = s->since.g[k];
    w[nw - 1].a = s->since.s + 1;
    w[nw - 1].b = INT64_MAX;
    w[nw - 1].t = wk.now;

    rowsync_buf_puts(&b, "SELECT seq FROM ");
    my_sb_qname(&b, t->db, hist);
    rowsync_buf_printf(&b, " WHERE seq > %lld", (long long)s->since.s);
    for (k = 0; k < s->since.ng; k++)
        rowsync_buf_printf(&b, " OR seq BETWEEN %lld AND %lld",
                   (long long)s->since.g[k].a, (long long)s->since.g[k].b);
    rowsync_buf_puts(&b, " ORDER BY seq");
    if (b.oom) {
        free(w);
        return my_oom(err);
    }
    rc = mysql_real_query(s->db, b.p, (unsigned long)b.len);
    rowsync_buf_free(&b);
    if (rc != 0 || (res = mysql_use_result(s->db)) == NULL) {
        free(w);
        return my_fail(c, s->db, err,
                       "cannot read the history of table "
                       "'%s.%s'",
                       t->db, t->name);
    }
    pos = w[0].a;
    hi = s->since.s;
    while ((row = mysql_fetch_row(res)) != NULL) {
        int64_t seq = row[0] != NULL ? strtoll(row[0], NULL, 10) : 0;
        if (wk.cut || wk.oom)
            continue;
        while (i + 1 < nw && seq > w[i].b) {
            my_walk_hole(&wk, pos, w[i].b, i);
            i++;
            pos = w[i].a;
        }
        if (seq < pos || wk.cut)
            continue;
        s->filled[i] = 1;
        if (seq > pos)
            my_walk_hole(&wk, pos, seq - 1, i);
        if (wk.cut)
            continue;
        pos = seq + 1;
        if (seq > hi)
            hi = seq;
    }
    if (mysql_errno(s->db) != 0) {
        rc = my_fail(c, s->db, err,
                     "cannot read the history of table "
                     "'%s.%s'",
                     t->db, t->name);
        mysql_free_result(res);
        free(w);
        return rc;
    }
    mysql_free_result(res);
    while (i + 1 < nw) {
        my_walk_hole(&wk, pos, w[i].b, i);
        i++;
        pos = w[i].a;
    }
    free(w);
    if (wk.oom)
        return my_oom(err);
    s->fin.s = wk.cut ? wk.cut_at - 1 : hi;
    my_fit(&s->fin, &s->since);
    return 0;
}

/* The key join of the live table t to history row h:
 * "t.`a` = h.k1 AND t.`b` = h.k2". */
static void my_sb_key_join(rowsync_buf_t *b, const rowsync_table_spec_t *spec)
{
    size_t i;

    for (i = 0; i < spec->nkeys; i++) {
        if (i > 0)
            rowsync_buf_puts(b, " AND ");
        rowsync_buf_puts(b, "t.");
        my_sb_ident(b, spec->columns[i]);
        rowsync_buf_printf(b, " = h.k%zu", i + 1);
    }
}

/* Opens the net-change stream (see "cursors"): in one consistent snapshot
 * on a reader session, the end cursor is settled first (unless `upto`
 * gives it), then the newest history row of each key in the window is
 * joined to the live row, in seq order, rows from skip_origin filtered
 * after the newest row is picked. Rows are fetched one at a time. */
static int my_extract_open(rowsync_conn_t *c, const rowsync_table_spec_t *spec,
                           const char *since, const char *upto,
                           const char *skip_origin, rowsync_stream_t **out,
                           rowsync_error_t *err)
{
    struct rowsync_stream *s;
    rowsync_buf_t b = {NULL, 0, 0, 0};
    my_names_t nm;
    my_tref_t t;
    int rc;

    rc = my_check_spec(c, spec, &t, err);
    if (rc < 0)
        return rc;
    my_names(&t, &nm);
    /* binlog capture: the history catches up with the binlog first (an
     * `upto` extraction replays a window already ingested) */
    if (upto == NULL && (rc = my_binlog_sync(c, spec, &t, &nm, err)) < 0)
        return rc;
    s = my_stream_new(c, spec);
    if (s == NULL)
        return my_oom(err);
    s->extract = 1;
    rc = my_cursor_parse(c, since, &s->since, err);
    if (rc == 0 && upto != NULL) {
        rc = my_cursor_parse(c, upto, &s->fin, err);
        if (rc == 0 && (s->fin_text = my_strdup(upto)) == NULL)
            rc = my_oom(err);
    }
    /* Before the snapshot: a writer still open now may own a gap; one
     * that finishes after this point committed before the snapshot (its
     * row is then visible) or rolled back. */
    if (rc == 0 && upto == NULL)
        s->oldest_trx_ms = my_oldest_trx_ms(c);
    if (rc == 0)
        rc = my_reader_start(c, s,
                             "START TRANSACTION WITH CONSISTENT SNAPSHOT,"
                             " READ ONLY",
                             err);
    if (rc == 0 && upto == NULL)
        rc = my_prepass(c, s, &t, nm.hist, err);
    if (rc < 0)
        goto fail;

    rowsync_buf_puts(&b, "SELECT h.seq, h.op, h.time_us, h.origin, ");
    my_sb_hkeys(&b, "h.", spec->nkeys);
    rowsync_buf_puts(&b, ", ");
    my_sb_cols(&b, "t", spec, 0, spec->ncolumns);
    rowsync_buf_puts(&b, ", t.");
    my_sb_ident(&b, spec->columns[0]);
    /* The newest row per key: MAX(seq) grouped by key over the window
     * (one pass over the window's primary-key range into a temporary
     * table; ORDER BY NULL spares MariaDB the sort of the groups that
     * GROUP BY implies there), not a correlated NOT EXISTS, which is
     * quadratic in a key's changes. */
    rowsync_buf_puts(&b, " IS NOT NULL, x.rowsync_cols FROM (SELECT MAX(seq)"
                         " AS seq, IF(COUNT(*) = COUNT(cols), BIT_OR(cols),"
                         " NULL) AS rowsync_cols FROM ");
    my_sb_qname(&b, t.db, nm.hist);
    rowsync_buf_puts(&b, " WHERE ");
    my_sb_window(&b, "seq", &s->since, &s->fin);
    rowsync_buf_puts(&b, " GROUP BY ");
    my_sb_hkeys(&b, "", spec->nkeys);
    rowsync_buf_puts(&b, " ORDER BY NULL) x JOIN ");
    my_sb_qname(&b, t.db, nm.hist);
    rowsync_buf_puts(&b, " h ON h.seq = x.seq LEFT JOIN ");
    my_sb_qname(&b, t.db, t.name);
    rowsync_buf_puts(&b, " t ON ");
    my_sb_key_join(&b, spec);
    if (skip_origin != NULL) {
        rowsync_buf_puts(&b, " WHERE NOT (h.origin <=> ");
        my_sb_str(&b, s->db, skip_origin);
        rowsync_buf_puts(&b, ")");
    }
    rowsync_buf_puts(&b, " ORDER BY h.seq");
    if (b.oom) {
        rc = my_oom(err);
        goto fail;
    }
    if (mysql_real_query(s->db, b.p, (unsigned long)b.len) != 0 ||
        (s->res = mysql_use_result(s->db)) == NULL) {
        rc = my_fail(c, s->db, err, "cannot read the changes of table '%s'",
                     spec->table);
        goto fail;
    }
    s->fields = mysql_fetch_fields(s->res);
    rowsync_buf_free(&b);
    *out = s;
    return 0;

fail:
    rowsync_buf_free(&b);
    rc = my_history_error(c, spec->table, nm.hist, rc, err);
    if (s->db != NULL && s->res == NULL)
        mysql_query(s->db, "ROLLBACK");
    s->done = 1; /* nothing half-read: the session can be kept */
    my_stream_close(s);
    return rc;
}

/* Opens a key-order scan of the live table after after_key, on a reader
 * session, fetched row by row. */
static int my_scan_open(rowsync_conn_t *c, const rowsync_table_spec_t *spec,
                        const rowsync_value_t *after_key,
                        rowsync_stream_t **out, rowsync_error_t *err)
{
    struct rowsync_stream *s;
    rowsync_buf_t b = {NULL, 0, 0, 0};
    my_tref_t t;
    size_t i, j;
    int rc;

    rc = my_check_spec(c, spec, &t, err);
    if (rc < 0)
        return rc;
    s = my_stream_new(c, spec);
    if (s == NULL)
        return my_oom(err);
    rc = my_clock(c, &s->scan_time, err);
    if (rc < 0) {
        s->done = 1;
        my_stream_close(s);
        return rc;
    }
    rowsync_buf_puts(&b, "SELECT ");
    my_sb_cols(&b, NULL, spec, 0, spec->ncolumns);
    rowsync_buf_puts(&b, " FROM ");
    my_sb_qname(&b, t.db, t.name);
    if (after_key != NULL) {
        /* (k1 > v1) OR (k1 = v1 AND k2 > v2) OR ...: a form the range
         * optimizer of both servers uses */
        rowsync_buf_puts(&b, " WHERE ");
        for (i = 0; i < spec->nkeys && rc == 0; i++) {
            rowsync_buf_puts(&b, i ? " OR (" : "(");
            for (j = 0; j <= i && rc == 0; j++) {
                if (j > 0)
                    rowsync_buf_puts(&b, " AND ");
                my_sb_ident(&b, spec->columns[j]);
                rowsync_buf_puts(&b, j < i ? " = " : " > ");
                rc = my_sb_value(&b, c->db, &after_key[j], err);
            }
            rowsync_buf_puts(&b, ")");
        }
    }
    rowsync_buf_puts(&b, " ORDER BY ");
    my_sb_cols(&b, NULL, spec, 0, spec->nkeys);
    if (rc == 0 && b.oom)
        rc = my_oom(err);
    if (rc == 0)
        rc = my_reader_start(c, s, b.p, err);
    if (rc == 0 && (s->res = mysql_use_result(s->db)) == NULL)
        rc = my_fail(c, s->db, err, "cannot scan table '%s'", spec->table);
    rowsync_buf_free(&b);
    if (rc < 0) {
        if (rc != ROWSYNC_ECONVERT && err != NULL &&
            strstr(err->message, spec->table) == NULL)
            rowsync_error_prefix(err, "scan of table '%s'", spec->table);
        s->done = 1;
        my_stream_close(s);
        return rc;
    }
    s->fields = mysql_fetch_fields(s->res);
    *out = s;
    return 0;
}

/* Converts column col of the current row into s->values[i]. */
static int my_stream_value(struct rowsync_stream *s, MYSQL_ROW row,
                           unsigned long *lens, size_t col, size_t i,
                           rowsync_error_t *err)
{
    int rc = my_text_value(row[col], lens[col], &s->fields[col], s->types[i],
                           s->scratch + i * MY_SCRATCH, &s->values[i], err);
    if (rc < 0) {
        rowsync_error_prefix(err, "table '%s' column '%s' on node '%s'",
                             s->table, s->names[i],
                             s->conn != NULL ? s->conn->node : "?");
        if (err != NULL)
            err->code = rc;
    }
    return rc;
}

/* Builds in s->mid the cursor after the row with seq p (see "cursors"):
 * (max(S0, p), gaps of fin up to p and gaps of since above p). A gap of
 * since above p in which the prepass found no row holds nothing to
 * deliver: its part above p is replaced by fin's pieces of it, as the
 * end cursor has them (the rest settled), so gaps that settle in this
 * pass do not swell every mid-stream cursor. */
static int my_mid_build(struct rowsync_stream *s, int64_t p)
{
    my_cursor_t *mid = &s->mid;
    size_t i, j = 0;

    mid->ng = 0;
    mid->s = p > s->since.s ? p : s->since.s;
    for (i = 0; i < s->fin.ng && s->fin.g[i].a <= p; i++)
        if (my_cursor_push(mid, s->fin.g[i].a,
                           s->fin.g[i].b < p ? s->fin.g[i].b : p,
                           s->fin.g[i].t) < 0)
            return -1;
    for (i = 0; i < s->since.ng; i++) {
        const my_range_t *g = &s->since.g[i];
        if (g->b <= p)
            continue;
        if (s->filled == NULL || s->filled[i]) {
            if (my_cursor_push(mid, g->a > p ? g->a : p + 1, g->b, g->t) < 0)
                return -1;
            continue;
        }
        while (j < s->fin.ng && s->fin.g[j].b < g->a)
            j++;
        for (; j < s->fin.ng && s->fin.g[j].a <= g->b; j++) {
            int64_t a = s->fin.g[j].a;
            if (s->fin.g[j].b <= p)
                continue;
            if (my_cursor_push(mid, a > p ? a : p + 1, s->fin.g[j].b,
                               s->fin.g[j].t) < 0)
                return -1;
        }
    }
    return 0;
}

/* Fetches the next row and builds the change in the stream's buffers. */
static int my_stream_next(rowsync_stream_t *s, const rowsync_change_t **out,
                          rowsync_error_t *err)
{
    rowsync_conn_t *c = s->conn;
    unsigned long *lens;
    MYSQL_ROW row;
    size_t i;
    int rc;

    if (s->done)
        return ROWSYNC_DONE;
    if (c == NULL || s->res == NULL)
        return rowsync_error_set(err, ROWSYNC_ECONN,
                                 "stream used after its connection closed");
    row = mysql_fetch_row(s->res);
    if (row == NULL) {
        if (mysql_errno(s->db) != 0)
            return my_fail(c, s->db, err,
                           "cannot read the next row of "
                           "table '%s'",
                           s->table);
        s->done = 1;
        return ROWSYNC_DONE;
    }
    lens = mysql_fetch_lengths(s->res);
    if (!s->extract) {
        s->changed = UINT64_MAX;
        s->change.op = ROWSYNC_OP_INSERT;
        s->change.time_us = s->scan_time;
        s->change.origin = NULL;
        for (i = 0; i < s->ncols; i++)
            if ((rc = my_stream_value(s, row, lens, i, i, err)) < 0)
                return rc;
    } else {
        size_t base = 4 + s->nkeys;
        int present = row[base + s->ncols] != NULL &&
                      strcmp(row[base + s->ncols], "1") == 0;
        int op = row[1] != NULL ? atoi(row[1]) : 0;
        int64_t seq = strtoll(row[0], NULL, 10);
        /* A row that fills a gap of since: the cursor after it joins
         * pieces of fin and since and may not fit, and no gap may be
         * widened over delivered rows to make it fit (see "cursors").
         * Without `upto`, end the stream before it: the rest comes in a
         * later pass. Above since's high mark the cursor is a prefix of
         * fin, which fits. */
        if (seq <= s->since.s && s->fin_text == NULL) {
            if (my_mid_build(s, seq) < 0)
                return my_oom(err);
            if (my_cursor_len(s->mid.s, s->mid.g, s->mid.ng) + 1 >
                ROWSYNC_STATE_MAX) {
                s->stopped = 1;
                s->done = 1;
                return ROWSYNC_DONE;
            }
        }
        const char *mask = row[base + s->ncols + 1];
        s->changed = present && op == ROWSYNC_OP_UPDATE && mask != NULL
                         ? (uint64_t)strtoull(mask, NULL, 10)
                         : UINT64_MAX;
        s->last = seq;
        s->have_last = 1;
        s->change.time_us = row[2] != NULL ? strtoll(row[2], NULL, 10) : 0;
        s->change.origin = row[3];
        if (present) {
            s->change.op =
                op == ROWSYNC_OP_INSERT ? ROWSYNC_OP_INSERT : ROWSYNC_OP_UPDATE;
            for (i = 0; i < s->ncols; i++)
                if ((rc = my_stream_value(s, row, lens, base + i, i, err)) < 0)
                    return rc;
        } else {
            s->change.op = ROWSYNC_OP_DELETE;
            for (i = 0; i < s->ncols; i++) {
                if (i < s->nkeys) {
                    if ((rc = my_stream_value(s, row, lens, 4 + i, i, err)) < 0)
                        return rc;
                } else {
                    s->values[i].type = ROWSYNC_TYPE_NULL;
                }
            }
        }
    }
    *out = &s->change;
    return 0;
}

/* The columns the change last returned changed (bit i = spec column i):
 * the OR of its updates' masks; every bit for an insert, a delete, a
 * change without a mask (applied, captured before masks) or a scan row. */
static int my_stream_columns(rowsync_stream_t *s, uint64_t *changed,
                             rowsync_error_t *err)
{
    (void)err;
    *changed = s->changed;
    return 0;
}

/* The cursor covering every change returned so far (see "cursors"); after
 * an early end (s->stopped) that is also where the stream ended. */
static int my_stream_cursor(rowsync_stream_t *s, char *buf, size_t len,
                            rowsync_error_t *err)
{
    if (!s->extract) {
        if (len > 0)
            buf[0] = '\0';
        return 0;
    }
    if (s->done && s->fin_text != NULL) {
        if (strlen(s->fin_text) + 1 > len)
            return rowsync_error_set(err, ROWSYNC_EINVAL,
                                     "cursor buffer too small");
        strcpy(buf, s->fin_text);
        return 0;
    }
    if (s->done && !s->stopped)
        return my_cursor_write(s->fin.s, s->fin.g, s->fin.ng, buf, len, err);
    if (!s->have_last)
        return my_cursor_write(s->since.s, s->since.g, s->since.ng, buf, len,
                               err);
    if (my_mid_build(s, s->last) < 0)
        return my_oom(err);
    return my_cursor_write(s->mid.s, s->mid.g, s->mid.ng, buf, len, err);
}

/* ---- apply ------------------------------------------------------------ */

/* Opens the apply transaction. The state tables are made first: DDL
 * commits implicitly in MySQL and must not run inside it. */
static int my_begin(rowsync_conn_t *c, rowsync_error_t *err)
{
    int rc;

    if (c->in_tx)
        return rowsync_error_set(err, ROWSYNC_EINVAL,
                                 "node '%s': a transaction is already open",
                                 c->node);
    rc = my_state_tables(c, err);
    if (rc < 0)
        return rc;
    rc = my_exec(c, c->db, "START TRANSACTION", err,
                 "cannot start the apply transaction");
    if (rc == 0)
        c->in_tx = 1;
    return rc;
}

/* The signature of a spec: table, columns (separated by \x1f, or \x1e
 * before an insert-only column) and key count. Malloc'd. */
static char *my_spec_sig(const rowsync_table_spec_t *spec,
                         const unsigned char *insert_only)
{
    rowsync_buf_t b = {NULL, 0, 0, 0};
    size_t i;

    rowsync_buf_puts(&b, spec->table);
    for (i = 0; i < spec->ncolumns; i++) {
        rowsync_buf_puts(&b, insert_only && insert_only[i] ? "\x1e" : "\x1f");
        rowsync_buf_puts(&b, spec->columns[i]);
    }
    rowsync_buf_printf(&b, "\x1f%zu", spec->nkeys);
    if (b.oom) {
        rowsync_buf_free(&b);
        return NULL;
    }
    return b.p;
}

/* Finds or builds what apply needs for spec and its insert-only flags
 * (may be NULL): the fraction digits of its temporal columns, and whether
 * a unique index on exactly the (NOT NULL) key columns allows bulk
 * INSERT ... ON DUPLICATE KEY UPDATE. */
static int my_apply_meta(rowsync_conn_t *c, const rowsync_table_spec_t *spec,
                         const unsigned char *insert_only, const my_tref_t *t,
                         struct my_apply **out, rowsync_error_t *err)
{
    struct my_apply *a, **pp;
    rowsync_buf_t b = {NULL, 0, 0, 0};
    MYSQL_RES *res = NULL;
    MYSQL_ROW row;
    char *sig, *prev = NULL;
    size_t i, ncol = 0, nmatch = 0, nkeys_nn = 0;
    int rc, sub = 0;

    sig = my_spec_sig(spec, insert_only);
    if (sig == NULL)
        return my_oom(err);
    for (pp = &c->applies; (a = *pp) != NULL; pp = &a->next)
        if (strcmp(a->sig, sig) == 0) {
            free(sig);
            /* most recently used first */
            *pp = a->next;
            a->next = c->applies;
            c->applies = a;
            *out = a;
            return 0;
        }
    a = calloc(1, sizeof *a);
    if (a == NULL || (a->fsp = malloc(spec->ncolumns * sizeof(int))) == NULL) {
        free(a);
        free(sig);
        return my_oom(err);
    }
    a->sig = sig;
    a->t = *t;
    for (i = spec->nkeys; insert_only && i < spec->ncolumns; i++)
        if (insert_only[i] && a->insert_only == NULL &&
            (a->insert_only = calloc(spec->ncolumns, 1)) == NULL) {
            my_apply_free(a);
            return my_oom(err);
        }
    for (i = spec->nkeys; a->insert_only && i < spec->ncolumns; i++)
        a->insert_only[i] = insert_only[i] != 0;
    my_objname(t->name, "rowsync_h_", "", a->hist, sizeof a->hist);
    for (i = 0; i < spec->ncolumns; i++)
        a->fsp[i] = -1;

    rc = my_columns_query(c, t, &res, err);
    while (rc == 0 && (row = mysql_fetch_row(res)) != NULL) {
        if (row[9] == NULL || strcmp(row[9], t->name) != 0)
            continue;
        ncol++;
        for (i = 0; i < spec->ncolumns; i++) {
            if (strcasecmp(spec->columns[i], row[0]) != 0)
                continue;
            if (row[8] != NULL)
                a->fsp[i] = atoi(row[8]);
            if (i < spec->nkeys && row[3] != NULL && strcmp(row[3], "NO") == 0)
                nkeys_nn++;
        }
    }
    mysql_free_result(res);
    res = NULL;
    if (rc == 0 && ncol == 0)
        rc = my_not_found(c, spec->table, err);

    if (rc == 0) {
        rowsync_buf_puts(&b, "SELECT INDEX_NAME, COLUMN_NAME, SUB_PART, TABLE_NAME"
                      " FROM information_schema.STATISTICS WHERE"
                      " NON_UNIQUE = 0 AND TABLE_SCHEMA = ");
        my_sb_str(&b, c->db, t->db);
        rowsync_buf_puts(&b, " AND TABLE_NAME = ");
        my_sb_str(&b, c->db, t->name);
        rowsync_buf_puts(&b, " ORDER BY INDEX_NAME, SEQ_IN_INDEX");
        if (b.oom)
            rc = my_oom(err);
        else
            rc = my_query(c, b.p, &res, err, "cannot read the indexes");
    }
    /* one pass over the rows of every unique index, grouped by name */
    ncol = 0;
    while (rc == 0 && res != NULL) {
        row = mysql_fetch_row(res);
        if (row != NULL && (row[3] == NULL || strcmp(row[3], t->name) != 0))
            continue;
        if (prev != NULL && (row == NULL || strcmp(prev, row[0]) != 0)) {
            if (ncol == spec->nkeys && nmatch == ncol && !sub)
                a->unique = 1;
            free(prev);
            prev = NULL;
        }
        if (row == NULL)
            break;
        if (prev == NULL) {
            prev = my_strdup(row[0]);
            if (prev == NULL) {
                rc = my_oom(err);
                break;
            }
            ncol = nmatch = 0;
            sub = 0;
        }
        ncol++;
        sub |= row[2] != NULL;
        for (i = 0; i < spec->nkeys; i++)
            if (strcasecmp(spec->columns[i], row[1]) == 0)
                nmatch++;
    }
    free(prev);
    mysql_free_result(res);
    rowsync_buf_free(&b);
    if (rc < 0) {
        my_apply_free(a);
        return rc;
    }
    if (nkeys_nn != spec->nkeys)
        a->unique = 0;
    a->next = c->applies;
    c->applies = a;
    *out = a;
    return 0;
}

/* "(?, ?, ?)" */
static void my_sb_params(rowsync_buf_t *b, size_t n)
{
    size_t i;

    rowsync_buf_puts(b, "(");
    for (i = 0; i < n; i++)
        rowsync_buf_puts(b, i ? ", ?" : "?");
    rowsync_buf_puts(b, ")");
}

/* The number of columns an update of spec sets: not the key, not the
 * insert-only ones. */
static size_t my_nset(const struct my_apply *a, const rowsync_table_spec_t *spec)
{
    size_t i, n = 0;

    for (i = spec->nkeys; i < spec->ncolumns; i++)
        n += !(a->insert_only && a->insert_only[i]);
    return n;
}

/* The SQL of statement kind for `rows` rows of spec. */
static void my_stmt_sql(rowsync_buf_t *b, const struct my_apply *a,
                        const rowsync_table_spec_t *spec, int kind, size_t rows)
{
    size_t r, i;

    switch (kind) {
    case MY_K_UPSERT:
        /* The first assignment keeps the row's key when the duplicate was
         * found on the key, and makes it NULL (an error: keys are NOT
         * NULL) when the incoming row collided with another row on some
         * other unique index, which must not be overwritten. */
        rowsync_buf_puts(b, "INSERT INTO ");
        my_sb_qname(b, a->t.db, a->t.name);
        rowsync_buf_puts(b, " (");
        my_sb_cols(b, NULL, spec, 0, spec->ncolumns);
        rowsync_buf_puts(b, ") VALUES ");
        for (r = 0; r < rows; r++) {
            if (r > 0)
                rowsync_buf_puts(b, ", ");
            my_sb_params(b, spec->ncolumns);
        }
        rowsync_buf_puts(b, " ON DUPLICATE KEY UPDATE ");
        my_sb_ident(b, spec->columns[0]);
        rowsync_buf_puts(b, " = IF(");
        for (i = 0; i < spec->nkeys; i++) {
            if (i > 0)
                rowsync_buf_puts(b, " AND ");
            my_sb_ident(b, spec->columns[i]);
            rowsync_buf_puts(b, " <=> VALUES(");
            my_sb_ident(b, spec->columns[i]);
            rowsync_buf_puts(b, ")");
        }
        rowsync_buf_puts(b, ", ");
        my_sb_ident(b, spec->columns[0]);
        rowsync_buf_puts(b, ", NULL)");
        for (i = spec->nkeys; i < spec->ncolumns; i++) {
            if (a->insert_only && a->insert_only[i])
                continue;
            rowsync_buf_puts(b, ", ");
            my_sb_ident(b, spec->columns[i]);
            rowsync_buf_puts(b, " = VALUES(");
            my_sb_ident(b, spec->columns[i]);
            rowsync_buf_puts(b, ")");
        }
        break;
    case MY_K_DELETE:
        rowsync_buf_puts(b, "DELETE FROM ");
        my_sb_qname(b, a->t.db, a->t.name);
        rowsync_buf_puts(b, " WHERE ");
        if (spec->nkeys == 1) {
            my_sb_ident(b, spec->columns[0]);
            rowsync_buf_puts(b, " IN ");
            my_sb_params(b, rows);
            break;
        }
        for (r = 0; r < rows; r++) {
            rowsync_buf_puts(b, r ? " OR (" : "(");
            for (i = 0; i < spec->nkeys; i++) {
                if (i > 0)
                    rowsync_buf_puts(b, " AND ");
                my_sb_ident(b, spec->columns[i]);
                rowsync_buf_puts(b, " = ?");
            }
            rowsync_buf_puts(b, ")");
        }
        break;
    case MY_K_HIST:
        rowsync_buf_puts(b, "INSERT INTO ");
        my_sb_qname(b, a->t.db, a->hist);
        rowsync_buf_puts(b, " (op, time_us, origin, ");
        my_sb_hkeys(b, "", spec->nkeys);
        rowsync_buf_puts(b, ") VALUES ");
        for (r = 0; r < rows; r++) {
            if (r > 0)
                rowsync_buf_puts(b, ", ");
            my_sb_params(b, 3 + spec->nkeys);
        }
        break;
    case MY_K_UPDATE1:
        /* non-key columns first (not the insert-only ones), then the key;
         * with nothing to set, the first key column "updates" to itself
         * to count the matching rows */
        rowsync_buf_puts(b, "UPDATE ");
        my_sb_qname(b, a->t.db, a->t.name);
        rowsync_buf_puts(b, " SET ");
        if (my_nset(a, spec) == 0) {
            my_sb_ident(b, spec->columns[0]);
            rowsync_buf_puts(b, " = ");
            my_sb_ident(b, spec->columns[0]);
        }
        for (r = 0, i = spec->nkeys; i < spec->ncolumns; i++) {
            if (a->insert_only && a->insert_only[i])
                continue;
            if (r++ > 0)
                rowsync_buf_puts(b, ", ");
            my_sb_ident(b, spec->columns[i]);
            rowsync_buf_puts(b, " = ?");
        }
        rowsync_buf_puts(b, " WHERE ");
        for (i = 0; i < spec->nkeys; i++) {
            if (i > 0)
                rowsync_buf_puts(b, " AND ");
            my_sb_ident(b, spec->columns[i]);
            rowsync_buf_puts(b, " = ?");
        }
        break;
    default: /* MY_K_INSERT1 */
        rowsync_buf_puts(b, "INSERT INTO ");
        my_sb_qname(b, a->t.db, a->t.name);
        rowsync_buf_puts(b, " (");
        my_sb_cols(b, NULL, spec, 0, spec->ncolumns);
        rowsync_buf_puts(b, ") VALUES ");
        my_sb_params(b, spec->ncolumns);
        break;
    }
}

/* Finds or prepares statement kind for `rows` rows; at most
 * MY_STMT_CACHE statements stay prepared per spec. */
static int my_stmt_get(rowsync_conn_t *c, struct my_apply *a,
                       const rowsync_table_spec_t *spec, int kind, size_t rows,
                       MYSQL_STMT **out, rowsync_error_t *err)
{
    struct my_stmt *s, **pp;
    rowsync_buf_t b = {NULL, 0, 0, 0};
    size_t n = 0;
    int rc;

    for (pp = &a->stmts; (s = *pp) != NULL; pp = &s->next) {
        if (s->kind == kind && s->rows == rows) {
            *pp = s->next;
            s->next = a->stmts;
            a->stmts = s;
            *out = s->st;
            return 0;
        }
    }
    my_stmt_sql(&b, a, spec, kind, rows);
    if (b.oom)
        return my_oom(err);
    s = calloc(1, sizeof *s);
    if (s == NULL || (s->st = mysql_stmt_init(c->db)) == NULL) {
        free(s);
        rowsync_buf_free(&b);
        return my_oom(err);
    }
    if (mysql_stmt_prepare(s->st, b.p, (unsigned long)b.len) != 0) {
        rc = my_stmt_fail(c, s->st, err,
                          "cannot prepare the apply "
                          "statements for table '%s'",
                          spec->table);
        mysql_stmt_close(s->st);
        free(s);
        rowsync_buf_free(&b);
        return rc;
    }
    rowsync_buf_free(&b);
    s->kind = kind;
    s->rows = rows;
    s->next = a->stmts;
    a->stmts = s;
    for (pp = &a->stmts; *pp != NULL; pp = &(*pp)->next)
        if (++n > MY_STMT_CACHE) {
            struct my_stmt *old = *pp;
            *pp = old->next;
            mysql_stmt_close(old->st);
            free(old);
            break;
        }
    *out = a->stmts->st;
    return 0;
}

/* Makes room for n binds (and their time structs). */
static int my_binds(rowsync_conn_t *c, size_t n, rowsync_error_t *err)
{
    if (n > c->binds_cap) {
        MYSQL_BIND *b = realloc(c->binds, n * sizeof *b);
        MYSQL_TIME *t;
        if (b == NULL)
            return my_oom(err);
        c->binds = b;
        t = realloc(c->times, n * sizeof *t);
        if (t == NULL)
            return my_oom(err);
        c->times = t;
        c->binds_cap = n;
    }
    return 0;
}

/* Bytes a change adds to a statement packet (a rough upper bound). */
static size_t my_change_bytes(const rowsync_change_t *ch, size_t n)
{
    size_t i, bytes = 64;

    for (i = 0; i < n; i++) {
        bytes += 16;
        switch (ch->values[i].type) {
        case ROWSYNC_TYPE_DECIMAL:
        case ROWSYNC_TYPE_TEXT:
        case ROWSYNC_TYPE_BINARY:
        case ROWSYNC_TYPE_UUID:
        case ROWSYNC_TYPE_JSON:
            bytes += ch->values[i].u.bytes.len;
            break;
        default:
            break;
        }
    }
    return bytes;
}

/* The values one change binds for statement kind, in parameter order;
 * hv holds the op, time and origin of a history row. Returns the count. */
static size_t my_row_values(const struct my_apply *a,
                            const rowsync_table_spec_t *spec,
                            const rowsync_change_t *ch, int kind,
                            rowsync_value_t *hv, const rowsync_value_t **vals,
                            int *cols)
{
    size_t i, n = 0;

    switch (kind) {
    case MY_K_DELETE:
        for (i = 0; i < spec->nkeys; i++, n++) {
            vals[n] = &ch->values[i];
            cols[n] = (int)i;
        }
        break;
    case MY_K_HIST:
        memset(hv, 0, 3 * sizeof *hv);
        hv[0].type = ROWSYNC_TYPE_INT;
        hv[0].u.i = ch->op;
        hv[1].type = ROWSYNC_TYPE_INT;
        hv[1].u.i = ch->time_us;
        if (ch->origin != NULL)
            my_set_bytes(&hv[2], ROWSYNC_TYPE_TEXT, ch->origin,
                         strlen(ch->origin));
        else
            hv[2].type = ROWSYNC_TYPE_NULL;
        for (i = 0; i < 3; i++, n++) {
            vals[n] = &hv[i];
            cols[n] = -1;
        }
        for (i = 0; i < spec->nkeys; i++, n++) {
            vals[n] = &ch->values[i];
            cols[n] = (int)i;
        }
        break;
    case MY_K_UPDATE1:
        for (i = spec->nkeys; i < spec->ncolumns; i++) {
            if (a->insert_only && a->insert_only[i])
                continue;
            vals[n] = &ch->values[i];
            cols[n++] = (int)i;
        }
        for (i = 0; i < spec->nkeys; i++, n++) {
            vals[n] = &ch->values[i];
            cols[n] = (int)i;
        }
        break;
    default: /* MY_K_UPSERT, MY_K_INSERT1 */
        for (i = 0; i < spec->ncolumns; i++, n++) {
            vals[n] = &ch->values[i];
            cols[n] = (int)i;
        }
        break;
    }
    return n;
}

/* Binds rows changes[idx[0..rows)] for statement kind and runs it;
 * *affected gets the rows it matched. */
static int my_run(rowsync_conn_t *c, struct my_apply *a,
                  const rowsync_table_spec_t *spec, int kind,
                  const rowsync_change_t *changes, const size_t *idx,
                  size_t rows, my_ulonglong *affected, rowsync_error_t *err)
{
    size_t per = kind == MY_K_DELETE ? spec->nkeys
                 : kind == MY_K_HIST ? 3 + spec->nkeys
                                     : spec->ncolumns;
    const rowsync_value_t **vals = NULL;
    rowsync_value_t *hv = NULL;
    MYSQL_STMT *st = NULL;
    size_t r, j, n = 0;
    int *cols = NULL, rc;
    char key[256];

    rc = my_binds(c, rows * per, err);
    if (rc < 0)
        return rc;
    vals = malloc(per * sizeof *vals);
    cols = malloc(per * sizeof *cols);
    hv = malloc(3 * rows * sizeof *hv);
    if (vals == NULL || cols == NULL || hv == NULL) {
        rc = my_oom(err);
        goto out;
    }
    for (r = 0; r < rows; r++) {
        const rowsync_change_t *ch = &changes[idx[r]];
        size_t m = my_row_values(a, spec, ch, kind, &hv[3 * r], vals, cols);
        for (j = 0; j < m; j++, n++) {
            rc = my_bind_value(&c->binds[n], vals[j], &c->times[n],
                               cols[j] >= 0 ? a->fsp[cols[j]] : -1, err);
            if (rc < 0) {
                my_key_text(spec->nkeys, ch->values, key, sizeof key);
                rowsync_error_prefix(
                    err,
                    "row (%s) of table '%s' column "
                    "'%s' on node '%s'",
                    key, spec->table,
                    cols[j] >= 0 ? spec->columns[cols[j]] : "?", c->node);
                if (err != NULL)
                    err->code = rc;
                goto out;
            }
        }
    }
    rc = my_stmt_get(c, a, spec, kind, rows, &st, err);
    if (rc < 0)
        goto out;
    if (mysql_stmt_bind_param(st, c->binds) != 0 ||
        mysql_stmt_execute(st) != 0) {
        static const char *const verb[] = {"write", "delete", "record",
                                           "update", "insert"};
        my_key_text(spec->nkeys, changes[idx[0]].values, key, sizeof key);
        rc =
            my_stmt_fail(c, st, err,
                         "cannot %s %s%zu row%s (first key %s) of table "
                         "'%s'",
                         verb[kind], kind == MY_K_HIST ? "the history of " : "",
                         rows, rows == 1 ? "" : "s", key, spec->table);
        if (kind == MY_K_UPSERT && mysql_stmt_errno(st) == 1048 &&
            err != NULL) {
            /* the key guard fired: the row collided on another unique
             * index (see my_stmt_sql) */
            char msg[ROWSYNC_ERROR_MESSAGE_MAX];
            snprintf(msg, sizeof msg, "%s", err->message);
            rowsync_error_set(err, ROWSYNC_ECONSTRAINT,
                              "a row would take the place of another row "
                              "of table '%s' with another key (a duplicate "
                              "on a unique index): %s",
                              spec->table, msg);
            err->native = 1062;
            rc = ROWSYNC_ECONSTRAINT;
        }
        goto out;
    }
    if (affected != NULL)
        *affected = mysql_stmt_affected_rows(st);
    rc = 0;
out:
    free(vals);
    free(cols);
    free(hv);
    return rc;
}

/* Runs kind over the changes idx[0..n) in chunks that keep under the
 * placeholder limit, MY_MAX_ROWS and half of max_allowed_packet. */
static int my_run_chunks(rowsync_conn_t *c, struct my_apply *a,
                         const rowsync_table_spec_t *spec, int kind,
                         const rowsync_change_t *changes, const size_t *idx,
                         size_t n, rowsync_error_t *err)
{
    size_t per = kind == MY_K_DELETE ? spec->nkeys
                 : kind == MY_K_HIST ? 3 + spec->nkeys
                                     : spec->ncolumns;
    size_t maxrows = MY_MAX_PARAMS / per, done = 0;
    int rc;

    if (maxrows > MY_MAX_ROWS)
        maxrows = MY_MAX_ROWS;
    while (done < n) {
        size_t rows = 0, bytes = 0;
        while (done + rows < n && rows < maxrows) {
            size_t more = my_change_bytes(&changes[idx[done + rows]],
                                          kind == MY_K_UPSERT ? spec->ncolumns
                                                              : spec->nkeys);
            if (rows > 0 && bytes + more > c->max_packet / 2)
                break;
            bytes += more;
            rows++;
        }
        rc = my_run(c, a, spec, kind, changes, idx + done, rows, NULL, err);
        if (rc < 0)
            return rc;
        done += rows;
    }
    return 0;
}

/* Applies a batch inside the open transaction: deletes first (they free
 * unique values), then upserts with multi-row INSERT ... ON DUPLICATE KEY
 * UPDATE (or, without a unique index on the key, UPDATE and INSERT row by
 * row), then the history rows with each change's origin and time.
 * Columns flagged in insert_only (may be NULL) are written by inserts
 * and left alone by updates. The triggers stay silent: this session is
 * marked @rowsync_applying. */
static int my_apply_insert_only(rowsync_conn_t *c,
                                const rowsync_table_spec_t *spec,
                                const unsigned char *insert_only,
                                const rowsync_change_t *changes, size_t n,
                                rowsync_error_t *err)
{
    struct my_apply *a = NULL;
    size_t *dels = NULL, *ups = NULL, *all = NULL, nd = 0, nu = 0, i;
    my_tref_t t;
    int rc;

    if (!c->in_tx)
        return rowsync_error_set(err, ROWSYNC_EINVAL,
                                 "node '%s': apply outside a transaction "
                                 "(begin first)",
                                 c->node);
    rc = my_check_spec(c, spec, &t, err);
    if (rc < 0)
        return rc;
    for (i = 0; i < n; i++)
        if (changes[i].nvalues != spec->ncolumns || changes[i].values == NULL)
            return rowsync_error_set(
                err, ROWSYNC_EINVAL,
                "table '%s' on node '%s': a change carries %zu values for "
                "%zu columns",
                spec->table, c->node, changes[i].nvalues, spec->ncolumns);
    if (n == 0)
        return 0;
    rc = my_apply_meta(c, spec, insert_only, &t, &a, err);
    if (rc < 0)
        return rc;
    /* binlog capture: local changes committed so far take their history
     * seqs before this apply's own rows, as a trigger would have given
     * them (else the newest row of a key changed here and then by the
     * apply would be the local one: an echo) */
    if (c->binlog) {
        my_names_t nm;
        my_names(&t, &nm);
        rc = my_binlog_sync(c, spec, &t, &nm, err);
        if (rc < 0)
            return rc;
    }
    dels = malloc(n * sizeof *dels);
    ups = malloc(n * sizeof *ups);
    all = malloc(n * sizeof *all);
    if (dels == NULL || ups == NULL || all == NULL) {
        rc = my_oom(err);
        goto out;
    }
    for (i = 0; i < n; i++) {
        all[i] = i;
        if (changes[i].op == ROWSYNC_OP_DELETE)
            dels[nd++] = i;
        else
            ups[nu++] = i;
    }
    rc = my_run_chunks(c, a, spec, MY_K_DELETE, changes, dels, nd, err);
    if (rc == 0 && a->unique) {
        rc = my_run_chunks(c, a, spec, MY_K_UPSERT, changes, ups, nu, err);
    } else {
        for (i = 0; i < nu && rc == 0; i++) {
            my_ulonglong matched = 0;
            rc = my_run(c, a, spec, MY_K_UPDATE1, changes, &ups[i], 1, &matched,
                        err);
            if (rc == 0 && matched == 0)
                rc = my_run(c, a, spec, MY_K_INSERT1, changes, &ups[i], 1, NULL,
                            err);
        }
    }
    if (rc == 0) {
        rowsync_error_t local, *e = err != NULL ? err : &local;
        rc = my_run_chunks(c, a, spec, MY_K_HIST, changes, all, n, e);
        /* no history table: capture is not installed on this node, there
         * is nothing to record (a failed statement keeps the
         * transaction) */
        if (rc == ROWSYNC_ENOTFOUND && strstr(e->message, a->hist) != NULL) {
            memset(e, 0, sizeof *e);
            rc = 0;
        }
    }
out:
    free(dels);
    free(ups);
    free(all);
    return rc;
}

/* apply: every column written on insert and on update. */
static int my_apply(rowsync_conn_t *c, const rowsync_table_spec_t *spec,
                    const rowsync_change_t *changes, size_t n,
                    rowsync_error_t *err)
{
    return my_apply_insert_only(c, spec, NULL, changes, n, err);
}

static int my_commit(rowsync_conn_t *c, rowsync_error_t *err)
{
    int rc;

    if (!c->in_tx)
        return rowsync_error_set(err, ROWSYNC_EINVAL,
                                 "node '%s': commit without a transaction",
                                 c->node);
    rc = my_exec(c, c->db, "COMMIT", err, "cannot commit");
    c->in_tx = 0;
    if (rc < 0)
        mysql_rollback(c->db);
    return rc;
}

static void my_rollback(rowsync_conn_t *c)
{
    if (c == NULL)
        return;
    if (c->db != NULL)
        mysql_rollback(c->db);
    c->in_tx = 0;
}

/* ---- the table -------------------------------------------------------- */

/* Calls cb once per table that `table` references by a foreign key:
 * "table" for the connection's database, "db.table" for another. */
static int my_references(rowsync_conn_t *c, const char *table,
                         int (*cb)(void *ctx, const char *referenced),
                         void *ctx, rowsync_error_t *err)
{
    rowsync_buf_t b = {NULL, 0, 0, 0};
    MYSQL_RES *res;
    MYSQL_ROW row;
    my_tref_t t;
    int rc;

    rc = my_tref(c, table, &t, err);
    if (rc < 0)
        return rc;
    rowsync_buf_puts(&b, "SELECT DISTINCT REFERENCED_TABLE_SCHEMA,"
                  " REFERENCED_TABLE_NAME, TABLE_NAME FROM"
                  " information_schema.KEY_COLUMN_USAGE WHERE"
                  " REFERENCED_TABLE_NAME IS NOT NULL AND TABLE_SCHEMA = ");
    my_sb_str(&b, c->db, t.db);
    rowsync_buf_puts(&b, " AND TABLE_NAME = ");
    my_sb_str(&b, c->db, t.name);
    if (b.oom)
        return my_oom(err);
    rc = my_query(c, b.p, &res, err, "cannot read the foreign keys");
    rowsync_buf_free(&b);
    if (rc < 0) {
        rowsync_error_prefix(err, "table '%s'", table);
        return rc;
    }
    while (res != NULL && (row = mysql_fetch_row(res)) != NULL) {
        char name[600];
        if (row[0] == NULL || row[1] == NULL || row[2] == NULL ||
            strcmp(row[2], t.name) != 0)
            continue;
        if (strcmp(row[0], c->database) == 0)
            snprintf(name, sizeof name, "%s", row[1]);
        else
            snprintf(name, sizeof name, "%s.%s", row[0], row[1]);
        if (cb(ctx, name) != 0)
            break;
    }
    mysql_free_result(res);
    return 0;
}

static const rowsync_driver_t my_driver = {
    ROWSYNC_DRIVER_HEADER,
    "mysql",
    MY_VERSION,
    "MySQL and MariaDB servers (MariaDB Connector/C " MARIADB_PACKAGE_VERSION
    ")",
    my_options,
    my_connect,
    my_disconnect,
    my_quote_ident,
    my_clock,
    my_describe,
    my_capture_install,
    my_capture_status,
    my_capture_remove,
    my_history_clear,
    my_history_count,
    my_state_remove,
    my_lock,
    my_unlock,
    my_state_get,
    my_extract_open,
    my_scan_open,
    my_stream_next,
    my_stream_cursor,
    my_stream_close,
    my_begin,
    my_apply,
    my_state_set,
    my_conflict_log,
    my_commit,
    my_rollback,
    my_conflicts_read,
    my_references,
    my_apply_insert_only,
    my_history_purge,
    NULL, /* watch */
    NULL, /* watch_clear */
    my_stream_columns,
    NULL, /* extract_open_flags: extract_open always folds columns */
};

int mysql_LTX_rowsync_driver_entry(const rowsync_driver_t **out,
                                   const rowsync_abi_header_t *host);

/* The module's one export: hands out the table to a host of the same
 * major ABI version. It also initializes the client library, which is not
 * thread-safe on first use (the loader calls the entry once, before any
 * connection). */
int mysql_LTX_rowsync_driver_entry(const rowsync_driver_t **out,
                                   const rowsync_abi_header_t *host)
{
    if (out == NULL)
        return ROWSYNC_EINVAL;
    if (host != NULL && host->major != ROWSYNC_DRIVER_ABI_MAJOR)
        return ROWSYNC_EABI;
    if (mysql_library_init(0, NULL, NULL) != 0)
        return ROWSYNC_ERROR;
    *out = &my_driver;
    return 0;
}
