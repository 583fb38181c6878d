/* The `set` transform plugin: sets a column to the value of an expression
 * on every change (insert and update; deletes pass unchanged).
 *
 *   [plugin stamp]
 *   module = set
 *   column = updated_by
 *   value  = 'rowsync'
 *
 *   [plugin double]
 *   module = set
 *   column = total
 *   value  = price * qty
 *
 * The value is an expression of the filter language, parsed once with
 * rowsync_expr_parse and evaluated on each change's canonical columns with
 * rowsync_expr_eval (plugin.h): a constant ('text', 12, 2.50, TRUE, NULL,
 * DATE '2024-01-31') or a computation over the change's columns. The
 * column is added when the row does not have it.
 */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include <rowsync/plugin.h>

struct rowsync_plugin_instance {
    char *column;
    rowsync_expr_t *expr;
};

static void set_destroy(rowsync_plugin_instance_t *inst)
{
    if (inst == NULL)
        return;
    free(inst->column);
    rowsync_expr_free(inst->expr);
    free(inst);
}

/* Creates an instance; `column` and `value` are both required, and value
 * must parse as an expression (the error gives its column). */
static int set_create(rowsync_plugin_instance_t **out, size_t noptions,
                      const rowsync_option_t *options, rowsync_error_t *err)
{
    rowsync_plugin_instance_t *inst;
    const char *column = NULL, *value = NULL;
    size_t i;
    int rc;

    for (i = 0; i < noptions; i++) {
        if (strcmp(options[i].key, "column") == 0)
            column = options[i].value;
        else if (strcmp(options[i].key, "value") == 0)
            value = options[i].value;
        else
            return rowsync_error_set(err, ROWSYNC_EINVAL,
                                     "plugin set: unknown option '%s'",
                                     options[i].key);
    }
    if (column == NULL || column[0] == '\0')
        return rowsync_error_set(err, ROWSYNC_EINVAL,
                                 "plugin set: option 'column' is required");
    if (value == NULL)
        return rowsync_error_set(err, ROWSYNC_EINVAL,
                                 "plugin set: option 'value' is required");
    inst = calloc(1, sizeof(*inst));
    if (inst == NULL)
        return rowsync_error_set(err, ROWSYNC_ENOMEM, "out of memory");
    inst->column = malloc(strlen(column) + 1);
    if (inst->column == NULL) {
        set_destroy(inst);
        return rowsync_error_set(err, ROWSYNC_ENOMEM, "out of memory");
    }
    strcpy(inst->column, column);
    rc = rowsync_expr_parse(&inst->expr, value, NULL, err);
    if (rc != 0) {
        set_destroy(inst);
        rowsync_error_prefix(err, "plugin set: option 'value' (%s)", value);
        return rc;
    }
    *out = inst;
    return 0;
}

/* Sets the column to the expression's value on inserts and updates. */
static int set_transform(rowsync_plugin_instance_t *inst, rowsync_row_t *row,
                         rowsync_error_t *err)
{
    rowsync_value_t v;
    int rc;

    if (rowsync_row_op(row) == 3) /* delete: rowsync_op_t is in driver.h */
        return 0;
    rc = rowsync_expr_eval(inst->expr, row, &v, err);
    if (rc != 0) {
        rowsync_error_prefix(err, "plugin set: %s = %s", inst->column,
                             rowsync_expr_text(inst->expr));
        return rc;
    }
    rc = rowsync_row_set(row, inst->column, &v);
    if (rc != 0)
        return rowsync_error_set(err, rc,
                                 "plugin set: cannot set column '%s' of "
                                 "table '%s': %s",
                                 inst->column, rowsync_row_table(row),
                                 rc == ROWSYNC_EINVAL ? "it is part of the key"
                                                      : rowsync_strerror(rc));
    return 0;
}

static const char *const set_options[] = {"column", "value", NULL};

static const rowsync_plugin_t set_plugin = {
    .abi = ROWSYNC_PLUGIN_HEADER,
    .name = "set",
    .version = PACKAGE_VERSION,
    .description = "sets a column to a constant or an expression",
    .options = set_options,
    .create = set_create,
    .destroy = set_destroy,
    .transform = set_transform,
};

int set_LTX_rowsync_plugin_entry(const rowsync_plugin_t **out,
                                 const rowsync_abi_header_t *host);
/* Hands the core the plugin table when the host speaks ABI major 1. */
int set_LTX_rowsync_plugin_entry(const rowsync_plugin_t **out,
                                 const rowsync_abi_header_t *host)
{
    if (host->major != ROWSYNC_PLUGIN_ABI_MAJOR)
        return ROWSYNC_EABI;
    *out = &set_plugin;
    return 0;
}
