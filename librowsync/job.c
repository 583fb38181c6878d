/* The public API: contexts and jobs, on top of the job file parser, the
 * loader and the engine. Every job operation connects what it needs and
 * disconnects before returning, so a failed call leaves nothing open. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine.h"
#include "loader.h"

static void job_unwatch(rowsync_job_t *job);

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
    job_unwatch(job);
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

int rowsync_job_conflicts(rowsync_job_t *job, const char *id,
                          const char *take_node, rowsync_error_t *err)
{
    rowsync_error_t local;
    if (!err)
        err = &local;
    memset(err, 0, sizeof(*err));
    if (id && !take_node)
        return rowsync_error_set(err, ROWSYNC_EINVAL,
                                 "settling a conflict needs the node whose "
                                 "version to take");
    int rc = rs_engine_conflicts(job, id, take_node, err);
    rs_engine_close(job);
    return rc;
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

/* ---- waiting for changes (run mode) ------------------------------------ */

/* One node's change watch: a connection of its own, apart from the ones a
 * pass opens and closes, kept open from one wait to the next. */
struct rs_watcher {
    rowsync_conn_t *conn; /* NULL: not open */
    int fd;
};

/* Closes every watch connection. */
static void job_unwatch(rowsync_job_t *job)
{
    if (!job->watchers)
        return;
    for (size_t i = 0; i < job->cfg->nnodes; i++)
        if (job->watchers[i].conn)
            job->nodes[i].drv->disconnect(job->watchers[i].conn);
    free(job->watchers);
    job->watchers = NULL;
}

/* Whether node i's changes travel anywhere: every node of a bidirectional
 * job, the source of a one-way job. Only those are watched. */
static int job_watched(const rowsync_job_t *job, size_t i)
{
    if (!job->nodes[i].drv->watch || !job->nodes[i].drv->watch_clear)
        return 0;
    if (job->cfg->mode != RS_MODE_ONEWAY || !job->cfg->source)
        return 1;
    return strcmp(job->cfg->source, job->nodes[i].cfg->name) == 0;
}

/* Opens the watches that are not open (never opened, or lost). Returns
 * how many were opened; one that cannot be opened is logged and left to
 * the next call, its node being covered by the timeout meanwhile. */
static size_t job_watch_open(rowsync_job_t *job)
{
    size_t opened = 0;
    for (size_t i = 0; i < job->cfg->nnodes; i++) {
        struct rs_watcher *w = &job->watchers[i];
        const rs_node_t *node = &job->nodes[i];
        if (w->conn || !job_watched(job, i))
            continue;
        rowsync_error_t err;
        memset(&err, 0, sizeof(err));
        int rc = rs_engine_connect_node(job, i, &w->conn, &err);
        if (rc == 0 && (rc = node->drv->watch(w->conn, &w->fd, &err)) < 0) {
            node->drv->disconnect(w->conn);
            w->conn = NULL;
        }
        if (rc < 0) {
            rs_log(job->ctx, ROWSYNC_LOG_WARN,
                   "cannot watch node '%s' for changes (%s); it is synced "
                   "every interval until the watch works again",
                   node->cfg->name, err.message);
            continue;
        }
        rs_log(job->ctx, ROWSYNC_LOG_DEBUG, "watching node '%s' for changes",
               node->cfg->name);
        opened++;
    }
    return opened;
}

static int64_t job_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Drains the watches whose descriptor poll() marked; a watch whose
 * connection failed is closed (reopened by the next wait). Returns 1 when
 * any descriptor was marked. */
static int job_watch_drain(rowsync_job_t *job, const struct pollfd *pfd,
                           const size_t *owner, size_t npfd)
{
    int woke = 0;
    for (size_t p = 0; p < npfd; p++) {
        if (!pfd[p].revents)
            continue;
        woke = 1;
        size_t i = owner[p];
        struct rs_watcher *w = &job->watchers[i];
        rowsync_error_t err;
        memset(&err, 0, sizeof(err));
        if (job->nodes[i].drv->watch_clear(w->conn, &err) < 0) {
            rs_log(job->ctx, ROWSYNC_LOG_WARN,
                   "lost the change watch on node '%s' (%s); reconnecting",
                   job->nodes[i].cfg->name, err.message);
            job->nodes[i].drv->disconnect(w->conn);
            w->conn = NULL;
        }
    }
    return woke;
}

/* Opens the missing watches (a pass is due at once when one opens: what
 * was committed before it listened went unnoticed), then polls every
 * watch descriptor, in slices of at most 100 ms so a stop request is
 * seen, until one turns readable or timeout_us has passed. */
int rowsync_job_wait(rowsync_job_t *job, int64_t timeout_us,
                     rowsync_error_t *err)
{
    rowsync_error_t local;
    if (!err)
        err = &local;
    memset(err, 0, sizeof(*err));
    int rc = rs_engine_load_drivers(job, err);
    if (rc < 0)
        return rc;
    size_t nn = job->cfg->nnodes;
    if (!job->watchers &&
        !(job->watchers = calloc(nn ? nn : 1, sizeof(*job->watchers))))
        return rowsync_error_set(err, ROWSYNC_ENOMEM, "out of memory");
    if (job_watch_open(job) > 0)
        return 1;

    struct pollfd *pfd = calloc(nn ? nn : 1, sizeof(*pfd));
    size_t *owner = calloc(nn ? nn : 1, sizeof(*owner));
    size_t npfd = 0;
    if (!pfd || !owner) {
        free(pfd);
        free(owner);
        return rowsync_error_set(err, ROWSYNC_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < nn; i++)
        if (job->watchers[i].conn) {
            pfd[npfd].fd = job->watchers[i].fd;
            pfd[npfd].events = POLLIN;
            owner[npfd++] = i;
        }
    int64_t deadline = job_mono_us() + (timeout_us > 0 ? timeout_us : 0);
    int woke = 0;
    while (!woke && !rs_stop_requested(job->ctx)) {
        int64_t left = deadline - job_mono_us();
        if (left <= 0)
            break;
        int slice_ms = left > 100000 ? 100 : (int)((left + 999) / 1000);
        if (npfd == 0) {
            struct timespec ts = {0, (long)slice_ms * 1000000L};
            nanosleep(&ts, NULL);
            continue;
        }
        int n = poll(pfd, (nfds_t)npfd, slice_ms);
        if (n < 0 && errno != EINTR) {
            rc = rowsync_error_set(err, ROWSYNC_EIO,
                                   "waiting for changes: poll failed: %s",
                                   strerror(errno));
            break;
        }
        if (n > 0)
            woke = job_watch_drain(job, pfd, owner, npfd);
    }
    free(pfd);
    free(owner);
    return rc < 0 ? rc : woke;
}
