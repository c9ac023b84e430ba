/*
 * producer.h — the replay's Kafka producer: idempotent, tuned for throughput,
 * counting delivery reports.
 *
 * Defaults (any -X setting overrides them): enable.idempotence=true (so acks=all
 * and no duplicates or reordering from retries), linger.ms=20,
 * batch.size=1000000, compression.type=lz4 (built into Debian's librdkafka
 * 2.0.2), queue.buffering.max.kbytes=262144.
 *
 * All calls come from one thread. Delivery reports and errors arrive on
 * librdkafka callbacks, which run inside this module's poll and flush calls on
 * that same thread, so the counters need no lock.
 */
#ifndef SR_REPLAY_PRODUCER_H
#define SR_REPLAY_PRODUCER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sr_error.h"
#include "sr_kafka.h"

typedef struct replay_producer replay_producer;

typedef struct replay_delivery {
    uint64_t delivered;
    uint64_t failed;
    char first_failure[SR_ERROR_MESSAGE_MAX];  /* "" when none */
    bool fatal;                                /* librdkafka raised a fatal error */
} replay_delivery;

/* A producer for topic; user settings apply after the defaults above. */
sr_status replay_producer_new(const char *bootstrap, const sr_kafka_settings *settings,
                              const char *topic, replay_producer **out, sr_error *err);

/* Queues one record (copied) and sets *queued. While the local queue is full,
 * serves delivery reports and waits, unless *stops (the count of stop signals
 * received; stops may be NULL) turns non-zero: then returns SR_OK with *queued
 * false, so that a stop works with the broker down. Fails with SR_ERR_KAFKA on
 * any other produce error or once a fatal error was raised. */
sr_status replay_producer_send(replay_producer *p, const void *key, size_t key_len,
                               const void *value, size_t value_len,
                               const volatile sig_atomic_t *stops, bool *queued, sr_error *err);

/* Serves delivery reports, waiting at most timeout_ms for one. */
void replay_producer_poll(replay_producer *p, int timeout_ms);

/* Waits until every queued record is delivered or failed, at most timeout_ms,
 * and less once *stops (may be NULL) reaches 2: a second signal means "quit
 * now". SR_ERR_KAFKA naming how many are left when it gives up. */
sr_status replay_producer_flush(replay_producer *p, int timeout_ms,
                                const volatile sig_atomic_t *stops, sr_error *err);

replay_delivery replay_producer_delivery(const replay_producer *p);

void replay_producer_free(replay_producer *p);

#endif
