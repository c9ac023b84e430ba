/*
 * prng.h — the replay's own pseudo-random numbers: xoshiro256** seeded through
 * splitmix64, so that a seed gives the same stream on every platform and libc
 * (rand() promises neither). Not for anything security-related.
 */
#ifndef SR_REPLAY_PRNG_H
#define SR_REPLAY_PRNG_H

#include <stdint.h>

#include "sr_hash.h"

typedef struct replay_prng {
    uint64_t s[4];
} replay_prng;

/* One step of splitmix64: also a good 64-bit mixer for deriving sub-seeds. */
static inline uint64_t replay_splitmix64(uint64_t *state) {
    return sr_mix64(*state += 0x9e3779b97f4a7c15ULL);
}

/* Any seed, 0 included, gives a valid (never all-zero) state. */
static inline void replay_prng_seed(replay_prng *prng, uint64_t seed) {
    for (int i = 0; i < 4; i++) prng->s[i] = replay_splitmix64(&seed);
}

static inline uint64_t replay_prng_rotl(uint64_t x, int k) {
    return (x << k) | (x >> (64 - k));
}

static inline uint64_t replay_prng_next(replay_prng *prng) {
    uint64_t *s = prng->s;
    uint64_t result = replay_prng_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = replay_prng_rotl(s[3], 45);
    return result;
}

/* Uniform in [0, 1) with 53 bits of precision. */
static inline double replay_prng_uniform(replay_prng *prng) {
    return (double)(replay_prng_next(prng) >> 11) * 0x1.0p-53;
}

/* Uniform in [0, n) for n > 0. Multiply-shift: the bias is below 2^-32 for
 * n < 2^32, far under anything a replay could notice, and it costs no loop. */
static inline uint64_t replay_prng_below(replay_prng *prng, uint64_t n) {
    return (uint64_t)(((unsigned __int128)replay_prng_next(prng) * n) >> 64);
}

#endif
