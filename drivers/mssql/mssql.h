/* Internal to the SQL Server driver: what its files share. Nothing here is
 * exported from the module (MSS_HIDDEN, and the link exports only the
 * entry point).
 *
 * mssql_sql.c builds every T-SQL text the driver sends and mssql_types.c
 * converts values and classifies errors; neither calls db-lib, so the unit
 * tests link them alone. mssql.c is the glue: connections, the driver
 * table, streams and apply.
 *
 * Helpers use the prefix mss_, not tds_: libsybdb exports tds_* symbols of
 * its own and a clash would bind the wrong function. */
#ifndef MSS_DRIVER_H
#define MSS_DRIVER_H

#include <stddef.h>
#include <stdint.h>

#include <rowsync/driver.h>

#if defined(__GNUC__)
#define MSS_HIDDEN __attribute__((visibility("hidden")))
#define MSS_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define MSS_HIDDEN
#define MSS_PRINTF(a, b)
#endif

#define MSS_DRIVER_VERSION "0.1.0"
#define MSS_NAME_MAX 128      /* sysname, in characters */
#define MSS_PARAMS_MAX 2000   /* RPC parameters per call (server max 2100) */
#define MSS_ROWS_MAX 1000     /* rows per VALUES list (server max 1000) */
#define MSS_PURGE_CHUNK 4000  /* history rows per purge DELETE (escalation: 5000) */

/* The clock expression shared by `clock`, the triggers and state rows:
 * UTC microseconds since the Unix epoch. */
#define MSS_NOW_US                                                           \
    "DATEDIFF_BIG(MICROSECOND, CAST('1970-01-01' AS datetime2(7)), "         \
    "SYSUTCDATETIME())"

/* ---- SQL text (mssql_sql.c), on rowsync_buf_t ------------------------- */


/* Appends ident quoted as [ident] with ] doubled. */
MSS_HIDDEN void mss_buf_ident(rowsync_buf_t *b, const char *ident);
/* Appends text as an N'...' literal with ' doubled (identifiers only:
 * values never go into SQL text). */
MSS_HIDDEN void mss_buf_literal(rowsync_buf_t *b, const char *text);

/* The driver's quote_ident: [ident] with ] doubled; ROWSYNC_EINVAL for
 * an empty name or one longer than 128 characters. */
MSS_HIDDEN int mss_quote_ident(const char *ident, char *buf, size_t len);

/* Splits "schema.table" (either part may be [bracketed]) into its parts;
 * schema is "" when the name has none. ROWSYNC_EINVAL for a malformed
 * name. */
MSS_HIDDEN int mss_split_name(const char *name, char *schema, size_t slen,
                              char *table, size_t tlen);

/* ---- one captured table and its objects ------------------------------ */

/* Everything the T-SQL builders need to know about one table. Strings are
 * unquoted names; decl[] are full column type declarations
 * ("nvarchar(50) COLLATE Latin1_General_CI_AS") and native[] the bare
 * type names ("nvarchar"), both per column in spec order. */
typedef struct mss_obj {
    const char *rs_schema; /* rowsync's schema, "rowsync" */
    const char *schema;    /* the table's schema, "dbo" */
    const char *table;     /* the table's name, "Orders" */
    const char *hist;      /* history table name, from mss_hist_name */
    size_t ncols, nkeys;
    const char *const *cols;
    const char *const *decl;
    const char *const *native;
    const unsigned char *identity; /* per column: 1 = identity column */
    const unsigned char *insert_only; /* per column: 1 = written on insert,
                                         not updated (NULL: none) */
} mss_obj_t;

/* The history table's name for schema.table: h_<schema>_<table>, cut to
 * 128 characters with a hash suffix when longer. */
MSS_HIDDEN void mss_hist_name(const char *schema, const char *table,
                              char *out, size_t len);
/* The capture trigger's name: rowsync_capture_<table> (cut likewise). */
MSS_HIDDEN void mss_trigger_name(const char *table, char *out, size_t len);

/* ---- T-SQL texts (mssql_sql.c) ----------------------------------------
 * Each appends one complete batch to b. Parameters, where a text takes
 * any, are named in the comment; mss_rpc sends them with sp_executesql. */

/* Creates rowsync's schema when missing. */
MSS_HIDDEN void mss_sql_schema(rowsync_buf_t *b, const char *rs_schema);
/* Creates the state and conflict journal tables when missing. */
MSS_HIDDEN void mss_sql_state_ddl(rowsync_buf_t *b, const char *rs_schema);
/* Creates the history table when missing (seq, op, time_us, origin, rv,
 * k1..kN typed like the key, cols: an update's column mask, NULL when
 * unknown) and its rv index; adds cols to a history table without it. */
MSS_HIDDEN void mss_sql_history_ddl(rowsync_buf_t *b, const mss_obj_t *o);
/* One row, one int: 1 when the capture trigger exists and was built for
 * another column list, so the pending masks name other columns. */
MSS_HIDDEN void mss_sql_cols_stale(rowsync_buf_t *b, const mss_obj_t *o);
/* Sets every pending mask of the history to NULL (unknown). */
MSS_HIDDEN void mss_sql_cols_forget(rowsync_buf_t *b, const mss_obj_t *o);
/* CREATE OR ALTER TRIGGER: the set-based capture trigger. */
MSS_HIDDEN void mss_sql_trigger(rowsync_buf_t *b, const mss_obj_t *o);
/* Horizon: one row (horizon, newest history rv below @bound and at or
 * above @since). Parameters @since, @upto bigint (NULL: no upto). */
MSS_HIDDEN void mss_sql_horizon(rowsync_buf_t *b, const mss_obj_t *o);
/* Net changes with rv in [@since, @bound): rv, op, time_us, origin, live
 * (0/1), k1..kN, every column of the live row, then the key's column
 * masks in the window folded (OR, NULL when any is NULL). With skip, rows
 * whose latest origin is @skip are left out. */
MSS_HIDDEN void mss_sql_extract(rowsync_buf_t *b, const mss_obj_t *o, int skip);
/* The table's rows in key order, after @a1..@aN when after is set. */
MSS_HIDDEN void mss_sql_scan(rowsync_buf_t *b, const mss_obj_t *o, int after);
/* A column as the streams select it (text forms for exact types). */
MSS_HIDDEN void mss_sql_select_expr(rowsync_buf_t *b, const char *native,
                                    const char *qualified);
/* Staging table #rowsync_stage_<no>: created when missing, emptied. */
MSS_HIDDEN void mss_sql_stage_ddl(rowsync_buf_t *b, unsigned no,
                                  const mss_obj_t *o);
/* INSERT of nrows rows into the stage; row r's parameters are
 * @o<r>, @t<r>, @g<r> (op, time, origin) and @v<r>_<c>. decls receives
 * the sp_executesql parameter list. types: core type per column. */
MSS_HIDDEN void mss_sql_stage_insert(rowsync_buf_t *b, rowsync_buf_t *decls,
                                     unsigned no, const mss_obj_t *o,
                                     const rowsync_type_t *types,
                                     size_t first, size_t nrows);
/* Applies the stage: marker on, DELETE, MERGE, marker off, history rows. */
MSS_HIDDEN void mss_sql_apply(rowsync_buf_t *b, unsigned no, const mss_obj_t *o);
MSS_HIDDEN void mss_sql_delete(rowsync_buf_t *b, unsigned no, const mss_obj_t *o);
MSS_HIDDEN void mss_sql_merge(rowsync_buf_t *b, unsigned no, const mss_obj_t *o);
MSS_HIDDEN void mss_sql_history_insert(rowsync_buf_t *b, unsigned no,
                                       const mss_obj_t *o);
/* State upsert: @k, @v. State read: @k. */
MSS_HIDDEN void mss_sql_state_set(rowsync_buf_t *b, const char *rs_schema);
MSS_HIDDEN void mss_sql_state_get(rowsync_buf_t *b, const char *rs_schema);
/* Conflict journal insert (@d, @tb, @k, @r, @w, @l, @wt, @lt, @n) and
 * read (newest first, @lim rows, 0 = all). */
MSS_HIDDEN void mss_sql_conflict_insert(rowsync_buf_t *b, const char *rs_schema);
MSS_HIDDEN void mss_sql_conflict_read(rowsync_buf_t *b, const char *rs_schema);
/* sp_getapplock / sp_releaseapplock for @name (@ms timeout). One row:
 * the procedure's status. */
MSS_HIDDEN void mss_sql_lock(rowsync_buf_t *b);
MSS_HIDDEN void mss_sql_unlock(rowsync_buf_t *b);
/* Drops the table's trigger and history table (idempotent). */
MSS_HIDDEN void mss_sql_teardown(rowsync_buf_t *b, const mss_obj_t *o);
/* Deletes the history rows with rv below @upto (bigint: the smallest
 * cursor) stamped before @before (bigint), MSS_PURGE_CHUNK per DELETE.
 * One row: the number removed, -1 when the history table is missing. */
MSS_HIDDEN void mss_sql_purge(rowsync_buf_t *b, const mss_obj_t *o);
/* Drops state, conflicts and the schema when it is empty. */
MSS_HIDDEN void mss_sql_state_remove(rowsync_buf_t *b, const char *rs_schema);
/* Columns of @t: name, type, max_length, precision, scale, collation,
 * nullable, identity, key position. */
MSS_HIDDEN void mss_sql_describe(rowsync_buf_t *b);
/* Tables @t references through foreign keys: schema, name. */
MSS_HIDDEN void mss_sql_references(rowsync_buf_t *b);

/* A column type declaration from the catalog's pieces
 * ("decimal(38,10)", "nvarchar(max) COLLATE X"). */
MSS_HIDDEN void mss_type_decl(rowsync_buf_t *b, const char *type, int max_length,
                              int precision, int scale,
                              const char *collation);

/* ---- values and errors (mssql_types.c) ------------------------------- */

/* The core type a SQL Server type name maps to; ROWSYNC_TYPE_NULL for a
 * type the driver cannot carry (geometry, geography, rowversion...). */
MSS_HIDDEN rowsync_type_t mss_core_type(const char *native);

/* Parses a value the streams receive as text (the CONVERT forms of
 * mss_sql_select_expr) into a core value of type want. Text-carried
 * results point into text, or into scratch (at least len + 1 bytes) when
 * the text had to change (upper-case uuid). */
MSS_HIDDEN int mss_value_from_text(rowsync_type_t want, const char *native,
                                   const char *text, size_t len,
                                   char *scratch, rowsync_value_t *out,
                                   rowsync_error_t *err);
/* Converts a native db-lib value (type code as dbcoltype gives it, data
 * and length as dbdata/dbdatlen give them) into a core value of type
 * want. Text-carried results point into data. */
MSS_HIDDEN int mss_value_from_native(rowsync_type_t want, int coltype,
                                     const unsigned char *data, size_t len,
                                     rowsync_value_t *out,
                                     rowsync_error_t *err);
/* The text sent as the parameter of a value bound for a column of core
 * type `type` (ISO forms the staging INSERT converts with fixed styles).
 * Returns the length like snprintf. BINARY values are not text: the
 * caller sends their bytes. */
MSS_HIDDEN size_t mss_param_text(const rowsync_value_t *v,
                                 rowsync_type_t type, char *buf, size_t len);

/* Error class of a SQL Server message number (severity > 10), and of a
 * db-lib error number (SYBE*). */
MSS_HIDDEN int mss_classify_msg(long msgno);
MSS_HIDDEN int mss_classify_dberr(int dberr);

/* Cursors: "" is 0; otherwise 16 lower-case hex digits, the first
 * rowversion not consumed. */
MSS_HIDDEN int mss_cursor_parse(const char *text, uint64_t *out);
MSS_HIDDEN void mss_cursor_format(uint64_t rv, char *buf, size_t len);

#endif
