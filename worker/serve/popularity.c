/*
 * popularity.c — the time-decayed popularity ranking of sr_popularity.h.
 *
 * Growing weights. Decaying every count as time passes would touch every item
 * per tick. Instead each event adds weight * 2^((t - t_ref) / half_life), a
 * weight that grows with event time t, to its item's stored count; the score
 * at stream time now is stored * 2^(-(now - t_ref) / half_life), one factor
 * shared by every item, so stored counts rank exactly as scores do. When
 * now - t_ref would exceed REBASE_HALF_LIVES half-lives (factors past 2^100,
 * about 1.3e30), a re-base multiplies every stored count by
 * 2^(-(now - t_ref) / half_life) and sets t_ref = now: one O(items) pass per
 * 100 half-lives of stream time. Counts whose score falls below DBL_MIN then
 * (over 1000 half-lives without an event) are dropped and counted as expired.
 * Stored counts stay below weight * events * 2^100, far from overflow. The
 * factor of the last event time is cached, so that the events of one
 * millisecond pay for one exp2.
 *
 * Table. Open addressing with linear probing over 16-byte entries
 * {item_id, stored count}; a count of 0 marks an empty entry (a held item's
 * count is always >= DBL_MIN), so any int64 is a valid key. The home of an id
 * is sr_mix64(id ^ key). Load <= 3/4; the table doubles until it has the size
 * max_items needs, then never allocates again.
 *
 * Dropping. Eviction (a new item at the cap) and re-basing both sweep the
 * table once, deleting entries by backward shift. The sweep starts just after
 * an empty entry and walks the table once around: a backward shift only moves
 * entries of the current cluster into the hole just made (re-examined at once)
 * or further along, never across the empty entry it started from, so every
 * entry is looked at exactly once.
 *
 * Eviction drops the lowest-scored quarter. The threshold is found with a
 * two-level radix selection on the bits of the stored counts (positive
 * doubles order as their bit patterns): a histogram of the 11 exponent bits,
 * then of the next 11 mantissa bits inside the bucket where the quarter ends.
 * Items within 2^-11 of the threshold score are tied for it; as many of those
 * are dropped (in table order) as make the quarter exact. Three passes, no
 * scratch memory.
 *
 * Cache. sr_popularity_top keeps the best cache_capacity entries (a heap of
 * the worst-of-the-best while scanning, then heap-sorted best first) with
 * their stored counts and the stream time of the rebuild. It is rebuilt when
 * refresh_ms of stream time have passed, after a sweep (stored counts changed
 * or items vanished), and when a call needs more candidates than the cache
 * has while the table has more items than the cache does (so that the first
 * events of a cold start rank at once). With at least n + exclude_count
 * candidates, filtering the exclusions out of the cached order gives the
 * exact top n of the rebuild.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sr_hash.h"
#include "sr_popularity.h"

#define REBASE_HALF_LIVES 100.0
#define MIN_TABLE_CAPACITY 16u

typedef struct pop_entry {
    int64_t item_id;
    double count; /* stored (scaled) count; 0 = empty entry */
} pop_entry;

struct sr_popularity {
    sr_popularity_config config; /* defaults resolved */
    double half_life;            /* ms, as a double */
    uint64_t hash_key;

    pop_entry *table;
    size_t capacity;     /* a power of two */
    size_t capacity_max; /* the capacity max_items needs */
    size_t items;

    bool started;        /* an event was added: now and t_ref are set */
    int64_t now;         /* stream time: the largest event time added */
    int64_t t_ref;       /* the reference time of the stored counts */
    bool scale_valid;
    int64_t scale_time;  /* the event time scale_value is for */
    double scale_value;  /* 2^((scale_time - t_ref) / half_life) */

    pop_entry *cache;    /* best first, stored counts as of the rebuild */
    size_t cache_capacity;
    size_t cache_count;
    bool cache_valid;
    int64_t cache_built_at;

    uint64_t events, evicted, expired, rebases, cache_rebuilds;
};

/* ---- Creation ---- */

static const double default_weights[SR_EVENT_TYPE_COUNT] = {
    [SR_EVENT_VIEW] = SR_POPULARITY_DEFAULT_WEIGHT_VIEW,
    [SR_EVENT_CLICK] = SR_POPULARITY_DEFAULT_WEIGHT_CLICK,
    [SR_EVENT_ADD_TO_CART] = SR_POPULARITY_DEFAULT_WEIGHT_ADD_TO_CART,
    [SR_EVENT_PURCHASE] = SR_POPULARITY_DEFAULT_WEIGHT_PURCHASE,
};

/* Fills the zero fields of c with their defaults. */
static void resolve_defaults(sr_popularity_config *c) {
    if (c->half_life_ms == 0) c->half_life_ms = SR_POPULARITY_DEFAULT_HALF_LIFE_MS;
    if (c->max_items == 0) c->max_items = SR_POPULARITY_DEFAULT_MAX_ITEMS;
    if (c->refresh_ms == 0) c->refresh_ms = SR_POPULARITY_DEFAULT_REFRESH_MS;
    if (c->cache_size == 0) c->cache_size = SR_POPULARITY_DEFAULT_CACHE_SIZE;
    bool all_zero = true;
    for (int t = 0; t < SR_EVENT_TYPE_COUNT; t++)
        if (c->type_weights[t] != 0.0) all_zero = false;
    if (all_zero) memcpy(c->type_weights, default_weights, sizeof default_weights);
}

static sr_status check_config(const sr_popularity_config *c, sr_error *err) {
    if (c->half_life_ms < 1 || c->half_life_ms > SR_POPULARITY_MAX_HALF_LIFE_MS)
        return sr_fail(err, SR_ERR_CONFIG, "popularity: half_life_ms %lld is not in 1..%lld",
                       (long long)c->half_life_ms, (long long)SR_POPULARITY_MAX_HALF_LIFE_MS);
    if (c->max_items > SR_POPULARITY_MAX_ITEMS)
        return sr_fail(err, SR_ERR_CONFIG, "popularity: max_items %u is not in 1..%u",
                       c->max_items, SR_POPULARITY_MAX_ITEMS);
    if (c->refresh_ms != SR_POPULARITY_REFRESH_ALWAYS &&
        (c->refresh_ms < 1 || c->refresh_ms > SR_POPULARITY_MAX_REFRESH_MS))
        return sr_fail(err, SR_ERR_CONFIG,
                       "popularity: refresh_ms %lld is not in 1..%lld (or %d: always)",
                       (long long)c->refresh_ms, (long long)SR_POPULARITY_MAX_REFRESH_MS,
                       SR_POPULARITY_REFRESH_ALWAYS);
    if (c->cache_size > SR_POPULARITY_MAX_CACHE_SIZE)
        return sr_fail(err, SR_ERR_CONFIG, "popularity: cache_size %u is not in 1..%u",
                       c->cache_size, SR_POPULARITY_MAX_CACHE_SIZE);
    for (int t = 0; t < SR_EVENT_TYPE_COUNT; t++) {
        double w = c->type_weights[t];
        if (!(w >= 0.0 && w <= SR_POPULARITY_MAX_WEIGHT)) /* also catches NaN */
            return sr_fail(err, SR_ERR_CONFIG,
                           "popularity: type_weights[%s] %g is not in 0..%g",
                           sr_event_type_name((sr_event_type)t), w, SR_POPULARITY_MAX_WEIGHT);
    }
    return SR_OK;
}

/* The smallest power-of-two capacity that holds max_items at load <= 3/4. */
static size_t table_size_for(size_t max_items) {
    size_t capacity = MIN_TABLE_CAPACITY;
    while (capacity / 4 * 3 < max_items) capacity *= 2;
    return capacity;
}

sr_status sr_popularity_new(const sr_popularity_config *config, sr_popularity **out,
                            sr_error *err) {
    sr_popularity_config c = *config;
    resolve_defaults(&c);
    sr_status status = check_config(&c, err);
    if (status != SR_OK) return status;

    sr_popularity *p = calloc(1, sizeof *p);
    if (!p) return sr_fail(err, SR_ERR_NOMEM, "popularity: out of memory");
    p->config = c;
    p->half_life = (double)c.half_life_ms;
    p->hash_key = sr_mix64(c.seed ^ UINT64_C(0x9e3779b97f4a7c15));
    p->capacity_max = table_size_for(c.max_items);
    p->capacity = MIN_TABLE_CAPACITY;
    p->table = calloc(p->capacity, sizeof *p->table);
    p->cache_capacity = c.cache_size < c.max_items ? c.cache_size : c.max_items;
    p->cache = malloc(p->cache_capacity * sizeof *p->cache);
    p->now = INT64_MIN;
    if (!p->table || !p->cache) {
        sr_popularity_free(p);
        return sr_fail(err, SR_ERR_NOMEM, "popularity: out of memory");
    }
    *out = p;
    return SR_OK;
}

void sr_popularity_free(sr_popularity *pop) {
    if (!pop) return;
    free(pop->table);
    free(pop->cache);
    free(pop);
}

/* ---- The table ---- */

static size_t home_of(const sr_popularity *p, int64_t item_id) {
    return (size_t)sr_mix64((uint64_t)item_id ^ p->hash_key) & (p->capacity - 1);
}

/* The entry holding item_id, or the empty entry where it would go. */
static size_t probe(const sr_popularity *p, int64_t item_id) {
    const pop_entry *t = p->table;
    size_t mask = p->capacity - 1, i = home_of(p, item_id);
    while (t[i].count != 0.0 && t[i].item_id != item_id) i = (i + 1) & mask;
    return i;
}

/* Empties entry i, then shifts back each following entry of the cluster that
 * may move closer to its home: a later entry moves into the hole unless its
 * home lies cyclically in (hole, its position]. */
static void erase_at(sr_popularity *p, size_t i) {
    pop_entry *t = p->table;
    size_t mask = p->capacity - 1;
    for (size_t j = (i + 1) & mask; t[j].count != 0.0; j = (j + 1) & mask) {
        size_t home = home_of(p, t[j].item_id);
        if (((j - home) & mask) >= ((j - i) & mask)) {
            t[i] = t[j];
            i = j;
        }
    }
    t[i].count = 0.0;
    t[i].item_id = 0;
    p->items--;
}

/* Doubles the table, reinserting every entry. The old table stays on failure. */
static sr_status table_grow(sr_popularity *p, sr_error *err) {
    pop_entry *old = p->table;
    size_t old_capacity = p->capacity;
    pop_entry *grown = calloc(2 * old_capacity, sizeof *grown);
    if (!grown)
        return sr_fail(err, SR_ERR_NOMEM, "popularity: no memory to grow the table to %zu entries",
                       2 * old_capacity);
    p->table = grown;
    p->capacity = 2 * old_capacity;
    for (size_t i = 0; i < old_capacity; i++)
        if (old[i].count != 0.0) grown[probe(p, old[i].item_id)] = old[i];
    free(old);
    return SR_OK;
}

/* ---- Sweeps: re-basing and eviction ---- */

/* The top 22 bits of a positive double (11 exponent, 11 mantissa bits), which
 * order as the doubles do. */
static uint32_t key22(double x) {
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    return (uint32_t)(bits >> 41);
}

/* Multiplies every stored count by factor, dropping (as expired) those that
 * fall below DBL_MIN, then (as evicted) those whose key22 is below threshold
 * and the first tie_budget of those whose key22 equals it. */
static void sweep(sr_popularity *p, double factor, uint32_t threshold, size_t tie_budget) {
    pop_entry *t = p->table;
    size_t mask = p->capacity - 1, start = 0;
    while (t[start].count != 0.0) start++; /* load <= 3/4: there is an empty entry */
    size_t i = (start + 1) & mask;
    for (size_t seen = 1; seen < p->capacity;) {
        if (t[i].count != 0.0) {
            double count = t[i].count * factor;
            uint32_t key = key22(count);
            if (count < DBL_MIN) {
                erase_at(p, i);
                p->expired++;
                continue; /* an entry may have moved into i */
            }
            if (key < threshold || (key == threshold && tie_budget > 0)) {
                if (key == threshold) tie_budget--;
                erase_at(p, i);
                p->evicted++;
                continue;
            }
            t[i].count = count;
        }
        i = (i + 1) & mask;
        seen++;
    }
    p->cache_valid = false;
    p->scale_valid = false;
}

/* Moves t_ref to stream time, re-scaling every count. */
static void rebase(sr_popularity *p) {
    double factor = exp2(((double)p->t_ref - (double)p->now) / p->half_life);
    p->t_ref = p->now;
    sweep(p, factor, 0, 0);
    p->rebases++;
}

/* The bucket of hist[0..2048) where the running count, starting at *below,
 * reaches target; *below becomes the count before that bucket. */
static uint32_t bucket_reaching(const size_t *hist, size_t target, size_t *below) {
    uint32_t b = 0;
    while (b < 2047 && *below + hist[b] < target) *below += hist[b++];
    return b;
}

/* Drops the lowest-scored quarter of the items (at least one). */
static void evict_lowest(sr_popularity *p) {
    size_t target = p->items / 4 > 0 ? p->items / 4 : 1;
    const pop_entry *t = p->table;
    size_t hist[2048] = {0}, below = 0;
    for (size_t i = 0; i < p->capacity; i++)
        if (t[i].count != 0.0) hist[key22(t[i].count) >> 11]++;
    uint32_t high = bucket_reaching(hist, target, &below);
    memset(hist, 0, sizeof hist);
    for (size_t i = 0; i < p->capacity; i++) {
        uint32_t key = t[i].count != 0.0 ? key22(t[i].count) : 0;
        if (t[i].count != 0.0 && key >> 11 == high) hist[key & 2047]++;
    }
    uint32_t low = bucket_reaching(hist, target, &below);
    sweep(p, 1.0, high << 11 | low, target - below);
}

/* ---- Events ---- */

sr_status sr_popularity_add(sr_popularity *pop, int64_t item_id, sr_event_type event_type,
                            int64_t event_time_ms, sr_error *err) {
    sr_popularity *p = pop;
    if ((unsigned)event_type >= SR_EVENT_TYPE_COUNT)
        return sr_fail(err, SR_ERR_INVALID_ARG, "popularity: event type %d is out of range",
                       (int)event_type);
    if (!p->started) {
        p->started = true;
        p->now = p->t_ref = event_time_ms;
    } else if (event_time_ms > p->now) {
        p->now = event_time_ms;
        if ((double)p->now - (double)p->t_ref > REBASE_HALF_LIVES * p->half_life) rebase(p);
    }
    if (!p->scale_valid || event_time_ms != p->scale_time) {
        p->scale_time = event_time_ms;
        p->scale_value = exp2(((double)event_time_ms - (double)p->t_ref) / p->half_life);
        p->scale_valid = true;
    }
    double weight = p->config.type_weights[event_type] * p->scale_value;

    size_t i = probe(p, item_id);
    if (p->table[i].count != 0.0) {
        p->table[i].count += weight;
    } else if (weight >= DBL_MIN) { /* a new item (one of weight 0 is not held) */
        if (p->items >= p->config.max_items) {
            evict_lowest(p);
            i = probe(p, item_id);
        } else if (p->items + 1 > p->capacity / 4 * 3) {
            sr_status status = table_grow(p, err);
            if (status != SR_OK) return status;
            i = probe(p, item_id);
        }
        p->table[i].item_id = item_id;
        p->table[i].count = weight;
        p->items++;
    }
    p->events++;
    return SR_OK;
}

/* ---- Ranking ---- */

/* Whether a ranks below b: a lower count, or the same count and a higher id. */
static bool worse(const pop_entry *a, const pop_entry *b) {
    return a->count < b->count || (a->count == b->count && a->item_id > b->item_id);
}

/* Restores the heap (worst at the root) below position i of h[0..n). */
static void sift_down(pop_entry *h, size_t n, size_t i) {
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= n) return;
        if (child + 1 < n && worse(&h[child + 1], &h[child])) child++;
        if (!worse(&h[child], &h[i])) return;
        pop_entry swap = h[i];
        h[i] = h[child];
        h[child] = swap;
        i = child;
    }
}

static void sift_up(pop_entry *h, size_t i) {
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!worse(&h[i], &h[parent])) return;
        pop_entry swap = h[i];
        h[i] = h[parent];
        h[parent] = swap;
        i = parent;
    }
}

/* The best cache_capacity entries, best first, in the cache. */
static void cache_rebuild(sr_popularity *p) {
    pop_entry *h = p->cache;
    size_t k = p->cache_capacity, n = 0;
    for (size_t i = 0; i < p->capacity; i++) {
        const pop_entry *e = &p->table[i];
        if (e->count == 0.0) continue;
        if (n < k) {
            h[n] = *e;
            sift_up(h, n++);
        } else if (worse(&h[0], e)) {
            h[0] = *e;
            sift_down(h, n, 0);
        }
    }
    for (size_t end = n; end > 1; end--) { /* the worst goes last, and so on */
        pop_entry swap = h[0];
        h[0] = h[end - 1];
        h[end - 1] = swap;
        sift_down(h, end - 1, 0);
    }
    p->cache_count = n;
    p->cache_valid = true;
    p->cache_built_at = p->now;
    p->cache_rebuilds++;
}

/* Makes room for `needed` candidates (at most max_items, at least 4n) when the
 * cache is smaller. On failure the cache stays as it is. */
static void cache_reserve(sr_popularity *p, size_t needed, size_t n) {
    if (needed > p->config.max_items) needed = p->config.max_items;
    if (needed <= p->cache_capacity) return;
    size_t capacity = n <= SIZE_MAX / 4 && 4 * n > needed ? 4 * n : needed;
    if (capacity > p->config.max_items) capacity = p->config.max_items;
    pop_entry *grown = realloc(p->cache, capacity * sizeof *grown);
    if (!grown) return;
    p->cache = grown;
    p->cache_capacity = capacity;
    p->cache_valid = false;
}

static bool cache_stale(const sr_popularity *p, size_t needed) {
    if (!p->cache_valid || p->config.refresh_ms == SR_POPULARITY_REFRESH_ALWAYS) return true;
    if ((double)p->now - (double)p->cache_built_at >= (double)p->config.refresh_ms) return true;
    return p->cache_count < needed && p->items > p->cache_count;
}

static bool excluded(int64_t item_id, const int64_t *exclude, size_t exclude_count) {
    for (size_t i = 0; i < exclude_count; i++)
        if (exclude[i] == item_id) return true;
    return false;
}

/* 2^(-(now - t_ref) / half_life): stored count to score at stream time. */
static double score_factor(const sr_popularity *p) {
    return exp2(((double)p->t_ref - (double)p->now) / p->half_life);
}

size_t sr_popularity_top(sr_popularity *pop, size_t n, const int64_t *exclude,
                         size_t exclude_count, sr_recommended_item *out) {
    sr_popularity *p = pop;
    if (n == 0 || !p->started) return 0;
    if (!exclude) exclude_count = 0;
    size_t needed = n <= SIZE_MAX - exclude_count ? n + exclude_count : SIZE_MAX;
    cache_reserve(p, needed, n);
    if (cache_stale(p, needed)) cache_rebuild(p);
    double factor = score_factor(p);
    size_t written = 0;
    for (size_t i = 0; i < p->cache_count && written < n; i++) {
        const pop_entry *e = &p->cache[i];
        if (excluded(e->item_id, exclude, exclude_count)) continue;
        out[written].item_id = e->item_id;
        out[written].score = (float)(e->count * factor);
        written++;
    }
    return written;
}

bool sr_popularity_score(const sr_popularity *pop, int64_t item_id, double *score) {
    *score = 0.0;
    if (!pop->started) return false;
    const pop_entry *e = &pop->table[probe(pop, item_id)];
    if (e->count == 0.0) return false;
    *score = e->count * score_factor(pop);
    return true;
}

/* ---- Figures ---- */

size_t sr_popularity_bytes(const sr_popularity *pop) {
    return sizeof *pop + pop->capacity * sizeof *pop->table +
           pop->cache_capacity * sizeof *pop->cache;
}

void sr_popularity_stats_get(const sr_popularity *pop, sr_popularity_stats *stats) {
    memset(stats, 0, sizeof *stats);
    stats->items = pop->items;
    stats->max_items = pop->config.max_items;
    stats->events = pop->events;
    stats->evicted = pop->evicted;
    stats->expired = pop->expired;
    stats->rebases = pop->rebases;
    stats->cache_rebuilds = pop->cache_rebuilds;
    stats->cache_capacity = pop->cache_capacity;
    stats->stream_time_ms = pop->now;
    stats->bytes_held = sr_popularity_bytes(pop);
}
