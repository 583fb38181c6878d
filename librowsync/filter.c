/* The subset filter language (grammar in filter.h): a recursive-descent
 * parser into a small tree, and an evaluator over canonical values.
 *
 * Evaluation works on a few value kinds: NULL, boolean, integer, exact
 * decimal (a scaled 64-bit integer, up to 18 digits), double, text and
 * temporal (a DATE/TIME/TIMESTAMP[TZ] as microseconds). Decimals that fit
 * stay exact through comparison, +, - and *; longer ones, division and
 * anything mixed with a double are computed as doubles. A number used as a condition is true when it is
 * not zero (MariaDB stores BOOLEAN as TINYINT), and a boolean compares
 * with a number as 0 or 1. A string literal compared with a temporal
 * column is read as that column's type. Text compares byte-wise (UTF-8
 * code point order), the same on every database.
 *
 * rs_filter_value evaluates the same tree to a value instead of a truth
 * (the `set` plugin's expressions, through rowsync_expr_* in row.c).
 *
 * This file depends only on value.c, util.c and error.c. */
#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "filter.h"

/* Nesting limit: no stack overflow on hostile input. */
#define FL_DEPTH_MAX 200
/* Size limit: a long chain of binary operators (a OR a OR ...) nests as
 * deeply as it is long, and evaluation and freeing recurse over it. */
#define FL_NODES_MAX 1000

typedef enum fl_kind {
    FL_LIT,
    FL_COL,
    FL_NOT,
    FL_AND,
    FL_OR,
    FL_CMP,
    FL_ISNULL,
    FL_IN,
    FL_LIKE,
    FL_BETWEEN,
    FL_ARITH,
    FL_NEG
} fl_kind_t;

typedef enum fl_vk {
    FV_NULL,
    FV_BOOL,
    FV_INT,
    FV_DEC,
    FV_DBL,
    FV_TEXT,
    FV_TIME
} fl_vk_t;

/* One value during evaluation. Text points into a literal or a column
 * value (borrowed). */
typedef struct fl_val {
    fl_vk_t k;
    rowsync_type_t t; /* FV_TIME: DATE, TIME, TIMESTAMP or TIMESTAMPTZ;
                         FV_TEXT from a column: its type (UUID, ...) */
    int64_t i;        /* FV_BOOL, FV_INT, FV_TIME (microseconds), FV_DEC
                         (the digits without the point) */
    int scale;        /* FV_DEC: digits after the point */
    double d;
    const char *p;
    size_t n;
} fl_val_t;

typedef struct fl_node fl_node_t;
struct fl_node {
    fl_kind_t kind;
    int op;       /* FL_CMP / FL_ARITH: the operator character(s) */
    int negated;  /* NOT IN, NOT LIKE, NOT BETWEEN, IS NOT NULL */
    size_t pos;   /* byte offset in the text, for messages */
    fl_val_t lit; /* FL_LIT */
    char *text;   /* FL_LIT text storage */
    size_t col;   /* FL_COL: index into the column list */
    fl_node_t *a, *b, *c;
    fl_node_t **list; /* FL_IN */
    size_t nlist;
};

struct rs_filter {
    char *text;
    fl_node_t *root;
    char **columns;
    size_t ncolumns;
};

/* ---- parser ------------------------------------------------------------ */

enum {
    FT_END,
    FT_NUM,
    FT_STR,
    FT_IDENT,
    FT_QIDENT,
    FT_OP,
    FT_LP,
    FT_RP,
    FT_COMMA
};

typedef struct fl_parser {
    const char *s;
    size_t pos; /* start of the current token */
    size_t end; /* end of the current token */
    int tok;
    char op[3];
    int depth;
    size_t nodes; /* nodes made so far, at most FL_NODES_MAX */
    int failed;
    size_t errpos;
    rowsync_error_t *err;
    rs_filter_t *f;
} fl_parser_t;

static int fl_fail(fl_parser_t *ps, size_t pos, int code, const char *msg,
                   const char *what)
{
    if (!ps->failed) {
        ps->failed = code;
        ps->errpos = pos;
        if (what != NULL)
            rowsync_error_set(ps->err, code, "%s '%s'", msg, what);
        else
            rowsync_error_set(ps->err, code, "%s", msg);
    }
    return code;
}

/* Reads the next token into ps (tok, pos, end). */
static void fl_next(fl_parser_t *ps)
{
    const char *s = ps->s;
    size_t i = ps->end;

    while (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')
        i++;
    ps->pos = i;
    if (s[i] == '\0') {
        ps->tok = FT_END;
        ps->end = i;
        return;
    }
    if (isdigit((unsigned char)s[i]) ||
        (s[i] == '.' && isdigit((unsigned char)s[i + 1]))) {
        while (isdigit((unsigned char)s[i]))
            i++;
        if (s[i] == '.') {
            i++;
            while (isdigit((unsigned char)s[i]))
                i++;
        }
        if ((s[i] == 'e' || s[i] == 'E') &&
            (isdigit((unsigned char)s[i + 1]) ||
             ((s[i + 1] == '+' || s[i + 1] == '-') &&
              isdigit((unsigned char)s[i + 2])))) {
            i += 2;
            while (isdigit((unsigned char)s[i]))
                i++;
        }
        ps->tok = FT_NUM;
    } else if (s[i] == '\'' || s[i] == '"') {
        char q = s[i++];
        for (;;) {
            if (s[i] == '\0') {
                fl_fail(ps, ps->pos, ROWSYNC_EINVAL,
                        q == '\'' ? "unterminated string"
                                  : "unterminated quoted column name",
                        NULL);
                ps->tok = FT_END;
                ps->end = i;
                return;
            }
            if (s[i] == q) {
                if (s[i + 1] == q) {
                    i += 2;
                    continue;
                }
                i++;
                break;
            }
            i++;
        }
        ps->tok = q == '\'' ? FT_STR : FT_QIDENT;
    } else if (isalpha((unsigned char)s[i]) || s[i] == '_') {
        while (isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '.')
            i++;
        ps->tok = FT_IDENT;
    } else if (s[i] == '(') {
        i++;
        ps->tok = FT_LP;
    } else if (s[i] == ')') {
        i++;
        ps->tok = FT_RP;
    } else if (s[i] == ',') {
        i++;
        ps->tok = FT_COMMA;
    } else if (strchr("=<>!+-*/%", s[i]) != NULL) {
        ps->op[0] = s[i];
        ps->op[1] = ps->op[2] = '\0';
        if ((s[i] == '<' && (s[i + 1] == '=' || s[i + 1] == '>')) ||
            (s[i] == '>' && s[i + 1] == '=') ||
            (s[i] == '!' && s[i + 1] == '=')) {
            ps->op[1] = s[i + 1];
            i++;
        } else if (s[i] == '!') {
            char bad[2] = {s[i], '\0'};
            fl_fail(ps, i, ROWSYNC_EINVAL, "unexpected character", bad);
        }
        i++;
        ps->tok = FT_OP;
    } else {
        char bad[2] = {s[i], '\0'};
        fl_fail(ps, i, ROWSYNC_EINVAL, "unexpected character", bad);
        ps->tok = FT_END;
        ps->end = i;
        return;
    }
    ps->end = i;
}

/* Whether the current token is the keyword kw (any case). */
static int fl_is_kw(const fl_parser_t *ps, const char *kw)
{
    size_t n = strlen(kw);
    return ps->tok == FT_IDENT && ps->end - ps->pos == n &&
           strncasecmp(ps->s + ps->pos, kw, n) == 0;
}

static int fl_is_op(const fl_parser_t *ps, const char *op)
{
    return ps->tok == FT_OP && strcmp(ps->op, op) == 0;
}

static const char *fl_reserved[] = {"AND",  "OR",    "NOT",  "IN",
                                    "IS",   "NULL",  "LIKE", "BETWEEN",
                                    "TRUE", "FALSE", NULL};

static void fl_node_free(fl_node_t *n)
{
    if (n == NULL)
        return;
    fl_node_free(n->a);
    fl_node_free(n->b);
    fl_node_free(n->c);
    for (size_t i = 0; i < n->nlist; i++)
        fl_node_free(n->list[i]);
    free(n->list);
    free(n->text);
    free(n);
}

static fl_node_t *fl_new(fl_parser_t *ps, fl_kind_t kind, size_t pos)
{
    fl_node_t *n;

    if (++ps->nodes > FL_NODES_MAX) {
        fl_fail(ps, pos, ROWSYNC_EINVAL, "expression is too long", NULL);
        return NULL;
    }
    n = calloc(1, sizeof *n);
    if (n == NULL) {
        fl_fail(ps, pos, ROWSYNC_ENOMEM, "out of memory", NULL);
        return NULL;
    }
    n->kind = kind;
    n->pos = pos;
    return n;
}

/* Copies the current quoted token's body without its quotes, undoubling
 * the quote character. */
static char *fl_unquote(fl_parser_t *ps, size_t *len)
{
    const char *s = ps->s + ps->pos;
    size_t n = ps->end - ps->pos;
    char q = s[0], *out = malloc(n), *o = out;

    if (out == NULL) {
        fl_fail(ps, ps->pos, ROWSYNC_ENOMEM, "out of memory", NULL);
        return NULL;
    }
    for (size_t i = 1; i + 1 < n; i++) {
        *o++ = s[i];
        if (s[i] == q)
            i++;
    }
    *o = '\0';
    *len = (size_t)(o - out);
    return out;
}

/* Records a column name (once) and returns its index via *idx. */
static int fl_column(fl_parser_t *ps, char *name, size_t *idx)
{
    rs_filter_t *f = ps->f;
    char **grown;

    for (size_t i = 0; i < f->ncolumns; i++)
        if (strcmp(f->columns[i], name) == 0) {
            free(name);
            *idx = i;
            return 0;
        }
    grown = realloc(f->columns, (f->ncolumns + 1) * sizeof *grown);
    if (grown == NULL) {
        free(name);
        return fl_fail(ps, ps->pos, ROWSYNC_ENOMEM, "out of memory", NULL);
    }
    f->columns = grown;
    grown[f->ncolumns] = name;
    *idx = f->ncolumns++;
    return 0;
}

static fl_node_t *fl_or(fl_parser_t *ps);
static fl_node_t *fl_sum(fl_parser_t *ps);

/* Reads -?digits[.digits] (n bytes) as an exact decimal into *o. Returns
 * 0 when the text has another form (an exponent) or more than 18 digits,
 * which then count as doubles. */
static int fl_dec_parse(const char *p, size_t n, fl_val_t *o)
{
    size_t i = 0, digits = 0;
    int neg = 0, scale = 0, point = 0;
    int64_t m = 0;

    if (i < n && (p[i] == '-' || p[i] == '+'))
        neg = p[i++] == '-';
    for (; i < n; i++) {
        if (p[i] == '.' && !point) {
            point = 1;
            continue;
        }
        if (p[i] < '0' || p[i] > '9')
            return 0;
        if (m == 0 && p[i] == '0' && !point)
            continue; /* leading zeros do not count */
        if (++digits > 18)
            return 0;
        m = m * 10 + (p[i] - '0');
        scale += point;
    }
    memset(o, 0, sizeof *o);
    o->k = FV_DEC;
    o->i = neg ? -m : m;
    o->scale = scale;
    return 1;
}

/* A typed literal: DATE '...' or TIMESTAMP '...'. */
static fl_node_t *fl_typed(fl_parser_t *ps, rowsync_type_t type)
{
    size_t start = ps->pos, len;
    rowsync_value_t v;
    rowsync_error_t perr;
    fl_node_t *n;

    fl_next(ps);
    if (ps->tok != FT_STR) {
        fl_fail(ps, ps->pos, ROWSYNC_EINVAL,
                type == ROWSYNC_TYPE_DATE
                    ? "expected a string after DATE, e.g. DATE '2024-01-31'"
                    : "expected a string after TIMESTAMP, e.g. TIMESTAMP "
                      "'2024-01-31 12:00:00'",
                NULL);
        return NULL;
    }
    if ((n = fl_new(ps, FL_LIT, start)) == NULL)
        return NULL;
    if ((n->text = fl_unquote(ps, &len)) == NULL) {
        free(n);
        return NULL;
    }
    if (rowsync_value_parse(type, n->text, len, NULL, &v, &perr) != 0) {
        fl_fail(ps, ps->pos, ROWSYNC_EINVAL,
                type == ROWSYNC_TYPE_DATE ? "invalid date"
                                          : "invalid timestamp",
                n->text);
        fl_node_free(n);
        return NULL;
    }
    n->lit.k = FV_TIME;
    n->lit.t = type;
    n->lit.i = type == ROWSYNC_TYPE_DATE ? (int64_t)v.u.date : v.u.i;
    fl_next(ps);
    return n;
}

/* Whether a string literal follows the current token. */
static int fl_quote_follows(const fl_parser_t *ps)
{
    size_t i = ps->end;
    while (ps->s[i] == ' ' || ps->s[i] == '\t')
        i++;
    return ps->s[i] == '\'';
}

static fl_node_t *fl_primary(fl_parser_t *ps)
{
    fl_node_t *n;
    size_t len;

    if (ps->failed)
        return NULL;
    if (ps->tok == FT_LP) {
        size_t open = ps->pos;
        fl_next(ps);
        n = fl_or(ps);
        if (n == NULL)
            return NULL;
        if (ps->tok != FT_RP) {
            fl_node_free(n);
            fl_fail(ps, ps->tok == FT_END ? open : ps->pos, ROWSYNC_EINVAL,
                    ps->tok == FT_END ? "'(' is never closed" : "expected ')'",
                    NULL);
            return NULL;
        }
        fl_next(ps);
        return n;
    }
    if (ps->tok == FT_NUM) {
        if ((n = fl_new(ps, FL_LIT, ps->pos)) == NULL)
            return NULL;
        n->text = rs_strndup(ps->s + ps->pos, ps->end - ps->pos);
        if (n->text == NULL) {
            free(n);
            fl_fail(ps, ps->pos, ROWSYNC_ENOMEM, "out of memory", NULL);
            return NULL;
        }
        if (strpbrk(n->text, ".eE") == NULL) {
            char *endp;
            errno = 0;
            long long v = strtoll(n->text, &endp, 10);
            if (errno == 0) {
                n->lit.k = FV_INT;
                n->lit.i = v;
            } else {
                n->lit.k = FV_DBL;
                n->lit.d = strtod(n->text, NULL);
            }
        } else if (!fl_dec_parse(n->text, strlen(n->text), &n->lit)) {
            n->lit.k = FV_DBL;
            n->lit.d = strtod(n->text, NULL);
        }
        fl_next(ps);
        return n;
    }
    if (ps->tok == FT_STR) {
        if ((n = fl_new(ps, FL_LIT, ps->pos)) == NULL)
            return NULL;
        if ((n->text = fl_unquote(ps, &len)) == NULL) {
            free(n);
            return NULL;
        }
        n->lit.k = FV_TEXT;
        n->lit.p = n->text;
        n->lit.n = len;
        fl_next(ps);
        return n;
    }
    if (ps->tok == FT_IDENT) {
        if (fl_is_kw(ps, "TRUE") || fl_is_kw(ps, "FALSE")) {
            if ((n = fl_new(ps, FL_LIT, ps->pos)) == NULL)
                return NULL;
            n->lit.k = FV_BOOL;
            n->lit.i = fl_is_kw(ps, "TRUE");
            fl_next(ps);
            return n;
        }
        if (fl_is_kw(ps, "NULL")) {
            if ((n = fl_new(ps, FL_LIT, ps->pos)) == NULL)
                return NULL;
            n->lit.k = FV_NULL;
            fl_next(ps);
            return n;
        }
        if (fl_is_kw(ps, "DATE") && fl_quote_follows(ps))
            return fl_typed(ps, ROWSYNC_TYPE_DATE);
        if (fl_is_kw(ps, "TIMESTAMP") && fl_quote_follows(ps))
            return fl_typed(ps, ROWSYNC_TYPE_TIMESTAMP);
        for (size_t i = 0; fl_reserved[i] != NULL; i++)
            if (fl_is_kw(ps, fl_reserved[i])) {
                fl_fail(ps, ps->pos, ROWSYNC_EINVAL,
                        "expected a value or a column name, found",
                        fl_reserved[i]);
                return NULL;
            }
    }
    if (ps->tok == FT_IDENT || ps->tok == FT_QIDENT) {
        char *name;
        if (ps->tok == FT_QIDENT)
            name = fl_unquote(ps, &len);
        else if ((name = rs_strndup(ps->s + ps->pos, ps->end - ps->pos)) ==
                 NULL)
            fl_fail(ps, ps->pos, ROWSYNC_ENOMEM, "out of memory", NULL);
        if (name == NULL)
            return NULL;
        if ((n = fl_new(ps, FL_COL, ps->pos)) == NULL) {
            free(name);
            return NULL;
        }
        if (fl_column(ps, name, &n->col) != 0) {
            free(n);
            return NULL;
        }
        fl_next(ps);
        return n;
    }
    if (ps->tok == FT_END)
        fl_fail(ps, ps->pos, ROWSYNC_EINVAL,
                "expression ends where a value was expected", NULL);
    else {
        char tok[32];
        size_t n2 = ps->end - ps->pos < sizeof tok - 1 ? ps->end - ps->pos
                                                       : sizeof tok - 1;
        memcpy(tok, ps->s + ps->pos, n2);
        tok[n2] = '\0';
        fl_fail(ps, ps->pos, ROWSYNC_EINVAL,
                "expected a value or a column name, found", tok);
    }
    return NULL;
}

static fl_node_t *fl_unary(fl_parser_t *ps)
{
    if (fl_is_op(ps, "-")) {
        size_t pos = ps->pos;
        fl_node_t *n, *a;
        if (++ps->depth > FL_DEPTH_MAX) {
            fl_fail(ps, pos, ROWSYNC_EINVAL, "expression nests too deeply",
                    NULL);
            return NULL;
        }
        fl_next(ps);
        if ((a = fl_unary(ps)) == NULL)
            return NULL;
        ps->depth--;
        if ((n = fl_new(ps, FL_NEG, pos)) == NULL) {
            fl_node_free(a);
            return NULL;
        }
        n->a = a;
        return n;
    }
    return fl_primary(ps);
}

/* Builds a binary node of kind from a and the operand parsed by next. */
static fl_node_t *fl_binary(fl_parser_t *ps, fl_kind_t kind, int op,
                            fl_node_t *a, fl_node_t *(*next)(fl_parser_t *))
{
    size_t pos = ps->pos;
    fl_node_t *b, *n;

    fl_next(ps);
    if ((b = next(ps)) == NULL) {
        fl_node_free(a);
        return NULL;
    }
    if ((n = fl_new(ps, kind, pos)) == NULL) {
        fl_node_free(a);
        fl_node_free(b);
        return NULL;
    }
    n->op = op;
    n->a = a;
    n->b = b;
    return n;
}

static fl_node_t *fl_term(fl_parser_t *ps)
{
    fl_node_t *n = fl_unary(ps);
    while (n != NULL &&
           (fl_is_op(ps, "*") || fl_is_op(ps, "/") || fl_is_op(ps, "%")))
        n = fl_binary(ps, FL_ARITH, ps->op[0], n, fl_unary);
    return n;
}

static fl_node_t *fl_sum(fl_parser_t *ps)
{
    fl_node_t *n = fl_term(ps);
    while (n != NULL && (fl_is_op(ps, "+") || fl_is_op(ps, "-")))
        n = fl_binary(ps, FL_ARITH, ps->op[0], n, fl_term);
    return n;
}

/* Comparison operators as small codes. */
enum { FC_EQ = 1, FC_NE, FC_LT, FC_LE, FC_GT, FC_GE };

static int fl_cmp_code(const fl_parser_t *ps)
{
    if (ps->tok != FT_OP)
        return 0;
    if (strcmp(ps->op, "=") == 0)
        return FC_EQ;
    if (strcmp(ps->op, "<>") == 0 || strcmp(ps->op, "!=") == 0)
        return FC_NE;
    if (strcmp(ps->op, "<") == 0)
        return FC_LT;
    if (strcmp(ps->op, "<=") == 0)
        return FC_LE;
    if (strcmp(ps->op, ">") == 0)
        return FC_GT;
    if (strcmp(ps->op, ">=") == 0)
        return FC_GE;
    return 0;
}

static fl_node_t *fl_pred(fl_parser_t *ps)
{
    fl_node_t *a = fl_sum(ps), *n;
    size_t pos = ps->pos;
    int negated = 0, code;

    if (a == NULL)
        return NULL;
    if ((code = fl_cmp_code(ps)) != 0)
        return fl_binary(ps, FL_CMP, code, a, fl_sum);
    if (fl_is_kw(ps, "IS")) {
        fl_next(ps);
        if (fl_is_kw(ps, "NOT")) {
            negated = 1;
            fl_next(ps);
        }
        if (!fl_is_kw(ps, "NULL")) {
            fl_node_free(a);
            fl_fail(ps, ps->pos, ROWSYNC_EINVAL,
                    "expected NULL after IS or IS NOT", NULL);
            return NULL;
        }
        fl_next(ps);
        if ((n = fl_new(ps, FL_ISNULL, pos)) == NULL) {
            fl_node_free(a);
            return NULL;
        }
        n->a = a;
        n->negated = negated;
        return n;
    }
    if (fl_is_kw(ps, "NOT")) {
        negated = 1;
        fl_next(ps);
        if (!fl_is_kw(ps, "IN") && !fl_is_kw(ps, "LIKE") &&
            !fl_is_kw(ps, "BETWEEN")) {
            fl_node_free(a);
            fl_fail(ps, ps->pos, ROWSYNC_EINVAL,
                    "expected IN, LIKE or BETWEEN after NOT", NULL);
            return NULL;
        }
    }
    if (fl_is_kw(ps, "LIKE")) {
        n = fl_binary(ps, FL_LIKE, 0, a, fl_sum);
        if (n != NULL)
            n->negated = negated;
        return n;
    }
    if (fl_is_kw(ps, "BETWEEN")) {
        n = fl_binary(ps, FL_BETWEEN, 0, a, fl_sum);
        if (n == NULL)
            return NULL;
        n->negated = negated;
        if (!fl_is_kw(ps, "AND")) {
            fl_node_free(n);
            fl_fail(ps, ps->pos, ROWSYNC_EINVAL,
                    "expected AND in BETWEEN ... AND ...", NULL);
            return NULL;
        }
        fl_next(ps);
        if ((n->c = fl_sum(ps)) == NULL) {
            fl_node_free(n);
            return NULL;
        }
        return n;
    }
    if (fl_is_kw(ps, "IN")) {
        if ((n = fl_new(ps, FL_IN, pos)) == NULL) {
            fl_node_free(a);
            return NULL;
        }
        n->a = a;
        n->negated = negated;
        fl_next(ps);
        if (ps->tok != FT_LP) {
            fl_node_free(n);
            fl_fail(ps, ps->pos, ROWSYNC_EINVAL, "expected '(' after IN", NULL);
            return NULL;
        }
        do {
            fl_node_t *item, **grown;
            fl_next(ps);
            if ((item = fl_sum(ps)) == NULL) {
                fl_node_free(n);
                return NULL;
            }
            grown = realloc(n->list, (n->nlist + 1) * sizeof *grown);
            if (grown == NULL) {
                fl_node_free(item);
                fl_node_free(n);
                fl_fail(ps, ps->pos, ROWSYNC_ENOMEM, "out of memory", NULL);
                return NULL;
            }
            n->list = grown;
            n->list[n->nlist++] = item;
        } while (ps->tok == FT_COMMA);
        if (ps->tok != FT_RP) {
            fl_node_free(n);
            fl_fail(ps, ps->pos, ROWSYNC_EINVAL,
                    "expected ',' or ')' in the IN list", NULL);
            return NULL;
        }
        fl_next(ps);
        return n;
    }
    return a;
}

static fl_node_t *fl_not(fl_parser_t *ps)
{
    if (fl_is_kw(ps, "NOT")) {
        size_t pos = ps->pos;
        fl_node_t *a, *n;
        if (++ps->depth > FL_DEPTH_MAX) {
            fl_fail(ps, pos, ROWSYNC_EINVAL, "expression nests too deeply",
                    NULL);
            return NULL;
        }
        fl_next(ps);
        if ((a = fl_not(ps)) == NULL)
            return NULL;
        ps->depth--;
        if ((n = fl_new(ps, FL_NOT, pos)) == NULL) {
            fl_node_free(a);
            return NULL;
        }
        n->a = a;
        return n;
    }
    return fl_pred(ps);
}

static fl_node_t *fl_and(fl_parser_t *ps)
{
    fl_node_t *n = fl_not(ps);
    while (n != NULL && fl_is_kw(ps, "AND"))
        n = fl_binary(ps, FL_AND, 0, n, fl_not);
    return n;
}

static fl_node_t *fl_or(fl_parser_t *ps)
{
    fl_node_t *n;

    if (++ps->depth > FL_DEPTH_MAX) {
        fl_fail(ps, ps->pos, ROWSYNC_EINVAL, "expression nests too deeply",
                NULL);
        return NULL;
    }
    n = fl_and(ps);
    while (n != NULL && fl_is_kw(ps, "OR"))
        n = fl_binary(ps, FL_OR, 0, n, fl_and);
    ps->depth--;
    return n;
}

/* Parses text into a new filter; see filter.h. */
int rs_filter_parse(rs_filter_t **out, const char *text, size_t *errpos,
                    rowsync_error_t *err)
{
    fl_parser_t ps;
    rs_filter_t *f = calloc(1, sizeof *f);

    if (f == NULL || (f->text = rs_strdup(text)) == NULL) {
        free(f);
        return rowsync_error_set(err, ROWSYNC_ENOMEM, "out of memory");
    }
    memset(&ps, 0, sizeof ps);
    ps.s = f->text;
    ps.err = err;
    ps.f = f;
    fl_next(&ps);
    if (!ps.failed && ps.tok == FT_END)
        fl_fail(&ps, ps.pos, ROWSYNC_EINVAL, "empty expression", NULL);
    if (!ps.failed)
        f->root = fl_or(&ps);
    if (!ps.failed && ps.tok != FT_END) {
        char tok[32];
        size_t n =
            ps.end - ps.pos < sizeof tok - 1 ? ps.end - ps.pos : sizeof tok - 1;
        memcpy(tok, ps.s + ps.pos, n);
        tok[n] = '\0';
        fl_fail(&ps, ps.pos, ROWSYNC_EINVAL,
                ps.tok == FT_RP ? "unmatched" : "unexpected", tok);
    }
    if (ps.failed) {
        if (errpos != NULL)
            *errpos = ps.errpos;
        rs_filter_free(f);
        return ps.failed;
    }
    *out = f;
    return 0;
}

void rs_filter_free(rs_filter_t *f)
{
    if (f == NULL)
        return;
    fl_node_free(f->root);
    for (size_t i = 0; i < f->ncolumns; i++)
        free(f->columns[i]);
    free(f->columns);
    free(f->text);
    free(f);
}

const char *rs_filter_text(const rs_filter_t *f)
{
    return f->text;
}

size_t rs_filter_ncolumns(const rs_filter_t *f)
{
    return f->ncolumns;
}

const char *rs_filter_column(const rs_filter_t *f, size_t i)
{
    return i < f->ncolumns ? f->columns[i] : NULL;
}

/* ---- evaluator --------------------------------------------------------- */

typedef struct fl_eval {
    const rs_filter_t *f;
    const rowsync_value_t *const *values;
    rowsync_error_t *err;
    const char *noun; /* "filter" or "expression", for messages */
} fl_eval_t;

/* " (column 'x')" or " (columns 'x', 'y')" naming the columns a failing
 * operator read directly, so a type error says which value is at fault;
 * "" when neither operand is a column. */
static const char *fl_cols(const fl_eval_t *ev, const fl_node_t *a,
                           const fl_node_t *b, char *buf, size_t len)
{
    const char *x = a && a->kind == FL_COL ? ev->f->columns[a->col] : NULL;
    const char *y = b && b->kind == FL_COL ? ev->f->columns[b->col] : NULL;

    if (x && y && strcmp(x, y) != 0)
        snprintf(buf, len, " (columns '%s', '%s')", x, y);
    else if (x || y)
        snprintf(buf, len, " (column '%s')", x ? x : y);
    else
        buf[0] = '\0';
    return buf;
}

static const char *fl_kind_name(const fl_val_t *v)
{
    switch (v->k) {
    case FV_NULL:
        return "null";
    case FV_BOOL:
        return "boolean";
    case FV_INT:
    case FV_DEC:
    case FV_DBL:
        return "number";
    case FV_TEXT:
        return "text";
    default:
        return rowsync_type_name(v->t);
    }
}

/* Turns a canonical column value into an evaluation value. */
static int fl_from_value(fl_eval_t *ev, const rowsync_value_t *v, fl_val_t *o)
{
    char num[128];

    memset(o, 0, sizeof *o);
    switch (v->type) {
    case ROWSYNC_TYPE_NULL:
        o->k = FV_NULL;
        break;
    case ROWSYNC_TYPE_BOOL:
        o->k = FV_BOOL;
        o->i = v->u.b != 0;
        break;
    case ROWSYNC_TYPE_INT:
        o->k = FV_INT;
        o->i = v->u.i;
        break;
    case ROWSYNC_TYPE_DOUBLE:
        o->k = FV_DBL;
        o->d = v->u.d;
        break;
    case ROWSYNC_TYPE_DECIMAL:
        if (v->u.bytes.len >= sizeof num)
            return rowsync_error_set(ev->err, ROWSYNC_ECONVERT,
                                     "decimal value too long for a filter");
        if (fl_dec_parse(v->u.bytes.ptr, v->u.bytes.len, o))
            break;
        memcpy(num, v->u.bytes.ptr, v->u.bytes.len);
        num[v->u.bytes.len] = '\0';
        o->k = FV_DBL;
        o->d = strtod(num, NULL);
        break;
    case ROWSYNC_TYPE_DATE:
    case ROWSYNC_TYPE_TIME:
    case ROWSYNC_TYPE_TIMESTAMP:
    case ROWSYNC_TYPE_TIMESTAMPTZ:
        o->k = FV_TIME;
        o->t = v->type;
        o->i = v->type == ROWSYNC_TYPE_DATE ? (int64_t)v->u.date : v->u.i;
        break;
    default: /* TEXT, BINARY, UUID, JSON */
        o->k = FV_TEXT;
        o->t = v->type;
        o->p = v->u.bytes.ptr;
        o->n = v->u.bytes.len;
        break;
    }
    return 0;
}

static int fl_eval(fl_eval_t *ev, const fl_node_t *n, fl_val_t *out);

/* Microseconds since the epoch of a temporal value (a DATE is midnight). */
static int64_t fl_micros(const fl_val_t *v)
{
    return v->t == ROWSYNC_TYPE_DATE ? v->i * INT64_C(86400000000) : v->i;
}

/* Reads a text value as the temporal type t; ECONVERT when it is none. */
static int fl_text_to_time(fl_eval_t *ev, const fl_node_t *n, fl_val_t *v,
                           rowsync_type_t t)
{
    rowsync_value_t pv;
    rowsync_error_t perr;

    if (rowsync_value_parse(t, v->p, v->n, NULL, &pv, &perr) == 0) {
        v->k = FV_TIME;
        v->t = t;
        v->i = t == ROWSYNC_TYPE_DATE ? (int64_t)pv.u.date : pv.u.i;
        return 0;
    }
    /* a date alone compares with a timestamp as its midnight */
    if ((t == ROWSYNC_TYPE_TIMESTAMP || t == ROWSYNC_TYPE_TIMESTAMPTZ) &&
        rowsync_value_parse(ROWSYNC_TYPE_DATE, v->p, v->n, NULL, &pv, &perr) ==
            0) {
        v->k = FV_TIME;
        v->t = ROWSYNC_TYPE_DATE;
        v->i = pv.u.date;
        return 0;
    }
    return rowsync_error_set(ev->err, ROWSYNC_ECONVERT,
                             "at column %zu of the %s: '%.*s' is not a %s",
                             n->pos + 1, ev->noun, (int)(v->n > 64 ? 64 : v->n), v->p,
                             rowsync_type_name(t));
}

/* A number as a double (booleans as 0 or 1). */
static double fl_double(const fl_val_t *v)
{
    static const double tens[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,
                                  1e7,  1e8,  1e9,  1e10, 1e11, 1e12, 1e13,
                                  1e14, 1e15, 1e16, 1e17, 1e18};
    if (v->k == FV_DBL)
        return v->d;
    if (v->k == FV_DEC)
        return (double)v->i / tens[v->scale < 18 ? v->scale : 18];
    return (double)v->i;
}

/* Brings two exact numbers (INT, BOOL or DEC) to one scale: *x and *y are
 * their digits at scale *scale. Returns 0 when that overflows 64 bits. */
static int fl_align(const fl_val_t *a, const fl_val_t *b, int64_t *x,
                    int64_t *y, int *scale)
{
    int sa = a->k == FV_DEC ? a->scale : 0, sb = b->k == FV_DEC ? b->scale : 0;

    *x = a->i;
    *y = b->i;
    for (; sa < sb; sa++)
        if (__builtin_mul_overflow(*x, 10, x))
            return 0;
    for (; sb < sa; sb++)
        if (__builtin_mul_overflow(*y, 10, y))
            return 0;
    *scale = sa;
    return 1;
}

static int fl_is_num(const fl_val_t *v)
{
    return v->k == FV_INT || v->k == FV_DEC || v->k == FV_DBL ||
           v->k == FV_BOOL;
}

/* Compares two non-NULL values: *c < 0, 0, > 0. Numbers compare with
 * numbers and booleans, text with text, temporals with temporals and with
 * text read as their type. */
static int fl_compare(fl_eval_t *ev, const fl_node_t *n, fl_val_t a, fl_val_t b,
                      int *c)
{
    int rc;

    if (a.k == FV_TIME && b.k == FV_TEXT &&
        (rc = fl_text_to_time(ev, n, &b, a.t)) != 0)
        return rc;
    if (b.k == FV_TIME && a.k == FV_TEXT &&
        (rc = fl_text_to_time(ev, n, &a, b.t)) != 0)
        return rc;
    if (a.k == FV_BOOL && b.k == FV_BOOL) {
        *c = (a.i > b.i) - (a.i < b.i);
        return 0;
    }
    if (fl_is_num(&a) && fl_is_num(&b)) {
        int64_t xi, yi;
        int scale;
        if (a.k != FV_DBL && b.k != FV_DBL &&
            fl_align(&a, &b, &xi, &yi, &scale))
            *c = (xi > yi) - (xi < yi);
        else {
            double x = fl_double(&a), y = fl_double(&b);
            *c = (x > y) - (x < y);
        }
        return 0;
    }
    if (a.k == FV_TEXT && b.k == FV_TEXT) {
        size_t m = a.n < b.n ? a.n : b.n;
        int r = memcmp(a.p, b.p, m);
        *c = r != 0 ? (r > 0) - (r < 0) : (a.n > b.n) - (a.n < b.n);
        return 0;
    }
    if (a.k == FV_TIME && b.k == FV_TIME &&
        (a.t == ROWSYNC_TYPE_TIME) == (b.t == ROWSYNC_TYPE_TIME)) {
        int64_t x = fl_micros(&a), y = fl_micros(&b);
        *c = (x > y) - (x < y);
        return 0;
    }
    char cols[160];
    return rowsync_error_set(
        ev->err, ROWSYNC_ECONVERT,
        "at column %zu of the %s: cannot compare %s with %s%s", n->pos + 1,
        ev->noun, fl_kind_name(&a), fl_kind_name(&b),
        fl_cols(ev, n->a, n->kind == FL_CMP ? n->b : NULL, cols,
                sizeof cols));
}

/* Truth of a value: 1, 0, or -1 for NULL. */
static int fl_truth(fl_eval_t *ev, const fl_node_t *n, const fl_val_t *v,
                    int *t)
{
    switch (v->k) {
    case FV_NULL:
        *t = -1;
        return 0;
    case FV_BOOL:
    case FV_INT:
    case FV_DEC:
        *t = v->i != 0;
        return 0;
    case FV_DBL:
        *t = v->d != 0.0;
        return 0;
    default: {
        char cols[160];
        return rowsync_error_set(ev->err, ROWSYNC_ECONVERT,
                                 "at column %zu of the %s: %s is not a "
                                 "condition (compare it with something)%s",
                                 n->pos + 1, ev->noun, fl_kind_name(v),
                                 fl_cols(ev, n, NULL, cols, sizeof cols));
    }
    }
}

static void fl_set_truth(fl_val_t *out, int t)
{
    memset(out, 0, sizeof *out);
    if (t < 0)
        out->k = FV_NULL;
    else {
        out->k = FV_BOOL;
        out->i = t;
    }
}

/* SQL LIKE: '%' any run, '_' one UTF-8 character, no escape character. */
static int fl_like(const char *s, size_t sn, const char *p, size_t pn)
{
    while (pn > 0) {
        if (*p == '%') {
            while (pn > 0 && *p == '%') {
                p++;
                pn--;
            }
            if (pn == 0)
                return 1;
            for (size_t i = 0; i <= sn; i++)
                if (fl_like(s + i, sn - i, p, pn))
                    return 1;
            return 0;
        }
        if (sn == 0)
            return 0;
        if (*p == '_') {
            size_t k = 1;
            while (k < sn && ((unsigned char)s[k] & 0xC0) == 0x80)
                k++;
            s += k;
            sn -= k;
            p++;
            pn--;
            continue;
        }
        if (*p != *s)
            return 0;
        p++;
        pn--;
        s++;
        sn--;
    }
    return sn == 0;
}

/* Exact +, - or * when a decimal takes part: *out is a DEC at the
 * operands' common scale (+, -) or their scales' sum (*). Returns 0 when
 * the result would not fit 64 bits (the caller then uses doubles). */
static int fl_dec_arith(int op, const fl_val_t *a, const fl_val_t *b,
                        fl_val_t *out)
{
    int64_t x, y, r;
    int scale;

    if (op == '*') {
        scale = (a->k == FV_DEC ? a->scale : 0) + (b->k == FV_DEC ? b->scale : 0);
        if (scale > 18 || __builtin_mul_overflow(a->i, b->i, &r))
            return 0;
    } else {
        if (!fl_align(a, b, &x, &y, &scale))
            return 0;
        if (op == '+' ? __builtin_add_overflow(x, y, &r)
                      : __builtin_sub_overflow(x, y, &r))
            return 0;
    }
    out->k = FV_DEC;
    out->i = r;
    out->scale = scale;
    return 1;
}

static int fl_arith(fl_eval_t *ev, const fl_node_t *n, fl_val_t a, fl_val_t b,
                    fl_val_t *out)
{
    char cols[160];

    memset(out, 0, sizeof *out);
    if (a.k == FV_NULL || b.k == FV_NULL) {
        out->k = FV_NULL;
        return 0;
    }
    if ((a.k != FV_INT && a.k != FV_DEC && a.k != FV_DBL) ||
        (b.k != FV_INT && b.k != FV_DEC && b.k != FV_DBL))
        return rowsync_error_set(ev->err, ROWSYNC_ECONVERT,
                                 "at column %zu of the %s: '%c' needs "
                                 "numbers, not %s and %s%s",
                                 n->pos + 1, ev->noun, n->op, fl_kind_name(&a),
                                 fl_kind_name(&b),
                                 fl_cols(ev, n->a, n->b, cols, sizeof cols));
    if ((n->op == '/' || n->op == '%') && fl_double(&b) == 0.0)
        return rowsync_error_set(ev->err, ROWSYNC_ECONVERT,
                                 "at column %zu of the %s: division by "
                                 "zero%s",
                                 n->pos + 1, ev->noun,
                                 fl_cols(ev, n->b, NULL, cols, sizeof cols));
    if ((a.k == FV_DEC || b.k == FV_DEC) && a.k != FV_DBL && b.k != FV_DBL &&
        n->op != '/' && n->op != '%' && fl_dec_arith(n->op, &a, &b, out))
        return 0;
    if (a.k == FV_INT && b.k == FV_INT) {
        int64_t r;
        int ovf = 0;
        switch (n->op) {
        case '+':
            ovf = __builtin_add_overflow(a.i, b.i, &r);
            break;
        case '-':
            ovf = __builtin_sub_overflow(a.i, b.i, &r);
            break;
        case '*':
            ovf = __builtin_mul_overflow(a.i, b.i, &r);
            break;
        case '/':
            ovf = a.i == INT64_MIN && b.i == -1;
            r = ovf ? 0 : a.i / b.i;
            break;
        default:
            r = (a.i == INT64_MIN && b.i == -1) ? 0 : a.i % b.i;
            break;
        }
        if (!ovf) {
            out->k = FV_INT;
            out->i = r;
            return 0;
        }
    }
    double x = fl_double(&a), y = fl_double(&b);
    out->k = FV_DBL;
    switch (n->op) {
    case '+':
        out->d = x + y;
        break;
    case '-':
        out->d = x - y;
        break;
    case '*':
        out->d = x * y;
        break;
    case '/':
        out->d = x / y;
        break;
    default: /* the remainder of a truncating division, without libm */
        if (!(x / y > -9e18 && x / y < 9e18))
            return rowsync_error_set(ev->err, ROWSYNC_ECONVERT,
                                     "at column %zu of the %s: '%%' "
                                     "operands out of range",
                                     n->pos + 1, ev->noun);
        out->d = x - y * (double)(int64_t)(x / y);
        break;
    }
    return 0;
}

static int fl_cmp_holds(int code, int c)
{
    switch (code) {
    case FC_EQ:
        return c == 0;
    case FC_NE:
        return c != 0;
    case FC_LT:
        return c < 0;
    case FC_LE:
        return c <= 0;
    case FC_GT:
        return c > 0;
    default:
        return c >= 0;
    }
}

/* Evaluates node n into *out. */
static int fl_eval(fl_eval_t *ev, const fl_node_t *n, fl_val_t *out)
{
    fl_val_t a, b, c;
    int rc, ta, tb, cmp;

    switch (n->kind) {
    case FL_LIT:
        *out = n->lit;
        return 0;
    case FL_COL:
        return fl_from_value(ev, ev->values[n->col], out);
    case FL_NEG:
        if ((rc = fl_eval(ev, n->a, &a)) != 0)
            return rc;
        memset(out, 0, sizeof *out);
        if (a.k == FV_NULL)
            out->k = FV_NULL;
        else if ((a.k == FV_INT || a.k == FV_DEC) && a.i != INT64_MIN) {
            *out = a;
            out->i = -a.i;
        } else if (a.k == FV_INT || a.k == FV_DEC || a.k == FV_DBL) {
            out->k = FV_DBL;
            out->d = -fl_double(&a);
        } else {
            char cols[160];
            return rowsync_error_set(ev->err, ROWSYNC_ECONVERT,
                                     "at column %zu of the %s: '-' needs "
                                     "a number, not %s%s",
                                     n->pos + 1, ev->noun, fl_kind_name(&a),
                                     fl_cols(ev, n->a, NULL, cols,
                                             sizeof cols));
        }
        return 0;
    case FL_NOT:
        if ((rc = fl_eval(ev, n->a, &a)) != 0 ||
            (rc = fl_truth(ev, n->a, &a, &ta)) != 0)
            return rc;
        fl_set_truth(out, ta < 0 ? -1 : !ta);
        return 0;
    case FL_AND:
    case FL_OR:
        if ((rc = fl_eval(ev, n->a, &a)) != 0 ||
            (rc = fl_truth(ev, n->a, &a, &ta)) != 0)
            return rc;
        if ((n->kind == FL_AND && ta == 0) || (n->kind == FL_OR && ta == 1)) {
            fl_set_truth(out, ta);
            return 0;
        }
        if ((rc = fl_eval(ev, n->b, &b)) != 0 ||
            (rc = fl_truth(ev, n->b, &b, &tb)) != 0)
            return rc;
        if (n->kind == FL_AND)
            fl_set_truth(out, tb == 0 ? 0 : (ta < 0 || tb < 0) ? -1 : 1);
        else
            fl_set_truth(out, tb == 1 ? 1 : (ta < 0 || tb < 0) ? -1 : 0);
        return 0;
    case FL_CMP:
        if ((rc = fl_eval(ev, n->a, &a)) != 0 ||
            (rc = fl_eval(ev, n->b, &b)) != 0)
            return rc;
        if (a.k == FV_NULL || b.k == FV_NULL) {
            fl_set_truth(out, -1);
            return 0;
        }
        if ((rc = fl_compare(ev, n, a, b, &cmp)) != 0)
            return rc;
        fl_set_truth(out, fl_cmp_holds(n->op, cmp));
        return 0;
    case FL_ISNULL:
        if ((rc = fl_eval(ev, n->a, &a)) != 0)
            return rc;
        fl_set_truth(out, (a.k == FV_NULL) != n->negated);
        return 0;
    case FL_LIKE:
        if ((rc = fl_eval(ev, n->a, &a)) != 0 ||
            (rc = fl_eval(ev, n->b, &b)) != 0)
            return rc;
        if (a.k == FV_NULL || b.k == FV_NULL) {
            fl_set_truth(out, -1);
            return 0;
        }
        if (a.k != FV_TEXT || b.k != FV_TEXT) {
            char cols[160];
            return rowsync_error_set(ev->err, ROWSYNC_ECONVERT,
                                     "at column %zu of the %s: LIKE needs "
                                     "text, not %s and %s%s",
                                     n->pos + 1, ev->noun, fl_kind_name(&a),
                                     fl_kind_name(&b),
                                     fl_cols(ev, n->a, n->b, cols,
                                             sizeof cols));
        }
        fl_set_truth(out, fl_like(a.p, a.n, b.p, b.n) != n->negated);
        return 0;
    case FL_BETWEEN:
        if ((rc = fl_eval(ev, n->a, &a)) != 0 ||
            (rc = fl_eval(ev, n->b, &b)) != 0 ||
            (rc = fl_eval(ev, n->c, &c)) != 0)
            return rc;
        /* a BETWEEN b AND c is b <= a AND a <= c, with NULL logic */
        if (a.k == FV_NULL || b.k == FV_NULL)
            ta = -1;
        else if ((rc = fl_compare(ev, n, a, b, &cmp)) != 0)
            return rc;
        else
            ta = cmp >= 0;
        if (a.k == FV_NULL || c.k == FV_NULL)
            tb = -1;
        else if ((rc = fl_compare(ev, n, a, c, &cmp)) != 0)
            return rc;
        else
            tb = cmp <= 0;
        ta = (ta == 0 || tb == 0) ? 0 : (ta < 0 || tb < 0) ? -1 : 1;
        fl_set_truth(out, ta < 0 ? -1 : n->negated ? !ta : ta);
        return 0;
    case FL_IN:
        if ((rc = fl_eval(ev, n->a, &a)) != 0)
            return rc;
        ta = 0; /* false, or -1 once a NULL was met */
        for (size_t i = 0; i < n->nlist; i++) {
            if ((rc = fl_eval(ev, n->list[i], &b)) != 0)
                return rc;
            if (a.k == FV_NULL || b.k == FV_NULL) {
                ta = -1;
                continue;
            }
            if ((rc = fl_compare(ev, n, a, b, &cmp)) != 0)
                return rc;
            if (cmp == 0) {
                ta = 1;
                break;
            }
        }
        fl_set_truth(out, ta < 0 ? -1 : n->negated ? !ta : ta);
        return 0;
    case FL_ARITH:
        if ((rc = fl_eval(ev, n->a, &a)) != 0 ||
            (rc = fl_eval(ev, n->b, &b)) != 0)
            return rc;
        return fl_arith(ev, n, a, b, out);
    }
    return rowsync_error_set(ev->err, ROWSYNC_ERROR, "bad filter node");
}

/* Evaluates f on values; see filter.h. */
int rs_filter_eval(const rs_filter_t *f, const rowsync_value_t *const *values,
                   int *result, rowsync_error_t *err)
{
    fl_eval_t ev = {f, values, err, "filter"};
    fl_val_t v;
    int rc, t;

    if ((rc = fl_eval(&ev, f->root, &v)) != 0 ||
        (rc = fl_truth(&ev, f->root, &v, &t)) != 0)
        return rc;
    *result = t;
    return 0;
}

/* Writes an exact decimal's text (-?digits[.digits], scale digits after
 * the point) into buf, which holds at least RS_FILTER_VALUE_BUF bytes;
 * returns its length. */
static size_t fl_dec_format(int64_t m, int scale, char *buf)
{
    char digits[24];
    uint64_t u = m < 0 ? (uint64_t)0 - (uint64_t)m : (uint64_t)m;
    size_t nd = 0, o = 0;

    do {
        digits[nd++] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    while (nd <= (size_t)scale)
        digits[nd++] = '0';
    if (m < 0)
        buf[o++] = '-';
    while (nd > 0) {
        if (nd == (size_t)scale)
            buf[o++] = '.';
        buf[o++] = digits[--nd];
    }
    buf[o] = '\0';
    return o;
}

/* Evaluates f to a value; see filter.h. */
int rs_filter_value(const rs_filter_t *f, const rowsync_value_t *const *values,
                    rowsync_value_t *out, char *buf, rowsync_error_t *err)
{
    fl_eval_t ev = {f, values, err, "expression"};
    fl_val_t v;
    int rc;

    /* a column alone is its value, whatever its type */
    if (f->root->kind == FL_COL) {
        *out = *values[f->root->col];
        return 0;
    }
    if ((rc = fl_eval(&ev, f->root, &v)) != 0)
        return rc;
    memset(out, 0, sizeof *out);
    switch (v.k) {
    case FV_NULL:
        out->type = ROWSYNC_TYPE_NULL;
        break;
    case FV_BOOL:
        out->type = ROWSYNC_TYPE_BOOL;
        out->u.b = v.i != 0;
        break;
    case FV_INT:
        out->type = ROWSYNC_TYPE_INT;
        out->u.i = v.i;
        break;
    case FV_DEC:
        out->type = ROWSYNC_TYPE_DECIMAL;
        out->u.bytes.len = fl_dec_format(v.i, v.scale, buf);
        out->u.bytes.ptr = buf;
        break;
    case FV_DBL:
        if (v.d != v.d || v.d - v.d != 0.0) /* NaN or infinite */
            return rowsync_error_set(err, ROWSYNC_ECONVERT,
                                     "the expression's result is not a "
                                     "finite number");
        out->type = ROWSYNC_TYPE_DOUBLE;
        out->u.d = v.d;
        break;
    case FV_TEXT:
        out->type = v.t == ROWSYNC_TYPE_BINARY || v.t == ROWSYNC_TYPE_UUID ||
                            v.t == ROWSYNC_TYPE_JSON
                        ? v.t
                        : ROWSYNC_TYPE_TEXT;
        out->u.bytes.ptr = v.p;
        out->u.bytes.len = v.n;
        break;
    case FV_TIME:
        out->type = v.t;
        if (v.t == ROWSYNC_TYPE_DATE)
            out->u.date = (int32_t)v.i;
        else
            out->u.i = v.i;
        break;
    }
    return 0;
}
