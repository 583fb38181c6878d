/* drivers/mysql/mysql_binlog.h: what mysql.c and mysql_binlog.c share
 * inside the mysql driver module (nothing here is exported: the module
 * exports its entry point only).
 *
 * Binlog capture (`capture = binlog`) fills the same history table as the
 * triggers, from the server's row-based binary log: see the header comment
 * of mysql_binlog.c.
 */
#ifndef ROWSYNC_MYSQL_BINLOG_H
#define ROWSYNC_MYSQL_BINLOG_H

#include <stdint.h>

#include <mysql.h>

#include <rowsync/driver.h>

/* Longest "file:position" text of an ingest position. */
#define MY_BL_POS_MAX 600

/* The table whose history a binlog ingestion fills. */
typedef struct my_bl_target {
    const char *node;  /* node name, for messages */
    const char *where; /* "host:port, database d", for messages */
    const char *db;    /* database of the captured table */
    const char *name;  /* the captured table */
    const char *hist;  /* its history table (in db) */
    const rowsync_table_spec_t *spec;
    uint32_t server_id; /* replica id the binlog dump announces */
} my_bl_target_t;

/* What one ingestion did (for tests and the bench). */
typedef struct my_bl_stats {
    uint64_t events;   /* binlog events read */
    uint64_t rows;     /* history rows written */
    uint64_t skipped;  /* row changes of rowsync's own apply, skipped */
} my_bl_stats_t;

/* From mysql.c: fills err from the last error of session db (the node and
 * where of c added); opens a session with the node's settings. */
int my_fail(rowsync_conn_t *c, MYSQL *db, rowsync_error_t *err,
            const char *fmt, ...) __attribute__((format(printf, 4, 5)));
int my_session(rowsync_conn_t *c, int reader, MYSQL **out,
               rowsync_error_t *err);

/* The rowsync_state key of a table's ingest position ("binlog:db.name"),
 * written into buf (len bytes). */
void my_bl_state_key(const char *db, const char *name, char *buf, size_t len);

/* Checks that the server writes a binary log that binlog capture can read
 * (MariaDB, log_bin on, binlog_format ROW, binlog_row_image FULL) on
 * session db; a clear ROWSYNC_EINVAL naming the settings to change if not. */
int my_bl_check(rowsync_conn_t *c, MYSQL *db, const char *node,
                const char *where, rowsync_error_t *err);

/* The server's current binlog end as "file:position" into pos. */
int my_bl_head(rowsync_conn_t *c, MYSQL *db, const char *node,
               char *pos, size_t len, rowsync_error_t *err);

/* Reads the binary log from the table's ingest position to its end and
 * appends history rows for the table's changes, on session local (no
 * transaction may be open there), under a named lock per table. The new
 * position is stored in the same local transaction as the rows. st may be
 * NULL. 0, 1 when no position is recorded for the table (binlog capture
 * not installed; err untouched), or a negative code. */
int my_bl_ingest(rowsync_conn_t *c, MYSQL *local, const my_bl_target_t *t,
                 unsigned lock_wait_s, my_bl_stats_t *st,
                 rowsync_error_t *err);

#endif
