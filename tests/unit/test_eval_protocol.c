/* test_eval_protocol.c — the evaluation protocols end to end on tiny fixtures:
 * split boundaries, history masking, the popularity baseline, drawn negatives
 * and the negatives file. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sr_eval.h"
#include "test_suite.h"

#define EPS 1e-9

static const char *fixture(const char *name) {
    static char path[1024];
    const char *dir = getenv("STREAMREC_TEST_DATA");
    snprintf(path, sizeof path, "%s/%s", dir ? dir : STREAMREC_SOURCE_DIR "/tests/data", name);
    return path;
}

/* eval_lines.txt: 1: 10 11 12 13 | 2: 11 13 | 3: 12 10 14 | 4: 14 14 10 12
 * (rows: 10 -> 0 ... 14 -> 4; user 2 is training-only). */
static sr_dataset load_fixture(void) {
    sr_replay_options o;
    sr_replay_options_init(&o);
    o.on_bad_line = SR_BAD_LINE_FAIL;
    sr_dataset d;
    sr_error err;
    sr_status s = sr_dataset_load(SR_REPLAY_LINES, fixture("eval_lines.txt"), &o, &d, &err);
    ck_assert_msg(s == SR_OK, "%s", err.message);
    return d;
}

/* A scorer that records what it was asked and scores history rows 1000, the
 * rest by row number. */
typedef struct recorder {
    size_t calls, users;
    int64_t user_ids[8];
    size_t lengths[8];
    int32_t last_rows[8];
    uint32_t count;
} recorder;

static sr_status record_scorer(void *context, size_t batch, const sr_eval_query *q, float *scores,
                               sr_error *err) {
    (void)err;
    recorder *r = context;
    r->calls++;
    for (size_t b = 0; b < batch; b++) {
        r->user_ids[r->users] = q[b].user_id;
        r->lengths[r->users] = q[b].length;
        r->last_rows[r->users++] = q[b].rows[q[b].length - 1];
        float *row = scores + b * r->count;
        for (uint32_t i = 0; i < r->count; i++) row[i] = (float)i;
        for (size_t i = 0; i < q[b].length; i++) row[q[b].rows[i]] = 1000;
    }
    return SR_OK;
}

START_TEST(split_boundaries_and_batches) {
    sr_dataset d = load_fixture();
    sr_eval_options o;
    sr_eval_options_init(&o);
    o.batch = 2;
    recorder r = {.count = d.vocab.count};
    sr_eval_metrics m;
    ck_assert_int_eq(sr_eval_run(&d, &o, record_scorer, &r, &m, NULL), SR_OK);
    ck_assert_uint_eq(m.users, 3);
    ck_assert_uint_eq(r.calls, 2);  /* 2 + 1 */
    int64_t users[] = {1, 3, 4};
    size_t test_len[] = {3, 2, 3};
    int32_t test_last[] = {2, 0, 0};  /* 12, 10, 10: the validation targets */
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(r.user_ids[i], users[i]);
        ck_assert_uint_eq(r.lengths[i], test_len[i]);
        ck_assert_int_eq(r.last_rows[i], test_last[i]);
    }
    recorder v = {.count = d.vocab.count};
    o.split = SR_SPLIT_VALID;
    ck_assert_int_eq(sr_eval_run(&d, &o, record_scorer, &v, &m, NULL), SR_OK);
    size_t valid_len[] = {2, 1, 2};
    int32_t valid_last[] = {1, 2, 4};  /* 11, 12, 14 */
    for (int i = 0; i < 3; i++) {
        ck_assert_uint_eq(v.lengths[i], valid_len[i]);
        ck_assert_int_eq(v.last_rows[i], valid_last[i]);
    }
    sr_dataset_free(&d);
}
END_TEST

/* The recorder scores history items 1000: masked away, they never outrank the
 * target. User 5's test target repeats a history item: it is not masked. */
START_TEST(history_is_masked_but_never_the_target) {
    sr_user_event ev[] = {
        {.user_id = 5, .item_id = 20}, {.user_id = 5, .item_id = 21}, {.user_id = 5, .item_id = 20},
        {.user_id = 6, .item_id = 22}, {.user_id = 6, .item_id = 23}, {.user_id = 6, .item_id = 19},
    };
    sr_dataset d;
    ck_assert_int_eq(sr_dataset_from_events(ev, 6, &d, NULL), SR_OK);
    sr_eval_options o;
    sr_eval_options_init(&o);
    recorder r = {.count = d.vocab.count};
    sr_eval_metrics m;
    ck_assert_int_eq(sr_eval_run(&d, &o, record_scorer, &r, &m, NULL), SR_OK);
    /* user 5: target 20 (row 1) scores 1000 as a history item and stays; 21
     * masked; 19, 22, 23 below -> rank 0. user 6: target 19 (row 0, score 0)
     * behind 20 and 21 (rows 1, 2); 22, 23 masked -> rank 2. */
    ck_assert_uint_eq(m.users, 2);
    ck_assert_double_eq_tol(m.hr1, 0.5, EPS);
    ck_assert_double_eq_tol(m.hr5, 1, EPS);
    ck_assert_double_eq_tol(m.mrr, (1 + 1.0 / 3) / 2, EPS);
    ck_assert_double_eq_tol(m.candidates, (3 + 2) / 2.0, EPS);
    /* S3-Rec's masking: user 5's repeated target is masked with its history:
     * it ranks behind all 3 candidates (a miss for any cut-off below the
     * catalogue); user 6 is unchanged at rank 2. */
    o.mask_repeated_target = 1;
    ck_assert_int_eq(sr_eval_run(&d, &o, record_scorer, &r, &m, NULL), SR_OK);
    ck_assert_double_eq_tol(m.hr1, 0, EPS);
    ck_assert_double_eq_tol(m.hr5, 1, EPS);
    ck_assert_double_eq_tol(m.mrr, (1.0 / 4 + 1.0 / 3) / 2, EPS);
    sr_dataset_free(&d);
}
END_TEST

static sr_eval_metrics run_pop(const sr_dataset *d, sr_eval_options *o) {
    sr_eval_popularity pop;
    ck_assert_int_eq(sr_eval_popularity_init(&pop, d, o->split, 0, NULL), SR_OK);
    sr_eval_metrics m;
    ck_assert_int_eq(sr_eval_run(d, o, sr_eval_popularity_scorer, &pop, &m, NULL), SR_OK);
    sr_eval_popularity_free(&pop);
    return m;
}

START_TEST(popularity_baseline_on_the_fixture) {
    sr_dataset d = load_fixture();
    sr_eval_options o;
    sr_eval_options_init(&o);
    /* test counts (training + validation targets): 10:3 11:2 12:2 13:1 14:2.
     * user 1: target 13 (1) behind 14 (2) -> rank 1; user 3: target 14 (2) ties
     * 11 -> 1; user 4: target 12 (2) ties 11 -> 1. */
    sr_eval_metrics m = run_pop(&d, &o);
    ck_assert_uint_eq(m.users, 3);
    ck_assert_double_eq_tol(m.hr1, 0, EPS);
    ck_assert_double_eq_tol(m.hr5, 1, EPS);
    ck_assert_double_eq_tol(m.ndcg5, 1 / log2(3), EPS);
    ck_assert_double_eq_tol(m.mrr, 0.5, EPS);
    o.ties = SR_EVAL_TIES_EXPECTED;
    m = run_pop(&d, &o);
    ck_assert_double_eq_tol(m.hr1, 1.0 / 3, EPS);
    ck_assert_double_eq_tol(m.ndcg5, (1 / log2(3) + 1 + 1 / log2(3)) / 3, EPS);
    ck_assert_double_eq_tol(m.mrr, (0.5 + 0.75 + 0.75) / 3, EPS);
    /* valid (training counts 10:1 11:2 12:1 13:1 14:2): ranks 2, 3, 3 */
    o.ties = SR_EVAL_TIES_PESSIMISTIC;
    o.split = SR_SPLIT_VALID;
    m = run_pop(&d, &o);
    ck_assert_double_eq_tol(m.hr1, 0, EPS);
    ck_assert_double_eq_tol(m.mrr, (1.0 / 3 + 0.25 + 0.25) / 3, EPS);
    sr_dataset_free(&d);
}
END_TEST

START_TEST(sampled_with_the_negatives_file) {
    sr_dataset d = load_fixture();
    sr_eval_negatives neg;
    sr_error err;
    ck_assert_msg(sr_eval_negatives_load(fixture("eval_negatives.txt"), &d, &neg, &err) == SR_OK,
                  "%s", err.message);
    ck_assert_uint_eq(neg.user_count, 4);
    ck_assert_uint_eq(neg.offsets[1] - neg.offsets[0], 1);
    ck_assert_uint_eq(neg.offsets[2] - neg.offsets[1], 0);
    ck_assert_int_eq(neg.rows[neg.offsets[2]], 1);      /* user 3: 11, 13 */
    ck_assert_int_eq(neg.rows[neg.offsets[2] + 1], 3);
    sr_eval_options o;
    sr_eval_options_init(&o);
    o.protocol = SR_EVAL_SAMPLED;
    o.negatives = &neg;
    /* user 1: 13 (1) vs 14 (2) -> 1; user 3: 14 (2) vs 11 (2), 13 (1) -> 1;
     * user 4: 12 (2) vs 11 (2), 13 (1) -> 1 */
    sr_eval_metrics m = run_pop(&d, &o);
    ck_assert_double_eq_tol(m.mrr, 0.5, EPS);
    ck_assert_double_eq_tol(m.candidates, 5.0 / 3, EPS);
    sr_eval_negatives_free(&neg);
    /* a line for a training-only user is fine */
    ck_assert_int_eq(sr_eval_negatives_load(fixture("eval_negatives_extra_user.txt"), &d, &neg, &err),
                     SR_OK);
    sr_eval_negatives_free(&neg);
    sr_dataset_free(&d);
}
END_TEST

static void expect_file_error(const sr_dataset *d, const char *name, sr_status status,
                              const char *text) {
    sr_eval_negatives neg;
    sr_error err;
    ck_assert_int_eq(sr_eval_negatives_load(fixture(name), d, &neg, &err), status);
    ck_assert_msg(strstr(err.message, text) != NULL, "%s: '%s' lacks '%s'", name, err.message, text);
    ck_assert_ptr_null(neg.rows);
}

START_TEST(negatives_file_errors) {
    sr_dataset d = load_fixture();
    expect_file_error(&d, "eval_negatives_bad_id.txt", SR_ERR_PARSE, ":2: 'x13' is not an integer");
    expect_file_error(&d, "eval_negatives_interacted.txt", SR_ERR_PARSE,
                      ":2: item 12 is in the user's sequence");
    expect_file_error(&d, "eval_negatives_missing.txt", SR_ERR_NOT_FOUND, "no negatives for user 3");
    expect_file_error(&d, "eval_negatives_duplicate.txt", SR_ERR_PARSE, ":2: item 11 is given twice");
    expect_file_error(&d, "eval_negatives_unknown_item.txt", SR_ERR_PARSE,
                      ":1: item 99 is not in the dataset");
    expect_file_error(&d, "eval_negatives_empty.txt", SR_ERR_PARSE, ":2: user 3 has no negatives");
    expect_file_error(&d, "eval_negatives_twice.txt", SR_ERR_PARSE, ":2: user 1 has a second line");
    expect_file_error(&d, "no_such_negatives.txt", SR_ERR_IO, "no_such_negatives.txt");
    sr_dataset_free(&d);
}
END_TEST

/* 40 users over 300 items, user u interacting with items u .. u + 4u % 60. */
static sr_dataset sampling_fixture(void) {
    size_t n = 0;
    sr_user_event *ev = malloc(40 * 80 * sizeof *ev);
    for (int64_t u = 0; u < 40; u++)
        for (int64_t i = 0; i < 5 + (4 * u) % 60; i++)
            ev[n++] = (sr_user_event){.user_id = u, .item_id = (u + i * 7) % 300};
    for (int64_t i = 0; i < 300; i++)  /* a user that makes every item exist */
        ev[n++] = (sr_user_event){.user_id = 1000, .item_id = i};
    sr_dataset d;
    ck_assert_int_eq(sr_dataset_from_events(ev, n, &d, NULL), SR_OK);
    free(ev);
    return d;
}

static void check_negatives(const sr_dataset *d, const sr_eval_negatives *neg, size_t want) {
    for (size_t u = 0; u < d->user_count; u++) {
        size_t n = neg->offsets[u + 1] - neg->offsets[u];
        if (!sr_dataset_evaluated(d, u)) {
            ck_assert_uint_eq(n, 0);
            continue;
        }
        ck_assert_uint_le(n, want);
        const int32_t *rows = neg->rows + neg->offsets[u];
        for (size_t i = 0; i < n; i++) {
            ck_assert_int_lt(rows[i], (int32_t)d->vocab.count);
            for (size_t e = d->offsets[u]; e < d->offsets[u + 1]; e++)
                ck_assert_int_ne(rows[i], d->rows[e]);
            for (size_t j = 0; j < i; j++) ck_assert_int_ne(rows[i], rows[j]);
        }
    }
}

START_TEST(drawn_negatives_avoid_interactions_and_repeat_per_seed) {
    sr_dataset d = sampling_fixture();
    for (int kind = 0; kind < 2; kind++) {
        sr_eval_negatives a, b, c;
        ck_assert_int_eq(sr_eval_negatives_sample(&d, 99, (sr_eval_sampler)kind, 7, &a, NULL), SR_OK);
        ck_assert_int_eq(sr_eval_negatives_sample(&d, 99, (sr_eval_sampler)kind, 7, &b, NULL), SR_OK);
        ck_assert_int_eq(sr_eval_negatives_sample(&d, 99, (sr_eval_sampler)kind, 8, &c, NULL), SR_OK);
        check_negatives(&d, &a, 99);
        ck_assert_uint_eq(a.short_users, 1);  /* user 1000 has seen every item */
        ck_assert_uint_eq(a.offsets[a.user_count], 40 * 99);
        ck_assert_int_eq(memcmp(a.rows, b.rows, 40 * 99 * sizeof *a.rows), 0);
        ck_assert_int_ne(memcmp(a.rows, c.rows, 40 * 99 * sizeof *a.rows), 0);
        sr_eval_negatives_free(&a);
        sr_eval_negatives_free(&b);
        sr_eval_negatives_free(&c);
    }
    sr_dataset_free(&d);
}
END_TEST

START_TEST(too_few_items_left_gives_them_all) {
    sr_dataset d = sampling_fixture();
    sr_eval_negatives neg;
    ck_assert_int_eq(sr_eval_negatives_sample(&d, 290, SR_EVAL_SAMPLER_POPULARITY, 1, &neg, NULL),
                     SR_OK);
    check_negatives(&d, &neg, 290);
    ck_assert_uint_gt(neg.short_users, 0);
    for (size_t u = 0; u < 40; u++) {  /* each got min(290, 300 - distinct items) */
        size_t n = d.offsets[u + 1] - d.offsets[u];
        size_t want = 300 - n < 290 ? 300 - n : 290;
        ck_assert_uint_eq(neg.offsets[u + 1] - neg.offsets[u], want);
    }
    sr_eval_negatives_free(&neg);
    ck_assert_int_eq(sr_eval_negatives_sample(&d, 0, SR_EVAL_SAMPLER_UNIFORM, 1, &neg, NULL),
                     SR_ERR_INVALID_ARG);
    sr_dataset_free(&d);
}
END_TEST

/* Popularity draws follow whole-dataset counts: an item seen 200 times is drawn
 * far more often than one seen once. */
START_TEST(popularity_draws_favour_popular_items) {
    size_t n = 0;
    sr_user_event *ev = malloc(2000 * sizeof *ev);
    for (int64_t u = 0; u < 200; u++) {
        ev[n++] = (sr_user_event){.user_id = u, .item_id = 1000};  /* popular */
        for (int64_t i = 0; i < 3; i++)
            ev[n++] = (sr_user_event){.user_id = u, .item_id = u * 3 + i};
    }
    ev[n++] = (sr_user_event){.user_id = 5000, .item_id = 2000};  /* seen once */
    ev[n++] = (sr_user_event){.user_id = 5000, .item_id = 2001};
    ev[n++] = (sr_user_event){.user_id = 5000, .item_id = 2002};
    sr_dataset d;
    ck_assert_int_eq(sr_dataset_from_events(ev, n, &d, NULL), SR_OK);
    free(ev);
    sr_eval_negatives neg;
    ck_assert_int_eq(sr_eval_negatives_sample(&d, 1, SR_EVAL_SAMPLER_POPULARITY, 3, &neg, NULL),
                     SR_OK);
    /* only user 5000 may draw item 1000; its weight is 200 / 803 of all */
    int32_t popular = sr_vocab_row(&d.vocab, 1000);
    size_t last = d.user_count - 1;
    check_negatives(&d, &neg, 1);
    size_t hits = 0;
    for (uint64_t seed = 0; seed < 200; seed++) {
        sr_eval_negatives_free(&neg);
        ck_assert_int_eq(sr_eval_negatives_sample(&d, 1, SR_EVAL_SAMPLER_POPULARITY, seed, &neg,
                                                  NULL), SR_OK);
        hits += neg.rows[neg.offsets[last]] == popular;
    }
    /* uniform would hit 1 in 600; popularity about 1 in 3 */
    ck_assert_uint_gt(hits, 30);
    sr_eval_negatives_free(&neg);
    sr_dataset_free(&d);
}
END_TEST

static sr_status failing_scorer(void *context, size_t batch, const sr_eval_query *q, float *scores,
                                sr_error *err) {
    (void)context;
    (void)batch;
    (void)q;
    (void)scores;
    return sr_fail(err, SR_ERR_IO, "model went away");
}

START_TEST(bad_options_and_scorer_failures) {
    sr_dataset d = load_fixture();
    sr_eval_options o;
    sr_eval_options_init(&o);
    sr_eval_metrics m;
    sr_error err;
    ck_assert_int_eq(sr_eval_run(&d, &o, failing_scorer, NULL, &m, &err), SR_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.message, "model went away"));
    o.protocol = SR_EVAL_SAMPLED;  /* without negatives */
    ck_assert_int_eq(sr_eval_run(&d, &o, failing_scorer, NULL, &m, &err), SR_ERR_INVALID_ARG);
    o.protocol = SR_EVAL_FULL;
    o.split = SR_SPLIT_TRAIN;
    ck_assert_int_eq(sr_eval_run(&d, &o, failing_scorer, NULL, &m, &err), SR_ERR_INVALID_ARG);
    o.split = SR_SPLIT_TEST;
    o.batch = 0;
    ck_assert_int_eq(sr_eval_run(&d, &o, failing_scorer, NULL, &m, &err), SR_ERR_INVALID_ARG);
    sr_dataset_free(&d);
}
END_TEST

Suite *test_suite(void) {
    Suite *s = suite_create("eval_protocol");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, split_boundaries_and_batches);
    tcase_add_test(tc, history_is_masked_but_never_the_target);
    tcase_add_test(tc, popularity_baseline_on_the_fixture);
    tcase_add_test(tc, sampled_with_the_negatives_file);
    tcase_add_test(tc, negatives_file_errors);
    tcase_add_test(tc, drawn_negatives_avoid_interactions_and_repeat_per_seed);
    tcase_add_test(tc, too_few_items_left_gives_them_all);
    tcase_add_test(tc, popularity_draws_favour_popular_items);
    tcase_add_test(tc, bad_options_and_scorer_failures);
    suite_add_tcase(s, tc);
    return s;
}
