/*
 * gemm_rows_amx.c — gemm_rows (C += A W, A's rows where the store keeps them)
 * on the AMX tile unit, in bfloat16 with float accumulation.
 *
 * Why: at E = H = 64 the recurrent products are the largest part of a step
 * (gemm_rows.c runs them at about 90 % of the core's AVX-512 peak). One AMX
 * TDPBF16PS does 16 x 16 x 32 multiply-adds, so their arithmetic all but
 * disappears (what stays is the first read of each user's state, here when
 * its rows are converted). bfloat16 keeps only 8 significant bits, so each
 * operand is split in two bf16 parts, A = A_hi + A_lo and W = W_hi + W_lo, and
 * C += A_hi W_hi + A_hi W_lo + A_lo W_hi: every partial product is exact in
 * float, only A_lo W_lo (below 2^-16 of a term) and the parts' own rounding
 * are lost: relative error about 1e-5 (plain bf16, A_hi W_hi alone, would be
 * about 4e-3, and measured no faster in the worker: the three products are
 * not its bottleneck). W is packed once per model (gemm_amx_pack: the pairs of
 * K rows interleaved, the layout TDPBF16PS reads); A is converted 16 rows at a
 * time into scratch.
 *
 * Only on CPUs with AMX-BF16 and AVX512-BF16 whose kernel grants the process
 * the tile state (arch_prctl ARCH_REQ_XCOMP_PERM, Linux 5.16+), and for K a
 * multiple of 32, N of 32 (gemm_amx_usable); callers keep gemm_rows otherwise.
 * tests/unit/test_model_serving.c checks it, and its plain fallback, against
 * double sums.
 */
#include <stdlib.h>
#include <string.h>

#include "model/model_internal.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12 && \
    defined(__linux__)
#define GEMM_AMX 1
#include <cpuid.h>
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#ifdef GEMM_AMX
enum { ARCH_REQ_XCOMP_PERM = 0x1023, XFEATURE_XTILEDATA = 18 };

static bool cpu_and_kernel_allow_amx(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
    bool tile = d & (1u << 24), amx_bf16 = d & (1u << 22), avx512f = b & (1u << 16);
    if (!__get_cpuid_count(7, 1, &a, &b, &c, &d)) return false;
    bool avx512_bf16 = a & (1u << 5);
    if (!(tile && amx_bf16 && avx512f && avx512_bf16)) return false;
    /* The tile registers are 8 KB of thread state the kernel only saves
     * for processes that asked for it. */
    return syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0;
}
#endif

bool gemm_amx_usable(size_t k, size_t n) {
#ifdef GEMM_AMX
    static int allowed = -1;
    if (allowed < 0) allowed = cpu_and_kernel_allow_amx() ? 1 : 0;
    return allowed && k > 0 && k % 32 == 0 && n > 0 && n % 32 == 0;
#else
    (void)k, (void)n;
    return false;
#endif
}

/* float -> bfloat16, round to nearest even (inputs are finite). */
static uint16_t to_bf16(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

static float from_bf16(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

sr_status gemm_amx_pack(gemm_amx_weights *w, const float *wt, size_t ldw, size_t K, size_t N,
                        sr_error *err) {
    memset(w, 0, sizeof *w);
    if (K % 2) return sr_fail(err, SR_ERR_INVALID_ARG, "amx pack: K %zu is odd", K);
    w->hi = malloc(K * N * sizeof *w->hi);
    w->lo = malloc(K * N * sizeof *w->lo);
    if (!w->hi || !w->lo) {
        free(w->hi), free(w->lo);
        memset(w, 0, sizeof *w);
        return sr_fail(err, SR_ERR_NOMEM, "amx pack: out of memory for %zu x %zu", K, N);
    }
    /* Row p of the packed matrix holds, per column n, W[2p][n] then W[2p+1][n]. */
    for (size_t k = 0; k < K; k++)
        for (size_t n = 0; n < N; n++) {
            float x = wt[k * ldw + n];
            uint16_t hi = to_bf16(x);
            size_t at = (k / 2) * 2 * N + 2 * n + (k & 1);
            w->hi[at] = hi;
            w->lo[at] = to_bf16(x - from_bf16(hi));
        }
    w->k = K, w->n = N;
    return SR_OK;
}

void gemm_amx_free(gemm_amx_weights *w) {
    free(w->hi), free(w->lo);
    memset(w, 0, sizeof *w);
}

#ifdef GEMM_AMX

#define AMX_TARGET __attribute__((target("amx-tile,amx-bf16,avx512f,avx512bf16")))

typedef struct {
    uint8_t palette;
    uint8_t start_row;
    uint8_t reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} tile_config;

/* Tiles 0, 1: two 16-column blocks of C; 2, 3: A_hi, A_lo for 32 of K;
 * 4, 5: W_hi, W_lo for C's first block; 6, 7: for its second. */
static void configure(tile_config *cfg, unsigned rows) {
    memset(cfg, 0, sizeof *cfg);
    cfg->palette = 1;
    for (int t = 0; t < 8; t++) {
        cfg->colsb[t] = 64;
        cfg->rows[t] = (uint8_t)(t < 4 ? rows : 16);
    }
}

/* rows of A (K floats each) -> hi and lo bf16 blocks, K per row. */
AMX_TARGET static void convert_rows(uint16_t *hi, uint16_t *lo, const float *const *a, size_t rows,
                                    size_t K) {
    for (size_t r = 0; r < rows; r++)
        for (size_t k = 0; k < K; k += 16) {
            __m512 x = _mm512_loadu_ps(a[r] + k);
            __m256bh h = _mm512_cvtneps_pbh(x);
            _mm256_storeu_si256((__m256i *)(hi + r * K + k), (__m256i)h);
            /* x - float(hi): a bf16 is the top half of a float */
            __m512 back = _mm512_castsi512_ps(
                _mm512_slli_epi32(_mm512_cvtepu16_epi32((__m256i)h), 16));
            __m256bh l = _mm512_cvtneps_pbh(_mm512_sub_ps(x, back));
            _mm256_storeu_si256((__m256i *)(lo + r * K + k), (__m256i)l);
        }
}

AMX_TARGET static void block(float *c, size_t ldc, const uint16_t *a_hi, const uint16_t *a_lo,
                             const gemm_amx_weights *w, size_t n0, size_t N) {
    const size_t K = w->k, a_stride = K * 2, w_stride = w->n * 4, c_stride = ldc * 4;
    for (size_t n = 0; n < N; n += 32) {
        float *c0 = c + n, *c1 = c + n + 16;
        _tile_loadd(0, c0, c_stride);
        _tile_loadd(1, c1, c_stride);
        for (size_t k = 0; k < K; k += 32) {
            size_t at = (k / 2) * 2 * w->n + 2 * (n0 + n);
            _tile_loadd(2, a_hi + k, a_stride);
            _tile_loadd(4, w->hi + at, w_stride);
            _tile_loadd(6, w->hi + at + 32, w_stride);
            _tile_dpbf16ps(0, 2, 4);
            _tile_dpbf16ps(1, 2, 6);
            _tile_loadd(3, a_lo + k, a_stride);
            _tile_loadd(5, w->lo + at, w_stride);
            _tile_loadd(7, w->lo + at + 32, w_stride);
            _tile_dpbf16ps(0, 2, 5);
            _tile_dpbf16ps(1, 2, 7);
            _tile_dpbf16ps(0, 3, 4);
            _tile_dpbf16ps(1, 3, 6);
        }
        _tile_stored(0, c0, c_stride);
        _tile_stored(1, c1, c_stride);
    }
}

AMX_TARGET static void rows_amx(float *c, size_t ldc, const float *const *a,
                                const gemm_amx_weights *w, size_t n0, size_t B, size_t N,
                                uint16_t *scratch) {
    const size_t K = w->k;
    uint16_t *a_hi = scratch, *a_lo = scratch + 16 * K;
    tile_config cfg;
    unsigned configured = 0;
    for (size_t b = 0; b < B; b += 16) {
        unsigned rows = (unsigned)(B - b < 16 ? B - b : 16);
        if (rows != configured) {
            configure(&cfg, rows);
            _tile_loadconfig(&cfg);
            configured = rows;
        }
        convert_rows(a_hi, a_lo, a + b, rows, K);
        block(c + b * ldc, ldc, a_hi, a_lo, w, n0, N);
    }
    _tile_release();
}

#endif

void gemm_rows_amx(float *c, size_t ldc, const float *const *a, const gemm_amx_weights *w,
                   size_t n0, size_t B, size_t N, uint16_t *scratch) {
#ifdef GEMM_AMX
    if (gemm_amx_usable(w->k, N)) {
        rows_amx(c, ldc, a, w, n0, B, N, scratch);
        return;
    }
#else
    (void)scratch;
#endif
    gemm_rows_bf16_plain(c, ldc, a, w, n0, B, N);
}

void gemm_rows_bf16_plain(float *c, size_t ldc, const float *const *a, const gemm_amx_weights *w,
                          size_t n0, size_t B, size_t N) {
    for (size_t b = 0; b < B; b++)
        for (size_t n = 0; n < N; n++) {
            float sum = 0.0f;
            for (size_t k = 0; k < w->k; k++) {
                size_t at = (k / 2) * 2 * w->n + 2 * (n0 + n) + (k & 1);
                uint16_t hi = to_bf16(a[b][k]);
                float x_hi = from_bf16(hi);
                float x_lo = from_bf16(to_bf16(a[b][k] - x_hi));
                sum += x_hi * from_bf16(w->hi[at]) + x_hi * from_bf16(w->lo[at]) +
                       x_lo * from_bf16(w->hi[at]);
            }
            c[b * ldc + n] += sum;
        }
}
