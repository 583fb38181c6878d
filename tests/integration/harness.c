/* Test harness for the end-to-end tests: processes, temporary files and
 * SQLite inspection. See harness.h. */
#include "harness.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- small utilities ---------------------------------------------- */

/* Growable string used by the renderers. */
typedef struct h_buf {
    char *s;
    size_t len, cap;
} h_buf_t;

static void hb_reserve(h_buf_t *b, size_t more)
{
    if (b->len + more + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more + 1)
        cap *= 2;
    char *s = realloc(b->s, cap);
    ck_assert_msg(s != NULL, "out of memory");
    b->s = s;
    b->cap = cap;
}

static void hb_add(h_buf_t *b, const char *s, size_t n)
{
    hb_reserve(b, n);
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void hb_vaddf(h_buf_t *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void hb_vaddf(h_buf_t *b, const char *fmt, va_list ap)
{
    va_list aq;
    va_copy(aq, ap);
    int n = vsnprintf(NULL, 0, fmt, aq);
    va_end(aq);
    ck_assert_msg(n >= 0, "bad format");
    hb_reserve(b, (size_t)n);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

static void hb_addf(h_buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void hb_addf(h_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    hb_vaddf(b, fmt, ap);
    va_end(ap);
}

/* Takes the buffer's string (an empty string when nothing was added). */
static char *hb_take(h_buf_t *b)
{
    if (b->s == NULL)
        hb_reserve(b, 0), b->s[0] = '\0';
    char *s = b->s;
    b->s = NULL;
    b->len = b->cap = 0;
    return s;
}

static char *h_vstrf(const char *fmt, va_list ap)
    __attribute__((format(printf, 1, 0)));

static char *h_vstrf(const char *fmt, va_list ap)
{
    h_buf_t b = {0};
    hb_vaddf(&b, fmt, ap);
    return hb_take(&b);
}

char *h_strf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = h_vstrf(fmt, ap);
    va_end(ap);
    return s;
}

/* ---- files and directories ---------------------------------------- */

char *h_tmpdir(void)
{
    char *dir = strdup("/tmp/rowsync-integ-XXXXXX");
    ck_assert_msg(dir != NULL && mkdtemp(dir) != NULL, "mkdtemp: %s",
                  strerror(errno));
    return dir;
}

/* Removes path and, for a directory, everything below it. Best effort:
 * permissions are restored first so a test's chmod 000 does not stop it. */
static void h_rm_rec(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        chmod(path, 0700);
        DIR *d = opendir(path);
        if (d) {
            struct dirent *e;
            while ((e = readdir(d)) != NULL) {
                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                    continue;
                char *sub = h_path(path, e->d_name);
                h_rm_rec(sub);
                free(sub);
            }
            closedir(d);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

void h_rmtree(const char *dir)
{
    if (dir == NULL || getenv("ROWSYNC_KEEP_TMP") != NULL)
        return;
    h_rm_rec(dir);
}

char *h_path(const char *dir, const char *name)
{
    return h_strf("%s/%s", dir, name);
}

void h_write_file(const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *text = h_vstrf(fmt, ap);
    va_end(ap);
    FILE *f = fopen(path, "w");
    ck_assert_msg(f != NULL, "cannot write %s: %s", path, strerror(errno));
    size_t n = strlen(text);
    ck_assert_msg(fwrite(text, 1, n, f) == n && fclose(f) == 0,
                  "cannot write %s", path);
    free(text);
}

char *h_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    h_buf_t b = {0};
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        hb_add(&b, chunk, n);
    fclose(f);
    if (len)
        *len = b.len;
    return hb_take(&b);
}

int h_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* ---- time ----------------------------------------------------------- */

void h_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

int64_t h_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int h_wait_until(int timeout_ms, int (*pred)(void *ud), void *ud)
{
    int64_t end = h_now_ms() + timeout_ms;
    for (;;) {
        if (pred(ud))
            return 1;
        if (h_now_ms() >= end)
            return 0;
        h_sleep_ms(5);
    }
}

/* ---- processes ------------------------------------------------------ */

const char *h_rowsync_bin(void)
{
    const char *bin = getenv("ROWSYNC_BIN");
    ck_assert_msg(bin != NULL && *bin,
                  "ROWSYNC_BIN is not set (run through make check)");
    return bin;
}

/* An unlinked temporary file for a child's output. */
static int h_capture_fd(void)
{
    char name[] = "/tmp/rowsync-integ-out-XXXXXX";
    int fd = mkstemp(name);
    ck_assert_msg(fd >= 0, "mkstemp: %s", strerror(errno));
    unlink(name);
    return fd;
}

/* Starts bin with argv (without the program name) in the background, its
 * output captured; label names the program in the command text. */
static h_proc_t *h_spawn(const char *bin, const char *label,
                         const char *const *argv)
{
    size_t argc = 0;
    while (argv[argc])
        argc++;

    h_proc_t *p = calloc(1, sizeof *p);
    ck_assert_msg(p != NULL, "out of memory");
    p->status = -1;
    p->out_fd = h_capture_fd();
    p->err_fd = h_capture_fd();

    h_buf_t cmd = {0};
    hb_addf(&cmd, "%s", label);
    for (size_t i = 0; i < argc; i++)
        hb_addf(&cmd, " %s", argv[i]);
    p->cmd = hb_take(&cmd);

    const char **full = calloc(argc + 2, sizeof *full);
    ck_assert_msg(full != NULL, "out of memory");
    full[0] = bin;
    for (size_t i = 0; i < argc; i++)
        full[i + 1] = argv[i];

    fflush(NULL);
    pid_t pid = fork();
    ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        int in = open("/dev/null", O_RDONLY);
        if (in < 0 || dup2(in, 0) < 0 || dup2(p->out_fd, 1) < 0 ||
            dup2(p->err_fd, 2) < 0)
            _exit(126);
        /* Check's test process may block signals; rowsync must see them. */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        execv(bin, (char *const *)full);
        dprintf(2, "exec %s: %s\n", bin, strerror(errno));
        _exit(127);
    }
    free(full);
    p->pid = pid;
    return p;
}

h_proc_t *h_startv(const char *const *argv)
{
    return h_spawn(h_rowsync_bin(), "rowsync", argv);
}

h_proc_t *h_start(const char *arg, ...)
{
    const char *argv[64];
    size_t n = 0;
    va_list ap;
    va_start(ap, arg);
    for (const char *a = arg; a != NULL; a = va_arg(ap, const char *)) {
        ck_assert_msg(n < 63, "too many arguments");
        argv[n++] = a;
    }
    va_end(ap);
    argv[n] = NULL;
    return h_startv(argv);
}

/* Reads a capture file from its start. */
static char *h_slurp_fd(int fd)
{
    h_buf_t b = {0};
    char chunk[8192];
    ssize_t n;
    lseek(fd, 0, SEEK_SET);
    while ((n = read(fd, chunk, sizeof chunk)) > 0)
        hb_add(&b, chunk, (size_t)n);
    return hb_take(&b);
}

/* Records how a reaped process ended and collects its output. */
static void h_reaped(h_proc_t *p, int st)
{
    p->ended = 1;
    if (WIFEXITED(st))
        p->status = WEXITSTATUS(st);
    else if (WIFSIGNALED(st))
        p->term_signal = WTERMSIG(st);
    p->out = h_slurp_fd(p->out_fd);
    p->err = h_slurp_fd(p->err_fd);
}

int h_running(h_proc_t *p)
{
    if (p->ended)
        return 0;
    int st;
    pid_t r = waitpid(p->pid, &st, WNOHANG);
    if (r == p->pid) {
        h_reaped(p, st);
        return 0;
    }
    return 1;
}

int h_wait(h_proc_t *p, int timeout_ms)
{
    int64_t end = h_now_ms() + timeout_ms;
    int pause = 1;
    while (h_running(p)) {
        if (h_now_ms() >= end) {
            kill(p->pid, SIGKILL);
            int st;
            while (waitpid(p->pid, &st, 0) < 0 && errno == EINTR)
                ;
            p->timed_out = 1;
            h_reaped(p, st);
            return -1;
        }
        h_sleep_ms(pause);
        if (pause < 20)
            pause *= 2;
    }
    return p->timed_out ? -1 : 0;
}

void h_signal(h_proc_t *p, int sig)
{
    if (!p->ended)
        kill(p->pid, sig);
}

h_proc_t *h_run(const char *arg, ...)
{
    const char *argv[64];
    size_t n = 0;
    va_list ap;
    va_start(ap, arg);
    for (const char *a = arg; a != NULL; a = va_arg(ap, const char *)) {
        ck_assert_msg(n < 63, "too many arguments");
        argv[n++] = a;
    }
    va_end(ap);
    argv[n] = NULL;
    h_proc_t *p = h_startv(argv);
    h_wait(p, H_TIMEOUT_MS);
    return p;
}

h_proc_t *h_run_prog(const char *prog, ...)
{
    const char *argv[64];
    size_t n = 0;
    va_list ap;
    va_start(ap, prog);
    for (const char *a = va_arg(ap, const char *); a != NULL;
         a = va_arg(ap, const char *)) {
        ck_assert_msg(n < 63, "too many arguments");
        argv[n++] = a;
    }
    va_end(ap);
    argv[n] = NULL;
    h_proc_t *p = h_spawn(prog, prog, argv);
    h_wait(p, H_TIMEOUT_MS);
    return p;
}

void h_proc_free(h_proc_t *p)
{
    if (p == NULL)
        return;
    if (!p->ended)
        h_wait(p, 0);
    close(p->out_fd);
    close(p->err_fd);
    free(p->out);
    free(p->err);
    free(p->cmd);
    free(p);
}

const char *h_describe(const h_proc_t *p)
{
    static char text[6000];
    char how[64];
    if (!p->ended)
        snprintf(how, sizeof how, "still running");
    else if (p->timed_out)
        snprintf(how, sizeof how, "timed out, killed");
    else if (p->term_signal)
        snprintf(how, sizeof how, "killed by signal %d", p->term_signal);
    else
        snprintf(how, sizeof how, "exit %d", p->status);
    /* Keep the tail of long outputs: the error is usually at the end. */
    const char *out = p->out ? p->out : "";
    const char *err = p->err ? p->err : "";
    size_t lo = strlen(out), le = strlen(err);
    snprintf(text, sizeof text,
             "`%s` (%s)\n--- stdout%s:\n%s\n--- stderr%s:\n%s", p->cmd, how,
             lo > 1500 ? " (tail)" : "", lo > 1500 ? out + lo - 1500 : out,
             le > 2500 ? " (tail)" : "", le > 2500 ? err + le - 2500 : err);
    return text;
}

/* ---- SQLite --------------------------------------------------------- */

/* Opens an existing database file read-write with a long busy timeout so
 * the test waits for rowsync's transactions instead of failing. */
static int h_db_open(const char *db, sqlite3 **out, char *errbuf, size_t errlen)
{
    sqlite3 *h = NULL;
    int rc = sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL);
    if (rc != SQLITE_OK) {
        if (errbuf)
            snprintf(errbuf, errlen, "open %s: %s", db,
                     h ? sqlite3_errmsg(h) : sqlite3_errstr(rc));
        sqlite3_close(h);
        return rc;
    }
    sqlite3_busy_timeout(h, 30000);
    *out = h;
    return SQLITE_OK;
}

void h_sql_create(const char *db)
{
    ck_assert_msg(!h_exists(db), "%s exists already", db);
    sqlite3 *h = NULL;
    int rc = sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                             NULL);
    ck_assert_msg(rc == SQLITE_OK, "create %s: %s", db, sqlite3_errstr(rc));
    /* Make it a real database file (an empty file is valid but odd). */
    rc = sqlite3_exec(h, "PRAGMA user_version = 0; VACUUM;", NULL, NULL, NULL);
    ck_assert_msg(rc == SQLITE_OK, "init %s: %s", db, sqlite3_errmsg(h));
    sqlite3_close(h);
}

/* Runs sql on db; 0 or the SQLite code with the message in errbuf. */
static int h_exec(const char *db, const char *sql, char *errbuf, size_t errlen)
{
    sqlite3 *h;
    int rc = h_db_open(db, &h, errbuf, errlen);
    if (rc != SQLITE_OK)
        return rc;
    char *msg = NULL;
    rc = sqlite3_exec(h, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK && errbuf)
        snprintf(errbuf, errlen, "%s: %s", db, msg ? msg : sqlite3_errstr(rc));
    sqlite3_free(msg);
    sqlite3_close(h);
    return rc;
}

void h_sql(const char *db, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *sql = h_vstrf(fmt, ap);
    va_end(ap);
    char err[1024];
    int rc = h_exec(db, sql, err, sizeof err);
    ck_assert_msg(rc == SQLITE_OK, "SQL failed: %s\nin: %.300s", err, sql);
    free(sql);
}

/* First column of the first row of sql; 0, SQLITE_DONE when no row, or
 * the SQLite error code (message in errbuf). */
static int h_query_int(const char *db, const char *sql, int64_t *out,
                       char *errbuf, size_t errlen)
{
    sqlite3 *h;
    int rc = h_db_open(db, &h, errbuf, errlen);
    if (rc != SQLITE_OK)
        return rc;
    sqlite3_stmt *st = NULL;
    rc = sqlite3_prepare_v2(h, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            *out = sqlite3_column_int64(st, 0);
            rc = SQLITE_OK;
        }
    }
    if (rc != SQLITE_OK && rc != SQLITE_DONE && errbuf)
        snprintf(errbuf, errlen, "%s: %s", db, sqlite3_errmsg(h));
    else if (rc == SQLITE_DONE && errbuf)
        snprintf(errbuf, errlen, "%s: no row", db);
    sqlite3_finalize(st);
    sqlite3_close(h);
    return rc;
}

int64_t h_sql_int(const char *db, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *sql = h_vstrf(fmt, ap);
    va_end(ap);
    char err[1024];
    int64_t v = 0;
    int rc = h_query_int(db, sql, &v, err, sizeof err);
    ck_assert_msg(rc == SQLITE_OK, "query failed: %s\nin: %.300s", err, sql);
    free(sql);
    return v;
}

int h_sql_try_int(const char *db, int64_t *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *sql = h_vstrf(fmt, ap);
    va_end(ap);
    int rc = h_query_int(db, sql, out, NULL, 0);
    free(sql);
    return rc;
}

/* Appends one value rendered by its storage class. */
static void h_render_value(h_buf_t *b, sqlite3_stmt *st, int col)
{
    switch (sqlite3_column_type(st, col)) {
    case SQLITE_INTEGER:
        hb_addf(b, "%lld", (long long)sqlite3_column_int64(st, col));
        break;
    case SQLITE_FLOAT:
        hb_addf(b, "%.17g(real)", sqlite3_column_double(st, col));
        break;
    case SQLITE_TEXT: {
        const unsigned char *t = sqlite3_column_text(st, col);
        int n = sqlite3_column_bytes(st, col);
        hb_add(b, "'", 1);
        for (int i = 0; i < n; i++) {
            if (t[i] == '\'')
                hb_add(b, "''", 2);
            else if (t[i] == '\n')
                hb_add(b, "\\n", 2);
            else if (t[i] == '\0')
                hb_add(b, "\\0", 2);
            else
                hb_add(b, (const char *)t + i, 1);
        }
        hb_add(b, "'", 1);
        break;
    }
    case SQLITE_BLOB: {
        const unsigned char *d = sqlite3_column_blob(st, col);
        int n = sqlite3_column_bytes(st, col);
        hb_add(b, "X'", 2);
        for (int i = 0; i < n; i++)
            hb_addf(b, "%02X", d[i]);
        hb_add(b, "'", 1);
        break;
    }
    default:
        hb_add(b, "NULL", 4);
    }
}

char *h_sql_rows(const char *db, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *sql = h_vstrf(fmt, ap);
    va_end(ap);
    char err[1024] = "";
    sqlite3 *h;
    int rc = h_db_open(db, &h, err, sizeof err);
    ck_assert_msg(rc == SQLITE_OK, "%s", err);
    sqlite3_stmt *st = NULL;
    rc = sqlite3_prepare_v2(h, sql, -1, &st, NULL);
    ck_assert_msg(rc == SQLITE_OK, "%s: %s\nin: %.300s", db, sqlite3_errmsg(h),
                  sql);
    h_buf_t b = {0};
    int ncol = sqlite3_column_count(st);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        for (int c = 0; c < ncol; c++) {
            if (c)
                hb_add(&b, "|", 1);
            h_render_value(&b, st, c);
        }
        hb_add(&b, "\n", 1);
    }
    ck_assert_msg(rc == SQLITE_DONE, "%s: %s\nin: %.300s", db,
                  sqlite3_errmsg(h), sql);
    sqlite3_finalize(st);
    sqlite3_close(h);
    free(sql);
    return hb_take(&b);
}

char *h_dump(const char *db, const char *table, const char *order_by)
{
    return h_sql_rows(db, "SELECT * FROM \"%s\" ORDER BY %s", table, order_by);
}

char *h_schema(const char *db)
{
    return h_sql_rows(db, "SELECT type, name, tbl_name, sql FROM sqlite_master"
                          " ORDER BY type, name");
}

int64_t h_rowsync_objects(const char *db)
{
    return h_sql_int(db, "SELECT count(*) FROM sqlite_master"
                         " WHERE name GLOB 'rowsync*'");
}

void h_make_items(const char *db, int nrows)
{
    h_sql_create(db);
    h_sql(db,
          "CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT, qty INTEGER);"
          "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
          " WHERE i < %d)"
          " INSERT INTO items SELECT i, 'item-' || i, i FROM n WHERE %d > 0;",
          nrows > 0 ? nrows : 1, nrows);
}

/* ---- output --------------------------------------------------------- */

/* 1 when line [s, e) holds n as a token not joined to other digits. */
static int h_span_has_number(const char *s, const char *e, long n)
{
    char num[32];
    int len = snprintf(num, sizeof num, "%ld", n);
    for (const char *p = s; p + len <= e; p++) {
        if (memcmp(p, num, (size_t)len) != 0)
            continue;
        int before = p > s && p[-1] >= '0' && p[-1] <= '9';
        int after = p + len < e && p[len] >= '0' && p[len] <= '9';
        if (!before && !after)
            return 1;
    }
    return 0;
}

int h_line_has(const char *text, const char *word, long n)
{
    const char *s = text;
    while (s && *s) {
        const char *e = strchr(s, '\n');
        if (e == NULL)
            e = s + strlen(s);
        size_t wl = strlen(word);
        for (const char *p = s; p + wl <= e; p++) {
            if (strncasecmp(p, word, wl) == 0) {
                if (h_span_has_number(s, e, n))
                    return 1;
                break;
            }
        }
        s = *e ? e + 1 : e;
    }
    return 0;
}

int h_lines_with(const char *text, const char *a, const char *b)
{
    for (const char *s = text; s && *s;) {
        const char *e = strchr(s, '\n');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        char *line = strndup(s, n);
        int hit = strstr(line, a) && strstr(line, b);
        free(line);
        if (hit)
            return 1;
        s = e ? e + 1 : NULL;
    }
    return 0;
}

/* ---- SQL Server ------------------------------------------------------ */

#ifdef H_WITH_MSSQL
#include <sybfront.h>
#include <sybdb.h>

struct h_ms {
    DBPROCESS *db;
    char msgs[2048]; /* messages of the batch under way */
    int failed;      /* a message of severity > 10 or a db-lib error */
};

static char hms_copy[1024];  /* ROWSYNC_TEST_MSSQL, split in place */
static const char *hms_keys[16], *hms_vals[16];
static int hms_n = -1;       /* pairs parsed, -1 = not yet */
static const char *hms_err;  /* why the string is unusable */
static char hms_open_msgs[2048]; /* messages while no DBPROCESS exists */

int h_ms_configured(void)
{
    const char *cs = getenv("ROWSYNC_TEST_MSSQL");
    return cs != NULL && cs[0] != '\0';
}

/* Splits the connection string into hms_keys/hms_vals; every key must be
 * one the driver or the harness knows, and host must be present. */
static void hms_parse(void)
{
    static const char *const known[] = {"host",     "port",     "instance",
                                        "database", "user",     "password",
                                        "tds_version", "encryption", NULL};
    const char *cs = getenv("ROWSYNC_TEST_MSSQL");
    char *save = NULL, *part;

    hms_n = 0;
    hms_err = NULL;
    if (cs == NULL || cs[0] == '\0') {
        hms_err = "ROWSYNC_TEST_MSSQL is not set";
        return;
    }
    if (strlen(cs) >= sizeof hms_copy) {
        hms_err = "ROWSYNC_TEST_MSSQL is too long";
        return;
    }
    snprintf(hms_copy, sizeof hms_copy, "%s", cs);
    for (part = strtok_r(hms_copy, ";", &save); part != NULL;
         part = strtok_r(NULL, ";", &save)) {
        char *eq = strchr(part, '=');
        int ok = 0;
        while (*part == ' ')
            part++;
        if (*part == '\0')
            continue;
        if (eq == NULL || hms_n == 16) {
            hms_err = "ROWSYNC_TEST_MSSQL: expected key=value pairs"
                      " separated by ';'";
            return;
        }
        *eq = '\0';
        for (int i = 0; known[i]; i++)
            ok |= strcmp(known[i], part) == 0;
        if (!ok) {
            hms_err = "ROWSYNC_TEST_MSSQL: unknown key (use host, port,"
                      " instance, database, user, password, tds_version,"
                      " encryption)";
            return;
        }
        hms_keys[hms_n] = part;
        hms_vals[hms_n++] = eq + 1;
    }
    if (h_ms_opt("host") == NULL)
        hms_err = "ROWSYNC_TEST_MSSQL names no host";
}

const char *h_ms_config_error(void)
{
    hms_parse();
    return hms_err;
}

const char *h_ms_opt(const char *key)
{
    if (hms_n < 0)
        hms_parse();
    for (int i = 0; i < hms_n; i++)
        if (strcmp(hms_keys[i], key) == 0)
            return hms_vals[i][0] ? hms_vals[i] : NULL;
    return NULL;
}

/* Appends a message to the session's buffer (or the one used while
 * dbopen runs). */
static void hms_note(DBPROCESS *db, const char *text, int is_error)
{
    h_ms_t *ms = db ? (h_ms_t *)dbgetuserdata(db) : NULL;
    char *buf = ms ? ms->msgs : hms_open_msgs;
    size_t cap = ms ? sizeof ms->msgs : sizeof hms_open_msgs;
    size_t n = strlen(buf);
    if (ms && is_error)
        ms->failed = 1;
    if (n + 3 < cap)
        snprintf(buf + n, cap - n, "%s%s", n ? "; " : "", text ? text : "");
}

static int hms_err_handler(DBPROCESS *db, int severity, int dberr, int oserr,
                           char *dberrstr, char *oserrstr)
{
    char line[600];
    (void)severity;
    snprintf(line, sizeof line, "db-lib %d: %s%s%s%s", dberr,
             dberrstr ? dberrstr : "", oserr != 0 && oserr != DBNOERR ? " (" : "",
             oserr != 0 && oserr != DBNOERR && oserrstr ? oserrstr : "",
             oserr != 0 && oserr != DBNOERR ? ")" : "");
    hms_note(db, line, 1);
    return INT_CANCEL;
}

static int hms_msg_handler(DBPROCESS *db, DBINT msgno, int msgstate,
                           int severity, char *msgtext, char *srvname,
                           char *proc, int line)
{
    char text[600];
    (void)msgstate;
    (void)srvname;
    (void)proc;
    (void)line;
    if (severity <= 10)
        return 0; /* "Changed database context" and the like */
    snprintf(text, sizeof text, "Msg %d: %s", (int)msgno,
             msgtext ? msgtext : "");
    hms_note(db, text, 1);
    return 0;
}

h_ms_t *h_ms_try_open(const char *db, char *err, size_t errlen)
{
    const char *host = h_ms_opt("host"), *port = h_ms_opt("port");
    const char *inst = h_ms_opt("instance"), *tdsv = h_ms_opt("tds_version");
    const char *enc = h_ms_opt("encryption");
    char server[600];
    LOGINREC *login;
    h_ms_t *ms;

    if (hms_err != NULL || host == NULL) {
        snprintf(err, errlen, "%s", hms_err ? hms_err : "no host");
        return NULL;
    }
    if (dbinit() == FAIL) {
        snprintf(err, errlen, "dbinit failed");
        return NULL;
    }
    dberrhandle(hms_err_handler);
    dbmsghandle(hms_msg_handler);
    login = dblogin();
    if (login == NULL) {
        snprintf(err, errlen, "dblogin failed");
        return NULL;
    }
    DBSETLAPP(login, "rowsync-tests");
    DBSETLCHARSET(login, "UTF-8");
    dbsetlversion(login, tdsv && strcmp(tdsv, "7.3") == 0   ? DBVERSION_73
                         : tdsv && strcmp(tdsv, "7.2") == 0 ? DBVERSION_72
                         : tdsv && strcmp(tdsv, "7.1") == 0 ? DBVERSION_71
                                                            : DBVERSION_74);
    if (h_ms_opt("user"))
        DBSETLUSER(login, h_ms_opt("user"));
    if (h_ms_opt("password"))
        DBSETLPWD(login, h_ms_opt("password"));
    if (db == NULL)
        db = h_ms_opt("database");
    if (db != NULL)
        DBSETLDBNAME(login, db);
    if (enc && strcmp(enc, "require") == 0)
        DBSETLENCRYPT(login, TRUE);
    else if (enc && strcmp(enc, "off") == 0)
        DBSETLENCRYPT(login, FALSE);
    dbsetlogintime(15);
    if (inst != NULL)
        snprintf(server, sizeof server, "%s\\%s", host, inst);
    else
        snprintf(server, sizeof server, "%s:%s", host, port ? port : "1433");
    hms_open_msgs[0] = '\0';
    ms = calloc(1, sizeof *ms);
    if (ms != NULL)
        ms->db = dbopen(login, server);
    dbloginfree(login);
    if (ms == NULL || ms->db == NULL) {
        snprintf(err, errlen, "cannot connect to SQL Server %s (database %s):"
                 " %s", server, db ? db : "(default)",
                 hms_open_msgs[0] ? hms_open_msgs : "no message");
        free(ms);
        return NULL;
    }
    dbsetuserdata(ms->db, (BYTE *)ms);
    if (h_ms_run(ms,
                 "SET ANSI_NULLS ON; SET ANSI_PADDING ON; SET ANSI_WARNINGS ON;"
                 " SET QUOTED_IDENTIFIER ON; SET CONCAT_NULL_YIELDS_NULL ON;"
                 " SET ARITHABORT ON; SET NOCOUNT ON; SET DATEFORMAT ymd;"
                 " SET TEXTSIZE 2147483647",
                 NULL, NULL, err, errlen) != 0) {
        h_ms_close(ms);
        return NULL;
    }
    return ms;
}

h_ms_t *h_ms_open(const char *db)
{
    char err[1024];
    h_ms_t *ms = h_ms_try_open(db, err, sizeof err);
    ck_assert_msg(ms != NULL, "%s", err);
    return ms;
}

void h_ms_close(h_ms_t *ms)
{
    if (ms == NULL)
        return;
    if (ms->db != NULL)
        dbclose(ms->db);
    free(ms);
}

/* 1 for the column types db-lib hands over as character data (nvarchar
 * already converted to the session's UTF-8). */
static int hms_is_char(int type)
{
    switch (type) {
    case SYBCHAR:
    case SYBVARCHAR:
    case SYBTEXT:
    case SYBNTEXT:
    case SYBNVARCHAR:
        return 1;
    default:
        return 0;
    }
}

int h_ms_run(h_ms_t *ms, const char *sql, h_ms_cell_fn fn, void *ud,
             char *err, size_t errlen)
{
    RETCODE rc;
    int row = 0;

    ms->msgs[0] = '\0';
    ms->failed = 0;
    if (dbcmd(ms->db, sql) == FAIL || dbsqlexec(ms->db) == FAIL) {
        dbcancel(ms->db);
        snprintf(err, errlen, "%s", ms->msgs[0] ? ms->msgs : "dbsqlexec failed");
        return -1;
    }
    while ((rc = dbresults(ms->db)) != NO_MORE_RESULTS) {
        if (rc == FAIL) {
            ms->failed = 1;
            continue; /* the next statement of the batch may still run */
        }
        int ncols = dbnumcols(ms->db);
        STATUS st;
        while ((st = dbnextrow(ms->db)) != NO_MORE_ROWS) {
            if (st == FAIL) {
                ms->failed = 1;
                break;
            }
            for (int c = 1; fn != NULL && c <= ncols; c++) {
                BYTE *data = dbdata(ms->db, c);
                DBINT len = dbdatlen(ms->db, c);
                int type = dbcoltype(ms->db, c);
                if (data == NULL) {
                    fn(ud, row, c - 1, ncols, NULL, 0, 1);
                } else if (hms_is_char(type)) {
                    char *copy = malloc((size_t)len + 1);
                    ck_assert_msg(copy != NULL, "out of memory");
                    memcpy(copy, data, (size_t)len);
                    copy[len] = '\0';
                    fn(ud, row, c - 1, ncols, copy, (size_t)len, 0);
                    free(copy);
                } else {
                    /* Binary becomes hex, numbers and dates text. A
                     * destlen of -1 asks for a NUL-terminated result (a
                     * positive one would pad SYBCHAR with blanks). */
                    size_t cap = 2 * (size_t)len + 64;
                    char *text = calloc(1, cap);
                    ck_assert_msg(text != NULL, "out of memory");
                    if (dbconvert(ms->db, type, data, len, SYBCHAR,
                                  (BYTE *)text, -1) < 0) {
                        ms->failed = 1;
                        text[0] = '\0';
                    }
                    fn(ud, row, c - 1, ncols, text, strlen(text), 0);
                    free(text);
                }
            }
            row++;
        }
    }
    if (ms->failed) {
        snprintf(err, errlen, "%s",
                 ms->msgs[0] ? ms->msgs : "the batch failed without a message");
        return -1;
    }
    return 0;
}

void h_ms_exec(h_ms_t *ms, const char *fmt, ...)
{
    va_list ap;
    char err[2048];
    va_start(ap, fmt);
    char *sql = h_vstrf(fmt, ap);
    va_end(ap);
    int rc = h_ms_run(ms, sql, NULL, NULL, err, sizeof err);
    ck_assert_msg(rc == 0, "SQL Server: %s\nin: %.400s", err, sql);
    free(sql);
}
#endif /* H_WITH_MSSQL */
