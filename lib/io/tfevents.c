#include "io/tfevents.h"

#include <string.h>

/* CRC-32C (Castagnoli) of data, as TFRecord frames use it before masking */
static uint32_t crc32c(const void *data, size_t len) {
    static uint32_t table[256];
    if (!table[1]) /* reflected polynomial 0x1EDC6F41 (filled once: a race would write the same values) */
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
            table[i] = c;
        }
    uint32_t crc = 0xFFFFFFFFu;
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) crc = table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
    return crc ^ 0xFFFFFFFFu;
}

static uint32_t masked(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }

static TinaStatus little_endian(TinaBuf *out, uint64_t value, int bytes, TinaError *err) {
    unsigned char b[8];
    for (int i = 0; i < bytes; i++) b[i] = (unsigned char)(value >> (8 * i));
    return tina_buf_append(out, b, (size_t)bytes, err);
}

static TinaStatus varint(TinaBuf *out, uint64_t value, TinaError *err) {
    unsigned char b[10];
    int n = 0;
    do {
        b[n] = (unsigned char)(value & 0x7F);
        value >>= 7;
        b[n++] |= value ? 0x80 : 0;
    } while (value);
    return tina_buf_append(out, b, (size_t)n, err);
}

/* a length-delimited field: key, length, bytes */
static TinaStatus bytes_field(TinaBuf *out, int field, const void *data, size_t len, TinaError *err) {
    TinaStatus status = varint(out, (uint64_t)field << 3 | 2, err);
    if (!status) status = varint(out, len, err);
    return status ? status : tina_buf_append(out, data, len, err);
}

/* Event's wall_time (field 1, a double) and step (field 2, a varint) */
static TinaStatus event_head(TinaBuf *event, double wall_time, int64_t step, TinaError *err) {
    uint64_t bits;
    memcpy(&bits, &wall_time, sizeof bits);
    TinaStatus status = varint(event, 1 << 3 | 1, err);
    if (!status) status = little_endian(event, bits, 8, err);
    if (!status && step) status = varint(event, 2 << 3 | 0, err);
    if (!status && step) status = varint(event, (uint64_t)step, err);
    return status;
}

/* a TFRecord frame of data */
static TinaStatus frame(TinaBuf *out, const TinaBuf *data, TinaError *err) {
    TinaStatus status = little_endian(out, data->len, 8, err); /* then its checksum, of the 8 bytes just written */
    if (!status) status = little_endian(out, masked(crc32c(out->data + out->len - 8, 8)), 4, err);
    if (!status) status = tina_buf_append(out, data->data, data->len, err);
    return status ? status : little_endian(out, masked(crc32c(data->data, data->len)), 4, err);
}

TinaStatus tina_tfevents_start(TinaBuf *out, double wall_time, TinaError *err) {
    static const char version[] = "brain.Event:2";
    TinaBuf event = {0};
    TinaStatus status = event_head(&event, wall_time, 0, err);
    if (!status) status = bytes_field(&event, 3, version, sizeof version - 1, err);
    if (!status) status = frame(out, &event, err);
    tina_buf_free(&event);
    return status;
}

TinaStatus tina_tfevents_scalars(TinaBuf *out, double wall_time, int64_t step, const char *const *tags,
                                 const float *values, int n, TinaError *err) {
    TinaBuf event = {0}, summary = {0}, value = {0};
    TinaStatus status = event_head(&event, wall_time, step, err);
    for (int i = 0; !status && i < n; i++) { /* Summary.value (1): Value{tag (1), simple_value (2, a float)} */
        uint32_t bits;
        memcpy(&bits, &values[i], sizeof bits);
        tina_buf_clear(&value);
        status = bytes_field(&value, 1, tags[i], strlen(tags[i]), err);
        if (!status) status = varint(&value, 2 << 3 | 5, err);
        if (!status) status = little_endian(&value, bits, 4, err);
        if (!status) status = bytes_field(&summary, 1, value.data, value.len, err);
    }
    if (!status) status = bytes_field(&event, 5, summary.data ? summary.data : "", summary.len, err); /* Event.summary */
    if (!status) status = frame(out, &event, err);
    tina_buf_free(&event), tina_buf_free(&summary), tina_buf_free(&value);
    return status;
}
