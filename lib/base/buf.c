#include "base/buf.h"

#include <stdlib.h>
#include <string.h>

TinaStatus tina_buf_reserve(TinaBuf *buf, size_t extra, TinaError *err) {
    if (extra > (size_t)-1 / 2 - buf->len) return tina_error(err, TINA_ERR_RUNTIME, "buffer size overflow");
    size_t need = buf->len + extra + 1;
    if (need <= buf->cap) return TINA_OK;
    size_t cap = buf->cap ? buf->cap : 256;
    while (cap < need) cap *= 2;
    char *data = realloc(buf->data, cap);
    if (!data) return tina_error(err, TINA_ERR_RUNTIME, "out of memory (growing a buffer to %zu bytes)", cap);
    buf->data = data;
    buf->cap = cap;
    return TINA_OK;
}

TinaStatus tina_buf_append(TinaBuf *buf, const void *data, size_t len, TinaError *err) {
    TinaStatus status = tina_buf_reserve(buf, len, err);
    if (status) return status;
    if (len) memcpy(buf->data + buf->len, data, len);
    buf->len += len;
    buf->data[buf->len] = '\0';
    return TINA_OK;
}

TinaStatus tina_buf_append_str(TinaBuf *buf, const char *text, TinaError *err) {
    return tina_buf_append(buf, text, strlen(text), err);
}

void tina_buf_clear(TinaBuf *buf) {
    buf->len = 0;
    if (buf->data) buf->data[0] = '\0';
}

void tina_buf_free(TinaBuf *buf) {
    free(buf->data);
    *buf = (TinaBuf){0};
}
