/*
 * reference.c — the serving forward pass written the plain way: one user, naive
 * loops, libm's exp and tanh. The optimised path (serving.c) is tested against
 * it; nothing in production calls it.
 */
#include <math.h>
#include <string.h>

#include "model/model_internal.h"

static float dot(const float *a, const float *b, size_t n) {
    float s = 0.0f;
    for (size_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

static float sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

void sr_model_step_reference(const sr_model *model, int32_t row, uint8_t type,
                             sr_user_state_view *s) {
    const sr_model_config *c = &model->config;
    const sr_model_tensors *t = &model->t;
    size_t E = c->embed_dim, H = c->hidden_dim, T = c->window;
    float x[SR_MODEL_MAX_DIM], h[SR_MODEL_MAX_DIM], rh[SR_MODEL_MAX_DIM], out[SR_MODEL_MAX_DIM];
    for (size_t e = 0; e < E; e++) x[e] = t->item_embed[(size_t)row * E + e] + t->type_embed[(size_t)type * E + e];
    memcpy(h, s->hidden, H * sizeof(float));
    if (c->cell == SR_CELL_ELMAN) {
        for (size_t i = 0; i < H; i++)
            out[i] = tanhf(dot(t->cell_w + i * E, x, E) + dot(t->cell_u + i * H, h, H) + t->cell_b[i]);
    } else {
        float z[SR_MODEL_MAX_DIM];
        for (size_t i = 0; i < H; i++) {
            z[i] = sigmoid(dot(t->cell_w + i * E, x, E) + dot(t->cell_u + i * H, h, H) + t->cell_b[i]);
            size_t j = H + i;
            float r = sigmoid(dot(t->cell_w + j * E, x, E) + dot(t->cell_u + j * H, h, H) + t->cell_b[j]);
            rh[i] = r * h[i];
        }
        for (size_t i = 0; i < H; i++) {
            size_t j = 2 * H + i;
            float hh = tanhf(dot(t->cell_w + j * E, x, E) + dot(t->cell_u + j * H, rh, H) + t->cell_b[j]);
            out[i] = (1.0f - z[i]) * h[i] + z[i] * hh;
        }
    }
    memcpy(s->hidden, out, H * sizeof(float));
    uint32_t slot = s->recent_head % T;
    s->recent_rows[slot] = row;
    s->recent_types[slot] = type;
    if (c->attention == SR_ATTENTION_HIDDEN) memcpy(s->hidden + H + slot * H, out, H * sizeof(float));
    s->recent_head = (uint32_t)((slot + 1) % T);
    if (s->recent_count < T) s->recent_count++;
}

void sr_model_user_vector_reference(const sr_model *model, const sr_user_state_view *s, float *u) {
    const sr_model_config *c = &model->config;
    const sr_model_tensors *t = &model->t;
    size_t E = c->embed_dim, H = c->hidden_dim, T = c->window, K = sr_model_context_dim(c);
    float hc[2 * SR_MODEL_MAX_DIM];
    memcpy(hc, s->hidden, H * sizeof(float));
    if (K) {
        float q[SR_MODEL_MAX_DIM], score[SR_MODEL_MAX_WINDOW];
        const float *key[SR_MODEL_MAX_WINDOW];
        for (size_t k = 0; k < K; k++) q[k] = dot(t->attn_query + k * H, s->hidden, H);
        size_t n = s->recent_count < T ? s->recent_count : T;
        for (size_t i = 0; i < n; i++) {
            size_t slot = (s->recent_head + T - n + i) % T;
            key[i] = c->attention == SR_ATTENTION_HIDDEN
                         ? s->hidden + H + slot * H
                         : t->item_embed + (size_t)s->recent_rows[slot] * E;
        }
        float max = -INFINITY, sum = 0.0f;
        for (size_t i = 0; i < n; i++) {
            score[i] = dot(q, key[i], K) / sqrtf((float)K);
            max = fmaxf(max, score[i]);
        }
        for (size_t i = 0; i < n; i++) sum += score[i] = expf(score[i] - max);
        for (size_t k = 0; k < K; k++) {
            float v = 0.0f;
            for (size_t i = 0; i < n; i++) v += score[i] / sum * key[i][k];
            hc[H + k] = v;
        }
    }
    for (size_t e = 0; e < E; e++) u[e] = dot(t->out_w + e * (H + K), hc, H + K) + t->out_b[e];
}
