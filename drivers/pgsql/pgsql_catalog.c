/* The PostgreSQL driver's catalog side: resolving table names, describe,
 * foreign keys, the state tables, and installing and removing change
 * capture (history table, trigger function, statement triggers). */
#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pgsql.h"

/* Splits "table" or "schema.table" (parts may be double-quoted) into its
 * parts; quoted marks parts that were quoted. -1 for a malformed name. */
static int pg_split_name(const char *name, char parts[2][PG_NAME_MAX + 1],
                         int quoted[2], int *nparts)
{
    const char *p = name;
    int k = 0;

    *nparts = 0;
    if (!name || !*name)
        return -1;
    for (;;) {
        size_t len = 0;
        if (k >= 2)
            return -1;
        quoted[k] = 0;
        if (*p == '"') {
            quoted[k] = 1;
            p++;
            for (;;) {
                if (!*p)
                    return -1;
                if (*p == '"') {
                    if (p[1] != '"')
                        break;
                    p++;
                }
                if (len >= PG_NAME_MAX)
                    return -1;
                parts[k][len++] = *p++;
            }
            p++;
        } else {
            while (*p && *p != '.') {
                if (len >= PG_NAME_MAX)
                    return -1;
                parts[k][len++] = *p++;
            }
        }
        if (len == 0)
            return -1;
        parts[k][len] = '\0';
        k++;
        if (!*p)
            break;
        if (*p++ != '.')
            return -1;
    }
    *nparts = k;
    return 0;
}

/* FNV-1a, for shortening long object names. */
static uint32_t pg_hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 16777619u;
    }
    return h;
}

/* prefix + schema + "_" + table, shortened with a hash when longer than
 * PostgreSQL's 63 bytes (cut at a UTF-8 character boundary). */
static void pg_object_name(char *out, const char *prefix, const char *schema,
                           const char *table)
{
    char full[3 * PG_NAME_MAX + 8];
    snprintf(full, sizeof full, "%s%s_%s", prefix, schema, table);
    if (strlen(full) <= PG_NAME_MAX) {
        strcpy(out, full);
        return;
    }
    size_t cut = PG_NAME_MAX - 9;
    while (cut > 0 && ((unsigned char)full[cut] & 0xC0) == 0x80)
        cut--;
    snprintf(out, PG_NAME_MAX + 1, "%.*s_%08x", (int)cut, full,
             (unsigned)pg_hash(full));
}

static void pg_qualify(char *out, const char *qschema, const char *name)
{
    rowsync_buf_t b = {0};
    rowsync_buf_puts(&b, qschema);
    rowsync_buf_puts(&b, ".");
    pg_buf_ident(&b, name);
    snprintf(out, PG_QNAME_MAX, "%s", b.oom ? "" : b.p);
    rowsync_buf_free(&b);
}

/* Finds a table: the name as written (case-sensitive), then folded to
 * lower case like an unquoted SQL name. Fills rel either way; a missing
 * table gets the schema it was named with or the current schema, so its
 * capture objects can still be named (and removed). */
int pg_resolve(rowsync_conn_t *c, const char *table, pg_rel_t *rel,
               rowsync_error_t *err)
{
    char parts[2][PG_NAME_MAX + 1];
    int quoted[2], nparts, rc;

    memset(rel, 0, sizeof(*rel));
    if (pg_split_name(table, parts, quoted, &nparts) < 0)
        return rowsync_error_set(err, ROWSYNC_EINVAL,
                                 "node '%s': '%s' is not a table name "
                                 "(table or schema.table, at most 63 bytes "
                                 "each)",
                                 c->node, table ? table : "(null)");
    rel->qualified = nparts == 2;
    for (int attempt = 0; attempt < 2 && !rel->exists; attempt++) {
        char try_parts[2][PG_NAME_MAX + 1];
        int changed = 0;
        memcpy(try_parts, parts, sizeof try_parts);
        if (attempt == 1) {
            for (int k = 0; k < nparts; k++)
                if (!quoted[k])
                    for (char *p = try_parts[k]; *p; p++)
                        if (*p >= 'A' && *p <= 'Z') {
                            *p = (char)(*p - 'A' + 'a');
                            changed = 1;
                        }
            if (!changed)
                break;
        }
        rowsync_buf_t q = {0};
        for (int k = 0; k < nparts; k++) {
            if (k)
                rowsync_buf_puts(&q, ".");
            pg_buf_ident(&q, try_parts[k]);
        }
        if (q.oom)
            return pg_oom(err);
        const char *params[1] = {q.p};
        PGresult *res = pg_query(
            c,
            "SELECT c.oid::int8, n.nspname, c.relname, c.relkind"
            " FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n"
            " ON n.oid = c.relnamespace"
            " WHERE c.oid = pg_catalog.to_regclass($1)",
            1, params, err, "looking up a table");
        rowsync_buf_free(&q);
        if (!res) {
            rowsync_error_prefix(err, "table '%s' on node '%s'", table,
                                 c->node);
            return err ? err->code : ROWSYNC_ERROR;
        }
        if (PQntuples(res) == 1) {
            rel->exists = 1;
            rel->oid = (unsigned)strtoul(PQgetvalue(res, 0, 0), NULL, 10);
            snprintf(rel->schema, sizeof rel->schema, "%s",
                     PQgetvalue(res, 0, 1));
            snprintf(rel->name, sizeof rel->name, "%s", PQgetvalue(res, 0, 2));
            rel->relkind = PQgetvalue(res, 0, 3)[0];
        }
        PQclear(res);
    }
    if (!rel->exists) {
        snprintf(rel->name, sizeof rel->name, "%s", parts[nparts - 1]);
        if (nparts == 2) {
            snprintf(rel->schema, sizeof rel->schema, "%s", parts[0]);
        } else {
            char buf[PG_NAME_MAX + 1];
            rc = pg_query_value(c, "SELECT current_schema()", 0, NULL, buf,
                                sizeof buf, NULL, err,
                                "reading the current schema");
            if (rc < 0)
                return rc;
            snprintf(rel->schema, sizeof rel->schema, "%s",
                     *buf ? buf : "public");
        }
    }
    {
        rowsync_buf_t q = {0};
        pg_buf_ident(&q, rel->schema);
        rowsync_buf_puts(&q, ".");
        pg_buf_ident(&q, rel->name);
        if (q.oom)
            return pg_oom(err);
        snprintf(rel->qname, sizeof rel->qname, "%s", q.p);
        rowsync_buf_free(&q);
    }
    pg_object_name(rel->hist, "h_", rel->schema, rel->name);
    pg_object_name(rel->func, "f_", rel->schema, rel->name);
    pg_qualify(rel->qhist, c->qschema, rel->hist);
    pg_qualify(rel->qfunc, c->qschema, rel->func);
    return 0;
}

/* Resolves a table that must exist and be a table. */
int pg_resolve_table(rowsync_conn_t *c, const char *table, pg_rel_t *rel,
                     rowsync_error_t *err)
{
    int rc = pg_resolve(c, table, rel, err);
    if (rc < 0)
        return rc;
    if (!rel->exists)
        return rowsync_error_set(
            err, ROWSYNC_ENOTFOUND,
            "table '%s' not found in database %s on node '%s' (%s); check the "
            "name and the search_path",
            table, c->database, c->node, c->where);
    if (rel->relkind != 'r' && rel->relkind != 'p')
        return rowsync_error_set(
            err, ROWSYNC_ENOTSUP,
            "'%s' on node '%s' is not a table (relkind %c): rowsync syncs "
            "ordinary and partitioned tables",
            table, c->node, rel->relkind);
    return 0;
}

/* Whether a relation exists, by its quoted name. */
int pg_rel_exists(rowsync_conn_t *c, const char *qname, int *exists,
                  rowsync_error_t *err)
{
    char buf[8];
    const char *params[1] = {qname};
    int rc = pg_query_value(c, "SELECT pg_catalog.to_regclass($1) IS NOT NULL",
                            1, params, buf, sizeof buf, NULL, err,
                            "looking up a rowsync table");
    if (rc == 0)
        *exists = buf[0] == 't';
    return rc;
}

/* Maps a (base) type OID to the core type; everything else travels as
 * its text form. */
static rowsync_type_t pg_map_type(unsigned oid)
{
    switch (oid) {
    case PG_BOOLOID:
        return ROWSYNC_TYPE_BOOL;
    case PG_INT2OID:
    case PG_INT4OID:
    case PG_INT8OID:
    case PG_OIDOID:
        return ROWSYNC_TYPE_INT;
    case PG_NUMERICOID:
        return ROWSYNC_TYPE_DECIMAL;
    case PG_FLOAT4OID:
    case PG_FLOAT8OID:
        return ROWSYNC_TYPE_DOUBLE;
    case PG_BYTEAOID:
        return ROWSYNC_TYPE_BINARY;
    case PG_DATEOID:
        return ROWSYNC_TYPE_DATE;
    case PG_TIMEOID:
        return ROWSYNC_TYPE_TIME;
    case PG_TIMESTAMPOID:
        return ROWSYNC_TYPE_TIMESTAMP;
    case PG_TIMESTAMPTZOID:
        return ROWSYNC_TYPE_TIMESTAMPTZ;
    case PG_UUIDOID:
        return ROWSYNC_TYPE_UUID;
    case PG_JSONOID:
    case PG_JSONBOID:
        return ROWSYNC_TYPE_JSON;
    default:
        return ROWSYNC_TYPE_TEXT;
    }
}

/* Reads the type (pg_attribute.atttypid) of each spec column of table
 * reloid into oids; a column not found keeps 0 (read and written as
 * text). */
int pg_column_oids(rowsync_conn_t *c, unsigned reloid,
                   const rowsync_table_spec_t *spec, unsigned *oids,
                   rowsync_error_t *err)
{
    char oid[16];
    snprintf(oid, sizeof oid, "%u", reloid);
    const char *params[1] = {oid};
    PGresult *res = pg_query(c,
                             "SELECT attname, atttypid::int8 FROM"
                             " pg_catalog.pg_attribute WHERE attrelid ="
                             " $1::oid AND attnum > 0 AND NOT attisdropped",
                             1, params, err, "reading the column types");
    if (!res)
        return err ? err->code : ROWSYNC_ERROR;
    for (int r = 0; r < PQntuples(res); r++)
        for (size_t i = 0; i < spec->ncolumns; i++)
            if (strcmp(PQgetvalue(res, r, 0), spec->columns[i]) == 0)
                oids[i] = (unsigned)strtoul(PQgetvalue(res, r, 1), NULL, 10);
    PQclear(res);
    return 0;
}

/* Describes a table: its columns in order (generated columns left out:
 * they cannot be written), their types with domains followed to the base
 * type, and the primary key positions. */
int pg_describe(rowsync_conn_t *c, const char *table,
                const rowsync_table_info_t **out, rowsync_error_t *err)
{
    pg_rel_t rel;
    char oid[16];
    int rc = pg_resolve_table(c, table, &rel, err);
    if (rc < 0)
        return rc;
    snprintf(oid, sizeof oid, "%u", rel.oid);
    const char *params[1] = {oid};
    PGresult *res = pg_query(
        c,
        "SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod),"
        " a.attnotnull,"
        " coalesce((SELECT k.ord FROM pg_catalog.pg_index i,"
        "   unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)"
        "   WHERE i.indrelid = a.attrelid AND i.indisprimary"
        "   AND k.attnum = a.attnum AND k.ord <= i.indnkeyatts), 0),"
        " CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END"
        " FROM pg_catalog.pg_attribute a"
        " JOIN pg_catalog.pg_type t ON t.oid = a.atttypid"
        " WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped"
        " AND a.attgenerated = ''"
        " ORDER BY a.attnum",
        1, params, err, "describing the table");
    if (!res) {
        rowsync_error_prefix(err, "table '%s' on node '%s'", table, c->node);
        return err ? err->code : ROWSYNC_ERROR;
    }
    size_t n = (size_t)PQntuples(res);
    rowsync_column_t *cols = calloc(n ? n : 1, sizeof(*cols));
    char *name = rel.qualified ? NULL : pg_strdup(rel.name);
    if (rel.qualified) {
        size_t len = strlen(rel.schema) + strlen(rel.name) + 2;
        if ((name = malloc(len)))
            snprintf(name, len, "%s.%s", rel.schema, rel.name);
    }
    if (!cols || !name) {
        free(cols);
        free(name);
        PQclear(res);
        return pg_oom(err);
    }
    for (size_t i = 0; i < n; i++) {
        cols[i].name = PQgetvalue(res, (int)i, 0);
        cols[i].native_type = PQgetvalue(res, (int)i, 1);
        cols[i].nullable = PQgetvalue(res, (int)i, 2)[0] != 't';
        cols[i].key_position = atoi(PQgetvalue(res, (int)i, 3));
        cols[i].type = pg_map_type(
            (unsigned)strtoul(PQgetvalue(res, (int)i, 4), NULL, 10));
    }
    PQclear(c->desc_res);
    free(c->desc_cols);
    free(c->desc_name);
    c->desc_res = res;
    c->desc_cols = cols;
    c->desc_name = name;
    c->desc.name = name;
    c->desc.ncolumns = n;
    c->desc.columns = cols;
    *out = &c->desc;
    return 0;
}

/* Checks a spec for the operations that need its columns. */
int pg_check_spec(rowsync_conn_t *c, const rowsync_table_spec_t *spec,
                  rowsync_error_t *err)
{
    if (!spec || !spec->table)
        return rowsync_error_set(err, ROWSYNC_EINVAL, "no table spec");
    if (spec->ncolumns == 0 || spec->nkeys == 0 ||
        spec->nkeys > spec->ncolumns || !spec->columns || !spec->types)
        return rowsync_error_set(
            err, ROWSYNC_EINVAL,
            "table '%s' on node '%s': the spec needs columns and a key",
            spec->table, c->node);
    for (size_t i = 0; i < spec->ncolumns; i++)
        if (!spec->columns[i] || !*spec->columns[i] ||
            strlen(spec->columns[i]) > PG_NAME_MAX)
            return rowsync_error_set(
                err, ROWSYNC_EINVAL,
                "table '%s' on node '%s': column %zu has no usable name",
                spec->table, c->node, i + 1);
    return 0;
}

/* ---- state tables ----------------------------------------------------- */

/* Creates the schema (marked as rowsync's with a comment, so state_remove
 * only ever drops a schema rowsync made), the state table and the conflict
 * journal when missing. Inside the apply transaction the creation is part
 * of it and only counts once it commits. */
int pg_ensure_state(rowsync_conn_t *c, int inside, rowsync_error_t *err)
{
    char buf[8];
    int rc;

    inside |= c->in_txn;

    if (c->state_ok || (c->in_txn && c->state_txn == c->txn_no))
        return 0;
    rowsync_buf_t q = {0};
    rowsync_buf_puts(&q, c->qschema);
    rowsync_buf_puts(&q, ".state");
    rowsync_buf_t q2 = {0};
    rowsync_buf_puts(&q2, c->qschema);
    rowsync_buf_puts(&q2, ".conflicts");
    if (q.oom || q2.oom) {
        rowsync_buf_free(&q);
        rowsync_buf_free(&q2);
        return pg_oom(err);
    }
    const char *params[3] = {q.p, q2.p, c->qschema};
    rc = pg_query_value(c,
                        "SELECT CASE WHEN pg_catalog.to_regclass($1) IS NOT"
                        " NULL AND pg_catalog.to_regclass($2) IS NOT NULL"
                        " THEN 'y' WHEN pg_catalog.to_regnamespace($3) IS NULL"
                        " THEN 's' ELSE 't' END",
                        3, params, buf, sizeof buf, NULL, err,
                        "looking up the rowsync state tables");
    rowsync_buf_free(&q);
    rowsync_buf_free(&q2);
    if (rc < 0)
        return rc;
    if (buf[0] == 'y') {
        if (!inside)
            c->state_ok = 1;
        return 0;
    }
    rowsync_buf_t s = {0};
    if (!inside)
        rowsync_buf_puts(&s, "BEGIN; ");
    if (buf[0] == 's') {
        rowsync_buf_printf(&s,
                      "CREATE SCHEMA %s; COMMENT ON SCHEMA %s IS "
                      "'rowsync: sync state and change capture';",
                      c->qschema, c->qschema);
    }
    rowsync_buf_printf(&s,
                  " CREATE TABLE IF NOT EXISTS %s.state (name text PRIMARY"
                  " KEY, value text NOT NULL, updated_us int8 NOT NULL);"
                  " CREATE TABLE IF NOT EXISTS %s.conflicts (id int8"
                  " GENERATED ALWAYS AS IDENTITY PRIMARY KEY, decided_us int8"
                  " NOT NULL, table_name text NOT NULL, key text NOT NULL,"
                  " rule text NOT NULL, winner text NOT NULL, loser text NOT"
                  " NULL, winner_time_us int8 NOT NULL, loser_time_us int8"
                  " NOT NULL, note text)",
                  c->qschema, c->qschema);
    if (!inside)
        rowsync_buf_puts(&s, "; COMMIT");
    if (s.oom) {
        rowsync_buf_free(&s);
        return pg_oom(err);
    }
    rc = pg_exec(c, s.p, err, "creating the rowsync state tables");
    rowsync_buf_free(&s);
    if (rc < 0) {
        if (!inside)
            pg_exec(c, "ROLLBACK", NULL, "");
        rowsync_error_prefix(err, "node '%s' schema %s", c->node, c->schema);
        return rc;
    }
    if (c->in_txn)
        c->state_txn = c->txn_no;
    else if (!inside)
        c->state_ok = 1;
    return 0;
}

/* ---- capture ---------------------------------------------------------- */

/* The update's column mask over the new row n and the matching old row o
 * (NULL when either is missing: a new or a removed key): bit i set when
 * spec column i, a non-key column, differs between them, compared by
 * binary image, which is NULL-safe and works for types without an
 * equality operator (json, point). NULL, unknown, when the spec has more
 * than 64 columns. The old non-key columns the mask reads go to oval, for
 * the old-row subquery. */
static void pg_cols_mask(rowsync_buf_t *mask, rowsync_buf_t *oval,
                         const rowsync_table_spec_t *spec)
{
    size_t i;

    if (spec->ncolumns > 64) {
        rowsync_buf_puts(mask, "NULL::int8");
        return;
    }
    rowsync_buf_puts(mask, "CASE WHEN o.rowsync_hit IS NULL OR n.rowsync_hit"
                           " IS NULL THEN NULL ELSE 0");
    for (i = spec->nkeys; i < spec->ncolumns; i++) {
        rowsync_buf_puts(oval, ", o.");
        pg_buf_ident(oval, spec->columns[i]);
        rowsync_buf_puts(mask, " | CASE WHEN record_image_eq(ROW(n.");
        pg_buf_ident(mask, spec->columns[i]);
        rowsync_buf_puts(mask, "), ROW(o.");
        pg_buf_ident(mask, spec->columns[i]);
        rowsync_buf_printf(mask, ")) THEN 0 ELSE 1::int8 << %zu END", i);
    }
    rowsync_buf_puts(mask, " END");
}

/* Appends trigger statements writing the history of `rows`, a SELECT of
 * op, k1..kN (and cols when with_cols): a history row per op with the
 * keys as arrays, cut into slices of PG_HIST_SPAN (one slice unless the
 * statement changed more keys); deletes first, so that a key change
 * comes out as a delete of the old key before the write of the new one (a
 * unique column may hold the value the old key held). rowsync_any notes
 * that they wrote. When every row has the same op (op > 0), a plain
 * aggregate comes first and the general statement runs only when it wrote
 * nothing (no rows, or too many): grouping and slicing cost a
 * single-row statement about 14 us, a quarter of its trigger's time. */
static void pg_hist_insert(rowsync_buf_t *b, const char *qhist, size_t nk,
                           int op, int with_cols, const char *rows)
{
    rowsync_buf_t cols = {0}, aggs = {0}, slices = {0};
    const char *slice = "[i * " PG_HIST_SPAN_S " + 1 : (i + 1) * "
                        PG_HIST_SPAN_S "]";

    if (!rows) { /* its buffer ran out of memory */
        b->oom = 1;
        return;
    }
    for (size_t k = 0; k < nk; k++) {
        rowsync_buf_printf(&cols, ", k%zu", k + 1);
        rowsync_buf_printf(&aggs, ", array_agg(q.k%zu) AS k%zu", k + 1, k + 1);
        rowsync_buf_printf(&slices, ", g.k%zu%s", k + 1, slice);
    }
    if (with_cols) {
        rowsync_buf_puts(&cols, ", cols");
        rowsync_buf_puts(&aggs, ", array_agg(q.cols) AS cols");
        rowsync_buf_printf(&slices, ", g.cols%s", slice);
    }
    if (cols.oom || aggs.oom || slices.oom) {
        b->oom = 1;
        goto done;
    }
    if (op > 0)
        rowsync_buf_printf(
            b,
            "    INSERT INTO %s (op, time_us, xid%s)\n"
            "      SELECT %d, rowsync_now, rowsync_xid%s\n"
            "      FROM (SELECT %s FROM (%s) q) g\n"
            "      WHERE cardinality(g.k1) <= " PG_HIST_SPAN_S ";\n"
            "    rowsync_any := rowsync_any OR FOUND;\n"
            "    IF NOT FOUND THEN\n",
            qhist, cols.p, op, cols.p, aggs.p + 2, rows);
    rowsync_buf_printf(
        b,
        "    INSERT INTO %s (op, time_us, xid%s)\n"
        "      SELECT g.op, rowsync_now, rowsync_xid%s\n"
        "      FROM (SELECT q.op, count(*) AS n%s FROM (%s) q\n"
        "        GROUP BY q.op) g,\n"
        "        generate_series(0, (g.n - 1) / " PG_HIST_SPAN_S ") i\n"
        "      ORDER BY g.op <> 3, i;\n"
        "    rowsync_any := rowsync_any OR FOUND;\n",
        qhist, cols.p, slices.p, aggs.p, rows);
    if (op > 0)
        rowsync_buf_puts(b, "    END IF;\n");
done:
    rowsync_buf_free(&cols);
    rowsync_buf_free(&aggs);
    rowsync_buf_free(&slices);
}

/* The trigger function body: stand aside while rowsync applies to this
 * table (the marker holds its oid), else write the statement's history
 * from the transition tables (pg_hist_insert). An UPDATE records a delete
 * for each old key no new row has, and for each new row an update (or an
 * insert when its key is new), all from one full join of old and new rows
 * by key. A statement that recorded something
 * notifies `channel` (a SQL literal) once, which wakes `rowsync run`;
 * the server delivers it at commit, and only then. */
static void pg_trigger_body(rowsync_buf_t *b, const rowsync_table_spec_t *spec,
                            const char *qhist, const char *channel)
{
    size_t k, nk = spec->nkeys;
    rowsync_buf_t sel_n = {0}, sel_o = {0}, okeys = {0}, ncols = {0};
    rowsync_buf_t join = {0}, mask = {0}, oval = {0}, rows = {0};

    for (k = 0; k < nk; k++) {
        rowsync_buf_puts(&sel_n, ", n.");
        pg_buf_ident(&sel_n, spec->columns[k]);
        rowsync_buf_printf(&sel_n, " AS k%zu", k + 1);
        rowsync_buf_puts(&sel_o, ", o.");
        pg_buf_ident(&sel_o, spec->columns[k]);
        rowsync_buf_printf(&sel_o, " AS k%zu", k + 1);
        rowsync_buf_puts(&okeys, ", o.");
        pg_buf_ident(&okeys, spec->columns[k]);
        rowsync_buf_puts(&join, k ? " AND n." : "n.");
        pg_buf_ident(&join, spec->columns[k]);
        rowsync_buf_puts(&join, " = o.");
        pg_buf_ident(&join, spec->columns[k]);
    }
    for (size_t i = 0; i < spec->ncolumns; i++) {
        rowsync_buf_puts(&ncols, ", n.");
        pg_buf_ident(&ncols, spec->columns[i]);
    }
    pg_cols_mask(&mask, &oval, spec);
    if (sel_n.oom || sel_o.oom || okeys.oom || ncols.oom || join.oom ||
        mask.oom || oval.oom) {
        b->oom = 1;
        goto done;
    }
    rowsync_buf_puts(
        b,
        "#variable_conflict use_variable\n"
        "DECLARE\n"
        "  rowsync_now int8 := " PG_NOW_US ";\n"
        "  rowsync_xid int8 := pg_current_xact_id()::text::int8;\n"
        "  rowsync_any bool := false;\n"
        "BEGIN\n"
        "  IF current_setting('rowsync.applying', true) = TG_RELID::text THEN\n"
        "    RETURN NULL;\n"
        "  END IF;\n"
        "  IF TG_OP = 'INSERT' THEN\n");
    rowsync_buf_printf(&rows, "SELECT 1::int2 AS op%s FROM rowsync_new n",
                       sel_n.p);
    pg_hist_insert(b, qhist, nk, 1, 0, rows.p);
    /* one full join of old and new rows by key: an old key without a new
     * row was deleted (the key changed), a new one without an old row
     * inserted, the rest updated */
    rowsync_buf_puts(b, "  ELSIF TG_OP = 'UPDATE' THEN\n");
    rowsync_buf_free(&rows);
    rowsync_buf_puts(&rows, "SELECT CASE WHEN n.rowsync_hit IS NULL THEN 3"
                            " WHEN o.rowsync_hit IS NULL THEN 1 ELSE 2"
                            " END::int2 AS op");
    for (k = 0; k < nk; k++) {
        rowsync_buf_puts(&rows, ", CASE WHEN n.rowsync_hit IS NULL THEN o.");
        pg_buf_ident(&rows, spec->columns[k]);
        rowsync_buf_puts(&rows, " ELSE n.");
        pg_buf_ident(&rows, spec->columns[k]);
        rowsync_buf_printf(&rows, " END AS k%zu", k + 1);
    }
    rowsync_buf_printf(&rows,
                       ", %s AS cols FROM (SELECT true AS rowsync_hit%s"
                       " FROM rowsync_new n) n FULL JOIN (SELECT true AS"
                       " rowsync_hit%s%s FROM rowsync_old o) o ON %s",
                       mask.p, ncols.p, okeys.p, oval.p ? oval.p : "", join.p);
    pg_hist_insert(b, qhist, nk, 0, 1, rows.p);
    rowsync_buf_puts(b, "  ELSE\n");
    rowsync_buf_free(&rows);
    rowsync_buf_printf(&rows, "SELECT 3::int2 AS op%s FROM rowsync_old o",
                       sel_o.p);
    pg_hist_insert(b, qhist, nk, 3, 0, rows.p);
    rowsync_buf_printf(b,
                       "  END IF;\n"
                       "  IF rowsync_any THEN\n"
                       "    PERFORM pg_notify(%s, '');\n"
                       "  END IF;\n"
                       "  RETURN NULL;\n"
                       "END\n",
                       channel);
done:
    rowsync_buf_free(&sel_n);
    rowsync_buf_free(&sel_o);
    rowsync_buf_free(&okeys);
    rowsync_buf_free(&ncols);
    rowsync_buf_free(&join);
    rowsync_buf_free(&mask);
    rowsync_buf_free(&oval);
    rowsync_buf_free(&rows);
}

/* For a history table that exists: adds the column mask `cols` when the
 * table predates it (its rows keep NULL, unknown), and forgets the masks
 * of pending rows when the trigger function is about to change (they
 * name the columns of the old column list). Appends the SQL to s. */
static int pg_cols_keep(rowsync_conn_t *c, const pg_rel_t *rel,
                        const char *body, rowsync_buf_t *s,
                        rowsync_error_t *err)
{
    rowsync_buf_t fn = {0};
    PGresult *res;

    rowsync_buf_printf(s,
                       "ALTER TABLE %s ADD COLUMN IF NOT EXISTS cols int8[]; ",
                       rel->qhist);
    rowsync_buf_printf(&fn, "%s()", rel->qfunc);
    if (fn.oom)
        return pg_oom(err);
    const char *params[1] = {fn.p};
    res = pg_query(c,
                   "SELECT p.prosrc FROM pg_catalog.pg_proc p WHERE p.oid ="
                   " pg_catalog.to_regprocedure($1)",
                   1, params, err, "reading the trigger function");
    rowsync_buf_free(&fn);
    if (!res)
        return err ? err->code : ROWSYNC_ERROR;
    if (PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), body) != 0)
        rowsync_buf_printf(s,
                           "UPDATE %s SET cols = NULL WHERE cols IS NOT NULL; ",
                           rel->qhist);
    PQclear(res);
    return 0;
}

/* "T" -> "T[]", "T COLLATE C" -> "T[] COLLATE C": the history keeps each
 * statement's keys as arrays of the key column's type (malloc'd). */
static char *pg_array_type(const char *type)
{
    const char *coll = strstr(type, " COLLATE ");
    size_t at = coll ? (size_t)(coll - type) : strlen(type);
    char *t = malloc(strlen(type) + 3);

    if (t) {
        memcpy(t, type, at);
        memcpy(t + at, "[]", 2);
        strcpy(t + at + 2, type + at);
    }
    return t;
}

/* Installs capture for the spec's table in one transaction: schema and
 * state tables, the history table (kept when it exists with the same key
 * types, so pending history survives a new column list), the trigger
 * function (replaced) and the three statement triggers (replaced). */
int pg_capture_install(rowsync_conn_t *c, const rowsync_table_spec_t *spec,
                       rowsync_error_t *err)
{
    pg_rel_t rel;
    rowsync_buf_t s = {0}, ktypes = {0}, comment = {0};
    char **types = NULL;
    PGresult *res = NULL;
    int rc;

    if ((rc = pg_check_spec(c, spec, err)) < 0 ||
        (rc = pg_need_idle(c, err, "installing capture")) < 0 ||
        (rc = pg_resolve_table(c, spec->table, &rel, err)) < 0)
        return rc;
    types = calloc(spec->nkeys, sizeof(*types));
    if (!types)
        return pg_oom(err);
    /* key column types, with their collation when it is not the type's */
    {
        char oid[16];
        snprintf(oid, sizeof oid, "%u", rel.oid);
        for (size_t k = 0; k < spec->nkeys; k++) {
            const char *params[2] = {oid, spec->columns[k]};
            res = pg_query(
                c,
                "SELECT pg_catalog.format_type(a.atttypid, a.atttypmod) ||"
                " coalesce((SELECT ' COLLATE ' || quote_ident(n.nspname) ||"
                " '.' || quote_ident(co.collname)"
                " FROM pg_catalog.pg_collation co JOIN pg_catalog.pg_namespace"
                " n ON n.oid = co.collnamespace WHERE co.oid = a.attcollation"
                " AND a.attcollation <> t.typcollation), ''), t.typcategory"
                " FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON"
                " t.oid = a.atttypid WHERE a.attrelid = $1::oid AND a.attname"
                " = $2 AND a.attnum > 0 AND NOT a.attisdropped",
                2, params, err, "reading the key columns");
            if (!res) {
                rc = err ? err->code : ROWSYNC_ERROR;
                goto fail;
            }
            if (PQntuples(res) != 1) {
                rc = rowsync_error_set(
                    err, ROWSYNC_ENOTFOUND,
                    "key column '%s' of table '%s' not found on node '%s'",
                    spec->columns[k], spec->table, c->node);
                goto fail;
            }
            if (strcmp(PQgetvalue(res, 0, 1), "A") == 0) {
                /* the history keeps keys in arrays, and an array of
                 * arrays is one multidimensional array */
                rc = rowsync_error_set(
                    err, ROWSYNC_ENOTSUP,
                    "key column '%s' of table '%s' on node '%s' is an array "
                    "(%s); the pgsql driver cannot capture a table keyed on "
                    "an array column",
                    spec->columns[k], spec->table, c->node,
                    PQgetvalue(res, 0, 0));
                goto fail;
            }
            if (!(types[k] = pg_array_type(PQgetvalue(res, 0, 0)))) {
                rc = pg_oom(err);
                goto fail;
            }
            PQclear(res);
            res = NULL;
        }
    }
    if ((rc = pg_exec(c, "BEGIN", err, "starting the install")) < 0)
        goto fail;
    c->state_ok = 0; /* counted again after commit */
    if ((rc = pg_ensure_state(c, 1, err)) < 0)
        goto fail_txn;

    /* the history table: reuse when the key types match */
    rowsync_buf_printf(&comment, "rowsync history of %s", rel.qname);
    {
        const char *params[2] = {c->schema, rel.hist};
        res = pg_query(
            c,
            "SELECT c.oid::int8, coalesce(obj_description(c.oid, 'pg_class'),"
            " ''), (SELECT string_agg(pg_catalog.format_type(a.atttypid,"
            " a.atttypmod), ',' ORDER BY a.attnum) FROM"
            " pg_catalog.pg_attribute a WHERE a.attrelid = c.oid AND"
            " a.attname ~ '^k[0-9]+$' AND NOT a.attisdropped)"
            " FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON"
            " n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2",
            2, params, err, "looking up the history table");
        if (!res) {
            rc = err ? err->code : ROWSYNC_ERROR;
            goto fail_txn;
        }
    }
    for (size_t k = 0; k < spec->nkeys; k++) {
        /* compare without collations: format_type has none */
        const char *t = types[k];
        const char *coll = strstr(t, " COLLATE ");
        if (k)
            rowsync_buf_puts(&ktypes, ",");
        rowsync_buf_add(&ktypes, t, coll ? (size_t)(coll - t) : strlen(t));
    }
    if (ktypes.oom || comment.oom) {
        rc = pg_oom(err);
        goto fail_txn;
    }
    int have_hist = PQntuples(res) == 1;
    if (have_hist && strcmp(PQgetvalue(res, 0, 1), comment.p) != 0) {
        rc = rowsync_error_set(
            err, ROWSYNC_EINVAL,
            "table '%s' on node '%s': the history table %s belongs to "
            "another table (its comment says '%s'); rename one of the tables",
            spec->table, c->node, rel.qhist, PQgetvalue(res, 0, 1));
        goto fail_txn;
    }
    if (have_hist && strcmp(PQgetvalue(res, 0, 2), ktypes.p) != 0) {
        /* the key changed, or the table has the row-per-change layout of
         * an earlier rowsync: only an empty history can be rebuilt */
        char cnt[32];
        int old_layout = !strstr(PQgetvalue(res, 0, 2), "[]");
        rowsync_buf_printf(&s, "SELECT %s FROM %s",
                           old_layout ? "count(*)"
                                      : "coalesce(sum(cardinality(k1)), 0)",
                           rel.qhist);
        rc = s.oom ? pg_oom(err)
                   : pg_query_value(c, s.p, 0, NULL, cnt, sizeof cnt, NULL, err,
                                    "counting the history");
        rowsync_buf_free(&s);
        if (rc < 0)
            goto fail_txn;
        if (strcmp(cnt, "0") != 0 && old_layout) {
            rc = rowsync_error_set(
                err, ROWSYNC_EINVAL,
                "table '%s' on node '%s': the history table %s has the "
                "layout of an earlier rowsync (a row per change) and %s "
                "changes are pending; sync them with the rowsync that "
                "installed it, or run `rowsync history clear` first",
                spec->table, c->node, rel.qhist, cnt);
            goto fail_txn;
        }
        if (strcmp(cnt, "0") != 0) {
            rc = rowsync_error_set(
                err, ROWSYNC_EINVAL,
                "table '%s' on node '%s': the key changed (history keys %s, "
                "now %s) while %s changes are pending; sync them or run "
                "`rowsync history clear` first",
                spec->table, c->node, PQgetvalue(res, 0, 2), ktypes.p, cnt);
            goto fail_txn;
        }
        rowsync_buf_printf(&s, "DROP TABLE %s CASCADE; ", rel.qhist);
        have_hist = 0;
    }
    PQclear(res);
    res = NULL;
    if (!have_hist) {
        char *lit = PQescapeLiteral(c->pg, comment.p, comment.len);
        if (!lit) {
            rc = pg_fail(c, NULL, err, "escaping a comment");
            goto fail_txn;
        }
        rowsync_buf_printf(&s,
                      "CREATE TABLE %s (seq int8 GENERATED ALWAYS AS IDENTITY"
                      " (INCREMENT BY " PG_HIST_SPAN_S "),"
                      " op int2 NOT NULL, time_us int8 NOT NULL, origin text,"
                      " xid int8 NOT NULL DEFAULT"
                      " pg_current_xact_id()::text::int8",
                      rel.qhist);
        for (size_t k = 0; k < spec->nkeys; k++)
            rowsync_buf_printf(&s, ", k%zu %s", k + 1, types[k]);
        rowsync_buf_printf(&s,
                      ", cols int8[]); CREATE INDEX ON %s USING brin (xid) WITH"
                      " (autosummarize = on); COMMENT ON TABLE %s IS %s; ",
                      rel.qhist, rel.qhist, lit);
        PQfreemem(lit);
    }
    /* the trigger function and the triggers */
    {
        rowsync_buf_t body = {0};
        pg_trigger_body(&body, spec, rel.qhist, c->channel);
        if (have_hist && !body.oom &&
            (rc = pg_cols_keep(c, &rel, body.p, &s, err)) < 0) {
            rowsync_buf_free(&body);
            goto fail_txn;
        }
        char *lit = body.oom ? NULL : PQescapeLiteral(c->pg, body.p, body.len);
        rowsync_buf_free(&body);
        if (!lit) {
            rc = pg_oom(err);
            goto fail_txn;
        }
        /* jit off: transition tables have no statistics, so a large
         * UPDATE's join is estimated at millions of rows, and compiling
         * it took 0.3 s of a 0.6 s trigger at 100k rows */
        rowsync_buf_printf(&s,
                      "CREATE OR REPLACE FUNCTION %s() RETURNS trigger"
                      " LANGUAGE plpgsql SECURITY DEFINER"
                      " SET search_path = pg_catalog, pg_temp SET jit = off"
                      " AS %s; ",
                      rel.qfunc, lit);
        PQfreemem(lit);
    }
    rowsync_buf_printf(&s,
                  "DROP TRIGGER IF EXISTS rowsync_capture_ins ON %s;"
                  " DROP TRIGGER IF EXISTS rowsync_capture_upd ON %s;"
                  " DROP TRIGGER IF EXISTS rowsync_capture_del ON %s;"
                  " CREATE TRIGGER rowsync_capture_ins AFTER INSERT ON %s"
                  " REFERENCING NEW TABLE AS rowsync_new FOR EACH STATEMENT"
                  " EXECUTE FUNCTION %s();"
                  " CREATE TRIGGER rowsync_capture_upd AFTER UPDATE ON %s"
                  " REFERENCING OLD TABLE AS rowsync_old NEW TABLE AS"
                  " rowsync_new FOR EACH STATEMENT EXECUTE FUNCTION %s();"
                  " CREATE TRIGGER rowsync_capture_del AFTER DELETE ON %s"
                  " REFERENCING OLD TABLE AS rowsync_old FOR EACH STATEMENT"
                  " EXECUTE FUNCTION %s();"
                  " COMMIT",
                  rel.qname, rel.qname, rel.qname, rel.qname, rel.qfunc,
                  rel.qname, rel.qfunc, rel.qname, rel.qfunc);
    if (s.oom) {
        rc = pg_oom(err);
        goto fail_txn;
    }
    rc = pg_exec(c, s.p, err, "installing change capture");
    if (rc < 0)
        goto fail_txn;
    c->state_ok = 1;
    pg_forget_targets(c);
    goto done;
fail_txn:
    pg_exec(c, "ROLLBACK", NULL, "");
fail:
    if (rc < 0 && err && !strstr(err->message, spec->table))
        rowsync_error_prefix(err,
                             "installing capture for table '%s' on "
                             "node '%s'",
                             spec->table, c->node);
done:
    PQclear(res);
    for (size_t k = 0; types && k < spec->nkeys; k++)
        free(types[k]);
    free(types);
    rowsync_buf_free(&s);
    rowsync_buf_free(&ktypes);
    rowsync_buf_free(&comment);
    return rc;
}

/* 1 in *installed when the history table and the three triggers exist,
 * the history with its keys as arrays (an earlier layout needs `init`); 0
 * also when the table itself does not. */
int pg_capture_status(rowsync_conn_t *c, const rowsync_table_spec_t *spec,
                      int *installed, rowsync_error_t *err)
{
    pg_rel_t rel;
    char buf[8], oid[16];
    int rc;

    if (!spec || !spec->table)
        return rowsync_error_set(err, ROWSYNC_EINVAL, "no table spec");
    if ((rc = pg_resolve(c, spec->table, &rel, err)) < 0)
        return rc;
    *installed = 0;
    if (!rel.exists)
        return 0;
    snprintf(oid, sizeof oid, "%u", rel.oid);
    const char *params[2] = {oid, rel.qhist};
    rc = pg_query_value(
        c,
        "SELECT (SELECT count(*) FROM pg_catalog.pg_trigger WHERE tgrelid ="
        " $1::oid AND tgname IN ('rowsync_capture_ins', 'rowsync_capture_upd',"
        " 'rowsync_capture_del')) = 3 AND coalesce((SELECT t.typcategory ="
        " 'A' FROM pg_catalog.pg_attribute a JOIN"
        " pg_catalog.pg_type t ON t.oid = a.atttypid WHERE a.attrelid ="
        " pg_catalog.to_regclass($2) AND a.attname = 'k1'), false)",
        2, params, buf, sizeof buf, NULL, err, "reading the capture status");
    if (rc < 0)
        return rc;
    *installed = buf[0] == 't';
    return 0;
}

/* Drops the triggers (when the table is there), the history table and the
 * trigger function. Works from the table name alone. */
int pg_capture_remove(rowsync_conn_t *c, const rowsync_table_spec_t *spec,
                      rowsync_error_t *err)
{
    pg_rel_t rel;
    rowsync_buf_t s = {0};
    int rc;

    if (!spec || !spec->table)
        return rowsync_error_set(err, ROWSYNC_EINVAL, "no table spec");
    if ((rc = pg_need_idle(c, err, "removing capture")) < 0 ||
        (rc = pg_resolve(c, spec->table, &rel, err)) < 0)
        return rc;
    rowsync_buf_puts(&s, "BEGIN; ");
    if (rel.exists)
        rowsync_buf_printf(&s,
                      "DROP TRIGGER IF EXISTS rowsync_capture_ins ON %s;"
                      " DROP TRIGGER IF EXISTS rowsync_capture_upd ON %s;"
                      " DROP TRIGGER IF EXISTS rowsync_capture_del ON %s; ",
                      rel.qname, rel.qname, rel.qname);
    rowsync_buf_printf(&s,
                  "DROP TABLE IF EXISTS %s; DROP FUNCTION IF EXISTS %s();"
                  " COMMIT",
                  rel.qhist, rel.qfunc);
    if (s.oom) {
        rowsync_buf_free(&s);
        return pg_oom(err);
    }
    rc = pg_exec(c, s.p, err, "removing change capture");
    rowsync_buf_free(&s);
    if (rc < 0) {
        pg_exec(c, "ROLLBACK", NULL, "");
        rowsync_error_prefix(err, "table '%s' on node '%s'", spec->table,
                             c->node);
    }
    pg_forget_targets(c);
    return rc;
}

/* Resolves the table's history table; ROWSYNC_ENOTFOUND when capture is
 * not installed. */
int pg_need_history(rowsync_conn_t *c, const char *table, pg_rel_t *rel,
                    rowsync_error_t *err)
{
    int exists = 0, rc;

    if (!table)
        return rowsync_error_set(err, ROWSYNC_EINVAL, "no table spec");
    if ((rc = pg_resolve(c, table, rel, err)) < 0 ||
        (rc = pg_rel_exists(c, rel->qhist, &exists, err)) < 0)
        return rc;
    if (!exists)
        return rowsync_error_set(
            err, ROWSYNC_ENOTFOUND,
            "change capture is not installed for table '%s' on node '%s' "
            "(database %s at %s; no history table %s); run `rowsync init`",
            table, c->node, c->database, c->where, rel->qhist);
    return 0;
}

int pg_history_clear(rowsync_conn_t *c, const rowsync_table_spec_t *spec,
                     rowsync_error_t *err)
{
    pg_rel_t rel;
    rowsync_buf_t s = {0};
    int rc;

    if ((rc = pg_need_idle(c, err, "clearing history")) < 0 ||
        (rc = pg_need_history(c, spec ? spec->table : NULL, &rel, err)) < 0)
        return rc;
    rowsync_buf_printf(&s, "TRUNCATE %s", rel.qhist);
    rc = s.oom ? pg_oom(err) : pg_exec(c, s.p, err, "clearing the history");
    rowsync_buf_free(&s);
    if (rc < 0)
        rowsync_error_prefix(err, "table '%s' on node '%s'", spec->table,
                             c->node);
    return rc;
}

int pg_history_count(rowsync_conn_t *c, const rowsync_table_spec_t *spec,
                     int64_t *rows, rowsync_error_t *err)
{
    pg_rel_t rel;
    rowsync_buf_t s = {0};
    char buf[32];
    int rc;

    if ((rc = pg_need_history(c, spec ? spec->table : NULL, &rel, err)) < 0)
        return rc;
    rowsync_buf_printf(&s, "SELECT coalesce(sum(cardinality(k1)), 0) FROM %s",
                       rel.qhist);
    rc = s.oom ? pg_oom(err)
               : pg_query_value(c, s.p, 0, NULL, buf, sizeof buf, NULL, err,
                                "counting the history");
    rowsync_buf_free(&s);
    if (rc < 0) {
        rowsync_error_prefix(err, "table '%s' on node '%s'", spec->table,
                             c->node);
        return rc;
    }
    *rows = strtoll(buf, NULL, 10);
    return 0;
}

/* Drops the state table and the conflict journal, then the schema when
 * rowsync created it and nothing else is left in it (history tables of
 * other captured tables keep it). */
int pg_state_remove(rowsync_conn_t *c, rowsync_error_t *err)
{
    rowsync_buf_t s = {0};
    char buf[8];
    int rc;

    if ((rc = pg_need_idle(c, err, "removing state")) < 0)
        return rc;
    rowsync_buf_printf(&s,
                  "BEGIN; DROP TABLE IF EXISTS %s.state;"
                  " DROP TABLE IF EXISTS %s.conflicts; COMMIT",
                  c->qschema, c->qschema);
    rc = s.oom ? pg_oom(err)
               : pg_exec(c, s.p, err, "removing the rowsync state tables");
    rowsync_buf_free(&s);
    c->state_ok = 0;
    pg_forget_targets(c);
    if (rc < 0) {
        pg_exec(c, "ROLLBACK", NULL, "");
        rowsync_error_prefix(err, "node '%s'", c->node);
        return rc;
    }
    const char *params[1] = {c->schema};
    rc = pg_query_value(
        c,
        "SELECT n.oid IS NOT NULL AND obj_description(n.oid,"
        " 'pg_namespace') = 'rowsync: sync state and change capture' AND"
        " NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE"
        " c.relnamespace = n.oid) AND NOT EXISTS (SELECT 1 FROM"
        " pg_catalog.pg_proc p WHERE p.pronamespace = n.oid) AND NOT EXISTS"
        " (SELECT 1 FROM pg_catalog.pg_type t WHERE t.typnamespace = n.oid)"
        " FROM pg_catalog.pg_namespace n WHERE n.nspname = $1",
        1, params, buf, sizeof buf, NULL, err, "looking up the schema");
    if (rc < 0)
        return rc;
    if (buf[0] == 't') {
        rowsync_buf_printf(&s, "DROP SCHEMA IF EXISTS %s RESTRICT", c->qschema);
        rc = s.oom ? pg_oom(err)
                   : pg_exec(c, s.p, err, "dropping the rowsync schema");
        rowsync_buf_free(&s);
        if (rc < 0)
            rowsync_error_prefix(err, "node '%s'", c->node);
    }
    return rc;
}

/* ---- foreign keys ----------------------------------------------------- */

/* Reports each table `table` references through a foreign key, as
 * schema.table (unquoted), once per table. */
int pg_references(rowsync_conn_t *c, const char *table,
                  int (*cb)(void *ctx, const char *referenced), void *ctx,
                  rowsync_error_t *err)
{
    pg_rel_t rel;
    char oid[16];
    int rc;

    if (!cb)
        return rowsync_error_set(err, ROWSYNC_EINVAL, "no callback");
    if ((rc = pg_resolve_table(c, table, &rel, err)) < 0)
        return rc;
    snprintf(oid, sizeof oid, "%u", rel.oid);
    const char *params[1] = {oid};
    PGresult *res =
        pg_query(c,
                 "SELECT DISTINCT n.nspname || '.' || r.relname"
                 " FROM pg_catalog.pg_constraint k"
                 " JOIN pg_catalog.pg_class r ON r.oid = k.confrelid"
                 " JOIN pg_catalog.pg_namespace n ON n.oid = r.relnamespace"
                 " WHERE k.conrelid = $1::oid AND k.contype = 'f' ORDER BY 1",
                 1, params, err, "reading foreign keys");
    if (!res) {
        rowsync_error_prefix(err, "table '%s' on node '%s'", table, c->node);
        return err ? err->code : ROWSYNC_ERROR;
    }
    for (int r = 0; r < PQntuples(res); r++)
        if (cb(ctx, PQgetvalue(res, r, 0)) != 0)
            break;
    PQclear(res);
    return 0;
}
