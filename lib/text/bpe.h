/* bpe: the byte-pair-encoding model, over raw bytes.
 *
 * A byte-level vocabulary (GPT-2's bytes_to_unicode alphabet) is stored as the bytes its tokens stand for, so the
 * merge loop runs on bytes and the byte-level mapping happens once, at load (tokenizer.c). Encoding a piece starts
 * from one symbol per byte and applies the merge of lowest rank first, leftmost on ties, until none applies (the
 * algorithm of Hugging Face tokenizers' BPE model); pieces up to 256 bytes are cached. */
#ifndef TINA_BPE_H
#define TINA_BPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "base/ids.h"

typedef struct TinaBpe TinaBpe;

/* ignore_merges: a piece that is a token as a whole becomes that token without merging (Llama-3 style). */
TinaStatus tina_bpe_new(TinaBpe **bpe, bool ignore_merges, TinaError *err);
void tina_bpe_free(TinaBpe *bpe);

/* Adds a vocabulary token: the bytes it stands for and its id. A repeated byte string is an error. */
TinaStatus tina_bpe_add_token(TinaBpe *bpe, const char *bytes, size_t len, int32_t id, TinaError *err);
/* The id of a token by its bytes, or -1. */
int32_t tina_bpe_token_id(const TinaBpe *bpe, const char *bytes, size_t len);

/* Adds the merge of rank `rank` (its index in the merges list) of tokens a and b; both and their concatenation
 * must be in the vocabulary. A pair given twice keeps its first (lower) rank. */
TinaStatus tina_bpe_add_merge(TinaBpe *bpe, const char *a, size_t a_len, const char *b, size_t b_len, int32_t rank,
                              TinaError *err);

/* Appends the ids of piece[0..len) to ids. Not thread-safe: it uses the model's workspace and cache. */
TinaStatus tina_bpe_encode(TinaBpe *bpe, const char *piece, size_t len, TinaIds *ids, TinaError *err);

#endif
