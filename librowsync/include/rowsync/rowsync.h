/* rowsync/rowsync.h: the public API of librowsync.
 *
 * A context holds the module search path and the callbacks through which
 * the library reports (it never prints). A job is a parsed job file bound
 * to a context; the job functions connect to its nodes, do their work and
 * disconnect before returning.
 *
 * Every function that can fail returns 0 or a negative ROWSYNC_E* class
 * and fills the caller's rowsync_error_t (may be NULL) with a message
 * naming the node, table or job file line at fault.
 */
#ifndef ROWSYNC_H
#define ROWSYNC_H

#include <signal.h>
#include <rowsync/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The library's version, e.g. "0.1.0". */
const char *rowsync_version(void);

typedef struct rowsync_ctx rowsync_ctx_t;
typedef struct rowsync_job rowsync_job_t;

enum rowsync_log_level {
    ROWSYNC_LOG_ERROR = 0,
    ROWSYNC_LOG_WARN = 1,
    ROWSYNC_LOG_INFO = 2,
    ROWSYNC_LOG_DEBUG = 3
};

/* Diagnostics (what the library is doing, warnings). */
typedef void (*rowsync_log_fn)(void *ud, int level, const char *message);
/* Results the user asked for (check report, status, what moved): one line
 * per call, without the newline. */
typedef void (*rowsync_output_fn)(void *ud, const char *line);
/* Progress of long work: done of total units (total 0 = unknown). */
typedef void (*rowsync_progress_fn)(void *ud, const char *what, uint64_t done,
                                    uint64_t total);

/* Creates a context. *out belongs to the caller: rowsync_ctx_free. */
int rowsync_ctx_new(rowsync_ctx_t **out, rowsync_error_t *err);
void rowsync_ctx_free(rowsync_ctx_t *ctx);

/* Module search path: colon-separated directories searched first (the
 * --module-path option), before $ROWSYNC_MODULE_PATH and the install
 * directory. NULL clears it. Copied. */
int rowsync_ctx_set_module_path(rowsync_ctx_t *ctx, const char *path);
void rowsync_ctx_set_log(rowsync_ctx_t *ctx, rowsync_log_fn fn, void *ud,
                         int max_level);
void rowsync_ctx_set_output(rowsync_ctx_t *ctx, rowsync_output_fn fn,
                            void *ud);
void rowsync_ctx_set_progress(rowsync_ctx_t *ctx, rowsync_progress_fn fn,
                              void *ud);
/* A flag (set by a signal handler) that asks long work to stop at the next
 * safe point: between committed batches, never inside a transaction. */
void rowsync_ctx_set_stop_flag(rowsync_ctx_t *ctx,
                               volatile sig_atomic_t *flag);

/* One module found on the search path. */
typedef struct rowsync_module_info {
    const char *kind;        /* "driver" or "plugin" */
    const char *name;
    const char *version;     /* NULL when the module failed to load */
    const char *description;
    const char *path;        /* the file */
    unsigned abi_major, abi_minor;
    const char *problem;     /* why it cannot be used, or NULL */
} rowsync_module_info_t;

/* Calls cb for every driver and plugin module on the search path. */
int rowsync_modules_list(rowsync_ctx_t *ctx,
                         void (*cb)(void *ud, const rowsync_module_info_t *m),
                         void *ud, rowsync_error_t *err);

/* Parses and validates a job file (syntax and keys; nothing is opened).
 * *out belongs to the caller: rowsync_job_free. */
int rowsync_job_load(rowsync_job_t **out, rowsync_ctx_t *ctx,
                     const char *path, rowsync_error_t *err);
void rowsync_job_free(rowsync_job_t *job);
/* Pause between passes of `run`, microseconds. */
int64_t rowsync_job_interval_us(const rowsync_job_t *job);

/* Checks the job against the live databases: modules load, nodes connect,
 * tables exist with keys and compatible columns. Changes nothing. Reports
 * through the output callback. */
int rowsync_job_check(rowsync_job_t *job, rowsync_error_t *err);

/* Installs capture on every node and loads empty targets from the source.
 * Idempotent; an interrupted load resumes. */
int rowsync_job_init(rowsync_job_t *job, rowsync_error_t *err);

/* Counts of one sync pass. */
typedef struct rowsync_pass_stats {
    uint64_t upserted;  /* rows inserted or updated on a target */
    uint64_t deleted;   /* rows deleted on a target */
    uint64_t conflicts; /* keys changed on both sides, decided by the rule */
} rowsync_pass_stats_t;

/* One pass over every direction of the job. stats may be NULL. */
int rowsync_job_sync(rowsync_job_t *job, rowsync_pass_stats_t *stats,
                     rowsync_error_t *err);

/* Waits until a change may be waiting on some node, or timeout_us has
 * passed, or the stop flag is set: what `run` does between passes.
 * Nodes whose driver can notify (watch, e.g. PostgreSQL LISTEN/NOTIFY)
 * are watched through a connection per node of their own, opened on the
 * first call and kept open until rowsync_job_free (one-way jobs watch
 * their source only); other nodes are covered by the timeout alone.
 * Returns 1 when woken (a notification arrived, or a watch was just
 * opened or reopened, so changes committed before it may be pending: run
 * a pass), 0 when the timeout passed or a stop was requested, or a
 * negative class: a driver module cannot be loaded (ROWSYNC_ENOTFOUND,
 * ROWSYNC_EABI...), ROWSYNC_ENOMEM, ROWSYNC_EIO. A watch that cannot be
 * opened, or whose connection is lost, is logged as a warning and retried
 * on the next call; it is not an error. */
int rowsync_job_wait(rowsync_job_t *job, int64_t timeout_us,
                     rowsync_error_t *err);

/* Reports, per direction and table, pending changes, the last pass and
 * recent conflicts, through the output callback. */
int rowsync_job_status(rowsync_job_t *job, rowsync_error_t *err);

/* conflict = manual: with id NULL, reports every decision no one has
 * settled yet (its id, table, key, the kept and the parked version);
 * otherwise settles decision `id` by taking node take_node's version:
 * the kept one stays, or the parked one is written again on the node it
 * came from, as a new change the next sync spreads. */
int rowsync_job_conflicts(rowsync_job_t *job, const char *id,
                          const char *take_node, rowsync_error_t *err);

/* Removes triggers, history and state from every node. */
int rowsync_job_teardown(rowsync_job_t *job, rowsync_error_t *err);

/* Deletes captured history on every node (cursors stay). */
int rowsync_job_history_clear(rowsync_job_t *job, rowsync_error_t *err);

#ifdef __cplusplus
}
#endif

#endif
