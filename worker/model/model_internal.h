/*
 * model_internal.h — the layers of the model, shared by serving (worker/model),
 * training (worker/train) and their tests. Not part of the public API.
 *
 * Every layer is a *_forward and a *_backward over a block of N = L x B rows in
 * time-major order (row t*B + b is sequence b at step t), with the shapes in the
 * signature. Backward functions ACCUMULATE into parameter gradients (d_*
 * parameter arguments) and OVERWRITE the gradients of their inputs unless the
 * comment says otherwise. Matrices are row-major; a weight of shape out x in is
 * applied as y = x W^T.
 */
#ifndef SR_MODEL_INTERNAL_H
#define SR_MODEL_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sr_hash.h"
#include "sr_model.h"

/* Hot loops are built three times, for AVX-512 (x86-64-v4: 16 lanes, the
 * gates a third faster than with AVX2), AVX2 and any x86-64, and the loader
 * picks one at start-up (not under ASan, which does not support the dispatch). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__)
#define SR_VECTOR_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define SR_VECTOR_CLONES
#endif

#define SR_MODEL_MAX_DIM 4096u
#define SR_MODEL_MAX_WINDOW 1024u

/* ---- rng.c: deterministic random numbers (splitmix64 based) ---- */

typedef struct sr_rng {
    uint64_t state;
} sr_rng;

static inline uint64_t sr_rng_next(sr_rng *rng) {
    return sr_mix64(rng->state += 0x9e3779b97f4a7c15ULL);
}
/* Uniform in [0, 1), 24 bits. */
static inline float sr_rng_float(sr_rng *rng) {
    return (float)(sr_rng_next(rng) >> 40) * (1.0f / 16777216.0f);
}
/* Uniform in [0, n), n > 0 (Lemire's multiply-shift, bias < n / 2^64). */
static inline uint64_t sr_rng_below(sr_rng *rng, uint64_t n) {
    return (uint64_t)(((unsigned __int128)sr_rng_next(rng) * n) >> 64);
}

/* ---- kernels.c: gate nonlinearities ---- */

/* y[i] = sigma(x[i]) and tanh(x[i]); vectorised, max abs error <= 1e-6 against
 * libm over all finite inputs; y may equal x. */
void sr_sigmoid_fast(float *y, const float *x, size_t n);
void sr_tanh_fast(float *y, const float *x, size_t n);
/* e^x with relative error <= 1e-6 for x in [-87, 87]; clamped outside. */
void sr_exp_fast(float *y, const float *x, size_t n);
/* One row of softmax cross-entropy, in place: s (logits, plus bias when not
 * NULL) becomes scale * (softmax - onehot(target)); returns -log softmax[target]. */
double sr_softmax_xent_row(float *s, const float *bias, size_t n, size_t target, float scale);
/* The plain libm versions, the reference. */
void sr_sigmoid_ref(float *y, const float *x, size_t n);
void sr_tanh_ref(float *y, const float *x, size_t n);

/* ---- embedding.c: x = item_embed[row] + type_embed[type] ---- */

/* rows[n] < 0 marks padding: x row n is zero and gets no gradient. */
void embedding_forward(float *x, const int32_t *rows, const uint8_t *types,
                       const float *item_embed, const float *type_embed, size_t N, size_t E);
void embedding_backward(float *d_item_embed, float *d_type_embed, const float *dx,
                        const int32_t *rows, const uint8_t *types, size_t N, size_t E);

/* ---- dropout.c: inverted dropout ---- */

/* mask[n x D] = 0 or 1/(1-p), from (seed, stream): the same arguments give the
 * same mask. p == 0 gives all ones. y = x * mask (y may equal x). */
void dropout_mask(float *mask, size_t count, float p, uint64_t seed, uint64_t stream);
void dropout_forward(float *y, const float *x, const float *mask, size_t count);
/* dx = dy * mask (dx may equal dy). */
void dropout_backward(float *dx, const float *dy, const float *mask, size_t count);

/* ---- linear.c: y = x W^T + b over N rows ---- */

void linear_forward(float *y, const float *x, const float *w, const float *b, size_t N,
                    size_t in, size_t out);
/* d_w += dy^T x, d_b += colsum(dy); dx = dy W (when dx is not NULL). */
void linear_backward(float *dx, float *d_w, float *d_b, const float *dy, const float *x,
                     const float *w, size_t N, size_t in, size_t out);

/* ---- gru.c / elman.c: the recurrent cells ---- */

/* One step of B rows. On entry gates (B x 3H) holds the x-side pre-activations
 * x W^T + b (z, r, candidate blocks per row); on return it holds the activated
 * z, r, hhat. rh (B x H) receives r * h_prev; h (B x H) the new state (h may
 * not alias h_prev). Fast gate nonlinearities. */
void gru_cell_step(float *h, float *gates, float *rh, const float *h_prev, const float *cell_u,
                   size_t B, size_t H);

/* L steps from h0: xg (L x B x 3H) holds x-side pre-activations on entry and the
 * activated gates on return; hs (L x B x H) the states; rh (L x B x H). */
void gru_forward(float *hs, float *xg, float *rh, const float *h0, const float *cell_u,
                 size_t L, size_t B, size_t H);
/* dhs (L x B x H): gradient of the loss wrt each state from outside the
 * recurrence (consumed: used as scratch). d_xg (L x B x 3H): gradient wrt the
 * x-side pre-activations (= wrt cell_b; cell_w's follows by linear_backward).
 * d_h0 (B x H, required) the gradient wrt h0. d_cell_u (3H x H) accumulated. */
void gru_backward(float *d_xg, float *d_h0, float *d_cell_u, float *dhs, const float *h0,
                  const float *hs, const float *gates, const float *rh, const float *cell_u,
                  size_t L, size_t B, size_t H);

/* Elman: h = tanh(x W^T + b + h_prev U^T). xg (L x B x H) holds the x-side
 * pre-activations on entry and the full pre-activations on return. Backward as
 * for the GRU. */
void elman_cell_step(float *h, float *xg, const float *h_prev, const float *cell_u, size_t B,
                     size_t H);
void elman_forward(float *hs, float *xg, const float *h0, const float *cell_u, size_t L, size_t B,
                   size_t H);
void elman_backward(float *d_xg, float *d_h0, float *d_cell_u, float *dhs, const float *h0,
                    const float *hs, const float *cell_u, size_t L, size_t B, size_t H);

/* ---- gemm_rows.c: C (B x N, row stride ldc) += A W, A's rows a[b] (K floats
 * each), W given transposed as K rows of stride ldw. gemm_rows_usable(N): the
 * fast kernel runs for N columns on this CPU (otherwise gemm_rows is a plain
 * loop, for tests). */
bool gemm_rows_usable(size_t n);
void gemm_rows(float *c, size_t ldc, const float *const *a, const float *wt, size_t ldw,
               size_t B, size_t K, size_t N);

/* ---- gemm_rows_amx.c: gemm_rows on the AMX tile unit, A and W each split in
 * two bfloat16 parts (relative error about 1e-5). W (K x N, given transposed
 * as for gemm_rows) is packed once; gemm_rows_amx: C (B x N) += A W[:, n0 ..
 * n0 + N), scratch 32 x K uint16; gemm_rows_bf16_plain: the same arithmetic
 * in plain loops (its fallback without AMX, and the tests' reference).
 * gemm_amx_usable(K, N): the tile unit runs it here. */
typedef struct gemm_amx_weights {
    uint16_t *hi, *lo; /* K/2 rows of N pairs each */
    size_t k, n;
} gemm_amx_weights;
bool gemm_amx_usable(size_t k, size_t n);
sr_status gemm_amx_pack(gemm_amx_weights *w, const float *wt, size_t ldw, size_t K, size_t N,
                        sr_error *err);
void gemm_amx_free(gemm_amx_weights *w);
void gemm_rows_amx(float *c, size_t ldc, const float *const *a, const gemm_amx_weights *w,
                   size_t n0, size_t B, size_t N, uint16_t *scratch);
void gemm_rows_bf16_plain(float *c, size_t ldc, const float *const *a, const gemm_amx_weights *w,
                          size_t n0, size_t B, size_t N);

/* The h-side weights of the in-place step (sr_model_prepare_step_table): U
 * transposed in float (u_t, H x ldw, ldw = G*H), or packed in bfloat16 (bf16,
 * with 32 x H uint16 of scratch). step_product: C (B x N) += A U_t[:, n0 ..
 * n0 + N), A's rows a[b] (K floats) where the store keeps them. */
typedef struct {
    const float *u_t;
    size_t ldw;
    const gemm_amx_weights *bf16;
    uint16_t *scratch;
} step_weights;
void step_product(float *c, size_t ldc, const float *const *a, const step_weights *w, size_t n0,
                  size_t B, size_t K, size_t N);

/* The serving step in place: B users' hidden rows h[b] (H floats each, where
 * the store keeps them) are read and overwritten; gates (B x G*H) hold the x
 * side on entry; rh (B x H) scratch with rh_rows[b] = rh + b * H. Same
 * arithmetic as gru_cell_step / elman_cell_step (in fp32), without gathering
 * the states. */
void gru_cell_step_rows(float *const *h, float *gates, float *rh, const float *const *rh_rows,
                        const step_weights *w, size_t B, size_t H);
void elman_cell_step_rows(float *const *h, float *xg, const step_weights *w, size_t B, size_t H);

/* ---- attention.c: dot-product attention over a window of the last T steps ---- */

/* keys (P x B x K), P = T - 1 + L: positions 0..T-2 are the T-1 steps before
 * the block (carried over), position T-1+t is step t. Step t attends to the
 * valid positions t .. t+T-1 (valid: P x B bytes). q (L x B x K) the queries.
 * c (L x B x K) the context, alpha (L x B x T) the weights (0 where invalid;
 * all 0 when no position is valid). Keys are also the values. */
void attention_forward(float *c, float *alpha, const float *q, const float *keys,
                       const uint8_t *valid, size_t L, size_t B, size_t T, size_t K);
/* dq (L x B x K) overwritten; d_keys (P x B x K) ACCUMULATED. */
void attention_backward(float *dq, float *d_keys, const float *dc, const float *alpha,
                        const float *q, const float *keys, const uint8_t *valid, size_t L,
                        size_t B, size_t T, size_t K);
/* The attention of one query over n keys (rows of keys, stride K) that are all
 * valid: c (K), alpha (n). Shared by serving. */
void attention_one(float *c, float *alpha, const float *q, const float *const *keys, size_t n,
                   size_t K);

/* ---- serving helpers ---- */

/* The plain reference of sr_model_step_batch and sr_model_user_vectors: one
 * user at a time, naive loops, libm gates. */
void sr_model_step_reference(const sr_model *model, int32_t row, uint8_t type,
                             sr_user_state_view *state);
void sr_model_user_vector_reference(const sr_model *model, const sr_user_state_view *state,
                                    float *u);

/* Width of the attention context: 0, E or H. */
size_t sr_model_context_dim(const sr_model_config *config);
/* Gates per cell: 3 (GRU) or 1 (Elman). */
size_t sr_model_gate_count(const sr_model_config *config);

#endif
