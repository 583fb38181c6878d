/* Internal to the PostgreSQL driver: the types its files share and the
 * functions they call across files. Nothing here is exported from the
 * module (PG_HIDDEN, and the link exports only the entry point). */
#ifndef PG_DRIVER_H
#define PG_DRIVER_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include <rowsync/driver.h>

#define PG_HIDDEN __attribute__((visibility("hidden")))

#define PG_DRIVER_VERSION "0.1.0"
#define PG_NAME_MAX 63      /* NAMEDATALEN - 1 */
#define PG_QNAME_MAX 300    /* a quoted "schema"."name" */
#define PG_FETCH 1000       /* rows of a stream's first FETCH */
#define PG_FETCH_MAX 10000  /* most rows of a later FETCH */
#define PG_FETCH_BYTES ((size_t)4 << 20) /* aim of a later FETCH, in bytes */
#define PG_STREAM_WORK_MEM "32MB" /* least work_mem of a read transaction */
#define PG_COPY_CHUNK 65536 /* bytes per PQputCopyData */
#define PG_STEP_MAX 48      /* breakpoints a cursor may hold */
#define PG_INF INT64_MAX
#define PG_SETTLE_MS 250 /* longest wait for the horizon to settle */
/* A history row holds the keys of one statement (up to PG_HIST_SPAN of
 * them, more take several rows); its seq steps by PG_HIST_SPAN, and its
 * i-th key (from 1) sits at position seq + i - 1, so positions never
 * collide and 2^63 / 2^17 = 7e13 statements fit. */
#define PG_HIST_SPAN 131072
#define PG_STR_(x) #x
#define PG_STR(x) PG_STR_(x)
#define PG_HIST_SPAN_S PG_STR(PG_HIST_SPAN) /* for SQL text */

/* The commit horizon of snapshot s, an SQL expression (xid8): the oldest
 * transaction of this database still running in s, or s's xmax when none
 * is. Transaction ids are cluster-wide, but only a transaction of this
 * database can write its history: one that pg_stat_activity or
 * pg_prepared_xacts shows in another database is left out. One that has
 * ended since s (nothing shows it) counts, to be safe. */
#define PG_HORIZON(s)                                                          \
    "coalesce((SELECT min(x) FROM pg_snapshot_xip(" s ") x WHERE NOT EXISTS" \
    " (SELECT 1 FROM pg_stat_activity a WHERE a.backend_xid = xid(x) AND"    \
    " a.datid IS DISTINCT FROM (SELECT d.oid FROM pg_database d WHERE"      \
    " d.datname = current_database())) AND NOT EXISTS (SELECT 1 FROM"        \
    " pg_prepared_xacts p WHERE p.transaction = xid(x) AND p.database <>"   \
    " current_database())), pg_snapshot_xmax(" s "))"
/* The clock expression shared by `clock`, the triggers and state rows. */
#define PG_NOW_US "(extract(epoch from clock_timestamp()) * 1000000)::int8"

/* PostgreSQL's binary dates and times count from 2000-01-01, rowsync's
 * from 1970-01-01. */
#define PG_EPOCH_DAYS 10957                        /* 1970-01-01 to 2000 */
#define PG_EPOCH_US (INT64_C(10957) * 86400000000) /* the same in us */

/* Built-in type OIDs (stable across versions, pg_type.dat). */
enum {
    PG_BOOLOID = 16,
    PG_BYTEAOID = 17,
    PG_CHAROID = 18,
    PG_NAMEOID = 19,
    PG_INT8OID = 20,
    PG_INT2OID = 21,
    PG_INT4OID = 23,
    PG_TEXTOID = 25,
    PG_OIDOID = 26,
    PG_JSONOID = 114,
    PG_FLOAT4OID = 700,
    PG_FLOAT8OID = 701,
    PG_BPCHAROID = 1042,
    PG_VARCHAROID = 1043,
    PG_DATEOID = 1082,
    PG_TIMEOID = 1083,
    PG_TIMESTAMPOID = 1114,
    PG_TIMESTAMPTZOID = 1184,
    PG_NUMERICOID = 1700,
    PG_UUIDOID = 2950,
    PG_JSONBOID = 3802
};


typedef struct pg_step {
    size_t n;                   /* breakpoints */
    uint64_t p[PG_STEP_MAX];    /* increasing xids */
    int64_t v[PG_STEP_MAX + 1]; /* v[0] below p[0], v[i] on [p[i-1], p[i]) */
} pg_step_t;

/* ---- connection and streams ------------------------------------------ */

/* An apply target: one table with one column list, its staging table and
 * the statements that apply a staged batch. */
typedef struct pg_target {
    struct pg_target *next;
    char *sig;          /* table name and columns, the cache key */
    unsigned oid;       /* the table's oid, the apply marker's value */
    char *qtable;       /* "schema"."table" */
    char *qhist;        /* the history table, quoted */
    char *table;        /* name as given, for messages */
    unsigned stage_no;  /* pg_temp."rowsync_stage_<n>" */
    int stage_ok;       /* the staging table exists (committed) */
    uint64_t stage_txn; /* transaction that created it, if not committed */
    uint64_t used_txn;  /* transaction that last filled it */
    uint64_t hist_txn;  /* transaction in which has_hist was checked */
    int has_hist;
    char xid[24]; /* that transaction's xid, as the history's xid column
                     holds it (the direct path sends it with every row) */
    char *sql_delete, *sql_upsert, *sql_history;
    char *sql_copy_table, *sql_copy_hist; /* the direct path's COPYs */
    char *sql_copy_binary; /* the table's COPY in binary format */
    unsigned *oids;        /* type of each spec column on the table */
    unsigned direct_skip; /* batches left before the direct path is
                             tried again after a key conflict */
} pg_target_t;

struct rowsync_conn {
    PGconn *pg;
    char *node;
    char *where;    /* host:port (or socket) for messages */
    char *database; /* for messages */
    char *schema;   /* rowsync's schema, unquoted */
    char *qschema;  /* quoted */
    char *channel;  /* NOTIFY channel of capture and apply (the schema's
                       name) as an escaped SQL literal */
    int watching;   /* LISTEN is active on this connection */
    int in_txn;     /* the apply transaction is open */
    uint64_t txn_no;
    int nstreams; /* open streams share one read-only transaction */
    unsigned stream_no;
    int state_ok; /* state and conflicts tables exist (committed) */
    uint64_t state_txn;
    unsigned stage_no;
    rowsync_stream_t *prefetch; /* stream whose next FETCH is in flight */
    pg_target_t *targets;
    /* describe's result, valid until the next describe */
    PGresult *desc_res;
    rowsync_column_t *desc_cols;
    char *desc_name;
    rowsync_table_info_t desc;
};

struct rowsync_stream {
    rowsync_conn_t *conn;
    int scan;
    char cursor_name[32];
    char *table; /* for messages */
    size_t ncols, nkeys;
    rowsync_type_t *types;
    unsigned *oids; /* per column, its type in the table (pg_attribute) */
    char **colnames;
    PGresult *res;
    PGresult *next; /* the FETCH sent ahead, once collected */
    int ahead;      /* a FETCH was sent ahead and not consumed yet */
    int fetch_n;    /* rows the next FETCH asks for */
    int ahead_n;    /* rows the FETCH sent ahead asked for */
    int row, nrows, eof, done;
    rowsync_change_t change;
    rowsync_value_t *values;
    char *scratch;
    size_t scratch_cap;
    int64_t scan_time;
    pg_step_t since, bound;
    int64_t last_seq;
    uint64_t changed; /* stream_columns of the last change returned */
};
/* A table as resolved in the database, and the names of its capture
 * objects. */
typedef struct pg_rel {
    int exists;
    unsigned oid;
    char relkind;
    int qualified; /* the name given had a schema */
    char schema[PG_NAME_MAX + 1], name[PG_NAME_MAX + 1];
    char qname[PG_QNAME_MAX]; /* "schema"."name" */
    char hist[PG_NAME_MAX + 1], func[PG_NAME_MAX + 1];
    char qhist[PG_QNAME_MAX], qfunc[PG_QNAME_MAX];
} pg_rel_t;

/* ---- pgsql.c: text buffers, errors, queries ------------------------------ */

PG_HIDDEN void pg_buf_ident(rowsync_buf_t *b, const char *ident);
PG_HIDDEN int pg_oom(rowsync_error_t *err);
PG_HIDDEN char *pg_strdup(const char *s);
PG_HIDDEN int pg_fail(rowsync_conn_t *c, const PGresult *res,
                      rowsync_error_t *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
PG_HIDDEN PGresult *pg_query(rowsync_conn_t *c, const char *sql, int nparams,
                             const char *const *params, rowsync_error_t *err,
                             const char *what);
PG_HIDDEN PGresult *pg_query_format(rowsync_conn_t *c, const char *sql,
                                    int nparams, const char *const *params,
                                    int format, rowsync_error_t *err,
                                    const char *what);
PG_HIDDEN int pg_exec(rowsync_conn_t *c, const char *sql, rowsync_error_t *err,
                      const char *what);
PG_HIDDEN int pg_query_value(rowsync_conn_t *c, const char *sql, int nparams,
                             const char *const *params, char *buf, size_t len,
                             int *isnull, rowsync_error_t *err,
                             const char *what);
PG_HIDDEN int pg_need_idle(rowsync_conn_t *c, rowsync_error_t *err,
                           const char *what);

/* ---- pgsql_catalog.c: tables, describe, capture objects, state tables ---- */

PG_HIDDEN int pg_resolve(rowsync_conn_t *c, const char *table, pg_rel_t *rel,
                         rowsync_error_t *err);
PG_HIDDEN int pg_resolve_table(rowsync_conn_t *c, const char *table,
                               pg_rel_t *rel, rowsync_error_t *err);
PG_HIDDEN int pg_rel_exists(rowsync_conn_t *c, const char *qname, int *exists,
                            rowsync_error_t *err);
PG_HIDDEN int pg_check_spec(rowsync_conn_t *c, const rowsync_table_spec_t *spec,
                            rowsync_error_t *err);
PG_HIDDEN int pg_ensure_state(rowsync_conn_t *c, int inside,
                              rowsync_error_t *err);
PG_HIDDEN int pg_need_history(rowsync_conn_t *c, const char *table,
                              pg_rel_t *rel, rowsync_error_t *err);
PG_HIDDEN int pg_column_oids(rowsync_conn_t *c, unsigned reloid,
                             const rowsync_table_spec_t *spec, unsigned *oids,
                             rowsync_error_t *err);
PG_HIDDEN int pg_describe(rowsync_conn_t *c, const char *table,
                          const rowsync_table_info_t **out,
                          rowsync_error_t *err);
PG_HIDDEN int pg_capture_install(rowsync_conn_t *c,
                                 const rowsync_table_spec_t *spec,
                                 rowsync_error_t *err);
PG_HIDDEN int pg_capture_status(rowsync_conn_t *c,
                                const rowsync_table_spec_t *spec,
                                int *installed, rowsync_error_t *err);
PG_HIDDEN int pg_capture_remove(rowsync_conn_t *c,
                                const rowsync_table_spec_t *spec,
                                rowsync_error_t *err);
PG_HIDDEN int pg_history_clear(rowsync_conn_t *c,
                               const rowsync_table_spec_t *spec,
                               rowsync_error_t *err);
PG_HIDDEN int pg_history_count(rowsync_conn_t *c,
                               const rowsync_table_spec_t *spec, int64_t *rows,
                               rowsync_error_t *err);
PG_HIDDEN int pg_state_remove(rowsync_conn_t *c, rowsync_error_t *err);
PG_HIDDEN int pg_references(rowsync_conn_t *c, const char *table,
                            int (*cb)(void *ctx, const char *referenced),
                            void *ctx, rowsync_error_t *err);

/* ---- pgsql_stream.c: cursors, extraction and scans ----------------------- */

PG_HIDDEN int pg_extract_open(rowsync_conn_t *c,
                              const rowsync_table_spec_t *spec,
                              const char *since, const char *upto,
                              const char *skip_origin, rowsync_stream_t **out,
                              rowsync_error_t *err);
PG_HIDDEN int pg_extract_open_flags(rowsync_conn_t *c,
                                    const rowsync_table_spec_t *spec,
                                    const char *since, const char *upto,
                                    const char *skip_origin, unsigned flags,
                                    rowsync_stream_t **out,
                                    rowsync_error_t *err);
PG_HIDDEN int pg_scan_open(rowsync_conn_t *c, const rowsync_table_spec_t *spec,
                           const rowsync_value_t *after_key,
                           rowsync_stream_t **out, rowsync_error_t *err);
PG_HIDDEN int pg_stream_next(rowsync_stream_t *s, const rowsync_change_t **out,
                             rowsync_error_t *err);
PG_HIDDEN int pg_stream_cursor(rowsync_stream_t *s, char *buf, size_t len,
                               rowsync_error_t *err);
PG_HIDDEN void pg_stream_close(rowsync_stream_t *s);
PG_HIDDEN void pg_prefetch_collect(rowsync_conn_t *c);
PG_HIDDEN int pg_stream_columns(rowsync_stream_t *s, uint64_t *changed,
                                rowsync_error_t *err);
/* Cursor text -> step function (-1 when the text is not a cursor), and
 * the SQL test "history row h, whose position is the expression pos, is
 * consumed by f" with its numbers appended to params as $np+1... (shared
 * with pgsql_purge.c). */
PG_HIDDEN int pg_step_parse(const char *text, pg_step_t *f);
PG_HIDDEN void pg_step_sql(rowsync_buf_t *b, const pg_step_t *f,
                           const char *pos, char (*params)[24], int *np);

/* ---- pgsql_purge.c: history upkeep -------------------------------------- */

PG_HIDDEN int pg_history_purge(rowsync_conn_t *c,
                               const rowsync_table_spec_t *spec,
                               const char *const *cursors, size_t ncursors,
                               int64_t before_us, int64_t *purged,
                               rowsync_error_t *err);

/* ---- pgsql_apply.c: apply transaction, state, conflict journal ---------- */

PG_HIDDEN void pg_forget_targets(rowsync_conn_t *c);
PG_HIDDEN int pg_begin(rowsync_conn_t *c, rowsync_error_t *err);
PG_HIDDEN int pg_apply(rowsync_conn_t *c, const rowsync_table_spec_t *spec,
                       const rowsync_change_t *changes, size_t n,
                       rowsync_error_t *err);
PG_HIDDEN int pg_apply_insert_only(rowsync_conn_t *c,
                                   const rowsync_table_spec_t *spec,
                                   const unsigned char *insert_only,
                                   const rowsync_change_t *changes, size_t n,
                                   rowsync_error_t *err);
PG_HIDDEN int pg_commit(rowsync_conn_t *c, rowsync_error_t *err);
PG_HIDDEN void pg_rollback(rowsync_conn_t *c);
PG_HIDDEN int pg_state_get(rowsync_conn_t *c, const char *key, char *buf,
                           size_t len, int64_t *updated_us,
                           rowsync_error_t *err);
PG_HIDDEN int pg_state_set(rowsync_conn_t *c, const char *key,
                           const char *value, rowsync_error_t *err);
PG_HIDDEN int pg_conflict_log(rowsync_conn_t *c, const rowsync_conflict_t *k,
                              rowsync_error_t *err);
PG_HIDDEN int pg_conflicts_read(rowsync_conn_t *c, size_t limit,
                                rowsync_conflict_cb cb, void *ctx,
                                rowsync_error_t *err);

#endif
