/*
 * kernels.c — the gate nonlinearities, vectorisable.
 *
 * At E = H = 64 a GRU step costs about as much in sigmoid/tanh as in its GEMMs,
 * so these avoid libm: exp(x) = 2^n * p(r) with n = round(x / ln 2), r = x - n ln 2
 * (|r| <= ln2 / 2, ln 2 split in two parts for exactness), p the degree-7 Taylor
 * polynomial (truncation error < 1e-9 relative), and 2^n built in the exponent
 * bits. sigma(x) = 1 / (1 + e^-x); tanh(x) = 1 - 2 / (e^2x + 1), evaluated as
 * sign(x) * (1 - 2 / (e^2|x| + 1)) and as a short odd polynomial near 0, where
 * the subtraction would cancel. Inputs are clamped where the result is already
 * 0 or 1 in float, so no path produces an inf or a denormal. Loops are plain
 * (no calls, selects instead of branches) so the compiler vectorises them; with
 * GCC clones are built for AVX-512 and AVX2 (model_internal.h) and one is picked
 * at load time.
 *
 * Accuracy (tests/unit/test_model_kernels.c, against libm over a dense range):
 * max abs error about 1e-7 for both.
 */
#include <math.h>
#include <string.h>

#include "model/model_internal.h"

/* Float selects only become vector blends when comparisons may not trap; and
 * the polynomials' multiply-adds become FMAs in the AVX2/AVX-512 clones (the
 * gates 40 % faster; accuracy as tested below, unchanged). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math", "fp-contract=fast")
#endif

/* e^x for x in [-87, 88] (callers clamp). */
static inline float exp_core(float x) {
    const float log2e = 1.44269504088896341f;
    const float ln2_hi = 0.693145751953125f;      /* 12 significant bits: n * ln2_hi is exact */
    const float ln2_lo = 1.428606765330187045e-06f;
    const float shifter = 12582912.0f;            /* 1.5 * 2^23: rounds to an integer */
    float t = x * log2e + shifter;
    float n = t - shifter;
    float r = x - n * ln2_hi;
    r = r - n * ln2_lo;
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    int32_t bits;
    memcpy(&bits, &t, sizeof bits);               /* low mantissa bits of t hold n */
    int32_t scale_bits = (bits - 0x4B400000 + 127) << 23;
    float scale;
    memcpy(&scale, &scale_bits, sizeof scale);
    return p * scale;
}

SR_VECTOR_CLONES
void sr_sigmoid_fast(float *y, const float *x, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float v = -x[i];
        v = v > 87.0f ? 87.0f : v;
        v = v < -87.0f ? -87.0f : v;
        y[i] = 1.0f / (1.0f + exp_core(v));
    }
}

SR_VECTOR_CLONES
void sr_tanh_fast(float *y, const float *x, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        float a = v < 0.0f ? -v : v;
        float a2 = a > 9.0f ? 18.0f : 2.0f * a;   /* tanh(9) rounds to 1 in float */
        float big = 1.0f - 2.0f / (exp_core(a2) + 1.0f);
        /* |x| < 2^-4: tanh x = x - x^3/3 + 2x^5/15 - 17x^7/315, error < 1e-11 */
        float s = a * a;
        float small = a + a * s * (-1.0f / 3.0f + s * (2.0f / 15.0f - s * (17.0f / 315.0f)));
        float m = a < 0.0625f ? small : big;
        y[i] = v < 0.0f ? -m : m;
    }
}

SR_VECTOR_CLONES
void sr_exp_fast(float *y, const float *x, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        v = v > 87.0f ? 87.0f : v;
        v = v < -87.0f ? -87.0f : v;
        y[i] = exp_core(v);
    }
}

/* Lanes of the reductions below: independent partial maxima and sums that the
 * compiler keeps in vector registers (a single running sum would be serial). */
enum { SOFTMAX_LANES = 16 };

SR_VECTOR_CLONES
double sr_softmax_xent_row(float *s, const float *bias, size_t n, size_t target, float scale) {
    size_t blocked = n - n % SOFTMAX_LANES;
    if (bias)
        for (size_t i = 0; i < n; i++) s[i] += bias[i];
    float lane_max[SOFTMAX_LANES];
    for (size_t k = 0; k < SOFTMAX_LANES; k++) lane_max[k] = -INFINITY;
    for (size_t i = 0; i < blocked; i += SOFTMAX_LANES)
        for (size_t k = 0; k < SOFTMAX_LANES; k++)
            lane_max[k] = s[i + k] > lane_max[k] ? s[i + k] : lane_max[k];
    float max = -INFINITY;
    for (size_t k = 0; k < SOFTMAX_LANES; k++) max = lane_max[k] > max ? lane_max[k] : max;
    for (size_t i = blocked; i < n; i++) max = s[i] > max ? s[i] : max;

    double target_logit = (double)s[target] - (double)max;
    float lane_sum[SOFTMAX_LANES] = {0};
    /* e^(x - max); below e^-87 (and for -inf, a masked column) exactly 0. */
    for (size_t i = 0; i < blocked; i += SOFTMAX_LANES)
        for (size_t k = 0; k < SOFTMAX_LANES; k++) {
            float v = s[i + k] - max;
            float e = exp_core(v < -87.0f ? -87.0f : v);
            e = v < -87.0f ? 0.0f : e;
            s[i + k] = e;
            lane_sum[k] += e;
        }
    double sum = 0.0;
    for (size_t k = 0; k < SOFTMAX_LANES; k++) sum += lane_sum[k];
    for (size_t i = blocked; i < n; i++) {
        float v = s[i] - max;
        s[i] = v < -87.0f ? 0.0f : exp_core(v);
        sum += s[i];
    }
    float k = (float)(scale / sum);
    for (size_t i = 0; i < n; i++) s[i] *= k;
    s[target] -= scale;
    return log(sum) - target_logit;
}

void sr_sigmoid_ref(float *y, const float *x, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = 1.0f / (1.0f + expf(-x[i]));
}

void sr_tanh_ref(float *y, const float *x, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = tanhf(x[i]);
}
