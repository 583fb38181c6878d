/* Internal: the change in flight that transform plugins see through the
 * rowsync_row_* functions of plugin.h. The engine builds one from a
 * driver's change, runs the plugin chain over it and reads the values
 * back by column name. */
#ifndef RS_ROW_H
#define RS_ROW_H

#include "internal.h"
#include <rowsync/plugin.h>

/* Everything in a row is owned by the row: names, table, direction and
 * the bytes of every text-carried value (NUL-terminated copies, so
 * plugins may treat TEXT as a C string as long as it holds no NUL). The
 * first nkeys columns are the key and cannot be set. */
struct rowsync_row {
    int op; /* rowsync_op_t */
    char *table;
    char *from; /* node names; may be NULL */
    char *to;
    size_t nkeys;
    size_t ncolumns;
    size_t cap; /* allocated slots in columns and values */
    char **columns;
    rowsync_value_t *values;
};

/* Creates a row of ncolumns values (copied, bytes included) named by
 * columns, whose first nkeys columns form the key. from and to may be
 * NULL. *out belongs to the caller (rs_row_free); untouched on failure.
 * Returns 0, ROWSYNC_EINVAL (nkeys > ncolumns, a NULL or duplicate column
 * name) or ROWSYNC_ENOMEM. */
RS_HIDDEN int rs_row_new(rowsync_row_t **out, int op, const char *table,
                         const char *from, const char *to, size_t ncolumns,
                         const char *const *columns,
                         const rowsync_value_t *values, size_t nkeys,
                         rowsync_error_t *err);
RS_HIDDEN void rs_row_free(rowsync_row_t *row);

/* The row's values in column order (rowsync_row_count of them), then any
 * a plugin added. Borrowed: valid until the row is changed or freed. */
RS_HIDDEN const rowsync_value_t *rs_row_values(const rowsync_row_t *row);
/* The number of key columns given to rs_row_new. */
RS_HIDDEN size_t rs_row_nkeys(const rowsync_row_t *row);

#endif
