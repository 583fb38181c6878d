/* Small helpers shared by the core's files: reporting through the
 * context's callbacks, allocation and the wall clock. Nothing here prints
 * or exits; everything is hidden from librowsync's exported symbols. */
#include <config.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

/* Formats fmt/ap into a buffer. Short texts land in the caller's stack
 * buffer `small`; longer ones in a heap buffer stored in *heap, which the
 * caller frees. Never fails: when the heap buffer cannot be had, the text
 * is cut to fit `small`. Returns the text. */
static const char *util_vformat(char *small, size_t small_len, char **heap,
                                const char *fmt, va_list ap) RS_PRINTF(4, 0);

static const char *util_vformat(char *small, size_t small_len, char **heap,
                                const char *fmt, va_list ap)
{
    va_list again;
    int n;

    *heap = NULL;
    va_copy(again, ap);
    n = vsnprintf(small, small_len, fmt, ap);
    if (n < 0) {
        small[0] = '\0';
    } else if ((size_t)n >= small_len) {
        char *big = malloc((size_t)n + 1);

        if (big != NULL) {
            vsnprintf(big, (size_t)n + 1, fmt, again);
            *heap = big;
        }
    }
    va_end(again);
    return *heap != NULL ? *heap : small;
}

/* Sends one diagnostic to the context's log callback when one is set and
 * level is within the context's maximum; otherwise does nothing. */
void rs_log(rowsync_ctx_t *ctx, int level, const char *fmt, ...)
{
    char small[512];
    char *heap;
    const char *text;
    va_list ap;

    if (ctx == NULL || ctx->log == NULL || level > ctx->log_max)
        return;
    va_start(ap, fmt);
    text = util_vformat(small, sizeof small, &heap, fmt, ap);
    va_end(ap);
    ctx->log(ctx->log_ud, level, text);
    free(heap);
}

/* Sends one result line to the context's output callback, if any. */
void rs_out(rowsync_ctx_t *ctx, const char *fmt, ...)
{
    char small[512];
    char *heap;
    const char *text;
    va_list ap;

    if (ctx == NULL || ctx->output == NULL)
        return;
    va_start(ap, fmt);
    text = util_vformat(small, sizeof small, &heap, fmt, ap);
    va_end(ap);
    ctx->output(ctx->output_ud, text);
    free(heap);
}

int rs_stop_requested(const rowsync_ctx_t *ctx)
{
    return ctx != NULL && ctx->stop != NULL && *ctx->stop != 0;
}

char *rs_strdup(const char *s)
{
    return s != NULL ? rs_strndup(s, strlen(s)) : NULL;
}

/* Copies at most n bytes of s (stopping early at a NUL) into a new
 * NUL-terminated string. */
char *rs_strndup(const char *s, size_t n)
{
    const char *end;
    char *copy;

    if (s == NULL)
        return NULL;
    end = memchr(s, '\0', n);
    if (end != NULL)
        n = (size_t)(end - s);
    copy = malloc(n + 1);
    if (copy == NULL)
        return NULL;
    memcpy(copy, s, n);
    copy[n] = '\0';
    return copy;
}

/* printf into a new string of exactly the right size; NULL when memory
 * runs out (or the format is invalid). The caller frees the result. */
char *rs_sprintf(const char *fmt, ...)
{
    va_list ap;
    char *out;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    out = malloc((size_t)n + 1);
    if (out == NULL)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(out, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return out;
}

int64_t rs_now_us(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
