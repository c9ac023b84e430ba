/*
 * gru.c — the GRU cell over B rows per step:
 *   z = sigma(x W_z^T + h U_z^T + b_z), r = sigma(x W_r^T + h U_r^T + b_r),
 *   hhat = tanh(x W_h^T + (r * h) U_h^T + b_h),  h' = (1 - z) * h + z * hhat.
 * The x-side pre-activations of all steps come in precomputed (one GEMM over the
 * whole block, linear.c); a step adds the h side with two GEMMs (U_z|U_r stacked,
 * then U_h on r * h) straight into the gate block, then applies the gates.
 * Training and the worker's step share the gate code (the worker's in-place
 * step, gru_cell_step_rows, only takes its products from gemm_rows.c, or
 * gemm_rows_amx.c when it runs in bf16), so in fp32 both see the same numbers.
 */
#include <cblas.h>
#include <string.h>

#include "model/model_internal.h"

/* One row's gates, between the products: z and r activated, rh = r * h_prev. */
static void reset_gate(float *g, float *rh, const float *hp, size_t H) {
    sr_sigmoid_fast(g, g, 2 * H);
    const float *r = g + H;
    for (size_t i = 0; i < H; i++) rh[i] = r[i] * hp[i];
}

/* After U_h: hhat activated, h = h_prev + z (hhat - h_prev) (h may be h_prev). */
static void update_gate(float *g, float *h, const float *hp, size_t H) {
    sr_tanh_fast(g + 2 * H, g + 2 * H, H);
    const float *z = g, *hh = g + 2 * H;
    for (size_t i = 0; i < H; i++) h[i] = hp[i] + z[i] * (hh[i] - hp[i]);
}

void gru_cell_step(float *h, float *gates, float *rh, const float *h_prev, const float *cell_u,
                   size_t B, size_t H) {
    const int ld = (int)(3 * H);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)B, (int)(2 * H), (int)H, 1.0f,
                h_prev, (int)H, cell_u, (int)H, 1.0f, gates, ld);
    for (size_t b = 0; b < B; b++) reset_gate(gates + b * 3 * H, rh + b * H, h_prev + b * H, H);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)B, (int)H, (int)H, 1.0f, rh, (int)H,
                cell_u + 2 * H * H, (int)H, 1.0f, gates + 2 * H, ld);
    for (size_t b = 0; b < B; b++) update_gate(gates + b * 3 * H, h + b * H, h_prev + b * H, H);
}

void gru_cell_step_rows(float *const *h, float *gates, float *rh, const float *const *rh_rows,
                        const step_weights *w, size_t B, size_t H) {
    const size_t G = 3 * H;
    step_product(gates, G, (const float *const *)h, w, 0, B, H, 2 * H);
    for (size_t b = 0; b < B; b++) reset_gate(gates + b * G, rh + b * H, h[b], H);
    step_product(gates + 2 * H, G, rh_rows, w, 2 * H, B, H, H);
    for (size_t b = 0; b < B; b++) update_gate(gates + b * G, h[b], h[b], H);
}

void gru_forward(float *hs, float *xg, float *rh, const float *h0, const float *cell_u,
                 size_t L, size_t B, size_t H) {
    for (size_t t = 0; t < L; t++) {
        const float *hp = t ? hs + (t - 1) * B * H : h0;
        gru_cell_step(hs + t * B * H, xg + t * B * 3 * H, rh + t * B * H, hp, cell_u, B, H);
    }
}

/* Backward of one step; dh (B x H) is the total gradient wrt this step's state,
 * and is overwritten with the gradient wrt r * h_prev. dh_prev receives
 * (accumulate != 0: += ) the gradient wrt h_prev. */
static void gru_step_backward(float *d_g, float *dh_prev, int accumulate, float *dh,
                              const float *h_prev, const float *gates, const float *cell_u,
                              size_t B, size_t H) {
    const size_t G = 3 * H;
    for (size_t b = 0; b < B; b++) {
        const float *g = gates + b * G, *hp = h_prev + b * H;
        const float *z = g, *hh = g + 2 * H;
        float *dgb = d_g + b * G, *dhb = dh + b * H, *dpb = dh_prev + b * H;
        for (size_t i = 0; i < H; i++) {
            float d = dhb[i];
            float dz = d * (hh[i] - hp[i]);
            float dhh = d * z[i];
            dgb[i] = dz * z[i] * (1.0f - z[i]);
            dgb[2 * H + i] = dhh * (1.0f - hh[i] * hh[i]);
            float direct = d * (1.0f - z[i]);
            dpb[i] = accumulate ? dpb[i] + direct : direct;
        }
    }
    /* d(r*h) = da_h U_h */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)B, (int)H, (int)H, 1.0f,
                d_g + 2 * H, (int)G, cell_u + 2 * H * H, (int)H, 0.0f, dh, (int)H);
    for (size_t b = 0; b < B; b++) {
        const float *g = gates + b * G, *hp = h_prev + b * H;
        const float *r = g + H;
        float *dgb = d_g + b * G, *drh = dh + b * H, *dpb = dh_prev + b * H;
        for (size_t i = 0; i < H; i++) {
            float dr = drh[i] * hp[i];
            dpb[i] += drh[i] * r[i];
            dgb[H + i] = dr * r[i] * (1.0f - r[i]);
        }
    }
    /* dh_prev += [da_z da_r] [U_z; U_r] */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)B, (int)H, (int)(2 * H), 1.0f,
                d_g, (int)G, cell_u, (int)H, 1.0f, dh_prev, (int)H);
}

void gru_backward(float *d_xg, float *d_h0, float *d_cell_u, float *dhs, const float *h0,
                  const float *hs, const float *gates, const float *rh, const float *cell_u,
                  size_t L, size_t B, size_t H) {
    const size_t G = 3 * H, BH = B * H;
    for (size_t t = L; t-- > 0;) {
        const float *hp = t ? hs + (t - 1) * BH : h0;
        float *dprev = t ? dhs + (t - 1) * BH : d_h0;
        gru_step_backward(d_xg + t * B * G, dprev, t > 0, dhs + t * BH, hp, gates + t * B * G,
                          cell_u, B, H);
    }
    /* Weight gradients over all steps at once: dU_zr += da_zr^T h_prev. */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)(2 * H), (int)H, (int)B, 1.0f, d_xg,
                (int)G, h0, (int)H, 1.0f, d_cell_u, (int)H);
    if (L > 1)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)(2 * H), (int)H,
                    (int)((L - 1) * B), 1.0f, d_xg + B * G, (int)G, hs, (int)H, 1.0f, d_cell_u,
                    (int)H);
    /* dU_h += da_h^T (r * h_prev) */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)H, (int)H, (int)(L * B), 1.0f,
                d_xg + 2 * H, (int)G, rh, (int)H, 1.0f, d_cell_u + 2 * H * H, (int)H);
}
