/*
 * trainer_internal.h — what the pieces of `streamrec trainer` share:
 * trainer.c (options, help, entry point), trainer_run.c (input, the first
 * model, output, saving and publishing) and trainer_continuous.c (rounds).
 */
#ifndef SR_TRAINER_INTERNAL_H
#define SR_TRAINER_INTERNAL_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "sr_codec.h"
#include "sr_continuous.h"
#include "sr_dataset.h"
#include "sr_event_stream.h"
#include "sr_fit.h"
#include "sr_kafka.h"
#include "sr_model.h"
#include "sr_model_publish.h"
#include "sr_train.h"

struct trainer_options {
    /* input */
    const char *input;
    int format;                 /* sr_replay_kind, -1 = read Kafka */
    const char *bootstrap;
    const char *topic;
    sr_wire_format wire;
    sr_kafka_settings kafka;
    /* model and training */
    sr_model_config model;
    sr_train_config train;
    sr_fit_options fit;
    /* output */
    const char *out;
    const char *curve;
    const char *init;          /* --init: the model to start from; NULL = random */
    int publish;
    const char *model_topic;
    int64_t model_version;      /* 0: now in ms */
    int progress;
    /* continuous training */
    int continuous;
    sr_continuous_trigger trigger;
    uint32_t finetune_epochs;
};

/* Set by SIGINT/SIGTERM: stop between epochs and rounds. */
extern volatile sig_atomic_t trainer_stop_requested;

/* Where an epoch's progress goes: the bar, the log line, the curve. */
struct run_output {
    const struct trainer_options *options;
    FILE *curve;
    uint32_t epoch;             /* the epoch running */
    double epoch_started;
};

/* sr_fit hooks: the progress bar after each batch, the log line and the curve
 * row after each epoch; context is a struct run_output. */
void trainer_on_batch(void *context, uint64_t done, uint64_t total, double mean_loss);
void trainer_on_epoch(void *context, const sr_fit_epoch *e);

/* What the run has written: the publisher (opened at the first publication
 * and kept, so that continuous rounds reuse it) and the last version. */
struct releases {
    sr_model_publisher *publisher;
    int64_t last_version;       /* 0: none yet */
};

/* Gives model the next version, writes it to --out (atomically) with note and
 * metrics, and with --publish publishes that file. holdout may be NULL. */
sr_status trainer_save_and_publish(const struct trainer_options *o, struct releases *releases,
                                   sr_model *model, const char *note, const sr_eval_metrics *valid,
                                   const sr_eval_metrics *holdout, sr_error *err);
void trainer_releases_close(struct releases *releases);

/* Trains, saves and publishes the first model and prints the summary line. */
sr_status trainer_first_model(struct trainer_options *o, const sr_dataset *data,
                              struct releases *releases, sr_model **out, sr_error *err);

/* The event topic from its beginning, as a stream kept open (continuous mode). */
sr_status trainer_open_events(const struct trainer_options *o, sr_event_stream **out, sr_error *err);

/* The one-off run: the input, the first model, done. */
sr_status trainer_run_once(struct trainer_options *o, sr_error *err);

/* The first model, then rounds as events arrive, until SIGINT/SIGTERM. */
sr_status trainer_run_continuous(struct trainer_options *o, sr_error *err);

#endif
