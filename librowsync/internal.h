/* Internal: the context and helpers shared by the core's files. Nothing
 * here is exported from librowsync (see RS_HIDDEN). */
#ifndef RS_INTERNAL_H
#define RS_INTERNAL_H

#include <rowsync/rowsync.h>

#if defined(__GNUC__)
#define RS_HIDDEN __attribute__((visibility("hidden")))
#define RS_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define RS_HIDDEN
#define RS_PRINTF(a, b)
#endif

struct rs_module;

struct rowsync_ctx {
    char *module_path;            /* --module-path, or NULL */
    rowsync_log_fn log;
    void *log_ud;
    int log_max;
    rowsync_output_fn output;
    void *output_ud;
    rowsync_progress_fn progress;
    void *progress_ud;
    volatile sig_atomic_t *stop;  /* set by a signal handler, or NULL */
    struct rs_module *modules;    /* loaded modules, a list */
};

RS_HIDDEN void rs_log(rowsync_ctx_t *ctx, int level, const char *fmt, ...)
    RS_PRINTF(3, 4);
RS_HIDDEN void rs_out(rowsync_ctx_t *ctx, const char *fmt, ...) RS_PRINTF(2, 3);
RS_HIDDEN int rs_stop_requested(const rowsync_ctx_t *ctx);

/* Allocation helpers: NULL on out-of-memory; callers report ROWSYNC_ENOMEM. */
RS_HIDDEN char *rs_strdup(const char *s);
RS_HIDDEN char *rs_strndup(const char *s, size_t n);
RS_HIDDEN char *rs_sprintf(const char *fmt, ...) RS_PRINTF(1, 2);

/* Wall clock, UTC microseconds. */
RS_HIDDEN int64_t rs_now_us(void);

#endif
