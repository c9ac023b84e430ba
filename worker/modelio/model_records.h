/*
 * model_records.h — ModelChunk and ModelManifest records (schemas/model_*.avsc)
 * as plain Avro binary, both ways, and their Kafka keys (modelio-internal).
 *
 * Decoders keep the promises of codec/avro_binary.h: they read only inside
 * [buf, buf + len), allocate nothing, reject trailing bytes, and name the field
 * and byte offset of any defect. A decoded chunk's data points into buf.
 */
#ifndef SR_MODELIO_MODEL_RECORDS_H
#define SR_MODELIO_MODEL_RECORDS_H

#include <stddef.h>
#include <stdint.h>

#include "sr_buffer.h"
#include "sr_error.h"
#include "sr_model_publish.h"

#define MODEL_MANIFEST_KEY "manifest"
#define MODEL_CHUNK_KEY_PREFIX "chunk-"
#define MODEL_CHUNK_KEY_MAX 24

typedef struct model_chunk_record {
    int64_t model_version;
    uint8_t file_sha256[32];
    int32_t chunk_index;
    int32_t chunk_count;
    int64_t offset;
    uint32_t crc32c;
    const uint8_t *data;
    size_t data_len;
} model_chunk_record;

sr_status model_chunk_encode(const model_chunk_record *chunk, sr_buffer *out, sr_error *err);
sr_status model_chunk_decode(const void *buf, size_t len, model_chunk_record *chunk, sr_error *err);

sr_status model_manifest_encode(const sr_model_manifest *manifest, sr_buffer *out, sr_error *err);
sr_status model_manifest_decode(const void *buf, size_t len, sr_model_manifest *manifest,
                                sr_error *err);

/* "chunk-<index>" into key (MODEL_CHUNK_KEY_MAX bytes); returns its length. */
size_t model_chunk_key(int32_t index, char key[MODEL_CHUNK_KEY_MAX]);

/* What a record's key says it is. */
typedef enum model_key_kind { MODEL_KEY_OTHER, MODEL_KEY_CHUNK, MODEL_KEY_MANIFEST } model_key_kind;

/* Classifies a key; for a chunk key, *index is its index ("chunk-007" and
 * indexes beyond SR_MODEL_MAX_CHUNKS are OTHER: only canonical keys count). */
model_key_kind model_key_parse(const void *key, size_t len, int32_t *index);

#endif
