/* drivers/mysql/mysql_binlog.c: change capture from the MariaDB binary
 * log (`capture = binlog`).
 *
 * No triggers: the writing transaction pays nothing but the row-based
 * binary log the server writes anyway. Before an extraction (and before a
 * history count) the driver reads the binlog from the table's
 * ingest position (rowsync_state "binlog:db.table" = "file:position") to
 * its current end on a replication session (COM_BINLOG_DUMP, non-blocking:
 * the dump ends at the end of the log) and appends one history row per
 * row change of the table to the same history table the triggers would
 * fill: WRITE -> op 1, UPDATE -> op 2 with the column mask (a key change
 * -> a delete of the old key and an insert of the new), DELETE -> op 3.
 * time_us is the binlog event's time (whole seconds), origin NULL.
 *
 * A binlog transaction (GTID ... XID/COMMIT) that also wrote the table's
 * history table is rowsync's own apply, which records its history rows
 * itself: its row events of the table are skipped (no echo). Apply writes
 * the history last, so a transaction's rows are written under a savepoint
 * and rolled back when the history table shows up.
 *
 * The rows and the new position are written in one local transaction on
 * a session of the driver's own, in multi-row INSERTs of at most
 * MY_BL_CHUNK rows: memory stays bounded, and a crash replays or skips
 * nothing. Ingestions of one table are serialized by a named lock.
 *
 * Row images are decoded here (libmariadb's mariadb_rpl_extract_rows, in
 * Connector/C 3.3, rejects CHAR, BINARY, ENUM and SET columns and tables
 * whose columns carry no metadata): a column's bytes are located from the
 * table map's types and metadata; non-key columns are compared as bytes,
 * key columns are converted to bindable values.
 *
 * Everything is static and prefixed my_bl_, except the functions declared
 * in mysql_binlog.h.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <mysql.h>
#include <errmsg.h>
#include <mariadb_rpl.h>

#include <rowsync/driver.h>

#include "mysql_binlog.h"

/* History rows per multi-row INSERT (fewer when the key has many columns:
 * the server takes 65535 placeholders per statement). */
#define MY_BL_CHUNK 1000
/* Most columns a table can have (and a table map name). */
#define MY_BL_COLS_MAX 4096
/* The server's UTC clock in microseconds (same as MY_NOW in mysql.c). */
#define MY_BL_NOW                                                              \
    "TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(6))"

/* Binlog column types that the client headers may not name. */
enum {
    MY_BL_T_TIMESTAMP2 = 17,
    MY_BL_T_DATETIME2 = 18,
    MY_BL_T_TIME2 = 19,
    MY_BL_T_JSON = 245
};

/* One column of the table as the table map describes it. */
typedef struct my_bl_col {
    unsigned type;
    unsigned meta;   /* type metadata as one number, see my_bl_map */
    int is_unsigned; /* integer column declared UNSIGNED */
} my_bl_col_t;

/* One column of a decoded row image: where its bytes are. */
typedef struct my_bl_cell {
    int present, null;
    const unsigned char *p;
    size_t n;
} my_bl_cell_t;

/* A key value of a pending history row, ready to bind. Strings live in
 * the run's arena (off, len). */
typedef struct my_bl_key {
    enum enum_field_types bt;
    my_bool is_unsigned;
    long long ll;
    double d;
    MYSQL_TIME tm;
    size_t off;
    unsigned long len;
} my_bl_key_t;

/* A pending history row. */
typedef struct my_bl_hrow {
    int op;
    long long time_us;
    unsigned long long cols;
    my_bool cols_null;
} my_bl_hrow_t;

/* The state of one ingestion. */
typedef struct my_bl_run {
    rowsync_conn_t *c;
    MYSQL *local;
    const my_bl_target_t *t;
    rowsync_error_t *err;
    size_t nkeys, chunk;
    size_t *pos;       /* spec column -> table column */
    char **names;      /* table columns now, in order */
    int *unsig;        /* per table column now: UNSIGNED */
    size_t nnames;
    /* the table's latest table map */
    my_bl_col_t *cols;
    size_t ncols;
    uint64_t tid, hist_tid;
    int have_tid, have_hist_tid;
    my_bl_cell_t *img[2];
    /* pending rows */
    my_bl_hrow_t *rows;
    my_bl_key_t *keys; /* chunk * nkeys */
    size_t n;
    rowsync_buf_t arena;
    MYSQL_STMT *full; /* the prepared INSERT of `chunk` rows */
    MYSQL_BIND *binds;
    /* the binlog transaction being read */
    int in_group, standalone, is_apply, savepoint;
    size_t group_start, group_arena;
    long long group_time;
    my_bl_stats_t st;
} my_bl_run_t;

static int my_bl_oom(rowsync_error_t *err)
{
    return rowsync_error_set(err, ROWSYNC_ENOMEM, "out of memory");
}

/* `ident` in backquotes, backquotes doubled. */
static void my_bl_sb_ident(rowsync_buf_t *b, const char *ident)
{
    const char *p;

    rowsync_buf_puts(b, "`");
    for (p = ident; *p != '\0'; p++)
        rowsync_buf_add(b, *p == '`' ? "``" : p, 1 + (*p == '`'));
    rowsync_buf_puts(b, "`");
}

/* A string literal escaped by the client library for session db. */
static void my_bl_sb_str(rowsync_buf_t *b, MYSQL *db, const char *s)
{
    size_t n = strlen(s);
    char *tmp = malloc(2 * n + 1);

    if (tmp == NULL) {
        b->oom = 1;
        return;
    }
    mysql_real_escape_string(db, tmp, s, (unsigned long)n);
    rowsync_buf_puts(b, "'");
    rowsync_buf_puts(b, tmp);
    rowsync_buf_puts(b, "'");
    free(tmp);
}

/* The rowsync_state key of a table's ingest position. */
void my_bl_state_key(const char *db, const char *name, char *buf, size_t len)
{
    snprintf(buf, len, "binlog:%s.%s", db, name);
}

/* Runs SQL without a result on db. */
static int my_bl_exec(rowsync_conn_t *c, MYSQL *db, const char *sql,
                      rowsync_error_t *err, const char *what)
{
    if (mysql_real_query(db, sql, (unsigned long)strlen(sql)) != 0)
        return my_fail(c, db, err, "%s", what);
    if (mysql_field_count(db) > 0)
        mysql_free_result(mysql_store_result(db));
    return 0;
}

/* Runs a query returning one row and copies its columns (at most n) into
 * out[] as malloc'd strings (NULL for SQL NULL). *found = 0 on no row. */
static int my_bl_row(rowsync_conn_t *c, MYSQL *db, const char *sql, char **out,
                     size_t n, int *found, rowsync_error_t *err,
                     const char *what)
{
    MYSQL_RES *res;
    MYSQL_ROW row;
    unsigned long *lens;
    size_t i;

    *found = 0;
    for (i = 0; i < n; i++)
        out[i] = NULL;
    if (mysql_real_query(db, sql, (unsigned long)strlen(sql)) != 0 ||
        (res = mysql_store_result(db)) == NULL)
        return my_fail(c, db, err, "%s", what);
    if ((row = mysql_fetch_row(res)) != NULL) {
        *found = 1;
        lens = mysql_fetch_lengths(res);
        for (i = 0; i < n && i < mysql_num_fields(res); i++) {
            if (row[i] == NULL)
                continue;
            if ((out[i] = malloc(lens[i] + 1)) == NULL) {
                mysql_free_result(res);
                return my_bl_oom(err);
            }
            memcpy(out[i], row[i], lens[i]);
            out[i][lens[i]] = '\0';
        }
    }
    mysql_free_result(res);
    return 0;
}

static void my_bl_free_strs(char **s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        free(s[i]);
}

/* Turns an error of a binlog statement into advice about the privilege it
 * needs (MariaDB 10.5+ names; older servers: REPLICATION CLIENT, SUPER). */
static int my_bl_priv(rowsync_error_t *err, int rc, const char *node,
                      const char *priv)
{
    if (err != NULL && (err->native == 1227 || err->native == 1045 ||
                        err->native == 1044 || err->native == 1142))
        rowsync_error_set(err, rc,
                          "%s; capture = binlog on node '%s' needs the "
                          "privilege %s on *.* (GRANT %s ON *.* TO the "
                          "rowsync user)",
                          err->message, node, priv, priv);
    return rc;
}

/* Checks the server's binlog settings in one query (MariaDB, log_bin,
 * binlog_format ROW, binlog_row_image FULL) and names every setting that
 * is off in one message. */
int my_bl_check(rowsync_conn_t *c, MYSQL *db, const char *node,
                const char *where, rowsync_error_t *err)
{
    static const char *const sql =
        "SELECT @@version, @@global.log_bin, @@global.binlog_format,"
        " @@global.binlog_row_image";
    char *v[4];
    int found, rc;
    rowsync_buf_t b = {NULL, 0, 0, 0};

    rc = my_bl_row(c, db, sql, v, 4, &found, err,
                   "cannot read the binary log settings");
    if (rc < 0)
        return rc;
    if (!found || v[0] == NULL || strstr(v[0], "MariaDB") == NULL) {
        rc = rowsync_error_set(err, ROWSYNC_ENOTSUP,
                               "node '%s' (%s): capture = binlog needs a "
                               "MariaDB server (this is %s); use capture = "
                               "triggers",
                               node, where, v[0] != NULL ? v[0] : "unknown");
        goto out;
    }
    if (v[1] == NULL || strcmp(v[1], "1") != 0)
        rowsync_buf_puts(&b, "log_bin is off (start the server with "
                             "--log-bin); ");
    if (v[2] == NULL || strcmp(v[2], "ROW") != 0)
        rowsync_buf_printf(&b, "binlog_format is %s, not ROW (set "
                               "binlog_format = ROW); ",
                           v[2] != NULL ? v[2] : "unset");
    if (v[3] == NULL || strcmp(v[3], "FULL") != 0)
        rowsync_buf_printf(&b, "binlog_row_image is %s, not FULL (set "
                               "binlog_row_image = FULL); ",
                           v[3] != NULL ? v[3] : "unset");
    if (b.oom) {
        rc = my_bl_oom(err);
    } else if (b.len > 0) {
        b.p[b.len - 2] = '\0';
        rc = rowsync_error_set(err, ROWSYNC_EINVAL,
                               "node '%s' (%s): capture = binlog cannot read "
                               "this server's binary log: %s; change the "
                               "server settings (my.cnf, and SET GLOBAL for "
                               "the running server) or use capture = "
                               "triggers",
                               node, where, b.p);
    }
out:
    my_bl_free_strs(v, 4);
    rowsync_buf_free(&b);
    return rc;
}

/* The binlog's current end from SHOW MASTER STATUS (BINLOG MONITOR). */
int my_bl_head(rowsync_conn_t *c, MYSQL *db, const char *node, char *pos,
               size_t len, rowsync_error_t *err)
{
    char *v[2];
    int found, rc;

    rc = my_bl_row(c, db, "SHOW MASTER STATUS", v, 2, &found, err,
                   "cannot read the binary log position");
    if (rc < 0)
        return my_bl_priv(err, rc, node, "BINLOG MONITOR");
    if (!found || v[0] == NULL || v[1] == NULL)
        rc = rowsync_error_set(err, ROWSYNC_EINVAL,
                               "node '%s': SHOW MASTER STATUS returned no "
                               "row: the server writes no binary log "
                               "(start it with --log-bin) or the rowsync "
                               "user lacks BINLOG MONITOR",
                               node);
    else if ((size_t)snprintf(pos, len, "%s:%s", v[0], v[1]) >= len)
        rc = rowsync_error_set(err, ROWSYNC_ERROR,
                               "node '%s': binlog file name too long", node);
    my_bl_free_strs(v, 2);
    return rc;
}

/* Splits "file:position" (at the last colon). 0 or -1. */
static int my_bl_pos_parse(const char *text, char *file, size_t len,
                           unsigned long *pos)
{
    const char *colon = strrchr(text, ':');
    char *end;

    if (colon == NULL || colon == text || (size_t)(colon - text) >= len)
        return -1;
    memcpy(file, text, (size_t)(colon - text));
    file[colon - text] = '\0';
    *pos = strtoul(colon + 1, &end, 10);
    return *end == '\0' && end != colon + 1 ? 0 : -1;
}

/* Orders two binlog positions (file names of one server sort by their
 * sequence number). */
static int my_bl_pos_cmp(const char *fa, unsigned long pa, const char *fb,
                         unsigned long pb)
{
    int d = strcmp(fa, fb);

    if (d != 0)
        return d;
    return pa < pb ? -1 : pa > pb;
}

/* ---- the table map and row images --------------------------------------- */

/* Little-endian and big-endian unsigned integers of n bytes. */
static uint64_t my_bl_le(const unsigned char *p, size_t n)
{
    uint64_t v = 0;

    while (n-- > 0)
        v = (v << 8) | p[n];
    return v;
}

static uint64_t my_bl_be(const unsigned char *p, size_t n)
{
    uint64_t v = 0;
    size_t i;

    for (i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

/* Bytes of a binary DECIMAL(prec, scale). */
static size_t my_bl_dec_size(unsigned prec, unsigned scale)
{
    static const unsigned char dig2bytes[10] = {0, 1, 1, 2, 2, 3, 3, 4, 4, 4};
    unsigned intg = prec >= scale ? prec - scale : 0;

    return (intg / 9) * 4 + dig2bytes[intg % 9] + (scale / 9) * 4 +
           dig2bytes[scale % 9];
}

/* Reads the column types and metadata of a TABLE_MAP event into
 * r->cols. Metadata becomes one number per column: 1-byte metadata as is,
 * VARCHAR and BIT little-endian, CHAR/ENUM/SET and DECIMAL big-endian
 * (the server's own reading). */
static int my_bl_map(my_bl_run_t *r, const MARIADB_RPL_EVENT *ev)
{
    const struct st_mariadb_rpl_table_map_event *tm = &ev->event.table_map;
    const unsigned char *types = (const unsigned char *)tm->column_types.str;
    const unsigned char *m = (const unsigned char *)tm->metadata.str;
    size_t mlen = tm->metadata.length, at = 0, i, need;
    my_bl_col_t *cols;

    if (tm->column_count > MY_BL_COLS_MAX)
        return rowsync_error_set(r->err, ROWSYNC_ENOTSUP,
                                 "node '%s': table map of %s.%s names %u "
                                 "columns",
                                 r->t->node, r->t->db, r->t->name,
                                 (unsigned)tm->column_count);
    cols = calloc(tm->column_count ? tm->column_count : 1, sizeof *cols);
    if (cols == NULL)
        return my_bl_oom(r->err);
    for (i = 0; i < tm->column_count; i++) {
        cols[i].type = types[i];
        switch (types[i]) {
        case MYSQL_TYPE_FLOAT:
        case MYSQL_TYPE_DOUBLE:
        case MYSQL_TYPE_BLOB:
        case MYSQL_TYPE_GEOMETRY:
        case MY_BL_T_JSON:
        case MY_BL_T_TIMESTAMP2:
        case MY_BL_T_DATETIME2:
        case MY_BL_T_TIME2:
            need = 1;
            break;
        case MYSQL_TYPE_VARCHAR:
        case MYSQL_TYPE_VAR_STRING:
        case MYSQL_TYPE_BIT:
        case MYSQL_TYPE_STRING:
        case MYSQL_TYPE_ENUM:
        case MYSQL_TYPE_SET:
        case MYSQL_TYPE_NEWDECIMAL:
            need = 2;
            break;
        default:
            need = 0;
            break;
        }
        if (at + need > mlen) {
            free(cols);
            return rowsync_error_set(r->err, ROWSYNC_ERROR,
                                     "node '%s': table map of %s.%s: "
                                     "metadata too short",
                                     r->t->node, r->t->db, r->t->name);
        }
        if (need == 1)
            cols[i].meta = m[at];
        else if (need == 2 && (types[i] == MYSQL_TYPE_VARCHAR ||
                               types[i] == MYSQL_TYPE_VAR_STRING ||
                               types[i] == MYSQL_TYPE_BIT))
            cols[i].meta = m[at] | (unsigned)m[at + 1] << 8;
        else if (need == 2)
            cols[i].meta = (unsigned)m[at] << 8 | m[at + 1];
        at += need;
        cols[i].is_unsigned = i < r->nnames && r->unsig[i];
    }
    free(r->cols);
    r->cols = cols;
    r->ncols = tm->column_count;
    return 0;
}

/* The real type and the byte length of a CHAR/ENUM/SET column (both in
 * its metadata; lengths above 255 borrow two bits of the type). */
static void my_bl_string_meta(unsigned meta, unsigned *real, unsigned *len)
{
    unsigned t = meta >> 8, l = meta & 0xff;

    if ((t & 0x30) != 0x30) {
        l += ((t & 0x30) ^ 0x30) << 4;
        t |= 0x30;
    }
    *real = t;
    *len = l;
}

/* Bytes the value of column col takes at p (at most avail); 0 with *bad
 * set when the type is unknown or the data runs out. */
static size_t my_bl_size(const my_bl_col_t *col, const unsigned char *p,
                         size_t avail, int *bad)
{
    size_t n = 0, pre;
    unsigned real, len;

    switch (col->type) {
    case MYSQL_TYPE_TINY:
    case MYSQL_TYPE_YEAR:
        n = 1;
        break;
    case MYSQL_TYPE_SHORT:
        n = 2;
        break;
    case MYSQL_TYPE_INT24:
    case MYSQL_TYPE_DATE:
    case MYSQL_TYPE_NEWDATE:
    case MYSQL_TYPE_TIME:
        n = 3;
        break;
    case MYSQL_TYPE_LONG:
    case MYSQL_TYPE_TIMESTAMP:
        n = 4;
        break;
    case MYSQL_TYPE_LONGLONG:
    case MYSQL_TYPE_DATETIME:
        n = 8;
        break;
    case MYSQL_TYPE_FLOAT:
    case MYSQL_TYPE_DOUBLE:
        n = col->meta;
        break;
    case MY_BL_T_TIMESTAMP2:
        n = 4 + (col->meta + 1) / 2;
        break;
    case MY_BL_T_DATETIME2:
        n = 5 + (col->meta + 1) / 2;
        break;
    case MY_BL_T_TIME2:
        n = 3 + (col->meta + 1) / 2;
        break;
    case MYSQL_TYPE_NEWDECIMAL:
        n = my_bl_dec_size(col->meta >> 8, col->meta & 0xff);
        break;
    case MYSQL_TYPE_BIT:
        n = (col->meta >> 8) + ((col->meta & 0xff) ? 1 : 0);
        break;
    case MYSQL_TYPE_VARCHAR:
    case MYSQL_TYPE_VAR_STRING:
        pre = col->meta < 256 ? 1 : 2;
        if (avail < pre)
            goto bad;
        n = pre + (size_t)my_bl_le(p, pre);
        break;
    case MYSQL_TYPE_BLOB:
    case MYSQL_TYPE_GEOMETRY:
    case MY_BL_T_JSON:
        pre = col->meta;
        if (pre < 1 || pre > 4 || avail < pre)
            goto bad;
        n = pre + (size_t)my_bl_le(p, pre);
        break;
    case MYSQL_TYPE_STRING:
    case MYSQL_TYPE_ENUM:
    case MYSQL_TYPE_SET:
        my_bl_string_meta(col->meta, &real, &len);
        if (real == MYSQL_TYPE_ENUM || real == MYSQL_TYPE_SET) {
            n = len;
        } else {
            pre = len < 256 ? 1 : 2;
            if (avail < pre)
                goto bad;
            n = pre + (size_t)my_bl_le(p, pre);
        }
        break;
    case MYSQL_TYPE_NULL:
        n = 0;
        break;
    default:
        goto bad;
    }
    if (n > avail)
        goto bad;
    return n;
bad:
    *bad = 1;
    return 0;
}

/* Locates the columns of one row image at *pp (present: the columns the
 * image holds) in cells[r->ncols]; advances *pp. -1 on malformed data. */
static int my_bl_image(my_bl_run_t *r, const unsigned char **pp,
                       const unsigned char *end,
                       const unsigned char *present, my_bl_cell_t *cells)
{
    const unsigned char *p = *pp, *nulls;
    size_t i, j = 0, npresent = 0;
    int bad = 0;

    for (i = 0; i < r->ncols; i++)
        npresent += (present[i / 8] >> (i % 8)) & 1;
    nulls = p;
    p += (npresent + 7) / 8;
    if (p > end)
        return -1;
    for (i = 0; i < r->ncols; i++) {
        my_bl_cell_t *cell = &cells[i];
        memset(cell, 0, sizeof *cell);
        if (!((present[i / 8] >> (i % 8)) & 1))
            continue;
        cell->present = 1;
        cell->null = (nulls[j / 8] >> (j % 8)) & 1;
        j++;
        if (cell->null)
            continue;
        cell->p = p;
        cell->n = my_bl_size(&r->cols[i], p, (size_t)(end - p), &bad);
        if (bad)
            return -1;
        p += cell->n;
    }
    *pp = p;
    return 0;
}

/* Two cells hold the same value (bytes; NULL equals NULL). */
static int my_bl_same(const my_bl_cell_t *a, const my_bl_cell_t *b)
{
    if (a->null || b->null)
        return a->null == b->null;
    return a->n == b->n && memcmp(a->p, b->p, a->n) == 0;
}

/* Fractional microseconds of a temporal2 value (fsp digits) at p. */
static long my_bl_frac(const unsigned char *p, unsigned fsp)
{
    switch ((fsp + 1) / 2) {
    case 1:
        return (long)p[0] * 10000;
    case 2:
        return (long)my_bl_be(p, 2) * 100;
    case 3:
        return (long)my_bl_be(p, 3);
    default:
        return 0;
    }
}

/* A binary DECIMAL as text ("-12.340") into out (at least 100 bytes). */
static void my_bl_decimal(const unsigned char *src, unsigned prec,
                          unsigned scale, char *out, size_t len)
{
    static const unsigned char dig2bytes[10] = {0, 1, 1, 2, 2, 3, 3, 4, 4, 4};
    unsigned char buf[80];
    size_t size = my_bl_dec_size(prec, scale), at = 0, o = 0, i, nb;
    unsigned intg = prec >= scale ? prec - scale : 0;
    int neg, printed = 0;

    if (size > sizeof buf) {
        snprintf(out, len, "0");
        return;
    }
    memcpy(buf, src, size);
    neg = !(buf[0] & 0x80);
    buf[0] ^= 0x80;
    if (neg)
        for (i = 0; i < size; i++)
            buf[i] ^= 0xff;
    if (neg)
        o += (size_t)snprintf(out + o, len - o, "-");
    if ((nb = dig2bytes[intg % 9]) > 0) {
        uint64_t x = my_bl_be(buf + at, nb);
        at += nb;
        if (x != 0) {
            o += (size_t)snprintf(out + o, len - o, "%llu",
                                  (unsigned long long)x);
            printed = 1;
        }
    }
    for (i = 0; i < intg / 9; i++, at += 4) {
        uint64_t x = my_bl_be(buf + at, 4);
        if (printed)
            o += (size_t)snprintf(out + o, len - o, "%09llu",
                                  (unsigned long long)x);
        else if (x != 0) {
            o += (size_t)snprintf(out + o, len - o, "%llu",
                                  (unsigned long long)x);
            printed = 1;
        }
    }
    if (!printed)
        o += (size_t)snprintf(out + o, len - o, "0");
    if (scale > 0) {
        o += (size_t)snprintf(out + o, len - o, ".");
        for (i = 0; i < scale / 9; i++, at += 4)
            o += (size_t)snprintf(out + o, len - o, "%09llu",
                                  (unsigned long long)my_bl_be(buf + at, 4));
        if ((nb = dig2bytes[scale % 9]) > 0)
            snprintf(out + o, len - o, "%0*llu", (int)(scale % 9),
                     (unsigned long long)my_bl_be(buf + at, nb));
    }
}

/* Copies a string value into the arena of pending keys. */
static void my_bl_key_bytes(my_bl_run_t *r, my_bl_key_t *k,
                            const unsigned char *p, size_t n)
{
    k->bt = MYSQL_TYPE_STRING;
    k->off = r->arena.len;
    k->len = (unsigned long)n;
    rowsync_buf_add(&r->arena, (const char *)p, n);
}

/* A TIME bound as a parameter travels as days and hours below 24 (the
 * protocol keeps one byte for the hour). */
static void my_bl_time_days(MYSQL_TIME *tm)
{
    tm->day = tm->hour / 24;
    tm->hour %= 24;
}

/* Converts the key cell of table column col into a bindable value. */
static int my_bl_key(my_bl_run_t *r, size_t col, const my_bl_cell_t *cell,
                     my_bl_key_t *k)
{
    const my_bl_col_t *c = &r->cols[col];
    const unsigned char *p = cell->p;
    unsigned real, len;
    uint64_t v;
    char dec[128];

    memset(k, 0, sizeof *k);
    if (!cell->present)
        return rowsync_error_set(r->err, ROWSYNC_EINVAL,
                                 "node '%s': a binlog row of %s.%s lacks "
                                 "key column %zu: the server must log full "
                                 "row images (binlog_row_image = FULL)",
                                 r->t->node, r->t->db, r->t->name, col + 1);
    if (cell->null) {
        k->bt = MYSQL_TYPE_NULL;
        return 0;
    }
    switch (c->type) {
    case MYSQL_TYPE_TINY:
    case MYSQL_TYPE_SHORT:
    case MYSQL_TYPE_INT24:
    case MYSQL_TYPE_LONG:
    case MYSQL_TYPE_LONGLONG:
        v = my_bl_le(p, cell->n);
        k->bt = MYSQL_TYPE_LONGLONG;
        if (c->is_unsigned) {
            k->is_unsigned = 1;
            k->ll = (long long)v;
        } else if (cell->n < 8 && (v >> (cell->n * 8 - 1)) & 1) {
            k->ll = (long long)(v | (~(uint64_t)0 << (cell->n * 8)));
        } else {
            k->ll = (long long)v;
        }
        return 0;
    case MYSQL_TYPE_YEAR:
        k->bt = MYSQL_TYPE_LONGLONG;
        k->ll = p[0] ? 1900 + p[0] : 0;
        return 0;
    case MYSQL_TYPE_FLOAT: {
        float f;
        memcpy(&f, p, sizeof f);
        k->bt = MYSQL_TYPE_DOUBLE;
        k->d = f;
        return 0;
    }
    case MYSQL_TYPE_DOUBLE:
        memcpy(&k->d, p, sizeof k->d);
        k->bt = MYSQL_TYPE_DOUBLE;
        return 0;
    case MYSQL_TYPE_NEWDECIMAL:
        my_bl_decimal(p, c->meta >> 8, c->meta & 0xff, dec, sizeof dec);
        my_bl_key_bytes(r, k, (const unsigned char *)dec, strlen(dec));
        return 0;
    case MYSQL_TYPE_BIT:
        k->bt = MYSQL_TYPE_LONGLONG;
        k->is_unsigned = 1;
        k->ll = (long long)my_bl_be(p, cell->n);
        return 0;
    case MYSQL_TYPE_VARCHAR:
    case MYSQL_TYPE_VAR_STRING:
        len = c->meta < 256 ? 1 : 2;
        my_bl_key_bytes(r, k, p + len, cell->n - len);
        return 0;
    case MYSQL_TYPE_BLOB:
    case MYSQL_TYPE_GEOMETRY:
    case MY_BL_T_JSON:
        my_bl_key_bytes(r, k, p + c->meta, cell->n - c->meta);
        return 0;
    case MYSQL_TYPE_STRING:
    case MYSQL_TYPE_ENUM:
    case MYSQL_TYPE_SET:
        my_bl_string_meta(c->meta, &real, &len);
        if (real == MYSQL_TYPE_ENUM || real == MYSQL_TYPE_SET) {
            /* the member's number (ENUM) or bit set (SET) */
            k->bt = MYSQL_TYPE_LONGLONG;
            k->is_unsigned = 1;
            k->ll = (long long)my_bl_le(p, cell->n);
        } else {
            size_t pre = len < 256 ? 1 : 2;
            my_bl_key_bytes(r, k, p + pre, cell->n - pre);
        }
        return 0;
    case MYSQL_TYPE_DATE:
    case MYSQL_TYPE_NEWDATE:
        v = my_bl_le(p, 3);
        k->bt = MYSQL_TYPE_DATE;
        k->tm.time_type = MYSQL_TIMESTAMP_DATE;
        k->tm.day = (unsigned)(v & 31);
        k->tm.month = (unsigned)((v >> 5) & 15);
        k->tm.year = (unsigned)(v >> 9);
        return 0;
    case MYSQL_TYPE_DATETIME:
        v = my_bl_le(p, 8);
        k->bt = MYSQL_TYPE_DATETIME;
        k->tm.time_type = MYSQL_TIMESTAMP_DATETIME;
        k->tm.second = (unsigned)(v % 100);
        k->tm.minute = (unsigned)(v / 100 % 100);
        k->tm.hour = (unsigned)(v / 10000 % 100);
        k->tm.day = (unsigned)(v / 1000000 % 100);
        k->tm.month = (unsigned)(v / 100000000 % 100);
        k->tm.year = (unsigned)(v / 10000000000ULL);
        return 0;
    case MY_BL_T_DATETIME2: {
        int64_t ip = (int64_t)my_bl_be(p, 5) - 0x8000000000LL;
        int64_t ymd = ip >> 17, ym = ymd >> 5, hms = ip % (1 << 17);
        k->bt = MYSQL_TYPE_DATETIME;
        k->tm.time_type = MYSQL_TIMESTAMP_DATETIME;
        k->tm.year = (unsigned)(ym / 13);
        k->tm.month = (unsigned)(ym % 13);
        k->tm.day = (unsigned)(ymd % (1 << 5));
        k->tm.hour = (unsigned)(hms >> 12);
        k->tm.minute = (unsigned)((hms >> 6) % (1 << 6));
        k->tm.second = (unsigned)(hms % (1 << 6));
        k->tm.second_part = (unsigned long)my_bl_frac(p + 5, c->meta);
        return 0;
    }
    case MYSQL_TYPE_TIMESTAMP:
    case MY_BL_T_TIMESTAMP2: {
        time_t s;
        struct tm g;
        if (c->type == MYSQL_TYPE_TIMESTAMP)
            s = (time_t)my_bl_le(p, 4);
        else
            s = (time_t)my_bl_be(p, 4);
        k->bt = MYSQL_TYPE_DATETIME; /* the session's time zone is UTC */
        k->tm.time_type = MYSQL_TIMESTAMP_DATETIME;
        if (s != 0 && gmtime_r(&s, &g) != NULL) {
            k->tm.year = (unsigned)g.tm_year + 1900;
            k->tm.month = (unsigned)g.tm_mon + 1;
            k->tm.day = (unsigned)g.tm_mday;
            k->tm.hour = (unsigned)g.tm_hour;
            k->tm.minute = (unsigned)g.tm_min;
            k->tm.second = (unsigned)g.tm_sec;
        }
        if (c->type == MY_BL_T_TIMESTAMP2)
            k->tm.second_part = (unsigned long)my_bl_frac(p + 4, c->meta);
        return 0;
    }
    case MYSQL_TYPE_TIME: {
        int64_t t = (int64_t)my_bl_le(p, 3);
        if (t & 0x800000)
            t -= 0x1000000;
        k->bt = MYSQL_TYPE_TIME;
        k->tm.time_type = MYSQL_TIMESTAMP_TIME;
        k->tm.neg = t < 0;
        if (t < 0)
            t = -t;
        k->tm.hour = (unsigned)(t / 10000);
        k->tm.minute = (unsigned)(t / 100 % 100);
        k->tm.second = (unsigned)(t % 100);
        my_bl_time_days(&k->tm);
        return 0;
    }
    case MY_BL_T_TIME2: {
        /* the server's packed time: int part << 24 | microseconds */
        int64_t ip = (int64_t)my_bl_be(p, 3) - 0x800000, packed, hms, frac;
        switch ((c->meta + 1) / 2) {
        case 1:
            frac = p[3];
            if (ip < 0 && frac) {
                ip++;
                frac -= 0x100;
            }
            packed = ip * (1 << 24) + frac * 10000;
            break;
        case 2:
            frac = (int64_t)my_bl_be(p + 3, 2);
            if (ip < 0 && frac) {
                ip++;
                frac -= 0x10000;
            }
            packed = ip * (1 << 24) + frac * 100;
            break;
        case 3:
            packed = (int64_t)my_bl_be(p, 6) - 0x800000000000LL;
            break;
        default:
            packed = ip * (1 << 24);
            break;
        }
        k->bt = MYSQL_TYPE_TIME;
        k->tm.time_type = MYSQL_TIMESTAMP_TIME;
        k->tm.neg = packed < 0;
        if (packed < 0)
            packed = -packed;
        hms = packed >> 24;
        frac = packed % (1 << 24);
        k->tm.hour = (unsigned)((hms >> 12) % (1 << 10));
        k->tm.minute = (unsigned)((hms >> 6) % (1 << 6));
        k->tm.second = (unsigned)(hms % (1 << 6));
        k->tm.second_part = (unsigned long)frac;
        my_bl_time_days(&k->tm);
        return 0;
    }
    default:
        return rowsync_error_set(r->err, ROWSYNC_ENOTSUP,
                                 "node '%s': key column %zu of %s.%s has "
                                 "binlog type %u, which binlog capture "
                                 "cannot read; use capture = triggers",
                                 r->t->node, col + 1, r->t->db, r->t->name,
                                 c->type);
    }
}

/* ---- pending history rows ----------------------------------------------- */

/* The multi-row history INSERT for n rows. */
static int my_bl_prepare(my_bl_run_t *r, size_t n, MYSQL_STMT **out)
{
    rowsync_buf_t b = {NULL, 0, 0, 0};
    MYSQL_STMT *st;
    size_t i, k;
    int rc = 0;

    rowsync_buf_puts(&b, "INSERT INTO ");
    my_bl_sb_ident(&b, r->t->db);
    rowsync_buf_puts(&b, ".");
    my_bl_sb_ident(&b, r->t->hist);
    rowsync_buf_puts(&b, " (op, time_us, origin");
    for (k = 0; k < r->nkeys; k++)
        rowsync_buf_printf(&b, ", k%zu", k + 1);
    rowsync_buf_puts(&b, ", cols) VALUES ");
    for (i = 0; i < n; i++) {
        rowsync_buf_puts(&b, i ? ", (?, ?, NULL" : "(?, ?, NULL");
        for (k = 0; k < r->nkeys; k++)
            rowsync_buf_puts(&b, ", ?");
        rowsync_buf_puts(&b, ", ?)");
    }
    if (b.oom)
        return my_bl_oom(r->err);
    st = mysql_stmt_init(r->local);
    if (st == NULL) {
        rowsync_buf_free(&b);
        return my_bl_oom(r->err);
    }
    if (mysql_stmt_prepare(st, b.p, (unsigned long)b.len) != 0) {
        rc = rowsync_error_set(r->err, ROWSYNC_ERROR,
                               "node '%s': cannot prepare the history insert "
                               "of %s.%s: %s",
                               r->t->node, r->t->db, r->t->name,
                               mysql_stmt_error(st));
        if (r->err != NULL)
            r->err->native = (long)mysql_stmt_errno(st);
        mysql_stmt_close(st);
    } else {
        *out = st;
    }
    rowsync_buf_free(&b);
    return rc;
}

/* Inserts pending rows [from, to). */
static int my_bl_insert(my_bl_run_t *r, size_t from, size_t to)
{
    MYSQL_STMT *st = NULL;
    size_t per = 3 + r->nkeys, i, k, n = to - from;
    int rc;

    if (n == 0)
        return 0;
    if (n == r->chunk && r->full != NULL) {
        st = r->full;
    } else {
        rc = my_bl_prepare(r, n, &st);
        if (rc < 0)
            return rc;
        if (n == r->chunk)
            r->full = st;
    }
    memset(r->binds, 0, n * per * sizeof *r->binds);
    for (i = 0; i < n; i++) {
        my_bl_hrow_t *h = &r->rows[from + i];
        MYSQL_BIND *b = &r->binds[i * per];
        b[0].buffer_type = MYSQL_TYPE_LONG;
        b[0].buffer = &h->op;
        b[1].buffer_type = MYSQL_TYPE_LONGLONG;
        b[1].buffer = &h->time_us;
        for (k = 0; k < r->nkeys; k++) {
            my_bl_key_t *key = &r->keys[(from + i) * r->nkeys + k];
            MYSQL_BIND *kb = &b[2 + k];
            kb->buffer_type = key->bt;
            kb->is_unsigned = key->is_unsigned;
            switch (key->bt) {
            case MYSQL_TYPE_LONGLONG:
                kb->buffer = &key->ll;
                break;
            case MYSQL_TYPE_DOUBLE:
                kb->buffer = &key->d;
                break;
            case MYSQL_TYPE_DATE:
            case MYSQL_TYPE_DATETIME:
            case MYSQL_TYPE_TIME:
                kb->buffer = &key->tm;
                break;
            case MYSQL_TYPE_STRING:
                /* the column's own bytes, in its own character set: sent
                 * as binary, which the server stores without conversion */
                kb->buffer_type = MYSQL_TYPE_BLOB;
                kb->buffer = r->arena.p != NULL ? r->arena.p + key->off : "";
                kb->buffer_length = key->len;
                kb->length = &key->len;
                break;
            default:
                break;
            }
        }
        b[2 + r->nkeys].buffer_type =
            h->cols_null ? MYSQL_TYPE_NULL : MYSQL_TYPE_LONGLONG;
        b[2 + r->nkeys].buffer = &h->cols;
        b[2 + r->nkeys].is_unsigned = 1;
    }
    rc = 0;
    if (mysql_stmt_bind_param(st, r->binds) != 0 ||
        mysql_stmt_execute(st) != 0) {
        rc = rowsync_error_set(r->err, ROWSYNC_ERROR,
                               "node '%s' (%s): cannot write the history of "
                               "%s.%s from the binary log: %s",
                               r->t->node, r->t->where, r->t->db, r->t->name,
                               mysql_stmt_error(st));
        if (r->err != NULL)
            r->err->native = (long)mysql_stmt_errno(st);
    }
    if (st != r->full)
        mysql_stmt_close(st);
    return rc;
}

/* Writes every pending row. Rows of the open binlog transaction go after
 * a savepoint (taken once per transaction), so that they can be taken
 * back if the transaction turns out to be rowsync's own apply. */
static int my_bl_flush(my_bl_run_t *r)
{
    int rc = 0;

    if (r->in_group && !r->savepoint && r->group_start < r->n) {
        rc = my_bl_insert(r, 0, r->group_start);
        if (rc == 0)
            rc = my_bl_exec(r->c, r->local, "SAVEPOINT rowsync_binlog",
                            r->err, "cannot ingest the binary log");
        if (rc == 0)
            rc = my_bl_insert(r, r->group_start, r->n);
        r->savepoint = 1;
    } else {
        rc = my_bl_insert(r, 0, r->n);
    }
    r->st.rows += r->n;
    r->n = 0;
    r->group_start = 0;
    r->group_arena = 0;
    r->arena.len = 0;
    return rc;
}

/* Appends a history row (keys from image cells) and flushes when the
 * buffer is full. */
static int my_bl_add(my_bl_run_t *r, int op, const my_bl_cell_t *cells,
                     unsigned long long cols, int cols_null)
{
    my_bl_hrow_t *h;
    size_t k;
    int rc;

    if (r->n == r->chunk && (rc = my_bl_flush(r)) < 0)
        return rc;
    h = &r->rows[r->n];
    h->op = op;
    h->time_us = r->group_time * 1000000LL;
    h->cols = cols;
    h->cols_null = (my_bool)cols_null;
    for (k = 0; k < r->nkeys; k++) {
        rc = my_bl_key(r, r->pos[k], &cells[r->pos[k]],
                       &r->keys[r->n * r->nkeys + k]);
        if (rc < 0)
            return rc;
    }
    if (r->arena.oom)
        return my_bl_oom(r->err);
    r->n++;
    return 0;
}

/* ---- events ------------------------------------------------------------- */

/* One row of an UPDATE: a key change is a delete and an insert; otherwise
 * an update with the mask of changed spec columns (NULL past 64 columns),
 * nothing when no spec column changed. */
static int my_bl_update(my_bl_run_t *r, const my_bl_cell_t *a,
                        const my_bl_cell_t *b)
{
    const rowsync_table_spec_t *spec = r->t->spec;
    unsigned long long mask = 0;
    size_t i;
    int same_key = 1, any = 0, rc;

    for (i = 0; i < r->nkeys; i++)
        if (!my_bl_same(&a[r->pos[i]], &b[r->pos[i]]))
            same_key = 0;
    if (!same_key) {
        rc = my_bl_add(r, ROWSYNC_OP_DELETE, a, 0, 1);
        return rc < 0 ? rc : my_bl_add(r, ROWSYNC_OP_INSERT, b, 0, 1);
    }
    for (i = r->nkeys; i < spec->ncolumns; i++) {
        size_t col = r->pos[i];
        if (col >= r->ncols)
            continue; /* a column the row predates */
        if (!a[col].present || !b[col].present || !my_bl_same(&a[col], &b[col])) {
            any = 1;
            if (i < 64)
                mask |= 1ULL << i;
        }
    }
    if (!any)
        return 0;
    return my_bl_add(r, ROWSYNC_OP_UPDATE, b, mask, spec->ncolumns > 64);
}

/* The row changes of one ROWS event of the captured table. */
static int my_bl_rows(my_bl_run_t *r, const MARIADB_RPL_EVENT *ev)
{
    const struct st_mariadb_rpl_rows_event *re = &ev->event.rows;
    const unsigned char *p = re->row_data, *end;
    size_t k;
    int rc;

    if (r->cols == NULL || re->column_count != r->ncols || p == NULL)
        return rowsync_error_set(r->err, ROWSYNC_ERROR,
                                 "node '%s': a binlog row event of %s.%s "
                                 "does not match its table map",
                                 r->t->node, r->t->db, r->t->name);
    for (k = 0; k < r->nkeys; k++)
        if (r->pos[k] >= r->ncols)
            return rowsync_error_set(
                r->err, ROWSYNC_ERROR,
                "node '%s': binlog rows of %s.%s have %zu columns, too few "
                "for key column '%s' of the table now: the table was "
                "altered since; run `rowsync teardown` and `init`",
                r->t->node, r->t->db, r->t->name, r->ncols,
                r->t->spec->columns[k]);
    end = p + re->row_data_size;
    while (p < end) {
        if (my_bl_image(r, &p, end, re->column_bitmap, r->img[0]) < 0)
            goto malformed;
        if (re->type == UPDATE_ROWS) {
            if (re->column_update_bitmap == NULL ||
                my_bl_image(r, &p, end, re->column_update_bitmap,
                            r->img[1]) < 0)
                goto malformed;
            rc = my_bl_update(r, r->img[0], r->img[1]);
        } else {
            rc = my_bl_add(r, re->type == WRITE_ROWS ? ROWSYNC_OP_INSERT
                                                     : ROWSYNC_OP_DELETE,
                           r->img[0], 0, 1);
        }
        if (rc < 0)
            return rc;
    }
    return 0;
malformed:
    return rowsync_error_set(r->err, ROWSYNC_ERROR,
                             "node '%s': cannot decode a binlog row event of "
                             "%s.%s (a column type binlog capture does not "
                             "know, or compressed columns); use capture = "
                             "triggers for this table",
                             r->t->node, r->t->db, r->t->name);
}

/* A binlog transaction starts. */
static void my_bl_group_begin(my_bl_run_t *r, const MARIADB_RPL_EVENT *ev,
                              int standalone)
{
    r->in_group = 1;
    r->standalone = standalone;
    r->is_apply = 0;
    r->savepoint = 0;
    r->group_start = r->n;
    r->group_arena = r->arena.len;
    r->group_time = ev->timestamp;
}

/* The transaction being read wrote the history table: rowsync's own
 * apply. Its rows of the table are taken back. */
static int my_bl_group_apply(my_bl_run_t *r)
{
    int rc = 0;

    if (r->is_apply)
        return 0;
    r->is_apply = 1;
    r->st.skipped += r->n - r->group_start;
    r->n = r->group_start;
    r->arena.len = r->group_arena;
    if (r->savepoint) {
        rc = my_bl_exec(r->c, r->local, "ROLLBACK TO SAVEPOINT rowsync_binlog",
                        r->err, "cannot ingest the binary log");
        r->savepoint = 0;
    }
    return rc;
}

/* Reads the table's columns now (names, UNSIGNED) and maps the spec
 * columns to their positions. */
static int my_bl_columns(my_bl_run_t *r)
{
    rowsync_buf_t b = {NULL, 0, 0, 0};
    const rowsync_table_spec_t *spec = r->t->spec;
    MYSQL_RES *res;
    MYSQL_ROW row;
    size_t i, cap = 0;
    int rc = 0;

    rowsync_buf_puts(&b, "SELECT COLUMN_NAME, COLUMN_TYPE FROM"
                         " information_schema.COLUMNS WHERE TABLE_SCHEMA = ");
    my_bl_sb_str(&b, r->local, r->t->db);
    rowsync_buf_puts(&b, " AND TABLE_NAME = ");
    my_bl_sb_str(&b, r->local, r->t->name);
    rowsync_buf_puts(&b, " ORDER BY ORDINAL_POSITION");
    if (b.oom)
        return my_bl_oom(r->err);
    if (mysql_real_query(r->local, b.p, (unsigned long)b.len) != 0 ||
        (res = mysql_store_result(r->local)) == NULL) {
        rowsync_buf_free(&b);
        return my_fail(r->c, r->local, r->err, "cannot read the columns of "
                       "table '%s'", spec->table);
    }
    rowsync_buf_free(&b);
    cap = (size_t)mysql_num_rows(res) + 1;
    r->names = calloc(cap, sizeof *r->names);
    r->unsig = calloc(cap, sizeof *r->unsig);
    if (r->names == NULL || r->unsig == NULL) {
        mysql_free_result(res);
        return my_bl_oom(r->err);
    }
    while ((row = mysql_fetch_row(res)) != NULL && r->nnames + 1 < cap) {
        if ((r->names[r->nnames] = strdup(row[0] ? row[0] : "")) == NULL) {
            mysql_free_result(res);
            return my_bl_oom(r->err);
        }
        r->unsig[r->nnames] = row[1] != NULL && strstr(row[1], "unsigned");
        r->nnames++;
    }
    mysql_free_result(res);
    for (i = 0; i < spec->ncolumns && rc == 0; i++) {
        size_t j;
        for (j = 0; j < r->nnames; j++)
            if (strcasecmp(r->names[j], spec->columns[i]) == 0)
                break;
        r->pos[i] = j;
        /* a non-key column gone from the table: never compared (the
         * spec is older than the table; the next install fixes it) */
        if (j == r->nnames && i >= r->nkeys)
            r->pos[i] = SIZE_MAX;
        else if (j == r->nnames)
            rc = rowsync_error_set(r->err, ROWSYNC_ENOTFOUND,
                                   "column '%s' of table '%s' not found on "
                                   "node '%s' (%s)",
                                   spec->columns[i], spec->table, r->t->node,
                                   r->t->where);
    }
    return rc;
}

/* The error of a failed binlog dump, with what to do. */
static int my_bl_dump_error(my_bl_run_t *r, MYSQL *repl, const char *file,
                            unsigned long pos)
{
    unsigned no = mysql_errno(repl);
    const char *msg = mysql_error(repl);

    if (no == 1236 && (strstr(msg, "find first log") != NULL ||
                       strstr(msg, "not find") != NULL ||
                       strstr(msg, "purged") != NULL)) {
        rowsync_error_set(r->err, ROWSYNC_ERROR,
                          "node '%s' (%s), table '%s': the binary log file "
                          "%s (position %lu), where capture = binlog must "
                          "continue, is gone from the server (purged or "
                          "expired: %s); the changes written since are lost "
                          "to rowsync: run `rowsync teardown` and `rowsync "
                          "init` for this job, and keep binary logs longer "
                          "than the time between syncs "
                          "(binlog_expire_logs_seconds)",
                          r->t->node, r->t->where, r->t->spec->table, file,
                          pos, msg);
        if (r->err != NULL)
            r->err->native = (long)no;
        return ROWSYNC_ERROR;
    }
    {
        int rc = my_fail(r->c, repl, r->err,
                         "cannot read the binary log from %s:%lu for table "
                         "'%s'",
                         file, pos, r->t->spec->table);
        return my_bl_priv(r->err, rc, r->t->node, "REPLICATION SLAVE");
    }
}

/* The next file and position of a ROTATE event, read from the raw event
 * (Connector/C 3.3 misreads both once the stream carries checksums):
 * header, 8-byte position, the name, the checksum when crc. */
static int my_bl_rotate(const MARIADB_RPL_EVENT *ev, int crc, char *file,
                        size_t len, unsigned long *pos)
{
    const unsigned char *p;
    size_t hdr = 19, tail = crc ? 4 : 0, n;

    if (ev->raw_data == NULL || ev->event_length < hdr + 8 + tail ||
        ev->raw_data_ofs + ev->event_length > ev->raw_data_size)
        return -1;
    p = ev->raw_data + ev->raw_data_ofs + hdr;
    n = ev->event_length - hdr - 8 - tail;
    if (n == 0 || n >= len)
        return -1;
    *pos = (unsigned long)my_bl_le(p, 8);
    memcpy(file, p + 8, n);
    file[n] = '\0';
    return 0;
}

/* Reads the binary log from file:pos to its end (head: the end seen
 * before), filling r; *file / *pos become the end of the last complete
 * transaction. */
static int my_bl_read(my_bl_run_t *r, char *file, size_t flen,
                      unsigned long *pos, const char *hfile,
                      unsigned long hpos)
{
    char cur[MY_BL_POS_MAX];
    unsigned long last = *pos;
    MARIADB_RPL *rpl = NULL;
    MARIADB_RPL_EVENT *ev = NULL;
    MYSQL *repl = NULL;
    uint32_t sid;
    char *v[1] = {NULL};
    int rc, found, crc;

    snprintf(cur, sizeof cur, "%s", file);
    rc = my_session(r->c, 1, &repl, r->err);
    if (rc < 0)
        return rc;
    rc = my_bl_exec(r->c, repl,
                    "SET @master_binlog_checksum = @@global.binlog_checksum,"
                    " @mariadb_slave_capability = 4",
                    r->err, "cannot set up the binlog session");
    if (rc == 0)
        rc = my_bl_row(r->c, repl, "SELECT @master_binlog_checksum", v, 1,
                       &found, r->err, "cannot set up the binlog session");
    crc = rc == 0 && v[0] != NULL && strcasecmp(v[0], "NONE") != 0;
    free(v[0]);
    if (rc < 0)
        goto out;
    sid = r->t->server_id != 0
              ? r->t->server_id
              : 0x40000000u | (uint32_t)(mysql_thread_id(repl) & 0x3fffffff);
    if ((rpl = mariadb_rpl_init(repl)) == NULL) {
        rc = my_bl_oom(r->err);
        goto out;
    }
    mariadb_rpl_optionsv(rpl, MARIADB_RPL_FILENAME, file, strlen(file));
    mariadb_rpl_optionsv(rpl, MARIADB_RPL_START, *pos);
    mariadb_rpl_optionsv(rpl, MARIADB_RPL_SERVER_ID, sid);
    mariadb_rpl_optionsv(rpl, MARIADB_RPL_FLAGS,
                         MARIADB_RPL_BINLOG_DUMP_NON_BLOCK);
    if (mariadb_rpl_open(rpl) != 0) {
        rc = my_bl_dump_error(r, repl, file, *pos);
        goto out;
    }
    while ((ev = mariadb_rpl_fetch(rpl, ev)) != NULL) {
        const char *q;
        size_t ql;
        r->st.events++;
        if (ev->next_event_pos != 0)
            last = ev->next_event_pos;
        switch (ev->event_type) {
        case ROTATE_EVENT:
            if (my_bl_rotate(ev, crc, cur, sizeof cur, &last) < 0) {
                rc = rowsync_error_set(r->err, ROWSYNC_ERROR,
                                       "node '%s': cannot read a binlog "
                                       "ROTATE event after %s:%lu",
                                       r->t->node, cur, last);
                break;
            }
            if (!r->in_group) {
                /* nothing open: the position moves with the file */
                snprintf(file, flen, "%s", cur);
                *pos = last;
            }
            break;
        case GTID_EVENT:
            my_bl_group_begin(r, ev, (ev->event.gtid.flags & FL_STANDALONE));
            break;
        case QUERY_EVENT:
            q = ev->event.query.statement.str;
            ql = ev->event.query.statement.length;
            if (ql == 5 && strncmp(q, "BEGIN", 5) == 0) {
                my_bl_group_begin(r, ev, 0);
                break;
            }
            if (!r->in_group || r->standalone ||
                (ql == 6 && (strncmp(q, "COMMIT", 6) == 0)) ||
                (ql == 8 && strncmp(q, "ROLLBACK", 8) == 0))
                goto group_end;
            break;
        case XA_PREPARE_LOG_EVENT:
            /* an XA transaction's events are logged at XA PREPARE: taken
             * as committed (a later XA ROLLBACK leaves changes that the
             * extraction reads as the live rows, i.e. no-ops) */
        case XID_EVENT:
        group_end:
            r->in_group = 0;
            r->savepoint = 0;
            r->group_start = r->n;
            r->group_arena = r->arena.len;
            snprintf(file, flen, "%s", cur);
            *pos = ev->next_event_pos;
            break;
        case TABLE_MAP_EVENT: {
            const struct st_mariadb_rpl_table_map_event *t =
                &ev->event.table_map;
            if (t->database.length == strlen(r->t->db) &&
                memcmp(t->database.str, r->t->db, t->database.length) == 0) {
                if (t->table.length == strlen(r->t->name) &&
                    memcmp(t->table.str, r->t->name, t->table.length) == 0) {
                    rc = my_bl_map(r, ev);
                    r->tid = t->table_id;
                    r->have_tid = 1;
                } else if (t->table.length == strlen(r->t->hist) &&
                           memcmp(t->table.str, r->t->hist,
                                  t->table.length) == 0) {
                    r->hist_tid = t->table_id;
                    r->have_hist_tid = 1;
                    if (r->in_group)
                        rc = my_bl_group_apply(r);
                }
            }
            break;
        }
        case WRITE_ROWS_EVENT_V1:
        case UPDATE_ROWS_EVENT_V1:
        case DELETE_ROWS_EVENT_V1:
        case WRITE_ROWS_EVENT:
        case UPDATE_ROWS_EVENT:
        case DELETE_ROWS_EVENT:
            if (r->have_tid && ev->event.rows.table_id == r->tid &&
                !r->is_apply) {
                if (!r->in_group)
                    my_bl_group_begin(r, ev, 0);
                rc = my_bl_rows(r, ev);
            }
            break;
        case WRITE_ROWS_COMPRESSED_EVENT_V1:
        case UPDATE_ROWS_COMPRESSED_EVENT_V1:
        case DELETE_ROWS_COMPRESSED_EVENT_V1:
        case WRITE_ROWS_COMPRESSED_EVENT:
        case UPDATE_ROWS_COMPRESSED_EVENT:
        case DELETE_ROWS_COMPRESSED_EVENT:
            rc = rowsync_error_set(r->err, ROWSYNC_ENOTSUP,
                                   "node '%s': the server compresses its "
                                   "binary log (log_bin_compress), which "
                                   "capture = binlog cannot read; turn it "
                                   "off or use capture = triggers",
                                   r->t->node);
            break;
        default:
            break;
        }
        if (rc < 0)
            goto out;
    }
    if (mysql_errno(repl) != 0) {
        rc = my_bl_dump_error(r, repl, file, *pos);
        goto out;
    }
    if (my_bl_pos_cmp(cur, last, hfile, hpos) < 0)
        rc = rowsync_error_set(r->err, ROWSYNC_ERROR,
                               "node '%s' (%s): the binary log dump ended at "
                               "%s:%lu, before the end %s:%lu the server "
                               "reported (an event the client library "
                               "cannot read?)",
                               r->t->node, r->t->where, cur, last, hfile,
                               hpos);
    /* a transaction cut off at the end is read again next time */
    if (rc == 0 && r->in_group) {
        r->n = r->group_start;
        r->arena.len = r->group_arena;
        if (r->savepoint)
            rc = my_bl_exec(r->c, r->local,
                            "ROLLBACK TO SAVEPOINT rowsync_binlog", r->err,
                            "cannot ingest the binary log");
        r->in_group = 0;
    }
out:
    mariadb_free_rpl_event(ev);
    if (rpl != NULL)
        mariadb_rpl_close(rpl);
    mysql_close(repl);
    return rc;
}

/* Frees what a run allocated. */
static void my_bl_run_free(my_bl_run_t *r)
{
    size_t i;

    if (r->full != NULL)
        mysql_stmt_close(r->full);
    for (i = 0; i < r->nnames; i++)
        free(r->names[i]);
    free(r->names);
    free(r->unsig);
    free(r->pos);
    free(r->cols);
    free(r->img[0]);
    free(r->img[1]);
    free(r->rows);
    free(r->keys);
    free(r->binds);
    rowsync_buf_free(&r->arena);
}

/* The named lock that serializes the ingestions of one table. */
static void my_bl_sb_lock(rowsync_buf_t *b, MYSQL *db, const my_bl_target_t *t)
{
    char key[600];

    snprintf(key, sizeof key, "%s.%s", t->db, t->name);
    rowsync_buf_puts(b, "CONCAT('rowsync:binlog:', SHA1(");
    my_bl_sb_str(b, db, key);
    rowsync_buf_puts(b, "))");
}

/* One ingestion: lock, read the position, skip the dump when the binlog
 * has not moved, else read it into the history in one local transaction
 * that also stores the new position; unlock. */
int my_bl_ingest(rowsync_conn_t *c, MYSQL *local, const my_bl_target_t *t,
                 unsigned lock_wait_s, my_bl_stats_t *st,
                 rowsync_error_t *err)
{
    char key[600], start[MY_BL_POS_MAX], head[MY_BL_POS_MAX];
    char file[MY_BL_POS_MAX], hfile[MY_BL_POS_MAX], *v[1] = {NULL};
    unsigned long pos = 0, hpos = 0;
    rowsync_buf_t b = {NULL, 0, 0, 0};
    my_bl_run_t r;
    int rc, found = 0, tx = 0;
    size_t ncells;

    memset(&r, 0, sizeof r);
    r.c = c;
    r.local = local;
    r.t = t;
    r.err = err;
    r.nkeys = t->spec->nkeys;
    r.chunk = MY_BL_CHUNK;
    if (r.chunk * (3 + r.nkeys) > 65535)
        r.chunk = 65535 / (3 + r.nkeys);

    rowsync_buf_puts(&b, "SELECT GET_LOCK(");
    my_bl_sb_lock(&b, local, t);
    rowsync_buf_printf(&b, ", %u)", lock_wait_s);
    if (b.oom)
        return my_bl_oom(err);
    rc = my_bl_row(c, local, b.p, v, 1, &found, err,
                   "cannot take the binlog ingestion lock");
    b.len = 0;
    if (rc == 0 && (!found || v[0] == NULL || strcmp(v[0], "1") != 0))
        rc = rowsync_error_set(err, ROWSYNC_ETRANSIENT,
                               "node '%s': another session reads the binary "
                               "log for table '%s' (waited %u s); retry",
                               t->node, t->spec->table, lock_wait_s);
    free(v[0]);
    v[0] = NULL;
    if (rc < 0) {
        rowsync_buf_free(&b);
        return rc;
    }

    my_bl_state_key(t->db, t->name, key, sizeof key);
    rowsync_buf_puts(&b, "SELECT value FROM rowsync_state WHERE name = ");
    my_bl_sb_str(&b, local, key);
    rc = b.oom ? my_bl_oom(err)
               : my_bl_row(c, local, b.p, v, 1, &found, err,
                           "cannot read the binlog ingest position");
    b.len = 0;
    if (rc == 0 && (!found || v[0] == NULL)) {
        rc = 1; /* no position: binlog capture is not installed */
        goto unlock;
    }
    if (rc == 0) {
        snprintf(start, sizeof start, "%s", v[0]);
        if (my_bl_pos_parse(start, file, sizeof file, &pos) < 0)
            rc = rowsync_error_set(err, ROWSYNC_EINVAL,
                                   "node '%s': binlog position '%s' of "
                                   "table '%s' is not file:position",
                                   t->node, start, t->spec->table);
    }
    free(v[0]);
    v[0] = NULL;
    if (rc == 0)
        rc = my_bl_head(c, local, t->node, head, sizeof head, err);
    if (rc == 0 && my_bl_pos_parse(head, hfile, sizeof hfile, &hpos) < 0)
        rc = rowsync_error_set(err, ROWSYNC_ERROR,
                               "node '%s': binlog head '%s' is not "
                               "file:position", t->node, head);
    /* nothing written since: no dump */
    if (rc < 0 || my_bl_pos_cmp(file, pos, hfile, hpos) >= 0)
        goto unlock;

    r.pos = calloc(t->spec->ncolumns, sizeof *r.pos);
    r.rows = calloc(r.chunk, sizeof *r.rows);
    r.keys = calloc(r.chunk * (r.nkeys ? r.nkeys : 1), sizeof *r.keys);
    r.binds = calloc(r.chunk * (3 + r.nkeys), sizeof *r.binds);
    if (r.pos == NULL || r.rows == NULL || r.keys == NULL || r.binds == NULL) {
        rc = my_bl_oom(err);
        goto unlock;
    }
    rc = my_bl_columns(&r);
    /* cells for as many columns as a table map may name */
    ncells = MY_BL_COLS_MAX;
    if (rc == 0 && ((r.img[0] = calloc(ncells, sizeof *r.img[0])) == NULL ||
                    (r.img[1] = calloc(ncells, sizeof *r.img[1])) == NULL))
        rc = my_bl_oom(err);
    if (rc == 0)
        rc = my_bl_exec(c, local, "START TRANSACTION", err,
                        "cannot ingest the binary log");
    tx = rc == 0;
    if (rc == 0)
        rc = my_bl_read(&r, file, sizeof file, &pos, hfile, hpos);
    if (rc == 0)
        rc = my_bl_flush(&r);
    if (rc == 0) {
        char now[MY_BL_POS_MAX + 32];
        snprintf(now, sizeof now, "%s:%lu", file, pos);
        if (strcmp(now, start) != 0) {
            rowsync_buf_puts(&b, "INSERT INTO rowsync_state (name, value,"
                                 " updated_us) VALUES (");
            my_bl_sb_str(&b, local, key);
            rowsync_buf_puts(&b, ", ");
            my_bl_sb_str(&b, local, now);
            rowsync_buf_puts(&b, ", " MY_BL_NOW ") ON DUPLICATE KEY UPDATE"
                                 " value = VALUES(value), updated_us ="
                                 " VALUES(updated_us)");
            rc = b.oom ? my_bl_oom(err)
                       : my_bl_exec(c, local, b.p, err,
                                    "cannot store the binlog position");
            b.len = 0;
        }
    }
    if (rc == 0)
        rc = my_bl_exec(c, local, "COMMIT", err,
                        "cannot commit the binlog ingestion");
    else if (tx)
        mysql_rollback(local);

unlock:
    free(v[0]);
    rowsync_buf_puts(&b, "SELECT RELEASE_LOCK(");
    my_bl_sb_lock(&b, local, t);
    rowsync_buf_puts(&b, ")");
    if (!b.oom && mysql_real_query(local, b.p, (unsigned long)b.len) == 0)
        mysql_free_result(mysql_store_result(local));
    rowsync_buf_free(&b);
    if (st != NULL)
        *st = r.st;
    my_bl_run_free(&r);
    if (rc < 0)
        rowsync_error_prefix(err, "table '%s'", t->spec->table);
    return rc;
}
