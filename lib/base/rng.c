#include "base/rng.h"

uint64_t tina_rng_name(const char *bytes, size_t len) {
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)bytes[i]) * 1099511628211ULL;
    return h;
}
