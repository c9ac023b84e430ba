/*
 * sr_dataset.h — a dataset as per-user sequences, for training and offline
 * evaluation, with the leave-one-out split the literature uses.
 *
 *     sr_dataset data;
 *     sr_dataset_load(SR_REPLAY_LINES, "Beauty.txt", NULL, &data, &err);
 *     for (size_t u = 0; u < data.user_count; u++) {
 *         const int32_t *rows = data.rows + data.offsets[u];     // oldest first
 *         uint32_t n = data.offsets[u + 1] - data.offsets[u];
 *         ...
 *     }
 *
 * Leave-one-out (sr_dataset_split): for a user with n >= 3 events, the last is
 * the test target, the second-to-last the validation target, the first n - 2
 * are training events; users with fewer than 3 events are training-only and are
 * not evaluated. Training never sees a validation or test target as a target;
 * validation uses events 0..n-3 as history, test uses 0..n-2.
 *
 * Users are in ascending user-id order (not first appearance: that would depend
 * on the replay's interleaving seed or on partition order), each user's events
 * in stream order. item_counts counts training events only (every event of a
 * training-only user).
 *
 * The vocabulary holds every item of the file (the catalogue that full ranking
 * ranks against), rows in ascending id order.
 */
#ifndef SR_DATASET_H
#define SR_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "sr_error.h"
#include "sr_replay.h"
#include "sr_vocab.h"

typedef struct sr_dataset {
    size_t user_count;
    size_t event_count;
    int64_t *user_ids;   /* user_count */
    size_t *offsets;     /* user_count + 1: user u's events are [offsets[u], offsets[u+1]) */
    int32_t *rows;       /* event_count item rows (vocab rows), each user oldest first */
    uint8_t *types;      /* event_count sr_event_type values */
    int64_t *times;      /* event_count event times, ms */
    sr_vocab vocab;
    uint32_t *item_counts; /* vocab.count: occurrences of each row in training events */
} sr_dataset;

/* Reads a dataset file through a replay source (so the formats, the bad-line
 * policy and its reporting are replay's), grouping events by user in order. */
sr_status sr_dataset_load(sr_replay_kind kind, const char *path, const sr_replay_options *options,
                          sr_dataset *out, sr_error *err);

/* Builds a dataset from events in stream order (e.g. consumed from Kafka). */
sr_status sr_dataset_from_events(const sr_user_event *events, size_t count, sr_dataset *out,
                                 sr_error *err);

/* The users of data whose ids are in user_ids (ascending), with all their
 * events and data's vocabulary (so rows mean the same items). */
sr_status sr_dataset_select_users(const sr_dataset *data, const int64_t *user_ids,
                                  size_t user_count, sr_dataset *out, sr_error *err);

typedef enum sr_split_part { SR_SPLIT_TRAIN, SR_SPLIT_VALID, SR_SPLIT_TEST } sr_split_part;

/* Training events of user u: [offsets[u], train_end(u)). */
size_t sr_dataset_train_end(const sr_dataset *data, size_t u);

/* Whether user u is evaluated (has >= 3 events). */
int sr_dataset_evaluated(const sr_dataset *data, size_t u);

void sr_dataset_free(sr_dataset *data);

#endif
