/* test_replay_synthetic.c — the synthetic generator: deterministic for a seed,
 * learnable structure (Markov successors, event-type mix, purchases after
 * add_to_cart), and streaming memory (a million users, no per-event storage). */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "sr_replay.h"
#include "test_suite.h"

static sr_replay_source *open_synthetic(const sr_replay_options *o) {
    sr_replay_source *src;
    sr_error err;
    ck_assert_msg(sr_replay_source_open(SR_REPLAY_SYNTHETIC, NULL, o, &src, &err) == SR_OK,
                  "open: %s", err.message);
    return src;
}

static bool next_event(sr_replay_source *src, sr_user_event *e) {
    bool done;
    sr_error err;
    ck_assert_int_eq(sr_replay_source_next(src, e, &done, &err), SR_OK);
    return !done;
}

static void small_options(sr_replay_options *o) {
    sr_replay_options_init(o);
    o->users = 200;
    o->items = 300;
    o->events = 200000;
    o->cluster_size = 20;
}

START_TEST(same_seed_same_stream_other_seed_other_stream) {
    sr_replay_options o;
    small_options(&o);
    o.events = 20000;
    sr_replay_source *a = open_synthetic(&o), *b = open_synthetic(&o);
    o.seed = 99;
    sr_replay_source *c = open_synthetic(&o);
    sr_user_event x, y, z;
    size_t n = 0, differ = 0;
    while (next_event(a, &x)) {
        ck_assert(next_event(b, &y));
        ck_assert(next_event(c, &z));
        ck_assert_int_eq(x.user_id, y.user_id);
        ck_assert_int_eq(x.item_id, y.item_id);
        ck_assert_int_eq(x.event_type, y.event_type);
        ck_assert_int_eq(x.event_time_ms, y.event_time_ms);
        differ += x.item_id != z.item_id;
        n++;
    }
    ck_assert(!next_event(b, &y));
    ck_assert_uint_eq(n, 20000);
    ck_assert_uint_gt(differ, n / 2);
    sr_replay_source_free(a);
    sr_replay_source_free(b);
    sr_replay_source_free(c);
}
END_TEST

START_TEST(ids_types_and_times_in_range) {
    sr_replay_options o;
    small_options(&o);
    sr_replay_source *src = open_synthetic(&o);
    sr_user_event e;
    int64_t last_time = INT64_MIN;
    uint64_t types[SR_EVENT_TYPE_COUNT] = {0};
    while (next_event(src, &e)) {
        ck_assert(e.user_id >= 1 && e.user_id <= (int64_t)o.users);
        ck_assert(e.item_id >= 1 && e.item_id <= (int64_t)o.items);
        ck_assert_int_gt(e.event_time_ms, last_time);
        last_time = e.event_time_ms;
        types[e.event_type]++;
    }
    /* view >> click > add_to_cart > purchase */
    ck_assert_uint_gt(types[SR_EVENT_VIEW], 4 * types[SR_EVENT_CLICK]);
    ck_assert_uint_gt(types[SR_EVENT_CLICK], types[SR_EVENT_ADD_TO_CART]);
    ck_assert_uint_gt(types[SR_EVENT_ADD_TO_CART], types[SR_EVENT_PURCHASE]);
    ck_assert_uint_gt(types[SR_EVENT_PURCHASE], 0);
    sr_replay_stats stats = sr_replay_source_stats(src);
    ck_assert_uint_eq(stats.events_read, o.events);
    ck_assert_uint_eq(stats.events_total, o.events);
    sr_replay_source_free(src);
}
END_TEST

/* For each item, how often each other item follows it in a user's stream, and
 * how often a purchase follows an add_to_cart of the same item. */
typedef struct transitions {
    uint32_t *counts;       /* items x items, [from][to] */
    uint32_t *totals;       /* per from */
    uint64_t purchases, purchases_after_cart;
} transitions;

static void count_transitions(sr_replay_source *src, const sr_replay_options *o,
                              transitions *t) {
    size_t items = o->items + 1, users = o->users + 1;
    t->counts = calloc(items * items, sizeof *t->counts);
    t->totals = calloc(items, sizeof *t->totals);
    int64_t *previous = calloc(users, sizeof *previous), *cart = calloc(users, sizeof *cart);
    ck_assert(t->counts && t->totals && previous && cart);
    sr_user_event e;
    while (next_event(src, &e)) {
        int64_t u = e.user_id;
        if (e.event_type == SR_EVENT_PURCHASE) {
            t->purchases++;
            t->purchases_after_cart += cart[u] == e.item_id;
            continue;  /* a purchase does not move the user */
        }
        if (e.event_type == SR_EVENT_ADD_TO_CART) cart[u] = e.item_id;
        if (previous[u]) {
            t->counts[(size_t)previous[u] * items + (size_t)e.item_id]++;
            t->totals[previous[u]]++;
        }
        previous[u] = e.item_id;
    }
    free(previous);
    free(cart);
}

START_TEST(streams_have_learnable_structure) {
    sr_replay_options o;
    small_options(&o);
    sr_replay_source *src = open_synthetic(&o);
    transitions t = {0};
    count_transitions(src, &o, &t);
    /* Mean share of the most frequent successor over items seen often enough:
     * chance would be about 1/300; the generator promises about 0.8. */
    double share_sum = 0;
    int measured = 0;
    for (size_t from = 1; from <= o.items; from++) {
        if (t.totals[from] < 50) continue;
        uint32_t best = 0;
        for (size_t to = 1; to <= o.items; to++)
            if (t.counts[from * (o.items + 1) + to] > best) best = t.counts[from * (o.items + 1) + to];
        share_sum += (double)best / t.totals[from];
        measured++;
    }
    ck_assert_int_gt(measured, (int)o.items / 2);
    ck_assert_msg(share_sum / measured > 0.6, "top successor share %.3f", share_sum / measured);
    ck_assert_msg(t.purchases_after_cart * 10 > t.purchases * 6, "%llu of %llu purchases after cart",
                  (unsigned long long)t.purchases_after_cart, (unsigned long long)t.purchases);
    free(t.counts);
    free(t.totals);
    sr_replay_source_free(src);
}
END_TEST

#if defined(__SANITIZE_ADDRESS__)
#define HEAP_FROM_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HEAP_FROM_ASAN 1
#endif
#endif

#ifdef HEAP_FROM_ASAN
size_t __sanitizer_get_current_allocated_bytes(void);  /* sanitizer/allocator_interface.h */
#endif

/* Bytes the process has allocated now. Under ASan glibc's counters see none of
 * the allocations, so ask ASan's allocator instead. */
static long long heap_in_use(void) {
#ifdef HEAP_FROM_ASAN
    return (long long)__sanitizer_get_current_allocated_bytes();
#else
    struct mallinfo2 info = mallinfo2();
    return (long long)(info.uordblks + info.hblkhd);  /* arena + mmapped blocks */
#endif
}

START_TEST(million_users_stream_without_per_event_memory) {
    sr_replay_options o;
    sr_replay_options_init(&o);
    o.users = 1000000;
    o.items = 100000;
    o.events = 200000;
    /* Real heap use, not the source's own estimate: 8 bytes a user and 4 an
     * item at open, the same for 15x the events, and nothing per event. The
     * slack (well under a byte an event) covers allocator bookkeeping. */
    const long long slack = 1 << 20;
    long long before = heap_in_use();
    sr_replay_source *small = open_synthetic(&o);
    long long small_bytes = heap_in_use() - before;
    o.events = 3000000;
    before = heap_in_use();
    sr_replay_source *big = open_synthetic(&o);
    long long opened = heap_in_use();
    long long big_bytes = opened - before;
    ck_assert_msg(big_bytes < (long long)(8 * o.users + 4 * o.items) + slack,
                  "open took %lld bytes", big_bytes);
    ck_assert_msg(llabs(big_bytes - small_bytes) < slack, "%lld vs %lld bytes", big_bytes,
                  small_bytes);
    sr_user_event e;
    uint64_t n = 0;
    while (next_event(big, &e)) n++;
    ck_assert_uint_eq(n, o.events);
    ck_assert_msg(heap_in_use() - opened < slack, "%llu events grew the heap by %lld bytes",
                  (unsigned long long)n, heap_in_use() - opened);
    sr_replay_source_free(small);
    sr_replay_source_free(big);
}
END_TEST

START_TEST(bad_synthetic_options_rejected) {
    sr_replay_options o;
    sr_replay_options_init(&o);
    sr_replay_source *src;
    sr_error err;
    o.users = 0;
    ck_assert_int_eq(sr_replay_source_open(SR_REPLAY_SYNTHETIC, NULL, &o, &src, &err), SR_ERR_INVALID_ARG);
    sr_replay_options_init(&o);
    o.cluster_size = 0;
    ck_assert_int_eq(sr_replay_source_open(SR_REPLAY_SYNTHETIC, NULL, &o, &src, &err), SR_ERR_INVALID_ARG);
    sr_replay_options_init(&o);
    o.items = 1ULL << 33;
    ck_assert_int_eq(sr_replay_source_open(SR_REPLAY_SYNTHETIC, NULL, &o, &src, &err), SR_ERR_LIMIT);
    sr_replay_options_init(&o);
    o.time_step_ms = INT64_MAX / 2;
    ck_assert_int_eq(sr_replay_source_open(SR_REPLAY_SYNTHETIC, NULL, &o, &src, &err), SR_ERR_INVALID_ARG);
    sr_replay_options_init(&o);
    o.events = 0;  /* an empty stream is fine */
    ck_assert_int_eq(sr_replay_source_open(SR_REPLAY_SYNTHETIC, NULL, &o, &src, &err), SR_OK);
    sr_user_event e;
    ck_assert(!next_event(src, &e));
    sr_replay_source_free(src);
}
END_TEST

Suite *test_suite(void) {
    Suite *s = suite_create("replay_synthetic");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, same_seed_same_stream_other_seed_other_stream);
    tcase_add_test(tc, ids_types_and_times_in_range);
    tcase_add_test(tc, streams_have_learnable_structure);
    tcase_add_test(tc, million_users_stream_without_per_event_memory);
    tcase_add_test(tc, bad_synthetic_options_rejected);
    suite_add_tcase(s, tc);
    return s;
}
