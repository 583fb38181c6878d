/* The `prefer` conflict resolver: when a key changed on two nodes, the
 * version with the larger (or smaller) value of one column wins, e.g. a
 * version counter, a stock level that only goes down, a status that only
 * moves forward.
 *
 *   [plugin highest_version]
 *   module = prefer
 *   column = version
 *   keep   = max            ; max (default) or min
 *
 *   [job]
 *   conflict = plugin:highest_version
 *
 * A delete, or a NULL in the column, has no value and loses to a version
 * that has one. When the values are equal (or neither has one) the later
 * change wins, and on equal times the node whose name sorts first, so the
 * answer never depends on which side is incoming. Changes pass through
 * transform untouched.
 */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include <rowsync/plugin.h>

struct rowsync_plugin_instance {
    char *column;
    int keep_min;
};

static void prefer_destroy(rowsync_plugin_instance_t *inst)
{
    if (inst == NULL)
        return;
    free(inst->column);
    free(inst);
}

/* Creates an instance: `column` is required, `keep` is max or min. */
static int prefer_create(rowsync_plugin_instance_t **out, size_t noptions,
                         const rowsync_option_t *options, rowsync_error_t *err)
{
    const char *column = NULL, *keep = "max";
    for (size_t i = 0; i < noptions; i++) {
        if (strcmp(options[i].key, "column") == 0)
            column = options[i].value;
        else if (strcmp(options[i].key, "keep") == 0)
            keep = options[i].value;
        else
            return rowsync_error_set(err, ROWSYNC_EINVAL,
                                     "plugin prefer: unknown option '%s'",
                                     options[i].key);
    }
    if (column == NULL || *column == '\0')
        return rowsync_error_set(err, ROWSYNC_EINVAL,
                                 "plugin prefer: the option 'column' is "
                                 "required");
    if (strcmp(keep, "max") != 0 && strcmp(keep, "min") != 0)
        return rowsync_error_set(err, ROWSYNC_EINVAL,
                                 "plugin prefer: keep must be max or min, "
                                 "not '%s'",
                                 keep);
    rowsync_plugin_instance_t *inst = calloc(1, sizeof(*inst));
    if (inst == NULL || (inst->column = strdup(column)) == NULL) {
        free(inst);
        return rowsync_error_set(err, ROWSYNC_ENOMEM, "out of memory");
    }
    inst->keep_min = strcmp(keep, "min") == 0;
    *out = inst;
    return 0;
}

static int prefer_transform(rowsync_plugin_instance_t *inst,
                            rowsync_row_t *row, rowsync_error_t *err)
{
    (void)inst;
    (void)row;
    (void)err;
    return 0;
}

/* The version's value of the column, or NULL when it has none. */
static const rowsync_value_t *prefer_value(const rowsync_plugin_instance_t *inst,
                                           const rowsync_version_t *v)
{
    if (v->row == NULL)
        return NULL;
    const rowsync_value_t *val = rowsync_row_get(v->row, inst->column);
    return val && val->type != ROWSYNC_TYPE_NULL ? val : NULL;
}

/* 1 when incoming wins: the preferred value, then the later change, then
 * the node name that sorts first. */
static int prefer_resolve(rowsync_plugin_instance_t *inst, const char *table,
                          const rowsync_version_t *incoming,
                          const rowsync_version_t *held, rowsync_error_t *err)
{
    (void)table;
    (void)err;
    const rowsync_value_t *a = prefer_value(inst, incoming);
    const rowsync_value_t *b = prefer_value(inst, held);
    if (a && !b)
        return 1;
    if (b && !a)
        return 0;
    if (a && b) {
        int c = rowsync_value_compare(a, b);
        if (c != 0)
            return inst->keep_min ? c < 0 : c > 0;
    }
    if (incoming->time_us != held->time_us)
        return incoming->time_us > held->time_us;
    return strcmp(incoming->node, held->node) < 0;
}

static const char *const prefer_options[] = {"column", "keep", NULL};

static const rowsync_plugin_t prefer_plugin = {
    .abi = ROWSYNC_PLUGIN_HEADER,
    .name = "prefer",
    .version = PACKAGE_VERSION,
    .description = "conflict resolver: the version with the larger (or "
                   "smaller) value of a column wins",
    .options = prefer_options,
    .create = prefer_create,
    .destroy = prefer_destroy,
    .transform = prefer_transform,
    .resolve = prefer_resolve,
};

int prefer_LTX_rowsync_plugin_entry(const rowsync_plugin_t **out,
                                    const rowsync_abi_header_t *host);
/* Hands the core the plugin table when the host speaks ABI major 1. */
int prefer_LTX_rowsync_plugin_entry(const rowsync_plugin_t **out,
                                    const rowsync_abi_header_t *host)
{
    if (host->major != ROWSYNC_PLUGIN_ABI_MAJOR)
        return ROWSYNC_EABI;
    *out = &prefer_plugin;
    return 0;
}
