/*
 * restore.h — users back from the state changelog: the changelog partitions
 * of the event partitions a worker was given, read to their end
 * (read_committed: only committed transactions) before it processes them.
 */
#ifndef SR_STREAM_RESTORE_H
#define SR_STREAM_RESTORE_H

#include <stddef.h>
#include <stdint.h>

#include "sr_error.h"
#include "sr_kafka.h"
#include "sr_serving.h"

typedef struct restore_stats {
    uint64_t records;      /* changelog records read */
    uint64_t states;       /* users restored (a user written n times counts n) */
    uint64_t tombstones;
    uint64_t undecodable;  /* skipped, logged */
    uint64_t bytes;        /* record values */
    double seconds;
} restore_stats;

/* Called now and then while a restore runs (it may take seconds per million
 * users, holding the caller's loop): to show the process is alive. */
typedef void (*restore_progress)(void *context);

/* Restores the users of the n changelog partitions into sv, calling progress
 * (may be NULL) every few thousand records and whenever a poll brings none.
 * SR_ERR_NOT_FOUND when the changelog lacks one of them (not co-partitioned
 * with the events), SR_ERR_KAFKA, SR_ERR_NOMEM. */
sr_status restore_partitions(const char *bootstrap, const sr_kafka_settings *settings,
                             const char *topic, const int32_t *partitions, size_t n,
                             sr_serving *sv, restore_progress progress, void *context,
                             restore_stats *stats, sr_error *err);

#endif
