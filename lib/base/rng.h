/* rng: counter-based random numbers. A value is a pure function of (seed, stream, counter), so any piece of work
 * (one LoRA matrix, one rollout, one dropout mask on the CPU or the GPU) draws the same numbers whatever ran before
 * it, in whatever process, order or device. The draws are defined here, inline, so that the CUDA kernels compile the
 * very same functions. */
#ifndef TINA_RNG_H
#define TINA_RNG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __CUDACC__
#define TINA_RNG_FN static inline __host__ __device__
#else
#define TINA_RNG_FN static inline
#endif

/* splitmix64's finaliser */
TINA_RNG_FN uint64_t tina_rng_mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* 64 random bits for (seed, stream, counter): three rounds, each folding one input in, so that nearby (stream,
 * counter) pairs are unrelated */
TINA_RNG_FN uint64_t tina_rng_bits(uint64_t seed, uint64_t stream, uint64_t counter) {
    uint64_t z = tina_rng_mix(seed + 0x9e3779b97f4a7c15ULL);
    z = tina_rng_mix(z ^ (stream + 0x632be59bd9b4e019ULL));
    return tina_rng_mix(z ^ (counter * 0x9e3779b97f4a7c15ULL + 0x2545f4914f6cdd1dULL));
}

/* Uniform in [0, 1) with 53 random bits. */
TINA_RNG_FN double tina_rng_uniform(uint64_t seed, uint64_t stream, uint64_t counter) {
    return (double)(tina_rng_bits(seed, stream, counter) >> 11) * 0x1.0p-53;
}

/* A stream named by bytes (a record's id): their FNV-1a hash. */
uint64_t tina_rng_name(const char *bytes, size_t len);

#endif
