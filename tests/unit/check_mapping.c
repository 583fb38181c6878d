/* Unit tests of the mapping resolver (librowsync/mapping.c), without a
 * database: a job file parsed by the real parser, and each node's table
 * described by hand as a driver would. Renames in both directions,
 * skipped and filled columns, missing columns (all of them reported),
 * key problems, filter columns and type compatibility decisions. */
#include <config.h>

#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mapping.h"

#define ASSERT_HAS(text, want)                                                 \
    ck_assert_msg(strstr((text), (want)) != NULL, "expected \"%s\" in \"%s\"", \
                  (want), (text))

static char tmpdir[PATH_MAX];
static char jobpath[PATH_MAX + 16];
static rs_job_cfg_t *cfg;
static rs_table_t tab;

static void mp_setup(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/rowsync-mapping-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    snprintf(jobpath, sizeof jobpath, "%s/job.conf", tmpdir);
    cfg = NULL;
    memset(&tab, 0, sizeof tab);
}

static void mp_teardown(void)
{
    if (cfg != NULL) {
        rs_map_table_free(&tab, cfg->nnodes);
        rs_job_cfg_free(cfg);
    }
    unlink(jobpath);
    rmdir(tmpdir);
}

/* Parses a job of two sqlite nodes a and b (mode and source given) with
 * the sections in rest. */
static void job(const char *mode, const char *rest)
{
    rowsync_error_t err;
    FILE *f = fopen(jobpath, "w");

    ck_assert_ptr_nonnull(f);
    fprintf(f,
            "[job]\nmode = %s\nsource = a\n"
            "[node a]\ndriver = sqlite\npath = a.db\n"
            "[node b]\ndriver = sqlite\npath = b.db\n%s",
            mode, rest);
    ck_assert_int_eq(fclose(f), 0);
    memset(&err, 0, sizeof err);
    ck_assert_msg(rs_job_cfg_parse(&cfg, jobpath, &err) == 0, "parse: %s",
                  err.message);
}

/* A described column: name, type, key position. */
#define COL(n, t, k)                                                           \
    {                                                                          \
        (n), ROWSYNC_TYPE_##t, #t, 1, (k)                                      \
    }

/* The customers table on a: id (key), name, email, region. */
static const rowsync_column_t a_cols[] = {
    COL("id", INT, 1), COL("name", TEXT, 0), COL("email", TEXT, 0),
    COL("region", TEXT, 0)};
static const rowsync_table_info_t a_info = {"customers", 4, a_cols};

/* Resolves the job's first table on infos a and b (reference a). */
static int resolve(const rowsync_table_info_t *a, const rowsync_table_info_t *b,
                   rs_map_report_fn report, void *ud, rowsync_error_t *err)
{
    const rowsync_table_info_t *infos[2] = {a, b};

    memset(err, 0, sizeof *err);
    return rs_map_table(cfg, &cfg->tables[0], infos, 0, &tab, report, ud, err);
}

static void resolve_ok(const rowsync_table_info_t *a,
                       const rowsync_table_info_t *b)
{
    rowsync_error_t err;
    int rc = resolve(a, b, NULL, NULL, &err);

    ck_assert_msg(rc == 0, "resolve: %s", err.message);
}

static const rs_route_t *route(size_t from, size_t to)
{
    return &tab.routes[from * cfg->nnodes + to];
}

/* Asserts a route's columns, comma separated. */
static void assert_route_cols(const rs_route_t *r, const char *want)
{
    char got[512] = "";
    size_t len = 0;

    for (size_t i = 0; i < r->spec.ncolumns; i++)
        len += (size_t)snprintf(got + len, sizeof got - len, "%s%s",
                                i ? "," : "", r->spec.columns[i]);
    ck_assert_str_eq(got, want);
}

/* ---- renames ---------------------------------------------------------- */

START_TEST(test_renames_both_directions)
{
    static const rowsync_column_t b_cols[] = {
        COL("client_id", INT, 1), COL("full_name", TEXT, 0),
        COL("email", TEXT, 0), COL("region", TEXT, 0)};
    static const rowsync_table_info_t b_info = {"clients", 4, b_cols};

    job("bidirectional", "[table customers]\n[table customers @ b]\n"
                         "name = clients\n"
                         "map = id:client_id, name:full_name\n");
    resolve_ok(&a_info, &b_info);
    ck_assert_uint_eq(tab.ncanon, 4);
    ck_assert_uint_eq(tab.nkeys, 1);
    ck_assert_str_eq(tab.canon[0], "id");
    ck_assert_str_eq(tab.canon[1], "name");
    ck_assert_str_eq(tab.on[1].spec.table, "clients");
    ck_assert_str_eq(tab.on[1].spec.columns[0], "client_id");
    ck_assert_uint_eq(tab.on[1].canon[1], 1); /* full_name is name */
    /* a -> b writes b's names, from a's positions */
    assert_route_cols(route(0, 1), "client_id,full_name,email,region");
    ck_assert_str_eq(route(0, 1)->spec.table, "clients");
    ck_assert_uint_eq(route(0, 1)->from[1], 1);
    /* b -> a: renames invert */
    assert_route_cols(route(1, 0), "id,name,email,region");
    ck_assert_str_eq(route(1, 0)->spec.table, "customers");
    ck_assert_uint_eq(route(1, 0)->nfill, 0);
}
END_TEST

/* The reference node itself renamed: canonical names are the inverted
 * ones, so the other node needs no section. */
START_TEST(test_reference_node_renamed)
{
    static const rowsync_column_t r_cols[] = {COL("client_id", INT, 1),
                                              COL("full_name", TEXT, 0)};
    static const rowsync_table_info_t r_info = {"clients", 2, r_cols};
    static const rowsync_column_t b_cols[] = {COL("id", INT, 1),
                                              COL("name", TEXT, 0)};
    static const rowsync_table_info_t b_info = {"customers", 2, b_cols};

    job("one-way", "[table customers]\n[table customers @ a]\n"
                   "name = clients\nmap = id:client_id, name:full_name\n");
    resolve_ok(&r_info, &b_info);
    ck_assert_str_eq(tab.canon[0], "id");
    ck_assert_str_eq(tab.canon[1], "name");
    assert_route_cols(route(0, 1), "id,name");
    /* one-way: nothing travels back */
    ck_assert_uint_eq(route(1, 0)->spec.ncolumns, 0);
}
END_TEST

/* ---- skip and fill ---------------------------------------------------- */

START_TEST(test_skip_leaves_column_out_both_ways)
{
    static const rowsync_column_t b_cols[] = {
        COL("id", INT, 1), COL("name", TEXT, 0), COL("region", TEXT, 0)};
    static const rowsync_table_info_t b_info = {"customers", 3, b_cols};

    job("bidirectional", "[table customers]\n[table customers @ b]\n"
                         "skip = email\n");
    resolve_ok(&a_info, &b_info);
    ck_assert_uint_eq(tab.ncanon, 4);
    ck_assert_uint_eq(tab.on[1].spec.ncolumns, 3);
    assert_route_cols(route(0, 1), "id,name,region");
    /* from b, email is not carried: a keeps its value on update */
    assert_route_cols(route(1, 0), "id,name,region");
    ck_assert_uint_eq(route(1, 0)->from[2], 2);
}
END_TEST

START_TEST(test_fill_is_insert_only_on_its_node)
{
    static const rowsync_column_t b_cols[] = {
        COL("id", INT, 1), COL("name", TEXT, 0), COL("email", TEXT, 0),
        COL("region", TEXT, 0), COL("country", TEXT, 0)};
    static const rowsync_table_info_t b_info = {"customers", 5, b_cols};
    const rs_route_t *r;

    job("one-way", "[table customers]\n[table customers @ b]\n"
                   "fill = country:'DE'\n");
    resolve_ok(&a_info, &b_info);
    /* country is not canonical: only b has it */
    ck_assert_uint_eq(tab.ncanon, 4);
    ck_assert_uint_eq(tab.on[1].nfill, 1);
    r = route(0, 1);
    assert_route_cols(r, "id,name,email,region,country");
    ck_assert_uint_eq(r->nfill, 1);
    ck_assert_uint_eq(r->from[4], RS_ROUTE_FILL);
    ck_assert_int_eq(r->insert_only[4], 1);
    ck_assert_int_eq(r->insert_only[1], 0);
    ck_assert_int_eq(tab.on[1].fill_values[0].type, ROWSYNC_TYPE_TEXT);
    ck_assert_int_eq(memcmp(tab.on[1].fill_values[0].u.bytes.ptr, "DE", 2), 0);
}
END_TEST

START_TEST(test_fill_value_read_as_column_type)
{
    static const rowsync_column_t b_cols[] = {
        COL("id", INT, 1), COL("name", TEXT, 0), COL("email", TEXT, 0),
        COL("region", TEXT, 0), COL("since", DATE, 0)};
    static const rowsync_table_info_t b_info = {"customers", 5, b_cols};
    rowsync_error_t err;

    job("one-way", "[table customers]\n[table customers @ b]\n"
                   "fill = since:'2024-13-01'\n");
    ck_assert_int_eq(resolve(&a_info, &b_info, NULL, NULL, &err),
                     ROWSYNC_EINVAL);
    ASSERT_HAS(err.message, "fill value '2024-13-01' for column 'since'");
}
END_TEST

/* ---- missing columns and keys ----------------------------------------- */

static void collect(void *ud, const rowsync_error_t *e)
{
    char *all = ud;
    size_t len = strlen(all);
    snprintf(all + len, 4096 - len, "%s\n", e->message);
}

START_TEST(test_missing_columns_all_reported)
{
    static const rowsync_column_t b_cols[] = {COL("id", INT, 1)};
    static const rowsync_table_info_t b_info = {"customers", 1, b_cols};
    char all[4096] = "";
    rowsync_error_t err;

    job("one-way", "[table customers]\n[table customers @ b]\n"
                   "fill = country:'DE'\n");
    /* without report: the first one */
    ck_assert_int_eq(resolve(&a_info, &b_info, NULL, NULL, &err),
                     ROWSYNC_ENOTFOUND);
    ASSERT_HAS(err.message, "column 'name' of table 'customers' not found on "
                            "node 'b'; map it (map = name:NAME) or skip it "
                            "(skip = name) in [table customers @ b]");
    rs_map_table_free(&tab, cfg->nnodes);
    memset(&tab, 0, sizeof tab);
    /* with report: every one, and the first as the result */
    ck_assert_int_eq(resolve(&a_info, &b_info, collect, all, &err),
                     ROWSYNC_ENOTFOUND);
    ASSERT_HAS(err.message, "column 'name'");
    ASSERT_HAS(all, "column 'name' of table 'customers' not found");
    ASSERT_HAS(all, "column 'email' of table 'customers' not found");
    ASSERT_HAS(all, "column 'region' of table 'customers' not found");
    ASSERT_HAS(all, "fill column 'country' of table 'customers' not found");
    ck_assert_ptr_null(tab.routes);
}
END_TEST

START_TEST(test_renamed_column_missing_names_both_names)
{
    static const rowsync_column_t b_cols[] = {
        COL("id", INT, 1), COL("name", TEXT, 0), COL("email", TEXT, 0),
        COL("region", TEXT, 0)};
    static const rowsync_table_info_t b_info = {"customers", 4, b_cols};
    rowsync_error_t err;

    job("one-way", "[table customers]\n[table customers @ b]\n"
                   "map = email:mail\n");
    ck_assert_int_eq(resolve(&a_info, &b_info, NULL, NULL, &err),
                     ROWSYNC_ENOTFOUND);
    ASSERT_HAS(err.message, "column 'mail' (canonical 'email') of table "
                            "'customers' not found on node 'b'");
    ASSERT_HAS(err.message, "job.conf:11");
}
END_TEST

START_TEST(test_key_missing_on_node)
{
    static const rowsync_column_t b_cols[] = {
        COL("code", INT, 1), COL("name", TEXT, 0), COL("email", TEXT, 0),
        COL("region", TEXT, 0)};
    static const rowsync_table_info_t b_info = {"customers", 4, b_cols};
    rowsync_error_t err;

    job("one-way", "[table customers]\n");
    ck_assert_int_eq(resolve(&a_info, &b_info, NULL, NULL, &err),
                     ROWSYNC_ENOTFOUND);
    ASSERT_HAS(err.message, "key column 'id' of table 'customers' not found "
                            "on node 'b'");
}
END_TEST

START_TEST(test_key_from_job_file_or_primary_key)
{
    static const rowsync_column_t nokey[] = {COL("id", INT, 0),
                                             COL("name", TEXT, 0)};
    static const rowsync_table_info_t nokey_info = {"customers", 2, nokey};
    rowsync_error_t err;

    job("one-way", "[table customers]\n");
    ck_assert_int_eq(resolve(&nokey_info, &nokey_info, NULL, NULL, &err),
                     ROWSYNC_EINVAL);
    ASSERT_HAS(err.message, "table 'customers' on node 'a' has no primary "
                            "key: set key = COLUMN[, COLUMN...] in [table "
                            "customers]");
    rs_map_table_free(&tab, cfg->nnodes);
    rs_job_cfg_free(cfg);
    memset(&tab, 0, sizeof tab);
    /* key = name: the job file's key comes first, whatever the database
     * says */
    job("one-way", "[table customers]\nkey = name\n");
    resolve_ok(&nokey_info, &nokey_info);
    ck_assert_uint_eq(tab.nkeys, 1);
    ck_assert_str_eq(tab.canon[0], "name");
    assert_route_cols(route(0, 1), "name,id");
}
END_TEST

/* ---- filters and types ------------------------------------------------ */

START_TEST(test_filter_reads_skipped_column)
{
    static const rowsync_column_t b_cols[] = {
        COL("id", INT, 1), COL("name", TEXT, 0), COL("email", TEXT, 0)};
    static const rowsync_table_info_t b_info = {"customers", 3, b_cols};
    rowsync_error_t err;

    /* b skips region: changes from b cannot be filtered on it */
    job("bidirectional", "[table customers]\nfilter = region = 'EU'\n"
                         "[table customers @ b]\nskip = region\n");
    ck_assert_int_eq(resolve(&a_info, &b_info, NULL, NULL, &err),
                     ROWSYNC_EINVAL);
    ASSERT_HAS(err.message, "the filter of table 'customers' reads column "
                            "'region', which the source node skips");
    rs_map_table_free(&tab, cfg->nnodes);
    rs_job_cfg_free(cfg);
    memset(&tab, 0, sizeof tab);
    /* one-way from a: the filter reads a's region, position 3 */
    job("one-way", "[table customers]\nfilter = region = 'EU'\n"
                   "[table customers @ b]\nskip = region\n");
    resolve_ok(&a_info, &b_info);
    ck_assert_uint_eq(route(0, 1)->fcols[0][0], 3);
}
END_TEST

START_TEST(test_types_convert_where_they_differ)
{
    static const rowsync_column_t b_cols[] = {
        COL("id", DECIMAL, 1), COL("name", TEXT, 0), COL("email", BINARY, 0),
        COL("region", TEXT, 0)};
    static const rowsync_table_info_t b_info = {"customers", 4, b_cols};

    job("bidirectional", "[table customers]\n");
    resolve_ok(&a_info, &b_info);
    ck_assert_int_eq(route(0, 1)->convert[0], 1); /* INT -> DECIMAL */
    ck_assert_int_eq(route(0, 1)->types[0], ROWSYNC_TYPE_DECIMAL);
    ck_assert_int_eq(route(0, 1)->convert[1], 0);
    ck_assert_int_eq(route(1, 0)->convert[2], 1); /* BINARY -> TEXT */
    ck_assert_int_eq(route(1, 0)->types[0], ROWSYNC_TYPE_INT);
}
END_TEST

START_TEST(test_type_rules)
{
#define RULE(a, b) rs_map_type_rule(ROWSYNC_TYPE_##a, ROWSYNC_TYPE_##b)
    ck_assert_int_eq(RULE(INT, INT), RS_MAP_SAME);
    ck_assert_int_eq(RULE(INT, DECIMAL), RS_MAP_CONVERT);
    ck_assert_int_eq(RULE(DOUBLE, INT), RS_MAP_CONVERT);
    ck_assert_int_eq(RULE(TEXT, INT), RS_MAP_CONVERT);
    ck_assert_int_eq(RULE(TIMESTAMP, TEXT), RS_MAP_CONVERT);
    ck_assert_int_eq(RULE(DATE, TIMESTAMPTZ), RS_MAP_CONVERT);
    ck_assert_int_eq(RULE(TIMESTAMP, TIMESTAMPTZ), RS_MAP_CONVERT);
    ck_assert_int_eq(RULE(BOOL, INT), RS_MAP_CONVERT);
    ck_assert_int_eq(RULE(UUID, TEXT), RS_MAP_CONVERT);
    ck_assert_int_eq(RULE(DATE, INT), RS_MAP_NEVER);
    ck_assert_int_eq(RULE(INT, DATE), RS_MAP_NEVER);
    ck_assert_int_eq(RULE(TIME, TIMESTAMP), RS_MAP_NEVER);
    ck_assert_int_eq(RULE(BINARY, DATE), RS_MAP_NEVER);
    ck_assert_int_eq(RULE(BOOL, DATE), RS_MAP_NEVER);
#undef RULE
}
END_TEST

static Suite *mapping_suite(void)
{
    Suite *s = suite_create("mapping");
    TCase *tc = tcase_create("resolver");

    tcase_add_checked_fixture(tc, mp_setup, mp_teardown);
    tcase_add_test(tc, test_renames_both_directions);
    tcase_add_test(tc, test_reference_node_renamed);
    tcase_add_test(tc, test_skip_leaves_column_out_both_ways);
    tcase_add_test(tc, test_fill_is_insert_only_on_its_node);
    tcase_add_test(tc, test_fill_value_read_as_column_type);
    tcase_add_test(tc, test_missing_columns_all_reported);
    tcase_add_test(tc, test_renamed_column_missing_names_both_names);
    tcase_add_test(tc, test_key_missing_on_node);
    tcase_add_test(tc, test_key_from_job_file_or_primary_key);
    tcase_add_test(tc, test_filter_reads_skipped_column);
    tcase_add_test(tc, test_types_convert_where_they_differ);
    tcase_add_test(tc, test_type_rules);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(mapping_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
