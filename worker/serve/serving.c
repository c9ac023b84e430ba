/*
 * serving.c — the serving core's events and steps (sr_serving.h).
 *
 * sr_serving_add only queues; sr_serving_step then works on the queue in
 * segments. A segment first makes room in the store for as many new users as
 * it has events (so no eviction can take a slot the segment holds), looks up
 * or inserts every user, and numbers each event by how many events of the
 * same user came before it in the segment: its round. Round r steps the r-th
 * event of every user in it, batch users per sr_model_step_batch call, so a
 * user's events are applied in order while a busy user never holds back the
 * batch of the others.
 */
#include <stdlib.h>
#include <string.h>

#include "serve/serving_internal.h"
#include "sr_clock.h"
#include "sr_log.h"

/* Events per segment: bounds the scratch, and the users made room for. */
#define SEGMENT_MAX 16384u
/* How far ahead a loop over users starts loading the next ones' memory. */
#define PREFETCH_AHEAD 16
/* Event times beyond the wall clock plus this count as that (see sr_serving_add). */
#define MAX_FUTURE_SKEW_MS (3600 * 1000LL)

int sr_swap_policy_parse(const char *name) {
    if (strcmp(name, "recompute") == 0) return SR_SWAP_RECOMPUTE;
    if (strcmp(name, "keep") == 0) return SR_SWAP_KEEP;
    return -1;
}

void sr_serving_config_init(sr_serving_config *c) {
    memset(c, 0, sizeof *c);
    c->max_users = 1000000;
    c->idle_expiry_ms = 7LL * 24 * 3600 * 1000;
    c->batch = 256;
    c->scoring = true;
    c->score_after_events = 1;
    c->score_max_delay_ms = 0;
    c->score_min_interval_ms = 1000;
    c->topn = 20;
    c->exclude_recent = true;
    c->min_history = 1;
    c->swap_policy = SR_SWAP_RECOMPUTE;
    c->migrate_per_call = 1024;
    c->expire_per_call = 1024;
    c->score_buffer_floats = (size_t)16 << 20;
    c->step_table_max_bytes = (size_t)256 << 20;
    /* c->popularity all zero: the ranking's defaults (sr_popularity.h). */
    c->seed = 1;
}

static sr_status check_config(const sr_serving_config *c, sr_error *err) {
    if (c->batch == 0 || c->batch > 65536)
        return sr_fail(err, SR_ERR_CONFIG, "serving: batch %u is not in 1..65536", c->batch);
    if (c->topn == 0 || c->topn > 10000)
        return sr_fail(err, SR_ERR_CONFIG, "serving: topn %u is not in 1..10000", c->topn);
    if (c->score_max_delay_ms < 0 || c->score_min_interval_ms < 0)
        return sr_fail(err, SR_ERR_CONFIG, "serving: scoring delays must not be negative");
    if (c->scoring && c->score_after_events == 0 && c->score_max_delay_ms == 0)
        sr_log(SR_LOG_WARN, "serving",
               "score_after_events and score_max_delay_ms are both 0: users are scored only at "
               "their first event");
    if (c->score_buffer_floats == 0)
        return sr_fail(err, SR_ERR_CONFIG, "serving: score_buffer_floats must be positive");
    return SR_OK;
}

sr_status serving_new_store(sr_serving *sv, const sr_model *model, sr_user_store **out,
                            sr_error *err) {
    sr_user_store_config sc = {
        .hidden_floats = model ? sr_model_state_floats(&model->config) : 1,
        .window = model ? model->config.window : 1,
        .max_users = sv->config.max_users,
        .idle_expiry_ms = sv->config.idle_expiry_ms,
        .seed = sv->config.seed,
        .on_removed = changelog_on_removed,
        .on_removed_context = sv,
    };
    return sr_user_store_new(&sc, out, err);
}

sr_status sr_serving_new(const sr_serving_config *config, sr_serving **out, sr_error *err) {
    sr_status status = check_config(config, err);
    if (status != SR_OK) return status;
    sr_serving *sv = calloc(1, sizeof *sv);
    if (!sv) return sr_fail(err, SR_ERR_NOMEM, "serving: out of memory");
    sv->config = *config;
    size_t B = config->batch;
    sv->batch_rows = malloc(B * sizeof *sv->batch_rows);
    sv->batch_types = malloc(B);
    sv->views = malloc(B * sizeof *sv->views);
    sv->view_ptrs = malloc(B * sizeof *sv->view_ptrs);
    sv->batch_slots = malloc(B * sizeof *sv->batch_slots);
    sv->top = malloc(config->topn * sizeof *sv->top);
    sv->items = malloc(config->topn * sizeof *sv->items);
    if (!sv->batch_rows || !sv->batch_types || !sv->views || !sv->view_ptrs || !sv->batch_slots ||
        !sv->top || !sv->items) {
        sr_serving_free(sv);
        return sr_fail(err, SR_ERR_NOMEM, "serving: out of memory");
    }
    for (size_t b = 0; b < B; b++) sv->view_ptrs[b] = &sv->views[b];
    status = serving_new_store(sv, NULL, &sv->store, err);
    if (status == SR_OK) status = sr_popularity_new(&config->popularity, &sv->popularity, err);
    if (status != SR_OK) {
        sr_serving_free(sv);
        return sr_error_wrap(err, status, "serving");
    }
    *out = sv;
    return SR_OK;
}

void sr_serving_free(sr_serving *sv) {
    if (!sv) return;
    sr_user_store_free(sv->store);
    sr_popularity_free(sv->popularity);
    sr_model_free(sv->model);
    sr_model_workspace_free(sv->ws);
    migrate_free(sv);
    changelog_free(sv);
    free(sv->queue), free(sv->slots), free(sv->rounds), free(sv->order), free(sv->inserted);
    free(sv->item_rows);
    free(sv->seen_slot), free(sv->seen_count), free(sv->seen_ids), free(sv->seen_used);
    free(sv->batch_rows), free(sv->batch_types), free(sv->views), free(sv->view_ptrs);
    free(sv->batch_slots), free(sv->heap), free(sv->user_vectors), free(sv->scores);
    free(sv->top), free(sv->items), free(sv->exclude_rows), free(sv->exclude_ids);
    free(sv->window_scratch), free(sv->window_slots), free(sv->migrate_rows);
    free(sv->migrate_types), free(sv->migrate_kept), free(sv->migrate_slots);
    free(sv);
}

sr_status serving_model_scratch(sr_serving *sv, sr_error *err) {
    const sr_model_config *mc = &sv->model->config;
    size_t V = mc->item_count, E = mc->embed_dim, T = mc->window;
    size_t rows = sv->config.score_buffer_floats / (V ? V : 1);
    if (rows < 1) rows = 1;
    if (rows > sv->config.batch) rows = sv->config.batch;
    sr_model_workspace *ws;
    sr_status status = sr_model_workspace_new(mc, sv->config.batch, &ws, err);
    if (status != SR_OK) return status;
    float *vectors = malloc(sv->config.batch * E * sizeof *vectors);
    float *scores = malloc(rows * V * sizeof *scores);
    int32_t *ex_rows = malloc(T * sizeof *ex_rows);
    int64_t *ex_ids = malloc(T * sizeof *ex_ids);
    float *window = malloc(T * mc->hidden_dim * sizeof *window);
    size_t B = sv->config.batch;
    uint32_t *window_slots = malloc(T * sizeof *window_slots);
    int32_t *m_rows = malloc(B * T * sizeof *m_rows);
    uint8_t *m_types = malloc(B * T);
    uint32_t *m_kept = malloc(B * sizeof *m_kept), *m_slots = malloc(B * sizeof *m_slots);
    int64_t *cl_items = malloc(T * sizeof *cl_items);
    uint8_t *cl_types = malloc(T);
    if (!vectors || !scores || !ex_rows || !ex_ids || !window || !window_slots || !m_rows ||
        !m_types || !m_kept || !m_slots || !cl_items || !cl_types) {
        sr_model_workspace_free(ws);
        free(vectors), free(scores), free(ex_rows), free(ex_ids), free(window);
        free(window_slots), free(m_rows), free(m_types), free(m_kept), free(m_slots);
        free(cl_items), free(cl_types);
        return sr_fail(err, SR_ERR_NOMEM, "serving: out of memory for %zu x %zu scores", rows, V);
    }
    sr_model_workspace_free(sv->ws);
    free(sv->user_vectors), free(sv->scores), free(sv->exclude_rows), free(sv->exclude_ids);
    free(sv->window_scratch), free(sv->window_slots), free(sv->migrate_rows);
    free(sv->migrate_types), free(sv->migrate_kept), free(sv->migrate_slots);
    free(sv->changelog_items), free(sv->changelog_types);
    sv->ws = ws;
    sv->changelog_items = cl_items;
    sv->changelog_types = cl_types;
    sv->window_scratch = window;
    sv->window_slots = window_slots;
    sv->migrate_rows = m_rows;
    sv->migrate_types = m_types;
    sv->migrate_kept = m_kept;
    sv->migrate_slots = m_slots;
    sv->user_vectors = vectors;
    sv->scores = scores;
    sv->score_rows = rows;
    sv->exclude_rows = ex_rows;
    sv->exclude_ids = ex_ids;
    return SR_OK;
}

const sr_model *sr_serving_model(const sr_serving *sv) { return sv->model; }

sr_status sr_serving_set_model(sr_serving *sv, sr_model *model, sr_swap_report *report,
                               sr_error *err) {
    sr_status status = sr_serving_step(sv, err);
    double started = sr_monotonic_seconds();
    if (status == SR_OK)
        status = sr_model_prepare_step_table(model, sv->config.step_table_max_bytes,
                                             sv->config.step_precision, err);
    if (status != SR_OK) {
        sr_model_free(model);
        return status;
    }
    double prepared = sr_monotonic_seconds() - started;
    status = migrate_install(sv, model, report, err);
    if (status == SR_OK && report) report->pause_seconds += prepared;
    return status;
}

/* ---- Events ---- */

void sr_serving_add(sr_serving *sv, const sr_user_event *event, int32_t partition,
                    int64_t offset, int64_t now_ms) {
    if (sv->queued == sv->queue_cap) {
        size_t cap = sv->queue_cap ? 2 * sv->queue_cap : 4096;
        queued_event *grown = realloc(sv->queue, cap * sizeof *grown);
        if (!grown) abort(); /* a few MB; the caller steps every few thousand events */
        sv->queue = grown;
        sv->queue_cap = cap;
    }
    sv->queue[sv->queued++] = (queued_event){
        .user_id = event->user_id, .item_id = event->item_id,
        .event_time_ms = event->event_time_ms, .offset = offset, .received_at_ms = now_ms,
        .partition = partition, .event_type = (uint8_t)event->event_type};
    /* Stream time (popularity decay, idle expiry) follows event times, but one
     * event stamped far in the future must not move it there for good. */
    int64_t time = event->event_time_ms;
    if (now_ms > 0 && time > now_ms + MAX_FUTURE_SKEW_MS) time = now_ms + MAX_FUTURE_SKEW_MS;
    /* A failure (out of memory) only costs the ranking this one event. */
    sr_error ignored;
    (void)sr_popularity_add(sv->popularity, event->item_id, event->event_type, time, &ignored);
    if (time > sv->stream_time_ms) sv->stream_time_ms = time;
    sv->stats.events++;
}

static sr_status ensure_step_scratch(sr_serving *sv, size_t n, sr_error *err) {
    size_t seen = 16;
    while (seen < 2 * n) seen *= 2;
    if (seen > sv->seen_cap) {
        free(sv->seen_slot), free(sv->seen_count), free(sv->seen_ids), free(sv->seen_used);
        sv->seen_slot = malloc(seen * sizeof *sv->seen_slot);
        sv->seen_count = malloc(seen * sizeof *sv->seen_count);
        sv->seen_ids = malloc(seen * sizeof *sv->seen_ids);
        sv->seen_used = malloc(seen);
        sv->seen_cap = sv->seen_slot && sv->seen_count && sv->seen_ids && sv->seen_used ? seen : 0;
    }
    if (!sv->slots) {
        sv->slots = malloc(SEGMENT_MAX * sizeof *sv->slots);
        sv->rounds = malloc(SEGMENT_MAX * sizeof *sv->rounds);
        sv->order = malloc(SEGMENT_MAX * sizeof *sv->order);
        sv->inserted = malloc(SEGMENT_MAX * sizeof *sv->inserted);
        sv->item_rows = malloc(SEGMENT_MAX * sizeof *sv->item_rows);
    }
    if (!sv->seen_cap || !sv->slots || !sv->rounds || !sv->order || !sv->inserted || !sv->item_rows)
        return sr_fail(err, SR_ERR_NOMEM, "serving: out of memory for a step");
    return SR_OK;
}

/* The distinct users of queue[base, base + n) the store does not hold;
 * the slots of those it holds go to sv->slots (UINT32_MAX for the others). */
static size_t count_new_users(sr_serving *sv, size_t base, size_t n) {
    size_t mask = sv->seen_cap - 1, count = 0;
    memset(sv->seen_used, 0, sv->seen_cap);
    for (size_t i = 0; i < n; i++) {
        int64_t id = sv->queue[base + i].user_id;
        if (i + PREFETCH_AHEAD < n)
            sr_user_store_prefetch_find(sv->store, sv->queue[base + i + PREFETCH_AHEAD].user_id);
        sv->slots[i] = UINT32_MAX;
        if (sr_user_store_find(sv->store, id, &sv->slots[i])) continue;
        size_t h = (size_t)((uint64_t)id * UINT64_C(0x9e3779b97f4a7c15) >> 20) & mask;
        while (sv->seen_used[h] && sv->seen_ids[h] != id) h = (h + 1) & mask;
        if (!sv->seen_used[h]) {
            sv->seen_used[h] = 1;
            sv->seen_ids[h] = id;
            count++;
        }
    }
    return count;
}

/* How many events of slot's user came before in this segment (and count this one). */
static uint32_t next_round(sr_serving *sv, uint32_t slot) {
    size_t mask = sv->seen_cap - 1, i = (size_t)slot * 2654435761u & mask;
    while (sv->seen_slot[i] != UINT32_MAX && sv->seen_slot[i] != slot) i = (i + 1) & mask;
    if (sv->seen_slot[i] == UINT32_MAX) {
        sv->seen_slot[i] = slot;
        sv->seen_count[i] = 0;
    }
    return sv->seen_count[i]++;
}

/* Looks up the item rows of round events [from, to) and starts loading the
 * users' state (sr_user_store_prefetch_slot; at a million users: 3 % faster).
 * Prefetching the step table's rows too was measured: no gain (they stay in
 * the last-level cache). */
static void look_ahead(sr_serving *sv, const uint32_t *idx, size_t from, size_t to,
                       size_t seg_base) {
    const sr_model *model = sv->model;
    for (size_t j = from; j < to; j++) {
        sr_user_store_prefetch_slot(sv->store, sv->slots[idx[j]]);
        if (!model) continue;
        sv->item_rows[idx[j]] = sr_vocab_row(&model->vocab, sv->queue[seg_base + idx[j]].item_id);
    }
}

/* Steps one round's events (distinct users) in batches, loading the next
 * batch's users while one steps. */
static sr_status step_round(sr_serving *sv, const uint32_t *idx, size_t n, size_t seg_base,
                            sr_error *err) {
    const sr_model *model = sv->model;
    size_t batch = sv->config.batch;
    look_ahead(sv, idx, 0, batch < n ? batch : n, seg_base);
    for (size_t start = 0; start < n; start += batch) {
        size_t end = start + batch < n ? start + batch : n, k = 0;
        look_ahead(sv, idx, end, end + batch < n ? end + batch : n, seg_base);
        for (size_t j = start; j < end; j++) migrate_user(sv, sv->slots[idx[j]]);
        for (size_t j = start; j < end && model; j++) {
            const queued_event *e = &sv->queue[seg_base + idx[j]];
            int32_t row = sv->item_rows[idx[j]];
            if (row == SR_VOCAB_UNKNOWN) {
                sv->stats.unknown_items++;
                continue;
            }
            uint32_t slot = sv->slots[idx[j]];
            sr_user_store_view(sv->store, slot, &sv->views[k]);
            sv->batch_rows[k] = row;
            sv->batch_types[k] = e->event_type;
            sv->batch_slots[k++] = slot;
        }
        if (k) {
            sr_model_step_batch(model, k, sv->batch_rows, sv->batch_types, sv->view_ptrs, sv->ws);
            for (size_t b = 0; b < k; b++) sr_user_store_view_save(sv->store, sv->batch_slots[b], &sv->views[b]);
            sv->stats.steps += k;
            sv->stats.step_batches++;
        }
        for (size_t j = start; j < end; j++) {
            const queued_event *e = &sv->queue[seg_base + idx[j]];
            uint32_t slot = sv->slots[idx[j]];
            sr_user_store_applied(sv->store, slot, &(sr_user_store_event){
                .item_id = e->item_id, .event_type = e->event_type,
                .event_time_ms = e->event_time_ms, .partition = e->partition,
                .offset = e->offset, .received_at_ms = e->received_at_ms});
            if (!sv->config.scoring) continue;
            /* A user's first event ever: inserted in this segment, its round 0. */
            bool first = sv->rounds[idx[j]] == 0 && sv->inserted[idx[j]];
            sr_status status = schedule_after_event(sv, slot, first, e->received_at_ms, err);
            if (status != SR_OK) return status;
        }
    }
    return SR_OK;
}

static sr_status step_segment(sr_serving *sv, size_t base, size_t n, sr_error *err) {
    sr_status status = ensure_step_scratch(sv, n, err);
    if (status != SR_OK) return status;
    /* Room for the segment's new users, so that no insert below evicts a
     * user this segment holds a slot of; at the cap, users already held
     * cost nothing. */
    if (sr_user_store_make_room(sv->store, count_new_users(sv, base, n)) > 0) {
        /* Evictions may have taken users found above: look them up again. */
        for (size_t i = 0; i < n; i++)
            if (!sr_user_store_find(sv->store, sv->queue[base + i].user_id, &sv->slots[i]))
                sv->slots[i] = UINT32_MAX;
    }
    memset(sv->seen_slot, 0xff, sv->seen_cap * sizeof *sv->seen_slot);
    uint32_t max_round = 0;
    for (size_t i = 0; i < n; i++) {
        const queued_event *e = &sv->queue[base + i];
        bool inserted = false;
        if (sv->slots[i] == UINT32_MAX) { /* not held when counted: insert */
            status = sr_user_store_upsert(sv->store, e->user_id, e->event_time_ms, &sv->slots[i],
                                          &inserted, err);
            if (status != SR_OK) return status;
            if (inserted) sr_user_store_set_model_generation(sv->store, sv->slots[i], sv->generation);
        }
        sv->inserted[i] = inserted;
        sv->rounds[i] = next_round(sv, sv->slots[i]);
        if (sv->rounds[i] > max_round) max_round = sv->rounds[i];
    }
    /* Counting sort by round, stable: queue order within a round. */
    size_t *start = calloc((size_t)max_round + 2, sizeof *start);
    if (!start) return sr_fail(err, SR_ERR_NOMEM, "serving: out of memory for a step");
    for (size_t i = 0; i < n; i++) start[sv->rounds[i] + 1]++;
    for (uint32_t r = 0; r <= max_round; r++) start[r + 1] += start[r];
    size_t *fill = start; /* reused as the write cursor; the bounds are recomputed below */
    for (size_t i = 0; i < n; i++) sv->order[fill[sv->rounds[i]]++] = (uint32_t)i;
    size_t begin = 0;
    for (uint32_t r = 0; r <= max_round && status == SR_OK; r++) {
        size_t end = fill[r]; /* after the fill, fill[r] is where round r ends */
        status = step_round(sv, sv->order + begin, end - begin, base, err);
        begin = end;
    }
    free(start);
    return status;
}

sr_status sr_serving_step(sr_serving *sv, sr_error *err) {
    size_t done = 0;
    sr_status status = SR_OK;
    while (done < sv->queued && status == SR_OK) {
        size_t n = sv->queued - done;
        if (n > SEGMENT_MAX) n = SEGMENT_MAX;
        if (n > sv->config.max_users) n = sv->config.max_users;
        status = step_segment(sv, done, n, err);
        if (status == SR_OK) done += n;
    }
    /* Keep what was not stepped (only after a failure). */
    if (done && done < sv->queued)
        memmove(sv->queue, sv->queue + done, (sv->queued - done) * sizeof *sv->queue);
    sv->queued -= done;
    return status;
}

/* ---- Users ---- */

sr_status sr_serving_drop_partitions(sr_serving *sv, const int32_t *partitions, size_t n,
                                     size_t *dropped, sr_error *err) {
    sr_status status = sr_serving_step(sv, err);
    if (status != SR_OK) return status;
    size_t count = 0;
    uint32_t cursor = 0, slot;
    while (n && sr_user_store_next(sv->store, &cursor, &slot)) {
        sr_user_meta meta;
        sr_user_store_meta(sv->store, slot, &meta);
        for (size_t i = 0; i < n; i++) {
            if (meta.source_partition == partitions[i]) {
                sr_user_store_remove(sv->store, meta.user_id);
                count++;
                break;
            }
        }
    }
    if (dropped) *dropped = count;
    return SR_OK;
}

sr_status sr_serving_forget_user(sr_serving *sv, int64_t user_id, int32_t partition, bool *held,
                                 sr_error *err) {
    sr_status status = sr_serving_step(sv, err);
    if (status != SR_OK) return status;
    changelog_note_removed(sv, user_id, partition);
    bool was = sr_user_store_remove(sv->store, user_id);
    if (held) *held = was;
    return SR_OK;
}

bool sr_serving_user(sr_serving *sv, int64_t user_id, sr_user_meta *meta,
                     sr_user_state_view *view) {
    uint32_t slot;
    if (!sr_user_store_find(sv->store, user_id, &slot)) return false;
    migrate_user(sv, slot);
    if (meta) sr_user_store_meta(sv->store, slot, meta);
    if (view) sr_user_store_view(sv->store, slot, view);
    return true;
}

void sr_serving_maintain(sr_serving *sv) {
    sr_user_store_expire(sv->store, sv->stream_time_ms, sv->config.expire_per_call);
    migrate_sweep(sv, sv->config.migrate_per_call);
}

void sr_serving_stats_get(const sr_serving *sv, sr_serving_stats *stats) {
    *stats = sv->stats;
    sr_user_store_stats st;
    sr_user_store_stats_get(sv->store, &st);
    stats->evictions += st.evictions;
    stats->expirations += st.expirations;
    stats->users = st.users;
    stats->state_bytes = st.bytes_held;
    stats->popularity_bytes = sr_popularity_bytes(sv->popularity);
    stats->model_version = sv->model ? sv->model->version : 0;
    stats->queued = sv->queued;
    stats->scheduled = sv->heap_len;
}
