/*
 * attention.c — scaled dot-product attention of a step's query over the last T
 * steps (keys are also the values):
 *   s_j = q . k_j / sqrt(K),  alpha = softmax(s),  c = sum_j alpha_j k_j.
 * Without positions the order of the window does not matter to the result;
 * keys are always visited oldest first so that serving and training add in the
 * same order. An empty window gives c = 0.
 *
 * Backward: with g_j = dc . k_j and gbar = sum_j alpha_j g_j,
 *   ds_j = alpha_j (g_j - gbar),  dq = sum_j ds_j k_j / sqrt(K),
 *   dk_j += ds_j q / sqrt(K) + alpha_j dc.
 */
#include <math.h>
#include <string.h>

#include "model/model_internal.h"

void attention_one(float *c, float *alpha, const float *q, const float *const *keys, size_t n,
                   size_t K) {
    memset(c, 0, K * sizeof *c);
    if (n == 0) return;
    const float scale = 1.0f / sqrtf((float)K);
    float max = -INFINITY;
    for (size_t j = 0; j < n; j++) {
        float s = 0.0f;
        for (size_t k = 0; k < K; k++) s += q[k] * keys[j][k];
        alpha[j] = s * scale;
        if (alpha[j] > max) max = alpha[j];
    }
    float sum = 0.0f;
    for (size_t j = 0; j < n; j++) {
        alpha[j] = expf(alpha[j] - max);
        sum += alpha[j];
    }
    float inv = 1.0f / sum;
    for (size_t j = 0; j < n; j++) {
        alpha[j] *= inv;
        for (size_t k = 0; k < K; k++) c[k] += alpha[j] * keys[j][k];
    }
}

void attention_forward(float *c, float *alpha, const float *q, const float *keys,
                       const uint8_t *valid, size_t L, size_t B, size_t T, size_t K) {
    const float *window[SR_MODEL_MAX_WINDOW];
    float compact[SR_MODEL_MAX_WINDOW];
    for (size_t t = 0; t < L; t++) {
        for (size_t b = 0; b < B; b++) {
            size_t n = 0, row = t * B + b;
            for (size_t j = 0; j < T; j++) {
                size_t p = t + j;
                if (valid[p * B + b]) window[n++] = keys + (p * B + b) * K;
            }
            attention_one(c + row * K, compact, q + row * K, window, n, K);
            float *a = alpha + row * T;
            for (size_t j = 0, m = 0; j < T; j++) a[j] = valid[(t + j) * B + b] ? compact[m++] : 0.0f;
        }
    }
}

void attention_backward(float *dq, float *d_keys, const float *dc, const float *alpha,
                        const float *q, const float *keys, const uint8_t *valid, size_t L,
                        size_t B, size_t T, size_t K) {
    const float scale = 1.0f / sqrtf((float)K);
    float g[SR_MODEL_MAX_WINDOW];
    for (size_t t = 0; t < L; t++) {
        for (size_t b = 0; b < B; b++) {
            size_t row = t * B + b;
            const float *a = alpha + row * T, *dcr = dc + row * K, *qr = q + row * K;
            float *dqr = dq + row * K;
            memset(dqr, 0, K * sizeof *dqr);
            float gbar = 0.0f;
            for (size_t j = 0; j < T; j++) {
                size_t p = t + j;
                g[j] = 0.0f;
                if (!valid[p * B + b]) continue;
                const float *k = keys + (p * B + b) * K;
                for (size_t i = 0; i < K; i++) g[j] += dcr[i] * k[i];
                gbar += a[j] * g[j];
            }
            for (size_t j = 0; j < T; j++) {
                size_t p = t + j;
                if (!valid[p * B + b]) continue;
                const float *k = keys + (p * B + b) * K;
                float *dk = d_keys + (p * B + b) * K;
                float ds = a[j] * (g[j] - gbar) * scale;
                for (size_t i = 0; i < K; i++) {
                    dqr[i] += ds * k[i];
                    dk[i] += ds * qr[i] + a[j] * dcr[i];
                }
            }
        }
    }
}
