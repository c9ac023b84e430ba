/*
 * restore.c — users back from the state changelog (restore.h).
 *
 * The changelog is compacted, so after compaction a partition holds about one
 * record per user; before it, several, of which the last wins: records are
 * applied in partition order, each replacing what the one before restored.
 */
#include <inttypes.h>
#include <stdlib.h>

#include "sr_clock.h"
#include "sr_log.h"
#include "sr_topic_reader.h"
#include "stream/restore.h"

/* Room for the largest state a record may carry (decoding fails beyond). */
#define RESTORE_MAX_FLOATS (1u << 20)
#define RESTORE_MAX_WINDOW 1024

static sr_status restore_record(sr_serving *sv, const rd_kafka_message_t *msg, float *hidden,
                                int64_t *items, uint8_t *types, restore_stats *stats,
                                sr_error *err) {
    stats->records++;
    int64_t user_id = 0;
    bool keyed = sr_key_user_id(msg->key, msg->key_len, &user_id);
    if (!msg->payload) {
        if (keyed) sr_serving_restore_absent(sv, user_id), stats->tombstones++;
        else stats->undecodable++;
        return SR_OK;
    }
    stats->bytes += msg->len;
    sr_user_state_record state;
    sr_error why;
    if (sr_decode_user_state(msg->payload, msg->len, &state, hidden, RESTORE_MAX_FLOATS, items, types,
                             RESTORE_MAX_WINDOW, &why) != SR_OK ||
        !keyed || state.user_id != user_id) {
        if (stats->undecodable++ < 10)
            sr_log(SR_LOG_ERROR, "restore", "changelog record %" PRId32 "@%" PRId64 " skipped: %s",
                   msg->partition, msg->offset, keyed ? why.message : "its key is not its user id");
        return SR_OK;
    }
    stats->states++;
    return sr_serving_restore_user(sv, &state, err);
}

sr_status restore_partitions(const char *bootstrap, const sr_kafka_settings *settings,
                             const char *topic, const int32_t *partitions, size_t n,
                             sr_serving *sv, restore_progress progress, void *context,
                             restore_stats *stats, sr_error *err) {
    *stats = (restore_stats){0};
    if (n == 0) return SR_OK;
    double started = sr_monotonic_seconds();
    float *hidden = malloc(RESTORE_MAX_FLOATS * sizeof *hidden);
    int64_t *items = malloc(RESTORE_MAX_WINDOW * sizeof *items);
    uint8_t *types = malloc(RESTORE_MAX_WINDOW);
    sr_topic_reader_options ro = {.bootstrap = bootstrap, .settings = settings, .topic = topic,
                                  .from_beginning = true, .partitions = partitions,
                                  .partitions_count = n,
                                  /* the partitions process nothing until it is done */
                                  .end_wait_ms = 10};
    sr_topic_reader *reader = NULL;
    sr_status status = hidden && items && types ? sr_topic_reader_new(&ro, &reader, err)
                                                : sr_fail(err, SR_ERR_NOMEM, "restore: out of memory");
    while (status == SR_OK && !sr_topic_reader_at_end(reader)) {
        rd_kafka_message_t *msg;
        status = sr_topic_reader_poll(reader, 100, &msg, err);
        if (status == SR_OK && msg) {
            status = restore_record(sv, msg, hidden, items, types, stats, err);
            rd_kafka_message_destroy(msg);
        }
        if (progress && (!msg || stats->records % 4096 == 0)) progress(context);
    }
    sr_topic_reader_free(reader);
    free(hidden), free(items), free(types);
    stats->seconds = sr_monotonic_seconds() - started;
    if (status != SR_OK) return sr_error_wrap(err, status, "restoring from '%s'", topic);
    return SR_OK;
}
