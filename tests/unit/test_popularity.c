/* test_popularity.c — the time-decayed popularity ranking against scores
 * computed directly in double precision: exact decay, out-of-order events,
 * exclusions, ties, re-basing over a long span, eviction at the cap, the
 * cache's staleness, and a randomized comparison with a brute-force ranking. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sr_popularity.h"
#include "test_suite.h"

#define HOUR (3600 * 1000LL)
#define T0 INT64_C(1700000000000) /* some event time in 2023, in ms */

static uint64_t next_rand(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static sr_popularity *pop_new(int64_t half_life_ms, uint32_t max_items, int64_t refresh_ms,
                              uint32_t cache_size) {
    sr_popularity_config c = {.half_life_ms = half_life_ms, .max_items = max_items,
                              .refresh_ms = refresh_ms, .cache_size = cache_size, .seed = 42};
    sr_popularity *p;
    sr_error err;
    ck_assert_int_eq(sr_popularity_new(&c, &p, &err), SR_OK);
    return p;
}

static void add(sr_popularity *p, int64_t item, sr_event_type type, int64_t time_ms) {
    sr_error err;
    ck_assert_int_eq(sr_popularity_add(p, item, type, time_ms, &err), SR_OK);
}

static void add_views(sr_popularity *p, int64_t item, int count, int64_t time_ms) {
    for (int i = 0; i < count; i++) add(p, item, SR_EVENT_VIEW, time_ms);
}

static double score_of(const sr_popularity *p, int64_t item) {
    double score;
    ck_assert_msg(sr_popularity_score(p, item, &score), "item %lld not held", (long long)item);
    return score;
}

static bool held(const sr_popularity *p, int64_t item) {
    double score;
    return sr_popularity_score(p, item, &score);
}

static sr_popularity_stats stats_of(const sr_popularity *p) {
    sr_popularity_stats st;
    sr_popularity_stats_get(p, &st);
    return st;
}

/* top(n) without exclusions, its ids checked against expected[0..count). */
static void expect_top(sr_popularity *p, size_t n, const int64_t *expected, size_t count) {
    sr_recommended_item out[64];
    ck_assert_uint_eq(sr_popularity_top(p, n, NULL, 0, out), count);
    for (size_t i = 0; i < count; i++)
        ck_assert_msg(out[i].item_id == expected[i], "rank %zu: item %lld, expected %lld", i,
                      (long long)out[i].item_id, (long long)expected[i]);
}

START_TEST(decay_halves_per_half_life) {
    sr_popularity *p = pop_new(HOUR, 1000, SR_POPULARITY_REFRESH_ALWAYS, 0);
    add_views(p, 1, 2, T0);            /* two views one half-life before now */
    add_views(p, 3, 1, T0);            /* one view one half-life before now */
    add_views(p, 4, 1, T0 + HOUR / 2); /* half a half-life before now */
    add_views(p, 2, 1, T0 + HOUR);     /* one view now */
    ck_assert_double_eq_tol(score_of(p, 1), 1.0, 1e-12);
    ck_assert_double_eq_tol(score_of(p, 2), 1.0, 1e-12);
    ck_assert_double_eq_tol(score_of(p, 3), 0.5, 1e-12);
    ck_assert_double_eq_tol(score_of(p, 4), sqrt(0.5), 1e-12);

    sr_recommended_item out[8];
    ck_assert_uint_eq(sr_popularity_top(p, 8, NULL, 0, out), 4);
    /* Items 1 and 2 tie (up to rounding), then 4, then 3. */
    ck_assert(out[0].item_id + out[1].item_id == 3 && out[0].item_id != out[1].item_id);
    ck_assert_float_eq_tol(out[0].score, 1.0f, 1e-6f);
    ck_assert_float_eq_tol(out[1].score, 1.0f, 1e-6f);
    ck_assert_int_eq(out[2].item_id, 4);
    ck_assert_float_eq_tol(out[2].score, (float)sqrt(0.5), 1e-6f);
    ck_assert_int_eq(out[3].item_id, 3);
    ck_assert_float_eq_tol(out[3].score, 0.5f, 1e-6f);

    /* Three more half-lives: every score divides by 8, the order stays. */
    add(p, 99, SR_EVENT_VIEW, T0 + 4 * HOUR);
    ck_assert_double_eq_tol(score_of(p, 3), 0.5 / 8, 1e-14);
    ck_assert_double_eq_tol(score_of(p, 4), sqrt(0.5) / 8, 1e-14);
    sr_popularity_free(p);
}
END_TEST

START_TEST(type_weights_scale_events) {
    sr_popularity *p = pop_new(HOUR, 1000, SR_POPULARITY_REFRESH_ALWAYS, 0);
    add(p, 1, SR_EVENT_VIEW, T0);
    add(p, 2, SR_EVENT_CLICK, T0);
    add(p, 3, SR_EVENT_ADD_TO_CART, T0);
    add(p, 4, SR_EVENT_PURCHASE, T0);
    ck_assert_double_eq_tol(score_of(p, 1), SR_POPULARITY_DEFAULT_WEIGHT_VIEW, 1e-12);
    ck_assert_double_eq_tol(score_of(p, 2), SR_POPULARITY_DEFAULT_WEIGHT_CLICK, 1e-12);
    ck_assert_double_eq_tol(score_of(p, 3), SR_POPULARITY_DEFAULT_WEIGHT_ADD_TO_CART, 1e-12);
    ck_assert_double_eq_tol(score_of(p, 4), SR_POPULARITY_DEFAULT_WEIGHT_PURCHASE, 1e-12);
    expect_top(p, 4, (const int64_t[]){4, 3, 1, 2}, 4);
    sr_popularity_free(p);

    /* Custom weights; a weight of 0 counts the event but holds no item. */
    sr_popularity_config c = {.refresh_ms = SR_POPULARITY_REFRESH_ALWAYS,
                              .type_weights = {[SR_EVENT_PURCHASE] = 10.0, [SR_EVENT_CLICK] = 0.5}};
    sr_error err;
    ck_assert_int_eq(sr_popularity_new(&c, &p, &err), SR_OK);
    add(p, 1, SR_EVENT_VIEW, T0);
    add(p, 2, SR_EVENT_CLICK, T0);
    add(p, 3, SR_EVENT_PURCHASE, T0);
    ck_assert(!held(p, 1));
    ck_assert_double_eq_tol(score_of(p, 2), 0.5, 1e-12);
    ck_assert_double_eq_tol(score_of(p, 3), 10.0, 1e-12);
    sr_popularity_stats st = stats_of(p);
    ck_assert_uint_eq(st.events, 3);
    ck_assert_uint_eq(st.items, 2);
    expect_top(p, 5, (const int64_t[]){3, 2}, 2);
    sr_popularity_free(p);
}
END_TEST

START_TEST(out_of_order_events_add_their_decayed_weight) {
    sr_popularity *p = pop_new(HOUR, 1000, SR_POPULARITY_REFRESH_ALWAYS, 0);
    add(p, 10, SR_EVENT_VIEW, T0 + 2 * HOUR);
    add(p, 20, SR_EVENT_VIEW, T0); /* two half-lives older than stream time */
    ck_assert_int_eq(stats_of(p).stream_time_ms, T0 + 2 * HOUR);
    ck_assert_double_eq_tol(score_of(p, 10), 1.0, 1e-12);
    ck_assert_double_eq_tol(score_of(p, 20), 0.25, 1e-12);
    add(p, 10, SR_EVENT_VIEW, T0 + HOUR); /* late, one half-life old */
    ck_assert_double_eq_tol(score_of(p, 10), 1.5, 1e-12);
    ck_assert_int_eq(stats_of(p).stream_time_ms, T0 + 2 * HOUR);

    /* Late events outweighing a fresh one still rank by their decayed sum. */
    add_views(p, 20, 7, T0); /* 8 views two half-lives ago: 2.0 */
    ck_assert_double_eq_tol(score_of(p, 20), 2.0, 1e-12);
    expect_top(p, 2, (const int64_t[]){20, 10}, 2);

    /* An event so old that its weight is below DBL_MIN holds no item. */
    add(p, 30, SR_EVENT_PURCHASE, T0 - 2000 * HOUR);
    ck_assert(!held(p, 30));
    ck_assert_uint_eq(stats_of(p).events, 11);
    ck_assert_uint_eq(stats_of(p).items, 2);
    sr_popularity_free(p);
}
END_TEST

START_TEST(exclusions_are_skipped) {
    sr_popularity *p = pop_new(HOUR, 1000, SR_POPULARITY_REFRESH_ALWAYS, 4);
    for (int i = 1; i <= 10; i++) add_views(p, 100 + i, 11 - i, T0); /* 101 first ... 110 last */
    sr_recommended_item out[16];
    int64_t exclude[] = {101, 103, 999, 101};
    ck_assert_uint_eq(sr_popularity_top(p, 3, exclude, 4, out), 3);
    ck_assert_int_eq(out[0].item_id, 102);
    ck_assert_float_eq_tol(out[0].score, 9.0f, 1e-5f);
    ck_assert_int_eq(out[1].item_id, 104);
    ck_assert_int_eq(out[2].item_id, 105);

    /* n beyond what is left: every item not excluded, in order. */
    ck_assert_uint_eq(sr_popularity_top(p, 16, exclude, 4, out), 8);
    for (size_t i = 1; i < 8; i++) {
        ck_assert(out[i].score < out[i - 1].score);
        ck_assert(out[i].item_id != 101 && out[i].item_id != 103);
    }
    ck_assert_int_eq(out[7].item_id, 110);

    /* 64 exclusions (a user's recent items) around the top of 300 items. */
    int64_t many[64];
    for (int i = 0; i < 64; i++) many[i] = 1000 + 2 * i; /* every other of the top 128 */
    for (int i = 0; i < 300; i++) add_views(p, 1000 + i, 400 - i, T0);
    ck_assert_uint_eq(sr_popularity_top(p, 10, many, 64, out), 10);
    for (int i = 0; i < 10; i++) ck_assert_int_eq(out[i].item_id, 1001 + 2 * i);

    /* Everything excluded: nothing. */
    int64_t all[10];
    for (int i = 0; i < 10; i++) all[i] = 101 + i;
    sr_popularity *q = pop_new(HOUR, 1000, SR_POPULARITY_REFRESH_ALWAYS, 0);
    for (int i = 0; i < 10; i++) add(q, 101 + i, SR_EVENT_VIEW, T0);
    ck_assert_uint_eq(sr_popularity_top(q, 5, all, 10, out), 0);
    sr_popularity_free(q);
    sr_popularity_free(p);
}
END_TEST

START_TEST(ties_rank_the_lower_id_first) {
    sr_popularity *p = pop_new(HOUR, 1000, SR_POPULARITY_REFRESH_ALWAYS, 0);
    int64_t ids[] = {INT64_MAX, 5, -7, INT64_MIN, 0};
    for (int i = 0; i < 5; i++) add(p, ids[i], SR_EVENT_CLICK, T0);
    expect_top(p, 5, (const int64_t[]){INT64_MIN, -7, 0, 5, INT64_MAX}, 5);
    sr_popularity_free(p);

    /* A cache of 2 over 200 tied items keeps the two lowest ids. */
    p = pop_new(HOUR, 1000, SR_POPULARITY_REFRESH_ALWAYS, 2);
    uint64_t rng = 99;
    int64_t lowest = INT64_MAX, second = INT64_MAX;
    for (int i = 0; i < 200; i++) {
        int64_t id = (int64_t)next_rand(&rng);
        add(p, id, SR_EVENT_VIEW, T0);
        if (id < lowest) second = lowest, lowest = id;
        else if (id < second) second = id;
    }
    expect_top(p, 2, (const int64_t[]){lowest, second}, 2);
    sr_popularity_free(p);
}
END_TEST

/* One event of a long stream, for the reference. */
typedef struct ref_event {
    int64_t item;
    sr_event_type type;
    int64_t time_ms;
} ref_event;

static const double ref_weights[SR_EVENT_TYPE_COUNT] = {1.0, 1.0, 2.0, 4.0};

static int descending(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

/* Every item of ev[0..count) decayed to now, into sums[0..items). */
static void reference_scores(const ref_event *ev, size_t count, int64_t now, double half_life,
                             double *sums, size_t items) {
    memset(sums, 0, items * sizeof *sums);
    for (size_t i = 0; i < count; i++)
        sums[ev[i].item] += ref_weights[ev[i].type] * exp2(-(double)(now - ev[i].time_ms) / half_life);
}

/* Every item with a reference score that is not tiny is held with that score. */
static void expect_reference_scores(const sr_popularity *p, const double *sums, size_t items) {
    for (size_t item = 0; item < items; item++) {
        if (sums[item] < 1e-250) continue;
        double score = score_of(p, (int64_t)item);
        ck_assert_msg(fabs(score / sums[item] - 1.0) < 1e-9, "item %zu: %.17g, reference %.17g",
                      item, score, sums[item]);
    }
}

START_TEST(rebasing_over_a_long_span_keeps_ratios) {
    /* 5000 half-lives of a 1 s half-life: about 50 re-bases, each checked just
     * after it happens (when every score still comes through the re-based
     * counts) and at the end. Items 0-9 are seen only in the first 10% of the
     * span, so their scores end near 2^-4500, below DBL_MIN: expired; items
     * 10-49 throughout. */
    enum { EVENTS = 20000, ITEMS = 50 };
    const int64_t half_life = 1000, span = 5000 * half_life;
    ref_event *ev = malloc(EVENTS * sizeof *ev);
    double sums[ITEMS];
    sr_popularity *p = pop_new(half_life, 1000, SR_POPULARITY_REFRESH_ALWAYS, 0);
    uint64_t rng = 12345, rebases = 0, checks = 0;
    for (size_t i = 0; i < EVENTS; i++) {
        int64_t t = T0 + (int64_t)((double)span * (double)i / EVENTS);
        t -= (int64_t)(next_rand(&rng) % (uint64_t)(3 * half_life)); /* up to 3 s late */
        int64_t item = 10 + (int64_t)(next_rand(&rng) % (ITEMS - 10));
        if (i < EVENTS / 10 && i % 3 == 0) item = (int64_t)(next_rand(&rng) % 10);
        ev[i] = (ref_event){item, (sr_event_type)(next_rand(&rng) % SR_EVENT_TYPE_COUNT), t};
        add(p, item, ev[i].type, t);
        sr_popularity_stats st = stats_of(p);
        if (st.rebases != rebases) {
            rebases = st.rebases;
            reference_scores(ev, i + 1, st.stream_time_ms, (double)half_life, sums, ITEMS);
            expect_reference_scores(p, sums, ITEMS);
            checks++;
        }
    }
    sr_popularity_stats st = stats_of(p);
    ck_assert_uint_ge(st.rebases, 45);
    ck_assert_uint_le(st.rebases, 50);
    ck_assert_uint_eq(checks, st.rebases);
    ck_assert_uint_eq(st.expired, 10);

    double *ref = sums;
    reference_scores(ev, EVENTS, st.stream_time_ms, (double)half_life, ref, ITEMS);
    expect_reference_scores(p, ref, ITEMS);
    for (int64_t item = 0; item < 10; item++) {
        ck_assert(ref[item] < DBL_MIN);
        ck_assert(!held(p, item));
    }
    for (int64_t item = 10; item < ITEMS; item++) ck_assert(ref[item] > 1e-250);
    /* Ratios between items, and the ranking's head. */
    for (int64_t a = 10; a < ITEMS; a += 7)
        for (int64_t b = 11; b < ITEMS; b += 5)
            ck_assert(fabs((score_of(p, a) / score_of(p, b)) / (ref[a] / ref[b]) - 1.0) < 1e-9);
    double best[ITEMS - 10];
    for (int i = 0; i < ITEMS - 10; i++) best[i] = ref[10 + i];
    qsort(best, ITEMS - 10, sizeof *best, descending);
    sr_recommended_item out[5];
    ck_assert_uint_eq(sr_popularity_top(p, 5, NULL, 0, out), 5);
    for (int i = 0; i < 5; i++) {
        ck_assert(fabs(ref[out[i].item_id] / best[i] - 1.0) < 1e-9);
        ck_assert_float_eq_tol(out[i].score, (float)best[i], 1e-5f * (float)best[i]);
    }
    free(ev);
    sr_popularity_free(p);
}
END_TEST

START_TEST(a_jump_of_many_half_lives_expires_the_past) {
    sr_popularity *p = pop_new(1000, 1000, SR_POPULARITY_REFRESH_ALWAYS, 0);
    for (int i = 0; i < 20; i++) add_views(p, i, i + 1, T0);
    add(p, 100, SR_EVENT_VIEW, T0 + 2000 * 1000); /* 2000 half-lives later */
    sr_popularity_stats st = stats_of(p);
    ck_assert_uint_eq(st.rebases, 1);
    ck_assert_uint_eq(st.expired, 20);
    ck_assert_uint_eq(st.items, 1);
    expect_top(p, 3, (const int64_t[]){100}, 1);
    ck_assert_double_eq_tol(score_of(p, 100), 1.0, 1e-12);
    sr_popularity_free(p);
}
END_TEST

START_TEST(eviction_keeps_the_most_popular) {
    sr_popularity *p = pop_new(HOUR, 100, SR_POPULARITY_REFRESH_ALWAYS, 0);
    for (int i = 0; i < 100; i++) add_views(p, i, i + 1, T0); /* item i: i + 1 views */
    ck_assert_uint_eq(stats_of(p).items, 100);
    ck_assert_uint_eq(stats_of(p).evicted, 0);
    add(p, 1000, SR_EVENT_VIEW, T0); /* the 101st item: the lowest quarter goes */
    sr_popularity_stats st = stats_of(p);
    ck_assert_uint_eq(st.evicted, 25);
    ck_assert_uint_eq(st.items, 76);
    for (int i = 0; i < 25; i++) ck_assert(!held(p, i));
    for (int i = 25; i < 100; i++) ck_assert_double_eq_tol(score_of(p, i), i + 1, 1e-9);
    ck_assert_double_eq_tol(score_of(p, 1000), 1.0, 1e-12);
    expect_top(p, 3, (const int64_t[]){99, 98, 97}, 3);

    /* New items until the next eviction: the new, least popular ones go
     * (a quarter of 100), the top 75 stay. */
    for (int i = 1; i <= 24; i++) add(p, 1000 + i, SR_EVENT_VIEW, T0 + 1);
    ck_assert_uint_eq(stats_of(p).evicted, 25);
    add(p, 2000, SR_EVENT_PURCHASE, T0 + 1);
    st = stats_of(p);
    ck_assert_uint_eq(st.evicted, 50);
    ck_assert_uint_eq(st.items, 76);
    for (int i = 25; i < 100; i++) ck_assert(held(p, i));
    ck_assert(held(p, 2000));
    sr_popularity_free(p);
}
END_TEST

START_TEST(eviction_among_ties_drops_exactly_a_quarter) {
    sr_popularity *p = pop_new(HOUR, 64, SR_POPULARITY_REFRESH_ALWAYS, 0);
    for (int i = 0; i < 64; i++) add(p, i, SR_EVENT_VIEW, T0);
    add(p, 64, SR_EVENT_VIEW, T0);
    sr_popularity_stats st = stats_of(p);
    ck_assert_uint_eq(st.evicted, 16);
    ck_assert_uint_eq(st.items, 49);
    ck_assert(held(p, 64));
    sr_popularity_free(p);

    /* A cap of one: each new item replaces the last. */
    p = pop_new(HOUR, 1, SR_POPULARITY_REFRESH_ALWAYS, 0);
    add_views(p, 1, 5, T0);
    add(p, 2, SR_EVENT_VIEW, T0);
    ck_assert(!held(p, 1));
    expect_top(p, 2, (const int64_t[]){2}, 1);
    ck_assert_uint_eq(stats_of(p).evicted, 1);
    sr_popularity_free(p);
}
END_TEST

START_TEST(cache_is_stale_until_refresh_ms) {
    sr_popularity *p = pop_new(HOUR, 1000, 1000, 4);
    for (int i = 1; i <= 6; i++) add_views(p, i, 7 - i, T0); /* 1 best ... 6 worst */
    expect_top(p, 2, (const int64_t[]){1, 2}, 2);
    ck_assert_uint_eq(stats_of(p).cache_rebuilds, 1);

    add_views(p, 7, 100, T0 + 500); /* the new favourite, 500 ms later */
    sr_recommended_item out[2];
    ck_assert_uint_eq(sr_popularity_top(p, 2, NULL, 0, out), 2);
    ck_assert_int_eq(out[0].item_id, 1); /* stale: the ranking of T0 */
    ck_assert_int_eq(out[1].item_id, 2);
    /* ...with its scores decayed to stream time. */
    ck_assert_float_eq_tol(out[0].score, (float)(6.0 * exp2(-500.0 / HOUR)), 1e-5f);
    add(p, 8, SR_EVENT_VIEW, T0 + 999);
    expect_top(p, 2, (const int64_t[]){1, 2}, 2);
    ck_assert_uint_eq(stats_of(p).cache_rebuilds, 1);

    add(p, 8, SR_EVENT_VIEW, T0 + 1000); /* refresh_ms after the rebuild */
    expect_top(p, 2, (const int64_t[]){7, 1}, 2);
    ck_assert_uint_eq(stats_of(p).cache_rebuilds, 2);

    /* A call that needs more candidates than the cache holds gets them. */
    expect_top(p, 8, (const int64_t[]){7, 1, 2, 3, 4, 8, 5, 6}, 8); /* 8: 2 views, 5: 2 older */
    sr_popularity_free(p);
}
END_TEST

START_TEST(eviction_and_rebase_invalidate_the_cache) {
    sr_popularity *p = pop_new(HOUR, 8, SR_POPULARITY_MAX_REFRESH_MS, 4);
    for (int i = 1; i <= 8; i++) add_views(p, i, 10 - i, T0);
    expect_top(p, 2, (const int64_t[]){1, 2}, 2);
    add_views(p, 50, 100, T0); /* its first event evicts: the cache is rebuilt */
    expect_top(p, 2, (const int64_t[]){50, 1}, 2);
    sr_popularity_free(p);

    p = pop_new(1000, 100, SR_POPULARITY_MAX_REFRESH_MS, 4);
    add_views(p, 1, 10, T0);
    expect_top(p, 1, (const int64_t[]){1}, 1);
    add(p, 2, SR_EVENT_VIEW, T0 + 100 * 1000 + 1); /* past 100 half-lives: re-base */
    ck_assert_uint_eq(stats_of(p).rebases, 1);
    ck_assert(held(p, 1)); /* 10 * 2^-100: tiny, not expired */
    expect_top(p, 1, (const int64_t[]){2}, 1);
    sr_popularity_free(p);
}
END_TEST

START_TEST(cold_start_ranks_from_the_first_event) {
    sr_popularity *p = pop_new(HOUR, 1000, 1000, 0); /* default refresh and cache */
    sr_recommended_item out[4];
    ck_assert_uint_eq(sr_popularity_top(p, 4, NULL, 0, out), 0);
    add(p, 7, SR_EVENT_VIEW, T0);
    expect_top(p, 4, (const int64_t[]){7}, 1);
    add_views(p, 8, 2, T0); /* same millisecond: more items than cached, so fresh */
    expect_top(p, 4, (const int64_t[]){8, 7}, 2);
    sr_popularity_free(p);
}
END_TEST

/* An item of the randomized test with its reference score. */
typedef struct ranked {
    int64_t item;
    double score;
} ranked;

static int by_score_then_id(const void *a, const void *b) {
    const ranked *x = a, *y = b;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    return (x->item > y->item) - (x->item < y->item);
}

START_TEST(randomized_against_brute_force) {
    /* 40,000 events over 600 s of stream time with a 3 s half-life (two
     * re-bases), skewed popularity that drifts, events up to 10 s late; every
     * 4,000 events the top 20 is checked against every event decayed to now,
     * with up to 64 exclusions drawn mostly from the true head. */
    enum { EVENTS = 40000, POOL = 1500, CHECK_EVERY = 4000, N = 20 };
    const double half_life = 3000.0;
    int64_t *pool = malloc(POOL * sizeof *pool);
    ref_event *ev = malloc(EVENTS * sizeof *ev);
    size_t *ev_at = malloc(EVENTS * sizeof *ev_at); /* the pool index of each event */
    ranked *all = malloc(POOL * sizeof *all), *ref = malloc(POOL * sizeof *ref);
    double *sums = malloc(POOL * sizeof *sums);
    uint64_t rng = 2024;
    for (size_t i = 0; i < POOL; i++) pool[i] = (int64_t)next_rand(&rng);
    pool[0] = INT64_MIN, pool[1] = INT64_MAX, pool[2] = 0, pool[3] = -1;
    sr_popularity *p = pop_new((int64_t)half_life, 100000, SR_POPULARITY_REFRESH_ALWAYS, 0);

    for (size_t i = 0; i < EVENTS; i++) {
        uint64_t r = next_rand(&rng) % 1000;
        size_t k = (size_t)(r * r / 1000 * POOL / 1000); /* skewed to low k */
        k = (k + i / 2000 * 37) % POOL;                  /* drifting */
        int64_t t = T0 + (int64_t)i * 15 - (int64_t)(next_rand(&rng) % 10000);
        ev[i] = (ref_event){pool[k], (sr_event_type)(next_rand(&rng) % SR_EVENT_TYPE_COUNT), t};
        ev_at[i] = k;
        add(p, ev[i].item, ev[i].type, t);
        if ((i + 1) % CHECK_EVERY != 0) continue;

        int64_t now = stats_of(p).stream_time_ms;
        memset(sums, 0, POOL * sizeof *sums);
        for (size_t j = 0; j <= i; j++) /* brute force: every event decayed to now */
            sums[ev_at[j]] +=
                ref_weights[ev[j].type] * exp2(-(double)(now - ev[j].time_ms) / half_life);
        size_t held_count = 0;
        for (size_t j = 0; j < POOL; j++)
            if (sums[j] > 0.0) all[held_count++] = (ranked){pool[j], sums[j]};
        qsort(all, held_count, sizeof *all, by_score_then_id);

        int64_t exclude[64];
        size_t exclude_count = next_rand(&rng) % 65;
        for (size_t e = 0; e < exclude_count; e++)
            exclude[e] = e % 4 == 3 ? pool[next_rand(&rng) % POOL]
                                    : all[next_rand(&rng) % (held_count < 60 ? held_count : 60)].item;
        size_t live = 0;
        for (size_t j = 0; j < held_count; j++) {
            bool skip = false;
            for (size_t e = 0; e < exclude_count && !skip; e++) skip = exclude[e] == all[j].item;
            if (!skip) ref[live++] = all[j];
        }

        sr_recommended_item out[N];
        size_t got = sr_popularity_top(p, N, exclude, exclude_count, out);
        ck_assert_uint_eq(got, live < N ? live : N);
        double tolerance = 1e-5 * all[0].score;
        for (size_t j = 0; j < got; j++) {
            /* The j-th score is the reference's j-th (near-ties may swap ids)... */
            ck_assert_msg(fabs(out[j].score - ref[j].score) <= tolerance,
                          "checkpoint %zu rank %zu: %g vs reference %g", i, j, out[j].score,
                          ref[j].score);
            /* ...and the item's own reference score; not excluded, not repeated. */
            size_t at = 0;
            while (pool[at] != out[j].item_id) at++;
            ck_assert(fabs(out[j].score - sums[at]) <= tolerance);
            for (size_t e = 0; e < exclude_count; e++) ck_assert(out[j].item_id != exclude[e]);
            for (size_t m = 0; m < j; m++) ck_assert(out[m].item_id != out[j].item_id);
            double exact;
            ck_assert(sr_popularity_score(p, out[j].item_id, &exact));
            ck_assert(fabs(exact / sums[at] - 1.0) < 1e-9);
        }
    }
    sr_popularity_stats st = stats_of(p);
    ck_assert_uint_eq(st.events, EVENTS);
    ck_assert_uint_eq(st.evicted, 0);
    ck_assert_uint_ge(st.rebases, 1);
    free(sums);
    free(ref);
    free(all);
    free(ev_at);
    free(ev);
    free(pool);
    sr_popularity_free(p);
}
END_TEST

START_TEST(randomized_eviction_keeps_the_table_whole) {
    /* A cap of 500 under 3000 ids, many evictions and a few re-bases: every
     * held item stays findable (the sweeps' deletions keep the probe chains
     * whole), the counts add up, and the heavy hitters, far above any
     * eviction threshold, keep their exact full-history scores. */
    enum { EVENTS = 60000, POOL = 3000, HEAVY = 8, MAX_ITEMS = 500 };
    const double half_life = 5000.0;
    ref_event *ev = malloc(EVENTS * sizeof *ev);
    double *sums = malloc(POOL * sizeof *sums);
    sr_popularity *p = pop_new((int64_t)half_life, MAX_ITEMS, SR_POPULARITY_REFRESH_ALWAYS, 0);
    uint64_t rng = 77;
    for (size_t i = 0; i < EVENTS; i++) {
        uint64_t r = next_rand(&rng);
        /* Item ids 0..POOL-1, hashed by the ranking; a third of the events
         * on the HEAVY ids, the rest spread thin. */
        int64_t item = r % 3 == 0 ? (int64_t)(r / 3 % HEAVY) : (int64_t)(HEAVY + r / 3 % (POOL - HEAVY));
        int64_t t = T0 + (int64_t)i * 20 - (int64_t)(next_rand(&rng) % 2000);
        ev[i] = (ref_event){item, SR_EVENT_VIEW, t};
        add(p, item, SR_EVENT_VIEW, t);
        if ((i + 1) % 5000 != 0) continue;

        sr_popularity_stats st = stats_of(p);
        ck_assert_uint_le(st.items, MAX_ITEMS);
        size_t findable = 0;
        for (int64_t id = 0; id < POOL; id++) findable += held(p, id);
        ck_assert_uint_eq(findable, st.items);
        reference_scores(ev, i + 1, st.stream_time_ms, half_life, sums, POOL);
        for (int64_t id = 0; id < HEAVY; id++)
            ck_assert(fabs(score_of(p, id) / sums[id] - 1.0) < 1e-9);
        sr_recommended_item out[HEAVY];
        ck_assert_uint_eq(sr_popularity_top(p, HEAVY, NULL, 0, out), HEAVY);
        for (int k = 0; k < HEAVY; k++) ck_assert_int_lt(out[k].item_id, HEAVY);
    }
    sr_popularity_stats st = stats_of(p);
    ck_assert_uint_gt(st.evicted, 1000);
    ck_assert_uint_ge(st.rebases, 2);
    free(sums);
    free(ev);
    sr_popularity_free(p);
}
END_TEST

START_TEST(config_is_checked_and_zero_means_default) {
    sr_popularity_config bad[] = {
        {.half_life_ms = -1},
        {.half_life_ms = SR_POPULARITY_MAX_HALF_LIFE_MS + 1},
        {.max_items = SR_POPULARITY_MAX_ITEMS + 1},
        {.refresh_ms = -2},
        {.refresh_ms = SR_POPULARITY_MAX_REFRESH_MS + 1},
        {.cache_size = SR_POPULARITY_MAX_CACHE_SIZE + 1},
        {.type_weights = {1.0, -1.0}},
        {.type_weights = {1.0, NAN}},
        {.type_weights = {1.0, 1.0, 1.0, 2e6}},
    };
    const char *field[] = {"half_life_ms", "half_life_ms", "max_items", "refresh_ms", "refresh_ms",
                           "cache_size", "type_weights[click]", "type_weights[click]",
                           "type_weights[purchase]"};
    sr_popularity *p;
    sr_error err;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ck_assert_int_eq(sr_popularity_new(&bad[i], &p, &err), SR_ERR_CONFIG);
        ck_assert_msg(strstr(err.message, field[i]) != NULL, "case %zu: %s", i, err.message);
    }

    sr_popularity_config zero = {0};
    ck_assert_int_eq(sr_popularity_new(&zero, &p, &err), SR_OK);
    sr_popularity_stats st = stats_of(p);
    ck_assert_uint_eq(st.max_items, SR_POPULARITY_DEFAULT_MAX_ITEMS);
    ck_assert_uint_eq(st.cache_capacity, SR_POPULARITY_DEFAULT_CACHE_SIZE);
    ck_assert_int_eq(st.stream_time_ms, INT64_MIN);
    add(p, 1, SR_EVENT_PURCHASE, T0);
    add(p, 2, SR_EVENT_VIEW, T0 + SR_POPULARITY_DEFAULT_HALF_LIFE_MS);
    ck_assert_double_eq_tol(score_of(p, 1), SR_POPULARITY_DEFAULT_WEIGHT_PURCHASE / 2, 1e-12);
    /* The default refresh: 1000 ms of stream time. */
    expect_top(p, 1, (const int64_t[]){1}, 1);
    add_views(p, 2, 5, T0 + SR_POPULARITY_DEFAULT_HALF_LIFE_MS + 999);
    expect_top(p, 1, (const int64_t[]){1}, 1);
    add(p, 3, SR_EVENT_VIEW, T0 + SR_POPULARITY_DEFAULT_HALF_LIFE_MS + 1000);
    expect_top(p, 1, (const int64_t[]){2}, 1);
    sr_popularity_free(p);
    sr_popularity_free(NULL);
}
END_TEST

START_TEST(bad_event_type_and_empty_ranking) {
    sr_popularity *p = pop_new(HOUR, 1000, SR_POPULARITY_REFRESH_ALWAYS, 0);
    sr_recommended_item out[2];
    double score = -1.0;
    ck_assert_uint_eq(sr_popularity_top(p, 2, NULL, 0, out), 0);
    ck_assert(!sr_popularity_score(p, 1, &score));
    ck_assert_double_eq(score, 0.0);
    sr_error err;
    ck_assert_int_eq(sr_popularity_add(p, 1, SR_EVENT_TYPE_COUNT, T0, &err), SR_ERR_INVALID_ARG);
    ck_assert_int_eq(sr_popularity_add(p, 1, (sr_event_type)-1, T0, &err), SR_ERR_INVALID_ARG);
    sr_popularity_stats st = stats_of(p);
    ck_assert_uint_eq(st.events, 0);
    ck_assert_int_eq(st.stream_time_ms, INT64_MIN);
    add(p, 1, SR_EVENT_VIEW, T0);
    ck_assert_uint_eq(sr_popularity_top(p, 0, NULL, 0, out), 0);
    ck_assert_uint_eq(sr_popularity_top(p, 2, NULL, 0, out), 1);
    sr_popularity_free(p);
}
END_TEST

START_TEST(stats_and_bytes_follow_growth) {
    sr_popularity *p = pop_new(HOUR, 100000, SR_POPULARITY_REFRESH_ALWAYS, 0);
    size_t empty_bytes = sr_popularity_bytes(p);
    ck_assert_uint_gt(empty_bytes, 0);
    for (int i = 0; i < 10000; i++) add(p, i * 7919, SR_EVENT_VIEW, T0 + i);
    sr_popularity_stats st = stats_of(p);
    ck_assert_uint_eq(st.items, 10000);
    ck_assert_uint_eq(st.events, 10000);
    ck_assert_uint_eq(st.rebases, 0);
    ck_assert_int_eq(st.stream_time_ms, T0 + 9999);
    ck_assert_uint_eq(st.bytes_held, sr_popularity_bytes(p));
    /* 16-byte entries at load <= 3/4 in a power-of-two table. */
    ck_assert_uint_ge(st.bytes_held, empty_bytes + 10000 * 16 * 4 / 3);
    ck_assert_uint_le(st.bytes_held, empty_bytes + 10000 * 16 * 8 / 3);
    for (int i = 0; i < 10000; i++) ck_assert(held(p, i * 7919));
    ck_assert(!held(p, 7918));
    sr_popularity_free(p);
}
END_TEST

Suite *test_suite(void) {
    Suite *s = suite_create("popularity");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, decay_halves_per_half_life);
    tcase_add_test(tc, type_weights_scale_events);
    tcase_add_test(tc, out_of_order_events_add_their_decayed_weight);
    tcase_add_test(tc, exclusions_are_skipped);
    tcase_add_test(tc, ties_rank_the_lower_id_first);
    tcase_add_test(tc, rebasing_over_a_long_span_keeps_ratios);
    tcase_add_test(tc, a_jump_of_many_half_lives_expires_the_past);
    tcase_add_test(tc, eviction_keeps_the_most_popular);
    tcase_add_test(tc, eviction_among_ties_drops_exactly_a_quarter);
    tcase_add_test(tc, cache_is_stale_until_refresh_ms);
    tcase_add_test(tc, eviction_and_rebase_invalidate_the_cache);
    tcase_add_test(tc, cold_start_ranks_from_the_first_event);
    tcase_add_test(tc, randomized_against_brute_force);
    tcase_add_test(tc, randomized_eviction_keeps_the_table_whole);
    tcase_add_test(tc, config_is_checked_and_zero_means_default);
    tcase_add_test(tc, bad_event_type_and_empty_ranking);
    tcase_add_test(tc, stats_and_bytes_follow_growth);
    suite_add_tcase(s, tc);
    return s;
}
