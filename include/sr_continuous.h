/*
 * sr_continuous.h — continuous training (`streamrec trainer --continuous`),
 * the decisions without the Kafka: when a round is due, how the serving model
 * grows to a bigger catalogue, which events are a round's hold-out, and
 * whether the candidate replaces the serving model.
 *
 *     // E = every event read so far, in stream order; `previous` = how many of
 *     // them the serving model's round had read; the rest arrived since.
 *     sr_dataset data;
 *     sr_dataset_from_events(E, count, &data, &err);
 *     int64_t *users; size_t n;
 *     sr_continuous_new_users(E + previous, count - previous, &users, &n, &err);
 *     sr_model *candidate;
 *     sr_continuous_round round;
 *     sr_continuous_run_round(serving, &data, users, n, &train, &fit, &candidate, &round, &err);
 *     if (round.decision.publish) { save, publish, serve candidate } else sr_model_free(candidate);
 *
 * A round, precisely. Let E_k be the events read when round k starts and N_k
 * those of them that arrived after round k-1 started (after the initial
 * training's read for k = 1). The dataset of E_k splits every user's sequence
 * leave-one-out (sr_dataset.h): the last event is the test target, the one
 * before it the validation target, the rest are training events.
 *
 *   hold-out   every user with at least one event in N_k and at least 3 events
 *              in E_k: the user's last event (it is in N_k), ranked against the
 *              whole catalogue of E_k given all the user's earlier events (full
 *              ranking, history items removed: sr_eval's test split on those
 *              users only). The serving model never saw it (it arrived after
 *              the serving model's data was read); the candidate never trains
 *              on it nor selects on it (it is the dataset's test target).
 *   candidate  the serving model grown to the catalogue of E_k (sr_model_grow),
 *              then fine-tuned by sr_fit on the training events of E_k, at most
 *              the caller's max_epochs, keeping the epoch with the best
 *              validation NDCG@10 (validation targets: each user's
 *              second-to-last event). The optimiser starts afresh (Adam moments
 *              are not kept between rounds).
 *   decision   publish when the candidate's hold-out NDCG@10 is not below the
 *              serving model's (sr_continuous_decide); otherwise the serving
 *              model stays.
 *
 * Nothing here knows Kafka, and nothing here keeps state between rounds: the
 * caller owns the events, the serving model and the round counter.
 */
#ifndef SR_CONTINUOUS_H
#define SR_CONTINUOUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sr_dataset.h"
#include "sr_error.h"
#include "sr_eval.h"
#include "sr_event.h"
#include "sr_fit.h"
#include "sr_model.h"
#include "sr_train.h"

/* ---- When ---- */

typedef struct sr_continuous_trigger {
    double interval_seconds;   /* a round once this long has passed; 0: never by time */
    uint64_t events;           /* a round once this many new events arrived; 0: never by count */
} sr_continuous_trigger;

/* Whether a round is due: never without a new event; otherwise when either
 * configured trigger has fired. This function can't fail. */
bool sr_continuous_round_due(const sr_continuous_trigger *trigger, uint64_t new_events,
                             double seconds_since_round);

/* ---- Whether ---- */

typedef struct sr_continuous_decision {
    bool publish;
    const char *reason;        /* a static string, for the log */
} sr_continuous_decision;

/* Compares hold-out figures of the candidate and the serving model (evaluated
 * on the same users). Publishes when the candidate's NDCG@10 is >= the serving
 * model's; refuses when it is lower, when there were no hold-out users, when
 * the two were evaluated on different numbers of users, or when either figure
 * is not a number (keeping the serving model is the safe side). Can't fail. */
sr_continuous_decision sr_continuous_decide(const sr_eval_metrics *candidate,
                                            const sr_eval_metrics *serving);

/* ---- The candidate's shape ---- */

typedef struct sr_model_growth {
    uint32_t kept;             /* rows copied from the old model by id */
    uint32_t added;            /* ids the old model did not know: initialised */
    uint32_t dropped;          /* ids of the old model not in the new vocabulary */
} sr_model_growth;

/* A new model with from's configuration and every parameter but over the
 * vocabulary `vocab` (its ids are copied; item_count = vocab->count). Every
 * tensor that does not depend on the items is copied; the item rows
 * (item_embed, out_embed when untied, out_bias) of an id from knows are copied
 * by id, the rows of a new id are initialised as sr_model_init_random(seed)
 * would, with out_bias set to the mean of the known ids' biases (a new item
 * starts as an average item, not as a favoured or a banned one). So for
 * histories and items the old model knows, the new model's scores are the old
 * model's. The version is from's. SR_ERR_INVALID_ARG when from's vocabulary
 * disagrees with its configuration, SR_ERR_CONFIG for an empty vocabulary,
 * SR_ERR_NOMEM. */
sr_status sr_model_grow(const sr_model *from, const sr_vocab *vocab, uint64_t seed, sr_model **out,
                        sr_model_growth *growth, sr_error *err);

/* ---- The hold-out ---- */

/* The distinct user ids of count events, ascending, in a new array the caller
 * frees (NULL when count is 0). SR_ERR_NOMEM. */
sr_status sr_continuous_new_users(const sr_user_event *events, size_t count, int64_t **user_ids,
                                  size_t *user_count, sr_error *err);

/* The hold-out dataset: data's users whose id is in user_ids (ascending, as
 * sr_continuous_new_users gives them), their whole sequences, over data's
 * whole catalogue (same vocabulary, same rows). Its evaluated users and their
 * test targets are the hold-out described above. Free with sr_dataset_free. */
sr_status sr_continuous_holdout(const sr_dataset *data, const int64_t *user_ids, size_t user_count,
                                sr_dataset *out, sr_error *err);

/* A model's hold-out figures: sr_eval_run on the holdout's test split, full
 * ranking, through the serving path (sr_eval_model_score; ids the model does
 * not know score -infinity). */
sr_status sr_continuous_evaluate(const sr_model *model, const sr_dataset *holdout,
                                 sr_eval_metrics *out, sr_error *err);

/* ---- A round ---- */

typedef struct sr_continuous_round {
    size_t holdout_users;      /* evaluated users of the hold-out */
    bool trained;              /* false: no hold-out user, nothing was trained */
    sr_model_growth growth;
    sr_fit_result fit;
    sr_eval_metrics candidate; /* hold-out figures */
    sr_eval_metrics serving;
    sr_continuous_decision decision;
    double seconds;
} sr_continuous_round;

/* One round as described at the top: the hold-out of the users in user_ids,
 * the candidate (grown from serving with seed train->seed, fine-tuned with
 * sr_fit(train, fit)), both evaluated, the decision. *candidate is the
 * fine-tuned model (the caller frees it, published or not), or NULL when the
 * round trained nothing (no hold-out user: round->trained is false and the
 * decision refuses). serving is not changed. A failure of any step is returned
 * and *candidate is NULL. */
sr_status sr_continuous_run_round(const sr_model *serving, const sr_dataset *data,
                                  const int64_t *user_ids, size_t user_count,
                                  const sr_train_config *train, const sr_fit_options *fit,
                                  sr_model **candidate, sr_continuous_round *round, sr_error *err);

#endif
