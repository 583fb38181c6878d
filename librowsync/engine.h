/* Internal: the job at run time (nodes, connections, resolved tables) and
 * the engine's operations on it. */
#ifndef RS_ENGINE_H
#define RS_ENGINE_H

#include <rowsync/driver.h>
#include <rowsync/plugin.h>

#include "internal.h"
#include "jobfile.h"

/* One node: its job file section, its driver and, while open, its
 * connection. */
typedef struct rs_node {
    const rs_node_cfg_t *cfg;
    const rowsync_driver_t *drv;
    rowsync_conn_t *conn;
    /* The server's clock as the last pass read it: offset from the core's
     * clock (us) and the reading itself; clock_read is 0 before the first
     * reading. Kept across passes of `rowsync run`. */
    int clock_read;
    int64_t clock_offset_us;
    int64_t clock_error_us; /* half the round trip of the reading */
    int64_t clock_last_us;
} rs_node_t;

/* One synced table as it stands on one node: the spec handed to the driver
 * (columns in travel order, keys first) and the storage behind it. */
typedef struct rs_node_table {
    rowsync_table_spec_t spec;
    char *name;
    char **columns;
    rowsync_type_t *types;
    size_t *canon; /* per spec column: its canonical column's index */
    /* Columns only this node has ([table NAME @ NODE] fill): written with
     * a fixed value by every change applied to this node. */
    size_t nfill;
    char **fill_columns;
    rowsync_type_t *fill_types;
    rowsync_value_t *fill_values; /* bytes point into the job model or
                                     fill_scratch */
    unsigned char *fill_scratch;
    /* Columns of this node that plugins set ([table NAME @ NODE]
     * plugin_columns), by the name plugins use, and their types. */
    size_t nplugged;
    char **plugged_columns;
    rowsync_type_t *plugged_types;
} rs_node_table_t;

#define RS_ROUTE_FILL ((size_t)-1)
#define RS_ROUTE_PLUGIN ((size_t)-2)

/* How changes of one table travel from one node to another: the spec the
 * target's apply gets (the target's columns the source also has, keys
 * first, then the target's fill columns), where each value comes from, and
 * the subset filters with their columns' positions in the source's spec. */
typedef struct rs_route {
    rowsync_table_spec_t spec;
    const char **columns; /* borrowed from the target's rs_node_table */
    rowsync_type_t *types;
    int *convert; /* the source column's type differs: convert */
    size_t *from; /* source spec index, RS_ROUTE_FILL or RS_ROUTE_PLUGIN */
    size_t *fill; /* for RS_ROUTE_FILL: index in the target's fills; for
                     RS_ROUTE_PLUGIN: in the target's plugged columns */
    unsigned char *insert_only; /* per column: 1 for a fill column, written
                                   on insert only (apply_insert_only) */
    size_t nfill; /* fill columns in the spec */
    const struct rs_filter *filters[2]; /* table filter, target's filter */
    size_t *fcols[2];              /* per filter column: source spec index */
    const rowsync_value_t **fvals; /* scratch for evaluation */
    size_t *chain; /* plugin chain: indexes into job->plugins (the table's
                      plugins, then the target's) */
    size_t nchain;
} rs_route_t;

/* One synced table across the job's nodes. */
typedef struct rs_table {
    const rs_table_cfg_t *cfg;
    rs_node_table_t *on; /* one per node, same order as job->nodes */
    char **canon;        /* canonical column names, keys first */
    size_t ncanon, nkeys;
    rs_route_t *routes; /* [from * nnodes + to] */
} rs_table_t;

/* A [plugin NAME] section bound to its loaded module and instance. */
typedef struct rs_plugin_inst {
    const rs_plugin_cfg_t *cfg;
    const rowsync_plugin_t *plugin;
    rowsync_plugin_instance_t *inst;
} rs_plugin_inst_t;

struct rowsync_job {
    rowsync_ctx_t *ctx;
    rs_job_cfg_t *cfg;
    rs_node_t *nodes;   /* cfg->nnodes */
    rs_plugin_inst_t *plugins; /* cfg->nplugins, created with the drivers,
                                  destroyed by rs_engine_close */
    rs_table_t *tables; /* cfg->ntables, filled by rs_engine_resolve */
    size_t *order;      /* table indexes, parents before children */
    int has_references; /* some job table references another */
    int resolved;
    struct rs_watcher *watchers; /* rowsync_job_wait's connections, one per
                                    node (job.c); kept across passes */
};

/* Loads each node's driver and checks its options (no connection); loads
 * each [plugin NAME]'s module, checks its options and creates it. */
RS_HIDDEN int rs_engine_load_drivers(rowsync_job_t *job, rowsync_error_t *err);
/* Connects every node that is not connected yet. */
RS_HIDDEN int rs_engine_connect(rowsync_job_t *job, rowsync_error_t *err);
/* Opens one more connection to node i (its driver loaded); *out is the
 * caller's, closed with the driver's disconnect. */
RS_HIDDEN int rs_engine_connect_node(rowsync_job_t *job, size_t i,
                                     rowsync_conn_t **out,
                                     rowsync_error_t *err);
/* Describes every table on every node and builds the specs. */
RS_HIDDEN int rs_engine_resolve(rowsync_job_t *job, rowsync_error_t *err);
/* Disconnects every node and forgets resolved tables. */
RS_HIDDEN void rs_engine_close(rowsync_job_t *job);

RS_HIDDEN int rs_engine_check(rowsync_job_t *job, rowsync_error_t *err);
RS_HIDDEN int rs_engine_init(rowsync_job_t *job, rowsync_error_t *err);
RS_HIDDEN int rs_engine_sync(rowsync_job_t *job, rowsync_pass_stats_t *stats,
                             rowsync_error_t *err);
RS_HIDDEN int rs_engine_status(rowsync_job_t *job, rowsync_error_t *err);
/* conflict = manual: lists the decisions no one settled yet (id NULL), or
 * settles decision `id` by taking node `take`'s version. */
RS_HIDDEN int rs_engine_conflicts(rowsync_job_t *job, const char *id,
                                  const char *take, rowsync_error_t *err);
RS_HIDDEN int rs_engine_teardown(rowsync_job_t *job, rowsync_error_t *err);
RS_HIDDEN int rs_engine_history_clear(rowsync_job_t *job,
                                      rowsync_error_t *err);

#endif
