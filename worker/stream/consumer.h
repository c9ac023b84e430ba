/*
 * consumer.h — the worker's group consumer of the event topic.
 *
 * Defaults (the user's kafka.* / kafka.consumer.* settings override them):
 * enable.auto.commit=false and enable.auto.offset.store=false (offsets are
 * stored after processing and committed after delivery, by the worker),
 * auto.offset.reset=earliest (a new group starts at the beginning),
 * isolation.level=read_committed, statistics.interval.ms=5000 (consumer lag
 * for the metrics), partition.assignment.strategy=range,roundrobin (eager:
 * librdkafka 2.0.2's cooperative-sticky has known bugs).
 *
 * Rebalances (eager). On assignment the partitions are taken as given and
 * hooks.assigned runs. Before a revocation takes effect, hooks.revoking runs
 * (lost = the session expired: the partitions may be another member's
 * already, so nothing may be committed for them), then the assignment is
 * cleared. A partition revoked cleanly and assigned straight back resumes at
 * the position this consumer processed up to, not at the committed offset.
 * Records
 * of partitions no longer assigned that were already fetched are skipped by
 * the caller (stream_consumer_owns).
 */
#ifndef SR_STREAM_CONSUMER_H
#define SR_STREAM_CONSUMER_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>

#include "sr_error.h"
#include "sr_worker.h"

typedef struct stream_consumer_hooks {
    /* Called inside a consume call, before partitions are revoked. Returns
     * whether what was processed of them is committed; if not (or lost), a
     * partition assigned straight back resumes at its committed offset. */
    bool (*revoking)(void *context, const rd_kafka_topic_partition_list_t *partitions, bool lost);
    void (*assigned)(void *context, const rd_kafka_topic_partition_list_t *partitions);
    void (*statistics)(void *context, const char *json, size_t len);
    void *context;
} stream_consumer_hooks;

typedef struct stream_consumer_options {
    const char *bootstrap;
    const char *group_id;
    const char *group_instance_id;  /* NULL: dynamic membership */
    const char *client_id;
    const char *topic;
    sr_worker_settings_fn settings;
    void *settings_context;
    stream_consumer_hooks hooks;
} stream_consumer_options;

typedef struct stream_consumer stream_consumer;

sr_status stream_consumer_new(const stream_consumer_options *options, stream_consumer **out,
                              sr_error *err);

/* Up to max records (waiting at most timeout_ms); callbacks run inside.
 * Returns the count; the caller destroys each record. */
size_t stream_consumer_poll(stream_consumer *c, int timeout_ms, rd_kafka_message_t **records,
                            size_t max);

/* SR_ERR_KAFKA naming the cause and the user when msg carries an error
 * retrying cannot fix (an ACL refusing a topic or the group: sr_kafka.h);
 * SR_OK for any other error, which librdkafka retries. */
sr_status stream_consumer_refused(stream_consumer *c, const rd_kafka_message_t *msg, sr_error *err);

/* Whether partition of the event topic is assigned now. */
bool stream_consumer_owns(const stream_consumer *c, int32_t partition);
int stream_consumer_assigned_count(const stream_consumer *c);

/* Marks records up to and including offset of partition as processed. */
void stream_consumer_processed(stream_consumer *c, int32_t partition, int64_t offset);

/* Commits the processed offsets; *committed counts the partitions whose
 * offsets were sent. wait: until the group coordinator answers; otherwise the
 * commit is sent and its result arrives with a later consume call (a refusal
 * is then returned by the next stream_consumer_commit). Nothing to commit is
 * not an error. */
sr_status stream_consumer_commit(stream_consumer *c, bool wait, int *committed, sr_error *err);

/* For a transaction (exactly-once): the processed offsets not yet committed
 * (a list the caller destroys; NULL when out of memory), then, once the
 * transaction that carried them committed, stream_consumer_offsets_committed.
 * The group's metadata fences the transaction by the consumer's generation. */
rd_kafka_topic_partition_list_t *stream_consumer_pending_offsets(const stream_consumer *c);
void stream_consumer_offsets_committed(stream_consumer *c,
                                       const rd_kafka_topic_partition_list_t *offsets);
rd_kafka_consumer_group_metadata_t *stream_consumer_group_metadata(stream_consumer *c);

/* After an aborted transaction: every assigned partition goes back to its
 * committed offset (fetched records beyond it are dropped), its processed
 * position with it. The partitions go to partitions (room for every assigned
 * one: stream_consumer_assigned_count), their number to *n. SR_ERR_KAFKA. */
sr_status stream_consumer_rewind(stream_consumer *c, int32_t *partitions, size_t *n,
                                 sr_error *err);

/* Leaves the group and frees (commits nothing: commit first). */
void stream_consumer_close(stream_consumer *c);

#endif
