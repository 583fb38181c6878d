/* The public API: contexts and jobs, on top of the job file parser, the
 * loader and the engine. Every job operation connects what it needs and
 * disconnects before returning, so a failed call leaves nothing open. */
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "loader.h"

int rowsync_ctx_new(rowsync_ctx_t **out, rowsync_error_t *err)
{
    rowsync_ctx_t *ctx = calloc(1, sizeof(*ctx));
    if (!ctx)
        return rowsync_error_set(err, ROWSYNC_ENOMEM, "out of memory");
    ctx->log_max = ROWSYNC_LOG_WARN;
    *out = ctx;
    return 0;
}

void rowsync_ctx_free(rowsync_ctx_t *ctx)
{
    if (!ctx)
        return;
    rs_modules_unload(ctx);
    free(ctx->module_path);
    free(ctx);
}

int rowsync_ctx_set_module_path(rowsync_ctx_t *ctx, const char *path)
{
    char *copy = NULL;
    if (path && !(copy = rs_strdup(path)))
        return ROWSYNC_ENOMEM;
    free(ctx->module_path);
    ctx->module_path = copy;
    return 0;
}

void rowsync_ctx_set_log(rowsync_ctx_t *ctx, rowsync_log_fn fn, void *ud,
                         int max_level)
{
    ctx->log = fn;
    ctx->log_ud = ud;
    ctx->log_max = max_level;
}

void rowsync_ctx_set_output(rowsync_ctx_t *ctx, rowsync_output_fn fn, void *ud)
{
    ctx->output = fn;
    ctx->output_ud = ud;
}

void rowsync_ctx_set_progress(rowsync_ctx_t *ctx, rowsync_progress_fn fn,
                              void *ud)
{
    ctx->progress = fn;
    ctx->progress_ud = ud;
}

void rowsync_ctx_set_stop_flag(rowsync_ctx_t *ctx, volatile sig_atomic_t *flag)
{
    ctx->stop = flag;
}

int rowsync_job_load(rowsync_job_t **out, rowsync_ctx_t *ctx, const char *path,
                     rowsync_error_t *err)
{
    rs_job_cfg_t *cfg = NULL;
    int rc = rs_job_cfg_parse(&cfg, path, err);
    if (rc < 0)
        return rc;
    rowsync_job_t *job = calloc(1, sizeof(*job));
    if (job)
        job->nodes = calloc(cfg->nnodes, sizeof(*job->nodes));
    if (!job || !job->nodes) {
        free(job);
        rs_job_cfg_free(cfg);
        return rowsync_error_set(err, ROWSYNC_ENOMEM, "out of memory");
    }
    job->ctx = ctx;
    job->cfg = cfg;
    for (size_t i = 0; i < cfg->nnodes; i++)
        job->nodes[i].cfg = &cfg->nodes[i];
    *out = job;
    return 0;
}

void rowsync_job_free(rowsync_job_t *job)
{
    if (!job)
        return;
    rs_engine_close(job);
    free(job->nodes);
    rs_job_cfg_free(job->cfg);
    free(job);
}

int64_t rowsync_job_interval_us(const rowsync_job_t *job)
{
    return job->cfg->interval_us;
}

/* Runs one engine operation and closes the connections afterwards. */
static int job_run(rowsync_job_t *job,
                   int (*op)(rowsync_job_t *, rowsync_error_t *),
                   rowsync_error_t *err)
{
    rowsync_error_t local;
    if (!err)
        err = &local;
    memset(err, 0, sizeof(*err));
    int rc = op(job, err);
    rs_engine_close(job);
    return rc;
}

int rowsync_job_check(rowsync_job_t *job, rowsync_error_t *err)
{
    return job_run(job, rs_engine_check, err);
}

int rowsync_job_init(rowsync_job_t *job, rowsync_error_t *err)
{
    return job_run(job, rs_engine_init, err);
}

int rowsync_job_status(rowsync_job_t *job, rowsync_error_t *err)
{
    return job_run(job, rs_engine_status, err);
}

int rowsync_job_teardown(rowsync_job_t *job, rowsync_error_t *err)
{
    return job_run(job, rs_engine_teardown, err);
}

int rowsync_job_history_clear(rowsync_job_t *job, rowsync_error_t *err)
{
    return job_run(job, rs_engine_history_clear, err);
}

int rowsync_job_sync(rowsync_job_t *job, rowsync_pass_stats_t *stats,
                     rowsync_error_t *err)
{
    rowsync_error_t local;
    if (!err)
        err = &local;
    memset(err, 0, sizeof(*err));
    int rc = rs_engine_sync(job, stats, err);
    rs_engine_close(job);
    return rc;
}
