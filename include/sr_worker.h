/*
 * sr_worker.h — `streamrec worker`: the stream processor (DESIGN.md, "The
 * data flow"). Joins the consumer group of the event topic, steps each user's
 * state as its events arrive, publishes top-N recommendations per the scoring
 * policy, sends bad records to the dead-letter topic, hot-swaps the models the
 * trainer publishes, and serves /healthz, /readyz and /metrics.
 *
 * Delivery: at-least-once. The consumer commits input offsets only after
 * everything produced so far (recommendations, dead letters) is delivered;
 * after a crash the events since the last commit are processed again, so
 * users' states step those events twice and some recommendations repeat.
 * (Exactly-once with state restore is the next step: the loop is built as
 * commit intervals so that a transaction per interval fits.)
 */
#ifndef SR_WORKER_H
#define SR_WORKER_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "sr_codec.h"
#include "sr_error.h"
#include "sr_kafka.h"
#include "sr_serving.h"

struct sr_metrics;

/* The user's librdkafka settings for one kind of client. */
typedef enum sr_worker_client { SR_WORKER_CONSUMER, SR_WORKER_PRODUCER } sr_worker_client;
typedef sr_status (*sr_worker_settings_fn)(void *context, rd_kafka_conf_t *conf,
                                           sr_worker_client client, sr_error *err);

typedef struct sr_worker_options {
    const char *bootstrap;
    const char *group_id;
    const char *group_instance_id;   /* static membership; NULL = dynamic */
    const char *client_id;
    const char *events_topic;
    const char *recommendations_topic;
    const char *dead_letter_topic;
    const char *models_topic;
    const char *changelog_topic;     /* the user states (exactly-once) */
    bool exactly_once;               /* transactions; false: at-least-once (flush, then commit) */
    const char *transactional_id;    /* exactly-once: this instance's; NULL: derived (worker.c) */
    sr_wire_format wire;
    const char *schema_map;          /* more writer schemas (sr_codec_load_schema_map); may be NULL */
    bool require_key_match;          /* a record whose key is not its user id is dead-lettered */
    int64_t commit_interval_ms;
    uint32_t poll_batch;             /* records per consume call */
    const char *model_file;          /* a model to serve until the topic has a newer one; may be NULL */
    bool wait_for_model;             /* no model anywhere at start: wait (true) or serve popularity */
    int model_catch_up_timeout_ms;
    sr_serving_config serving;
    sr_worker_settings_fn settings;  /* may be NULL */
    void *settings_context;
    const sr_kafka_settings *consumer_settings;  /* the same settings as a list, for the model topic */
    const char *http_bind;           /* NULL = all addresses */
    int http_port;                   /* -1 = no HTTP endpoint; 0 = any free port */
    int shutdown_timeout_ms;         /* for the final flush and commit */
    const volatile sig_atomic_t *stop;
} sr_worker_options;

/* Defaults for everything but the topics, bootstrap and callbacks. */
void sr_worker_options_init(sr_worker_options *options);

/* What a run did, for the final log line and for tests. */
typedef struct sr_worker_summary {
    uint64_t records;
    uint64_t events;
    uint64_t dead_letters;
    uint64_t recommendations;
    uint64_t commits;                /* offset commits, or committed transactions */
    uint64_t aborted;                /* transactions aborted */
    uint64_t swaps;
    int64_t model_version;
    double seconds;
} sr_worker_summary;

/* Runs until *stop turns non-zero (then finishes the batch, flushes, commits
 * and leaves the group) or a fatal error. */
sr_status sr_worker_run(const sr_worker_options *options, sr_worker_summary *summary,
                        sr_error *err);

#endif
