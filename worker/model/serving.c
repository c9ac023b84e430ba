/*
 * serving.c — the worker's forward pass, for B users at once.
 *
 * A step gathers the B users' states into a B x H block and their inputs into
 * a B x E block, computes the x side of every gate with one GEMM (or, once
 * sr_model_prepare_step_table has run, reads it from a per-item table: at
 * E = H = 64 that GEMM is half a step's arithmetic), the h side
 * with the cell's GEMMs (gru.c), applies the vectorised gates and scatters the
 * new states back, pushing the event into each user's ring of recent steps.
 * User vectors gather h, compute the queries with one GEMM, attend per user over
 * its ring (oldest first, as training does), and apply the output layer with one
 * GEMM; scoring is one more GEMM against the output table.
 *
 * Nothing here allocates except sr_model_workspace_new and
 * sr_model_sequence_user_vectors; the workspace is not thread-safe (one per
 * thread), the model is read-only and may be shared.
 */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "model/model_internal.h"

struct sr_model_workspace {
    size_t max_batch;
    float *x;        /* B x E */
    float *gates;    /* B x G*H */
    float *h_prev;   /* B x H */
    float *h_new;    /* B x H */
    float *rh;       /* B x H */
    float *q;        /* B x K */
    float *hc;       /* B x (H + K) */
    float *alpha;    /* T */
    const float **keys; /* T */
    float **h_rows;  /* B: the users' hidden rows, for the in-place step */
    const float **rh_rows; /* B: rh + b * H */
    uint16_t *bf16;  /* 32 x H: gemm_rows_amx's rows */
};

sr_status sr_model_workspace_new(const sr_model_config *c, size_t max_batch,
                                 sr_model_workspace **out, sr_error *err) {
    sr_status s = sr_model_config_check(c, err);
    if (s != SR_OK) return s;
    if (max_batch == 0 || max_batch > (1u << 20))
        return sr_fail(err, SR_ERR_INVALID_ARG, "workspace batch %zu is not in 1..2^20",
                       max_batch);
    size_t E = c->embed_dim, H = c->hidden_dim, K = sr_model_context_dim(c);
    size_t G = sr_model_gate_count(c), B = max_batch;
    sr_model_workspace *w = calloc(1, sizeof *w);
    if (!w) return sr_fail(err, SR_ERR_NOMEM, "workspace: out of memory");
    w->max_batch = B;
    w->x = malloc(B * E * sizeof(float));
    w->gates = malloc(B * G * H * sizeof(float));
    w->h_prev = malloc(B * H * sizeof(float));
    w->h_new = malloc(B * H * sizeof(float));
    w->rh = malloc(B * H * sizeof(float));
    w->q = malloc((B * K + 1) * sizeof(float));
    w->hc = malloc(B * (H + K) * sizeof(float));
    w->alpha = malloc(c->window * sizeof(float));
    w->keys = malloc(c->window * sizeof *w->keys);
    w->h_rows = malloc(B * sizeof *w->h_rows);
    w->rh_rows = malloc(B * sizeof *w->rh_rows);
    w->bf16 = malloc(32 * H * sizeof *w->bf16);
    if (!w->x || !w->gates || !w->h_prev || !w->h_new || !w->rh || !w->q || !w->hc ||
        !w->alpha || !w->keys || !w->h_rows || !w->rh_rows || !w->bf16) {
        sr_model_workspace_free(w);
        return sr_fail(err, SR_ERR_NOMEM, "workspace: out of memory for a batch of %zu", B);
    }
    for (size_t b = 0; b < B; b++) w->rh_rows[b] = w->rh + b * c->hidden_dim;
    *out = w;
    return SR_OK;
}

void sr_model_workspace_free(sr_model_workspace *w) {
    if (!w) return;
    free(w->x), free(w->gates), free(w->h_prev), free(w->h_new), free(w->rh), free(w->q);
    free(w->hc), free(w->alpha), free(w->keys), free(w->h_rows), free(w->rh_rows);
    free(w->bf16);
    free(w);
}

int sr_step_precision_parse(const char *name) {
    for (int p = SR_STEP_FP32; p <= SR_STEP_BF16X3; p++)
        if (strcmp(name, sr_step_precision_name((sr_step_precision)p)) == 0) return p;
    return -1;
}

const char *sr_step_precision_name(sr_step_precision precision) {
    switch (precision) {
    case SR_STEP_BF16X3: return "bf16x3";
    default: return "fp32";
    }
}

/* U packed in bfloat16 for the AMX step, if asked for and this CPU has it. */
static sr_status prepare_bf16(sr_model *model, sr_step_precision precision, sr_error *err) {
    size_t H = model->config.hidden_dim, GH = sr_model_gate_count(&model->config) * H;
    if (precision == SR_STEP_FP32 || model->step_u_bf16 || !model->step_u_t ||
        !gemm_amx_usable(H, H))
        return SR_OK;
    gemm_amx_weights *packed = malloc(sizeof *packed);
    if (!packed) return sr_fail(err, SR_ERR_NOMEM, "step table: out of memory");
    sr_status status = gemm_amx_pack(packed, model->step_u_t, GH, H, GH, err);
    if (status != SR_OK) {
        free(packed);
        return status;
    }
    model->step_u_bf16 = packed;
    return SR_OK;
}

sr_step_precision sr_model_step_precision(const sr_model *model) {
    return model->step_u_bf16 ? SR_STEP_BF16X3 : SR_STEP_FP32;
}

sr_status sr_model_prepare_step_table(sr_model *model, size_t max_bytes,
                                      sr_step_precision precision, sr_error *err) {
    const sr_model_config *c = &model->config;
    size_t V = c->item_count, E = c->embed_dim, H = c->hidden_dim;
    size_t GH = sr_model_gate_count(c) * H;
    if (!model->step_u_t && gemm_rows_usable(H)) {
        float *u_t = malloc(H * GH * sizeof *u_t);
        if (!u_t) return sr_fail(err, SR_ERR_NOMEM, "step table: out of memory");
        for (size_t n = 0; n < GH; n++)
            for (size_t k = 0; k < H; k++) u_t[k * GH + n] = model->t.cell_u[n * H + k];
        model->step_u_t = u_t;
    }
    sr_status status = prepare_bf16(model, precision, err);
    if (status != SR_OK) return status;
    if (model->step_item_table || V == 0 || V * GH * sizeof(float) > max_bytes) return SR_OK;
    float *items = malloc(V * GH * sizeof *items);
    float *types = malloc(SR_EVENT_TYPE_COUNT * GH * sizeof *types);
    if (!items || !types) {
        free(items), free(types);
        return sr_fail(err, SR_ERR_NOMEM, "step table: out of memory for %zu items", V);
    }
    linear_forward(items, model->t.item_embed, model->t.cell_w, NULL, V, E, GH);
    linear_forward(types, model->t.type_embed, model->t.cell_w, model->t.cell_b,
                   SR_EVENT_TYPE_COUNT, E, GH);
    model->step_item_table = items;
    model->step_type_table = types;
    return SR_OK;
}

/* gates = W_x (e_item + e_type) + b_x from the step table; a row < 0 (no
 * item) has a zero input, as embedding_forward gives it. */
SR_VECTOR_CLONES
static void step_inputs_from_table(float *gates, const sr_model *model, const int32_t *rows,
                                   const uint8_t *types, size_t B, size_t GH) {
    const float *bias = model->t.cell_b;
    for (size_t b = 0; b < B; b++) {
        float *g = gates + b * GH;
        if (rows[b] < 0) {
            memcpy(g, bias, GH * sizeof *g);
            continue;
        }
        const float *item = model->step_item_table + (size_t)rows[b] * GH;
        const float *type = model->step_type_table + (size_t)types[b] * GH;
        for (size_t i = 0; i < GH; i++) g[i] = item[i] + type[i];
    }
}

/* Pushes (row, type, h) into a user's ring of recent steps. */
static void ring_push(const sr_model_config *c, sr_user_state_view *s, int32_t row, uint8_t type,
                      const float *h) {
    size_t H = c->hidden_dim, T = c->window;
    uint32_t slot = s->recent_head % T;
    s->recent_rows[slot] = row;
    s->recent_types[slot] = type;
    if (c->attention == SR_ATTENTION_HIDDEN) memcpy(s->hidden + H + slot * H, h, H * sizeof(float));
    s->recent_head = (uint32_t)((slot + 1) % T);
    if (s->recent_count < T) s->recent_count++;
}

void sr_model_step_batch(const sr_model *model, size_t batch, const int32_t *rows,
                         const uint8_t *types, sr_user_state_view *const *states,
                         sr_model_workspace *ws) {
    const sr_model_config *c = &model->config;
    const sr_model_tensors *t = &model->t;
    size_t E = c->embed_dim, H = c->hidden_dim, G = sr_model_gate_count(c), B = batch;
    if (model->step_item_table) {
        step_inputs_from_table(ws->gates, model, rows, types, B, G * H);
    } else {
        embedding_forward(ws->x, rows, types, t->item_embed, t->type_embed, B, E);
        linear_forward(ws->gates, ws->x, t->cell_w, t->cell_b, B, E, G * H);
    }
    if (model->step_u_t) { /* in place, where the store keeps the states */
        for (size_t b = 0; b < B; b++) ws->h_rows[b] = states[b]->hidden;
        step_weights w = {.u_t = model->step_u_t, .ldw = G * H, .bf16 = model->step_u_bf16,
                          .scratch = ws->bf16};
        if (c->cell == SR_CELL_GRU)
            gru_cell_step_rows(ws->h_rows, ws->gates, ws->rh, ws->rh_rows, &w, B, H);
        else
            elman_cell_step_rows(ws->h_rows, ws->gates, &w, B, H);
        for (size_t b = 0; b < B; b++)
            ring_push(c, states[b], rows[b], types[b], states[b]->hidden);
        return;
    }
    for (size_t b = 0; b < B; b++) memcpy(ws->h_prev + b * H, states[b]->hidden, H * sizeof(float));
    if (c->cell == SR_CELL_GRU)
        gru_cell_step(ws->h_new, ws->gates, ws->rh, ws->h_prev, t->cell_u, B, H);
    else
        elman_cell_step(ws->h_new, ws->gates, ws->h_prev, t->cell_u, B, H);
    for (size_t b = 0; b < B; b++) {
        memcpy(states[b]->hidden, ws->h_new + b * H, H * sizeof(float));
        ring_push(c, states[b], rows[b], types[b], ws->h_new + b * H);
    }
}

/* The keys of a user's window, oldest first; returns their number. */
static size_t window_keys(const sr_model *model, const sr_user_state_view *s, const float **keys) {
    const sr_model_config *c = &model->config;
    size_t T = c->window, n = s->recent_count < T ? s->recent_count : T, k = 0;
    for (size_t i = 0; i < n; i++) {
        size_t slot = (s->recent_head + T - n + i) % T;
        if (c->attention == SR_ATTENTION_HIDDEN) {
            keys[k++] = s->hidden + c->hidden_dim + slot * c->hidden_dim;
        } else if (s->recent_rows[slot] >= 0 && (uint32_t)s->recent_rows[slot] < c->item_count) {
            keys[k++] = model->t.item_embed + (size_t)s->recent_rows[slot] * c->embed_dim;
        }
    }
    return k;
}

void sr_model_user_vectors(const sr_model *model, size_t batch, sr_user_state_view *const *states,
                           float *user_vectors, sr_model_workspace *ws) {
    const sr_model_config *c = &model->config;
    size_t E = c->embed_dim, H = c->hidden_dim, K = sr_model_context_dim(c), HK = H + K;
    for (size_t b = 0; b < batch; b++) {
        memcpy(ws->h_prev + b * H, states[b]->hidden, H * sizeof(float));
        memcpy(ws->hc + b * HK, states[b]->hidden, H * sizeof(float));
    }
    if (K) {
        linear_forward(ws->q, ws->h_prev, model->t.attn_query, NULL, batch, H, K);
        for (size_t b = 0; b < batch; b++) {
            size_t n = window_keys(model, states[b], ws->keys);
            attention_one(ws->hc + b * HK + H, ws->alpha, ws->q + b * K, ws->keys, n, K);
        }
    }
    linear_forward(user_vectors, ws->hc, model->t.out_w, model->t.out_b, batch, HK, E);
}

void sr_model_score(const sr_model *model, size_t batch, const float *user_vectors,
                    float *scores) {
    size_t V = model->config.item_count, E = model->config.embed_dim;
    for (size_t b = 0; b < batch; b++) memcpy(scores + b * V, model->t.out_bias, V * sizeof(float));
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)batch, (int)V, (int)E, 1.0f,
                user_vectors, (int)E, model->t.out_embed, (int)E, 1.0f, scores, (int)V);
}

sr_status sr_model_sequence_user_vectors(const sr_model *model, size_t batch,
                                         const int32_t *const *rows,
                                         const uint8_t *const *types, const size_t *lengths,
                                         float *user_vectors, sr_model_workspace *ws,
                                         sr_error *err) {
    const sr_model_config *c = &model->config;
    size_t F = sr_model_state_floats(c), T = c->window, B = batch, E = c->embed_dim;
    float *hidden = calloc(B * F + 1, sizeof *hidden);
    int32_t *ring_rows = malloc((B * T + 1) * sizeof *ring_rows);
    uint8_t *ring_types = malloc(B * T + 1);
    sr_user_state_view *views = calloc(B + 1, sizeof *views);
    sr_user_state_view **all = malloc((B + 1) * sizeof *all);
    sr_user_state_view **active = malloc((B + 1) * sizeof *active);
    int32_t *step_rows = malloc((B + 1) * sizeof *step_rows);
    uint8_t *step_types = malloc(B + 1);
    sr_status s = SR_OK;
    if (!hidden || !ring_rows || !ring_types || !views || !all || !active || !step_rows ||
        !step_types) {
        s = sr_fail(err, SR_ERR_NOMEM, "user vectors: out of memory for %zu users", B);
        goto done;
    }
    size_t longest = 0;
    for (size_t b = 0; b < B; b++) {
        views[b] = (sr_user_state_view){.hidden = hidden + b * F,
                                        .recent_rows = ring_rows + b * T,
                                        .recent_types = ring_types + b * T};
        all[b] = &views[b];
        if (lengths[b] > longest) longest = lengths[b];
        for (size_t i = 0; i < lengths[b]; i++)
            if (rows[b][i] < 0 || (uint32_t)rows[b][i] >= c->item_count ||
                (types && types[b][i] >= SR_EVENT_TYPE_COUNT)) {
                s = sr_fail(err, SR_ERR_INVALID_ARG, "user vectors: user %zu event %zu: row %d",
                            b, i, (int)rows[b][i]);
                goto done;
            }
    }
    for (size_t i = 0; i < longest; i++) {
        size_t n = 0;
        for (size_t b = 0; b < B; b++) {
            if (lengths[b] <= i) continue;
            active[n] = all[b];
            step_rows[n] = rows[b][i];
            step_types[n] = types ? types[b][i] : (uint8_t)SR_EVENT_VIEW;
            if (++n == ws->max_batch) {
                sr_model_step_batch(model, n, step_rows, step_types, active, ws);
                n = 0;
            }
        }
        if (n) sr_model_step_batch(model, n, step_rows, step_types, active, ws);
    }
    for (size_t b0 = 0; b0 < B; b0 += ws->max_batch) {
        size_t n = B - b0 < ws->max_batch ? B - b0 : ws->max_batch;
        sr_model_user_vectors(model, n, all + b0, user_vectors + b0 * E, ws);
    }
done:
    free(hidden), free(ring_rows), free(ring_types), free(views), free(all), free(active);
    free(step_rows), free(step_types);
    return s;
}
