/* libFuzzer target for the encoder and decoders with the distill's and the tiny tokenizer (the first byte picks
 * one): any bytes must encode; decoding the ids must give well-formed UTF-8; decoding token by token must give
 * exactly the one-shot decoding; and for well-formed text free of U+FFFD, decoding must give back the text in NFC
 * (the distill's only normaliser), which checks that no byte is lost or invented. Run from the repository root. */
#define _GNU_SOURCE /* memmem */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "text/normalizer.h"
#include "text/tokenizer.h"
#include "base/utf8.h"

static TinaTokenizer *load(const char *path) {
    TinaTokenizer *t;
    TinaError err;
    if (tina_tokenizer_load(path, &t, &err) != TINA_OK) abort();
    return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static TinaTokenizer *tokenizers[2];
    if (!tokenizers[0]) {
        tokenizers[0] = load("data/models/deepseek-r1-distill-qwen-1.5b");
        tokenizers[1] = load("data/models/tiny-math-bpe");
    }
    if (size == 0) return 0;
    TinaTokenizer *t = tokenizers[data[0] & 1];
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    TinaIds ids = {0};
    TinaBuf whole = {0}, pieces = {0}, normal = {0};
    TinaError err;
    if (tina_tokenizer_encode(t, text, len, data[0] & 2, &ids, &err) != TINA_OK) abort();
    if (tina_tokenizer_decode(t, ids.data, ids.len, false, &whole, &err) != TINA_OK) abort();
    if (!tina_utf8_valid(whole.data ? whole.data : "", whole.len)) abort();
    TinaDecodeStream stream = {0};
    for (size_t i = 0; i < ids.len; i++)
        if (tina_tokenizer_decode_next(t, &stream, ids.data[i], false, &pieces, &err) != TINA_OK) abort();
    if (tina_tokenizer_decode_flush(&stream, &pieces, &err) != TINA_OK) abort();
    if (pieces.len != whole.len || (whole.len && memcmp(pieces.data, whole.data, whole.len) != 0)) abort();
    bool plain = !(data[0] & 2) && tina_utf8_valid(text, len) && !memmem(text, len, TINA_UTF8_REPLACEMENT, 3) &&
                 !memchr(text, '\0', len);
    if (plain) {
        if (tina_normalize(TINA_NFC, text, len, &normal, &err) != TINA_OK) abort();
        if (normal.len != whole.len || (whole.len && memcmp(normal.data, whole.data, whole.len) != 0)) abort();
    }
    tina_ids_free(&ids);
    tina_buf_free(&whole);
    tina_buf_free(&pieces);
    tina_buf_free(&normal);
    return 0;
}
