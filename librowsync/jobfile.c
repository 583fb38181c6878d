/* The job file parser: INI text (read by inih) into rs_job_cfg_t.
 *
 * inih calls us back per key but never says on which line, and says
 * nothing about sections that hold no key. So inih reads through our own
 * reader function: it counts lines, handles section headers itself (the
 * handler then always knows the current section, and an empty [node x]
 * still exists), strips leading blanks (so an indented key is never taken
 * for a continuation of the previous value) and stops inih after the
 * first error. Every error names the file and line: "PATH:LINE: message".
 *
 * This file depends only on util.c and error.c (and inih): the unit test
 * links it without the rest of the library. */
#include <config.h>

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <libgen.h>

#include <ini.h>

#include "filter.h"
#include "internal.h"
#include "jobfile.h"

#define JF_NAME_MAX 63 /* longest node name */
#define JF_BATCH_MAX 1000000

typedef enum jf_kind {
    JF_NONE,
    JF_JOB,
    JF_NODE,
    JF_TABLE,
    JF_TABLE_NODE,
    JF_PLUGIN
} jf_kind_t;

typedef struct jf_state {
    const char *path;
    FILE *fp;
    char *buf; /* getline buffer */
    size_t cap;
    int lineno;          /* line the reader handed to inih last */
    int stop;            /* an error was recorded: feed inih no more */
    int error_line;      /* line of the recorded error, 0 = none */
    rowsync_error_t err; /* the recorded error */
    rs_job_cfg_t *cfg;
    jf_kind_t kind; /* the section being read */
    size_t index;   /* ... and which node or table it is */
    size_t sub;     /* JF_TABLE_NODE: which of the table's node sections */
    int job_line;   /* line of [job], 0 = no [job] yet */
    int mode_line;
    int source_line;
    int priority_line;
    int hub_line;
    rs_kv_t *seen; /* keys of the current section so far */
    size_t nseen;
} jf_state_t;

/* ---- errors ------------------------------------------------------------ */

/* Records the first error as "PATH:LINE: message" (just "PATH: message"
 * when line is 0) and makes the reader stop. Returns 0, the value an inih
 * handler returns on failure. */
static int jf_fail(jf_state_t *st, int code, int line, const char *fmt, ...)
    RS_PRINTF(4, 5);

static int jf_fail(jf_state_t *st, int code, int line, const char *fmt, ...)
{
    char msg[ROWSYNC_ERROR_MESSAGE_MAX];
    va_list ap;

    if (st->stop)
        return 0;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (line > 0)
        rowsync_error_set(&st->err, code, "%s:%d: %s", st->path, line, msg);
    else
        rowsync_error_set(&st->err, code, "%s: %s", st->path, msg);
    st->stop = 1;
    st->error_line = line > 0 ? line : INT_MAX;
    return 0;
}

static int jf_nomem(jf_state_t *st)
{
    return jf_fail(st, ROWSYNC_ENOMEM, st->lineno, "out of memory");
}

/* The current section as it is written in the file, for messages. */
static const char *jf_section_label(const jf_state_t *st, char *buf, size_t len)
{
    switch (st->kind) {
    case JF_JOB:
        snprintf(buf, len, "[job]");
        break;
    case JF_NODE:
        snprintf(buf, len, "[node %s]", st->cfg->nodes[st->index].name);
        break;
    case JF_TABLE:
        snprintf(buf, len, "[table %s]", st->cfg->tables[st->index].name);
        break;
    case JF_TABLE_NODE:
        snprintf(buf, len, "[table %s @ %s]", st->cfg->tables[st->index].name,
                 st->cfg->tables[st->index].on[st->sub].node);
        break;
    case JF_PLUGIN:
        snprintf(buf, len, "[plugin %s]", st->cfg->plugins[st->index].name);
        break;
    default:
        snprintf(buf, len, "no section");
        break;
    }
    return buf;
}

/* ---- small parsers ------------------------------------------------------- */

static int jf_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' ||
           c == '\v';
}

static int jf_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int jf_is_alnum(char c)
{
    return jf_is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Parses a duration: a non-negative number with an optional fraction and
 * an optional unit (us, ms, s, m, h; none means seconds). Fractions below
 * a microsecond are dropped. *us changes only on success. */
int rs_parse_duration(const char *text, int64_t *us)
{
    static const struct {
        const char *name;
        int64_t us;
    } units[] = {{"us", 1},
                 {"ms", 1000},
                 {"s", 1000000},
                 {"m", INT64_C(60000000)},
                 {"h", INT64_C(3600000000)}};
    const char *p = text, *u;
    uint64_t whole = 0, frac = 0, scale = 1;
    int64_t unit = 1000000;
    size_t ulen, i;

    if (text == NULL)
        return ROWSYNC_EINVAL;
    while (jf_is_space(*p))
        p++;
    if (!jf_is_digit(*p))
        return ROWSYNC_EINVAL;
    for (; jf_is_digit(*p); p++) {
        if (whole > (uint64_t)INT64_MAX / 10)
            return ROWSYNC_EINVAL;
        whole = whole * 10 + (uint64_t)(*p - '0');
    }
    if (*p == '.') {
        p++;
        if (!jf_is_digit(*p))
            return ROWSYNC_EINVAL;
        for (; jf_is_digit(*p); p++) {
            if (scale < 1000000000) {
                frac = frac * 10 + (uint64_t)(*p - '0');
                scale *= 10;
            }
        }
    }
    while (jf_is_space(*p))
        p++;
    u = p;
    while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))
        p++;
    ulen = (size_t)(p - u);
    while (jf_is_space(*p))
        p++;
    if (*p != '\0')
        return ROWSYNC_EINVAL;
    if (ulen > 0) {
        for (i = 0; i < sizeof units / sizeof units[0]; i++)
            if (strlen(units[i].name) == ulen &&
                strncmp(units[i].name, u, ulen) == 0)
                break;
        if (i == sizeof units / sizeof units[0])
            return ROWSYNC_EINVAL;
        unit = units[i].us;
    }
    frac = frac * (uint64_t)unit / scale;
    if (whole > ((uint64_t)INT64_MAX - frac) / (uint64_t)unit)
        return ROWSYNC_EINVAL;
    *us = (int64_t)(whole * (uint64_t)unit + frac);
    return 0;
}

/* Whole number from 1 to max, digits only. */
static int jf_parse_count(const char *text, size_t max, size_t *out)
{
    size_t v = 0;

    if (!jf_is_digit(*text))
        return -1;
    for (; jf_is_digit(*text); text++) {
        v = v * 10 + (size_t)(*text - '0');
        if (v > max)
            return -1;
    }
    if (*text != '\0' || v < 1)
        return -1;
    *out = v;
    return 0;
}

/* Node names become part of the databases' state (origin markers, cursor
 * keys): letters, digits, '_', '-' and '.', at most JF_NAME_MAX. */
static int jf_valid_node_name(const char *s)
{
    size_t n = 0;

    for (; s[n] != '\0'; n++)
        if (!jf_is_alnum(s[n]) && s[n] != '_' && s[n] != '-' && s[n] != '.')
            return 0;
    return n > 0 && n <= JF_NAME_MAX;
}

/* Driver names name a module file and its entry symbol. */
static int jf_valid_driver_name(const char *s)
{
    if (*s == '\0')
        return 0;
    for (; *s != '\0'; s++)
        if (!jf_is_alnum(*s) && *s != '_')
            return 0;
    return 1;
}

static int jf_valid_env_name(const char *s)
{
    if (!(*s == '_' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
        return 0;
    for (; *s != '\0'; s++)
        if (!jf_is_alnum(*s) && *s != '_')
            return 0;
    return 1;
}

static void jf_free_list(char **items, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        free(items[i]);
    free(items);
}

/* Splits a comma-separated column list into trimmed names. Rejects an
 * empty name and a name given twice; *out and *n change only on success.
 * Returns 1 (ok) or 0 (error recorded), like a handler. */
static int jf_parse_columns(jf_state_t *st, const char *key, const char *value,
                            char ***out, size_t *n)
{
    char label[128];
    char **items = NULL;
    size_t count = 0, i;
    const char *p = value;

    for (;;) {
        const char *start, *end, *comma = strchr(p, ',');
        char **grown;
        char *name;

        end = comma != NULL ? comma : p + strlen(p);
        start = p;
        while (start < end && jf_is_space(*start))
            start++;
        while (end > start && jf_is_space(end[-1]))
            end--;
        if (start == end) {
            jf_free_list(items, count);
            return jf_fail(st, ROWSYNC_EINVAL, st->lineno,
                           "empty column name in '%s' of %s", key,
                           jf_section_label(st, label, sizeof label));
        }
        name = rs_strndup(start, (size_t)(end - start));
        grown =
            name != NULL ? realloc(items, (count + 1) * sizeof *items) : NULL;
        if (grown == NULL) {
            free(name);
            jf_free_list(items, count);
            return jf_nomem(st);
        }
        items = grown;
        for (i = 0; i < count; i++) {
            if (strcmp(items[i], name) == 0) {
                jf_fail(st, ROWSYNC_EINVAL, st->lineno,
                        "column '%s' is listed twice in '%s' of %s", name, key,
                        jf_section_label(st, label, sizeof label));
                free(name);
                jf_free_list(items, count);
                return 0;
            }
        }
        items[count++] = name;
        if (comma == NULL)
            break;
        p = comma + 1;
    }
    *out = items;
    *n = count;
    return 1;
}

/* ---- sections ------------------------------------------------------------ */

static void jf_seen_clear(jf_state_t *st)
{
    size_t i;

    for (i = 0; i < st->nseen; i++)
        free(st->seen[i].key);
    free(st->seen);
    st->seen = NULL;
    st->nseen = 0;
}

static const rs_kv_t *jf_seen_find(const jf_state_t *st, const char *key)
{
    size_t i;

    for (i = 0; i < st->nseen; i++)
        if (strcmp(st->seen[i].key, key) == 0)
            return &st->seen[i];
    return NULL;
}

/* Checks that the section just read is complete. Returns 1 or 0. */
static int jf_section_end(jf_state_t *st)
{
    char label[128];
    size_t i, j;

    if (st->kind == JF_NODE) {
        const rs_node_cfg_t *node = &st->cfg->nodes[st->index];

        if (node->driver == NULL)
            return jf_fail(st, ROWSYNC_EINVAL, node->line,
                           "%s has no driver (add e.g. driver = sqlite)",
                           jf_section_label(st, label, sizeof label));
    } else if (st->kind == JF_PLUGIN) {
        const rs_plugin_cfg_t *plugin = &st->cfg->plugins[st->index];

        if (plugin->module == NULL)
            return jf_fail(st, ROWSYNC_EINVAL, plugin->line,
                           "%s has no module (add e.g. module = mask)",
                           jf_section_label(st, label, sizeof label));
    } else if (st->kind == JF_TABLE) {
        const rs_table_cfg_t *table = &st->cfg->tables[st->index];

        for (i = 0; table->ncolumns > 0 && i < table->nkey; i++) {
            for (j = 0; j < table->ncolumns; j++)
                if (strcmp(table->key[i], table->columns[j]) == 0)
                    break;
            if (j == table->ncolumns)
                return jf_fail(
                    st, ROWSYNC_EINVAL, jf_seen_find(st, "key")->line,
                    "key column '%s' of %s is not in its columns",
                    table->key[i], jf_section_label(st, label, sizeof label));
        }
    }
    return 1;
}

/* Starts a [table NAME @ NODE] section; header is "NAME @ NODE". The
 * table's own [table NAME] section must come first. Returns 1 or 0. */
static int jf_table_node_begin(jf_state_t *st, char *header)
{
    rs_job_cfg_t *cfg = st->cfg;
    char *at = strchr(header, '@'), *node = at + 1, *p;
    rs_table_node_cfg_t *grown;
    rs_table_cfg_t *table = NULL;
    size_t i;

    for (p = at; p > header && jf_is_space(p[-1]); p--)
        ;
    *p = '\0';
    while (jf_is_space(*node))
        node++;
    if (*header == '\0' || *node == '\0')
        return jf_fail(st, ROWSYNC_EINVAL, st->lineno,
                       "a node's table section reads [table NAME @ NODE]");
    if (!jf_valid_node_name(node))
        return jf_fail(st, ROWSYNC_EINVAL, st->lineno,
                       "invalid node name '%s' in [table %s @ %s]", node,
                       header, node);
    for (i = 0; i < cfg->ntables; i++)
        if (strcmp(cfg->tables[i].name, header) == 0)
            table = &cfg->tables[i];
    if (table == NULL)
        return jf_fail(st, ROWSYNC_EINVAL, st->lineno,
                       "[table %s @ %s] needs a [table %s] section before it",
                       header, node, header);
    for (i = 0; i < table->non; i++)
        if (strcmp(table->on[i].node, node) == 0)
            return jf_fail(st, ROWSYNC_EINVAL, st->lineno,
                           "duplicate [table %s @ %s] (first at line %d)",
                           header, node, table->on[i].line);
    grown = realloc(table->on, (table->non + 1) * sizeof *grown);
    if (grown == NULL)
        return jf_nomem(st);
    table->on = grown;
    memset(&grown[table->non], 0, sizeof *grown);
    grown[table->non].line = st->lineno;
    grown[table->non].node = rs_strdup(node);
    if (grown[table->non].node == NULL)
        return jf_nomem(st);
    st->index = (size_t)(table - cfg->tables);
    st->sub = table->non++;
    st->kind = JF_TABLE_NODE;
    return 1;
}


/* Grows an array of n elements of `size` bytes by one zeroed element.
 * Returns the new array (NULL on out-of-memory: arr stays valid). */
static void *jf_grow(void *arr, size_t n, size_t size)
{
    char *grown = realloc(arr, (n + 1) * size);
    if (grown != NULL)
        memset(grown + n * size, 0, size);
    return grown;
}
/* Starts a section from a header line (text after '[', NUL-terminated).
 * Returns 1, or 0 with the error recorded. */
static int jf_section_begin(jf_state_t *st, char *header)
{
    rs_job_cfg_t *cfg = st->cfg;
    char *close = strchr(header, ']'), *word, *name, *p, *rest;
    size_t i;

    if (!jf_section_end(st))
        return 0;
    jf_seen_clear(st);
    if (close == NULL)
        return jf_fail(st, ROWSYNC_EINVAL, st->lineno,
                       "section header without a closing ']'");
    for (rest = close + 1; jf_is_space(*rest); rest++)
        ;
    if (*rest != '\0' && *rest != ';' && *rest != '#')
        return jf_fail(st, ROWSYNC_EINVAL, st->lineno,
                       "unexpected text after the section header");
    *close = '\0';
    for (word = header; jf_is_space(*word); word++)
        ;
    for (p = word; *p != '\0' && !jf_is_space(*p); p++)
        ;
    name = p;
    while (jf_is_space(*name))
        name++;
    for (p = name + strlen(name); p > name && jf_is_space(p[-1]); p--)
        ;
    *p = '\0';
    for (p = word; *p != '\0' && !jf_is_space(*p); p++)
        ;
    *p = '\0';

    if (strcmp(word, "job") == 0) {
        if (*name != '\0')
            return jf_fail(st, ROWSYNC_EINVAL, st->lineno,
                           "[job] takes no name (found '%s')", name);
        if (st->job_line > 0)
            return jf_fail(st, ROWSYNC_EINVAL, st->lineno,
                           "duplicate [job] section (first at line %d)",
                           st->job_line);
        st->job_line = st->lineno;
        st->kind = JF_JOB;
        return 1;
    }
    if (strcmp(word, "node") == 0) {
        rs_node_cfg_t *grown;

        if (*name == '\0')
            return jf_fail(st, ROWSYNC_EINVAL, st->lineno,
                           "[node] needs a name: [node NAME]");
        if (!jf_valid_node_name(name))
            return jf_fail(st, ROWSYNC_EINVAL, st->lineno,
                           "invalid node name '%s' (use at most %d letters, "
                           "digits, '_', '-' or '.')",
                           name, JF_NAME_MAX);
        for (i = 0; i < cfg->nnodes; i++)
            if (strcmp(cfg->nodes[i].name, name) == 0)
                return jf_fail(st, ROWSYNC_EINVAL, st->lineno,
                               "duplicate node '%s' (first at line %d)", name,
                               cfg->nodes[i].line);
        grown = jf_grow(cfg->nodes, cfg->nnodes, sizeof *grown);
        if (grown == NULL)
            return jf_nomem(st);
        cfg->nodes = grown;
        grown += cfg->nnodes;
        st->index = cfg->nnodes++;
        grown->line = st->lineno;
        if ((grown->name = rs_strdup(name)) == NULL)
            return jf_nomem(st);
        st->kind = JF_NODE;
        return 1;
    }
    if (strcmp(word, "table") == 0 && strchr(name, '@') != NULL)
        return jf_table_node_begin(st, name);
    if (strcmp(word, "table") == 0) {
        rs_table_cfg_t *grown;

        if (*name == '\0')
            return jf_fail(st, ROWSYNC_EINVAL, st->lineno,
                           "[table] needs a name: [table NAME]");
        for (i = 0; i < cfg->ntables; i++)
            if (strcmp(cfg->tables[i].name, name) == 0)
                return jf_fail(st, ROWSYNC_EINVAL, st->lineno,
                               "duplicate table '%s' (first at line %d)", name,
                               cfg->tables[i].line);
        grown = jf_grow(cfg->tables, cfg->ntables, sizeof *grown);
        if (grown == NULL)
            return jf_nomem(st);
        cfg->tables = grown;
        grown += cfg->ntables;
        st->index = cfg->ntables++;
        grown->line = st->lineno;
        grown->merge_columns = -1;
        if ((grown->name = rs_strdup(name)) == NULL)
            return jf_nomem(st);
        st->kind = JF_TABLE;
        return 1;
    }
    if (strcmp(word, "plugin") == 0) {
        rs_plugin_cfg_t *grown;

        if (*name == '\0')
            return jf_fail(st, ROWSYNC_EINVAL, st->lineno,
                           "[plugin] needs a name: [plugin NAME]");
        if (!jf_valid_node_name(name))
            return jf_fail(st, ROWSYNC_EINVAL, st->lineno,
                           "invalid plugin name '%s' (use at most %d letters, "
                           "digits, '_', '-' or '.')",
                           name, JF_NAME_MAX);
        for (i = 0; i < cfg->nplugins; i++)
            if (strcmp(cfg->plugins[i].name, name) == 0)
                return jf_fail(st, ROWSYNC_EINVAL, st->lineno,
                               "duplicate plugin '%s' (first at line %d)", name,
                               cfg->plugins[i].line);
        grown = jf_grow(cfg->plugins, cfg->nplugins, sizeof *grown);
        if (grown == NULL)
            return jf_nomem(st);
        cfg->plugins = grown;
        grown += cfg->nplugins;
        st->index = cfg->nplugins++;
        grown->line = st->lineno;
        if ((grown->name = rs_strdup(name)) == NULL)
            return jf_nomem(st);
        st->kind = JF_PLUGIN;
        return 1;
    }
    if (*name != '\0')
        return jf_fail(st, ROWSYNC_EINVAL, st->lineno,
                       "unknown section [%s %s] (expected [job], "
                       "[node NAME], [table NAME], [table NAME @ NODE] or "
                       "[plugin NAME])",
                       word, name);
    return jf_fail(st, ROWSYNC_EINVAL, st->lineno,
                   "unknown section [%s] (expected [job], [node NAME], "
                   "[table NAME], [table NAME @ NODE] or [plugin NAME])",
                   word);
}

/* ---- keys ---------------------------------------------------------------- */

/* Sets a string member once; 1 or 0. */
static int jf_set(jf_state_t *st, char **slot, const char *value)
{
    char *copy = rs_strdup(value);

    if (copy == NULL)
        return jf_nomem(st);
    free(*slot);
    *slot = copy;
    return 1;
}

#define JF_RULES "latest, priority, source, target, manual or plugin:NAME"

/* 1 for `merge = column`, 0 for row, -1 for anything else. */
static int jf_parse_merge(const char *value)
{
    if (strcmp(value, "row") == 0)
        return 0;
    if (strcmp(value, "column") == 0)
        return 1;
    return -1;
}

/* The rule a `conflict =` value names, or 0; for plugin:NAME, *plugin
 * receives a copy of NAME. */
static int jf_parse_rule(const char *value, char **plugin)
{
    static const char *const names[] = {"latest", "priority", "source",
                                        "target", "manual"};
    for (int i = 0; i < 5; i++)
        if (strcmp(value, names[i]) == 0)
            return i + 1;
    if (strncmp(value, "plugin:", 7) == 0 && value[7] != '\0') {
        char *copy = rs_strdup(value + 7);
        if (copy == NULL)
            return -1;
        free(*plugin);
        *plugin = copy;
        return RS_RULE_PLUGIN;
    }
    return 0;
}

const char *rs_rule_name(rs_rule_t rule)
{
    switch (rule) {
    case RS_RULE_LATEST:
        return "latest";
    case RS_RULE_PRIORITY:
        return "priority";
    case RS_RULE_SOURCE:
        return "source";
    case RS_RULE_TARGET:
        return "target";
    case RS_RULE_MANUAL:
        return "manual";
    case RS_RULE_PLUGIN:
        return "plugin";
    }
    return "?";
}

static int jf_job_key(jf_state_t *st, const char *key, const char *value)
{
    rs_job_cfg_t *cfg = st->cfg;
    int64_t us;

    if (strcmp(key, "mode") == 0) {
        st->mode_line = st->lineno;
        if (strcmp(value, "one-way") == 0)
            cfg->mode = RS_MODE_ONEWAY;
        else if (strcmp(value, "bidirectional") == 0)
            cfg->mode = RS_MODE_BIDIRECTIONAL;
        else
            return jf_fail(st, ROWSYNC_EINVAL, st->lineno,
                           "invalid mode '%s' in [job] (expected one-way or "
                           "bidirectional)",
                           value);
        return 1;
    }
    if (strcmp(key, "source") == 0) {
        st->source_line = st->lineno;
        return jf_set(st, &cfg->source, value);
    }
    if (strcmp(key, "conflict") == 0) {
        int rule = jf_parse_rule(value, &cfg->conflict_plugin);
        if (rule < 0)
            return jf_nomem(st);
        if (rule == 0)
            return jf_fail(st, ROWSYNC_EINVAL, st->lineno,
                           "invalid conflict rule '%s' in [job] (expected "
                           JF_RULES ")",
                           value);
        cfg->conflict = (rs_rule_t)rule;
        cfg->conflict_line = st->lineno;
        return 1;
    }
    if (strcmp(key, "merge") == 0) {
        int m = jf_parse_merge(value);
        if (m < 0)
            return jf_fail(st, ROWSYNC_EINVAL, st->lineno,
                           "merge in [job] must be row or column, not '%s'",
                           value);
        cfg->merge_columns = m;
        return 1;
    }
    if (strcmp(key, "priority") == 0) {
        st->priority_line = st->lineno;
        return jf_parse_columns(st, key, value, &cfg->priority,
                                &cfg->npriority);
    }
    if (strcmp(key, "purge") == 0) {
        if (strcmp(value, "on") == 0)
            cfg->purge = 1;
        else if (strcmp(value, "off") == 0)
            cfg->purge = 0;
        else
            return jf_fail(st, ROWSYNC_EINVAL, st->lineno,
                           "purge in [job] must be on or off, not '%s'",
                           value);
        return 1;
    }
    if (strcmp(key, "hub") == 0) {
        st->hub_line = st->lineno;
        return jf_set(st, &cfg->hub, value);
    }
    if (strcmp(key, "max_clock_skew") == 0 || strcmp(key, "retention") == 0) {
        if (rs_parse_duration(value, &us) < 0)
            return jf_fail(st, ROWSYNC_EINVAL, st->lineno,
                           "invalid %s '%s' in [job] (expected a duration "
                           "like 1s, 250ms, 2m or 1h)",
                           key, value);
        if (key[0] == 'm')
            cfg->max_clock_skew_us = us;
        else
            cfg->retention_us = us;
        return 1;
    }
    if (strcmp(key, "interval") == 0 || strcmp(key, "lock_timeout") == 0) {
        int interval = key[0] == 'i';

        if (rs_parse_duration(value, &us) < 0)
            return jf_fail(st, ROWSYNC_EINVAL, st->lineno,
                           "invalid %s '%s' in [job] (expected a duration "
                           "like 5s, 250ms, 2m or 1h)",
                           key, value);
        if (interval && us == 0)
            return jf_fail(st, ROWSYNC_EINVAL, st->lineno,
                           "interval in [job] must be greater than 0");
        if (interval)
            cfg->interval_us = us;
        else
            cfg->lock_timeout_us = us;
        return 1;
    }
    if (strcmp(key, "batch_size") == 0) {
        if (jf_parse_count(value, JF_BATCH_MAX, &cfg->batch_size) < 0)
            return jf_fail(st, ROWSYNC_EINVAL, st->lineno,
                           "invalid batch_size '%s' in [job] (expected a "
                           "whole number from 1 to %d)",
                           value, JF_BATCH_MAX);
        return 1;
    }
    return jf_fail(st, ROWSYNC_EINVAL, st->lineno,
                   "unknown key '%s' in [job] (known: mode, source, conflict, "
                   "merge, priority, hub, max_clock_skew, retention, purge, "
                   "interval, "
                   "batch_size, lock_timeout)",
                   key);
}

static int jf_node_key(jf_state_t *st, const char *key, const char *value)
{
    rs_node_cfg_t *node = &st->cfg->nodes[st->index];
    rs_kv_t *grown;
    const rs_kv_t *other;

    if (strcmp(key, "driver") == 0) {
        if (!jf_valid_driver_name(value))
            return jf_fail(st, ROWSYNC_EINVAL, st->lineno,
                           "invalid driver name '%s' in [node %s] (letters, "
                           "digits and '_' only)",
                           value, node->name);
        return jf_set(st, &node->driver, value);
    }
    if (strcmp(key, "password") == 0)
        return jf_fail(st, ROWSYNC_EINVAL, st->lineno,
                       "[node %s] must not hold a password: name an "
                       "environment variable (password_env) or a file "
                       "(password_file) instead",
                       node->name);
    if (strcmp(key, "password_env") == 0 || strcmp(key, "password_file") == 0) {
        int env = strcmp(key, "password_env") == 0;

        other = jf_seen_find(st, env ? "password_file" : "password_env");
        if (other != NULL)
            return jf_fail(st, ROWSYNC_EINVAL, st->lineno,
                           "[node %s] sets both password_env and password_file "
                           "(the other at line %d); keep one",
                           node->name, other->line);
        if (env && !jf_valid_env_name(value))
            return jf_fail(st, ROWSYNC_EINVAL, st->lineno,
                           "invalid password_env '%s' in [node %s] (expected "
                           "an environment variable name)",
                           value, node->name);
        return jf_set(st, env ? &node->password_env : &node->password_file,
                      value);
    }
    grown = realloc(node->options, (node->noptions + 1) * sizeof *grown);
    if (grown == NULL)
        return jf_nomem(st);
    node->options = grown;
    grown += node->noptions;
    grown->key = rs_strdup(key);
    grown->value = rs_strdup(value);
    grown->line = st->lineno;
    if (grown->key == NULL || grown->value == NULL) {
        free(grown->key);
        free(grown->value);
        return jf_nomem(st);
    }
    node->noptions++;
    return 1;
}

/* The 1-based column where the current line's value starts (after the
 * first '=' or ':' and blanks), for messages about expressions. */
static size_t jf_value_column(const jf_state_t *st)
{
    const char *line = st->buf, *p = strpbrk(line, "=:");

    if (p == NULL)
        return 1;
    p++;
    while (jf_is_space(*p))
        p++;
    return (size_t)(p - line) + 1;
}

/* Parses a filter expression; errors read "PATH:LINE: column N: ...",
 * N counting from the start of the line. Returns 1 or 0. */
static int jf_parse_filter(jf_state_t *st, const char *value,
                           struct rs_filter **slot, int *line)
{
    char label[128];
    rowsync_error_t ferr;
    rs_filter_t *f = NULL;
    size_t pos = 0;
    int rc;

    memset(&ferr, 0, sizeof ferr);
    rc = rs_filter_parse(&f, value, &pos, &ferr);
    if (rc == ROWSYNC_ENOMEM)
        return jf_nomem(st);
    if (rc != 0)
        return jf_fail(st, ROWSYNC_EINVAL, st->lineno,
                       "column %zu: filter of %s: %s",
                       jf_value_column(st) + pos,
                       jf_section_label(st, label, sizeof label), ferr.message);
    rs_filter_free(*slot);
    *slot = f;
    *line = st->lineno;
    return 1;
}

/* Reads a plugin chain: [plugin NAME] names separated by commas (checked
 * against the sections once the whole file is read). Returns 1 or 0. */
static int jf_parse_plugins(jf_state_t *st, const char *value, char ***list,
                            size_t *n, int *line)
{
    if (!jf_parse_columns(st, "plugins", value, list, n))
        return 0;
    *line = st->lineno;
    return 1;
}

/* A key of a [plugin NAME] section: module, or one of the plugin's own
 * options (checked once the plugin is loaded). Returns 1 or 0. */
static int jf_plugin_key(jf_state_t *st, const char *key, const char *value)
{
    rs_plugin_cfg_t *plugin = &st->cfg->plugins[st->index];
    rs_kv_t *grown;

    if (strcmp(key, "module") == 0) {
        if (!jf_valid_driver_name(value))
            return jf_fail(st, ROWSYNC_EINVAL, st->lineno,
                           "invalid module name '%s' in [plugin %s] "
                           "(letters, digits and '_' only)",
                           value, plugin->name);
        return jf_set(st, &plugin->module, value);
    }
    grown = realloc(plugin->options, (plugin->noptions + 1) * sizeof *grown);
    if (grown == NULL)
        return jf_nomem(st);
    plugin->options = grown;
    grown += plugin->noptions;
    grown->key = rs_strdup(key);
    grown->value = rs_strdup(value);
    grown->line = st->lineno;
    if (grown->key == NULL || grown->value == NULL) {
        free(grown->key);
        free(grown->value);
        return jf_nomem(st);
    }
    plugin->noptions++;
    return 1;
}

static int jf_table_key(jf_state_t *st, const char *key, const char *value)
{
    rs_table_cfg_t *table = &st->cfg->tables[st->index];

    if (strcmp(key, "key") == 0)
        return jf_parse_columns(st, key, value, &table->key, &table->nkey);
    if (strcmp(key, "columns") == 0)
        return jf_parse_columns(st, key, value, &table->columns,
                                &table->ncolumns);
    if (strcmp(key, "filter") == 0)
        return jf_parse_filter(st, value, &table->filter, &table->filter_line);
    if (strcmp(key, "leaving") == 0) {
        if (strcmp(value, "delete") == 0)
            table->leaving_keep = 0;
        else if (strcmp(value, "keep") == 0)
            table->leaving_keep = 1;
        else
            return jf_fail(st, ROWSYNC_EINVAL, st->lineno,
                           "leaving in [table %s] must be delete or keep, "
                           "not '%s'",
                           table->name, value);
        return 1;
    }
    if (strcmp(key, "plugins") == 0)
        return jf_parse_plugins(st, value, &table->plugins, &table->nplugins,
                                &table->plugins_line);
    if (strcmp(key, "conflict") == 0) {
        table->conflict = jf_parse_rule(value, &table->conflict_plugin);
        if (table->conflict < 0)
            return jf_nomem(st);
        if (table->conflict == 0)
            return jf_fail(st, ROWSYNC_EINVAL, st->lineno,
                           "invalid conflict rule '%s' in [table %s] "
                           "(expected " JF_RULES ")",
                           value, table->name);
        table->conflict_line = st->lineno;
        return 1;
    }
    if (strcmp(key, "merge") == 0) {
        table->merge_columns = jf_parse_merge(value);
        if (table->merge_columns < 0)
            return jf_fail(st, ROWSYNC_EINVAL, st->lineno,
                           "merge in [table %s] must be row or column, not "
                           "'%s'",
                           table->name, value);
        return 1;
    }
    return jf_fail(st, ROWSYNC_EINVAL, st->lineno,
                   "unknown key '%s' in [table %s] (known: key, columns, "
                   "filter, leaving, plugins, conflict, merge)",
                   key, table->name);
}

static int jf_in_list(char *const *list, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (list[i] != NULL && strcmp(list[i], name) == 0)
            return 1;
    return 0;
}

/* Splits "a:b, c:d" into pairs of trimmed names. The right side of fill
 * is a literal: 'text' ('' for a quote), a number, true, false or NULL.
 * Returns 1 or 0. */
static int jf_parse_pairs(jf_state_t *st, const char *key, const char *value,
                          int literal, char ***left, char ***right, size_t *n)
{
    char label[128];
    char **names = NULL, **halves = NULL;
    size_t count = 0, i;
    int ok = 0;

    jf_section_label(st, label, sizeof label);
    if (!jf_parse_columns(st, key, value, &names, &count))
        return 0;
    halves = calloc(count ? count : 1, sizeof *halves);
    if (halves == NULL) {
        jf_free_list(names, count);
        return jf_nomem(st);
    }
    for (i = 0; i < count; i++) {
        char *colon = strchr(names[i], ':'), *a, *b, *e;

        if (colon == NULL) {
            jf_fail(st, ROWSYNC_EINVAL, st->lineno,
                    "'%s' in '%s' of %s: expected %s", names[i], key, label,
                    literal ? "COLUMN:VALUE" : "CANONICAL:NAME");
            goto out;
        }
        *colon = '\0';
        for (e = colon; e > names[i] && jf_is_space(e[-1]); e--)
            e[-1] = '\0';
        for (b = colon + 1; jf_is_space(*b); b++)
            ;
        if (names[i][0] == '\0' || *b == '\0') {
            jf_fail(st, ROWSYNC_EINVAL, st->lineno, "empty name in '%s' of %s",
                    key, label);
            goto out;
        }
        if (jf_in_list(names, i, names[i])) {
            jf_fail(st, ROWSYNC_EINVAL, st->lineno,
                    "column '%s' is listed twice in '%s' of %s", names[i], key,
                    label);
            goto out;
        }
        if (literal && *b == '\'') {
            size_t len = strlen(b);
            char *o;

            if (len < 2 || b[len - 1] != '\'') {
                jf_fail(st, ROWSYNC_EINVAL, st->lineno,
                        "unterminated string for '%s' in '%s' of %s", names[i],
                        key, label);
                goto out;
            }
            b[len - 1] = '\0';
            b++;
            for (o = b, a = b; *a != '\0'; a++) {
                *o++ = *a;
                if (*a == '\'' && a[1] == '\'')
                    a++;
            }
            *o = '\0';
        } else if (literal && strcasecmp(b, "NULL") == 0) {
            continue; /* halves[i] stays NULL */
        }
        if ((halves[i] = rs_strdup(b)) == NULL) {
            jf_nomem(st);
            goto out;
        }
        for (size_t j = 0; !literal && j < i; j++)
            if (halves[j] != NULL && strcmp(halves[j], halves[i]) == 0) {
                jf_fail(st, ROWSYNC_EINVAL, st->lineno,
                        "'%s' is the target of two names in '%s' of %s",
                        halves[i], key, label);
                goto out;
            }
    }
    ok = 1;
out:
    if (!ok) {
        jf_free_list(names, count);
        for (i = 0; i < count; i++)
            free(halves[i]);
        free(halves);
        return 0;
    }
    *left = names;
    *right = halves;
    *n = count;
    return 1;
}

static int jf_table_node_key(jf_state_t *st, const char *key, const char *value)
{
    rs_table_cfg_t *table = &st->cfg->tables[st->index];
    rs_table_node_cfg_t *on = &table->on[st->sub];
    char label[128];

    jf_section_label(st, label, sizeof label);
    if (strcmp(key, "name") == 0)
        return jf_set(st, &on->name, value);
    if (strcmp(key, "map") == 0)
        return jf_parse_pairs(st, key, value, 0, &on->map_from, &on->map_to,
                              &on->nmap);
    if (strcmp(key, "skip") == 0)
        return jf_parse_columns(st, key, value, &on->skip, &on->nskip);
    if (strcmp(key, "fill") == 0) {
        char **cols = NULL, **vals = NULL;
        size_t n = 0, i;

        if (!jf_parse_pairs(st, key, value, 1, &cols, &vals, &n))
            return 0;
        on->fill = calloc(n ? n : 1, sizeof *on->fill);
        if (on->fill == NULL) {
            jf_free_list(cols, n);
            jf_free_list(vals, n);
            return jf_nomem(st);
        }
        for (i = 0; i < n; i++) {
            on->fill[i].column = cols[i];
            on->fill[i].value = vals[i];
        }
        on->nfill = n;
        free(cols);
        free(vals);
        return 1;
    }
    if (strcmp(key, "filter") == 0)
        return jf_parse_filter(st, value, &on->filter, &on->filter_line);
    if (strcmp(key, "plugins") == 0)
        return jf_parse_plugins(st, value, &on->plugins, &on->nplugins,
                                &on->plugins_line);
    if (strcmp(key, "plugin_columns") == 0) {
        on->plugin_columns_line = st->lineno;
        return jf_parse_columns(st, key, value, &on->plugin_columns,
                                &on->nplugin_columns);
    }
    return jf_fail(st, ROWSYNC_EINVAL, st->lineno,
                   "unknown key '%s' in %s (known: name, map, skip, fill, "
                   "filter, plugins, plugin_columns)",
                   key, label);
}

/* inih's callback for every key = value line (value trimmed, inline
 * comment removed). Returns 1 to go on, 0 on error. */
static int jf_handler(void *user, const char *section, const char *name,
                      const char *value)
{
    jf_state_t *st = user;
    char label[128];
    const rs_kv_t *first;
    rs_kv_t *grown;

    (void)section; /* we track sections ourselves, see jf_reader */
    if (st->stop)
        return 0;
    if (name == NULL || value == NULL)
        return 1;
    if (st->kind == JF_NONE)
        return jf_fail(st, ROWSYNC_EINVAL, st->lineno,
                       "key '%s' outside of any section (start with [job])",
                       name);
    jf_section_label(st, label, sizeof label);
    if (name[0] == '\0')
        return jf_fail(st, ROWSYNC_EINVAL, st->lineno,
                       "missing key name before '=' in %s", label);
    first = jf_seen_find(st, name);
    if (first != NULL)
        return jf_fail(st, ROWSYNC_EINVAL, st->lineno,
                       "duplicate key '%s' in %s (first at line %d)", name,
                       label, first->line);
    grown = realloc(st->seen, (st->nseen + 1) * sizeof *grown);
    if (grown == NULL)
        return jf_nomem(st);
    st->seen = grown;
    grown[st->nseen].key = rs_strdup(name);
    grown[st->nseen].value = NULL;
    grown[st->nseen].line = st->lineno;
    if (grown[st->nseen].key == NULL)
        return jf_nomem(st);
    st->nseen++;

    /* Every key but a driver's or plugin's own options needs a value. */
    if (value[0] == '\0' &&
        (st->kind != JF_PLUGIN || strcmp(name, "module") == 0) &&
        (st->kind != JF_NODE || strcmp(name, "driver") == 0 ||
         strcmp(name, "password_env") == 0 ||
         strcmp(name, "password_file") == 0))
        return jf_fail(st, ROWSYNC_EINVAL, st->lineno,
                       "key '%s' in %s has no value", name, label);

    switch (st->kind) {
    case JF_JOB:
        return jf_job_key(st, name, value);
    case JF_NODE:
        return jf_node_key(st, name, value);
    case JF_TABLE:
        return jf_table_key(st, name, value);
    case JF_TABLE_NODE:
        return jf_table_node_key(st, name, value);
    case JF_PLUGIN:
        return jf_plugin_key(st, name, value);
    default:
        return 0;
    }
}

/* inih's reader (fgets-like): hands over one whole line per call,
 * counting lines, without leading blanks, a UTF-8 BOM or the line end.
 * Section headers are handled here. Returns NULL at the end of the file
 * and after an error. */
static char *jf_reader(char *str, int num, void *stream)
{
    jf_state_t *st = stream;
    ssize_t got;
    size_t len;
    const char *src;
    char *p;

    if (st->stop)
        return NULL;
    errno = 0;
    got = getline(&st->buf, &st->cap, st->fp);
    if (got < 0) {
        if (ferror(st->fp)) {
            rowsync_error_set(&st->err, ROWSYNC_EIO,
                              "cannot read job file %s: %s", st->path,
                              strerror(errno != 0 ? errno : EIO));
            st->stop = 1;
            st->error_line = INT_MAX;
        }
        return NULL;
    }
    st->lineno++;
    len = (size_t)got;
    p = st->buf;
    if (memchr(p, '\0', len) != NULL) {
        jf_fail(st, ROWSYNC_EINVAL, st->lineno, "line contains a NUL byte");
        return NULL;
    }
    if (st->lineno == 1 && strncmp(p, "\xEF\xBB\xBF", 3) == 0)
        p += 3;
    while (jf_is_space(*p))
        p++;
    len = strlen(p);
    while (len > 0 && (p[len - 1] == '\n' || p[len - 1] == '\r'))
        p[--len] = '\0';
    src = p;

    if (*p == '[') {
        if (!jf_section_begin(st, p + 1))
            return NULL;
        /* inih needs to see a section line; we already read this one. */
        src = "[section]";
        len = strlen(src);
    } else if (*p != '\0' && *p != ';' && *p != '#' &&
               strpbrk(p, "=:") == NULL) {
        jf_fail(st, ROWSYNC_EINVAL, st->lineno,
                "expected 'key = value' or a [section] header");
        return NULL;
    }
    if (num < 2 || len + 2 > (size_t)num) {
        jf_fail(st, ROWSYNC_EINVAL, st->lineno,
                "line is longer than %d characters", num > 2 ? num - 2 : 0);
        return NULL;
    }
    memcpy(str, src, len);
    str[len] = '\n';
    str[len + 1] = '\0';
    return str;
}

/* ---- the job ------------------------------------------------------------- */

void rs_job_cfg_free(rs_job_cfg_t *cfg)
{
    size_t i, j;

    if (cfg == NULL)
        return;
    for (i = 0; i < cfg->nnodes; i++) {
        rs_node_cfg_t *node = &cfg->nodes[i];

        free(node->name);
        free(node->driver);
        free(node->password_env);
        free(node->password_file);
        for (j = 0; j < node->noptions; j++) {
            free(node->options[j].key);
            free(node->options[j].value);
        }
        free(node->options);
    }
    free(cfg->nodes);
    for (i = 0; i < cfg->ntables; i++) {
        free(cfg->tables[i].name);
        free(cfg->tables[i].conflict_plugin);
        jf_free_list(cfg->tables[i].key, cfg->tables[i].nkey);
        jf_free_list(cfg->tables[i].columns, cfg->tables[i].ncolumns);
        rs_filter_free(cfg->tables[i].filter);
        for (j = 0; j < cfg->tables[i].non; j++) {
            rs_table_node_cfg_t *on = &cfg->tables[i].on[j];

            free(on->node);
            free(on->name);
            jf_free_list(on->map_from, on->nmap);
            jf_free_list(on->map_to, on->nmap);
            jf_free_list(on->skip, on->nskip);
            for (size_t k = 0; k < on->nfill; k++) {
                free(on->fill[k].column);
                free(on->fill[k].value);
            }
            free(on->fill);
            jf_free_list(on->plugin_columns, on->nplugin_columns);
            rs_filter_free(on->filter);
            jf_free_list(on->plugins, on->nplugins);
        }
        free(cfg->tables[i].on);
        jf_free_list(cfg->tables[i].plugins, cfg->tables[i].nplugins);
    }
    free(cfg->tables);
    for (i = 0; i < cfg->nplugins; i++) {
        rs_plugin_cfg_t *plugin = &cfg->plugins[i];

        free(plugin->name);
        free(plugin->module);
        for (j = 0; j < plugin->noptions; j++) {
            free(plugin->options[j].key);
            free(plugin->options[j].value);
        }
        free(plugin->options);
    }
    free(cfg->plugins);
    free(cfg->path);
    free(cfg->dir);
    free(cfg->source);
    jf_free_list(cfg->priority, cfg->npriority);
    free(cfg->hub);
    free(cfg->conflict_plugin);
    free(cfg);
}

const rs_node_cfg_t *rs_job_cfg_node(const rs_job_cfg_t *cfg, const char *name)
{
    size_t i;

    if (cfg == NULL || name == NULL)
        return NULL;
    for (i = 0; i < cfg->nnodes; i++)
        if (strcmp(cfg->nodes[i].name, name) == 0)
            return &cfg->nodes[i];
    return NULL;
}

const rs_plugin_cfg_t *rs_job_cfg_plugin(const rs_job_cfg_t *cfg,
                                         const char *name)
{
    for (size_t i = 0; cfg != NULL && i < cfg->nplugins; i++)
        if (strcmp(cfg->plugins[i].name, name) == 0)
            return &cfg->plugins[i];
    return NULL;
}

/* Checks that every plugin chain names [plugin NAME] sections. Returns 1
 * or 0. */
static int jf_check_chains(jf_state_t *st)
{
    const rs_job_cfg_t *cfg = st->cfg;

    for (size_t t = 0; t < cfg->ntables; t++) {
        const rs_table_cfg_t *tc = &cfg->tables[t];

        for (size_t k = 0; k < tc->nplugins; k++)
            if (rs_job_cfg_plugin(cfg, tc->plugins[k]) == NULL)
                return jf_fail(st, ROWSYNC_EINVAL, tc->plugins_line,
                               "plugins of [table %s] names no [plugin %s] "
                               "section",
                               tc->name, tc->plugins[k]);
        for (size_t i = 0; i < tc->non; i++)
            for (size_t k = 0; k < tc->on[i].nplugins; k++)
                if (rs_job_cfg_plugin(cfg, tc->on[i].plugins[k]) == NULL)
                    return jf_fail(st, ROWSYNC_EINVAL, tc->on[i].plugins_line,
                                   "plugins of [table %s @ %s] names no "
                                   "[plugin %s] section",
                                   tc->name, tc->on[i].node,
                                   tc->on[i].plugins[k]);
        if (tc->conflict == RS_RULE_PLUGIN &&
            rs_job_cfg_plugin(cfg, tc->conflict_plugin) == NULL)
            return jf_fail(st, ROWSYNC_EINVAL, tc->conflict_line,
                           "conflict of [table %s] names no [plugin %s] "
                           "section",
                           tc->name, tc->conflict_plugin);
    }
    if (cfg->conflict == RS_RULE_PLUGIN &&
        rs_job_cfg_plugin(cfg, cfg->conflict_plugin) == NULL)
        return jf_fail(st, ROWSYNC_EINVAL, cfg->conflict_line,
                       "conflict in [job] names no [plugin %s] section",
                       cfg->conflict_plugin);
    return 1;
}

const rs_table_node_cfg_t *rs_table_cfg_on(const rs_table_cfg_t *table,
                                           const char *node)
{
    for (size_t i = 0; table != NULL && i < table->non; i++)
        if (strcmp(table->on[i].node, node) == 0)
            return &table->on[i];
    return NULL;
}

/* Checks the [table NAME @ NODE] sections against the rest of the file:
 * the node exists; mapped and skipped columns are canonical columns (when
 * the table lists its columns); a key column is never skipped; a column is
 * not both mapped and skipped. Returns 1 or 0. */
static int jf_check_table_nodes(jf_state_t *st)
{
    const rs_job_cfg_t *cfg = st->cfg;

    for (size_t t = 0; t < cfg->ntables; t++) {
        const rs_table_cfg_t *tc = &cfg->tables[t];

        for (size_t i = 0; i < tc->non; i++) {
            const rs_table_node_cfg_t *on = &tc->on[i];

            if (rs_job_cfg_node(cfg, on->node) == NULL)
                return jf_fail(st, ROWSYNC_EINVAL, on->line,
                               "[table %s @ %s] names no [node %s] section",
                               tc->name, on->node, on->node);
            for (size_t k = 0; k < on->nskip; k++) {
                if (jf_in_list(tc->key, tc->nkey, on->skip[k]))
                    return jf_fail(st, ROWSYNC_EINVAL, on->line,
                                   "[table %s @ %s] skips key column '%s'; "
                                   "every node needs the key",
                                   tc->name, on->node, on->skip[k]);
                if (jf_in_list(on->map_from, on->nmap, on->skip[k]))
                    return jf_fail(st, ROWSYNC_EINVAL, on->line,
                                   "[table %s @ %s] both maps and skips "
                                   "column '%s'",
                                   tc->name, on->node, on->skip[k]);
                if (tc->ncolumns > 0 &&
                    !jf_in_list(tc->columns, tc->ncolumns, on->skip[k]))
                    return jf_fail(st, ROWSYNC_EINVAL, on->line,
                                   "[table %s @ %s] skips '%s', which is "
                                   "not in the columns of [table %s]",
                                   tc->name, on->node, on->skip[k], tc->name);
            }
            for (size_t k = 0; k < on->nmap && tc->ncolumns > 0; k++)
                if (!jf_in_list(tc->columns, tc->ncolumns, on->map_from[k]))
                    return jf_fail(st, ROWSYNC_EINVAL, on->line,
                                   "[table %s @ %s] maps '%s', which is not "
                                   "in the columns of [table %s]",
                                   tc->name, on->node, on->map_from[k],
                                   tc->name);
            for (size_t k = 0; k < on->nfill; k++)
                if (jf_in_list(on->map_to, on->nmap, on->fill[k].column))
                    return jf_fail(st, ROWSYNC_EINVAL, on->line,
                                   "[table %s @ %s] fills '%s', which a "
                                   "canonical column maps to",
                                   tc->name, on->node, on->fill[k].column);
        }
    }
    return 1;
}

/* Rules a full mesh of more than two nodes can apply consistently. */
static int jf_mesh_rule_ok(rs_rule_t rule)
{
    return rule == RS_RULE_LATEST || rule == RS_RULE_MANUAL;
}

/* The checks that need the whole file: the job's mode, at least two
 * nodes, at least one table, and a source that names a node. */
static void jf_check_job(jf_state_t *st)
{
    const rs_job_cfg_t *cfg = st->cfg;

    if (st->job_line == 0) {
        jf_fail(st, ROWSYNC_EINVAL, 0,
                "no [job] section (it needs at least mode = one-way or "
                "bidirectional)");
        return;
    }
    if (st->mode_line == 0) {
        jf_fail(st, ROWSYNC_EINVAL, st->job_line,
                "[job] has no mode (add mode = one-way or bidirectional)");
        return;
    }
    if (cfg->nnodes < 2) {
        jf_fail(st, ROWSYNC_EINVAL,
                cfg->nnodes == 1 ? cfg->nodes[0].line : st->job_line,
                "a job needs at least two [node NAME] sections (found %zu)",
                cfg->nnodes);
        return;
    }
    if (cfg->hub != NULL && cfg->mode != RS_MODE_BIDIRECTIONAL) {
        jf_fail(st, ROWSYNC_EINVAL, st->hub_line,
                "hub in [job] is for bidirectional jobs (a one-way job "
                "already sends from its source to every other node)");
        return;
    }
    if (cfg->hub != NULL && rs_job_cfg_node(cfg, cfg->hub) == NULL) {
        jf_fail(st, ROWSYNC_EINVAL, st->hub_line,
                "hub '%s' in [job] names no [node %s] section", cfg->hub,
                cfg->hub);
        return;
    }
    for (size_t i = 0; i < cfg->npriority; i++) {
        if (rs_job_cfg_node(cfg, cfg->priority[i]) == NULL) {
            jf_fail(st, ROWSYNC_EINVAL, st->priority_line,
                    "priority in [job] names '%s', which is no [node] "
                    "section",
                    cfg->priority[i]);
            return;
        }
    }
    /* Without a record of what each node had seen, a full mesh can only
     * order concurrent changes by time: a rule that prefers a node could
     * let an older version beat a newer one on one node and not on
     * another. A hub decides everything in one place. */
    if (cfg->mode == RS_MODE_BIDIRECTIONAL && cfg->nnodes > 2 &&
        cfg->hub == NULL) {
        int line = 0;
        const char *where = "[job]";
        char label[300];
        rs_rule_t bad = 0;
        if (!jf_mesh_rule_ok(cfg->conflict)) {
            bad = cfg->conflict;
            line = cfg->conflict_line;
        }
        for (size_t t = 0; !bad && t < cfg->ntables; t++)
            if (cfg->tables[t].conflict &&
                !jf_mesh_rule_ok((rs_rule_t)cfg->tables[t].conflict)) {
                bad = (rs_rule_t)cfg->tables[t].conflict;
                line = cfg->tables[t].conflict_line;
                snprintf(label, sizeof label, "[table %s]",
                         cfg->tables[t].name);
                where = label;
            }
        if (bad) {
            jf_fail(st, ROWSYNC_EINVAL, line,
                    "conflict = %s in %s needs hub = NODE in a bidirectional "
                    "job of %zu nodes: a full mesh orders concurrent changes "
                    "by time only (latest or manual)",
                    rs_rule_name(bad), where, cfg->nnodes);
            return;
        }
    }
    if (cfg->conflict == RS_RULE_PRIORITY && cfg->npriority == 0) {
        jf_fail(st, ROWSYNC_EINVAL, st->job_line,
                "conflict = priority needs priority = NODE, NODE, ... in "
                "[job]");
        return;
    }
    if (cfg->mode == RS_MODE_ONEWAY && cfg->source == NULL) {
        jf_fail(st, ROWSYNC_EINVAL, st->mode_line,
                "mode one-way needs a source in [job] (source = NODE)");
        return;
    }
    if (cfg->source != NULL && rs_job_cfg_node(cfg, cfg->source) == NULL) {
        jf_fail(st, ROWSYNC_EINVAL, st->source_line,
                "source '%s' in [job] names no [node %s] section", cfg->source,
                cfg->source);
        return;
    }
    if (cfg->ntables == 0) {
        jf_fail(st, ROWSYNC_EINVAL, st->job_line,
                "a job needs at least one [table NAME] section");
        return;
    }
    if (jf_check_table_nodes(st))
        jf_check_chains(st);
}

/* The absolute directory of path. NULL with errno set on failure. */
static char *jf_absdir(const char *path)
{
    char *copy = rs_strdup(path), *dir;

    if (copy == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    dir = realpath(dirname(copy), NULL);
    free(copy);
    return dir;
}

/* Reads and checks the job file at path. On success *out is a new model
 * (rs_job_cfg_free); on failure *out stays untouched and err says what
 * and where: ROWSYNC_EIO when the file cannot be read, ROWSYNC_EINVAL for
 * anything wrong in it, ROWSYNC_ENOMEM. */
int rs_job_cfg_parse(rs_job_cfg_t **out, const char *path, rowsync_error_t *err)
{
    jf_state_t st;
    int ret;

    memset(&st, 0, sizeof st);
    st.path = path;
    st.fp = fopen(path, "r");
    if (st.fp == NULL)
        return rowsync_error_set(err, ROWSYNC_EIO,
                                 "cannot open job file %s: %s", path,
                                 strerror(errno));
    st.cfg = calloc(1, sizeof *st.cfg);
    if (st.cfg == NULL) {
        fclose(st.fp);
        return rowsync_error_set(err, ROWSYNC_ENOMEM, "out of memory");
    }
    st.cfg->interval_us = INT64_C(5000000);
    st.cfg->batch_size = 10000;
    st.cfg->lock_timeout_us = INT64_C(30000000);
    st.cfg->path = rs_strdup(path);
    st.cfg->conflict = RS_RULE_LATEST;
    st.cfg->max_clock_skew_us = INT64_C(1000000);
    st.cfg->retention_us = INT64_C(3600000000);
    st.cfg->purge = 1;
    if (st.cfg->path == NULL)
        jf_nomem(&st);

    if (!st.stop) {
        ret = ini_parse_stream(jf_reader, &st, jf_handler, &st);
        if (ret == -2)
            jf_nomem(&st);
        else if (ret > 0 && ret < st.error_line) {
            /* inih found a line it cannot read before we found anything */
            st.stop = 0;
            jf_fail(&st, ROWSYNC_EINVAL, ret,
                    "expected 'key = value' or a [section] header");
        } else if (ret > 0 && st.error_line == 0) {
            jf_fail(&st, ROWSYNC_EINVAL, ret,
                    "expected 'key = value' or a [section] header");
        }
    }
    if (!st.stop && jf_section_end(&st))
        jf_check_job(&st);
    if (!st.stop) {
        st.cfg->dir = jf_absdir(path);
        if (st.cfg->dir == NULL)
            jf_fail(&st, errno == ENOMEM ? ROWSYNC_ENOMEM : ROWSYNC_EIO, 0,
                    "cannot resolve the job file's directory: %s",
                    strerror(errno));
    }

    jf_seen_clear(&st);
    free(st.buf);
    fclose(st.fp);
    if (st.stop) {
        rs_job_cfg_free(st.cfg);
        if (err != NULL)
            *err = st.err;
        return st.err.code;
    }
    *out = st.cfg;
    return 0;
}
