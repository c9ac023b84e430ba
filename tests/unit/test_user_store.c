/* test_user_store.c — the per-user state store against plain references. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sr_user_store.h"
#include "test_suite.h"

static uint64_t next_rand(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static sr_user_store *store_new(size_t hidden, uint32_t T, uint32_t max_users, int64_t idle) {
    sr_user_store_config c = {.hidden_floats = hidden, .window = T, .max_users = max_users,
                              .idle_expiry_ms = idle, .seed = 42};
    sr_user_store *s;
    sr_error err;
    ck_assert_int_eq(sr_user_store_new(&c, &s, &err), SR_OK);
    return s;
}

static uint32_t upsert(sr_user_store *s, int64_t id, int64_t now, bool *inserted) {
    uint32_t slot;
    sr_error err;
    ck_assert_int_eq(sr_user_store_upsert(s, id, now, &slot, inserted, &err), SR_OK);
    return slot;
}

static size_t users_of(const sr_user_store *s) {
    sr_user_store_stats st;
    sr_user_store_stats_get(s, &st);
    return st.users;
}

/* A fingerprint of an id to store in a user's fields and check later. */
static float tag_of(int64_t id) { return (float)((uint64_t)id % 1000003u); }

/* Ids that probe the hash: the extremes, and patterns with equal low bits. */
static size_t special_ids(int64_t *out) {
    size_t n = 0;
    out[n++] = INT64_MIN, out[n++] = INT64_MAX, out[n++] = 0, out[n++] = -1, out[n++] = 1;
    out[n++] = INT64_MIN + 1, out[n++] = INT64_MAX - 1;
    for (int64_t i = 1; i <= 64; i++) {
        out[n++] = i << 32;
        out[n++] = (int64_t)((uint64_t)i << 48);
        out[n++] = -(i << 20);
        out[n++] = (int64_t)(UINT64_C(1) << 63 | (uint64_t)i << 40);
    }
    return n;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static bool in_sorted(const int64_t *ids, size_t n, int64_t id) {
    return bsearch(&id, ids, n, sizeof *ids, cmp_i64) != NULL;
}

START_TEST(bulk_random_ids_match_sorted_reference) {
    enum { N = 100000 };
    int64_t *ids = malloc((N + 300) * sizeof *ids);
    size_t n = special_ids(ids);
    uint64_t rng = 7;
    while (n < N) ids[n++] = (int64_t)next_rand(&rng);
    sr_user_store *s = store_new(4, 2, N + 300, 0);
    for (size_t i = 0; i < n; i++) {
        uint32_t slot = upsert(s, ids[i], 1, NULL);
        sr_user_store_hidden(s, slot)[0] = tag_of(ids[i]);
    }
    int64_t *sorted = malloc(n * sizeof *sorted);
    memcpy(sorted, ids, n * sizeof *ids);
    qsort(sorted, n, sizeof *sorted, cmp_i64);
    size_t distinct = 0;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || sorted[i] != sorted[distinct - 1]) sorted[distinct++] = sorted[i];
    ck_assert_uint_eq(users_of(s), distinct);
    for (size_t i = 0; i < n; i++) {
        uint32_t slot;
        ck_assert(sr_user_store_find(s, ids[i], &slot));
        ck_assert_int_eq(sr_user_store_user_id(s, slot), ids[i]);
        ck_assert(sr_user_store_hidden(s, slot)[0] == tag_of(ids[i]));
    }
    for (int k = 0; k < 100000; k++) {
        int64_t probe = (int64_t)next_rand(&rng) ^ 0x5555;
        ck_assert_int_eq(sr_user_store_find(s, probe, NULL), in_sorted(sorted, distinct, probe));
    }
    /* Remove every other distinct id; the rest stay, intact. */
    for (size_t i = 0; i < distinct; i += 2) ck_assert(sr_user_store_remove(s, sorted[i]));
    for (size_t i = 0; i < distinct; i += 2) ck_assert(!sr_user_store_remove(s, sorted[i]));
    ck_assert_uint_eq(users_of(s), distinct / 2);
    for (size_t i = 0; i < distinct; i++) {
        uint32_t slot;
        bool found = sr_user_store_find(s, sorted[i], &slot);
        ck_assert_int_eq(found, i % 2 == 1);
        if (found) ck_assert(sr_user_store_hidden(s, slot)[0] == tag_of(sorted[i]));
    }
    free(sorted);
    free(ids);
    sr_user_store_free(s);
}
END_TEST

START_TEST(random_operations_match_naive_map) {
    /* 1e5 random inserts, finds and removes over a pool of ids (special and
     * random), against an array indexed by pool position. */
    enum { POOL = 4000, OPS = 100000 };
    int64_t pool[POOL];
    size_t n = special_ids(pool);
    uint64_t rng = 99;
    while (n < POOL) pool[n++] = (int64_t)next_rand(&rng) >> (next_rand(&rng) % 40);
    qsort(pool, POOL, sizeof *pool, cmp_i64);
    for (size_t i = 1; i < POOL; i++)
        if (pool[i] == pool[i - 1]) pool[i] = pool[i - 1] + 1; /* distinct (sorted, so rare) */
    bool present[POOL] = {0};
    size_t count = 0;
    sr_user_store *s = store_new(3, 4, POOL, 0);
    for (int op = 0; op < OPS; op++) {
        size_t k = next_rand(&rng) % POOL;
        int kind = (int)(next_rand(&rng) % 3);
        uint32_t slot;
        if (kind == 0) {
            bool inserted;
            slot = upsert(s, pool[k], op, &inserted);
            ck_assert_int_eq(inserted, !present[k]);
            if (inserted) sr_user_store_hidden(s, slot)[2] = tag_of(pool[k]);
            count += !present[k];
            present[k] = true;
        } else if (kind == 1) {
            ck_assert_int_eq(sr_user_store_find(s, pool[k], &slot), present[k]);
            if (present[k]) ck_assert(sr_user_store_hidden(s, slot)[2] == tag_of(pool[k]));
        } else {
            ck_assert_int_eq(sr_user_store_remove(s, pool[k]), present[k]);
            count -= present[k];
            present[k] = false;
        }
        ck_assert_uint_eq(users_of(s), count);
    }
    /* Iteration visits each held user exactly once. */
    uint32_t cursor = 0, slot;
    size_t seen = 0;
    while (sr_user_store_next(s, &cursor, &slot)) {
        int64_t *hit = bsearch(&(int64_t){sr_user_store_user_id(s, slot)}, pool, POOL,
                               sizeof *pool, cmp_i64);
        ck_assert_ptr_nonnull(hit);
        ck_assert(present[hit - pool]);
        present[hit - pool] = false; /* a second visit would fail above */
        seen++;
    }
    ck_assert_uint_eq(seen, count);
    sr_user_store_free(s);
}
END_TEST

START_TEST(colliding_patterns) {
    /* Ids equal in their low 32, 40 or 48 bits, dense runs and negatives. */
    sr_user_store *s = store_new(1, 1, 100000, 0);
    int64_t ids[20000];
    size_t n = 0;
    for (int64_t i = 0; i < 5000; i++) {
        ids[n++] = i << 32;
        ids[n++] = (int64_t)((uint64_t)i << 48 | 7);
        ids[n++] = -i - 1;
        ids[n++] = 1000000 + i;
    }
    for (size_t i = 0; i < n; i++) upsert(s, ids[i], 0, NULL);
    ck_assert_uint_eq(users_of(s), n); /* all distinct */
    for (size_t i = 0; i < n; i++) ck_assert(sr_user_store_find(s, ids[i], NULL));
    for (size_t i = 0; i < n; i += 3) ck_assert(sr_user_store_remove(s, ids[i]));
    for (size_t i = 0; i < n; i++) ck_assert_int_eq(sr_user_store_find(s, ids[i], NULL), i % 3 != 0);
    ck_assert_uint_eq(users_of(s), n - (n + 2) / 3);
    sr_user_store_free(s);
}
END_TEST

START_TEST(growth_preserves_contents) {
    enum { N = 20000, H = 13, T = 5 };
    sr_user_store *s = store_new(H, T, N, 0);
    sr_user_store_stats before, after;
    sr_user_store_stats_get(s, &before);
    for (int64_t id = 0; id < N; id++) {
        uint32_t slot = upsert(s, id * 7919, id, NULL);
        sr_user_state_view v;
        sr_user_store_view(s, slot, &v);
        for (int h = 0; h < H; h++) v.hidden[h] = (float)(id + h);
        for (int t = 0; t < T; t++) v.recent_rows[t] = (int32_t)(id + t), v.recent_types[t] = (uint8_t)t;
        v.recent_count = 3, v.recent_head = 4;
        sr_user_store_view_save(s, slot, &v);
        sr_user_store_applied(s, slot, &(sr_user_store_event){.item_id = id, .event_type = 1,
                                                              .event_time_ms = id, .partition = 2,
                                                              .offset = id * 3});
    }
    sr_user_store_stats_get(s, &after);
    ck_assert_uint_gt(after.table_capacity, before.table_capacity);
    ck_assert_uint_ge(after.row_capacity, N);
    ck_assert_uint_le(after.row_capacity, N);  /* capped at max_users */
    ck_assert_uint_ge(after.table_capacity / 4 * 3, N);
    ck_assert_uint_eq(after.dirty_users, N);
    for (int64_t id = 0; id < N; id++) {
        uint32_t slot;
        ck_assert(sr_user_store_find(s, id * 7919, &slot));
        sr_user_state_view v;
        sr_user_store_view(s, slot, &v);
        ck_assert_uint_eq((uintptr_t)v.hidden % 32, 0);
        for (int h = 0; h < H; h++) ck_assert(v.hidden[h] == (float)(id + h));
        for (int t = 0; t < T; t++) {
            ck_assert_int_eq(v.recent_rows[t], id + t);
            ck_assert_int_eq(v.recent_types[t], t);
        }
        ck_assert_uint_eq(v.recent_count, 3);
        ck_assert_uint_eq(v.recent_head, 4);
        sr_user_meta m;
        sr_user_store_meta(s, slot, &m);
        ck_assert_int_eq(m.user_id, id * 7919);
        ck_assert_uint_eq(m.applied_events, 1);
        ck_assert_uint_eq(m.sequence_hash, sr_user_store_hash_step(SR_USER_STORE_HASH_SEED, id, 1));
        ck_assert_int_eq(m.last_event_time_ms, id);
        ck_assert_int_eq(m.source_partition, 2);
        ck_assert_int_eq(m.source_offset, id * 3);
        ck_assert_uint_eq(m.events_since_scored, 1);
        ck_assert(m.dirty);
    }
    sr_user_store_free(s);
}
END_TEST

typedef struct removal_log {
    int64_t ids[4096];
    int64_t times[4096];
    sr_user_removal why[4096];
    size_t count;
} removal_log;

static void log_removal(void *context, sr_user_store *store, uint32_t slot, int64_t user_id,
                        sr_user_removal why) {
    removal_log *log = context;
    sr_user_meta m;
    sr_user_store_meta(store, slot, &m);
    ck_assert_int_eq(m.user_id, user_id); /* the slot is still readable */
    ck_assert_uint_lt(log->count, 4096);
    log->ids[log->count] = user_id;
    log->times[log->count] = m.last_event_time_ms;
    log->why[log->count++] = why;
}

static sr_user_store *logged_store(uint32_t max_users, int64_t idle, uint64_t seed,
                                   removal_log *log) {
    sr_user_store_config c = {.hidden_floats = 8, .window = 4, .max_users = max_users,
                              .idle_expiry_ms = idle, .seed = seed, .on_removed = log_removal,
                              .on_removed_context = log};
    sr_user_store *s;
    sr_error err;
    ck_assert_int_eq(sr_user_store_new(&c, &s, &err), SR_OK);
    return s;
}

START_TEST(eviction_at_cap_keeps_size_and_evicts_old_first) {
    enum { CAP = 2000, MORE = 500 };
    static removal_log log;
    log.count = 0;
    sr_user_store *s = logged_store(CAP, 0, 1, &log);
    /* User i last active at time i. */
    for (int64_t i = 0; i < CAP + MORE; i++) {
        bool inserted;
        upsert(s, i, i, &inserted);
        ck_assert(inserted);
        ck_assert_uint_le(users_of(s), CAP);
    }
    sr_user_store_stats st;
    sr_user_store_stats_get(s, &st);
    ck_assert_uint_eq(st.users, CAP);
    ck_assert_uint_eq(st.evictions, MORE);
    ck_assert_uint_eq(log.count, MORE);
    size_t from_oldest_half = 0;
    double mean_age_rank = 0;
    for (size_t k = 0; k < log.count; k++) {
        ck_assert_int_eq(log.why[k], SR_USER_EVICTED);
        ck_assert(!sr_user_store_find(s, log.ids[k], NULL));
        from_oldest_half += log.ids[k] < CAP / 2;
        mean_age_rank += (double)log.ids[k];
    }
    mean_age_rank /= (double)log.count;
    /* With 8 samples the victim is the oldest of 8: nearly all come from the
     * oldest half, none from the newest tenth of the original users. */
    ck_assert_uint_ge(from_oldest_half, MORE * 9 / 10);
    ck_assert(mean_age_rank < CAP / 3.0);
    for (int64_t i = CAP - CAP / 10; i < CAP; i++) ck_assert(sr_user_store_find(s, i, NULL));
    /* The newest users, just inserted, are held. */
    for (int64_t i = CAP + MORE - 50; i < CAP + MORE; i++) ck_assert(sr_user_store_find(s, i, NULL));
    sr_user_store_free(s);
}
END_TEST

START_TEST(cap_of_one) {
    static removal_log log;
    log.count = 0;
    sr_user_store *s = logged_store(1, 0, 3, &log);
    for (int64_t i = 0; i < 10; i++) upsert(s, i, i, NULL);
    ck_assert_uint_eq(users_of(s), 1);
    ck_assert(sr_user_store_find(s, 9, NULL));
    ck_assert_uint_eq(log.count, 9);
    for (int64_t i = 0; i < 9; i++) ck_assert_int_eq(log.ids[i], i);
    sr_user_store_free(s);
}
END_TEST

START_TEST(expiry_is_incremental_and_counted) {
    enum { N = 1000 };
    static removal_log log;
    log.count = 0;
    sr_user_store *s = logged_store(N, 100, 5, &log);
    /* Even users last active at 0, odd at 1000. */
    for (int64_t i = 0; i < N; i++) upsert(s, i, i % 2 ? 1000 : 0, NULL);
    ck_assert_uint_eq(sr_user_store_expire(s, 100, N), 0);   /* idle exactly 100: kept */
    ck_assert_uint_eq(sr_user_store_expire(s, 101, 10), 5);  /* looks at 10 rows only */
    size_t removed = 5, calls = 1;
    while (removed < N / 2) {
        size_t r = sr_user_store_expire(s, 101, 10);
        ck_assert_uint_le(r, 10);
        removed += r;
        ck_assert_uint_lt(++calls, 1000);
    }
    ck_assert_uint_eq(removed, N / 2);
    ck_assert_uint_eq(sr_user_store_expire(s, 101, N), 0);
    sr_user_store_stats st;
    sr_user_store_stats_get(s, &st);
    ck_assert_uint_eq(st.users, N / 2);
    ck_assert_uint_eq(st.expirations, N / 2);
    ck_assert_uint_eq(st.evictions, 0);
    ck_assert_uint_eq(log.count, N / 2);
    for (size_t k = 0; k < log.count; k++) {
        ck_assert_int_eq(log.why[k], SR_USER_EXPIRED);
        ck_assert_int_eq(log.ids[k] % 2, 0);
    }
    /* An applied event refreshes activity. */
    uint32_t slot;
    ck_assert(sr_user_store_find(s, 1, &slot));
    sr_user_store_applied(s, slot, &(sr_user_store_event){.item_id = 5, .event_time_ms = 5000});
    ck_assert_uint_eq(sr_user_store_expire(s, 5050, N), N / 2 - 1);
    ck_assert_uint_eq(users_of(s), 1);
    sr_user_store_free(s);

    /* idle_expiry_ms = 0: never. */
    s = store_new(1, 1, 10, 0);
    upsert(s, 1, 0, NULL);
    ck_assert_uint_eq(sr_user_store_expire(s, INT64_MAX, 10), 0);
    ck_assert_uint_eq(users_of(s), 1);
    sr_user_store_free(s);
}
END_TEST

START_TEST(remove_then_reinsert_starts_fresh) {
    sr_user_store *s = store_new(8, 4, 10, 0);
    uint32_t slot = upsert(s, 77, 1, NULL);
    sr_user_state_view v;
    sr_user_store_view(s, slot, &v);
    for (int h = 0; h < 8; h++) v.hidden[h] = 1.5f;
    v.recent_rows[0] = 9, v.recent_count = 1, v.recent_head = 1;
    sr_user_store_view_save(s, slot, &v);
    sr_user_store_applied(s, slot, &(sr_user_store_event){.item_id = 9, .event_time_ms = 3,
                                                          .partition = 1, .offset = 4});
    sr_user_store_scored(s, slot, 10);
    ck_assert(sr_user_store_remove(s, 77));
    ck_assert(!sr_user_store_find(s, 77, NULL));
    sr_user_store_stats st;
    sr_user_store_stats_get(s, &st);
    ck_assert_uint_eq(st.dirty_users, 0);
    bool inserted;
    uint32_t again = upsert(s, 77, 20, &inserted);
    ck_assert(inserted);
    ck_assert_uint_eq(again, slot); /* the freed row is reused */
    sr_user_store_view(s, again, &v);
    for (int h = 0; h < 8; h++) ck_assert(v.hidden[h] == 0.0f);
    ck_assert_uint_eq(v.recent_count, 0);
    ck_assert_uint_eq(v.recent_head, 0);
    sr_user_meta m;
    sr_user_store_meta(s, again, &m);
    ck_assert_uint_eq(m.applied_events, 0);
    ck_assert_uint_eq(m.sequence_hash, SR_USER_STORE_HASH_SEED);
    ck_assert_int_eq(m.last_event_time_ms, 20);
    ck_assert_int_eq(m.last_scored_at_ms, 0);
    ck_assert_int_eq(m.source_partition, -1);
    ck_assert_int_eq(m.source_offset, -1);
    ck_assert(!m.dirty);
    sr_user_store_free(s);
}
END_TEST

START_TEST(view_steps_in_place_like_the_model) {
    /* The model steps a store view exactly as it steps a state it owns. */
    sr_model_config mc = {.item_count = 50, .embed_dim = 8, .hidden_dim = 8, .window = 4,
                          .cell = SR_CELL_GRU, .attention = SR_ATTENTION_HIDDEN};
    sr_error err;
    sr_model *model;
    ck_assert_int_eq(sr_model_new(&mc, &model, &err), SR_OK);
    sr_model_init_random(model, 3);
    sr_model_workspace *ws;
    ck_assert_int_eq(sr_model_workspace_new(&mc, 1, &ws, &err), SR_OK);
    size_t F = sr_model_state_floats(&mc), T = mc.window;
    sr_user_store *s = store_new(F, (uint32_t)T, 100, 0);
    for (int64_t u = 0; u < 10; u++) upsert(s, u, 0, NULL); /* neighbours around the user */

    float own_hidden[64] = {0};
    int32_t own_rows[4];
    uint8_t own_types[4];
    sr_user_state_view own = {own_hidden, own_rows, own_types, 0, 0};
    ck_assert_uint_le(F, 64);
    for (int step = 0; step < 7; step++) {
        int32_t row = 3 + step * 5;
        uint8_t type = (uint8_t)(step % SR_EVENT_TYPE_COUNT);
        uint32_t slot;
        ck_assert(sr_user_store_find(s, 4, &slot));
        sr_user_state_view v, *vp = &v, *op = &own;
        sr_user_store_view(s, slot, &v);
        sr_model_step_batch(model, 1, &row, &type, &vp, ws);
        sr_user_store_view_save(s, slot, &v);
        sr_user_store_applied(s, slot, &(sr_user_store_event){.item_id = row, .event_type = type});
        sr_model_step_batch(model, 1, &row, &type, &op, ws);

        sr_user_store_view(s, slot, &v);
        ck_assert_uint_eq(v.recent_count, own.recent_count);
        ck_assert_uint_eq(v.recent_head, own.recent_head);
        ck_assert_uint_eq(v.recent_count, step + 1 < 4 ? step + 1 : 4);
        /* The newest is at (head - 1) mod T. */
        ck_assert_int_eq(v.recent_rows[(v.recent_head + T - 1) % T], row);
        ck_assert_int_eq(v.recent_types[(v.recent_head + T - 1) % T], type);
        for (size_t i = 0; i < v.recent_count; i++) {
            ck_assert_int_eq(v.recent_rows[i], own_rows[i]);
            ck_assert_int_eq(v.recent_types[i], own_types[i]);
        }
        ck_assert_mem_eq(v.hidden, own_hidden, F * sizeof(float));
    }
    /* Neighbours untouched. */
    for (int64_t u = 0; u < 10; u++) {
        if (u == 4) continue;
        uint32_t slot;
        ck_assert(sr_user_store_find(s, u, &slot));
        const float *h = sr_user_store_hidden(s, slot);
        for (size_t f = 0; f < F; f++) ck_assert(h[f] == 0.0f);
    }
    sr_user_store_free(s);
    sr_model_workspace_free(ws);
    sr_model_free(model);
}
END_TEST

/* FNV-1a 64 over a byte string: the definition the hash step must match. */
static uint64_t fnv1a(uint64_t h, const uint8_t *bytes, size_t n) {
    for (size_t i = 0; i < n; i++) h = (h ^ bytes[i]) * UINT64_C(0x100000001b3);
    return h;
}

START_TEST(hash_step_is_fnv1a_deterministic_and_order_sensitive) {
    /* FNV-1a of the empty string is the offset basis; of "a" a published value. */
    ck_assert_uint_eq(fnv1a(SR_USER_STORE_HASH_SEED, (const uint8_t *)"a", 1),
                      UINT64_C(0xaf63dc4c8601ec8c));
    int64_t item = 0x0102030405060708;
    uint8_t bytes[9] = {8, 7, 6, 5, 4, 3, 2, 1, 3}; /* little-endian id, then the type */
    ck_assert_uint_eq(sr_user_store_hash_step(SR_USER_STORE_HASH_SEED, item, 3),
                      fnv1a(SR_USER_STORE_HASH_SEED, bytes, 9));
    uint64_t a = SR_USER_STORE_HASH_SEED, b = a, c = a;
    a = sr_user_store_hash_step(sr_user_store_hash_step(a, 10, 0), 20, 0);
    b = sr_user_store_hash_step(sr_user_store_hash_step(b, 20, 0), 10, 0);
    c = sr_user_store_hash_step(sr_user_store_hash_step(c, 10, 0), 20, 0);
    ck_assert_uint_eq(a, c);
    ck_assert_uint_ne(a, b);
    ck_assert_uint_ne(sr_user_store_hash_step(SR_USER_STORE_HASH_SEED, 10, 0),
                      sr_user_store_hash_step(SR_USER_STORE_HASH_SEED, 10, 1));
    ck_assert_uint_ne(sr_user_store_hash_step(SR_USER_STORE_HASH_SEED, -1, 0),
                      sr_user_store_hash_step(SR_USER_STORE_HASH_SEED, INT64_MAX, 0));
}
END_TEST

/* The dirty list against a model: random applies, removals (with row reuse)
 * and takes, some left unfinished; every take returns exactly the users
 * dirtied since they were last taken, each once, and only held ones. */
START_TEST(take_dirty_matches_a_model) {
    enum { USERS = 300 };
    sr_user_store *s = store_new(2, 2, 200, 0);
    bool dirty[USERS] = {0};
    uint64_t rng = 7;
    for (int round = 0; round < 400; round++) {
        for (int k = 0; k < 50; k++) {
            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            int64_t u = (int64_t)((rng >> 33) % USERS);
            if ((rng >> 20) % 5 == 0) {
                if (sr_user_store_remove(s, u)) dirty[u] = false;
                continue;
            }
            uint32_t slot = upsert(s, u, round, NULL);
            sr_user_store_applied(s, slot, &(sr_user_store_event){.item_id = u, .event_time_ms = round});
            dirty[u] = true;
        }
        /* evictions at the cap (200 of 300) removed users: they are not dirty */
        for (int64_t u = 0; u < USERS; u++)
            if (!sr_user_store_find(s, u, NULL)) dirty[u] = false;
        uint32_t cursor = 0, slot;
        bool seen[USERS] = {0};
        bool finish = round % 7 != 0;
        size_t taken = 0;
        while (sr_user_store_take_dirty(s, &cursor, &slot)) {
            int64_t u = sr_user_store_user_id(s, slot);
            ck_assert_msg(dirty[u] && !seen[u], "round %d: user %lld", round, (long long)u);
            seen[u] = true;
            dirty[u] = false;
            if (!finish && ++taken == 10) break; /* left unfinished: the rest stays */
        }
    }
    sr_user_store_free(s);
}
END_TEST

START_TEST(dirty_iteration_scoring_and_meta_restore) {
    sr_user_store *s = store_new(2, 2, 100, 0);
    for (int64_t u = 0; u < 50; u++) upsert(s, u, 0, NULL);
    uint32_t cursor = 0, slot;
    ck_assert(!sr_user_store_take_dirty(s, &cursor, &slot));
    for (int64_t u = 0; u < 50; u += 7) {
        ck_assert(sr_user_store_find(s, u, &slot));
        sr_user_store_applied(s, slot, &(sr_user_store_event){.item_id = u, .event_time_ms = 1});
        sr_user_store_applied(s, slot, &(sr_user_store_event){.item_id = u + 1, .event_time_ms = 2});
    }
    size_t dirty = 0;
    cursor = 0;
    while (sr_user_store_take_dirty(s, &cursor, &slot)) {
        int64_t u = sr_user_store_user_id(s, slot);
        ck_assert_int_eq(u % 7, 0);
        sr_user_meta m;
        sr_user_store_meta(s, slot, &m);
        ck_assert_uint_eq(m.applied_events, 2);
        ck_assert_uint_eq(m.events_since_scored, 2);
        ck_assert_uint_eq(m.sequence_hash,
                          sr_user_store_hash_step(sr_user_store_hash_step(SR_USER_STORE_HASH_SEED, u, 0),
                                                  u + 1, 0));
        sr_user_store_scored(s, slot, 99);
        sr_user_store_meta(s, slot, &m);
        ck_assert_int_eq(m.last_scored_at_ms, 99);
        ck_assert_uint_eq(m.events_since_scored, 0);
        ck_assert(!m.dirty); /* taken */
        dirty++;
    }
    ck_assert_uint_eq(dirty, 8);
    cursor = 0;
    ck_assert(!sr_user_store_take_dirty(s, &cursor, &slot));

    /* A restored user carries every scalar field. */
    sr_user_meta in = {.applied_events = 12, .sequence_hash = 34, .last_event_time_ms = 56,
                       .last_scored_at_ms = 78, .events_since_scored = 9, .source_partition = 3,
                       .source_offset = 1234, .dirty = true, .pending_since_ms = 77,
                       .model_generation = 5}, out;
    slot = upsert(s, 1000, 0, NULL);
    sr_user_store_set_meta(s, slot, &in);
    memset(&out, 0, sizeof out); /* padding compares equal */
    sr_user_store_meta(s, slot, &out);
    in.user_id = 1000;
    ck_assert_mem_eq(&in, &out, sizeof in);
    sr_user_store_stats st;
    sr_user_store_stats_get(s, &st);
    ck_assert_uint_eq(st.dirty_users, 1);

    /* Removing the current user while iterating is allowed. */
    cursor = 0;
    size_t visited = 0;
    while (sr_user_store_next(s, &cursor, &slot)) {
        visited++;
        if (sr_user_store_user_id(s, slot) % 2 == 0) sr_user_store_remove(s, sr_user_store_user_id(s, slot));
    }
    ck_assert_uint_eq(visited, 51);
    ck_assert_uint_eq(users_of(s), 25);
    sr_user_store_free(s);
}
END_TEST

START_TEST(scheduling_fields_and_generation) {
    sr_user_store *s = store_new(2, 2, 10, 0);
    uint32_t slot = upsert(s, 7, 0, NULL);
    sr_user_schedule_state st;
    sr_user_store_schedule_state(s, slot, &st);
    ck_assert_uint_eq(st.events_since_scored, 0);
    ck_assert_int_eq(st.pending_since_ms, 0);
    /* The first unscored event starts the delay; later ones do not move it. */
    sr_user_store_applied(s, slot, &(sr_user_store_event){.item_id = 1, .received_at_ms = 100});
    sr_user_store_applied(s, slot, &(sr_user_store_event){.item_id = 2, .received_at_ms = 150});
    sr_user_store_schedule_state(s, slot, &st);
    ck_assert_uint_eq(st.events_since_scored, 2);
    ck_assert_int_eq(st.pending_since_ms, 100);
    sr_user_store_scored(s, slot, 160);
    sr_user_store_schedule_state(s, slot, &st);
    ck_assert_int_eq(st.pending_since_ms, 0);
    ck_assert_int_eq(st.last_scored_at_ms, 160);
    sr_user_store_applied(s, slot, &(sr_user_store_event){.item_id = 3, .received_at_ms = 170});
    sr_user_store_schedule_state(s, slot, &st);
    ck_assert_int_eq(st.pending_since_ms, 170);

    ck_assert_uint_eq(sr_user_store_model_generation(s, slot), 0);
    sr_user_store_set_model_generation(s, slot, 3);
    ck_assert_uint_eq(sr_user_store_model_generation(s, slot), 3);
    sr_user_store_free(s);
}
END_TEST

START_TEST(make_room_evicts_ahead_of_inserts) {
    static removal_log log;
    log.count = 0;
    sr_user_store_config c = {.hidden_floats = 2, .window = 2, .max_users = 10, .seed = 1,
                              .on_removed = log_removal, .on_removed_context = &log};
    sr_user_store *s;
    sr_error err;
    ck_assert_int_eq(sr_user_store_new(&c, &s, &err), SR_OK);
    for (int64_t u = 0; u < 10; u++) upsert(s, u, u, NULL);
    ck_assert_uint_eq(sr_user_store_make_room(s, 0), 0);
    ck_assert_uint_eq(sr_user_store_make_room(s, 4), 4);
    ck_assert_uint_eq(users_of(s), 6);
    ck_assert_uint_eq(log.count, 4);
    /* Four new users now fit without evicting anyone. */
    for (int64_t u = 100; u < 104; u++) upsert(s, u, 100, NULL);
    ck_assert_uint_eq(log.count, 4);
    ck_assert_uint_eq(users_of(s), 10);
    /* More than the cap empties the store at most. */
    ck_assert_uint_eq(sr_user_store_make_room(s, 50), 10);
    ck_assert_uint_eq(users_of(s), 0);
    sr_user_store_stats st;
    sr_user_store_stats_get(s, &st);
    ck_assert_uint_eq(st.evictions, 14);
    sr_user_store_free(s);
}
END_TEST

START_TEST(same_seed_same_behaviour) {
    static removal_log a, b;
    a.count = b.count = 0;
    sr_user_store *sa = logged_store(300, 50, 11, &a), *sb = logged_store(300, 50, 11, &b);
    uint64_t rng = 5;
    for (int op = 0; op < 20000; op++) {
        int64_t id = (int64_t)(next_rand(&rng) % 1000), now = op / 10;
        uint32_t x = upsert(sa, id, now, NULL), y = upsert(sb, id, now, NULL);
        ck_assert_uint_eq(x, y);
        if (op % 100 == 0) ck_assert_uint_eq(sr_user_store_expire(sa, now, 20), sr_user_store_expire(sb, now, 20));
        ck_assert_uint_eq(a.count, b.count);
        if (a.count > 3000) {
            ck_assert_mem_eq(a.ids, b.ids, a.count * sizeof *a.ids);
            a.count = b.count = 0;
        }
    }
    ck_assert_uint_eq(a.count, b.count);
    ck_assert_mem_eq(a.ids, b.ids, a.count * sizeof *a.ids);
    sr_user_store_stats x, y;
    sr_user_store_stats_get(sa, &x);
    sr_user_store_stats_get(sb, &y);
    ck_assert_mem_eq(&x, &y, sizeof x);
    ck_assert_uint_gt(x.evictions, 0);
    ck_assert_uint_gt(x.expirations, 0);
    sr_user_store_free(sa);
    sr_user_store_free(sb);
}
END_TEST

START_TEST(config_is_checked) {
    sr_user_store_config good = {.hidden_floats = 64, .window = 16, .max_users = 10};
    sr_user_store_config bad[] = {
        {.hidden_floats = 0, .window = 16, .max_users = 10},
        {.hidden_floats = 64, .window = 0, .max_users = 10},
        {.hidden_floats = 64, .window = 70000, .max_users = 10},
        {.hidden_floats = 64, .window = 16, .max_users = 0},
        {.hidden_floats = 64, .window = 16, .max_users = 10, .idle_expiry_ms = -1},
        {.hidden_floats = 64, .window = 16, .max_users = 10, .eviction_samples = 1000},
    };
    sr_user_store *s = NULL;
    sr_error err;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ck_assert_int_eq(sr_user_store_new(&bad[i], &s, &err), SR_ERR_CONFIG);
        ck_assert_ptr_nonnull(strstr(err.message, "user store"));
    }
    ck_assert_int_eq(sr_user_store_new(&good, &s, &err), SR_OK);
    sr_user_store_stats st;
    sr_user_store_stats_get(s, &st);
    ck_assert_uint_eq(st.users, 0);
    /* the user_row, hidden, ring rows and types, two times, the dirty list */
    ck_assert_uint_eq(st.row_bytes, 64 + 256 + 64 + 16 + 8 + 8 + 8);
    ck_assert_uint_gt(st.bytes_held, 0);
    uint32_t cursor = 0, slot;
    ck_assert(!sr_user_store_next(s, &cursor, &slot));
    ck_assert(!sr_user_store_find(s, 0, NULL));
    ck_assert(!sr_user_store_remove(s, 0));
    sr_user_store_free(s);
    sr_user_store_free(NULL);
}
END_TEST

Suite *test_suite(void) {
    Suite *s = suite_create("user_store");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, bulk_random_ids_match_sorted_reference);
    tcase_add_test(tc, random_operations_match_naive_map);
    tcase_add_test(tc, colliding_patterns);
    tcase_add_test(tc, growth_preserves_contents);
    tcase_add_test(tc, eviction_at_cap_keeps_size_and_evicts_old_first);
    tcase_add_test(tc, cap_of_one);
    tcase_add_test(tc, expiry_is_incremental_and_counted);
    tcase_add_test(tc, remove_then_reinsert_starts_fresh);
    tcase_add_test(tc, view_steps_in_place_like_the_model);
    tcase_add_test(tc, hash_step_is_fnv1a_deterministic_and_order_sensitive);
    tcase_add_test(tc, dirty_iteration_scoring_and_meta_restore);
    tcase_add_test(tc, take_dirty_matches_a_model);
    tcase_add_test(tc, scheduling_fields_and_generation);
    tcase_add_test(tc, make_room_evicts_ahead_of_inserts);
    tcase_add_test(tc, same_seed_same_behaviour);
    tcase_add_test(tc, config_is_checked);
    suite_add_tcase(s, tc);
    return s;
}
