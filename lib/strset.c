#include "strset.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

typedef struct {
    uint64_t hash; /* 0 marks an empty slot */
    size_t offset; /* of the key in the arena */
    size_t len;
} Slot;

struct TinaStrSet {
    Slot *slots;
    size_t capacity; /* a power of two, at most half full */
    size_t size;
    TinaBuf arena;
};

static uint64_t hash_bytes(const char *key, size_t len) {
    uint64_t h = 1469598103934665603ULL; /* FNV-1a, then a final mix so that similar ids spread */
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)key[i]) * 1099511628211ULL;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h ? h : 1;
}

TinaStatus tina_strset_new(TinaStrSet **set, TinaError *err) {
    TinaStrSet *s = calloc(1, sizeof *s);
    if (s) {
        s->capacity = 1024;
        s->slots = calloc(s->capacity, sizeof *s->slots);
    }
    if (!s || !s->slots) {
        tina_strset_free(s);
        return tina_error(err, TINA_ERR_RUNTIME, "out of memory (string set)");
    }
    *set = s;
    return TINA_OK;
}

static Slot *find_slot(Slot *slots, size_t capacity, const TinaBuf *arena, uint64_t hash, const char *key,
                       size_t len) {
    for (size_t i = hash & (capacity - 1);; i = (i + 1) & (capacity - 1)) {
        Slot *slot = &slots[i];
        if (!slot->hash) return slot;
        if (slot->hash == hash && slot->len == len && memcmp(arena->data + slot->offset, key, len) == 0)
            return slot;
    }
}

static TinaStatus grow(TinaStrSet *s, TinaError *err) {
    size_t capacity = s->capacity * 2;
    Slot *slots = calloc(capacity, sizeof *slots);
    if (!slots) return tina_error(err, TINA_ERR_RUNTIME, "out of memory (string set of %zu keys)", s->size);
    for (size_t i = 0; i < s->capacity; i++) {
        Slot *old = &s->slots[i];
        if (!old->hash) continue;
        size_t j = old->hash & (capacity - 1); /* keys are distinct: the first empty slot is the place */
        while (slots[j].hash) j = (j + 1) & (capacity - 1);
        slots[j] = *old;
    }
    free(s->slots);
    s->slots = slots;
    s->capacity = capacity;
    return TINA_OK;
}

TinaStatus tina_strset_add(TinaStrSet *s, const char *key, size_t len, int *added, TinaError *err) {
    uint64_t hash = hash_bytes(key, len);
    Slot *slot = find_slot(s->slots, s->capacity, &s->arena, hash, key, len);
    *added = !slot->hash;
    if (!*added) return TINA_OK;
    size_t offset = s->arena.len;
    TinaStatus status = tina_buf_append(&s->arena, key, len, err);
    if (status) return status;
    *slot = (Slot){hash, offset, len};
    s->size++;
    return s->size * 2 > s->capacity ? grow(s, err) : TINA_OK;
}

size_t tina_strset_size(const TinaStrSet *s) { return s->size; }

void tina_strset_free(TinaStrSet *s) {
    if (!s) return;
    free(s->slots);
    tina_buf_free(&s->arena);
    free(s);
}
