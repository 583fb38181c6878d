/* Module loader tests: finding, loading and checking driver and plugin
 * modules (librowsync/loader.c), the row API plugins use (row.c), and
 * rowsync_modules_list. The fake modules are real shared objects built in
 * tests/fixtures (see fixture_driver.c); $ROWSYNC_FIXTURE_DIR points there.
 *
 * loader.c, row.c and the helpers are linked into this program directly,
 * so the hidden rs_* functions are callable; the context is built by hand
 * because rowsync_ctx_new lives in job.c, which is not linked here.
 */
#include <config.h>

#include <check.h>
#include <dirent.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "loader.h"
#include "row.h"

#define ASSERT_HAS(text, want)                                                 \
    ck_assert_msg(strstr((text), (want)) != NULL, "expected \"%s\" in \"%s\"", \
                  (want), (text))
#define ASSERT_LACKS(text, unwanted)                                           \
    ck_assert_msg(strstr((text), (unwanted)) == NULL,                          \
                  "did not expect \"%s\" in \"%s\"", (unwanted), (text))

/* ---- helpers ---------------------------------------------------------- */

/* The build's tests/fixtures directory (where the .la files are). */
static const char *fixture_dir(void)
{
    const char *dir = getenv("ROWSYNC_FIXTURE_DIR");

    ck_assert_msg(dir != NULL && dir[0] != '\0',
                  "ROWSYNC_FIXTURE_DIR is not set (run through make check)");
    return dir;
}

/* A fixture's shared object, as libtool built it (.libs/NAME.so). */
static char *fixture_so(const char *name)
{
    char *path = rs_sprintf("%s/.libs/%s.so", fixture_dir(), name);

    ck_assert_ptr_nonnull(path);
    return path;
}

/* A context whose --module-path is path (may be NULL). */
static rowsync_ctx_t *ctx_new(const char *path)
{
    rowsync_ctx_t *ctx = calloc(1, sizeof(*ctx));

    ck_assert_ptr_nonnull(ctx);
    if (path != NULL) {
        ctx->module_path = rs_strdup(path);
        ck_assert_ptr_nonnull(ctx->module_path);
    }
    return ctx;
}

static void ctx_free(rowsync_ctx_t *ctx)
{
    rs_modules_unload(ctx);
    free(ctx->module_path);
    free(ctx);
}

/* A fresh empty directory under /tmp. */
static char *make_tmpdir(void)
{
    char *dir = rs_strdup("/tmp/rowsync-loader-XXXXXX");

    ck_assert_ptr_nonnull(dir);
    ck_assert_ptr_nonnull(mkdtemp(dir));
    return dir;
}

/* Removes a directory made by make_tmpdir and the files in it. */
static void remove_tmpdir(char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;

    if (d != NULL) {
        while ((de = readdir(d)) != NULL) {
            char *path;

            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            path = rs_sprintf("%s/%s", dir, de->d_name);
            if (path != NULL)
                unlink(path);
            free(path);
        }
        closedir(d);
    }
    rmdir(dir);
    free(dir);
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");

    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
}

/* Copies src to dir/name (a real copy: a different file to dlopen). */
static void copy_file(const char *src, const char *dir, const char *name)
{
    char buf[8192];
    char *dst = rs_sprintf("%s/%s", dir, name);
    FILE *in = fopen(src, "rb"), *out;
    size_t n;

    ck_assert_ptr_nonnull(dst);
    ck_assert_msg(in != NULL, "cannot open %s", src);
    out = fopen(dst, "wb");
    ck_assert_ptr_nonnull(out);
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
        ck_assert_uint_eq(fwrite(buf, 1, n, out), n);
    fclose(in);
    ck_assert_int_eq(fclose(out), 0);
    free(dst);
}

/* Copies fixture `fixture`'s shared object into dir as NAME.so. */
static void copy_fixture(const char *fixture, const char *dir, const char *name)
{
    char *so = fixture_so(fixture);
    char *file = rs_sprintf("%s.so", name);

    copy_file(so, dir, file);
    free(file);
    free(so);
}

/* Writes a file of garbage named name.so into dir. */
static void write_broken_so(const char *dir, const char *name)
{
    char junk[256];
    char *path = rs_sprintf("%s/%s.so", dir, name);
    size_t i;

    for (i = 0; i < sizeof(junk); i++)
        junk[i] = (char)('a' + i % 26);
    write_file(path, junk, sizeof(junk));
    free(path);
}

/* Loads driver name with --module-path path; returns the status and
 * leaves the message in err. */
static int try_driver(const char *path, const char *name, rowsync_error_t *err)
{
    rowsync_ctx_t *ctx = ctx_new(path);
    const rowsync_driver_t *drv = NULL;
    int rc;

    memset(err, 0, sizeof(*err));
    rc = rs_driver_load(ctx, name, &drv, err);
    if (rc != 0)
        ck_assert_ptr_null(drv);
    ctx_free(ctx);
    return rc;
}

/* Every test starts without the search path of the environment. */
static void setup_env(void)
{
    unsetenv("ROWSYNC_MODULE_PATH");
    unsetenv("ROWSYNC_RESIDENT_MODULES");
}

/* ---- loading a good module ------------------------------------------- */

START_TEST(test_good_driver_loads)
{
    rowsync_ctx_t *ctx = ctx_new(fixture_dir());
    const rowsync_driver_t *drv = NULL;
    rowsync_error_t err;
    rowsync_conn_t *conn = NULL;
    rowsync_node_config_t cfg;

    memset(&err, 0, sizeof(err));
    ck_assert_int_eq(rs_driver_load(ctx, "good_driver", &drv, &err), 0);
    ck_assert_ptr_nonnull(drv);
    ck_assert_uint_eq(drv->abi.major, ROWSYNC_DRIVER_ABI_MAJOR);
    ck_assert_uint_eq(drv->abi.minor, ROWSYNC_DRIVER_ABI_MINOR);
    ck_assert_str_eq(drv->name, "good_driver");
    ck_assert_str_eq(drv->version, "0.0-fixture");
    ck_assert_ptr_nonnull(drv->history_count);
    /* The table is live: its functions can be called. */
    memset(&cfg, 0, sizeof(cfg));
    cfg.node = "a";
    ck_assert_int_eq(drv->connect(&conn, &cfg, &err), ROWSYNC_ENOTSUP);
    ck_assert_ptr_null(conn);
    ck_assert_ptr_nonnull(ctx->modules);
    ctx_free(ctx);
}
END_TEST

START_TEST(test_second_load_returns_same_table)
{
    rowsync_ctx_t *ctx = ctx_new(fixture_dir());
    const rowsync_driver_t *a = NULL, *b = NULL;
    const rowsync_plugin_t *p = NULL, *q = NULL;
    rowsync_error_t err;

    ck_assert_int_eq(rs_driver_load(ctx, "good_driver", &a, &err), 0);
    ck_assert_int_eq(rs_driver_load(ctx, "good_driver", &b, &err), 0);
    ck_assert_ptr_eq(a, b);
    ck_assert_int_eq(rs_plugin_load(ctx, "good_plugin", &p, &err), 0);
    ck_assert_int_eq(rs_plugin_load(ctx, "good_plugin", &q, &err), 0);
    ck_assert_ptr_eq(p, q);
    ck_assert_ptr_ne((const void *)a, (const void *)p);
    ctx_free(ctx);
}
END_TEST

START_TEST(test_unload_closes_modules)
{
    rowsync_ctx_t *ctx = ctx_new(fixture_dir());
    const rowsync_driver_t *drv = NULL;
    rowsync_error_t err;
    char *so = fixture_so("good_driver");
    void *h;

    h = dlopen(so, RTLD_LAZY | RTLD_NOLOAD);
    ck_assert_ptr_null(h);
    ck_assert_int_eq(rs_driver_load(ctx, "good_driver", &drv, &err), 0);
    h = dlopen(so, RTLD_LAZY | RTLD_NOLOAD);
    ck_assert_ptr_nonnull(h);
    dlclose(h);
    rs_modules_unload(ctx);
    ck_assert_ptr_null(ctx->modules);
    h = dlopen(so, RTLD_LAZY | RTLD_NOLOAD);
    ck_assert_msg(h == NULL, "%s is still loaded after rs_modules_unload", so);
    /* A context can load again after unloading. */
    ck_assert_int_eq(rs_driver_load(ctx, "good_driver", &drv, &err), 0);
    ctx_free(ctx);
    free(so);
}
END_TEST

START_TEST(test_resident_modules_stay_mapped)
{
    char *dir = make_tmpdir();
    rowsync_ctx_t *ctx = ctx_new(dir);
    const rowsync_driver_t *drv = NULL;
    rowsync_error_t err;
    rowsync_node_config_t cfg;
    rowsync_conn_t *conn = NULL;
    int (*connect)(rowsync_conn_t **, const rowsync_node_config_t *,
                   rowsync_error_t *);
    char *so = rs_sprintf("%s/good_driver.so", dir);
    void *h;

    /* A copy of its own, so that it staying loaded cannot change what
     * other tests see when they run in the same process (CK_FORK=no). */
    copy_fixture("good_driver", dir, "good_driver");
    setenv("ROWSYNC_RESIDENT_MODULES", "1", 1);
    ck_assert_int_eq(rs_driver_load(ctx, "good_driver", &drv, &err), 0);
    connect = drv->connect;
    rs_modules_unload(ctx);
    ck_assert_ptr_null(ctx->modules);
    h = dlopen(so, RTLD_LAZY | RTLD_NOLOAD);
    ck_assert_msg(h != NULL, "resident module %s was unmapped", so);
    dlclose(h);
    /* Its code is still there to call (and to symbolize). */
    memset(&cfg, 0, sizeof(cfg));
    cfg.node = "a";
    ck_assert_int_eq(connect(&conn, &cfg, &err), ROWSYNC_ENOTSUP);
    ctx_free(ctx);
    free(so);
    remove_tmpdir(dir);
}
END_TEST

/* ---- each error class ------------------------------------------------- */

START_TEST(test_not_found_lists_every_directory)
{
    rowsync_error_t err;
    char want[2048];

    setenv("ROWSYNC_MODULE_PATH", "/nonexistent/c::/nonexistent/d/", 1);
    ck_assert_int_eq(
        try_driver("/nonexistent/a:/nonexistent/b", "nosuch", &err),
        ROWSYNC_ENOTFOUND);
    ck_assert_int_eq(err.code, ROWSYNC_ENOTFOUND);
    snprintf(want, sizeof(want),
             "driver 'nosuch' not found; searched: /nonexistent/a, "
             "/nonexistent/b, /nonexistent/c, /nonexistent/d, %s (set "
             "--module-path or ROWSYNC_MODULE_PATH)",
             ROWSYNC_DRIVERDIR);
    ck_assert_str_eq(err.message, want);
}
END_TEST

START_TEST(test_plugin_not_found_names_plugin_dir)
{
    rowsync_ctx_t *ctx = ctx_new("/nonexistent/a");
    const rowsync_plugin_t *p = NULL;
    rowsync_error_t err;
    char want[2048];

    ck_assert_int_eq(rs_plugin_load(ctx, "nosuch", &p, &err),
                     ROWSYNC_ENOTFOUND);
    snprintf(want, sizeof(want),
             "plugin 'nosuch' not found; searched: /nonexistent/a, %s (set "
             "--module-path or ROWSYNC_MODULE_PATH)",
             ROWSYNC_PLUGINDIR);
    ck_assert_str_eq(err.message, want);
    ck_assert_ptr_null(p);
    ctx_free(ctx);
}
END_TEST

START_TEST(test_found_but_not_loadable)
{
    char *dir = make_tmpdir();
    rowsync_error_t err;
    char want[1024];

    write_broken_so(dir, "broken");
    ck_assert_int_eq(try_driver(dir, "broken", &err), ROWSYNC_ERROR);
    snprintf(want, sizeof(want),
             "driver 'broken' found at %s/broken.so but could not be "
             "loaded: ",
             dir);
    ASSERT_HAS(err.message, want);
    /* The system's reason, not libltdl's useless "file not found". */
    ASSERT_LACKS(err.message, "file not found");
    ASSERT_HAS(err.message + strlen(want), "broken.so");
    remove_tmpdir(dir);
}
END_TEST

START_TEST(test_broken_libtool_archive)
{
    static const char la[] = "# not really a libtool archive\n";
    char *dir = make_tmpdir();
    char *path = rs_sprintf("%s/broken.la", dir);
    rowsync_error_t err;
    char want[1024];

    write_file(path, la, sizeof(la) - 1);
    ck_assert_int_eq(try_driver(dir, "broken", &err), ROWSYNC_ERROR);
    snprintf(want, sizeof(want),
             "driver 'broken' found at %s/broken.la but could not be "
             "loaded: ",
             dir);
    ASSERT_HAS(err.message, want);
    ASSERT_HAS(err.message, "names no shared object");
    free(path);
    remove_tmpdir(dir);
}
END_TEST

START_TEST(test_no_entry_symbol)
{
    rowsync_error_t err;
    char want[1024];

    ck_assert_int_eq(try_driver(fixture_dir(), "no_entry", &err), ROWSYNC_EABI);
    snprintf(want, sizeof(want),
             "driver 'no_entry' found at %s/no_entry.la has no "
             "rowsync_driver_entry (is it a rowsync driver? a plugin?)",
             fixture_dir());
    ck_assert_str_eq(err.message, want);
}
END_TEST

START_TEST(test_plugin_is_not_a_driver)
{
    rowsync_ctx_t *ctx = ctx_new(fixture_dir());
    const rowsync_plugin_t *p = NULL;
    rowsync_error_t err;
    char want[1024];

    ck_assert_int_eq(try_driver(fixture_dir(), "good_plugin", &err),
                     ROWSYNC_EABI);
    snprintf(want, sizeof(want),
             "driver 'good_plugin' found at %s/good_plugin.la has no "
             "rowsync_driver_entry: it is a rowsync plugin, not a driver",
             fixture_dir());
    ck_assert_str_eq(err.message, want);
    /* And the other way round. */
    ck_assert_int_eq(rs_plugin_load(ctx, "good_driver", &p, &err),
                     ROWSYNC_EABI);
    ASSERT_HAS(err.message, "plugin 'good_driver' found at ");
    ASSERT_HAS(err.message, "has no rowsync_plugin_entry: it is a rowsync "
                            "driver, not a plugin");
    ck_assert_ptr_null(ctx->modules);
    ctx_free(ctx);
}
END_TEST

START_TEST(test_entry_refuses_host)
{
    rowsync_error_t err;
    char want[1024];

    ck_assert_int_eq(try_driver(fixture_dir(), "refuses_host", &err),
                     ROWSYNC_EABI);
    snprintf(want, sizeof(want),
             "driver 'refuses_host' (%s/refuses_host.la) refused this "
             "rowsync, which provides driver ABI %d.%d",
             fixture_dir(), ROWSYNC_DRIVER_ABI_MAJOR, ROWSYNC_DRIVER_ABI_MINOR);
    ASSERT_HAS(err.message, want);
    ASSERT_HAS(err.message, "rebuild it");
}
END_TEST

START_TEST(test_major_mismatch_names_both_versions)
{
    rowsync_error_t err;
    char want[1024];

    ck_assert_int_eq(try_driver(fixture_dir(), "bad_major", &err),
                     ROWSYNC_EABI);
    snprintf(want, sizeof(want),
             "driver 'bad_major' (%s/bad_major.la) was built for driver ABI "
             "%d.%d; this rowsync provides %d.%d",
             fixture_dir(), ROWSYNC_DRIVER_ABI_MAJOR + 1,
             ROWSYNC_DRIVER_ABI_MINOR, ROWSYNC_DRIVER_ABI_MAJOR,
             ROWSYNC_DRIVER_ABI_MINOR);
    ASSERT_HAS(err.message, want);
}
END_TEST

START_TEST(test_newer_minor_is_rejected)
{
    rowsync_error_t err;
    char want[1024];

    ck_assert_int_eq(try_driver(fixture_dir(), "newer_minor", &err),
                     ROWSYNC_EABI);
    snprintf(want, sizeof(want),
             "driver 'newer_minor' (%s/newer_minor.la) was built for driver "
             "ABI %d.%d; this rowsync provides %d.%d",
             fixture_dir(), ROWSYNC_DRIVER_ABI_MAJOR,
             ROWSYNC_DRIVER_ABI_MINOR + 1, ROWSYNC_DRIVER_ABI_MAJOR,
             ROWSYNC_DRIVER_ABI_MINOR);
    ASSERT_HAS(err.message, want);
    ASSERT_HAS(err.message, "upgrade rowsync");
}
END_TEST

START_TEST(test_truncated_table_names_first_missing_member)
{
    rowsync_error_t err;
    char want[1024];

    ck_assert_int_eq(try_driver(fixture_dir(), "truncated", &err),
                     ROWSYNC_EABI);
    snprintf(want, sizeof(want),
             "driver 'truncated' (%s/truncated.la) has a truncated table: "
             "struct_size %zu, but driver ABI %d.%d needs %zu bytes "
             "(missing from 'begin' on)",
             fixture_dir(), offsetof(rowsync_driver_t, begin),
             ROWSYNC_DRIVER_ABI_MAJOR, ROWSYNC_DRIVER_ABI_MINOR,
             sizeof(rowsync_driver_t));
    ck_assert_str_eq(err.message, want);
}
END_TEST

START_TEST(test_null_required_member)
{
    char *dir = make_tmpdir();
    rowsync_error_t err;
    char want[1024];

    /* truncated.so also exports a plain rowsync_driver_entry whose table
     * leaves commit (required) and history_count (optional) NULL; under
     * another file name libltdl falls back to that plain entry. */
    copy_fixture("truncated", dir, "null_member");
    ck_assert_int_eq(try_driver(dir, "null_member", &err), ROWSYNC_EABI);
    snprintf(want, sizeof(want),
             "driver 'null_member' (%s/null_member.so) leaves required "
             "member(s) of driver ABI %d.%d NULL: commit",
             dir, ROWSYNC_DRIVER_ABI_MAJOR, ROWSYNC_DRIVER_ABI_MINOR);
    ck_assert_str_eq(err.message, want);
    remove_tmpdir(dir);
}
END_TEST

START_TEST(test_invalid_module_name)
{
    rowsync_error_t err;

    ck_assert_int_eq(try_driver(fixture_dir(), "../fixtures/good_driver", &err),
                     ROWSYNC_EINVAL);
    ASSERT_HAS(err.message, "invalid driver name '../fixtures/good_driver'");
    ck_assert_int_eq(try_driver(fixture_dir(), "", &err), ROWSYNC_EINVAL);
}
END_TEST

/* ---- search order ----------------------------------------------------- */

/* The connect function of the good_driver found with --module-path path
 * (and the environment as it is): it tells which copy was loaded. */
static void *which_copy(const char *path)
{
    rowsync_ctx_t *ctx = ctx_new(path);
    const rowsync_driver_t *drv = NULL;
    rowsync_error_t err;
    void *fn;

    memset(&err, 0, sizeof(err));
    ck_assert_msg(rs_driver_load(ctx, "good_driver", &drv, &err) == 0, "%s",
                  err.message);
    memcpy(&fn, &drv->connect, sizeof(fn));
    ctx_free(ctx);
    return fn;
}

START_TEST(test_search_order)
{
    char *a = make_tmpdir(), *b = make_tmpdir();
    char *ab = rs_sprintf("%s:%s", a, b), *ba = rs_sprintf("%s:%s", b, a);
    rowsync_ctx_t *keep_a = ctx_new(a), *keep_b = ctx_new(b);
    const rowsync_driver_t *da, *db;
    rowsync_error_t err;
    void *fa, *fb;

    /* Two copies of the same module: different files, different code
     * addresses. Keeping both loaded keeps those addresses stable. */
    copy_fixture("good_driver", a, "good_driver");
    copy_fixture("good_driver", b, "good_driver");
    ck_assert_int_eq(rs_driver_load(keep_a, "good_driver", &da, &err), 0);
    ck_assert_int_eq(rs_driver_load(keep_b, "good_driver", &db, &err), 0);
    memcpy(&fa, &da->connect, sizeof(fa));
    memcpy(&fb, &db->connect, sizeof(fb));
    ck_assert_ptr_ne(fa, fb);

    /* Within one path, the first directory wins. */
    ck_assert_ptr_eq(which_copy(ab), fa);
    ck_assert_ptr_eq(which_copy(ba), fb);
    /* --module-path beats $ROWSYNC_MODULE_PATH. */
    setenv("ROWSYNC_MODULE_PATH", b, 1);
    ck_assert_ptr_eq(which_copy(a), fa);
    setenv("ROWSYNC_MODULE_PATH", a, 1);
    ck_assert_ptr_eq(which_copy(b), fb);
    /* $ROWSYNC_MODULE_PATH alone, in its own order. */
    setenv("ROWSYNC_MODULE_PATH", ab, 1);
    ck_assert_ptr_eq(which_copy(NULL), fa);
    setenv("ROWSYNC_MODULE_PATH", ba, 1);
    ck_assert_ptr_eq(which_copy(NULL), fb);
    /* A directory with no such module is passed over. */
    ck_assert_ptr_eq(which_copy("/nonexistent"), fb);

    ctx_free(keep_a);
    ctx_free(keep_b);
    free(ab);
    free(ba);
    remove_tmpdir(a);
    remove_tmpdir(b);
}
END_TEST

START_TEST(test_first_found_wins_even_if_broken)
{
    char *bad = make_tmpdir();
    rowsync_error_t err;
    char want[1024];

    /* The install directory is searched after $ROWSYNC_MODULE_PATH; the
     * not-found test shows the order. Here: the first directory that has
     * the module decides, even when its copy cannot be loaded. */
    write_broken_so(bad, "good_driver");
    setenv("ROWSYNC_MODULE_PATH", fixture_dir(), 1);
    ck_assert_int_eq(try_driver(bad, "good_driver", &err), ROWSYNC_ERROR);
    snprintf(want, sizeof(want), "found at %s/good_driver.so but could not",
             bad);
    ASSERT_HAS(err.message, want);
    setenv("ROWSYNC_MODULE_PATH", bad, 1);
    ck_assert_int_eq(try_driver(fixture_dir(), "good_driver", &err), 0);
    remove_tmpdir(bad);
}
END_TEST

/* ---- plugins and the row API ----------------------------------------- */

/* A row of table items: id (key, INT), name (TEXT), note (TEXT). */
static rowsync_row_t *items_row(const char *name)
{
    static const char *const cols[] = {"id", "name", "note"};
    rowsync_value_t vals[3];
    rowsync_row_t *row = NULL;
    rowsync_error_t err;

    memset(vals, 0, sizeof(vals));
    vals[0].type = ROWSYNC_TYPE_INT;
    vals[0].u.i = 7;
    vals[1].type = ROWSYNC_TYPE_TEXT;
    vals[1].u.bytes.ptr = name;
    vals[1].u.bytes.len = strlen(name);
    vals[2].type = ROWSYNC_TYPE_NULL;
    ck_assert_int_eq(rs_row_new(&row, ROWSYNC_OP_UPDATE, "items", "a", "b", 3,
                                cols, vals, 1, &err),
                     0);
    return row;
}

static void assert_text(const rowsync_row_t *row, const char *column,
                        const char *want)
{
    const rowsync_value_t *v = rowsync_row_get(row, column);

    ck_assert_ptr_nonnull(v);
    ck_assert_int_eq(v->type, ROWSYNC_TYPE_TEXT);
    ck_assert_uint_eq(v->u.bytes.len, strlen(want));
    ck_assert_int_eq(memcmp(v->u.bytes.ptr, want, strlen(want)), 0);
}

START_TEST(test_plugin_transforms_row)
{
    rowsync_ctx_t *ctx = ctx_new(fixture_dir());
    const rowsync_plugin_t *p = NULL;
    rowsync_plugin_instance_t *inst = NULL;
    rowsync_option_t opt = {"column", "name"};
    rowsync_row_t *row = items_row("alice o'hara");
    rowsync_error_t err;

    ck_assert_int_eq(rs_plugin_load(ctx, "good_plugin", &p, &err), 0);
    ck_assert_str_eq(p->name, "good_plugin");
    ck_assert_uint_eq(p->abi.major, ROWSYNC_PLUGIN_ABI_MAJOR);
    ck_assert_int_eq(p->create(&inst, 1, &opt, &err), 0);
    ck_assert_int_eq(p->transform(inst, row, &err), 0);
    assert_text(row, "name", "ALICE O'HARA");
    ck_assert_int_eq(rowsync_row_get(row, "id")->u.i, 7);
    ck_assert_int_eq(rowsync_row_get(row, "note")->type, ROWSYNC_TYPE_NULL);
    rs_row_free(row);

    row = items_row("drop");
    ck_assert_int_eq(p->transform(inst, row, &err), ROWSYNC_DROPPED);
    rs_row_free(row);
    p->destroy(inst);
    ctx_free(ctx);
}
END_TEST

START_TEST(test_plugin_cannot_change_key)
{
    static const char *const cols[] = {"code", "name"};
    rowsync_ctx_t *ctx = ctx_new(fixture_dir());
    const rowsync_plugin_t *p = NULL;
    rowsync_plugin_instance_t *inst = NULL;
    rowsync_option_t opt = {"column", "code"};
    rowsync_value_t vals[2];
    rowsync_row_t *row = NULL;
    rowsync_error_t err;

    memset(vals, 0, sizeof(vals));
    vals[0].type = ROWSYNC_TYPE_TEXT;
    vals[0].u.bytes.ptr = "abc";
    vals[0].u.bytes.len = 3;
    ck_assert_int_eq(rs_row_new(&row, ROWSYNC_OP_INSERT, "codes", "a", "b", 2,
                                cols, vals, 1, &err),
                     0);
    ck_assert_int_eq(rs_plugin_load(ctx, "good_plugin", &p, &err), 0);
    ck_assert_int_eq(p->create(&inst, 1, &opt, &err), 0);
    ck_assert_int_eq(p->transform(inst, row, &err), ROWSYNC_EINVAL);
    ASSERT_HAS(err.message, "cannot set column 'code' of table 'codes'");
    assert_text(row, "code", "abc");
    p->destroy(inst);
    rs_row_free(row);
    ctx_free(ctx);
}
END_TEST

START_TEST(test_plugin_option_errors)
{
    rowsync_ctx_t *ctx = ctx_new(fixture_dir());
    const rowsync_plugin_t *p = NULL;
    rowsync_plugin_instance_t *inst = NULL;
    rowsync_option_t bad = {"colum", "name"};
    rowsync_error_t err;

    ck_assert_int_eq(rs_plugin_load(ctx, "good_plugin", &p, &err), 0);
    ck_assert_int_eq(p->create(&inst, 0, NULL, &err), ROWSYNC_EINVAL);
    ASSERT_HAS(err.message, "option 'column' is required");
    ck_assert_int_eq(p->create(&inst, 1, &bad, &err), ROWSYNC_EINVAL);
    ASSERT_HAS(err.message, "unknown option 'colum'");
    ck_assert_ptr_null(inst);
    ctx_free(ctx);
}
END_TEST

START_TEST(test_row_accessors)
{
    rowsync_row_t *row = items_row("bob");

    ck_assert_int_eq(rowsync_row_op(row), ROWSYNC_OP_UPDATE);
    ck_assert_str_eq(rowsync_row_table(row), "items");
    ck_assert_str_eq(rowsync_row_from(row), "a");
    ck_assert_str_eq(rowsync_row_to(row), "b");
    ck_assert_uint_eq(rowsync_row_count(row), 3);
    ck_assert_str_eq(rowsync_row_column(row, 0), "id");
    ck_assert_str_eq(rowsync_row_column(row, 2), "note");
    ck_assert_ptr_null(rowsync_row_column(row, 3));
    ck_assert_ptr_null(rowsync_row_get(row, "missing"));
    ck_assert_ptr_null(rowsync_row_get(row, "NAME"));
    ck_assert_uint_eq(rs_row_nkeys(row), 1);
    ck_assert_int_eq(rs_row_values(row)[0].u.i, 7);
    /* Text comes NUL-terminated. */
    ck_assert_str_eq(rowsync_row_get(row, "name")->u.bytes.ptr, "bob");
    rs_row_free(row);
}
END_TEST

START_TEST(test_row_set_copies_and_adds)
{
    rowsync_row_t *row = items_row("bob");
    char buf[16];
    rowsync_value_t v;
    const rowsync_value_t *cur;
    static const char bin[] = {'\x00', '\x01', '\x00'};

    /* The row keeps its own copy of what it was given. */
    strcpy(buf, "carol");
    memset(&v, 0, sizeof(v));
    v.type = ROWSYNC_TYPE_TEXT;
    v.u.bytes.ptr = buf;
    v.u.bytes.len = 5;
    ck_assert_int_eq(rowsync_row_set(row, "name", &v), 0);
    memset(buf, 'x', 5);
    assert_text(row, "name", "carol");
    /* Setting a column from its own value works. */
    cur = rowsync_row_get(row, "name");
    v = *cur;
    v.u.bytes.len = 3;
    ck_assert_int_eq(rowsync_row_set(row, "name", &v), 0);
    assert_text(row, "name", "car");
    /* An unknown column is added at the end. */
    memset(&v, 0, sizeof(v));
    v.type = ROWSYNC_TYPE_BINARY;
    v.u.bytes.ptr = bin;
    v.u.bytes.len = sizeof(bin);
    ck_assert_int_eq(rowsync_row_set(row, "blob", &v), 0);
    ck_assert_uint_eq(rowsync_row_count(row), 4);
    ck_assert_str_eq(rowsync_row_column(row, 3), "blob");
    cur = rowsync_row_get(row, "blob");
    ck_assert_uint_eq(cur->u.bytes.len, 3);
    ck_assert_int_eq(memcmp(cur->u.bytes.ptr, bin, 3), 0);
    /* Replacing text by a scalar, and by NULL. */
    memset(&v, 0, sizeof(v));
    v.type = ROWSYNC_TYPE_DOUBLE;
    v.u.d = 2.5;
    ck_assert_int_eq(rowsync_row_set(row, "name", &v), 0);
    ck_assert_int_eq(rowsync_row_get(row, "name")->type, ROWSYNC_TYPE_DOUBLE);
    v.type = ROWSYNC_TYPE_NULL;
    ck_assert_int_eq(rowsync_row_set(row, "blob", &v), 0);
    ck_assert_int_eq(rowsync_row_get(row, "blob")->type, ROWSYNC_TYPE_NULL);
    rs_row_free(row);
}
END_TEST

START_TEST(test_row_set_rejects)
{
    rowsync_row_t *row = items_row("bob");
    rowsync_value_t v;

    memset(&v, 0, sizeof(v));
    v.type = ROWSYNC_TYPE_INT;
    v.u.i = 8;
    ck_assert_int_eq(rowsync_row_set(row, "id", &v), ROWSYNC_EINVAL);
    ck_assert_int_eq(rowsync_row_get(row, "id")->u.i, 7);
    ck_assert_int_eq(rowsync_row_set(row, "", &v), ROWSYNC_EINVAL);
    ck_assert_int_eq(rowsync_row_set(row, NULL, &v), ROWSYNC_EINVAL);
    ck_assert_int_eq(rowsync_row_set(row, "name", NULL), ROWSYNC_EINVAL);
    v.type = (rowsync_type_t)99;
    ck_assert_int_eq(rowsync_row_set(row, "name", &v), ROWSYNC_EINVAL);
    assert_text(row, "name", "bob");
    ck_assert_uint_eq(rowsync_row_count(row), 3);
    rs_row_free(row);
}
END_TEST

START_TEST(test_row_new_rejects)
{
    static const char *const dup[] = {"id", "id"};
    rowsync_value_t vals[2];
    rowsync_row_t *row = NULL;
    rowsync_error_t err;

    memset(vals, 0, sizeof(vals));
    ck_assert_int_eq(rs_row_new(&row, ROWSYNC_OP_INSERT, "t", NULL, NULL, 2,
                                dup, vals, 1, &err),
                     ROWSYNC_EINVAL);
    ASSERT_HAS(err.message, "row of table 't': column 2 is a duplicate");
    ck_assert_int_eq(rs_row_new(&row, ROWSYNC_OP_INSERT, "t", NULL, NULL, 1,
                                dup, vals, 2, &err),
                     ROWSYNC_EINVAL);
    ck_assert_ptr_null(row);
    /* A row with no direction is fine. */
    ck_assert_int_eq(rs_row_new(&row, ROWSYNC_OP_DELETE, "t", NULL, NULL, 1,
                                dup, vals, 1, &err),
                     0);
    ck_assert_ptr_null(rowsync_row_from(row));
    rs_row_free(row);
}
END_TEST

/* ---- rowsync_modules_list -------------------------------------------- */

#define MAX_SEEN 64

struct seen {
    size_t n;
    struct {
        char kind[16], name[64], version[32], path[512], problem[2048];
        unsigned major, minor;
        int has_problem, has_version;
    } m[MAX_SEEN];
};

/* Copies what the callback reports: the strings are valid only during
 * the call. */
static void collect(void *ud, const rowsync_module_info_t *m)
{
    struct seen *s = ud;

    ck_assert_uint_lt(s->n, MAX_SEEN);
    snprintf(s->m[s->n].kind, sizeof(s->m[0].kind), "%s", m->kind);
    snprintf(s->m[s->n].name, sizeof(s->m[0].name), "%s", m->name);
    snprintf(s->m[s->n].path, sizeof(s->m[0].path), "%s", m->path);
    snprintf(s->m[s->n].version, sizeof(s->m[0].version), "%s",
             m->version != NULL ? m->version : "");
    snprintf(s->m[s->n].problem, sizeof(s->m[0].problem), "%s",
             m->problem != NULL ? m->problem : "");
    s->m[s->n].has_problem = m->problem != NULL;
    s->m[s->n].has_version = m->version != NULL;
    s->m[s->n].major = m->abi_major;
    s->m[s->n].minor = m->abi_minor;
    s->n++;
}

/* The entry reported for path, which must be there exactly once. */
static size_t find_seen(const struct seen *s, const char *path)
{
    size_t i, found = MAX_SEEN;

    for (i = 0; i < s->n; i++) {
        if (strcmp(s->m[i].path, path) == 0) {
            ck_assert_msg(found == MAX_SEEN, "%s reported twice", path);
            found = i;
        }
    }
    ck_assert_msg(found < MAX_SEEN, "%s not reported", path);
    return found;
}

START_TEST(test_list_reports_modules_and_problems)
{
    char *tmp = make_tmpdir();
    char *path = rs_sprintf("%s:%s", tmp, fixture_dir());
    rowsync_ctx_t *ctx = ctx_new(path);
    struct seen *s = calloc(1, sizeof(*s));
    rowsync_error_t err;
    char file[1024], want[1024];
    size_t i, first_fixture = MAX_SEEN;

    ck_assert_ptr_nonnull(s);
    copy_fixture("good_driver", tmp, "good_driver");
    write_broken_so(tmp, "broken");
    copy_fixture("good_driver", tmp, "libignored");
    ck_assert_int_eq(rowsync_modules_list(ctx, collect, s, &err), 0);
    ck_assert_ptr_null(ctx->modules);

    /* Path order, then name order within a directory. */
    snprintf(file, sizeof(file), "%s/broken.so", tmp);
    ck_assert_uint_eq(find_seen(s, file), 0);
    snprintf(file, sizeof(file), "%s/good_driver.so", tmp);
    ck_assert_uint_eq(find_seen(s, file), 1);
    for (i = 0; i < s->n; i++)
        ASSERT_LACKS(s->m[i].name, "libignored");

    /* A good driver, found first. */
    i = find_seen(s, file);
    ck_assert_str_eq(s->m[i].kind, "driver");
    ck_assert_str_eq(s->m[i].name, "good_driver");
    ck_assert_str_eq(s->m[i].version, "0.0-fixture");
    ck_assert_uint_eq(s->m[i].major, ROWSYNC_DRIVER_ABI_MAJOR);
    ck_assert_uint_eq(s->m[i].minor, ROWSYNC_DRIVER_ABI_MINOR);
    ck_assert_int_eq(s->m[i].has_problem, 0);

    /* A file that is no shared object. */
    snprintf(file, sizeof(file), "%s/broken.so", tmp);
    i = find_seen(s, file);
    ck_assert_str_eq(s->m[i].kind, "unknown");
    ck_assert_int_eq(s->m[i].has_version, 0);
    ASSERT_HAS(s->m[i].problem, "could not be loaded");

    /* The fixture's good_driver is hidden by the copy. */
    snprintf(file, sizeof(file), "%s/good_driver.la", fixture_dir());
    i = find_seen(s, file);
    snprintf(want, sizeof(want), "shadowed by %s/good_driver.so", tmp);
    ASSERT_HAS(s->m[i].problem, want);
    ck_assert_str_eq(s->m[i].kind, "driver");

    /* The plugin is told apart by its entry. */
    snprintf(file, sizeof(file), "%s/good_plugin.la", fixture_dir());
    i = find_seen(s, file);
    ck_assert_str_eq(s->m[i].kind, "plugin");
    ck_assert_str_eq(s->m[i].version, "0.0-fixture");
    ck_assert_int_eq(s->m[i].has_problem, 0);
    ck_assert_uint_eq(s->m[i].major, ROWSYNC_PLUGIN_ABI_MAJOR);

    /* Each bad fixture with the loader's own message. */
    snprintf(file, sizeof(file), "%s/bad_major.la", fixture_dir());
    i = find_seen(s, file);
    ck_assert_str_eq(s->m[i].kind, "driver");
    ck_assert_uint_eq(s->m[i].major, ROWSYNC_DRIVER_ABI_MAJOR + 1);
    ASSERT_HAS(s->m[i].problem, "was built for driver ABI");
    snprintf(file, sizeof(file), "%s/newer_minor.la", fixture_dir());
    i = find_seen(s, file);
    ck_assert_uint_eq(s->m[i].minor, ROWSYNC_DRIVER_ABI_MINOR + 1);
    ASSERT_HAS(s->m[i].problem, "upgrade rowsync");
    snprintf(file, sizeof(file), "%s/truncated.la", fixture_dir());
    i = find_seen(s, file);
    ASSERT_HAS(s->m[i].problem, "truncated table");
    snprintf(file, sizeof(file), "%s/refuses_host.la", fixture_dir());
    i = find_seen(s, file);
    ASSERT_HAS(s->m[i].problem, "refused this rowsync");
    snprintf(file, sizeof(file), "%s/no_entry.la", fixture_dir());
    i = find_seen(s, file);
    ck_assert_str_eq(s->m[i].kind, "unknown");
    ASSERT_HAS(s->m[i].problem, "has neither rowsync_driver_entry nor "
                                "rowsync_plugin_entry");

    /* Every fixture directory entry comes after the temp directory's. */
    for (i = 0; i < s->n; i++)
        if (strncmp(s->m[i].path, fixture_dir(), strlen(fixture_dir())) == 0 &&
            i < first_fixture)
            first_fixture = i;
    ck_assert_uint_eq(first_fixture, 2);

    free(s);
    ctx_free(ctx);
    free(path);
    remove_tmpdir(tmp);
}
END_TEST

START_TEST(test_list_empty_path)
{
    rowsync_ctx_t *ctx = ctx_new("/nonexistent/a");
    struct seen *s = calloc(1, sizeof(*s));
    rowsync_error_t err;
    size_t i;

    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(rowsync_modules_list(ctx, collect, s, &err), 0);
    for (i = 0; i < s->n; i++)
        ASSERT_LACKS(s->m[i].path, "/nonexistent/");
    ck_assert_int_eq(rowsync_modules_list(ctx, NULL, s, &err), ROWSYNC_EINVAL);
    free(s);
    ctx_free(ctx);
}
END_TEST

static Suite *loader_suite(void)
{
    Suite *s = suite_create("loader");
    TCase *tc;

    tc = tcase_create("load");
    tcase_add_checked_fixture(tc, setup_env, NULL);
    tcase_add_test(tc, test_good_driver_loads);
    tcase_add_test(tc, test_second_load_returns_same_table);
    tcase_add_test(tc, test_unload_closes_modules);
    tcase_add_test(tc, test_resident_modules_stay_mapped);
    suite_add_tcase(s, tc);

    tc = tcase_create("errors");
    tcase_add_checked_fixture(tc, setup_env, NULL);
    tcase_add_test(tc, test_not_found_lists_every_directory);
    tcase_add_test(tc, test_plugin_not_found_names_plugin_dir);
    tcase_add_test(tc, test_found_but_not_loadable);
    tcase_add_test(tc, test_broken_libtool_archive);
    tcase_add_test(tc, test_no_entry_symbol);
    tcase_add_test(tc, test_plugin_is_not_a_driver);
    tcase_add_test(tc, test_entry_refuses_host);
    tcase_add_test(tc, test_major_mismatch_names_both_versions);
    tcase_add_test(tc, test_newer_minor_is_rejected);
    tcase_add_test(tc, test_truncated_table_names_first_missing_member);
    tcase_add_test(tc, test_null_required_member);
    tcase_add_test(tc, test_invalid_module_name);
    suite_add_tcase(s, tc);

    tc = tcase_create("search_order");
    tcase_add_checked_fixture(tc, setup_env, NULL);
    tcase_add_test(tc, test_search_order);
    tcase_add_test(tc, test_first_found_wins_even_if_broken);
    suite_add_tcase(s, tc);

    tc = tcase_create("plugin");
    tcase_add_checked_fixture(tc, setup_env, NULL);
    tcase_add_test(tc, test_plugin_transforms_row);
    tcase_add_test(tc, test_plugin_cannot_change_key);
    tcase_add_test(tc, test_plugin_option_errors);
    suite_add_tcase(s, tc);

    tc = tcase_create("row_api");
    tcase_add_test(tc, test_row_accessors);
    tcase_add_test(tc, test_row_set_copies_and_adds);
    tcase_add_test(tc, test_row_set_rejects);
    tcase_add_test(tc, test_row_new_rejects);
    suite_add_tcase(s, tc);

    tc = tcase_create("list");
    tcase_add_checked_fixture(tc, setup_env, NULL);
    tcase_add_test(tc, test_list_reports_modules_and_problems);
    tcase_add_test(tc, test_list_empty_path);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(loader_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
