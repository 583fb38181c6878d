/* The SQL Server driver's values and errors: SQL Server type names to core
 * types, values received from db-lib (native or in the text forms the
 * streams select) to core values, core values to the parameter text the
 * apply sends, message numbers to error classes, cursors. No db-lib call:
 * only its type and error constants, so the unit tests link this alone.
 *
 * Rules kept here (docs/drivers/mssql.md repeats them):
 * - datetime2(7), time(7) and datetimeoffset(7) carry 100 ns; the core
 *   carries microseconds. Reading drops the 7th fraction digit (truncation
 *   toward the earlier instant, never rounding, so a value never moves to
 *   the next second or day). Writing 6 digits into (7) is exact.
 * - datetimeoffset is read as its UTC instant (the offset is applied).
 * - money/smallmoney are read with 4 decimals (CONVERT style 2), exactly.
 * - uniqueidentifier is read in lower case. */
#include <config.h>

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sybfront.h>
#include <sybdb.h>

#include "mssql.h"

rowsync_type_t mss_core_type(const char *native)
{
    static const struct {
        const char *name;
        rowsync_type_t type;
    } map[] = {
        {"bit", ROWSYNC_TYPE_BOOL},
        {"tinyint", ROWSYNC_TYPE_INT},
        {"smallint", ROWSYNC_TYPE_INT},
        {"int", ROWSYNC_TYPE_INT},
        {"bigint", ROWSYNC_TYPE_INT},
        {"decimal", ROWSYNC_TYPE_DECIMAL},
        {"numeric", ROWSYNC_TYPE_DECIMAL},
        {"money", ROWSYNC_TYPE_DECIMAL},
        {"smallmoney", ROWSYNC_TYPE_DECIMAL},
        {"float", ROWSYNC_TYPE_DOUBLE},
        {"real", ROWSYNC_TYPE_DOUBLE},
        {"binary", ROWSYNC_TYPE_BINARY},
        {"varbinary", ROWSYNC_TYPE_BINARY},
        {"image", ROWSYNC_TYPE_BINARY},
        {"date", ROWSYNC_TYPE_DATE},
        {"time", ROWSYNC_TYPE_TIME},
        {"datetime", ROWSYNC_TYPE_TIMESTAMP},
        {"datetime2", ROWSYNC_TYPE_TIMESTAMP},
        {"smalldatetime", ROWSYNC_TYPE_TIMESTAMP},
        {"datetimeoffset", ROWSYNC_TYPE_TIMESTAMPTZ},
        {"uniqueidentifier", ROWSYNC_TYPE_UUID},
        /* no way to write these back as they were read */
        {"timestamp", ROWSYNC_TYPE_NULL},
        {"rowversion", ROWSYNC_TYPE_NULL},
        {"geometry", ROWSYNC_TYPE_NULL},
        {"geography", ROWSYNC_TYPE_NULL},
    };
    size_t i;

    for (i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(map[i].name, native) == 0)
            return map[i].type;
    /* char, varchar, nchar, nvarchar, text, ntext, sysname, xml,
     * sql_variant, hierarchyid: text */
    return ROWSYNC_TYPE_TEXT;
}

/* ---- reading --------------------------------------------------------- */

/* Reads exactly n digits at *p into *out; advances. 0 or -1. */
static int mss_digits(const char **p, const char *end, int n, int *out)
{
    int v = 0, i;

    for (i = 0; i < n; i++) {
        if (*p >= end || !isdigit((unsigned char)**p))
            return -1;
        v = v * 10 + (**p - '0');
        (*p)++;
    }
    *out = v;
    return 0;
}

/* The pieces of a date/time text as the server prints it with style 121
 * (or ISO 8601 with T): any of date, time and offset. */
typedef struct mss_dt {
    int has_date, has_time, has_tz;
    int year, month, day, hour, minute, second;
    int64_t micros;
    int tz_minutes; /* east of UTC */
} mss_dt_t;

/* Parses "YYYY-MM-DD", "HH:MM:SS[.f]", or both separated by ' ' or 'T',
 * with an optional " +HH:MM", "+HH:MM" or "Z". Up to 7 fraction digits;
 * digits beyond the 6th are dropped (truncation). */
static int mss_dt_parse(const char *s, size_t len, mss_dt_t *dt)
{
    const char *p = s, *end = s + len;

    memset(dt, 0, sizeof *dt);
    if (len >= 10 && s[4] == '-') {
        if (mss_digits(&p, end, 4, &dt->year) < 0 || *p++ != '-' ||
            mss_digits(&p, end, 2, &dt->month) < 0 || p >= end ||
            *p++ != '-' || mss_digits(&p, end, 2, &dt->day) < 0)
            return -1;
        if (dt->month < 1 || dt->month > 12 || dt->day < 1 || dt->day > 31)
            return -1;
        dt->has_date = 1;
        if (p < end && (*p == ' ' || *p == 'T'))
            p++;
    }
    if (p < end && isdigit((unsigned char)*p)) {
        if (mss_digits(&p, end, 2, &dt->hour) < 0 || p >= end ||
            *p++ != ':' || mss_digits(&p, end, 2, &dt->minute) < 0 ||
            p >= end || *p++ != ':' ||
            mss_digits(&p, end, 2, &dt->second) < 0)
            return -1;
        if (dt->hour > 23 || dt->minute > 59 || dt->second > 59)
            return -1;
        if (p < end && *p == '.') {
            int n = 0;
            p++;
            while (p < end && isdigit((unsigned char)*p)) {
                if (n < 6) {
                    dt->micros = dt->micros * 10 + (*p - '0');
                }
                n++;
                p++;
            }
            if (n == 0 || n > 7)
                return -1;
            for (; n < 6; n++)
                dt->micros *= 10;
        }
        dt->has_time = 1;
    }
    if (p < end && *p == ' ')
        p++;
    if (p < end && (*p == '+' || *p == '-')) {
        int sign = *p++ == '-' ? -1 : 1, h, m;
        if (mss_digits(&p, end, 2, &h) < 0 || p >= end || *p++ != ':' ||
            mss_digits(&p, end, 2, &m) < 0 || h > 14 || m > 59)
            return -1;
        dt->tz_minutes = sign * (h * 60 + m);
        dt->has_tz = 1;
    } else if (p < end && *p == 'Z') {
        p++;
        dt->has_tz = 1;
    }
    if (p != end || (!dt->has_date && !dt->has_time))
        return -1;
    return 0;
}

static int64_t mss_dt_time_us(const mss_dt_t *dt)
{
    return ((int64_t)dt->hour * 3600 + dt->minute * 60 + dt->second) *
               INT64_C(1000000) +
           dt->micros;
}

static int mss_bad(rowsync_error_t *err, rowsync_type_t want,
                   const char *native, const char *text, size_t len)
{
    return rowsync_error_set(err, ROWSYNC_ECONVERT,
                             "cannot read %s value '%.*s' as %s",
                             native ? native : "SQL Server",
                             (int)(len > 80 ? 80 : len), text,
                             rowsync_type_name(want));
}

int mss_value_from_text(rowsync_type_t want, const char *native,
                        const char *text, size_t len, char *scratch,
                        rowsync_value_t *out, rowsync_error_t *err)
{
    mss_dt_t dt;
    int64_t days;

    switch (want) {
    case ROWSYNC_TYPE_DATE:
    case ROWSYNC_TYPE_TIME:
    case ROWSYNC_TYPE_TIMESTAMP:
    case ROWSYNC_TYPE_TIMESTAMPTZ:
        if (mss_dt_parse(text, len, &dt) < 0)
            return mss_bad(err, want, native, text, len);
        if (want == ROWSYNC_TYPE_TIME) {
            if (!dt.has_time)
                return mss_bad(err, want, native, text, len);
            out->type = want;
            out->u.i = mss_dt_time_us(&dt);
            return 0;
        }
        if (!dt.has_date)
            return mss_bad(err, want, native, text, len);
        days = rowsync_days_from_civil(dt.year, (unsigned)dt.month,
                                       (unsigned)dt.day);
        if (want == ROWSYNC_TYPE_DATE) {
            out->type = want;
            out->u.date = (int32_t)days;
            return 0;
        }
        out->type = want;
        out->u.i = days * INT64_C(86400000000) + mss_dt_time_us(&dt) -
                   (int64_t)dt.tz_minutes * INT64_C(60000000);
        return 0;
    case ROWSYNC_TYPE_UUID: {
        size_t i;
        if (len != 36)
            return mss_bad(err, want, native, text, len);
        for (i = 0; i < len; i++)
            scratch[i] = (char)tolower((unsigned char)text[i]);
        scratch[len] = '\0';
        return rowsync_value_parse(want, scratch, len, NULL, out, err);
    }
    case ROWSYNC_TYPE_DECIMAL: {
        /* the server prints ".5" for some types; the core wants "0.5" */
        const char *p = text;
        size_t n = len;
        int neg = n > 0 && *p == '-';
        if (n > (size_t)neg && p[neg] == '.') {
            size_t o = 0;
            if (neg)
                scratch[o++] = '-';
            scratch[o++] = '0';
            memcpy(scratch + o, p + neg, n - (size_t)neg);
            o += n - (size_t)neg;
            scratch[o] = '\0';
            p = scratch;
            n = o;
        }
        if (rowsync_value_parse(want, p, n, NULL, out, err) < 0)
            return mss_bad(err, want, native, text, len);
        return 0;
    }
    case ROWSYNC_TYPE_BOOL:
        if (len == 1 && (text[0] == '0' || text[0] == '1')) {
            out->type = want;
            out->u.b = text[0] == '1';
            return 0;
        }
        return rowsync_value_parse(want, text, len, scratch, out, err);
    default:
        return rowsync_value_parse(want, text, len, scratch, out, err);
    }
}

int mss_value_from_native(rowsync_type_t want, int coltype,
                          const unsigned char *data, size_t len,
                          rowsync_value_t *out, rowsync_error_t *err)
{
    int64_t i = 0;
    double d = 0;
    int is_int = 1;

    switch (coltype) {
    case SYBBIT:
    case SYBINT1:
        if (len != 1)
            goto bad;
        i = data[0];
        break;
    case SYBINT2: {
        int16_t v;
        if (len != sizeof v)
            goto bad;
        memcpy(&v, data, sizeof v);
        i = v;
        break;
    }
    case SYBINT4: {
        int32_t v;
        if (len != sizeof v)
            goto bad;
        memcpy(&v, data, sizeof v);
        i = v;
        break;
    }
    case SYBINT8: {
        int64_t v;
        if (len != sizeof v)
            goto bad;
        memcpy(&v, data, sizeof v);
        i = v;
        break;
    }
    case SYBFLT8:
        if (len != sizeof d)
            goto bad;
        memcpy(&d, data, sizeof d);
        is_int = 0;
        break;
    case SYBREAL: {
        float f;
        if (len != sizeof f)
            goto bad;
        memcpy(&f, data, sizeof f);
        d = f;
        is_int = 0;
        break;
    }
    case SYBBINARY:
    case SYBVARBINARY:
    case SYBIMAGE:
        if (want != ROWSYNC_TYPE_BINARY)
            goto bad;
        out->type = want;
        out->u.bytes.ptr = (const char *)data;
        out->u.bytes.len = len;
        return 0;
    case SYBCHAR:
    case SYBVARCHAR:
    case SYBTEXT:
        if (want == ROWSYNC_TYPE_TEXT || want == ROWSYNC_TYPE_JSON) {
            out->type = want;
            out->u.bytes.ptr = (const char *)data;
            out->u.bytes.len = len;
            return 0;
        }
        return rowsync_value_parse(want, (const char *)data, len, NULL, out,
                                   err);
    default:
        goto bad;
    }
    switch (want) {
    case ROWSYNC_TYPE_BOOL:
        if (!is_int || (i != 0 && i != 1))
            goto bad;
        out->type = want;
        out->u.b = (int)i;
        return 0;
    case ROWSYNC_TYPE_INT:
        if (!is_int)
            goto bad;
        out->type = want;
        out->u.i = i;
        return 0;
    case ROWSYNC_TYPE_DOUBLE:
        out->type = want;
        out->u.d = is_int ? (double)i : d;
        return 0;
    default:
        break;
    }
bad:
    return rowsync_error_set(err, ROWSYNC_ECONVERT,
                             "cannot read a db-lib value of type %d (%zu"
                             " bytes) as %s",
                             coltype, len, rowsync_type_name(want));
}

/* ---- writing --------------------------------------------------------- */

/* Microseconds since the epoch of a date-family value, or -1 with *ok 0
 * when v is not of that family. */
static int64_t mss_value_us(const rowsync_value_t *v, int *ok)
{
    *ok = 1;
    switch (v->type) {
    case ROWSYNC_TYPE_DATE:
        return (int64_t)v->u.date * INT64_C(86400000000);
    case ROWSYNC_TYPE_TIMESTAMP:
    case ROWSYNC_TYPE_TIMESTAMPTZ:
        return v->u.i;
    default:
        *ok = 0;
        return -1;
    }
}

/* Floor division for negative instants (before 1970). */
static int64_t mss_floordiv(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

size_t mss_param_text(const rowsync_value_t *v, rowsync_type_t type,
                      char *buf, size_t len)
{
    int ok, y, n;
    unsigned mo, d;
    int64_t us, days, tod;

    if (v->type == ROWSYNC_TYPE_NULL) {
        if (len > 0)
            buf[0] = '\0';
        return 0;
    }
    if (v->type == ROWSYNC_TYPE_BOOL) {
        n = snprintf(buf, len, "%d", v->u.b ? 1 : 0);
        return (size_t)n;
    }
    switch (type) {
    case ROWSYNC_TYPE_DATE:
    case ROWSYNC_TYPE_TIMESTAMP:
    case ROWSYNC_TYPE_TIMESTAMPTZ:
        us = mss_value_us(v, &ok);
        if (!ok)
            break;
        days = mss_floordiv(us, INT64_C(86400000000));
        tod = us - days * INT64_C(86400000000);
        rowsync_civil_from_days((int32_t)days, &y, &mo, &d);
        if (type == ROWSYNC_TYPE_DATE)
            n = snprintf(buf, len, "%04d-%02u-%02u", y, mo, d);
        else
            n = snprintf(buf, len, "%04d-%02u-%02uT%02d:%02d:%02d.%06d%s", y,
                         mo, d, (int)(tod / INT64_C(3600000000)),
                         (int)(tod / 60000000 % 60),
                         (int)(tod / 1000000 % 60), (int)(tod % 1000000),
                         type == ROWSYNC_TYPE_TIMESTAMPTZ ? "Z" : "");
        return (size_t)n;
    case ROWSYNC_TYPE_TIME:
        if (v->type != ROWSYNC_TYPE_TIME)
            break;
        tod = v->u.i;
        n = snprintf(buf, len, "%02d:%02d:%02d.%06d",
                     (int)(tod / INT64_C(3600000000)),
                     (int)(tod / 60000000 % 60), (int)(tod / 1000000 % 60),
                     (int)(tod % 1000000));
        return (size_t)n;
    default:
        break;
    }
    return rowsync_value_format(v, buf, len);
}

/* ---- errors ---------------------------------------------------------- */

int mss_classify_msg(long msgno)
{
    switch (msgno) {
    case 1205: /* deadlock victim */
    case 1222: /* lock request time out (SET LOCK_TIMEOUT) */
    case 1204: /* no lock resources */
    case 3960: /* snapshot update conflict */
    case 3961:
        return ROWSYNC_ETRANSIENT;
    case 2627: /* unique constraint */
    case 2601: /* unique index */
    case 547:  /* foreign key / check constraint */
    case 515:  /* NULL into NOT NULL */
        return ROWSYNC_ECONSTRAINT;
    case 208:  /* invalid object name */
    case 207:  /* invalid column name */
    case 3701: /* cannot drop, does not exist */
    case 4902: /* cannot find the object */
        return ROWSYNC_ENOTFOUND;
    case 18456: /* login failed */
    case 18452: /* untrusted domain login */
    case 18486: /* account locked */
    case 18487: /* password expired */
    case 18488: /* password must change */
    case 4060:  /* cannot open database */
        return ROWSYNC_ECONN;
    case 8115: /* arithmetic overflow */
    case 245:  /* conversion failed (varchar to int) */
    case 241:  /* conversion failed (string to date/time) */
    case 242:  /* date/time out of range */
    case 8114: /* error converting data type */
    case 220:  /* arithmetic overflow for a type */
    case 232:
    case 8152: /* string or binary data would be truncated */
    case 2628: /* the same, SQL Server 2019 and later */
    case 8169: /* conversion to uniqueidentifier failed */
    case 517:  /* date overflow */
    case 9402: /* XML parsing */
    case 9455:
        return ROWSYNC_ECONVERT;
    case 701: /* out of memory */
        return ROWSYNC_ENOMEM;
    default:
        return ROWSYNC_ERROR;
    }
}

int mss_classify_dberr(int dberr)
{
    switch (dberr) {
    case SYBEFCON:
    case SYBECONN:
    case SYBESOCK:
    case SYBESEOF:
    case SYBEREAD:
    case SYBEWRIT:
    case SYBEDDNE:
    case SYBECLOS:
    case SYBEPWD:
        return ROWSYNC_ECONN;
    case SYBETIME:
        return ROWSYNC_ETRANSIENT;
    case SYBEMEM:
        return ROWSYNC_ENOMEM;
    case SYBECOFL:
    case SYBECSYN:
    case SYBECLPR:
    case SYBECNOV:
        return ROWSYNC_ECONVERT;
    default:
        return ROWSYNC_ERROR;
    }
}

/* ---- cursors --------------------------------------------------------- */

int mss_cursor_parse(const char *text, uint64_t *out)
{
    uint64_t v = 0;
    size_t i, n;

    if (text == NULL || text[0] == '\0') {
        *out = 0;
        return 0;
    }
    n = strlen(text);
    if (n != 16)
        return ROWSYNC_EINVAL;
    for (i = 0; i < n; i++) {
        int c = (unsigned char)text[i], x;
        if (c >= '0' && c <= '9')
            x = c - '0';
        else if (c >= 'a' && c <= 'f')
            x = c - 'a' + 10;
        else
            return ROWSYNC_EINVAL;
        v = v << 4 | (uint64_t)x;
    }
    *out = v;
    return 0;
}

void mss_cursor_format(uint64_t rv, char *buf, size_t len)
{
    snprintf(buf, len, "%016" PRIx64, rv);
}
