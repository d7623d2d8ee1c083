/* strset: a set of byte strings (open addressing, keys copied into one arena), for "have we seen this id?". */
#ifndef TINA_STRSET_H
#define TINA_STRSET_H

#include <stddef.h>

#include "error.h"

typedef struct TinaStrSet TinaStrSet;

TinaStatus tina_strset_new(TinaStrSet **set, TinaError *err);
/* Adds key[0..len): *added is 1 if it is new, 0 if the set had it already. */
TinaStatus tina_strset_add(TinaStrSet *set, const char *key, size_t len, int *added, TinaError *err);
size_t tina_strset_size(const TinaStrSet *set);
void tina_strset_free(TinaStrSet *set);

#endif
