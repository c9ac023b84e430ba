/*
 * trainer_run.c — a training run of `streamrec trainer`: the input (a file,
 * or the event topic read from its beginning), the first model (sr_fit), its
 * output (progress bar, log lines, the curve), and saving and publishing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands/trainer_internal.h"
#include "sr_clock.h"
#include "sr_continuous.h"
#include "sr_json.h"
#include "sr_log.h"
#include "sr_model_file.h"
#include "version.h"

/* ---- input ---- */

sr_status trainer_open_events(const struct trainer_options *o, sr_event_stream **out, sr_error *err) {
    sr_topic_reader_options reader = {.bootstrap = o->bootstrap, .settings = &o->kafka,
                                      .topic = o->topic, .from_beginning = true};
    sr_event_stream *stream;
    sr_status status = sr_event_stream_open(&reader, o->wire, &stream, err);
    if (status != SR_OK) return status;
    status = sr_event_stream_catch_up(stream, 0, &trainer_stop_requested, err);
    if (status != SR_OK) {
        sr_event_stream_free(stream);
        return status;
    }
    sr_event_stream_stats stats = sr_event_stream_get_stats(stream);
    sr_log(SR_LOG_INFO, "trainer", "read %llu events from '%s' (%llu records did not decode)",
           (unsigned long long)stats.events, o->topic, (unsigned long long)stats.bad_records);
    *out = stream;
    return SR_OK;
}

static sr_status load_dataset(const struct trainer_options *o, sr_dataset *data, sr_error *err) {
    if (o->input) {
        sr_replay_options replay;
        sr_replay_options_init(&replay);
        return sr_dataset_load((sr_replay_kind)o->format, o->input, &replay, data, err);
    }
    sr_event_stream *stream;
    sr_status status = trainer_open_events(o, &stream, err);
    if (status != SR_OK) return status;
    size_t count;
    const sr_user_event *events = sr_event_stream_events(stream, &count);
    if (count == 0) status = sr_fail(err, SR_ERR_NOT_FOUND, "topic '%s' holds no events", o->topic);
    else status = sr_dataset_from_events(events, count, data, err);
    sr_event_stream_free(stream);
    return status;
}

/* ---- progress, log lines and the curve ---- */

/* The bar, redrawn after each batch: "epoch 3  [######----]  61%  loss 7.1234  ETA 0:12". */
void trainer_on_batch(void *context, uint64_t done, uint64_t total, double mean_loss) {
    struct run_output *run = context;
    if (!run->options->progress || total == 0) return;
    if (done == 1) run->epoch_started = sr_monotonic_seconds();
    double elapsed = sr_monotonic_seconds() - run->epoch_started;
    double eta = done ? elapsed * (double)(total - done) / (double)done : 0;
    char bar[21];
    int filled = (int)(20 * done / total);
    for (int i = 0; i < 20; i++) bar[i] = i < filled ? '#' : '-';
    bar[20] = '\0';
    fprintf(stderr, "\repoch %u  [%s] %3d%%  loss %.4f  ETA %d:%02d ", run->epoch + 1, bar,
            (int)(100 * done / total), mean_loss, (int)eta / 60, (int)eta % 60);
    if (done == total) fprintf(stderr, "\r%*s\r", 70, "");
}

void trainer_on_epoch(void *context, const sr_fit_epoch *e) {
    struct run_output *run = context;
    run->epoch = e->epoch;
    sr_log(SR_LOG_INFO, "trainer",
           "epoch %u: loss %.4f, %.0f events/s, %.1f s training + %.1f s validation; "
           "valid HR@10 %.4f NDCG@10 %.4f%s",
           e->epoch, e->train_loss, e->train_events_per_s, e->train_seconds, e->valid_seconds,
           e->valid.hr10, e->valid.ndcg10, e->improved ? " (best)" : "");
    if (run->curve) {
        fprintf(run->curve, "%u,%.3f,%.6f,%.1f,%.6f,%.6f,%.6f,%d\n", e->epoch, e->elapsed_seconds,
                e->train_loss, e->train_events_per_s, e->valid.hr10, e->valid.ndcg10, e->valid.mrr,
                e->improved);
        fflush(run->curve);
    }
}

/* ---- saving and publishing ---- */

/* The first version is --model-version or the time in ms; each later one is
 * strictly above the last (the time in ms when that is higher, without
 * --model-version), as the publisher demands. */
static int64_t next_version(const struct trainer_options *o, int64_t last) {
    if (last == 0) return o->model_version ? o->model_version : sr_wall_clock_ms();
    int64_t now = o->model_version ? 0 : sr_wall_clock_ms();
    return now > last ? now : last + 1;
}

sr_status trainer_save_and_publish(const struct trainer_options *o, struct releases *releases,
                                   sr_model *model, const char *note, const sr_eval_metrics *valid,
                                   const sr_eval_metrics *holdout, sr_error *err) {
    sr_model_meta meta = {.created_at_ms = sr_wall_clock_ms()};
    sr_status status = sr_model_meta_set_note(&meta, note, err);
    if (status == SR_OK) status = sr_model_meta_add_metric(&meta, "valid_hr@10", valid->hr10, err);
    if (status == SR_OK) status = sr_model_meta_add_metric(&meta, "valid_ndcg@10", valid->ndcg10, err);
    if (status == SR_OK) status = sr_model_meta_add_metric(&meta, "valid_mrr", valid->mrr, err);
    if (status == SR_OK && holdout)
        status = sr_model_meta_add_metric(&meta, "holdout_hr@10", holdout->hr10, err);
    if (status == SR_OK && holdout)
        status = sr_model_meta_add_metric(&meta, "holdout_ndcg@10", holdout->ndcg10, err);
    model->version = next_version(o, releases->last_version);
    if (status == SR_OK) status = sr_model_save(model, &meta, o->out, err);
    if (status != SR_OK) return status;
    releases->last_version = model->version;
    if (!o->publish) return SR_OK;

    sr_buffer file = {0};
    status = sr_model_file_read(o->out, SIZE_MAX, &file, err);
    sr_model_publisher_options publisher_options = {
        .bootstrap = o->bootstrap, .settings = &o->kafka, .topic = o->model_topic};
    if (status == SR_OK && !releases->publisher)
        status = sr_model_publisher_new(&publisher_options, &releases->publisher, err);
    sr_model_publication done;
    if (status == SR_OK) status = sr_model_publish(releases->publisher, file.data, file.len, &done, err);
    if (status == SR_OK)
        sr_log(SR_LOG_INFO, "trainer", "published model version %lld to '%s': %d chunks, %zu bytes",
               (long long)done.model_version, o->model_topic, done.chunk_count, done.total_bytes);
    sr_buffer_free(&file);
    return status;
}

void trainer_releases_close(struct releases *releases) {
    if (releases->publisher) sr_model_publisher_free(releases->publisher);
    releases->publisher = NULL;
}

/* ---- the first model ---- */

/* A model over data's catalogue, initialised with the seed and trained by
 * sr_fit; the curve (--curve) records its epochs. */
static sr_status train_initial(struct trainer_options *o, const sr_dataset *data, sr_model **out,
                               sr_fit_result *fit, sr_error *err) {
    *out = NULL;
    o->model.item_count = data->vocab.count;
    sr_model *model = NULL;
    sr_status status = SR_OK;
    if (o->init) {
        /* A warm start: the given model, grown or shrunk to this catalogue. */
        sr_model *start;
        sr_model_growth growth;
        status = sr_model_load_file(o->init, &start, NULL, err);
        if (status == SR_OK) {
            status = sr_model_grow(start, &data->vocab, o->train.seed, &model, &growth, err);
            sr_model_free(start);
        }
        if (status == SR_OK)
            sr_log(SR_LOG_INFO, "trainer", "starting from %s: %u items kept, %u added, %u dropped",
                   o->init, growth.kept, growth.added, growth.dropped);
    } else {
        status = sr_model_new(&o->model, &model, err);
        if (status == SR_OK) {
            sr_model_init_random(model, o->train.seed);
            status = sr_vocab_build(&model->vocab, data->vocab.ids, data->vocab.count, err);
        }
    }
    struct run_output output = {.options = o};
    if (status == SR_OK && o->curve && !(output.curve = fopen(o->curve, "w")))
        status = sr_fail(err, SR_ERR_IO, "cannot write %s", o->curve);
    if (output.curve)
        fprintf(output.curve, "epoch,elapsed_seconds,train_loss,train_events_per_s,valid_hr10,valid_ndcg10,valid_mrr,best\n");

    *fit = (sr_fit_result){0};
    if (status == SR_OK) {
        sr_fit_options options = o->fit;
        options.stop = &trainer_stop_requested;
        options.on_epoch = trainer_on_epoch;
        options.on_batch = trainer_on_batch;
        options.context = &output;
        status = sr_fit(model, data, &o->train, &options, fit, err);
    }
    if (output.curve) fclose(output.curve);
    if (status == SR_OK && fit->best_epoch == 0)
        status = sr_fail(err, SR_ERR_INVALID_ARG, "no epoch was trained");
    if (status != SR_OK) {
        sr_model_free(model);
        return status;
    }
    *out = model;
    return SR_OK;
}

sr_status trainer_first_model(struct trainer_options *o, const sr_dataset *data,
                              struct releases *releases, sr_model **out, sr_error *err) {
    sr_log(SR_LOG_INFO, "trainer", "%zu users, %zu events, %u items", data->user_count,
           data->event_count, data->vocab.count);
    sr_fit_result fit;
    sr_status status = train_initial(o, data, out, &fit, err);
    char note[256];
    snprintf(note, sizeof note, "streamrec trainer %s (%s); best epoch %u of %u", STREAMREC_VERSION,
             STREAMREC_GIT_COMMIT, fit.best_epoch, fit.epochs);
    if (status == SR_OK) status = trainer_save_and_publish(o, releases, *out, note, &fit.best_valid, NULL, err);
    if (status != SR_OK) {
        sr_model_free(*out);
        *out = NULL;
        return status;
    }
    fputs("{\"model\":", stdout);
    sr_json_write_string(stdout, o->out, strlen(o->out));
    printf(",\"model_version\":%lld,\"users\":%zu,\"events\":%zu,\"items\":%u,"
           "\"epochs\":%u,\"best_epoch\":%u,\"stopped\":\"%s\",\"seconds\":%.1f,"
           "\"valid_hr@10\":%.6f,\"valid_ndcg@10\":%.6f,\"valid_mrr\":%.6f}\n",
           (long long)(*out)->version, data->user_count, data->event_count,
           data->vocab.count, fit.epochs, fit.best_epoch, fit.stopped_because, fit.seconds,
           fit.best_valid.hr10, fit.best_valid.ndcg10, fit.best_valid.mrr);
    fflush(stdout);
    return SR_OK;
}

sr_status trainer_run_once(struct trainer_options *o, sr_error *err) {
    sr_dataset data;
    sr_status status = load_dataset(o, &data, err);
    if (status != SR_OK) return status;
    struct releases releases = {0};
    sr_model *model = NULL;
    status = trainer_first_model(o, &data, &releases, &model, err);
    trainer_releases_close(&releases);
    sr_model_free(model);
    sr_dataset_free(&data);
    return status;
}
