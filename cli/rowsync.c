/* rowsync: the command-line program. Parses argv, calls the public API,
 * prints. Results go to stdout, diagnostics to stderr.
 *
 * Exit codes: 0 ok, 1 runtime failure, 2 bad usage or bad job file.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rowsync/rowsync.h>

enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

static volatile sig_atomic_t stop_requested;
static int progress_shown;

static const char usage_text[] =
    "usage: rowsync [OPTIONS] COMMAND [ARGS]\n"
    "\n"
    "Keeps tables in several databases identical, one way or both ways.\n"
    "\n"
    "Commands:\n"
    "  drivers             list the drivers and plugins found\n"
    "  check JOB           validate the job against the live databases\n"
    "  init JOB            install change capture; load empty targets\n"
    "  sync JOB            run one pass and print what moved\n"
    "  run JOB             run a pass every interval until SIGINT/SIGTERM\n"
    "  status JOB          pending changes, last pass, conflicts\n"
    "  teardown JOB        remove triggers, history and state\n"
    "  history clear JOB   delete captured history (pending changes too)\n"
    "  conflicts list JOB  conflicts left to a person (conflict = manual)\n"
    "  conflicts resolve JOB ID --take NODE\n"
    "                      settle one: keep NODE's version everywhere\n"
    "\n"
    "Options:\n"
    "  --module-path DIRS  search these directories (colon-separated) for\n"
    "                      modules first, then $ROWSYNC_MODULE_PATH, then\n"
    "                      the install directory\n"
    "  -v, --verbose       more diagnostics on stderr (repeat for debug)\n"
    "  -q, --quiet         errors only on stderr\n"
    "  -h, --help          this help; `rowsync COMMAND --help` for one command\n"
    "  --version           print the version\n"
    "\n"
    "Exit status: 0 ok, 1 runtime failure, 2 bad usage or bad job file.\n"
    "See rowsync(1) and rowsync.conf(5).\n";

struct command_help {
    const char *name;
    const char *text;
};

static const struct command_help command_help[] = {
    {"drivers", "usage: rowsync drivers\n\n"
                "Lists every driver and plugin module on the search path with\n"
                "its version, ABI and file, or why it cannot be used.\n"},
    {"check", "usage: rowsync check JOB\n\n"
              "Validates the job file, loads the drivers, connects to every\n"
              "node and checks every table: it exists, has a key, and has\n"
              "every synced column. Changes nothing.\n"},
    {"init", "usage: rowsync init JOB\n\n"
             "Installs change capture (history table and triggers) for every\n"
             "table on every node, then loads empty target tables from the\n"
             "source. Safe to repeat; an interrupted load resumes.\n"},
    {"sync", "usage: rowsync sync JOB\n\n"
             "Runs one pass over every direction of the job and prints what\n"
             "moved. Each batch commits together with its cursor.\n"},
    {"run", "usage: rowsync run JOB\n\n"
            "Runs a pass every `interval` (job file) until SIGINT or SIGTERM.\n"
            "A signal stops it after the current batch commits; exit 0.\n"
            "A failed pass is logged and retried with backoff.\n"},
    {"status", "usage: rowsync status JOB\n\n"
               "Shows, per node and direction, capture and history size,\n"
               "pending changes, the last pass and journaled conflicts.\n"},
    {"teardown", "usage: rowsync teardown JOB\n\n"
                 "Removes the triggers, history tables and rowsync state from\n"
                 "every node. The synced tables themselves are untouched.\n"},
    {"conflicts", "usage: rowsync conflicts list JOB\n"
                  "       rowsync conflicts resolve JOB ID --take NODE\n\n"
                  "With conflict = manual, a key changed on two nodes is\n"
                  "decided like latest for now and the losing version is\n"
                  "parked in the conflict journal. list shows the decisions\n"
                  "no one has settled; resolve settles one: --take the\n"
                  "kept node leaves things as they are, --take the other\n"
                  "writes its parked version again on the node it came\n"
                  "from, and the next sync spreads it.\n"},
    {"history", "usage: rowsync history clear JOB\n\n"
                "Deletes all captured history on every node. Changes not yet\n"
                "synced are dropped: run `rowsync sync` first.\n"},
};

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void end_progress(void)
{
    if (progress_shown) {
        fputc('\n', stderr);
        progress_shown = 0;
    }
}

static void print_log(void *ud, int level, const char *message)
{
    static const char *const names[] = {"error", "warning", "info", "debug"};
    (void)ud;
    end_progress();
    fprintf(stderr, "rowsync: %s: %s\n", names[level < 0 ? 0 : level > 3 ? 3 : level],
            message);
}

static void print_output(void *ud, const char *line)
{
    (void)ud;
    end_progress();
    printf("%s\n", line);
    fflush(stdout);
}

static void print_progress(void *ud, const char *what, uint64_t done,
                           uint64_t total)
{
    (void)ud;
    if (total)
        fprintf(stderr, "\r%s: %llu of %llu rows", what,
                (unsigned long long)done, (unsigned long long)total);
    else
        fprintf(stderr, "\r%s: %llu rows", what, (unsigned long long)done);
    progress_shown = 1;
}

static int exit_code_for(int rc)
{
    if (rc == 0)
        return EXIT_OK;
    return rc == ROWSYNC_EINVAL ? EXIT_USAGE : EXIT_RUNTIME;
}

static int fail(const rowsync_error_t *err, int rc)
{
    end_progress();
    fprintf(stderr, "rowsync: error: %s\n",
            err->message[0] ? err->message : rowsync_strerror(rc));
    return exit_code_for(rc);
}

static void print_module(void *ud, const rowsync_module_info_t *m)
{
    int *count = ud;
    (*count)++;
    if (m->problem)
        printf("%-7s %-12s %-8s %-8s %s\n        problem: %s\n", m->kind,
               m->name, "-", "-", m->path, m->problem);
    else
        printf("%-7s %-12s %-8s ABI %u.%u  %s\n        %s\n", m->kind, m->name,
               m->version ? m->version : "-", m->abi_major, m->abi_minor,
               m->path, m->description ? m->description : "");
}

static int cmd_drivers(rowsync_ctx_t *ctx)
{
    rowsync_error_t err;
    memset(&err, 0, sizeof(err));
    int count = 0;
    int rc = rowsync_modules_list(ctx, print_module, &count, &err);
    if (rc < 0)
        return fail(&err, rc);
    if (count == 0)
        printf("no modules found (set --module-path or ROWSYNC_MODULE_PATH)\n");
    return EXIT_OK;
}

/* Sleeps for us microseconds or until a stop is requested. */
static void sleep_interruptible(int64_t us)
{
    while (us > 0 && !stop_requested) {
        int64_t step = us > 100000 ? 100000 : us;
        struct timespec ts = {(time_t)(step / 1000000),
                              (long)(step % 1000000) * 1000};
        nanosleep(&ts, NULL);
        us -= step;
    }
}

static void print_totals(const rowsync_pass_stats_t *s)
{
    printf("sync: %llu upserted, %llu deleted, %llu conflicts\n",
           (unsigned long long)s->upserted, (unsigned long long)s->deleted,
           (unsigned long long)s->conflicts);
    fflush(stdout);
}

/* Passes until a signal, each started as soon as a watched node notifies
 * a change (rowsync_job_wait) or else after the interval. Configuration-
 * class failures end the run; any other failed pass is logged and retried
 * after a growing pause (at most ten intervals or five minutes). */
static int cmd_run(rowsync_ctx_t *ctx, rowsync_job_t *job)
{
    int64_t interval = rowsync_job_interval_us(job), pause = interval;
    int64_t max_pause = interval * 10;
    if (max_pause > 300 * 1000000LL)
        max_pause = interval > 300 * 1000000LL ? interval : 300 * 1000000LL;
    (void)ctx;
    while (!stop_requested) {
        rowsync_error_t err;
        rowsync_pass_stats_t stats;
        memset(&err, 0, sizeof(err));
        int rc = rowsync_job_sync(job, &stats, &err);
        if (rc == ROWSYNC_EINVAL || rc == ROWSYNC_EABI || rc == ROWSYNC_ENOTSUP)
            return fail(&err, rc);
        if (rc < 0) {
            end_progress();
            fprintf(stderr, "rowsync: error: %s (retrying in %.1f s)\n",
                    err.message, (double)pause / 1e6);
            sleep_interruptible(pause);
            pause = pause * 2 > max_pause ? max_pause : pause * 2;
            continue;
        }
        pause = interval;
        if (stats.upserted || stats.deleted || stats.conflicts)
            print_totals(&stats);
        rc = rowsync_job_wait(job, interval, &err);
        if (rc < 0)
            return fail(&err, rc);
    }
    return EXIT_OK;
}

static int command_help_for(const char *name)
{
    for (size_t i = 0; i < sizeof(command_help) / sizeof(command_help[0]); i++)
        if (strcmp(command_help[i].name, name) == 0) {
            fputs(command_help[i].text, stdout);
            return 1;
        }
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"module-path", required_argument, NULL, 'm'},
        {"verbose", no_argument, NULL, 'v'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0}};
    const char *module_path = NULL;
    int verbosity = ROWSYNC_LOG_WARN, want_help = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, "+vqh", longopts, NULL)) != -1) {
        switch (opt) {
        case 'm':
            module_path = optarg;
            break;
        case 'v':
            verbosity++;
            break;
        case 'q':
            verbosity = ROWSYNC_LOG_ERROR;
            break;
        case 'h':
            want_help = 1;
            break;
        case 'V':
            printf("rowsync %s\n", rowsync_version());
            return EXIT_OK;
        default:
            fputs("Try 'rowsync --help'.\n", stderr);
            return EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        if (want_help) {
            fputs(usage_text, stdout);
            return EXIT_OK;
        }
        fputs(usage_text, stderr);
        return EXIT_USAGE;
    }
    const char *command = argv[optind++];
    /* `history clear` is one command of two words */
    if (strcmp(command, "history") == 0 && optind < argc &&
        strcmp(argv[optind], "clear") == 0)
        optind++;
    else if (strcmp(command, "history") == 0 && !want_help &&
             !(optind < argc && (strcmp(argv[optind], "--help") == 0 ||
                                 strcmp(argv[optind], "-h") == 0))) {
        fputs("rowsync: error: history takes a subcommand: rowsync history "
              "clear JOB\n",
              stderr);
        return EXIT_USAGE;
    }
    /* `conflicts list JOB` and `conflicts resolve JOB ID --take NODE` */
    const char *conflict_id = NULL, *conflict_take = NULL;
    int is_conflicts = strcmp(command, "conflicts") == 0;
    if (is_conflicts && !want_help &&
        !(optind < argc && (strcmp(argv[optind], "--help") == 0 ||
                            strcmp(argv[optind], "-h") == 0))) {
        int list = optind < argc && strcmp(argv[optind], "list") == 0;
        int resolve = optind < argc && strcmp(argv[optind], "resolve") == 0;
        if (list && argc - optind == 2) {
            optind++;
        } else if (resolve && argc - optind == 5 &&
                   strcmp(argv[optind + 3], "--take") == 0) {
            conflict_id = argv[optind + 2];
            conflict_take = argv[optind + 4];
            optind++;
        } else {
            fputs("rowsync: error: usage: rowsync conflicts list JOB | "
                  "rowsync conflicts resolve JOB ID --take NODE\n",
                  stderr);
            return EXIT_USAGE;
        }
    }
    for (int i = optind; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            want_help = 1;
    if (want_help) {
        if (!command_help_for(command)) {
            fprintf(stderr, "rowsync: error: unknown command '%s'\n%s",
                    command, usage_text);
            return EXIT_USAGE;
        }
        return EXIT_OK;
    }

    int (*job_op)(rowsync_job_t *, rowsync_error_t *) = NULL;
    int is_sync = 0, is_run = 0, is_drivers = 0;
    if (strcmp(command, "drivers") == 0)
        is_drivers = 1;
    else if (strcmp(command, "check") == 0)
        job_op = rowsync_job_check;
    else if (strcmp(command, "init") == 0)
        job_op = rowsync_job_init;
    else if (strcmp(command, "sync") == 0)
        is_sync = 1;
    else if (strcmp(command, "run") == 0)
        is_run = 1;
    else if (strcmp(command, "status") == 0)
        job_op = rowsync_job_status;
    else if (strcmp(command, "teardown") == 0)
        job_op = rowsync_job_teardown;
    else if (strcmp(command, "history") == 0)
        job_op = rowsync_job_history_clear;
    else if (is_conflicts)
        ; /* below: it takes more than the job */
    else {
        fprintf(stderr, "rowsync: error: unknown command '%s'\n%s", command,
                usage_text);
        return EXIT_USAGE;
    }
    /* conflicts resolve: the job file, then ID --take NODE (read above) */
    int want_args = is_drivers ? 0 : conflict_id ? 4 : 1;
    if (argc - optind != want_args) {
        fprintf(stderr, "rowsync: error: %s takes %s\nTry 'rowsync %s --help'.\n",
                command, want_args ? "one argument: the job file" : "no argument",
                command);
        return EXIT_USAGE;
    }

    rowsync_error_t err;
    memset(&err, 0, sizeof(err));
    rowsync_ctx_t *ctx = NULL;
    int rc = rowsync_ctx_new(&ctx, &err);
    if (rc < 0)
        return fail(&err, rc);
    rowsync_ctx_set_log(ctx, print_log, NULL, verbosity);
    rowsync_ctx_set_output(ctx, print_output, NULL);
    if (isatty(STDERR_FILENO) && verbosity >= ROWSYNC_LOG_WARN)
        rowsync_ctx_set_progress(ctx, print_progress, NULL);
    rowsync_ctx_set_stop_flag(ctx, &stop_requested);
    if (module_path && (rc = rowsync_ctx_set_module_path(ctx, module_path)) < 0) {
        rowsync_ctx_free(ctx);
        return EXIT_RUNTIME;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    int code = EXIT_OK;
    if (is_drivers) {
        code = cmd_drivers(ctx);
    } else {
        rowsync_job_t *job = NULL;
        rc = rowsync_job_load(&job, ctx, argv[optind], &err);
        if (rc < 0) {
            code = fail(&err, rc);
        } else if (is_run) {
            code = cmd_run(ctx, job);
        } else if (is_sync) {
            rowsync_pass_stats_t stats;
            rc = rowsync_job_sync(job, &stats, &err);
            end_progress();
            if (rc < 0)
                code = fail(&err, rc);
            else
                print_totals(&stats);
        } else if (is_conflicts) {
            rc = rowsync_job_conflicts(job, conflict_id, conflict_take, &err);
            if (rc < 0)
                code = fail(&err, rc);
        } else {
            rc = job_op(job, &err);
            end_progress();
            if (rc < 0)
                code = fail(&err, rc);
        }
        rowsync_job_free(job);
    }
    rowsync_ctx_free(ctx);
    return code;
}
