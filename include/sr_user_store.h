/*
 * sr_user_store.h — the worker's per-user state: for every user the model's
 * hidden state, the ring of recent items, and the counters that exactly-once
 * verification and the changelog need. Bounded by a cap (least-recently-active
 * users are evicted) and by idle expiry.
 *
 *     sr_user_store_config sc = {.hidden_floats = sr_model_state_floats(&mc),
 *                                .window = mc.window, .max_users = 1000000,
 *                                .idle_expiry_ms = 7 * 24 * 3600 * 1000LL};
 *     sr_user_store *store;
 *     if (sr_user_store_new(&sc, &store, &err) != SR_OK) return err.status;
 *
 *     uint32_t slot;                                  // per event:
 *     if (sr_user_store_upsert(store, ev.user_id, ev.event_time_ms, &slot, NULL, &err) != SR_OK) ...
 *     sr_user_state_view view;
 *     sr_user_store_view(store, slot, &view);
 *     sr_model_step_batch(model, 1, &row, &type, &(sr_user_state_view *){&view}, ws);
 *     sr_user_store_view_save(store, slot, &view);   // the ring's count and head
 *     sr_user_store_applied(store, slot, &(sr_user_store_event){...});
 *
 *     sr_user_store_expire(store, now_ms, 1024);      // now and then: bounded work
 *
 * Slots. A slot is a small integer naming one user's record in the store. It
 * stays the user's until that user is removed, evicted or expired; then it
 * may be handed to a new user. Pointers into a record
 * (sr_user_store_hidden, a filled view) stay valid only until the next
 * upsert that inserts, because the records may grow and move.
 *
 * Eviction. When an upsert would insert user max_users + 1, the store samples
 * a few users at random and evicts the one whose last activity is oldest, then
 * calls config.on_removed (also for expiry) so that the caller can flush or
 * tombstone the user, and notice when the victim is a user it holds a slot of.
 *
 * Times are in whatever clock the caller uses for events (event time or wall
 * time): the store only compares them.
 *
 * Threads: none of its own; a store is used by one thread at a time.
 */
#ifndef SR_USER_STORE_H
#define SR_USER_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sr_error.h"
#include "sr_model.h"

/* Limits the configuration is checked against. */
#define SR_USER_STORE_MAX_USERS (1u << 30)
#define SR_USER_STORE_MAX_WINDOW 65535u
#define SR_USER_STORE_MAX_HIDDEN_FLOATS (1u << 24)
#define SR_USER_STORE_DEFAULT_EVICTION_SAMPLES 8u
#define SR_USER_STORE_MAX_EVICTION_SAMPLES 64u

/* The first value of sequence_hash (64-bit FNV-1a's offset basis). */
#define SR_USER_STORE_HASH_SEED UINT64_C(0xcbf29ce484222325)

typedef struct sr_user_store sr_user_store;

typedef enum sr_user_removal {
    SR_USER_EVICTED = 1, /* the store was full and this user was the oldest sampled */
    SR_USER_EXPIRED = 2, /* idle longer than idle_expiry_ms */
} sr_user_removal;

/* Called just before an evicted or expired user's slot is freed; the slot's
 * fields can still be read (through a view too). Must not call any function
 * that changes the store. */
typedef void (*sr_user_removed_fn)(void *context, sr_user_store *store, uint32_t slot,
                                   int64_t user_id, sr_user_removal why);

typedef struct sr_user_store_config {
    size_t hidden_floats;        /* sr_model_state_floats(model config), 1.. */
    uint32_t window;             /* T, the model's window, 1..SR_USER_STORE_MAX_WINDOW */
    uint32_t max_users;          /* the cap, 1..SR_USER_STORE_MAX_USERS */
    int64_t idle_expiry_ms;      /* > 0; 0 = users never expire */
    uint32_t eviction_samples;   /* users sampled per eviction; 0 = the default (8) */
    uint64_t seed;               /* keys the id hash and the sampling; any value */
    sr_user_removed_fn on_removed;
    void *on_removed_context;
} sr_user_store_config;

/* The scalar fields of a user, copied out or in. */
typedef struct sr_user_meta {
    int64_t user_id;
    uint64_t applied_events;      /* events that stepped this state */
    uint64_t sequence_hash;       /* FNV-1a over the applied (item_id, event_type) sequence */
    int64_t last_event_time_ms;   /* the last applied event's time (its insert time before) */
    int64_t last_scored_at_ms;    /* 0 = never */
    uint32_t events_since_scored;
    int32_t source_partition;     /* of the last applied event; -1 before any */
    int64_t source_offset;        /* of the last applied event; -1 before any */
    bool dirty;                   /* changed since its last changelog write */
    int64_t pending_since_ms;     /* when the first event since the last scoring was received; 0 = none */
    uint32_t model_generation;    /* the serving layer's: which model the state belongs to */
} sr_user_meta;

/* One applied event, as sr_user_store_applied records it. */
typedef struct sr_user_store_event {
    int64_t item_id;
    uint8_t event_type;
    int64_t event_time_ms;
    int32_t partition;
    int64_t offset;
    int64_t received_at_ms;       /* when the worker received it: starts the scoring delay */
} sr_user_store_event;

/* What the scoring scheduler reads of a user. */
typedef struct sr_user_schedule_state {
    uint32_t events_since_scored;
    int64_t pending_since_ms;
    int64_t last_scored_at_ms;
} sr_user_schedule_state;

typedef struct sr_user_store_stats {
    size_t users;
    size_t max_users;
    size_t table_capacity;       /* hash slots (a power of two) */
    size_t row_capacity;         /* records the store has room for now */
    size_t row_bytes;            /* bytes per row: its record and dirty-list room */
    size_t bytes_held;           /* every allocation the store holds, by its size */
    size_t dirty_users;
    uint64_t evictions;
    uint64_t expirations;
} sr_user_store_stats;

/* An empty store. SR_ERR_CONFIG names a field out of range; SR_ERR_NOMEM. */
sr_status sr_user_store_new(const sr_user_store_config *config, sr_user_store **out,
                            sr_error *err);
void sr_user_store_free(sr_user_store *store);

/* The slot of user_id, inserting the user when absent (hidden state zero, empty
 * ring, counters zero, sequence_hash = SR_USER_STORE_HASH_SEED, activity time
 * now_ms, not dirty), after evicting one user when the store is full. Sets
 * *inserted (when not NULL). Fails only with SR_ERR_NOMEM, leaving the store
 * as it was. */
sr_status sr_user_store_upsert(sr_user_store *store, int64_t user_id, int64_t now_ms,
                               uint32_t *slot, bool *inserted, sr_error *err);

/* Evicts users (as an insertion at the cap would, callback included) until n
 * more fit without eviction (n is capped at max_users). Returns how many it
 * evicted. Lets a caller that holds slots across several inserts (a batch)
 * make room first, so that none of the slots it holds is evicted under it. */
size_t sr_user_store_make_room(sr_user_store *store, size_t n);

/* Whether user_id is held; its slot in *slot (when not NULL). Never fails. */
bool sr_user_store_find(const sr_user_store *store, int64_t user_id, uint32_t *slot);

/* Hints only, with no effect on the contents: start loading what a find of
 * user_id, or a step of slot (its row, hidden state and ring), will read.
 * At a million users each of those is a cache miss; a caller that knows its
 * next users a few hundred ahead overlaps the misses instead of waiting on
 * each in turn. */
void sr_user_store_prefetch_find(const sr_user_store *store, int64_t user_id);
void sr_user_store_prefetch_slot(const sr_user_store *store, uint32_t slot);

/* Forgets user_id (not counted as eviction or expiry, no callback). Returns
 * whether the user was held. */
bool sr_user_store_remove(sr_user_store *store, int64_t user_id);

/* Removes users idle longer than idle_expiry_ms at now_ms, looking at no more
 * than max_rows rows per call (it resumes where the last call stopped).
 * Returns how many it removed. */
size_t sr_user_store_expire(sr_user_store *store, int64_t now_ms, size_t max_rows);

/* ---- One user's fields, by slot (a slot the store currently holds) ---- */

/* The hidden floats (hidden_floats of them, 32-byte aligned). */
float *sr_user_store_hidden(sr_user_store *store, uint32_t slot);
int64_t sr_user_store_user_id(const sr_user_store *store, uint32_t slot);

/* Points view at the slot's hidden state and ring, with its count and head,
 * so that the model steps the user in place; sr_user_store_view_save then
 * keeps the view's count and head (the only fields the view holds by value). */
void sr_user_store_view(sr_user_store *store, uint32_t slot, sr_user_state_view *view);
void sr_user_store_view_save(sr_user_store *store, uint32_t slot, const sr_user_state_view *view);

void sr_user_store_meta(const sr_user_store *store, uint32_t slot, sr_user_meta *meta);
/* Writes every field of meta but user_id (for restoring from the changelog). */
void sr_user_store_set_meta(sr_user_store *store, uint32_t slot, const sr_user_meta *meta);

/* Records that event stepped the user: applied_events + 1, sequence_hash
 * stepped, last event time, source partition and offset, events_since_scored
 * + 1 (pending since the event's received_at_ms when it was 0), dirty.
 * (The ring is the model's: it pushes the event into the view.) */
void sr_user_store_applied(sr_user_store *store, uint32_t slot, const sr_user_store_event *event);

/* The user was scored at now_ms: last_scored_at = now_ms, events_since_scored = 0,
 * nothing pending. */
void sr_user_store_scored(sr_user_store *store, uint32_t slot, int64_t now_ms);
void sr_user_store_schedule_state(const sr_user_store *store, uint32_t slot,
                                  sr_user_schedule_state *state);

/* The model generation a user's state was computed with (0 at insertion). */
uint32_t sr_user_store_model_generation(const sr_user_store *store, uint32_t slot);
void sr_user_store_set_model_generation(sr_user_store *store, uint32_t slot, uint32_t generation);

/* ---- Iteration ----
 * Start with *cursor = 0; each call sets *slot to the next user and returns
 * true, or returns false at the end. Removing the user just returned is
 * allowed; users inserted meanwhile may or may not be visited. */
bool sr_user_store_next(const sr_user_store *store, uint32_t *cursor, uint32_t *slot);

/* Takes the users changed since the last take (the changelog's work for one
 * commit interval), each once, clearing its dirty mark: same cursor protocol,
 * in O(users changed), not O(users held). Users removed meanwhile are not
 * returned (the remover tells the changelog); a user dirtied again during the
 * take is returned again later in it. Run a take to its end (false): an
 * unfinished one leaves the rest for the next take. */
bool sr_user_store_take_dirty(sr_user_store *store, uint32_t *cursor, uint32_t *slot);

void sr_user_store_stats_get(const sr_user_store *store, sr_user_store_stats *stats);

/* One step of the running sequence hash: 64-bit FNV-1a over the item id's 8
 * bytes, least significant first, then the event type byte. Starting from
 * SR_USER_STORE_HASH_SEED, the same sequence gives the same hash on any machine. */
uint64_t sr_user_store_hash_step(uint64_t hash, int64_t item_id, uint8_t event_type);

#endif
