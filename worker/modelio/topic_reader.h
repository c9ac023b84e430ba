/*
 * topic_reader.h — the model topic read from its beginning, committed records
 * only: sr_topic_reader (sr_topic_reader.h) plus the model topic's one rule,
 * exactly one partition, since the order of chunks and manifest is only kept
 * within one (modelio-internal; the subscriber and the publisher's scan of
 * live keys share it).
 */
#ifndef SR_MODELIO_TOPIC_READER_H
#define SR_MODELIO_TOPIC_READER_H

#include "sr_kafka.h"
#include "sr_topic_reader.h"

/* SR_ERR_NOT_FOUND when the topic does not exist, SR_ERR_CONFIG when it has
 * more than one partition, SR_ERR_KAFKA for the rest. */
sr_status model_topic_reader_new(const char *bootstrap, const sr_kafka_settings *settings,
                                 const char *topic, sr_topic_reader **out, sr_error *err);

#endif
