/* Internal: the job file model and its parser (inih). */
#ifndef RS_JOBFILE_H
#define RS_JOBFILE_H

#include <rowsync/common.h>

/* A key = value line and where it stands in the job file. */
typedef struct rs_kv {
    char *key;
    char *value;
    int line;
} rs_kv_t;

typedef struct rs_node_cfg {
    char *name;
    int line;            /* line of the [node NAME] header */
    char *driver;
    char *password_env;  /* variable name, or NULL */
    char *password_file; /* path as written (relative to the job file), or NULL */
    rs_kv_t *options;    /* every other key, in file order; checked against
                            the driver's option list once it is loaded */
    size_t noptions;
} rs_node_cfg_t;

struct rs_filter;

/* A column only one node has and the value it takes on insert: the text
 * of a literal ('DE' unquoted, 42, true), or NULL for NULL. */
typedef struct rs_fill {
    char *column;
    char *value;
} rs_fill_t;

/* How a table looks on one node: a [table NAME @ NODE] section. Columns
 * are canonical names on the left of map and in skip. */
typedef struct rs_table_node_cfg {
    char *node;
    int line;                 /* line of the section header */
    char *name;               /* the table's name on this node, or NULL */
    char **map_from;          /* canonical column names ... */
    char **map_to;            /* ... and their names on this node */
    size_t nmap;
    char **skip;              /* canonical columns this node lacks */
    size_t nskip;
    rs_fill_t *fill;          /* columns only this node has */
    size_t nfill;
    struct rs_filter *filter; /* only changes going to this node, or NULL */
    int filter_line;
    char **plugins;           /* plugin chain for changes going to this
                                 node ([plugin NAME] names), after the
                                 table's own chain */
    size_t nplugins;
    int plugins_line;
    char **plugin_columns;    /* columns of this node that plugins set,
                                 written from the plugins' values */
    size_t nplugin_columns;
    int plugin_columns_line;
} rs_table_node_cfg_t;

typedef struct rs_table_cfg {
    char *name;
    int line;            /* line of the [table NAME] header */
    char **key;          /* key columns; nkey == 0: the primary key */
    size_t nkey;
    char **columns;      /* columns to sync; ncolumns == 0: every column */
    size_t ncolumns;
    struct rs_filter *filter; /* subset in every direction, or NULL */
    int filter_line;
    int leaving_keep;    /* a row updated out of the subset: 0 delete, 1 keep */
    char **plugins;      /* plugin chain in every direction ([plugin NAME]
                            names, in order) */
    size_t nplugins;
    int plugins_line;
    int conflict;        /* rs_rule_t overriding the job's, 0: the job's */
    char *conflict_plugin; /* RS_RULE_PLUGIN: the [plugin NAME] */
    int conflict_line;
    int merge_columns;   /* merge = column: 1, row: 0, unset: -1 */
    rs_table_node_cfg_t *on; /* [table NAME @ NODE] sections, file order */
    size_t non;
} rs_table_cfg_t;

/* A plugin instance: a [plugin NAME] section. Options other than module
 * are checked against the plugin's option list once it is loaded. */
typedef struct rs_plugin_cfg {
    char *name;
    int line;         /* line of the [plugin NAME] header */
    char *module;     /* the plugin module to load */
    rs_kv_t *options; /* every other key, in file order */
    size_t noptions;
} rs_plugin_cfg_t;

typedef enum rs_mode { RS_MODE_ONEWAY = 1, RS_MODE_BIDIRECTIONAL = 2 } rs_mode_t;

/* How a key changed on two nodes since the last pass is decided. */
typedef enum rs_rule {
    RS_RULE_LATEST = 1,   /* the later change; equal times: priority order */
    RS_RULE_PRIORITY = 2, /* the change from the node listed first */
    RS_RULE_SOURCE = 3,   /* the change being sent wins */
    RS_RULE_TARGET = 4,   /* the receiving node keeps its version */
    RS_RULE_MANUAL = 5,   /* like latest, the loser parked for a person */
    RS_RULE_PLUGIN = 6    /* a [plugin NAME] with a resolver decides */
} rs_rule_t;

typedef struct rs_job_cfg {
    char *path;              /* the job file as given */
    char *dir;               /* its directory (absolute) */
    rs_mode_t mode;
    char *source;            /* one-way: required; bidirectional: optional
                                node that `init` loads empty nodes from */
    rs_rule_t conflict;      /* default RS_RULE_LATEST */
    char *conflict_plugin;   /* RS_RULE_PLUGIN: the [plugin NAME] */
    int conflict_line;
    int merge_columns;       /* merge = column: 1; row (default): 0 */
    char **priority;         /* node names, highest first (may be partial) */
    size_t npriority;
    char *hub;               /* bidirectional: spokes sync only with it;
                                NULL: every pair of nodes (full mesh) */
    int64_t max_clock_skew_us; /* default 1 s */
    int64_t retention_us;    /* keep consumed history this long, 1 h */
    int purge;               /* purge consumed history after a pass, 1 */
    int64_t interval_us;     /* default 5 s */
    size_t batch_size;       /* rows per apply transaction, default 1000 */
    int64_t lock_timeout_us; /* wait for a busy pair, default 30 s */
    rs_node_cfg_t *nodes;    /* in file order */
    size_t nnodes;
    rs_table_cfg_t *tables;  /* in file order */
    size_t ntables;
    rs_plugin_cfg_t *plugins; /* [plugin NAME] sections, in file order */
    size_t nplugins;
} rs_job_cfg_t;

/* Parses and validates a job file. Errors read "FILE:LINE: message".
 * *out belongs to the caller (rs_job_cfg_free); untouched on failure. */
int rs_job_cfg_parse(rs_job_cfg_t **out, const char *path, rowsync_error_t *err);
void rs_job_cfg_free(rs_job_cfg_t *cfg);

/* "5s", "250ms", "2m", "1h", "1.5s", a bare number = seconds. */
/* The rule's name as the job file spells it. */
const char *rs_rule_name(rs_rule_t rule);

int rs_parse_duration(const char *text, int64_t *us);

/* The [table NAME @ NODE] section of table for node, or NULL. */
const rs_table_node_cfg_t *rs_table_cfg_on(const rs_table_cfg_t *table,
                                           const char *node);

/* The [plugin NAME] section named name, or NULL. */
const rs_plugin_cfg_t *rs_job_cfg_plugin(const rs_job_cfg_t *cfg,
                                         const char *name);

/* The node named name, or NULL. */
const rs_node_cfg_t *rs_job_cfg_node(const rs_job_cfg_t *cfg, const char *name);

#endif
