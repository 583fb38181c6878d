/* The SQL Server driver: FreeTDS db-lib connections, the driver table,
 * capture objects, streams and the apply transaction. The T-SQL texts
 * come from mssql_sql.c, value conversions and error classes from
 * mssql_types.c.
 *
 * db-lib allows one pending result set per DBPROCESS. The connection's
 * own DBPROCESS serves everything but streams; each stream opens a
 * DBPROCESS of its own with the same login, so a stream can stay open
 * (rows fetched with dbnextrow as the engine asks, memory flat) while the
 * connection applies, locks or reads state.
 *
 * db-lib reports errors through process-wide callbacks. They store the
 * messages in the DBPROCESS's user data (a mss_diag_t of the connection
 * or stream), or in a thread-local one while no DBPROCESS exists yet
 * (dbopen), and every failure message is built from there. */
#include <config.h>

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sybfront.h>
#include <sybdb.h>

#include "mssql.h"

/* ---- diagnostics ------------------------------------------------------ */

typedef struct mss_diag {
    long msgno;   /* last server error message number (severity > 10) */
    int dberr;    /* last db-lib error number */
    int oserr;
    char text[768];
} mss_diag_t;

static __thread mss_diag_t mss_tls_diag;
static pthread_once_t mss_once = PTHREAD_ONCE_INIT;
static int mss_init_rc;

static mss_diag_t *mss_diag_of(DBPROCESS *dbproc)
{
    mss_diag_t *d = dbproc ? (mss_diag_t *)dbgetuserdata(dbproc) : NULL;
    return d ? d : &mss_tls_diag;
}

/* Appends "; text" (or text) to the diagnostic, cut to fit. */
static void mss_diag_add(mss_diag_t *d, const char *text)
{
    size_t n = strlen(d->text);

    if (n + 3 >= sizeof d->text)
        return;
    snprintf(d->text + n, sizeof d->text - n, "%s%s", n ? "; " : "", text);
}

static int mss_err_handler(DBPROCESS *dbproc, int severity, int dberr,
                           int oserr, char *dberrstr, char *oserrstr)
{
    mss_diag_t *d = mss_diag_of(dbproc);
    char line[400];

    (void)severity;
    d->dberr = dberr;
    d->oserr = oserr;
    if (oserr != 0 && oserrstr != NULL && oserr != DBNOERR)
        snprintf(line, sizeof line, "%s (%s)", dberrstr ? dberrstr : "",
                 oserrstr);
    else
        snprintf(line, sizeof line, "%s", dberrstr ? dberrstr : "");
    mss_diag_add(d, line);
    return INT_CANCEL;
}

static int mss_msg_handler(DBPROCESS *dbproc, DBINT msgno, int msgstate,
                           int severity, char *msgtext, char *srvname,
                           char *proc, int line)
{
    mss_diag_t *d = mss_diag_of(dbproc);

    (void)msgstate;
    (void)srvname;
    (void)proc;
    (void)line;
    if (severity <= 10)
        return 0; /* informational: changed database, language... */
    d->msgno = msgno;
    mss_diag_add(d, msgtext ? msgtext : "");
    return 0;
}

static void mss_init_once(void)
{
    mss_init_rc = dbinit() == FAIL ? -1 : 0;
    dberrhandle(mss_err_handler);
    dbmsghandle(mss_msg_handler);
}

static void mss_diag_clear(mss_diag_t *d)
{
    d->msgno = 0;
    d->dberr = 0;
    d->oserr = 0;
    d->text[0] = '\0';
}

/* ---- connection ------------------------------------------------------- */

typedef struct mss_target {
    struct mss_target *next;
    char *sig;
    char *schema, *table, *hist;
    size_t ncols, nkeys;
    char **cols, **decl, **native;
    unsigned char *identity;
    unsigned char *insert_only; /* per column, or NULL for none */
    unsigned stage_no;
    mss_obj_t obj;
} mss_target_t;

struct rowsync_conn {
    DBPROCESS *db;
    LOGINREC *login;
    char *server; /* host:port or host\instance, for dbopen */
    char *where;  /* for messages */
    char *node;
    char *schema; /* rowsync's schema */
    char *default_schema;
    char *session_sql;
    mss_diag_t diag;
    int in_txn, txn_failed;
    char *identity_on; /* table with IDENTITY_INSERT ON, or NULL */
    unsigned stage_no;
    mss_target_t *targets;
    /* describe's result */
    rowsync_column_t *desc_cols;
    size_t desc_n;
    char *desc_name;
    char **desc_strings;
    size_t desc_nstrings;
    rowsync_table_info_t desc;
};

static char *mss_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

static int mss_oom(rowsync_error_t *err)
{
    return rowsync_error_set(err, ROWSYNC_ENOMEM, "SQL Server driver: out of"
                                                  " memory");
}

/* Builds err from the diagnostic of dbproc: the class from the server's
 * message number, else db-lib's error, else a dead connection. */
static int mss_fail(rowsync_conn_t *c, DBPROCESS *dbproc,
                    rowsync_error_t *err, const char *what)
{
    mss_diag_t *d = dbproc ? mss_diag_of(dbproc) : &c->diag;
    int code = ROWSYNC_ERROR;
    long native = 0;

    if (d->msgno != 0) {
        code = mss_classify_msg(d->msgno);
        native = d->msgno;
    } else if (d->dberr != 0) {
        code = mss_classify_dberr(d->dberr);
        native = d->dberr;
    }
    if (dbproc != NULL && dbdead(dbproc))
        code = ROWSYNC_ECONN;
    rowsync_error_set(err, code, "%s on node %s (SQL Server %s): %s%s", what,
                      c->node, c->where,
                      d->text[0] ? d->text : "no message from FreeTDS",
                      d->msgno == 18456
                          ? " (check user, password and that SQL Server"
                            " authentication is enabled)"
                          : "");
    if (err != NULL)
        err->native = native;
    mss_diag_clear(d);
    return code;
}

/* Drains every remaining result of dbproc. 0, or the failure. dbnextrow
 * answers FAIL, not NO_MORE_ROWS, on a dead connection, and keeps doing
 * so: waiting for NO_MORE_ROWS alone would spin forever. */
static int mss_drain(rowsync_conn_t *c, DBPROCESS *dbproc,
                     rowsync_error_t *err, const char *what)
{
    RETCODE rc;
    STATUS st;

    while ((rc = dbresults(dbproc)) != NO_MORE_RESULTS) {
        if (rc == FAIL)
            return mss_fail(c, dbproc, err, what);
        while ((st = dbnextrow(dbproc)) != NO_MORE_ROWS)
            if (st == FAIL) {
                dbcancel(dbproc);
                return mss_fail(c, dbproc, err, what);
            }
    }
    if (mss_diag_of(dbproc)->msgno != 0)
        return mss_fail(c, dbproc, err, what);
    return 0;
}

/* Sends a language batch (no values in it) and drains its results. */
static int mss_exec_on(rowsync_conn_t *c, DBPROCESS *dbproc, const char *sql,
                       rowsync_error_t *err, const char *what)
{
    mss_diag_clear(mss_diag_of(dbproc));
    if (dbcmd(dbproc, sql) == FAIL || dbsqlexec(dbproc) == FAIL) {
        dbcancel(dbproc);
        return mss_fail(c, dbproc, err, what);
    }
    return mss_drain(c, dbproc, err, what);
}

static int mss_exec(rowsync_conn_t *c, const char *sql, rowsync_error_t *err,
                    const char *what)
{
    return mss_exec_on(c, c->db, sql, err, what);
}

/* One RPC parameter: text (nvarchar(max)) or bytes (varbinary(max)), or
 * NULL. */
typedef struct mss_param {
    const char *name; /* without @ */
    const char *data;
    size_t len;
    int null, binary;
} mss_param_t;

/* Sends sql through sp_executesql with the parameters (each prefixed
 * with one filler character, see mssql_sql.c) and waits for the server
 * to accept it; the caller reads the results. decls is the parameter
 * declaration list ("@k nvarchar(max), ..."). */
static int mss_rpc(rowsync_conn_t *c, DBPROCESS *dbproc, const char *sql,
                   const char *decls, const mss_param_t *p, size_t n,
                   rowsync_error_t *err, const char *what)
{
    char **copies = calloc(n ? n : 1, sizeof *copies);
    char **names = calloc(n ? n : 1, sizeof *names);
    size_t i;
    int rc = 0;

    if (copies == NULL || names == NULL) {
        free(copies);
        free(names);
        return mss_oom(err);
    }
    mss_diag_clear(mss_diag_of(dbproc));
    if (dbrpcinit(dbproc, "sp_executesql", 0) == FAIL ||
        dbrpcparam(dbproc, NULL, 0, SYBNTEXT, -1, (DBINT)strlen(sql),
                   (BYTE *)sql) == FAIL ||
        dbrpcparam(dbproc, NULL, 0, SYBNTEXT, -1, (DBINT)strlen(decls),
                   (BYTE *)decls) == FAIL) {
        rc = mss_fail(c, dbproc, err, what);
        goto out;
    }
    for (i = 0; i < n; i++) {
        size_t nl = strlen(p[i].name) + 2;
        names[i] = malloc(nl);
        if (names[i] == NULL) {
            rc = mss_oom(err);
            goto out;
        }
        snprintf(names[i], nl, "@%s", p[i].name);
        if (p[i].null) {
            if (dbrpcparam(dbproc, names[i], 0,
                           p[i].binary ? SYBIMAGE : SYBNTEXT, -1, 0,
                           NULL) == FAIL) {
                rc = mss_fail(c, dbproc, err, what);
                goto out;
            }
            continue;
        }
        copies[i] = malloc(p[i].len + 1);
        if (copies[i] == NULL) {
            rc = mss_oom(err);
            goto out;
        }
        copies[i][0] = p[i].binary ? '\0' : 'x';
        memcpy(copies[i] + 1, p[i].data, p[i].len);
        if (dbrpcparam(dbproc, names[i], 0, p[i].binary ? SYBIMAGE : SYBNTEXT,
                       -1, (DBINT)(p[i].len + 1),
                       (BYTE *)copies[i]) == FAIL) {
            rc = mss_fail(c, dbproc, err, what);
            goto out;
        }
    }
    if (dbrpcsend(dbproc) == FAIL || dbsqlok(dbproc) == FAIL) {
        dbcancel(dbproc);
        rc = mss_fail(c, dbproc, err, what);
    }
out:
    for (i = 0; i < n; i++) {
        free(copies[i]);
        free(names[i]);
    }
    free(copies);
    free(names);
    return rc;
}

/* Moves to the next result set that has columns. 1 found, 0 none left,
 * or a failure. */
static int mss_next_result(rowsync_conn_t *c, DBPROCESS *dbproc,
                           rowsync_error_t *err, const char *what)
{
    RETCODE rc;

    while ((rc = dbresults(dbproc)) != NO_MORE_RESULTS) {
        if (rc == FAIL)
            return mss_fail(c, dbproc, err, what);
        if (dbnumcols(dbproc) > 0)
            return 1;
    }
    if (mss_diag_of(dbproc)->msgno != 0)
        return mss_fail(c, dbproc, err, what);
    return 0;
}

/* Column col (1-based) of the current row as text into buf; *isnull. */
static void mss_col_str(DBPROCESS *dbproc, int col, char *buf, size_t len,
                        int *isnull)
{
    BYTE *data = dbdata(dbproc, col);
    size_t n = (size_t)dbdatlen(dbproc, col);

    *isnull = data == NULL;
    if (data == NULL)
        n = 0;
    if (n >= len)
        n = len - 1;
    if (n)
        memcpy(buf, data, n);
    buf[n] = '\0';
}

/* Column col as an integer (any integer or bit type); 0 for NULL. */
static int64_t mss_col_int(DBPROCESS *dbproc, int col)
{
    BYTE *data = dbdata(dbproc, col);
    rowsync_value_t v;

    if (data == NULL)
        return 0;
    if (mss_value_from_native(ROWSYNC_TYPE_INT, dbcoltype(dbproc, col), data,
                              (size_t)dbdatlen(dbproc, col), &v, NULL) < 0)
        return 0;
    return v.u.i;
}

static const char *mss_opt(const rowsync_node_config_t *cfg, const char *key)
{
    size_t i;

    for (i = 0; i < cfg->noptions; i++)
        if (strcmp(cfg->options[i].key, key) == 0)
            return cfg->options[i].value;
    return NULL;
}

static int mss_tds_version(const char *v, BYTE *out)
{
    static const struct {
        const char *name;
        BYTE version;
    } map[] = {{"7.0", DBVERSION_70}, {"7.1", DBVERSION_71},
               {"7.2", DBVERSION_72}, {"7.3", DBVERSION_73},
               {"7.4", DBVERSION_74}};
    size_t i;

    for (i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(map[i].name, v) == 0) {
            *out = map[i].version;
            return 0;
        }
    return -1;
}

/* Opens one DBPROCESS with the connection's login and runs the session
 * settings on it. NULL on failure (err set). */
static DBPROCESS *mss_open_db(rowsync_conn_t *c, mss_diag_t *diag,
                              rowsync_error_t *err)
{
    DBPROCESS *db;

    mss_diag_clear(&mss_tls_diag);
    db = dbopen(c->login, c->server);
    if (db == NULL) {
        int code = mss_tls_diag.msgno ? mss_classify_msg(mss_tls_diag.msgno)
                                      : ROWSYNC_ECONN;
        if (code != ROWSYNC_ENOMEM)
            code = ROWSYNC_ECONN;
        rowsync_error_set(err, code,
                          "cannot connect node %s to SQL Server at %s: %s%s",
                          c->node, c->where,
                          mss_tls_diag.text[0] ? mss_tls_diag.text
                                               : "FreeTDS gave no reason",
                          mss_tls_diag.msgno == 18456
                              ? " (check user and password, and that SQL"
                                " Server authentication is enabled)"
                              : "");
        if (err != NULL)
            err->native = mss_tls_diag.msgno ? mss_tls_diag.msgno
                                             : mss_tls_diag.dberr;
        return NULL;
    }
    mss_diag_clear(diag);
    dbsetuserdata(db, (BYTE *)diag);
    if (mss_exec_on(c, db, c->session_sql, err, "session settings") < 0) {
        dbclose(db);
        return NULL;
    }
    return db;
}

static void mss_free_targets(rowsync_conn_t *c)
{
    mss_target_t *t, *next;
    size_t i;

    for (t = c->targets; t; t = next) {
        next = t->next;
        for (i = 0; i < t->ncols; i++) {
            free(t->cols[i]);
            free(t->decl[i]);
            free(t->native[i]);
        }
        free(t->cols);
        free(t->decl);
        free(t->native);
        free(t->identity);
        free(t->insert_only);
        free(t->sig);
        free(t->schema);
        free(t->table);
        free(t->hist);
        free(t);
    }
    c->targets = NULL;
}

static void mss_free_desc(rowsync_conn_t *c)
{
    size_t i;

    for (i = 0; i < c->desc_nstrings; i++)
        free(c->desc_strings[i]);
    free(c->desc_strings);
    free(c->desc_cols);
    free(c->desc_name);
    c->desc_strings = NULL;
    c->desc_nstrings = 0;
    c->desc_cols = NULL;
    c->desc_name = NULL;
    c->desc_n = 0;
}

static void mss_disconnect(rowsync_conn_t *c)
{
    if (c == NULL)
        return;
    if (c->db != NULL)
        dbclose(c->db); /* the server rolls back and frees session locks */
    if (c->login != NULL)
        dbloginfree(c->login);
    mss_free_targets(c);
    mss_free_desc(c);
    free(c->server);
    free(c->where);
    free(c->node);
    free(c->schema);
    free(c->default_schema);
    free(c->session_sql);
    free(c->identity_on);
    free(c);
}

static int mss_connect(rowsync_conn_t **out, const rowsync_node_config_t *cfg,
                       rowsync_error_t *err)
{
    const char *host = mss_opt(cfg, "host"), *port = mss_opt(cfg, "port");
    const char *inst = mss_opt(cfg, "instance"), *db = mss_opt(cfg, "database");
    const char *user = mss_opt(cfg, "user"), *tdsv = mss_opt(cfg, "tds_version");
    const char *enc = mss_opt(cfg, "encryption");
    const char *ctmo = mss_opt(cfg, "connect_timeout");
    const char *ltmo = mss_opt(cfg, "login_timeout");
    const char *schema = mss_opt(cfg, "schema");
    const char *lockt = mss_opt(cfg, "lock_timeout");
    rowsync_conn_t *c;
    BYTE version = DBVERSION_74;
    rowsync_buf_t b = {0};
    char where[600];
    int timeout = 10;
    char *end;

    pthread_once(&mss_once, mss_init_once);
    if (mss_init_rc < 0)
        return rowsync_error_set(err, ROWSYNC_ERROR,
                                 "node %s: FreeTDS dbinit failed", cfg->node);
    if (host == NULL || host[0] == '\0')
        host = "localhost";
    if (port == NULL || port[0] == '\0')
        port = "1433";
    if (strtol(port, &end, 10) <= 0 || *end != '\0')
        return rowsync_error_set(err, ROWSYNC_EINVAL,
                                 "node %s: port '%s' is not a port number",
                                 cfg->node, port);
    if (tdsv != NULL && mss_tds_version(tdsv, &version) < 0)
        return rowsync_error_set(err, ROWSYNC_EINVAL,
                                 "node %s: tds_version '%s': use 7.0, 7.1,"
                                 " 7.2, 7.3 or 7.4",
                                 cfg->node, tdsv);
    if (enc != NULL && strcmp(enc, "off") != 0 && strcmp(enc, "request") != 0 &&
        strcmp(enc, "require") != 0)
        return rowsync_error_set(err, ROWSYNC_EINVAL,
                                 "node %s: encryption '%s': use off, request"
                                 " or require",
                                 cfg->node, enc);
    if (ltmo != NULL || ctmo != NULL) {
        timeout = (int)strtol(ltmo ? ltmo : ctmo, &end, 10);
        if (timeout <= 0 || *end != '\0')
            return rowsync_error_set(err, ROWSYNC_EINVAL,
                                     "node %s: %s must be a number of seconds",
                                     cfg->node,
                                     ltmo ? "login_timeout" : "connect_timeout");
    }
    if (lockt != NULL && (strtol(lockt, &end, 10) < 0 || *end != '\0'))
        return rowsync_error_set(err, ROWSYNC_EINVAL,
                                 "node %s: lock_timeout must be milliseconds",
                                 cfg->node);
    if (schema != NULL && mss_quote_ident(schema, NULL, 0) < 0)
        return rowsync_error_set(err, ROWSYNC_EINVAL,
                                 "node %s: schema '%s' is not a valid name",
                                 cfg->node, schema);
    c = calloc(1, sizeof *c);
    if (c == NULL)
        return mss_oom(err);
    if (inst != NULL && inst[0] != '\0')
        snprintf(where, sizeof where, "%s\\%s", host, inst);
    else
        snprintf(where, sizeof where, "%s:%s", host, port);
    c->server = mss_strdup(where);
    if (db != NULL)
        snprintf(where + strlen(where), sizeof where - strlen(where),
                 " (database %s%s%s)", db, user ? ", user " : "",
                 user ? user : "");
    c->where = mss_strdup(where);
    c->node = mss_strdup(cfg->node ? cfg->node : "?");
    c->schema = mss_strdup(schema ? schema : "rowsync");
    c->login = dblogin();
    if (c->server == NULL || c->where == NULL || c->node == NULL ||
        c->schema == NULL || c->login == NULL) {
        mss_disconnect(c);
        return mss_oom(err);
    }
    DBSETLAPP(c->login, "rowsync");
    DBSETLCHARSET(c->login, "UTF-8");
    dbsetlversion(c->login, version);
    if (user != NULL)
        DBSETLUSER(c->login, user);
    if (cfg->password != NULL)
        DBSETLPWD(c->login, cfg->password);
    if (db != NULL)
        DBSETLDBNAME(c->login, db);
    /* FreeTDS 1.3 db-lib: a boolean. TRUE = require, FALSE = off; not
     * calling it keeps FreeTDS's default (freetds.conf, else request). */
    if (enc != NULL && strcmp(enc, "off") == 0)
        DBSETLENCRYPT(c->login, FALSE);
    else if (enc != NULL && strcmp(enc, "require") == 0)
        DBSETLENCRYPT(c->login, TRUE);
    dbsetlogintime(timeout);
    rowsync_buf_puts(&b, "SET NOCOUNT ON; SET XACT_ABORT ON; SET ANSI_NULLS ON;"
                     " SET ANSI_WARNINGS ON; SET ANSI_PADDING ON;"
                     " SET QUOTED_IDENTIFIER ON; SET CONCAT_NULL_YIELDS_NULL"
                     " ON; SET ARITHABORT ON; SET DATEFORMAT ymd;"
                     " SET TEXTSIZE 2147483647;");
    if (lockt != NULL)
        rowsync_buf_printf(&b, " SET LOCK_TIMEOUT %ld;", strtol(lockt, NULL, 10));
    if (b.oom) {
        rowsync_buf_free(&b);
        mss_disconnect(c);
        return mss_oom(err);
    }
    c->session_sql = b.p;
    c->db = mss_open_db(c, &c->diag, err);
    if (c->db == NULL) {
        mss_disconnect(c);
        return err ? err->code : ROWSYNC_ECONN;
    }
    /* the default schema, for names without one */
    mss_diag_clear(&c->diag);
    if (dbcmd(c->db, "SELECT SCHEMA_NAME()") == SUCCEED &&
        dbsqlexec(c->db) == SUCCEED &&
        mss_next_result(c, c->db, NULL, "schema") == 1 &&
        dbnextrow(c->db) == REG_ROW) {
        char s[4 * MSS_NAME_MAX + 1];
        int isnull;
        mss_col_str(c->db, 1, s, sizeof s, &isnull);
        c->default_schema = mss_strdup(isnull ? "dbo" : s);
    }
    dbcancel(c->db);
    if (c->default_schema == NULL)
        c->default_schema = mss_strdup("dbo");
    *out = c;
    return 0;
}

/* ---- describe and targets -------------------------------------------- */

typedef struct mss_coldesc {
    char name[4 * MSS_NAME_MAX + 1];
    char type[64];
    char collation[130];
    int max_length, precision, scale, nullable, identity, key;
} mss_coldesc_t;

typedef int (*mss_col_cb)(void *ctx, const mss_coldesc_t *cd,
                          const char *schema, const char *table);

/* Runs the catalog query for table and calls cb per column. ENOTFOUND
 * when the table does not exist. */
static int mss_catalog(rowsync_conn_t *c, const char *table, mss_col_cb cb,
                       void *ctx, rowsync_error_t *err)
{
    rowsync_buf_t q = {0};
    mss_param_t p = {"t", table, strlen(table), 0, 0};
    int rc, n = 0;

    mss_sql_describe(&q);
    if (q.oom)
        return mss_oom(err);
    rc = mss_rpc(c, c->db, q.p, "@t nvarchar(max)", &p, 1, err, "describe");
    rowsync_buf_free(&q);
    if (rc < 0)
        return rc;
    rc = mss_next_result(c, c->db, err, "describe");
    if (rc < 0)
        return rc;
    if (rc == 1) {
        STATUS st;
        while ((st = dbnextrow(c->db)) == REG_ROW) {
            mss_coldesc_t cd;
            char schema[4 * MSS_NAME_MAX + 1], name[4 * MSS_NAME_MAX + 1];
            int isnull;
            memset(&cd, 0, sizeof cd);
            mss_col_str(c->db, 1, cd.name, sizeof cd.name, &isnull);
            mss_col_str(c->db, 2, cd.type, sizeof cd.type, &isnull);
            cd.max_length = (int)mss_col_int(c->db, 3);
            cd.precision = (int)mss_col_int(c->db, 4);
            cd.scale = (int)mss_col_int(c->db, 5);
            mss_col_str(c->db, 6, cd.collation, sizeof cd.collation, &isnull);
            cd.nullable = (int)mss_col_int(c->db, 7);
            cd.identity = (int)mss_col_int(c->db, 8);
            cd.key = (int)mss_col_int(c->db, 9);
            mss_col_str(c->db, 10, schema, sizeof schema, &isnull);
            mss_col_str(c->db, 11, name, sizeof name, &isnull);
            n++;
            if (cb(ctx, &cd, schema, name) != 0) {
                dbcancel(c->db);
                return mss_oom(err);
            }
        }
        if (st == FAIL)
            return mss_fail(c, c->db, err, "describe");
    }
    rc = mss_drain(c, c->db, err, "describe");
    if (rc < 0)
        return rc;
    if (n == 0)
        return rowsync_error_set(err, ROWSYNC_ENOTFOUND,
                                 "table %s not found on node %s (SQL Server"
                                 " %s)",
                                 table, c->node, c->where);
    return 0;
}

typedef struct mss_desc_ctx {
    rowsync_conn_t *c;
    size_t cap;
    int oom;
} mss_desc_ctx_t;

static char *mss_keep(rowsync_conn_t *c, const char *s)
{
    char **n = realloc(c->desc_strings,
                       (c->desc_nstrings + 1) * sizeof *c->desc_strings);
    char *copy;

    if (n == NULL)
        return NULL;
    c->desc_strings = n;
    copy = mss_strdup(s);
    if (copy != NULL)
        c->desc_strings[c->desc_nstrings++] = copy;
    return copy;
}

static int mss_desc_cb(void *ctx, const mss_coldesc_t *cd, const char *schema,
                       const char *table)
{
    mss_desc_ctx_t *x = ctx;
    rowsync_conn_t *c = x->c;
    rowsync_column_t *col;
    rowsync_type_t t = mss_core_type(cd->type);

    if (t == ROWSYNC_TYPE_NULL)
        return 0; /* not carried: left out like a computed column */
    if (c->desc_name == NULL) {
        rowsync_buf_t b = {0};
        rowsync_buf_printf(&b, "%s.%s", schema, table);
        if (b.oom)
            return -1;
        c->desc_name = b.p;
    }
    if (c->desc_n == x->cap) {
        size_t cap = x->cap ? x->cap * 2 : 16;
        rowsync_column_t *n = realloc(c->desc_cols, cap * sizeof *n);
        if (n == NULL)
            return -1;
        c->desc_cols = n;
        x->cap = cap;
    }
    col = &c->desc_cols[c->desc_n];
    col->name = mss_keep(c, cd->name);
    col->native_type = mss_keep(c, cd->type);
    if (col->name == NULL || col->native_type == NULL)
        return -1;
    col->type = t;
    col->nullable = cd->nullable;
    col->key_position = cd->key;
    c->desc_n++;
    return 0;
}

static int mss_describe(rowsync_conn_t *c, const char *table,
                        const rowsync_table_info_t **out, rowsync_error_t *err)
{
    mss_desc_ctx_t x = {c, 0, 0};
    int rc;

    mss_free_desc(c);
    rc = mss_catalog(c, table, mss_desc_cb, &x, err);
    if (rc < 0) {
        mss_free_desc(c);
        return rc;
    }
    c->desc.name = c->desc_name;
    c->desc.ncolumns = c->desc_n;
    c->desc.columns = c->desc_cols;
    *out = &c->desc;
    return 0;
}

/* The columns of a target as the catalog gives them, in catalog order. */
typedef struct mss_tcat {
    mss_coldesc_t *cols;
    size_t n, cap;
    char schema[4 * MSS_NAME_MAX + 1], table[4 * MSS_NAME_MAX + 1];
} mss_tcat_t;

static int mss_tcat_cb(void *ctx, const mss_coldesc_t *cd, const char *schema,
                       const char *table)
{
    mss_tcat_t *t = ctx;

    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        mss_coldesc_t *n = realloc(t->cols, cap * sizeof *n);
        if (n == NULL)
            return -1;
        t->cols = n;
        t->cap = cap;
    }
    t->cols[t->n++] = *cd;
    snprintf(t->schema, sizeof t->schema, "%s", schema);
    snprintf(t->table, sizeof t->table, "%s", table);
    return 0;
}

static void mss_target_obj(rowsync_conn_t *c, mss_target_t *t)
{
    t->obj.rs_schema = c->schema;
    t->obj.schema = t->schema;
    t->obj.table = t->table;
    t->obj.hist = t->hist;
    t->obj.ncols = t->ncols;
    t->obj.nkeys = t->nkeys;
    t->obj.cols = (const char *const *)t->cols;
    t->obj.decl = (const char *const *)t->decl;
    t->obj.native = (const char *const *)t->native;
    t->obj.identity = t->identity;
    t->obj.insert_only = t->insert_only;
}

/* The target for spec (table and column list) and its insert-only
 * flags (may be NULL), from the cache or built from the catalog.
 * Borrowed; valid until disconnect. */
static int mss_target_io(rowsync_conn_t *c, const rowsync_table_spec_t *spec,
                         const unsigned char *insert_only, mss_target_t **out,
                         rowsync_error_t *err)
{
    rowsync_buf_t sig = {0};
    mss_tcat_t cat;
    mss_target_t *t;
    size_t i, j;
    char hist[4 * MSS_NAME_MAX + 16];
    int rc;

    rowsync_buf_puts(&sig, spec->table);
    for (i = 0; i < spec->ncolumns; i++) {
        rowsync_buf_add(&sig, insert_only && insert_only[i] ? "\n+" : "\n",
                        insert_only && insert_only[i] ? 2 : 1);
        rowsync_buf_puts(&sig, spec->columns[i]);
    }
    if (sig.oom)
        return mss_oom(err);
    for (t = c->targets; t; t = t->next)
        if (strcmp(t->sig, sig.p) == 0 && t->nkeys == spec->nkeys) {
            rowsync_buf_free(&sig);
            *out = t;
            return 0;
        }
    memset(&cat, 0, sizeof cat);
    rc = mss_catalog(c, spec->table, mss_tcat_cb, &cat, err);
    if (rc < 0) {
        free(cat.cols);
        rowsync_buf_free(&sig);
        return rc;
    }
    t = calloc(1, sizeof *t);
    if (t == NULL)
        goto oom;
    t->sig = sig.p;
    sig.p = NULL;
    t->ncols = spec->ncolumns;
    t->nkeys = spec->nkeys;
    t->cols = calloc(t->ncols, sizeof *t->cols);
    t->decl = calloc(t->ncols, sizeof *t->decl);
    t->native = calloc(t->ncols, sizeof *t->native);
    t->identity = calloc(t->ncols, 1);
    if (insert_only != NULL && t->ncols > 0 &&
        (t->insert_only = malloc(t->ncols)) != NULL)
        memcpy(t->insert_only, insert_only, t->ncols);
    t->schema = mss_strdup(cat.schema);
    t->table = mss_strdup(cat.table);
    mss_hist_name(cat.schema, cat.table, hist, sizeof hist);
    t->hist = mss_strdup(hist);
    t->next = c->targets;
    c->targets = t; /* freed with the others from here on */
    if (t->cols == NULL || t->decl == NULL || t->native == NULL ||
        t->identity == NULL || t->schema == NULL || t->table == NULL ||
        t->hist == NULL ||
        (insert_only != NULL && t->ncols > 0 && t->insert_only == NULL))
        goto oom;
    for (i = 0; i < spec->ncolumns; i++) {
        const mss_coldesc_t *cd = NULL;
        rowsync_buf_t d = {0};
        for (j = 0; j < cat.n && cd == NULL; j++)
            if (strcmp(cat.cols[j].name, spec->columns[i]) == 0)
                cd = &cat.cols[j];
        for (j = 0; j < cat.n && cd == NULL; j++)
            if (strcasecmp(cat.cols[j].name, spec->columns[i]) == 0)
                cd = &cat.cols[j];
        if (cd == NULL) {
            free(cat.cols);
            c->targets = t->next;
            t->next = NULL;
            {
                mss_target_t *save = c->targets;
                c->targets = t;
                mss_free_targets(c);
                c->targets = save;
            }
            return rowsync_error_set(err, ROWSYNC_ENOTFOUND,
                                     "column %s not found in table %s on node"
                                     " %s",
                                     spec->columns[i], spec->table, c->node);
        }
        mss_type_decl(&d, cd->type, cd->max_length, cd->precision, cd->scale,
                      cd->collation);
        if (d.oom)
            goto oom;
        t->decl[i] = d.p;
        t->cols[i] = mss_strdup(cd->name);
        t->native[i] = mss_strdup(cd->type);
        t->identity[i] = (unsigned char)cd->identity;
        if (t->cols[i] == NULL || t->native[i] == NULL)
            goto oom;
    }
    free(cat.cols);
    t->stage_no = ++c->stage_no;
    mss_target_obj(c, t);
    *out = t;
    return 0;
oom:
    free(cat.cols);
    rowsync_buf_free(&sig);
    return mss_oom(err);
}

/* The target for spec with every column updated (capture, streams). */
static int mss_target(rowsync_conn_t *c, const rowsync_table_spec_t *spec,
                      mss_target_t **out, rowsync_error_t *err)
{
    return mss_target_io(c, spec, NULL, out, err);
}

/* ---- capture ---------------------------------------------------------- */

static int mss_quote(const char *ident, char *buf, size_t len)
{
    return mss_quote_ident(ident, buf, len);
}

static int mss_clock(rowsync_conn_t *c, int64_t *now_us, rowsync_error_t *err)
{
    int rc;

    mss_diag_clear(&c->diag);
    if (dbcmd(c->db, "SELECT " MSS_NOW_US) == FAIL ||
        dbsqlexec(c->db) == FAIL) {
        dbcancel(c->db);
        return mss_fail(c, c->db, err, "reading the clock");
    }
    rc = mss_next_result(c, c->db, err, "reading the clock");
    if (rc < 0)
        return rc;
    if (rc == 0 || dbnextrow(c->db) != REG_ROW) {
        dbcancel(c->db);
        return mss_fail(c, c->db, err, "reading the clock");
    }
    *now_us = mss_col_int(c->db, 1);
    return mss_drain(c, c->db, err, "reading the clock");
}

static int mss_ensure_state(rowsync_conn_t *c, rowsync_error_t *err)
{
    rowsync_buf_t b = {0};
    int rc;

    mss_sql_schema(&b, c->schema);
    mss_sql_state_ddl(&b, c->schema);
    if (b.oom)
        return mss_oom(err);
    rc = mss_exec(c, b.p, err, "creating rowsync's state tables");
    rowsync_buf_free(&b);
    return rc;
}

/* Runs one text built by fn for target t as a language batch. */
static int mss_run_obj(rowsync_conn_t *c, const mss_obj_t *o,
                       void (*fn)(rowsync_buf_t *, const mss_obj_t *),
                       rowsync_error_t *err, const char *what)
{
    rowsync_buf_t b = {0};
    int rc;

    fn(&b, o);
    if (b.oom)
        return mss_oom(err);
    rc = mss_exec(c, b.p, err, what);
    rowsync_buf_free(&b);
    if (rc < 0)
        rowsync_error_prefix(err, "table %s.%s", o->schema, o->table);
    return rc;
}

/* Runs the one-row, one-integer query built by fn for o into *out. */
static int mss_query_obj_int(rowsync_conn_t *c, const mss_obj_t *o,
                             void (*fn)(rowsync_buf_t *, const mss_obj_t *),
                             int64_t *out, rowsync_error_t *err,
                             const char *what)
{
    rowsync_buf_t b = {0};
    int rc;

    fn(&b, o);
    if (b.oom)
        return mss_oom(err);
    mss_diag_clear(&c->diag);
    if (dbcmd(c->db, b.p) == FAIL || dbsqlexec(c->db) == FAIL) {
        rowsync_buf_free(&b);
        dbcancel(c->db);
        return mss_fail(c, c->db, err, what);
    }
    rowsync_buf_free(&b);
    rc = mss_next_result(c, c->db, err, what);
    if (rc < 0)
        return rc;
    if (rc == 0 || dbnextrow(c->db) != REG_ROW) {
        dbcancel(c->db);
        return mss_fail(c, c->db, err, what);
    }
    *out = mss_col_int(c->db, 1);
    return mss_drain(c, c->db, err, what);
}

/* History table (cols added to an older one), then the trigger. When the
 * old trigger was built for another column list, the pending masks are
 * forgotten after the new trigger is in place, so that none written by
 * the old one survives. */
static int mss_capture_install(rowsync_conn_t *c,
                               const rowsync_table_spec_t *spec,
                               rowsync_error_t *err)
{
    mss_target_t *t;
    int64_t stale = 0;
    int rc;

    if ((rc = mss_target(c, spec, &t, err)) < 0)
        return rc;
    if ((rc = mss_ensure_state(c, err)) < 0)
        return rc;
    if ((rc = mss_run_obj(c, &t->obj, mss_sql_history_ddl, err,
                          "creating the history table")) < 0)
        return rc;
    if ((rc = mss_query_obj_int(c, &t->obj, mss_sql_cols_stale, &stale, err,
                                "reading the capture trigger")) < 0)
        return rc;
    if ((rc = mss_run_obj(c, &t->obj, mss_sql_trigger, err,
                          "creating the capture trigger")) < 0)
        return rc;
    if (stale)
        rc = mss_run_obj(c, &t->obj, mss_sql_cols_forget, err,
                         "forgetting the pending column masks");
    return rc;
}

/* The object names for a table that may no longer exist: schema from
 * the name (else the default schema), history table derived. */
static int mss_names(rowsync_conn_t *c, const char *table, char *schema,
                     char *name, char *hist, rowsync_error_t *err)
{
    if (mss_split_name(table, schema, 4 * MSS_NAME_MAX + 1, name,
                       4 * MSS_NAME_MAX + 1) < 0)
        return rowsync_error_set(err, ROWSYNC_EINVAL,
                                 "table name '%s' is not valid for SQL Server",
                                 table);
    if (schema[0] == '\0')
        snprintf(schema, 4 * MSS_NAME_MAX + 1, "%s", c->default_schema);
    mss_hist_name(schema, name, hist, 4 * MSS_NAME_MAX + 16);
    return 0;
}

/* mss_names, and o naming those objects alone (no columns): what the
 * statements that need only the table's and history's names take. */
static int mss_names_obj(rowsync_conn_t *c, const char *table, char *schema,
                         char *name, char *hist, mss_obj_t *o,
                         rowsync_error_t *err)
{
    int rc = mss_names(c, table, schema, name, hist, err);

    if (rc < 0)
        return rc;
    memset(o, 0, sizeof *o);
    o->rs_schema = c->schema;
    o->schema = schema;
    o->table = name;
    o->hist = hist;
    return 0;
}

/* Runs a query returning one integer. */
static int mss_query_int(rowsync_conn_t *c, const char *sql, int64_t *out,
                         rowsync_error_t *err, const char *what)
{
    int rc;

    *out = 0;
    mss_diag_clear(&c->diag);
    if (dbcmd(c->db, sql) == FAIL || dbsqlexec(c->db) == FAIL) {
        dbcancel(c->db);
        return mss_fail(c, c->db, err, what);
    }
    rc = mss_next_result(c, c->db, err, what);
    if (rc < 0)
        return rc;
    if (rc == 1 && dbnextrow(c->db) == REG_ROW)
        *out = mss_col_int(c->db, 1);
    return mss_drain(c, c->db, err, what);
}

static int mss_capture_status(rowsync_conn_t *c,
                              const rowsync_table_spec_t *spec, int *installed,
                              rowsync_error_t *err)
{
    char schema[4 * MSS_NAME_MAX + 1], name[4 * MSS_NAME_MAX + 1];
    char hist[4 * MSS_NAME_MAX + 16], trig[4 * MSS_NAME_MAX + 16];
    rowsync_buf_t b = {0}, q = {0};
    int64_t v;
    int rc;

    if ((rc = mss_names(c, spec->table, schema, name, hist, err)) < 0)
        return rc;
    mss_trigger_name(name, trig, sizeof trig);
    rowsync_buf_puts(&b, "SELECT CASE WHEN OBJECT_ID(");
    mss_buf_ident(&q, schema);
    rowsync_buf_puts(&q, ".");
    mss_buf_ident(&q, trig);
    mss_buf_literal(&b, q.oom ? "" : q.p);
    q.len = 0;
    rowsync_buf_puts(&b, ", N'TR') IS NOT NULL AND OBJECT_ID(");
    mss_buf_ident(&q, c->schema);
    rowsync_buf_puts(&q, ".");
    mss_buf_ident(&q, hist);
    mss_buf_literal(&b, q.oom ? "" : q.p);
    rowsync_buf_puts(&b, ", N'U') IS NOT NULL THEN 1 ELSE 0 END");
    if (b.oom || q.oom) {
        rowsync_buf_free(&b);
        rowsync_buf_free(&q);
        return mss_oom(err);
    }
    rc = mss_query_int(c, b.p, &v, err, "checking capture");
    rowsync_buf_free(&b);
    rowsync_buf_free(&q);
    if (rc == 0)
        *installed = v == 1;
    return rc;
}

static int mss_capture_remove(rowsync_conn_t *c,
                              const rowsync_table_spec_t *spec,
                              rowsync_error_t *err)
{
    char schema[4 * MSS_NAME_MAX + 1], name[4 * MSS_NAME_MAX + 1];
    char hist[4 * MSS_NAME_MAX + 16];
    mss_obj_t o;
    int rc;

    if ((rc = mss_names_obj(c, spec->table, schema, name, hist, &o, err)) < 0)
        return rc;
    mss_free_targets(c); /* cached stage/target data may go stale */
    return mss_run_obj(c, &o, mss_sql_teardown, err, "removing capture");
}

/* history_clear and history_count: one statement on the history table,
 * which may be missing (nothing to clear, 0 rows). */
static int mss_history_stmt(rowsync_conn_t *c, const rowsync_table_spec_t *spec,
                            int count, int64_t *rows, rowsync_error_t *err)
{
    char schema[4 * MSS_NAME_MAX + 1], name[4 * MSS_NAME_MAX + 1];
    char hist[4 * MSS_NAME_MAX + 16];
    rowsync_buf_t b = {0}, q = {0};
    int64_t v = 0;
    int rc;

    if ((rc = mss_names(c, spec->table, schema, name, hist, err)) < 0)
        return rc;
    mss_buf_ident(&q, c->schema);
    rowsync_buf_puts(&q, ".");
    mss_buf_ident(&q, hist);
    if (q.oom)
        return mss_oom(err);
    rowsync_buf_puts(&b, "IF OBJECT_ID(");
    mss_buf_literal(&b, q.p);
    if (count)
        rowsync_buf_printf(&b, ", N'U') IS NULL SELECT CONVERT(bigint, 0) ELSE"
                           " SELECT COUNT_BIG(*) FROM %s",
                       q.p);
    else
        rowsync_buf_printf(&b, ", N'U') IS NOT NULL DELETE FROM %s", q.p);
    if (b.oom) {
        rowsync_buf_free(&b);
        rowsync_buf_free(&q);
        return mss_oom(err);
    }
    if (count)
        rc = mss_query_int(c, b.p, &v, err, "counting history");
    else
        rc = mss_exec(c, b.p, err, "clearing history");
    rowsync_buf_free(&b);
    rowsync_buf_free(&q);
    if (rc == 0 && rows != NULL)
        *rows = v;
    return rc;
}

static int mss_history_clear(rowsync_conn_t *c,
                             const rowsync_table_spec_t *spec,
                             rowsync_error_t *err)
{
    return mss_history_stmt(c, spec, 0, NULL, err);
}

static int mss_history_count(rowsync_conn_t *c,
                             const rowsync_table_spec_t *spec, int64_t *rows,
                             rowsync_error_t *err)
{
    return mss_history_stmt(c, spec, 1, rows, err);
}

static int mss_state_remove(rowsync_conn_t *c, rowsync_error_t *err)
{
    rowsync_buf_t b = {0};
    int rc;

    mss_sql_state_remove(&b, c->schema);
    if (b.oom)
        return mss_oom(err);
    rc = mss_exec(c, b.p, err, "removing rowsync's state tables");
    rowsync_buf_free(&b);
    return rc;
}

/* ---- locks and state -------------------------------------------------- */

/* Runs an RPC whose first result row's first column is an integer. */
static int mss_rpc_int(rowsync_conn_t *c, const char *sql, const char *decls,
                       const mss_param_t *p, size_t n, int64_t *out,
                       rowsync_error_t *err, const char *what)
{
    int rc = mss_rpc(c, c->db, sql, decls, p, n, err, what);

    *out = 0;
    if (rc < 0)
        return rc;
    rc = mss_next_result(c, c->db, err, what);
    if (rc < 0)
        return rc;
    if (rc == 1 && dbnextrow(c->db) == REG_ROW)
        *out = mss_col_int(c->db, 1);
    return mss_drain(c, c->db, err, what);
}

/* Deletes the history rows every cursor consumes, stamped before
 * before_us. A SQL Server cursor is the first rowversion not consumed, so
 * the rows to go have rv below the smallest cursor; an empty cursor (or
 * none) consumes nothing. The batch (mss_sql_purge) deletes in chunks,
 * each its own autocommitted statement, so it refuses to run inside the
 * apply transaction. */
static int mss_history_purge(rowsync_conn_t *c,
                             const rowsync_table_spec_t *spec,
                             const char *const *cursors, size_t ncursors,
                             int64_t before_us, int64_t *purged,
                             rowsync_error_t *err)
{
    char schema[4 * MSS_NAME_MAX + 1], name[4 * MSS_NAME_MAX + 1];
    char hist[4 * MSS_NAME_MAX + 16], t1[24], t2[24];
    uint64_t upto = UINT64_MAX, v;
    rowsync_buf_t b = {0};
    mss_param_t p[2];
    int64_t n = 0;
    mss_obj_t o;
    size_t i;
    int rc, empty = ncursors == 0;

    if (purged != NULL)
        *purged = 0;
    if (spec == NULL || spec->table == NULL)
        return rowsync_error_set(err, ROWSYNC_EINVAL, "no table spec");
    if (c->in_txn)
        return rowsync_error_set(err, ROWSYNC_EINVAL,
                                 "node %s: history_purge inside the apply"
                                 " transaction",
                                 c->node);
    for (i = 0; i < ncursors; i++) {
        const char *cur = cursors != NULL ? cursors[i] : NULL;
        if (cur == NULL || cur[0] == '\0') {
            empty = 1;
            continue;
        }
        if (mss_cursor_parse(cur, &v) < 0)
            return rowsync_error_set(err, ROWSYNC_EINVAL,
                                     "table %s on node %s: cursor '%.60s' is"
                                     " not a SQL Server driver cursor;"
                                     " history not purged",
                                     spec->table, c->node, cur);
        if (v < upto)
            upto = v;
    }
    if (empty || upto == 0)
        return 0;
    if ((rc = mss_names_obj(c, spec->table, schema, name, hist, &o, err)) < 0)
        return rc;
    mss_sql_purge(&b, &o);
    if (b.oom)
        return mss_oom(err);
    snprintf(t1, sizeof t1, "%" PRIu64, upto);
    snprintf(t2, sizeof t2, "%" PRId64, before_us);
    p[0] = (mss_param_t){"upto", t1, strlen(t1), 0, 0};
    p[1] = (mss_param_t){"before", t2, strlen(t2), 0, 0};
    rc = mss_rpc_int(c, b.p, "@upto nvarchar(max), @before nvarchar(max)", p, 2,
                     &n, err, "purging history");
    rowsync_buf_free(&b);
    if (rc < 0) {
        rowsync_error_prefix(err, "table %s", spec->table);
        return rc;
    }
    if (n < 0)
        return rowsync_error_set(err, ROWSYNC_ENOTFOUND,
                                 "change capture is not installed for table"
                                 " %s on node %s; run `rowsync init`",
                                 spec->table, c->node);
    if (purged != NULL)
        *purged = n;
    return 0;
}

static int mss_lock(rowsync_conn_t *c, const char *name, int timeout_ms,
                    rowsync_error_t *err)
{
    rowsync_buf_t b = {0};
    char ms[24];
    mss_param_t p[2];
    int64_t status;
    int rc;

    snprintf(ms, sizeof ms, "%d", timeout_ms < 0 ? 0 : timeout_ms);
    p[0] = (mss_param_t){"name", name, strlen(name), 0, 0};
    p[1] = (mss_param_t){"ms", ms, strlen(ms), 0, 0};
    mss_sql_lock(&b);
    if (b.oom)
        return mss_oom(err);
    rc = mss_rpc_int(c, b.p, "@name nvarchar(max), @ms nvarchar(max)", p, 2,
                     &status, err, "taking the lock");
    rowsync_buf_free(&b);
    if (rc < 0)
        return rc;
    if (status >= 0)
        return 0;
    if (status == -1 || status == -2 || status == -3)
        return rowsync_error_set(err, ROWSYNC_ELOCKED,
                                 "lock '%s' on node %s is held by another"
                                 " session (waited %d ms; sp_getapplock"
                                 " status %" PRId64 ")",
                                 name, c->node, timeout_ms, status);
    return rowsync_error_set(err, ROWSYNC_ERROR,
                             "sp_getapplock for '%s' on node %s failed"
                             " (status %" PRId64 ")",
                             name, c->node, status);
}

static int mss_unlock(rowsync_conn_t *c, const char *name,
                      rowsync_error_t *err)
{
    rowsync_buf_t b = {0};
    mss_param_t p = {"name", name, strlen(name), 0, 0};
    int64_t status;
    int rc;

    mss_sql_unlock(&b);
    if (b.oom)
        return mss_oom(err);
    rc = mss_rpc_int(c, b.p, "@name nvarchar(max)", &p, 1, &status, err,
                     "releasing the lock");
    rowsync_buf_free(&b);
    return rc;
}

static int mss_state_get(rowsync_conn_t *c, const char *key, char *buf,
                         size_t len, int64_t *updated_us, rowsync_error_t *err)
{
    rowsync_buf_t b = {0};
    mss_param_t p = {"k", key, strlen(key), 0, 0};
    int rc, isnull;

    if (len > 0)
        buf[0] = '\0';
    if (updated_us)
        *updated_us = 0;
    mss_sql_state_get(&b, c->schema);
    if (b.oom)
        return mss_oom(err);
    rc = mss_rpc(c, c->db, b.p, "@k nvarchar(max)", &p, 1, err,
                 "reading state");
    rowsync_buf_free(&b);
    if (rc < 0)
        return rc;
    rc = mss_next_result(c, c->db, err, "reading state");
    if (rc < 0)
        return rc;
    if (rc == 1 && dbnextrow(c->db) == REG_ROW) {
        mss_col_str(c->db, 1, buf, len, &isnull);
        if (updated_us)
            *updated_us = mss_col_int(c->db, 2);
    }
    return mss_drain(c, c->db, err, "reading state");
}

static int mss_need_txn(rowsync_conn_t *c, rowsync_error_t *err,
                        const char *what)
{
    if (!c->in_txn)
        return rowsync_error_set(err, ROWSYNC_EINVAL,
                                 "%s on node %s outside the apply transaction",
                                 what, c->node);
    return 0;
}

static int mss_state_set(rowsync_conn_t *c, const char *key, const char *value,
                         rowsync_error_t *err)
{
    rowsync_buf_t b = {0};
    mss_param_t p[2];
    int rc;

    if ((rc = mss_need_txn(c, err, "state_set")) < 0)
        return rc;
    p[0] = (mss_param_t){"k", key, strlen(key), 0, 0};
    p[1] = (mss_param_t){"v", value, strlen(value), 0, 0};
    mss_sql_state_set(&b, c->schema);
    if (b.oom)
        return mss_oom(err);
    rc = mss_rpc(c, c->db, b.p, "@k nvarchar(max), @v nvarchar(max)", p, 2,
                 err, "writing state");
    if (rc == 0)
        rc = mss_drain(c, c->db, err, "writing state");
    rowsync_buf_free(&b);
    if (rc < 0)
        c->txn_failed = 1;
    return rc;
}

/* A text parameter; NULL text is a NULL parameter. */
static void mss_text_param(mss_param_t *p, const char *name, const char *s)
{
    p->name = name;
    p->data = s ? s : "";
    p->len = s ? strlen(s) : 0;
    p->null = s == NULL;
    p->binary = 0;
}

static int mss_conflict_log(rowsync_conn_t *c, const rowsync_conflict_t *k,
                            rowsync_error_t *err)
{
    rowsync_buf_t b = {0};
    mss_param_t p[9];
    char d[24], wt[24], lt[24];
    int rc;

    if ((rc = mss_need_txn(c, err, "conflict_log")) < 0)
        return rc;
    snprintf(d, sizeof d, "%" PRId64, k->decided_us);
    snprintf(wt, sizeof wt, "%" PRId64, k->winner_time_us);
    snprintf(lt, sizeof lt, "%" PRId64, k->loser_time_us);
    mss_text_param(&p[0], "d", d);
    mss_text_param(&p[1], "tb", k->table);
    mss_text_param(&p[2], "k", k->key);
    mss_text_param(&p[3], "r", k->rule);
    mss_text_param(&p[4], "w", k->winner);
    mss_text_param(&p[5], "l", k->loser);
    mss_text_param(&p[6], "wt", wt);
    mss_text_param(&p[7], "lt", lt);
    mss_text_param(&p[8], "n", k->note);
    mss_sql_conflict_insert(&b, c->schema);
    if (b.oom)
        return mss_oom(err);
    rc = mss_rpc(c, c->db, b.p,
                 "@d nvarchar(max), @tb nvarchar(max), @k nvarchar(max),"
                 " @r nvarchar(max), @w nvarchar(max), @l nvarchar(max),"
                 " @wt nvarchar(max), @lt nvarchar(max), @n nvarchar(max)",
                 p, 9, err, "journaling a conflict");
    if (rc == 0)
        rc = mss_drain(c, c->db, err, "journaling a conflict");
    rowsync_buf_free(&b);
    if (rc < 0)
        c->txn_failed = 1;
    return rc;
}

static int mss_conflicts_read(rowsync_conn_t *c, size_t limit,
                              rowsync_conflict_cb cb, void *ctx,
                              rowsync_error_t *err)
{
    rowsync_buf_t b = {0};
    char lim[24];
    mss_param_t p;
    int rc, stop = 0;

    snprintf(lim, sizeof lim, "%zu", limit);
    p = (mss_param_t){"lim", lim, strlen(lim), 0, 0};
    mss_sql_conflict_read(&b, c->schema);
    if (b.oom)
        return mss_oom(err);
    rc = mss_rpc(c, c->db, b.p, "@lim nvarchar(max)", &p, 1, err,
                 "reading conflicts");
    rowsync_buf_free(&b);
    if (rc < 0)
        return rc;
    rc = mss_next_result(c, c->db, err, "reading conflicts");
    if (rc < 0)
        return rc;
    while (rc == 1 && !stop && dbnextrow(c->db) == REG_ROW) {
        char tb[1024], key[1024], rule[128], w[256], l[256], note[1024];
        rowsync_conflict_t k;
        int nn, isnull;
        k.decided_us = mss_col_int(c->db, 1);
        mss_col_str(c->db, 2, tb, sizeof tb, &isnull);
        mss_col_str(c->db, 3, key, sizeof key, &isnull);
        mss_col_str(c->db, 4, rule, sizeof rule, &isnull);
        mss_col_str(c->db, 5, w, sizeof w, &isnull);
        mss_col_str(c->db, 6, l, sizeof l, &isnull);
        k.winner_time_us = mss_col_int(c->db, 7);
        k.loser_time_us = mss_col_int(c->db, 8);
        mss_col_str(c->db, 9, note, sizeof note, &nn);
        k.table = tb;
        k.key = key;
        k.rule = rule;
        k.winner = w;
        k.loser = l;
        k.note = nn ? NULL : note;
        stop = cb(ctx, &k) != 0;
    }
    if (stop)
        dbcancel(c->db);
    else
        return mss_drain(c, c->db, err, "reading conflicts");
    return 0;
}

static int mss_references(rowsync_conn_t *c, const char *table,
                          int (*cb)(void *ctx, const char *referenced),
                          void *ctx, rowsync_error_t *err)
{
    rowsync_buf_t b = {0};
    mss_param_t p = {"t", table, strlen(table), 0, 0};
    int rc, stop = 0;

    mss_sql_references(&b);
    if (b.oom)
        return mss_oom(err);
    rc = mss_rpc(c, c->db, b.p, "@t nvarchar(max)", &p, 1, err,
                 "reading foreign keys");
    rowsync_buf_free(&b);
    if (rc < 0)
        return rc;
    rc = mss_next_result(c, c->db, err, "reading foreign keys");
    if (rc < 0)
        return rc;
    while (rc == 1 && !stop && dbnextrow(c->db) == REG_ROW) {
        char s[4 * MSS_NAME_MAX + 1], n[4 * MSS_NAME_MAX + 1], full[1100];
        int isnull;
        mss_col_str(c->db, 1, s, sizeof s, &isnull);
        mss_col_str(c->db, 2, n, sizeof n, &isnull);
        snprintf(full, sizeof full, "%s.%s", s, n);
        stop = cb(ctx, full) != 0;
    }
    if (stop) {
        dbcancel(c->db);
        return 0;
    }
    return mss_drain(c, c->db, err, "reading foreign keys");
}

/* ---- streams ---------------------------------------------------------- */

struct rowsync_stream {
    rowsync_conn_t *conn;
    DBPROCESS *db;
    mss_diag_t diag;
    mss_target_t *target;
    int scan, done, returned;
    uint64_t since, end, last; /* extract: window [since, end) */
    int64_t scan_time;
    rowsync_change_t change;
    rowsync_value_t *values;
    char *scratch;
    size_t scratch_cap;
    char origin[256];
    uint64_t changed; /* stream_columns of the last change returned */
};

static void mss_stream_close(rowsync_stream_t *s)
{
    if (s == NULL)
        return;
    if (s->db != NULL) {
        dbcancel(s->db);
        dbclose(s->db);
    }
    free(s->values);
    free(s->scratch);
    free(s);
}

static int mss_stream_new(rowsync_conn_t *c, const rowsync_table_spec_t *spec,
                          rowsync_stream_t **out, rowsync_error_t *err)
{
    rowsync_stream_t *s = calloc(1, sizeof *s);
    int rc;

    if (s == NULL)
        return mss_oom(err);
    s->conn = c;
    s->changed = UINT64_MAX;
    rc = mss_target(c, spec, &s->target, err);
    if (rc < 0) {
        free(s);
        return rc;
    }
    s->values = calloc(spec->ncolumns ? spec->ncolumns : 1, sizeof *s->values);
    if (s->values == NULL) {
        free(s);
        return mss_oom(err);
    }
    s->db = mss_open_db(c, &s->diag, err);
    if (s->db == NULL) {
        mss_stream_close(s);
        return err ? err->code : ROWSYNC_ECONN;
    }
    *out = s;
    return 0;
}

/* Commit order (see docs/drivers/mssql.md, "Commit order").
 *
 * Every history row gets its rowversion (rv) when it is written; rv is
 * database-wide and increasing. MIN_ACTIVE_ROWVERSION() is the lowest rv
 * still used by an open transaction: every row below it is committed (or
 * gone with a rollback) and no new row can appear below it. A stream
 * reads the window since <= rv < bound, bound = min(horizon at open,
 * upto), lowered to one above the newest history row in the window (the
 * same rows; an idle table keeps its cursor).
 *
 * The cursor is one number, "the first rv not consumed". PostgreSQL needs
 * bands because its horizon (xid) and its order (seq) differ; here rv is
 * both: the window's net changes come in order of their latest row's rv,
 * and after the change whose latest row has rv R, every window row with
 * rv <= R is consumed (a row <= R of a key not returned yet has a later
 * row > R still to come, and its net change is the live row anyway). No
 * row <= R can still appear, since R < horizon. So the mid-stream cursor
 * is R + 1, a valid resume point; after the end it is the bound. */
static int mss_extract_open(rowsync_conn_t *c, const rowsync_table_spec_t *spec,
                            const char *since, const char *upto,
                            const char *skip_origin, rowsync_stream_t **out,
                            rowsync_error_t *err)
{
    rowsync_stream_t *s;
    uint64_t since_rv, upto_rv = 0;
    rowsync_buf_t b = {0};
    mss_param_t p[3];
    char t1[24], t2[24];
    int rc;

    if (mss_cursor_parse(since, &since_rv) < 0 ||
        (upto != NULL && mss_cursor_parse(upto, &upto_rv) < 0))
        return rowsync_error_set(err, ROWSYNC_EINVAL,
                                 "node %s: cursor '%s' is not a SQL Server"
                                 " driver cursor",
                                 c->node, since_rv ? upto : since);
    if ((rc = mss_stream_new(c, spec, &s, err)) < 0)
        return rc;
    s->since = since_rv;
    snprintf(t1, sizeof t1, "%" PRIu64, since_rv);
    snprintf(t2, sizeof t2, "%" PRIu64, upto_rv);
    p[0] = (mss_param_t){"since", t1, strlen(t1), 0, 0};
    p[1] = (mss_param_t){"upto", t2, strlen(t2), upto == NULL, 0};
    mss_sql_horizon(&b, &s->target->obj);
    if (b.oom) {
        mss_stream_close(s);
        return mss_oom(err);
    }
    rc = mss_rpc(c, s->db, b.p, "@since nvarchar(max), @upto nvarchar(max)",
                 p, 2, err, "reading the horizon");
    rowsync_buf_free(&b);
    if (rc == 0)
        rc = mss_next_result(c, s->db, err, "reading the horizon");
    if (rc == 1) {
        if (dbnextrow(s->db) == REG_ROW) {
            int64_t bound = mss_col_int(s->db, 1);
            int maxnull = dbdata(s->db, 2) == NULL;
            int64_t newest = mss_col_int(s->db, 2);
            s->end = maxnull ? since_rv : (uint64_t)newest + 1;
            (void)bound;
        } else {
            s->end = since_rv;
        }
        rc = mss_drain(c, s->db, err, "reading the horizon");
    }
    if (rc < 0) {
        mss_stream_close(s);
        return rc;
    }
    if (s->end < since_rv)
        s->end = since_rv;
    s->last = since_rv;
    if (s->end == since_rv) {
        s->done = 1; /* nothing in the window */
        *out = s;
        return 0;
    }
    snprintf(t2, sizeof t2, "%" PRIu64, s->end);
    p[1] = (mss_param_t){"bound", t2, strlen(t2), 0, 0};
    p[2] = (mss_param_t){"skip", skip_origin ? skip_origin : "",
                         skip_origin ? strlen(skip_origin) : 0, 0, 0};
    mss_sql_extract(&b, &s->target->obj, skip_origin != NULL);
    if (b.oom) {
        mss_stream_close(s);
        return mss_oom(err);
    }
    rc = mss_rpc(c, s->db, b.p,
                 skip_origin ? "@since nvarchar(max), @bound nvarchar(max),"
                               " @skip nvarchar(max)"
                             : "@since nvarchar(max), @bound nvarchar(max)",
                 p, skip_origin ? 3 : 2, err, "extracting changes");
    rowsync_buf_free(&b);
    if (rc == 0)
        rc = mss_next_result(c, s->db, err, "extracting changes");
    if (rc < 0) {
        mss_stream_close(s);
        return rc;
    }
    if (rc == 0)
        s->done = 1;
    *out = s;
    return 0;
}

static int mss_scan_open(rowsync_conn_t *c, const rowsync_table_spec_t *spec,
                         const rowsync_value_t *after_key,
                         rowsync_stream_t **out, rowsync_error_t *err)
{
    rowsync_stream_t *s;
    rowsync_buf_t b = {0}, decls = {0};
    mss_param_t *p = NULL;
    char **texts = NULL;
    size_t k, nk = spec->nkeys;
    int rc;

    if ((rc = mss_stream_new(c, spec, &s, err)) < 0)
        return rc;
    s->scan = 1;
    if ((rc = mss_clock(c, &s->scan_time, err)) < 0) {
        mss_stream_close(s);
        return rc;
    }
    if (after_key != NULL) {
        p = calloc(nk, sizeof *p);
        texts = calloc(nk, sizeof *texts);
        if (p == NULL || texts == NULL)
            goto oom;
        for (k = 0; k < nk; k++) {
            size_t n = mss_param_text(&after_key[k], spec->types[k], NULL, 0);
            char *name = malloc(24);
            if (name == NULL)
                goto oom;
            snprintf(name, 24, "a%zu", k + 1);
            p[k].name = name;
            if (after_key[k].type == ROWSYNC_TYPE_BINARY) {
                p[k].data = after_key[k].u.bytes.ptr;
                p[k].len = after_key[k].u.bytes.len;
                p[k].binary = 1;
            } else {
                texts[k] = malloc(n + 1);
                if (texts[k] == NULL)
                    goto oom;
                mss_param_text(&after_key[k], spec->types[k], texts[k], n + 1);
                p[k].data = texts[k];
                p[k].len = n;
            }
            rowsync_buf_printf(&decls, "%s@a%zu %s", k ? ", " : "", k + 1,
                           p[k].binary ? "varbinary(max)" : "nvarchar(max)");
        }
    }
    mss_sql_scan(&b, &s->target->obj, after_key != NULL);
    if (b.oom || decls.oom)
        goto oom;
    rc = mss_rpc(c, s->db, b.p, decls.p ? decls.p : "", p,
                 after_key ? nk : 0, err, "scanning");
    if (rc == 0)
        rc = mss_next_result(c, s->db, err, "scanning");
    if (rc == 0)
        s->done = 1;
    goto out;
oom:
    rc = mss_oom(err);
out:
    for (k = 0; p != NULL && k < nk; k++) {
        free((char *)p[k].name);
        if (texts)
            free(texts[k]);
    }
    free(p);
    free(texts);
    rowsync_buf_free(&b);
    rowsync_buf_free(&decls);
    if (rc < 0) {
        mss_stream_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

/* Does the stream select native[i] in a text form (mss_sql_select_expr)? */
static int mss_is_text_form(const char *native)
{
    static const char *const forms[] = {
        "money", "smallmoney", "decimal", "numeric", "date", "time",
        "datetime", "datetime2", "smalldatetime", "datetimeoffset",
        "uniqueidentifier", NULL};
    size_t i;

    for (i = 0; forms[i]; i++)
        if (strcmp(forms[i], native) == 0)
            return 1;
    return 0;
}

/* Converts column col (1-based) of the current row for spec column i. */
static int mss_read_value(rowsync_stream_t *s, int col, size_t i,
                          rowsync_type_t want, char **scratch,
                          rowsync_error_t *err)
{
    BYTE *data = dbdata(s->db, col);
    size_t len = (size_t)dbdatlen(s->db, col);
    const char *native = s->target->native[i];
    rowsync_value_t *v = &s->values[i];
    int rc;

    if (data == NULL) {
        v->type = ROWSYNC_TYPE_NULL;
        return 0;
    }
    if (mss_is_text_form(native))
        rc = mss_value_from_text(want, native, (const char *)data, len,
                                 *scratch, v, err);
    else
        rc = mss_value_from_native(want, dbcoltype(s->db, col), data, len, v,
                                   err);
    *scratch += len + 2;
    if (rc < 0)
        rowsync_error_prefix(err, "node %s, table %s.%s, column %s",
                             s->conn->node, s->target->schema,
                             s->target->table, s->target->cols[i]);
    return rc;
}

static int mss_stream_next(rowsync_stream_t *s, const rowsync_change_t **out,
                           rowsync_error_t *err)
{
    const rowsync_table_spec_t *spec = NULL;
    STATUS st;
    size_t i, need = 0, ncols = s->target->ncols, nkeys = s->target->nkeys;
    int base, ncol, rc;
    char *scratch;

    (void)spec;
    if (s->done)
        return ROWSYNC_DONE;
    st = dbnextrow(s->db);
    if (st == NO_MORE_ROWS) {
        s->done = 1;
        rc = mss_drain(s->conn, s->db, err, "reading changes");
        return rc < 0 ? rc : ROWSYNC_DONE;
    }
    if (st != REG_ROW)
        return mss_fail(s->conn, s->db, err, "reading changes");
    ncol = dbnumcols(s->db);
    for (i = 1; i <= (size_t)ncol; i++)
        need += (size_t)dbdatlen(s->db, (int)i) + 2;
    if (need > s->scratch_cap) {
        char *n = realloc(s->scratch, need);
        if (n == NULL)
            return mss_oom(err);
        s->scratch = n;
        s->scratch_cap = need;
    }
    scratch = s->scratch;
    s->change.nvalues = ncols;
    s->change.values = s->values;
    if (s->scan) {
        for (i = 0; i < ncols; i++)
            if ((rc = mss_read_value(s, (int)i + 1, i,
                                     mss_core_type(s->target->native[i]),
                                     &scratch, err)) < 0)
                return rc;
        s->change.op = ROWSYNC_OP_INSERT;
        s->change.time_us = s->scan_time;
        s->change.origin = NULL;
        s->changed = UINT64_MAX;
        *out = &s->change;
        return 0;
    }
    /* rv, op, time_us, origin, live, k1..kN, columns, folded mask */
    {
        int mcol = 6 + (int)nkeys + (int)ncols;
        s->changed = UINT64_MAX;
        if (mss_col_int(s->db, 5) != 0 && mss_col_int(s->db, 2) == 2 &&
            dbdata(s->db, mcol) != NULL)
            s->changed = (uint64_t)mss_col_int(s->db, mcol);
    }
    s->last = (uint64_t)mss_col_int(s->db, 1);
    s->returned = 1;
    s->change.time_us = mss_col_int(s->db, 3);
    {
        int isnull;
        mss_col_str(s->db, 4, s->origin, sizeof s->origin, &isnull);
        s->change.origin = isnull ? NULL : s->origin;
    }
    if (mss_col_int(s->db, 5) == 0) {
        s->change.op = ROWSYNC_OP_DELETE;
        for (i = 0; i < ncols; i++)
            s->values[i].type = ROWSYNC_TYPE_NULL;
        for (i = 0; i < nkeys; i++)
            if ((rc = mss_read_value(s, 6 + (int)i, i,
                                     mss_core_type(s->target->native[i]),
                                     &scratch, err)) < 0)
                return rc;
    } else {
        s->change.op = mss_col_int(s->db, 2) == 2 ? ROWSYNC_OP_UPDATE
                                                 : ROWSYNC_OP_INSERT;
        base = 6 + (int)nkeys;
        for (i = 0; i < ncols; i++)
            if ((rc = mss_read_value(s, base + (int)i, i,
                                     mss_core_type(s->target->native[i]),
                                     &scratch, err)) < 0)
                return rc;
    }
    *out = &s->change;
    return 0;
}

/* The columns the change last returned changed (bit i = spec column i):
 * the OR of its updates' masks; every bit for an insert, a delete, a
 * change without a mask (applied, captured before masks) or a scan row. */
static int mss_stream_columns(rowsync_stream_t *s, uint64_t *changed,
                              rowsync_error_t *err)
{
    (void)err;
    *changed = s->changed;
    return 0;
}

static int mss_stream_cursor(rowsync_stream_t *s, char *buf, size_t len,
                             rowsync_error_t *err)
{
    uint64_t at;

    (void)err;
    if (s->scan) {
        if (len > 0)
            buf[0] = '\0';
        return 0;
    }
    if (s->done)
        at = s->end;
    else
        at = s->returned ? s->last + 1 : s->since;
    mss_cursor_format(at, buf, len);
    return 0;
}

/* ---- apply ------------------------------------------------------------ */

static int mss_begin(rowsync_conn_t *c, rowsync_error_t *err)
{
    int rc;

    if (c->in_txn)
        return rowsync_error_set(err, ROWSYNC_EINVAL,
                                 "node %s: a transaction is already open",
                                 c->node);
    if ((rc = mss_ensure_state(c, err)) < 0)
        return rc;
    if ((rc = mss_exec(c, "BEGIN TRANSACTION", err, "begin")) < 0)
        return rc;
    c->in_txn = 1;
    c->txn_failed = 0;
    return 0;
}

/* Stages rows [first, first+n) of changes with one sp_executesql. */
static int mss_stage_rows(rowsync_conn_t *c, mss_target_t *t,
                          const rowsync_table_spec_t *spec,
                          const rowsync_change_t *changes, size_t first,
                          size_t n, rowsync_error_t *err)
{
    size_t per = 3 + t->ncols, np = n * per, r, i, k = 0;
    mss_param_t *p = calloc(np, sizeof *p);
    char *names = malloc(np * 24);
    char **texts = calloc(np, sizeof *texts);
    rowsync_buf_t sql = {0}, decls = {0};
    int rc;

    if (p == NULL || names == NULL || texts == NULL)
        goto oom;
    for (r = 0; r < n; r++) {
        const rowsync_change_t *ch = &changes[first + r];
        char small[32];
        for (i = 0; i < per; i++, k++) {
            char *name = names + k * 24;
            const rowsync_value_t *v = NULL;
            size_t len;
            p[k].name = name;
            if (i == 0) {
                snprintf(name, 24, "o%zu", r);
                snprintf(small, sizeof small, "%d", (int)ch->op);
            } else if (i == 1) {
                snprintf(name, 24, "t%zu", r);
                snprintf(small, sizeof small, "%" PRId64, ch->time_us);
            } else if (i == 2) {
                snprintf(name, 24, "g%zu", r);
                if (ch->origin == NULL) {
                    p[k].null = 1;
                    continue;
                }
                p[k].data = ch->origin;
                p[k].len = strlen(ch->origin);
                continue;
            } else {
                snprintf(name, 24, "v%zu_%zu", r, i - 2);
                v = &ch->values[i - 3];
            }
            if (v == NULL) {
                texts[k] = mss_strdup(small);
                if (texts[k] == NULL)
                    goto oom;
                p[k].data = texts[k];
                p[k].len = strlen(texts[k]);
                continue;
            }
            if (spec->types[i - 3] == ROWSYNC_TYPE_BINARY)
                p[k].binary = 1;
            if (v->type == ROWSYNC_TYPE_NULL ||
                (ch->op == ROWSYNC_OP_DELETE && i - 3 >= t->nkeys)) {
                p[k].null = 1;
                continue;
            }
            if (v->type == ROWSYNC_TYPE_BINARY && p[k].binary) {
                p[k].data = v->u.bytes.ptr;
                p[k].len = v->u.bytes.len;
                continue;
            }
            if (p[k].binary) {
                rc = rowsync_error_set(
                    err, ROWSYNC_ECONVERT,
                    "node %s, table %s, column %s: a %s value cannot go into"
                    " a binary column",
                    c->node, spec->table, t->cols[i - 3],
                    rowsync_type_name(v->type));
                goto out;
            }
            len = mss_param_text(v, spec->types[i - 3], NULL, 0);
            texts[k] = malloc(len + 1);
            if (texts[k] == NULL)
                goto oom;
            mss_param_text(v, spec->types[i - 3], texts[k], len + 1);
            p[k].data = texts[k];
            p[k].len = len;
        }
    }
    mss_sql_stage_insert(&sql, &decls, t->stage_no, &t->obj, spec->types,
                         first, n);
    if (sql.oom || decls.oom)
        goto oom;
    rc = mss_rpc(c, c->db, sql.p, decls.p, p, np, err, "staging changes");
    if (rc == 0)
        rc = mss_drain(c, c->db, err, "staging changes");
    goto out;
oom:
    rc = mss_oom(err);
out:
    for (k = 0; texts != NULL && k < np; k++)
        free(texts[k]);
    free(texts);
    free(names);
    free(p);
    rowsync_buf_free(&sql);
    rowsync_buf_free(&decls);
    return rc;
}

/* Applies a batch: stages it, then deletes, MERGE (whose WHEN MATCHED
 * leaves the columns flagged in insert_only, which may be NULL, alone)
 * and history in one language batch. */
static int mss_apply_insert_only(rowsync_conn_t *c,
                                 const rowsync_table_spec_t *spec,
                                 const unsigned char *insert_only,
                                 const rowsync_change_t *changes, size_t n,
                                 rowsync_error_t *err)
{
    mss_target_t *t;
    rowsync_buf_t b = {0};
    size_t rows, first, i;
    int rc, ident = 0;

    if ((rc = mss_need_txn(c, err, "apply")) < 0)
        return rc;
    if (n == 0)
        return 0;
    if ((rc = mss_target_io(c, spec, insert_only, &t, err)) < 0)
        goto failed;
    mss_sql_stage_ddl(&b, t->stage_no, &t->obj);
    if (b.oom) {
        rc = mss_oom(err);
        goto failed;
    }
    rc = mss_exec(c, b.p, err, "creating the staging table");
    rowsync_buf_free(&b);
    if (rc < 0)
        goto failed;
    rows = MSS_PARAMS_MAX / (3 + t->ncols);
    if (rows > MSS_ROWS_MAX)
        rows = MSS_ROWS_MAX;
    if (rows == 0) {
        rc = rowsync_error_set(err, ROWSYNC_ENOTSUP,
                               "table %s has too many columns for one"
                               " statement (%zu)",
                               spec->table, t->ncols);
        goto failed;
    }
    for (first = 0; first < n; first += rows) {
        size_t m = n - first < rows ? n - first : rows;
        if ((rc = mss_stage_rows(c, t, spec, changes, first, m, err)) < 0)
            goto failed;
    }
    for (i = 0; i < t->ncols; i++)
        ident |= t->identity[i];
    if (ident) {
        rowsync_buf_t q = {0};
        mss_buf_ident(&q, t->schema);
        rowsync_buf_puts(&q, ".");
        mss_buf_ident(&q, t->table);
        free(c->identity_on);
        c->identity_on = q.p; /* switched off in rollback if the batch fails */
    }
    mss_sql_apply(&b, t->stage_no, &t->obj);
    if (b.oom) {
        rc = mss_oom(err);
        goto failed;
    }
    rc = mss_exec(c, b.p, err, "applying changes");
    rowsync_buf_free(&b);
    if (rc < 0) {
        rowsync_error_prefix(err, "table %s", spec->table);
        goto failed;
    }
    free(c->identity_on);
    c->identity_on = NULL;
    return 0;
failed:
    c->txn_failed = 1;
    return rc;
}

/* apply: every column written on insert and on update. */
static int mss_apply(rowsync_conn_t *c, const rowsync_table_spec_t *spec,
                     const rowsync_change_t *changes, size_t n,
                     rowsync_error_t *err)
{
    return mss_apply_insert_only(c, spec, NULL, changes, n, err);
}

static void mss_rollback(rowsync_conn_t *c)
{
    rowsync_buf_t b = {0};

    if (c == NULL || c->db == NULL || dbdead(c->db))
        return;
    rowsync_buf_puts(&b, "IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION;\n"
                     "EXEC sp_set_session_context N'rowsync.applying',"
                     " NULL;\n");
    if (c->identity_on != NULL)
        rowsync_buf_printf(&b, "SET IDENTITY_INSERT %s OFF;\n", c->identity_on);
    if (!b.oom)
        mss_exec(c, b.p, NULL, "rollback");
    rowsync_buf_free(&b);
    free(c->identity_on);
    c->identity_on = NULL;
    c->in_txn = 0;
    c->txn_failed = 0;
}

static int mss_commit(rowsync_conn_t *c, rowsync_error_t *err)
{
    int rc;

    if ((rc = mss_need_txn(c, err, "commit")) < 0)
        return rc;
    if (c->txn_failed) {
        mss_rollback(c);
        return rowsync_error_set(err, ROWSYNC_ERROR,
                                 "node %s: the transaction failed earlier and"
                                 " was rolled back",
                                 c->node);
    }
    rc = mss_exec(c, "COMMIT TRANSACTION", err, "commit");
    if (rc < 0) {
        mss_rollback(c);
        return rc;
    }
    c->in_txn = 0;
    return 0;
}

/* ---- the table -------------------------------------------------------- */

static const char *const mss_options[] = {
    "host",           "port",          "instance", "database",
    "user",           "tds_version",   "encryption", "connect_timeout",
    "login_timeout",  "schema",        "lock_timeout", NULL};

static const rowsync_driver_t mss_driver = {
    ROWSYNC_DRIVER_HEADER,
    "mssql",
    MSS_DRIVER_VERSION,
    "Microsoft SQL Server 2016 or newer (FreeTDS db-lib, TDS 7.4)",
    mss_options,
    mss_connect,
    mss_disconnect,
    mss_quote,
    mss_clock,
    mss_describe,
    mss_capture_install,
    mss_capture_status,
    mss_capture_remove,
    mss_history_clear,
    mss_history_count,
    mss_state_remove,
    mss_lock,
    mss_unlock,
    mss_state_get,
    mss_extract_open,
    mss_scan_open,
    mss_stream_next,
    mss_stream_cursor,
    mss_stream_close,
    mss_begin,
    mss_apply,
    mss_state_set,
    mss_conflict_log,
    mss_commit,
    mss_rollback,
    mss_conflicts_read,
    mss_references,
    mss_apply_insert_only,
    mss_history_purge,
    NULL, /* watch */
    NULL, /* watch_clear */
    mss_stream_columns,
    NULL, /* extract_open_flags: extract_open always folds columns */
};

int mssql_LTX_rowsync_driver_entry(const rowsync_driver_t **out,
                                   const rowsync_abi_header_t *host);
int mssql_LTX_rowsync_driver_entry(const rowsync_driver_t **out,
                                   const rowsync_abi_header_t *host)
{
    if (host == NULL || host->major != ROWSYNC_DRIVER_ABI_MAJOR)
        return ROWSYNC_EABI;
    *out = &mss_driver;
    return 0;
}
