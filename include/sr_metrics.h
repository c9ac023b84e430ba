/*
 * sr_metrics.h — the worker's metrics: a registry of counters, gauges and
 * histograms updated on the hot path, rendered in the Prometheus text format
 * (0.0.4) by a small HTTP server that also answers the health probes, and the
 * per-partition consumer lag taken from librdkafka's statistics.
 *
 *     sr_metrics *m;
 *     sr_counter *events;
 *     sr_histogram *latency;
 *     sr_gauge_vec *lag;
 *     static const double bounds[] = {0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5};
 *     if (sr_metrics_new(&m, &err) != SR_OK) return err.status;
 *     sr_status s = sr_metrics_counter(m, "streamrec_events_total", "Events consumed.",
 *                                      &events, &err);
 *     if (s == SR_OK)
 *         s = sr_metrics_histogram(m, "streamrec_event_to_publish_seconds",
 *                                  "From an event's arrival to its recommendation's publication.",
 *                                  bounds, 8, &latency, &err);
 *     if (s == SR_OK)
 *         s = sr_metrics_gauge_vec(m, "streamrec_consumer_lag_records",
 *                                  "Records after the consumer's position, per partition.",
 *                                  (const char *[]){"topic", "partition"}, 2, &lag, &err);
 *     if (s != SR_OK) return s;   // after sr_metrics_free(m)
 *
 *     sr_counter_add(events, 1);                      // worker thread, per event
 *     sr_histogram_observe(latency, seconds);
 *
 *     sr_kafka_stats_consumer_lag(json, json_len, lag, &err);   // in the consumer's stats_cb
 *
 *     sr_http_server *http;
 *     sr_http_server_options o = {.bind_address = NULL, .port = 9100, .metrics = m,
 *                                 .ready = worker_ready, .context = worker};
 *     if (sr_http_server_start(&o, &http, &err) != SR_OK) return err.status;
 *     ...
 *     sr_http_server_stop(http);                      // before sr_metrics_free
 *     sr_metrics_free(m);
 *
 * Names. Every family is registered up front under a Prometheus name
 * ([a-zA-Z_][a-zA-Z0-9_]*; colons are left to recording rules) that starts
 * with "streamrec_" (or "process_" for the standard process metrics):
 * counters end in "_total", histograms in "_seconds" or "_bytes", and gauges
 * end in none of "_total", "_bucket", "_sum", "_count" (the suffixes of the
 * series of the other types). A name registered twice is rejected. Label
 * values never carry user ids: a labelled family holds at most
 * SR_METRICS_MAX_SERIES series, a guard against unbounded cardinality.
 *
 * Built-in. Every rendering ends with process_resident_memory_bytes (from
 * /proc/self/statm) and process_start_time_seconds (from /proc/self/stat).
 *
 * Threads. Counters, gauges and histograms are lock-free (C11 atomics,
 * relaxed order): any thread may update them while another renders. A
 * histogram's buckets, count and sum are separate atomics, so a rendering
 * that races an observation may show that observation in the buckets but not
 * yet in the sum; _count is always the sum of the buckets, so it equals the
 * +Inf bucket. A labelled gauge family has a mutex, taken by its updates and
 * by rendering. Registration takes the registry's mutex, so it is safe even
 * while the HTTP server renders. Families live until sr_metrics_free.
 */
#ifndef SR_METRICS_H
#define SR_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sr_buffer.h"
#include "sr_error.h"

#define SR_METRICS_NAME_MAX 200          /* bytes in a family's name */
#define SR_METRICS_MAX_BUCKETS 64        /* finite bounds of a histogram */
#define SR_METRICS_MAX_LABELS 4          /* label names of a labelled family */
#define SR_METRICS_MAX_SERIES 10000      /* series of a labelled family */
#define SR_METRICS_LABEL_VALUE_MAX 1024  /* bytes in a label value */

typedef struct sr_metrics sr_metrics;
typedef struct sr_counter sr_counter;
typedef struct sr_gauge sr_gauge;
typedef struct sr_histogram sr_histogram;
typedef struct sr_gauge_vec sr_gauge_vec;

/* ---- The registry --------------------------------------------------------- */

/* A new, empty registry; SR_ERR_NOMEM only. */
sr_status sr_metrics_new(sr_metrics **out, sr_error *err);

/* Frees the registry and every family in it; NULL is fine. No thread may
 * update or render any of them any more (stop the HTTP server first). */
void sr_metrics_free(sr_metrics *m);

/* Registers a counter: a count that only goes up. help is any text (copied).
 * SR_ERR_INVALID_ARG for a bad or duplicate name, SR_ERR_NOMEM. */
sr_status sr_metrics_counter(sr_metrics *m, const char *name, const char *help,
                             sr_counter **out, sr_error *err);

/* Registers a gauge: a value that goes up and down. Errors as for counters. */
sr_status sr_metrics_gauge(sr_metrics *m, const char *name, const char *help, sr_gauge **out,
                           sr_error *err);

/* Registers a histogram with n (1..SR_METRICS_MAX_BUCKETS) finite upper
 * bounds, strictly ascending (copied); the +Inf bucket is implicit. A value
 * equal to a bound counts in that bound's bucket ("le"). Errors as for
 * counters, and SR_ERR_INVALID_ARG for bad bounds. */
sr_status sr_metrics_histogram(sr_metrics *m, const char *name, const char *help,
                               const double *bounds, size_t n, sr_histogram **out,
                               sr_error *err);

/* Registers a gauge family with n_labels (1..SR_METRICS_MAX_LABELS) label
 * names ([a-zA-Z_][a-zA-Z0-9_]*, not starting with "__", distinct; copied).
 * It starts with no series. Errors as for gauges, and for bad label names. */
sr_status sr_metrics_gauge_vec(sr_metrics *m, const char *name, const char *help,
                               const char *const *label_names, size_t n_labels,
                               sr_gauge_vec **out, sr_error *err);

/* Appends the Prometheus text exposition (format 0.0.4) of every family, in
 * the order registered, then the process metrics, to out. Any thread.
 * SR_ERR_NOMEM only (out keeps what was appended). */
sr_status sr_metrics_render(const sr_metrics *m, sr_buffer *out, sr_error *err);

/* ---- Updates: any thread, never fail ------------------------------------- */

void sr_counter_add(sr_counter *c, uint64_t n);
static inline void sr_counter_inc(sr_counter *c) { sr_counter_add(c, 1); }
uint64_t sr_counter_value(const sr_counter *c);

void sr_gauge_set(sr_gauge *g, double value);
void sr_gauge_add(sr_gauge *g, double delta);  /* a negative delta subtracts */
double sr_gauge_value(const sr_gauge *g);

/* Counts value in the first bucket whose bound is >= value (the +Inf bucket
 * when none is) and adds it to the sum. NaN is not an observation: it is
 * dropped, so that one bad measurement cannot turn the sum into NaN forever. */
void sr_histogram_observe(sr_histogram *h, double value);

/* ---- Labelled gauges: take the family's mutex ---------------------------- */

/* Sets the series named by values (one per label name, in registration order,
 * each at most SR_METRICS_LABEL_VALUE_MAX bytes) to x, adding it if new.
 * SR_ERR_INVALID_ARG for a NULL or too long value, SR_ERR_LIMIT when the family
 * already has SR_METRICS_MAX_SERIES series, SR_ERR_NOMEM; the family is then
 * unchanged. */
sr_status sr_gauge_vec_set(sr_gauge_vec *v, const char *const *values, double x, sr_error *err);

/* Replaces every series of the family at once with n series: series i has the
 * label values values[i * n_labels .. i * n_labels + n_labels - 1] and the
 * value x[i] (values and x may be NULL when n is 0). When two series have the
 * same label values the later one wins.
 * A rendering sees the old set or the new one, never a mix. Errors as for
 * sr_gauge_vec_set (SR_ERR_LIMIT when n distinct series exceed the cap); the
 * family is then unchanged. */
sr_status sr_gauge_vec_replace(sr_gauge_vec *v, size_t n, const char *const *values,
                               const double *x, sr_error *err);

/* Removes every series (a family with no series renders only its HELP and
 * TYPE lines). */
void sr_gauge_vec_clear(sr_gauge_vec *v);

/* The number of series the family holds now. */
size_t sr_gauge_vec_count(const sr_gauge_vec *v);

/* The i-th label name (from 0), NULL past the last. Needs no lock. */
const char *sr_gauge_vec_label(const sr_gauge_vec *v, size_t i);

/* ---- librdkafka statistics -> consumer lag -------------------------------- */

/* Parses one statistics JSON document of a consumer (librdkafka's stats_cb,
 * STATISTICS.md; json need not be NUL-terminated) and replaces the series of
 * lag, a family with exactly the labels (topic, partition), with one series
 * per partition this consumer fetches: the records after the consumer's
 * position.
 *
 * The position is app_offset (the offset after the last record handed to the
 * application), and the end of the partition is ls_offset (hi_offset when
 * there is no ls_offset), which is what the consumer can read under
 * isolation.level=read_committed, librdkafka's default and the worker's
 * setting. librdkafka's own consumer_lag measures from committed_offset, which
 * a consumer whose offsets are committed by a producer's transaction never
 * learns: it stays -1, or frozen at the offset fetched on assignment. So
 * consumer_lag is used only for a partition that has handed no record to the
 * application yet (app_offset < 0), where the committed offset it measures
 * from is the position.
 *
 * Skipped: the internal partition -1, partitions not being fetched
 * (fetch_state "none", "stopping" or "stopped", or absent), and partitions
 * whose lag is unknown (no app_offset or end offset, and consumer_lag < 0).
 * A negative difference (a high watermark older than the position) counts
 * as 0.
 *
 * Runs on whichever thread serves the consumer's callbacks. SR_ERR_PARSE
 * when the text is not JSON or not shaped like librdkafka's statistics (no
 * "topics" object, a partition that is not an object or has no integer
 * "partition", a field of the wrong type); SR_ERR_INVALID_ARG when lag does
 * not have the labels (topic, partition); errors of sr_gauge_vec_replace.
 * On any error lag is unchanged. */
sr_status sr_kafka_stats_consumer_lag(const char *json, size_t len, sr_gauge_vec *lag,
                                      sr_error *err);

/* ---- The HTTP endpoint ----------------------------------------------------- */

/* A probe: true when the worker is healthy (or ready); otherwise false, with a
 * short reason written into reason (cap bytes, NUL-terminated; it starts
 * empty). Called on the HTTP server's thread, concurrently with the worker:
 * read state the worker publishes atomically. */
typedef bool (*sr_http_probe_fn)(void *context, char *reason, size_t cap);

typedef struct sr_http_server_options {
    const char *bind_address;  /* a numeric IPv4 or IPv6 address ("127.0.0.1",
                                  "::"), no host name; NULL = every IPv4
                                  interface (0.0.0.0) */
    int port;                  /* 0..65535; 0 = an ephemeral port */
    const sr_metrics *metrics; /* rendered at /metrics; required */
    sr_http_probe_fn healthy;  /* /healthz; NULL = always healthy */
    sr_http_probe_fn ready;    /* /readyz; NULL = always ready */
    void *context;             /* passed to healthy and ready */
} sr_http_server_options;

typedef struct sr_http_server sr_http_server;

/* Starts serving on one internal thread (libmicrohttpd), at most 16
 * connections at once, each closed after 10 s idle:
 *     GET /healthz  200 "ok\n", or 503 "unhealthy: <reason>\n"
 *     GET /readyz   200 "ready\n", or 503 "not ready: <reason>\n"
 *     GET /metrics  200, text/plain; version=0.0.4; charset=utf-8
 *     another path  404;  a method other than GET or HEAD  405
 * SR_ERR_INVALID_ARG for bad options, SR_ERR_CONFIG for a bind address that
 * is not a numeric address, SR_ERR_IO naming address and port when it cannot listen
 * there (the port is in use, say), SR_ERR_NOMEM. */
sr_status sr_http_server_start(const sr_http_server_options *options, sr_http_server **out,
                               sr_error *err);

/* The port the server listens on (the ephemeral one when 0 was asked). */
int sr_http_server_port(const sr_http_server *server);

/* Stops accepting, finishes or drops the connections, joins the thread and
 * frees the server; NULL is fine. */
void sr_http_server_stop(sr_http_server *server);

#endif
