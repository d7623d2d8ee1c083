/* pretokenizer: splitting normalised text into the pieces BPE encodes one by one.
 *
 * Reads tokenizer.json's "pre_tokenizer": Split with a regex or a string (behaviours Isolated and Removed),
 * ByteLevel (with or without its GPT-2 regex; its byte mapping itself is applied to the vocabulary at load), and
 * Sequences of them. The regexes are written for Oniguruma, which tokenizers uses; PCRE2 (UTF, Unicode properties,
 * JIT) reads them alike, except \h, which is refused. Anything else is refused with its name. */
#ifndef TINA_PRETOKENIZER_H
#define TINA_PRETOKENIZER_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"

typedef struct {
    size_t start, len;
} TinaSpan;

typedef struct {
    TinaSpan *data;
    size_t len, cap;
} TinaSpans;

typedef struct TinaPretokenizer TinaPretokenizer;

/* node may be NULL or null (no splitting). *byte_level tells whether a ByteLevel step is present. */
TinaStatus tina_pretokenizer_load(const cJSON *node, TinaPretokenizer **pretokenizer, bool *byte_level,
                                  TinaError *err);
/* Appends the pieces of text[0..len) (well-formed UTF-8), as spans of text, to spans. */
TinaStatus tina_pretokenizer_split(TinaPretokenizer *pretokenizer, const char *text, size_t len, TinaSpans *spans,
                                   TinaError *err);
void tina_pretokenizer_free(TinaPretokenizer *pretokenizer);

void tina_spans_free(TinaSpans *spans);

#endif
