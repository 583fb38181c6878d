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

typedef struct rs_table_cfg {
    char *name;
    int line;            /* line of the [table NAME] header */
    char **key;          /* key columns; nkey == 0: the primary key */
    size_t nkey;
    char **columns;      /* columns to sync; ncolumns == 0: every column */
    size_t ncolumns;
} rs_table_cfg_t;

typedef enum rs_mode { RS_MODE_ONEWAY = 1, RS_MODE_BIDIRECTIONAL = 2 } rs_mode_t;

typedef struct rs_job_cfg {
    char *path;              /* the job file as given */
    char *dir;               /* its directory (absolute) */
    rs_mode_t mode;
    char *source;            /* one-way: required; bidirectional: optional
                                node that `init` loads empty nodes from */
    char *conflict;          /* "latest" */
    int64_t interval_us;     /* default 5 s */
    size_t batch_size;       /* rows per apply transaction, default 1000 */
    int64_t lock_timeout_us; /* wait for a busy pair, default 30 s */
    rs_node_cfg_t *nodes;    /* in file order */
    size_t nnodes;
    rs_table_cfg_t *tables;  /* in file order */
    size_t ntables;
} rs_job_cfg_t;

/* Parses and validates a job file. Errors read "FILE:LINE: message".
 * *out belongs to the caller (rs_job_cfg_free); untouched on failure. */
int rs_job_cfg_parse(rs_job_cfg_t **out, const char *path, rowsync_error_t *err);
void rs_job_cfg_free(rs_job_cfg_t *cfg);

/* "5s", "250ms", "2m", "1h", "1.5s", a bare number = seconds. */
int rs_parse_duration(const char *text, int64_t *us);

/* The node named name, or NULL. */
const rs_node_cfg_t *rs_job_cfg_node(const rs_job_cfg_t *cfg, const char *name);

#endif
