/*
 * changelog.c — the serving core's side of the state changelog (sr_serving.h,
 * "The state changelog"): changed users out as records, records back in as
 * users, users removed for good as tombstones.
 *
 * A record carries item ids, not model rows, so that it outlives the model it
 * was written with: a restore maps the ids to the current model's rows and
 * takes the hidden state as it is only when the same model version wrote it.
 * With hidden-state attention the window's states follow the ring's layout,
 * which the restore does not rebuild: such users are recomputed.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "serve/serving_internal.h"
#include "sr_log.h"

void changelog_note_removed(sr_serving *sv, int64_t user_id, int32_t partition) {
    if (!sv->config.changelog) return;
    if (sv->removed_len == sv->removed_cap) {
        size_t cap = sv->removed_cap ? 2 * sv->removed_cap : 256;
        removed_user *grown = realloc(sv->removed, cap * sizeof *grown);
        if (!grown) {
            if (!sv->removed_overflow)
                sr_log(SR_LOG_ERROR, "serving", "out of memory: the changelog tombstone of user "
                       "%" PRId64 " (and of later removals) is lost; a restore would bring "
                       "such users back", user_id);
            sv->removed_overflow = true;
            return;
        }
        sv->removed = grown;
        sv->removed_cap = cap;
    }
    sv->removed[sv->removed_len++] = (removed_user){user_id, partition};
}

void changelog_on_removed(void *context, sr_user_store *store, uint32_t slot, int64_t user_id,
                          sr_user_removal why) {
    (void)why;
    sr_user_meta meta;
    sr_user_store_meta(store, slot, &meta);
    changelog_note_removed(context, user_id, meta.source_partition);
}

void changelog_free(sr_serving *sv) {
    free(sv->changelog_items), free(sv->changelog_types), free(sv->removed);
    sv->changelog_items = NULL, sv->changelog_types = NULL, sv->removed = NULL;
}

bool sr_serving_take_removed(sr_serving *sv, size_t *cursor, int64_t *user_id,
                             int32_t *partition) {
    if (*cursor >= sv->removed_len) {
        sv->removed_len = 0;
        *cursor = 0;
        return false;
    }
    const removed_user *r = &sv->removed[(*cursor)++];
    *user_id = r->user_id;
    *partition = r->partition;
    return true;
}

bool sr_serving_take_changed(sr_serving *sv, uint32_t *cursor, sr_user_state_record *record) {
    uint32_t slot;
    if (!sr_user_store_take_dirty(sv->store, cursor, &slot)) return false;
    migrate_user(sv, slot);
    sr_user_meta meta;
    sr_user_store_meta(sv->store, slot, &meta);
    sr_user_state_view view;
    sr_user_store_view(sv->store, slot, &view);
    const sr_model *model = sv->model;
    size_t n = serving_window_ids(sv, &view, sv->changelog_items, sv->changelog_types);
    *record = (sr_user_state_record){
        .user_id = meta.user_id, .model_version = model ? model->version : 0,
        .hidden = view.hidden, .hidden_count = model ? sv->state_floats : 0,
        .recent_items = sv->changelog_items, .recent_types = sv->changelog_types,
        .recent_count = n, .applied_events = meta.applied_events,
        .sequence_hash = meta.sequence_hash, .last_event_time_ms = meta.last_event_time_ms,
        .last_scored_at_ms = meta.last_scored_at_ms, .source_partition = meta.source_partition,
        .source_offset = meta.source_offset};
    return true;
}

void sr_serving_discard_removed(sr_serving *sv) { sv->removed_len = 0; }

void sr_serving_restore_absent(sr_serving *sv, int64_t user_id) {
    sr_user_store_remove(sv->store, user_id);
}

sr_status sr_serving_restore_user(sr_serving *sv, const sr_user_state_record *record,
                                  sr_error *err) {
    uint32_t slot;
    sr_status status = sr_user_store_upsert(sv->store, record->user_id, record->last_event_time_ms,
                                            &slot, NULL, err);
    if (status != SR_OK) return sr_error_wrap(err, status, "restoring user %" PRId64, record->user_id);
    sr_user_meta meta = {
        .user_id = record->user_id, .applied_events = record->applied_events,
        .sequence_hash = record->sequence_hash, .last_event_time_ms = record->last_event_time_ms,
        .last_scored_at_ms = record->last_scored_at_ms, .source_partition = record->source_partition,
        .source_offset = record->source_offset, .model_generation = sv->generation};
    sr_user_store_set_meta(sv->store, slot, &meta);
    sr_user_state_view view;
    sr_user_store_view(sv->store, slot, &view);
    memset(view.hidden, 0, sv->state_floats * sizeof(float));
    view.recent_count = 0;
    view.recent_head = 0;
    const sr_model *model = sv->model;
    if (!model) {
        sr_user_store_view_save(sv->store, slot, &view);
        return SR_OK;
    }
    /* The window in the current model's rows, oldest first, its last T. */
    size_t T = model->config.window, kept = 0;
    int32_t *rows = sv->migrate_rows; /* the sweep's scratch, idle outside a sweep */
    uint8_t *types = sv->migrate_types;
    for (size_t i = 0; i < record->recent_count; i++) {
        int32_t row = sr_vocab_row(&model->vocab, record->recent_items[i]);
        if (row == SR_VOCAB_UNKNOWN) continue;
        if (kept == T) {
            memmove(rows, rows + 1, (T - 1) * sizeof *rows);
            memmove(types, types + 1, T - 1);
            kept--;
        }
        rows[kept] = row;
        types[kept++] = record->recent_types[i];
    }
    bool as_written = record->model_version == model->version &&
                      record->hidden_count == sv->state_floats && kept == record->recent_count &&
                      model->config.attention != SR_ATTENTION_HIDDEN;
    if (as_written) {
        memcpy(view.hidden, record->hidden, sv->state_floats * sizeof(float));
        memcpy(view.recent_rows, rows, kept * sizeof *rows);
        memcpy(view.recent_types, types, kept);
        view.recent_count = (uint32_t)kept;
        view.recent_head = (uint32_t)(kept % T);
    } else { /* recompute, as a swap does */
        migrate_step_window(sv, &view, rows, types, kept);
    }
    sr_user_store_view_save(sv->store, slot, &view);
    return SR_OK;
}
