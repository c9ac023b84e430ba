/* topic_scan.c — see topic_scan.h. */
#include <stdio.h>
#include <stdlib.h>

#include "topic_scan.h"

sr_topic_reader *topic_scan_open(const char *tool, const char *topic) {
    sr_topic_reader_options ro = {.bootstrap = getenv("STREAMREC_BOOTSTRAP"), .topic = topic,
                                  .from_beginning = true};
    sr_topic_reader *reader;
    sr_error err;
    if (sr_topic_reader_new(&ro, &reader, &err) != SR_OK) {
        fprintf(stderr, "%s: topic '%s': %s\n", tool, topic, err.message);
        exit(2);
    }
    return reader;
}

rd_kafka_message_t *topic_scan_next(const char *tool, sr_topic_reader *reader, const char *topic) {
    while (!sr_topic_reader_at_end(reader)) {
        rd_kafka_message_t *msg;
        sr_error err;
        if (sr_topic_reader_poll(reader, 200, &msg, &err) != SR_OK) {
            fprintf(stderr, "%s: reading '%s': %s\n", tool, topic, err.message);
            exit(2);
        }
        if (msg) return msg;
    }
    return NULL;
}
