/* kv_cache: the paged KV cache of the model's forward calls.
 *
 * Keys and values are kept in pages of TINA_KV_PAGE positions, (L, pages, TINA_KV_PAGE, Hkv, D) each, and a slot
 * (one sequence) reaches its positions through its row of a page table. Pages are taken as a slot's sequence grows
 * and given back when it is released, so a cache holds as many sequences as their actual lengths allow, not as
 * many as their longest possible lengths would. The G samples of a prompt map the prompt's pages together
 * (tina_kv_cache_share): a page counts the slots that map it, and a slot about to write into a page it shares gets
 * its own copy first (copy on write: in practice the prompt's last, partly filled page, once per sample). */
#ifndef TINA_KV_CACHE_H
#define TINA_KV_CACHE_H

#include <stddef.h>

#include <stdint.h>

#include "backends/backend.h"
#include "base/error.h"

enum { TINA_KV_PAGE = 16 }; /* positions a page holds */

typedef struct TinaKVCache TinaKVCache;

/* What a cache keeps of each position: the keys and values of `layers` layers, kv_heads x head_dim each. */
typedef struct {
    int layers, kv_heads, head_dim;
} TinaKVShape;

/* A cache of n_slots sequences of up to max_len positions each, in n_pages pages (0: as many as every slot at
 * max_len needs, so that it never runs out), in the backend's memory. At least the pages of one sequence of max_len
 * positions. (A model's cache: tina_model_kv_cache, model.h, which also readies the backend for its calls.) */
TinaStatus tina_kv_cache_new(TinaBackend *backend, TinaKVShape shape, int n_slots, int max_len, int n_pages,
                             TinaKVCache **cache, TinaError *err);
void tina_kv_cache_free(TinaKVCache *cache);

/* The bytes of one page (keys and values of TINA_KV_PAGE positions in every layer) of a cache of that shape. */
size_t tina_kv_cache_page_bytes(const TinaBackend *backend, TinaKVShape shape);
/* The pages of a sequence of n positions. */
int tina_kv_cache_pages_of(int n);
int tina_kv_cache_pages(const TinaKVCache *cache);
int tina_kv_cache_pages_free(const TinaKVCache *cache);

/* How many free pages writing positions from .. to - 1 of the slot takes: pages it does not map yet, and copies of
 * pages it shares. A forward call of a sequence with n_past and n_new writes n_past .. n_past + n_new - 1, and
 * takes them itself (an error when they are not free). */
int tina_kv_cache_pages_to_write(const TinaKVCache *cache, int slot, int from, int to);

/* Slot `to` gives back its pages and maps the pages of slot `from` that hold its first n positions. */
TinaStatus tina_kv_cache_share(TinaKVCache *cache, int from, int to, int n, TinaError *err);

/* The slot gives back its pages (freed when no other slot maps them). */
void tina_kv_cache_release(TinaKVCache *cache, int slot);

/* ---- for the model's forward calls and the backends' attention ---- */

struct TinaKVCache {
    TinaBackend *backend;
    TinaKVShape shape;
    int n_slots, max_len;
    int n_pages, per_slot;  /* pages in all; pages a slot maps at most */
    int32_t *table;         /* host (n_slots, per_slot): the page of slot s's positions j * TINA_KV_PAGE .., -1 none */
    int *mapped;            /* (n_slots,) pages slot s maps: its row's first mapped entries */
    int *refs;              /* (n_pages,) slots that map each page */
    int32_t *free_pages;    /* (n_pages,) a stack of n_free unmapped pages */
    int n_free;
    int32_t *backend_table; /* the backend's copy of table (table itself on a host backend) */
    int *dirty_from, *dirty_to; /* (n_slots,) the entries of each slot's row changed since the backend's copy */
    int *dirty, n_dirty;    /* (n_slots,) the slots with changed entries */
    void *k, *v;            /* (L, n_pages, TINA_KV_PAGE, Hkv*D) */
    size_t layer_stride;    /* elements per layer */
};

/* Maps and unshares positions from .. to - 1 of the slot for a forward call to write */
TinaStatus tina_kv_cache_take(TinaKVCache *kv, int slot, int from, int to, TinaError *err);
/* Brings the backend's copy of the page table up to date (an upload: not inside a recorded step) */
void tina_kv_cache_sync(TinaKVCache *kv);

#endif
