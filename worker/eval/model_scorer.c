/*
 * model_scorer.c — the model as an evaluation scorer (sr_eval.h), through the
 * same serving calls the worker makes, so offline figures measure the code
 * that serves:
 *
 *   1. every user of the batch starts from a zeroed state (hidden = 0, empty
 *      recent ring), as a user new to the worker does;
 *   2. step t feeds event t of every user whose history is that long to
 *      sr_model_step_batch (a user appears once per call, as required);
 *   3. sr_model_user_vectors and sr_model_score give B x V_model scores;
 *   4. the scores are scattered onto the dataset's catalogue rows by item id.
 *
 * The model's vocabulary (from its training data) and the dataset's catalogue
 * are matched by id once, at creation: a catalogue item the model does not know
 * scores -INFINITY (never ahead of anything: a target the model cannot know is
 * a miss, honestly), and history events of such items are skipped, as the
 * worker skips unknown items, and counted.
 *
 * Not thread-safe: one scorer per evaluation; OpenBLAS may thread the GEMM.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sr_eval.h"
#include "sr_model.h"

struct sr_eval_model_scorer {
    const sr_model *model;
    uint32_t catalogue_count;
    int32_t *to_model;              /* catalogue row -> model row, or SR_VOCAB_UNKNOWN */
    uint32_t unknown_items;
    uint64_t unknown_events;
    size_t max_batch;
    size_t state_floats;
    sr_model_workspace *ws;
    float *hidden;                  /* max_batch x state_floats */
    int32_t *recent_rows;           /* max_batch x T */
    uint8_t *recent_types;          /* max_batch x T */
    sr_user_state_view *views;      /* max_batch */
    sr_user_state_view **all;       /* max_batch: &views[b] */
    sr_user_state_view **active;    /* max_batch: users stepped in this call */
    int32_t *step_rows;             /* max_batch */
    uint8_t *step_types;            /* max_batch */
    size_t *cursor;                 /* max_batch: next history event of user b */
    float *user_vectors;            /* max_batch x E */
    float *model_scores;            /* max_batch x V_model */
};

void sr_eval_model_scorer_free(sr_eval_model_scorer *s) {
    if (!s) return;
    sr_model_workspace_free(s->ws);
    free(s->to_model);
    free(s->hidden);
    free(s->recent_rows);
    free(s->recent_types);
    free(s->views);
    free(s->all);
    free(s->active);
    free(s->step_rows);
    free(s->step_types);
    free(s->cursor);
    free(s->user_vectors);
    free(s->model_scores);
    free(s);
}

static sr_status allocate_buffers(sr_eval_model_scorer *s, sr_error *err) {
    const sr_model_config *c = &s->model->config;
    size_t b = s->max_batch;
    s->to_model = malloc((s->catalogue_count ? s->catalogue_count : 1) * sizeof *s->to_model);
    s->hidden = malloc(b * s->state_floats * sizeof *s->hidden);
    s->recent_rows = malloc(b * c->window * sizeof *s->recent_rows);
    s->recent_types = malloc(b * c->window);
    s->views = malloc(b * sizeof *s->views);
    s->all = malloc(b * sizeof *s->all);
    s->active = malloc(b * sizeof *s->active);
    s->step_rows = malloc(b * sizeof *s->step_rows);
    s->step_types = malloc(b);
    s->cursor = malloc(b * sizeof *s->cursor);
    s->user_vectors = malloc(b * c->embed_dim * sizeof *s->user_vectors);
    s->model_scores = malloc(b * c->item_count * sizeof *s->model_scores);
    if (!s->to_model || !s->hidden || !s->recent_rows || !s->recent_types || !s->views ||
        !s->all || !s->active || !s->step_rows || !s->step_types || !s->cursor ||
        !s->user_vectors || !s->model_scores)
        return sr_fail(err, SR_ERR_NOMEM, "model scorer: no memory for a batch of %zu users", b);
    return SR_OK;
}

sr_status sr_eval_model_scorer_new(const struct sr_model *model, const sr_vocab *catalogue,
                                   size_t max_batch, sr_eval_model_scorer **out, sr_error *err) {
    *out = NULL;
    if (!model || !catalogue || max_batch == 0 || max_batch > 65536)
        return sr_fail(err, SR_ERR_INVALID_ARG, "model scorer: needs a model, a catalogue and "
                                                "a batch of 1..65536");
    sr_eval_model_scorer *s = calloc(1, sizeof *s);
    if (!s) return sr_fail(err, SR_ERR_NOMEM, "model scorer: no memory");
    s->model = model;
    s->catalogue_count = catalogue->count;
    s->max_batch = max_batch;
    s->state_floats = sr_model_state_floats(&model->config);
    sr_status st = allocate_buffers(s, err);
    if (st == SR_OK) st = sr_model_workspace_new(&model->config, max_batch, &s->ws, err);
    if (st != SR_OK) {
        sr_eval_model_scorer_free(s);
        return st;
    }
    for (uint32_t r = 0; r < catalogue->count; r++) {
        s->to_model[r] = sr_vocab_row(&model->vocab, catalogue->ids[r]);
        s->unknown_items += s->to_model[r] == SR_VOCAB_UNKNOWN;
    }
    uint32_t window = model->config.window;
    for (size_t b = 0; b < max_batch; b++) {
        s->views[b] = (sr_user_state_view){
            .hidden = s->hidden + b * s->state_floats,
            .recent_rows = s->recent_rows + b * window,
            .recent_types = s->recent_types + b * window,
        };
        s->all[b] = &s->views[b];
    }
    *out = s;
    return SR_OK;
}

/* Gathers, for one step, the next known event of every user that has one;
 * returns how many users step. */
static size_t gather_step(sr_eval_model_scorer *s, size_t batch, const sr_eval_query *q) {
    size_t n = 0;
    for (size_t b = 0; b < batch; b++) {
        while (s->cursor[b] < q[b].length &&
               s->to_model[q[b].rows[s->cursor[b]]] == SR_VOCAB_UNKNOWN) {
            s->unknown_events++;
            s->cursor[b]++;
        }
        if (s->cursor[b] == q[b].length) continue;
        s->step_rows[n] = s->to_model[q[b].rows[s->cursor[b]]];
        s->step_types[n] = q[b].types[s->cursor[b]];
        s->active[n++] = &s->views[b];
        s->cursor[b]++;
    }
    return n;
}

sr_status sr_eval_model_score(void *context, size_t batch, const sr_eval_query *queries,
                              float *scores, sr_error *err) {
    sr_eval_model_scorer *s = context;
    if (batch > s->max_batch)
        return sr_fail(err, SR_ERR_INVALID_ARG, "model scorer: batch %zu > %zu", batch, s->max_batch);
    const sr_model *model = s->model;
    memset(s->hidden, 0, batch * s->state_floats * sizeof *s->hidden);
    for (size_t b = 0; b < batch; b++) {
        s->views[b].recent_count = 0;
        s->views[b].recent_head = 0;
        s->cursor[b] = 0;
    }
    size_t n;
    while ((n = gather_step(s, batch, queries)) > 0)
        sr_model_step_batch(model, n, s->step_rows, s->step_types, s->active, s->ws);
    sr_model_user_vectors(model, batch, s->all, s->user_vectors, s->ws);
    sr_model_score(model, batch, s->user_vectors, s->model_scores);
    size_t vm = model->config.item_count;
    for (size_t b = 0; b < batch; b++) {
        const float *from = s->model_scores + b * vm;
        float *to = scores + b * (size_t)s->catalogue_count;
        for (uint32_t r = 0; r < s->catalogue_count; r++)
            to[r] = s->to_model[r] == SR_VOCAB_UNKNOWN ? -INFINITY : from[s->to_model[r]];
    }
    return SR_OK;
}

uint64_t sr_eval_model_scorer_unknown_events(const sr_eval_model_scorer *s) {
    return s->unknown_events;
}

uint32_t sr_eval_model_scorer_unknown_items(const sr_eval_model_scorer *s) {
    return s->unknown_items;
}
