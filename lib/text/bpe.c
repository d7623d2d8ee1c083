#include "text/bpe.h"

#include <stdlib.h>
#include <string.h>

#include "base/strmap.h"

enum {
    CACHE_MAX_PIECE = 256,       /* longer pieces are rare and not worth keeping */
    CACHE_MAX_IDS = 1 << 22,     /* the cache is emptied when it holds this many ids */
};

typedef struct {
    int32_t id;
    int32_t prev, next; /* neighbours in the piece, -1 at the ends */
    uint32_t len;       /* bytes covered; 0 once merged into its left neighbour */
} Symbol;

typedef struct {
    int32_t rank;
    int32_t pos;        /* of the left symbol */
    int32_t new_id;
} Candidate;

struct TinaBpe {
    TinaStrMap *vocab;  /* token bytes -> id */
    TinaStrMap *merges; /* (left id, right id) as 8 bytes -> rank << 32 | merged id */
    int32_t byte_ids[256];
    bool ignore_merges;
    TinaStrMap *cache;  /* piece bytes -> offset << 9 | count, into cache_ids */
    TinaIds cache_ids;
    Symbol *symbols;    /* workspace: (piece bytes,) */
    Candidate *heap;    /* workspace: a binary min-heap on (rank, pos), (3 x piece bytes,) */
    size_t capacity;    /* piece bytes the workspaces hold */
};

TinaStatus tina_bpe_new(TinaBpe **bpe, bool ignore_merges, TinaError *err) {
    TinaBpe *b = calloc(1, sizeof *b);
    if (!b) return tina_error(err, TINA_ERR_RUNTIME, "out of memory (BPE model)");
    b->ignore_merges = ignore_merges;
    for (int i = 0; i < 256; i++) b->byte_ids[i] = -1;
    TinaStatus status = tina_strmap_new(&b->vocab, err);
    if (!status) status = tina_strmap_new(&b->merges, err);
    if (!status) status = tina_strmap_new(&b->cache, err);
    if (status) tina_bpe_free(b);
    else *bpe = b;
    return status;
}

void tina_bpe_free(TinaBpe *b) {
    if (!b) return;
    tina_strmap_free(b->vocab);
    tina_strmap_free(b->merges);
    tina_strmap_free(b->cache);
    tina_ids_free(&b->cache_ids);
    free(b->symbols);
    free(b->heap);
    free(b);
}

TinaStatus tina_bpe_add_token(TinaBpe *b, const char *bytes, size_t len, int32_t id, TinaError *err) {
    bool inserted;
    TinaStatus status = tina_strmap_insert(b->vocab, bytes, len, id, &inserted, err);
    if (status) return status;
    if (!inserted) return tina_error(err, TINA_ERR_INPUT, "two vocabulary tokens stand for the same bytes (id %d)", id);
    if (len == 1) b->byte_ids[(unsigned char)bytes[0]] = id;
    return TINA_OK;
}

int32_t tina_bpe_token_id(const TinaBpe *b, const char *bytes, size_t len) {
    int64_t id;
    return tina_strmap_get(b->vocab, bytes, len, &id) ? (int32_t)id : -1;
}

static void pair_key(int32_t left, int32_t right, char key[8]) {
    memcpy(key, &left, 4);
    memcpy(key + 4, &right, 4);
}

TinaStatus tina_bpe_add_merge(TinaBpe *b, const char *a, size_t a_len, const char *c, size_t c_len, int32_t rank,
                              TinaError *err) {
    int32_t left = tina_bpe_token_id(b, a, a_len), right = tina_bpe_token_id(b, c, c_len);
    char merged[512];
    if (left < 0 || right < 0)
        return tina_error(err, TINA_ERR_INPUT, "merge %d names a token that is not in the vocabulary", rank);
    if (a_len + c_len > sizeof merged)
        return tina_error(err, TINA_ERR_INPUT, "merge %d makes a token longer than %zu bytes", rank, sizeof merged);
    memcpy(merged, a, a_len);
    memcpy(merged + a_len, c, c_len);
    int32_t merged_id = tina_bpe_token_id(b, merged, a_len + c_len);
    if (merged_id < 0)
        return tina_error(err, TINA_ERR_INPUT, "merge %d makes a token that is not in the vocabulary", rank);
    char key[8];
    pair_key(left, right, key);
    bool inserted;
    return tina_strmap_insert(b->merges, key, 8, (int64_t)rank << 32 | (uint32_t)merged_id, &inserted, err);
}

static bool lookup_merge(const TinaBpe *b, int32_t left, int32_t right, int32_t *rank, int32_t *merged) {
    char key[8];
    pair_key(left, right, key);
    int64_t value;
    if (!tina_strmap_get(b->merges, key, 8, &value)) return false;
    *rank = (int32_t)(value >> 32);
    *merged = (int32_t)(uint32_t)value;
    return true;
}

static bool before(const Candidate *x, const Candidate *y) {
    return x->rank != y->rank ? x->rank < y->rank : x->pos < y->pos;
}

static void heap_push(Candidate *heap, size_t *n, Candidate c) {
    size_t i = (*n)++;
    while (i > 0 && before(&c, &heap[(i - 1) / 2])) {
        heap[i] = heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    heap[i] = c;
}

static Candidate heap_pop(Candidate *heap, size_t *n) {
    Candidate top = heap[0], last = heap[--*n];
    size_t i = 0;
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= *n) break;
        if (child + 1 < *n && before(&heap[child + 1], &heap[child])) child++;
        if (!before(&heap[child], &last)) break;
        heap[i] = heap[child];
        i = child;
    }
    heap[i] = last;
    return top;
}

static void push_pair(const TinaBpe *b, Candidate *heap, size_t *n, int32_t pos) {
    const Symbol *s = b->symbols;
    if (pos < 0 || s[pos].next < 0) return;
    Candidate c = {.pos = pos};
    if (lookup_merge(b, s[pos].id, s[s[pos].next].id, &c.rank, &c.new_id)) heap_push(heap, n, c);
}

/* The merge loop: piece is at least one byte. Appends the resulting ids. */
static TinaStatus merge_piece(TinaBpe *b, const char *piece, size_t len, TinaIds *ids, TinaError *err) {
    if (len > b->capacity) {
        size_t capacity = len < 1024 ? 1024 : len;
        Symbol *symbols = realloc(b->symbols, capacity * sizeof *symbols);
        if (symbols) b->symbols = symbols;
        /* at most len - 1 candidates at first and two more per merge, of which there are at most len - 1 */
        Candidate *heap = realloc(b->heap, 3 * capacity * sizeof *heap);
        if (heap) b->heap = heap;
        if (!symbols || !heap) return tina_error(err, TINA_ERR_RUNTIME, "out of memory (a %zu-byte piece)", len);
        b->capacity = capacity;
    }
    Symbol *s = b->symbols;
    size_t n = 0;
    /* A byte without a token is left out, its neighbours then adjacent: tokenizers' BPE drops a character it has no
     * id for when there is no unk_token (tina refuses unk tokens and byte fallback at load). SmolLM2's vocabulary
     * lacks 21 of the 256 byte tokens. */
    for (size_t i = 0; i < len; i++) {
        int32_t id = b->byte_ids[(unsigned char)piece[i]];
        if (id < 0) continue;
        s[n] = (Symbol){id, (int32_t)n - 1, -1, 1};
        if (n > 0) s[n - 1].next = (int32_t)n;
        n++;
    }
    if (n == 0) return TINA_OK;
    size_t n_heap = 0;
    for (size_t i = 0; i + 1 < n; i++) push_pair(b, b->heap, &n_heap, (int32_t)i);
    while (n_heap) {
        Candidate top = heap_pop(b->heap, &n_heap);
        Symbol *left = &s[top.pos];
        if (left->len == 0 || left->next < 0) continue; /* merged away since it was queued */
        Symbol *right = &s[left->next];
        int32_t rank, merged;
        if (!lookup_merge(b, left->id, right->id, &rank, &merged) || merged != top.new_id) continue; /* stale */
        left->id = merged;
        left->len += right->len;
        right->len = 0;
        left->next = right->next;
        if (right->next >= 0) s[right->next].prev = top.pos;
        push_pair(b, b->heap, &n_heap, left->prev);
        push_pair(b, b->heap, &n_heap, top.pos);
    }
    for (int32_t i = 0; i >= 0; i = s[i].next) {
        TinaStatus status = tina_ids_push(ids, s[i].id, err);
        if (status) return status;
    }
    return TINA_OK;
}

TinaStatus tina_bpe_encode(TinaBpe *b, const char *piece, size_t len, TinaIds *ids, TinaError *err) {
    if (len == 0) return TINA_OK;
    if (b->ignore_merges) {
        int32_t whole = tina_bpe_token_id(b, piece, len);
        if (whole >= 0) return tina_ids_push(ids, whole, err);
    }
    if (len > CACHE_MAX_PIECE) return merge_piece(b, piece, len, ids, err);
    int64_t cached;
    if (tina_strmap_get(b->cache, piece, len, &cached)) /* (a piece of no ids may have cached nothing at all) */
        return cached & 511 ? tina_ids_append(ids, b->cache_ids.data + (cached >> 9), (size_t)(cached & 511), err)
                            : TINA_OK;
    size_t first = ids->len;
    TinaStatus status = merge_piece(b, piece, len, ids, err);
    if (status) return status;
    if (b->cache_ids.len > CACHE_MAX_IDS) {
        tina_strmap_clear(b->cache);
        b->cache_ids.len = 0;
    }
    int64_t value = (int64_t)b->cache_ids.len << 9 | (int64_t)(ids->len - first);
    if (ids->len > first) status = tina_ids_append(&b->cache_ids, ids->data + first, ids->len - first, err);
    bool inserted;
    return status ? status : tina_strmap_insert(b->cache, piece, len, value, &inserted, err);
}
