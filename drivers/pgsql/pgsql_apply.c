/* The PostgreSQL driver's write side: the apply transaction (a batch of
 * inserts copied straight into the table and its history; other batches
 * COPYed into a staging table, then one delete, one upsert and one history
 * insert), state values and the conflict journal. */
#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pgsql.h"

/* ---- state ------------------------------------------------------------ */

int pg_state_get(rowsync_conn_t *c, const char *key, char *buf, size_t len,
                 int64_t *updated_us, rowsync_error_t *err)
{
    rowsync_buf_t s = {0};
    int rc, exists = 0;

    if (!key || !buf || len == 0)
        return rowsync_error_set(err, ROWSYNC_EINVAL,
                                 "state_get: no key or "
                                 "buffer");
    buf[0] = '\0';
    if (updated_us)
        *updated_us = 0;
    rowsync_buf_printf(&s, "%s.state", c->qschema);
    if (s.oom)
        return pg_oom(err);
    if (c->state_ok || (c->in_txn && c->state_txn == c->txn_no))
        exists = 1;
    else if ((rc = pg_rel_exists(c, s.p, &exists, err)) < 0) {
        rowsync_buf_free(&s);
        return rc;
    }
    rowsync_buf_free(&s);
    if (!exists)
        return 0;
    rowsync_buf_printf(&s, "SELECT value, updated_us FROM %s.state WHERE name = $1",
                  c->qschema);
    if (s.oom)
        return pg_oom(err);
    const char *params[1] = {key};
    PGresult *res = pg_query(c, s.p, 1, params, err, "reading state");
    rowsync_buf_free(&s);
    if (!res) {
        rowsync_error_prefix(err, "node '%s' key '%s'", c->node, key);
        return err ? err->code : ROWSYNC_ERROR;
    }
    rc = 0;
    if (PQntuples(res) == 1) {
        const char *v = PQgetvalue(res, 0, 0);
        if (strlen(v) >= len)
            rc = rowsync_error_set(
                err, ROWSYNC_EINVAL,
                "node '%s': state '%s' is %zu bytes, longer than the %zu-byte "
                "buffer",
                c->node, key, strlen(v), len);
        else
            snprintf(buf, len, "%s", v);
        if (rc == 0 && updated_us)
            *updated_us = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    }
    PQclear(res);
    return rc;
}

int pg_state_set(rowsync_conn_t *c, const char *key, const char *value,
                 rowsync_error_t *err)
{
    rowsync_buf_t s = {0};
    int rc;

    if (!key || !value)
        return rowsync_error_set(err, ROWSYNC_EINVAL,
                                 "state_set needs a key and a value");
    if (!c->in_txn)
        return rowsync_error_set(
            err, ROWSYNC_EINVAL,
            "state_set on node '%s' outside a transaction: call begin first",
            c->node);
    if ((rc = pg_ensure_state(c, 1, err)) < 0)
        return rc;
    rowsync_buf_printf(&s,
                  "INSERT INTO %s.state (name, value, updated_us) VALUES ($1,"
                  " $2, " PG_NOW_US ") ON CONFLICT (name) DO UPDATE SET value"
                  " = EXCLUDED.value, updated_us = EXCLUDED.updated_us",
                  c->qschema);
    if (s.oom)
        return pg_oom(err);
    const char *params[2] = {key, value};
    PGresult *res = pg_query(c, s.p, 2, params, err, "writing state");
    rowsync_buf_free(&s);
    if (!res) {
        rowsync_error_prefix(err, "node '%s' key '%s'", c->node, key);
        return err ? err->code : ROWSYNC_ERROR;
    }
    PQclear(res);
    return 0;
}

int pg_conflict_log(rowsync_conn_t *c, const rowsync_conflict_t *k,
                    rowsync_error_t *err)
{
    rowsync_buf_t s = {0};
    char t[3][24];
    int rc;

    if (!k)
        return rowsync_error_set(err, ROWSYNC_EINVAL, "no conflict record");
    if (!c->in_txn)
        return rowsync_error_set(
            err, ROWSYNC_EINVAL,
            "conflict_log on node '%s' outside a transaction: call begin "
            "first",
            c->node);
    if ((rc = pg_ensure_state(c, 1, err)) < 0)
        return rc;
    snprintf(t[0], sizeof t[0], "%" PRId64, k->decided_us);
    snprintf(t[1], sizeof t[1], "%" PRId64, k->winner_time_us);
    snprintf(t[2], sizeof t[2], "%" PRId64, k->loser_time_us);
    const char *params[9] = {t[0],
                             k->table ? k->table : "",
                             k->key ? k->key : "",
                             k->rule ? k->rule : "",
                             k->winner ? k->winner : "",
                             k->loser ? k->loser : "",
                             t[1],
                             t[2],
                             k->note};
    rowsync_buf_printf(&s,
                  "INSERT INTO %s.conflicts (decided_us, table_name, key,"
                  " rule, winner, loser, winner_time_us, loser_time_us, note)"
                  " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                  c->qschema);
    if (s.oom)
        return pg_oom(err);
    PGresult *res = pg_query(c, s.p, 9, params, err, "journaling a conflict");
    rowsync_buf_free(&s);
    if (!res) {
        rowsync_error_prefix(err, "node '%s'", c->node);
        return err ? err->code : ROWSYNC_ERROR;
    }
    PQclear(res);
    return 0;
}

int pg_conflicts_read(rowsync_conn_t *c, size_t limit, rowsync_conflict_cb cb,
                      void *ctx, rowsync_error_t *err)
{
    rowsync_buf_t s = {0};
    char lim[24];
    int rc, exists = 0;

    if (!cb)
        return rowsync_error_set(err, ROWSYNC_EINVAL, "no callback");
    rowsync_buf_printf(&s, "%s.conflicts", c->qschema);
    if (s.oom)
        return pg_oom(err);
    rc = pg_rel_exists(c, s.p, &exists, err);
    rowsync_buf_free(&s);
    if (rc < 0 || !exists)
        return rc;
    rowsync_buf_printf(&s,
                  "SELECT decided_us, table_name, key, rule, winner, loser,"
                  " winner_time_us, loser_time_us, note FROM %s.conflicts"
                  " ORDER BY id DESC LIMIT $1::int8",
                  c->qschema);
    if (s.oom)
        return pg_oom(err);
    snprintf(lim, sizeof lim, "%zu", limit);
    const char *params[1] = {limit ? lim : NULL};
    PGresult *res = pg_query(c, s.p, 1, params, err, "reading conflicts");
    rowsync_buf_free(&s);
    if (!res) {
        rowsync_error_prefix(err, "node '%s'", c->node);
        return err ? err->code : ROWSYNC_ERROR;
    }
    for (int r = 0; r < PQntuples(res); r++) {
        rowsync_conflict_t k;
        k.decided_us = strtoll(PQgetvalue(res, r, 0), NULL, 10);
        k.table = PQgetvalue(res, r, 1);
        k.key = PQgetvalue(res, r, 2);
        k.rule = PQgetvalue(res, r, 3);
        k.winner = PQgetvalue(res, r, 4);
        k.loser = PQgetvalue(res, r, 5);
        k.winner_time_us = strtoll(PQgetvalue(res, r, 6), NULL, 10);
        k.loser_time_us = strtoll(PQgetvalue(res, r, 7), NULL, 10);
        k.note = PQgetisnull(res, r, 8) ? NULL : PQgetvalue(res, r, 8);
        if (cb(ctx, &k) != 0)
            break;
    }
    PQclear(res);
    return 0;
}

static void pg_target_free(pg_target_t *t)
{
    free(t->sig);
    free(t->qtable);
    free(t->qhist);
    free(t->table);
    free(t->sql_delete);
    free(t->sql_upsert);
    free(t->sql_history);
    free(t->sql_copy_table);
    free(t->sql_copy_hist);
    free(t->sql_copy_binary);
    free(t->oids);
    free(t);
}

void pg_forget_targets(rowsync_conn_t *c)
{
    while (c->targets) {
        pg_target_t *next = c->targets->next;
        pg_target_free(c->targets);
        c->targets = next;
    }
}

/* ---- apply ------------------------------------------------------------ */

int pg_begin(rowsync_conn_t *c, rowsync_error_t *err)
{
    int rc;

    if (c->in_txn)
        return rowsync_error_set(err, ROWSYNC_EINVAL,
                                 "node '%s': a transaction is already open",
                                 c->node);
    if ((rc = pg_need_idle(c, err, "begin")) < 0)
        return rc;
    rc = pg_exec(c, "BEGIN; SET CONSTRAINTS ALL DEFERRED", err,
                 "starting the apply transaction");
    if (rc < 0) {
        pg_exec(c, "ROLLBACK", NULL, "");
        rowsync_error_prefix(err, "node '%s'", c->node);
        return rc;
    }
    c->in_txn = 1;
    c->txn_no++;
    return 0;
}

/* The cache key of an apply target: table, columns and which of them
 * are written on insert only. */
static char *pg_target_sig(const rowsync_table_spec_t *spec,
                           const unsigned char *insert_only)
{
    rowsync_buf_t b = {0};
    rowsync_buf_puts(&b, spec->table);
    rowsync_buf_printf(&b, "\n%zu", spec->nkeys);
    for (size_t i = 0; i < spec->ncolumns; i++) {
        rowsync_buf_puts(&b, insert_only && insert_only[i] ? "\n+" : "\n");
        rowsync_buf_puts(&b, spec->columns[i]);
    }
    return b.oom ? NULL : b.p;
}

/* Builds an apply target: resolves the table, checks whether a unique
 * index matches the key (ON CONFLICT needs one; otherwise UPDATE + INSERT
 * WHERE NOT EXISTS) and prepares the statements. The update part sets
 * every column but the key and those flagged in insert_only (may be
 * NULL); with none left, an existing row is left alone. */
static int pg_target_get(rowsync_conn_t *c, const rowsync_table_spec_t *spec,
                         const unsigned char *insert_only, pg_target_t **out,
                         rowsync_error_t *err)
{
    char *sig = pg_target_sig(spec, insert_only);
    pg_rel_t rel;
    int rc;

    if (!sig)
        return pg_oom(err);
    for (pg_target_t *t = c->targets; t; t = t->next)
        if (strcmp(t->sig, sig) == 0) {
            free(sig);
            *out = t;
            return 0;
        }
    if ((rc = pg_resolve_table(c, spec->table, &rel, err)) < 0) {
        free(sig);
        return rc;
    }
    /* a unique, immediate, non-partial index on exactly the key columns */
    rowsync_buf_t arr = {0};
    rowsync_buf_puts(&arr, "{");
    for (size_t k = 0; k < spec->nkeys; k++) {
        rowsync_buf_puts(&arr, k ? ",\"" : "\"");
        for (const char *p = spec->columns[k]; *p; p++) {
            if (*p == '"' || *p == '\\')
                rowsync_buf_add(&arr, "\\", 1);
            rowsync_buf_add(&arr, p, 1);
        }
        rowsync_buf_puts(&arr, "\"");
    }
    rowsync_buf_puts(&arr, "}");
    char oid[16], nk[16], buf[8];
    snprintf(oid, sizeof oid, "%u", rel.oid);
    snprintf(nk, sizeof nk, "%zu", spec->nkeys);
    const char *params[3] = {oid, arr.p, nk};
    rc = arr.oom ? pg_oom(err)
                 : pg_query_value(
                       c,
                       "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_index i"
                       " WHERE i.indrelid = $1::oid AND i.indisunique AND"
                       " i.indimmediate AND i.indisvalid AND i.indpred IS NULL"
                       " AND i.indexprs IS NULL AND i.indnkeyatts = $3::int"
                       " AND NOT EXISTS (SELECT 1 FROM"
                       " unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum,"
                       " ord) JOIN pg_catalog.pg_attribute a ON a.attrelid ="
                       " i.indrelid AND a.attnum = k.attnum WHERE k.ord <="
                       " i.indnkeyatts AND a.attname <> ALL ($2::text[])))",
                       3, params, buf, sizeof buf, NULL, err,
                       "looking up the key's unique index");
    rowsync_buf_free(&arr);
    if (rc < 0) {
        free(sig);
        return rc;
    }
    int arbiter = buf[0] == 't';

    pg_target_t *t = calloc(1, sizeof(*t));
    if (!t) {
        free(sig);
        return pg_oom(err);
    }
    t->sig = sig;
    t->oid = rel.oid;
    t->qtable = pg_strdup(rel.qname);
    t->qhist = pg_strdup(rel.qhist);
    t->table = pg_strdup(spec->table);
    t->stage_no = ++c->stage_no;
    /* the column types, for the binary direct path */
    if (!(t->oids = calloc(spec->ncolumns, sizeof(*t->oids))))
        rc = pg_oom(err);
    else
        rc = pg_column_oids(c, t->oid, spec, t->oids, err);
    if (rc < 0) {
        pg_target_free(t);
        return rc;
    }
    char stage[64];
    snprintf(stage, sizeof stage, "pg_temp.rowsync_stage_%u", t->stage_no);

    rowsync_buf_t del = {0}, ups = {0}, his = {0}, cols = {0}, scols = {0};
    size_t nset = 0;
    for (size_t i = spec->nkeys; i < spec->ncolumns; i++)
        nset += !(insert_only && insert_only[i]);
    for (size_t i = 0; i < spec->ncolumns; i++) {
        if (i)
            rowsync_buf_puts(&cols, ", ");
        pg_buf_ident(&cols, spec->columns[i]);
        rowsync_buf_printf(&scols, "%ss.c%zu", i ? ", " : "", i + 1);
    }
    /* delete by key */
    rowsync_buf_printf(&del, "DELETE FROM %s t USING %s s WHERE s.rs_op = 3",
                  rel.qname, stage);
    for (size_t k = 0; k < spec->nkeys; k++) {
        rowsync_buf_puts(&del, " AND t.");
        pg_buf_ident(&del, spec->columns[k]);
        rowsync_buf_printf(&del, " = s.c%zu", k + 1);
    }
    /* upsert */
    if (arbiter) {
        rowsync_buf_printf(&ups,
                      "INSERT INTO %s AS t (%s) OVERRIDING SYSTEM VALUE"
                      " SELECT %s FROM %s s WHERE s.rs_op <> 3 ORDER BY"
                      " s.rs_n ON CONFLICT (",
                      rel.qname, cols.p ? cols.p : "", scols.p ? scols.p : "",
                      stage);
        for (size_t k = 0; k < spec->nkeys; k++) {
            if (k)
                rowsync_buf_puts(&ups, ", ");
            pg_buf_ident(&ups, spec->columns[k]);
        }
        if (nset == 0) {
            rowsync_buf_puts(&ups, ") DO NOTHING");
        } else {
            const char *sep = "";
            rowsync_buf_puts(&ups, ") DO UPDATE SET ");
            for (size_t i = spec->nkeys; i < spec->ncolumns; i++) {
                if (insert_only && insert_only[i])
                    continue;
                rowsync_buf_puts(&ups, sep);
                sep = ", ";
                pg_buf_ident(&ups, spec->columns[i]);
                rowsync_buf_puts(&ups, " = EXCLUDED.");
                pg_buf_ident(&ups, spec->columns[i]);
            }
        }
    } else {
        if (nset > 0) {
            const char *sep = "";
            rowsync_buf_printf(&ups, "UPDATE %s t SET ", rel.qname);
            for (size_t i = spec->nkeys; i < spec->ncolumns; i++) {
                if (insert_only && insert_only[i])
                    continue;
                rowsync_buf_puts(&ups, sep);
                sep = ", ";
                pg_buf_ident(&ups, spec->columns[i]);
                rowsync_buf_printf(&ups, " = s.c%zu", i + 1);
            }
            rowsync_buf_printf(&ups, " FROM %s s WHERE s.rs_op <> 3", stage);
            for (size_t k = 0; k < spec->nkeys; k++) {
                rowsync_buf_puts(&ups, " AND t.");
                pg_buf_ident(&ups, spec->columns[k]);
                rowsync_buf_printf(&ups, " = s.c%zu", k + 1);
            }
            rowsync_buf_puts(&ups, "; ");
        }
        rowsync_buf_printf(&ups,
                      "INSERT INTO %s (%s) OVERRIDING SYSTEM VALUE SELECT %s"
                      " FROM %s s WHERE s.rs_op <> 3 AND NOT EXISTS (SELECT 1"
                      " FROM %s t WHERE ",
                      rel.qname, cols.p ? cols.p : "", scols.p ? scols.p : "",
                      stage, rel.qname);
        for (size_t k = 0; k < spec->nkeys; k++) {
            rowsync_buf_puts(&ups, k ? " AND t." : "t.");
            pg_buf_ident(&ups, spec->columns[k]);
            rowsync_buf_printf(&ups, " = s.c%zu", k + 1);
        }
        rowsync_buf_puts(&ups, ") ORDER BY s.rs_n");
    }
    /* the history of what was applied, with each change's origin and
     * time: a history row per op, time and origin, keys as arrays (at most
     * PG_HIST_SPAN of them: rs_n is unique) in the batch's order, deletes
     * first as the apply itself does them */
    rowsync_buf_printf(&his, "INSERT INTO %s (op, time_us, origin", rel.qhist);
    for (size_t k = 0; k < spec->nkeys; k++)
        rowsync_buf_printf(&his, ", k%zu", k + 1);
    rowsync_buf_puts(&his, ") SELECT s.rs_op, s.rs_time, s.rs_origin");
    for (size_t k = 0; k < spec->nkeys; k++)
        rowsync_buf_printf(&his, ", array_agg(s.c%zu ORDER BY s.rs_n)", k + 1);
    rowsync_buf_printf(&his,
                       " FROM %s s GROUP BY s.rs_op, s.rs_time, s.rs_origin,"
                       " s.rs_n / " PG_HIST_SPAN_S " ORDER BY s.rs_op <> 3,"
                       " min(s.rs_n)",
                       stage);
    int oom = del.oom || ups.oom || his.oom || cols.oom || scols.oom;
    t->sql_delete = del.p;
    t->sql_upsert = ups.p;
    t->sql_history = his.p;
    rowsync_buf_free(&cols);
    rowsync_buf_free(&scols);
    if (oom || !t->qtable || !t->qhist || !t->table || !t->sql_delete ||
        !t->sql_upsert || !t->sql_history) {
        pg_target_free(t);
        return pg_oom(err);
    }
    t->next = c->targets;
    c->targets = t;
    *out = t;
    return 0;
}

/* Creates the target's staging table in this transaction (CREATE TABLE AS
 * from the target, so the columns have its exact types), or empties it
 * when an earlier apply of this transaction filled it. */
static int pg_stage_prepare(rowsync_conn_t *c, pg_target_t *t,
                            const rowsync_table_spec_t *spec,
                            rowsync_error_t *err)
{
    rowsync_buf_t s = {0};
    int rc = 0;

    if (!t->stage_ok && t->stage_txn != c->txn_no) {
        rowsync_buf_printf(&s,
                      "CREATE TEMP TABLE IF NOT EXISTS rowsync_stage_%u ON"
                      " COMMIT DELETE ROWS AS SELECT NULL::int4 AS rs_n,"
                      " NULL::int2 AS rs_op, NULL::int8 AS rs_time,"
                      " NULL::text AS rs_origin",
                      t->stage_no);
        for (size_t i = 0; i < spec->ncolumns; i++) {
            rowsync_buf_puts(&s, ", t.");
            pg_buf_ident(&s, spec->columns[i]);
            rowsync_buf_printf(&s, " AS c%zu", i + 1);
        }
        rowsync_buf_printf(&s, " FROM %s t WITH NO DATA", t->qtable);
        t->stage_txn = c->txn_no;
    } else if (t->used_txn == c->txn_no) {
        rowsync_buf_printf(&s, "TRUNCATE pg_temp.rowsync_stage_%u", t->stage_no);
    }
    if (s.len)
        rc = s.oom ? pg_oom(err) : pg_exec(c, s.p, err, "preparing staging");
    rowsync_buf_free(&s);
    if (rc < 0)
        return rc;
    if (t->hist_txn != c->txn_no) {
        const char *params[1] = {t->qhist};
        PGresult *res =
            pg_query(c,
                     "SELECT pg_catalog.to_regclass($1) IS NOT NULL,"
                     " pg_catalog.pg_current_xact_id()::text",
                     1, params, err, "checking the history table");
        if (!res)
            return err ? err->code : ROWSYNC_ERROR;
        t->has_hist = PQgetvalue(res, 0, 0)[0] == 't';
        snprintf(t->xid, sizeof t->xid, "%s", PQgetvalue(res, 0, 1));
        PQclear(res);
        t->hist_txn = c->txn_no;
    }
    t->used_txn = c->txn_no;
    return 0;
}

/* Appends bytes to a COPY text line, escaping backslash, tab, newline and
 * carriage return. -1 for a NUL byte (text cannot hold it). */
static int pg_copy_escape(rowsync_buf_t *b, const char *p, size_t n)
{
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        const char *esc = NULL;
        switch (p[i]) {
        case '\\':
            esc = "\\\\";
            break;
        case '\t':
            esc = "\\t";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\r':
            esc = "\\r";
            break;
        case '\0':
            return -1;
        default:
            continue;
        }
        rowsync_buf_add(b, p + start, i - start);
        rowsync_buf_add(b, esc, 2);
        start = i + 1;
    }
    rowsync_buf_add(b, p + start, n - start);
    return 0;
}

/* Appends n bytes as lower-case hex digits (bytea's hex format). */
static void pg_buf_hex(rowsync_buf_t *b, const char *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        unsigned char byte = (unsigned char)p[i];
        char pair[2] = {hex[byte >> 4], hex[byte & 15]};
        rowsync_buf_add(b, pair, 2);
    }
}

/* Appends one value in COPY text format: \N for NULL, t/f, numbers and
 * times in their canonical text (which PostgreSQL reads back exactly),
 * bytea as \\x hex, text escaped. -1 for a value text cannot carry. */
static int pg_copy_value(rowsync_buf_t *b, const rowsync_value_t *v)
{
    char fixed[80];

    switch (v->type) {
    case ROWSYNC_TYPE_NULL:
        rowsync_buf_add(b, "\\N", 2);
        return 0;
    case ROWSYNC_TYPE_BOOL:
        rowsync_buf_add(b, v->u.b ? "t" : "f", 1);
        return 0;
    case ROWSYNC_TYPE_BINARY:
        rowsync_buf_add(b, "\\\\x", 3);
        pg_buf_hex(b, v->u.bytes.ptr, v->u.bytes.len);
        return 0;
    case ROWSYNC_TYPE_DECIMAL:
    case ROWSYNC_TYPE_TEXT:
    case ROWSYNC_TYPE_UUID:
    case ROWSYNC_TYPE_JSON:
        return pg_copy_escape(b, v->u.bytes.ptr ? v->u.bytes.ptr : "",
                              v->u.bytes.len);
    default: {
        size_t n = rowsync_value_format(v, fixed, sizeof fixed);
        if (n >= sizeof fixed)
            return -1;
        rowsync_buf_add(b, fixed, n);
        return 0;
    }
    }
}

/* Sends what the buffer holds as COPY data and empties it. */
static int pg_copy_flush(rowsync_conn_t *c, rowsync_buf_t *b, rowsync_error_t *err)
{
    if (b->len == 0)
        return 0;
    if (PQputCopyData(c->pg, b->p, (int)b->len) != 1)
        return pg_fail(c, NULL, err, "sending COPY data");
    b->len = 0;
    return 0;
}

/* ---- apply: the direct path for batches of new rows --------------------
 *
 * A batch of inserts (the usual shape of a catch-up) goes straight into
 * the table and its history with two COPYs, inside a savepoint: no
 * staging, no upsert. A key the table has already (a unique violation)
 * rolls the savepoint back and the batch takes the staged path; so does
 * any other failure, which the staged path then reports. */

#define PG_DIRECT_RETRY 16 /* batches on the staged path after a conflict */

/* ---- the direct path in binary -----------------------------------------
 *
 * COPY's binary format spares the server parsing text (about a fifth of a
 * COPY of integers, doubles and timestamps) and rowsync printing it. It
 * is used for a batch only when every value has the column's own type
 * (an int for int2/int4/int8 within range, a double for float8, text for
 * text/varchar/char, a date, timestamp or timestamptz for the same, bytes
 * for bytea, or NULL); anything else, e.g. a decimal for an integer
 * column or a double for real, takes the text format and PostgreSQL's
 * own conversion. */

/* Whether v can go in binary into a column of type oid. */
static int pg_binary_fits(unsigned oid, const rowsync_value_t *v)
{
    if (v->type == ROWSYNC_TYPE_NULL)
        return 1;
    switch (oid) {
    case PG_BOOLOID:
        return v->type == ROWSYNC_TYPE_BOOL;
    case PG_INT2OID:
        return v->type == ROWSYNC_TYPE_INT && v->u.i >= INT16_MIN &&
               v->u.i <= INT16_MAX;
    case PG_INT4OID:
        return v->type == ROWSYNC_TYPE_INT && v->u.i >= INT32_MIN &&
               v->u.i <= INT32_MAX;
    case PG_INT8OID:
        return v->type == ROWSYNC_TYPE_INT;
    case PG_FLOAT8OID:
        return v->type == ROWSYNC_TYPE_DOUBLE;
    case PG_TEXTOID:
    case PG_VARCHAROID:
    case PG_BPCHAROID:
        /* text cannot hold NUL: the text format reports it */
        return v->type == ROWSYNC_TYPE_TEXT &&
               (!v->u.bytes.len || !memchr(v->u.bytes.ptr, 0, v->u.bytes.len));
    case PG_BYTEAOID:
        return v->type == ROWSYNC_TYPE_BINARY;
    case PG_DATEOID:
        return v->type == ROWSYNC_TYPE_DATE;
    case PG_TIMESTAMPOID:
        return v->type == ROWSYNC_TYPE_TIMESTAMP;
    case PG_TIMESTAMPTZOID:
        return v->type == ROWSYNC_TYPE_TIMESTAMPTZ;
    default:
        return 0;
    }
}

/* Whether the whole batch can go in binary. */
static int pg_binary_batch(const pg_target_t *t,
                           const rowsync_table_spec_t *spec,
                           const rowsync_change_t *changes, size_t n)
{
    if (!t->oids || spec->ncolumns > INT16_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < spec->ncolumns; k++)
            if (!pg_binary_fits(t->oids[k], &changes[i].values[k]))
                return 0;
    return 1;
}

/* Appends the n-byte big-endian form of x. */
static void pg_put_be(rowsync_buf_t *b, uint64_t x, int n)
{
    char p[8];
    for (int i = n - 1; i >= 0; i--, x >>= 8)
        p[i] = (char)(x & 0xff);
    rowsync_buf_add(b, p, (size_t)n);
}

/* One tuple of the binary COPY: the field count, then each field's
 * length (-1 for NULL) and bytes, as pg_binary_fits allowed. */
static size_t pg_binary_row(rowsync_buf_t *b, const pg_target_t *t,
                            const rowsync_table_spec_t *spec,
                            const rowsync_change_t *ch, size_t n)
{
    (void)n;
    pg_put_be(b, spec->ncolumns, 2);
    for (size_t k = 0; k < spec->ncolumns; k++) {
        const rowsync_value_t *v = &ch->values[k];
        uint64_t bits;
        if (v->type == ROWSYNC_TYPE_NULL) {
            pg_put_be(b, UINT32_MAX, 4);
            continue;
        }
        switch (t->oids[k]) {
        case PG_BOOLOID:
            pg_put_be(b, 1, 4);
            pg_put_be(b, v->u.b ? 1 : 0, 1);
            break;
        case PG_INT2OID:
            pg_put_be(b, 2, 4);
            pg_put_be(b, (uint64_t)v->u.i, 2);
            break;
        case PG_INT4OID:
            pg_put_be(b, 4, 4);
            pg_put_be(b, (uint64_t)v->u.i, 4);
            break;
        case PG_INT8OID:
            pg_put_be(b, 8, 4);
            pg_put_be(b, (uint64_t)v->u.i, 8);
            break;
        case PG_FLOAT8OID:
            memcpy(&bits, &v->u.d, 8);
            pg_put_be(b, 8, 4);
            pg_put_be(b, bits, 8);
            break;
        case PG_DATEOID:
            pg_put_be(b, 4, 4);
            pg_put_be(b, (uint64_t)(int64_t)(v->u.date - PG_EPOCH_DAYS), 4);
            break;
        case PG_TIMESTAMPOID:
        case PG_TIMESTAMPTZOID:
            pg_put_be(b, 8, 4);
            pg_put_be(b, (uint64_t)(v->u.i - PG_EPOCH_US), 8);
            break;
        default: /* text, varchar, bpchar, bytea: the bytes */
            pg_put_be(b, v->u.bytes.len, 4);
            rowsync_buf_add(b, v->u.bytes.ptr ? v->u.bytes.ptr : "",
                            v->u.bytes.len);
        }
    }
    return 1;
}

/* One row of the table's COPY: every spec column. Returns the changes
 * written (1), or 0 for a value COPY cannot carry. */
static size_t pg_direct_row(rowsync_buf_t *b, const pg_target_t *t,
                            const rowsync_table_spec_t *spec,
                            const rowsync_change_t *ch, size_t n)
{
    (void)t;
    (void)n;
    for (size_t k = 0; k < spec->ncolumns; k++) {
        if (k)
            rowsync_buf_add(b, "\t", 1);
        if (pg_copy_value(b, &ch->values[k]) < 0)
            return 0;
    }
    rowsync_buf_add(b, "\n", 1);
    return 1;
}

/* Appends v as an element of an array literal: double-quoted with
 * backslash and double quote escaped (COPY's escaping comes on top).
 * -1 for a value text cannot carry. */
static int pg_array_elem(rowsync_buf_t *b, const rowsync_value_t *v)
{
    char fixed[80];
    const char *p = fixed;
    size_t n;

    switch (v->type) {
    case ROWSYNC_TYPE_NULL:
        rowsync_buf_puts(b, "NULL");
        return 0;
    case ROWSYNC_TYPE_BOOL:
        rowsync_buf_puts(b, v->u.b ? "t" : "f");
        return 0;
    case ROWSYNC_TYPE_BINARY:
        rowsync_buf_puts(b, "\"\\\\x");
        pg_buf_hex(b, v->u.bytes.ptr, v->u.bytes.len);
        rowsync_buf_puts(b, "\"");
        return 0;
    case ROWSYNC_TYPE_DECIMAL:
    case ROWSYNC_TYPE_TEXT:
    case ROWSYNC_TYPE_UUID:
    case ROWSYNC_TYPE_JSON:
        p = v->u.bytes.ptr ? v->u.bytes.ptr : "";
        n = v->u.bytes.len;
        break;
    default:
        n = rowsync_value_format(v, fixed, sizeof fixed);
        if (n >= sizeof fixed)
            return -1;
    }
    rowsync_buf_add(b, "\"", 1);
    for (size_t i = 0, start = 0; i <= n; i++) {
        if (i < n && p[i] == '\0')
            return -1;
        if (i == n || p[i] == '"' || p[i] == '\\') {
            rowsync_buf_add(b, p + start, i - start);
            if (i < n)
                rowsync_buf_add(b, p[i] == '"' ? "\\\"" : "\\\\", 2);
            start = i + 1;
        }
    }
    rowsync_buf_add(b, "\"", 1);
    return 0;
}

static int pg_same_origin(const char *a, const char *b)
{
    return a && b ? strcmp(a, b) == 0 : a == b;
}

/* One row of the history's COPY for the changes from ch on that share its
 * time and origin (at most PG_HIST_SPAN): op, time, origin, the
 * transaction's xid (sent rather than left to the column's default, which
 * would run pg_current_xact_id() per row; it is the same value) and the
 * keys as arrays. Returns the changes written, or 0 for a key COPY cannot
 * carry. */
static size_t pg_direct_hist(rowsync_buf_t *b, const pg_target_t *t,
                             const rowsync_table_spec_t *spec,
                             const rowsync_change_t *ch, size_t n)
{
    size_t run = 1;
    rowsync_buf_t arr = {0};
    int bad = 0;

    while (run < n && run < PG_HIST_SPAN && ch[run].time_us == ch->time_us &&
           pg_same_origin(ch[run].origin, ch->origin))
        run++;
    rowsync_buf_printf(b, "%d\t%" PRId64 "\t", (int)ch->op, ch->time_us);
    if (!ch->origin)
        rowsync_buf_add(b, "\\N", 2);
    else if (pg_copy_escape(b, ch->origin, strlen(ch->origin)) < 0)
        return 0;
    rowsync_buf_add(b, "\t", 1);
    rowsync_buf_puts(b, t->xid);
    for (size_t k = 0; k < spec->nkeys && !bad; k++) {
        arr.len = 0;
        rowsync_buf_add(&arr, "{", 1);
        for (size_t i = 0; i < run && !bad; i++) {
            if (i)
                rowsync_buf_add(&arr, ",", 1);
            bad = pg_array_elem(&arr, &ch[i].values[k]) < 0;
        }
        rowsync_buf_add(&arr, "}", 1);
        rowsync_buf_add(b, "\t", 1);
        if (!bad && !arr.oom)
            bad = pg_copy_escape(b, arr.p, arr.len) < 0;
        if (arr.oom)
            b->oom = 1;
    }
    rowsync_buf_free(&arr);
    rowsync_buf_add(b, "\n", 1);
    return bad ? 0 : run;
}

/* Runs `sql` (a COPY FROM STDIN, in binary when `binary`) and sends
 * put()'s lines, each for the changes it says it wrote, until every
 * change is written. Returns 0, or an error with err filled (a change
 * put() cannot write abandons the COPY: ROWSYNC_ECONVERT). */
static int pg_direct_copy(rowsync_conn_t *c, const pg_target_t *t,
                          const char *sql, int binary,
                          size_t (*put)(rowsync_buf_t *, const pg_target_t *,
                                        const rowsync_table_spec_t *,
                                        const rowsync_change_t *, size_t),
                          const rowsync_table_spec_t *spec,
                          const rowsync_change_t *changes, size_t n,
                          rowsync_error_t *err)
{
    /* binary COPY's signature, then no flags and no header extension */
    static const char head[19] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0";
    rowsync_buf_t b = {0};
    int rc = 0, bad = 0;
    PGresult *res = PQexec(c->pg, sql);

    if (!res || PQresultStatus(res) != PGRES_COPY_IN) {
        rc = pg_fail(c, res, err, "starting COPY");
        PQclear(res);
        return rc;
    }
    PQclear(res);
    if (binary)
        rowsync_buf_add(&b, head, sizeof head);
    for (size_t i = 0, done; i < n && rc == 0 && !bad && !b.oom; i += done) {
        done = put(&b, t, spec, &changes[i], n - i);
        bad = done == 0;
        if (!bad && b.len >= PG_COPY_CHUNK)
            rc = pg_copy_flush(c, &b, err);
    }
    if (binary)
        rowsync_buf_add(&b, "\377\377", 2); /* the trailer: field count -1 */
    if (rc == 0 && !bad && !b.oom)
        rc = pg_copy_flush(c, &b, err);
    int abandon = rc < 0 || bad || b.oom;
    if (PQputCopyEnd(c->pg, abandon ? "rowsync: batch abandoned" : NULL) != 1 &&
        rc == 0)
        rc = pg_fail(c, NULL, err, "ending COPY");
    while ((res = PQgetResult(c->pg))) {
        if (PQresultStatus(res) != PGRES_COMMAND_OK && rc == 0)
            rc = pg_fail(c, res, err, "copying the batch");
        PQclear(res);
    }
    if (rc == 0 && b.oom)
        rc = pg_oom(err);
    else if (rc == 0 && bad)
        rc = rowsync_error_set(err, ROWSYNC_ECONVERT, "a value COPY cannot carry");
    rowsync_buf_free(&b);
    return rc;
}

/* Builds the direct path's COPY statements once per target. */
static int pg_direct_sql(pg_target_t *t, const rowsync_table_spec_t *spec)
{
    rowsync_buf_t a = {0}, h = {0}, bin = {0};

    if (t->sql_copy_table)
        return 0;
    rowsync_buf_printf(&a, "COPY %s (", t->qtable);
    for (size_t i = 0; i < spec->ncolumns; i++) {
        if (i)
            rowsync_buf_puts(&a, ", ");
        pg_buf_ident(&a, spec->columns[i]);
    }
    rowsync_buf_puts(&a, ") FROM STDIN");
    if (!a.oom)
        rowsync_buf_printf(&bin, "%s (FORMAT binary)", a.p);
    rowsync_buf_printf(&h, "COPY %s (op, time_us, origin, xid", t->qhist);
    for (size_t k = 0; k < spec->nkeys; k++)
        rowsync_buf_printf(&h, ", k%zu", k + 1);
    rowsync_buf_puts(&h, ") FROM STDIN");
    if (a.oom || h.oom || bin.oom || !bin.p) {
        rowsync_buf_free(&a);
        rowsync_buf_free(&h);
        rowsync_buf_free(&bin);
        return -1;
    }
    t->sql_copy_table = a.p;
    t->sql_copy_hist = h.p;
    t->sql_copy_binary = bin.p;
    return 0;
}

/* Tries the direct path. Returns 0 when the batch is applied, 1 when it
 * must take the staged path (not all inserts, a key conflict, a value the
 * staged path should report), or a negative error the transaction cannot
 * survive (a lost connection). */
static int pg_apply_direct(rowsync_conn_t *c, pg_target_t *t,
                           const rowsync_table_spec_t *spec,
                           const rowsync_change_t *changes, size_t n,
                           rowsync_error_t *err)
{
    rowsync_buf_t s = {0};
    rowsync_error_t e;
    int rc;

    if (t->direct_skip > 0) {
        t->direct_skip--;
        return 1;
    }
    for (size_t i = 0; i < n; i++)
        if (changes[i].op != ROWSYNC_OP_INSERT)
            return 1;
    if (pg_direct_sql(t, spec) < 0)
        return pg_oom(err);
    if (t->hist_txn != c->txn_no) {
        const char *params[1] = {t->qhist};
        PGresult *res =
            pg_query(c,
                     "SELECT pg_catalog.to_regclass($1) IS NOT NULL,"
                     " pg_catalog.pg_current_xact_id()::text",
                     1, params, err, "checking the history table");
        if (!res)
            return err ? err->code : ROWSYNC_ERROR;
        t->has_hist = PQgetvalue(res, 0, 0)[0] == 't';
        snprintf(t->xid, sizeof t->xid, "%s", PQgetvalue(res, 0, 1));
        PQclear(res);
        t->hist_txn = c->txn_no;
    }
    rowsync_buf_printf(&s,
                       "SAVEPOINT rowsync_direct; SELECT"
                       " set_config('rowsync.applying', '%u', true)",
                       t->oid);
    rc = s.oom ? pg_oom(err) : pg_exec(c, s.p, err, "starting the batch");
    rowsync_buf_free(&s);
    if (rc < 0)
        return rc;
    memset(&e, 0, sizeof(e));
    if (pg_binary_batch(t, spec, changes, n))
        rc = pg_direct_copy(c, t, t->sql_copy_binary, 1, pg_binary_row, spec,
                            changes, n, &e);
    else
        rc = pg_direct_copy(c, t, t->sql_copy_table, 0, pg_direct_row, spec,
                            changes, n, &e);
    if (rc == 0 && t->has_hist)
        rc = pg_direct_copy(c, t, t->sql_copy_hist, 0, pg_direct_hist, spec,
                            changes, n, &e);
    if (rc == 0) {
        rowsync_buf_printf(&s,
                           "%s%s%sSELECT set_config('rowsync.applying', '',"
                           " true); RELEASE SAVEPOINT rowsync_direct",
                           t->has_hist ? "SELECT pg_notify(" : "",
                           t->has_hist ? c->channel : "",
                           t->has_hist ? ", ''); " : "");
        rc = s.oom ? pg_oom(&e) : pg_exec(c, s.p, &e, "ending the batch");
        rowsync_buf_free(&s);
        if (rc == 0)
            return 0;
    }
    if (rc == ROWSYNC_ECONN) {
        if (err)
            *err = e;
        return rc;
    }
    if (strcmp(e.sqlstate, "23505") == 0)
        t->direct_skip = PG_DIRECT_RETRY;
    rc = pg_exec(c,
                 "ROLLBACK TO SAVEPOINT rowsync_direct; RELEASE SAVEPOINT"
                 " rowsync_direct",
                 err, "returning to the staged path");
    return rc < 0 ? rc : 1;
}

/* Applies a batch: COPY into staging, then deletes, one upsert (leaving
 * the columns flagged in insert_only, which may be NULL, as they are on
 * rows that exist) and the history rows in one round trip, with the
 * capture triggers of this table standing aside (the marker names its oid
 * only while these statements run, so triggers of other tables fired by
 * the apply capture as usual). */
int pg_apply_insert_only(rowsync_conn_t *c, const rowsync_table_spec_t *spec,
                         const unsigned char *insert_only,
                         const rowsync_change_t *changes, size_t n,
                         rowsync_error_t *err)
{
    pg_target_t *t = NULL;
    rowsync_buf_t b = {0};
    size_t ndel = 0, nups = 0;
    int rc;

    if (!c->in_txn)
        return rowsync_error_set(
            err, ROWSYNC_EINVAL,
            "apply on node '%s' outside a transaction: call begin first",
            c->node);
    if ((rc = pg_check_spec(c, spec, err)) < 0)
        return rc;
    if (n == 0)
        return 0;
    if (!changes)
        return rowsync_error_set(err, ROWSYNC_EINVAL, "no changes");
    for (size_t i = 0; i < n; i++) {
        if (changes[i].op < ROWSYNC_OP_INSERT ||
            changes[i].op > ROWSYNC_OP_DELETE ||
            changes[i].nvalues < spec->ncolumns || !changes[i].values)
            return rowsync_error_set(
                err, ROWSYNC_EINVAL,
                "table '%s' on node '%s': change %zu has op %d and %zu values "
                "for %zu columns",
                spec->table, c->node, i + 1, (int)changes[i].op,
                changes[i].nvalues, spec->ncolumns);
        if (changes[i].op == ROWSYNC_OP_DELETE)
            ndel++;
        else
            nups++;
    }
    if ((rc = pg_target_get(c, spec, insert_only, &t, err)) < 0)
        goto fail;
    /* a batch of new rows writes every column, insert_only or not */
    if ((rc = pg_apply_direct(c, t, spec, changes, n, err)) <= 0)
        goto fail;
    if ((rc = pg_stage_prepare(c, t, spec, err)) < 0)
        goto fail;

    rowsync_buf_printf(&b, "COPY pg_temp.rowsync_stage_%u FROM STDIN", t->stage_no);
    if (b.oom) {
        rc = pg_oom(err);
        goto fail;
    }
    PGresult *res = PQexec(c->pg, b.p);
    if (!res || PQresultStatus(res) != PGRES_COPY_IN) {
        rc = pg_fail(c, res, err, "starting COPY");
        PQclear(res);
        goto fail;
    }
    PQclear(res);
    b.len = 0;
    const char *bad = NULL;
    size_t bad_row = 0, bad_col = 0;
    for (size_t i = 0; i < n && !bad; i++) {
        const rowsync_change_t *ch = &changes[i];
        rowsync_buf_printf(&b, "%zu\t%d\t%" PRId64 "\t", i + 1, (int)ch->op,
                      ch->time_us);
        if (ch->origin) {
            if (pg_copy_escape(&b, ch->origin, strlen(ch->origin)) < 0)
                bad = "origin";
        } else {
            rowsync_buf_add(&b, "\\N", 2);
        }
        for (size_t k = 0; k < spec->ncolumns && !bad; k++) {
            rowsync_buf_add(&b, "\t", 1);
            if (ch->op == ROWSYNC_OP_DELETE && k >= spec->nkeys) {
                rowsync_buf_add(&b, "\\N", 2);
            } else if (pg_copy_value(&b, &ch->values[k]) < 0) {
                bad = "value";
                bad_row = i + 1;
                bad_col = k;
            }
        }
        rowsync_buf_add(&b, "\n", 1);
        if (b.oom)
            break;
        if (b.len >= PG_COPY_CHUNK && pg_copy_flush(c, &b, err) < 0) {
            rc = err ? err->code : ROWSYNC_ECONN;
            break;
        }
    }
    if (rc == 0 && !bad && !b.oom)
        rc = pg_copy_flush(c, &b, err);
    if (rc < 0 || bad || b.oom) {
        PQputCopyEnd(c->pg, "rowsync: batch abandoned");
        while ((res = PQgetResult(c->pg)))
            PQclear(res);
        if (b.oom)
            rc = pg_oom(err);
        else if (bad)
            rc = rowsync_error_set(
                err, ROWSYNC_ECONVERT,
                "table '%s' on node '%s': change %zu, column '%s': the %s "
                "contains a NUL byte, which PostgreSQL text cannot hold",
                spec->table, c->node, bad_row,
                bad_row ? spec->columns[bad_col] : "origin", bad);
        goto fail;
    }
    if (PQputCopyEnd(c->pg, NULL) != 1) {
        rc = pg_fail(c, NULL, err, "ending COPY");
        goto fail;
    }
    while ((res = PQgetResult(c->pg))) {
        if (PQresultStatus(res) != PGRES_COMMAND_OK && rc == 0)
            rc = pg_fail(c, res, err, "staging the batch");
        PQclear(res);
    }
    if (rc < 0)
        goto fail;

    b.len = 0;
    rowsync_buf_printf(&b, "SELECT set_config('rowsync.applying', '%u', true); ",
                  t->oid);
    if (ndel)
        rowsync_buf_printf(&b, "%s; ", t->sql_delete);
    if (nups)
        rowsync_buf_printf(&b, "%s; ", t->sql_upsert);
    if (t->has_hist)
        rowsync_buf_printf(&b, "%s; SELECT pg_notify(%s, ''); ", t->sql_history,
                           c->channel);
    rowsync_buf_puts(&b, "SELECT set_config('rowsync.applying', '', true)");
    if (b.oom) {
        rc = pg_oom(err);
        goto fail;
    }
    rc = pg_exec(c, b.p, err, "applying the batch");
fail:
    rowsync_buf_free(&b);
    if (rc < 0 && err) {
        char named[PG_QNAME_MAX];
        snprintf(named, sizeof named, "table '%s'", spec->table);
        if (!strstr(err->message, named))
            rowsync_error_prefix(err, "apply to table '%s' on node '%s'",
                                 spec->table, c->node);
    }
    return rc;
}

/* apply: every column written on insert and on update. */
int pg_apply(rowsync_conn_t *c, const rowsync_table_spec_t *spec,
             const rowsync_change_t *changes, size_t n, rowsync_error_t *err)
{
    return pg_apply_insert_only(c, spec, NULL, changes, n, err);
}

/* Commits; a transaction that failed earlier is rolled back and reported,
 * never silently "committed". */
int pg_commit(rowsync_conn_t *c, rowsync_error_t *err)
{
    int rc;

    if (!c->in_txn)
        return rowsync_error_set(err, ROWSYNC_EINVAL,
                                 "commit on node '%s' without begin", c->node);
    if (PQtransactionStatus(c->pg) == PQTRANS_INERROR) {
        pg_exec(c, "ROLLBACK", NULL, "");
        c->in_txn = 0;
        return rowsync_error_set(err, ROWSYNC_ERROR,
                                 "commit on node '%s': the transaction had "
                                 "failed and was rolled back",
                                 c->node);
    }
    PGresult *res = PQexec(c->pg, "COMMIT");
    if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) {
        rc = pg_fail(c, res, err, "committing on node '%s'", c->node);
    } else if (strcmp(PQcmdStatus(res), "COMMIT") != 0) {
        rc = rowsync_error_set(err, ROWSYNC_ERROR,
                               "commit on node '%s' was a %s", c->node,
                               PQcmdStatus(res));
    } else {
        rc = 0;
    }
    PQclear(res);
    if (PQtransactionStatus(c->pg) != PQTRANS_IDLE &&
        PQstatus(c->pg) == CONNECTION_OK)
        pg_exec(c, "ROLLBACK", NULL, "");
    c->in_txn = 0;
    if (rc == 0) {
        if (c->state_txn == c->txn_no)
            c->state_ok = 1;
        for (pg_target_t *t = c->targets; t; t = t->next)
            if (t->stage_txn == c->txn_no)
                t->stage_ok = 1;
    }
    return rc;
}

void pg_rollback(rowsync_conn_t *c)
{
    if (PQstatus(c->pg) == CONNECTION_OK &&
        PQtransactionStatus(c->pg) != PQTRANS_IDLE && c->nstreams == 0)
        pg_exec(c, "ROLLBACK", NULL, "");
    c->in_txn = 0;
}
