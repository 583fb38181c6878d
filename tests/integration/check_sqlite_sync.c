/* End-to-end tests: the rowsync binary syncing real SQLite files.
 *
 * Every test runs in a fresh temporary directory holding job.conf and two
 * nodes, shop.db and branch.db. The unchecked fixture (run by the test
 * runner itself, once per test case, and each test case holds one test)
 * creates the directory and removes it afterwards even when the test
 * failed or timed out. Set ROWSYNC_KEEP_TMP=1 to keep the directories.
 */
#define _GNU_SOURCE /* strcasestr */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

static char *g_dir;    /* the test's temporary directory */
static char *g_job;    /* g_dir/job.conf */
static char *g_shop;   /* g_dir/shop.db */
static char *g_branch; /* g_dir/branch.db */

static void fx_setup(void)
{
    g_dir = h_tmpdir();
    g_job = h_path(g_dir, "job.conf");
    g_shop = h_path(g_dir, "shop.db");
    g_branch = h_path(g_dir, "branch.db");
}

static void fx_teardown(void)
{
    h_rmtree(g_dir);
    free(g_dir);
    free(g_job);
    free(g_shop);
    free(g_branch);
    g_dir = g_job = g_shop = g_branch = NULL;
}

/* ---- helpers ---------------------------------------------------------- */

/* Writes job.conf syncing table items between nodes shop and branch.
 * One-way jobs get source = shop; job_extra is appended to [job]. */
static void job_items(const char *mode, const char *job_extra)
{
    int oneway = strcmp(mode, "one-way") == 0;
    h_write_file(g_job,
                 "[job]\n"
                 "mode = %s\n"
                 "%s"
                 "%s"
                 "\n"
                 "[node shop]\n"
                 "driver = sqlite\n"
                 "path = shop.db\n"
                 "\n"
                 "[node branch]\n"
                 "driver = sqlite\n"
                 "path = branch.db\n"
                 "\n"
                 "[table items]\n",
                 mode, oneway ? "source = shop\n" : "", job_extra);
}

/* Runs `rowsync CMD job.conf`, asserts exit 0 and returns the process. */
static h_proc_t *rs_ok(const char *cmd)
{
    h_proc_t *p = h_run(cmd, g_job, NULL);
    H_ASSERT_EXIT(p, 0);
    return p;
}

/* Runs one sync pass and asserts its total line. */
static void sync_moves(long upserted, long deleted, long conflicts)
{
    h_proc_t *p = rs_ok("sync");
    char want[128];
    snprintf(want, sizeof want,
             "sync: %ld upserted, %ld deleted, %ld conflicts", upserted,
             deleted, conflicts);
    ck_assert_msg(strstr(p->out, want) != NULL, "expected \"%s\" from %s", want,
                  h_describe(p));
    h_proc_free(p);
}

/* Upserted count from a sync's total line, or -1. */
static long sync_upserted(const char *out)
{
    const char *s = strstr(out, "sync: ");
    long n;
    if (s == NULL || sscanf(s, "sync: %ld upserted", &n) != 1)
        return -1;
    return n;
}

/* Fails the test unless both databases hold the same rows in table,
 * naming the first line that differs. */
static void assert_same_table(const char *db1, const char *db2,
                              const char *table, const char *order_by)
{
    char *a = h_dump(db1, table, order_by);
    char *b = h_dump(db2, table, order_by);
    if (strcmp(a, b) != 0) {
        const char *p = a, *q = b;
        int line = 1;
        while (*p && *p == *q) {
            if (*p == '\n')
                line++;
            p++, q++;
        }
        while (p > a && p[-1] != '\n')
            p--, q--;
        ck_abort_msg("%s differs between %s and %s at row %d:\n  %.200s\n  "
                     "vs\n  %.200s",
                     table, db1, db2, line, *p ? p : "(no more rows)",
                     *q ? q : "(no more rows)");
    }
    free(a);
    free(b);
}

static void assert_same_items(void)
{
    assert_same_table(g_shop, g_branch, "items", "id");
}

/* The rendered row id of items on db, or "" when absent. */
static char *item_row(const char *db, int id)
{
    return h_sql_rows(db, "SELECT id, name, qty FROM items WHERE id = %d", id);
}

static void assert_item(const char *db, int id, const char *name, long qty)
{
    char *got = item_row(db, id);
    char want[256];
    snprintf(want, sizeof want, "%d|'%s'|%ld\n", id, name, qty);
    ck_assert_msg(strcmp(got, want) == 0,
                  "%s: row %d is \"%s\", expected \"%s\"", db, id, got, want);
    free(got);
}

static void assert_no_item(const char *db, int id)
{
    char *got = item_row(db, id);
    ck_assert_msg(*got == '\0', "%s: row %d should be gone, is %s", db, id,
                  got);
    free(got);
}

/* Pair of identical seeded nodes with capture installed. */
static void seed_pair(const char *mode, int rows, const char *job_extra)
{
    h_make_items(g_shop, rows);
    h_make_items(g_branch, rows);
    job_items(mode, job_extra);
    h_proc_free(rs_ok("init"));
}

/* Case-insensitive substring test. */
static int has(const char *text, const char *word)
{
    return text != NULL && strcasestr(text, word) != NULL;
}

/* stdout and stderr together (check may report either way). */
static char *all_output(const h_proc_t *p)
{
    return h_strf("%s\n%s", p->out, p->err);
}

static void assert_error_line(const h_proc_t *p)
{
    ck_assert_msg(strstr(p->err, "rowsync: error:") != NULL,
                  "no \"rowsync: error:\" line on stderr: %s", h_describe(p));
}

/* Fails the test unless the file's schema still reads `before`. */
static void assert_schema(const char *db, const char *before)
{
    char *now = h_schema(db);
    ck_assert_msg(strcmp(now, before) == 0,
                  "%s: the schema changed after a failed command:\nbefore:\n%s"
                  "after:\n%s",
                  db, before, now);
    free(now);
}

/* The conflicts a status report counts, in all: the sum of the numbers
 * written as "N conflict(s)" (one count per node or direction), else of
 * the numbers written as "conflicts: N". */
static long conflict_total(const char *out)
{
    long total = 0;
    int found = 0;
    for (const char *p = out; (p = strcasestr(p, "conflict")) != NULL; p++) {
        const char *q = p;
        while (q > out && q[-1] == ' ')
            q--;
        const char *e = q;
        while (q > out && q[-1] >= '0' && q[-1] <= '9')
            q--;
        if (q < e &&
            (q == out || q[-1] == ' ' || q[-1] == '\n' || q[-1] == ':')) {
            total += strtol(q, NULL, 10);
            found = 1;
        }
    }
    if (found)
        return total;
    for (const char *p = out; (p = strcasestr(p, "conflicts:")) != NULL; p++)
        total += strtol(p + strlen("conflicts:"), NULL, 10);
    return total;
}

/* ---- the seed scenarios -------------------------------------------- */

/* Both sides changed rows 6 and 7 since the last pass: the later change of
 * each row wins on both nodes, and the conflicts are counted. */
START_TEST(test_seed_bidirectional)
{
    seed_pair("bidirectional", 10, "");

    h_sql(g_shop, "UPDATE items SET name = 'shop-6', qty = 60 WHERE id = 6");
    h_sleep_ms(20);
    h_sql(g_branch,
          "UPDATE items SET name = 'branch-6', qty = 61 WHERE id = 6");
    h_sql(g_branch,
          "UPDATE items SET name = 'branch-7', qty = 71 WHERE id = 7");
    h_sleep_ms(20);
    h_sql(g_shop, "UPDATE items SET name = 'shop-7', qty = 70 WHERE id = 7");

    /* -v shows the conflict decisions (info level) on stderr. */
    h_proc_t *sy = h_run("-v", "sync", g_job, NULL);
    H_ASSERT_EXIT(sy, 0);
    ck_assert_msg(strstr(sy->out, "sync: 2 upserted, 0 deleted, 2 conflicts"),
                  "unexpected totals: %s", h_describe(sy));
    ck_assert_msg(h_lines_with(sy->out, "shop -> branch", "items") &&
                      h_lines_with(sy->out, "branch -> shop", "items"),
                  "no line per direction and table: %s", h_describe(sy));
    ck_assert_msg(h_line_has(sy->err, "conflict", 6) &&
                      h_line_has(sy->err, "conflict", 7),
                  "-v does not log the conflict decisions on keys 6 and 7: %s",
                  h_describe(sy));
    h_proc_free(sy);
    assert_same_items();
    assert_item(g_shop, 6, "branch-6", 61);
    assert_item(g_shop, 7, "shop-7", 70);
    for (int id = 1; id <= 10; id++) {
        if (id == 6 || id == 7)
            continue;
        char name[32];
        snprintf(name, sizeof name, "item-%d", id);
        assert_item(g_branch, id, name, id);
    }

    h_proc_t *st = rs_ok("status");
    ck_assert_msg(has(st->out, "conflict"),
                  "status does not mention conflicts: %s", h_describe(st));
    ck_assert_msg(conflict_total(st->out) == 2,
                  "status does not report 2 conflicts in all: %s",
                  h_describe(st));
    ck_assert_msg(h_line_has(st->out, "conflict", 6) &&
                      h_line_has(st->out, "conflict", 7),
                  "status does not list the conflicts on keys 6 and 7: %s",
                  h_describe(st));
    h_proc_free(st);

    h_proc_t *again = rs_ok("sync");
    ck_assert_msg(strstr(again->out, "sync: 0 upserted, 0 deleted") != NULL,
                  "a second sync moved something: %s", h_describe(again));
    h_proc_free(again);
    assert_same_items();
}
END_TEST

/* One-way: the source's changes reach the target; the target's own changes
 * never flow back and survive until the source changes the same key. */
START_TEST(test_seed_oneway)
{
    seed_pair("one-way", 10, "");
    h_sql(g_shop, "UPDATE items SET name = 'shop-6', qty = 60 WHERE id = 6;"
                  "UPDATE items SET name = 'shop-7', qty = 70 WHERE id = 7");
    sync_moves(2, 0, 0);
    assert_same_items();

    char *shop_before = h_dump(g_shop, "items", "id");
    h_sql(g_branch,
          "UPDATE items SET name = 'branch-own', qty = 33 WHERE id = 3;"
          "INSERT INTO items VALUES (100, 'branch-new', 100)");
    for (int pass = 0; pass < 3; pass++) {
        sync_moves(0, 0, 0);
        char *shop_now = h_dump(g_shop, "items", "id");
        ck_assert_msg(strcmp(shop_now, shop_before) == 0,
                      "pass %d copied target changes to the source:\n%s", pass,
                      shop_now);
        free(shop_now);
        assert_item(g_branch, 3, "branch-own", 33);
        assert_item(g_branch, 100, "branch-new", 100);
    }
    free(shop_before);

    /* The source changing that key does overwrite it. */
    h_sql(g_shop, "UPDATE items SET name = 'shop-3', qty = 30 WHERE id = 3");
    sync_moves(1, 0, 0);
    assert_item(g_branch, 3, "shop-3", 30);
    assert_item(g_branch, 100, "branch-new", 100);
    assert_no_item(g_shop, 100);
}
END_TEST

/* One-way with three nodes: the source's changes reach every target. */
START_TEST(test_oneway_fans_out_to_every_target)
{
    char *depot = h_path(g_dir, "depot.db");
    h_make_items(g_shop, 10);
    h_make_items(g_branch, 10);
    h_make_items(depot, 10);
    h_write_file(g_job, "[job]\n"
                        "mode = one-way\n"
                        "source = shop\n"
                        "\n"
                        "[node shop]\n"
                        "driver = sqlite\n"
                        "path = shop.db\n"
                        "\n"
                        "[node branch]\n"
                        "driver = sqlite\n"
                        "path = branch.db\n"
                        "\n"
                        "[node depot]\n"
                        "driver = sqlite\n"
                        "path = depot.db\n"
                        "\n"
                        "[table items]\n");
    h_proc_free(rs_ok("init"));
    h_sql(g_shop, "UPDATE items SET name = 'shop-2', qty = 22 WHERE id = 2;"
                  "DELETE FROM items WHERE id = 9;"
                  "INSERT INTO items VALUES (11, 'shop-11', 11)");
    h_sql(depot, "UPDATE items SET name = 'depot-5' WHERE id = 5");
    sync_moves(4, 2, 0);
    assert_same_items();
    assert_item(depot, 2, "shop-2", 22);
    assert_item(depot, 11, "shop-11", 11);
    assert_no_item(depot, 9);
    assert_item(depot, 5, "depot-5", 5);
    assert_item(g_shop, 5, "item-5", 5);
    assert_item(g_branch, 5, "item-5", 5);
    free(depot);
}
END_TEST

/* A one-way target gets no capture: its own writes go nowhere in the
 * job. When another job reads it (a chain shop -> branch -> depot), that
 * job's init installs capture there, and the changes shop's job applies
 * to branch are captured and go on to depot. */
START_TEST(test_oneway_target_has_no_capture_and_chains)
{
    const char *has_history =
        "SELECT count(*) FROM sqlite_master WHERE name = 'rowsync_h_items'";
    char *depot = h_path(g_dir, "depot.db");
    char *job2 = h_path(g_dir, "job2.conf");
    h_make_items(g_shop, 10);
    h_make_items(g_branch, 10);
    h_make_items(depot, 0); /* the second job's init loads it */
    job_items("one-way", "");
    h_proc_t *p = rs_ok("init");
    ck_assert_msg(has(p->out, "node branch: one-way target, no capture"),
                  "init does not say the target needs no capture: %s",
                  h_describe(p));
    h_proc_free(p);
    ck_assert_int_eq(h_sql_int(g_shop, "%s", has_history), 1);
    ck_assert_int_eq(h_sql_int(g_branch, "%s", has_history), 0);
    p = rs_ok("status");
    ck_assert_msg(has(p->out, "node branch  items: no capture (one-way"),
                  "status: %s", h_describe(p));
    h_proc_free(p);
    p = rs_ok("check");
    ck_assert_msg(has(p->out, "capture not needed (one-way target)"),
                  "check: %s", h_describe(p));
    h_proc_free(p);

    h_sql(g_shop, "UPDATE items SET qty = 21 WHERE id = 2");
    sync_moves(1, 0, 0);
    ck_assert_int_eq(h_sql_int(g_branch, "%s", has_history), 0);

    h_write_file(job2, "[job]\n"
                       "mode = one-way\n"
                       "source = branch\n"
                       "\n"
                       "[node branch]\n"
                       "driver = sqlite\n"
                       "path = branch.db\n"
                       "\n"
                       "[node depot]\n"
                       "driver = sqlite\n"
                       "path = depot.db\n"
                       "\n"
                       "[table items]\n");
    p = h_run("init", job2, NULL);
    H_ASSERT_EXIT(p, 0);
    h_proc_free(p);
    ck_assert_int_eq(h_sql_int(g_branch, "%s", has_history), 1);
    ck_assert_int_eq(h_sql_int(depot, "%s", has_history), 0);
    assert_item(depot, 2, "item-2", 21);

    h_sql(g_shop, "UPDATE items SET name = 'from-shop' WHERE id = 3;"
                  "DELETE FROM items WHERE id = 4");
    h_sql(g_branch, "UPDATE items SET name = 'from-branch' WHERE id = 5");
    sync_moves(1, 1, 0);
    p = h_run("sync", job2, NULL);
    H_ASSERT_EXIT(p, 0);
    h_proc_free(p);
    assert_item(depot, 3, "from-shop", 3);
    assert_no_item(depot, 4);
    assert_item(depot, 5, "from-branch", 5);
    assert_same_table(g_branch, depot, "items", "id");
    free(job2);
    free(depot);
}
END_TEST

/* ---- init ------------------------------------------------------------ */

START_TEST(test_init_oneway_loads_empty_target)
{
    h_make_items(g_shop, 1000);
    h_make_items(g_branch, 0);
    job_items("one-way", "");
    h_proc_free(rs_ok("init"));
    ck_assert_int_eq(h_sql_int(g_branch, "SELECT count(*) FROM items"), 1000);
    assert_same_items();
}
END_TEST

START_TEST(test_init_bidirectional_loads_empty_node)
{
    h_make_items(g_shop, 1000);
    h_make_items(g_branch, 0);
    job_items("bidirectional", "source = shop\n");
    h_proc_free(rs_ok("init"));
    ck_assert_int_eq(h_sql_int(g_branch, "SELECT count(*) FROM items"), 1000);
    assert_same_items();
    /* The loaded rows are not echoed back to the source. */
    sync_moves(0, 0, 0);
    assert_same_items();
}
END_TEST

START_TEST(test_init_twice_is_idempotent)
{
    h_make_items(g_shop, 1000);
    h_make_items(g_branch, 0);
    job_items("one-way", "");
    h_proc_free(rs_ok("init"));
    char *shop_schema = h_schema(g_shop);
    char *branch_schema = h_schema(g_branch);
    ck_assert_msg(h_rowsync_objects(g_shop) > 0,
                  "init installed nothing on shop");

    h_proc_free(rs_ok("init"));
    char *s2 = h_schema(g_shop), *b2 = h_schema(g_branch);
    ck_assert_msg(strcmp(s2, shop_schema) == 0,
                  "second init changed shop's schema:\n%s\nvs\n%s", shop_schema,
                  s2);
    ck_assert_msg(strcmp(b2, branch_schema) == 0,
                  "second init changed branch's schema:\n%s\nvs\n%s",
                  branch_schema, b2);
    ck_assert_int_eq(h_sql_int(g_branch, "SELECT count(*) FROM items"), 1000);
    assert_same_items();
    sync_moves(0, 0, 0);
    free(shop_schema);
    free(branch_schema);
    free(s2);
    free(b2);
}
END_TEST

/* ---- changes travel ------------------------------------------------- */

START_TEST(test_oneway_insert_update_delete_travel)
{
    seed_pair("one-way", 10, "");
    h_sql(g_shop, "INSERT INTO items VALUES (11, 'new-11', 11);"
                  "INSERT INTO items VALUES (12, 'new-12', 12);"
                  "UPDATE items SET name = 'upd-3', qty = 33 WHERE id = 3;"
                  "DELETE FROM items WHERE id = 4");
    sync_moves(3, 1, 0);
    assert_same_items();
    assert_item(g_branch, 11, "new-11", 11);
    assert_item(g_branch, 3, "upd-3", 33);
    assert_no_item(g_branch, 4);
}
END_TEST

START_TEST(test_bidirectional_insert_update_delete_travel)
{
    seed_pair("bidirectional", 10, "");
    h_sql(g_shop, "INSERT INTO items VALUES (11, 'shop-11', 11);"
                  "UPDATE items SET name = 'shop-3', qty = 33 WHERE id = 3;"
                  "DELETE FROM items WHERE id = 4");
    h_sql(g_branch, "INSERT INTO items VALUES (12, 'branch-12', 12);"
                    "UPDATE items SET name = 'branch-5', qty = 55 WHERE id = 5;"
                    "DELETE FROM items WHERE id = 6");
    sync_moves(4, 2, 0);
    assert_same_items();
    assert_item(g_shop, 12, "branch-12", 12);
    assert_item(g_shop, 5, "branch-5", 55);
    assert_no_item(g_shop, 6);
    assert_item(g_branch, 11, "shop-11", 11);
    assert_item(g_branch, 3, "shop-3", 33);
    assert_no_item(g_branch, 4);
    sync_moves(0, 0, 0);
}
END_TEST

/* ---- delete against update ------------------------------------------ */

/* Each case runs in both orientations (key 5: shop first, key 8: branch
 * first), so the later change wins whichever node's name sorts first. */
START_TEST(test_delete_then_later_update_keeps_row)
{
    seed_pair("bidirectional", 10, "");
    h_sql(g_shop, "DELETE FROM items WHERE id = 5");
    h_sql(g_branch, "DELETE FROM items WHERE id = 8");
    h_sleep_ms(20);
    h_sql(g_branch,
          "UPDATE items SET name = 'branch-5', qty = 55 WHERE id = 5");
    h_sql(g_shop, "UPDATE items SET name = 'shop-8', qty = 88 WHERE id = 8");
    sync_moves(2, 0, 2);
    assert_item(g_shop, 5, "branch-5", 55);
    assert_item(g_branch, 5, "branch-5", 55);
    assert_item(g_shop, 8, "shop-8", 88);
    assert_item(g_branch, 8, "shop-8", 88);
    assert_same_items();
}
END_TEST

START_TEST(test_update_then_later_delete_removes_row)
{
    seed_pair("bidirectional", 10, "");
    h_sql(g_shop, "UPDATE items SET name = 'shop-5', qty = 55 WHERE id = 5");
    h_sql(g_branch,
          "UPDATE items SET name = 'branch-8', qty = 88 WHERE id = 8");
    h_sleep_ms(20);
    h_sql(g_branch, "DELETE FROM items WHERE id = 5");
    h_sql(g_shop, "DELETE FROM items WHERE id = 8");
    sync_moves(0, 2, 2);
    assert_no_item(g_shop, 5);
    assert_no_item(g_branch, 5);
    assert_no_item(g_shop, 8);
    assert_no_item(g_branch, 8);
    assert_same_items();
}
END_TEST

/* ---- concurrency and crashes ---------------------------------------- */

/* Predicate: the target has applied some of the backlog (qty changed). */
static int pr_apply_started(void *ud)
{
    h_proc_t *p = ud;
    int64_t n = 0;
    if (h_sql_try_int(g_branch, &n,
                      "SELECT count(*) FROM items WHERE qty <> id") == 0 &&
        n > 0)
        return 1;
    return !h_running(p);
}

START_TEST(test_changes_during_pass_are_picked_up_next)
{
    seed_pair("one-way", 20000, "");
    h_sql(g_shop, "UPDATE items SET qty = qty + 1");

    h_proc_t *p = h_start("sync", g_job, NULL);
    ck_assert_msg(h_wait_until(30000, pr_apply_started, p),
                  "the sync did not start applying");
    /* The writes are issued while the pass runs; SQLite may hold them until
     * the pass's read of the source ends (busy wait), which is fine. */
    int during = h_running(p);
    for (int i = 1; i <= 20; i++)
        h_sql(g_shop, "INSERT INTO items VALUES (%d, 'during-%d', %d)",
              100000 + i, i, i);
    h_wait(p, H_TIMEOUT_MS);
    H_ASSERT_EXIT(p, 0);
    ck_assert_msg(during,
                  "the first sync ended before the new rows were issued: "
                  "the backlog is too small to test this");
    h_proc_free(p);

    h_proc_free(rs_ok("sync"));
    assert_same_items();
    ck_assert_int_eq(h_sql_int(g_branch, "SELECT count(*) FROM items"), 20020);
}
END_TEST

/* Polls the target's items count while p runs; sends sig as soon as it
 * holds some but not all of `total` rows. Returns 1 when it did. */
static int signal_mid_way(h_proc_t *p, int sig, int64_t total, int64_t *seen)
{
    int64_t end = h_now_ms() + 60000;
    *seen = 0;
    while (h_running(p) && h_now_ms() < end) {
        int64_t n = 0;
        if (h_sql_try_int(g_branch, &n, "SELECT count(*) FROM items") == 0) {
            *seen = n;
            if (n > 0 && n < total) {
                h_signal(p, sig);
                return 1;
            }
        }
        h_sleep_ms(1);
    }
    return 0;
}

/* Inserts rows 1..n into db's items in one transaction. */
static void insert_rows(const char *db, int n)
{
    h_sql(db,
          "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
          " WHERE i < %d)"
          " INSERT INTO items SELECT i, 'row-' || i, i FROM n",
          n);
}

/* A one-way target has no capture of its own, so the test records what
 * reaches the branch's items itself: one audit row per row written. */
static void audit_applies(void)
{
    h_sql(g_branch, "CREATE TABLE audit (id INTEGER NOT NULL);"
                    " CREATE TRIGGER audit_ins AFTER INSERT ON items BEGIN"
                    " INSERT INTO audit VALUES (NEW.id); END;"
                    " CREATE TRIGGER audit_upd AFTER UPDATE ON items BEGIN"
                    " INSERT INTO audit VALUES (NEW.id); END");
}

/* Each of the n keys was written on the target exactly once. */
static void assert_applied_once(int64_t n)
{
    ck_assert_int_eq(h_sql_int(g_branch, "SELECT count(*) FROM audit"), n);
    ck_assert_int_eq(
        h_sql_int(g_branch, "SELECT count(DISTINCT id) FROM audit"), n);
}

START_TEST(test_kill_9_mid_sync_resumes_exactly_once)
{
    h_make_items(g_shop, 0);
    h_make_items(g_branch, 0);
    job_items("one-way", "batch_size = 500\n");
    h_proc_free(rs_ok("init"));
    audit_applies();
    insert_rows(g_shop, 50000);

    h_proc_t *p = h_start("sync", g_job, NULL);
    int64_t seen = 0;
    int killed = signal_mid_way(p, SIGKILL, 50000, &seen);
    h_wait(p, 10000);
    ck_assert_msg(killed,
                  "could not catch the sync mid-pass (saw %lld rows): %s",
                  (long long)seen, h_describe(p));
    ck_assert_int_eq(p->term_signal, SIGKILL);
    h_proc_free(p);

    /* Only whole batches were committed. */
    int64_t after = h_sql_int(g_branch, "SELECT count(*) FROM items");
    ck_assert_msg(after < 50000, "all rows were applied before the kill");
    ck_assert_msg(
        after % 500 == 0,
        "%lld rows on the target after the kill: not whole batches of 500",
        (long long)after);

    h_proc_free(rs_ok("sync"));
    ck_assert_int_eq(h_sql_int(g_branch, "SELECT count(*) FROM items"), 50000);
    assert_same_items();
    assert_applied_once(50000);
}
END_TEST

/* An initial load killed half way resumes where it stopped. */
START_TEST(test_init_killed_mid_load_resumes)
{
    h_make_items(g_shop, 0);
    insert_rows(g_shop, 50000);
    h_make_items(g_branch, 0);
    job_items("one-way", "batch_size = 500\n");
    h_proc_t *p = h_start("init", g_job, NULL);
    int64_t seen = 0;
    int killed = signal_mid_way(p, SIGKILL, 50000, &seen);
    h_wait(p, 10000);
    ck_assert_msg(killed,
                  "could not catch the load mid-way (saw %lld rows): %s",
                  (long long)seen, h_describe(p));
    h_proc_free(p);
    int64_t after = h_sql_int(g_branch, "SELECT count(*) FROM items");
    ck_assert_msg(
        after % 500 == 0,
        "%lld rows on the target after the kill: not whole batches of 500",
        (long long)after);

    h_proc_free(rs_ok("init"));
    ck_assert_int_eq(h_sql_int(g_branch, "SELECT count(*) FROM items"), 50000);
    assert_same_items();
    sync_moves(0, 0, 0);
}
END_TEST

START_TEST(test_two_syncs_at_once_apply_once)
{
    h_make_items(g_shop, 0);
    h_make_items(g_branch, 0);
    job_items("one-way", "");
    h_proc_free(rs_ok("init"));
    audit_applies();
    insert_rows(g_shop, 5000);

    h_proc_t *a = h_start("sync", g_job, NULL);
    h_proc_t *b = h_start("sync", g_job, NULL);
    h_wait(a, H_TIMEOUT_MS);
    h_wait(b, H_TIMEOUT_MS);
    H_ASSERT_EXIT(a, 0);
    H_ASSERT_EXIT(b, 0);
    long ua = sync_upserted(a->out), ub = sync_upserted(b->out);
    ck_assert_msg(
        ua >= 0 && ub >= 0 && ua + ub == 5000,
        "the two passes upserted %ld + %ld rows, expected 5000 in all:\n"
        "%s\n%s",
        ua, ub, a->out, b->out);
    h_proc_free(a);
    h_proc_free(b);

    assert_same_items();
    assert_applied_once(5000);
}
END_TEST

/* Takes a write lock on every byte of db's pair-lock file, as a running
 * rowsync holds one of them (an open-file-description lock, like the
 * driver's). Returns the descriptor; closing it releases the lock. */
static int hold_pair_locks(const char *db)
{
    char path[4096];
    struct flock fl;
    int fd;

    snprintf(path, sizeof path, "%s.rowsync-lock", db);
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    ck_assert_msg(fd >= 0, "cannot open %s: %s", path, strerror(errno));
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET; /* l_start 0, l_len 0: the whole file */
    ck_assert_msg(fcntl(fd, F_OFD_SETLK, &fl) == 0, "cannot lock %s: %s", path,
                  strerror(errno));
    return fd;
}

/* A sync gives up waiting for the pair lock after lock_timeout, with a
 * message, and changes nothing; once the holder is gone it runs. The test
 * holds the lock files itself: a second rowsync started while a first one
 * runs raced its end on a fast machine. */
START_TEST(test_pair_lock_timeout)
{
    h_make_items(g_shop, 0);
    h_make_items(g_branch, 0);
    job_items("one-way", "batch_size = 200\nlock_timeout = 100ms\n");
    h_proc_free(rs_ok("init"));
    insert_rows(g_shop, 5000);

    int shop_fd = hold_pair_locks(g_shop), branch_fd = hold_pair_locks(g_branch);
    h_proc_t *second = h_run("sync", g_job, NULL);
    H_ASSERT_EXIT(second, 1);
    ck_assert_msg(has(second->err, "pair lock") &&
                      has(second->err, "held by another rowsync process"),
                  "no pair lock message: %s", h_describe(second));
    ck_assert_int_eq(h_sql_int(g_branch, "SELECT count(*) FROM items"), 0);
    h_proc_free(second);
    close(shop_fd);
    close(branch_fd);
    h_proc_free(rs_ok("sync"));
    assert_same_items();
}
END_TEST

/* ---- rowsync run -------------------------------------------------------- */

static int pr_row_11_on_branch(void *ud)
{
    (void)ud;
    int64_t n = 0;
    return h_sql_try_int(g_branch, &n,
                         "SELECT count(*) FROM items WHERE id = 11") == 0 &&
           n == 1;
}

/* `rowsync run` picks up a new row within a few intervals and stops with
 * exit 0 on the given signal. */
static void run_then_stop(int sig)
{
    seed_pair("one-way", 10, "interval = 200ms\n");
    h_proc_t *p = h_start("run", g_job, NULL);
    h_sleep_ms(100);
    h_sql(g_shop, "INSERT INTO items VALUES (11, 'live-11', 11)");
    int arrived = h_wait_until(5000, pr_row_11_on_branch, NULL);
    int alive = h_running(p);
    h_signal(p, sig);
    h_wait(p, 5000);
    ck_assert_msg(arrived, "row 11 did not reach the target within 5 s: %s",
                  h_describe(p));
    ck_assert_msg(alive, "rowsync run ended by itself: %s", h_describe(p));
    H_ASSERT_EXIT(p, 0);
    h_proc_free(p);
    assert_item(g_branch, 11, "live-11", 11);
    assert_same_items();
}

/* SIGTERM in the middle of a long pass: the current batch commits, then
 * run stops with exit 0; the next pass finishes the work exactly once. */
START_TEST(test_run_sigterm_mid_pass_commits_then_stops)
{
    h_make_items(g_shop, 0);
    h_make_items(g_branch, 0);
    job_items("one-way", "batch_size = 500\ninterval = 200ms\n");
    h_proc_free(rs_ok("init"));
    audit_applies();
    insert_rows(g_shop, 50000);

    h_proc_t *p = h_start("run", g_job, NULL);
    int64_t seen = 0;
    int sent = signal_mid_way(p, SIGTERM, 50000, &seen);
    h_wait(p, 10000);
    ck_assert_msg(sent, "could not catch the pass mid-way (saw %lld rows): %s",
                  (long long)seen, h_describe(p));
    H_ASSERT_EXIT(p, 0);
    h_proc_free(p);
    int64_t after = h_sql_int(g_branch, "SELECT count(*) FROM items");
    ck_assert_msg(
        after % 500 == 0,
        "%lld rows on the target after SIGTERM: not whole batches of 500",
        (long long)after);
    ck_assert_msg(after < 50000, "run finished the whole pass after SIGTERM");

    h_proc_free(rs_ok("sync"));
    assert_same_items();
    assert_applied_once(50000);
}
END_TEST

START_TEST(test_run_syncs_and_stops_on_sigterm)
{
    run_then_stop(SIGTERM);
}
END_TEST

START_TEST(test_run_stops_on_sigint)
{
    run_then_stop(SIGINT);
}
END_TEST

/* ---- bad input ------------------------------------------------------- */

START_TEST(test_check_good_job_changes_nothing)
{
    h_make_items(g_shop, 10);
    h_make_items(g_branch, 10);
    job_items("bidirectional", "");
    char *s = h_schema(g_shop), *b = h_schema(g_branch);
    h_proc_t *p = rs_ok("check");
    h_proc_free(p);
    assert_schema(g_shop, s);
    assert_schema(g_branch, b);
    ck_assert_int_eq(h_rowsync_objects(g_shop), 0);
    free(s);
    free(b);
}
END_TEST

START_TEST(test_sync_before_init_says_run_init)
{
    h_make_items(g_shop, 10);
    h_make_items(g_branch, 10);
    job_items("one-way", "");
    char *s = h_schema(g_shop), *b = h_schema(g_branch);
    h_proc_t *p = h_run("sync", g_job, NULL);
    H_ASSERT_EXIT(p, 1);
    assert_error_line(p);
    ck_assert_msg(has(p->err, "rowsync init"), "no hint to run init: %s",
                  h_describe(p));
    h_proc_free(p);
    assert_schema(g_shop, s);
    assert_schema(g_branch, b);
    free(s);
    free(b);
}
END_TEST

/* Runs check and init on a broken job: both fail with want_exit, neither
 * changes a schema. Returns check's process for further assertions. */
static h_proc_t *fails_cleanly(int want_exit, const char *db1, const char *db2)
{
    char *s1 = db1 ? h_schema(db1) : NULL;
    char *s2 = db2 ? h_schema(db2) : NULL;
    h_proc_t *init = h_run("init", g_job, NULL);
    H_ASSERT_EXIT(init, want_exit);
    assert_error_line(init);
    h_proc_free(init);
    h_proc_t *check = h_run("check", g_job, NULL);
    H_ASSERT_EXIT(check, want_exit);
    if (db1)
        assert_schema(db1, s1);
    if (db2)
        assert_schema(db2, s2);
    free(s1);
    free(s2);
    return check;
}

START_TEST(test_bad_unknown_key)
{
    h_make_items(g_shop, 10);
    h_make_items(g_branch, 10);
    h_write_file(g_job, "[job]\n"
                        "mode = one-way\n"
                        "source = shop\n"
                        "colour = blue\n"
                        "\n"
                        "[node shop]\n"
                        "driver = sqlite\n"
                        "path = shop.db\n"
                        "\n"
                        "[node branch]\n"
                        "driver = sqlite\n"
                        "path = branch.db\n"
                        "\n"
                        "[table items]\n");
    h_proc_t *p = fails_cleanly(2, g_shop, g_branch);
    assert_error_line(p);
    ck_assert_msg(strstr(p->err, "job.conf:4:") && strstr(p->err, "colour"),
                  "message lacks job.conf:4: and the key: %s", h_describe(p));
    h_proc_free(p);
}
END_TEST

START_TEST(test_bad_unknown_node_option)
{
    h_make_items(g_shop, 10);
    h_make_items(g_branch, 10);
    h_write_file(g_job, "[job]\n"
                        "mode = one-way\n"
                        "source = shop\n"
                        "\n"
                        "[node shop]\n"
                        "driver = sqlite\n"
                        "path = shop.db\n"
                        "\n"
                        "[node branch]\n"
                        "driver = sqlite\n"
                        "path = branch.db\n"
                        "flavour = vanilla\n"
                        "\n"
                        "[table items]\n");
    h_proc_t *p = fails_cleanly(2, g_shop, g_branch);
    assert_error_line(p);
    ck_assert_msg(strstr(p->err, "job.conf:12:") && strstr(p->err, "flavour"),
                  "message lacks job.conf:12: and the key: %s", h_describe(p));
    h_proc_free(p);
}
END_TEST

START_TEST(test_bad_unknown_driver)
{
    h_make_items(g_shop, 10);
    h_make_items(g_branch, 10);
    char *mods = h_path(g_dir, "mods");
    ck_assert_int_eq(mkdir(mods, 0700), 0);
    h_write_file(g_job, "[job]\n"
                        "mode = one-way\n"
                        "source = shop\n"
                        "\n"
                        "[node shop]\n"
                        "driver = sqlite\n"
                        "path = shop.db\n"
                        "\n"
                        "[node branch]\n"
                        "driver = nosuchdb\n"
                        "path = branch.db\n"
                        "\n"
                        "[table items]\n");
    char *s = h_schema(g_shop), *b = h_schema(g_branch);
    h_proc_t *init = h_run("--module-path", mods, "init", g_job, NULL);
    H_ASSERT_EXIT(init, 1);
    h_proc_free(init);
    assert_schema(g_shop, s);
    assert_schema(g_branch, b);

    h_proc_t *p = h_run("--module-path", mods, "check", g_job, NULL);
    H_ASSERT_EXIT(p, 1);
    assert_error_line(p);
    ck_assert_msg(strstr(p->err, "nosuchdb"), "driver not named: %s",
                  h_describe(p));
    ck_assert_msg(strstr(p->err, mods), "--module-path dir not listed: %s",
                  h_describe(p));
    /* Every existing directory of $ROWSYNC_MODULE_PATH is listed. */
    const char *env = getenv("ROWSYNC_MODULE_PATH");
    char *dirs = strdup(env ? env : "");
    for (char *save = NULL, *d = strtok_r(dirs, ":", &save); d;
         d = strtok_r(NULL, ":", &save)) {
        struct stat st;
        if (stat(d, &st) == 0 && S_ISDIR(st.st_mode))
            ck_assert_msg(strstr(p->err, d), "search dir %s not listed: %s", d,
                          h_describe(p));
    }
    free(dirs);
#ifdef ROWSYNC_DRIVERDIR
    ck_assert_msg(strstr(p->err, ROWSYNC_DRIVERDIR),
                  "install dir %s not listed: %s", ROWSYNC_DRIVERDIR,
                  h_describe(p));
#endif
    h_proc_free(p);
    free(mods);
    free(s);
    free(b);
}
END_TEST

START_TEST(test_bad_missing_table)
{
    h_make_items(g_shop, 10);
    h_sql_create(g_branch);
    h_sql(g_branch, "CREATE TABLE other(x INTEGER PRIMARY KEY)");
    job_items("bidirectional", "");
    h_proc_t *p = fails_cleanly(1, g_shop, g_branch);
    char *all = all_output(p);
    ck_assert_msg(strstr(all, "items") && strstr(all, "branch"),
                  "check does not name the table and node: %s", h_describe(p));
    free(all);
    h_proc_free(p);
    ck_assert_int_eq(h_rowsync_objects(g_shop), 0);
}
END_TEST

START_TEST(test_bad_table_without_key)
{
    h_sql_create(g_shop);
    h_sql_create(g_branch);
    h_sql(g_shop, "CREATE TABLE notes(a TEXT, b TEXT); INSERT INTO notes "
                  "VALUES ('x', 'y')");
    h_sql(g_branch, "CREATE TABLE notes(a TEXT, b TEXT)");
    h_write_file(g_job, "[job]\n"
                        "mode = one-way\n"
                        "source = shop\n"
                        "\n"
                        "[node shop]\n"
                        "driver = sqlite\n"
                        "path = shop.db\n"
                        "\n"
                        "[node branch]\n"
                        "driver = sqlite\n"
                        "path = branch.db\n"
                        "\n"
                        "[table notes]\n");
    char *s = h_schema(g_shop), *b = h_schema(g_branch);
    h_proc_t *init = h_run("init", g_job, NULL);
    ck_assert_msg(init->ended && !init->term_signal &&
                      (init->status == 1 || init->status == 2),
                  "expected exit 1 or 2: %s", h_describe(init));
    h_proc_free(init);
    h_proc_t *p = h_run("check", g_job, NULL);
    ck_assert_msg(p->ended && !p->term_signal &&
                      (p->status == 1 || p->status == 2),
                  "expected exit 1 or 2: %s", h_describe(p));
    char *all = all_output(p);
    ck_assert_msg(
        strstr(all, "notes") && (strstr(all, "shop") || strstr(all, "branch")),
        "message does not name the table and node: %s", h_describe(p));
    ck_assert_msg(has(all, "key") && has(all, "set"),
                  "message does not say to set key: %s", h_describe(p));
    free(all);
    h_proc_free(p);
    assert_schema(g_shop, s);
    assert_schema(g_branch, b);
    free(s);
    free(b);
}
END_TEST

/* The branch node's path is replaced by `path`; shop stays a good node. */
static void job_branch_path(const char *path)
{
    h_write_file(g_job,
                 "[job]\n"
                 "mode = one-way\n"
                 "source = shop\n"
                 "\n"
                 "[node shop]\n"
                 "driver = sqlite\n"
                 "path = shop.db\n"
                 "\n"
                 "[node branch]\n"
                 "driver = sqlite\n"
                 "path = %s\n"
                 "\n"
                 "[table items]\n",
                 path);
}

START_TEST(test_bad_missing_database)
{
    h_make_items(g_shop, 10);
    job_branch_path("missing.db");
    char *missing = h_path(g_dir, "missing.db");
    h_proc_t *p = fails_cleanly(1, g_shop, NULL);
    assert_error_line(p);
    ck_assert_msg(strstr(p->err, "branch") && strstr(p->err, "missing.db"),
                  "message does not name node and path: %s", h_describe(p));
    ck_assert_msg(!h_exists(missing), "rowsync created %s", missing);
    h_proc_free(p);
    free(missing);
}
END_TEST

START_TEST(test_bad_unreadable_database)
{
    h_make_items(g_shop, 10);
    /* A directory cannot be opened as a database, even by root. */
    char *dir = h_path(g_dir, "dir.db");
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    job_branch_path("dir.db");
    h_proc_t *p = fails_cleanly(1, g_shop, NULL);
    assert_error_line(p);
    ck_assert_msg(strstr(p->err, "branch") && strstr(p->err, "dir.db"),
                  "message does not name node and path: %s", h_describe(p));
    h_proc_free(p);
    free(dir);

    if (geteuid() != 0) {
        h_make_items(g_branch, 10);
        ck_assert_int_eq(chmod(g_branch, 0), 0);
        job_branch_path("branch.db");
        p = fails_cleanly(1, g_shop, NULL);
        assert_error_line(p);
        ck_assert_msg(strstr(p->err, "branch") && strstr(p->err, "branch.db"),
                      "message does not name node and path: %s", h_describe(p));
        h_proc_free(p);
        chmod(g_branch, 0600);
    }
}
END_TEST

START_TEST(test_bad_not_a_database)
{
    h_make_items(g_shop, 10);
    char text[4096];
    size_t n = 0;
    while (n + 40 < sizeof text)
        n += (size_t)snprintf(text + n, sizeof text - n,
                              "this is not a database, %03zu\n", n / 30 % 1000);
    h_write_file(g_branch, "%s", text);
    job_branch_path("branch.db");
    h_proc_t *p = fails_cleanly(1, g_shop, NULL);
    assert_error_line(p);
    ck_assert_msg(strstr(p->err, "branch") && strstr(p->err, "branch.db"),
                  "message does not name node and path: %s", h_describe(p));
    h_proc_free(p);
    char *now = h_read_file(g_branch, NULL);
    ck_assert_msg(now && strcmp(now, text) == 0,
                  "rowsync modified the non-database");
    free(now);
}
END_TEST

/* ---- status ------------------------------------------------------------ */

START_TEST(test_status_counts_pending)
{
    seed_pair("one-way", 10, "");
    h_sql(g_shop, "UPDATE items SET qty = 100 WHERE id = 1;"
                  "UPDATE items SET qty = 101 WHERE id = 1;"
                  "INSERT INTO items VALUES (11, 'new-11', 11);"
                  "DELETE FROM items WHERE id = 2");
    h_proc_t *st = rs_ok("status");
    /* Net changes: key 1 (two updates), 11 and 2. */
    ck_assert_msg(h_line_has(st->out, "pending", 3),
                  "status does not report 3 pending changes: %s",
                  h_describe(st));
    h_proc_free(st);
    sync_moves(2, 1, 0);
    st = rs_ok("status");
    ck_assert_msg(
        h_line_has(st->out, "pending", 0) && !h_line_has(st->out, "pending", 3),
        "status still reports pending changes after sync: %s", h_describe(st));
    h_proc_free(st);
}
END_TEST

/* ---- teardown and history ---------------------------------------------- */

START_TEST(test_teardown_removes_everything)
{
    seed_pair("bidirectional", 10, "");
    h_sql(g_shop, "UPDATE items SET name = 'shop-6', qty = 60 WHERE id = 6");
    h_sleep_ms(20);
    h_sql(g_branch, "UPDATE items SET name = 'branch-6', qty = 61 WHERE id = 6;"
                    "INSERT INTO items VALUES (20, 'branch-20', 20)");
    h_proc_free(rs_ok("sync"));
    ck_assert_msg(h_rowsync_objects(g_shop) > 0, "nothing installed on shop");
    char *shop_rows = h_dump(g_shop, "items", "id");
    char *branch_rows = h_dump(g_branch, "items", "id");

    h_proc_free(rs_ok("teardown"));
    char *left = h_sql_rows(g_shop, "SELECT type, name FROM sqlite_master"
                                    " WHERE name GLOB 'rowsync*'");
    ck_assert_msg(*left == '\0', "left on shop:\n%s", left);
    free(left);
    left = h_sql_rows(g_branch, "SELECT type, name FROM sqlite_master"
                                " WHERE name GLOB 'rowsync*'");
    ck_assert_msg(*left == '\0', "left on branch:\n%s", left);
    free(left);

    char *s2 = h_dump(g_shop, "items", "id"),
         *b2 = h_dump(g_branch, "items", "id");
    ck_assert_str_eq(s2, shop_rows);
    ck_assert_str_eq(b2, branch_rows);
    /* Writes work without the triggers. */
    h_sql(g_shop, "UPDATE items SET qty = 0 WHERE id = 1");
    free(s2);
    free(b2);
    free(shop_rows);
    free(branch_rows);
}
END_TEST

START_TEST(test_history_clear_empties_history)
{
    seed_pair("bidirectional", 10, "");
    h_sql(g_shop, "UPDATE items SET qty = 100 WHERE id = 1");
    h_sql(g_branch, "UPDATE items SET qty = 200 WHERE id = 2");
    ck_assert_int_gt(h_sql_int(g_shop, "SELECT count(*) FROM rowsync_h_items"),
                     0);
    ck_assert_int_gt(
        h_sql_int(g_branch, "SELECT count(*) FROM rowsync_h_items"), 0);

    h_proc_t *p = h_run("history", "clear", g_job, NULL);
    H_ASSERT_EXIT(p, 0);
    h_proc_free(p);
    ck_assert_int_eq(h_sql_int(g_shop, "SELECT count(*) FROM rowsync_h_items"),
                     0);
    ck_assert_int_eq(
        h_sql_int(g_branch, "SELECT count(*) FROM rowsync_h_items"), 0);
    /* The pending changes were dropped. */
    sync_moves(0, 0, 0);
    assert_item(g_branch, 1, "item-1", 1);
    assert_item(g_shop, 2, "item-2", 2);
}
END_TEST

/* Cursors stay after history clear: later changes still flow, even though
 * the cursor already passed positions the cleared history used. */
START_TEST(test_history_clear_keeps_later_changes_flowing)
{
    seed_pair("one-way", 10, "");
    h_sql(g_shop, "UPDATE items SET qty = 101 WHERE id = 1;"
                  "UPDATE items SET qty = 102 WHERE id = 2;"
                  "UPDATE items SET qty = 103 WHERE id = 3");
    sync_moves(3, 0, 0);
    h_proc_t *p = h_run("history", "clear", g_job, NULL);
    H_ASSERT_EXIT(p, 0);
    h_proc_free(p);

    h_sql(g_shop,
          "UPDATE items SET name = 'after-clear', qty = 4 WHERE id = 4");
    sync_moves(1, 0, 0);
    assert_item(g_branch, 4, "after-clear", 4);
    assert_same_items();
}
END_TEST

/* ---- types -------------------------------------------------------------- */

#define TYPED_COLS "id, i, r, t, b, d, dtext, dt, ts"

/* Every column of typed as storage class and quoted value. */
static char *typed_rows(const char *db)
{
    return h_sql_rows(
        db, "SELECT id, typeof(i) || ':' || quote(i),"
            " typeof(r) || ':' || quote(r), typeof(t) || ':' || quote(t),"
            " typeof(b) || ':' || quote(b), typeof(d) || ':' || quote(d),"
            " typeof(dtext) || ':' || quote(dtext),"
            " typeof(dt) || ':' || quote(dt), typeof(ts) || ':' || quote(ts)"
            " FROM typed ORDER BY id");
}

/* Values keep their storage class and every bit: 64-bit integer limits,
 * reals, UTF-8 text, blobs with NUL bytes, NULLs, dates and timestamps.
 * SQLite's NUMERIC affinity turns 25-digit decimal text written to the
 * DECIMAL column into a REAL (on both nodes alike), so the exact 25-digit
 * text is kept in dtext, a TEXT column, and must stay text. */
START_TEST(test_types_travel_unchanged)
{
    const char *ddl =
        "CREATE TABLE typed(id INTEGER PRIMARY KEY, i INTEGER, r REAL,"
        " t TEXT, b BLOB, d DECIMAL(30,5), dtext TEXT, dt DATE,"
        " ts TIMESTAMP)";
    h_sql_create(g_shop);
    h_sql_create(g_branch);
    h_sql(g_shop, "%s", ddl);
    h_sql(g_branch, "%s", ddl);
    /* Row 1 travels by the initial load, the others by sync. */
    h_sql(g_shop,
          "INSERT INTO typed VALUES (1, 9223372036854775807, 3.141592653589793,"
          " 'Grüße — 日本語 😀', X'00FF0000017F80FE',"
          " '12345678901234567890.12345', '12345678901234567890.12345',"
          " '2024-02-29', '2024-02-29 23:59:59.123456')");
    h_write_file(g_job, "[job]\n"
                        "mode = one-way\n"
                        "source = shop\n"
                        "\n"
                        "[node shop]\n"
                        "driver = sqlite\n"
                        "path = shop.db\n"
                        "\n"
                        "[node branch]\n"
                        "driver = sqlite\n"
                        "path = branch.db\n"
                        "\n"
                        "[table typed]\n");
    h_proc_free(rs_ok("init"));
    h_sql(
        g_shop,
        "INSERT INTO typed VALUES (2, -9223372036854775808, 1e-300,"
        " 'O''Brien'' ; DROP TABLE typed; --', X'', 12.5,"
        " '-0.0000000000000000000000001', '1970-01-01',"
        " '2038-01-19T03:14:08.999999+05:30');"
        "INSERT INTO typed VALUES (3, NULL, NULL, NULL, NULL, NULL, NULL,"
        " NULL, NULL);"
        "INSERT INTO typed VALUES (4, 0, 6.02214076e23, '', X'00', 42,"
        " '99999999999999999999999.99', '9999-12-31', '0001-01-01 00:00:00');"
        "INSERT INTO typed VALUES (5, -1, -2.5e-7, 'tab' || char(9) || 'nl' ||"
        " char(10) || 'end ✓', X'000000', '0.1', '1e400', '2000-01-01',"
        " '2000-01-01 00:00:00.000001Z');"
        "UPDATE typed SET t = t || ' ✓', b = X'00FF0000017F80FE00'"
        " WHERE id = 1");
    h_proc_free(rs_ok("sync"));

    char *a = typed_rows(g_shop), *b = typed_rows(g_branch);
    ck_assert_str_eq(b, a);
    free(a);
    free(b);
    assert_same_table(g_shop, g_branch, "typed", "id");
    /* The 25-digit decimal text stayed text on the target. */
    ck_assert_int_eq(h_sql_int(g_branch, "SELECT typeof(dtext) = 'text' AND"
                                         " dtext = '12345678901234567890.12345'"
                                         " FROM typed WHERE id = 1"),
                     1);
    ck_assert_int_eq(
        h_sql_int(g_branch, "SELECT length(b) FROM typed WHERE id = 1"), 9);
}
END_TEST

/* ---- column mapping and subset filters ---------------------------------- */

/* shop: customers in canonical names; branch: clients with other names,
 * without region and active, with a country of its own. */
static void make_customers(void)
{
    h_sql_create(g_shop);
    h_sql(g_shop, "CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT,"
                  " email TEXT, region TEXT, active INTEGER);"
                  "INSERT INTO customers VALUES (1, 'Ann', 'ann@x', 'EU', 1);"
                  "INSERT INTO customers VALUES (2, 'Bob', 'bob@x', 'US', 1);"
                  "INSERT INTO customers VALUES (3, 'Cid', 'cid@x', 'EU', 0);"
                  "INSERT INTO customers VALUES (6, 'Fay', NULL, NULL, 1)");
    h_sql_create(g_branch);
    h_sql(g_branch, "CREATE TABLE clients(client_id INTEGER PRIMARY KEY,"
                    " full_name TEXT, email_hash TEXT, country TEXT)");
}

/* The one-way customers job; table_extra goes into [table customers]. */
static void job_customers(const char *table_extra)
{
    h_write_file(g_job,
                 "[job]\n"
                 "mode = one-way\n"
                 "source = shop\n"
                 "[node shop]\n"
                 "driver = sqlite\n"
                 "path = shop.db\n"
                 "[node branch]\n"
                 "driver = sqlite\n"
                 "path = branch.db\n"
                 "[table customers]\n"
                 "filter = region = 'EU' AND active\n"
                 "%s"
                 "[table customers @ branch]\n"
                 "name = clients\n"
                 "map = id:client_id, name:full_name, email:email_hash\n"
                 "skip = region, active\n"
                 "fill = country:'DE'\n",
                 table_extra);
}

static char *clients(void)
{
    return h_sql_rows(g_branch, "SELECT client_id, full_name, email_hash,"
                                " country FROM clients ORDER BY client_id");
}

static void assert_clients(const char *want)
{
    char *got = clients();
    char *expected = h_sql_rows(g_branch, "%s", want);
    ck_assert_msg(strcmp(got, expected) == 0,
                  "clients on branch:\n%s\nwant:\n%s", got, expected);
    free(got);
    free(expected);
}

START_TEST(test_mapping_oneway_renames_skip_fill_filter)
{
    make_customers();
    job_customers("");
    h_proc_free(rs_ok("init"));
    /* only Ann is in the subset (EU and active) */
    assert_clients("SELECT 1, 'Ann', 'ann@x', 'DE'");
    h_sql(g_shop,
          "INSERT INTO customers VALUES (4, 'Dee', 'dee@x', 'EU', 1);"
          "INSERT INTO customers VALUES (5, 'Eve', 'eve@x', 'US', 1);"
          "UPDATE customers SET name = 'Ann B' WHERE id = 1;"
          "UPDATE customers SET region = 'EU' WHERE id = 2;" /* enters */
          "UPDATE customers SET active = 1 WHERE id = 3");   /* enters */
    h_proc_free(rs_ok("sync"));
    assert_clients("SELECT 1, 'Ann B', 'ann@x', 'DE' UNION ALL "
                   "SELECT 2, 'Bob', 'bob@x', 'DE' UNION ALL "
                   "SELECT 3, 'Cid', 'cid@x', 'DE' UNION ALL "
                   "SELECT 4, 'Dee', 'dee@x', 'DE'");
    /* leaving the subset deletes on the target; a NULL region is unknown,
     * so the row is not in the subset either */
    h_sql(g_shop, "UPDATE customers SET region = 'US' WHERE id = 1;"
                  "UPDATE customers SET active = 0 WHERE id = 2;"
                  "UPDATE customers SET name = 'Fay B' WHERE id = 6;"
                  "DELETE FROM customers WHERE id = 4;"
                  "UPDATE customers SET email = 'c@x' WHERE id = 3");
    h_proc_free(rs_ok("sync"));
    assert_clients("SELECT 3, 'Cid', 'c@x', 'DE'");
    /* and coming back arrives again */
    h_sql(g_shop, "UPDATE customers SET region = 'EU' WHERE id = 1");
    h_proc_free(rs_ok("sync"));
    assert_clients("SELECT 1, 'Ann B', 'ann@x', 'DE' UNION ALL "
                   "SELECT 3, 'Cid', 'c@x', 'DE'");
}
END_TEST

/* A fill column takes its value when a row is inserted on the target;
 * a later update of that row leaves it alone, so a change made to it on
 * the target survives. */
START_TEST(test_fill_is_written_on_insert_only)
{
    make_customers();
    job_customers("");
    h_proc_free(rs_ok("init"));
    assert_clients("SELECT 1, 'Ann', 'ann@x', 'DE'");
    h_sql(g_branch, "UPDATE clients SET country = 'AT' WHERE client_id = 1");
    h_sql(g_shop, "UPDATE customers SET name = 'Ann B' WHERE id = 1;"
                  "INSERT INTO customers VALUES (4, 'Dee', 'dee@x', 'EU', 1)");
    h_proc_free(rs_ok("sync"));
    assert_clients("SELECT 1, 'Ann B', 'ann@x', 'AT' UNION ALL "
                   "SELECT 4, 'Dee', 'dee@x', 'DE'");
    /* a row that leaves the subset and comes back is inserted again */
    h_sql(g_shop, "UPDATE customers SET region = 'US' WHERE id = 1");
    h_proc_free(rs_ok("sync"));
    h_sql(g_shop, "UPDATE customers SET region = 'EU' WHERE id = 1");
    h_proc_free(rs_ok("sync"));
    assert_clients("SELECT 1, 'Ann B', 'ann@x', 'DE' UNION ALL "
                   "SELECT 4, 'Dee', 'dee@x', 'DE'");
}
END_TEST

START_TEST(test_filter_leaving_keep_keeps_the_row)
{
    make_customers();
    job_customers("leaving = keep\n");
    h_proc_free(rs_ok("init"));
    h_sql(g_shop, "UPDATE customers SET name = 'Ann B', region = 'US'"
                  " WHERE id = 1");
    h_proc_free(rs_ok("sync"));
    /* kept as it was when it left */
    assert_clients("SELECT 1, 'Ann', 'ann@x', 'DE'");
    h_sql(g_shop, "DELETE FROM customers WHERE id = 1");
    h_proc_free(rs_ok("sync"));
    assert_clients("SELECT 1 WHERE 0");
}
END_TEST

START_TEST(test_check_prints_resolved_mapping)
{
    make_customers();
    job_customers("");
    h_proc_t *p = rs_ok("check");
    char *out = all_output(p);
    ck_assert_msg(strstr(out, "on branch: as clients: id -> client_id, name "
                              "-> full_name, email -> email_hash, region "
                              "(skipped), active (skipped), country = DE "
                              "(filled)") != NULL,
                  "no mapping line: %s", out);
    ck_assert_msg(strstr(out, "filter: region = 'EU' AND active (rows leaving "
                              "it are deleted)") != NULL,
                  "no filter line: %s", out);
    free(out);
    h_proc_free(p);
}
END_TEST

START_TEST(test_check_names_unmapped_column)
{
    make_customers();
    h_sql(g_shop, "CREATE TABLE orders(id INTEGER PRIMARY KEY, total INTEGER)");
    h_write_file(g_job, "[job]\nmode = one-way\nsource = shop\n"
                        "[node shop]\ndriver = sqlite\npath = shop.db\n"
                        "[node branch]\ndriver = sqlite\npath = branch.db\n"
                        "[table customers]\n"
                        "[table customers @ branch]\n" /* line 11 */
                        "name = clients\n"
                        "map = id:client_id, name:full_name\n"
                        "[table orders]\n");
    h_proc_t *p = fails_cleanly(1, g_shop, g_branch);
    char *out = all_output(p);
    ck_assert_msg(strstr(out, "column 'email' of table 'customers' not found "
                              "on node 'branch' as table clients; map it "
                              "(map = email:NAME) or skip it (skip = email)") !=
                          NULL &&
                      strstr(out, "job.conf:11") != NULL,
                  "unclear message: %s", out);
    /* every problem is reported, not only the first */
    ck_assert_msg(h_lines_with(out, "problem:", "customers") &&
                      h_lines_with(out, "problem:", "orders"),
                  "check does not list both problems: %s", out);
    free(out);
    h_proc_free(p);
}
END_TEST

/* One check lists every column a node can neither find, map nor skip,
 * on every node and table, not only the first, then exits non-zero. */
START_TEST(test_check_reports_every_unresolved_column)
{
    make_customers();
    h_sql(g_shop, "CREATE TABLE orders(id INTEGER PRIMARY KEY, total INTEGER,"
                  " note TEXT)");
    h_sql(g_branch, "CREATE TABLE orders(id INTEGER PRIMARY KEY)");
    h_write_file(g_job, "[job]\nmode = one-way\nsource = shop\n"
                        "[node shop]\ndriver = sqlite\npath = shop.db\n"
                        "[node branch]\ndriver = sqlite\npath = branch.db\n"
                        "[table customers]\n"
                        "[table customers @ branch]\n"
                        "name = clients\n"
                        "map = id:client_id\n"
                        "[table orders]\n");
    h_proc_t *p = fails_cleanly(1, g_shop, g_branch);
    char *out = all_output(p);
    static const char *const missing[] = {"'name' of table 'customers'",
                                          "'email' of table 'customers'",
                                          "'region' of table 'customers'",
                                          "'active' of table 'customers'",
                                          "'total' of table 'orders'",
                                          "'note' of table 'orders'"};
    for (size_t i = 0; i < sizeof(missing) / sizeof(missing[0]); i++)
        ck_assert_msg(h_lines_with(out, "problem:", missing[i]),
                      "no problem line for column %s: %s", missing[i], out);
    ck_assert_msg(strstr(out, "job ") == NULL || strstr(out, ": ok") == NULL,
                  "check says ok: %s", out);
    free(out);
    h_proc_free(p);
}
END_TEST

START_TEST(test_filter_parse_error_names_line_and_column)
{
    make_customers();
    h_write_file(g_job, "[job]\nmode = one-way\nsource = shop\n"
                        "[node shop]\ndriver = sqlite\npath = shop.db\n"
                        "[node branch]\ndriver = sqlite\npath = branch.db\n"
                        "[table customers]\n"
                        "filter = region = 'EU' AND AND active\n"); /* 11 */
    h_proc_t *p = fails_cleanly(2, g_shop, g_branch);
    char *out = all_output(p);
    ck_assert_msg(strstr(out, "job.conf:11: column 28: filter of [table "
                              "customers]: expected a value or a column "
                              "name, found 'AND'") != NULL,
                  "no line and column: %s", out);
    free(out);
    h_proc_free(p);
}
END_TEST

START_TEST(test_filter_type_error_names_key)
{
    make_customers();
    job_customers("");
    h_proc_free(rs_ok("init"));
    /* region is text: comparing it with a number is an error, not false */
    h_write_file(g_job, "[job]\nmode = one-way\nsource = shop\n"
                        "[node shop]\ndriver = sqlite\npath = shop.db\n"
                        "[node branch]\ndriver = sqlite\npath = branch.db\n"
                        "[table customers]\n"
                        "filter = region = 1\n"
                        "[table customers @ branch]\n"
                        "name = clients\n"
                        "map = id:client_id, name:full_name, email:email_hash\n"
                        "skip = region, active\n");
    h_sql(g_shop, "UPDATE customers SET name = 'Ann B' WHERE id = 1");
    h_proc_t *p = h_run("sync", g_job, NULL);
    H_ASSERT_EXIT(p, 1);
    ck_assert_msg(strstr(p->err, "node 'shop', table 'customers', key '1': at "
                                 "column 8 of the filter: cannot compare text "
                                 "with number") != NULL,
                  "unclear message: %s", h_describe(p));
    h_proc_free(p);
    assert_clients("SELECT 1, 'Ann', 'ann@x', 'DE'");
}
END_TEST

START_TEST(test_conversion_error_names_key_and_column_and_applies_nothing)
{
    h_sql_create(g_shop);
    h_sql(g_shop, "CREATE TABLE items(id INTEGER PRIMARY KEY, code TEXT)");
    h_sql_create(g_branch);
    h_sql(g_branch, "CREATE TABLE items(id INTEGER PRIMARY KEY,"
                    " code INTEGER)");
    job_items("one-way", "");
    h_proc_free(rs_ok("init"));
    h_sql(g_shop, "INSERT INTO items VALUES (1, '12');"
                  "INSERT INTO items VALUES (2, 'twelve');"
                  "INSERT INTO items VALUES (3, '13')");
    h_proc_t *p = h_run("sync", g_job, NULL);
    H_ASSERT_EXIT(p, 1);
    ck_assert_msg(strstr(p->err, "node 'branch', table 'items', key '2', "
                                 "column 'code': cannot convert text "
                                 "'twelve' to int") != NULL,
                  "unclear message: %s", h_describe(p));
    h_proc_free(p);
    ck_assert_int_eq(h_sql_int(g_branch, "SELECT count(*) FROM items"), 0);
    /* once fixed at the source, the whole batch travels, converted */
    h_sql(g_shop, "UPDATE items SET code = '-2' WHERE id = 2");
    h_proc_free(rs_ok("sync"));
    ck_assert_int_eq(h_sql_int(g_branch, "SELECT sum(code) FROM items"
                                         " WHERE typeof(code) = 'integer'"),
                     23);
}
END_TEST

/* A change that cannot convert half way through a long pass: the batches
 * before it are committed (the next batch is read while the previous one
 * is applied, and an error there stops the pass after what was applied),
 * the error names the key, and once the row is fixed the rest follows. */
START_TEST(test_conversion_error_mid_pass_keeps_earlier_batches)
{
    h_sql_create(g_shop);
    h_sql(g_shop, "CREATE TABLE items(id INTEGER PRIMARY KEY, code TEXT)");
    h_sql_create(g_branch);
    h_sql(g_branch, "CREATE TABLE items(id INTEGER PRIMARY KEY,"
                    " code INTEGER)");
    job_items("one-way", "batch_size = 500\n");
    h_proc_free(rs_ok("init"));
    h_sql(g_shop, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1"
                  " FROM n WHERE i < 20000) INSERT INTO items SELECT i,"
                  " CASE WHEN i = 12345 THEN 'x' ELSE i END FROM n");
    h_proc_t *p = h_run("sync", g_job, NULL);
    H_ASSERT_EXIT(p, 1);
    ck_assert_msg(strstr(p->err, "key '12345', column 'code': cannot convert"
                                 " text 'x' to int") != NULL,
                  "unclear message: %s", h_describe(p));
    h_proc_free(p);
    /* whole batches, all of them before the bad row */
    int64_t n = h_sql_int(g_branch, "SELECT count(*) FROM items");
    ck_assert_msg(n >= 12000 && n < 12345 && n % 500 == 0,
                  "%lld rows applied before the error", (long long)n);
    ck_assert_int_eq(h_sql_int(g_branch, "SELECT max(id) FROM items"), n);
    h_sql(g_shop, "UPDATE items SET code = '7' WHERE id = 12345");
    h_proc_free(rs_ok("sync"));
    ck_assert_int_eq(h_sql_int(g_branch, "SELECT count(*) FROM items"), 20000);
    ck_assert_int_eq(h_sql_int(g_branch, "SELECT code FROM items"
                                         " WHERE id = 12345"),
                     7);
}
END_TEST

START_TEST(test_mapping_bidirectional_renames)
{
    h_make_items(g_shop, 3);
    h_sql_create(g_branch);
    h_sql(g_branch, "CREATE TABLE stock(sku INTEGER PRIMARY KEY,"
                    " label TEXT, qty INTEGER)");
    h_write_file(g_job, "[job]\nmode = bidirectional\nsource = shop\n"
                        "[node shop]\ndriver = sqlite\npath = shop.db\n"
                        "[node branch]\ndriver = sqlite\npath = branch.db\n"
                        "[table items]\n"
                        "[table items @ branch]\n"
                        "name = stock\n"
                        "map = id:sku, name:label\n");
    h_proc_free(rs_ok("init"));
    char *want =
        h_sql_rows(g_shop, "SELECT id, name, qty FROM items ORDER BY 1");
    char *got =
        h_sql_rows(g_branch, "SELECT sku, label, qty FROM stock ORDER BY 1");
    ck_assert_str_eq(got, want);
    free(got);
    free(want);
    h_sql(g_shop, "UPDATE items SET qty = 50 WHERE id = 1");
    h_sql(g_branch, "INSERT INTO stock VALUES (9, 'from-branch', 9);"
                    "UPDATE stock SET label = 'b-2' WHERE sku = 2;"
                    "DELETE FROM stock WHERE sku = 3");
    h_proc_free(rs_ok("sync"));
    want = h_sql_rows(g_shop, "SELECT id, name, qty FROM items ORDER BY 1");
    got = h_sql_rows(g_branch, "SELECT sku, label, qty FROM stock ORDER BY 1");
    ck_assert_str_eq(got, want);
    ck_assert_int_eq(h_sql_int(g_shop, "SELECT count(*) FROM items"), 3);
    ck_assert_int_eq(h_sql_int(g_shop, "SELECT qty FROM items WHERE id = 9"),
                     9);
    ck_assert_int_eq(h_sql_int(g_branch, "SELECT qty FROM stock WHERE sku = 1"),
                     50);
    free(got);
    free(want);
    h_proc_free(rs_ok("teardown"));
    ck_assert_int_eq(h_rowsync_objects(g_branch), 0);
}
END_TEST

/* ---- transform plugins --------------------------------------------------- */

#define MASK_EMAIL                                                             \
    "[plugin hide]\n"                                                          \
    "module = mask\n"                                                          \
    "columns = email\n"                                                        \
    "method = sha256\n"

START_TEST(test_plugin_mask_email_oneway)
{
    make_customers();
    /* the chain of [table customers] runs in every direction */
    job_customers("plugins = hide\n" MASK_EMAIL);
    h_proc_t *p = rs_ok("check");
    ck_assert_msg(strstr(p->out, "  plugins: hide (mask)\n") != NULL,
                  "check prints no plugin chain: %s", h_describe(p));
    h_proc_free(p);
    h_proc_free(rs_ok("init"));
    /* sha256("ann@x"); the mask runs in canonical names (email), the
     * target stores it in email_hash */
    assert_clients("SELECT 1, 'Ann', '1910ee9900e5730f4b5c7244728fe9f7"
                   "90a4f1e65b8d702c6733aaf227e7419b', 'DE'");
    h_sql(g_shop, "INSERT INTO customers VALUES (4, 'Dee', 'dee@x', 'EU', 1);"
                  "UPDATE customers SET email = 'c@x', active = 1"
                  " WHERE id = 3;"
                  "UPDATE customers SET name = 'Ann B' WHERE id = 1");
    h_proc_free(rs_ok("sync"));
    assert_clients("SELECT 1, 'Ann B', '1910ee9900e5730f4b5c7244728fe9f7"
                   "90a4f1e65b8d702c6733aaf227e7419b', 'DE' UNION ALL "
                   "SELECT 3, 'Cid', '84898daac4bb9c94cd2c554e497be369"
                   "38f5887f3349c34c7cb0a13edf1feef0', 'DE' UNION ALL "
                   "SELECT 4, 'Dee', 'a63a48f66ee2834a07ac39b5f8378c96"
                   "8718c0d1cebaa185997e6a0724f8e34c', 'DE'");
    h_sql(g_shop, "DELETE FROM customers WHERE id = 4");
    h_proc_free(rs_ok("sync"));
    ck_assert_int_eq(h_sql_int(g_branch, "SELECT count(*) FROM clients"), 2);
    /* the source keeps its clear text */
    ck_assert_int_eq(h_sql_int(g_shop, "SELECT count(*) FROM customers"
                                       " WHERE email = 'ann@x'"),
                     1);
}
END_TEST

/* An items job (id, code) from shop to branch; extra goes into
 * [table items] and may add sections after it. */
static void job_plugin_items(const char *mode, const char *extra)
{
    h_write_file(g_job,
                 "[job]\nmode = %s\nsource = shop\n"
                 "[node shop]\ndriver = sqlite\npath = shop.db\n"
                 "[node branch]\ndriver = sqlite\npath = branch.db\n"
                 "[table items]\n%s",
                 mode, extra);
}

static void make_plugin_items(void)
{
    h_sql_create(g_shop);
    h_sql(g_shop, "CREATE TABLE items(id INTEGER PRIMARY KEY, code TEXT)");
    h_sql_create(g_branch);
    h_sql(g_branch, "CREATE TABLE items(id INTEGER PRIMARY KEY, code TEXT)");
}

static void assert_branch_items(const char *want)
{
    char *got = h_sql_rows(g_branch, "SELECT id, code FROM items ORDER BY id");
    char *expected = h_sql_rows(g_branch, "%s", want);
    ck_assert_msg(strcmp(got, expected) == 0, "items on branch:\n%s\nwant:\n%s",
                  got, expected);
    free(got);
    free(expected);
}

START_TEST(test_plugin_map_status_codes)
{
    make_plugin_items();
    char *csv = h_path(g_dir, "codes.csv");
    h_write_file(csv, "N,new\nP,paid\n");
    /* the target's chain: only changes going to branch */
    job_plugin_items("one-way",
                     "[table items @ branch]\nplugins = codes\n"
                     "[plugin codes]\nmodule = map\ncolumn = code\n"
                     "values = 'N':'new', 'P':'paid'\n");
    h_sql(g_shop, "INSERT INTO items VALUES (1, 'N');"
                  "INSERT INTO items VALUES (2, 'P');"
                  "INSERT INTO items VALUES (3, 'X')");
    h_proc_free(rs_ok("init"));
    assert_branch_items("SELECT 1, 'new' UNION ALL SELECT 2, 'paid' "
                        "UNION ALL SELECT 3, 'X'");
    /* the same lookup from a CSV file, unmatched values to NULL */
    job_plugin_items("one-way", h_strf("plugins = codes\n"
                                       "[plugin codes]\nmodule = map\n"
                                       "column = code\nfile = %s\n"
                                       "unmatched = null\n",
                                       csv));
    h_sql(g_shop, "UPDATE items SET code = 'P' WHERE id = 1;"
                  "UPDATE items SET code = 'Q' WHERE id = 3");
    h_proc_free(rs_ok("sync"));
    assert_branch_items("SELECT 1, 'paid' UNION ALL SELECT 2, 'paid' "
                        "UNION ALL SELECT 3, NULL");
    free(csv);
}
END_TEST

/* plugin_columns: the target has a column the source lacks (updated_by);
 * the `set` plugin gives it a value on the way and it is written, on
 * insert and update. A plugin column the node lacks fails check with
 * the line. */
START_TEST(test_plugin_column_the_source_lacks_is_written)
{
    h_sql_create(g_shop);
    h_sql_create(g_branch);
    h_sql(g_shop, "CREATE TABLE items(id INTEGER PRIMARY KEY, qty INTEGER);"
                  "INSERT INTO items VALUES (1, 10)");
    h_sql(g_branch, "CREATE TABLE items(id INTEGER PRIMARY KEY, qty INTEGER,"
                    " updated_by TEXT)");
#define STAMP_JOB(column)                                                      \
    "[job]\nmode = one-way\nsource = shop\n\n"                                \
    "[node shop]\ndriver = sqlite\npath = shop.db\n\n"                         \
    "[node branch]\ndriver = sqlite\npath = branch.db\n\n"                     \
    "[table items]\n"                                                          \
    "[table items @ branch]\n"                                                 \
    "plugins = stamp\n"                                                        \
    "plugin_columns = " column "\n"                                            \
    "[plugin stamp]\nmodule = set\ncolumn = updated_by\n"                     \
    "value = 'rowsync'\n"
    h_write_file(g_job, STAMP_JOB("updated_by"));
    h_proc_free(rs_ok("init"));
    h_sql(g_shop, "UPDATE items SET qty = 11 WHERE id = 1;"
                  "INSERT INTO items VALUES (2, 20)");
    h_proc_free(rs_ok("sync"));
    char *got = h_sql_rows(g_branch,
                           "SELECT id, qty, updated_by FROM items ORDER BY id");
    ck_assert_str_eq(got, "1|11|'rowsync'\n2|20|'rowsync'\n");
    free(got);

    h_write_file(g_job, STAMP_JOB("stamped_by"));
    h_proc_t *p = h_run("check", g_job, NULL);
    ck_assert_msg(p->status != 0 &&
                      strstr(p->err, "plugin column 'stamped_by'") &&
                      strstr(p->err, "job.conf:16"),
                  "a plugin column the node lacks is not reported with its "
                  "line: %s",
                  h_describe(p));
    h_proc_free(p);
}
END_TEST

/* The loader tests' fixture plugin (tests/fixtures/good_plugin) drops a
 * change whose column holds "drop" and upper-cases it otherwise. */
static void use_fixture_plugins(void)
{
    const char *fx = getenv("ROWSYNC_FIXTURE_DIR");
    const char *path = getenv("ROWSYNC_MODULE_PATH");
    ck_assert_ptr_nonnull(fx);
    setenv("ROWSYNC_MODULE_PATH", h_strf("%s:%s", path ? path : "", fx), 1);
}

START_TEST(test_plugin_drop_is_not_sent_and_cursor_moves)
{
    use_fixture_plugins();
    make_plugin_items();
    job_plugin_items("one-way", "plugins = up\n"
                                "[plugin up]\nmodule = good_plugin\n"
                                "column = code\n");
    h_proc_free(rs_ok("init"));
    h_sql(g_shop, "INSERT INTO items VALUES (1, 'keep me');"
                  "INSERT INTO items VALUES (2, 'drop');"
                  "INSERT INTO items VALUES (3, 'also')");
    sync_moves(2, 0, 0);
    assert_branch_items("SELECT 1, 'KEEP ME' UNION ALL SELECT 3, 'ALSO'");
    /* the dropped change is behind the cursor: nothing travels again */
    sync_moves(0, 0, 0);
    h_sql(g_shop, "UPDATE items SET code = 'now' WHERE id = 2");
    sync_moves(1, 0, 0);
    assert_branch_items("SELECT 1, 'KEEP ME' UNION ALL SELECT 2, 'NOW' "
                        "UNION ALL SELECT 3, 'ALSO'");
}
END_TEST

START_TEST(test_plugin_error_names_plugin_node_table_key)
{
    make_plugin_items();
    job_plugin_items("one-way", "plugins = codes\n"
                                "[plugin codes]\nmodule = map\ncolumn = code\n"
                                "values = N:new\nunmatched = error\n");
    h_proc_free(rs_ok("init"));
    h_sql(g_shop, "INSERT INTO items VALUES (1, 'N');"
                  "INSERT INTO items VALUES (2, 'Z')");
    h_proc_t *p = h_run("sync", g_job, NULL);
    H_ASSERT_EXIT(p, 1);
    ck_assert_msg(strstr(p->err, "plugin 'codes' (module map), to node "
                                 "'branch': node 'shop', table 'items', "
                                 "key '2': plugin map: column 'code' of table "
                                 "'items': no mapping for value 'Z'") != NULL,
                  "unclear message: %s", h_describe(p));
    h_proc_free(p);
    /* the batch failed as a whole: nothing applied */
    ck_assert_int_eq(h_sql_int(g_branch, "SELECT count(*) FROM items"), 0);
}
END_TEST

START_TEST(test_plugin_unknown_option_names_line)
{
    make_plugin_items();
    job_plugin_items("one-way", "plugins = codes\n"
                                "[plugin codes]\nmodule = map\ncolumn = code\n"
                                "colour = red\n");
    h_proc_t *p = h_run("check", g_job, NULL);
    H_ASSERT_EXIT(p, 2);
    ck_assert_msg(strstr(p->err, "job.conf:15: unknown key 'colour' in "
                                 "[plugin codes] for module 'map' (accepted: "
                                 "module, column, values, file, unmatched)")
                      != NULL,
                  "unclear message: %s", h_describe(p));
    h_proc_free(p);
    job_plugin_items("one-way", "plugins = codes\n"
                                "[plugin codes]\nmodule = map\ncolumn = code\n");
    p = h_run("check", g_job, NULL);
    H_ASSERT_EXIT(p, 2);
    ck_assert_msg(strstr(p->err, "job.conf:12: [plugin codes]: plugin map: "
                                 "give exactly one of the options 'values' "
                                 "and 'file'") != NULL,
                  "unclear message: %s", h_describe(p));
    h_proc_free(p);
}
END_TEST

/* ---- suite -------------------------------------------------------------- */

/* One test case per behaviour, each with its own temporary directory. */
static void add(Suite *s, const char *name, const TTest *test)
{
    TCase *tc = tcase_create(name);
    tcase_add_unchecked_fixture(tc, fx_setup, fx_teardown);
    tcase_add_test(tc, test);
    suite_add_tcase(s, tc);
}

#define ADD(s, t) add((s), #t, t)

static Suite *sqlite_sync_suite(void)
{
    Suite *s = suite_create("sqlite_sync");
    ADD(s, test_seed_bidirectional);
    ADD(s, test_seed_oneway);
    ADD(s, test_oneway_fans_out_to_every_target);
    ADD(s, test_oneway_target_has_no_capture_and_chains);
    ADD(s, test_init_oneway_loads_empty_target);
    ADD(s, test_init_bidirectional_loads_empty_node);
    ADD(s, test_init_twice_is_idempotent);
    ADD(s, test_oneway_insert_update_delete_travel);
    ADD(s, test_bidirectional_insert_update_delete_travel);
    ADD(s, test_delete_then_later_update_keeps_row);
    ADD(s, test_update_then_later_delete_removes_row);
    ADD(s, test_changes_during_pass_are_picked_up_next);
    ADD(s, test_kill_9_mid_sync_resumes_exactly_once);
    ADD(s, test_init_killed_mid_load_resumes);
    ADD(s, test_two_syncs_at_once_apply_once);
    ADD(s, test_pair_lock_timeout);
    ADD(s, test_run_sigterm_mid_pass_commits_then_stops);
    ADD(s, test_run_syncs_and_stops_on_sigterm);
    ADD(s, test_run_stops_on_sigint);
    ADD(s, test_check_good_job_changes_nothing);
    ADD(s, test_sync_before_init_says_run_init);
    ADD(s, test_bad_unknown_key);
    ADD(s, test_bad_unknown_node_option);
    ADD(s, test_bad_unknown_driver);
    ADD(s, test_bad_missing_table);
    ADD(s, test_bad_table_without_key);
    ADD(s, test_bad_missing_database);
    ADD(s, test_bad_unreadable_database);
    ADD(s, test_bad_not_a_database);
    ADD(s, test_status_counts_pending);
    ADD(s, test_teardown_removes_everything);
    ADD(s, test_history_clear_empties_history);
    ADD(s, test_history_clear_keeps_later_changes_flowing);
    ADD(s, test_types_travel_unchanged);
    ADD(s, test_mapping_oneway_renames_skip_fill_filter);
    ADD(s, test_fill_is_written_on_insert_only);
    ADD(s, test_check_reports_every_unresolved_column);
    ADD(s, test_filter_leaving_keep_keeps_the_row);
    ADD(s, test_check_prints_resolved_mapping);
    ADD(s, test_check_names_unmapped_column);
    ADD(s, test_filter_parse_error_names_line_and_column);
    ADD(s, test_filter_type_error_names_key);
    ADD(s, test_conversion_error_names_key_and_column_and_applies_nothing);
    ADD(s, test_conversion_error_mid_pass_keeps_earlier_batches);
    ADD(s, test_mapping_bidirectional_renames);
    ADD(s, test_plugin_mask_email_oneway);
    ADD(s, test_plugin_map_status_codes);
    ADD(s, test_plugin_column_the_source_lacks_is_written);
    ADD(s, test_plugin_drop_is_not_sent_and_cursor_moves);
    ADD(s, test_plugin_error_names_plugin_node_table_key);
    ADD(s, test_plugin_unknown_option_names_line);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(sqlite_sync_suite());
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
