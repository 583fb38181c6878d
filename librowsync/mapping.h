/* Internal: resolving a table's shape on every node from the job file and
 * each node's table description, with no database in sight: the canonical
 * column list, each node's spec (renames, skipped and filled columns), and
 * the routes changes take between nodes (which columns travel, which
 * convert, which are written on insert only, which source columns the
 * filters read, the plugin chain). The engine describes the tables through
 * the drivers and hands the descriptions here; tests/unit/check_mapping.c
 * hands in made-up ones. */
#ifndef RS_MAPPING_H
#define RS_MAPPING_H

#include "engine.h"
#include "internal.h"
#include "jobfile.h"

/* The table's name on node: its [table NAME @ NODE] name, or the
 * canonical name. Borrowed from tc. */
RS_HIDDEN const char *rs_map_table_name(const rs_table_cfg_t *tc,
                                        const char *node);

/* Called for each problem when a caller wants them all (rowsync check);
 * err holds the problem's message and class. */
typedef void (*rs_map_report_fn)(void *ud, const rowsync_error_t *err);

/* Resolves table tc on every node of cfg into *tab (zeroed by the
 * caller): infos[n] describes the table on cfg->nodes[n] and stays valid
 * during the call; ref is the index of the node whose shape is canonical.
 * Routes are built from ref in one-way jobs and both ways between every
 * pair in bidirectional ones. On failure returns the first problem's
 * class with its message in err; with report set, every problem is
 * passed to it first (a table without key, every missing column of every
 * node, not only the first; a NULL infos[n], a table missing on node n,
 * counts as a problem the caller reported), and routes are not built. tab's
 * members are freed by rs_map_table_free, also after a failure. */
RS_HIDDEN int rs_map_table(const rs_job_cfg_t *cfg, const rs_table_cfg_t *tc,
                           const rowsync_table_info_t *const *infos, size_t ref,
                           rs_table_t *tab, rs_map_report_fn report, void *ud,
                           rowsync_error_t *err);
RS_HIDDEN void rs_map_table_free(rs_table_t *tab, size_t nnodes);

/* How a value of column type `from` reaches a column of type `to`. */
typedef enum rs_map_rule {
    RS_MAP_SAME = 0,    /* same type: travels as it is */
    RS_MAP_CONVERT = 1, /* converted on the way; may fail for some values
                           (text that is no number, 2 into a boolean) */
    RS_MAP_NEVER = -1   /* no value of `from` has a `to` form (a date into
                           a number): every change would fail */
} rs_map_rule_t;

RS_HIDDEN rs_map_rule_t rs_map_type_rule(rowsync_type_t from,
                                         rowsync_type_t to);

#endif
