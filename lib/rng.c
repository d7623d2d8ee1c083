#include "rng.h"

static uint64_t mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint64_t tina_rng_bits(uint64_t seed, uint64_t stream, uint64_t counter) {
    /* three rounds, each folding one input in, so that nearby (stream, counter) pairs are unrelated */
    uint64_t z = mix(seed + 0x9e3779b97f4a7c15ULL);
    z = mix(z ^ (stream + 0x632be59bd9b4e019ULL));
    return mix(z ^ (counter * 0x9e3779b97f4a7c15ULL + 0x2545f4914f6cdd1dULL));
}

double tina_rng_uniform(uint64_t seed, uint64_t stream, uint64_t counter) {
    return (double)(tina_rng_bits(seed, stream, counter) >> 11) * 0x1.0p-53;
}

uint64_t tina_rng_name(const char *bytes, size_t len) {
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)bytes[i]) * 1099511628211ULL;
    return h;
}
