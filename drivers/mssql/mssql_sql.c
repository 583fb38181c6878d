/* The SQL Server driver's T-SQL texts. Pure text building: no db-lib
 * call, so tests/drivers/check_mssql_unit.c compares every text with the
 * files in tests/drivers/mssql/expected/.
 *
 * Values never appear here. Statements that take values name parameters
 * that mss_rpc (mssql.c) sends through sp_executesql. Every such
 * parameter travels as nvarchar(max) (varbinary(max) for binary) with one
 * leading filler character (byte), and the text strips it with
 * SUBSTRING(@p, 2, ...): db-lib cannot tell an empty parameter from a
 * NULL one, the filler can (NULL stays NULL, "" arrives as "x").
 * Identifiers are quoted with [brackets], ] doubled; identifier text that
 * must be a string literal (OBJECT_ID(N'...')) is an N'...' literal with
 * ' doubled. */
#include <config.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mssql.h"

/* ---- quoting ---------------------------------------------------------- */

/* Appends ident quoted as [ident] with ] doubled. */
void mss_buf_ident(rowsync_buf_t *b, const char *ident)
{
    const char *s;

    rowsync_buf_add(b, "[", 1);
    for (s = ident; *s; s++) {
        if (*s == ']')
            rowsync_buf_add(b, "]]", 2);
        else
            rowsync_buf_add(b, s, 1);
    }
    rowsync_buf_add(b, "]", 1);
}

void mss_buf_literal(rowsync_buf_t *b, const char *text)
{
    const char *s;

    rowsync_buf_add(b, "N'", 2);
    for (s = text; *s; s++) {
        if (*s == '\'')
            rowsync_buf_add(b, "''", 2);
        else
            rowsync_buf_add(b, s, 1);
    }
    rowsync_buf_add(b, "'", 1);
}


/* Counts UTF-8 characters (continuation bytes are not counted). */
static size_t mss_utf8_chars(const char *s)
{
    size_t n = 0;

    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

int mss_quote_ident(const char *ident, char *buf, size_t len)
{
    size_t need = 2, i, o = 0;
    const char *s;

    if (ident == NULL || ident[0] == '\0' ||
        mss_utf8_chars(ident) > MSS_NAME_MAX)
        return ROWSYNC_EINVAL;
    for (s = ident; *s; s++)
        need += *s == ']' ? 2 : 1;
    if (buf != NULL && len > 0) {
        if (o + 1 < len)
            buf[o++] = '[';
        for (i = 0; ident[i] && o + 1 < len; i++) {
            buf[o++] = ident[i];
            if (ident[i] == ']' && o + 1 < len)
                buf[o++] = ']';
        }
        if (o + 1 < len)
            buf[o++] = ']';
        buf[o] = '\0';
    }
    return (int)need;
}

/* Reads one name part at *pp: [bracketed] (]] = ]) or plain up to '.'.
 * Advances *pp past it. 0, or ROWSYNC_EINVAL. */
static int mss_name_part(const char **pp, char *out, size_t len)
{
    const char *p = *pp;
    size_t o = 0;

    if (*p == '[') {
        p++;
        for (;;) {
            if (*p == '\0')
                return ROWSYNC_EINVAL;
            if (*p == ']') {
                if (p[1] != ']')
                    break;
                p++;
            }
            if (o + 1 >= len)
                return ROWSYNC_EINVAL;
            out[o++] = *p++;
        }
        p++;
    } else {
        while (*p && *p != '.') {
            if (o + 1 >= len)
                return ROWSYNC_EINVAL;
            out[o++] = *p++;
        }
    }
    out[o] = '\0';
    *pp = p;
    return o > 0 ? 0 : ROWSYNC_EINVAL;
}

int mss_split_name(const char *name, char *schema, size_t slen, char *table,
                   size_t tlen)
{
    const char *p = name;
    char first[4 * MSS_NAME_MAX + 1];

    if (name == NULL || mss_name_part(&p, first, sizeof first) < 0)
        return ROWSYNC_EINVAL;
    if (*p == '\0') {
        if (strlen(first) + 1 > tlen || slen == 0)
            return ROWSYNC_EINVAL;
        schema[0] = '\0';
        strcpy(table, first);
        return 0;
    }
    if (*p != '.')
        return ROWSYNC_EINVAL;
    p++;
    if (mss_name_part(&p, table, tlen) < 0 || *p != '\0')
        return ROWSYNC_EINVAL;
    if (strlen(first) + 1 > slen)
        return ROWSYNC_EINVAL;
    strcpy(schema, first);
    return 0;
}

/* FNV-1a, for the suffix of names cut to fit. */
static uint32_t mss_hash(const char *s)
{
    uint32_t h = 2166136261u;

    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 16777619u;
    }
    return h;
}

/* Writes prefix + name into out, cut to MSS_NAME_MAX characters (at a
 * UTF-8 boundary) with "_" and 8 hex digits of the full name's hash when
 * it is longer. */
static void mss_fit_name(const char *full, char *out, size_t len)
{
    size_t chars = 0, i;

    if (mss_utf8_chars(full) <= MSS_NAME_MAX && strlen(full) < len) {
        snprintf(out, len, "%s", full);
        return;
    }
    for (i = 0; full[i]; i++) {
        if (((unsigned char)full[i] & 0xC0) != 0x80) {
            if (chars == MSS_NAME_MAX - 9)
                break;
            chars++;
        }
        if (i + 10 >= len)
            break;
    }
    /* i is at a character boundary unless the byte limit hit first */
    while (i > 0 && ((unsigned char)full[i] & 0xC0) == 0x80)
        i--;
    snprintf(out, len, "%.*s_%08x", (int)i, full, mss_hash(full));
}

void mss_hist_name(const char *schema, const char *table, char *out,
                   size_t len)
{
    rowsync_buf_t b = {0};

    rowsync_buf_printf(&b, "h_%s_%s", schema, table);
    if (b.oom) {
        snprintf(out, len, "h_%08x", mss_hash(table));
        return;
    }
    mss_fit_name(b.p, out, len);
    rowsync_buf_free(&b);
}

void mss_trigger_name(const char *table, char *out, size_t len)
{
    rowsync_buf_t b = {0};

    rowsync_buf_printf(&b, "rowsync_capture_%s", table);
    if (b.oom) {
        snprintf(out, len, "rowsync_capture_%08x", mss_hash(table));
        return;
    }
    mss_fit_name(b.p, out, len);
    rowsync_buf_free(&b);
}

/* ---- pieces ---------------------------------------------------------- */

/* [schema].[name] */
static void mss_qname(rowsync_buf_t *b, const char *schema, const char *name)
{
    mss_buf_ident(b, schema);
    rowsync_buf_add(b, ".", 1);
    mss_buf_ident(b, name);
}

/* N'[schema].[name]': a quoted two-part name as a literal. */
static void mss_qname_literal(rowsync_buf_t *b, const char *schema,
                              const char *name)
{
    rowsync_buf_t q = {0};

    mss_qname(&q, schema, name);
    mss_buf_literal(b, q.oom ? "" : q.p);
    if (q.oom)
        b->oom = 1;
    rowsync_buf_free(&q);
}

/* The parameter @name without its filler character. */
static void mss_param(rowsync_buf_t *b, const char *name)
{
    rowsync_buf_printf(b, "SUBSTRING(@%s, 2, 2147483647)", name);
}

/* The typed value of parameter @name carrying a value of core type t
 * (text from mss_param_text, or bytes for BINARY): ISO forms with fixed
 * styles, so neither language nor DATEFORMAT matters. */
static void mss_param_typed(rowsync_buf_t *b, rowsync_type_t t, const char *name)
{
    switch (t) {
    case ROWSYNC_TYPE_DATE:
        rowsync_buf_puts(b, "CONVERT(date, ");
        mss_param(b, name);
        rowsync_buf_puts(b, ", 23)");
        break;
    case ROWSYNC_TYPE_TIME:
        rowsync_buf_puts(b, "CONVERT(time(7), ");
        mss_param(b, name);
        rowsync_buf_puts(b, ")");
        break;
    case ROWSYNC_TYPE_TIMESTAMP:
        rowsync_buf_puts(b, "CONVERT(datetime2(7), ");
        mss_param(b, name);
        rowsync_buf_puts(b, ", 126)");
        break;
    case ROWSYNC_TYPE_TIMESTAMPTZ:
        rowsync_buf_puts(b, "CONVERT(datetimeoffset(7), ");
        mss_param(b, name);
        rowsync_buf_puts(b, ", 127)");
        break;
    default:
        mss_param(b, name);
        break;
    }
}

/* Key equality a.[key_i] = <right>k_i for every key column; right names
 * the other side's columns k1.. (history) or c1.. (stage). */
static void mss_key_join(rowsync_buf_t *b, const mss_obj_t *o, const char *left,
                         const char *right, const char *rcol)
{
    size_t k;

    for (k = 0; k < o->nkeys; k++) {
        if (k)
            rowsync_buf_puts(b, " AND ");
        rowsync_buf_printf(b, "%s.", left);
        mss_buf_ident(b, o->cols[k]);
        rowsync_buf_printf(b, " = %s.%s%zu", right, rcol, k + 1);
    }
}

/* Same key equality between two aliases with the table's column names. */
static void mss_key_eq(rowsync_buf_t *b, const mss_obj_t *o, const char *l,
                       const char *r)
{
    size_t k;

    for (k = 0; k < o->nkeys; k++) {
        if (k)
            rowsync_buf_puts(b, " AND ");
        rowsync_buf_printf(b, "%s.", l);
        mss_buf_ident(b, o->cols[k]);
        rowsync_buf_printf(b, " = %s.", r);
        mss_buf_ident(b, o->cols[k]);
    }
}

/* ---- DDL ------------------------------------------------------------- */

void mss_sql_schema(rowsync_buf_t *b, const char *rs_schema)
{
    rowsync_buf_t inner = {0};

    rowsync_buf_puts(&inner, "CREATE SCHEMA ");
    mss_buf_ident(&inner, rs_schema);
    rowsync_buf_puts(b, "IF SCHEMA_ID(");
    mss_buf_literal(b, rs_schema);
    rowsync_buf_puts(b, ") IS NULL EXEC(");
    mss_buf_literal(b, inner.oom ? "" : inner.p);
    rowsync_buf_puts(b, ");\n");
    if (inner.oom)
        b->oom = 1;
    rowsync_buf_free(&inner);
}

void mss_sql_state_ddl(rowsync_buf_t *b, const char *rs_schema)
{
    rowsync_buf_puts(b, "IF OBJECT_ID(");
    mss_qname_literal(b, rs_schema, "state");
    rowsync_buf_puts(b, ", N'U') IS NULL\nCREATE TABLE ");
    mss_qname(b, rs_schema, "state");
    rowsync_buf_puts(b, " (name nvarchar(450) NOT NULL PRIMARY KEY,"
                    " value nvarchar(1024) NOT NULL,"
                    " updated_us bigint NOT NULL);\n");
    rowsync_buf_puts(b, "IF OBJECT_ID(");
    mss_qname_literal(b, rs_schema, "conflicts");
    rowsync_buf_puts(b, ", N'U') IS NULL\nCREATE TABLE ");
    mss_qname(b, rs_schema, "conflicts");
    rowsync_buf_puts(b, " (id bigint IDENTITY(1,1) NOT NULL PRIMARY KEY,"
                    " decided_us bigint NOT NULL,"
                    " table_name nvarchar(max) NOT NULL,"
                    " [key] nvarchar(max) NOT NULL,"
                    " [rule] nvarchar(100) NOT NULL,"
                    " winner nvarchar(255) NOT NULL,"
                    " loser nvarchar(255) NOT NULL,"
                    " winner_time_us bigint NOT NULL,"
                    " loser_time_us bigint NOT NULL,"
                    " note nvarchar(max) NULL);\n");
}

void mss_sql_history_ddl(rowsync_buf_t *b, const mss_obj_t *o)
{
    size_t k;

    rowsync_buf_puts(b, "IF OBJECT_ID(");
    mss_qname_literal(b, o->rs_schema, o->hist);
    rowsync_buf_puts(b, ", N'U') IS NULL\nBEGIN\nCREATE TABLE ");
    mss_qname(b, o->rs_schema, o->hist);
    rowsync_buf_puts(b, " (seq bigint IDENTITY(1,1) NOT NULL PRIMARY KEY,"
                    " op tinyint NOT NULL, time_us bigint NOT NULL,"
                    " origin nvarchar(255) NULL, rv rowversion NOT NULL");
    for (k = 0; k < o->nkeys; k++)
        rowsync_buf_printf(b, ", k%zu %s NOT NULL", k + 1, o->decl[k]);
    rowsync_buf_puts(b, ", cols bigint NULL);\nCREATE INDEX [rowsync_rv] ON ");
    mss_qname(b, o->rs_schema, o->hist);
    rowsync_buf_puts(b, " (rv);\nEND;\n");
    /* a history table from before the column masks: rows stay NULL */
    rowsync_buf_puts(b, "IF COL_LENGTH(");
    mss_qname_literal(b, o->rs_schema, o->hist);
    rowsync_buf_puts(b, ", N'cols') IS NULL ALTER TABLE ");
    mss_qname(b, o->rs_schema, o->hist);
    rowsync_buf_puts(b, " ADD cols bigint NULL;\n");
}

/* What the column masks mean: a hash of the key count and the spec's
 * column names in order. The trigger carries it in a comment, so that a
 * re-install can tell whether pending masks still name the same
 * columns. */
static uint32_t mss_cols_sig(const mss_obj_t *o)
{
    uint32_t h = 2166136261u;
    size_t i;

    h = (h ^ (uint32_t)o->nkeys) * 16777619u;
    for (i = 0; i < o->ncols; i++) {
        const char *p;
        for (p = o->cols[i]; *p; p++)
            h = (h ^ (unsigned char)*p) * 16777619u;
        h = (h ^ 0x1fu) * 16777619u;
    }
    return h;
}

/* Bit i of a column mask as a bigint literal. */
static void mss_bit(rowsync_buf_t *b, size_t i)
{
    if (i == 63)
        rowsync_buf_puts(b, "CONVERT(bigint, 0x8000000000000000)");
    else
        rowsync_buf_printf(b, "%llu", 1ULL << i);
}

/* 1 when the table's capture trigger exists and was built for another
 * column list (its masks comment differs), else 0. */
void mss_sql_cols_stale(rowsync_buf_t *b, const mss_obj_t *o)
{
    char trig[4 * MSS_NAME_MAX + 16];

    mss_trigger_name(o->table, trig, sizeof trig);
    rowsync_buf_puts(b, "SELECT CASE WHEN OBJECT_ID(");
    mss_qname_literal(b, o->schema, trig);
    rowsync_buf_puts(b, ", N'TR') IS NOT NULL AND CHARINDEX(");
    rowsync_buf_printf(b, "N'rowsync masks %08x', OBJECT_DEFINITION(OBJECT_ID(",
                       mss_cols_sig(o));
    mss_qname_literal(b, o->schema, trig);
    rowsync_buf_puts(b, "))) = 0 THEN 1 ELSE 0 END;\n");
}

/* Forgets the pending masks (they named another column list). */
void mss_sql_cols_forget(rowsync_buf_t *b, const mss_obj_t *o)
{
    rowsync_buf_puts(b, "UPDATE ");
    mss_qname(b, o->rs_schema, o->hist);
    rowsync_buf_puts(b, " SET cols = NULL WHERE cols IS NOT NULL;\n");
}

/* The update's column mask of inserted row i against deleted row d (NULL
 * when d has no row: a new key): bit c set when spec column c, a non-key
 * column, differs. Values compare as varbinary(max), so a case-only change
 * under a case-insensitive collation counts and xml or sql_variant
 * compare at all; text, ntext and image cannot be read in a trigger and
 * always count as changed. NULL when the spec has more than 64 columns. */
static void mss_cols_mask(rowsync_buf_t *b, const mss_obj_t *o)
{
    size_t c;

    if (o->ncols > 64) {
        rowsync_buf_puts(b, "CAST(NULL AS bigint)");
        return;
    }
    rowsync_buf_puts(b, "CASE WHEN d.");
    mss_buf_ident(b, o->cols[0]);
    rowsync_buf_puts(b, " IS NULL THEN NULL ELSE CONVERT(bigint, 0)");
    for (c = o->nkeys; c < o->ncols; c++) {
        const char *n = o->native[c];
        rowsync_buf_puts(b, "\n | ");
        if (strcmp(n, "text") == 0 || strcmp(n, "ntext") == 0 ||
            strcmp(n, "image") == 0) {
            mss_bit(b, c);
            continue;
        }
        rowsync_buf_puts(b, "CASE WHEN CONVERT(varbinary(max), i.");
        mss_buf_ident(b, o->cols[c]);
        rowsync_buf_puts(b, ") = CONVERT(varbinary(max), d.");
        mss_buf_ident(b, o->cols[c]);
        rowsync_buf_puts(b, ") OR (i.");
        mss_buf_ident(b, o->cols[c]);
        rowsync_buf_puts(b, " IS NULL AND d.");
        mss_buf_ident(b, o->cols[c]);
        rowsync_buf_puts(b, " IS NULL) THEN 0 ELSE ");
        mss_bit(b, c);
        rowsync_buf_puts(b, " END");
    }
    rowsync_buf_puts(b, " END");
}

/* The fold of a key's column masks over the extract window w (partition
 * by key): per bit MAX(cols & bit) (SQL Server has no BIT_OR; bit 63 is
 * the sign, so MIN), NULL when any row of the key has no mask. */
static void mss_cols_fold(rowsync_buf_t *b, const mss_obj_t *o)
{
    rowsync_buf_t over = {0};
    size_t c, k;

    if (o->ncols > 64) {
        rowsync_buf_puts(b, ", CAST(NULL AS bigint) AS cols");
        return;
    }
    rowsync_buf_puts(&over, " OVER (PARTITION BY ");
    for (k = 0; k < o->nkeys; k++)
        rowsync_buf_printf(&over, "%sh.k%zu", k ? ", " : "", k + 1);
    rowsync_buf_puts(&over, ")");
    if (over.oom) {
        b->oom = 1;
        return;
    }
    rowsync_buf_printf(b,
                       ",\nCASE WHEN MIN(CASE WHEN h.cols IS NULL THEN 0"
                       " ELSE 1 END)%s = 1 THEN CONVERT(bigint, 0)",
                       over.p);
    for (c = o->nkeys; c < o->ncols; c++) {
        rowsync_buf_puts(b,
                         c == 63 ? "\n | MIN(h.cols & " : "\n | MAX(h.cols & ");
        mss_bit(b, c);
        rowsync_buf_printf(b, ")%s", over.p);
    }
    rowsync_buf_puts(b, " END AS cols");
    rowsync_buf_free(&over);
}

/* The history INSERT's column list: (op, time_us, origin, k1, ...). */
static void mss_hist_cols(rowsync_buf_t *b, const mss_obj_t *o)
{
    size_t k;

    rowsync_buf_puts(b, " (op, time_us, origin");
    for (k = 0; k < o->nkeys; k++)
        rowsync_buf_printf(b, ", k%zu", k + 1);
    rowsync_buf_puts(b, ")");
}

/* One trigger for all three events, set based: the deleted keys that no
 * inserted row has are deletes (op 3; an UPDATE that changed the key),
 * written first; each inserted row is an update (op 2) when deleted has
 * its key, with its column mask, else an insert (op 1, mask NULL). All
 * rows of a statement share one time.
 * The trigger does nothing while the apply marker names its table (the
 * driver writes those history rows itself, with each change's origin). */
void mss_sql_trigger(rowsync_buf_t *b, const mss_obj_t *o)
{
    char trig[4 * MSS_NAME_MAX + 16];
    size_t k;

    mss_trigger_name(o->table, trig, sizeof trig);
    rowsync_buf_puts(b, "CREATE OR ALTER TRIGGER ");
    mss_qname(b, o->schema, trig);
    rowsync_buf_puts(b, " ON ");
    mss_qname(b, o->schema, o->table);
    rowsync_buf_puts(b, "\nAFTER INSERT, UPDATE, DELETE AS\nBEGIN\n");
    rowsync_buf_printf(b, "-- rowsync masks %08x\n", mss_cols_sig(o));
    rowsync_buf_puts(b,
                     "IF @@ROWCOUNT = 0 RETURN;\n"
                     "SET NOCOUNT ON;\n"
                     "IF CONVERT(int, SESSION_CONTEXT(N'rowsync.applying'))"
                     " = (SELECT parent_id FROM sys.triggers"
                     " WHERE object_id = @@PROCID) RETURN;\n"
                     "DECLARE @rowsync_t bigint = " MSS_NOW_US ";\n"
                     "DECLARE @rowsync_o nvarchar(255) = CONVERT(nvarchar(255),"
                     " SESSION_CONTEXT(N'rowsync.origin'));\n"
                     "INSERT INTO ");
    mss_qname(b, o->rs_schema, o->hist);
    mss_hist_cols(b, o);
    rowsync_buf_puts(b, "\nSELECT 3, @rowsync_t, @rowsync_o");
    for (k = 0; k < o->nkeys; k++) {
        rowsync_buf_puts(b, ", d.");
        mss_buf_ident(b, o->cols[k]);
    }
    rowsync_buf_puts(b, " FROM deleted AS d\nWHERE NOT EXISTS (SELECT 1 FROM"
                    " inserted AS i WHERE ");
    mss_key_eq(b, o, "i", "d");
    rowsync_buf_puts(b, ");\nINSERT INTO ");
    mss_qname(b, o->rs_schema, o->hist);
    rowsync_buf_puts(b, " (op, time_us, origin");
    for (k = 0; k < o->nkeys; k++)
        rowsync_buf_printf(b, ", k%zu", k + 1);
    rowsync_buf_puts(b, ", cols)\nSELECT CASE WHEN d.");
    mss_buf_ident(b, o->cols[0]);
    rowsync_buf_puts(b, " IS NULL THEN 1 ELSE 2 END, @rowsync_t, @rowsync_o");
    for (k = 0; k < o->nkeys; k++) {
        rowsync_buf_puts(b, ", i.");
        mss_buf_ident(b, o->cols[k]);
    }
    rowsync_buf_puts(b, ",\n");
    mss_cols_mask(b, o);
    rowsync_buf_puts(b, "\nFROM inserted AS i LEFT JOIN deleted AS d ON ");
    mss_key_eq(b, o, "d", "i");
    rowsync_buf_puts(b, ";\nEND;\n");
}

/* ---- streams --------------------------------------------------------- */

void mss_sql_select_expr(rowsync_buf_t *b, const char *native,
                         const char *qualified)
{
    if (strcmp(native, "money") == 0 || strcmp(native, "smallmoney") == 0)
        rowsync_buf_printf(b, "CONVERT(varchar(40), %s, 2)", qualified);
    else if (strcmp(native, "decimal") == 0 || strcmp(native, "numeric") == 0)
        rowsync_buf_printf(b, "CONVERT(varchar(60), %s)", qualified);
    else if (strcmp(native, "date") == 0 || strcmp(native, "time") == 0 ||
             strcmp(native, "datetime") == 0 ||
             strcmp(native, "datetime2") == 0 ||
             strcmp(native, "smalldatetime") == 0 ||
             strcmp(native, "datetimeoffset") == 0)
        rowsync_buf_printf(b, "CONVERT(varchar(40), %s, 121)", qualified);
    else if (strcmp(native, "uniqueidentifier") == 0)
        rowsync_buf_printf(b, "CONVERT(char(36), %s)", qualified);
    else if (strcmp(native, "xml") == 0 || strcmp(native, "sql_variant") == 0 ||
             strcmp(native, "hierarchyid") == 0)
        rowsync_buf_printf(b, "CONVERT(nvarchar(max), %s)", qualified);
    else
        rowsync_buf_puts(b, qualified);
}

/* alias.[col] into a fresh buffer, then its select expression. */
static void mss_col_expr(rowsync_buf_t *b, const char *native, const char *alias,
                         const char *col)
{
    rowsync_buf_t q = {0};

    rowsync_buf_printf(&q, "%s.", alias);
    mss_buf_ident(&q, col);
    if (q.oom) {
        b->oom = 1;
        return;
    }
    mss_sql_select_expr(b, native, q.p);
    rowsync_buf_free(&q);
}

void mss_sql_horizon(rowsync_buf_t *b, const mss_obj_t *o)
{
    rowsync_buf_puts(b, "DECLARE @rowsync_h bigint = CONVERT(bigint,"
                    " MIN_ACTIVE_ROWVERSION());\n"
                    "DECLARE @rowsync_s bigint = CONVERT(bigint, ");
    mss_param(b, "since");
    rowsync_buf_puts(b, ");\nDECLARE @rowsync_u bigint = CONVERT(bigint, ");
    mss_param(b, "upto");
    rowsync_buf_puts(b, ");\nIF @rowsync_u IS NOT NULL AND @rowsync_u <"
                    " @rowsync_h SET @rowsync_h = @rowsync_u;\n"
                    "SELECT @rowsync_h, CONVERT(bigint, MAX(h.rv)) FROM ");
    mss_qname(b, o->rs_schema, o->hist);
    rowsync_buf_puts(b, " AS h\nWHERE h.rv >= CONVERT(binary(8), @rowsync_s)"
                    " AND h.rv < CONVERT(binary(8), @rowsync_h);\n");
}

void mss_sql_extract(rowsync_buf_t *b, const mss_obj_t *o, int skip)
{
    size_t k, i;

    rowsync_buf_puts(b, "DECLARE @rowsync_s binary(8) = CONVERT(binary(8),"
                    " CONVERT(bigint, ");
    mss_param(b, "since");
    rowsync_buf_puts(b, "));\nDECLARE @rowsync_b binary(8) = CONVERT(binary(8),"
                    " CONVERT(bigint, ");
    mss_param(b, "bound");
    rowsync_buf_puts(b, "));\n");
    if (skip) {
        rowsync_buf_puts(b, "DECLARE @rowsync_x nvarchar(255) = ");
        mss_param(b, "skip");
        rowsync_buf_puts(b, ";\n");
    }
    rowsync_buf_puts(b, "SELECT CONVERT(bigint, w.rv), w.op, w.time_us, w.origin,"
                    " CASE WHEN t.");
    mss_buf_ident(b, o->cols[0]);
    rowsync_buf_puts(b, " IS NULL THEN 0 ELSE 1 END");
    for (k = 0; k < o->nkeys; k++) {
        char kn[32];
        snprintf(kn, sizeof kn, "w.k%zu", k + 1);
        rowsync_buf_puts(b, ", ");
        mss_sql_select_expr(b, o->native[k], kn);
    }
    for (i = 0; i < o->ncols; i++) {
        rowsync_buf_puts(b, ", ");
        mss_col_expr(b, o->native[i], "t", o->cols[i]);
    }
    rowsync_buf_puts(b, ", w.cols");
    rowsync_buf_puts(b, "\nFROM (SELECT h.rv, h.op, h.time_us, h.origin");
    for (k = 0; k < o->nkeys; k++)
        rowsync_buf_printf(b, ", h.k%zu", k + 1);
    rowsync_buf_puts(b, ", ROW_NUMBER() OVER (PARTITION BY ");
    for (k = 0; k < o->nkeys; k++)
        rowsync_buf_printf(b, "%sh.k%zu", k ? ", " : "", k + 1);
    rowsync_buf_puts(b, " ORDER BY h.rv DESC) AS rn");
    mss_cols_fold(b, o);
    rowsync_buf_puts(b, "\nFROM ");
    mss_qname(b, o->rs_schema, o->hist);
    rowsync_buf_puts(b, " AS h WHERE h.rv >= @rowsync_s AND h.rv < @rowsync_b)"
                    " AS w\nLEFT JOIN ");
    mss_qname(b, o->schema, o->table);
    rowsync_buf_puts(b, " AS t ON ");
    mss_key_join(b, o, "t", "w", "k");
    rowsync_buf_puts(b, "\nWHERE w.rn = 1");
    if (skip)
        rowsync_buf_puts(b, " AND (w.origin IS NULL OR w.origin <> @rowsync_x)");
    rowsync_buf_puts(b, "\nORDER BY w.rv;\n");
}

void mss_sql_scan(rowsync_buf_t *b, const mss_obj_t *o, int after)
{
    size_t i, k, j;

    rowsync_buf_puts(b, "SELECT ");
    for (i = 0; i < o->ncols; i++) {
        if (i)
            rowsync_buf_puts(b, ", ");
        mss_col_expr(b, o->native[i], "t", o->cols[i]);
    }
    rowsync_buf_puts(b, "\nFROM ");
    mss_qname(b, o->schema, o->table);
    rowsync_buf_puts(b, " AS t");
    if (after) {
        /* (k1 > a1) OR (k1 = a1 AND k2 > a2) OR ... : the row-value
         * comparison T-SQL lacks */
        rowsync_buf_puts(b, "\nWHERE ");
        for (k = 0; k < o->nkeys; k++) {
            rowsync_buf_puts(b, k ? " OR (" : "(");
            for (j = 0; j <= k; j++) {
                char pn[32];
                if (j)
                    rowsync_buf_puts(b, " AND ");
                rowsync_buf_puts(b, "t.");
                mss_buf_ident(b, o->cols[j]);
                const char *coll = strstr(o->decl[j], " COLLATE ");
                size_t tl = coll ? (size_t)(coll - o->decl[j])
                                 : strlen(o->decl[j]);
                rowsync_buf_puts(b, j == k ? " > CONVERT(" : " = CONVERT(");
                rowsync_buf_add(b, o->decl[j], tl); /* COLLATE goes after */
                rowsync_buf_puts(b, ", ");
                snprintf(pn, sizeof pn, "a%zu", j + 1);
                mss_param(b, pn);
                rowsync_buf_puts(b, ")");
                if (coll != NULL)
                    rowsync_buf_puts(b, coll);
            }
            rowsync_buf_puts(b, ")");
        }
    }
    rowsync_buf_puts(b, "\nORDER BY ");
    for (k = 0; k < o->nkeys; k++) {
        if (k)
            rowsync_buf_puts(b, ", ");
        rowsync_buf_puts(b, "t.");
        mss_buf_ident(b, o->cols[k]);
    }
    rowsync_buf_puts(b, ";\n");
}

/* ---- apply ----------------------------------------------------------- */

void mss_sql_stage_ddl(rowsync_buf_t *b, unsigned no, const mss_obj_t *o)
{
    size_t i;

    rowsync_buf_printf(b, "IF OBJECT_ID(N'tempdb..#rowsync_stage_%u', N'U') IS"
                      " NULL\nCREATE TABLE #rowsync_stage_%u (n int NOT NULL,"
                      " op tinyint NOT NULL, time_us bigint NOT NULL,"
                      " origin nvarchar(255) NULL",
                   no, no);
    for (i = 0; i < o->ncols; i++)
        rowsync_buf_printf(b, ", c%zu %s NULL", i + 1, o->decl[i]);
    rowsync_buf_printf(b, ");\nDELETE FROM #rowsync_stage_%u;\n", no);
}

void mss_sql_stage_insert(rowsync_buf_t *b, rowsync_buf_t *decls, unsigned no,
                          const mss_obj_t *o, const rowsync_type_t *types,
                          size_t first, size_t nrows)
{
    size_t r, i;

    rowsync_buf_printf(b, "INSERT INTO #rowsync_stage_%u (n, op, time_us, origin",
                   no);
    for (i = 0; i < o->ncols; i++)
        rowsync_buf_printf(b, ", c%zu", i + 1);
    rowsync_buf_puts(b, ") VALUES");
    for (r = 0; r < nrows; r++) {
        char pn[48];
        rowsync_buf_printf(b, "%s\n(%zu, CONVERT(tinyint, ", r ? "," : "",
                       first + r);
        snprintf(pn, sizeof pn, "o%zu", r);
        mss_param(b, pn);
        rowsync_buf_puts(b, "), CONVERT(bigint, ");
        snprintf(pn, sizeof pn, "t%zu", r);
        mss_param(b, pn);
        rowsync_buf_puts(b, "), ");
        snprintf(pn, sizeof pn, "g%zu", r);
        mss_param(b, pn);
        rowsync_buf_printf(decls, "%s@o%zu nvarchar(max), @t%zu nvarchar(max),"
                          " @g%zu nvarchar(max)",
                       decls->len ? ", " : "", r, r, r);
        for (i = 0; i < o->ncols; i++) {
            snprintf(pn, sizeof pn, "v%zu_%zu", r, i + 1);
            rowsync_buf_puts(b, ", ");
            mss_param_typed(b, types[i], pn);
            rowsync_buf_printf(decls, ", @%s %s", pn,
                           types[i] == ROWSYNC_TYPE_BINARY
                               ? "varbinary(max)"
                               : "nvarchar(max)");
        }
        rowsync_buf_puts(b, ")");
    }
    rowsync_buf_puts(b, ";\n");
}

void mss_sql_delete(rowsync_buf_t *b, unsigned no, const mss_obj_t *o)
{
    rowsync_buf_puts(b, "DELETE t FROM ");
    mss_qname(b, o->schema, o->table);
    rowsync_buf_printf(b, " AS t INNER JOIN #rowsync_stage_%u AS s ON ", no);
    mss_key_join(b, o, "t", "s", "c");
    rowsync_buf_puts(b, " WHERE s.op = 3;\n");
}

void mss_sql_merge(rowsync_buf_t *b, unsigned no, const mss_obj_t *o)
{
    size_t i, nset = 0;

    rowsync_buf_puts(b, "MERGE INTO ");
    mss_qname(b, o->schema, o->table);
    rowsync_buf_puts(b, " WITH (HOLDLOCK) AS t\nUSING (SELECT ");
    for (i = 0; i < o->ncols; i++)
        rowsync_buf_printf(b, "%sc%zu", i ? ", " : "", i + 1);
    rowsync_buf_printf(b, " FROM #rowsync_stage_%u WHERE op <> 3) AS s\nON ", no);
    mss_key_join(b, o, "t", "s", "c");
    for (i = o->nkeys; i < o->ncols; i++) {
        if (o->identity != NULL && o->identity[i])
            continue; /* an identity column cannot be updated */
        if (o->insert_only != NULL && o->insert_only[i])
            continue; /* written on insert only */
        rowsync_buf_puts(b, nset++ ? ", t." : "\nWHEN MATCHED THEN UPDATE SET t.");
        mss_buf_ident(b, o->cols[i]);
        rowsync_buf_printf(b, " = s.c%zu", i + 1);
    }
    rowsync_buf_puts(b, "\nWHEN NOT MATCHED BY TARGET THEN INSERT (");
    for (i = 0; i < o->ncols; i++) {
        if (i)
            rowsync_buf_puts(b, ", ");
        mss_buf_ident(b, o->cols[i]);
    }
    rowsync_buf_puts(b, ") VALUES (");
    for (i = 0; i < o->ncols; i++)
        rowsync_buf_printf(b, "%ss.c%zu", i ? ", " : "", i + 1);
    rowsync_buf_puts(b, ");\n");
}

void mss_sql_history_insert(rowsync_buf_t *b, unsigned no, const mss_obj_t *o)
{
    size_t k;

    rowsync_buf_puts(b, "INSERT INTO ");
    mss_qname(b, o->rs_schema, o->hist);
    mss_hist_cols(b, o);
    rowsync_buf_puts(b, " SELECT op, time_us, origin");
    for (k = 0; k < o->nkeys; k++)
        rowsync_buf_printf(b, ", c%zu", k + 1);
    rowsync_buf_printf(b, " FROM #rowsync_stage_%u ORDER BY n;\n", no);
}

/* The whole apply of a staged batch, one language batch: the marker names
 * the table (its trigger writes nothing), deletes, then the upsert (with
 * IDENTITY_INSERT when an identity column is written), marker off, then
 * the history rows with each change's own origin and time. */
void mss_sql_apply(rowsync_buf_t *b, unsigned no, const mss_obj_t *o)
{
    size_t i;
    int ident = 0;

    for (i = 0; o->identity != NULL && i < o->ncols; i++)
        ident |= o->identity[i];
    rowsync_buf_puts(b, "DECLARE @rowsync_obj int = OBJECT_ID(");
    mss_qname_literal(b, o->schema, o->table);
    rowsync_buf_puts(b, ");\nEXEC sp_set_session_context N'rowsync.applying',"
                    " @rowsync_obj;\n");
    mss_sql_delete(b, no, o);
    if (ident) {
        rowsync_buf_puts(b, "SET IDENTITY_INSERT ");
        mss_qname(b, o->schema, o->table);
        rowsync_buf_puts(b, " ON;\n");
    }
    mss_sql_merge(b, no, o);
    if (ident) {
        rowsync_buf_puts(b, "SET IDENTITY_INSERT ");
        mss_qname(b, o->schema, o->table);
        rowsync_buf_puts(b, " OFF;\n");
    }
    rowsync_buf_puts(b, "EXEC sp_set_session_context N'rowsync.applying', NULL;\n");
    mss_sql_history_insert(b, no, o);
}

/* ---- state, journal, locks ------------------------------------------- */

void mss_sql_state_set(rowsync_buf_t *b, const char *rs_schema)
{
    rowsync_buf_puts(b, "DECLARE @rowsync_k nvarchar(450) = ");
    mss_param(b, "k");
    rowsync_buf_puts(b, ", @rowsync_v nvarchar(1024) = ");
    mss_param(b, "v");
    rowsync_buf_puts(b, ";\nUPDATE ");
    mss_qname(b, rs_schema, "state");
    rowsync_buf_puts(b, " SET value = @rowsync_v, updated_us = " MSS_NOW_US
                    " WHERE name = @rowsync_k;\nIF @@ROWCOUNT = 0 INSERT INTO ");
    mss_qname(b, rs_schema, "state");
    rowsync_buf_puts(b, " (name, value, updated_us) VALUES (@rowsync_k,"
                    " @rowsync_v, " MSS_NOW_US ");\n");
}

void mss_sql_state_get(rowsync_buf_t *b, const char *rs_schema)
{
    rowsync_buf_puts(b, "IF OBJECT_ID(");
    mss_qname_literal(b, rs_schema, "state");
    rowsync_buf_puts(b, ", N'U') IS NOT NULL\nSELECT value, updated_us FROM ");
    mss_qname(b, rs_schema, "state");
    rowsync_buf_puts(b, " WHERE name = ");
    mss_param(b, "k");
    rowsync_buf_puts(b, ";\n");
}

void mss_sql_conflict_insert(rowsync_buf_t *b, const char *rs_schema)
{
    rowsync_buf_puts(b, "INSERT INTO ");
    mss_qname(b, rs_schema, "conflicts");
    rowsync_buf_puts(b, " (decided_us, table_name, [key], [rule], winner, loser,"
                    " winner_time_us, loser_time_us, note) VALUES (CONVERT("
                    "bigint, ");
    mss_param(b, "d");
    rowsync_buf_puts(b, "), ");
    mss_param(b, "tb");
    rowsync_buf_puts(b, ", ");
    mss_param(b, "k");
    rowsync_buf_puts(b, ", ");
    mss_param(b, "r");
    rowsync_buf_puts(b, ", ");
    mss_param(b, "w");
    rowsync_buf_puts(b, ", ");
    mss_param(b, "l");
    rowsync_buf_puts(b, ", CONVERT(bigint, ");
    mss_param(b, "wt");
    rowsync_buf_puts(b, "), CONVERT(bigint, ");
    mss_param(b, "lt");
    rowsync_buf_puts(b, "), ");
    mss_param(b, "n");
    rowsync_buf_puts(b, ");\n");
}

void mss_sql_conflict_read(rowsync_buf_t *b, const char *rs_schema)
{
    rowsync_buf_puts(b, "DECLARE @rowsync_n bigint = CONVERT(bigint, ");
    mss_param(b, "lim");
    rowsync_buf_puts(b, ");\nIF @rowsync_n = 0 SET @rowsync_n ="
                    " 9223372036854775807;\nIF OBJECT_ID(");
    mss_qname_literal(b, rs_schema, "conflicts");
    rowsync_buf_puts(b, ", N'U') IS NOT NULL\nSELECT TOP (@rowsync_n) decided_us,"
                    " table_name, [key], [rule], winner, loser,"
                    " winner_time_us, loser_time_us, note FROM ");
    mss_qname(b, rs_schema, "conflicts");
    rowsync_buf_puts(b, " ORDER BY id DESC;\n");
}

void mss_sql_lock(rowsync_buf_t *b)
{
    rowsync_buf_puts(b, "DECLARE @rowsync_res nvarchar(255) = ");
    mss_param(b, "name");
    rowsync_buf_puts(b, ", @rowsync_ms int = CONVERT(int, ");
    mss_param(b, "ms");
    rowsync_buf_puts(b, "), @rowsync_r int;\n"
                    "EXEC @rowsync_r = sp_getapplock @Resource = @rowsync_res,"
                    " @LockMode = 'Exclusive', @LockOwner = 'Session',"
                    " @LockTimeout = @rowsync_ms;\nSELECT @rowsync_r;\n");
}

void mss_sql_unlock(rowsync_buf_t *b)
{
    rowsync_buf_puts(b, "DECLARE @rowsync_res nvarchar(255) = ");
    mss_param(b, "name");
    rowsync_buf_puts(b, ", @rowsync_r int;\n"
                    "EXEC @rowsync_r = sp_releaseapplock @Resource ="
                    " @rowsync_res, @LockOwner = 'Session';\n"
                    "SELECT @rowsync_r;\n");
}

void mss_sql_teardown(rowsync_buf_t *b, const mss_obj_t *o)
{
    char trig[4 * MSS_NAME_MAX + 16];

    mss_trigger_name(o->table, trig, sizeof trig);
    rowsync_buf_puts(b, "DROP TRIGGER IF EXISTS ");
    mss_qname(b, o->schema, trig);
    rowsync_buf_puts(b, ";\nDROP TABLE IF EXISTS ");
    mss_qname(b, o->rs_schema, o->hist);
    rowsync_buf_puts(b, ";\n");
}

/* History upkeep: deletes the rows below rowversion @upto (the smallest
 * cursor: every row with rv < it is consumed by every direction) that
 * were stamped before @before, MSS_PURGE_CHUNK rows per DELETE. Each
 * DELETE is its own autocommitted statement and stays below the 5000
 * locks at which SQL Server escalates to a table lock, which would hold
 * up the capture trigger's inserts. Rows in flight have rv >=
 * MIN_ACTIVE_ROWVERSION() >= every cursor, so the rv index seek never
 * reaches them. One row: the rows removed, or -1 when the history table
 * does not exist. */
void mss_sql_purge(rowsync_buf_t *b, const mss_obj_t *o)
{
    rowsync_buf_puts(b, "IF OBJECT_ID(");
    mss_qname_literal(b, o->rs_schema, o->hist);
    rowsync_buf_puts(b, ", N'U') IS NULL\nBEGIN\nSELECT CONVERT(bigint, -1);\n"
                        "RETURN;\nEND;\n"
                        "DECLARE @rowsync_u binary(8) = CONVERT(binary(8),"
                        " CONVERT(bigint, ");
    mss_param(b, "upto");
    rowsync_buf_puts(b, "));\nDECLARE @rowsync_b bigint = CONVERT(bigint, ");
    mss_param(b, "before");
    rowsync_buf_puts(b,
                     ");\nDECLARE @rowsync_n bigint = 0, @rowsync_c int = 1;\n"
                     "SET NOCOUNT ON;\n"
                     "WHILE @rowsync_c > 0\nBEGIN\n");
    rowsync_buf_printf(b, "DELETE TOP (%d) FROM ", MSS_PURGE_CHUNK);
    mss_qname(b, o->rs_schema, o->hist);
    rowsync_buf_puts(b, "\nWHERE rv < @rowsync_u AND time_us < @rowsync_b;\n"
                        "SET @rowsync_c = @@ROWCOUNT;\n"
                        "SET @rowsync_n = @rowsync_n + @rowsync_c;\n"
                        "END;\n"
                        "SELECT @rowsync_n;\n");
}

void mss_sql_state_remove(rowsync_buf_t *b, const char *rs_schema)
{
    rowsync_buf_t inner = {0};

    rowsync_buf_puts(b, "DROP TABLE IF EXISTS ");
    mss_qname(b, rs_schema, "state");
    rowsync_buf_puts(b, ";\nDROP TABLE IF EXISTS ");
    mss_qname(b, rs_schema, "conflicts");
    rowsync_buf_puts(b, ";\n");
    if (strcmp(rs_schema, "dbo") == 0)
        return; /* never drop dbo */
    rowsync_buf_puts(&inner, "DROP SCHEMA ");
    mss_buf_ident(&inner, rs_schema);
    rowsync_buf_puts(b, "IF SCHEMA_ID(");
    mss_buf_literal(b, rs_schema);
    rowsync_buf_puts(b, ") IS NOT NULL AND NOT EXISTS (SELECT 1 FROM sys.objects"
                    " WHERE schema_id = SCHEMA_ID(");
    mss_buf_literal(b, rs_schema);
    rowsync_buf_puts(b, ")) EXEC(");
    mss_buf_literal(b, inner.oom ? "" : inner.p);
    rowsync_buf_puts(b, ");\n");
    if (inner.oom)
        b->oom = 1;
    rowsync_buf_free(&inner);
}

void mss_sql_describe(rowsync_buf_t *b)
{
    rowsync_buf_puts(b, "DECLARE @rowsync_id int = OBJECT_ID(");
    mss_param(b, "t");
    rowsync_buf_puts(
        b,
        ", N'U');\n"
        "SELECT c.name, COALESCE(TYPE_NAME(NULLIF(c.system_type_id, 240)),"
        " TYPE_NAME(c.user_type_id)), c.max_length, c.precision, c.scale,"
        " c.collation_name, CONVERT(int, c.is_nullable),"
        " CONVERT(int, c.is_identity), CONVERT(int, ISNULL(ic.key_ordinal, 0)),"
        " SCHEMA_NAME(o.schema_id), o.name\n"
        "FROM sys.columns AS c\n"
        "JOIN sys.objects AS o ON o.object_id = c.object_id\n"
        "LEFT JOIN sys.indexes AS ix ON ix.object_id = c.object_id AND"
        " ix.is_primary_key = 1\n"
        "LEFT JOIN sys.index_columns AS ic ON ic.object_id = ix.object_id AND"
        " ic.index_id = ix.index_id AND ic.column_id = c.column_id\n"
        "WHERE c.object_id = @rowsync_id AND c.is_computed = 0 AND"
        " c.system_type_id <> 189\n"
        "ORDER BY c.column_id;\n");
}

void mss_sql_references(rowsync_buf_t *b)
{
    rowsync_buf_puts(b, "SELECT DISTINCT SCHEMA_NAME(r.schema_id), r.name FROM"
                    " sys.foreign_keys AS fk\nJOIN sys.objects AS r ON"
                    " r.object_id = fk.referenced_object_id\n"
                    "WHERE fk.parent_object_id = OBJECT_ID(");
    mss_param(b, "t");
    rowsync_buf_puts(b, ", N'U') AND fk.referenced_object_id <>"
                    " fk.parent_object_id;\n");
}

void mss_type_decl(rowsync_buf_t *b, const char *type, int max_length,
                   int precision, int scale, const char *collation)
{
    rowsync_buf_puts(b, type);
    if (strcmp(type, "varchar") == 0 || strcmp(type, "char") == 0 ||
        strcmp(type, "varbinary") == 0 || strcmp(type, "binary") == 0) {
        if (max_length < 0)
            rowsync_buf_puts(b, "(max)");
        else
            rowsync_buf_printf(b, "(%d)", max_length);
    } else if (strcmp(type, "nvarchar") == 0 || strcmp(type, "nchar") == 0) {
        if (max_length < 0)
            rowsync_buf_puts(b, "(max)");
        else
            rowsync_buf_printf(b, "(%d)", max_length / 2);
    } else if (strcmp(type, "decimal") == 0 || strcmp(type, "numeric") == 0) {
        rowsync_buf_printf(b, "(%d,%d)", precision, scale);
    } else if (strcmp(type, "datetime2") == 0 || strcmp(type, "time") == 0 ||
               strcmp(type, "datetimeoffset") == 0) {
        rowsync_buf_printf(b, "(%d)", scale);
    }
    if (collation != NULL && collation[0] != '\0') {
        rowsync_buf_puts(b, " COLLATE ");
        rowsync_buf_puts(b, collation); /* a collation name is a bare word */
    }
}
