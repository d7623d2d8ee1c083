#include "base/strmap.h"

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/rng.h"

typedef struct {
    uint64_t hash; /* 0 marks an empty slot */
    size_t offset; /* of the key in the arena */
    size_t len;
    int64_t value;
} Slot;

struct TinaStrMap {
    Slot *slots;
    size_t capacity; /* a power of two, at most half full */
    size_t size;
    TinaBuf arena;
};

static uint64_t hash_bytes(const char *key, size_t len) {
    uint64_t h = tina_rng_name(key, len); /* FNV-1a, then a final mix so that similar keys spread */
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h ? h : 1;
}

TinaStatus tina_strmap_new(TinaStrMap **map, TinaError *err) {
    TinaStrMap *m = calloc(1, sizeof *m);
    if (m) {
        m->capacity = 1024;
        m->slots = calloc(m->capacity, sizeof *m->slots);
    }
    if (!m || !m->slots) {
        tina_strmap_free(m);
        return tina_error(err, TINA_ERR_RUNTIME, "out of memory (hash map)");
    }
    *map = m;
    return TINA_OK;
}

static Slot *find_slot(const TinaStrMap *m, uint64_t hash, const char *key, size_t len) {
    for (size_t i = hash & (m->capacity - 1);; i = (i + 1) & (m->capacity - 1)) {
        Slot *slot = &m->slots[i];
        if (!slot->hash) return slot;
        /* an empty key's pointer may be NULL, which memcmp may not be given even for no bytes */
        if (slot->hash == hash && slot->len == len &&
            (len == 0 || memcmp(m->arena.data + slot->offset, key, len) == 0))
            return slot;
    }
}

static TinaStatus grow(TinaStrMap *m, TinaError *err) {
    size_t capacity = m->capacity * 2;
    Slot *slots = calloc(capacity, sizeof *slots);
    if (!slots) return tina_error(err, TINA_ERR_RUNTIME, "out of memory (hash map of %zu keys)", m->size);
    for (size_t i = 0; i < m->capacity; i++) {
        Slot *old = &m->slots[i];
        if (!old->hash) continue;
        size_t j = old->hash & (capacity - 1); /* keys are distinct: the first empty slot is the place */
        while (slots[j].hash) j = (j + 1) & (capacity - 1);
        slots[j] = *old;
    }
    free(m->slots);
    m->slots = slots;
    m->capacity = capacity;
    return TINA_OK;
}

TinaStatus tina_strmap_insert(TinaStrMap *m, const char *key, size_t len, int64_t value, bool *inserted,
                              TinaError *err) {
    uint64_t hash = hash_bytes(key, len);
    Slot *slot = find_slot(m, hash, key, len);
    *inserted = !slot->hash;
    if (!*inserted) return TINA_OK;
    size_t offset = m->arena.len;
    TinaStatus status = tina_buf_append(&m->arena, key, len, err);
    if (status) return status;
    *slot = (Slot){hash, offset, len, value};
    m->size++;
    return m->size * 2 > m->capacity ? grow(m, err) : TINA_OK;
}

bool tina_strmap_get(const TinaStrMap *m, const char *key, size_t len, int64_t *value) {
    const Slot *slot = find_slot(m, hash_bytes(key, len), key, len);
    if (!slot->hash) return false;
    *value = slot->value;
    return true;
}

size_t tina_strmap_size(const TinaStrMap *m) { return m->size; }

void tina_strmap_clear(TinaStrMap *m) {
    memset(m->slots, 0, m->capacity * sizeof *m->slots);
    m->size = 0;
    tina_buf_clear(&m->arena);
}

void tina_strmap_free(TinaStrMap *m) {
    if (!m) return;
    free(m->slots);
    tina_buf_free(&m->arena);
    free(m);
}
