/*
 * linear.c — y = x W^T + b over N rows (W: out x in), as one GEMM; its backward
 * as two GEMMs and a column sum.
 */
#include <cblas.h>

#include "model/model_internal.h"

void linear_forward(float *y, const float *x, const float *w, const float *b, size_t N,
                    size_t in, size_t out) {
    for (size_t n = 0; n < N; n++)
        for (size_t o = 0; o < out; o++) y[n * out + o] = b ? b[o] : 0.0f;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)N, (int)out, (int)in, 1.0f, x,
                (int)in, w, (int)in, 1.0f, y, (int)out);
}

void linear_backward(float *dx, float *d_w, float *d_b, const float *dy, const float *x,
                     const float *w, size_t N, size_t in, size_t out) {
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)out, (int)in, (int)N, 1.0f, dy,
                (int)out, x, (int)in, 1.0f, d_w, (int)in);
    if (d_b)
        for (size_t n = 0; n < N; n++)
            for (size_t o = 0; o < out; o++) d_b[o] += dy[n * out + o];
    if (dx)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)N, (int)in, (int)out, 1.0f,
                    dy, (int)out, w, (int)in, 0.0f, dx, (int)in);
}
