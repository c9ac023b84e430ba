/*
 * params.c — the model's configuration, parameter layout and lifetime.
 *
 * All parameters live in one float block, in this order (sizes in floats):
 *   item_embed V*E, type_embed TYPES*E, cell_w G*H*E, cell_u G*H*H, cell_b G*H,
 *   attn_query K*H, out_w E*(H+K), out_b E, out_embed V*E (absent when tied),
 *   out_bias V.
 * Gradient and optimiser blocks use the same layout (sr_model_tensors_layout).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/model_internal.h"


size_t sr_model_context_dim(const sr_model_config *config) {
    switch (config->attention) {
    case SR_ATTENTION_ITEMS: return config->embed_dim;
    case SR_ATTENTION_HIDDEN: return config->hidden_dim;
    case SR_ATTENTION_NONE: break;
    }
    return 0;
}

size_t sr_model_gate_count(const sr_model_config *config) {
    return config->cell == SR_CELL_GRU ? 3 : 1;
}

sr_status sr_model_config_check(const sr_model_config *config, sr_error *err) {
    if (config->item_count == 0 || config->item_count > SR_VOCAB_MAX_ITEMS)
        return sr_fail(err, SR_ERR_CONFIG, "item_count %u is not in 1..%u", config->item_count,
                       SR_VOCAB_MAX_ITEMS);
    if (config->embed_dim == 0 || config->embed_dim > SR_MODEL_MAX_DIM)
        return sr_fail(err, SR_ERR_CONFIG, "embed_dim %u is not in 1..%u", config->embed_dim,
                       SR_MODEL_MAX_DIM);
    if (config->hidden_dim == 0 || config->hidden_dim > SR_MODEL_MAX_DIM)
        return sr_fail(err, SR_ERR_CONFIG, "hidden_dim %u is not in 1..%u", config->hidden_dim,
                       SR_MODEL_MAX_DIM);
    if (config->window == 0 || config->window > SR_MODEL_MAX_WINDOW)
        return sr_fail(err, SR_ERR_CONFIG, "window %u is not in 1..%u", config->window,
                       SR_MODEL_MAX_WINDOW);
    if (config->cell != SR_CELL_GRU && config->cell != SR_CELL_ELMAN)
        return sr_fail(err, SR_ERR_CONFIG, "cell %d is not a known cell", (int)config->cell);
    if (config->attention != SR_ATTENTION_NONE && config->attention != SR_ATTENTION_ITEMS &&
        config->attention != SR_ATTENTION_HIDDEN)
        return sr_fail(err, SR_ERR_CONFIG, "attention %d is not a known kind",
                       (int)config->attention);
    return SR_OK;
}

size_t sr_model_param_count(const sr_model_config *c) {
    size_t V = c->item_count, E = c->embed_dim, H = c->hidden_dim;
    size_t G = sr_model_gate_count(c), K = sr_model_context_dim(c);
    size_t n = V * E + (size_t)SR_EVENT_TYPE_COUNT * E + G * H * E + G * H * H + G * H;
    n += K * H + E * (H + K) + E + V;
    if (!c->tied_embeddings) n += V * E;
    return n;
}

void sr_model_tensors_layout(const sr_model_config *c, float *block, sr_model_tensors *t) {
    size_t V = c->item_count, E = c->embed_dim, H = c->hidden_dim;
    size_t G = sr_model_gate_count(c), K = sr_model_context_dim(c);
    float *p = block;
    t->item_embed = p; p += V * E;
    t->type_embed = p; p += (size_t)SR_EVENT_TYPE_COUNT * E;
    t->cell_w = p; p += G * H * E;
    t->cell_u = p; p += G * H * H;
    t->cell_b = p; p += G * H;
    t->attn_query = K ? p : NULL; p += K * H;
    t->out_w = p; p += E * (H + K);
    t->out_b = p; p += E;
    if (c->tied_embeddings) {
        t->out_embed = t->item_embed;
    } else {
        t->out_embed = p; p += V * E;
    }
    t->out_bias = p;
}

sr_status sr_model_new(const sr_model_config *config, sr_model **out, sr_error *err) {
    sr_status s = sr_model_config_check(config, err);
    if (s != SR_OK) return s;
    sr_model *m = calloc(1, sizeof *m);
    if (!m) return sr_fail(err, SR_ERR_NOMEM, "model: out of memory");
    m->config = *config;
    m->param_count = sr_model_param_count(config);
    m->data = calloc(m->param_count, sizeof(float));
    if (!m->data) {
        size_t n = m->param_count;
        free(m);
        return sr_fail(err, SR_ERR_NOMEM, "model: out of memory for %zu parameters", n);
    }
    sr_model_tensors_layout(config, m->data, &m->t);
    *out = m;
    return SR_OK;
}

static void fill_uniform(float *p, size_t n, float scale, sr_rng *rng) {
    for (size_t i = 0; i < n; i++) p[i] = (2.0f * sr_rng_float(rng) - 1.0f) * scale;
}

/* Uniform initialisation with fan-in scales; biases zero. */
void sr_model_init_random(sr_model *model, uint64_t seed) {
    const sr_model_config *c = &model->config;
    size_t V = c->item_count, E = c->embed_dim, H = c->hidden_dim;
    size_t G = sr_model_gate_count(c), K = sr_model_context_dim(c);
    sr_model_tensors *t = &model->t;
    sr_rng rng = {sr_mix64(seed ^ 0x5eed5eedULL)};
    memset(model->data, 0, model->param_count * sizeof(float));
    float embed_scale = 1.0f / sqrtf((float)E);
    fill_uniform(t->item_embed, V * E, embed_scale, &rng);
    fill_uniform(t->type_embed, (size_t)SR_EVENT_TYPE_COUNT * E, 0.1f * embed_scale, &rng);
    fill_uniform(t->cell_w, G * H * E, sqrtf(3.0f / (float)E), &rng);
    fill_uniform(t->cell_u, G * H * H, sqrtf(1.0f / (float)H), &rng);
    if (K) fill_uniform(t->attn_query, K * H, sqrtf(3.0f / (float)H), &rng);
    fill_uniform(t->out_w, E * (H + K), sqrtf(3.0f / (float)(H + K)), &rng);
    if (!c->tied_embeddings) fill_uniform(t->out_embed, V * E, embed_scale, &rng);
}

void sr_model_free(sr_model *model) {
    if (!model) return;
    sr_vocab_free(&model->vocab);
    free(model->data);
    free(model->step_item_table), free(model->step_type_table), free(model->step_u_t);
    if (model->step_u_bf16) gemm_amx_free(model->step_u_bf16);
    free(model->step_u_bf16);
    free(model);
}

size_t sr_model_state_floats(const sr_model_config *config) {
    size_t H = config->hidden_dim;
    if (config->attention == SR_ATTENTION_HIDDEN) return H + (size_t)config->window * H;
    return H;
}
