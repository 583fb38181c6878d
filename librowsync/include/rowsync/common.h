/* rowsync/common.h: what the core, drivers and plugins share.
 *
 * Status codes, the error record, the ABI header every module table starts
 * with, and the value model. Self-contained C99.
 */
#ifndef ROWSYNC_COMMON_H
#define ROWSYNC_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes. 0 is success, small positive values are non-error
 * statuses, negative values are error classes the engine acts on. */
enum {
    ROWSYNC_OK = 0,
    ROWSYNC_DONE = 1,       /* a stream has no more rows */
    ROWSYNC_DROPPED = 2,    /* a plugin dropped the change */

    ROWSYNC_ERROR = -1,      /* anything not covered below */
    ROWSYNC_ENOMEM = -2,     /* out of memory */
    ROWSYNC_EINVAL = -3,     /* invalid input: job file, option, argument */
    ROWSYNC_ENOTFOUND = -4,  /* table, column, module or file not found */
    ROWSYNC_ENOTSUP = -5,    /* the driver or database cannot do this */
    ROWSYNC_ECONN = -6,      /* cannot connect, or the connection was lost */
    ROWSYNC_ETRANSIENT = -7, /* deadlock, serialization failure, busy, timeout: retry */
    ROWSYNC_ECONSTRAINT = -8,/* a constraint rejected a row */
    ROWSYNC_EABI = -9,       /* module ABI mismatch */
    ROWSYNC_ELOCKED = -10,   /* another rowsync process holds the pair lock */
    ROWSYNC_ECONVERT = -11,  /* a value cannot be converted */
    ROWSYNC_EIO = -12        /* file or I/O error */
};

/* Returns a static English name for a status code ("connection", ...). */
const char *rowsync_strerror(int code);

#define ROWSYNC_ERROR_MESSAGE_MAX 1024

/* Details of a failure. The caller owns it (usually on its stack); the
 * callee fills it. Nothing in it is allocated. */
typedef struct rowsync_error {
    int code;          /* one of the negative ROWSYNC_E* classes */
    long native;       /* the database's own code (SQLite result code,
                          mysql_errno, SQL Server message number), or 0 */
    char sqlstate[6];  /* five characters and NUL, or empty */
    char message[ROWSYNC_ERROR_MESSAGE_MAX];
} rowsync_error_t;

/* Sets err (when not NULL) to code and a printf-style message; returns
 * code so callers can write `return rowsync_error_set(err, ...)`. */
int rowsync_error_set(rowsync_error_t *err, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Prepends "prefix: " to err->message, keeping code and native code. */
void rowsync_error_prefix(rowsync_error_t *err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* A key = value pair from the job file, handed to modules as is. */
typedef struct rowsync_option {
    const char *key;
    const char *value;
} rowsync_option_t;

/* A growing string for SQL text and messages, shared by the core and the
 * drivers. Start it zeroed ({0}); p is NUL-terminated (NULL while empty).
 * A failed allocation sets oom and later appends do nothing, so a caller
 * checks once at the end. rowsync_buf_free releases p. */
typedef struct rowsync_buf {
    char *p;
    size_t len, cap;
    int oom;
} rowsync_buf_t;

void rowsync_buf_add(rowsync_buf_t *b, const char *s, size_t n);
void rowsync_buf_puts(rowsync_buf_t *b, const char *s);
void rowsync_buf_printf(rowsync_buf_t *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void rowsync_buf_free(rowsync_buf_t *b);

/* First member of every module table (driver or plugin). */
typedef struct rowsync_abi_header {
    uint16_t major;      /* incompatible changes bump this */
    uint16_t minor;      /* members appended at the end bump this */
    uint32_t struct_size;/* sizeof the module's table as it was compiled */
} rowsync_abi_header_t;

/* ---- values ------------------------------------------------------- */

typedef enum rowsync_type {
    ROWSYNC_TYPE_NULL = 0,
    ROWSYNC_TYPE_BOOL,
    ROWSYNC_TYPE_INT,         /* 64-bit signed integer */
    ROWSYNC_TYPE_DECIMAL,     /* exact decimal as text: -?digits[.digits] */
    ROWSYNC_TYPE_DOUBLE,
    ROWSYNC_TYPE_TEXT,        /* UTF-8 */
    ROWSYNC_TYPE_BINARY,
    ROWSYNC_TYPE_DATE,        /* days since 1970-01-01 */
    ROWSYNC_TYPE_TIME,        /* microseconds since midnight */
    ROWSYNC_TYPE_TIMESTAMP,   /* microseconds since 1970-01-01 00:00, no zone */
    ROWSYNC_TYPE_TIMESTAMPTZ, /* microseconds since the Unix epoch, UTC */
    ROWSYNC_TYPE_UUID,        /* text, 36 characters, lower case */
    ROWSYNC_TYPE_JSON         /* text */
} rowsync_type_t;

/* One value. For the text-carried types (DECIMAL, TEXT, BINARY, UUID,
 * JSON) `bytes` points to memory owned by whoever produced the value: a
 * stream's values stay valid until its next fetch, a row's until the row
 * is freed or the value is replaced. Text is not necessarily
 * NUL-terminated: use len. */
typedef struct rowsync_value {
    rowsync_type_t type;
    union {
        int b;          /* BOOL: 0 or 1 */
        int64_t i;      /* INT, TIME, TIMESTAMP, TIMESTAMPTZ */
        int32_t date;   /* DATE */
        double d;       /* DOUBLE */
        struct {
            const char *ptr;
            size_t len;
        } bytes;        /* DECIMAL, TEXT, BINARY, UUID, JSON */
    } u;
} rowsync_value_t;

/* Name of a type as used in messages and docs ("timestamptz"). */
const char *rowsync_type_name(rowsync_type_t type);

/* Writes the canonical text form of v into buf (always NUL-terminated when
 * len > 0). Text forms: true/false, decimal digits, %.17g doubles,
 * YYYY-MM-DD, HH:MM:SS[.ffffff], YYYY-MM-DD HH:MM:SS[.ffffff][+00:00],
 * binary as lower-case hex with a \x prefix, NULL as empty string.
 * Returns the length the full text needs (without NUL), like snprintf. */
size_t rowsync_value_format(const rowsync_value_t *v, char *buf, size_t len);

/* Parses text (len bytes) as type into out. Text-carried types point into
 * text itself (no copy), except BINARY, which is decoded into scratch
 * (at least len/2 bytes) and points there.
 * Returns 0, or ROWSYNC_ECONVERT with a message in err. */
int rowsync_value_parse(rowsync_type_t type, const char *text, size_t len,
                        void *scratch, rowsync_value_t *out,
                        rowsync_error_t *err);

/* Compares two values of the same type: <0, 0, >0. NULL sorts first;
 * values of different types compare by their canonical text. */
int rowsync_value_compare(const rowsync_value_t *a, const rowsync_value_t *b);

/* Calendar helpers shared by drivers: days since 1970-01-01 from a civil
 * date and back (proleptic Gregorian). */
int32_t rowsync_days_from_civil(int year, unsigned month, unsigned day);
void rowsync_civil_from_days(int32_t days, int *year, unsigned *month,
                             unsigned *day);

#ifdef __cplusplus
}
#endif

#endif
