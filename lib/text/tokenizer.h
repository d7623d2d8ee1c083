/* tokenizer: Hugging Face tokenizer.json byte-level BPE, encoding and decoding exactly as the `tokenizers` library.
 *
 * The pipeline of an encode: ill-formed UTF-8 read as U+FFFD (as Python would decode the bytes); added tokens split
 * out first, leftmost-longest on the raw text; the rest normalised (NFC for Qwen2), split by the pre-tokenizer
 * regex, and each piece BPE-encoded; then, on request, the post-processor's special tokens (BOS for the distill).
 * Supported components are listed in the man page tina-tokenize(1); anything else in a tokenizer.json is refused at
 * load with its name, never approximated. */
#ifndef TINA_TOKENIZER_H
#define TINA_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/error.h"
#include "base/ids.h"

typedef struct TinaTokenizer TinaTokenizer;

/* path: a model folder (tokenizer.json, or tokenizer.json.zst, and tokenizer_config.json when present) or a
 * tokenizer.json file (plain or zstd). */
TinaStatus tina_tokenizer_load(const char *path, TinaTokenizer **tokenizer, TinaError *err);
void tina_tokenizer_free(TinaTokenizer *tokenizer);

/* Appends the ids of text[0..len) to ids; add_special applies the post-processor (the distill's BOS). Not
 * thread-safe (a tokenizer keeps its workspace and piece cache): one per thread. */
TinaStatus tina_tokenizer_encode(TinaTokenizer *tokenizer, const char *text, size_t len, bool add_special,
                                 TinaIds *ids, TinaError *err);

/* Appends the text of ids[0..n) to out (ill-formed bytes as U+FFFD, as tokenizers' decode); special tokens are
 * left out when skip_special. An id outside the vocabulary is an error. */
TinaStatus tina_tokenizer_decode(const TinaTokenizer *tokenizer, const int32_t *ids, size_t n, bool skip_special,
                                 TinaBuf *out, TinaError *err);

/* Decoding token by token, as a sampler produces them: text is emitted as soon as its characters are complete, a
 * character split across tokens waits for its last byte. The concatenation of every piece emitted and of the final
 * flush equals tina_tokenizer_decode of the whole sequence. Start from a zeroed struct. */
typedef struct {
    char pending[4]; /* bytes of an incomplete character */
    int n_pending;
} TinaDecodeStream;

TinaStatus tina_tokenizer_decode_next(const TinaTokenizer *tokenizer, TinaDecodeStream *stream, int32_t id,
                                      bool skip_special, TinaBuf *out, TinaError *err);
/* Emits what is still held (an incomplete character becomes U+FFFD) and resets the stream. */
TinaStatus tina_tokenizer_decode_flush(TinaDecodeStream *stream, TinaBuf *out, TinaError *err);

/* Ids run from 0 to vocab_size - 1 (the largest id of the vocabulary and the added tokens, plus one). */
int32_t tina_tokenizer_vocab_size(const TinaTokenizer *tokenizer);
/* The id of an added token by its content, or of a vocabulary token by the text it stands for; -1 if none. */
int32_t tina_tokenizer_token_id(const TinaTokenizer *tokenizer, const char *text);
bool tina_tokenizer_is_special(const TinaTokenizer *tokenizer, int32_t id);

/* From tokenizer_config.json: the text and id of bos, eos and pad (NULL and -1 when not configured). */
typedef struct {
    const char *text;
    int32_t id;
} TinaSpecialToken;

typedef struct {
    TinaSpecialToken bos, eos, pad;
} TinaSpecialTokens;

const TinaSpecialTokens *tina_tokenizer_special_tokens(const TinaTokenizer *tokenizer);

#endif
