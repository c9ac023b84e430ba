/*
 * gemm_rows.c — the serving step's h-side products, C += A W, where the B
 * rows of A are the users' own hidden states wherever the store keeps them.
 *
 * Why not OpenBLAS here: at E = H = 64 these products are most of a step's
 * arithmetic, and sgemm first copies A and W into its packed layouts on every
 * call (and A must be gathered into one block before that). W is packed once
 * per model instead (transposed, K x N rows), the A rows are read in place,
 * and a 4-row x 64-column tile of C stays in 16 AVX-512 registers for the
 * whole K loop: measured 162 against 193 ns per event for both products
 * (tests/bench: bench_model), with no gather or scatter of the states.
 *
 * Only for CPUs with AVX-512F and N a multiple of 16 (gemm_rows_usable);
 * otherwise the step keeps the OpenBLAS path. tests/unit/test_model_serving.c
 * checks the kernel against plain loops.
 */
#include "model/model_internal.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define GEMM_ROWS_AVX512 1
#endif
#include <stdbool.h>

bool gemm_rows_usable(size_t n) {
#ifdef GEMM_ROWS_AVX512
    static int cpu_has = -1;
    if (cpu_has < 0) {
        __builtin_cpu_init();
        cpu_has = __builtin_cpu_supports("avx512f") ? 1 : 0;
    }
    return cpu_has && n > 0 && n % 16 == 0;
#else
    (void)n;
    return false;
#endif
}

#ifdef GEMM_ROWS_AVX512

/* The tile loops must unroll for the accumulators to live in registers. */
#if defined(__clang__)
#define UNROLLED _Pragma("unroll")
#else
#define UNROLLED _Pragma("GCC unroll 4")
#endif

/* Rows b..b+R-1 (R <= 4), columns [n, n + 16 * V) (V <= 4) of C. */
#define TILE_BODY(R, V)                                                                    \
    do {                                                                                   \
        __m512 acc[4][4];                                                                  \
        UNROLLED for (int r = 0; r < (R); r++)                                             \
            UNROLLED for (int v = 0; v < (V); v++)                                         \
                acc[r][v] = _mm512_loadu_ps(c + (b + r) * ldc + n + 16 * v);               \
        const float *w = wt + n;                                                           \
        for (size_t k = 0; k < K; k++, w += ldw) {                                         \
            __m512 wv[4];                                                                  \
            UNROLLED for (int v = 0; v < (V); v++) wv[v] = _mm512_loadu_ps(w + 16 * v);    \
            UNROLLED for (int r = 0; r < (R); r++) {                                       \
                __m512 x = _mm512_set1_ps(a[b + r][k]);                                    \
                UNROLLED for (int v = 0; v < (V); v++)                                     \
                    acc[r][v] = _mm512_fmadd_ps(x, wv[v], acc[r][v]);                      \
            }                                                                              \
        }                                                                                  \
        UNROLLED for (int r = 0; r < (R); r++)                                             \
            UNROLLED for (int v = 0; v < (V); v++)                                         \
                _mm512_storeu_ps(c + (b + r) * ldc + n + 16 * v, acc[r][v]);               \
    } while (0)

__attribute__((target("avx512f"))) static void rows_avx512(float *c, size_t ldc,
                                                            const float *const *a,
                                                            const float *wt, size_t ldw,
                                                            size_t B, size_t K, size_t N) {
    size_t b = 0;
    for (; b + 4 <= B; b += 4) {
        size_t n = 0;
        for (; n + 64 <= N; n += 64) TILE_BODY(4, 4);
        for (; n < N; n += 16) TILE_BODY(4, 1);
    }
    for (; b < B; b++) {
        size_t n = 0;
        for (; n + 64 <= N; n += 64) TILE_BODY(1, 4);
        for (; n < N; n += 16) TILE_BODY(1, 1);
    }
}

#endif

void gemm_rows(float *c, size_t ldc, const float *const *a, const float *wt, size_t ldw,
               size_t B, size_t K, size_t N) {
#ifdef GEMM_ROWS_AVX512
    if (gemm_rows_usable(N)) {
        rows_avx512(c, ldc, a, wt, ldw, B, K, N);
        return;
    }
#endif
    for (size_t b = 0; b < B; b++) /* correct anywhere, fast nowhere: callers check usable */
        for (size_t k = 0; k < K; k++)
            for (size_t n = 0; n < N; n++) c[b * ldc + n] += a[b][k] * wt[k * ldw + n];
}

void step_product(float *c, size_t ldc, const float *const *a, const step_weights *w, size_t n0,
                  size_t B, size_t K, size_t N) {
    if (w->bf16)
        gemm_rows_amx(c, ldc, a, w->bf16, n0, B, N, w->scratch);
    else
        gemm_rows(c, ldc, a, w->u_t + n0, w->ldw, B, K, N);
}
