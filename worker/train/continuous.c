/*
 * continuous.c — continuous training's rounds, without Kafka; see
 * sr_continuous.h for what a round is and why neither model has seen the
 * hold-out.
 *
 * Growing a model relies on the parameter layout of params.c: item_embed
 * (V x E) first, then every tensor that does not depend on V in one run
 * (type_embed .. out_b), then out_embed (untied only) and out_bias. The shared
 * run is copied as one block; the per-item rows are copied by id.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sr_clock.h"
#include "sr_continuous.h"

bool sr_continuous_round_due(const sr_continuous_trigger *trigger, uint64_t new_events,
                             double seconds_since_round) {
    if (new_events == 0) return false;
    if (trigger->events > 0 && new_events >= trigger->events) return true;
    return trigger->interval_seconds > 0 && seconds_since_round >= trigger->interval_seconds;
}

sr_continuous_decision sr_continuous_decide(const sr_eval_metrics *candidate,
                                            const sr_eval_metrics *serving) {
    if (candidate->users == 0)
        return (sr_continuous_decision){false, "no hold-out users"};
    if (candidate->users != serving->users)
        return (sr_continuous_decision){false, "evaluated on different users"};
    if (!isfinite(candidate->ndcg10) || !isfinite(serving->ndcg10))
        return (sr_continuous_decision){false, "a hold-out NDCG@10 is not a number"};
    if (candidate->ndcg10 >= serving->ndcg10)
        return (sr_continuous_decision){true, "candidate not worse on the hold-out"};
    return (sr_continuous_decision){false, "candidate worse on the hold-out"};
}

/* ---- growing the vocabulary ---- */

/* Floats from type_embed to the end of out_b: every tensor independent of V. */
static size_t shared_floats(const sr_model *m) {
    return (size_t)((m->t.out_b + m->config.embed_dim) - m->t.type_embed);
}

static float mean_bias(const sr_model *m) {
    double sum = 0;
    for (uint32_t r = 0; r < m->config.item_count; r++) sum += m->t.out_bias[r];
    return m->config.item_count ? (float)(sum / m->config.item_count) : 0.0f;
}

sr_status sr_model_grow(const sr_model *from, const sr_vocab *vocab, uint64_t seed, sr_model **out,
                        sr_model_growth *growth, sr_error *err) {
    *out = NULL;
    *growth = (sr_model_growth){0};
    if (from->vocab.count != from->config.item_count)
        return sr_fail(err, SR_ERR_INVALID_ARG, "grow: the model's vocabulary has %u ids for %u items",
                       from->vocab.count, from->config.item_count);
    sr_model_config config = from->config;
    config.item_count = vocab->count;
    sr_model *m;
    sr_status s = sr_model_new(&config, &m, err);
    if (s != SR_OK) return sr_error_wrap(err, s, "grow");
    sr_model_init_random(m, seed);
    s = sr_vocab_build(&m->vocab, vocab->ids, vocab->count, err);
    if (s != SR_OK) {
        sr_model_free(m);
        return sr_error_wrap(err, s, "grow");
    }
    m->version = from->version;
    memcpy(m->t.type_embed, from->t.type_embed, shared_floats(from) * sizeof(float));

    size_t E = config.embed_dim;
    float new_bias = mean_bias(from);
    for (uint32_t r = 0; r < m->vocab.count; r++) {
        int32_t old = sr_vocab_row(&from->vocab, m->vocab.ids[r]);
        if (old == SR_VOCAB_UNKNOWN) {
            m->t.out_bias[r] = new_bias;
            growth->added++;
            continue;
        }
        memcpy(m->t.item_embed + (size_t)r * E, from->t.item_embed + (size_t)old * E, E * sizeof(float));
        if (!config.tied_embeddings)
            memcpy(m->t.out_embed + (size_t)r * E, from->t.out_embed + (size_t)old * E, E * sizeof(float));
        m->t.out_bias[r] = from->t.out_bias[old];
        growth->kept++;
    }
    growth->dropped = from->vocab.count - growth->kept;
    *out = m;
    return SR_OK;
}

/* ---- the hold-out ---- */

static int compare_ids(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

sr_status sr_continuous_new_users(const sr_user_event *events, size_t count, int64_t **user_ids,
                                  size_t *user_count, sr_error *err) {
    *user_ids = NULL;
    *user_count = 0;
    if (count == 0) return SR_OK;
    int64_t *ids = malloc(count * sizeof *ids);
    if (!ids) return sr_fail(err, SR_ERR_NOMEM, "hold-out: no memory for %zu user ids", count);
    for (size_t i = 0; i < count; i++) ids[i] = events[i].user_id;
    qsort(ids, count, sizeof *ids, compare_ids);
    size_t n = 0;
    for (size_t i = 0; i < count; i++)
        if (n == 0 || ids[i] != ids[n - 1]) ids[n++] = ids[i];
    *user_ids = ids;
    *user_count = n;
    return SR_OK;
}

sr_status sr_continuous_holdout(const sr_dataset *data, const int64_t *user_ids, size_t user_count,
                                sr_dataset *out, sr_error *err) {
    sr_status s = sr_dataset_select_users(data, user_ids, user_count, out, err);
    return s == SR_OK ? SR_OK : sr_error_wrap(err, s, "hold-out");
}

sr_status sr_continuous_evaluate(const sr_model *model, const sr_dataset *holdout,
                                 sr_eval_metrics *out, sr_error *err) {
    sr_eval_options options;
    sr_eval_options_init(&options);  /* full ranking, test split */
    sr_eval_model_scorer *scorer;
    sr_status s = sr_eval_model_scorer_new(model, &holdout->vocab, options.batch, &scorer, err);
    if (s != SR_OK) return s;
    s = sr_eval_run(holdout, &options, sr_eval_model_score, scorer, out, err);
    sr_eval_model_scorer_free(scorer);
    return s;
}

/* ---- a round ---- */

static size_t evaluated_users(const sr_dataset *data) {
    size_t n = 0;
    for (size_t u = 0; u < data->user_count; u++) n += (size_t)sr_dataset_evaluated(data, u);
    return n;
}

sr_status sr_continuous_run_round(const sr_model *serving, const sr_dataset *data,
                                  const int64_t *user_ids, size_t user_count,
                                  const sr_train_config *train, const sr_fit_options *fit,
                                  sr_model **candidate, sr_continuous_round *round, sr_error *err) {
    double started = sr_monotonic_seconds();
    *candidate = NULL;
    *round = (sr_continuous_round){0};
    sr_dataset holdout;
    sr_status s = sr_continuous_holdout(data, user_ids, user_count, &holdout, err);
    if (s != SR_OK) return s;
    round->holdout_users = evaluated_users(&holdout);
    if (round->holdout_users == 0) {
        sr_dataset_free(&holdout);
        round->decision = sr_continuous_decide(&round->candidate, &round->serving);
        round->seconds = sr_monotonic_seconds() - started;
        return SR_OK;
    }
    sr_model *model = NULL;
    s = sr_model_grow(serving, &data->vocab, train->seed, &model, &round->growth, err);
    if (s == SR_OK) s = sr_fit(model, data, train, fit, &round->fit, err);
    if (s == SR_OK) round->trained = true;
    if (s == SR_OK) s = sr_continuous_evaluate(model, &holdout, &round->candidate, err);
    if (s == SR_OK) s = sr_continuous_evaluate(serving, &holdout, &round->serving, err);
    sr_dataset_free(&holdout);
    if (s != SR_OK) {
        sr_model_free(model);
        return s;
    }
    round->decision = sr_continuous_decide(&round->candidate, &round->serving);
    round->seconds = sr_monotonic_seconds() - started;
    *candidate = model;
    return SR_OK;
}
