/* Internal: the subset filter language. An expression is parsed once (from
 * the job file) and evaluated on the canonical column values of each
 * change, in the core, with the same semantics for every database.
 *
 *   expr    := or
 *   or      := and { OR and }
 *   and     := not { AND not }
 *   not     := NOT not | pred
 *   pred    := sum [ cmp sum | IS [NOT] NULL | [NOT] IN ( sum {, sum} )
 *                  | [NOT] LIKE sum | [NOT] BETWEEN sum AND sum ]
 *   cmp     := = | <> | != | < | <= | > | >=
 *   sum     := term { (+|-) term }
 *   term    := unary { (*|/|%) unary }
 *   unary   := - unary | primary
 *   primary := NUMBER | 'string' | TRUE | FALSE | NULL | DATE 'yyyy-mm-dd'
 *            | TIMESTAMP 'yyyy-mm-dd hh:mm:ss' | column | "column" | ( expr )
 *
 * NULL logic is SQL's: a comparison with NULL is unknown, NOT unknown is
 * unknown, FALSE AND unknown is false, TRUE OR unknown is true; a row is in
 * the subset only when the whole expression is true. */
#ifndef RS_FILTER_H
#define RS_FILTER_H

#include <rowsync/common.h>

#include "internal.h"

typedef struct rs_filter rs_filter_t;

/* Parses text. On success *out is a new filter (rs_filter_free). On a
 * syntax error returns ROWSYNC_EINVAL, sets *errpos (when not NULL) to the
 * 0-based byte offset of the offending token and err to a message without
 * position; *out is untouched. ROWSYNC_ENOMEM when memory runs out. */
RS_HIDDEN int rs_filter_parse(rs_filter_t **out, const char *text,
                              size_t *errpos, rowsync_error_t *err);
RS_HIDDEN void rs_filter_free(rs_filter_t *f);

/* The expression's source text, as parsed (borrowed). */
RS_HIDDEN const char *rs_filter_text(const rs_filter_t *f);

/* The distinct column names the expression reads, in order of first use
 * (borrowed, valid as long as f). */
RS_HIDDEN size_t rs_filter_ncolumns(const rs_filter_t *f);
RS_HIDDEN const char *rs_filter_column(const rs_filter_t *f, size_t i);

/* Evaluates f. values[i] is the value of rs_filter_column(f, i). *result
 * is 1 (true), 0 (false) or -1 (unknown: NULL). A type error (text
 * compared with a number, arithmetic on text, division by zero, a string
 * that is no date compared with a date) returns ROWSYNC_ECONVERT with a
 * message in err. */
RS_HIDDEN int rs_filter_eval(const rs_filter_t *f,
                             const rowsync_value_t *const *values, int *result,
                             rowsync_error_t *err);

/* Room rs_filter_value needs in buf for a decimal result's text. */
#define RS_FILTER_VALUE_BUF 32

/* Evaluates f to a value instead of a truth: numbers (INT, DECIMAL when a
 * decimal takes part in +, - or * and the result fits 18 digits, DOUBLE
 * otherwise and after /), text, booleans (a comparison's result), dates
 * and timestamps, or NULL (NULL propagates through arithmetic, and a
 * comparison with NULL is NULL). A lone column gives its value as it is.
 * Text bytes point into values or into f; a DECIMAL's text is written to
 * buf (RS_FILTER_VALUE_BUF bytes). Type errors as rs_filter_eval, their
 * message saying "of the expression" and naming the columns involved. */
RS_HIDDEN int rs_filter_value(const rs_filter_t *f,
                              const rowsync_value_t *const *values,
                              rowsync_value_t *out, char *buf,
                              rowsync_error_t *err);

#endif
