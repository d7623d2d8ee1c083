/* utf8: decoding UTF-8 exactly as Python's bytes.decode("utf-8", "replace") and Rust's String::from_utf8_lossy do:
 * each maximal ill-formed subpart becomes one U+FFFD. Tokenizer input, decoded token bytes and streaming output
 * all go through here, so that every path agrees with Hugging Face tokenizers byte for byte. */
#ifndef TINA_UTF8_H
#define TINA_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/error.h"

#define TINA_UTF8_BAD 0xFFFFFFFFu
#define TINA_UTF8_REPLACEMENT "\xEF\xBF\xBD" /* U+FFFD */

/* Decodes the character at s[0..n) (n >= 1): returns the bytes it takes and sets *code_point, or, for an ill-formed
 * sequence, returns the length of its maximal subpart (>= 1) and sets *code_point to TINA_UTF8_BAD. */
size_t tina_utf8_next(const char *s, size_t n, uint32_t *code_point);

/* True when s[0..n) is a proper prefix of a well-formed sequence: more bytes could still complete it. */
bool tina_utf8_incomplete(const char *s, size_t n);

/* True when all of s[0..n) is well-formed. */
bool tina_utf8_valid(const char *s, size_t n);

/* Appends s[0..n) to out with each ill-formed subpart replaced by U+FFFD. */
TinaStatus tina_utf8_append_lossy(TinaBuf *out, const char *s, size_t n, TinaError *err);

#endif
