/* event_stream.c — the event topic as a growing array; see sr_event_stream.h. */
#include <stdlib.h>

#include "sr_clock.h"
#include "sr_event_stream.h"
#include "sr_log.h"

enum { BAD_RECORDS_LOGGED = 10, QUIET_POLL_MS = 200 };

struct sr_event_stream {
    sr_topic_reader *reader;
    sr_codec *codec;
    sr_wire_format wire;
    sr_user_event *events;
    size_t count, cap;
    sr_event_stream_stats stats;
};

sr_status sr_event_stream_open(const sr_topic_reader_options *options, sr_wire_format wire,
                               sr_event_stream **out, sr_error *err) {
    sr_event_stream *stream = calloc(1, sizeof *stream);
    if (!stream) return sr_fail(err, SR_ERR_NOMEM, "out of memory");
    stream->wire = wire;
    sr_status status = sr_codec_new(&stream->codec, err);
    if (status == SR_OK) status = sr_topic_reader_new(options, &stream->reader, err);
    if (status != SR_OK) {
        sr_event_stream_free(stream);
        return status;
    }
    *out = stream;
    return SR_OK;
}

/* Appends one event, doubling the array when full. */
static sr_status push(sr_event_stream *stream, const sr_user_event *event, sr_error *err) {
    if (stream->count == stream->cap) {
        size_t grown = stream->cap ? stream->cap * 2 : 65536;
        sr_user_event *more = realloc(stream->events, grown * sizeof *more);
        if (!more) return sr_fail(err, SR_ERR_NOMEM, "out of memory after %zu events", stream->count);
        stream->events = more;
        stream->cap = grown;
    }
    sr_user_event *slot = &stream->events[stream->count++];
    *slot = *event;
    slot->has_session_id = false;
    slot->session_id = NULL;
    slot->session_id_len = 0;
    stream->stats.events++;
    return SR_OK;
}

sr_status sr_event_stream_poll(sr_event_stream *stream, int timeout_ms, int *got, sr_error *err) {
    if (got) *got = 0;
    rd_kafka_message_t *msg;
    sr_status status = sr_topic_reader_poll(stream->reader, timeout_ms, &msg, err);
    if (status != SR_OK || !msg) return status;
    if (got) *got = 1;
    stream->stats.records++;
    sr_user_event event;
    sr_error decode_err;
    const char *problem = NULL;
    if (!msg->payload) problem = "no value";
    else if (sr_codec_decode_event(stream->codec, stream->wire, msg->payload, msg->len, &event,
                                   &decode_err) != SR_OK)
        problem = decode_err.message;
    else status = push(stream, &event, err);
    if (problem && stream->stats.bad_records++ < BAD_RECORDS_LOGGED)
        sr_log(SR_LOG_WARN, "events", "skipping record at partition %d offset %lld: %s",
               (int)msg->partition, (long long)msg->offset, problem);
    rd_kafka_message_destroy(msg);
    return status;
}

sr_status sr_event_stream_catch_up(sr_event_stream *stream, double max_seconds,
                                   const volatile sig_atomic_t *stop, sr_error *err) {
    double started = sr_monotonic_seconds();
    sr_status status = SR_OK;
    for (;;) {
        if (stop && *stop) break;
        if (max_seconds > 0 && sr_monotonic_seconds() - started > max_seconds) break;
        int got;
        status = sr_event_stream_poll(stream, QUIET_POLL_MS, &got, err);
        if (status != SR_OK || (!got && sr_topic_reader_at_end(stream->reader))) break;
    }
    return status;
}

const sr_user_event *sr_event_stream_events(const sr_event_stream *stream, size_t *count) {
    *count = stream->count;
    return stream->events;
}

sr_event_stream_stats sr_event_stream_get_stats(const sr_event_stream *stream) {
    return stream->stats;
}

void sr_event_stream_free(sr_event_stream *stream) {
    if (!stream) return;
    if (stream->reader) sr_topic_reader_free(stream->reader);
    if (stream->codec) sr_codec_free(stream->codec);
    free(stream->events);
    free(stream);
}
