/*
 * optimizer.c — Adam with bias correction and decoupled weight decay (AdamW),
 * and the global gradient norm for clipping. Dense over the whole parameter
 * block: at the sizes here (a few million floats) a pass costs far less than
 * the full-softmax GEMMs of one batch.
 */
#include <math.h>

#include "train/train_internal.h"

/* Independent partial sums, so that the reduction runs in vector registers. */
enum { NORM_LANES = 8 };

SR_VECTOR_CLONES
double grad_norm(const float *g, size_t n) {
    double lanes[NORM_LANES] = {0};
    size_t blocked = n - n % NORM_LANES;
    for (size_t i = 0; i < blocked; i += NORM_LANES)
        for (size_t k = 0; k < NORM_LANES; k++) lanes[k] += (double)g[i + k] * g[i + k];
    double s = 0.0;
    for (size_t k = 0; k < NORM_LANES; k++) s += lanes[k];
    for (size_t i = blocked; i < n; i++) s += (double)g[i] * g[i];
    return sqrt(s);
}

/* One pass over the parameters: the gradient is scaled (clipping), used, and
 * zeroed for the next step, which saves the trainer a separate memset. */
SR_VECTOR_CLONES
void adam_update(float *p, float *g, float *m, float *v, size_t n, float grad_scale, float lr,
                 float beta1, float beta2, float eps, float weight_decay, uint64_t step) {
    const float c1 = 1.0f / (1.0f - powf(beta1, (float)step));
    const float c2 = 1.0f / (1.0f - powf(beta2, (float)step));
    const float decay = 1.0f - lr * weight_decay;
    for (size_t i = 0; i < n; i++) {
        float gi = g[i] * grad_scale;
        g[i] = 0.0f;
        m[i] = beta1 * m[i] + (1.0f - beta1) * gi;
        v[i] = beta2 * v[i] + (1.0f - beta2) * gi * gi;
        float mhat = m[i] * c1, vhat = v[i] * c2;
        p[i] = p[i] * decay - lr * mhat / (sqrtf(vhat) + eps);
    }
}
