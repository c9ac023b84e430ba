/*
 * sr_event_loader.h — the whole history of the event topic as an array, for
 * the trainer: reads every partition from the beginning up to its end
 * (committed records only) and decodes each record.
 *
 *     sr_user_event *events; size_t count; sr_event_load_stats stats;
 *     sr_load_topic_events(&reader_options, codec, SR_WIRE_REGISTRY, NULL,
 *                          &events, &count, &stats, &err);
 *     ...
 *     free(events);
 *
 * Records that do not decode are counted and logged (the first ten), never
 * fatal: the worker's dead-letter topic is where they are kept. Events keep
 * their per-partition order, so each user's events stay in order. Session ids
 * are dropped (has_session_id = false): they pointed into the records.
 */
#ifndef SR_EVENT_LOADER_H
#define SR_EVENT_LOADER_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "sr_codec.h"
#include "sr_error.h"
#include "sr_topic_reader.h"

typedef struct sr_event_load_stats {
    uint64_t records;      /* records read */
    uint64_t events;       /* decoded */
    uint64_t bad_records;  /* did not decode (or had no value) */
    double seconds;
} sr_event_load_stats;

/* Stops early, keeping what it has, when *stop becomes non-zero (may be NULL). */
sr_status sr_load_topic_events(const sr_topic_reader_options *options, const sr_codec *codec,
                               sr_wire_format wire, const volatile sig_atomic_t *stop,
                               sr_user_event **events, size_t *count, sr_event_load_stats *stats,
                               sr_error *err);

#endif
