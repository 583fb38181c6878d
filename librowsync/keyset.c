/* A hash set of key texts (FNV-1a, linear probing). */
#include <stdlib.h>
#include <string.h>

#include "keyset.h"

static uint64_t ks_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

void rs_keyset_init(rs_keyset_t *set)
{
    memset(set, 0, sizeof(*set));
}

void rs_keyset_free(rs_keyset_t *set)
{
    for (size_t i = 0; i < set->cap; i++) {
        free(set->slots[i].key);
        free(set->slots[i].row);
    }
    free(set->slots);
    memset(set, 0, sizeof(*set));
}

static rs_key_entry_t *ks_slot(rs_key_entry_t *slots, size_t cap,
                               const char *key)
{
    size_t i = (size_t)ks_hash(key) & (cap - 1);
    while (slots[i].key && strcmp(slots[i].key, key) != 0)
        i = (i + 1) & (cap - 1);
    return &slots[i];
}

/* Doubles the table; entries move, so pointers into it become stale. */
static int ks_grow(rs_keyset_t *set)
{
    size_t cap = set->cap ? set->cap * 2 : 1024;
    rs_key_entry_t *slots = calloc(cap, sizeof(*slots));
    if (!slots)
        return -1;
    for (size_t i = 0; i < set->cap; i++)
        if (set->slots[i].key)
            *ks_slot(slots, cap, set->slots[i].key) = set->slots[i];
    free(set->slots);
    set->slots = slots;
    set->cap = cap;
    return 0;
}

rs_key_entry_t *rs_keyset_add(rs_keyset_t *set, const char *key)
{
    if ((set->count + 1) * 4 > set->cap * 3 && ks_grow(set) < 0)
        return NULL;
    rs_key_entry_t *e = ks_slot(set->slots, set->cap, key);
    if (!e->key) {
        if (!(e->key = rs_strdup(key)))
            return NULL;
        e->time_us = 0;
        e->origin = NULL;
        e->lost = 0;
        e->op = 0;
        e->cols = UINT64_MAX;
        e->row = NULL;
        set->count++;
    }
    return e;
}

rs_key_entry_t *rs_keyset_find(const rs_keyset_t *set, const char *key)
{
    if (!set->cap)
        return NULL;
    rs_key_entry_t *e = ks_slot(set->slots, set->cap, key);
    return e->key ? e : NULL;
}
