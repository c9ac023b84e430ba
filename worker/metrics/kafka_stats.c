/*
 * kafka_stats.c — consumer lag per partition from librdkafka's statistics
 * JSON (STATISTICS.md); see sr_metrics.h for what is measured and why it is
 * not librdkafka's consumer_lag.
 *
 * Runs on librdkafka's stats_cb, that is on whichever thread serves the
 * consumer's callbacks (rd_kafka_consumer_poll), about once per
 * statistics.interval.ms. The document is parsed whole and checked before the
 * family is touched, then the family is replaced in one step.
 */
#include "sr_metrics.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One partition's lag, with the labels it renders with. */
typedef struct partition_lag {
    const char *topic; /* points into the parsed document */
    char partition[24];
    double lag;
} partition_lag;

/* An optional integer field: false with *out untouched when absent, SR_ERR_PARSE
 * when present with another type. */
static sr_status optional_integer(json_t *object, const char *key, const char *where,
                                  json_int_t *out, sr_error *err) {
    json_t *v = json_object_get(object, key);
    if (!v) return SR_OK;
    if (!json_is_integer(v))
        return sr_fail(err, SR_ERR_PARSE, "statistics: %s: \"%s\" is not an integer", where, key);
    *out = json_integer_value(v);
    return SR_OK;
}

static bool is_fetched(const char *fetch_state) {
    return fetch_state && (strcmp(fetch_state, "active") == 0 ||
                           strcmp(fetch_state, "offset-query") == 0 ||
                           strcmp(fetch_state, "offset-wait") == 0);
}

/* Reads one partition object; *keep is false when it is to be skipped. */
static sr_status read_partition(const char *topic, const char *key, json_t *p, partition_lag *out,
                                bool *keep, sr_error *err) {
    char where[300];
    snprintf(where, sizeof where, "topic %.200s partition %.32s", topic, key);
    *keep = false;
    if (!json_is_object(p))
        return sr_fail(err, SR_ERR_PARSE, "statistics: %s is not an object", where);
    json_t *id = json_object_get(p, "partition");
    if (!json_is_integer(id))
        return sr_fail(err, SR_ERR_PARSE, "statistics: %s has no integer \"partition\"", where);
    json_t *state = json_object_get(p, "fetch_state");
    if (state && !json_is_string(state))
        return sr_fail(err, SR_ERR_PARSE, "statistics: %s: \"fetch_state\" is not a string", where);
    json_int_t app = -1001, hi = -1001, ls = -1001, consumer_lag = -1;
    sr_status s = optional_integer(p, "app_offset", where, &app, err);
    if (s == SR_OK) s = optional_integer(p, "hi_offset", where, &hi, err);
    if (s == SR_OK) s = optional_integer(p, "ls_offset", where, &ls, err);
    if (s == SR_OK) s = optional_integer(p, "consumer_lag", where, &consumer_lag, err);
    if (s != SR_OK) return s;

    json_int_t partition = json_integer_value(id);
    if (partition < 0 || !is_fetched(state ? json_string_value(state) : NULL)) return SR_OK;
    json_int_t end = ls >= 0 ? ls : hi;
    if (app >= 0 && end >= 0) out->lag = end > app ? (double)(end - app) : 0.0;
    else if (consumer_lag >= 0) out->lag = (double)consumer_lag;
    else return SR_OK;
    out->topic = topic;
    snprintf(out->partition, sizeof out->partition, "%lld", (long long)partition);
    *keep = true;
    return SR_OK;
}

/* Collects the lag of every fetched partition of root into *out (malloc'd). */
static sr_status collect(json_t *root, partition_lag **out, size_t *n_out, sr_error *err) {
    json_t *topics = json_is_object(root) ? json_object_get(root, "topics") : NULL;
    if (!json_is_object(topics))
        return sr_fail(err, SR_ERR_PARSE, "statistics: no \"topics\" object");
    size_t cap = 0;
    const char *topic;
    json_t *t;
    json_object_foreach(topics, topic, t) {
        json_t *partitions = json_is_object(t) ? json_object_get(t, "partitions") : NULL;
        if (!json_is_object(partitions))
            return sr_fail(err, SR_ERR_PARSE, "statistics: topic %.200s has no \"partitions\" object",
                           topic);
        cap += json_object_size(partitions);
    }
    partition_lag *lags = calloc(cap ? cap : 1, sizeof *lags);
    if (!lags) return sr_fail(err, SR_ERR_NOMEM, "out of memory for %zu partitions", cap);
    size_t n = 0;
    json_object_foreach(topics, topic, t) {
        const char *key;
        json_t *p;
        json_object_foreach(json_object_get(t, "partitions"), key, p) {
            bool keep;
            sr_status s = read_partition(topic, key, p, &lags[n], &keep, err);
            if (s != SR_OK) {
                free(lags);
                return s;
            }
            if (keep) n++;
        }
    }
    *out = lags;
    *n_out = n;
    return SR_OK;
}

/* The label names of lag must be exactly (topic, partition). */
static bool has_lag_labels(const sr_gauge_vec *lag) {
    const char *first = sr_gauge_vec_label(lag, 0), *second = sr_gauge_vec_label(lag, 1);
    return first && strcmp(first, "topic") == 0 && second && strcmp(second, "partition") == 0 &&
           !sr_gauge_vec_label(lag, 2);
}

sr_status sr_kafka_stats_consumer_lag(const char *json, size_t len, sr_gauge_vec *lag,
                                      sr_error *err) {
    if (!json || !lag) return sr_fail(err, SR_ERR_INVALID_ARG, "statistics: no JSON or no family");
    if (!has_lag_labels(lag))
        return sr_fail(err, SR_ERR_INVALID_ARG, "statistics: the lag family's labels must be "
                                                "(topic, partition)");
    json_error_t jerr;
    json_t *root = json_loadb(json, len, 0, &jerr);
    if (!root)
        return sr_fail(err, SR_ERR_PARSE, "statistics: line %d column %d: %s", jerr.line,
                       jerr.column, jerr.text);
    partition_lag *lags = NULL;
    size_t n = 0;
    sr_status s = collect(root, &lags, &n, err);
    const char **values = NULL;
    double *x = NULL;
    if (s == SR_OK && n > 0) {
        values = malloc(2 * n * sizeof *values);
        x = malloc(n * sizeof *x);
        if (!values || !x) s = sr_fail(err, SR_ERR_NOMEM, "out of memory for %zu partitions", n);
    }
    for (size_t i = 0; s == SR_OK && i < n; i++) {
        values[2 * i] = lags[i].topic;
        values[2 * i + 1] = lags[i].partition;
        x[i] = lags[i].lag;
    }
    if (s == SR_OK) s = sr_gauge_vec_replace(lag, n, values, x, err);
    free(values);
    free(x);
    free(lags);
    json_decref(root);
    return s;
}
