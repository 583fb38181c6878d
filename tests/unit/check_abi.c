/* Pins the module ABI as it is in driver ABI 1.0 and plugin ABI 1.0.
 *
 * Modules built against one rowsync are loaded by another, so the layout
 * of every struct that crosses the module boundary, the status codes and
 * the enum values are a contract. These tests fail when that layout moves.
 *
 * How to change the ABI without breaking it (a minor bump):
 *   1. Append new members at the END of rowsync_driver_t (or
 *      rowsync_plugin_t); never insert, reorder or remove one.
 *   2. Bump ROWSYNC_DRIVER_ABI_MINOR (ROWSYNC_PLUGIN_ABI_MINOR) and add the
 *      new table size to ld_driver_sizes (ld_plugin_sizes) in loader.c,
 *      and the members to ld_driver_members with their minor.
 *   3. Here: update the expected minor in test_abi_versions, append the new
 *      members to the offset lists in test_driver_table_layout (or
 *      test_plugin_table_layout), leaving the existing entries as they are.
 *   4. Note the change in docs/modules.md.
 * Anything else (a changed member type, a removed member, a change to a
 * struct other than the two tables, a renumbered code) is a major bump:
 * every module must be rebuilt.
 */
#include <config.h>

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* All four installed headers together, in an awkward order, twice. */
#include <rowsync/plugin.h>
#include <rowsync/rowsync.h>
#include <rowsync/driver.h>
#include <rowsync/common.h>
#include <rowsync/common.h>
#include <rowsync/driver.h>
#include <rowsync/plugin.h>
#include <rowsync/rowsync.h>

#define PTR sizeof(void *)
#define FPTR sizeof(void (*)(void))
#define HDR sizeof(rowsync_abi_header_t)

START_TEST(test_abi_versions)
{
    ck_assert_int_eq(ROWSYNC_DRIVER_ABI_MAJOR, 1);
    ck_assert_int_eq(ROWSYNC_DRIVER_ABI_MINOR, 1);
    ck_assert_int_eq(ROWSYNC_PLUGIN_ABI_MAJOR, 1);
    ck_assert_int_eq(ROWSYNC_PLUGIN_ABI_MINOR, 1);
}
END_TEST

START_TEST(test_header_macros)
{
    static const rowsync_driver_t drv = {.abi = ROWSYNC_DRIVER_HEADER};
    static const rowsync_plugin_t plg = {.abi = ROWSYNC_PLUGIN_HEADER};

    ck_assert_uint_eq(drv.abi.major, ROWSYNC_DRIVER_ABI_MAJOR);
    ck_assert_uint_eq(drv.abi.minor, ROWSYNC_DRIVER_ABI_MINOR);
    ck_assert_uint_eq(drv.abi.struct_size, sizeof(rowsync_driver_t));
    ck_assert_uint_eq(plg.abi.major, ROWSYNC_PLUGIN_ABI_MAJOR);
    ck_assert_uint_eq(plg.abi.minor, ROWSYNC_PLUGIN_ABI_MINOR);
    ck_assert_uint_eq(plg.abi.struct_size, sizeof(rowsync_plugin_t));
    /* The entry names the loader asks libltdl for (it prefixes
     * <module>_LTX_ itself). */
    ck_assert_str_eq(ROWSYNC_DRIVER_ENTRY_SYMBOL, "rowsync_driver_entry");
    ck_assert_str_eq(ROWSYNC_PLUGIN_ENTRY_SYMBOL, "rowsync_plugin_entry");
    ck_assert_str_ne(ROWSYNC_DRIVER_ENTRY_SYMBOL, ROWSYNC_PLUGIN_ENTRY_SYMBOL);
    ck_assert_int_eq(ROWSYNC_STATE_MAX, 1024);
    ck_assert_int_eq(ROWSYNC_ERROR_MESSAGE_MAX, 1024);
}
END_TEST

START_TEST(test_abi_header_layout)
{
    ck_assert_uint_eq(sizeof(rowsync_abi_header_t), 8);
    ck_assert_uint_eq(offsetof(rowsync_abi_header_t, major), 0);
    ck_assert_uint_eq(offsetof(rowsync_abi_header_t, minor), 2);
    ck_assert_uint_eq(offsetof(rowsync_abi_header_t, struct_size), 4);
    ck_assert_uint_eq(offsetof(rowsync_driver_t, abi), 0);
    ck_assert_uint_eq(offsetof(rowsync_plugin_t, abi), 0);
}
END_TEST

/* Every member of the driver table, in order: four strings after the
 * header, then one function pointer after another. Pinning each offset
 * (not only the last) names the member that moved. */
START_TEST(test_driver_table_layout)
{
    static const size_t strings[] = {
        offsetof(rowsync_driver_t, name),
        offsetof(rowsync_driver_t, version),
        offsetof(rowsync_driver_t, description),
        offsetof(rowsync_driver_t, options),
    };
    /* ABI 1.0. Append members of later minors at the end. */
    static const size_t functions[] = {
        offsetof(rowsync_driver_t, connect),
        offsetof(rowsync_driver_t, disconnect),
        offsetof(rowsync_driver_t, quote_ident),
        offsetof(rowsync_driver_t, clock),
        offsetof(rowsync_driver_t, describe),
        offsetof(rowsync_driver_t, capture_install),
        offsetof(rowsync_driver_t, capture_status),
        offsetof(rowsync_driver_t, capture_remove),
        offsetof(rowsync_driver_t, history_clear),
        offsetof(rowsync_driver_t, history_count),
        offsetof(rowsync_driver_t, state_remove),
        offsetof(rowsync_driver_t, lock),
        offsetof(rowsync_driver_t, unlock),
        offsetof(rowsync_driver_t, state_get),
        offsetof(rowsync_driver_t, extract_open),
        offsetof(rowsync_driver_t, scan_open),
        offsetof(rowsync_driver_t, stream_next),
        offsetof(rowsync_driver_t, stream_cursor),
        offsetof(rowsync_driver_t, stream_close),
        offsetof(rowsync_driver_t, begin),
        offsetof(rowsync_driver_t, apply),
        offsetof(rowsync_driver_t, state_set),
        offsetof(rowsync_driver_t, conflict_log),
        offsetof(rowsync_driver_t, commit),
        offsetof(rowsync_driver_t, rollback),
        offsetof(rowsync_driver_t, conflicts_read),
        offsetof(rowsync_driver_t, references),
        /* ABI 1.1 */
        offsetof(rowsync_driver_t, apply_insert_only),
        offsetof(rowsync_driver_t, history_purge),
        offsetof(rowsync_driver_t, watch),
        offsetof(rowsync_driver_t, watch_clear),
        offsetof(rowsync_driver_t, stream_columns),
        offsetof(rowsync_driver_t, extract_open_flags),
    };
    size_t nf = sizeof(functions) / sizeof(functions[0]), i;

    for (i = 0; i < 4; i++)
        ck_assert_uint_eq(strings[i], HDR + i * PTR);
    for (i = 0; i < nf; i++)
        ck_assert_msg(functions[i] == HDR + 4 * PTR + i * FPTR,
                      "driver function %zu is at offset %zu, expected %zu", i,
                      functions[i], HDR + 4 * PTR + i * FPTR);
    /* The last member of 1.0 stays where it was; 1.1 ends the table. */
    ck_assert_uint_eq(offsetof(rowsync_driver_t, references),
                      HDR + 4 * PTR + 26 * FPTR);
    ck_assert_uint_eq(offsetof(rowsync_driver_t, extract_open_flags),
                      HDR + 4 * PTR + 32 * FPTR);
    ck_assert_uint_eq(sizeof(rowsync_driver_t), HDR + 4 * PTR + 33 * FPTR);
#if UINTPTR_MAX == UINT64_MAX
    ck_assert_uint_eq(offsetof(rowsync_driver_t, references), 248);
    ck_assert_uint_eq(sizeof(rowsync_driver_t), 304);
#endif
}
END_TEST

START_TEST(test_plugin_table_layout)
{
    ck_assert_uint_eq(offsetof(rowsync_plugin_t, name), HDR);
    ck_assert_uint_eq(offsetof(rowsync_plugin_t, version), HDR + PTR);
    ck_assert_uint_eq(offsetof(rowsync_plugin_t, description), HDR + 2 * PTR);
    ck_assert_uint_eq(offsetof(rowsync_plugin_t, options), HDR + 3 * PTR);
    /* ABI 1.0. Append members of later minors at the end. */
    ck_assert_uint_eq(offsetof(rowsync_plugin_t, create), HDR + 4 * PTR);
    ck_assert_uint_eq(offsetof(rowsync_plugin_t, destroy),
                      HDR + 4 * PTR + FPTR);
    ck_assert_uint_eq(offsetof(rowsync_plugin_t, transform),
                      HDR + 4 * PTR + 2 * FPTR);
    /* ABI 1.1 */
    ck_assert_uint_eq(offsetof(rowsync_plugin_t, resolve),
                      HDR + 4 * PTR + 3 * FPTR);
    ck_assert_uint_eq(sizeof(rowsync_plugin_t), HDR + 4 * PTR + 4 * FPTR);
#if UINTPTR_MAX == UINT64_MAX
    ck_assert_uint_eq(offsetof(rowsync_plugin_t, transform), 56);
    ck_assert_uint_eq(sizeof(rowsync_plugin_t), 72);
#endif
}
END_TEST

/* The structs modules read and fill besides the tables. Their layout can
 * only change with a major bump. */
START_TEST(test_shared_struct_layout)
{
    ck_assert_uint_eq(offsetof(rowsync_value_t, type), 0);
    ck_assert_uint_lt(offsetof(rowsync_change_t, op),
                      offsetof(rowsync_change_t, time_us));
    ck_assert_uint_lt(offsetof(rowsync_change_t, time_us),
                      offsetof(rowsync_change_t, origin));
    ck_assert_uint_lt(offsetof(rowsync_change_t, origin),
                      offsetof(rowsync_change_t, nvalues));
    ck_assert_uint_lt(offsetof(rowsync_change_t, nvalues),
                      offsetof(rowsync_change_t, values));
    ck_assert_uint_eq(sizeof(rowsync_option_t), 2 * PTR);
    ck_assert_uint_eq(offsetof(rowsync_error_t, code), 0);
    ck_assert_uint_eq(sizeof(((rowsync_error_t *)0)->sqlstate), 6);
    ck_assert_uint_eq(sizeof(((rowsync_error_t *)0)->message),
                      ROWSYNC_ERROR_MESSAGE_MAX);
#if UINTPTR_MAX == UINT64_MAX
    ck_assert_uint_eq(sizeof(rowsync_value_t), 24);
    ck_assert_uint_eq(offsetof(rowsync_value_t, u), 8);
    ck_assert_uint_eq(sizeof(rowsync_change_t), 40);
    ck_assert_uint_eq(offsetof(rowsync_change_t, values), 32);
    ck_assert_uint_eq(sizeof(rowsync_error_t), 1048);
    ck_assert_uint_eq(offsetof(rowsync_error_t, message), 22);
    ck_assert_uint_eq(sizeof(rowsync_node_config_t), 40);
    ck_assert_uint_eq(offsetof(rowsync_node_config_t, options), 32);
    ck_assert_uint_eq(sizeof(rowsync_column_t), 32);
    ck_assert_uint_eq(offsetof(rowsync_column_t, key_position), 28);
    ck_assert_uint_eq(sizeof(rowsync_table_info_t), 24);
    ck_assert_uint_eq(sizeof(rowsync_table_spec_t), 40);
    ck_assert_uint_eq(offsetof(rowsync_table_spec_t, nkeys), 32);
    ck_assert_uint_eq(sizeof(rowsync_conflict_t), 72);
    ck_assert_uint_eq(offsetof(rowsync_conflict_t, note), 64);
#endif
}
END_TEST

/* Modules return these numbers; they can never be renumbered. */
START_TEST(test_status_codes)
{
    ck_assert_int_eq(ROWSYNC_OK, 0);
    ck_assert_int_eq(ROWSYNC_DONE, 1);
    ck_assert_int_eq(ROWSYNC_DROPPED, 2);
    ck_assert_int_eq(ROWSYNC_ERROR, -1);
    ck_assert_int_eq(ROWSYNC_ENOMEM, -2);
    ck_assert_int_eq(ROWSYNC_EINVAL, -3);
    ck_assert_int_eq(ROWSYNC_ENOTFOUND, -4);
    ck_assert_int_eq(ROWSYNC_ENOTSUP, -5);
    ck_assert_int_eq(ROWSYNC_ECONN, -6);
    ck_assert_int_eq(ROWSYNC_ETRANSIENT, -7);
    ck_assert_int_eq(ROWSYNC_ECONSTRAINT, -8);
    ck_assert_int_eq(ROWSYNC_EABI, -9);
    ck_assert_int_eq(ROWSYNC_ELOCKED, -10);
    ck_assert_int_eq(ROWSYNC_ECONVERT, -11);
    ck_assert_int_eq(ROWSYNC_EIO, -12);
}
END_TEST

START_TEST(test_enum_values)
{
    ck_assert_int_eq(ROWSYNC_TYPE_NULL, 0);
    ck_assert_int_eq(ROWSYNC_TYPE_BOOL, 1);
    ck_assert_int_eq(ROWSYNC_TYPE_INT, 2);
    ck_assert_int_eq(ROWSYNC_TYPE_DECIMAL, 3);
    ck_assert_int_eq(ROWSYNC_TYPE_DOUBLE, 4);
    ck_assert_int_eq(ROWSYNC_TYPE_TEXT, 5);
    ck_assert_int_eq(ROWSYNC_TYPE_BINARY, 6);
    ck_assert_int_eq(ROWSYNC_TYPE_DATE, 7);
    ck_assert_int_eq(ROWSYNC_TYPE_TIME, 8);
    ck_assert_int_eq(ROWSYNC_TYPE_TIMESTAMP, 9);
    ck_assert_int_eq(ROWSYNC_TYPE_TIMESTAMPTZ, 10);
    ck_assert_int_eq(ROWSYNC_TYPE_UUID, 11);
    ck_assert_int_eq(ROWSYNC_TYPE_JSON, 12);
    ck_assert_int_eq(ROWSYNC_OP_INSERT, 1);
    ck_assert_int_eq(ROWSYNC_OP_UPDATE, 2);
    ck_assert_int_eq(ROWSYNC_OP_DELETE, 3);
}
END_TEST

/* The four headers compile together (see the includes above) and their
 * types and entry points can be used side by side. */
START_TEST(test_headers_together)
{
    rowsync_module_info_t info;
    rowsync_driver_entry_fn d = NULL;
    rowsync_plugin_entry_fn p = NULL;
    rowsync_error_t err;

    memset(&info, 0, sizeof(info));
    info.kind = "driver";
    ck_assert(d == NULL && p == NULL);
    ck_assert_str_eq(info.kind, "driver");
    ck_assert_int_eq(rowsync_error_set(&err, ROWSYNC_EABI, "x %d", 1),
                     ROWSYNC_EABI);
    ck_assert_str_eq(err.message, "x 1");
    ck_assert_ptr_nonnull(rowsync_version());
}
END_TEST

/* librowsync exports the plugin expression API (plain functions, not a
 * plugin table member: the plugin ABI minor stays 0); this program links
 * the shared library, so a missing export fails the link or the call. */
START_TEST(test_expr_api_exported)
{
    rowsync_expr_t *e = NULL;
    rowsync_error_t err;
    size_t col = 0;

    ck_assert_int_eq(rowsync_expr_parse(&e, "1 +", &col, &err),
                     ROWSYNC_EINVAL);
    ck_assert_ptr_null(e);
    ck_assert_uint_eq(col, 4);
    ck_assert_int_eq(rowsync_expr_parse(&e, "2 * 21", NULL, &err), 0);
    ck_assert_str_eq(rowsync_expr_text(e), "2 * 21");
    rowsync_expr_free(e);
}
END_TEST

static Suite *abi_suite(void)
{
    Suite *s = suite_create("abi");
    TCase *tc;

    tc = tcase_create("versions");
    tcase_add_test(tc, test_abi_versions);
    tcase_add_test(tc, test_header_macros);
    suite_add_tcase(s, tc);

    tc = tcase_create("layout");
    tcase_add_test(tc, test_abi_header_layout);
    tcase_add_test(tc, test_driver_table_layout);
    tcase_add_test(tc, test_plugin_table_layout);
    tcase_add_test(tc, test_shared_struct_layout);
    suite_add_tcase(s, tc);

    tc = tcase_create("values");
    tcase_add_test(tc, test_status_codes);
    tcase_add_test(tc, test_enum_values);
    suite_add_tcase(s, tc);

    tc = tcase_create("headers");
    tcase_add_test(tc, test_headers_together);
    tcase_add_test(tc, test_expr_api_exported);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(abi_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
