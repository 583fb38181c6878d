/* trim: an out-of-tree rowsync transform plugin.
 *
 * Removes leading and trailing blanks (space, tab, CR, LF) from the TEXT
 * values of the columns named in its `columns` option, and drops a change
 * whose `drop_empty` column ends up empty, if that option is set:
 *
 *   [table customers]
 *   plugins = tidy
 *
 *   [plugin tidy]
 *   module     = trim
 *   columns    = name, email
 *   drop_empty = email          ; optional
 *
 * Build it against an installed rowsync with the Makefile next to this
 * file (pkg-config --cflags --libs rowsync). The module file is trim.so;
 * the entry point must be called trim_LTX_rowsync_plugin_entry (module
 * name, "_LTX_", entry name), and it is the only symbol the core looks up.
 */
#include <stdlib.h>
#include <string.h>

#include <rowsync/plugin.h>

struct rowsync_plugin_instance {
    char **columns;
    size_t ncolumns;
    char *drop_empty; /* or NULL */
};

static void trim_destroy(rowsync_plugin_instance_t *inst)
{
    size_t i;

    if (inst == NULL)
        return;
    for (i = 0; i < inst->ncolumns; i++)
        free(inst->columns[i]);
    free(inst->columns);
    free(inst->drop_empty);
    free(inst);
}

static int trim_is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* A malloc'ed copy of s[0..n) without surrounding blanks (NULL: no
 * memory). */
static char *trim_copy(const char *s, size_t n)
{
    char *out;

    while (n > 0 && trim_is_blank(*s)) {
        s++;
        n--;
    }
    while (n > 0 && trim_is_blank(s[n - 1]))
        n--;
    out = malloc(n + 1);
    if (out != NULL) {
        memcpy(out, s, n);
        out[n] = '\0';
    }
    return out;
}

/* Creates an instance from the [plugin NAME] options. The core has
 * already rejected keys that are not in trim_options; we check values. */
static int trim_create(rowsync_plugin_instance_t **out, size_t noptions,
                       const rowsync_option_t *options, rowsync_error_t *err)
{
    rowsync_plugin_instance_t *inst = calloc(1, sizeof(*inst));
    const char *columns = NULL, *p;
    size_t i;

    if (inst == NULL)
        return rowsync_error_set(err, ROWSYNC_ENOMEM, "out of memory");
    for (i = 0; i < noptions; i++) {
        if (strcmp(options[i].key, "columns") == 0)
            columns = options[i].value;
        else if (strcmp(options[i].key, "drop_empty") == 0) {
            free(inst->drop_empty);
            inst->drop_empty =
                trim_copy(options[i].value, strlen(options[i].value));
            if (inst->drop_empty == NULL)
                goto nomem;
        }
    }
    if (columns == NULL || columns[0] == '\0') {
        trim_destroy(inst);
        return rowsync_error_set(err, ROWSYNC_EINVAL,
                                 "plugin trim: option 'columns' is required");
    }
    for (p = columns;;) {
        const char *end = strchr(p, ',');
        size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
        char **grown =
            realloc(inst->columns, (inst->ncolumns + 1) * sizeof(*grown));

        if (grown == NULL)
            goto nomem;
        inst->columns = grown;
        inst->columns[inst->ncolumns] = trim_copy(p, n);
        if (inst->columns[inst->ncolumns] == NULL)
            goto nomem;
        inst->ncolumns++;
        if (end == NULL)
            break;
        p = end + 1;
    }
    *out = inst;
    return 0;
nomem:
    trim_destroy(inst);
    return rowsync_error_set(err, ROWSYNC_ENOMEM, "out of memory");
}

/* Trims the configured TEXT columns; drops the change when drop_empty
 * names a column that is empty afterwards. Values the row does not have,
 * NULLs and other types pass unchanged. */
static int trim_transform(rowsync_plugin_instance_t *inst, rowsync_row_t *row,
                          rowsync_error_t *err)
{
    const rowsync_value_t *v;
    size_t i;

    for (i = 0; i < inst->ncolumns; i++) {
        rowsync_value_t nv;
        char *text;
        int rc;

        v = rowsync_row_get(row, inst->columns[i]);
        if (v == NULL || v->type != ROWSYNC_TYPE_TEXT)
            continue;
        text = trim_copy(v->u.bytes.ptr, v->u.bytes.len);
        if (text == NULL)
            return rowsync_error_set(err, ROWSYNC_ENOMEM, "out of memory");
        nv = *v;
        nv.u.bytes.ptr = text;
        nv.u.bytes.len = strlen(text);
        /* rowsync_row_set copies the bytes: ours can go right after */
        rc = rowsync_row_set(row, inst->columns[i], &nv);
        free(text);
        if (rc != 0)
            return rowsync_error_set(err, rc,
                                     "plugin trim: cannot set column '%s' "
                                     "of table '%s'",
                                     inst->columns[i], rowsync_row_table(row));
    }
    if (inst->drop_empty != NULL) {
        v = rowsync_row_get(row, inst->drop_empty);
        if (v != NULL && v->type == ROWSYNC_TYPE_TEXT && v->u.bytes.len == 0)
            return ROWSYNC_DROPPED;
    }
    return 0;
}

static const char *const trim_options[] = {"columns", "drop_empty", NULL};

static const rowsync_plugin_t trim_plugin = {
    .abi = ROWSYNC_PLUGIN_HEADER,
    .name = "trim",
    .version = "1.0",
    .description = "trims blanks around text values (example plugin)",
    .options = trim_options,
    .create = trim_create,
    .destroy = trim_destroy,
    .transform = trim_transform,
};

/* The entry point: refuse a host of another major ABI version. */
int trim_LTX_rowsync_plugin_entry(const rowsync_plugin_t **out,
                                  const rowsync_abi_header_t *host);
int trim_LTX_rowsync_plugin_entry(const rowsync_plugin_t **out,
                                  const rowsync_abi_header_t *host)
{
    if (host->major != ROWSYNC_PLUGIN_ABI_MAJOR)
        return ROWSYNC_EABI;
    *out = &trim_plugin;
    return 0;
}
