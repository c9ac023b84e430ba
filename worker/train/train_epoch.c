/*
 * train_epoch.c — the trainer: its configuration, its buffers, and the epoch
 * loop (shuffle, batch by length, chunks of bptt_length steps, Adam after each
 * chunk). The model arithmetic is in chunk.c; this file only schedules it.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train/train_internal.h"
#include "sr_clock.h"

void sr_train_config_init(sr_train_config *c) {
    memset(c, 0, sizeof *c);
    c->loss = SR_LOSS_FULL_SOFTMAX;
    c->negatives = 1024;
    c->negative_alpha = 0.75f;
    c->learning_rate = 5e-3f;   /* Beauty probe: 1e-3 learns 3x slower per epoch */
    c->beta1 = 0.9f;
    c->beta2 = 0.999f;
    c->eps = 1e-8f;
    c->weight_decay = 0.0f;
    c->dropout_input = 0.65f;
    c->dropout_output = 0.65f;
    c->clip_norm = 5.0f;
    c->batch_size = 64;
    c->bptt_length = 50;
    c->max_length = 50;
    c->loss_block_rows = 1024;
    c->seed = 1;
}

sr_status sr_train_config_check(const sr_train_config *c, sr_error *err) {
    if (c->loss != SR_LOSS_FULL_SOFTMAX && c->loss != SR_LOSS_SAMPLED_SOFTMAX)
        return sr_fail(err, SR_ERR_CONFIG, "train loss %d is not a known loss", (int)c->loss);
    if (c->loss == SR_LOSS_SAMPLED_SOFTMAX && (c->negatives == 0 || c->negatives > 1u << 20))
        return sr_fail(err, SR_ERR_CONFIG, "train negatives %u is not in 1..2^20", c->negatives);
    if (!(c->learning_rate > 0.0f) || !isfinite(c->learning_rate))
        return sr_fail(err, SR_ERR_CONFIG, "train learning_rate must be > 0");
    if (!(c->beta1 >= 0.0f && c->beta1 < 1.0f) || !(c->beta2 >= 0.0f && c->beta2 < 1.0f))
        return sr_fail(err, SR_ERR_CONFIG, "train betas must be in [0, 1)");
    if (!(c->eps > 0.0f) || !(c->weight_decay >= 0.0f) || !(c->clip_norm >= 0.0f))
        return sr_fail(err, SR_ERR_CONFIG, "train eps must be > 0, weight_decay and clip_norm >= 0");
    if (!(c->dropout_input >= 0.0f && c->dropout_input < 1.0f) ||
        !(c->dropout_output >= 0.0f && c->dropout_output < 1.0f))
        return sr_fail(err, SR_ERR_CONFIG, "train dropout must be in [0, 1)");
    if (c->batch_size == 0 || c->batch_size > 65536)
        return sr_fail(err, SR_ERR_CONFIG, "train batch_size %u is not in 1..65536", c->batch_size);
    if (c->bptt_length == 0 || c->bptt_length > 4096)
        return sr_fail(err, SR_ERR_CONFIG, "train bptt_length %u is not in 1..4096", c->bptt_length);
    if (c->max_length < 2 || c->max_length > 1u << 20)
        return sr_fail(err, SR_ERR_CONFIG, "train max_length %u is not in 2..2^20", c->max_length);
    if (c->loss_block_rows == 0 || c->loss_block_rows > SR_LOSS_MAX_BLOCK)
        return sr_fail(err, SR_ERR_CONFIG, "train loss_block_rows %u is not in 1..%u",
                       c->loss_block_rows, SR_LOSS_MAX_BLOCK);
    return SR_OK;
}

sr_status sr_trainer_new(const sr_train_config *config, const sr_model *model,
                         const sr_dataset *data, sr_trainer **out, sr_error *err) {
    sr_status s = sr_train_config_check(config, err);
    if (s != SR_OK) return s;
    sr_trainer *t = calloc(1, sizeof *t);
    if (!t) return sr_fail(err, SR_ERR_NOMEM, "trainer: out of memory");
    t->config = *config;
    t->model_config = model->config;
    t->param_count = model->param_count;
    size_t B = config->batch_size, M = config->max_length;
    size_t L = config->bptt_length < M ? config->bptt_length : M;
    size_t V = model->config.item_count;
    t->grad = calloc(t->param_count, sizeof *t->grad);
    t->adam_m = calloc(t->param_count, sizeof *t->adam_m);
    t->adam_v = calloc(t->param_count, sizeof *t->adam_v);
    t->batch_rows = malloc(M * B * sizeof *t->batch_rows);
    t->batch_targets = malloc(M * B * sizeof *t->batch_targets);
    t->batch_types = malloc(M * B);
    t->bytes = 3 * t->param_count * sizeof(float) + M * B * 9;
    if (!t->grad || !t->adam_m || !t->adam_v || !t->batch_rows || !t->batch_targets ||
        !t->batch_types) {
        sr_trainer_free(t);
        return sr_fail(err, SR_ERR_NOMEM, "trainer: out of memory for %zu parameters",
                       model->param_count);
    }
    sr_model_tensors_layout(&model->config, t->grad, &t->g);
    s = train_buffers_init(&t->buf, &model->config, config, B, L, &t->bytes, err);
    if (s == SR_OK) s = train_carry_init(&t->carry, &model->config, B, &t->bytes, err);
    if (s == SR_OK && config->loss == SR_LOSS_SAMPLED_SOFTMAX) {
        uint32_t *counts = calloc(V, sizeof *counts);
        if (!counts) {
            s = sr_fail(err, SR_ERR_NOMEM, "trainer: out of memory");
        } else {
            if (data && data->item_counts && data->vocab.count == V)
                memcpy(counts, data->item_counts, V * sizeof *counts);
            s = sr_alias_build(&t->sampler, counts, V, config->negative_alpha, err);
            free(counts);
        }
        t->negatives = malloc(config->negatives * sizeof *t->negatives);
        if (s == SR_OK && !t->negatives) s = sr_fail(err, SR_ERR_NOMEM, "trainer: out of memory");
        t->bytes += V * 12 + config->negatives * 4;
    }
    if (s != SR_OK) {
        sr_trainer_free(t);
        return s;
    }
    *out = t;
    return SR_OK;
}

void sr_trainer_free(sr_trainer *t) {
    if (!t) return;
    free(t->grad), free(t->adam_m), free(t->adam_v);
    free(t->batch_rows), free(t->batch_targets), free(t->batch_types);
    free(t->order), free(t->order_tmp), free(t->negatives);
    train_buffers_free(&t->buf);
    train_carry_free(&t->carry);
    sr_alias_free(&t->sampler);
    free(t);
}

size_t sr_trainer_memory(const sr_trainer *t) { return t->bytes; }

static sr_status check_inputs(const sr_trainer *t, const sr_model *model, const sr_dataset *data,
                              sr_error *err) {
    const sr_model_config *a = &t->model_config, *b = &model->config;
    if (a->item_count != b->item_count || a->embed_dim != b->embed_dim ||
        a->hidden_dim != b->hidden_dim || a->window != b->window || a->cell != b->cell ||
        a->attention != b->attention || a->tied_embeddings != b->tied_embeddings)
        return sr_fail(err, SR_ERR_INVALID_ARG, "train: the model is not of the trainer's shape");
    for (size_t u = 0; u < data->user_count; u++) {
        size_t lo, hi;
        sequence_span(data, u, t->config.max_length, &lo, &hi);
        for (size_t e = lo; e < hi; e++) {
            if (data->rows[e] < 0 || (uint32_t)data->rows[e] >= b->item_count)
                return sr_fail(err, SR_ERR_INVALID_ARG,
                               "train: user %zu has item row %d outside the model's %u rows", u,
                               (int)data->rows[e], b->item_count);
            if (data->types[e] >= SR_EVENT_TYPE_COUNT)
                return sr_fail(err, SR_ERR_INVALID_ARG, "train: user %zu has event type %u", u,
                               (unsigned)data->types[e]);
        }
    }
    return SR_OK;
}

/* Runs one chunk, clips and updates. The gradient is all zeros between
 * chunks: allocated so, and zeroed again by adam_update as it reads it. */
static void train_one_chunk(sr_trainer *t, sr_model *model, const train_chunk *chunk,
                            sr_rng *rng, sr_epoch_stats *st) {
    const sr_train_config *c = &t->config;
    size_t S = 0;
    if (c->loss == SR_LOSS_SAMPLED_SOFTMAX) {
        S = c->negatives;
        for (size_t j = 0; j < S; j++) t->negatives[j] = (int32_t)sr_alias_sample(&t->sampler, rng);
    }
    size_t count;
    double loss = train_chunk_run(&t->buf, &t->carry, model, c, chunk, t->grad, 0.0f,
                                  t->negatives, S, t->sampler.p, &count, 1);
    if (count == 0) {
        memset(t->grad, 0, t->param_count * sizeof *t->grad);
        return;
    }
    double norm = grad_norm(t->grad, t->param_count);
    float scale = c->clip_norm > 0.0f && norm > c->clip_norm ? (float)(c->clip_norm / norm) : 1.0f;
    t->step++;
    adam_update(model->data, t->grad, t->adam_m, t->adam_v, t->param_count, scale,
                c->learning_rate, c->beta1, c->beta2, c->eps, c->weight_decay, t->step);
    st->loss += loss;
    st->events += count;
    st->updates++;
    st->grad_norm += norm;
}

sr_status sr_train_epoch(sr_trainer *t, sr_model *model, const sr_dataset *data,
                         sr_epoch_stats *out, sr_train_progress *progress,
                         void *progress_context, sr_error *err) {
    sr_status s = check_inputs(t, model, data, err);
    if (s != SR_OK) return s;
    const sr_train_config *c = &t->config;
    double start = sr_monotonic_seconds();
    if (t->order_capacity < data->user_count) {
        size_t n = data->user_count;
        size_t *o = realloc(t->order, n * sizeof *o);
        if (o) t->order = o;
        size_t *p = o ? realloc(t->order_tmp, n * sizeof *p) : NULL;
        if (p) t->order_tmp = p;
        if (!o || !p) return sr_fail(err, SR_ERR_NOMEM, "train: out of memory for %zu users", n);
        t->order_capacity = n;
    }
    t->epoch++;
    sr_rng rng = {sr_mix64(c->seed) ^ sr_mix64(0xe90c + t->epoch)};
    size_t users = sequence_order(t->order, t->order_tmp, data, c->max_length, &rng);
    size_t B = c->batch_size, batches = (users + B - 1) / B;
    /* batch order: a shuffled permutation, kept in order_tmp */
    for (size_t i = 0; i < batches; i++) t->order_tmp[i] = i;
    for (size_t i = batches; i > 1; i--) {
        size_t j = (size_t)sr_rng_below(&rng, i), x = t->order_tmp[i - 1];
        t->order_tmp[i - 1] = t->order_tmp[j];
        t->order_tmp[j] = x;
    }
    sr_epoch_stats st = {.epoch = t->epoch};
    size_t L = t->buf.max_L;
    for (size_t k = 0; k < batches; k++) {
        size_t first = t->order_tmp[k] * B;
        size_t nb = users - first < B ? users - first : B;
        size_t steps = sequence_batch_fill(t->batch_rows, t->batch_types, t->batch_targets, data,
                                           t->order + first, nb, c->max_length);
        train_carry_reset(&t->carry, &model->config, nb);
        for (size_t t0 = 0, part = 0; t0 < steps; t0 += L, part++) {
            train_chunk chunk = {
                .B = nb,
                .L = steps - t0 < L ? steps - t0 : L,
                .rows = t->batch_rows + t0 * nb,
                .types = t->batch_types + t0 * nb,
                .targets = t->batch_targets + t0 * nb,
                .dropout_seed = sr_mix64(c->seed ^ sr_mix64(t->epoch * 0x100000001ULL + k) ^ part),
                .train = 1,
            };
            train_one_chunk(t, model, &chunk, &rng, &st);
        }
        st.batches++;
        if (progress)
            progress(progress_context, st.batches, batches,
                     st.events ? st.loss / (double)st.events : 0.0);
    }
    if (st.events) st.loss /= (double)st.events;
    if (st.updates) st.grad_norm /= (double)st.updates;
    st.seconds = sr_monotonic_seconds() - start;
    if (out) *out = st;
    return SR_OK;
}
