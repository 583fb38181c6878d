/* Unit tests of the subset filter language (librowsync/filter.c): parsing
 * and its error positions, precedence, SQL NULL logic, every operator, and
 * type errors, evaluated on one fixed row of canonical values. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rowsync/common.h>

#include "filter.h"

/* The row every expression is evaluated on. */
static rowsync_value_t col_value(const char *name)
{
    rowsync_value_t v;
    rowsync_error_t err;

    memset(&v, 0, sizeof v);
    if (strcmp(name, "id") == 0) {
        v.type = ROWSYNC_TYPE_INT;
        v.u.i = 7;
    } else if (strcmp(name, "name") == 0 || strcmp(name, "Full Name") == 0) {
        v.type = ROWSYNC_TYPE_TEXT;
        v.u.bytes.ptr = "Anna Ölund";
        v.u.bytes.len = strlen(v.u.bytes.ptr);
    } else if (strcmp(name, "region") == 0) {
        v.type = ROWSYNC_TYPE_TEXT;
        v.u.bytes.ptr = "EU";
        v.u.bytes.len = 2;
    } else if (strcmp(name, "active") == 0) {
        v.type = ROWSYNC_TYPE_BOOL;
        v.u.b = 1;
    } else if (strcmp(name, "flag") == 0) {
        v.type = ROWSYNC_TYPE_INT; /* MariaDB BOOLEAN is TINYINT */
        v.u.i = 0;
    } else if (strcmp(name, "score") == 0) {
        v.type = ROWSYNC_TYPE_DOUBLE;
        v.u.d = 2.5;
    } else if (strcmp(name, "price") == 0) {
        v.type = ROWSYNC_TYPE_DECIMAL;
        v.u.bytes.ptr = "9.99";
        v.u.bytes.len = 4;
    } else if (strcmp(name, "born") == 0) {
        ck_assert_int_eq(rowsync_value_parse(ROWSYNC_TYPE_DATE, "2000-02-29",
                                             10, NULL, &v, &err),
                         0);
    } else if (strcmp(name, "seen") == 0) {
        const char *t = "2024-05-01 12:30:00";
        ck_assert_int_eq(rowsync_value_parse(ROWSYNC_TYPE_TIMESTAMP, t,
                                             strlen(t), NULL, &v, &err),
                         0);
    } else {
        ck_assert_msg(strcmp(name, "note") == 0, "unknown column %s", name);
        v.type = ROWSYNC_TYPE_NULL;
    }
    return v;
}

/* Evaluates text on the fixed row; returns rc, result in *res, message in
 * err. */
static int eval_rc(const char *text, int *res, rowsync_error_t *err)
{
    rs_filter_t *f = NULL;
    rowsync_value_t vals[16];
    const rowsync_value_t *ptrs[16];
    size_t pos = 0, i;
    int rc;

    memset(err, 0, sizeof *err);
    rc = rs_filter_parse(&f, text, &pos, err);
    ck_assert_msg(rc == 0, "parse '%s': %s (at %zu)", text, err->message, pos);
    ck_assert_uint_le(rs_filter_ncolumns(f), 16);
    for (i = 0; i < rs_filter_ncolumns(f); i++) {
        vals[i] = col_value(rs_filter_column(f, i));
        ptrs[i] = &vals[i];
    }
    rc = rs_filter_eval(f, ptrs, res, err);
    rs_filter_free(f);
    return rc;
}

static int eval(const char *text)
{
    rowsync_error_t err;
    int res = 99;
    int rc = eval_rc(text, &res, &err);

    ck_assert_msg(rc == 0, "eval '%s': %s", text, err.message);
    return res;
}

#define T(expr) ck_assert_msg(eval(expr) == 1, "expected true: %s", expr)
#define F(expr) ck_assert_msg(eval(expr) == 0, "expected false: %s", expr)
#define U(expr) ck_assert_msg(eval(expr) == -1, "expected unknown: %s", expr)

/* Asserts that text fails to parse at byte offset at, with a message
 * containing what. */
static void parse_bad(const char *text, size_t at, const char *what)
{
    rs_filter_t *f = NULL;
    rowsync_error_t err;
    size_t pos = 12345;
    int rc;

    memset(&err, 0, sizeof err);
    rc = rs_filter_parse(&f, text, &pos, &err);
    ck_assert_msg(rc == ROWSYNC_EINVAL, "'%s' parsed", text);
    ck_assert_ptr_null(f);
    ck_assert_msg(pos == at, "'%s': error at %zu, expected %zu (%s)", text, pos,
                  at, err.message);
    ck_assert_msg(strstr(err.message, what) != NULL, "'%s': message '%s'", text,
                  err.message);
}

/* Asserts that text parses but fails to evaluate with ECONVERT and a
 * message containing what. */
static void eval_bad(const char *text, const char *what)
{
    rowsync_error_t err;
    int res;
    int rc = eval_rc(text, &res, &err);

    ck_assert_msg(rc == ROWSYNC_ECONVERT, "'%s' evaluated (rc %d)", text, rc);
    ck_assert_msg(strstr(err.message, what) != NULL, "'%s': message '%s'", text,
                  err.message);
}

START_TEST(comparisons)
{
    T("region = 'EU'");
    F("region = 'eu'");
    T("region <> 'US'");
    T("region != 'US'");
    T("id > 6 AND id >= 7 AND id < 8 AND id <= 7");
    F("id < 7");
    T("score = 2.5 AND price = 9.99 AND price > 9");
    T("'EU' = region");
    T("name > 'Anna'");
}
END_TEST

START_TEST(columns_listed_once)
{
    rs_filter_t *f = NULL;
    rowsync_error_t err;

    ck_assert_int_eq(rs_filter_parse(&f,
                                     "id = 1 OR \"Full Name\" = 'x' OR id = 2",
                                     NULL, &err),
                     0);
    ck_assert_uint_eq(rs_filter_ncolumns(f), 2);
    ck_assert_str_eq(rs_filter_column(f, 0), "id");
    ck_assert_str_eq(rs_filter_column(f, 1), "Full Name");
    ck_assert_str_eq(rs_filter_text(f),
                     "id = 1 OR \"Full Name\" = 'x' OR id = 2");
    rs_filter_free(f);
    T("\"Full Name\" LIKE 'Anna%'");
}
END_TEST

START_TEST(precedence)
{
    /* AND binds tighter than OR */
    T("id = 1 AND id = 2 OR id = 7");
    F("id = 1 AND (id = 2 OR id = 7)");
    /* NOT binds tighter than AND */
    F("NOT id = 7 AND id = 7");
    T("NOT (id = 7 AND id = 8)");
    /* * before +, unary minus, left to right */
    T("id + 2 * 3 = 13");
    T("(id + 2) * 3 = 27");
    T("10 - 3 - 2 = 5");
    T("-id = -7 AND - -id = 7");
    T("id % 4 = 3 AND id / 2 = 3");
    T("id / 2.0 = 3.5");
    T("7.5 % 2 = 1.5 AND -7 % 2 = -1");
    T("note is null or FALSE"); /* keywords in any case */
    T("id = 7 and region = 'EU' or false");
}
END_TEST

START_TEST(null_logic)
{
    U("note = 1");
    U("note <> 1");
    U("NOT note = 1");
    F("note = 1 AND id = 8");
    U("note = 1 AND id = 7");
    T("note = 1 OR id = 7");
    U("note = 1 OR id = 8");
    T("note IS NULL");
    F("note IS NOT NULL");
    T("id IS NOT NULL");
    U("NULL = NULL");
    U("note + 1 > 0");
    U("note LIKE 'a%'");
    U("note BETWEEN 1 AND 2");
    F("id BETWEEN 8 AND note");
    U("id BETWEEN 1 AND note");
    U("id IN (1, NULL)");
    T("id IN (NULL, 7)");
    U("id NOT IN (1, NULL)");
}
END_TEST

START_TEST(in_like_between)
{
    T("region IN ('EU', 'UK')");
    F("region IN ('US')");
    T("region NOT IN ('US', 'CA')");
    T("id IN (1, 3 + 4)");
    T("name LIKE 'Anna%'");
    T("name LIKE '%lund'");
    T("name LIKE 'Anna _lund'"); /* _ is one character, Ö is two bytes */
    F("name LIKE 'anna%'");
    T("name NOT LIKE 'B%'");
    T("region LIKE 'E_'");
    F("region LIKE 'E'");
    T("region LIKE '%%'");
    T("id BETWEEN 7 AND 9");
    F("id BETWEEN 8 AND 9");
    T("id NOT BETWEEN 8 AND 9");
    T("price BETWEEN 9 AND 10 AND score BETWEEN 2 AND 3");
}
END_TEST

START_TEST(booleans)
{
    T("active");
    F("NOT active");
    T("active = TRUE");
    F("flag");
    T("NOT flag");
    T("flag = FALSE");
    T("active = 1");
    T("region = 'EU' AND active");
    F("region = 'EU' AND flag");
}
END_TEST

START_TEST(dates)
{
    T("born = DATE '2000-02-29'");
    T("born = '2000-02-29'");
    T("born < '2000-03-01' AND born > '1999-12-31'");
    T("seen > TIMESTAMP '2024-05-01 12:00:00'");
    T("seen > '2024-05-01'");
    T("seen > born");
    T("seen BETWEEN DATE '2024-05-01' AND DATE '2024-05-02'");
}
END_TEST

START_TEST(strings)
{
    T("'it''s' = 'it''s'");
    T("'' = ''");
    F("'a' = 'b'");
    T("'b' > 'a'");
}
END_TEST

START_TEST(type_errors)
{
    eval_bad("region = 1", "cannot compare text with number");
    eval_bad("region + 1 = 2", "'+' needs numbers");
    eval_bad("id LIKE '7'", "LIKE needs text");
    eval_bad("region", "text is not a condition");
    eval_bad("id / 0 = 1", "division by zero");
    eval_bad("id % 0 = 1", "division by zero");
    eval_bad("born = 'yesterday'", "'yesterday' is not a date");
    eval_bad("born = 5", "cannot compare date with number");
    eval_bad("-region = 1", "'-' needs a number");
}
END_TEST

/* Evaluates text to a value on the fixed row; the value's text form (or
 * "NULL") goes to out, its type to *type. */
static void value_of(const char *text, rowsync_type_t *type, char *out,
                     size_t len)
{
    rs_filter_t *f = NULL;
    rowsync_value_t vals[16], v;
    const rowsync_value_t *ptrs[16];
    char buf[RS_FILTER_VALUE_BUF];
    rowsync_error_t err;
    size_t pos = 0, i;
    int rc;

    memset(&err, 0, sizeof err);
    rc = rs_filter_parse(&f, text, &pos, &err);
    ck_assert_msg(rc == 0, "parse '%s': %s", text, err.message);
    for (i = 0; i < rs_filter_ncolumns(f); i++) {
        vals[i] = col_value(rs_filter_column(f, i));
        ptrs[i] = &vals[i];
    }
    rc = rs_filter_value(f, ptrs, &v, buf, &err);
    ck_assert_msg(rc == 0, "value of '%s': %s", text, err.message);
    *type = v.type;
    if (v.type == ROWSYNC_TYPE_NULL)
        snprintf(out, len, "NULL");
    else
        rowsync_value_format(&v, out, len);
    rs_filter_free(f);
}

#define V(expr, wtype, wtext)                                                  \
    do {                                                                       \
        rowsync_type_t t_;                                                     \
        char s_[128];                                                          \
        value_of(expr, &t_, s_, sizeof s_);                                    \
        ck_assert_msg(t_ == (wtype) && strcmp(s_, wtext) == 0,                 \
                      "%s: expected %s %s, got %s %s", expr,                   \
                      rowsync_type_name(wtype), wtext, rowsync_type_name(t_),  \
                      s_);                                                     \
    } while (0)

START_TEST(values)
{
    V("id * 2 + 1", ROWSYNC_TYPE_INT, "15");
    V("7 / 2", ROWSYNC_TYPE_INT, "3");
    V("-id", ROWSYNC_TYPE_INT, "-7");
    V("price * id", ROWSYNC_TYPE_DECIMAL, "69.93");
    V("price + 0.01", ROWSYNC_TYPE_DECIMAL, "10.00");
    V("price - 10", ROWSYNC_TYPE_DECIMAL, "-0.01");
    V("-price", ROWSYNC_TYPE_DECIMAL, "-9.99");
    V("0.1 + 0.2", ROWSYNC_TYPE_DECIMAL, "0.3");
    V("score * 2", ROWSYNC_TYPE_DOUBLE, "5");
    V("price / 3", ROWSYNC_TYPE_DOUBLE, "3.33");
    V("'it''s'", ROWSYNC_TYPE_TEXT, "it's");
    V("region", ROWSYNC_TYPE_TEXT, "EU");
    V("price", ROWSYNC_TYPE_DECIMAL, "9.99");
    V("born", ROWSYNC_TYPE_DATE, "2000-02-29");
    V("DATE '2024-01-31'", ROWSYNC_TYPE_DATE, "2024-01-31");
    V("TRUE", ROWSYNC_TYPE_BOOL, "true");
    V("id > 5 AND region = 'EU'", ROWSYNC_TYPE_BOOL, "true");
    V("NULL", ROWSYNC_TYPE_NULL, "NULL");
    V("note", ROWSYNC_TYPE_NULL, "NULL");
    V("id + note", ROWSYNC_TYPE_NULL, "NULL");
    V("note * 2 - 1", ROWSYNC_TYPE_NULL, "NULL");
    V("note = 1", ROWSYNC_TYPE_NULL, "NULL");
    V("note IS NULL", ROWSYNC_TYPE_BOOL, "true");
    V("price * 1000000000 * 1000000000", ROWSYNC_TYPE_DOUBLE, "9.99e+18");
}
END_TEST

START_TEST(decimals_compare_exactly)
{
    T("price = 9.99");
    T("price * 3 = 29.97");
    T("0.1 + 0.2 = 0.3");
    T("price > 9.989999999999999");
    T("price BETWEEN 9 AND 10");
    F("price <> 9.990");
}
END_TEST

START_TEST(value_type_error_names_columns)
{
    rs_filter_t *f = NULL;
    rowsync_value_t vals[2], v;
    const rowsync_value_t *ptrs[2];
    char buf[RS_FILTER_VALUE_BUF];
    rowsync_error_t err;
    size_t pos;

    ck_assert_int_eq(rs_filter_parse(&f, "id * region", &pos, &err), 0);
    vals[0] = col_value("id");
    vals[1] = col_value("region");
    ptrs[0] = &vals[0];
    ptrs[1] = &vals[1];
    ck_assert_int_eq(rs_filter_value(f, ptrs, &v, buf, &err),
                     ROWSYNC_ECONVERT);
    ck_assert_msg(strstr(err.message, "at column 4 of the expression: '*' "
                                      "needs numbers, not number and text "
                                      "(columns 'id', 'region')") != NULL,
                  "%s", err.message);
    /* the same tree as a filter keeps saying "filter" */
    int res;
    ck_assert_int_eq(rs_filter_eval(f, ptrs, &res, &err), ROWSYNC_ECONVERT);
    ck_assert_msg(strstr(err.message, "of the filter") != NULL, "%s",
                  err.message);
    rs_filter_free(f);
}
END_TEST

START_TEST(parse_errors)
{
    parse_bad("", 0, "empty expression");
    parse_bad("   ", 3, "empty expression");
    parse_bad("region = 'EU", 9, "unterminated string");
    parse_bad("region = ", 9, "ends where a value was expected");
    parse_bad("region = 'EU' AND", 17, "ends where a value was expected");
    parse_bad("(id = 1", 0, "'(' is never closed");
    parse_bad("id = 1)", 6, "unmatched ')'");
    parse_bad("id = 1 id", 7, "unexpected 'id'");
    parse_bad("id IS 5", 6, "expected NULL after IS");
    parse_bad("id IN 1", 6, "expected '(' after IN");
    parse_bad("id IN (1, 2", 11, "expected ',' or ')'");
    parse_bad("id BETWEEN 1 OR 2", 13, "expected AND in BETWEEN");
    parse_bad("id NOT 5", 7, "expected IN, LIKE or BETWEEN");
    parse_bad("id = #", 5, "unexpected character '#'");
    parse_bad("id = AND", 5, "found 'AND'");
    parse_bad("born = DATE '2000-02-30'", 12, "invalid date");
    parse_bad("\"unterminated = 1", 0, "unterminated quoted column name");
}
END_TEST

START_TEST(deep_nesting_rejected)
{
    char text[2000];
    size_t i;

    for (i = 0; i < 600; i++)
        text[i] = '(';
    strcpy(text + 600, "1");
    parse_bad(text, 200, "nests too deeply");
    for (i = 0; i < 300; i++)
        memcpy(text + 4 * i, "NOT ", 4);
    strcpy(text + 1200, "TRUE");
    parse_bad(text, 4 * 199, "nests too deeply");
}
END_TEST

/* Regression (fuzz): a flat chain of 200000 ORs used to parse into a tree
 * as deep as the chain, and evaluating it overflowed the stack. Such an
 * expression is now refused as too long; a chain of 200 still works. */
START_TEST(long_chain_rejected)
{
    const char *term = "a = 1 OR ";
    size_t tlen = strlen(term), n, i;
    char *text = malloc(200000 * tlen + 8);
    rs_filter_t *f = NULL;
    rowsync_error_t err;
    size_t pos = 0;

    ck_assert_ptr_nonnull(text);
    for (n = 0; n < 2; n++) {
        size_t count = n == 0 ? 200000 : 200;

        for (i = 0; i < count; i++)
            memcpy(text + i * tlen, term, tlen);
        strcpy(text + count * tlen, "a = 2");
        memset(&err, 0, sizeof err);
        if (n == 0) {
            ck_assert_int_eq(rs_filter_parse(&f, text, &pos, &err),
                             ROWSYNC_EINVAL);
            ck_assert_ptr_null(f);
            ck_assert_msg(strstr(err.message, "too long") != NULL,
                          "message '%s'", err.message);
            ck_assert_uint_lt(pos, strlen(text));
        } else {
            ck_assert_int_eq(rs_filter_parse(&f, text, &pos, &err), 0);
            rs_filter_free(f);
        }
    }
    free(text);
}
END_TEST

static Suite *filter_suite(void)
{
    Suite *s = suite_create("filter");
    TCase *tc;

    tc = tcase_create("comparisons");
    tcase_add_test(tc, comparisons);
    tcase_add_test(tc, columns_listed_once);
    suite_add_tcase(s, tc);
    tc = tcase_create("precedence");
    tcase_add_test(tc, precedence);
    suite_add_tcase(s, tc);
    tc = tcase_create("null_logic");
    tcase_add_test(tc, null_logic);
    suite_add_tcase(s, tc);
    tc = tcase_create("in_like_between");
    tcase_add_test(tc, in_like_between);
    suite_add_tcase(s, tc);
    tc = tcase_create("booleans");
    tcase_add_test(tc, booleans);
    suite_add_tcase(s, tc);
    tc = tcase_create("dates");
    tcase_add_test(tc, dates);
    suite_add_tcase(s, tc);
    tc = tcase_create("strings");
    tcase_add_test(tc, strings);
    suite_add_tcase(s, tc);
    tc = tcase_create("type_errors");
    tcase_add_test(tc, type_errors);
    suite_add_tcase(s, tc);
    tc = tcase_create("values");
    tcase_add_test(tc, values);
    tcase_add_test(tc, decimals_compare_exactly);
    tcase_add_test(tc, value_type_error_names_columns);
    suite_add_tcase(s, tc);

    tc = tcase_create("parse_errors");
    tcase_add_test(tc, parse_errors);
    tcase_add_test(tc, deep_nesting_rejected);
    tcase_add_test(tc, long_chain_rejected);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(filter_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
