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

#include "error.h"
#include "model.h"

enum { TINA_KV_PAGE = 16 }; /* positions a page holds */

/* A cache of n_slots sequences of up to max_len positions each, in n_pages pages (0: as many as every slot at
 * max_len needs, so that it never runs out). At least the pages of one sequence of max_len positions. */
TinaStatus tina_kv_cache_new(TinaModel *model, int n_slots, int max_len, int n_pages, TinaKVCache **cache,
                             TinaError *err);
void tina_kv_cache_free(TinaKVCache *cache);

/* The bytes of one page (keys and values of TINA_KV_PAGE positions in every layer) of a cache of the model. */
size_t tina_kv_cache_page_bytes(const TinaModel *model);
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

#endif
