/*
 * chunk.c — the whole model, forward and backward, over one chunk of B
 * sequences x L steps (time-major: row t*B + b), starting from the carried
 * state of the previous chunk:
 *
 *   X  = embed(rows, types) * dropout             embedding.c, dropout.c
 *   XG = X cell_w^T + cell_b                       linear.c (one GEMM, all steps)
 *   Hs = cell(XG, h0)                              gru.c / elman.c (L steps)
 *   Q  = Hs attn_query^T;  C = attention(Q, keys)  attention.c (keys: item
 *        embeddings of the window's rows, or the window's hidden states)
 *   U  = ([Hs C] * dropout) out_w^T + out_b        linear.c
 *   loss over the steps with a target              loss.c
 *
 * and back in reverse. The window reaches T-1 steps into the previous chunk:
 * for item attention through the carried rows (so item_embed gets their
 * gradient, as it is a parameter, not a state), for hidden attention through
 * carried states (detached, as h0 is).
 */
#include <stdlib.h>
#include <string.h>

#include "train/train_internal.h"

static void *counted_calloc(size_t n, size_t size, size_t *bytes) {
    if (n == 0) n = 1;
    *bytes += n * size;
    return calloc(n, size);
}

#define ALLOC(p, n, bytes)                                              \
    do {                                                                \
        if (!((p) = counted_calloc((n), sizeof *(p), (bytes)))) goto nomem; \
    } while (0)

sr_status train_buffers_init(train_buffers *b, const sr_model_config *mc,
                             const sr_train_config *tc, size_t max_B, size_t max_L,
                             size_t *bytes, sr_error *err) {
    memset(b, 0, sizeof *b);
    size_t E = mc->embed_dim, H = mc->hidden_dim, T = mc->window;
    size_t G = sr_model_gate_count(mc), K = sr_model_context_dim(mc);
    size_t N = max_B * max_L, P = (T - 1 + max_L) * max_B;
    b->max_B = max_B, b->max_L = max_L;
    ALLOC(b->x, N * E, bytes);
    ALLOC(b->x_mask, N * E, bytes);
    ALLOC(b->xg, N * G * H, bytes);
    ALLOC(b->d_xg, N * G * H, bytes);
    ALLOC(b->hs, N * H, bytes);
    ALLOC(b->d_hs, N * H, bytes);
    ALLOC(b->rh, N * H, bytes);
    ALLOC(b->d_h0, max_B * H, bytes);
    ALLOC(b->q, N * K, bytes);
    ALLOC(b->d_q, N * K, bytes);
    ALLOC(b->c, N * K, bytes);
    ALLOC(b->keys, P * K, bytes);
    ALLOC(b->d_keys, P * K, bytes);
    ALLOC(b->key_valid, P, bytes);
    ALLOC(b->key_rows, P, bytes);
    ALLOC(b->alpha, N * T, bytes);
    ALLOC(b->hc, N * (H + K), bytes);
    ALLOC(b->hc_mask, N * (H + K), bytes);
    ALLOC(b->d_hc, N * (H + K), bytes);
    ALLOC(b->u, N * E, bytes);
    ALLOC(b->d_u, N * E, bytes);
    ALLOC(b->tmp, N * (E > H ? E : H), bytes);
    size_t rows = tc->loss_block_rows;
    if (rows > SR_LOSS_MAX_BLOCK) rows = SR_LOSS_MAX_BLOCK;
    size_t full = softmax_ce_scratch_floats(rows, mc->item_count, E);
    size_t sampled = sampled_softmax_scratch_floats(rows, tc->negatives, E);
    b->loss_scratch_floats = tc->loss == SR_LOSS_SAMPLED_SOFTMAX ? sampled : full;
    ALLOC(b->loss_scratch, b->loss_scratch_floats, bytes);
    return SR_OK;
nomem:
    train_buffers_free(b);
    return sr_fail(err, SR_ERR_NOMEM, "trainer: out of memory for chunks of %zu x %zu", max_B,
                   max_L);
}

void train_buffers_free(train_buffers *b) {
    free(b->x), free(b->x_mask), free(b->xg), free(b->d_xg), free(b->hs), free(b->d_hs);
    free(b->rh), free(b->d_h0), free(b->q), free(b->d_q), free(b->c), free(b->keys);
    free(b->d_keys), free(b->key_valid), free(b->key_rows), free(b->alpha), free(b->hc);
    free(b->hc_mask), free(b->d_hc), free(b->u), free(b->d_u), free(b->tmp);
    free(b->loss_scratch);
    memset(b, 0, sizeof *b);
}

sr_status train_carry_init(train_carry *c, const sr_model_config *mc, size_t max_B,
                           size_t *bytes, sr_error *err) {
    memset(c, 0, sizeof *c);
    size_t H = mc->hidden_dim, W = mc->window - 1;
    ALLOC(c->h, max_B * H, bytes);
    ALLOC(c->hist_rows, W * max_B, bytes);
    ALLOC(c->hist_states, W * max_B * H, bytes);
    ALLOC(c->hist_valid, W * max_B, bytes);
    return SR_OK;
nomem:
    train_carry_free(c);
    return sr_fail(err, SR_ERR_NOMEM, "trainer: out of memory for the carried state");
}

void train_carry_free(train_carry *c) {
    free(c->h), free(c->hist_rows), free(c->hist_states), free(c->hist_valid);
    memset(c, 0, sizeof *c);
}

void train_carry_reset(train_carry *c, const sr_model_config *mc, size_t B) {
    size_t H = mc->hidden_dim, W = mc->window - 1;
    memset(c->h, 0, B * H * sizeof *c->h);
    for (size_t i = 0; i < W * B; i++) c->hist_rows[i] = -1;
    memset(c->hist_valid, 0, W * B);
    memset(c->hist_states, 0, W * B * H * sizeof *c->hist_states);
}

/* Fills keys/key_valid/key_rows for P = T-1+L positions from the carry and the chunk. */
static void gather_keys(train_buffers *b, const train_carry *carry, const sr_model *model,
                        const train_chunk *ch) {
    const sr_model_config *mc = &model->config;
    size_t B = ch->B, L = ch->L, W = mc->window - 1, H = mc->hidden_dim;
    size_t K = sr_model_context_dim(mc);
    for (size_t p = 0; p < W + L; p++) {
        for (size_t bi = 0; bi < B; bi++) {
            size_t i = p * B + bi;
            int32_t row = p < W ? carry->hist_rows[i] : ch->rows[(p - W) * B + bi];
            b->key_rows[i] = row;
            b->key_valid[i] = p < W ? carry->hist_valid[i] : row >= 0;
            float *k = b->keys + i * K;
            if (mc->attention == SR_ATTENTION_ITEMS) {
                if (row >= 0 && b->key_valid[i])
                    memcpy(k, model->t.item_embed + (size_t)row * K, K * sizeof *k);
                else
                    memset(k, 0, K * sizeof *k);
            } else {
                const float *src = p < W ? carry->hist_states + i * H : b->hs + (p - W) * B * H + bi * H;
                memcpy(k, src, H * sizeof *k);
            }
        }
    }
}

static void advance_carry(train_carry *carry, const train_buffers *b, const sr_model_config *mc,
                          size_t B, size_t L) {
    size_t W = mc->window - 1, H = mc->hidden_dim;
    memcpy(carry->h, b->hs + (L - 1) * B * H, B * H * sizeof *carry->h);
    /* the window's last W positions: keys positions L .. L+W-1 */
    for (size_t p = 0; p < W; p++) {
        for (size_t bi = 0; bi < B; bi++) {
            size_t src = (L + p) * B + bi, dst = p * B + bi;
            carry->hist_rows[dst] = b->key_rows[src];
            carry->hist_valid[dst] = b->key_valid[src];
        }
    }
    if (mc->attention == SR_ATTENTION_HIDDEN)
        memmove(carry->hist_states, b->keys + L * B * H, W * B * H * sizeof(float));
}

double train_chunk_run(train_buffers *b, train_carry *carry, const sr_model *model,
                       const sr_train_config *tc, const train_chunk *ch, float *grads,
                       float loss_scale, const int32_t *negatives, size_t S, const float *q,
                       size_t *count, int advance) {
    const sr_model_config *mc = &model->config;
    const sr_model_tensors *t = &model->t;
    const size_t B = ch->B, L = ch->L, N = B * L, E = mc->embed_dim, H = mc->hidden_dim;
    const size_t V = mc->item_count, T = mc->window, W = T - 1;
    const size_t G = sr_model_gate_count(mc), K = sr_model_context_dim(mc), HK = H + K;
    const int gru = mc->cell == SR_CELL_GRU;
    size_t n_target = 0;
    for (size_t i = 0; i < N; i++) n_target += ch->targets[i] >= 0;
    *count = n_target;

    /* ---- forward ---- */
    embedding_forward(b->x, ch->rows, ch->types, t->item_embed, t->type_embed, N, E);
    dropout_mask(b->x_mask, N * E, ch->train ? tc->dropout_input : 0.0f, ch->dropout_seed, 1);
    dropout_forward(b->x, b->x, b->x_mask, N * E);
    linear_forward(b->xg, b->x, t->cell_w, t->cell_b, N, E, G * H);
    if (gru)
        gru_forward(b->hs, b->xg, b->rh, carry->h, t->cell_u, L, B, H);
    else
        elman_forward(b->hs, b->xg, carry->h, t->cell_u, L, B, H);
    if (K) {
        linear_forward(b->q, b->hs, t->attn_query, NULL, N, H, K);
        gather_keys(b, carry, model, ch);
        attention_forward(b->c, b->alpha, b->q, b->keys, b->key_valid, L, B, T, K);
    } else {
        for (size_t p = 0; p < W + L; p++)
            for (size_t bi = 0; bi < B; bi++) {
                size_t i = p * B + bi;
                int32_t row = p < W ? carry->hist_rows[i] : ch->rows[(p - W) * B + bi];
                b->key_rows[i] = row;
                b->key_valid[i] = p < W ? carry->hist_valid[i] : row >= 0;
            }
    }
    for (size_t n = 0; n < N; n++) {
        memcpy(b->hc + n * HK, b->hs + n * H, H * sizeof(float));
        if (K) memcpy(b->hc + n * HK + H, b->c + n * K, K * sizeof(float));
    }
    dropout_mask(b->hc_mask, N * HK, ch->train ? tc->dropout_output : 0.0f, ch->dropout_seed, 2);
    dropout_forward(b->hc, b->hc, b->hc_mask, N * HK);
    linear_forward(b->u, b->hc, t->out_w, t->out_b, N, HK, E);

    float scale = loss_scale > 0.0f ? loss_scale : (n_target ? 1.0f / (float)n_target : 0.0f);
    sr_model_tensors g;
    if (grads) sr_model_tensors_layout(mc, grads, &g);
    float *du = grads ? b->d_u : NULL;
    double loss;
    size_t rows = tc->loss_block_rows;
    if (S > 0)
        loss = sampled_softmax_forward_backward(du, grads ? g.out_embed : NULL,
                                                grads ? g.out_bias : NULL, b->u, ch->targets,
                                                t->out_embed, t->out_bias, negatives, S, q, N, E,
                                                scale, b->loss_scratch, rows);
    else
        loss = softmax_ce_forward_backward(du, grads ? g.out_embed : NULL,
                                           grads ? g.out_bias : NULL, b->u, ch->targets,
                                           t->out_embed, t->out_bias, N, E, V, scale,
                                           b->loss_scratch, rows);
    if (!grads || n_target == 0) {
        if (advance) advance_carry(carry, b, mc, B, L);
        return loss;
    }

    /* ---- backward ---- */
    linear_backward(b->d_hc, g.out_w, g.out_b, b->d_u, b->hc, t->out_w, N, HK, E);
    dropout_backward(b->d_hc, b->d_hc, b->hc_mask, N * HK);
    for (size_t n = 0; n < N; n++) memcpy(b->d_hs + n * H, b->d_hc + n * HK, H * sizeof(float));
    if (K) {
        /* dC lives at d_hc[:, H:], stride HK: copy it out contiguous into tmp */
        float *dc = b->tmp;
        for (size_t n = 0; n < N; n++) memcpy(dc + n * K, b->d_hc + n * HK + H, K * sizeof(float));
        memset(b->d_keys, 0, (W + L) * B * K * sizeof(float));
        attention_backward(b->d_q, b->d_keys, dc, b->alpha, b->q, b->keys, b->key_valid, L, B, T,
                           K);
        linear_backward(b->tmp, g.attn_query, NULL, b->d_q, b->hs, t->attn_query, N, H, K);
        for (size_t i = 0; i < N * H; i++) b->d_hs[i] += b->tmp[i];
        if (mc->attention == SR_ATTENTION_HIDDEN) {
            const float *dk = b->d_keys + W * B * H;
            for (size_t i = 0; i < N * H; i++) b->d_hs[i] += dk[i];
        } else {
            for (size_t i = 0; i < (W + L) * B; i++) {
                if (!b->key_valid[i] || b->key_rows[i] < 0) continue;
                float *d = g.item_embed + (size_t)b->key_rows[i] * E;
                const float *s = b->d_keys + i * E;
                for (size_t e = 0; e < E; e++) d[e] += s[e];
            }
        }
    }
    if (gru)
        gru_backward(b->d_xg, b->d_h0, g.cell_u, b->d_hs, carry->h, b->hs, b->xg, b->rh, t->cell_u,
                     L, B, H);
    else
        elman_backward(b->d_xg, b->d_h0, g.cell_u, b->d_hs, carry->h, b->hs, t->cell_u, L, B, H);
    linear_backward(b->tmp, g.cell_w, g.cell_b, b->d_xg, b->x, t->cell_w, N, E, G * H);
    dropout_backward(b->tmp, b->tmp, b->x_mask, N * E);
    embedding_backward(g.item_embed, g.type_embed, b->tmp, ch->rows, ch->types, N, E);
    if (advance) advance_carry(carry, b, mc, B, L);
    return loss;
}
