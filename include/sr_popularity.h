/*
 * sr_popularity.h — the time-decayed popularity ranking: the worker's cold-start
 * fallback. A user the worker has never seen, or with too little history, and
 * every user while no model is loaded, gets the items most popular right now;
 * it also ranks items the model does not know yet. The worker keeps it up to
 * date from the event stream itself.
 *
 *     sr_popularity_config pc = {0};                  // zero = every default
 *     sr_popularity *pop;
 *     if (sr_popularity_new(&pc, &pop, &err) != SR_OK) return err.status;
 *
 *     // per event (hot path: O(1), no allocation once warmed up):
 *     if (sr_popularity_add(pop, ev.item_id, ev.event_type, ev.event_time_ms, &err) != SR_OK) ...
 *
 *     // per user served the fallback:
 *     sr_recommended_item top[20];
 *     size_t n = sr_popularity_top(pop, 20, recent_items, recent_count, top);
 *
 *     sr_popularity_free(pop);
 *
 * Score. For item i at stream time now,
 *
 *     score(i, now) = sum over the events e of i of
 *                     type_weights[e.type] * 2^(-(now - e.time) / half_life_ms)
 *
 * so an event counts fully when it happens and half as much a half-life later.
 * Stream time ("now") is the largest event time added so far, not the wall
 * clock: a replay of last month's data ranks as last month did. An event older
 * than now (out of order) simply adds its already decayed weight. The caller
 * should not pass event times from the far future (clamp them to the wall
 * clock plus some skew first): one such event moves stream time there and
 * every later, normal event then counts as almost nothing.
 *
 * Staleness. sr_popularity_top ranks from a cached list of the best
 * cache_size candidates, rebuilt only when refresh_ms of stream time have
 * passed since it was built (or when items were dropped or re-based). Between
 * rebuilds the order and the set of candidates are those of the last rebuild,
 * up to refresh_ms of stream time stale; the scores reported are the
 * candidates' counts at the rebuild, decayed to now. Events added since then
 * show at the next rebuild.
 *
 * Bounds. At most max_items items are held. When a new item arrives at the
 * cap, the lowest-scored quarter is dropped in one pass (amortised O(1) per
 * event) and counted in stats.evicted.
 *
 * Threads: none of its own; one thread at a time (sr_popularity_top updates the
 * cache, so even ranking needs exclusive use).
 */
#ifndef SR_POPULARITY_H
#define SR_POPULARITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sr_error.h"
#include "sr_event.h"

/* Defaults (a zero field in the configuration means its default). */
#define SR_POPULARITY_DEFAULT_HALF_LIFE_MS (3600 * 1000LL)  /* one hour */
#define SR_POPULARITY_DEFAULT_MAX_ITEMS 1000000u
#define SR_POPULARITY_DEFAULT_REFRESH_MS 1000
#define SR_POPULARITY_DEFAULT_CACHE_SIZE 256u
/* Default type weights: a view and a click count 1, an add-to-cart 2, a
 * purchase 4 (stronger intent, rarer events). */
#define SR_POPULARITY_DEFAULT_WEIGHT_VIEW 1.0
#define SR_POPULARITY_DEFAULT_WEIGHT_CLICK 1.0
#define SR_POPULARITY_DEFAULT_WEIGHT_ADD_TO_CART 2.0
#define SR_POPULARITY_DEFAULT_WEIGHT_PURCHASE 4.0

/* refresh_ms value: rebuild the cached ranking on every sr_popularity_top call
 * (exact, for tests and small tables). */
#define SR_POPULARITY_REFRESH_ALWAYS (-1)

/* Limits the configuration is checked against. */
#define SR_POPULARITY_MAX_HALF_LIFE_MS (366 * 24 * 3600 * 1000LL)
#define SR_POPULARITY_MAX_ITEMS (1u << 30)
#define SR_POPULARITY_MAX_REFRESH_MS (24 * 3600 * 1000LL)
#define SR_POPULARITY_MAX_CACHE_SIZE (1u << 20)
#define SR_POPULARITY_MAX_WEIGHT 1e6

typedef struct sr_popularity sr_popularity;

typedef struct sr_popularity_config {
    int64_t half_life_ms;    /* 1..SR_POPULARITY_MAX_HALF_LIFE_MS; 0 = 1 hour */
    uint32_t max_items;      /* 1..SR_POPULARITY_MAX_ITEMS; 0 = 1,000,000 */
    int64_t refresh_ms;      /* 1..SR_POPULARITY_MAX_REFRESH_MS of stream time; 0 = 1000;
                                SR_POPULARITY_REFRESH_ALWAYS = every call */
    uint32_t cache_size;     /* candidates cached, 1..SR_POPULARITY_MAX_CACHE_SIZE; 0 = 256.
                                Grows by itself when a call needs more (n + exclusions). */
    /* Per sr_event_type, each in 0..SR_POPULARITY_MAX_WEIGHT; all zero = the
     * defaults above. A type of weight 0 is counted in stats.events but ranks
     * nothing. */
    double type_weights[SR_EVENT_TYPE_COUNT];
    uint64_t seed;           /* keys the item id hash; any value (a random one
                                keeps crafted ids from colliding on purpose) */
} sr_popularity_config;

typedef struct sr_popularity_stats {
    size_t items;             /* items held now */
    size_t max_items;
    uint64_t events;          /* events added */
    uint64_t evicted;         /* items dropped because the table was full */
    uint64_t expired;         /* items dropped at a re-base: score below DBL_MIN */
    uint64_t rebases;         /* passes that moved the reference time */
    uint64_t cache_rebuilds;  /* rankings rebuilt by sr_popularity_top */
    size_t cache_capacity;    /* candidates the cache holds at most now */
    int64_t stream_time_ms;   /* the largest event time added; INT64_MIN before any */
    size_t bytes_held;        /* as sr_popularity_bytes */
} sr_popularity_stats;

/* An empty ranking. SR_ERR_CONFIG names a field out of range; SR_ERR_NOMEM. */
sr_status sr_popularity_new(const sr_popularity_config *config, sr_popularity **out,
                            sr_error *err);
void sr_popularity_free(sr_popularity *pop);

/* Counts one event of item_id (any int64) of event_type at event_time_ms (any
 * int64; the largest seen is stream time). O(1) amortised; allocates only
 * while the table grows towards the size max_items needs, never after. Fails
 * with SR_ERR_INVALID_ARG for an event_type out of range (nothing changes) and
 * with SR_ERR_NOMEM when the table cannot grow: then the event is not counted,
 * though stream time may have moved to its time. A caller may log either and
 * go on: the ranking only misses that event. */
sr_status sr_popularity_add(sr_popularity *pop, int64_t item_id, sr_event_type event_type,
                            int64_t event_time_ms, sr_error *err);

/* Writes the n most popular items at stream time into out (score descending,
 * ties by lower item id), skipping the exclude_count ids in exclude (a user's
 * recent items; a short list, scanned linearly), and returns how many it wrote:
 * fewer than n only when fewer items qualify (or when the cache could not grow
 * to n + exclude_count candidates for lack of memory). Scores are the decayed
 * counts at stream time, as floats. Up to refresh_ms stale: see the top of this
 * file. Never fails. */
size_t sr_popularity_top(sr_popularity *pop, size_t n, const int64_t *exclude,
                         size_t exclude_count, sr_recommended_item *out);

/* The exact current score of item_id at stream time (not cached) in *score;
 * false (and *score = 0) when the item is not held. */
bool sr_popularity_score(const sr_popularity *pop, int64_t item_id, double *score);

void sr_popularity_stats_get(const sr_popularity *pop, sr_popularity_stats *stats);

/* Every byte the ranking holds (table, cache and itself), for the metrics. */
size_t sr_popularity_bytes(const sr_popularity *pop);

#endif
