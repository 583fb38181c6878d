/* rowsync/plugin.h: the transform plugin ABI.
 *
 * A plugin is a libltdl module exporting exactly one function,
 * <module>_LTX_rowsync_plugin_entry, which hands the core a static table
 * (rowsync_plugin_t). A plugin instance sees each change in flight, in
 * canonical column names, and may change values, add a value or drop the
 * change. It never talks to a database. Plugins and drivers have separate
 * ABIs and entry names, so one can never be loaded as the other.
 *
 * Versioning follows driver.h: major bump rejected, minor bump appends.
 */
#ifndef ROWSYNC_PLUGIN_H
#define ROWSYNC_PLUGIN_H

#include <rowsync/common.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ROWSYNC_PLUGIN_ABI_MAJOR 1
#define ROWSYNC_PLUGIN_ABI_MINOR 1

typedef struct rowsync_plugin_instance rowsync_plugin_instance_t; /* plugin's */
typedef struct rowsync_row rowsync_row_t; /* the core's change in flight */

/* ---- what a plugin may do with a row (implemented in librowsync) ---- */

/* The change's operation: 1 insert, 2 update, 3 delete (rowsync_op_t). */
int rowsync_row_op(const rowsync_row_t *row);
/* Canonical table name, and the direction the change travels. Borrowed,
 * valid while the plugin's transform call runs. */
const char *rowsync_row_table(const rowsync_row_t *row);
const char *rowsync_row_from(const rowsync_row_t *row);
const char *rowsync_row_to(const rowsync_row_t *row);
/* Number of columns, and the canonical name of column i. */
size_t rowsync_row_count(const rowsync_row_t *row);
const char *rowsync_row_column(const rowsync_row_t *row, size_t i);
/* The value of a column, or NULL if the row has no such column. Borrowed:
 * valid until the value is set again or the transform call returns. */
const rowsync_value_t *rowsync_row_get(const rowsync_row_t *row,
                                       const char *column);
/* Sets a column's value, copying v (and its bytes). A column the row does
 * not have is added. Key columns cannot be changed (ROWSYNC_EINVAL).
 * Returns 0, ROWSYNC_EINVAL or ROWSYNC_ENOMEM. */
int rowsync_row_set(rowsync_row_t *row, const char *column,
                    const rowsync_value_t *v);

/* ---- expressions of the filter language (implemented in librowsync) --
 *
 * The core's subset filter language (rowsync.conf(5), FILTER EXPRESSIONS),
 * for plugins that compute a value from a change, e.g. `qty * 2` or
 * `price * qty`. An expression is parsed once (in create) and evaluated
 * on each row's canonical column values. It evaluates to a value: a
 * number (INT; DECIMAL, exact, when a decimal takes part in +, - or * and
 * the result fits 18 digits; DOUBLE otherwise and after /), text, a
 * boolean (comparisons, AND, OR, NOT, with SQL's NULL logic), a date or
 * timestamp (DATE '...', TIMESTAMP '...' or a column), or NULL: NULL
 * propagates through arithmetic and comparisons. A column alone evaluates
 * to its value unchanged, whatever its type. */
typedef struct rowsync_expr rowsync_expr_t;

/* Parses text. On success *out is a new expression, owned by the caller
 * (rowsync_expr_free); it keeps no pointer into text. On a syntax error
 * returns ROWSYNC_EINVAL with "at column N: ..." in err and sets *column
 * (when not NULL) to N, the 1-based position of the offending character
 * in text; *out is untouched. ROWSYNC_ENOMEM when memory runs out. */
int rowsync_expr_parse(rowsync_expr_t **out, const char *text,
                       size_t *column, rowsync_error_t *err);

/* Evaluates expr on row into *out. Text-carried bytes of *out are
 * borrowed: they point into the row (valid until that column is set or
 * the transform call returns) or into expr (valid until its next
 * evaluation or rowsync_expr_free); copy them, or hand *out straight to
 * rowsync_row_set, which copies. Returns 0; ROWSYNC_ENOTFOUND when the
 * row has no column the expression reads (a delete carries only its
 * key); ROWSYNC_ECONVERT on a type error (text in arithmetic, division
 * by zero, ...), the message giving the position in the expression and
 * the columns involved. One expression is evaluated by one thread at a
 * time. */
int rowsync_expr_eval(rowsync_expr_t *expr, const rowsync_row_t *row,
                      rowsync_value_t *out, rowsync_error_t *err);

/* The expression's text as parsed (borrowed, valid as long as expr). */
const char *rowsync_expr_text(const rowsync_expr_t *expr);

/* Frees expr; NULL is allowed. */
void rowsync_expr_free(rowsync_expr_t *expr);

/* One side of a conflict, as a resolver sees it (plugin ABI 1.1). */
typedef struct rowsync_version {
    const char *node;  /* the node the change was first written on */
    int64_t time_us;   /* when, by that node's clock */
    int op;            /* rowsync_op_t: 3 for a delete */
    const rowsync_row_t *row; /* its values by canonical column (read
                                 them with rowsync_row_get); NULL for a
                                 delete */
} rowsync_version_t;

typedef struct rowsync_plugin {
    rowsync_abi_header_t abi;
    const char *name;
    const char *version;
    const char *description;
    const char *const *options; /* NULL-terminated keys accepted in a
                                   [plugin NAME] section besides `module` */

    /* Creates an instance from its options. On failure *out is untouched
     * and err names the option at fault. */
    int (*create)(rowsync_plugin_instance_t **out, size_t noptions,
                  const rowsync_option_t *options, rowsync_error_t *err);
    void (*destroy)(rowsync_plugin_instance_t *inst);
    /* Transforms one change: 0 to keep it, ROWSYNC_DROPPED to drop it, a
     * negative class to fail it (err says why). */
    int (*transform)(rowsync_plugin_instance_t *inst, rowsync_row_t *row,
                     rowsync_error_t *err);

    /* ---- ABI 1.1, optional ---- */

    /* Decides a conflict for `conflict = plugin:NAME`: a key changed on two
     * nodes since the last pass. `incoming` is the change on its way to a
     * node, `held` the version that node has. Returns 1 when incoming
     * wins, 0 when held stays, or a negative class with err set (the
     * batch then fails and nothing of it is applied). The answer must not
     * depend on which side is incoming (resolve(a, b) == !resolve(b, a))
     * or on anything but the two versions, or nodes diverge. The rows are
     * borrowed for the call; a resolver never changes them. */
    int (*resolve)(rowsync_plugin_instance_t *inst, const char *table,
                   const rowsync_version_t *incoming,
                   const rowsync_version_t *held, rowsync_error_t *err);
} rowsync_plugin_t;

#define ROWSYNC_PLUGIN_HEADER                                                \
    {ROWSYNC_PLUGIN_ABI_MAJOR, ROWSYNC_PLUGIN_ABI_MINOR,                     \
     (uint32_t)sizeof(rowsync_plugin_t)}

/* Exported as NAME_LTX_rowsync_plugin_entry. */
typedef int (*rowsync_plugin_entry_fn)(const rowsync_plugin_t **out,
                                       const rowsync_abi_header_t *host);
#define ROWSYNC_PLUGIN_ENTRY_SYMBOL "rowsync_plugin_entry"

#ifdef __cplusplus
}
#endif

#endif
