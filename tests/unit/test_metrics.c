/* test_metrics.c — the metrics registry and its Prometheus text, concurrent
 * updates, the HTTP endpoint over a real loopback socket, and consumer lag
 * from librdkafka's statistics JSON. */
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "sr_metrics.h"
#include "test_suite.h"

/* ---- Helpers -------------------------------------------------------------- */

static sr_metrics *metrics_new(void) {
    sr_metrics *m;
    sr_error err;
    ck_assert_int_eq(sr_metrics_new(&m, &err), SR_OK);
    return m;
}

/* The whole rendering, NUL-terminated (malloc'd). */
static char *render(const sr_metrics *m) {
    sr_buffer buf = {0};
    sr_error err;
    ck_assert_int_eq(sr_metrics_render(m, &buf, &err), SR_OK);
    ck_assert_int_eq(sr_buffer_append(&buf, "", 1, &err), SR_OK);
    return (char *)buf.data;
}

/* The rendering up to the built-in process metrics, which vary. */
static char *render_families(const sr_metrics *m) {
    char *text = render(m);
    char *process = strstr(text, "# HELP process_resident_memory_bytes ");
    ck_assert_ptr_nonnull(process);
    *process = '\0';
    return text;
}

/* The value text of the series line of text that starts with series (name and
 * labels). */
static void text_value(const char *text, const char *series, char *value, size_t cap) {
    size_t n = strlen(series);
    const char *line = text;
    while (line && !(strncmp(line, series, n) == 0 && line[n] == ' ')) {
        line = strchr(line, '\n');
        if (line) line++;
    }
    ck_assert_msg(line != NULL, "no series %s in:\n%s", series, text);
    const char *v = line + n + 1;
    size_t len = strcspn(v, "\n");
    ck_assert_uint_lt(len, cap);
    memcpy(value, v, len);
    value[len] = '\0';
}

/* The same in a fresh rendering of m. */
static void series_value(const sr_metrics *m, const char *series, char *value, size_t cap) {
    char *text = render(m);
    text_value(text, series, value, cap);
    free(text);
}

static sr_counter *counter(sr_metrics *m, const char *name, const char *help) {
    sr_counter *c;
    sr_error err;
    ck_assert_int_eq(sr_metrics_counter(m, name, help, &c, &err), SR_OK);
    return c;
}

static sr_gauge *gauge(sr_metrics *m, const char *name, const char *help) {
    sr_gauge *g;
    sr_error err;
    ck_assert_int_eq(sr_metrics_gauge(m, name, help, &g, &err), SR_OK);
    return g;
}

static sr_histogram *histogram(sr_metrics *m, const char *name, const double *bounds, size_t n) {
    sr_histogram *h;
    sr_error err;
    ck_assert_int_eq(sr_metrics_histogram(m, name, "A histogram.", bounds, n, &h, &err), SR_OK);
    return h;
}

static sr_gauge_vec *lag_family(sr_metrics *m) {
    sr_gauge_vec *v;
    sr_error err;
    const char *labels[] = {"topic", "partition"};
    ck_assert_int_eq(sr_metrics_gauge_vec(m, "streamrec_consumer_lag_records",
                                          "Records after the consumer's position.", labels, 2, &v,
                                          &err),
                     SR_OK);
    return v;
}

static void vec_set(sr_gauge_vec *v, const char *a, const char *b, double x) {
    sr_error err;
    ck_assert_int_eq(sr_gauge_vec_set(v, (const char *[]){a, b}, x, &err), SR_OK);
}

/* ---- Rendering ------------------------------------------------------------ */

START_TEST(renders_every_type_exactly) {
    sr_metrics *m = metrics_new();
    sr_counter *events = counter(m, "streamrec_events_total", "Events consumed.");
    sr_gauge *version = gauge(m, "streamrec_model_version", "Model version in use.");
    static const double bounds[] = {0.25, 0.5, 1};
    sr_histogram *latency = histogram(m, "streamrec_event_to_publish_seconds", bounds, 3);
    sr_gauge_vec *lag = lag_family(m);
    sr_counter *odd = counter(m, "streamrec_odd_total", "A back\\slash and a\nnewline, \"quoted\".");

    sr_counter_add(events, 3);
    sr_counter_inc(events);
    sr_counter_add(events, 38);
    sr_gauge_set(version, 7);
    sr_gauge_add(version, 0.5);
    sr_histogram_observe(latency, 0.125);
    sr_histogram_observe(latency, 0.25);
    sr_histogram_observe(latency, 0.375);
    sr_histogram_observe(latency, 2);
    vec_set(lag, "events", "1", 12);
    vec_set(lag, "events", "0", 3);
    (void)odd;

    char *text = render_families(m);
    ck_assert_str_eq(text,
                     "# HELP streamrec_events_total Events consumed.\n"
                     "# TYPE streamrec_events_total counter\n"
                     "streamrec_events_total 42\n"
                     "# HELP streamrec_model_version Model version in use.\n"
                     "# TYPE streamrec_model_version gauge\n"
                     "streamrec_model_version 7.5\n"
                     "# HELP streamrec_event_to_publish_seconds A histogram.\n"
                     "# TYPE streamrec_event_to_publish_seconds histogram\n"
                     "streamrec_event_to_publish_seconds_bucket{le=\"0.25\"} 2\n"
                     "streamrec_event_to_publish_seconds_bucket{le=\"0.5\"} 3\n"
                     "streamrec_event_to_publish_seconds_bucket{le=\"1\"} 3\n"
                     "streamrec_event_to_publish_seconds_bucket{le=\"+Inf\"} 4\n"
                     "streamrec_event_to_publish_seconds_sum 2.75\n"
                     "streamrec_event_to_publish_seconds_count 4\n"
                     "# HELP streamrec_consumer_lag_records Records after the consumer's position.\n"
                     "# TYPE streamrec_consumer_lag_records gauge\n"
                     "streamrec_consumer_lag_records{topic=\"events\",partition=\"0\"} 3\n"
                     "streamrec_consumer_lag_records{topic=\"events\",partition=\"1\"} 12\n"
                     "# HELP streamrec_odd_total A back\\\\slash and a\\nnewline, \"quoted\".\n"
                     "# TYPE streamrec_odd_total counter\n"
                     "streamrec_odd_total 0\n");
    free(text);
    sr_metrics_free(m);
}
END_TEST

START_TEST(renders_the_process_metrics) {
    sr_metrics *m = metrics_new();
    char *text = render(m);
    ck_assert_msg(strncmp(text,
                          "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
                          "# TYPE process_resident_memory_bytes gauge\n"
                          "process_resident_memory_bytes ",
                          strlen("# HELP process_resident_memory_bytes Resident memory size in "
                                 "bytes.\n# TYPE process_resident_memory_bytes gauge\n"
                                 "process_resident_memory_bytes ")) == 0,
                  "%s", text);
    ck_assert_ptr_nonnull(strstr(text, "# TYPE process_start_time_seconds gauge\n"));
    free(text);

    char value[64];
    series_value(m, "process_resident_memory_bytes", value, sizeof value);
    double rss = strtod(value, NULL);
    ck_assert_msg(rss >= 1 << 20 && rss < 1e12, "resident memory %s", value);
    ck_assert_double_eq(rss, floor(rss));
    series_value(m, "process_start_time_seconds", value, sizeof value);
    double start = strtod(value, NULL);
    double now = (double)time(NULL);
    /* This test program started moments ago (/proc's tick is 1/100 s). */
    ck_assert_msg(start <= now + 1 && start > now - 600, "start %s, now %.0f", value, now);
    sr_metrics_free(m);
}
END_TEST

START_TEST(formats_numbers_as_prometheus_parses_them) {
    static const struct {
        double x;
        const char *text;
    } cases[] = {
        {0.1, "0.1"},
        {0.30000000000000004, "0.30000000000000004"},
        {1.0 / 3.0, "0.3333333333333333"},
        {3, "3"},
        {1234567, "1234567"},
        {9007199254740992.0, "9007199254740992"},
        {1e300, "1e+300"},
        {-2.5e-7, "-2.5e-07"},
        {-0.0, "-0"},
        {NAN, "NaN"},
        {INFINITY, "+Inf"},
        {-INFINITY, "-Inf"},
    };
    sr_metrics *m = metrics_new();
    sr_gauge *g = gauge(m, "streamrec_number", "A number.");
    char value[64];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        sr_gauge_set(g, cases[i].x);
        series_value(m, "streamrec_number", value, sizeof value);
        ck_assert_str_eq(value, cases[i].text);
        if (isfinite(cases[i].x)) ck_assert(strtod(value, NULL) == cases[i].x);
    }
    sr_counter *c = counter(m, "streamrec_big_total", "Big.");
    sr_counter_add(c, UINT64_MAX - 1);
    series_value(m, "streamrec_big_total", value, sizeof value);
    ck_assert_str_eq(value, "18446744073709551614");
    ck_assert_uint_eq(sr_counter_value(c), UINT64_MAX - 1);
    sr_metrics_free(m);
}
END_TEST

START_TEST(histogram_value_equal_to_a_bound_counts_in_that_bucket) {
    sr_metrics *m = metrics_new();
    static const double bounds[] = {1, 2, 3};
    sr_histogram *h = histogram(m, "streamrec_size_bytes", bounds, 3);
    sr_histogram_observe(h, 1);                      /* le 1 */
    sr_histogram_observe(h, nextafter(1, 0));        /* le 1 */
    sr_histogram_observe(h, -5);                     /* le 1 */
    sr_histogram_observe(h, nextafter(1, 2));        /* le 2 */
    sr_histogram_observe(h, 2);                      /* le 2 */
    sr_histogram_observe(h, 3);                      /* le 3 */
    sr_histogram_observe(h, nextafter(3, INFINITY)); /* +Inf */
    sr_histogram_observe(h, NAN);                    /* dropped */
    char value[64];
    series_value(m, "streamrec_size_bytes_bucket{le=\"1\"}", value, sizeof value);
    ck_assert_str_eq(value, "3");
    series_value(m, "streamrec_size_bytes_bucket{le=\"2\"}", value, sizeof value);
    ck_assert_str_eq(value, "5");
    series_value(m, "streamrec_size_bytes_bucket{le=\"3\"}", value, sizeof value);
    ck_assert_str_eq(value, "6");
    series_value(m, "streamrec_size_bytes_bucket{le=\"+Inf\"}", value, sizeof value);
    ck_assert_str_eq(value, "7");
    series_value(m, "streamrec_size_bytes_count", value, sizeof value);
    ck_assert_str_eq(value, "7");
    series_value(m, "streamrec_size_bytes_sum", value, sizeof value);
    double sum = 1 + nextafter(1, 0) - 5 + nextafter(1, 2) + 2 + 3 + nextafter(3, INFINITY);
    ck_assert(strtod(value, NULL) == sum);
    sr_metrics_free(m);
}
END_TEST

START_TEST(label_values_are_escaped) {
    sr_metrics *m = metrics_new();
    sr_gauge_vec *v = lag_family(m);
    vec_set(v, "back\\slash \"quoted\"\nnext line", "0", 1);
    char *text = render_families(m);
    ck_assert_msg(strstr(text, "streamrec_consumer_lag_records{topic=\"back\\\\slash "
                               "\\\"quoted\\\"\\nnext line\",partition=\"0\"} 1\n") != NULL,
                  "%s", text);
    free(text);
    sr_metrics_free(m);
}
END_TEST

/* ---- Registration --------------------------------------------------------- */

START_TEST(bad_names_and_duplicates_are_rejected) {
    sr_metrics *m = metrics_new();
    sr_error err;
    sr_counter *c = NULL;
    sr_gauge *g = NULL;
    sr_histogram *h = NULL;
    sr_gauge_vec *v = NULL;
    static const char *const bad_counters[] = {
        "", "events_total", "streamrec_", "streamrec_events", "streamrec_x:y_total",
        "streamrec_caf\xc3\xa9_total", "streamrec-events_total", "1streamrec_total",
        "streamrec_a b_total", "Streamrec_events_total",
    };
    for (size_t i = 0; i < sizeof bad_counters / sizeof *bad_counters; i++) {
        err.status = SR_OK;
        ck_assert_msg(sr_metrics_counter(m, bad_counters[i], "x", &c, &err) == SR_ERR_INVALID_ARG,
                      "counter name \"%s\" accepted", bad_counters[i]);
        ck_assert_int_eq(err.status, SR_ERR_INVALID_ARG);
    }
    ck_assert_int_eq(sr_metrics_counter(m, NULL, "x", &c, &err), SR_ERR_INVALID_ARG);
    ck_assert_int_eq(sr_metrics_counter(m, "streamrec_ok_total", NULL, &c, &err),
                     SR_ERR_INVALID_ARG);
    char long_name[SR_METRICS_NAME_MAX + 8];
    memset(long_name, 'a', sizeof long_name);
    memcpy(long_name, "streamrec_", 10);
    memcpy(long_name + sizeof long_name - 7, "_total", 7);
    ck_assert_int_eq(sr_metrics_counter(m, long_name, "x", &c, &err), SR_ERR_INVALID_ARG);

    static const char *const bad_gauges[] = {"streamrec_users_total", "streamrec_users_count",
                                             "streamrec_users_sum", "streamrec_users_bucket",
                                             "process_resident_memory_bytes",
                                             "process_start_time_seconds", "go_goroutines"};
    for (size_t i = 0; i < sizeof bad_gauges / sizeof *bad_gauges; i++)
        ck_assert_msg(sr_metrics_gauge(m, bad_gauges[i], "x", &g, &err) == SR_ERR_INVALID_ARG,
                      "gauge name \"%s\" accepted", bad_gauges[i]);

    static const double bounds[] = {1, 2};
    ck_assert_int_eq(sr_metrics_histogram(m, "streamrec_latency", "x", bounds, 2, &h, &err),
                     SR_ERR_INVALID_ARG);
    ck_assert_int_eq(sr_metrics_histogram(m, "streamrec_latency_ms", "x", bounds, 2, &h, &err),
                     SR_ERR_INVALID_ARG);
    static const double not_ascending[] = {1, 3, 2}, equal[] = {1, 1}, nan_bound[] = {1, NAN},
                        inf_bound[] = {1, INFINITY};
    ck_assert_int_eq(sr_metrics_histogram(m, "streamrec_a_seconds", "x", not_ascending, 3, &h,
                                          &err),
                     SR_ERR_INVALID_ARG);
    ck_assert_int_eq(sr_metrics_histogram(m, "streamrec_a_seconds", "x", equal, 2, &h, &err),
                     SR_ERR_INVALID_ARG);
    ck_assert_int_eq(sr_metrics_histogram(m, "streamrec_a_seconds", "x", nan_bound, 2, &h, &err),
                     SR_ERR_INVALID_ARG);
    ck_assert_int_eq(sr_metrics_histogram(m, "streamrec_a_seconds", "x", inf_bound, 2, &h, &err),
                     SR_ERR_INVALID_ARG);
    ck_assert_int_eq(sr_metrics_histogram(m, "streamrec_a_seconds", "x", bounds, 0, &h, &err),
                     SR_ERR_INVALID_ARG);
    double many[SR_METRICS_MAX_BUCKETS + 1];
    for (size_t i = 0; i < SR_METRICS_MAX_BUCKETS + 1; i++) many[i] = (double)i;
    ck_assert_int_eq(sr_metrics_histogram(m, "streamrec_a_seconds", "x", many,
                                          SR_METRICS_MAX_BUCKETS + 1, &h, &err),
                     SR_ERR_INVALID_ARG);

    static const char *const bad_labels[][2] = {{"__topic", "partition"}, {"to-pic", "partition"},
                                                {"0topic", "partition"},  {"topic", "topic"},
                                                {"", "partition"},        {"topic", NULL}};
    for (size_t i = 0; i < sizeof bad_labels / sizeof *bad_labels; i++)
        ck_assert_msg(sr_metrics_gauge_vec(m, "streamrec_lag", "x", bad_labels[i], 2, &v, &err) ==
                          SR_ERR_INVALID_ARG,
                      "label names %zu accepted", i);
    const char *five[] = {"a", "b", "c", "d", "e"};
    ck_assert_int_eq(sr_metrics_gauge_vec(m, "streamrec_lag", "x", five, 0, &v, &err),
                     SR_ERR_INVALID_ARG);
    ck_assert_int_eq(sr_metrics_gauge_vec(m, "streamrec_lag", "x", five, 5, &v, &err),
                     SR_ERR_INVALID_ARG);

    /* Nothing was registered by any of the above. */
    char *text = render_families(m);
    ck_assert_str_eq(text, "");
    free(text);

    /* Good names, then each again. */
    ck_assert_int_eq(sr_metrics_counter(m, "streamrec_events_total", "x", &c, &err), SR_OK);
    ck_assert_int_eq(sr_metrics_gauge(m, "streamrec_users_held", "x", &g, &err), SR_OK);
    ck_assert_int_eq(sr_metrics_gauge(m, "process_open_fds", "x", &g, &err), SR_OK);
    ck_assert_int_eq(sr_metrics_histogram(m, "streamrec_a_seconds", "x", many,
                                          SR_METRICS_MAX_BUCKETS, &h, &err),
                     SR_OK);
    ck_assert_int_eq(sr_metrics_gauge_vec(m, "streamrec_lag", "x", five, 4, &v, &err), SR_OK);
    ck_assert_str_eq(sr_gauge_vec_label(v, 3), "d");
    ck_assert_ptr_null(sr_gauge_vec_label(v, 4));
    ck_assert_int_eq(sr_metrics_counter(m, "streamrec_events_total", "x", &c, &err),
                     SR_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(err.message, "already registered"));
    ck_assert_int_eq(sr_metrics_gauge(m, "streamrec_users_held", "x", &g, &err),
                     SR_ERR_INVALID_ARG);
    ck_assert_int_eq(sr_metrics_gauge_vec(m, "streamrec_users_held", "x", five, 1, &v, &err),
                     SR_ERR_INVALID_ARG);
    ck_assert_int_eq(sr_metrics_gauge(m, "streamrec_lag", "x", &g, &err), SR_ERR_INVALID_ARG);
    ck_assert_int_eq(sr_metrics_histogram(m, "streamrec_a_seconds", "x", bounds, 2, &h, &err),
                     SR_ERR_INVALID_ARG);
    text = render_families(m);
    ck_assert_ptr_nonnull(strstr(text, "# TYPE streamrec_lag gauge\n"));
    ck_assert_ptr_null(strstr(strstr(text, "# TYPE streamrec_lag gauge\n") + 1, "# TYPE streamrec_lag "));
    free(text);
    sr_metrics_free(m);
}
END_TEST

/* ---- Concurrency ---------------------------------------------------------- */

enum { INCREMENTS = 1000000 };

typedef struct hot_path {
    sr_counter *counter;
    sr_gauge *gauge;
    sr_histogram *histogram;
} hot_path;

static void *hammer(void *arg) {
    hot_path *p = arg;
    for (int i = 0; i < INCREMENTS; i++) {
        sr_counter_inc(p->counter);
        sr_gauge_add(p->gauge, 1.0);
        sr_histogram_observe(p->histogram, (i & 1) ? 0.5 : 2.0);
    }
    return NULL;
}

START_TEST(concurrent_updates_from_two_threads_add_up_exactly) {
    sr_metrics *m = metrics_new();
    static const double bounds[] = {1};
    hot_path p = {counter(m, "streamrec_steps_total", "Steps."),
                  gauge(m, "streamrec_users_held", "Users."),
                  histogram(m, "streamrec_step_seconds", bounds, 1)};
    pthread_t threads[2];
    for (int t = 0; t < 2; t++) ck_assert_int_eq(pthread_create(&threads[t], NULL, hammer, &p), 0);
    /* Render meanwhile: every rendering is well formed and counts never go back. */
    unsigned long long last = 0;
    for (int r = 0; r < 50; r++) {
        char value[64];
        series_value(m, "streamrec_steps_total", value, sizeof value);
        unsigned long long now = strtoull(value, NULL, 10);
        ck_assert_uint_ge(now, last);
        last = now;
        char inf[64], count[64];
        char *text = render(m);
        text_value(text, "streamrec_step_seconds_bucket{le=\"+Inf\"}", inf, sizeof inf);
        text_value(text, "streamrec_step_seconds_count", count, sizeof count);
        free(text);
        ck_assert_str_eq(count, inf);
    }
    for (int t = 0; t < 2; t++) ck_assert_int_eq(pthread_join(threads[t], NULL), 0);
    ck_assert_uint_eq(sr_counter_value(p.counter), 2 * INCREMENTS);
    ck_assert(sr_gauge_value(p.gauge) == 2.0 * INCREMENTS);
    char value[64];
    series_value(m, "streamrec_step_seconds_count", value, sizeof value);
    ck_assert_str_eq(value, "2000000");
    series_value(m, "streamrec_step_seconds_bucket{le=\"1\"}", value, sizeof value);
    ck_assert_str_eq(value, "1000000");
    series_value(m, "streamrec_step_seconds_sum", value, sizeof value);
    ck_assert_str_eq(value, "2500000"); /* 1e6 * 0.5 + 1e6 * 2, exact in binary */
    sr_metrics_free(m);
}
END_TEST

/* ---- Labelled gauges ------------------------------------------------------ */

START_TEST(gauge_vec_set_update_and_clear) {
    sr_metrics *m = metrics_new();
    sr_gauge_vec *v = lag_family(m);
    sr_error err;
    vec_set(v, "events", "2", 5);
    vec_set(v, "events", "0", 1);
    vec_set(v, "clicks", "0", 9);
    vec_set(v, "events", "2", 6); /* an update, not a fourth series */
    ck_assert_uint_eq(sr_gauge_vec_count(v), 3);
    char *text = render_families(m);
    ck_assert_str_eq(strstr(text, "streamrec_consumer_lag_records{"),
                     "streamrec_consumer_lag_records{topic=\"clicks\",partition=\"0\"} 9\n"
                     "streamrec_consumer_lag_records{topic=\"events\",partition=\"0\"} 1\n"
                     "streamrec_consumer_lag_records{topic=\"events\",partition=\"2\"} 6\n");
    free(text);

    /* A value that is a prefix of another is another series. */
    vec_set(v, "event", "0", 4);
    ck_assert_uint_eq(sr_gauge_vec_count(v), 4);
    ck_assert_int_eq(sr_gauge_vec_set(v, (const char *[]){"events", NULL}, 1, &err),
                     SR_ERR_INVALID_ARG);
    char too_long[SR_METRICS_LABEL_VALUE_MAX + 2];
    memset(too_long, 'x', sizeof too_long - 1);
    too_long[sizeof too_long - 1] = '\0';
    ck_assert_int_eq(sr_gauge_vec_set(v, (const char *[]){too_long, "0"}, 1, &err),
                     SR_ERR_INVALID_ARG);
    ck_assert_uint_eq(sr_gauge_vec_count(v), 4);

    sr_gauge_vec_clear(v);
    ck_assert_uint_eq(sr_gauge_vec_count(v), 0);
    text = render_families(m);
    ck_assert_str_eq(text,
                     "# HELP streamrec_consumer_lag_records Records after the consumer's position.\n"
                     "# TYPE streamrec_consumer_lag_records gauge\n");
    free(text);
    vec_set(v, "events", "7", 2);
    ck_assert_uint_eq(sr_gauge_vec_count(v), 1);
    char value[64];
    series_value(m, "streamrec_consumer_lag_records{topic=\"events\",partition=\"7\"}", value,
                 sizeof value);
    ck_assert_str_eq(value, "2");
    sr_metrics_free(m);
}
END_TEST

START_TEST(gauge_vec_replace_is_whole_and_the_later_duplicate_wins) {
    sr_metrics *m = metrics_new();
    sr_gauge_vec *v = lag_family(m);
    sr_error err;
    vec_set(v, "gone", "0", 1);
    const char *values[] = {"events", "1", "events", "0", "events", "1"};
    const double x[] = {10, 20, 30};
    ck_assert_int_eq(sr_gauge_vec_replace(v, 3, values, x, &err), SR_OK);
    ck_assert_uint_eq(sr_gauge_vec_count(v), 2);
    char *text = render_families(m);
    ck_assert_str_eq(strstr(text, "streamrec_consumer_lag_records{"),
                     "streamrec_consumer_lag_records{topic=\"events\",partition=\"0\"} 20\n"
                     "streamrec_consumer_lag_records{topic=\"events\",partition=\"1\"} 30\n");
    free(text);

    /* A bad value leaves the family as it was. */
    const char *bad[] = {"events", "5", NULL, "6"};
    ck_assert_int_eq(sr_gauge_vec_replace(v, 2, bad, x, &err), SR_ERR_INVALID_ARG);
    ck_assert_uint_eq(sr_gauge_vec_count(v), 2);

    ck_assert_int_eq(sr_gauge_vec_replace(v, 0, NULL, NULL, &err), SR_OK);
    ck_assert_uint_eq(sr_gauge_vec_count(v), 0);
    sr_metrics_free(m);
}
END_TEST

START_TEST(gauge_vec_holds_at_most_max_series) {
    sr_metrics *m = metrics_new();
    sr_gauge_vec *v = lag_family(m);
    sr_error err;
    enum { N = SR_METRICS_MAX_SERIES + 1 };
    char (*names)[16] = malloc(N * sizeof *names);
    const char **values = malloc(2 * N * sizeof *values);
    double *x = calloc(N, sizeof *x);
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "%06d", i);
        values[2 * i] = "events";
        values[2 * i + 1] = names[i];
    }
    vec_set(v, "keep", "0", 1);
    ck_assert_int_eq(sr_gauge_vec_replace(v, N, values, x, &err), SR_ERR_LIMIT);
    ck_assert_uint_eq(sr_gauge_vec_count(v), 1);
    ck_assert_int_eq(sr_gauge_vec_replace(v, N - 1, values, x, &err), SR_OK);
    ck_assert_uint_eq(sr_gauge_vec_count(v), SR_METRICS_MAX_SERIES);
    ck_assert_int_eq(sr_gauge_vec_set(v, (const char *[]){"events", names[N - 1]}, 1, &err),
                     SR_ERR_LIMIT);
    vec_set(v, "events", names[0], 5); /* an existing series still updates */
    ck_assert_uint_eq(sr_gauge_vec_count(v), SR_METRICS_MAX_SERIES);
    free(names);
    free(values);
    free(x);
    sr_metrics_free(m);
}
END_TEST

/* ---- librdkafka statistics ------------------------------------------------ */

/* A consumer's statistics as librdkafka 2.0 emits them (abridged: the broker
 * window stats and most counters are left out). Topic "events":
 *   0  active, app 1500, ls 1520 (hi 1525)      -> 20
 *   1  active, consumer_lag -1 (offsets committed by a transaction), app 900,
 *      ls 1000                                    -> 100
 *   2  fetch_state none (not assigned)            -> skipped
 *   3  offset-query, no record handed yet, consumer_lag 7 -> 7
 *   4  active, no app_offset and consumer_lag -1  -> skipped
 *   5  stopping (being revoked)                   -> skipped
 *   6  active, app 50 beyond a stale ls 40        -> 0
 *  -1  the internal unassigned partition          -> skipped
 * Topic "clicks.v1": 0 active, no ls_offset, hi 77, app 70 -> 7. */
static const char stats_sample[] =
    "{\"name\":\"rdkafka#consumer-1\",\"client_id\":\"streamrec\",\"type\":\"consumer\","
    "\"ts\":5016483227792,\"time\":1700000000,\"age\":60000000,\"replyq\":0,"
    "\"msg_cnt\":0,\"msg_size\":0,\"msg_max\":100000,\"msg_size_max\":1073741824,"
    "\"simple_cnt\":0,\"metadata_cache_cnt\":2,"
    "\"brokers\":{\"127.0.0.1:9092/1\":{\"name\":\"127.0.0.1:9092/1\",\"nodeid\":1,"
    "\"nodename\":\"127.0.0.1:9092\",\"source\":\"configured\",\"state\":\"UP\","
    "\"stateage\":59000000,\"outbuf_cnt\":0,\"waitresp_cnt\":1,\"tx\":120,\"rx\":119,"
    "\"rtt\":{\"min\":300,\"max\":2000,\"avg\":700,\"cnt\":119},"
    "\"toppars\":{\"events-0\":{\"topic\":\"events\",\"partition\":0},"
    "\"events-1\":{\"topic\":\"events\",\"partition\":1}}}},"
    "\"topics\":{"
    "\"events\":{\"topic\":\"events\",\"age\":59000,\"metadata_age\":1000,"
    "\"batchsize\":{\"min\":0,\"max\":0,\"avg\":0,\"cnt\":0},"
    "\"partitions\":{"
    "\"0\":{\"partition\":0,\"broker\":1,\"leader\":1,\"desired\":true,\"unknown\":false,"
    "\"msgq_cnt\":0,\"fetchq_cnt\":12,\"fetchq_size\":4096,\"fetch_state\":\"active\","
    "\"query_offset\":-1001,\"next_offset\":1512,\"app_offset\":1500,\"stored_offset\":1500,"
    "\"stored_leader_epoch\":0,\"commited_offset\":1400,\"committed_offset\":1400,"
    "\"committed_leader_epoch\":0,\"eof_offset\":-1001,\"lo_offset\":0,\"hi_offset\":1525,"
    "\"ls_offset\":1520,\"consumer_lag\":120,\"consumer_lag_stored\":20,\"leader_epoch\":0,"
    "\"txmsgs\":0,\"txbytes\":0,\"rxmsgs\":1512,\"rxbytes\":151200,\"msgs\":1512,"
    "\"rx_ver_drops\":0,\"msgs_inflight\":0,\"next_ack_seq\":0,\"next_err_seq\":0,"
    "\"acked_msgid\":0},"
    "\"1\":{\"partition\":1,\"broker\":1,\"leader\":1,\"desired\":true,\"unknown\":false,"
    "\"fetch_state\":\"active\",\"app_offset\":900,\"stored_offset\":-1001,"
    "\"committed_offset\":-1001,\"hi_offset\":1000,\"ls_offset\":1000,\"consumer_lag\":-1,"
    "\"consumer_lag_stored\":-1},"
    "\"2\":{\"partition\":2,\"broker\":-1,\"leader\":1,\"desired\":false,\"unknown\":false,"
    "\"fetch_state\":\"none\",\"app_offset\":-1001,\"committed_offset\":-1001,"
    "\"hi_offset\":-1001,\"ls_offset\":-1001,\"consumer_lag\":-1,\"consumer_lag_stored\":-1},"
    "\"3\":{\"partition\":3,\"broker\":1,\"leader\":1,\"desired\":true,\"unknown\":false,"
    "\"fetch_state\":\"offset-query\",\"app_offset\":-1001,\"committed_offset\":300,"
    "\"hi_offset\":307,\"ls_offset\":307,\"consumer_lag\":7,\"consumer_lag_stored\":-1},"
    "\"4\":{\"partition\":4,\"broker\":1,\"leader\":1,\"desired\":true,\"unknown\":false,"
    "\"fetch_state\":\"active\",\"app_offset\":-1001,\"committed_offset\":-1001,"
    "\"hi_offset\":-1001,\"ls_offset\":-1001,\"consumer_lag\":-1,\"consumer_lag_stored\":-1},"
    "\"5\":{\"partition\":5,\"broker\":1,\"leader\":1,\"desired\":false,\"unknown\":false,"
    "\"fetch_state\":\"stopping\",\"app_offset\":10,\"committed_offset\":10,"
    "\"hi_offset\":20,\"ls_offset\":20,\"consumer_lag\":10,\"consumer_lag_stored\":10},"
    "\"6\":{\"partition\":6,\"broker\":1,\"leader\":1,\"desired\":true,\"unknown\":false,"
    "\"fetch_state\":\"active\",\"app_offset\":50,\"committed_offset\":-1001,"
    "\"hi_offset\":40,\"ls_offset\":40,\"consumer_lag\":-1,\"consumer_lag_stored\":-1},"
    "\"-1\":{\"partition\":-1,\"broker\":-1,\"leader\":-1,\"desired\":false,\"unknown\":false,"
    "\"msgq_cnt\":0,\"fetch_state\":\"none\",\"app_offset\":-1001,\"committed_offset\":-1001,"
    "\"hi_offset\":-1001,\"ls_offset\":-1001,\"consumer_lag\":-1,\"consumer_lag_stored\":-1,"
    "\"msgs\":0}}},"
    "\"clicks.v1\":{\"topic\":\"clicks.v1\",\"age\":59000,\"metadata_age\":1000,"
    "\"partitions\":{"
    "\"0\":{\"partition\":0,\"broker\":1,\"leader\":1,\"desired\":true,\"unknown\":false,"
    "\"fetch_state\":\"active\",\"app_offset\":70,\"committed_offset\":60,\"hi_offset\":77,"
    "\"consumer_lag\":17,\"consumer_lag_stored\":7}}}},"
    "\"cgrp\":{\"state\":\"up\",\"stateage\":58000,\"join_state\":\"steady\","
    "\"rebalance_age\":57000,\"rebalance_cnt\":1,\"rebalance_reason\":\"\",\"assignment_size\":7},"
    "\"tx\":120,\"tx_bytes\":9000,\"rx\":119,\"rx_bytes\":160000,\"txmsgs\":0,"
    "\"txmsg_bytes\":0,\"rxmsgs\":1582,\"rxmsg_bytes\":158200}";

START_TEST(stats_give_one_lag_series_per_fetched_partition) {
    sr_metrics *m = metrics_new();
    sr_gauge_vec *lag = lag_family(m);
    sr_error err;
    vec_set(lag, "events", "9", 1); /* a partition from before a rebalance */
    ck_assert_int_eq(sr_kafka_stats_consumer_lag(stats_sample, strlen(stats_sample), lag, &err),
                     SR_OK);
    char *text = render_families(m);
    ck_assert_str_eq(strstr(text, "streamrec_consumer_lag_records{"),
                     "streamrec_consumer_lag_records{topic=\"clicks.v1\",partition=\"0\"} 7\n"
                     "streamrec_consumer_lag_records{topic=\"events\",partition=\"0\"} 20\n"
                     "streamrec_consumer_lag_records{topic=\"events\",partition=\"1\"} 100\n"
                     "streamrec_consumer_lag_records{topic=\"events\",partition=\"3\"} 7\n"
                     "streamrec_consumer_lag_records{topic=\"events\",partition=\"6\"} 0\n");
    free(text);

    /* No NUL needed after the document. */
    char *copy = malloc(sizeof stats_sample - 1);
    memcpy(copy, stats_sample, sizeof stats_sample - 1);
    ck_assert_int_eq(sr_kafka_stats_consumer_lag(copy, sizeof stats_sample - 1, lag, &err), SR_OK);
    ck_assert_uint_eq(sr_gauge_vec_count(lag), 5);

    /* The internal partition -1 never counts, whatever its state says. */
    const char *internal = "{\"topics\":{\"events\":{\"partitions\":{\"-1\":{\"partition\":-1,"
                           "\"fetch_state\":\"active\",\"app_offset\":1,\"hi_offset\":5,"
                           "\"consumer_lag\":4}}}}}";
    ck_assert_int_eq(sr_kafka_stats_consumer_lag(internal, strlen(internal), lag, &err), SR_OK);
    ck_assert_uint_eq(sr_gauge_vec_count(lag), 0);

    /* After a revocation, no topics: every series goes. */
    ck_assert_int_eq(sr_kafka_stats_consumer_lag(copy, sizeof stats_sample - 1, lag, &err), SR_OK);
    ck_assert_uint_eq(sr_gauge_vec_count(lag), 5);
    const char *empty = "{\"type\":\"consumer\",\"topics\":{}}";
    ck_assert_int_eq(sr_kafka_stats_consumer_lag(empty, strlen(empty), lag, &err), SR_OK);
    ck_assert_uint_eq(sr_gauge_vec_count(lag), 0);
    free(copy);
    sr_metrics_free(m);
}
END_TEST

START_TEST(malformed_stats_fail_and_leave_the_family_unchanged) {
    sr_metrics *m = metrics_new();
    sr_gauge_vec *lag = lag_family(m);
    sr_error err;
    vec_set(lag, "events", "0", 42);
    static const char *const malformed[] = {
        "",
        "{",
        "[]",
        "{\"topics\":3}",
        "{\"name\":\"x\"}",
        "{\"topics\":{\"events\":{\"partitions\":[]}}}",
        "{\"topics\":{\"events\":{}}}",
        "{\"topics\":{\"events\":{\"partitions\":{\"0\":7}}}}",
        "{\"topics\":{\"events\":{\"partitions\":{\"0\":{\"fetch_state\":\"active\"}}}}}",
        "{\"topics\":{\"events\":{\"partitions\":{\"0\":{\"partition\":\"0\"}}}}}",
        "{\"topics\":{\"events\":{\"partitions\":{\"0\":{\"partition\":0,\"fetch_state\":1}}}}}",
        "{\"topics\":{\"events\":{\"partitions\":{\"0\":{\"partition\":0,"
        "\"fetch_state\":\"active\",\"app_offset\":\"5\"}}}}}",
        "{\"topics\":{\"events\":{\"partitions\":{\"0\":{\"partition\":0,"
        "\"fetch_state\":\"active\",\"app_offset\":5,\"hi_offset\":9.5}}}}}",
        "{\"topics\":{}} trailing",
    };
    for (size_t i = 0; i < sizeof malformed / sizeof *malformed; i++) {
        err.status = SR_OK;
        ck_assert_msg(sr_kafka_stats_consumer_lag(malformed[i], strlen(malformed[i]), lag, &err) ==
                          SR_ERR_PARSE,
                      "accepted: %s", malformed[i]);
        ck_assert_int_eq(err.status, SR_ERR_PARSE);
        ck_assert_uint_eq(sr_gauge_vec_count(lag), 1);
    }
    /* Cut anywhere, the sample is malformed too. */
    for (size_t len = 0; len < strlen(stats_sample); len += 97)
        ck_assert_int_eq(sr_kafka_stats_consumer_lag(stats_sample, len, lag, &err), SR_ERR_PARSE);
    char value[64];
    series_value(m, "streamrec_consumer_lag_records{topic=\"events\",partition=\"0\"}", value,
                 sizeof value);
    ck_assert_str_eq(value, "42");

    /* A family with other labels is refused before any parsing. */
    sr_gauge_vec *other;
    const char *labels[] = {"partition", "topic"};
    ck_assert_int_eq(sr_metrics_gauge_vec(m, "streamrec_other", "x", labels, 2, &other, &err),
                     SR_OK);
    ck_assert_int_eq(sr_kafka_stats_consumer_lag(stats_sample, strlen(stats_sample), other, &err),
                     SR_ERR_INVALID_ARG);
    ck_assert_uint_eq(sr_gauge_vec_count(other), 0);
    sr_metrics_free(m);
}
END_TEST

/* ---- The HTTP endpoint ---------------------------------------------------- */

typedef struct probes {
    atomic_bool healthy;
    atomic_bool ready;
} probes;

static bool probe_healthy(void *context, char *reason, size_t cap) {
    probes *p = context;
    if (atomic_load(&p->healthy)) return true;
    snprintf(reason, cap, "the consumer is fenced");
    return false;
}

static bool probe_ready(void *context, char *reason, size_t cap) {
    probes *p = context;
    if (atomic_load(&p->ready)) return true;
    snprintf(reason, cap, "no model loaded");
    return false;
}

typedef struct http_reply {
    int status;
    char head[4096]; /* status line and headers */
    char body[1 << 16];
    size_t body_len;
} http_reply;

/* One request over a fresh loopback connection; reads the reply to EOF. */
static void http_request(int port, const char *method, const char *path, http_reply *reply) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    struct timeval timeout = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    char request[512];
    int n = snprintf(request, sizeof request,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s\r\n", method,
                     path, strcmp(method, "POST") == 0 ? "Content-Length: 0\r\n" : "");
    ck_assert_int_eq(send(fd, request, (size_t)n, MSG_NOSIGNAL), n);
    static char raw[sizeof reply->head + sizeof reply->body];
    size_t len = 0;
    for (;;) {
        ssize_t got = recv(fd, raw + len, sizeof raw - 1 - len, 0);
        ck_assert_int_ge(got, 0); /* not a timeout */
        if (got == 0) break;
        len += (size_t)got;
        ck_assert_uint_lt(len, sizeof raw - 1);
    }
    close(fd);
    raw[len] = '\0';
    char *end = strstr(raw, "\r\n\r\n");
    ck_assert_msg(end != NULL, "no end of headers in: %s", raw);
    size_t head_len = (size_t)(end - raw) + 2;
    ck_assert_uint_lt(head_len, sizeof reply->head);
    memcpy(reply->head, raw, head_len);
    reply->head[head_len] = '\0';
    reply->body_len = len - head_len - 2;
    memcpy(reply->body, end + 4, reply->body_len);
    reply->body[reply->body_len] = '\0';
    ck_assert_int_eq(sscanf(raw, "HTTP/1.%*d %d", &reply->status), 1);
}

/* The value of a header (case-insensitive name), or NULL. */
static const char *header(const http_reply *reply, const char *name, char *value, size_t cap) {
    char key[128];
    snprintf(key, sizeof key, "\r\n%s:", name);
    const char *at = strcasestr(reply->head, key);
    if (!at) return NULL;
    at += strlen(key);
    while (*at == ' ') at++;
    size_t len = strcspn(at, "\r");
    ck_assert_uint_lt(len, cap);
    memcpy(value, at, len);
    value[len] = '\0';
    return value;
}

START_TEST(http_serves_probes_and_metrics) {
    sr_metrics *m = metrics_new();
    sr_counter_add(counter(m, "streamrec_events_total", "Events consumed."), 42);
    probes p;
    atomic_init(&p.healthy, true);
    atomic_init(&p.ready, false);
    sr_http_server_options o = {.bind_address = "127.0.0.1", .port = 0, .metrics = m,
                                .healthy = probe_healthy, .ready = probe_ready, .context = &p};
    sr_http_server *server;
    sr_error err;
    ck_assert_int_eq(sr_http_server_start(&o, &server, &err), SR_OK);
    int port = sr_http_server_port(server);
    ck_assert_int_gt(port, 0);
    ck_assert_int_lt(port, 65536);

    http_reply *r = malloc(sizeof *r);
    char value[256];
    http_request(port, "GET", "/healthz", r);
    ck_assert_int_eq(r->status, 200);
    ck_assert_str_eq(r->body, "ok\n");
    atomic_store(&p.healthy, false);
    http_request(port, "GET", "/healthz", r);
    ck_assert_int_eq(r->status, 503);
    ck_assert_str_eq(r->body, "unhealthy: the consumer is fenced\n");

    http_request(port, "GET", "/readyz", r);
    ck_assert_int_eq(r->status, 503);
    ck_assert_str_eq(r->body, "not ready: no model loaded\n");
    atomic_store(&p.ready, true);
    http_request(port, "GET", "/readyz", r);
    ck_assert_int_eq(r->status, 200);
    ck_assert_str_eq(r->body, "ready\n");

    http_request(port, "GET", "/metrics", r);
    ck_assert_int_eq(r->status, 200);
    ck_assert_ptr_nonnull(header(r, "Content-Type", value, sizeof value));
    ck_assert_str_eq(value, "text/plain; version=0.0.4; charset=utf-8");
    ck_assert_msg(strncmp(r->body,
                          "# HELP streamrec_events_total Events consumed.\n"
                          "# TYPE streamrec_events_total counter\n"
                          "streamrec_events_total 42\n",
                          strlen("# HELP streamrec_events_total Events consumed.\n"
                                 "# TYPE streamrec_events_total counter\n"
                                 "streamrec_events_total 42\n")) == 0,
                  "%s", r->body);
    ck_assert_ptr_nonnull(strstr(r->body, "\nprocess_start_time_seconds "));
    ck_assert_ptr_nonnull(header(r, "Content-Length", value, sizeof value));
    ck_assert_uint_eq(strtoul(value, NULL, 10), r->body_len);

    http_request(port, "GET", "/metrics?name=x", r); /* the query is not the path */
    ck_assert_int_eq(r->status, 200);
    http_request(port, "HEAD", "/metrics", r);
    ck_assert_int_eq(r->status, 200);
    ck_assert_uint_eq(r->body_len, 0);

    http_request(port, "GET", "/", r);
    ck_assert_int_eq(r->status, 404);
    http_request(port, "GET", "/metrics/", r);
    ck_assert_int_eq(r->status, 404);
    http_request(port, "GET", "/nope", r);
    ck_assert_int_eq(r->status, 404);
    http_request(port, "POST", "/metrics", r);
    ck_assert_int_eq(r->status, 405);
    ck_assert_ptr_nonnull(header(r, "Allow", value, sizeof value));
    ck_assert_str_eq(value, "GET, HEAD");
    http_request(port, "DELETE", "/readyz", r);
    ck_assert_int_eq(r->status, 405);

    free(r);
    sr_http_server_stop(server);
    sr_http_server_stop(NULL);
    sr_metrics_free(m);
}
END_TEST

START_TEST(http_without_probes_is_healthy_and_ready) {
    sr_metrics *m = metrics_new();
    sr_http_server_options o = {.bind_address = "127.0.0.1", .metrics = m};
    sr_http_server *server;
    sr_error err;
    ck_assert_int_eq(sr_http_server_start(&o, &server, &err), SR_OK);
    http_reply *r = malloc(sizeof *r);
    http_request(sr_http_server_port(server), "GET", "/healthz", r);
    ck_assert_int_eq(r->status, 200);
    http_request(sr_http_server_port(server), "GET", "/readyz", r);
    ck_assert_int_eq(r->status, 200);
    free(r);
    sr_http_server_stop(server);
    sr_metrics_free(m);
}
END_TEST

START_TEST(http_port_in_use_fails_with_io_naming_it) {
    sr_metrics *m = metrics_new();
    sr_http_server_options o = {.bind_address = "127.0.0.1", .port = 0, .metrics = m};
    sr_http_server *first, *second = NULL;
    sr_error err;
    ck_assert_int_eq(sr_http_server_start(&o, &first, &err), SR_OK);
    o.port = sr_http_server_port(first);
    ck_assert_int_eq(sr_http_server_start(&o, &second, &err), SR_ERR_IO);
    ck_assert_int_eq(err.status, SR_ERR_IO);
    ck_assert_ptr_null(second);
    char where[64];
    snprintf(where, sizeof where, "127.0.0.1:%d", o.port);
    ck_assert_msg(strstr(err.message, where) != NULL, "%s", err.message);
    fprintf(stderr, "port in use: %s\n", err.message);
    /* The first one still serves. */
    http_reply *r = malloc(sizeof *r);
    http_request(o.port, "GET", "/healthz", r);
    ck_assert_int_eq(r->status, 200);
    free(r);
    sr_http_server_stop(first);
    sr_metrics_free(m);
}
END_TEST

START_TEST(http_bad_options_are_rejected) {
    sr_metrics *m = metrics_new();
    sr_http_server *server = NULL;
    sr_error err;
    sr_http_server_options o = {.bind_address = "127.0.0.1"};
    ck_assert_int_eq(sr_http_server_start(&o, &server, &err), SR_ERR_INVALID_ARG);
    o.metrics = m;
    o.port = 65536;
    ck_assert_int_eq(sr_http_server_start(&o, &server, &err), SR_ERR_INVALID_ARG);
    o.port = -1;
    ck_assert_int_eq(sr_http_server_start(&o, &server, &err), SR_ERR_INVALID_ARG);
    o.port = 0;
    o.bind_address = "localhost";
    ck_assert_int_eq(sr_http_server_start(&o, &server, &err), SR_ERR_CONFIG);
    o.bind_address = "127.0.0.300";
    ck_assert_int_eq(sr_http_server_start(&o, &server, &err), SR_ERR_CONFIG);
    ck_assert_ptr_null(server);
    sr_metrics_free(m);
}
END_TEST

Suite *test_suite(void) {
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("registry");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, renders_every_type_exactly);
    tcase_add_test(tc, renders_the_process_metrics);
    tcase_add_test(tc, formats_numbers_as_prometheus_parses_them);
    tcase_add_test(tc, histogram_value_equal_to_a_bound_counts_in_that_bucket);
    tcase_add_test(tc, label_values_are_escaped);
    tcase_add_test(tc, bad_names_and_duplicates_are_rejected);
    tcase_add_test(tc, concurrent_updates_from_two_threads_add_up_exactly);
    tcase_add_test(tc, gauge_vec_set_update_and_clear);
    tcase_add_test(tc, gauge_vec_replace_is_whole_and_the_later_duplicate_wins);
    tcase_add_test(tc, gauge_vec_holds_at_most_max_series);
    suite_add_tcase(s, tc);
    TCase *stats = tcase_create("kafka_stats");
    tcase_add_test(stats, stats_give_one_lag_series_per_fetched_partition);
    tcase_add_test(stats, malformed_stats_fail_and_leave_the_family_unchanged);
    suite_add_tcase(s, stats);
    TCase *http = tcase_create("http");
    tcase_set_timeout(http, 60);
    tcase_add_test(http, http_serves_probes_and_metrics);
    tcase_add_test(http, http_without_probes_is_healthy_and_ready);
    tcase_add_test(http, http_port_in_use_fails_with_io_naming_it);
    tcase_add_test(http, http_bad_options_are_rejected);
    suite_add_tcase(s, http);
    return s;
}
