#include "base/utf8.h"

/* The well-formed byte sequences (Unicode Table 3-7): the allowed range of the second byte depends on the first. */
static int sequence_length(unsigned char lead, unsigned char *second_min, unsigned char *second_max) {
    *second_min = 0x80;
    *second_max = 0xBF;
    if (lead < 0x80) return 1;
    if (lead < 0xC2) return 0;
    if (lead < 0xE0) return 2;
    if (lead < 0xF0) {
        if (lead == 0xE0) *second_min = 0xA0;
        if (lead == 0xED) *second_max = 0x9F; /* no surrogates */
        return 3;
    }
    if (lead < 0xF5) {
        if (lead == 0xF0) *second_min = 0x90;
        if (lead == 0xF4) *second_max = 0x8F; /* nothing above U+10FFFF */
        return 4;
    }
    return 0;
}

/* How many bytes of s[0..n) follow the rules for a sequence of `want` bytes led by s[0]. */
static size_t well_formed_bytes(const unsigned char *s, size_t n, int want, unsigned char lo, unsigned char hi) {
    size_t k = 1;
    for (; k < (size_t)want && k < n; k++) {
        unsigned char min = k == 1 ? lo : 0x80, max = k == 1 ? hi : 0xBF;
        if (s[k] < min || s[k] > max) break;
    }
    return k;
}

size_t tina_utf8_next(const char *text, size_t n, uint32_t *code_point) {
    const unsigned char *s = (const unsigned char *)text;
    unsigned char lo, hi;
    int want = sequence_length(s[0], &lo, &hi);
    if (want <= 1) { /* ASCII, or a byte that cannot start a well-formed sequence */
        *code_point = want ? s[0] : TINA_UTF8_BAD;
        return 1;
    }
    size_t k = well_formed_bytes(s, n, want, lo, hi);
    if (k < (size_t)want) {
        *code_point = TINA_UTF8_BAD;
        return k;
    }
    uint32_t cp = s[0] & (0x7F >> want);
    for (int i = 1; i < want; i++) cp = cp << 6 | (s[i] & 0x3F);
    *code_point = cp;
    return (size_t)want;
}

bool tina_utf8_incomplete(const char *text, size_t n) {
    const unsigned char *s = (const unsigned char *)text;
    unsigned char lo, hi;
    if (n == 0) return false;
    int want = sequence_length(s[0], &lo, &hi);
    return want > 1 && n < (size_t)want && well_formed_bytes(s, n, want, lo, hi) == n;
}

bool tina_utf8_valid(const char *s, size_t n) {
    for (size_t i = 0; i < n;) {
        if ((unsigned char)s[i] < 0x80) {
            i++;
            continue;
        }
        uint32_t cp;
        i += tina_utf8_next(s + i, n - i, &cp);
        if (cp == TINA_UTF8_BAD) return false;
    }
    return true;
}

TinaStatus tina_utf8_append_lossy(TinaBuf *out, const char *s, size_t n, TinaError *err) {
    size_t good = 0; /* s[good..i) is well-formed and not yet appended */
    for (size_t i = 0; i < n;) {
        if ((unsigned char)s[i] < 0x80) {
            i++;
            continue;
        }
        uint32_t cp;
        size_t start = i;
        i += tina_utf8_next(s + i, n - i, &cp);
        if (cp != TINA_UTF8_BAD) continue;
        TinaStatus status = tina_buf_append(out, s + good, start - good, err);
        if (!status) status = tina_buf_append(out, TINA_UTF8_REPLACEMENT, 3, err);
        if (status) return status;
        good = i;
    }
    return tina_buf_append(out, s + good, n - good, err);
}
