/*
 * sr_embedded_broker.h — librdkafka's in-process mock cluster as streamrec's
 * embedded broker: a Kafka-protocol broker for trying streamrec with nothing
 * else installed (`streamrec broker`, `streamrec demo`). Not for production.
 *
 *     sr_embedded_broker *broker;
 *     if (sr_embedded_broker_start(8, &broker, &err) != SR_OK) ...
 *     printf("%s\n", sr_embedded_broker_bootstrap(broker));   // 127.0.0.1:PORT
 *     ...
 *     sr_embedded_broker_stop(broker);
 *
 * Its limits (librdkafka 2.0.2's mock cluster; see README.md, "Embedded broker"):
 * each partition keeps at most 5 MB and 100,000 message batches — the oldest are
 * dropped silently beyond that, both fixed in librdkafka; it listens on a random
 * loopback port; everything is in memory; no compaction, no TLS/SASL/ACLs, no
 * topic administration requests; transactions are accepted but aborted records
 * are not hidden from read_committed consumers. What can be raised is raised:
 * more partitions hold more data, and producers with large batches and lz4
 * compression fit more records into each partition's 5 MB.
 */
#ifndef SR_EMBEDDED_BROKER_H
#define SR_EMBEDDED_BROKER_H

#include "sr_error.h"

/* What one partition of the mock cluster keeps before dropping its oldest data. */
#define SR_EMBEDDED_PARTITION_MAX_BYTES (5 * 1024 * 1024)
#define SR_EMBEDDED_PARTITION_MAX_BATCHES 100000

typedef struct sr_embedded_broker sr_embedded_broker;

/* Starts a one-node mock cluster and creates the default topics (sr_topics.h),
 * the co-partitioned ones with `partitions` partitions. The cluster runs on its
 * own thread until sr_embedded_broker_stop. */
sr_status sr_embedded_broker_start(int partitions, sr_embedded_broker **out, sr_error *err);

/* Creates one more topic. */
sr_status sr_embedded_broker_create_topic(sr_embedded_broker *broker, const char *topic,
                                          int partitions, sr_error *err);

/* "127.0.0.1:PORT"; valid until stop. */
const char *sr_embedded_broker_bootstrap(const sr_embedded_broker *broker);

void sr_embedded_broker_stop(sr_embedded_broker *broker);

#endif
