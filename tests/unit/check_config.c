/* Unit tests of the job file parser (jobfile.c) and the core helpers it
 * links with (util.c, error.c). This program links those files directly,
 * not librowsync, so it can reach the internal functions. */
#include <config.h>

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "filter.h"
#include "internal.h"
#include "jobfile.h"

static char tmpdir[PATH_MAX];
static char jobpath[PATH_MAX + 16];

/* Each test gets an empty directory of its own. */
static void tmp_setup(void)
{
    const char *base = getenv("TMPDIR");

    snprintf(tmpdir, sizeof tmpdir, "%s/rowsync-config-XXXXXX",
             base != NULL && base[0] != '\0' ? base : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    snprintf(jobpath, sizeof jobpath, "%s/job.conf", tmpdir);
}

static void tmp_teardown(void)
{
    DIR *dir = opendir(tmpdir);
    struct dirent *e;
    char path[PATH_MAX + 300];

    if (dir == NULL)
        return;
    while ((e = readdir(dir)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", tmpdir, e->d_name);
        unlink(path);
    }
    closedir(dir);
    rmdir(tmpdir);
}

/* Writes text to the test's job.conf. */
static void write_job(const char *text)
{
    FILE *f = fopen(jobpath, "w");

    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fputs(text, f) >= 0, 1);
    ck_assert_int_eq(fclose(f), 0);
}

/* Parses job.conf, asserting success. */
static rs_job_cfg_t *parse_ok(const char *text)
{
    rs_job_cfg_t *cfg = NULL;
    rowsync_error_t err;
    int rc;

    write_job(text);
    memset(&err, 0, sizeof err);
    rc = rs_job_cfg_parse(&cfg, jobpath, &err);
    ck_assert_msg(rc == 0, "parse failed (%d): %s", rc, err.message);
    ck_assert_ptr_nonnull(cfg);
    return cfg;
}

/* Parses job.conf, asserting ROWSYNC_EINVAL with a message that starts
 * with "PATH:LINE: " (just "PATH: " for line 0) and contains every given
 * fragment (a NULL-terminated list). */
static void parse_fails_at(const char *text, int line, ...)
{
    rs_job_cfg_t *cfg = NULL;
    rowsync_error_t err;
    char prefix[PATH_MAX + 64];
    const char *fragment;
    va_list ap;
    int rc;

    write_job(text);
    memset(&err, 0, sizeof err);
    rc = rs_job_cfg_parse(&cfg, jobpath, &err);
    ck_assert_msg(rc == ROWSYNC_EINVAL, "rc %d, expected EINVAL: %s", rc,
                  err.message);
    ck_assert_int_eq(err.code, ROWSYNC_EINVAL);
    ck_assert_ptr_null(cfg);
    if (line > 0)
        snprintf(prefix, sizeof prefix, "%s:%d: ", jobpath, line);
    else
        snprintf(prefix, sizeof prefix, "%s: ", jobpath);
    ck_assert_msg(strncmp(err.message, prefix, strlen(prefix)) == 0,
                  "message '%s' does not start with '%s'", err.message, prefix);
    va_start(ap, line);
    while ((fragment = va_arg(ap, const char *)) != NULL)
        ck_assert_msg(strstr(err.message, fragment) != NULL,
                      "message '%s' lacks '%s'", err.message, fragment);
    va_end(ap);
}

/* The smallest valid job, used as a base by the error tests. */
#define NODES                                                                  \
    "[node a]\n"                                                               \
    "driver = sqlite\n"                                                        \
    "[node b]\n"                                                               \
    "driver = sqlite\n"

/* ---- valid files ----------------------------------------------------------
 */

static const char bidirectional_job[] =
    "; a bidirectional job\n"         /* 1 */
    "[job]\n"                         /* 2 */
    "mode = bidirectional\n"          /* 3 */
    "source = right\n"                /* 4 */
    "conflict = latest\n"             /* 5 */
    "interval = 250ms\n"              /* 6 */
    "batch_size = 500\n"              /* 7 */
    "lock_timeout = 1m\n"             /* 8 */
    "\n"                              /* 9 */
    "[node left]\n"                   /* 10 */
    "driver = sqlite\n"               /* 11 */
    "path = data/left.db\n"           /* 12 */
    "busy_timeout = 2000\n"           /* 13 */
    "password_env = LEFT_PW\n"        /* 14 */
    "\n"                              /* 15 */
    "[node right]\n"                  /* 16 */
    "driver = sqlite\n"               /* 17 */
    "password_file = secrets/right\n" /* 18 */
    "path = right.db\n"               /* 19 */
    "\n"                              /* 20 */
    "[table items]\n"                 /* 21 */
    "key = id\n"                      /* 22 */
    "columns = id , name,price\n"     /* 23 */
    "[table public.tags]\n"           /* 24 */
    "key = tag, item_id\n";           /* 25 */

START_TEST(test_config_bidirectional_model)
{
    rs_job_cfg_t *cfg = parse_ok(bidirectional_job);
    char real[PATH_MAX];
    const rs_node_cfg_t *n;
    const rs_table_cfg_t *t;

    ck_assert_ptr_nonnull(realpath(tmpdir, real));
    ck_assert_str_eq(cfg->path, jobpath);
    ck_assert_str_eq(cfg->dir, real);
    ck_assert_int_eq(cfg->mode, RS_MODE_BIDIRECTIONAL);
    ck_assert_str_eq(cfg->source, "right");
    ck_assert_int_eq(cfg->conflict, RS_RULE_LATEST);
    ck_assert(cfg->interval_us == 250000);
    ck_assert_uint_eq(cfg->batch_size, 500);
    ck_assert(cfg->lock_timeout_us == INT64_C(60000000));

    ck_assert_uint_eq(cfg->nnodes, 2);
    n = &cfg->nodes[0];
    ck_assert_str_eq(n->name, "left");
    ck_assert_int_eq(n->line, 10);
    ck_assert_str_eq(n->driver, "sqlite");
    ck_assert_str_eq(n->password_env, "LEFT_PW");
    ck_assert_ptr_null(n->password_file);
    ck_assert_uint_eq(n->noptions, 2);
    ck_assert_str_eq(n->options[0].key, "path");
    ck_assert_str_eq(n->options[0].value, "data/left.db");
    ck_assert_int_eq(n->options[0].line, 12);
    ck_assert_str_eq(n->options[1].key, "busy_timeout");
    ck_assert_str_eq(n->options[1].value, "2000");
    ck_assert_int_eq(n->options[1].line, 13);
    n = &cfg->nodes[1];
    ck_assert_str_eq(n->name, "right");
    ck_assert_int_eq(n->line, 16);
    ck_assert_ptr_null(n->password_env);
    ck_assert_str_eq(n->password_file, "secrets/right");
    ck_assert_uint_eq(n->noptions, 1);
    ck_assert_str_eq(n->options[0].key, "path");
    ck_assert_int_eq(n->options[0].line, 19);
    ck_assert_ptr_eq(rs_job_cfg_node(cfg, "right"), n);
    ck_assert_ptr_null(rs_job_cfg_node(cfg, "middle"));

    ck_assert_uint_eq(cfg->ntables, 2);
    t = &cfg->tables[0];
    ck_assert_str_eq(t->name, "items");
    ck_assert_int_eq(t->line, 21);
    ck_assert_uint_eq(t->nkey, 1);
    ck_assert_str_eq(t->key[0], "id");
    ck_assert_uint_eq(t->ncolumns, 3);
    ck_assert_str_eq(t->columns[0], "id");
    ck_assert_str_eq(t->columns[1], "name");
    ck_assert_str_eq(t->columns[2], "price");
    t = &cfg->tables[1];
    ck_assert_str_eq(t->name, "public.tags");
    ck_assert_uint_eq(t->nkey, 2);
    ck_assert_str_eq(t->key[0], "tag");
    ck_assert_str_eq(t->key[1], "item_id");
    ck_assert_uint_eq(t->ncolumns, 0);
    rs_job_cfg_free(cfg);
}
END_TEST

START_TEST(test_config_one_way_defaults)
{
    rs_job_cfg_t *cfg = parse_ok("[job]\n"
                                 "mode = one-way\n"
                                 "source = a\n" NODES "[node c]\n"
                                 "driver = other_driver\n"
                                 "[table t]\n");

    ck_assert_int_eq(cfg->mode, RS_MODE_ONEWAY);
    ck_assert_str_eq(cfg->source, "a");
    ck_assert_int_eq(cfg->conflict, RS_RULE_LATEST);
    ck_assert(cfg->interval_us == INT64_C(5000000));
    ck_assert_uint_eq(cfg->batch_size, 10000);
    ck_assert(cfg->lock_timeout_us == INT64_C(30000000));
    ck_assert_uint_eq(cfg->nnodes, 3);
    ck_assert_str_eq(cfg->nodes[2].driver, "other_driver");
    ck_assert_uint_eq(cfg->nodes[0].noptions, 0);
    ck_assert_uint_eq(cfg->ntables, 1);
    ck_assert_uint_eq(cfg->tables[0].nkey, 0);
    ck_assert_uint_eq(cfg->tables[0].ncolumns, 0);
    rs_job_cfg_free(cfg);
}
END_TEST

START_TEST(test_config_bidirectional_without_source)
{
    rs_job_cfg_t *cfg =
        parse_ok("[job]\nmode = bidirectional\n" NODES "[table t]\n");

    ck_assert_ptr_null(cfg->source);
    rs_job_cfg_free(cfg);
}
END_TEST

START_TEST(test_config_inline_comments)
{
    rs_job_cfg_t *cfg = parse_ok("# hash comment\n"
                                 "[job] ; the job\n"
                                 "mode = one-way ; copy a to b\n"
                                 "source = a ;\n"
                                 "interval = 2s ; every two seconds\n"
                                 "[node a] # first\n"
                                 "driver = sqlite\n"
                                 "path = a;b.db\n"
                                 "[node b]\n"
                                 "driver = sqlite ;\n"
                                 "   ; indented comment\n"
                                 "[table t]\n");

    ck_assert_int_eq(cfg->mode, RS_MODE_ONEWAY);
    ck_assert_str_eq(cfg->source, "a");
    ck_assert(cfg->interval_us == INT64_C(2000000));
    /* ';' starts a comment only after white space */
    ck_assert_str_eq(cfg->nodes[0].options[0].value, "a;b.db");
    ck_assert_str_eq(cfg->nodes[1].driver, "sqlite");
    rs_job_cfg_free(cfg);
}
END_TEST

START_TEST(test_config_source_error_is_checked_for_bidirectional)
{
    parse_fails_at("[job]\nmode = bidirectional\nsource = zz\n" NODES
                   "[table t]\n",
                   3, "source 'zz'", NULL);
}
END_TEST

START_TEST(test_config_indented_keys_are_keys)
{
    rs_job_cfg_t *cfg = parse_ok("[job]\n"
                                 "    mode = one-way\n"
                                 "    source = a\n"
                                 "  [node a]\n"
                                 "\tdriver = sqlite\n"
                                 "\tpath = a.db\n"
                                 "[node b]\n"
                                 "  driver = sqlite\n"
                                 "[table t]\n");

    ck_assert_str_eq(cfg->source, "a");
    ck_assert_str_eq(cfg->nodes[0].driver, "sqlite");
    ck_assert_uint_eq(cfg->nodes[0].noptions, 1);
    ck_assert_str_eq(cfg->nodes[0].options[0].value, "a.db");
    ck_assert_int_eq(cfg->nodes[0].options[0].line, 6);
    rs_job_cfg_free(cfg);
}
END_TEST

START_TEST(test_config_crlf_and_bom)
{
    rs_job_cfg_t *cfg = parse_ok("\xEF\xBB\xBF[job]\r\n"
                                 "mode = one-way\r\n"
                                 "source = a\r\n"
                                 "[node a]\r\n"
                                 "driver = sqlite\r\n"
                                 "[node b]\r\n"
                                 "driver = sqlite\r\n"
                                 "[table t]\r\n");

    ck_assert_str_eq(cfg->source, "a");
    ck_assert_int_eq(cfg->nodes[1].line, 6);
    rs_job_cfg_free(cfg);
}
END_TEST

START_TEST(test_config_relative_path_gives_absolute_dir)
{
    rs_job_cfg_t *cfg = NULL;
    char real[PATH_MAX];
    rowsync_error_t err;

    write_job("[job]\nmode = bidirectional\n" NODES "[table t]\n");
    ck_assert_int_eq(chdir(tmpdir), 0);
    ck_assert_int_eq(rs_job_cfg_parse(&cfg, "job.conf", &err), 0);
    ck_assert_ptr_nonnull(realpath(tmpdir, real));
    ck_assert_str_eq(cfg->path, "job.conf");
    ck_assert_str_eq(cfg->dir, real);
    ck_assert_int_eq(cfg->dir[0], '/');
    rs_job_cfg_free(cfg);
}
END_TEST

START_TEST(test_config_empty_option_value_is_kept)
{
    rs_job_cfg_t *cfg =
        parse_ok("[job]\nmode = bidirectional\n" NODES "options =\n"
                 "[table t]\n");

    ck_assert_uint_eq(cfg->nodes[1].noptions, 1);
    ck_assert_str_eq(cfg->nodes[1].options[0].key, "options");
    ck_assert_str_eq(cfg->nodes[1].options[0].value, "");
    rs_job_cfg_free(cfg);
}
END_TEST

/* ---- table shapes per node and filters ------------------------------------
 */

static const char shaped_job[] =
    "[job]\n"                                                 /* 1 */
    "mode = one-way\n"                                        /* 2 */
    "source = shop\n"                                         /* 3 */
    "[node shop]\n"                                           /* 4 */
    "driver = sqlite\n"                                       /* 5 */
    "[node reporting]\n"                                      /* 6 */
    "driver = sqlite\n"                                       /* 7 */
    "[table customers]\n"                                     /* 8 */
    "key = id\n"                                              /* 9 */
    "filter = region = 'EU' AND active ; a comment\n"         /* 10 */
    "leaving = keep\n"                                        /* 11 */
    "[table customers @ reporting]\n"                         /* 12 */
    "name = public.clients\n"                                 /* 13 */
    "map = id:client_id, name : full_name,email:email_hash\n" /* 14 */
    "skip = region, active\n"                                 /* 15 */
    "fill = country:'DE', score:42, note:NULL, q:'it''s'\n"   /* 16 */
    "filter = id > 10\n";                                     /* 17 */

START_TEST(test_config_table_node_model)
{
    rs_job_cfg_t *cfg = parse_ok(shaped_job);
    const rs_table_cfg_t *t = &cfg->tables[0];
    const rs_table_node_cfg_t *on;

    ck_assert_uint_eq(cfg->ntables, 1);
    ck_assert_ptr_nonnull(t->filter);
    ck_assert_str_eq(rs_filter_text(t->filter), "region = 'EU' AND active");
    ck_assert_int_eq(t->filter_line, 10);
    ck_assert_int_eq(t->leaving_keep, 1);
    ck_assert_uint_eq(t->non, 1);
    ck_assert_ptr_null(rs_table_cfg_on(t, "shop"));
    on = rs_table_cfg_on(t, "reporting");
    ck_assert_ptr_nonnull(on);
    ck_assert_int_eq(on->line, 12);
    ck_assert_str_eq(on->name, "public.clients");
    ck_assert_uint_eq(on->nmap, 3);
    ck_assert_str_eq(on->map_from[1], "name");
    ck_assert_str_eq(on->map_to[1], "full_name");
    ck_assert_str_eq(on->map_from[2], "email");
    ck_assert_str_eq(on->map_to[2], "email_hash");
    ck_assert_uint_eq(on->nskip, 2);
    ck_assert_str_eq(on->skip[1], "active");
    ck_assert_uint_eq(on->nfill, 4);
    ck_assert_str_eq(on->fill[0].column, "country");
    ck_assert_str_eq(on->fill[0].value, "DE");
    ck_assert_str_eq(on->fill[1].value, "42");
    ck_assert_ptr_null(on->fill[2].value);
    ck_assert_str_eq(on->fill[3].value, "it's");
    ck_assert_ptr_nonnull(on->filter);
    ck_assert_int_eq(on->filter_line, 17);
    rs_job_cfg_free(cfg);
}
END_TEST

START_TEST(test_config_leaving_defaults_to_delete)
{
    rs_job_cfg_t *cfg =
        parse_ok("[job]\nmode = bidirectional\n" NODES "[table t]\n"
                 "filter = x IS NOT NULL\n");

    ck_assert_int_eq(cfg->tables[0].leaving_keep, 0);
    ck_assert_ptr_nonnull(cfg->tables[0].filter);
    ck_assert_uint_eq(cfg->tables[0].non, 0);
    rs_job_cfg_free(cfg);
    parse_fails_at("[job]\nmode = bidirectional\n" NODES "[table t]\n"
                   "leaving = stay\n",
                   8, "leaving in [table t] must be delete or keep", NULL);
}
END_TEST

START_TEST(test_config_filter_error_has_line_and_column)
{
    /* "filter = " is 9 characters: the value starts in column 10 */
    parse_fails_at("[job]\nmode = bidirectional\n" NODES "[table t]\n"
                   "filter = region = 'EU' AND\n",
                   8, "column 27: filter of [table t]:",
                   "ends where a value was expected", NULL);
    parse_fails_at("[job]\nmode = bidirectional\n" NODES "[table t]\n"
                   "  filter=(a = 1\n",
                   8, "column 10: filter of [table t]: '(' is never closed",
                   NULL);
    parse_fails_at(
        "[job]\nmode = bidirectional\n" NODES "[table t]\n"
        "[table t @ b]\nfilter = a = 'x\n",
        9, "column 14: filter of [table t @ b]:", "unterminated string", NULL);
}
END_TEST

START_TEST(test_config_table_node_errors)
{
    parse_fails_at("[job]\nmode = bidirectional\n" NODES "[table t @ b]\n", 7,
                   "[table t @ b] needs a [table t] section before it", NULL);
    parse_fails_at("[job]\nmode = bidirectional\n" NODES "[table t]\n"
                   "[table t @ b]\n[table t @ b]\n",
                   9, "duplicate [table t @ b] (first at line 8)", NULL);
    parse_fails_at("[job]\nmode = bidirectional\n" NODES "[table t]\n"
                   "[table t @ c]\n",
                   8, "[table t @ c] names no [node c] section", NULL);
    parse_fails_at("[job]\nmode = bidirectional\n" NODES "[table t]\n"
                   "[table t @ ]\n",
                   8, "[table NAME @ NODE]", NULL);
    parse_fails_at("[job]\nmode = bidirectional\n" NODES "[table t]\n"
                   "[table t @ b]\nrename = x\n",
                   9, "unknown key 'rename' in [table t @ b]", NULL);
    parse_fails_at("[job]\nmode = bidirectional\n" NODES "[table t]\n"
                   "[table t @ b]\nmap = a\n",
                   9, "'a' in 'map' of [table t @ b]: expected CANONICAL:NAME",
                   NULL);
    parse_fails_at("[job]\nmode = bidirectional\n" NODES "[table t]\n"
                   "[table t @ b]\nmap = a:x, b:x\n",
                   9, "'x' is the target of two names", NULL);
    parse_fails_at("[job]\nmode = bidirectional\n" NODES "[table t]\n"
                   "[table t @ b]\nmap = a:x, a:y\n",
                   9, "column 'a' is listed twice", NULL);
    parse_fails_at("[job]\nmode = bidirectional\n" NODES "[table t]\n"
                   "[table t @ b]\nfill = c:'open\n",
                   9, "unterminated string for 'c'", NULL);
    parse_fails_at("[job]\nmode = bidirectional\n" NODES "[table t]\n"
                   "key = id\n[table t @ b]\nskip = id\n",
                   9, "skips key column 'id'", NULL);
    parse_fails_at("[job]\nmode = bidirectional\n" NODES "[table t]\n"
                   "[table t @ b]\nmap = a:x\nskip = a\n",
                   8, "both maps and skips column 'a'", NULL);
    parse_fails_at("[job]\nmode = bidirectional\n" NODES "[table t]\n"
                   "columns = id, a\n[table t @ b]\nskip = z\n",
                   9, "skips 'z', which is not in the columns", NULL);
    parse_fails_at("[job]\nmode = bidirectional\n" NODES "[table t]\n"
                   "[table t @ b]\nmap = a:x\nfill = x:1\n",
                   8, "fills 'x', which a canonical column maps to", NULL);
}
END_TEST

START_TEST(test_config_plugin_sections_and_chains)
{
    rs_job_cfg_t *cfg = parse_ok(
        "[job]\nmode = bidirectional\n" NODES "[table t]\n"
        "plugins = stamp, codes\n"
        "[table t @ b]\nplugins = hide\n"
        "[plugin hide]\nmodule = mask\ncolumns = email\nmethod = sha256\n"
        "[plugin stamp]\nmodule = set\ncolumn = by\nvalue =\n"
        "[plugin codes]\nmodule = map\n");
    const rs_plugin_cfg_t *pc;

    ck_assert_uint_eq(cfg->tables[0].nplugins, 2);
    ck_assert_str_eq(cfg->tables[0].plugins[0], "stamp");
    ck_assert_str_eq(cfg->tables[0].plugins[1], "codes");
    ck_assert_int_eq(cfg->tables[0].plugins_line, 8);
    ck_assert_uint_eq(cfg->tables[0].on[0].nplugins, 1);
    ck_assert_str_eq(cfg->tables[0].on[0].plugins[0], "hide");
    ck_assert_uint_eq(cfg->nplugins, 3);
    pc = rs_job_cfg_plugin(cfg, "hide");
    ck_assert_ptr_nonnull(pc);
    ck_assert_int_eq(pc->line, 11);
    ck_assert_str_eq(pc->module, "mask");
    ck_assert_uint_eq(pc->noptions, 2);
    ck_assert_str_eq(pc->options[1].key, "method");
    ck_assert_str_eq(pc->options[1].value, "sha256");
    ck_assert_int_eq(pc->options[1].line, 14);
    /* a plugin's own option may be empty; checked by the plugin */
    pc = rs_job_cfg_plugin(cfg, "stamp");
    ck_assert_str_eq(pc->options[1].value, "");
    ck_assert_ptr_null(rs_job_cfg_plugin(cfg, "nosuch"));
    rs_job_cfg_free(cfg);
}
END_TEST

START_TEST(test_config_plugin_errors)
{
    parse_fails_at("[job]\nmode = bidirectional\n" NODES "[table t]\n"
                   "plugins = mask_email\n",
                   8,
                   "plugins of [table t] names no [plugin mask_email] "
                   "section",
                   NULL);
    parse_fails_at("[job]\nmode = bidirectional\n" NODES "[table t]\n"
                   "[table t @ a]\nplugins = x, y\n[plugin x]\nmodule = map\n",
                   9, "plugins of [table t @ a] names no [plugin y]", NULL);
    parse_fails_at("[job]\nmode = bidirectional\n" NODES "[table t]\n"
                   "[plugin x]\ncolumns = a\n[table u]\n",
                   8, "[plugin x] has no module", NULL);
    parse_fails_at("[job]\nmode = bidirectional\n" NODES "[table t]\n"
                   "[plugin x]\nmodule = map\n[plugin x]\nmodule = set\n",
                   10, "duplicate plugin 'x' (first at line 8)", NULL);
    parse_fails_at("[job]\nmode = bidirectional\n" NODES "[table t]\n"
                   "[plugin]\n",
                   8, "[plugin] needs a name", NULL);
    parse_fails_at("[job]\nmode = bidirectional\n" NODES "[table t]\n"
                   "[plugin x]\nmodule = ../evil\n",
                   9, "invalid module name '../evil'", NULL);
}
END_TEST

/* ---- errors: sections and keys
 * ------------------------------------------------ */

START_TEST(test_config_unknown_key)
{
    parse_fails_at("[job]\n"
                   "mode = bidirectional\n" NODES "[table items]\n"
                   "colums = a, b\n",
                   8, "unknown key 'colums' in [table items]", NULL);
    parse_fails_at("[job]\nmode = one-way\nsorce = a\n", 3,
                   "unknown key 'sorce' in [job]", NULL);
}
END_TEST

START_TEST(test_config_unknown_section)
{
    parse_fails_at("[job]\nmode = one-way\n\n[nodes a]\ndriver = x\n", 4,
                   "unknown section [nodes a]", NULL);
    parse_fails_at("[job]\nmode = one-way\n[settings]\n", 3,
                   "unknown section [settings]", NULL);
}
END_TEST

START_TEST(test_config_bad_section_header)
{
    parse_fails_at("[job]\nmode = one-way\n[node a\n", 3, "closing ']'", NULL);
    parse_fails_at("[job] extra\n", 1, "after the section header", NULL);
    parse_fails_at("[job x]\n", 1, "[job] takes no name", NULL);
    parse_fails_at("[job]\n[node   ]\n", 2, "[node] needs a name", NULL);
    parse_fails_at("[job]\n[table]\n", 2, "[table] needs a name", NULL);
    parse_fails_at("[job]\n[node a/b]\n", 2, "invalid node name 'a/b'", NULL);
    parse_fails_at("[job]\n[job]\n", 2, "duplicate [job] section", "line 1",
                   NULL);
}
END_TEST

START_TEST(test_config_duplicate_key)
{
    parse_fails_at("[job]\n"
                   "mode = bidirectional\n"
                   "[node a]\n"
                   "driver = sqlite\n"
                   "path = x\n"
                   "driver = sqlite\n",
                   6, "duplicate key 'driver' in [node a]", "line 4", NULL);
    parse_fails_at("[job]\nmode = one-way\ninterval = 1s\ninterval = 2s\n", 4,
                   "duplicate key 'interval' in [job]", NULL);
}
END_TEST

START_TEST(test_config_duplicate_node)
{
    parse_fails_at("[job]\nmode = bidirectional\n" NODES
                   "\n[node a]\ndriver = sqlite\n",
                   8, "duplicate node 'a'", "line 3", NULL);
}
END_TEST

START_TEST(test_config_duplicate_table)
{
    parse_fails_at("[job]\nmode = bidirectional\n" NODES
                   "[table t]\n[table  t ]\n",
                   8, "duplicate table 't'", "line 7", NULL);
}
END_TEST

START_TEST(test_config_key_outside_section)
{
    parse_fails_at("mode = one-way\n[job]\n", 1,
                   "key 'mode' outside of any section", NULL);
}
END_TEST

START_TEST(test_config_line_without_equals)
{
    parse_fails_at("[job]\nmode = one-way\njust words\n", 3,
                   "expected 'key = value'", NULL);
}
END_TEST

START_TEST(test_config_empty_value)
{
    parse_fails_at("[job]\nmode =\n", 2, "key 'mode' in [job] has no value",
                   NULL);
    parse_fails_at("[job]\nmode = one-way\n[node a]\ndriver =   ; none\n", 4,
                   "key 'driver' in [node a] has no value", NULL);
}
END_TEST

START_TEST(test_config_line_too_long)
{
    char text[1200];

    snprintf(text, sizeof text,
             "[job]\nmode = one-way\n[node a]\npath = %0999d\n", 0);
    parse_fails_at(text, 4, "line is longer than", NULL);
}
END_TEST

/* ---- errors: values --------------------------------------------------------
 */

START_TEST(test_config_bad_mode)
{
    parse_fails_at("[job]\nmode = both\n", 2, "invalid mode 'both' in [job]",
                   "one-way or bidirectional", NULL);
}
END_TEST

START_TEST(test_config_bad_interval)
{
    parse_fails_at("[job]\nmode = one-way\ninterval = soon\n", 3,
                   "invalid interval 'soon' in [job]", NULL);
    parse_fails_at("[job]\nmode = one-way\ninterval = -5s\n", 3,
                   "invalid interval '-5s'", NULL);
    parse_fails_at("[job]\nmode = one-way\ninterval = 0\n", 3,
                   "interval in [job] must be greater than 0", NULL);
}
END_TEST

START_TEST(test_config_bad_lock_timeout)
{
    parse_fails_at("[job]\nmode = one-way\nlock_timeout = 5 days\n", 3,
                   "invalid lock_timeout '5 days'", NULL);
}
END_TEST

START_TEST(test_config_zero_lock_timeout_is_allowed)
{
    rs_job_cfg_t *cfg = parse_ok("[job]\nmode = bidirectional\n"
                                 "lock_timeout = 0\n" NODES "[table t]\n");

    ck_assert(cfg->lock_timeout_us == 0);
    rs_job_cfg_free(cfg);
}
END_TEST

START_TEST(test_config_bad_batch_size)
{
    parse_fails_at("[job]\nmode = one-way\nbatch_size = 0\n", 3,
                   "invalid batch_size '0'", "1 to 1000000", NULL);
    parse_fails_at("[job]\nmode = one-way\nbatch_size = 1000001\n", 3,
                   "invalid batch_size '1000001'", NULL);
    parse_fails_at("[job]\nmode = one-way\nbatch_size = ten\n", 3,
                   "invalid batch_size 'ten'", NULL);
}
END_TEST

START_TEST(test_config_unsupported_conflict_rule)
{
    parse_fails_at("[job]\nmode = bidirectional\nconflict = newest\n", 3,
                   "invalid conflict rule 'newest' in [job]",
                   "latest, priority, source, target, manual or plugin:NAME",
                   NULL);
    parse_fails_at("[job]\nmode = bidirectional\n" NODES
                   "[table t]\nconflict = oldest\n",
                   8, "invalid conflict rule 'oldest' in [table t]", NULL);
}
END_TEST

START_TEST(test_config_both_password_keys)
{
    parse_fails_at("[job]\nmode = one-way\n[node a]\ndriver = x\n"
                   "password_env = PW\npath = p\npassword_file = pw.txt\n",
                   7, "[node a] sets both password_env and password_file",
                   "line 5", NULL);
}
END_TEST

START_TEST(test_config_password_in_job_file)
{
    parse_fails_at("[job]\nmode = one-way\n[node a]\ndriver = x\n"
                   "password = hunter2\n",
                   5, "must not hold a password", "password_env", NULL);
}
END_TEST

START_TEST(test_config_bad_names)
{
    parse_fails_at("[job]\nmode = one-way\n[node a]\ndriver = ../evil\n", 4,
                   "invalid driver name '../evil'", NULL);
    parse_fails_at("[job]\nmode = one-way\n[node a]\ndriver = x\n"
                   "password_env = NOT-A-NAME\n",
                   5, "invalid password_env 'NOT-A-NAME'", NULL);
}
END_TEST

START_TEST(test_config_bad_column_lists)
{
    parse_fails_at("[job]\nmode = one-way\n[table t]\ncolumns = a,,b\n", 4,
                   "empty column name in 'columns' of [table t]", NULL);
    parse_fails_at("[job]\nmode = one-way\n[table t]\nkey = a, b, a\n", 4,
                   "column 'a' is listed twice in 'key' of [table t]", NULL);
    parse_fails_at("[job]\nmode = bidirectional\n" NODES "[table t]\n"
                   "key = id, other\n"
                   "columns = id, name\n"
                   "[table u]\n",
                   8, "key column 'other' of [table t] is not in its columns",
                   NULL);
}
END_TEST

/* ---- errors: the job as a whole ---------------------------------------------
 */

START_TEST(test_config_one_way_without_source)
{
    parse_fails_at("[job]\n\nmode = one-way\n" NODES "[table t]\n", 3,
                   "mode one-way needs a source", NULL);
}
END_TEST

START_TEST(test_config_source_names_no_node)
{
    parse_fails_at("[job]\nmode = one-way\nsource = c\n" NODES "[table t]\n", 3,
                   "source 'c' in [job] names no [node c]", NULL);
}
END_TEST

/* Three nodes both ways: a mesh by default, a hub when named; the
 * conflict rules, priority list, clock bound and retention parse, and each
 * reference to a node is checked. */
START_TEST(test_config_bidirectional_three_nodes)
{
    rs_job_cfg_t *cfg = parse_ok(
        "[job]\nmode = bidirectional\nconflict = priority\n"
        "priority = c, a\nhub = c\nmax_clock_skew = 250ms\n"
        "retention = 2m\npurge = off\n" NODES "[node c]\ndriver = x\n"
        "[table t]\nconflict = target\n");
    ck_assert_uint_eq(cfg->nnodes, 3);
    ck_assert_int_eq(cfg->conflict, RS_RULE_PRIORITY);
    ck_assert_uint_eq(cfg->npriority, 2);
    ck_assert_str_eq(cfg->priority[0], "c");
    ck_assert_str_eq(cfg->priority[1], "a");
    ck_assert_str_eq(cfg->hub, "c");
    ck_assert_int_eq(cfg->max_clock_skew_us, 250000);
    ck_assert_int_eq(cfg->retention_us, INT64_C(120000000));
    ck_assert_int_eq(cfg->purge, 0);
    ck_assert_int_eq(cfg->tables[0].conflict, RS_RULE_TARGET);
    rs_job_cfg_free(cfg);

    cfg = parse_ok("[job]\nmode = bidirectional\nconflict = manual\n"
                   "merge = column\n" NODES "[table t]\n"
                   "conflict = plugin:pick\nmerge = row\n"
                   "[plugin pick]\nmodule = prefer\ncolumn = v\n");
    ck_assert_int_eq(cfg->conflict, RS_RULE_MANUAL);
    ck_assert_int_eq(cfg->merge_columns, 1);
    ck_assert_int_eq(cfg->tables[0].conflict, RS_RULE_PLUGIN);
    ck_assert_str_eq(cfg->tables[0].conflict_plugin, "pick");
    ck_assert_int_eq(cfg->tables[0].merge_columns, 0);
    rs_job_cfg_free(cfg);

    cfg = parse_ok("[job]\nmode = bidirectional\n" NODES "[node c]\n"
                   "driver = x\n[table t]\n");
    ck_assert_ptr_null(cfg->hub);
    ck_assert_int_eq(cfg->conflict, RS_RULE_LATEST);
    ck_assert_int_eq(cfg->max_clock_skew_us, 1000000);
    ck_assert_int_eq(cfg->purge, 1);
    ck_assert_int_eq(cfg->tables[0].conflict, 0);
    rs_job_cfg_free(cfg);

    parse_fails_at("[job]\nmode = bidirectional\nhub = z\n" NODES
                   "[table t]\n",
                   3, "hub 'z' in [job] names no [node z] section", NULL);
    parse_fails_at("[job]\nmode = one-way\nsource = a\nhub = a\n" NODES
                   "[table t]\n",
                   4, "hub in [job] is for bidirectional jobs", NULL);
    parse_fails_at("[job]\nmode = bidirectional\npriority = a, q\n" NODES
                   "[table t]\n",
                   3, "priority in [job] names 'q'", NULL);
    parse_fails_at("[job]\nmode = bidirectional\nconflict = priority\n" NODES
                   "[table t]\n",
                   1, "conflict = priority needs priority", NULL);
    parse_fails_at("[job]\nmode = bidirectional\nconflict = plugin:pick\n"
                   NODES "[table t]\n",
                   3, "conflict in [job] names no [plugin pick] section", NULL);
    parse_fails_at("[job]\nmode = bidirectional\nconflict = priority\n"
                   "priority = a\n" NODES "[node c]\ndriver = x\n"
                   "[table t]\n",
                   3, "conflict = priority in [job] needs hub = NODE", NULL);
    parse_fails_at("[job]\nmode = bidirectional\n" NODES "[node c]\n"
                   "driver = x\n[table t]\nconflict = source\n",
                   10, "conflict = source in [table t] needs hub", NULL);
    parse_fails_at("[job]\nmode = bidirectional\nmerge = cells\n", 3,
                   "merge in [job] must be row or column", NULL);
    parse_fails_at("[job]\nmode = bidirectional\nmax_clock_skew = soon\n",
                   3, "invalid max_clock_skew 'soon'", NULL);
    parse_fails_at("[job]\nmode = bidirectional\npurge = maybe\n", 3,
                   "purge in [job] must be on or off", NULL);
}
END_TEST

START_TEST(test_config_fewer_than_two_nodes)
{
    parse_fails_at("[job]\nmode = bidirectional\n[node a]\ndriver = x\n"
                   "[table t]\n",
                   3, "at least two [node NAME] sections (found 1)", NULL);
    parse_fails_at("[job]\nmode = bidirectional\n[table t]\n", 1, "(found 0)",
                   NULL);
}
END_TEST

START_TEST(test_config_no_table)
{
    parse_fails_at("\n[job]\nmode = bidirectional\n" NODES, 2,
                   "at least one [table NAME] section", NULL);
}
END_TEST

START_TEST(test_config_node_without_driver)
{
    /* in the middle of the file and as the last section */
    parse_fails_at("[job]\nmode = bidirectional\n[node a]\npath = x\n"
                   "[node b]\ndriver = x\n[table t]\n",
                   3, "[node a] has no driver", NULL);
    parse_fails_at("[job]\nmode = bidirectional\n[table t]\n" NODES
                   "[node c]\n",
                   8, "[node c] has no driver", NULL);
}
END_TEST

START_TEST(test_config_no_job_section)
{
    parse_fails_at(NODES "[table t]\n", 0, "no [job] section", NULL);
    parse_fails_at("", 0, "no [job] section", NULL);
}
END_TEST

START_TEST(test_config_no_mode)
{
    parse_fails_at("\n[job]\nsource = a\n" NODES "[table t]\n", 2,
                   "[job] has no mode", NULL);
}
END_TEST

START_TEST(test_config_missing_file)
{
    rs_job_cfg_t *cfg = NULL;
    rowsync_error_t err;
    char path[PATH_MAX + 32], expect[PATH_MAX + 128];

    snprintf(path, sizeof path, "%s/nope.conf", tmpdir);
    ck_assert_int_eq(rs_job_cfg_parse(&cfg, path, &err), ROWSYNC_EIO);
    ck_assert_int_eq(err.code, ROWSYNC_EIO);
    ck_assert_ptr_null(cfg);
    snprintf(expect, sizeof expect, "cannot open job file %s: %s", path,
             strerror(ENOENT));
    ck_assert_str_eq(err.message, expect);
    /* a directory opens but cannot be read */
    ck_assert_int_eq(rs_job_cfg_parse(&cfg, tmpdir, &err), ROWSYNC_EIO);
    ck_assert_ptr_nonnull(strstr(err.message, tmpdir));
    ck_assert_ptr_null(cfg);
    /* err may be NULL */
    ck_assert_int_eq(rs_job_cfg_parse(&cfg, path, NULL), ROWSYNC_EIO);
}
END_TEST

/* ---- durations ------------------------------------------------------------
 */

static int64_t duration(const char *text)
{
    int64_t us = -42;

    ck_assert_msg(rs_parse_duration(text, &us) == 0, "'%s' rejected", text);
    return us;
}

START_TEST(test_config_duration_units)
{
    ck_assert(duration("5s") == INT64_C(5000000));
    ck_assert(duration("250ms") == 250000);
    ck_assert(duration("2m") == INT64_C(120000000));
    ck_assert(duration("1h") == INT64_C(3600000000));
    ck_assert(duration("100us") == 100);
    ck_assert(duration("7") == INT64_C(7000000));
    ck_assert(duration("0") == 0);
    ck_assert(duration("1.5s") == INT64_C(1500000));
    ck_assert(duration("0.25") == 250000);
    ck_assert(duration("1.5h") == INT64_C(5400000000));
    ck_assert(duration("0.0015ms") == 1);
    ck_assert(duration("10 s") == INT64_C(10000000));
    ck_assert(duration("2562047788h") == INT64_C(2562047788) * 3600000000);
}
END_TEST

START_TEST(test_config_duration_rejects_garbage)
{
    static const char *const bad[] = {"",
                                      "s",
                                      "-5s",
                                      "+5s",
                                      "5x",
                                      "5 sec",
                                      "1.s",
                                      ".5s",
                                      "5s5",
                                      "1e3",
                                      "9223372036854775808",
                                      "2562047789h",
                                      "99999999999999999999"};
    size_t i;
    int64_t us = -42;

    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_msg(rs_parse_duration(bad[i], &us) == ROWSYNC_EINVAL,
                      "'%s' accepted", bad[i]);
        ck_assert(us == -42);
    }
    ck_assert_int_eq(rs_parse_duration(NULL, &us), ROWSYNC_EINVAL);
}
END_TEST

/* ---- util and error ---------------------------------------------------------
 */

struct log_capture {
    int calls;
    int level;
    char text[2048];
};

static void capture_log(void *ud, int level, const char *message)
{
    struct log_capture *c = ud;

    c->calls++;
    c->level = level;
    snprintf(c->text, sizeof c->text, "%s", message);
}

static void capture_out(void *ud, const char *line)
{
    capture_log(ud, -1, line);
}

START_TEST(test_util_log_filters_by_level)
{
    struct rowsync_ctx ctx;
    struct log_capture c;
    char longer[1500];

    memset(&ctx, 0, sizeof ctx);
    memset(&c, 0, sizeof c);
    rs_log(&ctx, ROWSYNC_LOG_ERROR, "no callback: %d", 1);
    rs_log(NULL, ROWSYNC_LOG_ERROR, "no context");
    ctx.log = capture_log;
    ctx.log_ud = &c;
    ctx.log_max = ROWSYNC_LOG_INFO;
    rs_log(&ctx, ROWSYNC_LOG_DEBUG, "too detailed");
    ck_assert_int_eq(c.calls, 0);
    rs_log(&ctx, ROWSYNC_LOG_WARN, "node %s: %d rows", "a", 3);
    ck_assert_int_eq(c.calls, 1);
    ck_assert_int_eq(c.level, ROWSYNC_LOG_WARN);
    ck_assert_str_eq(c.text, "node a: 3 rows");
    /* longer than the internal stack buffer: still whole */
    memset(longer, 'y', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    rs_log(&ctx, ROWSYNC_LOG_INFO, "%s!", longer);
    ck_assert_uint_eq(strlen(c.text), sizeof longer);
    ck_assert_int_eq(c.text[sizeof longer - 1], '!');
}
END_TEST

START_TEST(test_util_output_and_stop)
{
    struct rowsync_ctx ctx;
    struct log_capture c;
    volatile sig_atomic_t flag = 0;

    memset(&ctx, 0, sizeof ctx);
    memset(&c, 0, sizeof c);
    rs_out(&ctx, "dropped");
    ctx.output = capture_out;
    ctx.output_ud = &c;
    rs_out(&ctx, "%s: %d pending", "items", 12);
    ck_assert_int_eq(c.calls, 1);
    ck_assert_str_eq(c.text, "items: 12 pending");
    ck_assert_int_eq(rs_stop_requested(NULL), 0);
    ck_assert_int_eq(rs_stop_requested(&ctx), 0);
    ctx.stop = &flag;
    ck_assert_int_eq(rs_stop_requested(&ctx), 0);
    flag = 1;
    ck_assert_int_eq(rs_stop_requested(&ctx), 1);
}
END_TEST

START_TEST(test_util_strings)
{
    char *s;

    s = rs_strdup("abc");
    ck_assert_str_eq(s, "abc");
    free(s);
    ck_assert_ptr_null(rs_strdup(NULL));
    s = rs_strndup("abcdef", 3);
    ck_assert_str_eq(s, "abc");
    free(s);
    s = rs_strndup("ab\0cd", 5);
    ck_assert_str_eq(s, "ab");
    free(s);
    s = rs_sprintf("%s-%d-%05.1f", "x", -7, 2.25);
    ck_assert_str_eq(s, "x--7-002.2");
    free(s);
    s = rs_sprintf("%s", "");
    ck_assert_str_eq(s, "");
    free(s);
}
END_TEST

START_TEST(test_util_clock)
{
    int64_t a = rs_now_us(), b = rs_now_us();

    /* after 2020-01-01 and not going backwards between two calls here */
    ck_assert(a > INT64_C(1577836800000000));
    ck_assert(b >= a);
}
END_TEST

START_TEST(test_error_set_and_names)
{
    rowsync_error_t err;
    int codes[] = {ROWSYNC_OK,         ROWSYNC_DONE,        ROWSYNC_DROPPED,
                   ROWSYNC_ERROR,      ROWSYNC_ENOMEM,      ROWSYNC_EINVAL,
                   ROWSYNC_ENOTFOUND,  ROWSYNC_ENOTSUP,     ROWSYNC_ECONN,
                   ROWSYNC_ETRANSIENT, ROWSYNC_ECONSTRAINT, ROWSYNC_EABI,
                   ROWSYNC_ELOCKED,    ROWSYNC_ECONVERT,    ROWSYNC_EIO};
    size_t i, j, n = sizeof codes / sizeof codes[0];

    err.native = 19;
    memcpy(err.sqlstate, "23505", 6);
    ck_assert_int_eq(
        rowsync_error_set(&err, ROWSYNC_ECONN, "node %s: %d", "a", 5),
        ROWSYNC_ECONN);
    ck_assert_int_eq(err.code, ROWSYNC_ECONN);
    ck_assert_int_eq(err.native, 0);
    ck_assert_str_eq(err.sqlstate, "");
    ck_assert_str_eq(err.message, "node a: 5");
    /* arguments may come from the message itself */
    rowsync_error_set(&err, ROWSYNC_ERROR, "again: %s", err.message);
    ck_assert_str_eq(err.message, "again: node a: 5");
    ck_assert_int_eq(rowsync_error_set(NULL, ROWSYNC_EIO, "x"), ROWSYNC_EIO);

    ck_assert_str_eq(rowsync_strerror(ROWSYNC_ECONN), "connection");
    ck_assert_str_eq(rowsync_strerror(12345), "unknown status");
    for (i = 0; i < n; i++)
        for (j = i + 1; j < n; j++)
            ck_assert_str_ne(rowsync_strerror(codes[i]),
                             rowsync_strerror(codes[j]));
    ck_assert_str_eq(rowsync_version(), PACKAGE_VERSION);
}
END_TEST

START_TEST(test_error_prefix)
{
    rowsync_error_t err;
    char big[3000];

    rowsync_error_set(&err, ROWSYNC_ECONSTRAINT, "duplicate key");
    err.native = 2627;
    memcpy(err.sqlstate, "23000", 6);
    rowsync_error_prefix(&err, "node %s, table %s", "b", "items");
    ck_assert_str_eq(err.message, "node b, table items: duplicate key");
    ck_assert_int_eq(err.code, ROWSYNC_ECONSTRAINT);
    ck_assert_int_eq(err.native, 2627);
    ck_assert_str_eq(err.sqlstate, "23000");
    rowsync_error_prefix(NULL, "ignored");

    /* a prefix longer than the buffer: cut, terminated, valid UTF-8 */
    memset(big, 'p', sizeof big);
    memcpy(big + ROWSYNC_ERROR_MESSAGE_MAX - 2, "\xc3\xa9\xc3\xa9", 4);
    big[sizeof big - 1] = '\0';
    rowsync_error_prefix(&err, "%s", big);
    /* the prefix lost its cut "\xc3", then ": " was cut to ":" */
    ck_assert_uint_eq(strlen(err.message), ROWSYNC_ERROR_MESSAGE_MAX - 1);
    ck_assert_int_eq(err.message[ROWSYNC_ERROR_MESSAGE_MAX - 3], 'p');
    ck_assert_int_eq(err.message[ROWSYNC_ERROR_MESSAGE_MAX - 2], ':');
    ck_assert_int_eq(err.code, ROWSYNC_ECONSTRAINT);
    /* an empty message gets the prefix alone */
    rowsync_error_set(&err, ROWSYNC_ERROR, "%s", "");
    rowsync_error_prefix(&err, "context");
    ck_assert_str_eq(err.message, "context");
}
END_TEST

static Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc;

    tc = tcase_create("valid files");
    tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
    tcase_add_test(tc, test_config_bidirectional_model);
    tcase_add_test(tc, test_config_one_way_defaults);
    tcase_add_test(tc, test_config_bidirectional_without_source);
    tcase_add_test(tc, test_config_inline_comments);
    tcase_add_test(tc, test_config_indented_keys_are_keys);
    tcase_add_test(tc, test_config_crlf_and_bom);
    tcase_add_test(tc, test_config_relative_path_gives_absolute_dir);
    tcase_add_test(tc, test_config_empty_option_value_is_kept);
    tcase_add_test(tc, test_config_zero_lock_timeout_is_allowed);
    suite_add_tcase(s, tc);

    tc = tcase_create("syntax errors");
    tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
    tcase_add_test(tc, test_config_unknown_key);
    tcase_add_test(tc, test_config_unknown_section);
    tcase_add_test(tc, test_config_bad_section_header);
    tcase_add_test(tc, test_config_duplicate_key);
    tcase_add_test(tc, test_config_duplicate_node);
    tcase_add_test(tc, test_config_duplicate_table);
    tcase_add_test(tc, test_config_key_outside_section);
    tcase_add_test(tc, test_config_line_without_equals);
    tcase_add_test(tc, test_config_empty_value);
    tcase_add_test(tc, test_config_line_too_long);
    suite_add_tcase(s, tc);

    tc = tcase_create("value errors");
    tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
    tcase_add_test(tc, test_config_bad_mode);
    tcase_add_test(tc, test_config_bad_interval);
    tcase_add_test(tc, test_config_bad_lock_timeout);
    tcase_add_test(tc, test_config_bad_batch_size);
    tcase_add_test(tc, test_config_unsupported_conflict_rule);
    tcase_add_test(tc, test_config_both_password_keys);
    tcase_add_test(tc, test_config_password_in_job_file);
    tcase_add_test(tc, test_config_bad_names);
    tcase_add_test(tc, test_config_bad_column_lists);
    suite_add_tcase(s, tc);

    tc = tcase_create("job checks");
    tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
    tcase_add_test(tc, test_config_one_way_without_source);
    tcase_add_test(tc, test_config_source_names_no_node);
    tcase_add_test(tc, test_config_source_error_is_checked_for_bidirectional);
    tcase_add_test(tc, test_config_fewer_than_two_nodes);
    tcase_add_test(tc, test_config_bidirectional_three_nodes);
    tcase_add_test(tc, test_config_no_table);
    tcase_add_test(tc, test_config_node_without_driver);
    tcase_add_test(tc, test_config_no_job_section);
    tcase_add_test(tc, test_config_no_mode);
    tcase_add_test(tc, test_config_missing_file);
    suite_add_tcase(s, tc);

    tc = tcase_create("table shapes and filters");
    tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
    tcase_add_test(tc, test_config_table_node_model);
    tcase_add_test(tc, test_config_leaving_defaults_to_delete);
    tcase_add_test(tc, test_config_filter_error_has_line_and_column);
    tcase_add_test(tc, test_config_table_node_errors);
    tcase_add_test(tc, test_config_plugin_sections_and_chains);
    tcase_add_test(tc, test_config_plugin_errors);
    suite_add_tcase(s, tc);

    tc = tcase_create("durations");
    tcase_add_test(tc, test_config_duration_units);
    tcase_add_test(tc, test_config_duration_rejects_garbage);
    suite_add_tcase(s, tc);
    return s;
}

static Suite *util_suite(void)
{
    Suite *s = suite_create("util");
    TCase *tc;

    tc = tcase_create("reporting");
    tcase_add_test(tc, test_util_log_filters_by_level);
    tcase_add_test(tc, test_util_output_and_stop);
    suite_add_tcase(s, tc);

    tc = tcase_create("helpers");
    tcase_add_test(tc, test_util_strings);
    tcase_add_test(tc, test_util_clock);
    suite_add_tcase(s, tc);

    tc = tcase_create("error record");
    tcase_add_test(tc, test_error_set_and_names);
    tcase_add_test(tc, test_error_prefix);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(config_suite());
    int failed;

    srunner_add_suite(sr, util_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
