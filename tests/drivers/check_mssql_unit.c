/* Unit tests of the SQL Server driver that need no server: every T-SQL
 * text it generates against tests/drivers/mssql/expected/ (found through
 * $ROWSYNC_SRCDIR), identifier quoting, value conversions both ways, the
 * error classification table, and a real connection attempt to a closed
 * port on 127.0.0.1 through the built module.
 *
 * ROWSYNC_MSSQL_WRITE_EXPECTED=1 rewrites the expected files from the
 * current output (review the diff before committing it). */
#include <check.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sybfront.h>
#include <sybdb.h>

#include "mssql.h"

/* ---- fixtures -------------------------------------------------------- */

static const char *const one_cols[] = {"id", "name", "qty", "price", "at"};
static const char *const one_decl[] = {
    "int", "nvarchar(50) COLLATE Latin1_General_CI_AS", "int",
    "money", "datetime2(7)"};
static const char *const one_native[] = {"int", "nvarchar", "int", "money",
                                         "datetime2"};
static const unsigned char one_ident[] = {1, 0, 0, 0, 0};

static const char *const two_cols[] = {"region", "order no", "note", "blob"};
static const char *const two_decl[] = {"char(2) COLLATE Latin1_General_BIN2",
                                       "bigint", "nvarchar(max)",
                                       "varbinary(max)"};
static const char *const two_native[] = {"char", "bigint", "nvarchar",
                                         "varbinary"};
static const rowsync_type_t two_types[] = {
    ROWSYNC_TYPE_TEXT, ROWSYNC_TYPE_INT, ROWSYNC_TYPE_TEXT,
    ROWSYNC_TYPE_BINARY};

static mss_obj_t obj_single(void)
{
    mss_obj_t o = {"rowsync", "dbo", "Orders", "h_dbo_Orders", 5, 1,
                   one_cols, one_decl, one_native, one_ident, NULL};
    return o;
}

static mss_obj_t obj_composite(void)
{
    mss_obj_t o = {"rowsync", "sales", "Order]Lines", "h_sales_Order]Lines",
                   4, 2, two_cols, two_decl, two_native, NULL, NULL};
    return o;
}

/* A table of n columns (n <= 65) for the column masks: key c0 int, c2
 * ntext (unreadable in a trigger: its bit is always set), the others
 * nvarchar. */
static mss_obj_t obj_wide(size_t n)
{
    static char names[65][8];
    static const char *cols[65], *decl[65], *native[65];
    mss_obj_t o = {"rowsync", "dbo", "Wide", "h_dbo_Wide", n,   1,
                   cols,      decl,  native, NULL,         NULL};
    size_t i;

    ck_assert_uint_le(n, 65);
    for (i = 0; i < n; i++) {
        snprintf(names[i], sizeof names[i], "c%zu", i);
        cols[i] = names[i];
        decl[i] = i == 0 ? "int" : i == 2 ? "ntext" : "nvarchar(20)";
        native[i] = i == 0 ? "int" : i == 2 ? "ntext" : "nvarchar";
    }
    return o;
}

/* Compares b with expected/<name>.sql byte for byte. */
static void expect_text(const char *name, const rowsync_buf_t *b)
{
    const char *src = getenv("ROWSYNC_SRCDIR");
    char path[1024];
    FILE *f;
    char *want;
    long n;

    ck_assert_msg(src != NULL, "ROWSYNC_SRCDIR is not set");
    ck_assert(!b->oom);
    snprintf(path, sizeof path, "%s/tests/drivers/mssql/expected/%s.sql", src,
             name);
    if (getenv("ROWSYNC_MSSQL_WRITE_EXPECTED") != NULL) {
        f = fopen(path, "wb");
        ck_assert_msg(f != NULL, "cannot write %s", path);
        fwrite(b->p, 1, b->len, f);
        fclose(f);
        return;
    }
    f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot read %s", path);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    want = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(want);
    ck_assert_int_eq(fread(want, 1, (size_t)n, f), (size_t)n);
    want[n] = '\0';
    fclose(f);
    ck_assert_msg((size_t)n == b->len && memcmp(want, b->p, b->len) == 0,
                  "%s differs from %s:\n--- got ---\n%s\n--- want ---\n%s",
                  name, path, b->p, want);
    free(want);
}

#define SQL_CASE(fn_name, text_name, call)                                   \
    START_TEST(fn_name)                                                      \
    {                                                                        \
        rowsync_buf_t b = {0};                                                   \
        mss_obj_t o1 = obj_single(), o2 = obj_composite();                   \
        (void)o1;                                                            \
        (void)o2;                                                            \
        call;                                                                \
        expect_text(text_name, &b);                                          \
        rowsync_buf_free(&b);                                                    \
    }                                                                        \
    END_TEST

SQL_CASE(test_sql_schema, "schema", mss_sql_schema(&b, "rowsync"))
SQL_CASE(test_sql_state_ddl, "state_ddl", mss_sql_state_ddl(&b, "rowsync"))
SQL_CASE(test_sql_history_single, "history_single",
         mss_sql_history_ddl(&b, &o1))
SQL_CASE(test_sql_history_composite, "history_composite",
         mss_sql_history_ddl(&b, &o2))
SQL_CASE(test_sql_trigger_single, "trigger_single", mss_sql_trigger(&b, &o1))
SQL_CASE(test_sql_trigger_composite, "trigger_composite",
         mss_sql_trigger(&b, &o2))
SQL_CASE(test_sql_horizon, "horizon", mss_sql_horizon(&b, &o1))
SQL_CASE(test_sql_extract, "extract_single", mss_sql_extract(&b, &o1, 0))
SQL_CASE(test_sql_extract_skip, "extract_composite_skip",
         mss_sql_extract(&b, &o2, 1))
/* column masks: bit 63 is the sign bit (a literal of its own, MIN in the
 * fold); past 64 columns the mask is NULL (unknown) */
SQL_CASE(test_sql_trigger_64, "trigger_64cols",
         (o1 = obj_wide(64), mss_sql_trigger(&b, &o1)))
SQL_CASE(test_sql_extract_64, "extract_64cols",
         (o1 = obj_wide(64), mss_sql_extract(&b, &o1, 0)))
SQL_CASE(test_sql_trigger_65, "trigger_65cols",
         (o1 = obj_wide(65), mss_sql_trigger(&b, &o1)))
SQL_CASE(test_sql_extract_65, "extract_65cols",
         (o1 = obj_wide(65), mss_sql_extract(&b, &o1, 0)))
SQL_CASE(test_sql_cols_stale, "cols_stale", mss_sql_cols_stale(&b, &o2))
SQL_CASE(test_sql_cols_forget, "cols_forget", mss_sql_cols_forget(&b, &o1))
SQL_CASE(test_sql_scan, "scan_single", mss_sql_scan(&b, &o1, 0))
SQL_CASE(test_sql_scan_after, "scan_composite_after",
         mss_sql_scan(&b, &o2, 1))
SQL_CASE(test_sql_stage_ddl, "stage_ddl", mss_sql_stage_ddl(&b, 3, &o1))
SQL_CASE(test_sql_merge, "merge_single", mss_sql_merge(&b, 3, &o1))
SQL_CASE(test_sql_merge_composite, "merge_composite",
         mss_sql_merge(&b, 4, &o2))
/* qty and at are written on insert only: the update leaves them out */
static const unsigned char one_insert_only[] = {0, 0, 1, 0, 1};
SQL_CASE(test_sql_merge_insert_only, "merge_insert_only",
         (o1.insert_only = one_insert_only, mss_sql_merge(&b, 3, &o1)))
/* every non-key column insert-only: no WHEN MATCHED at all */
static const unsigned char two_insert_only[] = {0, 0, 1, 1};
SQL_CASE(test_sql_merge_insert_only_all, "merge_insert_only_all",
         (o2.insert_only = two_insert_only, mss_sql_merge(&b, 4, &o2)))
SQL_CASE(test_sql_delete, "delete_composite", mss_sql_delete(&b, 4, &o2))
SQL_CASE(test_sql_history_insert, "history_insert",
         mss_sql_history_insert(&b, 4, &o2))
SQL_CASE(test_sql_apply, "apply_single", mss_sql_apply(&b, 3, &o1))
SQL_CASE(test_sql_state_set, "state_set", mss_sql_state_set(&b, "rowsync"))
SQL_CASE(test_sql_state_get, "state_get", mss_sql_state_get(&b, "rowsync"))
SQL_CASE(test_sql_conflict_insert, "conflict_insert",
         mss_sql_conflict_insert(&b, "rowsync"))
SQL_CASE(test_sql_conflict_read, "conflict_read",
         mss_sql_conflict_read(&b, "rowsync"))
SQL_CASE(test_sql_lock, "lock", mss_sql_lock(&b))
SQL_CASE(test_sql_unlock, "unlock", mss_sql_unlock(&b))
SQL_CASE(test_sql_teardown, "teardown", mss_sql_teardown(&b, &o2))
SQL_CASE(test_sql_state_remove, "state_remove",
         mss_sql_state_remove(&b, "rowsync"))
SQL_CASE(test_sql_describe, "describe", mss_sql_describe(&b))
SQL_CASE(test_sql_references, "references", mss_sql_references(&b))
SQL_CASE(test_sql_purge, "purge_composite", mss_sql_purge(&b, &o2))

START_TEST(test_sql_stage_insert)
{
    rowsync_buf_t b = {0}, d = {0};
    mss_obj_t o2 = obj_composite();

    mss_sql_stage_insert(&b, &d, 4, &o2, two_types, 10, 2);
    rowsync_buf_add(&b, "-- parameters\n", 14);
    rowsync_buf_puts(&b, d.p);
    rowsync_buf_add(&b, "\n", 1);
    expect_text("stage_insert", &b);
    rowsync_buf_free(&b);
    rowsync_buf_free(&d);
}
END_TEST

/* ---- quoting --------------------------------------------------------- */

START_TEST(test_quote_hostile)
{
    char buf[600];
    rowsync_buf_t b = {0};
    char long_name[200];

    ck_assert_int_eq(mss_quote_ident("a]b", buf, sizeof buf), 6);
    ck_assert_str_eq(buf, "[a]]b]");
    ck_assert_int_eq(mss_quote_ident("my table", buf, sizeof buf), 10);
    ck_assert_str_eq(buf, "[my table]");
    mss_quote_ident("Bestellung_\xc3\xa4\xc3\xb6", buf, sizeof buf);
    ck_assert_str_eq(buf, "[Bestellung_\xc3\xa4\xc3\xb6]");
    ck_assert_int_eq(mss_quote_ident("dbo.Orders", buf, sizeof buf), 12);
    ck_assert_str_eq(buf, "[dbo.Orders]");
    ck_assert_int_eq(mss_quote_ident("", buf, sizeof buf), ROWSYNC_EINVAL);
    memset(long_name, 'x', 129);
    long_name[129] = '\0';
    ck_assert_int_eq(mss_quote_ident(long_name, buf, sizeof buf),
                     ROWSYNC_EINVAL);
    long_name[128] = '\0';
    ck_assert_int_eq(mss_quote_ident(long_name, buf, sizeof buf), 130);
    /* snprintf-like: short buffer still NUL-terminated, length reported */
    ck_assert_int_eq(mss_quote_ident("a]b", buf, 4), 6);
    ck_assert_uint_eq(strlen(buf), 3);
    mss_buf_literal(&b, "it's [x]");
    ck_assert_str_eq(b.p, "N'it''s [x]'");
    rowsync_buf_free(&b);
}
END_TEST

START_TEST(test_split_name)
{
    char s[600], t[600];

    ck_assert_int_eq(mss_split_name("dbo.Orders", s, sizeof s, t, sizeof t), 0);
    ck_assert_str_eq(s, "dbo");
    ck_assert_str_eq(t, "Orders");
    ck_assert_int_eq(mss_split_name("Orders", s, sizeof s, t, sizeof t), 0);
    ck_assert_str_eq(s, "");
    ck_assert_str_eq(t, "Orders");
    ck_assert_int_eq(
        mss_split_name("[my schema].[a]]b.c]", s, sizeof s, t, sizeof t), 0);
    ck_assert_str_eq(s, "my schema");
    ck_assert_str_eq(t, "a]b.c");
    ck_assert_int_eq(mss_split_name("a.b.c", s, sizeof s, t, sizeof t),
                     ROWSYNC_EINVAL);
    ck_assert_int_eq(mss_split_name("[open", s, sizeof s, t, sizeof t),
                     ROWSYNC_EINVAL);
}
END_TEST

START_TEST(test_long_names)
{
    char name[300], out[600];
    char longt[200];

    memset(longt, 'T', 150);
    longt[150] = '\0';
    mss_hist_name("dbo", longt, out, sizeof out);
    ck_assert_uint_eq(strlen(out), 128);
    ck_assert_int_eq(out[119], '_');
    mss_hist_name("dbo", "Orders", name, sizeof name);
    ck_assert_str_eq(name, "h_dbo_Orders");
    mss_trigger_name("Orders", name, sizeof name);
    ck_assert_str_eq(name, "rowsync_capture_Orders");
}
END_TEST

/* ---- values ---------------------------------------------------------- */

static rowsync_value_t read_text(rowsync_type_t t, const char *native,
                                 const char *text)
{
    static char scratch[256];
    rowsync_value_t v;
    rowsync_error_t e;

    memset(&e, 0, sizeof e);
    ck_assert_msg(mss_value_from_text(t, native, text, strlen(text), scratch,
                                      &v, &e) == 0,
                  "%s '%s': %s", native, text, e.message);
    ck_assert_int_eq(v.type, t);
    return v;
}

static void read_text_fails(rowsync_type_t t, const char *native,
                            const char *text)
{
    char scratch[256];
    rowsync_value_t v;
    rowsync_error_t e;

    memset(&e, 0, sizeof e);
    ck_assert_int_eq(mss_value_from_text(t, native, text, strlen(text),
                                         scratch, &v, &e),
                     ROWSYNC_ECONVERT);
}

static void bytes_eq(const rowsync_value_t *v, const char *want)
{
    ck_assert_uint_eq(v->u.bytes.len, strlen(want));
    ck_assert(memcmp(v->u.bytes.ptr, want, v->u.bytes.len) == 0);
}

START_TEST(test_read_exact)
{
    rowsync_value_t v;

    v = read_text(ROWSYNC_TYPE_DECIMAL, "decimal",
                  "9999999999999999999999999999.9999999999");
    bytes_eq(&v, "9999999999999999999999999999.9999999999");
    v = read_text(ROWSYNC_TYPE_DECIMAL, "decimal",
                  "-9999999999999999999999999999.9999999999");
    bytes_eq(&v, "-9999999999999999999999999999.9999999999");
    v = read_text(ROWSYNC_TYPE_DECIMAL, "money", "-922337203685477.5808");
    bytes_eq(&v, "-922337203685477.5808");
    v = read_text(ROWSYNC_TYPE_DECIMAL, "smallmoney", "-214748.3648");
    bytes_eq(&v, "-214748.3648");
    v = read_text(ROWSYNC_TYPE_DECIMAL, "numeric", ".5000");
    bytes_eq(&v, "0.5000");
    v = read_text(ROWSYNC_TYPE_DECIMAL, "numeric", "-.5");
    bytes_eq(&v, "-0.5");
    read_text_fails(ROWSYNC_TYPE_DECIMAL, "decimal", "1,5");
}
END_TEST

START_TEST(test_read_times)
{
    rowsync_value_t v;
    int64_t day = INT64_C(86400000000);
    int64_t d2024 = (int64_t)rowsync_days_from_civil(2024, 1, 2) * day;

    /* datetime2(7): the 7th digit is dropped, never rounded */
    v = read_text(ROWSYNC_TYPE_TIMESTAMP, "datetime2",
                  "2024-01-02 03:04:05.1234569");
    ck_assert_int_eq(v.u.i, d2024 + INT64_C(11045123456));
    v = read_text(ROWSYNC_TYPE_TIMESTAMP, "datetime2",
                  "2024-01-02 23:59:59.9999999");
    ck_assert_int_eq(v.u.i, d2024 + day - 1);
    /* datetime: 3 digits */
    v = read_text(ROWSYNC_TYPE_TIMESTAMP, "datetime",
                  "2024-01-02 03:04:05.997");
    ck_assert_int_eq(v.u.i, d2024 + INT64_C(11045997000));
    /* before 1900 (datetime2 and date reach year 1) */
    v = read_text(ROWSYNC_TYPE_DATE, "date", "1753-01-01");
    ck_assert_int_eq(v.u.date, rowsync_days_from_civil(1753, 1, 1));
    v = read_text(ROWSYNC_TYPE_DATE, "date", "0001-01-01");
    ck_assert_int_eq(v.u.date, rowsync_days_from_civil(1, 1, 1));
    v = read_text(ROWSYNC_TYPE_TIMESTAMP, "datetime2",
                  "1899-12-31 23:59:59.0000000");
    ck_assert_int_eq(v.u.i,
                     (int64_t)rowsync_days_from_civil(1900, 1, 1) * day -
                         1000000);
    /* datetimeoffset: the UTC instant */
    v = read_text(ROWSYNC_TYPE_TIMESTAMPTZ, "datetimeoffset",
                  "2024-01-02 03:04:05.1234567 +05:30");
    ck_assert_int_eq(v.u.i, d2024 + INT64_C(11045123456) -
                                INT64_C(19800000000));
    v = read_text(ROWSYNC_TYPE_TIMESTAMPTZ, "datetimeoffset",
                  "2024-01-02 00:00:00.0000000 -08:00");
    ck_assert_int_eq(v.u.i, d2024 + INT64_C(28800000000));
    /* time(7) */
    v = read_text(ROWSYNC_TYPE_TIME, "time", "23:59:59.9999999");
    ck_assert_int_eq(v.u.i, day - 1);
    v = read_text(ROWSYNC_TYPE_TIME, "time", "00:00:00");
    ck_assert_int_eq(v.u.i, 0);
    read_text_fails(ROWSYNC_TYPE_TIMESTAMP, "datetime2", "2024-13-01 00:00:00");
    read_text_fails(ROWSYNC_TYPE_TIME, "time", "24:00:00");
    read_text_fails(ROWSYNC_TYPE_TIMESTAMP, "datetime2",
                    "2024-01-02 03:04:05.12345678");
}
END_TEST

START_TEST(test_read_uuid_and_native)
{
    rowsync_value_t v;
    rowsync_error_t e;
    unsigned char b1 = 1, i1 = 255;
    int16_t i2 = -32768;
    int32_t i4 = -2147483647 - 1;
    int64_t i8 = INT64_MIN;
    double f8 = 1.0 / 3;
    float f4 = 0.1f;

    v = read_text(ROWSYNC_TYPE_UUID, "uniqueidentifier",
                  "6F9619FF-8B86-D011-B42D-00C04FC964FF");
    bytes_eq(&v, "6f9619ff-8b86-d011-b42d-00c04fc964ff");
    memset(&e, 0, sizeof e);
    ck_assert_int_eq(mss_value_from_native(ROWSYNC_TYPE_BOOL, SYBBIT, &b1, 1,
                                           &v, &e), 0);
    ck_assert_int_eq(v.u.b, 1);
    ck_assert_int_eq(mss_value_from_native(ROWSYNC_TYPE_INT, SYBINT1, &i1, 1,
                                           &v, &e), 0);
    ck_assert_int_eq(v.u.i, 255);
    ck_assert_int_eq(mss_value_from_native(ROWSYNC_TYPE_INT, SYBINT2,
                                           (unsigned char *)&i2, 2, &v, &e), 0);
    ck_assert_int_eq(v.u.i, -32768);
    ck_assert_int_eq(mss_value_from_native(ROWSYNC_TYPE_INT, SYBINT4,
                                           (unsigned char *)&i4, 4, &v, &e), 0);
    ck_assert_int_eq(v.u.i, INT32_MIN);
    ck_assert_int_eq(mss_value_from_native(ROWSYNC_TYPE_INT, SYBINT8,
                                           (unsigned char *)&i8, 8, &v, &e), 0);
    ck_assert(v.u.i == INT64_MIN);
    ck_assert_int_eq(mss_value_from_native(ROWSYNC_TYPE_DOUBLE, SYBFLT8,
                                           (unsigned char *)&f8, 8, &v, &e), 0);
    ck_assert(v.u.d == 1.0 / 3);
    ck_assert_int_eq(mss_value_from_native(ROWSYNC_TYPE_DOUBLE, SYBREAL,
                                           (unsigned char *)&f4, 4, &v, &e), 0);
    ck_assert(v.u.d == (double)0.1f);
    ck_assert_int_eq(mss_value_from_native(ROWSYNC_TYPE_TEXT, SYBVARCHAR,
                                           (const unsigned char *)"\xc3\xa4",
                                           2, &v, &e), 0);
    bytes_eq(&v, "\xc3\xa4");
    ck_assert_int_eq(mss_value_from_native(ROWSYNC_TYPE_BINARY, SYBVARBINARY,
                                           (const unsigned char *)"\0\1", 2,
                                           &v, &e), 0);
    ck_assert_uint_eq(v.u.bytes.len, 2);
    ck_assert_int_eq(mss_value_from_native(ROWSYNC_TYPE_INT, SYBFLT8,
                                           (unsigned char *)&f8, 8, &v, &e),
                     ROWSYNC_ECONVERT);
}
END_TEST

START_TEST(test_core_types)
{
    ck_assert_int_eq(mss_core_type("bit"), ROWSYNC_TYPE_BOOL);
    ck_assert_int_eq(mss_core_type("tinyint"), ROWSYNC_TYPE_INT);
    ck_assert_int_eq(mss_core_type("bigint"), ROWSYNC_TYPE_INT);
    ck_assert_int_eq(mss_core_type("money"), ROWSYNC_TYPE_DECIMAL);
    ck_assert_int_eq(mss_core_type("numeric"), ROWSYNC_TYPE_DECIMAL);
    ck_assert_int_eq(mss_core_type("real"), ROWSYNC_TYPE_DOUBLE);
    ck_assert_int_eq(mss_core_type("nvarchar"), ROWSYNC_TYPE_TEXT);
    ck_assert_int_eq(mss_core_type("ntext"), ROWSYNC_TYPE_TEXT);
    ck_assert_int_eq(mss_core_type("xml"), ROWSYNC_TYPE_TEXT);
    ck_assert_int_eq(mss_core_type("sql_variant"), ROWSYNC_TYPE_TEXT);
    ck_assert_int_eq(mss_core_type("image"), ROWSYNC_TYPE_BINARY);
    ck_assert_int_eq(mss_core_type("date"), ROWSYNC_TYPE_DATE);
    ck_assert_int_eq(mss_core_type("time"), ROWSYNC_TYPE_TIME);
    ck_assert_int_eq(mss_core_type("smalldatetime"), ROWSYNC_TYPE_TIMESTAMP);
    ck_assert_int_eq(mss_core_type("datetime2"), ROWSYNC_TYPE_TIMESTAMP);
    ck_assert_int_eq(mss_core_type("datetimeoffset"),
                     ROWSYNC_TYPE_TIMESTAMPTZ);
    ck_assert_int_eq(mss_core_type("uniqueidentifier"), ROWSYNC_TYPE_UUID);
    ck_assert_int_eq(mss_core_type("timestamp"), ROWSYNC_TYPE_NULL);
    ck_assert_int_eq(mss_core_type("geography"), ROWSYNC_TYPE_NULL);
}
END_TEST

static void param_eq(rowsync_value_t v, rowsync_type_t t, const char *want)
{
    char buf[128];
    size_t n = mss_param_text(&v, t, buf, sizeof buf);

    ck_assert_str_eq(buf, want);
    ck_assert_uint_eq(n, strlen(want));
}

START_TEST(test_write_params)
{
    rowsync_value_t v;
    int64_t day = INT64_C(86400000000);

    v.type = ROWSYNC_TYPE_TIMESTAMP;
    v.u.i = (int64_t)rowsync_days_from_civil(2024, 1, 2) * day +
            INT64_C(11045123456);
    param_eq(v, ROWSYNC_TYPE_TIMESTAMP, "2024-01-02T03:04:05.123456");
    v.type = ROWSYNC_TYPE_TIMESTAMPTZ;
    param_eq(v, ROWSYNC_TYPE_TIMESTAMPTZ, "2024-01-02T03:04:05.123456Z");
    /* before 1970 and before 1900: floor, not truncation toward zero */
    v.type = ROWSYNC_TYPE_TIMESTAMP;
    v.u.i = (int64_t)rowsync_days_from_civil(1899, 12, 31) * day + day - 1;
    param_eq(v, ROWSYNC_TYPE_TIMESTAMP, "1899-12-31T23:59:59.999999");
    v.type = ROWSYNC_TYPE_DATE;
    v.u.date = rowsync_days_from_civil(1, 1, 1);
    param_eq(v, ROWSYNC_TYPE_DATE, "0001-01-01");
    param_eq(v, ROWSYNC_TYPE_TIMESTAMP, "0001-01-01T00:00:00.000000");
    v.type = ROWSYNC_TYPE_TIME;
    v.u.i = day - 1;
    param_eq(v, ROWSYNC_TYPE_TIME, "23:59:59.999999");
    v.type = ROWSYNC_TYPE_BOOL;
    v.u.b = 1;
    param_eq(v, ROWSYNC_TYPE_BOOL, "1");
    v.type = ROWSYNC_TYPE_INT;
    v.u.i = INT64_MIN;
    param_eq(v, ROWSYNC_TYPE_INT, "-9223372036854775808");
    v.type = ROWSYNC_TYPE_DECIMAL;
    v.u.bytes.ptr = "-922337203685477.5808";
    v.u.bytes.len = strlen(v.u.bytes.ptr);
    param_eq(v, ROWSYNC_TYPE_DECIMAL, "-922337203685477.5808");
    v.type = ROWSYNC_TYPE_UUID;
    v.u.bytes.ptr = "6f9619ff-8b86-d011-b42d-00c04fc964ff";
    v.u.bytes.len = 36;
    param_eq(v, ROWSYNC_TYPE_UUID, "6f9619ff-8b86-d011-b42d-00c04fc964ff");
    v.type = ROWSYNC_TYPE_DOUBLE;
    v.u.d = 0.1;
    param_eq(v, ROWSYNC_TYPE_DOUBLE, "0.1"); /* shortest text that reads back the same double */
}
END_TEST

START_TEST(test_cursor_text)
{
    char buf[32];
    uint64_t v;

    mss_cursor_format(UINT64_C(0x7d1), buf, sizeof buf);
    ck_assert_str_eq(buf, "00000000000007d1");
    ck_assert_int_eq(mss_cursor_parse(buf, &v), 0);
    ck_assert(v == 0x7d1);
    ck_assert_int_eq(mss_cursor_parse("", &v), 0);
    ck_assert(v == 0);
    ck_assert_int_eq(mss_cursor_parse("7d1", &v), ROWSYNC_EINVAL);
    ck_assert_int_eq(mss_cursor_parse("00000000000007D1", &v), ROWSYNC_EINVAL);
    ck_assert_int_eq(mss_cursor_parse("5:3:2", &v), ROWSYNC_EINVAL);
}
END_TEST

/* ---- errors ---------------------------------------------------------- */

START_TEST(test_error_classes)
{
    static const struct {
        long msgno;
        int code;
    } msgs[] = {
        {1205, ROWSYNC_ETRANSIENT},  {1222, ROWSYNC_ETRANSIENT},
        {2627, ROWSYNC_ECONSTRAINT}, {2601, ROWSYNC_ECONSTRAINT},
        {547, ROWSYNC_ECONSTRAINT},  {515, ROWSYNC_ECONSTRAINT},
        {208, ROWSYNC_ENOTFOUND},    {18456, ROWSYNC_ECONN},
        {4060, ROWSYNC_ECONN},       {8115, ROWSYNC_ECONVERT},
        {245, ROWSYNC_ECONVERT},     {241, ROWSYNC_ECONVERT},
        {8152, ROWSYNC_ECONVERT},    {102, ROWSYNC_ERROR},
        {229, ROWSYNC_ERROR},
    };
    static const struct {
        int dberr;
        int code;
    } dbe[] = {
        {SYBEFCON, ROWSYNC_ECONN}, {SYBESOCK, ROWSYNC_ECONN},
        {20009, ROWSYNC_ECONN},    {20047, ROWSYNC_ECONN},
        {SYBESEOF, ROWSYNC_ECONN}, {SYBETIME, ROWSYNC_ETRANSIENT},
        {SYBEMEM, ROWSYNC_ENOMEM}, {SYBECOFL, ROWSYNC_ECONVERT},
        {20018, ROWSYNC_ERROR},
    };
    size_t i;

    for (i = 0; i < sizeof msgs / sizeof msgs[0]; i++)
        ck_assert_msg(mss_classify_msg(msgs[i].msgno) == msgs[i].code,
                      "message %ld", msgs[i].msgno);
    for (i = 0; i < sizeof dbe / sizeof dbe[0]; i++)
        ck_assert_msg(mss_classify_dberr(dbe[i].dberr) == dbe[i].code,
                      "db-lib error %d", dbe[i].dberr);
}
END_TEST

/* ---- a real connection attempt --------------------------------------- */

/* Loads the built module (ROWSYNC_MODULE_PATH, as `make check` sets it). */
static const rowsync_driver_t *load_driver(void)
{
    const char *path = getenv("ROWSYNC_MODULE_PATH");
    char *copy, *dir, *save = NULL;
    const rowsync_driver_t *drv = NULL;
    rowsync_abi_header_t host = ROWSYNC_DRIVER_HEADER;

    ck_assert_msg(path != NULL, "ROWSYNC_MODULE_PATH is not set");
    copy = strdup(path);
    for (dir = strtok_r(copy, ":", &save); dir && drv == NULL;
         dir = strtok_r(NULL, ":", &save)) {
        static const char *const forms[] = {"/.libs/mssql.so", "/mssql.so"};
        size_t f;
        for (f = 0; f < 2 && drv == NULL; f++) {
            char file[1024];
            void *h;
            rowsync_driver_entry_fn entry;
            snprintf(file, sizeof file, "%s%s", dir, forms[f]);
            h = dlopen(file, RTLD_NOW | RTLD_LOCAL);
            if (h == NULL)
                continue;
            entry = (rowsync_driver_entry_fn)dlsym(
                h, "mssql_LTX_rowsync_driver_entry");
            if (entry != NULL)
                ck_assert_int_eq(entry(&drv, &host), 0);
        }
    }
    free(copy);
    ck_assert_msg(drv != NULL, "mssql module not found in %s", path);
    return drv;
}

/* A port on 127.0.0.1 that nothing listens on: bind, read it, close. */
static int closed_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

START_TEST(test_connect_closed_port)
{
    const rowsync_driver_t *drv = load_driver();
    rowsync_option_t opts[5];
    rowsync_node_config_t cfg;
    rowsync_conn_t *c = NULL;
    rowsync_error_t e;
    char port[16], where[64];
    int rc;

    snprintf(port, sizeof port, "%d", closed_port());
    opts[0] = (rowsync_option_t){"host", "127.0.0.1"};
    opts[1] = (rowsync_option_t){"port", port};
    opts[2] = (rowsync_option_t){"database", "shop"};
    opts[3] = (rowsync_option_t){"user", "sa"};
    opts[4] = (rowsync_option_t){"login_timeout", "5"};
    memset(&cfg, 0, sizeof cfg);
    cfg.node = "callcentre";
    cfg.job_dir = "/tmp";
    cfg.password = "S3cret-Pa55";
    cfg.noptions = 5;
    cfg.options = opts;
    memset(&e, 0, sizeof e);
    rc = drv->connect(&c, &cfg, &e);
    ck_assert_int_eq(rc, ROWSYNC_ECONN);
    ck_assert_int_eq(e.code, ROWSYNC_ECONN);
    ck_assert_ptr_null(c);
    snprintf(where, sizeof where, "127.0.0.1:%s", port);
    ck_assert_msg(strstr(e.message, where) != NULL, "no host:port in: %s",
                  e.message);
    ck_assert_msg(strstr(e.message, "callcentre") != NULL, "no node in: %s",
                  e.message);
    /* FreeTDS's own words, not only ours */
    ck_assert_msg(strstr(e.message, "FreeTDS gave no reason") == NULL &&
                      (strstr(e.message, "nable to connect") != NULL ||
                       strstr(e.message, "refused") != NULL ||
                       strstr(e.message, "onnection") != NULL),
                  "no FreeTDS message in: %s", e.message);
    ck_assert_msg(strstr(e.message, "S3cret") == NULL, "password in: %s",
                  e.message);
}
END_TEST

START_TEST(test_connect_bad_options)
{
    const rowsync_driver_t *drv = load_driver();
    rowsync_option_t opts[2];
    rowsync_node_config_t cfg;
    rowsync_conn_t *c = NULL;
    rowsync_error_t e;

    opts[0] = (rowsync_option_t){"host", "127.0.0.1"};
    opts[1] = (rowsync_option_t){"tds_version", "8.0"};
    memset(&cfg, 0, sizeof cfg);
    cfg.node = "n";
    cfg.noptions = 2;
    cfg.options = opts;
    memset(&e, 0, sizeof e);
    ck_assert_int_eq(drv->connect(&c, &cfg, &e), ROWSYNC_EINVAL);
    opts[1] = (rowsync_option_t){"encryption", "maybe"};
    ck_assert_int_eq(drv->connect(&c, &cfg, &e), ROWSYNC_EINVAL);
    opts[1] = (rowsync_option_t){"port", "14x33"};
    ck_assert_int_eq(drv->connect(&c, &cfg, &e), ROWSYNC_EINVAL);
    ck_assert_ptr_null(c);
    ck_assert_str_eq(drv->name, "mssql");
}
END_TEST

static Suite *mssql_suite(void)
{
    Suite *s = suite_create("mssql_unit");
    TCase *tc;

#define CASE(name, fn)                                                       \
    tc = tcase_create(name);                                                 \
    tcase_add_test(tc, fn);                                                  \
    suite_add_tcase(s, tc)
    CASE("sql_schema", test_sql_schema);
    CASE("sql_state_ddl", test_sql_state_ddl);
    CASE("sql_history_single_key", test_sql_history_single);
    CASE("sql_history_composite_key", test_sql_history_composite);
    CASE("sql_trigger_single_key", test_sql_trigger_single);
    CASE("sql_trigger_composite_key", test_sql_trigger_composite);
    CASE("sql_horizon", test_sql_horizon);
    CASE("sql_extract", test_sql_extract);
    CASE("sql_extract_skip_origin", test_sql_extract_skip);
    CASE("sql_trigger_mask_bit63", test_sql_trigger_64);
    CASE("sql_extract_fold_bit63", test_sql_extract_64);
    CASE("sql_trigger_mask_wide", test_sql_trigger_65);
    CASE("sql_extract_fold_wide", test_sql_extract_65);
    CASE("sql_cols_stale", test_sql_cols_stale);
    CASE("sql_cols_forget", test_sql_cols_forget);
    CASE("sql_scan", test_sql_scan);
    CASE("sql_scan_after_key", test_sql_scan_after);
    CASE("sql_stage_ddl", test_sql_stage_ddl);
    CASE("sql_stage_insert", test_sql_stage_insert);
    CASE("sql_merge_identity", test_sql_merge);
    CASE("sql_merge_composite", test_sql_merge_composite);
    CASE("sql_merge_insert_only", test_sql_merge_insert_only);
    CASE("sql_merge_insert_only_all", test_sql_merge_insert_only_all);
    CASE("sql_delete", test_sql_delete);
    CASE("sql_history_insert", test_sql_history_insert);
    CASE("sql_apply_batch", test_sql_apply);
    CASE("sql_state_set", test_sql_state_set);
    CASE("sql_state_get", test_sql_state_get);
    CASE("sql_conflict_insert", test_sql_conflict_insert);
    CASE("sql_conflict_read", test_sql_conflict_read);
    CASE("sql_lock", test_sql_lock);
    CASE("sql_unlock", test_sql_unlock);
    CASE("sql_teardown", test_sql_teardown);
    CASE("sql_state_remove", test_sql_state_remove);
    CASE("sql_describe", test_sql_describe);
    CASE("sql_references", test_sql_references);
    CASE("sql_history_purge", test_sql_purge);
    CASE("quote_hostile_identifiers", test_quote_hostile);
    CASE("split_table_names", test_split_name);
    CASE("long_names_cut_with_hash", test_long_names);
    CASE("read_exact_numbers", test_read_exact);
    CASE("read_dates_and_times", test_read_times);
    CASE("read_uuid_and_native", test_read_uuid_and_native);
    CASE("type_mapping", test_core_types);
    CASE("write_parameters", test_write_params);
    CASE("cursor_text", test_cursor_text);
    CASE("error_classes", test_error_classes);
    CASE("connect_closed_port", test_connect_closed_port);
    CASE("connect_bad_options", test_connect_bad_options);
#undef CASE
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(mssql_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
