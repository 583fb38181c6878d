/* Tests of the shipped transform plugins (plugins/mask, map, set): each is
 * loaded as a real module through rs_plugin_load, instantiated with its
 * options and run on rows built with rs_row_new.
 *
 * The modules are found next to the fixtures: $ROWSYNC_FIXTURE_DIR is
 * <build>/tests/fixtures, so the plugins are in <build>/plugins/<name>.
 * loader.c, row.c and the helpers are linked in directly (as in
 * check_loader), so the context is built by hand.
 */
#include <config.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loader.h"
#include "row.h"

#define ASSERT_HAS(text, want)                                                 \
    ck_assert_msg(strstr((text), (want)) != NULL, "expected \"%s\" in \"%s\"", \
                  (want), (text))

/* ---- helpers ---------------------------------------------------------- */

static rowsync_ctx_t *pt_ctx;

/* A context whose module path lists the build's plugin folders. */
static void pt_setup(void)
{
    const char *fx = getenv("ROWSYNC_FIXTURE_DIR");

    ck_assert_msg(fx != NULL && fx[0] != '\0',
                  "ROWSYNC_FIXTURE_DIR is not set (run through make check)");
    pt_ctx = calloc(1, sizeof(*pt_ctx));
    ck_assert_ptr_nonnull(pt_ctx);
    pt_ctx->module_path =
        rs_sprintf("%s/../../plugins/mask:%s/../../plugins/map:"
                   "%s/../../plugins/set",
                   fx, fx, fx);
    ck_assert_ptr_nonnull(pt_ctx->module_path);
}

static void pt_teardown(void)
{
    rs_modules_unload(pt_ctx);
    free(pt_ctx->module_path);
    free(pt_ctx);
    pt_ctx = NULL;
}

/* Loads plugin name and creates an instance from nopts key/value pairs
 * (kv: key0, value0, key1, value1, ...). Returns the create call's result;
 * on success *inst and *p are set. */
static int pt_create(const char *name, const rowsync_plugin_t **p,
                     rowsync_plugin_instance_t **inst, size_t nopts,
                     const char *const *kv, rowsync_error_t *err)
{
    rowsync_option_t opts[8];
    size_t i;

    ck_assert_uint_le(nopts, 8);
    ck_assert_int_eq(rs_plugin_load(pt_ctx, name, p, err), 0);
    for (i = 0; i < nopts; i++) {
        opts[i].key = kv[2 * i];
        opts[i].value = kv[2 * i + 1];
    }
    return (*p)->create(inst, nopts, opts, err);
}

static rowsync_value_t pt_text(const char *s)
{
    rowsync_value_t v;

    memset(&v, 0, sizeof(v));
    v.type = ROWSYNC_TYPE_TEXT;
    v.u.bytes.ptr = s;
    v.u.bytes.len = strlen(s);
    return v;
}

/* A row of table people: id (key, INT 7), email (TEXT), status (TEXT or
 * NULL when status is NULL), qty (INT 12345678). */
static rowsync_row_t *pt_row(int op, const char *email, const char *status)
{
    static const char *const cols[] = {"id", "email", "status", "qty"};
    rowsync_value_t vals[4];
    rowsync_row_t *row = NULL;
    rowsync_error_t err;

    memset(vals, 0, sizeof(vals));
    vals[0].type = ROWSYNC_TYPE_INT;
    vals[0].u.i = 7;
    vals[1] = pt_text(email);
    if (status != NULL)
        vals[2] = pt_text(status);
    else
        vals[2].type = ROWSYNC_TYPE_NULL;
    vals[3].type = ROWSYNC_TYPE_INT;
    vals[3].u.i = 12345678;
    ck_assert_int_eq(
        rs_row_new(&row, op, "people", "a", "b", 4, cols, vals, 1, &err), 0);
    return row;
}

static void pt_assert_text(const rowsync_row_t *row, const char *column,
                           const char *want)
{
    const rowsync_value_t *v = rowsync_row_get(row, column);

    ck_assert_ptr_nonnull(v);
    ck_assert_int_eq(v->type, ROWSYNC_TYPE_TEXT);
    ck_assert_msg(v->u.bytes.len == strlen(want) &&
                      memcmp(v->u.bytes.ptr, want, strlen(want)) == 0,
                  "column %s: expected '%s', got '%.*s'", column, want,
                  (int)v->u.bytes.len, v->u.bytes.ptr);
}

/* The sha256 mask of text, through the plugin. */
static void pt_assert_sha256(const char *text, const char *hex)
{
    static const char *const kv[] = {"columns", "email", "method", "sha256"};
    const rowsync_plugin_t *p = NULL;
    rowsync_plugin_instance_t *inst = NULL;
    rowsync_row_t *row = pt_row(1, text, NULL);
    rowsync_error_t err;

    ck_assert_int_eq(pt_create("mask", &p, &inst, 2, kv, &err), 0);
    ck_assert_int_eq(p->transform(inst, row, &err), 0);
    pt_assert_text(row, "email", hex);
    rs_row_free(row);
    p->destroy(inst);
}

/* ---- mask ------------------------------------------------------------- */

START_TEST(test_mask_sha256_standard_vectors)
{
    char *million = malloc(1000001);

    pt_assert_sha256("", "e3b0c44298fc1c149afbf4c8996fb924"
                         "27ae41e4649b934ca495991b7852b855");
    pt_assert_sha256("abc", "ba7816bf8f01cfea414140de5dae2223"
                            "b00361a396177a9cb410ff61f20015ad");
    /* 56 bytes: the padding needs a second block. */
    pt_assert_sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
                     "248d6a61d20638b8e5c026930c3e6039"
                     "a33ce45964ff2167f6ecedd419db06c1");
    ck_assert_ptr_nonnull(million);
    memset(million, 'a', 1000000);
    million[1000000] = '\0';
    pt_assert_sha256(million, "cdc76e5c9914fb9281a1c7e284d73e67"
                              "f1809a48a497200e046d39ccc7112cd0");
    free(million);
}
END_TEST

START_TEST(test_mask_sha256_of_number_hashes_its_text)
{
    static const char *const kv[] = {"columns", " email , qty ", "method",
                                     "sha256"};
    const rowsync_plugin_t *p = NULL;
    rowsync_plugin_instance_t *inst = NULL;
    rowsync_row_t *row = pt_row(2, "abc", NULL);
    rowsync_error_t err;

    ck_assert_int_eq(pt_create("mask", &p, &inst, 2, kv, &err), 0);
    ck_assert_int_eq(p->transform(inst, row, &err), 0);
    /* sha256("12345678") */
    pt_assert_text(row, "qty",
                   "ef797c8118f02dfb649607dd5d3f8c76"
                   "23048c9c063d532cc95c5ed7a898a64f");
    pt_assert_text(row, "email",
                   "ba7816bf8f01cfea414140de5dae2223"
                   "b00361a396177a9cb410ff61f20015ad");
    rs_row_free(row);
    p->destroy(inst);
}
END_TEST

START_TEST(test_mask_redact_and_null_stays_null)
{
    static const char *const kv[] = {"columns", "email,status", "method",
                                     "redact"};
    const rowsync_plugin_t *p = NULL;
    rowsync_plugin_instance_t *inst = NULL;
    rowsync_row_t *row = pt_row(1, "ann@example.org", NULL);
    rowsync_error_t err;

    ck_assert_int_eq(pt_create("mask", &p, &inst, 2, kv, &err), 0);
    ck_assert_int_eq(p->transform(inst, row, &err), 0);
    pt_assert_text(row, "email", "***");
    ck_assert_int_eq(rowsync_row_get(row, "status")->type, ROWSYNC_TYPE_NULL);
    rs_row_free(row);
    p->destroy(inst);
}
END_TEST

START_TEST(test_mask_keep_last_counts_characters)
{
    static const char *const kv[] = {"columns", "email, status", "method",
                                     "keep_last:4"};
    const rowsync_plugin_t *p = NULL;
    rowsync_plugin_instance_t *inst = NULL;
    /* "Müller-1234": ü is two bytes but one character. */
    rowsync_row_t *row = pt_row(1, "M\xc3\xbcller-1234", "ab");
    rowsync_error_t err;

    ck_assert_int_eq(pt_create("mask", &p, &inst, 2, kv, &err), 0);
    ck_assert_int_eq(p->transform(inst, row, &err), 0);
    pt_assert_text(row, "email", "*******1234");
    pt_assert_text(row, "status", "ab");
    rs_row_free(row);
    row = pt_row(1, "x\xc3\xa9t\xc3\xa9", NULL);
    ck_assert_int_eq(p->transform(inst, row, &err), 0);
    pt_assert_text(row, "email", "x\xc3\xa9t\xc3\xa9");
    rs_row_free(row);
    p->destroy(inst);
}
END_TEST

START_TEST(test_mask_key_column_fails_change)
{
    static const char *const kv[] = {"columns", "id", "method", "redact"};
    const rowsync_plugin_t *p = NULL;
    rowsync_plugin_instance_t *inst = NULL;
    rowsync_row_t *row = pt_row(1, "x", NULL);
    rowsync_error_t err;

    ck_assert_int_eq(pt_create("mask", &p, &inst, 2, kv, &err), 0);
    ck_assert_int_eq(p->transform(inst, row, &err), ROWSYNC_EINVAL);
    ASSERT_HAS(err.message, "plugin mask: cannot set column 'id' of table "
                            "'people': it is part of the key");
    rs_row_free(row);
    p->destroy(inst);
}
END_TEST

START_TEST(test_mask_option_errors)
{
    static const char *const unknown[] = {"columns", "a",      "method",
                                          "redact",  "colour", "red"};
    static const char *const badmethod[] = {"columns", "a", "method",
                                            "keep_last:0"};
    static const char *const nomethod[] = {"columns", "a"};
    static const char *const emptycol[] = {"columns", "a,,b", "method",
                                           "redact"};
    const rowsync_plugin_t *p = NULL;
    rowsync_plugin_instance_t *inst = NULL;
    rowsync_error_t err;

    ck_assert_int_eq(pt_create("mask", &p, &inst, 3, unknown, &err),
                     ROWSYNC_EINVAL);
    ASSERT_HAS(err.message, "plugin mask: unknown option 'colour'");
    ck_assert_int_eq(pt_create("mask", &p, &inst, 2, badmethod, &err),
                     ROWSYNC_EINVAL);
    ASSERT_HAS(err.message, "option 'method' is 'keep_last:0'");
    ck_assert_int_eq(pt_create("mask", &p, &inst, 1, nomethod, &err),
                     ROWSYNC_EINVAL);
    ASSERT_HAS(err.message, "option 'method' is required");
    ck_assert_int_eq(pt_create("mask", &p, &inst, 2, emptycol, &err),
                     ROWSYNC_EINVAL);
    ASSERT_HAS(err.message, "empty column name");
    ck_assert_ptr_null(inst);
    ck_assert_str_eq(p->options[0], "columns");
    ck_assert_str_eq(p->options[1], "method");
    ck_assert_ptr_null(p->options[2]);
}
END_TEST

/* ---- map -------------------------------------------------------------- */

START_TEST(test_map_inline_values)
{
    static const char *const kv[] = {"column", "status", "values",
                                     "'N':'new', 'P' : 'paid', X:'o''k'"};
    const rowsync_plugin_t *p = NULL;
    rowsync_plugin_instance_t *inst = NULL;
    rowsync_row_t *row = pt_row(1, "e", "P");
    rowsync_error_t err;

    ck_assert_int_eq(pt_create("map", &p, &inst, 2, kv, &err), 0);
    ck_assert_int_eq(p->transform(inst, row, &err), 0);
    pt_assert_text(row, "status", "paid");
    rs_row_free(row);
    row = pt_row(1, "e", "X");
    ck_assert_int_eq(p->transform(inst, row, &err), 0);
    pt_assert_text(row, "status", "o'k");
    rs_row_free(row);
    /* unmatched defaults to keep; NULL is never looked up */
    row = pt_row(1, "e", "Q");
    ck_assert_int_eq(p->transform(inst, row, &err), 0);
    pt_assert_text(row, "status", "Q");
    rs_row_free(row);
    row = pt_row(1, "e", NULL);
    ck_assert_int_eq(p->transform(inst, row, &err), 0);
    ck_assert_int_eq(rowsync_row_get(row, "status")->type, ROWSYNC_TYPE_NULL);
    rs_row_free(row);
    p->destroy(inst);
}
END_TEST

START_TEST(test_map_csv_file_and_number_lookup)
{
    char path[] = "/tmp/rowsync-map-XXXXXX";
    int fd = mkstemp(path);
    FILE *f;
    const char *kv[] = {"column", "qty", "file", path};
    const rowsync_plugin_t *p = NULL;
    rowsync_plugin_instance_t *inst = NULL;
    rowsync_row_t *row = pt_row(1, "e", "N");
    rowsync_error_t err;

    ck_assert_int_ne(fd, -1);
    f = fdopen(fd, "w");
    ck_assert_ptr_nonnull(f);
    fputs("N,new\r\n\n12345678,\"twelve, \"\"million\"\"\"\n", f);
    fclose(f);
    ck_assert_int_eq(pt_create("map", &p, &inst, 2, kv, &err), 0);
    ck_assert_int_eq(p->transform(inst, row, &err), 0);
    pt_assert_text(row, "qty", "twelve, \"million\"");
    pt_assert_text(row, "status", "N");
    rs_row_free(row);
    p->destroy(inst);
    unlink(path);
}
END_TEST

START_TEST(test_map_unmatched_null_and_error)
{
    static const char *const tonull[] = {"column", "status",    "values",
                                         "A:b",    "unmatched", "null"};
    static const char *const toerr[] = {"column", "status",    "values",
                                        "A:b",    "unmatched", "error"};
    const rowsync_plugin_t *p = NULL;
    rowsync_plugin_instance_t *inst = NULL;
    rowsync_row_t *row = pt_row(1, "e", "Z");
    rowsync_error_t err;

    ck_assert_int_eq(pt_create("map", &p, &inst, 3, tonull, &err), 0);
    ck_assert_int_eq(p->transform(inst, row, &err), 0);
    ck_assert_int_eq(rowsync_row_get(row, "status")->type, ROWSYNC_TYPE_NULL);
    rs_row_free(row);
    p->destroy(inst);

    row = pt_row(1, "e", "Z");
    ck_assert_int_eq(pt_create("map", &p, &inst, 3, toerr, &err), 0);
    ck_assert_int_eq(p->transform(inst, row, &err), ROWSYNC_ECONVERT);
    ASSERT_HAS(err.message, "plugin map: column 'status' of table 'people': "
                            "no mapping for value 'Z'");
    pt_assert_text(row, "status", "Z");
    rs_row_free(row);
    p->destroy(inst);
}
END_TEST

START_TEST(test_map_option_errors)
{
    static const char *const both[] = {"column", "s",    "values",
                                       "a:b",    "file", "x.csv"};
    static const char *const syntax[] = {"column", "s", "values",
                                         "'a':'b' 'c'"};
    static const char *const unterminated[] = {"column", "s", "values", "'a:b"};
    static const char *const badmode[] = {"column", "s",         "values",
                                          "a:b",    "unmatched", "drop"};
    static const char *const nofile[] = {"column", "s", "file",
                                         "/nonexistent/codes.csv"};
    const rowsync_plugin_t *p = NULL;
    rowsync_plugin_instance_t *inst = NULL;
    rowsync_error_t err;

    ck_assert_int_eq(pt_create("map", &p, &inst, 3, both, &err),
                     ROWSYNC_EINVAL);
    ASSERT_HAS(err.message, "exactly one of the options 'values' and 'file'");
    ck_assert_int_eq(pt_create("map", &p, &inst, 2, syntax, &err),
                     ROWSYNC_EINVAL);
    ASSERT_HAS(err.message, "expected ',' between pairs");
    ck_assert_int_eq(pt_create("map", &p, &inst, 2, unterminated, &err),
                     ROWSYNC_EINVAL);
    ASSERT_HAS(err.message, "expected 'from':'to' pairs");
    ck_assert_int_eq(pt_create("map", &p, &inst, 3, badmode, &err),
                     ROWSYNC_EINVAL);
    ASSERT_HAS(err.message, "option 'unmatched' is 'drop'");
    ck_assert_int_eq(pt_create("map", &p, &inst, 2, nofile, &err),
                     ROWSYNC_EINVAL);
    ASSERT_HAS(err.message, "cannot open file '/nonexistent/codes.csv'");
    ck_assert_ptr_null(inst);
}
END_TEST

/* ---- set -------------------------------------------------------------- */

START_TEST(test_set_text_constant_adds_column)
{
    static const char *const kv[] = {"column", "updated_by", "value",
                                     "'row''sync'"};
    const rowsync_plugin_t *p = NULL;
    rowsync_plugin_instance_t *inst = NULL;
    rowsync_row_t *row = pt_row(1, "e", "N");
    rowsync_error_t err;

    ck_assert_int_eq(pt_create("set", &p, &inst, 2, kv, &err), 0);
    ck_assert_int_eq(p->transform(inst, row, &err), 0);
    pt_assert_text(row, "updated_by", "row'sync");
    ck_assert_uint_eq(rowsync_row_count(row), 5);
    rs_row_free(row);
    p->destroy(inst);
}
END_TEST

START_TEST(test_set_number_bool_null_constants)
{
    static const char *const num[] = {"column", "qty", "value", " -42 "};
    static const char *const dec[] = {"column", "qty", "value", "2.50"};
    static const char *const yes[] = {"column", "status", "value", "TRUE"};
    static const char *const nul[] = {"column", "email", "value", "null"};
    const rowsync_plugin_t *p = NULL;
    rowsync_plugin_instance_t *inst = NULL;
    rowsync_row_t *row = pt_row(2, "e", "N");
    const rowsync_value_t *v;
    rowsync_error_t err;

    ck_assert_int_eq(pt_create("set", &p, &inst, 2, num, &err), 0);
    ck_assert_int_eq(p->transform(inst, row, &err), 0);
    p->destroy(inst);
    v = rowsync_row_get(row, "qty");
    ck_assert_int_eq(v->type, ROWSYNC_TYPE_INT);
    ck_assert_int_eq(v->u.i, -42);
    ck_assert_int_eq(pt_create("set", &p, &inst, 2, dec, &err), 0);
    ck_assert_int_eq(p->transform(inst, row, &err), 0);
    p->destroy(inst);
    v = rowsync_row_get(row, "qty");
    ck_assert_int_eq(v->type, ROWSYNC_TYPE_DECIMAL);
    ck_assert_uint_eq(v->u.bytes.len, 4);
    ck_assert_int_eq(memcmp(v->u.bytes.ptr, "2.50", 4), 0);
    ck_assert_int_eq(pt_create("set", &p, &inst, 2, yes, &err), 0);
    ck_assert_int_eq(p->transform(inst, row, &err), 0);
    p->destroy(inst);
    v = rowsync_row_get(row, "status");
    ck_assert_int_eq(v->type, ROWSYNC_TYPE_BOOL);
    ck_assert_int_eq(v->u.b, 1);
    ck_assert_int_eq(pt_create("set", &p, &inst, 2, nul, &err), 0);
    ck_assert_int_eq(p->transform(inst, row, &err), 0);
    p->destroy(inst);
    ck_assert_int_eq(rowsync_row_get(row, "email")->type, ROWSYNC_TYPE_NULL);
    rs_row_free(row);
}
END_TEST

START_TEST(test_set_leaves_deletes_alone)
{
    static const char *const kv[] = {"column", "status", "value", "'x'"};
    const rowsync_plugin_t *p = NULL;
    rowsync_plugin_instance_t *inst = NULL;
    rowsync_row_t *row = pt_row(3, "e", "N");
    rowsync_error_t err;

    ck_assert_int_eq(pt_create("set", &p, &inst, 2, kv, &err), 0);
    ck_assert_int_eq(p->transform(inst, row, &err), 0);
    pt_assert_text(row, "status", "N");
    rs_row_free(row);
    p->destroy(inst);
}
END_TEST

START_TEST(test_set_rejects_bad_expressions_and_key)
{
    static const char *const expr[] = {"column", "qty", "value", "qty * * 2"};
    static const char *const key[] = {"column", "id", "value", "1"};
    static const char *const novalue[] = {"column", "qty"};
    const rowsync_plugin_t *p = NULL;
    rowsync_plugin_instance_t *inst = NULL;
    rowsync_row_t *row = pt_row(1, "e", "N");
    rowsync_error_t err;

    ck_assert_int_eq(pt_create("set", &p, &inst, 2, expr, &err),
                     ROWSYNC_EINVAL);
    ASSERT_HAS(err.message, "plugin set: option 'value' (qty * * 2)");
    ASSERT_HAS(err.message, "at column 7");
    ck_assert_ptr_null(inst);
    ck_assert_int_eq(pt_create("set", &p, &inst, 1, novalue, &err),
                     ROWSYNC_EINVAL);
    ASSERT_HAS(err.message, "option 'value' is required");
    ck_assert_ptr_null(inst);
    ck_assert_int_eq(pt_create("set", &p, &inst, 2, key, &err), 0);
    ck_assert_int_eq(p->transform(inst, row, &err), ROWSYNC_EINVAL);
    ASSERT_HAS(err.message, "it is part of the key");
    rs_row_free(row);
    p->destroy(inst);
}
END_TEST

/* Runs set (column = value) once on row and returns the column's value. */
static const rowsync_value_t *pt_set(rowsync_row_t *row, const char *column,
                                     const char *value)
{
    const char *const kv[] = {"column", column, "value", value};
    const rowsync_plugin_t *p = NULL;
    rowsync_plugin_instance_t *inst = NULL;
    rowsync_error_t err;
    int rc;

    ck_assert_int_eq(pt_create("set", &p, &inst, 2, kv, &err), 0);
    rc = p->transform(inst, row, &err);
    ck_assert_msg(rc == 0, "%s = %s: %s", column, value, err.message);
    p->destroy(inst);
    return rowsync_row_get(row, column);
}

/* An order row: id (key), qty INT 3, price DECIMAL 19.99, note NULL,
 * sku TEXT. */
static rowsync_row_t *pt_order(int op)
{
    static const char *const cols[] = {"id", "qty", "price", "note", "sku"};
    rowsync_value_t vals[5];
    rowsync_row_t *row = NULL;
    rowsync_error_t err;

    memset(vals, 0, sizeof(vals));
    vals[0].type = ROWSYNC_TYPE_INT;
    vals[0].u.i = 1;
    vals[1].type = ROWSYNC_TYPE_INT;
    vals[1].u.i = 3;
    vals[2].type = ROWSYNC_TYPE_DECIMAL;
    vals[2].u.bytes.ptr = "19.99";
    vals[2].u.bytes.len = 5;
    vals[3].type = ROWSYNC_TYPE_NULL;
    vals[4] = pt_text("A-1");
    ck_assert_int_eq(
        rs_row_new(&row, op, "orders", "a", "b", 5, cols, vals, 1, &err), 0);
    return row;
}

START_TEST(test_set_updated_by_text)
{
    rowsync_row_t *row = pt_order(2);

    pt_set(row, "updated_by", "'rowsync'");
    pt_assert_text(row, "updated_by", "rowsync");
    rs_row_free(row);
}
END_TEST

START_TEST(test_set_qty_times_two_reads_the_row)
{
    rowsync_row_t *row = pt_order(1);
    const rowsync_value_t *v = pt_set(row, "qty", "qty * 2");

    ck_assert_int_eq(v->type, ROWSYNC_TYPE_INT);
    ck_assert_int_eq(v->u.i, 6);
    /* evaluated on the row as it is now: 6 * 2 */
    v = pt_set(row, "qty", "qty * 2");
    ck_assert_int_eq(v->u.i, 12);
    rs_row_free(row);
}
END_TEST

START_TEST(test_set_total_is_exact_decimal_product)
{
    rowsync_row_t *row = pt_order(1);
    const rowsync_value_t *v = pt_set(row, "total", "price * qty");

    ck_assert_int_eq(v->type, ROWSYNC_TYPE_DECIMAL);
    ck_assert_msg(v->u.bytes.len == 5 && memcmp(v->u.bytes.ptr, "59.97", 5) == 0,
                  "got '%.*s'", (int)v->u.bytes.len, v->u.bytes.ptr);
    v = pt_set(row, "half", "price / 2");
    ck_assert_int_eq(v->type, ROWSYNC_TYPE_DOUBLE);
    ck_assert(v->u.d > 9.994 && v->u.d < 9.996);
    v = pt_set(row, "same", "price");
    ck_assert_int_eq(v->type, ROWSYNC_TYPE_DECIMAL);
    ck_assert_int_eq(memcmp(v->u.bytes.ptr, "19.99", 5), 0);
    rs_row_free(row);
}
END_TEST

START_TEST(test_set_null_propagates)
{
    rowsync_row_t *row = pt_order(2);
    const rowsync_value_t *v = pt_set(row, "qty", "qty + note");

    ck_assert_int_eq(v->type, ROWSYNC_TYPE_NULL);
    v = pt_set(row, "flag", "note = 1");
    ck_assert_int_eq(v->type, ROWSYNC_TYPE_NULL);
    v = pt_set(row, "flag", "note IS NULL AND sku = 'A-1'");
    ck_assert_int_eq(v->type, ROWSYNC_TYPE_BOOL);
    ck_assert_int_eq(v->u.b, 1);
    rs_row_free(row);
}
END_TEST

START_TEST(test_set_type_error_names_column)
{
    static const char *const kv[] = {"column", "total", "value",
                                     "price * sku"};
    static const char *const missing[] = {"column", "total", "value",
                                          "weight * 2"};
    const rowsync_plugin_t *p = NULL;
    rowsync_plugin_instance_t *inst = NULL;
    rowsync_row_t *row = pt_order(1);
    rowsync_error_t err;

    ck_assert_int_eq(pt_create("set", &p, &inst, 2, kv, &err), 0);
    ck_assert_int_eq(p->transform(inst, row, &err), ROWSYNC_ECONVERT);
    ASSERT_HAS(err.message, "plugin set: total = price * sku");
    ASSERT_HAS(err.message, "at column 7 of the expression: '*' needs "
                            "numbers, not number and text");
    ASSERT_HAS(err.message, "(columns 'price', 'sku')");
    ck_assert_ptr_null(rowsync_row_get(row, "total"));
    p->destroy(inst);
    ck_assert_int_eq(pt_create("set", &p, &inst, 2, missing, &err), 0);
    ck_assert_int_eq(p->transform(inst, row, &err), ROWSYNC_ENOTFOUND);
    ASSERT_HAS(err.message, "reads column 'weight'");
    p->destroy(inst);
    rs_row_free(row);
}
END_TEST

START_TEST(test_expr_api_parse_error_column)
{
    rowsync_expr_t *e = NULL;
    rowsync_error_t err;
    size_t col = 0;

    ck_assert_int_eq(rowsync_expr_parse(&e, "qty * (2 +", &col, &err),
                     ROWSYNC_EINVAL);
    ck_assert_ptr_null(e);
    ck_assert_uint_eq(col, 11);
    ASSERT_HAS(err.message, "at column 11");
    ck_assert_int_eq(rowsync_expr_parse(&e, "qty * 2", &col, &err), 0);
    ck_assert_str_eq(rowsync_expr_text(e), "qty * 2");
    rowsync_expr_free(e);
    rowsync_expr_free(NULL);
}
END_TEST

static Suite *plugins_suite(void)
{
    Suite *s = suite_create("plugins");
    TCase *tc;

    tc = tcase_create("mask");
    tcase_add_checked_fixture(tc, pt_setup, pt_teardown);
    tcase_add_test(tc, test_mask_sha256_standard_vectors);
    tcase_add_test(tc, test_mask_sha256_of_number_hashes_its_text);
    tcase_add_test(tc, test_mask_redact_and_null_stays_null);
    tcase_add_test(tc, test_mask_keep_last_counts_characters);
    tcase_add_test(tc, test_mask_key_column_fails_change);
    tcase_add_test(tc, test_mask_option_errors);
    suite_add_tcase(s, tc);

    tc = tcase_create("map");
    tcase_add_checked_fixture(tc, pt_setup, pt_teardown);
    tcase_add_test(tc, test_map_inline_values);
    tcase_add_test(tc, test_map_csv_file_and_number_lookup);
    tcase_add_test(tc, test_map_unmatched_null_and_error);
    tcase_add_test(tc, test_map_option_errors);
    suite_add_tcase(s, tc);

    tc = tcase_create("set");
    tcase_add_checked_fixture(tc, pt_setup, pt_teardown);
    tcase_add_test(tc, test_set_text_constant_adds_column);
    tcase_add_test(tc, test_set_number_bool_null_constants);
    tcase_add_test(tc, test_set_leaves_deletes_alone);
    tcase_add_test(tc, test_set_rejects_bad_expressions_and_key);
    tcase_add_test(tc, test_set_updated_by_text);
    tcase_add_test(tc, test_set_qty_times_two_reads_the_row);
    tcase_add_test(tc, test_set_total_is_exact_decimal_product);
    tcase_add_test(tc, test_set_null_propagates);
    tcase_add_test(tc, test_set_type_error_names_column);
    tcase_add_test(tc, test_expr_api_parse_error_column);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(plugins_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
