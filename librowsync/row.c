/* The change in flight handed to transform plugins (plugin.h), the
 * hidden helpers the engine uses to build one and read it back (row.h),
 * and the filter language's expressions as plugins see them
 * (rowsync_expr_*, on top of filter.c).
 * A row owns copies of everything it holds, so a plugin's values and the
 * driver's stream buffers never have to outlive the call that made them. */
#include <config.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "filter.h"
#include "row.h"

/* Whether values of this type carry their data in u.bytes. */
static int row_has_bytes(rowsync_type_t type)
{
    switch (type) {
    case ROWSYNC_TYPE_DECIMAL:
    case ROWSYNC_TYPE_TEXT:
    case ROWSYNC_TYPE_BINARY:
    case ROWSYNC_TYPE_UUID:
    case ROWSYNC_TYPE_JSON:
        return 1;
    default:
        return 0;
    }
}

/* Frees the bytes a row value owns and makes it NULL. */
static void row_value_clear(rowsync_value_t *v)
{
    if (row_has_bytes(v->type))
        free((void *)v->u.bytes.ptr);
    memset(v, 0, sizeof(*v));
    v->type = ROWSYNC_TYPE_NULL;
}

/* Copies src into *dst, duplicating its bytes (plus a NUL so text can be
 * read as a C string). *dst is untouched on failure. Returns 0,
 * ROWSYNC_EINVAL for a type outside the enum, or ROWSYNC_ENOMEM. */
static int row_value_copy(rowsync_value_t *dst, const rowsync_value_t *src)
{
    rowsync_value_t v = *src;

    if ((int)src->type < ROWSYNC_TYPE_NULL || src->type > ROWSYNC_TYPE_JSON)
        return ROWSYNC_EINVAL;
    if (row_has_bytes(src->type)) {
        size_t len = src->u.bytes.len;
        char *copy;

        if (src->u.bytes.ptr == NULL && len > 0)
            return ROWSYNC_EINVAL;
        copy = malloc(len + 1);
        if (copy == NULL)
            return ROWSYNC_ENOMEM;
        if (len > 0)
            memcpy(copy, src->u.bytes.ptr, len);
        copy[len] = '\0';
        v.u.bytes.ptr = copy;
        v.u.bytes.len = len;
    }
    *dst = v;
    return 0;
}

/* Index of the column named column, or -1. */
static long row_find(const rowsync_row_t *row, const char *column)
{
    size_t i;

    for (i = 0; i < row->ncolumns; i++)
        if (strcmp(row->columns[i], column) == 0)
            return (long)i;
    return -1;
}

/* Makes room for at least one more column. Returns 0 or ROWSYNC_ENOMEM;
 * on failure the row is unchanged. */
static int row_grow(rowsync_row_t *row)
{
    size_t cap;
    char **columns;
    rowsync_value_t *values;

    if (row->ncolumns < row->cap)
        return 0;
    cap = row->cap < 8 ? 8 : row->cap * 2;
    columns = realloc(row->columns, cap * sizeof(*columns));
    if (columns == NULL)
        return ROWSYNC_ENOMEM;
    row->columns = columns;
    values = realloc(row->values, cap * sizeof(*values));
    if (values == NULL)
        return ROWSYNC_ENOMEM;
    row->values = values;
    row->cap = cap;
    return 0;
}

/* Appends a column with a copy of v. Returns 0, ROWSYNC_EINVAL or
 * ROWSYNC_ENOMEM; on failure the row is unchanged. */
static int row_append(rowsync_row_t *row, const char *column,
                      const rowsync_value_t *v)
{
    char *name;
    int rc;

    rc = row_grow(row);
    if (rc != 0)
        return rc;
    name = rs_strdup(column);
    if (name == NULL)
        return ROWSYNC_ENOMEM;
    rc = row_value_copy(&row->values[row->ncolumns], v);
    if (rc != 0) {
        free(name);
        return rc;
    }
    row->columns[row->ncolumns++] = name;
    return 0;
}

/* Duplicates s, which may be NULL. Sets *failed on out-of-memory. */
static char *row_strdup_opt(const char *s, int *failed)
{
    char *copy;

    if (s == NULL)
        return NULL;
    copy = rs_strdup(s);
    if (copy == NULL)
        *failed = 1;
    return copy;
}

/* See row.h. */
int rs_row_new(rowsync_row_t **out, int op, const char *table, const char *from,
               const char *to, size_t ncolumns, const char *const *columns,
               const rowsync_value_t *values, size_t nkeys,
               rowsync_error_t *err)
{
    rowsync_row_t *row;
    int failed = 0;
    size_t i;
    int rc;

    if (nkeys > ncolumns)
        return rowsync_error_set(err, ROWSYNC_EINVAL,
                                 "row of table '%s': %zu key columns but "
                                 "only %zu columns",
                                 table != NULL ? table : "", nkeys, ncolumns);
    row = calloc(1, sizeof(*row));
    if (row == NULL)
        return rowsync_error_set(err, ROWSYNC_ENOMEM, "out of memory");
    row->op = op;
    row->nkeys = nkeys;
    row->table = rs_strdup(table != NULL ? table : "");
    row->from = row_strdup_opt(from, &failed);
    row->to = row_strdup_opt(to, &failed);
    if (row->table == NULL || failed) {
        rs_row_free(row);
        return rowsync_error_set(err, ROWSYNC_ENOMEM, "out of memory");
    }
    for (i = 0; i < ncolumns; i++) {
        if (columns[i] == NULL || row_find(row, columns[i]) >= 0) {
            rc = rowsync_error_set(
                err, ROWSYNC_EINVAL, "row of table '%s': column %zu is %s",
                row->table, i + 1,
                columns[i] == NULL ? "unnamed" : "a duplicate");
            rs_row_free(row);
            return rc;
        }
        rc = row_append(row, columns[i], &values[i]);
        if (rc != 0) {
            rowsync_error_set(err, rc,
                              "row of table '%s': cannot copy column "
                              "'%s': %s",
                              row->table, columns[i], rowsync_strerror(rc));
            rs_row_free(row);
            return rc;
        }
    }
    *out = row;
    return 0;
}

/* See row.h. */
void rs_row_free(rowsync_row_t *row)
{
    size_t i;

    if (row == NULL)
        return;
    for (i = 0; i < row->ncolumns; i++) {
        free(row->columns[i]);
        row_value_clear(&row->values[i]);
    }
    free(row->columns);
    free(row->values);
    free(row->table);
    free(row->from);
    free(row->to);
    free(row);
}

const rowsync_value_t *rs_row_values(const rowsync_row_t *row)
{
    return row->values;
}

size_t rs_row_nkeys(const rowsync_row_t *row)
{
    return row->nkeys;
}

/* ---- the plugin-facing API (plugin.h) ------------------------------ */

int rowsync_row_op(const rowsync_row_t *row)
{
    return row->op;
}

const char *rowsync_row_table(const rowsync_row_t *row)
{
    return row->table;
}

const char *rowsync_row_from(const rowsync_row_t *row)
{
    return row->from;
}

const char *rowsync_row_to(const rowsync_row_t *row)
{
    return row->to;
}

size_t rowsync_row_count(const rowsync_row_t *row)
{
    return row->ncolumns;
}

const char *rowsync_row_column(const rowsync_row_t *row, size_t i)
{
    return i < row->ncolumns ? row->columns[i] : NULL;
}

const rowsync_value_t *rowsync_row_get(const rowsync_row_t *row,
                                       const char *column)
{
    long i;

    if (row == NULL || column == NULL)
        return NULL;
    i = row_find(row, column);
    return i >= 0 ? &row->values[i] : NULL;
}

/* Replaces (or adds) a column's value with a copy of v. The copy is made
 * before the old value is freed, so v may point at the row's own value
 * or bytes. On failure the row is unchanged. */
int rowsync_row_set(rowsync_row_t *row, const char *column,
                    const rowsync_value_t *v)
{
    rowsync_value_t copy;
    long i;
    int rc;

    if (row == NULL || column == NULL || v == NULL || column[0] == '\0')
        return ROWSYNC_EINVAL;
    i = row_find(row, column);
    if (i < 0)
        return row_append(row, column, v);
    if ((size_t)i < row->nkeys)
        return ROWSYNC_EINVAL;
    rc = row_value_copy(&copy, v);
    if (rc != 0)
        return rc;
    row_value_clear(&row->values[i]);
    row->values[i] = copy;
    return 0;
}

/* ---- expressions for plugins (plugin.h) ----------------------------- */

struct rowsync_expr {
    rs_filter_t *f;
    const rowsync_value_t **vals; /* per expression column, for eval */
    char buf[RS_FILTER_VALUE_BUF]; /* a DECIMAL result's text */
};

/* Parses text through the filter parser; the error's byte offset becomes
 * a 1-based column in *column and in the message. */
int rowsync_expr_parse(rowsync_expr_t **out, const char *text,
                       size_t *column, rowsync_error_t *err)
{
    rowsync_expr_t *e;
    size_t pos = 0;
    int rc;

    if (out == NULL || text == NULL)
        return rowsync_error_set(err, ROWSYNC_EINVAL,
                                 "no expression to parse");
    e = calloc(1, sizeof(*e));
    if (e == NULL)
        return rowsync_error_set(err, ROWSYNC_ENOMEM, "out of memory");
    rc = rs_filter_parse(&e->f, text, &pos, err);
    if (rc != 0) {
        free(e);
        if (rc == ROWSYNC_EINVAL) {
            if (column != NULL)
                *column = pos + 1;
            rowsync_error_prefix(err, "at column %zu", pos + 1);
        }
        return rc;
    }
    e->vals = calloc(rs_filter_ncolumns(e->f) + 1, sizeof(*e->vals));
    if (e->vals == NULL) {
        rowsync_expr_free(e);
        return rowsync_error_set(err, ROWSYNC_ENOMEM, "out of memory");
    }
    *out = e;
    return 0;
}

/* Looks up each column the expression reads in the row (by canonical
 * name), then evaluates it to a value. */
int rowsync_expr_eval(rowsync_expr_t *expr, const rowsync_row_t *row,
                      rowsync_value_t *out, rowsync_error_t *err)
{
    size_t i, n;

    if (expr == NULL || row == NULL || out == NULL)
        return rowsync_error_set(err, ROWSYNC_EINVAL,
                                 "rowsync_expr_eval: NULL argument");
    n = rs_filter_ncolumns(expr->f);
    for (i = 0; i < n; i++) {
        const char *name = rs_filter_column(expr->f, i);
        long at = row_find(row, name);
        for (size_t c = 0; at < 0 && c < row->ncolumns; c++)
            if (strcasecmp(row->columns[c], name) == 0)
                at = (long)c;
        if (at < 0)
            return rowsync_error_set(
                err, ROWSYNC_ENOTFOUND,
                "the expression reads column '%s', which this %s of table "
                "'%s' does not carry",
                name, row->op == 3 ? "delete" : "change", row->table);
        expr->vals[i] = &row->values[at];
    }
    return rs_filter_value(expr->f, expr->vals, out, expr->buf, err);
}

const char *rowsync_expr_text(const rowsync_expr_t *expr)
{
    return expr != NULL ? rs_filter_text(expr->f) : NULL;
}

void rowsync_expr_free(rowsync_expr_t *expr)
{
    if (expr == NULL)
        return;
    rs_filter_free(expr->f);
    free(expr->vals);
    free(expr);
}
