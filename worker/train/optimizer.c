/*
 * optimizer.c — Adam with bias correction and decoupled weight decay (AdamW),
 * and the global gradient norm for clipping. Dense over the whole parameter
 * block: at the sizes here (a few million floats) a pass costs far less than
 * the full-softmax GEMMs of one batch.
 */
#include <math.h>

#include "train/train_internal.h"

double grad_norm(const float *g, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)g[i] * g[i];
    return sqrt(s);
}

void adam_update(float *p, const float *g, float *m, float *v, size_t n, float lr, float beta1,
                 float beta2, float eps, float weight_decay, uint64_t step) {
    const float c1 = 1.0f / (1.0f - powf(beta1, (float)step));
    const float c2 = 1.0f / (1.0f - powf(beta2, (float)step));
    const float decay = 1.0f - lr * weight_decay;
    for (size_t i = 0; i < n; i++) {
        m[i] = beta1 * m[i] + (1.0f - beta1) * g[i];
        v[i] = beta2 * v[i] + (1.0f - beta2) * g[i] * g[i];
        float mhat = m[i] * c1, vhat = v[i] * c2;
        p[i] = p[i] * decay - lr * mhat / (sqrtf(vhat) + eps);
    }
}
