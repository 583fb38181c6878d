/* The `set` transform plugin: sets a column to a constant on every change
 * (insert and update; deletes pass unchanged).
 *
 *   [plugin stamp]
 *   module = set
 *   column = updated_by
 *   value  = 'rowsync'
 *
 * The value is a literal of the filter language: a single-quoted string
 * ('' for a quote) becomes TEXT, an integer INT, a number with a point
 * DECIMAL, TRUE/FALSE BOOL, NULL NULL. The column is added when the row
 * does not have it. Expressions (qty * 2) are not supported yet: the
 * filter evaluator is internal to librowsync and has no public API.
 */
#include <config.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <rowsync/plugin.h>

struct rowsync_plugin_instance {
    char *column;
    char *text; /* bytes of a TEXT or DECIMAL value */
    rowsync_value_t value;
};

static void set_destroy(rowsync_plugin_instance_t *inst)
{
    if (inst == NULL)
        return;
    free(inst->column);
    free(inst->text);
    free(inst);
}

/* Parses a literal into inst->value (and inst->text). Returns 0,
 * ROWSYNC_EINVAL or ROWSYNC_ENOMEM. */
static int set_parse_value(rowsync_plugin_instance_t *inst, const char *lit,
                           rowsync_error_t *err)
{
    size_t len = strlen(lit), i, n = 0;
    int digits = 0, dots = 0;

    while (len > 0 && (lit[len - 1] == ' ' || lit[len - 1] == '\t'))
        len--;
    while (len > 0 && (*lit == ' ' || *lit == '\t')) {
        lit++;
        len--;
    }
    if (len >= 2 && lit[0] == '\'' && lit[len - 1] == '\'') {
        inst->text = malloc(len);
        if (inst->text == NULL)
            return rowsync_error_set(err, ROWSYNC_ENOMEM, "out of memory");
        for (i = 1; i + 1 < len; i++) {
            if (lit[i] == '\'') {
                if (i + 2 < len && lit[i + 1] == '\'')
                    i++;
                else
                    goto bad;
            }
            inst->text[n++] = lit[i];
        }
        inst->text[n] = '\0';
        inst->value.type = ROWSYNC_TYPE_TEXT;
        inst->value.u.bytes.ptr = inst->text;
        inst->value.u.bytes.len = n;
        return 0;
    }
    if (len == 4 && strncasecmp(lit, "null", 4) == 0) {
        inst->value.type = ROWSYNC_TYPE_NULL;
        return 0;
    }
    if ((len == 4 && strncasecmp(lit, "true", 4) == 0) ||
        (len == 5 && strncasecmp(lit, "false", 5) == 0)) {
        inst->value.type = ROWSYNC_TYPE_BOOL;
        inst->value.u.b = len == 4;
        return 0;
    }
    for (i = (len > 0 && lit[0] == '-') ? 1 : 0; i < len; i++) {
        if (lit[i] >= '0' && lit[i] <= '9')
            digits++;
        else if (lit[i] == '.' && dots == 0)
            dots++;
        else
            goto bad;
    }
    if (digits == 0)
        goto bad;
    inst->text = malloc(len + 1);
    if (inst->text == NULL)
        return rowsync_error_set(err, ROWSYNC_ENOMEM, "out of memory");
    memcpy(inst->text, lit, len);
    inst->text[len] = '\0';
    if (dots == 0 && digits <= 18) {
        inst->value.type = ROWSYNC_TYPE_INT;
        inst->value.u.i = strtoll(inst->text, NULL, 10);
    } else {
        inst->value.type = ROWSYNC_TYPE_DECIMAL;
        inst->value.u.bytes.ptr = inst->text;
        inst->value.u.bytes.len = len;
    }
    return 0;
bad:
    return rowsync_error_set(err, ROWSYNC_EINVAL,
                             "plugin set: option 'value' must be a constant "
                             "('text', a number, TRUE, FALSE or NULL); "
                             "expressions are not supported yet");
}

/* Creates an instance; `column` and `value` are both required. */
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
    rc = set_parse_value(inst, value, err);
    if (rc != 0) {
        set_destroy(inst);
        return rc;
    }
    *out = inst;
    return 0;
}

/* Sets the column on inserts and updates. */
static int set_transform(rowsync_plugin_instance_t *inst, rowsync_row_t *row,
                         rowsync_error_t *err)
{
    int rc;

    if (rowsync_row_op(row) == 3) /* delete: rowsync_op_t is in driver.h */
        return 0;
    rc = rowsync_row_set(row, inst->column, &inst->value);
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
    .description = "sets a column to a constant",
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
