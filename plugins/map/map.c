/* The `map` transform plugin: replaces a column's value through a lookup
 * table, e.g. status codes between two systems.
 *
 *   [plugin status_codes]
 *   module    = map
 *   column    = status
 *   values    = 'N':'new', 'P':'paid'     ; inline, or:
 *   file      = codes.csv                 ; two columns: from,to
 *   unmatched = keep | null | error       ; default keep
 *
 * A value is looked up by its canonical text; the replacement is TEXT (the
 * engine converts it to the target column's type). NULL is never looked
 * up. In `values`, each side is a single-quoted string ('' for a quote) or
 * a bare word. The CSV file has no header; fields may be double-quoted
 * ("" for a quote). A relative file name is relative to the working
 * directory of the rowsync process.
 */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rowsync/plugin.h>

enum map_unmatched { MAP_KEEP, MAP_NULL, MAP_ERROR };

struct rowsync_plugin_instance {
    char *column;
    char **from; /* parallel arrays of NUL-terminated strings */
    char **to;
    size_t n;
    enum map_unmatched unmatched;
};

static void map_destroy(rowsync_plugin_instance_t *inst)
{
    size_t i;

    if (inst == NULL)
        return;
    for (i = 0; i < inst->n; i++) {
        free(inst->from[i]);
        free(inst->to[i]);
    }
    free(inst->from);
    free(inst->to);
    free(inst->column);
    free(inst);
}

/* Copies n bytes of s into a new NUL-terminated string (NULL: no memory). */
static char *map_strndup(const char *s, size_t n)
{
    char *p = malloc(n + 1);

    if (p != NULL) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

/* Appends one pair; takes ownership of from and to (frees them on
 * failure). A later pair for the same value replaces an earlier one. */
static int map_add(rowsync_plugin_instance_t *inst, char *from, char *to,
                   rowsync_error_t *err)
{
    char **f, **t;
    size_t i;

    if (from == NULL || to == NULL) {
        free(from);
        free(to);
        return rowsync_error_set(err, ROWSYNC_ENOMEM, "out of memory");
    }
    for (i = 0; i < inst->n; i++)
        if (strcmp(inst->from[i], from) == 0) {
            free(inst->to[i]);
            inst->to[i] = to;
            free(from);
            return 0;
        }
    f = realloc(inst->from, (inst->n + 1) * sizeof(*f));
    if (f != NULL)
        inst->from = f;
    t = f != NULL ? realloc(inst->to, (inst->n + 1) * sizeof(*t)) : NULL;
    if (t == NULL) {
        free(from);
        free(to);
        return rowsync_error_set(err, ROWSYNC_ENOMEM, "out of memory");
    }
    inst->to = t;
    inst->from[inst->n] = from;
    inst->to[inst->n] = to;
    inst->n++;
    return 0;
}

/* Reads one side of an inline pair at *p: 'quoted' or a bare word (up to
 * ':', ',' or blank). Advances *p past it; NULL on a syntax error (with
 * *bad set) or no memory. */
static char *map_inline_word(const char **p, int *bad)
{
    const char *s = *p;

    while (*s == ' ' || *s == '\t')
        s++;
    if (*s == '\'') {
        rowsync_buf_t b = {0};
        char *out;

        s++;
        for (;;) {
            if (*s == '\0') {
                rowsync_buf_free(&b);
                *bad = 1;
                return NULL;
            }
            if (*s == '\'' && s[1] == '\'') {
                rowsync_buf_add(&b, "'", 1);
                s += 2;
            } else if (*s == '\'') {
                s++;
                break;
            } else {
                rowsync_buf_add(&b, s, 1);
                s++;
            }
        }
        out = b.oom ? NULL : map_strndup(b.p != NULL ? b.p : "", b.len);
        rowsync_buf_free(&b);
        *p = s;
        return out;
    } else {
        const char *start = s;

        while (*s != '\0' && *s != ':' && *s != ',' && *s != ' ' && *s != '\t')
            s++;
        if (s == start) {
            *bad = 1;
            return NULL;
        }
        *p = s;
        return map_strndup(start, (size_t)(s - start));
    }
}

/* Parses `values`: pairs from:to separated by commas. */
static int map_parse_inline(rowsync_plugin_instance_t *inst, const char *values,
                            rowsync_error_t *err)
{
    const char *p = values;

    for (;;) {
        int bad = 0, rc;
        char *from = map_inline_word(&p, &bad), *to = NULL;

        if (from != NULL) {
            while (*p == ' ' || *p == '\t')
                p++;
            if (*p == ':') {
                p++;
                to = map_inline_word(&p, &bad);
            } else
                bad = 1;
        }
        if (bad) {
            free(from);
            free(to);
            return rowsync_error_set(err, ROWSYNC_EINVAL,
                                     "plugin map: option 'values' near "
                                     "column %d: expected 'from':'to' pairs "
                                     "separated by commas",
                                     (int)(p - values) + 1);
        }
        rc = map_add(inst, from, to, err);
        if (rc != 0)
            return rc;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0')
            return 0;
        if (*p != ',')
            return rowsync_error_set(err, ROWSYNC_EINVAL,
                                     "plugin map: option 'values' near "
                                     "column %d: expected ',' between pairs",
                                     (int)(p - values) + 1);
        p++;
    }
}

/* Reads one CSV field at *p of line (double quotes optional). Stops at
 * ',' or end of line; NULL on an unterminated quote (*bad) or no memory. */
static char *map_csv_field(const char **p, int *bad)
{
    const char *s = *p;
    rowsync_buf_t b = {0};
    char *out;

    if (*s == '"') {
        s++;
        for (;;) {
            if (*s == '\0') {
                rowsync_buf_free(&b);
                *bad = 1;
                return NULL;
            }
            if (*s == '"' && s[1] == '"') {
                rowsync_buf_add(&b, "\"", 1);
                s += 2;
            } else if (*s == '"') {
                s++;
                break;
            } else
                rowsync_buf_add(&b, s++, 1);
        }
    } else {
        while (*s != '\0' && *s != ',')
            rowsync_buf_add(&b, s++, 1);
    }
    out = b.oom ? NULL : map_strndup(b.p != NULL ? b.p : "", b.len);
    rowsync_buf_free(&b);
    *p = s;
    return out;
}

/* Loads pairs from a two-column CSV file; blank lines are skipped. */
static int map_parse_file(rowsync_plugin_instance_t *inst, const char *path,
                          rowsync_error_t *err)
{
    FILE *f = fopen(path, "r");
    char line[4096];
    int lineno = 0, rc = 0;

    if (f == NULL)
        return rowsync_error_set(err, ROWSYNC_EINVAL,
                                 "plugin map: cannot open file '%s': %s", path,
                                 strerror(errno));
    while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
        size_t len = strlen(line);
        const char *p = line;
        char *from, *to = NULL;
        int bad = 0;

        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (len == 0)
            continue;
        from = map_csv_field(&p, &bad);
        if (from != NULL && *p == ',') {
            p++;
            to = map_csv_field(&p, &bad);
        } else
            bad = 1;
        if (to != NULL && *p != '\0')
            bad = 1;
        if (bad) {
            free(from);
            free(to);
            rc = rowsync_error_set(err, ROWSYNC_EINVAL,
                                   "plugin map: %s:%d: expected two "
                                   "comma-separated fields",
                                   path, lineno);
            break;
        }
        rc = map_add(inst, from, to, err);
    }
    fclose(f);
    return rc;
}

/* Creates an instance: `column` and exactly one of `values`, `file`. */
static int map_create(rowsync_plugin_instance_t **out, size_t noptions,
                      const rowsync_option_t *options, rowsync_error_t *err)
{
    rowsync_plugin_instance_t *inst;
    const char *column = NULL, *values = NULL, *file = NULL;
    const char *unmatched = "keep";
    size_t i;
    int rc;

    for (i = 0; i < noptions; i++) {
        const char *k = options[i].key;

        if (strcmp(k, "column") == 0)
            column = options[i].value;
        else if (strcmp(k, "values") == 0)
            values = options[i].value;
        else if (strcmp(k, "file") == 0)
            file = options[i].value;
        else if (strcmp(k, "unmatched") == 0)
            unmatched = options[i].value;
        else
            return rowsync_error_set(err, ROWSYNC_EINVAL,
                                     "plugin map: unknown option '%s'", k);
    }
    if (column == NULL || column[0] == '\0')
        return rowsync_error_set(err, ROWSYNC_EINVAL,
                                 "plugin map: option 'column' is required");
    if ((values == NULL) == (file == NULL))
        return rowsync_error_set(err, ROWSYNC_EINVAL,
                                 "plugin map: give exactly one of the options "
                                 "'values' and 'file'");
    inst = calloc(1, sizeof(*inst));
    if (inst == NULL)
        return rowsync_error_set(err, ROWSYNC_ENOMEM, "out of memory");
    if (strcmp(unmatched, "keep") == 0)
        inst->unmatched = MAP_KEEP;
    else if (strcmp(unmatched, "null") == 0)
        inst->unmatched = MAP_NULL;
    else if (strcmp(unmatched, "error") == 0)
        inst->unmatched = MAP_ERROR;
    else {
        map_destroy(inst);
        return rowsync_error_set(err, ROWSYNC_EINVAL,
                                 "plugin map: option 'unmatched' is '%s'; "
                                 "expected keep, null or error",
                                 unmatched);
    }
    inst->column = map_strndup(column, strlen(column));
    if (inst->column == NULL) {
        map_destroy(inst);
        return rowsync_error_set(err, ROWSYNC_ENOMEM, "out of memory");
    }
    rc = values != NULL ? map_parse_inline(inst, values, err)
                        : map_parse_file(inst, file, err);
    if (rc != 0) {
        map_destroy(inst);
        return rc;
    }
    *out = inst;
    return 0;
}

/* Replaces the column's value by its mapping; unmatched values are kept,
 * set to NULL or fail the change, as configured. */
static int map_transform(rowsync_plugin_instance_t *inst, rowsync_row_t *row,
                         rowsync_error_t *err)
{
    const rowsync_value_t *v = rowsync_row_get(row, inst->column);
    rowsync_value_t nv;
    char small[128], *text = small;
    size_t len, i;
    int rc;

    if (v == NULL || v->type == ROWSYNC_TYPE_NULL)
        return 0;
    len = rowsync_value_format(v, small, sizeof(small));
    if (len >= sizeof(small)) {
        text = malloc(len + 1);
        if (text == NULL)
            return rowsync_error_set(err, ROWSYNC_ENOMEM, "out of memory");
        rowsync_value_format(v, text, len + 1);
    }
    for (i = 0; i < inst->n; i++)
        if (strlen(inst->from[i]) == len &&
            memcmp(inst->from[i], text, len) == 0)
            break;
    memset(&nv, 0, sizeof(nv));
    if (i < inst->n) {
        nv.type = ROWSYNC_TYPE_TEXT;
        nv.u.bytes.ptr = inst->to[i];
        nv.u.bytes.len = strlen(inst->to[i]);
    } else if (inst->unmatched == MAP_KEEP) {
        if (text != small)
            free(text);
        return 0;
    } else if (inst->unmatched == MAP_ERROR) {
        rc = rowsync_error_set(err, ROWSYNC_ECONVERT,
                               "plugin map: column '%s' of table '%s': no "
                               "mapping for value '%s'",
                               inst->column, rowsync_row_table(row), text);
        if (text != small)
            free(text);
        return rc;
    } else
        nv.type = ROWSYNC_TYPE_NULL;
    if (text != small)
        free(text);
    rc = rowsync_row_set(row, inst->column, &nv);
    if (rc != 0)
        return rowsync_error_set(err, rc,
                                 "plugin map: cannot set column '%s' of "
                                 "table '%s': %s",
                                 inst->column, rowsync_row_table(row),
                                 rc == ROWSYNC_EINVAL ? "it is part of the key"
                                                      : rowsync_strerror(rc));
    return 0;
}

static const char *const map_options[] = {"column", "values", "file",
                                          "unmatched", NULL};

static const rowsync_plugin_t map_plugin = {
    .abi = ROWSYNC_PLUGIN_HEADER,
    .name = "map",
    .version = PACKAGE_VERSION,
    .description = "replaces a column's values through a lookup table",
    .options = map_options,
    .create = map_create,
    .destroy = map_destroy,
    .transform = map_transform,
};

int map_LTX_rowsync_plugin_entry(const rowsync_plugin_t **out,
                                 const rowsync_abi_header_t *host);
/* Hands the core the plugin table when the host speaks ABI major 1. */
int map_LTX_rowsync_plugin_entry(const rowsync_plugin_t **out,
                                 const rowsync_abi_header_t *host)
{
    if (host->major != ROWSYNC_PLUGIN_ABI_MAJOR)
        return ROWSYNC_EABI;
    *out = &map_plugin;
    return 0;
}
