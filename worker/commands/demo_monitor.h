/*
 * demo_monitor.h — what `streamrec demo` shows while the pipeline runs: it
 * reads the event topic (from when the live stream starts) and the
 * recommendation topic like any other consumer would, and measures the online
 * hit rate (the share of events whose item was in that user's latest
 * published list) next to that of a plain popularity list.
 */
#ifndef SR_COMMANDS_DEMO_MONITOR_H
#define SR_COMMANDS_DEMO_MONITOR_H

#include <stdint.h>

#include "sr_error.h"

typedef struct demo_monitor demo_monitor;

typedef struct demo_figures {
    uint64_t events;              /* live events read */
    uint64_t recommendations;     /* lists read */
    uint64_t hits, checked;       /* events whose user had a list; of them, in the list */
    uint64_t popular_hits;        /* events whose item was in the popularity top-N */
    uint64_t users_with_lists;
} demo_figures;

/* Starts reading both topics (events from their end, lists from their beginning). */
sr_status demo_monitor_new(const char *bootstrap, uint32_t users, uint32_t topn,
                           demo_monitor **out, sr_error *err);
/* Reads what arrives within timeout_ms. */
sr_status demo_monitor_poll(demo_monitor *m, int timeout_ms, sr_error *err);
demo_figures demo_monitor_figures(const demo_monitor *m);
/* Prints, for the n most active users of the live stream, their last items
 * and their latest list. */
void demo_monitor_print_users(const demo_monitor *m, int n, int items);
void demo_monitor_free(demo_monitor *m);

#endif
