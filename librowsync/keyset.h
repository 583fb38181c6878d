/* Internal: a hash set of row keys (their canonical text) with what the
 * bidirectional merge needs to know about each. Memory grows with the
 * number of keys changed on one side, not with row sizes. */
#ifndef RS_KEYSET_H
#define RS_KEYSET_H

#include "internal.h"

typedef struct rs_key_entry {
    char *key;       /* canonical key text, owned */
    int64_t time_us; /* time of the change on the side that was collected */
    const char *origin; /* node the collected change was first written on
                           (a job node name, borrowed), NULL if unknown */
    int lost;        /* the collected change lost a conflict: do not send it */
    int op;          /* the collected change's rowsync_op_t */
    uint64_t cols;   /* canonical columns it changed, UINT64_MAX unknown */
    char *row;       /* its values, encoded (owned), when the rule needs
                        them: manual, plugin, merge = column; else NULL */
} rs_key_entry_t;

typedef struct rs_keyset {
    rs_key_entry_t *slots; /* open addressing; key == NULL means empty */
    size_t cap;            /* power of two */
    size_t count;
} rs_keyset_t;

RS_HIDDEN void rs_keyset_init(rs_keyset_t *set);
RS_HIDDEN void rs_keyset_free(rs_keyset_t *set);
/* Adds key (copied) or returns the existing entry. NULL on ENOMEM. */
RS_HIDDEN rs_key_entry_t *rs_keyset_add(rs_keyset_t *set, const char *key);
/* The entry for key, or NULL. Valid until the next add. */
RS_HIDDEN rs_key_entry_t *rs_keyset_find(const rs_keyset_t *set,
                                         const char *key);

#endif
