/* buf: a growable byte buffer, the one way libtina builds strings and holds lines of any length. */
#ifndef TINA_BUF_H
#define TINA_BUF_H

#include <stddef.h>

#include "base/error.h"

typedef struct {
    char *data; /* NUL-terminated once anything was appended */
    size_t len;
    size_t cap;
} TinaBuf;

/* Makes room for at least `extra` more bytes plus a terminating NUL. */
TinaStatus tina_buf_reserve(TinaBuf *buf, size_t extra, TinaError *err);
TinaStatus tina_buf_append(TinaBuf *buf, const void *data, size_t len, TinaError *err);
TinaStatus tina_buf_append_str(TinaBuf *buf, const char *text, TinaError *err);
/* Empties the buffer and keeps its memory for reuse. */
void tina_buf_clear(TinaBuf *buf);
void tina_buf_free(TinaBuf *buf);

#endif
