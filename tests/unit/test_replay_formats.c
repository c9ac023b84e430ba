/* test_replay_formats.c — the replay source on the file formats: exact events
 * from small fixtures in tests/data/, bad lines of each kind under both
 * policies, and the seeded merge of users (order kept, deterministic). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sr_replay.h"
#include "test_suite.h"

#define MAX_EVENTS 4096
#define DAY_MS 86400000LL
#define MAY_9_2016_MS 1462752000000LL

typedef struct collected {
    sr_user_event events[MAX_EVENTS];
    char sessions[MAX_EVENTS][24];
    size_t count;
    sr_replay_stats stats;
} collected;

/* Bad lines handed to the hook, for checking the messages. */
typedef struct bad_lines {
    char messages[16][SR_ERROR_MESSAGE_MAX];
    uint64_t line_numbers[16];
    int count;
} bad_lines;

static void remember_bad_line(void *context, const char *path, uint64_t line_number,
                              const char *message) {
    (void)path;
    bad_lines *bad = context;
    if (bad->count == 16) return;
    snprintf(bad->messages[bad->count], SR_ERROR_MESSAGE_MAX, "%s", message);
    bad->line_numbers[bad->count++] = line_number;
}

static const char *fixture(const char *name) {
    static char path[1024];
    const char *dir = getenv("STREAMREC_TEST_DATA");
    ck_assert_msg(dir != NULL, "STREAMREC_TEST_DATA is not set");
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

/* Opens, reads every event, frees; fails the test on any error. */
static void collect(sr_replay_kind kind, const char *path, const sr_replay_options *options,
                    collected *out) {
    sr_replay_source *src;
    sr_error err;
    sr_status status = sr_replay_source_open(kind, path, options, &src, &err);
    ck_assert_msg(status == SR_OK, "open: %s", err.message);
    out->count = 0;
    bool done = false;
    while (sr_replay_source_next(src, &out->events[out->count], &done, &err) == SR_OK && !done) {
        sr_user_event *e = &out->events[out->count];
        if (e->has_session_id) {
            memcpy(out->sessions[out->count], e->session_id, e->session_id_len);
            out->sessions[out->count][e->session_id_len] = '\0';
        }
        ck_assert_uint_lt(++out->count, MAX_EVENTS);
    }
    ck_assert(done);
    out->stats = sr_replay_source_stats(src);
    sr_replay_source_free(src);
}

/* The items of one user, in stream order. */
static size_t user_items(const collected *c, int64_t user, int64_t *items, size_t cap) {
    size_t n = 0;
    for (size_t i = 0; i < c->count && n < cap; i++)
        if (c->events[i].user_id == user) items[n++] = c->events[i].item_id;
    return n;
}

static void assert_user_items(const collected *c, int64_t user, const int64_t *expected,
                              size_t n) {
    int64_t items[64];
    ck_assert_uint_eq(user_items(c, user, items, 64), n);
    for (size_t i = 0; i < n; i++) ck_assert_int_eq(items[i], expected[i]);
}

/* Every event is a VIEW at start + i * step, the stream order of a file without
 * timestamps. */
static void assert_views_on_clock(const collected *c, const sr_replay_options *o) {
    for (size_t i = 0; i < c->count; i++) {
        ck_assert_int_eq(c->events[i].event_type, SR_EVENT_VIEW);
        ck_assert_int_eq(c->events[i].event_time_ms, o->start_time_ms + (int64_t)i * o->time_step_ms);
        ck_assert(!c->events[i].has_session_id);
    }
}

static collected result;  /* big: kept off the stack */

START_TEST(lines_format_exact_events) {
    sr_replay_options o;
    sr_replay_options_init(&o);
    collect(SR_REPLAY_LINES, fixture("replay_lines.txt"), &o, &result);
    ck_assert_uint_eq(result.count, 10);
    assert_user_items(&result, 1, (int64_t[]){10, 11, 12, 13}, 4);  /* two lines, one user */
    assert_user_items(&result, 2, (int64_t[]){20, 21}, 2);
    assert_user_items(&result, 3, (int64_t[]){30}, 1);                 /* CRLF */
    assert_user_items(&result, 4, (int64_t[]){40, 41}, 2);             /* tab, double space */
    assert_user_items(&result, INT64_MAX, (int64_t[]){INT64_MAX - 1}, 1);
    assert_views_on_clock(&result, &o);
    ck_assert_uint_eq(result.stats.lines, 8);
    ck_assert_uint_eq(result.stats.blank_lines, 2);
    ck_assert_uint_eq(result.stats.bad_lines, 0);
    ck_assert_uint_eq(result.stats.users, 5);
    ck_assert_uint_eq(result.stats.events_total, 10);
}
END_TEST

START_TEST(pairs_format_exact_events) {
    sr_replay_options o;
    sr_replay_options_init(&o);
    o.start_time_ms = 5000;
    o.time_step_ms = 7;
    collect(SR_REPLAY_PAIRS, fixture("replay_pairs.txt"), &o, &result);
    ck_assert_uint_eq(result.count, 6);
    assert_user_items(&result, 1, (int64_t[]){10, 11, 12}, 3);  /* not contiguous in the file */
    assert_user_items(&result, 2, (int64_t[]){20, 21}, 2);
    assert_user_items(&result, 3, (int64_t[]){30}, 1);
    assert_views_on_clock(&result, &o);
    ck_assert_uint_eq(result.stats.users, 3);
    ck_assert_uint_eq(result.stats.blank_lines, 1);
}
END_TEST

START_TEST(diginetica_ordered_by_date_then_timeframe) {
    collect(SR_REPLAY_DIGINETICA, fixture("replay_diginetica.csv"), NULL, &result);
    static const struct { int64_t session, item, time_ms; } expected[] = {
        {3, 300, MAY_9_2016_MS - 127 * DAY_MS},  /* 2016-01-03, timeframe 0 */
        {1, 101, MAY_9_2016_MS + 1000},
        {2, 200, MAY_9_2016_MS + 3000},
        {1, 100, MAY_9_2016_MS + 5000},
        {2, 201, MAY_9_2016_MS + 9000},
        {1, 102, MAY_9_2016_MS + DAY_MS + 2000},
    };
    ck_assert_uint_eq(result.count, 6);
    for (size_t i = 0; i < 6; i++) {
        const sr_user_event *e = &result.events[i];
        ck_assert_int_eq(e->user_id, expected[i].session);
        ck_assert_int_eq(e->item_id, expected[i].item);
        ck_assert_int_eq(e->event_time_ms, expected[i].time_ms);
        ck_assert_int_eq(e->event_type, SR_EVENT_VIEW);
        ck_assert(e->has_session_id);
        char session[24];
        snprintf(session, sizeof session, "%lld", (long long)expected[i].session);
        ck_assert_str_eq(result.sessions[i], session);
    }
    ck_assert_uint_eq(result.stats.users, 3);
    ck_assert_uint_eq(result.stats.lines, 7);
}
END_TEST

START_TEST(diginetica_header_optional) {
    collect(SR_REPLAY_DIGINETICA, fixture("replay_diginetica_noheader.csv"), NULL, &result);
    ck_assert_uint_eq(result.count, 1);
    ck_assert_int_eq(result.events[0].item_id, 100);
}
END_TEST

/* Writes text to a fresh temporary file; returns its path (static buffer). */
static const char *temp_file(const char *text) {
    static char path[] = "/tmp/streamrec-test-XXXXXX";
    strcpy(path + sizeof path - 7, "XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    FILE *f = fdopen(fd, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    return path;
}

START_TEST(diginetica_date_before_1970) {
    sr_replay_options o;
    sr_replay_options_init(&o);
    o.on_bad_line = SR_BAD_LINE_FAIL;
    const char *path = temp_file("1;NA;5;100;1969-12-31\n");
    collect(SR_REPLAY_DIGINETICA, path, &o, &result);
    unlink(path);
    ck_assert_uint_eq(result.count, 1);
    ck_assert_int_eq(result.events[0].event_time_ms, -86400000 + 100);
}
END_TEST

START_TEST(diginetica_header_only_is_empty) {
    const char *path = temp_file("sessionId;userId;itemId;timeframe;eventdate\n");
    collect(SR_REPLAY_DIGINETICA, path, NULL, &result);
    unlink(path);
    ck_assert_uint_eq(result.count, 0);
}
END_TEST

START_TEST(negative_start_time) {
    sr_replay_options o;
    sr_replay_options_init(&o);
    o.start_time_ms = -1000;
    const char *path = temp_file("1 10 11\n2 20\n");
    collect(SR_REPLAY_LINES, path, &o, &result);
    unlink(path);
    ck_assert_uint_eq(result.count, 3);
    assert_views_on_clock(&result, &o);
    o.start_time_ms = INT64_MIN;
    o.events = 10;
    collect(SR_REPLAY_SYNTHETIC, NULL, &o, &result);
    ck_assert_uint_eq(result.count, 10);
}
END_TEST

/* Opens with on_bad_line = skip and a hook; returns the collected bad lines. */
static void collect_skipping(sr_replay_kind kind, const char *name, bad_lines *bad) {
    sr_replay_options o;
    sr_replay_options_init(&o);
    memset(bad, 0, sizeof *bad);
    o.bad_line_hook = remember_bad_line;
    o.bad_line_hook_context = bad;
    collect(kind, fixture(name), &o, &result);
}

static void assert_bad_line(const bad_lines *bad, int index, const char *name,
                            uint64_t line_number, const char *reason_part) {
    char prefix[256];
    snprintf(prefix, sizeof prefix, "%s:%llu: ", name, (unsigned long long)line_number);
    ck_assert_int_lt(index, bad->count);
    ck_assert_uint_eq(bad->line_numbers[index], line_number);
    ck_assert_msg(strstr(bad->messages[index], prefix) != NULL, "'%s' lacks '%s'",
                  bad->messages[index], prefix);
    ck_assert_msg(strstr(bad->messages[index], reason_part) != NULL, "'%s' lacks '%s'",
                  bad->messages[index], reason_part);
}

/* Opens with on_bad_line = fail and checks the message names the first bad line. */
static void assert_fails_at(sr_replay_kind kind, const char *name, uint64_t line_number,
                            const char *reason_part) {
    sr_replay_options o;
    sr_replay_options_init(&o);
    o.on_bad_line = SR_BAD_LINE_FAIL;
    sr_replay_source *src = NULL;
    sr_error err;
    ck_assert_int_eq(sr_replay_source_open(kind, fixture(name), &o, &src, &err), SR_ERR_PARSE);
    ck_assert_ptr_null(src);
    char where[256];
    snprintf(where, sizeof where, "%s:%llu: ", name, (unsigned long long)line_number);
    ck_assert_msg(strstr(err.message, where) && strstr(err.message, reason_part),
                  "'%s' lacks '%s' or '%s'", err.message, where, reason_part);
}

START_TEST(lines_bad_lines_skipped_and_counted) {
    bad_lines bad;
    collect_skipping(SR_REPLAY_LINES, "replay_lines_bad.txt", &bad);
    ck_assert_uint_eq(result.count, 5);
    assert_user_items(&result, 1, (int64_t[]){10, 11}, 2);
    assert_user_items(&result, 2, NULL, 0);   /* a bad line gives nothing, not a prefix */
    assert_user_items(&result, 5, (int64_t[]){50, 51}, 2);
    assert_user_items(&result, 8, (int64_t[]){80}, 1);  /* last line, no newline */
    ck_assert_uint_eq(result.stats.bad_lines, 6);
    ck_assert_uint_eq(result.stats.blank_lines, 1);
    ck_assert_uint_eq(result.stats.lines, 10);
    ck_assert_int_eq(bad.count, 6);
    assert_bad_line(&bad, 0, "replay_lines_bad.txt", 2, "user id 'x' is not a non-negative integer");
    assert_bad_line(&bad, 1, "replay_lines_bad.txt", 3, "item id '2a'");
    assert_bad_line(&bad, 2, "replay_lines_bad.txt", 4, "user 3 has no items");
    assert_bad_line(&bad, 3, "replay_lines_bad.txt", 5, "overflows");
    assert_bad_line(&bad, 4, "replay_lines_bad.txt", 7, "item id '-1'");
    assert_bad_line(&bad, 5, "replay_lines_bad.txt", 9, "'9223372036854775808' overflows");
}
END_TEST

START_TEST(lines_bad_line_fails_open) {
    assert_fails_at(SR_REPLAY_LINES, "replay_lines_bad.txt", 2, "user id 'x'");
}
END_TEST

START_TEST(pairs_bad_lines_skipped_and_counted) {
    bad_lines bad;
    collect_skipping(SR_REPLAY_PAIRS, "replay_pairs_bad.txt", &bad);
    ck_assert_uint_eq(result.count, 3);
    assert_user_items(&result, 1, (int64_t[]){10}, 1);
    assert_user_items(&result, 2, (int64_t[]){20, 21}, 2);
    ck_assert_int_eq(bad.count, 4);
    assert_bad_line(&bad, 0, "replay_pairs_bad.txt", 2, "expected 2 fields 'user item', got 1");
    assert_bad_line(&bad, 1, "replay_pairs_bad.txt", 3, "got more");
    assert_bad_line(&bad, 2, "replay_pairs_bad.txt", 4, "item id 'x'");
    assert_bad_line(&bad, 3, "replay_pairs_bad.txt", 6, "user id '18446744073709551616' overflows");
}
END_TEST

START_TEST(pairs_bad_line_fails_open) {
    assert_fails_at(SR_REPLAY_PAIRS, "replay_pairs_bad.txt", 2, "got 1");
}
END_TEST

START_TEST(diginetica_bad_lines_skipped_and_counted) {
    bad_lines bad;
    collect_skipping(SR_REPLAY_DIGINETICA, "replay_diginetica_bad.csv", &bad);
    ck_assert_uint_eq(result.count, 2);
    ck_assert_int_eq(result.events[0].user_id, 1);
    ck_assert_int_eq(result.events[1].user_id, 7);
    ck_assert_int_eq(bad.count, 5);
    const char *name = "replay_diginetica_bad.csv";
    assert_bad_line(&bad, 0, name, 3, "expected 5 ';'-separated columns, got 4");
    assert_bad_line(&bad, 1, name, 4, "expected 5 ';'-separated columns, got 6");
    assert_bad_line(&bad, 2, name, 5, "itemId 'abc'");
    assert_bad_line(&bad, 3, name, 6, "eventdate '2016-02-30' is not a date");
    assert_bad_line(&bad, 4, name, 7, "userId 'bob'");
}
END_TEST

START_TEST(diginetica_bad_line_fails_open) {
    assert_fails_at(SR_REPLAY_DIGINETICA, "replay_diginetica_bad.csv", 3, "got 4");
    assert_fails_at(SR_REPLAY_DIGINETICA, "replay_diginetica_header.csv", 1,
                    "header column 1 is not 'sessionid'");
}
END_TEST

START_TEST(missing_file_is_io_error) {
    sr_replay_source *src;
    sr_error err;
    ck_assert_int_eq(sr_replay_source_open(SR_REPLAY_LINES, fixture("no-such-file.txt"), NULL,
                                           &src, &err), SR_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.message, "no-such-file.txt"));
    ck_assert_int_eq(sr_replay_source_open(SR_REPLAY_PAIRS, NULL, NULL, &src, &err),
                     SR_ERR_INVALID_ARG);
}
END_TEST

START_TEST(kind_names_round_trip) {
    for (int k = SR_REPLAY_LINES; k <= SR_REPLAY_SYNTHETIC; k++)
        ck_assert_int_eq(sr_replay_kind_parse(sr_replay_kind_name((sr_replay_kind)k)), k);
    ck_assert_int_eq(sr_replay_kind_parse("csv"), -1);
}
END_TEST

/* A lines file of `users` users, user u with u % 7 + 1 items u*1000, u*1000+1, ... */
static void write_many_users(const char *path, int users) {
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    for (int u = 1; u <= users; u++) {
        fprintf(f, "%d", u);
        for (int i = 0; i < u % 7 + 1; i++) fprintf(f, " %d", u * 1000 + i);
        fputc('\n', f);
    }
    fclose(f);
}

static collected second;

static bool same_events(const collected *a, const collected *b) {
    if (a->count != b->count) return false;
    for (size_t i = 0; i < a->count; i++) {
        const sr_user_event *x = &a->events[i], *y = &b->events[i];
        if (x->user_id != y->user_id || x->item_id != y->item_id ||
            x->event_time_ms != y->event_time_ms || x->event_type != y->event_type)
            return false;
    }
    return true;
}

START_TEST(merge_keeps_user_order_and_is_deterministic) {
    char path[] = "/tmp/test_replay_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    write_many_users(path, 300);
    sr_replay_options o;
    sr_replay_options_init(&o);
    collect(SR_REPLAY_LINES, path, &o, &result);
    collect(SR_REPLAY_LINES, path, &o, &second);
    ck_assert(same_events(&result, &second));

    /* Each user's items come in file order; users are really interleaved. */
    int64_t next_item[301];
    for (int u = 1; u <= 300; u++) next_item[u] = u * 1000;
    size_t user_switches = 0;
    for (size_t i = 0; i < result.count; i++) {
        int64_t u = result.events[i].user_id;
        ck_assert_int_eq(result.events[i].item_id, next_item[u]++);
        if (i > 0 && u != result.events[i - 1].user_id) user_switches++;
    }
    for (int u = 1; u <= 300; u++) ck_assert_int_eq(next_item[u], u * 1000 + u % 7 + 1);
    ck_assert_uint_gt(user_switches, result.count * 3 / 4);
    ck_assert_int_lt(result.events[0].user_id, 300);

    o.seed = 2;  /* another seed, another interleaving */
    collect(SR_REPLAY_LINES, path, &o, &second);
    ck_assert_uint_eq(second.count, result.count);
    ck_assert(!same_events(&result, &second));
    unlink(path);
}
END_TEST

Suite *test_suite(void) {
    Suite *s = suite_create("replay_formats");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, lines_format_exact_events);
    tcase_add_test(tc, pairs_format_exact_events);
    tcase_add_test(tc, diginetica_ordered_by_date_then_timeframe);
    tcase_add_test(tc, diginetica_header_optional);
    tcase_add_test(tc, diginetica_date_before_1970);
    tcase_add_test(tc, diginetica_header_only_is_empty);
    tcase_add_test(tc, negative_start_time);
    tcase_add_test(tc, lines_bad_lines_skipped_and_counted);
    tcase_add_test(tc, lines_bad_line_fails_open);
    tcase_add_test(tc, pairs_bad_lines_skipped_and_counted);
    tcase_add_test(tc, pairs_bad_line_fails_open);
    tcase_add_test(tc, diginetica_bad_lines_skipped_and_counted);
    tcase_add_test(tc, diginetica_bad_line_fails_open);
    tcase_add_test(tc, missing_file_is_io_error);
    tcase_add_test(tc, kind_names_round_trip);
    tcase_add_test(tc, merge_keeps_user_order_and_is_deterministic);
    suite_add_tcase(s, tc);
    return s;
}
