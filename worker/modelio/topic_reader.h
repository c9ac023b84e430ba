/*
 * topic_reader.h — reads the model topic from its beginning, committed records
 * only, with no consumer group (modelio-internal; the subscriber and the
 * publisher's scan of live keys share it).
 *
 *     model_topic_reader *r;
 *     model_topic_reader_new(bootstrap, settings, topic, &r, &err);
 *     rd_kafka_message_t *msg;
 *     while (model_topic_reader_poll(r, 100, &msg, &err) == SR_OK && !model_topic_reader_at_end(r))
 *         if (msg) { use(msg); rd_kafka_message_destroy(msg); }
 *
 * The topic must have exactly one partition: the order of chunks and manifest
 * is only kept within one.
 */
#ifndef SR_MODELIO_TOPIC_READER_H
#define SR_MODELIO_TOPIC_READER_H

#include <stdbool.h>

#include <librdkafka/rdkafka.h>

#include "sr_error.h"
#include "sr_kafka.h"

typedef struct model_topic_reader model_topic_reader;

/* SR_ERR_NOT_FOUND when the topic does not exist, SR_ERR_CONFIG when it has
 * more than one partition, SR_ERR_KAFKA for the rest. */
sr_status model_topic_reader_new(const char *bootstrap, const sr_kafka_settings *settings,
                                 const char *topic, model_topic_reader **out, sr_error *err);

/* Waits up to timeout_ms for one record: *msg is a record the caller destroys,
 * or NULL (nothing yet, or an end-of-partition or transient error event, which
 * the reader handles itself). Fails only on a fatal or topic-level error. */
sr_status model_topic_reader_poll(model_topic_reader *r, int timeout_ms, rd_kafka_message_t **msg,
                                  sr_error *err);

/* Whether the reader has reached the partition's end (the last stable offset)
 * and received no record since. */
bool model_topic_reader_at_end(const model_topic_reader *r);

void model_topic_reader_free(model_topic_reader *r);

#endif
