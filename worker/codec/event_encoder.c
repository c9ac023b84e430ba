/*
 * event_encoder.c — writing a UserEvent as Avro binary (schemas/user_event.avsc),
 * plain or behind the Schema Registry header with the built-in id.
 *
 * Promise: the encoder refuses what the decoder would refuse (an unknown event
 * type, a session id over SR_SESSION_ID_MAX bytes, a non-finite value) with
 * SR_ERR_INVALID_VALUE and leaves `out` unchanged, so every record it writes
 * decodes back to the same event.
 */
#include <math.h>

#include "codec/avro_binary.h"
#include "sr_codec.h"

/* Header, four varints, the session union and bytes, the value union and double. */
#define EVENT_MAX_BYTES (5 + 4 * SR_AVRO_MAX_VARINT + 2 * SR_AVRO_MAX_VARINT + SR_SESSION_ID_MAX + \
                         SR_AVRO_MAX_VARINT + 8)

static sr_status check_event(const sr_user_event *e, sr_error *err) {
    if ((unsigned)e->event_type >= SR_EVENT_TYPE_COUNT)
        return sr_fail(err, SR_ERR_INVALID_VALUE, "event_type %d is not a known symbol", (int)e->event_type);
    if (e->has_session_id && e->session_id_len > SR_SESSION_ID_MAX)
        return sr_fail(err, SR_ERR_INVALID_VALUE, "session_id of %zu bytes is longer than 256",
                       e->session_id_len);
    if (e->has_session_id && e->session_id_len && !e->session_id)
        return sr_fail(err, SR_ERR_INVALID_ARG, "session_id is NULL but its length is %zu", e->session_id_len);
    if (e->has_value && !isfinite(e->value))
        return sr_fail(err, SR_ERR_INVALID_VALUE, "value is not a finite number");
    return SR_OK;
}

static size_t put_event(uint8_t *p, const sr_user_event *e) {
    size_t n = 0;
    n += sr_avro_put_long(p + n, e->user_id);
    n += sr_avro_put_long(p + n, e->item_id);
    n += sr_avro_put_long(p + n, e->event_type);
    n += sr_avro_put_long(p + n, e->event_time_ms);
    n += sr_avro_put_long(p + n, e->has_session_id); /* union branch: 0 null, 1 string */
    if (e->has_session_id) {
        n += sr_avro_put_long(p + n, (int64_t)e->session_id_len);
        if (e->session_id_len) memcpy(p + n, e->session_id, e->session_id_len);
        n += e->session_id_len;
    }
    n += sr_avro_put_long(p + n, e->has_value); /* union branch: 0 null, 1 double */
    if (e->has_value) n += sr_avro_put_double(p + n, e->value);
    return n;
}

sr_status sr_encode_event(const sr_user_event *event, sr_wire_format wire, sr_buffer *out, sr_error *err) {
    if (wire != SR_WIRE_PLAIN && wire != SR_WIRE_REGISTRY)
        return sr_fail(err, SR_ERR_INVALID_ARG, "unknown wire format %d", (int)wire);
    sr_status s = check_event(event, err);
    if (s == SR_OK) s = sr_buffer_reserve(out, EVENT_MAX_BYTES, err);
    if (s != SR_OK) return s;
    uint8_t *p = out->data + out->len;
    size_t n = 0;
    if (wire == SR_WIRE_REGISTRY) {
        const uint8_t header[5] = {0, 0, 0, 0, SR_CODEC_BUILTIN_SCHEMA_ID};
        memcpy(p, header, sizeof header);
        n = sizeof header;
    }
    out->len += n + put_event(p + n, event);
    return SR_OK;
}
