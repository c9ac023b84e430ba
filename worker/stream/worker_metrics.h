/*
 * worker_metrics.h — the worker's Prometheus metrics: the families it
 * exports (names in worker_metrics.c) and how its counters reach them.
 *
 * The processing thread owns the figures; once per loop it hands their
 * totals to worker_metrics_update, which turns them into counter increments
 * and gauge values (atomics: the HTTP thread renders them at any time).
 */
#ifndef SR_STREAM_WORKER_METRICS_H
#define SR_STREAM_WORKER_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sr_error.h"
#include "sr_metrics.h"
#include "sr_serving.h"
#include "stream/output.h"

/* Totals since start, as the processing thread counts them. */
typedef struct worker_figures {
    sr_serving_stats serving;
    stream_output_stats output;
    uint64_t records;           /* consumed */
    uint64_t decode_failures;
    uint64_t invalid_records;   /* decoded but refused (key mismatch) */
    uint64_t model_rejections;
    uint64_t commits;
    uint64_t restored_users;      /* user states restored from the changelog */
    uint64_t transactions_aborted;
    uint64_t users_forgotten;     /* forget-user control records applied */
    uint64_t commit_failures;
    uint64_t rebalances;
    uint64_t online_hits;       /* sampled users: events whose item was in their latest list */
    uint64_t online_checked;    /* sampled users: events that had a latest list */
    int assigned_partitions;
    bool model_loaded;
} worker_figures;

typedef struct worker_metrics worker_metrics;

sr_status worker_metrics_new(worker_metrics **out, sr_error *err);
void worker_metrics_free(worker_metrics *m);
sr_metrics *worker_metrics_registry(worker_metrics *m);

void worker_metrics_update(worker_metrics *m, const worker_figures *figures);
/* A recommendation delivered: event-to-publish latency (receipt of its oldest
 * covered event to delivery). */
void worker_metrics_delivered(worker_metrics *m, double latency_seconds);
void worker_metrics_swap(worker_metrics *m, double pause_seconds);
void worker_metrics_step_batch(worker_metrics *m, double seconds);
/* librdkafka's statistics JSON (consumer lag per partition). */
void worker_metrics_kafka_stats(worker_metrics *m, const char *json, size_t len);

#endif
