/*
 * sr_event_stream.h — the event topic as a growing array: every partition read
 * from the beginning (committed records only), each record decoded and
 * appended, the reader kept open for what arrives later. The trainer's input,
 * once for a one-off training and for good in continuous mode.
 *
 *     sr_event_stream *stream;
 *     sr_event_stream_open(&reader_options, SR_WIRE_REGISTRY, &stream, &err);
 *     sr_event_stream_catch_up(stream, 0, &stop, &err);      // the history
 *     size_t n;
 *     const sr_user_event *events = sr_event_stream_events(stream, &n);
 *     ...
 *     sr_event_stream_poll(stream, 200, &err);               // later: more
 *     sr_event_stream_free(stream);
 *
 * Events keep each partition's order, so each user's events stay in order.
 * Records that do not decode are counted and the first ten logged, never
 * fatal: the worker's dead-letter topic is where they are kept. Session ids
 * are dropped (has_session_id = false): they pointed into the records.
 */
#ifndef SR_EVENT_STREAM_H
#define SR_EVENT_STREAM_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "sr_codec.h"
#include "sr_error.h"
#include "sr_topic_reader.h"

typedef struct sr_event_stream_stats {
    uint64_t records;      /* records read */
    uint64_t events;       /* decoded and kept */
    uint64_t bad_records;  /* did not decode (or had no value) */
} sr_event_stream_stats;

typedef struct sr_event_stream sr_event_stream;

sr_status sr_event_stream_open(const sr_topic_reader_options *options, sr_wire_format wire,
                               sr_event_stream **out, sr_error *err);

/* Waits up to timeout_ms for one record and appends its event; *got (may be
 * NULL) says whether a record came. */
sr_status sr_event_stream_poll(sr_event_stream *stream, int timeout_ms, int *got, sr_error *err);

/* Reads until every partition has reached its end and the topic has gone
 * quiet (a 200 ms poll brought nothing), *stop became non-zero (stop may be
 * NULL), or max_seconds passed (0: no limit). */
sr_status sr_event_stream_catch_up(sr_event_stream *stream, double max_seconds,
                                   const volatile sig_atomic_t *stop, sr_error *err);

/* The events read so far; valid until the next poll or catch-up. */
const sr_user_event *sr_event_stream_events(const sr_event_stream *stream, size_t *count);

sr_event_stream_stats sr_event_stream_get_stats(const sr_event_stream *stream);

void sr_event_stream_free(sr_event_stream *stream);

#endif
