/*
 * sr_model_publish.h — model files on the model topic: the trainer publishes,
 * every worker subscribes and hot-swaps (DESIGN.md, "A model is applied whole
 * or not at all").
 *
 * Trainer side:
 *
 *     sr_model_publisher_options options = {.bootstrap = "kafka:9092"};
 *     sr_model_publisher *publisher;
 *     if (sr_model_publisher_new(&options, &publisher, &err) != SR_OK) ...
 *     sr_model_publication done;
 *     if (sr_model_publish(publisher, file.data, file.len, &done, &err) != SR_OK) ...
 *     sr_model_publisher_free(publisher);
 *
 * Worker side:
 *
 *     sr_model_subscriber *models;
 *     sr_model_subscriber_new(&(sr_model_subscriber_options){.bootstrap = ...}, &models, &err);
 *     sr_model_subscriber_catch_up(models, 30000, &err);   // reads to the topic's end
 *     for (;;) {
 *         bool updated;
 *         sr_model_subscriber_poll(models, 0, &updated, &err);
 *         if (updated) {
 *             const sr_model_release *r = sr_model_subscriber_latest(models);
 *             sr_model_load_buffer(r->bytes, r->len, &next, NULL, &err);  // then swap
 *         }
 *         ...
 *     }
 *
 * On the topic (one partition, cleanup.policy=compact), a publication of a
 * model file of N chunks is, in this order:
 *
 *     key "chunk-0" .. "chunk-<N-1>"   ModelChunk (schemas/model_chunk.avsc)
 *     key "manifest"                   ModelManifest (schemas/model_manifest.avsc)
 *     key "chunk-<N>" ..               tombstones (null values) for every chunk key
 *                                      an older publication left beyond N
 *
 * Why a reader never applies a mixed or partial model:
 *   - One partition keeps the order of the records as written, and the
 *     idempotent producer keeps it across retries (no gaps, no duplicates,
 *     no reordering). The manifest, written last, therefore reaches every
 *     reader after all chunks of its publication; compaction keeps each key's
 *     latest record at its original offset, so that order survives compaction.
 *   - A reader assembles a version only from chunks whose version and file
 *     SHA-256 equal the manifest's, with contiguous offsets adding up to the
 *     manifest's size, and applies it only when the assembled file's SHA-256
 *     and the model file's own CRC-32C and structure verify. Anything else is
 *     rejected with a logged reason and the current model keeps serving.
 *   - By default the publication is one Kafka transaction and readers read
 *     committed records only: a publisher that dies half-way leaves an aborted
 *     transaction that readers skip and the log cleaner removes, so it can
 *     neither be half-applied nor, on a compacted topic, overwrite (shadow)
 *     the chunks of the version that is serving. Without a transactional id,
 *     that last point is lost: a crash after some chunk records of version n+1
 *     were written lets compaction replace the same keys of version n, and a
 *     reader that starts from scratch then finds no complete version until the
 *     publisher publishes again (running readers keep serving what they have).
 *
 * One publisher per topic at a time (the trainer); it checks that each new
 * version is above the one published and reads the topic's live chunk keys to
 * know which to tombstone. Neither object is thread-safe: each belongs to the
 * thread that calls it.
 */
#ifndef SR_MODEL_PUBLISH_H
#define SR_MODEL_PUBLISH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sr_error.h"
#include "sr_kafka.h"
#include "sr_model_file.h"

/* 900 KiB: a chunk record stays under the 1,000,000-byte message.max.bytes of
 * librdkafka and the broker's default 1 MiB record batch limit. */
#define SR_MODEL_CHUNK_DEFAULT_BYTES (900u * 1024u)
#define SR_MODEL_CHUNK_MIN_BYTES 64u
#define SR_MODEL_MAX_CHUNKS 65536
/* The largest model file a subscriber assembles by default. */
#define SR_MODEL_DEFAULT_MAX_FILE_BYTES ((size_t)2 << 30)

/* What a ModelManifest says. */
typedef struct sr_model_manifest {
    int64_t model_version;
    int64_t created_at_ms;
    int32_t chunk_count;
    int64_t total_bytes;
    uint8_t sha256[32];
    char trainer[SR_MODEL_NOTE_MAX + 1];
    uint32_t metric_count;
    sr_model_metric metrics[SR_MODEL_METRICS_MAX];
} sr_model_manifest;

/* ---- Publishing ---- */

typedef struct sr_model_publisher_options {
    const char *bootstrap;              /* NULL: sr_kafka_default_bootstrap() */
    const sr_kafka_settings *settings;  /* -X settings, applied last; may be NULL */
    const char *topic;                  /* NULL: SR_TOPIC_MODELS */
    size_t chunk_max_bytes;             /* 0: SR_MODEL_CHUNK_DEFAULT_BYTES */
    /* The producer's transactional.id; NULL: "streamrec-model-publisher-<topic>".
     * Set no_transactions to publish with the idempotent producer only (see above
     * for what that loses). */
    const char *transactional_id;
    bool no_transactions;
    int timeout_ms;                     /* for the whole publication; 0: 120000 */
} sr_model_publisher_options;

typedef struct sr_model_publisher sr_model_publisher;

/* What a publication did. */
typedef struct sr_model_publication {
    int64_t model_version;
    int32_t chunk_count;
    size_t total_bytes;
    uint8_t sha256[32];
    int32_t tombstones;  /* stale chunk keys deleted */
} sr_model_publication;

sr_status sr_model_publisher_new(const sr_model_publisher_options *options,
                                 sr_model_publisher **out, sr_error *err);

/* Publishes one model file (validated first with sr_model_file_inspect; the
 * manifest's version, created_at, trainer and metrics come from it) and waits
 * until every record is delivered or the timeout passes. Fails with
 * SR_ERR_INVALID_VALUE etc. for a bad file, SR_ERR_INVALID_ARG when its version
 * is not above the latest published one, SR_ERR_KAFKA naming the first failure. */
sr_status sr_model_publish(sr_model_publisher *publisher, const void *file, size_t len,
                           sr_model_publication *done, sr_error *err);

void sr_model_publisher_free(sr_model_publisher *publisher);

/* ---- Subscribing ---- */

typedef struct sr_model_subscriber_options {
    const char *bootstrap;              /* NULL: sr_kafka_default_bootstrap() */
    const sr_kafka_settings *settings;  /* -X settings, applied last; may be NULL */
    const char *topic;                  /* NULL: SR_TOPIC_MODELS */
    size_t max_file_bytes;              /* 0: SR_MODEL_DEFAULT_MAX_FILE_BYTES */
} sr_model_subscriber_options;

typedef struct sr_model_subscriber sr_model_subscriber;

/* A verified model file and its manifest. */
typedef struct sr_model_release {
    sr_model_manifest manifest;
    const uint8_t *bytes;
    size_t len;
} sr_model_release;

/* Counters, for logs, metrics and tests. */
typedef struct sr_model_subscriber_stats {
    uint64_t records;          /* records read */
    uint64_t applied;          /* versions that became the latest */
    uint64_t rejected;         /* manifests (or records) refused */
    char last_rejection[SR_ERROR_MESSAGE_MAX];
} sr_model_subscriber_stats;

/* Starts reading the model topic from its beginning, committed records only,
 * with no consumer group (every worker reads the whole topic). */
sr_status sr_model_subscriber_new(const sr_model_subscriber_options *options,
                                  sr_model_subscriber **out, sr_error *err);

/* Reads what arrives within timeout_ms (0: only what is already fetched);
 * *updated tells whether a newer verified version became the latest. Bad
 * records and versions are not errors: they are logged and counted. Fails only
 * when the client cannot go on (SR_ERR_KAFKA) or memory runs out. */
sr_status sr_model_subscriber_poll(sr_model_subscriber *subscriber, int timeout_ms, bool *updated,
                                   sr_error *err);

/* Polls until the end of the topic as it was when called (the last stable
 * offset); SR_ERR_KAFKA when that takes longer than timeout_ms. */
sr_status sr_model_subscriber_catch_up(sr_model_subscriber *subscriber, int timeout_ms,
                                       sr_error *err);

/* The newest verified model, or NULL when none arrived yet. Valid until the
 * next poll, catch_up or free of this subscriber. */
const sr_model_release *sr_model_subscriber_latest(const sr_model_subscriber *subscriber);

sr_model_subscriber_stats sr_model_subscriber_get_stats(const sr_model_subscriber *subscriber);

void sr_model_subscriber_free(sr_model_subscriber *subscriber);

#endif
