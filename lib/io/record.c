#include "io/record.h"

#include "io/stream.h"
#include "base/strmap.h"
#include "base/utf8.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Whitespace as cJSON reads it (every byte from 1 to 32, a superset of JSON's four), so that whatever the parser
 * accepted, the splicer can walk. */
static bool is_space(char c) { return c >= 1 && c <= 32; }

static const char *skip_space(const char *p, const char *end) {
    while (p < end && is_space(*p)) p++;
    return p;
}

/* The first number of a tree beyond double's range (strtod reads 1e400 as infinity), or NULL; *key is the name of
 * the field it is in (NULL when it is an array's item or the root). cJSON nests at most CJSON_NESTING_LIMIT deep. */
static const cJSON *out_of_range(const cJSON *item, const char **key) {
    if (cJSON_IsNumber(item) && !isfinite(item->valuedouble)) return item;
    if (cJSON_IsArray(item) || cJSON_IsObject(item))
        for (const cJSON *kid = item->child; kid; kid = kid->next) {
            const cJSON *bad = out_of_range(kid, key);
            if (bad) {
                if (!*key && cJSON_IsObject(item)) *key = kid->string;
                return bad;
            }
        }
    return NULL;
}

/* Every number of root finite, so that no reader of a field meets infinity: the one check for all of them. */
static TinaStatus check_numbers(const cJSON *root, TinaError *err) {
    const char *key = NULL;
    if (!out_of_range(root, &key)) return TINA_OK;
    if (key) return tina_error(err, TINA_ERR_INPUT, "field \"%s\" holds a number beyond double's range", key);
    return tina_error(err, TINA_ERR_INPUT, "a number beyond double's range");
}

/* No two members of one object of one name: jq and Python read the last, cJSON the first, so a record with two
 * "reward"s would mean one thing to tina and another to the user's own scripts. Pairwise for a record's handful of
 * members; a hash set past that, so that a line of a million members takes no quadratic time. */
static TinaStatus check_object_keys(const cJSON *object, TinaError *err) {
    enum { PAIRWISE = 32 };
    int n = 0;
    for (const cJSON *kid = object->child; kid && n <= PAIRWISE; kid = kid->next) n++;
    TinaStrMap *seen = NULL;
    TinaStatus status = n > PAIRWISE ? tina_strmap_new(&seen, err) : TINA_OK;
    const char *twice = NULL;
    for (const cJSON *a = object->child; a && !status && !twice; a = a->next) {
        bool first = true; /* no member before a has its name */
        if (seen) status = tina_strmap_insert(seen, a->string, strlen(a->string), 0, &first, err);
        else
            for (const cJSON *b = object->child; b != a && first; b = b->next) first = strcmp(a->string, b->string) != 0;
        if (!first) twice = a->string;
    }
    if (!status && twice)
        status = tina_error(err, TINA_ERR_INPUT, "field \"%s\" appears twice (jq and Python read the last, tina "
                            "would read the first)", twice);
    if (seen) tina_strmap_free(seen);
    return status;
}

/* Every object of the tree, the record's and those inside it ({"rewards":{"accuracy":1,"accuracy":0}} gave
 * tina-score 1 where jq reads 0). cJSON nests at most CJSON_NESTING_LIMIT deep. */
static TinaStatus check_unique_keys(const cJSON *item, TinaError *err) {
    TinaStatus status = cJSON_IsObject(item) ? check_object_keys(item, err) : TINA_OK;
    for (const cJSON *kid = item->child; kid && !status; kid = kid->next)
        if (cJSON_IsObject(kid) || cJSON_IsArray(kid)) status = check_unique_keys(kid, err);
    return status;
}

TinaStatus tina_record_parse(const char *line, size_t len, cJSON **record, TinaError *err) {
    *record = NULL;
    const char *nul = memchr(line, '\0', len); /* cJSON would skip it as whitespace; JSON has no place for it */
    if (nul) return tina_error(err, TINA_ERR_INPUT, "not valid JSON (a NUL byte at byte %zu)", (size_t)(nul - line) + 1);
    if (len >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0) /* cJSON would skip it, and the splicer would not */
        return tina_error(err, TINA_ERR_INPUT, "not valid JSON (a byte order mark, U+FEFF, starts the line)");
    /* cJSON reads "\u0000" into a C string, which ends there: two ids that differ after it would be one */
    for (size_t i = 0; i + 1 < len; i++) {
        if (line[i] != '\\') continue;
        if (line[i + 1] == 'u' && len - i >= 6 && memcmp(line + i + 2, "0000", 4) == 0)
            return tina_error(err, TINA_ERR_INPUT, "a NUL character (\\u0000) in a string at byte %zu: not supported",
                              i + 1);
        i++; /* an escaped character, "\\\\" included, is not the start of another escape */
    }
    /* a line that opens an array: most likely a file holding one JSON array (as many sets are published), given
     * where JSON lines are read; say how to convert it */
    const char *first = skip_space(line, line + len);
    const char *array_hint = first < line + len && *first == '[' ?
        ": a file holding one JSON array becomes JSON lines with jq -c '.[]' FILE" : "";
    const char *end = NULL;
    *record = cJSON_ParseWithLengthOpts(line, len, &end, false);
    if (!*record) {
        size_t at = end && end >= line ? (size_t)(end - line) : 0;
        return tina_error(err, TINA_ERR_INPUT, "not valid JSON (at byte %zu; expected one JSON object per line%s)",
                          at + 1, array_hint);
    }
    const char *rest = skip_space(end, line + len);
    TinaStatus status;
    if (rest < line + len)
        status = tina_error(err, TINA_ERR_INPUT, "text after the JSON object (at byte %zu; expected one per line)",
                            (size_t)(rest - line) + 1);
    else if (!cJSON_IsObject(*record))
        status = tina_error(err, TINA_ERR_INPUT, "not a JSON object (expected one JSON object per line%s)",
                            cJSON_IsArray(*record) ? array_hint : "");
    else status = check_numbers(*record, err);
    if (!status) status = check_unique_keys(*record, err);
    if (status) {
        cJSON_Delete(*record);
        *record = NULL;
    }
    return status;
}

TinaStatus tina_record_read_json(const char *path, cJSON **root, TinaError *err) {
    *root = NULL;
    TinaBuf text = {0};
    TinaStatus status = tina_read_file(path, &text, err);
    if (!status) *root = cJSON_ParseWithLength(text.data, text.len);
    tina_buf_free(&text);
    if (status) return status;
    status = cJSON_IsObject(*root) ? check_numbers(*root, err) : tina_error(err, TINA_ERR_INPUT, "not a JSON object");
    if (!status) return TINA_OK;
    cJSON_Delete(*root);
    *root = NULL;
    return tina_error_in(err, path);
}

TinaStatus tina_record_ids(const cJSON *record, const char *field, int32_t limit, TinaIds *ids, TinaError *err) {
    const cJSON *array = cJSON_GetObjectItemCaseSensitive(record, field), *item;
    if (!array) return tina_error(err, TINA_ERR_INPUT, "field \"%s\" is missing", field);
    if (!cJSON_IsArray(array))
        return tina_error(err, TINA_ERR_INPUT, "field \"%s\" is not an array of token ids", field);
    cJSON_ArrayForEach(item, array) {
        /* in range before the cast: a double beyond int32_t's range has no int32_t value (undefined behaviour) */
        if (!cJSON_IsNumber(item) || item->valuedouble < 0 || item->valuedouble >= limit ||
            item->valuedouble != (int32_t)item->valuedouble)
            return tina_error(err, TINA_ERR_INPUT, "field \"%s\" holds something that is not a token id (0 to %d)",
                              field, limit - 1);
        TinaStatus status = tina_ids_push(ids, (int32_t)item->valuedouble, err);
        if (status) return status;
    }
    return TINA_OK;
}

static const cJSON *field_of(const cJSON *record, const char *field, TinaError *err) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(record, field);
    if (!item) tina_error(err, TINA_ERR_INPUT, "field \"%s\" is missing", field);
    return item;
}

TinaStatus tina_record_number(const cJSON *record, const char *field, double *value, TinaError *err) {
    const cJSON *item = field_of(record, field, err);
    if (!item) return TINA_ERR_INPUT;
    if (!cJSON_IsNumber(item)) return tina_error(err, TINA_ERR_INPUT, "field \"%s\" is not a number", field);
    *value = item->valuedouble;
    return TINA_OK;
}

TinaStatus tina_record_number_or_null(const cJSON *record, const char *field, double *value, bool *is_null,
                                      TinaError *err) {
    const cJSON *item = field_of(record, field, err);
    if (!item) return TINA_ERR_INPUT;
    *is_null = cJSON_IsNull(item);
    *value = 0;
    if (*is_null) return TINA_OK;
    if (!cJSON_IsNumber(item))
        return tina_error(err, TINA_ERR_INPUT, "field \"%s\" is not a number (or null)", field);
    *value = item->valuedouble;
    return TINA_OK;
}

TinaStatus tina_record_integer(const cJSON *record, const char *field, long long min, long long max,
                               long long *value, TinaError *err) {
    double number;
    TinaStatus status = tina_record_number(record, field, &number, err);
    if (status) return status;
    if (number != floor(number) || number < (double)min || number > (double)max)
        return tina_error(err, TINA_ERR_INPUT, "field \"%s\" is %.17g (expected an integer from %lld to %lld)",
                          field, number, min, max);
    *value = (long long)number;
    return TINA_OK;
}

TinaStatus tina_record_string(const cJSON *record, const char *field, const char **value, TinaError *err) {
    const cJSON *item = field_of(record, field, err);
    if (!item) return TINA_ERR_INPUT;
    if (!cJSON_IsString(item)) return tina_error(err, TINA_ERR_INPUT, "field \"%s\" is not a string", field);
    *value = item->valuestring;
    return TINA_OK;
}

TinaStatus tina_record_key(const cJSON *record, const char *field, TinaBuf *text, TinaError *err) {
    const cJSON *item = field_of(record, field, err);
    if (!item) return TINA_ERR_INPUT;
    tina_buf_clear(text);
    if (cJSON_IsString(item)) return tina_buf_append_str(text, item->valuestring, err);
    if (cJSON_IsNumber(item)) {
        char number[32];
        tina_record_format_number(item->valuedouble, number);
        return tina_buf_append_str(text, number, err);
    }
    return tina_error(err, TINA_ERR_INPUT, "field \"%s\" is not a string or a number", field);
}

void tina_record_format_number(double value, char text[32]) {
    if (!isfinite(value)) {
        strcpy(text, "null");
        return;
    }
    if (value == 0 && !signbit(value)) { /* the commonest value of all (flat groups), and printf is slow */
        strcpy(text, "0");
        return;
    }
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(text, 32, "%.*g", digits, value);
        if (strtod(text, NULL) == value) return;
    }
}

TinaStatus tina_record_format_string(TinaBuf *out, const char *text, size_t len, TinaError *err) {
    /* JSON's short escapes, and U+FFFD for NUL: a reader's C string would end at a "\u0000" */
    static const char *const replacements[0x80] = {['"'] = "\\\"", ['\\'] = "\\\\", ['\n'] = "\\n", ['\t'] = "\\t",
                                                   ['\r'] = "\\r", [0] = TINA_UTF8_REPLACEMENT};
    TinaStatus status = tina_buf_reserve(out, len + 2, err);
    if (!status) status = tina_buf_append(out, "\"", 1, err);
    size_t plain = 0; /* text[plain..i) needs no escaping and is not yet appended */
    for (size_t i = 0; i < len && !status;) {
        unsigned char c = (unsigned char)text[i];
        char escaped[8];
        const char *replacement = NULL;
        size_t skip = 1;
        if (c < 0x80 && replacements[c]) replacement = replacements[c];
        else if (c < 0x20) {
            snprintf(escaped, sizeof escaped, "\\u%04x", c);
            replacement = escaped;
        } else if (c >= 0x80) {
            uint32_t cp;
            skip = tina_utf8_next(text + i, len - i, &cp);
            if (cp == TINA_UTF8_BAD) replacement = TINA_UTF8_REPLACEMENT;
        }
        if (replacement) {
            status = tina_buf_append(out, text + plain, i - plain, err);
            if (!status) status = tina_buf_append_str(out, replacement, err);
            plain = i + skip;
        }
        i += skip;
    }
    if (!status) status = tina_buf_append(out, text + plain, len - plain, err);
    return status ? status : tina_buf_append(out, "\"", 1, err);
}

TinaStatus tina_record_format_floats(TinaBuf *out, const float *values, size_t n, TinaError *err) {
    TinaStatus status = tina_buf_append(out, "[", 1, err);
    for (size_t i = 0; i < n && !status; i++) {
        char text[32];
        if (!isfinite(values[i])) strcpy(text, "null");
        else
            for (int digits = 6; digits <= 9; digits++) { /* 9 digits always read back as the same float */
                snprintf(text, sizeof text, "%.*g", digits, (double)values[i]);
                if (strtof(text, NULL) == values[i]) break;
            }
        if (i) status = tina_buf_append(out, ",", 1, err);
        if (!status) status = tina_buf_append_str(out, text, err);
    }
    return status ? status : tina_buf_append(out, "]", 1, err);
}

TinaStatus tina_record_format_ids(TinaBuf *out, const int32_t *ids, size_t n, TinaError *err) {
    TinaStatus status = tina_buf_reserve(out, 12 * n + 2, err);
    if (status) return status;
    char *p = out->data + out->len;
    *p++ = '[';
    for (size_t i = 0; i < n; i++) {
        if (i) *p++ = ',';
        char digits[12];
        int k = 0;
        uint32_t v = (uint32_t)(ids[i] < 0 ? -(int64_t)ids[i] : ids[i]);
        if (ids[i] < 0) *p++ = '-';
        do digits[k++] = (char)('0' + v % 10); while ((v /= 10));
        while (k) *p++ = digits[--k];
    }
    *p++ = ']';
    *p = '\0';
    out->len = (size_t)(p - out->data);
    return TINA_OK;
}

/* ---- splicing: a scanner over text that cJSON has already accepted as one JSON object -------------------- */

/* p is at a '"'; returns the position after the closing quote. */
static const char *skip_string(const char *p, const char *end) {
    for (p++; p < end; p++) {
        if (*p == '\\') p++;
        else if (*p == '"') return p + 1;
    }
    return NULL;
}

static const char *skip_value(const char *p, const char *end) {
    if (p >= end) return NULL;
    if (*p == '"') return skip_string(p, end);
    if (*p != '{' && *p != '[') { /* number, true, false, null */
        while (p < end && *p != ',' && *p != '}' && *p != ']' && !is_space(*p)) p++;
        return p;
    }
    int depth = 0;
    while (p < end) {
        if (*p == '"') {
            p = skip_string(p, end);
            if (!p) return NULL;
            continue;
        }
        if (*p == '{' || *p == '[') depth++;
        else if ((*p == '}' || *p == ']') && --depth == 0) return p + 1;
        p++;
    }
    return NULL;
}

/* Does the JSON string token [start, end) (quotes included) spell key? */
static bool key_matches(const char *start, const char *end, const char *key) {
    size_t n = (size_t)(end - start) - 2;
    if (!memchr(start + 1, '\\', n)) return n == strlen(key) && memcmp(start + 1, key, n) == 0;
    cJSON *decoded = cJSON_ParseWithLength(start, (size_t)(end - start)); /* escaped keys are rare: decode */
    bool same = decoded && cJSON_IsString(decoded) && strcmp(decoded->valuestring, key) == 0;
    cJSON_Delete(decoded);
    return same;
}

TinaStatus tina_record_splice(TinaBuf *out, const char *line, size_t len, const TinaField *fields, int n,
                              TinaError *err) {
    enum { MAX_FIELDS = 32 };
    if (n > MAX_FIELDS) return tina_error(err, TINA_ERR_RUNTIME, "too many fields to set at once (%d)", n);
    bool found[MAX_FIELDS] = {0};
    const char *end = line + len;
    const char *p = skip_space(line, end);
    if (p == end || *p != '{') return tina_error(err, TINA_ERR_INPUT, "not a JSON object");
    const char *copied = line;       /* output holds line[..copied) already */
    const char *insert_at = p + 1;   /* where new fields go: after the last member */
    bool has_members = false;
    TinaStatus status = TINA_OK;
    p = skip_space(p + 1, end);
    while (!status && p < end && *p != '}') {
        const char *key = p;
        const char *key_end = *p == '"' ? skip_string(p, end) : NULL;
        if (!key_end) break;
        p = skip_space(key_end, end);
        if (p == end || *p != ':') break;
        const char *value = skip_space(p + 1, end);
        const char *value_end = skip_value(value, end);
        if (!value_end) break;
        for (int i = 0; i < n && !status; i++) {
            if (!key_matches(key, key_end, fields[i].key)) continue;
            found[i] = true;
            status = tina_buf_append(out, copied, (size_t)(value - copied), err);
            if (!status) status = tina_buf_append_str(out, fields[i].json, err);
            copied = value_end;
        }
        insert_at = value_end;
        has_members = true;
        p = skip_space(value_end, end);
        if (p < end && *p == ',') p = skip_space(p + 1, end);
    }
    if (status) return status;
    if (p == end || *p != '}') return tina_error(err, TINA_ERR_INPUT, "not a well-formed JSON object");
    status = tina_buf_append(out, copied, (size_t)(insert_at - copied), err);
    for (int i = 0; i < n && !status; i++) {
        if (found[i]) continue;
        if (has_members) status = tina_buf_append(out, ",", 1, err);
        if (!status) status = tina_record_format_string(out, fields[i].key, strlen(fields[i].key), err);
        if (!status) status = tina_buf_append(out, ":", 1, err);
        if (!status) status = tina_buf_append_str(out, fields[i].json, err);
        has_members = true;
    }
    return status ? status : tina_buf_append(out, insert_at, (size_t)(end - insert_at), err);
}
