/*
 * scoring.c — recommendations for the users the scheduler finds due: the
 * model's top-N for users with enough known history (attention, user vectors
 * and one catalogue GEMM per batch), the popularity ranking for the others.
 *
 * The score matrix is batch x catalogue floats; for large catalogues it is
 * computed score_rows users at a time so that it stays within
 * config.score_buffer_floats.
 */
#include <string.h>

#include "serve/serving_internal.h"

/* The user's window rows, oldest first (the items top-N leaves out). */
static size_t window_rows(const sr_user_state_view *view, uint32_t T, int32_t *rows) {
    size_t n = view->recent_count < T ? view->recent_count : T;
    for (size_t i = 0; i < n; i++) rows[i] = view->recent_rows[(view->recent_head + T - n + i) % T];
    return n;
}

size_t serving_window_ids(const sr_serving *sv, const sr_user_state_view *view, int64_t *ids,
                          uint8_t *types) {
    const sr_model *model = sv->model;
    if (!model) return 0;
    uint32_t T = model->config.window;
    size_t n = window_rows(view, T, sv->exclude_rows), k = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t row = sv->exclude_rows[i];
        if (row < 0 || (uint32_t)row >= model->vocab.count) continue;
        if (types) types[k] = view->recent_types[(view->recent_head + T - n + i) % T];
        ids[k++] = model->vocab.ids[row];
    }
    return k;
}

static sr_status emit_one(sr_serving *sv, uint32_t slot, int64_t now_ms, int64_t model_version,
                          size_t item_count, bool popularity, sr_serving_emit_fn emit,
                          void *context, sr_error *err) {
    sr_user_meta meta;
    sr_user_store_meta(sv->store, slot, &meta);
    sr_recommendation rec = {
        .user_id = meta.user_id, .model_version = model_version, .generated_at_ms = now_ms,
        .last_event_time_ms = meta.last_event_time_ms, .source_partition = meta.source_partition,
        .source_offset = meta.source_offset, .items = sv->items, .item_count = item_count};
    sr_serving_output out = {.rec = &rec, .pending_since_ms = meta.pending_since_ms,
                             .popularity = popularity};
    sr_status status = emit(context, &out, err);
    if (status != SR_OK) return status;
    sr_user_store_scored(sv->store, slot, now_ms);
    sv->stats.recommendations++;
    return SR_OK;
}

static sr_status serve_popularity(sr_serving *sv, uint32_t slot, int64_t now_ms,
                                  sr_serving_emit_fn emit, void *context, sr_error *err) {
    size_t excluded = 0;
    if (sv->config.exclude_recent) {
        sr_user_state_view view;
        sr_user_store_view(sv->store, slot, &view);
        excluded = serving_window_ids(sv, &view, sv->exclude_ids, NULL);
    }
    size_t n = sr_popularity_top(sv->popularity, sv->config.topn, sv->exclude_ids, excluded,
                                 sv->items);
    sv->stats.popularity_scorings++;
    return emit_one(sv, slot, now_ms, 0, n, true, emit, context, err);
}

/* Scores the k users in sv->batch_slots (their views in sv->views) and emits
 * their lists; on a failure the users not emitted are due again at now_ms. */
static sr_status score_batch(sr_serving *sv, size_t k, int64_t now_ms, sr_serving_emit_fn emit,
                             void *context, sr_error *err) {
    const sr_model *model = sv->model;
    size_t V = model->config.item_count, E = model->config.embed_dim;
    sr_model_user_vectors(model, k, sv->view_ptrs, sv->user_vectors, sv->ws);
    sr_status status = SR_OK;
    size_t b = 0;
    for (size_t first = 0; first < k && status == SR_OK; first += sv->score_rows) {
        size_t rows = k - first < sv->score_rows ? k - first : sv->score_rows;
        sr_model_score(model, rows, sv->user_vectors + first * E, sv->scores);
        for (b = first; b < first + rows && status == SR_OK; b++) {
            size_t excluded = sv->config.exclude_recent
                                  ? window_rows(&sv->views[b], model->config.window, sv->exclude_rows)
                                  : 0;
            size_t n = sr_topn(sv->scores + (b - first) * V, (uint32_t)V, sv->exclude_rows, excluded,
                               sv->config.topn, sv->top);
            for (size_t i = 0; i < n; i++)
                sv->items[i] = (sr_recommended_item){.item_id = model->vocab.ids[sv->top[i].row],
                                                     .score = sv->top[i].score};
            sv->stats.scorings++;
            status = emit_one(sv, sv->batch_slots[b], now_ms, model->version, n, false, emit,
                              context, err);
        }
    }
    if (status != SR_OK) {
        /* b is one past the user whose emit failed: that one and the rest stay due. */
        sr_error ignored;
        for (size_t i = b - 1; i < k; i++)
            if (schedule_again(sv, sv->batch_slots[i], now_ms, &ignored) != SR_OK) break;
    }
    return status;
}

sr_status sr_serving_score_due(sr_serving *sv, int64_t now_ms, size_t max_users,
                               sr_serving_emit_fn emit, void *context, size_t *emitted,
                               sr_error *err) {
    uint64_t before = sv->stats.recommendations;
    size_t taken = 0, k = 0;
    uint32_t min_history = sv->config.min_history ? sv->config.min_history : 1;
    sr_status status = SR_OK;
    while (status == SR_OK && (max_users == 0 || taken < max_users)) {
        bool found;
        uint32_t slot;
        status = schedule_pop_due(sv, now_ms, &found, &slot, err);
        if (status != SR_OK || !found) break;
        /* A user can owe two hints that are both due (its first event and its
         * K-th): it is scored once. */
        bool gathered = false;
        for (size_t i = 0; i < k && !gathered; i++) gathered = sv->batch_slots[i] == slot;
        if (gathered) continue;
        taken++;
        migrate_user(sv, slot);
        sr_user_state_view view;
        sr_user_store_view(sv->store, slot, &view);
        if (!sv->model || view.recent_count < min_history) {
            status = serve_popularity(sv, slot, now_ms, emit, context, err);
            if (status != SR_OK) {
                sr_error ignored;
                (void)schedule_again(sv, slot, now_ms, &ignored);
            }
            continue;
        }
        sv->views[k] = view;
        sv->batch_slots[k++] = slot;
        if (k == sv->config.batch) {
            status = score_batch(sv, k, now_ms, emit, context, err);
            k = 0;
        }
    }
    if (k && status == SR_OK) status = score_batch(sv, k, now_ms, emit, context, err);
    else if (k) {
        sr_error ignored;
        for (size_t i = 0; i < k; i++) (void)schedule_again(sv, sv->batch_slots[i], now_ms, &ignored);
    }
    if (emitted) *emitted = (size_t)(sv->stats.recommendations - before);
    return status;
}
