#include "backends/kv_cache.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int tina_kv_cache_pages_of(int n) { return (n + TINA_KV_PAGE - 1) / TINA_KV_PAGE; }

size_t tina_kv_cache_page_bytes(const TinaBackend *b, TinaKVShape shape) {
    return 2 * (size_t)shape.layers * TINA_KV_PAGE * shape.kv_heads * shape.head_dim * b->act_bytes;
}

TinaStatus tina_kv_cache_new(TinaBackend *b, TinaKVShape shape, int n_slots, int max_len, int n_pages,
                             TinaKVCache **out, TinaError *err) {
    *out = NULL;
    if (n_slots < 1 || max_len < 1 || n_pages < 0)
        return tina_error(err, TINA_ERR_INPUT, "a KV cache needs slots and positions");
    int per_slot = tina_kv_cache_pages_of(max_len);
    if (n_pages == 0) n_pages = (int)((long long)n_slots * per_slot > (1 << 30) ? 1 << 30 : n_slots * per_slot);
    if (n_pages < per_slot)
        return tina_error(err, TINA_ERR_INPUT, "a KV cache of %d positions (%d page%s) cannot hold one sequence of %d",
                          n_pages * TINA_KV_PAGE, n_pages, n_pages == 1 ? "" : "s", max_len);
    if (shape.layers < 1 || shape.kv_heads < 1 || shape.head_dim < 1)
        return tina_error(err, TINA_ERR_INPUT, "a KV cache needs layers, heads and a head size");
    TinaKVCache *kv = calloc(1, sizeof *kv);
    if (!kv) return tina_error(err, TINA_ERR_RUNTIME, "out of memory");
    kv->backend = b, kv->shape = shape;
    kv->n_slots = n_slots, kv->max_len = max_len;
    kv->n_pages = n_pages, kv->per_slot = per_slot;
    kv->layer_stride = (size_t)n_pages * TINA_KV_PAGE * shape.kv_heads * shape.head_dim;
    size_t table = (size_t)n_slots * per_slot * sizeof *kv->table, bytes = kv->layer_stride * shape.layers * b->act_bytes;
    kv->table = malloc(table);
    kv->mapped = calloc((size_t)n_slots, sizeof *kv->mapped);
    kv->refs = calloc((size_t)n_pages, sizeof *kv->refs);
    kv->free_pages = malloc((size_t)n_pages * sizeof *kv->free_pages);
    kv->dirty_from = calloc((size_t)n_slots, sizeof *kv->dirty_from);
    kv->dirty_to = calloc((size_t)n_slots, sizeof *kv->dirty_to);
    kv->dirty = malloc((size_t)n_slots * sizeof *kv->dirty);
    kv->backend_table = b->host_memory ? kv->table : b->alloc(b, table);
    kv->k = b->alloc(b, bytes);
    kv->v = b->alloc(b, bytes);
    if (!kv->table || !kv->mapped || !kv->refs || !kv->free_pages || !kv->dirty_from || !kv->dirty_to || !kv->dirty ||
        !kv->backend_table || !kv->k || !kv->v) {
        tina_kv_cache_free(kv);
        return tina_error(err, TINA_ERR_RUNTIME, "out of memory (KV cache of 2 x %.1f MB)", (double)bytes / 1e6);
    }
    memset(kv->table, 0xff, table); /* -1: no page */
    for (int i = 0; i < n_pages; i++) kv->free_pages[i] = n_pages - 1 - i; /* page 0 on top */
    kv->n_free = n_pages;
    *out = kv;
    return TINA_OK;
}

void tina_kv_cache_free(TinaKVCache *kv) {
    if (!kv) return;
    TinaBackend *b = kv->backend;
    if (kv->k) b->release(b, kv->k);
    if (kv->v) b->release(b, kv->v);
    if (kv->backend_table && kv->backend_table != kv->table) b->release(b, kv->backend_table);
    free(kv->table);
    free(kv->mapped);
    free(kv->refs);
    free(kv->free_pages);
    free(kv->dirty_from);
    free(kv->dirty_to);
    free(kv->dirty);
    free(kv);
}

int tina_kv_cache_pages(const TinaKVCache *kv) { return kv->n_pages; }
int tina_kv_cache_pages_free(const TinaKVCache *kv) { return kv->n_free; }

static int32_t *row_of(const TinaKVCache *kv, int slot) { return kv->table + (size_t)slot * kv->per_slot; }

/* entries from .. to - 1 of the slot's row changed: the backend's copy needs them (an unmapped entry is never read,
 * so a release changes nothing the backend needs) */
static void changed(TinaKVCache *kv, int slot, int from, int to) {
    if (kv->dirty_from[slot] >= kv->dirty_to[slot]) {
        kv->dirty[kv->n_dirty++] = slot;
        kv->dirty_from[slot] = from, kv->dirty_to[slot] = to;
    }
    if (from < kv->dirty_from[slot]) kv->dirty_from[slot] = from;
    if (to > kv->dirty_to[slot]) kv->dirty_to[slot] = to;
}

int tina_kv_cache_pages_to_write(const TinaKVCache *kv, int slot, int from, int to) {
    if (to <= from) return 0;
    const int32_t *row = row_of(kv, slot);
    int n = 0, last = (to - 1) / TINA_KV_PAGE;
    for (int j = from / TINA_KV_PAGE; j <= last; j++) n += j >= kv->mapped[slot] || kv->refs[row[j]] > 1;
    return n + (from / TINA_KV_PAGE > kv->mapped[slot] ? from / TINA_KV_PAGE - kv->mapped[slot] : 0);
}

/* a page off the free stack, held once */
static int32_t take_page(TinaKVCache *kv) {
    int32_t page = kv->free_pages[--kv->n_free];
    kv->refs[page] = 1;
    return page;
}

static void drop_page(TinaKVCache *kv, int32_t page) {
    if (--kv->refs[page] == 0) kv->free_pages[kv->n_free++] = page;
}

/* the whole page `from` (keys and values of every layer) into page `to` */
static void copy_page(TinaKVCache *kv, int32_t from, int32_t to) {
    TinaBackend *b = kv->backend;
    size_t page = (size_t)TINA_KV_PAGE * kv->shape.kv_heads * kv->shape.head_dim;
    for (int l = 0; l < kv->shape.layers; l++) {
        size_t at = (size_t)l * kv->layer_stride;
        char *k = (char *)kv->k, *v = (char *)kv->v;
        b->copy(b, k + (at + to * page) * b->act_bytes, k + (at + from * page) * b->act_bytes, page);
        b->copy(b, v + (at + to * page) * b->act_bytes, v + (at + from * page) * b->act_bytes, page);
    }
}

TinaStatus tina_kv_cache_take(TinaKVCache *kv, int slot, int from, int to, TinaError *err) {
    int needed = tina_kv_cache_pages_to_write(kv, slot, from, to);
    if (needed > kv->n_free)
        return tina_error(err, TINA_ERR_RUNTIME, "the KV cache is out of pages: %d more needed, %d of %d free", needed,
                          kv->n_free, kv->n_pages);
    if (needed == 0) return TINA_OK;
    int32_t *row = row_of(kv, slot);
    int first = -1, last = (to - 1) / TINA_KV_PAGE;
    for (int j = 0; j <= last; j++) {
        if (j >= kv->mapped[slot]) {
            row[j] = take_page(kv);
            kv->mapped[slot] = j + 1;
        } else if (j >= from / TINA_KV_PAGE && kv->refs[row[j]] > 1) {
            int32_t own = take_page(kv);
            copy_page(kv, row[j], own);
            drop_page(kv, row[j]);
            row[j] = own;
        } else {
            continue;
        }
        if (first < 0) first = j;
    }
    changed(kv, slot, first, last + 1);
    return TINA_OK;
}

void tina_kv_cache_release(TinaKVCache *kv, int slot) {
    int32_t *row = row_of(kv, slot);
    for (int j = 0; j < kv->mapped[slot]; j++) drop_page(kv, row[j]), row[j] = -1;
    kv->mapped[slot] = 0;
}

TinaStatus tina_kv_cache_share(TinaKVCache *kv, int from, int to, int n, TinaError *err) {
    if (from < 0 || to < 0 || from >= kv->n_slots || to >= kv->n_slots || from == to || n < 0 ||
        tina_kv_cache_pages_of(n) > kv->mapped[from])
        return tina_error(err, TINA_ERR_INPUT, "slot %d cannot share %d positions of slot %d", to, n, from);
    tina_kv_cache_release(kv, to);
    const int32_t *source = row_of(kv, from);
    int32_t *row = row_of(kv, to);
    for (int j = 0; j < tina_kv_cache_pages_of(n); j++) row[j] = source[j], kv->refs[row[j]]++;
    kv->mapped[to] = tina_kv_cache_pages_of(n);
    if (kv->mapped[to]) changed(kv, to, 0, kv->mapped[to]);
    return TINA_OK;
}

/* The changed entries go up as one copy from the first to the last when that is at most COPY_AT_ONCE bytes (as in a
 * decode step's few sequences that reach a new page), else a copy a slot. */
enum { COPY_AT_ONCE = 64 << 10 };

void tina_kv_cache_sync(TinaKVCache *kv) {
    TinaBackend *b = kv->backend;
    size_t low = SIZE_MAX, high = 0;
    for (int i = 0; i < kv->n_dirty; i++) {
        int s = kv->dirty[i];
        size_t from = (size_t)s * kv->per_slot + kv->dirty_from[s], to = (size_t)s * kv->per_slot + kv->dirty_to[s];
        low = from < low ? from : low, high = to > high ? to : high;
    }
    bool at_once = kv->n_dirty && (high - low) * sizeof *kv->table <= COPY_AT_ONCE;
    if (at_once && kv->backend_table != kv->table)
        b->upload(b, kv->backend_table + low, kv->table + low, (high - low) * sizeof *kv->table);
    for (int i = 0; i < kv->n_dirty; i++) {
        int s = kv->dirty[i];
        size_t at = (size_t)s * kv->per_slot + kv->dirty_from[s], n = (size_t)(kv->dirty_to[s] - kv->dirty_from[s]);
        if (!at_once && kv->backend_table != kv->table)
            b->upload(b, kv->backend_table + at, kv->table + at, n * sizeof *kv->table);
        kv->dirty_from[s] = kv->dirty_to[s] = 0;
    }
    kv->n_dirty = 0;
}
