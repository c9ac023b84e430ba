/*
 * sr_hash.h — the one 64-bit mixer (SplitMix64's finaliser) for hash tables,
 * sampling and the seeded generators: every bit of the input moves every bit
 * of the output, so sequential or patterned ids spread evenly.
 */
#ifndef SR_HASH_H
#define SR_HASH_H

#include <stdint.h>

static inline uint64_t sr_mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

#endif
