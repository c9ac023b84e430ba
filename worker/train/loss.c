/*
 * loss.c — the training losses over the catalogue, block-wise.
 *
 * Full softmax: rows with a target are gathered into blocks of block_rows;
 * per block one GEMM gives the scores against every item (block x V), a
 * log-softmax per row gives the loss, and P - Y (scaled) gives two GEMMs for
 * the gradients. Memory is block_rows x V, whatever the number of rows.
 *
 * Sampled softmax: the same over [target, S shared negatives], with each logit
 * corrected by -log(S q_j) so that the estimate is consistent for the full
 * softmax (logQ correction); accidental hits (negative == target) are masked.
 */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "train/train_internal.h"

size_t softmax_ce_scratch_floats(size_t block_rows, size_t V, size_t E) {
    return block_rows * (V + 2 * E);
}

size_t sampled_softmax_scratch_floats(size_t block_rows, size_t S, size_t E) {
    return block_rows * (S + 1 + 2 * E) + 2 * S * (E + 1);
}

/* Rows of u with a target, from *next on, at most block_rows: their indexes. */
static size_t next_block(size_t *index, const int32_t *targets, size_t N, size_t *next,
                         size_t block_rows) {
    size_t n = 0;
    while (*next < N && n < block_rows) {
        if (targets[*next] >= 0) index[n++] = *next;
        (*next)++;
    }
    return n;
}

double softmax_ce_forward_backward(float *du, float *d_out_embed, float *d_out_bias,
                                   const float *u, const int32_t *targets,
                                   const float *out_embed, const float *out_bias, size_t N,
                                   size_t E, size_t V, float scale, float *scratch,
                                   size_t block_rows) {
    float *S = scratch;                        /* block x V */
    float *ub = S + block_rows * V;            /* block x E */
    float *dub = ub + block_rows * E;          /* block x E */
    if (du) memset(du, 0, N * E * sizeof *du);
    double total = 0.0;
    size_t next = 0, n, idx[SR_LOSS_MAX_BLOCK];
    if (block_rows > SR_LOSS_MAX_BLOCK) block_rows = SR_LOSS_MAX_BLOCK;
    while ((n = next_block(idx, targets, N, &next, block_rows)) > 0) {
        for (size_t i = 0; i < n; i++) memcpy(ub + i * E, u + idx[i] * E, E * sizeof *ub);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)V, (int)E, 1.0f, ub,
                    (int)E, out_embed, (int)E, 0.0f, S, (int)V);
        for (size_t i = 0; i < n; i++)
            total += sr_softmax_xent_row(S + i * V, out_bias, V, (size_t)targets[idx[i]], scale);
        if (!du) continue;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)E, (int)V, 1.0f, S,
                    (int)V, out_embed, (int)E, 0.0f, dub, (int)E);
        for (size_t i = 0; i < n; i++) memcpy(du + idx[i] * E, dub + i * E, E * sizeof *du);
        if (d_out_embed)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)V, (int)E, (int)n, 1.0f, S,
                        (int)V, ub, (int)E, 1.0f, d_out_embed, (int)E);
        if (d_out_bias)
            for (size_t i = 0; i < n; i++) {
                const float *p = S + i * V;
                for (size_t v = 0; v < V; v++) d_out_bias[v] += p[v];
            }
    }
    return total;
}

double sampled_softmax_forward_backward(float *du, float *d_out_embed, float *d_out_bias,
                                        const float *u, const int32_t *targets,
                                        const float *out_embed, const float *out_bias,
                                        const int32_t *neg, size_t S, const float *q, size_t N,
                                        size_t E, float scale, float *scratch,
                                        size_t block_rows) {
    const size_t W = S + 1;                    /* column 0: the target */
    float *logits = scratch;                   /* block x (S + 1) */
    float *ub = logits + block_rows * W;       /* block x E */
    float *dub = ub + block_rows * E;          /* block x E */
    float *ne = dub + block_rows * E;          /* S x E: negative embeddings */
    float *nb = ne + S * E;                    /* S: their corrected biases */
    float *dne = nb + S;                       /* S x E */
    float *dnb = dne + S * E;                  /* S */
    for (size_t j = 0; j < S; j++) {
        memcpy(ne + j * E, out_embed + (size_t)neg[j] * E, E * sizeof *ne);
        nb[j] = out_bias[neg[j]] - logf((float)S * q[neg[j]]);
    }
    memset(dne, 0, S * E * sizeof *dne);
    memset(dnb, 0, S * sizeof *dnb);
    if (du) memset(du, 0, N * E * sizeof *du);
    double total = 0.0;
    size_t next = 0, n, idx[SR_LOSS_MAX_BLOCK];
    if (block_rows > SR_LOSS_MAX_BLOCK) block_rows = SR_LOSS_MAX_BLOCK;
    while ((n = next_block(idx, targets, N, &next, block_rows)) > 0) {
        for (size_t i = 0; i < n; i++) {
            memcpy(ub + i * E, u + idx[i] * E, E * sizeof *ub);
            memcpy(logits + i * W + 1, nb, S * sizeof *logits);
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)S, (int)E, 1.0f, ub,
                    (int)E, ne, (int)E, 1.0f, logits + 1, (int)W);
        for (size_t i = 0; i < n; i++) {
            int32_t tg = targets[idx[i]];
            const float *ot = out_embed + (size_t)tg * E, *ui = ub + i * E;
            float *row = logits + i * W;
            float s = out_bias[tg] - logf((float)S * q[tg]);
            for (size_t e = 0; e < E; e++) s += ui[e] * ot[e];
            row[0] = s;
            for (size_t j = 0; j < S; j++)
                if (neg[j] == tg) row[1 + j] = -INFINITY;
            total += sr_softmax_xent_row(row, NULL, W, 0, scale);
            for (size_t j = 0; j < S; j++)
                if (neg[j] == tg) row[1 + j] = 0.0f;
        }
        if (!du) continue;
        /* dU = P_neg NE + (p_t - 1) o_t, dNE += P_neg^T U, do_t += (p_t - 1) u */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)E, (int)S, 1.0f,
                    logits + 1, (int)W, ne, (int)E, 0.0f, dub, (int)E);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)S, (int)E, (int)n, 1.0f,
                    logits + 1, (int)W, ub, (int)E, 1.0f, dne, (int)E);
        for (size_t i = 0; i < n; i++) {
            int32_t tg = targets[idx[i]];
            const float *row = logits + i * W, *ui = ub + i * E, *ot = out_embed + (size_t)tg * E;
            float *dui = dub + i * E;
            for (size_t e = 0; e < E; e++) dui[e] += row[0] * ot[e];
            memcpy(du + idx[i] * E, dui, E * sizeof *du);
            if (d_out_embed) {
                float *dot = d_out_embed + (size_t)tg * E;
                for (size_t e = 0; e < E; e++) dot[e] += row[0] * ui[e];
            }
            if (d_out_bias) d_out_bias[tg] += row[0];
            for (size_t j = 0; j < S; j++) dnb[j] += row[1 + j];
        }
    }
    if (du) {
        for (size_t j = 0; j < S; j++) {
            if (d_out_embed) {
                float *d = d_out_embed + (size_t)neg[j] * E;
                for (size_t e = 0; e < E; e++) d[e] += dne[j * E + e];
            }
            if (d_out_bias) d_out_bias[neg[j]] += dnb[j];
        }
    }
    return total;
}
