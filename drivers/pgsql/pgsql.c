/* The PostgreSQL driver (libpq).
 *
 * Objects it installs live in one schema (node option `schema`, default
 * "rowsync"), apart from user tables:
 *
 *   state                 cursors and load positions (name, value, updated_us)
 *   conflicts             the conflict journal
 *   "h_<schema>_<table>"  per captured table: seq, op, time_us, origin, xid,
 *                         k1..kN (typed like the key columns)
 *   "f_<schema>_<table>"  per captured table: the trigger function
 *
 * and on each captured table three statement-level AFTER triggers
 * (rowsync_capture_ins/upd/del) with transition tables, so a bulk statement
 * costs one INSERT ... SELECT of one history row holding its keys as
 * arrays. docs/drivers/pgsql.md describes all of it, with the type mapping
 * and the permissions needed.
 *
 * Extraction reads only history rows written by transactions below the
 * horizon, the oldest transaction of this database still running in the
 * read's snapshot (PG_HORIZON): every transaction below it has ended, so
 * no row below it can still appear (see the cursor comment in
 * pgsql_stream.c).
 * Streams run in a REPEATABLE READ READ ONLY transaction with a server-side
 * cursor fetched 1000 rows at a time (flat memory). Apply copies a batch
 * of inserts straight into the table and its history (two COPYs inside a
 * savepoint); other batches, and one that hits an existing key, are staged
 * with COPY into a temporary table and applied with one upsert, one
 * delete and one history insert; the capture triggers of the target table
 * stand aside for it (a transaction-local marker naming the table), and
 * the driver writes the history rows itself with each change's origin and
 * time.
 *
 * Files: pgsql.c (this one: connection, errors, queries, locks, the driver
 * table), pgsql_catalog.c (names, describe, capture objects, state tables),
 * pgsql_stream.c (cursors, extraction, scans), pgsql_apply.c (the apply
 * transaction, state values, conflict journal), pgsql.h (what they share).
 */
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

/* ---- growable text buffer -------------------------------------------- */

/* Appends ident as a double-quoted identifier. */
void pg_buf_ident(rowsync_buf_t *b, const char *ident)
{
    rowsync_buf_add(b, "\"", 1);
    for (const char *p = ident; *p; p++) {
        const char *q = strchr(p, '"');
        if (!q) {
            rowsync_buf_puts(b, p);
            break;
        }
        rowsync_buf_add(b, p, (size_t)(q - p));
        rowsync_buf_add(b, "\"\"", 2);
        p = q;
    }
    rowsync_buf_add(b, "\"", 1);
}

/* Quotes ident into buf like snprintf; ROWSYNC_EINVAL for a name
 * PostgreSQL cannot hold (empty, or longer than 63 bytes). */
static int pg_quote_ident(const char *ident, char *buf, size_t len)
{
    size_t n = 2, i = 0;

    if (!ident || !*ident || strlen(ident) > PG_NAME_MAX)
        return ROWSYNC_EINVAL;
    for (const char *p = ident; *p; p++)
        n += *p == '"' ? 2 : 1;
    if (len == 0 || !buf)
        return (int)n;
#define PG_PUT(c)                                                              \
    do {                                                                       \
        if (i + 1 < len)                                                       \
            buf[i] = (c);                                                      \
        i++;                                                                   \
    } while (0)
    PG_PUT('"');
    for (const char *p = ident; *p; p++) {
        PG_PUT(*p);
        if (*p == '"')
            PG_PUT('"');
    }
    PG_PUT('"');
#undef PG_PUT
    buf[i < len ? i : len - 1] = '\0';
    return (int)n;
}

/* Silences notices: library code never prints. */
static void pg_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

int pg_oom(rowsync_error_t *err)
{
    return rowsync_error_set(err, ROWSYNC_ENOMEM, "out of memory");
}

char *pg_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

/* Copies libpq's message without its trailing newline. */
static void pg_trim(char *dst, size_t len, const char *msg)
{
    snprintf(dst, len, "%s", msg ? msg : "");
    size_t n = strlen(dst);
    while (n > 0 && (dst[n - 1] == '\n' || dst[n - 1] == ' '))
        dst[--n] = '\0';
}

/* The error class of a SQLSTATE. */
static int pg_classify(const char *st)
{
    if (!st || strlen(st) != 5)
        return ROWSYNC_ERROR;
    if (strncmp(st, "08", 2) == 0 || strcmp(st, "57P01") == 0 ||
        strcmp(st, "57P02") == 0 || strcmp(st, "57P03") == 0)
        return ROWSYNC_ECONN;
    if (strcmp(st, "40001") == 0 || strcmp(st, "40P01") == 0 ||
        strcmp(st, "55P03") == 0 || strcmp(st, "57014") == 0 ||
        strcmp(st, "55006") == 0)
        return ROWSYNC_ETRANSIENT;
    if (strncmp(st, "23", 2) == 0)
        return ROWSYNC_ECONSTRAINT;
    if (strcmp(st, "42P01") == 0 || strcmp(st, "42703") == 0 ||
        strcmp(st, "3F000") == 0 || strcmp(st, "3D000") == 0)
        return ROWSYNC_ENOTFOUND;
    if (strcmp(st, "53200") == 0)
        return ROWSYNC_ENOMEM;
    if (strncmp(st, "22", 2) == 0)
        return ROWSYNC_ECONVERT;
    if (strcmp(st, "0A000") == 0)
        return ROWSYNC_ENOTSUP;
    return ROWSYNC_ERROR;
}

/* Packs a SQLSTATE into an integer the way the server does
 * (MAKE_SQLSTATE): six bits per character. */
static long pg_native(const char *st)
{
    long v = 0;
    for (int i = 0; i < 5 && st[i]; i++)
        v |= (long)((st[i] - '0') & 0x3F) << (6 * i);
    return v;
}

/* Fills err from a failed result (or the connection's state when res is
 * NULL): the context formatted from fmt, the server's message, detail and
 * hint, the SQLSTATE and its class. A lost connection is ROWSYNC_ECONN and
 * names host:port. */
int pg_fail(rowsync_conn_t *c, const PGresult *res, rowsync_error_t *err,
            const char *fmt, ...)
{
    char ctx[512], msg[600], detail[300] = "", hint[200] = "";
    const char *st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    va_list ap;
    int code;

    va_start(ap, fmt);
    vsnprintf(ctx, sizeof ctx, fmt, ap);
    va_end(ap);
    if (res && PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY))
        pg_trim(msg, sizeof msg,
                PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));
    else if (res && *PQresultErrorMessage(res))
        pg_trim(msg, sizeof msg, PQresultErrorMessage(res));
    else
        pg_trim(msg, sizeof msg, PQerrorMessage(c->pg));
    if (res && PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL))
        pg_trim(detail, sizeof detail,
                PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL));
    if (res && PQresultErrorField(res, PG_DIAG_MESSAGE_HINT))
        pg_trim(hint, sizeof hint,
                PQresultErrorField(res, PG_DIAG_MESSAGE_HINT));

    if ((!st || strncmp(st, "08", 2) == 0) &&
        PQstatus(c->pg) == CONNECTION_BAD) {
        code = rowsync_error_set(
            err, ROWSYNC_ECONN,
            "%s: connection to PostgreSQL at %s (node '%s') lost: %s; "
            "rowsync reconnects on the next run",
            ctx, c->where, c->node, msg);
        if (err && st)
            snprintf(err->sqlstate, sizeof err->sqlstate, "%s", st);
        return code;
    }
    code = pg_classify(st);
    const char *advice = "";
    if (code == ROWSYNC_ETRANSIENT)
        advice = " (transient: the pass can be retried)";
    else if (st && strcmp(st, "42501") == 0)
        advice = " (grant the privileges listed in docs/drivers/pgsql.md)";
    rowsync_error_set(err, code, "%s: %s%s%s%s%s%s [SQLSTATE %s]%s", ctx, msg,
                      *detail ? " (" : "", detail, *detail ? ")" : "",
                      *hint ? "; hint: " : "", hint, st ? st : "none", advice);
    if (err && st) {
        snprintf(err->sqlstate, sizeof err->sqlstate, "%s", st);
        err->native = pg_native(st);
    }
    return code;
}

/* Runs sql with text parameters (NULL entries are SQL NULL) and returns
 * the result, or NULL with err filled ("what" says what failed). */
PGresult *pg_query(rowsync_conn_t *c, const char *sql, int nparams,
                   const char *const *params, rowsync_error_t *err,
                   const char *what)
{
    return pg_query_format(c, sql, nparams, params, 0, err, what);
}

/* pg_query with the result in text (format 0) or binary (1). */
PGresult *pg_query_format(rowsync_conn_t *c, const char *sql, int nparams,
                          const char *const *params, int format,
                          rowsync_error_t *err, const char *what)
{
    pg_prefetch_collect(c);
    PGresult *res =
        PQexecParams(c->pg, sql, nparams, NULL, params, NULL, NULL, format);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;

    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
        return res;
    pg_fail(c, res, err, "%s", what);
    PQclear(res);
    return NULL;
}

/* Runs one or more statements without parameters. */
int pg_exec(rowsync_conn_t *c, const char *sql, rowsync_error_t *err,
            const char *what)
{
    pg_prefetch_collect(c);
    PGresult *res = PQexec(c->pg, sql);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    int rc = 0;

    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK)
        rc = pg_fail(c, res, err, "%s", what);
    PQclear(res);
    return rc;
}

/* Runs a query expected to return one value; copies it into buf ("" for
 * NULL, *isnull set when given). */
int pg_query_value(rowsync_conn_t *c, const char *sql, int nparams,
                   const char *const *params, char *buf, size_t len,
                   int *isnull, rowsync_error_t *err, const char *what)
{
    PGresult *res = pg_query(c, sql, nparams, params, err, what);
    if (!res)
        return err ? err->code : ROWSYNC_ERROR;
    int null = PQntuples(res) < 1 || PQgetisnull(res, 0, 0);
    snprintf(buf, len, "%s", null ? "" : PQgetvalue(res, 0, 0));
    if (isnull)
        *isnull = null;
    PQclear(res);
    return 0;
}

/* A stream's read-only transaction or the apply transaction forbids
 * statements that manage their own transaction. */
int pg_need_idle(rowsync_conn_t *c, rowsync_error_t *err, const char *what)
{
    if (c->in_txn)
        return rowsync_error_set(
            err, ROWSYNC_EINVAL,
            "%s on node '%s': the apply transaction is open; commit or roll "
            "back first",
            what, c->node);
    if (c->nstreams)
        return rowsync_error_set(err, ROWSYNC_EINVAL,
                                 "%s on node '%s': a stream is open on this "
                                 "connection; close it first",
                                 what, c->node);
    return 0;
}

static const char *pg_option(const rowsync_node_config_t *cfg, const char *key)
{
    for (size_t i = 0; i < cfg->noptions; i++)
        if (cfg->options[i].key && strcmp(cfg->options[i].key, key) == 0)
            return cfg->options[i].value;
    return NULL;
}

static const char *const pg_options[] = {"host",
                                         "port",
                                         "database",
                                         "user",
                                         "sslmode",
                                         "sslrootcert",
                                         "sslcert",
                                         "sslkey",
                                         "connect_timeout",
                                         "application_name",
                                         "schema",
                                         "lock_timeout",
                                         NULL};

/* Checks that text is a whole number in [lo, hi]. */
static int pg_is_number(const char *text, long lo, long hi)
{
    char *end;
    if (!text || !*text)
        return 0;
    errno = 0;
    long v = strtol(text, &end, 10);
    return !errno && *end == '\0' && v >= lo && v <= hi;
}

/* A relative file option resolved against the job file's directory. */
static char *pg_path(const char *value, const char *job_dir)
{
    if (!value)
        return NULL;
    if (value[0] == '/' || !job_dir || !*job_dir ||
        strcmp(value, "system") == 0)
        return pg_strdup(value);
    size_t n = strlen(job_dir) + strlen(value) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", job_dir, value);
    return p;
}

static void pg_conn_free(rowsync_conn_t *c)
{
    if (!c)
        return;
    if (c->pg)
        PQfinish(c->pg);
    pg_forget_targets(c);
    PQclear(c->desc_res);
    free(c->desc_cols);
    free(c->desc_name);
    free(c->node);
    free(c->where);
    free(c->database);
    free(c->schema);
    free(c->qschema);
    if (c->channel)
        PQfreemem(c->channel);
    free(c);
}

/* Opens a connection with libpq's keyword/value arrays (never a conninfo
 * string), then sets the session up: UTF8, TimeZone UTC, ISO dates,
 * round-trip floats, hex bytea. Messages name host:port, database, user
 * and node, never the password. */
static int pg_connect(rowsync_conn_t **out, const rowsync_node_config_t *cfg,
                      rowsync_error_t *err)
{
    const char *node = cfg && cfg->node ? cfg->node : "?";
    const char *kw[20], *val[20];
    char *sslfiles[3] = {NULL, NULL, NULL};
    int n = 0, rc = 0;

    if (!out || !cfg)
        return rowsync_error_set(err, ROWSYNC_EINVAL, "connect: no config");
    for (size_t i = 0; i < cfg->noptions; i++) {
        const char *const *k = pg_options;
        while (*k && strcmp(*k, cfg->options[i].key) != 0)
            k++;
        if (!*k)
            return rowsync_error_set(
                err, ROWSYNC_EINVAL,
                "node '%s': unknown option '%s' for the pgsql driver "
                "(accepted: host, port, database, user, sslmode, sslrootcert, "
                "sslcert, sslkey, connect_timeout, application_name, schema, "
                "lock_timeout)",
                node, cfg->options[i].key);
    }
    const char *host = pg_option(cfg, "host"), *port = pg_option(cfg, "port");
    const char *db = pg_option(cfg, "database"), *user = pg_option(cfg, "user");
    const char *ct = pg_option(cfg, "connect_timeout");
    const char *app = pg_option(cfg, "application_name");
    const char *schema = pg_option(cfg, "schema");
    const char *lock_timeout = pg_option(cfg, "lock_timeout");
    const char *sslmode = pg_option(cfg, "sslmode");
    if (port && !pg_is_number(port, 1, 65535))
        return rowsync_error_set(err, ROWSYNC_EINVAL,
                                 "node '%s': port '%s' is not a port number",
                                 node, port);
    if (ct && !pg_is_number(ct, 0, 86400))
        return rowsync_error_set(
            err, ROWSYNC_EINVAL,
            "node '%s': connect_timeout '%s' is not a number of seconds", node,
            ct);
    if (lock_timeout && !pg_is_number(lock_timeout, 0, 2147483647))
        return rowsync_error_set(
            err, ROWSYNC_EINVAL,
            "node '%s': lock_timeout '%s' is not a number of milliseconds",
            node, lock_timeout);
    if (sslmode && strcmp(sslmode, "disable") != 0 &&
        strcmp(sslmode, "allow") != 0 && strcmp(sslmode, "prefer") != 0 &&
        strcmp(sslmode, "require") != 0 && strcmp(sslmode, "verify-ca") != 0 &&
        strcmp(sslmode, "verify-full") != 0)
        return rowsync_error_set(
            err, ROWSYNC_EINVAL,
            "node '%s': sslmode '%s' is not one of disable, allow, prefer, "
            "require, verify-ca, verify-full",
            node, sslmode);
    if (!schema || !*schema)
        schema = "rowsync";
    if (strlen(schema) > PG_NAME_MAX)
        return rowsync_error_set(err, ROWSYNC_EINVAL,
                                 "node '%s': schema name '%s' is longer than "
                                 "63 bytes",
                                 node, schema);

    rowsync_conn_t *c = calloc(1, sizeof(*c));
    if (!c)
        return pg_oom(err);
    c->node = pg_strdup(node);
    c->schema = pg_strdup(schema);
    rowsync_buf_t q = {0};
    pg_buf_ident(&q, schema);
    c->qschema = q.p;
    sslfiles[0] = pg_path(pg_option(cfg, "sslrootcert"), cfg->job_dir);
    sslfiles[1] = pg_path(pg_option(cfg, "sslcert"), cfg->job_dir);
    sslfiles[2] = pg_path(pg_option(cfg, "sslkey"), cfg->job_dir);
    if (!c->node || !c->schema || q.oom) {
        rc = pg_oom(err);
        goto done;
    }
    for (int i = 0; i < 3; i++) {
        static const char *const names[3] = {"sslrootcert", "sslcert",
                                             "sslkey"};
        if (pg_option(cfg, names[i]) && !sslfiles[i]) {
            rc = pg_oom(err);
            goto done;
        }
        /* "system" is libpq's name for the system's CA store */
        if (sslfiles[i] && strcmp(pg_option(cfg, names[i]), "system") != 0 &&
            access(sslfiles[i], R_OK) != 0) {
            rc = rowsync_error_set(
                err, ROWSYNC_EINVAL, "node '%s': %s file %s cannot be read: %s",
                node, names[i], sslfiles[i], strerror(errno));
            goto done;
        }
    }
#define PG_KV(k, v)                                                            \
    do {                                                                       \
        if (v) {                                                               \
            kw[n] = (k);                                                       \
            val[n] = (v);                                                      \
            n++;                                                               \
        }                                                                      \
    } while (0)
    PG_KV("host", host);
    PG_KV("port", port);
    PG_KV("dbname", db);
    PG_KV("user", user);
    PG_KV("password", cfg->password);
    PG_KV("sslmode", sslmode);
    PG_KV("sslrootcert", sslfiles[0]);
    PG_KV("sslcert", sslfiles[1]);
    PG_KV("sslkey", sslfiles[2]);
    PG_KV("connect_timeout", ct ? ct : "10");
    PG_KV("application_name", app ? app : "rowsync");
    PG_KV("client_encoding", "UTF8");
#undef PG_KV
    kw[n] = NULL;
    val[n] = NULL;
    c->pg = PQconnectdbParams(kw, val, 0);
    {
        const char *h = host ? host : (c->pg ? PQhost(c->pg) : NULL);
        const char *pt = port ? port : (c->pg ? PQport(c->pg) : NULL);
        char where[512];
        if (!h || !*h)
            h = "the default socket";
        if (!pt || !*pt)
            pt = "5432";
        if (h[0] == '/')
            snprintf(where, sizeof where, "%s/.s.PGSQL.%s", h, pt);
        else if (strchr(h, ':'))
            snprintf(where, sizeof where, "[%s]:%s", h, pt);
        else
            snprintf(where, sizeof where, "%s:%s", h, pt);
        c->where = pg_strdup(where);
        c->database = pg_strdup(
            db ? db : (c->pg && PQdb(c->pg) ? PQdb(c->pg) : "(default)"));
    }
    if (!c->pg || !c->where || !c->database) {
        rc = pg_oom(err);
        goto done;
    }
    if (PQstatus(c->pg) != CONNECTION_OK) {
        char msg[700];
        pg_trim(msg, sizeof msg, PQerrorMessage(c->pg));
        rc = rowsync_error_set(
            err, ROWSYNC_ECONN,
            "node '%s': cannot connect to PostgreSQL at %s (database %s, user "
            "%s): %s; check that the server runs and the node's options and "
            "password",
            node, c->where, c->database,
            user ? user : (PQuser(c->pg) ? PQuser(c->pg) : "(default)"), msg);
        goto done;
    }
    PQsetNoticeProcessor(c->pg, pg_notice, NULL);
    if (!(c->channel = PQescapeLiteral(c->pg, schema, strlen(schema)))) {
        rc = pg_oom(err);
        goto done;
    }
    if (PQserverVersion(c->pg) < 130000) {
        rc = rowsync_error_set(
            err, ROWSYNC_ENOTSUP,
            "node '%s': PostgreSQL at %s is version %d; rowsync needs 13 or "
            "later (xid8, pg_current_xact_id)",
            node, c->where, PQserverVersion(c->pg));
        goto done;
    }
    {
        rowsync_buf_t s = {0};
        rowsync_buf_puts(&s, "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD';"
                        " SET IntervalStyle = 'postgres';"
                        " SET extra_float_digits = 3;"
                        " SET bytea_output = 'hex';"
                        " SET client_min_messages = 'warning'");
        if (lock_timeout)
            rowsync_buf_printf(&s, "; SET lock_timeout = %ld",
                          strtol(lock_timeout, NULL, 10));
        if (s.oom)
            rc = pg_oom(err);
        else
            rc = pg_exec(c, s.p, err, "setting up the session");
        rowsync_buf_free(&s);
        if (rc < 0) {
            rowsync_error_prefix(err, "node '%s'", node);
            goto done;
        }
    }
done:
    for (int i = 0; i < 3; i++)
        free(sslfiles[i]);
    if (rc < 0) {
        pg_conn_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

/* Rolls back what is open and releases the session's advisory locks with a
 * round trip before closing, so another session can take them as soon as
 * disconnect returns (the server would release them only once it noticed
 * the closed connection). */
static void pg_disconnect(rowsync_conn_t *c)
{
    if (!c)
        return;
    if (c->pg && PQstatus(c->pg) == CONNECTION_OK) {
        if (PQtransactionStatus(c->pg) != PQTRANS_IDLE)
            pg_exec(c, "ROLLBACK", NULL, "");
        pg_exec(c, "SELECT pg_advisory_unlock_all()", NULL, "");
    }
    pg_conn_free(c);
}

static int pg_clock(rowsync_conn_t *c, int64_t *now_us, rowsync_error_t *err)
{
    char buf[32];
    int rc = pg_query_value(c, "SELECT " PG_NOW_US, 0, NULL, buf, sizeof buf,
                            NULL, err, "reading the server clock");
    if (rc < 0)
        return rc;
    *now_us = strtoll(buf, NULL, 10);
    return 0;
}

/* ---- locks ------------------------------------------------------------ */

static int64_t pg_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Takes a session advisory lock keyed by a hash of the name, polling every
 * 50 ms until timeout_ms has passed. */
static int pg_lock(rowsync_conn_t *c, const char *name, int timeout_ms,
                   rowsync_error_t *err)
{
    const char *params[1] = {name};
    int64_t deadline = pg_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    char buf[64];
    int rc;

    if (!name || !*name)
        return rowsync_error_set(err, ROWSYNC_EINVAL, "empty lock name");
    for (;;) {
        rc = pg_query_value(c,
                            "SELECT pg_try_advisory_lock("
                            "hashtextextended($1, 0))",
                            1, params, buf, sizeof buf, NULL, err,
                            "taking a lock");
        if (rc < 0) {
            rowsync_error_prefix(err, "lock '%s' on node '%s'", name, c->node);
            return rc;
        }
        if (buf[0] == 't')
            return 0;
        int64_t left = deadline - pg_mono_ms();
        if (left <= 0)
            break;
        struct timespec ts = {0, (long)(left < 50 ? left : 50) * 1000000L};
        nanosleep(&ts, NULL);
    }
    /* who holds it, for the message (best effort) */
    char holder[96] = "";
    if (pg_query_value(
            c,
            "SELECT l.pid FROM pg_catalog.pg_locks l,"
            " (SELECT hashtextextended($1, 0) AS k) h"
            " WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1"
            " AND l.classid = ((h.k >> 32) & 4294967295)::oid"
            " AND l.objid = (h.k & 4294967295)::oid LIMIT 1",
            1, params, buf, sizeof buf, NULL, NULL, "") == 0 &&
        *buf)
        snprintf(holder, sizeof holder, " (server process %s)", buf);
    return rowsync_error_set(
        err, ROWSYNC_ELOCKED,
        "lock '%s' on node '%s' is held by another session%s; gave up after "
        "%d ms: another rowsync process is working on this pair, try again "
        "later",
        name, c->node, holder, timeout_ms > 0 ? timeout_ms : 0);
}

static int pg_unlock(rowsync_conn_t *c, const char *name, rowsync_error_t *err)
{
    const char *params[1] = {name};
    char buf[8];

    if (!name || !*name)
        return rowsync_error_set(err, ROWSYNC_EINVAL, "empty lock name");
    int rc = pg_query_value(c,
                            "SELECT pg_advisory_unlock(hashtextextended($1,"
                            " 0))",
                            1, params, buf, sizeof buf, NULL, err,
                            "releasing a lock");
    if (rc < 0)
        rowsync_error_prefix(err, "lock '%s' on node '%s'", name, c->node);
    return rc;
}

/* ---- change notification ---------------------------------------------- */

/* Starts listening on the channel the capture triggers and apply notify
 * (named like rowsync's schema, so jobs with their own schema do not wake
 * each other) and hands out the connection's socket, which turns readable
 * when a notification arrives. The connection must stay idle: a
 * transaction would hold notifications back until it ends. */
static int pg_watch(rowsync_conn_t *c, int *fd, rowsync_error_t *err)
{
    int rc;

    if (!fd)
        return rowsync_error_set(err, ROWSYNC_EINVAL, "watch: no fd");
    if ((rc = pg_need_idle(c, err, "watching for changes")) < 0)
        return rc;
    if (!c->watching) {
        rowsync_buf_t s = {0};
        rowsync_buf_puts(&s, "LISTEN ");
        pg_buf_ident(&s, c->schema);
        rc = s.oom ? pg_oom(err) : pg_exec(c, s.p, err, "listening for changes");
        rowsync_buf_free(&s);
        if (rc < 0) {
            rowsync_error_prefix(err, "node '%s'", c->node);
            return rc;
        }
        c->watching = 1;
    }
    int sock = PQsocket(c->pg);
    if (sock < 0)
        return rowsync_error_set(err, ROWSYNC_ECONN,
                                 "node '%s': connection to PostgreSQL at %s has "
                                 "no socket; rowsync reconnects",
                                 c->node, c->where);
    *fd = sock;
    return 0;
}

/* Reads whatever the server sent (without blocking) and drops the
 * notifications among it; a lost connection is ROWSYNC_ECONN. */
static int pg_watch_clear(rowsync_conn_t *c, rowsync_error_t *err)
{
    PGnotify *n;

    if (!PQconsumeInput(c->pg) || PQstatus(c->pg) != CONNECTION_OK) {
        int rc = pg_fail(c, NULL, err, "reading change notifications");
        rowsync_error_prefix(err, "node '%s'", c->node);
        return rc < 0 ? rc : ROWSYNC_ECONN;
    }
    while ((n = PQnotifies(c->pg)))
        PQfreemem(n);
    return 0;
}

/* ---- the table -------------------------------------------------------- */

static const rowsync_driver_t pg_driver = {
    ROWSYNC_DRIVER_HEADER,
    "pgsql",
    PG_DRIVER_VERSION,
    "PostgreSQL 13 or later through libpq",
    pg_options,
    pg_connect,
    pg_disconnect,
    pg_quote_ident,
    pg_clock,
    pg_describe,
    pg_capture_install,
    pg_capture_status,
    pg_capture_remove,
    pg_history_clear,
    pg_history_count,
    pg_state_remove,
    pg_lock,
    pg_unlock,
    pg_state_get,
    pg_extract_open,
    pg_scan_open,
    pg_stream_next,
    pg_stream_cursor,
    pg_stream_close,
    pg_begin,
    pg_apply,
    pg_state_set,
    pg_conflict_log,
    pg_commit,
    pg_rollback,
    pg_conflicts_read,
    pg_references,
    pg_apply_insert_only,
    pg_history_purge,
    pg_watch,
    pg_watch_clear,
    pg_stream_columns,
    pg_extract_open_flags,
};

int pgsql_LTX_rowsync_driver_entry(const rowsync_driver_t **out,
                                   const rowsync_abi_header_t *host);

/* The module's one export: hands out the table to a host of the same
 * major ABI version. */
int pgsql_LTX_rowsync_driver_entry(const rowsync_driver_t **out,
                                   const rowsync_abi_header_t *host)
{
    if (!out || !host || host->major != ROWSYNC_DRIVER_ABI_MAJOR)
        return ROWSYNC_EABI;
    *out = &pg_driver;
    return 0;
}
