/* libFuzzer target for the job-file parser (librowsync/jobfile.c).
 * rs_job_cfg_parse reads a path, so each input is written to one file in a
 * private temporary directory and parsed from there. A parsed model is
 * walked end to end (so that a half-built model shows up under
 * AddressSanitizer) and freed; a rejected file must come with a message.
 * Built and run by fuzz/run.sh; not part of the automake build. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rowsync/common.h>

#include "filter.h"
#include "jobfile.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The file every input is written to; its directory is made once and
 * removed at exit. */
static char fzj_dir[4096];
static char fzj_path[4096 + 16];

/* Removes the scratch file and directory. */
static void fzj_cleanup(void)
{
    if (fzj_path[0] != '\0')
        unlink(fzj_path);
    if (fzj_dir[0] != '\0')
        rmdir(fzj_dir);
}

/* Makes the scratch directory: under /dev/shm when there is one (the
 * parser opens the file for every input), else under $TMPDIR or /tmp. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *base = getenv("TMPDIR");

    (void)argc;
    (void)argv;
    if (access("/dev/shm", W_OK) == 0)
        base = "/dev/shm";
    else if (base == NULL || base[0] == '\0')
        base = "/tmp";
    snprintf(fzj_dir, sizeof fzj_dir, "%s/rowsync-fuzz-XXXXXX", base);
    if (mkdtemp(fzj_dir) == NULL) {
        perror("mkdtemp");
        exit(2);
    }
    snprintf(fzj_path, sizeof fzj_path, "%s/job.conf", fzj_dir);
    atexit(fzj_cleanup);
    return 0;
}

/* Sums the lengths of a string list, touching every element. */
static size_t fzj_strs(char *const *v, size_t n)
{
    size_t sum = 0, i;

    for (i = 0; i < n; i++)
        sum += strlen(v[i]);
    return sum;
}

/* Reads every string of a parsed model; returns a checksum so that the
 * reads cannot be optimized away. */
static size_t fzj_walk(const rs_job_cfg_t *cfg)
{
    size_t sum = strlen(cfg->path) + strlen(cfg->dir) + strlen(cfg->conflict);
    size_t i, j, k;

    if (cfg->source != NULL)
        sum += strlen(cfg->source);
    for (i = 0; i < cfg->nnodes; i++) {
        const rs_node_cfg_t *n = &cfg->nodes[i];

        sum += strlen(n->name) + strlen(n->driver);
        if (n->password_env != NULL)
            sum += strlen(n->password_env);
        if (n->password_file != NULL)
            sum += strlen(n->password_file);
        for (j = 0; j < n->noptions; j++)
            sum += strlen(n->options[j].key) + strlen(n->options[j].value);
        if (rs_job_cfg_node(cfg, n->name) == NULL)
            abort();
    }
    for (i = 0; i < cfg->ntables; i++) {
        const rs_table_cfg_t *t = &cfg->tables[i];

        sum += strlen(t->name) + fzj_strs(t->key, t->nkey)
               + fzj_strs(t->columns, t->ncolumns);
        if (t->filter != NULL)
            sum += strlen(rs_filter_text(t->filter));
        for (j = 0; j < t->non; j++) {
            const rs_table_node_cfg_t *o = &t->on[j];

            sum += strlen(o->node);
            if (o->name != NULL)
                sum += strlen(o->name);
            sum += fzj_strs(o->map_from, o->nmap) + fzj_strs(o->map_to, o->nmap)
                   + fzj_strs(o->skip, o->nskip);
            for (k = 0; k < o->nfill; k++) {
                sum += strlen(o->fill[k].column);
                if (o->fill[k].value != NULL)
                    sum += strlen(o->fill[k].value);
            }
            if (o->filter != NULL)
                sum += strlen(rs_filter_text(o->filter));
            if (rs_table_cfg_on(t, o->node) == NULL)
                abort();
        }
    }
    return sum;
}

/* Where fzj_walk's checksum goes, so the walk is not optimized away. */
volatile size_t fzj_sink;

/* Writes one input to the scratch file and parses it. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rowsync_error_t err;
    rs_job_cfg_t *cfg = NULL;
    FILE *fp;
    int rc;

    fp = fopen(fzj_path, "wb");
    if (fp == NULL)
        abort();
    if (size > 0 && fwrite(data, 1, size, fp) != size)
        abort();
    if (fclose(fp) != 0)
        abort();

    memset(&err, 0, sizeof err);
    rc = rs_job_cfg_parse(&cfg, fzj_path, &err);
    if (rc != 0) {
        /* rejected: a message, and the model left untouched */
        if (cfg != NULL || err.message[0] == '\0')
            abort();
        return 0;
    }
    if (cfg == NULL)
        abort();
    fzj_sink += fzj_walk(cfg);
    rs_job_cfg_free(cfg);
    return 0;
}
