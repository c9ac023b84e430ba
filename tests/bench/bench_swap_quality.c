/*
 * bench_swap_quality.c — what a model swap does to recommendation quality,
 * for the worker's choice between keeping hidden states and recomputing them
 * (sr_serving.h, "Model swaps").
 *
 *   bench_swap_quality --input FILE --old A.srm --new B.srm [--after K]...
 *
 * On a "lines" dataset, every evaluated user's test item is ranked (full
 * ranking, history masked, S3-Rec's repeated-target masking: the protocol of
 * tests/bench/quality.sh) with user vectors made four ways, as if the worker
 * had swapped model A for model B K events before the end of the history:
 *
 *   old        A over the whole history (no swap: the quality A would give)
 *   new        B over the whole history (what B gives a worker that started
 *              with it: the ceiling of any swap policy)
 *   recompute  B over the last T items before the swap point (what the
 *              worker's window holds), then the K events after it: the
 *              worker's SR_SWAP_RECOMPUTE
 *   keep       A's hidden state and window at the swap point, then B steps
 *              the K events after it: SR_SWAP_KEEP
 *
 * Both models must be trained on FILE (the same vocabulary). Prints one JSON
 * line per K with HR@10 and NDCG@10 of each way.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sr_dataset.h"
#include "sr_eval.h"
#include "sr_model.h"
#include "sr_model_file.h"

typedef enum way { WAY_OLD, WAY_NEW, WAY_RECOMPUTE, WAY_KEEP, WAY_COUNT } way;
static const char *const way_names[WAY_COUNT] = {"old", "new", "recompute", "keep"};

typedef struct swap_scorer {
    const sr_model *old_model, *new_model;
    way how;
    size_t after;              /* events after the swap point */
    sr_model_workspace *old_ws, *new_ws;
    float *hidden;             /* one user's state, for stepping by hand */
    int32_t *ring_rows;
    uint8_t *ring_types;
    float *user_vectors;       /* batch x E */
} swap_scorer;

static void die(const char *what, const sr_error *err) {
    fprintf(stderr, "bench_swap_quality: %s: %s\n", what, err ? err->message : "");
    exit(1);
}

/* Steps model over n events into view (one user, one event at a time). */
static void step_events(const sr_model *model, sr_model_workspace *ws, sr_user_state_view *view,
                        const int32_t *rows, const uint8_t *types, size_t n) {
    sr_user_state_view *one = view;
    for (size_t i = 0; i < n; i++) sr_model_step_batch(model, 1, &rows[i], &types[i], &one, ws);
}

static sr_status score(void *context, size_t batch, const sr_eval_query *queries, float *scores,
                       sr_error *err) {
    swap_scorer *s = context;
    const sr_model *scoring = s->how == WAY_OLD ? s->old_model : s->new_model;
    sr_model_workspace *ws = s->how == WAY_OLD ? s->old_ws : s->new_ws;
    size_t E = scoring->config.embed_dim;
    for (size_t b = 0; b < batch; b++) {
        const sr_eval_query *q = &queries[b];
        size_t swap_at = q->length > s->after ? q->length - s->after : 0;
        size_t T = scoring->config.window, from = 0;
        sr_user_state_view view = {.hidden = s->hidden, .recent_rows = s->ring_rows,
                                   .recent_types = s->ring_types};
        memset(s->hidden, 0, sr_model_state_floats(&scoring->config) * sizeof(float));
        switch (s->how) {
        case WAY_OLD:
        case WAY_NEW:
            step_events(scoring, ws, &view, q->rows, q->types, q->length);
            break;
        case WAY_RECOMPUTE:
            from = swap_at > T ? swap_at - T : 0;
            step_events(scoring, ws, &view, q->rows + from, q->types + from, q->length - from);
            break;
        case WAY_KEEP:
            /* Same vocabulary, so the window's rows need no mapping here. */
            step_events(s->old_model, s->old_ws, &view, q->rows, q->types, swap_at);
            step_events(scoring, ws, &view, q->rows + swap_at, q->types + swap_at,
                        q->length - swap_at);
            break;
        default:
            break;
        }
        sr_user_state_view *one = &view;
        sr_model_user_vectors(scoring, 1, &one, s->user_vectors + b * E, ws);
    }
    sr_model_score(scoring, batch, s->user_vectors, scores);
    (void)err;
    return SR_OK;
}

static sr_model *load(const char *path, const sr_dataset *data) {
    sr_model *m;
    sr_error err;
    if (sr_model_load_file(path, &m, NULL, &err) != SR_OK) die(path, &err);
    if (m->vocab.count != data->vocab.count ||
        memcmp(m->vocab.ids, data->vocab.ids, data->vocab.count * sizeof(int64_t)) != 0) {
        fprintf(stderr, "bench_swap_quality: %s was not trained on this file's items\n", path);
        exit(1);
    }
    return m;
}

int main(int argc, char **argv) {
    const char *input = NULL, *old_path = NULL, *new_path = NULL;
    size_t afters[16], n_after = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--input") == 0) input = argv[i + 1];
        else if (strcmp(argv[i], "--old") == 0) old_path = argv[i + 1];
        else if (strcmp(argv[i], "--new") == 0) new_path = argv[i + 1];
        else if (strcmp(argv[i], "--after") == 0 && n_after < 16) afters[n_after++] = (size_t)atol(argv[i + 1]);
        else die("unknown argument", NULL);
    }
    if (!input || !old_path || !new_path) {
        fprintf(stderr, "usage: bench_swap_quality --input FILE --old A.srm --new B.srm [--after K]...\n");
        return 2;
    }
    if (n_after == 0) afters[n_after++] = 1, afters[n_after++] = 5;
    sr_error err;
    sr_dataset data;
    sr_replay_options replay;
    sr_replay_options_init(&replay);
    if (sr_dataset_load(SR_REPLAY_LINES, input, &replay, &data, &err) != SR_OK) die(input, &err);
    sr_model *a = load(old_path, &data), *b = load(new_path, &data);
    if (sr_model_state_floats(&a->config) != sr_model_state_floats(&b->config) ||
        a->config.window != b->config.window) {
        fprintf(stderr, "bench_swap_quality: the models' states differ in shape: keep is impossible\n");
        return 1;
    }
    swap_scorer s = {.old_model = a, .new_model = b};
    sr_eval_options options;
    sr_eval_options_init(&options);
    options.mask_repeated_target = 1;
    size_t T = a->config.window;
    if (sr_model_workspace_new(&a->config, 1, &s.old_ws, &err) != SR_OK ||
        sr_model_workspace_new(&b->config, 1, &s.new_ws, &err) != SR_OK)
        die("workspace", &err);
    s.hidden = calloc(sr_model_state_floats(&a->config), sizeof(float));
    s.ring_rows = calloc(T, sizeof(int32_t));
    s.ring_types = calloc(T, 1);
    s.user_vectors = calloc(options.batch * b->config.embed_dim, sizeof(float));
    for (size_t k = 0; k < n_after; k++) {
        s.after = afters[k];
        printf("{\"bench\":\"swap_quality\",\"file\":\"%s\",\"events_after_swap\":%zu,\"window\":%zu",
               input, s.after, T);
        for (int w = 0; w < WAY_COUNT; w++) {
            s.how = (way)w;
            sr_eval_metrics m;
            if (sr_eval_run(&data, &options, score, &s, &m, &err) != SR_OK) die("eval", &err);
            printf(",\"%s\":{\"hr@10\":%.4f,\"ndcg@10\":%.4f}", way_names[w], m.hr10, m.ndcg10);
        }
        printf(",\"users\":%zu}\n", data.user_count);
        fflush(stdout);
    }
    sr_model_workspace_free(s.old_ws), sr_model_workspace_free(s.new_ws);
    free(s.hidden), free(s.ring_rows), free(s.ring_types), free(s.user_vectors);
    sr_model_free(a), sr_model_free(b);
    sr_dataset_free(&data);
    return 0;
}
