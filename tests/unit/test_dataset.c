/* test_dataset.c — sr_dataset: grouping per user through the replay source,
 * the leave-one-out boundaries, training counts, and events from a stream. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sr_dataset.h"
#include "test_suite.h"

static const char *fixture(const char *name) {
    static char path[1024];
    const char *dir = getenv("STREAMREC_TEST_DATA");
    snprintf(path, sizeof path, "%s/%s", dir ? dir : STREAMREC_SOURCE_DIR "/tests/data", name);
    return path;
}

static sr_dataset load_fixture(uint64_t seed) {
    sr_replay_options o;
    sr_replay_options_init(&o);
    o.on_bad_line = SR_BAD_LINE_FAIL;
    o.seed = seed;
    sr_dataset d;
    sr_error err;
    sr_status s = sr_dataset_load(SR_REPLAY_LINES, fixture("eval_lines.txt"), &o, &d, &err);
    ck_assert_msg(s == SR_OK, "%s", err.message);
    return d;
}

/* eval_lines.txt: 1: 10 11 12 13 | 2: 11 13 | 3: 12 10 14 | 4: 14 14 10 12 */
START_TEST(groups_users_in_id_order_keeping_their_order) {
    sr_dataset d = load_fixture(1);
    ck_assert_uint_eq(d.user_count, 4);
    ck_assert_uint_eq(d.event_count, 13);
    ck_assert_uint_eq(d.vocab.count, 5);  /* 10..14 -> rows 0..4 */
    int64_t users[] = {1, 2, 3, 4};
    size_t offsets[] = {0, 4, 6, 9, 13};
    int32_t rows[] = {0, 1, 2, 3, 1, 3, 2, 0, 4, 4, 4, 0, 2};
    for (size_t u = 0; u < 4; u++) ck_assert_int_eq(d.user_ids[u], users[u]);
    for (size_t u = 0; u <= 4; u++) ck_assert_uint_eq(d.offsets[u], offsets[u]);
    for (size_t e = 0; e < 13; e++) {
        ck_assert_int_eq(d.rows[e], rows[e]);
        ck_assert_uint_eq(d.types[e], SR_EVENT_VIEW);
    }
    sr_dataset_free(&d);
    sr_dataset_free(&d);  /* safe twice */
}
END_TEST

START_TEST(the_interleaving_seed_does_not_change_the_dataset) {
    sr_dataset a = load_fixture(1), b = load_fixture(987654321);
    ck_assert_uint_eq(a.event_count, b.event_count);
    ck_assert_int_eq(memcmp(a.rows, b.rows, a.event_count * sizeof *a.rows), 0);
    ck_assert_int_eq(memcmp(a.user_ids, b.user_ids, a.user_count * sizeof *a.user_ids), 0);
    sr_dataset_free(&a);
    sr_dataset_free(&b);
}
END_TEST

START_TEST(leave_one_out_boundaries) {
    sr_dataset d = load_fixture(1);
    /* user 1 (n=4): train 2 events; user 2 (n=2): training only; user 3 (n=3):
     * train 1; user 4 (n=4): train 2 */
    ck_assert_uint_eq(sr_dataset_train_end(&d, 0), 2);
    ck_assert_uint_eq(sr_dataset_train_end(&d, 1), 6);
    ck_assert_uint_eq(sr_dataset_train_end(&d, 2), 7);
    ck_assert_uint_eq(sr_dataset_train_end(&d, 3), 11);
    ck_assert(sr_dataset_evaluated(&d, 0));
    ck_assert(!sr_dataset_evaluated(&d, 1));
    ck_assert(sr_dataset_evaluated(&d, 2));
    ck_assert(sr_dataset_evaluated(&d, 3));
    /* training occurrences: 10:1 11:2 12:1 13:1 14:2 (targets never counted) */
    uint32_t counts[] = {1, 2, 1, 1, 2};
    for (int r = 0; r < 5; r++) ck_assert_uint_eq(d.item_counts[r], counts[r]);
    sr_dataset_free(&d);
}
END_TEST

START_TEST(from_events_groups_a_stream) {
    sr_user_event ev[] = {
        {.user_id = 9, .item_id = 100, .event_type = SR_EVENT_CLICK, .event_time_ms = 1},
        {.user_id = -5, .item_id = 200, .event_type = SR_EVENT_VIEW, .event_time_ms = 2},
        {.user_id = 9, .item_id = 300, .event_type = SR_EVENT_PURCHASE, .event_time_ms = 3},
        {.user_id = -5, .item_id = 100, .event_type = SR_EVENT_ADD_TO_CART, .event_time_ms = 4},
        {.user_id = 9, .item_id = 100, .event_type = SR_EVENT_VIEW, .event_time_ms = 5},
    };
    sr_dataset d;
    ck_assert_int_eq(sr_dataset_from_events(ev, 5, &d, NULL), SR_OK);
    ck_assert_uint_eq(d.user_count, 2);
    ck_assert_int_eq(d.user_ids[0], -5);
    ck_assert_int_eq(d.user_ids[1], 9);
    int64_t times[] = {2, 4, 1, 3, 5};
    uint8_t types[] = {SR_EVENT_VIEW, SR_EVENT_ADD_TO_CART, SR_EVENT_CLICK, SR_EVENT_PURCHASE,
                       SR_EVENT_VIEW};
    int32_t rows[] = {1, 0, 0, 2, 0};  /* 100 -> 0, 200 -> 1, 300 -> 2 */
    for (int e = 0; e < 5; e++) {
        ck_assert_int_eq(d.times[e], times[e]);
        ck_assert_uint_eq(d.types[e], types[e]);
        ck_assert_int_eq(d.rows[e], rows[e]);
    }
    /* user 9 (n=3) trains on its first event only; user -5 (n=2) on both */
    ck_assert_uint_eq(d.item_counts[0], 2);
    ck_assert_uint_eq(d.item_counts[1], 1);
    ck_assert_uint_eq(d.item_counts[2], 0);
    sr_dataset_free(&d);
}
END_TEST

START_TEST(from_events_rejects_a_bad_event_type) {
    sr_user_event ev[] = {{.user_id = 1, .item_id = 1, .event_type = (sr_event_type)9}};
    sr_dataset d;
    sr_error err;
    ck_assert_int_eq(sr_dataset_from_events(ev, 1, &d, &err), SR_ERR_INVALID_VALUE);
    ck_assert_ptr_null(d.rows);
}
END_TEST

START_TEST(empty_stream_is_an_empty_dataset) {
    sr_dataset d;
    ck_assert_int_eq(sr_dataset_from_events(NULL, 0, &d, NULL), SR_OK);
    ck_assert_uint_eq(d.user_count, 0);
    ck_assert_uint_eq(d.vocab.count, 0);
    sr_dataset_free(&d);
}
END_TEST

START_TEST(missing_file_fails_with_io) {
    sr_dataset d;
    sr_error err;
    ck_assert_int_eq(sr_dataset_load(SR_REPLAY_LINES, fixture("no_such_file.txt"), NULL, &d, &err),
                     SR_ERR_IO);
    ck_assert_int_eq(sr_dataset_load(SR_REPLAY_SYNTHETIC, NULL, NULL, &d, &err),
                     SR_ERR_INVALID_ARG);
}
END_TEST

START_TEST(bad_line_fails_under_fail_policy) {
    sr_replay_options o;
    sr_replay_options_init(&o);
    o.on_bad_line = SR_BAD_LINE_FAIL;
    sr_dataset d;
    sr_error err;
    ck_assert_int_eq(sr_dataset_load(SR_REPLAY_LINES, fixture("replay_lines_bad.txt"), &o, &d, &err),
                     SR_ERR_PARSE);
}
END_TEST

Suite *test_suite(void) {
    Suite *s = suite_create("dataset");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, groups_users_in_id_order_keeping_their_order);
    tcase_add_test(tc, the_interleaving_seed_does_not_change_the_dataset);
    tcase_add_test(tc, leave_one_out_boundaries);
    tcase_add_test(tc, from_events_groups_a_stream);
    tcase_add_test(tc, from_events_rejects_a_bad_event_type);
    tcase_add_test(tc, empty_stream_is_an_empty_dataset);
    tcase_add_test(tc, missing_file_fails_with_io);
    tcase_add_test(tc, bad_line_fails_under_fail_policy);
    suite_add_tcase(s, tc);
    return s;
}
