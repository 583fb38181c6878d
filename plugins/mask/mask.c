/* The `mask` transform plugin: hides the values of chosen columns.
 *
 *   [plugin mask_email]
 *   module  = mask
 *   columns = email, phone
 *   method  = sha256 | redact | keep_last:N
 *
 * sha256 replaces a value by the lower-case hex SHA-256 of its canonical
 * text; redact replaces it by the text "***"; keep_last:N keeps the last N
 * characters (UTF-8 code points) and replaces each one before them by '*'.
 * NULL stays NULL; a row without a configured column passes unchanged.
 * The result is always TEXT. SHA-256 is implemented here (FIPS 180-4), so
 * the plugin needs no library besides librowsync.
 */
#include <config.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <rowsync/plugin.h>

enum mask_method { MASK_SHA256, MASK_REDACT, MASK_KEEP_LAST };

struct rowsync_plugin_instance {
    char **columns;
    size_t ncolumns;
    enum mask_method method;
    size_t keep; /* keep_last:N */
};

/* ---- SHA-256 ------------------------------------------------------------ */

typedef struct mask_sha256 {
    uint32_t h[8];
    uint64_t len; /* bytes hashed so far */
    unsigned char buf[64];
    size_t nbuf;
} mask_sha256_t;

static const uint32_t mask_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
    0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
    0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
    0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
    0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
    0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
    0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

#define MASK_ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

/* Processes one 64-byte block into the state. */
static void mask_sha256_block(mask_sha256_t *s, const unsigned char *p)
{
    uint32_t w[64], a, b, c, d, e, f, g, h, t1, t2;
    size_t i;

    for (i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
    for (i = 16; i < 64; i++) {
        uint32_t s0 =
            MASK_ROR(w[i - 15], 7) ^ MASK_ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 =
            MASK_ROR(w[i - 2], 17) ^ MASK_ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);

        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    a = s->h[0];
    b = s->h[1];
    c = s->h[2];
    d = s->h[3];
    e = s->h[4];
    f = s->h[5];
    g = s->h[6];
    h = s->h[7];
    for (i = 0; i < 64; i++) {
        t1 = h + (MASK_ROR(e, 6) ^ MASK_ROR(e, 11) ^ MASK_ROR(e, 25)) +
             ((e & f) ^ (~e & g)) + mask_k[i] + w[i];
        t2 = (MASK_ROR(a, 2) ^ MASK_ROR(a, 13) ^ MASK_ROR(a, 22)) +
             ((a & b) ^ (a & c) ^ (b & c));
        h = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    s->h[0] += a;
    s->h[1] += b;
    s->h[2] += c;
    s->h[3] += d;
    s->h[4] += e;
    s->h[5] += f;
    s->h[6] += g;
    s->h[7] += h;
}

/* Hashes len bytes of data and writes 64 lower-case hex digits and a NUL
 * into hex (65 bytes). */
static void mask_sha256_hex(const void *data, size_t len, char hex[65])
{
    static const uint32_t init[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372,
                                     0xa54ff53a, 0x510e527f, 0x9b05688c,
                                     0x1f83d9ab, 0x5be0cd19};
    static const char digits[] = "0123456789abcdef";
    const unsigned char *p = data;
    mask_sha256_t s;
    uint64_t bits;
    size_t i;

    memcpy(s.h, init, sizeof(init));
    s.len = len;
    while (len >= 64) {
        mask_sha256_block(&s, p);
        p += 64;
        len -= 64;
    }
    memset(s.buf, 0, sizeof(s.buf));
    memcpy(s.buf, p, len);
    s.buf[len] = 0x80;
    if (len >= 56) {
        mask_sha256_block(&s, s.buf);
        memset(s.buf, 0, sizeof(s.buf));
    }
    bits = s.len * 8;
    for (i = 0; i < 8; i++)
        s.buf[63 - i] = (unsigned char)(bits >> (8 * i));
    mask_sha256_block(&s, s.buf);
    for (i = 0; i < 32; i++) {
        unsigned char byte = (unsigned char)(s.h[i / 4] >> (24 - 8 * (i % 4)));

        hex[2 * i] = digits[byte >> 4];
        hex[2 * i + 1] = digits[byte & 15];
    }
    hex[64] = '\0';
}

/* ---- options ------------------------------------------------------------ */

static void mask_destroy(rowsync_plugin_instance_t *inst)
{
    size_t i;

    if (inst == NULL)
        return;
    for (i = 0; i < inst->ncolumns; i++)
        free(inst->columns[i]);
    free(inst->columns);
    free(inst);
}

/* Splits a comma-separated list of column names into inst->columns.
 * Returns 0, ROWSYNC_EINVAL (an empty name) or ROWSYNC_ENOMEM. */
static int mask_parse_columns(rowsync_plugin_instance_t *inst, const char *list,
                              rowsync_error_t *err)
{
    const char *p = list;

    for (;;) {
        const char *end = strchr(p, ',');
        size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
        char **grown;

        while (n > 0 && (*p == ' ' || *p == '\t')) {
            p++;
            n--;
        }
        while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        if (n == 0)
            return rowsync_error_set(err, ROWSYNC_EINVAL,
                                     "plugin mask: option 'columns' has an "
                                     "empty column name in '%s'",
                                     list);
        grown = realloc(inst->columns,
                        (inst->ncolumns + 1) * sizeof(*inst->columns));
        if (grown == NULL)
            return rowsync_error_set(err, ROWSYNC_ENOMEM, "out of memory");
        inst->columns = grown;
        inst->columns[inst->ncolumns] = malloc(n + 1);
        if (inst->columns[inst->ncolumns] == NULL)
            return rowsync_error_set(err, ROWSYNC_ENOMEM, "out of memory");
        memcpy(inst->columns[inst->ncolumns], p, n);
        inst->columns[inst->ncolumns][n] = '\0';
        inst->ncolumns++;
        if (end == NULL)
            return 0;
        p = end + 1;
    }
}

/* Reads `method`: sha256, redact or keep_last:N (N a positive integer). */
static int mask_parse_method(rowsync_plugin_instance_t *inst,
                             const char *method, rowsync_error_t *err)
{
    if (strcmp(method, "sha256") == 0) {
        inst->method = MASK_SHA256;
        return 0;
    }
    if (strcmp(method, "redact") == 0) {
        inst->method = MASK_REDACT;
        return 0;
    }
    if (strncmp(method, "keep_last:", 10) == 0) {
        const char *n = method + 10;
        char *end;
        unsigned long v;

        if (*n >= '0' && *n <= '9') {
            v = strtoul(n, &end, 10);
            if (*end == '\0' && v > 0 && v <= 1000000) {
                inst->method = MASK_KEEP_LAST;
                inst->keep = (size_t)v;
                return 0;
            }
        }
    }
    return rowsync_error_set(err, ROWSYNC_EINVAL,
                             "plugin mask: option 'method' is '%s'; expected "
                             "sha256, redact or keep_last:N (N >= 1)",
                             method);
}

/* Creates an instance; `columns` and `method` are both required. */
static int mask_create(rowsync_plugin_instance_t **out, size_t noptions,
                       const rowsync_option_t *options, rowsync_error_t *err)
{
    rowsync_plugin_instance_t *inst;
    const char *columns = NULL, *method = NULL;
    size_t i;
    int rc;

    for (i = 0; i < noptions; i++) {
        if (strcmp(options[i].key, "columns") == 0)
            columns = options[i].value;
        else if (strcmp(options[i].key, "method") == 0)
            method = options[i].value;
        else
            return rowsync_error_set(err, ROWSYNC_EINVAL,
                                     "plugin mask: unknown option '%s'",
                                     options[i].key);
    }
    if (columns == NULL || columns[0] == '\0')
        return rowsync_error_set(err, ROWSYNC_EINVAL,
                                 "plugin mask: option 'columns' is required");
    if (method == NULL || method[0] == '\0')
        return rowsync_error_set(err, ROWSYNC_EINVAL,
                                 "plugin mask: option 'method' is required");
    inst = calloc(1, sizeof(*inst));
    if (inst == NULL)
        return rowsync_error_set(err, ROWSYNC_ENOMEM, "out of memory");
    rc = mask_parse_columns(inst, columns, err);
    if (rc == 0)
        rc = mask_parse_method(inst, method, err);
    if (rc != 0) {
        mask_destroy(inst);
        return rc;
    }
    *out = inst;
    return 0;
}

/* ---- transform ---------------------------------------------------------- */

/* The masked text of len bytes of text (malloc'ed, NUL-terminated), or
 * NULL when out of memory. *outlen receives its length. */
static char *mask_apply(const rowsync_plugin_instance_t *inst, const char *text,
                        size_t len, size_t *outlen)
{
    char *out;

    if (inst->method == MASK_SHA256) {
        out = malloc(65);
        if (out != NULL) {
            mask_sha256_hex(text, len, out);
            *outlen = 64;
        }
        return out;
    }
    if (inst->method == MASK_REDACT) {
        out = malloc(4);
        if (out != NULL) {
            memcpy(out, "***", 4);
            *outlen = 3;
        }
        return out;
    }
    /* keep_last:N: find where the last N code points start. */
    {
        size_t start = len, kept = 0, hidden = 0, i;

        while (start > 0 && kept < inst->keep) {
            start--;
            while (start > 0 && ((unsigned char)text[start] & 0xC0) == 0x80)
                start--;
            kept++;
        }
        for (i = 0; i < start; i++)
            if (((unsigned char)text[i] & 0xC0) != 0x80)
                hidden++;
        out = malloc(hidden + (len - start) + 1);
        if (out == NULL)
            return NULL;
        memset(out, '*', hidden);
        memcpy(out + hidden, text + start, len - start);
        *outlen = hidden + (len - start);
        out[*outlen] = '\0';
        return out;
    }
}

/* Masks every configured column the row has and that is not NULL. A
 * non-text value is masked in its canonical text form. Key columns cannot
 * be changed: masking one fails the change. */
static int mask_transform(rowsync_plugin_instance_t *inst, rowsync_row_t *row,
                          rowsync_error_t *err)
{
    size_t i;

    for (i = 0; i < inst->ncolumns; i++) {
        const rowsync_value_t *v = rowsync_row_get(row, inst->columns[i]);
        rowsync_value_t nv;
        char small[64], *text = small, *masked;
        size_t len, mlen = 0;
        int rc;

        if (v == NULL || v->type == ROWSYNC_TYPE_NULL)
            continue;
        if (v->type == ROWSYNC_TYPE_TEXT || v->type == ROWSYNC_TYPE_JSON ||
            v->type == ROWSYNC_TYPE_DECIMAL || v->type == ROWSYNC_TYPE_UUID) {
            text = (char *)v->u.bytes.ptr;
            len = v->u.bytes.len;
        } else {
            len = rowsync_value_format(v, small, sizeof(small));
            if (len >= sizeof(small)) {
                text = malloc(len + 1);
                if (text == NULL)
                    return rowsync_error_set(err, ROWSYNC_ENOMEM,
                                             "out of memory");
                rowsync_value_format(v, text, len + 1);
            }
        }
        masked = mask_apply(inst, text, len, &mlen);
        if (text != small && text != v->u.bytes.ptr)
            free(text);
        if (masked == NULL)
            return rowsync_error_set(err, ROWSYNC_ENOMEM, "out of memory");
        memset(&nv, 0, sizeof(nv));
        nv.type = ROWSYNC_TYPE_TEXT;
        nv.u.bytes.ptr = masked;
        nv.u.bytes.len = mlen;
        rc = rowsync_row_set(row, inst->columns[i], &nv);
        free(masked);
        if (rc != 0)
            return rowsync_error_set(err, rc,
                                     "plugin mask: cannot set column '%s' "
                                     "of table '%s': %s",
                                     inst->columns[i], rowsync_row_table(row),
                                     rc == ROWSYNC_EINVAL
                                         ? "it is part of the key"
                                         : rowsync_strerror(rc));
    }
    return 0;
}

static const char *const mask_options[] = {"columns", "method", NULL};

static const rowsync_plugin_t mask_plugin = {
    .abi = ROWSYNC_PLUGIN_HEADER,
    .name = "mask",
    .version = PACKAGE_VERSION,
    .description = "hides columns: sha256, redact or keep_last:N",
    .options = mask_options,
    .create = mask_create,
    .destroy = mask_destroy,
    .transform = mask_transform,
};

int mask_LTX_rowsync_plugin_entry(const rowsync_plugin_t **out,
                                  const rowsync_abi_header_t *host);
/* Hands the core the plugin table when the host speaks ABI major 1. */
int mask_LTX_rowsync_plugin_entry(const rowsync_plugin_t **out,
                                  const rowsync_abi_header_t *host)
{
    if (host->major != ROWSYNC_PLUGIN_ABI_MAJOR)
        return ROWSYNC_EABI;
    *out = &mask_plugin;
    return 0;
}
