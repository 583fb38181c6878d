/* End-to-end tests of bidirectional jobs with more than two nodes: full
 * mesh and hub, conflict rules, deletes against stale nodes, history
 * purge, and a randomized convergence test against an oracle. Every node
 * is a real SQLite file in a fresh temporary directory; the rowsync binary
 * does the syncing.
 *
 * The randomized test prints its seed; ROWSYNC_TEST_SEED=N replays it
 * exactly, ROWSYNC_TEST_OPS=N changes its size (default 1500 changes;
 * `make check-convergence` runs 20000).
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define NNODES 3

static const char *const g_names[NNODES] = {"alpha", "beta", "gamma"};
static char *g_dir;
static char *g_job;
static char *g_db[NNODES];

static void fx_setup(void)
{
    g_dir = h_tmpdir();
    g_job = h_path(g_dir, "job.conf");
    for (int i = 0; i < NNODES; i++)
        g_db[i] = h_strf("%s/%s.db", g_dir, g_names[i]);
}

static void fx_teardown(void)
{
    h_rmtree(g_dir);
    free(g_dir);
    free(g_job);
    for (int i = 0; i < NNODES; i++)
        free(g_db[i]);
    g_dir = g_job = NULL;
}

/* Writes a bidirectional job over the three nodes, listed in `order`
 * (indexes into g_names; NULL = 0, 1, 2), to path; job_extra goes into
 * [job]. */
static void write_job(const char *path, const int *order,
                      const char *job_extra)
{
    static const int natural[NNODES] = {0, 1, 2};
    if (!order)
        order = natural;
    char nodes[1024] = "";
    for (int i = 0; i < NNODES; i++) {
        char one[256];
        snprintf(one, sizeof one, "[node %s]\ndriver = sqlite\npath = %s.db\n\n",
                 g_names[order[i]], g_names[order[i]]);
        strcat(nodes, one);
    }
    h_write_file(path,
                 "[job]\nmode = bidirectional\n%s\n%s[table items]\n",
                 job_extra, nodes);
}

/* Three identical nodes of `rows` items with capture installed. */
static void seed_three(int rows, const char *job_extra)
{
    for (int i = 0; i < NNODES; i++)
        h_make_items(g_db[i], rows);
    write_job(g_job, NULL, job_extra);
    h_proc_t *p = h_run("init", g_job, NULL);
    H_ASSERT_EXIT(p, 0);
    h_proc_free(p);
}

static h_proc_t *sync_job(const char *job)
{
    h_proc_t *p = h_run("-v", "sync", job, NULL);
    H_ASSERT_EXIT(p, 0);
    return p;
}

static void sync_ok(void)
{
    h_proc_free(sync_job(g_job));
}

/* Fails unless every node holds exactly `want` in items. */
static void assert_all_hold(const char *want, const char *when)
{
    for (int i = 0; i < NNODES; i++) {
        char *got = h_dump(g_db[i], "items", "id");
        ck_assert_msg(strcmp(got, want) == 0,
                      "%s: node %s differs.\nwant:\n%s\ngot:\n%s", when,
                      g_names[i], want, got);
        free(got);
    }
}

static void assert_all_same(void)
{
    char *want = h_dump(g_db[0], "items", "id");
    assert_all_hold(want, "after the pass");
    free(want);
}

static void assert_item(int node, int id, const char *name, long qty)
{
    char *got = h_sql_rows(g_db[node],
                           "SELECT id, name, qty FROM items WHERE id = %d", id);
    char want[256];
    snprintf(want, sizeof want, "%d|'%s'|%ld\n", id, name, qty);
    ck_assert_msg(strcmp(got, want) == 0, "%s: row %d is \"%s\", expected %s",
                  g_names[node], id, got, want);
    free(got);
}

static void assert_no_item(int node, int id)
{
    int64_t n = h_sql_int(g_db[node], "SELECT COUNT(*) FROM items WHERE id = %d",
                          id);
    ck_assert_msg(n == 0, "%s: row %d should be gone", g_names[node], id);
}

/* ---- three writers ---------------------------------------------------- */

/* The seed scenario with three writers: each node changes rows, two
 * nodes change the same row (the later change wins), one deletes, two
 * insert. One pass leaves the three nodes identical, a second moves
 * nothing. */
static void three_writers(const char *job_extra)
{
    seed_three(10, job_extra);
    h_sql(g_db[0], "UPDATE items SET name = 'alpha-6', qty = 60 WHERE id = 6");
    h_sleep_ms(5);
    h_sql(g_db[1], "UPDATE items SET name = 'beta-6', qty = 61 WHERE id = 6");
    h_sql(g_db[2], "UPDATE items SET name = 'gamma-7', qty = 70 WHERE id = 7");
    h_sql(g_db[0], "DELETE FROM items WHERE id = 8");
    h_sql(g_db[2], "INSERT INTO items VALUES (11, 'gamma-11', 11)");
    h_sql(g_db[1], "INSERT INTO items VALUES (12, 'beta-12', 12)");
    h_sleep_ms(5);
    h_sql(g_db[2], "UPDATE items SET qty = 33 WHERE id = 3");

    h_proc_t *p = sync_job(g_job);
    ck_assert_msg(h_line_has(p->err, "conflict", 6),
                  "the conflict on row 6 is not logged: %s", h_describe(p));
    h_proc_free(p);
    assert_all_same();
    for (int n = 0; n < NNODES; n++) {
        assert_item(n, 6, "beta-6", 61);
        assert_item(n, 7, "gamma-7", 70);
        assert_item(n, 3, "item-3", 33);
        assert_item(n, 11, "gamma-11", 11);
        assert_item(n, 12, "beta-12", 12);
        assert_no_item(n, 8);
    }
    p = sync_job(g_job);
    ck_assert_msg(strstr(p->out, "sync: 0 upserted, 0 deleted, 0 conflicts"),
                  "a second pass moved something: %s", h_describe(p));
    h_proc_free(p);
}

START_TEST(test_mesh_three_writers)
{
    three_writers("");
}
END_TEST

START_TEST(test_hub_three_writers)
{
    three_writers("hub = beta\n");
}
END_TEST

/* A change reaches each other node once and never comes back: after the
 * pass, each node's history holds the change once (its own write, or the
 * one apply that brought it). */
START_TEST(test_mesh_change_arrives_once)
{
    seed_three(3, "purge = off\n");
    h_sql(g_db[0], "UPDATE items SET qty = 100 WHERE id = 1");
    sync_ok();
    sync_ok();
    for (int n = 0; n < NNODES; n++) {
        int64_t rows = h_sql_int(g_db[n], "SELECT COUNT(*) FROM rowsync_h_items");
        ck_assert_msg(rows == 1, "%s holds %lld history rows for one change",
                      g_names[n], (long long)rows);
        assert_item(n, 1, "item-1", 100);
    }
}
END_TEST

/* conflict = priority (through a hub: a full mesh refuses it): the listed
 * node wins whatever the times. */
START_TEST(test_priority_rule)
{
    seed_three(3, "conflict = priority\npriority = gamma, alpha\nhub = beta\n");
    h_sql(g_db[2], "UPDATE items SET name = 'gamma' WHERE id = 2");
    h_sleep_ms(5);
    h_sql(g_db[0], "UPDATE items SET name = 'alpha' WHERE id = 2");
    h_sleep_ms(5);
    h_sql(g_db[1], "UPDATE items SET name = 'beta' WHERE id = 2");
    sync_ok();
    assert_all_same();
    assert_item(0, 2, "gamma", 2);
    h_proc_t *st = h_run("status", g_job, NULL);
    H_ASSERT_EXIT(st, 0);
    ck_assert_msg(h_lines_with(st->out, "gamma won", "priority"),
                  "status does not show gamma winning by priority: %s",
                  h_describe(st));
    h_proc_free(st);
}
END_TEST

/* A row deleted while a node was stopped is not brought back when that
 * node returns with an older update. */
START_TEST(test_delete_not_resurrected_by_stale_node)
{
    seed_three(5, "");
    h_sql(g_db[2], "UPDATE items SET name = 'stale' WHERE id = 4");
    h_sleep_ms(5);
    h_sql(g_db[0], "DELETE FROM items WHERE id = 4");
    /* gamma is stopped: its file is gone, the pass fails and applies
     * nothing anywhere */
    char *away = h_strf("%s.away", g_db[2]);
    ck_assert_int_eq(rename(g_db[2], away), 0);
    h_proc_t *p = h_run("sync", g_job, NULL);
    ck_assert_msg(p->status != 0, "a pass with gamma stopped succeeded: %s",
                  h_describe(p));
    h_proc_free(p);
    ck_assert_int_eq(rename(away, g_db[2]), 0);
    free(away);
    /* beta updates another row meanwhile; then everyone syncs */
    h_sql(g_db[1], "UPDATE items SET name = 'later' WHERE id = 5");
    sync_ok();
    sync_ok();
    assert_all_same();
    for (int n = 0; n < NNODES; n++) {
        assert_no_item(n, 4);
        assert_item(n, 5, "later", 5);
    }
}
END_TEST

/* With retention 0, history that every peer has read is purged after
 * each pass, so it stays bounded however many passes run; a tombstone
 * stays until every peer has read it. */
START_TEST(test_purge_keeps_history_bounded)
{
    seed_three(20, "retention = 0s\n");
    int64_t peak = 0;
    for (int round = 0; round < 15; round++) {
        for (int k = 1; k <= 20; k++)
            h_sql(g_db[round % NNODES],
                  "UPDATE items SET qty = %d WHERE id = %d", round * 100 + k, k);
        sync_ok();
        for (int n = 0; n < NNODES; n++) {
            int64_t rows = h_sql_int(g_db[n],
                                     "SELECT COUNT(*) FROM rowsync_h_items");
            if (rows > peak)
                peak = rows;
        }
    }
    /* 20 changes a round: without purge, 300 history rows per node */
    ck_assert_msg(peak <= 40, "history grew to %lld rows per node",
                  (long long)peak);
    assert_all_same();
    h_proc_t *st = h_run("status", g_job, NULL);
    H_ASSERT_EXIT(st, 0);
    ck_assert_msg(h_lines_with(st->out, "history rows", "items"),
                  "status shows no history size: %s", h_describe(st));
    h_proc_free(st);
}
END_TEST

/* The same in a long `rowsync run`: three writers keep changing rows for
 * several seconds while run passes every 100 ms; history stays bounded on
 * every node, and after a stop the nodes are identical. */
START_TEST(test_purge_bounded_in_long_run)
{
    seed_three(20, "retention = 0s\ninterval = 100ms\n");
    h_proc_t *p = h_start("run", g_job, NULL);
    int64_t peak = 0;
    for (int round = 0; round < 40; round++) {
        for (int k = 1; k <= 20; k++)
            h_sql(g_db[round % NNODES],
                  "UPDATE items SET qty = %d WHERE id = %d", round * 100 + k, k);
        h_sleep_ms(100);
        for (int n = 0; n < NNODES; n++) {
            int64_t rows = h_sql_int(g_db[n],
                                     "SELECT COUNT(*) FROM rowsync_h_items");
            if (rows > peak)
                peak = rows;
        }
    }
    h_sleep_ms(1000);
    ck_assert_msg(h_running(p), "rowsync run ended by itself: %s",
                  h_describe(p));
    h_signal(p, SIGTERM);
    h_wait(p, 10000);
    H_ASSERT_EXIT(p, 0);
    h_proc_free(p);
    /* 40 rounds of 20 changes: 800 history rows per node without purge */
    ck_assert_msg(peak <= 120, "history grew to %lld rows on a node",
                  (long long)peak);
    sync_ok();
    assert_all_same();
}
END_TEST

/* init again after a column was added on every node: capture follows the
 * new shape, a change captured before stays pending and arrives, and
 * changes to the new column travel. */
START_TEST(test_init_after_add_column_keeps_pending)
{
    seed_three(3, "");
    h_sql(g_db[0], "UPDATE items SET qty = 11 WHERE id = 1");
    for (int n = 0; n < NNODES; n++)
        h_sql(g_db[n], "ALTER TABLE items ADD COLUMN note TEXT");
    h_proc_t *p = h_run("init", g_job, NULL);
    H_ASSERT_EXIT(p, 0);
    h_proc_free(p);
    h_sql(g_db[1], "UPDATE items SET note = 'hello' WHERE id = 2");
    sync_ok();
    for (int n = 0; n < NNODES; n++) {
        char *got = h_sql_rows(g_db[n], "SELECT qty FROM items WHERE id = 1");
        ck_assert_msg(strcmp(got, "11\n") == 0,
                      "%s: the change made before init is lost (%s)",
                      g_names[n], got);
        free(got);
        got = h_sql_rows(g_db[n], "SELECT note FROM items WHERE id = 2");
        ck_assert_msg(strcmp(got, "'hello'\n") == 0,
                      "%s: the new column did not travel (%s)", g_names[n],
                      got);
        free(got);
    }
}
END_TEST

/* ---- rules that need the versions' values ---------------------------- */

/* A bidirectional job between alpha and beta only; extra goes into [job]
 * and tail after [table items]. */
static void seed_two(const char *extra, const char *tail)
{
    for (int i = 0; i < 2; i++)
        h_make_items(g_db[i], 5);
    h_write_file(g_job,
                 "[job]\nmode = bidirectional\n%s\n"
                 "[node alpha]\ndriver = sqlite\npath = alpha.db\n\n"
                 "[node beta]\ndriver = sqlite\npath = beta.db\n\n"
                 "[table items]\n%s",
                 extra, tail);
    h_proc_t *p = h_run("init", g_job, NULL);
    H_ASSERT_EXIT(p, 0);
    h_proc_free(p);
}

/* The id of the first open conflict `conflicts list` shows. */
static char *first_conflict_id(void)
{
    h_proc_t *p = h_run("conflicts", "list", g_job, NULL);
    H_ASSERT_EXIT(p, 0);
    const char *at = strstr(p->out, "conflict ");
    ck_assert_msg(at != NULL, "no open conflict listed: %s", h_describe(p));
    char *id = h_strf("%.8s", at + strlen("conflict "));
    h_proc_free(p);
    return id;
}

/* conflict = manual: latest decides for now and the loser is parked;
 * `conflicts list` shows it, `conflicts resolve --take` the loser writes
 * the parked version again and the next pass spreads it. */
START_TEST(test_manual_conflict_parked_and_resolved)
{
    seed_two("conflict = manual\n", "");
    h_sql(g_db[0], "UPDATE items SET name = 'from,al=ph%%a~' WHERE id = 2");
    h_sleep_ms(5);
    h_sql(g_db[1], "UPDATE items SET name = 'from-beta' WHERE id = 2");
    sync_ok();
    for (int n = 0; n < 2; n++)
        assert_item(n, 2, "from-beta", 2);

    h_proc_t *p = h_run("conflicts", "list", g_job, NULL);
    H_ASSERT_EXIT(p, 0);
    ck_assert_msg(h_lines_with(p->out, "beta's version kept",
                               "alpha's parked"),
                  "the parked conflict is not listed: %s", h_describe(p));
    h_proc_free(p);
    char *id = first_conflict_id();

    p = h_run("conflicts", "resolve", g_job, id, "--take", "gamma", NULL);
    ck_assert_msg(p->status != 0 && strstr(p->err, "between"),
                  "taking a node not in the conflict was accepted: %s",
                  h_describe(p));
    h_proc_free(p);
    p = h_run("conflicts", "resolve", g_job, "ffffffff", "--take", "alpha",
              NULL);
    ck_assert_msg(p->status != 0 && strstr(p->err, "no open conflict"),
                  "an unknown id was accepted: %s", h_describe(p));
    h_proc_free(p);

    p = h_run("conflicts", "resolve", g_job, id, "--take", "alpha", NULL);
    H_ASSERT_EXIT(p, 0);
    h_proc_free(p);
    sync_ok();
    for (int n = 0; n < 2; n++)
        assert_item(n, 2, "from,al=ph%a~", 2);
    p = h_run("conflicts", "list", g_job, NULL);
    H_ASSERT_EXIT(p, 0);
    ck_assert_msg(strstr(p->out, "no open conflicts"),
                  "the settled conflict is still listed: %s", h_describe(p));
    h_proc_free(p);
    free(id);
}
END_TEST

/* conflict = plugin:NAME with the shipped `prefer` resolver: the larger
 * qty wins even though it is the older change. */
START_TEST(test_plugin_resolver_prefers_larger_value)
{
    seed_two("conflict = plugin:most\n",
             "\n[plugin most]\nmodule = prefer\ncolumn = qty\n");
    h_sql(g_db[1], "UPDATE items SET qty = 70 WHERE id = 4");
    h_sleep_ms(5);
    h_sql(g_db[0], "UPDATE items SET qty = 50 WHERE id = 4");
    h_sql(g_db[0], "UPDATE items SET qty = 90 WHERE id = 5");
    h_sleep_ms(5);
    h_sql(g_db[1], "UPDATE items SET qty = 80 WHERE id = 5");
    sync_ok();
    for (int n = 0; n < 2; n++) {
        assert_item(n, 4, "item-4", 70);
        assert_item(n, 5, "item-5", 90);
    }
    h_proc_t *st = h_run("status", g_job, NULL);
    H_ASSERT_EXIT(st, 0);
    ck_assert_msg(h_lines_with(st->out, "won over", "plugin"),
                  "status does not show the resolver's decisions: %s",
                  h_describe(st));
    h_proc_free(st);
}
END_TEST

/* conflict = plugin:NAME naming a plugin that cannot decide conflicts is
 * refused before anything runs, with the line. */
START_TEST(test_plugin_without_resolver_refused)
{
    for (int i = 0; i < 2; i++)
        h_make_items(g_db[i], 5);
    h_write_file(g_job,
                 "[job]\nmode = bidirectional\nconflict = plugin:stamp\n\n"
                 "[node alpha]\ndriver = sqlite\npath = alpha.db\n\n"
                 "[node beta]\ndriver = sqlite\npath = beta.db\n\n"
                 "[table items]\n\n"
                 "[plugin stamp]\nmodule = set\ncolumn = name\n"
                 "value = 'x'\n");
    h_proc_t *p = h_run("init", g_job, NULL);
    ck_assert_msg(p->status == 2 && strstr(p->err, "job.conf:3:") &&
                      strstr(p->err, "has no resolver"),
                  "a plugin without a resolver was not refused: %s",
                  h_describe(p));
    h_proc_free(p);
    ck_assert_int_eq(h_rowsync_objects(g_db[0]), 0);
    ck_assert_int_eq(h_rowsync_objects(g_db[1]), 0);
}
END_TEST

/* merge = column: alpha changes name, beta changes qty of the same row;
 * after a pass both changes are on both nodes. Then both change name and
 * only beta qty: name goes to the later change, qty survives. */
START_TEST(test_column_merge_keeps_both_changes)
{
    seed_two("merge = column\n", "");
    h_sql(g_db[0], "UPDATE items SET name = 'alpha-name' WHERE id = 3");
    h_sleep_ms(5);
    h_sql(g_db[1], "UPDATE items SET qty = 333 WHERE id = 3");
    h_proc_t *p = sync_job(g_job);
    ck_assert_msg(strstr(p->err, "merged"),
                  "the merge is not logged: %s", h_describe(p));
    h_proc_free(p);
    for (int n = 0; n < 2; n++)
        assert_item(n, 3, "alpha-name", 333);

    h_sql(g_db[0], "UPDATE items SET name = 'alpha-2' WHERE id = 3");
    h_sleep_ms(5);
    h_sql(g_db[1], "UPDATE items SET name = 'beta-2', qty = 444 WHERE id = 3");
    h_sql(g_db[0], "UPDATE items SET qty = 55 WHERE id = 5");
    h_sleep_ms(5);
    h_sql(g_db[1], "UPDATE items SET name = 'beta-5' WHERE id = 5");
    sync_ok();
    sync_ok();
    for (int n = 0; n < 2; n++) {
        assert_item(n, 3, "beta-2", 444);
        assert_item(n, 5, "beta-5", 55);
    }
}
END_TEST

/* ---- randomized convergence ------------------------------------------ */

/* xorshift64*: small, and the same sequence on every platform */
static uint64_t g_rng;

static uint64_t rnd(void)
{
    g_rng ^= g_rng >> 12;
    g_rng ^= g_rng << 25;
    g_rng ^= g_rng >> 27;
    return g_rng * UINT64_C(2685821657736338717);
}

static int rnd_below(int n)
{
    return (int)(rnd() % (uint64_t)n);
}

#define KEYS 60

/* What the rules say the nodes must hold at the end: every change is
 * written in real time order, a millisecond apart (the SQLite clock's
 * resolution), so latest-wins keeps the last change made to each key. */
typedef struct oracle {
    int present[KEYS + 1];
    long qty[KEYS + 1];
    char name[KEYS + 1][32];
} oracle_t;

static char *oracle_dump(const oracle_t *o)
{
    size_t cap = 64 * (KEYS + 1), len = 0;
    char *out = malloc(cap);
    ck_assert_ptr_nonnull(out);
    out[0] = '\0';
    for (int k = 1; k <= KEYS; k++)
        if (o->present[k])
            len += (size_t)snprintf(out + len, cap - len, "%d|'%s'|%ld\n", k,
                                    o->name[k], o->qty[k]);
    return out;
}

/* Waits until the millisecond clock has moved on, so the next change is
 * stamped later than the last one. */
static void next_millisecond(void)
{
    int64_t start = h_now_ms();
    while (h_now_ms() <= start)
        usleep(200);
}

static void random_convergence(const char *label, const char *job_extra,
                               int oracle)
{
    const char *seed_env = getenv("ROWSYNC_TEST_SEED");
    const char *ops_env = getenv("ROWSYNC_TEST_OPS");
    uint64_t seed = seed_env ? strtoull(seed_env, NULL, 10)
                             : (uint64_t)h_now_ms() ^ (uint64_t)getpid();
    if (seed == 0)
        seed = 1;
    int ops = ops_env ? atoi(ops_env) : 1500;
    fprintf(stderr,
            "random convergence (%s): seed %llu, %d changes; replay with "
            "ROWSYNC_TEST_SEED=%llu\n",
            label, (unsigned long long)seed, ops,
            (unsigned long long)seed);
    g_rng = seed;

    for (int i = 0; i < NNODES; i++)
        h_make_items(g_db[i], 0);
    write_job(g_job, NULL, job_extra);
    h_proc_t *p = h_run("init", g_job, NULL);
    H_ASSERT_EXIT(p, 0);
    h_proc_free(p);
    /* the six node orders, so passes visit the pairs in random order */
    static const int orders[6][NNODES] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
                                          {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    char *jobs[6];
    for (int j = 0; j < 6; j++) {
        jobs[j] = h_strf("%s/job%d.conf", g_dir, j);
        write_job(jobs[j], orders[j], job_extra);
    }

    oracle_t *o = calloc(1, sizeof(*o));
    ck_assert_ptr_nonnull(o);
    int passes = 0;
    for (int i = 0; i < ops; i++) {
        int node = rnd_below(NNODES), key = 1 + rnd_below(KEYS);
        int what = rnd_below(10);
        next_millisecond();
        if (what < 7) {
            long qty = (long)rnd_below(100000);
            h_sql(g_db[node],
                  "INSERT INTO items VALUES (%d, '%s-%d', %ld) ON CONFLICT(id) "
                  "DO UPDATE SET name = excluded.name, qty = excluded.qty",
                  key, g_names[node], i, qty);
            o->present[key] = 1;
            o->qty[key] = qty;
            snprintf(o->name[key], sizeof o->name[key], "%s-%d", g_names[node],
                     i);
        } else {
            /* a delete only counts where the row exists */
            int64_t had = h_sql_int(g_db[node],
                                    "SELECT COUNT(*) FROM items WHERE id = %d",
                                    key);
            if (had) {
                h_sql(g_db[node], "DELETE FROM items WHERE id = %d", key);
                o->present[key] = 0;
            }
        }
        if (rnd_below(40) == 0) {
            h_proc_free(sync_job(jobs[rnd_below(6)]));
            passes++;
        }
    }
    /* two quiet passes settle everything (a hub needs its second round) */
    sync_ok();
    sync_ok();
    char *want = oracle ? oracle_dump(o) : h_dump(g_db[0], "items", "id");
    char when[128];
    snprintf(when, sizeof when, "seed %llu after %d passes",
             (unsigned long long)seed, passes + 2);
    assert_all_hold(want, when);
    free(want);
    free(o);
    for (int j = 0; j < 6; j++)
        free(jobs[j]);
}

START_TEST(test_random_convergence_mesh)
{
    random_convergence("mesh", "", 1);
}
END_TEST

START_TEST(test_random_convergence_hub)
{
    random_convergence("hub", "hub = gamma\n", 1);
}
END_TEST

/* Priority through a hub: no time oracle (the rule ignores times), but
 * every node must end identical. */
START_TEST(test_random_convergence_hub_priority)
{
    random_convergence("hub, priority", "hub = beta\nconflict = priority\n"
                       "priority = gamma, alpha\n",
                       0);
}
END_TEST

/* ---- suite ------------------------------------------------------------ */

static void add(Suite *s, const char *name, const TTest *test, int timeout)
{
    TCase *tc = tcase_create(name);
    tcase_add_unchecked_fixture(tc, fx_setup, fx_teardown);
    tcase_add_test(tc, test);
    tcase_set_timeout(tc, timeout);
    suite_add_tcase(s, tc);
}

#define ADD(s, t, secs) add((s), #t, t, secs)

int main(void)
{
    Suite *s = suite_create("nodes");
    ADD(s, test_mesh_three_writers, 60);
    ADD(s, test_hub_three_writers, 60);
    ADD(s, test_mesh_change_arrives_once, 60);
    ADD(s, test_priority_rule, 60);
    ADD(s, test_delete_not_resurrected_by_stale_node, 60);
    ADD(s, test_purge_keeps_history_bounded, 120);
    ADD(s, test_purge_bounded_in_long_run, 120);
    ADD(s, test_init_after_add_column_keeps_pending, 60);
    ADD(s, test_manual_conflict_parked_and_resolved, 60);
    ADD(s, test_plugin_resolver_prefers_larger_value, 60);
    ADD(s, test_plugin_without_resolver_refused, 60);
    ADD(s, test_column_merge_keeps_both_changes, 60);
    /* a larger ROWSYNC_TEST_OPS needs more time */
    int big = getenv("ROWSYNC_TEST_OPS") ? 3600 : 240;
    ADD(s, test_random_convergence_mesh, big);
    ADD(s, test_random_convergence_hub, big);
    ADD(s, test_random_convergence_hub_priority, big);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
