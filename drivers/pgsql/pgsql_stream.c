/* The PostgreSQL driver's read side: cursors (the step functions below),
 * net-change extraction up to the commit horizon, and key-order scans,
 * both streamed through a server-side cursor. */
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

/* ---- cursors ----------------------------------------------------------
 *
 * A cursor names the set of changes already consumed. History rows carry
 * the writing transaction's id (xid) and a sequence number (seq) assigned
 * when the row was written; the i-th key (from 1) of a row is a change at
 * position seq + i - 1 (see PG_HIST_SPAN). A cursor is a step function f
 * over xids: a change is consumed when its position <= f(xid). Its text is
 *
 *     X[:H1:S1[:H2:S2...]]
 *
 * meaning: every change with xid < X is consumed; changes with X <= xid <
 * H1 are consumed when their position <= S1, those with H1 <= xid < H2
 * when it is <= S2, and so on; nothing at or above the last H is
 * consumed. "" is "0" (nothing).
 *
 * A stream opened with `since` reads the window W = changes consumed by
 * its bound but not by since; the bound is `upto` (when given) cut at the
 * horizon E. E is PG_HORIZON at open (the oldest transaction of this
 * database running in the snapshot), lowered to one above the newest
 * history xid below it (both name the same rows, since no row below it
 * can appear any more; the lowered value keeps an idle cursor unchanged).
 * The window's net changes come in order of their latest change's
 * position; after returning the net change whose latest change is at S,
 * the cursor is max(since, min(bound, S)): every window change at or
 * below S is consumed. That is exact: a window change at or below S whose
 * key was not returned yet has a later change (above S) still unconsumed,
 * and its key's net change is the live row anyway. After the end, the
 * cursor is max(since, bound). Rows of transactions that are still open
 * at open have xid >= E and are never inside a bound, so nothing is
 * skipped however commits are ordered.
 *
 * Usually the text is "X" (after a stream ended) or "X:H:S" (mid-stream);
 * a stream resumed from "X:H:S" that stops again before passing S can
 * leave one more band. */

static int64_t pg_step_at(const pg_step_t *f, uint64_t xid)
{
    size_t i = 0;
    while (i < f->n && f->p[i] <= xid)
        i++;
    return f->v[i];
}

/* Merges equal neighbouring steps. */
static void pg_step_norm(pg_step_t *f)
{
    size_t o = 0;
    for (size_t i = 0; i < f->n; i++) {
        if (f->v[i + 1] == f->v[o])
            continue;
        f->p[o] = f->p[i];
        f->v[o + 1] = f->v[i + 1];
        o++;
    }
    f->n = o;
}

/* out = max(a, b) (want_max) or min(a, b), pointwise. Returns -1 when the
 * result has too many steps. */
static int pg_step_combine(const pg_step_t *a, const pg_step_t *b, int want_max,
                           pg_step_t *out)
{
    pg_step_t r;
    size_t i = 0, j = 0;

    memset(&r, 0, sizeof(r));
    r.v[0] = want_max ? (a->v[0] > b->v[0] ? a->v[0] : b->v[0])
                      : (a->v[0] < b->v[0] ? a->v[0] : b->v[0]);
    while (i < a->n || j < b->n) {
        uint64_t x;
        if (j >= b->n || (i < a->n && a->p[i] <= b->p[j]))
            x = a->p[i];
        else
            x = b->p[j];
        while (i < a->n && a->p[i] == x)
            i++;
        while (j < b->n && b->p[j] == x)
            j++;
        if (r.n >= PG_STEP_MAX)
            return -1;
        int64_t va = pg_step_at(a, x), vb = pg_step_at(b, x);
        r.p[r.n] = x;
        r.v[r.n + 1] = want_max ? (va > vb ? va : vb) : (va < vb ? va : vb);
        r.n++;
    }
    pg_step_norm(&r);
    *out = r;
    return 0;
}

/* Whether f consumes exactly the rows below x (and nothing above). */
static int pg_step_is_below(const pg_step_t *f, uint64_t x)
{
    return f->n == 1 && f->p[0] == x && f->v[0] == PG_INF && f->v[1] == 0;
}

/* A cursor consuming every row below x. */
static void pg_step_below(pg_step_t *f, uint64_t x)
{
    memset(f, 0, sizeof(*f));
    f->n = 1;
    f->p[0] = x;
    f->v[0] = PG_INF;
    f->v[1] = 0;
}

/* Reads a cursor text; -1 when it is not one. */
int pg_step_parse(const char *text, pg_step_t *f)
{
    const char *p = text;
    size_t k = 0;

    memset(f, 0, sizeof(*f));
    if (!*p) {
        pg_step_below(f, 0);
        return 0;
    }
    f->v[0] = PG_INF;
    for (;;) {
        char *end;
        if (!isdigit((unsigned char)*p))
            return -1;
        errno = 0;
        unsigned long long num = strtoull(p, &end, 10);
        if (errno || end == p)
            return -1;
        if (k == 0 || k % 2 == 1) { /* X, then each H */
            if (f->n >= PG_STEP_MAX ||
                (f->n > 0 && (uint64_t)num <= f->p[f->n - 1]))
                return -1;
            f->p[f->n++] = (uint64_t)num;
        } else { /* the S of the band that ends at the H before it */
            if (num > (unsigned long long)INT64_MAX - 1)
                return -1;
            f->v[f->n - 1] = (int64_t)num;
        }
        k++;
        p = end;
        if (!*p)
            break;
        if (*p++ != ':')
            return -1;
    }
    if (k % 2 == 0)
        return -1;
    f->v[f->n] = 0;
    return 0;
}

/* Writes a cursor (v[0] must be "everything", the last step "nothing");
 * -1 when it does not fit. */
static int pg_step_format(const pg_step_t *in, char *buf, size_t len)
{
    pg_step_t f = *in;
    size_t used;
    int n;

    /* xids start at 0: what lies below 0 is "everything" vacuously */
    if (f.n == 0 || f.p[0] > 0) {
        if (f.n >= PG_STEP_MAX)
            return -1;
        memmove(f.p + 1, f.p, f.n * sizeof(f.p[0]));
        memmove(f.v + 1, f.v, (f.n + 1) * sizeof(f.v[0]));
        f.p[0] = 0;
        f.n++;
    }
    f.v[0] = PG_INF;
    pg_step_norm(&f);
    if (f.n == 0)
        return -1;
    n = snprintf(buf, len, "%" PRIu64, f.p[0]);
    if (n < 0 || (size_t)n >= len)
        return -1;
    used = (size_t)n;
    for (size_t i = 1; i < f.n; i++) {
        n = snprintf(buf + used, len - used, ":%" PRIu64 ":%" PRId64, f.p[i],
                     f.v[i]);
        if (n < 0 || (size_t)n >= len - used)
            return -1;
        used += (size_t)n;
    }
    return 0;
}

/* Appends a SQL boolean: "row h, at position pos, is consumed by f", with
 * the numbers as parameters $np+1... (their texts are added to params). */
void pg_step_sql(rowsync_buf_t *b, const pg_step_t *f, const char *pos,
                 char (*params)[24], int *np)
{
    rowsync_buf_puts(b, "CASE");
    for (size_t i = 0; i <= f->n; i++) {
        int64_t v = f->v[i];
        if (i < f->n) {
            snprintf(params[*np], 24, "%" PRIu64, f->p[i]);
            rowsync_buf_printf(b, " WHEN h.xid < $%d::int8 THEN ", ++*np);
        } else {
            rowsync_buf_puts(b, " ELSE ");
        }
        if (v == PG_INF) {
            rowsync_buf_puts(b, "true");
        } else if (v == 0) {
            rowsync_buf_puts(b, "false");
        } else {
            snprintf(params[*np], 24, "%" PRId64, v);
            rowsync_buf_printf(b, "%s <= $%d::int8", pos, ++*np);
        }
    }
    rowsync_buf_puts(b, " END");
}

/* ---- streams ---------------------------------------------------------- */

static void pg_stream_free(rowsync_stream_t *s)
{
    if (!s)
        return;
    if (s->conn->prefetch == s)
        pg_prefetch_collect(s->conn);
    PQclear(s->next);
    PQclear(s->res);
    for (size_t i = 0; s->colnames && i < s->ncols; i++)
        free(s->colnames[i]);
    free(s->colnames);
    free(s->types);
    free(s->oids);
    free(s->values);
    free(s->scratch);
    free(s->table);
    free(s);
}

static rowsync_stream_t *pg_stream_new(rowsync_conn_t *c,
                                       const rowsync_table_spec_t *spec)
{
    rowsync_stream_t *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->conn = c;
    s->ncols = spec->ncolumns;
    s->nkeys = spec->nkeys;
    s->table = pg_strdup(spec->table);
    s->types = calloc(s->ncols, sizeof(*s->types));
    s->oids = calloc(s->ncols, sizeof(*s->oids));
    s->colnames = calloc(s->ncols, sizeof(*s->colnames));
    s->values = calloc(s->ncols, sizeof(*s->values));
    if (!s->table || !s->types || !s->oids || !s->colnames || !s->values) {
        pg_stream_free(s);
        return NULL;
    }
    for (size_t i = 0; i < s->ncols; i++) {
        s->types[i] = spec->types[i];
        if (!(s->colnames[i] = pg_strdup(spec->columns[i]))) {
            pg_stream_free(s);
            return NULL;
        }
    }
    s->change.values = s->values;
    s->change.nvalues = s->ncols;
    s->changed = UINT64_MAX;
    return s;
}

/* Starts the streams' shared read-only transaction (REPEATABLE READ, so
 * the horizon and the rows come from one snapshot) when it is the first
 * stream, and declares the stream's cursor for sql. */
static int pg_stream_begin(rowsync_conn_t *c, rowsync_stream_t *s,
                           const char *sql, int nparams,
                           const char *const *params, rowsync_error_t *err)
{
    rowsync_buf_t d = {0};

    snprintf(s->cursor_name, sizeof s->cursor_name, "rowsync_stream_%u",
             ++c->stream_no);
    rowsync_buf_printf(&d, "DECLARE %s NO SCROLL CURSOR FOR %s", s->cursor_name,
                  sql);
    if (d.oom)
        return pg_oom(err);
    PGresult *res = pg_query(c, d.p, nparams, params, err, "opening a stream");
    rowsync_buf_free(&d);
    if (!res)
        return err ? err->code : ROWSYNC_ERROR;
    PQclear(res);
    return 0;
}

static int pg_stream_txn_begin(rowsync_conn_t *c, rowsync_error_t *err)
{
    if (c->in_txn)
        return rowsync_error_set(err, ROWSYNC_EINVAL,
                                 "node '%s': cannot open a stream while the "
                                 "apply transaction is open on the same "
                                 "connection",
                                 c->node);
    if (c->nstreams > 0)
        return 0;
    /* work_mem raised to PG_STREAM_WORK_MEM for this transaction (never
     * lowered): the net-change query's two sorts of the window then stay
     * in memory (at 100k pending rows about 20% of the first FETCH) */
    return pg_exec(c,
                   "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY; SELECT"
                   " set_config('work_mem', '" PG_STREAM_WORK_MEM "', true)"
                   " WHERE pg_size_bytes(current_setting('work_mem')) <"
                   " pg_size_bytes('" PG_STREAM_WORK_MEM "')",
                   err, "starting a read transaction");
}

/* Ends the shared read transaction when no stream is left. */
static void pg_stream_txn_end(rowsync_conn_t *c)
{
    if (c->nstreams == 0 && PQtransactionStatus(c->pg) != PQTRANS_IDLE &&
        PQstatus(c->pg) == CONNECTION_OK)
        pg_exec(c, "ROLLBACK", NULL, "");
}

static void pg_key_join(rowsync_buf_t *b, const rowsync_table_spec_t *spec,
                        const char *left)
{
    for (size_t k = 0; k < spec->nkeys; k++) {
        rowsync_buf_puts(b, k ? " AND t." : "t.");
        pg_buf_ident(b, spec->columns[k]);
        rowsync_buf_printf(b, " = %s.k%zu", left, k + 1);
    }
}

/* ---- binary rows ---------------------------------------------------------
 *
 * Streams FETCH their rows in binary: integers, doubles, booleans, dates,
 * timestamps and text then cross as their bytes instead of being printed
 * by the server and parsed again here (in a bulk sync that printing and
 * parsing was a large part of the source's CPU and of rowsync's). A
 * column of any other type is selected as format('%s', col): its type's
 * own output function, the very text a text-format result carries (a
 * cast to text is not always that: bpchar loses its padding, bool turns
 * into true/false), which binary then carries as text. */

#define PG_YEAR1_DAYS (-719162)                  /* 0001-01-01 from 1970 */
#define PG_YEAR1_US (INT64_C(-719162) * 86400000000)

/* Whether a column of type oid that the driver maps to core type t is
 * read in binary (else through format()). */
static int pg_bin_column(unsigned oid, rowsync_type_t t)
{
    switch (t) {
    case ROWSYNC_TYPE_BOOL:
        return oid == PG_BOOLOID;
    case ROWSYNC_TYPE_INT:
        return oid == PG_INT2OID || oid == PG_INT4OID || oid == PG_INT8OID;
    case ROWSYNC_TYPE_DOUBLE:
        return oid == PG_FLOAT8OID;
    case ROWSYNC_TYPE_DATE:
        return oid == PG_DATEOID;
    case ROWSYNC_TYPE_TIMESTAMP:
        return oid == PG_TIMESTAMPOID;
    case ROWSYNC_TYPE_TIMESTAMPTZ:
        return oid == PG_TIMESTAMPTZOID;
    case ROWSYNC_TYPE_TEXT:
        return oid == PG_TEXTOID || oid == PG_VARCHAROID;
    default:
        return 0;
    }
}

/* Appends expr (a column reference) as the select list item for spec
 * column i: itself, or its output function's text through format(). */
static void pg_sb_value(rowsync_buf_t *q, const rowsync_stream_t *s, size_t i,
                        const char *expr)
{
    if (pg_bin_column(s->oids[i], s->types[i])) {
        rowsync_buf_puts(q, expr);
        return;
    }
    rowsync_buf_puts(q, "CASE WHEN ");
    rowsync_buf_puts(q, expr);
    rowsync_buf_puts(q, " IS NULL THEN NULL ELSE pg_catalog.format('%s', ");
    rowsync_buf_puts(q, expr);
    rowsync_buf_puts(q, ") END");
}

/* Appends t.<spec column i> as a select list item. */
static void pg_sb_column(rowsync_buf_t *q, const rowsync_stream_t *s,
                         const rowsync_table_spec_t *spec, size_t i)
{
    rowsync_buf_t e = {0};
    rowsync_buf_puts(&e, "t.");
    pg_buf_ident(&e, spec->columns[i]);
    if (e.oom)
        q->oom = 1;
    else
        pg_sb_value(q, s, i, e.p);
    rowsync_buf_free(&e);
}

/* A big-endian signed integer of n (2, 4 or 8) bytes. */
static int64_t pg_bin_int(const char *p, int n)
{
    uint64_t u = 0;
    for (int i = 0; i < n; i++)
        u = u << 8 | (unsigned char)p[i];
    if (n < 8 && (u >> (8 * n - 1)))
        u |= ~UINT64_C(0) << (8 * n); /* sign-extend */
    return (int64_t)u;
}

/* A binary field of the row as an integer (int2, int4 or int8). */
static int64_t pg_field_int(const PGresult *res, int row, int field)
{
    return pg_bin_int(PQgetvalue(res, row, field),
                      PQgetlength(res, row, field));
}

/* Decodes one binary field of type oid into v. Returns 0, or -1 with
 * *why set. */
static int pg_bin_decode(unsigned oid, const char *p, int len,
                         rowsync_value_t *v, const char **why)
{
    int64_t x;

    memset(v, 0, sizeof(*v));
    *why = "unexpected binary field";
    switch (oid) {
    case PG_BOOLOID:
        if (len != 1)
            return -1;
        v->type = ROWSYNC_TYPE_BOOL;
        v->u.b = p[0] != 0;
        return 0;
    case PG_INT2OID:
    case PG_INT4OID:
    case PG_INT8OID:
        if (len != 2 && len != 4 && len != 8)
            return -1;
        v->type = ROWSYNC_TYPE_INT;
        v->u.i = pg_bin_int(p, len);
        return 0;
    case PG_FLOAT8OID: {
        if (len != 8)
            return -1;
        uint64_t bits = (uint64_t)pg_bin_int(p, 8);
        v->type = ROWSYNC_TYPE_DOUBLE;
        memcpy(&v->u.d, &bits, sizeof(v->u.d));
        return 0;
    }
    case PG_DATEOID:
        if (len != 4)
            return -1;
        x = pg_bin_int(p, 4);
        *why = "infinity and BC dates have no rowsync value";
        if (x == INT32_MAX || x == INT32_MIN || x + PG_EPOCH_DAYS < PG_YEAR1_DAYS)
            return -1;
        v->type = ROWSYNC_TYPE_DATE;
        v->u.date = (int32_t)(x + PG_EPOCH_DAYS);
        return 0;
    case PG_TIMESTAMPOID:
    case PG_TIMESTAMPTZOID:
        if (len != 8)
            return -1;
        x = pg_bin_int(p, 8);
        *why = "infinity and BC dates have no rowsync value";
        if (x == INT64_MAX || x == INT64_MIN || x < PG_YEAR1_US - PG_EPOCH_US)
            return -1;
        *why = "beyond the timestamp range";
        if (x > INT64_MAX - PG_EPOCH_US)
            return -1;
        v->type = oid == PG_TIMESTAMPOID ? ROWSYNC_TYPE_TIMESTAMP
                                         : ROWSYNC_TYPE_TIMESTAMPTZ;
        v->u.i = x + PG_EPOCH_US;
        return 0;
    default:
        return -1;
    }
}

/* Waits up to PG_SETTLE_MS while committed history rows lie at or above
 * the horizon: some older transaction (any database of the cluster) is
 * still open and holds the horizon back. Short ones (an apply batch, an
 * application's statement) end within that time, and the stream then
 * takes their rows along instead of leaving them to the next pass. A long
 * one costs the wait once per stream. Errors only end the wait. */
static void pg_settle(rowsync_conn_t *c, const char *qhist, uint64_t lo)
{
    struct timespec now, pause = {0, 10 * 1000000L};
    rowsync_buf_t q = {0};
    char from[24], buf[8];
    int64_t deadline;

    clock_gettime(CLOCK_MONOTONIC, &now);
    deadline =
        (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000 + PG_SETTLE_MS;
    snprintf(from, sizeof from, "%" PRIu64, lo);
    /* "a row at or above both lo and the horizon": the BRIN index on xid
     * skips the block ranges of older rows, where max(xid) over every row
     * above lo read the whole pending history; and with no transaction of
     * this database running (horizon = xmax) nothing can lie above, so
     * nothing is read */
    rowsync_buf_printf(
        &q,
        "SELECT CASE WHEN h = pg_snapshot_xmax(s) THEN false ELSE EXISTS"
        " (SELECT 1 FROM %s WHERE xid >= greatest($1::int8, h::text::int8))"
        " END FROM pg_current_snapshot() s, LATERAL (SELECT " PG_HORIZON("s")
        " AS h) h",
        qhist);
    const char *params[1] = {from};
    while (!q.oom &&
           pg_query_value(c, q.p, 1, params, buf, sizeof buf, NULL, NULL, "") ==
               0 &&
           buf[0] == 't') {
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000 >= deadline)
            break;
        nanosleep(&pause, NULL);
    }
    rowsync_buf_free(&q);
}

/* ---- reading ahead -----------------------------------------------------
 *
 * While the caller works through one FETCH's rows (and applies them to
 * another database), the server already computes the next FETCH: it is
 * sent right after the previous result arrived and collected when the
 * rows are needed, or earlier by any other statement on the connection
 * (pg_query and pg_exec collect it first, so the protocol never
 * interleaves). One FETCH per connection is in flight at most. */

/* Collects the result of the FETCH in flight, if any, into its stream. */
void pg_prefetch_collect(rowsync_conn_t *c)
{
    rowsync_stream_t *s = c->prefetch;
    PGresult *r, *keep = NULL;

    if (!s)
        return;
    c->prefetch = NULL;
    while ((r = PQgetResult(c->pg))) {
        /* keep the first error, else the rows */
        if (!keep || (PQresultStatus(keep) == PGRES_TUPLES_OK &&
                      PQresultStatus(r) != PGRES_TUPLES_OK)) {
            PQclear(keep);
            keep = r;
        } else {
            PQclear(r);
        }
    }
    s->next = keep;
}

/* Sizes the next FETCH from the rows just read: about PG_FETCH_BYTES of
 * them, between PG_FETCH and PG_FETCH_MAX rows. Large FETCHes sent ahead
 * let the source compute a whole batch while the target applies the
 * previous one; the byte aim keeps wide rows from growing the process. */
static void pg_stream_size(rowsync_stream_t *s)
{
    int n = s->nrows < 64 ? s->nrows : 64, nf = PQnfields(s->res);
    size_t bytes = 0;

    if (n == 0)
        return;
    for (int r = 0; r < n; r++)
        for (int f = 0; f < nf; f++)
            bytes += (size_t)PQgetlength(s->res, r, f) + 8;
    size_t per_row = bytes / (size_t)n + 1;
    size_t want = PG_FETCH_BYTES / per_row;
    s->fetch_n = want < PG_FETCH       ? PG_FETCH
                 : want > PG_FETCH_MAX ? PG_FETCH_MAX
                                       : (int)want;
}

/* Puts the stream's next FETCH result in s->res: the one sent ahead when
 * there is one, else a fresh FETCH; then, unless it was the last, sends
 * the following FETCH ahead. */
static int pg_stream_fetch(rowsync_stream_t *s, rowsync_error_t *err)
{
    rowsync_conn_t *c = s->conn;
    char sql[64];
    int rc, asked;

    if (s->fetch_n <= 0)
        s->fetch_n = PG_FETCH;
    snprintf(sql, sizeof sql, "FETCH %d FROM %s", s->fetch_n, s->cursor_name);
    asked = s->fetch_n;
    if (c->prefetch == s)
        pg_prefetch_collect(c);
    if (s->ahead) {
        PGresult *res = s->next;
        s->next = NULL;
        s->ahead = 0;
        if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
            rc = pg_fail(c, res, err, "reading a stream");
            PQclear(res);
            /* the rows sent ahead are lost: the stream cannot go on */
            return rc < 0 ? rc : ROWSYNC_ERROR;
        }
        s->res = res;
        asked = s->ahead_n;
    } else if (!(s->res = pg_query_format(c, sql, 0, NULL, 1, err,
                                          "reading a stream"))) {
        return err ? err->code : ROWSYNC_ERROR;
    }
    s->nrows = PQntuples(s->res);
    s->row = 0;
    if (s->nrows < asked) {
        s->eof = 1;
        return 0;
    }
    pg_stream_size(s);
    snprintf(sql, sizeof sql, "FETCH %d FROM %s", s->fetch_n, s->cursor_name);
    if (!c->prefetch &&
        PQsendQueryParams(c->pg, sql, 0, NULL, NULL, NULL, NULL, 1) == 1) {
        c->prefetch = s;
        s->ahead = 1;
        s->ahead_n = s->fetch_n;
    }
    return 0;
}

/* The history as one row per change: each history row's keys (and column
 * masks) unnested, the i-th (from 0) at position seq + i, named seq like
 * the row's own. The set-returning functions sit in the select list, where
 * they run in step and stream their rows (in FROM they would be collected
 * into a tuplestore first); the filter on xid still goes down to the scan
 * and its BRIN index. */
static void pg_sb_history(rowsync_buf_t *q, const rowsync_table_spec_t *spec,
                          const char *qhist)
{
    rowsync_buf_puts(q, "(SELECT p.seq + generate_series(0, cardinality(p.k1)"
                        " - 1) AS seq, p.op, p.time_us, p.origin, p.xid");
    for (size_t k = 0; k < spec->nkeys; k++)
        rowsync_buf_printf(q, ", unnest(p.k%zu) AS k%zu", k + 1, k + 1);
    rowsync_buf_printf(q, ", unnest(p.cols) AS cols FROM %s p)", qhist);
}

/* The folded column mask of a key's history rows in the window, as
 * rowsync_cols: their bit_or, or NULL (unknown) when any row has none.
 * Over the window rowsync_w (pg_sb_cols_window). */
static void pg_sb_cols_fold(rowsync_buf_t *q)
{
    rowsync_buf_puts(q, ", CASE WHEN bool_and(h.cols IS NOT NULL) OVER"
                        " rowsync_w THEN bit_or(h.cols) OVER rowsync_w END"
                        " AS rowsync_cols");
}

/* WINDOW rowsync_w: all of a key's rows, ordered like DISTINCT ON's sort
 * (key, seq DESC) so that one sort serves both. */
static void pg_sb_cols_window(rowsync_buf_t *q,
                              const rowsync_table_spec_t *spec)
{
    rowsync_buf_puts(q, " WINDOW rowsync_w AS (PARTITION BY ");
    for (size_t k = 0; k < spec->nkeys; k++)
        rowsync_buf_printf(q, "%sh.k%zu", k ? ", " : "", k + 1);
    rowsync_buf_puts(q, " ORDER BY h.seq DESC ROWS BETWEEN UNBOUNDED"
                        " PRECEDING AND UNBOUNDED FOLLOWING)");
}

/* Opens a stream of net changes (see "cursors" above for the window).
 * Without ROWSYNC_EXTRACT_COLUMNS in flags the column masks are not
 * folded (stream_columns reports every column): the fold is a window
 * over every key of the window, most of the first FETCH's time. */
int pg_extract_open_flags(rowsync_conn_t *c, const rowsync_table_spec_t *spec,
                          const char *since, const char *upto,
                          const char *skip_origin, unsigned flags,
                          rowsync_stream_t **out, rowsync_error_t *err)
{
    pg_rel_t rel;
    pg_step_t f_since, f_upto, f_bound;
    rowsync_buf_t q = {0};
    rowsync_stream_t *s = NULL;
    char horizon[32], maxxid[32];
    char nums[2 + 4 * PG_STEP_MAX + 4][24];
    const char *params[2 + 4 * PG_STEP_MAX + 4];
    int np = 0, rc, null_max = 0;

    if ((rc = pg_check_spec(c, spec, err)) < 0)
        return rc;
    if (!since)
        since = "";
    if (pg_step_parse(since, &f_since) < 0)
        return rowsync_error_set(
            err, ROWSYNC_EINVAL,
            "table '%s' on node '%s': '%s' is not a pgsql cursor (expected "
            "X or X:H:S..., numbers)",
            spec->table, c->node, since);
    if (upto && pg_step_parse(upto, &f_upto) < 0)
        return rowsync_error_set(
            err, ROWSYNC_EINVAL,
            "table '%s' on node '%s': '%s' is not a pgsql cursor (upto)",
            spec->table, c->node, upto);
    if ((rc = pg_need_history(c, spec->table, &rel, err)) < 0)
        return rc;
    if (!rel.exists)
        return rowsync_error_set(
            err, ROWSYNC_ENOTFOUND,
            "table '%s' not found on node '%s' (database %s), though its "
            "history is there; restore the table or run `rowsync teardown`",
            spec->table, c->node, c->database);
    /* lo: below it since consumed everything */
    uint64_t lo = 0, hi = 0;
    if (f_since.n > 0 && f_since.v[0] == PG_INF)
        lo = f_since.p[0];
    if (c->nstreams == 0 && !c->in_txn)
        pg_settle(c, rel.qhist, lo);
    if ((rc = pg_stream_txn_begin(c, err)) < 0)
        return rc;
    c->nstreams++;
    if (!(s = pg_stream_new(c, spec))) {
        rc = pg_oom(err);
        goto fail;
    }
    /* the horizon, lowered to just above the newest history row below it
     * (or to lo when there is none above lo): the same rows, and an idle
     * table keeps its cursor */
    rc = pg_query_value(c,
                        "SELECT " PG_HORIZON("s") "::text FROM"
                        " pg_current_snapshot() s",
                        0, NULL, horizon, sizeof horizon, NULL, err,
                        "reading the commit horizon");
    if (rc < 0)
        goto fail;
    rowsync_buf_printf(&q,
                  "SELECT max(xid)::text FROM %s WHERE xid >= $1::int8 AND"
                  " xid < $2::int8",
                  rel.qhist);
    if (q.oom) {
        rc = pg_oom(err);
        goto fail;
    }
    snprintf(nums[0], sizeof nums[0], "%" PRIu64, lo);
    params[0] = nums[0];
    params[1] = horizon;
    rc = pg_query_value(c, q.p, 2, params, maxxid, sizeof maxxid, &null_max,
                        err, "reading the history");
    rowsync_buf_free(&q);
    if (rc < 0)
        goto fail;
    pg_step_below(&f_bound, null_max ? lo : strtoull(maxxid, NULL, 10) + 1);
    if (upto && pg_step_combine(&f_upto, &f_bound, 0, &f_bound) < 0) {
        rc =
            rowsync_error_set(err, ROWSYNC_ENOTSUP,
                              "table '%s': cursor too fragmented", spec->table);
        goto fail;
    }
    s->since = f_since;
    s->bound = f_bound;

    /* hi: at or above it the bound holds nothing */
    if (f_bound.n > 0)
        hi = f_bound.p[f_bound.n - 1];
    if (hi <= lo) {
        s->eof = 1; /* empty window: nothing to read */
        *out = s;
        return 0;
    }
    snprintf(nums[np], sizeof nums[np], "%" PRIu64, lo);
    np++;
    snprintf(nums[np], sizeof nums[np], "%" PRIu64, hi);
    np++;
    if ((rc = pg_column_oids(c, rel.oid, spec, s->oids, err)) < 0)
        goto fail;
    rowsync_buf_puts(&q, "SELECT w.seq, w.op, w.time_us, w.origin, t.");
    pg_buf_ident(&q, spec->columns[0]);
    rowsync_buf_puts(&q, " IS NOT NULL");
    for (size_t k = 0; k < spec->nkeys; k++) {
        char wk[32];
        snprintf(wk, sizeof wk, "w.k%zu", k + 1);
        rowsync_buf_puts(&q, ", ");
        pg_sb_value(&q, s, k, wk);
    }
    for (size_t i = 0; i < spec->ncolumns; i++) {
        rowsync_buf_puts(&q, ", ");
        pg_sb_column(&q, s, spec, i);
    }
    /* The newest history row of each key (DISTINCT ON), echoes dropped
     * after that choice, put in seq order while the rows are narrow; the
     * live row is joined to that ordered list, so that with an index on
     * the key the plan is a nested loop that keeps the order: the first
     * FETCH pays only for the narrow sort, and every later FETCH looks
     * up its own rows (while the caller applies the previous ones)
     * instead of the first FETCH joining and sorting whole rows. */
    rowsync_buf_puts(&q, ", w.rowsync_cols FROM (SELECT * FROM (SELECT DISTINCT ON (");
    for (size_t k = 0; k < spec->nkeys; k++)
        rowsync_buf_printf(&q, "%sh.k%zu", k ? ", " : "", k + 1);
    rowsync_buf_puts(&q, ") h.seq, h.op, h.time_us, h.origin");
    for (size_t k = 0; k < spec->nkeys; k++)
        rowsync_buf_printf(&q, ", h.k%zu", k + 1);
    if (flags & ROWSYNC_EXTRACT_COLUMNS)
        pg_sb_cols_fold(&q);
    else
        rowsync_buf_puts(&q, ", NULL::int8 AS rowsync_cols");
    rowsync_buf_puts(&q, " FROM ");
    pg_sb_history(&q, spec, rel.qhist);
    rowsync_buf_puts(&q, " h WHERE h.xid >= $1::int8 AND h.xid < $2::int8");
    /* a plain "below lo" / "below hi" says no more than the range */
    if (!pg_step_is_below(&f_since, lo)) {
        rowsync_buf_puts(&q, " AND NOT (");
        pg_step_sql(&q, &f_since, "h.seq", nums, &np);
        rowsync_buf_puts(&q, ")");
    }
    if (!pg_step_is_below(&f_bound, hi)) {
        rowsync_buf_puts(&q, " AND (");
        pg_step_sql(&q, &f_bound, "h.seq", nums, &np);
        rowsync_buf_puts(&q, ")");
    }
    if (flags & ROWSYNC_EXTRACT_COLUMNS)
        pg_sb_cols_window(&q, spec);
    rowsync_buf_puts(&q, " ORDER BY ");
    for (size_t k = 0; k < spec->nkeys; k++)
        rowsync_buf_printf(&q, "h.k%zu, ", k + 1);
    rowsync_buf_puts(&q, "h.seq DESC) n");
    for (int i = 0; i < np; i++)
        params[i] = nums[i];
    if (skip_origin) {
        params[np] = skip_origin;
        rowsync_buf_printf(&q, " WHERE n.origin IS DISTINCT FROM $%d", ++np);
    }
    rowsync_buf_printf(&q, " ORDER BY n.seq) w LEFT JOIN %s t ON ", rel.qname);
    pg_key_join(&q, spec, "w");
    rowsync_buf_puts(&q, " ORDER BY w.seq");
    if (q.oom) {
        rc = pg_oom(err);
        goto fail;
    }
    rc = pg_stream_begin(c, s, q.p, np, params, err);
    rowsync_buf_free(&q);
    if (rc < 0)
        goto fail;
    *out = s;
    return 0;
fail:
    rowsync_buf_free(&q);
    if (rc < 0 && err && !strstr(err->message, spec->table))
        rowsync_error_prefix(err, "table '%s' on node '%s'", spec->table,
                             c->node);
    pg_stream_free(s);
    c->nstreams--;
    pg_stream_txn_end(c);
    return rc;
}

/* extract_open: a stream whose stream_columns is exact. */
int pg_extract_open(rowsync_conn_t *c, const rowsync_table_spec_t *spec,
                    const char *since, const char *upto,
                    const char *skip_origin, rowsync_stream_t **out,
                    rowsync_error_t *err)
{
    return pg_extract_open_flags(c, spec, since, upto, skip_origin,
                                 ROWSYNC_EXTRACT_COLUMNS, out, err);
}

/* Opens a key-order scan of the live table, after after_key when given. */
int pg_scan_open(rowsync_conn_t *c, const rowsync_table_spec_t *spec,
                 const rowsync_value_t *after_key, rowsync_stream_t **out,
                 rowsync_error_t *err)
{
    pg_rel_t rel;
    rowsync_buf_t q = {0};
    rowsync_stream_t *s = NULL;
    char **keys = NULL;
    char now[32];
    int rc;

    if ((rc = pg_check_spec(c, spec, err)) < 0 ||
        (rc = pg_resolve_table(c, spec->table, &rel, err)) < 0)
        return rc;
    if ((rc = pg_stream_txn_begin(c, err)) < 0)
        return rc;
    c->nstreams++;
    if (!(s = pg_stream_new(c, spec)) ||
        !(keys = calloc(spec->nkeys, sizeof(*keys)))) {
        rc = pg_oom(err);
        goto fail;
    }
    s->scan = 1;
    rc = pg_query_value(c, "SELECT " PG_NOW_US, 0, NULL, now, sizeof now, NULL,
                        err, "reading the server clock");
    if (rc < 0)
        goto fail;
    s->scan_time = strtoll(now, NULL, 10);
    if ((rc = pg_column_oids(c, rel.oid, spec, s->oids, err)) < 0)
        goto fail;
    rowsync_buf_puts(&q, "SELECT ");
    for (size_t i = 0; i < spec->ncolumns; i++) {
        if (i)
            rowsync_buf_puts(&q, ", ");
        pg_sb_column(&q, s, spec, i);
    }
    rowsync_buf_printf(&q, " FROM %s t", rel.qname);
    if (after_key) {
        rowsync_buf_puts(&q, " WHERE (");
        for (size_t k = 0; k < spec->nkeys; k++) {
            rowsync_buf_puts(&q, k ? ", t." : "t.");
            pg_buf_ident(&q, spec->columns[k]);
        }
        rowsync_buf_puts(&q, ") > (");
        for (size_t k = 0; k < spec->nkeys; k++) {
            const rowsync_value_t *v = &after_key[k];
            size_t need = rowsync_value_format(v, NULL, 0);
            if (!(keys[k] = malloc(need + 1))) {
                rc = pg_oom(err);
                goto fail;
            }
            rowsync_value_format(v, keys[k], need + 1);
            if (v->type == ROWSYNC_TYPE_NULL) {
                free(keys[k]);
                keys[k] = NULL;
            }
            rowsync_buf_printf(&q, "%s$%zu", k ? ", " : "", k + 1);
        }
        rowsync_buf_puts(&q, ")");
    }
    rowsync_buf_puts(&q, " ORDER BY ");
    for (size_t k = 0; k < spec->nkeys; k++) {
        rowsync_buf_puts(&q, k ? ", t." : "t.");
        pg_buf_ident(&q, spec->columns[k]);
    }
    if (q.oom) {
        rc = pg_oom(err);
        goto fail;
    }
    rc = pg_stream_begin(c, s, q.p, after_key ? (int)spec->nkeys : 0,
                         (const char *const *)keys, err);
    if (rc < 0)
        goto fail;
    for (size_t k = 0; k < spec->nkeys; k++)
        free(keys[k]);
    free(keys);
    rowsync_buf_free(&q);
    *out = s;
    return 0;
fail:
    for (size_t k = 0; keys && k < spec->nkeys; k++)
        free(keys[k]);
    free(keys);
    rowsync_buf_free(&q);
    if (rc < 0 && err && !strstr(err->message, spec->table))
        rowsync_error_prefix(err, "scanning table '%s' on node '%s'",
                             spec->table, c->node);
    pg_stream_free(s);
    c->nstreams--;
    pg_stream_txn_end(c);
    return rc;
}

/* Reads the text of one result field as column i's type into the stream's
 * value slot; BINARY decodes into the stream's scratch at *off. */
static int pg_stream_value(rowsync_stream_t *s, int row, int field, size_t i,
                           size_t *off, rowsync_error_t *err)
{
    rowsync_value_t *v = &s->values[i];

    if (PQgetisnull(s->res, row, field)) {
        memset(v, 0, sizeof(*v));
        v->type = ROWSYNC_TYPE_NULL;
        return 0;
    }
    const char *text = PQgetvalue(s->res, row, field);
    size_t len = (size_t)PQgetlength(s->res, row, field);
    unsigned oid = (unsigned)PQftype(s->res, field);
    /* text and varchar (and format()'s text) in binary are their bytes */
    if (PQfformat(s->res, field) == 1 && oid != PG_TEXTOID &&
        oid != PG_VARCHAROID) {
        const char *why;
        if (pg_bin_decode(oid, text, (int)len, v, &why) == 0 &&
            v->type == s->types[i])
            return 0;
        return rowsync_error_set(
            err, ROWSYNC_ECONVERT,
            "table '%s' column '%s' on node '%s': cannot read the value as %s"
            " (%s)",
            s->table, s->colnames[i], s->conn->node,
            rowsync_type_name(s->types[i]), why);
    }
    void *scratch = NULL;
    if (s->types[i] == ROWSYNC_TYPE_BINARY) {
        scratch = s->scratch + *off;
        *off += len / 2 + 1;
    }
    int rc = rowsync_value_parse(s->types[i], text, len, scratch, v, err);
    if (rc < 0)
        rowsync_error_prefix(
            err, "table '%s' column '%s' on node '%s'%s", s->table,
            s->colnames[i], s->conn->node,
            (len >= 8 && (strstr(text, "infinity") || strstr(text, " BC")))
                ? " (infinity and BC dates have no rowsync value)"
                : "");
    return rc;
}

/* Makes sure the scratch buffer can decode every BINARY field of a row. */
static int pg_stream_scratch(rowsync_stream_t *s, int row, int first_field,
                             rowsync_error_t *err)
{
    size_t need = 1;
    for (size_t i = 0; i < s->ncols; i++)
        if (s->types[i] == ROWSYNC_TYPE_BINARY)
            need +=
                (size_t)PQgetlength(s->res, row, first_field + (int)i) / 2 + 1;
    if (need > s->scratch_cap) {
        char *p = realloc(s->scratch, need);
        if (!p)
            return pg_oom(err);
        s->scratch = p;
        s->scratch_cap = need;
    }
    return 0;
}

int pg_stream_next(rowsync_stream_t *s, const rowsync_change_t **out,
                   rowsync_error_t *err)
{
    rowsync_conn_t *c = s->conn;
    int rc;

    if (s->done)
        return ROWSYNC_DONE;
    while (!s->res || s->row >= s->nrows) {
        if (s->eof) {
            s->done = 1;
            return ROWSYNC_DONE;
        }
        PQclear(s->res);
        s->res = NULL;
        if ((rc = pg_stream_fetch(s, err)) < 0) {
            rowsync_error_prefix(err, "table '%s' on node '%s'", s->table,
                                 c->node);
            return rc;
        }
    }
    int r = s->row++;
    size_t off = 0;
    if (s->scan) {
        if ((rc = pg_stream_scratch(s, r, 0, err)) < 0)
            return rc;
        for (size_t i = 0; i < s->ncols; i++)
            if ((rc = pg_stream_value(s, r, (int)i, i, &off, err)) < 0)
                return rc;
        s->change.op = ROWSYNC_OP_INSERT;
        s->change.time_us = s->scan_time;
        s->change.origin = NULL;
        s->changed = UINT64_MAX;
        *out = &s->change;
        return 0;
    }
    /* seq, op, time_us, origin, present, k1..kN, columns, mask */
    int present = PQgetvalue(s->res, r, 4)[0] != 0;
    int first = 5 + (int)s->nkeys;
    int op = (int)pg_field_int(s->res, r, 1);
    int mcol = first + (int)s->ncols;
    s->changed = UINT64_MAX;
    if (present && op == 2 && !PQgetisnull(s->res, r, mcol))
        s->changed = (uint64_t)pg_field_int(s->res, r, mcol);
    if ((rc = pg_stream_scratch(s, r, present ? first : 5, err)) < 0)
        return rc;
    if (present) {
        for (size_t i = 0; i < s->ncols; i++)
            if ((rc = pg_stream_value(s, r, first + (int)i, i, &off, err)) < 0)
                return rc;
        s->change.op = op == 2 ? ROWSYNC_OP_UPDATE : ROWSYNC_OP_INSERT;
    } else {
        for (size_t i = 0; i < s->ncols; i++) {
            if (i < s->nkeys) {
                if ((rc = pg_stream_value(s, r, 5 + (int)i, i, &off, err)) < 0)
                    return rc;
            } else {
                memset(&s->values[i], 0, sizeof(s->values[i]));
                s->values[i].type = ROWSYNC_TYPE_NULL;
            }
        }
        s->change.op = ROWSYNC_OP_DELETE;
    }
    s->change.time_us = pg_field_int(s->res, r, 2);
    s->change.origin =
        PQgetisnull(s->res, r, 3) ? NULL : PQgetvalue(s->res, r, 3);
    s->last_seq = pg_field_int(s->res, r, 0);
    *out = &s->change;
    return 0;
}

/* The columns the change last returned changed (bit i = spec column i):
 * the OR of its updates' masks, every bit for an insert, a delete, a
 * change without a mask (applied, or captured before masks), a scan row,
 * or before the first change. */
int pg_stream_columns(rowsync_stream_t *s, uint64_t *changed,
                      rowsync_error_t *err)
{
    (void)err;
    *changed = s->changed;
    return 0;
}

int pg_stream_cursor(rowsync_stream_t *s, char *buf, size_t len,
                     rowsync_error_t *err)
{
    pg_step_t f, clip;

    if (!buf || len == 0)
        return rowsync_error_set(err, ROWSYNC_EINVAL, "no cursor buffer");
    if (s->scan) {
        buf[0] = '\0';
        return 0;
    }
    if (s->done) {
        if (pg_step_combine(&s->since, &s->bound, 1, &f) < 0)
            goto too_long;
    } else if (s->last_seq > 0) {
        /* min(bound, last_seq), then max with since */
        clip = s->bound;
        for (size_t i = 0; i <= clip.n; i++)
            if (clip.v[i] > s->last_seq)
                clip.v[i] = s->last_seq;
        pg_step_norm(&clip);
        if (pg_step_combine(&s->since, &clip, 1, &f) < 0)
            goto too_long;
    } else {
        f = s->since;
    }
    if (pg_step_format(&f, buf, len) == 0)
        return 0;
too_long:
    return rowsync_error_set(
        err, ROWSYNC_ENOTSUP,
        "table '%s' on node '%s': the cursor does not fit in %zu bytes "
        "(interrupted several times mid-stream); finish a pass without "
        "stopping",
        s->table, s->conn->node, len);
}

/* Closes the stream's cursor; the read transaction ends with the last
 * stream, so the connection is usable again. */
void pg_stream_close(rowsync_stream_t *s)
{
    if (!s)
        return;
    rowsync_conn_t *c = s->conn;
    pg_prefetch_collect(c);
    if (s->cursor_name[0] && PQstatus(c->pg) == CONNECTION_OK &&
        PQtransactionStatus(c->pg) == PQTRANS_INTRANS) {
        char sql[64];
        snprintf(sql, sizeof sql, "CLOSE %s", s->cursor_name);
        pg_exec(c, sql, NULL, "");
    }
    pg_stream_free(s);
    if (c->nstreams > 0)
        c->nstreams--;
    pg_stream_txn_end(c);
}
