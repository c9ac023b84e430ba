/*
 * trainer_continuous.c — `streamrec trainer --continuous`: after the first
 * model, the trainer keeps its event stream open and, when a round is due
 * (--retrain-interval, --retrain-events), fine-tunes a candidate on every
 * event read so far and publishes it only when it does at least as well as the
 * serving model on the round's hold-out (sr_continuous.h). Each round writes
 * one JSON log line with the decision and both figures, and one JSON line on
 * stdout. SIGINT/SIGTERM end the loop between rounds (a round running stops
 * after its current epoch and is abandoned).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands/trainer_internal.h"
#include "sr_clock.h"
#include "sr_json.h"
#include "sr_log.h"
#include "version.h"

struct continuous_state {
    sr_model *serving;          /* the last model written (and published) */
    size_t previous;            /* events the last round (or the first model) read */
    uint32_t round;
};

static void report_round(const struct trainer_options *o, const struct continuous_state *c,
                         const sr_dataset *data, size_t new_events, const sr_continuous_round *r,
                         const char *decision) {
    sr_log(SR_LOG_INFO, "trainer",
           "round %u: %s (%s): hold-out NDCG@10 candidate %.6f vs serving %.6f, HR@10 candidate "
           "%.6f vs serving %.6f, over %zu hold-out users; %zu new events, %u new items; "
           "serving version %lld",
           c->round, decision, r->decision.reason, r->candidate.ndcg10, r->serving.ndcg10,
           r->candidate.hr10, r->serving.hr10, r->holdout_users, new_events, r->growth.added,
           (long long)c->serving->version);
    printf("{\"round\":%u,\"decision\":\"%s\",\"reason\":\"%s\",\"model\":",
           c->round, decision, r->decision.reason);
    sr_json_write_string(stdout, o->out, strlen(o->out));
    printf(",\"model_version\":%lld,"
           "\"users\":%zu,\"events\":%zu,\"new_events\":%zu,\"items\":%u,\"new_items\":%u,"
           "\"holdout_users\":%zu,\"candidate_ndcg@10\":%.6f,\"serving_ndcg@10\":%.6f,"
           "\"candidate_hr@10\":%.6f,\"serving_hr@10\":%.6f,\"epochs\":%u,\"best_epoch\":%u,"
           "\"valid_ndcg@10\":%.6f,\"seconds\":%.1f}\n",
           (long long)c->serving->version,
           data->user_count, data->event_count, new_events, data->vocab.count, r->growth.added,
           r->holdout_users, r->candidate.ndcg10, r->serving.ndcg10, r->candidate.hr10,
           r->serving.hr10, r->fit.epochs, r->fit.best_epoch, r->fit.best_valid.ndcg10, r->seconds);
    fflush(stdout);
}

/* One round on the events read so far (sr_continuous.h); on acceptance the
 * candidate is saved, published and becomes the serving model. A round that a
 * stop interrupted is abandoned: nothing is written. */
static sr_status continuous_round(struct trainer_options *o, struct releases *releases,
                                  sr_event_stream *stream, struct continuous_state *c,
                                  sr_error *err) {
    size_t snapshot;
    const sr_user_event *events = sr_event_stream_events(stream, &snapshot);
    size_t new_events = snapshot - c->previous;
    c->round++;
    sr_log(SR_LOG_INFO, "trainer", "round %u: %zu events, %zu new since the last round", c->round,
           snapshot, new_events);
    sr_dataset data;
    sr_status status = sr_dataset_from_events(events, snapshot, &data, err);
    if (status != SR_OK) return status;
    int64_t *users = NULL;
    size_t user_count = 0;
    status = sr_continuous_new_users(events + c->previous, new_events, &users, &user_count, err);

    sr_train_config train = o->train;
    train.seed = o->train.seed + c->round;  /* another shuffle each round */
    struct run_output output = {.options = o};
    sr_fit_options fit = o->fit;
    fit.max_epochs = o->finetune_epochs;
    fit.stop = &trainer_stop_requested;
    fit.on_epoch = trainer_on_epoch;
    fit.on_batch = trainer_on_batch;
    fit.context = &output;
    sr_model *candidate = NULL;
    sr_continuous_round round;
    if (status == SR_OK)
        status = sr_continuous_run_round(c->serving, &data, users, user_count, &train, &fit,
                                         &candidate, &round, err);
    free(users);
    if (status == SR_OK && trainer_stop_requested) {
        sr_log(SR_LOG_INFO, "trainer", "round %u abandoned: stopping", c->round);
    } else if (status == SR_OK) {
        const char *decision = !round.trained ? "skipped" : round.decision.publish ? "published" : "rejected";
        if (round.decision.publish) {
            char note[256];
            snprintf(note, sizeof note,
                     "streamrec trainer %s (%s); continuous round %u, fine-tuned, best epoch %u of %u",
                     STREAMREC_VERSION, STREAMREC_GIT_COMMIT, c->round, round.fit.best_epoch,
                     round.fit.epochs);
            status = trainer_save_and_publish(o, releases, candidate, note, &round.fit.best_valid,
                                      &round.candidate, err);
            if (status == SR_OK) {
                sr_model_free(c->serving);
                c->serving = candidate;
                candidate = NULL;
            }
        }
        if (status == SR_OK) report_round(o, c, &data, new_events, &round, decision);
        c->previous = snapshot;
    }
    sr_model_free(candidate);
    sr_dataset_free(&data);
    return status;
}

/* The first model on the topic as it is, then rounds as events arrive, until
 * SIGINT/SIGTERM. The loop waits for records 200 ms at a time, so a stop
 * between rounds takes effect within that. */
sr_status trainer_run_continuous(struct trainer_options *o, sr_error *err) {
    sr_event_stream *stream = NULL;
    sr_status status = trainer_open_events(o, &stream, err);
    if (status != SR_OK) return status;
    size_t count;
    sr_event_stream_events(stream, &count);
    if (count == 0 && !trainer_stop_requested) {
        /* A fresh deployment: the topic exists before its first event. A
         * trainer that exited here would only be restarted, again and again. */
        sr_log(SR_LOG_INFO, "trainer", "topic '%s' holds no events yet: waiting for the first",
               o->topic);
        while (status == SR_OK && count == 0 && !trainer_stop_requested) {
            status = sr_event_stream_poll(stream, 200, NULL, err);
            sr_event_stream_events(stream, &count);
        }
        if (status == SR_OK && !trainer_stop_requested)
            status = sr_event_stream_catch_up(stream, 2.0, &trainer_stop_requested, err);
    }
    const sr_user_event *events = sr_event_stream_events(stream, &count);
    struct releases releases = {0};
    struct continuous_state c = {.previous = count};
    sr_dataset data = {0};
    if (status == SR_OK && trainer_stop_requested)
        sr_log(SR_LOG_INFO, "trainer", "stopped before the first model");
    else if (status == SR_OK)
        status = sr_dataset_from_events(events, count, &data, err);
    if (status == SR_OK && !trainer_stop_requested)
        status = trainer_first_model(o, &data, &releases, &c.serving, err);
    sr_dataset_free(&data);

    double round_started = sr_monotonic_seconds();
    while (status == SR_OK && !trainer_stop_requested) {
        status = sr_event_stream_poll(stream, 200, NULL, err);
        sr_event_stream_events(stream, &count);
        if (status != SR_OK ||
            !sr_continuous_round_due(&o->trigger, count - c.previous,
                                     sr_monotonic_seconds() - round_started))
            continue;
        /* Take in what is already on the topic, within reason, before the snapshot. */
        status = sr_event_stream_catch_up(stream, 2.0, &trainer_stop_requested, err);
        if (status == SR_OK && !trainer_stop_requested)
            status = continuous_round(o, &releases, stream, &c, err);
        round_started = sr_monotonic_seconds();
    }
    if (status == SR_OK)
        sr_log(SR_LOG_INFO, "trainer", "stopped after %u rounds; serving version %lld", c.round,
               c.serving ? (long long)c.serving->version : 0LL);
    trainer_releases_close(&releases);
    sr_model_free(c.serving);
    sr_event_stream_free(stream);
    return status;
}
