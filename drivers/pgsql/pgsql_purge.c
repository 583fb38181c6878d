/* The PostgreSQL driver's history upkeep: history_purge deletes the
 * history rows that every direction's cursor has consumed. */
#include <config.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgsql.h"

/* Deletes the rows of the table's history that every cursor consumes
 * (see "cursors" in pgsql_stream.c: a change is consumed when its
 * position is at or below the cursor's step function at its xid; a
 * history row goes when its last change, seq + cardinality - 1, is) and
 * that were stamped before before_us; *purged counts changes. The
 * predicate is the conjunction of each cursor's own test, so nothing one
 * direction still has to read can go; a row at or above a cursor's last
 * breakpoint is never consumed, which bounds the xid range (the history's
 * BRIN index). An empty cursor, or none at all,
 * consumes nothing. One DELETE statement: its own transaction, and under
 * MVCC neither the triggers' inserts nor readers wait for it. */
int pg_history_purge(rowsync_conn_t *c, const rowsync_table_spec_t *spec,
                     const char *const *cursors, size_t ncursors,
                     int64_t before_us, int64_t *purged, rowsync_error_t *err)
{
    const size_t per = 2 * PG_STEP_MAX + 2; /* parameters of one cursor */
    pg_step_t *steps = NULL;
    char(*nums)[24] = NULL;
    const char **params = NULL;
    rowsync_buf_t q = {0};
    PGresult *res = NULL;
    uint64_t hi = UINT64_MAX;
    pg_rel_t rel;
    int np = 0, rc, empty = ncursors == 0;

    if (purged)
        *purged = 0;
    if ((rc = pg_need_idle(c, err, "purging history")) < 0 ||
        (rc = pg_need_history(c, spec ? spec->table : NULL, &rel, err)) < 0)
        return rc;
    if (ncursors > 0 && !(steps = calloc(ncursors, sizeof(*steps))))
        return pg_oom(err);
    for (size_t i = 0; i < ncursors; i++) {
        const char *cur = cursors ? cursors[i] : NULL;
        if (!cur || !*cur) {
            empty = 1;
            continue;
        }
        if (pg_step_parse(cur, &steps[i]) < 0) {
            rc = rowsync_error_set(
                err, ROWSYNC_EINVAL,
                "table '%s' on node '%s': '%.60s' is not a pgsql cursor "
                "(expected X or X:H:S..., numbers); history not purged",
                spec->table, c->node, cur);
            goto done;
        }
        if (steps[i].n > 0 && steps[i].p[steps[i].n - 1] < hi)
            hi = steps[i].p[steps[i].n - 1];
    }
    if (empty || hi == 0 || hi == UINT64_MAX)
        goto done;

    nums = calloc(ncursors * per + 2, sizeof(*nums));
    params = calloc(ncursors * per + 2, sizeof(*params));
    if (!nums || !params) {
        rc = pg_oom(err);
        goto done;
    }
    snprintf(nums[np++], sizeof nums[0], "%" PRId64, before_us);
    snprintf(nums[np++], sizeof nums[0], "%" PRIu64, hi);
    rowsync_buf_printf(&q,
                       "WITH d AS (DELETE FROM %s h WHERE h.time_us < $1::int8"
                       " AND h.xid < $2::int8",
                       rel.qhist);
    for (size_t i = 0; i < ncursors; i++) {
        rowsync_buf_puts(&q, " AND (");
        pg_step_sql(&q, &steps[i], "(h.seq + cardinality(h.k1) - 1)", nums,
                    &np);
        rowsync_buf_puts(&q, ")");
    }
    rowsync_buf_puts(&q, " RETURNING cardinality(h.k1) AS n) SELECT"
                         " coalesce(sum(n), 0)::text FROM d");
    if (q.oom) {
        rc = pg_oom(err);
        goto done;
    }
    for (int i = 0; i < np; i++)
        params[i] = nums[i];
    res = pg_query(c, q.p, np, params, err, "purging the history");
    if (!res) {
        rc = err ? err->code : ROWSYNC_ERROR;
        rowsync_error_prefix(err, "table '%s' on node '%s'", spec->table,
                             c->node);
        goto done;
    }
    if (purged)
        *purged = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
done:
    PQclear(res);
    rowsync_buf_free(&q);
    free(params);
    free(nums);
    free(steps);
    return rc;
}
