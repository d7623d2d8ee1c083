/* rng: counter-based random numbers. A value is a pure function of (seed, stream, counter), so any piece of work
 * (one LoRA matrix, one rollout) draws the same numbers whatever ran before it, in whatever process or order. */
#ifndef TINA_RNG_H
#define TINA_RNG_H

#include <stddef.h>
#include <stdint.h>

/* 64 random bits for (seed, stream, counter): splitmix64's finaliser over a mix of the three. */
uint64_t tina_rng_bits(uint64_t seed, uint64_t stream, uint64_t counter);
/* Uniform in [0, 1) with 53 random bits. */
double tina_rng_uniform(uint64_t seed, uint64_t stream, uint64_t counter);
/* A stream named by bytes (a record's id): their FNV-1a hash. */
uint64_t tina_rng_name(const char *bytes, size_t len);

#endif
