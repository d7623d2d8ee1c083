/* record: reading fields of a JSON-lines record and adding fields to it without disturbing the rest.
 *
 * Reading goes through cJSON. Writing splices: the tool's new fields are set in the record's original text, so
 * every field a tool does not know passes through byte for byte, in its place (numbers keep their spelling, key
 * order is kept), and a field the record already had is replaced where it stands. */
#ifndef TINA_RECORD_H
#define TINA_RECORD_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/error.h"
#include "base/ids.h"

/* Parses one line; it must be a JSON object. The caller frees *record with cJSON_Delete. */
TinaStatus tina_record_parse(const char *line, size_t len, cJSON **record, TinaError *err);

/* Reads a whole JSON file (plain or zstd) that must hold one object; the caller frees *root with cJSON_Delete.
 * Errors name the file. */
TinaStatus tina_record_read_json(const char *path, cJSON **root, TinaError *err);

/* The token ids of an array field, each an integer in [0, limit); appended to ids. */
TinaStatus tina_record_ids(const cJSON *record, const char *field, int32_t limit, TinaIds *ids, TinaError *err);

/* Field getters: each fails with TINA_ERR_INPUT and a message naming the field when it is missing or of the wrong
 * type. */
TinaStatus tina_record_number(const cJSON *record, const char *field, double *value, TinaError *err);
/* A number or null; *is_null tells which (then *value is 0). */
TinaStatus tina_record_number_or_null(const cJSON *record, const char *field, double *value, bool *is_null,
                                      TinaError *err);
/* A number with no fractional part, in [min, max]. */
TinaStatus tina_record_integer(const cJSON *record, const char *field, long long min, long long max,
                               long long *value, TinaError *err);
TinaStatus tina_record_string(const cJSON *record, const char *field, const char **value, TinaError *err);

/* The text of a key-like field (a string as it is, a number as formatted by tina_record_format_number), for
 * fields such as "id" that some data sets write as numbers. */
TinaStatus tina_record_key(const cJSON *record, const char *field, TinaBuf *text, TinaError *err);

/* One field to set: key and its value as JSON text. */
typedef struct {
    const char *key;
    const char *json;
} TinaField;

/* Appends to out: line (one JSON object, as tina_record_parse accepted it) with fields[0..n) set: a key the object
 * has at its top level gets the new value in place (every occurrence), a new key is added at the end. */
TinaStatus tina_record_splice(TinaBuf *out, const char *line, size_t len, const TinaField *fields, int n,
                              TinaError *err);

/* Writes value as the shortest JSON number that reads back as the same double ("null" if not finite). */
void tina_record_format_number(double value, char text[32]);

/* Appends text[0..len) as a JSON string (quoted, escaped; ill-formed UTF-8 as U+FFFD so the line stays valid, and a
 * NUL byte as U+FFFD too: tina's readers refuse "\u0000", which a C string cannot hold). */
TinaStatus tina_record_format_string(TinaBuf *out, const char *text, size_t len, TinaError *err);

/* Appends values[0..n) as a JSON array of the shortest decimals that read back as the same floats. */
TinaStatus tina_record_format_floats(TinaBuf *out, const float *values, size_t n, TinaError *err);

/* Appends ids[0..n) as a JSON array of integers. */
TinaStatus tina_record_format_ids(TinaBuf *out, const int32_t *ids, size_t n, TinaError *err);

#endif
