/*
 * dropout.c — inverted dropout with masks derived from (seed, stream, index) by
 * a hash, so a mask can be rebuilt exactly (gradient checks, determinism) and
 * does not depend on the order in which anything else drew random numbers.
 */
#include "model/model_internal.h"

void dropout_mask(float *mask, size_t count, float p, uint64_t seed, uint64_t stream) {
    if (p <= 0.0f) {
        for (size_t i = 0; i < count; i++) mask[i] = 1.0f;
        return;
    }
    float keep = 1.0f / (1.0f - p);
    uint64_t base = sr_mix64(seed ^ sr_mix64(stream + 0x632be59bd9b4e019ULL));
    uint64_t threshold = (uint64_t)((double)p * 4294967296.0);
    for (size_t i = 0; i < count; i++) {
        uint64_t r = sr_mix64(base + i * 0x9e3779b97f4a7c15ULL) >> 32;
        mask[i] = r < threshold ? 0.0f : keep;
    }
}

void dropout_forward(float *y, const float *x, const float *mask, size_t count) {
    for (size_t i = 0; i < count; i++) y[i] = x[i] * mask[i];
}

void dropout_backward(float *dx, const float *dy, const float *mask, size_t count) {
    for (size_t i = 0; i < count; i++) dx[i] = dy[i] * mask[i];
}
