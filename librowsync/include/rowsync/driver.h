/* rowsync/driver.h: the database driver ABI.
 *
 * A driver is a libltdl module exporting exactly one function,
 * <module>_LTX_rowsync_driver_entry, which hands the core a static table of
 * function pointers (rowsync_driver_t). The driver owns everything about its
 * database: connections, type mapping, change capture (history table,
 * triggers, apply marker), extraction, apply, state storage, locks. It makes
 * no sync decision: which change wins, which rows pass, how columns map is
 * the core's business.
 *
 * Ownership: nothing allocated by a driver is freed by the core or the
 * other way round. Pointers a driver returns are borrowed and stay valid
 * for the time each function's comment gives. Every function that can fail
 * takes a rowsync_error_t *err (may be NULL) and returns 0 or a negative
 * ROWSYNC_E* class; err->code equals the return value.
 *
 * ABI rules: a major bump is incompatible and rejected by the loader. A
 * minor bump appends members at the end of rowsync_driver_t; the loader
 * treats members beyond the module's struct_size as absent.
 */
#ifndef ROWSYNC_DRIVER_H
#define ROWSYNC_DRIVER_H

#include <rowsync/common.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ROWSYNC_DRIVER_ABI_MAJOR 1
#define ROWSYNC_DRIVER_ABI_MINOR 1

/* Longest cursor or state value a driver may produce, NUL included. */
#define ROWSYNC_STATE_MAX 1024

typedef struct rowsync_conn rowsync_conn_t;     /* defined by each driver */
typedef struct rowsync_stream rowsync_stream_t; /* defined by each driver */

/* How to reach one node: the [node NAME] section of the job file. */
typedef struct rowsync_node_config {
    const char *node;     /* the node's name in the job */
    const char *job_dir;  /* directory of the job file; relative paths
                             in options start here */
    const char *password; /* from password_env / password_file, or NULL */
    size_t noptions;
    const rowsync_option_t *options; /* every other key of the section
                                        except driver, password_env and
                                        password_file; keys are among the
                                        driver's `options` list */
} rowsync_node_config_t;

/* One column as the database describes it. */
typedef struct rowsync_column {
    const char *name;
    rowsync_type_t type;     /* the core type values of this column take */
    const char *native_type; /* the type as the database names it */
    int nullable;
    int key_position;        /* 1-based position in the primary key, 0 if
                                the column is not part of it */
} rowsync_column_t;

typedef struct rowsync_table_info {
    const char *name; /* the table's name as the driver resolved it */
    size_t ncolumns;
    const rowsync_column_t *columns;
} rowsync_table_info_t;

/* The part of a table the core syncs, on one node: its name there, the
 * columns in the order values travel, and how many of the first columns
 * form the key. */
typedef struct rowsync_table_spec {
    const char *table;
    size_t ncolumns;
    const char *const *columns;
    const rowsync_type_t *types; /* per column, as describe reported it */
    size_t nkeys;                /* columns[0 .. nkeys-1] are the key */
} rowsync_table_spec_t;

typedef enum rowsync_op {
    ROWSYNC_OP_INSERT = 1,
    ROWSYNC_OP_UPDATE = 2,
    ROWSYNC_OP_DELETE = 3
} rowsync_op_t;

/* One net change of one row. Extraction folds every captured change of a
 * key since the cursor into one: the live row's current values (INSERT or
 * UPDATE) or its absence (DELETE), with the time and origin of the latest
 * captured change. */
typedef struct rowsync_change {
    rowsync_op_t op;
    int64_t time_us;      /* server time of the latest change, UTC us */
    const char *origin;   /* node the change was first written on; NULL
                             when it was written locally on this node */
    size_t nvalues;       /* the spec's ncolumns */
    const rowsync_value_t *values; /* in spec order; for DELETE only the
                                      key values are meaningful */
} rowsync_change_t;

/* One conflict decision, journaled on the node that received the winner. */
typedef struct rowsync_conflict {
    int64_t decided_us; /* when the core decided, core clock */
    const char *table;
    const char *key;    /* key values as canonical text, comma separated */
    const char *rule;   /* "latest", ... */
    const char *winner; /* node names */
    const char *loser;
    int64_t winner_time_us;
    int64_t loser_time_us;
    const char *note;   /* why, for humans, or NULL */
} rowsync_conflict_t;

typedef int (*rowsync_conflict_cb)(void *ctx, const rowsync_conflict_t *c);

typedef struct rowsync_driver {
    rowsync_abi_header_t abi;
    const char *name;        /* module name: "sqlite" */
    const char *version;     /* the driver's version */
    const char *description; /* one line, includes the client library */
    const char *const *options; /* NULL-terminated [node] keys accepted */

    /* Opens a connection. The core opens one per node and uses it from one
     * thread at a time, not always the same one (a one-way pass reads the
     * source's stream on a thread of its own while the opening thread
     * applies to the target). On failure *out is untouched and err says
     * what and where (file, host:port), never the password. */
    int (*connect)(rowsync_conn_t **out, const rowsync_node_config_t *cfg,
                   rowsync_error_t *err);
    /* Closes it; an open transaction is rolled back, locks are released. */
    void (*disconnect)(rowsync_conn_t *conn);

    /* Quotes an identifier for this dialect ("a.b" stays one identifier).
     * Returns the length needed (without NUL) like snprintf, or
     * ROWSYNC_EINVAL for a name the dialect cannot hold. */
    int (*quote_ident)(const char *ident, char *buf, size_t len);

    /* The server's clock, UTC microseconds, the same clock the capture
     * triggers stamp changes with. */
    int (*clock)(rowsync_conn_t *conn, int64_t *now_us, rowsync_error_t *err);

    /* Describes a table. *out is valid until the next describe or
     * disconnect on conn. ROWSYNC_ENOTFOUND if it does not exist. */
    int (*describe)(rowsync_conn_t *conn, const char *table,
                    const rowsync_table_info_t **out, rowsync_error_t *err);

    /* Installs change capture for the spec's table: history table,
     * triggers, state tables. Idempotent; re-installing for a changed
     * column list keeps pending history. */
    int (*capture_install)(rowsync_conn_t *conn,
                           const rowsync_table_spec_t *spec,
                           rowsync_error_t *err);
    /* Sets *installed to 1 if capture for the table is in place, else 0. */
    int (*capture_status)(rowsync_conn_t *conn,
                          const rowsync_table_spec_t *spec, int *installed,
                          rowsync_error_t *err);
    /* Removes the table's triggers and history. Idempotent. */
    int (*capture_remove)(rowsync_conn_t *conn,
                          const rowsync_table_spec_t *spec,
                          rowsync_error_t *err);
    /* Deletes every captured change of the table (keeps the triggers). */
    int (*history_clear)(rowsync_conn_t *conn,
                         const rowsync_table_spec_t *spec,
                         rowsync_error_t *err);
    /* Number of captured changes kept for the table (its history rows,
     * or the changes they hold when a row holds several). */
    int (*history_count)(rowsync_conn_t *conn,
                         const rowsync_table_spec_t *spec, int64_t *rows,
                         rowsync_error_t *err);
    /* Drops the driver's state tables (cursors, conflict journal, apply
     * marker). Called by teardown after every table's capture_remove. */
    int (*state_remove)(rowsync_conn_t *conn, rowsync_error_t *err);

    /* Takes the named lock, held in the database (or its file) and released
     * by unlock, disconnect or the process's death. Waits up to timeout_ms;
     * then ROWSYNC_ELOCKED. */
    int (*lock)(rowsync_conn_t *conn, const char *name, int timeout_ms,
                rowsync_error_t *err);
    int (*unlock)(rowsync_conn_t *conn, const char *name,
                  rowsync_error_t *err);

    /* Reads a state value (a cursor, a load position) stored on this node
     * by state_set. An unset key gives "" and *updated_us = 0. updated_us
     * may be NULL. */
    int (*state_get)(rowsync_conn_t *conn, const char *key, char *buf,
                     size_t len, int64_t *updated_us, rowsync_error_t *err);

    /* Opens a stream of net changes of the table with positions after
     * `since` ("" = from the start of capture) and up to `upto` (NULL = up
     * to the newest change that is safely committed, the horizon, fixed
     * at open). Changes whose latest origin equals skip_origin (may be
     * NULL) are not returned (no echo) but are covered by the cursor.
     * Changes come in position order, at most one per key. Memory stays
     * flat whatever the number of rows. */
    int (*extract_open)(rowsync_conn_t *conn, const rowsync_table_spec_t *spec,
                        const char *since, const char *upto,
                        const char *skip_origin, rowsync_stream_t **out,
                        rowsync_error_t *err);
    /* Opens a stream of the table's rows in key order as INSERT changes
     * (origin NULL, time = now), starting after after_key (spec->nkeys
     * values) or from the first row when after_key is NULL. */
    int (*scan_open)(rowsync_conn_t *conn, const rowsync_table_spec_t *spec,
                     const rowsync_value_t *after_key,
                     rowsync_stream_t **out, rowsync_error_t *err);
    /* Next change: 0 and *out set (valid until the next call or close),
     * ROWSYNC_DONE at the end, or an error. */
    int (*stream_next)(rowsync_stream_t *stream, const rowsync_change_t **out,
                       rowsync_error_t *err);
    /* The cursor that covers every change returned so far; after
     * ROWSYNC_DONE it covers everything up to the stream's horizon. For an
     * extract stream only; "" for a scan. */
    int (*stream_cursor)(rowsync_stream_t *stream, char *buf, size_t len,
                         rowsync_error_t *err);
    void (*stream_close)(rowsync_stream_t *stream);

    /* Opens the apply transaction. Changes applied inside it are captured
     * with the origin and time each change carries, so they are never sent
     * back to their origin. */
    int (*begin)(rowsync_conn_t *conn, rowsync_error_t *err);
    /* Applies changes (INSERT/UPDATE: insert or update by key; DELETE:
     * delete by key, no error if absent) inside the open transaction. A
     * batch holds at most one change per key; each change's origin is set
     * (the core fills in the node it came from), or NULL for a change the
     * core makes on this node itself (a merged row, a restored version),
     * which is then captured as a local write. When capture is installed
     * for the table every applied change is captured, a delete of an
     * absent row too (its tombstone: with three nodes or more a later
     * change to the key must meet it); without it (a one-way target) the
     * rows are only written. */
    int (*apply)(rowsync_conn_t *conn, const rowsync_table_spec_t *spec,
                 const rowsync_change_t *changes, size_t n,
                 rowsync_error_t *err);
    /* Stores a state value inside the open transaction. */
    int (*state_set)(rowsync_conn_t *conn, const char *key, const char *value,
                     rowsync_error_t *err);
    /* Journals a conflict decision inside the open transaction. */
    int (*conflict_log)(rowsync_conn_t *conn, const rowsync_conflict_t *c,
                        rowsync_error_t *err);
    /* Commits: changes, state and journal become durable together. */
    int (*commit)(rowsync_conn_t *conn, rowsync_error_t *err);
    /* Rolls back the open transaction, if any. */
    void (*rollback)(rowsync_conn_t *conn);

    /* Calls cb for each journaled conflict, newest first, at most limit
     * (0 = all); stops early when cb returns non-zero. */
    int (*conflicts_read)(rowsync_conn_t *conn, size_t limit,
                          rowsync_conflict_cb cb, void *ctx,
                          rowsync_error_t *err);

    /* Calls cb once per table that `table` references through a foreign
     * key (names as the database spells them, schema-qualified where the
     * dialect has schemas); stops early when cb returns non-zero. The
     * core orders tables with it: parents are written before children and
     * children deleted before parents. Optional (NULL: unknown). */
    int (*references)(rowsync_conn_t *conn, const char *table,
                      int (*cb)(void *ctx, const char *referenced),
                      void *ctx, rowsync_error_t *err);

    /* ---- ABI 1.1: every member below is optional (NULL: absent) ---- */

    /* Like apply, with one flag per spec column: a flagged column is
     * written when the change inserts the row and left as it is when the
     * change updates an existing row (a `fill` column: a value on insert
     * only). Without it the core uses apply, which writes every column. */
    int (*apply_insert_only)(rowsync_conn_t *conn,
                             const rowsync_table_spec_t *spec,
                             const unsigned char *insert_only,
                             const rowsync_change_t *changes, size_t n,
                             rowsync_error_t *err);
    /* Deletes the table's captured changes that every cursor in `cursors`
     * covers (the core passes the cursor of every direction out of this
     * node; an empty cursor, or no cursor at all, covers nothing) and
     * whose change time is before before_us (UTC us). A delete's history
     * row, the tombstone, goes the same way, once every node has seen it.
     * *purged receives the number of changes removed. Runs outside
     * the apply transaction (ROWSYNC_EINVAL inside it), in one or more
     * transactions of its own; stopping part-way is safe, since it never
     * removes a change some direction has not read. */
    int (*history_purge)(rowsync_conn_t *conn,
                         const rowsync_table_spec_t *spec,
                         const char *const *cursors, size_t ncursors,
                         int64_t before_us, int64_t *purged,
                         rowsync_error_t *err);
    /* Change notification for `rowsync run`. watch starts listening for
     * changes captured in this node's database (by any session) and sets
     * *fd to a descriptor that becomes readable when one may have been
     * committed (LISTEN/NOTIFY, ...). watch_clear consumes what arrived,
     * without blocking. The descriptor stays valid until disconnect.
     * Without them run mode polls every interval. */
    int (*watch)(rowsync_conn_t *conn, int *fd, rowsync_error_t *err);
    int (*watch_clear)(rowsync_conn_t *conn, rowsync_error_t *err);
    /* For an extract stream: the spec columns that the change last
     * returned by stream_next changed since the stream's `since`, for
     * column-level merge. Bit i of *changed is spec column i (i < 64).
     * Every bit is set when that is unknown: an insert, a delete, a
     * column past the 64th, and a change applied by rowsync unless the
     * driver records its exact columns. Updates captured
     * by the triggers record which columns differ between the old and the
     * new row; the net change ORs them. */
    int (*stream_columns)(rowsync_stream_t *stream, uint64_t *changed,
                          rowsync_error_t *err);
    /* Like extract_open, with flags (ROWSYNC_EXTRACT_*). Without
     * ROWSYNC_EXTRACT_COLUMNS the caller will not ask stream_columns, so
     * the driver may skip folding each key's column masks (stream_columns
     * then reports every column). Without this member the core calls
     * extract_open, whose streams always track columns. */
    int (*extract_open_flags)(rowsync_conn_t *conn,
                              const rowsync_table_spec_t *spec,
                              const char *since, const char *upto,
                              const char *skip_origin, unsigned flags,
                              rowsync_stream_t **out, rowsync_error_t *err);
} rowsync_driver_t;

/* extract_open_flags: the stream's stream_columns must be exact. */
#define ROWSYNC_EXTRACT_COLUMNS 1u

#define ROWSYNC_DRIVER_HEADER                                                \
    {ROWSYNC_DRIVER_ABI_MAJOR, ROWSYNC_DRIVER_ABI_MINOR,                     \
     (uint32_t)sizeof(rowsync_driver_t)}

/* The entry point each driver exports, as NAME_LTX_rowsync_driver_entry.
 * host is the core's ABI version; the driver may refuse it
 * (ROWSYNC_EABI). On success *out points to the driver's static table. */
typedef int (*rowsync_driver_entry_fn)(const rowsync_driver_t **out,
                                       const rowsync_abi_header_t *host);
#define ROWSYNC_DRIVER_ENTRY_SYMBOL "rowsync_driver_entry"

#ifdef __cplusplus
}
#endif

#endif
