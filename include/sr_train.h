/*
 * sr_train.h — training the model of sr_model.h on a dataset's training events
 * (sr_dataset.h), with truncated back-propagation through time, in C with
 * OpenBLAS.
 *
 *     sr_train_config tc;
 *     sr_train_config_init(&tc);                 // defaults below
 *     tc.seed = 7;
 *     sr_trainer *trainer;
 *     if (sr_trainer_new(&tc, model, data, &trainer, &err) != SR_OK) ...
 *     for (int epoch = 0; epoch < 20; epoch++) {
 *         sr_epoch_stats st;
 *         if (sr_train_epoch(trainer, model, data, &st, NULL, NULL, &err) != SR_OK) ...
 *         printf("loss %.4f, %.0f events/s\n", st.loss, st.events / st.seconds);
 *     }
 *     sr_trainer_free(trainer);
 *
 * An epoch: each user's last max_length training events (events
 * [offsets[u], sr_dataset_train_end(data, u))), users shuffled with the seed
 * and grouped by length into batches of batch_size sequences (little padding),
 * the batches in shuffled order. A batch runs in chunks of bptt_length steps;
 * the hidden state (and the attention window) carries from chunk to chunk
 * without gradient, and the parameters are updated (Adam) after each chunk.
 * Step t's input is event t, its target event t+1; padded steps carry no loss.
 *
 * Losses: the full softmax cross-entropy over all V items at every step
 * (computed in blocks of loss_block_rows rows, so memory is
 * loss_block_rows x V floats), or a sampled softmax over the target and
 * `negatives` items drawn per chunk from (count + 1)^negative_alpha (the
 * dataset's item_counts), shared by all rows, with the logQ correction.
 *
 * Determinism: the same seed, data, model and OpenBLAS thread count give
 * bit-identical parameters.
 */
#ifndef SR_TRAIN_H
#define SR_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "sr_dataset.h"
#include "sr_error.h"
#include "sr_model.h"

typedef enum sr_loss_kind {
    SR_LOSS_FULL_SOFTMAX = 0,
    SR_LOSS_SAMPLED_SOFTMAX = 1,
} sr_loss_kind;

typedef struct sr_train_config {
    sr_loss_kind loss;
    uint32_t negatives;        /* sampled softmax: negatives per chunk (1024) */
    float negative_alpha;      /* sampled softmax: p ~ (count + 1)^alpha (0.75) */
    float learning_rate;       /* Adam (5e-3) */
    float beta1, beta2, eps;   /* 0.9, 0.999, 1e-8 */
    float weight_decay;        /* decoupled, per step: p -= lr * wd * p (0) */
    float dropout_input;       /* inverted dropout on x_t (0.65) */
    float dropout_output;      /* inverted dropout on [h; c] (0.65) */
    float clip_norm;           /* global gradient-norm clip, 0 = none (5) */
    uint32_t batch_size;       /* B sequences per batch (64) */
    uint32_t bptt_length;      /* L steps per chunk (50) */
    uint32_t max_length;       /* M: the last M training events of a user (50) */
    uint32_t loss_block_rows;  /* rows per loss block (1024, at most 4096): memory is rows x V floats */
    uint64_t seed;             /* shuffling, dropout, negatives */
} sr_train_config;

void sr_train_config_init(sr_train_config *config);
sr_status sr_train_config_check(const sr_train_config *config, sr_error *err);

typedef struct sr_epoch_stats {
    uint32_t epoch;            /* 1 for the first epoch of a trainer */
    double loss;               /* mean loss per predicted event */
    uint64_t events;           /* predicted events (steps with a target) */
    uint64_t batches;
    uint64_t updates;          /* optimiser steps (chunks with a target) */
    double grad_norm;          /* mean global gradient norm before clipping */
    double seconds;
} sr_epoch_stats;

/* Called after every batch; may be NULL. */
typedef void sr_train_progress(void *context, uint64_t batches_done, uint64_t batch_count,
                               double mean_loss);

typedef struct sr_trainer sr_trainer;

/* A trainer for a model of model->config (gradient and Adam buffers,
 * workspace). data supplies item_counts for the sampled softmax (may be NULL
 * for the full softmax, or when counts should be uniform). */
sr_status sr_trainer_new(const sr_train_config *config, const sr_model *model,
                         const sr_dataset *data, sr_trainer **out, sr_error *err);
void sr_trainer_free(sr_trainer *trainer);

/* Bytes the trainer holds. */
size_t sr_trainer_memory(const sr_trainer *trainer);

/* One epoch over the training events of data (whose rows must be rows of the
 * model, < item_count). Fails with SR_ERR_INVALID_ARG on a row out of range or
 * a model of another shape, SR_ERR_NOMEM. */
sr_status sr_train_epoch(sr_trainer *trainer, sr_model *model, const sr_dataset *data,
                         sr_epoch_stats *out, sr_train_progress *progress,
                         void *progress_context, sr_error *err);

#endif
