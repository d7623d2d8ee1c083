/* normalizer: the Unicode normal forms a tokenizer.json may ask for (NFC, NFD, NFKC, NFKD), through utf8proc. */
#ifndef TINA_NORMALIZER_H
#define TINA_NORMALIZER_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/error.h"

typedef enum { TINA_NORMALIZE_NONE, TINA_NFC, TINA_NFD, TINA_NFKC, TINA_NFKD } TinaNormalization;

/* Reads tokenizer.json's "normalizer" (null, one of the four forms, or a Sequence holding at most one). Anything
 * else is refused with its name. */
TinaStatus tina_normalizer_load(const cJSON *node, TinaNormalization *form, TinaError *err);

/* Appends text[0..len) (well-formed UTF-8) to out in the normal form. */
TinaStatus tina_normalize(TinaNormalization form, const char *text, size_t len, TinaBuf *out, TinaError *err);

#endif
