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

/* Oldest first, the window entries whose items the current model knows. */
typedef struct window_entry {
    int32_t row;
    uint8_t type;
    uint32_t ring_slot;
} window_entry;

void migrate_user(sr_serving *sv, uint32_t slot) {
    uint32_t generation = sr_user_store_model_generation(sv->store, slot);
    if (generation == sv->generation) return;
    sr_user_store_set_model_generation(sv->store, slot, sv->generation);
    sv->stats.migrations++;
    const row_map *map = map_of(sv, generation);
    const sr_model_config *c = &sv->model->config;
    size_t T = c->window, H = c->hidden_dim;
    sr_user_state_view view;
    sr_user_store_view(sv->store, slot, &view);
    window_entry entries[SR_USER_STORE_MAX_WINDOW > 1024 ? 1024 : SR_USER_STORE_MAX_WINDOW];
    size_t kept = 0, count = view.recent_count < T ? view.recent_count : T;
    if (T > sizeof entries / sizeof entries[0]) count = 0; /* a window this wide restarts */
    for (size_t i = 0; map && i < count; i++) {
        uint32_t ring = (uint32_t)((view.recent_head + T - count + i) % T);
        int32_t old = view.recent_rows[ring];
        int32_t row = old >= 0 && (uint32_t)old < map->rows ? map->to_current[old] : SR_VOCAB_UNKNOWN;
        if (row != SR_VOCAB_UNKNOWN)
            entries[kept++] = (window_entry){.row = row, .type = view.recent_types[ring],
                                             .ring_slot = ring};
    }
    bool keep = map && sv->config.swap_policy == SR_SWAP_KEEP;
    if (keep) {
        /* Rewrite the ring oldest first from position 0; hidden attention's
         * window states move with their entries (a copy first: they overlap). */
        float *states = c->attention == SR_ATTENTION_HIDDEN ? view.hidden + H : NULL;
        if (states) memcpy(sv->window_scratch, states, T * H * sizeof(float));
        for (size_t i = 0; i < kept; i++) {
            view.recent_rows[i] = entries[i].row;
            view.recent_types[i] = entries[i].type;
            if (states)
                memcpy(states + i * H, sv->window_scratch + entries[i].ring_slot * H,
                       H * sizeof(float));
        }
        view.recent_count = (uint32_t)kept;
        view.recent_head = (uint32_t)(kept % T);
        sr_user_store_view_save(sv->store, slot, &view);
        return;
    }
    /* Recompute: the new model steps the window from an empty state. */
    memset(view.hidden, 0, sv->state_floats * sizeof(float));
    view.recent_count = 0;
    view.recent_head = 0;
    sr_user_state_view *one = &view;
    for (size_t i = 0; i < kept; i++)
        sr_model_step_batch(sv->model, 1, &entries[i].row, &entries[i].type, &one, sv->ws);
    sr_user_store_view_save(sv->store, slot, &view);
}

void migrate_sweep(sr_serving *sv, size_t max_users) {
    if (sv->map_count == 0) return;
    uint32_t cursor = (uint32_t)sv->sweep_cursor, slot;
    for (size_t n = 0; n < max_users; n++) {
        if (!sr_user_store_next(sv->store, &cursor, &slot)) {
            migrate_free(sv); /* every user is at the current generation */
            sv->sweep_cursor = 0;
            return;
        }
        migrate_user(sv, slot);
    }
    sv->sweep_cursor = cursor;
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
