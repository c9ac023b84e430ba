/*
 * embedding.c — the input layer: x_n = item_embed[rows[n]] + type_embed[types[n]].
 * A negative row is padding: its x is zero and it receives no gradient.
 */
#include <string.h>

#include "model/model_internal.h"

void embedding_forward(float *x, const int32_t *rows, const uint8_t *types,
                       const float *item_embed, const float *type_embed, size_t N, size_t E) {
    for (size_t n = 0; n < N; n++) {
        float *xn = x + n * E;
        if (rows[n] < 0) {
            memset(xn, 0, E * sizeof *xn);
            continue;
        }
        const float *ie = item_embed + (size_t)rows[n] * E;
        const float *te = type_embed + (size_t)types[n] * E;
        for (size_t e = 0; e < E; e++) xn[e] = ie[e] + te[e];
    }
}

void embedding_backward(float *d_item_embed, float *d_type_embed, const float *dx,
                        const int32_t *rows, const uint8_t *types, size_t N, size_t E) {
    for (size_t n = 0; n < N; n++) {
        if (rows[n] < 0) continue;
        const float *g = dx + n * E;
        float *di = d_item_embed + (size_t)rows[n] * E;
        float *dt = d_type_embed + (size_t)types[n] * E;
        for (size_t e = 0; e < E; e++) {
            di[e] += g[e];
            dt[e] += g[e];
        }
    }
}
