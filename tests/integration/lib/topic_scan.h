/*
 * topic_scan.h — reading a whole topic once, for the integration verifiers:
 * every partition from the beginning to the end found at start, committed
 * records only (sr_topic_reader). A failure exits 2 naming the tool.
 */
#ifndef TOPIC_SCAN_H
#define TOPIC_SCAN_H

#include "sr_topic_reader.h"

sr_topic_reader *topic_scan_open(const char *tool, const char *topic);

/* The next record (the caller destroys it), or NULL at the end. */
rd_kafka_message_t *topic_scan_next(const char *tool, sr_topic_reader *reader, const char *topic);

#endif
