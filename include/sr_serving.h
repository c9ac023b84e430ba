/*
 * sr_serving.h — the worker's processing core, with no Kafka in it: events
 * in, per-user states stepped, recommendations out. The worker command wraps
 * it with a consumer, producers and offsets; tests and benchmarks drive it
 * directly.
 *
 *     sr_serving *sv;
 *     if (sr_serving_new(&config, &sv, &err) != SR_OK) ...
 *     sr_serving_set_model(sv, model, NULL, &err);         // takes ownership; again to hot-swap
 *     for (each consumed event)
 *         sr_serving_add(sv, &event, partition, offset, now_ms);
 *     sr_serving_step(sv, &err);                           // the GRU steps, in micro-batches
 *     sr_serving_score_due(sv, now_ms, emit, ctx, &err);   // due users -> emit(recommendation)
 *     sr_serving_maintain(sv);                             // now and then: expiry, migration
 *
 * Order. Events are stepped in the order they were added, per user: a user's
 * k-th queued event is stepped in the k-th round of a step, and each round
 * steps up to config.batch users at once (one GEMM per gate block).
 *
 * Unknown items. An event whose item the model's vocabulary lacks is counted
 * (stats.unknown_items), recorded as applied (counters, sequence hash) and
 * fed to the popularity ranking, but it does not step the hidden state: the
 * model has no embedding for it. Before the first model arrives every event is
 * handled that way.
 *
 * Scoring policy. A user becomes due when it has config.score_after_events
 * unscored events (K, 0 = off), when its oldest unscored event has waited
 * config.score_max_delay_ms (S, 0 = off), or at its very first event (cold
 * start: recommendations from the first event on); never sooner than
 * config.score_min_interval_ms after its previous scoring. A due user with at
 * least config.min_history known events in its window is scored by the model
 * (attention, catalogue GEMM, top-N without its recent items when
 * config.exclude_recent); any other user, and every user while no model is
 * loaded, gets the time-decayed popularity ranking (model_version 0).
 *
 * Model swaps. sr_serving_set_model makes the new model serve at once; the
 * work it does is O(items of the old model) (a row map from the old
 * vocabulary to the new one), never O(users). Each user's state is brought to
 * the new model lazily, the next time the user is stepped or scored, and by a
 * bounded sweep in sr_serving_maintain: its recent-item rows are mapped to the
 * new vocabulary (items the new model lacks drop out of the window) and, with
 * SR_SWAP_RECOMPUTE (the default), its hidden state is recomputed by the new
 * model from that window; SR_SWAP_KEEP keeps the hidden state as it is. A model
 * whose state shape differs (hidden size, window, attention kind) cannot
 * inherit states: the store starts empty (logged).
 *
 * Times. now_ms is the caller's wall clock (scoring delays, generated_at);
 * idle expiry and eviction order use event time (the largest seen is the
 * stream's "now"), so that replayed history expires as it would have live.
 *
 * Threads: none; one thread uses a serving core at a time.
 */
#ifndef SR_SERVING_H
#define SR_SERVING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sr_codec.h"
#include "sr_error.h"
#include "sr_event.h"
#include "sr_model.h"
#include "sr_popularity.h"
#include "sr_user_store.h"

typedef enum sr_swap_policy {
    SR_SWAP_RECOMPUTE = 0, /* the new model recomputes each hidden state from the window */
    SR_SWAP_KEEP = 1,      /* hidden states carry over as they are */
} sr_swap_policy;

/* Parses "recompute" or "keep"; -1 for anything else. */
int sr_swap_policy_parse(const char *name);

typedef struct sr_serving_config {
    uint32_t max_users;            /* the state store's cap (evicts beyond it) */
    int64_t idle_expiry_ms;        /* event time; 0 = never */
    uint32_t batch;                /* users per step and per scoring batch */
    bool scoring;                  /* false: step only, never score (benchmarks, warm-up) */
    uint32_t score_after_events;   /* K; 0 = off */
    int64_t score_max_delay_ms;    /* S; 0 = off */
    int64_t score_min_interval_ms; /* per user, between two scorings */
    uint32_t topn;                 /* N items per recommendation */
    bool exclude_recent;           /* leave out the user's window of recent items */
    uint32_t min_history;          /* known events in the window for a model scoring */
    sr_swap_policy swap_policy;
    uint32_t migrate_per_call;     /* users sr_serving_maintain migrates per call */
    uint32_t expire_per_call;      /* rows sr_serving_maintain checks for expiry per call */
    size_t score_buffer_floats;    /* bound on the batch x catalogue score matrix */
    size_t step_table_max_bytes;   /* the model's per-item input table, if it fits (0 = none) */
    sr_step_precision step_precision; /* of the recurrent products (sr_model.h) */
    sr_popularity_config popularity;
    bool changelog;                /* keep removed users for tombstones (take_removed) */
    uint64_t seed;
} sr_serving_config;

/* The defaults (documented in the worker's --help). */
void sr_serving_config_init(sr_serving_config *config);

/* One recommendation, as emit receives it. rec->items is valid during the call. */
typedef struct sr_serving_output {
    const sr_recommendation *rec;
    int64_t pending_since_ms;      /* when its oldest covered event was received */
    bool popularity;               /* the fallback ranking, not the model */
} sr_serving_output;

/* Called for each recommendation; a failure stops sr_serving_score_due with it
 * (the user stays due). */
typedef sr_status (*sr_serving_emit_fn)(void *context, const sr_serving_output *output,
                                        sr_error *err);

typedef struct sr_serving_stats {
    uint64_t events;               /* added */
    uint64_t steps;                /* hidden-state steps (known items) */
    uint64_t unknown_items;        /* events whose item the model lacks (or no model) */
    uint64_t step_batches;
    uint64_t scorings;             /* users scored by the model */
    uint64_t popularity_scorings;  /* users served the popularity ranking */
    uint64_t recommendations;      /* emitted */
    uint64_t evictions;
    uint64_t expirations;
    uint64_t swaps;                /* models set after the first */
    uint64_t migrations;           /* user states brought to a new model */
    uint64_t state_resets;         /* swaps that could not inherit states (shape changed) */
    int64_t model_version;         /* serving now; 0 = none */
    size_t users;
    size_t state_bytes;            /* the store's memory */
    size_t popularity_bytes;
    size_t queued;                 /* events added but not stepped */
    size_t scheduled;              /* scheduler entries pending */
} sr_serving_stats;

/* What a swap did. */
typedef struct sr_swap_report {
    int64_t previous_version;
    int64_t version;
    double pause_seconds;          /* the time sr_serving_set_model took */
    bool states_reset;
} sr_swap_report;

typedef struct sr_serving sr_serving;

/* SR_ERR_CONFIG names a field out of range; SR_ERR_NOMEM. */
sr_status sr_serving_new(const sr_serving_config *config, sr_serving **out, sr_error *err);
void sr_serving_free(sr_serving *sv);

/* Makes model serve (the serving core owns it from then on, also on failure)
 * and frees the previous one. Steps queued events with the previous model
 * first. Builds the model's step table (sr_model_prepare_step_table, within
 * config.step_table_max_bytes) unless the caller has: a live worker does that
 * on its loader thread, as it costs one GEMM over the catalogue, which the
 * report's pause includes when it happens here. report may be NULL. */
sr_status sr_serving_set_model(sr_serving *sv, sr_model *model, sr_swap_report *report,
                               sr_error *err);
const sr_model *sr_serving_model(const sr_serving *sv);

/* Queues one decoded event (session_id is not kept). Never fails: the queue
 * grows (sr_serving_step empties it; call it every few thousand events). */
void sr_serving_add(sr_serving *sv, const sr_user_event *event, int32_t partition,
                    int64_t offset, int64_t now_ms);

/* Steps every queued event; SR_ERR_NOMEM only (the queue is kept then). */
sr_status sr_serving_step(sr_serving *sv, sr_error *err);

/* Scores the users due at now_ms (at most max_users of them; 0 = no limit)
 * and emits their recommendations. Returns how many were emitted in *emitted
 * (may be NULL). */
sr_status sr_serving_score_due(sr_serving *sv, int64_t now_ms, size_t max_users,
                               sr_serving_emit_fn emit, void *context, size_t *emitted,
                               sr_error *err);

/* The earliest time a scheduled user may become due (INT64_MAX when none):
 * how long the caller may block waiting for input. */
int64_t sr_serving_next_due(const sr_serving *sv);

/* Bounded background work: idle expiry and migration to the current model. */
void sr_serving_maintain(sr_serving *sv);

/* Forgets every user whose latest event came from one of the n partitions
 * (partitions another worker owns now), after stepping the queue; one pass
 * over the users. *dropped (may be NULL) counts them. */
sr_status sr_serving_drop_partitions(sr_serving *sv, const int32_t *partitions, size_t n,
                                     size_t *dropped, sr_error *err);

/* Forgets one user (a deletion request) after stepping the queued events
 * (the ones before the request); whether it was held. With config.changelog
 * a tombstone is owed on `partition` either way (the changelog may hold the
 * user even when this worker does not). SR_ERR_NOMEM from the step only. */
sr_status sr_serving_forget_user(sr_serving *sv, int64_t user_id, int32_t partition, bool *held,
                                 sr_error *err);

void sr_serving_stats_get(const sr_serving *sv, sr_serving_stats *stats);

/* ---- The state changelog ----
 * The worker writes each changed user once per commit interval (last write
 * wins on the compacted topic) and restores users from it on assignment. */

/* Takes the users changed since the last take (sr_user_store_take_dirty's
 * protocol: *cursor = 0 to start, run to the end), each brought to the current
 * model first, as the changelog's record. The record's arrays are valid until
 * the next call. */
bool sr_serving_take_changed(sr_serving *sv, uint32_t *cursor, sr_user_state_record *record);

/* Takes the users removed for good since the last take (evicted, expired,
 * forgotten; not those of partitions dropped on a rebalance, which another
 * worker now owns), with the partition their events came from: the changelog's
 * tombstones. Only with config.changelog. */
bool sr_serving_take_removed(sr_serving *sv, size_t *cursor, int64_t *user_id,
                             int32_t *partition);

/* Holds the user as the record describes, replacing any state held for it,
 * not dirty (it is what the changelog has). Its window is mapped to the
 * current model (items the model lacks drop out); the hidden state is taken
 * as it is when the record was written by this model version with this
 * shape, else recomputed from the window, as a swap does. Before any model,
 * only the counters and offsets are kept. SR_ERR_NOMEM. */
sr_status sr_serving_restore_user(sr_serving *sv, const sr_user_state_record *record,
                                  sr_error *err);

/* Forgets the tombstones owed (they went with an aborted transaction: the
 * users come back from the changelog, and are removed again as they were). */
void sr_serving_discard_removed(sr_serving *sv);

/* The changelog says the user has no state (a tombstone): forgets it if held,
 * owing no tombstone. */
void sr_serving_restore_absent(sr_serving *sv, int64_t user_id);

/* The user's state for tests and tools: false when the user is not held. */
bool sr_serving_user(sr_serving *sv, int64_t user_id, sr_user_meta *meta,
                     sr_user_state_view *view);

#endif
