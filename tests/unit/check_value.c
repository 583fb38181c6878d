/* Unit tests of the value model (common.h): the canonical text of every
 * type and its parser, ordering, and the calendar helpers. */
#include <check.h>
#include <float.h>
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rowsync/common.h>

/* Parses text as type, asserting success with the parser's message. */
static rowsync_value_t parse_ok(rowsync_type_t type, const char *text,
                                void *scratch)
{
    rowsync_error_t err;
    rowsync_value_t v;
    int rc;

    memset(&err, 0, sizeof err);
    rc = rowsync_value_parse(type, text, strlen(text), scratch, &v, &err);
    ck_assert_msg(rc == 0, "parse '%s' as %s failed: %s", text,
                  rowsync_type_name(type), err.message);
    ck_assert_int_eq(v.type, type);
    return v;
}

/* Asserts that text does not parse as type: ROWSYNC_ECONVERT, a message
 * naming the type, and the output value left alone. */
static void parse_bad(rowsync_type_t type, const char *text)
{
    char scratch[256];
    rowsync_error_t err;
    rowsync_value_t v;
    int rc;

    memset(&err, 0, sizeof err);
    v.type = ROWSYNC_TYPE_INT;
    v.u.i = 4242;
    rc = rowsync_value_parse(type, text, strlen(text), scratch, &v, &err);
    ck_assert_msg(rc == ROWSYNC_ECONVERT, "'%s' as %s: rc %d, expected %d",
                  text, rowsync_type_name(type), rc, ROWSYNC_ECONVERT);
    ck_assert_int_eq(err.code, ROWSYNC_ECONVERT);
    ck_assert_msg(strstr(err.message, rowsync_type_name(type)) != NULL,
                  "message does not name the type: %s", err.message);
    ck_assert_int_eq(v.type, ROWSYNC_TYPE_INT);
    ck_assert_int_eq(v.u.i, 4242);
}

/* Parses text, formats the value, expects canon; then parses canon and
 * expects the same value and the same text again. */
static void round_trip(rowsync_type_t type, const char *text, const char *canon)
{
    char scratch[256], scratch2[256], buf[256], buf2[256];
    rowsync_value_t v = parse_ok(type, text, scratch), w;
    size_t n = rowsync_value_format(&v, buf, sizeof buf);

    ck_assert_str_eq(buf, canon);
    ck_assert_uint_eq(n, strlen(canon));
    w = parse_ok(type, buf, scratch2);
    ck_assert_msg(rowsync_value_compare(&v, &w) == 0,
                  "'%s' and '%s' compare unequal", text, buf);
    rowsync_value_format(&w, buf2, sizeof buf2);
    ck_assert_str_eq(buf2, canon);
}

static rowsync_value_t mk_int(int64_t i)
{
    rowsync_value_t v;

    v.type = ROWSYNC_TYPE_INT;
    v.u.i = i;
    return v;
}

static rowsync_value_t mk_double(double d)
{
    rowsync_value_t v;

    v.type = ROWSYNC_TYPE_DOUBLE;
    v.u.d = d;
    return v;
}

static rowsync_value_t mk_bytes(rowsync_type_t type, const char *p, size_t n)
{
    rowsync_value_t v;

    v.type = type;
    v.u.bytes.ptr = p;
    v.u.bytes.len = n;
    return v;
}

static rowsync_value_t mk_text(rowsync_type_t type, const char *p)
{
    return mk_bytes(type, p, strlen(p));
}

static int cmp(rowsync_value_t a, rowsync_value_t b)
{
    return rowsync_value_compare(&a, &b);
}

/* ---- names ------------------------------------------------------------ */

START_TEST(test_value_type_names)
{
    ck_assert_str_eq(rowsync_type_name(ROWSYNC_TYPE_NULL), "null");
    ck_assert_str_eq(rowsync_type_name(ROWSYNC_TYPE_BOOL), "bool");
    ck_assert_str_eq(rowsync_type_name(ROWSYNC_TYPE_INT), "int");
    ck_assert_str_eq(rowsync_type_name(ROWSYNC_TYPE_DECIMAL), "decimal");
    ck_assert_str_eq(rowsync_type_name(ROWSYNC_TYPE_DOUBLE), "double");
    ck_assert_str_eq(rowsync_type_name(ROWSYNC_TYPE_TEXT), "text");
    ck_assert_str_eq(rowsync_type_name(ROWSYNC_TYPE_BINARY), "binary");
    ck_assert_str_eq(rowsync_type_name(ROWSYNC_TYPE_DATE), "date");
    ck_assert_str_eq(rowsync_type_name(ROWSYNC_TYPE_TIME), "time");
    ck_assert_str_eq(rowsync_type_name(ROWSYNC_TYPE_TIMESTAMP), "timestamp");
    ck_assert_str_eq(rowsync_type_name(ROWSYNC_TYPE_TIMESTAMPTZ),
                     "timestamptz");
    ck_assert_str_eq(rowsync_type_name(ROWSYNC_TYPE_UUID), "uuid");
    ck_assert_str_eq(rowsync_type_name(ROWSYNC_TYPE_JSON), "json");
    ck_assert_str_eq(rowsync_type_name((rowsync_type_t)99), "unknown");
}
END_TEST

/* ---- bool ------------------------------------------------------------- */

START_TEST(test_value_bool_round_trip)
{
    round_trip(ROWSYNC_TYPE_BOOL, "true", "true");
    round_trip(ROWSYNC_TYPE_BOOL, "false", "false");
}
END_TEST

START_TEST(test_value_bool_accepts_short_forms)
{
    static const char *const yes[] = {"t", "1", "yes", "TRUE", "Yes"};
    static const char *const no[] = {"f", "0", "no", "FALSE", "No"};
    size_t i;

    for (i = 0; i < 5; i++) {
        ck_assert_int_eq(parse_ok(ROWSYNC_TYPE_BOOL, yes[i], NULL).u.b, 1);
        ck_assert_int_eq(parse_ok(ROWSYNC_TYPE_BOOL, no[i], NULL).u.b, 0);
    }
}
END_TEST

START_TEST(test_value_bool_rejects_other_words)
{
    parse_bad(ROWSYNC_TYPE_BOOL, "maybe");
    parse_bad(ROWSYNC_TYPE_BOOL, "");
    parse_bad(ROWSYNC_TYPE_BOOL, "2");
    parse_bad(ROWSYNC_TYPE_BOOL, " true");
}
END_TEST

/* ---- int -------------------------------------------------------------- */

START_TEST(test_value_int_round_trip)
{
    round_trip(ROWSYNC_TYPE_INT, "0", "0");
    round_trip(ROWSYNC_TYPE_INT, "-1", "-1");
    round_trip(ROWSYNC_TYPE_INT, "42", "42");
    round_trip(ROWSYNC_TYPE_INT, "+17", "17");
    round_trip(ROWSYNC_TYPE_INT, "007", "7");
}
END_TEST

START_TEST(test_value_int_full_range)
{
    ck_assert(parse_ok(ROWSYNC_TYPE_INT, "9223372036854775807", NULL).u.i ==
              INT64_MAX);
    ck_assert(parse_ok(ROWSYNC_TYPE_INT, "-9223372036854775808", NULL).u.i ==
              INT64_MIN);
    round_trip(ROWSYNC_TYPE_INT, "9223372036854775807", "9223372036854775807");
    round_trip(ROWSYNC_TYPE_INT, "-9223372036854775808",
               "-9223372036854775808");
}
END_TEST

START_TEST(test_value_int_overflow_is_an_error)
{
    parse_bad(ROWSYNC_TYPE_INT, "9223372036854775808");
    parse_bad(ROWSYNC_TYPE_INT, "-9223372036854775809");
    parse_bad(ROWSYNC_TYPE_INT, "99999999999999999999999");
}
END_TEST

START_TEST(test_value_int_rejects_garbage)
{
    parse_bad(ROWSYNC_TYPE_INT, "");
    parse_bad(ROWSYNC_TYPE_INT, "-");
    parse_bad(ROWSYNC_TYPE_INT, "12a");
    parse_bad(ROWSYNC_TYPE_INT, "1.0");
    parse_bad(ROWSYNC_TYPE_INT, " 1");
    parse_bad(ROWSYNC_TYPE_INT, "1 ");
    parse_bad(ROWSYNC_TYPE_INT, "0x10");
}
END_TEST

/* ---- decimal ---------------------------------------------------------- */

START_TEST(test_value_decimal_keeps_digits)
{
    round_trip(ROWSYNC_TYPE_DECIMAL, "0", "0");
    round_trip(ROWSYNC_TYPE_DECIMAL, "1.50", "1.50");
    round_trip(ROWSYNC_TYPE_DECIMAL, "-0.5", "-0.5");
    round_trip(ROWSYNC_TYPE_DECIMAL, "-123.456000", "-123.456000");
    round_trip(ROWSYNC_TYPE_DECIMAL, "+2.5", "2.5");
    /* 38 significant digits: more than any double holds */
    round_trip(ROWSYNC_TYPE_DECIMAL, "12345678901234567890123456789012345678",
               "12345678901234567890123456789012345678");
    round_trip(ROWSYNC_TYPE_DECIMAL, "-1234567890123456789012345678.0123456789",
               "-1234567890123456789012345678.0123456789");
    round_trip(ROWSYNC_TYPE_DECIMAL, "0.00000000000000000000000000000000000001",
               "0.00000000000000000000000000000000000001");
}
END_TEST

START_TEST(test_value_decimal_points_into_text)
{
    const char *text = "  -3.14  ";
    rowsync_value_t v;

    ck_assert_int_eq(
        rowsync_value_parse(ROWSYNC_TYPE_DECIMAL, text + 2, 5, NULL, &v, NULL),
        0);
    ck_assert_ptr_eq(v.u.bytes.ptr, text + 2);
    ck_assert_uint_eq(v.u.bytes.len, 5);
}
END_TEST

START_TEST(test_value_decimal_rejects_other_forms)
{
    parse_bad(ROWSYNC_TYPE_DECIMAL, "");
    parse_bad(ROWSYNC_TYPE_DECIMAL, "1e5");
    parse_bad(ROWSYNC_TYPE_DECIMAL, ".5");
    parse_bad(ROWSYNC_TYPE_DECIMAL, "5.");
    parse_bad(ROWSYNC_TYPE_DECIMAL, "--1");
    parse_bad(ROWSYNC_TYPE_DECIMAL, "1,5");
    parse_bad(ROWSYNC_TYPE_DECIMAL, "NaN");
    parse_bad(ROWSYNC_TYPE_DECIMAL, "1.2.3");
    parse_bad(ROWSYNC_TYPE_DECIMAL, " 1");
}
END_TEST

/* ---- double ----------------------------------------------------------- */

/* Formats d, parses the text and expects the very same bits back. Plain
 * ifs: this runs many thousand times and every ck_assert costs a write. */
static void double_bits_survive(double d)
{
    char buf[64];
    rowsync_value_t v = mk_double(d), w;
    rowsync_error_t err;

    rowsync_value_format(&v, buf, sizeof buf);
    if (rowsync_value_parse(ROWSYNC_TYPE_DOUBLE, buf, strlen(buf), NULL, &w,
                            &err) != 0)
        ck_abort_msg("'%s' does not parse: %s", buf, err.message);
    if (memcmp(&w.u.d, &d, sizeof d) != 0)
        ck_abort_msg("%.17g came back as %.17g via '%s'", d, w.u.d, buf);
}

START_TEST(test_value_double_shortest_text)
{
    round_trip(ROWSYNC_TYPE_DOUBLE, "0.1", "0.1");
    round_trip(ROWSYNC_TYPE_DOUBLE, "1e-300", "1e-300");
    round_trip(ROWSYNC_TYPE_DOUBLE, "1.5", "1.5");
    round_trip(ROWSYNC_TYPE_DOUBLE, "100", "100");
    round_trip(ROWSYNC_TYPE_DOUBLE, "-2.5e+100", "-2.5e+100");
    /* 0.1 + 0.2 needs all 17 digits */
    round_trip(ROWSYNC_TYPE_DOUBLE, "0.30000000000000004",
               "0.30000000000000004");
}
END_TEST

START_TEST(test_value_double_negative_zero)
{
    rowsync_value_t v;

    round_trip(ROWSYNC_TYPE_DOUBLE, "-0.0", "-0");
    v = parse_ok(ROWSYNC_TYPE_DOUBLE, "-0", NULL);
    ck_assert(signbit(v.u.d));
    double_bits_survive(-0.0);
    double_bits_survive(0.0);
}
END_TEST

START_TEST(test_value_double_special_values)
{
    rowsync_value_t v;

    round_trip(ROWSYNC_TYPE_DOUBLE, "Infinity", "Infinity");
    round_trip(ROWSYNC_TYPE_DOUBLE, "-Infinity", "-Infinity");
    round_trip(ROWSYNC_TYPE_DOUBLE, "NaN", "NaN");
    round_trip(ROWSYNC_TYPE_DOUBLE, "inf", "Infinity");
    v = parse_ok(ROWSYNC_TYPE_DOUBLE, "NaN", NULL);
    ck_assert(isnan(v.u.d));
}
END_TEST

START_TEST(test_value_double_bits_survive)
{
    static const double samples[] = {1.0 / 3,
                                     2.0 / 3,
                                     0.1,
                                     1e-300,
                                     DBL_MAX,
                                     -DBL_MAX,
                                     DBL_MIN,
                                     4.9406564584124654e-324,
                                     1e22,
                                     1e23,
                                     123456789012345678.0,
                                     9007199254740993.0};
    uint64_t x = 88172645463325252u;
    size_t i;

    for (i = 0; i < sizeof samples / sizeof samples[0]; i++)
        double_bits_survive(samples[i]);
    /* many arbitrary bit patterns (xorshift64), NaNs skipped */
    for (i = 0; i < 20000; i++) {
        double d;

        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        memcpy(&d, &x, sizeof d);
        if (!isnan(d))
            double_bits_survive(d);
    }
}
END_TEST

/* The shortest of %.15g, %.16g and %.17g that reads back as d: the
 * canonical text of a double (common.h), written the slow way as the
 * reference for the formatter's decimal fast path. */
static void reference_double_text(double d, char *out, size_t len)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(out, len, "%.*g", prec, d);
        if (strtod(out, NULL) == d)
            return;
    }
}

/* Decimal-looking doubles (m / 10^k, both signs, the edges of the range
 * written without an exponent) get exactly the reference text. */
START_TEST(test_value_double_decimals_match_reference)
{
    static const double p10[] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8,
                                 1e9, 1e10};
    static const double edges[] = {1e-4, 9.9999999999999e-5, 0.00012,
                                   1e15, 999999999999999.0, 99999999999999.9,
                                   999999999999999.9, 0.30000000000000004,
                                   123456.789, 1.5, 2.5e-4, 4503599627370497.0};
    uint64_t x = 0x9E3779B97F4A7C15u;
    char want[64], got[64];

    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) {
        for (int sign = 0; sign < 2; sign++) {
            double d = sign ? -edges[i] : edges[i];
            rowsync_value_t v = mk_double(d);
            reference_double_text(d, want, sizeof want);
            rowsync_value_format(&v, got, sizeof got);
            ck_assert_msg(strcmp(want, got) == 0, "%.17g: '%s', expected '%s'",
                          d, got, want);
        }
    }
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        uint64_t digits = x % 10000000000000000u; /* up to 16 digits */
        int k = (int)((x >> 56) % 11);
        double d = (double)(digits >> ((x >> 50) % 40)) / p10[k];
        if (x & 1)
            d = -d;
        rowsync_value_t v = mk_double(d);
        reference_double_text(d, want, sizeof want);
        rowsync_value_format(&v, got, sizeof got);
        if (strcmp(want, got) != 0)
            ck_abort_msg("%.17g: '%s', expected '%s'", d, got, want);
    }
}
END_TEST

/* Short decimal texts read as exactly what strtod reads (the parser's
 * fast path divides; strtod is the reference). */
START_TEST(test_value_double_parse_matches_strtod)
{
    uint64_t x = 0x2545F4914F6CDD1Du;
    char text[40];
    rowsync_value_t v;
    rowsync_error_t err;

    for (int i = 0; i < 200000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int ndigits = 1 + (int)(x % 17), point = (int)((x >> 8) % 19);
        size_t n = 0;
        if (x & 0x10000)
            text[n++] = '-';
        uint64_t y = x;
        for (int d = 0; d < ndigits; d++) {
            if (d == point)
                text[n++] = '.';
            text[n++] = (char)('0' + y % 10);
            y = y / 10 ^ (y << 7);
        }
        text[n] = '\0';
        if (rowsync_value_parse(ROWSYNC_TYPE_DOUBLE, text, n, NULL, &v,
                                &err) != 0)
            ck_abort_msg("'%s' does not parse: %s", text, err.message);
        double want = strtod(text, NULL);
        if (memcmp(&want, &v.u.d, sizeof want) != 0)
            ck_abort_msg("'%s' read as %.17g, strtod says %.17g", text,
                         v.u.d, want);
    }
    ck_assert_int_ne(rowsync_value_parse(ROWSYNC_TYPE_DOUBLE, ".", 1, NULL,
                                         &v, &err),
                     0);
    ck_assert_int_ne(rowsync_value_parse(ROWSYNC_TYPE_DOUBLE, "1.2.3", 5,
                                         NULL, &v, &err),
                     0);
    v = parse_ok(ROWSYNC_TYPE_DOUBLE, "-0", NULL);
    ck_assert(signbit(v.u.d));
}
END_TEST

/* Integers, dates and times keep their text at the edges of their
 * digit counts (the formatter writes digits itself). */
START_TEST(test_value_fixed_texts)
{
    char buf[64];
    rowsync_value_t v;

    v.type = ROWSYNC_TYPE_INT;
    v.u.i = INT64_MIN;
    rowsync_value_format(&v, buf, sizeof buf);
    ck_assert_str_eq(buf, "-9223372036854775808");
    v.u.i = INT64_MAX;
    rowsync_value_format(&v, buf, sizeof buf);
    ck_assert_str_eq(buf, "9223372036854775807");
    v.u.i = 0;
    rowsync_value_format(&v, buf, sizeof buf);
    ck_assert_str_eq(buf, "0");
    v.u.i = -7;
    rowsync_value_format(&v, buf, sizeof buf);
    ck_assert_str_eq(buf, "-7");
    round_trip(ROWSYNC_TYPE_DATE, "0001-01-01", "0001-01-01");
    round_trip(ROWSYNC_TYPE_DATE, "0099-12-31", "0099-12-31");
    round_trip(ROWSYNC_TYPE_TIMESTAMP, "2026-01-02 03:04:05.000006",
               "2026-01-02 03:04:05.000006");
    round_trip(ROWSYNC_TYPE_TIMESTAMP, "2026-01-02 03:04:05.1",
               "2026-01-02 03:04:05.100000");
    round_trip(ROWSYNC_TYPE_TIMESTAMPTZ, "1970-01-01 00:00:00+00",
               "1970-01-01 00:00:00+00:00");
    round_trip(ROWSYNC_TYPE_TIME, "00:00:00", "00:00:00");
}
END_TEST

/* Switches LC_NUMERIC to a locale with a decimal comma: de_DE.UTF-8 when
 * installed, else one built with localedef into dir (the locale sources
 * come with Debian's `locales` package, which postgresql pulls in).
 * Returns 0 when no such locale can be had. */
static int use_comma_locale(char *dir, int *made)
{
    char cmd[256];

    if (setlocale(LC_NUMERIC, "de_DE.UTF-8") != NULL)
        return 1;
    if (mkdtemp(dir) == NULL)
        return 0;
    *made = 1;
    snprintf(cmd, sizeof cmd,
             "localedef -i de_DE -f UTF-8 %s/de_DE.UTF-8 >/dev/null 2>&1", dir);
    if (system(cmd) != 0)
        return 0;
    setenv("LOCPATH", dir, 1);
    return setlocale(LC_NUMERIC, "de_DE.UTF-8") != NULL;
}

/* A program that calls setlocale() must not change the text of doubles.
 * Passes with a note when no decimal-comma locale can be made here. */
START_TEST(test_value_double_ignores_program_locale)
{
    char dir[] = "/tmp/rowsync-locale-XXXXXX", buf[64], cmd[64];
    rowsync_value_t v = mk_double(1.5);
    int made = 0;

    if (!use_comma_locale(dir, &made)) {
        fprintf(stderr, "note: no de_DE locale (install `locales`); "
                        "locale test not run\n");
    } else {
        snprintf(buf, sizeof buf, "%.1f", 1.5);
        ck_assert_str_eq(buf, "1,5"); /* the locale is in effect */
        rowsync_value_format(&v, buf, sizeof buf);
        ck_assert_str_eq(buf, "1.5");
        ck_assert(parse_ok(ROWSYNC_TYPE_DOUBLE, "2.25", NULL).u.d == 2.25);
        parse_bad(ROWSYNC_TYPE_DOUBLE, "2,25");
        setlocale(LC_NUMERIC, "C");
    }
    if (made) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        ck_assert_int_eq(system(cmd), 0);
    }
}
END_TEST

START_TEST(test_value_double_rejects_garbage)
{
    parse_bad(ROWSYNC_TYPE_DOUBLE, "");
    parse_bad(ROWSYNC_TYPE_DOUBLE, "abc");
    parse_bad(ROWSYNC_TYPE_DOUBLE, "1.5x");
    parse_bad(ROWSYNC_TYPE_DOUBLE, " 1");
    parse_bad(ROWSYNC_TYPE_DOUBLE, "1,5");
    parse_bad(ROWSYNC_TYPE_DOUBLE, "1e999");
    parse_bad(ROWSYNC_TYPE_DOUBLE, "-1e999");
}
END_TEST

/* ---- text, json, uuid --------------------------------------------------- */

START_TEST(test_value_text_points_into_input)
{
    static const char text[] = "a\0b\xc3\xa9";
    rowsync_value_t v;
    char buf[16];

    ck_assert_int_eq(rowsync_value_parse(ROWSYNC_TYPE_TEXT, text,
                                         sizeof text - 1, NULL, &v, NULL),
                     0);
    ck_assert_ptr_eq(v.u.bytes.ptr, text);
    ck_assert_uint_eq(v.u.bytes.len, 5);
    ck_assert_uint_eq(rowsync_value_format(&v, buf, sizeof buf), 5);
    ck_assert_int_eq(memcmp(buf, text, 5), 0);
    round_trip(ROWSYNC_TYPE_TEXT, "", "");
    round_trip(ROWSYNC_TYPE_TEXT, " spaces kept ", " spaces kept ");
    round_trip(ROWSYNC_TYPE_JSON, "{\"a\": [1, 2]}", "{\"a\": [1, 2]}");
}
END_TEST

START_TEST(test_value_uuid_canonical_lower_case)
{
    const char *upper = "123E4567-E89B-12D3-A456-426614174000";
    rowsync_value_t v = parse_ok(ROWSYNC_TYPE_UUID, upper, NULL);

    ck_assert_ptr_eq(v.u.bytes.ptr, upper);
    round_trip(ROWSYNC_TYPE_UUID, upper,
               "123e4567-e89b-12d3-a456-426614174000");
    round_trip(ROWSYNC_TYPE_UUID, "00000000-0000-0000-0000-000000000000",
               "00000000-0000-0000-0000-000000000000");
}
END_TEST

START_TEST(test_value_uuid_rejects_other_shapes)
{
    parse_bad(ROWSYNC_TYPE_UUID, "");
    parse_bad(ROWSYNC_TYPE_UUID, "123e4567e89b12d3a456426614174000");
    parse_bad(ROWSYNC_TYPE_UUID, "{123e4567-e89b-12d3-a456-426614174000}");
    parse_bad(ROWSYNC_TYPE_UUID, "123e4567-e89b-12d3-a456-42661417400g");
    parse_bad(ROWSYNC_TYPE_UUID, "123e4567-e89b-12d3-a456_426614174000");
}
END_TEST

/* ---- binary ----------------------------------------------------------- */

START_TEST(test_value_binary_with_nul_bytes)
{
    static const char raw[] = {0x00, (char)0xff, 0x10, 0x00, 0x7f};
    unsigned char scratch[16];
    rowsync_value_t v = mk_bytes(ROWSYNC_TYPE_BINARY, raw, sizeof raw), w;
    char buf[64];

    ck_assert_uint_eq(rowsync_value_format(&v, buf, sizeof buf), 12);
    ck_assert_str_eq(buf, "\\x00ff10007f");
    w = parse_ok(ROWSYNC_TYPE_BINARY, buf, scratch);
    ck_assert_ptr_eq(w.u.bytes.ptr, (const char *)scratch);
    ck_assert_uint_eq(w.u.bytes.len, sizeof raw);
    ck_assert_int_eq(memcmp(scratch, raw, sizeof raw), 0);
    ck_assert_int_eq(cmp(v, w), 0);
}
END_TEST

START_TEST(test_value_binary_text_forms)
{
    round_trip(ROWSYNC_TYPE_BINARY, "\\x", "\\x");
    round_trip(ROWSYNC_TYPE_BINARY, "\\XDEADbeef", "\\xdeadbeef");
    round_trip(ROWSYNC_TYPE_BINARY, "0a0b", "\\x0a0b");
}
END_TEST

START_TEST(test_value_binary_decodes_in_place)
{
    char text[] = "\\x41420043";
    rowsync_value_t v;

    ck_assert_int_eq(rowsync_value_parse(ROWSYNC_TYPE_BINARY, text,
                                         strlen(text), text, &v, NULL),
                     0);
    ck_assert_uint_eq(v.u.bytes.len, 4);
    ck_assert_int_eq(memcmp(v.u.bytes.ptr, "AB\0C", 4), 0);
}
END_TEST

START_TEST(test_value_binary_rejects_bad_hex)
{
    parse_bad(ROWSYNC_TYPE_BINARY, "\\x0");
    parse_bad(ROWSYNC_TYPE_BINARY, "\\xzz");
    parse_bad(ROWSYNC_TYPE_BINARY, "\\x0g");
    parse_bad(ROWSYNC_TYPE_BINARY, "x00");
}
END_TEST

/* ---- date ------------------------------------------------------------- */

START_TEST(test_value_date_round_trip)
{
    ck_assert_int_eq(parse_ok(ROWSYNC_TYPE_DATE, "1970-01-01", NULL).u.date, 0);
    ck_assert_int_eq(parse_ok(ROWSYNC_TYPE_DATE, "1969-12-31", NULL).u.date,
                     -1);
    round_trip(ROWSYNC_TYPE_DATE, "0001-01-01", "0001-01-01");
    round_trip(ROWSYNC_TYPE_DATE, "9999-12-31", "9999-12-31");
    round_trip(ROWSYNC_TYPE_DATE, "2024-02-29", "2024-02-29");
    round_trip(ROWSYNC_TYPE_DATE, "2000-02-29", "2000-02-29");
    round_trip(ROWSYNC_TYPE_DATE, "1900-02-28", "1900-02-28");
    round_trip(ROWSYNC_TYPE_DATE, "2023-12-31", "2023-12-31");
}
END_TEST

START_TEST(test_value_date_rejects_impossible_days)
{
    parse_bad(ROWSYNC_TYPE_DATE, "2023-02-29");
    parse_bad(ROWSYNC_TYPE_DATE, "1900-02-29");
    parse_bad(ROWSYNC_TYPE_DATE, "2024-04-31");
    parse_bad(ROWSYNC_TYPE_DATE, "2024-13-01");
    parse_bad(ROWSYNC_TYPE_DATE, "2024-00-10");
    parse_bad(ROWSYNC_TYPE_DATE, "2024-01-00");
    parse_bad(ROWSYNC_TYPE_DATE, "0000-01-01");
}
END_TEST

START_TEST(test_value_date_rejects_other_shapes)
{
    parse_bad(ROWSYNC_TYPE_DATE, "");
    parse_bad(ROWSYNC_TYPE_DATE, "2024-1-01");
    parse_bad(ROWSYNC_TYPE_DATE, "24-01-01");
    parse_bad(ROWSYNC_TYPE_DATE, "2024/01/01");
    parse_bad(ROWSYNC_TYPE_DATE, "2024-01-01x");
    parse_bad(ROWSYNC_TYPE_DATE, "2024-01-01 00:00:00");
}
END_TEST

/* ---- time ------------------------------------------------------------- */

START_TEST(test_value_time_round_trip)
{
    ck_assert(parse_ok(ROWSYNC_TYPE_TIME, "00:00:00", NULL).u.i == 0);
    ck_assert(parse_ok(ROWSYNC_TYPE_TIME, "00:00:00.000001", NULL).u.i == 1);
    ck_assert(parse_ok(ROWSYNC_TYPE_TIME, "01:02:03.5", NULL).u.i ==
              INT64_C(3723500000));
    round_trip(ROWSYNC_TYPE_TIME, "00:00:00", "00:00:00");
    round_trip(ROWSYNC_TYPE_TIME, "23:59:59.999999", "23:59:59.999999");
    round_trip(ROWSYNC_TYPE_TIME, "12:34:56.5", "12:34:56.500000");
    round_trip(ROWSYNC_TYPE_TIME, "12:34:56.000120", "12:34:56.000120");
    round_trip(ROWSYNC_TYPE_TIME, "08:00:00.000000", "08:00:00");
    round_trip(ROWSYNC_TYPE_TIME, "24:00:00", "24:00:00");
}
END_TEST

START_TEST(test_value_time_rejects_bad_times)
{
    parse_bad(ROWSYNC_TYPE_TIME, "24:00:01");
    parse_bad(ROWSYNC_TYPE_TIME, "25:00:00");
    parse_bad(ROWSYNC_TYPE_TIME, "12:60:00");
    parse_bad(ROWSYNC_TYPE_TIME, "12:00:60");
    parse_bad(ROWSYNC_TYPE_TIME, "12:00:00.1234567");
    parse_bad(ROWSYNC_TYPE_TIME, "12:00:00.");
    parse_bad(ROWSYNC_TYPE_TIME, "12:00");
    parse_bad(ROWSYNC_TYPE_TIME, "1:00:00");
    parse_bad(ROWSYNC_TYPE_TIME, "12:00:00Z");
}
END_TEST

START_TEST(test_value_time_formats_out_of_day_values)
{
    /* MySQL TIME spans -838:59:59 .. 838:59:59: printed, never wrapped */
    rowsync_value_t v;
    char buf[32];

    v.type = ROWSYNC_TYPE_TIME;
    v.u.i = -INT64_C(3600000000);
    rowsync_value_format(&v, buf, sizeof buf);
    ck_assert_str_eq(buf, "-01:00:00");
    v.u.i = INT64_C(838) * 3600000000 + INT64_C(59) * 60000000 +
            INT64_C(59) * 1000000;
    rowsync_value_format(&v, buf, sizeof buf);
    ck_assert_str_eq(buf, "838:59:59");
}
END_TEST

/* ---- timestamp -------------------------------------------------------- */

START_TEST(test_value_timestamp_round_trip)
{
    ck_assert(
        parse_ok(ROWSYNC_TYPE_TIMESTAMP, "1970-01-01 00:00:00", NULL).u.i == 0);
    round_trip(ROWSYNC_TYPE_TIMESTAMP, "2024-02-29 13:45:01",
               "2024-02-29 13:45:01");
    round_trip(ROWSYNC_TYPE_TIMESTAMP, "2024-02-29T13:45:01.25",
               "2024-02-29 13:45:01.250000");
    round_trip(ROWSYNC_TYPE_TIMESTAMP, "0001-01-01 00:00:00",
               "0001-01-01 00:00:00");
    round_trip(ROWSYNC_TYPE_TIMESTAMP, "9999-12-31 23:59:59.999999",
               "9999-12-31 23:59:59.999999");
}
END_TEST

START_TEST(test_value_timestamp_before_1970)
{
    rowsync_value_t v;
    char buf[64];

    ck_assert(
        parse_ok(ROWSYNC_TYPE_TIMESTAMP, "1969-12-31 23:59:59.999999", NULL)
            .u.i == -1);
    v.type = ROWSYNC_TYPE_TIMESTAMP;
    v.u.i = -1;
    rowsync_value_format(&v, buf, sizeof buf);
    ck_assert_str_eq(buf, "1969-12-31 23:59:59.999999");
    v.u.i = -INT64_C(86400000000);
    rowsync_value_format(&v, buf, sizeof buf);
    ck_assert_str_eq(buf, "1969-12-31 00:00:00");
    round_trip(ROWSYNC_TYPE_TIMESTAMP, "1900-01-01 00:00:00.000001",
               "1900-01-01 00:00:00.000001");
    round_trip(ROWSYNC_TYPE_TIMESTAMP, "1066-10-14 09:30:00",
               "1066-10-14 09:30:00");
}
END_TEST

START_TEST(test_value_timestamp_rejects_bad_text)
{
    parse_bad(ROWSYNC_TYPE_TIMESTAMP, "2024-01-01");
    parse_bad(ROWSYNC_TYPE_TIMESTAMP, "2024-01-01 25:00:00");
    parse_bad(ROWSYNC_TYPE_TIMESTAMP, "2024-01-01_10:00:00");
    parse_bad(ROWSYNC_TYPE_TIMESTAMP, "2024-01-01 10:00:00+01:00");
    parse_bad(ROWSYNC_TYPE_TIMESTAMP, "2023-02-29 10:00:00");
}
END_TEST

/* ---- timestamptz ------------------------------------------------------ */

START_TEST(test_value_timestamptz_converts_to_utc)
{
    const char *utc = "2024-06-01 10:00:00+00:00";

    round_trip(ROWSYNC_TYPE_TIMESTAMPTZ, "2024-06-01 12:00:00+02:00", utc);
    round_trip(ROWSYNC_TYPE_TIMESTAMPTZ, "2024-06-01 12:00:00+02", utc);
    round_trip(ROWSYNC_TYPE_TIMESTAMPTZ, "2024-06-01 12:00:00+0200", utc);
    round_trip(ROWSYNC_TYPE_TIMESTAMPTZ, "2024-06-01T10:00:00Z", utc);
    round_trip(ROWSYNC_TYPE_TIMESTAMPTZ, "2024-06-01 10:00:00", utc);
    round_trip(ROWSYNC_TYPE_TIMESTAMPTZ, "2024-06-01 15:30:00 +05:30", utc);
    round_trip(ROWSYNC_TYPE_TIMESTAMPTZ, "2024-06-01 04:00:00-06:00", utc);
    round_trip(ROWSYNC_TYPE_TIMESTAMPTZ, "2024-06-01 04:00:00.5-06:00",
               "2024-06-01 10:00:00.500000+00:00");
    /* across a day and a year boundary */
    round_trip(ROWSYNC_TYPE_TIMESTAMPTZ, "2024-12-31 20:00:00-08:00",
               "2025-01-01 04:00:00+00:00");
    round_trip(ROWSYNC_TYPE_TIMESTAMPTZ, "2024-03-01 00:30:00+01:00",
               "2024-02-29 23:30:00+00:00");
}
END_TEST

START_TEST(test_value_timestamptz_before_1970)
{
    rowsync_value_t v;
    char buf[64];

    round_trip(ROWSYNC_TYPE_TIMESTAMPTZ, "1960-01-01 00:30:00+01:00",
               "1959-12-31 23:30:00+00:00");
    v.type = ROWSYNC_TYPE_TIMESTAMPTZ;
    v.u.i = -1;
    rowsync_value_format(&v, buf, sizeof buf);
    ck_assert_str_eq(buf, "1969-12-31 23:59:59.999999+00:00");
}
END_TEST

START_TEST(test_value_timestamptz_rejects_bad_offsets)
{
    parse_bad(ROWSYNC_TYPE_TIMESTAMPTZ, "2024-06-01 12:00:00+25:00");
    parse_bad(ROWSYNC_TYPE_TIMESTAMPTZ, "2024-06-01 12:00:00+05:60");
    parse_bad(ROWSYNC_TYPE_TIMESTAMPTZ, "2024-06-01 12:00:00+5");
    parse_bad(ROWSYNC_TYPE_TIMESTAMPTZ, "2024-06-01 12:00:00 UTC");
    parse_bad(ROWSYNC_TYPE_TIMESTAMPTZ, "2024-06-01 12:00:00+02:00 ");
    /* in range locally, out of range in UTC */
    parse_bad(ROWSYNC_TYPE_TIMESTAMPTZ, "0001-01-01 00:00:00+01:00");
    parse_bad(ROWSYNC_TYPE_TIMESTAMPTZ, "9999-12-31 23:00:00-01:00");
}
END_TEST

/* ---- errors and formatting ------------------------------------------------
 */

START_TEST(test_value_parse_error_message)
{
    rowsync_error_t err;
    rowsync_value_t v;

    ck_assert_int_eq(
        rowsync_value_parse(ROWSYNC_TYPE_INT, "12x", 3, NULL, &v, &err),
        ROWSYNC_ECONVERT);
    ck_assert_ptr_nonnull(strstr(err.message, "'12x'"));
    ck_assert_ptr_nonnull(strstr(err.message, "int"));
    /* err may be NULL */
    ck_assert_int_eq(
        rowsync_value_parse(ROWSYNC_TYPE_INT, "x", 1, NULL, &v, NULL),
        ROWSYNC_ECONVERT);
    /* long and unprintable input is cut and masked */
    ck_assert_int_eq(
        rowsync_value_parse(ROWSYNC_TYPE_DATE,
                            "\x01xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
                            60, NULL, &v, &err),
        ROWSYNC_ECONVERT);
    ck_assert_ptr_nonnull(strstr(err.message, "'?xxx"));
    ck_assert_ptr_nonnull(strstr(err.message, "...'"));
}
END_TEST

START_TEST(test_value_format_truncates_like_snprintf)
{
    rowsync_value_t v = mk_int(-1234567);
    rowsync_value_t b = mk_bytes(ROWSYNC_TYPE_BINARY, "\x01\x02\x03", 3);
    char buf[5];

    memset(buf, 'z', sizeof buf);
    ck_assert_uint_eq(rowsync_value_format(&v, buf, sizeof buf), 8);
    ck_assert_str_eq(buf, "-123");
    ck_assert_uint_eq(rowsync_value_format(&b, buf, sizeof buf), 8);
    ck_assert_str_eq(buf, "\\x01");
    memset(buf, 'z', sizeof buf);
    ck_assert_uint_eq(rowsync_value_format(&v, buf, 0), 8);
    ck_assert_int_eq(buf[0], 'z');
    ck_assert_uint_eq(rowsync_value_format(&v, NULL, 0), 8);
    v.type = ROWSYNC_TYPE_NULL;
    ck_assert_uint_eq(rowsync_value_format(&v, buf, sizeof buf), 0);
    ck_assert_str_eq(buf, "");
}
END_TEST

/* ---- ordering --------------------------------------------------------- */

START_TEST(test_value_compare_null_first)
{
    rowsync_value_t null;

    null.type = ROWSYNC_TYPE_NULL;
    ck_assert_int_lt(cmp(null, mk_int(INT64_MIN)), 0);
    ck_assert_int_gt(cmp(mk_text(ROWSYNC_TYPE_TEXT, ""), null), 0);
    ck_assert_int_eq(cmp(null, null), 0);
}
END_TEST

START_TEST(test_value_compare_numbers)
{
    ck_assert_int_lt(cmp(mk_int(-5), mk_int(3)), 0);
    ck_assert_int_gt(cmp(mk_int(INT64_MAX), mk_int(INT64_MIN)), 0);
    ck_assert_int_eq(cmp(mk_int(7), mk_int(7)), 0);
    ck_assert_int_lt(cmp(mk_double(-1.5), mk_double(0.25)), 0);
    ck_assert_int_eq(cmp(mk_double(-0.0), mk_double(0.0)), 0);
    ck_assert_int_gt(cmp(mk_double(NAN), mk_double(INFINITY)), 0);
    ck_assert_int_lt(cmp(mk_double(-INFINITY), mk_double(NAN)), 0);
    ck_assert_int_eq(cmp(mk_double(NAN), mk_double(NAN)), 0);
    ck_assert_int_lt(cmp(parse_ok(ROWSYNC_TYPE_BOOL, "false", NULL),
                         parse_ok(ROWSYNC_TYPE_BOOL, "true", NULL)),
                     0);
}
END_TEST

START_TEST(test_value_compare_times)
{
    ck_assert_int_lt(cmp(parse_ok(ROWSYNC_TYPE_DATE, "1969-12-31", NULL),
                         parse_ok(ROWSYNC_TYPE_DATE, "1970-01-01", NULL)),
                     0);
    ck_assert_int_lt(cmp(parse_ok(ROWSYNC_TYPE_TIME, "09:59:59.999999", NULL),
                         parse_ok(ROWSYNC_TYPE_TIME, "10:00:00", NULL)),
                     0);
    ck_assert_int_lt(
        cmp(parse_ok(ROWSYNC_TYPE_TIMESTAMP, "1960-05-01 00:00:00", NULL),
            parse_ok(ROWSYNC_TYPE_TIMESTAMP, "1960-05-01 00:00:00.000001",
                     NULL)),
        0);
    ck_assert_int_eq(
        cmp(parse_ok(ROWSYNC_TYPE_TIMESTAMPTZ, "2024-01-01 12:00:00+01:00",
                     NULL),
            parse_ok(ROWSYNC_TYPE_TIMESTAMPTZ, "2024-01-01 11:00:00Z", NULL)),
        0);
}
END_TEST

static int qsort_decimal(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    rowsync_value_t u = mk_text(ROWSYNC_TYPE_DECIMAL, x);
    rowsync_value_t v = mk_text(ROWSYNC_TYPE_DECIMAL, y);

    return rowsync_value_compare(&u, &v);
}

START_TEST(test_value_compare_decimals_exactly)
{
    const char *sorted[] = {
        "-100",   "-10.5",
        "-2",     "-1.99999999999999999999",
        "-0.001", "0",
        "0.001",  "0.09",
        "0.1",    "1.00000000000000000000000000000000000001",
        "10",     "99.999",
        "100",    "12345678901234567890123456789012345678"};
    const char *shuffled[14];
    size_t n = sizeof sorted / sizeof sorted[0], i;

    /* the order the task names */
    ck_assert_int_lt(qsort_decimal(&sorted[1], &sorted[2]), 0);
    for (i = 0; i < n; i++)
        shuffled[i] = sorted[(i * 5 + 3) % n];
    qsort(shuffled, n, sizeof shuffled[0], qsort_decimal);
    for (i = 0; i < n; i++)
        ck_assert_str_eq(shuffled[i], sorted[i]);
}
END_TEST

START_TEST(test_value_compare_decimal_equal_spellings)
{
    ck_assert_int_eq(cmp(mk_text(ROWSYNC_TYPE_DECIMAL, "1.50"),
                         mk_text(ROWSYNC_TYPE_DECIMAL, "1.5")),
                     0);
    ck_assert_int_eq(cmp(mk_text(ROWSYNC_TYPE_DECIMAL, "-0"),
                         mk_text(ROWSYNC_TYPE_DECIMAL, "0.000")),
                     0);
    ck_assert_int_eq(cmp(mk_text(ROWSYNC_TYPE_DECIMAL, "007"),
                         mk_text(ROWSYNC_TYPE_DECIMAL, "7.0")),
                     0);
    ck_assert_int_lt(cmp(mk_text(ROWSYNC_TYPE_DECIMAL, "-0.5"),
                         mk_text(ROWSYNC_TYPE_DECIMAL, "0")),
                     0);
}
END_TEST

START_TEST(test_value_compare_bytes)
{
    ck_assert_int_lt(cmp(mk_text(ROWSYNC_TYPE_TEXT, "ab"),
                         mk_text(ROWSYNC_TYPE_TEXT, "abc")),
                     0);
    ck_assert_int_lt(cmp(mk_text(ROWSYNC_TYPE_TEXT, "abc"),
                         mk_text(ROWSYNC_TYPE_TEXT, "abd")),
                     0);
    ck_assert_int_gt(cmp(mk_text(ROWSYNC_TYPE_TEXT, "\xc3\xa9"),
                         mk_text(ROWSYNC_TYPE_TEXT, "z")),
                     0);
    ck_assert_int_lt(cmp(mk_bytes(ROWSYNC_TYPE_BINARY, "a\0", 2),
                         mk_bytes(ROWSYNC_TYPE_BINARY, "a\0\0", 3)),
                     0);
    ck_assert_int_gt(cmp(mk_bytes(ROWSYNC_TYPE_BINARY, "\x80", 1),
                         mk_bytes(ROWSYNC_TYPE_BINARY, "\x7f", 1)),
                     0);
    /* an empty value may carry a NULL pointer */
    ck_assert_int_eq(cmp(mk_bytes(ROWSYNC_TYPE_TEXT, NULL, 0),
                         mk_text(ROWSYNC_TYPE_TEXT, "")),
                     0);
    ck_assert_int_lt(cmp(mk_bytes(ROWSYNC_TYPE_BINARY, NULL, 0),
                         mk_bytes(ROWSYNC_TYPE_BINARY, "\0", 1)),
                     0);
    ck_assert_int_eq(
        cmp(mk_text(ROWSYNC_TYPE_JSON, "{}"), mk_text(ROWSYNC_TYPE_JSON, "{}")),
        0);
    ck_assert_int_eq(
        cmp(mk_text(ROWSYNC_TYPE_UUID, "123E4567-E89B-12D3-A456-426614174000"),
            mk_text(ROWSYNC_TYPE_UUID, "123e4567-e89b-12d3-a456-426614174000")),
        0);
}
END_TEST

START_TEST(test_value_compare_mixed_types_by_text)
{
    ck_assert_int_eq(cmp(mk_int(10), mk_text(ROWSYNC_TYPE_TEXT, "10")), 0);
    ck_assert_int_gt(cmp(mk_int(9), mk_text(ROWSYNC_TYPE_TEXT, "10")), 0);
    ck_assert_int_eq(cmp(mk_int(10), mk_text(ROWSYNC_TYPE_DECIMAL, "10")), 0);
    ck_assert_int_eq(cmp(mk_bytes(ROWSYNC_TYPE_BINARY, "\xab", 1),
                         mk_text(ROWSYNC_TYPE_TEXT, "\\xab")),
                     0);
    ck_assert_int_eq(cmp(parse_ok(ROWSYNC_TYPE_DATE, "2024-02-29", NULL),
                         mk_text(ROWSYNC_TYPE_TEXT, "2024-02-29")),
                     0);
    ck_assert_int_lt(cmp(mk_double(1.5), mk_text(ROWSYNC_TYPE_TEXT, "1.6")), 0);
}
END_TEST

/* ---- calendar --------------------------------------------------------- */

START_TEST(test_value_civil_known_days)
{
    ck_assert_int_eq(rowsync_days_from_civil(1970, 1, 1), 0);
    ck_assert_int_eq(rowsync_days_from_civil(2000, 3, 1), 11017);
    ck_assert_int_eq(rowsync_days_from_civil(1969, 12, 31), -1);
    ck_assert_int_eq(rowsync_days_from_civil(1, 1, 1), -719162);
    ck_assert_int_eq(rowsync_days_from_civil(9999, 12, 31), 2932896);
    ck_assert_int_eq(rowsync_days_from_civil(0, 3, 1), -719468);
}
END_TEST

/* Every day over about 11 000 years (and a wide band around) maps to a
 * valid date, the next day to the next date, and back to the same count. */
START_TEST(test_value_civil_round_trip_wide_range)
{
    int32_t days;
    int y, py;
    unsigned m, d, pm, pd;

    rowsync_civil_from_days(-800000, &py, &pm, &pd);
    for (days = -799999; days <= 3000000; days++) {
        int next_day, next_month;

        rowsync_civil_from_days(days, &y, &m, &d);
        next_day = d == pd + 1 && m == pm && y == py;
        next_month = d == 1 && m == (pm == 12 ? 1u : pm + 1) &&
                     y == (pm == 12 ? py + 1 : py);
        if (m < 1 || m > 12 || d < 1 || d > 31 || !(next_day || next_month))
            ck_abort_msg("day %d is %d-%u-%u after %d-%u-%u", (int)days, y, m,
                         d, py, pm, pd);
        if (rowsync_days_from_civil(y, m, d) != days)
            ck_abort_msg("day %d -> %d-%u-%u does not come back", (int)days, y,
                         m, d);
        py = y;
        pm = m;
        pd = d;
    }
}
END_TEST

START_TEST(test_value_civil_extremes)
{
    static const int32_t edges[] = {INT32_MIN,  INT32_MIN + 1, -1000000000,
                                    1000000000, INT32_MAX - 1, INT32_MAX};
    size_t i;
    int y;
    unsigned m, d;

    for (i = 0; i < sizeof edges / sizeof edges[0]; i++) {
        rowsync_civil_from_days(edges[i], &y, &m, &d);
        ck_assert_int_eq(rowsync_days_from_civil(y, m, d), edges[i]);
    }
}
END_TEST

static Suite *value_suite(void)
{
    Suite *s = suite_create("value");
    TCase *tc;

    tc = tcase_create("names");
    tcase_add_test(tc, test_value_type_names);
    suite_add_tcase(s, tc);

    tc = tcase_create("bool");
    tcase_add_test(tc, test_value_bool_round_trip);
    tcase_add_test(tc, test_value_bool_accepts_short_forms);
    tcase_add_test(tc, test_value_bool_rejects_other_words);
    suite_add_tcase(s, tc);

    tc = tcase_create("int");
    tcase_add_test(tc, test_value_int_round_trip);
    tcase_add_test(tc, test_value_int_full_range);
    tcase_add_test(tc, test_value_int_overflow_is_an_error);
    tcase_add_test(tc, test_value_int_rejects_garbage);
    suite_add_tcase(s, tc);

    tc = tcase_create("decimal");
    tcase_add_test(tc, test_value_decimal_keeps_digits);
    tcase_add_test(tc, test_value_decimal_points_into_text);
    tcase_add_test(tc, test_value_decimal_rejects_other_forms);
    suite_add_tcase(s, tc);

    tc = tcase_create("double");
    tcase_add_test(tc, test_value_double_shortest_text);
    tcase_add_test(tc, test_value_double_negative_zero);
    tcase_add_test(tc, test_value_double_special_values);
    tcase_add_test(tc, test_value_double_bits_survive);
    tcase_add_test(tc, test_value_double_decimals_match_reference);
    tcase_add_test(tc, test_value_fixed_texts);
    tcase_add_test(tc, test_value_double_parse_matches_strtod);
    tcase_add_test(tc, test_value_double_rejects_garbage);
    suite_add_tcase(s, tc);

    /* may build a locale with localedef: seconds on a busy machine */
    tc = tcase_create("locale");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_value_double_ignores_program_locale);
    suite_add_tcase(s, tc);

    tc = tcase_create("text");
    tcase_add_test(tc, test_value_text_points_into_input);
    tcase_add_test(tc, test_value_uuid_canonical_lower_case);
    tcase_add_test(tc, test_value_uuid_rejects_other_shapes);
    suite_add_tcase(s, tc);

    tc = tcase_create("binary");
    tcase_add_test(tc, test_value_binary_with_nul_bytes);
    tcase_add_test(tc, test_value_binary_text_forms);
    tcase_add_test(tc, test_value_binary_decodes_in_place);
    tcase_add_test(tc, test_value_binary_rejects_bad_hex);
    suite_add_tcase(s, tc);

    tc = tcase_create("date");
    tcase_add_test(tc, test_value_date_round_trip);
    tcase_add_test(tc, test_value_date_rejects_impossible_days);
    tcase_add_test(tc, test_value_date_rejects_other_shapes);
    suite_add_tcase(s, tc);

    tc = tcase_create("time");
    tcase_add_test(tc, test_value_time_round_trip);
    tcase_add_test(tc, test_value_time_rejects_bad_times);
    tcase_add_test(tc, test_value_time_formats_out_of_day_values);
    suite_add_tcase(s, tc);

    tc = tcase_create("timestamp");
    tcase_add_test(tc, test_value_timestamp_round_trip);
    tcase_add_test(tc, test_value_timestamp_before_1970);
    tcase_add_test(tc, test_value_timestamp_rejects_bad_text);
    tcase_add_test(tc, test_value_timestamptz_converts_to_utc);
    tcase_add_test(tc, test_value_timestamptz_before_1970);
    tcase_add_test(tc, test_value_timestamptz_rejects_bad_offsets);
    suite_add_tcase(s, tc);

    tc = tcase_create("errors");
    tcase_add_test(tc, test_value_parse_error_message);
    tcase_add_test(tc, test_value_format_truncates_like_snprintf);
    suite_add_tcase(s, tc);

    tc = tcase_create("compare");
    tcase_add_test(tc, test_value_compare_null_first);
    tcase_add_test(tc, test_value_compare_numbers);
    tcase_add_test(tc, test_value_compare_times);
    tcase_add_test(tc, test_value_compare_decimals_exactly);
    tcase_add_test(tc, test_value_compare_decimal_equal_spellings);
    tcase_add_test(tc, test_value_compare_bytes);
    tcase_add_test(tc, test_value_compare_mixed_types_by_text);
    suite_add_tcase(s, tc);

    tc = tcase_create("calendar");
    tcase_add_test(tc, test_value_civil_known_days);
    tcase_add_test(tc, test_value_civil_round_trip_wide_range);
    tcase_add_test(tc, test_value_civil_extremes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(value_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
