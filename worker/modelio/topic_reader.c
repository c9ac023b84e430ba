/* topic_reader.c — the model topic's reader; see modelio/topic_reader.h. */
#include "modelio/topic_reader.h"

sr_status model_topic_reader_new(const char *bootstrap, const sr_kafka_settings *settings,
                                 const char *topic, sr_topic_reader **out, sr_error *err) {
    sr_topic_reader_options options = {
        .bootstrap = bootstrap, .settings = settings, .topic = topic, .from_beginning = true};
    sr_topic_reader *reader;
    sr_status status = sr_topic_reader_new(&options, &reader, err);
    if (status != SR_OK) return status;
    int partitions = sr_topic_reader_partition_count(reader);
    if (partitions != 1) {
        sr_topic_reader_free(reader);
        return sr_fail(err, SR_ERR_CONFIG,
                       "model topic '%s' has %d partitions; it must have exactly one, so that a "
                       "manifest always follows its chunks", topic, partitions);
    }
    *out = reader;
    return SR_OK;
}
