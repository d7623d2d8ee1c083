/* strmap: a hash map from byte strings to 64-bit values (open addressing, keys copied into one arena). Used for
 * "have we seen this id?", token vocabularies, BPE merge tables and caches. */
#ifndef TINA_STRMAP_H
#define TINA_STRMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

typedef struct TinaStrMap TinaStrMap;

TinaStatus tina_strmap_new(TinaStrMap **map, TinaError *err);
/* Inserts key[0..len) -> value unless the key is there; *inserted says which (an existing value is kept). */
TinaStatus tina_strmap_insert(TinaStrMap *map, const char *key, size_t len, int64_t value, bool *inserted,
                              TinaError *err);
/* Looks key up: true and *value when present. */
bool tina_strmap_get(const TinaStrMap *map, const char *key, size_t len, int64_t *value);
size_t tina_strmap_size(const TinaStrMap *map);
/* Forgets every key, keeping the memory. */
void tina_strmap_clear(TinaStrMap *map);
void tina_strmap_free(TinaStrMap *map);

#endif
