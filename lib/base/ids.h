/* ids: a growable array of token ids. */
#ifndef TINA_IDS_H
#define TINA_IDS_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

typedef struct {
    int32_t *data;
    size_t len;
    size_t cap;
} TinaIds;

TinaStatus tina_ids_append(TinaIds *ids, const int32_t *values, size_t n, TinaError *err);
TinaStatus tina_ids_push(TinaIds *ids, int32_t value, TinaError *err);
void tina_ids_free(TinaIds *ids);

#endif
