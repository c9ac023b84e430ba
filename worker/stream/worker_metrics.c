/*
 * worker_metrics.c — the worker's metric families (worker_metrics.h).
 *
 * Counters are fed from the processing thread's totals: each update adds the
 * difference to the last totals, so the figures have one owner and the
 * exported counters never go down.
 */
#include <stdlib.h>
#include <string.h>

#include "sr_log.h"
#include "stream/worker_metrics.h"

enum counter_id {
    C_RECORDS, C_EVENTS, C_STEPS, C_UNKNOWN, C_SCORINGS, C_POPULARITY, C_RECOMMENDATIONS,
    C_DLQ, C_DECODE_FAILURES, C_INVALID, C_EVICTIONS, C_EXPIRATIONS, C_SWAPS, C_MIGRATIONS,
    C_REJECTIONS, C_COMMITS, C_COMMIT_FAILURES, C_REBALANCES, C_DELIVERY_FAILURES,
    C_ONLINE_HITS, C_ONLINE_CHECKED, C_RESTORED, C_ABORTED, C_FORGOTTEN, C_COUNT
};

static const struct { const char *name, *help; } counter_defs[C_COUNT] = {
    [C_RECORDS] = {"streamrec_records_consumed_total", "Records read from the event topic."},
    [C_EVENTS] = {"streamrec_events_total", "Events decoded and applied to user states."},
    [C_STEPS] = {"streamrec_steps_total", "Hidden-state steps (events of items the model knows)."},
    [C_UNKNOWN] = {"streamrec_unknown_items_total", "Events whose item the serving model does not know."},
    [C_SCORINGS] = {"streamrec_scorings_total", "Users scored by the model."},
    [C_POPULARITY] = {"streamrec_popularity_scorings_total",
                      "Users served the popularity ranking (no model, or too little history)."},
    [C_RECOMMENDATIONS] = {"streamrec_recommendations_total", "Recommendations produced."},
    [C_DLQ] = {"streamrec_dlq_records_total", "Records sent to the dead-letter topic."},
    [C_DECODE_FAILURES] = {"streamrec_decode_failures_total", "Records that did not decode."},
    [C_INVALID] = {"streamrec_invalid_records_total", "Records that decoded but failed validation."},
    [C_EVICTIONS] = {"streamrec_evictions_total", "Users evicted because the state store was full."},
    [C_EXPIRATIONS] = {"streamrec_expirations_total", "Users expired after idle time."},
    [C_SWAPS] = {"streamrec_model_swaps_total", "Models swapped in after the first."},
    [C_MIGRATIONS] = {"streamrec_state_migrations_total", "User states brought to a new model."},
    [C_REJECTIONS] = {"streamrec_model_rejections_total", "Model versions refused (corrupt, partial or unloadable)."},
    [C_COMMITS] = {"streamrec_commits_total",
                   "Offset commits after the outputs were delivered, or committed transactions."},
    [C_RESTORED] = {"streamrec_restored_user_states_total",
                    "User states restored from the changelog (exactly-once)."},
    [C_FORGOTTEN] = {"streamrec_users_forgotten_total",
                     "Users forgotten on request (forget-user control records)."},
    [C_ABORTED] = {"streamrec_transactions_aborted_total",
                   "Transactions aborted; their input was processed again (exactly-once)."},
    [C_COMMIT_FAILURES] = {"streamrec_commit_failures_total",
                          "Commits that failed or were put off (outputs not yet delivered)."},
    [C_REBALANCES] = {"streamrec_rebalances_total", "Partition assignments and revocations."},
    [C_DELIVERY_FAILURES] = {"streamrec_delivery_failures_total", "Produced records that could not be delivered."},
    [C_ONLINE_HITS] = {"streamrec_online_hits_total",
                       "Sampled users' events whose item was in their latest recommendation."},
    [C_ONLINE_CHECKED] = {"streamrec_online_hit_checks_total",
                          "Sampled users' events that had a latest recommendation."},
};

enum gauge_id { G_MODEL_VERSION, G_USERS, G_STATE_BYTES, G_POPULARITY_BYTES, G_PARTITIONS,
                G_MODEL_LOADED, G_ONLINE_HIT_RATE, G_COUNT };

static const struct { const char *name, *help; } gauge_defs[G_COUNT] = {
    [G_MODEL_VERSION] = {"streamrec_model_version", "Version of the serving model (0 = none)."},
    [G_USERS] = {"streamrec_users", "Users held in the state store."},
    [G_STATE_BYTES] = {"streamrec_state_bytes", "Memory of the user state store."},
    [G_POPULARITY_BYTES] = {"streamrec_popularity_bytes", "Memory of the popularity ranking."},
    [G_PARTITIONS] = {"streamrec_assigned_partitions", "Event-topic partitions assigned to this worker."},
    [G_MODEL_LOADED] = {"streamrec_model_loaded", "1 when a model serves, 0 when the popularity fallback does."},
    [G_ONLINE_HIT_RATE] = {"streamrec_online_hit_rate",
                           "Share of sampled users' events whose item was in their latest list, since start."},
};

struct worker_metrics {
    sr_metrics *registry;
    sr_counter *counters[C_COUNT];
    uint64_t last[C_COUNT];
    sr_gauge *gauges[G_COUNT];
    sr_histogram *latency, *swap_pause, *step_batch;
    sr_gauge_vec *lag;
};

static const double latency_bounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                        0.5, 1, 2.5, 5, 10, 30};
static const double pause_bounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                      0.025, 0.05, 0.1, 0.25, 0.5, 1};

sr_status worker_metrics_new(worker_metrics **out, sr_error *err) {
    worker_metrics *m = calloc(1, sizeof *m);
    if (!m) return sr_fail(err, SR_ERR_NOMEM, "metrics: out of memory");
    sr_status status = sr_metrics_new(&m->registry, err);
    for (int i = 0; status == SR_OK && i < C_COUNT; i++)
        status = sr_metrics_counter(m->registry, counter_defs[i].name, counter_defs[i].help,
                                    &m->counters[i], err);
    for (int i = 0; status == SR_OK && i < G_COUNT; i++)
        status = sr_metrics_gauge(m->registry, gauge_defs[i].name, gauge_defs[i].help,
                                  &m->gauges[i], err);
    if (status == SR_OK)
        status = sr_metrics_histogram(m->registry, "streamrec_event_to_publish_latency_seconds",
                                      "From receiving a user's oldest unscored event to the "
                                      "delivery of the recommendation that covers it.",
                                      latency_bounds, sizeof latency_bounds / sizeof *latency_bounds,
                                      &m->latency, err);
    if (status == SR_OK)
        status = sr_metrics_histogram(m->registry, "streamrec_model_swap_pause_seconds",
                                      "How long a model swap held up processing.", pause_bounds,
                                      sizeof pause_bounds / sizeof *pause_bounds, &m->swap_pause, err);
    if (status == SR_OK)
        status = sr_metrics_histogram(m->registry, "streamrec_step_batch_seconds",
                                      "Time to step one consumed batch of events.", pause_bounds,
                                      sizeof pause_bounds / sizeof *pause_bounds, &m->step_batch, err);
    static const char *const lag_labels[] = {"topic", "partition"};
    if (status == SR_OK)
        status = sr_metrics_gauge_vec(m->registry, "streamrec_consumer_lag_records",
                                      "Records behind the end of each assigned partition "
                                      "(librdkafka statistics).", lag_labels, 2, &m->lag, err);
    if (status != SR_OK) {
        worker_metrics_free(m);
        return sr_error_wrap(err, status, "metrics");
    }
    *out = m;
    return SR_OK;
}

void worker_metrics_free(worker_metrics *m) {
    if (!m) return;
    sr_metrics_free(m->registry);
    free(m);
}

sr_metrics *worker_metrics_registry(worker_metrics *m) { return m->registry; }

static void advance(worker_metrics *m, enum counter_id id, uint64_t total) {
    if (total > m->last[id]) sr_counter_add(m->counters[id], total - m->last[id]);
    m->last[id] = total;
}

void worker_metrics_update(worker_metrics *m, const worker_figures *f) {
    const sr_serving_stats *s = &f->serving;
    advance(m, C_RECORDS, f->records);
    advance(m, C_EVENTS, s->events);
    advance(m, C_STEPS, s->steps);
    advance(m, C_UNKNOWN, s->unknown_items);
    advance(m, C_SCORINGS, s->scorings);
    advance(m, C_POPULARITY, s->popularity_scorings);
    advance(m, C_RECOMMENDATIONS, f->output.recommendations);
    advance(m, C_DLQ, f->output.dead_letters);
    advance(m, C_DECODE_FAILURES, f->decode_failures);
    advance(m, C_INVALID, f->invalid_records);
    advance(m, C_EVICTIONS, s->evictions);
    advance(m, C_EXPIRATIONS, s->expirations);
    advance(m, C_SWAPS, s->swaps);
    advance(m, C_MIGRATIONS, s->migrations);
    advance(m, C_REJECTIONS, f->model_rejections);
    advance(m, C_COMMITS, f->commits);
    advance(m, C_RESTORED, f->restored_users);
    advance(m, C_ABORTED, f->transactions_aborted);
    advance(m, C_FORGOTTEN, f->users_forgotten);
    advance(m, C_COMMIT_FAILURES, f->commit_failures);
    advance(m, C_REBALANCES, f->rebalances);
    advance(m, C_DELIVERY_FAILURES, f->output.failed);
    advance(m, C_ONLINE_HITS, f->online_hits);
    advance(m, C_ONLINE_CHECKED, f->online_checked);
    sr_gauge_set(m->gauges[G_MODEL_VERSION], (double)s->model_version);
    sr_gauge_set(m->gauges[G_USERS], (double)s->users);
    sr_gauge_set(m->gauges[G_STATE_BYTES], (double)s->state_bytes);
    sr_gauge_set(m->gauges[G_POPULARITY_BYTES], (double)s->popularity_bytes);
    sr_gauge_set(m->gauges[G_PARTITIONS], f->assigned_partitions);
    sr_gauge_set(m->gauges[G_MODEL_LOADED], f->model_loaded ? 1 : 0);
    if (f->online_checked)
        sr_gauge_set(m->gauges[G_ONLINE_HIT_RATE], (double)f->online_hits / (double)f->online_checked);
}

void worker_metrics_delivered(worker_metrics *m, double latency_seconds) {
    sr_histogram_observe(m->latency, latency_seconds);
}

void worker_metrics_swap(worker_metrics *m, double pause_seconds) {
    sr_histogram_observe(m->swap_pause, pause_seconds);
}

void worker_metrics_step_batch(worker_metrics *m, double seconds) {
    sr_histogram_observe(m->step_batch, seconds);
}

void worker_metrics_kafka_stats(worker_metrics *m, const char *json, size_t len) {
    sr_error err;
    if (sr_kafka_stats_consumer_lag(json, len, m->lag, &err) != SR_OK)
        sr_log(SR_LOG_WARN, "metrics", "librdkafka statistics: %s", err.message);
}
