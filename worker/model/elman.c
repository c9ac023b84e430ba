/*
 * elman.c — the Elman cell, h' = tanh(x W^T + b + h U^T), the degenerate case of
 * the GRU (DESIGN.md). Same structure as gru.c: x side precomputed, one GEMM per
 * step for the h side.
 */
#include <cblas.h>

#include "model/model_internal.h"

void elman_cell_step(float *h, float *xg, const float *h_prev, const float *cell_u, size_t B,
                     size_t H) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)B, (int)H, (int)H, 1.0f, h_prev,
                (int)H, cell_u, (int)H, 1.0f, xg, (int)H);
    sr_tanh_fast(h, xg, B * H);
}

void elman_cell_step_rows(float *const *h, float *xg, const step_weights *w, size_t B, size_t H) {
    step_product(xg, H, (const float *const *)h, w, 0, B, H, H);
    for (size_t b = 0; b < B; b++) sr_tanh_fast(h[b], xg + b * H, H);
}

void elman_forward(float *hs, float *xg, const float *h0, const float *cell_u, size_t L, size_t B,
                   size_t H) {
    for (size_t t = 0; t < L; t++)
        elman_cell_step(hs + t * B * H, xg + t * B * H, t ? hs + (t - 1) * B * H : h0, cell_u, B,
                        H);
}

void elman_backward(float *d_xg, float *d_h0, float *d_cell_u, float *dhs, const float *h0,
                    const float *hs, const float *cell_u, size_t L, size_t B, size_t H) {
    const size_t BH = B * H;
    for (size_t t = L; t-- > 0;) {
        const float *h = hs + t * BH, *dh = dhs + t * BH;
        float *da = d_xg + t * BH;
        for (size_t i = 0; i < BH; i++) da[i] = dh[i] * (1.0f - h[i] * h[i]);
        float *dprev = t ? dhs + (t - 1) * BH : d_h0;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)B, (int)H, (int)H, 1.0f, da,
                    (int)H, cell_u, (int)H, t ? 1.0f : 0.0f, dprev, (int)H);
    }
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)H, (int)H, (int)B, 1.0f, d_xg,
                (int)H, h0, (int)H, 1.0f, d_cell_u, (int)H);
    if (L > 1)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)H, (int)H, (int)((L - 1) * B),
                    1.0f, d_xg + BH, (int)H, hs, (int)H, 1.0f, d_cell_u, (int)H);
}
