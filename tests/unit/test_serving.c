/* test_serving.c — the worker's serving core against plain references: steps
 * in order, the scoring policy, recommendations, fallback, swaps. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sr_serving.h"
#include "test_model_util.h"
#include "test_suite.h"

/* ---- helpers ---- */

static uint64_t next_u64(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static sr_model *model_over(const int64_t *ids, uint32_t n, sr_attention_kind attention,
                            uint32_t window, uint64_t seed, int64_t version) {
    sr_model_config c = {.item_count = n, .embed_dim = 6, .hidden_dim = 5, .window = window,
                         .cell = SR_CELL_GRU, .attention = attention, .tied_embeddings = 1};
    sr_model *m;
    sr_error err;
    ck_assert_int_eq(sr_model_new(&c, &m, &err), SR_OK);
    sr_rng rng = {seed + 17};
    fill_random(m->data, m->param_count, 0.5f, &rng);
    ck_assert_int_eq(sr_vocab_build(&m->vocab, ids, n, &err), SR_OK);
    m->version = version;
    return m;
}

/* Ids 100, 110, ..., 100 + 10 (n - 1), listed in a shuffled order. */
static sr_model *model_n(uint32_t n, uint64_t seed, int64_t version) {
    int64_t *ids = malloc(n * sizeof *ids);
    for (uint32_t i = 0; i < n; i++) ids[i] = 100 + 10 * (int64_t)((i * 7u) % n);
    sr_model *m = model_over(ids, n, SR_ATTENTION_ITEMS, 4, seed, version);
    free(ids);
    return m;
}

typedef struct captured {
    size_t count;
    int64_t user[4096];
    int64_t version[4096];
    int64_t offset[4096];
    int32_t partition[4096];
    bool popularity[4096];
    size_t items[4096];
    int64_t first_item[4096];
    int64_t item_ids[4096][20];
    float scores[4096][20];
    int fail_after;  /* emit fails once count reaches it (0: never) */
} captured;

static sr_status capture(void *context, const sr_serving_output *out, sr_error *err) {
    captured *c = context;
    if (c->fail_after && c->count == (size_t)c->fail_after)
        return sr_fail(err, SR_ERR_KAFKA, "test: emit refused");
    ck_assert_uint_lt(c->count, 4096);
    size_t i = c->count++;
    const sr_recommendation *r = out->rec;
    c->user[i] = r->user_id;
    c->version[i] = r->model_version;
    c->offset[i] = r->source_offset;
    c->partition[i] = r->source_partition;
    c->popularity[i] = out->popularity;
    c->items[i] = r->item_count;
    c->first_item[i] = r->item_count ? r->items[0].item_id : -1;
    for (size_t k = 0; k < r->item_count && k < 20; k++) {
        c->item_ids[i][k] = r->items[k].item_id;
        c->scores[i][k] = r->items[k].score;
    }
    return SR_OK;
}

static sr_serving *serving_new(uint32_t K, int64_t S, int64_t min_interval, uint32_t topn) {
    sr_serving_config c;
    sr_serving_config_init(&c);
    c.score_after_events = K;
    c.score_max_delay_ms = S;
    c.score_min_interval_ms = min_interval;
    c.topn = topn;
    c.batch = 3; /* small, so that steps and scorings span several batches */
    c.popularity.refresh_ms = SR_POPULARITY_REFRESH_ALWAYS;
    sr_serving *sv;
    sr_error err;
    ck_assert_int_eq(sr_serving_new(&c, &sv, &err), SR_OK);
    return sv;
}

static void add(sr_serving *sv, int64_t user, int64_t item, int64_t offset, int64_t now) {
    sr_user_event e = {.user_id = user, .item_id = item, .event_type = SR_EVENT_VIEW,
                       .event_time_ms = 1000 + offset};
    sr_serving_add(sv, &e, (int32_t)(user % 3), offset, now);
}

static void step(sr_serving *sv) {
    sr_error err;
    ck_assert_int_eq(sr_serving_step(sv, &err), SR_OK);
}

static size_t score(sr_serving *sv, int64_t now, captured *c) {
    sr_error err;
    size_t n;
    ck_assert_int_eq(sr_serving_score_due(sv, now, 0, capture, c, &n, &err), SR_OK);
    return n;
}

static void set_model(sr_serving *sv, sr_model *m, sr_swap_report *report) {
    sr_error err;
    ck_assert_int_eq(sr_serving_set_model(sv, m, report, &err), SR_OK);
}

/* A reference state: the model steps the items one at a time from zero. */
typedef struct ref_state {
    float hidden[64];
    int32_t rows[8];
    uint8_t types[8];
    sr_user_state_view view;
} ref_state;

static void ref_init(ref_state *r) {
    memset(r, 0, sizeof *r);
    r->view = (sr_user_state_view){.hidden = r->hidden, .recent_rows = r->rows,
                                   .recent_types = r->types};
}

static void ref_step(ref_state *r, const sr_model *m, int64_t item) {
    sr_model_workspace *ws;
    sr_error err;
    ck_assert_int_eq(sr_model_workspace_new(&m->config, 1, &ws, &err), SR_OK);
    int32_t row = sr_vocab_row(&m->vocab, item);
    ck_assert_int_ne(row, SR_VOCAB_UNKNOWN);
    uint8_t type = 0;
    sr_user_state_view *v = &r->view;
    sr_model_step_batch(m, 1, &row, &type, &v, ws);
    sr_model_workspace_free(ws);
}

static void assert_hidden_near(const float *a, const float *b, size_t n) {
    for (size_t i = 0; i < n; i++) ck_assert_float_eq_tol(a[i], b[i], 1e-5f);
}

/* ---- tests ---- */

START_TEST(steps_each_user_in_order_like_one_at_a_time) {
    sr_model *m = model_n(30, 1, 7);
    sr_serving *sv = serving_new(1000, 0, 0, 5);
    set_model(sv, m, NULL);
    enum { USERS = 7, EVENTS = 300 };
    ref_state refs[USERS];
    for (int u = 0; u < USERS; u++) ref_init(&refs[u]);
    uint64_t seed = 99;
    for (int e = 0; e < EVENTS; e++) {
        /* Skewed: user 0 gets many events in a row, so rounds go deep. */
        int u = (int)(next_u64(&seed) % 3 == 0 ? 0 : next_u64(&seed) % USERS);
        int64_t item = 100 + 10 * (int64_t)(next_u64(&seed) % 30);
        add(sv, u, item, e, 5);
        ref_step(&refs[u], m, item);
        if (e % 97 == 96) step(sv); /* steps at arbitrary points */
    }
    step(sv);
    for (int u = 0; u < USERS; u++) {
        sr_user_meta meta;
        sr_user_state_view view;
        if (!sr_serving_user(sv, u, &meta, &view)) continue;
        assert_hidden_near(view.hidden, refs[u].hidden, m->config.hidden_dim);
        ck_assert_uint_eq(view.recent_count, refs[u].view.recent_count);
        ck_assert_uint_eq(view.recent_head, refs[u].view.recent_head);
        ck_assert_mem_eq(view.recent_rows, refs[u].rows, m->config.window * sizeof(int32_t));
    }
    sr_serving_stats st;
    sr_serving_stats_get(sv, &st);
    ck_assert_uint_eq(st.events, EVENTS);
    ck_assert_uint_eq(st.steps, EVENTS);
    ck_assert_uint_eq(st.queued, 0);
    sr_serving_free(sv);
}
END_TEST

START_TEST(recommendation_is_the_models_top_n_without_recent_items) {
    sr_model *m = model_n(40, 2, 12);
    int64_t items[] = {100, 250, 310, 100, 120};
    /* The window's items would top the list but for the exclusion. */
    for (int i = 0; i < 5; i++) m->t.out_bias[sr_vocab_row(&m->vocab, items[i])] += 100.0f;
    sr_serving *sv = serving_new(1, 0, 0, 6);
    set_model(sv, m, NULL);
    ref_state ref;
    ref_init(&ref);
    for (int i = 0; i < 5; i++) {
        add(sv, 42, items[i], 50 + i, 10);
        ref_step(&ref, m, items[i]);
    }
    step(sv);
    captured *c = calloc(1, sizeof *c);
    ck_assert_uint_eq(score(sv, 10, c), 1);
    ck_assert_int_eq(c->user[0], 42);
    ck_assert_int_eq(c->version[0], 12);
    ck_assert_int_eq(c->offset[0], 54);
    ck_assert_int_eq(c->partition[0], 0);
    ck_assert(!c->popularity[0]);
    ck_assert_uint_eq(c->items[0], 6);
    /* The reference: user vector, every score, best 6 that are not in the window. */
    sr_model_workspace *ws;
    sr_error err;
    ck_assert_int_eq(sr_model_workspace_new(&m->config, 1, &ws, &err), SR_OK);
    float u[6], scores[40];
    sr_user_state_view *v = &ref.view;
    sr_model_user_vectors(m, 1, &v, u, ws);
    sr_model_score(m, 1, u, scores);
    sr_model_workspace_free(ws);
    for (size_t k = 0; k < 6; k++) {
        int64_t id = c->item_ids[0][k];
        int32_t row = sr_vocab_row(&m->vocab, id);
        ck_assert_int_ne(row, SR_VOCAB_UNKNOWN);
        for (int i = 0; i < 5; i++) ck_assert_int_ne(id, items[i]); /* all in the window (T = 4) */
        ck_assert_float_eq_tol(c->scores[0][k], scores[row], 1e-4f);
        if (k) ck_assert_float_le(c->scores[0][k], c->scores[0][k - 1]);
    }
    /* Nothing better was left out, but the window's items. */
    float worst = c->scores[0][5];
    for (uint32_t r = 0; r < 40; r++) {
        int64_t id = m->vocab.ids[r];
        bool recent = id == 250 || id == 310 || id == 100 || id == 120;
        bool listed = false;
        for (size_t k = 0; k < 6; k++) listed |= c->item_ids[0][k] == id;
        if (!recent && !listed) ck_assert_float_le(scores[r], worst + 1e-4f);
    }
    free(c);
    sr_serving_free(sv);
}
END_TEST

START_TEST(policy_after_k_events_delay_and_minimum_interval) {
    sr_model *m = model_n(20, 3, 1);
    /* K = 3, S = 100 ms, at most every 50 ms. */
    sr_serving *sv = serving_new(3, 100, 50, 3);
    set_model(sv, m, NULL);
    captured *c = calloc(1, sizeof *c);
    add(sv, 1, 100, 0, 1000);
    step(sv);
    ck_assert_uint_eq(score(sv, 1000, c), 1); /* cold start: at once */
    add(sv, 1, 110, 1, 1010);
    step(sv);
    ck_assert_uint_eq(score(sv, 1100, c), 0);  /* one event: waits for S */
    ck_assert_int_eq(sr_serving_next_due(sv), 1110);
    ck_assert_uint_eq(score(sv, 1110, c), 1);  /* S after its first unscored event */
    add(sv, 1, 120, 2, 1120);
    add(sv, 1, 130, 3, 1121);
    add(sv, 1, 140, 4, 1122);
    step(sv);
    ck_assert_uint_eq(score(sv, 1122, c), 0);  /* K reached, but scored 12 ms ago */
    ck_assert_uint_eq(score(sv, 1159, c), 0);
    ck_assert_uint_eq(score(sv, 1160, c), 1);  /* 50 ms after the last scoring */
    ck_assert_uint_eq(score(sv, 5000, c), 0);  /* nothing pending */
    ck_assert_uint_eq(c->count, 3);
    ck_assert_int_eq(c->offset[2], 4);
    free(c);
    sr_serving_free(sv);
}
END_TEST

START_TEST(scoring_off_only_steps) {
    sr_serving_config c;
    sr_serving_config_init(&c);
    c.scoring = false;
    sr_serving *sv;
    sr_error err;
    ck_assert_int_eq(sr_serving_new(&c, &sv, &err), SR_OK);
    set_model(sv, model_n(10, 9, 1), NULL);
    for (int e = 0; e < 20; e++) add(sv, e % 4, 100 + 10 * (e % 10), e, 10);
    step(sv);
    captured *cap = calloc(1, sizeof *cap);
    ck_assert_uint_eq(score(sv, 100000, cap), 0);
    sr_serving_stats st;
    sr_serving_stats_get(sv, &st);
    ck_assert_uint_eq(st.steps, 20);
    ck_assert_uint_eq(st.scheduled, 0);
    free(cap);
    sr_serving_free(sv);
}
END_TEST

START_TEST(a_user_owing_two_due_hints_is_scored_once) {
    sr_model *m = model_n(20, 10, 1);
    sr_serving *sv = serving_new(3, 0, 0, 3);
    set_model(sv, m, NULL);
    /* Its first event (cold start) and its third (K = 3) before one scoring. */
    for (int i = 0; i < 3; i++) add(sv, 77, 100 + 10 * i, i, 5);
    step(sv);
    captured *c = calloc(1, sizeof *c);
    ck_assert_uint_eq(score(sv, 5, c), 1);
    ck_assert_int_eq(c->offset[0], 2);
    free(c);
    sr_serving_free(sv);
}
END_TEST

START_TEST(room_is_made_for_new_users_not_for_their_events) {
    sr_serving_config cfg;
    sr_serving_config_init(&cfg);
    cfg.max_users = 10;
    sr_serving *sv;
    sr_error err;
    ck_assert_int_eq(sr_serving_new(&cfg, &sv, &err), SR_OK);
    set_model(sv, model_n(10, 11, 1), NULL);
    /* Ten users, five events each in a row: every segment has few new users. */
    for (int u = 0; u < 10; u++)
        for (int i = 0; i < 5; i++) add(sv, u, 100 + 10 * i, u * 5 + i, 1);
    step(sv);
    sr_serving_stats st;
    sr_serving_stats_get(sv, &st);
    ck_assert_uint_eq(st.users, 10);
    ck_assert_uint_eq(st.evictions, 0);
    sr_serving_free(sv);
}
END_TEST

START_TEST(failed_emit_keeps_users_due) {
    sr_model *m = model_n(20, 4, 1);
    sr_serving *sv = serving_new(1, 0, 0, 3);
    set_model(sv, m, NULL);
    for (int u = 0; u < 8; u++) add(sv, u, 100 + 10 * u, u, 10);
    step(sv);
    captured *c = calloc(1, sizeof *c);
    c->fail_after = 5;
    sr_error err;
    size_t n;
    ck_assert_int_eq(sr_serving_score_due(sv, 10, 0, capture, c, &n, &err), SR_ERR_KAFKA);
    ck_assert_uint_eq(n, 5);
    c->fail_after = 0;
    ck_assert_uint_eq(score(sv, 10, c), 3);
    /* Every user exactly once. */
    int seen[8] = {0};
    for (size_t i = 0; i < c->count; i++) seen[c->user[i]]++;
    for (int u = 0; u < 8; u++) ck_assert_int_eq(seen[u], 1);
    free(c);
    sr_serving_free(sv);
}
END_TEST

START_TEST(unknown_items_are_counted_and_do_not_step) {
    sr_model *m = model_n(10, 5, 1);
    sr_serving *sv = serving_new(1000, 0, 0, 3);
    set_model(sv, m, NULL);
    add(sv, 9, 100, 0, 1);
    add(sv, 9, 999999, 1, 1); /* not in the vocabulary */
    add(sv, 9, 110, 2, 1);
    step(sv);
    ref_state ref;
    ref_init(&ref);
    ref_step(&ref, m, 100);
    ref_step(&ref, m, 110);
    sr_user_meta meta;
    sr_user_state_view view;
    ck_assert(sr_serving_user(sv, 9, &meta, &view));
    assert_hidden_near(view.hidden, ref.hidden, m->config.hidden_dim);
    ck_assert_uint_eq(meta.applied_events, 3);  /* applied, just not stepped */
    ck_assert_int_eq(meta.source_offset, 2);
    sr_serving_stats st;
    sr_serving_stats_get(sv, &st);
    ck_assert_uint_eq(st.unknown_items, 1);
    ck_assert_uint_eq(st.steps, 2);
    sr_serving_free(sv);
}
END_TEST

START_TEST(popularity_before_a_model_and_for_short_histories) {
    sr_serving *sv = serving_new(1, 0, 0, 2);
    captured *c = calloc(1, sizeof *c);
    /* Item 7 is the most popular, then 8, then 9. */
    for (int i = 0; i < 5; i++) add(sv, 100 + i, 7, i, 1);
    for (int i = 0; i < 3; i++) add(sv, 200 + i, 8, 10 + i, 1);
    add(sv, 300, 9, 20, 1);
    step(sv);
    ck_assert_uint_eq(score(sv, 1, c), 9);
    for (size_t i = 0; i < c->count; i++) {
        ck_assert(c->popularity[i]);
        ck_assert_int_eq(c->version[i], 0);
        ck_assert_uint_eq(c->items[i], 2);
        ck_assert_int_eq(c->item_ids[i][0], 7);
        ck_assert_int_eq(c->item_ids[i][1], 8);
    }
    /* With a model, a user whose window holds no known item still gets popularity. */
    sr_model *m = model_n(10, 6, 3);
    set_model(sv, m, NULL);
    add(sv, 400, 12345, 30, 2);  /* unknown to the model */
    add(sv, 401, 100, 31, 2);    /* known */
    step(sv);
    c->count = 0;
    ck_assert_uint_eq(score(sv, 2, c), 2);
    for (size_t i = 0; i < 2; i++) {
        ck_assert(c->popularity[i] == (c->user[i] == 400));
        ck_assert_int_eq(c->version[i], c->user[i] == 400 ? 0 : 3);
    }
    free(c);
    sr_serving_free(sv);
}
END_TEST

/* Users with histories, then a swap to a model over other ids in another order. */
static void check_swap(sr_swap_policy policy) {
    sr_serving_config cfg;
    sr_serving_config_init(&cfg);
    cfg.swap_policy = policy;
    cfg.score_after_events = 1000;
    cfg.batch = 4;
    cfg.migrate_per_call = 2;
    sr_serving *sv;
    sr_error err;
    ck_assert_int_eq(sr_serving_new(&cfg, &sv, &err), SR_OK);
    int64_t a_ids[] = {1, 2, 3, 4, 5, 6}, b_ids[] = {6, 5, 4, 3, 2, 99};  /* B lacks 1 */
    sr_model *a = model_over(a_ids, 6, SR_ATTENTION_ITEMS, 3, 11, 1);
    sr_model *b = model_over(b_ids, 6, SR_ATTENTION_ITEMS, 3, 12, 2);
    set_model(sv, a, NULL);
    int64_t seq[][5] = {{1, 2, 3, 4, 5}, {2, 3, 1, 1, 1}, {6, 1, 5, 2, 3}};
    for (int u = 0; u < 3; u++)
        for (int i = 0; i < 5; i++) add(sv, u, seq[u][i], u * 10 + i, 1);
    step(sv);
    float before[3][5];
    for (int u = 0; u < 3; u++) {
        sr_user_state_view v;
        ck_assert(sr_serving_user(sv, u, NULL, &v));
        memcpy(before[u], v.hidden, sizeof before[u]);
    }
    sr_swap_report report;
    set_model(sv, b, &report);
    ck_assert_int_eq(report.previous_version, 1);
    ck_assert_int_eq(report.version, 2);
    ck_assert(!report.states_reset);
    ck_assert_ptr_eq(sr_serving_model(sv), b);
    sr_serving_maintain(sv); /* migrates two users of three: the third lazily below */
    for (int u = 0; u < 3; u++) {
        /* The window after the swap: the last 3 items the new model knows. */
        ref_state ref;
        ref_init(&ref);
        int64_t window[3];
        size_t n = 0;
        for (int i = 2; i < 5; i++)
            if (seq[u][i] != 1) window[n++] = seq[u][i];
        for (size_t i = 0; i < n; i++) ref_step(&ref, b, window[i]);
        sr_user_state_view v;
        sr_user_meta meta;
        ck_assert(sr_serving_user(sv, u, &meta, &v));
        ck_assert_uint_eq(meta.applied_events, 5);
        ck_assert_uint_eq(v.recent_count, n);
        for (size_t i = 0; i < n; i++)
            ck_assert_int_eq(v.recent_rows[(v.recent_head + 3 - n + i) % 3],
                             sr_vocab_row(&b->vocab, window[i]));
        if (policy == SR_SWAP_RECOMPUTE)
            assert_hidden_near(v.hidden, ref.hidden, 5);
        else
            assert_hidden_near(v.hidden, before[u], 5);
    }
    sr_serving_stats st;
    sr_serving_stats_get(sv, &st);
    ck_assert_uint_eq(st.swaps, 1);
    ck_assert_uint_eq(st.migrations, 3);
    ck_assert_int_eq(st.model_version, 2);
    sr_serving_free(sv);
}

START_TEST(swap_recomputes_states_from_the_window) { check_swap(SR_SWAP_RECOMPUTE); }
END_TEST

START_TEST(swap_keeps_states_and_remaps_the_window) { check_swap(SR_SWAP_KEEP); }
END_TEST

START_TEST(two_quick_swaps_compose_and_shape_change_resets) {
    sr_serving *sv = serving_new(1000, 0, 0, 3);
    int64_t a_ids[] = {1, 2, 3, 4}, b_ids[] = {4, 3, 2}, c_ids[] = {2, 3, 7};
    set_model(sv, model_over(a_ids, 4, SR_ATTENTION_ITEMS, 3, 1, 1), NULL);
    for (int i = 1; i <= 4; i++) add(sv, 5, i, i, 1);
    step(sv);
    set_model(sv, model_over(b_ids, 3, SR_ATTENTION_ITEMS, 3, 2, 2), NULL);
    sr_model *c = model_over(c_ids, 3, SR_ATTENTION_ITEMS, 3, 3, 3);
    set_model(sv, c, NULL);
    /* The user was at model 1 with window {2, 3, 4}; model 3 knows 2 and 3. */
    ref_state ref;
    ref_init(&ref);
    ref_step(&ref, c, 2);
    ref_step(&ref, c, 3);
    sr_user_state_view v;
    ck_assert(sr_serving_user(sv, 5, NULL, &v));
    ck_assert_uint_eq(v.recent_count, 2);
    assert_hidden_near(v.hidden, ref.hidden, 5);
    /* Another window size: states restart, counters stay. */
    sr_swap_report report;
    set_model(sv, model_over(c_ids, 3, SR_ATTENTION_ITEMS, 2, 4, 4), &report);
    ck_assert(report.states_reset);
    sr_user_meta meta;
    ck_assert(sr_serving_user(sv, 5, &meta, &v));
    ck_assert_uint_eq(meta.applied_events, 4);
    ck_assert_uint_eq(v.recent_count, 0);
    sr_serving_stats st;
    sr_serving_stats_get(sv, &st);
    ck_assert_uint_eq(st.state_resets, 1);
    ck_assert_uint_eq(st.swaps, 3);
    sr_serving_free(sv);
}
END_TEST

START_TEST(cap_evicts_without_losing_queued_events) {
    sr_serving_config cfg;
    sr_serving_config_init(&cfg);
    cfg.max_users = 4;
    cfg.batch = 2;
    sr_serving *sv;
    sr_error err;
    ck_assert_int_eq(sr_serving_new(&cfg, &sv, &err), SR_OK);
    set_model(sv, model_n(10, 7, 1), NULL);
    for (int e = 0; e < 100; e++) add(sv, e % 10, 100 + 10 * (e % 10), e, 1);
    step(sv);
    sr_serving_stats st;
    sr_serving_stats_get(sv, &st);
    ck_assert_uint_eq(st.steps, 100);
    ck_assert_uint_le(st.users, 4);
    ck_assert_uint_gt(st.evictions, 0);
    /* At the cap, events of users already held evict no one. */
    uint64_t evictions = st.evictions;
    for (int e = 0; e < 100; e++) add(sv, 6 + e % 4, 100, 100 + e, 1);
    step(sv);
    sr_serving_stats_get(sv, &st);
    ck_assert_uint_eq(st.evictions, evictions);
    ck_assert_uint_eq(st.users, 4);
    sr_serving_free(sv);
}
END_TEST

START_TEST(drop_partition_and_forget_user) {
    sr_serving *sv = serving_new(1000, 0, 0, 3);
    set_model(sv, model_n(10, 8, 1), NULL);
    for (int u = 0; u < 9; u++) add(sv, u, 100, u, 1);  /* partition = user % 3 */
    size_t dropped;
    sr_error err;
    ck_assert_int_eq(sr_serving_drop_partitions(sv, (int32_t[]){1}, 1, &dropped, &err), SR_OK);
    ck_assert_uint_eq(dropped, 3);
    ck_assert_int_eq(sr_serving_drop_partitions(sv, (int32_t[]){7, 2}, 2, &dropped, &err), SR_OK);
    ck_assert_uint_eq(dropped, 3);
    ck_assert(!sr_serving_user(sv, 5, NULL, NULL));
    ck_assert(!sr_serving_user(sv, 4, NULL, NULL));
    ck_assert(sr_serving_user(sv, 3, NULL, NULL));
    bool held;
    ck_assert_int_eq(sr_serving_forget_user(sv, 3, 0, &held, &err), SR_OK);
    ck_assert(held);
    ck_assert_int_eq(sr_serving_forget_user(sv, 3, 0, &held, &err), SR_OK);
    ck_assert(!held);
    sr_serving_stats st;
    sr_serving_stats_get(sv, &st);
    ck_assert_uint_eq(st.users, 2);
    sr_serving_free(sv);
}
END_TEST

/* Every changed user through the changelog's record and codec into another
 * serving core: the same state; and a restore under another model version
 * recomputes from the window. */
typedef struct changelog_copy {
    float hidden[64];
    int64_t items[8];
    uint8_t types[8];
} changelog_copy;

static size_t copy_changed(sr_serving *from, sr_serving *to) {
    uint32_t cursor = 0;
    sr_user_state_record rec, back;
    sr_buffer buf = {0};
    sr_error err;
    changelog_copy c;
    size_t n = 0;
    while (sr_serving_take_changed(from, &cursor, &rec)) {
        sr_buffer_reset(&buf);
        ck_assert_int_eq(sr_encode_user_state(&rec, &buf, &err), SR_OK);
        ck_assert_int_eq(sr_decode_user_state(buf.data, buf.len, &back, c.hidden, 64, c.items, c.types,
                                              8, &err), SR_OK);
        ck_assert_int_eq(sr_serving_restore_user(to, &back, &err), SR_OK);
        n++;
    }
    sr_buffer_free(&buf);
    return n;
}

START_TEST(changelog_round_trip_and_restore) {
    sr_serving *a = serving_new(1000, 0, 0, 3), *b = serving_new(1000, 0, 0, 3);
    set_model(a, model_n(20, 9, 4), NULL);
    set_model(b, model_n(20, 9, 4), NULL); /* the same weights and version */
    uint64_t seed = 5;
    for (int e = 0; e < 200; e++)
        add(a, (int64_t)(next_u64(&seed) % 12), 100 + 10 * (int64_t)(next_u64(&seed) % 20), e, 1);
    step(a);
    ck_assert_uint_eq(copy_changed(a, b), 12);
    ck_assert_uint_eq(copy_changed(a, b), 0); /* taken */
    for (int64_t u = 0; u < 12; u++) {
        sr_user_meta ma, mb;
        sr_user_state_view va, vb;
        ck_assert(sr_serving_user(a, u, &ma, &va));
        ck_assert(sr_serving_user(b, u, &mb, &vb));
        ck_assert_uint_eq(ma.applied_events, mb.applied_events);
        ck_assert_uint_eq(ma.sequence_hash, mb.sequence_hash);
        ck_assert_int_eq(ma.source_partition, mb.source_partition);
        ck_assert_int_eq(ma.source_offset, mb.source_offset);
        ck_assert_int_eq(ma.last_event_time_ms, mb.last_event_time_ms);
        ck_assert(!mb.dirty);
        ck_assert_mem_eq(va.hidden, vb.hidden, 5 * sizeof(float));
        ck_assert_uint_eq(va.recent_count, vb.recent_count);
        for (uint32_t i = 0; i < va.recent_count; i++) /* oldest first in both rings */
            ck_assert_int_eq(va.recent_rows[(va.recent_head + 4 - va.recent_count + i) % 4],
                             vb.recent_rows[(vb.recent_head + 4 - vb.recent_count + i) % 4]);
    }
    /* Only the users with new events are taken next time. */
    add(a, 3, 100, 500, 1);
    add(a, 7, 110, 501, 1);
    step(a);
    ck_assert_uint_eq(copy_changed(a, b), 2);
    /* The same events continue in both: the same states. */
    add(a, 3, 120, 502, 1), add(b, 3, 120, 502, 1);
    step(a), step(b);
    sr_user_state_view va, vb;
    ck_assert(sr_serving_user(a, 3, NULL, &va) && sr_serving_user(b, 3, NULL, &vb));
    ck_assert_mem_eq(va.hidden, vb.hidden, 5 * sizeof(float));

    /* Another model version: recomputed from the last window. */
    sr_serving *c = serving_new(1000, 0, 0, 3);
    sr_model *other = model_n(20, 10, 5);
    set_model(c, other, NULL);
    sr_serving_take_changed(a, &(uint32_t){0}, &(sr_user_state_record){0}); /* nothing dirty: false */
    add(a, 9, 130, 600, 1);
    step(a);
    ck_assert_uint_eq(copy_changed(a, c), 1);
    sr_user_meta meta;
    ck_assert(sr_serving_user(a, 9, NULL, &va) && sr_serving_user(c, 9, &meta, &vb));
    ref_state ref;
    ref_init(&ref);
    const sr_model *am = sr_serving_model(a);
    for (uint32_t i = 0; i < va.recent_count; i++)
        ref_step(&ref, other, am->vocab.ids[va.recent_rows[(va.recent_head + 4 - va.recent_count + i) % 4]]);
    assert_hidden_near(vb.hidden, ref.hidden, 5);
    ck_assert_uint_eq(vb.recent_count, va.recent_count);
    sr_serving_free(a), sr_serving_free(b), sr_serving_free(c);
}
END_TEST

/* Evicted and forgotten users are owed tombstones; dropped partitions not. */
START_TEST(removed_users_for_tombstones) {
    sr_serving_config cfg;
    sr_serving_config_init(&cfg);
    cfg.max_users = 4;
    cfg.changelog = true;
    sr_serving *sv;
    sr_error err;
    ck_assert_int_eq(sr_serving_new(&cfg, &sv, &err), SR_OK);
    set_model(sv, model_n(10, 7, 1), NULL);
    for (int u = 0; u < 6; u++) add(sv, u, 100, u, 1); /* partition = user % 3 */
    step(sv);
    size_t cursor = 0, removed = 0;
    int64_t user;
    int32_t partition;
    while (sr_serving_take_removed(sv, &cursor, &user, &partition)) {
        ck_assert(!sr_serving_user(sv, user, NULL, NULL));
        ck_assert_int_eq(partition, user % 3);
        removed++;
    }
    ck_assert_uint_eq(removed, 2); /* 6 users, 4 held */
    ck_assert(!sr_serving_take_removed(sv, &cursor, &user, &partition));
    size_t dropped;
    ck_assert_int_eq(sr_serving_drop_partitions(sv, (int32_t[]){0, 1, 2}, 3, &dropped, &err), SR_OK);
    ck_assert_uint_eq(dropped, 4);
    ck_assert(!sr_serving_take_removed(sv, &cursor, &user, &partition));
    add(sv, 8, 100, 9, 1); /* queued: the forget steps it first, then removes the user */
    bool held;
    ck_assert_int_eq(sr_serving_forget_user(sv, 8, 2, &held, &err), SR_OK);
    ck_assert(held);
    ck_assert(!sr_serving_user(sv, 8, NULL, NULL));
    ck_assert(sr_serving_take_removed(sv, &cursor, &user, &partition));
    ck_assert_int_eq(user, 8);
    ck_assert_int_eq(partition, 2);
    /* A user not held is owed a tombstone too (the changelog may hold it). */
    ck_assert(!sr_serving_take_removed(sv, &cursor, &user, &partition));
    ck_assert_int_eq(sr_serving_forget_user(sv, 77, 1, &held, &err), SR_OK);
    ck_assert(!held);
    ck_assert(sr_serving_take_removed(sv, &cursor, &user, &partition));
    ck_assert_int_eq(user, 77);
    ck_assert_int_eq(partition, 1);
    sr_serving_free(sv);
}
END_TEST

START_TEST(config_is_checked) {
    sr_serving_config c;
    sr_serving_config_init(&c);
    c.batch = 0;
    sr_serving *sv;
    sr_error err;
    ck_assert_int_eq(sr_serving_new(&c, &sv, &err), SR_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.message, "batch"));
    sr_serving_config_init(&c);
    c.topn = 0;
    ck_assert_int_eq(sr_serving_new(&c, &sv, &err), SR_ERR_CONFIG);
    ck_assert_int_eq(sr_swap_policy_parse("keep"), SR_SWAP_KEEP);
    ck_assert_int_eq(sr_swap_policy_parse("recompute"), SR_SWAP_RECOMPUTE);
    ck_assert_int_eq(sr_swap_policy_parse("nope"), -1);
}
END_TEST

Suite *test_suite(void) {
    Suite *s = suite_create("serving");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, steps_each_user_in_order_like_one_at_a_time);
    tcase_add_test(tc, recommendation_is_the_models_top_n_without_recent_items);
    tcase_add_test(tc, policy_after_k_events_delay_and_minimum_interval);
    tcase_add_test(tc, scoring_off_only_steps);
    tcase_add_test(tc, a_user_owing_two_due_hints_is_scored_once);
    tcase_add_test(tc, room_is_made_for_new_users_not_for_their_events);
    tcase_add_test(tc, failed_emit_keeps_users_due);
    tcase_add_test(tc, unknown_items_are_counted_and_do_not_step);
    tcase_add_test(tc, popularity_before_a_model_and_for_short_histories);
    tcase_add_test(tc, swap_recomputes_states_from_the_window);
    tcase_add_test(tc, swap_keeps_states_and_remaps_the_window);
    tcase_add_test(tc, two_quick_swaps_compose_and_shape_change_resets);
    tcase_add_test(tc, cap_evicts_without_losing_queued_events);
    tcase_add_test(tc, drop_partition_and_forget_user);
    tcase_add_test(tc, changelog_round_trip_and_restore);
    tcase_add_test(tc, removed_users_for_tombstones);
    tcase_add_test(tc, config_is_checked);
    suite_add_tcase(s, tc);
    return s;
}
