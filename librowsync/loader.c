/* Finding, loading and checking driver and plugin modules with libltdl.
 *
 * A module NAME is looked for as NAME.la or NAME.so in each directory of
 * the search path (the context's --module-path, $ROWSYNC_MODULE_PATH,
 * then the install directory of its kind); the first directory that has
 * it wins. It is opened with lt_dlopenadvise (ext + local: its symbols
 * never become global), its entry function is looked up, called with the
 * host's ABI version, and the table it hands back is checked against the
 * ABI rules of driver.h / plugin.h before anything else reads it.
 *
 * Each failure has its own message naming the module's kind, name and
 * file, because "file not found" (all lt_dlerror() ever says) helps nobody.
 */
#include <config.h>

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <ltdl.h>
#ifdef HAVE_DLFCN_H
#include <dlfcn.h>
#endif

#include "loader.h"

#ifndef ROWSYNC_DRIVERDIR
#define ROWSYNC_DRIVERDIR "/usr/local/lib/rowsync/drivers"
#endif
#ifndef ROWSYNC_PLUGINDIR
#define ROWSYNC_PLUGINDIR "/usr/local/lib/rowsync/plugins"
#endif

enum ld_kind_id { LD_DRIVER = 0, LD_PLUGIN = 1, LD_ANY = 2 };

/* One function pointer of a module table. Members appended by a later
 * minor carry that minor; a module built for an older minor does not have
 * them, and they read as NULL (absent) in the loader's copy. */
struct ld_member {
    const char *name;
    size_t offset;
    unsigned minor; /* the ABI minor that added it */
    int required;   /* a module of that minor or later must set it */
};

/* What differs between drivers and plugins. */
struct ld_kind {
    enum ld_kind_id id;
    const char *word;  /* "driver" */
    const char *entry; /* "rowsync_driver_entry" */
    const char *installdir;
    unsigned major, minor; /* the host's ABI */
    size_t host_size;      /* sizeof the table as this rowsync knows it */
    const size_t *sizes;   /* the table's size as of each minor */
    const struct ld_member *members;
    size_t nmembers;
};

/* A loaded module, owned by its context. */
struct rs_module {
    enum ld_kind_id kind;
    char *name;
    char *path;         /* the file found in the search path */
    lt_dlhandle handle; /* holds one lt_dlinit reference */
    void *table;        /* host-sized copy of the module's table */
    struct rs_module *next;
};

/* clang-format off */
#define LD_END(type, member)                                                   \
    (offsetof(type, member) + sizeof(((type *)0)->member))

/* Size of each ABI's table per minor: index = minor. A minor bump appends
 * members to the table; append the new end here, e.g. for driver ABI 1.1
 * `LD_END(rowsync_driver_t, <last member of 1.1>)`, and list the new
 * members below with their minor. The typedefs stop the build when the
 * header's minor and these tables disagree. */
static const size_t ld_driver_sizes[] = {
    LD_END(rowsync_driver_t, references),  /* 1.0 */
    LD_END(rowsync_driver_t, extract_open_flags), /* 1.1 */
};
static const size_t ld_plugin_sizes[] = {
    LD_END(rowsync_plugin_t, transform), /* 1.0 */
    LD_END(rowsync_plugin_t, resolve),   /* 1.1 */
};
typedef char ld_driver_sizes_match_minor
    [sizeof(ld_driver_sizes) / sizeof(ld_driver_sizes[0]) ==
             ROWSYNC_DRIVER_ABI_MINOR + 1
         ? 1
         : -1];
typedef char ld_plugin_sizes_match_minor
    [sizeof(ld_plugin_sizes) / sizeof(ld_plugin_sizes[0]) ==
             ROWSYNC_PLUGIN_ABI_MINOR + 1
         ? 1
         : -1];

/* What both tables start with; the typedefs check the layouts agree. */
struct ld_prefix {
    rowsync_abi_header_t abi;
    const char *name;
    const char *version;
    const char *description;
    const char *const *options;
};
typedef char ld_prefix_matches_driver
    [offsetof(struct ld_prefix, options) ==
             offsetof(rowsync_driver_t, options)
         ? 1
         : -1];
typedef char ld_prefix_matches_plugin
    [offsetof(struct ld_prefix, options) ==
             offsetof(rowsync_plugin_t, options)
         ? 1
         : -1];

/* The members of each table after the header, in order: (name, the ABI
 * minor that added it, required). The strings are optional; so are
 * history_count, references and every member of 1.1. */
#define LD_DM(m, minor, req) {#m, offsetof(rowsync_driver_t, m), minor, req}
static const struct ld_member ld_driver_members[] = {
    LD_DM(name, 0, 0),
    LD_DM(version, 0, 0),
    LD_DM(description, 0, 0),
    LD_DM(options, 0, 0),
    LD_DM(connect, 0, 1),
    LD_DM(disconnect, 0, 1),
    LD_DM(quote_ident, 0, 1),
    LD_DM(clock, 0, 1),
    LD_DM(describe, 0, 1),
    LD_DM(capture_install, 0, 1),
    LD_DM(capture_status, 0, 1),
    LD_DM(capture_remove, 0, 1),
    LD_DM(history_clear, 0, 1),
    LD_DM(history_count, 0, 0),
    LD_DM(state_remove, 0, 1),
    LD_DM(lock, 0, 1),
    LD_DM(unlock, 0, 1),
    LD_DM(state_get, 0, 1),
    LD_DM(extract_open, 0, 1),
    LD_DM(scan_open, 0, 1),
    LD_DM(stream_next, 0, 1),
    LD_DM(stream_cursor, 0, 1),
    LD_DM(stream_close, 0, 1),
    LD_DM(begin, 0, 1),
    LD_DM(apply, 0, 1),
    LD_DM(state_set, 0, 1),
    LD_DM(conflict_log, 0, 1),
    LD_DM(commit, 0, 1),
    LD_DM(rollback, 0, 1),
    LD_DM(conflicts_read, 0, 1),
    LD_DM(references, 0, 0),
    LD_DM(apply_insert_only, 1, 0),
    LD_DM(history_purge, 1, 0),
    LD_DM(watch, 1, 0),
    LD_DM(watch_clear, 1, 0),
    LD_DM(stream_columns, 1, 0),
    LD_DM(extract_open_flags, 1, 0),
};
#define LD_PM(m, minor, req) {#m, offsetof(rowsync_plugin_t, m), minor, req}
static const struct ld_member ld_plugin_members[] = {
    LD_PM(name, 0, 0),
    LD_PM(version, 0, 0),
    LD_PM(description, 0, 0),
    LD_PM(options, 0, 0),
    LD_PM(create, 0, 1),
    LD_PM(destroy, 0, 1),
    LD_PM(transform, 0, 1),
    LD_PM(resolve, 1, 0),
};
/* clang-format on */

static const struct ld_kind ld_kinds[2] = {
    {LD_DRIVER, "driver", ROWSYNC_DRIVER_ENTRY_SYMBOL, ROWSYNC_DRIVERDIR,
     ROWSYNC_DRIVER_ABI_MAJOR, ROWSYNC_DRIVER_ABI_MINOR,
     sizeof(rowsync_driver_t), ld_driver_sizes, ld_driver_members,
     sizeof(ld_driver_members) / sizeof(ld_driver_members[0])},
    {LD_PLUGIN, "plugin", ROWSYNC_PLUGIN_ENTRY_SYMBOL, ROWSYNC_PLUGINDIR,
     ROWSYNC_PLUGIN_ABI_MAJOR, ROWSYNC_PLUGIN_ABI_MINOR,
     sizeof(rowsync_plugin_t), ld_plugin_sizes, ld_plugin_members,
     sizeof(ld_plugin_members) / sizeof(ld_plugin_members[0])},
};

/* ---- small string helpers ------------------------------------------- */

/* A growable list of owned strings. */
struct ld_strv {
    char **v;
    int *tag; /* per string: an ld_kind_id; LD_ANY for shared dirs */
    size_t n, cap;
};

static void ld_strv_free(struct ld_strv *sv)
{
    size_t i;

    for (i = 0; i < sv->n; i++)
        free(sv->v[i]);
    free(sv->v);
    free(sv->tag);
    memset(sv, 0, sizeof(*sv));
}

/* Appends a copy of s[0..len) with its tag, unless an equal string is
 * already there (which then serves both tags). Returns 0 or
 * ROWSYNC_ENOMEM. */
static int ld_strv_add(struct ld_strv *sv, const char *s, size_t len, int tag)
{
    size_t i;
    char *copy;

    for (i = 0; i < sv->n; i++) {
        if (strlen(sv->v[i]) == len && memcmp(sv->v[i], s, len) == 0) {
            if (sv->tag[i] != tag)
                sv->tag[i] = LD_ANY;
            return 0;
        }
    }
    if (sv->n == sv->cap) {
        size_t cap = sv->cap < 8 ? 8 : sv->cap * 2;
        char **v = realloc(sv->v, cap * sizeof(*v));
        int *tags;

        if (v == NULL)
            return ROWSYNC_ENOMEM;
        sv->v = v;
        tags = realloc(sv->tag, cap * sizeof(*tags));
        if (tags == NULL)
            return ROWSYNC_ENOMEM;
        sv->tag = tags;
        sv->cap = cap;
    }
    copy = rs_strndup(s, len);
    if (copy == NULL)
        return ROWSYNC_ENOMEM;
    sv->v[sv->n] = copy;
    sv->tag[sv->n] = tag;
    sv->n++;
    return 0;
}

/* Adds each directory of a colon-separated path (empty entries skipped,
 * trailing slashes dropped). Returns 0 or ROWSYNC_ENOMEM. */
static int ld_strv_add_path(struct ld_strv *sv, const char *path, int tag)
{
    const char *p = path;

    while (p != NULL && *p != '\0') {
        const char *end = strchr(p, ':');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);

        while (len > 1 && p[len - 1] == '/')
            len--;
        if (len > 0 && ld_strv_add(sv, p, len, tag) != 0)
            return ROWSYNC_ENOMEM;
        p = end != NULL ? end + 1 : NULL;
    }
    return 0;
}

/* The search path for modules of one kind, or for both (LD_ANY: the
 * shared directories, then the driver and the plugin install directory).
 * Returns 0 or ROWSYNC_ENOMEM; on failure *sv is empty. */
static int ld_search_dirs(const rowsync_ctx_t *ctx, enum ld_kind_id kind,
                          struct ld_strv *sv)
{
    const char *env = getenv("ROWSYNC_MODULE_PATH");
    int rc = 0;

    memset(sv, 0, sizeof(*sv));
    if (ctx->module_path != NULL)
        rc = ld_strv_add_path(sv, ctx->module_path, LD_ANY);
    if (rc == 0 && env != NULL)
        rc = ld_strv_add_path(sv, env, LD_ANY);
    if (rc == 0 && kind != LD_PLUGIN)
        rc = ld_strv_add_path(sv, ROWSYNC_DRIVERDIR, LD_DRIVER);
    if (rc == 0 && kind != LD_DRIVER)
        rc = ld_strv_add_path(sv, ROWSYNC_PLUGINDIR, LD_PLUGIN);
    if (rc != 0)
        ld_strv_free(sv);
    return rc;
}

/* Whether path names a regular file (or a symlink to one). */
static int ld_is_file(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The file that makes dir "have" module name: dir/name.la, else
 * dir/name.so. Returns a string the caller frees, or NULL when neither
 * exists (or on out-of-memory: *nomem is set). */
static char *ld_find_file(const char *dir, const char *name, int *nomem)
{
    static const char *const exts[] = {".la", ".so"};
    size_t i;

    for (i = 0; i < 2; i++) {
        char *file = rs_sprintf("%s/%s%s", dir, name, exts[i]);

        if (file == NULL) {
            *nomem = 1;
            return NULL;
        }
        if (ld_is_file(file))
            return file;
        free(file);
    }
    return NULL;
}

/* A module name is a file name without extension: not empty, no slash,
 * not hidden. */
static int ld_name_ok(const char *name)
{
    return name != NULL && name[0] != '\0' && name[0] != '.' &&
           strchr(name, '/') == NULL;
}

/* ---- opening ---------------------------------------------------------- */

#ifdef HAVE_DLFCN_H
/* The shared object a libtool archive (.la) points to: its dlname next to
 * it (installed) or in .libs/ (built but not installed). NULL when the
 * archive names none or on out-of-memory. */
static char *ld_la_target(const char *la)
{
    char line[1024], dlname[512] = "";
    const char *slash = strrchr(la, '/');
    int dirlen = slash != NULL ? (int)(slash - la) : 1;
    const char *dir = slash != NULL ? la : ".";
    char *path;
    FILE *f = fopen(la, "r");

    if (f == NULL)
        return NULL;
    while (fgets(line, sizeof(line), f) != NULL) {
        char *end;

        if (strncmp(line, "dlname='", 8) != 0)
            continue;
        end = strchr(line + 8, '\'');
        if (end != NULL && (size_t)(end - (line + 8)) < sizeof(dlname)) {
            memcpy(dlname, line + 8, (size_t)(end - (line + 8)));
            dlname[end - (line + 8)] = '\0';
        }
        break;
    }
    fclose(f);
    if (dlname[0] == '\0')
        return NULL;
    path = rs_sprintf("%.*s/%s", dirlen, dir, dlname);
    if (path != NULL && !ld_is_file(path)) {
        free(path);
        path = rs_sprintf("%.*s/.libs/%s", dirlen, dir, dlname);
    }
    return path;
}
#endif

/* Why file could not be opened, in the system's words: libltdl reduces
 * every dlopen failure to "file not found", so the shared object is
 * opened once more with dlopen(3) itself, only to read dlerror(). Writes
 * the reason into buf. */
static void ld_open_reason(const char *file, char *buf, size_t len)
{
    const char *lt = lt_dlerror();

    snprintf(buf, len, "%s", lt != NULL ? lt : "unknown error");
#ifdef HAVE_DLFCN_H
    {
        size_t flen = strlen(file);
        char *so;
        void *h;

        if (flen > 3 && strcmp(file + flen - 3, ".la") == 0) {
            so = ld_la_target(file);
            if (so == NULL) {
                snprintf(buf, len,
                         "%s names no shared object that exists (a broken "
                         "libtool archive?)",
                         file);
                return;
            }
        } else {
            so = rs_strdup(file);
            if (so == NULL)
                return;
        }
        dlerror();
        h = dlopen(so, RTLD_LAZY | RTLD_LOCAL);
        if (h == NULL) {
            const char *why = dlerror();

            if (why != NULL)
                snprintf(buf, len, "%s", why);
        } else {
            dlclose(h);
        }
        free(so);
    }
#endif
}

/* Opens the module whose file is `file`, found in dir as name, with
 * libltdl (extension search, local symbols). Takes one lt_dlinit
 * reference that ld_close gives back. On failure err says "WHAT 'name'
 * found at FILE but could not be loaded: reason" (ROWSYNC_ERROR). */
static int ld_open(const char *what, const char *dir, const char *name,
                   const char *file, lt_dlhandle *out, rowsync_error_t *err)
{
    lt_dladvise advise;
    lt_dlhandle h = NULL;
    char *base;
    char reason[512];

    if (lt_dlinit() != 0) {
        const char *msg = lt_dlerror();

        return rowsync_error_set(err, ROWSYNC_ERROR,
                                 "cannot initialise libltdl to load %s "
                                 "'%s': %s",
                                 what, name, msg != NULL ? msg : "unknown");
    }
    base = rs_sprintf("%s/%s", dir, name);
    if (base == NULL) {
        lt_dlexit();
        return rowsync_error_set(err, ROWSYNC_ENOMEM, "out of memory");
    }
    if (lt_dladvise_init(&advise) == 0) {
        if (lt_dladvise_ext(&advise) == 0 && lt_dladvise_local(&advise) == 0)
            h = lt_dlopenadvise(base, advise);
        lt_dladvise_destroy(&advise);
    }
    free(base);
    if (h == NULL) {
        ld_open_reason(file, reason, sizeof(reason));
        lt_dlexit();
        return rowsync_error_set(err, ROWSYNC_ERROR,
                                 "%s '%s' found at %s but could not be "
                                 "loaded: %s",
                                 what, name, file, reason);
    }
    *out = h;
    return 0;
}

/* Closes a handle from ld_open and drops its lt_dlinit reference. With
 * resident set the module stays mapped instead, and keeps its handle and
 * lt_dlinit reference, so that sanitizer leak reports can still name its
 * functions, and libltdl's record of it stays reachable (dropping the
 * last lt_dlinit reference would make the next lt_dlinit forget it, which
 * leak checkers then report as lost). */
static void ld_close(lt_dlhandle h, int resident)
{
    if (resident) {
        lt_dlmakeresident(h);
        return;
    }
    lt_dlclose(h);
    lt_dlexit();
}

/* The entry function `entry` of a module opened as name. lt_dlsym looks
 * for <file name>_LTX_<entry> and then <entry>; the explicit
 * <name>_LTX_<entry> covers a file whose name libltdl derives otherwise.
 * Returns the function's address, or NULL. */
static void *ld_entry(lt_dlhandle h, const char *name, const char *entry)
{
    void *sym = lt_dlsym(h, entry);
    size_t len = strlen(name), i;
    char *ltx;

    if (sym != NULL)
        return sym;
    ltx = rs_sprintf("%s_LTX_%s", name, entry);
    if (ltx == NULL)
        return NULL;
    for (i = 0; i < len; i++)
        if (!isalnum((unsigned char)ltx[i]))
            ltx[i] = '_';
    sym = lt_dlsym(h, ltx);
    free(ltx);
    return sym;
}

/* Calls the entry function sym of a module of kind k with the host's ABI
 * version. Sets *table to what the entry handed back (NULL if nothing).
 * Returns the entry's status. */
static int ld_call_entry(const struct ld_kind *k, void *sym, const void **table)
{
    rowsync_abi_header_t host;
    int rc;

    host.major = (uint16_t)k->major;
    host.minor = (uint16_t)k->minor;
    host.struct_size = (uint32_t)k->host_size;
    *table = NULL;
    if (k->id == LD_DRIVER) {
        rowsync_driver_entry_fn fn;
        const rowsync_driver_t *t = NULL;

        memcpy(&fn, &sym, sizeof(fn));
        rc = fn(&t, &host);
        *table = t;
    } else {
        rowsync_plugin_entry_fn fn;
        const rowsync_plugin_t *t = NULL;

        memcpy(&fn, &sym, sizeof(fn));
        rc = fn(&t, &host);
        *table = t;
    }
    return rc;
}

/* Checks a table a module's entry returned against the ABI rules: same
 * major, a minor no newer than the host's, a struct_size that covers the
 * table of the module's minor, and every required function set. Returns
 * 0 or ROWSYNC_EABI with a message naming the module and both versions
 * or the missing members. */
static int ld_check_table(const struct ld_kind *k, const char *name,
                          const char *file, const void *table,
                          rowsync_error_t *err)
{
    const rowsync_abi_header_t *hdr = table;
    char missing[256] = "";
    size_t used = 0, i, need;

    if (hdr->major != k->major || hdr->minor > k->minor)
        return rowsync_error_set(
            err, ROWSYNC_EABI,
            "%s '%s' (%s) was built for %s ABI %u.%u; this rowsync provides "
            "%u.%u (%s)",
            k->word, name, file, k->word, (unsigned)hdr->major,
            (unsigned)hdr->minor, k->major, k->minor,
            hdr->major != k->major
                ? "rebuild it against this rowsync's headers"
                : "upgrade rowsync, or use a module built for this one");
    need = k->sizes[hdr->minor];
    if (hdr->struct_size < need) {
        const char *first = "abi";

        for (i = 0; i < k->nmembers; i++) {
            if (k->members[i].minor <= hdr->minor &&
                k->members[i].offset + sizeof(void *) > hdr->struct_size) {
                first = k->members[i].name;
                break;
            }
        }
        return rowsync_error_set(
            err, ROWSYNC_EABI,
            "%s '%s' (%s) has a truncated table: struct_size %u, but %s ABI "
            "%u.%u needs %zu bytes (missing from '%s' on)",
            k->word, name, file, (unsigned)hdr->struct_size, k->word,
            (unsigned)hdr->major, (unsigned)hdr->minor, need, first);
    }
    for (i = 0; i < k->nmembers; i++) {
        void (*fp)(void);

        if (!k->members[i].required || k->members[i].minor > hdr->minor)
            continue;
        memcpy(&fp, (const char *)table + k->members[i].offset, sizeof(fp));
        if (fp != NULL)
            continue;
        used += (size_t)snprintf(
            missing + used, used < sizeof(missing) ? sizeof(missing) - used : 0,
            "%s%s", used > 0 ? ", " : "", k->members[i].name);
        if (used >= sizeof(missing))
            break;
    }
    if (used > 0)
        return rowsync_error_set(err, ROWSYNC_EABI,
                                 "%s '%s' (%s) leaves required member(s) of "
                                 "%s ABI %u.%u NULL: %s",
                                 k->word, name, file, k->word,
                                 (unsigned)hdr->major, (unsigned)hdr->minor,
                                 missing);
    return 0;
}

/* Looks up kind k's entry in an opened module, calls it and checks the
 * table. Sets *table (valid while h stays open) and returns 0, or
 * ROWSYNC_EABI with a message (no entry, refused, mismatch, truncated).
 * The module's own table is not copied here. */
static int ld_resolve(const struct ld_kind *k, lt_dlhandle h, const char *name,
                      const char *file, const void **table,
                      rowsync_error_t *err)
{
    const struct ld_kind *other = &ld_kinds[k->id == LD_DRIVER ? 1 : 0];
    void *sym = ld_entry(h, name, k->entry);
    int rc;

    *table = NULL;
    if (sym == NULL) {
        if (ld_entry(h, name, other->entry) != NULL)
            return rowsync_error_set(err, ROWSYNC_EABI,
                                     "%s '%s' found at %s has no %s: it is "
                                     "a rowsync %s, not a %s",
                                     k->word, name, file, k->entry, other->word,
                                     k->word);
        return rowsync_error_set(err, ROWSYNC_EABI,
                                 "%s '%s' found at %s has no %s (is it a "
                                 "rowsync %s? a %s?)",
                                 k->word, name, file, k->entry, k->word,
                                 other->word);
    }
    rc = ld_call_entry(k, sym, table);
    if (rc != 0) {
        const rowsync_abi_header_t *hdr = *table;

        if (hdr != NULL)
            return rowsync_error_set(
                err, ROWSYNC_EABI,
                "%s '%s' (%s) refused this rowsync, which provides %s ABI "
                "%u.%u; the module was built for %u.%u (its entry returned "
                "'%s')",
                k->word, name, file, k->word, k->major, k->minor,
                (unsigned)hdr->major, (unsigned)hdr->minor,
                rowsync_strerror(rc));
        return rowsync_error_set(
            err, ROWSYNC_EABI,
            "%s '%s' (%s) refused this rowsync, which provides %s ABI "
            "%u.%u (its entry returned '%s'); the module needs another ABI "
            "version: rebuild it against this rowsync's headers",
            k->word, name, file, k->word, k->major, k->minor,
            rowsync_strerror(rc));
    }
    if (*table == NULL)
        return rowsync_error_set(err, ROWSYNC_EABI,
                                 "%s '%s' (%s): its %s returned success but "
                                 "no table",
                                 k->word, name, file, k->entry);
    return ld_check_table(k, name, file, *table, err);
}

/* Builds the not-found message: every directory searched, in order. */
static int ld_not_found(const struct ld_kind *k, const char *name,
                        const struct ld_strv *dirs, rowsync_error_t *err)
{
    char list[ROWSYNC_ERROR_MESSAGE_MAX];
    size_t used = 0, i;

    list[0] = '\0';
    for (i = 0; i < dirs->n && used < sizeof(list); i++)
        used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s",
                                 i > 0 ? ", " : "", dirs->v[i]);
    return rowsync_error_set(err, ROWSYNC_ENOTFOUND,
                             "%s '%s' not found; searched: %s (set "
                             "--module-path or ROWSYNC_MODULE_PATH)",
                             k->word, name, list);
}

/* Frees one module record, closing its handle. */
static void ld_module_free(struct rs_module *m, int resident)
{
    if (m->handle != NULL)
        ld_close(m->handle, resident);
    free(m->table);
    free(m->name);
    free(m->path);
    free(m);
}

/* Loads module name of kind k into ctx, or returns the one loaded before.
 * On success *out is the context's copy of the table, valid until
 * rs_modules_unload; on failure it is untouched and err says why. */
static int ld_load(rowsync_ctx_t *ctx, const struct ld_kind *k,
                   const char *name, const void **out, rowsync_error_t *err)
{
    struct ld_strv dirs;
    struct rs_module *m;
    const void *table;
    const char *dir = NULL;
    char *file = NULL;
    int nomem = 0, rc;
    size_t i, size;

    if (ctx == NULL || out == NULL || name == NULL)
        return rowsync_error_set(err, ROWSYNC_EINVAL,
                                 "loading a %s: no context, name or result",
                                 k->word);
    if (!ld_name_ok(name))
        return rowsync_error_set(err, ROWSYNC_EINVAL,
                                 "invalid %s name '%s': a module name is a "
                                 "file name without directory or extension",
                                 k->word, name);
    for (m = ctx->modules; m != NULL; m = m->next) {
        if (m->kind == k->id && strcmp(m->name, name) == 0) {
            *out = m->table;
            return 0;
        }
    }
    if (ld_search_dirs(ctx, k->id, &dirs) != 0)
        return rowsync_error_set(err, ROWSYNC_ENOMEM, "out of memory");
    for (i = 0; i < dirs.n && file == NULL && !nomem; i++) {
        file = ld_find_file(dirs.v[i], name, &nomem);
        dir = dirs.v[i];
    }
    if (file == NULL) {
        rc = nomem ? rowsync_error_set(err, ROWSYNC_ENOMEM, "out of memory")
                   : ld_not_found(k, name, &dirs, err);
        ld_strv_free(&dirs);
        return rc;
    }
    m = calloc(1, sizeof(*m));
    if (m == NULL) {
        free(file);
        ld_strv_free(&dirs);
        return rowsync_error_set(err, ROWSYNC_ENOMEM, "out of memory");
    }
    m->kind = k->id;
    m->path = file;
    m->name = rs_strdup(name);
    m->table = calloc(1, k->host_size);
    if (m->name == NULL || m->table == NULL) {
        rc = rowsync_error_set(err, ROWSYNC_ENOMEM, "out of memory");
        goto fail;
    }
    rc = ld_open(k->word, dir, name, file, &m->handle, err);
    if (rc != 0)
        goto fail;
    rc = ld_resolve(k, m->handle, name, file, &table, err);
    if (rc != 0)
        goto fail;
    /* Members past the module's struct_size stay NULL: absent. */
    size = ((const rowsync_abi_header_t *)table)->struct_size;
    memcpy(m->table, table, size < k->host_size ? size : k->host_size);
    ((rowsync_abi_header_t *)m->table)->struct_size = (uint32_t)k->host_size;
    m->next = ctx->modules;
    ctx->modules = m;
    ld_strv_free(&dirs);
    *out = m->table;
    return 0;

fail:
    ld_module_free(m, 0);
    ld_strv_free(&dirs);
    return rc;
}

/* ---- loader.h --------------------------------------------------------- */

int rs_driver_load(rowsync_ctx_t *ctx, const char *name,
                   const rowsync_driver_t **out, rowsync_error_t *err)
{
    const void *table;
    int rc = ld_load(ctx, &ld_kinds[LD_DRIVER], name, &table, err);

    if (rc == 0)
        *out = table;
    return rc;
}

int rs_plugin_load(rowsync_ctx_t *ctx, const char *name,
                   const rowsync_plugin_t **out, rowsync_error_t *err)
{
    const void *table;
    int rc = ld_load(ctx, &ld_kinds[LD_PLUGIN], name, &table, err);

    if (rc == 0)
        *out = table;
    return rc;
}

/* Closes every module of the context, newest first. Tables handed out
 * before are invalid afterwards. With ROWSYNC_RESIDENT_MODULES set in
 * the environment the code stays mapped (for sanitizer leak stacks). */
void rs_modules_unload(rowsync_ctx_t *ctx)
{
    const char *env = getenv("ROWSYNC_RESIDENT_MODULES");
    int resident = env != NULL && env[0] != '\0';

    if (ctx == NULL)
        return;
    while (ctx->modules != NULL) {
        struct rs_module *m = ctx->modules;

        ctx->modules = m->next;
        ld_module_free(m, resident);
    }
}

/* ---- rowsync_modules_list ------------------------------------------- */

static int ld_cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The module names in dir: files NAME.la and NAME.so (one name for both),
 * not starting with "lib" or ".", sorted. A missing or unreadable
 * directory has none. Returns 0 or ROWSYNC_ENOMEM. */
static int ld_scan(const char *dir, struct ld_strv *names)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int rc = 0;

    memset(names, 0, sizeof(*names));
    if (d == NULL)
        return 0;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        char *path;

        if (de->d_name[0] == '.' || strncmp(de->d_name, "lib", 3) == 0 ||
            len < 4 ||
            (strcmp(de->d_name + len - 3, ".la") != 0 &&
             strcmp(de->d_name + len - 3, ".so") != 0))
            continue;
        path = rs_sprintf("%s/%s", dir, de->d_name);
        if (path == NULL) {
            rc = ROWSYNC_ENOMEM;
            break;
        }
        if (ld_is_file(path))
            rc = ld_strv_add(names, de->d_name, len - 3, LD_ANY);
        free(path);
    }
    closedir(d);
    if (rc == 0 && names->n > 1)
        qsort(names->v, names->n, sizeof(char *), ld_cmp_str);
    if (rc != 0)
        ld_strv_free(names);
    return rc;
}

/* Opens module name found in dir as file, tells its kind from its entry
 * symbol, checks it, and calls cb with what it found (or the problem).
 * shadow, when not NULL, is the file earlier on the search path that
 * hides this one. Everything is unloaded again before returning. */
static void ld_probe(const char *dir, int dirtag, const char *name,
                     const char *file, const char *shadow,
                     void (*cb)(void *, const rowsync_module_info_t *),
                     void *ud)
{
    rowsync_module_info_t info;
    rowsync_error_t err;
    char problem[ROWSYNC_ERROR_MESSAGE_MAX + 256];
    lt_dlhandle h = NULL;
    const struct ld_kind *k = NULL;
    const void *table = NULL;
    int rc;

    memset(&info, 0, sizeof(info));
    memset(&err, 0, sizeof(err));
    info.name = name;
    info.path = file;
    info.kind = dirtag == LD_DRIVER   ? "driver"
                : dirtag == LD_PLUGIN ? "plugin"
                                      : "unknown";
    rc = ld_open("module", dir, name, file, &h, &err);
    if (rc == 0) {
        if (ld_entry(h, name, ld_kinds[LD_DRIVER].entry) != NULL)
            k = &ld_kinds[LD_DRIVER];
        else if (ld_entry(h, name, ld_kinds[LD_PLUGIN].entry) != NULL)
            k = &ld_kinds[LD_PLUGIN];
        if (k == NULL) {
            rc = rowsync_error_set(&err, ROWSYNC_EABI,
                                   "module '%s' found at %s has neither %s "
                                   "nor %s (is it a rowsync module?)",
                                   name, file, ld_kinds[LD_DRIVER].entry,
                                   ld_kinds[LD_PLUGIN].entry);
        } else {
            info.kind = k->word;
            rc = ld_resolve(k, h, name, file, &table, &err);
        }
    }
    if (table != NULL) {
        const rowsync_abi_header_t *hdr = table;

        info.abi_major = hdr->major;
        info.abi_minor = hdr->minor;
        /* Read the strings only where the layout is the one we know. */
        if (hdr->major == k->major &&
            hdr->struct_size >= LD_END(struct ld_prefix, description)) {
            const struct ld_prefix *t = table;

            info.version = t->version;
            info.description = t->description;
        }
    }
    if (rc == 0 && k != NULL && dirtag != LD_ANY && dirtag != (int)k->id) {
        rc = rowsync_error_set(&err, ROWSYNC_EINVAL,
                               "a %s in the %s directory %s is never "
                               "searched: install it into %s",
                               k->word, ld_kinds[dirtag].word, dir,
                               k->installdir);
    }
    if (shadow != NULL && rc != 0)
        snprintf(problem, sizeof(problem),
                 "shadowed by %s, which comes first on the search path; "
                 "also: %s",
                 shadow, err.message);
    else if (shadow != NULL)
        snprintf(problem, sizeof(problem),
                 "shadowed by %s, which comes first on the search path",
                 shadow);
    else
        snprintf(problem, sizeof(problem), "%s", err.message);
    if (shadow != NULL || rc != 0)
        info.problem = problem;
    cb(ud, &info);
    if (h != NULL)
        ld_close(h, 0);
}

/* Reports every module on the search path, drivers and plugins, in path
 * order and by name within a directory. Modules are loaded only for the
 * time of their callback; ctx->modules is not touched. */
int rowsync_modules_list(rowsync_ctx_t *ctx,
                         void (*cb)(void *ud, const rowsync_module_info_t *m),
                         void *ud, rowsync_error_t *err)
{
    struct ld_strv dirs, names;
    size_t i, j, l;
    int nomem = 0;

    if (ctx == NULL || cb == NULL)
        return rowsync_error_set(err, ROWSYNC_EINVAL,
                                 "listing modules: no context or callback");
    if (ld_search_dirs(ctx, LD_ANY, &dirs) != 0)
        return rowsync_error_set(err, ROWSYNC_ENOMEM, "out of memory");
    for (i = 0; i < dirs.n && !nomem; i++) {
        if (ld_scan(dirs.v[i], &names) != 0) {
            nomem = 1;
            break;
        }
        for (j = 0; j < names.n && !nomem; j++) {
            char *file = ld_find_file(dirs.v[i], names.v[j], &nomem);
            char *shadow = NULL;

            if (file == NULL)
                continue;
            /* An earlier directory searched for this kind hides it; the
             * kind is known only once the module is open, so any earlier
             * shared directory, or the install directory of the kind the
             * file's own directory is for, counts. */
            for (l = 0; l < i && shadow == NULL && !nomem; l++) {
                if (dirs.tag[l] != LD_ANY && dirs.tag[i] != LD_ANY &&
                    dirs.tag[l] != dirs.tag[i])
                    continue;
                shadow = ld_find_file(dirs.v[l], names.v[j], &nomem);
            }
            if (!nomem)
                ld_probe(dirs.v[i], dirs.tag[i], names.v[j], file, shadow, cb,
                         ud);
            free(shadow);
            free(file);
        }
        ld_strv_free(&names);
    }
    ld_strv_free(&dirs);
    if (nomem)
        return rowsync_error_set(err, ROWSYNC_ENOMEM, "out of memory");
    return 0;
}
