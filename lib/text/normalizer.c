#include "text/normalizer.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

TinaStatus tina_normalizer_load(const cJSON *node, TinaNormalization *form, TinaError *err) {
    static const char *const names[] = {[TINA_NFC] = "NFC", [TINA_NFD] = "NFD", [TINA_NFKC] = "NFKC",
                                        [TINA_NFKD] = "NFKD"};
    *form = TINA_NORMALIZE_NONE;
    if (!node || cJSON_IsNull(node)) return TINA_OK;
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(node, "type");
    if (!cJSON_IsString(type)) return tina_error(err, TINA_ERR_INPUT, "normalizer has no \"type\"");
    for (TinaNormalization named = TINA_NFC; named <= TINA_NFKD; named++)
        if (strcmp(type->valuestring, names[named]) == 0) return *form = named, TINA_OK;
    if (strcmp(type->valuestring, "Sequence") == 0) {
        const cJSON *steps = cJSON_GetObjectItemCaseSensitive(node, "normalizers");
        int n = cJSON_GetArraySize(steps);
        if (n == 0) return TINA_OK;
        if (n == 1) return tina_normalizer_load(cJSON_GetArrayItem(steps, 0), form, err);
        return tina_error(err, TINA_ERR_INPUT, "unsupported normalizer: a Sequence of %d normalizers", n);
    }
    return tina_error(err, TINA_ERR_INPUT, "unsupported normalizer \"%s\" (supported: NFC, NFD, NFKC, NFKD)",
                      type->valuestring);
}

/* Text a form leaves as it is: ASCII for all four; for NFC also anything below U+0300 (the first
 * combining mark), i.e. no byte from 0xCC up, since nothing there decomposes canonically or composes. */
static bool unchanged(TinaNormalization form, const char *text, size_t len) {
    unsigned char limit = form == TINA_NFC ? 0xCC : 0x80;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)text[i] >= limit) return false;
    return true;
}

TinaStatus tina_normalize(TinaNormalization form, const char *text, size_t len, TinaBuf *out, TinaError *err) {
    if (form == TINA_NORMALIZE_NONE || unchanged(form, text, len)) return tina_buf_append(out, text, len, err);
    int options = UTF8PROC_STABLE;
    if (form == TINA_NFC || form == TINA_NFKC) options |= UTF8PROC_COMPOSE;
    else options |= UTF8PROC_DECOMPOSE;
    if (form == TINA_NFKC || form == TINA_NFKD) options |= UTF8PROC_COMPAT;
    utf8proc_uint8_t *normal = NULL;
    utf8proc_ssize_t n = utf8proc_map((const utf8proc_uint8_t *)text, (utf8proc_ssize_t)len, &normal,
                                      (utf8proc_option_t)options);
    if (n < 0) return tina_error(err, TINA_ERR_INPUT, "cannot normalise text: %s", utf8proc_errmsg(n));
    TinaStatus status = tina_buf_append(out, normal, (size_t)n, err);
    free(normal);
    return status;
}
