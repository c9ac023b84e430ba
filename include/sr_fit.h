/*
 * sr_fit.h — a whole training run: epochs of sr_train_epoch, each followed by a
 * validation of the model on every user's validation item (full ranking, the
 * same evaluation code as `streamrec eval`), keeping the best parameters and
 * stopping early when validation stops improving or the time budget would be
 * exceeded. The test item is never seen here: not in training, not in
 * selection.
 *
 *     sr_fit_options fit;
 *     sr_fit_options_init(&fit);
 *     fit.on_epoch = log_epoch;                  // optional
 *     sr_fit_result result;
 *     if (sr_fit(model, &data, &train_config, &fit, &result, &err) != SR_OK) ...
 *     // model now holds the parameters of result.best_epoch
 */
#ifndef SR_FIT_H
#define SR_FIT_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "sr_dataset.h"
#include "sr_error.h"
#include "sr_eval.h"
#include "sr_model.h"
#include "sr_train.h"

typedef struct sr_fit_epoch {
    uint32_t epoch;             /* 1-based */
    double train_loss;          /* mean cross-entropy per predicted event */
    double train_events_per_s;
    double train_seconds;
    double valid_seconds;
    double elapsed_seconds;     /* since the run started */
    sr_eval_metrics valid;      /* on the validation items */
    bool improved;              /* the best so far by validation NDCG@10 */
} sr_fit_epoch;

/* Called after each epoch's validation; may be NULL. */
typedef void sr_fit_epoch_hook(void *context, const sr_fit_epoch *epoch);

typedef struct sr_fit_options {
    uint32_t max_epochs;        /* 200 */
    uint32_t patience;          /* stop after this many epochs without improvement (5) */
    double time_budget_seconds; /* stop before an epoch that would end past it (840) */
    const volatile sig_atomic_t *stop;  /* stop after the current epoch when non-zero; may be NULL */
    sr_fit_epoch_hook *on_epoch;
    sr_train_progress *on_batch;  /* passed to sr_train_epoch */
    void *context;
} sr_fit_options;

void sr_fit_options_init(sr_fit_options *options);

typedef struct sr_fit_result {
    uint32_t epochs;            /* run */
    uint32_t best_epoch;        /* 0 when no epoch ran */
    sr_eval_metrics best_valid;
    double seconds;
    const char *stopped_because;  /* "patience", "time budget", "max epochs", "stopped" */
} sr_fit_result;

/* Trains model (initialised by the caller) on data's training events and leaves
 * the best epoch's parameters in it. */
sr_status sr_fit(sr_model *model, const sr_dataset *data, const sr_train_config *train,
                 const sr_fit_options *options, sr_fit_result *result, sr_error *err);

#endif
