/* libFuzzer target for the subset filter language (librowsync/filter.c).
 * Each input is taken as the text of an expression. It is parsed; a
 * syntax error must point inside the text, and a parsed filter is then
 * evaluated on rows of varied types, so the evaluator's type checks, NULL
 * logic and arithmetic run on whatever the parser accepts. Built and run
 * by fuzz/run.sh; not part of the automake build. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <rowsync/common.h>

#include "filter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Most distinct columns one expression gets values for; an expression
 * reading more is parsed but not evaluated. */
#define FZF_MAXCOLS 64

/* The value of column i in row variant: every type the canonical model has
 * that the evaluator reads, rotated so that each column meets several. */
static rowsync_value_t fzf_value(size_t i, unsigned variant)
{
    static const char *const texts[] = {"EU", "", "test%", "2024-05-01",
                                        "2024-05-01 12:30:00", "9.99"};
    static const char *const decimals[] = {"9.99", "-0.5", "12345678901234567890",
                                           "0"};
    rowsync_value_t v;
    unsigned k = (unsigned)(i + variant * 3u) % 9u;

    memset(&v, 0, sizeof v);
    switch (k) {
    case 0:
        v.type = ROWSYNC_TYPE_NULL;
        break;
    case 1:
        v.type = ROWSYNC_TYPE_BOOL;
        v.u.b = (int)((i + variant) & 1u);
        break;
    case 2:
        v.type = ROWSYNC_TYPE_INT;
        v.u.i = variant == 1 ? INT64_MIN : (int64_t)i - 1;
        break;
    case 3:
        v.type = ROWSYNC_TYPE_DOUBLE;
        v.u.d = variant == 2 ? 1e308 : 2.5;
        break;
    case 4:
        v.type = ROWSYNC_TYPE_DECIMAL;
        v.u.bytes.ptr = decimals[(i + variant) % 4u];
        v.u.bytes.len = strlen(v.u.bytes.ptr);
        break;
    case 5:
        v.type = ROWSYNC_TYPE_TEXT;
        v.u.bytes.ptr = texts[(i + variant) % 6u];
        v.u.bytes.len = strlen(v.u.bytes.ptr);
        break;
    case 6:
        v.type = ROWSYNC_TYPE_DATE;
        v.u.date = variant == 1 ? INT32_MIN : 11016;
        break;
    case 7:
        v.type = ROWSYNC_TYPE_TIMESTAMP;
        v.u.i = variant == 2 ? INT64_MAX : INT64_C(1714566600000000);
        break;
    default:
        v.type = ROWSYNC_TYPE_TIMESTAMPTZ;
        v.u.i = INT64_C(1714566600000000);
        break;
    }
    return v;
}

/* Parses one input as a filter expression and evaluates what parses. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rowsync_value_t vals[FZF_MAXCOLS];
    const rowsync_value_t *ptrs[FZF_MAXCOLS];
    rowsync_error_t err;
    rs_filter_t *f = NULL;
    size_t pos = (size_t)-1, n, i;
    unsigned variant;
    char *text;
    int rc, res;

    text = malloc(size + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';

    memset(&err, 0, sizeof err);
    rc = rs_filter_parse(&f, text, &pos, &err);
    if (rc != 0) {
        /* a syntax error points at or before the end of the text */
        if (rc == ROWSYNC_EINVAL && pos > strlen(text))
            abort();
        free(text);
        return 0;
    }
    if (f == NULL || rs_filter_text(f) == NULL)
        abort();
    n = rs_filter_ncolumns(f);
    for (i = 0; i < n; i++)
        if (rs_filter_column(f, i) == NULL)
            abort();
    if (n <= FZF_MAXCOLS) {
        for (variant = 0; variant < 3; variant++) {
            for (i = 0; i < n; i++) {
                vals[i] = fzf_value(i, variant);
                ptrs[i] = &vals[i];
            }
            res = 99;
            memset(&err, 0, sizeof err);
            rc = rs_filter_eval(f, ptrs, &res, &err);
            if (rc == 0 && res != 1 && res != 0 && res != -1)
                abort();
        }
    }
    rs_filter_free(f);
    free(text);
    return 0;
}
