/*
 * user_store.c — the per-user state store of sr_user_store.h.
 *
 * Layout. Two parts, so that neither pays for the other's slack:
 *
 *   table    open addressing, linear probing, a power-of-two number of 16-byte
 *            entries {user_id, row + 1}; row + 1 == 0 marks an empty entry, so
 *            any int64 id is a valid key and a fresh (zero) table is empty.
 *            Load factor <= 3/4; doubles up to the size max_users needs.
 *   records  one array of fixed-size records indexed by row = slot, each a
 *            user's whole state side by side: the scalars every applied event
 *            touches in one 64-byte header (user_row below), the hidden floats
 *            (32-byte aligned), recent item rows (T int32), recent types
 *            (T uint8), the scoring scheduler's last scored and pending-since
 *            times. Side by side, because at a million users every event's
 *            user is a miss in the TLB as well as the caches: one record is
 *            one or two pages to walk, where an array per field was six
 *            (a random-access microbenchmark on a 2-core VM, prefetched: 90
 *            against 134 ns per user; the worker at 1 M users: 2-10 % faster).
 *            Grows by half, up to max_users rows; rows freed by a removal go on
 *            a free list (threaded through their user id) and are reused first.
 *
 * Keeping values out of the table is what holds the memory target: a table
 * at load <= 3/4 with power-of-two sizes is 1.33x to 2.67x the users, and
 * ~400 bytes of values per slot would double the bytes per user; here only
 * the 16-byte entries pay that factor. A lookup reads one table cache line
 * (key and row side by side), then the record. Rows never move, so a
 * slot stays its user's until that user leaves, whatever else is inserted or
 * removed.
 *
 * Deletion is backward shift, not tombstones: eviction and expiry remove users
 * all the time, and tombstones would pile up, lengthen probes and need
 * periodic rebuilds; backward shift keeps every probe sequence as if the
 * removed key had never been inserted, moving only 16-byte entries.
 *
 * Eviction samples K rows at random (the seeded generator below, so runs are
 * reproducible) and evicts the one with the oldest last activity, as Redis
 * approximates LRU: no per-user list to maintain on every event (exact LRU
 * would write two neighbours' links per event, extra cache misses on the hot
 * path and 8 bytes per user), K cache misses per eviction, and the victim
 * is in the oldest 1/(K+1) of users on average. At the cap every row is live,
 * so samples never miss.
 *
 * Expiry walks the rows with a cursor that persists between calls, looking at
 * a bounded number of rows per call.
 *
 * Changed users are listed as they become dirty (each row at most once, a
 * flag says whether it is listed), so that the changelog's take every commit
 * interval costs O(users changed): at a million users held and a 100 ms
 * interval, a scan of every row would cost more than the events.
 */
#include <stdlib.h>
#include <string.h>

#include "sr_user_store.h"
#include "state/region.h"

/* What every applied event reads and writes, in the first 64-byte cache line
 * of the record (records are 32-byte aligned; the header is one line or two
 * halves of neighbouring ones). */
typedef struct user_row {
    int64_t user_id;              /* the free list's link while the row is free */
    uint64_t applied;
    uint64_t sequence_hash;
    int64_t last_event_ms;
    int64_t source_offset;
    int32_t source_partition;
    uint32_t since_scored;
    uint32_t model_generation;
    uint16_t recent_count;
    uint16_t recent_head;
    uint8_t flags;
    uint8_t unused[7];
} user_row;

_Static_assert(sizeof(user_row) == 64, "a user's row is one cache line");

/* ROW_LISTED: the row is in the dirty list (at most once), which survives the
 * row's removal and reuse until the list is taken. */
enum { ROW_LIVE = 1, ROW_DIRTY = 2, ROW_LISTED = 4 };

typedef struct table_entry {
    int64_t user_id;
    uint32_t row1;    /* row + 1; 0 = empty */
    uint32_t unused;
} table_entry;

struct sr_user_store {
    sr_user_store_config config;
    size_t stride;            /* floats per hidden row */
    size_t window;
    uint32_t samples;
    uint64_t hash_key;
    uint64_t rng;

    sr_region table;
    size_t table_capacity;    /* a power of two */
    size_t table_max;         /* the capacity max_users needs */

    sr_region records;
    size_t record_bytes;      /* a multiple of 32 */
    size_t at_hidden, at_recent_rows, at_recent_types, at_last_scored, at_pending_since;
    sr_region dirty_list;     /* DIRTY_PER_ROW entries per row of capacity */
    size_t row_capacity;
    size_t rows_used;         /* rows ever handed out: [0, rows_used) live or free */
    uint32_t free_head;       /* first free row + 1; 0 = none */
    size_t users;
    size_t dirty_users;
    size_t dirty_listed;      /* entries in the dirty list */
    size_t expire_cursor;
    uint64_t evictions;
    uint64_t expirations;
};

#define RECORD(s, r) ((char *)(s)->records.base + (size_t)(r) * (s)->record_bytes)
#define ROW(s, r) ((user_row *)RECORD(s, r))
#define HIDDEN(s, r) ((float *)(RECORD(s, r) + (s)->at_hidden))
#define RECENT_ROWS(s, r) ((int32_t *)(RECORD(s, r) + (s)->at_recent_rows))
#define RECENT_TYPES(s, r) ((uint8_t *)(RECORD(s, r) + (s)->at_recent_types))
#define LAST_SCORED(s, r) (*(int64_t *)(RECORD(s, r) + (s)->at_last_scored))
#define PENDING_SINCE(s, r) (*(int64_t *)(RECORD(s, r) + (s)->at_pending_since))
#define DIRTY_LIST(s) ((uint32_t *)(s)->dirty_list.base)

/* A row is listed at most once, but a row taken and dirtied again during one
 * take is listed anew: at most two dirty-list entries per row. */
enum { DIRTY_PER_ROW = 2 };

static uint64_t mix64(uint64_t x) {
    x ^= x >> 33;
    x *= UINT64_C(0xff51afd7ed558ccd);
    x ^= x >> 33;
    x *= UINT64_C(0xc4ceb9fe1a85ec53);
    x ^= x >> 33;
    return x;
}

static size_t home_of(const sr_user_store *s, int64_t user_id) {
    return (size_t)mix64((uint64_t)user_id ^ s->hash_key) & (s->table_capacity - 1);
}

/* xorshift64*: a few cycles, plenty for choosing samples. */
static uint32_t random_below(sr_user_store *s, size_t n) {
    uint64_t x = s->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    s->rng = x;
    return (uint32_t)((((x * UINT64_C(0x2545f4914f6cdd1d)) >> 32) * (uint64_t)n) >> 32);
}

uint64_t sr_user_store_hash_step(uint64_t hash, int64_t item_id, uint8_t event_type) {
    const uint64_t prime = UINT64_C(0x100000001b3);
    uint64_t id = (uint64_t)item_id;
    for (int i = 0; i < 8; i++) {
        hash ^= (id >> (8 * i)) & 0xff;
        hash *= prime;
    }
    hash ^= event_type;
    return hash * prime;
}

/* ---- Creation ---- */

static sr_status check_config(const sr_user_store_config *c, sr_error *err) {
    if (c->hidden_floats == 0 || c->hidden_floats > SR_USER_STORE_MAX_HIDDEN_FLOATS)
        return sr_fail(err, SR_ERR_CONFIG, "user store: hidden_floats %zu is not in 1..%u",
                       c->hidden_floats, SR_USER_STORE_MAX_HIDDEN_FLOATS);
    if (c->window == 0 || c->window > SR_USER_STORE_MAX_WINDOW)
        return sr_fail(err, SR_ERR_CONFIG, "user store: window %u is not in 1..%u", c->window,
                       SR_USER_STORE_MAX_WINDOW);
    if (c->max_users == 0 || c->max_users > SR_USER_STORE_MAX_USERS)
        return sr_fail(err, SR_ERR_CONFIG, "user store: max_users %u is not in 1..%u",
                       c->max_users, SR_USER_STORE_MAX_USERS);
    if (c->idle_expiry_ms < 0)
        return sr_fail(err, SR_ERR_CONFIG, "user store: idle_expiry_ms %lld is negative",
                       (long long)c->idle_expiry_ms);
    if (c->eviction_samples > SR_USER_STORE_MAX_EVICTION_SAMPLES)
        return sr_fail(err, SR_ERR_CONFIG, "user store: eviction_samples %u is not in 0..%u",
                       c->eviction_samples, SR_USER_STORE_MAX_EVICTION_SAMPLES);
    return SR_OK;
}

/* The smallest power of two (>= 16) whose 3/4 holds users. */
static size_t table_size_for(size_t users) {
    size_t capacity = 16;
    while (capacity / 4 * 3 < users) capacity *= 2;
    return capacity;
}

sr_status sr_user_store_new(const sr_user_store_config *config, sr_user_store **out,
                            sr_error *err) {
    sr_status status = check_config(config, err);
    if (status != SR_OK) return status;
    sr_user_store *s = calloc(1, sizeof *s);
    if (!s) return sr_fail(err, SR_ERR_NOMEM, "user store: out of memory");
    s->config = *config;
    s->stride = (config->hidden_floats + 7) / 8 * 8;
    s->window = config->window;
    s->samples = config->eviction_samples ? config->eviction_samples
                                          : SR_USER_STORE_DEFAULT_EVICTION_SAMPLES;
    s->hash_key = mix64(config->seed ^ UINT64_C(0x9e3779b97f4a7c15));
    s->rng = mix64(config->seed + UINT64_C(0x632be59bd9b4e019)) | 1;
    s->table_max = table_size_for(config->max_users);
    s->table_capacity = 16;

    size_t T = s->window, at = sizeof(user_row);
    s->at_hidden = at;
    at += s->stride * sizeof(float);
    s->at_recent_rows = at;
    at += T * sizeof(int32_t);
    s->at_recent_types = at;
    at = (at + T + 7) / 8 * 8; /* the times are 8-byte aligned */
    s->at_last_scored = at;
    at += sizeof(int64_t);
    s->at_pending_since = at;
    at += sizeof(int64_t);
    s->record_bytes = (at + 31) / 32 * 32; /* keeps every record's hidden floats 32-byte aligned */

    status = sr_region_reserve(&s->table, s->table_capacity * sizeof(table_entry), err);
    if (status != SR_OK) {
        sr_user_store_free(s);
        return sr_error_wrap(err, status, "user store");
    }
    *out = s;
    return SR_OK;
}

void sr_user_store_free(sr_user_store *store) {
    if (!store) return;
    sr_region_free(&store->table);
    sr_region_free(&store->records);
    sr_region_free(&store->dirty_list);
    free(store);
}

/* ---- The table ---- */

/* The entry holding user_id, or SIZE_MAX. */
static size_t table_position(const sr_user_store *s, int64_t user_id) {
    const table_entry *t = s->table.base;
    size_t mask = s->table_capacity - 1;
    for (size_t i = home_of(s, user_id);; i = (i + 1) & mask) {
        if (t[i].row1 == 0) return SIZE_MAX;
        if (t[i].user_id == user_id) return i;
    }
}

/* Puts (user_id, row) in the first empty entry of its probe sequence; the
 * caller knows user_id is absent and an entry is free. */
static void table_put(sr_user_store *s, int64_t user_id, uint32_t row) {
    table_entry *t = s->table.base;
    size_t mask = s->table_capacity - 1, i = home_of(s, user_id);
    while (t[i].row1 != 0) i = (i + 1) & mask;
    t[i].user_id = user_id;
    t[i].row1 = row + 1;
}

/* Empties entry i, then shifts back each following entry of the cluster that
 * may move closer to its home: a later entry moves into the hole unless its
 * home lies cyclically in (hole, its position]. */
static void table_erase(sr_user_store *s, size_t i) {
    table_entry *t = s->table.base;
    size_t mask = s->table_capacity - 1;
    for (size_t j = (i + 1) & mask; t[j].row1 != 0; j = (j + 1) & mask) {
        size_t home = home_of(s, t[j].user_id);
        if (((j - home) & mask) >= ((j - i) & mask)) {
            t[i] = t[j];
            i = j;
        }
    }
    t[i].row1 = 0;
    t[i].user_id = 0;
}

/* Doubles the table, reinserting every entry. The old table stays on failure. */
static sr_status table_grow(sr_user_store *s, sr_error *err) {
    sr_region old = s->table, grown = {0};
    size_t old_capacity = s->table_capacity;
    sr_status status = sr_region_reserve(&grown, 2 * old_capacity * sizeof(table_entry), err);
    if (status != SR_OK) return status;
    s->table = grown;
    s->table_capacity = 2 * old_capacity;
    const table_entry *t = old.base;
    for (size_t i = 0; i < old_capacity; i++)
        if (t[i].row1 != 0) table_put(s, t[i].user_id, t[i].row1 - 1);
    sr_region_free(&old);
    return SR_OK;
}

/* ---- Rows ---- */

/* Grows the records (and the dirty list) to room for half as many rows again
 * (at least 64, at most max_users). On failure the records may be larger
 * already; they are counted as held and reused by the next attempt. */
static sr_status rows_grow(sr_user_store *s, sr_error *err) {
    size_t capacity = s->row_capacity + s->row_capacity / 2;
    if (capacity < 64) capacity = 64;
    if (capacity > s->config.max_users) capacity = s->config.max_users;
    sr_status status = sr_region_reserve(&s->records, capacity * s->record_bytes, err);
    if (status == SR_OK)
        status = sr_region_reserve(&s->dirty_list, capacity * DIRTY_PER_ROW * sizeof(uint32_t), err);
    if (status != SR_OK) return status;
    s->row_capacity = capacity;
    return SR_OK;
}

static uint32_t row_take(sr_user_store *s) {
    if (s->free_head != 0) {
        uint32_t row = s->free_head - 1;
        s->free_head = (uint32_t)ROW(s, row)->user_id;
        return row;
    }
    return (uint32_t)s->rows_used++;
}

static void row_init(sr_user_store *s, uint32_t row, int64_t user_id, int64_t now_ms) {
    size_t T = s->window;
    ROW(s, row)->user_id = user_id;
    memset(HIDDEN(s, row), 0, s->stride * sizeof(float));
    memset(RECENT_ROWS(s, row), 0, T * sizeof(int32_t));
    memset(RECENT_TYPES(s, row), 0, T);
    ROW(s, row)->recent_count = 0;
    ROW(s, row)->recent_head = 0;
    ROW(s, row)->applied = 0;
    ROW(s, row)->sequence_hash = SR_USER_STORE_HASH_SEED;
    ROW(s, row)->last_event_ms = now_ms;
    LAST_SCORED(s, row) = 0;
    ROW(s, row)->since_scored = 0;
    ROW(s, row)->source_partition = -1;
    ROW(s, row)->source_offset = -1;
    ROW(s, row)->flags = (uint8_t)(ROW_LIVE | (ROW(s, row)->flags & ROW_LISTED));
    PENDING_SINCE(s, row) = 0;
    ROW(s, row)->model_generation = 0;
}

/* Removes the user in table entry position, whose row is row. */
static void remove_at(sr_user_store *s, size_t position, uint32_t row) {
    table_erase(s, position);
    if (ROW(s, row)->flags & ROW_DIRTY) s->dirty_users--;
    ROW(s, row)->flags &= ROW_LISTED;
    ROW(s, row)->user_id = (int64_t)s->free_head;
    s->free_head = row + 1;
    s->users--;
}

/* Tells the caller, then removes the live user in row. */
static void remove_row_notified(sr_user_store *s, uint32_t row, sr_user_removal why) {
    int64_t user_id = ROW(s, row)->user_id;
    if (s->config.on_removed)
        s->config.on_removed(s->config.on_removed_context, s, row, user_id, why);
    remove_at(s, table_position(s, user_id), row);
}

static void evict_one(sr_user_store *s) {
    size_t victim = SIZE_MAX;
    for (uint32_t k = 0; k < s->samples; k++) {
        size_t row = random_below(s, s->rows_used);
        const user_row *r = ROW(s, row);
        if ((r->flags & ROW_LIVE) &&
            (victim == SIZE_MAX || r->last_event_ms < ROW(s, victim)->last_event_ms))
            victim = row;
    }
    /* Unreachable at the cap (every row is live), kept so that it never fails. */
    for (size_t row = 0; victim == SIZE_MAX && row < s->rows_used; row++)
        if (ROW(s, row)->flags & ROW_LIVE) victim = row;
    remove_row_notified(s, (uint32_t)victim, SR_USER_EVICTED);
    s->evictions++;
}

/* ---- Users ---- */

sr_status sr_user_store_upsert(sr_user_store *store, int64_t user_id, int64_t now_ms,
                               uint32_t *slot, bool *inserted, sr_error *err) {
    size_t position = table_position(store, user_id);
    if (position != SIZE_MAX) {
        *slot = ((const table_entry *)store->table.base)[position].row1 - 1;
        if (inserted) *inserted = false;
        return SR_OK;
    }
    if (store->users >= store->config.max_users) {
        evict_one(store); /* at the cap, table and rows have room for max_users */
    } else {
        sr_status status = SR_OK;
        if ((store->users + 1) > store->table_capacity / 4 * 3) status = table_grow(store, err);
        if (status == SR_OK && store->free_head == 0 && store->rows_used == store->row_capacity)
            status = rows_grow(store, err);
        if (status != SR_OK) return sr_error_wrap(err, status, "user store: inserting a user");
    }
    uint32_t row = row_take(store);
    row_init(store, row, user_id, now_ms);
    table_put(store, user_id, row);
    store->users++;
    *slot = row;
    if (inserted) *inserted = true;
    return SR_OK;
}

size_t sr_user_store_make_room(sr_user_store *store, size_t n) {
    if (n > store->config.max_users) n = store->config.max_users;
    size_t evicted = 0;
    while (store->users > 0 && store->users + n > store->config.max_users) {
        evict_one(store);
        evicted++;
    }
    return evicted;
}

bool sr_user_store_find(const sr_user_store *store, int64_t user_id, uint32_t *slot) {
    size_t position = table_position(store, user_id);
    if (position == SIZE_MAX) return false;
    if (slot) *slot = ((const table_entry *)store->table.base)[position].row1 - 1;
    return true;
}

void sr_user_store_prefetch_find(const sr_user_store *store, int64_t user_id) {
    __builtin_prefetch((const table_entry *)store->table.base + home_of(store, user_id));
}

/* Every cache line of bytes [from, to) of a record. */
static void prefetch_lines(const char *record, size_t from, size_t to) {
    uintptr_t line = (uintptr_t)(record + from) & ~(uintptr_t)63;
    for (; line < (uintptr_t)(record + to); line += 64) __builtin_prefetch((const void *)line, 1);
}

void sr_user_store_prefetch_slot(const sr_user_store *store, uint32_t slot) {
    const sr_user_store *s = store;
    const char *record = RECORD(s, slot);
    /* The header and the first lines of the hidden floats, then the ring and
     * the times; hidden attention's window of states is read later. */
    size_t hidden_end = s->at_recent_rows;
    if (hidden_end > s->at_hidden + 512) hidden_end = s->at_hidden + 512;
    prefetch_lines(record, 0, hidden_end);
    prefetch_lines(record, s->at_recent_rows, s->record_bytes);
}

bool sr_user_store_remove(sr_user_store *store, int64_t user_id) {
    size_t position = table_position(store, user_id);
    if (position == SIZE_MAX) return false;
    remove_at(store, position, ((const table_entry *)store->table.base)[position].row1 - 1);
    return true;
}

size_t sr_user_store_expire(sr_user_store *store, int64_t now_ms, size_t max_rows) {
    int64_t idle = store->config.idle_expiry_ms;
    if (idle <= 0 || store->users == 0) return 0;
    if (max_rows > store->rows_used) max_rows = store->rows_used;
    size_t removed = 0;
    for (size_t n = 0; n < max_rows; n++) {
        if (store->expire_cursor >= store->rows_used) store->expire_cursor = 0;
        size_t row = store->expire_cursor++;
        const user_row *r = ROW(store, row);
        /* Idle longer than idle: now - last > idle, without overflow. */
        if ((r->flags & ROW_LIVE) && r->last_event_ms < now_ms &&
            (uint64_t)now_ms - (uint64_t)r->last_event_ms > (uint64_t)idle) {
            remove_row_notified(store, (uint32_t)row, SR_USER_EXPIRED);
            removed++;
        }
    }
    store->expirations += removed;
    return removed;
}

/* ---- Fields ---- */

float *sr_user_store_hidden(sr_user_store *store, uint32_t slot) {
    return HIDDEN(store, slot);
}

int64_t sr_user_store_user_id(const sr_user_store *store, uint32_t slot) {
    return ROW(store, slot)->user_id;
}

void sr_user_store_view(sr_user_store *store, uint32_t slot, sr_user_state_view *view) {
    view->hidden = HIDDEN(store, slot);
    view->recent_rows = RECENT_ROWS(store, slot);
    view->recent_types = RECENT_TYPES(store, slot);
    view->recent_count = ROW(store, slot)->recent_count;
    view->recent_head = ROW(store, slot)->recent_head;
}

void sr_user_store_view_save(sr_user_store *store, uint32_t slot, const sr_user_state_view *view) {
    size_t T = store->window;
    ROW(store, slot)->recent_count =
        (uint16_t)(view->recent_count < T ? view->recent_count : T);
    ROW(store, slot)->recent_head = (uint16_t)(view->recent_head % T);
}

static void set_dirty(sr_user_store *s, uint32_t slot, bool dirty) {
    uint8_t *flag = &ROW(s, slot)->flags;
    bool was = (*flag & ROW_DIRTY) != 0;
    if (dirty && !was) *flag |= ROW_DIRTY, s->dirty_users++;
    if (!dirty && was) *flag &= (uint8_t)~ROW_DIRTY, s->dirty_users--;
    if (dirty && !(*flag & ROW_LISTED)) {
        uint32_t *list = DIRTY_LIST(s);
        if (s->dirty_listed == DIRTY_PER_ROW * s->row_capacity) { /* only if a take was left unfinished */
            size_t kept = 0;
            for (size_t i = 0; i < s->dirty_listed; i++)
                if (ROW(s, list[i])->flags & ROW_LISTED) list[kept++] = list[i];
            s->dirty_listed = kept;
        }
        *flag |= ROW_LISTED;
        list[s->dirty_listed++] = slot;
    }
}

void sr_user_store_meta(const sr_user_store *store, uint32_t slot, sr_user_meta *meta) {
    const sr_user_store *s = store;
    meta->user_id = ROW(s, slot)->user_id;
    meta->applied_events = ROW(s, slot)->applied;
    meta->sequence_hash = ROW(s, slot)->sequence_hash;
    meta->last_event_time_ms = ROW(s, slot)->last_event_ms;
    meta->last_scored_at_ms = LAST_SCORED(s, slot);
    meta->events_since_scored = ROW(s, slot)->since_scored;
    meta->source_partition = ROW(s, slot)->source_partition;
    meta->source_offset = ROW(s, slot)->source_offset;
    meta->dirty = (ROW(s, slot)->flags & ROW_DIRTY) != 0;
    meta->pending_since_ms = PENDING_SINCE(s, slot);
    meta->model_generation = ROW(s, slot)->model_generation;
}

void sr_user_store_set_meta(sr_user_store *store, uint32_t slot, const sr_user_meta *meta) {
    sr_user_store *s = store;
    ROW(s, slot)->applied = meta->applied_events;
    ROW(s, slot)->sequence_hash = meta->sequence_hash;
    ROW(s, slot)->last_event_ms = meta->last_event_time_ms;
    LAST_SCORED(s, slot) = meta->last_scored_at_ms;
    ROW(s, slot)->since_scored = meta->events_since_scored;
    ROW(s, slot)->source_partition = meta->source_partition;
    ROW(s, slot)->source_offset = meta->source_offset;
    PENDING_SINCE(s, slot) = meta->pending_since_ms;
    ROW(s, slot)->model_generation = meta->model_generation;
    set_dirty(s, slot, meta->dirty);
}

void sr_user_store_applied(sr_user_store *store, uint32_t slot, const sr_user_store_event *event) {
    sr_user_store *s = store;
    ROW(s, slot)->applied++;
    uint64_t *hash = &ROW(s, slot)->sequence_hash;
    *hash = sr_user_store_hash_step(*hash, event->item_id, event->event_type);
    ROW(s, slot)->last_event_ms = event->event_time_ms;
    if (ROW(s, slot)->since_scored++ == 0)
        PENDING_SINCE(s, slot) = event->received_at_ms;
    ROW(s, slot)->source_partition = event->partition;
    ROW(s, slot)->source_offset = event->offset;
    set_dirty(s, slot, true);
}

void sr_user_store_scored(sr_user_store *store, uint32_t slot, int64_t now_ms) {
    LAST_SCORED(store, slot) = now_ms;
    ROW(store, slot)->since_scored = 0;
    PENDING_SINCE(store, slot) = 0;
}

uint32_t sr_user_store_model_generation(const sr_user_store *store, uint32_t slot) {
    return ROW(store, slot)->model_generation;
}

void sr_user_store_set_model_generation(sr_user_store *store, uint32_t slot, uint32_t generation) {
    ROW(store, slot)->model_generation = generation;
}

void sr_user_store_schedule_state(const sr_user_store *store, uint32_t slot,
                                  sr_user_schedule_state *state) {
    state->events_since_scored = ROW(store, slot)->since_scored;
    state->pending_since_ms = PENDING_SINCE(store, slot);
    state->last_scored_at_ms = LAST_SCORED(store, slot);
}

/* ---- Iteration and figures ---- */

static bool next_with(const sr_user_store *s, uint8_t flag, uint32_t *cursor, uint32_t *slot) {
    size_t row = *cursor;
    for (; row < s->rows_used; row++) {
        if (ROW(s, row)->flags & flag) {
            *slot = (uint32_t)row;
            *cursor = (uint32_t)row + 1;
            return true;
        }
    }
    *cursor = (uint32_t)row;
    return false;
}

bool sr_user_store_next(const sr_user_store *store, uint32_t *cursor, uint32_t *slot) {
    return store->users != 0 && next_with(store, ROW_LIVE, cursor, slot);
}

bool sr_user_store_take_dirty(sr_user_store *store, uint32_t *cursor, uint32_t *slot) {
    sr_user_store *s = store;
    uint32_t *list = DIRTY_LIST(s);
    while (*cursor < s->dirty_listed) {
        uint32_t row = list[(*cursor)++];
        ROW(s, row)->flags &= (uint8_t)~ROW_LISTED;
        if ((ROW(s, row)->flags & (ROW_LIVE | ROW_DIRTY)) == (ROW_LIVE | ROW_DIRTY)) {
            set_dirty(s, row, false);
            *slot = row;
            return true;
        }
    }
    s->dirty_listed = 0;
    *cursor = 0;
    return false;
}

void sr_user_store_stats_get(const sr_user_store *store, sr_user_store_stats *stats) {
    const sr_user_store *s = store;
    memset(stats, 0, sizeof *stats);
    stats->users = s->users;
    stats->max_users = s->config.max_users;
    stats->table_capacity = s->table_capacity;
    stats->row_capacity = s->row_capacity;
    stats->bytes_held = sizeof *s + s->table.bytes + s->records.bytes + s->dirty_list.bytes;
    stats->row_bytes = s->record_bytes + DIRTY_PER_ROW * sizeof(uint32_t);
    stats->dirty_users = s->dirty_users;
    stats->evictions = s->evictions;
    stats->expirations = s->expirations;
}
