/*
 * model_records.c — ModelChunk and ModelManifest in plain Avro binary; see
 * model_records.h. Field order is the schemas' order.
 */
#include "modelio/model_records.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "codec/avro_binary.h"

#define SHA_BYTES 32

sr_status model_chunk_encode(const model_chunk_record *chunk, sr_buffer *out, sr_error *err) {
    if (chunk->data_len > SR_AVRO_MAX_LENGTH)
        return sr_fail(err, SR_ERR_LIMIT, "chunk of %zu bytes is too long for one record", chunk->data_len);
    sr_status s = sr_buffer_reserve(out, 6 * SR_AVRO_MAX_VARINT + SHA_BYTES + chunk->data_len, err);
    if (s != SR_OK) return s;
    uint8_t *p = out->data + out->len;
    size_t n = sr_avro_put_long(p, chunk->model_version);
    memcpy(p + n, chunk->file_sha256, SHA_BYTES);
    n += SHA_BYTES;
    n += sr_avro_put_long(p + n, chunk->chunk_index);
    n += sr_avro_put_long(p + n, chunk->chunk_count);
    n += sr_avro_put_long(p + n, chunk->offset);
    n += sr_avro_put_long(p + n, (int64_t)chunk->crc32c);
    n += sr_avro_put_long(p + n, (int64_t)chunk->data_len);
    if (chunk->data_len) memcpy(p + n, chunk->data, chunk->data_len);
    out->len += n + chunk->data_len;
    return SR_OK;
}

static sr_status read_fixed(sr_avro_reader *r, const char *what, uint8_t *out, size_t n, sr_error *err) {
    const uint8_t *at = r->pos;
    sr_status s = sr_avro_skip_raw(r, what, n, err);
    if (s == SR_OK) memcpy(out, at, n);
    return s;
}

static sr_status no_trailing(const sr_avro_reader *r, const char *record, sr_error *err) {
    if (sr_avro_remaining(r) == 0) return SR_OK;
    return sr_fail(err, SR_ERR_TRAILING_BYTES, "%s: %zu bytes follow the record at byte %zu", record,
                   sr_avro_remaining(r), sr_avro_offset(r));
}

sr_status model_chunk_decode(const void *buf, size_t len, model_chunk_record *chunk, sr_error *err) {
    sr_avro_reader r = sr_avro_reader_make(buf, len);
    int64_t crc;
    sr_status s;
    if ((s = sr_avro_read_long(&r, "model_version", &chunk->model_version, err)) != SR_OK) return s;
    if ((s = read_fixed(&r, "file_sha256", chunk->file_sha256, SHA_BYTES, err)) != SR_OK) return s;
    if ((s = sr_avro_read_int(&r, "chunk_index", &chunk->chunk_index, err)) != SR_OK) return s;
    if ((s = sr_avro_read_int(&r, "chunk_count", &chunk->chunk_count, err)) != SR_OK) return s;
    if ((s = sr_avro_read_long(&r, "offset", &chunk->offset, err)) != SR_OK) return s;
    if ((s = sr_avro_read_long(&r, "crc32c", &crc, err)) != SR_OK) return s;
    if (crc < 0 || crc > UINT32_MAX)
        return sr_fail(err, SR_ERR_INVALID_VALUE, "ModelChunk: crc32c %" PRId64 " is not an unsigned 32-bit value", crc);
    chunk->crc32c = (uint32_t)crc;
    if ((s = sr_avro_read_bytes(&r, "data", &chunk->data, &chunk->data_len, err)) != SR_OK) return s;
    return no_trailing(&r, "ModelChunk", err);
}

sr_status model_manifest_encode(const sr_model_manifest *m, sr_buffer *out, sr_error *err) {
    size_t trainer_len = strnlen(m->trainer, sizeof m->trainer);
    if (trainer_len == sizeof m->trainer || m->metric_count > SR_MODEL_METRICS_MAX)
        return sr_fail(err, SR_ERR_INVALID_ARG, "manifest: trainer not terminated or too many metrics");
    size_t size = 8 * SR_AVRO_MAX_VARINT + SHA_BYTES + trainer_len;
    for (uint32_t i = 0; i < m->metric_count; i++)
        size += SR_AVRO_MAX_VARINT + strnlen(m->metrics[i].name, sizeof m->metrics[i].name) + 8;
    sr_status s = sr_buffer_reserve(out, size, err);
    if (s != SR_OK) return s;
    uint8_t *p = out->data + out->len;
    size_t n = sr_avro_put_long(p, m->model_version);
    n += sr_avro_put_long(p + n, m->created_at_ms);
    n += sr_avro_put_long(p + n, m->chunk_count);
    n += sr_avro_put_long(p + n, m->total_bytes);
    memcpy(p + n, m->sha256, SHA_BYTES);
    n += SHA_BYTES;
    n += sr_avro_put_long(p + n, (int64_t)trainer_len);
    memcpy(p + n, m->trainer, trainer_len);
    n += trainer_len;
    if (m->metric_count) {
        n += sr_avro_put_long(p + n, m->metric_count);
        for (uint32_t i = 0; i < m->metric_count; i++) {
            size_t name_len = strnlen(m->metrics[i].name, sizeof m->metrics[i].name);
            n += sr_avro_put_long(p + n, (int64_t)name_len);
            memcpy(p + n, m->metrics[i].name, name_len);
            n += name_len;
            n += sr_avro_put_double(p + n, m->metrics[i].value);
        }
    }
    n += sr_avro_put_long(p + n, 0);
    out->len += n;
    return SR_OK;
}

/* A string of at most max bytes without NUL, copied with a NUL into out. */
static sr_status read_text(sr_avro_reader *r, const char *what, size_t max, char *out, sr_error *err) {
    size_t at = sr_avro_offset(r);
    const uint8_t *data;
    size_t len;
    sr_status s = sr_avro_read_bytes(r, what, &data, &len, err);
    if (s != SR_OK) return s;
    if (len > max)
        return sr_fail(err, SR_ERR_BAD_LENGTH, "ModelManifest: %s at byte %zu has %zu bytes, more than %zu",
                       what, at, len, max);
    if (memchr(data, 0, len))
        return sr_fail(err, SR_ERR_INVALID_VALUE, "ModelManifest: %s at byte %zu contains a NUL byte", what, at);
    memcpy(out, data, len);
    out[len] = '\0';
    return SR_OK;
}

/* The metrics map, in any blocking the Avro specification allows. */
static sr_status read_metrics(sr_avro_reader *r, sr_model_manifest *m, sr_error *err) {
    m->metric_count = 0;
    for (;;) {
        size_t at = sr_avro_offset(r);
        int64_t block;
        sr_status s = sr_avro_read_long(r, "metrics", &block, err);
        if (s != SR_OK) return s;
        if (block == 0) return SR_OK;
        if (block < 0) {
            int64_t bytes;
            if ((s = sr_avro_read_length(r, "metrics", &bytes, err)) != SR_OK) return s;
            block = block == INT64_MIN ? INT64_MAX : -block;
        }
        if ((uint64_t)block > SR_MODEL_METRICS_MAX - m->metric_count)
            return sr_fail(err, SR_ERR_LIMIT, "ModelManifest: metrics at byte %zu: more than %d entries", at,
                           SR_MODEL_METRICS_MAX);
        for (int64_t i = 0; i < block; i++) {
            sr_model_metric *metric = &m->metrics[m->metric_count];
            if ((s = read_text(r, "metrics key", SR_MODEL_METRIC_NAME_MAX, metric->name, err)) != SR_OK)
                return s;
            if ((s = sr_avro_read_double(r, "metrics value", &metric->value, err)) != SR_OK) return s;
            m->metric_count++;
        }
    }
}

sr_status model_manifest_decode(const void *buf, size_t len, sr_model_manifest *m, sr_error *err) {
    sr_avro_reader r = sr_avro_reader_make(buf, len);
    sr_status s;
    if ((s = sr_avro_read_long(&r, "model_version", &m->model_version, err)) != SR_OK) return s;
    if ((s = sr_avro_read_long(&r, "created_at", &m->created_at_ms, err)) != SR_OK) return s;
    if ((s = sr_avro_read_int(&r, "chunk_count", &m->chunk_count, err)) != SR_OK) return s;
    if ((s = sr_avro_read_long(&r, "total_bytes", &m->total_bytes, err)) != SR_OK) return s;
    if ((s = read_fixed(&r, "sha256", m->sha256, SHA_BYTES, err)) != SR_OK) return s;
    if ((s = read_text(&r, "trainer", SR_MODEL_NOTE_MAX, m->trainer, err)) != SR_OK) return s;
    if ((s = read_metrics(&r, m, err)) != SR_OK) return s;
    return no_trailing(&r, "ModelManifest", err);
}

size_t model_chunk_key(int32_t index, char key[MODEL_CHUNK_KEY_MAX]) {
    return (size_t)snprintf(key, MODEL_CHUNK_KEY_MAX, MODEL_CHUNK_KEY_PREFIX "%" PRId32, index);
}

model_key_kind model_key_parse(const void *key, size_t len, int32_t *index) {
    static const char prefix[] = MODEL_CHUNK_KEY_PREFIX;
    const char *k = key;
    if (!key) return MODEL_KEY_OTHER;
    if (len == sizeof MODEL_MANIFEST_KEY - 1 && memcmp(k, MODEL_MANIFEST_KEY, len) == 0)
        return MODEL_KEY_MANIFEST;
    size_t p = sizeof prefix - 1;
    if (len <= p || len > p + 5 || memcmp(k, prefix, p) != 0) return MODEL_KEY_OTHER;
    if (k[p] == '0' && len > p + 1) return MODEL_KEY_OTHER;  /* no leading zeros */
    int32_t v = 0;
    for (size_t i = p; i < len; i++) {
        if (k[i] < '0' || k[i] > '9') return MODEL_KEY_OTHER;
        v = v * 10 + (k[i] - '0');
    }
    if (v >= SR_MODEL_MAX_CHUNKS) return MODEL_KEY_OTHER;
    *index = v;
    return MODEL_KEY_CHUNK;
}
