/* The engine: binds a job to its drivers, resolves tables, and runs the
 * passes. It knows sync policy (directions, cursors, conflicts, batches)
 * and no SQL: everything database-specific goes through the driver ABI.
 *
 * Exactly once: every batch applied to a target commits in the same
 * transaction as the cursor of its direction, which lives in the target.
 * A crash anywhere replays the uncommitted batch from the stored cursor.
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "engine.h"
#include "filter.h"
#include "keyset.h"
#include "loader.h"
#include "mapping.h"
#include "row.h"

#define RS_STOPPED 3 /* internal status: a stop was requested, work saved */

/* ---- small helpers ---------------------------------------------------- */

static rs_node_t *en_node(rowsync_job_t *job, const char *name)
{
    for (size_t i = 0; i < job->cfg->nnodes; i++)
        if (strcmp(job->nodes[i].cfg->name, name) == 0)
            return &job->nodes[i];
    return NULL;
}

/* Whether node is a spoke of a hub job with more than two nodes. */
static int en_spoke(rowsync_job_t *job, const rs_node_t *node)
{
    const rs_job_cfg_t *cfg = job->cfg;
    return cfg->hub && cfg->nnodes > 2 && strcmp(cfg->hub, node->cfg->name);
}

/* Whether the job is a full mesh of more than two nodes. */
static int en_mesh(rowsync_job_t *job)
{
    const rs_job_cfg_t *cfg = job->cfg;
    return cfg->mode == RS_MODE_BIDIRECTIONAL && cfg->nnodes > 2 && !cfg->hub;
}

static size_t en_node_index(rowsync_job_t *job, const rs_node_t *node)
{
    return (size_t)(node - job->nodes);
}

/* Appends the canonical text of one key value to buf, escaping ',' and
 * '%' so the joined form splits back unambiguously. */
static int en_key_append(char **buf, size_t *len, size_t *cap,
                         const rowsync_value_t *v)
{
    char small[128];
    size_t need = rowsync_value_format(v, small, sizeof(small));
    char *text = small;
    if (need >= sizeof(small)) {
        if (!(text = malloc(need + 1)))
            return ROWSYNC_ENOMEM;
        rowsync_value_format(v, text, need + 1);
    }
    int rc = 0;
    for (size_t i = 0; i < need; i++) {
        if (*len + 4 > *cap) {
            size_t ncap = *cap ? *cap * 2 : 64;
            char *nbuf = realloc(*buf, ncap);
            if (!nbuf) {
                rc = ROWSYNC_ENOMEM;
                break;
            }
            *buf = nbuf;
            *cap = ncap;
        }
        char c = text[i];
        if (c == ',' || c == '%')
            *len += (size_t)sprintf(*buf + *len, "%%%02X", (unsigned char)c);
        else
            (*buf)[(*len)++] = c;
    }
    if (text != small)
        free(text);
    return rc;
}

/* Builds the key text of values[0..nkeys-1] ("6", "eu,42") into *buf,
 * reusing its storage. */
static int en_key_text(char **buf, size_t *cap, const rowsync_value_t *values,
                       size_t nkeys)
{
    size_t len = 0;
    if (!*buf) {
        *cap = 64;
        if (!(*buf = malloc(*cap)))
            return ROWSYNC_ENOMEM;
    }
    for (size_t k = 0; k < nkeys; k++) {
        if (k > 0) {
            if (len + 2 > *cap) {
                char *nbuf = realloc(*buf, *cap * 2);
                if (!nbuf)
                    return ROWSYNC_ENOMEM;
                *buf = nbuf;
                *cap *= 2;
            }
            (*buf)[len++] = ',';
        }
        int rc = en_key_append(buf, &len, cap, &values[k]);
        if (rc < 0)
            return rc;
    }
    if (len + 1 > *cap) {
        char *nbuf = realloc(*buf, len + 1);
        if (!nbuf)
            return ROWSYNC_ENOMEM;
        *buf = nbuf;
        *cap = len + 1;
    }
    (*buf)[len] = '\0';
    return 0;
}

/* Splits a key text back into nkeys values of the given types. The
 * values point into `storage`, which must outlive them. */
static int en_key_parse(const char *text, size_t nkeys,
                        const rowsync_type_t *types, char *storage,
                        char *scratch, rowsync_value_t *out,
                        rowsync_error_t *err)
{
    char *w = storage;
    const char *p = text;
    for (size_t k = 0; k < nkeys; k++) {
        char *start = w;
        while (*p && *p != ',') {
            if (*p == '%' && p[1] && p[2]) {
                char hex[3] = {p[1], p[2], 0};
                *w++ = (char)strtol(hex, NULL, 16);
                p += 3;
            } else {
                *w++ = *p++;
            }
        }
        size_t len = (size_t)(w - start);
        *w++ = '\0';
        if (*p == ',')
            p++;
        int rc = rowsync_value_parse(types[k], start, len, scratch, &out[k],
                                     err);
        if (rc < 0)
            return rc;
        scratch += len / 2 + 1;
    }
    return 0;
}

/* ---- batches: changes copied out of a stream until they commit -------- */

typedef struct en_block {
    struct en_block *next;
    size_t used, cap;
    char data[];
} en_block_t;

typedef struct en_batch {
    rowsync_change_t *changes;
    rowsync_value_t *values;
    size_t n, max, ncols;
    en_block_t *blocks; /* arena for bytes and origins; reset per batch */
    size_t bytes;       /* arena bytes handed out since the last reset */
} en_batch_t;

/* Arena bytes at which a batch is flushed before batch_size rows: keeps a
 * batch of wide rows (and the process) small. */
#define EN_BATCH_BYTES ((size_t)16 << 20)

static int en_batch_init(en_batch_t *b, size_t max, size_t ncols)
{
    memset(b, 0, sizeof(*b));
    b->max = max;
    b->ncols = ncols;
    b->changes = calloc(max, sizeof(*b->changes));
    b->values = calloc(max * (ncols ? ncols : 1), sizeof(*b->values));
    return (b->changes && b->values) ? 0 : ROWSYNC_ENOMEM;
}

static void en_batch_free(en_batch_t *b)
{
    while (b->blocks) {
        en_block_t *next = b->blocks->next;
        free(b->blocks);
        b->blocks = next;
    }
    free(b->changes);
    free(b->values);
    memset(b, 0, sizeof(*b));
}

/* Empties the batch; arena blocks are kept for reuse (flat memory). */
static void en_batch_reset(en_batch_t *b)
{
    b->n = 0;
    b->bytes = 0;
    for (en_block_t *blk = b->blocks; blk; blk = blk->next)
        blk->used = 0;
}

/* The batch is due for a flush: batch_size rows, or EN_BATCH_BYTES of
 * values. */
static int en_batch_full(const en_batch_t *b)
{
    return b->n == b->max || b->bytes >= EN_BATCH_BYTES;
}

static void *en_batch_alloc(en_batch_t *b, size_t len)
{
    len = (len + 7) & ~(size_t)7;
    b->bytes += len;
    for (en_block_t *blk = b->blocks; blk; blk = blk->next)
        if (blk->cap - blk->used >= len) {
            void *p = blk->data + blk->used;
            blk->used += len;
            return p;
        }
    size_t cap = len > 65536 ? len : 65536;
    en_block_t *blk = malloc(sizeof(*blk) + cap);
    if (!blk)
        return NULL;
    blk->cap = cap;
    blk->used = len;
    blk->next = b->blocks;
    b->blocks = blk;
    return blk->data;
}

/* Converts v to type `to` through the value model (text in between,
 * direct for bool <-> int, dates and timestamps), bytes in the batch's
 * arena. ROWSYNC_ECONVERT with a message when v has no such form. */
static int en_convert(en_batch_t *b, const rowsync_value_t *v,
                      rowsync_type_t to, rowsync_value_t *out,
                      rowsync_error_t *err)
{
    const int64_t day = INT64_C(86400000000);
    rowsync_type_t from = v->type;

    *out = *v;
    if (from == ROWSYNC_TYPE_NULL || from == to)
        return 0;
    out->type = to;
    if (from == ROWSYNC_TYPE_BOOL && to == ROWSYNC_TYPE_INT) {
        out->u.i = v->u.b != 0;
        return 0;
    }
    if (from == ROWSYNC_TYPE_INT && to == ROWSYNC_TYPE_BOOL &&
        (v->u.i == 0 || v->u.i == 1)) {
        out->u.b = (int)v->u.i;
        return 0;
    }
    if ((from == ROWSYNC_TYPE_TIMESTAMP || from == ROWSYNC_TYPE_TIMESTAMPTZ) &&
        (to == ROWSYNC_TYPE_TIMESTAMP || to == ROWSYNC_TYPE_TIMESTAMPTZ)) {
        out->u.i = v->u.i;
        return 0;
    }
    if (from == ROWSYNC_TYPE_DATE &&
        (to == ROWSYNC_TYPE_TIMESTAMP || to == ROWSYNC_TYPE_TIMESTAMPTZ)) {
        out->u.i = (int64_t)v->u.date * day;
        return 0;
    }
    if ((from == ROWSYNC_TYPE_TIMESTAMP || from == ROWSYNC_TYPE_TIMESTAMPTZ) &&
        to == ROWSYNC_TYPE_DATE && v->u.i % day == 0) {
        out->u.date = (int32_t)(v->u.i / day);
        return 0;
    }
    size_t need = rowsync_value_format(v, NULL, 0);
    char *text = en_batch_alloc(b, need + 1);
    void *scratch = text ? en_batch_alloc(b, need / 2 + 1) : NULL;
    if (!text || !scratch)
        return rowsync_error_set(err, ROWSYNC_ENOMEM, "out of memory");
    rowsync_value_format(v, text, need + 1);
    rowsync_error_t perr;
    if (rowsync_value_parse(to, text, need, scratch, out, &perr) != 0) {
        *out = *v;
        return rowsync_error_set(
            err, ROWSYNC_ECONVERT, "cannot convert %s '%.64s' to %s",
            rowsync_type_name(from), text, rowsync_type_name(to));
    }
    return 0;
}

/* Copies a change (values and bytes) into the batch, shaped for the
 * target by the route (its columns, with its fill values, and converted to
 * the target column's type where the two nodes declare the column with
 * different types; a value whose type differs from its own column's, as
 * SQLite allows, travels as it is, unless retyped[its source index] says a
 * plugin changed its type) and with origin set to `origin` when the
 * change carries none. A value that cannot convert fails with ROWSYNC_ECONVERT;
 * the batch then holds a partial change and must not be applied. */
/* Copies the bytes of a text-carried value into the batch's arena, so
 * it stays valid until the batch commits. */
static int en_batch_own(en_batch_t *b, rowsync_value_t *v)
{
    switch (v->type) {
    case ROWSYNC_TYPE_DECIMAL:
    case ROWSYNC_TYPE_TEXT:
    case ROWSYNC_TYPE_BINARY:
    case ROWSYNC_TYPE_UUID:
    case ROWSYNC_TYPE_JSON: {
        size_t len = v->u.bytes.len;
        char *copy = en_batch_alloc(b, len ? len : 1);
        if (!copy)
            return ROWSYNC_ENOMEM;
        if (len)
            memcpy(copy, v->u.bytes.ptr, len);
        v->u.bytes.ptr = copy;
        return 0;
    }
    default:
        return 0;
    }
}

static int en_batch_add(en_batch_t *b, const rs_route_t *route,
                        const rs_node_table_t *dst, const rowsync_change_t *ch,
                        const unsigned char *retyped,
                        const rowsync_value_t *plugged, const char *origin,
                        size_t *bad_column, rowsync_error_t *err)
{
    static const rowsync_value_t null_value;
    rowsync_change_t *out = &b->changes[b->n];
    rowsync_value_t *vals = &b->values[b->n * b->ncols];
    *out = *ch;
    const char *o = ch->origin ? ch->origin : origin;
    size_t olen = strlen(o) + 1;
    char *ocopy = en_batch_alloc(b, olen);
    if (!ocopy)
        return rowsync_error_set(err, ROWSYNC_ENOMEM, "out of memory");
    memcpy(ocopy, o, olen);
    out->origin = ocopy;
    for (size_t i = 0; i < b->ncols; i++) {
        const rowsync_value_t *in;
        size_t from = route->from[i];
        if (from == RS_ROUTE_FILL)
            in = &dst->fill_values[route->fill[i]];
        else if (from == RS_ROUTE_PLUGIN)
            in = plugged && ch->op != ROWSYNC_OP_DELETE
                     ? &plugged[route->fill[i]]
                     : &null_value;
        else if (from < ch->nvalues &&
                 (ch->op != ROWSYNC_OP_DELETE || i < route->spec.nkeys))
            in = &ch->values[from];
        else {
            memset(&vals[i], 0, sizeof(vals[i]));
            continue;
        }
        int rc = 0;
        /* a value a plugin gave another type converts to the target's */
        int replugged = retyped && from < ch->nvalues && retyped[from] &&
                        in->type != ROWSYNC_TYPE_NULL &&
                        in->type != route->types[i];
        if (from == RS_ROUTE_PLUGIN)
            replugged = in->type != ROWSYNC_TYPE_NULL &&
                        in->type != route->types[i];
        if (route->convert[i] || replugged)
            rc = en_convert(b, in, route->types[i], &vals[i], err);
        else
            vals[i] = *in;
        if (rc < 0) {
            *bad_column = i;
            return rc;
        }
        if (en_batch_own(b, &vals[i]) < 0)
            return rowsync_error_set(err, ROWSYNC_ENOMEM, "out of memory");
    }
    out->values = vals;
    out->nvalues = b->ncols;
    b->n++;
    return 0;
}

/* ---- binding the job to drivers and connections ----------------------- */

static int en_load_plugins(rowsync_job_t *job, rowsync_error_t *err);

int rs_engine_load_drivers(rowsync_job_t *job, rowsync_error_t *err)
{
    for (size_t i = 0; i < job->cfg->nnodes; i++) {
        rs_node_t *node = &job->nodes[i];
        const rs_node_cfg_t *nc = node->cfg;
        if (node->drv)
            continue;
        int rc = rs_driver_load(job->ctx, nc->driver, &node->drv, err);
        if (rc < 0) {
            rowsync_error_prefix(err, "%s:%d: node '%s'", job->cfg->path,
                                 nc->line, nc->name);
            return rc;
        }
        for (size_t o = 0; o < nc->noptions; o++) {
            const char *const *ok = node->drv->options;
            while (ok && *ok && strcmp(*ok, nc->options[o].key) != 0)
                ok++;
            if (ok && *ok)
                continue;
            char accepted[512] = "";
            size_t len = 0;
            for (ok = node->drv->options; ok && *ok; ok++)
                len += (size_t)snprintf(accepted + len,
                                        len < sizeof(accepted)
                                            ? sizeof(accepted) - len
                                            : 0,
                                        "%s%s", len ? ", " : "", *ok);
            node->drv = NULL;
            return rowsync_error_set(
                err, ROWSYNC_EINVAL,
                "%s:%d: unknown key '%s' in [node %s] for driver '%s' "
                "(accepted: driver, password_env, password_file%s%s)",
                job->cfg->path, nc->options[o].line, nc->options[o].key,
                nc->name, nc->driver, len ? ", " : "", accepted);
        }
    }
    return en_load_plugins(job, err);
}

/* Destroys the job's plugin instances (the modules stay loaded). */
static void en_free_plugins(rowsync_job_t *job)
{
    if (!job->plugins)
        return;
    for (size_t i = 0; i < job->cfg->nplugins; i++)
        if (job->plugins[i].inst)
            job->plugins[i].plugin->destroy(job->plugins[i].inst);
    free(job->plugins);
    job->plugins = NULL;
}

/* Loads every [plugin NAME]'s module, checks the section's keys against
 * the plugin's option list (file:line of an unknown one) and creates the
 * instance. On failure no instance is left. */
/* The loaded [plugin NAME] instance, or NULL. */
static const rs_plugin_inst_t *en_plugin(const rowsync_job_t *job,
                                         const char *name)
{
    for (size_t i = 0; i < job->cfg->nplugins; i++)
        if (strcmp(job->plugins[i].cfg->name, name) == 0)
            return &job->plugins[i];
    return NULL;
}

/* Fails, before anything runs, when a `conflict = plugin:NAME` names a
 * plugin whose module cannot decide conflicts. */
static int en_check_resolvers(rowsync_job_t *job, rowsync_error_t *err)
{
    const rs_job_cfg_t *cfg = job->cfg;
    for (size_t t = 0; t <= cfg->ntables; t++) {
        const rs_table_cfg_t *tc = t < cfg->ntables ? &cfg->tables[t] : NULL;
        int rule = tc ? tc->conflict : (int)cfg->conflict;
        const char *name = tc ? tc->conflict_plugin : cfg->conflict_plugin;
        int line = tc ? tc->conflict_line : cfg->conflict_line;
        if (rule != RS_RULE_PLUGIN)
            continue;
        const rs_plugin_inst_t *pi = en_plugin(job, name);
        if (pi && !pi->plugin->resolve)
            return rowsync_error_set(
                err, ROWSYNC_EINVAL,
                "%s:%d: conflict = plugin:%s, but module '%s' of [plugin %s] "
                "has no resolver (plugin ABI 1.1 member resolve)",
                cfg->path, line, name, pi->cfg->module, name);
    }
    return 0;
}

static int en_load_plugins(rowsync_job_t *job, rowsync_error_t *err)
{
    const rs_job_cfg_t *cfg = job->cfg;
    if (job->plugins || cfg->nplugins == 0)
        return 0;
    job->plugins = calloc(cfg->nplugins, sizeof(*job->plugins));
    if (!job->plugins)
        return rowsync_error_set(err, ROWSYNC_ENOMEM, "out of memory");
    for (size_t i = 0; i < cfg->nplugins; i++) {
        const rs_plugin_cfg_t *pc = &cfg->plugins[i];
        rs_plugin_inst_t *pi = &job->plugins[i];
        pi->cfg = pc;
        int rc = rs_plugin_load(job->ctx, pc->module, &pi->plugin, err);
        if (rc < 0) {
            rowsync_error_prefix(err, "%s:%d: plugin '%s'", cfg->path,
                                 pc->line, pc->name);
            en_free_plugins(job);
            return rc;
        }
        for (size_t o = 0; o < pc->noptions; o++) {
            const char *const *ok = pi->plugin->options;
            while (ok && *ok && strcmp(*ok, pc->options[o].key) != 0)
                ok++;
            if (ok && *ok)
                continue;
            char accepted[512] = "";
            size_t len = 0;
            for (ok = pi->plugin->options; ok && *ok; ok++)
                len += (size_t)snprintf(accepted + len,
                                        len < sizeof(accepted)
                                            ? sizeof(accepted) - len
                                            : 0,
                                        "%s%s", len ? ", " : "", *ok);
            rc = rowsync_error_set(
                err, ROWSYNC_EINVAL,
                "%s:%d: unknown key '%s' in [plugin %s] for module '%s' "
                "(accepted: module%s%s)",
                cfg->path, pc->options[o].line, pc->options[o].key, pc->name,
                pc->module, len ? ", " : "", accepted);
            en_free_plugins(job);
            return rc;
        }
        rowsync_option_t *opts = calloc(pc->noptions + 1, sizeof(*opts));
        if (!opts) {
            en_free_plugins(job);
            return rowsync_error_set(err, ROWSYNC_ENOMEM, "out of memory");
        }
        for (size_t o = 0; o < pc->noptions; o++) {
            opts[o].key = pc->options[o].key;
            opts[o].value = pc->options[o].value;
        }
        rowsync_error_t perr;
        memset(&perr, 0, sizeof(perr));
        rc = pi->plugin->create(&pi->inst, pc->noptions, opts, &perr);
        free(opts);
        if (rc < 0 || !pi->inst) {
            pi->inst = NULL;
            rc = rowsync_error_set(err, rc < 0 ? rc : ROWSYNC_ERROR,
                                   "%s:%d: [plugin %s]: %s", cfg->path,
                                   pc->line, pc->name,
                                   perr.message[0] ? perr.message
                                                   : "create failed");
            en_free_plugins(job);
            return rc;
        }
    }
    int rc = en_check_resolvers(job, err);
    if (rc < 0)
        en_free_plugins(job);
    return rc;
}

/* Reads the node's password from the environment or a file. *out is
 * malloc'd (or NULL when the node has none). The password itself never
 * appears in a message. */
static int en_password(rowsync_job_t *job, const rs_node_cfg_t *nc,
                       char **out, rowsync_error_t *err)
{
    *out = NULL;
    if (nc->password_env) {
        const char *v = getenv(nc->password_env);
        if (!v)
            return rowsync_error_set(
                err, ROWSYNC_EINVAL,
                "node '%s': password_env names %s, which is not set",
                nc->name, nc->password_env);
        return (*out = rs_strdup(v)) ? 0 : ROWSYNC_ENOMEM;
    }
    if (nc->password_file) {
        char *path = nc->password_file[0] == '/'
                         ? rs_strdup(nc->password_file)
                         : rs_sprintf("%s/%s", job->cfg->dir,
                                      nc->password_file);
        if (!path)
            return ROWSYNC_ENOMEM;
        FILE *f = fopen(path, "r");
        if (!f) {
            rowsync_error_set(err, ROWSYNC_EIO,
                              "node '%s': cannot read password_file %s: %s",
                              nc->name, path, strerror(errno));
            free(path);
            return ROWSYNC_EIO;
        }
        char line[1024];
        if (!fgets(line, sizeof(line), f))
            line[0] = '\0';
        fclose(f);
        free(path);
        line[strcspn(line, "\r\n")] = '\0';
        *out = rs_strdup(line);
        memset(line, 0, sizeof(line));
        return *out ? 0 : ROWSYNC_ENOMEM;
    }
    return 0;
}

/* Opens a new connection to node i with its driver (loaded already) and
 * password; *out belongs to the caller (drv->disconnect). */
int rs_engine_connect_node(rowsync_job_t *job, size_t i, rowsync_conn_t **out,
                           rowsync_error_t *err)
{
    rs_node_t *node = &job->nodes[i];
    const rs_node_cfg_t *nc = node->cfg;
    rowsync_option_t *opts = calloc(nc->noptions + 1, sizeof(*opts));
    if (!opts)
        return ROWSYNC_ENOMEM;
    for (size_t o = 0; o < nc->noptions; o++) {
        opts[o].key = nc->options[o].key;
        opts[o].value = nc->options[o].value;
    }
    char *password = NULL;
    int rc = en_password(job, nc, &password, err);
    if (rc == 0) {
        rowsync_node_config_t c = {nc->name, job->cfg->dir, password,
                                   nc->noptions, opts};
        rc = node->drv->connect(out, &c, err);
        if (rc < 0 && err && !strstr(err->message, nc->name))
            rowsync_error_prefix(err, "node '%s'", nc->name);
    }
    if (password) {
        memset(password, 0, strlen(password));
        free(password);
    }
    free(opts);
    return rc;
}

int rs_engine_connect(rowsync_job_t *job, rowsync_error_t *err)
{
    int rc = rs_engine_load_drivers(job, err);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < job->cfg->nnodes; i++) {
        rs_node_t *node = &job->nodes[i];
        if (node->conn)
            continue;
        if ((rc = rs_engine_connect_node(job, i, &node->conn, err)) < 0)
            return rc;
        rs_log(job->ctx, ROWSYNC_LOG_DEBUG, "connected to node '%s' (%s)",
               node->cfg->name, node->cfg->driver);
    }
    return 0;
}

static void en_free_tables(rowsync_job_t *job)
{
    if (!job->tables)
        return;
    for (size_t t = 0; t < job->cfg->ntables; t++)
        rs_map_table_free(&job->tables[t], job->cfg->nnodes);
    free(job->tables);
    job->tables = NULL;
    free(job->order);
    job->order = NULL;
    job->has_references = 0;
    job->resolved = 0;
}

void rs_engine_close(rowsync_job_t *job)
{
    en_free_tables(job);
    en_free_plugins(job);
    for (size_t i = 0; i < job->cfg->nnodes; i++) {
        rs_node_t *node = &job->nodes[i];
        if (node->conn) {
            node->drv->disconnect(node->conn);
            node->conn = NULL;
        }
    }
}

/* The node whose table shape is canonical: the source in one-way jobs,
 * else the source if given, else the first node. */
static rs_node_t *en_reference_node(rowsync_job_t *job)
{
    if (job->cfg->source)
        return en_node(job, job->cfg->source);
    return &job->nodes[0];
}

/* The table's name on node (see rs_map_table_name). */
static const char *en_table_name(const rs_table_cfg_t *tc, const char *node)
{
    return rs_map_table_name(tc, node);
}

/* Describes a table on a node (by its name there); a failure names the
 * table, the node and the job file line of the table. */
static int en_describe(rowsync_job_t *job, rs_node_t *node,
                       const rs_table_cfg_t *tc,
                       const rowsync_table_info_t **info, rowsync_error_t *err)
{
    const char *name = en_table_name(tc, node->cfg->name);
    int rc = node->drv->describe(node->conn, name, info, err);
    if (rc < 0)
        rowsync_error_prefix(err, "%s:%d: table '%s' on node '%s'",
                             job->cfg->path, tc->line, name, node->cfg->name);
    return rc;
}

/* Whether a database's table name denotes a job table name: equal, or
 * equal once a schema prefix is dropped from either. */
static int en_same_table(const char *db_name, const char *job_name)
{
    if (strcasecmp(db_name, job_name) == 0)
        return 1;
    const char *a = strrchr(db_name, '.'), *b = strrchr(job_name, '.');
    return strcasecmp(a ? a + 1 : db_name, b ? b + 1 : job_name) == 0;
}

struct en_refs {
    rowsync_job_t *job;
    size_t child;
    unsigned char *parent_of; /* [parent * n + child] */
    const char *node;         /* the node asked, whose table names count */
};

static int en_note_reference(void *ud, const char *referenced)
{
    struct en_refs *r = ud;
    size_t n = r->job->cfg->ntables;
    for (size_t p = 0; p < n; p++)
        if (p != r->child &&
            en_same_table(referenced,
                          en_table_name(&r->job->cfg->tables[p], r->node))) {
            r->parent_of[p * n + r->child] = 1;
            r->job->has_references = 1;
        }
    return 0;
}

/* Orders the job's tables parents first, from the foreign keys the
 * reference node's driver reports (job file order where there are none,
 * and for tables in a cycle, which is logged). */
static int en_order_tables(rowsync_job_t *job, rs_node_t *ref,
                           rowsync_error_t *err)
{
    size_t n = job->cfg->ntables;
    struct en_refs r = {job, 0, calloc(n ? n * n : 1, 1), ref->cfg->name};
    unsigned char *placed = calloc(n ? n : 1, 1);
    job->order = calloc(n ? n : 1, sizeof(*job->order));
    if (!r.parent_of || !placed || !job->order) {
        free(r.parent_of);
        free(placed);
        return rowsync_error_set(err, ROWSYNC_ENOMEM, "out of memory");
    }
    int rc = 0;
    for (size_t t = 0; ref->drv->references && rc == 0 && t < n; t++) {
        r.child = t;
        rc = ref->drv->references(
            ref->conn, job->tables[t].on[en_node_index(job, ref)].spec.table,
            en_note_reference, &r, err);
    }
    size_t count = 0;
    while (rc == 0 && count < n) {
        size_t before = count;
        for (size_t t = 0; t < n; t++) {
            if (placed[t])
                continue;
            int ready = 1;
            for (size_t p = 0; p < n; p++)
                if (r.parent_of[p * n + t] && !placed[p])
                    ready = 0;
            if (ready) {
                placed[t] = 1;
                job->order[count++] = t;
            }
        }
        if (count == before) {
            /* a cycle: keep the rest in job file order */
            rs_log(job->ctx, ROWSYNC_LOG_WARN,
                   "foreign keys between the job's tables form a cycle; "
                   "those tables sync in job file order");
            for (size_t t = 0; t < n; t++)
                if (!placed[t]) {
                    placed[t] = 1;
                    job->order[count++] = t;
                }
        }
    }
    free(r.parent_of);
    free(placed);
    return rc;
}

/* Describes every table on every node and resolves its shapes and
 * routes (mapping.c). */
int rs_engine_resolve(rowsync_job_t *job, rowsync_error_t *err)
{
    if (job->resolved)
        return 0;
    int rc = rs_engine_connect(job, err);
    if (rc < 0)
        return rc;
    size_t nn = job->cfg->nnodes;
    job->tables = calloc(job->cfg->ntables, sizeof(*job->tables));
    const rowsync_table_info_t **infos = calloc(nn ? nn : 1, sizeof(*infos));
    if (!job->tables || !infos) {
        free(infos);
        return rowsync_error_set(err, ROWSYNC_ENOMEM, "out of memory");
    }
    rs_node_t *ref = en_reference_node(job);
    for (size_t t = 0; t < job->cfg->ntables && rc == 0; t++) {
        const rs_table_cfg_t *tc = &job->cfg->tables[t];
        /* each node describes on its own connection: all stay valid */
        for (size_t n = 0; n < nn && rc == 0; n++)
            rc = en_describe(job, &job->nodes[n], tc, &infos[n], err);
        if (rc == 0)
            rc = rs_map_table(job->cfg, tc, infos, en_node_index(job, ref),
                              &job->tables[t], NULL, NULL, err);
    }
    free(infos);
    if (rc == 0)
        rc = en_order_tables(job, ref, err);
    if (rc < 0) {
        en_free_tables(job);
        return rc;
    }
    job->resolved = 1;
    return 0;
}

/* ---- passes ----------------------------------------------------------- */

/* One direction of one table in a pass. */
typedef struct en_dir {
    rowsync_job_t *job;
    rs_node_t *from, *to;
    rs_table_t *table;
    rs_node_table_t *src, *dst;
    const rs_route_t *route; /* how changes travel from src to dst */
    char state_key[512];
    char end_cursor[ROWSYNC_STATE_MAX]; /* where the last flush left it */
    /* What this move applies and whether it moves the cursor: all three
     * normally; the foreign-key sweeps apply one kind only. */
    int upserts, deletes, moves_cursor;
    /* Send only changes written on the source itself (bidirectional jobs
     * with more than two nodes, except from the hub): every other change
     * reaches the target from its origin directly. */
    int local_only;
    /* merge = column: ask the source which columns each change touched;
     * cur_cols holds the answer for the change being decided */
    int want_cols;
    uint64_t cur_cols;
    rowsync_pass_stats_t stats;
} en_dir_t;

static void en_dir_init(en_dir_t *d, rowsync_job_t *job, rs_node_t *from,
                        rs_node_t *to, rs_table_t *table)
{
    memset(d, 0, sizeof(*d));
    d->job = job;
    d->from = from;
    d->to = to;
    d->table = table;
    d->upserts = d->deletes = d->moves_cursor = 1;
    d->src = &table->on[en_node_index(job, from)];
    d->dst = &table->on[en_node_index(job, to)];
    d->route = &table->routes[en_node_index(job, from) * job->cfg->nnodes +
                              en_node_index(job, to)];
    snprintf(d->state_key, sizeof(d->state_key), "cursor/%s/%s",
             from->cfg->name, table->cfg->name);
    d->local_only = en_mesh(job) || en_spoke(job, from);
}

/* What to do with one change while it streams: keep it, drop it, and a
 * conflict to journal in the batch's transaction. */
typedef struct en_verdict {
    int drop;
    int conflict;
    rowsync_conflict_t record;
    /* merge = column: apply the change with the target's own values for
     * the canonical columns in merge_keep (merge_values, in the target
     * table's spec order), as a local change at merge_time */
    int merge;
    uint64_t merge_keep;
    int64_t merge_time;
    rowsync_value_t *merge_values;
    char *merge_storage;
} en_verdict_t;

typedef int (*en_filter_fn)(void *ud, en_dir_t *d, const rowsync_change_t *ch,
                            en_verdict_t *v, rowsync_error_t *err);

/* Applies the batch, the direction's cursor and the batch's conflict
 * records in one transaction on the target. */
static int en_flush_at(en_dir_t *d, en_batch_t *batch,
                       rowsync_conflict_t *conflicts, size_t nconflicts,
                       const char *since, const char *cursor,
                       rowsync_error_t *err)
{
    const rowsync_driver_t *ddrv = d->to->drv;
    int rc = 0;
    snprintf(d->end_cursor, sizeof(d->end_cursor), "%s", cursor);
    /* nothing moved: no write transaction on an idle pass */
    if (!batch->n && !nconflicts &&
        (!d->moves_cursor || strcmp(cursor, since) == 0))
        return 0;
    if ((rc = ddrv->begin(d->to->conn, err)) < 0)
        return rc;
    /* fill columns take their value on insert only, where the driver can */
    if (batch->n && d->route->nfill && ddrv->apply_insert_only)
        rc = ddrv->apply_insert_only(d->to->conn, &d->route->spec,
                                     d->route->insert_only, batch->changes,
                                     batch->n, err);
    else if (batch->n)
        rc = ddrv->apply(d->to->conn, &d->route->spec, batch->changes, batch->n,
                         err);
    for (size_t i = 0; rc == 0 && i < nconflicts; i++)
        rc = ddrv->conflict_log(d->to->conn, &conflicts[i], err);
    if (rc == 0 && d->moves_cursor)
        rc = ddrv->state_set(d->to->conn, d->state_key, cursor, err);
    if (rc == 0)
        rc = ddrv->commit(d->to->conn, err);
    if (rc < 0) {
        ddrv->rollback(d->to->conn);
        return rc;
    }
    for (size_t i = 0; i < batch->n; i++) {
        if (batch->changes[i].op == ROWSYNC_OP_DELETE)
            d->stats.deleted++;
        else
            d->stats.upserted++;
    }
    d->stats.conflicts += nconflicts;
    return 0;
}

/* en_flush_at with the cursor that covers what the stream returned so
 * far. */
static int en_flush(en_dir_t *d, rowsync_stream_t *stream, en_batch_t *batch,
                    rowsync_conflict_t *conflicts, size_t nconflicts,
                    const char *since, rowsync_error_t *err)
{
    char cursor[ROWSYNC_STATE_MAX];
    int rc = d->from->drv->stream_cursor(stream, cursor, sizeof(cursor), err);
    if (rc < 0)
        return rc;
    return en_flush_at(d, batch, conflicts, nconflicts, since, cursor, err);
}

/* Whether a change's row is in the direction's subset: 1 when every
 * filter (the table's, the target's) is true on the source's values, 0
 * when one is false or unknown (NULL). */
static int en_in_subset(en_dir_t *d, const rowsync_change_t *ch, int *in,
                        rowsync_error_t *err)
{
    const rs_route_t *r = d->route;
    *in = 1;
    for (int k = 0; k < 2 && *in; k++) {
        const rs_filter_t *f = r->filters[k];
        if (!f)
            continue;
        for (size_t i = 0; i < rs_filter_ncolumns(f); i++)
            r->fvals[i] = &ch->values[r->fcols[k][i]];
        int res = 0;
        int rc = rs_filter_eval(f, r->fvals, &res, err);
        if (rc < 0)
            return rc;
        *in = res == 1;
    }
    return 0;
}

/* Prefixes err with the node, table and key of a change (and the column,
 * when known), so a value that cannot convert or filter says where. */
static void en_change_error(en_dir_t *d, const rowsync_change_t *ch,
                            const char *column, rowsync_error_t *err)
{
    char *key = NULL;
    size_t cap = 0;
    if (en_key_text(&key, &cap, ch->values, d->src->spec.nkeys) < 0) {
        free(key);
        key = NULL;
    }
    if (column)
        rowsync_error_prefix(
            err, "node '%s', table '%s', key '%s', column '%s'",
            d->to->cfg->name, d->route->spec.table, key ? key : "?", column);
    else
        rowsync_error_prefix(err, "node '%s', table '%s', key '%s'",
                             d->from->cfg->name, d->table->cfg->name,
                             key ? key : "?");
    free(key);
}

/* A change after the plugin chain: the row the plugins worked on and the
 * change read back from it (its values point into the row). */
typedef struct en_shaped {
    rowsync_row_t *row;
    rowsync_value_t *vals;
    unsigned char *retyped; /* per value: a plugin changed its type */
    rowsync_value_t *plugged; /* per target plugged column: what the
                                 plugins set (NULL when they did not) */
    rowsync_change_t ch;
} en_shaped_t;

static void en_shaped_free(en_shaped_t *s)
{
    rs_row_free(s->row);
    free(s->vals);
    free(s->retyped);
    free(s->plugged);
    memset(s, 0, sizeof(*s));
}

/* Runs the direction's plugin chain over a change, in canonical column
 * names. *dropped is set when a plugin drops it; otherwise *out points to
 * the transformed change (ch itself when the route has no chain), valid
 * until en_shaped_free(s). A plugin error names the plugin, the node, the
 * table and the key. Values a plugin adds for columns the source does not
 * carry are not routed. */
static int en_transform(en_dir_t *d, const rowsync_change_t *ch,
                        en_shaped_t *s, const rowsync_change_t **out,
                        int *dropped, rowsync_error_t *err)
{
    const rs_route_t *r = d->route;
    rowsync_job_t *job = d->job;
    *dropped = 0;
    *out = ch;
    if (r->nchain == 0)
        return 0;
    /* a delete carries its key only */
    size_t n = ch->op == ROWSYNC_OP_DELETE && d->src->spec.nkeys < ch->nvalues
                   ? d->src->spec.nkeys
                   : ch->nvalues;
    const char **names = calloc(n + 1, sizeof(*names));
    s->vals = calloc(n + 1, sizeof(*s->vals));
    s->retyped = calloc(n + 1, 1);
    if (!names || !s->vals || !s->retyped) {
        free(names);
        en_shaped_free(s);
        return rowsync_error_set(err, ROWSYNC_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        names[i] = d->table->canon[d->src->canon[i]];
    size_t nkeys = d->src->spec.nkeys < n ? d->src->spec.nkeys : n;
    int rc = rs_row_new(&s->row, (int)ch->op, d->table->cfg->name,
                        d->from->cfg->name, d->to->cfg->name, n, names,
                        ch->values, nkeys, err);
    free(names);
    if (rc < 0) {
        en_shaped_free(s);
        return rc;
    }
    for (size_t k = 0; k < r->nchain; k++) {
        const rs_plugin_inst_t *pi = &job->plugins[r->chain[k]];
        rowsync_error_t perr;
        memset(&perr, 0, sizeof(perr));
        rc = pi->plugin->transform(pi->inst, s->row, &perr);
        if (rc == ROWSYNC_DROPPED) {
            *dropped = 1;
            en_shaped_free(s);
            return 0;
        }
        if (rc < 0) {
            *err = perr;
            err->code = rc;
            if (!err->message[0])
                snprintf(err->message, sizeof(err->message), "%s",
                         rowsync_strerror(rc));
            en_change_error(d, ch, NULL, err);
            rowsync_error_prefix(err, "plugin '%s' (module %s), to node '%s'",
                                 pi->cfg->name, pi->cfg->module,
                                 d->to->cfg->name);
            en_shaped_free(s);
            return rc;
        }
    }
    for (size_t i = 0; i < n; i++) {
        s->vals[i] = *rowsync_row_get(s->row, rowsync_row_column(s->row, i));
        s->retyped[i] = s->vals[i].type != ch->values[i].type;
    }
    size_t np = d->dst->nplugged;
    if (np && !(s->plugged = calloc(np, sizeof(*s->plugged)))) {
        en_shaped_free(s);
        return rowsync_error_set(err, ROWSYNC_ENOMEM, "out of memory");
    }
    for (size_t p = 0; p < np; p++) {
        const rowsync_value_t *v =
            rowsync_row_get(s->row, d->dst->plugged_columns[p]);
        if (v)
            s->plugged[p] = *v;
    }
    s->ch = *ch;
    s->ch.values = s->vals;
    s->ch.nvalues = n;
    *out = &s->ch;
    return 0;
}

/* Copies one change into the batch through the direction's route; errors
 * name node, table, key and column. */
static int en_add(en_dir_t *d, en_batch_t *batch, const rowsync_change_t *ch,
                  const en_shaped_t *sh, rowsync_error_t *err)
{
    size_t bad = 0;
    int rc = en_batch_add(batch, d->route, d->dst, ch, sh->retyped,
                          sh->plugged, d->from->cfg->name, &bad, err);
    if (rc == ROWSYNC_ECONVERT)
        en_change_error(d, ch, d->route->columns[bad], err);
    return rc;
}

/* A driver's column mask (bits of nt's spec) as canonical columns;
 * UINT64_MAX when unknown or a canonical column is past the 64th. */
static uint64_t en_canon_mask(const rs_node_table_t *nt, uint64_t mask)
{
    if (mask == UINT64_MAX)
        return UINT64_MAX;
    uint64_t out = 0;
    for (size_t i = nt->spec.nkeys; i < nt->spec.ncolumns && i < 64; i++) {
        if (!(mask & (UINT64_C(1) << i)))
            continue;
        if (nt->canon[i] >= 64)
            return UINT64_MAX;
        out |= UINT64_C(1) << nt->canon[i];
    }
    return out;
}

static void en_verdict_free(en_verdict_t *v)
{
    free(v->merge_values);
    free(v->merge_storage);
    v->merge_values = NULL;
    v->merge_storage = NULL;
}

/* merge = column: turns the change just added to the batch into the
 * merged row. The target keeps its own values for the columns in
 * merge_keep; the row is recorded there as a local change (no origin) at
 * the later of the two times, so it travels back to the other side like
 * any change made on the target. */
static int en_merge_apply(en_dir_t *d, en_batch_t *b, const en_verdict_t *v,
                          rowsync_error_t *err)
{
    rowsync_change_t *out = &b->changes[b->n - 1];
    rowsync_value_t *vals = (rowsync_value_t *)out->values;
    const rs_node_table_t *dst = d->dst;
    out->origin = NULL;
    out->time_us = v->merge_time;
    for (size_t j = dst->spec.nkeys; j < dst->spec.ncolumns; j++) {
        size_t k = dst->canon[j];
        if (k >= 64 || !(v->merge_keep & (UINT64_C(1) << k)))
            continue;
        for (size_t r = d->route->spec.nkeys; r < d->route->spec.ncolumns;
             r++) {
            if (strcmp(d->route->spec.columns[r], dst->spec.columns[j]) != 0)
                continue;
            vals[r] = v->merge_values[j];
            if (en_batch_own(b, &vals[r]) < 0)
                return rowsync_error_set(err, ROWSYNC_ENOMEM,
                                         "out of memory");
        }
    }
    return 0;
}

/* Opens node's net-change stream of a table; want_cols: stream_columns
 * will be asked (a driver with extract_open_flags may skip that work
 * otherwise). */
static int en_extract_open(rs_node_t *node, const rowsync_table_spec_t *spec,
                           const char *since, const char *upto,
                           const char *skip, int want_cols,
                           rowsync_stream_t **out, rowsync_error_t *err)
{
    if (node->drv->extract_open_flags)
        return node->drv->extract_open_flags(
            node->conn, spec, since, upto, skip,
            want_cols ? ROWSYNC_EXTRACT_COLUMNS : 0, out, err);
    return node->drv->extract_open(node->conn, spec, since, upto, skip, out,
                                   err);
}

/* The subset and the column mask of the change *ch just read from
 * stream: a row that fails the subset leaves the target, or stays there
 * with leaving = keep (*ch then points to a delete in *shaped; *in = 0);
 * a row that passes is upserted, so a row that enters the subset arrives
 * as an insert. */
static int en_subset_of(en_dir_t *d, rowsync_stream_t *stream,
                        const rowsync_change_t **ch, rowsync_change_t *shaped,
                        int *in, rowsync_error_t *err)
{
    int rc;
    *in = 1;
    if ((*ch)->op != ROWSYNC_OP_DELETE &&
        (rc = en_in_subset(d, *ch, in, err)) < 0) {
        en_change_error(d, *ch, NULL, err);
        rowsync_error_prefix(err, "filter");
        return rc;
    }
    if (!*in) {
        *shaped = **ch;
        shaped->op = ROWSYNC_OP_DELETE;
        *ch = shaped;
    }
    if (d->want_cols) {
        uint64_t mask = UINT64_MAX;
        if (d->from->drv->stream_columns &&
            (rc = d->from->drv->stream_columns(stream, &mask, err)) < 0)
            return rc;
        d->cur_cols = en_canon_mask(d->src, mask);
    }
    return 0;
}

/* Whether the direction does not send ch (in: it passed the subset). */
static int en_not_sent(const en_dir_t *d, const rowsync_change_t *ch, int in)
{
    return (d->local_only && ch->origin) ||
           (!in && d->table->cfg->leaving_keep) ||
           !(ch->op == ROWSYNC_OP_DELETE ? d->deletes : d->upserts);
}

/* Passes ch through the plugins into batch; *dropped is set when a plugin
 * drops it. */
static int en_send(en_dir_t *d, en_batch_t *batch, const rowsync_change_t *ch,
                   int *dropped, rowsync_error_t *err)
{
    en_shaped_t sh = {0};
    int rc = en_transform(d, ch, &sh, &ch, dropped, err);
    if (rc == 0 && !*dropped)
        rc = en_add(d, batch, ch, &sh, err);
    en_shaped_free(&sh);
    return rc;
}

/* ---- one-way passes read ahead ------------------------------------------
 *
 * A direction without a conflict filter (one-way passes, foreign-key
 * sweeps) reads and shapes its next batch on a second thread while this
 * one applies the previous batch to the target: the target loads rows
 * while the source's rows for the next batch are decoded, subset and
 * transformed. Each connection is used by one thread at a time (the
 * source's by the reader until it is joined, the target's by the
 * applier), and plugins run on the reader only. Batches are committed
 * one by one in stream order, each with the cursor taken right after its
 * last change, exactly as without the reader. */

typedef struct en_slot {
    en_batch_t batch;
    char cursor[ROWSYNC_STATE_MAX]; /* covers the stream up to the batch */
    uint64_t seen;                  /* changes read up to the batch's end */
    int full;                       /* filled, waiting to be applied */
    int last;                       /* the stream ended with this batch */
} en_slot_t;

typedef struct en_ahead {
    en_dir_t *d;
    rowsync_stream_t *stream;
    en_slot_t slot[2];
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;            /* the applier is done: the reader ends */
    int rc;              /* the reader's failure, 0 while none */
    rowsync_error_t err; /* and its message */
} en_ahead_t;

/* Rows of a read-ahead pass's first batch at most: the target starts on
 * them while the source reads the next batch, instead of waiting for a
 * whole batch_size (at 10,000 rows about 30 ms of a 100k-row pass). */
#define EN_FIRST_BATCH 1000

/* Fills one batch from the stream: up to a full batch, `limit` rows, or
 * the end. */
static int en_read_batch(en_ahead_t *a, en_slot_t *sl, size_t limit,
                         uint64_t *seen)
{
    en_dir_t *d = a->d;
    int rc = 0;
    en_batch_reset(&sl->batch);
    sl->last = 0;
    while (rc == 0 && !en_batch_full(&sl->batch) && sl->batch.n < limit) {
        const rowsync_change_t *ch;
        rc = d->from->drv->stream_next(a->stream, &ch, &a->err);
        if (rc == ROWSYNC_DONE) {
            sl->last = 1;
            rc = 0;
            break;
        }
        if (rc < 0)
            break;
        (*seen)++;
        rowsync_change_t shaped;
        int in = 1, dropped = 0;
        if ((rc = en_subset_of(d, a->stream, &ch, &shaped, &in, &a->err)) == 0 &&
            !en_not_sent(d, ch, in))
            rc = en_send(d, &sl->batch, ch, &dropped, &a->err);
    }
    if (rc == 0)
        rc = d->from->drv->stream_cursor(a->stream, sl->cursor,
                                         sizeof(sl->cursor), &a->err);
    sl->seen = *seen;
    return rc;
}

static void *en_reader(void *arg)
{
    en_ahead_t *a = arg;
    uint64_t seen = 0;
    for (size_t k = 0;; k ^= 1) {
        en_slot_t *sl = &a->slot[k];
        pthread_mutex_lock(&a->mu);
        while (sl->full && !a->stop)
            pthread_cond_wait(&a->cv, &a->mu);
        int stop = a->stop;
        pthread_mutex_unlock(&a->mu);
        if (stop)
            break;
        int rc = en_read_batch(a, sl, seen ? SIZE_MAX : EN_FIRST_BATCH,
                               &seen);
        pthread_mutex_lock(&a->mu);
        if (rc < 0)
            a->rc = rc;
        else
            sl->full = 1;
        pthread_cond_broadcast(&a->cv);
        pthread_mutex_unlock(&a->mu);
        if (rc < 0 || sl->last)
            break;
    }
    return NULL;
}

/* Applies the stream's batches as the reader fills them. */
static int en_move_ahead(en_dir_t *d, rowsync_stream_t *stream,
                         const char *since, const char *what,
                         rowsync_error_t *err)
{
    rowsync_job_t *job = d->job;
    en_ahead_t a;
    pthread_t reader;
    int rc = 0, started = 0;

    memset(&a, 0, sizeof(a));
    a.d = d;
    a.stream = stream;
    for (size_t k = 0; rc == 0 && k < 2; k++)
        rc = en_batch_init(&a.slot[k].batch, job->cfg->batch_size,
                           d->route->spec.ncolumns);
    pthread_mutex_init(&a.mu, NULL);
    pthread_cond_init(&a.cv, NULL);
    if (rc < 0)
        rowsync_error_set(err, rc, "out of memory");
    else if (pthread_create(&reader, NULL, en_reader, &a) != 0)
        rc = rowsync_error_set(err, ROWSYNC_ERROR,
                               "cannot start the reading thread");
    else
        started = 1;
    for (size_t k = 0; rc == 0; k ^= 1) {
        en_slot_t *sl = &a.slot[k];
        pthread_mutex_lock(&a.mu);
        while (!sl->full && a.rc == 0)
            pthread_cond_wait(&a.cv, &a.mu);
        int full = sl->full;
        pthread_mutex_unlock(&a.mu);
        if (!full) { /* the reader failed */
            rc = a.rc;
            if (err)
                *err = a.err;
            break;
        }
        rc = en_flush_at(d, &sl->batch, NULL, 0, since, sl->cursor, err);
        if (rc == 0 && job->ctx->progress)
            job->ctx->progress(job->ctx->progress_ud, what, sl->seen, 0);
        int last = sl->last;
        pthread_mutex_lock(&a.mu);
        sl->full = 0;
        pthread_cond_broadcast(&a.cv);
        pthread_mutex_unlock(&a.mu);
        if (rc == 0 && last)
            break;
        if (rc == 0 && rs_stop_requested(job->ctx))
            rc = RS_STOPPED;
    }
    if (started) {
        pthread_mutex_lock(&a.mu);
        a.stop = 1;
        pthread_cond_broadcast(&a.cv);
        pthread_mutex_unlock(&a.mu);
        pthread_join(reader, NULL);
    }
    pthread_cond_destroy(&a.cv);
    pthread_mutex_destroy(&a.mu);
    en_batch_free(&a.slot[0].batch);
    en_batch_free(&a.slot[1].batch);
    return rc;
}

/* Moves one direction's changes since its cursor: streams them from the
 * source, passes each through filter, and commits them to the target in
 * batches, each with the cursor that covers it. `upto` bounds the stream
 * (NULL = the source's horizon). Without a filter the batches are read
 * ahead (en_move_ahead). */
static int en_move(en_dir_t *d, const char *upto, en_filter_fn filter,
                   void *ud, rowsync_error_t *err)
{
    rowsync_job_t *job = d->job;
    const rowsync_driver_t *sdrv = d->from->drv;
    char since[ROWSYNC_STATE_MAX];
    int rc = d->to->drv->state_get(d->to->conn, d->state_key, since,
                                   sizeof(since), NULL, err);
    if (rc < 0)
        return rc;
    rowsync_stream_t *stream = NULL;
    rc = en_extract_open(d->from, &d->src->spec, since, upto,
                         d->to->cfg->name, d->want_cols, &stream, err);
    if (rc < 0)
        return rc;
    char what[300];
    snprintf(what, sizeof(what), "%s -> %s %s", d->from->cfg->name,
             d->to->cfg->name, d->table->cfg->name);
    if (!filter) {
        rc = en_move_ahead(d, stream, since, what, err);
        sdrv->stream_close(stream);
        if (rc < 0)
            rowsync_error_prefix(err, "%s", what);
        return rc;
    }
    en_batch_t batch;
    size_t max = job->cfg->batch_size;
    rowsync_conflict_t *conflicts = calloc(max, sizeof(*conflicts));
    /* the record's key and note are borrowed from the filter: copies */
    char **conflict_keys = calloc(max, sizeof(*conflict_keys));
    char **conflict_notes = calloc(max, sizeof(*conflict_notes));
    size_t nconflicts = 0;
    rc = en_batch_init(&batch, max, d->route->spec.ncolumns);
    if (rc == 0 && (!conflicts || !conflict_keys || !conflict_notes))
        rc = ROWSYNC_ENOMEM;
    uint64_t seen = 0;
    while (rc == 0) {
        const rowsync_change_t *ch;
        rc = sdrv->stream_next(stream, &ch, err);
        if (rc == ROWSYNC_DONE) {
            rc = 0;
            break;
        }
        if (rc < 0)
            break;
        seen++;
        en_verdict_t v;
        memset(&v, 0, sizeof(v));
        /* The subset: a row that fails it leaves the target (a delete,
         * harmless when the target never had it) or stays there with
         * leaving = keep; a row that passes is upserted, so a row that
         * enters the subset arrives as an insert. */
        rowsync_change_t shaped;
        int in = 1;
        if ((rc = en_subset_of(d, stream, &ch, &shaped, &in, err)) < 0)
            break;
        if ((rc = filter(ud, d, ch, &v, err)) < 0) {
            en_verdict_free(&v);
            break;
        }
        /* Decided above even when not sent: a change forwarded to this
         * node still beats an older change from the target. */
        if (en_not_sent(d, ch, in))
            v.drop = 1;
        if (v.conflict) {
            conflicts[nconflicts] = v.record;
            conflict_keys[nconflicts] = rs_strdup(v.record.key);
            conflict_notes[nconflicts] =
                v.record.note ? rs_strdup(v.record.note) : NULL;
            conflicts[nconflicts].key = conflict_keys[nconflicts];
            conflicts[nconflicts].note = conflict_notes[nconflicts];
            nconflicts++;
            if (!conflict_keys[nconflicts - 1] ||
                (v.record.note && !conflict_notes[nconflicts - 1])) {
                en_verdict_free(&v);
                rc = rowsync_error_set(err, ROWSYNC_ENOMEM, "out of memory");
                break;
            }
        }
        if (!v.drop)
            rc = en_send(d, &batch, ch, &v.drop, err);
        if (rc == 0 && !v.drop && v.merge)
            rc = en_merge_apply(d, &batch, &v, err);
        en_verdict_free(&v);
        if (rc < 0)
            break;
        if (en_batch_full(&batch) || nconflicts == max) {
            rc = en_flush(d, stream, &batch, conflicts, nconflicts, since, err);
            en_batch_reset(&batch);
            for (size_t i = 0; i < nconflicts; i++) {
                free(conflict_keys[i]);
                free(conflict_notes[i]);
            }
            nconflicts = 0;
            if (job->ctx->progress)
                job->ctx->progress(job->ctx->progress_ud, what, seen, 0);
            if (rc == 0 && rs_stop_requested(job->ctx))
                rc = RS_STOPPED;
        }
    }
    /* The last batch also moves the cursor over dropped and echoed
     * changes, up to the stream's horizon. */
    if (rc == 0)
        rc = en_flush(d, stream, &batch, conflicts, nconflicts, since, err);
    for (size_t i = 0; i < nconflicts; i++) {
        free(conflict_keys[i]);
        free(conflict_notes[i]);
    }
    free(conflict_keys);
    free(conflict_notes);
    free(conflicts);
    en_batch_free(&batch);
    sdrv->stream_close(stream);
    if (rc < 0)
        rowsync_error_prefix(err, "%s", what);
    return rc;
}

static void en_add_stats(rowsync_pass_stats_t *total,
                         const rowsync_pass_stats_t *s)
{
    total->upserted += s->upserted;
    total->deleted += s->deleted;
    total->conflicts += s->conflicts;
}

static void en_report(en_dir_t *d)
{
    if (!d->stats.upserted && !d->stats.deleted && !d->stats.conflicts)
        return;
    rs_out(d->job->ctx, "%s -> %s  %s: %llu upserted, %llu deleted, "
                        "%llu conflicts",
           d->from->cfg->name, d->to->cfg->name, d->table->cfg->name,
           (unsigned long long)d->stats.upserted,
           (unsigned long long)d->stats.deleted,
           (unsigned long long)d->stats.conflicts);
}

/* Bidirectional merge state of one table in one pass. */
typedef struct en_merge {
    rs_keyset_t pending; /* keys B will send to A, with B's change time */
    rs_keyset_t fresh;   /* keys changed on A while A -> B ran */
    char *key;           /* scratch for key texts */
    size_t key_cap;
    char *note;          /* the last manual conflict's note */
    int64_t decided_us;
    rowsync_job_t *job;
    int keep_rows;       /* collect values too (en_needs_rows) */
} en_merge_t;

/* One side of a conflict: when the change was made and the node it was
 * first written on (a job node name, or "?" for a node no longer in the
 * job); and, where the rule needs them, its operation, the canonical
 * columns it changed (UINT64_MAX: unknown) and its values, in the spec
 * order of `nt`, the table on the node `read_from` they were read from. */
typedef struct en_version {
    int64_t time_us;
    const char *node;
    int op;
    uint64_t cols;
    const rs_node_table_t *nt;
    const rowsync_value_t *values; /* NULL: not at hand */
    const char *row;               /* or encoded (en_row_encode), or NULL */
    const char *read_from;
} en_version_t;

static const char en_unknown_node[] = "?";

/* The job's own copy of a node name, so it outlives the stream that
 * reported it. */
static const char *en_job_name(rowsync_job_t *job, const char *name)
{
    rs_node_t *n = en_node(job, name);
    return n ? n->cfg->name : en_unknown_node;
}

/* The node a streamed change was first written on. */
static const char *en_origin(rowsync_job_t *job, rs_node_t *from,
                             const rowsync_change_t *ch)
{
    return ch->origin ? en_job_name(job, ch->origin) : from->cfg->name;
}

/* Versions that are no conflict: the same change (one origin, one time:
 * it reached both nodes from its origin), two changes of one origin (it
 * wrote them in turn, or they are copies of one initial load), or, in a
 * full mesh, a change newer than a version the target got from a third
 * node (the sender saw that version from its origin too, or, if not,
 * the later change wins under latest anyway). Returns 1 and sets
 * *in_wins when the pair needs no decision, 2 when both are the same
 * change (neither needs sending), 0 when the rule must decide. */
static int en_no_conflict(const en_dir_t *d, const en_version_t *in,
                          const en_version_t *held, int *in_wins)
{
    if (strcmp(in->node, held->node) == 0) {
        *in_wins = in->time_us > held->time_us;
        return in->time_us == held->time_us ? 2 : 1;
    }
    if (en_mesh(d->job) && strcmp(held->node, d->to->cfg->name) != 0 &&
        in->time_us > held->time_us) {
        *in_wins = 1;
        return 1;
    }
    return 0;
}

static rs_rule_t en_rule(const en_dir_t *d)
{
    return d->table->cfg->conflict ? (rs_rule_t)d->table->cfg->conflict
                                   : d->job->cfg->conflict;
}

static int en_merge_columns(const en_dir_t *d)
{
    return d->table->cfg->merge_columns >= 0 ? d->table->cfg->merge_columns
                                             : d->job->cfg->merge_columns;
}

/* Whether deciding the table's conflicts needs the versions' values. */
static int en_needs_rows(const en_dir_t *d)
{
    rs_rule_t r = en_rule(d);
    return r == RS_RULE_MANUAL || r == RS_RULE_PLUGIN || en_merge_columns(d);
}

/* ---- rows kept as text: parked versions, held versions ---------------- */

/* Appends n bytes of s, escaping ',', '%', '=' and '~' as %XX. */
static int en_esc(rowsync_buf_t *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == ',' || c == '%' || c == '=' || c == '~')
            rowsync_buf_printf(b, "%%%02X", (unsigned char)c);
        else
            rowsync_buf_add(b, &c, 1);
    }
    return b->oom ? ROWSYNC_ENOMEM : 0;
}

/* Encodes a row of nt's spec as "col=value,col~,..." ('~' for NULL),
 * names and values escaped, into *out (malloc'd). */
static int en_row_encode(const rs_node_table_t *nt,
                         const rowsync_value_t *values, char **out)
{
    rowsync_buf_t b = {0};
    for (size_t i = 0; i < nt->spec.ncolumns; i++) {
        if (i)
            rowsync_buf_puts(&b, ",");
        en_esc(&b, nt->spec.columns[i], strlen(nt->spec.columns[i]));
        if (values[i].type == ROWSYNC_TYPE_NULL) {
            rowsync_buf_puts(&b, "~");
            continue;
        }
        rowsync_buf_puts(&b, "=");
        size_t need = rowsync_value_format(&values[i], NULL, 0);
        char *text = malloc(need + 1);
        if (!text) {
            b.oom = 1;
            break;
        }
        rowsync_value_format(&values[i], text, need + 1);
        en_esc(&b, text, need);
        free(text);
    }
    if (b.oom || !b.p) {
        rowsync_buf_free(&b);
        return ROWSYNC_ENOMEM;
    }
    *out = b.p;
    return 0;
}

/* Undoes %XX escapes in place; returns the new length. */
static size_t en_unesc(char *s, size_t n)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && isxdigit((unsigned char)s[i + 1]) &&
            isxdigit((unsigned char)s[i + 2])) {
            char hex[3] = {s[i + 1], s[i + 2], 0};
            s[w++] = (char)strtol(hex, NULL, 16);
            i += 2;
        } else {
            s[w++] = s[i];
        }
    }
    return w;
}

/* Decodes en_row_encode's text for nt's spec into values (ncolumns of
 * them). Their bytes live in *storage (malloc'd; the caller frees it). A
 * column the text does not name is NULL; a name nt lacks is an error. */
static int en_row_decode(const rs_node_table_t *nt, const char *text,
                         rowsync_value_t *values, char **storage,
                         rowsync_error_t *err)
{
    size_t len = strlen(text);
    char *buf = malloc(2 * len + 2);
    if (!buf)
        return rowsync_error_set(err, ROWSYNC_ENOMEM, "out of memory");
    memcpy(buf, text, len + 1);
    char *scratch = buf + len + 1;
    *storage = buf;
    for (size_t i = 0; i < nt->spec.ncolumns; i++)
        memset(&values[i], 0, sizeof(values[i]));
    char *p = buf;
    while (*p) {
        char *end = strchr(p, ',');
        if (!end)
            end = p + strlen(p);
        int last = *end == '\0';
        char *eq = memchr(p, '=', (size_t)(end - p));
        int null = !eq && end > p && end[-1] == '~';
        char *name_end = eq ? eq : null ? end - 1 : end;
        size_t nlen = en_unesc(p, (size_t)(name_end - p));
        p[nlen] = '\0';
        size_t col = nt->spec.ncolumns;
        for (size_t i = 0; i < nt->spec.ncolumns; i++)
            if (strcmp(nt->spec.columns[i], p) == 0)
                col = i;
        if (col == nt->spec.ncolumns)
            return rowsync_error_set(err, ROWSYNC_EINVAL,
                                     "a kept row names column '%s', which "
                                     "table '%s' does not have",
                                     p, nt->spec.table);
        if (eq) {
            size_t vlen = en_unesc(eq + 1, (size_t)(end - eq - 1));
            eq[1 + vlen] = '\0';
            int rc = rowsync_value_parse(nt->spec.types[col], eq + 1, vlen,
                                         scratch, &values[col], err);
            if (rc < 0)
                return rc;
            scratch += vlen / 2 + 1;
        }
        p = last ? end : end + 1;
    }
    return 0;
}

/* ---- deciding ------------------------------------------------------------ */

/* Whether node a comes before node b in priority order: the nodes listed
 * in `priority =` first, in list order, then the rest by name. */
static int en_priority_first(const rs_job_cfg_t *cfg, const char *a,
                             const char *b)
{
    size_t ra = cfg->npriority, rb = cfg->npriority;
    for (size_t i = 0; i < cfg->npriority; i++) {
        if (strcmp(cfg->priority[i], a) == 0)
            ra = i;
        if (strcmp(cfg->priority[i], b) == 0)
            rb = i;
    }
    if (ra != rb)
        return ra < rb;
    return strcmp(a, b) < 0;
}

/* How far apart the clocks of two nodes may be, as the last reading
 * showed: 0 while within max_clock_skew (or not read), else the skew
 * plus the reading's error. */
static int64_t en_skew(rowsync_job_t *job, const char *a, const char *b)
{
    rs_node_t *na = en_node(job, a), *nb = en_node(job, b);
    if (!na || !nb || !na->clock_read || !nb->clock_read)
        return 0;
    int64_t d = na->clock_offset_us - nb->clock_offset_us;
    int64_t skew = (d < 0 ? -d : d) + na->clock_error_us + nb->clock_error_us;
    return skew > job->cfg->max_clock_skew_us ? skew : 0;
}

/* The latest-wins decision, with its clock-skew and tie fallbacks. */
static int en_latest(en_dir_t *d, const en_version_t *in,
                     const en_version_t *held, const char **note)
{
    rowsync_job_t *job = d->job;
    int same_node = strcmp(in->node, held->node) == 0;
    int64_t gap = in->time_us - held->time_us;
    int64_t skew = same_node ? 0 : en_skew(job, in->node, held->node);
    if (skew && (gap < 0 ? -gap : gap) <= skew) {
        *note = "clocks skewed beyond max_clock_skew: priority order";
        rs_log(job->ctx, ROWSYNC_LOG_WARN,
               "%s: changes from %s and %s are %.3f s apart, within the "
               "%.3f s skew of their clocks: decided by priority order, "
               "not by time",
               d->table->cfg->name, in->node, held->node, (double)gap / 1e6,
               (double)skew / 1e6);
        return en_priority_first(job->cfg, in->node, held->node);
    }
    if (gap != 0 || same_node) {
        *note = "later change wins";
        return gap >= 0;
    }
    *note = "equal times: priority order";
    return en_priority_first(job->cfg, in->node, held->node);
}

/* A version as a plugin sees it: a row of canonical names (NULL for a
 * delete). *row belongs to the caller. */
static int en_plugin_version(en_dir_t *d, const en_version_t *v,
                             rowsync_version_t *out, rowsync_row_t **row,
                             rowsync_error_t *err)
{
    out->node = v->node;
    out->time_us = v->time_us;
    out->op = v->op;
    out->row = NULL;
    *row = NULL;
    if (v->op == ROWSYNC_OP_DELETE)
        return 0;
    const rs_node_table_t *nt = v->nt;
    size_t n = nt->spec.ncolumns;
    const char **names = calloc(n ? n : 1, sizeof(*names));
    rowsync_value_t *vals = NULL;
    char *storage = NULL;
    int rc = names ? 0 : rowsync_error_set(err, ROWSYNC_ENOMEM, "out of memory");
    for (size_t i = 0; rc == 0 && i < n; i++)
        names[i] = d->table->canon[nt->canon[i]];
    const rowsync_value_t *values = v->values;
    if (rc == 0 && !values && v->row) {
        if (!(vals = calloc(n ? n : 1, sizeof(*vals))))
            rc = rowsync_error_set(err, ROWSYNC_ENOMEM, "out of memory");
        else if ((rc = en_row_decode(nt, v->row, vals, &storage, err)) == 0)
            values = vals;
    }
    if (rc == 0 && values)
        rc = rs_row_new(row, v->op, d->table->cfg->name, NULL, NULL, n, names,
                        values, nt->spec.nkeys, err);
    out->row = *row;
    free(names);
    free(vals);
    free(storage);
    return rc;
}

/* Asks the table's resolver plugin. */
static int en_plugin_decide(en_dir_t *d, const en_version_t *in,
                            const en_version_t *held, int *in_wins,
                            rowsync_error_t *err)
{
    rowsync_job_t *job = d->job;
    const char *name = d->table->cfg->conflict ? d->table->cfg->conflict_plugin
                                               : job->cfg->conflict_plugin;
    const rs_plugin_inst_t *pi = en_plugin(job, name);
    if (!pi || !pi->plugin->resolve) /* en_check_resolvers said so */
        return rowsync_error_set(err, ROWSYNC_EINVAL,
                                 "[plugin %s] decides conflicts of '%s', but "
                                 "its module has no resolver",
                                 name, d->table->cfg->name);
    rowsync_version_t vin, vheld;
    rowsync_row_t *rin = NULL, *rheld = NULL;
    int rc = en_plugin_version(d, in, &vin, &rin, err);
    if (rc == 0)
        rc = en_plugin_version(d, held, &vheld, &rheld, err);
    if (rc == 0) {
        rowsync_error_t perr;
        memset(&perr, 0, sizeof(perr));
        rc = pi->plugin->resolve(pi->inst, d->table->cfg->name, &vin, &vheld,
                                 &perr);
        if (rc < 0)
            rc = rowsync_error_set(err, rc, "[plugin %s] resolving '%s': %s",
                                   name, d->table->cfg->name, perr.message);
        else
            *in_wins = rc > 0;
    }
    rs_row_free(rin);
    rs_row_free(rheld);
    return rc < 0 ? rc : 0;
}

/* Decides a conflict between the change on its way (in) and the version
 * the target holds (held) by the table's rule: *in_wins is 1 when the
 * incoming change wins; *note says why, for the journal. Every node
 * reaches the same verdict from the same two versions, whatever the
 * direction, except under source/target, which favour a side of the
 * pair by design. */
static int en_incoming_wins(en_dir_t *d, const en_version_t *in,
                            const en_version_t *held, const char **rule,
                            const char **note, int *in_wins,
                            rowsync_error_t *err)
{
    const rs_job_cfg_t *cfg = d->job->cfg;
    rs_rule_t r = en_rule(d);
    *rule = rs_rule_name(r);
    int same_node = strcmp(in->node, held->node) == 0;
    switch (r) {
    case RS_RULE_SOURCE:
        *note = "source rule: the change sent wins";
        *in_wins = 1;
        return 0;
    case RS_RULE_TARGET:
        *note = "target rule: the receiving node keeps its version";
        *in_wins = 0;
        return 0;
    case RS_RULE_PRIORITY:
        if (same_node)
            break;
        *note = "node priority";
        *in_wins = en_priority_first(cfg, in->node, held->node);
        return 0;
    case RS_RULE_PLUGIN:
        *note = "decided by the resolver plugin";
        return en_plugin_decide(d, in, held, in_wins, err);
    case RS_RULE_MANUAL:
    case RS_RULE_LATEST:
        break;
    }
    *in_wins = en_latest(d, in, held, note);
    return 0;
}

/* The journal note of a manual conflict: where the losing version was
 * read and its values, so `rowsync conflicts resolve` can restore it. */
static int en_park(en_merge_t *m, const en_version_t *loser,
                   const char *why, rowsync_error_t *err)
{
    char *row = NULL;
    int rc = 0;
    if (loser->op != ROWSYNC_OP_DELETE && !loser->row && loser->values &&
        (rc = en_row_encode(loser->nt, loser->values, &row)) < 0)
        return rowsync_error_set(err, rc, "out of memory");
    const char *text = loser->op == ROWSYNC_OP_DELETE ? "deleted"
                       : loser->row                   ? loser->row
                       : row                          ? row
                                                      : "";
    free(m->note);
    m->note = NULL;
    size_t need = strlen(why) + strlen(loser->read_from) + strlen(text) + 32;
    if ((m->note = malloc(need)))
        snprintf(m->note, need, "%s; parked from %s: %s", why,
                 loser->read_from, text);
    free(row);
    return m->note ? 0 : rowsync_error_set(err, ROWSYNC_ENOMEM, "out of memory");
}

/* Decides a conflict, fills the journal record and logs the decision.
 * *in_wins is 1 when the incoming change wins. */
static int en_decide(en_merge_t *m, en_dir_t *d, const char *key,
                     const en_version_t *in, const en_version_t *held,
                     rowsync_conflict_t *r, int *in_wins,
                     rowsync_error_t *err)
{
    const char *rule, *note;
    int rc = en_incoming_wins(d, in, held, &rule, &note, in_wins, err);
    if (rc < 0)
        return rc;
    const en_version_t *w = *in_wins ? in : held, *l = *in_wins ? held : in;
    r->decided_us = m->decided_us;
    r->table = d->table->cfg->name;
    r->key = key;
    r->rule = rule;
    r->winner = w->node;
    r->loser = l->node;
    r->winner_time_us = w->time_us;
    r->loser_time_us = l->time_us;
    r->note = note;
    if (en_rule(d) == RS_RULE_MANUAL) {
        if ((rc = en_park(m, l, note, err)) < 0)
            return rc;
        r->note = m->note;
    }
    rs_log(d->job->ctx, ROWSYNC_LOG_INFO,
           "conflict on %s key %s (%s -> %s): %s wins over %s (%s: %s; "
           "%lld vs %lld us)",
           r->table, r->key, d->from->cfg->name, d->to->cfg->name, r->winner,
           r->loser, rule, note, (long long)r->winner_time_us,
           (long long)r->loser_time_us);
    return 0;
}

/* merge = column, step 2: both sides updated the key. Columns only one
 * side changed keep that side's value; columns both changed go to the
 * rule's winner. The incoming change is applied as the merged row (the
 * target's values for the columns it keeps), recorded on the target as a
 * local change so it reaches the other side, even after a crash. */
static int en_merge_row(en_merge_t *m, en_dir_t *d, rs_key_entry_t *e,
                        const en_version_t *in, const en_version_t *held,
                        en_verdict_t *v, rowsync_error_t *err)
{
    size_t n = d->dst->spec.ncolumns;
    if (!(v->merge_values = calloc(n ? n : 1, sizeof(*v->merge_values))))
        return rowsync_error_set(err, ROWSYNC_ENOMEM, "out of memory");
    int rc = en_row_decode(d->dst, e->row, v->merge_values, &v->merge_storage,
                           err);
    if (rc < 0)
        return rc;
    /* a column both changed to the same value is no conflict (a merged
     * row meeting one of its parts on a third node) */
    uint64_t both = in->cols & held->cols;
    for (size_t j = d->dst->spec.nkeys; both && j < n; j++) {
        size_t k = d->dst->canon[j];
        if (k >= 64 || !(both & (UINT64_C(1) << k)))
            continue;
        for (size_t i = d->src->spec.nkeys; i < d->src->spec.ncolumns; i++)
            if (d->src->canon[i] == k &&
                rowsync_value_compare(&in->values[i], &v->merge_values[j]) ==
                    0)
                both &= ~(UINT64_C(1) << k);
    }
    int in_wins = 1;
    if (both) {
        if ((rc = en_decide(m, d, m->key, in, held, &v->record, &in_wins,
                            err)) < 0)
            return rc;
        v->conflict = 1;
    }
    uint64_t keep = in_wins ? held->cols & ~both : held->cols;
    e->lost = 0; /* the target's change travels back, merged */
    if (!in_wins && !(in->cols & ~held->cols)) {
        v->drop = 1; /* nothing of the incoming change survives */
        return 0;
    }
    if (!both)
        rs_log(d->job->ctx, ROWSYNC_LOG_INFO,
               "%s key %s (%s -> %s): different columns changed on both "
               "sides: merged",
               d->table->cfg->name, m->key, d->from->cfg->name,
               d->to->cfg->name);
    v->merge = 1;
    v->merge_keep = keep;
    v->merge_time = in->time_us > held->time_us ? in->time_us : held->time_us;
    return 0;
}

/* Step 2 filter (A -> B): a key B changed too is a conflict, decided by
 * the table's rule and journaled on B in the same transaction as the
 * batch. */
static int en_filter_a_to_b(void *ud, en_dir_t *d, const rowsync_change_t *ch,
                            en_verdict_t *v, rowsync_error_t *err)
{
    en_merge_t *m = ud;
    int rc = en_key_text(&m->key, &m->key_cap, ch->values,
                         d->src->spec.nkeys);
    if (rc < 0)
        return rowsync_error_set(err, rc, "out of memory");
    rs_key_entry_t *e = rs_keyset_find(&m->pending, m->key);
    if (!e)
        return 0;
    en_version_t in = {ch->time_us, en_origin(d->job, d->from, ch),
                       (int)ch->op, d->cur_cols,  d->src,
                       ch->values,  NULL,         d->from->cfg->name};
    en_version_t held = {e->time_us, e->origin ? e->origin : en_unknown_node,
                         e->op,      e->cols,
                         d->dst,     NULL,
                         e->row,     d->to->cfg->name};
    int a_wins = 0, same = en_no_conflict(d, &in, &held, &a_wins);
    if (same) {
        v->drop = !a_wins;
        e->lost = a_wins || same == 2;
        return 0;
    }
    if (en_merge_columns(d) && e->row && in.op != ROWSYNC_OP_DELETE &&
        held.op != ROWSYNC_OP_DELETE && in.cols != UINT64_MAX &&
        held.cols != UINT64_MAX)
        return en_merge_row(m, d, e, &in, &held, v, err);
    if ((rc = en_decide(m, d, m->key, &in, &held, &v->record, &a_wins, err)) < 0)
        return rc;
    v->conflict = 1;
    v->drop = !a_wins;
    e->lost = a_wins;
    return 0;
}

/* Step 3 filter (B -> A): B's changes that lost in step 2 stay behind. */
static int en_filter_b_to_a(void *ud, en_dir_t *d, const rowsync_change_t *ch,
                            en_verdict_t *v, rowsync_error_t *err)
{
    en_merge_t *m = ud;
    int rc = en_key_text(&m->key, &m->key_cap, ch->values,
                         d->src->spec.nkeys);
    if (rc < 0)
        return rowsync_error_set(err, rc, "out of memory");
    rs_key_entry_t *e = rs_keyset_find(&m->pending, m->key);
    if (e && e->lost) {
        v->drop = 1;
        return 0;
    }
    /* A changed the key again while A -> B ran: decide here, on A. */
    rs_key_entry_t *f = rs_keyset_find(&m->fresh, m->key);
    if (!f)
        return 0;
    en_version_t in = {ch->time_us, en_origin(d->job, d->from, ch),
                       (int)ch->op, UINT64_MAX,   d->src,
                       ch->values,  NULL,         d->from->cfg->name};
    en_version_t held = {f->time_us, f->origin ? f->origin : en_unknown_node,
                         f->op,      UINT64_MAX,
                         d->dst,     NULL,
                         f->row,     d->to->cfg->name};
    int b_wins = 0;
    if (en_no_conflict(d, &in, &held, &b_wins)) {
        v->drop = !b_wins;
        return 0;
    }
    if ((rc = en_decide(m, d, m->key, &in, &held, &v->record, &b_wins, err)) < 0)
        return rc;
    v->conflict = 1;
    v->drop = !b_wins;
    return 0;
}

/* Streams the net changes of `node` after `since` that are not echoes
 * of `skip` into set (key -> change time, origin; with keep_rows also
 * the operation, the columns changed and the values). *upto receives the
 * stream's horizon. */
static int en_collect(en_merge_t *m, rs_node_t *node, rs_node_table_t *nt,
                      const char *since, const char *skip, rs_keyset_t *set,
                      char *upto, size_t upto_len, rowsync_error_t *err)
{
    int local_only = en_spoke(m->job, node);
    rowsync_stream_t *stream = NULL;
    int rc = en_extract_open(node, &nt->spec, since, NULL, skip,
                             m->keep_rows, &stream, err);
    while (rc == 0) {
        const rowsync_change_t *ch;
        rc = node->drv->stream_next(stream, &ch, err);
        if (rc == ROWSYNC_DONE) {
            rc = node->drv->stream_cursor(stream, upto, upto_len, err);
            break;
        }
        /* a spoke's forwarded changes all came from the hub: they are
         * not the spoke's, and never conflict with what the hub sends */
        if (rc == 0 && local_only && ch->origin)
            continue;
        if (rc == 0)
            rc = en_key_text(&m->key, &m->key_cap, ch->values, nt->spec.nkeys);
        rs_key_entry_t *e = rc == 0 ? rs_keyset_add(set, m->key) : NULL;
        if (rc == 0 && !e)
            rc = ROWSYNC_ENOMEM;
        if (!e)
            continue;
        e->time_us = ch->time_us;
        e->origin = en_origin(m->job, node, ch);
        e->op = (int)ch->op;
        if (!m->keep_rows)
            continue;
        uint64_t mask = UINT64_MAX;
        if (node->drv->stream_columns &&
            (rc = node->drv->stream_columns(stream, &mask, err)) < 0)
            break;
        e->cols = en_canon_mask(nt, mask);
        free(e->row);
        e->row = NULL;
        if (ch->op != ROWSYNC_OP_DELETE &&
            (rc = en_row_encode(nt, ch->values, &e->row)) < 0)
            rowsync_error_set(err, rc, "out of memory");
    }
    if (stream)
        node->drv->stream_close(stream);
    return rc;
}

/* One bidirectional pass of a table between a and b:
 * 1. collect the keys b will send to a (up to b's horizon, fixed now);
 * 2. move a -> b, deciding conflicts against that set;
 * 3. collect the keys a changed while step 2 ran (a narrow window);
 * 4. move b -> a up to b's step-1 horizon, skipping b's losing changes and
 *    deciding against a's fresh changes, so a newer local write on a is
 *    never overwritten by an older change from b. */
static int en_merge_table(rowsync_job_t *job, rs_node_t *a, rs_node_t *b,
                          rs_table_t *table, rowsync_pass_stats_t *total,
                          rowsync_error_t *err)
{
    en_dir_t ab, ba;
    en_dir_init(&ab, job, a, b, table);
    en_dir_init(&ba, job, b, a, table);
    en_merge_t m;
    memset(&m, 0, sizeof(m));
    rs_keyset_init(&m.pending);
    rs_keyset_init(&m.fresh);
    m.decided_us = rs_now_us();
    m.job = job;
    m.keep_rows = en_needs_rows(&ab);
    ab.want_cols = en_merge_columns(&ab);

    char since[ROWSYNC_STATE_MAX], upto[ROWSYNC_STATE_MAX];
    char ignored[ROWSYNC_STATE_MAX];
    int rc = a->drv->state_get(a->conn, ba.state_key, since, sizeof(since),
                               NULL, err);
    if (rc == 0)
        rc = en_collect(&m, b, ba.src, since, a->cfg->name, &m.pending, upto,
                        sizeof(upto), err);
    if (rc < 0)
        rowsync_error_prefix(err, "%s -> %s %s", b->cfg->name, a->cfg->name,
                             table->cfg->name);
    if (rc == 0)
        rc = en_move(&ab, NULL, en_filter_a_to_b, &m, err);
    if (rc == 0 && ab.end_cursor[0]) {
        rc = en_collect(&m, a, ab.src, ab.end_cursor, b->cfg->name, &m.fresh,
                        ignored, sizeof(ignored), err);
        if (rc < 0)
            rowsync_error_prefix(err, "%s -> %s %s", a->cfg->name,
                                 b->cfg->name, table->cfg->name);
    }
    if (rc == 0)
        rc = en_move(&ba, upto, en_filter_b_to_a, &m, err);
    rs_keyset_free(&m.pending);
    rs_keyset_free(&m.fresh);
    free(m.key);
    free(m.note);
    en_report(&ab);
    en_report(&ba);
    en_add_stats(total, &ab.stats);
    en_add_stats(total, &ba.stats);
    return rc;
}

/* Foreign-key sweep filter: leave keys the other side changed too to the
 * merge, which decides them. */
static int en_filter_not_pending(void *ud, en_dir_t *d,
                                 const rowsync_change_t *ch, en_verdict_t *v,
                                 rowsync_error_t *err)
{
    en_merge_t *m = ud;
    int rc = en_key_text(&m->key, &m->key_cap, ch->values,
                         d->src->spec.nkeys);
    if (rc < 0)
        return rowsync_error_set(err, rc, "out of memory");
    v->drop = rs_keyset_find(&m->pending, m->key) != NULL;
    return 0;
}

/* A bidirectional foreign-key sweep of one table: applies, both ways,
 * the upserts (or the deletes) that conflict with nothing on the other
 * side, without moving cursors: the merge that follows moves them and
 * decides the rest (applying a change twice is harmless). Upserts are
 * swept over tables parents first, then deletes children first, so
 * rows are re-parented before their old parents go. */
static int en_sweep(rowsync_job_t *job, rs_node_t *a, rs_node_t *b,
                    rs_table_t *table, int deletes, rowsync_error_t *err)
{
    rs_node_t *ends[2][2] = {{a, b}, {b, a}};
    int rc = 0;
    for (int i = 0; rc == 0 && i < 2; i++) {
        rs_node_t *from = ends[i][0], *to = ends[i][1];
        en_dir_t fwd, back;
        en_dir_init(&fwd, job, from, to, table);
        en_dir_init(&back, job, to, from, table);
        fwd.upserts = !deletes;
        fwd.deletes = deletes;
        fwd.moves_cursor = 0;
        en_merge_t m;
        memset(&m, 0, sizeof(m));
        m.job = job;
        rs_keyset_init(&m.pending);
        char since[ROWSYNC_STATE_MAX], upto[ROWSYNC_STATE_MAX];
        rc = from->drv->state_get(from->conn, back.state_key, since,
                                  sizeof(since), NULL, err);
        if (rc == 0)
            rc = en_collect(&m, to, back.src, since, from->cfg->name,
                            &m.pending, upto, sizeof(upto), err);
        if (rc == 0)
            rc = en_move(&fwd, NULL, en_filter_not_pending, &m, err);
        rs_keyset_free(&m.pending);
        free(m.key);
    }
    return rc;
}

/* Takes the pair lock(s) for moving changes into `to` (and, for a
 * bidirectional pair, into `from`), in node name order so two processes
 * never wait on each other crosswise. */
static int en_lock_pair(rowsync_job_t *job, rs_node_t *from, rs_node_t *to,
                        int both, rowsync_error_t *err)
{
    int timeout_ms = (int)(job->cfg->lock_timeout_us / 1000);
    rs_node_t *first = to, *second = both ? from : NULL;
    if (both && strcmp(from->cfg->name, to->cfg->name) < 0) {
        first = from;
        second = to;
    }
    rs_node_t *order[2] = {first, second};
    for (int i = 0; i < 2 && order[i]; i++) {
        rs_node_t *n = order[i];
        rs_node_t *peer = n == to ? from : to;
        char name[300];
        snprintf(name, sizeof(name), "rowsync:%s->%s", peer->cfg->name,
                 n->cfg->name);
        rs_log(job->ctx, ROWSYNC_LOG_DEBUG, "taking lock %s on node '%s'",
               name, n->cfg->name);
        int rc = n->drv->lock(n->conn, name, timeout_ms, err);
        if (rc < 0) {
            if (i == 1) {
                char first_name[300];
                snprintf(first_name, sizeof(first_name), "rowsync:%s->%s",
                         order[0] == to ? from->cfg->name : to->cfg->name,
                         order[0]->cfg->name);
                order[0]->drv->unlock(order[0]->conn, first_name, NULL);
            }
            return rc;
        }
    }
    return 0;
}

static void en_unlock_pair(rowsync_job_t *job, rs_node_t *from, rs_node_t *to,
                           int both)
{
    char name[300];
    snprintf(name, sizeof(name), "rowsync:%s->%s", from->cfg->name,
             to->cfg->name);
    to->drv->unlock(to->conn, name, NULL);
    if (both) {
        snprintf(name, sizeof(name), "rowsync:%s->%s", to->cfg->name,
                 from->cfg->name);
        from->drv->unlock(from->conn, name, NULL);
    }
}

/* One-way pass over tables that reference each other: first the
 * upserts, parents first, without moving cursors; then, children first,
 * the deletes of the same window (bounded by where the upserts stopped),
 * moving each table's cursor. So children are re-parented before their
 * old parents are deleted. A crash between the two replays the upserts,
 * which is harmless. */
static int en_move_ordered(rowsync_job_t *job, rs_node_t *src, rs_node_t *dst,
                           rowsync_pass_stats_t *total, rowsync_error_t *err)
{
    size_t nt = job->cfg->ntables;
    en_dir_t *dirs = calloc(nt, sizeof(*dirs));
    if (!dirs)
        return rowsync_error_set(err, ROWSYNC_ENOMEM, "out of memory");
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < nt; i++) {
        en_dir_t *d = &dirs[job->order[i]];
        en_dir_init(d, job, src, dst, &job->tables[job->order[i]]);
        d->deletes = d->moves_cursor = 0;
        rc = en_move(d, NULL, NULL, NULL, err);
    }
    for (size_t i = nt; rc == 0 && i > 0; i--) {
        en_dir_t *d = &dirs[job->order[i - 1]], del;
        en_dir_init(&del, job, src, dst, d->table);
        del.upserts = 0;
        rc = en_move(&del, d->end_cursor, NULL, NULL, err);
        d->stats.deleted += del.stats.deleted;
        d->stats.conflicts += del.stats.conflicts;
    }
    for (size_t i = 0; i < nt; i++) {
        en_dir_t *d = &dirs[job->order[i]];
        if (d->job) {
            en_report(d);
            en_add_stats(total, &d->stats);
        }
    }
    free(dirs);
    return rc;
}

/* Fails unless capture is installed for every table on the given node. */
static int en_require_capture(rowsync_job_t *job, rs_node_t *node,
                              rowsync_error_t *err)
{
    for (size_t t = 0; t < job->cfg->ntables; t++) {
        rs_table_t *tab = &job->tables[t];
        int installed = 0;
        int rc = node->drv->capture_status(
            node->conn, &tab->on[en_node_index(job, node)].spec, &installed,
            err);
        if (rc < 0)
            return rc;
        if (!installed)
            return rowsync_error_set(
                err, ROWSYNC_ENOTFOUND,
                "change capture for table '%s' is not installed on node "
                "'%s': run rowsync init %s",
                tab->cfg->name, node->cfg->name, job->cfg->path);
    }
    return 0;
}

/* The node's clock as the last pass anywhere saw it, kept in the node's
 * own state so a clock that went backwards is noticed by the next sync,
 * in this process or another. Written at most once a minute. */
#define EN_CLOCK_KEY "clock/last_us"
#define EN_CLOCK_SAVE_US INT64_C(60000000)

static int en_clock_history(rowsync_job_t *job, rs_node_t *node,
                            int64_t server, int save, rowsync_error_t *err)
{
    char buf[ROWSYNC_STATE_MAX];
    int rc = node->drv->state_get(node->conn, EN_CLOCK_KEY, buf, sizeof(buf),
                                  NULL, err);
    if (rc < 0)
        return rc;
    int64_t last = buf[0] ? strtoll(buf, NULL, 10) : 0;
    if (!node->clock_read || node->clock_last_us < last)
        node->clock_last_us = last;
    if (node->clock_last_us &&
        server < node->clock_last_us - job->cfg->max_clock_skew_us)
        rs_log(job->ctx, ROWSYNC_LOG_WARN,
               "the clock of node '%s' went backwards by %.3f s since an "
               "earlier pass; captured changes keep their order and nothing "
               "needs reinstalling, but conflicts with changes it stamps are "
               "decided on skewed times until it catches up",
               node->cfg->name, (double)(node->clock_last_us - server) / 1e6);
    if (!save || (last && server > last && server - last < EN_CLOCK_SAVE_US))
        return 0;
    if (last && server <= last)
        return 0; /* keep the highest reading */
    snprintf(buf, sizeof(buf), "%lld", (long long)server);
    if ((rc = node->drv->begin(node->conn, err)) == 0 &&
        (rc = node->drv->state_set(node->conn, EN_CLOCK_KEY, buf, err)) == 0)
        rc = node->drv->commit(node->conn, err);
    if (rc < 0)
        node->drv->rollback(node->conn);
    return rc;
}

/* Reads every node's clock against the core's: the offset and the
 * reading's error (half the round trip), and whether it went backwards
 * since an earlier pass. Warns when two nodes are further apart than
 * max_clock_skew; latest-wins then refuses to order changes closer than
 * that (en_incoming_wins). History and cursors do not depend on clocks,
 * so a clock that jumps back needs no repair. */
static int en_read_clocks(rowsync_job_t *job, int save, rowsync_error_t *err)
{
    size_t n = job->cfg->nnodes;
    for (size_t i = 0; i < n; i++) {
        rs_node_t *node = &job->nodes[i];
        int64_t before = rs_now_us(), server = 0;
        int rc = node->drv->clock(node->conn, &server, err);
        int64_t after = rs_now_us();
        if (rc == 0)
            rc = en_clock_history(job, node, server, save, err);
        if (rc < 0) {
            rowsync_error_prefix(err, "reading the clock of node '%s'",
                                 node->cfg->name);
            return rc;
        }
        node->clock_read = 1;
        if (server > node->clock_last_us)
            node->clock_last_us = server;
        node->clock_offset_us = server - (before + (after - before) / 2);
        node->clock_error_us = (after - before) / 2;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            const char *a = job->nodes[i].cfg->name;
            const char *b = job->nodes[j].cfg->name;
            int64_t skew = en_skew(job, a, b);
            if (skew)
                rs_log(job->ctx, ROWSYNC_LOG_WARN,
                       "clock skew between nodes '%s' and '%s' is %.3f s, "
                       "more than max_clock_skew (%.3f s): conflicts "
                       "closer than that are decided by priority order",
                       a, b, (double)skew / 1e6,
                       (double)job->cfg->max_clock_skew_us / 1e6);
        }
    return 0;
}

/* Whether changes flow from node a to node b in this job: from the
 * source in one-way jobs; between every pair in a bidirectional mesh;
 * between the hub and each spoke with a hub. */
static int en_linked(rowsync_job_t *job, rs_node_t *a, rs_node_t *b)
{
    const rs_job_cfg_t *cfg = job->cfg;
    if (a == b)
        return 0;
    if (cfg->mode == RS_MODE_ONEWAY)
        return strcmp(a->cfg->name, cfg->source) == 0;
    if (!cfg->hub)
        return 1;
    return strcmp(a->cfg->name, cfg->hub) == 0 ||
           strcmp(b->cfg->name, cfg->hub) == 0;
}

/* Whether some direction of the job reads node's history. Only such a
 * node needs capture: a one-way target's own writes go nowhere, so init
 * installs nothing there and its applies write no history. */
static int en_reads_from(rowsync_job_t *job, rs_node_t *node)
{
    for (size_t i = 0; i < job->cfg->nnodes; i++)
        if (en_linked(job, node, &job->nodes[i]))
            return 1;
    return 0;
}

/* One bidirectional pass over the pair a, b: the foreign-key sweeps, then
 * every table's merge, under both pair locks. */
static int en_sync_pair(rowsync_job_t *job, rs_node_t *a, rs_node_t *b,
                        rowsync_pass_stats_t *total, rowsync_error_t *err)
{
    int rc = en_lock_pair(job, a, b, 1, err);
    if (rc < 0)
        return rc;
    size_t nt = job->cfg->ntables;
    for (size_t i = 0; job->has_references && rc == 0 && i < nt; i++)
        rc = en_sweep(job, a, b, &job->tables[job->order[i]], 0, err);
    for (size_t i = nt; job->has_references && rc == 0 && i > 0; i--)
        rc = en_sweep(job, a, b, &job->tables[job->order[i - 1]], 1, err);
    for (size_t i = 0; rc == 0 && i < nt; i++)
        rc = en_merge_table(job, a, b, &job->tables[job->order[i]], total,
                            err);
    en_unlock_pair(job, a, b, 1);
    return rc;
}

/* Bidirectional pass: every linked pair once, in node order. With a hub,
 * the spokes are visited twice (the second round is cheap when nothing
 * changed) so a change from the last spoke reaches the first one in the
 * same pass. */
static int en_sync_bidirectional(rowsync_job_t *job,
                                 rowsync_pass_stats_t *total,
                                 rowsync_error_t *err)
{
    size_t n = job->cfg->nnodes;
    int rc = 0;
    if (job->cfg->hub) {
        rs_node_t *hub = en_node(job, job->cfg->hub);
        int rounds = n > 2 ? 2 : 1;
        for (int r = 0; rc == 0 && r < rounds; r++)
            for (size_t i = 0; rc == 0 && i < n; i++)
                if (&job->nodes[i] != hub)
                    rc = en_sync_pair(job, hub, &job->nodes[i], total, err);
        return rc;
    }
    for (size_t i = 0; rc == 0 && i < n; i++)
        for (size_t j = i + 1; rc == 0 && j < n; j++)
            rc = en_sync_pair(job, &job->nodes[i], &job->nodes[j], total,
                              err);
    return rc;
}

/* History upkeep after a pass: on every node whose driver can purge,
 * removes the captured changes that every direction out of the node has
 * read (its peers' cursors) and that are older than the retention. A
 * delete's history row is its tombstone: it stays until every peer has
 * read it. A node nothing reads from in this job (a one-way target) is
 * not purged: no cursor covers its history. The job must know every reader of a node's
 * history: a database shared with another job that reads it needs
 * purge = off in this one (rowsync.conf(5)). */
static int en_purge(rowsync_job_t *job, rowsync_error_t *err)
{
    size_t n = job->cfg->nnodes;
    char(*cursors)[ROWSYNC_STATE_MAX] = calloc(n, sizeof(*cursors));
    const char **list = calloc(n, sizeof(*list));
    int rc = cursors && list ? 0 : ROWSYNC_ENOMEM;
    if (rc < 0)
        rowsync_error_set(err, rc, "out of memory");
    for (size_t x = 0; rc == 0 && x < n; x++) {
        rs_node_t *node = &job->nodes[x];
        if (!node->drv->history_purge)
            continue;
        int64_t before = rs_now_us() + node->clock_offset_us -
                         job->cfg->retention_us;
        for (size_t t = 0; rc == 0 && t < job->cfg->ntables; t++) {
            rs_table_t *tab = &job->tables[t];
            size_t nc = 0;
            for (size_t y = 0; rc == 0 && y < n; y++) {
                rs_node_t *peer = &job->nodes[y];
                if (!en_linked(job, node, peer))
                    continue;
                char key[512];
                snprintf(key, sizeof(key), "cursor/%s/%s", node->cfg->name,
                         tab->cfg->name);
                rc = peer->drv->state_get(peer->conn, key, cursors[nc],
                                          sizeof(cursors[nc]), NULL, err);
                list[nc] = cursors[nc];
                nc++;
            }
            int64_t purged = 0;
            if (rc == 0 && nc > 0)
                rc = node->drv->history_purge(node->conn, &tab->on[x].spec,
                                              list, nc, before, &purged,
                                              err);
            if (rc < 0)
                rowsync_error_prefix(err, "purging history of '%s' on node "
                                          "'%s'",
                                     tab->cfg->name, node->cfg->name);
            else if (purged)
                rs_log(job->ctx, ROWSYNC_LOG_INFO,
                       "node %s  %s: purged %lld history rows every peer has "
                       "read",
                       node->cfg->name, tab->cfg->name, (long long)purged);
        }
    }
    free(cursors);
    free(list);
    return rc;
}

int rs_engine_sync(rowsync_job_t *job, rowsync_pass_stats_t *stats,
                   rowsync_error_t *err)
{
    rowsync_pass_stats_t total = {0, 0, 0};
    int rc = rs_engine_resolve(job, err);
    for (size_t n = 0; rc == 0 && n < job->cfg->nnodes; n++)
        if (en_reads_from(job, &job->nodes[n]))
            rc = en_require_capture(job, &job->nodes[n], err);
    if (rc == 0)
        rc = en_read_clocks(job, 1, err);
    if (rc < 0)
        return rc;

    if (job->cfg->mode == RS_MODE_ONEWAY) {
        rs_node_t *src = en_node(job, job->cfg->source);
        for (size_t n = 0; rc == 0 && n < job->cfg->nnodes; n++) {
            rs_node_t *dst = &job->nodes[n];
            if (dst == src)
                continue;
            if ((rc = en_lock_pair(job, src, dst, 0, err)) < 0)
                break;
            size_t nt = job->cfg->ntables;
            if (job->has_references)
                rc = en_move_ordered(job, src, dst, &total, err);
            for (size_t i = 0; !job->has_references && rc == 0 && i < nt;
                 i++) {
                en_dir_t d;
                en_dir_init(&d, job, src, dst, &job->tables[job->order[i]]);
                rc = en_move(&d, NULL, NULL, NULL, err);
                en_report(&d);
                en_add_stats(&total, &d.stats);
            }
            en_unlock_pair(job, src, dst, 0);
        }
    } else {
        rc = en_sync_bidirectional(job, &total, err);
    }
    if (rc == 0 && job->cfg->purge)
        rc = en_purge(job, err);
    if (stats)
        *stats = total;
    if (rc == RS_STOPPED) {
        rs_log(job->ctx, ROWSYNC_LOG_INFO,
               "stop requested: the pass ended after a committed batch");
        rc = 0;
    }
    return rc;
}

/* ---- init: capture and initial load ----------------------------------- */

/* Loads table rows from `from` into the empty `to`, in key order, in
 * batches that each commit with the load position, so an interrupted load
 * resumes where it stopped. Skips a target that already has rows. */
static int en_load(rowsync_job_t *job, rs_node_t *from, rs_node_t *to,
                   rs_table_t *table, rowsync_error_t *err)
{
    en_dir_t d;
    en_dir_init(&d, job, from, to, table);
    snprintf(d.state_key, sizeof(d.state_key), "load/%s/%s", from->cfg->name,
             table->cfg->name);
    char pos[ROWSYNC_STATE_MAX];
    int rc = to->drv->state_get(to->conn, d.state_key, pos, sizeof(pos), NULL,
                                err);
    if (rc < 0)
        return rc;
    if (strcmp(pos, "done") == 0)
        return 0;
    const char *what = table->cfg->name;
    rowsync_stream_t *stream = NULL;
    const rowsync_change_t *ch;
    if (pos[0] == '\0') {
        /* A first load only fills an empty table. */
        rc = to->drv->scan_open(to->conn, &d.dst->spec, NULL, &stream, err);
        if (rc == 0)
            rc = to->drv->stream_next(stream, &ch, err);
        if (stream)
            to->drv->stream_close(stream);
        stream = NULL;
        if (rc == 0) {
            rs_log(job->ctx, ROWSYNC_LOG_INFO,
                   "table '%s' on node '%s' is not empty: no initial load "
                   "from '%s'",
                   what, to->cfg->name, from->cfg->name);
            return 0;
        }
        if (rc < 0)
            return rc;
        rc = 0; /* ROWSYNC_DONE: the target is empty */
    }

    size_t nkeys = d.src->spec.nkeys;
    rowsync_value_t *after = NULL;
    char *storage = NULL, *scratch = NULL;
    if (strncmp(pos, "after:", 6) == 0) {
        size_t len = strlen(pos);
        after = calloc(nkeys, sizeof(*after));
        storage = malloc(len + nkeys + 1);
        scratch = malloc(len + nkeys + 1);
        if (!after || !storage || !scratch)
            rc = ROWSYNC_ENOMEM;
        else
            rc = en_key_parse(pos + 6, nkeys, d.src->spec.types, storage,
                              scratch, after, err);
        rs_log(job->ctx, ROWSYNC_LOG_INFO,
               "resuming the load of '%s' into node '%s' after key %s", what,
               to->cfg->name, pos + 6);
    }
    if (rc == 0)
        rc = from->drv->scan_open(from->conn, &d.src->spec, after, &stream,
                                  err);
    free(after);
    free(storage);
    free(scratch);

    en_batch_t batch;
    char *key = NULL;
    size_t key_cap = 0;
    uint64_t loaded = 0;
    if (rc == 0)
        rc =
            en_batch_init(&batch, job->cfg->batch_size, d.route->spec.ncolumns);
    else
        memset(&batch, 0, sizeof(batch));
    int done = 0;
    while (rc == 0 && !done) {
        rc = from->drv->stream_next(stream, &ch, err);
        if (rc == ROWSYNC_DONE) {
            done = 1;
            rc = 0;
        } else if (rc == 0) {
            int in = 1;
            rc = en_in_subset(&d, ch, &in, err);
            if (rc < 0)
                en_change_error(&d, ch, NULL, err);
            if (rc == 0 && in) {
                en_shaped_t sh = {0};
                const rowsync_change_t *tch = ch;
                int dropped = 0;
                rc = en_transform(&d, ch, &sh, &tch, &dropped, err);
                if (rc == 0 && !dropped)
                    rc = en_add(&d, &batch, tch, &sh, err);
                en_shaped_free(&sh);
            }
            if (rc == 0)
                rc = en_key_text(&key, &key_cap, ch->values, nkeys);
            if (rc < 0 || !en_batch_full(&batch))
                continue;
        }
        if (rc < 0)
            break;
        /* commit the batch with the position (or "done") */
        char *state = done ? rs_strdup("done") : rs_sprintf("after:%s", key);
        if (!state) {
            rc = ROWSYNC_ENOMEM;
            break;
        }
        if (strlen(state) >= ROWSYNC_STATE_MAX) {
            rc = rowsync_error_set(err, ROWSYNC_ENOTSUP,
                                   "key of table '%s' too long to record a "
                                   "load position", what);
            free(state);
            break;
        }
        rc = to->drv->begin(to->conn, err);
        if (rc == 0 && batch.n)
            rc = to->drv->apply(to->conn, &d.route->spec, batch.changes,
                                batch.n, err);
        if (rc == 0)
            rc = to->drv->state_set(to->conn, d.state_key, state, err);
        if (rc == 0)
            rc = to->drv->commit(to->conn, err);
        if (rc < 0)
            to->drv->rollback(to->conn);
        free(state);
        loaded += batch.n;
        en_batch_reset(&batch);
        if (job->ctx->progress)
            job->ctx->progress(job->ctx->progress_ud, what, loaded, 0);
        if (rc == 0 && !done && rs_stop_requested(job->ctx))
            rc = RS_STOPPED;
    }
    free(key);
    en_batch_free(&batch);
    if (stream)
        from->drv->stream_close(stream);
    if (rc < 0) {
        rowsync_error_prefix(err, "initial load of '%s' from node '%s' into "
                                  "node '%s'",
                             what, from->cfg->name, to->cfg->name);
        return rc;
    }
    if (rc == 0)
        rs_out(job->ctx, "%s -> %s  %s: %llu rows loaded", from->cfg->name,
               to->cfg->name, what, (unsigned long long)loaded);
    return rc;
}

/* Whether the table has at least one row on the node. */
static int en_has_rows(rs_node_t *node, rs_node_table_t *nt, int *has,
                       rowsync_error_t *err)
{
    rowsync_stream_t *stream = NULL;
    const rowsync_change_t *ch;
    int rc = node->drv->scan_open(node->conn, &nt->spec, NULL, &stream, err);
    if (rc == 0)
        rc = node->drv->stream_next(stream, &ch, err);
    if (stream)
        node->drv->stream_close(stream);
    if (rc < 0)
        return rc;
    *has = rc == 0;
    return 0;
}

int rs_engine_init(rowsync_job_t *job, rowsync_error_t *err)
{
    int rc = rs_engine_resolve(job, err);
    if (rc < 0)
        return rc;
    /* Capture first: changes made during the load are captured and the
     * first sync replays them (applying a change twice is harmless). */
    for (size_t n = 0; n < job->cfg->nnodes; n++) {
        rs_node_t *node = &job->nodes[n];
        if (!en_reads_from(job, node)) {
            rs_out(job->ctx, "node %s: one-way target, no capture needed",
                   node->cfg->name);
            continue;
        }
        for (size_t t = 0; t < job->cfg->ntables; t++) {
            rs_table_t *tab = &job->tables[t];
            rc = node->drv->capture_install(node->conn, &tab->on[n].spec,
                                            err);
            if (rc < 0) {
                rowsync_error_prefix(err, "installing capture for '%s' on "
                                          "node '%s'",
                                     tab->cfg->name, node->cfg->name);
                return rc;
            }
        }
        rs_out(job->ctx, "node %s: capture installed for %zu table%s",
               node->cfg->name, job->cfg->ntables,
               job->cfg->ntables == 1 ? "" : "s");
    }
    for (size_t i = 0; i < job->cfg->ntables; i++) {
        size_t t = job->order[i];
        rs_table_t *tab = &job->tables[t];
        rs_node_t *src = job->cfg->source ? en_node(job, job->cfg->source)
                                          : NULL;
        if (!src) {
            /* bidirectional without a source: load from the one node that
             * has rows, if exactly one has */
            size_t with_rows = 0;
            for (size_t n = 0; n < job->cfg->nnodes; n++) {
                int has = 0;
                if ((rc = en_has_rows(&job->nodes[n], &tab->on[n], &has,
                                      err)) < 0)
                    return rc;
                if (has) {
                    with_rows++;
                    src = &job->nodes[n];
                }
            }
            if (with_rows != 1)
                continue;
        }
        for (size_t n = 0; n < job->cfg->nnodes; n++) {
            rs_node_t *dst = &job->nodes[n];
            if (dst == src)
                continue;
            int both = job->cfg->mode == RS_MODE_BIDIRECTIONAL;
            if ((rc = en_lock_pair(job, src, dst, both, err)) < 0)
                return rc;
            rc = en_load(job, src, dst, tab, err);
            en_unlock_pair(job, src, dst, both);
            if (rc == RS_STOPPED)
                return 0;
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

/* ---- check, status, teardown, history clear -------------------------- */

/* Prints one shape problem found by the mapping resolver. */
static void en_print_problem(void *ud, const rowsync_error_t *e)
{
    rowsync_job_t *job = ud;
    rs_out(job->ctx, "problem: %s", e->message);
}

/* Before resolving, walks every table on every node and prints each
 * shape problem (a missing table, a table without key, every column a
 * node neither has, maps nor skips, a fill column or value that does not
 * fit), so one check reports them all. Returns 0, or the first problem's
 * error (in err). */
static int en_check_shapes(rowsync_job_t *job, rowsync_error_t *err)
{
    size_t nn = job->cfg->nnodes, ref = en_node_index(job,
                                                      en_reference_node(job));
    const rowsync_table_info_t **infos = calloc(nn ? nn : 1, sizeof(*infos));
    rowsync_error_t first, e;
    int problems = 0, rc = 0;
    if (!infos)
        return rowsync_error_set(err, ROWSYNC_ENOMEM, "out of memory");
    memset(&first, 0, sizeof(first));
    for (size_t t = 0; t < job->cfg->ntables && rc == 0; t++) {
        const rs_table_cfg_t *tc = &job->cfg->tables[t];
        int missing = 0;
        for (size_t n = 0; n < nn; n++) {
            memset(&e, 0, sizeof(e));
            int nrc = en_describe(job, &job->nodes[n], tc, &infos[n], &e);
            if (nrc == ROWSYNC_ENOMEM || nrc == ROWSYNC_ECONN) {
                rc = nrc;
                break;
            }
            if (nrc < 0) {
                infos[n] = NULL;
                missing = 1;
                if (!problems++)
                    first = e;
                rs_out(job->ctx, "problem: %s", e.message);
            }
        }
        if (rc < 0 || !infos[ref])
            continue; /* no reference shape to map against */
        rs_table_t tab;
        memset(&tab, 0, sizeof(tab));
        memset(&e, 0, sizeof(e));
        int mrc = rs_map_table(job->cfg, tc, infos, ref, &tab,
                               en_print_problem, job, &e);
        rs_map_table_free(&tab, nn);
        if (mrc == ROWSYNC_ENOMEM)
            rc = mrc;
        else if (mrc < 0 && !missing && !problems++)
            first = e;
    }
    free(infos);
    if (rc < 0) {
        if (err)
            *err = e;
        return rc;
    }
    if (!problems)
        return 0;
    if (err)
        *err = first;
    return first.code ? first.code : ROWSYNC_ERROR;
}

/* Prints how a table looks on node n when a [table NAME @ NODE] section
 * shapes it: its name, each renamed column, skipped and filled columns. */
static void en_print_shape(rowsync_job_t *job, rs_table_t *tab, size_t n)
{
    const char *node = job->nodes[n].cfg->name;
    const rs_table_node_cfg_t *on = rs_table_cfg_on(tab->cfg, node);
    rs_node_table_t *nt = &tab->on[n];
    rowsync_buf_t b = {0};
    if (!on || (!on->name && !on->nmap && !on->nskip && !on->nfill))
        return;
    rowsync_buf_printf(&b, "  on %s: as %s:", node, nt->name);
    for (size_t c = 0; c < tab->ncanon; c++) {
        size_t i = 0;
        while (i < nt->spec.ncolumns && nt->canon[i] != c)
            i++;
        if (i == nt->spec.ncolumns)
            rowsync_buf_printf(&b, "%s %s (skipped)", c ? "," : "",
                               tab->canon[c]);
        else if (strcmp(nt->columns[i], tab->canon[c]) != 0)
            rowsync_buf_printf(&b, "%s %s -> %s", c ? "," : "", tab->canon[c],
                               nt->columns[i]);
        else
            rowsync_buf_printf(&b, "%s %s", c ? "," : "", tab->canon[c]);
    }
    for (size_t f = 0; f < nt->nfill; f++) {
        char text[128];
        rowsync_value_format(&nt->fill_values[f], text, sizeof(text));
        rowsync_buf_printf(&b, ", %s = %s (filled)", nt->fill_columns[f],
                           nt->fill_values[f].type == ROWSYNC_TYPE_NULL ? "NULL"
                                                                        : text);
    }
    if (!b.oom)
        rs_out(job->ctx, "%s", b.p);
    rowsync_buf_free(&b);
}

/* Prints a table's subset filters. */
static void en_print_filters(rowsync_job_t *job, rs_table_t *tab)
{
    const rs_table_cfg_t *tc = tab->cfg;
    if (tc->filter)
        rs_out(job->ctx, "  filter: %s (rows leaving it are %s)",
               rs_filter_text(tc->filter),
               tc->leaving_keep ? "kept" : "deleted");
    for (size_t i = 0; i < tc->non; i++)
        if (tc->on[i].filter)
            rs_out(job->ctx, "  filter to %s: %s", tc->on[i].node,
                   rs_filter_text(tc->on[i].filter));
    for (size_t i = 0; i <= tc->non; i++) {
        char **names = i == 0 ? tc->plugins : tc->on[i - 1].plugins;
        size_t n = i == 0 ? tc->nplugins : tc->on[i - 1].nplugins;
        rowsync_buf_t b = {0};
        for (size_t k = 0; k < n; k++) {
            const rs_plugin_cfg_t *pc = rs_job_cfg_plugin(job->cfg, names[k]);
            rowsync_buf_printf(&b, "%s%s (%s)", k ? ", " : "", names[k],
                               pc ? pc->module : "?");
        }
        if (n && b.p && !b.oom) {
            if (i == 0)
                rs_out(job->ctx, "  plugins: %s", b.p);
            else
                rs_out(job->ctx, "  plugins to %s: %s", tc->on[i - 1].node,
                       b.p);
        }
        rowsync_buf_free(&b);
    }
}

int rs_engine_check(rowsync_job_t *job, rowsync_error_t *err)
{
    int rc = rs_engine_connect(job, err);
    if (rc < 0)
        return rc;
    for (size_t n = 0; n < job->cfg->nnodes; n++) {
        rs_node_t *node = &job->nodes[n];
        int64_t now = 0;
        if ((rc = node->drv->clock(node->conn, &now, err)) < 0) {
            rowsync_error_prefix(err, "node '%s'", node->cfg->name);
            return rc;
        }
        rs_out(job->ctx, "node %s: driver %s %s, connected, clock offset "
                         "%+.3f s from this host",
               node->cfg->name, node->drv->name, node->drv->version,
               (double)(now - rs_now_us()) / 1e6);
    }
    if ((rc = en_check_shapes(job, err)) < 0 ||
        (rc = rs_engine_resolve(job, err)) < 0)
        return rc;
    int mismatches = 0;
    for (size_t t = 0; t < job->cfg->ntables; t++) {
        rs_table_t *tab = &job->tables[t];
        rs_node_table_t *ref = &tab->on[en_node_index(job,
                                                      en_reference_node(job))];
        char cols[1024] = "";
        size_t len = 0;
        for (size_t c = 0; c < tab->ncanon && len < sizeof(cols); c++)
            len += (size_t)snprintf(cols + len, sizeof(cols) - len, "%s%s%s",
                                    c ? ", " : "", tab->canon[c],
                                    c < tab->nkeys ? " (key)" : "");
        rs_out(job->ctx, "table %s: %s", tab->cfg->name, cols);
        for (size_t n = 0; n < job->cfg->nnodes; n++) {
            rs_node_t *node = &job->nodes[n];
            rs_node_table_t *nt = &tab->on[n];
            int installed = 0;
            if ((rc = node->drv->capture_status(node->conn, &nt->spec,
                                                &installed, err)) < 0)
                return rc;
            const rs_table_node_cfg_t *on =
                rs_table_cfg_on(tab->cfg, node->cfg->name);
            int shaped = on && (on->name || on->nmap || on->nskip || on->nfill);
            const char *capture = "installed";
            if (!installed)
                capture = en_reads_from(job, node)
                              ? "not installed (run init)"
                              : "not needed (one-way target)";
            rs_out(job->ctx, "  on %s: columns %s, capture %s", node->cfg->name,
                   shaped ? "mapped" : "match", capture);
            en_print_shape(job, tab, n);
            for (size_t c = 0; c < nt->spec.ncolumns; c++) {
                size_t r = 0;
                while (r < ref->spec.ncolumns && ref->canon[r] != nt->canon[c])
                    r++;
                if (r < ref->spec.ncolumns && nt->types[c] != ref->types[r]) {
                    mismatches++;
                    rs_out(job->ctx,
                           "  on %s: column %s is %s, on the reference node "
                           "%s (converted on the way)",
                           node->cfg->name, nt->spec.columns[c],
                           rowsync_type_name(nt->types[c]),
                           rowsync_type_name(ref->types[r]));
                }
            }
        }
        en_print_filters(job, tab);
    }
    if (mismatches)
        rs_log(job->ctx, ROWSYNC_LOG_WARN,
               "%d column type difference(s): values are converted to the "
               "target column's type; a value that cannot convert fails its "
               "change with node, table, key and column",
               mismatches);
    rs_out(job->ctx, "job %s: ok", job->cfg->path);
    return 0;
}

static int en_print_conflict(void *ud, const rowsync_conflict_t *c)
{
    rowsync_job_t *job = ud;
    rs_out(job->ctx, "  conflict %s key %s: %s won over %s (%s, %s)",
           c->table, c->key, c->winner, c->loser, c->rule,
           c->note ? c->note : "");
    return 0;
}

static int en_count_conflict(void *ud, const rowsync_conflict_t *c)
{
    (*(size_t *)ud)++;
    return 0;
}

/* Counts the net changes waiting in one direction. */
static int en_pending(en_dir_t *d, uint64_t *count, int64_t *last_us,
                      rowsync_error_t *err)
{
    char since[ROWSYNC_STATE_MAX];
    int rc = d->to->drv->state_get(d->to->conn, d->state_key, since,
                                   sizeof(since), last_us, err);
    rowsync_stream_t *stream = NULL;
    if (rc == 0)
        rc = en_extract_open(d->from, &d->src->spec, since, NULL,
                             d->to->cfg->name, 0, &stream, err);
    *count = 0;
    const rowsync_change_t *ch;
    /* a mesh node's forwarded changes are not sent: not pending either */
    while (rc == 0 && (rc = d->from->drv->stream_next(stream, &ch, err)) == 0)
        if (!(d->local_only && ch->origin))
            (*count)++;
    if (stream)
        d->from->drv->stream_close(stream);
    return rc == ROWSYNC_DONE ? 0 : rc;
}

int rs_engine_status(rowsync_job_t *job, rowsync_error_t *err)
{
    int rc = rs_engine_resolve(job, err);
    if (rc < 0)
        return rc;
    rs_out(job->ctx, "job %s: %s, %zu nodes, %zu tables", job->cfg->path,
           job->cfg->mode == RS_MODE_ONEWAY ? "one-way" : "bidirectional",
           job->cfg->nnodes, job->cfg->ntables);
    if ((rc = en_read_clocks(job, 0, err)) < 0)
        return rc;
    for (size_t n = 0; n < job->cfg->nnodes; n++) {
        rs_node_t *node = &job->nodes[n];
        rs_out(job->ctx, "node %s: clock %+.3f s from this host (+/- %.3f s)",
               node->cfg->name, (double)node->clock_offset_us / 1e6,
               (double)node->clock_error_us / 1e6);
    }
    for (size_t i = 0; i < job->cfg->nnodes; i++)
        for (size_t j = i + 1; j < job->cfg->nnodes; j++) {
            const char *a = job->nodes[i].cfg->name;
            const char *b = job->nodes[j].cfg->name;
            int64_t skew = en_skew(job, a, b);
            if (skew)
                rs_out(job->ctx, "clock skew %s / %s: %.3f s, more than "
                                 "max_clock_skew %.3f s: conflicts closer "
                                 "than that go by priority order",
                       a, b, (double)skew / 1e6,
                       (double)job->cfg->max_clock_skew_us / 1e6);
        }
    for (size_t n = 0; n < job->cfg->nnodes; n++) {
        rs_node_t *node = &job->nodes[n];
        size_t conflicts = 0;
        if ((rc = node->drv->conflicts_read(node->conn, 0, en_count_conflict,
                                            &conflicts, err)) < 0)
            return rc;
        for (size_t t = 0; t < job->cfg->ntables; t++) {
            rs_node_table_t *nt = &job->tables[t].on[n];
            int installed = 0;
            int64_t rows = -1;
            if ((rc = node->drv->capture_status(node->conn, &nt->spec,
                                                &installed, err)) < 0)
                return rc;
            if (installed && node->drv->history_count &&
                (rc = node->drv->history_count(node->conn, &nt->spec, &rows,
                                               err)) < 0)
                return rc;
            if (installed)
                rs_out(job->ctx, "node %s  %s: capture installed, %lld "
                                 "history rows%s",
                       node->cfg->name, nt->spec.table, (long long)rows,
                       en_reads_from(job, node)
                           ? ""
                           : " (nothing in this job reads them: never "
                             "purged)");
            else if (en_reads_from(job, node))
                rs_out(job->ctx, "node %s  %s: capture not installed (run "
                                 "init)",
                       node->cfg->name, nt->spec.table);
            else
                rs_out(job->ctx, "node %s  %s: no capture (one-way target)",
                       node->cfg->name, nt->spec.table);
        }
        rs_out(job->ctx, "node %s: %zu conflicts journaled", node->cfg->name,
               conflicts);
        if (conflicts &&
            (rc = node->drv->conflicts_read(node->conn, 5, en_print_conflict,
                                            job, err)) < 0)
            return rc;
    }
    for (size_t i = 0; i < job->cfg->nnodes; i++) {
        for (size_t j = 0; j < job->cfg->nnodes; j++) {
            rs_node_t *from = &job->nodes[i], *to = &job->nodes[j];
            if (!en_linked(job, from, to))
                continue;
            for (size_t t = 0; t < job->cfg->ntables; t++) {
                en_dir_t d;
                en_dir_init(&d, job, from, to, &job->tables[t]);
                int installed = 0;
                rc = from->drv->capture_status(from->conn, &d.src->spec,
                                               &installed, err);
                if (rc < 0)
                    return rc;
                if (!installed)
                    continue;
                uint64_t pending = 0;
                int64_t last = 0;
                if ((rc = en_pending(&d, &pending, &last, err)) < 0)
                    return rc;
                char when[64] = "never";
                if (last) {
                    time_t secs = (time_t)(last / 1000000);
                    struct tm tm;
                    gmtime_r(&secs, &tm);
                    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC",
                             &tm);
                }
                rs_out(job->ctx, "%s -> %s  %s: %llu pending, last pass %s",
                       from->cfg->name, to->cfg->name, job->tables[t].cfg->name,
                       (unsigned long long)pending, when);
            }
        }
    }
    return 0;
}

/* A spec naming only the table: teardown and history clear must work
 * even when the table's columns can no longer be described. */
static rowsync_table_spec_t en_name_spec(const rs_table_cfg_t *tc,
                                         const char *node)
{
    rowsync_table_spec_t spec;
    memset(&spec, 0, sizeof(spec));
    spec.table = en_table_name(tc, node);
    return spec;
}

typedef int (*en_table_op)(rowsync_conn_t *conn,
                           const rowsync_table_spec_t *spec,
                           rowsync_error_t *err);

/* Runs op (capture_remove, history_clear) for every table on one node. */
static int en_each_table(rowsync_job_t *job, rs_node_t *node, en_table_op op,
                         rowsync_error_t *err)
{
    for (size_t t = 0; t < job->cfg->ntables; t++) {
        rowsync_table_spec_t spec =
            en_name_spec(&job->cfg->tables[t], node->cfg->name);
        int rc = op(node->conn, &spec, err);
        if (rc < 0) {
            rowsync_error_prefix(err, "node '%s'", node->cfg->name);
            return rc;
        }
    }
    return 0;
}

int rs_engine_teardown(rowsync_job_t *job, rowsync_error_t *err)
{
    int rc = rs_engine_connect(job, err);
    for (size_t n = 0; rc == 0 && n < job->cfg->nnodes; n++) {
        rs_node_t *node = &job->nodes[n];
        rc = en_each_table(job, node, node->drv->capture_remove, err);
        if (rc == 0 && (rc = node->drv->state_remove(node->conn, err)) < 0)
            rowsync_error_prefix(err, "node '%s'", node->cfg->name);
        if (rc == 0)
            rs_out(job->ctx, "node %s: capture and state removed",
                   node->cfg->name);
    }
    return rc;
}

int rs_engine_history_clear(rowsync_job_t *job, rowsync_error_t *err)
{
    int rc = rs_engine_connect(job, err);
    for (size_t n = 0; rc == 0 && n < job->cfg->nnodes; n++) {
        rs_node_t *node = &job->nodes[n];
        if (!en_reads_from(job, node))
            continue; /* a one-way target: no history of this job's */
        rc = en_each_table(job, node, node->drv->history_clear, err);
        if (rc == 0)
            rs_out(job->ctx, "node %s: history cleared", node->cfg->name);
    }
    return rc;
}

/* ---- conflicts left to a person (conflict = manual) ------------------- */

/* One journaled manual decision, copied out of a driver's callback. */
typedef struct en_open {
    char id[9];
    size_t node; /* the node whose journal holds it */
    rowsync_conflict_t c;
    char *strings[5]; /* owned: table, key, winner, loser, note */
} en_open_t;

typedef struct en_journal {
    size_t node;
    en_open_t *open;
    size_t nopen, cap;
    char (*done)[9]; /* ids a "resolved" record settles */
    size_t ndone, done_cap;
    int oom;
} en_journal_t;

/* A short id for a manual decision, the same on every run: FNV-1a over
 * what identifies it. */
static void en_conflict_id(const rowsync_conflict_t *c, char out[9])
{
    uint32_t h = 2166136261u;
    char times[80];
    snprintf(times, sizeof(times), "%lld/%lld/%lld", (long long)c->decided_us,
             (long long)c->winner_time_us, (long long)c->loser_time_us);
    const char *parts[] = {c->table, c->key, c->winner, c->loser, times};
    for (size_t i = 0; i < 5; i++) {
        for (const char *p = parts[i] ? parts[i] : ""; *p; p++) {
            h ^= (unsigned char)*p;
            h *= 16777619u;
        }
        h ^= '|';
        h *= 16777619u;
    }
    snprintf(out, 9, "%08x", h);
}

static int en_journal_cb(void *ud, const rowsync_conflict_t *c)
{
    en_journal_t *j = ud;
    if (c->rule && strcmp(c->rule, "resolved") == 0 && c->note &&
        strncmp(c->note, "resolves ", 9) == 0) {
        if (j->ndone == j->done_cap) {
            size_t cap = j->done_cap ? 2 * j->done_cap : 16;
            void *grown = realloc(j->done, cap * sizeof(*j->done));
            if (!grown)
                return j->oom = 1;
            j->done = grown;
            j->done_cap = cap;
        }
        snprintf(j->done[j->ndone++], 9, "%.8s", c->note + 9);
        return 0;
    }
    if (!c->rule || strcmp(c->rule, "manual") != 0)
        return 0;
    if (j->nopen == j->cap) {
        size_t cap = j->cap ? 2 * j->cap : 16;
        void *grown = realloc(j->open, cap * sizeof(*j->open));
        if (!grown)
            return j->oom = 1;
        j->open = grown;
        j->cap = cap;
    }
    en_open_t *o = &j->open[j->nopen++];
    memset(o, 0, sizeof(*o));
    o->node = j->node;
    o->c = *c;
    const char *src[5] = {c->table, c->key, c->winner, c->loser, c->note};
    const char **dst[5] = {&o->c.table, &o->c.key, &o->c.winner, &o->c.loser,
                           &o->c.note};
    for (size_t i = 0; i < 5; i++) {
        o->strings[i] = rs_strdup(src[i] ? src[i] : "");
        if (!o->strings[i])
            return j->oom = 1;
        *dst[i] = o->strings[i];
    }
    en_conflict_id(c, o->id);
    return 0;
}

static void en_journal_free(en_journal_t *j)
{
    for (size_t i = 0; i < j->nopen; i++)
        for (size_t k = 0; k < 5; k++)
            free(j->open[i].strings[k]);
    free(j->open);
    free(j->done);
}

/* Whether a "resolved" record settles the decision. */
static int en_settled(const en_journal_t *j, const en_open_t *o)
{
    for (size_t i = 0; i < j->ndone; i++)
        if (strcmp(j->done[i], o->id) == 0)
            return 1;
    return 0;
}

/* Re-writes the parked version on the node it was read from, as a new
 * local change (so the next sync spreads it and it wins by being the
 * latest), together with the record that settles the decision. */
static int en_restore(rowsync_job_t *job, const en_open_t *o,
                      const rowsync_conflict_t *settle, rowsync_error_t *err)
{
    const char *p = strstr(o->c.note, "; parked from ");
    if (!p)
        return rowsync_error_set(err, ROWSYNC_EINVAL,
                                 "conflict %s has no parked version in its "
                                 "journal note",
                                 o->id);
    p += strlen("; parked from ");
    const char *colon = strstr(p, ": ");
    if (!colon)
        return rowsync_error_set(err, ROWSYNC_EINVAL,
                                 "conflict %s: unreadable parked version",
                                 o->id);
    char name[256];
    snprintf(name, sizeof(name), "%.*s", (int)(colon - p), p);
    const char *text = colon + 2;
    rs_node_t *node = en_node(job, name);
    rs_table_t *tab = NULL;
    for (size_t t = 0; t < job->cfg->ntables; t++)
        if (strcmp(job->tables[t].cfg->name, o->c.table) == 0)
            tab = &job->tables[t];
    if (!node || !tab)
        return rowsync_error_set(err, ROWSYNC_ENOTFOUND,
                                 "conflict %s: node '%s' or table '%s' is no "
                                 "longer in the job",
                                 o->id, name, o->c.table);
    rs_node_table_t *nt = &tab->on[en_node_index(job, node)];
    size_t n = nt->spec.ncolumns;
    rowsync_value_t *vals = calloc(n ? n : 1, sizeof(*vals));
    char *storage = NULL, *keybuf = NULL;
    rowsync_change_t ch;
    memset(&ch, 0, sizeof(ch));
    int rc = vals ? 0 : rowsync_error_set(err, ROWSYNC_ENOMEM, "out of memory");
    if (rc == 0 && strcmp(text, "deleted") == 0) {
        size_t klen = strlen(o->c.key);
        ch.op = ROWSYNC_OP_DELETE;
        if (!(keybuf = malloc(2 * klen + 2)))
            rc = rowsync_error_set(err, ROWSYNC_ENOMEM, "out of memory");
        else
            rc = en_key_parse(o->c.key, nt->spec.nkeys, nt->spec.types, keybuf,
                              keybuf + klen + 1, vals, err);
    } else if (rc == 0) {
        ch.op = ROWSYNC_OP_UPDATE;
        rc = en_row_decode(nt, text, vals, &storage, err);
    }
    ch.nvalues = n;
    ch.values = vals;
    ch.origin = NULL;
    if (rc == 0)
        rc = node->drv->clock(node->conn, &ch.time_us, err);
    if (rc == 0 && (rc = node->drv->begin(node->conn, err)) == 0) {
        rc = node->drv->apply(node->conn, &nt->spec, &ch, 1, err);
        if (rc == 0)
            rc = node->drv->conflict_log(node->conn, settle, err);
        if (rc == 0)
            rc = node->drv->commit(node->conn, err);
        if (rc < 0)
            node->drv->rollback(node->conn);
    }
    if (rc == 0)
        rs_out(job->ctx, "conflict %s: %s's version of %s key %s written "
                         "again on node %s; the next sync spreads it",
               o->id, o->c.loser, o->c.table, o->c.key, name);
    free(vals);
    free(storage);
    free(keybuf);
    return rc;
}

int rs_engine_conflicts(rowsync_job_t *job, const char *id, const char *take,
                        rowsync_error_t *err)
{
    int rc = rs_engine_resolve(job, err);
    if (rc < 0)
        return rc;
    en_journal_t j;
    memset(&j, 0, sizeof(j));
    for (size_t n = 0; rc == 0 && n < job->cfg->nnodes; n++) {
        rs_node_t *node = &job->nodes[n];
        j.node = n;
        rc = node->drv->conflicts_read(node->conn, 0, en_journal_cb, &j, err);
        if (rc == 0 && j.oom)
            rc = rowsync_error_set(err, ROWSYNC_ENOMEM, "out of memory");
    }
    const en_open_t *found = NULL;
    size_t shown = 0;
    for (size_t i = 0; rc == 0 && i < j.nopen; i++) {
        const en_open_t *o = &j.open[i];
        if (en_settled(&j, o))
            continue;
        if (id && strcmp(o->id, id) == 0)
            found = o;
        if (id)
            continue;
        shown++;
        rs_out(job->ctx,
               "conflict %s  %s key %s: %s's version kept, %s's parked "
               "(journal on %s)",
               o->id, o->c.table, o->c.key, o->c.winner, o->c.loser,
               job->nodes[o->node].cfg->name);
    }
    if (rc == 0 && !id)
        rs_out(job->ctx, shown ? "take one with: rowsync conflicts resolve "
                                 "JOB ID --take NODE"
                               : "no open conflicts");
    if (rc == 0 && id && !found)
        rc = rowsync_error_set(err, ROWSYNC_ENOTFOUND,
                               "no open conflict '%s' (rowsync conflicts "
                               "list %s shows them)",
                               id, job->cfg->path);
    if (rc == 0 && id && strcmp(take, found->c.winner) != 0 &&
        strcmp(take, found->c.loser) != 0)
        rc = rowsync_error_set(err, ROWSYNC_EINVAL,
                               "conflict %s is between %s and %s; --take "
                               "names one of them, not '%s'",
                               id, found->c.winner, found->c.loser, take);
    if (rc == 0 && id) {
        int keep = strcmp(take, found->c.winner) == 0;
        char note[32];
        snprintf(note, sizeof(note), "resolves %s", found->id);
        rowsync_conflict_t settle = found->c;
        settle.decided_us = rs_now_us();
        settle.rule = "resolved";
        settle.winner = take;
        settle.loser = keep ? found->c.loser : found->c.winner;
        settle.note = note;
        if (keep) {
            rs_node_t *node = &job->nodes[found->node];
            if ((rc = node->drv->begin(node->conn, err)) == 0 &&
                (rc = node->drv->conflict_log(node->conn, &settle, err)) == 0)
                rc = node->drv->commit(node->conn, err);
            if (rc < 0)
                node->drv->rollback(node->conn);
            else
                rs_out(job->ctx, "conflict %s: %s's version stays", id, take);
        } else {
            rc = en_restore(job, found, &settle, err);
        }
    }
    en_journal_free(&j);
    return rc;
}
