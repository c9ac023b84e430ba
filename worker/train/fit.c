/*
 * fit.c — a training run with validation-based model selection and early
 * stopping; see sr_fit.h.
 *
 * The best parameters are kept as a copy of the model's one contiguous
 * parameter block, restored at the end: selection never looks at the test item.
 */
#include <stdlib.h>
#include <string.h>

#include "sr_clock.h"
#include "sr_fit.h"

void sr_fit_options_init(sr_fit_options *options) {
    *options = (sr_fit_options){
        .max_epochs = 200,
        .patience = 5,
        .time_budget_seconds = 840,
    };
}

/* Validation metrics of the current parameters: full ranking of every user's
 * validation item through the serving path. */
static sr_status validate(const sr_model *model, const sr_dataset *data, sr_eval_metrics *out,
                          sr_error *err) {
    sr_eval_options options;
    sr_eval_options_init(&options);
    options.split = SR_SPLIT_VALID;
    sr_eval_model_scorer *scorer;
    sr_status status = sr_eval_model_scorer_new(model, &data->vocab, options.batch, &scorer, err);
    if (status != SR_OK) return status;
    status = sr_eval_run(data, &options, sr_eval_model_score, scorer, out, err);
    sr_eval_model_scorer_free(scorer);
    return status;
}

sr_status sr_fit(sr_model *model, const sr_dataset *data, const sr_train_config *train,
                 const sr_fit_options *options, sr_fit_result *result, sr_error *err) {
    double started = sr_monotonic_seconds();
    *result = (sr_fit_result){.stopped_because = "max epochs"};
    /* Validation maps the model's rows to the catalogue by id: without a
     * vocabulary every item would score -inf and selection would be blind. */
    if (model->vocab.count != model->config.item_count)
        return sr_fail(err, SR_ERR_INVALID_ARG, "model vocabulary has %u ids for %u item rows",
                       model->vocab.count, model->config.item_count);
    size_t bytes = model->param_count * sizeof *model->data;
    float *best = malloc(bytes);
    if (!best) return sr_fail(err, SR_ERR_NOMEM, "out of memory for a copy of %zu parameters",
                              model->param_count);
    memcpy(best, model->data, bytes);

    sr_trainer *trainer = NULL;
    sr_status status = sr_trainer_new(train, model, data, &trainer, err);
    double best_ndcg = -1, last_epoch_seconds = 0;
    uint32_t since_best = 0;
    for (uint32_t epoch = 1; status == SR_OK && epoch <= options->max_epochs; epoch++) {
        double now = sr_monotonic_seconds();
        if (epoch > 1 && now - started + last_epoch_seconds > options->time_budget_seconds) {
            result->stopped_because = "time budget";
            break;
        }
        if (options->stop && *options->stop) {
            result->stopped_because = "stopped";
            break;
        }
        sr_epoch_stats stats;
        status = sr_train_epoch(trainer, model, data, &stats, options->on_batch, options->context, err);
        if (status != SR_OK) break;
        double trained = sr_monotonic_seconds();
        sr_fit_epoch record = {
            .epoch = epoch,
            .train_loss = stats.loss,
            .train_seconds = stats.seconds,
            .train_events_per_s = stats.seconds > 0 ? (double)stats.events / stats.seconds : 0,
        };
        status = validate(model, data, &record.valid, err);
        if (status != SR_OK) break;
        double validated = sr_monotonic_seconds();
        record.valid_seconds = validated - trained;
        record.elapsed_seconds = validated - started;
        record.improved = record.valid.ndcg10 > best_ndcg;
        last_epoch_seconds = validated - now;
        result->epochs = epoch;
        if (record.improved) {
            best_ndcg = record.valid.ndcg10;
            result->best_epoch = epoch;
            result->best_valid = record.valid;
            memcpy(best, model->data, bytes);
            since_best = 0;
        } else {
            since_best++;
        }
        if (options->on_epoch) options->on_epoch(options->context, &record);
        if (since_best >= options->patience) {
            result->stopped_because = "patience";
            break;
        }
    }
    if (trainer) sr_trainer_free(trainer);
    memcpy(model->data, best, bytes);
    free(best);
    result->seconds = sr_monotonic_seconds() - started;
    return status;
}
