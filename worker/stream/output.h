/*
 * output.h — the worker's producer: recommendations to the output topic, bad
 * records to the dead-letter topic and user states to the changelog, on one
 * idempotent producer, transactional in exactly-once mode.
 *
 * Defaults (the user's kafka.* / kafka.producer.* settings override them):
 * enable.idempotence=true (acks=all, no duplicates or reordering from
 * retries), linger.ms=1 (recommendations are latency-sensitive),
 * compression.type=lz4.
 *
 * Delivery. Records are queued; their delivery reports arrive inside
 * stream_output_poll and stream_output_flush, on the calling thread. A record
 * that finally fails (after librdkafka's own retries, delivery.timeout.ms) is
 * counted and makes the next flush fail: the worker must not commit input
 * offsets past output it could not deliver (at-least-once), so it stops and
 * the orchestrator restarts it from the committed offsets.
 *
 * Transactions (options.transactional_id set). The producer is initialised
 * for transactions at creation (fencing any older instance with the same id)
 * and always has one transaction open: everything produced goes into it, and
 * stream_output_commit_transaction commits it together with the consumer's
 * offsets (send_offsets_to_transaction, so that a consumer group generation
 * change fences a zombie: exactly-once v2) and opens the next. An abortable
 * error aborts it and reports SR_ERR_ABORTED: its outputs never become
 * visible to read_committed consumers, and the caller processes its input
 * again. A fatal error (fenced, a broken producer) is SR_ERR_KAFKA: the
 * process must stop. So is a refusal retrying cannot fix (a login, a
 * certificate, an ACL on a topic or the transactional id: sr_kafka.h), with
 * a message naming it, instead of an abort that would be retried forever.
 */
#ifndef SR_STREAM_OUTPUT_H
#define SR_STREAM_OUTPUT_H

#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "sr_codec.h"
#include "sr_error.h"
#include "sr_event.h"
#include "sr_worker.h"

/* What a delivered (or failed) record was. */
typedef enum stream_record_kind {
    STREAM_RECOMMENDATION,
    STREAM_DEAD_LETTER,
    STREAM_STATE,       /* a changelog record or tombstone */
} stream_record_kind;

/* Called for every delivery report, on the thread that polls. */
typedef void (*stream_delivered_fn)(void *context, stream_record_kind kind, int64_t pending_since_ms,
                                    rd_kafka_resp_err_t status);

typedef struct stream_output_options {
    const char *bootstrap;
    const char *client_id;
    const char *recommendations_topic;
    const char *dead_letter_topic;
    sr_worker_settings_fn settings;  /* the user's settings, after the defaults */
    void *settings_context;
    stream_delivered_fn delivered;       /* may be NULL */
    void *delivered_context;
    int queue_full_timeout_ms;           /* how long a record may wait for room in a full queue */
    const char *changelog_topic;         /* user states; NULL: none */
    const char *transactional_id;        /* NULL: not transactional (at-least-once) */
    int transaction_timeout_ms;          /* each transactional call's wait */
} stream_output_options;

typedef struct stream_output_stats {
    uint64_t recommendations;            /* queued */
    uint64_t dead_letters;               /* queued */
    uint64_t states;                     /* changelog records queued */
    uint64_t tombstones;                 /* changelog tombstones queued */
    uint64_t transactions;               /* committed */
    uint64_t aborted;                    /* transactions aborted */
    uint64_t delivered;
    uint64_t failed;
    char first_failure[SR_ERROR_MESSAGE_MAX];
} stream_output_stats;

typedef struct stream_output stream_output;

sr_status stream_output_new(const stream_output_options *options, stream_output **out,
                            sr_error *err);
void stream_output_free(stream_output *out);

/* Queues one Recommendation (key: the user id in decimal). */
sr_status stream_output_recommendation(stream_output *out, const sr_recommendation *rec,
                                       int64_t pending_since_ms, sr_error *err);

/* Queues a record that could not be processed: its original key, value and
 * headers, plus headers naming the error and the source (listed in output.c). */
sr_status stream_output_dead_letter(stream_output *out, const rd_kafka_message_t *msg,
                                    const sr_error *why, int64_t now_ms, sr_error *err);

/* Queues a tombstone for a forgotten user on the output topic (key: the user
 * id, no value): compacting consumers drop its lists. */
sr_status stream_output_recommendation_tombstone(stream_output *out, int64_t user_id,
                                                 sr_error *err);

/* Queues a user's state for the changelog, keyed by user id, on the partition
 * its events came from (the changelog is co-partitioned with the events). */
sr_status stream_output_state(stream_output *out, const sr_user_state_record *state,
                              sr_error *err);

/* Queues a changelog tombstone for a user removed for good. */
sr_status stream_output_tombstone(stream_output *out, int64_t user_id, int32_t partition,
                                  sr_error *err);

/* Commits the open transaction with the consumer's offsets (may be NULL or
 * empty) and opens the next (see Transactions above). */
sr_status stream_output_commit_transaction(stream_output *out,
                                           const rd_kafka_topic_partition_list_t *offsets,
                                           const rd_kafka_consumer_group_metadata_t *group,
                                           sr_error *err);

bool stream_output_transactional(const stream_output *out);

/* Aborts the open transaction and opens the next (partitions lost: what was
 * produced for them must never become visible). SR_OK when aborted;
 * SR_ERR_KAFKA when the abort failed (the producer is then unusable). */
sr_status stream_output_abort(stream_output *out, const char *why, sr_error *err);

/* Serves delivery reports without waiting. */
void stream_output_poll(stream_output *out);

/* Waits until everything queued is delivered (at most timeout_ms). Fails with
 * SR_ERR_KAFKA when any record failed since the output was created, or, when
 * drained is NULL, when records are still queued at the timeout; otherwise
 * *drained tells whether everything was delivered. */
sr_status stream_output_flush(stream_output *out, int timeout_ms, bool *drained, sr_error *err);

stream_output_stats stream_output_get_stats(const stream_output *out);
/* Records queued and not yet delivered. */
int stream_output_in_flight(const stream_output *out);

#endif
