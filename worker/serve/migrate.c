/*
 * migrate.c — model swaps (sr_serving.h, "Model swaps").
 *
 * A swap never walks the users: it builds one row map from the old model's
 * vocabulary to the new one's (vocabularies are sorted by id, so a retrained
 * model usually moves every row) and composes it into the maps of swaps
 * whose users are not all migrated yet. Each user carries the generation of
 * the model its state belongs to; migrate_user brings one user forward on
 * demand (before it is stepped or scored), and migrate_sweep walks the store
 * a bounded number of users per call, so that after a full sweep no user is
 * behind and the maps can go. Swaps in quicker succession than sweeps end
 * compose maps; past SERVING_MAX_ROW_MAPS the oldest users are migrated at
 * once instead.
 */
#include <stdlib.h>
#include <string.h>

#include "serve/serving_internal.h"
#include "sr_clock.h"
#include "sr_log.h"

void migrate_free(sr_serving *sv) {
    for (size_t i = 0; i < sv->map_count; i++) free(sv->maps[i].to_current);
    sv->map_count = 0;
}

static const row_map *map_of(const sr_serving *sv, uint32_t generation) {
    for (size_t i = 0; i < sv->map_count; i++)
        if (sv->maps[i].generation == generation) return &sv->maps[i];
    return NULL;
}

/* Brings slot's window to the current model: its rows mapped, the items the
 * model lacks dropped. With SR_SWAP_KEEP that is all; otherwise the state is
 * cleared and the kept entries, oldest first, are left in rows/types for the
 * caller to step: their count is returned (0 when nothing is left to step). */
static size_t prepare_user(sr_serving *sv, uint32_t slot, int32_t *rows, uint8_t *types) {
    uint32_t generation = sr_user_store_model_generation(sv->store, slot);
    sr_user_store_set_model_generation(sv->store, slot, sv->generation);
    sv->stats.migrations++;
    const row_map *map = map_of(sv, generation);
    const sr_model_config *c = &sv->model->config;
    size_t T = c->window, H = c->hidden_dim;
    sr_user_state_view view;
    sr_user_store_view(sv->store, slot, &view);
    size_t kept = 0, count = view.recent_count < T ? view.recent_count : T;
    uint32_t *from = sv->window_slots; /* the ring position each kept entry came from */
    for (size_t i = 0; map && i < count; i++) {
        uint32_t ring = (uint32_t)((view.recent_head + T - count + i) % T);
        int32_t old = view.recent_rows[ring];
        int32_t row = old >= 0 && (uint32_t)old < map->rows ? map->to_current[old] : SR_VOCAB_UNKNOWN;
        if (row == SR_VOCAB_UNKNOWN) continue;
        rows[kept] = row;
        types[kept] = view.recent_types[ring];
        from[kept++] = ring;
    }
    if (map && sv->config.swap_policy == SR_SWAP_KEEP) {
        /* Rewrite the ring oldest first from position 0; hidden attention's
         * window states move with their entries (a copy first: they overlap). */
        float *states = c->attention == SR_ATTENTION_HIDDEN ? view.hidden + H : NULL;
        if (states) memcpy(sv->window_scratch, states, T * H * sizeof(float));
        for (size_t i = 0; i < kept; i++) {
            view.recent_rows[i] = rows[i];
            view.recent_types[i] = types[i];
            if (states) memcpy(states + i * H, sv->window_scratch + from[i] * H, H * sizeof(float));
        }
        view.recent_count = (uint32_t)kept;
        view.recent_head = (uint32_t)(kept % T);
        sr_user_store_view_save(sv->store, slot, &view);
        return 0;
    }
    /* Recompute: the new model will step the window from an empty state. */
    memset(view.hidden, 0, sv->state_floats * sizeof(float));
    view.recent_count = 0;
    view.recent_head = 0;
    sr_user_store_view_save(sv->store, slot, &view);
    return kept;
}

void migrate_user(sr_serving *sv, uint32_t slot) {
    /* No row maps: every user is current (new users start current). */
    if (sv->map_count == 0 || sr_user_store_model_generation(sv->store, slot) == sv->generation)
        return;
    int32_t *rows = sv->migrate_rows; /* row 0 of the sweep's scratch: not in use here */
    uint8_t *types = sv->migrate_types;
    size_t n = prepare_user(sv, slot, rows, types);
    sr_user_state_view view;
    sr_user_store_view(sv->store, slot, &view);
    migrate_step_window(sv, &view, rows, types, n);
    sr_user_store_view_save(sv->store, slot, &view);
}

void migrate_step_window(sr_serving *sv, sr_user_state_view *view, const int32_t *rows,
                         const uint8_t *types, size_t n) {
    for (size_t i = 0; i < n; i++) sr_model_step_batch(sv->model, 1, &rows[i], &types[i], &view, sv->ws);
}

/* Migrates n (<= config.batch) users at once: their windows are stepped
 * round by round, one batched step per round, as sr_serving_step does. */
static void migrate_batch(sr_serving *sv, const uint32_t *slots, size_t n) {
    size_t T = sv->model->config.window, longest = 0;
    for (size_t b = 0; b < n; b++) {
        sv->migrate_kept[b] = (uint32_t)prepare_user(sv, slots[b], sv->migrate_rows + b * T,
                                                     sv->migrate_types + b * T);
        if (sv->migrate_kept[b] > longest) longest = sv->migrate_kept[b];
    }
    for (size_t t = 0; t < longest; t++) {
        size_t k = 0;
        for (size_t b = 0; b < n; b++) {
            if (sv->migrate_kept[b] <= t) continue;
            sr_user_store_view(sv->store, slots[b], &sv->views[k]);
            sv->batch_rows[k] = sv->migrate_rows[b * T + t];
            sv->batch_types[k] = sv->migrate_types[b * T + t];
            sv->batch_slots[k++] = slots[b];
        }
        sr_model_step_batch(sv->model, k, sv->batch_rows, sv->batch_types, sv->view_ptrs, sv->ws);
        for (size_t i = 0; i < k; i++) sr_user_store_view_save(sv->store, sv->batch_slots[i], &sv->views[i]);
    }
}

/* Visits up to max_users users from where the last call stopped, migrating
 * those behind in batches; after a whole pass every user is current and the
 * row maps go. */
void migrate_sweep(sr_serving *sv, size_t max_users) {
    if (sv->map_count == 0) return;
    uint32_t cursor = (uint32_t)sv->sweep_cursor, slot;
    uint32_t *pending = sv->migrate_slots;
    size_t n = 0, visited = 0;
    bool done = false;
    while (visited < max_users) {
        if (!sr_user_store_next(sv->store, &cursor, &slot)) {
            done = true;
            break;
        }
        visited++;
        if (sr_user_store_model_generation(sv->store, slot) == sv->generation) continue;
        pending[n++] = slot;
        if (n == sv->config.batch) migrate_batch(sv, pending, n), n = 0;
    }
    if (n) migrate_batch(sv, pending, n);
    if (done) {
        migrate_free(sv); /* every user is at the current generation */
        sv->sweep_cursor = 0;
    } else {
        sv->sweep_cursor = cursor;
    }
}

static bool same_state_shape(const sr_serving *sv, const sr_model *model) {
    return sv->model && sr_model_state_floats(&model->config) == sv->state_floats &&
           model->config.window == sv->state_window &&
           model->config.attention == sv->model->config.attention &&
           model->config.hidden_dim == sv->model->config.hidden_dim;
}

/* The new model's row of every row of the serving one. */
static sr_status build_map(const sr_serving *sv, const sr_model *next, row_map *map,
                           sr_error *err) {
    const sr_vocab *old = &sv->model->vocab;
    map->generation = sv->generation;
    map->rows = old->count;
    map->to_current = malloc((old->count ? old->count : 1) * sizeof *map->to_current);
    if (!map->to_current) return sr_fail(err, SR_ERR_NOMEM, "model swap: out of memory");
    for (uint32_t r = 0; r < old->count; r++) map->to_current[r] = sr_vocab_row(&next->vocab, old->ids[r]);
    return SR_OK;
}

/* A store of the new model's shape holding every user's counters (no hidden
 * state, empty window). */
static sr_status rebuild_store(sr_serving *sv, const sr_model *model, sr_error *err) {
    sr_user_store *fresh;
    sr_status status = serving_new_store(sv, model, &fresh, err);
    if (status != SR_OK) return status;
    uint32_t cursor = 0, slot, to;
    while (sr_user_store_next(sv->store, &cursor, &slot)) {
        sr_user_meta meta;
        sr_user_store_meta(sv->store, slot, &meta);
        status = sr_user_store_upsert(fresh, meta.user_id, meta.last_event_time_ms, &to, NULL, err);
        if (status != SR_OK) {
            sr_user_store_free(fresh);
            return status;
        }
        meta.model_generation = sv->generation + 1;
        sr_user_store_set_meta(fresh, to, &meta);
    }
    sr_user_store_stats old;
    sr_user_store_stats_get(sv->store, &old);
    sv->stats.evictions += old.evictions;
    sv->stats.expirations += old.expirations;
    sr_user_store_free(sv->store);
    sv->store = fresh;
    /* The scheduler's hints name slots of the old store. */
    sv->heap_len = 0;
    cursor = 0;
    while (sr_user_store_next(sv->store, &cursor, &slot)) {
        status = schedule_again(sv, slot, 0, err);
        if (status != SR_OK) return status;
    }
    return SR_OK;
}

sr_status migrate_install(sr_serving *sv, sr_model *model, sr_swap_report *report,
                          sr_error *err) {
    double started = sr_monotonic_seconds();
    sr_model *previous = sv->model;
    bool inherit = same_state_shape(sv, model);
    sr_status status = SR_OK;
    row_map map = {0};
    if (inherit) {
        if (sv->map_count == SERVING_MAX_ROW_MAPS) migrate_sweep(sv, SIZE_MAX);
        status = build_map(sv, model, &map, err);
    } else {
        status = rebuild_store(sv, model, err);
    }
    /* The new model's scratch, made while the old one still serves. */
    sr_model_workspace *old_ws = sv->ws;
    if (status == SR_OK) {
        sv->model = model;
        sv->ws = NULL;
        status = serving_model_scratch(sv, err);
        if (status != SR_OK) sv->model = previous, sv->ws = old_ws;
    }
    if (status != SR_OK) {
        free(map.to_current);
        sr_model_free(model);
        return sr_error_wrap(err, status, "model swap");
    }
    sr_model_workspace_free(old_ws);
    if (inherit) {
        for (size_t i = 0; i < sv->map_count; i++) {
            int32_t *m = sv->maps[i].to_current;
            for (uint32_t r = 0; r < sv->maps[i].rows; r++)
                if (m[r] != SR_VOCAB_UNKNOWN) m[r] = map.to_current[m[r]];
        }
        sv->maps[sv->map_count++] = map;
        sv->sweep_cursor = 0;
    } else {
        migrate_free(sv);
        if (previous) {
            sv->stats.state_resets++;
            sr_log(SR_LOG_WARN, "serving",
                   "model %lld has another state shape than model %lld: user states restart "
                   "from empty (counters kept)", (long long)model->version,
                   (long long)previous->version);
        }
    }
    sv->generation++;
    sv->state_floats = sr_model_state_floats(&model->config);
    sv->state_window = model->config.window;
    if (previous) sv->stats.swaps++;
    if (report) {
        report->previous_version = previous ? previous->version : 0;
        report->version = model->version;
        report->states_reset = previous && !inherit;
        report->pause_seconds = sr_monotonic_seconds() - started;
    }
    sr_model_free(previous);
    return SR_OK;
}
