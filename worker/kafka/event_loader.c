/* event_loader.c — a topic's events into an array; see sr_event_loader.h. */
#include <stdlib.h>
#include <time.h>

#include "sr_event_loader.h"
#include "sr_log.h"

enum { BAD_RECORDS_LOGGED = 10 };

static double monotonic_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Appends one event, doubling the array when full. */
static sr_status push(sr_user_event **events, size_t *count, size_t *cap, const sr_user_event *ev,
                      sr_error *err) {
    if (*count == *cap) {
        size_t grown = *cap ? *cap * 2 : 65536;
        sr_user_event *more = realloc(*events, grown * sizeof *more);
        if (!more) return sr_fail(err, SR_ERR_NOMEM, "out of memory after %zu events", *count);
        *events = more;
        *cap = grown;
    }
    sr_user_event *slot = &(*events)[(*count)++];
    *slot = *ev;
    slot->has_session_id = false;
    slot->session_id = NULL;
    slot->session_id_len = 0;
    return SR_OK;
}

static void count_bad_record(sr_event_load_stats *stats, const rd_kafka_message_t *msg,
                             const sr_error *decode_err) {
    if (stats->bad_records++ < BAD_RECORDS_LOGGED)
        sr_log(SR_LOG_WARN, "events", "skipping record at partition %d offset %lld: %s",
               (int)msg->partition, (long long)msg->offset,
               decode_err ? decode_err->message : "no value");
}

sr_status sr_load_topic_events(const sr_topic_reader_options *options, const sr_codec *codec,
                               sr_wire_format wire, const volatile sig_atomic_t *stop,
                               sr_user_event **events, size_t *count, sr_event_load_stats *stats,
                               sr_error *err) {
    *events = NULL;
    *count = 0;
    *stats = (sr_event_load_stats){0};
    double started = monotonic_seconds();
    sr_topic_reader *reader;
    sr_status status = sr_topic_reader_new(options, &reader, err);
    if (status != SR_OK) return status;

    size_t cap = 0;
    while (status == SR_OK && !sr_topic_reader_at_end(reader) && !(stop && *stop)) {
        rd_kafka_message_t *msg;
        status = sr_topic_reader_poll(reader, 200, &msg, err);
        if (!msg) continue;
        stats->records++;
        sr_user_event ev;
        sr_error decode_err;
        if (!msg->payload) {
            count_bad_record(stats, msg, NULL);
        } else if (sr_codec_decode_event(codec, wire, msg->payload, msg->len, &ev, &decode_err) != SR_OK) {
            count_bad_record(stats, msg, &decode_err);
        } else {
            status = push(events, count, &cap, &ev, err);
            stats->events++;
        }
        rd_kafka_message_destroy(msg);
    }
    sr_topic_reader_free(reader);
    stats->seconds = monotonic_seconds() - started;
    if (status != SR_OK) {
        free(*events);
        *events = NULL;
        *count = 0;
    }
    return status;
}
