/* The value model: type names, the canonical text form of every type and
 * its parser, ordering, and the calendar arithmetic drivers share.
 *
 * Text forms are lossless: for every value parse accepts, formatting and
 * parsing again gives the same value. Numbers are written and read in the
 * "C" locale whatever the program's locale is. */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rowsync/common.h>

#define VAL_US_PER_SEC INT64_C(1000000)
#define VAL_US_PER_DAY INT64_C(86400000000)

/* Longest canonical text of a fixed-size value, NUL included, with room
 * to spare ("-5877641-06-23 23:59:59.999999+00:00" is 36 characters). */
#define VAL_FIXED_MAX 64

const char *rowsync_type_name(rowsync_type_t type)
{
    switch (type) {
    case ROWSYNC_TYPE_NULL:
        return "null";
    case ROWSYNC_TYPE_BOOL:
        return "bool";
    case ROWSYNC_TYPE_INT:
        return "int";
    case ROWSYNC_TYPE_DECIMAL:
        return "decimal";
    case ROWSYNC_TYPE_DOUBLE:
        return "double";
    case ROWSYNC_TYPE_TEXT:
        return "text";
    case ROWSYNC_TYPE_BINARY:
        return "binary";
    case ROWSYNC_TYPE_DATE:
        return "date";
    case ROWSYNC_TYPE_TIME:
        return "time";
    case ROWSYNC_TYPE_TIMESTAMP:
        return "timestamp";
    case ROWSYNC_TYPE_TIMESTAMPTZ:
        return "timestamptz";
    case ROWSYNC_TYPE_UUID:
        return "uuid";
    case ROWSYNC_TYPE_JSON:
        return "json";
    }
    return "unknown";
}

/* ---- calendar ------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil). Computed in 64 bits, so every date whose day count
 * fits in int32_t comes out right. */
int32_t rowsync_days_from_civil(int year, unsigned month, unsigned day)
{
    int64_t y = (int64_t)year - (month <= 2);
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy =
        (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return (int32_t)(era * 146097 + (int64_t)doe - 719468);
}

/* The civil date of a day count; the inverse of the function above for
 * every int32_t. Any out pointer may be NULL. */
void rowsync_civil_from_days(int32_t days, int *year, unsigned *month,
                             unsigned *day)
{
    int64_t z = (int64_t)days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned m = mp < 10 ? mp + 3 : mp - 9;

    if (year != NULL)
        *year = (int)((int64_t)yoe + era * 400 + (m <= 2));
    if (month != NULL)
        *month = m;
    if (day != NULL)
        *day = doy - (153 * mp + 2) / 5 + 1;
}

static int val_is_leap(int year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static unsigned val_month_days(int year, unsigned month)
{
    static const unsigned char days[12] = {31, 28, 31, 30, 31, 30,
                                           31, 31, 30, 31, 30, 31};

    return month == 2 && val_is_leap(year) ? 29 : days[month - 1];
}

/* Floor division and its remainder, so that times before 1970 split into
 * the day before and a non-negative time of day. */
static int64_t val_floor_div(int64_t a, int64_t b, int64_t *rem)
{
    int64_t q = a / b, r = a % b;

    if (r != 0 && ((r < 0) != (b < 0))) {
        q--;
        r += b;
    }
    *rem = r;
    return q;
}

/* ---- locale ----------------------------------------------------------- */

/* A "C" locale object, made once and kept for the life of the process, so
 * that doubles never pick up the program's decimal comma. NULL when it
 * cannot be made (out of memory): the current locale is used then. */
static locale_t val_c_locale(void)
{
    static locale_t cached;
    locale_t loc = __atomic_load_n(&cached, __ATOMIC_ACQUIRE);

    if (loc == (locale_t)0) {
        locale_t fresh = newlocale(LC_ALL_MASK, "C", (locale_t)0);
        locale_t expected = (locale_t)0;

        if (fresh == (locale_t)0)
            return (locale_t)0;
        if (__atomic_compare_exchange_n(&cached, &expected, fresh, 0,
                                        __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
            loc = fresh;
        } else {
            freelocale(fresh);
            loc = expected;
        }
    }
    return loc;
}

/* Switches this thread to the "C" locale; returns what to restore. */
static locale_t val_locale_enter(void)
{
    locale_t c = val_c_locale();

    return c != (locale_t)0 ? uselocale(c) : (locale_t)0;
}

static void val_locale_leave(locale_t old)
{
    if (old != (locale_t)0)
        uselocale(old);
}

/* ---- formatting ------------------------------------------------------- */

/* Copies n bytes of text into buf as far as it fits, NUL-terminated;
 * returns n. */
static size_t val_put(char *buf, size_t len, const char *text, size_t n)
{
    if (len > 0) {
        size_t k = n < len - 1 ? n : len - 1;

        if (k > 0)
            memcpy(buf, text, k);
        buf[k] = '\0';
    }
    return n;
}

/* The digit writers below replace snprintf, which was most of the
 * client's CPU in a bulk sync (every number and time of every row is
 * formatted once per apply). Each writes into out, which has room
 * (VAL_FIXED_MAX), and returns the length written. */

/* u in decimal, at least `width` digits (zero-padded). */
static int val_put_uint(char *out, uint64_t u, int width)
{
    char tmp[24];
    int n = 0;

    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    while (n < width)
        tmp[n++] = '0';
    for (int i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

static int val_put_int(char *out, int64_t i)
{
    if (i < 0) {
        out[0] = '-';
        return 1 + val_put_uint(out + 1, (uint64_t)0 - (uint64_t)i, 1);
    }
    return val_put_uint(out, (uint64_t)i, 1);
}

/* [-]YYYY-MM-DD (years beyond four digits grow). */
static int val_fmt_date(char *out, int32_t days)
{
    int y, n = 0;
    unsigned m, d;

    rowsync_civil_from_days(days, &y, &m, &d);
    if (y < 0) {
        out[n++] = '-';
        y = -y;
    }
    n += val_put_uint(out + n, (uint64_t)y, 4);
    out[n++] = '-';
    n += val_put_uint(out + n, m, 2);
    out[n++] = '-';
    n += val_put_uint(out + n, d, 2);
    return n;
}

/* HH:MM:SS[.ffffff] of a non-negative microsecond count; hours grow past
 * two digits when the count does (MySQL TIME values can). */
static int val_fmt_clock(char *out, uint64_t us)
{
    uint64_t secs = us / 1000000;
    unsigned frac = (unsigned)(us % 1000000);
    int n = val_put_uint(out, secs / 3600, 2);

    out[n++] = ':';
    n += val_put_uint(out + n, secs / 60 % 60, 2);
    out[n++] = ':';
    n += val_put_uint(out + n, secs % 60, 2);
    if (frac != 0) {
        out[n++] = '.';
        n += val_put_uint(out + n, frac, 6);
    }
    return n;
}

static int val_fmt_timestamp(char *out, int64_t us, int utc)
{
    int64_t tod;
    int64_t days = val_floor_div(us, VAL_US_PER_DAY, &tod);
    int n = val_fmt_date(out, (int32_t)days);

    out[n++] = ' ';
    n += val_fmt_clock(out + n, (uint64_t)tod);
    if (utc) {
        memcpy(out + n, "+00:00", 6);
        n += 6;
    }
    return n;
}

/* The fast path of val_fmt_double: a d that is exactly m / 10^k (as the
 * nearest double) for an integer m of at most 15 digits and k <= 8, in
 * the range %g writes without an exponent, is written as that decimal.
 * (double)m / 10^k is correctly rounded, so when it equals d the text
 * reads back as d; and %.15g, the slow path's first try, writes the same
 * digits (m has at most 15 significant ones). Returns -1 when d is not
 * such a number. */
static int val_fmt_double_decimal(char *out, double d)
{
    static const double p10[] = {1e0, 1e1, 1e2, 1e3, 1e4,
                                 1e5, 1e6, 1e7, 1e8};
    double a = fabs(d);

    if (!(a >= 1e-4 && a < 1e15))
        return -1; /* also NaN; 0 and -0 take the slow path */
    for (int k = 0; k <= 8; k++) {
        double scaled = a * p10[k];
        if (scaled >= 1e15)
            return -1;
        uint64_t m = (uint64_t)(scaled + 0.5);
        if ((double)m / p10[k] != a)
            continue;
        char digits[24];
        int nd = val_put_uint(digits, m, k + 1), n = 0;
        if (d < 0)
            out[n++] = '-';
        memcpy(out + n, digits, (size_t)(nd - k));
        n += nd - k;
        if (k > 0) {
            out[n++] = '.';
            memcpy(out + n, digits + nd - k, (size_t)k);
            n += k;
        }
        return n;
    }
    return -1;
}

/* The shortest of %.15g, %.16g and %.17g that reads back as the same
 * bits; special values as Infinity, -Infinity and NaN. */
static int val_fmt_double(char *out, size_t len, double d)
{
    locale_t old;
    int prec, n = 0;

    if (isnan(d))
        return snprintf(out, len, "NaN");
    if (isinf(d))
        return snprintf(out, len, "%s", d < 0 ? "-Infinity" : "Infinity");
    if (len >= VAL_FIXED_MAX && (n = val_fmt_double_decimal(out, d)) > 0) {
        out[n] = '\0';
        return n;
    }
    old = val_locale_enter();
    for (prec = 15; prec <= 17; prec++) {
        double back;

        n = snprintf(out, len, "%.*g", prec, d);
        back = strtod(out, NULL);
        if (memcmp(&back, &d, sizeof d) == 0)
            break;
    }
    val_locale_leave(old);
    return n;
}

/* Canonical text of a value that is not carried as text, into out
 * (VAL_FIXED_MAX bytes). Returns its length. */
static size_t val_fmt_fixed(const rowsync_value_t *v, char *out)
{
    int n = 0;

    switch (v->type) {
    case ROWSYNC_TYPE_BOOL:
        n = snprintf(out, VAL_FIXED_MAX, "%s", v->u.b ? "true" : "false");
        break;
    case ROWSYNC_TYPE_INT:
        n = val_put_int(out, v->u.i);
        break;
    case ROWSYNC_TYPE_DOUBLE:
        n = val_fmt_double(out, VAL_FIXED_MAX, v->u.d);
        break;
    case ROWSYNC_TYPE_DATE:
        n = val_fmt_date(out, v->u.date);
        break;
    case ROWSYNC_TYPE_TIME:
        if (v->u.i < 0) {
            out[0] = '-';
            n = 1 + val_fmt_clock(out + 1, (uint64_t)0 - (uint64_t)v->u.i);
        } else {
            n = val_fmt_clock(out, (uint64_t)v->u.i);
        }
        break;
    case ROWSYNC_TYPE_TIMESTAMP:
        n = val_fmt_timestamp(out, v->u.i, 0);
        break;
    case ROWSYNC_TYPE_TIMESTAMPTZ:
        n = val_fmt_timestamp(out, v->u.i, 1);
        break;
    default:
        out[0] = '\0';
        break;
    }
    return n > 0 ? (size_t)n : 0;
}

static const char val_hex[] = "0123456789abcdef";

/* Writes the canonical text of v (see common.h). Text-carried values are
 * copied as they are, except BINARY (\x and lower-case hex) and UUID
 * (lower case). Returns the full length, like snprintf. */
size_t rowsync_value_format(const rowsync_value_t *v, char *buf, size_t len)
{
    char fixed[VAL_FIXED_MAX];
    size_t i, n;

    switch (v->type) {
    case ROWSYNC_TYPE_NULL:
        return val_put(buf, len, "", 0);
    case ROWSYNC_TYPE_DECIMAL:
    case ROWSYNC_TYPE_TEXT:
    case ROWSYNC_TYPE_JSON:
        return val_put(buf, len, v->u.bytes.ptr, v->u.bytes.len);
    case ROWSYNC_TYPE_UUID:
        n = val_put(buf, len, v->u.bytes.ptr, v->u.bytes.len);
        for (i = 0; len > 0 && i < n && i < len - 1; i++)
            if (buf[i] >= 'A' && buf[i] <= 'F')
                buf[i] = (char)(buf[i] - 'A' + 'a');
        return n;
    case ROWSYNC_TYPE_BINARY:
        n = 2 + 2 * v->u.bytes.len;
        if (len == 0)
            return n;
        for (i = 0; i < n && i < len - 1; i++) {
            unsigned char byte;

            if (i < 2) {
                buf[i] = i == 0 ? '\\' : 'x';
                continue;
            }
            byte = (unsigned char)v->u.bytes.ptr[(i - 2) / 2];
            buf[i] = val_hex[i % 2 == 0 ? byte >> 4 : byte & 0x0F];
        }
        buf[i] = '\0';
        return n;
    default:
        n = val_fmt_fixed(v, fixed);
        return val_put(buf, len, fixed, n);
    }
}

/* ---- parsing ---------------------------------------------------------- */

/* Reports that text cannot be read as type: ROWSYNC_ECONVERT with the
 * start of the text (non-printable bytes shown as '?') and the reason. */
static int val_fail(rowsync_error_t *err, rowsync_type_t type, const char *text,
                    size_t len, const char *why)
{
    char shown[44];
    size_t i, n = len < 40 ? len : 40;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)text[i];

        shown[i] = c >= 0x20 && c < 0x7F ? (char)c : '?';
    }
    shown[n] = '\0';
    return rowsync_error_set(
        err, ROWSYNC_ECONVERT, "cannot read '%s%s' as %s: %s", shown,
        len > n ? "..." : "", rowsync_type_name(type), why);
}

static int val_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int val_hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Reads exactly n digits at *p (not beyond end) into *out, advancing *p.
 * Returns 0, or -1 when fewer than n digits are there. */
static int val_digits(const char **p, const char *end, int n, int *out)
{
    int v = 0;

    if (end - *p < n)
        return -1;
    while (n-- > 0) {
        if (!val_is_digit(**p))
            return -1;
        v = v * 10 + (**p - '0');
        (*p)++;
    }
    *out = v;
    return 0;
}

/* Reads an exact case-insensitive word. */
static int val_word_is(const char *text, size_t len, const char *word)
{
    size_t i;

    if (strlen(word) != len)
        return 0;
    for (i = 0; i < len; i++) {
        char c = text[i];

        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != word[i])
            return 0;
    }
    return 1;
}

static int val_parse_bool(const char *text, size_t len, int *out)
{
    static const char *const yes[] = {"true", "t", "1", "yes"};
    static const char *const no[] = {"false", "f", "0", "no"};
    size_t i;

    for (i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (val_word_is(text, len, yes[i])) {
            *out = 1;
            return 0;
        }
        if (val_word_is(text, len, no[i])) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}

/* [+-]digits into an int64_t; why names the problem on failure. */
static int val_parse_int(const char *p, const char *end, int64_t *out,
                         const char **why)
{
    uint64_t limit = (uint64_t)INT64_MAX, acc = 0;
    int neg = 0;

    if (p < end && (*p == '-' || *p == '+')) {
        neg = *p == '-';
        if (neg)
            limit = (uint64_t)INT64_MAX + 1;
        p++;
    }
    if (p == end) {
        *why = "not a number";
        return -1;
    }
    for (; p < end; p++) {
        unsigned digit;

        if (!val_is_digit(*p)) {
            *why = "not a whole number";
            return -1;
        }
        digit = (unsigned)(*p - '0');
        if (acc > (limit - digit) / 10) {
            *why = "out of the 64-bit integer range";
            return -1;
        }
        acc = acc * 10 + digit;
    }
    *out = neg ? (int64_t)((uint64_t)0 - acc) : (int64_t)acc;
    return 0;
}

/* Checks -?digits[.digits]; a leading '+' is accepted and skipped. Sets
 * *start to where the canonical form begins. */
static int val_parse_decimal(const char *text, const char *end,
                             const char **start)
{
    const char *p = text;

    if (p < end && *p == '+')
        text = ++p;
    else if (p < end && *p == '-')
        p++;
    if (p == end || !val_is_digit(*p))
        return -1;
    while (p < end && val_is_digit(*p))
        p++;
    if (p < end && *p == '.') {
        p++;
        if (p == end || !val_is_digit(*p))
            return -1;
        while (p < end && val_is_digit(*p))
            p++;
    }
    if (p != end)
        return -1;
    *start = text;
    return 0;
}

/* A double in any form strtod reads in the "C" locale, plus Infinity,
 * -Infinity and NaN; the whole text must be used. Overflow is an error,
 * underflow gives the nearest representable value. */
/* The fast path of val_parse_double (Clinger's): [+-]digits[.digits]
 * with at most 15 digits in all is m / 10^k for an exact m < 2^53 and an
 * exact 10^k, so one correctly rounded division gives what strtod
 * gives. Returns -1 for any other text. */
static int val_parse_double_decimal(const char *p, const char *end,
                                    double *out)
{
    static const double p10[] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,
                                 1e6, 1e7, 1e8,  1e9,  1e10, 1e11,
                                 1e12, 1e13, 1e14, 1e15};
    uint64_t m = 0;
    int neg = 0, digits = 0, frac = 0, point = 0;

    if (p < end && (*p == '-' || *p == '+'))
        neg = *p++ == '-';
    for (; p < end; p++) {
        if (*p == '.' && !point) {
            point = 1;
            continue;
        }
        if (!val_is_digit(*p) || ++digits > 15)
            return -1;
        m = m * 10 + (uint64_t)(*p - '0');
        frac += point;
    }
    if (digits == 0)
        return -1;
    double d = (double)m / p10[frac];
    *out = neg ? -d : d;
    return 0;
}

static int val_parse_double(const char *text, size_t len, double *out,
                            const char **why)
{
    char small[128];
    char *copy = small, *endp;
    locale_t old;
    double d;
    int saved;

    if (val_parse_double_decimal(text, text + len, out) == 0)
        return 0;
    *why = "not a number";
    if (len == 0 || memchr(text, '\0', len) != NULL ||
        !(val_is_digit(text[0]) || text[0] == '-' || text[0] == '+' ||
          text[0] == '.' || text[0] == 'i' || text[0] == 'I' ||
          text[0] == 'n' || text[0] == 'N'))
        return -1;
    if (len >= sizeof small) {
        copy = malloc(len + 1);
        if (copy == NULL) {
            *why = "out of memory";
            return -1;
        }
    }
    memcpy(copy, text, len);
    copy[len] = '\0';
    old = val_locale_enter();
    saved = errno;
    errno = 0;
    d = strtod(copy, &endp);
    if (endp != copy + len) {
        d = 0;
        *why = "not a number";
        endp = NULL;
    } else if (errno == ERANGE && isinf(d)) {
        *why = "out of the double range";
        endp = NULL;
    }
    errno = saved;
    val_locale_leave(old);
    if (copy != small)
        free(copy);
    if (endp == NULL)
        return -1;
    *out = d;
    return 0;
}

/* YYYY-MM-DD, years 0001 to 9999, days checked against the month. */
static int val_parse_date_at(const char **p, const char *end, int32_t *out,
                             const char **why)
{
    int y, m, d;

    *why = "expected YYYY-MM-DD";
    if (val_digits(p, end, 4, &y) < 0 || *p == end || *(*p)++ != '-' ||
        val_digits(p, end, 2, &m) < 0 || *p == end || *(*p)++ != '-' ||
        val_digits(p, end, 2, &d) < 0)
        return -1;
    if (y < 1) {
        *why = "year out of range (0001 to 9999)";
        return -1;
    }
    if (m < 1 || m > 12) {
        *why = "month out of range";
        return -1;
    }
    if (d < 1 || (unsigned)d > val_month_days(y, (unsigned)m)) {
        *why = "no such day in that month";
        return -1;
    }
    *out = rowsync_days_from_civil(y, (unsigned)m, (unsigned)d);
    return 0;
}

/* HH:MM:SS[.f to ffffff] as microseconds since midnight. 24:00:00 is
 * accepted (PostgreSQL has it) and means the end of the day. */
static int val_parse_clock_at(const char **p, const char *end, int64_t *out,
                              const char **why)
{
    int h, m, s, digits = 0;
    int64_t frac = 0;

    *why = "expected HH:MM:SS[.ffffff]";
    if (val_digits(p, end, 2, &h) < 0 || *p == end || *(*p)++ != ':' ||
        val_digits(p, end, 2, &m) < 0 || *p == end || *(*p)++ != ':' ||
        val_digits(p, end, 2, &s) < 0)
        return -1;
    if (*p < end && **p == '.') {
        (*p)++;
        while (*p < end && val_is_digit(**p)) {
            if (++digits > 6) {
                *why = "more than 6 fraction digits";
                return -1;
            }
            frac = frac * 10 + (**p - '0');
            (*p)++;
        }
        if (digits == 0)
            return -1;
        for (; digits < 6; digits++)
            frac *= 10;
    }
    if (h == 24 && m == 0 && s == 0 && frac == 0) {
        *out = VAL_US_PER_DAY;
        return 0;
    }
    if (h > 23 || m > 59 || s > 59) {
        *why = "time of day out of range";
        return -1;
    }
    *out = ((int64_t)h * 3600 + m * 60 + s) * VAL_US_PER_SEC + frac;
    return 0;
}

/* A UTC offset: Z, or [+-]HH, [+-]HH:MM, [+-]HHMM, [+-]HH:MM:SS, as
 * seconds east of UTC. */
static int val_parse_offset_at(const char **p, const char *end, int64_t *out,
                               const char **why)
{
    int sign, h, m = 0, s = 0;

    *why = "expected a UTC offset (Z, +HH, +HH:MM or +HHMM)";
    if (*p < end && (**p == 'Z' || **p == 'z')) {
        (*p)++;
        *out = 0;
        return 0;
    }
    if (*p == end || (**p != '+' && **p != '-'))
        return -1;
    sign = *(*p)++ == '-' ? -1 : 1;
    if (val_digits(p, end, 2, &h) < 0)
        return -1;
    if (*p < end) {
        int colon = **p == ':';

        if (colon)
            (*p)++;
        if (val_digits(p, end, 2, &m) < 0)
            return -1;
        if (colon && *p < end) {
            if (*(*p)++ != ':' || val_digits(p, end, 2, &s) < 0)
                return -1;
        }
    }
    if (h > 23 || m > 59 || s > 59) {
        *why = "UTC offset out of range";
        return -1;
    }
    *out = sign * ((int64_t)h * 3600 + m * 60 + s);
    return 0;
}

/* Date and time with ' ' or 'T' between them; for TIMESTAMPTZ an
 * optional UTC offset follows (with an optional space before it; none
 * means UTC) and the result is converted to UTC. */
static int val_parse_timestamp(const char *p, const char *end, int tz,
                               int64_t *out, const char **why)
{
    int32_t days;
    int64_t tod, offset = 0, us;

    if (val_parse_date_at(&p, end, &days, why) < 0)
        return -1;
    if (p == end || (*p != ' ' && *p != 'T' && *p != 't')) {
        *why = "expected YYYY-MM-DD HH:MM:SS[.ffffff]";
        return -1;
    }
    p++;
    if (val_parse_clock_at(&p, end, &tod, why) < 0)
        return -1;
    if (tz && p < end) {
        if (*p == ' ')
            p++;
        if (val_parse_offset_at(&p, end, &offset, why) < 0)
            return -1;
    }
    if (p != end) {
        *why = tz ? "unexpected text after the UTC offset"
                  : "unexpected text after the time";
        return -1;
    }
    us = (int64_t)days * VAL_US_PER_DAY + tod - offset * VAL_US_PER_SEC;
    if (tz &&
        (us < (int64_t)rowsync_days_from_civil(1, 1, 1) * VAL_US_PER_DAY ||
         us >= ((int64_t)rowsync_days_from_civil(9999, 12, 31) + 1) *
                   VAL_US_PER_DAY)) {
        *why = "out of range (0001 to 9999) in UTC";
        return -1;
    }
    *out = us;
    return 0;
}

static int val_parse_uuid(const char *text, size_t len)
{
    size_t i;

    if (len != 36)
        return -1;
    for (i = 0; i < len; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (text[i] != '-')
                return -1;
        } else if (val_hex_value(text[i]) < 0) {
            return -1;
        }
    }
    return 0;
}

/* Optional \x prefix, then pairs of hex digits decoded into scratch. The
 * decoder writes behind where it reads, so scratch may be text itself. */
static int val_parse_binary(const char *text, size_t len, void *scratch,
                            size_t *out_len, const char **why)
{
    unsigned char *dst = scratch;
    size_t i, n;

    if (len >= 2 && text[0] == '\\' && (text[1] == 'x' || text[1] == 'X')) {
        text += 2;
        len -= 2;
    }
    if (len % 2 != 0) {
        *why = "odd number of hex digits";
        return -1;
    }
    n = len / 2;
    if (n > 0 && scratch == NULL) {
        *why = "no scratch buffer to decode into";
        return -1;
    }
    for (i = 0; i < n; i++) {
        int hi = val_hex_value(text[2 * i]),
            lo = val_hex_value(text[2 * i + 1]);

        if (hi < 0 || lo < 0) {
            *why = "not a hex digit (expected \\x followed by hex pairs)";
            return -1;
        }
        dst[i] = (unsigned char)(hi << 4 | lo);
    }
    *out_len = n;
    return 0;
}

/* Parses text as type (see common.h). *out changes only on success. */
int rowsync_value_parse(rowsync_type_t type, const char *text, size_t len,
                        void *scratch, rowsync_value_t *out,
                        rowsync_error_t *err)
{
    const char *end = text + len, *why = "invalid", *p = text;
    rowsync_value_t v;

    memset(&v, 0, sizeof v);
    v.type = type;
    if (text == NULL && len > 0)
        return rowsync_error_set(err, ROWSYNC_ECONVERT,
                                 "cannot read a NULL text as %s",
                                 rowsync_type_name(type));
    if (text == NULL)
        text = end = p = "";

    switch (type) {
    case ROWSYNC_TYPE_NULL:
        break;
    case ROWSYNC_TYPE_BOOL:
        if (val_parse_bool(text, len, &v.u.b) < 0)
            return val_fail(err, type, text, len,
                            "expected true or false (also t/f, 1/0, yes/no)");
        break;
    case ROWSYNC_TYPE_INT:
        if (val_parse_int(text, end, &v.u.i, &why) < 0)
            return val_fail(err, type, text, len, why);
        break;
    case ROWSYNC_TYPE_DECIMAL:
        if (val_parse_decimal(text, end, &p) < 0)
            return val_fail(err, type, text, len,
                            "expected an exact decimal like -12.345");
        v.u.bytes.ptr = p;
        v.u.bytes.len = (size_t)(end - p);
        break;
    case ROWSYNC_TYPE_DOUBLE:
        if (val_parse_double(text, len, &v.u.d, &why) < 0)
            return val_fail(err, type, text, len, why);
        break;
    case ROWSYNC_TYPE_TEXT:
    case ROWSYNC_TYPE_JSON:
        v.u.bytes.ptr = text;
        v.u.bytes.len = len;
        break;
    case ROWSYNC_TYPE_UUID:
        if (val_parse_uuid(text, len) < 0)
            return val_fail(err, type, text, len,
                            "expected 8-4-4-4-12 hex digits");
        v.u.bytes.ptr = text;
        v.u.bytes.len = len;
        break;
    case ROWSYNC_TYPE_BINARY:
        if (val_parse_binary(text, len, scratch, &v.u.bytes.len, &why) < 0)
            return val_fail(err, type, text, len, why);
        v.u.bytes.ptr = scratch != NULL ? (const char *)scratch : "";
        break;
    case ROWSYNC_TYPE_DATE:
        if (val_parse_date_at(&p, end, &v.u.date, &why) < 0)
            return val_fail(err, type, text, len, why);
        if (p != end)
            return val_fail(err, type, text, len,
                            "unexpected text after the date");
        break;
    case ROWSYNC_TYPE_TIME:
        if (val_parse_clock_at(&p, end, &v.u.i, &why) < 0)
            return val_fail(err, type, text, len, why);
        if (p != end)
            return val_fail(err, type, text, len,
                            "unexpected text after the time");
        break;
    case ROWSYNC_TYPE_TIMESTAMP:
    case ROWSYNC_TYPE_TIMESTAMPTZ:
        if (val_parse_timestamp(text, end, type == ROWSYNC_TYPE_TIMESTAMPTZ,
                                &v.u.i, &why) < 0)
            return val_fail(err, type, text, len, why);
        break;
    default:
        return rowsync_error_set(err, ROWSYNC_ECONVERT,
                                 "cannot read text as unknown type %d",
                                 (int)type);
    }
    *out = v;
    return 0;
}

/* ---- ordering --------------------------------------------------------- */

/* The parts of a decimal text that decide its order: sign, integer digits
 * without leading zeros, fraction digits without trailing zeros. Zero is
 * never negative. */
typedef struct val_dec {
    int neg;
    const char *ip, *fp;
    size_t ilen, flen;
} val_dec_t;

static void val_dec_split(const char *p, size_t len, val_dec_t *dec)
{
    const char *end = p + len;

    dec->neg = 0;
    if (p < end && (*p == '-' || *p == '+'))
        dec->neg = *p++ == '-';
    while (p < end && *p == '0')
        p++;
    dec->ip = p;
    while (p < end && val_is_digit(*p))
        p++;
    dec->ilen = (size_t)(p - dec->ip);
    dec->fp = p;
    dec->flen = 0;
    if (p < end && *p == '.') {
        dec->fp = ++p;
        while (p < end && val_is_digit(*p))
            p++;
        dec->flen = (size_t)(p - dec->fp);
        while (dec->flen > 0 && dec->fp[dec->flen - 1] == '0')
            dec->flen--;
    }
    if (dec->ilen == 0 && dec->flen == 0)
        dec->neg = 0;
}

static int val_sign(int c)
{
    return (c > 0) - (c < 0);
}

/* memcmp as -1, 0 or 1, and safe for n == 0 with NULL pointers (empty
 * values may carry NULL). */
static int val_memcmp(const void *a, const void *b, size_t n)
{
    return n == 0 ? 0 : val_sign(memcmp(a, b, n));
}

/* Exact order of two decimal texts, digit by digit, never via double. */
static int val_cmp_decimal(const char *a, size_t alen, const char *b,
                           size_t blen)
{
    val_dec_t x, y;
    size_t n;
    int c;

    val_dec_split(a, alen, &x);
    val_dec_split(b, blen, &y);
    if (x.neg != y.neg)
        return x.neg ? -1 : 1;
    if (x.ilen != y.ilen) {
        c = x.ilen < y.ilen ? -1 : 1;
    } else {
        c = val_memcmp(x.ip, y.ip, x.ilen);
        if (c == 0) {
            n = x.flen < y.flen ? x.flen : y.flen;
            c = val_memcmp(x.fp, y.fp, n);
            if (c == 0)
                c = (x.flen > y.flen) - (x.flen < y.flen);
        }
    }
    return x.neg ? -c : c;
}

static int val_cmp_bytes(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = val_memcmp(a, b, alen < blen ? alen : blen);

    if (c != 0)
        return c;
    return (alen > blen) - (alen < blen);
}

static int val_lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* The canonical text of a value, read one character at a time without
 * allocating: fixed-size values are formatted into buf, BINARY is hex
 * expanded on the fly, UUID lower-cased. */
typedef struct val_text {
    const char *ptr;
    size_t len; /* length of the canonical text */
    int binary;
    int uuid;
    char buf[VAL_FIXED_MAX];
} val_text_t;

static void val_text_init(val_text_t *t, const rowsync_value_t *v)
{
    t->binary = v->type == ROWSYNC_TYPE_BINARY;
    t->uuid = v->type == ROWSYNC_TYPE_UUID;
    switch (v->type) {
    case ROWSYNC_TYPE_DECIMAL:
    case ROWSYNC_TYPE_TEXT:
    case ROWSYNC_TYPE_JSON:
    case ROWSYNC_TYPE_UUID:
        t->ptr = v->u.bytes.ptr;
        t->len = v->u.bytes.len;
        break;
    case ROWSYNC_TYPE_BINARY:
        t->ptr = v->u.bytes.ptr;
        t->len = 2 + 2 * v->u.bytes.len;
        break;
    default:
        t->len = val_fmt_fixed(v, t->buf);
        t->ptr = t->buf;
        break;
    }
}

static unsigned char val_text_at(const val_text_t *t, size_t i)
{
    if (t->binary) {
        unsigned char byte;

        if (i < 2)
            return i == 0 ? '\\' : 'x';
        byte = (unsigned char)t->ptr[(i - 2) / 2];
        return (unsigned char)val_hex[i % 2 == 0 ? byte >> 4 : byte & 0x0F];
    }
    if (t->uuid)
        return (unsigned char)val_lower((unsigned char)t->ptr[i]);
    return (unsigned char)t->ptr[i];
}

static int val_cmp_text(const rowsync_value_t *a, const rowsync_value_t *b)
{
    val_text_t x, y;
    size_t i;

    val_text_init(&x, a);
    val_text_init(&y, b);
    for (i = 0; i < x.len && i < y.len; i++) {
        unsigned char ca = val_text_at(&x, i), cb = val_text_at(&y, i);

        if (ca != cb)
            return ca < cb ? -1 : 1;
    }
    return (x.len > y.len) - (x.len < y.len);
}

/* Orders two values (see common.h). NaN sorts after every other double
 * and equals NaN; -0.0 equals 0.0; UUIDs compare without regard to case;
 * decimals compare exactly. */
int rowsync_value_compare(const rowsync_value_t *a, const rowsync_value_t *b)
{
    int an = a->type == ROWSYNC_TYPE_NULL, bn = b->type == ROWSYNC_TYPE_NULL;

    if (an || bn)
        return bn - an;
    if (a->type != b->type)
        return val_cmp_text(a, b);
    switch (a->type) {
    case ROWSYNC_TYPE_BOOL:
        return (a->u.b != 0) - (b->u.b != 0);
    case ROWSYNC_TYPE_INT:
    case ROWSYNC_TYPE_TIME:
    case ROWSYNC_TYPE_TIMESTAMP:
    case ROWSYNC_TYPE_TIMESTAMPTZ:
        return (a->u.i > b->u.i) - (a->u.i < b->u.i);
    case ROWSYNC_TYPE_DATE:
        return (a->u.date > b->u.date) - (a->u.date < b->u.date);
    case ROWSYNC_TYPE_DOUBLE:
        if (isnan(a->u.d) || isnan(b->u.d))
            return (isnan(a->u.d) != 0) - (isnan(b->u.d) != 0);
        return (a->u.d > b->u.d) - (a->u.d < b->u.d);
    case ROWSYNC_TYPE_DECIMAL:
        return val_cmp_decimal(a->u.bytes.ptr, a->u.bytes.len, b->u.bytes.ptr,
                               b->u.bytes.len);
    case ROWSYNC_TYPE_UUID:
        return val_cmp_text(a, b);
    case ROWSYNC_TYPE_TEXT:
    case ROWSYNC_TYPE_JSON:
    case ROWSYNC_TYPE_BINARY:
        return val_cmp_bytes(a->u.bytes.ptr, a->u.bytes.len, b->u.bytes.ptr,
                             b->u.bytes.len);
    default:
        return 0;
    }
}
