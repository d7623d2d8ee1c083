#include "base/ids.h"

#include <stdlib.h>
#include <string.h>

TinaStatus tina_ids_append(TinaIds *ids, const int32_t *values, size_t n, TinaError *err) {
    if (ids->len + n > ids->cap) {
        size_t cap = ids->cap ? ids->cap : 64;
        while (cap < ids->len + n) cap *= 2;
        int32_t *data = realloc(ids->data, cap * sizeof *data);
        if (!data) return tina_error(err, TINA_ERR_RUNTIME, "out of memory (%zu token ids)", cap);
        ids->data = data;
        ids->cap = cap;
    }
    if (n) memcpy(ids->data + ids->len, values, n * sizeof *values);
    ids->len += n;
    return TINA_OK;
}

TinaStatus tina_ids_push(TinaIds *ids, int32_t value, TinaError *err) { return tina_ids_append(ids, &value, 1, err); }

void tina_ids_free(TinaIds *ids) {
    free(ids->data);
    *ids = (TinaIds){0};
}
