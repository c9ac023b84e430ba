/*
 * sr_topic_reader.h — reads every partition of a topic from its beginning (or
 * its end) with no consumer group and no commits, committed records only, and
 * says when it has reached the end of every partition. For tools that look at
 * a topic (tail) and for replaying history (the trainer).
 *
 *     sr_topic_reader_options options = {.bootstrap = b, .topic = "user-events",
 *                                        .from_beginning = true};
 *     sr_topic_reader *reader;
 *     if (sr_topic_reader_new(&options, &reader, &err) != SR_OK) ...
 *     while (!sr_topic_reader_at_end(reader)) {
 *         rd_kafka_message_t *msg;
 *         if (sr_topic_reader_poll(reader, 100, &msg, &err) != SR_OK) break;
 *         if (msg) { use(msg); rd_kafka_message_destroy(msg); }
 *     }
 *     sr_topic_reader_free(reader);
 *
 * "At end" means every partition has reached its end (the last stable offset)
 * at least once since the reader started: the history that existed then has
 * been read. Records produced later are still delivered to a reader that keeps
 * polling.
 */
#ifndef SR_TOPIC_READER_H
#define SR_TOPIC_READER_H

#include <stdbool.h>

#include <librdkafka/rdkafka.h>

#include "sr_error.h"
#include "sr_kafka.h"

typedef struct sr_topic_reader_options {
    const char *bootstrap;              /* NULL: sr_kafka_default_bootstrap() */
    const sr_kafka_settings *settings;  /* -X settings, applied last; may be NULL */
    const char *topic;
    bool from_beginning;                /* false: only records produced from now on */
    const int32_t *partitions;          /* only these (NULL: every partition); each must exist */
    size_t partitions_count;
    int metadata_timeout_ms;            /* 0: 10000 */
    /* How long the broker may hold a fetch that finds nothing new (librdkafka's
     * fetch.wait.max.ms, default 500; 0 keeps it): a reader that stops at the
     * end waits that long for the fetch that tells it the end is reached. */
    int end_wait_ms;
} sr_topic_reader_options;

typedef struct sr_topic_reader sr_topic_reader;

/* SR_ERR_NOT_FOUND when the topic (or a partition asked for) does not exist,
 * SR_ERR_CONFIG for a rejected setting, SR_ERR_KAFKA for the rest. */
sr_status sr_topic_reader_new(const sr_topic_reader_options *options, sr_topic_reader **out,
                              sr_error *err);

/* Waits up to timeout_ms for one record: *msg is a record the caller destroys,
 * or NULL (nothing yet, or an end-of-partition or transient error event, which
 * the reader handles itself). Fails only on a fatal error. */
sr_status sr_topic_reader_poll(sr_topic_reader *reader, int timeout_ms, rd_kafka_message_t **msg,
                               sr_error *err);

bool sr_topic_reader_at_end(const sr_topic_reader *reader);
int sr_topic_reader_partition_count(const sr_topic_reader *reader);
void sr_topic_reader_free(sr_topic_reader *reader);

#endif
