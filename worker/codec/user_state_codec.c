/*
 * user_state_codec.c — UserState records (schemas/user_state.avsc), the
 * changelog's values, as plain Avro binary, both ways.
 *
 * The floats of the hidden state travel as one Avro bytes value (4 bytes
 * each, little-endian), the window as one array block of item ids and one
 * bytes value of event types. The decoder accepts any array blocking and keeps
 * the bounds promises of avro_binary.h.
 */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "codec/avro_binary.h"
#include "sr_codec.h"

/* user_id, model_version, two lengths, one block count, the terminating 0,
 * types length, applied, hash, two times, partition, offset. */
#define STATE_VARINTS 13

sr_status sr_encode_user_state(const sr_user_state_record *st, sr_buffer *out, sr_error *err) {
    if ((st->hidden_count && !st->hidden) ||
        (st->recent_count && (!st->recent_items || !st->recent_types)))
        return sr_fail(err, SR_ERR_INVALID_ARG, "user state %" PRId64 ": missing arrays", st->user_id);
    if (st->hidden_count > SR_AVRO_MAX_LENGTH / 4 || st->recent_count > SR_AVRO_MAX_LENGTH)
        return sr_fail(err, SR_ERR_LIMIT, "user state %" PRId64 " is too large", st->user_id);
    for (size_t i = 0; i < st->hidden_count; i++)
        if (!isfinite(st->hidden[i]))
            return sr_fail(err, SR_ERR_INVALID_VALUE, "user state %" PRId64 ": hidden[%zu] is not finite",
                           st->user_id, i);
    for (size_t i = 0; i < st->recent_count; i++)
        if (st->recent_types[i] >= SR_EVENT_TYPE_COUNT)
            return sr_fail(err, SR_ERR_INVALID_VALUE, "user state %" PRId64 ": event type %u",
                           st->user_id, (unsigned)st->recent_types[i]);
    size_t bytes = STATE_VARINTS * SR_AVRO_MAX_VARINT + 4 * st->hidden_count +
                   st->recent_count * (SR_AVRO_MAX_VARINT + 1);
    sr_status s = sr_buffer_reserve(out, bytes, err);
    if (s != SR_OK) return s;
    uint8_t *p = out->data + out->len;
    size_t n = 0;
    n += sr_avro_put_long(p + n, st->user_id);
    n += sr_avro_put_long(p + n, st->model_version);
    n += sr_avro_put_long(p + n, (int64_t)(4 * st->hidden_count));
    for (size_t i = 0; i < st->hidden_count; i++) n += sr_avro_put_float(p + n, st->hidden[i]);
    if (st->recent_count) {
        n += sr_avro_put_long(p + n, (int64_t)st->recent_count);
        for (size_t i = 0; i < st->recent_count; i++) n += sr_avro_put_long(p + n, st->recent_items[i]);
    }
    n += sr_avro_put_long(p + n, 0);
    n += sr_avro_put_long(p + n, (int64_t)st->recent_count);
    if (st->recent_count) memcpy(p + n, st->recent_types, st->recent_count);
    n += st->recent_count;
    n += sr_avro_put_long(p + n, (int64_t)st->applied_events);
    n += sr_avro_put_long(p + n, (int64_t)st->sequence_hash);
    n += sr_avro_put_long(p + n, st->last_event_time_ms);
    n += sr_avro_put_long(p + n, st->last_scored_at_ms);
    n += sr_avro_put_long(p + n, st->source_partition);
    n += sr_avro_put_long(p + n, st->source_offset);
    out->len += n;
    return SR_OK;
}

static sr_status read_hidden(sr_avro_reader *r, float *buf, size_t cap, size_t *count,
                             sr_error *err) {
    const uint8_t *data;
    size_t len;
    sr_status s = sr_avro_read_bytes(r, "hidden", &data, &len, err);
    if (s != SR_OK) return s;
    if (len % 4)
        return sr_fail(err, SR_ERR_INVALID_VALUE, "hidden: %zu bytes is not a number of floats", len);
    if (len / 4 > cap)
        return sr_fail(err, SR_ERR_LIMIT, "hidden: %zu floats, at most %zu expected", len / 4, cap);
    sr_avro_reader floats = sr_avro_reader_make(data, len);
    for (size_t i = 0; i < len / 4; i++) {
        if ((s = sr_avro_read_float(&floats, "hidden", &buf[i], err)) != SR_OK) return s;
        if (!isfinite(buf[i]))
            return sr_fail(err, SR_ERR_INVALID_VALUE, "hidden[%zu] is not finite", i);
    }
    *count = len / 4;
    return SR_OK;
}

static sr_status read_items(sr_avro_reader *r, int64_t *items, size_t cap, size_t *count,
                            sr_error *err) {
    *count = 0;
    for (;;) {
        int64_t block;
        sr_status s = sr_avro_read_block_count(r, "recent_items", &block, err);
        if (s != SR_OK || block == 0) return s;
        if ((uint64_t)block > cap - *count)
            return sr_fail(err, SR_ERR_LIMIT, "recent_items: more than %zu items at byte %zu", cap,
                           sr_avro_offset(r));
        for (int64_t i = 0; i < block; i++, (*count)++)
            if ((s = sr_avro_read_long(r, "recent_items", &items[*count], err)) != SR_OK) return s;
    }
}

static sr_status read_types(sr_avro_reader *r, uint8_t *types, size_t expected, sr_error *err) {
    const uint8_t *data;
    size_t len;
    sr_status s = sr_avro_read_bytes(r, "recent_event_types", &data, &len, err);
    if (s != SR_OK) return s;
    if (len != expected)
        return sr_fail(err, SR_ERR_INVALID_VALUE, "recent_event_types: %zu bytes for %zu items", len,
                       expected);
    for (size_t i = 0; i < len; i++) {
        if (data[i] >= SR_EVENT_TYPE_COUNT)
            return sr_fail(err, SR_ERR_INVALID_VALUE, "recent_event_types[%zu] is %u", i,
                           (unsigned)data[i]);
        types[i] = data[i];
    }
    return SR_OK;
}

sr_status sr_decode_user_state(const void *buf, size_t len, sr_user_state_record *st,
                               float *hidden_buf, size_t hidden_cap, int64_t *items_buf,
                               uint8_t *types_buf, size_t window_cap, sr_error *err) {
    if ((!buf && len) || !st || (!hidden_buf && hidden_cap) || (!items_buf && window_cap) ||
        (!types_buf && window_cap))
        return sr_fail(err, SR_ERR_INVALID_ARG, "no buffer, record or arrays");
    sr_avro_reader r = sr_avro_reader_make(buf ? buf : "", len);
    *st = (sr_user_state_record){0};
    int64_t applied = 0, hash = 0;
    sr_status s = sr_avro_read_long(&r, "user_id", &st->user_id, err);
    if (s == SR_OK) s = sr_avro_read_long(&r, "model_version", &st->model_version, err);
    if (s == SR_OK) s = read_hidden(&r, hidden_buf, hidden_cap, &st->hidden_count, err);
    if (s == SR_OK) s = read_items(&r, items_buf, window_cap, &st->recent_count, err);
    if (s == SR_OK) s = read_types(&r, types_buf, st->recent_count, err);
    if (s == SR_OK) s = sr_avro_read_long(&r, "applied_events", &applied, err);
    if (s == SR_OK) s = sr_avro_read_long(&r, "sequence_hash", &hash, err);
    if (s == SR_OK) s = sr_avro_read_long(&r, "last_event_time", &st->last_event_time_ms, err);
    if (s == SR_OK) s = sr_avro_read_long(&r, "last_scored_at", &st->last_scored_at_ms, err);
    if (s == SR_OK) s = sr_avro_read_int(&r, "source_partition", &st->source_partition, err);
    if (s == SR_OK) s = sr_avro_read_long(&r, "source_offset", &st->source_offset, err);
    if (s != SR_OK) return s;
    if (applied < 0)
        return sr_fail(err, SR_ERR_INVALID_VALUE, "applied_events is %" PRId64, applied);
    if (r.pos != r.end)
        return sr_fail(err, SR_ERR_TRAILING_BYTES, "%zu bytes left over after the record, at byte %zu",
                       sr_avro_remaining(&r), sr_avro_offset(&r));
    st->applied_events = (uint64_t)applied;
    st->sequence_hash = (uint64_t)hash;
    st->hidden = hidden_buf;
    st->recent_items = items_buf;
    st->recent_types = types_buf;
    return SR_OK;
}
