/* Status names, the error record and the library version. */
#include <config.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <rowsync/rowsync.h>

const char *rowsync_version(void)
{
    return PACKAGE_VERSION;
}

const char *rowsync_strerror(int code)
{
    switch (code) {
    case ROWSYNC_OK:
        return "ok";
    case ROWSYNC_DONE:
        return "done";
    case ROWSYNC_DROPPED:
        return "dropped";
    case ROWSYNC_ERROR:
        return "error";
    case ROWSYNC_ENOMEM:
        return "out of memory";
    case ROWSYNC_EINVAL:
        return "invalid input";
    case ROWSYNC_ENOTFOUND:
        return "not found";
    case ROWSYNC_ENOTSUP:
        return "not supported";
    case ROWSYNC_ECONN:
        return "connection";
    case ROWSYNC_ETRANSIENT:
        return "transient";
    case ROWSYNC_ECONSTRAINT:
        return "constraint violation";
    case ROWSYNC_EABI:
        return "ABI mismatch";
    case ROWSYNC_ELOCKED:
        return "locked";
    case ROWSYNC_ECONVERT:
        return "conversion";
    case ROWSYNC_EIO:
        return "I/O";
    default:
        return "unknown status";
    }
}

/* After a text was cut to fit buf, drops a UTF-8 sequence the cut left
 * incomplete at its end, so messages stay valid UTF-8. */
static void err_trim_utf8(char *buf)
{
    size_t len = strlen(buf), start = len, need;
    unsigned char lead;

    while (start > 0 && ((unsigned char)buf[start - 1] & 0xC0) == 0x80 &&
           len - start < 3)
        start--;
    if (start == 0)
        return;
    lead = (unsigned char)buf[start - 1];
    if (lead < 0xC0)
        return; /* ASCII before the continuation bytes */
    need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
    if (len - (start - 1) < need)
        buf[start - 1] = '\0';
}

/* vsnprintf into buf, marking a cut UTF-8 sequence off when the text did
 * not fit. */
static void err_vformat(char *buf, size_t len, const char *fmt, va_list ap)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 0)))
#endif
    ;

static void err_vformat(char *buf, size_t len, const char *fmt, va_list ap)
{
    int n;

    if (fmt == NULL) {
        buf[0] = '\0';
        return;
    }
    n = vsnprintf(buf, len, fmt, ap);
    if (n < 0)
        buf[0] = '\0';
    else if ((size_t)n >= len)
        err_trim_utf8(buf);
}

/* Fills err with code and the formatted message; clears the native code
 * and SQLSTATE. The message is formatted into a separate buffer first, so
 * its arguments may point into err->message itself. */
int rowsync_error_set(rowsync_error_t *err, int code, const char *fmt, ...)
{
    char text[ROWSYNC_ERROR_MESSAGE_MAX];
    va_list ap;

    if (err == NULL)
        return code;
    va_start(ap, fmt);
    err_vformat(text, sizeof text, fmt, ap);
    va_end(ap);
    err->code = code;
    err->native = 0;
    err->sqlstate[0] = '\0';
    memcpy(err->message, text, sizeof text);
    return code;
}

/* Turns err->message into "prefix: message", cut to the buffer's size.
 * code, native code and SQLSTATE stay as they are. */
void rowsync_error_prefix(rowsync_error_t *err, const char *fmt, ...)
{
    char prefix[ROWSYNC_ERROR_MESSAGE_MAX];
    char text[ROWSYNC_ERROR_MESSAGE_MAX];
    va_list ap;
    int n;

    if (err == NULL)
        return;
    va_start(ap, fmt);
    err_vformat(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    err->message[sizeof err->message - 1] = '\0';
    if (err->message[0] == '\0')
        n = snprintf(text, sizeof text, "%s", prefix);
    else
        n = snprintf(text, sizeof text, "%s: %s", prefix, err->message);
    if (n >= 0 && (size_t)n >= sizeof text)
        err_trim_utf8(text);
    memcpy(err->message, text, sizeof text);
}
