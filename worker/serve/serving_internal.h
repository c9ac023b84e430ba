/*
 * serving_internal.h — the parts of the serving core (sr_serving.h) that its
 * files share: serving.c (events, steps), schedule.c (who is due when),
 * scoring.c (recommendations), migrate.c (model swaps).
 */
#ifndef SR_SERVE_SERVING_INTERNAL_H
#define SR_SERVE_SERVING_INTERNAL_H

#include "sr_serving.h"
#include "sr_user_store.h"

/* One queued event. */
typedef struct queued_event {
    int64_t user_id;
    int64_t item_id;
    int64_t event_time_ms;
    int64_t offset;
    int64_t received_at_ms;
    int32_t partition;
    uint8_t event_type;
} queued_event;

/* A scheduler entry: user (slot, id) may be due at due_ms. Entries are hints,
 * checked against the user's fields when popped (schedule.c). */
typedef struct due_entry {
    int64_t due_ms;
    int64_t user_id;
    uint32_t slot;
} due_entry;

/* A row map from an older model's vocabulary to the current one's: users
 * whose states were computed at `generation` map their rows through it. */
typedef struct row_map {
    uint32_t generation;
    uint32_t rows;        /* the older vocabulary's size */
    int32_t *to_current;  /* SR_VOCAB_UNKNOWN where the current model lacks the item */
} row_map;

#define SERVING_MAX_ROW_MAPS 8

/* A user removed for good (evicted, expired, forgotten): the changelog owes it
 * a tombstone on the partition its events came from. */
typedef struct removed_user {
    int64_t user_id;
    int32_t partition;
} removed_user;

struct sr_serving {
    sr_serving_config config;
    sr_user_store *store;
    sr_popularity *popularity;

    sr_model *model;              /* NULL until the first model */
    uint32_t generation;          /* 0 = no model; + 1 per model */
    sr_model_workspace *ws;
    uint32_t state_window;        /* the store's shape */
    size_t state_floats;

    /* Model swaps not yet applied to every user (migrate.c). */
    row_map maps[SERVING_MAX_ROW_MAPS];
    size_t map_count;
    size_t sweep_cursor;          /* rows visited by the migration sweep */
    bool sweep_done;

    /* The queue of events not stepped yet, and scratch for steps. */
    queued_event *queue;
    size_t queued, queue_cap;
    uint32_t *slots;              /* per queued event */
    uint32_t *rounds;             /* per queued event: its user's earlier events in the segment */
    uint32_t *order;              /* queue indexes sorted by round */
    bool *inserted;               /* per queued event: its user was inserted by this segment */
    int32_t *item_rows;           /* per queued event: its item's model row (looked up ahead) */
    uint32_t *seen_slot, *seen_count;  /* segment-local hash: slot -> events so far */
    int64_t *seen_ids;            /* segment-local set of new users' ids */
    uint8_t *seen_used;
    size_t seen_cap;
    int32_t *batch_rows;
    uint8_t *batch_types;
    sr_user_state_view *views;
    sr_user_state_view **view_ptrs;
    uint32_t *batch_slots;

    /* The scheduler: a binary min-heap on due_ms. */
    due_entry *heap;
    size_t heap_len, heap_cap;

    /* Scoring scratch. */
    float *user_vectors;          /* batch x E */
    float *scores;                /* score_rows x V */
    size_t score_rows;
    sr_scored_row *top;           /* N */
    sr_recommended_item *items;   /* N */
    int32_t *exclude_rows;        /* T */
    int64_t *exclude_ids;         /* T */
    float *window_scratch;        /* T x H: hidden attention's window, while a swap moves it */
    uint32_t *window_slots;       /* T: where each kept window entry was in the ring */
    int32_t *migrate_rows;        /* batch x T: windows being recomputed */
    uint8_t *migrate_types;       /* batch x T */
    uint32_t *migrate_kept;       /* batch: entries per window */
    uint32_t *migrate_slots;      /* batch: users the sweep migrates together */

    /* The state changelog (changelog.c). */
    int64_t *changelog_items;     /* T: a taken user's window as item ids (model scratch) */
    uint8_t *changelog_types;     /* T */
    removed_user *removed;        /* users to tombstone, when config.changelog */
    size_t removed_len, removed_cap;
    bool removed_overflow;        /* an append failed (out of memory): logged once */

    int64_t stream_time_ms;       /* the largest event time seen */
    sr_serving_stats stats;       /* counters; the rest is filled by stats_get */
};

/* ---- schedule.c ---- */
/* Records that slot got an event (after sr_user_store_applied): schedules it. */
sr_status schedule_after_event(sr_serving *sv, uint32_t slot, bool first_event, int64_t now_ms,
                               sr_error *err);
/* Pops the next user due at now_ms into *slot; *found is false when none is. */
sr_status schedule_pop_due(sr_serving *sv, int64_t now_ms, bool *found, uint32_t *slot,
                           sr_error *err);
/* Puts back a user popped but not scored (the emit failed). */
sr_status schedule_again(sr_serving *sv, uint32_t slot, int64_t due_ms, sr_error *err);

/* ---- migrate.c ---- */
/* Brings slot's state to the current model (a no-op when it is there). */
void migrate_user(sr_serving *sv, uint32_t slot);
/* Steps one user's state through n window entries (rows of the current model). */
void migrate_step_window(sr_serving *sv, sr_user_state_view *view, const int32_t *rows,
                         const uint8_t *types, size_t n);
sr_status migrate_install(sr_serving *sv, sr_model *model, sr_swap_report *report,
                          sr_error *err);
void migrate_sweep(sr_serving *sv, size_t max_users);
void migrate_free(sr_serving *sv);

/* ---- scoring.c ---- */
/* The item ids of a user's window, oldest first, items the current model
 * lacks left out (none without a model); their event types to types (may be
 * NULL). ids and types have room for the model's window. Uses the scoring
 * scratch (exclude_rows). */
size_t serving_window_ids(const sr_serving *sv, const sr_user_state_view *view, int64_t *ids,
                          uint8_t *types);

/* ---- changelog.c ---- */
/* The store's on_removed: an evicted or expired user to tombstone. */
void changelog_on_removed(void *context, sr_user_store *store, uint32_t slot, int64_t user_id,
                          sr_user_removal why);
/* Notes a user removed for good (forgotten) for a tombstone. */
void changelog_note_removed(sr_serving *sv, int64_t user_id, int32_t partition);
void changelog_free(sr_serving *sv);

/* ---- serving.c ---- */
/* (Re)creates the per-model scratch (workspace, score buffers) for sv->model. */
sr_status serving_model_scratch(sr_serving *sv, sr_error *err);
/* A fresh store with the shape of model (NULL: the shape before any model). */
sr_status serving_new_store(sr_serving *sv, const sr_model *model, sr_user_store **out,
                            sr_error *err);

#endif
