/* The mapping resolver (mapping.h): a table's canonical columns, its
 * spec on each node and the routes between nodes, from the job file and
 * the drivers' descriptions of the table. Pure: no driver is called here,
 * so tests/unit/check_mapping.c drives it with made-up descriptions. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "filter.h"
#include "mapping.h"

static const rowsync_column_t *mp_find_column(const rowsync_table_info_t *info,
                                              const char *name)
{
    for (size_t c = 0; c < info->ncolumns; c++)
        if (strcmp(info->columns[c].name, name) == 0)
            return &info->columns[c];
    for (size_t c = 0; c < info->ncolumns; c++)
        if (strcasecmp(info->columns[c].name, name) == 0)
            return &info->columns[c];
    return NULL;
}

/* The table's name on node: its [table NAME @ NODE] name, or the
 * canonical name. */
const char *rs_map_table_name(const rs_table_cfg_t *tc, const char *node)
{
    const rs_table_node_cfg_t *on = rs_table_cfg_on(tc, node);
    return on && on->name ? on->name : tc->name;
}

/* The name a canonical column has on a node (map), or NULL when the node
 * skips it. */
static const char *mp_node_column(const rs_table_node_cfg_t *on,
                                  const char *canon)
{
    if (!on)
        return canon;
    for (size_t i = 0; i < on->nskip; i++)
        if (strcmp(on->skip[i], canon) == 0)
            return NULL;
    for (size_t i = 0; i < on->nmap; i++)
        if (strcmp(on->map_from[i], canon) == 0)
            return on->map_to[i];
    return canon;
}

/* The canonical name of a column as a node names it (map inverted), or
 * NULL when it is one of the node's fill columns. */
static const char *mp_canon_column(const rs_table_node_cfg_t *on,
                                   const char *name)
{
    if (!on)
        return name;
    for (size_t i = 0; i < on->nfill; i++)
        if (strcasecmp(on->fill[i].column, name) == 0)
            return NULL;
    for (size_t i = 0; i < on->nmap; i++)
        if (strcasecmp(on->map_to[i], name) == 0)
            return on->map_from[i];
    return name;
}

static int mp_listed(char **list, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(list[i], name) == 0)
            return 1;
    return 0;
}

/* Decides the canonical column list of a table (keys first) from the job
 * file and the reference node's description, read through the reference
 * node's mapping (its renames inverted, its skipped columns added, its
 * fill columns left out). *names is malloc'd, each name owned by it. */
static int mp_canonical(const rs_job_cfg_t *cfg, const rs_table_cfg_t *tc,
                        const char *ref, const rowsync_table_info_t *info,
                        char ***names, size_t *ncols, size_t *nkeys,
                        rowsync_error_t *err)
{
    const char *file = cfg->path;
    const rs_table_node_cfg_t *on = rs_table_cfg_on(tc, ref);
    size_t cap =
        info->ncolumns + tc->ncolumns + tc->nkey + (on ? on->nskip : 0) + 1;
    char **list = calloc(cap, sizeof(*list));
    size_t n = 0, k = 0;
    if (!list)
        return ROWSYNC_ENOMEM;
    int rc = 0;
    if (tc->nkey) {
        for (size_t i = 0; i < tc->nkey; i++)
            list[n++] = rs_strdup(tc->key[i]);
    } else {
        int maxpos = 0;
        for (size_t c = 0; c < info->ncolumns; c++)
            if (info->columns[c].key_position > maxpos)
                maxpos = info->columns[c].key_position;
        for (int pos = 1; pos <= maxpos; pos++)
            for (size_t c = 0; c < info->ncolumns; c++)
                if (info->columns[c].key_position == pos) {
                    const char *cn = mp_canon_column(on, info->columns[c].name);
                    list[n++] = rs_strdup(cn ? cn : info->columns[c].name);
                }
        if (n == 0) {
            rc = rowsync_error_set(
                err, ROWSYNC_EINVAL,
                "table '%s' on node '%s' has no primary key: set key = "
                "COLUMN[, COLUMN...] in [table %s] (%s:%d)",
                tc->name, ref, tc->name, file, tc->line);
            goto fail;
        }
    }
    k = n;
    if (tc->ncolumns) {
        for (size_t i = 0; i < tc->ncolumns; i++) {
            int is_key = 0;
            for (size_t j = 0; j < k; j++)
                is_key |= strcmp(list[j], tc->columns[i]) == 0;
            if (!is_key)
                list[n++] = rs_strdup(tc->columns[i]);
        }
    } else {
        for (size_t c = 0; c < info->ncolumns; c++) {
            const char *cn = mp_canon_column(on, info->columns[c].name);
            if (cn && !mp_listed(list, n, cn))
                list[n++] = rs_strdup(cn);
        }
        for (size_t i = 0; on && i < on->nskip; i++)
            if (!mp_listed(list, n, on->skip[i]))
                list[n++] = rs_strdup(on->skip[i]);
    }
    for (size_t i = 0; i < n; i++)
        if (!list[i]) {
            rc = ROWSYNC_ENOMEM;
            goto fail;
        }
    *names = list;
    *ncols = n;
    *nkeys = k;
    return 0;
fail:
    for (size_t i = 0; i < n; i++)
        free(list[i]);
    free(list);
    return rc;
}

/* Counts one problem (e) of a node's table and keeps the first. With
 * report set, hands it over and returns 0 so the walk goes on; without,
 * returns its class so the caller stops there. */
static int mp_problem(const rowsync_error_t *e, rs_map_report_fn report,
                      void *ud, rowsync_error_t *first, int *nproblems)
{
    if ((*nproblems)++ == 0)
        *first = *e;
    if (report) {
        report(ud, e);
        return 0;
    }
    return e->code;
}

/* Builds the spec of one table on one node from its description and the
 * canonical columns, through the node's [table NAME @ NODE] section:
 * renamed columns take their node names, skipped ones are left out, fill
 * columns get their values parsed as the node's column types. Every other
 * canonical column must exist there. Without report it stops at the first
 * problem; with report it reports each one (every missing column, every
 * bad fill) and returns the first. */
static int mp_node_table(const rs_job_cfg_t *cfg, const rs_table_cfg_t *tc,
                         const char *node, const rowsync_table_info_t *info,
                         char **names, size_t ncols, size_t nkeys,
                         rs_node_table_t *nt, rs_map_report_fn report, void *ud,
                         rowsync_error_t *err)
{
    const rs_table_node_cfg_t *on = rs_table_cfg_on(tc, node);
    int line = on ? on->line : tc->line;
    rowsync_error_t e, first;
    int nproblems = 0, rc = 0;
    memset(&first, 0, sizeof(first));
    nt->name = rs_strdup(rs_map_table_name(tc, node));
    nt->columns = calloc(ncols ? ncols : 1, sizeof(char *));
    nt->types = calloc(ncols ? ncols : 1, sizeof(rowsync_type_t));
    nt->canon = calloc(ncols ? ncols : 1, sizeof(size_t));
    if (!nt->name || !nt->columns || !nt->types || !nt->canon)
        return rowsync_error_set(err, ROWSYNC_ENOMEM, "out of memory");
    nt->spec.table = nt->name;
    nt->spec.columns = (const char *const *)nt->columns;
    nt->spec.types = nt->types;
    nt->spec.nkeys = nkeys;
    for (size_t i = 0; i < ncols && rc == 0; i++) {
        const char *want = mp_node_column(on, names[i]);
        if (!want)
            continue;
        const rowsync_column_t *col = mp_find_column(info, want);
        if (!col) {
            if (strcmp(want, names[i]) != 0)
                rowsync_error_set(
                    &e, ROWSYNC_ENOTFOUND,
                    "%s '%s' (canonical '%s') of table '%s' not found on "
                    "node '%s' as table '%s' (%s:%d)",
                    i < nkeys ? "key column" : "column", want, names[i],
                    tc->name, node, nt->name, cfg->path, line);
            else
                rowsync_error_set(
                    &e, ROWSYNC_ENOTFOUND,
                    "%s '%s' of table '%s' not found on node '%s'%s%s; map "
                    "it (map = %s:NAME) or skip it (skip = %s) in [table %s "
                    "@ %s] (%s:%d)",
                    i < nkeys ? "key column" : "column", names[i], tc->name,
                    node, on && on->name ? " as table " : "",
                    on && on->name ? on->name : "", names[i], names[i],
                    tc->name, node, cfg->path, line);
            rc = mp_problem(&e, report, ud, &first, &nproblems);
            continue;
        }
        size_t at = nt->spec.ncolumns;
        if (!(nt->columns[at] = rs_strdup(col->name)))
            return rowsync_error_set(err, ROWSYNC_ENOMEM, "out of memory");
        nt->types[at] = col->type;
        nt->canon[at] = i;
        nt->spec.ncolumns = at + 1;
    }
    if (rc == 0 && on && on->nfill) {
        size_t scratch_len = 0;
        for (size_t f = 0; f < on->nfill; f++)
            scratch_len +=
                on->fill[f].value ? strlen(on->fill[f].value) + 1 : 0;
        nt->fill_columns = calloc(on->nfill, sizeof(char *));
        nt->fill_types = calloc(on->nfill, sizeof(rowsync_type_t));
        nt->fill_values = calloc(on->nfill, sizeof(rowsync_value_t));
        nt->fill_scratch = malloc(scratch_len + 1);
        if (!nt->fill_columns || !nt->fill_types || !nt->fill_values ||
            !nt->fill_scratch)
            return rowsync_error_set(err, ROWSYNC_ENOMEM, "out of memory");
        unsigned char *scratch = nt->fill_scratch;
        for (size_t f = 0; f < on->nfill && rc == 0; f++) {
            const rowsync_column_t *col =
                mp_find_column(info, on->fill[f].column);
            int dup = 0;
            if (!col) {
                rowsync_error_set(&e, ROWSYNC_ENOTFOUND,
                                  "fill column '%s' of table '%s' not found "
                                  "on node '%s' as table '%s' (%s:%d)",
                                  on->fill[f].column, tc->name, node, nt->name,
                                  cfg->path, line);
                rc = mp_problem(&e, report, ud, &first, &nproblems);
                continue;
            }
            for (size_t i = 0; i < nt->spec.ncolumns; i++)
                dup |= strcasecmp(nt->columns[i], col->name) == 0;
            if (dup) {
                rowsync_error_set(&e, ROWSYNC_EINVAL,
                                  "fill column '%s' of table '%s' on node "
                                  "'%s' is also a synced column; fill only "
                                  "columns no other node has (%s:%d)",
                                  col->name, tc->name, node, cfg->path, line);
                rc = mp_problem(&e, report, ud, &first, &nproblems);
                continue;
            }
            if (!(nt->fill_columns[f] = rs_strdup(col->name)))
                return rowsync_error_set(err, ROWSYNC_ENOMEM, "out of memory");
            nt->nfill = f + 1;
            nt->fill_types[f] = col->type;
            const char *text = on->fill[f].value;
            if (!text) {
                nt->fill_values[f].type = ROWSYNC_TYPE_NULL;
                continue;
            }
            if (rowsync_value_parse(col->type, text, strlen(text), scratch,
                                    &nt->fill_values[f], &e) != 0) {
                rowsync_error_prefix(&e,
                                     "fill value '%s' for column '%s' of "
                                     "table '%s' on node '%s' (%s:%d)",
                                     text, col->name, tc->name, node, cfg->path,
                                     line);
                e.code = ROWSYNC_EINVAL;
                rc = mp_problem(&e, report, ud, &first, &nproblems);
            }
            scratch += strlen(text) + 1;
        }
    }
    if (rc == 0 && on && on->nplugin_columns) {
        nt->plugged_columns = calloc(on->nplugin_columns, sizeof(char *));
        nt->plugged_types = calloc(on->nplugin_columns, sizeof(rowsync_type_t));
        if (!nt->plugged_columns || !nt->plugged_types)
            return rowsync_error_set(err, ROWSYNC_ENOMEM, "out of memory");
        for (size_t p = 0; p < on->nplugin_columns && rc == 0; p++) {
            const rowsync_column_t *col =
                mp_find_column(info, on->plugin_columns[p]);
            if (!col) {
                memset(&e, 0, sizeof(e));
                rowsync_error_set(&e, ROWSYNC_ENOTFOUND,
                                  "plugin column '%s' of table '%s' not "
                                  "found on node '%s' as table '%s' (%s:%d)",
                                  on->plugin_columns[p], tc->name, node,
                                  nt->name, cfg->path,
                                  on->plugin_columns_line);
                rc = mp_problem(&e, report, ud, &first, &nproblems);
                continue;
            }
            if (col->key_position)
                return rowsync_error_set(
                    err, ROWSYNC_EINVAL,
                    "plugin column '%s' of table '%s' on node '%s' is a key "
                    "column; plugins cannot set keys (%s:%d)",
                    col->name, tc->name, node, cfg->path,
                    on->plugin_columns_line);
            if (!(nt->plugged_columns[p] = rs_strdup(col->name)))
                return rowsync_error_set(err, ROWSYNC_ENOMEM, "out of memory");
            nt->plugged_types[p] = col->type;
            nt->nplugged = p + 1;
        }
    }
    if (!nproblems)
        return 0;
    if (err)
        *err = first;
    return first.code ? first.code : ROWSYNC_ERROR;
}

/* Looks up the source spec index of every column a filter reads.
 * A column the source does not carry is an error naming the filter's
 * line. */
static int mp_filter_columns(const rs_job_cfg_t *cfg, const rs_table_t *tab,
                             const rs_filter_t *f, int line,
                             const rs_node_table_t *src, size_t **out,
                             rowsync_error_t *err)
{
    size_t n = rs_filter_ncolumns(f);
    size_t *idx = calloc(n ? n : 1, sizeof(*idx));
    if (!idx)
        return rowsync_error_set(err, ROWSYNC_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const char *name = rs_filter_column(f, i);
        size_t c = 0, j;
        while (c < tab->ncanon && strcasecmp(tab->canon[c], name) != 0)
            c++;
        for (j = 0; c < tab->ncanon && j < src->spec.ncolumns; j++)
            if (src->canon[j] == c)
                break;
        if (c == tab->ncanon || j == src->spec.ncolumns) {
            free(idx);
            return rowsync_error_set(
                err, ROWSYNC_EINVAL,
                "%s:%d: the filter of table '%s' reads column '%s', which "
                "%s",
                cfg->path, line, tab->cfg->name, name,
                c == tab->ncanon ? "is not a column of the table"
                                 : "the source node skips");
        }
        idx[i] = j;
    }
    *out = idx;
    return 0;
}

/* Builds the route of changes from node `from` to node `to`. */
static int mp_route(const rs_job_cfg_t *cfg, const rs_table_t *tab, size_t from,
                    size_t to, rs_route_t *r, rowsync_error_t *err)
{
    const rs_node_table_t *src = &tab->on[from], *dst = &tab->on[to];
    size_t cap = dst->spec.ncolumns + dst->nfill + dst->nplugged + 1;
    r->columns = calloc(cap, sizeof(*r->columns));
    r->types = calloc(cap, sizeof(*r->types));
    r->from = calloc(cap, sizeof(*r->from));
    r->fill = calloc(cap, sizeof(*r->fill));
    r->convert = calloc(cap, sizeof(*r->convert));
    r->insert_only = calloc(cap, 1);
    if (!r->columns || !r->types || !r->from || !r->fill || !r->convert ||
        !r->insert_only)
        return rowsync_error_set(err, ROWSYNC_ENOMEM, "out of memory");
    size_t n = 0;
    for (size_t j = 0; j < dst->spec.ncolumns; j++)
        for (size_t i = 0; i < src->spec.ncolumns; i++)
            if (src->canon[i] == dst->canon[j]) {
                r->columns[n] = dst->columns[j];
                r->types[n] = dst->types[j];
                r->convert[n] = src->types[i] != dst->types[j];
                r->from[n++] = i;
                break;
            }
    for (size_t f = 0; f < dst->nfill; f++) {
        r->columns[n] = dst->fill_columns[f];
        r->types[n] = dst->fill_types[f];
        r->fill[n] = f;
        r->insert_only[n] = 1;
        r->from[n++] = RS_ROUTE_FILL;
        r->nfill++;
    }
    /* columns plugins set that the source does not bring */
    for (size_t p = 0; p < dst->nplugged; p++) {
        int carried = 0;
        for (size_t k = 0; k < n; k++)
            carried |= strcmp(r->columns[k], dst->plugged_columns[p]) == 0;
        if (carried)
            continue;
        r->columns[n] = dst->plugged_columns[p];
        r->types[n] = dst->plugged_types[p];
        r->fill[n] = p;
        r->from[n++] = RS_ROUTE_PLUGIN;
    }
    r->spec.table = dst->spec.table;
    r->spec.columns = r->columns;
    r->spec.types = r->types;
    r->spec.ncolumns = n;
    r->spec.nkeys = dst->spec.nkeys;
    const rs_table_node_cfg_t *on =
        rs_table_cfg_on(tab->cfg, cfg->nodes[to].name);
    r->filters[0] = tab->cfg->filter;
    r->filters[1] = on ? on->filter : NULL;
    size_t most = 0;
    for (int k = 0; k < 2; k++) {
        if (!r->filters[k])
            continue;
        int line = k == 0 ? tab->cfg->filter_line : on->filter_line;
        int rc = mp_filter_columns(cfg, tab, r->filters[k], line, src,
                                   &r->fcols[k], err);
        if (rc < 0)
            return rc;
        if (rs_filter_ncolumns(r->filters[k]) > most)
            most = rs_filter_ncolumns(r->filters[k]);
    }
    if (!(r->fvals = calloc(most + 1, sizeof(*r->fvals))))
        return rowsync_error_set(err, ROWSYNC_ENOMEM, "out of memory");
    /* the plugin chain: the table's, then the target's */
    size_t nchain = tab->cfg->nplugins + (on ? on->nplugins : 0);
    if (!(r->chain = calloc(nchain + 1, sizeof(*r->chain))))
        return rowsync_error_set(err, ROWSYNC_ENOMEM, "out of memory");
    for (size_t k = 0; k < nchain; k++) {
        const char *name = k < tab->cfg->nplugins
                               ? tab->cfg->plugins[k]
                               : on->plugins[k - tab->cfg->nplugins];
        const rs_plugin_cfg_t *pc = rs_job_cfg_plugin(cfg, name);
        if (!pc) /* the parser checked every chain */
            return rowsync_error_set(err, ROWSYNC_EINVAL,
                                     "no [plugin %s] section", name);
        r->chain[r->nchain++] = (size_t)(pc - cfg->plugins);
    }
    return 0;
}

/* Frees what rs_map_table put in one node's table (not nt itself). */
static void mp_node_table_free(rs_node_table_t *nt)
{
    for (size_t c = 0; c < nt->spec.ncolumns; c++)
        free(nt->columns[c]);
    free(nt->columns);
    free(nt->types);
    free(nt->canon);
    free(nt->name);
    for (size_t f = 0; f < nt->nfill; f++)
        free(nt->fill_columns[f]);
    free(nt->fill_columns);
    free(nt->fill_types);
    free(nt->fill_values);
    free(nt->fill_scratch);
    for (size_t p = 0; p < nt->nplugged; p++)
        free(nt->plugged_columns[p]);
    free(nt->plugged_columns);
    free(nt->plugged_types);
    memset(nt, 0, sizeof(*nt));
}

void rs_map_table_free(rs_table_t *tab, size_t nn)
{
    for (size_t n = 0; tab->on && n < nn; n++)
        mp_node_table_free(&tab->on[n]);
    free(tab->on);
    for (size_t r = 0; tab->routes && r < nn * nn; r++) {
        rs_route_t *rt = &tab->routes[r];
        free(rt->columns);
        free(rt->types);
        free(rt->from);
        free(rt->fill);
        free(rt->insert_only);
        free(rt->convert);
        free(rt->fcols[0]);
        free(rt->fcols[1]);
        free(rt->fvals);
        free(rt->chain);
    }
    free(tab->routes);
    for (size_t c = 0; c < tab->ncanon; c++)
        free(tab->canon[c]);
    free(tab->canon);
    tab->on = NULL;
    tab->routes = NULL;
    tab->canon = NULL;
    tab->ncanon = tab->nkeys = 0;
}

/* Resolves one table: canonical columns from the reference node, each
 * node's spec, then the routes; see mapping.h. A NULL infos[n] is a node
 * whose table is missing (the caller reported it): that node is skipped
 * and the table fails. */
int rs_map_table(const rs_job_cfg_t *cfg, const rs_table_cfg_t *tc,
                 const rowsync_table_info_t *const *infos, size_t ref,
                 rs_table_t *tab, rs_map_report_fn report, void *ud,
                 rowsync_error_t *err)
{
    size_t nn = cfg->nnodes;
    rowsync_error_t first, e;
    int nproblems = 0, rc;

    memset(&first, 0, sizeof(first));
    tab->cfg = tc;
    if (!(tab->on = calloc(nn ? nn : 1, sizeof(*tab->on))))
        return rowsync_error_set(err, ROWSYNC_ENOMEM, "out of memory");
    if (ref >= nn || !infos[ref])
        return rowsync_error_set(err, ROWSYNC_ENOTFOUND,
                                 "table '%s' is missing on its reference "
                                 "node",
                                 tc->name);
    memset(&e, 0, sizeof(e));
    rc = mp_canonical(cfg, tc, cfg->nodes[ref].name, infos[ref], &tab->canon,
                      &tab->ncanon, &tab->nkeys, &e);
    if (rc == ROWSYNC_ENOMEM)
        return rowsync_error_set(err, ROWSYNC_ENOMEM, "out of memory");
    if (rc < 0) {
        if (report)
            report(ud, &e);
        if (err)
            *err = e;
        return rc;
    }
    for (size_t n = 0; n < nn; n++) {
        if (!infos[n]) {
            if (nproblems++ == 0)
                rowsync_error_set(&first, ROWSYNC_ENOTFOUND,
                                  "table '%s' is missing on node '%s'",
                                  tc->name, cfg->nodes[n].name);
            continue;
        }
        memset(&e, 0, sizeof(e));
        rc =
            mp_node_table(cfg, tc, cfg->nodes[n].name, infos[n], tab->canon,
                          tab->ncanon, tab->nkeys, &tab->on[n], report, ud, &e);
        if (rc == 0)
            continue;
        if (rc == ROWSYNC_ENOMEM || !report) {
            if (err)
                *err = e;
            return rc;
        }
        if (nproblems++ == 0)
            first = e;
    }
    if (nproblems) {
        if (err)
            *err = first;
        return first.code ? first.code : ROWSYNC_ERROR;
    }
    if (!(tab->routes = calloc(nn ? nn * nn : 1, sizeof(*tab->routes))))
        return rowsync_error_set(err, ROWSYNC_ENOMEM, "out of memory");
    /* routes for the directions changes travel: from the source in
     * one-way jobs, both ways in bidirectional ones */
    for (size_t f = 0; f < nn; f++)
        for (size_t t = 0; t < nn; t++)
            if (f != t && (cfg->mode == RS_MODE_BIDIRECTIONAL || f == ref) &&
                (rc = mp_route(cfg, tab, f, t, &tab->routes[f * nn + t], err)) <
                    0)
                return rc;
    return 0;
}

/* Type families for rs_map_type_rule. */
static int mp_is_number(rowsync_type_t t)
{
    return t == ROWSYNC_TYPE_INT || t == ROWSYNC_TYPE_DECIMAL ||
           t == ROWSYNC_TYPE_DOUBLE;
}

static int mp_is_temporal(rowsync_type_t t)
{
    return t == ROWSYNC_TYPE_DATE || t == ROWSYNC_TYPE_TIME ||
           t == ROWSYNC_TYPE_TIMESTAMP || t == ROWSYNC_TYPE_TIMESTAMPTZ;
}

/* Decides, from the two column types alone, what the engine's conversion
 * (canonical text in between, direct for booleans, dates and timestamps)
 * can do: text goes anywhere a value's text fits and everything has a
 * text form; numbers convert among themselves; dates and timestamps among
 * themselves (a time of day only with itself); a boolean becomes 0/1. */
rs_map_rule_t rs_map_type_rule(rowsync_type_t from, rowsync_type_t to)
{
    if (from == to)
        return RS_MAP_SAME;
    if (from == ROWSYNC_TYPE_NULL || to == ROWSYNC_TYPE_NULL)
        return RS_MAP_CONVERT;
    if (from == ROWSYNC_TYPE_TEXT || to == ROWSYNC_TYPE_TEXT ||
        from == ROWSYNC_TYPE_JSON || to == ROWSYNC_TYPE_JSON)
        return RS_MAP_CONVERT;
    if (mp_is_number(from) && mp_is_number(to))
        return RS_MAP_CONVERT;
    if ((from == ROWSYNC_TYPE_BOOL && to == ROWSYNC_TYPE_INT) ||
        (from == ROWSYNC_TYPE_INT && to == ROWSYNC_TYPE_BOOL))
        return RS_MAP_CONVERT;
    if (mp_is_temporal(from) && mp_is_temporal(to) &&
        from != ROWSYNC_TYPE_TIME && to != ROWSYNC_TYPE_TIME)
        return RS_MAP_CONVERT;
    return RS_MAP_NEVER;
}
